//! Fuzzes the whole analyzer: link, IP, tunnel and transport decoding, IP
//! fragment reassembly, the flow table, every dissector behind
//! `src/dissect.rs`, call correlation and report building.
//!
//! The input is used twice:
//!
//! 1. as one Ethernet frame, through a fresh analyzer;
//! 2. as a sequence of frames through another analyzer ([`vcscope::capture::sequence`]:
//!    `[link byte]` then `len16 || frame` for each record; `scripts/fuzz.sh`
//!    writes every fixture capture in this form);
//! 3. as the same sequence through a streaming analyzer, its packet time
//!    stretched (a millisecond between frames becomes 100 s) so that flows
//!    idle out, calls are written as they end and settled flows let go.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vcscope::engine::{Analyzer, Config};
use vcscope::packet::LinkType;
use vcscope::time::Nanos;

/// A small flow table so that eviction runs too.
fn config() -> Config {
    let mut cfg = Config::default();
    cfg.flows.max_live = 64;
    cfg
}

fn finish(an: Analyzer) {
    let report = an.finish(vec!["fuzz".into()], None);
    // Rendering is part of the contract: it must not fail on any report.
    let mut out = Vec::new();
    let _ = report.write_json(&mut out);
    out.clear();
    let _ = report.write_ndjson(&mut out);
    out.clear();
    let _ = report.write_table(&mut out);
}

fuzz_target!(|data: &[u8]| {
    let base = Nanos::from_secs(1_600_000_000);

    let mut one = Analyzer::new(config());
    let wire = u32::try_from(data.len()).unwrap_or(u32::MAX);
    one.process(LinkType::Ethernet, base, data, wire);
    finish(one);

    let mut seq = Analyzer::new(config());
    vcscope::capture::sequence::feed(&mut seq, data);
    finish(seq);

    let mut streamed = Analyzer::new(config());
    streamed.stream_sequence(data, 100_000);
    finish(streamed);
});

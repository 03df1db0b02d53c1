//! Fuzzes the whole analyzer: link, IP, tunnel and transport decoding, IP
//! fragment reassembly, the flow table, every dissector behind
//! `src/dissect.rs`, call correlation and report building.
//!
//! The input is used twice:
//!
//! 1. as one Ethernet frame, through a fresh analyzer;
//! 2. as a sequence of frames through another analyzer. The first byte picks
//!    the link type (low 3 bits) and the time step between frames (high 5
//!    bits, in milliseconds); then each frame is a 2-byte big-endian length
//!    followed by that many bytes (a short last frame takes what is left).
//!
//! A sequence seed for a capture is therefore `[link byte]` followed by
//! `len16 || frame` for each record (see `scripts/fuzz.sh`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vcscope::engine::{Analyzer, Config};
use vcscope::packet::LinkType;
use vcscope::time::Nanos;

const LINKS: [LinkType; 8] = [
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Null,
    LinkType::Loop,
    LinkType::Ppp,
    LinkType::Ethernet,
];

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

    let Some((&head, mut rest)) = data.split_first() else {
        return;
    };
    let link = LINKS[usize::from(head & 0x07)];
    let step = u64::from(head >> 3);
    let mut seq = Analyzer::new(config());
    let mut ts = base;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let body = &rest[2..];
        let (frame, next) = body.split_at(len.min(body.len()));
        let wire = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        seq.process(link, ts, frame, wire);
        ts = Nanos(ts.0.saturating_add(step * 1_000_000));
        rest = next;
    }
    finish(seq);
});

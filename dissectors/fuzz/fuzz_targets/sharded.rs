//! Differential: the analysis of a frame sequence on one thread and on three
//! workers behind a reading thread (`--threads 3`) must give the same JSON
//! report, byte for byte ([`vcscope::shard`]). The input is the `analyzer`
//! target's sequence form: the first byte picks the link type (low 3 bits)
//! and the time step between frames (high 5 bits, in milliseconds), then
//! each frame is a 2-byte big-endian length followed by that many bytes.
//! The flow table keeps its default size: the reports are only the same
//! when no limit is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vcscope::capture::CaptureError;
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

fn feed(an: &mut Analyzer, data: &[u8]) -> Result<(), CaptureError> {
    let Some((&head, mut rest)) = data.split_first() else {
        return Ok(());
    };
    let link = LINKS[usize::from(head & 0x07)];
    let step = u64::from(head >> 3);
    let mut ts = Nanos::from_secs(1_600_000_000);
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let body = &rest[2..];
        let (frame, next) = body.split_at(len.min(body.len()));
        let wire = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        an.process(link, ts, frame, wire);
        ts = Nanos(ts.0.saturating_add(step * 1_000_000));
        rest = next;
    }
    Ok(())
}

fn report(data: &[u8], threads: usize) -> Vec<u8> {
    let cfg = Config::default();
    let (an, ()) = vcscope::shard::run(&cfg, threads, |an| feed(an, data)).expect("no I/O here");
    let mut out = Vec::new();
    an.finish_threads(vec!["fuzz".into()], None, threads)
        .write_json_threads(&mut out, threads)
        .expect("writing to memory");
    out
}

fuzz_target!(|data: &[u8]| {
    let one = report(data, 1);
    let three = report(data, 3);
    assert!(one == three, "one thread and three workers disagree");
});

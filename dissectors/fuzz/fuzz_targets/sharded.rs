//! Differential: the analysis of a frame sequence on one thread and on three
//! workers behind a reading thread (`--threads 3`) must give the same JSON
//! report, byte for byte ([`vcscope::shard`]). The input is a frame
//! sequence ([`vcscope::sequence`]), as for the `analyzer` target.
//! The flow table keeps its default size: the reports are only the same
//! when no limit is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vcscope::engine::Config;

fn report(data: &[u8], threads: usize) -> Vec<u8> {
    let cfg = Config::default();
    let (an, _) = vcscope::shard::run(&cfg, threads, |an| Ok(vcscope::sequence::feed(an, data)))
        .expect("no I/O here");
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

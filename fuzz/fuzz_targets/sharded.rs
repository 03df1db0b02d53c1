//! Differential: the analysis of a frame sequence on one thread and on three
//! analysis threads (`--threads 3`: the reading thread and two workers, to
//! which payloads are lent by their place in one shared block, as a file
//! reader lends them) must give the same JSON report, byte for byte
//! ([`vcscope::shard`]). The input is a frame sequence
//! ([`vcscope::capture::sequence`]), as for the `analyzer` target.
//! The flow table keeps its default size: the reports are only the same
//! when no limit is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vcscope::engine::Config;

fn report(data: &[u8], threads: usize) -> Vec<u8> {
    let cfg = Config::default();
    let block = std::sync::Arc::new(data.to_vec());
    let (an, _) = vcscope::shard::run(&cfg, threads, |an| {
        Ok(vcscope::capture::sequence::feed_lent(an, &block))
    })
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
    assert!(one == three, "one thread and three disagree");
});

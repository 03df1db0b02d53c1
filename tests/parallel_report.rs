//! The report built and written on several threads is, byte for byte, the
//! report of one thread.

mod common;

use std::path::Path;

use vcscope::capture::{self, CaptureOptions};
use vcscope::engine::{Analyzer, Config};
use vcscope::report::Report;

const THREADS: [usize; 4] = [1, 2, 3, 7];

fn analyze(path: &Path, threads: usize) -> Report {
    let files = vec![path.display().to_string()];
    let mut an = Analyzer::new(Config::default());
    let outcome =
        capture::read_files(&files, &CaptureOptions::default(), &mut an).expect("readable capture");
    assert!(outcome.fatal.is_none(), "{:?}", outcome.fatal);
    an.finish_threads(files, None, threads)
}

/// What `write_json` promises: serde_json's compact form and a newline.
fn reference(r: &Report) -> Vec<u8> {
    let mut v = serde_json::to_vec(r).expect("serializable report");
    v.push(b'\n');
    v
}

fn written(r: &Report, threads: usize) -> Vec<u8> {
    let mut v = Vec::new();
    r.write_json_threads(&mut v, threads)
        .expect("written to memory");
    v
}

fn assert_same(want: &[u8], got: &[u8], what: &str) {
    if want != got {
        let at = want.iter().zip(got).take_while(|(a, b)| a == b).count();
        let lo = at.saturating_sub(80);
        panic!(
            "{what}: differs at byte {at} (lengths {} and {}):\n  want …{}\n  got  …{}",
            want.len(),
            got.len(),
            String::from_utf8_lossy(&want[lo..(at + 80).min(want.len())]),
            String::from_utf8_lossy(&got[lo..(at + 80).min(got.len())]),
        );
    }
}

#[test]
fn threaded_report_is_byte_identical() {
    let fixtures = common::all_fixtures();
    assert!(fixtures.len() > 10, "fixtures/pcap is missing");
    let (mut few, mut many) = (false, false);
    for path in &fixtures {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let one = analyze(path, 1);
        let want = reference(&one);
        let mut plain = Vec::new();
        one.write_json(&mut plain).expect("written to memory");
        assert_same(&want, &plain, &format!("{name}: write_json"));
        let n = one.flows.len();
        few |= (1..7).contains(&n);
        many |= n > 7;
        for built in THREADS {
            let r = if built == 1 {
                one.clone()
            } else {
                analyze(path, built)
            };
            for writers in THREADS {
                assert_same(
                    &want,
                    &written(&r, writers),
                    &format!("{name}: built on {built}, written on {writers} threads"),
                );
            }
        }
    }
    assert!(few, "no fixture with fewer flows than threads");
    assert!(many, "no fixture with more flows than threads");
}

#[test]
fn threaded_empty_report_is_byte_identical() {
    for threads in THREADS {
        let r = Analyzer::new(Config::default()).finish_threads(
            Vec::new(),
            Some("eth0".into()),
            threads,
        );
        assert!(r.flows.is_empty());
        let want = reference(&r);
        for writers in THREADS {
            assert_same(
                &want,
                &written(&r, writers),
                &format!("empty, written on {writers} threads"),
            );
        }
    }
}

/// A report of many flows (a fixture's, repeated): the writing thread and
/// the others take turns over many rounds of pieces, and the JSON is still
/// the one of one thread.
#[test]
fn threaded_report_of_many_flows_is_byte_identical() {
    let path = common::all_fixtures()
        .into_iter()
        .max_by_key(|p| analyze(p, 1).flows.len())
        .expect("fixtures/pcap is missing");
    let mut r = analyze(&path, 1);
    let base = r.flows.clone();
    assert!(!base.is_empty());
    while r.flows.len() < 60_000 {
        let n = r.flows.len();
        r.flows
            .extend(base.iter().cloned().enumerate().map(|(i, mut f)| {
                f.id = (n + i + 1) as u32;
                f
            }));
    }
    let want = reference(&r);
    for writers in [2, 3, 7] {
        assert_same(
            &want,
            &written(&r, writers),
            &format!("{} flows written on {writers} threads", r.flows.len()),
        );
    }
}

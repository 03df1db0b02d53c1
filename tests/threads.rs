//! `--threads N`: the report of N worker threads is the report of one
//! thread, byte for byte, on every capture of the corpus, and on all of
//! them read together (calls whose signalling and media land on different
//! workers); through the command line too, from a file and from standard
//! input.

mod common;

use std::path::PathBuf;

use common::*;
use vcscope::capture::CaptureOptions;
use vcscope::engine::Config;

fn json(paths: &[PathBuf], threads: usize, cfg: &Config) -> Vec<u8> {
    let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let (an, outcome) =
        vcscope::shard::read_files(&files, &CaptureOptions::default(), cfg, threads)
            .expect("readable capture");
    assert!(outcome.fatal.is_none(), "{:?}", outcome.fatal);
    let mut out = Vec::new();
    an.finish(files, None).write_json(&mut out).unwrap();
    out
}

/// The first differing line of two JSON reports, for a readable failure.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let (a, b) = (a.replace(",\"", ",\n\""), b.replace(",\"", ",\n\""));
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {i}:\n  1 thread: {x}\n  threads:  {y}");
        }
    }
    format!("lengths {} and {}", a.len(), b.len())
}

#[test]
fn every_capture_reports_the_same_with_2_and_3_threads() {
    let cfg = Config::default();
    let mut checked = 0;
    for path in all_fixtures() {
        let one = json(std::slice::from_ref(&path), 1, &cfg);
        for threads in [2, 3] {
            let many = json(std::slice::from_ref(&path), threads, &cfg);
            assert!(
                one == many,
                "{} with {threads} threads: {}",
                path.display(),
                first_difference(&one, &many)
            );
        }
        checked += 1;
    }
    assert!(checked >= 70, "only {checked} captures");
}

#[test]
fn the_whole_corpus_at_once_reports_the_same_with_4_threads() {
    let cfg = Config::default();
    let all = all_fixtures();
    let one = json(&all, 1, &cfg);
    let many = json(&all, 4, &cfg);
    assert!(one == many, "{}", first_difference(&one, &many));
    // The corpus has calls, leaks, relays and warnings: a join that dropped
    // any of them would not compare equal above; make sure they are there.
    let v: serde_json::Value = serde_json::from_slice(&one).unwrap();
    for key in ["flows", "calls", "relays", "leaks", "warnings"] {
        assert!(
            v[key].as_array().is_some_and(|a| a.len() > 3),
            "few {key} in the corpus report"
        );
    }
}

#[test]
fn more_threads_than_flows_reports_the_same() {
    // Most of the 64 workers own no flow at all and follow only signalling.
    let cfg = Config::default();
    let path = fixture("corelight__stun-ice-testcall.pcap");
    let one = json(std::slice::from_ref(&path), 1, &cfg);
    let many = json(std::slice::from_ref(&path), 64, &cfg);
    assert!(one == many, "{}", first_difference(&one, &many));
}

#[test]
fn command_line_threads_from_a_file_and_from_standard_input() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let path = fixture("heplify__sip_ipv4_tcp.pcap");
    let f = path.to_str().unwrap();
    let run = |args: &[&str], stdin: Option<&[u8]>| {
        let mut child = Command::new(bin())
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(bytes) = stdin {
            child.stdin.take().unwrap().write_all(bytes).unwrap();
        }
        let o = child.wait_with_output().unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    };
    let one = run(&["read", f, "--format", "json"], None);
    let two = run(&["read", f, "--format", "json", "--threads", "2"], None);
    assert!(one == two, "{}", first_difference(&one, &two));
    let bytes = std::fs::read(&path).unwrap();
    let piped = run(
        &["read", "-", "--format", "json", "--threads", "3"],
        Some(&bytes),
    );
    let piped_one = run(&["read", "-", "--format", "json"], Some(&bytes));
    assert!(
        piped == piped_one,
        "{}",
        first_difference(&piped_one, &piped)
    );
    let v: serde_json::Value = serde_json::from_slice(&two).unwrap();
    assert!(
        !v["calls"].as_array().unwrap().is_empty(),
        "a SIP call is found"
    );
}

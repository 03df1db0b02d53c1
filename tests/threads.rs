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

/// The frames of a classic pcap file: (offset, length) of each record's
/// data; empty for pcapng.
fn pcap_frames(b: &[u8]) -> Vec<(usize, usize)> {
    let le = match b.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1]) => true,
        Some([0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d]) => false,
        _ => return Vec::new(),
    };
    let mut v = Vec::new();
    let mut at = 24;
    while let Some(h) = b.get(at..at + 16) {
        let raw = [h[8], h[9], h[10], h[11]];
        let incl = if le {
            u32::from_le_bytes(raw)
        } else {
            u32::from_be_bytes(raw)
        } as usize;
        if at + 16 + incl > b.len() {
            break;
        }
        v.push((at + 16, incl));
        at += 16 + incl;
    }
    v
}

/// Damaged captures: bits flipped inside the frames of every classic pcap
/// fixture (record headers left alone, so every frame is still read):
/// malformed headers, broken SIP, STUN, TLS, RTP. Whatever one thread makes
/// of them, three workers make the same: the join must not depend on the
/// input being well-formed.
#[test]
fn damaged_captures_report_the_same_with_3_threads() {
    let cfg = Config::default();
    let dir = tempfile::tempdir().unwrap();
    let (mut compared, mut warned) = (0, 0u64);
    for path in all_fixtures() {
        let bytes = std::fs::read(&path).unwrap();
        let frames = pcap_frames(&bytes);
        if frames.is_empty() {
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // xorshift seeded by the name: the same damage on every run.
        let mut x = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        }) | 1;
        let mut next = move || {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D) as usize
        };
        for round in 0..2 {
            let mut b = bytes.clone();
            // One frame in four gets one to three flipped bits.
            for &(off, len) in frames.iter().filter(|f| f.1 > 0) {
                if next() % 4 != 0 {
                    continue;
                }
                for _ in 0..1 + next() % 3 {
                    b[off + next() % len] ^= 1 << (next() % 8);
                }
            }
            let file = dir.path().join(format!("{round}-{name}"));
            std::fs::write(&file, &b).unwrap();
            let files = vec![file.display().to_string()];
            let one = json(&files_of(&files), 1, &cfg);
            let many = json(&files_of(&files), 3, &cfg);
            assert!(
                one == many,
                "{name} round {round}: {}",
                first_difference(&one, &many)
            );
            let v: serde_json::Value = serde_json::from_slice(&one).unwrap();
            warned += v["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|w| w["count"].as_u64())
                .sum::<u64>();
            compared += 1;
        }
    }
    assert!(compared >= 80, "only {compared} damaged captures");
    // The damage is seen: malformed headers, SIP, STUN... are counted.
    assert!(
        warned >= 100,
        "only {warned} warnings over the damaged captures"
    );
}

fn files_of(files: &[String]) -> Vec<PathBuf> {
    files.iter().map(PathBuf::from).collect()
}

/// Each thread owns a share of the live-flow limit in proportion to the
/// flows it owns; the copies of flows it follows for their signalling
/// (every TCP connection with payload) do not count against it. So with a
/// limit the capture comes near but does not reach, N threads evict
/// nothing, as one thread does not.
#[test]
fn a_limit_not_reached_by_one_thread_is_not_reached_by_4() {
    let all = all_fixtures();
    let one = json(&all, 1, &Config::default());
    let v: serde_json::Value = serde_json::from_slice(&one).unwrap();
    let peak = v["limits"]["peak_live_flows"].as_u64().unwrap() as usize;
    let tcp = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["transport"] == "tcp")
        .count();
    // With an even split of this limit (half the peak each), a worker
    // that owns a share of the flows and follows every TCP connection
    // holds more flows than its part.
    let mut cfg = Config::default();
    cfg.flows.max_live = peak * 2;
    assert!(tcp > peak / 3, "{tcp} TCP flows of a peak of {peak}");
    let one = json(&all, 1, &cfg);
    let many = json(&all, 4, &cfg);
    assert!(one == many, "{}", first_difference(&one, &many));
    let v: serde_json::Value = serde_json::from_slice(&many).unwrap();
    assert_eq!(v["limits"]["flows_evicted"], 0);
}

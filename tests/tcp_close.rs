//! Streaming ends a TCP connection 60 s of packet time (TIME_WAIT) after
//! it closed (a RST, or FIN both ways) and went silent, so its record is written then, not after the
//! idle timeout or at the end; the report written at the end is unchanged.

mod common;

use std::process::Command;

use common::*;

fn ndjson(f: &str) -> Vec<serde_json::Value> {
    let o = Command::new(bin())
        .args([
            "read",
            "-q",
            f,
            "--format",
            "ndjson",
            "--all-flows",
            "--interval",
            "1",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn closed_tls_connections_are_written_as_they_close() {
    // Webex over TLS: connections closed, the capture going on for 110 s.
    let f = fixture("ndpi__webex.pcap");
    let f = f.to_str().unwrap();
    let rs = ndjson(f);
    let closed: Vec<(usize, &serde_json::Value)> = rs
        .iter()
        .enumerate()
        .filter(|(_, r)| r["type"] == "flow" && r["ended"] == "closed")
        .collect();
    assert!(closed.len() >= 5, "{} closed", closed.len());
    assert!(closed.iter().any(|(_, r)| r["protocols"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "tls")));
    for (i, r) in &closed {
        assert_eq!(r["transport"], "tcp");
        // Written before the heartbeat 66 s of packet time after its last
        // packet (60 s of grace, the table looks every 5 s), which exists.
        let t = r["last_ts"].as_f64().unwrap();
        let beat = rs
            .iter()
            .position(|x| x["type"] == "interval" && x["ts"].as_f64().unwrap() >= t + 66.0)
            .unwrap_or_else(|| panic!("no heartbeat 66 s after flow {}", r["id"]));
        assert!(
            *i < beat,
            "flow {} written at {i}, after the heartbeat at {beat}",
            r["id"]
        );
    }
    // The same flows as the report written at the end, but for how they ended.
    let o = Command::new(bin())
        .args(["read", "-q", f, "--format", "json", "--all-flows"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        v.as_object_mut().unwrap().remove("ended");
        v.as_object_mut().unwrap().remove("type");
        v
    };
    let mut streamed: Vec<serde_json::Value> = rs
        .iter()
        .filter(|r| r["type"] == "flow")
        .map(strip)
        .collect();
    let mut whole: Vec<serde_json::Value> = report["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(strip)
        .collect();
    let key = |v: &serde_json::Value| v["id"].as_u64().unwrap();
    streamed.sort_by_key(key);
    whole.sort_by_key(key);
    assert_eq!(streamed, whole);
    assert!(report["flows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["ended"] != "closed"));
}

//! The end of a streamed capture holds no more flows than its bound. Flows
//! still live when the capture ends wait for the final report (their calls
//! are known then) only while the ended flows held for the calls number
//! fewer than 65,536 (README, Limits); past that, as during the capture,
//! a flow's record is written at once and the flow let go, counted as
//! `flows-not-held`. Before, every live flow's entry was built at once: a
//! flood of 400,000 one-packet STUN requests, all live at the end, peaked
//! at 490 MiB instead of 200.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

/// `MAX_HELD_ENDED` in src/engine.rs.
const HELD: u64 = 65_536;

/// A STUN Binding request (RFC 5389) with transaction id `i`.
fn stun_request(i: u32) -> Vec<u8> {
    let mut m = vec![0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42];
    m.extend_from_slice(&i.to_be_bytes());
    m.extend_from_slice(&[0; 8]);
    m
}

/// `n` one-packet STUN flows from distinct public clients to one server,
/// 1,000 a second of packet time: every one is live when the capture ends.
fn stun_flood(n: u32) -> Vec<u8> {
    let frames: Vec<(u64, Vec<u8>)> = (0..n)
        .map(|i| {
            let [_, b, c, d] = i.to_be_bytes();
            let client = [100 + b, c, d, 1];
            let sport = 10_000 + (i % 50_000) as u16;
            let frame = udp_frame(client, [198, 51, 100, 9], sport, 3478, &stun_request(i));
            (u64::from(i) * 1_000, frame)
        })
        .collect();
    pcap_at(&frames)
}

#[test]
fn flows_live_at_the_end_past_the_held_bound_are_written_and_let_go() {
    let n: u32 = 70_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stun-flood.pcap");
    std::fs::write(&path, stun_flood(n)).unwrap();
    let p = path.to_str().unwrap();

    let out = String::from_utf8(run_ok(&["read", "-q", p, "--format", "ndjson"])).unwrap();
    let records: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let flows: Vec<&Value> = records.iter().filter(|r| r["type"] == "flow").collect();
    let ids: BTreeSet<u64> = flows.iter().map(|f| f["id"].as_u64().unwrap()).collect();
    assert_eq!(flows.len(), n as usize, "one record a flow");
    assert_eq!(ids.len(), n as usize, "no flow written twice");
    for f in &flows {
        assert_eq!(f["ended"], "capture-end", "{f}");
        assert_eq!(f["packets"], 1, "{f}");
        assert_eq!(f["stun"]["messages"], 1, "{f}");
    }
    let summary: Vec<&Value> = records.iter().filter(|r| r["type"] == "summary").collect();
    assert_eq!(summary.len(), 1);
    let s = summary[0];
    assert_eq!(s["flows"], n, "{s}");
    assert_eq!(s["limits"]["peak_live_flows"], n, "{s}");
    assert_eq!(s["limits"]["flows_evicted"], 0, "{s}");
    let not_held: Vec<&Value> = s["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "flows-not-held")
        .collect();
    assert_eq!(not_held.len(), 1, "{s}");
    assert_eq!(
        not_held[0]["count"].as_u64(),
        Some(u64::from(n) - HELD),
        "{s}"
    );
    // The flows waiting for the end are the first by id, written after
    // the others, which went out as soon as the capture ended.
    let order: Vec<u64> = flows.iter().map(|f| f["id"].as_u64().unwrap()).collect();
    let (early, late) = order.split_at((u64::from(n) - HELD) as usize);
    assert!(early.iter().all(|&id| id > HELD), "{:?}", &early[..3]);
    assert!(late.iter().all(|&id| id <= HELD), "{:?}", &late[..3]);

    // The one JSON report, which holds every flow, lists the same flows.
    let json: Value =
        serde_json::from_slice(&run_ok(&["read", "-q", p, "--format", "json"])).unwrap();
    let listed: BTreeSet<u64> = json["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, ids);
}

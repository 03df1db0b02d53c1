//! The end of a streamed capture holds no more flows than its bound. Flows
//! still live when the capture ends wait for the final report (their calls
//! are known then) only while the ended flows held for the calls number
//! fewer than 65,536 (README, Limits); past that, as during the capture,
//! a flow's record is written at once and the flow let go, counted as
//! `flows-not-held`. Before, every live flow's entry was built at once: a
//! flood of 400,000 one-packet STUN requests, all live at the end, peaked
//! at 490 MiB instead of 200. A JSON report, written at the end, keeps to
//! the same bound by writing entries early to a temporary file.

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

/// [`stun_flood`] in a file of a new temporary directory.
fn flood_file(n: u32) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stun-flood.pcap");
    std::fs::write(&path, stun_flood(n)).unwrap();
    (dir, path)
}

#[test]
fn flows_live_at_the_end_past_the_held_bound_are_written_and_let_go() {
    let n: u32 = 70_000;
    let (_dir, path) = flood_file(n);
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

/// The flow records of a streamed NDJSON run, without their `type`, and the
/// other records by type.
fn ndjson_run(p: &str, extra: &[&str]) -> (Vec<Value>, Vec<Value>) {
    let mut args = vec!["read", "-q", p, "--format", "ndjson"];
    args.extend_from_slice(extra);
    let out = String::from_utf8(run_ok(&args)).unwrap();
    let (mut flows, mut others) = (Vec::new(), Vec::new());
    for l in out.lines() {
        let mut r: Value = serde_json::from_str(l).unwrap();
        if r["type"] == "flow" {
            r.as_object_mut().unwrap().remove("type");
            flows.push(r);
        } else {
            others.push(r);
        }
    }
    (flows, others)
}

fn warning<'a>(report: &'a Value, kind: &str) -> Option<&'a Value> {
    report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["kind"] == kind)
}

/// A JSON report holds every flow until it is written, but not past the
/// bound: once more than 65,536 ended flows are held, entries are written
/// as flows end (to a temporary file) and the flows let go, as streaming
/// does; the report lists them in id order among the others. Here flows
/// end during the capture (`--max-flows 1000` evicts them), so the switch
/// comes in its middle.
#[test]
fn a_json_report_past_the_bound_writes_entries_early_in_id_order() {
    let n: u32 = 70_000;
    let (_dir, path) = flood_file(n);
    let p = path.to_str().unwrap();
    let limit = ["--max-flows", "1000"];

    let mut args = vec!["read", "-q", p, "--format", "json"];
    args.extend_from_slice(&limit);
    let json: Value = serde_json::from_slice(&run_ok(&args)).unwrap();
    let flows = json["flows"].as_array().unwrap();
    assert_eq!(flows.len(), n as usize, "one entry a flow");
    let ids: Vec<u64> = flows.iter().map(|f| f["id"].as_u64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "in id order, once each"
    );
    assert_eq!(json["limits"]["flows_evicted"], u64::from(n) - 1000);
    // Written early: every flow. Those evicted during the capture were,
    // once the switch came; the ended flows then held for the calls fill
    // the bound, so the 1,000 live at the end were too, as the capture
    // ended.
    let early = warning(&json, "flows-written-early").expect("a warning says so");
    assert_eq!(early["count"], n, "{early}");
    for f in flows {
        assert_eq!(f["packets"], 1, "{f}");
        assert_eq!(f["stun"]["messages"], 1, "{f}");
    }

    // The entries are those streamed NDJSON writes, and the calls, relays
    // and leaks those of its end.
    let (mut streamed, others) = ndjson_run(p, &limit);
    streamed.sort_by_key(|f| f["id"].as_u64());
    assert_eq!(flows, &streamed);
    let relays: Vec<&Value> = others.iter().filter(|r| r["type"] == "relay").collect();
    assert_eq!(json["relays"].as_array().unwrap().len(), relays.len());
    assert!(!relays.is_empty(), "the STUN server is a relay candidate");
    for (a, b) in json["relays"].as_array().unwrap().iter().zip(&relays) {
        let mut b = (*b).clone();
        b.as_object_mut().unwrap().remove("type");
        assert_eq!(a, &b);
    }
}

/// Without a temporary file, every flow stays in memory, as before, and a
/// warning says why.
#[test]
fn a_json_report_without_a_temporary_file_holds_every_flow() {
    let n: u32 = 70_000;
    let (dir, path) = flood_file(n);
    let nowhere = dir.path().join("no-such-directory");
    let p = path.to_str().unwrap();
    let out = run_ok_env(
        &["read", "-q", "--format", "json", "--max-flows", "1000", p],
        &[("TMPDIR", &nowhere)],
    );
    let json: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["flows"].as_array().unwrap().len(), n as usize);
    assert!(warning(&json, "flows-written-early").is_none());
    let w = warning(&json, "flows-not-written-early").expect("a warning says why");
    assert!(
        w["example"]
            .as_str()
            .unwrap()
            .contains("every flow stayed in memory"),
        "{w}"
    );
}

/// A temporary directory that fills up loses the entries it cannot take:
/// counted (`flows-lost`), and the report is still written, with the rest.
#[test]
fn a_full_temporary_directory_loses_entries_counted() {
    let n: u32 = 70_000;
    let (work, path) = flood_file(n);
    let mnt = work.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let saved = work.path().join("report.json");
    // 2 MiB hold about 3,000 of the 70,000 entries.
    let script = r#"
        mount -t tmpfs -o size=2m tmpfs "$MNT" || exit 77
        TMPDIR="$MNT" "$BIN" read -q --format json --max-flows 1000 "$PCAP" > "$SAVED"
    "#;
    let bin = bin();
    let Some(o) = in_mount_namespace(
        script,
        &[
            ("MNT", &mnt),
            ("PCAP", &path),
            ("BIN", &bin),
            ("SAVED", &saved),
        ],
    ) else {
        return;
    };
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json = read_json(&saved);
    let listed = json["flows"].as_array().unwrap().len() as u64;
    let lost = warning(&json, "flows-lost").expect("the loss is a warning");
    let lost_n = lost["count"].as_u64().unwrap();
    assert!(lost_n > 0 && listed > 0, "{lost}");
    assert_eq!(listed + lost_n, u64::from(n), "{lost}");
    assert!(
        lost["example"].as_str().unwrap().contains("No space left"),
        "{lost}"
    );
}

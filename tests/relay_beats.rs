//! Streamed NDJSON with heartbeats (`--interval`): each heartbeat is
//! followed by the records of the relays new or changed since the last
//! one, each the relay so far, and the end writes every relay once more.
//! A relay's last record is the report's; an earlier one holds part of it.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use serde_json::Value;

/// A relay is its address, port and transport (a STUN server can turn
/// out to be TURN later).
fn key(r: &Value) -> String {
    format!("{} {}:{}", r["transport"], r["ip"], r["port"])
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.to_string())
        .collect()
}

/// The relay records of a streamed run, in order, and the summary.
fn streamed(f: &str, threads: &str) -> (Vec<(usize, Value)>, Value) {
    let out = run_ok(&[
        "read",
        "-q",
        f,
        "--format",
        "ndjson",
        "--interval",
        "1",
        "--threads",
        threads,
    ]);
    let mut relays = Vec::new();
    let mut beats = 0;
    let mut summary = Value::Null;
    for line in String::from_utf8(out).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        match v["type"].as_str().unwrap() {
            "interval" => beats += 1,
            "relay" => relays.push((beats, v)),
            "summary" => summary = v,
            _ => {}
        }
    }
    (relays, summary)
}

#[test]
fn heartbeats_write_relays_so_far_and_the_end_the_final_ones() {
    let mut early = 0;
    let mut compared = 0;
    for f in all_fixtures() {
        let f = f.to_str().unwrap();
        let report: Value =
            serde_json::from_slice(&run_ok(&["read", "-q", f, "--format", "json"])).unwrap();
        let want: BTreeMap<String, &Value> = report["relays"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (key(r), r))
            .collect();
        for threads in ["1", "2"] {
            let what = format!("{f}, {threads} threads");
            let (records, summary) = streamed(f, threads);
            let mut last: BTreeMap<String, &Value> = BTreeMap::new();
            let last_beat = records.iter().map(|(b, _)| *b).max().unwrap_or(0);
            for (beat, r) in &records {
                let k = key(r);
                if let Some(fin) = want.get(&k) {
                    // Part of the final record: its clients, peers and
                    // packets so far.
                    for list in ["clients", "peers", "relayed_addresses"] {
                        assert!(
                            strings(&r[list]).is_subset(&strings(&fin[list])),
                            "{what}: {k} {list}: {} not within {}",
                            r[list],
                            fin[list]
                        );
                    }
                    for n in ["relayed_packets", "channel_data_packets"] {
                        assert!(
                            r[n].as_u64() <= fin[n].as_u64(),
                            "{what}: {k} {n}: {} above {}",
                            r[n],
                            fin[n]
                        );
                    }
                }
                if *beat < last_beat {
                    early += 1;
                }
                last.insert(k, r);
            }
            assert_eq!(
                last.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>(),
                "{what}: relays"
            );
            assert_eq!(summary["relays"], want.len(), "{what}: summary");
            for (k, r) in last {
                let mut got = r.clone();
                let mut fin = want[&k].clone();
                for v in [&mut got, &mut fin] {
                    let o = v.as_object_mut().unwrap();
                    o.remove("type");
                    // Ids differ when threads split the traffic.
                    o.remove("flow_ids");
                }
                assert_eq!(got, fin, "{what}: the last record of {k}");
                compared += 1;
            }
        }
    }
    assert!(compared > 50, "only {compared} relays compared");
    assert!(early > 5, "only {early} relay records came before the end");
}

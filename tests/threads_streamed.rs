//! Streamed NDJSON with `--threads N`: the threads split the traffic by
//! client (the key of `--partition`) and each writes its records as its
//! flows and calls end. Together the records are one thread's: the same
//! flows, calls, leaks and relays (each relay one record), every flow id
//! once, every id a call or leak names a flow's, and a summary that counts
//! what was written.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use serde_json::Value;

fn records(f: &str, threads: &str) -> Vec<Value> {
    let out = run_ok(&[
        "read",
        "-q",
        f,
        "--format",
        "ndjson",
        "--all-flows",
        "--threads",
        threads,
    ]);
    ndjson_values(out)
}

/// What must be the same, ids left out: flows by 5-tuple and start (with
/// counts and verdicts, and their app unless `lan`), calls (SIP ones by
/// Call-ID, inferred ones by their flows), leaks and each relay's clients.
#[derive(Debug, PartialEq)]
struct Seen {
    flows: BTreeSet<String>,
    calls: BTreeSet<String>,
    leaks: BTreeSet<String>,
    relays: BTreeMap<String, BTreeSet<String>>,
    packets: u64,
}

fn seen(rs: &[Value], lan: bool, what: &str) -> Seen {
    let mut by_id = BTreeMap::new();
    let mut flows = BTreeSet::new();
    for f in of_type(rs, "flow") {
        let key = flow_key(f);
        let id = f["id"].as_u64().unwrap();
        assert!(
            by_id.insert(id, key.clone()).is_none(),
            "{what}: flow id {id} written twice"
        );
        let app = if lan {
            String::new()
        } else {
            format!("{:?}", f["app"])
        };
        flows.insert(format!(
            "{key} p={} b={} {:?} {} {app}",
            f["packets"], f["bytes"], f["protocols"], f["encryption"]
        ));
    }
    let flow = |id: &Value| -> &String {
        let id = id.as_u64().unwrap();
        by_id
            .get(&id)
            .unwrap_or_else(|| panic!("{what}: flow {id} is named but has no record"))
    };
    let mut calls = BTreeSet::new();
    for c in of_type(rs, "call") {
        let mut fs: Vec<&String> = c["flow_ids"].as_array().unwrap().iter().map(flow).collect();
        fs.sort();
        let who = if c["inferred"].as_bool().unwrap() {
            format!("{fs:?}")
        } else {
            c["call_id"].as_str().unwrap().to_string()
        };
        let verdict = as_one_analysis(c["verdict"].as_str().unwrap());
        calls.insert(format!("{who} {} {verdict}", c["encrypted"]));
    }
    let mut leaks = BTreeSet::new();
    for l in of_type(rs, "leak") {
        flow(&l["flow_id"]);
        leaks.insert(format!(
            "{} {} {} {}",
            l["address"], l["where"], l["exposed_to"], l["count"]
        ));
    }
    let mut relays: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in of_type(rs, "relay") {
        let key = format!("{} {}:{} {}", r["transport"], r["ip"], r["port"], r["kind"]);
        let clients = r["clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        assert!(
            relays.insert(key.clone(), clients).is_none(),
            "{what}: relay {key} written twice"
        );
        r["flow_ids"].as_array().unwrap().iter().for_each(|id| {
            flow(id);
        });
    }
    let sums = of_type(rs, "summary");
    assert_eq!(sums.len(), 1, "{what}: one summary");
    let sum = sums[0];
    assert_eq!(
        sum["flows"],
        of_type(rs, "flow").len(),
        "{what}: summary flows"
    );
    assert_eq!(
        sum["calls"],
        of_type(rs, "call").len(),
        "{what}: summary calls"
    );
    assert_eq!(
        sum["leaks"],
        of_type(rs, "leak").len(),
        "{what}: summary leaks"
    );
    assert_eq!(sum["relays"], relays.len(), "{what}: summary relays");
    Seen {
        flows,
        calls,
        leaks,
        relays,
        packets: sum["source"]["packets"].as_u64().unwrap(),
    }
}

/// Whether some flow of the report runs between an internal and a public
/// host.
fn has_border_flow(v: &Value) -> bool {
    let internal = |e: &Value| internal_ip(e["ip"].as_str().unwrap().parse().unwrap());
    v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| internal(&f["src"]) != internal(&f["dst"]))
}

#[test]
fn every_capture_streams_what_one_thread_does() {
    let mut split = 0;
    let mut whole = 0;
    let mut lan_whole = 0;
    for f in all_fixtures() {
        let f = f.to_str().unwrap();
        let one = records(f, "1");
        let json = serde_json::from_slice(&run_ok(&["read", f, "--format", "json", "--all-flows"]))
            .unwrap();
        let lan = internal_to_internal(&json);
        let mixed = lan && has_border_flow(&json);
        let want = seen(&one, lan, &format!("{f}, 1 thread"));
        for threads in ["2", "3"] {
            let what = format!("{f}, {threads} threads");
            let many = records(f, threads);
            let got = seen(&many, lan, &what);
            assert_eq!(got.flows, want.flows, "{what}: flows");
            assert_eq!(got.leaks, want.leaks, "{what}: leaks");
            assert_eq!(got.relays, want.relays, "{what}: relays");
            assert_eq!(got.packets, want.packets, "{what}: packets");
            // Calls between internal hosts only (phones and their PBX) are
            // whole; a call with flows both between internal hosts and
            // between an internal and a public one (a WhatsApp client with
            // a relay and a peer on its LAN) can be split (see README).
            if !mixed {
                assert_eq!(got.calls, want.calls, "{what}: calls");
                whole += 1;
                if lan && !want.calls.is_empty() {
                    lan_whole += 1;
                }
            }
            let ids: BTreeSet<u64> = of_type(&many, "flow")
                .iter()
                .map(|f| f["id"].as_u64().unwrap())
                .collect();
            let ones: BTreeSet<u64> = of_type(&one, "flow")
                .iter()
                .map(|f| f["id"].as_u64().unwrap())
                .collect();
            if ids != ones {
                split += 1;
            }
        }
    }
    // Ids differ from one thread's only where the traffic was split.
    assert!(split > 20, "only {split} runs split their traffic");
    assert!(whole > 60, "only {whole} runs had their calls compared");
    assert!(
        lan_whole > 10,
        "only {lan_whole} runs between internal hosts compared"
    );
}

//! `--partition K/N`: the records of the N sensors together are the records
//! of one sensor, on every fixture (flows, calls, relays, leaks).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use common::*;
use serde_json::Value;

fn report(f: &str, extra: &[&str]) -> Value {
    let o = Command::new(bin())
        .args(["read", f, "--format", "json", "--all-flows"])
        .args(extra)
        .output()
        .expect("run vcscope");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// What must be the same: flows (by 5-tuple, with counts and verdicts),
/// calls (SIP ones by Call-ID, inferred ones by their flows), leaks and the
/// clients of each relay.
#[derive(Debug, Default, PartialEq)]
struct Records {
    flows: BTreeSet<String>,
    calls: BTreeSet<String>,
    leaks: BTreeSet<String>,
    relays: BTreeMap<String, BTreeSet<String>>,
}

impl Records {
    fn add(&mut self, v: &Value) {
        let mut by_id = BTreeMap::new();
        for f in v["flows"].as_array().unwrap() {
            let key = flow_key(f);
            by_id.insert(f["id"].as_u64().unwrap(), key.clone());
            self.flows.insert(format!(
                "{key} p={} b={} {:?} {} {:?}",
                f["packets"], f["bytes"], f["protocols"], f["encryption"], f["app"]
            ));
        }
        for c in v["calls"].as_array().unwrap() {
            let who = if c["inferred"].as_bool().unwrap() {
                let mut flows: Vec<&String> = c["flow_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|id| &by_id[&id.as_u64().unwrap()])
                    .collect();
                flows.sort();
                format!("{flows:?}")
            } else {
                c["call_id"].as_str().unwrap().to_string()
            };
            self.calls.insert(format!(
                "{who} {} {}",
                c["encrypted"],
                as_one_analysis(c["verdict"].as_str().unwrap())
            ));
        }
        for l in v["leaks"].as_array().unwrap() {
            self.leaks.insert(format!(
                "{} {} {} {}",
                l["address"], l["where"], l["exposed_to"], l["count"]
            ));
        }
        for r in v["relays"].as_array().unwrap() {
            let key = format!("{} {}:{} {}", r["transport"], r["ip"], r["port"], r["kind"]);
            let clients = self.relays.entry(key).or_default();
            for c in r["clients"].as_array().unwrap() {
                clients.insert(c.as_str().unwrap().to_string());
            }
        }
    }
}

#[test]
fn two_sensors_report_what_one_does() {
    let mut split = 0;
    let mut whole = 0;
    for f in all_fixtures() {
        let f = f.to_str().unwrap();
        let mut one = Records::default();
        one.add(&report(f, &[]));
        let mut both = Records::default();
        let mut left = 0;
        for k in ["0/2", "1/2"] {
            let v = report(f, &["--partition", k]);
            assert_eq!(v["source"]["partition"], k);
            let mine = v["flows"].as_array().unwrap().len();
            if mine > 0 && mine < one.flows.len() {
                split += 1;
            }
            left += v["source"]["packets_other_partitions"].as_u64().unwrap();
            both.add(&v);
        }
        let lan = common::internal_to_internal(&report(f, &[]));
        if lan {
            // The app a flow between two internal hosts takes from other
            // flows of its socket may be on the other sensor (see README).
            let strip = |s: &BTreeSet<String>| -> BTreeSet<String> {
                s.iter()
                    .map(|x| x.rsplit_once(' ').map_or(x.clone(), |(a, _)| a.to_string()))
                    .collect()
            };
            assert_eq!(strip(&both.flows), strip(&one.flows), "{f}: flows");
        } else {
            assert_eq!(both.flows, one.flows, "{f}: flows");
        }
        // A call whose signalling and media run between internal hosts
        // (an internal PBX, phones on one LAN) can have them on two sensors:
        // its records are then split (see README). Every other call is whole.
        if !lan {
            assert_eq!(both.calls, one.calls, "{f}: calls");
            whole += 1;
        }
        assert_eq!(both.leaks, one.leaks, "{f}: leaks");
        assert_eq!(both.relays, one.relays, "{f}: relays");
        // Each decoded packet is one sensor's, so each is left by the other.
        let total = report(f, &[])["source"]["packets"].as_u64().unwrap();
        assert!(left <= total, "{f}");
    }
    // The check means something only if traffic was really divided.
    assert!(split > 10, "only {split} reports were divided");
    assert!(whole > 30, "only {whole} captures had their calls compared");
}

/// Whether some flow of the report runs between two internal addresses.
#[test]
fn rejects_a_share_that_is_not_k_of_n() {
    let f = fixture("sipp__g711a.pcap");
    for bad in ["2/2", "1/0", "x/2", "3", "0/2000"] {
        let o = Command::new(bin())
            .args(["read", f.to_str().unwrap(), "--partition", bad])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("K/N"), "{bad}");
    }
}

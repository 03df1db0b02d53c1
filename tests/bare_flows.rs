//! The default report lists the flows that matter and counts the others in
//! `other_flows` without building their entries (issue 21: a flood of
//! one-packet flows). Whatever path a flow takes, the result must be what
//! the same capture's `--all-flows` report gives: the flows it lists that
//! the default keeps (a videoconferencing protocol, an app or a call, a
//! leak or a relay), and the others counted by transport and server port.
//! Checked on every fixture and on a made flood (more transport and port
//! pairs than are counted apart, a socket that lends its app, DNS flows to
//! a resolver that named an app), as one JSON report and streamed.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use common::*;
use serde_json::{json, Value};

/// Pairs of (transport, server port) counted apart; the rest are counted
/// as `flows_not_listed` (`OtherTally::MAX_PORTS` in src/flow.rs).
const MAX_PORTS: usize = 4096;
/// Pairs listed in `by_port`.
const TOP: usize = 20;

fn protocols(f: &Value) -> Vec<&str> {
    f["protocols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect()
}

/// The server side's port: the public side's when only the destination is
/// internal, else the destination's.
fn server_port(f: &Value) -> u64 {
    let internal = |e: &Value| internal_ip(e["ip"].as_str().unwrap().parse().unwrap());
    let side = if internal(&f["dst"]) && !internal(&f["src"]) {
        &f["src"]
    } else {
        &f["dst"]
    };
    side["port"].as_u64().unwrap()
}

/// Flows counted in `other_flows`: by (transport, server port), the pairs
/// in the order first counted.
#[derive(Default)]
struct Tally {
    pairs: Vec<(String, u64)>,
    counts: HashMap<(String, u64), [u64; 3]>,
    flows: u64,
    packets: u64,
    bytes: u64,
}

impl Tally {
    fn add(&mut self, f: &Value) {
        let (packets, bytes) = (f["packets"].as_u64().unwrap(), f["bytes"].as_u64().unwrap());
        self.flows += 1;
        self.packets += packets;
        self.bytes += bytes;
        let key = (f["transport"].as_str().unwrap().to_string(), server_port(f));
        let c = self.counts.entry(key.clone()).or_insert_with(|| {
            self.pairs.push(key);
            [0; 3]
        });
        *c = [c[0] + 1, c[1] + packets, c[2] + bytes];
    }

    /// The `other_flows` section: of the first `MAX_PORTS` pairs counted,
    /// the busiest by flows (then by transport and port); the flows of
    /// every other pair are not listed.
    fn section(&self) -> Value {
        let apart = &self.pairs[..self.pairs.len().min(MAX_PORTS)];
        let mut v: Vec<(&(String, u64), [u64; 3])> =
            apart.iter().map(|k| (k, self.counts[k])).collect();
        v.sort_by(|a, b| b.1[0].cmp(&a.1[0]).then(a.0.cmp(b.0)));
        let not_listed: u64 = self.pairs[apart.len()..]
            .iter()
            .chain(v.iter().skip(TOP).map(|(k, _)| *k))
            .map(|k| self.counts[k][0])
            .sum();
        let by_port: Vec<Value> = v
            .iter()
            .take(TOP)
            .map(|((t, port), c)| {
                json!({"transport": t, "port": port, "flows": c[0], "packets": c[1], "bytes": c[2]})
            })
            .collect();
        json!({
            "flows": self.flows,
            "packets": self.packets,
            "bytes": self.bytes,
            "by_port": by_port,
            "flows_not_listed": not_listed,
        })
    }
}

/// Ids of the flows that a leak or a relay names.
fn named_ids(leaks: &[&Value], relays: &[&Value]) -> BTreeSet<u64> {
    let mut on: BTreeSet<u64> = leaks
        .iter()
        .map(|l| l["flow_id"].as_u64().unwrap())
        .collect();
    for r in relays {
        on.extend(
            r["flow_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i.as_u64().unwrap()),
        );
    }
    on
}

fn json_report(path: &Path, all: bool) -> Value {
    let p = path.to_str().unwrap();
    let mut args = vec!["read", "-q", p, "--format", "json"];
    if all {
        args.push("--all-flows");
    }
    serde_json::from_slice(&run_ok(&args)).unwrap()
}

fn items(v: &Value) -> Vec<&Value> {
    v.as_array().unwrap().iter().collect()
}

/// One JSON report without and with `--all-flows`.
fn check_report(path: &Path) {
    let name = path.display();
    let mut def = json_report(path, false);
    let mut all = json_report(path, true);
    assert!(all["other_flows"].is_null(), "{name}");
    let on = named_ids(&items(&all["leaks"]), &items(&all["relays"]));
    let mut tally = Tally::default();
    let mut kept = Vec::new();
    // Counted in id order, the order of the list.
    for f in items(&all["flows"]) {
        if something_of_a_call(f) || on.contains(&f["id"].as_u64().unwrap()) {
            kept.push(f.clone());
        } else {
            tally.add(f);
        }
    }
    assert_eq!(def["flows"], Value::Array(kept), "{name}: flows listed");
    assert_eq!(def["other_flows"], tally.section(), "{name}: other_flows");
    // Nothing else differs.
    for r in [&mut def, &mut all] {
        let o = r.as_object_mut().unwrap();
        o.remove("flows");
        o.remove("other_flows");
    }
    assert_eq!(def, all, "{name}: the rest of the report");
}

fn ndjson_records(path: &Path, all: bool) -> Vec<Value> {
    let p = path.to_str().unwrap();
    // Flows idle for a second end while the capture goes on, so that their
    // records are written (or counted) as they end.
    let mut args = vec!["read", "-q", p, "--format", "ndjson", "--idle-timeout", "1"];
    if all {
        args.push("--all-flows");
    }
    ndjson_values(run_ok(&args))
}

/// Streamed NDJSON without and with `--all-flows`. A flow that ends before
/// the capture is written or counted as it ends, by its record alone
/// (leaks and relays are known at the end); one that carries TLS or QUIC
/// is held until the end, when its call is known, and its record then may
/// say more than the one streamed with `--all-flows`: whether it is
/// listed is taken from the default run, and it is counted if not.
fn check_stream(path: &Path) {
    let name = path.display();
    let def = ndjson_records(path, false);
    let all = ndjson_records(path, true);
    for t in ["call", "relay", "leak"] {
        assert_eq!(of_type(&def, t), of_type(&all, t), "{name}: {t} records");
    }
    let on = named_ids(&of_type(&all, "leak"), &of_type(&all, "relay"));
    let listed: HashMap<u64, &Value> = of_type(&def, "flow")
        .into_iter()
        .map(|f| (f["id"].as_u64().unwrap(), f))
        .collect();
    let mut tally = Tally::default();
    let mut expected = BTreeSet::new();
    for f in of_type(&all, "flow") {
        let id = f["id"].as_u64().unwrap();
        let at_end = f["ended"] == "capture-end";
        let held = protocols(f).iter().any(|p| ["tls", "quic"].contains(p));
        let held_early = held && !at_end;
        let keep = if held_early {
            listed.contains_key(&id)
        } else {
            something_of_a_call(f) || (at_end && on.contains(&id))
        };
        if !keep {
            tally.add(f);
            continue;
        }
        expected.insert(id);
        if !held_early {
            assert_eq!(listed.get(&id), Some(&f), "{name}: flow {id}");
        }
    }
    let got: BTreeSet<u64> = listed.keys().copied().collect();
    assert_eq!(got, expected, "{name}: flows listed");
    let summary = of_type(&def, "summary");
    assert_eq!(summary.len(), 1, "{name}");
    assert_eq!(summary[0]["other_flows"], tally.section(), "{name}");
}

#[test]
fn every_fixture_counts_what_all_flows_lists_and_the_default_does_not() {
    for f in all_fixtures() {
        check_report(&f);
    }
}

#[test]
fn every_fixture_streamed_counts_what_all_flows_lists_and_the_default_does_not() {
    for f in all_fixtures() {
        check_stream(&f);
    }
}

/// A DNS query for `name` (id 1, one A question).
fn dns_query(name: &str) -> Vec<u8> {
    let mut q = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// A STUN Binding request (RFC 5389) with transaction id `i`.
fn stun_request(i: u32) -> Vec<u8> {
    let mut m = vec![0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42];
    m.extend_from_slice(&i.to_be_bytes());
    m.extend_from_slice(&[0; 8]);
    m
}

/// 5 000 one-packet UDP flows from public clients to as many ports of one
/// public server (more pairs than `MAX_PORTS`), one in 97 a STUN request
/// (listed); a local socket whose first flow goes to a Zoom address (app
/// by its range) and whose second, to nobody known, takes that app; another
/// socket's flow to the same address (counted); DNS queries to one
/// internal resolver, one naming an app; a flow to Jitsi's media port,
/// and at the end flows of its socket to low ports (counted in id order
/// among the others: too late for a pair of their own).
fn flood() -> Vec<u8> {
    let mut frames: Vec<(u64, Vec<u8>)> = Vec::new();
    let zeros = [0u8; 20];
    let local = |h: u8| [10, 0, 0, h];
    frames.push((0, udp_frame(local(5), [3, 7, 35, 1], 5000, 8801, &zeros)));
    frames.push((
        500_000,
        udp_frame(local(5), [192, 0, 2, 77], 5000, 40000, &zeros),
    ));
    frames.push((
        600_000,
        udp_frame(local(6), [192, 0, 2, 77], 5001, 40000, &zeros),
    ));
    let resolver = local(53);
    frames.push((
        700_000,
        udp_frame(local(7), resolver, 3333, 53, &dns_query("zoom.us")),
    ));
    frames.push((
        800_000,
        udp_frame(local(7), resolver, 3334, 53, &dns_query("example.org")),
    ));
    frames.push((
        900_000,
        udp_frame(local(9), [192, 0, 2, 80], 6000, 10000, &zeros),
    ));
    for i in 0..5000u32 {
        let client = [203, 0, 113, (i % 250) as u8];
        let sport = 20000 + (i % 1000) as u16;
        let payload = if i % 97 == 0 {
            stun_request(i)
        } else {
            zeros.to_vec()
        };
        let frame = udp_frame(client, [198, 51, 100, 9], sport, 1000 + i as u16, &payload);
        frames.push((1_000_000 + u64::from(i) * 10_000, frame));
    }
    // The socket of the flow to Jitsi's port, to low ports once the pairs
    // counted apart are full: counted after the others, never listed.
    for p in 1..=30u16 {
        let frame = udp_frame(local(9), [198, 51, 100, 10], 6000, p, &zeros);
        frames.push((52_000_000 + u64::from(p) * 10_000, frame));
    }
    pcap_at(&frames)
}

#[test]
fn a_flood_counts_what_all_flows_lists_and_the_default_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flood.pcap");
    std::fs::write(&path, flood()).unwrap();
    // The made capture says what it is meant to.
    let all = json_report(&path, true);
    let flows = items(&all["flows"]);
    let to = |ip: &str, port: u64| {
        flows
            .iter()
            .filter(|f| f["dst"]["ip"] == ip && f["dst"]["port"] == port)
            .map(|f| (f["src"]["port"].as_u64().unwrap(), f["app"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(to("3.7.35.1", 8801), [(5000, json!("zoom"))]);
    assert_eq!(
        to("192.0.2.77", 40000),
        [(5000, json!("zoom")), (5001, Value::Null)]
    );
    let apps: Vec<Value> = to("10.0.0.53", 53).into_iter().map(|(_, a)| a).collect();
    assert_eq!(apps, [json!("zoom"), Value::Null]);
    let def = json_report(&path, false);
    assert!(def["other_flows"]["flows_not_listed"].as_u64().unwrap() > 0);
    let low = def["other_flows"]["by_port"][0]["port"].as_u64().unwrap();
    assert!(low > 30, "{low}");
    check_report(&path);
    check_stream(&path);
}

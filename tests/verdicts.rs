//! Every call's sentence says what its structured fields say, over the
//! report of every fixture: a relay said to forward the media relayed some,
//! "end to end" is `encryption_ends: peer`, "no signalling seen" has no
//! signalling, "in clear" is `encrypted: no`, and so on. A sentence and its
//! fields come from one judgement; this test catches the day they do not.

mod common;

use std::collections::{HashMap, HashSet};

use common::*;
use serde_json::Value;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// Media packets a relay carried (ChannelData alone where the report has
/// no `relayed_packets`).
fn relayed(r: &Value) -> u64 {
    r.get("relayed_packets")
        .map_or_else(|| u(&r["channel_data_packets"]), u)
}

/// The contradictions between one call's sentence and its fields.
fn contradictions(call: &Value, report: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    let verdict = s(&call["verdict"]);
    let v = verdict.to_lowercase();
    let encrypted = s(&call["encrypted"]);
    let ends = s(&call["encryption_ends"]);
    let mut check = |ok: bool, what: &str| {
        if !ok {
            bad.push(format!("{}: {what}: {verdict:?}", s(&call["call_id"])));
        }
    };
    let relays: HashMap<(String, u64), &Value> = report["relays"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| ((s(&r["ip"]).to_string(), u(&r["port"])), r))
        .collect();
    let flows: HashMap<u64, &Value> = report["flows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| (u(&f["id"]), f))
        .collect();
    let endpoints: Vec<&Value> = call["endpoints"].as_array().into_iter().flatten().collect();
    let relay_of = |e: &Value| {
        relays
            .get(&(s(&e["ip"]).to_string(), u(&e["port"])))
            .copied()
    };
    let call_relays: Vec<&Value> = endpoints
        .iter()
        .filter(|e| s(&e["role"]) == "relay")
        .filter_map(|e| relay_of(e))
        .collect();
    let media_flows: Vec<&Value> = call["media"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["flow_id"].as_u64())
        .filter_map(|id| flows.get(&id).copied())
        .collect();
    // A media flow whose other end is a relay record that relayed media.
    let media_through_relay = media_flows.iter().any(|f| {
        [&f["src"], &f["dst"]]
            .iter()
            .filter_map(|e| relay_of(e))
            .any(|r| relayed(r) > 0)
    }) || endpoints.iter().any(|e| s(&e["role"]) == "media-relay");

    if v.contains("forwards it") {
        check(
            call_relays.iter().any(|r| relayed(r) > 0) || media_through_relay,
            "a relay is said to forward the media, but none relayed any",
        );
    }
    if v.contains("went direct") {
        check(
            !media_through_relay,
            "the media is said to go direct, but a relay carried it",
        );
    }
    if v.contains("allocated, unused") {
        check(
            call_relays.iter().any(|r| relayed(r) == 0),
            "a relay is said to be unused, but every relay of the call relayed media",
        );
    }
    let says_e2e = v.contains("end to end") && !v.contains("not end to end");
    check(
        says_e2e == (ends == "peer"),
        "\"end to end\" iff encryption_ends is peer",
    );
    check(
        v.contains("not end to end") == (ends == "provider-server"),
        "\"not end to end\" iff encryption_ends is provider-server",
    );
    check(
        v.contains("unless the meeting enabled end-to-end encryption")
            == (ends == "provider-server-unless-e2ee"),
        "\"unless the meeting enabled\" iff encryption_ends is provider-server-unless-e2ee",
    );
    let sig_unknown = s(&call["signalling"]["protocol"]) == "unknown";
    if v.contains("no signalling seen") {
        check(
            sig_unknown
                && call["signalling_flows"]
                    .as_array()
                    .is_none_or(|a| a.is_empty()),
            "\"no signalling seen\" but the call has signalling",
        );
    }
    if v.contains("signalling seen:") {
        check(
            !sig_unknown,
            "signalling said seen, but the field says unknown",
        );
    }
    let says_clear = v.contains("not encrypted") || v.contains("media in clear");
    check(
        says_clear == (encrypted == "no"),
        "\"in clear\" iff encrypted is no",
    );
    check(
        v.contains("not private") == (encrypted == "keys-exposed"),
        "\"not private\" iff encrypted is keys-exposed",
    );
    if v.contains("could not be classified") {
        check(
            encrypted == "unknown",
            "\"could not be classified\" but encrypted is known",
        );
    }
    // "per X's documented policy ... cannot be checked" iff the basis is the
    // app's policy, which only ever makes a call encrypted.
    let says_policy = v.contains("documented") && v.contains("cannot be checked");
    let basis = s(&call["encryption_basis"]);
    check(
        says_policy == (basis == "policy"),
        "\"per the documented policy\" iff encryption_basis is policy",
    );
    if basis == "policy" {
        check(
            encrypted == "yes" && call["inferred"].as_bool() == Some(true),
            "encryption_basis policy on a call not inferred or not encrypted",
        );
    }
    if encrypted == "yes" {
        check(
            v.contains("encrypted") || v.contains("encryption declared"),
            "encrypted is yes, the sentence does not say so",
        );
    }
    // "16 packets of one short flow not classified": the media flows left
    // unknown carry that many packets besides STUN.
    if let Some(i) = v.find(" packets of ") {
        let n: u64 = v[..i]
            .rsplit(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|d| d.parse().ok())
            .unwrap_or(u64::MAX);
        let left: u64 = media_flows
            .iter()
            .filter(|f| s(&f["encryption"]) == "unknown")
            .map(|f| u(&f["packets"]) - f["stun"].get("messages").map_or(0, u))
            .sum();
        check(
            n == left,
            "the unclassified packets named are not the media's",
        );
    }
    bad
}

/// A host is a server of relays[] or a client of them, never both.
fn role_contradictions(report: &Value) -> Vec<String> {
    let relays: Vec<&Value> = report["relays"].as_array().into_iter().flatten().collect();
    let clients: HashSet<&str> = relays
        .iter()
        .flat_map(|r| r["clients"].as_array().into_iter().flatten().map(s))
        .collect();
    relays
        .iter()
        .filter(|r| clients.contains(s(&r["ip"])))
        .map(|r| {
            format!(
                "{}:{} is listed as a {} server and as a client of one",
                s(&r["ip"]),
                u(&r["port"]),
                s(&r["kind"])
            )
        })
        .collect()
}

#[test]
fn every_sentence_says_what_its_fields_say() {
    let mut bad = Vec::new();
    for path in all_fixtures() {
        let report = serde_json::to_value(analyze(&[path.as_path()])).expect("report as JSON");
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for call in report["calls"].as_array().into_iter().flatten() {
            bad.extend(
                contradictions(call, &report)
                    .into_iter()
                    .map(|b| format!("{name}: {b}")),
            );
        }
        bad.extend(
            role_contradictions(&report)
                .into_iter()
                .map(|b| format!("{name}: {b}")),
        );
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

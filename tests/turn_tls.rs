//! TURN over TLS is a relay: a client allocating on a TURN server over TLS
//! (coturn's own client against coturn, fixtures/pcap/coturn__turn-tls.sh)
//! and Teams' relays reached on 443 (ndpi__teams.pcap).

mod common;

use common::*;
use serde_json::Value;

fn tls_relays(r: &Value) -> Vec<Value> {
    r["relays"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["transport"] == "tls")
        .cloned()
        .collect()
}

#[test]
fn turn_over_tls_to_coturn_is_a_relay_named_by_its_alpn() {
    let r = serde_json::to_value(analyze_one("coturn__turn-tls.pcap")).unwrap();
    let relays = tls_relays(&r);
    assert_eq!(relays.len(), 1, "{relays:#?}");
    let x = &relays[0];
    assert_eq!(
        (x["ip"].as_str(), x["port"].as_u64()),
        (Some("10.0.0.2"), Some(5349))
    );
    assert_eq!(x["kind"], "turn");
    assert_eq!(x["clients"], serde_json::json!(["10.0.0.1"]));
    let ev = x["evidence"].to_string();
    assert!(ev.contains("ALPN stun.turn") && ev.contains("5349"), "{ev}");
    // Every connection of the client to it is TURN, and says so.
    for f in r["flows"].as_array().unwrap() {
        assert!(
            f["protocols"].as_array().unwrap().contains(&"turn".into()),
            "{f}"
        );
    }
    assert_eq!(x["flow_ids"].as_array().unwrap().len(), 5);
}

#[test]
fn teams_relays_on_443_are_turn_over_tls() {
    let r = serde_json::to_value(analyze_one("ndpi__teams.pcap")).unwrap();
    let relays = tls_relays(&r);
    let at = |ip: &str| {
        relays
            .iter()
            .find(|x| x["ip"] == ip && x["port"] == 443)
            .unwrap_or_else(|| panic!("no TURN over TLS relay {ip}: {relays:#?}"))
    };
    // SNI euaz.tr.teams.microsoft.com, and the same address is the client's
    // TURN server on UDP 3478.
    let named = at("52.114.250.123");
    assert_eq!(named["operator"], "Microsoft");
    assert!(named["evidence"]
        .to_string()
        .contains("euaz.tr.teams.microsoft.com"));
    // IP-literal SNI to Microsoft addresses while the client uses Microsoft's TURN.
    for ip in ["52.114.250.152", "52.114.250.153"] {
        assert!(at(ip)["evidence"].to_string().contains("IP literal"));
    }
    // The call counts them as relays, not as signalling servers.
    let call = &r["calls"][0];
    for ip in ["52.114.250.123", "52.114.250.152", "52.114.250.153"] {
        assert!(call["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["ip"] == ip && e["port"] == 443 && e["role"] == "relay"));
    }
}

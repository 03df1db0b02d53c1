//! Encrypted signalling tied to its call: a SIP call over TLS whose media is
//! SDES-keyed SRTP shows no SIP and no SDP, so the call is inferred from its
//! media; the TLS connection that set it up belongs to it.
//!
//! Capture: fixtures/pcap/baresip__sip-tls-srtp.pcap, made by the script
//! beside it (two baresip user agents in network namespaces; the truth by
//! construction is written there).

mod common;

use common::*;
use serde_json::Value;

#[test]
fn sip_over_tls_is_the_signalling_of_the_srtp_call_it_set_up() {
    let r = serde_json::to_value(analyze_one("baresip__sip-tls-srtp.pcap")).unwrap();
    let flows = r["flows"].as_array().unwrap();
    let find = |pred: &dyn Fn(&Value) -> bool| -> Value {
        flows.iter().find(|f| pred(f)).cloned().expect("flow")
    };
    let tls = find(&|f| f["transport"] == "tcp" && f["dst"]["port"] == 5061);
    let media = find(&|f| f["transport"] == "udp" && f["encryption"] == "srtp");
    let calls = r["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let c = &calls[0];
    assert_eq!(c["inferred"], true);
    assert_eq!(c["encrypted"], "yes");
    assert_eq!(c["signalling"]["protocol"], "sip");
    assert_eq!(c["signalling"]["transport"], "tls");
    assert_eq!(c["signalling"]["encrypted"], true);
    let evidence: Vec<&str> = c["signalling"]["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(evidence.iter().any(|e| e.contains("5061")), "{evidence:?}");
    assert!(evidence.iter().any(|e| e.contains("SDES")), "{evidence:?}");
    assert_eq!(c["signalling_flows"], serde_json::json!([tls["id"]]));
    let ids = c["flow_ids"].as_array().unwrap();
    assert!(
        ids.contains(&tls["id"]) && ids.contains(&media["id"]),
        "{ids:?}"
    );
    // The TLS flow says whose signalling it is.
    let tls = &flows[tls["id"].as_u64().unwrap() as usize - 1];
    assert_eq!(tls["call_id"], c["call_id"]);
    // The callee's sips endpoint is the other peer, not a server.
    assert!(c["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["ip"] == "10.0.0.2" && e["port"] == 5061 && e["role"] == "peer"));
}

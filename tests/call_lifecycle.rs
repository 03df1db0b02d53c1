//! A streaming sensor writes a call's record when the call is over, not at
//! the end of the run (README, Usage): a SIP call a minute after its BYE,
//! and a call inferred from media once its flows have settled (ended ten
//! minutes ago, and nothing of their addresses since that could join
//! them). Each capture here is read with one more datagram, far later and
//! unrelated, that moves packet time on; the call's record must come before
//! that datagram's flow record (written at the end) and say what the record
//! of a report written at the end says, but for the media flows still open
//! when it was written (`flows_open`).

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// A pcap file of one UDP datagram between two hosts of nothing in the
/// fixtures, `secs` seconds of packet time after the epoch.
fn later_datagram(secs: u64) -> Vec<u8> {
    let frame = udp_frame([192, 0, 2, 200], [192, 0, 2, 201], 40_000, 40_001, b"later");
    let mut out = pcap_header(65_535);
    out.extend_from_slice(&(secs as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
    out.extend_from_slice(&frame);
    out
}

/// The records of `read --format ndjson` over the fixture and a datagram
/// `after` seconds after its last packet, and the JSON report of the same.
fn streamed_and_whole(name: &str, after: u64) -> (Vec<Value>, Value) {
    let fixture = fixture(name);
    let whole: Value = serde_json::from_slice(&run_ok(&[
        "read",
        "--format",
        "json",
        fixture.to_str().unwrap(),
    ]))
    .unwrap();
    let last = whole["source"]["last_ts"].as_f64().unwrap().ceil() as u64;
    let dir = tempfile::tempdir().unwrap();
    let later = dir.path().join("later.pcap");
    std::fs::write(&later, later_datagram(last + after)).unwrap();
    let inputs = [fixture.as_path(), later.as_path()];
    let args = |format: &'static str| -> Vec<String> {
        let mut a: Vec<String> = ["read", "--format", format, "--no-progress", "--all-flows"]
            .map(String::from)
            .to_vec();
        a.extend(inputs.iter().map(|p: &&Path| p.display().to_string()));
        a
    };
    let a = args("ndjson");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let records = String::from_utf8(run_ok(&a))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let a = args("json");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let whole = serde_json::from_slice(&run_ok(&a)).unwrap();
    (records, whole)
}

/// Checks that every call of `name` is written before the later
/// datagram's flow and equals the whole report's but for `flows_open`;
/// returns the calls' `flows_open`.
fn calls_written_before_the_end(name: &str, after: u64, inferred: bool) -> Vec<Vec<u64>> {
    let (records, whole) = streamed_and_whole(name, after);
    let later = records
        .iter()
        .position(|r| r["type"] == "flow" && r["src"]["ip"] == "192.0.2.200")
        .unwrap_or_else(|| panic!("{name}: the later datagram's flow record"));
    let calls: Vec<&Value> = whole["calls"].as_array().unwrap().iter().collect();
    assert!(
        !calls.is_empty() && calls.iter().all(|c| c["inferred"] == inferred),
        "{name}: the calls to follow"
    );
    let mut open = Vec::new();
    for c in calls {
        let id = &c["call_id"];
        let at = records
            .iter()
            .position(|r| r["type"] == "call" && &r["call_id"] == id)
            .unwrap_or_else(|| panic!("{name}: a record for call {id}"));
        assert!(at < later, "{name}: call {id} written at the end");
        let mut streamed = records[at].clone();
        let o = streamed.as_object_mut().unwrap();
        o.remove("type");
        let flows_open = o.remove("flows_open");
        assert_eq!(&streamed, c, "{name}: call {id}");
        open.push(
            flows_open
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(Value::as_u64)
                .collect(),
        );
    }
    let summary = records.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(
        summary["calls"].as_u64(),
        Some(whole["calls"].as_array().unwrap().len() as u64),
        "{name}: calls in the summary"
    );
    open
}

#[test]
fn a_sip_call_is_written_a_minute_after_its_bye() {
    // (capture, whether its calls have media flows)
    for (name, media) in [
        ("baresip__sip-udp-rtcp.pcap", true),
        ("heplify__sip_ipv4_tcp.pcap", true),
        ("heplify__erspan_sip_ipv4_udp.pcapng", false),
    ] {
        // Two minutes on: the media flows (900 s idle timeout) are still
        // open when the call's record is written, and say so.
        let open = calls_written_before_the_end(name, 120, false);
        assert!(
            open.iter().all(|o| o.is_empty() != media),
            "{name}: {open:?}"
        );
    }
}

#[test]
fn an_inferred_call_is_written_once_its_flows_settle() {
    for name in [
        "ndpi__teams.pcap",
        "ndpi__wa_voice.pcap",
        "ndpi__telegram_videocall.pcapng",
        "sipp__g711a.pcap",
    ] {
        // Past the idle timeout (900 s) and the settling time (600 s).
        let open = calls_written_before_the_end(name, 1_600, true);
        assert!(open.iter().all(Vec::is_empty), "{name}: {open:?}");
    }
}

/// A call whose BYE came less than a minute before the capture ended is
/// written at the end, as before, and says nothing of open flows.
#[test]
fn a_call_that_just_ended_waits_for_the_end() {
    let (records, _) = streamed_and_whole("baresip__sip-udp-rtcp.pcap", 30);
    let later = records
        .iter()
        .position(|r| r["type"] == "flow" && r["src"]["ip"] == "192.0.2.200")
        .unwrap();
    let call = records.iter().position(|r| r["type"] == "call").unwrap();
    assert!(call > later, "the call was written before the end");
    assert!(records[call].get("flows_open").is_none());
}

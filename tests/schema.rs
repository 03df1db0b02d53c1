//! Every fixture's report, and every line of its NDJSON, is valid against
//! the committed JSON Schema (`docs/report.schema.json`, generated from the
//! report types by a unit test).

mod common;

use common::*;
use serde_json::{json, Value};

fn schema() -> Value {
    read_json(&root().join("docs").join("report.schema.json"))
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .take(5)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn every_fixture_report_and_record_is_valid() {
    let doc = schema();
    let report = jsonschema::validator_for(&doc).expect("a valid schema");
    let record = validator_for_def(&doc, "NdjsonRecord");
    let mut bad = Vec::new();
    let mut records = 0;
    for f in all_fixtures() {
        let f = f.to_str().unwrap();
        let v: Value = serde_json::from_slice(&run_ok(&["read", f, "--format", "json"])).unwrap();
        let e = errors(&report, &v);
        if !e.is_empty() {
            bad.push(format!("{f} json: {e:?}"));
        }
        // Every flow, and heartbeats; the JSON above has `other_flows`.
        let nd = run_ok(&[
            "read",
            f,
            "--format",
            "ndjson",
            "--all-flows",
            "--interval",
            "1",
        ]);
        for line in String::from_utf8(nd).unwrap().lines() {
            records += 1;
            let r: Value = serde_json::from_str(line).unwrap();
            let e = errors(&record, &r);
            if !e.is_empty() {
                bad.push(format!("{f} ndjson {}: {e:?}", r["type"]));
            }
        }
    }
    assert!(records > 1000, "{records} records");
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn the_schema_rejects_what_the_contract_does_not_allow() {
    let doc = schema();
    let report = jsonschema::validator_for(&doc).unwrap();
    let f = fixture("sipp__g711a.pcap");
    let mut v: Value =
        serde_json::from_slice(&run_ok(&["read", f.to_str().unwrap(), "--format", "json"]))
            .unwrap();
    assert!(report.is_valid(&v));
    v["flows"][0]["packets"] = json!("many");
    assert!(!report.is_valid(&v));
    v["flows"][0]["packets"] = json!(3);
    v["calls"][0].as_object_mut().unwrap().remove("verdict");
    assert!(!report.is_valid(&v));
    let record = validator_for_def(&doc, "NdjsonRecord");
    assert!(!record.is_valid(&json!({ "type": "flow", "id": 1 })));
    assert!(!record.is_valid(&json!({ "type": "nothing" })));
}

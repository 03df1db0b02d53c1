//! The report's JSON Schema (`docs/report.schema.json`, draft 2020-12),
//! generated from the report types so that it cannot drift from them: the
//! test here fails when the committed file differs from what the types
//! say, and `VCSCOPE_BLESS=1` rewrites it. `tests/schema.rs` validates every
//! fixture's report and NDJSON records against the committed file.

use serde_json::{json, Value};

use super::types::{
    CallOut, CallQualityOut, FlowOut, IntervalOut, LeakOut, OutputGapOut, RelayOut, Report,
    SummaryOut,
};

/// Each NDJSON record: its `type` and the type whose fields follow it.
const RECORDS: [(&str, &str); 8] = [
    ("flow", "FlowOut"),
    ("call", "CallOut"),
    ("relay", "RelayOut"),
    ("leak", "LeakOut"),
    ("call_quality", "CallQualityOut"),
    ("interval", "IntervalOut"),
    ("output_gap", "OutputGapOut"),
    ("summary", "SummaryOut"),
];

fn schema() -> Value {
    let mut g = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    // Registered before the root so that their definitions are included.
    let _ = g.subschema_for::<FlowOut>();
    let _ = g.subschema_for::<CallOut>();
    let _ = g.subschema_for::<RelayOut>();
    let _ = g.subschema_for::<LeakOut>();
    let _ = g.subschema_for::<CallQualityOut>();
    let _ = g.subschema_for::<IntervalOut>();
    let _ = g.subschema_for::<OutputGapOut>();
    let _ = g.subschema_for::<SummaryOut>();
    let mut root: Value = g.root_schema_for::<Report>().into();
    let obj = root.as_object_mut().expect("an object schema");
    obj.insert(
        "$id".into(),
        "https://vcscope.invalid/report.schema.json".into(),
    );
    obj.insert("title".into(), "vcscope report (--format json)".into());
    obj.insert(
        "description".into(),
        "The whole report. Each line of --format ndjson is a $defs/NdjsonRecord. \
         Names kept for compatibility: flows[].id is the flow_id other records use; \
         calls[].encrypted is a word (yes, no, keys-exposed, unknown) while \
         signalling.encrypted and rtp_streams[].encrypted are booleans."
            .into(),
    );
    let defs = obj
        .get_mut("$defs")
        .and_then(Value::as_object_mut)
        .expect("definitions");
    let one_of: Vec<Value> = RECORDS
        .iter()
        .map(|(kind, def)| {
            json!({
                "allOf": [
                    { "$ref": format!("#/$defs/{def}") },
                    {
                        "properties": {
                            "type": { "const": kind },
                            "sensor": {
                                "type": "string",
                                "description": "The sensor's name (--sensor), when given."
                            }
                        },
                        "required": ["type"]
                    }
                ]
            })
        })
        .collect();
    defs.insert(
        "NdjsonRecord".into(),
        json!({
            "description": "One line of --format ndjson: a \"type\", the \"sensor\" when named, then the fields of that record.",
            "oneOf": one_of
        }),
    );
    root
}

#[test]
fn committed_schema_matches_the_report_types() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.schema.json");
    let mut want = serde_json::to_string_pretty(&schema()).unwrap();
    want.push('\n');
    if std::env::var_os("VCSCOPE_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/report.schema.json is not what the report types say; \
         VCSCOPE_BLESS=1 cargo test --lib report::schema rewrites it (review the diff)"
    );
}

//! Golden reports: the whole JSON report of every capture of `fixtures/pcap`
//! is compared with `tests/golden/<capture>.json`. A difference fails with a
//! summary, calls first; `VCSCOPE_BLESS=1 cargo test --test golden`
//! (`scripts/bless.sh`) rewrites the files and prints the same summary.

mod common;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use common::*;
use serde_json::Value;

const BLESS: &str = "VCSCOPE_BLESS=1 cargo test --test golden (or scripts/bless.sh)";

/// Important changes listed per capture, and examples of the others.
const SHOW_IMPORTANT: usize = 12;
const SHOW_OTHER: usize = 5;

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// The report as its golden file holds it: one thread, no reverse DNS,
/// without the version of the binary; pretty, in the report's key order.
fn report(capture: &Path) -> Result<String, String> {
    report_with(capture, &["--all-flows"])
}

/// [`report`] with these options instead of `--all-flows`.
fn report_with(capture: &Path, extra: &[&str]) -> Result<String, String> {
    let out = Command::new(bin())
        .args([
            "read",
            "--format",
            "json",
            "--threads",
            "1",
            "--no-progress",
        ])
        .args(extra)
        .arg(capture)
        .output()
        .map_err(|e| format!("cannot run vcscope: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("vcscope exited with {}: {err}", out.status));
    }
    let mut v: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("report is not JSON: {e}"))?;
    let obj = v.as_object_mut().ok_or("the report is not a JSON object")?;
    obj.shift_remove("vcscope_version");
    Ok(serde_json::to_string_pretty(&v).unwrap() + "\n")
}

/// The reports of all captures, in their order, over a few threads.
fn reports(captures: &[PathBuf]) -> Vec<Result<String, String>> {
    let next = AtomicUsize::new(0);
    let done = Mutex::new(vec![None; captures.len()]);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(capture) = captures.get(i) else {
                    break;
                };
                let r = report(capture);
                done.lock().unwrap()[i] = Some(r);
            });
        }
    });
    done.into_inner()
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

/// Rank (see `rank`), path, golden value, new value (`None`: absent).
type Change<'a> = (u8, String, Option<&'a Value>, Option<&'a Value>);

fn endpoint(v: &Value) -> String {
    match v["ip"].as_str() {
        Some(ip) if ip.contains(':') => format!("[{ip}]:{}", v["port"]),
        Some(ip) => format!("{ip}:{}", v["port"]),
        None => v.to_string(),
    }
}

/// How the elements of the top-level arrays are matched between the golden
/// report and the new one, so that one added flow is one change.
fn key(array: &str, v: &Value) -> Option<String> {
    let s = |k: &str| v[k].as_str().unwrap_or("?").to_string();
    Some(match array {
        "calls" => s("call_id"),
        "flows" => format!(
            "{} {}>{}",
            s("transport"),
            endpoint(&v["src"]),
            endpoint(&v["dst"])
        ),
        "relays" => format!("{} {}", s("transport"), endpoint(v)),
        "leaks" => format!("{} {}>{}", s("where"), s("address"), s("exposed_to")),
        _ => return None,
    })
}

fn keyed<'a>(array: &str, items: &'a [Value]) -> Option<Vec<(String, &'a Value)>> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for v in items {
        let k = key(array, v)?;
        let n = seen.entry(k.clone()).or_default();
        *n += 1;
        out.push((if *n == 1 { k } else { format!("{k} #{n}") }, v));
    }
    Some(out)
}

fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

/// Structural difference: the path and both values of every changed leaf
/// (arrays of plain values count as one leaf); `names` are the object keys
/// on the path.
fn diff<'a>(
    path: &str,
    names: &[&'a str],
    old: Option<&'a Value>,
    new: Option<&'a Value>,
    out: &mut Vec<Change<'a>>,
) {
    let plain = |a: &[Value]| a.iter().all(|v| !v.is_array() && !v.is_object());
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            for (k, v) in a {
                let names = [names, &[k.as_str()]].concat();
                diff(&join(path, k), &names, Some(v), b.get(k), out);
            }
            for (k, v) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                let names = [names, &[k.as_str()]].concat();
                diff(&join(path, k), &names, None, Some(v), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if !(plain(a) && plain(b)) => {
            if let (Some(ka), Some(kb)) = (keyed(path, a), keyed(path, b)) {
                let find = |ks: &[(String, &'a Value)], k: &str| {
                    ks.iter().find(|(x, _)| x == k).map(|(_, v)| *v)
                };
                for (k, v) in &ka {
                    diff(&format!("{path}[{k}]"), names, Some(v), find(&kb, k), out);
                }
                for (k, v) in kb.iter().filter(|(k, _)| find(&ka, k).is_none()) {
                    diff(&format!("{path}[{k}]"), names, None, Some(v), out);
                }
            } else {
                for i in 0..a.len().max(b.len()) {
                    diff(&format!("{path}[{i}]"), names, a.get(i), b.get(i), out);
                }
            }
        }
        (a, b) if a != b => out.push((rank(names), path.to_string(), a, b)),
        _ => {}
    }
}

/// 0 a call's verdict, encryption, app, relay or leak fields (or a whole
/// call), 1 relays, 2 leaks, 3 a flow's app, encryption or protocols (or a
/// whole flow), 4 anything else; by the field names on the path.
fn rank(names: &[&str]) -> u8 {
    const CALL: &[&str] = &[
        "verdict",
        "encrypted",
        "encryption",
        "encryption_ends",
        "app",
        "key_exchange",
        "keys_exposed",
        "signalling",
        "endpoints",
        "findings",
    ];
    const FLOW: &[&str] = &["app", "encryption", "protocols"];
    match names {
        ["calls", fields @ ..] if fields.is_empty() || fields.iter().any(|f| CALL.contains(f)) => 0,
        ["relays", ..] => 1,
        ["leaks", ..] => 2,
        ["flows"] => 3,
        ["flows", f, ..] if FLOW.contains(f) => 3,
        _ => 4,
    }
}

/// A value on one line: strings (verdicts) whole, a whole call by its
/// verdict, other objects and arrays cut short.
fn show(v: Option<&Value>) -> String {
    let s = match v {
        None => return "(absent)".into(),
        Some(v @ Value::String(_)) => return v.to_string(),
        Some(v) if v.get("verdict").is_some() => format!("call: {}", v["verdict"]),
        Some(v) => v.to_string(),
    };
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

/// What changed from the golden report to the new one, most important first.
fn summary(old: &str, new: &str) -> String {
    let old: Value = match serde_json::from_str(old) {
        Ok(v) => v,
        Err(e) => return format!("  the golden file is not JSON: {e}\n"),
    };
    let new: Value = serde_json::from_str(new).unwrap();
    let mut changes = Vec::new();
    diff("", &[], Some(&old), Some(&new), &mut changes);
    if changes.is_empty() {
        return "  same values, other formatting or key order\n".into();
    }
    changes.sort_by_key(|c| c.0); // stable: report order within a rank
    let line = |(_, p, a, b): &Change| format!("{p}: {} -> {}\n", show(*a), show(*b));
    let important = changes.iter().take_while(|c| c.0 < 4).count();
    let mut s = String::new();
    for c in changes.iter().take(important.min(SHOW_IMPORTANT)) {
        s += &format!("  {}", line(c));
    }
    if important > SHOW_IMPORTANT {
        s += &format!("  ... and {} more of these\n", important - SHOW_IMPORTANT);
    }
    let others = &changes[important..];
    if !others.is_empty() {
        s += &format!("  {} other fields changed, e.g.\n", others.len());
        for c in others.iter().take(SHOW_OTHER) {
            s += &format!("    {}", line(c));
        }
    }
    s
}

#[test]
fn every_capture_reports_its_golden_report() {
    let bless = std::env::var("VCSCOPE_BLESS").is_ok_and(|v| !v.is_empty() && v != "0");
    let dir = root().join("tests").join("golden");
    let captures = all_fixtures();
    assert!(captures.len() >= 70, "only {} captures", captures.len());
    let (mut notes, mut errors) = (Vec::new(), Vec::new());
    for (capture, report) in captures.iter().zip(reports(&captures)) {
        let name = name(capture);
        let golden = dir.join(format!("{name}.json"));
        let new = match report {
            Ok(new) => new,
            Err(e) => {
                errors.push(format!("{name}: {e}\n"));
                continue;
            }
        };
        let old = std::fs::read_to_string(&golden).ok();
        if old.as_deref() == Some(new.as_str()) {
            continue;
        }
        notes.push(match old {
            None => format!("{name}: no golden report tests/golden/{name}.json\n"),
            Some(old) => format!("{name}:\n{}", summary(&old, &new)),
        });
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&golden, new).unwrap();
        }
    }
    let names: Vec<String> = captures
        .iter()
        .map(|c| format!("{}.json", name(c)))
        .collect();
    let mut goldens: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    goldens.sort();
    for g in goldens
        .iter()
        .filter(|g| g.extension().is_some_and(|e| e == "json"))
    {
        if !names.contains(&name(g)) {
            notes.push(format!(
                "{}: a golden report with no capture in fixtures/pcap\n",
                name(g)
            ));
            if bless {
                std::fs::remove_file(g).unwrap();
            }
        }
    }
    if bless {
        // Straight to stderr, past the test harness's capture, for the reviewer.
        let mut err = std::io::stderr().lock();
        writeln!(
            err,
            "\nblessed {} golden reports; {} changed (golden -> now):",
            captures.len(),
            notes.len()
        )
        .unwrap();
        for n in &notes {
            write!(err, "{n}").unwrap();
        }
    }
    assert!(errors.is_empty(), "vcscope failed:\n{}", errors.join(""));
    if bless {
        return;
    }
    assert!(
        notes.is_empty(),
        "{} of {} golden reports differ (golden -> now); if the change is intended, bless \
         with {BLESS} and review the diff:\n\n{}",
        notes.len(),
        captures.len(),
        notes.join("")
    );
}

/// The default report (without `--all-flows`) is the golden report with the
/// flows that have nothing of a call (no videoconferencing protocol, app,
/// call, relay or leak) left out and counted in `other_flows`.
#[test]
fn default_report_leaves_out_only_flows_with_nothing_of_a_call() {
    let dir = root().join("tests").join("golden");
    let mut left_out = 0;
    for capture in all_fixtures() {
        let name = name(&capture);
        let golden: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        let new: Value = serde_json::from_str(&report_with(&capture, &[]).unwrap()).unwrap();
        let ids = |list: &str, field: &str| -> Vec<u64> {
            golden[list]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|x| match &x[field] {
                    Value::Array(a) => a.iter().filter_map(Value::as_u64).collect::<Vec<_>>(),
                    v => v.as_u64().into_iter().collect::<Vec<_>>(),
                })
                .collect()
        };
        let (relayed, leaked) = (ids("relays", "flow_ids"), ids("leaks", "flow_id"));
        let kept = |f: &&Value| {
            let id = f["id"].as_u64().unwrap();
            something_of_a_call(f) || relayed.contains(&id) || leaked.contains(&id)
        };
        let all = golden["flows"].as_array().unwrap();
        let want: Vec<&Value> = all.iter().filter(kept).collect();
        let got: Vec<&Value> = new["flows"].as_array().unwrap().iter().collect();
        assert_eq!(got, want, "{name}: the flows listed by default");
        let others: Vec<&Value> = all.iter().filter(|f| !kept(f)).collect();
        let o = &new["other_flows"];
        assert_eq!(o["flows"].as_u64(), Some(others.len() as u64), "{name}");
        let sum = |k: &str| others.iter().map(|f| f[k].as_u64().unwrap()).sum::<u64>();
        assert_eq!(o["packets"].as_u64(), Some(sum("packets")), "{name}");
        assert_eq!(o["bytes"].as_u64(), Some(sum("bytes")), "{name}");
        left_out += others.len();
        for (k, v) in golden.as_object().unwrap() {
            if k != "flows" {
                assert_eq!(Some(v), new.get(k), "{name}: {k}");
            }
        }
    }
    assert!(left_out > 0, "no fixture has a flow to leave out");
}

/// Streaming NDJSON writes flows as they end and lets most go; the calls,
/// relays and leaks are still those of a report written at the end (a JSON
/// report, its lists as records). A short idle timeout makes flows end
/// inside the captures. A call ended a minute before the capture did is
/// written when it ends, not at the end: the records are compared as sets,
/// not in their order.
#[test]
fn streamed_calls_match_a_report_written_at_the_end() {
    let run = |capture: &Path, format: &str| -> Vec<u8> {
        let out = Command::new(bin())
            .args(["read", "--format", format, "--no-progress"])
            .args(["--idle-timeout", "2", "--all-flows"])
            .arg(capture)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", capture.display());
        out.stdout
    };
    let canonical = |kind: &str, v: &Value| format!("{kind} {v}");
    for capture in all_fixtures() {
        let mut streamed = std::collections::BTreeSet::new();
        for line in String::from_utf8(run(&capture, "ndjson")).unwrap().lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            let kind = v["type"].as_str().unwrap().to_string();
            if kind == "flow" || kind == "summary" {
                continue;
            }
            // The record without its tag, its fields in their order.
            let fields: serde_json::Map<String, Value> = v
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| *k != "type")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            streamed.insert(canonical(&kind, &Value::Object(fields)));
        }
        let report: Value = serde_json::from_slice(&run(&capture, "json")).unwrap();
        let mut whole = std::collections::BTreeSet::new();
        for (list, kind) in [
            ("calls", "call"),
            ("relays", "relay"),
            ("leaks", "leak"),
            ("call_quality", "call_quality"),
        ] {
            for v in report[list].as_array().unwrap() {
                whole.insert(canonical(kind, v));
            }
        }
        assert_eq!(streamed, whole, "{}", name(&capture));
    }
}

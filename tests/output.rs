//! A sensor's output over a long run: files named by a time pattern and
//! rotated by time or size hold together the records of one run; SIGHUP
//! reopens the file at its path (logrotate's `create` mode); a removed
//! directory and a full disk lose records counted, never silently, and
//! writing resumes when it can.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// The options every run here shares: NDJSON, every flow listed, flows
/// ending after 1 s of packet time so that records come as the input goes.
const STREAM: [&str; 5] = ["--format", "ndjson", "--all-flows", "--idle-timeout", "1"];

fn lines_of(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

fn records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// The lines one run writes to standard output.
fn one_run(input: &[u8], extra: &[&str]) -> Vec<String> {
    let mut child = Command::new(bin())
        .args(["read", "-"])
        .args(STREAM)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run vcscope");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    lines_of(&String::from_utf8(o.stdout).unwrap())
}

/// One one-packet UDP flow per second of packet time, from port
/// `first`, `n` of them: a pcap's records without its header.
fn flows(first: u16, n: u16) -> Vec<u8> {
    let frames: Vec<(u64, Vec<u8>)> = (0..n)
        .map(|i| {
            let port = first + i;
            let f = udp_frame([10, 0, 0, 1], [192, 0, 2, 9], port, 9, b"x");
            (u64::from(port) * 1_000_000, f)
        })
        .collect();
    pcap_at(&frames)[24..].to_vec()
}

/// The source ports of the flow records (one flow a port here).
fn flow_ports(rs: &[serde_json::Value]) -> Vec<u64> {
    rs.iter()
        .filter(|r| r["type"] == "flow")
        .filter_map(|r| r["src"]["port"].as_u64())
        .collect()
}

fn header() -> Vec<u8> {
    pcap_at(&[])
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn rotated_files_hold_one_runs_records() {
    let f = fixture("ndpi__teams.pcap");
    let f = f.to_str().unwrap();
    let whole = |extra: &[&str]| -> Vec<String> {
        let o = Command::new(bin())
            .args(["read", f, "-q"])
            .args(STREAM)
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success());
        lines_of(&String::from_utf8(o.stdout).unwrap())
    };
    let want = sorted(whole(&[]));
    assert!(want.len() > 50, "{} records", want.len());

    // By size: no file beyond 20 KiB (records are far smaller), several files.
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("vc-%Y%m%d.ndjson");
    whole(&["-o", pattern.to_str().unwrap(), "--rotate", "20K"]);
    let files = files_in(dir.path());
    assert!(files.len() >= 3, "{files:?}");
    // The capture is of 2020-04-16; later files of the day are numbered.
    for name in [
        "vc-20200416.ndjson",
        "vc-20200416.1.ndjson",
        "vc-20200416.2.ndjson",
    ] {
        assert!(files.iter().any(|p| p.ends_with(name)), "{name}: {files:?}");
    }
    let mut got = Vec::new();
    for p in &files {
        let text = std::fs::read_to_string(p).unwrap();
        assert!(
            text.len() <= 20 << 10,
            "{}: {} bytes",
            p.display(),
            text.len()
        );
        got.extend(lines_of(&text));
    }
    assert_eq!(sorted(got), want, "records of the size-rotated files");

    // By time: the capture spans 26 s of packet time, a file per 10 s,
    // named by the start of its period (a field is added to a name without).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vc.ndjson");
    whole(&["-o", path.to_str().unwrap(), "--rotate", "10"]);
    let files = files_in(dir.path());
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "vc-20200416T125430.ndjson",
            "vc-20200416T125440.ndjson",
            "vc-20200416T125450.ndjson"
        ]
    );
    let got: Vec<String> = files
        .iter()
        .flat_map(|p| lines_of(&std::fs::read_to_string(p).unwrap()))
        .collect();
    assert_eq!(sorted(got), want, "records of the time-rotated files");
    // Each record lies in its file's period (the summary comes at the end).
    for (p, start) in files
        .iter()
        .zip([1_587_041_670.0, 1_587_041_680.0, 1_587_041_690.0])
    {
        for r in records(p) {
            if let Some(t) = r["last_ts"].as_f64() {
                assert!(t < start + 10.0 + 1.0, "{}: {r}", p.display());
            }
        }
    }
}

#[test]
fn rotation_and_patterns_are_refused_where_nothing_streams() {
    let f = fixture("ndpi__teams.pcap");
    let f = f.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    for args in [
        vec!["read", f, "-o", json.to_str().unwrap(), "--rotate", "60"],
        vec!["read", f, "--format", "ndjson", "--rotate", "60"],
        vec!["read", f, "-o", "%Y.json"],
        vec!["read", f, "--format", "ndjson", "-o", "vc-%Q.ndjson"],
    ] {
        let o = Command::new(bin()).args(&args).output().unwrap();
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert_eq!(e.lines().count(), 1, "{args:?}: {e}");
    }
}

/// `vcscope read -` on a pipe the test feeds part by part.
struct Feed {
    child: Child,
}

impl Feed {
    fn start(out: &Path, extra: &[&str]) -> Feed {
        let child = Command::new(bin())
            .args(["read", "-"])
            .args(STREAM)
            .args(["-o", out.to_str().unwrap()])
            .args(extra)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run vcscope");
        Feed { child }
    }

    fn send(&mut self, bytes: &[u8]) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// Ends the input; returns standard error.
    fn end(mut self) -> String {
        drop(self.child.stdin.take());
        let o = self.child.wait_with_output().unwrap();
        let e = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{e}");
        e
    }
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while !ok() {
        assert!(t.elapsed() < Duration::from_secs(20), "waited for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sighup_reopens_the_file_at_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("vc.ndjson");
    let moved = dir.path().join("vc.ndjson.1");
    let (a, b) = (flows(1000, 30), flows(2000, 30));
    let mut feed = Feed::start(&out, &["--interval", "1"]);
    feed.send(&header());
    feed.send(&a);
    // Records are written as the heartbeats come.
    wait_for("the first records", || {
        std::fs::read_to_string(&out).is_ok_and(|t| t.lines().count() >= 20)
    });
    // logrotate's `create`: rename, then SIGHUP.
    std::fs::rename(&out, &moved).unwrap();
    let pid = feed.child.id().to_string();
    // The shell's own `kill`: no procps needed.
    let k = Command::new("sh")
        .args(["-c", &format!("kill -HUP {pid}")])
        .status();
    assert!(k.is_ok_and(|s| s.success()), "kill -HUP");
    std::thread::sleep(Duration::from_millis(300));
    feed.send(&b);
    feed.end();
    let old = records(&moved);
    let new = records(&out);
    let (po, pn) = (flow_ports(&old), flow_ports(&new));
    assert!(po.iter().all(|&p| p < 2000), "{po:?}");
    assert!(pn.iter().filter(|&&p| p >= 2000).count() >= 29, "{pn:?}");
    assert_eq!(new.last().unwrap()["type"], "summary");
    // Together, every record of one run, once.
    let mut input = header();
    input.extend_from_slice(&a);
    input.extend_from_slice(&b);
    let want = sorted(one_run(&input, &["--interval", "1"]));
    let got: Vec<String> = [&moved, &out]
        .iter()
        .flat_map(|p| lines_of(&std::fs::read_to_string(p).unwrap()))
        .collect();
    assert_eq!(sorted(got), want);
}

/// Records lost: the `output_gap` records' counts, and the summary's
/// `records-lost` and `output-errors` warnings.
fn losses(rs: &[serde_json::Value]) -> (u64, u64, u64, u64) {
    let gap = |k: &str| -> u64 {
        rs.iter()
            .filter(|r| r["type"] == "output_gap")
            .map(|r| r[k].as_u64().unwrap())
            .sum()
    };
    let summary = rs
        .last()
        .filter(|r| r["type"] == "summary")
        .expect("a summary");
    let warn = |k: &str| -> u64 {
        summary["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["kind"] == k)
            .map_or(0, |w| w["count"].as_u64().unwrap())
    };
    (
        gap("records_lost"),
        gap("output_errors"),
        warn("records-lost"),
        warn("output-errors"),
    )
}

#[test]
fn a_removed_directory_loses_records_counted_and_writing_resumes() {
    let top = tempfile::tempdir().unwrap();
    let dir = top.path().join("spool");
    std::fs::create_dir(&dir).unwrap();
    let out = dir.join("vc.ndjson");
    let mut feed = Feed::start(&out, &["--interval", "1"]);
    feed.send(&header());
    feed.send(&flows(1000, 10));
    wait_for("the first records", || {
        std::fs::read_to_string(&out).is_ok_and(|t| t.lines().count() >= 5)
    });
    std::fs::remove_dir_all(&dir).unwrap();
    // The path is looked at again at most once a second.
    std::thread::sleep(Duration::from_millis(1300));
    feed.send(&flows(1010, 10));
    std::thread::sleep(Duration::from_millis(300));
    std::fs::create_dir(&dir).unwrap();
    std::thread::sleep(Duration::from_millis(1300));
    feed.send(&flows(1020, 10));
    let err = feed.end();
    let rs = records(&out);
    let (lost, errors, lost_sum, errors_sum) = losses(&rs);
    assert!(lost > 0 && errors > 0, "{rs:?}");
    assert_eq!((lost_sum, errors_sum), (lost, errors));
    // The first record of the new file says what was lost.
    assert_eq!(rs[0]["type"], "output_gap", "{}", rs[0]);
    let doc = read_json(&root().join("docs").join("report.schema.json"));
    let valid = validator_for_def(&doc, "NdjsonRecord");
    for r in &rs {
        assert!(valid.is_valid(r), "not valid against the schema: {r}");
    }
    let ports = flow_ports(&rs);
    assert!((1021..1030).all(|p| ports.contains(&p)), "{ports:?}");
    said_once(&err);
}

/// The output's trouble is said on standard error once, however often.
fn said_once(err: &str) {
    let said = err
        .lines()
        .filter(|l| l.contains("cannot write records"))
        .count();
    assert_eq!(said, 1, "{err}");
}

#[test]
fn a_full_disk_loses_records_counted_and_writing_resumes() {
    let work = tempfile::tempdir().unwrap();
    let mnt = work.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let (p1, p2) = (work.path().join("p1"), work.path().join("p2"));
    let mut first = header();
    first.extend_from_slice(&flows(1000, 40));
    std::fs::write(&p1, &first).unwrap();
    std::fs::write(&p2, flows(1040, 40)).unwrap();
    let saved = work.path().join("saved.ndjson");
    // A 256 KiB tmpfs filled up; the first part's records find it full, the
    // filler goes, the second part's are written.
    let script = r#"
        mount -t tmpfs -o size=256k tmpfs "$MNT" || exit 77
        dd if=/dev/zero of="$MNT/filler" bs=4k 2>/dev/null
        { cat "$P1"; sleep 1.5; rm -f "$MNT/filler"; sleep 1.2; cat "$P2"; } |
            "$BIN" read - --format ndjson --all-flows --idle-timeout 1 --interval 1 \
                -o "$MNT/vc.ndjson"
        code=$?
        cp "$MNT/vc.ndjson" "$SAVED"
        exit $code
    "#;
    let bin = bin();
    let Some(o) = in_mount_namespace(
        script,
        &[
            ("MNT", &mnt),
            ("P1", &p1),
            ("P2", &p2),
            ("BIN", &bin),
            ("SAVED", &saved),
        ],
    ) else {
        return;
    };
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let rs = records(&saved);
    let (lost, errors, lost_sum, errors_sum) = losses(&rs);
    assert!(lost > 0 && errors > 0, "{rs:?}");
    assert_eq!((lost_sum, errors_sum), (lost, errors));
    // Every record of one run is written or counted lost.
    let mut input = first.clone();
    input.extend_from_slice(&flows(1040, 40));
    let want = one_run(&input, &["--interval", "1"]);
    let written = rs.iter().filter(|r| r["type"] != "output_gap").count() as u64;
    assert_eq!(written + lost, want.len() as u64, "{rs:?}");
    let ports = flow_ports(&rs);
    assert!((1041..1079).all(|p| ports.contains(&p)), "{ports:?}");
    // Said at once, one line, then counted in the end's warnings.
    said_once(&err);
    assert!(
        err.contains(&format!("(records-lost, {lost} times)")),
        "{err}"
    );
}

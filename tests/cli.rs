//! The command line: exit codes and one-line messages for every bad input,
//! and the output formats.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::*;

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("run vcscope")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit 2 and exactly one line on stderr that contains `needle`.
fn assert_error(o: &Output, needle: &str) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {e}");
    assert_eq!(e.lines().count(), 1, "one line expected: {e}");
    assert!(e.contains(needle), "{needle:?} not in {e:?}");
}

/// A classic pcap header for `linktype`, then the given records.
fn pcap_bytes(linktype: u32, records: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&65535u32.to_le_bytes());
    v.extend_from_slice(&linktype.to_le_bytes());
    for (i, r) in records.iter().enumerate() {
        v.extend_from_slice(&(1_600_000_000u32 + i as u32).to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&(r.len() as u32).to_le_bytes());
        v.extend_from_slice(&(r.len() as u32).to_le_bytes());
        v.extend_from_slice(r);
    }
    v
}

fn write_tmp(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(o)))
}

#[test]
fn rejects_missing_file() {
    let o = run(&["read", "no/such/capture.pcap"]);
    assert_error(&o, "cannot read no/such/capture.pcap: no such file");
}

#[test]
fn rejects_a_file_that_is_not_a_capture() {
    let readme = root().join("Cargo.toml");
    let o = run(&["read", readme.to_str().unwrap()]);
    assert_error(&o, "not a pcap or pcapng capture");
    let dir = tempfile::tempdir().unwrap();
    let empty = write_tmp(dir.path(), "empty.pcap", b"");
    assert_error(&run(&["read", &empty]), "not a capture file (only 0 bytes");
    assert_error(
        &run(&["read", dir.path().to_str().unwrap()]),
        "is a directory",
    );
}

#[test]
fn rejects_unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read(fixture("sipp__g711a.pcap")).unwrap();
    let p = write_tmp(dir.path(), "secret.pcap", &src);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    let o = if is_root() {
        as_nobody(&["read", &p])
    } else {
        run(&["read", &p])
    };
    assert_error(&o, "permission denied");
}

#[test]
fn rejects_unsupported_link_type() {
    let dir = tempfile::tempdir().unwrap();
    // LINKTYPE_IEEE802_11 = 105
    let p = write_tmp(dir.path(), "wifi.pcap", &pcap_bytes(105, &[&[0u8; 40]]));
    assert_error(&run(&["read", &p]), "unsupported link type 105");
}

#[test]
fn truncated_last_record_is_a_warning_and_keeps_the_rest() {
    let full = std::fs::read(fixture("sipp__g711a.pcap")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = write_tmp(dir.path(), "cut.pcap", &full[..full.len() - 100]);
    let o = run(&["read", &p, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["source"]["packets"], 235);
    let w = v["warnings"].as_array().unwrap();
    assert!(w.iter().any(|w| w["kind"] == "capture-truncated"), "{w:?}");
    // --strict turns warnings into exit code 1.
    let o = run(&["read", &p, "--format", "json", "--strict"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn corrupt_record_names_file_and_offset_and_keeps_what_was_read() {
    let frame = [0u8; 60];
    let mut bytes = pcap_bytes(1, &[&frame, &frame, &frame]);
    // Second record's captured length: 0x7fffffff (bigger than the snaplen).
    let off = 24 + 16 + 60;
    bytes[off + 8..off + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let p = write_tmp(dir.path(), "corrupt.pcap", &bytes);
    let o = run(&["read", &p, "--format", "json"]);
    assert_error(&o, &format!("{p}: corrupt record 2 at byte offset {off}"));
    assert_eq!(json(&o)["source"]["packets"], 1);
}

#[test]
fn rejects_bad_filter_and_bad_options() {
    let f = fixture("sipp__g711a.pcap");
    let f = f.to_str().unwrap();
    assert_error(
        &run(&["read", f, "--filter", "udp and and"]),
        "invalid --filter",
    );
    assert_error(&run(&["read", f, "--threads", "0"]), "--threads 0");
    assert_error(&run(&["read", f, "--threads", "65"]), "--threads 65");
    assert_error(
        &run(&["read", f, "-o", f]),
        "refusing to write the report over an input capture",
    );
    assert_error(
        &run(&["read", f, "-o", "no/such/dir/r.json"]),
        "does not exist",
    );
    let o = run(&["read"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(&["read", f, "--format", "xml"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn rejects_missing_interface() {
    assert_error(
        &run(&["live", "-i", "nosuchif0", "--duration", "1"]),
        "no such interface: nosuchif0",
    );
}

#[test]
fn rejects_live_capture_without_permission() {
    let args = ["live", "-i", "lo", "--duration", "1"];
    let o = if is_root() {
        as_nobody(&args)
    } else {
        run(&args)
    };
    assert_error(&o, "permission denied");
}

#[test]
fn reads_standard_input() {
    let bytes = std::fs::read(fixture("heplify__sip_ipv4_tcp.pcap")).unwrap();
    let mut child = Command::new(bin())
        .args(["read", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["source"]["packets"], 84);
    assert_eq!(v["flows"].as_array().unwrap().len(), 3);
}

/// `-o` naming a pipe (or a device such as /dev/null) writes into it and
/// leaves it what it was; a regular file is replaced whole.
#[test]
fn output_to_a_pipe_writes_into_it_and_replaces_a_regular_file() {
    let f = fixture("heplify__sip_ipv4_tcp.pcap");
    let f = f.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("report.pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let o = run(&["read", f, "--format", "json", "-o", fifo.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Checked before waiting for the reader, which would wait forever on a
    // pipe that was replaced.
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    let text = reader.join().unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["source"]["packets"], 84);

    let out = dir.path().join("r.json");
    std::fs::write(&out, "an older, longer report than the next one, and more").unwrap();
    let o = run(&["read", f, "--format", "json", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = read_json(&out);
    assert_eq!(v["source"]["packets"], 84);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "no temporary file is left: {left:?}");
}

#[test]
fn writes_every_format() {
    let f = fixture("heplify__sip_ipv4_tcp.pcap");
    let f = f.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.ndjson");
    let o = run(&["read", f, "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.last().unwrap()["type"], "summary");
    assert_eq!(lines.iter().filter(|l| l["type"] == "flow").count(), 3);
    assert!(lines
        .iter()
        .all(|l| l.as_object().unwrap().keys().next().unwrap() == "type"));

    let o = run(&["read", f, "--format", "table"]);
    let t = String::from_utf8(o.stdout).unwrap();
    assert!(t.contains("84 packets"), "{t}");
    assert!(t.contains("10.33.6.100:64802"), "{t}");

    let o = run(&["read", f]);
    let v = json(&o); // not a terminal: json by default
    for key in [
        "vcscope_version",
        "source",
        "calls",
        "flows",
        "relays",
        "leaks",
        "warnings",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
}

#[test]
fn help_teaches() {
    let o = run(&["--help"]);
    let h = String::from_utf8(o.stdout).unwrap();
    assert!(h.contains("encrypted") && h.contains("Exit codes"), "{h}");
    let o = run(&["read", "--help"]);
    let h = String::from_utf8(o.stdout).unwrap();
    for opt in [
        "--format",
        "--output",
        "--filter",
        "--resolve",
        "--threads",
        "--strict",
        "--max-flows",
    ] {
        assert!(h.contains(opt), "{opt} missing from read --help");
    }
    let o = run(&["live", "--help"]);
    let h = String::from_utf8(o.stdout).unwrap();
    for opt in ["--interface", "--duration", "--snaplen"] {
        assert!(h.contains(opt), "{opt} missing from live --help");
    }
}

fn is_root() -> bool {
    // SAFETY-free check: /proc/self/status Uid line.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Runs the binary as user nobody (for the permission cases when the tests run as root).
fn as_nobody(args: &[&str]) -> Output {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.path().join("vcscope");
    std::fs::copy(bin(), &exe).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    // Another test's child may still hold the copy open for writing
    // (inherited across its fork until its exec): ETXTBSY, try again.
    for _ in 0..50 {
        let o = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&exe)
            .args(args)
            .current_dir(dir.path())
            .output()
            .expect("setpriv (util-linux) runs the test as nobody");
        if o.status.code() != Some(126) || !stderr(&o).contains("Text file busy") {
            return o;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("{}: still busy", exe.display())
}

#[test]
fn redact_leaves_no_address_uri_or_call_id() {
    let f = fixture("sngrep__aaa.pcap");
    let plain = run(&["read", f.to_str().unwrap(), "--format", "json"]);
    let v = json(&plain);
    // What must disappear: every address, SIP URI user and Call-ID of the plain report.
    let mut secrets: Vec<String> = Vec::new();
    for fl in v["flows"].as_array().unwrap() {
        secrets.push(fl["src"]["ip"].as_str().unwrap().to_string());
        secrets.push(fl["dst"]["ip"].as_str().unwrap().to_string());
    }
    for c in v["calls"].as_array().unwrap() {
        secrets.push(c["call_id"].as_str().unwrap().to_string());
        for k in ["from", "to"] {
            if let Some(u) = c[k].as_str() {
                secrets.push(u.to_string());
            }
        }
    }
    assert!(secrets.len() > 10);
    for format in ["json", "ndjson", "table"] {
        let o = run(&["read", f.to_str().unwrap(), "--format", format, "--redact"]);
        assert_eq!(o.status.code(), Some(0));
        let text = String::from_utf8(o.stdout).unwrap();
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{format}: {s} survived --redact"
            );
        }
        assert!(text.contains("private-1"), "{format}");
    }
}

/// `vcscope read` on a fixture as JSON.
fn read_report(args: &[&str]) -> serde_json::Value {
    let o = run(args);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    json(&o)
}

#[test]
fn tcpdump_forms_read_files_and_filters() {
    let f = fixture("ndpi__sip.pcap");
    let f = f.to_str().unwrap();
    let plain = read_report(&["read", f, "--format", "json"]);
    assert!(plain["source"].get("filter").is_none());
    // `vcscope -r FILE` is `vcscope read FILE`.
    let r = read_report(&["-r", f, "--format", "json"]);
    assert_eq!(r["source"]["packets"], plain["source"]["packets"]);
    assert_eq!(r["calls"], plain["calls"]);
    // A filter after the files, with or without -r, as tcpdump takes it;
    // --format in any case.
    for args in [
        vec!["read", f, "udp", "port", "5060", "--format", "JSON"],
        vec!["read", "-r", f, "udp", "port", "5060", "--format", "json"],
        vec!["read", f, "-f", "udp port 5060", "--format", "Json"],
    ] {
        let v = read_report(&args);
        assert_eq!(v["source"]["filter"], "udp port 5060", "{args:?}");
        assert_eq!(v["source"]["packets"], 102, "{args:?}");
    }
    assert_error(&run(&["read", f, "udp", "--filter", "tcp"]), "two filters");
    // A misspelt file name is taken as a filter, and the error says so.
    assert_error(&run(&["read", f, "nosuchfile"]), "is 'nosuchfile' a file");
    assert_error(&run(&["read"]), "no capture file given");
}

#[test]
fn count_stops_after_n_packets_across_files() {
    let a = fixture("ndpi__sip.pcap");
    let b = fixture("sipp__g711a.pcap");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let v = read_report(&["read", a, "-c", "10", "--format", "json"]);
    assert_eq!(v["source"]["packets"], 10);
    assert_eq!(v["source"]["packet_limit"], 10);
    // ndpi__sip.pcap has 112 packets: the limit runs on into the next file.
    let v = read_report(&["read", a, b, "-c", "150", "--format", "json"]);
    assert_eq!(v["source"]["packets"], 150);
    // The filter counts first, as tcpdump's -c does.
    let v = read_report(&[
        "read", a, "-c", "5", "udp", "port", "30000", "--format", "json",
    ]);
    assert_eq!(v["source"]["packets"], 5);
    assert!(v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["src"]["port"] == 30000));
}

#[test]
fn quiet_prints_one_verdict_line_per_call_and_no_warnings() {
    let f = fixture("ndpi__sip.pcap");
    let f = f.to_str().unwrap();
    let v = read_report(&["read", f, "--format", "json"]);
    let o = run(&["read", f, "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let calls = v["calls"].as_array().unwrap();
    assert_eq!(out.lines().count(), calls.len(), "{out}");
    for c in calls {
        let line = format!(
            "{}: {}",
            c["call_id"].as_str().unwrap(),
            c["verdict"].as_str().unwrap()
        );
        assert!(out.lines().any(|l| l == line), "{line} not in {out}");
    }
    // A capture cut short: one warning line on stderr in every format and
    // destination, none with -q.
    let full = std::fs::read(fixture("sipp__g711a.pcap")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = write_tmp(dir.path(), "cut.pcap", &full[..full.len() - 100]);
    let out = dir.path().join("r.json");
    for args in [
        vec!["read", &p, "--format", "json"],
        vec!["read", &p, "-o", out.to_str().unwrap()],
        vec!["read", &p, "--format", "ndjson"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(0));
        let e = stderr(&o);
        assert_eq!(e.lines().count(), 1, "{args:?}: {e}");
        assert!(
            e.contains("cut short") && e.contains("capture-truncated"),
            "{e}"
        );
    }
    let o = run(&["read", &p, "-q", "--format", "json"]);
    assert_eq!(stderr(&o), "");
}

#[test]
fn unwritable_output_directory_fails_before_reading() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    // A FIFO that nobody writes: reading it would block for ever.
    let fifo = dir.path().join("never.pcap");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = ro.join("report.json");
    let mut cmd = if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(bin());
        c
    } else {
        Command::new(bin())
    };
    let mut child = cmd
        .args(["read", fifo.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vcscope");
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("vcscope opened the input before checking -o");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut e = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut e).unwrap();
    assert_eq!(status.code(), Some(2), "{e}");
    assert!(e.contains("cannot write in directory"), "{e}");
}

#[test]
fn lists_interfaces_as_tcpdump_d() {
    let o = run(&["-D"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.lines()
            .any(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(".lo")),
        "{out}"
    );
    assert_eq!(
        run(&["--list-interfaces"]).stdout,
        run(&["interfaces"]).stdout
    );
}

/// What `--redact` must remove from one capture's report: every IP literal
/// anywhere in the plain JSON (addresses, SNI, findings, relayed addresses,
/// labels), every Call-ID and SIP URI.
fn secrets_of(plain: &serde_json::Value) -> Vec<String> {
    // Every string of the report but software versions ("Coturn-4.5.0.5",
    // "2.0.1.211"), which read like IPv4 literals and are kept.
    fn strings<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::String(s) => out.push(s),
            serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            serde_json::Value::Object(o) => o
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "software" | "user_agents"))
                .for_each(|(_, x)| strings(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    strings(plain, &mut all);
    let mut s: Vec<String> = all
        .iter()
        .flat_map(|t| vcscope_dissectors::sip::ip_literals(t))
        .map(|ip| ip.to_string())
        .collect();
    for c in plain["calls"].as_array().unwrap() {
        if !c["inferred"].as_bool().unwrap_or(false) {
            s.push(c["call_id"].as_str().unwrap().to_string());
        }
        for k in ["from", "to"] {
            if let Some(u) = c[k].as_str() {
                s.push(u.to_string());
            }
        }
    }
    // Addresses that cannot name anyone.
    s.retain(|x| !matches!(x.as_str(), "0.0.0.0" | "::" | "127.0.0.1" | "::1"));
    s.sort();
    s.dedup();
    s
}

#[test]
fn redact_removes_every_address_of_every_fixture_in_every_format() {
    let all = all_fixtures();
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|sc| {
        for part in all.chunks(all.len().div_ceil(4)) {
            let failures = &failures;
            sc.spawn(move || {
                for f in part {
                    let f = f.to_str().unwrap();
                    let plain = json(&run(&["read", f, "--format", "json"]));
                    let secrets = secrets_of(&plain);
                    for format in ["json", "ndjson", "table", "html"] {
                        let o = run(&["read", f, "--format", format, "--redact"]);
                        let text = String::from_utf8_lossy(&o.stdout);
                        for s in &secrets {
                            if text.contains(s.as_str()) {
                                failures.lock().unwrap().push(format!("{f} {format}: {s}"));
                            }
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} survived --redact: {failures:#?}",
        failures.len()
    );
}

/// The flows of a call in a report, as (transport, src, dst, packets), sorted.
fn call_flows(v: &serde_json::Value, call_id: &str) -> Vec<(String, String, String, u64)> {
    let c = v["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["call_id"] == call_id)
        .unwrap_or_else(|| panic!("no call {call_id}"));
    let ep = |e: &serde_json::Value| format!("{}:{}", e["ip"].as_str().unwrap(), e["port"]);
    let mut out: Vec<_> = c["flow_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            let f = v["flows"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["id"] == *id)
                .unwrap();
            (
                f["transport"].as_str().unwrap().to_string(),
                ep(&f["src"]),
                ep(&f["dst"]),
                f["packets"].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn an_exported_call_reads_back_as_the_same_call() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["sipp__g711a.pcap", "ndpi__stun_google_meet.pcapng"] {
        let f = fixture(name);
        let f = f.to_str().unwrap();
        let v = read_report(&["read", f, "--format", "json"]);
        let id = v["calls"][0]["call_id"].as_str().unwrap().to_string();
        let w = dir.path().join(format!("{name}.call.pcap"));
        let o = run(&[
            "read",
            f,
            "--export-call",
            &id,
            "-w",
            w.to_str().unwrap(),
            "-q",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let back = read_report(&["read", w.to_str().unwrap(), "--format", "json"]);
        assert_eq!(call_flows(&back, &id), call_flows(&v, &id), "{name}");
        assert_eq!(
            back["calls"][0]["encrypted"], v["calls"][0]["encrypted"],
            "{name}"
        );
    }
    // Every call in its own file.
    let f = fixture("sngrep__aaa.pcap");
    let f = f.to_str().unwrap();
    let out = dir.path().join("calls");
    let o = run(&["read", f, "--export-calls", out.to_str().unwrap(), "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = read_report(&["read", f, "--format", "json"]);
    let n = std::fs::read_dir(&out).unwrap().count();
    assert_eq!(n, v["calls"].as_array().unwrap().len());
    // Refused: payloads under --redact, standard input, -w alone (these
    // before the analysis), a call the report does not have.
    let w = dir.path().join("x.pcap");
    let w = w.to_str().unwrap();
    assert_error(
        &run(&["read", f, "--export-call", "x", "-w", w, "--redact"]),
        "--redact",
    );
    assert_error(
        &run(&["read", "-", "--export-call", "x", "-w", w]),
        "not standard input",
    );
    assert_error(&run(&["read", f, "-w", w]), "--export-call");
    assert_error(
        &run(&["read", f, "--export-call", "nope", "-w", w]),
        "no such call",
    );
}

#[test]
fn geoip_names_countries_and_networks_of_far_endpoints_and_relays() {
    let f = fixture("ndpi__teams.pcap");
    let f = f.to_str().unwrap();
    let db = root().join("fixtures").join("geoip");
    let v = read_report(&[
        "read",
        f,
        "--geoip",
        db.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let relays = v["relays"].as_array().unwrap();
    assert!(!relays.is_empty());
    for r in relays {
        assert_eq!(
            (r["country"].as_str(), r["asn"].as_u64()),
            (Some("NL"), Some(8075)),
            "{r}"
        );
    }
    // The far peer of the call, and no place for its internal side.
    let call = &v["calls"][0];
    assert_eq!(call["countries"], serde_json::json!(["IT", "NL"]));
    for e in call["endpoints"].as_array().unwrap() {
        if e["ip"].as_str().unwrap().starts_with("192.168.") {
            assert!(e.get("country").is_none(), "{e}");
        }
    }
    let peer = v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|fl| fl["src"]["ip"] == "93.71.110.205" || fl["dst"]["ip"] == "93.71.110.205")
        .unwrap();
    assert_eq!(peer["country"], "IT");
    assert_eq!(peer["as_org"], "Vodafone Italia S.p.A.");
    // Without a database nothing is added; a bad one is an error before reading.
    let plain = read_report(&["read", f, "--format", "json"]);
    assert!(plain["relays"][0].get("country").is_none());
    assert!(plain["calls"][0].get("countries").is_none());
    let cargo = root().join("Cargo.toml");
    assert_error(
        &run(&["read", f, "--geoip", cargo.to_str().unwrap()]),
        "not a readable MaxMind database",
    );
    // The table says it where the call goes.
    let o = run(&[
        "read",
        f,
        "--geoip",
        db.to_str().unwrap(),
        "--format",
        "table",
    ]);
    let t = String::from_utf8(o.stdout).unwrap();
    assert!(t.contains("AS30722, IT"), "{t}");
}

/// The table of `f` at `COLUMNS=width` (standard output is a pipe).
fn table_at(f: &str, width: usize) -> String {
    let o = Command::new(bin())
        .args(["read", f, "--format", "table"])
        .env("COLUMNS", width.to_string())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_table_fits_the_width_and_keeps_addresses_whole() {
    for name in [
        "ndpi__teams.pcap",
        "sngrep__aaa.pcap",
        "ndpi__stun.pcap",
        "ndpi__stun_wa_call.pcapng",
        "heplify__sip_ipv6_udp.pcap",
    ] {
        let f = fixture(name);
        let f = f.to_str().unwrap();
        let v = read_report(&["read", f, "--format", "json"]);
        for width in [80, 120, 200] {
            let t = table_at(f, width);
            let widest = t.lines().map(|l| l.chars().count()).max().unwrap();
            assert!(
                widest <= width,
                "{name} at {width}: a line of {widest}\n{t}"
            );
            // Every relay's address and port, whole.
            for r in v["relays"].as_array().unwrap().iter().take(40) {
                let ip = r["ip"].as_str().unwrap();
                let ep = if ip.contains(':') {
                    format!("[{ip}]:{}", r["port"])
                } else {
                    format!("{ip}:{}", r["port"])
                };
                assert!(t.contains(&ep), "{name} at {width}: {ep} not whole\n{t}");
            }
            // The totals come first, then the calls, worst first.
            if !v["calls"].as_array().unwrap().is_empty() {
                let totals = t.find("Calls: ").expect("totals");
                let calls = t.find("Calls (worst first)").expect("calls");
                assert!(totals < calls, "{name}");
            }
        }
    }
}

#[test]
fn a_terminal_of_width_zero_gets_the_default_width() {
    let f = fixture("ndpi__sip.pcap");
    let cmd = format!(
        "stty cols 0 rows 0; {} read {}",
        bin().display(),
        f.display()
    );
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("COLUMNS")
        .output()
        .expect("script (util-linux) gives the command a terminal");
    let t = String::from_utf8_lossy(&o.stdout);
    let widest = t
        .lines()
        .map(|l| l.trim_end().chars().count())
        .max()
        .unwrap_or(0);
    assert!((60..=100).contains(&widest), "widest line {widest}:\n{t}");
    // Not one character per column.
    assert!(!t.contains("│ c ┆ a"), "{t}");
}

#[test]
fn the_table_and_the_page_show_a_calls_audio_quality() {
    let f = fixture("sipp__g711a.pcap");
    let f = f.to_str().unwrap();
    let v = read_report(&["read", f, "--format", "json"]);
    let q = &v["call_quality"][0];
    let mos = format!("MOS {:.2}", q["mos"].as_f64().unwrap());
    assert!(table_at(f, 120).contains(&mos), "{mos}");
    let o = run(&["read", f, "--format", "html"]);
    let page = String::from_utf8(o.stdout).unwrap();
    assert!(
        page.contains("Audio quality") && page.contains(&mos),
        "{mos}"
    );
}

/// `--sensor NAME` tags every NDJSON record right after its type, streamed
/// or written at the end, and the report's source; a bad name is refused.
#[test]
fn sensor_names_every_record() {
    let f = fixture("ndpi__teams.pcap");
    let f = f.to_str().unwrap();
    for extra in [&[][..], &["--threads", "2"][..]] {
        let o = run(&[
            &["read", f, "--format", "ndjson", "--sensor", "hq \"1\""][..],
            extra,
        ]
        .concat());
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let text = String::from_utf8(o.stdout).unwrap();
        let mut kinds = std::collections::BTreeSet::new();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let kind = v["type"].as_str().unwrap();
            let head = format!("{{\"type\":\"{kind}\",\"sensor\":\"hq \\\"1\\\"\",");
            assert!(line.starts_with(&head), "{line}");
            kinds.insert(kind.to_string());
        }
        assert!(kinds.len() >= 4, "{kinds:?}");
    }
    let o = run(&["read", f, "--format", "json", "--sensor", "hq-1"]);
    assert_eq!(json(&o)["source"]["sensor"], "hq-1");
    let o = run(&["read", f, "--format", "json"]);
    assert!(json(&o)["source"].get("sensor").is_none());
    let o = run(&["read", f, "--sensor", ""]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("sensor name"), "{}", stderr(&o));
}

//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vcscope::capture::{self, CaptureOptions};
use vcscope::engine::{Analyzer, Config};
use vcscope::report::Report;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("fixtures").join("pcap").join(name)
}

/// Every capture under fixtures/pcap, sorted.
pub fn all_fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures").join("pcap"))
        .expect("fixtures/pcap")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            )
        })
        .collect();
    v.sort();
    v
}

/// Analyses capture files in-process, as `vcscope read` does.
pub fn analyze(paths: &[&Path]) -> Report {
    let files: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let mut an = Analyzer::new(Config::default());
    let outcome =
        capture::read_files(&files, &CaptureOptions::default(), &mut an).expect("readable capture");
    assert!(outcome.fatal.is_none(), "{:?}", outcome.fatal);
    an.finish(files, None)
}

pub fn analyze_one(name: &str) -> Report {
    analyze(&[&fixture(name)])
}

pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `vcscope` binary built for the tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vcscope"))
}

// ---------------------------------------------------------------------------
// Headless Chromium

/// Debian's `chromium` (or `chromium-browser`) on the PATH, or the binary
/// `VCSCOPE_CHROMIUM` names.
pub fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("VCSCOPE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// Runs headless Chromium on `page` with `extra` arguments, in a fresh
/// profile; returns its standard output. A hung browser is killed.
pub fn run_chromium(browser: &Path, page: &Path, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out_path = profile.path().join("stdout.txt");
    let stdout = std::fs::File::create(&out_path).unwrap();
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-extensions",
            "--hide-scrollbars",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("p").display()
        ))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", browser.display()));
    // A bound against a hung browser, not a performance assertion.
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish on {}", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.success(),
        "chromium failed on {}: {status}",
        page.display()
    );
    std::fs::read_to_string(&out_path).unwrap()
}

/// An Ethernet/IPv4/UDP frame from `src:sport` to `dst:dport`.
pub fn udp_frame(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(src, dst, 64)
        .udp(sport, dport)
        .write(&mut out, payload)
        .expect("a frame");
    out
}

/// The header of a classic pcap file of Ethernet frames (microsecond
/// stamps, little-endian) cut at `snaplen` bytes.
pub fn pcap_header(snaplen: u32) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&snaplen.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out
}

/// Runs `vcscope ARGS`, which must exit 0, and returns its standard output.
pub fn run_ok(args: &[&str]) -> Vec<u8> {
    run_ok_env(args, &[])
}

/// [`run_ok`] with environment variables set.
pub fn run_ok_env(args: &[&str], env: &[(&str, &Path)]) -> Vec<u8> {
    let o = std::process::Command::new(bin())
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run vcscope");
    assert_eq!(
        o.status.code(),
        Some(0),
        "vcscope {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// A classic pcap file (Ethernet, microsecond stamps from 1 700 000 000 s)
/// of `(microseconds, frame)` records, in the order given.
pub fn pcap_at(frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut out = pcap_header(262_144);
    for (us, f) in frames {
        out.extend_from_slice(&(1_700_000_000 + (us / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((us % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    out
}

/// Whether a flow of a report carries something of a call: a
/// videoconferencing protocol, an app or a call (`is_vc` in
/// src/assemble.rs). The default report lists these, and the flows a relay
/// or a leak names; it counts the others in `other_flows`.
pub fn something_of_a_call(f: &serde_json::Value) -> bool {
    const VC: [&str; 11] = [
        "sip",
        "sdp",
        "rtp",
        "rtcp",
        "srtp",
        "srtcp",
        "stun",
        "turn",
        "turn-channeldata",
        "dtls",
        "zrtp",
    ];
    !f["app"].is_null()
        || !f["call_id"].is_null()
        || f["protocols"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| VC.contains(&p.as_str().unwrap()))
}

/// An internal address, as the report takes it: private, CGNAT, ULA,
/// link-local or loopback (an IPv4-mapped IPv6 address as its IPv4 one).
pub fn internal_ip(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(a) => {
            a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || (a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64)
        }
        std::net::IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => internal_ip(v4.into()),
            None => {
                a.is_loopback()
                    || (a.segments()[0] & 0xfe00) == 0xfc00
                    || (a.segments()[0] & 0xffc0) == 0xfe80
            }
        },
    }
}

/// Whether a report has a flow between two internal hosts (private, CGNAT,
/// ULA, link-local or loopback on both ends): `--partition` may put such a
/// call's signalling and media on two sensors (see README, Several sensors).
pub fn internal_to_internal(v: &serde_json::Value) -> bool {
    let internal = |e: &serde_json::Value| internal_ip(e["ip"].as_str().unwrap().parse().unwrap());
    v["flows"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| internal(&f["src"]) && internal(&f["dst"]))
}

/// A validator for the definition `def` of the schema document
/// (`docs/report.schema.json`), e.g. `NdjsonRecord`.
pub fn validator_for_def(doc: &serde_json::Value, def: &str) -> jsonschema::Validator {
    let mut s = serde_json::json!({ "$ref": format!("#/$defs/{def}") });
    s["$schema"] = doc["$schema"].clone();
    s["$defs"] = doc["$defs"].clone();
    jsonschema::validator_for(&s).expect("a valid schema")
}

/// Runs `script` as root in a private mount namespace, or says why not.
pub fn in_mount_namespace(script: &str, env: &[(&str, &Path)]) -> Option<std::process::Output> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !root {
        eprintln!("skipped: a full disk is tested on a tmpfs, which needs root");
        return None;
    }
    let mut c = Command::new("unshare");
    c.args(["-m", "sh", "-c", script]);
    for (k, v) in env {
        c.env(k, v);
    }
    match c.output() {
        // 77: the mount failed; unshare's own message: no namespace
        // (a container without CAP_SYS_ADMIN).
        Ok(o) if o.status.code() == Some(77) || o.stderr.starts_with(b"unshare:") => {
            eprintln!(
                "skipped: cannot mount a tmpfs in a private mount namespace: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Ok(o) => Some(o),
        Err(e) => {
            eprintln!("skipped: unshare (util-linux) unavailable: {e}");
            None
        }
    }
}

/// A call's verdict as one analysis of the whole traffic words it: a
/// thread of `--threads` streaming or a sensor of `--partition` says media
/// it did not see was not in its share of the traffic, where the whole
/// analysis says it was not in the capture.
pub fn as_one_analysis(verdict: &str) -> String {
    for part in ["this thread's", "this sensor's"] {
        let from = format!("the media was not in {part} share of the traffic (");
        if let Some(at) = verdict.find(&from) {
            if let Some(close) = verdict[at..].find(')') {
                return format!(
                    "{}the media itself was not in the capture{}",
                    &verdict[..at],
                    &verdict[at + close + 1..]
                );
            }
        }
    }
    verdict.to_string()
}

/// The records of an NDJSON output, one JSON value a line.
pub fn ndjson_values(out: Vec<u8>) -> Vec<serde_json::Value> {
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The NDJSON records of one `type`.
pub fn of_type<'a>(records: &'a [serde_json::Value], t: &str) -> Vec<&'a serde_json::Value> {
    records.iter().filter(|r| r["type"] == t).collect()
}

/// A report's endpoint as `ip:port`.
pub fn json_endpoint(e: &serde_json::Value) -> String {
    format!("{}:{}", e["ip"].as_str().unwrap(), e["port"])
}

/// A flow entry's 5-tuple and start, the same whatever ids a run gave.
pub fn flow_key(f: &serde_json::Value) -> String {
    format!(
        "{} {} {} {}",
        f["transport"].as_str().unwrap(),
        json_endpoint(&f["src"]),
        json_endpoint(&f["dst"]),
        f["first_ts"]
    )
}

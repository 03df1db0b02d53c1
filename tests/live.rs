//! `vcscope live` against `vcscope read` of the same captures.
//!
//! Each test builds a veth pair whose replay end lives in a private network
//! namespace; tcpreplay sends fixture captures from there and `vcscope live`
//! captures them on the other end, in the root namespace. The live report
//! must hold exactly the flows, packets and bytes that `vcscope read` finds
//! in the files.
//!
//! These tests need root (network namespaces, veth, packet sockets) and the
//! tools `ip` (iproute2), `tcpreplay` and `taskset` (util-linux). CI runs them
//! as root; locally: `sudo -E cargo test --test live`. Without root they fail
//! and say so: they never pass without testing anything.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::*;

/// How long `vcscope live` may take to exit after --duration or SIGTERM.
const EXIT_GRACE: Duration = Duration::from_secs(3);

/// Replay rate, frames per second, of the tests that compare live with
/// read: slow enough that frames of different flows keep the files' order
/// whatever the scheduler does (the burst test below checks the top speed).
const REPLAY_PPS: u32 = 1000;

/// Loops of a 236-frame capture sent at tcpreplay's top speed by the burst
/// test: 118,000 frames, about 43 MB in TPACKET_V3 blocks (frames packed by
/// their captured length), under the default 64 MiB ring, so even a debug
/// build that analyses far slower than the frames come must lose none. With
/// TPACKET_V2 slots of the full snaplen (libpcap's immediate mode) the same
/// burst lost frames (196 of 118,000 at 250,000 frames a second).
const BURST_LOOPS: u32 = 500;

// ---------------------------------------------------------------------------
// Preconditions

/// Fails, with the reason, unless this process can build the test network.
fn preflight() {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let euid = field("Uid:").split_whitespace().nth(1).map(str::to_string);
    assert_eq!(
        euid.as_deref(),
        Some("0"),
        "tests/live.rs needs root: it creates a network namespace and a veth pair and \
         captures on it (CI runs it as root). Run it with: sudo -E cargo test --test live"
    );
    let caps = u64::from_str_radix(&field("CapEff:"), 16).unwrap_or(0);
    let missing: Vec<&str> = [
        (12, "CAP_NET_ADMIN"),
        (13, "CAP_NET_RAW"),
        (21, "CAP_SYS_ADMIN"),
    ]
    .iter()
    .filter(|(bit, _)| caps & (1u64 << bit) == 0)
    .map(|(_, name)| *name)
    .collect();
    assert!(
        missing.is_empty(),
        "tests/live.rs runs as root but without {missing:?}, needed for network namespaces, \
         veth and capture (in a container: --cap-add NET_ADMIN --cap-add NET_RAW \
         --cap-add SYS_ADMIN, or --privileged)"
    );
    for (tool, arg, package) in [
        ("ip", "-V", "iproute2"),
        ("tcpreplay", "--version", "tcpreplay"),
        ("taskset", "--version", "util-linux"),
    ] {
        let ok = Command::new(tool)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "tests/live.rs needs `{tool}`: apt-get install -y {package}"
        );
    }
}

/// Runs a command that must succeed; panics with its stderr otherwise.
fn run(cmd: &str, args: &[&str]) -> Output {
    let o = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        o.status.success(),
        "`{cmd} {}` failed ({}): {}",
        args.join(" "),
        o.status,
        String::from_utf8_lossy(&o.stderr).trim()
    );
    o
}

/// Runs a command whose failure does not matter (cleanup).
fn run_quiet(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Polls `ready` every 20 ms until it holds or `limit` passes.
fn poll_until(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if ready() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        sleep(Duration::from_millis(20));
    }
}

/// The first CPU this process may run on (tcpreplay is pinned to it).
fn first_allowed_cpu() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let list = s
                .lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?;
            let first = list.trim().split([',', '-']).next()?;
            first.parse::<u32>().ok().map(|n| n.to_string())
        })
        .unwrap_or_else(|| "0".into())
}

// ---------------------------------------------------------------------------
// The test network

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// A veth pair: `cap` in the root namespace (vcscope captures there), `replay`
/// inside the namespace `ns` (tcpreplay sends there). IPv6 is off on both
/// ends and neither has an address, so nothing but the replayed frames ever
/// crosses the link. Dropping it deletes the pair and the namespace.
struct Lab {
    ns: String,
    cap: String,
    replay: String,
    scratch: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        preflight();
        // Unique per process and per test: pid plus a letter (interface names ≤ 15 bytes).
        let n = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        let id = format!(
            "{}{}",
            std::process::id(),
            char::from(b'a' + (n % 26) as u8)
        );
        let lab = Lab {
            ns: format!("vcs{id}"),
            cap: format!("vc{id}c"),
            replay: format!("vc{id}r"),
            scratch: tempfile::tempdir().expect("temporary directory"),
        };
        assert!(lab.cap.len() <= 15 && lab.replay.len() <= 15);
        // Leftovers of an earlier run that was killed and had the same pid.
        lab.remove();

        // From here on, a failure drops `lab`, which removes what was made.
        run("ip", &["netns", "add", &lab.ns]);
        // Interfaces created in the namespace from now on start with IPv6 off.
        let ipv6 = Path::new("/proc/sys/net/ipv6").exists();
        if ipv6 {
            lab.in_ns(&[
                "sh",
                "-c",
                "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6",
            ]);
        }
        run(
            "ip",
            &[
                "link",
                "add",
                &lab.cap,
                "type",
                "veth",
                "peer",
                "name",
                &lab.replay,
                "netns",
                &lab.ns,
            ],
        );
        if ipv6 {
            // Before the link is up: no router solicitation, no MLD report, no DAD.
            let knob = format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", lab.cap);
            std::fs::write(&knob, "1").unwrap_or_else(|e| panic!("{knob}: {e}"));
            let knob = format!("/proc/sys/net/ipv6/conf/{}/disable_ipv6", lab.replay);
            let v = lab.in_ns(&["cat", &knob]);
            assert_eq!(
                String::from_utf8_lossy(&v.stdout).trim(),
                "1",
                "{knob} in {}",
                lab.ns
            );
        }
        run("ip", &["link", "set", &lab.cap, "up"]);
        run("ip", &["-n", &lab.ns, "link", "set", &lab.replay, "up"]);
        let oper = format!("/sys/class/net/{}/operstate", lab.cap);
        let up = poll_until(Duration::from_secs(5), || {
            std::fs::read_to_string(&oper).is_ok_and(|s| s.trim() == "up")
        });
        assert!(up, "{} did not come up", lab.cap);
        lab
    }

    /// Runs a command inside the namespace.
    fn in_ns(&self, cmd: &[&str]) -> Output {
        let mut args = vec!["netns", "exec", self.ns.as_str()];
        args.extend_from_slice(cmd);
        run("ip", &args)
    }

    /// Replays captures from inside the namespace at `REPLAY_PPS`; returns
    /// the number of frames tcpreplay sent (it must not have failed any).
    fn replay(&self, files: &[PathBuf]) -> u64 {
        self.replay_at(files, &[&format!("--pps={REPLAY_PPS}")]).0
    }

    /// Replays captures with the given rate options; returns the frames
    /// sent and tcpreplay's report.
    fn replay_at(&self, files: &[PathBuf], rate: &[&str]) -> (u64, String) {
        let intf = format!("--intf1={}", self.replay);
        // One CPU: every frame then goes through the same per-CPU receive
        // backlog, so the capture sees them in the order of the files.
        let cpu = first_allowed_cpu();
        let mut cmd = vec!["taskset", "-c", cpu.as_str(), "tcpreplay", intf.as_str()];
        cmd.extend_from_slice(rate);
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        cmd.extend(names.iter().map(String::as_str));
        let o = self.in_ns(&cmd);
        let text = String::from_utf8_lossy(&o.stdout);
        let total = |label: &str| -> u64 {
            text.lines()
                .filter_map(|l| l.trim().strip_prefix(label))
                .map(|v| {
                    v.trim()
                        .parse::<u64>()
                        .unwrap_or_else(|e| panic!("{label} {v:?}: {e}"))
                })
                .sum()
        };
        assert!(
            text.contains("Successful packets:"),
            "unexpected tcpreplay output:\n{text}"
        );
        assert_eq!(
            total("Failed packets:"),
            0,
            "tcpreplay failed to send some frames:\n{text}"
        );
        (total("Successful packets:"), text.into_owned())
    }

    /// Sends one frame that no flow can contain (local experimental EtherType,
    /// to a MAC nobody has), to see whether an exit was waiting for traffic.
    fn nudge(&self) {
        let mut frame = Vec::new();
        frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5]);
        frame.extend_from_slice(&[0u8; 46]);
        let mut pcap = Vec::new();
        for word in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 1] {
            pcap.extend_from_slice(&word.to_le_bytes());
        }
        for word in [1_700_000_000u32, 0, frame.len() as u32, frame.len() as u32] {
            pcap.extend_from_slice(&word.to_le_bytes());
        }
        pcap.extend_from_slice(&frame);
        let path = self.scratch.path().join("nudge.pcap");
        std::fs::write(&path, pcap).expect("write nudge.pcap");
        let intf = format!("--intf1={}", self.replay);
        let p = path.display().to_string();
        run_quiet("ip", &["netns", "exec", &self.ns, "tcpreplay", &intf, &p]);
    }

    fn remove(&self) {
        // Deleting one end of a veth pair deletes both.
        run_quiet("ip", &["link", "del", &self.cap]);
        run_quiet("ip", &["netns", "del", &self.ns]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.remove();
        if Path::new("/sys/class/net").join(&self.cap).exists()
            || Path::new("/run/netns").join(&self.ns).exists()
        {
            eprintln!("warning: could not remove {} / netns {}", self.cap, self.ns);
        }
    }
}

// ---------------------------------------------------------------------------
// The capture process

/// A running `vcscope live`; killed (by its own pid) if the test ends early.
struct Live {
    child: Child,
}

impl Live {
    fn spawn(args: &[&str]) -> Live {
        let child = Command::new(bin())
            .arg("live")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vcscope live");
        Live { child }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Standard error, once the process has exited.
    fn stderr(&mut self) -> String {
        use std::io::Read;
        let mut s = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait for vcscope")
    }

    /// Waits until vcscope captures on `iface`: the interface is promiscuous
    /// and the process has mapped its packet socket's receive ring. Frames
    /// sent before that would be lost without being counted as dropped.
    fn wait_capturing(&mut self, iface: &str) {
        let flags = format!("/sys/class/net/{iface}/flags");
        let maps = format!("/proc/{}/maps", self.pid());
        let mut promisc_since: Option<Instant> = None;
        let mut early_exit = None;
        let ready = poll_until(Duration::from_secs(10), || {
            if let Some(st) = self.exited() {
                early_exit = Some(st);
                return true;
            }
            let promisc = std::fs::read_to_string(&flags)
                .ok()
                .and_then(|s| u32::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok())
                .is_some_and(|f| f & 0x100 != 0); // IFF_PROMISC
            if !promisc {
                return false;
            }
            let since = *promisc_since.get_or_insert_with(Instant::now);
            let ring = std::fs::read_to_string(&maps).is_ok_and(|m| m.contains("socket:["));
            // Without a ring (a capture that reads its socket), the socket is
            // receiving as soon as it is promiscuous: leave it a moment.
            ring || since.elapsed() >= Duration::from_millis(500)
        });
        if let Some(st) = early_exit {
            panic!(
                "vcscope live exited before capturing ({st}): {}",
                self.stderr()
            );
        }
        assert!(
            ready,
            "vcscope live did not start capturing on {iface} within 10 s"
        );
    }

    /// Waits until every thread of vcscope has been asleep for 100 ms: it has
    /// then read every frame the kernel had queued for it.
    fn wait_idle(&mut self) {
        let task_dir = format!("/proc/{}/task", self.pid());
        let all_asleep = || -> bool {
            let Ok(tasks) = std::fs::read_dir(&task_dir) else {
                return false;
            };
            let mut any = false;
            for t in tasks.flatten() {
                let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
                    return false;
                };
                // "pid (comm) S ...": the state follows the last ')'.
                let state = stat
                    .rsplit_once(')')
                    .and_then(|(_, r)| r.trim_start().chars().next());
                if state != Some('S') {
                    return false;
                }
                any = true;
            }
            any
        };
        let mut streak = 0;
        let idle = poll_until(Duration::from_secs(5), || {
            streak = if all_asleep() { streak + 1 } else { 0 };
            streak >= 5
        });
        assert!(
            idle,
            "vcscope live kept running for 5 s after the replay ended"
        );
    }

    fn terminate(&self) {
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped.
        let rc = unsafe { libc::kill(self.pid() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(
            rc,
            0,
            "kill -TERM {}: {}",
            self.pid(),
            std::io::Error::last_os_error()
        );
    }

    /// Waits for the exit that `cause` should bring, at the latest by `limit`.
    /// When it does not come, tells whether one more frame on the link
    /// unblocks it, then fails.
    fn wait_exit(&mut self, limit: Instant, cause: &str, lab: &Lab) -> ExitStatus {
        let left = limit.saturating_duration_since(Instant::now());
        let mut status = None;
        poll_until(left, || {
            status = self.exited();
            status.is_some()
        });
        if let Some(st) = status {
            return st;
        }
        lab.nudge();
        let woke = poll_until(Duration::from_secs(2), || self.exited().is_some());
        if woke {
            panic!(
                "vcscope live was still running {EXIT_GRACE:?} after {cause}, and exited only \
                 when one more frame reached the interface: its exit waits for traffic (the \
                 capture loop checks --duration and signals between frames, and its blocking \
                 read of the next frame does not return while the interface is idle). \
                 stderr: {}",
                self.stderr()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!(
            "vcscope live did not exit {EXIT_GRACE:?} after {cause}, nor after one more frame; \
             killed. stderr: {}",
            self.stderr()
        );
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------
// Comparing reports

/// `vcscope read FILES --format json`.
fn read_report(files: &[PathBuf]) -> Value {
    let o = Command::new(bin())
        .arg("read")
        .args(files)
        .args(["--format", "json", "--all-flows"])
        .output()
        .expect("run vcscope read");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "vcscope read: {err}");
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("vcscope read output: {e}: {err}"))
}

fn endpoint(v: &Value) -> String {
    let ip = v["ip"].as_str().expect("endpoint ip");
    let port = v["port"].as_u64().expect("endpoint port");
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// Flows by "transport src > dst", with their packet and byte counts (in
/// total and per direction). Timestamps and ids are left out: they differ
/// between a live capture and a file by design.
fn flow_table(report: &Value, what: &str) -> BTreeMap<String, [u64; 6]> {
    let mut table = BTreeMap::new();
    for f in report["flows"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no flows array"))
    {
        let key = format!(
            "{} {} > {}",
            f["transport"].as_str().expect("transport"),
            endpoint(&f["src"]),
            endpoint(&f["dst"])
        );
        let n = |k: &str| {
            f[k].as_u64()
                .unwrap_or_else(|| panic!("{what}: flow {key}: no {k}"))
        };
        let counts = [
            n("packets"),
            n("bytes"),
            n("packets_fwd"),
            n("packets_rev"),
            n("bytes_fwd"),
            n("bytes_rev"),
        ];
        let before = table.insert(key.clone(), counts);
        assert!(before.is_none(), "{what}: flow {key} is listed twice");
    }
    table
}

fn warning_kinds(report: &Value) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = report["warnings"]
        .as_array()
        .expect("warnings array")
        .iter()
        .map(|w| {
            (
                w["kind"].as_str().unwrap_or("").to_string(),
                w["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    v.sort();
    v
}

/// The live report must describe exactly the traffic `vcscope read` finds in the files.
fn assert_same_traffic(live: &Value, read: &Value, iface: &str) {
    let src = &live["source"];
    assert_eq!(src["interface"], iface, "live source: {src}");
    assert_eq!(src["dropped"], 0, "the capture dropped frames: {src}");
    let (l, r) = (flow_table(live, "live"), flow_table(read, "read"));
    assert!(!r.is_empty(), "the fixtures hold no flow");
    if l != r {
        let mut diff = String::new();
        for (k, v) in &r {
            match l.get(k) {
                None => writeln!(diff, "  only in read: {k} {v:?}").unwrap(),
                Some(lv) if lv != v => writeln!(diff, "  {k}: live {lv:?} read {v:?}").unwrap(),
                Some(_) => {}
            }
        }
        for (k, v) in l.iter().filter(|(k, _)| !r.contains_key(*k)) {
            writeln!(diff, "  only in live: {k} {v:?}").unwrap();
        }
        panic!("live and read flows differ ([packets, bytes, packets_fwd, packets_rev, bytes_fwd, bytes_rev]):\n{diff}");
    }
    for k in [
        "packets",
        "bytes",
        "malformed",
        "skipped",
        "decapsulated",
        "reassembled",
    ] {
        assert_eq!(
            src[k], read["source"][k],
            "source.{k}: live {src} / read {}",
            read["source"]
        );
    }
    assert_eq!(warning_kinds(live), warning_kinds(read), "warnings differ");
}

fn fixtures(names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|n| fixture(n)).collect()
}

// ---------------------------------------------------------------------------
// Tests

#[test]
fn live_capture_matches_read_of_the_replayed_files() {
    live_matches_read("1");
}

/// The same with three analysis threads: the reading thread and two workers.
#[test]
fn live_capture_on_worker_threads_matches_read_of_the_replayed_files() {
    live_matches_read("3");
}

/// Streamed NDJSON with three analysis threads, which split the traffic by
/// client and each write their records as their flows end: the records
/// together hold the same flows, packets and bytes.
#[test]
fn live_streamed_on_worker_threads_matches_read_of_the_replayed_files() {
    live_matches_read_as("3", "ndjson");
}

fn live_matches_read(threads: &str) {
    live_matches_read_as(threads, "json");
}

fn live_matches_read_as(threads: &str, format: &str) {
    let lab = Lab::new();
    // SIP over TCP with its RTP; G.711 RTP over UDP; STUN/TURN over UDP and
    // TCP, IPv4 and IPv6. All Ethernet, frames ≤ 1514 bytes (veth MTU 1500).
    let files = fixtures(&[
        "heplify__sip_ipv4_tcp.pcap",
        "sipp__g711a.pcap",
        "ndpi__stun.pcap",
    ]);
    let read = read_report(&files);
    let pps = format!("--pps={REPLAY_PPS}");
    let (live, sent, _) = capture_replay_as(&lab, &files, threads, format, &[&pps]);
    assert_eq!(
        Some(sent),
        read["source"]["packets"].as_u64(),
        "frames replayed"
    );
    assert_same_traffic(&live, &read, &lab.cap);
}

/// Runs `vcscope live --format json` on the lab for 4 seconds while the
/// files are replayed with the given rate options; returns the report, the
/// frames sent and tcpreplay's report.
fn capture_replay(
    lab: &Lab,
    files: &[PathBuf],
    threads: &str,
    rate: &[&str],
) -> (Value, u64, String) {
    capture_replay_as(lab, files, threads, "json", rate)
}

/// [`capture_replay`] in `format`; NDJSON records come back as a report:
/// the flow records its `flows`, the summary's source and warnings its own.
fn capture_replay_as(
    lab: &Lab,
    files: &[PathBuf],
    threads: &str,
    format: &str,
    rate: &[&str],
) -> (Value, u64, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("live.json");
    let duration = Duration::from_secs(4);
    let started = Instant::now();
    let mut live = Live::spawn(&[
        "-i",
        &lab.cap,
        "--duration",
        &duration.as_secs().to_string(),
        "--all-flows",
        "--format",
        format,
        "--threads",
        threads,
        "-o",
        out.to_str().unwrap(),
    ]);
    live.wait_capturing(&lab.cap);
    let (sent, said) = lab.replay_at(files, rate);
    let replayed = started.elapsed();
    assert!(
        replayed + Duration::from_millis(500) < duration,
        "starting the capture and replaying took {replayed:?}, too close to --duration {duration:?}"
    );

    let status = live.wait_exit(started + duration + EXIT_GRACE, "--duration elapsed", lab);
    let ran = started.elapsed();
    let err = live.stderr();
    assert_eq!(status.code(), Some(0), "vcscope live: {status}: {err}");
    assert!(
        ran >= duration,
        "vcscope live exited after {ran:?}, before --duration {duration:?}"
    );
    if format != "ndjson" {
        return (read_json(&out), sent, said);
    }
    let text = std::fs::read_to_string(&out).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary: Vec<&Value> = records.iter().filter(|r| r["type"] == "summary").collect();
    assert_eq!(summary.len(), 1, "one summary record:\n{text}");
    let flows: Vec<&Value> = records.iter().filter(|r| r["type"] == "flow").collect();
    let report = serde_json::json!({
        "flows": flows,
        "source": summary[0]["source"],
        "warnings": summary[0]["warnings"],
    });
    (report, sent, said)
}

/// A burst at tcpreplay's top speed (250,000-300,000 frames a second on a
/// 2-core machine) is captured whole: the kernel ring absorbs what the
/// analysis has not read yet, and every frame is counted in its flow.
#[test]
fn a_burst_at_top_speed_is_captured_without_loss() {
    let lab = Lab::new();
    let files = fixtures(&["sipp__g711a.pcap"]);
    let read = read_report(&files);
    let loops = format!("--loop={BURST_LOOPS}");
    let (report, sent, said) =
        capture_replay(&lab, &files, "1", &["--topspeed", "--preload-pcap", &loops]);
    let once = read["source"]["packets"].as_u64().expect("packets");
    assert_eq!(
        sent,
        once * u64::from(BURST_LOOPS),
        "frames replayed:\n{said}"
    );
    let src = &report["source"];
    let rate: String = said.lines().filter(|l| l.contains("Rated:")).collect();
    assert_eq!(src["dropped"], 0, "frames dropped at {rate}: {src}");
    assert_eq!(src["packets"], sent, "frames captured at {rate}: {src}");
    // Every flow of the file, each packet counted once a loop.
    let times = |t: BTreeMap<String, [u64; 6]>| -> BTreeMap<String, [u64; 6]> {
        t.into_iter()
            .map(|(k, v)| (k, v.map(|n| n * u64::from(BURST_LOOPS))))
            .collect()
    };
    assert_eq!(
        flow_table(&report, "live"),
        times(flow_table(&read, "read")),
        "flows of the burst at {rate}"
    );
}

#[test]
fn sigterm_ends_the_capture_and_keeps_what_was_captured() {
    let lab = Lab::new();
    let files = fixtures(&["heplify__sip_ipv4_tcp.pcap"]);
    let read = read_report(&files);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("live.json");

    let mut live = Live::spawn(&[
        "-i",
        &lab.cap,
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    live.wait_capturing(&lab.cap);
    let sent = lab.replay(&files);
    assert_eq!(
        Some(sent),
        read["source"]["packets"].as_u64(),
        "frames replayed"
    );
    live.wait_idle();
    assert!(
        live.exited().is_none(),
        "vcscope live ended by itself: {}",
        live.stderr()
    );
    assert!(!out.exists(), "report written before the capture ended");

    live.terminate();
    let status = live.wait_exit(Instant::now() + EXIT_GRACE, "SIGTERM", &lab);
    let err = live.stderr();
    assert_eq!(
        status.code(),
        Some(0),
        "vcscope live after SIGTERM: {status}: {err}"
    );

    // Written atomically: the report and nothing else (no temporary file left).
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["live.json"], "files in the output directory");
    assert_same_traffic(&read_json(&out), &read, &lab.cap);
}

/// The real user id of a running process, from /proc.
fn uid_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn user_option_drops_root_after_opening_the_capture() {
    use std::os::unix::fs::PermissionsExt;
    let lab = Lab::new();
    let files = fixtures(&["heplify__sip_ipv4_tcp.pcap"]);
    let read = read_report(&files);
    let dir = tempfile::tempdir().unwrap();
    // The unprivileged user writes the report.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = dir.path().join("live.json");

    let mut live = Live::spawn(&[
        "-i",
        &lab.cap,
        "--user",
        "nobody",
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    live.wait_capturing(&lab.cap);
    // The ring is mapped a moment before setuid(2) runs: wait for it, then
    // the capture must be working under the new user.
    let pid = live.pid();
    let dropped = poll_until(Duration::from_secs(5), || uid_of(pid) == Some(65534));
    assert!(
        dropped,
        "still privileged after opening the capture: uid {:?}",
        uid_of(pid)
    );
    lab.replay(&files);
    live.wait_idle();
    live.terminate();
    let status = live.wait_exit(Instant::now() + EXIT_GRACE, "SIGTERM", &lab);
    assert_eq!(status.code(), Some(0), "{}", live.stderr());
    assert_same_traffic(&read_json(&out), &read, &lab.cap);
}

#[test]
fn a_live_sensor_says_where_it_listens_and_that_it_is_alive() {
    preflight();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let o = Command::new(bin())
        .args([
            "live",
            "-i",
            "lo",
            "--duration",
            "6",
            "--stats",
            "--buffer-size",
            "8",
        ])
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run vcscope live");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.contains("capturing on lo") && first.contains("ring 8 MiB"),
        "{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.contains(" packets, ") && l.contains(" dropped, ")),
        "no status line: {err}"
    );
    // -q: nothing on standard error.
    let o = Command::new(bin())
        .args([
            "live",
            "-i",
            "lo",
            "--duration",
            "1",
            "-q",
            "--format",
            "json",
        ])
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run vcscope live");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
}

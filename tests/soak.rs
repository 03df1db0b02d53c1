//! A sensor's long run in small: a generator streams a mix of SIP calls
//! with RTP, STUN, DNS, web connections and one-packet scans, packet time
//! spanning hours, into `vcscope read - --format ndjson --all-flows` while
//! the test samples its resident memory. Every flow and call the generator
//! made has its record (none lost, none twice); a call's record comes as
//! the call ends, not at the end of the run; and once the warm-up is over
//! (flows live, ended and settled as they will be) the peak memory stays
//! within 10 % of the warm-up's, plus a little for the allocator's steps.
//!
//! `VCSCOPE_SOAK_FLOWS=N` sets the number of flows (default 60 000, about
//! 350 000 packets and 77 minutes of packet time); `scripts/soak.sh` runs
//! the full soak (5 million flows, about 29 million packets and four days)
//! on a release build. RSS is read from /proc (Linux).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;

/// Seconds a flow may stay idle before vcscope ends it (its default).
const IDLE_S: u64 = 900;
/// Seconds after which vcscope lets go ended flows of no call that
/// nothing can join any more (`SETTLED` in src/assemble/stream.rs).
const SETTLED_S: u64 = 600;
/// Seconds between heartbeat records.
const INTERVAL_S: u64 = 600;
const US: u64 = 1_000_000;
/// Packet time of the first second (2026-01-05 00:00:00 UTC).
const T0_S: u64 = 1_767_571_200;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key(u8, [u8; 4], u16, [u8; 4], u16);

impl Key {
    /// Both directions of a conversation are one flow.
    fn of(proto: u8, a: [u8; 4], ap: u16, b: [u8; 4], bp: u16) -> Key {
        if (a, ap) <= (b, bp) {
            Key(proto, a, ap, b, bp)
        } else {
            Key(proto, b, bp, a, ap)
        }
    }
}

/// What the generator wrote, to be found in the records.
#[derive(Default)]
struct Made {
    packets: u64,
    flows: u64,
    calls: u64,
}

struct Gen<W: Write> {
    out: W,
    rng: u64,
    made: Made,
    /// Last packet time (µs) of each conversation, to count flows as
    /// vcscope ends them: a conversation idle for over `IDLE_S` is a new
    /// flow. Pruned as packet time passes.
    last: HashMap<Key, u64>,
    /// The packets of the current second, sent in time order.
    second: Vec<(u64, Vec<u8>)>,
    sport: u16,
}

impl<W: Write> Gen<W> {
    fn new(out: W) -> Self {
        let mut g = Gen {
            out,
            rng: 0x9e37_79b9_7f4a_7c15,
            made: Made::default(),
            last: HashMap::new(),
            second: Vec::new(),
            sport: 1024,
        };
        g.out.write_all(&pcap_header(65_535)).unwrap();
        g
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A client port, cycling through 1024..=65535: reused long after its
    /// last flow idled out.
    fn port(&mut self) -> u16 {
        self.sport = if self.sport == u16::MAX {
            1024
        } else {
            self.sport + 1
        };
        self.sport
    }

    fn count(&mut self, key: Key, us: u64) {
        match self.last.insert(key, us) {
            Some(before) if us.saturating_sub(before) <= IDLE_S * US => {}
            _ => self.made.flows += 1,
        }
    }

    fn udp(&mut self, us: u64, src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16, payload: &[u8]) {
        self.count(Key::of(17, src, sp, dst, dp), us);
        self.second.push((us, udp_frame(src, dst, sp, dp, payload)));
    }

    fn tcp(&mut self, us: u64, src: [u8; 4], sp: u16, dst: [u8; 4], dp: u16, flags: &str) {
        self.count(Key::of(6, src, sp, dst, dp), us);
        let mut b = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, 1000, 64_240);
        for f in flags.chars() {
            b = match f {
                'S' => b.syn(),
                'A' => b.ack(1),
                'F' => b.fin(),
                'R' => b.rst(),
                _ => b,
            };
        }
        let mut frame = Vec::new();
        b.write(&mut frame, &[]).unwrap();
        self.second.push((us, frame));
    }

    /// Writes the second's packets in time order.
    fn flush(&mut self) {
        self.second.sort_by_key(|(us, _)| *us);
        for (us, f) in self.second.drain(..) {
            let mut rec = Vec::with_capacity(16 + f.len());
            rec.extend_from_slice(&((us / US) as u32).to_le_bytes());
            rec.extend_from_slice(&((us % US) as u32).to_le_bytes());
            rec.extend_from_slice(&(f.len() as u32).to_le_bytes());
            rec.extend_from_slice(&(f.len() as u32).to_le_bytes());
            rec.extend_from_slice(&f);
            self.out.write_all(&rec).unwrap();
            self.made.packets += 1;
        }
    }

    /// Forgets conversations idle for longer than a flow lives.
    fn prune(&mut self, now_us: u64) {
        self.last
            .retain(|_, &mut t| now_us.saturating_sub(t) <= IDLE_S * US);
    }

    /// One second of traffic at packet time `s`.
    fn second(&mut self, s: u64) {
        let base = s * US;
        // One-packet scans from anywhere to the internal network.
        for _ in 0..8 {
            let us = base + self.below(US);
            let src = (0x2d00_0000 + self.below(0x00ff_ffff) as u32).to_be_bytes();
            let dst = [10, 2, self.below(200) as u8, 1 + self.below(250) as u8];
            let (sp, dp) = (
                1024 + self.below(60_000) as u16,
                1 + self.below(10_000) as u16,
            );
            self.tcp(us, src, sp, dst, dp, "S");
        }
        // DNS lookups (query and answer).
        for _ in 0..3 {
            let us = base + self.below(US - 100_000);
            let client = [10, 2, self.below(200) as u8, 1 + self.below(250) as u8];
            let sp = self.port();
            let id = self.below(65_536) as u16;
            let name = format!("host{}.example.com", self.below(5000));
            let (q, a) = dns_pair(id, &name);
            self.udp(us, client, sp, [9, 9, 9, 9], 53, &q);
            self.udp(us + 20_000, [9, 9, 9, 9], 53, client, sp, &a);
        }
        // Web connections: handshake and close, no payload.
        for _ in 0..2 {
            let us = base + self.below(US / 2);
            let client = [10, 2, self.below(200) as u8, 1 + self.below(250) as u8];
            let server = [93, 184, self.below(256) as u8, 1 + self.below(250) as u8];
            let sp = self.port();
            for (i, (from_client, flags)) in [
                (true, "S"),
                (false, "SA"),
                (true, "A"),
                (true, "FA"),
                (false, "FA"),
                (true, "A"),
            ]
            .into_iter()
            .enumerate()
            {
                let t = us + i as u64 * 30_000;
                if from_client {
                    self.tcp(t, client, sp, server, 443, flags);
                } else {
                    self.tcp(t, server, 443, client, sp, flags);
                }
            }
        }
        // A STUN binding to a public server every 5 s.
        if s % 5 == 0 {
            let us = base + self.below(US / 2);
            let client = [10, 2, self.below(200) as u8, 1 + self.below(250) as u8];
            let sp = self.port();
            let server = [74, 125, 250, 129];
            let tid: [u8; 12] = std::array::from_fn(|_| self.next() as u8);
            self.udp(us, client, sp, server, 19302, &stun(0x0001, &tid, None));
            let mapped = ([198, 51, 100, 77], sp);
            self.udp(
                us + 40_000,
                server,
                19302,
                client,
                sp,
                &stun(0x0101, &tid, Some(mapped)),
            );
        }
        // Twenty phones each call every 40 minutes for a minute, through a
        // public PBX: SIP (INVITE, 200, ACK, BYE, 200) and G.711 both ways.
        let period = 2400;
        for phone in 0..20u64 {
            let offset = s.wrapping_sub(T0_S + phone * 120);
            if s < T0_S + phone * 120 {
                continue;
            }
            let phase = offset % period;
            let call = offset / period;
            let n = phone * 1_000_000 + call;
            self.call_second(base, phone as u8, n, phase);
        }
    }

    fn call_second(&mut self, base: u64, phone: u8, n: u64, phase: u64) {
        const CALL_S: u64 = 60;
        if phase > CALL_S {
            return;
        }
        let ua = [10, 1, 0, 1 + phone];
        let pbx = [198, 51, 100, 10];
        let media = [198, 51, 100, 30];
        let port = 20_000 + 2 * (n % 10_000) as u16;
        let call_id = format!("soak-{n}@10.1.0.{}", 1 + phone);
        if phase == 0 {
            self.made.calls += 1;
            let offer = sdp(ua, port);
            let answer = sdp(media, port);
            let invite = sip_request("INVITE", &call_id, 1, ua, Some(&offer));
            self.udp(base, ua, 5060, pbx, 5060, &invite);
            let ok = sip_response(200, "INVITE", &call_id, 1, ua, Some(&answer));
            self.udp(base + 100_000, pbx, 5060, ua, 5060, &ok);
            let ack = sip_request("ACK", &call_id, 1, ua, None);
            self.udp(base + 120_000, ua, 5060, pbx, 5060, &ack);
        }
        if phase == CALL_S {
            let bye = sip_request("BYE", &call_id, 2, ua, None);
            self.udp(base, ua, 5060, pbx, 5060, &bye);
            let ok = sip_response(200, "BYE", &call_id, 2, ua, None);
            self.udp(base + 50_000, pbx, 5060, ua, 5060, &ok);
            return;
        }
        // 50 packets a second each way, from 200 ms after the answer.
        let first = if phase == 0 { 10 } else { 0 };
        for i in first..50u64 {
            let k = phase * 50 + i;
            let us = base + i * 20_000;
            let ts = (k * 160) as u32;
            let seq = k as u16;
            self.udp(us, ua, port, media, port, &rtp(seq, ts, 0x1000 + n as u32));
            self.udp(
                us + 7_000,
                media,
                port,
                ua,
                port,
                &rtp(seq, ts, 0x8000_0000 | n as u32),
            );
        }
    }
}

fn rtp(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend(std::iter::repeat_n(0xd5, 160));
    p
}

fn stun(kind: u16, tid: &[u8; 12], mapped: Option<([u8; 4], u16)>) -> Vec<u8> {
    let mut attrs = Vec::new();
    if let Some((ip, port)) = mapped {
        // XOR-MAPPED-ADDRESS (RFC 5389 section 15.2).
        attrs.extend_from_slice(&0x0020u16.to_be_bytes());
        attrs.extend_from_slice(&8u16.to_be_bytes());
        attrs.extend_from_slice(&[0, 1]);
        attrs.extend_from_slice(&(port ^ 0x2112).to_be_bytes());
        let x = u32::from_be_bytes(ip) ^ 0x2112_a442;
        attrs.extend_from_slice(&x.to_be_bytes());
    }
    let mut p = Vec::new();
    p.extend_from_slice(&kind.to_be_bytes());
    p.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    p.extend_from_slice(&0x2112_a442u32.to_be_bytes());
    p.extend_from_slice(tid);
    p.extend_from_slice(&attrs);
    p
}

fn dns_pair(id: u16, name: &str) -> (Vec<u8>, Vec<u8>) {
    let mut qname = Vec::new();
    for label in name.split('.') {
        qname.push(label.len() as u8);
        qname.extend_from_slice(label.as_bytes());
    }
    qname.push(0);
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    q.extend_from_slice(&qname);
    q.extend_from_slice(&[0, 1, 0, 1]);
    let mut a = Vec::new();
    a.extend_from_slice(&id.to_be_bytes());
    a.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
    a.extend_from_slice(&qname);
    a.extend_from_slice(&[0, 1, 0, 1]);
    // The answer points at the question's name (compression, offset 12).
    a.extend_from_slice(&[
        0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, 34,
    ]);
    (q, a)
}

fn sdp(ip: [u8; 4], port: u16) -> String {
    let ip = Ipv4Addr::from(ip);
    format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    )
}

fn sip_request(method: &str, call_id: &str, cseq: u32, ua: [u8; 4], body: Option<&str>) -> Vec<u8> {
    let start = format!("{method} sip:200@pbx.example.net SIP/2.0");
    let contact = format!("sip:100@{}:5060", Ipv4Addr::from(ua));
    // Only the INVITE starts the dialog without the callee's tag.
    sip(
        &start,
        method,
        call_id,
        cseq,
        ua,
        method != "INVITE",
        &contact,
        body,
    )
}

fn sip_response(
    code: u16,
    method: &str,
    call_id: &str,
    cseq: u32,
    ua: [u8; 4],
    body: Option<&str>,
) -> Vec<u8> {
    let start = format!("SIP/2.0 {code} OK");
    sip(
        &start,
        method,
        call_id,
        cseq,
        ua,
        true,
        "sip:200@198.51.100.10:5060",
        body,
    )
}

#[allow(clippy::too_many_arguments)]
fn sip(
    start: &str,
    method: &str,
    call_id: &str,
    cseq: u32,
    ua: [u8; 4],
    to_tag: bool,
    contact: &str,
    body: Option<&str>,
) -> Vec<u8> {
    let ua = Ipv4Addr::from(ua);
    let body = body.unwrap_or("");
    let ctype = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    format!(
        "{start}\r\nVia: SIP/2.0/UDP {ua}:5060;branch=z9hG4bK{cseq}{method}\r\n\
         From: <sip:100@pbx.example.net>;tag=a1\r\nTo: <sip:200@pbx.example.net>{}\r\n\
         Call-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContact: <{contact}>\r\n\
         Max-Forwards: 70\r\n{ctype}Content-Length: {}\r\n\r\n{body}",
        if to_tag { ";tag=b2" } else { "" },
        body.len()
    )
    .into_bytes()
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn a_long_run_loses_no_record_and_stays_flat_in_memory() {
    soak("1", 60_000);
}

/// The same with two threads, which split the traffic by client and each
/// write their records as their flows and calls end.
#[test]
fn a_long_run_on_two_threads_loses_no_record_and_stays_flat_in_memory() {
    soak("2", 40_000);
}

fn soak(threads: &str, flows: u64) {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("SKIPPED: no /proc to read memory from");
        return;
    }
    let flows: u64 = std::env::var("VCSCOPE_SOAK_FLOWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(flows);
    let mut child = Command::new(bin())
        .args([
            "read",
            "-",
            "--format",
            "ndjson",
            "--all-flows",
            "--no-progress",
            "--threads",
            threads,
        ])
        .args(["--interval", &INTERVAL_S.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vcscope");
    let pid = child.id();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();

    // The records, counted as they come.
    let reader = std::thread::spawn(move || {
        let mut ids = std::collections::HashSet::new();
        let (mut flow_records, mut calls, mut intervals) = (0u64, 0u64, 0u64);
        // Call records after the last heartbeat: written at the end.
        let mut calls_late = 0u64;
        let mut summary = serde_json::Value::Null;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            match v["type"].as_str().unwrap() {
                "flow" => {
                    flow_records += 1;
                    ids.insert(v["id"].as_u64().unwrap());
                }
                "call" if v["state"] != "inferred" => {
                    calls += 1;
                    calls_late += 1;
                }
                "interval" => {
                    intervals += 1;
                    calls_late = 0;
                }
                "summary" => summary = v,
                _ => {}
            }
        }
        (
            flow_records,
            ids.len() as u64,
            calls,
            calls_late,
            intervals,
            summary,
        )
    });

    // Resident memory, sampled while the generator writes: the peak up to
    // the end of the warm-up (a fifth of the flows, and twice the idle
    // timeout and the settling time, so that as many flows are live, held
    // and let go as will be), after it, and at the end, when the flows
    // still live and the calls, relays and summary are written at once.
    let phase = Arc::new(AtomicU64::new(0));
    let sampler = {
        let phase = phase.clone();
        std::thread::spawn(move || {
            let mut peak = [0u64; 3];
            loop {
                let p = phase.load(Ordering::Relaxed);
                if p == 3 {
                    break;
                }
                if let Some(kib) = rss_kib(pid) {
                    peak[p as usize] = peak[p as usize].max(kib);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };

    let mut g = Gen::new(BufWriter::with_capacity(1 << 16, stdin));
    let mut s = T0_S;
    let mut warm_flows = 0;
    while g.made.flows < flows {
        g.second(s);
        g.flush();
        if s % 600 == 0 {
            g.prune(s * US);
        }
        if warm_flows == 0 && g.made.flows >= flows / 5 && s - T0_S >= 2 * IDLE_S + SETTLED_S {
            warm_flows = g.made.flows;
            phase.store(1, Ordering::Relaxed);
        }
        if std::env::var_os("VCSCOPE_SOAK_TRACE").is_some() && (s - T0_S) % 300 == 0 {
            eprintln!(
                "{} s: {} flows, RSS {:?} KiB",
                s - T0_S,
                g.made.flows,
                rss_kib(pid)
            );
        }
        s += 1;
    }
    // Let the last calls end.
    for _ in 0..120 {
        g.second_calls_only(s);
        s += 1;
    }
    let made = std::mem::take(&mut g.made);
    g.out.flush().unwrap();
    // The pipe holds at most a few frames: vcscope is at the end of the
    // input when it has read them.
    std::thread::sleep(Duration::from_millis(200));
    phase.store(2, Ordering::Relaxed);
    drop(g);
    let status = child.wait().unwrap();
    phase.store(3, Ordering::Relaxed);
    let [before, after, end] = sampler.join().unwrap();
    let (flow_records, ids, calls, calls_late, intervals, summary) = reader.join().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "vcscope: {stderr}");

    eprintln!(
        "soak ({threads} threads): {} packets, {} flows, {} calls, {} s of packet time; \
         peak RSS {before} KiB in the warm-up, {after} KiB after, {end} KiB writing the end",
        made.packets,
        made.flows,
        made.calls,
        s - T0_S
    );
    assert_eq!(summary["source"]["packets"].as_u64(), Some(made.packets));
    assert_eq!(flow_records, made.flows, "one record per flow");
    assert_eq!(ids, made.flows, "no record twice");
    assert_eq!(calls, made.calls, "one record per call");
    assert_eq!(intervals, (s - T0_S) / INTERVAL_S, "heartbeats");
    // A call's record comes a minute after its BYE: after the last
    // heartbeat come only those of the calls that ended since (the twenty
    // phones call every 40 minutes) or that still went on.
    let late_bound = 20 * (INTERVAL_S + 120).div_ceil(2400);
    assert!(
        calls > late_bound && calls_late <= late_bound,
        "{calls_late} of {calls} call records written at the end"
    );
    assert!(
        before > 0 && after > 0,
        "RSS sampled ({before}, {after} KiB)"
    );
    let flat = after * 10 <= before * 11 + 10 * 1024;
    eprintln!(
        "soak: {:.1} % above the warm-up's peak after it (bound: 10 % and 1 MiB)",
        (after as f64 / before as f64 - 1.0) * 100.0
    );
    assert!(
        flat,
        "peak RSS grew from {before} KiB in the warm-up to {after} KiB over {} flows",
        made.flows - warm_flows
    );
}

impl<W: Write> Gen<W> {
    /// A second with only the calls going on (no new flows of other kinds).
    fn second_calls_only(&mut self, s: u64) {
        let base = s * US;
        for phone in 0..20u64 {
            if s < T0_S + phone * 120 {
                continue;
            }
            let offset = s - (T0_S + phone * 120);
            let (phase, call) = (offset % 2400, offset / 2400);
            // Only calls already started finish; no new call starts.
            if phase > 0 {
                self.call_second(base, phone as u8, phone * 1_000_000 + call, phase);
            }
        }
        self.flush();
    }
}

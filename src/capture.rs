//! The only I/O of the engine: libpcap handles for files and interfaces, and
//! a lending loop that hands each borrowed frame to the [`Analyzer`].
//!
//! The loop tells end of file, a live timeout and a real error apart
//! (never `while let Ok(..)`): a truncated last record is a warning, a
//! corrupt record is an error naming the file and offset, and in both cases
//! what was read before is kept.

use std::fmt;
use std::io::{IsTerminal, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pcap::{Activated, Capture, Precision};

use crate::engine::Analyzer;
use crate::packet::LinkType;
use crate::time::Nanos;

/// A failure that ends the run (exit code 2), as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureError(pub String);

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CaptureError {}

fn err(msg: impl Into<String>) -> CaptureError {
    CaptureError(msg.into())
}

/// How a read ended when it did not end cleanly but the report can still be written.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    /// A corrupt record stopped a file: the report is partial and the run exits 2.
    pub fatal: Option<CaptureError>,
}

/// Options shared by `read` and `live`.
#[derive(Debug, Clone, Default)]
pub struct CaptureOptions {
    pub filter: Option<String>,
    pub progress: bool,
}

const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Pcap,
    PcapNg,
    Stdin,
}

/// Checks that `path` is a readable pcap or pcapng file, with a clear message if not.
fn check_file(path: &str) -> Result<FileKind, CaptureError> {
    if path == "-" {
        return Ok(FileKind::Stdin);
    }
    let p = Path::new(path);
    let meta = std::fs::metadata(p).map_err(|e| io_err(path, &e))?;
    if meta.is_dir() {
        return Err(err(format!("{path}: is a directory, not a capture file")));
    }
    let mut magic = [0u8; 4];
    let mut f = std::fs::File::open(p).map_err(|e| io_err(path, &e))?;
    let n = f.read(&mut magic).map_err(|e| io_err(path, &e))?;
    if n < 4 {
        return Err(err(format!(
            "{path}: not a capture file (only {n} bytes; a pcap or pcapng file starts with a 4-byte magic number)"
        )));
    }
    if PCAP_MAGICS.contains(&magic) {
        Ok(FileKind::Pcap)
    } else if magic == PCAPNG_MAGIC {
        Ok(FileKind::PcapNg)
    } else {
        Err(err(format!(
            "{path}: not a pcap or pcapng capture (unknown magic number {:02x}{:02x}{:02x}{:02x})",
            magic[0], magic[1], magic[2], magic[3]
        )))
    }
}

fn io_err(path: &str, e: &std::io::Error) -> CaptureError {
    use std::io::ErrorKind::*;
    let why = match e.kind() {
        NotFound => "no such file".to_string(),
        PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    err(format!("cannot read {path}: {why}"))
}

fn pcap_msg(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(s) => s.clone(),
        other => other.to_string(),
    }
}

fn open_offline(path: &str) -> Result<Capture<pcap::Offline>, CaptureError> {
    Capture::from_file_with_precision(path, Precision::Nano).map_err(|e| {
        let m = pcap_msg(&e);
        if path == "-" {
            err(format!(
                "standard input: not a readable pcap or pcapng capture ({m})"
            ))
        } else {
            err(format!("{path}: cannot open capture ({m})"))
        }
    })
}

fn link_type_of<T: Activated + ?Sized>(
    cap: &Capture<T>,
    what: &str,
) -> Result<LinkType, CaptureError> {
    let dl = cap.get_datalink();
    LinkType::from_dlt(dl.0).ok_or_else(|| {
        let name = dl.get_name().unwrap_or_else(|_| "unknown".into());
        err(format!(
            "{what}: unsupported link type {} ({name}); supported: Ethernet, Linux cooked v1/v2, raw IP, BSD loopback, PPP",
            dl.0
        ))
    })
}

fn apply_filter<T: Activated + ?Sized>(
    cap: &mut Capture<T>,
    filter: &Option<String>,
) -> Result<(), CaptureError> {
    if let Some(f) = filter {
        cap.filter(f, true)
            .map_err(|e| err(format!("invalid --filter '{f}': {}", pcap_msg(&e))))?;
    }
    Ok(())
}

/// First packet time of a file, to order several files (0 when empty or unreadable).
fn first_ts(path: &str) -> u64 {
    match Capture::from_file_with_precision(path, Precision::Nano) {
        Ok(mut c) => match c.next_packet() {
            Ok(p) => ts_of(p.header).0,
            Err(_) => 0,
        },
        Err(_) => 0,
    }
}

#[inline]
fn ts_of(h: &pcap::PacketHeader) -> Nanos {
    // Opened with nanosecond precision: tv_usec holds nanoseconds.
    Nanos::from_timeval(h.ts.tv_sec, h.ts.tv_usec, 1_000_000_000)
}

/// Reads the files as one analysis. Files are checked before any is read,
/// then read in the order of their first packet's time.
pub fn read_files(
    paths: &[String],
    opts: &CaptureOptions,
    analyzer: &mut Analyzer,
) -> Result<ReadOutcome, CaptureError> {
    let mut kinds = Vec::with_capacity(paths.len());
    for p in paths {
        kinds.push(check_file(p)?);
    }
    if paths.iter().filter(|p| *p == "-").count() > 1 {
        return Err(err("standard input ('-') can be read only once"));
    }
    // Validate every file (format, link type, filter) before analysing any.
    for (p, k) in paths.iter().zip(&kinds) {
        if *k != FileKind::Stdin {
            let mut cap = open_offline(p)?;
            link_type_of(&cap, p)?;
            apply_filter(&mut cap, &opts.filter)?;
        }
    }
    let mut order: Vec<usize> = (0..paths.len()).collect();
    if paths.len() > 1 {
        let firsts: Vec<u64> = paths
            .iter()
            .zip(&kinds)
            .map(|(p, k)| {
                if *k == FileKind::Stdin {
                    0
                } else {
                    first_ts(p)
                }
            })
            .collect();
        order.sort_by_key(|&i| firsts[i]);
    }
    let mut outcome = ReadOutcome::default();
    for i in order {
        let (path, kind) = (&paths[i], kinds[i]);
        if let Some(fatal) = read_one(path, kind, opts, analyzer)? {
            outcome.fatal = Some(fatal);
            break;
        }
    }
    Ok(outcome)
}

/// Reads one file; `Ok(Some(e))` when a corrupt record stopped it.
fn read_one(
    path: &str,
    kind: FileKind,
    opts: &CaptureOptions,
    analyzer: &mut Analyzer,
) -> Result<Option<CaptureError>, CaptureError> {
    let mut cap = open_offline(path)?;
    let link = link_type_of(&cap, path)?;
    apply_filter(&mut cap, &opts.filter)?;
    let shown = if path == "-" { "standard input" } else { path };
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = (opts.progress
        && kind != FileKind::Stdin
        && size > 8 << 20
        && std::io::stderr().is_terminal())
    .then(|| progress_bar(size, shown));
    // Offset of the next record: exact for pcap, an estimate for pcapng.
    let (mut offset, per_record) = match kind {
        FileKind::PcapNg => (0u64, 32u64),
        _ => (24u64, 16u64),
    };
    let mut n: u64 = 0;
    loop {
        match cap.next_packet() {
            Ok(p) => {
                n += 1;
                offset += per_record + u64::from(p.header.caplen);
                analyzer.process(link, ts_of(p.header), p.data, p.header.len);
                if let Some(b) = &bar {
                    if n % 16_384 == 0 {
                        b.set_position(offset.min(size));
                    }
                }
            }
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => {
                let m = pcap_msg(&e);
                let at = if kind == FileKind::Pcap {
                    format!("record {} at byte offset {offset}", n + 1)
                } else {
                    format!("record {} (after packet {n})", n + 1)
                };
                if m.contains("truncated") {
                    analyzer.ctx.warnings.add("capture-truncated", || {
                        format!(
                            "{shown}: {at} is cut short ({m}); the packets before it were analysed"
                        )
                    });
                    break;
                }
                if let Some(b) = bar {
                    b.finish_and_clear();
                }
                return Ok(Some(err(format!("{shown}: corrupt {at}: {m}"))));
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(None)
}

fn progress_bar(size: u64, name: &str) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(size);
    b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message(name.to_string());
    b
}

/// Options of a live capture.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub interface: String,
    pub snaplen: i32,
    pub duration: Option<Duration>,
    pub capture: CaptureOptions,
    /// Drop root to this user once the capture is open.
    pub user: Option<String>,
}

/// Gives up root for `name`'s user and group ids (and only that group), so
/// the analysis of hostile packets runs unprivileged.
pub fn drop_privileges(name: &str) -> Result<(), CaptureError> {
    use nix::unistd::{setgid, setgroups, setuid, User};
    let user = User::from_name(name)
        .map_err(|e| err(format!("--user {name}: cannot look the user up: {e}")))?
        .ok_or_else(|| err(format!("--user {name}: no such user")))?;
    setgroups(&[user.gid])
        .and_then(|_| setgid(user.gid))
        .and_then(|_| setuid(user.uid))
        .map_err(|e| err(format!("--user {name}: cannot switch to that user: {e}")))?;
    if nix::unistd::geteuid().is_root() && !user.uid.is_root() {
        return Err(err(format!("--user {name}: still root after switching")));
    }
    Ok(())
}

/// Opens an interface in promiscuous mode, with a clear message on failure.
fn open_live(o: &LiveOptions) -> Result<(Capture<pcap::Active>, LinkType), CaptureError> {
    let iface = &o.interface;
    let devices = pcap::Device::list()
        .map_err(|e| err(format!("cannot list interfaces: {}", pcap_msg(&e))))?;
    let Some(dev) = devices.into_iter().find(|d| &d.name == iface) else {
        return Err(err(format!(
            "no such interface: {iface} (see `ip link` for the names on this machine)"
        )));
    };
    let cap = Capture::from_device(dev)
        .and_then(|c| {
            c.promisc(true)
                .snaplen(o.snaplen)
                .timeout(200)
                .immediate_mode(true)
                .buffer_size(16 << 20)
                .precision(Precision::Nano)
                .open()
        })
        .map_err(|e| {
            let m = pcap_msg(&e);
            if m.contains("ermission") || m.contains("not permitted") {
                err(format!(
                    "cannot capture on {iface}: permission denied (run as root, or give the binary CAP_NET_RAW and CAP_NET_ADMIN)"
                ))
            } else {
                err(format!("cannot capture on {iface}: {m}"))
            }
        })?;
    let mut cap = cap;
    let link = link_type_of(&cap, iface)?;
    apply_filter(&mut cap, &o.capture.filter)?;
    Ok((cap, link))
}

/// Captures until `stop` is set or the duration elapses. `on_tick` runs after
/// packets and periodically, for streaming output.
///
/// libpcap may keep waiting inside one read while the interface is quiet, so
/// a watcher thread breaks the read loop (`pcap_breakloop`) once the capture
/// should stop; what is already in the ring is then read before the report.
pub fn live(
    o: &LiveOptions,
    stop: Arc<AtomicBool>,
    analyzer: &mut Analyzer,
    mut on_tick: impl FnMut(&mut Analyzer),
) -> Result<(), CaptureError> {
    let (mut cap, mut link) = open_live(o)?;
    if let Some(u) = &o.user {
        drop_privileges(u)?;
    }
    let deadline = o.duration.map(|d| Instant::now() + d);
    let should_stop = {
        let stop = Arc::clone(&stop);
        move || stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d)
    };
    let breaker: Arc<Mutex<Option<pcap::BreakLoop>>> =
        Arc::new(Mutex::new(Some(cap.breakloop_handle())));
    let finished = Arc::new(AtomicBool::new(false));
    let watcher = {
        let breaker = Arc::clone(&breaker);
        let finished = Arc::clone(&finished);
        let should_stop = should_stop.clone();
        std::thread::spawn(move || {
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                if should_stop() {
                    if let Ok(b) = breaker.lock() {
                        if let Some(b) = b.as_ref() {
                            b.breakloop();
                        }
                    }
                }
            }
        })
    };
    let mut dropped_before: u64 = 0;
    let mut last_tick = Instant::now();
    let result = loop {
        if should_stop() {
            break Ok(());
        }
        match cap.next_packet() {
            Ok(p) => {
                analyzer.process(link, ts_of(p.header), p.data, p.header.len);
            }
            Err(pcap::Error::TimeoutExpired) => {}
            // pcap_breakloop: the watcher asks us to stop.
            Err(pcap::Error::NoMorePackets) => {
                if should_stop() {
                    break Ok(());
                }
            }
            Err(e) => {
                if should_stop() {
                    break Ok(());
                }
                // Interface down or gone: keep what we have, wait, reopen.
                let m = pcap_msg(&e);
                if let Ok(s) = cap.stats() {
                    dropped_before += u64::from(s.dropped) + u64::from(s.if_dropped);
                }
                analyzer.ctx.warnings.add("capture-interrupted", || {
                    format!("{}: {m}; capture reopened", o.interface)
                });
                let reopened = loop {
                    if should_stop() {
                        break None;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                    if let Ok(c) = open_live(o) {
                        break Some(c);
                    }
                };
                match reopened {
                    Some((c, l)) => {
                        cap = c;
                        link = l;
                        if let Ok(mut b) = breaker.lock() {
                            *b = Some(cap.breakloop_handle());
                        }
                    }
                    None => break Ok(()),
                }
            }
        }
        if last_tick.elapsed() >= Duration::from_millis(250) {
            last_tick = Instant::now();
            if let Ok(s) = cap.stats() {
                analyzer
                    .set_dropped(dropped_before + u64::from(s.dropped) + u64::from(s.if_dropped));
            }
            on_tick(analyzer);
        }
    };
    finished.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    if let Ok(s) = cap.stats() {
        analyzer.set_dropped(dropped_before + u64::from(s.dropped) + u64::from(s.if_dropped));
    }
    // Frames already captured are part of the analysis: read them without waiting.
    if let Ok(mut cap) = cap.setnonblock() {
        for _ in 0..1_000_000 {
            match cap.next_packet() {
                Ok(p) => analyzer.process(link, ts_of(p.header), p.data, p.header.len),
                Err(_) => break,
            }
        }
    }
    on_tick(analyzer);
    result
}

//! The only I/O of the engine: capture files read by [`pcapfile`] (pcap and
//! pcapng framed from shared blocks), standard input, libpcap for
//! interfaces, and a lending loop that hands each borrowed frame to a
//! [`FrameSink`]. It knows no analyzer: what it finds odd in the input it
//! reports to the sink as warnings.
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

use crate::capture::pcapfile::{Block, FileReader, OpenError, ReadError};
use crate::packet::LinkType;
use crate::time::Nanos;

pub mod export;
pub mod pcapfile;
pub mod sequence;

/// What the capture layer hands its frames to (the analyzer; with
/// `--threads`, the analyzer of the reading thread, which routes them). The
/// capture knows nothing else of it.
pub trait FrameSink {
    /// One frame of `link`, captured at `ts`, `wire_len` bytes on the wire.
    fn frame(&mut self, link: LinkType, ts: Nanos, data: &[u8], wire_len: u32);
    /// A record whose link type cannot be decoded: counted, not analysed.
    fn unreadable(&mut self, wire_len: u32);
    /// An oddity of the input, counted under `kind` with a first example.
    fn warn(&mut self, kind: &'static str, example: impl FnOnce() -> String);
    /// True when frames must be lent with their block ([`FrameSink::lend`]):
    /// other threads read them after the reader moved on.
    fn lends(&self) -> bool {
        false
    }
    /// The block the next frames borrow from.
    fn lend(&mut self, _block: &Block) {}
    /// Frames the kernel or the interface dropped so far (live capture).
    fn set_dropped(&mut self, _dropped: u64) {}
}

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
    /// Stop after this many packets (those the filter passes), as tcpdump's `-c`.
    pub max_packets: Option<u64>,
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
    /// A pcap or pcapng file (told apart by [`FileReader`]).
    File,
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
    if PCAP_MAGICS.contains(&magic) || magic == PCAPNG_MAGIC {
        Ok(FileKind::File)
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

/// Opens a capture file (or standard input for "-") with vcscope's own
/// block reader ([`crate::capture::pcapfile`]).
fn open_reader(path: &str) -> Result<FileReader<Box<dyn Read>>, CaptureError> {
    let src: Box<dyn Read> = if path == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| io_err(path, &e))?)
    };
    let shown = if path == "-" { "standard input" } else { path };
    let mut r = FileReader::new(src).map_err(|e| match e {
        OpenError::NotCapture(m) if path == "-" => err(format!(
            "standard input: not a readable pcap or pcapng capture ({m})"
        )),
        OpenError::NotCapture(m) => err(format!("{path}: not a pcap or pcapng capture ({m})")),
        OpenError::BadHeader(m) => err(format!("{shown}: cannot open capture ({m})")),
        OpenError::Io(m) => err(format!("cannot read {shown}: {m}")),
    })?;
    r.peek_interfaces().map_err(|e| match e {
        ReadError::Io(m) => err(format!("cannot read {shown}: {m}")),
        ReadError::Truncated { why, offset, .. } | ReadError::Corrupt { why, offset, .. } => err(
            format!("{shown}: cannot open capture ({why}, at byte offset {offset})"),
        ),
    })?;
    Ok(r)
}

/// The engine's decoder for a LINKTYPE_ value, or a message naming it.
fn link_type(linktype: u32, what: &str) -> Result<LinkType, CaptureError> {
    i32::try_from(linktype)
        .ok()
        .and_then(LinkType::from_dlt)
        .ok_or_else(|| unsupported_link(linktype as i32, what))
}

fn unsupported_link(dlt: i32, what: &str) -> CaptureError {
    let name = pcap::Linktype(dlt)
        .get_name()
        .unwrap_or_else(|_| "unknown".into());
    err(format!(
        "{what}: unsupported link type {dlt} ({name}); supported: Ethernet, Linux cooked v1/v2, raw IP, BSD loopback, PPP"
    ))
}

fn link_type_of<T: Activated + ?Sized>(
    cap: &Capture<T>,
    what: &str,
) -> Result<LinkType, CaptureError> {
    let dl = cap.get_datalink();
    LinkType::from_dlt(dl.0).ok_or_else(|| unsupported_link(dl.0, what))
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

/// `--filter` for saved files: libpcap compiles it once per link type and
/// runs it with `pcap_offline_filter` on each borrowed record.
struct OfflineFilter {
    text: String,
    /// Compiled programs by LINKTYPE_ value (`None`: unsupported link type).
    programs: Vec<(u32, pcap::BpfProgram)>,
}

impl OfflineFilter {
    fn new(text: &str, linktype: u32) -> Result<Self, CaptureError> {
        let mut f = OfflineFilter {
            text: text.to_string(),
            programs: Vec::new(),
        };
        f.program(linktype)?;
        Ok(f)
    }

    fn program(&mut self, linktype: u32) -> Result<&pcap::BpfProgram, CaptureError> {
        if let Some(i) = self.programs.iter().position(|(l, _)| *l == linktype) {
            return Ok(&self.programs[i].1);
        }
        // LINKTYPE_RAW is DLT_RAW for libpcap's compiler.
        let dlt = if linktype == 101 { 12 } else { linktype as i32 };
        let prog = Capture::dead(pcap::Linktype(dlt))
            .and_then(|c| c.compile(&self.text, true))
            .map_err(|e| {
                err(format!(
                    "invalid --filter '{}': {}",
                    self.text,
                    pcap_msg(&e)
                ))
            })?;
        self.programs.push((linktype, prog));
        Ok(&self.programs[self.programs.len() - 1].1)
    }

    #[inline]
    fn matches(&mut self, linktype: u32, data: &[u8]) -> bool {
        self.program(linktype).is_ok_and(|p| p.filter(data))
    }
}

/// First packet time of a file, to order several files (0 when empty or unreadable).
fn first_ts(path: &str) -> u64 {
    match open_reader(path) {
        Ok(mut r) => match r.next_record() {
            Ok(Some(rec)) => rec.ts.0,
            _ => 0,
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
pub fn read_files<S: FrameSink>(
    paths: &[String],
    opts: &CaptureOptions,
    analyzer: &mut S,
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
            let r = open_reader(p)?;
            if let Some(lt) = r.first_linktype() {
                link_type(lt, p)?;
                if let Some(f) = &opts.filter {
                    OfflineFilter::new(f, lt)?;
                }
            }
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
    let mut left = opts.max_packets.unwrap_or(u64::MAX);
    for i in order {
        if left == 0 {
            break;
        }
        let (path, kind) = (&paths[i], kinds[i]);
        if let Some(fatal) = read_one(path, kind, opts, analyzer, &mut left)? {
            outcome.fatal = Some(fatal);
            break;
        }
    }
    Ok(outcome)
}

/// Reads one file; `Ok(Some(e))` when a corrupt record stopped it.
fn read_one<S: FrameSink>(
    path: &str,
    kind: FileKind,
    opts: &CaptureOptions,
    analyzer: &mut S,
    left: &mut u64,
) -> Result<Option<CaptureError>, CaptureError> {
    let shown = if path == "-" { "standard input" } else { path };
    let mut reader = open_reader(path)?;
    let mut filter = None;
    if let Some(lt) = reader.first_linktype() {
        link_type(lt, shown)?;
        if let Some(f) = &opts.filter {
            filter = Some(OfflineFilter::new(f, lt)?);
        }
    }
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let bar = (opts.progress
        && kind != FileKind::Stdin
        && size > 8 << 20
        && std::io::stderr().is_terminal())
    .then(|| progress_bar(size, shown));
    // The decoder of the last link type seen (pcapng interfaces may differ).
    let mut link_cache: (u32, Option<LinkType>) = (u32::MAX, None);
    let mut n: u64 = 0;
    // Asked once: with one thread, records need not be lent.
    let lends = analyzer.lends();
    let fatal = loop {
        if *left == 0 {
            break None;
        }
        match reader.next_record() {
            Ok(Some(rec)) => {
                n += 1;
                if rec.linktype != link_cache.0 {
                    let lt = link_type(rec.linktype, shown);
                    if let Err(e) = &lt {
                        let m = e.0.clone();
                        analyzer.warn("unsupported-link-type", || m);
                    }
                    link_cache = (rec.linktype, lt.ok());
                }
                let Some(link) = link_cache.1 else {
                    analyzer.unreadable(rec.wire_len);
                    continue;
                };
                if let Some(f) = filter.as_mut() {
                    if !f.matches(rec.linktype, rec.data) {
                        continue;
                    }
                }
                if let (true, Some(b)) = (lends, rec.block) {
                    analyzer.lend(b);
                }
                analyzer.frame(link, rec.ts, rec.data, rec.wire_len);
                *left -= 1;
                if let Some(b) = &bar {
                    if n % 16_384 == 0 {
                        b.set_position(rec.offset.min(size));
                    }
                }
            }
            Ok(None) => break None,
            Err(ReadError::Truncated {
                number,
                offset,
                why,
            }) => {
                analyzer.warn("capture-truncated", || {
                    format!(
                        "{shown}: record {number} at byte offset {offset} is cut short ({why}); the packets before it were analysed"
                    )
                });
                break None;
            }
            Err(ReadError::Corrupt {
                number,
                offset,
                why,
            }) => {
                break Some(err(format!(
                    "{shown}: corrupt record {number} at byte offset {offset}: {why}"
                )))
            }
            Err(ReadError::Io(m)) => {
                break Some(err(format!(
                    "{shown}: read error at byte offset {}: {m}",
                    reader.offset()
                )))
            }
        }
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(fatal)
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

/// The interfaces libpcap can capture from: name, then a description
/// (flags and addresses) for `vcscope -D`.
pub fn interfaces() -> Result<Vec<(String, String)>, CaptureError> {
    let devices = pcap::Device::list()
        .map_err(|e| err(format!("cannot list interfaces: {}", pcap_msg(&e))))?;
    Ok(devices
        .into_iter()
        .map(|d| {
            let mut what = Vec::new();
            if let Some(desc) = &d.desc {
                what.push(desc.clone());
            }
            if d.flags.is_up() {
                what.push("up".into());
            }
            if d.flags.is_running() {
                what.push("running".into());
            }
            if d.flags.is_loopback() {
                what.push("loopback".into());
            }
            for a in &d.addresses {
                what.push(a.addr.to_string());
            }
            (d.name, what.join(", "))
        })
        .collect())
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
    /// Bytes of the kernel's capture ring: what absorbs a burst while the
    /// analysis catches up.
    pub buffer_size: i32,
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

/// Milliseconds after which the kernel hands over a capture block that is
/// not full: the longest a packet waits before the analysis sees it.
const BLOCK_TIMEOUT_MS: i32 = 200;

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
            // No immediate mode: libpcap then reads the ring as TPACKET_V3
            // blocks, which pack frames by their captured length (a 64 MiB
            // ring holds some 180,000 frames of a videoconferencing mix) and
            // wake the reader once per block, not per frame. Immediate mode
            // falls back to TPACKET_V2, one slot of the full snaplen a frame
            // (about 1,000 slots), which a burst fills within milliseconds.
            // A block is handed over when full or after the timeout.
            c.promisc(true)
                .snaplen(o.snaplen)
                .timeout(BLOCK_TIMEOUT_MS)
                .buffer_size(o.buffer_size)
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
pub fn live<S: FrameSink>(
    o: &LiveOptions,
    stop: Arc<AtomicBool>,
    analyzer: &mut S,
    mut on_tick: impl FnMut(&mut S),
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
    let mut left = o.capture.max_packets.unwrap_or(u64::MAX);
    let result = loop {
        if should_stop() || left == 0 {
            break Ok(());
        }
        match cap.next_packet() {
            Ok(p) => {
                analyzer.frame(link, ts_of(p.header), p.data, p.header.len);
                left -= 1;
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
                analyzer.warn("capture-interrupted", || {
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
    // Frames already captured are part of the analysis, also those of the
    // block the kernel is still filling: it is handed over within the block
    // timeout, so the ring is read without waiting until a block timeout
    // has passed since the stop and nothing more came (a bounded number of
    // frames, so a flood cannot keep the report from being written).
    if let Ok(mut cap) = cap.setnonblock() {
        let settle = Duration::from_millis(BLOCK_TIMEOUT_MS as u64 + 50);
        let stopped = Instant::now();
        let mut budget: u32 = 1_000_000;
        while left > 0 && budget > 0 {
            match cap.next_packet() {
                Ok(p) => {
                    analyzer.frame(link, ts_of(p.header), p.data, p.header.len);
                    left -= 1;
                    budget -= 1;
                }
                Err(pcap::Error::TimeoutExpired) if stopped.elapsed() < settle => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => break,
            }
        }
        if let Ok(s) = cap.stats() {
            analyzer.set_dropped(dropped_before + u64::from(s.dropped) + u64::from(s.if_dropped));
        }
    }
    on_tick(analyzer);
    result
}

//! Running a command: build the analyzer, drive the capture, write the
//! report, and decide the exit code (0 ok, 1 warnings with `--strict`, 2 usage
//! or input error).

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::capture::{self, CaptureError, CaptureOptions, LiveOptions};
use crate::cli::{Cli, Command, CommonArgs};
use crate::engine::Config;
use crate::flow::FlowLimits;
use crate::output::{Clock, Pattern, RecordSink};
use crate::report::spill::{Spill, SpillReader};
use crate::report::{Format, Report};
use crate::time::Nanos;

pub const EXIT_OK: i32 = 0;
pub const EXIT_WARNINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

/// Worker threads `read --threads` accepts at most.
pub const MAX_THREADS: usize = 64;

fn fail(msg: impl std::fmt::Display) -> i32 {
    eprintln!("vcscope: error: {msg}");
    EXIT_ERROR
}

/// Runs the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    let common = match &cli.command {
        Command::Read(a) => Some(&a.common),
        Command::Live(a) => Some(&a.common),
        _ => None,
    };
    if let Some(name) = common.and_then(|c| c.sensor.as_deref()) {
        crate::report::set_sensor(name);
    }
    match cli.command {
        Command::Read(a) => {
            if let Err(e) = check_threads(&a.common) {
                return fail(e);
            }
            let (paths, words) = match a.files_and_filter() {
                Ok(x) => x,
                Err(e) => return fail(e),
            };
            let filter = match filter_of(&a.common, &words) {
                Ok(f) => f,
                Err(e) => return fail(e),
            };
            let opts = CaptureOptions {
                filter: filter.clone(),
                progress: !a.no_progress,
                max_packets: a.common.count,
            };
            if let Err(e) = check_output(&a.common.output, &paths) {
                return fail(e);
            }
            if let Err(e) = check_export(&a, &paths) {
                return fail(e);
            }
            let geo = match open_geoip(&a.common) {
                Ok(g) => g,
                Err(e) => return fail(e),
            };
            // NDJSON streams flow records as flows end, and lets them go.
            let streaming = streams(&a.common);
            if let Err(e) = check_interval(&a.common, streaming) {
                return fail(e);
            }
            let interval = a.common.interval.map(Nanos::from_secs);
            let sink = match sink_of(&a.common, streaming, Clock::Packet) {
                Ok(s) => s.map(Mutex::new),
                Err(e) => return fail(e),
            };
            let threads = a.common.threads;
            let shares = Shares::new(threads, interval.is_some());
            let mut spill = Spilling::default();
            let res = if let Some(sink) = &sink {
                // An exported call's flows must stay for the export.
                let calls = a.export_call.is_none() && a.export_calls.is_none();
                let cfg = config(&a.common);
                run_streaming(&cfg, threads, sink, interval, calls, &shares, |s| {
                    capture::read_files(&paths, &opts, s)
                })
            } else if spills(&a.common) {
                crate::shard::run(&config(&a.common), 1, |an| {
                    let mut s = Spiller {
                        an,
                        spill: &mut spill,
                    };
                    let r = capture::read_files(&paths, &opts, &mut s);
                    s.end();
                    r
                })
                .map(|(an, r)| (vec![an], r))
            } else {
                crate::shard::read_files(&paths, &opts, &config(&a.common), threads)
                    .map(|(an, r)| (vec![an], r))
            };
            let (ans, outcome) = match res {
                Ok(r) => r,
                Err(e) => return fail(filter_hint(e, &words)),
            };
            let files = paths
                .iter()
                .map(|f| {
                    if f == "-" {
                        "-".to_string()
                    } else {
                        display_name(f)
                    }
                })
                .collect();
            let Some((mut report, an)) = joined_report(ans, files, None, threads, streaming) else {
                return fail("the analysis ended without a result");
            };
            report.source.filter = filter;
            report.source.packet_limit = a.common.count;
            note_partition(&mut report, &a.common, an.stats().other_partitions);
            let exports = match exports_of(&a, &report) {
                Ok(x) => x,
                Err(e) => return fail(e),
            };
            let spilled = spill.conclude(&mut report, &an);
            let code = finish(
                report,
                geo.as_ref(),
                &a.common,
                threads,
                outcome.fatal.is_none(),
                sink.map(|m| {
                    m.into_inner()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                }),
                spilled,
            );
            // As with the report (see `finish`), the operating system takes
            // the analysis' memory back faster than freeing it piece by piece.
            std::mem::forget(an);
            if !exports.is_empty() {
                if let Err(e) = capture::export::export_calls(&paths, &exports) {
                    return fail(e);
                }
            }
            match outcome.fatal {
                Some(e) => fail(e),
                None => code,
            }
        }
        Command::Interfaces => match capture::interfaces() {
            Ok(list) if list.is_empty() => {
                fail("no interface to capture from (as root, or with CAP_NET_RAW)")
            }
            Ok(list) => {
                let mut out = io::stdout().lock();
                for (i, (name, what)) in list.iter().enumerate() {
                    let line = if what.is_empty() {
                        writeln!(out, "{}.{name}", i + 1)
                    } else {
                        writeln!(out, "{}.{name} [{what}]", i + 1)
                    };
                    // A closed pipe (`| head`) ends the list, not the program.
                    if line.is_err() {
                        break;
                    }
                }
                EXIT_OK
            }
            Err(e) => fail(e),
        },
        Command::Live(a) => {
            if let Err(e) = check_output(&a.common.output, &[]) {
                return fail(e);
            }
            if let Err(e) = check_threads(&a.common) {
                return fail(e);
            }
            let geo = match open_geoip(&a.common) {
                Ok(g) => g,
                Err(e) => return fail(e),
            };
            let stop = Arc::new(AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
                    return fail(format!("cannot install the signal handler: {e}"));
                }
            }
            let duration = match a.duration {
                Some(d) if d.is_finite() && d > 0.0 => Some(Duration::from_secs_f64(d)),
                Some(d) => {
                    return fail(format!(
                        "--duration {d}: must be a positive number of seconds"
                    ))
                }
                None => None,
            };
            let filter = match filter_of(&a.common, &a.filter_words) {
                Ok(f) => f,
                Err(e) => return fail(e),
            };
            let o = LiveOptions {
                interface: a.interface.clone(),
                snaplen: a.snaplen,
                duration,
                capture: CaptureOptions {
                    filter: filter.clone(),
                    progress: false,
                    max_packets: a.common.count,
                },
                user: a.user.clone(),
                buffer_size: a.buffer_size.saturating_mul(1 << 20),
            };
            // NDJSON streams flow records as flows end.
            let threads = a.common.threads;
            let streaming = streams(&a.common);
            if let Err(e) = check_interval(&a.common, streaming) {
                return fail(e);
            }
            let sink = match sink_of(&a.common, streaming, Clock::Wall) {
                Ok(s) => s.map(Mutex::new),
                Err(e) => return fail(e),
            };
            let interval = Some(Nanos::from_secs(a.common.interval.unwrap_or(60)));
            let format = resolve_format(&a.common);
            let status = !a.common.quiet && (a.stats || io::stderr().is_terminal());
            // Said once the interface is open (at the first tick), so that a
            // capture that cannot start says only why.
            let mut banner =
                (!a.common.quiet).then(|| live_banner(&o, format, &a.common, streaming));
            let mut last_status = std::time::Instant::now();
            let shares = Shares::new(threads, streaming);
            let mut alive = move |an: &crate::engine::Analyzer, shares: &Shares| {
                if let Some(b) = banner.take() {
                    eprintln!("vcscope: {b}");
                }
                if status && last_status.elapsed() >= Duration::from_secs(5) {
                    last_status = std::time::Instant::now();
                    status_line(an, shares);
                }
            };
            let mut spill = Spilling::default();
            let spilling = spills(&a.common);
            let cfg = config(&a.common);
            let res = if let Some(sink) = &sink {
                run_streaming(&cfg, threads, sink, interval, true, &shares, |s| {
                    capture::live(&o, stop, s, |s| {
                        alive(s.an, s.shares);
                        // Packets of a quiet link reach the workers too.
                        s.an.flush_dispatch();
                        s.flush();
                    })
                })
            } else {
                crate::shard::run(&cfg, threads, |an| {
                    if spilling {
                        let mut s = Spiller {
                            an,
                            spill: &mut spill,
                        };
                        let r = capture::live(&o, stop, &mut s, |s| alive(s.an, &shares));
                        s.end();
                        return r;
                    }
                    capture::live(&o, stop, an, |an| alive(an, &shares))
                })
                .map(|(an, r)| (vec![an], r))
            };
            let ans = match res {
                Ok((ans, ())) => ans,
                Err(e) => return fail(filter_hint(e, &a.filter_words)),
            };
            let interface = Some(a.interface.clone());
            let Some((mut report, an)) =
                joined_report(ans, Vec::new(), interface, threads, streaming)
            else {
                return fail("the analysis ended without a result");
            };
            report.source.filter = filter;
            report.source.packet_limit = a.common.count;
            note_partition(&mut report, &a.common, an.stats().other_partitions);
            let spilled = spill.conclude(&mut report, &an);
            finish(
                report,
                geo.as_ref(),
                &a.common,
                threads,
                true,
                sink.map(|m| {
                    m.into_inner()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                }),
                spilled,
            )
        }
    }
}

/// Whether flow records are written as flows end: NDJSON (to standard
/// output or `-o`) without `--redact`, `--resolve` or `--geoip` (which work
/// on the whole report at the end). With `--threads`, the threads split
/// the traffic by client ([`run_streaming`]).
fn streams(c: &CommonArgs) -> bool {
    resolve_format(c) == Format::Ndjson && !c.redact && !c.resolve && c.geoip.is_none()
}

/// Whether a JSON report may write the entries of ended flows early, to a
/// temporary file, once it holds more than [`SPILL_AFTER`] ended
/// flows: on one thread, without `--redact`, `--resolve` or `--geoip`
/// (which work on the whole report at the end), as streaming NDJSON.
fn spills(c: &CommonArgs) -> bool {
    resolve_format(c) == Format::Json
        && c.threads == 1
        && !c.redact
        && !c.resolve
        && c.geoip.is_none()
}

/// `--interval` needs streamed NDJSON: refused otherwise rather than ignored.
fn check_interval(c: &CommonArgs, streaming: bool) -> Result<(), String> {
    match c.interval {
        Some(s) if !streaming => Err(format!(
            "--interval {s}: heartbeat records come with streamed NDJSON \
             (--format ndjson, without --redact, --resolve or --geoip)"
        )),
        _ => Ok(()),
    }
}

/// Where streamed records go: standard output, or the files `-o` names
/// (time fields, `--rotate`, reopened on SIGHUP). `None` when the report
/// is written at the end, where a file pattern and `--rotate` are refused.
fn sink_of(c: &CommonArgs, streaming: bool, clock: Clock) -> Result<Option<RecordSink>, String> {
    let file = c.output.as_ref().filter(|p| p.as_os_str() != "-");
    if !streaming {
        let why = "comes with streamed NDJSON \
                   (--format ndjson, without --redact, --resolve or --geoip)";
        if c.rotate.is_some() {
            return Err(format!("--rotate {why}"));
        }
        if let Some(p) = file.filter(|p| Pattern::has_fields(p)) {
            return Err(format!(
                "-o {}: a file name with time fields {why}",
                p.display()
            ));
        }
        return Ok(None);
    }
    let Some(path) = file else {
        if c.rotate.is_some() {
            return Err("--rotate needs -o FILE: standard output is not rotated".into());
        }
        return Ok(Some(RecordSink::stdout(c.quiet)));
    };
    let pattern = Pattern::new(path, c.rotate)?;
    let hup = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup))
        .map_err(|e| format!("cannot install the SIGHUP handler: {e}"))?;
    Ok(Some(RecordSink::files(
        pattern, c.rotate, clock, hup, c.quiet,
    )))
}

/// The report after streaming: flows that ended before the capture did were
/// written already, but for those held back until their call was known.
fn streamed(report: &mut Report, an: &crate::engine::Analyzer) {
    report
        .flows
        .retain(|f| f.ended == "capture-end" || an.flow_deferred(f.id));
    report.flows_streamed = usize::try_from(an.flows_streamed()).unwrap_or(usize::MAX);
    report.calls_streamed = usize::try_from(an.calls_streamed()).unwrap_or(usize::MAX);
    report.leaks_streamed = usize::try_from(an.leaks_streamed()).unwrap_or(usize::MAX);
}

/// Streaming NDJSON: the analyzer takes the frames, and flow records are
/// written as flows end (their memory freed), `interval` records as packet
/// time passes.
struct Streamer<'a> {
    an: &'a mut crate::engine::Analyzer,
    out: &'a Mutex<RecordSink>,
    interval: Option<Nanos>,
    next_beat: Option<Nanos>,
    before: (u64, u64),
    /// The other analysers of a split sensor (`--threads`).
    shares: &'a Shares,
    /// Each relay's record at the heartbeat that last wrote it (a hash):
    /// a heartbeat writes those new or changed since.
    relays_written: rustc_hash::FxHashMap<(String, u16, &'static str), u64>,
}

impl<'a> Streamer<'a> {
    fn new(
        an: &'a mut crate::engine::Analyzer,
        out: &'a Mutex<RecordSink>,
        interval: Option<Nanos>,
        shares: &'a Shares,
    ) -> Self {
        an.set_streaming(true);
        Streamer {
            an,
            out,
            interval,
            next_beat: None,
            before: (0, 0),
            shares,
            relays_written: Default::default(),
        }
    }

    /// The relays new or changed since the last heartbeat, so far (every
    /// thread's joined): written after the heartbeat's record.
    fn changed_relays(&mut self) -> Vec<crate::report::RelayOut> {
        use std::hash::{Hash, Hasher};
        let mut relays = self.an.relays_so_far();
        for other in self.shares.relays() {
            crate::report::join_relays(&mut relays, other);
        }
        relays.retain(|r| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            serde_json::to_string(r).unwrap_or_default().hash(&mut h);
            let key = (r.ip.clone(), r.port, r.transport);
            let print = h.finish();
            if self.relays_written.get(&key) == Some(&print) {
                return false;
            }
            // Bounded by the relay tables (16,384 servers a thread).
            self.relays_written.insert(key, print);
            true
        });
        relays
    }

    fn flush(&mut self) {
        let _ = locked(self.out).flush();
    }

    /// The capture ended: flows the final report need not hold are written
    /// now ([`crate::engine::Analyzer::stream_capture_end`]).
    fn end(&mut self) {
        stream_end(self.an, self.out);
        self.flush();
    }
}

/// The data of a mutex, also when a thread that held it panicked (the
/// sink's records are whole lines: a panic cannot leave half of one).
fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes the records of the flows that ended and of the calls that
/// ended or settled since the last call.
#[inline]
fn stream_step(an: &mut crate::engine::Analyzer, sink: &Mutex<RecordSink>) {
    let now = an.now();
    if an.ended_pending() {
        let mut out = locked(sink);
        out.set_time(now);
        // The sink counts what it cannot write (never an error here).
        an.stream_ended(&mut |f| {
            let _ = crate::report::write_flow_record(&mut *out, f);
        });
    }
    let mut out = None;
    an.stream_settled(&mut |r| {
        let out = out.get_or_insert_with(|| locked(sink));
        out.set_time(now);
        let _ = r.write_to(&mut **out);
    });
}

/// The capture ended: ends every flow and writes what the end need not
/// hold ([`crate::engine::Analyzer::stream_capture_end`]).
fn stream_end(an: &mut crate::engine::Analyzer, sink: &Mutex<RecordSink>) {
    let mut out = locked(sink);
    out.set_time(an.now());
    an.stream_capture_end(&mut |f| {
        let _ = crate::report::write_flow_record(&mut *out, f);
    });
}

/// What the worker analysers of a split sensor last told of themselves,
/// for the heartbeat records and the status line: each publishes its
/// vitals at most once a second (wall time), its relays so far at most
/// every five seconds (finding each relay's media looks at every flow),
/// and both once more at its end.
struct Shares {
    vitals: Mutex<Vec<(std::time::Instant, crate::assemble::stream::ShareVitals)>>,
    relays: Mutex<Vec<(std::time::Instant, Vec<crate::report::RelayOut>)>>,
    /// Heartbeats are written, and with them relays.
    beats: bool,
}

impl Shares {
    fn new(threads: usize, beats: bool) -> Shares {
        let start = std::time::Instant::now();
        let workers = threads.saturating_sub(1);
        Shares {
            vitals: Mutex::new(vec![(start, Default::default()); workers]),
            relays: Mutex::new(vec![(start, Vec::new()); workers]),
            beats,
        }
    }

    /// Worker `index` (from 1) publishes, if it is time or `now`.
    fn publish(&self, index: u32, an: &crate::engine::Analyzer, now: bool) {
        let Some(i) = (index as usize).checked_sub(1) else {
            return;
        };
        if let Some(slot) = locked(&self.vitals).get_mut(i) {
            if now || slot.0.elapsed() >= Duration::from_secs(1) {
                *slot = (std::time::Instant::now(), an.share_vitals());
            }
        }
        if !self.beats {
            return;
        }
        let due = locked(&self.relays)
            .get(i)
            .is_some_and(|s| now || s.0.elapsed() >= Duration::from_secs(5));
        if due {
            // Built outside the lock.
            let relays = an.relays_so_far();
            if let Some(slot) = locked(&self.relays).get_mut(i) {
                *slot = (std::time::Instant::now(), relays);
            }
        }
    }

    fn others(&self) -> Vec<crate::assemble::stream::ShareVitals> {
        locked(&self.vitals)
            .iter()
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// The other threads' relays, as last published.
    fn relays(&self) -> Vec<Vec<crate::report::RelayOut>> {
        locked(&self.relays)
            .iter()
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// Streams NDJSON to `sink` with `threads` analysers that split the
/// traffic by client ([`crate::shard::run_split`]; one: this thread's
/// alone): each writes its records as its flows and calls end. `input`
/// drives this thread's analyser through a [`Streamer`], which also
/// writes the heartbeats. Returns every analyser, this thread's first.
fn run_streaming<R>(
    cfg: &Config,
    threads: usize,
    sink: &Mutex<RecordSink>,
    interval: Option<Nanos>,
    calls: bool,
    shares: &Shares,
    input: impl FnOnce(&mut Streamer<'_>) -> Result<R, CaptureError>,
) -> Result<(Vec<crate::engine::Analyzer>, R), CaptureError> {
    let after = |i: u32, an: &mut crate::engine::Analyzer| {
        stream_step(an, sink);
        shares.publish(i, an, false);
    };
    let end = |i: u32, an: &mut crate::engine::Analyzer| {
        stream_end(an, sink);
        shares.publish(i, an, true);
    };
    let hooks = crate::shard::ShareHooks {
        after: &after,
        end: &end,
        calls,
    };
    crate::shard::run_split(cfg, threads, &hooks, |an| {
        let mut s = Streamer::new(an, sink, interval, shares);
        let r = input(&mut s);
        s.end();
        r
    })
}

/// The report of a split analysis: the first analyser's (which read every
/// frame), each other's joined to it ([`Report::absorb_share`]). With
/// `streaming`, the flows written already leave each share's list first.
fn joined_report(
    ans: Vec<crate::engine::Analyzer>,
    files: Vec<String>,
    interface: Option<String>,
    threads: usize,
    streaming: bool,
) -> Option<(Report, crate::engine::Analyzer)> {
    let mut ans = ans.into_iter();
    let mut first = ans.next()?;
    let mut report = first.report(files, interface, threads);
    if streaming {
        streamed(&mut report, &first);
    }
    for mut an in ans {
        let mut r = an.report(Vec::new(), None, threads);
        if streaming {
            streamed(&mut r, &an);
        }
        report.absorb_share(r);
        // Freed by the operating system at exit, as the report's.
        std::mem::forget(an);
    }
    Some((report, first))
}

/// A capture loop's sink that hands every frame to an analyzer, then
/// writes what the analyzer let go ([`Streamer`], [`Spiller`]).
trait Drives {
    fn analyzer(&mut self) -> &mut crate::engine::Analyzer;
    /// After each frame.
    fn after(&mut self);
}

impl<D: Drives> capture::FrameSink for D {
    #[inline]
    fn frame(&mut self, link: crate::packet::LinkType, ts: Nanos, data: &[u8], wire_len: u32) {
        self.analyzer().process(link, ts, data, wire_len);
        Drives::after(self);
    }
    fn unreadable(&mut self, wire_len: u32) {
        self.analyzer().count_unreadable(wire_len);
    }
    fn warn(&mut self, kind: &'static str, example: impl FnOnce() -> String) {
        capture::FrameSink::warn(self.analyzer(), kind, example);
    }
    fn set_dropped(&mut self, dropped: u64) {
        self.analyzer().set_dropped(dropped);
    }
}

impl Drives for Streamer<'_> {
    fn analyzer(&mut self) -> &mut crate::engine::Analyzer {
        self.an
    }

    #[inline]
    fn after(&mut self) {
        stream_step(self.an, self.out);
        let Some(every) = self.interval else { return };
        let now = self.an.now();
        let next = *self.next_beat.get_or_insert(now + every);
        if now >= next {
            let rec = self
                .an
                .interval_report(next, self.before, &self.shares.others());
            let relays = self.changed_relays();
            let mut out = locked(self.out);
            out.set_time(now);
            let _ = crate::report::write_record(&mut *out, "interval", &rec);
            for r in &relays {
                let _ = crate::report::write_record(&mut *out, "relay", r);
            }
            self.before = (rec.packets, rec.bytes);
            // Silence longer than an interval gives one record, not many.
            let mut n = next + every;
            if n <= now {
                n = now + every;
            }
            self.next_beat = Some(n);
            let _ = out.flush();
        }
    }
}

/// Adds a warning the run itself found (the analysis counted none of its
/// kind) to the report.
fn add_warning(report: &mut Report, kind: &str, count: u64, example: String) {
    report.warnings.push(crate::report::WarningOut {
        kind: kind.into(),
        count,
        example,
    });
}

/// Ended flows a JSON report holds before entries are written early: the
/// bound streaming holds ended flows of calls to.
const SPILL_AFTER: usize = crate::engine::MAX_HELD_ENDED;

/// A JSON report whose ended flows outgrow [`SPILL_AFTER`]: from
/// then on, as streaming NDJSON, the entries of flows that end are written
/// (to a temporary file, [`crate::report::spill`]) and the flows let go.
#[derive(Default)]
struct Spilling {
    spill: Option<Spill>,
    /// Why no temporary file could be made (then every flow stays held).
    failed: Option<String>,
}

impl Spilling {
    /// The report after the analysis: the flows written early leave its
    /// list (they come back from the file, in their place, when it is
    /// written), and how many were is a warning.
    fn conclude(
        mut self,
        report: &mut Report,
        an: &crate::engine::Analyzer,
    ) -> Option<SpillReader> {
        if let Some(why) = self.failed {
            add_warning(
                report,
                "flows-not-written-early",
                1,
                format!(
                    "more than {} ended flows held, and no temporary file for their \
                     entries ({why}): every flow stayed in memory",
                    SPILL_AFTER
                ),
            );
        }
        let sp = self.spill.as_mut()?;
        streamed(report, an);
        // Flows only counted in `other_flows` have no entry to write.
        if sp.entries() > 0 {
            add_warning(
                report,
                "flows-written-early",
                sp.entries() as u64,
                format!(
                    "more than {} ended flows held: entries written when their flow ended, \
                     from what was known then, as streamed NDJSON does",
                    SPILL_AFTER
                ),
            );
        }
        let (lost, error) = sp.lost();
        if lost > 0 {
            add_warning(
                report,
                "flows-lost",
                lost,
                format!(
                    "entries the temporary file did not take: {}",
                    error.unwrap_or_default()
                ),
            );
        }
        self.spill.map(Spill::into_reader)
    }
}

/// The analyzer of a JSON report, watching how many ended flows it holds.
struct Spiller<'a> {
    an: &'a mut crate::engine::Analyzer,
    spill: &'a mut Spilling,
}

impl Spiller<'_> {
    /// Starts writing entries early; false if no temporary file could be
    /// made (then never tried again).
    fn start(&mut self) -> bool {
        if self.spill.failed.is_some() {
            return false;
        }
        match Spill::create() {
            Ok(sp) => {
                self.an.stream_ended_from_now();
                self.spill.spill = Some(sp);
                true
            }
            Err(e) => {
                self.spill.failed = Some(e.to_string());
                false
            }
        }
    }

    /// The capture ended: every live flow ends, and past the bound their
    /// entries are written now, as streaming does.
    fn end(&mut self) {
        if self.spill.spill.is_none() && self.an.held_ended() + self.an.live_flows() > SPILL_AFTER {
            self.start();
        }
        if let Some(sp) = self.spill.spill.as_mut() {
            self.an.stream_capture_end(&mut |f| sp.write(f));
        }
    }
}

impl Drives for Spiller<'_> {
    fn analyzer(&mut self) -> &mut crate::engine::Analyzer {
        self.an
    }

    #[inline]
    fn after(&mut self) {
        if let Some(sp) = self.spill.spill.as_mut() {
            if self.an.ended_pending() {
                self.an.stream_ended(&mut |f| sp.write(f));
            }
        } else if self.an.held_ended() > SPILL_AFTER && self.start() {
            self.after();
        }
    }
}

/// Export options that cannot work, refused before the analysis.
fn check_export(a: &crate::cli::ReadArgs, paths: &[String]) -> Result<(), String> {
    if a.export_call.is_none() && a.export_calls.is_none() {
        if a.write.is_some() {
            return Err("-w FILE writes the call named by --export-call CALL_ID".into());
        }
        return Ok(());
    }
    if a.common.redact {
        return Err(
            "--redact: an exported call holds the packets themselves; export without --redact"
                .into(),
        );
    }
    if paths.iter().any(|p| p == "-") {
        return Err("exporting calls reads the input again: give files, not standard input".into());
    }
    if let Some(dir) = &a.export_calls {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("--export-calls {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// The calls to export and where each goes.
fn exports_of(
    a: &crate::cli::ReadArgs,
    report: &Report,
) -> Result<Vec<capture::export::CallExport>, String> {
    let flows_of = |c: &crate::report::CallOut| {
        c.flow_ids
            .iter()
            .filter_map(|&id| {
                report
                    .flows
                    .binary_search_by_key(&id, |f| f.id)
                    .ok()
                    .and_then(|i| report.flows.get(i))
            })
            .filter_map(|f| {
                let t = match f.transport {
                    "tcp" => crate::net::Transport::Tcp,
                    _ => crate::net::Transport::Udp,
                };
                let ep = |e: &crate::report::EndpointOut| {
                    e.ip.parse()
                        .ok()
                        .map(|ip| crate::net::Endpoint { ip, port: e.port })
                };
                Some((t, ep(&f.src)?, ep(&f.dst)?))
            })
            .collect()
    };
    if let (Some(id), Some(w)) = (&a.export_call, &a.write) {
        let Some(c) = report.calls.iter().find(|c| &c.call_id == id) else {
            let known: Vec<&str> = report
                .calls
                .iter()
                .take(5)
                .map(|c| c.call_id.as_str())
                .collect();
            return Err(format!(
                "--export-call {id}: no such call in the report ({} calls{}{})",
                report.calls.len(),
                if known.is_empty() { "" } else { ", e.g. " },
                known.join(", ")
            ));
        };
        return Ok(vec![capture::export::CallExport {
            path: w.clone(),
            flows: flows_of(c),
        }]);
    }
    let Some(dir) = &a.export_calls else {
        return Ok(Vec::new());
    };
    let mut used = std::collections::HashSet::new();
    Ok(report
        .calls
        .iter()
        .map(|c| {
            let stem: String = c
                .call_id
                .chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() || "._-@".contains(ch) {
                        ch
                    } else {
                        '_'
                    }
                })
                .take(100)
                .collect();
            let mut name = format!("{stem}.pcap");
            let mut n = 1;
            while !used.insert(name.clone()) {
                n += 1;
                name = format!("{stem}-{n}.pcap");
            }
            capture::export::CallExport {
                path: dir.join(name),
                flows: flows_of(c),
            }
        })
        .collect())
}

/// The line a live sensor starts with: where it listens and where its
/// records go.
fn live_banner(o: &LiveOptions, format: Format, c: &CommonArgs, streaming: bool) -> String {
    let filter = o
        .capture
        .filter
        .as_deref()
        .map_or(String::new(), |f| format!(", filter '{f}'"));
    let rotated = match c.rotate {
        Some(crate::output::Rotate::Secs(s)) => format!(", a new file every {s} s"),
        Some(crate::output::Rotate::Bytes(b)) => format!(", a new file every {} KiB", b >> 10),
        None => String::new(),
    };
    let to = match &c.output {
        Some(p) if p.as_os_str() != "-" && streaming => {
            format!("{}, flows as they end{rotated}", p.display())
        }
        Some(p) if p.as_os_str() != "-" => format!("{} at the end", p.display()),
        _ if streaming => "standard output, flows as they end".to_string(),
        _ => "standard output at the end".to_string(),
    };
    let fmt = format!("{format:?}").to_lowercase();
    format!(
        "capturing on {} (snaplen {}, ring {} MiB{filter}); {fmt} report to {to}",
        o.interface,
        o.snaplen,
        o.buffer_size >> 20
    )
}

/// One status line on standard error: packets, drops, live flows, calls,
/// resident memory.
fn status_line(an: &crate::engine::Analyzer, shares: &Shares) {
    let (mut live, mut calls, dropped) = an.vitals();
    for o in shares.others() {
        live += o.live_flows;
        calls += o.calls_live;
    }
    let s = an.stats();
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|t| t.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(String::new(), |pages| {
            format!(", {} MiB resident", (pages * 4096) >> 20)
        });
    eprintln!(
        "vcscope: {} packets, {dropped} dropped, {live} live flows, {calls} calls{rss}",
        s.packets
    );
}

/// `--partition`: which share this report is, and the packets it left.
fn note_partition(report: &mut Report, c: &CommonArgs, other: u64) {
    report.source.sensor.clone_from(&c.sensor);
    if let Some(p) = c.partition {
        report.source.partition = Some(format!("{}/{}", p.index, p.count));
        report.source.packets_other_partitions = Some(other);
    }
}

/// The BPF filter: `--filter`, or the words after the files (tcpdump's
/// habit), not both.
fn filter_of(c: &CommonArgs, words: &[String]) -> Result<Option<String>, String> {
    match (&c.filter, words.is_empty()) {
        (Some(_), false) => Err(format!(
            "two filters: --filter and the words '{}' after the files; give one",
            words.join(" ")
        )),
        (Some(f), true) => Ok(Some(f.clone())),
        (None, false) => Ok(Some(words.join(" "))),
        (None, true) => Ok(None),
    }
}

/// A filter made of the words after the files may be a mistyped file name:
/// say where the filter came from.
fn filter_hint(e: CaptureError, words: &[String]) -> CaptureError {
    if words.is_empty() || !e.0.starts_with("invalid --filter") {
        return e;
    }
    CaptureError(format!(
        "{} (the words after the files are taken as a filter; is '{}' a file that does not exist?)",
        e.0.replacen("invalid --filter", "invalid filter", 1),
        words[0]
    ))
}

fn check_threads(c: &CommonArgs) -> Result<(), String> {
    if c.threads == 0 || c.threads > MAX_THREADS {
        return Err(format!(
            "--threads {}: give a number of analysis threads from 1 to {MAX_THREADS}",
            c.threads
        ));
    }
    Ok(())
}

fn config(c: &CommonArgs) -> Config {
    Config {
        partition: c.partition,
        flows: FlowLimits {
            max_live: usize::try_from(c.max_flows).unwrap_or(usize::MAX),
            idle_timeout: Nanos::from_secs(c.idle_timeout.max(1)),
        },
        summarise_others: !c.all_flows,
        ..Config::default()
    }
}

fn display_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string())
}

/// Refuses to write the report over one of the input captures.
fn check_output(out: &Option<PathBuf>, inputs: &[String]) -> Result<(), CaptureError> {
    let Some(out) = out else { return Ok(()) };
    if out.as_os_str() == "-" {
        return Ok(());
    }
    let canon_out = std::fs::canonicalize(out).ok();
    for i in inputs.iter().filter(|i| *i != "-") {
        let same = match (&canon_out, std::fs::canonicalize(i).ok()) {
            (Some(a), Some(b)) => *a == b,
            _ => Path::new(i) == out,
        };
        if same {
            return Err(CaptureError(format!(
                "-o {}: refusing to write the report over an input capture",
                out.display()
            )));
        }
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(CaptureError(format!(
            "-o {}: directory {} does not exist",
            out.display(),
            parent.display()
        )));
    }
    // A device or a pipe is written in place; a file is written beside its
    // final name and renamed, so the directory must take a new file. Tried
    // now, before any packet is read.
    if std::fs::metadata(out).is_ok_and(|m| !m.is_file()) {
        return Ok(());
    }
    let probe = parent.join(format!(".vcscope-write-check{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(CaptureError(format!(
            "-o {}: cannot write in directory {}: {e}",
            out.display(),
            parent.display()
        ))),
    }
}

fn resolve_format(c: &CommonArgs) -> Format {
    if let Some(f) = c.format {
        return f;
    }
    // `-q` asks for the verdict lines, wherever they go.
    if c.quiet && c.output.is_none() {
        return Format::Table;
    }
    match &c.output {
        Some(p) if p.as_os_str() != "-" => match p.extension().and_then(|e| e.to_str()) {
            Some("ndjson" | "jsonl") => Format::Ndjson,
            Some("txt") => Format::Table,
            Some("html" | "htm") => Format::Html,
            _ => Format::Json,
        },
        _ => {
            if io::stdout().is_terminal() {
                Format::Table
            } else {
                Format::Json
            }
        }
    }
}

/// Opens the `--geoip` databases, if asked, before any packet is read.
fn open_geoip(c: &CommonArgs) -> Result<Option<crate::report::geo::GeoDb>, String> {
    c.geoip
        .as_deref()
        .map(crate::report::geo::GeoDb::open)
        .transpose()
}

/// Resolves names if asked, writes the report, returns the exit code.
fn finish(
    mut report: Report,
    geo: Option<&crate::report::geo::GeoDb>,
    c: &CommonArgs,
    threads: usize,
    complete: bool,
    sink: Option<RecordSink>,
    mut spilled: Option<SpillReader>,
) -> i32 {
    if c.resolve && !c.redact {
        crate::report::resolve::annotate(&mut report);
    }
    if let Some(db) = geo {
        crate::report::geo::annotate(&mut report, db);
    }
    if c.redact {
        crate::report::redact::redact(&mut report);
    }
    if let Some(sink) = sink {
        return finish_streamed(report, c, sink, complete);
    }
    let format = resolve_format(c);
    let write = |out: &mut dyn Write| -> io::Result<()> {
        match format {
            Format::Json => report.write_json_with(out, threads, spilled.take().as_mut()),
            // Streamed: the flows left are those the capture's end ended.
            Format::Ndjson => report.write_ndjson(out),
            Format::Table if c.quiet => report.write_verdicts(out),
            Format::Table => report.write_table(out),
            Format::Html => crate::report::html::write(&report, out),
        }
    };
    let res = match &c.output {
        // A device or a pipe (`-o /dev/null`, a FIFO) is written to, never
        // replaced.
        Some(p) if p.as_os_str() != "-" => match std::fs::metadata(p) {
            Ok(m) if !m.is_file() => write_direct(p, write),
            _ => write_atomic(p, write),
        },
        _ => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            let mut write = write;
            write(&mut out).and_then(|_| out.flush())
        }
    };
    if let Err(e) = res {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return EXIT_OK;
        }
        let dest = c
            .output
            .as_ref()
            .map_or("standard output".to_string(), |p| p.display().to_string());
        return fail(format!("cannot write the report to {dest}: {e}"));
    }
    conclude(report, c, complete)
}

/// The end of streamed NDJSON: the records still held and the summary go
/// after the streamed ones, to the same place; records the output lost are
/// warnings of the summary (`records-lost`, `output-errors`).
fn finish_streamed(
    mut report: Report,
    c: &CommonArgs,
    mut sink: RecordSink,
    complete: bool,
) -> i32 {
    sink.set_time(
        report
            .source
            .last_ts
            .map_or(Nanos::ZERO, |t| Nanos((t * 1e9) as u64)),
    );
    // Written first, so that the summary counts what they lost.
    let _ = sink.flush();
    let st = sink.stats().clone();
    let example = || st.first_error.clone().unwrap_or_default();
    if st.records_lost > 0 {
        add_warning(&mut report, "records-lost", st.records_lost, example());
    }
    if st.output_errors > 0 {
        add_warning(&mut report, "output-errors", st.output_errors, example());
    }
    let _ = report.write_ndjson(&mut sink);
    let end = sink.finish();
    if end.records_lost > st.records_lost && !c.quiet {
        eprintln!(
            "vcscope: warning: {} more records, the summary among them, could not be written",
            end.records_lost - st.records_lost
        );
    }
    conclude(report, c, complete)
}

/// Warnings on standard error and the exit code, once the report is out.
fn conclude(report: Report, c: &CommonArgs, complete: bool) -> i32 {
    let s = &report.source;
    let attention = !report.warnings.is_empty() || s.dropped > 0 || report.limits.flows_evicted > 0;
    // What deserves attention goes to standard error whatever the format
    // and destination (as tshark's "appears to have been cut short"); a run
    // that ends in an error says only that.
    if complete && !c.quiet {
        warn_on_stderr(&report);
    }
    // The process ends here: the operating system takes the report's memory
    // back at once, which freeing it string by string would not.
    std::mem::forget(report);
    if c.strict && attention {
        EXIT_WARNINGS
    } else {
        EXIT_OK
    }
}

/// One line per warning kind, then dropped packets and evicted flows.
fn warn_on_stderr(report: &Report) {
    let mut err = io::stderr().lock();
    for w in &report.warnings {
        let times = if w.count == 1 {
            String::new()
        } else {
            format!(", {} times", w.count)
        };
        let _ = writeln!(err, "vcscope: warning: {} ({}{times})", w.example, w.kind);
    }
    let s = &report.source;
    if s.dropped > 0 {
        let _ = writeln!(
            err,
            "vcscope: warning: {} packets dropped by the kernel or the interface",
            s.dropped
        );
    }
    let l = &report.limits;
    if l.flows_evicted > 0 {
        let _ = writeln!(
            err,
            "vcscope: warning: {} flows ended early: more than --max-flows {} were live at once",
            l.flows_evicted, l.max_flows
        );
    }
}

/// Writes straight into `path`, which is not a regular file.
fn write_direct(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    let mut w = io::BufWriter::with_capacity(1 << 20, f);
    write(&mut w)?;
    w.flush()
}

/// Writes via a temporary file in the same directory and renames it into place.
fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let res = (|| {
        let f = std::fs::File::create(&tmp)?;
        let mut w = io::BufWriter::with_capacity(1 << 20, f);
        write(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?;
        // The old report goes first: renaming over an existing file makes
        // ext4 write the new one's data out before the rename returns
        // (auto_da_alloc), 0.07-0.11 s for an 85 MB report. A reader may
        // miss the file for that moment; it never sees half a report.
        let _ = std::fs::remove_file(path);
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

//! Where streamed NDJSON records go, for a sensor that runs for weeks:
//! standard output, or a file named by a pattern (`vc-%Y%m%d-%H%M.ndjson`),
//! optionally rotated by time or size (`--rotate 3600`, `--rotate 100M`),
//! reopened on SIGHUP (logrotate's `create` mode) and when its path
//! disappears. A write that fails (a full disk, a removed directory) loses
//! the records it held, counted: the next record written is an
//! `output_gap` record with the counts, the final summary carries them as
//! warnings, and writing resumes when it can. Nothing here panics.
//!
//! Records come in through [`std::io::Write`]: each `\n` ends one (JSON
//! escapes every newline inside a record), so a record is never split
//! between two files and a failed write never leaves half a record (the
//! file is cut back to its last whole record).

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::time::Nanos;

/// Records gathered before they are written, at most.
const BUFFER: usize = 1 << 16;
/// Records are written at least this often (wall clock), and a path that
/// disappeared or cannot be opened is looked at again at most this often.
const EVERY: Duration = Duration::from_secs(1);

/// `--rotate`: a new file every SECS, or once a file holds SIZE bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotate {
    Secs(u64),
    Bytes(u64),
}

impl Rotate {
    /// `3600` (seconds) or `100M` (bytes; suffixes K, M, G are powers of 1024).
    pub fn parse(s: &str) -> Result<Rotate, String> {
        let bad = || {
            format!(
                "--rotate {s}: give seconds (3600) or a size with K, M or G (100M, powers of 1024)"
            )
        };
        let t = s.trim();
        let (digits, mult) = match t.char_indices().last() {
            Some((i, c)) if c.eq_ignore_ascii_case(&'k') => (&t[..i], Some(1u64 << 10)),
            Some((i, c)) if c.eq_ignore_ascii_case(&'m') => (&t[..i], Some(1 << 20)),
            Some((i, c)) if c.eq_ignore_ascii_case(&'g') => (&t[..i], Some(1 << 30)),
            _ => (t, None),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        Ok(match mult {
            Some(m) => Rotate::Bytes(n.checked_mul(m).ok_or_else(bad)?),
            None => Rotate::Secs(n),
        })
    }
}

/// A file name pattern: the `-o` path, whose file name may hold
/// `%Y %m %d %H %M %S %j %s %%` (strftime's meaning, in UTC).
#[derive(Debug, Clone)]
pub struct Pattern {
    dir: PathBuf,
    name: String,
}

impl Pattern {
    /// Checks the fields; with `rotate` and none that changes within the
    /// rotation, the file name gets `-%Y%m%dT%H%M%S` before its extension
    /// so that each file has its own.
    pub fn new(path: &Path, rotate: Option<Rotate>) -> Result<Pattern, String> {
        let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
        if dir.to_string_lossy().contains('%') {
            return Err(format!(
                "-o {}: time fields (%Y ...) are taken in the file name only, not its directory",
                path.display()
            ));
        }
        let mut name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| format!("-o {}: no file name", path.display()))?;
        let mut fields = false;
        let mut it = name.chars();
        while let Some(c) = it.next() {
            if c != '%' {
                continue;
            }
            match it.next() {
                Some('%') => {}
                Some('Y' | 'm' | 'd' | 'H' | 'M' | 'S' | 'j' | 's') => fields = true,
                other => {
                    return Err(format!(
                        "-o {}: unknown time field %{} (known: %Y %m %d %H %M %S %j %s %%)",
                        path.display(),
                        other.map_or(String::new(), String::from)
                    ))
                }
            }
        }
        if rotate.is_some() && !fields {
            let at = name.rfind('.').filter(|&i| i > 0).unwrap_or(name.len());
            name.insert_str(at, "-%Y%m%dT%H%M%S");
        }
        Ok(Pattern { dir, name })
    }

    /// Whether `path` holds time fields (then it names files, not one file).
    pub fn has_fields(path: &Path) -> bool {
        path.file_name()
            .is_some_and(|n| n.to_string_lossy().contains('%'))
    }

    /// The file name at `t` (UTC).
    pub fn at(&self, t: Nanos) -> PathBuf {
        let secs = i64::try_from(t.0 / 1_000_000_000).unwrap_or(i64::MAX);
        let (y, mo, d) = crate::time::civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        let mut out = String::with_capacity(self.name.len() + 16);
        let mut it = self.name.chars();
        while let Some(c) = it.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let _ = match it.next() {
                Some('Y') => write_fmt(&mut out, format_args!("{y:04}")),
                Some('m') => write_fmt(&mut out, format_args!("{mo:02}")),
                Some('d') => write_fmt(&mut out, format_args!("{d:02}")),
                Some('H') => write_fmt(&mut out, format_args!("{:02}", sod / 3600)),
                Some('M') => write_fmt(&mut out, format_args!("{:02}", sod / 60 % 60)),
                Some('S') => write_fmt(&mut out, format_args!("{:02}", sod % 60)),
                Some('s') => write_fmt(&mut out, format_args!("{secs}")),
                Some('j') => {
                    let jan1 = crate::time::days_from_civil(y, 1, 1);
                    let doy = secs.div_euclid(86_400) - jan1 + 1;
                    write_fmt(&mut out, format_args!("{doy:03}"))
                }
                Some(other) => {
                    out.push(other);
                    Ok(())
                }
                None => Ok(()),
            };
        }
        self.dir.join(out)
    }
}

fn write_fmt(s: &mut String, args: std::fmt::Arguments<'_>) -> std::fmt::Result {
    std::fmt::Write::write_fmt(s, args)
}

/// Which clock names and rotates files: packet time for `read` (a file
/// gives the same files however fast it is read), the wall clock for `live`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    Packet,
    Wall,
}

/// Records written and lost, for the summary.
#[derive(Debug, Default, Clone)]
pub struct OutputStats {
    pub records_lost: u64,
    pub output_errors: u64,
    /// The first error, for the summary's example.
    pub first_error: Option<String>,
}

struct Open {
    file: File,
    path: PathBuf,
    /// Bytes of whole records in the file.
    len: u64,
    /// The file's identity, to notice that its path now names another file
    /// or none (renamed or removed under us).
    id: (u64, u64),
}

enum Target {
    Stdout,
    Files {
        pattern: Pattern,
        rotate: Option<Rotate>,
        clock: Clock,
        open: Option<Open>,
        /// The name records go to now (kept when it cannot be opened).
        path: Option<PathBuf>,
        /// `--rotate SECS`: the period the open file is for.
        period: u64,
        /// Rotation has named a file before (later names are never reused).
        rotated: bool,
        last_try: Option<Instant>,
        last_check: Instant,
        hup: Arc<AtomicBool>,
    },
}

/// The destination of streamed records.
pub struct RecordSink {
    target: Target,
    buf: Vec<u8>,
    /// Where the record being written began in `buf`.
    start: usize,
    /// Whole records in `buf`.
    pending: u64,
    /// Packet time of the records being written ([`RecordSink::set_time`]).
    now: Nanos,
    last_flush: Instant,
    stats: OutputStats,
    /// Lost and failed since the last `output_gap` record.
    unreported: (u64, u64),
    /// Error kinds already said on standard error.
    said: Vec<io::ErrorKind>,
    quiet: bool,
}

impl RecordSink {
    pub fn stdout(quiet: bool) -> RecordSink {
        RecordSink::with(Target::Stdout, quiet)
    }

    /// Records to the files `pattern` names; `hup` is set by SIGHUP.
    pub fn files(
        pattern: Pattern,
        rotate: Option<Rotate>,
        clock: Clock,
        hup: Arc<AtomicBool>,
        quiet: bool,
    ) -> RecordSink {
        RecordSink::with(
            Target::Files {
                pattern,
                rotate,
                clock,
                open: None,
                path: None,
                period: 0,
                rotated: false,
                last_try: None,
                last_check: Instant::now(),
                hup,
            },
            quiet,
        )
    }

    fn with(target: Target, quiet: bool) -> RecordSink {
        RecordSink {
            target,
            buf: Vec::with_capacity(BUFFER + 4096),
            start: 0,
            pending: 0,
            now: Nanos::ZERO,
            last_flush: Instant::now(),
            stats: OutputStats::default(),
            unreported: (0, 0),
            said: Vec::new(),
            quiet,
        }
    }

    /// Packet time of the records written next (names and rotates files
    /// with [`Clock::Packet`]).
    #[inline]
    pub fn set_time(&mut self, now: Nanos) {
        self.now = now;
    }

    /// Records lost and failed writes so far.
    pub fn stats(&self) -> &OutputStats {
        &self.stats
    }

    /// Writes what is gathered and reopens the file if SIGHUP asked
    /// (a live sensor calls this at each tick, records or not).
    pub fn tick(&mut self) {
        self.write_out(self.buf.len(), self.pending);
        self.start = 0;
        if let Target::Files { hup, .. } = &self.target {
            if hup.swap(false, Ordering::Relaxed) {
                self.reopen();
            }
        }
    }

    /// The time that names files now.
    fn clock_now(&self) -> Nanos {
        match &self.target {
            Target::Files {
                clock: Clock::Wall, ..
            } => wall(),
            _ if self.now == Nanos::ZERO => wall(),
            _ => self.now,
        }
    }

    /// A record ended at the end of `buf`.
    fn record_end(&mut self) {
        self.pending += 1;
        let now = self.clock_now();
        let rec_len = (self.buf.len() - self.start) as u64;
        let before = self.pending - 1;
        // Decide where this record goes: the file open now, or a new one.
        let mut reopen = false;
        let mut rotate_to: Option<Nanos> = None;
        if let Target::Files {
            rotate,
            open,
            period,
            path,
            hup,
            ..
        } = &mut self.target
        {
            reopen = hup.swap(false, Ordering::Relaxed);
            match *rotate {
                Some(Rotate::Secs(s)) => {
                    let p = now.0 / 1_000_000_000 / s;
                    if path.is_none() || p != *period {
                        *period = p;
                        rotate_to = Some(Nanos::from_secs(p * s));
                    }
                }
                Some(Rotate::Bytes(max)) => {
                    let held = open.as_ref().map_or(0, |o| o.len) + self.start as u64;
                    if path.is_none() || (held > 0 && held + rec_len > max) {
                        rotate_to = Some(now);
                    }
                }
                None if path.is_none() => rotate_to = Some(now),
                None => {}
            }
        }
        if reopen || rotate_to.is_some() {
            // The records before this one go where they were going.
            self.write_out(self.start, before);
            if let Some(t) = rotate_to {
                self.next_file(t);
            } else {
                self.reopen();
            }
        }
        if self.buf.len() >= BUFFER || self.last_flush.elapsed() >= EVERY {
            self.write_out(self.buf.len(), self.pending);
        }
        self.start = self.buf.len();
    }

    /// Closes the file and names the next one, for time `t`.
    fn next_file(&mut self, t: Nanos) {
        let Target::Files {
            pattern,
            rotate,
            open,
            path,
            rotated,
            last_try,
            ..
        } = &mut self.target
        else {
            return;
        };
        let old = open.take().map(|o| o.path).or(path.take());
        let mut name = pattern.at(t);
        if rotate.is_some() {
            // A rotated file never writes over another: a name taken (by
            // this run's previous file or an earlier run) gets `.1`, `.2`.
            let base = name.clone();
            let mut n = 0;
            while n < 10_000 && (Some(&name) == old.as_ref() || name.exists()) {
                n += 1;
                name = numbered(&base, n);
            }
        }
        let truncate = rotate.is_none() && !*rotated;
        *rotated = true;
        *path = Some(name);
        *last_try = None;
        self.open_now(truncate);
    }

    /// SIGHUP, or the path now names another file or none: open the path
    /// again (a new file if it is gone).
    fn reopen(&mut self) {
        if let Target::Files { open, last_try, .. } = &mut self.target {
            *open = None;
            *last_try = None;
        }
        self.open_now(false);
    }

    /// Opens the current name (appending unless `truncate`); a failure is
    /// counted and tried again later.
    fn open_now(&mut self, truncate: bool) {
        let Target::Files {
            open,
            path: Some(path),
            last_try,
            last_check,
            ..
        } = &mut self.target
        else {
            return;
        };
        *last_try = Some(Instant::now());
        let mut o = std::fs::OpenOptions::new();
        o.create(true);
        if truncate {
            o.write(true).truncate(true);
        } else {
            o.append(true);
        }
        let res = o.open(&*path).and_then(|file| {
            let m = file.metadata()?;
            Ok(Open {
                id: file_id(&m),
                len: m.len(),
                file,
                path: path.clone(),
            })
        });
        match res {
            Ok(f) => {
                *open = Some(f);
                *last_check = Instant::now();
            }
            Err(e) => {
                let p = path.display().to_string();
                self.fault(&p, Some(&e), 0);
            }
        }
    }

    /// Writes the first `n` bytes of `buf` (`records` whole records).
    fn write_out(&mut self, n: usize, records: u64) {
        self.last_flush = Instant::now();
        if n == 0 {
            return;
        }
        let gap = (self.unreported.0 > 0 || self.unreported.1 > 0).then(|| {
            let mut line = Vec::new();
            let gap = crate::report::OutputGapOut {
                records_lost: self.unreported.0,
                output_errors: self.unreported.1,
            };
            let _ = crate::report::write_record(&mut line, "output_gap", &gap);
            String::from_utf8_lossy(&line).into_owned()
        });
        let res = match &mut self.target {
            Target::Stdout => {
                let mut out = io::stdout().lock();
                gap.as_deref()
                    .map_or(Ok(()), |g| out.write_all(g.as_bytes()))
                    .and_then(|_| out.write_all(&self.buf[..n]))
                    .and_then(|_| out.flush())
                    .map_err(|e| ("standard output".to_string(), Some(e)))
            }
            Target::Files { .. } => self.write_file(gap.as_deref(), n),
        };
        match res {
            Ok(()) => self.unreported = (0, 0),
            Err((p, e)) => self.fault(&p, e.as_ref(), records),
        }
        self.buf.drain(..n);
        self.pending -= records;
        self.start = self.start.saturating_sub(n);
    }

    /// Writes to the open file; an error names the file, with no
    /// `io::Error` when the file could not be opened (counted then).
    fn write_file(
        &mut self,
        gap: Option<&str>,
        n: usize,
    ) -> Result<(), (String, Option<io::Error>)> {
        self.check_path();
        let Target::Files {
            open,
            path,
            last_try,
            ..
        } = &mut self.target
        else {
            return Ok(());
        };
        if open.is_none() {
            let due = last_try.is_none_or(|t| t.elapsed() >= EVERY);
            let name = path
                .as_ref()
                .map_or(String::new(), |p| p.display().to_string());
            if due {
                self.open_now(false);
            }
            let Target::Files { open: None, .. } = &self.target else {
                return self.write_file(gap, n);
            };
            return Err((name, None));
        }
        let Target::Files { open: Some(o), .. } = &mut self.target else {
            return Ok(());
        };
        let res = gap
            .map_or(Ok(()), |g| o.file.write_all(g.as_bytes()))
            .and_then(|_| o.file.write_all(&self.buf[..n]));
        match res {
            Ok(()) => {
                o.len += gap.map_or(0, |g| g.len() as u64) + n as u64;
                Ok(())
            }
            Err(e) => {
                // No half record: the file goes back to its last whole one.
                let _ = o.file.set_len(o.len);
                let _ = o.file.seek(SeekFrom::Start(o.len));
                Err((o.path.display().to_string(), Some(e)))
            }
        }
    }

    /// At most once a second: if the path no longer names the open file
    /// (renamed by logrotate without SIGHUP, removed, its directory gone),
    /// opens it again; records then go to the path, or are lost and counted
    /// while it cannot be opened.
    fn check_path(&mut self) {
        let Target::Files {
            open: Some(o),
            last_check,
            ..
        } = &mut self.target
        else {
            return;
        };
        if last_check.elapsed() < EVERY {
            return;
        }
        *last_check = Instant::now();
        let same = std::fs::metadata(&o.path).is_ok_and(|m| file_id(&m) == o.id);
        if !same {
            self.reopen();
        }
    }

    /// Records lost, and the error that lost them (none when the file is
    /// still closed by an error counted before): counted, each kind of
    /// error said once on standard error.
    fn fault(&mut self, path: &str, e: Option<&io::Error>, records: u64) {
        // A reader that closed standard output (`| head`) wants no more.
        if e.is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) {
            return;
        }
        let s = &mut self.stats;
        s.records_lost += records;
        self.unreported.0 += records;
        let Some(e) = e else { return };
        s.output_errors += 1;
        self.unreported.1 += 1;
        if s.first_error.is_none() {
            s.first_error = Some(format!("{path}: {e}"));
        }
        if !self.quiet && !self.said.contains(&e.kind()) {
            self.said.push(e.kind());
            eprintln!(
                "vcscope: warning: cannot write records to {path}: {e}; capture goes on, \
                 records lost are counted and writing resumes when it can"
            );
        }
    }

    /// Writes everything gathered; returns the counts.
    pub fn finish(mut self) -> OutputStats {
        self.tick();
        self.stats
    }
}

impl Write for RecordSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut rest = data;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            self.buf.extend_from_slice(&rest[..=i]);
            rest = &rest[i + 1..];
            self.record_end();
        }
        self.buf.extend_from_slice(rest);
        Ok(data.len())
    }

    /// Writes the records gathered (their failures are counted, not returned).
    fn flush(&mut self) -> io::Result<()> {
        self.tick();
        Ok(())
    }
}

/// `name.ext` → `name.N.ext`.
fn numbered(path: &Path, n: u32) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let numbered = match name.rfind('.').filter(|&i| i > 0) {
        Some(i) => format!("{}.{n}{}", &name[..i], &name[i..]),
        None => format!("{name}.{n}"),
    };
    path.with_file_name(numbered)
}

fn file_id(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

fn wall() -> Nanos {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Nanos(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotate_takes_seconds_or_sizes() {
        assert_eq!(Rotate::parse("3600"), Ok(Rotate::Secs(3600)));
        assert_eq!(Rotate::parse("100M"), Ok(Rotate::Bytes(100 << 20)));
        assert_eq!(Rotate::parse("64k"), Ok(Rotate::Bytes(64 << 10)));
        assert_eq!(Rotate::parse("2G"), Ok(Rotate::Bytes(2 << 30)));
        assert!(Rotate::parse("0").is_err());
        assert!(Rotate::parse("M").is_err());
        assert!(Rotate::parse("1h").is_err());
    }

    #[test]
    fn patterns_name_files_in_utc() {
        let p = Pattern::new(Path::new("out/vc-%Y%m%d-%H%M%S-%j-%%.ndjson"), None).unwrap();
        // 2024-02-29 23:59:58 UTC, the 60th day of the year.
        let t = Nanos::from_secs(1_709_251_198);
        assert_eq!(p.at(t), Path::new("out/vc-20240229-235958-060-%.ndjson"));
        let s = Pattern::new(Path::new("vc-%s.ndjson"), None).unwrap();
        assert_eq!(s.at(t), Path::new("vc-1709251198.ndjson"));
        assert!(Pattern::new(Path::new("vc-%Q.ndjson"), None).is_err());
        assert!(Pattern::new(Path::new("d%Y/vc.ndjson"), None).is_err());
        // Rotated without a field: one is added before the extension.
        let r = Pattern::new(Path::new("vc.ndjson"), Some(Rotate::Secs(60))).unwrap();
        assert_eq!(r.at(t), Path::new("vc-20240229T235958.ndjson"));
        assert_eq!(
            numbered(Path::new("a/vc.ndjson"), 2),
            Path::new("a/vc.2.ndjson")
        );
    }
}

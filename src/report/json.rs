//! JSON and NDJSON writing: the whole report as one object (on one thread,
//! or with the flows serialized on several), and NDJSON records.

use std::io::{self, Write};
use std::sync::mpsc;
use std::thread::{Scope, ScopedJoinHandle};

use serde::Serialize;

use super::flow_json;
use super::spill::SpillReader;
use super::types::{FlowOut, Report, SummaryOut};

impl Report {
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_json_threads(out, 1)
    }

    /// The bytes of [`Report::write_json`], with the flows serialized on
    /// `threads` threads over contiguous ranges. This thread writes the rest
    /// of the report and the first, smaller range as it goes (it also does
    /// all the writing); every other thread serializes its range in pieces
    /// that this one writes as they come, so that little is left to write
    /// when the last piece is done. On one thread it writes everything.
    ///
    /// The bytes are those serde_json writes for the whole [`Report`]
    /// (the flows by [`flow_json`], which writes them the same way).
    pub fn write_json_threads(&self, out: &mut dyn Write, threads: usize) -> io::Result<()> {
        self.write_json_with(out, threads, None)
    }

    /// [`Report::write_json_threads`], with the entries of flows written
    /// early ([`super::spill`]) among the others, in id order (on one
    /// thread).
    pub fn write_json_with(
        &self,
        out: &mut dyn Write,
        threads: usize,
        mut spilled: Option<&mut SpillReader>,
    ) -> io::Result<()> {
        let threads = if spilled.is_some() { 1 } else { threads };
        let parts = threads.clamp(1, self.flows.len().max(1));
        // Field by field, in the order and with the names of the derive;
        // the pattern names every field, so a new one does not compile
        // until it is written here too.
        let Report {
            vcscope_version,
            source,
            calls,
            flows,
            other_flows,
            relays,
            leaks,
            warnings,
            sip,
            firewall,
            limits,
            call_quality,
            flows_streamed: _,
            calls_streamed: _,
            leaks_streamed: _,
        } = self;
        let deal = Deal::new(parts);
        // Smaller pieces for fewer flows, so that the shares hold: at least
        // four rounds.
        let size = (flows.len() / (4 * deal.round)).clamp(64, PIECE_FLOWS);
        let pieces: Vec<&[FlowOut]> = flows.chunks(size).collect();
        let mut w = Chunked::new(out);
        std::thread::scope(|s| {
            let pieces = &pieces;
            let lanes: Vec<Lane<'_>> = (1..parts).map(|k| spawn_lane(s, pieces, deal, k)).collect();
            let written = (|| {
                write_field(&mut w, b"{", "vcscope_version", vcscope_version)?;
                write_field(&mut w, b",", "source", source)?;
                write_field(&mut w, b",", "calls", calls)?;
                w.write_all(b",\"flows\":[")?;
                match spilled.as_deref_mut() {
                    Some(sp) => write_merged(&mut w, flows, sp),
                    None => write_pieces(&mut w, pieces, &lanes, deal),
                }
            })();
            join_lanes(lanes);
            written?;
            w.write_all(b"]")?;
            if let Some(o) = other_flows {
                write_field(&mut w, b",", "other_flows", o)?;
            }
            write_field(&mut w, b",", "relays", relays)?;
            write_field(&mut w, b",", "leaks", leaks)?;
            write_field(&mut w, b",", "warnings", warnings)?;
            write_field(&mut w, b",", "sip", sip)?;
            write_field(&mut w, b",", "firewall", firewall)?;
            write_field(&mut w, b",", "limits", limits)?;
            write_field(&mut w, b",", "call_quality", call_quality)?;
            w.write_all(b"}\n")?;
            w.flush()
        })
    }

    /// NDJSON: every record tagged with its `type`, the summary last.
    pub fn write_ndjson(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut buf = Vec::new();
        for f in &self.flows {
            write_flow_record_into(out, &mut buf, f)?;
        }
        self.write_ndjson_tail(out)
    }

    /// NDJSON without the flows (already streamed as they ended).
    pub fn write_ndjson_tail(&self, out: &mut dyn Write) -> io::Result<()> {
        for c in &self.calls {
            write_record(out, "call", c)?;
        }
        for r in &self.relays {
            write_record(out, "relay", r)?;
        }
        for l in &self.leaks {
            write_record(out, "leak", l)?;
        }
        for q in &self.call_quality {
            write_record(out, "call_quality", q)?;
        }
        write_record(
            out,
            "summary",
            &SummaryOut {
                vcscope_version: self.vcscope_version,
                source: &self.source,
                flows: self.flows.len() + self.flows_streamed,
                calls: self.calls.len() + self.calls_streamed,
                relays: self.relays.len(),
                leaks: self.leaks.len() + self.leaks_streamed,
                other_flows: self.other_flows.as_ref(),
                warnings: &self.warnings,
                limits: &self.limits,
            },
        )
    }
}

/// One NDJSON line: `{"type": kind, ...record}`.
pub fn write_record<T: Serialize>(out: &mut dyn Write, kind: &str, rec: &T) -> io::Result<()> {
    let mut buf = b"{\"type\":".to_vec();
    serde_json::to_writer(&mut buf, kind)?;
    buf.extend_from_slice(SENSOR.get().map_or(&[][..], |s| &s[..]));
    let at = buf.len();
    serde_json::to_writer(&mut buf, rec)?;
    // The record's own fields follow the tag, in their order.
    match buf.get(at..at + 2) {
        Some(b"{}") => {
            buf.truncate(at);
            buf.push(b'}');
        }
        Some([b'{', _]) => buf[at] = b',',
        // Not an object: written as it is, untagged.
        _ => {
            buf.drain(..at);
        }
    }
    buf.push(b'\n');
    out.write_all(&buf)
}

/// `,"sensor":NAME`, written after the type of every NDJSON record once
/// [`set_sensor`] named the sensor.
static SENSOR: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Names the sensor for every NDJSON record written from now on (`--sensor`;
/// the first name given stays).
pub fn set_sensor(name: &str) {
    let mut tag = b",\"sensor\":".to_vec();
    // A String always serialises.
    let _ = serde_json::to_writer(&mut tag, name);
    let _ = SENSOR.set(tag);
}

/// The NDJSON line of a flow (`write_record(out, "flow", f)`), written by
/// [`flow_json`].
pub fn write_flow_record(out: &mut dyn Write, f: &FlowOut) -> io::Result<()> {
    write_flow_record_into(out, &mut Vec::new(), f)
}

/// [`write_flow_record`] through `buf`, a buffer kept from one record to
/// the next.
fn write_flow_record_into(out: &mut dyn Write, buf: &mut Vec<u8>, f: &FlowOut) -> io::Result<()> {
    buf.clear();
    match SENSOR.get() {
        Some(sensor) => {
            let mut head = b"{\"type\":\"flow\"".to_vec();
            head.extend_from_slice(sensor);
            head.push(b',');
            flow_json::write_flow_fields(buf, &head, f);
        }
        None => flow_json::write_flow_fields(buf, b"{\"type\":\"flow\",", f),
    }
    buf.extend_from_slice(b"}\n");
    out.write_all(buf)
}

/// `sep"name":value`, as serde_json writes a struct field.
fn write_field<T: Serialize + ?Sized>(
    w: &mut impl Write,
    sep: &[u8],
    name: &str,
    value: &T,
) -> io::Result<()> {
    w.write_all(sep)?;
    serde_json::to_writer(&mut *w, name)?;
    w.write_all(b":")?;
    serde_json::to_writer(&mut *w, value)?;
    Ok(())
}

/// Flows as the elements of a JSON array, without its brackets.
fn write_flows(w: &mut Vec<u8>, flows: &[FlowOut]) {
    for (i, f) in flows.iter().enumerate() {
        if i > 0 {
            w.push(b',');
        }
        flow_json::write_flow(w, f);
    }
}

/// Flows in one piece of [`Report::write_json_threads`], at most: about
/// 1 MiB of JSON, written without a copy.
const PIECE_FLOWS: usize = 2048;
/// Pieces per round of [`Report::write_json_threads`] for the writing
/// thread and for each other one: the writing thread takes three quarters
/// of an even share, as it also writes every byte.
const OWN_PIECES: usize = 3;
const HELPER_PIECES: usize = 4;

/// How the pieces of the flows are dealt in [`Report::write_json_threads`]:
/// in every round the writing thread serializes [`OWN_PIECES`] and each
/// other thread [`HELPER_PIECES`] (the writing thread also writes every
/// byte). A helper's pieces wait in a short queue until their turn, so the
/// JSON held in memory stays a few pieces, not a whole part.
#[derive(Clone, Copy)]
struct Deal {
    /// Pieces in one round.
    round: usize,
}

impl Deal {
    /// The deal among `parts` threads, the writing one included.
    fn new(parts: usize) -> Self {
        Deal {
            round: OWN_PIECES + HELPER_PIECES * (parts - 1),
        }
    }

    /// Which thread serializes piece `j`: 0 is the writing thread.
    fn whose(self, j: usize) -> usize {
        match j % self.round {
            r if r < OWN_PIECES => 0,
            r => 1 + (r - OWN_PIECES) / HELPER_PIECES,
        }
    }
}

/// A helper thread of [`Report::write_json_threads`]: the JSON of its
/// pieces in order, the way back for written buffers, and the thread.
type Lane<'scope> = (
    mpsc::Receiver<Vec<u8>>,
    mpsc::Sender<Vec<u8>>,
    ScopedJoinHandle<'scope, ()>,
);

/// Starts helper thread `k`, which serializes the pieces dealt to it, in
/// order, into buffers that come back to be filled again once written.
fn spawn_lane<'scope>(
    s: &'scope Scope<'scope, '_>,
    pieces: &'scope [&'scope [FlowOut]],
    deal: Deal,
    k: usize,
) -> Lane<'scope> {
    let (tx, rx) = mpsc::sync_channel::<Vec<u8>>(2 * HELPER_PIECES);
    // Written pieces come back to be filled again.
    let (back, spare) = mpsc::channel::<Vec<u8>>();
    let worker = s.spawn(move || {
        for (_, piece) in pieces
            .iter()
            .enumerate()
            .filter(|(j, _)| deal.whose(*j) == k)
        {
            // About 540 bytes a flow; reserved, not touched,
            // so the guess costs no memory.
            let mut json = spare
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(piece.len() * 640));
            write_flows(&mut json, piece);
            if tx.send(json).is_err() {
                return;
            }
        }
    });
    (rx, back, worker)
}

/// The flows as the elements of their array, piece by piece in order:
/// this thread's pieces serialized here, the others' as their lanes hand
/// them over.
fn write_pieces(
    w: &mut Chunked<'_>,
    pieces: &[&[FlowOut]],
    lanes: &[Lane<'_>],
    deal: Deal,
) -> io::Result<()> {
    for (j, piece) in pieces.iter().enumerate() {
        if j > 0 {
            w.write_all(b",")?;
        }
        match lanes.get(deal.whose(j).wrapping_sub(1)) {
            None => w.write_flows(piece)?,
            Some((rx, back, _)) => {
                let Ok(mut json) = rx.recv() else {
                    return Err(io::Error::other("a JSON thread stopped"));
                };
                w.write_large(&json)?;
                json.clear();
                let _ = back.send(json);
            }
        }
    }
    Ok(())
}

/// The flows as the elements of their array: those of the report and
/// those written early, each in id order, merged.
fn write_merged(
    w: &mut Chunked<'_>,
    flows: &[FlowOut],
    spilled: &mut SpillReader,
) -> io::Result<()> {
    let mut held = flows.iter().peekable();
    let mut first = true;
    loop {
        // The lower id next; an entry of the report when neither is left
        // in the file.
        let held_next = match (held.peek().map(|f| f.id), spilled.peek_id()) {
            (None, None) => return Ok(()),
            (Some(h), Some(e)) => h < e,
            (h, _) => h.is_some(),
        };
        if !first {
            w.write_all(b",")?;
        }
        first = false;
        match held.next_if(|_| held_next) {
            Some(f) => w.write_flows(std::slice::from_ref(f))?,
            None => {
                spilled.next_into(&mut *w)?;
            }
        }
    }
}

/// Joins the helper threads, not left to the scope: they have then exited
/// (their thread-locals freed) when the JSON is written. A panic in one is
/// resumed here; a receiver dropped first unblocks a thread whose queue is
/// full.
fn join_lanes(lanes: Vec<Lane<'_>>) {
    for (rx, back, worker) in lanes {
        drop((rx, back));
        if let Err(panic) = worker.join() {
            std::panic::resume_unwind(panic);
        }
    }
}

/// Bytes gathered before [`Chunked`] hands them to its writer.
const CHUNK: usize = 4 << 20;

/// A buffer in front of a dynamic writer.
struct Chunked<'a> {
    out: &'a mut dyn Write,
    buf: Vec<u8>,
}

impl Write for Chunked<'_> {
    #[inline]
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.write_all(b)?;
        Ok(b.len())
    }

    #[inline]
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }
}

impl<'a> Chunked<'a> {
    /// An empty buffer of [`CHUNK`] bytes in front of `out`.
    fn new(out: &'a mut dyn Write) -> Self {
        Chunked {
            out,
            buf: Vec::with_capacity(CHUNK),
        }
    }

    /// Flows as the elements of a JSON array, without its brackets,
    /// written into the buffer.
    fn write_flows(&mut self, flows: &[FlowOut]) -> io::Result<()> {
        for (i, f) in flows.iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            flow_json::write_flow(&mut self.buf, f);
            if self.buf.len() >= CHUNK {
                self.out.write_all(&self.buf)?;
                self.buf.clear();
            }
        }
        Ok(())
    }

    /// Like `write_all`, but a piece of a chunk or more goes to the writer
    /// as it is, not copied into the buffer.
    fn write_large(&mut self, b: &[u8]) -> io::Result<()> {
        if b.len() < CHUNK {
            return self.write_all(b);
        }
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.write_all(b)
    }
}

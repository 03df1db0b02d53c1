//! The analyzer: frames in, report out.
//!
//! `Analyzer::process` is the per-packet path: decode the frame (borrowing
//! it), reassemble IP fragments when needed, find the flow, count, and hand
//! the payload to the dissectors. Nothing on that path allocates unless a
//! flow, a fragment buffer or a stream buffer is created.

use crate::capture::pcapfile::Block;
use crate::capture::FrameSink;
use crate::dissect::{self, Ctx};
use crate::flow::{FlowLimits, FlowTable, OtherTally};
use crate::packet::reasm::{Outcome, ReasmLimits, ReasmStats, Reassembler};
use crate::packet::{self, Decoded, LinkType, Packet, Skip};
use crate::time::Nanos;

/// Where the reading thread's analyzer sends what other threads analyse
/// (`--threads`); [`crate::shard`] implements it. The analyzer asks it about
/// every decoded packet and keeps only what it is told to analyse itself.
pub trait Router: Send + Sync {
    /// Packet time advanced to `now` at frame number `frame` (idle sweeps).
    fn tick(&mut self, frame: u64, now: Nanos);
    /// The block the next frames borrow from.
    fn lend(&mut self, block: &Block);
    /// Routes one packet: `None` when another thread alone analyses it,
    /// `Some(foreign)` when this thread analyses it too, `foreign` when only
    /// for its signalling (another thread owns the flow).
    fn packet(&mut self, p: &Packet<'_>, wire_len: u64, now: Nanos, frame: u64) -> Option<bool>;
    /// Sends the packets gathered so far (a live capture does, at least
    /// every few hundred milliseconds, so that a quiet link's packets are
    /// not held back).
    fn flush(&mut self);
    /// Sends what is still queued; the other threads end when they have read it.
    fn finish(self: Box<Self>);
}

/// Settings of one analysis.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub flows: FlowLimits,
    pub reasm: ReasmLimits,
    pub limits: dissect::Limits,
    /// `--partition K/N`: analyse only this sensor's share of the traffic.
    pub partition: Option<Partition>,
    /// Count the flows with nothing of a call in `other_flows` instead of
    /// listing them (the command line's default; `--all-flows` lists all).
    pub summarise_others: bool,
    /// Ids of flows and inferred calls: one analyser of several that
    /// stream to one output numbers apart from the others.
    pub numbering: crate::flow::Numbering,
}

/// One of `count` sensors' shares of the traffic (`--partition K/N`): the
/// packets whose internal endpoint hashes to `index`. A client's
/// signalling, STUN and media all have the client as their internal
/// endpoint, so they stay on one sensor, and the union of the N sensors'
/// records is one sensor's report. The internal endpoint is the side with
/// an internal address (RFC 1918, CGNAT, ULA, link-local, loopback) when
/// exactly one side has one, else the lower address of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub index: u32,
    pub count: u32,
}

impl Partition {
    /// `K/N` with `K < N` and `1 <= N <= 1024`.
    pub fn parse(s: &str) -> Result<Partition, String> {
        let bad = || {
            format!("--partition {s}: give K/N, this sensor's share K of N (0 <= K < N <= 1024)")
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || count > 1024 || index >= count {
            return Err(bad());
        }
        Ok(Partition { index, count })
    }

    /// Whether a packet between `a` and `b` is this sensor's.
    pub fn keeps(&self, a: std::net::IpAddr, b: std::net::IpAddr) -> bool {
        client_hash(a, b) % self.count == self.index
    }
}

/// A hash of the client side of a packet between `a` and `b`: the side with
/// an internal address when exactly one side has one
/// ([`client_side`]), else the lower address of the two.
pub fn client_hash(a: std::net::IpAddr, b: std::net::IpAddr) -> u32 {
    address_hash(client_side(a, b).unwrap_or(a.min(b)))
}

/// The side of a packet between `a` and `b` with an internal address (RFC
/// 1918, CGNAT, ULA, link-local, loopback), when exactly one side has one.
pub fn client_side(a: std::net::IpAddr, b: std::net::IpAddr) -> Option<std::net::IpAddr> {
    let inner = |ip| crate::scope::scope_of(ip).is_internal();
    match (inner(a), inner(b)) {
        (true, false) => Some(a),
        (false, true) => Some(b),
        _ => None,
    }
}

/// FNV-1a over the address bytes: stable across runs and machines.
pub fn address_hash(ip: std::net::IpAddr) -> u32 {
    let (v4, v6);
    let bytes: &[u8] = match ip {
        std::net::IpAddr::V4(v) => {
            v4 = v.octets();
            &v4
        }
        std::net::IpAddr::V6(v) => {
            v6 = v.octets();
            &v6
        }
    };
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Totals over every frame seen.
#[derive(Debug, Default, Clone, Copy)]
pub struct SourceStats {
    pub packets: u64,
    pub bytes: u64,
    pub first_ts: Option<Nanos>,
    pub last_ts: Option<Nanos>,
    pub malformed: u64,
    pub skipped: u64,
    pub decapsulated: u64,
    /// Frames whose timestamp went backwards (counted; flows use the latest time).
    pub ts_backwards: u64,
    /// Packets left to the other sensors of `--partition`.
    pub other_partitions: u64,
}

/// One analysis over one or more captures.
pub struct Analyzer {
    pub(crate) flows: FlowTable,
    reasm: Reassembler,
    pub(crate) reasm_limits: ReasmLimits,
    pub(crate) ctx: Ctx,
    pub(crate) stats: SourceStats,
    /// Latest timestamp seen: packet time never runs backwards for the engine.
    now: Nanos,
    /// Keep the ids of ended flows for `take_ended` (live streaming output).
    streaming: bool,
    /// The reading thread of a sharded analysis hands packets on through this.
    pub(crate) dispatch: Option<Box<dyn Router>>,
    partition: Option<Partition>,
    pub(crate) all_flows: bool,
    /// Streaming: flows ended, written and let go, counted (not listed).
    pub(crate) other: OtherTally,
    /// Streaming: flow records written as flows ended.
    pub(crate) streamed: u64,
    /// Streaming: ended flows of a call kind let go because
    /// `MAX_HELD_ENDED` were held already.
    pub(crate) not_held: u64,
    /// Streaming: per app, flows and bytes of the flows ended so far
    /// (at most `MAX_APPS` apps).
    pub(crate) app_bytes: rustc_hash::FxHashMap<String, (u64, u64)>,
    /// Streaming: ids of ended flows held whose record waits for the end
    /// (bounded by `MAX_HELD_ENDED`).
    pub(crate) deferred: rustc_hash::FxHashSet<u32>,
    /// Streaming: the app of each internal socket, learnt from the flows
    /// ended so far (at most `MAX_SOCKETS`).
    pub(crate) sockets: SocketApps,
    /// Streaming: what the records written before the end leave for it.
    pub(crate) written: Written,
    /// How flows and inferred calls are numbered.
    pub(crate) numbering: crate::flow::Numbering,
}

/// Streaming NDJSON: call records written as calls end, and the flows of
/// calls let go once nothing can join them any more
/// (`Analyzer::stream_settled`), leave this for the records of the end.
#[derive(Default)]
pub(crate) struct Written {
    /// On: calls are written as they end and settled flows let go.
    pub(crate) on: bool,
    /// SIP call records written as the calls ended.
    pub(crate) sip_calls: u64,
    /// Leak records written once their flows were let go.
    pub(crate) leaks: u64,
    /// Inferred call records written as their flows settled; later ones
    /// are numbered on from them.
    pub(crate) inferred: usize,
    /// Flows still open when their call's record was written → the call's
    /// id, which their own records name. An entry leaves when its flow
    /// ends, so this is bounded by the live flows.
    pub(crate) flow_calls: rustc_hash::FxHashMap<u32, Box<str>>,
    /// Flows of a leak that belong to a call written already → its id
    /// (bounded by the leak table).
    pub(crate) leak_calls: rustc_hash::FxHashMap<u32, Box<str>>,
    /// The media of flows let go before the end, per relay.
    pub(crate) relay_use: crate::calls::relay::RelayUse,
    /// TURN servers over TLS or DTLS found in flows let go before the end
    /// (at most `MAX_RELAYS`).
    pub(crate) tls_relays: crate::calls::relay::TlsRelays,
    /// Packet time of the next look for ended calls and settled flows.
    pub(crate) next_sweep: Option<Nanos>,
}

/// Streaming: a closed TCP connection ends once silent this long (packet
/// time): Linux's TIME_WAIT (RFC 9293's 2 MSL, shortened), during which
/// segments on its 5-tuple still belong to it.
pub const CLOSE_GRACE: Nanos = Nanos::from_secs(60);
/// Ended flows of a call kind held for the final report while streaming.
pub(crate) const MAX_HELD_ENDED: usize = 65_536;
/// The app of each internal socket (`None`: two apps used it); learnt and
/// lent in `assemble`.
#[derive(Default)]
pub(crate) struct SocketApps(
    /// The app (`None`: two apps), and the end of the latest flow that taught it.
    pub(crate) rustc_hash::FxHashMap<SocketKey, (Option<Box<str>>, Nanos)>,
);

/// An internal endpoint and its transport.
pub(crate) type SocketKey = (crate::net::Endpoint, crate::net::Transport);

/// Internal sockets whose app streamed flows remember.
pub(crate) const MAX_SOCKETS: usize = 65_536;
/// Apps counted for `--interval` records.
pub(crate) const MAX_APPS: usize = 256;

impl Analyzer {
    pub fn new(cfg: Config) -> Self {
        let mut flows = FlowTable::new(cfg.flows);
        flows.set_numbering(cfg.numbering);
        Analyzer {
            flows,
            reasm: Reassembler::new(cfg.reasm),
            reasm_limits: cfg.reasm,
            ctx: Ctx::new(cfg.limits),
            stats: SourceStats::default(),
            now: Nanos::ZERO,
            streaming: false,
            dispatch: None,
            partition: cfg.partition,
            all_flows: !cfg.summarise_others,
            other: OtherTally::default(),
            streamed: 0,
            not_held: 0,
            app_bytes: Default::default(),
            deferred: Default::default(),
            sockets: Default::default(),
            written: Default::default(),
            numbering: cfg.numbering,
        }
    }

    /// Analyses one captured frame. `wire_len` is its length on the wire.
    pub fn process(&mut self, link: LinkType, ts: Nanos, frame: &[u8], wire_len: u32) {
        let s = &mut self.stats;
        s.packets += 1;
        s.bytes += u64::from(wire_len);
        if s.first_ts.is_none() {
            s.first_ts = Some(ts);
        }
        if ts < self.now {
            s.ts_backwards += 1;
        } else {
            self.now = ts;
        }
        s.last_ts = Some(s.last_ts.map_or(ts, |l| l.max(ts)));
        let now = self.now;
        let frame_no = s.packets;
        self.ctx.set_frame(frame_no);
        if self.flows.tick(frame_no, now) {
            if let Some(d) = self.dispatch.as_deref_mut() {
                d.tick(frame_no, now);
            }
        }
        match packet::decode(link, frame) {
            Ok(Decoded::Packet(p)) => self.deliver(&p, u64::from(wire_len), now, frame_no),
            Ok(Decoded::Fragment(f)) => {
                if f.tunnel_depth > 0 {
                    self.stats.decapsulated += 1;
                }
                match self.reasm.push(&f, u64::from(wire_len), now) {
                    Outcome::Pending => {}
                    // Counted by the reassembler, reported once at the end.
                    Outcome::Dropped => {}
                    Outcome::Complete {
                        protocol,
                        payload,
                        frame_bytes,
                        tunnel_depth,
                    } => match packet::transport(f.src, f.dst, protocol, &payload, tunnel_depth) {
                        Ok(Decoded::Packet(p)) => self.deliver(&p, frame_bytes, now, frame_no),
                        Ok(Decoded::Fragment(_)) => {}
                        Err(skip) => self.skip(skip, frame_no),
                    },
                }
            }
            Err(skip) => self.skip(skip, frame_no),
        }
    }

    /// The frames passed to [`Analyzer::process`] next lie in `block`
    /// (a reader's shared buffer): with worker threads, their payloads are
    /// handed over by place instead of copied.
    /// Only worth calling when [`Analyzer::lends`].
    #[inline]
    pub fn lend(&mut self, block: &Block) {
        if let Some(d) = self.dispatch.as_deref_mut() {
            d.lend(block);
        }
    }

    /// Hands the packets gathered for worker threads over now.
    pub fn flush_dispatch(&mut self) {
        if let Some(d) = self.dispatch.as_deref_mut() {
            d.flush();
        }
    }

    /// Whether [`Analyzer::lend`] does anything: worker threads are behind
    /// this analyzer.
    pub fn lends(&self) -> bool {
        self.dispatch.is_some()
    }

    /// Counts a frame that cannot be decoded at all (its interface has an
    /// unsupported link type).
    pub fn count_unreadable(&mut self, wire_len: u32) {
        self.stats.packets += 1;
        self.stats.bytes += u64::from(wire_len);
        self.stats.skipped += 1;
    }

    fn skip(&mut self, skip: Skip, frame_no: u64) {
        if skip.is_malformed() {
            self.stats.malformed += 1;
            self.ctx
                .warnings
                .add(skip.as_str(), || format!("frame {frame_no}"));
        } else {
            self.stats.skipped += 1;
        }
    }

    /// A decoded packet: to this analyzer's flows, or to the worker threads.
    #[inline]
    fn deliver(&mut self, p: &Packet<'_>, wire_len: u64, now: Nanos, frame: u64) {
        if p.tunnel_depth > 0 {
            self.stats.decapsulated += 1;
        }
        if let Some(part) = &self.partition {
            if !part.keeps(p.src, p.dst) {
                self.stats.other_partitions += 1;
                return;
            }
        }
        let foreign = match self.dispatch.as_deref_mut() {
            Some(d) => d.packet(p, wire_len, now, frame),
            None => Some(false),
        };
        if let Some(foreign) = foreign {
            self.packet(p, wire_len, now, foreign);
        }
    }

    /// A worker thread: a packet handed over by the reading thread, with the
    /// number of the frame it came from and the engine's time then.
    /// `foreign`: a flow another worker owns, followed for its signalling.
    #[inline]
    pub(crate) fn worker_packet(
        &mut self,
        frame: u64,
        now: Nanos,
        p: &Packet<'_>,
        wire_len: u64,
        foreign: bool,
    ) {
        self.ctx.set_frame(frame);
        self.now = self.now.max(now);
        self.flows.tick(frame, now);
        self.packet(p, wire_len, now, foreign);
    }

    /// A worker thread: the reading thread's flow table looked for idle
    /// flows at this frame; this one does too, so both end the same flows.
    pub(crate) fn worker_tick(&mut self, frame: u64, now: Nanos) {
        self.ctx.set_frame(frame);
        self.now = self.now.max(now);
        self.flows.tick(frame, now);
    }

    #[inline]
    fn packet(&mut self, p: &Packet<'_>, wire_len: u64, now: Nanos, foreign: bool) {
        if foreign && self.numbering.count > 1 {
            // Split by client: another thread's DNS answer, for its names.
            dissect::learn_dns_names(&mut self.ctx, p.payload);
            return;
        }
        let (src, dst) = p.endpoints();
        let (idx, dir) = self.flows.lookup_as(p.transport, src, dst, now, !foreign);
        if p.tcp.fin || p.tcp.rst {
            self.flows.tcp_close(idx, dir, p.tcp.fin, p.tcp.rst, now);
        }
        let Some(flow) = self.flows.get_mut(idx) else {
            return;
        };
        let d = dir.index();
        flow.packets[d] += 1;
        flow.bytes[d] += wire_len;
        flow.last_ts = flow.last_ts.max(now);
        if foreign {
            if !flow.state.may_carry_signalling() {
                return;
            }
            let dropped = self.ctx.stream_bytes_dropped;
            self.ctx.mute(true);
            dissect::dissect(&mut self.ctx, flow, dir, p, now);
            self.ctx.mute(false);
            self.ctx.stream_bytes_dropped = dropped;
        } else {
            dissect::dissect(&mut self.ctx, flow, dir, p, now);
        }
        if self.streaming {
            for ended in self.flows.drain_ended() {
                self.ctx.ended.push(ended);
            }
        } else {
            self.flows.drain_ended().for_each(drop);
        }
    }

    /// Ask for the ids of flows as they end ([`Analyzer::take_ended`]).
    /// Streaming also ends a closed TCP connection (RST, or FIN both
    /// ways) [`CLOSE_GRACE`] of packet time after it closed, so that its
    /// record comes then rather than after the idle timeout.
    pub fn set_streaming(&mut self, on: bool) {
        self.streaming = on;
        self.flows.set_close_grace(on.then_some(CLOSE_GRACE));
    }

    /// Ended flows held in the table for the final report.
    pub fn held_ended(&self) -> usize {
        self.flows.held_ended()
    }

    /// Live flows now.
    pub fn live_flows(&self) -> usize {
        self.flows.live_flows()
    }

    /// From now on, flows that end are handed out as when streaming
    /// ([`Analyzer::take_ended`]), and so are the ended flows held now, in
    /// id order. Unlike [`Analyzer::set_streaming`], a closed TCP
    /// connection still ends only when idle: the report written at the end
    /// tells the same about it. For a report written at the end whose
    /// ended flows outgrow memory (`crate::report::spill`).
    pub fn stream_ended_from_now(&mut self) {
        self.streaming = true;
        // Those that just ended are among the held ones.
        self.flows.drain_ended().for_each(drop);
        self.ctx.ended.clear();
        let held = self
            .flows
            .all()
            .iter()
            .enumerate()
            .filter(|(_, f)| f.ended.is_some() && !f.gone)
            .map(|(i, _)| i as u32);
        self.ctx.ended.extend(held);
    }

    /// The part of the traffic this analysis sees, when it sees a part: a
    /// thread of a split analysis ([`crate::flow::Numbering`] of several),
    /// or a sensor of `--partition`.
    pub fn share(&self) -> Option<&'static str> {
        if self.numbering.count > 1 {
            Some("this thread's share of the traffic")
        } else if self.partition.is_some() {
            Some("this sensor's share of the traffic")
        } else {
            None
        }
    }

    /// Kernel/libpcap drops, for live captures.
    pub fn set_dropped(&mut self, dropped: u64) {
        self.ctx.dropped = dropped;
    }

    /// Whether flows ended since the last [`Analyzer::take_ended`].
    pub fn ended_pending(&self) -> bool {
        !self.ctx.ended.is_empty() || self.flows.has_ended()
    }

    /// Flow records written as flows ended ([`Analyzer::set_streaming`]).
    pub fn flows_streamed(&self) -> u64 {
        self.streamed
    }

    /// Packet time: the latest timestamp seen.
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// Flows that ended since the last call (for streaming output).
    pub fn take_ended(&mut self) -> Vec<u32> {
        for ended in self.flows.drain_ended() {
            self.ctx.ended.push(ended);
        }
        std::mem::take(&mut self.ctx.ended)
    }

    /// Ends the analysis: every flow ends, pending fragments time out, and
    /// what reassembly and the clock saw becomes warnings. Returns the
    /// reassembly counts for the report.
    pub(crate) fn close(&mut self) -> ReasmStats {
        self.flows.end_all();
        self.reasm.finish();
        let r = self.reasm.stats;
        let w = &mut self.ctx.warnings;
        w.add_n("fragments-timed-out", r.timed_out, || {
            "IP datagram incomplete when its time ran out or the capture ended".into()
        });
        w.add_n("fragments-overlapping", r.overlaps, || {
            "IP fragments overlap; the bytes that came first were kept".into()
        });
        w.add_n("fragments-too-large", r.too_large, || {
            "IP datagram larger than 65535 bytes".into()
        });
        w.add_n("fragments-table-full", r.table_full, || {
            "too many datagrams in reassembly at once".into()
        });
        w.add_n("timestamps-backwards", self.stats.ts_backwards, || {
            "a frame's timestamp is earlier than the one before it".into()
        });
        r
    }

    /// What a live sensor's status line shows: flows live now, calls
    /// tracked, packets the capture dropped.
    pub fn vitals(&self) -> (usize, usize, u64) {
        (
            self.flows.live_count(),
            self.ctx.calls.live(),
            self.ctx.dropped,
        )
    }

    pub fn stats(&self) -> &SourceStats {
        &self.stats
    }
}

impl FrameSink for Analyzer {
    #[inline]
    fn frame(&mut self, link: LinkType, ts: Nanos, data: &[u8], wire_len: u32) {
        self.process(link, ts, data, wire_len);
    }
    fn unreadable(&mut self, wire_len: u32) {
        self.count_unreadable(wire_len);
    }
    fn warn(&mut self, kind: &'static str, example: impl FnOnce() -> String) {
        self.ctx.warnings.add(kind, example);
    }
    fn lends(&self) -> bool {
        Analyzer::lends(self)
    }
    #[inline]
    fn lend(&mut self, block: &Block) {
        Analyzer::lend(self, block);
    }
    fn set_dropped(&mut self, dropped: u64) {
        Analyzer::set_dropped(self, dropped);
    }
}

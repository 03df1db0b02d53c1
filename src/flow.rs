//! Bidirectional flows: a canonical 5-tuple key, the direction of each
//! packet, and a bounded table with idle expiry on packet time.
//!
//! Flow ids are given in first-seen order and never reused. A flow that has
//! been idle for longer than the timeout (packet time, never the wall clock)
//! ends; when the table is full, the flows idle the longest are ended early
//! and counted as evicted. An ended flow keeps its summary for the report but
//! drops its dissection state, unless the caller lets it go once its record
//! is written ([`FlowTable::forget`], streaming output): then it leaves
//! memory at the next compaction. A later packet on the same 5-tuple starts
//! a new flow.

use std::collections::BTreeMap;

use hashbrown::HashTable;
use rustc_hash::FxHashMap;

use crate::evidence::FlowState;
use crate::net::{Direction, Endpoint, FlowKey, Transport};
use crate::time::Nanos;

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// Still live when the capture ended.
    CaptureEnd,
    /// Idle for longer than the timeout.
    Idle,
    /// Ended early because the table was full.
    Evicted,
    /// A TCP connection closed (RST, or FIN both ways), then silent for the
    /// grace (streaming only, [`FlowTable::set_close_grace`]).
    Closed,
}

/// One bidirectional flow.
///
/// Laid out in this order (`repr(C)`): what every packet of the flow reads
/// or writes (its endpoints, which the live index compares a packet's with,
/// its times and counters, then its dissectors' state) first, so that a
/// packet touches as few cache lines as it can; what the report alone reads
/// last.
#[derive(Debug)]
#[repr(C)]
pub struct Flow {
    /// The side that sent the first packet.
    pub src: Endpoint,
    pub dst: Endpoint,
    pub last_ts: Nanos,
    /// 1-based, first-seen order.
    pub id: u32,
    /// False for a flow another worker thread owns, followed here only for
    /// its signalling ([`crate::shard`]).
    pub owned: bool,
    pub transport: Transport,
    pub ended: Option<EndReason>,
    /// Ended, reported and let go ([`FlowTable::forget`]): removed at the
    /// next [`FlowTable::compact`].
    pub gone: bool,
    /// The hash the live index files the flow under ([`hash_of`]), kept
    /// for taking it out and for moving it when the index grows.
    hash: u64,
    /// Per direction, indexed by [`Direction::index`].
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// What the dissectors learnt; its heavy parts are dropped when the flow ends.
    pub state: FlowState,
    pub first_ts: Nanos,
    /// Frame (1-based, over all inputs) that created the flow, and the frame
    /// during which it ended (`u64::MAX`: at the end of the capture).
    pub first_frame: u64,
    pub end_frame: u64,
    pub closed_at: Option<Nanos>,
    /// TCP: FIN seen per direction (bits 1 and 2), and the packet time the
    /// connection closed (a RST, or the FIN that made it both ways).
    fins: u8,
    /// Whether the ended flow's own state rules out an entry in the
    /// default report, once decided (`bare_by_state` in src/assemble.rs):
    /// the end of a streamed capture decides it before the report does.
    pub bare: Option<bool>,
}

impl Flow {
    pub fn total_packets(&self) -> u64 {
        self.packets[0] + self.packets[1]
    }
    pub fn total_bytes(&self) -> u64 {
        self.bytes[0] + self.bytes[1]
    }
}

/// Limits of the flow table.
#[derive(Debug, Clone, Copy)]
pub struct FlowLimits {
    /// Live flows at most; beyond, the longest-idle flows are evicted.
    pub max_live: usize,
    /// A flow idle this long (packet time) ends.
    pub idle_timeout: Nanos,
}

impl Default for FlowLimits {
    fn default() -> Self {
        FlowLimits {
            max_live: 262_144,
            idle_timeout: Nanos::from_secs(900),
        }
    }
}

/// How one of several analysers of a stream numbers its flows and its
/// inferred calls so that no two share an id: the `index`-th of every
/// `count` numbers (1, 2, 3... for a single analyser).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbering {
    pub index: u32,
    pub count: u32,
}

impl Default for Numbering {
    fn default() -> Self {
        Numbering { index: 0, count: 1 }
    }
}

impl Numbering {
    /// The id of the `n`-th thing numbered (from 0).
    #[inline]
    pub fn nth(self, n: u64) -> u32 {
        let id = n
            .saturating_mul(u64::from(self.count.max(1)))
            .saturating_add(u64::from(self.index) + 1);
        u32::try_from(id).unwrap_or(u32::MAX)
    }
}

/// All flows of an analysis: the live ones indexed by key.
pub struct FlowTable {
    limits: FlowLimits,
    /// The live flows' indices, hashed by their 5-tuple ([`FlowKey`], the
    /// same both ways) and matched against the flows' own endpoints: 4
    /// bytes an entry, so the index of thousands of live flows stays in
    /// the CPU's nearer caches, and finding a packet's flow touches the
    /// flow itself, which the packet needs next anyway, not a copy of its
    /// key.
    live: HashTable<u32>,
    /// Every live flow's index, keyed by a time its `last_ts` had (never
    /// more than it has now, as it only grows): the sweep pops the flows
    /// that may be idle instead of visiting every live one. Entries of
    /// flows ended otherwise are dropped when they come up.
    idle: TimeQueue,
    flows: Vec<Flow>,
    /// Flows that ended since the caller last drained them (indices).
    ended: Vec<u32>,
    /// Flows numbered so far, and how ids are given.
    numbered: u64,
    numbering: Numbering,
    /// Flows forgotten but not yet removed from `flows`.
    gone: usize,
    next_sweep: Nanos,
    /// Frame being analysed (set by [`FlowTable::tick`]).
    frame: u64,
    pub expired: u64,
    pub evicted: u64,
    pub peak_live: usize,
    /// Live flows that are followed copies (`!owned`), and their bound.
    copies: usize,
    max_copies: usize,
    /// A closed TCP connection ends this long after it closed (streaming).
    close_grace: Option<Nanos>,
    /// Streaming: the flows that closed, keyed by a time their `last_ts`
    /// had since (as `idle`).
    closing: TimeQueue,
    /// Flows ended that way.
    pub closed: u64,
}

/// Flow indices keyed by a time, taken out by time: the entries before a
/// time, in any order. Entries go into slots of [`SWEEP_EVERY`] (the sweep's
/// period) in an ordered map, so that putting one in and taking it out cost
/// a lookup among the few hundred slots an idle timeout spans, and a slot
/// ends up whole in one sweep, not element by element as from a heap; a
/// jump in packet time leaves no empty slot behind.
#[derive(Default)]
struct TimeQueue {
    slots: BTreeMap<u64, Vec<(Nanos, u32)>>,
    /// The latest slot, out of the map: packet time grows, so most entries
    /// go there, without a lookup.
    tail: Option<(u64, Vec<(Nanos, u32)>)>,
}

impl TimeQueue {
    fn slot_of(t: Nanos) -> u64 {
        t.0 / SWEEP_EVERY.0
    }

    #[inline]
    fn push(&mut self, t: Nanos, i: u32) {
        let k = Self::slot_of(t);
        match &mut self.tail {
            Some((tk, v)) if *tk == k => v.push((t, i)),
            Some((tk, _)) if *tk > k => self.slots.entry(k).or_default().push((t, i)),
            tail => {
                // A later slot: the tail goes into the map, sized like it.
                let cap = tail.as_ref().map_or(0, |(_, v)| v.len());
                let mut v = Vec::with_capacity(cap);
                v.push((t, i));
                if let Some((tk, old)) = tail.replace((k, v)) {
                    Self::merge(&mut self.slots, tk, old);
                }
            }
        }
    }

    /// Puts slot `k`'s entries `v` into the map, with those it holds.
    fn merge(slots: &mut BTreeMap<u64, Vec<(Nanos, u32)>>, k: u64, v: Vec<(Nanos, u32)>) {
        match slots.entry(k) {
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(v);
            }
            std::collections::btree_map::Entry::Occupied(mut e) => e.get_mut().extend(v),
        }
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.tail = None;
    }

    /// Takes out every entry whose time is before `limit`.
    fn take_before(&mut self, limit: Nanos) -> Vec<(Nanos, u32)> {
        // The tail joins the map once the limit reaches it.
        if let Some((tk, _)) = &self.tail {
            if tk.saturating_mul(SWEEP_EVERY.0) < limit.0 {
                if let Some((tk, v)) = self.tail.take() {
                    Self::merge(&mut self.slots, tk, v);
                }
            }
        }
        let mut out = Vec::new();
        while let Some(mut first) = self.slots.first_entry() {
            let k = *first.key();
            if k.saturating_mul(SWEEP_EVERY.0) >= limit.0 {
                break;
            }
            if k.saturating_add(1).saturating_mul(SWEEP_EVERY.0) <= limit.0 {
                // The whole slot is before the limit.
                let v = first.remove();
                if out.is_empty() {
                    out = v;
                } else {
                    out.extend(v);
                }
                continue;
            }
            // The slot the limit falls in: only its entries before it.
            first.get_mut().retain(|&(t, i)| {
                if t < limit {
                    out.push((t, i));
                    false
                } else {
                    true
                }
            });
            if first.get().is_empty() {
                first.remove();
            }
            break;
        }
        out
    }

    /// Renumbers every entry's flow; those `new_of` maps to `u32::MAX` go.
    fn renumber(&mut self, new_of: impl Fn(u32) -> u32) {
        let keep = |v: &mut Vec<(Nanos, u32)>| {
            v.retain_mut(|(_, i)| {
                *i = new_of(*i);
                *i != u32::MAX
            });
            !v.is_empty()
        };
        self.slots.retain(|_, v| keep(v));
        if let Some((_, v)) = &mut self.tail {
            keep(v);
        }
    }
}

/// The hash the live index files a flow under: its 5-tuple's, the same
/// for a packet either way.
#[inline]
fn hash_of(transport: Transport, a: Endpoint, b: Endpoint) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(FlowKey::of(transport, a, b).0)
}

/// How often (packet time) the table looks for idle flows.
const SWEEP_EVERY: Nanos = Nanos::from_secs(5);

impl FlowTable {
    pub fn new(limits: FlowLimits) -> Self {
        FlowTable {
            limits,
            live: HashTable::new(),
            idle: TimeQueue::default(),
            flows: Vec::new(),
            ended: Vec::new(),
            numbered: 0,
            numbering: Numbering::default(),
            gone: 0,
            next_sweep: Nanos::ZERO,
            frame: 0,
            expired: 0,
            evicted: 0,
            peak_live: 0,
            copies: 0,
            max_copies: limits.max_live,
            close_grace: None,
            closing: TimeQueue::default(),
            closed: 0,
        }
    }

    /// Ends a TCP connection closed (RST, or FIN both ways) once silent for
    /// `grace` (packet time) instead of the idle timeout.
    pub fn set_close_grace(&mut self, grace: Option<Nanos>) {
        self.close_grace = grace;
    }

    /// A TCP segment with FIN or RST on flow `idx` in direction `dir` at
    /// `now`; with a close grace, a connection that closes is queued to end.
    #[inline]
    pub fn tcp_close(&mut self, idx: usize, dir: Direction, fin: bool, rst: bool, now: Nanos) {
        let Some(f) = self.flows.get_mut(idx) else {
            return;
        };
        if fin {
            f.fins |= 1 << dir.index();
        }
        if f.closed_at.is_none() && (rst || f.fins == 3) {
            f.closed_at = Some(now);
            if self.close_grace.is_some() {
                self.closing.push(now, idx as u32);
            }
        }
    }

    /// Bounds the live followed copies (flows another thread owns, see
    /// [`FlowTable::lookup_as`]) apart from the table's own flows.
    pub fn set_copy_limit(&mut self, max: usize) {
        self.max_copies = max.max(1);
    }

    /// Ids of the flows created from now on ([`Numbering`]).
    pub fn set_numbering(&mut self, n: Numbering) {
        self.numbering = n;
    }

    pub fn limits(&self) -> FlowLimits {
        self.limits
    }

    /// A new frame at packet time `ts`: idle flows are looked for on the
    /// same schedule whether or not the frame reaches the table, so worker
    /// threads that see different flows end them at the same frames.
    /// Returns true when it looked.
    #[inline]
    pub fn tick(&mut self, frame: u64, ts: Nanos) -> bool {
        self.frame = frame;
        if ts >= self.next_sweep {
            self.expire_idle(ts);
            return true;
        }
        false
    }

    /// A table made of flows already ended (worker threads' flows, merged).
    pub fn from_ended(
        limits: FlowLimits,
        flows: Vec<Flow>,
        peak_live: usize,
        expired: u64,
        evicted: u64,
    ) -> FlowTable {
        FlowTable {
            limits,
            live: HashTable::new(),
            idle: TimeQueue::default(),
            numbered: flows.len() as u64,
            numbering: Numbering::default(),
            flows,
            ended: Vec::new(),
            gone: 0,
            next_sweep: Nanos::ZERO,
            frame: 0,
            expired,
            evicted,
            peak_live,
            copies: 0,
            max_copies: limits.max_live,
            close_grace: None,
            closing: TimeQueue::default(),
            closed: 0,
        }
    }

    /// Takes the flows out (the table is left empty).
    pub fn take_flows(&mut self) -> Vec<Flow> {
        self.live.clear();
        self.idle.clear();
        self.closing.clear();
        self.copies = 0;
        std::mem::take(&mut self.flows)
    }

    /// The flow of a packet, created if new; returns its index and the packet's direction.
    #[inline]
    #[cfg(test)]
    pub fn lookup(
        &mut self,
        transport: Transport,
        src: Endpoint,
        dst: Endpoint,
        ts: Nanos,
    ) -> (usize, Direction) {
        self.lookup_as(transport, src, dst, ts, true)
    }

    /// The flow of a packet from `src` to `dst` (created if new) for a flow this table owns, or (`!owned`) a
    /// copy of one another thread owns, followed for its signalling. The
    /// two are bounded apart: `max_live` counts the owned flows only.
    #[inline]
    pub fn lookup_as(
        &mut self,
        transport: Transport,
        src: Endpoint,
        dst: Endpoint,
        ts: Nanos,
        owned: bool,
    ) -> (usize, Direction) {
        if ts >= self.next_sweep {
            self.expire_idle(ts);
        }
        let hash = hash_of(transport, src, dst);
        let flows = &self.flows;
        let mut dir = Direction::Forward;
        let found = self.live.find(hash, |&i| {
            flows.get(i as usize).is_some_and(|f| {
                if f.transport != transport {
                    return false;
                }
                // The flow's first packet's sender: forward.
                if f.src == src && f.dst == dst {
                    dir = Direction::Forward;
                    true
                } else if f.src == dst && f.dst == src {
                    dir = Direction::Reverse;
                    true
                } else {
                    false
                }
            })
        });
        if let Some(&idx) = found {
            return (idx as usize, dir);
        }
        if owned {
            if self.live.len() - self.copies >= self.limits.max_live {
                self.evict(ts, true);
            }
        } else if self.copies >= self.max_copies {
            self.evict(ts, false);
        }
        let idx = self.flows.len();
        let id = self.numbering.nth(self.numbered);
        self.numbered += 1;
        self.flows.push(Flow {
            id,
            transport,
            src,
            dst,
            first_ts: ts,
            last_ts: ts,
            packets: [0; 2],
            bytes: [0; 2],
            ended: None,
            first_frame: self.frame,
            end_frame: u64::MAX,
            owned,
            state: FlowState::default(),
            gone: false,
            fins: 0,
            closed_at: None,
            bare: None,
            hash,
        });
        let flows = &self.flows;
        self.live.insert_unique(hash, idx as u32, |&i| {
            flows.get(i as usize).map_or(0, |f| f.hash)
        });
        self.idle.push(ts, idx as u32);
        if !owned {
            self.copies += 1;
        }
        self.peak_live = self.peak_live.max(self.live.len() - self.copies);
        (idx, Direction::Forward)
    }

    #[inline]
    pub fn get(&self, idx: usize) -> Option<&Flow> {
        self.flows.get(idx)
    }

    #[inline]
    pub fn get_mut(&mut self, idx: usize) -> Option<&mut Flow> {
        self.flows.get_mut(idx)
    }

    pub fn all(&self) -> &[Flow] {
        &self.flows
    }

    /// The index of flow `id` while it is in the table (the table keeps
    /// its flows in id order).
    pub fn find(&self, id: u32) -> Option<usize> {
        self.flows.binary_search_by_key(&id, |f| f.id).ok()
    }

    /// Flow `id` while it is in the table.
    pub fn by_id(&self, id: u32) -> Option<&Flow> {
        self.find(id).and_then(|i| self.flows.get(i))
    }

    /// Whether flow `id` is in the table and live.
    pub fn is_live(&self, id: u32) -> bool {
        self.by_id(id).is_some_and(|f| f.ended.is_none())
    }

    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    /// Lets an ended flow go: its memory is freed at the next
    /// [`FlowTable::compact`] (streaming, once its record is written).
    pub fn forget(&mut self, idx: usize) {
        if let Some(f) = self.flows.get_mut(idx) {
            if f.ended.is_some() && !f.gone {
                f.gone = true;
                f.state = FlowState::default();
                self.gone += 1;
            }
        }
    }

    /// Ended flows held (not forgotten).
    pub fn held_ended(&self) -> usize {
        self.flows.len() - self.gone - self.live.len()
    }

    /// Removes the forgotten flows once they outnumber the others (so each
    /// flow is moved a bounded number of times); indices change, ids do
    /// not. Call it only when no ended index is pending.
    pub fn compact(&mut self) {
        if self.gone < 1024 || self.gone < self.flows.len() - self.gone {
            return;
        }
        self.purge();
    }

    /// Removes the forgotten flows now. The flows keep their order, so the
    /// new index of each is its old one less the forgotten before it: the
    /// live index and the idle and closing queues are renumbered through
    /// that map, in place, and only the entries of flows removed are
    /// dropped.
    pub fn purge(&mut self) {
        if self.gone == 0 || !self.ended.is_empty() {
            return;
        }
        let mut kept = 0u32;
        let new_of: Vec<u32> = self
            .flows
            .iter()
            .map(|f| {
                if f.gone {
                    u32::MAX
                } else {
                    kept += 1;
                    kept - 1
                }
            })
            .collect();
        let renumber = |i: u32| new_of.get(i as usize).copied().unwrap_or(u32::MAX);
        self.flows.retain(|f| !f.gone);
        self.flows.shrink_to(self.flows.len().max(1024) * 2);
        for i in self.live.iter_mut() {
            *i = renumber(*i);
        }
        self.idle.renumber(renumber);
        self.closing.renumber(renumber);
        self.gone = 0;
    }

    /// Whether flows ended since the last [`FlowTable::drain_ended`].
    pub fn has_ended(&self) -> bool {
        !self.ended.is_empty()
    }

    /// Live flows now.
    pub fn live_flows(&self) -> usize {
        self.live.len()
    }

    /// Flows ended since the last call.
    pub fn drain_ended(&mut self) -> std::vec::Drain<'_, u32> {
        self.ended.drain(..)
    }

    /// Ends every live flow (end of capture), in index order: the live
    /// indices are marked in a bit set over the table, then taken from it
    /// in order, which costs less than sorting them (a flood leaves
    /// hundreds of thousands live).
    pub fn end_all(&mut self) {
        self.idle.clear();
        self.closing.clear();
        // An index past the table (none in practice) ends nothing, as
        // `end` would not.
        let mut live = vec![0u64; self.flows.len().div_ceil(64)];
        for i in self.live.drain() {
            if let Some(w) = live.get_mut(i as usize / 64) {
                *w |= 1 << (i % 64);
            }
        }
        for (w, mut bits) in live.into_iter().enumerate() {
            while bits != 0 {
                let i = w as u32 * 64 + bits.trailing_zeros();
                bits &= bits - 1;
                self.end(i, EndReason::CaptureEnd);
            }
        }
    }

    fn end(&mut self, idx: u32, why: EndReason) {
        if let Some(f) = self.flows.get_mut(idx as usize) {
            if !f.owned {
                self.copies = self.copies.saturating_sub(1);
            }
            f.ended = Some(why);
            if why != EndReason::CaptureEnd {
                f.end_frame = self.frame;
            }
            f.state.release();
            self.ended.push(idx);
        }
    }

    fn expire_idle(&mut self, now: Nanos) {
        self.next_sweep = now + SWEEP_EVERY;
        let limit = now.saturating_sub(self.limits.idle_timeout);
        // A flow idle since before `limit` has an entry older than `limit`
        // (its key is at most its `last_ts`): those entries are the only
        // ones to look at. One still active goes back in at its last time.
        let mut gone: Vec<u32> = Vec::new();
        for (_, i) in self.idle.take_before(limit) {
            match self.flows.get(i as usize) {
                Some(f) if f.ended.is_none() && f.last_ts >= limit => {
                    self.idle.push(f.last_ts, i);
                    continue;
                }
                _ => {}
            }
            if self.unlink(i) {
                gone.push(i);
            }
        }
        gone.sort_unstable();
        self.expired += gone.len() as u64;
        for i in gone {
            self.end(i, EndReason::Idle);
        }
        // Closed TCP connections silent for the grace since (a straggler
        // of the connection restarts it rather than making a new flow).
        let Some(by) = self.close_grace.map(|g| now.saturating_sub(g)) else {
            return;
        };
        let mut gone: Vec<u32> = Vec::new();
        for (_, i) in self.closing.take_before(by) {
            match self.flows.get(i as usize) {
                Some(f) if f.ended.is_none() && f.last_ts >= by => {
                    self.closing.push(f.last_ts, i);
                    continue;
                }
                _ => {}
            }
            if self.unlink(i) {
                gone.push(i);
            }
        }
        gone.sort_unstable();
        self.closed += gone.len() as u64;
        for i in gone {
            self.end(i, EndReason::Closed);
        }
    }

    /// Takes flow `i` out of the live index if it is still live there (not
    /// ended, its 5-tuple not taken by a later flow); true if it was.
    fn unlink(&mut self, i: u32) -> bool {
        let Some(f) = self.flows.get(i as usize).filter(|f| f.ended.is_none()) else {
            return false;
        };
        // The entry of this flow, if its key's entry is still its own.
        match self.live.find_entry(f.hash, |&j| j == i) {
            Ok(e) => {
                e.remove();
                true
            }
            Err(_) => false,
        }
    }

    /// Ends the longest-idle eighth of the live flows that are owned (or
    /// of the followed copies).
    fn evict(&mut self, now: Nanos, owned: bool) {
        self.expire_idle(now);
        let full = if owned {
            self.live.len() - self.copies >= self.limits.max_live
        } else {
            self.copies >= self.max_copies
        };
        if !full {
            return;
        }
        let mut ages: Vec<(Nanos, u32)> = self
            .live
            .iter()
            .filter_map(|&i| self.flows.get(i as usize).map(|f| (f, i)))
            .filter(|(f, _)| f.owned == owned)
            .map(|(f, i)| (f.last_ts, i))
            .collect();
        if ages.is_empty() {
            return;
        }
        let n = (ages.len() / 8).max(1);
        ages.select_nth_unstable(n - 1);
        ages.truncate(n);
        let cutoff: rustc_hash::FxHashSet<u32> = ages.iter().map(|&(_, i)| i).collect();
        self.live.retain(|i| !cutoff.contains(i));
        let mut gone: Vec<u32> = cutoff.into_iter().collect();
        gone.sort_unstable();
        self.evicted += gone.len() as u64;
        for i in gone {
            self.end(i, EndReason::Evicted);
        }
    }
}

/// Flows counted instead of listed, by transport and server port; at most
/// `MAX_PORTS` pairs, the rest counted together.
#[derive(Debug, Default, Clone)]
pub struct OtherTally {
    pub by_port: FxHashMap<(Transport, u16), [u64; 3]>,
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
    /// Flows on pairs beyond `MAX_PORTS`.
    pub unlisted: u64,
}

impl OtherTally {
    pub const MAX_PORTS: usize = 4096;

    pub fn add(&mut self, transport: Transport, port: u16, packets: u64, bytes: u64) {
        self.flows += 1;
        self.packets += packets;
        self.bytes += bytes;
        let full = self.by_port.len() >= Self::MAX_PORTS;
        match self.by_port.get_mut(&(transport, port)) {
            Some(c) => {
                c[0] += 1;
                c[1] += packets;
                c[2] += bytes;
            }
            None if full => self.unlisted += 1,
            None => {
                self.by_port.insert((transport, port), [1, packets, bytes]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::ep;

    /// A table of at most `max_live` live flows, idle after `idle_secs`.
    fn table(max_live: usize, idle_secs: u64) -> FlowTable {
        FlowTable::new(FlowLimits {
            max_live,
            idle_timeout: Nanos::from_secs(idle_secs),
        })
    }

    #[test]
    fn time_queue_keeps_a_slot_split_by_a_limit() {
        let s = |ms: u64| Nanos(ms * 1_000_000);
        let mut q = TimeQueue::default();
        q.push(s(1_000), 1);
        q.push(s(4_000), 2);
        assert_eq!(q.take_before(s(3_000)), vec![(s(1_000), 1)]);
        // The slot of 0-5 s is in the map now, with flow 2; flow 3 comes to
        // the same slot after it.
        q.push(s(4_500), 3);
        let mut got = q.take_before(s(10_000));
        got.sort_unstable();
        assert_eq!(got, vec![(s(4_000), 2), (s(4_500), 3)]);
        // Split again, then a later slot takes the tail's place.
        q.push(s(11_000), 4);
        q.push(s(14_000), 5);
        assert_eq!(q.take_before(s(12_000)), vec![(s(11_000), 4)]);
        q.push(s(14_500), 6);
        q.push(s(21_000), 7);
        let mut got = q.take_before(s(60_000));
        got.sort_unstable();
        assert_eq!(got, vec![(s(14_000), 5), (s(14_500), 6), (s(21_000), 7)]);
        assert!(q.take_before(Nanos(u64::MAX)).is_empty());
    }

    #[test]
    fn time_queue_gives_what_is_before_each_limit_once() {
        // Entries at growing times with some older ones among them (as
        // flows put back at their last packet's time), limits that fall
        // inside slots, on their edges and past a jump; renumbered midway.
        let mut q = TimeQueue::default();
        let mut reference: Vec<(Nanos, u32)> = Vec::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut now = 0u64;
        let mut limit = 0u64;
        for round in 0..400u32 {
            for j in 0..20u32 {
                now += rand(700_000_000);
                if round == 200 && j == 0 {
                    now += 86_400_000_000_000;
                }
                let t = if rand(4) == 0 {
                    now.saturating_sub(rand(30_000_000_000)).max(limit)
                } else {
                    now
                };
                let i = round * 20 + j;
                q.push(Nanos(t), i);
                reference.push((Nanos(t), i));
            }
            if round == 300 {
                let new_of = |i: u32| {
                    if i % 3 == 0 {
                        u32::MAX
                    } else {
                        i / 3 * 2 + i % 3 - 1
                    }
                };
                q.renumber(new_of);
                reference = reference
                    .into_iter()
                    .filter(|&(_, i)| i % 3 != 0)
                    .map(|(t, i)| (t, new_of(i)))
                    .collect();
            }
            limit = match rand(3) {
                0 => now.saturating_sub(rand(20_000_000_000)),
                1 => (now / SWEEP_EVERY.0).saturating_sub(rand(4)) * SWEEP_EVERY.0,
                _ => now.saturating_sub(2_000_000_000),
            }
            .max(limit);
            let mut got = q.take_before(Nanos(limit));
            let (mut want, keep): (Vec<_>, Vec<_>) =
                reference.iter().partition(|&&(t, _)| t.0 < limit);
            reference = keep;
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "round {round}, limit {limit}");
        }
        let mut rest = q.take_before(Nanos(u64::MAX));
        rest.sort_unstable();
        reference.sort_unstable();
        assert_eq!(rest, reference);
    }

    #[test]
    fn parses_both_directions_into_one_flow() {
        let mut t = FlowTable::new(FlowLimits::default());
        let a = ep("192.0.2.1", 5060);
        let b = ep("192.0.2.200", 5060);
        let (i, d) = t.lookup(Transport::Udp, b, a, Nanos::from_secs(1));
        assert_eq!(d, Direction::Forward);
        let (j, e) = t.lookup(Transport::Udp, a, b, Nanos::from_secs(2));
        assert_eq!((i, e), (j, Direction::Reverse));
        let (k, f) = t.lookup(Transport::Udp, b, a, Nanos::from_secs(3));
        assert_eq!((i, f), (k, Direction::Forward));
        assert_eq!(t.get(i).unwrap().src, b);
        let (_, d) = t.lookup(Transport::Tcp, a, b, Nanos::from_secs(3));
        assert_eq!(d, Direction::Forward);
        assert_eq!(t.all().len(), 2);
    }

    #[test]
    fn parses_flow_to_itself() {
        let mut t = FlowTable::new(FlowLimits::default());
        let a = ep("127.0.0.1", 9);
        let (i, d) = t.lookup(Transport::Udp, a, a, Nanos::ZERO);
        let (j, e) = t.lookup(Transport::Udp, a, a, Nanos::ZERO);
        assert_eq!((i, d, e), (j, Direction::Forward, Direction::Forward));
    }

    #[test]
    fn closed_tcp_connections_end_after_the_grace() {
        let mut t = FlowTable::new(FlowLimits::default());
        t.set_close_grace(Some(Nanos::from_secs(10)));
        let (a, b, c) = (ep("192.0.2.1", 1), ep("192.0.2.2", 2), ep("192.0.2.3", 3));
        let (rst, _) = t.lookup(Transport::Tcp, a, b, Nanos::from_secs(0));
        let (half, _) = t.lookup(Transport::Tcp, a, c, Nanos::from_secs(0));
        let at = |s| Nanos::from_secs(s);
        t.tcp_close(rst, Direction::Forward, false, true, at(1));
        // One FIN is a half-close: the other side may go on sending.
        t.tcp_close(half, Direction::Forward, true, false, at(1));
        t.tick(2, at(10));
        assert!(t.get(rst).unwrap().ended.is_none(), "within the grace");
        t.tick(3, at(20));
        assert_eq!(t.get(rst).unwrap().ended, Some(EndReason::Closed));
        assert!(t.get(half).unwrap().ended.is_none());
        t.tcp_close(half, Direction::Reverse, true, false, at(21));
        t.tick(4, at(40));
        assert_eq!(t.get(half).unwrap().ended, Some(EndReason::Closed));
        assert_eq!((t.closed, t.expired), (2, 0));
        // Without a grace (not streaming), closing ends nothing early.
        let mut u = FlowTable::new(FlowLimits::default());
        let (i, _) = u.lookup(Transport::Tcp, a, b, at(0));
        u.tcp_close(i, Direction::Forward, false, true, at(1));
        u.tick(2, at(100));
        assert!(u.get(i).unwrap().ended.is_none());
    }

    #[test]
    fn expires_idle_flows_on_packet_time() {
        let mut t = table(100, 10);
        let (a, b, c) = (ep("192.0.2.1", 1), ep("192.0.2.2", 2), ep("192.0.2.3", 3));
        t.lookup(Transport::Udp, a, b, Nanos::from_secs(0));
        t.lookup(Transport::Udp, a, c, Nanos::from_secs(30));
        assert_eq!(t.expired, 1);
        let (i, _) = t.lookup(Transport::Udp, a, b, Nanos::from_secs(31));
        assert_eq!(t.get(i).unwrap().id, 3, "a new flow after expiry");
        assert_eq!(t.get(0).unwrap().ended, Some(EndReason::Idle));
    }

    #[test]
    fn evicts_longest_idle_when_full() {
        let mut t = table(16, 1000);
        let a = ep("192.0.2.1", 1);
        for p in 0..40u16 {
            t.lookup(
                Transport::Udp,
                a,
                ep("198.51.100.1", p),
                Nanos::from_millis(p as u64),
            );
            assert!(t.live_count() <= 16);
        }
        assert!(t.evicted >= 24);
        assert_eq!(t.get(0).unwrap().ended, Some(EndReason::Evicted));
        assert!(t.get(39).unwrap().ended.is_none());
    }

    #[test]
    fn copies_are_bounded_apart_from_owned_flows() {
        let limits = FlowLimits {
            max_live: 4,
            ..FlowLimits::default()
        };
        let mut t = FlowTable::new(limits);
        t.set_copy_limit(2);
        let a = ep("10.0.0.1", 5060);
        let peer = |i: u16| ep("192.0.2.9", 1000 + i);
        let at = |s: u64| Nanos::from_secs(s);
        // Four owned flows and two copies: nothing is evicted, and the
        // peak counts the owned flows only.
        for i in 0..4 {
            t.lookup(Transport::Udp, a, peer(i), at(1));
        }
        for i in 10..12 {
            t.lookup_as(Transport::Tcp, a, peer(i), at(2), false);
        }
        assert_eq!((t.live_count(), t.evicted, t.peak_live), (6, 0, 4));
        // A third copy evicts a copy (the longest idle), never an owned flow.
        t.lookup_as(Transport::Tcp, a, peer(12), at(3), false);
        assert_eq!(t.evicted, 1);
        let ended: Vec<&Flow> = t.all().iter().filter(|f| f.ended.is_some()).collect();
        assert_eq!(ended.len(), 1);
        assert!(!ended[0].owned && ended[0].dst == peer(10));
        // A fifth owned flow evicts an owned one.
        t.lookup(Transport::Udp, a, peer(4), at(4));
        assert_eq!(t.evicted, 2);
        let owned_ended = t
            .all()
            .iter()
            .filter(|f| f.owned && f.ended == Some(EndReason::Evicted))
            .count();
        assert_eq!(owned_ended, 1);
        assert_eq!(t.peak_live, 4);
    }

    #[test]
    fn end_all_ends_the_live_flows_in_index_order() {
        let mut t = table(1000, 10);
        let a = ep("192.0.2.1", 1);
        // 200 flows over two words of the bit set and more; the first 50
        // idle out before the others start.
        for i in 0..200u16 {
            let now = Nanos::from_secs(if i < 50 { 0 } else { 100 });
            t.lookup(Transport::Udp, a, ep("198.51.100.1", i), now);
        }
        // A 5-tuple seen again keeps its flow.
        t.lookup(
            Transport::Udp,
            ep("198.51.100.1", 70),
            a,
            Nanos::from_secs(101),
        );
        let expired: Vec<u32> = t.drain_ended().collect();
        assert_eq!(expired, (0..50).collect::<Vec<u32>>());
        t.end_all();
        let ended: Vec<u32> = t.drain_ended().collect();
        assert_eq!(ended, (50..200).collect::<Vec<u32>>());
        assert_eq!(t.live_count(), 0);
        assert!(t.all().iter().all(|f| f.ended.is_some()));
        assert!(t.all()[50..]
            .iter()
            .all(|f| f.ended == Some(EndReason::CaptureEnd)));
    }

    #[test]
    fn forgotten_flows_leave_memory_and_ids_stay() {
        let mut t = table(100, 10);
        let a = ep("192.0.2.1", 1);
        for i in 0..5000u16 {
            let now = Nanos::from_secs(u64::from(i));
            t.lookup(Transport::Udp, a, ep("198.51.100.1", i), now);
            let ended: Vec<u32> = t.drain_ended().collect();
            for idx in ended {
                t.forget(idx as usize);
            }
            t.compact();
            assert!(t.all().len() <= 2 * 1024 + 100, "{}", t.all().len());
        }
        // The live flows are still found, under their ids.
        let (i, _) = t.lookup(
            Transport::Udp,
            ep("198.51.100.1", 4999),
            a,
            Nanos::from_secs(4999),
        );
        assert_eq!(t.get(i).unwrap().id, 5000);
        t.end_all();
        t.drain_ended().for_each(drop);
        t.purge();
        assert!(t.all().iter().all(|f| !f.gone));
        assert!(t.all().windows(2).all(|w| w[0].id < w[1].id));
    }
}

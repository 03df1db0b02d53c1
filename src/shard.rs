//! Several analysis threads over one input. The reading thread decodes each
//! frame and finds the analyser that owns its flow ([`owner`], a hash of
//! the 5-tuple): itself for a small share of the flows (so that on a
//! machine with as many cores as threads none waits), else a worker thread,
//! to which it hands the packet. Signalling goes to every analyser: each TCP
//! segment that carries payload (SIP may run over any connection; a bare
//! acknowledgement changes no stream, only its owner counts it), and each
//! UDP datagram that starts like SIP (the rule of
//! `dissect::is_sip_datagram` needs no flow state), and each DNS response
//! (`dissect::is_dns_response_datagram`). An analyser follows the
//! signalling of flows it does not own without recording anything of them
//! but calls and the names DNS answers give addresses, so every analyser
//! holds the same call and name tables and attaches its own media flows to
//! calls, and names its flows, exactly as one thread would.
//! Packets travel in batches, headers as a few fields. A payload read from a
//! file or standard input stays where the reader read it: the batch holds
//! the reader's block ([`crate::capture::pcapfile::Block`]) and the payload's place
//! in it. Other payloads (live capture, reassembled fragments) are copied
//! into the batch. Emptied batches come back to be reused.
//! At the end the analysers' results are joined into the one analyzer a
//! single thread would have built.
//!
//! Joining needs only facts every analyser agrees on: frames are numbered by
//! the reading thread, so the flows' creation frames give back first-seen
//! flow ids, and the frame each leak, relay, warning and media attachment
//! was first recorded in gives back one thread's order. The reading thread
//! also tells every worker when its flow table looks for idle flows, so
//! flows end at the same frames as with one thread. The result equals one
//! thread's as long as no bound is reached (live flows, calls, leaks,
//! relays, 256 entries per relay list): each analyser keeps its share of
//! the live-flow limit ([`flow_limit`], in proportion to the flows it owns)
//! and evicts on its own. Followed copies do not count against that share;
//! they are bounded apart, by the other analysers' shares.
//!
//! Streamed records cannot wait for that join: there each analyser writes
//! its records as its flows and calls end ([`run_split`]). The analysers
//! then split the traffic by client ([`client_owner`]) instead, each a
//! whole analysis of its clients as a `--partition` sensor is, numbering
//! its flows and inferred calls apart from the others'
//! ([`crate::flow::Numbering`]); only DNS answers go to every analyser, for
//! the names they give. What is left at the end joins at the level of the
//! reports (`Report::absorb_share`).

use std::net::IpAddr;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;

use crate::capture::pcapfile::Block;
use crate::capture::{self, CaptureError, CaptureOptions, ReadOutcome};
use crate::dissect;
use crate::engine::{Analyzer, Config, Router};
use crate::flow::{EndReason, Flow, FlowTable, Numbering};
use crate::net::Transport;
use crate::net::{Endpoint, FlowKey};
use crate::packet::Packet;
use crate::time::Nanos;

/// Shares of the flows: the reading thread (analyser 0) takes one, every
/// worker thread `WORKER_SHARES`. The reading thread also reads and decodes
/// every frame and hands packets over, so it keeps a small part of the
/// analysis (a quarter with 2 threads, a tenth with 4).
const WORKER_SHARES: u64 = 3;

/// The analyser (of `count`: 0 is the reading thread, then the workers)
/// that owns the flow between `a` and `b`: the same for both directions
/// (the endpoints' hashes are added), cheaper than building the flow's key.
#[inline]
pub fn owner(transport: Transport, a: &Endpoint, b: &Endpoint, count: u32) -> u32 {
    #[inline]
    fn mix(e: &Endpoint) -> u64 {
        let ip = match e.ip {
            IpAddr::V4(v4) => u64::from(u32::from(v4)),
            IpAddr::V6(v6) => {
                let x = u128::from(v6);
                (x as u64) ^ ((x >> 64) as u64).rotate_left(29)
            }
        };
        (ip ^ (u64::from(e.port) << 40)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
    let h = (mix(a).wrapping_add(mix(b)) ^ transport as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    // The high half mixes every input bit.
    share_of(h >> 32, count)
}

/// The analyser (of `count`) that a packet between `a` and `b` goes to when
/// the analysers split the traffic by client, so that a client's
/// signalling, STUN and media meet in one analyser, which can then write
/// its calls as they end. Between an internal and a public address, the
/// internal side is the client (weighted as [`owner`]). DNS (port 53) goes
/// with its client, the other side, also between two internal addresses
/// (an internal resolver): the names it answers name the client's flows.
/// Between two internal or two public addresses otherwise, no side is the
/// client: the signalling of a call (a phone and its PBX) and its media
/// (the two phones) then run between different pairs of hosts, which only
/// one analyser for all such pairs keeps together, the last worker.
#[inline]
pub fn client_owner(a: &Endpoint, b: &Endpoint, count: u32) -> u32 {
    const DNS: u16 = 53;
    let client = match crate::engine::client_side(a.ip, b.ip) {
        Some(c) => Some(c),
        None if b.port == DNS && a.port != DNS => Some(a.ip),
        None if a.port == DNS && b.port != DNS => Some(b.ip),
        None => None,
    };
    match client {
        Some(client) => {
            let h =
                u64::from(crate::engine::address_hash(client)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            share_of(h >> 32, count)
        }
        None => count.max(1) - 1,
    }
}

/// The analyser of `count` that a 32-bit hash `h` falls to: the reading
/// thread takes one share, each worker `WORKER_SHARES`.
#[inline]
fn share_of(h: u64, count: u32) -> u32 {
    let count = u64::from(count.max(1));
    let shares = 1 + (count - 1) * WORKER_SHARES;
    let s = ((h & 0xFFFF_FFFF) * shares) >> 32;
    (if s == 0 {
        0
    } else {
        1 + (s - 1) / WORKER_SHARES
    }) as u32
}

/// The live flows analyser `index` (of `count`) may own, of `all`: in
/// proportion to its share of the flows ([`owner`]), the workers' parts
/// rounded down and the rest to the reading thread, so that the parts add
/// up to `all`. Each part is at least 1, so a limit of fewer flows than
/// about four a thread is exceeded by up to `count - 1`.
pub fn flow_limit(all: usize, count: u32, index: u32) -> usize {
    let count = u128::from(count.max(1));
    let shares = 1 + (count - 1) * u128::from(WORKER_SHARES);
    let worker = (all as u128 * u128::from(WORKER_SHARES) / shares) as usize;
    let own = if index == 0 {
        all.saturating_sub(worker.saturating_mul(count as usize - 1))
    } else {
        worker
    };
    own.max(1)
}

/// A batch is sent at this many packets, copied payload bytes, or reader
/// blocks held: a batch pins at most 2 MiB of blocks and 256 KiB of copies.
const BATCH_PACKETS: usize = 1024;
const BATCH_BYTES: usize = 256 << 10;
const BATCH_BLOCKS: usize = 2;
/// Batches queued, over all workers (each has at least 4, at most 32).
/// Deep queues let the reader run ahead of a worker that a burst of its
/// flows slowed down, without stalling the others: with 4 per worker the
/// reader waited on a full queue for 40% of its time on the 5M-packet
/// workload at 2 workers, with 16 to 64 for 2–15%.
const QUEUED: usize = 64;

/// Batches queued per worker, for `workers` workers.
fn queue_depth(workers: usize) -> usize {
    (QUEUED / workers.max(1)).clamp(4, 32)
}

/// One packet handed to a worker; its payload is `off..off + len` of the
/// batch's `blocks[block]`, or of its `bytes` when `block` is `COPIED`.
#[derive(Debug, Clone, Copy)]
struct Item {
    frame: u64,
    now: Nanos,
    wire_len: u64,
    what: What,
}

#[derive(Debug, Clone, Copy)]
enum What {
    /// Look for idle flows (the reading thread's table did at this frame).
    Tick,
    /// The packet's headers (an empty payload in `head`) and where its
    /// payload is in the batch.
    Packet {
        head: Packet<'static>,
        block: u32,
        off: u32,
        len: u32,
        foreign: bool,
    },
}

/// `What::Packet::block` of a payload copied into the batch.
const COPIED: u32 = u32::MAX;

#[derive(Debug, Default)]
pub(crate) struct Batch {
    items: Vec<Item>,
    /// Reader blocks that payloads lie in.
    blocks: Vec<Block>,
    /// Copied payloads.
    bytes: Vec<u8>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            items: Vec::with_capacity(BATCH_PACKETS),
            blocks: Vec::new(),
            bytes: Vec::new(),
        }
    }
}

/// The reading thread's end of one worker.
struct Lane {
    batch: Batch,
    tx: SyncSender<Batch>,
    /// Emptied batches coming back (in a mutex only so that an analyzer,
    /// which owns its dispatcher, can be shared to build the report).
    free: Mutex<Receiver<Batch>>,
}

impl Lane {
    /// Sends the batch gathered, and starts one emptied by the worker (or
    /// a new one).
    fn send(&mut self) {
        // A new batch has room for a full one's packets from the start.
        let next = match self.free.get_mut().ok().and_then(|r| r.try_recv().ok()) {
            Some(b) => b,
            None => Batch::new(),
        };
        let full = std::mem::replace(&mut self.batch, next);
        // A worker that is gone has panicked; the join reports it.
        let _ = self.tx.send(full);
    }
}

/// Hands decoded packets to the workers.
pub struct Dispatch {
    lanes: Vec<Lane>,
    /// The block the reader's current record lies in.
    block: Option<Block>,
    /// The analysers split the traffic by client ([`client_owner`]) instead
    /// of by flow with signalling for all.
    split: bool,
}

impl Router for Dispatch {
    /// The reader's next records lie in `block`.
    #[inline]
    fn lend(&mut self, block: &Block) {
        if !self.block.as_ref().is_some_and(|b| Arc::ptr_eq(b, block)) {
            self.block = Some(Arc::clone(block));
        }
    }

    /// Every worker looks for idle flows at this frame.
    fn tick(&mut self, frame: u64, now: Nanos) {
        for i in 0..self.lanes.len() {
            self.push(
                i,
                Item {
                    frame,
                    now,
                    wire_len: 0,
                    what: What::Tick,
                },
                &[],
                false,
            );
        }
    }

    /// To the owner of the packet's flow (or, split, of its client);
    /// signalling (split: DNS answers) to every analyser. `Some(foreign)` when the reading thread analyses the packet too:
    /// as its owner, or following a flow another thread owns.
    #[inline]
    fn packet(&mut self, p: &Packet<'_>, wire_len: u64, now: Nanos, frame: u64) -> Option<bool> {
        let n = self.lanes.len() as u32 + 1;
        let (src, dst) = p.endpoints();
        let dns = |p: &Packet<'_>| dissect::is_dns_response_datagram(src.port, dst.port, p.payload);
        let (owner, everyone) = if self.split {
            // A DNS answer names flows of every client to its addresses:
            // every analyser learns its names.
            let everyone = p.transport == Transport::Udp && dns(p);
            (client_owner(&src, &dst, n), everyone)
        } else {
            // A segment without payload changes no stream: only its owner
            // counts it.
            let everyone = match p.transport {
                Transport::Tcp => !p.payload.is_empty(),
                Transport::Udp => dissect::is_sip_datagram(p.payload) || dns(p),
            };
            (owner(p.transport, &src, &dst, n), everyone)
        };
        if owner == 0 && !everyone {
            return Some(false);
        }
        let place = self.place(p.payload);
        let item = |foreign: bool| Item {
            frame,
            now,
            wire_len,
            what: What::Packet {
                head: Packet { payload: &[], ..*p },
                block: COPIED,
                off: place.unwrap_or(0),
                len: p.payload.len() as u32,
                foreign,
            },
        };
        // Worker i (from 1) reads lane i - 1.
        if everyone {
            for i in 1..n {
                self.push(i as usize - 1, item(i != owner), p.payload, place.is_some());
            }
            Some(owner != 0)
        } else {
            self.push(owner as usize - 1, item(false), p.payload, place.is_some());
            None
        }
    }

    fn flush(&mut self) {
        for l in &mut self.lanes {
            if !l.batch.items.is_empty() {
                l.send();
            }
        }
    }

    /// Sends what is left; dropping the senders ends the workers' loops.
    fn finish(self: Box<Self>) {
        for l in self.lanes {
            if !l.batch.items.is_empty() {
                let _ = l.tx.send(l.batch);
            }
        }
    }
}

impl Dispatch {
    /// Where `payload` lies in the current block, if it does.
    #[inline]
    fn place(&self, payload: &[u8]) -> Option<u32> {
        let b = self.block.as_deref()?;
        let base = b.as_ptr() as usize;
        let at = payload.as_ptr() as usize;
        let off = at.checked_sub(base)?;
        (off + payload.len() <= b.len())
            .then(|| u32::try_from(off).ok())
            .flatten()
    }

    /// Queues `item` for worker `lane`; its payload lies in the current
    /// block when `lent`, else it is copied.
    #[inline]
    fn push(&mut self, lane: usize, mut item: Item, payload: &[u8], lent: bool) {
        let Some(l) = self.lanes.get_mut(lane) else {
            return;
        };
        if let What::Packet { block, off, .. } = &mut item.what {
            match (&self.block, lent) {
                (Some(cur), true) => {
                    if !l.batch.blocks.last().is_some_and(|b| Arc::ptr_eq(b, cur)) {
                        l.batch.blocks.push(Arc::clone(cur));
                    }
                    *block = (l.batch.blocks.len() - 1) as u32;
                }
                _ => {
                    *off = l.batch.bytes.len() as u32;
                    l.batch.bytes.extend_from_slice(payload);
                }
            }
        }
        l.batch.items.push(item);
        if l.batch.items.len() >= BATCH_PACKETS
            || l.batch.bytes.len() >= BATCH_BYTES
            || l.batch.blocks.len() >= BATCH_BLOCKS
        {
            l.send();
        }
    }
}

/// One of `workers` analysis threads: it keeps at most its share of the live-flow limit and logs its media attachments.
fn new_worker(mut cfg: Config, workers: u32, index: u32) -> Analyzer {
    let all = cfg.flows.max_live;
    cfg.flows.max_live = flow_limit(all, workers, index);
    let mut a = Analyzer::new(cfg);
    // A copy stands for a flow another thread owns, so there are never
    // more than those threads' limits of them.
    a.flows
        .set_copy_limit(all.saturating_sub(a.flows.limits().max_live));
    a.ctx.calls.attach_log = Some(Vec::new());
    a
}

/// A worker's loop: analyse every batch, send it back emptied; `after`
/// runs after each batch.
fn work(
    an: &mut Analyzer,
    rx: Receiver<Batch>,
    free: Sender<Batch>,
    after: &mut dyn FnMut(&mut Analyzer),
) {
    for mut b in rx {
        for it in &b.items {
            match it.what {
                What::Tick => an.worker_tick(it.frame, it.now),
                What::Packet {
                    head,
                    block,
                    off,
                    len,
                    foreign,
                } => {
                    let (off, len) = (off as usize, len as usize);
                    let from: &[u8] = match block {
                        COPIED => &b.bytes,
                        i => b.blocks.get(i as usize).map_or(&[], |b| &b[..]),
                    };
                    let p = Packet {
                        payload: from.get(off..off + len).unwrap_or_default(),
                        ..head
                    };
                    an.worker_packet(it.frame, it.now, &p, it.wire_len, foreign);
                }
            }
        }
        b.items.clear();
        b.blocks.clear();
        b.bytes.clear();
        let _ = free.send(b);
        after(an);
    }
}

/// Reads `paths` with `threads` workers and returns the joined analyzer.
/// Standard input is read the same way; one thread means no workers at all.
pub fn read_files(
    paths: &[String],
    opts: &CaptureOptions,
    cfg: &Config,
    threads: usize,
) -> Result<(Analyzer, ReadOutcome), CaptureError> {
    run(cfg, threads, |an| capture::read_files(paths, opts, an))
}

/// Runs `input` (a capture loop feeding [`Analyzer::process`]) on this
/// thread with `threads` workers behind it, and returns the joined analyzer
/// and `input`'s result. With one thread the analyzer works alone.
pub fn run<R>(
    cfg: &Config,
    threads: usize,
    input: impl FnOnce(&mut Analyzer) -> Result<R, CaptureError>,
) -> Result<(Analyzer, R), CaptureError> {
    if threads <= 1 {
        let mut front = Analyzer::new(cfg.clone());
        let r = input(&mut front)?;
        return Ok((front, r));
    }
    let count = u32::try_from(threads).unwrap_or(u32::MAX);
    let mut front = new_worker(cfg.clone(), count, 0);
    let (r, workers) = with_workers(&mut front, count, false, input, &|index, rx, free| {
        let mut an = new_worker(cfg.clone(), count, index);
        work(&mut an, rx, free, &mut |_| {});
        // The flows still live end here, on this worker's thread.
        an.flows.end_all();
        an
    });
    let r = r?;
    Ok((merge(front, workers?, cfg), r))
}

/// One of `count` analysers that split the traffic by client
/// ([`client_owner`]): its part of the live-flow limit, its flows and
/// inferred calls numbered apart from the others', streaming (with call
/// records written as calls end when `calls`).
fn new_share(mut cfg: Config, count: u32, index: u32, calls: bool) -> Analyzer {
    cfg.flows.max_live = flow_limit(cfg.flows.max_live, count, index);
    cfg.numbering = Numbering { index, count };
    let mut a = Analyzer::new(cfg);
    a.set_streaming(true);
    if calls {
        a.write_calls_as_they_end();
    }
    a
}

/// What each worker of [`run_split`] does besides analysing, given its
/// index (from 1; the reading thread is 0) and its analyser.
pub struct ShareHooks<'a> {
    /// After each batch of packets.
    pub after: &'a (dyn Fn(u32, &mut Analyzer) + Sync),
    /// Once its input ended.
    pub end: &'a (dyn Fn(u32, &mut Analyzer) + Sync),
    /// Call records are written as calls end
    /// ([`Analyzer::write_calls_as_they_end`]).
    pub calls: bool,
}

/// Runs `input` (a capture loop feeding [`Analyzer::process`]) with
/// `threads` analysers that split the traffic by client, each a whole
/// analysis of its clients (as `--partition` sensors are) that writes its
/// records as flows and calls end: the workers through `hooks`, the
/// reading thread's analyser through `input`. Returns every analyser (the
/// reading thread's first), not joined, and `input`'s result.
pub fn run_split<R>(
    cfg: &Config,
    threads: usize,
    hooks: &ShareHooks<'_>,
    input: impl FnOnce(&mut Analyzer) -> Result<R, CaptureError>,
) -> Result<(Vec<Analyzer>, R), CaptureError> {
    let count = u32::try_from(threads.max(1)).unwrap_or(u32::MAX);
    let mut front = new_share(cfg.clone(), count, 0, hooks.calls);
    if count == 1 {
        let r = input(&mut front)?;
        return Ok((vec![front], r));
    }
    let (r, workers) = with_workers(&mut front, count, true, input, &|index, rx, free| {
        let mut an = new_share(cfg.clone(), count, index, hooks.calls);
        work(&mut an, rx, free, &mut |an| (hooks.after)(index, an));
        (hooks.end)(index, &mut an);
        an
    });
    let r = r?;
    let mut all = vec![front];
    all.extend(workers?);
    Ok((all, r))
}

/// Runs `input` on `front` (the reading thread's analyser) with `count - 1`
/// worker threads behind it, worker `index` (from 1) built and run by
/// `worker` on the batches it receives; `split` routes by client
/// ([`client_owner`]) instead of by flow. Returns `input`'s result and the
/// workers' analysers once every batch was read.
fn with_workers<R>(
    front: &mut Analyzer,
    count: u32,
    split: bool,
    input: impl FnOnce(&mut Analyzer) -> Result<R, CaptureError>,
    worker: &(dyn Fn(u32, Receiver<Batch>, Sender<Batch>) -> Analyzer + Sync),
) -> (Result<R, CaptureError>, Result<Vec<Analyzer>, CaptureError>) {
    std::thread::scope(|s| {
        let mut lanes = Vec::new();
        let mut handles = Vec::new();
        for index in 1..count {
            let (tx, rx) = mpsc::sync_channel::<Batch>(queue_depth(count as usize - 1));
            let (free_tx, free_rx) = mpsc::channel::<Batch>();
            handles.push(s.spawn(move || worker(index, rx, free_tx)));
            lanes.push(Lane {
                batch: Batch::new(),
                tx,
                free: Mutex::new(free_rx),
            });
        }
        front.dispatch = Some(Box::new(Dispatch {
            lanes,
            block: None,
            split,
        }));
        let r = input(front);
        if let Some(d) = front.dispatch.take() {
            d.finish();
        }
        let workers = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| CaptureError("a worker thread failed".into()))
            })
            .collect();
        (r, workers)
    })
}

/// Joins one sharded analysis: `front` is the reading thread's analyser
/// (analyser 0, which also counted the frames), `workers[i]` analyser
/// `i + 1`.
pub fn merge(mut front: Analyzer, mut workers: Vec<Analyzer>, cfg: &Config) -> Analyzer {
    front.flows.end_all();
    for w in &mut workers {
        // Done by each worker already; a no-op then.
        w.flows.end_all();
    }
    // Analyser 0 is the reading thread.
    let tables: Vec<Vec<Flow>> = std::iter::once(front.flows.take_flows())
        .chain(workers.iter_mut().map(|w| w.flows.take_flows()))
        .collect();
    // maps[w][local index] = global id (0: a copy, not known yet).
    let mut maps: Vec<Vec<u32>> = tables.iter().map(|t| vec![0; t.len()]).collect();
    // A followed copy stands for the owner's flow of the same key that was
    // live at the frame the follower created the copy: the owners' flows of
    // every followed key are gathered, in creation order, as ids are given.
    // Only copies that some record names need their owner's flow found.
    let mut named: Vec<Vec<bool>> = tables.iter().map(|t| vec![false; t.len()]).collect();
    for (w, an) in std::iter::once(&front).chain(&workers).enumerate() {
        let n = &mut named[w];
        let mut visit = |id: u32| {
            if let Some(b) = (id as usize).checked_sub(1).and_then(|i| n.get_mut(i)) {
                *b = true;
            }
        };
        if w == 0 {
            an.ctx.calls.visit_signalling(&mut visit);
        }
        an.ctx.leaks.visit_flows(&mut visit);
        an.ctx.relays.visit_flows(&mut visit);
        an.ctx.warnings.visit_flows(&mut visit);
        for &(_, _, _, f) in an.ctx.calls.attach_log.iter().flatten() {
            visit(f);
        }
    }
    let mut followed: Vec<(usize, usize, FlowKey, u64)> = Vec::new();
    let mut wanted: FxHashMap<FlowKey, Vec<(u64, u32)>> = FxHashMap::default();
    let mut copies = 0usize;
    for (w, t) in tables.iter().enumerate() {
        for (i, f) in t.iter().enumerate().filter(|(_, f)| !f.owned) {
            copies += 1;
            if named[w][i] {
                let key = key_of(f);
                wanted.entry(key).or_default();
                followed.push((w, i, key, f.first_frame));
            }
        }
    }

    // Owned flows in creation order get the ids one thread gives. Each
    // table holds its flows in creation order, so the tables are merged by
    // index, the earliest creation first (the lowest analyser on a tie);
    // followed copies get no id.
    let owned = tables.iter().map(Vec::len).sum::<usize>() - copies;
    let mut ends: Vec<u64> = Vec::with_capacity(owned);
    let (mut expired, mut evicted) = (0u64, 0u64);
    let mut at = vec![0usize; tables.len()];
    let mut g = 0u32;
    loop {
        let mut first: Option<(u64, usize)> = None;
        for (w, t) in tables.iter().enumerate() {
            while t.get(at[w]).is_some_and(|f| !f.owned) {
                at[w] += 1;
            }
            if let Some(f) = t.get(at[w]) {
                if first.is_none_or(|(frame, _)| f.first_frame < frame) {
                    first = Some((f.first_frame, w));
                }
            }
        }
        let Some((_, w)) = first else { break };
        let i = at[w];
        at[w] += 1;
        let Some(f) = tables[w].get(i) else { break };
        g = g.saturating_add(1);
        maps[w][i] = g;
        if !wanted.is_empty() {
            if let Some(v) = wanted.get_mut(&key_of(f)) {
                v.push((f.first_frame, g));
            }
        }
        if f.end_frame != u64::MAX {
            ends.push(f.end_frame);
        }
        match f.ended {
            Some(EndReason::Idle) => expired += 1,
            Some(EndReason::Evicted) => evicted += 1,
            _ => {}
        }
    }
    let flows = concat_in_order(tables, &maps);
    for (w, i, key, first) in followed {
        let owners = wanted.get(&key).map_or(&[][..], Vec::as_slice);
        // Each list is in creation order.
        let at = owners.partition_point(|&(f, _)| f <= first);
        maps[w][i] = match at {
            0 => owners.first().map_or(0, |o| o.1),
            n => owners[n - 1].1,
        };
    }
    let remap = |w: usize| {
        let m = &maps[w];
        move |id: u32| {
            (id as usize)
                .checked_sub(1)
                .and_then(|i| m.get(i))
                .copied()
                .unwrap_or(0)
        }
    };
    // The peak of live flows, replayed from creation and end frames (the
    // ends of a frame come before its creation).
    ends.sort_unstable();
    let (mut live, mut peak, mut e) = (0i64, 0i64, 0usize);
    for f in &flows {
        while ends.get(e).is_some_and(|&end| end <= f.first_frame) {
            live -= 1;
            e += 1;
        }
        live += 1;
        peak = peak.max(live);
    }

    // Every analyser holds the same call table; the reading thread's is
    // kept, and the others' records join it.
    let m0 = remap(0);
    front.ctx.calls.remap_signalling(m0);
    front.ctx.leaks.remap_flows(m0);
    front.ctx.relays.remap_flows(m0);
    front.ctx.warnings.remap_flows(m0);
    let mut attach: Vec<(u64, u32, u16, u32)> = Vec::new();
    let logs = std::iter::once((0, front.ctx.calls.attach_log.take()));
    let mut others = Vec::with_capacity(workers.len());
    for (i, mut other) in workers.into_iter().enumerate() {
        let mw = remap(i + 1);
        other.ctx.leaks.remap_flows(mw);
        other.ctx.relays.remap_flows(mw);
        other.ctx.warnings.remap_flows(mw);
        front.ctx.leaks.absorb(other.ctx.leaks);
        front.ctx.relays.absorb(other.ctx.relays);
        front.ctx.warnings.merge(other.ctx.warnings);
        front.ctx.stream_bytes_dropped += other.ctx.stream_bytes_dropped;
        others.push((i + 1, other.ctx.calls.attach_log.take()));
    }
    for (w, log) in logs.chain(others) {
        let mw = remap(w);
        attach.extend(
            log.unwrap_or_default()
                .into_iter()
                .map(|(fr, c, m, f)| (fr, c, m, mw(f))),
        );
    }
    let mut base = front;
    base.ctx.calls.replay_attachments(attach);
    base.flows = FlowTable::from_ended(
        cfg.flows,
        flows,
        usize::try_from(peak).unwrap_or(0),
        expired,
        evicted,
    );
    base
}

/// The owned flows of `tables` in one table, flow `i` of table `w` at
/// place `maps[w][i] - 1` with that id (copies, whose map is 0, dropped).
/// The flows are moved in place: the largest table grows (with glibc a
/// large allocation grows by remapping its pages, not by copying them) and
/// takes the others in turn, each freed once moved, and a permutation puts
/// every flow at its place. No second table of all the flows is built,
/// which matters on a flood of flows.
fn concat_in_order(tables: Vec<Vec<Flow>>, maps: &[Vec<u32>]) -> Vec<Flow> {
    let total: usize = tables.iter().map(Vec::len).sum();
    let largest = (0..tables.len())
        .max_by_key(|&w| tables[w].len())
        .unwrap_or(0);
    let mut tables: Vec<Option<Vec<Flow>>> = tables.into_iter().map(Some).collect();
    let mut all = tables
        .get_mut(largest)
        .and_then(Option::take)
        .unwrap_or_default();
    let mut dest: Vec<u32> = Vec::with_capacity(total);
    let owned = maps.iter().flatten().filter(|&&g| g != 0).count();
    let mut spare = owned;
    let mut place = |g: u32| -> u32 {
        if g != 0 {
            g - 1
        } else {
            spare += 1;
            (spare - 1) as u32
        }
    };
    dest.extend(maps[largest].iter().map(|&g| place(g)));
    all.reserve_exact(total - all.len());
    for (w, t) in tables.iter_mut().enumerate() {
        if let Some(mut t) = t.take() {
            dest.extend(maps[w].iter().map(|&g| place(g)));
            all.append(&mut t);
        }
    }
    // Each cycle of the permutation is walked once: a swap puts one flow
    // at its place for good.
    for i in 0..all.len() {
        loop {
            let j = dest[i] as usize;
            if j == i || j >= all.len() {
                break;
            }
            all.swap(i, j);
            dest.swap(i, j);
        }
    }
    all.truncate(owned);
    for (n, f) in all.iter_mut().enumerate() {
        f.id = u32::try_from(n + 1).unwrap_or(u32::MAX);
    }
    all
}

fn key_of(f: &Flow) -> FlowKey {
    FlowKey::of(f.transport, f.src, f.dst).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::ep;

    #[test]
    fn owner_is_the_same_both_ways_and_spreads_flows() {
        let mut per = [0u32; 3];
        for i in 0..3000u16 {
            let a = ep("192.0.2.10", 10_000 + i);
            let b = ep(
                if i % 2 == 0 {
                    "198.51.100.7"
                } else {
                    "2001:db8::7"
                },
                5004,
            );
            for t in [Transport::Udp, Transport::Tcp] {
                let o = owner(t, &a, &b, 3);
                assert_eq!(o, owner(t, &b, &a, 3));
                assert!(o < 3);
                per[o as usize] += 1;
            }
        }
        // 6000 flows over the reading thread (1 share of 7) and two
        // workers (3 shares each): each within 10 % of its part.
        let want = [6000 / 7, 6000 * 3 / 7, 6000 * 3 / 7];
        for (n, w) in per.iter().zip(want) {
            assert!(
                n * 10 >= w * 9 && n * 10 <= w * 11,
                "{per:?} against {want:?}"
            );
        }
        assert_eq!(owner(Transport::Udp, &ep("::1", 1), &ep("::1", 2), 1), 0);
    }

    #[test]
    fn split_by_client_keeps_a_client_on_one_thread() {
        let n = 3;
        let client = ep("10.1.2.3", 40_000);
        let mine = client_owner(&client, &ep("203.0.113.5", 443), n);
        for (port, peer) in [(40_001, "198.51.100.7"), (5060, "2001:db8::1")] {
            let c = ep("10.1.2.3", port);
            let p = ep(peer, 3478);
            assert_eq!(client_owner(&c, &p, n), mine);
            assert_eq!(client_owner(&p, &c, n), mine);
        }
        // Its DNS, also from an internal resolver.
        let resolver = ep("10.0.0.53", 53);
        assert_eq!(client_owner(&resolver, &client, n), mine);
        assert_eq!(client_owner(&client, &resolver, n), mine);
        // Between two internal or two public hosts: the last worker.
        let pbx = ep("10.0.0.2", 5060);
        assert_eq!(client_owner(&client, &pbx, n), n - 1);
        assert_eq!(
            client_owner(&ep("192.0.2.1", 5060), &ep("198.51.100.2", 5060), n),
            n - 1
        );
        assert_eq!(client_owner(&client, &pbx, 1), 0);
        // Clients spread over the threads.
        let mut per = [0u32; 3];
        for i in 0..3000u32 {
            let [_, a, b, c] = i.to_be_bytes();
            let c = ep(&format!("10.{a}.{b}.{c}"), 5000);
            per[client_owner(&c, &ep("203.0.113.9", 443), n) as usize] += 1;
        }
        assert!(per.iter().all(|&k| k > 300), "{per:?}");
    }

    #[test]
    fn flow_limits_follow_the_shares_and_add_up() {
        for all in [1usize, 7, 100, 262_144, usize::MAX] {
            for count in 1..=8u32 {
                let parts: Vec<usize> = (0..count).map(|i| flow_limit(all, count, i)).collect();
                let sum = parts.iter().fold(0usize, |s, &p| s.saturating_add(p));
                if all >= count as usize * 4 {
                    assert_eq!(sum, all, "{all} flows over {count}: {parts:?}");
                }
                assert!(parts.iter().all(|&p| p >= 1));
            }
        }
        // 2 threads: the reading thread owns a quarter of the flows.
        assert_eq!(
            (flow_limit(262_144, 2, 0), flow_limit(262_144, 2, 1)),
            (65_536, 196_608)
        );
    }
}

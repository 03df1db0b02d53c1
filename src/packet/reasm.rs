//! Bounded IPv4/IPv6 fragment reassembly (RFC 791 section 3.2, RFC 8200
//! section 4.5), so that fragmented SIP messages and large STUN/DTLS
//! datagrams reach the dissectors whole.
//!
//! Limits: [`ReasmLimits`]. A datagram that is not complete within the
//! timeout (packet time), would grow beyond the size limit, or does not fit
//! in the table is dropped and counted. Overlapping fragments are counted;
//! the bytes that arrived first win (RFC 5722 would drop the datagram for
//! IPv6: the first-wins rule is what most stacks and Wireshark show).

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::packet::Fragment;
use crate::time::Nanos;

/// Limits of the reassembler.
#[derive(Debug, Clone, Copy)]
pub struct ReasmLimits {
    /// Datagrams being reassembled at once.
    pub max_pending: usize,
    /// Largest datagram (bytes).
    pub max_datagram: usize,
    /// Time allowed from the first fragment to the last.
    pub timeout: Nanos,
}

impl Default for ReasmLimits {
    fn default() -> Self {
        ReasmLimits {
            max_pending: 1024,
            max_datagram: 65_535,
            timeout: Nanos::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    protocol: u8,
}

#[derive(Debug)]
struct Pending {
    first_ts: Nanos,
    data: Vec<u8>,
    /// Byte ranges received, sorted and merged.
    have: Vec<(u32, u32)>,
    /// Total length, known once the last fragment arrived.
    total: Option<u32>,
    /// Frame bytes of the fragments so far.
    frame_bytes: u64,
    tunnel_depth: u8,
}

/// What a fragment did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored; the datagram is not complete yet.
    Pending,
    /// The datagram is complete: protocol, payload, frame bytes of all fragments.
    Complete {
        protocol: u8,
        payload: Vec<u8>,
        frame_bytes: u64,
        tunnel_depth: u8,
    },
    /// Dropped (see the counters).
    Dropped,
}

/// Counters reported as warnings.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReasmStats {
    pub reassembled: u64,
    pub timed_out: u64,
    pub overlaps: u64,
    pub too_large: u64,
    pub table_full: u64,
    pub peak_pending: usize,
}

/// The reassembly table.
pub struct Reassembler {
    limits: ReasmLimits,
    pending: FxHashMap<Key, Pending>,
    pub stats: ReasmStats,
}

impl Reassembler {
    pub fn new(limits: ReasmLimits) -> Self {
        Reassembler {
            limits,
            pending: FxHashMap::default(),
            stats: ReasmStats::default(),
        }
    }

    /// Datagrams still incomplete.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Adds one fragment carried by a frame of `frame_len` bytes.
    pub fn push(&mut self, frag: &Fragment<'_>, frame_len: u64, ts: Nanos) -> Outcome {
        self.expire(ts);
        let key = Key {
            src: frag.src,
            dst: frag.dst,
            id: frag.id,
            protocol: frag.protocol,
        };
        let start = frag.offset;
        let Some(end) = u32::try_from(frag.data.len())
            .ok()
            .and_then(|n| start.checked_add(n))
            .filter(|&e| e as usize <= self.limits.max_datagram)
        else {
            self.stats.too_large += 1;
            self.pending.remove(&key);
            return Outcome::Dropped;
        };
        if !self.pending.contains_key(&key) && self.pending.len() >= self.limits.max_pending {
            self.stats.table_full += 1;
            return Outcome::Dropped;
        }
        let pending_now = self.pending.len() + usize::from(!self.pending.contains_key(&key));
        self.stats.peak_pending = self.stats.peak_pending.max(pending_now);
        let p = self.pending.entry(key).or_insert_with(|| Pending {
            first_ts: ts,
            data: Vec::new(),
            have: Vec::new(),
            total: None,
            frame_bytes: 0,
            tunnel_depth: frag.tunnel_depth,
        });
        p.frame_bytes += frame_len;
        if !frag.more {
            if p.total.is_some_and(|t| t != end) || p.have.iter().any(|&(_, e)| e > end) {
                self.stats.overlaps += 1;
            }
            p.total = Some(end);
        }
        if p.data.len() < end as usize {
            p.data.resize(end as usize, 0);
        }
        // Copy only the parts not received yet: first arrival wins.
        let mut cursor = start;
        let mut overlapped = false;
        for &(hs, he) in p.have.iter() {
            if he <= cursor || hs >= end {
                continue;
            }
            overlapped = true;
            if hs > cursor {
                copy(&mut p.data, frag.data, start, cursor, hs);
            }
            cursor = cursor.max(he);
        }
        if cursor < end {
            copy(&mut p.data, frag.data, start, cursor, end);
        }
        if overlapped {
            self.stats.overlaps += 1;
        }
        insert_range(&mut p.have, start, end);
        let complete = matches!((p.total, p.have.as_slice()), (Some(t), [(0, e)]) if *e >= t);
        if complete {
            let Some(mut p) = self.pending.remove(&key) else {
                return Outcome::Dropped;
            };
            p.data.truncate(p.total.unwrap_or(0) as usize);
            self.stats.reassembled += 1;
            return Outcome::Complete {
                protocol: frag.protocol,
                payload: p.data,
                frame_bytes: p.frame_bytes,
                tunnel_depth: p.tunnel_depth,
            };
        }
        Outcome::Pending
    }

    fn expire(&mut self, now: Nanos) {
        let timeout = self.limits.timeout;
        let before = self.pending.len();
        self.pending
            .retain(|_, p| now.saturating_sub(p.first_ts) <= timeout);
        self.stats.timed_out += (before - self.pending.len()) as u64;
    }

    /// Drops what is left at the end of the capture, counting it as timed out.
    pub fn finish(&mut self) {
        self.stats.timed_out += self.pending.len() as u64;
        self.pending.clear();
    }
}

/// Copies `frag[from - start .. to - start]` to `data[from..to]`.
fn copy(data: &mut [u8], frag: &[u8], start: u32, from: u32, to: u32) {
    let (a, b) = ((from - start) as usize, (to - start) as usize);
    if let (Some(dst), Some(src)) = (data.get_mut(from as usize..to as usize), frag.get(a..b)) {
        dst.copy_from_slice(src);
    }
}

fn insert_range(have: &mut Vec<(u32, u32)>, s: u32, e: u32) {
    have.push((s, e));
    have.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(have.len());
    for &(s, e) in have.iter() {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    *have = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            src: "192.0.2.1".parse().unwrap(),
            dst: "192.0.2.2".parse().unwrap(),
            id: 7,
            protocol: 17,
            offset,
            more,
            data,
            tunnel_depth: 0,
        }
    }

    #[test]
    fn parses_out_of_order_fragments() {
        let mut r = Reassembler::new(ReasmLimits::default());
        let t = Nanos::ZERO;
        assert_eq!(r.push(&frag(16, false, b"CCCC"), 50, t), Outcome::Pending);
        assert_eq!(r.push(&frag(0, true, b"AAAAAAAA"), 50, t), Outcome::Pending);
        match r.push(&frag(8, true, b"BBBBBBBB"), 50, t) {
            Outcome::Complete {
                payload,
                frame_bytes,
                protocol,
                ..
            } => {
                assert_eq!(payload, b"AAAAAAAABBBBBBBBCCCC");
                assert_eq!((frame_bytes, protocol), (150, 17));
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn rejects_overlap_keeping_first_bytes() {
        let mut r = Reassembler::new(ReasmLimits::default());
        let t = Nanos::ZERO;
        r.push(&frag(0, true, b"AAAAAAAA"), 1, t);
        r.push(&frag(4, true, b"XXXXXXXX"), 1, t);
        match r.push(&frag(12, false, b"CC"), 1, t) {
            Outcome::Complete { payload, .. } => assert_eq!(payload, b"AAAAAAAAXXXXCC"),
            o => panic!("{o:?}"),
        }
        assert_eq!(r.stats.overlaps, 1);
    }

    #[test]
    fn rejects_oversize_and_times_out() {
        let limits = ReasmLimits {
            max_pending: 1,
            max_datagram: 100,
            timeout: Nanos::from_secs(1),
        };
        let mut r = Reassembler::new(limits);
        assert_eq!(
            r.push(&frag(96, true, b"12345678"), 1, Nanos::ZERO),
            Outcome::Dropped
        );
        assert_eq!(r.stats.too_large, 1);
        r.push(&frag(0, true, b"12345678"), 1, Nanos::ZERO);
        let mut other = frag(0, true, b"x");
        other.id = 8;
        assert_eq!(r.push(&other, 1, Nanos::ZERO), Outcome::Dropped);
        assert_eq!(r.stats.table_full, 1);
        assert_eq!(r.push(&other, 1, Nanos::from_secs(5)), Outcome::Pending);
        assert_eq!(r.stats.timed_out, 1);
    }
}

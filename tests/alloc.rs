//! The per-packet path does not allocate once a flow is set up: a counting
//! global allocator watches `Analyzer::process` over real captures.
//!
//! Each capture is read into memory first (the block reader lends frames
//! from its buffer), then analysed in two halves: the first half creates the
//! flows, calls, RTP streams and their state. In the second half, the RTP
//! packets of streams already seen are counted with the allocations made
//! while they were analysed. Set-up events (a new flow, stream, STUN
//! allocation or SIP message) may allocate; a packet of an established
//! stream may not.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use vcscope::capture::pcapfile::FileReader;
use vcscope::engine::{Analyzer, Config};
use vcscope::net::Transport;
use vcscope::packet::{self, Decoded, LinkType};
use vcscope::time::Nanos;

mod common;
use common::fixture;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counter is a relaxed atomic with no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` came from `System.alloc` with this layout.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `dealloc`, and `n` is the caller's new size.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn frames(name: &str) -> Vec<(LinkType, Nanos, Vec<u8>, u32)> {
    let file = std::fs::File::open(fixture(name)).unwrap();
    let mut r = FileReader::new(file).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        let link = LinkType::from_dlt(rec.linktype as i32).unwrap();
        out.push((link, rec.ts, rec.data.to_vec(), rec.wire_len));
    }
    out
}

/// Addresses, ports and SSRC of a UDP datagram that looks like RTP (not RTCP).
fn rtp_ssrc(link: LinkType, frame: &[u8]) -> Option<(IpAddr, u16, IpAddr, u16, u32)> {
    let Ok(Decoded::Packet(p)) = packet::decode(link, frame) else {
        return None;
    };
    let b = p.payload;
    if p.transport != Transport::Udp || b.len() < 12 || b[0] >> 6 != 2 {
        return None;
    }
    if (72..=95).contains(&(b[1] & 0x7f)) {
        return None;
    }
    let ssrc = u32::from_be_bytes([b[8], b[9], b[10], b[11]]);
    Some((p.src, p.sport, p.dst, p.dport, ssrc))
}

/// Over the second half of `name`: (RTP packets of streams, by 5-tuple and
/// SSRC, already seen in the first half; how many of them allocated anything).
fn established_rtp_allocations(name: &str) -> (u64, u64) {
    let frames = frames(name);
    let half = frames.len() / 2;
    let mut an = Analyzer::new(Config::default());
    let mut seen = HashSet::new();
    for (link, ts, data, len) in &frames[..half] {
        seen.extend(rtp_ssrc(*link, data));
        an.process(*link, *ts, data, *len);
    }
    let (mut packets, mut allocating) = (0, 0);
    for (link, ts, data, len) in &frames[half..] {
        let established = rtp_ssrc(*link, data).is_some_and(|s| seen.contains(&s));
        let before = ALLOCS.load(Ordering::Relaxed);
        an.process(*link, *ts, data, *len);
        if established {
            packets += 1;
            let a = ALLOCS.load(Ordering::Relaxed) - before;
            if a > 0 && std::env::var_os("ALLOC_DEBUG").is_some() {
                eprintln!("{name}: frame at {:?} allocates {a}", ts);
            }
            allocating += u64::from(a > 0);
        }
    }
    drop(an);
    (packets, allocating)
}

#[test]
fn established_rtp_packets_do_not_allocate() {
    // A SIP call with 1 330 RTP packets (G.711, comfort noise and events),
    // a WhatsApp call over STUN/TURN, a Google Meet call, a plain RTP call.
    // Allowed: the amortised growth of each stream's time series (a bucket
    // a second, capacity doubling: one allocation per stream per doubling)
    // and events such as a re-INVITE moving a stream to another media line
    // (the FAX call's switch to T.38). Together at most one packet in
    // fifty; a per-packet allocation would be every packet.
    let mut total = 0;
    for name in [
        "ndpi__FAX-Call-t38-CA-TDM-SIP-FB-1.pcap",
        "ndpi__whatsapp_login_call.pcap",
        "ndpi__stun_google_meet.pcapng",
        "sipp__g711a.pcap",
    ] {
        let (packets, allocating) = established_rtp_allocations(name);
        assert!(
            allocating * 50 <= packets,
            "{name}: {allocating} of {packets} packets of established RTP streams allocated"
        );
        total += packets;
    }
    assert!(total >= 800, "only {total} established RTP packets checked");
}

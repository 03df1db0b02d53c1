//! The reference of vcscope's performance comparison: the bare L2-L4 ceiling.
//!
//! Reads a pcap or pcapng file with libpcap (the `pcap` crate, as vcscope
//! does), slices every frame with `etherparse` (Ethernet, VLAN tags, IPv4,
//! IPv6 and its extension headers, UDP, TCP) and counts packets and bytes
//! per bidirectional 5-tuple in a hash map. No payload is looked at. That is
//! the least any flow analyzer has to do, so "vcscope time / reference time"
//! says what the dissectors, call correlation and report cost on top.
//!
//! ```text
//! reference-reader [--std-hash | --read-only] FILE
//! ```
//!
//! Prints one line to stdout:
//! `packets=N bytes=N flows=N sliced=N unsliced=N seconds=S packets_per_sec=R`.
//! `--std-hash` uses the standard library's SipHash map instead of FxHash;
//! `--read-only` only reads the frames (libpcap's share of the time).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Instant;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap::Capture;

/// A canonical bidirectional 5-tuple: the lower endpoint first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey {
    proto: u8,
    a: (IpAddr, u16),
    b: (IpAddr, u16),
}

impl FlowKey {
    fn new(proto: u8, src: (IpAddr, u16), dst: (IpAddr, u16)) -> FlowKey {
        if src <= dst {
            FlowKey {
                proto,
                a: src,
                b: dst,
            }
        } else {
            FlowKey {
                proto,
                a: dst,
                b: src,
            }
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Counters {
    packets: u64,
    bytes: u64,
}

#[derive(Debug, Default)]
struct Totals {
    packets: u64,
    bytes: u64,
    sliced: u64,
    unsliced: u64,
}

/// The 5-tuple of a sliced frame, if it is UDP or TCP over IP.
#[inline]
fn key_of(p: &SlicedPacket<'_>) -> Option<FlowKey> {
    let (src, dst) = match p.net.as_ref()? {
        NetSlice::Ipv4(ip) => (
            IpAddr::V4(ip.header().source_addr()),
            IpAddr::V4(ip.header().destination_addr()),
        ),
        NetSlice::Ipv6(ip) => (
            IpAddr::V6(ip.header().source_addr()),
            IpAddr::V6(ip.header().destination_addr()),
        ),
        NetSlice::Arp(_) => return None,
    };
    match p.transport.as_ref()? {
        TransportSlice::Udp(u) => Some(FlowKey::new(
            17,
            (src, u.source_port()),
            (dst, u.destination_port()),
        )),
        TransportSlice::Tcp(t) => Some(FlowKey::new(
            6,
            (src, t.source_port()),
            (dst, t.destination_port()),
        )),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Fx,
    Std,
    ReadOnly,
}

fn run<S: BuildHasher + Default>(path: &str, slice: bool) -> Result<(Totals, usize), String> {
    let mut cap = Capture::from_file(path).map_err(|e| format!("{path}: {e}"))?;
    let ethernet = cap.get_datalink().0 == 1;
    if !ethernet {
        return Err(format!(
            "{path}: link type {} is not Ethernet",
            cap.get_datalink().0
        ));
    }
    let mut flows: HashMap<FlowKey, Counters, S> = HashMap::with_hasher(S::default());
    let mut t = Totals::default();
    loop {
        match cap.next_packet() {
            Ok(pkt) => {
                t.packets += 1;
                t.bytes += u64::from(pkt.header.len);
                if !slice {
                    continue;
                }
                let key = SlicedPacket::from_ethernet(pkt.data)
                    .ok()
                    .and_then(|s| key_of(&s));
                match key {
                    Some(k) => {
                        t.sliced += 1;
                        let c = flows.entry(k).or_default();
                        c.packets += 1;
                        c.bytes += u64::from(pkt.header.len);
                    }
                    None => t.unsliced += 1,
                }
            }
            Err(pcap::Error::NoMorePackets) => break,
            Err(e) => return Err(format!("{path}: {e}")),
        }
    }
    Ok((t, flows.len()))
}

fn main() -> ExitCode {
    let mut mode = Mode::Fx;
    let mut path = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--std-hash" => mode = Mode::Std,
            "--read-only" => mode = Mode::ReadOnly,
            "-h" | "--help" => {
                println!("usage: reference-reader [--std-hash | --read-only] FILE");
                return ExitCode::SUCCESS;
            }
            _ if path.is_none() => path = Some(arg),
            _ => {
                eprintln!("usage: reference-reader [--std-hash | --read-only] FILE");
                return ExitCode::from(2);
            }
        }
    }
    let Some(path) = path else {
        eprintln!("usage: reference-reader [--std-hash | --read-only] FILE");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let result = match mode {
        Mode::Std => run::<std::collections::hash_map::RandomState>(&path, true),
        Mode::Fx => run::<BuildHasherDefault<rustc_hash::FxHasher>>(&path, true),
        Mode::ReadOnly => run::<BuildHasherDefault<rustc_hash::FxHasher>>(&path, false),
    };
    let secs = start.elapsed().as_secs_f64();
    match result {
        Ok((t, flows)) => {
            let rate = if secs > 0.0 {
                t.packets as f64 / secs
            } else {
                0.0
            };
            println!(
                "packets={} bytes={} flows={} sliced={} unsliced={} seconds={:.3} packets_per_sec={:.0}",
                t.packets, t.bytes, flows, t.sliced, t.unsliced, secs, rate
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reference-reader: {e}");
            ExitCode::from(2)
        }
    }
}

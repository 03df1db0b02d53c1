//! Saving calls as captures (`--export-call ID -w FILE`, `--export-calls
//! DIR`): the input files are read again and every frame of a call's flows
//! (its signalling, STUN/TURN, DTLS and media) is written, unchanged, with
//! its original time, to one pcap per call through libpcap's savefile.
//!
//! A frame belongs to a call when its decoded 5-tuple is one of the call's
//! flows. IP fragments after the first carry no ports: they are kept when
//! they travel between the addresses of one of the call's flows with its
//! transport. A pcap file holds one link type: frames of another link type
//! than the call's first are counted and left out.

use std::path::{Path, PathBuf};

use pcap::{Capture, Linktype, Packet, PacketHeader, Precision, Savefile};
use rustc_hash::FxHashMap;

use super::{err, link_type, open_reader, CaptureError};
use crate::net::{Endpoint, FlowKey, Transport};
use crate::packet::{self, Decoded};

/// Savefiles open at once; more calls are written in further passes.
const OPEN_AT_ONCE: usize = 256;

/// One call to export: where to write it and its flows.
#[derive(Debug, Clone)]
pub struct CallExport {
    pub path: PathBuf,
    pub flows: Vec<(Transport, Endpoint, Endpoint)>,
}

/// What an export wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExportStats {
    /// Frames written, all calls together.
    pub frames: u64,
    /// Frames of a call left out for their link type.
    pub other_link_type: u64,
}

struct Open {
    file: Savefile,
    linktype: u32,
}

/// Writes one capture per call from `inputs` (files, not standard input).
pub fn export_calls(inputs: &[String], calls: &[CallExport]) -> Result<ExportStats, CaptureError> {
    if inputs.iter().any(|p| p == "-") {
        return Err(err(
            "exporting calls reads the input again: give files, not standard input",
        ));
    }
    let mut stats = ExportStats::default();
    for batch in calls.chunks(OPEN_AT_ONCE) {
        let s = export_batch(inputs, batch)?;
        stats.frames += s.frames;
        stats.other_link_type += s.other_link_type;
    }
    Ok(stats)
}

fn export_batch(inputs: &[String], calls: &[CallExport]) -> Result<ExportStats, CaptureError> {
    let mut by_flow: FxHashMap<FlowKey, Vec<u32>> = FxHashMap::default();
    // Fragments (no ports): by the two hosts.
    let mut by_hosts: FxHashMap<FlowKey, Vec<u32>> = FxHashMap::default();
    for (i, c) in calls.iter().enumerate() {
        for &(t, a, b) in &c.flows {
            by_flow
                .entry(FlowKey::of(t, a, b).0)
                .or_default()
                .push(i as u32);
            let host = |e: Endpoint| Endpoint { ip: e.ip, port: 0 };
            by_hosts
                .entry(FlowKey::of(t, host(a), host(b)).0)
                .or_default()
                .push(i as u32);
        }
    }
    let mut open: Vec<Option<Open>> = (0..calls.len()).map(|_| None).collect();
    let mut stats = ExportStats::default();
    for path in inputs {
        let mut reader = open_reader(path)?;
        loop {
            let rec = match reader.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                // What was readable was exported; the analysis reported the rest.
                Err(_) => break,
            };
            let Ok(link) = link_type(rec.linktype, path) else {
                continue;
            };
            let owners = match packet::decode(link, rec.data) {
                Ok(Decoded::Packet(p)) => {
                    let (src, dst) = p.endpoints();
                    by_flow.get(&FlowKey::of(p.transport, src, dst).0)
                }
                Ok(Decoded::Fragment(f)) => {
                    let t = match f.protocol {
                        17 => Transport::Udp,
                        6 => Transport::Tcp,
                        _ => continue,
                    };
                    let a = Endpoint { ip: f.src, port: 0 };
                    let b = Endpoint { ip: f.dst, port: 0 };
                    by_hosts.get(&FlowKey::of(t, a, b).0)
                }
                Err(_) => None,
            };
            let Some(owners) = owners else { continue };
            for &i in owners {
                let slot = &mut open[i as usize];
                if slot.is_none() {
                    *slot = Some(create(&calls[i as usize].path, rec.linktype)?);
                }
                let Some(o) = slot.as_mut() else { continue };
                if o.linktype != rec.linktype {
                    stats.other_link_type += 1;
                    continue;
                }
                let secs = rec.ts.0 / 1_000_000_000;
                let nanos = rec.ts.0 % 1_000_000_000;
                let header = PacketHeader {
                    ts: libc::timeval {
                        tv_sec: libc::time_t::try_from(secs).unwrap_or(libc::time_t::MAX),
                        tv_usec: nanos as libc::suseconds_t,
                    },
                    caplen: u32::try_from(rec.data.len()).unwrap_or(u32::MAX),
                    len: rec.wire_len,
                };
                o.file.write(&Packet::new(&header, rec.data));
                stats.frames += 1;
            }
        }
    }
    for (o, c) in open.iter_mut().zip(calls) {
        match o {
            Some(o) => o
                .file
                .flush()
                .map_err(|e| err(format!("{}: cannot write: {e}", c.path.display())))?,
            // A call whose flows were all in standard input or cut away:
            // an empty capture still says so.
            None => {
                create(&c.path, 1)?;
            }
        }
    }
    Ok(stats)
}

fn create(path: &Path, linktype: u32) -> Result<Open, CaptureError> {
    // LINKTYPE_RAW (101) is DLT_RAW (12) for libpcap.
    let dlt = if linktype == 101 { 12 } else { linktype as i32 };
    let dead = Capture::dead_with_precision(Linktype(dlt), Precision::Nano)
        .map_err(|e| err(format!("{}: cannot create: {e}", path.display())))?;
    let file = dead
        .savefile(path)
        .map_err(|e| err(format!("{}: cannot create: {e}", path.display())))?;
    Ok(Open { file, linktype })
}

//! Loss and delay injected into a real G.711 capture: the report's loss,
//! late packets, burst ratio, R and MOS are checked against figures this
//! test computes itself, from the playout rule the README states and the
//! formulas of ITU-T G.107 (06/2015) sections 7.3, 7.4 and Annex B, with
//! G.113 Appendix I's G.711 (with PLC) values, not from the code under test.
//!
//! The impaired capture is written to a temporary directory and removed.

mod common;

use std::path::PathBuf;

/// `fixtures/pcap/sipp__g711a.pcap`: one PCMA stream (payload type 8, 30 ms
/// packets) from port 5000 to 2006, 236 packets over 7 s, Ethernet/IPv4.
const CAPTURE: &str = "sipp__g711a.pcap";

/// One record of a classic pcap: arrival (µs since the first) and frame.
struct Record {
    us: u64,
    frame: Vec<u8>,
}

/// Reads a classic little-endian microsecond pcap.
fn read_pcap(bytes: &[u8]) -> Vec<Record> {
    assert_eq!(
        bytes[..4],
        0xa1b2_c3d4u32.to_le_bytes(),
        "classic pcap, LE, µs"
    );
    let le32 = |b: &[u8], o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let mut out = Vec::new();
    let mut off = 24;
    let mut first = None;
    while off + 16 <= bytes.len() {
        let us = u64::from(le32(bytes, off)) * 1_000_000 + u64::from(le32(bytes, off + 4));
        let len = le32(bytes, off + 8) as usize;
        let frame = bytes[off + 16..off + 16 + len].to_vec();
        let t0 = *first.get_or_insert(us);
        out.push(Record { us: us - t0, frame });
        off += 16 + len;
    }
    out
}

/// The RTP header of an Ethernet/IPv4/UDP frame: (seq, timestamp, marker).
fn rtp_of(frame: &[u8]) -> (u16, u32, bool) {
    let ihl = usize::from(frame[14] & 0x0f) * 4;
    let rtp = &frame[14 + ihl + 8..];
    assert_eq!(rtp[0] >> 6, 2, "RTP version 2");
    let seq = u16::from_be_bytes([rtp[2], rtp[3]]);
    let ts = u32::from_be_bytes([rtp[4], rtp[5], rtp[6], rtp[7]]);
    (seq, ts, rtp[1] & 0x80 != 0)
}

/// G.107 section 7.3, `Idd` for a one-way delay `ta` (ms), echo cancelled.
fn idd(ta: f64) -> f64 {
    if ta <= 100.0 {
        return 0.0;
    }
    let x = (ta / 100.0).ln() / 2f64.ln();
    25.0 * ((1.0 + x.powi(6)).powf(1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0)
        + 2.0)
}

/// G.107 Annex B.
fn mos(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)
    }
}

/// What the test expects of one fixed jitter buffer of `b_ms`.
#[derive(Debug)]
struct Expect {
    late: u64,
    ppl: f64,
    burst_r: f64,
    r: f64,
    mos: f64,
}

/// The fixed-buffer rule of the README ("Call quality"): a packet is late
/// when it arrives more than `b_ms` after `t_anchor + (ts - ts_anchor) /
/// 8000`, the anchor being the first packet or a marker-bit packet; runs
/// of lost or late packets, in sequence order, give `BurstR = mean run *
/// (1 - Ppl)`; G.711 with PLC has `Ie = 0`, `Bpl = 25.1`.
fn expect(packets: &[(u64, u16, u32, bool)], b_ms: f64) -> Expect {
    let mut anchor: Option<(f64, u32)> = None;
    let mut late_seqs = Vec::new();
    for &(us, seq, ts, marker) in packets {
        let t = us as f64 / 1e6;
        match anchor {
            Some((t0, ts0)) if !marker => {
                let due = t0 + f64::from(ts.wrapping_sub(ts0)) / 8000.0;
                if t - due > b_ms / 1000.0 {
                    late_seqs.push(seq);
                }
            }
            _ => anchor = Some((t, ts)),
        }
    }
    let first = packets.iter().map(|p| p.1).min().unwrap();
    let last = packets.iter().map(|p| p.1).max().unwrap();
    let expected = u64::from(last - first) + 1;
    let received: Vec<u16> = packets.iter().map(|p| p.1).collect();
    let lost = expected - received.len() as u64;
    let mut runs = Vec::new();
    let mut run = 0u32;
    for seq in first..=last {
        if !received.contains(&seq) || late_seqs.contains(&seq) {
            run += 1;
        } else if run > 0 {
            runs.push(run);
            run = 0;
        }
    }
    if run > 0 {
        runs.push(run);
    }
    let late = late_seqs.len() as u64;
    let ppl = (lost + late) as f64 / expected as f64;
    let burst_r = match runs.len() {
        0 => 1.0,
        n => runs.iter().sum::<u32>() as f64 / n as f64 * (1.0 - ppl),
    };
    let ppl_pct = ppl * 100.0;
    let ie_eff = 95.0 * ppl_pct / (ppl_pct / burst_r + 25.1);
    // No RTCP in the capture: the one-way delay is the buffer's.
    let r = 93.2 - idd(b_ms) - ie_eff;
    Expect {
        late,
        ppl,
        burst_r,
        r,
        mos: mos(r),
    }
}

struct TempFile(PathBuf);
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn injected_loss_and_delay_move_the_estimate_as_g107_predicts() {
    let bytes = std::fs::read(common::fixture(CAPTURE)).expect("fixture");
    let mut records = read_pcap(&bytes);
    assert_eq!(records.len(), 236);
    // Impairments by packet index (capture order = sequence order here):
    // bursts of 3 and 4 lost and one single loss; two delay spikes in
    // which the network holds packets and releases them together, in
    // order (no reordering): 4 packets held 90, 60, 30, 0 ms, and 9 held
    // 240 ms down to 0 in 30 ms steps (the packet interval).
    let dropped: Vec<usize> = (30..33).chain(90..94).chain([150]).collect();
    let spikes = [(120usize, 4u64), (190, 9)];
    for &(start, n) in &spikes {
        let release = records[start + n as usize - 1].us;
        for k in 0..n {
            records[start + k as usize].us = release - (n - 1 - k);
        }
    }
    let kept: Vec<Record> = records
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !dropped.contains(i))
        .map(|(_, r)| r)
        .collect();
    assert!(kept.windows(2).all(|w| w[0].us <= w[1].us), "no reordering");
    let packets: Vec<(u64, u16, u32, bool)> = kept
        .iter()
        .map(|r| {
            let (seq, ts, m) = rtp_of(&r.frame);
            (r.us, seq, ts, m)
        })
        .collect();

    let dir = std::env::temp_dir();
    let file = TempFile(dir.join(format!("vcscope-impaired-{}.pcap", std::process::id())));
    let frames: Vec<(u64, Vec<u8>)> = kept.into_iter().map(|r| (r.us, r.frame)).collect();
    std::fs::write(&file.0, common::pcap_at(&frames)).expect("temp pcap");

    let report = common::analyze(&[&file.0]);
    let streams: Vec<_> = report.flows.iter().flat_map(|f| &f.rtp_streams).collect();
    assert_eq!(streams.len(), 1);
    let s = streams[0];
    let q = s.quality.as_ref().expect("a rated G.711 stream");
    assert_eq!((s.expected, s.lost), (236, 8));

    // By hand: 50 ms drops the 90 and 60 ms holds and the 240..60 ms ones
    // (2 + 7 late); 200 ms only the 240 and 210 ms ones.
    let e50 = expect(&packets, 50.0);
    let e200 = expect(&packets, 200.0);
    assert_eq!((e50.late, e200.late), (9, 2));
    // Runs at 50 ms: 3, 4, 1, 2, 7 (mean 3.4) at Ppl 17/236.
    assert!((e50.ppl - 17.0 / 236.0).abs() < 1e-12);
    assert!((e50.burst_r - 3.4 * (1.0 - 17.0 / 236.0)).abs() < 1e-12);

    // The report rounds R, MOS and the burst ratio to 3 decimals and the
    // loss to 6: the tolerances are that rounding, nothing more.
    let close = |got: f64, want: f64, tol: f64, what: &str| {
        assert!(
            (got - want).abs() <= tol,
            "{what}: report {got}, expected {want}"
        );
    };
    assert_eq!(q.late, e50.late);
    close(q.loss_effective, e50.ppl, 5e-7, "loss_effective");
    close(q.burst_ratio, e50.burst_r, 5e-4, "burst_ratio");
    close(q.r_factor, e50.r, 5e-4, "R");
    close(q.mos, e50.mos, 5e-4, "MOS");
    assert_eq!(q.delay_from, "jitter-buffer-only");

    let b = &q.jitter_buffer;
    assert_eq!(b.len(), 3);
    assert!(b[0].headline && b[0].kind == "fixed-50ms");
    assert_eq!((b[1].kind, b[1].late), ("fixed-200ms", e200.late));
    close(b[1].loss_effective, e200.ppl, 5e-7, "200 ms loss_effective");
    close(b[1].burst_ratio, e200.burst_r, 5e-4, "200 ms burst_ratio");
    close(b[1].r_factor, e200.r, 5e-4, "200 ms R");
    close(b[1].mos, e200.mos, 5e-4, "200 ms MOS");

    // Against the clean capture: the impaired stream rates lower, and the
    // move is what the formulas say it is.
    let clean = common::analyze_one(CAPTURE);
    let cq = clean.flows[0].rtp_streams[0].quality.as_ref().unwrap();
    close(cq.mos, mos(93.2), 5e-4, "clean MOS");
    close(cq.mos - q.mos, mos(93.2) - e50.mos, 1e-3, "MOS drop");
    // R about 68 against 93.2: some 0.9 MOS lower.
    assert!(q.mos < cq.mos - 0.5, "{} against {}", q.mos, cq.mos);
    // What dragged it: of Ie,eff = 95 Ppl / (Ppl / BurstR + 25.1), random
    // loss of the same rate costs 95 Ppl / (Ppl + 25.1), shared 8 : 9
    // between network loss and late discards; burstiness adds the rest.
    let p = e50.ppl * 100.0;
    let random = 95.0 * p / (p + 25.1);
    let burst = 95.0 * p / (p / e50.burst_r + 25.1) - random;
    let (lost_share, late_share) = (random * 8.0 / 17.0, random * 9.0 / 17.0);
    assert!(
        late_share > lost_share && late_share > burst,
        "{late_share} {lost_share} {burst}"
    );
    assert_eq!(q.limited_by, "jitter-buffer");
}

//! Media evidence: RTP streams and their health, RTCP reports, and whether
//! the media is readable (SRTP/SRTCP/ZRTP/DTLS-SRTP evidence).
//!
//! RTP is accepted on a flow when SDP announced the endpoint, when the flow
//! already carries ICE/DTLS/TURN (WebRTC), or when one of its streams shows
//! consecutive sequence numbers under one SSRC. Stream statistics start with
//! each stream's first packet, so counts match tshark's.

use vcscope_dissectors::demux::PacketClass;
use vcscope_dissectors::rtcp::{RtcpCompound, RtcpPacketType};
use vcscope_dissectors::rtp::{self, RtpPacket, RtpStreamStats};
use vcscope_dissectors::srtp::{self, PayloadVotes, SrtcpEvidence, ZrtpPacket};

use crate::dissect::ctx::{Ctx, Pkt};
use crate::evidence::{FlowState, Proto, RtcpReport, Stream, XrVoip, MAX_STREAMS};
use crate::time::Nanos;

/// RTCP-reported figures kept per flow.
const MAX_RTCP_REPORTS: usize = 32;
/// Packets per stream whose payload is classified (the verdict is settled by then).
const VOTE_PACKETS: u64 = 24;
/// Packets per stream followed for repeated payloads while the verdict is
/// still unknown (plain media repeats its silence frames; SRTP cannot).
const REPEAT_PACKETS: u64 = 512;
/// Packets per stream whose header extension identifiers are recorded
/// (senders negotiate them once; later packets repeat the same set).
const EXT_PACKETS: u64 = 512;
/// Candidate streams (not accepted yet) kept per flow; the oldest is replaced.
const MAX_CANDIDATES: usize = 4;
/// In-order packets (sequence step 1..=[`MAX_SEQ_STEP`]) that make a stream RTP.
/// The idea is nDPI's `rtp.c`: a random header has a stable 32-bit SSRC and
/// consecutive sequence numbers with probability about 2^-40 per pair.
const ACCEPT_RUN: u8 = 2;
const MAX_SEQ_STEP: u16 = 32;
/// RTP-class packets looked at on a flow without any accepted stream before giving up.
const GIVE_UP_AFTER: u32 = 256;

/// Dispatches a payload whose class is not SIP/STUN/ChannelData: RTP, RTCP,
/// DTLS, ZRTP, QUIC or other.
pub fn other_class(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, payload: &[u8]) {
    match PacketClass::of(payload) {
        PacketClass::Rtp => rtp_or_rtcp(ctx, st, pkt, payload),
        PacketClass::Dtls => crate::dissect::secure::dtls(ctx, st, pkt, payload),
        PacketClass::Zrtp => zrtp(st, payload),
        PacketClass::Stun if pkt.relayed => {
            // ICE checks relayed through TURN.
            if vcscope_dissectors::stun::probe(payload) == vcscope_dissectors::Probe::Match
                && vcscope_dissectors::stun::StunMessage::new_checked(payload).is_ok()
            {
                st.protocols.insert(Proto::Stun);
            }
        }
        _ => crate::dissect::secure::quic(ctx, st, pkt, payload),
    }
}

fn zrtp(st: &mut FlowState, payload: &[u8]) {
    if let Ok(z) = ZrtpPacket::new_checked(payload) {
        st.protocols.insert(Proto::Zrtp);
        let m = st.media.get_or_insert_with(Default::default);
        m.zrtp_packets += 1;
        if matches!(
            z.message_type(),
            srtp::ZrtpMessageType::Confirm1
                | srtp::ZrtpMessageType::Confirm2
                | srtp::ZrtpMessageType::Conf2Ack
        ) {
            m.zrtp_confirmed = true;
        }
    }
}

/// RTP or RTCP (RFC 5761 section 4 split on the payload type byte).
///
/// Every SSRC gets its statistics from its first packet (so counts match
/// tshark's); a stream is accepted once it shows consecutive sequence
/// numbers. Candidates that never get there are bounded per flow, and a flow
/// with no accepted stream after `GIVE_UP_AFTER` packets stops being looked at.
#[inline]
pub fn rtp_or_rtcp(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, payload: &[u8]) {
    if rtp::is_rtcp(payload) {
        rtcp(ctx, st, pkt, payload);
        return;
    }
    let Ok(p) = RtpPacket::new_checked(payload) else {
        return;
    };
    let forced = is_forced(st);
    let media_call = st.media_call;
    let m = st.media.get_or_insert_with(Default::default);
    if m.not_rtp && !forced {
        return;
    }
    let ssrc = p.ssrc().0;
    let pt = p.payload_type().0;
    let idx = match m
        .streams
        .iter()
        .position(|s| s.ssrc == ssrc && s.dir == pkt.dir)
    {
        Some(i) => i,
        None => {
            let (clock, _) = clock_of(ctx, media_call, pt);
            let Some(m) = st.media.as_deref_mut() else {
                return;
            };
            let stream = Stream {
                ssrc,
                dir: pkt.dir,
                payload_type: pt,
                stats: RtpStreamStats::default(),
                votes: PayloadVotes::new(),
                first_ts: pkt.ts,
                last_ts: pkt.ts,
                clock,
                clock_estimated: false,
                first_rtp_ts: p.timestamp(),
                last_seq: p.sequence_number(),
                run: 0,
                accepted: false,
                relayed: pkt.relayed,
                series: Default::default(),
                ext: Default::default(),
                playout: Default::default(),
                frames: Default::default(),
            };
            let candidates = m.streams.iter().filter(|s| !s.accepted).count();
            if candidates >= MAX_CANDIDATES && !forced && !m.is_settled() {
                // Replace the candidate heard from least recently.
                let oldest = m
                    .streams
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| !s.accepted)
                    .min_by_key(|(_, s)| s.last_ts)
                    .map(|(i, _)| i);
                match oldest {
                    Some(i) => {
                        m.streams[i] = stream;
                        i
                    }
                    None => return,
                }
            } else if m.streams.len() >= MAX_STREAMS {
                m.streams_dropped += 1;
                return;
            } else {
                m.streams.push(stream);
                m.streams.len() - 1
            }
        }
    };
    let Some(m) = st.media.as_deref_mut() else {
        return;
    };
    let settled = m.is_settled();
    let Some(s) = m.streams.get_mut(idx) else {
        return;
    };
    let seq = p.sequence_number();
    if s.stats.packets() > 0 {
        match seq.wrapping_sub(s.last_seq) {
            0 => {}
            1..=MAX_SEQ_STEP => s.run = s.run.saturating_add(1),
            _ => s.run = 0,
        }
        if seq.wrapping_sub(s.last_seq) != 0 {
            s.last_seq = seq;
        }
    }
    if s.run >= ACCEPT_RUN {
        s.accepted = true;
    }
    let arrival = pkt.ts.as_secs_f64();
    if s.clock.is_none() && s.stats.packets() >= 16 {
        s.clock = estimate_clock(s.first_rtp_ts, p.timestamp(), s.first_ts, pkt.ts);
        s.clock_estimated = s.clock.is_some();
    }
    s.stats.update_packet(&p, arrival, s.clock);
    let since_first = pkt.ts.saturating_sub(s.first_ts).as_secs_f64();
    // Quality tracking (README "Call quality", "Video frame rate"); the
    // feature only serves to measure its cost (benches/README.md).
    #[cfg(not(feature = "bench-without-quality"))]
    {
        s.playout
            .packet(seq, since_first, p.timestamp(), p.marker(), s.clock);
        // Frame rate is never reported on the static audio payload types
        // (RFC 3551 table 4: 0 and 3..=18): no frames kept for them.
        if !matches!(pt, 0 | 3..=18) {
            s.frames.packet(p.timestamp(), p.marker(), since_first);
        }
    }
    s.last_ts = pkt.ts;
    if s.stats.packets() <= EXT_PACKETS {
        if let Some(e) = p.extension() {
            s.ext.observe(&e);
        }
    }
    let totals = crate::series::Totals {
        packets: s.stats.packets(),
        expected: s.stats.expected(),
        late: s.playout.late(),
        frames: s.frames.frames,
        freezes: s.frames.freezes,
    };
    s.series.record(since_first, &totals, s.stats.jitter_ms());
    if s.stats.packets() <= VOTE_PACKETS {
        let codec_hint = codec_name(ctx, media_call, pt);
        s.votes.observe_packet(pt, codec_hint, seq, p.payload());
    } else if s.stats.packets() <= REPEAT_PACKETS && !s.votes.decided() {
        // Silence can start after the voting window: repeated payloads
        // are still followed (a hash of the last one, nothing stored).
        s.votes.track_repeat(seq, p.payload());
    }
    if !settled && !forced {
        m.unaccepted_packets = m.unaccepted_packets.saturating_add(1);
        if m.unaccepted_packets >= GIVE_UP_AFTER && !m.is_settled() {
            m.not_rtp = true;
            m.streams = Vec::new();
        }
    }
}

/// RTP is taken as RTP without the heuristic when signalling or WebRTC
/// context says so.
fn is_forced(st: &FlowState) -> bool {
    st.media_call.is_some()
        || st.protocols.contains(Proto::Stun)
        || st.protocols.contains(Proto::Dtls)
        || st.protocols.contains(Proto::TurnChannelData)
}

/// Codec name from the call's SDP, else the static payload-type table.
fn codec_name(ctx: &Ctx, media_call: Option<(u32, u16)>, pt: u8) -> Option<&'static str> {
    if let Some((c, m)) = media_call {
        if let Some((name, _)) = ctx
            .calls
            .get(c)
            .and_then(|call| call.media.get(m as usize))
            .and_then(|cm| cm.codec(pt))
        {
            return known_codec(name);
        }
    }
    rtp::static_payload_type(pt).map(|c| c.name)
}

/// Maps an rtpmap encoding name to the static names the payload classifier knows.
fn known_codec(name: &str) -> Option<&'static str> {
    const NAMES: [&str; 14] = [
        "PCMU",
        "PCMA",
        "G722",
        "CN",
        "telephone-event",
        "opus",
        "VP8",
        "VP9",
        "H264",
        "H265",
        "AV1",
        "G729",
        "iLBC",
        "speex",
    ];
    NAMES.iter().find(|n| n.eq_ignore_ascii_case(name)).copied()
}

/// Clock rate of a payload type: SDP rtpmap, else the static table.
pub fn clock_of(
    ctx: &Ctx,
    media_call: Option<(u32, u16)>,
    pt: u8,
) -> (Option<u32>, Option<String>) {
    if let Some((c, m)) = media_call {
        if let Some((name, clock)) = ctx
            .calls
            .get(c)
            .and_then(|call| call.media.get(m as usize))
            .and_then(|cm| cm.codec(pt))
        {
            return (Some(clock), Some(name.to_string()));
        }
    }
    match rtp::static_payload_type(pt) {
        Some(c) => (Some(c.clock_rate), Some(c.name.to_string())),
        None => (None, None),
    }
}

/// Guesses a dynamic payload type's clock from RTP time against capture time.
fn estimate_clock(ts0: u32, ts1: u32, t0: Nanos, t1: Nanos) -> Option<u32> {
    let dt = t1.saturating_sub(t0).as_secs_f64();
    if dt < 0.2 {
        return None;
    }
    let rate = f64::from(ts1.wrapping_sub(ts0)) / dt;
    [8_000u32, 16_000, 32_000, 48_000, 90_000]
        .into_iter()
        .find(|&c| (rate / f64::from(c) - 1.0).abs() < 0.25)
}

/// RFC 3550 section 6.4.1: round trip = A - LSR - DLSR, where A is when
/// the report block arrived; seen from the capture point, A - LSR is the
/// capture time of the report less that of the sender report it echoes.
/// DLSR is in units of 1/65536 s. `None` when negative (clocks or a
/// mismatched LSR).
pub fn round_trip_ms(sr_seen: Nanos, rr_seen: Nanos, dlsr: u32) -> Option<f64> {
    let ms = (rr_seen.as_secs_f64() - sr_seen.as_secs_f64()) * 1000.0
        - f64::from(dlsr) * 1000.0 / 65536.0;
    (ms >= 0.0).then_some(ms)
}

fn rtcp(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, payload: &[u8]) {
    let evidence = srtp::looks_like_srtcp(payload);
    let compound = RtcpCompound::new(payload);
    let mut any = false;
    let mut cnames: [Option<&[u8]>; 4] = [None; 4];
    let mut n_cnames = 0;
    let m = st.media.get_or_insert_with(Default::default);
    let mut packets = compound.packets();
    for p in &mut packets {
        any = true;
        match p.packet_type() {
            RtcpPacketType::SenderReport | RtcpPacketType::ReceiverReport => {
                if let Some(sr) = p.sender_report() {
                    // RFC 3550 section 6.4.1: LSR is the middle 32 bits of
                    // the SR's NTP timestamp.
                    let i = usize::from(m.sr_next) % m.sr_sent.len();
                    if let Some(slot) = m.sr_sent.get_mut(i) {
                        *slot = ((sr.ntp() >> 16) as u32, pkt.ts);
                    }
                    m.sr_next = m.sr_next.wrapping_add(1);
                }
                let blocks = p
                    .sender_report()
                    .map(|sr| sr.reports())
                    .or_else(|| p.receiver_report().map(|rr| rr.reports()));
                for b in blocks.into_iter().flatten() {
                    if b.lsr() != 0 {
                        let sent = m
                            .sr_sent
                            .iter()
                            .find(|(k, t)| *k == b.lsr() && *t != Nanos::default());
                        if let Some(r) = sent.and_then(|&(_, t)| round_trip_ms(t, pkt.ts, b.dlsr()))
                        {
                            m.rtt_ms = Some(r);
                        }
                    }
                    let rep = RtcpReport {
                        ssrc: b.ssrc().0,
                        fraction_lost: b.fraction_lost(),
                        cumulative_lost: b.cumulative_lost(),
                        jitter: b.jitter(),
                    };
                    if let Some(r) = m.rtcp_reports.iter_mut().find(|r| r.ssrc == rep.ssrc) {
                        *r = rep;
                    } else if m.rtcp_reports.len() < MAX_RTCP_REPORTS {
                        m.rtcp_reports.push(rep);
                    }
                }
            }
            // SRTCP encrypts all but the first 8 bytes (RFC 3711 section 3.4).
            RtcpPacketType::ExtendedReport if !matches!(evidence, SrtcpEvidence::Srtcp { .. }) => {
                let blocks = p.extended_report().map(|xr| xr.blocks());
                for vm in blocks
                    .into_iter()
                    .flatten()
                    .filter_map(|b| b.voip_metrics().ok())
                {
                    let ssrc = vm.ssrc().0;
                    let blocks = match m.xr_voip.iter().position(|x| x.ssrc == ssrc) {
                        Some(i) => m.xr_voip.swap_remove(i).blocks,
                        None if m.xr_voip.len() < MAX_RTCP_REPORTS => 0,
                        None => continue,
                    };
                    m.xr_voip.push(XrVoip {
                        ssrc,
                        blocks: blocks.saturating_add(1),
                        loss_rate: vm.loss_rate(),
                        discard_rate: vm.discard_rate(),
                        burst_density: vm.burst_density(),
                        gap_density: vm.gap_density(),
                        round_trip_delay: vm.round_trip_delay(),
                        end_system_delay: vm.end_system_delay(),
                        r_factor: vm.r_factor(),
                        ext_r_factor: vm.ext_r_factor(),
                        mos_lq: vm.mos_lq(),
                        mos_cq: vm.mos_cq(),
                        jb_nominal: vm.jb_nominal(),
                        jb_maximum: vm.jb_maximum(),
                    });
                }
            }
            RtcpPacketType::SourceDescription => {
                if let Some(sdes) = p.sdes() {
                    for chunk in sdes.chunks() {
                        for item in chunk.items() {
                            let t = u8::from(item.kind);
                            if (2..=8).contains(&t) {
                                m.sdes_clear |= 1 << t;
                            }
                        }
                        if let (Some(c), true) = (chunk.cname(), n_cnames < cnames.len()) {
                            cnames[n_cnames] = Some(c);
                            n_cnames += 1;
                        }
                    }
                }
            }
            _ => {}
        }
        // Only the first packet of an SRTCP compound is in clear.
        if matches!(evidence, SrtcpEvidence::Srtcp { .. }) {
            break;
        }
    }
    if !any {
        return;
    }
    match evidence {
        SrtcpEvidence::Srtcp { trailer, .. } if trailer.encrypted => {
            m.srtcp += 1;
            st.protocols.insert(Proto::Srtcp);
        }
        _ => {
            m.rtcp_plain += 1;
            st.protocols.insert(Proto::Rtcp);
        }
    }
    for c in cnames.into_iter().flatten() {
        if let Ok(s) = std::str::from_utf8(c) {
            for ip in vcscope_dissectors::sip::ip_literals(s) {
                ctx.leaks
                    .check(ip, "rtcp-sdes-cname", pkt.flow_id, pkt.dst.ip, pkt.ts);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_the_report_time_less_the_sr_time_and_dlsr() {
        // SR seen at 10.000 s, its echo at 10.250 s after a DLSR of
        // 0.2 s (13107.2 units of 1/65536 s): 50 ms of round trip.
        let sr = Nanos(10_000_000_000);
        let rr = Nanos(10_250_000_000);
        let r = round_trip_ms(sr, rr, 13_107).unwrap();
        assert!((r - (250.0 - 13_107.0 * 1000.0 / 65_536.0)).abs() < 1e-9);
        assert!((r - 50.0).abs() < 0.01);
        // A DLSR longer than the gap is not a round trip.
        assert_eq!(round_trip_ms(sr, rr, 65_536), None);
    }
}

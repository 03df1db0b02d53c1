//! The dissector pipeline: one ordered match per packet that calls the
//! parsers of `vcscope_dissectors` and records evidence on the flow.
//!
//! A flow carries one evidence slot per protocol (a WebRTC 5-tuple carries
//! STUN, DTLS and SRTP at once). Dissection is budgeted: a flow on which no
//! protocol was recognised within [`PROBE_BUDGET`] payload packets is not
//! probed again.
//!
//! UDP: SIP is probed first (its first byte, an upper-case letter, overlaps
//! the ChannelData and QUIC ranges), then the RFC 7983 first-byte class picks
//! one parser. TCP: the first payload of a connection chooses a stream mode
//! (SIP, STUN/TURN framing, TLS), and only those streams are buffered.

use std::net::IpAddr;

use vcscope_dissectors as wire;
use vcscope_dissectors::demux::PacketClass;
use vcscope_dissectors::stun::StunMessage;
use vcscope_dissectors::turn::ChannelData;
use vcscope_dissectors::Probe;

use crate::apps::AppEvidence;
use crate::evidence::{FlowState, Proto};
use crate::flow::Flow;
use crate::net::Direction;
use crate::net::Transport;
use crate::packet::Packet;
use crate::time::Nanos;

pub(crate) mod ctx;
mod dns;
pub mod media;
mod probe;
pub mod secure;
mod sip;
mod stun;
mod tcp;
mod zoom;

pub use ctx::{Ctx, Limits, Pkt};
use probe::*;
pub use sip::is_sip_datagram;
use sip::*;
use stun::*;
use tcp::*;
use zoom::*;

/// Dissects one packet of `flow`, sent in direction `dir`.
#[inline]
pub fn dissect(ctx: &mut Ctx, flow: &mut Flow, dir: Direction, p: &Packet<'_>, now: Nanos) {
    let (src, dst) = p.endpoints();
    let pkt = Pkt {
        src,
        dst,
        dir,
        ts: now,
        transport: p.transport,
        flow_id: flow.id,
        relayed: false,
    };
    if flow.total_packets() == 1 {
        name_flow(ctx, flow, &pkt);
    }
    if p.payload.is_empty() && p.transport == Transport::Udp {
        return;
    }
    match p.transport {
        Transport::Udp => udp(ctx, &mut flow.state, &pkt, p.payload),
        Transport::Tcp => {
            if !p.payload.is_empty() {
                tcp(ctx, &mut flow.state, &pkt, p.tcp.seq, p.payload)
            }
            if p.tcp.fin {
                let end = p.tcp.seq.wrapping_add(p.payload.len() as u32);
                tcp_closed(ctx, &mut flow.state, &pkt, end);
            }
        }
    }
}

/// A new flow to (or from) an address the capture resolved carries the
/// name it was resolved from: the destination of its first packet first.
/// DNS flows keep the name they asked about.
fn name_flow(ctx: &Ctx, flow: &mut Flow, pkt: &Pkt) {
    if flow.total_packets() != 1 || is_dns_port(pkt) {
        return;
    }
    let name = ctx
        .names
        .get(pkt.dst.ip)
        .or_else(|| ctx.names.get(pkt.src.ip));
    flow.state.dns_name = name.cloned();
}

/// A DNS response another analyser owns the flow of (`crate::shard`, the
/// traffic split by client): only the names it gives addresses are learnt,
/// so that every analyser names flows to those addresses as one would.
pub fn learn_dns_names(ctx: &mut Ctx, payload: &[u8]) {
    let mut st = FlowState::default();
    dns::dns_message(ctx, &mut st, payload);
}

/// A DNS response datagram (UDP port 53, QR set): every analysis thread
/// reads these (`crate::shard`), so that each learns the same names.
#[inline]
pub fn is_dns_response_datagram(src_port: u16, dst_port: u16, payload: &[u8]) -> bool {
    (src_port == 53 || dst_port == 53)
        && looks_like_dns(payload, Transport::Udp)
        && payload.get(2).is_some_and(|b| b & 0x80 != 0)
}

fn udp(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, payload: &[u8]) {
    // Media flows announced by SDP: attach on first sight.
    // Looked up again only when SDP announced endpoints since the last miss.
    if st.media_call.is_none() && st.media_epoch != ctx.calls.media_epoch() {
        let hit = ctx
            .calls
            .media_for(&pkt.dst)
            .or_else(|| ctx.calls.media_for(&pkt.src));
        match hit {
            Some((call, m)) => {
                st.media_call = Some((call, m));
                ctx.calls.attach(call, m, pkt.flow_id);
            }
            None => st.media_epoch = ctx.calls.media_epoch(),
        }
    }
    // Settled media flows skip the probes. On an ICE or TURN flow (STUN
    // seen), none of the probes below takes an RTP-class datagram but
    // Zoom's encapsulation (on its ports, or once the flow is Zoom's) and
    // DNS (on its ports): other RTP goes straight to the streams there too.
    if let Some(m) = st.media.as_deref() {
        if m.is_settled()
            && PacketClass::of(payload) == PacketClass::Rtp
            && (!st.protocols.contains(Proto::Stun)
                || !(is_dns_port(pkt) || zoom::may_encapsulate(st, pkt)))
        {
            media::rtp_or_rtcp(ctx, st, pkt, payload);
            return;
        }
    }
    // SIP is recognised from the datagram alone, before any state of the
    // flow is consulted: worker threads that follow only the signalling of
    // flows they do not own (`crate::shard`) pick exactly these datagrams.
    if is_sip_datagram(payload) {
        sip_message(ctx, st, pkt, payload);
        return;
    }
    if zoom_media(ctx, st, pkt, payload) {
        return;
    }
    if out_of_budget(st) {
        // RTP can start late on a flow (after proprietary packets); its
        // candidates have their own bound.
        if PacketClass::of(payload) == PacketClass::Rtp
            && st.media.as_deref().is_none_or(|m| m.wants_rtp())
        {
            media::rtp_or_rtcp(ctx, st, pkt, payload);
        }
        return;
    }
    if is_dns_port(pkt) && looks_like_dns(payload, Transport::Udp) {
        if pkt.src.port == 53 || pkt.dst.port == 53 {
            dns::dns_message(ctx, st, payload);
        } else {
            // mDNS (RFC 6762): local names, not followed.
            st.protocols.insert(Proto::Dns);
        }
        return;
    }
    if st.app.is_none() && st.protocols.is_empty() && is_imo_datagram(payload) {
        st.set_app("imo", AppEvidence::ImoDatagram);
        return;
    }
    if st.app.is_none() && st.protocols.is_empty() && is_agora_sd_rtn(payload) {
        st.set_app("agora", AppEvidence::AgoraSdRtn);
        return;
    }
    if st.app.is_none() && st.protocols.is_empty() {
        match st.mumble_ping {
            Some((dir, ident)) if dir != pkt.dir && is_mumble_ping_answer(payload, &ident) => {
                st.set_app("mumble", AppEvidence::MumblePing);
                st.mumble_ping = None;
                return;
            }
            None => {
                if let Some(ident) = mumble_ping_request(payload) {
                    st.mumble_ping = Some((pkt.dir, ident));
                    return;
                }
            }
            Some(_) => {}
        }
    }
    match PacketClass::of(payload) {
        PacketClass::Stun => {
            if wire::stun::probe(payload) == Probe::Match {
                if let Ok(msg) = StunMessage::new_checked(payload) {
                    on_stun(ctx, st, pkt, &msg);
                    return;
                }
            }
            if let Some(d) = wire::stun::discord_ip_discovery(payload) {
                st.set_app("discord", AppEvidence::DiscordIpDiscovery);
                if d.is_response {
                    if let Ok(s) = std::str::from_utf8(d.address) {
                        if let Ok(ip) = s.trim_end_matches('\0').parse::<IpAddr>() {
                            ctx.leaks.check(
                                ip,
                                "discord-ip-discovery",
                                pkt.flow_id,
                                pkt.dst.ip,
                                pkt.ts,
                            );
                        }
                    }
                }
                return;
            }
            other_udp(ctx, st, pkt, payload);
        }
        PacketClass::ChannelData | PacketClass::Quic
            if st.protocols.contains(Proto::Stun) || is_turn_port(pkt) =>
        {
            if let Ok(cd) = ChannelData::new_checked(payload) {
                on_channel_data(ctx, st, pkt, &cd);
            } else {
                media::other_class(ctx, st, pkt, payload);
            }
        }
        PacketClass::Rtp
        | PacketClass::Dtls
        | PacketClass::Zrtp
        | PacketClass::Quic
        | PacketClass::ChannelData => media::other_class(ctx, st, pkt, payload),
        PacketClass::Other => other_udp(ctx, st, pkt, payload),
    }
}

fn other_udp(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, payload: &[u8]) {
    crate::dissect::secure::quic(ctx, st, pkt, payload);
}

// ---------------------------------------------------------------- SIP ----

// ------------------------------------------------------------ STUN/TURN --

// ---------------------------------------------------------------- TCP ----

#[cfg(test)]
mod tests {
    use super::*;

    /// ndpi__imo.pcap frame 28 (192.168.12.169:49207 to 93.33.47.58:57604)
    /// and frame 3 (185.155.137.30:36535 to 192.168.12.169:49207).
    #[test]
    fn parses_imo_datagrams() {
        let ping = [0x09, 0x02, 0xdc, 0x9a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00];
        let server = [
            0x00, 0x09, 0x03, 0x21, 0x9a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        assert!(is_imo_datagram(&ping));
        assert!(is_imo_datagram(&server));
        let mut big = vec![0u8; 1099];
        big[..4].copy_from_slice(&[0x88, 0x49, 0x1a, 0x00]);
        assert!(is_imo_datagram(&big));
    }

    /// The ping of Mumble's protocol: a 12-byte request (zero type, ident),
    /// a 24-byte answer (version 1.4.0, the ident, 3 of 100 users, 558000
    /// bits/s), built from the documented layout.
    #[test]
    fn parses_mumble_pings() {
        let ident = [1, 2, 3, 4, 5, 6, 7, 8];
        let mut req = vec![0, 0, 0, 0];
        req.extend_from_slice(&ident);
        assert_eq!(mumble_ping_request(&req), Some(ident));
        let mut answer = vec![0, 1, 4, 0];
        answer.extend_from_slice(&ident);
        answer.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 100, 0, 8, 0x83, 0xb0]);
        assert!(is_mumble_ping_answer(&answer, &ident));
        assert!(!is_mumble_ping_answer(&answer, &[0; 8]));
        assert!(!is_mumble_ping_answer(&answer[..23], &ident));
        assert_eq!(mumble_ping_request(&answer), None);
        assert_eq!(mumble_ping_request(&req[..11]), None);
        req[0] = 1;
        assert_eq!(mumble_ping_request(&req), None);
    }

    /// ndpi__agora-sd-rtn.pcap frame 1 (192.168.2.100 to 23.248.186.179:8130).
    #[test]
    fn parses_agora_sd_rtn_hello() {
        let mut hello = vec![
            0x00, 0x5a, 0x38, 0x4c, 0x00, 0x00, 0x21, 0, 0, 0, 0, 0, 0x04, b'S', b'N', b'I', 0x00,
            0x1c, 0x00,
        ];
        hello.extend_from_slice(b"23-248-186-179.edge.agora.io");
        hello.extend_from_slice(&[
            0x50, 0x44, 0x4d, 0x44, 0, 0, 0x43, 0x50, 0x54, 0x4f, 0x81, 0,
        ]);
        assert!(is_agora_sd_rtn(&hello));
        assert!(!is_agora_sd_rtn(&hello[..40]));
        let mut other = hello.clone();
        other[6] = 0x20;
        assert!(!is_agora_sd_rtn(&other));
        assert!(!is_agora_sd_rtn(&[0; 19]));
    }

    #[test]
    fn rejects_other_datagrams_as_imo() {
        // The echo alone, other lengths, one-byte keepalives.
        assert!(!is_imo_datagram(&[
            0x09, 0x03, 0xdc, 0x9a, 0x02, 0, 0, 0, 0, 0
        ]));
        assert!(!is_imo_datagram(&[
            0x09, 0x02, 0xdc, 0x9a, 0x02, 0, 0, 0, 0
        ]));
        assert!(!is_imo_datagram(&[
            0x00, 0x09, 0x03, 0x21, 0x9a, 0x02, 0, 0, 0, 0, 0, 0
        ]));
        assert!(!is_imo_datagram(&[0x07]));
        assert!(!is_imo_datagram(&[0x88, 0x49, 0x1a, 0x00, 0x00]));
        assert!(!is_imo_datagram(&[]));
    }
}

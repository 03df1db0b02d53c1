//! Cheap recognisers the UDP and TCP dispatch share: the probe budget of
//! unrecognised flows, DNS, imo's datagrams and the STUN/TURN ports.

use crate::dissect::ctx::Pkt;
use crate::evidence::FlowState;
use crate::net::Transport;

/// Payload packets probed on a flow before giving up on recognising it.
pub const PROBE_BUDGET: u8 = 12;

/// True when probing should stop: nothing recognised within the budget.
#[inline]
pub(crate) fn out_of_budget(st: &mut FlowState) -> bool {
    if !st.protocols.is_empty() || st.media_call.is_some() {
        return false;
    }
    // RTP candidates have their own bound (media::GIVE_UP_AFTER).
    if st
        .media
        .as_deref()
        .is_some_and(|m| m.wants_rtp() && !m.streams.is_empty())
    {
        return false;
    }
    if !st.budget_started {
        st.budget_started = true;
        st.budget = PROBE_BUDGET;
    }
    if st.budget == 0 {
        return true;
    }
    st.budget -= 1;
    false
}

/// STUN/TURN servers' well-known ports (RFC 8489 section 18.6: 3478, 5349).
pub(crate) fn is_turn_port(pkt: &Pkt) -> bool {
    [pkt.src.port, pkt.dst.port]
        .iter()
        .any(|p| matches!(p, 3478 | 5349))
}

/// DNS and mDNS ports (RFC 1035, RFC 6762).
pub(crate) fn is_dns_port(pkt: &Pkt) -> bool {
    [pkt.src.port, pkt.dst.port]
        .iter()
        .any(|p| matches!(p, 53 | 5353))
}

/// DNS header sanity (RFC 1035 section 4.1.1): opcode 0..=6, at most a few
/// questions, counts that fit the message.
pub(crate) fn looks_like_dns(payload: &[u8], transport: Transport) -> bool {
    let msg = match transport {
        Transport::Udp => payload,
        Transport::Tcp => payload.get(2..).unwrap_or_default(),
    };
    let Some(h) = msg.get(..12) else {
        return false;
    };
    let opcode = (h[2] >> 3) & 0x0f;
    let qd = u16::from_be_bytes([h[4], h[5]]);
    opcode <= 6 && qd <= 4
}

/// Mumble's UDP ping (the ping Mumble clients send a server, as nDPI
/// recognises it: `src/lib/protocols/mumble.c`, 2024, read 2026-12-04): the
/// client sends 12 bytes, a zero 4-byte request type and an 8-byte ident;
/// the server answers 24 bytes with the same ident at bytes 4-11 (Mumble's
/// answer also carries its version, users, maximum users and bandwidth).
/// The ident of a request, if `p` is one.
pub(crate) fn mumble_ping_request(p: &[u8]) -> Option<[u8; 8]> {
    match p {
        [0, 0, 0, 0, ident @ ..] if ident.len() == 8 => ident.try_into().ok(),
        _ => None,
    }
}

/// True when `p` is a Mumble server's answer to the ping with `ident`.
pub(crate) fn is_mumble_ping_answer(p: &[u8], ident: &[u8; 8]) -> bool {
    p.len() == 24 && p.get(4..12) == Some(&ident[..])
}

/// Agora's SD-RTN hello (nDPI `src/lib/protocols/sd_rtn.c`, read
/// 2026-12-04): at least 20 bytes, byte 6 is 0x21, bytes 12-15 are
/// "\x04SNI", then a 2-byte length, a zero byte and that many bytes of the
/// edge server's name (e.g. "23-248-186-179.edge.agora.io").
pub(crate) fn is_agora_sd_rtn(p: &[u8]) -> bool {
    if p.len() < 20 || p[6] != 0x21 || &p[12..16] != b"\x04SNI" || p[18] != 0 {
        return false;
    }
    let len = usize::from(u16::from_be_bytes([p[16], p[17]]));
    len + 19 <= p.len()
}

/// The UDP datagrams by which nDPI recognises imo.im calls
/// (`src/lib/protocols/imo.c`, unchanged since 2019): 10 bytes starting
/// 0x09 0x02, 11 bytes starting 0x00 0x09 0x03, or 1099 bytes starting
/// 0x88 0x49 0x1a 0x00. In ndpi__imo.pcap the 10-byte ones are a ping that
/// the peer echoes with 0x09 0x03 and the same 8 bytes. nDPI's fourth rule,
/// two consecutive one-byte datagrams with the same byte, is left out: any
/// keepalive looks like that. Tried only on UDP flows where nothing else was
/// recognised, within the probe budget (nDPI gives up after 10 packets).
pub(crate) fn is_imo_datagram(p: &[u8]) -> bool {
    matches!(
        p,
        [0x09, 0x02, _, _, _, _, _, _, _, _] | [0x00, 0x09, 0x03, _, _, _, _, _, _, _, _]
    ) || (p.len() == 1099 && p.starts_with(&[0x88, 0x49, 0x1a, 0x00]))
}

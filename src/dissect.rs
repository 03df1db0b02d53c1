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

use vcscope_dissectors::demux::PacketClass;
use vcscope_dissectors::sip::{self, HeaderName, SipMessage, StreamFrame};
use vcscope_dissectors::stun::{self, AttributeType, Class, StunMessage, StunVendor};
use vcscope_dissectors::turn::{self, ChannelData, FrameKind, StreamFraming, TurnFacts};
use vcscope_dissectors::websocket::{Opcode as WsOpcode, WsFrame};
use vcscope_dissectors::zoom::{self, ZoomPacket};
use vcscope_dissectors::Probe;

use crate::call::{CallTable, SipPacket};
use crate::flow::Flow;
use crate::net::{Direction, Endpoint};
use crate::leak::LeakTable;
use crate::media;
use crate::evidence::{FlowState, Proto, TcpMode};
use crate::packet::Packet;
use crate::net::Transport;
use crate::relay::{RelayKind, RelayTable};
use crate::scope::{scope_of, Scope};
use crate::stream::Push;
use crate::time::Nanos;
use crate::warn::Warnings;

/// Limits of per-flow and per-analysis dissection state.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes buffered per TCP direction to reassemble a SIP message, a STUN
    /// message, a TLS hello or a TLS 1.2 server's flight up to its
    /// Certificate.
    pub stream_buffer: usize,
    /// Calls tracked.
    pub max_calls: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            stream_buffer: 65_536,
            max_calls: 65_536,
        }
    }
}

/// Payload packets probed on a flow before giving up on recognising it.
pub const PROBE_BUDGET: u8 = 12;
/// TURN channel numbers remembered per flow.
const MAX_CHANNELS: usize = 16;

/// Analysis-wide state the dissectors write to.
pub struct Ctx {
    pub limits: Limits,
    pub warnings: Warnings,
    pub calls: CallTable,
    pub relays: RelayTable,
    pub leaks: LeakTable,
    /// Flow indices that ended, for streaming output.
    pub ended: Vec<u32>,
    pub dropped: u64,
    pub stream_bytes_dropped: u64,
}

impl Ctx {
    pub fn new(limits: Limits) -> Self {
        Ctx {
            limits,
            warnings: Warnings::default(),
            calls: CallTable::new(limits.max_calls),
            relays: RelayTable::default(),
            leaks: LeakTable::default(),
            ended: Vec::new(),
            dropped: 0,
            stream_bytes_dropped: 0,
        }
    }
}

impl Ctx {
    /// The frame being analysed, for ordering what the tables record.
    #[inline]
    pub fn set_frame(&mut self, frame: u64) {
        self.warnings.frame = frame;
        self.leaks.frame = frame;
        self.relays.frame = frame;
        self.calls.frame = frame;
    }

    /// Record nothing but SIP's effect on calls (a worker thread following
    /// the signalling of a flow another one owns): no warning, leak, relay
    /// or media attachment.
    #[inline]
    pub fn mute(&mut self, on: bool) {
        self.warnings.muted = on;
        self.leaks.muted = on;
        self.relays.muted = on;
        self.calls.muted = on;
    }
}

/// The packet being dissected, flattened.
#[derive(Debug, Clone, Copy)]
pub struct Pkt {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub dir: Direction,
    pub ts: Nanos,
    pub transport: Transport,
    pub flow_id: u32,
    /// Inside a TURN relay (ChannelData or Send/Data indication).
    pub relayed: bool,
}

/// Dissects one packet of `flow`, sent in direction `dir`.
#[inline]
pub fn dissect(ctx: &mut Ctx, flow: &mut Flow, dir: Direction, p: &Packet<'_>, now: Nanos) {
    if p.payload.is_empty() && p.transport == Transport::Udp {
        return;
    }
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
    match p.transport {
        Transport::Udp => udp(ctx, &mut flow.state, &pkt, p.payload),
        Transport::Tcp => {
            if !p.payload.is_empty() {
                tcp(ctx, &mut flow.state, &pkt, p.tcp.seq, p.payload)
            }
        }
    }
}

/// True when probing should stop: nothing recognised within the budget.
#[inline]
fn out_of_budget(st: &mut FlowState) -> bool {
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

fn udp(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, payload: &[u8]) {
    // Media flows announced by SDP: attach on first sight.
    if st.media_call.is_none() && ctx.calls.has_media() {
        let hit = ctx
            .calls
            .media_for(&pkt.dst)
            .or_else(|| ctx.calls.media_for(&pkt.src));
        if let Some((call, m)) = hit {
            st.media_call = Some((call, m));
            ctx.calls.attach(call, m, pkt.flow_id);
        }
    }
    // Settled media flows skip the probes.
    if let Some(m) = st.media.as_deref() {
        if m.is_settled()
            && !st.protocols.contains(Proto::Stun)
            && PacketClass::of(payload) == PacketClass::Rtp
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
        st.protocols.insert(Proto::Dns);
        return;
    }
    if st.app.is_none() && st.protocols.is_empty() && is_imo_datagram(payload) {
        st.set_app("imo", "imo-datagram");
        return;
    }
    match PacketClass::of(payload) {
        PacketClass::Stun => {
            if stun::probe(payload) == Probe::Match {
                if let Ok(msg) = StunMessage::new_checked(payload) {
                    on_stun(ctx, st, pkt, &msg);
                    return;
                }
            }
            if let Some(d) = stun::discord_ip_discovery(payload) {
                st.set_app("discord", "discord-ip-discovery");
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

/// A UDP datagram that starts like a SIP request or response. Its first
/// byte (an upper-case letter) keeps it apart from RTP, STUN and DTLS; a
/// ChannelData header that spelled a SIP method would declare more bytes
/// than a datagram holds.
#[inline]
pub fn is_sip_datagram(payload: &[u8]) -> bool {
    payload.first().is_some_and(u8::is_ascii_uppercase) && sip::probe(payload) == Probe::Match
}

/// STUN/TURN servers' well-known ports (RFC 8489 section 18.6: 3478, 5349).
fn is_turn_port(pkt: &Pkt) -> bool {
    [pkt.src.port, pkt.dst.port]
        .iter()
        .any(|p| matches!(p, 3478 | 5349))
}

/// DNS and mDNS ports (RFC 1035, RFC 6762).
fn is_dns_port(pkt: &Pkt) -> bool {
    [pkt.src.port, pkt.dst.port]
        .iter()
        .any(|p| matches!(p, 53 | 5353))
}

/// Zoom's media encapsulation ([`zoom`]): on UDP 8801-8810 (Zoom's
/// Multimedia Routers, per Zoom's published port list), and peer to peer on
/// any port when the datagram starts with a media type Zoom uses there and
/// RTP or RTCP sits at that type's offset. A peer-to-peer flow is named Zoom's
/// after [`ZOOM_P2P_PACKETS`] such datagrams. The RTP or RTCP inside goes to
/// the media dissector like bare RTP would.
fn zoom_media(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, payload: &[u8]) -> bool {
    let on_port =
        zoom::SFU_PORTS.contains(&pkt.src.port) || zoom::SFU_PORTS.contains(&pkt.dst.port);
    if !on_port {
        let Some(&first) = payload.first() else {
            return false;
        };
        // gQUIC's public flags can look like a media type: never on 443.
        if !zoom::is_p2p_media_type(first)
            || pkt.src.port == 443
            || pkt.dst.port == 443
            || payload.get(4..8) == Some(b"ZRTP")
            || (st.app != Some("zoom") && !st.protocols.is_empty())
        {
            return false;
        }
    }
    let Ok(z) = ZoomPacket::new_checked(payload) else {
        return false;
    };
    if on_port {
        st.set_app("zoom", "zoom-media-encapsulation");
    } else if st.app != Some("zoom") {
        st.zoom_p2p = st.zoom_p2p.saturating_add(1);
        if st.zoom_p2p >= ZOOM_P2P_PACKETS {
            st.set_app("zoom", "zoom-p2p-media-encapsulation");
        }
    }
    let inner = z.inner();
    if !inner.is_empty() {
        media::rtp_or_rtcp(ctx, st, pkt, inner);
    }
    true
}

/// Zoom-encapsulated datagrams that name a peer-to-peer flow Zoom's.
const ZOOM_P2P_PACKETS: u8 = 3;

fn other_udp(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, payload: &[u8]) {
    crate::secure::quic(ctx, st, pkt, payload);
}

// ---------------------------------------------------------------- SIP ----

fn sip_transport(pkt: &Pkt) -> &'static str {
    match pkt.transport {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
    }
}

/// Parses one SIP message. Header bytes that are not UTF-8 (seen in the wild
/// in tags and display names) make the strict parser refuse the message;
/// such a message is parsed again from a copy where each invalid byte is
/// replaced by '?', same length, and counted.
fn sip_message(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, bytes: &[u8]) {
    match SipMessage::parse(bytes) {
        Ok(msg) => on_sip(ctx, st, pkt, &msg),
        Err(e) => {
            if std::str::from_utf8(bytes).is_err() {
                let clean = replace_invalid_utf8(bytes);
                if let Ok(msg) = SipMessage::parse(&clean) {
                    ctx.warnings.add_on_flow("sip-non-utf8", pkt.flow_id, || {
                        "SIP header bytes that are not UTF-8 were read as '?'".into()
                    });
                    on_sip(ctx, st, pkt, &msg);
                    return;
                }
            }
            ctx.warnings
                .add_on_flow("sip-malformed", pkt.flow_id, || e.to_string());
        }
    }
}

/// A copy of `bytes` with every byte of an invalid UTF-8 sequence set to '?'.
fn replace_invalid_utf8(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut pos = 0;
    while let Some(rest) = out.get(pos..) {
        match std::str::from_utf8(rest) {
            Ok(_) => break,
            Err(e) => {
                let start = pos + e.valid_up_to();
                let len = e.error_len().unwrap_or(out.len() - start).max(1);
                for b in out.iter_mut().skip(start).take(len) {
                    *b = b'?';
                }
                pos = start + len;
            }
        }
    }
    out
}

fn on_sip(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, msg: &SipMessage<'_>) {
    st.protocols.insert(Proto::Sip);
    let sp = SipPacket {
        flow_id: pkt.flow_id,
        src: pkt.src,
        dst: pkt.dst,
        ts: pkt.ts,
        transport: if st
            .tcp
            .as_deref()
            .is_some_and(|t| t.mode == TcpMode::WebSocket)
        {
            "ws"
        } else {
            sip_transport(pkt)
        },
    };
    let (call, facts) = ctx.calls.on_message(msg, sp);
    if st.sig_call.is_none() {
        st.sig_call = call;
    }
    if !facts.addresses.is_empty() || msg.content_type().is_some_and(|c| c.contains("sdp")) {
        st.protocols.insert(Proto::Sdp);
    }
    ctx.warnings.add_n_on_flow(
        "sdp-malformed-line",
        u64::from(facts.malformed_lines),
        pkt.flow_id,
        || "an SDP line does not parse".into(),
    );
    if msg.is_truncated() {
        ctx.warnings.add_on_flow("sip-truncated", pkt.flow_id, || {
            "SIP body shorter than Content-Length".into()
        });
    }
    if scope_of(pkt.dst.ip) != Scope::Public {
        return;
    }
    for (ip, where_) in facts.addresses {
        ctx.leaks.check(ip, where_, pkt.flow_id, pkt.dst.ip, pkt.ts);
    }
    for h in msg.headers() {
        let where_ = match h.name {
            HeaderName::Via => "sip-via",
            HeaderName::Contact => "sip-contact",
            // Product tokens hold version numbers, not addresses.
            HeaderName::UserAgent | HeaderName::Server => continue,
            _ => "sip-header",
        };
        for ip in sip::ip_literals(h.value) {
            ctx.leaks.check(ip, where_, pkt.flow_id, pkt.dst.ip, pkt.ts);
        }
    }
}

// ------------------------------------------------------------ STUN/TURN --

fn address_where(t: AttributeType) -> &'static str {
    match t {
        AttributeType::XorMappedAddress => "stun-xor-mapped-address",
        AttributeType::MappedAddress => "stun-mapped-address",
        AttributeType::XorPeerAddress => "turn-xor-peer-address",
        AttributeType::XorRelayedAddress => "turn-xor-relayed-address",
        AttributeType::AlternateServer => "stun-alternate-server",
        AttributeType::ResponseOrigin => "stun-response-origin",
        AttributeType::OtherAddress => "stun-other-address",
        _ => "stun-address-attribute",
    }
}

fn vendor_app(v: StunVendor) -> Option<&'static str> {
    Some(match v {
        StunVendor::Microsoft => "teams",
        StunVendor::Google => "meet",
        StunVendor::WhatsApp => "whatsapp",
        StunVendor::Facebook => "messenger",
        StunVendor::Zoom => "zoom",
        StunVendor::Signal => "signal",
        StunVendor::Telegram => "telegram",
        _ => return None,
    })
}

fn on_stun(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, msg: &StunMessage<'_>) {
    st.protocols.insert(Proto::Stun);
    if let Some(e) = msg.attributes_error() {
        ctx.warnings
            .add_on_flow("stun-malformed-attribute", pkt.flow_id, || e.to_string());
    }
    let facts = TurnFacts::of(msg);
    let s = st.stun.get_or_insert_with(Default::default);
    s.messages += 1;
    if msg.is_classic() {
        s.classic += 1;
    }
    if s.vendor.is_none() {
        s.vendor = stun::vendor_hint(msg);
        if let Some(app) = s.vendor.and_then(vendor_app) {
            st.app.get_or_insert(app);
            st.app_evidence.get_or_insert("stun-vendor-attributes");
        }
    }
    // An ICE check whose USERNAME carries a ufrag from a call's SDP ties this
    // flow to that call's media.
    if st.media_call.is_none() {
        if let Some(hit) = msg
            .username()
            .and_then(|u| ctx.calls.media_for_ice_username(u))
        {
            st.media_call = Some(hit);
            ctx.calls.attach(hit.0, hit.1, pkt.flow_id);
        }
    }
    let Some(s) = st.stun.as_deref_mut() else {
        return;
    };
    let is_request = matches!(facts.class, Class::Request);
    let has_mi = msg.has_message_integrity();
    let has_username = msg.username().is_some();
    let ice_check = facts.method == stun::Method::Binding
        && is_request
        && has_username
        && (msg.has_attribute(AttributeType::Priority)
            || msg.has_attribute(AttributeType::IceControlling)
            || msg.has_attribute(AttributeType::IceControlled));
    if ice_check {
        s.ice_checks += 1;
        if msg.has_attribute(AttributeType::UseCandidate) {
            s.nominated = true;
        }
    }
    if is_request && facts.method == stun::Method::Binding {
        s.binding_requests[pkt.dir.index()] += 1;
    }
    // Binding requests both ways: the two ends check each other (ICE-like,
    // even without USERNAME): neither is a STUN server.
    let peer_to_peer = s.binding_requests[0] > 0 && s.binding_requests[1] > 0 && !s.is_turn;
    if peer_to_peer && s.to_server.is_some() {
        s.to_server = None;
        ctx.relays
            .forget_stun_flow(pkt.src, pkt.dst, pkt.transport, pkt.flow_id);
    }
    if is_request {
        if has_mi {
            s.authenticated += 1;
        } else if has_username || (facts.is_turn() && facts.method != stun::Method::Allocate) {
            s.unauthenticated += 1;
        }
    }
    let turn = facts.is_turn();
    if turn {
        st.protocols.insert(Proto::Turn);
        s.is_turn = true;
    }
    // Which side is the server: requests and Send indications go to it,
    // responses and Data indications come from it. ICE checks are between peers.
    let towards_server = match facts.class {
        Class::Request => !ice_check && !peer_to_peer && (turn || !has_username),
        Class::Indication => facts.method == stun::Method::Send,
        Class::SuccessResponse | Class::ErrorResponse => false,
    };
    let from_server = matches!(facts.class, Class::SuccessResponse | Class::ErrorResponse)
        && !peer_to_peer
        && (turn || s.to_server == Some(pkt.dir.flip()))
        || (facts.class == Class::Indication && facts.method == stun::Method::Data);
    if towards_server {
        s.to_server.get_or_insert(pkt.dir);
    } else if from_server {
        s.to_server.get_or_insert(pkt.dir.flip());
    }
    if let Some(m) = facts
        .mapped
        .filter(|_| facts.class == Class::SuccessResponse)
    {
        if s.mapped.len() < MAX_CHANNELS && !s.mapped.contains(&m) {
            s.mapped.push(m);
        }
    }
    if let Some(r) = facts
        .relayed
        .filter(|_| facts.class == Class::SuccessResponse)
    {
        if s.relayed.len() < MAX_CHANNELS && !s.relayed.contains(&r) {
            s.relayed.push(r);
        }
    }
    if s.software.is_none() {
        s.software = msg
            .software()
            .map(|sw| sw.chars().take(64).collect::<String>().into_boxed_str());
    }
    if let (Some(c), true) = (facts.channel, s.channels.len() < MAX_CHANNELS) {
        if !s.channels.contains(&c) {
            s.channels.push(c);
        }
    }
    let server_client = if towards_server {
        Some((pkt.dst, pkt.src.ip))
    } else if from_server {
        Some((pkt.src, pkt.dst.ip))
    } else {
        None
    };
    let vendor = s.vendor;
    if let Some((server, client)) = server_client {
        let kind = if s.is_turn {
            RelayKind::Turn
        } else {
            RelayKind::Stun
        };
        if let Some(r) = ctx.relays.server(server, pkt.transport, kind) {
            r.add_client(client);
            r.add_flow(pkt.flow_id);
            if let Some(a) = facts
                .relayed
                .filter(|_| facts.class == Class::SuccessResponse)
            {
                r.add_relayed(a);
            }
            if is_request || facts.method == stun::Method::Send {
                for peer in facts.peers() {
                    r.add_peer(peer);
                }
            }
            r.name_operator(vendor.and_then(vendor_operator));
        }
    }
    // NAT evidence: the server saw the client at another address.
    if let (Some(mapped), true) = (
        facts.mapped,
        from_server || facts.class == Class::SuccessResponse,
    ) {
        if mapped.ip() != pkt.dst.ip && !mapped.ip().is_unspecified() {
            st.finding(format!(
                "NAT: {} is seen from outside as {}",
                pkt.dst.ip,
                mapped.ip()
            ));
        }
    }
    for (t, addr) in msg.addresses() {
        ctx.leaks
            .check(addr.ip(), address_where(t), pkt.flow_id, pkt.dst.ip, pkt.ts);
    }
    if let Some(data) = facts.data {
        let inner = Pkt {
            relayed: true,
            ..*pkt
        };
        media::other_class(ctx, st, &inner, data);
    }
}

fn vendor_operator(v: StunVendor) -> Option<&'static str> {
    Some(match v {
        StunVendor::Microsoft => "Microsoft",
        StunVendor::Google => "Google",
        StunVendor::WhatsApp | StunVendor::Facebook => "Meta",
        StunVendor::Zoom => "Zoom",
        StunVendor::Signal => "Signal",
        StunVendor::Telegram => "Telegram",
        _ => return None,
    })
}

fn on_channel_data(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, cd: &ChannelData<'_>) {
    st.protocols.insert(Proto::TurnChannelData);
    st.protocols.insert(Proto::Turn);
    let to_server = st.stun.as_deref().and_then(|s| s.to_server).or_else(|| {
        if matches!(pkt.dst.port, 3478 | 5349) {
            Some(pkt.dir)
        } else if matches!(pkt.src.port, 3478 | 5349) {
            Some(pkt.dir.flip())
        } else {
            None
        }
    });
    if let Some(ts) = to_server {
        let (server, client) = if ts == pkt.dir {
            (pkt.dst, pkt.src.ip)
        } else {
            (pkt.src, pkt.dst.ip)
        };
        if let Some(r) = ctx.relays.server(server, pkt.transport, RelayKind::Turn) {
            r.channel_data_packets += 1;
            r.add_client(client);
            r.add_flow(pkt.flow_id);
        }
    }
    let inner = Pkt {
        relayed: true,
        ..*pkt
    };
    media::other_class(ctx, st, &inner, cd.data());
}

// ---------------------------------------------------------------- TCP ----

fn tcp(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, seq: u32, payload: &[u8]) {
    let mode = st.tcp.as_deref().map_or(TcpMode::Undecided, |t| t.mode);
    let mode = match mode {
        TcpMode::Done => {
            if st.tcp.as_deref().is_some_and(|t| t.gave_up) {
                ctx.stream_bytes_dropped += payload.len() as u64;
            }
            return;
        }
        TcpMode::Undecided => {
            if out_of_budget(st) {
                return;
            }
            let m = choose_tcp_mode(st, pkt, payload);
            if m == TcpMode::Undecided {
                return;
            }
            st.tcp.get_or_insert_with(Default::default).mode = m;
            m
        }
        m => m,
    };
    if mode == TcpMode::Done {
        return;
    }
    if mode == TcpMode::Tls {
        crate::secure::tls_segment(ctx, st, pkt, seq, payload);
        return;
    }
    let limit = ctx.limits.stream_buffer;
    let Some(t) = st.tcp.as_deref_mut() else {
        return;
    };
    let buf = &mut t.bufs[pkt.dir.index()];
    let before = buf.dropped;
    let push = buf.push(seq, payload, limit);
    ctx.stream_bytes_dropped += buf.dropped - before;
    if push == Push::Overflow {
        ctx.warnings
            .add_on_flow("tcp-stream-overflow", pkt.flow_id, || {
                format!("a message exceeds the {limit}-byte stream buffer")
            });
        // Framed binary streams cannot be picked up again mid-frame.
        if matches!(mode, TcpMode::Turn | TcpMode::Rfc4571) {
            t.mode = TcpMode::Done;
            t.gave_up = true;
            for b in &mut t.bufs {
                b.release();
            }
        }
        return;
    }
    if push == Push::Resync && matches!(mode, TcpMode::Turn | TcpMode::Rfc4571) {
        // After a gap, continue only if the segment starts a STUN message.
        let starts_stun = matches!(
            turn::detect_framing(t.bufs[pkt.dir.index()].data()),
            Ok(Some(_))
        );
        if !starts_stun {
            t.mode = TcpMode::Done;
            t.gave_up = true;
            for b in &mut t.bufs {
                b.release();
            }
            return;
        }
    } // Parse every complete message; keep the rest for the next segment.
    let mut data = std::mem::take(&mut t.bufs[pkt.dir.index()]);
    let mut consumed = 0usize;
    let mut give_up = false;
    for _ in 0..256 {
        let rest = data.data().get(consumed..).unwrap_or_default();
        if rest.is_empty() {
            break;
        }
        match mode {
            TcpMode::Sip => match sip::next_frame(rest) {
                Ok(StreamFrame::KeepAlive(n)) => consumed += n,
                Ok(StreamFrame::Message(n)) => {
                    if let Some(m) = rest.get(..n) {
                        sip_message(ctx, st, pkt, m);
                    }
                    consumed += n.max(1);
                }
                Ok(StreamFrame::NeedMore) => break,
                Err(e) => {
                    ctx.warnings
                        .add_on_flow("sip-stream-unparsable", pkt.flow_id, || e.to_string());
                    give_up = true;
                    break;
                }
            },
            TcpMode::Turn => match turn::next_frame(rest) {
                Ok(Some(frame)) => {
                    match frame.kind {
                        FrameKind::Stun => {
                            if let Ok(msg) = StunMessage::new_checked(frame.bytes) {
                                on_stun(ctx, st, pkt, &msg);
                            }
                        }
                        FrameKind::ChannelData => {
                            if let Ok(cd) = ChannelData::new_checked(frame.bytes) {
                                on_channel_data(ctx, st, pkt, &cd);
                            }
                        }
                    }
                    consumed += frame.consumed.max(1);
                }
                Ok(None) => break,
                Err(e) => {
                    ctx.warnings
                        .add_on_flow("turn-stream-unparsable", pkt.flow_id, || e.to_string());
                    give_up = true;
                    break;
                }
            },
            TcpMode::Rfc4571 => match turn::rfc4571_frame(rest) {
                Ok(Some((inner, n))) => {
                    if let Ok(msg) = StunMessage::new_checked(inner) {
                        if stun::probe(inner) == Probe::Match {
                            on_stun(ctx, st, pkt, &msg);
                        } else {
                            media::other_class(ctx, st, pkt, inner);
                        }
                    } else {
                        media::other_class(ctx, st, pkt, inner);
                    }
                    consumed += n.max(1);
                }
                Ok(None) => break,
                Err(_) => {
                    give_up = true;
                    break;
                }
            },
            TcpMode::WebSocket => {
                let d = pkt.dir.index();
                let open = st.tcp.as_deref().is_some_and(|t| t.ws_open[d]);
                if !open {
                    // The HTTP upgrade request or 101 response: skip its header block.
                    match rest.windows(4).position(|w| w == b"\r\n\r\n") {
                        Some(end) => {
                            consumed += end + 4;
                            if let Some(t) = st.tcp.as_deref_mut() {
                                t.ws_open[d] = true;
                            }
                            continue;
                        }
                        None => break,
                    }
                }
                match WsFrame::parse(rest) {
                    Ok(Some(frame)) => {
                        let n = frame.len();
                        let data_frame = matches!(
                            frame.opcode,
                            WsOpcode::Text | WsOpcode::Binary | WsOpcode::Continuation
                        );
                        if data_frame && !frame.is_compressed() {
                            let mut msg = st
                                .tcp
                                .as_deref_mut()
                                .map(|t| std::mem::take(&mut t.ws_message[d]))
                                .unwrap_or_default();
                            if msg.len() + n <= limit {
                                frame.payload_into(rest, &mut msg);
                            }
                            if frame.fin {
                                sip_message(ctx, st, pkt, &msg);
                                msg.clear();
                            }
                            if let Some(t) = st.tcp.as_deref_mut() {
                                t.ws_message[d] = msg;
                            }
                        } else if frame.is_compressed() {
                            ctx.warnings
                                .add_on_flow("websocket-compressed", pkt.flow_id, || {
                                    "compressed WebSocket frames are not read".into()
                                });
                        }
                        consumed += n.max(1);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        ctx.warnings
                            .add_on_flow("websocket-unparsable", pkt.flow_id, || e.to_string());
                        give_up = true;
                        break;
                    }
                }
            }
            _ => break,
        }
    }
    data.consume(consumed);
    if give_up {
        data.clear();
    }
    if let Some(t) = st.tcp.as_deref_mut() {
        t.bufs[pkt.dir.index()] = data;
        if give_up {
            t.mode = TcpMode::Done;
            t.gave_up = true;
            for b in &mut t.bufs {
                b.release();
            }
        }
    }
}

/// Picks how to parse a TCP connection from its first payload bytes.
fn choose_tcp_mode(st: &mut FlowState, pkt: &Pkt, payload: &[u8]) -> TcpMode {
    if payload.first().is_some_and(u8::is_ascii_uppercase) {
        if sip::probe(payload) == Probe::Match {
            return TcpMode::Sip;
        }
        if is_http(payload) {
            st.protocols.insert(Proto::Http);
            if is_sip_websocket_upgrade(payload) {
                return TcpMode::WebSocket;
            }
            return TcpMode::Done;
        }
    }
    if is_whatsapp_chat_start(payload) {
        st.set_app("whatsapp", "whatsapp-chat-prologue");
        return TcpMode::Done;
    }
    if crate::secure::is_tls_start(payload) {
        return TcpMode::Tls;
    }
    match turn::detect_framing(payload) {
        Ok(Some(StreamFraming::Turn)) => return TcpMode::Turn,
        Ok(Some(StreamFraming::Rfc4571)) => return TcpMode::Rfc4571,
        _ => {}
    }
    if is_dns_port(pkt) && looks_like_dns(payload, Transport::Tcp) {
        st.protocols.insert(Proto::Dns);
        return TcpMode::Done;
    }
    TcpMode::Undecided
}

/// The first bytes a WhatsApp client sends on its chat connection (TCP 443
/// or 5222): "WA" and the protocol version 1.2 or 1.5 (FunXMPP; libprotoident
/// `lib/tcp/lpi_whatsapp.cc`), or the edge-routing header "ED\0\x01" with
/// "WA" and version 2 at byte 9 (nDPI `src/lib/protocols/whatsapp.c`).
fn is_whatsapp_chat_start(p: &[u8]) -> bool {
    matches!(p, [b'W', b'A', 1, 2 | 5, ..])
        || matches!(p, [b'E', b'D', 0, 1, _, _, _, _, _, b'W', b'A', 2, ..])
}

/// The UDP datagrams by which nDPI recognises imo.im calls
/// (`src/lib/protocols/imo.c`, unchanged since 2019): 10 bytes starting
/// 0x09 0x02, 11 bytes starting 0x00 0x09 0x03, or 1099 bytes starting
/// 0x88 0x49 0x1a 0x00. In ndpi__imo.pcap the 10-byte ones are a ping that
/// the peer echoes with 0x09 0x03 and the same 8 bytes. nDPI's fourth rule,
/// two consecutive one-byte datagrams with the same byte, is left out: any
/// keepalive looks like that. Tried only on UDP flows where nothing else was
/// recognised, within the probe budget (nDPI gives up after 10 packets).
fn is_imo_datagram(p: &[u8]) -> bool {
    matches!(
        p,
        [0x09, 0x02, _, _, _, _, _, _, _, _] | [0x00, 0x09, 0x03, _, _, _, _, _, _, _, _]
    ) || (p.len() == 1099 && p.starts_with(&[0x88, 0x49, 0x1a, 0x00]))
}

/// An HTTP upgrade to WebSocket with the "sip" subprotocol (RFC 7118 section 4).
fn is_sip_websocket_upgrade(p: &[u8]) -> bool {
    let head = &p[..p.len().min(4096)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    has(b"upgrade: websocket") && has(b"sec-websocket-protocol: sip")
}

/// HTTP/1.x request or response line.
fn is_http(p: &[u8]) -> bool {
    const STARTS: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"PUT ",
        b"HEAD ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
        b"HTTP/1.",
    ];
    STARTS.iter().any(|s| p.starts_with(s)) && !p.windows(8).take(256).any(|w| w == b"SIP/2.0 ")
}

/// DNS header sanity (RFC 1035 section 4.1.1): opcode 0..=6, at most a few
/// questions, counts that fit the message.
fn looks_like_dns(payload: &[u8], transport: Transport) -> bool {
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

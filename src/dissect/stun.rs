//! STUN and TURN handler: Binding and Allocate transactions, ICE checks,
//! vendor attributes, relays, reflexive and relayed addresses, and TURN
//! ChannelData whose inner payload goes to the media dispatch.

use vcscope_dissectors as wire;
use vcscope_dissectors::stun::{AttributeType, Class, StunMessage, StunVendor};
use vcscope_dissectors::turn::{ChannelData, TurnFacts};

use crate::apps::AppEvidence;
use crate::calls::relay::RelayKind;
use crate::dissect::ctx::{Ctx, Pkt};
use crate::dissect::media;
use crate::evidence::{FlowState, Proto};

/// TURN channel numbers remembered per flow.
pub(crate) const MAX_CHANNELS: usize = 16;

pub(crate) fn address_where(t: AttributeType) -> &'static str {
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

pub(crate) fn vendor_app(v: StunVendor) -> Option<&'static str> {
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

pub(crate) fn on_stun(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, msg: &StunMessage<'_>) {
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
        s.vendor = wire::stun::vendor_hint(msg);
        if let Some(app) = s.vendor.and_then(vendor_app) {
            st.app.get_or_insert(app);
            st.app_evidence
                .get_or_insert(AppEvidence::StunVendorAttributes);
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
    let ice_check = facts.method == wire::stun::Method::Binding
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
    if is_request && facts.method == wire::stun::Method::Binding {
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
        } else if has_username || (facts.is_turn() && facts.method != wire::stun::Method::Allocate)
        {
            s.unauthenticated += 1;
        }
    }
    let turn = facts.is_turn();
    if turn {
        st.protocols.insert(Proto::Turn);
        s.is_turn = true;
    }
    // Which side is the server: requests and Send indications go to it,
    // responses and Data indications come from it; never who sent first.
    // ICE checks are between peers. RFC 3489's Shared Secret exchange runs
    // over TLS only and RFC 5389 reserves the method, so a Shared Secret
    // message on UDP (Zoom's servers send them) says nothing of roles.
    let shared_secret = facts.method == wire::stun::Method::SharedSecret;
    let known_server = known_stun_server(pkt.dst);
    let towards_server = match facts.class {
        Class::Request => {
            !shared_secret && !ice_check && !peer_to_peer && (turn || !has_username || known_server)
        }
        Class::Indication => facts.method == wire::stun::Method::Send,
        Class::SuccessResponse | Class::ErrorResponse => false,
    };
    let from_server = matches!(facts.class, Class::SuccessResponse | Class::ErrorResponse)
        && !shared_secret
        && !peer_to_peer
        && (turn || s.to_server == Some(pkt.dir.flip()))
        || (facts.class == Class::Indication && facts.method == wire::stun::Method::Data);
    if towards_server {
        s.to_server.get_or_insert(pkt.dir);
    } else if from_server {
        s.to_server.get_or_insert(pkt.dir.flip());
    }
    // Evidence against the side already known as the server is not used.
    let towards_server = towards_server && s.to_server == Some(pkt.dir);
    let from_server = from_server && s.to_server == Some(pkt.dir.flip());
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
    // A Binding request names its receiver a STUN server at once when it
    // goes to a known STUN server (an address on a STUN port); any
    // other receiver is one once it answers (a peer probed by an app's own
    // connectivity checks never does).
    let server_client = if towards_server && (turn || known_server) {
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
            if is_request || facts.method == wire::stun::Method::Send {
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

/// An address on a port STUN servers listen on: 3478 and 3479 (STUN and
/// its CHANGE-REQUEST alternate port, RFC 5389 §18.4 / RFC 3489 §9.3), 5349
/// (STUN over TLS) and 19302-19309 (Google's public STUN service).
fn known_stun_server(dst: crate::net::Endpoint) -> bool {
    matches!(dst.port, 3478 | 3479 | 5349 | 19302..=19309)
}

pub(crate) fn vendor_operator(v: StunVendor) -> Option<&'static str> {
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

pub(crate) fn on_channel_data(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, cd: &ChannelData<'_>) {
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

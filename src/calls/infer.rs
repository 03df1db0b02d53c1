//! Calls without SIP: most videoconferencing today (WebRTC apps, Zoom,
//! Teams, Meet, WhatsApp...) has no visible signalling, so a call is
//! inferred from its media. Media flows (RTP/SRTP streams, DTLS-SRTP, TURN
//! ChannelData, ZRTP, an app's own framing, and an app's opaque UDP with a
//! call's shape) of one local client that overlap in time and belong to
//! the same app form one call; STUN-only flows and TLS/QUIC flows of that
//! client around the same time give its STUN servers and signalling
//! servers. Pure function over the flow and relay records: it gathers each
//! call's facts ([`InferredFacts`]); `crate::judge::inferred_call` decides
//! its `encrypted`, `encryption_ends` and sentence.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::net::IpAddr;

use crate::apps::policy::{app_name, media_ends, MediaEnds};
use crate::apps::AppEvidence;
use crate::report::{CallEndpointOut, CallOut, FlowOut, MediaOut, RelayOut, SignallingOut};
use crate::scope::scope_of;

/// Gap (seconds) that still joins two media flows of a client into one call.
const JOIN_GAP_S: f64 = 30.0;
/// Signalling looked for this long before the media starts.
const SIGNALLING_BEFORE_S: f64 = 300.0;
/// The furthest (seconds of packet time) a flow of a client reaches in
/// inferring its calls: a media flow joins the call of media that ended at
/// most [`JOIN_GAP_S`] before it began, and STUN and signalling flows are
/// the call's if they ended at most [`SIGNALLING_BEFORE_S`] before its
/// media began. A flow that began later than this after every flow of its
/// addresses ended has no call in common with them.
pub const REACH_S: u64 = 330;
const _: () = assert!(REACH_S as f64 >= JOIN_GAP_S + SIGNALLING_BEFORE_S);

fn ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

/// Is this flow media of a call?
fn is_media(f: &FlowOut) -> bool {
    let p = |x: &str| f.protocols.contains(&x);
    let streams = f.rtp_streams.iter().map(|s| s.packets).sum::<u64>() >= 10;
    streams
        || matches!(f.encryption, "dtls-srtp" | "zrtp")
        || (p("turn-channeldata") && f.packets >= 10)
        || (f.encryption == "srtp" && f.packets >= 10)
        || proprietary_media(f)
        || app_media_shaped(f)
}

/// Media of a calling app that shows no RTP, SRTP or DTLS, recognised by
/// the app's own media framing (Zoom's media encapsulation without RTP
/// inside, imo's datagrams): a UDP flow with at least
/// [`PROPRIETARY_PACKETS`] packets each way and no standard protocol. A flow
/// named only by its servers' addresses or port is not enough: it may be
/// anything the app sends.
fn proprietary_media(f: &FlowOut) -> bool {
    f.transport == "udp"
        && f.protocols.is_empty()
        && f.packets_fwd >= PROPRIETARY_PACKETS
        && f.packets_rev >= PROPRIETARY_PACKETS
        && f.app_evidence.is_some_and(AppEvidence::is_media_framing)
}

/// Packets each way that make a proprietary UDP flow media.
const PROPRIETARY_PACKETS: u64 = 10;

/// Packets per second each way, averaged over the flow, that a call's
/// media keeps up. Voice is sent every 10 to 60 ms while a party talks
/// (RFC 3551 section 4.2: 20 ms by default; RFC 7587: Opus frames of up
/// to 60 ms in a packet), 16 to 100 packets a second, and video adds
/// more; 10 leaves room for a quieter side (comfort noise, DTX) while
/// keepalives, presence and retries stay far below it.
const MEDIA_SHAPED_PPS: f64 = 10.0;
/// Seconds a media-shaped flow must last: shorter than any call, longer
/// than a burst of ICE checks or retries.
const MEDIA_SHAPED_MIN_S: f64 = 3.0;
/// Largest mean packet (bytes on the wire) each way. Voice packets are 60
/// to 300 bytes; WebRTC packetises video at about 1200 bytes of IP and mixes
/// it with audio and RTCP, while a bulk transfer (a download, streamed video
/// over QUIC) fills its packets to the path MTU (1280 to 1500 bytes) one way.
const MEDIA_SHAPED_MAX_MEAN: u64 = 1000;

/// Media of a calling app whose packets show nothing vcscope reads (an
/// app's encrypted framing: Telegram's, Viber's, Signal's relays), told by
/// its shape and by who it belongs to: a UDP flow named by that app (vendor
/// STUN, its server's name by SNI or DNS, its published ranges, or another
/// flow of the same local socket), with nothing on it but STUN, lasting at
/// least [`MEDIA_SHAPED_MIN_S`], at least [`MEDIA_SHAPED_PPS`] packets a
/// second each way besides STUN, and small packets each way (mean at most
/// [`MEDIA_SHAPED_MAX_MEAN`] bytes). A bulk transfer (one-way, large
/// packets) is none of this. Its encryption is measured as `unknown`; the
/// judgement takes the app's documented policy for it.
pub fn app_media_shaped(f: &FlowOut) -> bool {
    if f.transport != "udp"
        || f.protocols.iter().any(|p| *p != "stun")
        || f.app.is_none()
        || f.app_evidence == Some(AppEvidence::DnsQuery)
    {
        return false;
    }
    let secs = f.last_ts - f.first_ts;
    // A NaN duration (never from packet times) fails this too.
    if secs.is_nan() || secs < MEDIA_SHAPED_MIN_S {
        return false;
    }
    // STUN messages are not told apart by direction: take them all off
    // each way, which only makes the test stricter.
    let stun = f.stun.as_ref().map_or(0, |s| s.messages);
    let rate = |packets: u64| packets.saturating_sub(stun) as f64 / secs;
    let small = |bytes: u64, packets: u64| packets > 0 && bytes / packets <= MEDIA_SHAPED_MAX_MEAN;
    rate(f.packets_fwd) >= MEDIA_SHAPED_PPS
        && rate(f.packets_rev) >= MEDIA_SHAPED_PPS
        && small(f.bytes_fwd, f.packets_fwd)
        && small(f.bytes_rev, f.packets_rev)
}

/// The local side of a flow: the one inside the network (internal scope)
/// when exactly one side is, else the side that sent first.
fn local_and_remote(f: &FlowOut) -> (usize, usize) {
    let a = ip(&f.src.ip).map(scope_of);
    let b = ip(&f.dst.ip).map(scope_of);
    match (
        a.is_some_and(|s| s.is_internal()),
        b.is_some_and(|s| s.is_internal()),
    ) {
        (false, true) => (1, 0),
        _ => (0, 1),
    }
}

fn side(f: &FlowOut, i: usize) -> &crate::report::EndpointOut {
    if i == 0 {
        &f.src
    } else {
        &f.dst
    }
}

/// Where a media flow of an inferred call goes from the local client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    /// A TURN server or media relay (the relay record says if it was used).
    Relay,
    /// A public address of the app's operator (an SFU or media server).
    OperatorServer,
    /// A public address of nobody known (a peer behind its NAT, or an
    /// unlisted server).
    PublicUnknown,
    /// An address inside the network: the other peer.
    Internal,
}

/// One media flow of an inferred call.
#[derive(Debug, Clone, Copy)]
pub struct MediaFlowFacts {
    pub encryption: &'static str,
    /// Packets of the flow that are not STUN.
    pub packets: u64,
    pub hop: Hop,
}

/// One TURN server of an inferred call and whether media went through it.
#[derive(Debug, Clone)]
pub struct RelayUse {
    pub operator: Option<String>,
    pub used: bool,
}

/// What the judgement of an inferred call is made from: the call's media,
/// where each flow goes, its relays, its signalling and the app's
/// documented policy (`crate::apps::policy`).
#[derive(Debug, Clone)]
pub struct InferredFacts {
    pub app: Option<String>,
    pub policy: Option<MediaEnds>,
    pub media: Vec<MediaFlowFacts>,
    pub relays: Vec<RelayUse>,
    /// The operator of the call's SFU or relay, for the sentence.
    pub operator: Option<String>,
    /// Protocol and transport of the signalling, as the call's
    /// `signalling` field says; `None` when none was seen.
    pub signalling: Option<(&'static str, &'static str)>,
    /// The provider's name of the app when its policy is documented
    /// (`crate::apps::policy`), for the sentence.
    pub provider: Option<&'static str>,
}

/// Infers calls from media flows that no SIP call claimed.
#[cfg(test)]
pub fn infer_calls(flows: &[FlowOut], relays: &[RelayOut]) -> Vec<(CallOut, InferredFacts)> {
    infer_calls_after(flows, relays, 0, &|n| n + 1)
}

/// [`infer_calls`] numbering the calls on from `before` (calls inferred
/// and written earlier): call `n` (from 0) is numbered `number(n)`.
pub fn infer_calls_after(
    flows: &[FlowOut],
    relays: &[RelayOut],
    before: usize,
    number: &dyn Fn(usize) -> usize,
) -> Vec<(CallOut, InferredFacts)> {
    let media: Vec<&FlowOut> = flows
        .iter()
        .filter(|f| f.call_id.is_none() && is_media(f))
        .collect();
    // Group per local client address, in time order.
    let mut by_client: BTreeMap<String, Vec<&FlowOut>> = BTreeMap::new();
    for f in &media {
        let (l, _) = local_and_remote(f);
        by_client.entry(side(f, l).ip.clone()).or_default().push(f);
    }
    let mut groups: Vec<(String, Vec<&FlowOut>)> = Vec::new();
    for (client, mut fs) in by_client {
        fs.sort_by(|a, b| a.first_ts.total_cmp(&b.first_ts).then(a.id.cmp(&b.id)));
        let mut cur: Vec<&FlowOut> = Vec::new();
        let mut cur_end = f64::MIN;
        let mut cur_app: Option<&str> = None;
        for f in fs {
            let app_ok = match (cur_app, f.app.as_deref()) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            if !cur.is_empty() && (f.first_ts > cur_end + JOIN_GAP_S || !app_ok) {
                groups.push((client.clone(), std::mem::take(&mut cur)));
                cur_app = None;
                cur_end = f64::MIN;
            }
            cur_end = cur_end.max(f.last_ts);
            cur_app = cur_app.or(f.app.as_deref());
            cur.push(f);
        }
        if !cur.is_empty() {
            groups.push((client, cur));
        }
    }
    groups.sort_by(|a, b| {
        let fa = a.1.first().map_or(0.0, |f| f.first_ts);
        let fb = b.1.first().map_or(0.0, |f| f.first_ts);
        fa.total_cmp(&fb)
    });
    // Flows no call claimed, by address (in flow order): each call looks at
    // its client's flows only, not at every flow of the capture.
    // Only the clients' addresses are looked up, so only theirs are kept.
    let mut by_ip: FxHashMap<String, Vec<&FlowOut>> = groups
        .iter()
        .map(|(client, _)| (client.clone(), Vec::new()))
        .collect();
    if !groups.is_empty() {
        for f in flows.iter().filter(|f| f.call_id.is_none()) {
            if let Some(v) = by_ip.get_mut(f.src.ip.as_str()) {
                v.push(f);
            }
            if f.dst.ip != f.src.ip {
                if let Some(v) = by_ip.get_mut(f.dst.ip.as_str()) {
                    v.push(f);
                }
            }
        }
    }
    groups
        .into_iter()
        .enumerate()
        .map(|(n, (client, fs))| {
            let near = by_ip.get(client.as_str()).map_or(&[][..], Vec::as_slice);
            one_call(number(before + n), &client, &fs, near, relays)
        })
        .collect()
}

fn one_call(
    n: usize,
    client: &str,
    fs: &[&FlowOut],
    near: &[&FlowOut],
    relays: &[RelayOut],
) -> (CallOut, InferredFacts) {
    let first_ts = fs.iter().map(|f| f.first_ts).fold(f64::MAX, f64::min);
    let last_ts = fs.iter().map(|f| f.last_ts).fold(f64::MIN, f64::max);
    // Flows of the same client around the call: STUN servers and signalling.
    let related: Vec<&FlowOut> = near
        .iter()
        .copied()
        .filter(|f| f.call_id.is_none() && !fs.iter().any(|m| m.id == f.id))
        .filter(|f| f.src.ip == client || f.dst.ip == client)
        .filter(|f| f.last_ts >= first_ts - SIGNALLING_BEFORE_S && f.first_ts <= last_ts)
        .collect();
    let mut apps: BTreeMap<&str, usize> = BTreeMap::new();
    for f in fs
        .iter()
        .chain(related.iter().filter(|f| f.protocols.contains(&"stun")))
    {
        if let Some(a) = f.app.as_deref() {
            *apps.entry(a).or_default() += 1;
        }
    }
    let app = apps
        .iter()
        .max_by_key(|(_, c)| **c)
        .map(|(a, _)| a.to_string());
    let mut signalling: Vec<&FlowOut> = related
        .iter()
        .copied()
        .filter(|f| matches!(f.encryption, "tls" | "quic"))
        .filter(|f| !f.protocols.contains(&"turn"))
        .filter(|f| app.is_some() && f.app == app)
        .collect();
    let sip = sip_over_tls(&related, fs, first_ts, app.as_deref());
    for s in &sip {
        if !signalling.iter().any(|f| f.id == s.flow.id) {
            signalling.push(s.flow);
        }
    }

    let mut endpoints: Vec<CallEndpointOut> = Vec::new();
    let mut push = |ip: &str, port: u16, role: &'static str, operator: Option<&String>| {
        if !endpoints.iter().any(|e| e.ip == ip && e.port == port) {
            let operator = operator.cloned().or_else(|| {
                ip.parse()
                    .ok()
                    .and_then(crate::apps::operator_of_ip)
                    .map(|o| o.name.to_string())
            });
            endpoints.push(CallEndpointOut {
                place: Default::default(),
                ip: ip.to_string(),
                port,
                role,
                operator,
                rdns: None,
            });
        }
    };
    let policy = app.as_deref().and_then(|a| media_ends(a, first_ts));
    let mut media_facts = Vec::new();
    let mut call_relays: Vec<&RelayOut> = Vec::new();
    let mut server_relays: Vec<RelayUse> = Vec::new();
    let mut media = Vec::new();
    for f in fs {
        let (l, r) = local_and_remote(f);
        let (local, remote) = (side(f, l), side(f, r));
        push(&local.ip, local.port, "peer", None);
        let relay = relays.iter().find(|x| {
            x.ip == remote.ip && x.port == remote.port && matches!(x.kind, "turn" | "media-relay")
        });
        let remote_public = ip(&remote.ip).is_some_and(|a| !scope_of(a).is_internal());
        // A server of the operator of an app whose servers decrypt is its
        // SFU; a public address of nobody known is the other peer.
        let (role, hop) = if let Some(x) = relay {
            if !call_relays.iter().any(|c| c.ip == x.ip && c.port == x.port) {
                call_relays.push(x);
            }
            ("relay", Hop::Relay)
        } else if remote_public
            && (f.operator.is_some() || f.app_evidence.is_some_and(AppEvidence::names_server))
        {
            let role = if policy == Some(MediaEnds::Peer) {
                // The app's servers cannot read its media: they relay it.
                server_relays.push(RelayUse {
                    operator: f.operator.clone(),
                    used: true,
                });
                "media-relay"
            } else {
                "sfu"
            };
            (role, Hop::OperatorServer)
        } else if remote_public {
            ("peer", Hop::PublicUnknown)
        } else {
            ("peer", Hop::Internal)
        };
        push(&remote.ip, remote.port, role, f.operator.as_ref());
        media_facts.push(MediaFlowFacts {
            encryption: f.encryption,
            packets: f
                .packets
                .saturating_sub(f.stun.as_ref().map_or(0, |s| s.messages)),
            hop,
        });
        let kind = media_kind(f);
        media.push(MediaOut {
            flow_id: Some(f.id),
            kind,
            encryption: f.encryption,
            key_exchange: match f.encryption {
                "dtls-srtp" => "dtls",
                "zrtp" => "zrtp",
                "none" => "none",
                _ => "unknown",
            },
            keys_exposed: false,
            announced: None,
            profile: None,
            seen: true,
            announced_all: Vec::new(),
        });
    }
    // ICE and TURN flows of the client around the call belong to it too.
    let mut call_flows: Vec<u32> = fs.iter().map(|f| f.id).collect();
    for f in &related {
        // TURN over TLS shows no STUN, but is TURN all the same.
        if !f.protocols.contains(&"stun") && !f.protocols.contains(&"turn") {
            continue;
        }
        call_flows.push(f.id);
        let (_, r) = local_and_remote(f);
        let remote = side(f, r);
        let found = relays
            .iter()
            .find(|x| x.ip == remote.ip && x.port == remote.port);
        match found {
            Some(x) if x.kind == "turn" => {
                if !call_relays.iter().any(|c| c.ip == x.ip && c.port == x.port) {
                    call_relays.push(x);
                }
                push(&remote.ip, remote.port, "relay", f.operator.as_ref())
            }
            Some(_) => push(&remote.ip, remote.port, "stun-server", f.operator.as_ref()),
            None => {}
        }
    }
    for f in &signalling {
        if let Some(s) = sip.iter().find(|s| s.flow.id == f.id) {
            // The TLS server's side: a SIP server, or the other peer itself
            // when the media goes to the same address.
            let server = &s.flow.dst;
            let is_peer = fs
                .iter()
                .any(|m| m.src.ip == server.ip || m.dst.ip == server.ip);
            let role = if is_peer { "peer" } else { "signalling-server" };
            push(&server.ip, server.port, role, f.operator.as_ref());
            continue;
        }
        let (_, r) = local_and_remote(f);
        let remote = side(f, r);
        push(
            &remote.ip,
            remote.port,
            "signalling-server",
            f.operator.as_ref(),
        );
    }
    let operator = endpoints
        .iter()
        .find(|e| matches!(e.role, "sfu" | "media-relay"))
        .or_else(|| endpoints.iter().find(|e| e.role == "relay"))
        .and_then(|e| e.operator.clone());
    let signalling_out = match sip.first() {
        Some(s) => SignallingOut {
            protocol: "sip",
            transport: s.transport,
            encrypted: true,
            evidence: sip
                .iter()
                .flat_map(|s| {
                    s.evidence
                        .iter()
                        .map(|e| format!("flow {}: {e}", s.flow.id))
                })
                .collect(),
        },
        None if signalling.is_empty() => SignallingOut {
            protocol: "unknown",
            transport: "unknown",
            encrypted: false,
            evidence: Vec::new(),
        },
        None => SignallingOut {
            protocol: "https",
            transport: if signalling.iter().all(|f| f.encryption == "quic") {
                "quic"
            } else {
                "tls"
            },
            encrypted: true,
            evidence: Vec::new(),
        },
    };
    let facts = InferredFacts {
        app: app.clone(),
        policy,
        media: media_facts,
        relays: call_relays
            .iter()
            .filter_map(|x| {
                x.used.map(|used| RelayUse {
                    operator: x.operator.clone(),
                    used,
                })
            })
            .chain(server_relays)
            .collect(),
        operator,
        signalling: (signalling_out.protocol != "unknown")
            .then_some((signalling_out.protocol, signalling_out.transport)),
        provider: app.as_deref().and_then(app_name),
    };
    let call = CallOut {
        countries: Vec::new(),
        flows_open: Vec::new(),
        call_id: format!("inferred-{n}"),
        from: None,
        to: None,
        app,
        signalling: signalling_out,
        media,
        // Judged by `crate::judge::inferred_call` from the facts.
        encrypted: "unknown",
        endpoints,
        verdict: String::new(),
        state: "inferred",
        first_ts,
        last_ts,
        setup_ts: None,
        answer_ts: None,
        end_ts: None,
        signalling_flows: signalling.iter().map(|f| f.id).collect(),
        flow_ids: {
            call_flows.extend(signalling.iter().map(|f| f.id));
            call_flows.sort_unstable();
            call_flows.dedup();
            call_flows
        },
        user_agents: Vec::new(),
        final_status: None,
        bye_reason: None,
        findings: Vec::new(),
        encryption_ends: "unknown",
        encryption_basis: "measured",
        inferred: true,
        ladder: Vec::new(),
    };
    (call, facts)
}

/// A flow's two addresses, in order.
fn address_pair(f: &FlowOut) -> (&str, &str) {
    let (a, b) = (f.src.ip.as_str(), f.dst.ip.as_str());
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// A TLS flow found to carry the SIP signalling of an inferred call.
struct SipOverTls<'a> {
    flow: &'a FlowOut,
    /// "tls" (SIP over TLS, RFC 3261) or "wss" (SIP over secure
    /// WebSocket, RFC 7118).
    transport: &'static str,
    /// What was visible, in plain words.
    evidence: Vec<String>,
}

/// The sips port (RFC 3261 section 26.2.2; IANA "sips", 5061/tcp).
const SIPS_PORT: u16 = 5061;

/// SIP over TLS (or secure WebSocket) that set up a call seen only as media.
///
/// The SIP inside TLS is not readable, so a TLS flow of the call's client
/// is taken for its signalling only from what is visible, and only when it
/// was opened before the media started (signalling precedes the media it
/// sets up):
///
/// * the sips port 5061 on the server side, or ALPN `sip`;
/// * or, for a call of no known app, the TLS connection runs between the
///   very two addresses of the media, and that media is SRTP keyed without
///   DTLS or ZRTP on the media path: its keys travelled in the signalling
///   (SDES, RFC 4568), which then must be encrypted, and this is the
///   encrypted connection between the two. With ALPN `http/1.1` it carries
///   HTTP, and SIP rides HTTP only as a WebSocket (RFC 7118): `wss`.
///
/// A TLS flow of a known app (a WebRTC service's HTTPS) is not SIP.
fn sip_over_tls<'a>(
    related: &[&'a FlowOut],
    media: &[&FlowOut],
    media_start: f64,
    app: Option<&str>,
) -> Vec<SipOverTls<'a>> {
    let sdes_srtp = |m: &FlowOut| m.encryption == "srtp" && !m.protocols.contains(&"dtls");
    let mut out = Vec::new();
    for &f in related {
        if f.transport != "tcp"
            || !f.protocols.contains(&"tls")
            || f.protocols.contains(&"turn")
            || f.first_ts > media_start
        {
            continue;
        }
        if f.app.is_some() && f.app.as_deref() != app {
            continue;
        }
        let alpn = f.alpn.as_deref();
        let mut evidence = Vec::new();
        if f.dst.port == SIPS_PORT || f.src.port == SIPS_PORT {
            evidence.push("TLS on the sips port 5061 (RFC 3261 section 26.2.2)".to_string());
        }
        if alpn.is_some_and(|a| a.eq_ignore_ascii_case("sip")) {
            evidence.push("ALPN sip".to_string());
        }
        let same_pair = media
            .iter()
            .find(|m| address_pair(m) == address_pair(f) && sdes_srtp(m));
        if let (None, Some(m)) = (app, same_pair) {
            evidence.push(format!(
                "TLS between the same two addresses as the SRTP of flow {}, opened {:.3} s before it; \
                 that SRTP has no DTLS or ZRTP on its path, so its keys came in the signalling (as SDES, RFC 4568, carries them)",
                m.id,
                (m.first_ts - f.first_ts).max(0.0)
            ));
        }
        if evidence.is_empty() {
            continue;
        }
        let transport = if alpn.is_some_and(|a| a.eq_ignore_ascii_case("http/1.1")) {
            evidence.push(
                "ALPN http/1.1: HTTP inside, which carries SIP only as a WebSocket (RFC 7118)"
                    .to_string(),
            );
            "wss"
        } else {
            "tls"
        };
        out.push(SipOverTls {
            flow: f,
            transport,
            evidence,
        });
    }
    out
}

fn media_kind(f: &FlowOut) -> &'static str {
    let codecs: Vec<&str> = f
        .rtp_streams
        .iter()
        .filter_map(|s| s.codec.as_deref())
        .collect();
    let video = codecs.iter().any(|c| {
        matches!(
            c.to_ascii_uppercase().as_str(),
            "VP8" | "VP9" | "H264" | "H265" | "AV1" | "H263"
        )
    });
    let audio = codecs.iter().any(|c| {
        matches!(
            c.to_ascii_uppercase().as_str(),
            "OPUS" | "PCMU" | "PCMA" | "G722" | "G729"
        )
    });
    match (audio, video) {
        (true, false) => "audio",
        (false, true) => "video",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{EndpointOut, FlowOut};

    /// The calls with their judgement filled in, as the report has them.
    fn infer_calls(flows: &[FlowOut], relays: &[RelayOut]) -> Vec<CallOut> {
        super::infer_calls(flows, relays)
            .into_iter()
            .map(|(mut c, f)| {
                let j = crate::judge::inferred_call(&f);
                c.encrypted = j.encrypted;
                c.encryption_ends = j.encryption_ends;
                c.encryption_basis = j.encryption_basis;
                c.verdict = j.verdict;
                c
            })
            .collect()
    }

    fn ep(ip: &str, port: u16) -> EndpointOut {
        EndpointOut {
            ip: ip.into(),
            port,
        }
    }

    fn flow(
        id: u32,
        src: EndpointOut,
        dst: EndpointOut,
        t: (f64, f64),
        protocols: Vec<&'static str>,
    ) -> FlowOut {
        FlowOut {
            place: Default::default(),
            id,
            transport: "udp",
            src,
            dst,
            first_ts: t.0,
            last_ts: t.1,
            packets: 500,
            bytes: 50_000,
            protocols,
            encryption: "unknown",
            sni: None,
            dns_name: None,
            app: None,
            call_id: None,
            rtp_streams: Vec::new(),
            packets_fwd: 250,
            packets_rev: 250,
            bytes_fwd: 25_000,
            bytes_rev: 25_000,
            ended: "capture-end",
            encryption_evidence: Vec::new(),
            findings: Vec::new(),
            operator: None,
            tls_version: None,
            alpn: None,
            tls_certificate_names: Vec::new(),
            stun: None,
            rdns: None,
            app_evidence: None,
        }
    }

    fn relay(ip: &str, port: u16) -> RelayOut {
        RelayOut {
            place: Default::default(),
            ip: ip.into(),
            port,
            transport: "udp",
            kind: "turn",
            operator: Some("Meta".into()),
            clients: vec!["192.168.1.5".into()],
            relayed_addresses: Vec::new(),
            channel_data_packets: 100,
            peers: Vec::new(),
            flow_ids: vec![1],
            evidence: Vec::new(),
            used: Some(true),
            relayed_packets: 100,
        }
    }

    #[test]
    fn parses_sfu_call_as_decrypted_at_the_provider() {
        let mut media = flow(
            1,
            ep("192.168.1.5", 50000),
            ep("142.250.82.76", 19305),
            (10.0, 70.0),
            vec!["stun", "dtls"],
        );
        media.encryption = "dtls-srtp";
        media.app = Some("meet".into());
        media.operator = Some("Google".into());
        let stun = flow(
            2,
            ep("192.168.1.5", 50000),
            ep("74.125.128.127", 19302),
            (9.0, 11.0),
            vec!["stun"],
        );
        let calls = infer_calls(&[media, stun], &[]);
        assert_eq!(calls.len(), 1);
        let c = &calls[0];
        assert_eq!(
            (c.call_id.as_str(), c.encrypted, c.encryption_ends),
            ("inferred-1", "yes", "provider-server-unless-e2ee")
        );
        assert_eq!(c.app.as_deref(), Some("meet"));
        assert!(c
            .endpoints
            .iter()
            .any(|e| e.role == "sfu" && e.ip == "142.250.82.76"));
        assert_eq!(c.flow_ids, vec![1, 2]);
        // Meet's client-side encryption is a meeting option, not visible on the wire.
        assert!(
            c.verdict
                .contains("unless the meeting enabled end-to-end encryption"),
            "{}",
            c.verdict
        );
    }

    #[test]
    fn parses_relayed_e2e_call_and_splits_distant_calls() {
        let mut a = flow(
            1,
            ep("192.168.1.5", 40000),
            ep("31.13.93.48", 3478),
            (0.0, 60.0),
            vec!["stun", "turn", "turn-channeldata"],
        );
        a.encryption = "srtp";
        a.app = Some("whatsapp".into());
        // The same client an hour later: another call.
        let mut b = flow(
            2,
            ep("192.168.1.5", 40002),
            ep("192.0.2.44", 5000),
            (3600.0, 3700.0),
            vec!["rtp"],
        );
        b.encryption = "srtp";
        let calls = infer_calls(&[a, b], &[relay("31.13.93.48", 3478)]);
        assert_eq!(calls.len(), 2);
        assert_eq!(
            (calls[0].encrypted, calls[0].encryption_ends),
            ("yes", "peer")
        );
        assert!(calls[0].endpoints.iter().any(|e| e.role == "relay"));
        assert!(calls[0].verdict.contains("end to end"));
        // Encrypted, to an address of nobody known: where it is decrypted is not known.
        assert_eq!(
            (calls[1].encrypted, calls[1].encryption_ends),
            ("yes", "unknown")
        );
    }

    /// A TLS connection of a client on TCP.
    fn tls(id: u32, src: EndpointOut, dst: EndpointOut, t: (f64, f64)) -> FlowOut {
        let mut f = flow(id, src, dst, t, vec!["tls"]);
        f.transport = "tcp";
        f.encryption = "tls";
        f
    }

    /// SDES-keyed SRTP (no DTLS) of a SIP phone.
    fn sdes_media(id: u32, src: EndpointOut, dst: EndpointOut, t: (f64, f64)) -> FlowOut {
        let mut f = flow(id, src, dst, t, vec!["srtp"]);
        f.encryption = "srtp";
        f
    }

    #[test]
    fn parses_sip_over_tls_to_a_proxy_as_the_calls_signalling() {
        // The phone's TLS to its proxy on 5061, media to another address.
        let sig = tls(
            1,
            ep("192.168.1.5", 40001),
            ep("192.0.2.10", 5061),
            (0.0, 90.0),
        );
        let media = sdes_media(
            2,
            ep("192.168.1.5", 20000),
            ep("198.51.100.7", 30000),
            (5.0, 60.0),
        );
        let calls = infer_calls(&[sig, media], &[]);
        assert_eq!(calls.len(), 1);
        let c = &calls[0];
        assert_eq!(
            (
                c.signalling.protocol,
                c.signalling.transport,
                c.signalling.encrypted
            ),
            ("sip", "tls", true)
        );
        assert_eq!(c.signalling_flows, vec![1]);
        assert_eq!(c.flow_ids, vec![1, 2]);
        assert!(
            c.signalling.evidence[0].contains("5061"),
            "{:?}",
            c.signalling.evidence
        );
        assert!(c
            .endpoints
            .iter()
            .any(|e| e.ip == "192.0.2.10" && e.port == 5061 && e.role == "signalling-server"));
    }

    #[test]
    fn parses_tls_between_the_media_peers_before_sdes_srtp_as_sip() {
        // Any port: the same two addresses, opened before the SRTP.
        let sig = tls(1, ep("10.0.0.1", 40001), ep("10.0.0.2", 5071), (0.0, 60.0));
        let media = sdes_media(2, ep("10.0.0.1", 20000), ep("10.0.0.2", 20002), (0.5, 60.0));
        let c = &infer_calls(&[sig.clone(), media.clone()], &[])[0];
        assert_eq!(
            (c.signalling.protocol, c.signalling.transport),
            ("sip", "tls")
        );
        assert!(
            c.signalling.evidence[0].contains("SDES"),
            "{:?}",
            c.signalling.evidence
        );
        // HTTP inside (ALPN http/1.1): SIP over secure WebSocket.
        let mut wss = sig.clone();
        wss.alpn = Some("http/1.1".into());
        let c = &infer_calls(&[wss, media.clone()], &[])[0];
        assert_eq!(
            (c.signalling.protocol, c.signalling.transport),
            ("sip", "wss")
        );
        // Opened after the media started: not what set it up.
        let mut late = sig.clone();
        late.first_ts = 10.0;
        let c = &infer_calls(&[late, media.clone()], &[])[0];
        assert_eq!(c.signalling.protocol, "unknown");
        assert!(c.signalling_flows.is_empty());
        // DTLS-SRTP keys itself on the media path: the TLS is not its signalling.
        let mut dtls = media.clone();
        dtls.encryption = "dtls-srtp";
        dtls.protocols = vec!["dtls", "srtp"];
        let c = &infer_calls(&[sig.clone(), dtls], &[])[0];
        assert_eq!(c.signalling.protocol, "unknown");
        // Another address pair on a port that is not sips: nothing visible ties it.
        let mut other = sig;
        other.dst = ep("192.0.2.99", 443);
        let c = &infer_calls(&[other, media], &[])[0];
        assert_eq!(c.signalling.protocol, "unknown");
    }

    #[test]
    fn keeps_a_webrtc_apps_https_as_https() {
        let mut media = flow(
            1,
            ep("192.168.1.5", 50000),
            ep("142.250.82.76", 19305),
            (10.0, 70.0),
            vec!["stun", "dtls"],
        );
        media.encryption = "dtls-srtp";
        media.app = Some("meet".into());
        let mut web = tls(
            2,
            ep("192.168.1.5", 40000),
            ep("142.250.82.76", 443),
            (1.0, 70.0),
        );
        web.app = Some("meet".into());
        let c = &infer_calls(&[media, web], &[])[0];
        assert_eq!(
            (c.signalling.protocol, c.signalling.transport),
            ("https", "tls")
        );
        assert!(c.signalling.evidence.is_empty());
    }

    #[test]
    fn rejects_flows_that_are_not_media() {
        let dns = flow(
            1,
            ep("192.168.1.5", 5353),
            ep("192.0.2.53", 53),
            (0.0, 1.0),
            vec!["dns"],
        );
        let stun_only = flow(
            2,
            ep("192.168.1.5", 40000),
            ep("192.0.2.9", 3478),
            (0.0, 1.0),
            vec!["stun"],
        );
        assert!(infer_calls(&[dns, stun_only], &[]).is_empty());
    }

    /// An app's encrypted UDP media with nothing readable on it: `pps` each
    /// way for `secs`, packets of `size` bytes.
    fn shaped(
        id: u32,
        src: EndpointOut,
        dst: EndpointOut,
        secs: f64,
        pps: u64,
        size: u64,
    ) -> FlowOut {
        let mut f = flow(id, src, dst, (100.0, 100.0 + secs), vec![]);
        let n = pps * secs as u64;
        f.packets_fwd = n;
        f.packets_rev = n;
        f.packets = 2 * n;
        f.bytes_fwd = n * size;
        f.bytes_rev = n * size;
        f.bytes = 2 * n * size;
        f
    }

    #[test]
    fn parses_an_apps_media_shaped_udp_as_a_call_encrypted_by_policy() {
        // Telegram P2P: the app comes from the local socket's STUN to its
        // reflectors; 50 packets a second each way of 160 bytes for 60 s.
        let mut p2p = shaped(
            1,
            ep("192.168.12.169", 42405),
            ep("93.36.13.115", 35393),
            60.0,
            50,
            160,
        );
        p2p.app = Some("telegram".into());
        let calls = infer_calls(&[p2p.clone()], &[]);
        assert_eq!(calls.len(), 1);
        let c = &calls[0];
        assert_eq!(
            (c.encrypted, c.encryption_ends, c.encryption_basis),
            ("yes", "peer", "policy")
        );
        assert_eq!(c.media[0].encryption, "unknown");
        assert!(
            c.verdict
                .contains("encrypted per Telegram's documented end-to-end policy"),
            "{}",
            c.verdict
        );
        assert!(
            c.verdict.contains("payload itself cannot be checked"),
            "{}",
            c.verdict
        );
        // With STUN on the 5-tuple (ICE checks) it is still media.
        let mut with_stun = p2p.clone();
        with_stun.protocols = vec!["stun"];
        assert_eq!(infer_calls(&[with_stun], &[]).len(), 1);
        // An app without a documented policy: encryption stays unknown.
        let mut line = p2p.clone();
        line.app = Some("line".into());
        let c = &infer_calls(&[line], &[])[0];
        assert_eq!((c.encrypted, c.encryption_basis), ("unknown", "measured"));
    }

    #[test]
    fn rejects_bulk_short_slow_and_unnamed_udp_as_calls() {
        let base = |id| {
            let mut f = shaped(
                id,
                ep("192.168.1.5", 40000 + id as u16),
                ep("91.108.9.35", 443),
                60.0,
                50,
                160,
            );
            f.app = Some("telegram".into());
            f.app_evidence = Some(AppEvidence::OperatorIpRange);
            f
        };
        // A download: full-size packets one way, acknowledgements back.
        let mut bulk = base(1);
        bulk.bytes_fwd = bulk.packets_fwd * 80;
        bulk.bytes_rev = bulk.packets_rev * 1350;
        // Two seconds: ICE checks or a retry burst, not a call.
        let mut short = base(2);
        short.last_ts = short.first_ts + 2.0;
        // Five packets a second each way: keepalives and presence.
        let mut slow = base(3);
        slow.packets_fwd = 300;
        slow.packets_rev = 300;
        // One way only.
        let mut one_way = base(4);
        one_way.packets_rev = 0;
        one_way.bytes_rev = 0;
        // No app: shape alone says nothing (games, VPNs...).
        let mut unnamed = base(5);
        unnamed.app = None;
        unnamed.app_evidence = None;
        // Something vcscope reads (QUIC) is judged by it, not by shape.
        let mut quic = base(6);
        quic.protocols = vec!["quic"];
        // A DNS flow named by its question.
        let mut dns = base(7);
        dns.app_evidence = Some(AppEvidence::DnsQuery);
        assert!(infer_calls(&[bulk, short, slow, one_way, unnamed, quic, dns], &[]).is_empty());
        // The same shape, well formed, is a call.
        assert_eq!(infer_calls(&[base(8)], &[]).len(), 1);
    }

    #[test]
    fn parses_app_framed_media_without_rtp_as_a_call() {
        // imo's datagrams both ways: media of an imo call, encryption unknown.
        let mut imo = flow(
            1,
            ep("192.168.12.169", 49207),
            ep("185.155.137.30", 36535),
            (0.0, 3.0),
            vec![],
        );
        imo.app = Some("imo".into());
        imo.app_evidence = Some(AppEvidence::ImoDatagram);
        // The same kind of flow named only by its server's address, too
        // short to have a call's shape (under three seconds): not media.
        let mut by_address = imo.clone();
        by_address.last_ts = 2.5;
        by_address.id = 2;
        by_address.src = ep("192.168.12.170", 40000);
        by_address.app_evidence = Some(AppEvidence::OperatorIpRange);
        // Too few packets one way: not a conversation.
        let mut one_way = imo.clone();
        one_way.id = 3;
        one_way.src = ep("192.168.12.171", 40000);
        one_way.packets_rev = 2;
        let calls = infer_calls(&[imo, by_address, one_way], &[]);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].app.as_deref(), Some("imo"));
        assert_eq!(calls[0].encrypted, "unknown");
        assert_eq!(calls[0].flow_ids, vec![1]);
    }
}

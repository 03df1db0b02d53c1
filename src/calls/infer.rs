//! Calls without SIP: most videoconferencing today (WebRTC apps, Zoom,
//! Teams, Meet, WhatsApp...) has no visible signalling, so a call is
//! inferred from its media. Media flows (RTP/SRTP streams, DTLS-SRTP, TURN
//! ChannelData, ZRTP) of one local client that overlap in time and belong to
//! the same app form one call; STUN-only flows and TLS/QUIC flows of that
//! client around the same time give its STUN servers and signalling
//! servers. Pure function over the flow and relay records.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::net::IpAddr;

use crate::apps::AppEvidence;
use crate::report::{CallEndpointOut, CallOut, FlowOut, MediaOut, RelayOut, SignallingOut};
use crate::scope::scope_of;

/// Gap (seconds) that still joins two media flows of a client into one call.
const JOIN_GAP_S: f64 = 30.0;
/// Signalling looked for this long before the media starts.
const SIGNALLING_BEFORE_S: f64 = 300.0;

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

/// Services whose servers terminate (decrypt) media: SFUs / media servers.
/// End-to-end encrypted apps (WhatsApp, Signal, FaceTime) relay SRTP they
/// cannot read.
fn app_terminates_media(app: Option<&str>) -> Option<bool> {
    match app? {
        "zoom" | "teams" | "skype" | "webex" | "meet" | "jitsi" | "discord" | "gotomeeting"
        | "bluejeans" => Some(true),
        "whatsapp" | "signal" | "facetime" | "messenger" | "telegram" | "viber" => Some(false),
        _ => None,
    }
}

/// Infers calls from media flows that no SIP call claimed.
pub fn infer_calls(flows: &[FlowOut], relays: &[RelayOut]) -> Vec<CallOut> {
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
            one_call(n + 1, &client, &fs, near, relays)
        })
        .collect()
}

fn one_call(
    n: usize,
    client: &str,
    fs: &[&FlowOut],
    near: &[&FlowOut],
    relays: &[RelayOut],
) -> CallOut {
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
    let signalling: Vec<&FlowOut> = related
        .iter()
        .copied()
        .filter(|f| matches!(f.encryption, "tls" | "quic"))
        .filter(|f| app.is_some() && f.app == app)
        .collect();

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
                ip: ip.to_string(),
                port,
                role,
                operator,
                rdns: None,
            });
        }
    };
    let terminates = app_terminates_media(app.as_deref());
    let mut ends: Vec<&'static str> = Vec::new();
    let mut media = Vec::new();
    for f in fs {
        let (l, r) = local_and_remote(f);
        let (local, remote) = (side(f, l), side(f, r));
        push(&local.ip, local.port, "peer", None);
        let is_relay = relays.iter().any(|x| {
            x.ip == remote.ip && x.port == remote.port && matches!(x.kind, "turn" | "media-relay")
        });
        let remote_public = ip(&remote.ip).is_some_and(|a| !scope_of(a).is_internal());
        let (role, end) = if is_relay {
            let end = match terminates {
                Some(true) => "provider-server",
                Some(false) => "peer",
                None => "unknown",
            };
            ("relay", end)
        } else if remote_public {
            // A server of the service's operator terminates the media; a
            // public address of nobody known is the other peer (behind NAT).
            match (terminates, f.operator.is_some()) {
                (Some(true), true) => ("sfu", "provider-server"),
                (Some(false), _) => ("peer", "peer"),
                (Some(true), false) => ("peer", "peer"),
                (None, true) => ("sfu", "unknown"),
                (None, false) => ("peer", "unknown"),
            }
        } else {
            ("peer", "peer")
        };
        ends.push(end);
        push(&remote.ip, remote.port, role, f.operator.as_ref());
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
        if !f.protocols.contains(&"stun") {
            continue;
        }
        call_flows.push(f.id);
        let (_, r) = local_and_remote(f);
        let remote = side(f, r);
        let kind = relays
            .iter()
            .find(|x| x.ip == remote.ip && x.port == remote.port)
            .map(|x| x.kind);
        match kind {
            Some("turn") => push(&remote.ip, remote.port, "relay", f.operator.as_ref()),
            Some(_) => push(&remote.ip, remote.port, "stun-server", f.operator.as_ref()),
            None => {}
        }
    }
    for f in &signalling {
        let (_, r) = local_and_remote(f);
        let remote = side(f, r);
        push(
            &remote.ip,
            remote.port,
            "signalling-server",
            f.operator.as_ref(),
        );
    }
    let any_plain = media.iter().any(|m| m.encryption == "none");
    let all_enc = media
        .iter()
        .all(|m| !matches!(m.encryption, "none" | "unknown"));
    let encrypted = if any_plain {
        "no"
    } else if all_enc {
        "yes"
    } else {
        "unknown"
    };
    let encryption_ends = if encrypted != "yes" {
        // Nothing to decrypt (plain media) or not known to be encrypted.
        "unknown"
    } else if ends.contains(&"provider-server") {
        "provider-server"
    } else if !ends.is_empty() && ends.iter().all(|e| *e == "peer") {
        "peer"
    } else {
        "unknown"
    };
    let operator = endpoints
        .iter()
        .find(|e| matches!(e.role, "sfu" | "relay"))
        .and_then(|e| e.operator.clone());
    let verdict = sentence(
        app.as_deref(),
        encrypted,
        encryption_ends,
        operator.as_deref(),
        &media,
        &endpoints,
    );
    CallOut {
        call_id: format!("inferred-{n}"),
        from: None,
        to: None,
        app,
        signalling: SignallingOut {
            protocol: if signalling.is_empty() {
                "unknown"
            } else {
                "https"
            },
            transport: if signalling.is_empty() {
                "unknown"
            } else {
                "tls"
            },
            encrypted: !signalling.is_empty(),
        },
        media,
        encrypted,
        endpoints,
        verdict,
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
        encryption_ends,
        inferred: true,
        ladder: Vec::new(),
    }
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

fn sentence(
    app: Option<&str>,
    encrypted: &str,
    ends: &str,
    operator: Option<&str>,
    media: &[MediaOut],
    endpoints: &[CallEndpointOut],
) -> String {
    let who = app.map_or_else(|| "This call".to_string(), |a| format!("This {a} call"));
    let how = media
        .iter()
        .map(|m| m.encryption)
        .find(|e| !matches!(*e, "none" | "unknown"))
        .unwrap_or("srtp");
    let op = operator.map_or_else(|| "the provider".to_string(), str::to_string);
    let relayed = endpoints.iter().any(|e| e.role == "relay");
    match (encrypted, ends) {
        ("no", _) => format!("{who} sends media in clear: anyone on the path can listen."),
        ("yes", "provider-server") => format!(
            "{who} is encrypted on the wire ({how}), but the media goes to {op}'s servers, which decrypt it: not end to end."
        ),
        ("yes", "peer") if relayed => format!(
            "{who} is encrypted ({how}) end to end between the peers; a TURN relay{} forwards it without the keys.",
            operator.map_or_else(String::new, |o| format!(" of {o}"))
        ),
        ("yes", "peer") => format!("{who} is encrypted ({how}) directly between the peers."),
        ("yes", _) => format!("{who} is encrypted on the wire ({how}); where it is decrypted is not known."),
        _ => format!("{who}: the media could not be classified from the capture (no signalling seen)."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{EndpointOut, FlowOut};

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
            ("inferred-1", "yes", "provider-server")
        );
        assert_eq!(c.app.as_deref(), Some("meet"));
        assert!(c
            .endpoints
            .iter()
            .any(|e| e.role == "sfu" && e.ip == "142.250.82.76"));
        assert_eq!(c.flow_ids, vec![1, 2]);
        assert!(c.verdict.contains("not end to end"), "{}", c.verdict);
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
        // The same kind of flow named only by its server's address: not media.
        let mut by_address = imo.clone();
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

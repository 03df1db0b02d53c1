//! Report assembly: the analyzer's tables (flows with their evidence,
//! calls, relays, leaks, warnings, limits) become the [`Report`], with each
//! verdict taken from [`crate::judge`]. This is the one place that reads
//! the analysis as a whole; it is also where [`Analyzer::finish`] lives.

use vcscope_dissectors::srtp::MediaEncryption;

use crate::apps::AppEvidence;
use crate::calls::dialog::{Call, CallMedia, KeyExchange};
use crate::engine::Analyzer;
use crate::evidence::Stream;
use crate::evidence::{FlowState, Proto};
use crate::flow::{EndReason, Flow};
use crate::judge::{
    accepted_streams, call_encrypted, context_secure, flow_encryption, inferred_call,
    stream_encryption, verdict_sentence, Declared, Encryption, MediaShare, SignallingFacts,
};
use crate::net::Transport;
use crate::net::{Direction, Endpoint};
use crate::packet::reasm::ReasmStats;
use crate::report::{
    CallEndpointOut, CallOut, EndpointOut, FlowOut, LimitsOut, MediaOut, RelayOut, Report,
    RtcpReportedOut, RtpStreamOut, SignallingOut, Source,
};

/// The report of the analysis: [`Analyzer`] methods that read it whole.
impl Analyzer {
    /// The report of one flow, for streaming it as it ends.
    pub fn flow_report(&self, idx: u32) -> Option<crate::report::FlowOut> {
        flow_out(self, idx as usize, None)
    }

    /// Streaming: writes the record of each flow that ended since the last
    /// call through `emit` (every flow with `--all-flows`, else those
    /// `is_vc` would list), then lets it go unless a call may need it at
    /// the end (a flow of a call kind, or TLS, DTLS or QUIC; at most
    /// `MAX_HELD_ENDED` of them). The others are counted for
    /// `other_flows`; a held flow not written yet is decided on at the end
    /// ([`Analyzer::flow_deferred`]).
    pub fn stream_ended(&mut self, emit: &mut dyn FnMut(&FlowOut)) {
        for idx in self.take_ended() {
            let idx = idx as usize;
            let Some(f) = self.flows.get(idx) else {
                continue;
            };
            let out = flow_out_of(self, f, None);
            let (transport, port) = (f.transport, remote_of(f).port);
            let vc = is_vc(&out);
            if vc || self.all_flows {
                emit(&out);
                self.streamed += 1;
            }
            if let Some(app) = &out.app {
                let n = self.app_bytes.len();
                match self.app_bytes.get_mut(app.as_str()) {
                    Some(c) => {
                        c.0 += 1;
                        c.1 += out.bytes;
                    }
                    None if n < crate::engine::MAX_APPS => {
                        self.app_bytes.insert(app.clone(), (1, out.bytes));
                    }
                    None => {}
                }
            }
            // TLS, DTLS and QUIC may yet be a call's signalling or a TURN
            // relay (seen at the end, over all flows): held too.
            let hold = vc || out.protocols.iter().any(|p| ["tls", "quic"].contains(p));
            let written = vc || self.all_flows;
            let full = hold && self.flows.held_ended() > crate::engine::MAX_HELD_ENDED;
            if full {
                self.not_held += 1;
            }
            if !hold || full {
                if !written {
                    self.other.add(transport, port, out.packets, out.bytes);
                }
                self.flows.forget(idx);
            } else if !written {
                // Listed or counted at the end, when its call is known.
                self.deferred.insert(out.id);
            }
        }
        self.flows.compact();
    }

    /// Streaming: flow `id` ended but its record waits for the end.
    pub fn flow_deferred(&self, id: u32) -> bool {
        self.deferred.contains(&id)
    }

    /// The `interval` record at packet time `ts`; `before` is the packets
    /// and bytes of the record before.
    pub fn interval_report(
        &self,
        ts: crate::time::Nanos,
        before: (u64, u64),
    ) -> crate::report::IntervalOut {
        let mut apps: Vec<crate::report::AppBytesOut> = self
            .app_bytes
            .iter()
            .map(|(app, &(flows, bytes))| crate::report::AppBytesOut {
                app: app.clone(),
                flows,
                bytes,
            })
            .collect();
        apps.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.app.cmp(&b.app)));
        apps.truncate(10);
        let s = &self.stats;
        crate::report::IntervalOut {
            ts: ts.as_secs_f64(),
            packets: s.packets,
            bytes: s.bytes,
            dropped: self.ctx.dropped,
            interval_packets: s.packets.saturating_sub(before.0),
            interval_bytes: s.bytes.saturating_sub(before.1),
            live_flows: self.flows.live_flows(),
            flows_reported: self.streamed,
            sip_calls: self.ctx.calls.calls().len(),
            top_apps: apps,
        }
    }

    /// Ends the analysis and builds the report.
    pub fn finish(self, files: Vec<String>, interface: Option<String>) -> Report {
        self.finish_threads(files, interface, 1)
    }

    /// [`Analyzer::finish`], building the flows' reports on `threads` threads.
    pub fn finish_threads(
        mut self,
        files: Vec<String>,
        interface: Option<String>,
        threads: usize,
    ) -> Report {
        self.report(files, interface, threads)
    }

    /// [`Analyzer::finish_threads`] without dropping the analyzer. Call it
    /// once, after the last packet: it ends the flows and moves the
    /// warnings into the report. The caller decides when (or, at the end of
    /// a process, whether) the analyzer's memory is freed.
    pub fn report(
        &mut self,
        files: Vec<String>,
        interface: Option<String>,
        threads: usize,
    ) -> Report {
        let r = self.close();
        build_report(self, files, interface, r, threads)
    }
}

pub(crate) fn endpoint_out(e: &Endpoint) -> EndpointOut {
    EndpointOut {
        ip: crate::scope::ip_text(e.ip),
        port: e.port,
    }
}

fn declared<'a>(a: &'a Analyzer, st: &FlowState) -> (Declared, Option<&'a CallMedia>) {
    let Some((c, m)) = st.media_call else {
        return (Declared::default(), None);
    };
    let Some(cm) = a
        .ctx
        .calls
        .get(c)
        .and_then(|call| call.media.get(m as usize))
    else {
        return (Declared::default(), None);
    };
    let secure = cm
        .sides
        .iter()
        .flatten()
        .map(|s| s.secure_profile)
        .reduce(|x, y| x || y);
    (
        Declared {
            key_exchange: Some(cm.key_exchange()),
            secure_profile: secure,
            dtls_on_flow: None,
        },
        Some(cm),
    )
}

fn stream_out(
    a: &Analyzer,
    st: &FlowState,
    s: &Stream,
    context_secure: Option<bool>,
    cm: Option<&CallMedia>,
) -> RtpStreamOut {
    let enc = stream_encryption(s, context_secure);
    let codec = cm
        .and_then(|m| m.codec(s.payload_type))
        .map(|(n, _)| n.to_string())
        .or_else(|| crate::dissect::media::clock_of(&a.ctx, None, s.payload_type).1);
    let mut evidence = Vec::new();
    let v = &s.votes;
    evidence.push(format!(
        "payload votes: {} plain, {} random, {} unknown",
        v.plain(),
        v.encrypted(),
        v.unknown()
    ));
    if context_secure == Some(true) {
        evidence.push("secure context (sdp/dtls/zrtp/srtcp)".into());
    }
    if s.clock_estimated {
        evidence.push("clock rate estimated from timestamps".into());
    }
    let rtcp = st
        .media
        .as_deref()
        .and_then(|m| m.rtcp_reports.iter().find(|r| r.ssrc == s.ssrc))
        .map(|r| RtcpReportedOut {
            fraction_lost: f64::from(r.fraction_lost) / 256.0,
            cumulative_lost: i64::from(r.cumulative_lost),
            jitter_ms: s.clock.map(|c| f64::from(r.jitter) * 1000.0 / f64::from(c)),
        });
    RtpStreamOut {
        ssrc: s.ssrc,
        payload_type: s.payload_type,
        codec,
        packets: s.stats.packets(),
        lost: s.stats.lost(),
        jitter_ms: round3(s.stats.jitter_ms().unwrap_or(0.0)),
        encrypted: enc == MediaEncryption::Encrypted,
        encryption: match enc {
            MediaEncryption::Plain => "plain",
            MediaEncryption::Encrypted => "encrypted",
            MediaEncryption::Unknown => "unknown",
        },
        direction: match s.dir {
            Direction::Forward => "forward",
            Direction::Reverse => "reverse",
        },
        bytes: s.stats.bytes(),
        first_ts: s.first_ts.as_secs_f64(),
        last_ts: s.last_ts.as_secs_f64(),
        expected: s.stats.expected(),
        reordered: s.stats.reordered(),
        duplicates: s.stats.duplicates(),
        max_delta_ms: round3(s.stats.max_delta_ms()),
        max_jitter_ms: round3(s.stats.max_jitter_ms().unwrap_or(0.0)),
        clock_rate: s.clock,
        relayed: s.relayed,
        encryption_evidence: evidence,
        series: s.series.points(),
        series_width_s: s.series.width_s(),
        rtcp_reported: rtcp,
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Facts across flows, computed once per report.
#[derive(Debug, Default)]
pub(crate) struct Across {
    /// Endpoints of UDP flows that ran a DTLS handshake with use_srtp → that flow's id.
    dtls_srtp_endpoints: rustc_hash::FxHashMap<Endpoint, u32>,
}

impl Across {
    pub(crate) fn of(a: &Analyzer) -> Across {
        let mut m = rustc_hash::FxHashMap::default();
        for f in a.flows.all() {
            let d = f.state.media.as_deref().and_then(|m| m.dtls.as_deref());
            if d.is_some_and(|d| d.use_srtp_offered || d.srtp_profile.is_some()) {
                m.entry(f.src).or_insert(f.id);
                m.entry(f.dst).or_insert(f.id);
            }
        }
        Across {
            dtls_srtp_endpoints: m,
        }
    }
}

pub(crate) fn flow_out(a: &Analyzer, idx: usize, across: Option<&Across>) -> Option<FlowOut> {
    a.flows.get(idx).map(|f| flow_out_of(a, f, across))
}

fn flow_out_of(a: &Analyzer, f: &Flow, across: Option<&Across>) -> FlowOut {
    let st = &f.state;
    let (mut decl, cm) = declared(a, st);
    // Only private endpoints identify one ICE agent's socket; a server's
    // public endpoint is shared by many clients.
    if let Some(x) = across {
        let local = |e: &Endpoint| crate::scope::scope_of(e.ip).is_internal();
        decl.dtls_on_flow = [f.src, f.dst]
            .iter()
            .filter(|e| local(e))
            .find_map(|e| x.dtls_srtp_endpoints.get(e).copied())
            .filter(|&id| id != f.id);
    }
    let (enc, evidence) = flow_encryption(st, decl);
    let ss = accepted_streams(st);
    let context_secure = context_secure(st, decl);
    let rtp_streams: Vec<RtpStreamOut> = ss
        .iter()
        .map(|s| stream_out(a, st, s, context_secure, cm))
        .collect();
    let mut protocols: Vec<&'static str> = st.protocols.iter().map(Proto::as_str).collect();
    if rtp_streams.iter().any(|s| s.encrypted) {
        protocols.push("srtp");
    }
    if rtp_streams.iter().any(|s| !s.encrypted) {
        protocols.push("rtp");
    }
    protocols.sort_by_key(|p| Proto::ALL.iter().position(|q| q.as_str() == *p));
    protocols.dedup();
    let call_idx = st.sig_call.or(st.media_call.map(|(c, _)| c));
    let call_id = call_idx
        .and_then(|c| a.ctx.calls.get(c))
        .map(|c| c.call_id.clone());
    let mut findings = st.findings.clone();
    if let Some(s) = st.stun.as_deref() {
        if s.unauthenticated > 0 {
            findings.push(format!(
                "unauthenticated STUN: {} request(s) without MESSAGE-INTEGRITY",
                s.unauthenticated
            ));
        }
    }
    if enc == Encryption::None && !ss.is_empty() {
        findings.push("cleartext media: anyone on the path can listen".into());
    }
    if let Some(w) = cm.and_then(|m| m.sides.iter().flatten().find_map(|s| s.weak_suite.clone())) {
        findings.push(format!(
            "weak or NULL SRTP crypto suite offered in SDP: {w}"
        ));
    }
    let tls = st.tls.as_deref();
    // RFC 3261 section 26.2.2: sips on 5061; ALPN "sip" (RFC 7118 uses websockets).
    let sip_tls = st.protocols.contains(Proto::Tls)
        && (f.src.port == 5061
            || f.dst.port == 5061
            || tls
                .and_then(|t| t.alpn.as_deref())
                .is_some_and(|a| a.eq_ignore_ascii_case("sip")));
    if sip_tls {
        findings.push(
            "SIP over TLS: encrypted signalling (calls inside are not visible; SDES keys in it are not exposed)"
                .into(),
        );
    }
    if let Some(t) = tls {
        if let Some(c) = t.cipher {
            let info = vcscope_dissectors::tls::cipher_suite_info(c);
            if info.forward_secret == Some(false) {
                findings.push("TLS without forward secrecy (static RSA key exchange)".into());
            }
            if info.weak {
                findings.push("weak TLS cipher suite".into());
            }
        }
    }
    let (app, operator, app_evidence) = identify(f, st);
    if let Some(why) = app_evidence {
        findings.push(format!("app identified by {why}"));
    }
    FlowOut {
        place: Default::default(),
        id: f.id,
        transport: f.transport.as_str(),
        src: endpoint_out(&f.src),
        dst: endpoint_out(&f.dst),
        first_ts: f.first_ts.as_secs_f64(),
        last_ts: f.last_ts.as_secs_f64(),
        packets: f.total_packets(),
        bytes: f.total_bytes(),
        protocols,
        encryption: enc.as_str(),
        sni: st.sni.as_deref().map(str::to_string),
        dns_name: st.dns_name.as_deref().map(str::to_string),
        app: app.map(str::to_string),
        call_id,
        rtp_streams,
        packets_fwd: f.packets[0],
        packets_rev: f.packets[1],
        bytes_fwd: f.bytes[0],
        bytes_rev: f.bytes[1],
        ended: match f.ended {
            Some(EndReason::Idle) => "idle",
            Some(EndReason::Evicted) => "evicted",
            Some(EndReason::CaptureEnd) | None => "capture-end",
        },
        encryption_evidence: evidence,
        findings,
        operator: operator.map(str::to_string),
        tls_version: tls.and_then(|t| t.version).map(tls_version_name),
        alpn: tls.and_then(|t| t.alpn.as_deref()).map(str::to_string),
        tls_certificate_names: tls
            .map(|t| t.certificate_names.iter().map(|n| n.to_string()).collect())
            .unwrap_or_default(),
        stun: st.stun.as_deref().map(|s| crate::report::StunOut {
            messages: s.messages,
            classic: s.classic,
            ice_checks: s.ice_checks,
            nominated: s.nominated,
            authenticated: s.authenticated,
            unauthenticated: s.unauthenticated,
            mapped_addresses: s.mapped.iter().map(|a| a.to_string()).collect(),
            relayed_addresses: s.relayed.iter().map(|a| a.to_string()).collect(),
            channels: s.channels.clone(),
            software: s.software.as_deref().map(str::to_string),
            vendor: s.vendor.map(|v| format!("{v:?}").to_lowercase()),
        }),
        rdns: None,
        app_evidence,
    }
}

/// A local socket (internal address and port) is one app's: its STUN, DTLS
/// and media flows share it. Flows without an app take the app another flow
/// of the same socket was identified as (when only one app uses it).
fn share_app_by_socket(flows: &mut [FlowOut], all: &[Flow]) {
    // `flows[i]` is the report of `all[i]`: its endpoints are read there,
    // as addresses, not parsed back from text.
    let internal = |e: &Endpoint| crate::scope::scope_of(e.ip).is_internal();
    type Socket = (Endpoint, Transport);
    let mut by_socket: rustc_hash::FxHashMap<Socket, Option<&str>> = Default::default();
    // A DNS flow's app is the name it asked about: a resolver's socket
    // serves every app, so DNS flows neither lend nor take an app here.
    let dns = |f: &FlowOut| f.protocols.contains(&"dns");
    for (f, src) in flows.iter().zip(all) {
        let Some(app) = &f.app else { continue };
        if dns(f) {
            continue;
        }
        for e in [src.src, src.dst].into_iter().filter(internal) {
            let slot = by_socket
                .entry((e, src.transport))
                .or_insert(Some(app.as_str()));
            if *slot != Some(app.as_str()) {
                // Two apps on one socket: ambiguous, say nothing.
                *slot = None;
            }
        }
    }
    if by_socket.is_empty() {
        return;
    }
    let found: Vec<(usize, String)> = flows
        .iter()
        .zip(all)
        .enumerate()
        .filter(|(_, (f, _))| f.app.is_none() && !dns(f))
        .filter_map(|(i, (_, src))| {
            [src.src, src.dst]
                .into_iter()
                .filter_map(|e| by_socket.get(&(e, src.transport)).map(|app| (e, app)))
                .filter(|(e, _)| internal(e))
                .find_map(|(_, app)| *app)
                .map(|app| (i, app.to_string()))
        })
        .collect();
    for (i, app) in found {
        if let Some(f) = flows.get_mut(i) {
            f.findings.push(format!(
                "app from another flow of the same local socket ({app})"
            ));
            f.app = Some(app);
        }
    }
}

/// Per app, transport and server port: the destinations the app's flows used.
fn firewall(flows: &[FlowOut]) -> Vec<crate::report::FirewallOut> {
    use std::collections::{BTreeMap, BTreeSet};
    type Key = (String, &'static str, u16);
    let mut m: BTreeMap<Key, (BTreeSet<String>, BTreeSet<String>, u64, u64)> = BTreeMap::new();
    // A DNS flow named by its question goes to the resolver, not the app.
    for f in flows.iter().filter(|f| !f.protocols.contains(&"dns")) {
        let Some(app) = &f.app else { continue };
        let internal = |e: &EndpointOut| {
            e.ip.parse()
                .is_ok_and(|a| crate::scope::scope_of(a).is_internal())
        };
        // The server side: the public one, else the destination of the first packet.
        let server = if internal(&f.dst) && !internal(&f.src) {
            &f.src
        } else {
            &f.dst
        };
        let e = m
            .entry((app.clone(), f.transport, server.port))
            .or_default();
        if e.0.len() < 64 {
            e.0.insert(server.ip.clone());
        }
        if let Some(o) = &f.operator {
            e.1.insert(o.clone());
        }
        e.2 += 1;
        e.3 += f.bytes;
    }
    m.into_iter()
        .map(
            |((app, transport, port), (d, o, n, b))| crate::report::FirewallOut {
                app,
                transport,
                port,
                destinations: d.into_iter().collect(),
                operators: o.into_iter().collect(),
                flows: n,
                bytes: b,
            },
        )
        .collect()
}

/// The side of a flow outside the local network: the public one when
/// exactly one side is internal, else the destination of the first packet.
fn remote_of(f: &Flow) -> Endpoint {
    let internal = |e: &Endpoint| crate::scope::scope_of(e.ip).is_internal();
    if internal(&f.dst) && !internal(&f.src) {
        f.src
    } else {
        f.dst
    }
}

/// App and operator of a flow, strongest evidence first: the STUN vendor
/// attributes, the SNI, the names of the server's TLS certificate when there
/// is no SNI, the operator's service-specific ranges, then a well-known port
/// on an address of that operator.
fn identify(
    f: &Flow,
    st: &FlowState,
) -> (
    Option<&'static str>,
    Option<&'static str>,
    Option<AppEvidence>,
) {
    use crate::apps::{app_of_certificate_names, app_of_port, app_of_sni, operator_of_ip};
    let remote = remote_of(f);
    let op = operator_of_ip(remote.ip);
    let sni = st.sni.as_deref().and_then(app_of_sni);
    // The certificate speaks for the flow only when the client named no
    // server: with an SNI, the certificate is the one for that name, and its
    // other names are other services of the same server (Microsoft's
    // telemetry certificate lists pipe.skype.com on Teams flows).
    let cert = st
        .tls
        .as_deref()
        .filter(|_| st.sni.is_none())
        .and_then(|t| app_of_certificate_names(t.certificate_names.iter().map(|n| &**n)));
    // A DNS flow's name is what it asked about: it names an app, not the
    // resolver's operator. Any other flow's is its remote address's name.
    let is_dns = st.protocols.contains(Proto::Dns);
    let dns = st.dns_name.as_deref().and_then(app_of_sni);
    let name = sni.or(cert).or(dns.filter(|_| !is_dns));
    let operator = op.map(|o| o.name).or(name.map(|m| m.operator));
    // Google's TURN service serves every WebRTC app: Meet only on Meet's ranges.
    let vendor_app = st
        .app
        .filter(|a| *a != "meet" || op.is_some_and(|o| o.service == Some("meet")));
    if let Some(a) = vendor_app {
        return (Some(a), operator, st.app_evidence);
    }
    if let Some(m) = sni {
        return (Some(m.app), operator, Some(AppEvidence::Sni));
    }
    if let Some(m) = cert {
        return (Some(m.app), operator, Some(AppEvidence::TlsCertificateName));
    }
    if let Some(m) = dns {
        let why = if is_dns {
            AppEvidence::DnsQuery
        } else {
            AppEvidence::DnsName
        };
        return (Some(m.app), operator, Some(why));
    }
    if let Some(service) = op.and_then(|o| o.service) {
        return (Some(service), operator, Some(AppEvidence::OperatorIpRange));
    }
    if let Some(a) = app_of_port(f.transport.as_str(), remote.port, op.as_ref()) {
        return (Some(a), operator, Some(AppEvidence::PortOnOperatorIpRange));
    }
    (None, operator, None)
}

fn tls_version_name(v: u16) -> String {
    match v {
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        0xfeff => "DTLS 1.0".into(),
        0xfefd => "DTLS 1.2".into(),
        0xfefc => "DTLS 1.3".into(),
        other => format!("0x{other:04x}"),
    }
}

/// One call's report, from its signalling facts and its media flows' verdicts.
fn call_out(call: &Call, flows: &[FlowOut]) -> CallOut {
    let by_id = |id: u32| by_id(flows, id).and_then(|i| flows.get(i));
    let sig_encrypted = matches!(call.sig_transport, "tls" | "wss");
    let mut media = Vec::new();
    let mut any_exposed = false;
    let mut any_media_seen = false;
    for cm in &call.media {
        let kx = cm.key_exchange();
        let exposed = cm.keys_exposed() && !sig_encrypted;
        any_exposed |= exposed;
        let announced = cm.sides.iter().flatten().find_map(|s| {
            s.addr.map(|ip| EndpointOut {
                ip: ip.to_string(),
                port: s.port,
            })
        });
        let flows_here: Vec<&FlowOut> = cm.flows.iter().filter_map(|&id| by_id(id)).collect();
        if flows_here.is_empty() {
            // Declared only: say what the SDP promised.
            let declared = match kx {
                KeyExchange::None => "none",
                KeyExchange::Sdes => "srtp",
                KeyExchange::Dtls => "dtls-srtp",
                KeyExchange::Zrtp => "zrtp",
                KeyExchange::Unknown => "unknown",
            };
            media.push(MediaOut {
                flow_id: None,
                kind: cm.kind,
                encryption: declared,
                key_exchange: kx.as_str(),
                keys_exposed: exposed,
                announced,
                profile: cm.profile().map(str::to_string),
                seen: false,
                announced_all: announced_all(cm),
            });
            continue;
        }
        for f in flows_here {
            any_media_seen = true;
            let enc = f.encryption;
            media.push(MediaOut {
                flow_id: Some(f.id),
                kind: cm.kind,
                encryption: enc,
                key_exchange: kx.as_str(),
                keys_exposed: exposed,
                announced: announced.clone(),
                profile: cm.profile().map(str::to_string),
                seen: true,
                announced_all: announced_all(cm),
            });
        }
    }
    let shares: Vec<MediaShare> = media
        .iter()
        .map(|m| MediaShare {
            encryption: m.encryption,
            packets: m.flow_id.and_then(by_id).map_or(0, |f| {
                f.packets
                    .saturating_sub(f.stun.as_ref().map_or(0, |s| s.messages))
            }),
            seen: m.seen,
        })
        .collect();
    let judged = call_encrypted(any_exposed, &shares);
    let encrypted = judged.encrypted;
    let mut endpoints = Vec::new();
    if let Some(c) = call.caller {
        endpoints.push(call_ep(c, "caller"));
    }
    if let Some(c) = call.callee {
        endpoints.push(call_ep(c, "callee"));
    }
    for cm in &call.media {
        for f in cm.flows.iter().filter_map(|&id| by_id(id)) {
            for e in [&f.src, &f.dst] {
                let role = if call
                    .caller
                    .is_some_and(|c| crate::scope::ip_text(c.ip) == e.ip)
                {
                    "caller"
                } else if call
                    .callee
                    .is_some_and(|c| crate::scope::ip_text(c.ip) == e.ip)
                {
                    "callee"
                } else {
                    "peer"
                };
                if !endpoints
                    .iter()
                    .any(|x: &CallEndpointOut| x.ip == e.ip && x.port == e.port)
                {
                    endpoints.push(CallEndpointOut {
                        place: Default::default(),
                        ip: e.ip.clone(),
                        port: e.port,
                        role,
                        operator: e
                            .ip
                            .parse()
                            .ok()
                            .and_then(crate::apps::operator_of_ip)
                            .map(|o| o.name.to_string()),
                        rdns: None,
                    });
                }
            }
        }
    }
    let facts = SignallingFacts {
        sig_transport: call.sig_transport,
        state: call.state,
        final_status: call.final_status,
    };
    let verdict = verdict_sentence(&facts, &judged, sig_encrypted, any_media_seen, &media);
    CallOut {
        countries: Vec::new(),
        call_id: call.call_id.clone(),
        from: call.from.clone(),
        to: call.to.clone(),
        app: None,
        signalling: SignallingOut {
            protocol: "sip",
            transport: call.sig_transport,
            encrypted: sig_encrypted,
            evidence: Vec::new(),
        },
        media,
        encrypted,
        endpoints,
        verdict,
        state: call.state.as_str(),
        first_ts: call.first_ts.as_secs_f64(),
        last_ts: call.last_ts.as_secs_f64(),
        setup_ts: Some(call.first_ts.as_secs_f64()),
        answer_ts: call.answer_ts.map(|t| t.as_secs_f64()),
        end_ts: call.end_ts.map(|t| t.as_secs_f64()),
        signalling_flows: call.signalling_flows.clone(),
        flow_ids: {
            let mut v: Vec<u32> = call.signalling_flows.clone();
            v.extend(call.media.iter().flat_map(|m| m.flows.iter().copied()));
            v.sort_unstable();
            v.dedup();
            v
        },
        user_agents: call.user_agents.clone(),
        final_status: call.final_status,
        bye_reason: call.bye_reason.clone(),
        findings: call.findings.clone(),
        encryption_ends: "unknown",
        inferred: false,
        ladder: call
            .events
            .iter()
            .map(|e| crate::report::LadderOut {
                ts: e.ts.as_secs_f64(),
                src: endpoint_out(&e.src),
                dst: endpoint_out(&e.dst),
                label: e.label.clone(),
            })
            .collect(),
    }
}

fn announced_all(cm: &CallMedia) -> Vec<crate::report::AnnouncedOut> {
    cm.history
        .iter()
        .map(|(ep, side)| crate::report::AnnouncedOut {
            ip: crate::scope::ip_text(ep.ip),
            port: ep.port,
            by: if *side == 0 { "caller" } else { "callee" },
        })
        .collect()
}

fn call_ep(e: Endpoint, role: &'static str) -> CallEndpointOut {
    CallEndpointOut {
        place: Default::default(),
        ip: crate::scope::ip_text(e.ip),
        port: e.port,
        role,
        operator: crate::apps::operator_of_ip(e.ip).map(|o| o.name.to_string()),
        rdns: None,
    }
}

/// The reports of every flow, in id order, built on `threads` threads over
/// contiguous ranges of flows (one thread spawns nothing).
fn flows_out(a: &Analyzer, across: &Across, threads: usize) -> Vec<FlowOut> {
    let all = a.flows.all();
    let n = all.len();
    let one = |f: &Flow| flow_out_of(a, f, Some(across));
    let parts = threads.clamp(1, n.max(1));
    // Sized up front: growing a vector of 680-byte entries by doubling
    // copies it all again (100 MiB at 150k flows).
    let mut flows = Vec::with_capacity(n);
    if parts == 1 {
        flows.extend(all.iter().map(one));
        return flows;
    }
    // Part k is flows [k·n/parts, (k+1)·n/parts), written in place into
    // its part of the vector (emptied entries first, so that no part is
    // ever held twice: 680 bytes a flow); part 0 runs here.
    flows.resize_with(n, FlowOut::default);
    let at = |k: usize| k * n / parts;
    std::thread::scope(|s| {
        let mut rest = flows.as_mut_slice();
        let mut mine: &mut [FlowOut] = &mut [];
        let mut helpers = Vec::with_capacity(parts - 1);
        for k in 0..parts {
            let (part, tail) = rest.split_at_mut(at(k + 1) - at(k));
            rest = tail;
            let from = &all[at(k)..at(k + 1)];
            if k == 0 {
                mine = part;
            } else {
                helpers.push(s.spawn(move || fill(part, from, one)));
            }
        }
        fill(mine, &all[..at(1)], one);
        for h in helpers {
            if let Err(panic) = h.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
    flows
}

/// Writes the entry of each of `from` into `to`.
fn fill(to: &mut [FlowOut], from: &[Flow], one: impl Fn(&Flow) -> FlowOut) {
    for (slot, f) in to.iter_mut().zip(from) {
        *slot = one(f);
    }
}

/// TLS and DTLS flows that are TURN (`calls::tls_relay`): each says so
/// (protocol `turn`, a finding) and its server joins the relays, kind
/// `turn`, transport `tls` or `dtls`, with the evidence named. Bounded by
/// the flow table.
fn turn_over_tls(a: &Analyzer, flows: &mut [FlowOut], relays: &mut Vec<RelayOut>) {
    use crate::calls::tls_relay::{turn_evidence, TlsFlowView};
    let mut found: Vec<RelayOut> = Vec::new();
    for f in a.flows.all() {
        let st = &f.state;
        let Some(t) = st.tls.as_deref() else {
            continue;
        };
        // TLS or DTLS straight on the 5-tuple: a flow with STUN or TURN in
        // clear is already known, and its DTLS is inside the relayed data
        // (to the peer), not to the server.
        if [Proto::Stun, Proto::Turn, Proto::TurnChannelData]
            .iter()
            .any(|p| st.protocols.contains(*p))
        {
            continue;
        }
        let transport = match f.transport {
            Transport::Tcp if st.protocols.contains(Proto::Tls) => "tls",
            Transport::Udp if st.protocols.contains(Proto::Dtls) => "dtls",
            _ => continue,
        };
        let Some(out) = by_id(flows, f.id).and_then(|i| flows.get_mut(i)) else {
            continue;
        };
        let (client, server) = match t.client_dir {
            Some(Direction::Reverse) => (&out.dst, &out.src),
            _ => (&out.src, &out.dst),
        };
        let view = TlsFlowView {
            client_ip: &client.ip,
            server_ip: &server.ip,
            server_port: server.port,
            sni: out.sni.as_deref(),
            alpn_turn: t.alpn_turn,
            server_operator: out.operator.as_deref(),
        };
        let (evidence, named) = turn_evidence(&view, relays);
        if evidence.is_empty() {
            continue;
        }
        let (client_ip, server) = (client.ip.clone(), server.clone());
        if !out.protocols.contains(&"turn") {
            out.protocols.push("turn");
            out.protocols
                .sort_by_key(|p| Proto::ALL.iter().position(|q| q.as_str() == *p));
        }
        out.findings.push(format!(
            "TURN over {}: {}",
            transport.to_uppercase(),
            evidence.join("; ")
        ));
        let at = found
            .iter()
            .position(|r| r.ip == server.ip && r.port == server.port && r.transport == transport);
        let r = match at {
            Some(i) => &mut found[i],
            None => {
                found.push(RelayOut {
                    place: Default::default(),
                    ip: server.ip.clone(),
                    port: server.port,
                    transport,
                    kind: "turn",
                    operator: named.map(str::to_string).or_else(|| out.operator.clone()),
                    clients: Vec::new(),
                    relayed_addresses: Vec::new(),
                    channel_data_packets: 0,
                    peers: Vec::new(),
                    flow_ids: Vec::new(),
                    evidence: Vec::new(),
                    used: None,
                    relayed_packets: 0,
                });
                let n = found.len() - 1;
                &mut found[n]
            }
        };
        if !r.clients.contains(&client_ip) {
            r.clients.push(client_ip);
        }
        r.flow_ids.push(f.id);
        for e in evidence {
            if !r.evidence.contains(&e) {
                r.evidence.push(e);
            }
        }
    }
    for r in &mut found {
        r.flow_ids.sort_unstable();
    }
    relays.extend(found);
}

pub(crate) fn build_report(
    a: &mut Analyzer,
    files: Vec<String>,
    interface: Option<String>,
    reasm: ReasmStats,
    threads: usize,
) -> Report {
    // Flows let go while streaming leave the table now.
    a.flows.drain_ended().for_each(drop);
    a.ctx.ended.clear();
    a.flows.purge();
    let across = Across::of(a);

    let mut flows = flows_out(a, &across, threads);
    share_app_by_socket(&mut flows, a.flows.all());
    let mut calls: Vec<CallOut> = a
        .ctx
        .calls
        .calls()
        .iter()
        .map(|c| call_out(c, &flows))
        .collect();
    let mut relays = a.ctx.relays.to_report();
    turn_over_tls(a, &mut flows, &mut relays);
    crate::calls::relay::mark_use(&mut relays, &flows);
    calls.extend(
        crate::calls::infer::infer_calls(&flows, &relays)
            .into_iter()
            .map(|(mut call, facts)| {
                let j = inferred_call(&facts);
                call.encrypted = j.encrypted;
                call.encryption_ends = j.encryption_ends;
                call.verdict = j.verdict;
                call
            }),
    );
    // Flows of an inferred call take its id, and its app when they have none.
    for c in calls.iter().filter(|c| c.inferred) {
        // Its SIP over TLS says so on the flow too, when the port or ALPN
        // did not already.
        if c.signalling.protocol == "sip" {
            for &id in &c.signalling_flows {
                if let Some(f) = by_id(&flows, id).and_then(|i| flows.get_mut(i)) {
                    if !f.findings.iter().any(|x| x.starts_with("SIP over TLS")) {
                        f.findings.push(format!(
                            "SIP over {}: encrypted signalling of {} (seen by the call's addresses and timing)",
                            c.signalling.transport.to_uppercase(),
                            c.call_id
                        ));
                    }
                }
            }
        }
        for &id in &c.flow_ids {
            if let Some(f) = by_id(&flows, id).and_then(|i| flows.get_mut(i)) {
                f.call_id.get_or_insert_with(|| c.call_id.clone());
                if f.app.is_none() {
                    if let Some(a) = &c.app {
                        f.app = Some(a.clone());
                        f.findings
                            .push(format!("app from the call it belongs to ({})", c.call_id));
                    }
                }
            }
        }
    }
    let s = &a.stats;
    let limits = a.flows.limits();
    let streams_dropped: u64 = a
        .flows
        .all()
        .iter()
        .filter_map(|f| f.state.media.as_deref())
        .map(|m| m.streams_dropped)
        .sum();
    let mut warnings = std::mem::take(&mut a.ctx.warnings);
    warnings.add_n("rtp-streams-not-tracked", streams_dropped, || {
        format!(
            "more than {} RTP streams on one flow",
            crate::evidence::MAX_STREAMS
        )
    });
    warnings.add_n("leaks-not-kept", a.ctx.leaks.overflow, || {
        "the leak table is full".into()
    });
    warnings.add_n("relays-not-kept", a.ctx.relays.overflow, || {
        "the relay table is full".into()
    });
    warnings.add_n("flows-not-held", a.not_held, || {
        format!(
            "more than {} ended flows of calls held while streaming: later ones are missing from their calls",
            crate::engine::MAX_HELD_ENDED
        )
    });
    warnings.add_n("calls-not-tracked", a.ctx.calls.dropped, || {
        "the call table is full".into()
    });
    let firewall = firewall(&flows);
    let other_flows = if a.all_flows {
        None
    } else {
        let mut tally = std::mem::take(&mut a.other);
        let mut on: rustc_hash::FxHashSet<u32> =
            a.ctx.leaks.to_report().iter().map(|l| l.flow_id).collect();
        on.extend(relays.iter().flat_map(|r| r.flow_ids.iter().copied()));
        let keep = |f: &FlowOut| is_vc(f) || on.contains(&f.id);
        flows.retain(|f| {
            let k = keep(f);
            if !k {
                let t = if f.transport == "tcp" {
                    Transport::Tcp
                } else {
                    Transport::Udp
                };
                tally.add(t, server_port(f), f.packets, f.bytes);
            }
            k
        });
        Some(other_out(&tally))
    };
    Report {
        vcscope_version: env!("CARGO_PKG_VERSION"),
        source: Source {
            files,
            interface,
            packets: s.packets,
            bytes: s.bytes,
            first_ts: s.first_ts.map(|t| t.as_secs_f64()),
            last_ts: s.last_ts.map(|t| t.as_secs_f64()),
            malformed: s.malformed,
            dropped: a.ctx.dropped,
            skipped: s.skipped,
            decapsulated: s.decapsulated,
            reassembled: reasm.reassembled,
            filter: None,
            packet_limit: None,
        },
        calls,
        flows,
        other_flows,
        relays,
        leaks: a.ctx.leaks.to_report(),
        warnings: warnings.to_report(),
        firewall,
        sip: crate::report::SipCountsOut {
            requests: a.ctx.calls.sip.requests.clone(),
            responses: a
                .ctx
                .calls
                .sip
                .responses
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
        },
        limits: LimitsOut {
            max_flows: limits.max_live,
            flow_idle_timeout_s: limits.idle_timeout.0 / 1_000_000_000,
            peak_live_flows: a.flows.peak_live,
            flows_expired: a.flows.expired,
            flows_evicted: a.flows.evicted,
            max_fragment_datagrams: a.reasm_limits.max_pending,
            fragment_datagrams_dropped: reasm.timed_out + reasm.too_large + reasm.table_full,
            max_stream_buffer: a.ctx.limits.stream_buffer,
            stream_bytes_dropped: a.ctx.stream_bytes_dropped,
            max_calls: a.ctx.limits.max_calls,
            calls_dropped: a.ctx.calls.dropped,
            max_dns_names: a.ctx.names.max(),
            dns_names_dropped: a.ctx.names.dropped,
        },
        flows_streamed: 0,
    }
}

/// The position of flow `id` in `flows` (sorted by id, with gaps where
/// flows were let go).
fn by_id(flows: &[FlowOut], id: u32) -> Option<usize> {
    match flows.get((id as usize).wrapping_sub(1)) {
        Some(f) if f.id == id => Some((id as usize) - 1),
        _ => flows.binary_search_by_key(&id, |f| f.id).ok(),
    }
}

/// A flow the default report lists: it carries a videoconferencing
/// protocol, or belongs to an app or a call (its socket's app included).
pub(crate) fn is_vc(f: &FlowOut) -> bool {
    const VC: [&str; 11] = [
        "sip",
        "sdp",
        "rtp",
        "rtcp",
        "srtp",
        "srtcp",
        "stun",
        "turn",
        "turn-channeldata",
        "dtls",
        "zrtp",
    ];
    f.app.is_some() || f.call_id.is_some() || f.protocols.iter().any(|p| VC.contains(p))
}

/// The server side's port: the public side's, else the first packet's
/// destination's (as the firewall section).
fn server_port(f: &FlowOut) -> u16 {
    let internal = |e: &EndpointOut| {
        e.ip.parse()
            .is_ok_and(|a| crate::scope::scope_of(a).is_internal())
    };
    if internal(&f.dst) && !internal(&f.src) {
        f.src.port
    } else {
        f.dst.port
    }
}

/// The `other_flows` section: the 20 busiest pairs by flows.
fn other_out(t: &crate::flow::OtherTally) -> crate::report::OtherFlowsOut {
    let mut v: Vec<crate::report::OtherPortOut> = t
        .by_port
        .iter()
        .map(|(&(tr, port), c)| crate::report::OtherPortOut {
            transport: tr.as_str(),
            port,
            flows: c[0],
            packets: c[1],
            bytes: c[2],
        })
        .collect();
    v.sort_by(|a, b| {
        b.flows
            .cmp(&a.flows)
            .then(a.transport.cmp(b.transport))
            .then(a.port.cmp(&b.port))
    });
    const TOP: usize = 20;
    let rest: u64 = v.iter().skip(TOP).map(|p| p.flows).sum();
    v.truncate(TOP);
    crate::report::OtherFlowsOut {
        flows: t.flows,
        packets: t.packets,
        bytes: t.bytes,
        by_port: v,
        flows_not_listed: rest + t.unlisted,
    }
}

//! Report assembly: the analyzer's tables (flows with their evidence,
//! calls, relays, leaks, warnings, limits) become the [`Report`], with each
//! verdict taken from [`crate::judge`]. This is the one place that reads
//! the analysis as a whole; it is also where [`Analyzer::finish`] lives.

use vcscope_dissectors::srtp::MediaEncryption;

use crate::apps::AppEvidence;
use crate::calls::dialog::{Call, CallMedia, KeyExchange};
use crate::engine::{Analyzer, SocketApps};
use crate::evidence::Stream;
use crate::evidence::{FlowState, MediaState, Proto};
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
use crate::time::Nanos;

pub(crate) mod stream;

/// The report of the analysis: [`Analyzer`] methods that read it whole.
impl Analyzer {
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

/// Each leak names the first call its flow belongs to, so "which call
/// leaked what" needs no join. Taken from the calls' flow lists, which hold
/// whether or not the flow itself is still listed (streaming lets ended
/// flows go).
fn with_calls(
    mut leaks: Vec<crate::report::LeakOut>,
    calls: &[CallOut],
    written: &rustc_hash::FxHashMap<u32, Box<str>>,
) -> Vec<crate::report::LeakOut> {
    // Calls written as they ended (streaming) came first.
    let mut call_of: rustc_hash::FxHashMap<u32, &str> =
        written.iter().map(|(&id, c)| (id, &**c)).collect();
    for c in calls {
        for &id in &c.flow_ids {
            call_of.entry(id).or_insert(&c.call_id);
        }
    }
    for l in &mut leaks {
        l.call_id = call_of.get(&l.flow_id).map(|c| c.to_string());
    }
    leaks
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
    rtcp: Option<&MediaState>,
    s: &Stream,
    context_secure: Option<bool>,
    cm: Option<&CallMedia>,
) -> RtpStreamOut {
    let enc = stream_encryption(s, context_secure);
    let codec = cm
        .and_then(|m| m.codec(s.payload_type))
        .map(|(n, _)| n.to_string())
        .or_else(|| crate::dissect::media::clock_of(&a.ctx, None, s.payload_type).1);
    let codec_is_audio = cm.is_some_and(|m| m.kind == "audio")
        || vcscope_dissectors::rtp::static_payload_type(s.payload_type)
            .is_some_and(|c| c.kind == vcscope_dissectors::rtp::MediaKind::Audio);
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
    let reports = rtcp;
    let rtcp = reports
        .and_then(|m| m.rtcp_reports.iter().find(|r| r.ssrc == s.ssrc))
        .map(|r| RtcpReportedOut {
            fraction_lost: f64::from(r.fraction_lost) / 256.0,
            cumulative_lost: i64::from(r.cumulative_lost),
            jitter_ms: s.clock.map(|c| f64::from(r.jitter) * 1000.0 / f64::from(c)),
        });
    let audio = codec_is_audio || codec.as_deref().is_some_and(is_audio_codec);
    let quality = quality_out(
        s,
        audio,
        codec.as_deref(),
        reports.and_then(|m| m.rtt_ms),
        reports.and_then(|m| m.xr_voip.iter().find(|x| x.ssrc == s.ssrc)),
    );
    let video = video_out(
        s,
        audio,
        cm.is_some_and(|m| m.kind == "video")
            || vcscope_dissectors::rtp::static_payload_type(s.payload_type)
                .is_some_and(|c| c.kind == vcscope_dissectors::rtp::MediaKind::Video)
            || codec.as_deref().is_some_and(is_video_codec),
    );
    RtpStreamOut {
        ssrc: s.ssrc,
        payload_type: s.payload_type,
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
        series_width_s: s.series.width_s(),
        rtcp_reported: rtcp,
        extensions: extensions_out(s, cm, codec_is_audio),
        header_extensions_encrypted: s.ext.cryptex,
        series: series_out(s, quality.as_ref(), video.is_some()),
        quality,
        video,
        codec,
    }
}

/// The stream's series, with what applies to it: late packets and a MOS
/// per bucket on rated audio (the bucket's effective loss with the
/// stream's codec, burst ratio and delay), frames and freezes on video.
fn series_out(
    s: &Stream,
    q: Option<&crate::report::QualityOut>,
    video: bool,
) -> Vec<crate::series::Point> {
    let mut points = s.series.points();
    for p in &mut points {
        if !video {
            (p.frames, p.freezes) = (0, 0);
        }
        let Some(q) = q else {
            p.late = 0;
            continue;
        };
        let expected = f64::from(p.packets) + f64::from(p.lost);
        if expected > 0.0 {
            let ppl = ((f64::from(p.lost) + f64::from(p.late)) / expected).min(1.0);
            let e = crate::judge::e_model(&crate::judge::EModelIn {
                ie: q.ie,
                bpl: q.bpl,
                ppl,
                burst_r: q.burst_ratio,
                ta_ms: q.one_way_delay_ms,
            });
            p.mos = Some(round3(e.mos));
        }
    }
    points
}

/// Video encodings by their rtpmap names.
fn is_video_codec(name: &str) -> bool {
    const VIDEO: [&str; 7] = ["VP8", "VP9", "H264", "H265", "AV1", "H263", "H263-1998"];
    VIDEO.iter().any(|v| v.eq_ignore_ascii_case(name))
}

/// Frames a stream needs before its frame rate is reported.
const VIDEO_MIN_FRAMES: u32 = 10;

/// Frame rate and freezes of a video stream: known video (SDP, static
/// payload type, codec name), or frames that span several packets in at
/// least a quarter of them (audio sends one packet per timestamp); never
/// known audio.
fn video_out(s: &Stream, audio: bool, video: bool) -> Option<crate::report::VideoOut> {
    let f = s.frames.finished();
    if f.frames < VIDEO_MIN_FRAMES || audio {
        return None;
    }
    if !video && f.multi_packet.saturating_mul(4) < f.frames {
        return None;
    }
    Some(crate::report::VideoOut {
        frames: f.frames,
        fps: f.fps().map(round3),
        freezes: f.freezes,
        longest_gap_ms: round3(f.longest_gap * 1000.0),
        packets_per_frame: round3(f.packets as f64 / f64::from(f.frames)),
    })
}

/// Packets an audio stream needs before its quality is estimated.
const QUALITY_MIN_PACKETS: u64 = 50;

/// Audio encodings by their rtpmap names.
fn is_audio_codec(name: &str) -> bool {
    const AUDIO: [&str; 12] = [
        "PCMU", "PCMA", "G722", "G729", "G723", "opus", "iLBC", "AMR", "AMR-WB", "speex", "GSM",
        "G726-32",
    ];
    AUDIO.iter().any(|a| a.eq_ignore_ascii_case(name))
}

/// The ITU-T G.107 E-model estimate of an audio stream (formulas in
/// [`crate::judge::e_model`]) behind each simulated jitter buffer
/// ([`crate::evidence::Playout`]): effective loss from RFC 3550 loss plus
/// the packets the buffer dropped as late, the burst ratio of their runs,
/// and the one-way delay from an RTCP round trip (half of it, plus the
/// buffer's delay) or the buffer alone. The headline figures are the
/// fixed 50 ms buffer's.
fn quality_out(
    s: &Stream,
    audio: bool,
    codec: Option<&str>,
    rtt_ms: Option<f64>,
    xr: Option<&crate::evidence::XrVoip>,
) -> Option<crate::report::QualityOut> {
    use crate::evidence::{BUFFERS, BUFFER_NAMES};
    if !audio || s.stats.packets() < QUALITY_MIN_PACKETS || s.clock.is_none() {
        return None;
    }
    let expected = s.stats.expected().max(1) as f64;
    let lost = s.stats.lost().max(0) as f64;
    let (ie, bpl, published) = crate::judge::codec_impairment(codec);
    let delays = s.playout.delays_ms();
    let rate = |ppl: f64| (ppl * 1e6).round() / 1e6;
    let rated: [_; BUFFERS] = std::array::from_fn(|i| {
        let b = &s.playout.buffers[i];
        let ppl = ((lost + b.late as f64) / expected).clamp(0.0, 1.0);
        let input = crate::judge::EModelIn {
            ie,
            bpl,
            ppl,
            burst_r: crate::judge::burst_ratio(b.mean_run(), ppl),
            ta_ms: rtt_ms.map_or(0.0, |r| r / 2.0) + delays[i],
        };
        (input, crate::judge::e_model(&input), b.late)
    });
    let jitter_buffer = rated
        .iter()
        .enumerate()
        .map(|(i, (input, q, late))| crate::report::JitterBufferOut {
            kind: BUFFER_NAMES[i],
            headline: i == 0,
            delay_ms: round3(delays[i]),
            late: *late,
            loss_effective: rate(input.ppl),
            burst_ratio: round3(input.burst_r),
            r_factor: round3(q.r),
            mos: round3(q.mos),
        })
        .collect();
    let (input, q, late) = rated[0];
    let parts = crate::judge::Impairments::of(&input, &q, lost, late as f64);
    Some(crate::report::QualityOut {
        r_factor: round3(q.r),
        mos: round3(q.mos),
        estimate: !published || s.clock_estimated,
        loss_effective: rate(input.ppl),
        late,
        burst_ratio: round3(input.burst_r),
        rtt_ms: rtt_ms.map(round3),
        jitter_buffer_ms: delays[0],
        one_way_delay_ms: round3(input.ta_ms),
        delay_from: if rtt_ms.is_some() {
            "rtcp-rtt"
        } else {
            "jitter-buffer-only"
        },
        ie,
        bpl,
        delay_impairment: round3(q.id),
        ie_effective: round3(q.ie_eff),
        limited_by: crate::judge::limited_by(&parts),
        jitter_buffer,
        reported_by_endpoint: xr.map(xr_out),
    })
}

/// An RTCP XR VoIP Metrics block as reported: rates from fractions of
/// 256, MOS from tenths (RFC 3611 section 4.7).
fn xr_out(x: &crate::evidence::XrVoip) -> crate::report::XrVoipMetricsOut {
    let frac = |v: u8| round3(f64::from(v) / 256.0);
    crate::report::XrVoipMetricsOut {
        blocks: x.blocks,
        r_factor: x.r_factor,
        ext_r_factor: x.ext_r_factor,
        mos_lq: x.mos_lq.map(|m| f64::from(m) / 10.0),
        mos_cq: x.mos_cq.map(|m| f64::from(m) / 10.0),
        round_trip_delay_ms: x.round_trip_delay,
        end_system_delay_ms: x.end_system_delay,
        loss_rate: frac(x.loss_rate),
        discard_rate: frac(x.discard_rate),
        burst_density: frac(x.burst_density),
        gap_density: frac(x.gap_density),
        jb_nominal_ms: x.jb_nominal,
        jb_maximum_ms: x.jb_maximum,
    }
}

/// The header extension identifiers a stream carried in clear, named by
/// the call's `a=extmap` (RFC 8285 section 8) when its SDP is known, else
/// by shape: RFC 6464's audio level is one byte (`V` bit, 7-bit level) in
/// a one-byte element, and senders commonly give it id 1; on an audio
/// stream any such element is taken for it.
fn extensions_out(
    s: &Stream,
    cm: Option<&CallMedia>,
    audio: bool,
) -> Vec<crate::report::RtpExtensionOut> {
    s.ext
        .id_list()
        .map(|id| {
            let sdp = cm.and_then(|m| m.extmap_uri(id));
            let (uri, from) = match sdp {
                Some(u) => (Some(u.to_string()), Some("sdp")),
                None if cm
                    .is_none_or(|m| m.sides.iter().flatten().all(|a| a.extmap.is_empty()))
                    && s.ext.one_byte_of_len1(id)
                    && (id == 1 || audio) =>
                {
                    (
                        Some(crate::judge::AUDIO_LEVEL_URI.to_string()),
                        Some("shape"),
                    )
                }
                None => (None, None),
            };
            crate::report::RtpExtensionOut {
                id,
                uri,
                uri_from: from,
            }
        })
        .collect()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Facts across flows, computed once per report.
#[derive(Debug, Default)]
pub(crate) struct Across {
    /// Endpoints of UDP flows that ran a DTLS handshake with use_srtp → that flow's id.
    dtls_srtp_endpoints: rustc_hash::FxHashMap<Endpoint, u32>,
    /// Flows that carried RTCP reports, by their ends (first packet's
    /// source, destination) → their index.
    rtcp_flows: rustc_hash::FxHashMap<(Transport, Endpoint, Endpoint), usize>,
}

impl Across {
    pub(crate) fn of(a: &Analyzer) -> Across {
        let mut m = rustc_hash::FxHashMap::default();
        let mut rtcp_flows = rustc_hash::FxHashMap::default();
        for (i, f) in a.flows.all().iter().enumerate() {
            let media = f.state.media.as_deref();
            let d = media.and_then(|m| m.dtls.as_deref());
            if d.is_some_and(|d| d.use_srtp_offered || d.srtp_profile.is_some()) {
                m.entry(f.src).or_insert(f.id);
                m.entry(f.dst).or_insert(f.id);
            }
            if media.is_some_and(has_rtcp_reports) {
                rtcp_flows.insert((f.transport, f.src, f.dst), i);
            }
        }
        Across {
            dtls_srtp_endpoints: m,
            rtcp_flows,
        }
    }

    /// The RTCP of the RTP flow `f` when it runs beside it, on the next
    /// port of each end (RFC 3550 section 11), not multiplexed with it.
    fn rtcp_beside<'a>(&self, a: &'a Analyzer, f: &Flow) -> Option<&'a MediaState> {
        let next = |e: Endpoint| {
            Some(Endpoint {
                ip: e.ip,
                port: e.port.checked_add(1)?,
            })
        };
        let (src, dst) = (next(f.src)?, next(f.dst)?);
        [(src, dst), (dst, src)]
            .into_iter()
            .find_map(|(x, y)| self.rtcp_flows.get(&(f.transport, x, y)))
            .and_then(|&i| a.flows.all().get(i))
            .and_then(|r| r.state.media.as_deref())
    }
}

/// Whether a flow's media state holds what RTCP reports tell.
fn has_rtcp_reports(m: &MediaState) -> bool {
    m.rtt_ms.is_some() || !m.rtcp_reports.is_empty() || !m.xr_voip.is_empty()
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
    // The reports on the streams: on the flow itself (rtcp-mux, RFC 5761),
    // else on the flow beside it.
    let rtcp = st
        .media
        .as_deref()
        .filter(|m| has_rtcp_reports(m))
        .or_else(|| across.and_then(|x| x.rtcp_beside(a, f)));
    let rtp_streams: Vec<RtpStreamOut> = ss
        .iter()
        .map(|s| stream_out(a, rtcp, s, context_secure, cm))
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
        .map(|c| c.call_id.clone())
        .or_else(|| a.written.flow_calls.get(&f.id).map(|c| c.to_string()));
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
    findings.extend(crate::judge::header_findings(
        &rtp_streams,
        cm.is_some_and(CallMedia::cryptex),
        cm.is_some_and(CallMedia::sframe),
        st.media.as_deref().map_or(0, |m| m.sdes_clear),
    ));
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
            Some(EndReason::Closed) => "closed",
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
fn share_app_by_socket(flows: &mut [FlowOut], all: &[&Flow]) {
    // `flows[i]` is the report of `all[i]`: its endpoints are read there,
    // as addresses, not parsed back from text.
    let mut sockets = SocketApps::default();
    for (f, src) in flows.iter().zip(all) {
        sockets.learn(src, f, usize::MAX);
    }
    if sockets.0.is_empty() {
        return;
    }
    for (f, src) in flows.iter_mut().zip(all) {
        sockets.lend(src, f);
    }
}

impl SocketApps {
    /// A DNS flow's app is the name it asked about: a resolver's socket
    /// serves every app, so DNS flows neither lend nor take an app here.
    fn dns(f: &FlowOut) -> bool {
        f.protocols.contains(&"dns")
    }

    /// The internal sockets of `f`: each of its ends inside the network,
    /// with its transport.
    fn sockets_of(f: &Flow) -> impl Iterator<Item = crate::engine::SocketKey> {
        let t = f.transport;
        [f.src, f.dst]
            .into_iter()
            .filter(|e| crate::scope::scope_of(e.ip).is_internal())
            .map(move |e| (e, t))
    }

    /// Learns the app of `out` (the record of `f`) for its internal
    /// sockets, keeping at most `max` sockets.
    pub(crate) fn learn(&mut self, f: &Flow, out: &FlowOut, max: usize) {
        let Some(app) = &out.app else { return };
        if Self::dns(out) {
            return;
        }
        for key in Self::sockets_of(f) {
            let full = self.0.len() >= max;
            match self.0.get_mut(&key) {
                Some((slot, at)) => {
                    // Two apps on one socket: ambiguous, say nothing.
                    if slot.as_deref() != Some(app.as_str()) {
                        *slot = None;
                    }
                    *at = (*at).max(f.last_ts);
                }
                None if !full => {
                    self.0.insert(key, (Some(app.as_str().into()), f.last_ts));
                }
                None => {}
            }
        }
    }

    /// Streaming: forgets the sockets no flow taught anything since
    /// `before`, unless a live flow of `live` (those flows that began
    /// before the socket was taught, which may still take its app) uses it.
    pub(crate) fn forget_before<'a>(
        &mut self,
        before: Nanos,
        live: impl Iterator<Item = &'a Flow>,
    ) {
        if !self.0.values().any(|(_, at)| *at < before) {
            return;
        }
        let mut used: rustc_hash::FxHashMap<crate::engine::SocketKey, Nanos> = Default::default();
        for f in live {
            for k in Self::sockets_of(f) {
                let e = used.entry(k).or_insert(f.first_ts);
                *e = (*e).min(f.first_ts);
            }
        }
        self.0
            .retain(|k, (_, at)| *at >= before || used.get(k).is_some_and(|&t| t <= *at));
        self.0.shrink_to_fit();
    }

    /// Gives `out` (the record of `f`), when it has no app, the app of its
    /// internal socket.
    pub(crate) fn lend(&self, f: &Flow, out: &mut FlowOut) {
        if out.app.is_some() || Self::dns(out) {
            return;
        }
        if let Some(app) = self.app_of(f) {
            out.findings.push(format!(
                "app from another flow of the same local socket ({app})"
            ));
            out.app = Some(app.to_string());
        }
    }

    /// The app learnt for an internal socket of `f`, the one
    /// [`SocketApps::lend`] would give its record.
    pub(crate) fn app_of(&self, f: &Flow) -> Option<&str> {
        // Nothing learnt (a flood of flows no app names): no scope to tell.
        if self.0.is_empty() {
            return None;
        }
        Self::sockets_of(f).find_map(|k| self.0.get(&k).and_then(|(a, _)| a.as_deref()))
    }
}

/// The remote side of a reported flow: the public one when exactly one side
/// is internal, else the destination of the first packet.
fn remote_out(f: &FlowOut) -> &EndpointOut {
    let internal = |e: &EndpointOut| {
        e.ip.parse()
            .is_ok_and(|a| crate::scope::scope_of(a).is_internal())
    };
    if internal(&f.dst) && !internal(&f.src) {
        &f.src
    } else {
        &f.dst
    }
}

/// Apps anyone can host (Jitsi) are in no published range: their media port
/// names a flow only on an address another flow of the capture reached by
/// one of the app's names (its SNI, its certificate's names, or the DNS
/// answer its address came from). An address two apps' names reached names
/// neither.
fn name_by_app_named_address(flows: &mut [FlowOut]) {
    let mut named: rustc_hash::FxHashMap<String, Option<String>> = Default::default();
    for f in flows.iter() {
        let by_name = matches!(
            f.app_evidence,
            Some(AppEvidence::Sni | AppEvidence::TlsCertificateName | AppEvidence::DnsName)
        );
        let (true, Some(app)) = (by_name, &f.app) else {
            continue;
        };
        let slot = named
            .entry(remote_out(f).ip.clone())
            .or_insert_with(|| Some(app.clone()));
        if slot.as_deref() != Some(app.as_str()) {
            *slot = None;
        }
    }
    if named.is_empty() {
        return;
    }
    for f in flows
        .iter_mut()
        .filter(|f| f.app.is_none() && !f.protocols.contains(&"dns"))
    {
        let remote = remote_out(f);
        let Some(Some(app)) = named.get(&remote.ip) else {
            continue;
        };
        let Some(found) = crate::apps::app_of_port_on_named_address(f.transport, remote.port, app)
        else {
            continue;
        };
        let why = AppEvidence::PortOnAppNamedAddress;
        f.findings.push(format!("app identified by {why}"));
        f.app = Some(found.to_string());
        f.app_evidence = Some(why);
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
fn call_out(call: &Call, flows: &[FlowOut], share: Option<&str>) -> CallOut {
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
    let verdict = verdict_sentence(
        &facts,
        &judged,
        sig_encrypted,
        any_media_seen,
        &media,
        share,
    );
    CallOut {
        countries: Vec::new(),
        flows_open: Vec::new(),
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
        encryption_basis: "measured",
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

/// The reports of the flows `all` (in id order), built on `threads`
/// threads over contiguous ranges of flows (one thread spawns nothing).
fn flows_out(a: &Analyzer, all: &[&Flow], across: &Across, threads: usize) -> Vec<FlowOut> {
    let n = all.len();
    let one = |f: &Flow| flow_out_of(a, f, Some(across));
    let parts = threads.clamp(1, n.max(1));
    // Sized up front: growing a vector of 680-byte entries by doubling
    // copies it all again (100 MiB at 150k flows).
    let mut flows = Vec::with_capacity(n);
    if parts == 1 {
        flows.extend(all.iter().map(|f| one(f)));
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
fn fill(to: &mut [FlowOut], from: &[&Flow], one: impl Fn(&Flow) -> FlowOut) {
    for (slot, f) in to.iter_mut().zip(from) {
        *slot = one(f);
    }
}

/// TLS and DTLS flows that are TURN (`calls::tls_relay`): each says so
/// (protocol `turn`, a finding) and its server joins the relays, kind
/// `turn`, transport `tls` or `dtls`, with the evidence named. Bounded by
/// the flow table.
fn turn_over_tls(
    a: &Analyzer,
    flows: &mut [FlowOut],
    relays: &mut Vec<RelayOut>,
    earlier: &[RelayOut],
) {
    use crate::calls::tls_relay::{turn_evidence, TlsFlowView};
    // Those found in flows let go before the end (streaming) come first.
    let mut found: Vec<RelayOut> = earlier.to_vec();
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
            None if found.len() >= crate::calls::relay::MAX_RELAYS => continue,
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

    // Flows certainly counted in `other_flows` get no entry.
    let bare = bare_flows(a);
    let listed: Vec<&Flow> = a
        .flows
        .all()
        .iter()
        .zip(&bare)
        .filter_map(|(f, &b)| (!b).then_some(f))
        .collect();
    let mut flows = flows_out(a, &listed, &across, threads);
    name_by_app_named_address(&mut flows);
    share_app_by_socket(&mut flows, &listed);
    let share = a.share();
    let mut calls: Vec<CallOut> = a
        .ctx
        .calls
        .calls()
        .map(|c| call_out(c, &flows, share))
        .collect();
    let mut relays = a.ctx.relays.to_report();
    turn_over_tls(a, &mut flows, &mut relays, &a.written.tls_relays.0);
    crate::calls::relay::mark_use(&mut relays, &flows, &a.written.relay_use);
    let inferred =
        crate::calls::infer::infer_calls_after(&flows, &relays, a.written.inferred, &|n| {
            a.numbering.nth(n as u64) as usize
        });
    add_inferred(&mut calls, &mut flows, inferred);
    header_findings(&mut calls, &flows);
    let call_quality = call_quality(&mut calls, &flows);
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
            "more than {} ended flows of calls held for the end (streamed NDJSON, or a JSON report past its bound): later ones are missing from their calls",
            crate::engine::MAX_HELD_ENDED
        )
    });
    warnings.add_n("calls-not-tracked", a.ctx.calls.dropped, || {
        "the call table is full".into()
    });
    let firewall = firewall(&flows);
    let leaks = with_calls(a.ctx.leaks.to_report(), &calls, &a.written.leak_calls);
    let other_flows = if a.all_flows {
        None
    } else {
        let mut tally = std::mem::take(&mut a.other);
        let mut on: rustc_hash::FxHashSet<u32> = leaks.iter().map(|l| l.flow_id).collect();
        on.extend(relays.iter().flat_map(|r| r.flow_ids.iter().copied()));
        let keep = |f: &FlowOut| is_vc(f) || on.contains(&f.id);
        // The bare flows are counted in id order among the others, as
        // the pairs counted first are the ones listed by port.
        let mut bare = a
            .flows
            .all()
            .iter()
            .zip(&bare)
            .filter_map(|(f, &b)| b.then_some(f))
            .peekable();
        flows.retain(|f| {
            while let Some(b) = bare.next_if(|b| b.id < f.id) {
                count_other(&mut tally, b);
            }
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
        bare.for_each(|b| count_other(&mut tally, b));
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
            partition: None,
            packets_other_partitions: None,
            sensor: None,
        },
        calls,
        flows,
        other_flows,
        relays,
        leaks,
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
        call_quality,
        flows_streamed: 0,
        calls_streamed: 0,
        leaks_streamed: 0,
    }
}

/// Adds the calls inferred from `flows` to `calls` with their judgement:
/// their flows take the call's id (and app, when they have none).
fn add_inferred(
    calls: &mut Vec<CallOut>,
    flows: &mut [FlowOut],
    inferred: Vec<(CallOut, crate::calls::infer::InferredFacts)>,
) {
    let first = calls.len();
    calls.extend(inferred.into_iter().map(|(mut call, facts)| {
        let j = inferred_call(&facts);
        call.encrypted = j.encrypted;
        call.encryption_ends = j.encryption_ends;
        call.encryption_basis = j.encryption_basis;
        call.verdict = j.verdict;
        call
    }));
    // Flows of an inferred call take its id, and its app when they have none.
    for c in calls[first..].iter().filter(|c| c.inferred) {
        // Its SIP over TLS says so on the flow too, when the port or ALPN
        // did not already.
        if c.signalling.protocol == "sip" {
            for &id in &c.signalling_flows {
                if let Some(f) = by_id(flows, id).and_then(|i| flows.get_mut(i)) {
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
            if let Some(f) = by_id(flows, id).and_then(|i| flows.get_mut(i)) {
                let media = c.media.iter().any(|m| m.flow_id == Some(id));
                let framed = f.app_evidence.is_some_and(AppEvidence::is_media_framing);
                if media && !framed && crate::calls::infer::app_media_shaped(f) {
                    let secs = (f.last_ts - f.first_ts).max(f64::MIN_POSITIVE);
                    f.findings.push(format!(
                        "media of {} by its shape: {:.0} and {:.0} packets a second each way for {:.1} s, {} and {} bytes a packet on average, nothing on it that vcscope reads",
                        c.call_id,
                        f.packets_fwd as f64 / secs,
                        f.packets_rev as f64 / secs,
                        secs,
                        f.bytes_fwd / f.packets_fwd.max(1),
                        f.bytes_rev / f.packets_rev.max(1),
                    ));
                }
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
}

/// What the media headers of a call's flows tell is the call's too.
fn header_findings(calls: &mut [CallOut], flows: &[FlowOut]) {
    for c in calls {
        for &id in &c.flow_ids {
            let Some(f) = by_id(flows, id).map(|i| &flows[i]) else {
                continue;
            };
            for x in f
                .findings
                .iter()
                .filter(|x| crate::judge::is_header_finding(x))
            {
                if !c.findings.contains(x) {
                    c.findings.push(x.clone());
                }
            }
        }
    }
}

/// Each call's worst-rated audio stream (lowest MOS) over its flows, and
/// a finding on the call that says it.
fn call_quality(calls: &mut [CallOut], flows: &[FlowOut]) -> Vec<crate::report::CallQualityOut> {
    let mut out = Vec::new();
    for c in calls {
        let mut worst: Option<(&FlowOut, &RtpStreamOut, &crate::report::QualityOut)> = None;
        let mut rated = 0u32;
        for &id in &c.flow_ids {
            let Some(f) = by_id(flows, id).map(|i| &flows[i]) else {
                continue;
            };
            for st in &f.rtp_streams {
                if let Some(q) = &st.quality {
                    rated += 1;
                    if worst.is_none_or(|(_, _, w)| q.mos < w.mos) {
                        worst = Some((f, st, q));
                    }
                }
            }
        }
        let Some((f, st, q)) = worst else {
            continue;
        };
        let (from, to) = match st.direction {
            "forward" => (&f.src, &f.dst),
            _ => (&f.dst, &f.src),
        };
        let ep = |e: &EndpointOut| match e.ip.contains(':') {
            true => format!("[{}]:{}", e.ip, e.port),
            false => format!("{}:{}", e.ip, e.port),
        };
        let direction = format!("{} -> {}", ep(from), ep(to));
        let why = match q.limited_by {
            "loss" => format!(" (effective loss {:.1} %)", q.loss_effective * 100.0),
            "burstiness" => format!(
                " (effective loss {:.1} % in bursts, burst ratio {:.2})",
                q.loss_effective * 100.0,
                q.burst_ratio
            ),
            "jitter-buffer" => format!(
                " ({} packets late for a {} ms jitter buffer)",
                q.late, q.jitter_buffer_ms
            ),
            "delay" => format!(" (one-way delay {:.0} ms)", q.one_way_delay_ms),
            "codec" => format!(" (codec Ie {})", q.ie),
            _ => String::new(),
        };
        c.findings.push(format!(
            "audio quality: worst direction ({direction}) MOS {:.2}, R {:.1}{}, limited by {}{why}",
            q.mos,
            q.r_factor,
            if q.estimate { " (estimate)" } else { "" },
            q.limited_by
        ));
        out.push(crate::report::CallQualityOut {
            call_id: c.call_id.clone(),
            mos: q.mos,
            r_factor: q.r_factor,
            flow_id: f.id,
            ssrc: st.ssrc,
            direction,
            estimate: q.estimate,
            limited_by: q.limited_by,
            loss_effective: q.loss_effective,
            burst_ratio: q.burst_ratio,
            one_way_delay_ms: q.one_way_delay_ms,
            streams_rated: rated,
        });
    }
    out
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

/// Whether flow `f`'s own state rules out every reason for the default
/// report to list it (`is_vc`, and `keep` in [`build_report`]): no call of
/// its own, no media, TLS, DTLS, QUIC or STUN state, no protocol but HTTP
/// and DNS (so none `is_vc` names, and its record would not be held while
/// streaming), and no app of its own ([`identify`]). Such a flow's entry
/// would have no stream and `none` or `unknown` encryption: it is no
/// call's media, STUN, TURN or signalling when calls are inferred, no
/// relay's media, and not in the firewall section, so what is built from
/// the other entries does not depend on it. What other flows can still
/// give it (its socket's app, an app named on its address, a leak, a
/// relay, a SIP call's flow list) is for the caller to rule out.
fn bare_by_state(f: &Flow) -> bool {
    let st = &f.state;
    st.sig_call.is_none()
        && st.media_call.is_none()
        && st.media.is_none()
        && st.tls.is_none()
        && st.stun.is_none()
        && st
            .protocols
            .iter()
            .all(|p| matches!(p, Proto::Http | Proto::Dns))
        && identify(f, st).0.is_none()
}

/// The flows of the final report (`bare[i]` for `a.flows.all()[i]`; none
/// with `--all-flows`) that are certainly counted in `other_flows`, so that
/// no entry need be built for them: bare by their own state, not named by a
/// leak, a relay or a SIP call, not on a port an app can be named on by
/// address (`name_by_app_named_address`), and, unless DNS, with no
/// internal socket that a flow not bare and not DNS uses (so none can lend
/// them an app, `share_app_by_socket`: DNS flows neither lend nor take
/// one). Everything else gets its entry as before.
fn bare_flows(a: &Analyzer) -> Vec<bool> {
    let all = a.flows.all();
    if a.all_flows {
        return vec![false; all.len()];
    }
    let mut named: rustc_hash::FxHashSet<u32> = Default::default();
    a.ctx.leaks.visit_flows(|id| {
        named.insert(id);
    });
    a.ctx.relays.visit_flows(|id| {
        named.insert(id);
    });
    for c in a.ctx.calls.calls() {
        named.extend(c.signalling_flows.iter().copied());
        named.extend(c.media.iter().flat_map(|m| m.flows.iter().copied()));
    }
    let mut bare: Vec<bool> = all
        .iter()
        .map(|f| {
            !named.contains(&f.id)
                && !crate::apps::port_of_named_apps(f.transport.as_str(), remote_of(f).port)
                && f.bare.unwrap_or_else(|| bare_by_state(f))
        })
        .collect();
    let dns = |f: &Flow| f.state.protocols.contains(Proto::Dns);
    let sockets: rustc_hash::FxHashSet<crate::engine::SocketKey> = all
        .iter()
        .zip(&bare)
        .filter(|(f, &b)| !b && !dns(f))
        .flat_map(|(f, _)| SocketApps::sockets_of(f))
        .collect();
    if !sockets.is_empty() {
        for (f, b) in all.iter().zip(&mut bare).filter(|(f, b)| **b && !dns(f)) {
            *b = !SocketApps::sockets_of(f).any(|s| sockets.contains(&s));
        }
    }
    bare
}

/// Counts flow `f` in `other_flows`, by its transport and server port (the
/// port of [`remote_of`], as `server_port` reads it from an entry).
fn count_other(tally: &mut crate::flow::OtherTally, f: &Flow) {
    tally.add(
        f.transport,
        remote_of(f).port,
        f.total_packets(),
        f.total_bytes(),
    );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::dialog::Announce;
    use vcscope_dissectors::rtp::{RtpPacket, RtpStreamStats};
    use vcscope_dissectors::srtp::PayloadVotes;

    fn stream_with(ext: &[u8]) -> Stream {
        let mut s = Stream {
            ssrc: 1,
            dir: Direction::Forward,
            payload_type: 111,
            stats: RtpStreamStats::new(),
            votes: PayloadVotes::new(),
            first_ts: crate::time::Nanos::ZERO,
            last_ts: crate::time::Nanos::ZERO,
            clock: Some(48_000),
            clock_estimated: false,
            first_rtp_ts: 0,
            last_seq: 0,
            run: 2,
            accepted: true,
            relayed: false,
            series: Default::default(),
            ext: Default::default(),
            playout: Default::default(),
            frames: Default::default(),
        };
        let mut pkt = vec![0x90, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        pkt.extend_from_slice(ext);
        pkt.extend_from_slice(&[0xab; 4]);
        let p = RtpPacket::new_checked(&pkt).unwrap();
        s.ext.observe(&p.extension().unwrap());
        s
    }

    fn media(extmap: Vec<(u16, String)>) -> CallMedia {
        CallMedia {
            kind: "audio",
            sides: [
                Some(Announce {
                    addr: None,
                    port: 5004,
                    profile: "UDP/TLS/RTP/SAVPF".into(),
                    secure_profile: true,
                    key_exchange: KeyExchange::Dtls,
                    keys_exposed: false,
                    weak_suite: None,
                    rtpmap: vec![(111, "opus".into(), 48_000)],
                    extmap,
                    cryptex: false,
                    sframe: false,
                }),
                None,
            ],
            flows: Vec::new(),
            history: Vec::new(),
        }
    }

    // 0xBEDE block of 2 words: id 1 (1 byte 0x85), id 3 (3 bytes), padding.
    const EXT: [u8; 12] = [0xbe, 0xde, 0, 2, 0x10, 0x85, 0x32, 1, 2, 3, 0, 0];

    #[test]
    fn extensions_are_named_by_extmap_else_by_shape() {
        let s = stream_with(&EXT);
        let cm = media(vec![
            (1, crate::judge::AUDIO_LEVEL_URI.into()),
            (
                3,
                "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time".into(),
            ),
        ]);
        let e = extensions_out(&s, Some(&cm), true);
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].id, e[0].uri.as_deref(), e[0].uri_from),
            (1, Some(crate::judge::AUDIO_LEVEL_URI), Some("sdp"))
        );
        assert_eq!(e[1].id, 3);
        assert!(e[1].uri.as_deref().unwrap().ends_with("abs-send-time"));
        // The SDP maps id 1 to something else: no guess.
        let other = media(vec![(1, "urn:ietf:params:rtp-hdrext:sdes:mid".into())]);
        let e = extensions_out(&s, Some(&other), true);
        assert_eq!(
            e[0].uri.as_deref(),
            Some("urn:ietf:params:rtp-hdrext:sdes:mid")
        );
        assert_eq!((e[1].uri.as_deref(), e[1].uri_from), (None, None));
        // No SDP: id 1 of one byte is the audio level by shape; id 3 unnamed.
        let e = extensions_out(&s, None, false);
        assert_eq!(e[0].uri_from, Some("shape"));
        assert_eq!((e[1].uri.as_deref(), e[1].uri_from), (None, None));
    }
}

#[cfg(test)]
mod flow_tests {
    use super::*;

    fn flow(id: u32, transport: &'static str, dst: (&str, u16)) -> FlowOut {
        FlowOut {
            id,
            transport,
            src: EndpointOut {
                ip: "192.168.1.5".into(),
                port: 40000 + id as u16,
            },
            dst: EndpointOut {
                ip: dst.0.into(),
                port: dst.1,
            },
            ..Default::default()
        }
    }

    #[test]
    fn names_jitsi_media_only_on_an_address_named_as_jitsis() {
        let mut web = flow(1, "tcp", ("192.0.2.10", 443));
        web.app = Some("jitsi".into());
        web.app_evidence = Some(AppEvidence::Sni);
        let jvb = flow(2, "udp", ("192.0.2.10", 10000));
        let elsewhere = flow(3, "udp", ("192.0.2.11", 10000));
        let other_port = flow(4, "udp", ("192.0.2.10", 10001));
        let mut flows = vec![web, jvb, elsewhere, other_port];
        name_by_app_named_address(&mut flows);
        let apps: Vec<Option<&str>> = flows.iter().map(|f| f.app.as_deref()).collect();
        assert_eq!(apps, [Some("jitsi"), Some("jitsi"), None, None]);
        assert_eq!(
            flows[1].app_evidence,
            Some(AppEvidence::PortOnAppNamedAddress)
        );
        // An address named by its published range is not named by a name.
        let mut by_range = flow(1, "tcp", ("192.0.2.10", 443));
        by_range.app = Some("jitsi".into());
        by_range.app_evidence = Some(AppEvidence::OperatorIpRange);
        let mut flows = vec![by_range, flow(2, "udp", ("192.0.2.10", 10000))];
        name_by_app_named_address(&mut flows);
        assert_eq!(flows[1].app, None);
        // Two apps' names on one address: neither.
        let mut a = flow(1, "tcp", ("192.0.2.10", 443));
        a.app = Some("jitsi".into());
        a.app_evidence = Some(AppEvidence::Sni);
        let mut b = flow(2, "tcp", ("192.0.2.10", 443));
        b.app = Some("zoom".into());
        b.app_evidence = Some(AppEvidence::Sni);
        let mut flows = vec![a, b, flow(3, "udp", ("192.0.2.10", 10000))];
        name_by_app_named_address(&mut flows);
        assert_eq!(flows[2].app, None);
    }
}

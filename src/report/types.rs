//! The serde types of the report, field by field in the order they are
//! written. Their names are the contract described in [`crate::report`]: add
//! fields, never rename.

use serde::Serialize;

use crate::apps::AppEvidence;

/// `{ "ip": str, "port": N }`
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct EndpointOut {
    pub ip: String,
    pub port: u16,
}

/// The whole report (`--format json`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Report {
    pub vcscope_version: &'static str,
    pub source: Source,
    pub calls: Vec<CallOut>,
    pub flows: Vec<FlowOut>,
    /// Flows left out of `flows` (the default; `--all-flows` lists them
    /// all): counted by transport and server port. Absent with `--all-flows`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_flows: Option<OtherFlowsOut>,
    pub relays: Vec<RelayOut>,
    pub leaks: Vec<LeakOut>,
    pub warnings: Vec<WarningOut>,
    /// SIP requests by method and responses by status code.
    pub sip: SipCountsOut,
    /// What the calls needed through a firewall: per app, transport and
    /// server port, the destinations seen.
    pub firewall: Vec<FirewallOut>,
    /// Limits in force and what they cost (evictions, drops).
    pub limits: LimitsOut,
    /// Per call with rated audio, its worst direction (ITU-T G.107 E-model).
    pub call_quality: Vec<CallQualityOut>,
    /// Flow records already written as the flows ended (streaming NDJSON);
    /// not in the JSON.
    #[serde(skip)]
    pub flows_streamed: usize,
    /// Call records already written as the calls ended (streaming NDJSON);
    /// not in the JSON.
    #[serde(skip)]
    pub calls_streamed: usize,
    /// Leak records already written once their flows were let go
    /// (streaming NDJSON); not in the JSON.
    #[serde(skip)]
    pub leaks_streamed: usize,
}

/// A call's audio quality: its worst-rated audio stream.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CallQualityOut {
    pub call_id: String,
    pub mos: f64,
    pub r_factor: f64,
    /// The flow and stream (SSRC) rated worst.
    pub flow_id: u32,
    pub ssrc: u32,
    /// Which way that stream went, "src -> dst".
    pub direction: String,
    pub estimate: bool,
    /// What dragged the rating down most (see `QualityOut::limited_by`).
    #[cfg_attr(test, schemars(extend("enum" = ["loss", "burstiness", "jitter-buffer", "delay", "codec", "none"])))]
    pub limited_by: &'static str,
    /// The worst stream's effective loss (0..=1), burst ratio and one-way delay (ms).
    pub loss_effective: f64,
    pub burst_ratio: f64,
    pub one_way_delay_ms: f64,
    /// Streams rated in the call.
    pub streams_rated: u32,
}

/// ITU-T G.107 E-model estimate of one audio stream, as heard at its
/// receiver (see README "Call quality").
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct QualityOut {
    /// R = 93.2 - Id - Ie,eff.
    pub r_factor: f64,
    /// G.107 Annex B MOS from R.
    pub mos: f64,
    /// True when the codec has no published Ie/Bpl (G.711's are used) or
    /// the clock rate was estimated.
    pub estimate: bool,
    /// (lost + late) / expected, 0..=1.
    pub loss_effective: f64,
    /// Packets later than the fixed jitter buffer allows.
    pub late: u64,
    /// Mean observed loss-run length over 1/(1 - loss); 1 = random.
    pub burst_ratio: f64,
    /// Round trip from RTCP (A - LSR - DLSR), when a report echoed a seen SR.
    pub rtt_ms: Option<f64>,
    pub jitter_buffer_ms: f64,
    /// One-way delay Ta used: rtt/2 + the buffer, or the buffer alone.
    pub one_way_delay_ms: f64,
    /// "rtcp-rtt" or "jitter-buffer-only".
    #[cfg_attr(test, schemars(extend("enum" = ["rtcp-rtt", "jitter-buffer-only"])))]
    pub delay_from: &'static str,
    /// The codec's Ie and Bpl (ITU-T G.113 Appendix I).
    pub ie: f64,
    pub bpl: f64,
    /// Id and Ie,eff.
    pub delay_impairment: f64,
    pub ie_effective: f64,
    /// The largest impairment: "loss" (network loss's share of Ie,eff -
    /// Ie at random loss), "burstiness" (what the burst ratio adds),
    /// "jitter-buffer" (late discards' share), "delay" (Id), "codec" (Ie)
    /// or "none" (all below 1).
    #[cfg_attr(test, schemars(extend("enum" = ["loss", "burstiness", "jitter-buffer", "delay", "codec", "none"])))]
    pub limited_by: &'static str,
    /// The same estimate behind each simulated jitter buffer: fixed 50 ms
    /// (the one the fields above use, `headline`), fixed 200 ms, and
    /// adaptive up to 500 ms (README "Call quality").
    pub jitter_buffer: Vec<JitterBufferOut>,
    /// What the endpoints themselves reported about this stream in RTCP
    /// XR VoIP Metrics blocks (RFC 3611 section 4.7), when seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reported_by_endpoint: Option<XrVoipMetricsOut>,
}

/// The E-model estimate of a stream behind one simulated jitter buffer.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct JitterBufferOut {
    #[cfg_attr(test, schemars(extend("enum" = ["fixed-50ms", "fixed-200ms", "adaptive"])))]
    pub kind: &'static str,
    /// True for the buffer the stream's headline MOS uses.
    pub headline: bool,
    /// The buffer's delay (ms): its own when fixed, the mean over the
    /// packets when adaptive.
    pub delay_ms: f64,
    /// Packets it dropped as late.
    pub late: u64,
    /// (lost + late) / expected, 0..=1.
    pub loss_effective: f64,
    pub burst_ratio: f64,
    pub r_factor: f64,
    pub mos: f64,
}

/// One RTCP XR VoIP Metrics block (RFC 3611 section 4.7) about a stream,
/// the last one seen; the R factors and MOS the endpoint left unavailable
/// (127 on the wire) are null.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct XrVoipMetricsOut {
    /// Blocks seen about the stream.
    pub blocks: u32,
    pub r_factor: Option<u8>,
    pub ext_r_factor: Option<u8>,
    /// MOS-LQ and MOS-CQ (the wire's tenths, as a MOS).
    pub mos_lq: Option<f64>,
    pub mos_cq: Option<f64>,
    /// Round trip between the RTP interfaces and the reporter's own delay (ms).
    pub round_trip_delay_ms: u16,
    pub end_system_delay_ms: u16,
    /// Loss and discard rates, 0..=1 (the wire's fraction of 256).
    pub loss_rate: f64,
    pub discard_rate: f64,
    /// Mean burst density and gap density, 0..=1.
    pub burst_density: f64,
    pub gap_density: f64,
    /// Current and maximum jitter buffer delay (ms).
    pub jb_nominal_ms: u16,
    pub jb_maximum_ms: u16,
}

/// Flows that carried no videoconferencing protocol and belonged to no
/// call, app or relay: counted, not listed.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct OtherFlowsOut {
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
    /// The busiest (transport, server port) pairs by flows, at most 20.
    pub by_port: Vec<OtherPortOut>,
    /// Flows on the pairs not listed in `by_port`.
    pub flows_not_listed: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct OtherPortOut {
    #[cfg_attr(test, schemars(extend("enum" = ["udp", "tcp"])))]
    pub transport: &'static str,
    /// Server-side port: the public side's, else the first packet's destination's.
    pub port: u16,
    pub flows: u64,
    pub packets: u64,
    pub bytes: u64,
}

/// A heartbeat of `--interval` (NDJSON `"type": "interval"`): the analysis
/// so far, at a point of packet time.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct IntervalOut {
    /// Packet time of the heartbeat (seconds since the epoch).
    pub ts: f64,
    /// Since the start: frames, bytes and kernel/interface drops.
    pub packets: u64,
    pub bytes: u64,
    pub dropped: u64,
    /// In this interval alone.
    pub interval_packets: u64,
    pub interval_bytes: u64,
    pub live_flows: usize,
    /// Flow records written so far.
    pub flows_reported: u64,
    /// SIP calls seen so far: tracked now, or ended and written (each
    /// call's record comes a minute after it ended, or at the end).
    pub sip_calls: usize,
    /// Apps of the flows ended so far, by bytes, at most 10.
    pub top_apps: Vec<AppBytesOut>,
}

/// Records streamed to a file that could not be written (a full disk, a
/// removed directory): the first record written again after them (NDJSON
/// `"type": "output_gap"`). The summary's `records-lost` and
/// `output-errors` warnings count them over the whole run.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct OutputGapOut {
    /// Records lost since the record before this one.
    pub records_lost: u64,
    /// Opens and writes that failed since the record before this one.
    pub output_errors: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct AppBytesOut {
    pub app: String,
    pub flows: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct FirewallOut {
    pub app: String,
    pub transport: &'static str,
    /// Server-side port.
    pub port: u16,
    pub destinations: Vec<String>,
    pub operators: Vec<String>,
    pub flows: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SipCountsOut {
    pub requests: std::collections::BTreeMap<String, u64>,
    pub responses: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Source {
    pub files: Vec<String>,
    /// Live capture interface, when the source is live.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    pub packets: u64,
    pub bytes: u64,
    pub first_ts: Option<f64>,
    pub last_ts: Option<f64>,
    pub malformed: u64,
    pub dropped: u64,
    /// Frames that were not UDP/TCP over IP (ARP, ICMP...), not analysed further.
    pub skipped: u64,
    /// Frames delivered by a tunnel that was opened (GRE/ERSPAN, IP in IP,
    /// VXLAN, GTP-U).
    pub decapsulated: u64,
    /// IP datagrams rebuilt from fragments.
    pub reassembled: u64,
    /// The BPF filter the packets had to pass (`--filter`, or the words
    /// after the files), when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The packet limit (`-c N`), when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet_limit: Option<u64>,
    /// This sensor's share of the traffic (`--partition K/N`), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Packets left to the other sensors of the partition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets_other_partitions: Option<u64>,
    /// The sensor's name (`--sensor`), when given; NDJSON records carry it
    /// as `sensor`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct RtpStreamOut {
    pub ssrc: u32,
    pub payload_type: u8,
    pub codec: Option<String>,
    pub packets: u64,
    pub lost: i64,
    pub jitter_ms: f64,
    pub encrypted: bool,
    /// "plain", "encrypted" or "unknown" (too little evidence); `encrypted` is true only for "encrypted".
    pub encryption: &'static str,
    /// Which way the stream flows: "forward" (from the flow's src) or "reverse".
    pub direction: &'static str,
    pub bytes: u64,
    pub first_ts: f64,
    pub last_ts: f64,
    pub expected: u64,
    pub reordered: u64,
    pub duplicates: u64,
    pub max_delta_ms: f64,
    pub max_jitter_ms: f64,
    /// Clock rate (Hz) used for jitter, when known.
    pub clock_rate: Option<u32>,
    /// Carried inside a TURN relay (ChannelData or Send/Data).
    pub relayed: bool,
    /// How `encrypted` was decided (e.g. "sdp:RTP/SAVP", "dtls-srtp", "payload:g711-plaintext").
    pub encryption_evidence: Vec<String>,
    /// Packets, loss and jitter over time (bucket width in `series_width_s`).
    pub series: Vec<crate::series::Point>,
    pub series_width_s: f64,
    /// Loss and jitter that the far end reported in RTCP, when seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtcp_reported: Option<RtcpReportedOut>,
    /// RTP header extensions (RFC 8285) the stream carried in clear: SRTP
    /// encrypts only the payload, so these are readable on the wire.
    pub extensions: Vec<RtpExtensionOut>,
    /// Header extensions sent under an RFC 9335 cryptex profile
    /// (0xC0DE/0xC2DE): encrypted, not readable.
    pub header_extensions_encrypted: bool,
    /// Audio quality estimate (ITU-T G.107 E-model) of audio streams with
    /// at least 50 packets; null otherwise.
    pub quality: Option<QualityOut>,
    /// Video frame rate and freezes, on video streams; null otherwise.
    pub video: Option<VideoOut>,
}

/// Video frames of a stream: packets sharing an RTP timestamp, closed by
/// the marker bit (see README "Video frame rate").
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct VideoOut {
    pub frames: u32,
    /// (frames - 1) over the time from the first frame to the last.
    pub fps: Option<f64>,
    /// Gaps between frames over max(3 x, 150 ms more than) the mean of the last 30.
    pub freezes: u32,
    pub longest_gap_ms: f64,
    pub packets_per_frame: f64,
}

/// One RTP header extension seen in clear (never its data).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct RtpExtensionOut {
    /// The local identifier (RFC 8285: 1..=14 one-byte, 1..=255 two-byte).
    pub id: u8,
    /// What it is: the URI the call's SDP `a=extmap` gave the identifier,
    /// else one told by its shape, else null.
    pub uri: Option<String>,
    /// Where `uri` came from: "sdp" (`a=extmap`) or "shape" (a guess from
    /// the element's form and length).
    #[cfg_attr(test, schemars(extend("enum" = ["sdp", "shape", null])))]
    pub uri_from: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct RtcpReportedOut {
    pub fraction_lost: f64,
    pub cumulative_lost: i64,
    pub jitter_ms: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct FlowOut {
    pub id: u32,
    #[cfg_attr(test, schemars(extend("enum" = ["udp", "tcp"])))]
    pub transport: &'static str,
    pub src: EndpointOut,
    pub dst: EndpointOut,
    pub first_ts: f64,
    pub last_ts: f64,
    pub packets: u64,
    pub bytes: u64,
    #[cfg_attr(test, schemars(extend("items" = { "enum": ["sip", "sdp", "rtp", "rtcp", "srtp", "srtcp", "stun", "turn", "turn-channeldata", "dtls", "tls", "quic", "zrtp", "http", "dns"] })))]
    pub protocols: Vec<&'static str>,
    #[cfg_attr(test, schemars(extend("enum" = ["none", "srtp", "dtls-srtp", "tls", "dtls", "quic", "zrtp", "unknown"])))]
    pub encryption: &'static str,
    pub sni: Option<String>,
    /// The name a DNS answer earlier in the capture gave the remote address
    /// (a DNS flow: the name it asked about). Absent when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    pub app: Option<String>,
    pub call_id: Option<String>,
    pub rtp_streams: Vec<RtpStreamOut>,
    /// Packets and bytes from src to dst, and back.
    pub packets_fwd: u64,
    pub packets_rev: u64,
    pub bytes_fwd: u64,
    pub bytes_rev: u64,
    /// "capture-end", "idle", "evicted" or (streamed NDJSON: a TCP
    /// connection closed by RST or FIN both ways, then silent for 60 s of
    /// packet time) "closed".
    pub ended: &'static str,
    /// Why `encryption` was decided.
    pub encryption_evidence: Vec<String>,
    /// Findings on this flow (plain-English, no payload bytes).
    pub findings: Vec<String>,
    /// Operator of the remote side, when known.
    pub operator: Option<String>,
    /// Country and network of the far endpoint (`--geoip`).
    #[serde(flatten)]
    pub place: PlaceOut,
    /// Negotiated TLS/DTLS version, when the ServerHello was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpn: Option<String>,
    /// Names the server's TLS certificate is issued for (TLS 1.0-1.2, where
    /// it travels in cleartext): subject commonNames then subjectAltName
    /// dNSNames, at most 8, never the certificate itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tls_certificate_names: Vec<String>,
    /// STUN/TURN facts of the flow, when it carries STUN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stun: Option<StunOut>,
    /// Reverse DNS of src and dst (`--resolve`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdns: Option<[Option<String>; 2]>,
    /// How `app` was found (also written in `findings`); not in the JSON.
    #[serde(skip)]
    pub app_evidence: Option<AppEvidence>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct StunOut {
    pub messages: u64,
    /// Classic STUN (RFC 3489, no magic cookie).
    pub classic: u64,
    pub ice_checks: u64,
    /// The ICE pair on this flow was nominated (USE-CANDIDATE).
    pub nominated: bool,
    /// Requests with MESSAGE-INTEGRITY.
    pub authenticated: u64,
    /// Requests that should carry MESSAGE-INTEGRITY and do not.
    pub unauthenticated: u64,
    /// Server-reflexive addresses the server reported (XOR-MAPPED-ADDRESS).
    pub mapped_addresses: Vec<String>,
    pub relayed_addresses: Vec<String>,
    pub channels: Vec<u16>,
    pub software: Option<String>,
    /// Implementation or app the vendor attributes point to.
    pub vendor: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SignallingOut {
    pub protocol: &'static str,
    pub transport: &'static str,
    pub encrypted: bool,
    /// Why an inferred call's signalling is what it says (the signalling
    /// itself is encrypted, so this is what was visible around it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct MediaOut {
    pub flow_id: Option<u32>,
    #[cfg_attr(test, schemars(extend("enum" = ["audio", "video", "application", "unknown"])))]
    pub kind: &'static str,
    #[cfg_attr(test, schemars(extend("enum" = ["none", "srtp", "dtls-srtp", "tls", "dtls", "quic", "zrtp", "unknown"])))]
    pub encryption: &'static str,
    #[cfg_attr(test, schemars(extend("enum" = ["sdes", "dtls", "zrtp", "none", "unknown"])))]
    pub key_exchange: &'static str,
    pub keys_exposed: bool,
    /// The address and port the SDP announced, when from signalling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub announced: Option<EndpointOut>,
    /// SDP transport profile (e.g. "RTP/SAVP"), when from signalling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// False when only the SDP announced this media (no packets in the capture).
    pub seen: bool,
    /// Every address and port the SDPs announced for this media, in order, and by whom.
    pub announced_all: Vec<AnnouncedOut>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct AnnouncedOut {
    pub ip: String,
    pub port: u16,
    /// "caller" or "callee": whose SDP announced it.
    pub by: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CallEndpointOut {
    pub ip: String,
    pub port: u16,
    pub role: &'static str,
    pub operator: Option<String>,
    /// Country and network of the endpoint (`--geoip`).
    #[serde(flatten)]
    pub place: PlaceOut,
    pub rdns: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct CallOut {
    pub call_id: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub app: Option<String>,
    pub signalling: SignallingOut,
    pub media: Vec<MediaOut>,
    #[cfg_attr(test, schemars(extend("enum" = ["yes", "no", "keys-exposed", "unknown"])))]
    pub encrypted: &'static str,
    pub endpoints: Vec<CallEndpointOut>,
    pub verdict: String,
    pub state: &'static str,
    pub first_ts: f64,
    pub last_ts: f64,
    pub setup_ts: Option<f64>,
    pub answer_ts: Option<f64>,
    pub end_ts: Option<f64>,
    pub signalling_flows: Vec<u32>,
    /// Every flow of the call: signalling, media, and (inferred calls) ICE/TURN.
    pub flow_ids: Vec<u32>,
    pub user_agents: Vec<String>,
    pub final_status: Option<u16>,
    pub bye_reason: Option<String>,
    pub findings: Vec<String>,
    /// Where the media is decrypted: "peer" (end to end), "provider-server"
    /// (an SFU or media server of the service), "provider-server-unless-e2ee"
    /// (the app's documented policy: its servers decrypt unless the meeting
    /// enabled an optional end-to-end mode, which the wire does not show),
    /// or "unknown".
    pub encryption_ends: &'static str,
    /// What `encrypted` rests on: "measured" (what the capture shows: the
    /// media's payload, its keying, the SDP) or "policy" (an inferred
    /// call's media the capture cannot classify, of an app whose provider
    /// documents that its media is encrypted: `encrypted` and
    /// `encryption_ends` then follow that documented policy, and the
    /// sentence says the payload itself cannot be checked).
    #[cfg_attr(test, schemars(extend("enum" = ["measured", "policy"])))]
    pub encryption_basis: &'static str,
    /// True for calls inferred from media (no signalling seen).
    pub inferred: bool,
    /// Signalling messages in order, for a ladder diagram (bounded).
    pub ladder: Vec<LadderOut>,
    /// Countries the call's far endpoints and relays are in (`--geoip`), sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// Streamed NDJSON: the call's media flows still open when its record
    /// was written (a minute after the call ended); their own records, which
    /// name the call, come when they end. Absent when none was.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub flows_open: Vec<u32>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct LadderOut {
    pub ts: f64,
    pub src: EndpointOut,
    pub dst: EndpointOut,
    pub label: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct RelayOut {
    pub ip: String,
    pub port: u16,
    pub transport: &'static str,
    pub kind: &'static str,
    pub operator: Option<String>,
    /// Country and network of the relay (`--geoip`).
    #[serde(flatten)]
    pub place: PlaceOut,
    pub clients: Vec<String>,
    pub relayed_addresses: Vec<String>,
    pub channel_data_packets: u64,
    pub peers: Vec<String>,
    pub flow_ids: Vec<u32>,
    /// Why a relay reached over TLS or DTLS is TURN (its messages are
    /// encrypted, so this is what was visible).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// Media went through this server: `relayed_packets` > 0. A TURN
    /// allocation nothing went through is "allocated, unused". Null for TURN
    /// over TLS or DTLS, whose relayed data is encrypted with the rest: the
    /// capture cannot tell.
    pub used: Option<bool>,
    /// Media packets relayed: TURN ChannelData plus the non-STUN packets of
    /// its media flows (media sent to the relay's own address, as WhatsApp
    /// does, and Send/Data indications).
    pub relayed_packets: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct LeakOut {
    pub address: String,
    pub scope: &'static str,
    #[serde(rename = "where")]
    pub where_: &'static str,
    pub flow_id: u32,
    /// The call the leaking flow belongs to, when it belongs to one.
    pub call_id: Option<String>,
    pub exposed_to: String,
    pub first_ts: f64,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct WarningOut {
    pub kind: String,
    pub count: u64,
    pub example: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct LimitsOut {
    pub max_flows: usize,
    pub flow_idle_timeout_s: u64,
    pub peak_live_flows: usize,
    pub flows_expired: u64,
    pub flows_evicted: u64,
    pub max_fragment_datagrams: usize,
    pub fragment_datagrams_dropped: u64,
    pub max_stream_buffer: usize,
    pub stream_bytes_dropped: u64,
    pub max_calls: usize,
    /// Dialogs not tracked because the call table was full.
    pub calls_dropped: u64,
    /// Addresses whose DNS name is remembered.
    pub max_dns_names: usize,
    /// Addresses whose DNS name was forgotten because the table was full.
    pub dns_names_dropped: u64,
}

/// The last NDJSON record (`"type": "summary"`): the report without its
/// lists, which came as records before it.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct SummaryOut<'a> {
    pub vcscope_version: &'a str,
    pub source: &'a Source,
    pub flows: usize,
    pub calls: usize,
    pub relays: usize,
    pub leaks: usize,
    /// Flows counted in the report's `other_flows`, not listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_flows: Option<&'a OtherFlowsOut>,
    pub warnings: &'a [WarningOut],
    pub limits: &'a LimitsOut,
}

/// Where an address is, from `--geoip` databases: its country and its
/// network. Absent fields were not known (or no database was given).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct PlaceOut {
    /// ISO 3166-1 alpha-2 country code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Autonomous system number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// The autonomous system's organisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_org: Option<String>,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One screen: calls, then relays, leaks and notable flows.
    Table,
    /// One JSON object (the contract in the README).
    Json,
    /// One JSON record per line: flow, call, relay, leak, then a summary.
    Ndjson,
    /// One self-contained HTML page: call cards, where-it-goes graphs,
    /// ladders and stream health, with the JSON report embedded.
    Html,
}

//! The report: serde types of the JSON contract, in a deterministic order,
//! rendered as one JSON object, NDJSON records, or a terminal table.
//!
//! Field names here are the user-facing contract (`SPEC.md`): scripts and
//! dashboards depend on them. Add fields, never rename.

use std::io::{self, Write};
use std::sync::mpsc;

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use serde::Serialize;

/// `{ "ip": str, "port": N }`
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct EndpointOut {
    pub ip: String,
    pub port: u16,
}

/// The whole report (`--format json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub vcscope_version: &'static str,
    pub source: Source,
    pub calls: Vec<CallOut>,
    pub flows: Vec<FlowOut>,
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
}

#[derive(Debug, Clone, Serialize)]
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
pub struct SipCountsOut {
    pub requests: std::collections::BTreeMap<String, u64>,
    pub responses: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
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
    /// Frames delivered by a GRE/ERSPAN/VXLAN tunnel that was opened.
    pub decapsulated: u64,
    /// IP datagrams rebuilt from fragments.
    pub reassembled: u64,
}

#[derive(Debug, Clone, Serialize)]
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
}

#[derive(Debug, Clone, Serialize)]
pub struct RtcpReportedOut {
    pub fraction_lost: f64,
    pub cumulative_lost: i64,
    pub jitter_ms: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowOut {
    pub id: u32,
    pub transport: &'static str,
    pub src: EndpointOut,
    pub dst: EndpointOut,
    pub first_ts: f64,
    pub last_ts: f64,
    pub packets: u64,
    pub bytes: u64,
    pub protocols: Vec<&'static str>,
    pub encryption: &'static str,
    pub sni: Option<String>,
    pub app: Option<String>,
    pub call_id: Option<String>,
    pub rtp_streams: Vec<RtpStreamOut>,
    /// Packets and bytes from src to dst, and back.
    pub packets_fwd: u64,
    pub packets_rev: u64,
    pub bytes_fwd: u64,
    pub bytes_rev: u64,
    /// "capture-end", "idle" or "evicted".
    pub ended: &'static str,
    /// Why `encryption` was decided.
    pub encryption_evidence: Vec<String>,
    /// Findings on this flow (plain-English, no payload bytes).
    pub findings: Vec<String>,
    /// Operator of the remote side, when known.
    pub operator: Option<String>,
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
    pub app_evidence: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
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
pub struct SignallingOut {
    pub protocol: &'static str,
    pub transport: &'static str,
    pub encrypted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct MediaOut {
    pub flow_id: Option<u32>,
    pub kind: &'static str,
    pub encryption: &'static str,
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
pub struct AnnouncedOut {
    pub ip: String,
    pub port: u16,
    /// "caller" or "callee": whose SDP announced it.
    pub by: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallEndpointOut {
    pub ip: String,
    pub port: u16,
    pub role: &'static str,
    pub operator: Option<String>,
    pub rdns: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallOut {
    pub call_id: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub app: Option<String>,
    pub signalling: SignallingOut,
    pub media: Vec<MediaOut>,
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
    /// (an SFU or media server of the service), or "unknown".
    pub encryption_ends: &'static str,
    /// True for calls inferred from media (no signalling seen).
    pub inferred: bool,
    /// Signalling messages in order, for a ladder diagram (bounded).
    pub ladder: Vec<LadderOut>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LadderOut {
    pub ts: f64,
    pub src: EndpointOut,
    pub dst: EndpointOut,
    pub label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RelayOut {
    pub ip: String,
    pub port: u16,
    pub transport: &'static str,
    pub kind: &'static str,
    pub operator: Option<String>,
    pub clients: Vec<String>,
    pub relayed_addresses: Vec<String>,
    pub channel_data_packets: u64,
    pub peers: Vec<String>,
    pub flow_ids: Vec<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeakOut {
    pub address: String,
    pub scope: &'static str,
    #[serde(rename = "where")]
    pub where_: &'static str,
    pub flow_id: u32,
    pub exposed_to: String,
    pub first_ts: f64,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct WarningOut {
    pub kind: String,
    pub count: u64,
    pub example: String,
}

#[derive(Debug, Clone, Serialize)]
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

impl Report {
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        // The serializer writes into a plain buffer (millions of small writes,
        // none through the dynamic writer), handed on every few MiB so a
        // large report is never held twice in memory.
        let mut w = Chunked {
            out,
            buf: Vec::with_capacity(CHUNK),
        };
        serde_json::to_writer(&mut w, self)?;
        w.buf.push(b'\n');
        w.flush()
    }

    /// The bytes of [`Report::write_json`], with the flows serialized on
    /// `threads` threads over contiguous ranges. This thread writes the rest
    /// of the report and the first, smaller range as it goes (it also does
    /// all the writing); every other thread serializes its range in pieces
    /// that this one writes as they come, so that little is left to write
    /// when the last piece is done.
    pub fn write_json_threads(&self, out: &mut dyn Write, threads: usize) -> io::Result<()> {
        let parts = threads.clamp(1, self.flows.len().max(1));
        if parts == 1 {
            return self.write_json(out);
        }
        // Field by field, in the order and with the names of the derive;
        // the pattern names every field, so a new one does not compile
        // until it is written here too.
        let Report {
            vcscope_version,
            source,
            calls,
            flows,
            relays,
            leaks,
            warnings,
            sip,
            firewall,
            limits,
        } = self;
        // The flows go in pieces, dealt in turn: in every round this
        // thread serializes OWN_PIECES and each other thread HELPER_PIECES
        // (this one also writes every byte). A helper's pieces wait in a
        // short queue until their turn, so the JSON held in memory stays
        // a few pieces, not a whole part.
        let round = OWN_PIECES + HELPER_PIECES * (parts - 1);
        // Smaller pieces for fewer flows, so that the shares hold: at least
        // four rounds.
        let size = (flows.len() / (4 * round)).clamp(64, PIECE_FLOWS);
        let pieces: Vec<&[FlowOut]> = flows.chunks(size).collect();
        // Which thread serializes piece `j`: 0 is this one.
        let whose = move |j: usize| match j % round {
            r if r < OWN_PIECES => 0,
            r => 1 + (r - OWN_PIECES) / HELPER_PIECES,
        };
        let mut w = Chunked {
            out,
            buf: Vec::with_capacity(CHUNK),
        };
        std::thread::scope(|s| {
            let pieces = &pieces;
            let lanes: Vec<_> = (1..parts)
                .map(|k| {
                    let (tx, rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(2 * HELPER_PIECES);
                    // Written pieces come back to be filled again.
                    let (back, spare) = mpsc::channel::<Vec<u8>>();
                    let worker = s.spawn(move || {
                        for (_, piece) in pieces.iter().enumerate().filter(|(j, _)| whose(*j) == k)
                        {
                            // About 540 bytes a flow; reserved, not touched,
                            // so the guess costs no memory.
                            let mut json = spare
                                .try_recv()
                                .unwrap_or_else(|_| Vec::with_capacity(piece.len() * 640));
                            let done = write_flows(&mut json, piece).map(|()| json);
                            let failed = done.is_err();
                            if tx.send(done).is_err() || failed {
                                return;
                            }
                        }
                    });
                    (rx, back, worker)
                })
                .collect();
            let written = (|| {
                write_field(&mut w, b"{", "vcscope_version", vcscope_version)?;
                write_field(&mut w, b",", "source", source)?;
                write_field(&mut w, b",", "calls", calls)?;
                w.write_all(b",\"flows\":[")?;
                for (j, piece) in pieces.iter().enumerate() {
                    if j > 0 {
                        w.write_all(b",")?;
                    }
                    match lanes.get(whose(j).wrapping_sub(1)) {
                        None => write_flows(&mut w, piece)?,
                        Some((rx, back, _)) => {
                            let Ok(json) = rx.recv() else {
                                return Err(io::Error::other("a JSON thread stopped"));
                            };
                            let mut json = json?;
                            w.write_large(&json)?;
                            json.clear();
                            let _ = back.send(json);
                        }
                    }
                }
                Ok(())
            })();
            // Joined, not left to the scope: the threads have then exited
            // (their thread-locals freed) when this returns. A receiver
            // dropped first unblocks a thread whose queue is full.
            for (rx, back, worker) in lanes {
                drop((rx, back));
                if let Err(panic) = worker.join() {
                    std::panic::resume_unwind(panic);
                }
            }
            written?;
            w.write_all(b"]")?;
            write_field(&mut w, b",", "relays", relays)?;
            write_field(&mut w, b",", "leaks", leaks)?;
            write_field(&mut w, b",", "warnings", warnings)?;
            write_field(&mut w, b",", "sip", sip)?;
            write_field(&mut w, b",", "firewall", firewall)?;
            write_field(&mut w, b",", "limits", limits)?;
            w.write_all(b"}\n")?;
            w.flush()
        })
    }

    /// NDJSON: every record tagged with its `type`, the summary last.
    pub fn write_ndjson(&self, out: &mut dyn Write) -> io::Result<()> {
        for f in &self.flows {
            write_record(out, "flow", f)?;
        }
        self.write_ndjson_tail(out)
    }

    /// NDJSON without the flows (already streamed as they ended).
    pub fn write_ndjson_tail(&self, out: &mut dyn Write) -> io::Result<()> {
        for c in &self.calls {
            write_record(out, "call", c)?;
        }
        for r in &self.relays {
            write_record(out, "relay", r)?;
        }
        for l in &self.leaks {
            write_record(out, "leak", l)?;
        }
        #[derive(Serialize)]
        struct Summary<'a> {
            vcscope_version: &'a str,
            source: &'a Source,
            flows: usize,
            calls: usize,
            relays: usize,
            leaks: usize,
            warnings: &'a [WarningOut],
            limits: &'a LimitsOut,
        }
        write_record(
            out,
            "summary",
            &Summary {
                vcscope_version: self.vcscope_version,
                source: &self.source,
                flows: self.flows.len(),
                calls: self.calls.len(),
                relays: self.relays.len(),
                leaks: self.leaks.len(),
                warnings: &self.warnings,
                limits: &self.limits,
            },
        )
    }

    pub fn write_table(&self, out: &mut dyn Write) -> io::Result<()> {
        let s = &self.source;
        let span = match (s.first_ts, s.last_ts) {
            (Some(a), Some(b)) => format!("{:.1} s", (b - a).max(0.0)),
            _ => "empty".into(),
        };
        let what = if let Some(i) = &s.interface {
            format!("interface {i}")
        } else {
            s.files.join(", ")
        };
        writeln!(
            out,
            "vcscope {} — {what}: {} packets, {} bytes, {span}; {} flows, {} calls",
            self.vcscope_version,
            s.packets,
            s.bytes,
            self.flows.len(),
            self.calls.len()
        )?;

        if self.calls.is_empty() {
            writeln!(out, "\nCalls: none found.")?;
        } else {
            let mut t = table(&[
                "call",
                "app",
                "signalling",
                "media",
                "encrypted",
                "goes to",
                "verdict",
            ]);
            // Calls that are not encrypted, or whose keys were exposed, first.
            let mut order: Vec<&CallOut> = self.calls.iter().collect();
            order.sort_by_key(|c| match c.encrypted {
                "keys-exposed" => 0,
                "no" => 1,
                "unknown" => 2,
                _ => 3,
            });
            for c in order.iter().take(MAX_TABLE_CALLS) {
                let sig = if c.signalling.protocol == "unknown" {
                    "not seen".to_string()
                } else {
                    format!(
                        "{}/{}{}",
                        c.signalling.protocol,
                        c.signalling.transport,
                        if c.signalling.encrypted { " (enc)" } else { "" }
                    )
                };
                let mut media: Vec<String> = c
                    .media
                    .iter()
                    .map(|m| {
                        let mut s = String::new();
                        if m.kind != "unknown" {
                            s.push_str(m.kind);
                            s.push(' ');
                        }
                        s.push_str(m.encryption);
                        if !matches!(m.key_exchange, "unknown" | "none") {
                            s.push_str(&format!(" ({})", m.key_exchange));
                        }
                        if m.keys_exposed {
                            s.push_str(" keys exposed");
                        }
                        s
                    })
                    .collect();
                media.dedup();
                let mut goes: Vec<String> = Vec::new();
                // Local parties first are implied; list where the call goes, once per address.
                for e in c.endpoints.iter().filter(|e| e.role != "caller") {
                    if e.role == "peer" && is_internal_str(&e.ip) && c.inferred {
                        continue;
                    }
                    let op = e
                        .operator
                        .as_deref()
                        .map(|o| format!(" ({o})"))
                        .unwrap_or_default();
                    let line = format!("{} {}{op}", e.role, e.ip);
                    if !goes.contains(&line) {
                        goes.push(line);
                    }
                }
                t.add_row(vec![
                    Cell::new(short(&c.call_id, 24)),
                    Cell::new(c.app.as_deref().unwrap_or("-")),
                    Cell::new(sig),
                    Cell::new(media.join("\n")),
                    Cell::new(c.encrypted),
                    Cell::new(goes.join("\n")),
                    Cell::new(&c.verdict),
                ]);
            }
            writeln!(out, "\nCalls\n{t}")?;
            if self.calls.len() > MAX_TABLE_CALLS {
                writeln!(
                    out,
                    "{} more calls not shown; --format json or html lists every call.",
                    self.calls.len() - MAX_TABLE_CALLS
                )?;
            }
        }

        if !self.relays.is_empty() {
            let mut t = table(&[
                "relay",
                "kind",
                "transport",
                "operator",
                "clients",
                "relayed",
                "channeldata",
            ]);
            for r in self.relays.iter().take(MAX_TABLE_ROWS) {
                t.add_row(vec![
                    Cell::new(format!("{}:{}", r.ip, r.port)),
                    Cell::new(r.kind),
                    Cell::new(r.transport),
                    Cell::new(r.operator.as_deref().unwrap_or("-")),
                    Cell::new(r.clients.join("\n")),
                    Cell::new(r.relayed_addresses.join("\n")),
                    Cell::new(r.channel_data_packets).set_alignment(CellAlignment::Right),
                ]);
            }
            writeln!(out, "\nRelays and servers\n{t}")?;
            more(out, self.relays.len(), "relays and servers")?;
        }

        if !self.firewall.is_empty() {
            let mut t = table(&[
                "app",
                "transport",
                "port",
                "destinations",
                "operator",
                "flows",
            ]);
            for r in self.firewall.iter().take(MAX_TABLE_FLOWS) {
                let mut dest: Vec<&str> =
                    r.destinations.iter().map(String::as_str).take(6).collect();
                if r.destinations.len() > 6 {
                    dest.push("…");
                }
                t.add_row(vec![
                    Cell::new(&r.app),
                    Cell::new(r.transport),
                    Cell::new(r.port),
                    Cell::new(dest.join("\n")),
                    Cell::new(r.operators.join(", ")),
                    Cell::new(r.flows).set_alignment(CellAlignment::Right),
                ]);
            }
            writeln!(out, "\nFirewall view: what the calls' apps needed\n{t}")?;
        }

        if !self.leaks.is_empty() {
            let mut t = table(&[
                "internal address",
                "scope",
                "where",
                "flow",
                "exposed to",
                "count",
            ]);
            for l in self.leaks.iter().take(MAX_TABLE_ROWS) {
                t.add_row(vec![
                    Cell::new(&l.address),
                    Cell::new(l.scope),
                    Cell::new(l.where_),
                    Cell::new(l.flow_id),
                    Cell::new(&l.exposed_to),
                    Cell::new(l.count).set_alignment(CellAlignment::Right),
                ]);
            }
            writeln!(out, "\nInternal-address leaks\n{t}")?;
            more(out, self.leaks.len(), "leaks")?;
        }

        let notable = notable_flows(&self.flows);
        if !notable.is_empty() {
            let mut t = table(&[
                "flow",
                "proto",
                "src",
                "dst",
                "pkts",
                "bytes",
                "protocols",
                "encryption",
                "app / sni",
            ]);
            for f in notable.iter().take(MAX_TABLE_FLOWS) {
                let name = match (&f.app, &f.sni) {
                    (Some(a), Some(s)) => format!("{a} {s}"),
                    (Some(a), None) => a.clone(),
                    (None, Some(s)) => s.clone(),
                    (None, None) => "-".into(),
                };
                t.add_row(vec![
                    Cell::new(f.id),
                    Cell::new(f.transport),
                    Cell::new(ep(&f.src)),
                    Cell::new(ep(&f.dst)),
                    Cell::new(f.packets).set_alignment(CellAlignment::Right),
                    Cell::new(f.bytes).set_alignment(CellAlignment::Right),
                    Cell::new(if f.protocols.is_empty() {
                        "-".into()
                    } else {
                        f.protocols.join(",")
                    }),
                    Cell::new(f.encryption),
                    Cell::new(name),
                ]);
            }
            let more = notable.len().saturating_sub(MAX_TABLE_FLOWS);
            let hidden = self.flows.len() - notable.len();
            writeln!(out, "\nFlows (busiest first)\n{t}")?;
            if more > 0 || hidden > 0 {
                let why = if hidden > 0 {
                    format!(" ({hidden} of them with no videoconferencing protocol)")
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "{} more flows not shown{why}; --format json lists every flow.",
                    more + hidden
                )?;
            }
        }

        if !self.warnings.is_empty() {
            writeln!(out, "\nWarnings")?;
            for w in &self.warnings {
                writeln!(out, "  {:>7}  {}  (e.g. {})", w.count, w.kind, w.example)?;
            }
        }
        let l = &self.limits;
        if l.flows_evicted > 0
            || l.fragment_datagrams_dropped > 0
            || l.stream_bytes_dropped > 0
            || s.dropped > 0
        {
            writeln!(
                out,
                "\nLimits reached: {} flows evicted (max {}), {} fragment datagrams dropped, {} stream bytes not reassembled, {} packets dropped by the capture.",
                l.flows_evicted, l.max_flows, l.fragment_datagrams_dropped, l.stream_bytes_dropped, s.dropped
            )?;
        }
        Ok(())
    }
}

const MAX_TABLE_FLOWS: usize = 25;
const MAX_TABLE_CALLS: usize = 40;
const MAX_TABLE_ROWS: usize = 40;

/// "N more ... not shown" under a table cut at [`MAX_TABLE_ROWS`].
fn more(out: &mut dyn Write, total: usize, what: &str) -> io::Result<()> {
    if total > MAX_TABLE_ROWS {
        writeln!(
            out,
            "{} more {what} not shown; --format json or html lists them all.",
            total - MAX_TABLE_ROWS
        )?;
    }
    Ok(())
}

/// Flows worth a row: any with a recognised VC protocol or app; when there
/// are none, the busiest flows (so the table reads well on any capture).
fn notable_flows(flows: &[FlowOut]) -> Vec<&FlowOut> {
    let mut v: Vec<&FlowOut> = flows
        .iter()
        .filter(|f| {
            f.app.is_some()
                || f.protocols
                    .iter()
                    .any(|p| !matches!(*p, "dns" | "http" | "tls" | "quic"))
                || f.sni.is_some()
        })
        .collect();
    if v.is_empty() {
        v = flows.iter().collect();
    }
    v.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.id.cmp(&b.id)));
    v
}

fn is_internal_str(ip: &str) -> bool {
    ip.parse()
        .is_ok_and(|a| crate::scope::scope_of(a).is_internal())
}

fn ep(e: &EndpointOut) -> String {
    if e.ip.contains(':') {
        format!("[{}]:{}", e.ip, e.port)
    } else {
        format!("{}:{}", e.ip, e.port)
    }
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().map(Cell::new));
    if t.width().is_none() {
        t.set_width(160);
    }
    t
}

/// One NDJSON line: `{"type": kind, ...record}`.
pub fn write_record<T: Serialize>(out: &mut dyn Write, kind: &str, rec: &T) -> io::Result<()> {
    let mut v = serde_json::to_value(rec)?;
    if let serde_json::Value::Object(map) = &mut v {
        let mut tagged = serde_json::Map::with_capacity(map.len() + 1);
        tagged.insert("type".into(), serde_json::Value::String(kind.into()));
        tagged.append(map);
        v = serde_json::Value::Object(tagged);
    }
    serde_json::to_writer(&mut *out, &v)?;
    out.write_all(b"\n")
}

/// `sep"name":value`, as serde_json writes a struct field.
fn write_field<T: Serialize + ?Sized>(
    w: &mut impl Write,
    sep: &[u8],
    name: &str,
    value: &T,
) -> io::Result<()> {
    w.write_all(sep)?;
    serde_json::to_writer(&mut *w, name)?;
    w.write_all(b":")?;
    serde_json::to_writer(&mut *w, value)?;
    Ok(())
}

/// Flows as the elements of a JSON array, without its brackets.
fn write_flows(w: &mut impl Write, flows: &[FlowOut]) -> io::Result<()> {
    for (i, f) in flows.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        serde_json::to_writer(&mut *w, f)?;
    }
    Ok(())
}

/// Flows in one piece of [`Report::write_json_threads`], at most: about
/// 1 MiB of JSON, written without a copy.
const PIECE_FLOWS: usize = 2048;
/// Pieces per round of [`Report::write_json_threads`] for the writing
/// thread and for each other one: the writing thread takes three quarters
/// of an even share, as it also writes every byte.
const OWN_PIECES: usize = 3;
const HELPER_PIECES: usize = 4;

/// Bytes gathered before [`Chunked`] hands them to its writer.
const CHUNK: usize = 4 << 20;

/// A buffer in front of a dynamic writer.
struct Chunked<'a> {
    out: &'a mut dyn Write,
    buf: Vec<u8>,
}

impl Write for Chunked<'_> {
    #[inline]
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.write_all(b)?;
        Ok(b.len())
    }

    #[inline]
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()
    }
}

impl Chunked<'_> {
    /// Like `write_all`, but a piece of a chunk or more goes to the writer
    /// as it is, not copied into the buffer.
    fn write_large(&mut self, b: &[u8]) -> io::Result<()> {
        if b.len() < CHUNK {
            return self.write_all(b);
        }
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.write_all(b)
    }
}

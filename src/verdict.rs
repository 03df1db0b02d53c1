//! Judgement: evidence gathered on flows and calls → encryption status,
//! relays, leaks and the report. Pure functions over the analyzer's state.

use crate::dissect::{FlowState, Proto};
use crate::engine::Analyzer;
use crate::flow::{EndReason, Endpoint, Flow};
use crate::reasm::ReasmStats;
use crate::report::{EndpointOut, FlowOut, LimitsOut, Report, Source};

pub(crate) fn endpoint_out(e: &Endpoint) -> EndpointOut {
    EndpointOut {
        ip: e.ip.to_string(),
        port: e.port,
    }
}

/// The encryption of a flow and the evidence for it.
pub fn flow_encryption(st: &FlowState) -> (&'static str, Vec<String>) {
    let p = st.protocols;
    if p.contains(Proto::Tls) {
        return ("tls", vec!["tls-handshake".into()]);
    }
    if p.contains(Proto::Quic) {
        return ("quic", vec!["quic-long-header".into()]);
    }
    if p.contains(Proto::Dns) || p.contains(Proto::Http) {
        return ("none", vec!["cleartext-protocol".into()]);
    }
    ("unknown", Vec::new())
}

pub(crate) fn flow_out(a: &Analyzer, idx: usize) -> Option<FlowOut> {
    let f: &Flow = a.flows.get(idx)?;
    let (encryption, evidence) = flow_encryption(&f.state);
    Some(FlowOut {
        id: f.id,
        transport: f.transport.as_str(),
        src: endpoint_out(&f.src),
        dst: endpoint_out(&f.dst),
        first_ts: f.first_ts.as_secs_f64(),
        last_ts: f.last_ts.as_secs_f64(),
        packets: f.total_packets(),
        bytes: f.total_bytes(),
        protocols: f.state.protocols.iter().map(Proto::as_str).collect(),
        encryption,
        sni: None,
        app: None,
        call_id: None,
        rtp_streams: Vec::new(),
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
        findings: Vec::new(),
        operator: None,
        rdns: None,
    })
}

pub(crate) fn build_report(
    a: Analyzer,
    files: Vec<String>,
    interface: Option<String>,
    reasm: ReasmStats,
) -> Report {
    let flows: Vec<FlowOut> = (0..a.flows.all().len())
        .filter_map(|i| flow_out(&a, i))
        .collect();
    let s = &a.stats;
    let limits = a.flows.limits();
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
        },
        calls: Vec::new(),
        flows,
        relays: Vec::new(),
        leaks: Vec::new(),
        warnings: a.ctx.warnings.to_report(),
        limits: LimitsOut {
            max_flows: limits.max_live,
            flow_idle_timeout_s: limits.idle_timeout.0 / 1_000_000_000,
            peak_live_flows: a.flows.peak_live,
            flows_expired: a.flows.expired,
            flows_evicted: a.flows.evicted,
            max_fragment_datagrams: crate::reasm::ReasmLimits::default().max_pending,
            fragment_datagrams_dropped: reasm.timed_out + reasm.too_large + reasm.table_full,
            max_stream_buffer: a.ctx.limits.stream_buffer,
            stream_bytes_dropped: a.ctx.stream_bytes_dropped,
            max_calls: a.ctx.limits.max_calls,
            calls_evicted: a.ctx.calls_evicted,
        },
    }
}

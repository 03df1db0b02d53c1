//! The dissector pipeline: one ordered match per packet that calls the
//! parsers of `vcscope_dissectors` and records evidence on the flow.
//!
//! A flow carries one evidence slot per protocol (a WebRTC 5-tuple carries
//! STUN, DTLS and SRTP at once). Dissection is budgeted: once a flow is
//! settled, its packets skip the probes that cannot change the answer.

use crate::flow::{Direction, Flow};
use crate::packet::{Packet, Transport};
use crate::time::Nanos;
use crate::warn::Warnings;

/// Protocols a flow can carry (names as in the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Proto {
    Sip,
    Sdp,
    Rtp,
    Rtcp,
    Srtp,
    Srtcp,
    Stun,
    Turn,
    TurnChannelData,
    Dtls,
    Tls,
    Quic,
    Zrtp,
    Http,
    Dns,
}

impl Proto {
    pub const ALL: [Proto; 15] = [
        Proto::Sip,
        Proto::Sdp,
        Proto::Rtp,
        Proto::Rtcp,
        Proto::Srtp,
        Proto::Srtcp,
        Proto::Stun,
        Proto::Turn,
        Proto::TurnChannelData,
        Proto::Dtls,
        Proto::Tls,
        Proto::Quic,
        Proto::Zrtp,
        Proto::Http,
        Proto::Dns,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Sip => "sip",
            Proto::Sdp => "sdp",
            Proto::Rtp => "rtp",
            Proto::Rtcp => "rtcp",
            Proto::Srtp => "srtp",
            Proto::Srtcp => "srtcp",
            Proto::Stun => "stun",
            Proto::Turn => "turn",
            Proto::TurnChannelData => "turn-channeldata",
            Proto::Dtls => "dtls",
            Proto::Tls => "tls",
            Proto::Quic => "quic",
            Proto::Zrtp => "zrtp",
            Proto::Http => "http",
            Proto::Dns => "dns",
        }
    }
}

/// A small set of [`Proto`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProtoSet(u16);

impl ProtoSet {
    #[inline]
    pub fn insert(&mut self, p: Proto) {
        self.0 |= 1 << p as u8;
    }
    #[inline]
    pub fn contains(self, p: Proto) -> bool {
        self.0 & (1 << p as u8) != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = Proto> {
        Proto::ALL.into_iter().filter(move |p| self.contains(*p))
    }
}

/// Limits of per-flow and per-analysis dissection state.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes buffered per TCP direction to reassemble a SIP message or a TLS ClientHello.
    pub stream_buffer: usize,
    /// Calls tracked at once.
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

/// Evidence gathered on one flow.
#[derive(Debug, Default)]
pub struct FlowState {
    pub protocols: ProtoSet,
}

impl FlowState {
    /// Drops the parts only needed while the flow is live (buffers).
    pub fn release(&mut self) {}
}

/// Analysis-wide state the dissectors write to.
pub struct Ctx {
    pub limits: Limits,
    pub warnings: Warnings,
    /// Flow indices that ended, for streaming output.
    pub ended: Vec<u32>,
    pub dropped: u64,
    pub stream_bytes_dropped: u64,
    pub calls_evicted: u64,
}

impl Ctx {
    pub fn new(limits: Limits) -> Self {
        Ctx {
            limits,
            warnings: Warnings::default(),
            ended: Vec::new(),
            dropped: 0,
            stream_bytes_dropped: 0,
            calls_evicted: 0,
        }
    }
}

/// Dissects one packet of `flow`, sent in direction `dir`.
#[inline]
pub fn dissect(ctx: &mut Ctx, flow: &mut Flow, dir: Direction, p: &Packet<'_>, now: Nanos) {
    let _ = (ctx, dir, now);
    let st = &mut flow.state;
    if p.payload.is_empty() {
        return;
    }
    if (p.sport == 53 || p.dport == 53) && looks_like_dns(p.payload, p.transport) {
        st.protocols.insert(Proto::Dns);
    }
}

/// DNS header sanity (RFC 1035 section 4.1.1): opcode 0..=5, at most a few
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

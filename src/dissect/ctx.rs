//! What the handlers share: the analysis-wide tables they write to
//! ([`Ctx`]), the flattened packet ([`Pkt`]) and the dissection limits.

use crate::calls::dialog::CallTable;
use crate::calls::leak::LeakTable;
use crate::calls::names::NameTable;
use crate::calls::relay::RelayTable;
use crate::net::Transport;
use crate::net::{Direction, Endpoint};
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
    /// Addresses whose DNS name is remembered.
    pub max_dns_names: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            stream_buffer: 65_536,
            max_calls: 65_536,
            max_dns_names: 65_536,
        }
    }
}

/// Analysis-wide state the dissectors write to.
pub struct Ctx {
    pub limits: Limits,
    pub warnings: Warnings,
    pub calls: CallTable,
    pub relays: RelayTable,
    pub leaks: LeakTable,
    /// Names that DNS answers gave addresses.
    pub names: NameTable,
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
            names: NameTable::new(limits.max_dns_names),
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

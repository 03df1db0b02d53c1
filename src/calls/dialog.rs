//! Calls from signalling: one record per SIP dialog that sets up media
//! (Call-ID of an INVITE), with its parties, state and timing, and the media
//! each side's SDP announced. Media flows are attached to the call whose SDP
//! announced one of their endpoints (either side: this works when only one
//! direction is captured, when RTP arrives before the answer, and when NAT
//! rewrote the sender's address).
//!
//! Bounded: [`MAX_MEDIA`] m-lines per call, [`MAX_FLOWS_PER_MEDIA`] flows per
//! m-line, and the analysis' `max_calls` dialogs; beyond that new dialogs
//! are counted, not tracked.

use std::net::IpAddr;

use rustc_hash::FxHashMap;
use vcscope_dissectors::sdp::{
    self, Attribute, CryptoSuite, SdpLine, SessionDescription, TransportProfile,
};
use vcscope_dissectors::sip::{Method, SipMessage};

use crate::net::Endpoint;
use crate::time::Nanos;

pub const MAX_MEDIA: usize = 16;
pub const MAX_FLOWS_PER_MEDIA: usize = 8;
/// Announced addresses remembered per m-line.
const MAX_HISTORY: usize = 16;
const MAX_RTPMAP: usize = 24;
/// `a=extmap` lines kept per m-line.
const MAX_EXTMAP: usize = 16;
/// ICE candidates indexed per m-line.
const MAX_CANDIDATES: usize = 16;
const MAX_USER_AGENTS: usize = 4;
const MAX_FINDINGS: usize = 16;
const MAX_SIG_FLOWS: usize = 16;
/// Signalling messages kept per call for the ladder diagram.
pub const MAX_EVENTS: usize = 128;

/// One signalling message of a call, for the ladder diagram.
#[derive(Debug, Clone)]
pub struct CallEvent {
    pub ts: Nanos,
    pub src: Endpoint,
    pub dst: Endpoint,
    /// "INVITE", "180 Ringing", "200 OK"...; " (SDP)" when it carried SDP.
    pub label: String,
}

/// How a media stream's keys are exchanged, from the SDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyExchange {
    Unknown,
    None,
    Sdes,
    Dtls,
    Zrtp,
}

impl KeyExchange {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyExchange::Unknown => "unknown",
            KeyExchange::None => "none",
            KeyExchange::Sdes => "sdes",
            KeyExchange::Dtls => "dtls",
            KeyExchange::Zrtp => "zrtp",
        }
    }
}

/// What one side's SDP says about one m-line.
#[derive(Debug, Clone)]
pub struct Announce {
    pub addr: Option<IpAddr>,
    pub port: u16,
    pub profile: String,
    pub secure_profile: bool,
    pub key_exchange: KeyExchange,
    /// SDES inline keys were readable in this SDP (never stored).
    pub keys_exposed: bool,
    /// A NULL or weak crypto suite offered, by name.
    pub weak_suite: Option<String>,
    pub rtpmap: Vec<(u8, String, u32)>,
    /// `a=extmap` (RFC 8285 section 8): header extension id → URI, bounded.
    pub extmap: Vec<(u16, String)>,
    /// `a=cryptex` (RFC 9335): header extensions encrypted.
    pub cryptex: bool,
    /// `a=sframe`: SFrame (RFC 9605) end-to-end media encryption.
    pub sframe: bool,
}

/// One m-line of a call.
#[derive(Debug, Clone)]
pub struct CallMedia {
    pub kind: &'static str,
    /// Index 0: the caller's SDP; 1: the callee's.
    pub sides: [Option<Announce>; 2],
    pub flows: Vec<u32>,
    /// Every address:port either side announced for this m-line, in order
    /// (re-INVITEs, holds with 0.0.0.0), bounded.
    pub history: Vec<(Endpoint, usize)>,
}

impl CallMedia {
    pub fn key_exchange(&self) -> KeyExchange {
        self.sides
            .iter()
            .flatten()
            .map(|a| a.key_exchange)
            .max()
            .unwrap_or(KeyExchange::Unknown)
    }
    pub fn keys_exposed(&self) -> bool {
        self.sides.iter().flatten().any(|a| a.keys_exposed)
    }
    /// Codec name of a payload type, from either side's rtpmap.
    pub fn codec(&self, pt: u8) -> Option<(&str, u32)> {
        self.sides
            .iter()
            .flatten()
            .flat_map(|a| a.rtpmap.iter())
            .find(|(p, _, _)| *p == pt)
            .map(|(_, n, c)| (n.as_str(), *c))
    }
    /// The URI either side's `a=extmap` gave a header extension id.
    pub fn extmap_uri(&self, id: u8) -> Option<&str> {
        self.sides
            .iter()
            .flatten()
            .flat_map(|a| a.extmap.iter())
            .find(|(i, _)| *i == u16::from(id))
            .map(|(_, u)| u.as_str())
    }
    /// Either side offered `a=cryptex` (RFC 9335).
    pub fn cryptex(&self) -> bool {
        self.sides.iter().flatten().any(|a| a.cryptex)
    }
    /// Either side offered `a=sframe`.
    pub fn sframe(&self) -> bool {
        self.sides.iter().flatten().any(|a| a.sframe)
    }
    pub fn profile(&self) -> Option<&str> {
        self.sides
            .iter()
            .flatten()
            .next()
            .map(|a| a.profile.as_str())
    }
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    Attempted,
    Ringing,
    Answered,
    Ended,
    Failed,
    Cancelled,
}

impl CallState {
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Attempted => "attempted",
            CallState::Ringing => "ringing",
            CallState::Answered => "answered",
            CallState::Ended => "ended",
            CallState::Failed => "failed",
            CallState::Cancelled => "cancelled",
        }
    }
}

/// One SIP call.
#[derive(Debug, Clone)]
pub struct Call {
    pub call_id: String,
    pub from: Option<String>,
    pub to: Option<String>,
    caller_tag: Option<String>,
    /// Signalling endpoints of the first INVITE: sender and receiver.
    pub caller: Option<Endpoint>,
    pub callee: Option<Endpoint>,
    pub first_ts: Nanos,
    pub last_ts: Nanos,
    pub answer_ts: Option<Nanos>,
    pub end_ts: Option<Nanos>,
    pub state: CallState,
    pub final_status: Option<u16>,
    pub bye_reason: Option<String>,
    pub user_agents: Vec<String>,
    pub signalling_flows: Vec<u32>,
    /// "udp", "tcp", "tls", "ws", "wss".
    pub sig_transport: &'static str,
    pub media: Vec<CallMedia>,
    pub findings: Vec<String>,
    pub events: Vec<CallEvent>,
    /// Messages not kept in `events` (bound reached).
    pub events_dropped: u32,
}

impl Call {
    pub fn finding(&mut self, f: String) {
        if self.findings.len() < MAX_FINDINGS && !self.findings.contains(&f) {
            self.findings.push(f);
        }
    }
}

/// Counts of SIP messages, for the report and for checks against tshark.
#[derive(Debug, Default, Clone)]
pub struct SipCounts {
    pub requests: std::collections::BTreeMap<String, u64>,
    pub responses: std::collections::BTreeMap<u16, u64>,
}

/// A call's place in the table. Indices (`base` + position) are never
/// reused, so a flow's call index stays right after its call left.
#[derive(Debug)]
enum Slot {
    /// Tracked: its messages update it and media flows attach to it.
    Live(Box<Call>),
    /// Its record was written (streaming, [`CallTable::mark_written`]): read
    /// only, and kept while media flows of it are open (`open`), whose
    /// records still read its SDP.
    Written { call: Box<Call>, open: Vec<u32> },
    /// Written and let go. Its Call-ID stays known (late messages of the
    /// dialog make no new call) until the slot leaves the front.
    Gone(Box<str>),
}

impl Slot {
    fn live_mut(&mut self) -> Option<&mut Call> {
        match self {
            Slot::Live(c) => Some(c),
            _ => None,
        }
    }
}

/// All calls of an analysis.
#[derive(Debug)]
pub struct CallTable {
    calls: std::collections::VecDeque<Slot>,
    /// Index of the first slot.
    base: u32,
    /// Calls tracked now (`Slot::Live`): bounded by `max_calls`.
    live: usize,
    by_id: FxHashMap<Box<str>, u32>,
    media_index: FxHashMap<Endpoint, (u32, u16)>,
    /// Counts the SDP bodies that added endpoints to `media_index` (wrapping;
    /// 0 while none has): a flow that found none of its endpoints there
    /// need not look again until this moves.
    media_epoch: u32,
    /// ICE username fragments (a=ice-ufrag) → call and m-line (bounded by max_calls * MAX_MEDIA).
    ufrag_index: FxHashMap<Box<str>, (u32, u16)>,
    max_calls: usize,
    pub dropped: u64,
    pub sip: SipCounts,
    /// Frame being analysed (set by the engine).
    pub frame: u64,
    /// Worker threads: attach nothing (replaying a flow another one owns).
    pub muted: bool,
    /// Worker threads: (frame, call, m-line, flow) of every attachment, so
    /// the merged table attaches in the order one thread would have.
    pub attach_log: Option<Vec<(u64, u32, u16, u32)>>,
}

/// Facts of the packet that carried a SIP message.
#[derive(Debug, Clone, Copy)]
pub struct SipPacket {
    pub flow_id: u32,
    pub src: Endpoint,
    pub dst: Endpoint,
    pub ts: Nanos,
    pub transport: &'static str,
    /// The body was cut (a stream message larger than the buffer): its
    /// SDP, not whole, is not read.
    pub body_cut: bool,
}

/// What `CallTable::on_message` found, for leak and NAT checks by the caller.
#[derive(Debug, Default)]
pub struct SdpFacts {
    /// Addresses in the SDP and where: (address, where).
    pub addresses: Vec<(IpAddr, &'static str)>,
    pub malformed_lines: u32,
    /// A message of an INVITE dialog whose dialog was not seen (its INVITE
    /// came before the capture, or was lost): counted, no call made.
    pub orphan: bool,
}

fn owned(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl CallTable {
    pub fn new(max_calls: usize) -> Self {
        CallTable {
            calls: Default::default(),
            base: 0,
            live: 0,
            by_id: FxHashMap::default(),
            media_index: FxHashMap::default(),
            media_epoch: 0,
            ufrag_index: FxHashMap::default(),
            max_calls,
            dropped: 0,
            sip: SipCounts::default(),
            frame: 0,
            muted: false,
            attach_log: None,
        }
    }

    /// The calls tracked now (not yet written), in the order they began.
    pub fn calls(&self) -> impl Iterator<Item = &Call> + '_ {
        self.calls.iter().filter_map(|s| match s {
            Slot::Live(c) => Some(&**c),
            _ => None,
        })
    }

    /// Calls tracked now.
    pub fn live(&self) -> usize {
        self.live
    }

    /// Call `idx`, tracked or written but still read by open media flows.
    pub fn get(&self, idx: u32) -> Option<&Call> {
        match self.calls.get(idx.checked_sub(self.base)? as usize)? {
            Slot::Live(c) | Slot::Written { call: c, .. } => Some(c),
            Slot::Gone(_) => None,
        }
    }

    /// Whether call `idx` is tracked (its record not written yet).
    pub fn is_live(&self, idx: u32) -> bool {
        idx.checked_sub(self.base)
            .and_then(|i| self.calls.get(i as usize))
            .is_some_and(|s| matches!(s, Slot::Live(_)))
    }

    /// Call `idx` while it is tracked.
    fn get_live_mut(&mut self, idx: u32) -> Option<&mut Call> {
        match self.calls.get_mut(idx.checked_sub(self.base)? as usize)? {
            Slot::Live(c) => Some(c),
            _ => None,
        }
    }

    /// The tracked calls, with their indices.
    pub fn indexed(&self) -> impl Iterator<Item = (u32, &Call)> + '_ {
        let base = self.base;
        self.calls
            .iter()
            .enumerate()
            .filter_map(move |(i, s)| match s {
                Slot::Live(c) => Some((base + i as u32, &**c)),
                _ => None,
            })
    }

    /// Streaming: call `idx`'s record is written. It is tracked no more
    /// (its SDP's endpoints and ICE fragments attach no new flow, its
    /// dialog's later messages are counted only) and is kept read-only
    /// while the media flows `open` are.
    pub fn mark_written(&mut self, idx: u32, open: Vec<u32>) {
        let Some(slot) = idx
            .checked_sub(self.base)
            .and_then(|i| self.calls.get_mut(i as usize))
        else {
            return;
        };
        let Slot::Live(call) = std::mem::replace(slot, Slot::Gone(Box::from(""))) else {
            return;
        };
        self.live -= 1;
        self.media_index.retain(|_, (c, _)| *c != idx);
        self.ufrag_index.retain(|_, (c, _)| *c != idx);
        *slot = Slot::Written { call, open };
    }

    /// Streaming: written calls whose open media flows all ended (`open`
    /// says which still are) are let go, and the slots let go at the front
    /// leave, with their Call-IDs.
    pub fn release_written(&mut self, mut open: impl FnMut(u32) -> bool) {
        for slot in self.calls.iter_mut() {
            if let Slot::Written { call, open: flows } = slot {
                flows.retain(|&f| open(f));
                if flows.is_empty() {
                    let id = std::mem::take(&mut call.call_id).into_boxed_str();
                    *slot = Slot::Gone(id);
                }
            }
        }
        while let Some(Slot::Gone(id)) = self.calls.front() {
            if self.by_id.get(&**id) == Some(&self.base) {
                self.by_id.remove(&**id);
            }
            self.calls.pop_front();
            self.base += 1;
        }
    }

    /// The call and m-line whose SDP announced `ep`, if any.
    #[inline]
    pub fn media_for(&self, ep: &Endpoint) -> Option<(u32, u16)> {
        if self.media_index.is_empty() {
            return None;
        }
        self.media_index.get(ep).copied()
    }

    /// Changes whenever SDP announces media endpoints (see
    /// [`crate::evidence::FlowState::media_epoch`]); 0 until one does.
    pub fn media_epoch(&self) -> u32 {
        self.media_epoch
    }

    /// The call and m-line whose SDP offered an ICE username fragment of
    /// `username` (a STUN USERNAME is "receiver-ufrag:sender-ufrag", RFC 8445 7.2.2).
    pub fn media_for_ice_username(&self, username: &[u8]) -> Option<(u32, u16)> {
        if self.ufrag_index.is_empty() {
            return None;
        }
        let u = std::str::from_utf8(username).ok()?;
        u.split(':')
            .find_map(|part| self.ufrag_index.get(part).copied())
    }

    /// Attaches flow `flow_id` to a call's m-line.
    pub fn attach(&mut self, call: u32, media: u16, flow_id: u32) {
        if self.muted {
            return;
        }
        if let Some(log) = &mut self.attach_log {
            log.push((self.frame, call, media, flow_id));
        }
        if let Some(m) = self
            .get_live_mut(call)
            .and_then(|c| c.media.get_mut(media as usize))
        {
            if !m.flows.contains(&flow_id) && m.flows.len() < MAX_FLOWS_PER_MEDIA {
                m.flows.push(flow_id);
            }
        }
    }

    /// Every signalling flow id the calls name.
    pub fn visit_signalling(&self, mut visit: impl FnMut(u32)) {
        for c in self.calls() {
            c.signalling_flows.iter().for_each(|&f| visit(f));
        }
    }

    /// Renumbers the signalling flows of every call.
    pub fn remap_signalling(&mut self, map: impl Fn(u32) -> u32) {
        for c in self.calls.iter_mut().filter_map(Slot::live_mut) {
            for f in &mut c.signalling_flows {
                *f = map(*f);
            }
        }
    }

    /// Attaches media flows anew from every worker thread's log (flow ids
    /// already renumbered), in frame order.
    pub fn replay_attachments(&mut self, mut log: Vec<(u64, u32, u16, u32)>) {
        for c in self.calls.iter_mut().filter_map(Slot::live_mut) {
            for m in &mut c.media {
                m.flows.clear();
            }
        }
        log.sort_by_key(|e| e.0);
        self.attach_log = None;
        for (_, call, m, flow) in log {
            self.attach(call, m, flow);
        }
    }

    /// Takes one SIP message: counts it, updates or creates its call, reads
    /// its SDP. Returns the call index (if the message belongs to a call) and
    /// the SDP facts.
    pub fn on_message(&mut self, msg: &SipMessage<'_>, pkt: SipPacket) -> (Option<u32>, SdpFacts) {
        let mut facts = SdpFacts::default();
        match msg.method() {
            Some(m) if msg.is_request() => {
                *self.sip.requests.entry(owned(m.as_str(), 32)).or_default() += 1;
            }
            _ => {
                if let Some(code) = msg.status_code() {
                    *self.sip.responses.entry(code).or_default() += 1;
                }
            }
        }
        let Some(call_id) = msg.call_id().map(str::trim).filter(|c| !c.is_empty()) else {
            return (None, facts);
        };
        let cseq_method = msg.cseq().map(|(_, m)| m);
        // RFC 3261 section 12.1: only an INVITE outside a dialog (no To tag)
        // or a response to an INVITE creates an INVITE dialog. Requests
        // inside one (ACK, BYE, CANCEL, PRACK, UPDATE, INFO, a re-INVITE
        // with its To tag) and their responses belong to a dialog that must
        // have been seen.
        let creates = if msg.is_request() {
            msg.method() == Some(Method::Invite) && msg.to().is_some_and(|t| t.tag.is_none())
        } else {
            cseq_method == Some(Method::Invite)
        };
        let in_invite_dialog = matches!(
            cseq_method,
            Some(
                Method::Invite
                    | Method::Ack
                    | Method::Bye
                    | Method::Cancel
                    | Method::Prack
                    | Method::Update
                    | Method::Info
            )
        );
        let idx = match self.by_id.get(call_id) {
            Some(&i) => i,
            None if creates => {
                if self.live >= self.max_calls {
                    self.dropped += 1;
                    return (None, facts);
                }
                let Some(i) = u32::try_from(self.calls.len())
                    .ok()
                    .and_then(|n| n.checked_add(self.base))
                else {
                    self.dropped += 1;
                    return (None, facts);
                };
                let from_tag = msg.from().and_then(|f| f.tag).map(|t| owned(t, 128));
                let is_req = msg.is_request();
                self.live += 1;
                self.calls.push_back(Slot::Live(Box::new(Call {
                    call_id: owned(call_id, 256),
                    from: msg.from().map(|f| owned(f.uri, 256)),
                    to: msg.to().map(|t| owned(t.uri, 256)),
                    caller_tag: from_tag,
                    caller: Some(if is_req { pkt.src } else { pkt.dst }),
                    callee: Some(if is_req { pkt.dst } else { pkt.src }),
                    first_ts: pkt.ts,
                    last_ts: pkt.ts,
                    answer_ts: None,
                    end_ts: None,
                    state: CallState::Attempted,
                    final_status: None,
                    bye_reason: None,
                    user_agents: Vec::new(),
                    signalling_flows: Vec::new(),
                    sig_transport: pkt.transport,
                    media: Vec::new(),
                    findings: Vec::new(),
                    events: Vec::new(),
                    events_dropped: 0,
                })));
                self.by_id.insert(call_id.into(), i);
                i
            }
            None => {
                facts.orphan = in_invite_dialog && self.live < self.max_calls;
                return (None, facts);
            }
        };
        // A written call's late messages are counted only.
        let Some(call) = self.get_live_mut(idx) else {
            return (None, facts);
        };
        call.last_ts = call.last_ts.max(pkt.ts);
        if !call.signalling_flows.contains(&pkt.flow_id)
            && call.signalling_flows.len() < MAX_SIG_FLOWS
        {
            call.signalling_flows.push(pkt.flow_id);
        }
        for ua in [msg.user_agent(), msg.server()].into_iter().flatten() {
            let ua = owned(ua.trim(), 128);
            if !ua.is_empty()
                && call.user_agents.len() < MAX_USER_AGENTS
                && !call.user_agents.contains(&ua)
            {
                call.user_agents.push(ua);
            }
        }
        let from_tag = msg.from().and_then(|f| f.tag);
        let from_caller = from_tag.is_some() && from_tag == call.caller_tag.as_deref();
        // Requests from the caller and responses to the caller's requests: side 0.
        let side = if msg.is_request() == from_caller {
            0
        } else {
            1
        };
        update_state(call, msg, cseq_method, pkt.ts);

        // A body cut short is read up to its last complete line; one the
        // stream buffer cut is not read.
        let body = if pkt.body_cut {
            &[]
        } else {
            msg.body_complete_lines()
        };
        let is_sdp = msg.content_type().map_or(body.starts_with(b"v=0"), |ct| {
            ct.to_ascii_lowercase().contains("application/sdp")
        });
        if call.events.len() < MAX_EVENTS {
            let mut label = match (msg.method().filter(|_| msg.is_request()), msg.status_code()) {
                (Some(m), _) => owned(m.as_str(), 32),
                (None, Some(code)) => match msg.start_line() {
                    vcscope_dissectors::sip::StartLine::Response { reason, .. } => {
                        format!("{code} {}", owned(reason.trim(), 40))
                    }
                    _ => code.to_string(),
                },
                _ => "SIP".to_string(),
            };
            if is_sdp && !body.is_empty() {
                label.push_str(" (SDP)");
            }
            call.events.push(CallEvent {
                ts: pkt.ts,
                src: pkt.src,
                dst: pkt.dst,
                label,
            });
        } else {
            call.events_dropped = call.events_dropped.saturating_add(1);
        }
        if is_sdp && !body.is_empty() {
            if let Ok(sd) = SessionDescription::parse(body) {
                let mut ufrags = Vec::new();
                let new_eps = read_sdp(call, &sd, side, pkt, &mut facts, &mut ufrags);
                if !new_eps.is_empty() {
                    // Never 0 again: a new flow's 0 means "not looked yet".
                    self.media_epoch = self.media_epoch.wrapping_add(1).max(1);
                }
                for (ep, m) in new_eps {
                    self.media_index.insert(ep, (idx, m));
                }
                let limit = self.max_calls.saturating_mul(MAX_MEDIA);
                for (ufrag, m) in ufrags {
                    if self.ufrag_index.len() < limit {
                        self.ufrag_index.insert(ufrag.into(), (idx, m));
                    }
                }
            }
        }
        (Some(idx), facts)
    }
}

fn update_state(call: &mut Call, msg: &SipMessage<'_>, cseq: Option<Method<'_>>, ts: Nanos) {
    use CallState::*;
    if let Some(m) = msg.method().filter(|_| msg.is_request()) {
        match m {
            Method::Bye => {
                call.state = Ended;
                call.end_ts.get_or_insert(ts);
                if let Some(r) = msg.reason_header() {
                    let text = match (r.cause, r.text) {
                        (Some(c), Some(t)) => format!("{} {c} {t}", r.protocol),
                        (Some(c), None) => format!("{} {c}", r.protocol),
                        (None, Some(t)) => format!("{} {t}", r.protocol),
                        (None, None) => r.protocol.to_string(),
                    };
                    call.bye_reason = Some(owned(&text, 200));
                }
            }
            Method::Cancel if call.answer_ts.is_none() => {
                call.state = Cancelled;
                call.end_ts.get_or_insert(ts);
            }
            _ => {}
        }
        return;
    }
    let (Some(code), Some(Method::Invite)) = (msg.status_code(), cseq) else {
        return;
    };
    match code {
        180..=199 if call.state == Attempted => call.state = Ringing,
        200..=299 if call.answer_ts.is_none() => {
            call.answer_ts = Some(ts);
            call.final_status = Some(code);
            if !matches!(call.state, Ended | Cancelled) {
                call.state = Answered;
            }
        }
        300..=699 if call.answer_ts.is_none() => {
            // 401/407 are challenges: the INVITE is sent again with credentials.
            if code != 401 && code != 407 {
                call.final_status = Some(code);
                if call.state != Cancelled {
                    call.state = Failed;
                }
                call.end_ts.get_or_insert(ts);
            } else if call.final_status.is_none() {
                call.final_status = Some(code);
            }
        }
        _ => {}
    }
}

fn media_kind(k: sdp::MediaKind<'_>) -> &'static str {
    match k {
        sdp::MediaKind::Audio => "audio",
        sdp::MediaKind::Video => "video",
        sdp::MediaKind::Application => "application",
        _ => "unknown",
    }
}

/// Reads one SDP into the call's media (side 0 caller, 1 callee). Returns the
/// endpoints to index. Addresses go to `facts` for leak checks, and the
/// ICE username fragments to `ufrags` with the m-line each applies to
/// (session-level ones apply to the first m-line). The session's lines are
/// read twice (every line, then its attributes) and each media section's
/// once.
fn read_sdp<'a>(
    call: &mut Call,
    sd: &SessionDescription<'a>,
    side: usize,
    pkt: SipPacket,
    facts: &mut SdpFacts,
    ufrags: &mut Vec<(&'a str, u16)>,
) -> Vec<(Endpoint, u16)> {
    let mut index = Vec::new();
    // Session-level facts.
    let mut session_crypto_exposed = false;
    for line in sd.lines() {
        match line {
            SdpLine::Origin(o) => {
                if let Some(ip) = o.addr.ip() {
                    facts.addresses.push((ip, "sdp-origin"));
                }
            }
            SdpLine::Connection(c) => {
                if let Some(ip) = c.addr.ip() {
                    facts.addresses.push((ip, "sdp-connection"));
                }
            }
            SdpLine::EncryptionKey { .. } => session_crypto_exposed = true,
            SdpLine::Attribute(Attribute::Candidate(c)) => {
                if let Some(ip) = c.address.ip() {
                    facts.addresses.push((ip, "sdp-candidate"));
                }
                if let Some(ip) = c.raddr.and_then(|r| r.ip()) {
                    facts.addresses.push((ip, "sdp-candidate"));
                }
            }
            SdpLine::Attribute(Attribute::Rtcp { addr: Some(a), .. }) => {
                if let Some(ip) = a.ip() {
                    facts.addresses.push((ip, "sdp-rtcp"));
                }
            }
            SdpLine::Attribute(Attribute::Ssrc {
                attribute,
                value: Some(v),
                ..
            }) if attribute.eq_ignore_ascii_case("cname") => {
                for ip in vcscope_dissectors::sip::ip_literals(v) {
                    facts.addresses.push((ip, "sdp-ssrc-cname"));
                }
            }
            SdpLine::Malformed { .. } => facts.malformed_lines += 1,
            _ => {}
        }
    }
    let mut session_zrtp = false;
    let mut session_fingerprint = false;
    // RFC 8285 section 8 and RFC 9335 section 6.1: both may be session-level.
    let mut session_cryptex = false;
    let mut session_sframe = false;
    let mut session_extmap: Vec<(u16, String)> = Vec::new();
    for a in sd.session_attributes() {
        match a {
            Attribute::ZrtpHash { .. } => session_zrtp = true,
            Attribute::Fingerprint { .. } => session_fingerprint = true,
            Attribute::Cryptex => session_cryptex = true,
            Attribute::Sframe => session_sframe = true,
            Attribute::Extmap { id, uri } if session_extmap.len() < MAX_EXTMAP => {
                session_extmap.push((id, owned(uri, 96)))
            }
            Attribute::IceUfrag(u) if !u.is_empty() => ufrags.push((u, 0)),
            _ => {}
        }
    }
    for (i, section) in sd.media().enumerate() {
        if i >= MAX_MEDIA {
            break;
        }
        let m = section.media();
        let profile = m.profile();
        let mut connection = None;
        let mut crypto = false;
        let mut inline_key = session_crypto_exposed;
        let mut weak: Option<String> = None;
        let mut fingerprint = session_fingerprint;
        let mut zrtp = session_zrtp;
        let mut rtpmap = Vec::new();
        let mut extmap = session_extmap.clone();
        let mut cryptex = session_cryptex;
        let mut sframe = session_sframe;
        let mut rtcp_mux = false;
        let mut rtcp_port = None;
        let mut rtcp_addr = None;
        let mut candidates: Vec<Endpoint> = Vec::new();
        for line in section.lines() {
            let a = match line {
                SdpLine::Attribute(a) => a,
                SdpLine::Connection(c) => {
                    connection.get_or_insert(c);
                    continue;
                }
                _ => continue,
            };
            match a {
                Attribute::IceUfrag(u) if !u.is_empty() => ufrags.push((u, i as u16)),
                Attribute::Crypto(c) => {
                    crypto = true;
                    inline_key |= c.has_inline_key;
                    if c.suite.is_null_cipher() || c.suite.is_weak() || c.unencrypted_srtp {
                        let name = match c.suite {
                            CryptoSuite::Unknown(s) => owned(s, 64),
                            other => format!("{other:?}"),
                        };
                        weak.get_or_insert(name);
                    }
                }
                Attribute::Fingerprint { .. } => fingerprint = true,
                Attribute::ZrtpHash { .. } => zrtp = true,
                Attribute::Rtpmap {
                    pt,
                    encoding,
                    clock_rate,
                    ..
                } if rtpmap.len() < MAX_RTPMAP => {
                    rtpmap.push((pt, owned(encoding, 32), clock_rate))
                }
                Attribute::Extmap { id, uri } if extmap.len() < MAX_EXTMAP => {
                    extmap.push((id, owned(uri, 96)))
                }
                Attribute::Cryptex => cryptex = true,
                Attribute::Sframe => sframe = true,
                Attribute::RtcpMux => rtcp_mux = true,
                Attribute::Rtcp { port, addr } => {
                    rtcp_port = Some(port);
                    rtcp_addr = addr.and_then(|a| a.ip());
                }
                // ICE (RFC 8839): media may flow on any candidate the SDP
                // offered (host, server-reflexive, relayed), not only c=/m=.
                Attribute::Candidate(c) if candidates.len() < MAX_CANDIDATES => {
                    if let Some(ip) = c.address.ip() {
                        candidates.push(Endpoint { ip, port: c.port });
                    }
                }
                _ => {}
            }
        }
        // The media-level c= line, else the session-level one.
        let addr = connection
            .or(section.session_connection())
            .and_then(|c| c.addr.ip());
        let key_exchange = if profile.is_dtls() || (fingerprint && profile.is_secure() && !crypto) {
            KeyExchange::Dtls
        } else if crypto {
            KeyExchange::Sdes
        } else if zrtp {
            KeyExchange::Zrtp
        } else if matches!(
            profile,
            TransportProfile::RtpAvp | TransportProfile::RtpAvpf | TransportProfile::Udptl
        ) {
            KeyExchange::None
        } else {
            KeyExchange::Unknown
        };
        let rtcp = match (addr, m.port) {
            (_, 0) => None,
            (Some(ip), p) if !rtcp_mux => Some(Endpoint {
                ip: rtcp_addr.unwrap_or(ip),
                port: rtcp_port.unwrap_or(p.saturating_add(1)),
            }),
            _ => None,
        };
        let ann = Announce {
            addr,
            port: m.port,
            profile: owned(m.proto, 32),
            secure_profile: profile.is_secure(),
            key_exchange,
            keys_exposed: crypto && inline_key,
            weak_suite: weak,
            rtpmap,
            extmap,
            cryptex,
            sframe,
        };
        if let (Some(ip), p) = (addr, m.port) {
            if p != 0 {
                index.push((Endpoint { ip, port: p }, i as u16));
                index.extend(candidates.iter().map(|c| (*c, i as u16)));
                if let Some(r) = rtcp {
                    index.push((r, i as u16));
                }
                if ip != pkt.src.ip
                    && !ip.is_unspecified()
                    && crate::scope::scope_of(pkt.src.ip) == crate::scope::Scope::Public
                {
                    call.finding(format!(
                        "NAT: the SDP from {} announces media at {ip}, not at the address its SIP came from",
                        pkt.src.ip
                    ));
                }
            }
        }
        if call.media.len() <= i {
            call.media.push(CallMedia {
                kind: media_kind(m.kind),
                sides: [None, None],
                flows: Vec::new(),
                history: Vec::new(),
            });
        }
        if let Some(cm) = call.media.get_mut(i) {
            if let Some(ip) = ann.addr {
                let ep = Endpoint { ip, port: ann.port };
                if cm.history.len() < MAX_HISTORY && !cm.history.contains(&(ep, side)) {
                    cm.history.push((ep, side));
                }
            }
            cm.sides[side] = Some(ann);
        }
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@198.51.100.7 SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1\r\n\
From: <sip:alice@192.0.2.10>;tag=a1\r\n\
To: <sip:bob@198.51.100.7>\r\n\
Call-ID: c1@192.0.2.10\r\n\
CSeq: 1 INVITE\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 247\r\n\
\r\n\
v=0\r\n\
o=- 1 1 IN IP4 10.0.0.5\r\n\
s=-\r\n\
c=IN IP4 10.0.0.5\r\n\
t=0 0\r\n\
m=audio 4000 RTP/SAVP 0\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n\
a=candidate:1 1 UDP 100 203.0.113.9 41000 typ srflx raddr 10.0.0.5 rport 4000\r\n";

    fn pkt() -> SipPacket {
        SipPacket {
            flow_id: 1,
            src: Endpoint {
                ip: "192.0.2.10".parse().unwrap(),
                port: 5060,
            },
            dst: Endpoint {
                ip: "198.51.100.7".parse().unwrap(),
                port: 5060,
            },
            ts: Nanos::from_secs(1),
            transport: "udp",
            body_cut: false,
        }
    }

    #[test]
    fn parses_offer_into_call_media_with_candidates() {
        let mut t = CallTable::new(16);
        let msg = SipMessage::parse(INVITE).unwrap();
        let (idx, facts) = t.on_message(&msg, pkt());
        let idx = idx.expect("an INVITE makes a call");
        let call = t.get(idx).unwrap();
        assert_eq!(call.state, CallState::Attempted);
        assert_eq!(call.from.as_deref(), Some("sip:alice@192.0.2.10"));
        let m = &call.media[0];
        assert_eq!(m.key_exchange(), KeyExchange::Sdes);
        assert!(m.keys_exposed(), "inline SDES key in cleartext SIP");
        // c=/m= and the ICE candidate both lead to the call.
        let c = Endpoint {
            ip: "10.0.0.5".parse().unwrap(),
            port: 4000,
        };
        let srflx = Endpoint {
            ip: "203.0.113.9".parse().unwrap(),
            port: 41000,
        };
        assert_eq!(t.media_for(&c), Some((idx, 0)));
        assert_eq!(t.media_for(&srflx), Some((idx, 0)));
        assert!(facts
            .addresses
            .iter()
            .any(|(ip, w)| ip.to_string() == "10.0.0.5" && *w == "sdp-connection"));
        assert_eq!(t.sip.requests.get("INVITE"), Some(&1));
        assert_eq!(call.events.len(), 1);
        assert_eq!(call.events[0].label, "INVITE (SDP)");
    }

    #[test]
    fn parses_ice_ufrags_for_linking_checks() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nt=0 0\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n\
                   a=ice-ufrag:Fz3q\r\na=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\n";
        let msg = format!(
            "INVITE sip:bob@198.51.100.7 SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\n\
             Call-ID: ice1\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        );
        let mut t = CallTable::new(16);
        let parsed = SipMessage::parse(msg.as_bytes()).unwrap();
        let (idx, _) = t.on_message(&parsed, pkt());
        let idx = idx.unwrap();
        assert_eq!(t.media_for_ice_username(b"Xy7t:Fz3q"), Some((idx, 0)));
        assert_eq!(t.media_for_ice_username(b"nope:none"), None);
        assert_eq!(
            t.get(idx).unwrap().media[0].key_exchange(),
            KeyExchange::Dtls
        );
    }

    fn request(method: &str, to_tag: Option<&str>, cseq: &str) -> Vec<u8> {
        let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
        format!(
            "{method} sip:bob@198.51.100.7 SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\n\
             To: <sip:b@y>{to_tag}\r\nCall-ID: orphan1\r\nCSeq: {cseq}\r\n\
             Content-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn rejects_in_dialog_requests_without_their_invite() {
        let mut t = CallTable::new(16);
        let mut msgs = vec![
            request("ACK", Some("b"), "1 ACK"),
            request("BYE", Some("b"), "2 BYE"),
            request("INVITE", Some("b"), "3 INVITE"),
            request("PRACK", Some("b"), "4 PRACK"),
            request("UPDATE", Some("b"), "5 UPDATE"),
            request("INFO", Some("b"), "6 INFO"),
            request("CANCEL", None, "1 CANCEL"),
        ];
        msgs.push(
            b"SIP/2.0 200 OK\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=b\r\n\
              Call-ID: orphan1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
                .to_vec(),
        );
        for m in &msgs {
            let msg = SipMessage::parse(m).unwrap();
            let (idx, facts) = t.on_message(&msg, pkt());
            assert_eq!(idx, None, "{:?}", std::str::from_utf8(m));
            assert!(facts.orphan, "{:?}", std::str::from_utf8(m));
        }
        assert_eq!(t.calls().count(), 0);
        assert_eq!(t.sip.requests.get("BYE"), Some(&1));
        assert_eq!(t.sip.responses.get(&200), Some(&1));
    }

    #[test]
    fn parses_dialog_creating_invite_and_its_responses_as_calls() {
        let mut t = CallTable::new(16);
        let inv = request("INVITE", None, "1 INVITE");
        let msg = SipMessage::parse(&inv).unwrap();
        let (idx, facts) = t.on_message(&msg, pkt());
        assert_eq!(idx, Some(0));
        assert!(!facts.orphan);
        // Then its BYE belongs to the call.
        let bye = request("BYE", Some("b"), "2 BYE");
        let (idx, facts) = t.on_message(&SipMessage::parse(&bye).unwrap(), pkt());
        assert_eq!(idx, Some(0));
        assert!(!facts.orphan);
        assert_eq!(t.get(0).unwrap().state, CallState::Ended);
        // A response to an INVITE whose request was not seen makes a call.
        let mut t = CallTable::new(16);
        let ok = b"SIP/2.0 180 Ringing\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=b\r\n\
                   Call-ID: late1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
        let (idx, _) = t.on_message(&SipMessage::parse(ok).unwrap(), pkt());
        assert_eq!(idx, Some(0));
        assert_eq!(t.get(0).unwrap().state, CallState::Ringing);
    }

    #[test]
    fn rejects_non_dialog_methods_as_calls() {
        let mut t = CallTable::new(16);
        let reg = b"REGISTER sip:example.com SIP/2.0\r\nCall-ID: r1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n";
        let msg = SipMessage::parse(reg).unwrap();
        let (idx, facts) = t.on_message(&msg, pkt());
        assert_eq!(idx, None);
        assert!(!facts.orphan, "REGISTER has no dialog");
        assert_eq!(t.sip.requests.get("REGISTER"), Some(&1));
        assert_eq!(t.calls().count(), 0);
    }

    /// A call whose record was written (streaming) is kept read-only while
    /// its open media flows last, then let go; its Call-ID stays known
    /// until its slot leaves the front, and its place in the table is free
    /// for a new call at once. Indices are never reused.
    #[test]
    fn written_calls_free_their_place_and_keep_their_index() {
        let mut t = CallTable::new(1);
        let invite = request("INVITE", None, "1 INVITE");
        let (idx, _) = t.on_message(&SipMessage::parse(&invite).unwrap(), pkt());
        assert_eq!(idx, Some(0));
        t.mark_written(0, vec![7]);
        assert_eq!(t.live(), 0);
        assert_eq!(t.calls().count(), 0);
        assert_eq!(t.get(0).map(|c| c.call_id.as_str()), Some("orphan1"));
        // A late BYE of the dialog is counted, and changes nothing.
        let bye = request("BYE", Some("b"), "2 BYE");
        let (idx, facts) = t.on_message(&SipMessage::parse(&bye).unwrap(), pkt());
        assert_eq!((idx, facts.orphan), (None, false));
        assert_eq!(t.get(0).unwrap().state, CallState::Attempted);
        // Its place is free: another dialog is tracked, at the next index.
        let other = String::from_utf8(request("INVITE", None, "1 INVITE"))
            .unwrap()
            .replace("orphan1", "second");
        let (idx, _) = t.on_message(&SipMessage::parse(other.as_bytes()).unwrap(), pkt());
        assert_eq!(idx, Some(1));
        // While flow 7 is open the written call stays; then it goes, and
        // its slot leaves the front with its Call-ID.
        t.release_written(|f| f == 7);
        assert!(t.get(0).is_some());
        t.release_written(|_| false);
        assert!(t.get(0).is_none());
        assert_eq!(t.get(1).map(|c| c.call_id.as_str()), Some("second"));
        assert!(!t.by_id.contains_key("orphan1"));
        assert!(t.is_live(1) && !t.is_live(0));
    }
}

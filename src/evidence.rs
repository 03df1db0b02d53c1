//! Evidence: what dissection records on a flow, one typed slot per
//! protocol (a WebRTC 5-tuple carries STUN, DTLS and SRTP at once).
//!
//! The handlers in [`crate::dissect`] write it, the flow table keeps it
//! with each flow, and judgement reads it. It holds facts copied out of the
//! packets, never a borrowed view or payload bytes.

use vcscope_dissectors::rtp::RtpStreamStats;
use vcscope_dissectors::srtp::PayloadVotes;
use vcscope_dissectors::stun::StunVendor;
use vcscope_dissectors::tls::HandshakeAssembler;

use crate::apps::AppEvidence;
use crate::net::Direction;
use crate::packet::stream::StreamBuf;
use crate::time::Nanos;

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

/// A small set of [`Proto`], one bit per protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProtoSet(u32);

// Every protocol needs a bit: adding a 33rd must widen the set, not wrap.
const _: () = assert!(Proto::ALL.len() <= u32::BITS as usize);

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

/// RTP streams (SSRCs) tracked per flow.
pub const MAX_STREAMS: usize = 32;
/// Findings kept per flow.
const MAX_FLOW_FINDINGS: usize = 8;
/// What a TCP connection's bytes are parsed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TcpMode {
    /// Not decided yet.
    #[default]
    Undecided,
    Sip,
    /// STUN and ChannelData framing (TURN over TCP, RFC 8656 section 12.5).
    Turn,
    /// ICE-TCP: RFC 4571 2-byte length prefix.
    Rfc4571,
    /// TLS: followed until the ClientHello/ServerHello (and, before TLS
    /// 1.3, the server's Certificate) are read.
    Tls,
    /// SIP over WebSocket (RFC 7118) on a cleartext connection: the HTTP
    /// upgrade, then one SIP message per (possibly fragmented) frame.
    WebSocket,
    /// DNS over TCP (RFC 1035 section 4.2.2): length-prefixed messages.
    Dns,
    /// Nothing more to parse.
    Done,
}

/// Per-connection TCP state, allocated for the streams we follow.
#[derive(Debug, Default)]
pub struct TcpState {
    pub mode: TcpMode,
    pub bufs: [StreamBuf; 2],
    /// Parsing stopped on bad framing: later bytes are counted as not analysed.
    pub gave_up: bool,
    /// WebSocket: the HTTP upgrade of each direction has been read.
    pub ws_open: [bool; 2],
    /// WebSocket: payload of a fragmented message being assembled, per direction.
    pub ws_message: [Vec<u8>; 2],
    /// SIP: sequence number where the body being skipped ends, per
    /// direction (a message whose body the stream buffer cannot hold: its
    /// headers were read, its body bytes are skipped, not buffered).
    pub sip_skip_to: [Option<u32>; 2],
}

/// STUN/TURN evidence of a flow.
#[derive(Debug, Default, Clone)]
pub struct StunState {
    pub messages: u64,
    pub classic: u64,
    /// Requests without MESSAGE-INTEGRITY that carried a USERNAME (ICE checks)
    /// or a TURN method other than the first Allocate.
    pub unauthenticated: u64,
    pub authenticated: u64,
    pub ice_checks: u64,
    /// Direction of packets sent towards the STUN/TURN server, once known.
    pub to_server: Option<Direction>,
    /// Binding requests sent in each direction (both: peer-to-peer checks).
    pub binding_requests: [u64; 2],
    pub is_turn: bool,
    pub channels: Vec<u16>,
    pub vendor: Option<StunVendor>,
    /// Reflexive addresses the server told the client (XOR-MAPPED-ADDRESS), bounded.
    pub mapped: Vec<std::net::SocketAddr>,
    /// Relayed addresses allocated on this flow (XOR-RELAYED-ADDRESS), bounded.
    pub relayed: Vec<std::net::SocketAddr>,
    /// SOFTWARE seen first.
    pub software: Option<Box<str>>,
    /// A controlling agent nominated this pair (USE-CANDIDATE, RFC 8445 8.1.1).
    pub nominated: bool,
}

/// Evidence gathered on one flow.
///
/// Laid out in this order (`repr(C)`): what a media packet reads first
/// (it follows [`crate::flow::Flow`]'s counters on their cache line), what
/// the report alone reads last.
#[derive(Debug, Default)]
#[repr(C)]
pub struct FlowState {
    pub media: Option<Box<MediaState>>,
    pub protocols: ProtoSet,
    /// [`crate::calls::CallTable::media_epoch`] when this flow last looked
    /// for its endpoints among those SDP announced and found neither: no
    /// need to look again until SDP announces more.
    pub media_epoch: u32,
    /// Call and m-line whose media this flow carries.
    pub media_call: Option<(u32, u16)>,
    /// Payload packets left to probe while nothing is recognised.
    pub budget: u8,
    pub budget_started: bool,
    /// Datagrams of this flow that parsed as Zoom's peer-to-peer media.
    pub zoom_p2p: u8,
    /// Why `app` was chosen.
    pub app_evidence: Option<AppEvidence>,
    pub stun: Option<Box<StunState>>,
    pub tcp: Option<Box<TcpState>>,
    /// TLS or QUIC handshake facts (also DTLS's certificate names).
    pub tls: Option<Box<TlsFacts>>,
    /// First call whose signalling this flow carries.
    pub sig_call: Option<u32>,
    pub app: Option<&'static str>,
    pub sni: Option<Box<str>>,
    /// On a DNS flow, the first name it asked about (the first naming an
    /// app, if one does); on any other flow, the name a DNS answer earlier
    /// in the capture gave its remote address (`calls::names`).
    pub dns_name: Option<std::sync::Arc<str>>,
    /// A Mumble UDP ping request seen: its direction and 8-byte ident,
    /// waiting for the server's answer that echoes it.
    pub mumble_ping: Option<(Direction, [u8; 8])>,
    pub findings: Vec<String>,
}

impl FlowState {
    /// Drops the parts only needed while the flow is live (buffers).
    pub fn release(&mut self) {
        if let Some(t) = &mut self.tcp {
            for b in &mut t.bufs {
                b.release();
            }
            t.ws_message = Default::default();
        }
        if let Some(m) = &mut self.media {
            m.dtls_asm = None;
            // An ended flow may be held for its call: its lists no longer
            // grow, so their spare room goes.
            m.streams.shrink_to_fit();
            for s in &mut m.streams {
                s.series.shrink_to_fit();
            }
        }
        if let Some(st) = &mut self.stun {
            st.mapped.shrink_to_fit();
        }
        if let Some(t) = &mut self.tls {
            t.release();
        }
    }

    /// False once a TCP connection is known to carry something other than
    /// SIP or DNS (TLS, TURN framing, nothing parsable): a worker thread
    /// following another one's flow for its signalling (and the DNS answers
    /// every analyser learns names from) can stop there.
    pub fn may_carry_signalling(&self) -> bool {
        self.tcp.as_deref().is_none_or(|t| {
            matches!(
                t.mode,
                TcpMode::Undecided | TcpMode::Sip | TcpMode::WebSocket | TcpMode::Dns
            )
        })
    }

    pub fn finding(&mut self, f: String) {
        if self.findings.len() < MAX_FLOW_FINDINGS && !self.findings.contains(&f) {
            self.findings.push(f);
        }
    }

    pub(crate) fn set_app(&mut self, app: &'static str, why: AppEvidence) {
        if self.app.is_none() {
            self.app = Some(app);
            self.app_evidence = Some(why);
        }
    }
}

/// One RTP stream (SSRC, direction) of a flow.
///
/// Laid out in this order (`repr(C)`): what finds the stream and tells
/// whether it is accepted first, so that looking through a flow's streams
/// reads one cache line of each; then what every packet updates; the
/// header extensions, read for the first packets only, last.
#[derive(Debug, Clone)]
#[repr(C)]
pub struct Stream {
    pub ssrc: u32,
    pub dir: crate::net::Direction,
    /// Showed `ACCEPT_RUN` consecutive sequence numbers: real RTP.
    pub accepted: bool,
    pub payload_type: u8,
    /// Consecutive in-order packets so far (duplicates neither add nor break).
    pub(crate) run: u8,
    pub(crate) last_seq: u16,
    pub clock_estimated: bool,
    pub relayed: bool,
    pub(crate) first_rtp_ts: u32,
    /// Clock rate used for jitter: from SDP, the static table, or estimated.
    pub clock: Option<u32>,
    pub first_ts: Nanos,
    pub last_ts: Nanos,
    pub stats: RtpStreamStats,
    /// Packets, loss and jitter over time (bounded).
    pub series: crate::series::Series,
    /// What a fixed jitter buffer would have done with the stream.
    pub playout: Playout,
    /// Video frames (packets sharing a timestamp) and their gaps.
    pub frames: Frames,
    pub votes: PayloadVotes,
    /// Header extensions the stream carried in clear.
    pub ext: HeaderExtSeen,
}

/// Inter-frame gaps remembered for the freeze test.
pub const FRAME_GAPS: usize = 30;
/// Gaps needed before a freeze is judged.
const FRAME_GAPS_MIN: usize = 5;

/// Video frames of a stream: the packets with one RTP timestamp (RFC 3550
/// section 5.1: all packets of a video frame carry its sampling instant),
/// closed by the marker bit (RFC 3551 section 4.1 and the video payload
/// formats: set on the frame's last packet) or, when that packet is lost,
/// by the next timestamp. A frame's time is the arrival of its last
/// packet. A freeze is a gap between frames longer than both 3 times and
/// 150 ms more than the mean of the last [`FRAME_GAPS`] gaps. Fixed size.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Frames {
    pub frames: u32,
    /// Frames of more than one packet.
    pub multi_packet: u32,
    pub packets: u64,
    pub freezes: u32,
    /// Longest gap between frames (s).
    pub longest_gap: f64,
    /// Completion time of the first and the last frame (s since the stream began).
    pub first: Option<f64>,
    pub last: f64,
    cur_ts: Option<u32>,
    cur_last: f64,
    cur_packets: u32,
    cur_closed: bool,
    gaps: [f32; FRAME_GAPS],
    /// The sum of the gaps in the ring, kept as they come and go.
    gap_sum: f64,
    n_gaps: u8,
    next_gap: u8,
}

impl Frames {
    /// One packet with RTP timestamp `ts` and marker bit `marker`,
    /// arriving `t` seconds after the stream's first packet.
    pub fn packet(&mut self, ts: u32, marker: bool, t: f64) {
        match self.cur_ts {
            Some(c) if c == ts => {
                if self.cur_closed {
                    return; // a duplicate or late piece of a closed frame
                }
                self.cur_last = t;
                self.cur_packets = self.cur_packets.saturating_add(1);
            }
            // An older timestamp: a reordered piece of a past frame.
            Some(c) if ts.wrapping_sub(c) as i32 <= 0 => return,
            _ => {
                self.close();
                self.cur_ts = Some(ts);
                self.cur_last = t;
                self.cur_packets = 1;
                self.cur_closed = false;
            }
        }
        self.packets = self.packets.saturating_add(1);
        if marker {
            self.close();
        }
    }

    fn close(&mut self) {
        if self.cur_closed || self.cur_ts.is_none() {
            return;
        }
        self.cur_closed = true;
        self.frames = self.frames.saturating_add(1);
        if self.cur_packets > 1 {
            self.multi_packet = self.multi_packet.saturating_add(1);
        }
        let t = self.cur_last;
        if self.first.is_none() {
            self.first = Some(t);
            self.last = t;
            return;
        }
        let gap = (t - self.last).max(0.0);
        self.last = t;
        let n = usize::from(self.n_gaps);
        if n >= FRAME_GAPS_MIN {
            let mean = self.gap_sum / n as f64;
            if gap > (3.0 * mean).max(mean + 0.150) {
                self.freezes = self.freezes.saturating_add(1);
            }
        }
        self.longest_gap = self.longest_gap.max(gap);
        let i = usize::from(self.next_gap);
        if let Some(g) = self.gaps.get_mut(i) {
            // The ring is full once n reaches its size: the oldest goes.
            if n == FRAME_GAPS {
                self.gap_sum -= f64::from(*g);
            }
            *g = gap as f32;
            self.gap_sum += f64::from(*g);
        }
        self.next_gap = if i + 1 >= FRAME_GAPS {
            0
        } else {
            (i + 1) as u8
        };
        self.n_gaps = (n + 1).min(FRAME_GAPS) as u8;
    }

    /// Frames per second between the first and the last frame, counting
    /// the frame still open.
    pub fn finished(&self) -> Frames {
        let mut f = *self;
        f.close();
        f
    }

    pub fn fps(&self) -> Option<f64> {
        let span = self.last - self.first?;
        (self.frames >= 2 && span > 0.0).then(|| f64::from(self.frames - 1) / span)
    }
}

/// The jitter buffers the E-model estimate simulates (`judge::e_model`),
/// in [`Playout::buffers`]: a fixed one of 50 ms (the headline MOS), a
/// fixed one of 200 ms, and an adaptive one (up to 500 ms).
pub const BUFFER_NAMES: [&str; BUFFERS] = ["fixed-50ms", "fixed-200ms", "adaptive"];
/// Jitter buffers simulated per stream.
pub const BUFFERS: usize = 3;
/// The fixed buffers' delays (ms), in [`BUFFER_NAMES`] order.
pub const FIXED_BUFFERS_MS: [f64; 2] = [50.0, 200.0];
/// The adaptive buffer's delay bounds (ms) and its delay before its
/// first adjustment.
pub const ADAPTIVE_MIN_MS: f64 = 20.0;
pub const ADAPTIVE_MAX_MS: f64 = 500.0;
pub const ADAPTIVE_START_MS: f64 = 50.0;
/// Within a talkspurt, the adaptive buffer adjusts at most this often (s).
pub const ADAPTIVE_EVERY_S: f64 = 1.0;
/// Ramjee et al. (1994), algorithm 1: the weight of the past in the
/// running estimates of the network delay and its variation.
const RAMJEE_ALPHA: f64 = 0.998_002;
/// A timestamp step this far (s) from the arrival gap starts a new timeline.
pub const TIMELINE_BREAK_S: f64 = 1.0;

/// What one simulated jitter buffer did with a stream: the packets it
/// dropped as late and the runs of packets lost or late. Fixed size.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BufferLoss {
    /// Packets that arrived after their playout time.
    pub late: u64,
    /// The loss run in progress (lost or late packets in a row).
    pub run: u32,
    /// Finished loss runs and their total length.
    pub runs: u32,
    pub run_packets: u64,
}

impl BufferLoss {
    fn close_run(&mut self) {
        if self.run > 0 {
            self.runs = self.runs.saturating_add(1);
            self.run_packets = self.run_packets.saturating_add(u64::from(self.run));
            self.run = 0;
        }
    }

    /// Mean length of the loss runs seen (the run in progress included),
    /// or `None` without loss.
    pub fn mean_run(&self) -> Option<f64> {
        let mut b = *self;
        b.close_run();
        (b.runs > 0).then(|| b.run_packets as f64 / f64::from(b.runs))
    }
}

/// The jitter buffers of the E-model estimate, played over a stream.
///
/// Fixed buffers: a packet is late when it arrives after its playout time
/// `t_anchor + (ts - ts_anchor) / clock + B`, the anchor being the
/// stream's first packet, moved to the first packet of a new timeline: a
/// talkspurt's first packet (marker bit, where RFC 3551 section 4.1 lets
/// the receiver adjust its playout delay) or a new timestamp base (the
/// timestamp stepped more than [`TIMELINE_BREAK_S`], and that far from
/// the arrival gap, since the previous packet).
///
/// Adaptive buffer: algorithm 1 of Ramjee, Kurose, Towsley and
/// Schulzrinne, "Adaptive playout mechanisms for packetized audio
/// applications in wide-area networks" (IEEE INFOCOM 1994). Each packet's
/// transit `n = arrival - ts / clock` (relative to the timeline's first
/// packet) updates `d = a d + (1 - a) n` and `v = a v + (1 - a) |d - n|`
/// (a = 0.998002; a running mean for the first 1 / (1 - a) packets so
/// the start is not weighed by the first packet alone). At the start of
/// a talkspurt (marker bit) and, within one, every [`ADAPTIVE_EVERY_S`]
/// (as receivers that stretch time do), the buffer's delay becomes
/// `4 v` within [`ADAPTIVE_MIN_MS`]..=[`ADAPTIVE_MAX_MS`] and its playout
/// point `d + 4 v`; a packet is late when its transit passes the playout
/// point. The delay starts at [`ADAPTIVE_START_MS`].
///
/// Runs of packets lost or late are counted per buffer for the burst
/// ratio (ITU-T G.107 section 7.4, `BurstR`). Fixed size.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Playout {
    /// Per buffer, in [`BUFFER_NAMES`] order.
    pub buffers: [BufferLoss; BUFFERS],
    /// Highest sequence number so far (in-order packets move it).
    pub hi_seq: Option<u16>,
    /// Whether the stream's first packet was played: the timelines below
    /// are set from then on.
    started: bool,
    /// Fixed buffers' anchor and previous packet: (seconds since the
    /// stream's first packet, RTP timestamp).
    anchor: (f64, u32),
    prev: (f64, u32),
    /// Adaptive buffer: its timeline's first packet, the estimates `d`
    /// and `v` (s), the packets they are made of (counted up to the 500
    /// after which the weight is fixed), its playout point (s of transit)
    /// and delay (s), when it last adjusted, and the sum of its delay over
    /// the packets (for the mean).
    base: (f64, u32),
    d: f64,
    v: f64,
    samples: u32,
    point: f64,
    delay: f64,
    adjusted_at: f64,
    delay_sum: f64,
    packets: u64,
    /// Whether a buffer has a run of lost or late packets going on.
    runs_open: bool,
}

impl Playout {
    /// One packet: `since_first` seconds after the stream's first packet,
    /// with RTP timestamp `ts` and marker bit `marker`, at `clock` Hz (late
    /// is not told without a clock).
    pub fn packet(
        &mut self,
        seq: u16,
        since_first: f64,
        ts: u32,
        marker: bool,
        clock: Option<u32>,
    ) {
        // Bit i: late for buffer i.
        let mut late = 0u8;
        if !self.started {
            self.started = true;
            self.base = (since_first, ts);
            self.anchor = (since_first, ts);
            self.delay = ADAPTIVE_START_MS / 1000.0;
            self.point = self.delay;
            self.adjusted_at = since_first;
            self.estimate(0.0);
        } else if let Some(c) = clock.filter(|&c| c > 0) {
            let c = f64::from(c);
            let (tp, tsp) = self.prev;
            let step = f64::from(ts.wrapping_sub(tsp) as i32) / c;
            // A network stall moves arrival, not the timestamp: only a
            // timestamp jump is a new timeline.
            let jump = step.abs() > TIMELINE_BREAK_S
                && (step - (since_first - tp)).abs() > TIMELINE_BREAK_S;
            if jump {
                self.base = (since_first, ts);
                // Transit is measured from the new timeline's first
                // packet; the variation estimate carries over.
                self.d = 0.0;
                self.point = self.delay;
            } else {
                let (t_base, ts_base) = self.base;
                let n = (since_first - t_base) - f64::from(ts.wrapping_sub(ts_base) as i32) / c;
                if marker || since_first - self.adjusted_at >= ADAPTIVE_EVERY_S {
                    self.adjust(since_first);
                }
                late |= u8::from(n > self.point) << 2;
                self.estimate(n);
            }
            if marker || jump {
                self.anchor = (since_first, ts);
            } else {
                let (t0, ts0) = self.anchor;
                let excess = (since_first - t0) - f64::from(ts.wrapping_sub(ts0) as i32) / c;
                late |= u8::from(excess > FIXED_BUFFERS_MS[0] / 1000.0)
                    | u8::from(excess > FIXED_BUFFERS_MS[1] / 1000.0) << 1;
            }
        }
        self.prev = (since_first, ts);
        self.packets = self.packets.wrapping_add(1);
        self.delay_sum += self.delay;
        if late != 0 {
            for (i, b) in self.buffers.iter_mut().enumerate() {
                if late >> i & 1 != 0 {
                    b.late = b.late.saturating_add(1);
                }
            }
        }
        let step = match self.hi_seq {
            None => 1,
            Some(h) => seq.wrapping_sub(h) as i16,
        };
        if step <= 0 {
            // Duplicate or reordered: its place in the loss runs is past.
            return;
        }
        self.hi_seq = Some(seq);
        // The common packet: in order, on time, no run of loss going on.
        if step == 1 && late == 0 && !self.runs_open {
            return;
        }
        let gap = u32::from(step.unsigned_abs()) - 1;
        let mut open = false;
        for (i, b) in self.buffers.iter_mut().enumerate() {
            b.run = b.run.saturating_add(gap);
            if late >> i & 1 != 0 {
                b.run = b.run.saturating_add(1);
            } else {
                b.close_run();
            }
            open |= b.run > 0;
        }
        self.runs_open = open;
    }

    /// Ramjee et al. algorithm 1: one transit sample `n` (s).
    fn estimate(&mut self, n: f64) {
        // 1 - 1/k passes the weight from the 501st sample on: a constant
        // weight then, and no division.
        let a = if self.samples >= 500 {
            RAMJEE_ALPHA
        } else {
            self.samples += 1;
            RAMJEE_ALPHA.min(1.0 - 1.0 / f64::from(self.samples))
        };
        self.d = a * self.d + (1.0 - a) * n;
        self.v = a * self.v + (1.0 - a) * (self.d - n).abs();
    }

    /// The adaptive buffer takes its delay and playout point from the
    /// estimates.
    fn adjust(&mut self, now: f64) {
        self.delay = (4.0 * self.v).clamp(ADAPTIVE_MIN_MS / 1000.0, ADAPTIVE_MAX_MS / 1000.0);
        self.point = self.d + self.delay;
        self.adjusted_at = now;
    }

    /// The headline (fixed 50 ms) buffer's late packets.
    pub fn late(&self) -> u64 {
        self.buffers[0].late
    }

    /// Each buffer's mean delay (ms): the fixed ones' own, the adaptive
    /// one's over the packets.
    pub fn delays_ms(&self) -> [f64; BUFFERS] {
        let adaptive = match self.packets {
            0 => ADAPTIVE_START_MS,
            n => self.delay_sum / n as f64 * 1000.0,
        };
        [FIXED_BUFFERS_MS[0], FIXED_BUFFERS_MS[1], adaptive]
    }
}

/// What a stream's RTP header extensions showed on the wire (RFC 3550
/// section 5.3.1, RFC 8285, RFC 9335): identifiers only, never their data.
/// Fixed size: one bit per identifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeaderExtSeen {
    /// Identifiers seen in RFC 8285 elements, one bit each (0..=255).
    pub ids: [u64; 4],
    /// Identifiers seen in two-byte (0x100X) blocks.
    pub two_byte: [u64; 4],
    /// One-byte-form identifiers seen with exactly 1 byte of data (the
    /// shape of RFC 6464's audio level), and with any other length.
    pub len1: u16,
    pub len_other: u16,
    /// Blocks under an RFC 9335 cryptex profile (0xC0DE/0xC2DE): encrypted.
    pub cryptex: bool,
    /// Blocks of any other profile (opaque).
    pub other_profile: bool,
    /// RFC 8285 blocks read, and those whose elements did not fit (a
    /// sender that encrypts the block's contents but keeps its 0xBEDE
    /// header, as Discord does, shows random identifiers and lengths).
    pub blocks: u16,
    pub malformed: u16,
}

impl HeaderExtSeen {
    /// Records one packet's extension block.
    pub fn observe(&mut self, ext: &vcscope_dissectors::rtp::RtpExtension<'_>) {
        use vcscope_dissectors::rtp::ExtensionForm;
        if ext.is_cryptex() {
            self.cryptex = true;
            return;
        }
        let form = ext.form();
        if form == ExtensionForm::Other {
            self.other_profile = true;
            return;
        }
        self.blocks = self.blocks.saturating_add(1);
        let mut it = ext.elements();
        for e in &mut it {
            let (w, b) = (usize::from(e.id >> 6), 1u64 << (e.id & 63));
            if let Some(x) = self.ids.get_mut(w) {
                *x |= b;
            }
            if form == ExtensionForm::TwoByte {
                if let Some(x) = self.two_byte.get_mut(w) {
                    *x |= b;
                }
            } else if e.id < 16 {
                if e.data.len() == 1 {
                    self.len1 |= 1 << e.id;
                } else {
                    self.len_other |= 1 << e.id;
                }
            }
        }
        if it.error().is_some() {
            self.malformed = self.malformed.saturating_add(1);
        }
    }

    /// The blocks read as RFC 8285 elements: few malformed ones (RFC 8285
    /// section 4.1 senders never send any).
    pub fn readable(&self) -> bool {
        self.malformed == 0 || u32::from(self.malformed) * 20 <= u32::from(self.blocks)
    }

    /// Identifiers seen, in order; none when the blocks are not readable.
    pub fn id_list(&self) -> impl Iterator<Item = u8> + '_ {
        let ok = self.readable();
        (1..=255u8).filter(move |&i| ok && self.has(i))
    }

    pub fn has(&self, id: u8) -> bool {
        self.ids[usize::from(id >> 6)] & (1 << (id & 63)) != 0
    }

    pub fn is_two_byte(&self, id: u8) -> bool {
        self.two_byte[usize::from(id >> 6)] & (1 << (id & 63)) != 0
    }

    /// A one-byte element that always held 1 byte: the RFC 6464 audio
    /// level's shape (`V` bit and 7-bit level).
    pub fn one_byte_of_len1(&self, id: u8) -> bool {
        id < 16
            && !self.is_two_byte(id)
            && self.len1 & (1 << id) != 0
            && self.len_other & (1 << id) == 0
    }
}

/// Loss and jitter a receiver reported in RTCP about one SSRC.
#[derive(Debug, Clone, Copy)]
pub struct RtcpReport {
    pub ssrc: u32,
    pub fraction_lost: u8,
    pub cumulative_lost: i32,
    pub jitter: u32,
}

/// The last RTCP XR VoIP Metrics block (RFC 3611 section 4.7) seen about
/// one stream, the values as on the wire (127 = unavailable made `None`).
#[derive(Debug, Clone, Copy)]
pub struct XrVoip {
    pub ssrc: u32,
    pub blocks: u32,
    pub loss_rate: u8,
    pub discard_rate: u8,
    pub burst_density: u8,
    pub gap_density: u8,
    pub round_trip_delay: u16,
    pub end_system_delay: u16,
    pub r_factor: Option<u8>,
    pub ext_r_factor: Option<u8>,
    pub mos_lq: Option<u8>,
    pub mos_cq: Option<u8>,
    pub jb_nominal: u16,
    pub jb_maximum: u16,
}

/// DTLS evidence of a flow.
#[derive(Debug, Default, Clone)]
pub struct DtlsFacts {
    pub records: u64,
    pub client_hello: bool,
    pub server_hello: bool,
    pub use_srtp_offered: bool,
    pub srtp_profile: Option<u16>,
    pub version: Option<u16>,
    pub application_data: u64,
}

/// Media evidence of a flow.
#[derive(Debug, Default)]
pub struct MediaState {
    pub streams: Vec<Stream>,
    /// RTP-class packets seen while no stream was accepted.
    pub unaccepted_packets: u32,
    /// Gave up looking for RTP on this flow (too many packets, none accepted).
    pub not_rtp: bool,
    pub rtcp_plain: u64,
    pub srtcp: u64,
    pub rtcp_reports: Vec<RtcpReport>,
    /// RTCP XR VoIP Metrics, one per stream reported on (as many as
    /// `rtcp_reports`).
    pub xr_voip: Vec<XrVoip>,
    pub zrtp_packets: u64,
    pub zrtp_confirmed: bool,
    pub dtls: Option<Box<DtlsFacts>>,
    pub dtls_asm: Option<Box<HandshakeAssembler>>,
    pub streams_dropped: u64,
    /// Capture time and middle 32 bits of the NTP timestamp of the last
    /// sender reports seen (RFC 3550 section 6.4.1 LSR), a small ring.
    pub sr_sent: [(u32, Nanos); 4],
    pub sr_next: u8,
    /// Round trip of the last receiver report block that echoed one of
    /// them (RFC 3550 section 6.4.1: A - LSR - DLSR, A being the report's
    /// capture time), in ms.
    pub rtt_ms: Option<f64>,
    /// SDES item types other than CNAME (RFC 3550 section 6.5: NAME 2 ..
    /// PRIV 8) read in clear RTCP, one bit per type; never their values.
    pub sdes_clear: u16,
}

impl MediaState {
    /// True once a stream is accepted: later RTP-class packets take the fast path.
    pub fn is_settled(&self) -> bool {
        self.streams.iter().any(|s| s.accepted)
    }

    /// True while RTP is still looked for or found.
    pub fn wants_rtp(&self) -> bool {
        !self.not_rtp
    }

    /// Streams that are real RTP: all of them once one stream of the flow
    /// showed a run of consecutive sequence numbers (or signalling/WebRTC
    /// context says the flow is media), none otherwise.
    pub fn accepted_streams(&self, forced: bool) -> impl Iterator<Item = &Stream> {
        let any = forced || self.is_settled();
        self.streams.iter().filter(move |_| any)
    }
}

/// Certificate names kept per flow.
pub const MAX_CERTIFICATE_NAMES: usize = 8;
/// TLS/QUIC handshake facts of a flow.
#[derive(Debug, Default)]
pub struct TlsFacts {
    pub version: Option<u16>,
    pub cipher: Option<u16>,
    pub alpn: Option<Box<str>>,
    /// The ClientHello offered ALPN `stun.turn` (RFC 7443): TURN inside.
    pub alpn_turn: bool,
    pub ech: bool,
    pub post_quantum: bool,
    pub client_dir: Option<Direction>,
    /// Names of the server's leaf certificate (TLS 1.0-1.2): its subject
    /// commonNames, then its subjectAltName dNSNames, in certificate order,
    /// without repeats (ASCII case ignored), at most
    /// [`MAX_CERTIFICATE_NAMES`]. Allocated once, when the certificate is read.
    pub certificate_names: Box<[Box<str>]>,
    pub(crate) asm: [Option<Box<HandshakeAssembler>>; 2],
    pub(crate) segments: [u8; 2],
    pub(crate) done: [bool; 2],
    /// Following this direction past its ServerHello for the Certificate.
    pub(crate) awaiting_certificate: [bool; 2],
    /// Payload bytes read while awaiting the certificate.
    pub(crate) certificate_bytes: [usize; 2],
    pub(crate) quic_dcid: Option<Box<[u8]>>,
}

impl TlsFacts {
    /// Drops the handshake assemblers (the flow ended).
    pub fn release(&mut self) {
        self.asm = [None, None];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 20 ms packets at 8 kHz: `(seq, arrival s, ts, marker)`.
    fn play(pkts: &[(u16, f64, u32, bool)]) -> Playout {
        let mut p = Playout::default();
        for &(seq, t, ts, m) in pkts {
            p.packet(seq, t, ts, m, Some(8000));
        }
        p
    }

    #[test]
    fn fixed_buffer_counts_late_packets_and_loss_runs() {
        // seq 3 arrives 70 ms after its time (late: > 50 ms), 4 and 5 are
        // lost, 6 is on time: one run of 3 (late 3 + lost 4, 5).
        let p = play(&[
            (1, 0.00, 0, false),
            (2, 0.02, 160, false),
            (3, 0.11, 320, false),
            (6, 0.10, 800, false),
            (7, 0.12, 960, false),
        ]);
        assert_eq!(p.late(), 1);
        assert_eq!(p.buffers[0].mean_run(), Some(3.0));
        // Exactly 50 ms after its time is still on time.
        let p = play(&[(1, 0.0, 0, false), (2, 0.07, 160, false)]);
        assert_eq!(p.late(), 0);
        assert_eq!(p.buffers[0].mean_run(), None);
    }

    #[test]
    fn longer_and_adaptive_buffers_drop_fewer() {
        // seq 3 and 4 are 120 and 100 ms behind their times: late for
        // 50 ms, not for 200 ms.
        let p = play(&[
            (1, 0.00, 0, false),
            (2, 0.02, 160, false),
            (3, 0.16, 320, false),
            (4, 0.16, 480, false),
        ]);
        assert_eq!([p.buffers[0].late, p.buffers[1].late], [2, 0]);
        assert_eq!(p.buffers[0].mean_run(), Some(2.0));
        assert_eq!(p.delays_ms()[..2], [50.0, 200.0]);
        // 30 s of 20 ms packets whose transit swings by 0..=90 ms: the
        // adaptive delay settles near 4 v (v = the mean deviation of the
        // transit from its mean d: 30 ms for 0, 30, 60, 90 ms in turn), its
        // playout point at d + 4 v = 165 ms, so after its first adjustment
        // (1 s in, at 50 ms before) it drops nothing.
        let mut p = Playout::default();
        for i in 0..1500u32 {
            let jitter = f64::from(i % 4) * 0.030;
            p.packet(
                i as u16,
                f64::from(i) * 0.02 + jitter,
                i * 160,
                false,
                Some(8000),
            );
        }
        let d = p.delays_ms()[2];
        assert!(d > 110.0 && d < 120.0, "{d}");
        assert_eq!(p.buffers[1].late, 0);
        assert!(p.buffers[0].late > 300, "{}", p.buffers[0].late);
        // Those of 60 and 90 ms transit that arrive in the first second.
        assert_eq!(p.buffers[2].late, 23);
        // Bounded by 500 ms.
        let mut p = Playout::default();
        for i in 0..500u32 {
            let jitter = f64::from(i % 2) * 2.0;
            p.packet(
                i as u16,
                f64::from(i) * 0.02 + jitter,
                i * 160,
                false,
                Some(8000),
            );
        }
        assert!(p.delays_ms()[2] <= ADAPTIVE_MAX_MS);
    }

    #[test]
    fn a_new_timeline_moves_the_anchor() {
        // The timestamp restarts at 0 (a new base): not late.
        let p = play(&[
            (1, 0.0, 347_040, false),
            (2, 0.02, 347_200, false),
            (3, 0.3, 0, false),
            (4, 0.32, 160, false),
        ]);
        assert_eq!(p.late(), 0);
        // A talkspurt after 2 s of silence, timestamp not advanced: the
        // marker bit re-anchors.
        let p = play(&[
            (1, 0.0, 0, false),
            (2, 2.0, 160, true),
            (3, 2.02, 320, false),
        ]);
        assert_eq!(p.late(), 0);
        // The same without the marker: a network stall, both late.
        let p = play(&[
            (1, 0.0, 0, false),
            (2, 2.0, 160, false),
            (3, 2.02, 320, false),
        ]);
        assert_eq!(p.late(), 2);
        assert_eq!(p.buffers[0].mean_run(), Some(2.0));
    }

    #[test]
    fn frames_are_timestamps_closed_by_the_marker() {
        let mut f = Frames::default();
        // 10 frames of 3 packets, 100 ms apart (10 fps), then a 1 s gap.
        for k in 0..10u32 {
            let t = f64::from(k) * 0.1;
            f.packet(k * 9000, false, t);
            f.packet(k * 9000, false, t + 0.001);
            f.packet(k * 9000, true, t + 0.002);
        }
        f.packet(10 * 9000, true, 0.9 + 1.0);
        let f = f.finished();
        assert_eq!((f.frames, f.multi_packet, f.packets), (11, 10, 31));
        // Mean gap 0.1 s: 1 s > max(0.3, 0.25) is a freeze.
        assert_eq!(f.freezes, 1);
        // Frames complete with their marker packet: 0.902 s to 1.9 s.
        assert!((f.longest_gap - 0.998).abs() < 1e-9);
        assert!((f.fps().unwrap() - 10.0 / (1.9 - 0.002)).abs() < 1e-9);
    }

    #[test]
    fn a_lost_marker_closes_at_the_next_timestamp_and_old_pieces_are_ignored() {
        let mut f = Frames::default();
        f.packet(100, false, 0.0);
        f.packet(200, false, 0.1); // closes frame 100 (its marker lost)
        f.packet(100, false, 0.11); // a late piece of it: ignored
        f.packet(200, true, 0.12);
        let f = f.finished();
        assert_eq!(f.frames, 2);
        assert_eq!(f.packets, 3);
    }
}

//! RTP data packets, header extensions, stream statistics and detection.
//!
//! Implemented:
//! - RFC 3550 section 5.1: the fixed header, CSRC list, header extension and
//!   padding, version 2 only ([`RtpPacket`]).
//! - RFC 8285 sections 4.2 and 4.3: one-byte (`0xBEDE`) and two-byte
//!   (`0x100X`) header extension elements ([`RtpExtension::elements`]).
//! - RFC 5761 section 4: telling RTCP from RTP on a multiplexed port
//!   ([`is_rtcp`]).
//! - RFC 3551 section 6, tables 4 and 5: static payload types
//!   ([`static_payload_type`]).
//! - RFC 3550 appendices A.1, A.3 and A.8: sequence tracking, expected and
//!   lost packets, interarrival jitter ([`RtpStreamStats`]).
//! - A signalling-free RTP detector with a packet budget ([`RtpHeuristic`]).
//!
//! Not supported: RTP versions other than 2 (RFC 1889 version 1 and vat
//! version 0 are rejected), header extensions of other profiles are exposed as
//! opaque bytes only, and the probation step of RFC 3550 A.1 (a new source is
//! counted from its first packet on, as Wireshark does). Payloads are not
//! decoded here; see `srtp` for payload evidence.

use core::fmt;

use crate::error::{be, Error, ErrorKind, Probe, Result};

/// Byte offsets of the RTP fixed header (RFC 3550 section 5.1).
mod field {
    /// V(2) P(1) X(1) CC(4).
    pub const VPXCC: usize = 0;
    /// M(1) PT(7).
    pub const M_PT: usize = 1;
    pub const SEQUENCE: usize = 2;
    pub const TIMESTAMP: usize = 4;
    pub const SSRC: usize = 8;
    /// Start of the CSRC list, also the length of the fixed header.
    pub const CSRC: usize = 12;

    /// Offsets inside the header extension, relative to its start.
    pub const EXT_PROFILE: usize = 0;
    pub const EXT_LENGTH: usize = 2;
    pub const EXT_DATA: usize = 4;
}

/// Length of the fixed RTP header.
pub const HEADER_LEN: usize = field::CSRC;

/// A synchronization (or contributing) source identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ssrc(pub u32);

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08X}", self.0)
    }
}

impl From<u32> for Ssrc {
    fn from(v: u32) -> Self {
        Ssrc(v)
    }
}

/// A 7-bit RTP payload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PayloadType(pub u8);

impl PayloadType {
    /// Whether the number is in the dynamic range 96..=127 (RFC 3551 section 6).
    pub fn is_dynamic(self) -> bool {
        (96..=127).contains(&self.0)
    }

    /// The RFC 3551 static assignment of this number, if any.
    pub fn static_codec(self) -> Option<StaticCodec> {
        static_payload_type(self.0)
    }
}

impl fmt::Display for PayloadType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Cheap check of the first bytes: version 2 and not an RTCP packet type.
///
/// Reads two bytes at most. A datagram shorter than the fixed header is
/// `NeedMore` only when the first byte already looks right.
pub fn probe(buf: &[u8]) -> Probe {
    match buf.first() {
        None => Probe::NeedMore,
        Some(b) if b >> 6 != 2 => Probe::NoMatch,
        Some(_) if is_rtcp(buf) => Probe::NoMatch,
        Some(_) if buf.len() < HEADER_LEN => Probe::NeedMore,
        Some(_) => Probe::Match,
    }
}

/// Whether a version-2 packet on an rtcp-mux port is RTCP rather than RTP.
///
/// RFC 5761 section 4: the second byte of RTCP is the packet type, 192..=223
/// in practice (SR 200 to XR 207 and neighbours), which an RTP header reads as
/// marker set with payload type 64..=95. Those payload types must not be used
/// for RTP on a multiplexed port.
pub fn is_rtcp(buf: &[u8]) -> bool {
    matches!(buf, [first, second, ..] if first >> 6 == 2 && (192..=223).contains(second))
}

/// A validated RTP packet (RFC 3550 section 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    buf: &'a [u8],
    /// Fixed header, CSRC list and extension.
    header_len: usize,
    /// Number of padding octets at the end (0 when P is clear).
    padding_len: usize,
}

impl<'a> RtpPacket<'a> {
    // RFC 3550 section 5.1:
    //
    //  0                   1                   2                   3
    //  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |V=2|P|X|  CC   |M|     PT      |       sequence number         |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |                           timestamp                           |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |           synchronization source (SSRC) identifier            |
    // +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
    // |            contributing source (CSRC) identifiers             |
    // |                             ....                              |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    //
    // Section 5.3.1, header extension when X is set:
    //
    // |      defined by profile       |           length              |
    // |                        header extension                       |
    //
    // `length` counts 32-bit words after this 4-byte header. When P is set,
    // the last octet counts the padding octets, itself included.
    /// Validates the header, CSRC list, extension and padding lengths.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let first = be::u8_at(buf, field::VPXCC)?;
        if first >> 6 != 2 {
            return Err(Error::new(ErrorKind::BadVersion, field::VPXCC));
        }
        if buf.len() < HEADER_LEN {
            return Err(Error::truncated(buf.len()));
        }
        let csrc_count = usize::from(first & 0x0f);
        let mut header_len = field::CSRC + csrc_count * 4;
        if buf.len() < header_len {
            return Err(Error::truncated(buf.len()));
        }
        if first & 0x10 != 0 {
            let words = usize::from(be::u16_at(buf, header_len + field::EXT_LENGTH)?);
            let ext_len = field::EXT_DATA + words * 4;
            be::slice(buf, header_len, ext_len)
                .map_err(|_| Error::bad_length(header_len + field::EXT_LENGTH))?;
            header_len += ext_len;
        }
        let padding_len = if first & 0x20 != 0 {
            let count = usize::from(buf.last().copied().unwrap_or(0));
            if count == 0 || header_len + count > buf.len() {
                return Err(Error::bad_length(buf.len().saturating_sub(1)));
            }
            count
        } else {
            0
        };
        Ok(RtpPacket {
            buf,
            header_len,
            padding_len,
        })
    }

    /// The whole packet as given.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    fn first(&self) -> u8 {
        self.buf.first().copied().unwrap_or(0)
    }

    fn second(&self) -> u8 {
        self.buf.get(field::M_PT).copied().unwrap_or(0)
    }

    /// The version field (always 2 after `new_checked`).
    pub fn version(&self) -> u8 {
        self.first() >> 6
    }

    /// The P bit: the packet ends with padding.
    pub fn has_padding(&self) -> bool {
        self.first() & 0x20 != 0
    }

    /// The X bit: a header extension follows the CSRC list.
    pub fn has_extension(&self) -> bool {
        self.first() & 0x10 != 0
    }

    /// The CC field: number of CSRC identifiers.
    pub fn csrc_count(&self) -> u8 {
        self.first() & 0x0f
    }

    /// The M bit (profile-defined: start of a talkspurt, end of a video frame).
    pub fn marker(&self) -> bool {
        self.second() & 0x80 != 0
    }

    /// The 7-bit payload type.
    pub fn payload_type(&self) -> PayloadType {
        PayloadType(self.second() & 0x7f)
    }

    /// The 16-bit sequence number.
    pub fn sequence_number(&self) -> u16 {
        be::u16_at(self.buf, field::SEQUENCE).unwrap_or(0)
    }

    /// The 32-bit media timestamp.
    pub fn timestamp(&self) -> u32 {
        be::u32_at(self.buf, field::TIMESTAMP).unwrap_or(0)
    }

    /// The synchronization source.
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(be::u32_at(self.buf, field::SSRC).unwrap_or(0))
    }

    /// The contributing sources, in order.
    pub fn csrcs(&self) -> Csrcs<'a> {
        let end = field::CSRC + usize::from(self.csrc_count()) * 4;
        Csrcs {
            rest: self.buf.get(field::CSRC..end).unwrap_or(&[]),
        }
    }

    /// The header extension, when the X bit is set.
    pub fn extension(&self) -> Option<RtpExtension<'a>> {
        if !self.has_extension() {
            return None;
        }
        let start = field::CSRC + usize::from(self.csrc_count()) * 4;
        let ext = self.buf.get(start..self.header_len)?;
        Some(RtpExtension {
            profile: be::u16_at(ext, field::EXT_PROFILE).ok()?,
            data: ext.get(field::EXT_DATA..)?,
        })
    }

    /// Length of the fixed header, CSRC list and header extension.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// Number of padding octets at the end (0 without the P bit).
    pub fn padding_len(&self) -> usize {
        self.padding_len
    }

    /// The payload, without header and padding.
    pub fn payload(&self) -> &'a [u8] {
        let end = self.buf.len().saturating_sub(self.padding_len);
        self.buf.get(self.header_len..end).unwrap_or(&[])
    }
}

/// Iterator over a list of 32-bit source identifiers (the CSRC list of an
/// [`RtpPacket`], the sources of an RTCP BYE).
#[derive(Debug, Clone)]
pub struct Csrcs<'a> {
    rest: &'a [u8],
}

impl<'a> Csrcs<'a> {
    /// Iterates over `rest` in 4-byte steps; a trailing partial word is ignored.
    pub(crate) fn from_bytes(rest: &'a [u8]) -> Self {
        Csrcs { rest }
    }
}

impl Iterator for Csrcs<'_> {
    type Item = Ssrc;

    fn next(&mut self) -> Option<Ssrc> {
        let (id, rest) = self.rest.split_first_chunk::<4>()?;
        self.rest = rest;
        Some(Ssrc(u32::from_be_bytes(*id)))
    }
}

/// The profile value announcing RFC 8285 one-byte elements.
pub const ONE_BYTE_PROFILE: u16 = 0xBEDE;
/// RFC 9335 section 5.1: "defined by profile" of an encrypted (cryptex)
/// block of one-byte elements.
pub const CRYPTEX_ONE_BYTE_PROFILE: u16 = 0xC0DE;
/// RFC 9335 section 5.1: the same for two-byte elements.
pub const CRYPTEX_TWO_BYTE_PROFILE: u16 = 0xC2DE;

/// The RFC 3550 section 5.3.1 header extension of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    profile: u16,
    data: &'a [u8],
}

impl<'a> RtpExtension<'a> {
    /// The 16-bit "defined by profile" value.
    pub fn profile(&self) -> u16 {
        self.profile
    }

    /// The extension data after the 4-byte extension header.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Which RFC 8285 form the profile value announces.
    pub fn form(&self) -> ExtensionForm {
        if self.profile == ONE_BYTE_PROFILE {
            ExtensionForm::OneByte
        } else if self.profile & 0xfff0 == 0x1000 {
            ExtensionForm::TwoByte
        } else {
            ExtensionForm::Other
        }
    }

    /// RFC 9335 (cryptex): the block and the CSRC list are encrypted with
    /// the payload, so its elements cannot be read on the wire.
    pub fn is_cryptex(&self) -> bool {
        matches!(
            self.profile,
            CRYPTEX_ONE_BYTE_PROFILE | CRYPTEX_TWO_BYTE_PROFILE
        )
    }

    /// The RFC 8285 elements; empty for other profiles (cryptex blocks included).
    pub fn elements(&self) -> ExtensionElements<'a> {
        ExtensionElements {
            form: self.form(),
            rest: self.data,
            offset: 0,
            error: None,
        }
    }
}

/// The layout of a header extension block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtensionForm {
    /// RFC 8285 section 4.2, profile 0xBEDE.
    OneByte,
    /// RFC 8285 section 4.3, profile 0x1000-0x100F.
    TwoByte,
    /// Any other profile: opaque data.
    Other,
}

/// One RFC 8285 header extension element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionElement<'a> {
    /// The local identifier (1..=14 one-byte, 1..=255 two-byte).
    pub id: u8,
    /// The element data.
    pub data: &'a [u8],
}

/// Iterator over RFC 8285 elements; stops at the first malformed one.
#[derive(Debug, Clone)]
pub struct ExtensionElements<'a> {
    form: ExtensionForm,
    rest: &'a [u8],
    /// Offset of `rest` inside the extension data.
    offset: usize,
    error: Option<Error>,
}

impl<'a> ExtensionElements<'a> {
    /// Why iteration stopped early, if it did (offset inside the extension data).
    pub fn error(&self) -> Option<Error> {
        self.error
    }

    fn fail(&mut self, kind: ErrorKind) -> Option<ExtensionElement<'a>> {
        self.error = Some(Error::new(kind, self.offset));
        self.rest = &[];
        None
    }

    fn take(&mut self, skip: usize, len: usize) -> Option<&'a [u8]> {
        let data = self.rest.get(skip..skip.checked_add(len)?)?;
        self.rest = self.rest.get(skip + len..).unwrap_or(&[]);
        self.offset += skip + len;
        Some(data)
    }
}

impl<'a> Iterator for ExtensionElements<'a> {
    type Item = ExtensionElement<'a>;

    // RFC 8285 section 4.2, one-byte form:
    //
    //  0 1 2 3 4 5 6 7
    // +-+-+-+-+-+-+-+-+
    // |  ID   |  len  |  data: len + 1 bytes
    // +-+-+-+-+-+-+-+-+
    //
    // ID 0 is a padding byte, ID 15 is reserved and ends processing.
    //
    // Section 4.3, two-byte form:
    //
    // |       ID      |     length    |  data: length bytes
    //
    // ID 0 is a padding byte.
    fn next(&mut self) -> Option<ExtensionElement<'a>> {
        loop {
            let &first = self.rest.first()?;
            match self.form {
                ExtensionForm::Other => return None,
                ExtensionForm::OneByte => {
                    let id = first >> 4;
                    if id == 0 {
                        self.take(1, 0);
                        continue;
                    }
                    if id == 15 {
                        self.rest = &[];
                        return None;
                    }
                    let len = usize::from(first & 0x0f) + 1;
                    return match self.take(1, len) {
                        Some(data) => Some(ExtensionElement { id, data }),
                        None => self.fail(ErrorKind::BadLength),
                    };
                }
                ExtensionForm::TwoByte => {
                    if first == 0 {
                        self.take(1, 0);
                        continue;
                    }
                    let Some(&len) = self.rest.get(1) else {
                        return self.fail(ErrorKind::Truncated);
                    };
                    return match self.take(2, usize::from(len)) {
                        Some(data) => Some(ExtensionElement { id: first, data }),
                        None => self.fail(ErrorKind::BadLength),
                    };
                }
            }
        }
    }
}

/// Audio or video, as RFC 3551 tables 4 and 5 list a payload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// An audio codec.
    Audio,
    /// A video codec.
    Video,
    /// Audio and video multiplexed (MP2T).
    AudioVideo,
}

/// A static payload type assignment of RFC 3551.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StaticCodec {
    /// The encoding name as used in SDP `a=rtpmap`.
    pub name: &'static str,
    /// RTP timestamp clock rate in Hz.
    pub clock_rate: u32,
    /// What the stream carries.
    pub kind: MediaKind,
    /// Audio channels (1 for video).
    pub channels: u8,
}

/// The RFC 3551 section 6 (tables 4 and 5) assignment of a payload type.
///
/// G722 is listed with an 8000 Hz RTP clock although it samples at 16 kHz
/// (RFC 3551 section 4.5.2). Unassigned, reserved and dynamic numbers give
/// `None`.
pub fn static_payload_type(pt: u8) -> Option<StaticCodec> {
    use MediaKind::{Audio, AudioVideo, Video};
    let (name, clock_rate, kind, channels) = match pt {
        0 => ("PCMU", 8000, Audio, 1),
        3 => ("GSM", 8000, Audio, 1),
        4 => ("G723", 8000, Audio, 1),
        5 => ("DVI4", 8000, Audio, 1),
        6 => ("DVI4", 16000, Audio, 1),
        7 => ("LPC", 8000, Audio, 1),
        8 => ("PCMA", 8000, Audio, 1),
        9 => ("G722", 8000, Audio, 1),
        10 => ("L16", 44100, Audio, 2),
        11 => ("L16", 44100, Audio, 1),
        12 => ("QCELP", 8000, Audio, 1),
        13 => ("CN", 8000, Audio, 1),
        14 => ("MPA", 90000, Audio, 1),
        15 => ("G728", 8000, Audio, 1),
        16 => ("DVI4", 11025, Audio, 1),
        17 => ("DVI4", 22050, Audio, 1),
        18 => ("G729", 8000, Audio, 1),
        25 => ("CelB", 90000, Video, 1),
        26 => ("JPEG", 90000, Video, 1),
        28 => ("nv", 90000, Video, 1),
        31 => ("H261", 90000, Video, 1),
        32 => ("MPV", 90000, Video, 1),
        33 => ("MP2T", 90000, AudioVideo, 1),
        34 => ("H263", 90000, Video, 1),
        _ => return None,
    };
    Some(StaticCodec {
        name,
        clock_rate,
        kind,
        channels,
    })
}

/// RFC 3550 A.1: a jump of at least this many is not a plain loss.
const MAX_DROPOUT: u16 = 3000;
/// RFC 3550 A.1: a step back of at most this many is a late packet.
const MAX_MISORDER: u16 = 100;
/// Number of recent sequence numbers remembered for duplicate detection.
const DUP_WINDOW: u16 = 128;

/// Per-SSRC receive statistics, O(1) per packet and without allocation.
///
/// Sequence tracking follows RFC 3550 appendix A.1 without probation (every
/// packet counts, as in Wireshark's RTP stream analysis), expected and lost
/// follow A.3, jitter follows A.8. Jitter and delta maxima follow Wireshark:
/// when fed through [`update_packet`](Self::update_packet), packets with the
/// marker bit, comfort noise (PT 13 and 19) and the packet after comfort noise
/// update the running jitter but not the maxima.
/// A transit-time change larger than this (seconds) resets the jitter
/// baseline instead of counting as jitter.
const MAX_TRANSIT_JUMP_S: f64 = 5.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RtpStreamStats {
    packets: u64,
    bytes: u64,
    /// Packets counted since the last resynchronisation (A.1 `received`).
    received: u64,
    /// Expected and received before the last resynchronisation.
    prior_expected: u64,
    prior_received: u64,
    /// Extended sequence number the current run started at (A.1 `base_seq`).
    base_seq: u64,
    /// Extended highest sequence number (A.1 `cycles` + `max_seq`).
    max_ext: u64,
    /// Sequence number that confirms a large jump (A.1 `bad_seq`).
    bad_seq: Option<u16>,
    /// Bit `i` set: sequence `max_ext - i` was seen.
    window: u128,
    reordered: u64,
    duplicates: u64,
    resyncs: u64,
    last_arrival: f64,
    last_ts: u32,
    /// A.8 jitter, in RTP timestamp units.
    jitter: f64,
    max_jitter: f64,
    clock_rate: u32,
    /// Largest gap between consecutive arrivals, seconds.
    max_delta: f64,
    prev_was_cn: bool,
    /// The stream's media payload type: packets of another type (DTMF
    /// events, comfort noise) do not take part in the jitter estimate.
    main_pt: Option<u8>,
    /// Consecutive packets of one other payload type (a codec change after 3).
    other_pt_run: u8,
}

impl Default for RtpStreamStats {
    fn default() -> Self {
        Self::new()
    }
}

impl RtpStreamStats {
    /// An empty accumulator.
    pub const fn new() -> Self {
        RtpStreamStats {
            packets: 0,
            bytes: 0,
            received: 0,
            prior_expected: 0,
            prior_received: 0,
            base_seq: 0,
            max_ext: 0,
            bad_seq: None,
            window: 0,
            reordered: 0,
            duplicates: 0,
            resyncs: 0,
            last_arrival: 0.0,
            last_ts: 0,
            jitter: 0.0,
            max_jitter: 0.0,
            clock_rate: 0,
            max_delta: 0.0,
            prev_was_cn: false,
            main_pt: None,
            other_pt_run: 0,
        }
    }

    /// Accounts one packet: its sequence number, RTP timestamp, arrival time in
    /// seconds (packet time) and the RTP clock rate if known (no jitter without
    /// it). Every packet counts toward the maxima except the first.
    pub fn update(&mut self, seq: u16, rtp_ts: u32, arrival: f64, clock_rate: Option<u32>) {
        let regular = self.packets > 0;
        self.record(seq, rtp_ts, arrival, clock_rate, regular);
    }

    /// Accounts one parsed packet (counts its bytes too) and applies
    /// Wireshark's rule for which packets feed the jitter and delta maxima.
    pub fn update_packet(&mut self, pkt: &RtpPacket<'_>, arrival: f64, clock_rate: Option<u32>) {
        let is_cn = matches!(pkt.payload_type().0, 13 | 19);
        let regular = self.packets > 0 && !pkt.marker() && !is_cn && !self.prev_was_cn;
        self.prev_was_cn = is_cn;
        self.add_bytes(pkt.as_bytes().len());
        // RFC 4733 events keep the timestamp of the event's start and are
        // interleaved with the media: only the media payload type (and comfort
        // noise, as Wireshark counts it) measures jitter. Three packets in a
        // row of another type are a codec change.
        let pt = pkt.payload_type().0;
        let main = *self.main_pt.get_or_insert(pt);
        if pt != main && !is_cn {
            self.other_pt_run = self.other_pt_run.saturating_add(1);
            if self.other_pt_run >= 3 {
                self.main_pt = Some(pt);
                self.other_pt_run = 0;
            } else {
                self.count_only(pkt.sequence_number());
                return;
            }
        } else {
            self.other_pt_run = 0;
        }
        self.record(
            pkt.sequence_number(),
            pkt.timestamp(),
            arrival,
            clock_rate,
            regular,
        );
    }

    /// Adds to the byte counter (use with [`update`](Self::update)).
    pub fn add_bytes(&mut self, n: usize) {
        self.bytes = self.bytes.saturating_add(n as u64);
    }

    /// Counts a packet for sequence tracking only (no timing).
    fn count_only(&mut self, seq: u16) {
        let first = self.packets == 0;
        self.packets = self.packets.saturating_add(1);
        if first {
            self.init_seq(seq);
            self.received = 1;
        } else {
            self.track_seq(seq);
        }
    }

    fn record(&mut self, seq: u16, ts: u32, arrival: f64, clock_rate: Option<u32>, regular: bool) {
        let first = self.packets == 0;
        self.packets = self.packets.saturating_add(1);
        if first {
            self.init_seq(seq);
            self.received = 1;
        } else {
            self.track_seq(seq);
        }
        if !arrival.is_finite() {
            return;
        }
        if !first {
            let delta = arrival - self.last_arrival;
            if let Some(rate) = clock_rate.filter(|&r| r > 0) {
                if rate != self.clock_rate && self.clock_rate != 0 {
                    // A new clock: rescale the running jitter to its units.
                    let scale = f64::from(rate) / f64::from(self.clock_rate);
                    self.jitter *= scale;
                    self.max_jitter *= scale;
                }
                self.clock_rate = rate;
                // A.8: D(i-1, i) = (Rj - Ri) - (Sj - Si), in timestamp units.
                let ts_step = f64::from(ts.wrapping_sub(self.last_ts) as i32);
                let d = delta * f64::from(rate) - ts_step;
                // A transit change of more than MAX_TRANSIT_JUMP_S is a
                // timestamp discontinuity (a sender restarting its RTP clock),
                // not network jitter: the next packet is measured from here.
                if d.abs() <= MAX_TRANSIT_JUMP_S * f64::from(rate) {
                    self.jitter += (d.abs() - self.jitter) / 16.0;
                } else {
                    self.resyncs = self.resyncs.saturating_add(1);
                }
            }
            if regular {
                self.max_delta = self.max_delta.max(delta);
                self.max_jitter = self.max_jitter.max(self.jitter);
            }
        }
        self.last_arrival = arrival;
        self.last_ts = ts;
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u64::from(seq);
        self.max_ext = u64::from(seq);
        self.bad_seq = None;
        self.window = 1;
    }

    // RFC 3550 A.1 update_seq, with the duplicate window added.
    fn track_seq(&mut self, seq: u16) {
        let max_seq = self.max_ext as u16;
        let udelta = seq.wrapping_sub(max_seq);
        if udelta == 0 {
            self.duplicates += 1;
            self.received += 1;
        } else if udelta < MAX_DROPOUT {
            self.max_ext = self.max_ext.saturating_add(u64::from(udelta));
            self.window = if udelta >= DUP_WINDOW {
                1
            } else {
                (self.window << udelta) | 1
            };
            self.received += 1;
        } else if udelta <= u16::MAX - MAX_MISORDER {
            // A large jump: only a second packet in sequence confirms it.
            if self.bad_seq == Some(seq) {
                self.resync(seq);
            } else {
                self.bad_seq = Some(seq.wrapping_add(1));
            }
        } else {
            let back = max_seq.wrapping_sub(seq);
            let bit = 1u128.checked_shl(u32::from(back)).unwrap_or(0);
            if back < DUP_WINDOW && self.window & bit != 0 {
                self.duplicates += 1;
            } else {
                self.window |= bit;
                self.reordered += 1;
            }
            self.received += 1;
        }
    }

    /// The source restarted with new sequence numbers: close the old run.
    fn resync(&mut self, seq: u16) {
        self.prior_expected = self.prior_expected.saturating_add(self.run_expected());
        self.prior_received = self.prior_received.saturating_add(self.received);
        self.resyncs += 1;
        // The packet that announced the jump (seq - 1) belongs to the new run.
        self.base_seq = u64::from(seq.wrapping_sub(1));
        self.max_ext = self.base_seq + 1;
        self.bad_seq = None;
        self.window = 0b11;
        self.received = 2;
    }

    fn run_expected(&self) -> u64 {
        self.max_ext.saturating_sub(self.base_seq).saturating_add(1)
    }

    /// All packets given to this accumulator.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Bytes given through [`update_packet`](Self::update_packet) or [`add_bytes`](Self::add_bytes).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The extended highest sequence number received (A.1: cycles + max_seq).
    pub fn extended_highest_seq(&self) -> u64 {
        self.max_ext
    }

    /// Packets expected from the sequence numbers (A.3), over all runs.
    pub fn expected(&self) -> u64 {
        if self.packets == 0 {
            return 0;
        }
        self.prior_expected.saturating_add(self.run_expected())
    }

    /// Packets lost (A.3): expected minus received. Duplicates count as
    /// received, so this is negative when they outnumber the losses.
    pub fn lost(&self) -> i64 {
        let received = self.prior_received.saturating_add(self.received);
        (self.expected() as i64).saturating_sub(received as i64)
    }

    /// Packets older than the highest sequence number seen (late, not duplicate).
    pub fn reordered(&self) -> u64 {
        self.reordered
    }

    /// Packets whose sequence number was already seen recently.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Times the source jumped to new sequence numbers (A.1 resynchronisation).
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// The A.8 interarrival jitter, in RTP timestamp units.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// The last clock rate given, if any.
    pub fn clock_rate(&self) -> Option<u32> {
        Some(self.clock_rate).filter(|&r| r > 0)
    }

    /// The current jitter in milliseconds (needs a clock rate).
    pub fn jitter_ms(&self) -> Option<f64> {
        self.clock_rate()
            .map(|r| self.jitter * 1000.0 / f64::from(r))
    }

    /// The largest jitter seen, in milliseconds (needs a clock rate).
    pub fn max_jitter_ms(&self) -> Option<f64> {
        self.clock_rate()
            .map(|r| self.max_jitter * 1000.0 / f64::from(r))
    }

    /// The largest gap between consecutive arrivals, in milliseconds.
    pub fn max_delta_ms(&self) -> f64 {
        self.max_delta * 1000.0
    }
}

/// What [`RtpHeuristic`] has concluded so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeuristicState {
    /// Not enough packets yet.
    Pending,
    /// The direction carries RTP.
    Rtp,
    /// The budget ran out without RTP evidence.
    NotRtp,
}

/// Decides, without signalling, whether one direction of a UDP flow is RTP.
///
/// The idea follows nDPI's `rtp.c`: a valid version-2 header is common in
/// random data, a stable 32-bit SSRC with consecutive sequence numbers is not.
/// A run of [`RtpHeuristic::RUN`] packets with the same SSRC, sequence numbers
/// advancing by 1..=32 (modulo 2^16), timestamps not going back, and a payload
/// type that changes at most [`RtpHeuristic::MAX_PT_CHANGES`] times (DTMF,
/// comfort noise) is accepted. The flow is rejected once
/// [`RtpHeuristic::BUDGET`] packets have been observed without such a run, or
/// when the SSRC changes on most packets. Two random headers share an SSRC
/// with probability 2^-32.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeuristic {
    state: HeuristicState,
    observed: u8,
    run: u8,
    ssrc: u32,
    seq: u16,
    ts: u32,
    pt: u8,
    pt_changes: u8,
    ssrc_changes: u8,
}

impl Default for RtpHeuristic {
    fn default() -> Self {
        Self::new()
    }
}

impl RtpHeuristic {
    /// Packets in a consistent run needed to accept.
    pub const RUN: u8 = 3;
    /// Packets observed before giving up.
    pub const BUDGET: u8 = 8;
    /// Payload type changes tolerated inside a run.
    pub const MAX_PT_CHANGES: u8 = 2;
    /// Largest sequence step still counted as consecutive.
    pub const MAX_SEQ_STEP: u16 = 32;
    /// Largest forward timestamp step (10 s at 90 kHz).
    const MAX_TS_STEP: u32 = 900_000;

    /// A detector that has seen nothing.
    pub const fn new() -> Self {
        RtpHeuristic {
            state: HeuristicState::Pending,
            observed: 0,
            run: 0,
            ssrc: 0,
            seq: 0,
            ts: 0,
            pt: 0,
            pt_changes: 0,
            ssrc_changes: 0,
        }
    }

    /// The current conclusion.
    pub fn state(&self) -> HeuristicState {
        self.state
    }

    /// Feeds the next packet of the direction; returns the conclusion so far.
    /// Once decided, the state does not change.
    pub fn observe(&mut self, pkt: &RtpPacket<'_>) -> HeuristicState {
        if self.state != HeuristicState::Pending {
            return self.state;
        }
        self.observed = self.observed.saturating_add(1);
        let ssrc = pkt.ssrc().0;
        let seq = pkt.sequence_number();
        let ts = pkt.timestamp();
        let pt = pkt.payload_type().0;
        if is_rtcp(pkt.as_bytes()) {
            // Muxed RTCP breaks no run but is not RTP evidence either.
        } else if self.run == 0 {
            self.start_run(ssrc, seq, ts, pt);
        } else if ssrc != self.ssrc {
            self.ssrc_changes = self.ssrc_changes.saturating_add(1);
            self.start_run(ssrc, seq, ts, pt);
        } else {
            let seq_step = seq.wrapping_sub(self.seq);
            let ts_step = ts.wrapping_sub(self.ts);
            let pt_ok = pt == self.pt || self.pt_changes < Self::MAX_PT_CHANGES;
            if (1..=Self::MAX_SEQ_STEP).contains(&seq_step) && ts_step <= Self::MAX_TS_STEP && pt_ok
            {
                if pt != self.pt {
                    self.pt_changes += 1;
                }
                self.run += 1;
                self.seq = seq;
                self.ts = ts;
                self.pt = pt;
            } else {
                self.start_run(ssrc, seq, ts, pt);
            }
        }
        if self.run >= Self::RUN {
            self.state = HeuristicState::Rtp;
        } else if self.observed >= Self::BUDGET || self.ssrc_changes >= Self::BUDGET / 2 {
            self.state = HeuristicState::NotRtp;
        }
        self.state
    }

    fn start_run(&mut self, ssrc: u32, seq: u16, ts: u32, pt: u8) {
        self.run = 1;
        self.ssrc = ssrc;
        self.seq = seq;
        self.ts = ts;
        self.pt = pt;
        self.pt_changes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// heplify__sip_ipv4_tcp.pcap frame 13: PCMA, SSRC 0x42F433D4, seq 54339.
    const PCMA_FRAME13: &str = "8008d4437058118942f433d470707176d0d0d0d1d0d0d1d1d1d1d1d1d1d1d6d6d6d6d6d6d7d7d7d7d7d7d7d7d7d7d4d4d4d4d453767b676161606667657f42d1cbffe7e2eee8ea9594959595ebeeede0e6e5fff0c9dad2565a4d4a76737d7e79787b7b7b7b78797f7c72707176754b4e4341445b5e5d5351565455d5d4d4d7d7d7d7d7d7d7d4d4d4d5d55555d55555d555d4d5d5d555d4d5d555d455d4d5d5d5d55554d5d5d5d4d5555555d5";
    /// heplify__sip_ipv4_tcp.pcap frame 36: comfort noise (PT 13), 1-byte level.
    const CN_FRAME36: &str = "800d72c505b704c65a3361b33d";
    /// heplify__sip_ipv4_tcp.pcap frame 56: PCMA with the marker bit.
    const PCMA_MARKER_FRAME56: &str = "8088d45f70584a6942f433d4d4d55f150d1b9a8793998184e1cc406d141705051e1014677267e390e756666ce0979495f8e6957511f49a9de7e4e5da485ff4fd461513051a6c777f71676a6ddaf75efe9197e4e394edf8ece15d79595d7d7a7e7070415364614d5d5dd1fde4f2f4c7d15371dbf3d04fc1c2d5f0564a535f794453796673d2dcd8f9fbd952dfd151d8f0f3f6f1c040774642455e49405058d0cd574655d344484f5850535847";
    /// heplify__sip_ipv4_tcp.pcap frame 14: an RTCP SR on the RTP port pair.
    const RTCP_SR_FRAME14: &str =
        "80c8000642f433d40020092530624d9b7058118900000001000000a081ca000342f433d40103633000000000";

    /// Synthetic: X set with one-byte elements (audio level id 1, abs-send-time
    /// id 3 after a padding byte), 2 CSRCs, P set with 3 padding octets.
    const ONE_BYTE_EXT: [u8; 39] = [
        0xb2, 0x6f, 0x00, 0x01, 0x00, 0x00, 0x03, 0xc0, 0x11, 0x22, 0x33, 0x44, // header
        0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb, // CSRCs
        0xbe, 0xde, 0x00, 0x02, // extension header, 2 words
        0x10, 0x85, 0x00, 0x32, 0x01, 0x02, 0x03, 0x00, // elements
        0xf8, 0xf9, 0xfa, 0xfb, // payload
        0x00, 0x00, 0x03, // padding
    ];

    /// Synthetic: two-byte elements (id 7 with 3 bytes, padding, id 200 empty).
    const TWO_BYTE_EXT: [u8; 26] = [
        0x90, 0x60, 0x12, 0x34, 0x00, 0x00, 0x00, 0x10, 0x01, 0x02, 0x03, 0x04, // header
        0x10, 0x00, 0x00, 0x02, // extension header, 2 words
        0x07, 0x03, 0xa1, 0xa2, 0xa3, 0x00, 0xc8, 0x00, // elements
        0x55, 0x66, // payload
    ];

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn parses_real_pcma_packet() {
        let buf = hex(PCMA_FRAME13);
        let p = RtpPacket::new_checked(&buf).unwrap();
        assert_eq!(p.version(), 2);
        assert!(!p.marker());
        assert_eq!(p.payload_type(), PayloadType(8));
        assert_eq!(p.sequence_number(), 54339);
        assert_eq!(p.timestamp(), 1884819849);
        assert_eq!(p.ssrc(), Ssrc(0x42F4_33D4));
        assert_eq!(p.ssrc().to_string(), "0x42F433D4");
        assert_eq!(p.header_len(), 12);
        assert_eq!(p.payload().len(), 160);
        assert_eq!(p.csrcs().count(), 0);
        assert!(p.extension().is_none());
        assert_eq!(p.payload_type().static_codec().unwrap().name, "PCMA");
        assert_eq!(probe(&buf), Probe::Match);
        assert!(!is_rtcp(&buf));
    }

    #[test]
    fn parses_comfort_noise_and_marker() {
        let cn = hex(CN_FRAME36);
        let p = RtpPacket::new_checked(&cn).unwrap();
        assert_eq!(p.payload_type(), PayloadType(13));
        assert_eq!(p.payload(), &[0x3d]);
        let m = hex(PCMA_MARKER_FRAME56);
        let p = RtpPacket::new_checked(&m).unwrap();
        assert!(p.marker());
        assert_eq!(p.payload_type(), PayloadType(8));
        assert_eq!(p.sequence_number(), 54367);
    }

    #[test]
    fn parses_one_byte_extension_csrcs_and_padding() {
        let p = RtpPacket::new_checked(&ONE_BYTE_EXT).unwrap();
        assert!(p.has_padding() && p.has_extension());
        assert_eq!(p.payload_type(), PayloadType(111));
        assert!(p.payload_type().is_dynamic());
        let csrcs: Vec<_> = p.csrcs().collect();
        assert_eq!(csrcs, [Ssrc(0xaaaa_aaaa), Ssrc(0xbbbb_bbbb)]);
        let ext = p.extension().unwrap();
        assert_eq!(ext.profile(), ONE_BYTE_PROFILE);
        assert_eq!(ext.form(), ExtensionForm::OneByte);
        let mut it = ext.elements();
        assert_eq!(
            it.next(),
            Some(ExtensionElement {
                id: 1,
                data: &[0x85]
            })
        );
        assert_eq!(
            it.next(),
            Some(ExtensionElement {
                id: 3,
                data: &[0x01, 0x02, 0x03]
            })
        );
        assert_eq!(it.next(), None);
        assert_eq!(it.error(), None);
        assert_eq!(p.header_len(), 32);
        assert_eq!(p.padding_len(), 3);
        assert_eq!(p.payload(), &[0xf8, 0xf9, 0xfa, 0xfb]);
    }

    #[test]
    fn parses_two_byte_extension() {
        let p = RtpPacket::new_checked(&TWO_BYTE_EXT).unwrap();
        let ext = p.extension().unwrap();
        assert_eq!(ext.form(), ExtensionForm::TwoByte);
        let els: Vec<_> = ext.elements().collect();
        assert_eq!(
            els,
            [
                ExtensionElement {
                    id: 7,
                    data: &[0xa1, 0xa2, 0xa3]
                },
                ExtensionElement { id: 200, data: &[] },
            ]
        );
        assert_eq!(p.payload(), &[0x55, 0x66]);
    }

    /// The RTP headers of RFC 9335 Appendix A's test vectors (SSRC
    /// 0xcafebabe, one 32-bit extension word). A.1 and A.2 encrypt a block
    /// whose plaintext is one-byte (0xBEDE) or two-byte (0x1000) elements;
    /// on the wire the profile says 0xC0DE/0xC2DE and the word is
    /// ciphertext, so its bytes are opaque here.
    #[test]
    fn rfc9335_vector_headers() {
        let plain_one = hex("900f1235decafbadcafebabebede000151000200abababab");
        let p = RtpPacket::new_checked(&plain_one).unwrap();
        let ext = p.extension().unwrap();
        assert!(!ext.is_cryptex());
        let els: Vec<_> = ext.elements().collect();
        assert_eq!(
            els,
            [ExtensionElement {
                id: 5,
                data: &[0x00, 0x02]
            }]
        );
        assert_eq!(p.payload(), &[0xab; 4]);
        let plain_two = hex("900f1236decafbadcafebabe1000000105020002abababab");
        let ext = RtpPacket::new_checked(&plain_two)
            .unwrap()
            .extension()
            .unwrap();
        let els: Vec<_> = ext.elements().collect();
        assert_eq!(
            els,
            [ExtensionElement {
                id: 5,
                data: &[0x00, 0x02]
            }]
        );
        for (profile, seq) in [("c0de", "1235"), ("c2de", "1236")] {
            let wire = hex(&format!(
                "900f{seq}decafbadcafebabe{profile}00015a5a5a5aabababab"
            ));
            let p = RtpPacket::new_checked(&wire).unwrap();
            let ext = p.extension().unwrap();
            assert!(ext.is_cryptex());
            assert_eq!(ext.form(), ExtensionForm::Other);
            assert_eq!(ext.elements().count(), 0);
            assert_eq!(p.header_len(), 20);
        }
    }

    #[test]
    fn rejects_malformed_extension_element() {
        let mut buf = TWO_BYTE_EXT;
        buf[17] = 0x09; // id 7 claims 9 bytes, the block holds 6 more
        let p = RtpPacket::new_checked(&buf).unwrap();
        let mut it = p.extension().unwrap().elements();
        assert_eq!(it.next(), None);
        assert_eq!(it.error().map(|e| e.kind), Some(ErrorKind::BadLength));
    }

    #[test]
    fn rejects_bad_headers() {
        let good = hex(PCMA_FRAME13);
        assert_eq!(
            RtpPacket::new_checked(&good[..11]).unwrap_err().kind,
            ErrorKind::Truncated
        );
        assert_eq!(
            RtpPacket::new_checked(&[]).unwrap_err().kind,
            ErrorKind::Truncated
        );
        let mut v1 = good.clone();
        v1[0] = 0x40;
        assert_eq!(
            RtpPacket::new_checked(&v1).unwrap_err().kind,
            ErrorKind::BadVersion
        );
        assert_eq!(probe(&v1), Probe::NoMatch);
        // 15 CSRCs need 72 bytes of header.
        let mut cc = good[..40].to_vec();
        cc[0] = 0x8f;
        assert_eq!(
            RtpPacket::new_checked(&cc).unwrap_err().kind,
            ErrorKind::Truncated
        );
        // Extension longer than the packet.
        let mut ext = good.clone();
        ext[0] = 0x90;
        ext[14] = 0xff;
        assert_eq!(
            RtpPacket::new_checked(&ext).unwrap_err().kind,
            ErrorKind::BadLength
        );
        // Padding count of 0 and larger than the payload.
        let mut pad = good.clone();
        pad[0] = 0xa0;
        *pad.last_mut().unwrap() = 0;
        assert_eq!(
            RtpPacket::new_checked(&pad).unwrap_err().kind,
            ErrorKind::BadLength
        );
        let pad2 = [0xa0, 8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xaa, 0x05];
        assert_eq!(
            RtpPacket::new_checked(&pad2).unwrap_err().kind,
            ErrorKind::BadLength
        );
    }

    #[test]
    fn parses_rtcp_mux_split() {
        let sr = hex(RTCP_SR_FRAME14);
        assert!(is_rtcp(&sr));
        assert_eq!(probe(&sr), Probe::NoMatch);
        assert!(is_rtcp(&[0x81, 201]));
        assert!(is_rtcp(&[0x80, 223]));
        assert!(!is_rtcp(&[0x80, 224]));
        assert!(!is_rtcp(&[0x80, 191]));
        assert!(!is_rtcp(&[0x80, 0x08]));
        assert!(!is_rtcp(&[0x40, 200]));
        assert!(!is_rtcp(&[0x80]));
    }

    #[test]
    fn parses_static_payload_types() {
        let g722 = static_payload_type(9).unwrap();
        assert_eq!((g722.name, g722.clock_rate), ("G722", 8000));
        assert_eq!(static_payload_type(0).unwrap().name, "PCMU");
        assert_eq!(static_payload_type(10).unwrap().channels, 2);
        assert_eq!(static_payload_type(34).unwrap().kind, MediaKind::Video);
        assert_eq!(static_payload_type(33).unwrap().kind, MediaKind::AudioVideo);
        for pt in [1, 2, 19, 20, 24, 27, 29, 30, 35, 72, 96, 127, 200] {
            assert_eq!(static_payload_type(pt), None, "pt {pt}");
        }
    }

    /// Real packet timing, `(frame, microseconds after 1311857690 s, seq,
    /// timestamp, pt, marker)`, from heplify__sip_ipv4_tcp.pcap, stream
    /// 10.33.6.101:6050 -> 10.33.6.100:6000, SSRC 0x42F433D4.
    const HEPLIFY_6050: [(u32, u64, u16, u32, u8, u8); 42] = [
        (13, 954944, 54339, 1884819849, 8, 0),
        (15, 968325, 54340, 1884820009, 8, 0),
        (18, 992147, 54341, 1884820169, 8, 0),
        (21, 1015770, 54342, 1884820329, 8, 0),
        (22, 1028429, 54343, 1884820489, 8, 0),
        (25, 1052195, 54344, 1884820649, 8, 0),
        (26, 1068355, 54345, 1884820809, 8, 0),
        (28, 1090025, 54346, 1884820969, 8, 0),
        (31, 1112286, 54347, 1884821129, 8, 0),
        (33, 1134637, 54348, 1884821289, 8, 0),
        (34, 1148358, 54349, 1884821449, 8, 0),
        (37, 1172052, 54350, 1884821609, 8, 0),
        (38, 1194681, 54351, 1884821769, 8, 0),
        (39, 1208406, 54352, 1884821929, 8, 0),
        (41, 1232058, 54353, 1884822089, 8, 0),
        (42, 1254765, 54354, 1884822249, 8, 0),
        (43, 1268497, 54355, 1884822409, 8, 0),
        (44, 1292171, 54356, 1884822569, 8, 0),
        (45, 1308332, 54357, 1884822729, 8, 0),
        (46, 1328342, 54358, 1884822889, 8, 0),
        (47, 1352324, 54359, 1884823049, 8, 0),
        (48, 1368488, 54360, 1884823209, 8, 0),
        (49, 1389867, 54361, 1884823369, 8, 0),
        (50, 1412288, 54362, 1884823529, 8, 0),
        (51, 1428118, 54363, 1884823689, 8, 0),
        (52, 1448396, 54364, 1884823849, 8, 0),
        (54, 1472083, 54365, 1884824009, 13, 0),
        (55, 1652267, 54366, 1884825449, 13, 0),
        (56, 2768640, 54367, 1884834409, 8, 1),
        (59, 2792061, 54368, 1884834569, 8, 0),
        (61, 2815397, 54369, 1884834729, 8, 0),
        (62, 2828304, 54370, 1884834889, 8, 0),
        (65, 2852066, 54371, 1884835049, 8, 0),
        (66, 2868301, 54372, 1884835209, 8, 0),
        (68, 2890610, 54373, 1884835369, 8, 0),
        (71, 2912064, 54374, 1884835529, 8, 0),
        (72, 2928311, 54375, 1884835689, 8, 0),
        (74, 2948361, 54376, 1884835849, 8, 0),
        (77, 2972031, 54377, 1884836009, 8, 0),
        (78, 2990025, 54378, 1884836169, 8, 0),
        (79, 3008402, 54379, 1884836329, 8, 0),
        (80, 3032155, 54380, 1884836489, 8, 0),
    ];

    /// The reverse stream, 10.33.6.100:6000 -> 10.33.6.101:6050, SSRC 0x5A3361B3.
    const HEPLIFY_6000: [(u32, u64, u16, u32, u8, u8); 24] = [
        (16, 972313, 29371, 95878790, 8, 0),
        (19, 992151, 29372, 95878950, 8, 0),
        (20, 1012214, 29373, 95879110, 8, 0),
        (23, 1032243, 29374, 95879270, 8, 0),
        (24, 1052192, 29375, 95879430, 8, 0),
        (27, 1072123, 29376, 95879590, 8, 0),
        (29, 1092183, 29377, 95879750, 8, 0),
        (30, 1112283, 29378, 95879910, 8, 0),
        (32, 1132121, 29379, 95880070, 8, 0),
        (35, 1152279, 29380, 95880230, 8, 0),
        (36, 1172049, 29381, 95880390, 13, 0),
        (40, 1232055, 29382, 95880870, 13, 0),
        (53, 1452178, 29383, 95882630, 13, 0),
        (57, 2772133, 29384, 95893190, 8, 1),
        (58, 2792057, 29385, 95893350, 8, 0),
        (60, 2812169, 29386, 95893510, 8, 0),
        (63, 2832139, 29387, 95893670, 8, 0),
        (64, 2852063, 29388, 95893830, 8, 0),
        (67, 2872100, 29389, 95893990, 8, 0),
        (69, 2892220, 29390, 95894150, 8, 0),
        (70, 2912061, 29391, 95894310, 8, 0),
        (73, 2932149, 29392, 95894470, 8, 0),
        (75, 2952151, 29393, 95894630, 8, 0),
        (76, 2972028, 29394, 95894790, 13, 0),
    ];

    /// Builds a minimal packet with the given header fields for the stats.
    fn packet_bytes(seq: u16, ts: u32, pt: u8, marker: u8, ssrc: u32) -> [u8; 13] {
        let mut b = [0u8; 13];
        b[0] = 0x80;
        b[1] = (marker << 7) | pt;
        b[2..4].copy_from_slice(&seq.to_be_bytes());
        b[4..8].copy_from_slice(&ts.to_be_bytes());
        b[8..12].copy_from_slice(&ssrc.to_be_bytes());
        b
    }

    fn run_stream(rows: &[(u32, u64, u16, u32, u8, u8)]) -> RtpStreamStats {
        let mut s = RtpStreamStats::new();
        for &(_, us, seq, ts, pt, m) in rows {
            let b = packet_bytes(seq, ts, pt, m, 1);
            let p = RtpPacket::new_checked(&b).unwrap();
            s.update_packet(&p, 1311857690.0 + us as f64 / 1e6, Some(8000));
        }
        s
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.0015
    }

    // `tshark -r heplify__sip_ipv4_tcp.pcap -q -z rtp,streams` (tshark 4.0.17):
    //   0x5A3361B3  24 pkts  0 lost  max delta 20.158 ms  max jitter 0.069 ms
    //   0x42F433D4  42 pkts  0 lost  max delta 23.982 ms  max jitter 3.063 ms
    #[test]
    fn parses_stream_stats_like_tshark_heplify() {
        let s = run_stream(&HEPLIFY_6050);
        assert_eq!(s.packets(), 42);
        assert_eq!(s.expected(), 42);
        assert_eq!(s.lost(), 0);
        assert_eq!((s.reordered(), s.duplicates()), (0, 0));
        assert!(close(s.max_delta_ms(), 23.982), "{}", s.max_delta_ms());
        assert!(
            close(s.max_jitter_ms().unwrap(), 3.063),
            "{:?}",
            s.max_jitter_ms()
        );
        assert_eq!(s.bytes(), 42 * 13);

        let s = run_stream(&HEPLIFY_6000);
        assert_eq!((s.packets(), s.lost()), (24, 0));
        assert!(close(s.max_delta_ms(), 20.158), "{}", s.max_delta_ms());
        assert!(
            close(s.max_jitter_ms().unwrap(), 0.069),
            "{:?}",
            s.max_jitter_ms()
        );
    }

    /// `(microseconds after the first packet, seq, timestamp, pt, marker)` of
    /// the one RTP stream of sipp__g711a.pcap (decoded as RTP on UDP 2006).
    const SIPP_TIMING: &str = include_str!("../../fixtures/payloads/rtp/sipp_g711a_timing.txt");

    // `tshark -r sipp__g711a.pcap -d udp.port==2006,rtp -q -z rtp,streams`:
    //   0xDEE0EE8F g711A 236 pkts, 0 lost, max delta 34.829 ms, max jitter 0.829 ms
    #[test]
    fn parses_stream_stats_like_tshark_sipp() {
        let mut s = RtpStreamStats::new();
        for line in SIPP_TIMING.lines() {
            let v: Vec<u64> = line.split(' ').map(|f| f.parse().unwrap()).collect();
            let b = packet_bytes(v[1] as u16, v[2] as u32, v[3] as u8, v[4] as u8, 7);
            let p = RtpPacket::new_checked(&b).unwrap();
            s.update_packet(&p, v[0] as f64 / 1e6, Some(8000));
        }
        assert_eq!((s.packets(), s.expected(), s.lost()), (236, 236, 0));
        assert!(close(s.max_delta_ms(), 34.829), "{}", s.max_delta_ms());
        assert!(
            close(s.max_jitter_ms().unwrap(), 0.829),
            "{:?}",
            s.max_jitter_ms()
        );
    }

    #[test]
    fn parses_loss_reorder_duplicates_and_wrap() {
        let mut s = RtpStreamStats::new();
        // 65533, 65534, [65535 lost], 0, 2, 1 (late), 2 (dup), 3
        for (i, seq) in [65533u16, 65534, 0, 2, 1, 2, 3].into_iter().enumerate() {
            s.update(seq, i as u32 * 160, i as f64 * 0.02, Some(8000));
        }
        assert_eq!(s.packets(), 7);
        assert_eq!(s.expected(), 7); // 65533..=65539
        assert_eq!(s.extended_highest_seq(), 65536 + 3);
        assert_eq!(s.lost(), 0); // one lost, one duplicate
        assert_eq!(s.reordered(), 1);
        assert_eq!(s.duplicates(), 1);
        // Perfectly paced: no jitter.
        assert!(s.jitter() < 1e-6);
    }

    #[test]
    fn parses_negative_loss_with_duplicates() {
        let mut s = RtpStreamStats::new();
        for seq in [10u16, 11, 12, 10, 12] {
            s.update(seq, 0, 0.0, None);
        }
        assert_eq!(s.duplicates(), 2);
        assert_eq!(s.reordered(), 0);
        assert_eq!(s.lost(), -2);
        assert_eq!(s.jitter_ms(), None);
    }

    #[test]
    fn parses_resync_after_large_jump() {
        let mut s = RtpStreamStats::new();
        for seq in [100u16, 101, 102, 20000, 20001, 20002] {
            s.update(seq, 0, 0.0, None);
        }
        assert_eq!(s.resyncs(), 1);
        assert_eq!(s.packets(), 6);
        assert_eq!(s.expected(), 6);
        assert_eq!(s.lost(), 0);
    }

    #[test]
    fn parses_rtp_by_heuristic() {
        let mut h = RtpHeuristic::new();
        let states: Vec<_> = HEPLIFY_6050
            .iter()
            .take(3)
            .map(|&(_, _, seq, ts, pt, m)| {
                let b = packet_bytes(seq, ts, pt, m, 0x42F4_33D4);
                h.observe(&RtpPacket::new_checked(&b).unwrap())
            })
            .collect();
        assert_eq!(
            states,
            [
                HeuristicState::Pending,
                HeuristicState::Pending,
                HeuristicState::Rtp
            ]
        );
        // A DTMF/CN payload type change and a small loss inside the run are fine.
        let mut h = RtpHeuristic::new();
        for (seq, pt) in [(1u16, 0u8), (2, 101), (5, 0)] {
            let b = packet_bytes(seq, u32::from(seq) * 160, pt, 0, 9);
            h.observe(&RtpPacket::new_checked(&b).unwrap());
        }
        assert_eq!(h.state(), HeuristicState::Rtp);
    }

    #[test]
    fn rejects_random_payloads_by_heuristic() {
        // A small deterministic generator; every header is a valid version 2.
        let mut x: u32 = 0x1234_5678;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for _ in 0..200 {
            let mut h = RtpHeuristic::new();
            let mut state = HeuristicState::Pending;
            for _ in 0..RtpHeuristic::BUDGET {
                let r = [next(), next(), next()];
                let mut b = [0u8; 12];
                for (chunk, v) in b.chunks_mut(4).zip(r) {
                    chunk.copy_from_slice(&v.to_be_bytes());
                }
                b[0] = 0x80; // version 2, no padding, extension or CSRCs
                if let Ok(p) = RtpPacket::new_checked(&b) {
                    state = h.observe(&p);
                }
            }
            assert_eq!(state, HeuristicState::NotRtp);
        }
    }

    #[test]
    fn rejects_changing_ssrc_by_heuristic() {
        let mut h = RtpHeuristic::new();
        for i in 0..5u16 {
            let b = packet_bytes(i, u32::from(i) * 160, 0, 0, u32::from(i) * 7919);
            h.observe(&RtpPacket::new_checked(&b).unwrap());
        }
        assert_eq!(h.state(), HeuristicState::NotRtp);
    }

    fn walk(buf: &[u8]) {
        let _ = probe(buf);
        let _ = is_rtcp(buf);
        if let Ok(p) = RtpPacket::new_checked(buf) {
            let _ = (p.version(), p.has_padding(), p.marker(), p.payload_type());
            let _ = (p.sequence_number(), p.timestamp(), p.ssrc(), p.csrc_count());
            let _ = (p.header_len(), p.padding_len(), p.payload().len());
            assert!(p.header_len() + p.padding_len() + p.payload().len() == buf.len());
            let _ = p.csrcs().count();
            if let Some(ext) = p.extension() {
                let _ = (ext.profile(), ext.data().len(), ext.form());
                let mut it = ext.elements();
                for el in it.by_ref() {
                    let _ = (el.id, el.data.len());
                }
                let _ = it.error();
            }
            let mut s = RtpStreamStats::new();
            s.update_packet(&p, 1.0, Some(90000));
            s.update_packet(&p, 2.0, Some(8000));
            let mut h = RtpHeuristic::new();
            h.observe(&p);
        }
    }

    #[test]
    fn rejects_nothing_with_a_panic_sweep() {
        let vectors = [
            hex(PCMA_FRAME13),
            hex(CN_FRAME36),
            hex(PCMA_MARKER_FRAME56),
            hex(RTCP_SR_FRAME14),
            ONE_BYTE_EXT.to_vec(),
            TWO_BYTE_EXT.to_vec(),
        ];
        for v in &vectors {
            for len in 0..=v.len() {
                walk(&v[..len]);
            }
            for i in 0..v.len() {
                for f in [|b: u8| b ^ 0xff, |_| 0x00, |_| 0xff] {
                    let mut m = v.clone();
                    m[i] = f(m[i]);
                    walk(&m);
                }
            }
        }
    }
}

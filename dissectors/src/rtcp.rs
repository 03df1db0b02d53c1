//! RTCP compound packets and their typed reports.
//!
//! Implemented:
//! - RFC 3550 section 6.4 (SR, RR, report blocks), 6.5 (SDES), 6.6 (BYE),
//!   6.7 (APP), and the compound validity check of appendix A.2
//!   ([`RtcpCompound::is_valid_compound`]).
//! - RFC 4585 section 6: the common header of transport-layer (RTPFB, 205) and
//!   payload-specific (PSFB, 206) feedback, with the FMT values of RFC 4585,
//!   RFC 5104 and the transport-wide congestion control draft.
//! - RFC 3611 section 3 and 4: extended report (XR, 207) blocks, as type,
//!   type-specific byte and data; the VoIP Metrics block (section 4.7,
//!   block type 7) decoded ([`XrBlock::voip_metrics`]).
//! - RFC 5506 section 3: reduced-size RTCP (a compound that does not start
//!   with SR or RR) is recognised, not treated as malformed.
//! - RFC 5761 section 4: see `rtp::is_rtcp` for the split on a muxed port.
//!
//! Not supported: decoding of feedback control information (NACK lists, REMB,
//! transport-cc chunks) and of XR block contents other than VoIP Metrics; SRTCP
//! packets are not RTCP compounds (their encrypted part does not tile), see
//! `srtp::looks_like_srtcp`.

use crate::error::{be, Error, ErrorKind, Result};
use crate::rtp::Ssrc;

/// Byte offsets of RTCP packets (RFC 3550 section 6.4 and following).
mod field {
    /// V(2) P(1) count/FMT(5).
    pub const VPC: usize = 0;
    pub const PACKET_TYPE: usize = 1;
    /// Length in 32-bit words minus one.
    pub const LENGTH: usize = 2;
    /// SSRC of the sender (all types but an empty BYE or SDES).
    pub const SSRC: usize = 4;
    pub const HEADER_LEN: usize = 4;

    /// Sender info of an SR, relative to the packet start.
    pub const SR_NTP: usize = 8;
    pub const SR_RTP_TS: usize = 16;
    pub const SR_PACKET_COUNT: usize = 20;
    pub const SR_OCTET_COUNT: usize = 24;
    pub const SR_REPORTS: usize = 28;
    pub const RR_REPORTS: usize = 8;

    /// A report block, relative to its start.
    pub const RB_SSRC: usize = 0;
    pub const RB_FRACTION_LOST: usize = 4;
    pub const RB_CUMULATIVE_LOST: usize = 5;
    pub const RB_HIGHEST_SEQ: usize = 8;
    pub const RB_JITTER: usize = 12;
    pub const RB_LSR: usize = 16;
    pub const RB_DLSR: usize = 20;
    pub const RB_LEN: usize = 24;

    /// APP (section 6.7).
    pub const APP_NAME: usize = 8;
    pub const APP_DATA: usize = 12;

    /// RTPFB/PSFB (RFC 4585 section 6.1).
    pub const FB_MEDIA_SSRC: usize = 8;
    pub const FB_FCI: usize = 12;

    /// XR (RFC 3611 section 2).
    pub const XR_BLOCKS: usize = 8;
}

open_enum! {
    /// RTCP packet types (RFC 3550 section 12.1, RFC 4585, RFC 3611).
    pub enum RtcpPacketType: u8 {
        /// SR.
        SenderReport = 200 => "SR",
        /// RR.
        ReceiverReport = 201 => "RR",
        /// SDES.
        SourceDescription = 202 => "SDES",
        /// BYE.
        Goodbye = 203 => "BYE",
        /// APP.
        App = 204 => "APP",
        /// RTPFB.
        TransportFeedback = 205 => "RTPFB",
        /// PSFB.
        PayloadFeedback = 206 => "PSFB",
        /// XR.
        ExtendedReport = 207 => "XR",
    } else {
        /// Any other value.
        Unknown
    }
}

impl RtcpPacketType {
    /// The short name used in reports ("SR", "RR", ..., "unknown").
    pub const fn as_str(self) -> &'static str {
        match self.name() {
            Some(name) => name,
            None => "unknown",
        }
    }
}

/// A sequence of RTCP packets in one datagram (RFC 3550 section 6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpCompound<'a> {
    buf: &'a [u8],
}

/// What [`RtcpCompound::validity`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompoundValidity {
    /// RFC 3550 A.2: starts with SR or RR, every packet well-formed, padding
    /// only on the last one, lengths tile the datagram exactly.
    Full,
    /// RFC 5506: well-formed and tiling, but not starting with SR or RR.
    ReducedSize,
    /// Lengths do not tile, a version is not 2, or padding is misplaced.
    Invalid,
}

impl<'a> RtcpCompound<'a> {
    /// Wraps a datagram; nothing is checked until iteration.
    pub fn new(buf: &'a [u8]) -> Self {
        RtcpCompound { buf }
    }

    /// The packets, in order; stops at the first malformed one.
    pub fn packets(&self) -> RtcpPackets<'a> {
        RtcpPackets {
            rest: self.buf,
            offset: 0,
            error: None,
        }
    }

    /// Classifies the datagram per RFC 3550 A.2 and RFC 5506.
    pub fn validity(&self) -> CompoundValidity {
        let mut packets = self.packets();
        let mut first_type = None;
        let mut padded = false;
        let mut count = 0usize;
        for p in packets.by_ref() {
            if padded {
                // Padding is allowed on the last packet only.
                return CompoundValidity::Invalid;
            }
            padded = p.has_padding();
            first_type.get_or_insert(p.packet_type());
            count += 1;
        }
        if packets.error().is_some() || count == 0 {
            return CompoundValidity::Invalid;
        }
        match first_type {
            Some(RtcpPacketType::SenderReport | RtcpPacketType::ReceiverReport) => {
                CompoundValidity::Full
            }
            _ => CompoundValidity::ReducedSize,
        }
    }

    /// Whether this is a valid full compound per RFC 3550 A.2.
    pub fn is_valid_compound(&self) -> bool {
        self.validity() == CompoundValidity::Full
    }

    /// Whether this is a valid RFC 5506 reduced-size packet sequence.
    pub fn is_reduced_size(&self) -> bool {
        self.validity() == CompoundValidity::ReducedSize
    }
}

impl<'a> IntoIterator for RtcpCompound<'a> {
    type Item = RtcpPacket<'a>;
    type IntoIter = RtcpPackets<'a>;

    fn into_iter(self) -> RtcpPackets<'a> {
        self.packets()
    }
}

/// Iterator over the packets of a compound.
#[derive(Debug, Clone)]
pub struct RtcpPackets<'a> {
    rest: &'a [u8],
    offset: usize,
    error: Option<Error>,
}

impl RtcpPackets<'_> {
    /// Why iteration stopped before the end of the datagram, if it did
    /// (offset inside the datagram).
    pub fn error(&self) -> Option<Error> {
        self.error
    }

    /// Bytes not consumed yet (non-empty after an error).
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }
}

impl<'a> Iterator for RtcpPackets<'a> {
    type Item = RtcpPacket<'a>;

    fn next(&mut self) -> Option<RtcpPacket<'a>> {
        if self.rest.is_empty() || self.error.is_some() {
            return None;
        }
        match RtcpPacket::new_checked(self.rest) {
            Ok(p) => {
                let len = p.len();
                self.rest = self.rest.get(len..).unwrap_or(&[]);
                self.offset += len;
                Some(p)
            }
            Err(e) => {
                self.error = Some(Error::new(e.kind, self.offset + e.offset));
                None
            }
        }
    }
}

/// One RTCP packet (RFC 3550 section 6.4.1 common header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpPacket<'a> {
    /// Exactly the packet, `(length + 1) * 4` bytes.
    buf: &'a [u8],
    padding_len: usize,
}

impl<'a> RtcpPacket<'a> {
    // RFC 3550 section 6.4.1, the header shared by every RTCP packet:
    //
    //  0                   1                   2                   3
    //  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |V=2|P|    RC   |   PT          |             length            |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    //
    // `length` is the packet length in 32-bit words minus one, header
    // included. With P set, the last octet counts the padding, itself
    // included.
    /// Validates the first packet of `buf`; the view covers that packet only.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let first = be::u8_at(buf, field::VPC)?;
        if first >> 6 != 2 {
            return Err(Error::new(ErrorKind::BadVersion, field::VPC));
        }
        let words = usize::from(be::u16_at(buf, field::LENGTH)?);
        let len = (words + 1) * 4;
        let buf = buf.get(..len).ok_or(Error::bad_length(field::LENGTH))?;
        let padding_len = if first & 0x20 != 0 {
            let count = usize::from(buf.last().copied().unwrap_or(0));
            if count == 0 || count > len - field::HEADER_LEN {
                return Err(Error::bad_length(len - 1));
            }
            count
        } else {
            0
        };
        Ok(RtcpPacket { buf, padding_len })
    }

    /// The packet bytes, header and padding included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Length of the packet in bytes, `(length + 1) * 4`.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Always false: a packet holds at least its header.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn first(&self) -> u8 {
        self.buf.first().copied().unwrap_or(0)
    }

    /// The P bit.
    pub fn has_padding(&self) -> bool {
        self.first() & 0x20 != 0
    }

    /// Number of padding octets at the end.
    pub fn padding_len(&self) -> usize {
        self.padding_len
    }

    /// The 5-bit count field: report count, source count, APP subtype or
    /// feedback FMT depending on the type.
    pub fn count(&self) -> u8 {
        self.first() & 0x1f
    }

    /// The packet type.
    pub fn packet_type(&self) -> RtcpPacketType {
        RtcpPacketType::from(self.buf.get(field::PACKET_TYPE).copied().unwrap_or(0))
    }

    /// The first SSRC after the header (sender, first chunk or first source),
    /// if the packet is long enough to hold one.
    pub fn ssrc(&self) -> Option<Ssrc> {
        if self.body_end() < field::SSRC + 4 {
            return None;
        }
        be::u32_at(self.buf, field::SSRC).ok().map(Ssrc)
    }

    fn body_end(&self) -> usize {
        self.buf.len().saturating_sub(self.padding_len)
    }

    /// The bytes after the 4-byte header, without padding.
    pub fn body(&self) -> &'a [u8] {
        self.buf
            .get(field::HEADER_LEN..self.body_end())
            .unwrap_or(&[])
    }

    fn content(&self) -> &'a [u8] {
        self.buf.get(..self.body_end()).unwrap_or(&[])
    }

    /// The sender report view, if this is a well-formed SR.
    pub fn sender_report(&self) -> Option<SenderReport<'a>> {
        if self.packet_type() != RtcpPacketType::SenderReport {
            return None;
        }
        let need = field::SR_REPORTS + usize::from(self.count()) * field::RB_LEN;
        let buf = self.content();
        (buf.len() >= need).then_some(SenderReport { buf })
    }

    /// The receiver report view, if this is a well-formed RR.
    pub fn receiver_report(&self) -> Option<ReceiverReport<'a>> {
        if self.packet_type() != RtcpPacketType::ReceiverReport {
            return None;
        }
        let need = field::RR_REPORTS + usize::from(self.count()) * field::RB_LEN;
        let buf = self.content();
        (buf.len() >= need).then_some(ReceiverReport { buf })
    }

    /// The source description view, if this is an SDES packet.
    pub fn sdes(&self) -> Option<Sdes<'a>> {
        (self.packet_type() == RtcpPacketType::SourceDescription).then_some(Sdes {
            body: self.body(),
            count: self.count(),
        })
    }

    /// The goodbye view, if this is a well-formed BYE.
    pub fn bye(&self) -> Option<Bye<'a>> {
        if self.packet_type() != RtcpPacketType::Goodbye {
            return None;
        }
        let body = self.body();
        let sources_len = usize::from(self.count()) * 4;
        let sources = body.get(..sources_len)?;
        // Section 6.6: an optional length-prefixed reason follows the sources.
        let reason = match body.get(sources_len..) {
            Some([len, rest @ ..]) if *len > 0 => Some(rest.get(..usize::from(*len))?),
            _ => None,
        };
        Some(Bye { sources, reason })
    }

    /// The APP view, if this is a well-formed APP packet.
    pub fn app(&self) -> Option<App<'a>> {
        if self.packet_type() != RtcpPacketType::App {
            return None;
        }
        let buf = self.content();
        (buf.len() >= field::APP_DATA).then_some(App { buf })
    }

    /// The feedback view, if this is a well-formed RTPFB or PSFB packet.
    pub fn feedback(&self) -> Option<Feedback<'a>> {
        if !matches!(
            self.packet_type(),
            RtcpPacketType::TransportFeedback | RtcpPacketType::PayloadFeedback
        ) {
            return None;
        }
        let buf = self.content();
        (buf.len() >= field::FB_FCI).then_some(Feedback { buf })
    }

    /// The extended report view, if this is a well-formed XR packet.
    pub fn extended_report(&self) -> Option<ExtendedReport<'a>> {
        if self.packet_type() != RtcpPacketType::ExtendedReport {
            return None;
        }
        let buf = self.content();
        (buf.len() >= field::XR_BLOCKS).then_some(ExtendedReport { buf })
    }
}

fn u32_or_zero(buf: &[u8], off: usize) -> u32 {
    be::u32_at(buf, off).unwrap_or(0)
}

// RFC 3550 section 6.4.1, sender report after the common header:
//
// |                         SSRC of sender                        |
// |              NTP timestamp, most significant word             |
// |             NTP timestamp, least significant word             |
// |                         RTP timestamp                         |
// |                     sender's packet count                     |
// |                      sender's octet count                     |
// |                 report blocks (RC x 24 bytes)                 |
/// A sender report (SR, RFC 3550 section 6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReport<'a> {
    /// Header to the end of the report blocks at least.
    buf: &'a [u8],
}

impl<'a> SenderReport<'a> {
    /// SSRC of the sender.
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(u32_or_zero(self.buf, field::SSRC))
    }

    /// The 64-bit NTP wallclock timestamp (32.32 fixed point, seconds since 1900).
    pub fn ntp(&self) -> u64 {
        be::u64_at(self.buf, field::SR_NTP).unwrap_or(0)
    }

    /// The RTP timestamp corresponding to `ntp()`.
    pub fn rtp_ts(&self) -> u32 {
        u32_or_zero(self.buf, field::SR_RTP_TS)
    }

    /// Packets sent since the start of transmission.
    pub fn packet_count(&self) -> u32 {
        u32_or_zero(self.buf, field::SR_PACKET_COUNT)
    }

    /// Payload octets sent since the start of transmission.
    pub fn octet_count(&self) -> u32 {
        u32_or_zero(self.buf, field::SR_OCTET_COUNT)
    }

    /// The reception report blocks.
    pub fn reports(&self) -> ReportBlocks<'a> {
        report_blocks(self.buf, field::SR_REPORTS)
    }
}

/// A receiver report (RR, RFC 3550 section 6.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverReport<'a> {
    buf: &'a [u8],
}

impl<'a> ReceiverReport<'a> {
    /// SSRC of the packet sender.
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(u32_or_zero(self.buf, field::SSRC))
    }

    /// The reception report blocks.
    pub fn reports(&self) -> ReportBlocks<'a> {
        report_blocks(self.buf, field::RR_REPORTS)
    }
}

fn report_blocks(buf: &[u8], start: usize) -> ReportBlocks<'_> {
    let count = usize::from(buf.first().copied().unwrap_or(0) & 0x1f);
    ReportBlocks {
        rest: be::slice(buf, start, count * field::RB_LEN).unwrap_or(&[]),
    }
}

/// Iterator over the report blocks of an SR or RR.
#[derive(Debug, Clone)]
pub struct ReportBlocks<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for ReportBlocks<'a> {
    type Item = ReportBlock<'a>;

    fn next(&mut self) -> Option<ReportBlock<'a>> {
        let (block, rest) = self.rest.split_at_checked(field::RB_LEN)?;
        self.rest = rest;
        Some(ReportBlock { buf: block })
    }
}

// RFC 3550 section 6.4.1, one report block:
//
// |                 SSRC_1 (SSRC of first source)                 |
// | fraction lost |       cumulative number of packets lost       |
// |           extended highest sequence number received           |
// |                      interarrival jitter                      |
// |                         last SR (LSR)                         |
// |                   delay since last SR (DLSR)                  |
/// One reception report block (24 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock<'a> {
    buf: &'a [u8],
}

impl ReportBlock<'_> {
    /// The source this block reports on.
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(u32_or_zero(self.buf, field::RB_SSRC))
    }

    /// Fraction lost since the previous report, in 1/256 units.
    pub fn fraction_lost(&self) -> u8 {
        be::u8_at(self.buf, field::RB_FRACTION_LOST).unwrap_or(0)
    }

    /// Cumulative packets lost: a 24-bit signed value (negative with duplicates).
    pub fn cumulative_lost(&self) -> i32 {
        let raw = be::u24_at(self.buf, field::RB_CUMULATIVE_LOST).unwrap_or(0);
        // Sign-extend from 24 bits.
        ((raw << 8) as i32) >> 8
    }

    /// Extended highest sequence number received.
    pub fn highest_seq(&self) -> u32 {
        u32_or_zero(self.buf, field::RB_HIGHEST_SEQ)
    }

    /// Interarrival jitter, in RTP timestamp units.
    pub fn jitter(&self) -> u32 {
        u32_or_zero(self.buf, field::RB_JITTER)
    }

    /// Middle 32 bits of the NTP timestamp of the last SR received (0: none).
    pub fn lsr(&self) -> u32 {
        u32_or_zero(self.buf, field::RB_LSR)
    }

    /// Delay since that SR, in 1/65536 seconds.
    pub fn dlsr(&self) -> u32 {
        u32_or_zero(self.buf, field::RB_DLSR)
    }
}

open_enum! {
    /// SDES item types (RFC 3550 section 6.5, IANA "RTCP SDES item types").
    pub enum SdesItemType: u8 {
        /// Canonical end-point identifier.
        Cname = 1,
        /// User name.
        Name = 2,
        /// E-mail address.
        Email = 3,
        /// Phone number.
        Phone = 4,
        /// Geographic location.
        Loc = 5,
        /// Application or tool name.
        Tool = 6,
        /// Notice/status.
        Note = 7,
        /// Private extension (prefix length, prefix, value).
        Priv = 8,
    } else {
        /// Any other value.
        Unknown
    }
}

/// A source description packet (SDES, RFC 3550 section 6.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sdes<'a> {
    body: &'a [u8],
    count: u8,
}

impl<'a> Sdes<'a> {
    /// The chunks, at most the source count; stops at the first malformed one.
    pub fn chunks(&self) -> SdesChunks<'a> {
        SdesChunks {
            rest: self.body,
            left: self.count,
            offset: field::HEADER_LEN,
            error: None,
        }
    }
}

/// Iterator over SDES chunks.
#[derive(Debug, Clone)]
pub struct SdesChunks<'a> {
    rest: &'a [u8],
    left: u8,
    offset: usize,
    error: Option<Error>,
}

impl SdesChunks<'_> {
    /// Why iteration stopped before `count` chunks, if it did (offset inside
    /// the RTCP packet).
    pub fn error(&self) -> Option<Error> {
        self.error
    }
}

impl<'a> Iterator for SdesChunks<'a> {
    type Item = SdesChunk<'a>;

    // RFC 3550 section 6.5:
    //
    // chunk = SSRC/CSRC (32 bits) *item null-item padding-to-32-bits
    // item  = type (8) length (8) text (length octets)
    //
    // The list ends with one or more null octets; the chunk ends on the next
    // 32-bit boundary.
    fn next(&mut self) -> Option<SdesChunk<'a>> {
        if self.left == 0 {
            return None;
        }
        let fail = |s: &mut Self, kind: ErrorKind, at: usize| {
            s.error = Some(Error::new(kind, s.offset + at));
            s.left = 0;
            None
        };
        let Some((id, items)) = self.rest.split_first_chunk::<4>() else {
            return fail(self, ErrorKind::Truncated, 0);
        };
        // Walk the items to the null terminator.
        let mut pos = 0usize;
        loop {
            match items.get(pos) {
                None => return fail(self, ErrorKind::Truncated, 4 + pos),
                Some(0) => break,
                Some(_) => {
                    let Some(&len) = items.get(pos + 1) else {
                        return fail(self, ErrorKind::Truncated, 4 + pos);
                    };
                    pos += 2 + usize::from(len);
                }
            }
        }
        let item_bytes = items.get(..pos).unwrap_or(&[]);
        // The null octet, then padding to a multiple of 4 from the chunk start.
        let chunk_len = (4 + pos + 1).next_multiple_of(4);
        self.rest = self.rest.get(chunk_len..).unwrap_or(&[]);
        self.offset += chunk_len;
        self.left -= 1;
        Some(SdesChunk {
            ssrc: Ssrc(u32::from_be_bytes(*id)),
            items: item_bytes,
        })
    }
}

/// One SDES chunk: a source and its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    ssrc: Ssrc,
    items: &'a [u8],
}

impl<'a> SdesChunk<'a> {
    /// The source described.
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// Its items, in order (all complete: the chunk walk checked them).
    pub fn items(&self) -> SdesItems<'a> {
        SdesItems { rest: self.items }
    }

    /// The CNAME item value, if present.
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items()
            .find(|i| i.kind == SdesItemType::Cname)
            .map(|i| i.value)
    }
}

/// One SDES item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdesItem<'a> {
    /// The item type.
    pub kind: SdesItemType,
    /// The raw value (for PRIV: prefix length, prefix and value).
    pub value: &'a [u8],
}

/// Iterator over the items of an SDES chunk.
#[derive(Debug, Clone)]
pub struct SdesItems<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for SdesItems<'a> {
    type Item = SdesItem<'a>;

    fn next(&mut self) -> Option<SdesItem<'a>> {
        let [kind, len, rest @ ..] = self.rest else {
            return None;
        };
        let (value, rest) = rest.split_at_checked(usize::from(*len))?;
        self.rest = rest;
        Some(SdesItem {
            kind: SdesItemType::from(*kind),
            value,
        })
    }
}

// RFC 3550 section 6.6:
//
// |V=2|P|    SC   |   PT=BYE=203  |             length            |
// |                           SSRC/CSRC                           |
// :                              ...                              :
// |     length    |               reason for leaving            ...
/// A goodbye packet (BYE, RFC 3550 section 6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bye<'a> {
    sources: &'a [u8],
    reason: Option<&'a [u8]>,
}

impl<'a> Bye<'a> {
    /// The sources leaving.
    pub fn sources(&self) -> crate::rtp::Csrcs<'a> {
        crate::rtp::Csrcs::from_bytes(self.sources)
    }

    /// The reason text, if one is given.
    pub fn reason(&self) -> Option<&'a [u8]> {
        self.reason
    }
}

// RFC 3550 section 6.7:
//
// |V=2|P| subtype |   PT=APP=204  |             length            |
// |                           SSRC/CSRC                           |
// |                          name (ASCII)                         |
// |                   application-dependent data                ...
/// An application-defined packet (APP, RFC 3550 section 6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct App<'a> {
    buf: &'a [u8],
}

impl<'a> App<'a> {
    /// The subtype (the count field).
    pub fn subtype(&self) -> u8 {
        self.buf.first().copied().unwrap_or(0) & 0x1f
    }

    /// SSRC of the sender.
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(u32_or_zero(self.buf, field::SSRC))
    }

    /// The four-character name.
    pub fn name(&self) -> [u8; 4] {
        u32_or_zero(self.buf, field::APP_NAME).to_be_bytes()
    }

    /// The application data.
    pub fn data(&self) -> &'a [u8] {
        self.buf.get(field::APP_DATA..).unwrap_or(&[])
    }
}

/// Feedback message kinds by packet type and FMT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedbackKind {
    /// RTPFB 1: generic NACK (RFC 4585 section 6.2.1).
    Nack,
    /// RTPFB 3: TMMBR (RFC 5104 section 4.2.1).
    Tmmbr,
    /// RTPFB 4: TMMBN (RFC 5104 section 4.2.2).
    Tmmbn,
    /// RTPFB 15: transport-wide congestion control feedback.
    TransportCc,
    /// PSFB 1: picture loss indication (RFC 4585 section 6.3.1).
    Pli,
    /// PSFB 2: slice loss indication.
    Sli,
    /// PSFB 3: reference picture selection indication.
    Rpsi,
    /// PSFB 4: full intra request (RFC 5104 section 4.3.1).
    Fir,
    /// PSFB 15: application layer feedback (REMB and others).
    Afb,
    /// Any other combination: the packet type and FMT.
    Unknown(u8, u8),
}

// RFC 4585 section 6.1:
//
// |V=2|P|   FMT   |       PT      |          length               |
// |                  SSRC of packet sender                        |
// |                  SSRC of media source                         |
// :            Feedback Control Information (FCI)                 :
/// A transport-layer or payload-specific feedback packet (RFC 4585 section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feedback<'a> {
    buf: &'a [u8],
}

impl<'a> Feedback<'a> {
    /// The FMT field.
    pub fn fmt(&self) -> u8 {
        self.buf.first().copied().unwrap_or(0) & 0x1f
    }

    /// The message kind from packet type and FMT.
    pub fn kind(&self) -> FeedbackKind {
        let pt = self.buf.get(field::PACKET_TYPE).copied().unwrap_or(0);
        match (pt, self.fmt()) {
            (205, 1) => FeedbackKind::Nack,
            (205, 3) => FeedbackKind::Tmmbr,
            (205, 4) => FeedbackKind::Tmmbn,
            (205, 15) => FeedbackKind::TransportCc,
            (206, 1) => FeedbackKind::Pli,
            (206, 2) => FeedbackKind::Sli,
            (206, 3) => FeedbackKind::Rpsi,
            (206, 4) => FeedbackKind::Fir,
            (206, 15) => FeedbackKind::Afb,
            (pt, fmt) => FeedbackKind::Unknown(pt, fmt),
        }
    }

    /// SSRC of the packet sender.
    pub fn sender_ssrc(&self) -> Ssrc {
        Ssrc(u32_or_zero(self.buf, field::SSRC))
    }

    /// SSRC of the media source the feedback is about.
    pub fn media_ssrc(&self) -> Ssrc {
        Ssrc(u32_or_zero(self.buf, field::FB_MEDIA_SSRC))
    }

    /// The feedback control information, undecoded.
    pub fn fci(&self) -> &'a [u8] {
        self.buf.get(field::FB_FCI..).unwrap_or(&[])
    }
}

/// An extended report packet (XR, RFC 3611 section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtendedReport<'a> {
    buf: &'a [u8],
}

impl<'a> ExtendedReport<'a> {
    /// SSRC of the packet sender.
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(u32_or_zero(self.buf, field::SSRC))
    }

    /// The report blocks; stops at the first one longer than the packet.
    pub fn blocks(&self) -> XrBlocks<'a> {
        XrBlocks {
            rest: self.buf.get(field::XR_BLOCKS..).unwrap_or(&[]),
            offset: field::XR_BLOCKS,
            error: None,
        }
    }
}

/// One XR report block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XrBlock<'a> {
    /// Block type (RFC 3611 section 4: 1 loss RLE, 4 receiver reference
    /// time, 5 DLRR, 7 VoIP metrics, ...).
    pub block_type: u8,
    /// The type-specific byte.
    pub type_specific: u8,
    /// The block contents after its 4-byte header.
    pub data: &'a [u8],
}

impl<'a> XrBlock<'a> {
    /// The VoIP Metrics view of a block of type 7 with its 32 bytes of
    /// contents (RFC 3611 section 4.7: block length 8).
    pub fn voip_metrics(&self) -> Result<VoipMetrics<'a>> {
        if self.block_type != XR_VOIP_METRICS {
            return Err(Error::new(ErrorKind::Malformed, 0));
        }
        be::slice(self.data, 0, VOIP_METRICS_LEN).map(|buf| VoipMetrics { buf })
    }
}

/// XR block type of VoIP Metrics (RFC 3611 section 4.7).
pub const XR_VOIP_METRICS: u8 = 7;
/// Its contents after the block header, bytes.
const VOIP_METRICS_LEN: usize = 32;
/// The value RFC 3611 section 4.7 gives the R factors, MOS and levels
/// when the endpoint does not compute them.
pub const VOIP_METRIC_UNAVAILABLE: u8 = 127;

/// A VoIP Metrics report block (RFC 3611 section 4.7), its contents
/// after the 4-byte block header:
///
/// ```text
/// |                        SSRC of source                         |
/// |   loss rate   | discard rate  | burst density |  gap density  |
/// |       burst duration          |         gap duration          |
/// |     round trip delay          |       end system delay        |
/// | signal level  |  noise level  |     RERL      |     Gmin      |
/// |   R factor    | ext. R factor |    MOS-LQ     |    MOS-CQ     |
/// |   RX config   |   reserved    |          JB nominal           |
/// |          JB maximum           |          JB abs max           |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoipMetrics<'a> {
    buf: &'a [u8],
}

impl VoipMetrics<'_> {
    fn u8(&self, off: usize) -> u8 {
        self.buf.get(off).copied().unwrap_or(0)
    }

    fn u16(&self, off: usize) -> u16 {
        be::u16_at(self.buf, off).unwrap_or(0)
    }

    /// 127 (unavailable) as `None`.
    fn metric(&self, off: usize) -> Option<u8> {
        Some(self.u8(off)).filter(|&v| v != VOIP_METRIC_UNAVAILABLE)
    }

    /// The stream the block is about.
    pub fn ssrc(&self) -> Ssrc {
        Ssrc(u32_or_zero(self.buf, 0))
    }
    /// Packets lost in the network and discarded (late or early) by the
    /// jitter buffer, as fractions of 256.
    pub fn loss_rate(&self) -> u8 {
        self.u8(4)
    }
    pub fn discard_rate(&self) -> u8 {
        self.u8(5)
    }
    /// Lost or discarded packets in bursts and in gaps, fractions of 256.
    pub fn burst_density(&self) -> u8 {
        self.u8(6)
    }
    pub fn gap_density(&self) -> u8 {
        self.u8(7)
    }
    /// Mean burst and gap durations (ms).
    pub fn burst_duration(&self) -> u16 {
        self.u16(8)
    }
    pub fn gap_duration(&self) -> u16 {
        self.u16(10)
    }
    /// Round trip between RTP interfaces and the reporter's own delay (ms).
    pub fn round_trip_delay(&self) -> u16 {
        self.u16(12)
    }
    pub fn end_system_delay(&self) -> u16 {
        self.u16(14)
    }
    /// Signal and noise levels (signed dBm0), residual echo return loss
    /// and the gap threshold, raw.
    pub fn signal_level(&self) -> Option<i8> {
        self.metric(16).map(|v| v as i8)
    }
    pub fn noise_level(&self) -> Option<i8> {
        self.metric(17).map(|v| v as i8)
    }
    pub fn rerl(&self) -> Option<u8> {
        self.metric(18)
    }
    pub fn gmin(&self) -> u8 {
        self.u8(19)
    }
    /// R factor and external R factor (0..=100), `None` when unavailable.
    pub fn r_factor(&self) -> Option<u8> {
        self.metric(20)
    }
    pub fn ext_r_factor(&self) -> Option<u8> {
        self.metric(21)
    }
    /// MOS-LQ and MOS-CQ in tenths (10..=50), `None` when unavailable.
    pub fn mos_lq(&self) -> Option<u8> {
        self.metric(22)
    }
    pub fn mos_cq(&self) -> Option<u8> {
        self.metric(23)
    }
    /// Receiver configuration: PLC (2 bits), jitter buffer adaptive (2
    /// bits), jitter buffer rate (4 bits).
    pub fn rx_config(&self) -> u8 {
        self.u8(24)
    }
    /// Jitter buffer nominal, maximum and absolute maximum delay (ms).
    pub fn jb_nominal(&self) -> u16 {
        self.u16(26)
    }
    pub fn jb_maximum(&self) -> u16 {
        self.u16(28)
    }
    pub fn jb_abs_max(&self) -> u16 {
        self.u16(30)
    }
}

/// Iterator over XR report blocks.
#[derive(Debug, Clone)]
pub struct XrBlocks<'a> {
    rest: &'a [u8],
    offset: usize,
    error: Option<Error>,
}

impl XrBlocks<'_> {
    /// Why iteration stopped early, if it did (offset inside the RTCP packet).
    pub fn error(&self) -> Option<Error> {
        self.error
    }
}

impl<'a> Iterator for XrBlocks<'a> {
    type Item = XrBlock<'a>;

    // RFC 3611 section 3:
    //
    // |      BT       | type-specific |         block length          |
    // :             type-specific block contents                      :
    //
    // `block length` counts 32-bit words after this 4-byte header.
    fn next(&mut self) -> Option<XrBlock<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let parsed = be::u16_at(self.rest, 2).and_then(|words| {
            let data = be::slice(self.rest, 4, usize::from(words) * 4)
                .map_err(|_| Error::bad_length(2))?;
            Ok((data, 4 + data.len()))
        });
        match parsed {
            Ok((data, len)) => {
                let block = XrBlock {
                    block_type: self.rest.first().copied().unwrap_or(0),
                    type_specific: self.rest.get(1).copied().unwrap_or(0),
                    data,
                };
                self.rest = self.rest.get(len..).unwrap_or(&[]);
                self.offset += len;
                Some(block)
            }
            Err(e) => {
                self.error = Some(Error::new(e.kind, self.offset + e.offset));
                self.rest = &[];
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// heplify__sip_ipv4_tcp.pcap frame 17: SR with one report block + SDES.
    const SR_SDES_HEPLIFY17: &str = "81c8000c5a3361b30026481d99580fb105b6fe8600000001000000a042f433d4000000000000d44400000000092530620000041881ca00035a3361b30103633000000000";
    /// ndpi__sip.pcap frame 104: SR (no blocks) + SDES (CNAME, TOOL) + BYE with reason.
    const SR_SDES_BYE_NDPI104: &str = "80c800063796cb7142c907ca5efac603000024c3000000090000060c81ca000b3796cb71011d31313839343239372d3434333261396638403139322e3136382e312e3206055349505053000081cb00063796cb711073657373696f6e2073687574646f776e000000";
    /// ndpi__line.pcap frame 27: a plain RTPFB (reduced-size, no SR/RR first).
    const RTPFB_LINE27: &str = "8bcd00110000352200003522000001d5000100c809bda6480000000009bda6480000000009bda6a80000000009bda6a80000000009bda67800090002025b5048b038a05890000000";
    /// ndpi__stun_google_meet.pcapng frame 95: SRTCP (XR header in clear, AEAD).
    const SRTCP_XR_MEET95: &str =
        "80cf0004d2b3ec9f849588144132e906b6e57266f828cdf77f61224d87e50701c682347380000003";

    /// Synthetic: RR with one block (cumulative lost -2), PLI, XR with one
    /// receiver reference time block.
    const RR_PLI_XR: [u8; 64] = [
        0x81, 0xc9, 0x00, 0x07, 0x11, 0x11, 0x11, 0x11, // RR, 1 block
        0x22, 0x22, 0x22, 0x22, 0x05, 0xff, 0xff, 0xfe, 0x00, 0x01, 0x00, 0x10, // block
        0x00, 0x00, 0x00, 0x20, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x80, 0x00, //
        0x81, 0xce, 0x00, 0x02, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, // PLI
        0x80, 0xcf, 0x00, 0x04, 0x11, 0x11, 0x11, 0x11, // XR
        0x04, 0x00, 0x00, 0x02, 0xe0, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00, // RRT block
    ];

    #[test]
    fn parses_real_sender_report_and_sdes() {
        let buf = hex(SR_SDES_HEPLIFY17);
        let c = RtcpCompound::new(&buf);
        assert!(c.is_valid_compound());
        let mut it = c.packets();
        let sr_pkt = it.next().unwrap();
        assert_eq!(sr_pkt.packet_type(), RtcpPacketType::SenderReport);
        assert_eq!(sr_pkt.count(), 1);
        assert_eq!(sr_pkt.ssrc(), Some(Ssrc(0x5A33_61B3)));
        let sr = sr_pkt.sender_report().unwrap();
        assert_eq!(sr.ntp(), 0x0026_481d_9958_0fb1);
        assert_eq!(sr.rtp_ts(), 0x05b6_fe86);
        assert_eq!((sr.packet_count(), sr.octet_count()), (1, 160));
        let blocks: Vec<_> = sr.reports().collect();
        assert_eq!(blocks.len(), 1);
        let b = blocks[0];
        assert_eq!(b.ssrc(), Ssrc(0x42F4_33D4));
        assert_eq!((b.fraction_lost(), b.cumulative_lost()), (0, 0));
        assert_eq!(b.highest_seq(), 54340);
        assert_eq!(b.jitter(), 0);
        assert_eq!((b.lsr(), b.dlsr()), (0x0925_3062, 0x0418));
        let sdes = it.next().unwrap().sdes().unwrap();
        let chunk = sdes.chunks().next().unwrap();
        assert_eq!(chunk.ssrc(), Ssrc(0x5A33_61B3));
        // The sender counted a NUL into the CNAME length.
        assert_eq!(chunk.cname(), Some(&b"c0\0"[..]));
        assert!(it.next().is_none());
        assert_eq!(it.error(), None);
    }

    #[test]
    fn parses_real_bye_with_reason() {
        let buf = hex(SR_SDES_BYE_NDPI104);
        let c = RtcpCompound::new(&buf);
        assert_eq!(c.validity(), CompoundValidity::Full);
        let types: Vec<_> = c.packets().map(|p| p.packet_type().as_str()).collect();
        assert_eq!(types, ["SR", "SDES", "BYE"]);
        let sdes = c.packets().nth(1).unwrap().sdes().unwrap();
        let items: Vec<_> = sdes.chunks().next().unwrap().items().collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].kind, SdesItemType::Cname);
        assert_eq!(items[0].value, b"11894297-4432a9f8@192.168.1.2");
        assert_eq!(items[1].kind, SdesItemType::Tool);
        assert_eq!(items[1].value, b"SIPPS");
        let bye = c.packets().nth(2).unwrap().bye().unwrap();
        assert_eq!(bye.sources().collect::<Vec<_>>(), [Ssrc(0x3796_cb71)]);
        assert_eq!(bye.reason(), Some(&b"session shutdown"[..]));
    }

    #[test]
    fn parses_real_reduced_size_feedback() {
        let buf = hex(RTPFB_LINE27);
        let c = RtcpCompound::new(&buf);
        assert_eq!(c.validity(), CompoundValidity::ReducedSize);
        assert!(c.is_reduced_size());
        let p = c.packets().next().unwrap();
        assert_eq!(p.packet_type(), RtcpPacketType::TransportFeedback);
        let fb = p.feedback().unwrap();
        assert_eq!(fb.fmt(), 11);
        assert_eq!(fb.kind(), FeedbackKind::Unknown(205, 11));
        assert_eq!(fb.sender_ssrc(), Ssrc(0x3522));
        assert_eq!(fb.media_ssrc(), Ssrc(0x3522));
        assert_eq!(fb.fci().len(), 72 - 12);
    }

    #[test]
    fn parses_rr_pli_and_xr() {
        let c = RtcpCompound::new(&RR_PLI_XR);
        assert!(c.is_valid_compound());
        let mut it = c.into_iter();
        let rr = it.next().unwrap().receiver_report().unwrap();
        assert_eq!(rr.ssrc(), Ssrc(0x1111_1111));
        let b = rr.reports().next().unwrap();
        assert_eq!((b.fraction_lost(), b.cumulative_lost()), (5, -2));
        assert_eq!((b.highest_seq(), b.jitter()), (0x10010, 0x20));
        let fb = it.next().unwrap().feedback().unwrap();
        assert_eq!(fb.kind(), FeedbackKind::Pli);
        assert!(fb.fci().is_empty());
        let xr = it.next().unwrap().extended_report().unwrap();
        let blocks: Vec<_> = xr.blocks().collect();
        assert_eq!(blocks.len(), 1);
        assert_eq!((blocks[0].block_type, blocks[0].data.len()), (4, 8));
        assert!(it.next().is_none());
    }

    /// An XR packet with one VoIP Metrics block, laid out by hand from
    /// RFC 3611 section 4.7.
    const XR_VOIP: [u8; 44] = [
        0x80, 0xcf, 0x00, 0x0a, // XR, length 10 words
        0x12, 0x34, 0x56, 0x78, // reporter SSRC
        0x07, 0x00, 0x00, 0x08, // BT 7, block length 8
        0xde, 0xad, 0xbe, 0xef, // SSRC of source
        0x0d, 0x03, 0x40, 0x02, // loss 13/256, discard 3/256, densities
        0x00, 0x78, 0x0b, 0xb8, // burst 120 ms, gap 3000 ms
        0x00, 0x96, 0x00, 0x28, // round trip 150 ms, end system 40 ms
        0xec, 0x7f, 0x7f, 0x10, // signal -20 dBm0, noise and RERL unavailable, Gmin 16
        0x50, 0x7f, 0x26, 0x7f, // R 80, ext R unavailable, MOS-LQ 3.8, MOS-CQ unavailable
        0x2b, 0x00, 0x00, 0x3c, // RX config, JB nominal 60 ms
        0x00, 0xc8, 0x01, 0xf4, // JB maximum 200 ms, abs max 500 ms
    ];

    #[test]
    fn parses_xr_voip_metrics() {
        let c = RtcpCompound::new(&XR_VOIP);
        let p = c.packets().next().unwrap();
        let xr = p.extended_report().unwrap();
        assert_eq!(xr.ssrc(), Ssrc(0x1234_5678));
        let mut blocks = xr.blocks();
        let vm = blocks.next().unwrap().voip_metrics().unwrap();
        assert!(blocks.next().is_none() && blocks.error().is_none());
        assert_eq!(vm.ssrc(), Ssrc(0xdead_beef));
        assert_eq!((vm.loss_rate(), vm.discard_rate()), (13, 3));
        assert_eq!((vm.burst_density(), vm.gap_density()), (0x40, 2));
        assert_eq!((vm.burst_duration(), vm.gap_duration()), (120, 3000));
        assert_eq!((vm.round_trip_delay(), vm.end_system_delay()), (150, 40));
        assert_eq!(
            (vm.signal_level(), vm.noise_level(), vm.rerl()),
            (Some(-20), None, None)
        );
        assert_eq!(vm.gmin(), 16);
        assert_eq!((vm.r_factor(), vm.ext_r_factor()), (Some(80), None));
        assert_eq!((vm.mos_lq(), vm.mos_cq()), (Some(38), None));
        assert_eq!(vm.rx_config(), 0x2b);
        assert_eq!(
            (vm.jb_nominal(), vm.jb_maximum(), vm.jb_abs_max()),
            (60, 200, 500)
        );
    }

    #[test]
    fn rejects_short_or_other_voip_metrics_blocks() {
        // Block length 7 (28 bytes): one word short of RFC 3611's 8.
        let mut short = XR_VOIP;
        short[3] = 0x09;
        short[11] = 0x07;
        let c = RtcpCompound::new(&short[..40]);
        let xr = c.packets().next().unwrap().extended_report().unwrap();
        let b = xr.blocks().next().unwrap();
        assert_eq!(b.data.len(), 28);
        assert!(b.voip_metrics().is_err());
        // A DLRR block (type 5) is not VoIP Metrics.
        let mut other = XR_VOIP;
        other[8] = 5;
        let c = RtcpCompound::new(&other);
        let xr = c.packets().next().unwrap().extended_report().unwrap();
        assert!(xr.blocks().next().unwrap().voip_metrics().is_err());
        // Cut anywhere, nothing panics and no block overruns the packet.
        for n in 0..XR_VOIP.len() {
            for p in RtcpCompound::new(&XR_VOIP[..n]).packets() {
                if let Some(xr) = p.extended_report() {
                    for b in xr.blocks() {
                        let _ = b.voip_metrics().map(|v| v.r_factor());
                    }
                }
            }
        }
    }

    #[test]
    fn rejects_srtcp_as_compound() {
        let buf = hex(SRTCP_XR_MEET95);
        let c = RtcpCompound::new(&buf);
        assert_eq!(c.validity(), CompoundValidity::Invalid);
        let mut it = c.packets();
        assert_eq!(
            it.next().unwrap().packet_type(),
            RtcpPacketType::ExtendedReport
        );
        assert!(it.next().is_none());
        assert!(it.error().is_some());
        assert_eq!(it.remaining(), 20);
    }

    #[test]
    fn rejects_bad_lengths_versions_and_padding() {
        let buf = hex(SR_SDES_HEPLIFY17);
        // The SDES length one word too long.
        let mut long = buf.clone();
        long[55] += 1;
        let mut it = RtcpCompound::new(&long).packets();
        assert!(it.next().is_some());
        assert!(it.next().is_none());
        assert_eq!(it.error().map(|e| e.kind), Some(ErrorKind::BadLength));
        // Version 1.
        let mut v1 = buf.clone();
        v1[0] = 0x41;
        assert_eq!(
            RtcpPacket::new_checked(&v1).unwrap_err().kind,
            ErrorKind::BadVersion
        );
        // Padding on the first of two packets.
        let mut pad = buf.clone();
        pad[0] |= 0x20;
        pad[51] = 4;
        assert_eq!(
            RtcpCompound::new(&pad).validity(),
            CompoundValidity::Invalid
        );
        // Zero padding count.
        let mut zero = buf[..52].to_vec();
        zero[0] |= 0x20;
        zero[51] = 0;
        assert_eq!(
            RtcpPacket::new_checked(&zero).unwrap_err().kind,
            ErrorKind::BadLength
        );
        assert_eq!(RtcpCompound::new(&[]).validity(), CompoundValidity::Invalid);
        assert!(RtcpPacket::new_checked(&[0x80, 0xc8, 0x00]).is_err());
    }

    #[test]
    fn rejects_short_typed_views() {
        // An SR claiming 2 report blocks in 7 words.
        let mut sr = hex(SR_SDES_HEPLIFY17)[..52].to_vec();
        sr[0] = 0x82;
        let p = RtcpPacket::new_checked(&sr).unwrap();
        assert!(p.sender_report().is_none());
        assert!(p.receiver_report().is_none());
        // A BYE whose reason length runs past the packet.
        let bye = [0x81, 0xcb, 0x00, 0x02, 1, 2, 3, 4, 9, b'a', b'b', b'c'];
        let p = RtcpPacket::new_checked(&bye).unwrap();
        assert!(p.bye().is_none());
        // An SDES chunk without a null item.
        let sdes = [0x81, 0xca, 0x00, 0x02, 1, 2, 3, 4, 1, 2, b'a', b'b'];
        let p = RtcpPacket::new_checked(&sdes).unwrap();
        let mut chunks = p.sdes().unwrap().chunks();
        assert!(chunks.next().is_none());
        assert_eq!(chunks.error().map(|e| e.kind), Some(ErrorKind::Truncated));
        // An XR block longer than the packet.
        let xr = [0x80, 0xcf, 0x00, 0x02, 1, 2, 3, 4, 4, 0, 0, 9];
        let p = RtcpPacket::new_checked(&xr).unwrap();
        let mut blocks = p.extended_report().unwrap().blocks();
        assert!(blocks.next().is_none());
        assert_eq!(blocks.error().map(|e| e.kind), Some(ErrorKind::BadLength));
    }

    pub(crate) fn walk(buf: &[u8]) {
        let c = RtcpCompound::new(buf);
        let _ = (c.validity(), c.is_valid_compound(), c.is_reduced_size());
        let mut it = c.packets();
        for p in it.by_ref() {
            let _ = (p.len(), p.is_empty(), p.has_padding(), p.padding_len());
            let _ = (
                p.count(),
                p.packet_type().as_str(),
                p.ssrc(),
                p.body().len(),
            );
            let _ = u8::from(p.packet_type());
            if let Some(sr) = p.sender_report() {
                let _ = (
                    sr.ssrc(),
                    sr.ntp(),
                    sr.rtp_ts(),
                    sr.packet_count(),
                    sr.octet_count(),
                );
                walk_blocks(sr.reports());
            }
            if let Some(rr) = p.receiver_report() {
                let _ = rr.ssrc();
                walk_blocks(rr.reports());
            }
            if let Some(sdes) = p.sdes() {
                let mut chunks = sdes.chunks();
                for ch in chunks.by_ref() {
                    let _ = (ch.ssrc(), ch.cname());
                    for item in ch.items() {
                        let _ = (item.kind, item.value.len());
                    }
                }
                let _ = chunks.error();
            }
            if let Some(bye) = p.bye() {
                let _ = (bye.sources().count(), bye.reason());
            }
            if let Some(app) = p.app() {
                let _ = (app.subtype(), app.ssrc(), app.name(), app.data().len());
            }
            if let Some(fb) = p.feedback() {
                let _ = (
                    fb.fmt(),
                    fb.kind(),
                    fb.sender_ssrc(),
                    fb.media_ssrc(),
                    fb.fci(),
                );
            }
            if let Some(xr) = p.extended_report() {
                let mut blocks = xr.blocks();
                for b in blocks.by_ref() {
                    let _ = (b.block_type, b.type_specific, b.data.len());
                }
                let _ = (xr.ssrc(), blocks.error());
            }
        }
        let _ = (it.error(), it.remaining());
    }

    fn walk_blocks(blocks: ReportBlocks<'_>) {
        for b in blocks {
            let _ = (
                b.ssrc(),
                b.fraction_lost(),
                b.cumulative_lost(),
                b.highest_seq(),
            );
            let _ = (b.jitter(), b.lsr(), b.dlsr());
        }
    }

    #[test]
    fn rejects_nothing_with_a_panic_sweep() {
        let vectors = [
            hex(SR_SDES_HEPLIFY17),
            hex(SR_SDES_BYE_NDPI104),
            hex(RTPFB_LINE27),
            hex(SRTCP_XR_MEET95),
            RR_PLI_XR.to_vec(),
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

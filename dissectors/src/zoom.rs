//! Zoom's proprietary encapsulation of RTP and RTCP over UDP.
//!
//! Zoom clients do not send bare RTP. Towards Zoom's Multimedia Routers (the
//! SFUs, UDP ports 8801-8810) every media datagram starts with an 8-byte
//! "SFU encapsulation" header whose first byte is 5, followed by a "media
//! encapsulation" header whose first byte names the media; peer-to-peer calls
//! send the media encapsulation header alone. After a fixed, per-type number
//! of bytes comes an ordinary RTP packet (or RTCP compound), whose header is in
//! the clear even though the payload is encrypted. Zoom documents none of
//! this; the layout below is what reverse-engineering work agrees on:
//!
//! - "Michel": O. Michel, S. Sengupta, H. Kim, R. Netravali, J. Rexford,
//!   "Enabling Passive Measurement of Zoom Performance in Production
//!   Networks", ACM IMC 2022, <https://doi.org/10.1145/3517745.3561414>, and
//!   its tools: the Wireshark plugin `wireshark/zoom.lua` and the parser
//!   `src/lib/zoom.cc` of <https://github.com/Princeton-Cabernet/zoom-analysis>.
//! - "nDPI": nDPI's Zoom dissector (2024 rewrite),
//!   <https://github.com/ntop/nDPI/blob/dev/src/lib/protocols/zoom.c>, which
//!   detects "SFU type 5" datagrams and checks for RTP/RTCP at the offsets
//!   below.
//! - "RTCM": a derived Wireshark plugin,
//!   <https://github.com/RTC-Measurement-Project/RTC-Measurement-Project>
//!   (`wireshark/zoom.lua`): same offsets as Michel's plugin, and decodes
//!   the SFU control types 1-4 and 7 (not handled here).
//! - Zoom's published port list (UDP 8801-8810 to the Multimedia Routers),
//!   <https://support.zoom.com/hc/en/article?id=zm_kb&sysparm_article=KB0060548>.
//!
//! SFU encapsulation header (only in front of media when the type is 5):
//!
//! ```text
//!  offset  size  field
//!  0       1     SFU type: 5 = media follows (Michel, nDPI); 1-4 and 7 are
//!                control messages (nDPI, RTCM), rejected by this parser
//!  1       2     sequence number (Michel)
//!  3       4     unknown (nDPI; "cookie" in RTCM)
//!  7       1     direction: 0 = to Zoom, 4 = from Zoom (Michel, nDPI)
//!  8             media encapsulation header
//! ```
//!
//! Media encapsulation header, offsets from its own start (byte 8 of an SFU
//! datagram, byte 0 of a peer-to-peer one):
//!
//! ```text
//!  type             fields                               RTP/RTCP at
//!  15 audio         seq 9..11, timestamp 11..15          19 (RTP)
//!  16 video         seq 9..11, timestamp 11..15;         24 (RTP) if byte 20 is 2,
//!                   if byte 20 is 2: frame number        else 20 (Michel) or
//!                   21..23, packets in frame 23          24 (nDPI)
//!  13 screen share  if byte 7 is 30: seq 16..18,         27 (RTP)
//!                   timestamp 18..22
//!  30 screen share  seq 9..11, timestamp 11..15          20 (RTP)
//!     (peer to peer)
//!  33, 34, 35 RTCP  -                                    16 (RTCP)
//! ```
//!
//! Every form has at least the 15 bytes of type, 8 unknown bytes, sequence
//! number and timestamp that nDPI declares as its common header.
//!
//! Where the sources differ, both readings are accepted:
//! - Video (16) without the frame-info marker 2 at byte 20: Michel puts RTP
//!   at 20, nDPI always at 24. The parser takes 20 when an RTP header is
//!   there, else 24.
//! - Screen share (13): Michel expects RTP at 27 only when byte 7 is 30
//!   (which reads as a type-30 header behind 7 more bytes: 7 + 9 = 16,
//!   7 + 11 = 18, 7 + 20 = 27); nDPI looks for RTP at 27 whatever byte 7
//!   holds and notes that it is often absent. So byte 7 = 30 requires RTP at
//!   27; otherwise RTP at 27 is taken when present, and the packet is still a
//!   screen-share packet, with no inner bytes, when it is not.
//! - Type 30: Michel's parser takes it on peer-to-peer flows only, nDPI
//!   behind the SFU header too; both are accepted.
//! - RTCP: Michel's parser reads types 33 and 34, its plugin and nDPI 33
//!   to 35; all three are accepted.
//!
//! Not supported: the SFU control types (1-4, 7); the media types the sources
//! do not explain (such as 1, which Michel's plugin reads as RTP at 26 without
//! naming it, and 7, 21, 32): behind an SFU header they parse as
//! [`MediaType::Other`] with no inner bytes, on their own they are not
//! recognised; the peer-to-peer handshake (type 31 in nDPI); the meaning of
//! the unknown bytes; whether a datagram is peer-to-peer Zoom at all, which
//! the bytes alone cannot tell (the engine should also weigh ports and Zoom's
//! address ranges). Note for demultiplexing: on a peer-to-peer flow the first
//! byte of video (16) falls in RFC 7983's ZRTP range and 30 and 33-35 in its
//! DTLS range, so this parser must be tried after ZRTP and DTLS fail.

use crate::error::{be, Error, ErrorKind, Probe, Result};
use crate::rtp;

/// UDP ports of Zoom's Multimedia Routers.
pub const SFU_PORTS: core::ops::RangeInclusive<u16> = 8801..=8810;

/// Length of the SFU encapsulation header.
pub const SFU_HEADER_LEN: usize = 8;
/// SFU type of a datagram that carries a media encapsulation header.
pub const SFU_TYPE_MEDIA: u8 = 5;

/// Length of the part every media encapsulation header has (nDPI's struct).
pub const MEDIA_HEADER_MIN_LEN: usize = 15;

/// Media type bytes (byte 0 of the media encapsulation header).
pub mod media_type {
    /// Screen share as relayed by the SFU (Michel's parser: server side).
    pub const SCREEN_SHARE: u8 = 13;
    /// Audio.
    pub const AUDIO: u8 = 15;
    /// Video.
    pub const VIDEO: u8 = 16;
    /// Screen share as sent peer to peer (Michel's parser: P2P side).
    pub const SCREEN_SHARE_P2P: u8 = 30;
    /// RTCP; Michel's parser calls it a sender report.
    pub const RTCP_SR: u8 = 33;
    /// RTCP; Michel's parser calls it a sender report with SDES.
    pub const RTCP_SR_SDES: u8 = 34;
    /// RTCP in Michel's plugin and nDPI, not read by Michel's parser.
    pub const RTCP_OTHER: u8 = 35;
}

/// True for a first byte that starts Zoom media sent peer to peer (no SFU
/// header): audio, video, peer-to-peer screen share and RTCP. Type 13 is
/// left out: Michel's parser sees it from the server side only.
pub const fn is_p2p_media_type(b: u8) -> bool {
    matches!(
        b,
        media_type::AUDIO
            | media_type::VIDEO
            | media_type::SCREEN_SHARE_P2P
            | media_type::RTCP_SR
            | media_type::RTCP_SR_SDES
            | media_type::RTCP_OTHER
    )
}

/// Byte 20 of a video header when frame information precedes the RTP packet.
const VIDEO_FRAME_INFO: u8 = 2;

/// Smallest RTCP packet: the common header (RFC 3550 section 6.4.1).
const RTCP_HEADER_LEN: usize = 4;

/// Byte offsets. SFU fields from the start of the datagram; media fields from
/// the start of the media encapsulation header.
mod field {
    pub const SFU_TYPE: usize = 0;
    pub const SFU_SEQUENCE: usize = 1;
    pub const SFU_DIRECTION: usize = 7;

    pub const MEDIA_TYPE: usize = 0;
    pub const SEQUENCE: usize = 9;
    pub const TIMESTAMP: usize = 11;

    pub const AUDIO_RTP: usize = 19;

    pub const VIDEO_MARKER: usize = 20;
    pub const VIDEO_FRAME_NUMBER: usize = 21;
    pub const VIDEO_FRAME_PACKETS: usize = 23;
    /// RTP after the frame information (and always, per nDPI).
    pub const VIDEO_RTP_FRAMED: usize = 24;
    /// RTP without frame information, per Michel.
    pub const VIDEO_RTP_PLAIN: usize = 20;

    pub const SCREEN_SUBTYPE: usize = 7;
    pub const SCREEN_SEQUENCE: usize = 16;
    pub const SCREEN_TIMESTAMP: usize = 18;
    pub const SCREEN_RTP: usize = 27;

    pub const SCREEN_P2P_RTP: usize = 20;

    pub const RTCP: usize = 16;
    /// RTCP length field, from the RTCP packet start.
    pub const RTCP_LENGTH: usize = 2;
}

/// What the media encapsulation header says the datagram carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    /// Type 15.
    Audio,
    /// Type 16.
    Video,
    /// Type 13 (through the SFU) or 30 (peer to peer); see
    /// [`ZoomPacket::media_type_byte`] for which.
    ScreenShare,
    /// Types 33, 34 and 35.
    Rtcp,
    /// Any other type, with no documented RTP offset.
    Other(u8),
}

impl MediaType {
    /// The media type of a type byte.
    pub const fn from_u8(b: u8) -> MediaType {
        match b {
            media_type::AUDIO => MediaType::Audio,
            media_type::VIDEO => MediaType::Video,
            media_type::SCREEN_SHARE | media_type::SCREEN_SHARE_P2P => MediaType::ScreenShare,
            media_type::RTCP_SR | media_type::RTCP_SR_SDES | media_type::RTCP_OTHER => {
                MediaType::Rtcp
            }
            other => MediaType::Other(other),
        }
    }

    /// A short stable name for reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            MediaType::Audio => "audio",
            MediaType::Video => "video",
            MediaType::ScreenShare => "screen-share",
            MediaType::Rtcp => "rtcp",
            MediaType::Other(_) => "other",
        }
    }
}

/// How the datagram reached the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encapsulation {
    /// SFU header (type 5) then media header: client to or from a Zoom server.
    Sfu,
    /// Media header alone: a peer-to-peer call.
    PeerToPeer,
}

open_enum! {
    /// The direction byte of the SFU header.
    pub enum Direction: u8 {
        /// Sent by the client to Zoom.
        ToServer = 0,
        /// Sent by Zoom to the client.
        FromServer = 4,
    } else {
        /// A value the sources do not document.
        Other
    }
}

/// What follows the Zoom headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InnerKind {
    /// An RTP packet (version 2, not an RTCP packet type, 12 bytes at least).
    Rtp,
    /// An RTCP compound (version 2, packet type 192-223, first length fits).
    Rtcp,
    /// Nothing known: a media type without a documented offset, or a screen
    /// share packet without RTP.
    Absent,
}

/// Cheap check whether `buf` (a UDP payload) is Zoom-encapsulated RTP or
/// RTCP: an SFU type 5 header or a known media type byte, then an RTP or RTCP
/// header at the offset of that media type. Reads a handful of bytes, never
/// allocates.
///
/// `NoMatch` for media types without a documented RTP offset, and for screen
/// share packets that carry no RTP, even though they may well be Zoom: they
/// cannot be told from noise by their bytes alone.
pub fn probe(buf: &[u8]) -> Probe {
    let Some(&first) = buf.first() else {
        return Probe::NeedMore;
    };
    let media = if first == SFU_TYPE_MEDIA {
        SFU_HEADER_LEN
    } else if is_documented(first) {
        0
    } else {
        return Probe::NoMatch;
    };
    match buf.get(media) {
        None => return Probe::NeedMore,
        Some(&ty) if !is_documented(ty) => return Probe::NoMatch,
        Some(_) => {}
    }
    match locate(buf, media) {
        Ok((InnerKind::Rtp | InnerKind::Rtcp, _)) => Probe::Match,
        Ok((InnerKind::Absent, _)) => Probe::NoMatch,
        Err(e) if e.kind == ErrorKind::Truncated => Probe::NeedMore,
        Err(_) => Probe::NoMatch,
    }
}

/// True for the media types with a documented RTP or RTCP offset.
const fn is_documented(ty: u8) -> bool {
    !matches!(MediaType::from_u8(ty), MediaType::Other(_))
}

/// Where the RTP or RTCP packet starts (absolute offset in `buf`) behind the
/// media encapsulation header at `media`, and which it is.
fn locate(buf: &[u8], media: usize) -> Result<(InnerKind, usize)> {
    let ty = be::u8_at(buf, media + field::MEDIA_TYPE)?;
    if buf.len() < media + MEDIA_HEADER_MIN_LEN {
        return Err(Error::truncated(buf.len()));
    }
    match ty {
        media_type::AUDIO => rtp_at(buf, media + field::AUDIO_RTP),
        media_type::VIDEO => {
            if be::u8_at(buf, media + field::VIDEO_MARKER)? == VIDEO_FRAME_INFO {
                return rtp_at(buf, media + field::VIDEO_RTP_FRAMED);
            }
            // Michel: RTP right at byte 20; nDPI: at 24 regardless.
            match rtp_at(buf, media + field::VIDEO_RTP_PLAIN) {
                Err(plain) if plain.kind == ErrorKind::Malformed => {
                    match rtp_at(buf, media + field::VIDEO_RTP_FRAMED) {
                        Err(framed) if framed.kind == ErrorKind::Malformed => Err(plain),
                        other => other,
                    }
                }
                other => other,
            }
        }
        media_type::SCREEN_SHARE => {
            let subtype = be::u8_at(buf, media + field::SCREEN_SUBTYPE)?;
            match rtp_at(buf, media + field::SCREEN_RTP) {
                Err(e) if subtype == media_type::SCREEN_SHARE_P2P => Err(e),
                Err(_) => Ok((InnerKind::Absent, buf.len())),
                ok => ok,
            }
        }
        media_type::SCREEN_SHARE_P2P => rtp_at(buf, media + field::SCREEN_P2P_RTP),
        media_type::RTCP_SR | media_type::RTCP_SR_SDES | media_type::RTCP_OTHER => {
            rtcp_at(buf, media + field::RTCP)
        }
        _ => Ok((InnerKind::Absent, buf.len())),
    }
}

/// An RTP header at `off`.
fn rtp_at(buf: &[u8], off: usize) -> Result<(InnerKind, usize)> {
    match rtp::probe(buf.get(off..).unwrap_or_default()) {
        Probe::Match => Ok((InnerKind::Rtp, off)),
        Probe::NeedMore => Err(Error::truncated(buf.len())),
        Probe::NoMatch => Err(Error::malformed(off)),
    }
}

/// An RTCP header at `off` whose first packet fits in `buf`.
fn rtcp_at(buf: &[u8], off: usize) -> Result<(InnerKind, usize)> {
    let inner = buf.get(off..).unwrap_or_default();
    match inner.first() {
        None => return Err(Error::truncated(buf.len())),
        Some(b) if b >> 6 != 2 => return Err(Error::malformed(off)),
        Some(_) => {}
    }
    if inner.len() < RTCP_HEADER_LEN {
        return Err(Error::truncated(buf.len()));
    }
    if !rtp::is_rtcp(inner) {
        return Err(Error::malformed(off + 1));
    }
    let words = usize::from(be::u16_at(inner, field::RTCP_LENGTH).unwrap_or_default());
    if inner.len() < (words + 1) * 4 {
        return Err(Error::truncated(buf.len()));
    }
    Ok((InnerKind::Rtcp, off))
}

/// A Zoom media datagram (a UDP payload): the optional SFU header, the media
/// encapsulation header and the RTP or RTCP bytes behind them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZoomPacket<'a> {
    buf: &'a [u8],
    /// Offset of the media encapsulation header: 0 or [`SFU_HEADER_LEN`].
    media: usize,
    /// Offset of the RTP/RTCP bytes; `buf.len()` when there are none.
    inner: usize,
    kind: InnerKind,
}

impl<'a> ZoomPacket<'a> {
    /// Parses a UDP payload. A first byte of 5 means an SFU header (the media
    /// type then comes at byte 8, and any media type is accepted); otherwise
    /// the first byte must be a documented media type (peer to peer). The
    /// RTP or RTCP header must be where the media type puts it.
    ///
    /// Errors: `NotThisProtocol` at 0 for any other first byte (SFU control
    /// types included); `Truncated` when the headers or the RTP/RTCP header
    /// do not fit; `Malformed` at the inner offset when the bytes there are
    /// not RTP (or RTCP) version 2.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let first = be::u8_at(buf, field::SFU_TYPE)?;
        let media = if first == SFU_TYPE_MEDIA {
            SFU_HEADER_LEN
        } else if is_documented(first) {
            0
        } else {
            return Err(Error::new(ErrorKind::NotThisProtocol, field::SFU_TYPE));
        };
        let (kind, inner) = locate(buf, media)?;
        Ok(ZoomPacket {
            buf,
            media,
            inner,
            kind,
        })
    }

    /// The whole datagram.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Through a Zoom server (SFU header) or peer to peer.
    pub const fn encapsulation(&self) -> Encapsulation {
        if self.media == 0 {
            Encapsulation::PeerToPeer
        } else {
            Encapsulation::Sfu
        }
    }

    /// True without an SFU header.
    pub const fn is_p2p(&self) -> bool {
        self.media == 0
    }

    /// The SFU header's sequence number (bytes 1-2); `None` peer to peer.
    pub fn sfu_sequence(&self) -> Option<u16> {
        self.sfu_field(|b| be::u16_at(b, field::SFU_SEQUENCE))
    }

    /// The SFU header's direction (byte 7); `None` peer to peer.
    pub fn direction(&self) -> Option<Direction> {
        self.sfu_field(|b| be::u8_at(b, field::SFU_DIRECTION))
            .map(Direction::from_raw)
    }

    fn sfu_field<T>(&self, read: impl Fn(&[u8]) -> Result<T>) -> Option<T> {
        if self.is_p2p() {
            return None;
        }
        read(self.buf).ok()
    }

    /// The media encapsulation header's type byte.
    pub fn media_type_byte(&self) -> u8 {
        be::u8_at(self.buf, self.media + field::MEDIA_TYPE).unwrap_or_default()
    }

    /// The media type.
    pub fn media_type(&self) -> MediaType {
        MediaType::from_u8(self.media_type_byte())
    }

    /// The media encapsulation header, up to the RTP/RTCP bytes (to the end
    /// of the datagram when there are none).
    pub fn media_header(&self) -> &'a [u8] {
        self.buf.get(self.media..self.inner).unwrap_or_default()
    }

    /// Offsets of the Zoom sequence number and timestamp in the media header.
    fn sequence_offsets(&self) -> Option<(usize, usize)> {
        match self.media_type_byte() {
            media_type::AUDIO | media_type::VIDEO | media_type::SCREEN_SHARE_P2P => {
                Some((field::SEQUENCE, field::TIMESTAMP))
            }
            media_type::SCREEN_SHARE
                if self.screen_share_subtype() == media_type::SCREEN_SHARE_P2P =>
            {
                Some((field::SCREEN_SEQUENCE, field::SCREEN_TIMESTAMP))
            }
            _ => None,
        }
    }

    fn screen_share_subtype(&self) -> u8 {
        be::u8_at(self.buf, self.media + field::SCREEN_SUBTYPE).unwrap_or_default()
    }

    /// The media header's own sequence number: bytes 9-10 for audio, video
    /// and type 30, 16-17 for type 13 with subtype 30 (Michel). `None` for
    /// RTCP and the other types, where the sources name no such field.
    pub fn media_sequence(&self) -> Option<u16> {
        let (off, _) = self.sequence_offsets()?;
        be::u16_at(self.buf, self.media + off).ok()
    }

    /// The media header's timestamp: the 4 bytes after [`Self::media_sequence`].
    pub fn media_timestamp(&self) -> Option<u32> {
        let (_, off) = self.sequence_offsets()?;
        be::u32_at(self.buf, self.media + off).ok()
    }

    /// Whether this video packet carries the frame information (byte 20 is 2).
    fn has_frame_info(&self) -> bool {
        self.media_type_byte() == media_type::VIDEO
            && be::u8_at(self.buf, self.media + field::VIDEO_MARKER) == Ok(VIDEO_FRAME_INFO)
    }

    /// Video only, with frame information: the frame number (bytes 21-22).
    pub fn frame_number(&self) -> Option<u16> {
        if !self.has_frame_info() {
            return None;
        }
        be::u16_at(self.buf, self.media + field::VIDEO_FRAME_NUMBER).ok()
    }

    /// Video only, with frame information: how many packets the frame takes
    /// (byte 23).
    pub fn packets_in_frame(&self) -> Option<u8> {
        if !self.has_frame_info() {
            return None;
        }
        be::u8_at(self.buf, self.media + field::VIDEO_FRAME_PACKETS).ok()
    }

    /// What [`Self::inner`] holds.
    pub const fn inner_kind(&self) -> InnerKind {
        self.kind
    }

    /// The embedded RTP packet or RTCP compound, to the end of the datagram;
    /// empty when [`Self::inner_kind`] is `Absent`. Only its first header has
    /// been checked: parse it with [`crate::rtp::RtpPacket`] or
    /// [`crate::rtcp::RtcpCompound`].
    pub fn inner(&self) -> &'a [u8] {
        self.buf.get(self.inner..).unwrap_or_default()
    }

    /// Bytes of Zoom headers before [`Self::inner`] (the whole datagram when
    /// there is no inner packet).
    pub const fn header_len(&self) -> usize {
        self.inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtcp::RtcpCompound;
    use crate::rtp::RtpPacket;

    // Test vectors built field by field from the layout in the module
    // documentation. "unknown" bytes hold arbitrary values.

    /// Audio through the SFU, to Zoom: RTP (PT 112, seq 0x1001) at 8 + 19.
    #[rustfmt::skip]
    const AUDIO_SFU: [u8; 8 + 19 + 16] = [
        // SFU: type 5, sequence 0x04fe, 4 unknown, direction 0 (to Zoom)
        0x05, 0x04, 0xfe, 0x11, 0x22, 0x33, 0x44, 0x00,
        // media: type 15, 8 unknown
        0x0f, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        // sequence 0x04ed, timestamp 0x06543a52
        0x04, 0xed, 0x06, 0x54, 0x3a, 0x52,
        // 4 unknown
        0x00, 0x00, 0x01, 0x00,
        // RTP: V=2, PT 112, seq 0x1001, ts 0x3c0, SSRC 0xdeadbeef, payload
        0x80, 0x70, 0x10, 0x01, 0x00, 0x00, 0x03, 0xc0, 0xde, 0xad, 0xbe, 0xef,
        0xaa, 0xbb, 0xcc, 0xdd,
    ];

    /// Video through the SFU, from Zoom, with frame information: RTP at 8 + 24.
    #[rustfmt::skip]
    const VIDEO_SFU: [u8; 8 + 24 + 14] = [
        // SFU: type 5, sequence 0x0100, 4 unknown, direction 4 (from Zoom)
        0x05, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
        // media: type 16, 8 unknown
        0x10, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
        // sequence 0x0a0b, timestamp 0x01020304
        0x0a, 0x0b, 0x01, 0x02, 0x03, 0x04,
        // 5 unknown, frame info marker 2, frame number 0x0039, 2 packets
        0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x39, 0x02,
        // RTP: V=2 M=1, PT 98, seq 0x2002, ts, SSRC 0x01000401
        0x80, 0xe2, 0x20, 0x02, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x04, 0x01,
        0x55, 0x66,
    ];

    /// Peer-to-peer video without frame information: RTP at 20 (Michel).
    #[rustfmt::skip]
    const VIDEO_P2P_PLAIN: [u8; 20 + 12] = [
        // media: type 16, 8 unknown
        0x10, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
        // sequence 0x0001, timestamp 0x00000010, 5 unknown
        0x00, 0x01, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
        // RTP: V=2, PT 98, seq 7
        0x80, 0x62, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
    ];

    /// Peer-to-peer video whose byte 20 is neither 2 nor RTP: RTP at 24
    /// (nDPI).
    #[rustfmt::skip]
    const VIDEO_P2P_NDPI: [u8; 24 + 12] = [
        0x10, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
        0x00, 0x02, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00,
        // bytes 20-23: not a frame-info marker, not RTP
        0x01, 0x00, 0x3a, 0x01,
        0x80, 0x62, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
    ];

    /// Screen share through the SFU: type 13 with subtype 30 at byte 7,
    /// sequence at 16, timestamp at 18, RTP at 8 + 27.
    #[rustfmt::skip]
    const SCREEN_SFU: [u8; 8 + 27 + 12] = [
        0x05, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
        // media: type 13, "T13" timestamp and sequence, 2 unknown, subtype 30
        0x0d, 0x12, 0x34, 0x00, 0x05, 0x00, 0x00, 0x1e,
        // 8 unknown (the type-30 header's own unknown bytes)
        0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
        // sequence 0x0333, timestamp 0x00abcdef, 5 unknown
        0x03, 0x33, 0x00, 0xab, 0xcd, 0xef, 0x00, 0x00, 0x00, 0x00, 0x00,
        // RTP: V=2, PT 99, seq 0x0400
        0x80, 0x63, 0x04, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0d,
    ];

    /// Peer-to-peer screen share, type 30: RTP at 20.
    #[rustfmt::skip]
    const SCREEN_P2P: [u8; 20 + 13] = [
        0x1e, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
        // sequence 0x0010, timestamp 0x00000100, 5 unknown
        0x00, 0x10, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x80, 0x63, 0x00, 0x11, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0e, 0x42,
    ];

    /// RTCP sender report through the SFU, type 33: RTCP at 8 + 16.
    #[rustfmt::skip]
    const RTCP_SFU: [u8; 8 + 16 + 28] = [
        0x05, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00,
        // media: type 33, 15 unknown
        0x21, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00,
        // RTCP SR: V=2 RC=0, PT 200, length 6, SSRC, NTP, RTP ts, counts
        0x80, 0xc8, 0x00, 0x06, 0xde, 0xad, 0xbe, 0xef,
        0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
        0x00, 0x00, 0x03, 0xc0,
        0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x00,
    ];

    /// Peer-to-peer audio: RTP at 19.
    #[rustfmt::skip]
    const AUDIO_P2P: [u8; 19 + 12] = [
        0x0f, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
        0x00, 0x05, 0x00, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x00,
        0x80, 0x70, 0x00, 0x05, 0x00, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x0f,
    ];

    fn with_byte(v: &[u8], at: usize, b: u8) -> Vec<u8> {
        let mut v = v.to_vec();
        v[at] = b;
        v
    }

    #[test]
    fn parses_audio_via_sfu() {
        assert_eq!(probe(&AUDIO_SFU), Probe::Match);
        let z = ZoomPacket::new_checked(&AUDIO_SFU).unwrap();
        assert_eq!(z.encapsulation(), Encapsulation::Sfu);
        assert!(!z.is_p2p());
        assert_eq!(z.sfu_sequence(), Some(0x04fe));
        assert_eq!(z.direction(), Some(Direction::ToServer));
        assert_eq!(z.media_type(), MediaType::Audio);
        assert_eq!(z.media_type_byte(), 15);
        assert_eq!(z.media_sequence(), Some(0x04ed));
        assert_eq!(z.media_timestamp(), Some(0x0654_3a52));
        assert_eq!((z.frame_number(), z.packets_in_frame()), (None, None));
        assert_eq!(z.inner_kind(), InnerKind::Rtp);
        assert_eq!(z.header_len(), 27);
        assert_eq!(z.media_header().len(), 19);
        assert_eq!(z.inner(), &AUDIO_SFU[27..]);
        assert_eq!(z.as_bytes().len(), AUDIO_SFU.len());
        let rtp = RtpPacket::new_checked(z.inner()).unwrap();
        assert_eq!(rtp.sequence_number(), 0x1001);
        assert_eq!(rtp.payload(), [0xaa, 0xbb, 0xcc, 0xdd]);
    }

    #[test]
    fn parses_video_via_sfu() {
        assert_eq!(probe(&VIDEO_SFU), Probe::Match);
        let z = ZoomPacket::new_checked(&VIDEO_SFU).unwrap();
        assert_eq!(z.encapsulation(), Encapsulation::Sfu);
        assert_eq!(z.direction(), Some(Direction::FromServer));
        assert_eq!(z.sfu_sequence(), Some(0x0100));
        assert_eq!(z.media_type(), MediaType::Video);
        assert_eq!(z.media_sequence(), Some(0x0a0b));
        assert_eq!(z.media_timestamp(), Some(0x0102_0304));
        assert_eq!(z.frame_number(), Some(0x39));
        assert_eq!(z.packets_in_frame(), Some(2));
        assert_eq!(z.header_len(), 8 + 24);
        let rtp = RtpPacket::new_checked(z.inner()).unwrap();
        assert_eq!(rtp.sequence_number(), 0x2002);
        assert_eq!(rtp.payload_type().0, 98);
    }

    #[test]
    fn parses_video_at_both_offsets() {
        // Michel: no frame information, RTP at 20.
        assert_eq!(probe(&VIDEO_P2P_PLAIN), Probe::Match);
        let z = ZoomPacket::new_checked(&VIDEO_P2P_PLAIN).unwrap();
        assert!(z.is_p2p());
        assert_eq!(z.encapsulation(), Encapsulation::PeerToPeer);
        assert_eq!((z.sfu_sequence(), z.direction()), (None, None));
        assert_eq!(z.media_type(), MediaType::Video);
        assert_eq!(z.media_sequence(), Some(1));
        assert_eq!(z.frame_number(), None);
        assert_eq!(z.header_len(), 20);
        assert_eq!(
            RtpPacket::new_checked(z.inner()).unwrap().sequence_number(),
            7
        );

        // nDPI: RTP at 24 whatever byte 20 holds.
        assert_eq!(probe(&VIDEO_P2P_NDPI), Probe::Match);
        let z = ZoomPacket::new_checked(&VIDEO_P2P_NDPI).unwrap();
        assert_eq!(z.header_len(), 24);
        assert_eq!(z.frame_number(), None);
        assert_eq!(
            RtpPacket::new_checked(z.inner()).unwrap().sequence_number(),
            8
        );

        // Neither offset holds RTP: the error names offset 20.
        let bad = with_byte(&VIDEO_P2P_NDPI, 24, 0x00);
        assert_eq!(ZoomPacket::new_checked(&bad), Err(Error::malformed(20)));
        assert_eq!(probe(&bad), Probe::NoMatch);
    }

    #[test]
    fn parses_screen_share() {
        assert_eq!(probe(&SCREEN_SFU), Probe::Match);
        let z = ZoomPacket::new_checked(&SCREEN_SFU).unwrap();
        assert_eq!(z.encapsulation(), Encapsulation::Sfu);
        assert_eq!(z.media_type(), MediaType::ScreenShare);
        assert_eq!(z.media_type_byte(), 13);
        assert_eq!(z.media_sequence(), Some(0x0333));
        assert_eq!(z.media_timestamp(), Some(0x00ab_cdef));
        assert_eq!(z.header_len(), 8 + 27);
        assert_eq!(
            RtpPacket::new_checked(z.inner()).unwrap().sequence_number(),
            0x0400
        );

        assert_eq!(probe(&SCREEN_P2P), Probe::Match);
        let z = ZoomPacket::new_checked(&SCREEN_P2P).unwrap();
        assert!(z.is_p2p());
        assert_eq!(z.media_type(), MediaType::ScreenShare);
        assert_eq!(z.media_type_byte(), 30);
        assert_eq!(z.media_sequence(), Some(0x10));
        assert_eq!(z.media_timestamp(), Some(0x100));
        assert_eq!(z.header_len(), 20);
        assert_eq!(RtpPacket::new_checked(z.inner()).unwrap().payload(), [0x42]);

        // Type 30 behind the SFU header (nDPI's earlier version).
        let mut sfu = SCREEN_SFU[..8].to_vec();
        sfu.extend_from_slice(&SCREEN_P2P);
        let z = ZoomPacket::new_checked(&sfu).unwrap();
        assert_eq!(
            (z.encapsulation(), z.header_len()),
            (Encapsulation::Sfu, 28)
        );
    }

    #[test]
    fn parses_screen_share_without_subtype() {
        // nDPI: RTP at 27 even when byte 7 is not 30.
        let other_subtype = with_byte(&SCREEN_SFU, 8 + 7, 0x00);
        assert_eq!(probe(&other_subtype), Probe::Match);
        let z = ZoomPacket::new_checked(&other_subtype).unwrap();
        assert_eq!(z.inner_kind(), InnerKind::Rtp);
        assert_eq!(z.header_len(), 8 + 27);
        assert_eq!(z.media_sequence(), None);

        // No RTP there: still a screen-share packet, with nothing inside.
        let no_rtp = with_byte(&other_subtype, 8 + 27, 0x00);
        assert_eq!(probe(&no_rtp), Probe::NoMatch);
        let z = ZoomPacket::new_checked(&no_rtp).unwrap();
        assert_eq!(z.media_type(), MediaType::ScreenShare);
        assert_eq!(z.inner_kind(), InnerKind::Absent);
        assert!(z.inner().is_empty());
        assert_eq!(z.header_len(), no_rtp.len());
        assert_eq!(z.media_header(), &no_rtp[8..]);
        // Short, too.
        assert!(ZoomPacket::new_checked(&no_rtp[..8 + 15])
            .is_ok_and(|z| z.inner_kind() == InnerKind::Absent));

        // Subtype 30 promises RTP (Michel).
        let broken = with_byte(&SCREEN_SFU, 8 + 27, 0x00);
        assert_eq!(
            ZoomPacket::new_checked(&broken),
            Err(Error::malformed(8 + 27))
        );
    }

    #[test]
    fn parses_rtcp() {
        assert_eq!(probe(&RTCP_SFU), Probe::Match);
        let z = ZoomPacket::new_checked(&RTCP_SFU).unwrap();
        assert_eq!(z.media_type(), MediaType::Rtcp);
        assert_eq!(z.inner_kind(), InnerKind::Rtcp);
        assert_eq!(z.header_len(), 8 + 16);
        assert_eq!((z.media_sequence(), z.media_timestamp()), (None, None));
        assert!(RtcpCompound::new(z.inner()).is_valid_compound());

        // Types 34 and 35, and peer to peer.
        for ty in [34, 35] {
            let v = with_byte(&RTCP_SFU, 8, ty);
            assert_eq!(
                ZoomPacket::new_checked(&v).unwrap().media_type(),
                MediaType::Rtcp
            );
            let p2p = &v[8..];
            assert_eq!(probe(p2p), Probe::Match);
            let z = ZoomPacket::new_checked(p2p).unwrap();
            assert!(z.is_p2p());
            assert_eq!(z.inner(), &RTCP_SFU[24..]);
        }
    }

    #[test]
    fn parses_p2p_audio() {
        assert_eq!(probe(&AUDIO_P2P), Probe::Match);
        let z = ZoomPacket::new_checked(&AUDIO_P2P).unwrap();
        assert_eq!(z.encapsulation(), Encapsulation::PeerToPeer);
        assert_eq!(z.media_type(), MediaType::Audio);
        assert_eq!(z.media_sequence(), Some(5));
        assert_eq!(z.media_timestamp(), Some(0x50));
        assert_eq!(z.header_len(), 19);
        assert_eq!(z.inner().len(), 12);
        // The same bytes behind an SFU header.
        let mut sfu = AUDIO_SFU[..8].to_vec();
        sfu.extend_from_slice(&AUDIO_P2P);
        let z = ZoomPacket::new_checked(&sfu).unwrap();
        assert_eq!(z.inner(), &AUDIO_P2P[19..]);
    }

    #[test]
    fn parses_undocumented_type_via_sfu() {
        // Type 21 behind an SFU header: Zoom, but no RTP offset is known.
        let v = with_byte(&AUDIO_SFU, 8, 21);
        let z = ZoomPacket::new_checked(&v).unwrap();
        assert_eq!(z.media_type(), MediaType::Other(21));
        assert_eq!(z.media_type().as_str(), "other");
        assert_eq!(z.inner_kind(), InnerKind::Absent);
        assert!(z.inner().is_empty());
        assert_eq!((z.media_sequence(), z.frame_number()), (None, None));
        assert_eq!(probe(&v), Probe::NoMatch);
        // On its own, type 21 is not recognised.
        assert_eq!(
            ZoomPacket::new_checked(&v[8..]),
            Err(Error::new(ErrorKind::NotThisProtocol, 0))
        );
        assert_eq!(probe(&v[8..]), Probe::NoMatch);
        assert_eq!(
            ZoomPacket::new_checked(&v[..8 + 14]),
            Err(Error::truncated(8 + 14))
        );
    }

    #[test]
    fn parses_direction_values() {
        let v = with_byte(&AUDIO_SFU, 7, 1);
        let z = ZoomPacket::new_checked(&v).unwrap();
        assert_eq!(z.direction(), Some(Direction::Other(1)));
    }

    #[test]
    fn maps_media_type_bytes() {
        let names = [13, 15, 16, 30, 33, 34, 35, 5, 0].map(|b| MediaType::from_u8(b).as_str());
        assert_eq!(
            names,
            [
                "screen-share",
                "audio",
                "video",
                "screen-share",
                "rtcp",
                "rtcp",
                "rtcp",
                "other",
                "other",
            ]
        );
        assert_eq!(MediaType::from_u8(15), MediaType::Audio);
        assert_eq!(MediaType::from_u8(200), MediaType::Other(200));
        assert!(SFU_PORTS.contains(&8801) && SFU_PORTS.contains(&8810));
        assert!(!SFU_PORTS.contains(&8811));
    }

    #[test]
    fn rejects_wrong_type_bytes() {
        // SFU types other than 5 (control), STUN, RTP, DTLS, and unknown
        // first bytes are not this protocol.
        for first in [
            0x00, 0x01, 0x02, 0x03, 0x04, 0x06, 0x07, 0x14, 0x16, 0x80, 0xff,
        ] {
            let v = with_byte(&AUDIO_SFU, 0, first);
            assert_eq!(
                ZoomPacket::new_checked(&v),
                Err(Error::new(ErrorKind::NotThisProtocol, 0)),
                "first byte {first}"
            );
            assert_eq!(probe(&v), Probe::NoMatch, "first byte {first}");
        }
        // An RTCP type with RTP inside, and an RTP type with RTCP inside.
        let v = with_byte(&AUDIO_SFU, 8, media_type::RTCP_SR);
        assert_eq!(probe(&v), Probe::NoMatch);
        assert!(ZoomPacket::new_checked(&v).is_err());
        let mut audio = AUDIO_SFU[..8 + 19].to_vec();
        audio.extend_from_slice(&RTCP_SFU[24..]);
        assert_eq!(probe(&audio), Probe::NoMatch);
        assert_eq!(ZoomPacket::new_checked(&audio), Err(Error::malformed(27)));
        let mut rtcp = RTCP_SFU[..24].to_vec();
        rtcp.extend_from_slice(&AUDIO_SFU[27..]);
        assert_eq!(ZoomPacket::new_checked(&rtcp), Err(Error::malformed(25)));
        assert_eq!(probe(&rtcp), Probe::NoMatch);
        // An RTCP length past the end.
        let long = with_byte(&RTCP_SFU, 24 + 3, 7);
        assert_eq!(
            ZoomPacket::new_checked(&long),
            Err(Error::truncated(long.len()))
        );
    }

    #[test]
    fn rejects_non_rtp_inner_bytes() {
        // Version 0, 1 and 3, and a ChannelData-looking first byte.
        for b in [0x00, 0x40, 0x41, 0xc0] {
            for (v, off) in [
                (&AUDIO_SFU[..], 27),
                (&VIDEO_SFU[..], 32),
                (&SCREEN_SFU[..], 35),
                (&SCREEN_P2P[..], 20),
                (&AUDIO_P2P[..], 19),
                (&RTCP_SFU[..], 24),
            ] {
                let bad = with_byte(v, off, b);
                assert_eq!(probe(&bad), Probe::NoMatch, "{b:#x} at {off}");
                assert_eq!(ZoomPacket::new_checked(&bad), Err(Error::malformed(off)));
            }
        }
    }

    #[test]
    fn rejects_truncated_at_every_length() {
        for v in [
            &AUDIO_SFU[..],
            &VIDEO_SFU,
            &VIDEO_P2P_PLAIN,
            &VIDEO_P2P_NDPI,
            &SCREEN_SFU,
            &SCREEN_P2P,
            &RTCP_SFU,
            &AUDIO_P2P,
        ] {
            let full = ZoomPacket::new_checked(v).unwrap();
            // An RTP header is 12 bytes; the RTCP length covers the whole SR.
            let min = match full.inner_kind() {
                InnerKind::Rtp => full.header_len() + 12,
                _ => v.len(),
            };
            for n in 0..v.len() {
                let cut = &v[..n];
                match ZoomPacket::new_checked(cut) {
                    Ok(z) => {
                        assert!(n >= min, "{n} of {}", v.len());
                        assert_eq!(z.header_len(), full.header_len());
                        assert_eq!(z.inner(), &v[full.header_len()..n]);
                        assert_eq!(probe(cut), Probe::Match);
                    }
                    Err(e) => {
                        assert!(n < min, "{n} of {}: {e}", v.len());
                        assert_eq!(e.kind, ErrorKind::Truncated, "{n} of {}", v.len());
                        assert_eq!(probe(cut), Probe::NeedMore, "{n} of {}", v.len());
                    }
                }
            }
        }
        assert_eq!(ZoomPacket::new_checked(&[]), Err(Error::truncated(0)));
        assert_eq!(probe(&[]), Probe::NeedMore);
    }

    fn exercise(buf: &[u8]) {
        let p = probe(buf);
        match ZoomPacket::new_checked(buf) {
            Ok(z) => {
                let _ = (
                    z.encapsulation(),
                    z.is_p2p(),
                    z.sfu_sequence(),
                    z.direction(),
                );
                let _ = (z.media_type(), z.media_type_byte(), z.media_header());
                let _ = (z.media_sequence(), z.media_timestamp());
                let _ = (z.frame_number(), z.packets_in_frame());
                assert!(z.header_len() <= buf.len());
                assert_eq!(z.header_len() + z.inner().len(), buf.len());
                assert_eq!(
                    z.media_header().len() + usize::from(!z.is_p2p()) * 8,
                    z.header_len()
                );
                match z.inner_kind() {
                    InnerKind::Rtp => {
                        assert!(z.inner().len() >= 12);
                        assert_eq!(crate::rtp::probe(z.inner()), Probe::Match);
                    }
                    InnerKind::Rtcp => assert!(crate::rtp::is_rtcp(z.inner())),
                    InnerKind::Absent => assert!(z.inner().is_empty()),
                }
                // probe agrees with the parser.
                let expect = if z.inner_kind() == InnerKind::Absent {
                    Probe::NoMatch
                } else {
                    Probe::Match
                };
                assert_eq!(p, expect);
            }
            Err(_) => assert_ne!(p, Probe::Match),
        }
    }

    #[test]
    fn parses_every_mutation_without_panic() {
        let vectors: [&[u8]; 8] = [
            &AUDIO_SFU,
            &VIDEO_SFU,
            &VIDEO_P2P_PLAIN,
            &VIDEO_P2P_NDPI,
            &SCREEN_SFU,
            &SCREEN_P2P,
            &RTCP_SFU,
            &AUDIO_P2P,
        ];
        for v in vectors {
            for n in 0..=v.len() {
                exercise(&v[..n]);
            }
            let mut b = v.to_vec();
            for i in 0..b.len() {
                let orig = b[i];
                for x in [orig ^ 0xff, orig ^ 0x40, 0x00, 0x02, 0x05, 0x1e, 0x80, 0xff] {
                    b[i] = x;
                    exercise(&b);
                }
                b[i] = orig;
            }
        }
    }
}

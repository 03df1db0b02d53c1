//! TURN ChannelData messages, the framing of STUN/TURN over TCP and TLS, and
//! a summary of the TURN facts a STUN message carries.
//!
//! Implemented:
//! - ChannelData (RFC 8656 section 12.4), accepting the RFC 5766 channel range
//!   0x4000-0x7FFF and telling whether a number is in the narrower RFC 8656
//!   range 0x4000-0x4FFF;
//! - splitting a TURN byte stream (TCP or TLS) into STUN messages and
//!   ChannelData frames padded to 4 bytes (RFC 8656 section 12.5, RFC 6062
//!   section 4), and the RFC 4571 two-byte length framing used by ICE-TCP
//!   (RFC 6544 section 3);
//! - [`TurnFacts`]: relayed, mapped and peer addresses, lifetime, channel,
//!   data and requested transport from one STUN message, in one walk over the
//!   attributes of [`crate::stun`].
//!
//! Not supported: TURN over DTLS is not handled here (the DTLS dissector sees
//! the records); the TURN state (allocations, permissions, channel bindings)
//! is the engine's job; classic STUN (no magic cookie) over a stream is not
//! framed.

use std::net::SocketAddr;

use crate::error::{be, Error, ErrorKind, Probe, Result};
use crate::stun::{AttributeValue, Class, Method, StunMessage, HEADER_LEN, MAGIC_COOKIE};

/// Lowest channel number (RFC 8656 section 12).
pub const CHANNEL_MIN: u16 = 0x4000;
/// Highest channel number of RFC 8656 section 12.
pub const CHANNEL_MAX: u16 = 0x4FFF;
/// Highest channel number of RFC 5766 section 11, still seen in the field.
pub const CHANNEL_MAX_LEGACY: u16 = 0x7FFF;

/// Length of the ChannelData header.
pub const CHANNEL_HEADER_LEN: usize = 4;

mod field {
    pub const CHANNEL: usize = 0;
    pub const LENGTH: usize = 2;
    pub const DATA: usize = 4;

    pub const STUN_LENGTH: usize = 2;
    pub const STUN_COOKIE: usize = 4;

    pub const RFC4571_LENGTH: usize = 0;
    pub const RFC4571_PACKET: usize = 2;
}

/// Cheap check whether `buf` starts with a ChannelData message: a channel
/// number in 0x4000-0x7FFF and a length that fits in `buf`.
pub fn probe(buf: &[u8]) -> Probe {
    match buf.first() {
        None => return Probe::NeedMore,
        Some(b) if b & 0xc0 != 0x40 => return Probe::NoMatch,
        Some(_) => {}
    }
    match be::u16_at(buf, field::LENGTH) {
        Err(_) => Probe::NeedMore,
        Ok(len) if buf.len() >= CHANNEL_HEADER_LEN + usize::from(len) => Probe::Match,
        Ok(_) => Probe::NeedMore,
    }
}

/// A TURN ChannelData message (RFC 8656 section 12.4):
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |         Channel Number        |            Length             |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// /                       Application Data                        /
/// /                                                               /
/// |                                                               |
/// |                               +-------------------------------+
/// |                               |
/// +-------------------------------+
/// ```
///
/// Over UDP the datagram may carry padding up to a multiple of 4 (or none);
/// over streams the padding is required and [`next_frame`] consumes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelData<'a> {
    /// Exactly header and data.
    buf: &'a [u8],
    trailing: usize,
}

impl<'a> ChannelData<'a> {
    /// Validates the channel number and that the data fits in `buf`.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let channel = be::u16_at(buf, field::CHANNEL)?;
        if !(CHANNEL_MIN..=CHANNEL_MAX_LEGACY).contains(&channel) {
            return Err(Error::new(ErrorKind::NotThisProtocol, field::CHANNEL));
        }
        let len = usize::from(be::u16_at(buf, field::LENGTH)?);
        let total = CHANNEL_HEADER_LEN + len;
        let msg = buf.get(..total).ok_or(Error::truncated(buf.len()))?;
        Ok(ChannelData {
            buf: msg,
            trailing: buf.len().saturating_sub(total),
        })
    }

    /// The channel number.
    pub fn channel_number(&self) -> u16 {
        be::u16_at(self.buf, field::CHANNEL).unwrap_or_default()
    }

    /// True when the channel is in the RFC 8656 range 0x4000-0x4FFF; false
    /// for the RFC 5766-only range 0x5000-0x7FFF.
    pub fn is_rfc8656_range(&self) -> bool {
        self.channel_number() <= CHANNEL_MAX
    }

    /// The Length field: bytes of application data.
    pub fn data_length(&self) -> u16 {
        be::u16_at(self.buf, field::LENGTH).unwrap_or_default()
    }

    /// The application data (RTP, RTCP, DTLS, STUN... of the peer).
    pub fn data(&self) -> &'a [u8] {
        self.buf.get(field::DATA..).unwrap_or_default()
    }

    /// 4 + the data length, without padding.
    #[allow(clippy::len_without_is_empty)]
    pub const fn len(&self) -> usize {
        self.buf.len()
    }

    /// Bytes of the input after the data.
    pub const fn trailing_len(&self) -> usize {
        self.trailing
    }

    /// For a UDP datagram: true when the trailing bytes are absent or exactly
    /// the padding to a multiple of 4; anything else is worth a warning.
    pub const fn is_udp_padding_ok(&self) -> bool {
        self.trailing == 0 || self.trailing == padding(self.buf.len())
    }
}

/// Padding that brings `len` to a multiple of 4.
const fn padding(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// What a stream frame holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// A STUN message: parse `bytes` with [`StunMessage::new_checked`].
    Stun,
    /// A ChannelData message: parse `bytes` with [`ChannelData::new_checked`].
    ChannelData,
}

/// One frame cut from a TURN stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// STUN or ChannelData.
    pub kind: FrameKind,
    /// The message, without stream padding.
    pub bytes: &'a [u8],
    /// Bytes to drop from the stream to reach the next frame (padding
    /// included).
    pub consumed: usize,
}

/// Length of the frame at the start of a TURN stream (RFC 8656 section
/// 12.5): a STUN message (first two bits 00, magic cookie) takes 20 + its
/// length; a ChannelData message (first two bits 01) takes 4 + its length
/// rounded up to a multiple of 4.
///
/// `Ok(None)`: too few bytes to tell the length. `Err`: the stream is not
/// TURN framing (first bits 10 or 11, or a STUN header without the cookie),
/// and the engine should stop framing it.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>> {
    Ok(frame_head(buf)?.map(|(_, _, consumed)| consumed))
}

/// Kind, message length and consumed length of the frame at the start of `buf`.
fn frame_head(buf: &[u8]) -> Result<Option<(FrameKind, usize, usize)>> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    match first >> 6 {
        0b00 => {
            let (Ok(len), Ok(cookie)) = (
                be::u16_at(buf, field::STUN_LENGTH),
                be::u32_at(buf, field::STUN_COOKIE),
            ) else {
                return Ok(None);
            };
            if cookie != MAGIC_COOKIE {
                return Err(Error::new(ErrorKind::NotThisProtocol, field::STUN_COOKIE));
            }
            let total = HEADER_LEN + usize::from(len);
            Ok(Some((FrameKind::Stun, total, total)))
        }
        0b01 => {
            let Ok(len) = be::u16_at(buf, field::LENGTH) else {
                return Ok(None);
            };
            let total = CHANNEL_HEADER_LEN + usize::from(len);
            Ok(Some((
                FrameKind::ChannelData,
                total,
                total + padding(total),
            )))
        }
        _ => Err(Error::new(ErrorKind::NotThisProtocol, 0)),
    }
}

/// Cuts the next frame off a TURN stream: `Ok(None)` until the whole frame
/// (and its padding) is in `buf`. See [`frame_len`] for the errors.
pub fn next_frame(buf: &[u8]) -> Result<Option<Frame<'_>>> {
    let Some((kind, len, consumed)) = frame_head(buf)? else {
        return Ok(None);
    };
    if buf.len() < consumed {
        return Ok(None);
    }
    Ok(buf.get(..len).map(|bytes| Frame {
        kind,
        bytes,
        consumed,
    }))
}

/// Cuts the next packet off an RFC 4571 stream (ICE-TCP, RFC 6544):
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// -----------------------------------------------------------------
/// |             LENGTH            |  STUN, RTP, RTCP, DTLS ...    \
/// -----------------------------------------------------------------
/// ```
///
/// Returns the packet and the bytes consumed, or `Ok(None)` until the whole
/// packet is in `buf`.
pub fn rfc4571_frame(buf: &[u8]) -> Result<Option<(&[u8], usize)>> {
    let Ok(len) = be::u16_at(buf, field::RFC4571_LENGTH) else {
        return Ok(None);
    };
    let len = usize::from(len);
    if len == 0 {
        return Err(Error::bad_length(field::RFC4571_LENGTH));
    }
    Ok(be::slice(buf, field::RFC4571_PACKET, len)
        .ok()
        .map(|packet| (packet, field::RFC4571_PACKET + len)))
}

/// How a STUN-carrying TCP stream is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamFraming {
    /// Self-delimiting STUN and ChannelData (TURN over TCP/TLS, RFC 8656).
    Turn,
    /// Two-byte length prefix (RFC 4571, ICE-TCP).
    Rfc4571,
}

/// Tells the framing from the first bytes of a stream: a STUN header (with
/// the magic cookie) at offset 0, or an RFC 4571 length whose packet is a
/// STUN message of exactly that length. Both kinds of stream start with STUN
/// (Allocate or ConnectionBind for TURN, a Binding check for ICE-TCP); a
/// ChannelData-looking start is refused because printable ASCII (`@` to
/// DEL) looks like one. `Ok(None)`: need more bytes. `Err`: neither.
pub fn detect_framing(buf: &[u8]) -> Result<Option<StreamFraming>> {
    let turn = frame_head(buf);
    if let Ok(Some((FrameKind::Stun, _, _))) = turn {
        return Ok(Some(StreamFraming::Turn));
    }
    let Some(inner) = buf.get(field::RFC4571_PACKET..) else {
        return Ok(None);
    };
    match crate::stun::probe(inner) {
        Probe::Match
            if be::u16_at(inner, field::STUN_LENGTH)
                .is_ok_and(|l| be::u16_at(buf, 0) == Ok(l.saturating_add(HEADER_LEN as u16))) =>
        {
            return Ok(Some(StreamFraming::Rfc4571));
        }
        Probe::NeedMore if inner.len() < HEADER_LEN => return Ok(None),
        _ => {}
    }
    match turn {
        Ok(None) => Ok(None),
        _ => Err(Error::new(ErrorKind::NotThisProtocol, 0)),
    }
}

/// The TURN facts of one STUN message, collected in one attribute walk.
///
/// Addresses are the first decodable attribute of each kind; use
/// [`TurnFacts::peers`] for every XOR-PEER-ADDRESS (CreatePermission may
/// carry several).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnFacts<'a> {
    /// The message's method.
    pub method: Method,
    /// The message's class.
    pub class: Class,
    /// XOR-RELAYED-ADDRESS: the relay address the server allocated.
    pub relayed: Option<SocketAddr>,
    /// XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS): the client's reflexive address.
    pub mapped: Option<SocketAddr>,
    /// Number of XOR-PEER-ADDRESS attributes that decode.
    pub peer_count: usize,
    /// LIFETIME in seconds (0 in a Refresh = deallocation).
    pub lifetime: Option<u32>,
    /// CHANNEL-NUMBER.
    pub channel: Option<u16>,
    /// DATA: the peer's payload in Send/Data indications, to feed back to
    /// the pipeline.
    pub data: Option<&'a [u8]>,
    /// REQUESTED-TRANSPORT protocol number (17 = UDP, 6 = TCP).
    pub requested_transport: Option<u8>,
    /// ERROR-CODE (e.g. 401, 438).
    pub error_code: Option<u16>,
    /// CONNECTION-ID (RFC 6062).
    pub connection_id: Option<u32>,
    msg: StunMessage<'a>,
}

impl<'a> TurnFacts<'a> {
    /// Collects the facts of `msg`; attributes that do not decode are skipped
    /// (the engine counts [`StunMessage::attributes_error`] separately).
    pub fn of(msg: &StunMessage<'a>) -> TurnFacts<'a> {
        let ty = msg.message_type();
        let mut facts = TurnFacts {
            method: ty.method,
            class: ty.class,
            relayed: None,
            mapped: None,
            peer_count: 0,
            lifetime: None,
            channel: None,
            data: None,
            requested_transport: None,
            error_code: None,
            connection_id: None,
            msg: *msg,
        };
        let mut plain_mapped = None;
        for a in msg.attributes() {
            match a.parsed() {
                Ok(AttributeValue::XorRelayedAddress(s)) => {
                    facts.relayed = facts.relayed.or(Some(s))
                }
                Ok(AttributeValue::XorMappedAddress(s)) => facts.mapped = facts.mapped.or(Some(s)),
                Ok(AttributeValue::MappedAddress(s)) => plain_mapped = plain_mapped.or(Some(s)),
                Ok(AttributeValue::XorPeerAddress(_)) => facts.peer_count += 1,
                Ok(AttributeValue::Lifetime(l)) => facts.lifetime = facts.lifetime.or(Some(l)),
                Ok(AttributeValue::ChannelNumber(c)) => facts.channel = facts.channel.or(Some(c)),
                Ok(AttributeValue::Data(d)) => facts.data = facts.data.or(Some(d)),
                Ok(AttributeValue::RequestedTransport(p)) => {
                    facts.requested_transport = facts.requested_transport.or(Some(p))
                }
                Ok(AttributeValue::ErrorCode { code, .. }) => {
                    facts.error_code = facts.error_code.or(Some(code))
                }
                Ok(AttributeValue::ConnectionId(c)) => {
                    facts.connection_id = facts.connection_id.or(Some(c))
                }
                _ => {}
            }
        }
        facts.mapped = facts.mapped.or(plain_mapped);
        facts
    }

    /// Every decodable XOR-PEER-ADDRESS, in order.
    pub fn peers(&self) -> impl Iterator<Item = SocketAddr> + 'a {
        self.msg.attributes().filter_map(|a| match a.parsed() {
            Ok(AttributeValue::XorPeerAddress(s)) => Some(s),
            _ => None,
        })
    }

    /// True for TURN methods (everything but Binding and the unknown ones).
    pub fn is_turn(&self) -> bool {
        matches!(
            self.method,
            Method::Allocate
                | Method::Refresh
                | Method::Send
                | Method::Data
                | Method::CreatePermission
                | Method::ChannelBind
                | Method::Connect
                | Method::ConnectionBind
                | Method::ConnectionAttempt
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../../fixtures/payloads/stun/", $name))
        };
    }

    const CHANNELDATA_STUN: &[u8] = fixture!("channeldata_stun.bin");
    const CHANNELDATA_SHORT: &[u8] = fixture!("channeldata_short.bin");
    const TCP_TWO: &[u8] = fixture!("tcp_two_messages.bin");
    const RFC4571: &[u8] = fixture!("rfc4571_binding_request.bin");
    const ALLOCATE_SUCCESS: &[u8] = fixture!("allocate_success.bin");
    const SEND_INDICATION: &[u8] = fixture!("send_indication.bin");
    const CHANNELBIND: &[u8] = fixture!("channelbind_request.bin");
    const ALLOCATE_FACEBOOK: &[u8] = fixture!("allocate_request_facebook.bin");
    const ALLOCATE_ERROR_TCP: &[u8] = fixture!("allocate_error_coturn_tcp.bin");
    const BINDING_RESPONSE: &[u8] = fixture!("binding_response_xor_mapped.bin");

    /// A ChannelData on channel 0x7fff (RFC 5766 range) with 3 data bytes and
    /// one padding byte, as a TURN-over-TCP client must send it.
    const CHANNELDATA_LEGACY_PADDED: [u8; 8] = [0x7f, 0xff, 0x00, 0x03, 0xaa, 0xbb, 0xcc, 0x00];

    fn sock(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_channeldata_with_inner_stun() {
        // ndpi stun.pcap frame 110: channel 0x4003 carries a Binding request.
        assert_eq!(probe(CHANNELDATA_STUN), Probe::Match);
        let cd = ChannelData::new_checked(CHANNELDATA_STUN).unwrap();
        assert_eq!(cd.channel_number(), 0x4003);
        assert!(cd.is_rfc8656_range());
        assert_eq!(cd.data_length(), 96);
        assert_eq!(cd.trailing_len(), 0);
        assert!(cd.is_udp_padding_ok());
        let inner = StunMessage::new_checked(cd.data()).unwrap();
        assert_eq!(inner.message_type().method, Method::Binding);
    }

    #[test]
    fn parses_unpadded_udp_channeldata() {
        // ndpi stun.pcap frame 113: 22 data bytes, no padding over UDP.
        let cd = ChannelData::new_checked(CHANNELDATA_SHORT).unwrap();
        assert_eq!(cd.data().len(), 22);
        assert_eq!(cd.data().first(), Some(&0x80));
        assert!(cd.is_udp_padding_ok());
        let mut padded = CHANNELDATA_SHORT.to_vec();
        padded.extend_from_slice(&[0, 0]);
        assert!(ChannelData::new_checked(&padded)
            .unwrap()
            .is_udp_padding_ok());
        padded.push(0);
        assert!(!ChannelData::new_checked(&padded)
            .unwrap()
            .is_udp_padding_ok());
    }

    #[test]
    fn parses_legacy_channel_range() {
        let cd = ChannelData::new_checked(&CHANNELDATA_LEGACY_PADDED).unwrap();
        assert_eq!(cd.channel_number(), 0x7fff);
        assert!(!cd.is_rfc8656_range());
        assert_eq!(cd.data(), [0xaa, 0xbb, 0xcc]);
        assert_eq!(cd.len(), 7);
    }

    #[test]
    fn rejects_bad_channeldata() {
        assert_eq!(
            ChannelData::new_checked(&[0x80, 0x00, 0x00, 0x00]),
            Err(Error::new(ErrorKind::NotThisProtocol, 0))
        );
        assert_eq!(
            ChannelData::new_checked(&CHANNELDATA_SHORT[..25]),
            Err(Error::truncated(25))
        );
        assert_eq!(ChannelData::new_checked(&[0x40]), Err(Error::truncated(0)));
        assert_eq!(probe(&[0x00, 0x01]), Probe::NoMatch);
        assert_eq!(probe(&CHANNELDATA_SHORT[..10]), Probe::NeedMore);
    }

    #[test]
    fn parses_turn_tcp_stream() {
        // ndpi stun.pcap frame 157 (two STUN messages in one segment), then a
        // padded ChannelData.
        let mut stream = TCP_TWO.to_vec();
        stream.extend_from_slice(&CHANNELDATA_LEGACY_PADDED);
        assert_eq!(detect_framing(&stream), Ok(Some(StreamFraming::Turn)));
        let mut rest = &stream[..];
        let mut kinds = Vec::new();
        while let Some(frame) = next_frame(rest).unwrap() {
            kinds.push((frame.kind, frame.bytes.len(), frame.consumed));
            rest = &rest[frame.consumed..];
        }
        assert!(rest.is_empty());
        assert_eq!(
            kinds,
            [
                (FrameKind::Stun, 84, 84),
                (FrameKind::Stun, 84, 84),
                (FrameKind::ChannelData, 7, 8),
            ]
        );
        // Partial frames wait for more bytes.
        assert_eq!(next_frame(&stream[..83]), Ok(None));
        assert_eq!(frame_len(&stream[..8]), Ok(Some(84)));
        assert_eq!(frame_len(&stream[..6]), Ok(None));
        assert_eq!(frame_len(&stream[..3]), Ok(None));
        assert_eq!(next_frame(&CHANNELDATA_LEGACY_PADDED[..7]), Ok(None));
    }

    #[test]
    fn rejects_non_turn_stream() {
        // ASCII text looks like ChannelData to the framer: detection refuses it.
        assert_eq!(frame_len(b"GET / HTTP/1.1\r\n"), Ok(Some(0x5424)));
        assert_eq!(
            detect_framing(b"GET / HTTP/1.1\r\n\r\n\r\n"),
            Err(Error::new(ErrorKind::NotThisProtocol, 0))
        );
        assert_eq!(
            frame_len(&[0x16, 0x03, 0x01, 0x00, 0x10, 0x01, 0x00, 0x00]),
            Err(Error::new(ErrorKind::NotThisProtocol, 4))
        );
        assert_eq!(
            frame_len(&[0x80, 0x00]),
            Err(Error::new(ErrorKind::NotThisProtocol, 0))
        );
        assert_eq!(
            detect_framing(&[0x16, 0x03, 0x01, 0x00, 0x10, 0x01, 0x00, 0x00, 0, 0, 0, 0]),
            Err(Error::new(ErrorKind::NotThisProtocol, 0))
        );
    }

    #[test]
    fn parses_rfc4571_stream() {
        // ndpi stun.pcap frame 3: ICE-TCP Binding request behind a 2-byte length.
        assert_eq!(detect_framing(RFC4571), Ok(Some(StreamFraming::Rfc4571)));
        assert_eq!(detect_framing(&RFC4571[..10]), Ok(None));
        let (packet, consumed) = rfc4571_frame(RFC4571).unwrap().unwrap();
        assert_eq!(consumed, RFC4571.len());
        let m = StunMessage::new_checked(packet).unwrap();
        assert_eq!(m.len(), packet.len());
        assert_eq!(rfc4571_frame(&RFC4571[..50]), Ok(None));
        assert_eq!(rfc4571_frame(&[0]), Ok(None));
        assert_eq!(rfc4571_frame(&[0, 0]), Err(Error::bad_length(0)));
    }

    #[test]
    fn parses_turn_facts() {
        let alloc = StunMessage::new_checked(ALLOCATE_SUCCESS).unwrap();
        let f = TurnFacts::of(&alloc);
        assert!(f.is_turn());
        assert_eq!(f.class, Class::SuccessResponse);
        assert_eq!(f.relayed, Some(sock("10.2.0.86:44908")));
        assert_eq!(f.mapped, Some(sock("93.47.225.225:23616")));
        assert!(f.lifetime.is_some());

        let send = StunMessage::new_checked(SEND_INDICATION).unwrap();
        let f = TurnFacts::of(&send);
        assert_eq!(f.method, Method::Send);
        assert_eq!(f.peer_count, 1);
        assert_eq!(f.peers().collect::<Vec<_>>(), [sock("185.170.139.1:44459")]);
        assert!(f.data.is_some_and(|d| !d.is_empty()));

        let bind = StunMessage::new_checked(CHANNELBIND).unwrap();
        let f = TurnFacts::of(&bind);
        assert_eq!(f.channel, Some(0x4003));
        assert_eq!(f.peers().next(), Some(sock("185.170.139.1:12176")));

        let req = StunMessage::new_checked(ALLOCATE_FACEBOOK).unwrap();
        assert_eq!(TurnFacts::of(&req).requested_transport, Some(17));

        let err = StunMessage::new_checked(ALLOCATE_ERROR_TCP).unwrap();
        assert_eq!(TurnFacts::of(&err).error_code, Some(401));

        let binding = StunMessage::new_checked(BINDING_RESPONSE).unwrap();
        let f = TurnFacts::of(&binding);
        assert!(!f.is_turn());
        assert_eq!(f.mapped, Some(sock("93.47.225.225:23616")));
    }

    fn exercise(buf: &[u8]) {
        let _ = probe(buf);
        if let Ok(cd) = ChannelData::new_checked(buf) {
            let _ = (cd.channel_number(), cd.is_rfc8656_range(), cd.data_length());
            let _ = (
                cd.data(),
                cd.len(),
                cd.trailing_len(),
                cd.is_udp_padding_ok(),
            );
        }
        let _ = (frame_len(buf), detect_framing(buf), rfc4571_frame(buf));
        let mut rest = buf;
        while let Ok(Some(frame)) = next_frame(rest) {
            assert!(frame.consumed > 0);
            rest = rest.get(frame.consumed..).unwrap_or_default();
        }
        if let Ok(m) = StunMessage::new_checked(buf) {
            let f = TurnFacts::of(&m);
            let _ = (f.peers().count(), f.is_turn());
        }
    }

    #[test]
    fn parses_every_mutation_without_panic() {
        let mut stream = TCP_TWO.to_vec();
        stream.extend_from_slice(&CHANNELDATA_LEGACY_PADDED);
        let vectors: [&[u8]; 12] = [
            CHANNELDATA_STUN,
            CHANNELDATA_SHORT,
            TCP_TWO,
            RFC4571,
            ALLOCATE_SUCCESS,
            SEND_INDICATION,
            CHANNELBIND,
            ALLOCATE_FACEBOOK,
            ALLOCATE_ERROR_TCP,
            BINDING_RESPONSE,
            &CHANNELDATA_LEGACY_PADDED,
            &stream,
        ];
        for v in vectors {
            for n in 0..=v.len() {
                exercise(&v[..n]);
            }
            let mut b = v.to_vec();
            for i in 0..b.len() {
                let orig = b[i];
                for x in [orig ^ 0xff, 0x00, 0xff] {
                    b[i] = x;
                    exercise(&b);
                }
                b[i] = orig;
            }
        }
    }
}

//! STUN messages: RFC 8489 (and RFC 5389), classic STUN (RFC 3489), the ICE
//! attributes of RFC 8445, the TURN attributes of RFC 8656 and RFC 6062, the
//! NAT-behaviour attributes of RFC 5780 and ACCESS-TOKEN of RFC 7635.
//!
//! Implemented:
//! - the 20-byte header and message type encoding (RFC 8489 sections 5 and 6),
//!   classic STUN detection (RFC 3489 section 11.1: no magic cookie, 16-byte
//!   transaction id);
//! - the attribute walk with 4-byte padding (RFC 8489 section 14), bounded to
//!   [`MAX_ATTRIBUTES`];
//! - typed decoding of the address attributes (sections 14.1 and 14.2, with the
//!   XOR of the magic cookie and, for IPv6, of the transaction id), text
//!   attributes, ERROR-CODE (section 14.8), FINGERPRINT verification (section
//!   14.7), the ICE attributes (RFC 8445 section 16.1), the TURN attributes
//!   (RFC 8656 section 18, RFC 6062 section 6.2), CHANGE-REQUEST (RFC 5780
//!   section 7.2) and ORIGIN (IANA STUN attribute registry, 0x802F);
//! - vendor hints from proprietary attributes, REALM and SOFTWARE values
//!   ([`vendor_hint`]) and the Discord IP discovery packet
//!   ([`discord_ip_discovery`]), which shares STUN's first byte but is not STUN.
//!
//! Not supported: MESSAGE-INTEGRITY / MESSAGE-INTEGRITY-SHA256 verification
//! (it needs the credentials; only presence and length are exposed, never the
//! value), USERHASH, PASSWORD-ALGORITHM(S), UNKNOWN-ATTRIBUTES and the other
//! attributes not listed in [`AttributeValue`] (they decode as
//! [`AttributeValue::Unknown`]); the ordering rules of RFC 8489 section 14.5
//! (attributes after MESSAGE-INTEGRITY are walked, not dropped); the classic
//! XOR-MAPPED-ADDRESS draft code point 0x8020 used by MS-TURN.
//! Key-bearing attributes (MESSAGE-INTEGRITY(-SHA256), classic PASSWORD,
//! ACCESS-TOKEN) expose their length only: [`Attribute::value`] is empty for
//! them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::{be, Error, ErrorKind, Probe, Result};

/// The magic cookie of RFC 5389 and later (RFC 8489 section 6).
pub const MAGIC_COOKIE: u32 = 0x2112_A442;

/// Length of the STUN header (RFC 8489 section 5).
pub const HEADER_LEN: usize = 20;

/// The most attributes [`Attributes`] walks before stopping with
/// [`ErrorKind::LimitExceeded`].
pub const MAX_ATTRIBUTES: usize = 64;

/// XOR constant of FINGERPRINT (RFC 8489 section 14.7): "STUN" in ASCII.
const FINGERPRINT_XOR: u32 = 0x5354_554e;

mod field {
    pub const TYPE: usize = 0;
    pub const LENGTH: usize = 2;
    pub const COOKIE: usize = 4;
    pub const TRANSACTION_ID: usize = 8;
    pub const CLASSIC_TRANSACTION_ID: usize = 4;
    pub const ATTRIBUTES: usize = 20;

    // Inside one attribute.
    pub const ATTR_TYPE: usize = 0;
    pub const ATTR_LENGTH: usize = 2;
    pub const ATTR_VALUE: usize = 4;

    // Inside an address attribute value (RFC 8489 section 14.1).
    pub const ADDR_FAMILY: usize = 1;
    pub const ADDR_PORT: usize = 2;
    pub const ADDR_IP: usize = 4;

    // Inside an ERROR-CODE value (RFC 8489 section 14.8).
    pub const ERR_CLASS: usize = 2;
    pub const ERR_NUMBER: usize = 3;
    pub const ERR_REASON: usize = 4;

    // Discord IP discovery packet.
    pub const DISCORD_SSRC: usize = 4;
    pub const DISCORD_ADDRESS: usize = 8;
    pub const DISCORD_ADDRESS_LEN: usize = 64;
    pub const DISCORD_PORT: usize = 72;
    pub const DISCORD_LEN: usize = 74;
}

/// Classic STUN message types of RFC 3489 section 11.1.
const CLASSIC_TYPES: [u16; 6] = [0x0001, 0x0101, 0x0111, 0x0002, 0x0102, 0x0112];

/// Cheap check whether `buf` starts with a STUN message.
///
/// Modern STUN (magic cookie present) matches when the declared length fits
/// in `buf` (a stream may hold more messages after it) and is a multiple of 4;
/// a length that is not a multiple of 4 (seen from WhatsApp and MS-TURN
/// clients) only matches when it covers the buffer exactly. Classic STUN has
/// no cookie, so it only matches a RFC 3489 message type whose length is a
/// multiple of 4 and covers the buffer exactly (one datagram).
pub fn probe(buf: &[u8]) -> Probe {
    let Some(&first) = buf.first() else {
        return Probe::NeedMore;
    };
    if first & 0xc0 != 0 {
        return Probe::NoMatch;
    }
    let (Ok(typ), Ok(len)) = (be::u16_at(buf, field::TYPE), be::u16_at(buf, field::LENGTH)) else {
        return Probe::NeedMore;
    };
    let Ok(cookie) = be::u32_at(buf, field::COOKIE) else {
        return Probe::NeedMore;
    };
    let total = HEADER_LEN + usize::from(len);
    if cookie == MAGIC_COOKIE {
        if len % 4 == 0 {
            if buf.len() >= total {
                Probe::Match
            } else {
                Probe::NeedMore
            }
        } else if buf.len() == total {
            Probe::Match
        } else {
            Probe::NoMatch
        }
    } else if !CLASSIC_TYPES.contains(&typ) || len % 4 != 0 {
        Probe::NoMatch
    } else if buf.len() < HEADER_LEN {
        Probe::NeedMore
    } else if buf.len() == total {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

open_enum! {
    /// A STUN method (RFC 8489 section 18.2, RFC 8656 section 17, RFC 6062
    /// section 6.1, RFC 3489 section 11.1).
    pub enum Method: u16 {
        /// RFC 8489.
        Binding = 0x001,
        /// Classic STUN only (RFC 3489); reserved since RFC 5389.
        SharedSecret = 0x002,
        /// RFC 8656.
        Allocate = 0x003,
        /// RFC 8656.
        Refresh = 0x004,
        /// RFC 8656.
        Send = 0x006,
        /// RFC 8656.
        Data = 0x007,
        /// RFC 8656.
        CreatePermission = 0x008,
        /// RFC 8656.
        ChannelBind = 0x009,
        /// RFC 6062.
        Connect = 0x00A,
        /// RFC 6062.
        ConnectionBind = 0x00B,
        /// RFC 6062.
        ConnectionAttempt = 0x00C,
        /// GOOG-PING (IANA STUN methods registry, registered by Google).
        GoogPing = 0x080,
    } else {
        /// Any other 12-bit method.
        Unknown
    }
}

/// The class of a STUN message (RFC 8489 section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// A request: expects a response.
    Request,
    /// An indication: no response.
    Indication,
    /// A success response.
    SuccessResponse,
    /// An error response (with ERROR-CODE).
    ErrorResponse,
}

/// Method and class, decoded from the 14-bit message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType {
    /// The 12-bit method.
    pub method: Method,
    /// The 2-bit class.
    pub class: Class,
}

impl MessageType {
    /// Splits the interleaved method and class bits (RFC 8489 section 5):
    ///
    /// ```text
    ///  0                 1
    ///  2  3  4 5 6 7 8 9 0 1 2 3 4 5
    /// +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
    /// |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
    /// +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
    /// ```
    pub const fn from_raw(raw: u16) -> MessageType {
        let method = (raw & 0x000f) | ((raw & 0x00e0) >> 1) | ((raw & 0x3e00) >> 2);
        let class = match ((raw >> 4) & 1) | ((raw >> 7) & 2) {
            0 => Class::Request,
            1 => Class::Indication,
            2 => Class::SuccessResponse,
            _ => Class::ErrorResponse,
        };
        MessageType {
            method: Method::from_raw(method),
            class,
        }
    }
}

open_enum! {
    /// A STUN attribute type (IANA "STUN Attributes" registry).
    ///
    /// Types below 0x8000 are comprehension-required, the others
    /// comprehension-optional (RFC 8489 section 18.3).
    pub enum AttributeType: u16 {
        /// MAPPED-ADDRESS (RFC 8489).
        MappedAddress = 0x0001,
        /// RESPONSE-ADDRESS (RFC 3489).
        ResponseAddress = 0x0002,
        /// CHANGE-REQUEST (RFC 5780).
        ChangeRequest = 0x0003,
        /// SOURCE-ADDRESS (RFC 3489).
        SourceAddress = 0x0004,
        /// CHANGED-ADDRESS (RFC 3489).
        ChangedAddress = 0x0005,
        /// USERNAME (RFC 8489).
        Username = 0x0006,
        /// PASSWORD (RFC 3489).
        Password = 0x0007,
        /// MESSAGE-INTEGRITY (RFC 8489).
        MessageIntegrity = 0x0008,
        /// ERROR-CODE (RFC 8489).
        ErrorCode = 0x0009,
        /// UNKNOWN-ATTRIBUTES (RFC 8489).
        UnknownAttributes = 0x000A,
        /// REFLECTED-FROM (RFC 3489).
        ReflectedFrom = 0x000B,
        /// CHANNEL-NUMBER (RFC 8656).
        ChannelNumber = 0x000C,
        /// LIFETIME (RFC 8656).
        Lifetime = 0x000D,
        /// XOR-PEER-ADDRESS (RFC 8656).
        XorPeerAddress = 0x0012,
        /// DATA (RFC 8656).
        Data = 0x0013,
        /// REALM (RFC 8489).
        Realm = 0x0014,
        /// NONCE (RFC 8489).
        Nonce = 0x0015,
        /// XOR-RELAYED-ADDRESS (RFC 8656).
        XorRelayedAddress = 0x0016,
        /// REQUESTED-ADDRESS-FAMILY (RFC 8656).
        RequestedAddressFamily = 0x0017,
        /// EVEN-PORT (RFC 8656).
        EvenPort = 0x0018,
        /// REQUESTED-TRANSPORT (RFC 8656).
        RequestedTransport = 0x0019,
        /// DONT-FRAGMENT (RFC 8656).
        DontFragment = 0x001A,
        /// ACCESS-TOKEN (RFC 7635).
        AccessToken = 0x001B,
        /// MESSAGE-INTEGRITY-SHA256 (RFC 8489).
        MessageIntegritySha256 = 0x001C,
        /// PASSWORD-ALGORITHM (RFC 8489).
        PasswordAlgorithm = 0x001D,
        /// USERHASH (RFC 8489).
        Userhash = 0x001E,
        /// XOR-MAPPED-ADDRESS (RFC 8489).
        XorMappedAddress = 0x0020,
        /// RESERVATION-TOKEN (RFC 8656).
        ReservationToken = 0x0022,
        /// PRIORITY (RFC 8445).
        Priority = 0x0024,
        /// USE-CANDIDATE (RFC 8445).
        UseCandidate = 0x0025,
        /// PADDING (RFC 5780).
        Padding = 0x0026,
        /// RESPONSE-PORT (RFC 5780).
        ResponsePort = 0x0027,
        /// CONNECTION-ID (RFC 6062).
        ConnectionId = 0x002A,
        /// ADDITIONAL-ADDRESS-FAMILY (RFC 8656).
        AdditionalAddressFamily = 0x8000,
        /// ADDRESS-ERROR-CODE (RFC 8656).
        AddressErrorCode = 0x8001,
        /// PASSWORD-ALGORITHMS (RFC 8489).
        PasswordAlgorithms = 0x8002,
        /// ALTERNATE-DOMAIN (RFC 8489).
        AlternateDomain = 0x8003,
        /// ICMP (RFC 8656).
        Icmp = 0x8004,
        /// SOFTWARE (RFC 8489).
        Software = 0x8022,
        /// ALTERNATE-SERVER (RFC 8489).
        AlternateServer = 0x8023,
        /// TRANSACTION_TRANSMIT_COUNTER (RFC 7982).
        TransactionTransmitCounter = 0x8025,
        /// CACHE-TIMEOUT (RFC 5780).
        CacheTimeout = 0x8027,
        /// FINGERPRINT (RFC 8489).
        Fingerprint = 0x8028,
        /// ICE-CONTROLLED (RFC 8445).
        IceControlled = 0x8029,
        /// ICE-CONTROLLING (RFC 8445).
        IceControlling = 0x802A,
        /// RESPONSE-ORIGIN (RFC 5780).
        ResponseOrigin = 0x802B,
        /// OTHER-ADDRESS (RFC 5780).
        OtherAddress = 0x802C,
        /// ORIGIN (IANA registry).
        Origin = 0x802F,
    } else {
        /// Any other code point, including the vendor ones.
        Unknown
    }
}

impl AttributeType {
    /// True for 0x0000-0x7FFF: an agent that does not know the type must
    /// reject the message (RFC 8489 section 14).
    pub const fn is_comprehension_required(self) -> bool {
        self.raw() < 0x8000
    }

    /// True when the value carries key material and is never exposed.
    pub const fn is_secret(self) -> bool {
        matches!(
            self,
            AttributeType::MessageIntegrity
                | AttributeType::MessageIntegritySha256
                | AttributeType::Password
                | AttributeType::AccessToken
        )
    }
}

open_enum! {
    /// The address family byte of address attributes and of
    /// REQUESTED-ADDRESS-FAMILY (RFC 8489 section 14.1, RFC 8656 section 18.1).
    pub enum AddressFamily: u8 {
        /// IPv4.
        Ipv4 = 0x01,
        /// IPv6.
        Ipv6 = 0x02,
    } else {
        /// Any other family byte.
        Unknown
    }
}

/// A text attribute value (USERNAME, REALM, SOFTWARE, reason phrases, ORIGIN).
///
/// RFC 8489 requires UTF-8, but peers send what they like: the bytes are kept
/// and [`Text::as_str`] only succeeds on valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Text<'a>(&'a [u8]);

impl<'a> Text<'a> {
    /// The raw bytes.
    pub const fn as_bytes(self) -> &'a [u8] {
        self.0
    }

    /// The text, if it is valid UTF-8.
    pub fn as_str(self) -> Option<&'a str> {
        core::str::from_utf8(self.0).ok()
    }
}

/// The typed value of one attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeValue<'a> {
    /// MAPPED-ADDRESS: the reflexive address, in clear.
    MappedAddress(SocketAddr),
    /// XOR-MAPPED-ADDRESS: the reflexive address, de-XORed.
    XorMappedAddress(SocketAddr),
    /// XOR-PEER-ADDRESS: a TURN peer, de-XORed.
    XorPeerAddress(SocketAddr),
    /// XOR-RELAYED-ADDRESS: the TURN relay address, de-XORed.
    XorRelayedAddress(SocketAddr),
    /// ALTERNATE-SERVER: where the client is redirected.
    AlternateServer(SocketAddr),
    /// RESPONSE-ORIGIN (RFC 5780): the address the response was sent from.
    ResponseOrigin(SocketAddr),
    /// OTHER-ADDRESS (RFC 5780): the server's alternate address.
    OtherAddress(SocketAddr),
    /// RESPONSE-ADDRESS, classic STUN.
    ResponseAddress(SocketAddr),
    /// SOURCE-ADDRESS, classic STUN.
    SourceAddress(SocketAddr),
    /// CHANGED-ADDRESS, classic STUN.
    ChangedAddress(SocketAddr),
    /// REFLECTED-FROM, classic STUN.
    ReflectedFrom(SocketAddr),
    /// CHANGE-REQUEST, RFC 5780 section 7.2.
    ChangeRequest {
        /// Flag A: answer from the other IP address.
        change_ip: bool,
        /// Flag B: answer from the other port.
        change_port: bool,
    },
    /// USERNAME (for ICE, "remote-ufrag:local-ufrag").
    Username(Text<'a>),
    /// REALM: often names the TURN service.
    Realm(Text<'a>),
    /// NONCE is present; its bytes are of no use to the analysis.
    Nonce {
        /// Value length.
        len: usize,
    },
    /// SOFTWARE: the implementation's self-description.
    Software(Text<'a>),
    /// ERROR-CODE.
    ErrorCode {
        /// Class * 100 + number (300..=699).
        code: u16,
        /// The reason phrase.
        reason: Text<'a>,
    },
    /// PRIORITY, RFC 8445 section 16.1.
    Priority(u32),
    /// USE-CANDIDATE, RFC 8445 section 16.1.
    UseCandidate,
    /// ICE-CONTROLLED tie-breaker, RFC 8445 section 16.1.
    IceControlled(u64),
    /// ICE-CONTROLLING tie-breaker, RFC 8445 section 16.1.
    IceControlling(u64),
    /// MESSAGE-INTEGRITY (HMAC-SHA1) is present; the value is never exposed.
    MessageIntegrity {
        /// Value length (20 when well-formed).
        len: usize,
    },
    /// MESSAGE-INTEGRITY-SHA256 is present; the value is never exposed.
    MessageIntegritySha256 {
        /// Value length (16 to 32).
        len: usize,
    },
    /// FINGERPRINT.
    Fingerprint {
        /// The CRC-32 carried.
        value: u32,
        /// True when the CRC-32 of the message before this attribute (header
        /// length as sent), XOR 0x5354554e, equals `value`.
        valid: bool,
    },
    /// LIFETIME in seconds.
    Lifetime(u32),
    /// CHANNEL-NUMBER.
    ChannelNumber(u16),
    /// DATA: the application data of a Send or Data indication.
    Data(&'a [u8]),
    /// REQUESTED-TRANSPORT: IP protocol number (17 = UDP, 6 = TCP).
    RequestedTransport(u8),
    /// EVEN-PORT.
    EvenPort {
        /// The R bit: reserve the next port too.
        reserve: bool,
    },
    /// RESERVATION-TOKEN.
    ReservationToken(u64),
    /// DONT-FRAGMENT.
    DontFragment,
    /// REQUESTED-ADDRESS-FAMILY.
    RequestedAddressFamily(AddressFamily),
    /// ADDITIONAL-ADDRESS-FAMILY.
    AdditionalAddressFamily(AddressFamily),
    /// CONNECTION-ID, RFC 6062 section 6.2.1.
    ConnectionId(u32),
    /// Classic PASSWORD is present; the value is never exposed.
    Password {
        /// Value length.
        len: usize,
    },
    /// ACCESS-TOKEN (RFC 7635) is present; the value is never exposed.
    AccessToken {
        /// Value length.
        len: usize,
    },
    /// ORIGIN (IANA 0x802F): the web origin of the calling page.
    Origin(Text<'a>),
    /// Any attribute not decoded above, with its raw value (empty for
    /// key-bearing types).
    Unknown(&'a [u8]),
}

/// One attribute of a [`StunMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    typ: AttributeType,
    value: &'a [u8],
    offset: usize,
    msg: &'a [u8],
}

impl<'a> Attribute<'a> {
    /// The attribute type.
    pub const fn typ(&self) -> AttributeType {
        self.typ
    }

    /// The value without padding; empty for key-bearing attributes
    /// ([`AttributeType::is_secret`]).
    pub fn value(&self) -> &'a [u8] {
        if self.typ.is_secret() {
            &[]
        } else {
            self.value
        }
    }

    /// The declared value length.
    pub const fn value_len(&self) -> usize {
        self.value.len()
    }

    /// Offset of the attribute header inside the message.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The value as text, if valid UTF-8 (for USERNAME, REALM, SOFTWARE...).
    pub fn as_str(&self) -> Option<&'a str> {
        if self.typ.is_secret() {
            None
        } else {
            core::str::from_utf8(self.value).ok()
        }
    }

    fn value_offset(&self) -> usize {
        self.offset.saturating_add(field::ATTR_VALUE)
    }

    fn fixed<const N: usize>(&self) -> Result<[u8; N]> {
        <[u8; N]>::try_from(self.value).map_err(|_| Error::bad_length(self.offset))
    }

    fn u32(&self) -> Result<u32> {
        self.fixed::<4>().map(u32::from_be_bytes)
    }

    fn u64(&self) -> Result<u64> {
        self.fixed::<8>().map(u64::from_be_bytes)
    }

    /// Decodes the value by type. An error carries the offset, inside the
    /// message, of the attribute or of the field that is wrong.
    pub fn parsed(&self) -> Result<AttributeValue<'a>> {
        use AttributeType as T;
        use AttributeValue as V;
        Ok(match self.typ {
            T::MappedAddress => V::MappedAddress(self.address(false)?),
            T::XorMappedAddress => V::XorMappedAddress(self.address(true)?),
            T::XorPeerAddress => V::XorPeerAddress(self.address(true)?),
            T::XorRelayedAddress => V::XorRelayedAddress(self.address(true)?),
            T::AlternateServer => V::AlternateServer(self.address(false)?),
            T::ResponseOrigin => V::ResponseOrigin(self.address(false)?),
            T::OtherAddress => V::OtherAddress(self.address(false)?),
            T::ResponseAddress => V::ResponseAddress(self.address(false)?),
            T::SourceAddress => V::SourceAddress(self.address(false)?),
            T::ChangedAddress => V::ChangedAddress(self.address(false)?),
            T::ReflectedFrom => V::ReflectedFrom(self.address(false)?),
            T::ChangeRequest => {
                let flags = self.u32()?;
                V::ChangeRequest {
                    change_ip: flags & 0x4 != 0,
                    change_port: flags & 0x2 != 0,
                }
            }
            T::Username => V::Username(Text(self.value)),
            T::Realm => V::Realm(Text(self.value)),
            T::Nonce => V::Nonce {
                len: self.value.len(),
            },
            T::Software => V::Software(Text(self.value)),
            T::ErrorCode => self.error_code()?,
            T::Priority => V::Priority(self.u32()?),
            T::UseCandidate => V::UseCandidate,
            T::IceControlled => V::IceControlled(self.u64()?),
            T::IceControlling => V::IceControlling(self.u64()?),
            T::MessageIntegrity => V::MessageIntegrity {
                len: self.value.len(),
            },
            T::MessageIntegritySha256 => V::MessageIntegritySha256 {
                len: self.value.len(),
            },
            T::Fingerprint => {
                let value = self.u32()?;
                let covered = self.msg.get(..self.offset).unwrap_or_default();
                let valid = crc32fast::hash(covered) ^ FINGERPRINT_XOR == value;
                V::Fingerprint { value, valid }
            }
            T::Lifetime => V::Lifetime(self.u32()?),
            T::ChannelNumber => {
                // RFC 8656 section 18.1: number, then 16 RFFU bits.
                let [hi, lo, _, _] = self.fixed::<4>()?;
                V::ChannelNumber(u16::from_be_bytes([hi, lo]))
            }
            T::Data => V::Data(self.value),
            T::RequestedTransport => {
                let [protocol, ..] = self.fixed::<4>()?;
                V::RequestedTransport(protocol)
            }
            T::EvenPort => {
                let [flags] = self.fixed::<1>()?;
                V::EvenPort {
                    reserve: flags & 0x80 != 0,
                }
            }
            T::ReservationToken => V::ReservationToken(self.u64()?),
            T::DontFragment => V::DontFragment,
            T::RequestedAddressFamily => {
                let [family, ..] = self.fixed::<4>()?;
                V::RequestedAddressFamily(AddressFamily::from_raw(family))
            }
            T::AdditionalAddressFamily => {
                let [family, ..] = self.fixed::<4>()?;
                V::AdditionalAddressFamily(AddressFamily::from_raw(family))
            }
            T::ConnectionId => V::ConnectionId(self.u32()?),
            T::Password => V::Password {
                len: self.value.len(),
            },
            T::AccessToken => V::AccessToken {
                len: self.value.len(),
            },
            T::Origin => V::Origin(Text(self.value)),
            _ => V::Unknown(self.value()),
        })
    }

    /// Address attributes, RFC 8489 sections 14.1 and 14.2:
    ///
    /// ```text
    ///  0                   1                   2                   3
    ///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |0 0 0 0 0 0 0 0|    Family     |         (X-)Port              |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |           (X-)Address (32 bits or 128 bits)                   |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// ```
    ///
    /// X-Port is the port XOR the top 16 bits of the magic cookie; an X-Address
    /// is XORed with the cookie (IPv4) or the cookie followed by the
    /// transaction id (IPv6).
    fn address(&self, xor: bool) -> Result<SocketAddr> {
        let v = self.value;
        let base = self.value_offset();
        let at = |off: usize| base.saturating_add(off);
        let family = be::u8_at(v, field::ADDR_FAMILY).map_err(|_| Error::truncated(base))?;
        let port = be::u16_at(v, field::ADDR_PORT).map_err(|_| Error::truncated(base))?;
        // Header bytes 4..20: cookie and transaction id, the XOR pad.
        let mut pad = [0u8; 16];
        if xor {
            let hdr = be::slice(self.msg, field::COOKIE, 16)?;
            pad.copy_from_slice(hdr);
        }
        let [p0, p1, ..] = pad;
        let port = port ^ u16::from_be_bytes([p0, p1]);
        let ip = match AddressFamily::from_raw(family) {
            AddressFamily::Ipv4 => {
                let raw: [u8; 4] = v
                    .get(field::ADDR_IP..)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(Error::bad_length(self.offset))?;
                let mut ip = [0u8; 4];
                for ((o, r), p) in ip.iter_mut().zip(raw).zip(pad) {
                    *o = r ^ p;
                }
                IpAddr::V4(Ipv4Addr::from(ip))
            }
            AddressFamily::Ipv6 => {
                let raw: [u8; 16] = v
                    .get(field::ADDR_IP..)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(Error::bad_length(self.offset))?;
                let mut ip = [0u8; 16];
                for ((o, r), p) in ip.iter_mut().zip(raw).zip(pad) {
                    *o = r ^ p;
                }
                IpAddr::V6(Ipv6Addr::from(ip))
            }
            AddressFamily::Unknown(_) => return Err(Error::malformed(at(field::ADDR_FAMILY))),
        };
        Ok(SocketAddr::new(ip, port))
    }

    /// ERROR-CODE, RFC 8489 section 14.8:
    ///
    /// ```text
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |           Reserved, should be 0         |Class|     Number    |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |      Reason Phrase (variable)                                ..
    /// ```
    ///
    /// Class 3..=6 and number 0..=99 are required.
    fn error_code(&self) -> Result<AttributeValue<'a>> {
        let base = self.value_offset();
        let class =
            be::u8_at(self.value, field::ERR_CLASS).map_err(|_| Error::truncated(base))? & 0x07;
        let number =
            be::u8_at(self.value, field::ERR_NUMBER).map_err(|_| Error::truncated(base))?;
        if !(3..=6).contains(&class) || number > 99 {
            return Err(Error::malformed(base.saturating_add(field::ERR_CLASS)));
        }
        let reason = self.value.get(field::ERR_REASON..).unwrap_or_default();
        Ok(AttributeValue::ErrorCode {
            code: u16::from(class) * 100 + u16::from(number),
            reason: Text(reason),
        })
    }
}

/// A STUN message view (RFC 8489 section 5, RFC 3489 section 11.1).
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |0 0|     STUN Message Type     |         Message Length        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                         Magic Cookie                          |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// |                     Transaction ID (96 bits)                  |
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Classic STUN has no cookie: the 128 bits after the length are the
/// transaction id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StunMessage<'a> {
    /// Exactly the message: header and declared length.
    msg: &'a [u8],
    /// Bytes of the input after the message.
    trailing: usize,
    transaction_id: &'a [u8; 12],
    classic_transaction_id: &'a [u8; 16],
}

impl<'a> StunMessage<'a> {
    /// Validates the header and the declared length against `buf`.
    ///
    /// `buf` may be longer than the message (a TCP stream, or a datagram with
    /// junk after the message): see [`StunMessage::trailing_len`]. The
    /// attributes are checked lazily by [`StunMessage::attributes`].
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let typ = be::u16_at(buf, field::TYPE)?;
        if typ & 0xc000 != 0 {
            return Err(Error::new(ErrorKind::NotThisProtocol, field::TYPE));
        }
        let declared = be::u16_at(buf, field::LENGTH)?;
        let header = be::slice(buf, 0, HEADER_LEN)?;
        let len = HEADER_LEN + usize::from(declared);
        let msg = buf.get(..len).ok_or(Error::truncated(buf.len()))?;
        let transaction_id = header
            .get(field::TRANSACTION_ID..)
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::truncated(field::TRANSACTION_ID))?;
        let classic_transaction_id = header
            .get(field::CLASSIC_TRANSACTION_ID..)
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::truncated(field::CLASSIC_TRANSACTION_ID))?;
        Ok(StunMessage {
            msg,
            trailing: buf.len().saturating_sub(len),
            transaction_id,
            classic_transaction_id,
        })
    }

    /// The bytes of the message (header and declared length).
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.msg
    }

    /// The raw 14-bit message type.
    pub fn raw_type(&self) -> u16 {
        be::u16_at(self.msg, field::TYPE).unwrap_or_default()
    }

    /// Method and class.
    pub fn message_type(&self) -> MessageType {
        MessageType::from_raw(self.raw_type())
    }

    /// The Message Length field: bytes after the header.
    pub fn declared_length(&self) -> u16 {
        be::u16_at(self.msg, field::LENGTH).unwrap_or_default()
    }

    /// 20 + the declared length: the bytes this message takes.
    #[allow(clippy::len_without_is_empty)]
    pub const fn len(&self) -> usize {
        self.msg.len()
    }

    /// Bytes of the input after the message. Over TCP the next message; over
    /// UDP a mismatch worth a warning.
    pub const fn trailing_len(&self) -> usize {
        self.trailing
    }

    /// False when the declared length is not a multiple of 4, which RFC 8489
    /// forbids (seen from WhatsApp and MS-TURN clients): worth a warning.
    pub fn is_length_aligned(&self) -> bool {
        self.declared_length() % 4 == 0
    }

    /// The magic cookie field (the first transaction id bytes in classic STUN).
    pub fn cookie(&self) -> u32 {
        be::u32_at(self.msg, field::COOKIE).unwrap_or_default()
    }

    /// True for classic STUN (RFC 3489): no magic cookie.
    pub fn is_classic(&self) -> bool {
        self.cookie() != MAGIC_COOKIE
    }

    /// The 96-bit transaction id (RFC 8489).
    pub const fn transaction_id(&self) -> &'a [u8; 12] {
        self.transaction_id
    }

    /// The 128-bit transaction id of classic STUN (cookie field included).
    pub const fn classic_transaction_id(&self) -> &'a [u8; 16] {
        self.classic_transaction_id
    }

    /// The attributes, in order.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            msg: self.msg,
            offset: field::ATTRIBUTES,
            count: 0,
            error: None,
        }
    }

    /// Walks every attribute: `Some(err)` when the walk stops on malformed
    /// input or at the limit, for the engine's warning counter.
    pub fn attributes_error(&self) -> Option<Error> {
        let mut it = self.attributes();
        it.by_ref().for_each(drop);
        it.error()
    }

    /// The first attribute of this type.
    pub fn attribute(&self, typ: AttributeType) -> Option<Attribute<'a>> {
        self.attributes().find(|a| a.typ == typ)
    }

    /// True when the attribute type appears.
    pub fn has_attribute(&self, typ: AttributeType) -> bool {
        self.attribute(typ).is_some()
    }

    /// True when MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256 is present.
    pub fn has_message_integrity(&self) -> bool {
        self.attributes().any(|a| {
            matches!(
                a.typ,
                AttributeType::MessageIntegrity | AttributeType::MessageIntegritySha256
            )
        })
    }

    /// `Some(valid)` when FINGERPRINT is present and well-formed.
    pub fn fingerprint_valid(&self) -> Option<bool> {
        match self.attribute(AttributeType::Fingerprint)?.parsed() {
            Ok(AttributeValue::Fingerprint { valid, .. }) => Some(valid),
            _ => None,
        }
    }

    /// USERNAME bytes.
    pub fn username(&self) -> Option<&'a [u8]> {
        self.attribute(AttributeType::Username).map(|a| a.value)
    }

    /// REALM bytes.
    pub fn realm(&self) -> Option<&'a [u8]> {
        self.attribute(AttributeType::Realm).map(|a| a.value)
    }

    /// SOFTWARE, if valid UTF-8.
    pub fn software(&self) -> Option<&'a str> {
        self.attribute(AttributeType::Software)?.as_str()
    }

    /// The first decodable XOR-MAPPED-ADDRESS.
    pub fn xor_mapped_address(&self) -> Option<SocketAddr> {
        self.attributes().find_map(|a| match a.parsed() {
            Ok(AttributeValue::XorMappedAddress(addr)) => Some(addr),
            _ => None,
        })
    }

    /// The first decodable MAPPED-ADDRESS.
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        self.attributes().find_map(|a| match a.parsed() {
            Ok(AttributeValue::MappedAddress(addr)) => Some(addr),
            _ => None,
        })
    }

    /// The ERROR-CODE number (e.g. 401), if present and well-formed.
    pub fn error_code(&self) -> Option<u16> {
        self.attributes().find_map(|a| match a.parsed() {
            Ok(AttributeValue::ErrorCode { code, .. }) => Some(code),
            _ => None,
        })
    }

    /// Every address attribute that decodes, with its type: what the
    /// engine compares with the flow endpoints (private address leaks,
    /// relays).
    pub fn addresses(&self) -> impl Iterator<Item = (AttributeType, SocketAddr)> + 'a {
        self.attributes().filter_map(|a| {
            use AttributeValue as V;
            match a.parsed().ok()? {
                V::MappedAddress(s)
                | V::XorMappedAddress(s)
                | V::XorPeerAddress(s)
                | V::XorRelayedAddress(s)
                | V::AlternateServer(s)
                | V::ResponseOrigin(s)
                | V::OtherAddress(s)
                | V::ResponseAddress(s)
                | V::SourceAddress(s)
                | V::ChangedAddress(s)
                | V::ReflectedFrom(s) => Some((a.typ, s)),
                _ => None,
            }
        })
    }
}

/// Iterator over the attributes of a [`StunMessage`].
///
/// Stops at the end of the message, at the first attribute whose length runs
/// past it, or after [`MAX_ATTRIBUTES`]; [`Attributes::error`] tells the last
/// two apart from a clean end.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    msg: &'a [u8],
    offset: usize,
    count: usize,
    error: Option<Error>,
}

impl<'a> Attributes<'a> {
    /// Why the walk stopped early, if it did.
    pub const fn error(&self) -> Option<Error> {
        self.error
    }

    fn fail(&mut self, err: Error) -> Option<Attribute<'a>> {
        self.error = Some(err);
        self.offset = self.msg.len();
        None
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    /// One attribute, RFC 8489 section 14:
    ///
    /// ```text
    ///  0                   1                   2                   3
    ///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |         Type                  |            Length             |
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// |                         Value (variable)                ....
    /// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    /// ```
    ///
    /// The value is padded to a multiple of 4 bytes; the padding of the last
    /// attribute may be missing when the message length is unaligned.
    fn next(&mut self) -> Option<Attribute<'a>> {
        let start = self.offset;
        if start >= self.msg.len() || self.error.is_some() {
            return None;
        }
        if self.count >= MAX_ATTRIBUTES {
            return self.fail(Error::new(ErrorKind::LimitExceeded, start));
        }
        let typ = match be::u16_at(self.msg, start.saturating_add(field::ATTR_TYPE)) {
            Ok(t) => t,
            Err(e) => return self.fail(e),
        };
        let len = match be::u16_at(self.msg, start.saturating_add(field::ATTR_LENGTH)) {
            Ok(l) => usize::from(l),
            Err(e) => return self.fail(e),
        };
        let value_at = start.saturating_add(field::ATTR_VALUE);
        let Ok(value) = be::slice(self.msg, value_at, len) else {
            return self.fail(Error::bad_length(start.saturating_add(field::ATTR_LENGTH)));
        };
        let padded = len.saturating_add(3) & !3;
        self.offset = value_at.saturating_add(padded).min(self.msg.len());
        self.count += 1;
        Some(Attribute {
            typ: AttributeType::from_raw(typ),
            value,
            offset: start,
            msg: self.msg,
        })
    }
}

/// The application or implementation a STUN message most likely comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StunVendor {
    /// Skype, Skype for Business, Lync, Teams: [MS-TURN] / [MS-ICE2] attributes.
    Microsoft,
    /// Google services: REALM or a private attribute of Google's TURN servers.
    Google,
    /// WhatsApp calls: its private attributes and message types.
    WhatsApp,
    /// Facebook / Messenger calls: REALM of Facebook's TURN servers.
    Facebook,
    /// Zoom: classic-STUN-style probes with private attributes.
    Zoom,
    /// Signal (RingRTC): REALM of Signal's TURN servers.
    Signal,
    /// Telegram calls: REALM of Telegram's TURN servers.
    Telegram,
    /// The coturn TURN server (SOFTWARE "Coturn-...").
    Coturn,
    /// libwebrtc (browsers, Meet, Signal, Telegram, Messenger, Discord...):
    /// GOOG-* attributes without a stronger application signal.
    LibWebRtc,
}

/// Vendor attribute code points used by [`vendor_hint`].
mod vendor {
    /// [MS-TURN] section 2.2.2: MAGIC-COOKIE, MS-VERSION,
    /// MS-ALTERNATE-MAPPED-ADDRESS, MS-SEQUENCE-NUMBER, MS-SERVICE-QUALITY,
    /// MULTIPLEXED-TURN-SESSION-ID; [MS-ICE2] section 2.2.2:
    /// CANDIDATE-IDENTIFIER, IMPLEMENTATION-VERSION.
    pub const MICROSOFT: [u16; 8] = [
        0x000F, 0x8008, 0x800B, 0x8050, 0x8055, 0x8095, 0x8054, 0x8070,
    ];
    /// WhatsApp attributes 0x4000-0x4004 and 0x4007, as documented in nDPI
    /// `src/lib/protocols/stun.c`; seen in ndpi wa_voice.pcap.
    pub const WHATSAPP: [u16; 6] = [0x4000, 0x4001, 0x4002, 0x4003, 0x4004, 0x4007];
    /// WhatsApp message types outside the IANA ranges (nDPI stun.c).
    pub const WHATSAPP_TYPES: [u16; 3] = [0x0800, 0x0801, 0x0802];
    /// Zoom attributes 0x0101 and 0x0103 (nDPI stun.c); seen in classic
    /// Binding requests to port 3478 in ndpi zoom.pcap and arkime stun.pcap.
    pub const ZOOM: [u16; 2] = [0x0101, 0x0103];
    /// GOOG-NETWORK-INFO 0xC057 up to GOOG-MESSAGE-INTEGRITY-32 0xC060 (IANA
    /// STUN attributes registry, registered by Google for libwebrtc).
    pub const fn is_libwebrtc(t: u16) -> bool {
        matches!(t, 0xC057..=0xC060)
    }
    /// Private attribute 0xFF05 (value "TY_null"), seen only in Allocate
    /// requests to Google's TURN service turn.l.google.com (ndpi stun.pcap
    /// frames 17 and 20).
    pub const GOOGLE_TURN: u16 = 0xFF05;
}

/// Which application or implementation sent `msg`, from proprietary
/// attributes, message types, REALM and SOFTWARE. `None` when nothing points
/// to one. A hint, not proof: the engine should weigh it with ports, SNI and
/// other flows.
///
/// The GOOG-NETWORK-INFO length rule nDPI uses for Messenger (Binding request
/// of length 100 or 104) is not applied: Google Meet sends the same lengths
/// (ndpi stun_google_meet.pcapng frame 5).
pub fn vendor_hint(msg: &StunMessage<'_>) -> Option<StunVendor> {
    if vendor::WHATSAPP_TYPES.contains(&msg.raw_type()) {
        return Some(StunVendor::WhatsApp);
    }
    let mut libwebrtc = false;
    let mut realm_hint = None;
    let mut software_hint = None;
    for a in msg.attributes() {
        let raw = a.typ.raw();
        if vendor::WHATSAPP.contains(&raw) {
            return Some(StunVendor::WhatsApp);
        }
        if vendor::ZOOM.contains(&raw) {
            return Some(StunVendor::Zoom);
        }
        if vendor::MICROSOFT.contains(&raw) {
            return Some(StunVendor::Microsoft);
        }
        if raw == vendor::GOOGLE_TURN {
            return Some(StunVendor::Google);
        }
        libwebrtc |= vendor::is_libwebrtc(raw);
        match a.typ {
            AttributeType::Realm => realm_hint = realm_hint.or(vendor_of_realm(a.value)),
            AttributeType::Software => {
                software_hint = software_hint.or(vendor_of_software(a.value))
            }
            _ => {}
        }
    }
    realm_hint
        .or(software_hint)
        .or(libwebrtc.then_some(StunVendor::LibWebRtc))
}

/// REALM suffixes of the big TURN services, as nDPI stun.c matches them and
/// as seen in the captures: "turner.facebook", "signal.org",
/// "telegram.org", "turn.l.google.com".
fn vendor_of_realm(realm: &[u8]) -> Option<StunVendor> {
    const RULES: [(&[u8], StunVendor); 5] = [
        (b"facebook", StunVendor::Facebook),
        (b"whispersystems.org", StunVendor::Signal),
        (b"signal.org", StunVendor::Signal),
        (b"telegram.org", StunVendor::Telegram),
        (b"google.com", StunVendor::Google),
    ];
    RULES
        .iter()
        .find(|(needle, _)| contains_ignore_case(realm, needle))
        .map(|&(_, v)| v)
}

/// SOFTWARE prefixes: coturn sends "Coturn-<version> '<name>'" (coturn
/// `ns_turn_defs.h`, seen in ndpi stun.pcap frame 145).
fn vendor_of_software(software: &[u8]) -> Option<StunVendor> {
    let head = software.get(..6)?;
    head.eq_ignore_ascii_case(b"coturn")
        .then_some(StunVendor::Coturn)
}

fn contains_ignore_case(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The Discord voice IP discovery packet: shares STUN's first byte, is not
/// STUN.
///
/// ```text
///  0                   1                   2                   3
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     Type (1 req, 2 resp)      |         Length (70)           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                             SSRC                              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   Address: NUL-padded ASCII, 64 bytes                        ...
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |             Port              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Source: Discord developer documentation, "Voice Connections", IP
/// Discovery; seen in ndpi discord.pcap (74-byte datagrams to port 50004).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscordIpDiscovery<'a> {
    /// True for the server's response (type 2), which carries the client's
    /// public address.
    pub is_response: bool,
    /// The RTP SSRC of the client.
    pub ssrc: u32,
    /// The address text without the NUL padding (empty in requests).
    pub address: &'a [u8],
    /// The port (0 in requests).
    pub port: u16,
}

/// Recognizes a Discord IP discovery datagram (exactly 74 bytes).
pub fn discord_ip_discovery(buf: &[u8]) -> Option<DiscordIpDiscovery<'_>> {
    if buf.len() != field::DISCORD_LEN {
        return None;
    }
    let is_response = match be::u16_at(buf, field::TYPE).ok()? {
        1 => false,
        2 => true,
        _ => return None,
    };
    if usize::from(be::u16_at(buf, field::LENGTH).ok()?) != field::DISCORD_LEN - 4 {
        return None;
    }
    let raw = be::slice(buf, field::DISCORD_ADDRESS, field::DISCORD_ADDRESS_LEN).ok()?;
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let (address, padding) = raw.split_at(end);
    if padding.iter().any(|&b| b != 0) || !address.iter().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    Some(DiscordIpDiscovery {
        is_response,
        ssrc: be::u32_at(buf, field::DISCORD_SSRC).ok()?,
        address,
        port: be::u16_at(buf, field::DISCORD_PORT).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../../fixtures/payloads/stun/", $name))
        };
    }

    const BINDING_RESPONSE: &[u8] = fixture!("binding_response_xor_mapped.bin");
    const ALLOCATE_SUCCESS: &[u8] = fixture!("allocate_success.bin");
    const BINDING_RESPONSE_V6: &[u8] = fixture!("binding_response_ipv6.bin");
    const SEND_INDICATION: &[u8] = fixture!("send_indication.bin");
    const DATA_INDICATION: &[u8] = fixture!("data_indication.bin");
    const CHANNELBIND: &[u8] = fixture!("channelbind_request.bin");
    const ALLOCATE_FACEBOOK: &[u8] = fixture!("allocate_request_facebook.bin");
    const ALLOCATE_ERROR_TCP: &[u8] = fixture!("allocate_error_coturn_tcp.bin");
    const TCP_TWO: &[u8] = fixture!("tcp_two_messages.bin");
    const ICE_REQUEST: &[u8] = fixture!("ice_binding_request.bin");
    const ICE_RESPONSE: &[u8] = fixture!("ice_binding_response.bin");
    const LENGTH_FFFF: &[u8] = fixture!("attribute_length_ffff.bin");
    const CLASSIC_ZOOM: &[u8] = fixture!("classic_binding_request.bin");
    const CLASSIC_CHANGE: &[u8] = fixture!("classic_change_request.bin");
    const MS_TURN: &[u8] = fixture!("ms_turn_allocate.bin");
    const TEAMS: &[u8] = fixture!("teams_binding_request.bin");
    const MEET: &[u8] = fixture!("meet_binding_request.bin");
    const SIGNAL: &[u8] = fixture!("signal_allocate_error.bin");
    const TELEGRAM: &[u8] = fixture!("telegram_allocate_error.bin");
    const WHATSAPP: &[u8] = fixture!("whatsapp_allocate.bin");
    const WHATSAPP_SUCCESS: &[u8] = fixture!("whatsapp_allocate_success.bin");
    const ZOOM: &[u8] = fixture!("zoom_binding_request.bin");
    const ZOOM_REPLY: &[u8] = fixture!("zoom_shared_secret.bin");
    const DISCORD_REQUEST: &[u8] = fixture!("discord_ip_discovery_request.bin");
    const DISCORD_RESPONSE: &[u8] = fixture!("discord_ip_discovery_response.bin");

    /// A Binding request with no attributes, ndpi stun.pcap frame 16 style.
    const EMPTY_BINDING: [u8; 20] = [
        0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ];

    /// ndpi stun.pcap frame 17: Allocate request to turn.l.google.com with
    /// the private attribute 0xFF05.
    const GOOGLE_ALLOCATE: [u8; 40] = [
        0x00, 0x03, 0x00, 0x14, 0x21, 0x12, 0xa4, 0x42, 0x53, 0x6e, 0x4c, 0x66, 0x52, 0x78, 0x53,
        0x36, 0x65, 0x51, 0x6e, 0x54, 0x00, 0x19, 0x00, 0x04, 0x11, 0x00, 0x00, 0x00, 0xff, 0x05,
        0x00, 0x07, 0x54, 0x59, 0x5f, 0x6e, 0x75, 0x6c, 0x6c, 0x00,
    ];

    const ALL: [&[u8]; 27] = [
        BINDING_RESPONSE,
        ALLOCATE_SUCCESS,
        BINDING_RESPONSE_V6,
        SEND_INDICATION,
        DATA_INDICATION,
        CHANNELBIND,
        ALLOCATE_FACEBOOK,
        ALLOCATE_ERROR_TCP,
        TCP_TWO,
        ICE_REQUEST,
        ICE_RESPONSE,
        LENGTH_FFFF,
        CLASSIC_ZOOM,
        CLASSIC_CHANGE,
        MS_TURN,
        TEAMS,
        MEET,
        SIGNAL,
        TELEGRAM,
        WHATSAPP,
        WHATSAPP_SUCCESS,
        ZOOM,
        ZOOM_REPLY,
        DISCORD_REQUEST,
        DISCORD_RESPONSE,
        &EMPTY_BINDING,
        &GOOGLE_ALLOCATE,
    ];

    fn sock(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn msg(buf: &[u8]) -> StunMessage<'_> {
        StunMessage::new_checked(buf).unwrap()
    }

    fn types(m: &StunMessage<'_>) -> Vec<u16> {
        m.attributes().map(|a| a.typ().raw()).collect()
    }

    #[test]
    fn parses_message_type_bits() {
        let t = MessageType::from_raw(0x0113);
        assert_eq!(t.method, Method::Allocate);
        assert_eq!(t.class, Class::ErrorResponse);
        assert_eq!(MessageType::from_raw(0x0017).class, Class::Indication);
        assert_eq!(MessageType::from_raw(0x0017).method, Method::Data);
        assert_eq!(MessageType::from_raw(0x0101).class, Class::SuccessResponse);
        assert_eq!(MessageType::from_raw(0x0200).method, Method::GoogPing);
        assert_eq!(MessageType::from_raw(0x0800).method, Method::Unknown(0x200));
        for raw in 0..0x1000u16 {
            assert_eq!(Method::from_raw(raw).raw(), raw);
        }
        for raw in [0x0001u16, 0x8028, 0x802f, 0xc057, 0x4000] {
            assert_eq!(AttributeType::from_raw(raw).raw(), raw);
        }
        assert!(AttributeType::Priority.is_comprehension_required());
        assert!(!AttributeType::Software.is_comprehension_required());
    }

    #[test]
    fn parses_binding_response_xor_mapped() {
        // ndpi stun.pcap frame 18; tshark: 93.47.225.225:23616.
        assert_eq!(probe(BINDING_RESPONSE), Probe::Match);
        let m = msg(BINDING_RESPONSE);
        assert!(!m.is_classic());
        assert_eq!(m.len(), 32);
        assert_eq!(m.trailing_len(), 0);
        assert_eq!(
            m.message_type(),
            MessageType {
                method: Method::Binding,
                class: Class::SuccessResponse
            }
        );
        assert_eq!(m.xor_mapped_address(), Some(sock("93.47.225.225:23616")));
        assert_eq!(m.attributes_error(), None);
        assert_eq!(m.fingerprint_valid(), None);
    }

    #[test]
    fn parses_allocate_success() {
        // ndpi stun.pcap frame 21.
        let m = msg(ALLOCATE_SUCCESS);
        assert_eq!(m.message_type().method, Method::Allocate);
        let addrs: Vec<_> = m.addresses().collect();
        assert_eq!(
            addrs,
            [
                (AttributeType::XorRelayedAddress, sock("10.2.0.86:44908")),
                (AttributeType::XorMappedAddress, sock("93.47.225.225:23616")),
            ]
        );
        let lifetime = m.attribute(AttributeType::Lifetime).unwrap().parsed();
        assert!(matches!(lifetime, Ok(AttributeValue::Lifetime(_))));
        assert!(m.has_message_integrity());
        let mi = m.attribute(AttributeType::MessageIntegrity).unwrap();
        assert_eq!(mi.value(), &[] as &[u8]);
        assert_eq!(mi.value_len(), 20);
        assert_eq!(
            mi.parsed(),
            Ok(AttributeValue::MessageIntegrity { len: 20 })
        );
    }

    #[test]
    fn parses_ipv6_addresses_and_fingerprint() {
        // ndpi stun.pcap frame 201, compared with tshark.
        let m = msg(BINDING_RESPONSE_V6);
        let addrs: Vec<_> = m.addresses().collect();
        let client = sock("[2001:b07:a3d:c112:48a1:1094:1227:281e]:48094");
        assert_eq!(
            addrs,
            [
                (AttributeType::XorMappedAddress, client),
                (AttributeType::MappedAddress, client),
                (
                    AttributeType::ResponseOrigin,
                    sock("[2600:1900:4160:5999:0:19::]:3478")
                ),
                (
                    AttributeType::OtherAddress,
                    sock("[2600:1900:4160:5999:0:19::]:80")
                ),
            ]
        );
        let fp = m.attribute(AttributeType::Fingerprint).unwrap().parsed();
        assert_eq!(
            fp,
            Ok(AttributeValue::Fingerprint {
                value: 0xce61_014c,
                valid: true
            })
        );
    }

    #[test]
    fn parses_send_and_data_indications() {
        // ndpi stun.pcap frames 77 and 79.
        let send = msg(SEND_INDICATION);
        assert_eq!(
            send.message_type(),
            MessageType {
                method: Method::Send,
                class: Class::Indication
            }
        );
        assert_eq!(
            send.addresses().next(),
            Some((AttributeType::XorPeerAddress, sock("185.170.139.1:44459")))
        );
        let data = send.attribute(AttributeType::Data).unwrap();
        assert!(matches!(data.parsed(), Ok(AttributeValue::Data(d)) if !d.is_empty()));
        let ind = msg(DATA_INDICATION);
        assert_eq!(ind.message_type().method, Method::Data);
        assert_eq!(
            ind.addresses().next(),
            Some((AttributeType::XorPeerAddress, sock("185.170.139.1:12176")))
        );
    }

    #[test]
    fn parses_channelbind_and_requested_transport() {
        // ndpi stun.pcap frames 104 and 69.
        let m = msg(CHANNELBIND);
        assert_eq!(m.message_type().method, Method::ChannelBind);
        let ch = m.attribute(AttributeType::ChannelNumber).unwrap().parsed();
        assert_eq!(ch, Ok(AttributeValue::ChannelNumber(0x4003)));
        let a = msg(ALLOCATE_FACEBOOK);
        let rt = a.attribute(AttributeType::RequestedTransport).unwrap();
        assert_eq!(rt.parsed(), Ok(AttributeValue::RequestedTransport(17)));
        assert_eq!(a.realm(), Some(&b"turner.facebook"[..]));
        assert_eq!(vendor_hint(&a), Some(StunVendor::Facebook));
    }

    #[test]
    fn parses_error_response_with_software() {
        // ndpi stun.pcap frame 145 (TCP).
        let m = msg(ALLOCATE_ERROR_TCP);
        assert_eq!(m.message_type().class, Class::ErrorResponse);
        assert_eq!(m.error_code(), Some(401));
        let reason = m.attributes().find_map(|a| match a.parsed() {
            Ok(AttributeValue::ErrorCode { reason, .. }) => reason.as_str(),
            _ => None,
        });
        assert_eq!(reason, Some("Unauthorized"));
        assert_eq!(m.software(), Some("Coturn-4.5.0.5 'dan Eider'"));
        assert_eq!(m.fingerprint_valid(), Some(true));
        assert_eq!(vendor_hint(&m), Some(StunVendor::Coturn));
        let nonce = m.attribute(AttributeType::Nonce).unwrap().parsed();
        assert!(matches!(nonce, Ok(AttributeValue::Nonce { len: 16 })));
    }

    #[test]
    fn parses_two_messages_in_one_segment() {
        // ndpi stun.pcap frame 157: two CreatePermission success responses.
        assert_eq!(probe(TCP_TWO), Probe::Match);
        let first = msg(TCP_TWO);
        assert_eq!(first.len(), 84);
        assert_eq!(first.trailing_len(), 84);
        let second = msg(&TCP_TWO[first.len()..]);
        assert_eq!(second.trailing_len(), 0);
        assert_eq!(first.fingerprint_valid(), Some(true));
        assert_eq!(second.fingerprint_valid(), Some(true));
    }

    #[test]
    fn parses_ice_binding_request() {
        // corelight stun-ice-testcall.pcap frame 7; tshark values.
        let m = msg(ICE_REQUEST);
        let got: Vec<_> = m.attributes().map(|a| a.parsed().unwrap()).collect();
        assert!(got.contains(&AttributeValue::Priority(1_845_501_695)));
        assert!(got.contains(&AttributeValue::IceControlling(0x188b_104c_697b_f65b)));
        assert!(got.contains(&AttributeValue::UseCandidate));
        assert_eq!(m.username(), Some(&b"pLyZHR:GwL3AHBovubLvCqn"[..]));
        assert_eq!(m.fingerprint_valid(), Some(true));
        let resp = msg(ICE_RESPONSE);
        assert_eq!(resp.xor_mapped_address(), Some(sock("70.199.128.46:4587")));
        assert_eq!(resp.fingerprint_valid(), Some(true));
        assert_eq!(resp.software(), Some("Net-Net OS-E E3.7.0 "));
    }

    #[test]
    fn rejects_attribute_length_ffff() {
        // corelight stun-attribute-length-ffff.pcap frame 2: MAPPED-ADDRESS
        // declares 0xffff bytes in a 12-byte body.
        let m = msg(LENGTH_FFFF);
        let mut it = m.attributes();
        assert_eq!(it.next(), None);
        assert_eq!(it.error(), Some(Error::bad_length(22)));
        assert_eq!(m.attributes_error(), Some(Error::bad_length(22)));
    }

    #[test]
    fn rejects_too_many_attributes() {
        let mut buf = EMPTY_BINDING.to_vec();
        for _ in 0..=MAX_ATTRIBUTES {
            buf.extend_from_slice(&[0x00, 0x25, 0x00, 0x00]);
        }
        let len = (buf.len() - HEADER_LEN) as u16;
        buf[2..4].copy_from_slice(&len.to_be_bytes());
        let m = msg(&buf);
        assert_eq!(m.attributes().count(), MAX_ATTRIBUTES);
        assert_eq!(
            m.attributes_error().map(|e| e.kind),
            Some(ErrorKind::LimitExceeded)
        );
    }

    #[test]
    fn parses_classic_stun() {
        // arkime stun.pcap frames 1 (Zoom-style probe) and 6 (CHANGE-REQUEST).
        assert_eq!(probe(CLASSIC_ZOOM), Probe::Match);
        let m = msg(CLASSIC_ZOOM);
        assert!(m.is_classic());
        assert_eq!(m.classic_transaction_id()[..4], CLASSIC_ZOOM[4..8]);
        assert_eq!(vendor_hint(&m), Some(StunVendor::Zoom));
        let c = msg(CLASSIC_CHANGE);
        assert!(c.is_classic());
        let change = c.attribute(AttributeType::ChangeRequest).unwrap().parsed();
        assert_eq!(
            change,
            Ok(AttributeValue::ChangeRequest {
                change_ip: false,
                change_port: false
            })
        );
    }

    #[test]
    fn parses_vendor_hints() {
        assert_eq!(vendor_hint(&msg(MS_TURN)), Some(StunVendor::Microsoft));
        assert_eq!(vendor_hint(&msg(TEAMS)), Some(StunVendor::Microsoft));
        assert_eq!(vendor_hint(&msg(MEET)), Some(StunVendor::LibWebRtc));
        assert_eq!(vendor_hint(&msg(SIGNAL)), Some(StunVendor::Signal));
        assert_eq!(vendor_hint(&msg(TELEGRAM)), Some(StunVendor::Telegram));
        assert_eq!(vendor_hint(&msg(WHATSAPP)), Some(StunVendor::WhatsApp));
        assert_eq!(
            vendor_hint(&msg(WHATSAPP_SUCCESS)),
            Some(StunVendor::WhatsApp)
        );
        assert_eq!(vendor_hint(&msg(ZOOM)), Some(StunVendor::Zoom));
        assert_eq!(vendor_hint(&msg(ZOOM_REPLY)), Some(StunVendor::Zoom));
        assert_eq!(
            vendor_hint(&msg(&GOOGLE_ALLOCATE)),
            Some(StunVendor::Google)
        );
        assert_eq!(vendor_hint(&msg(ICE_REQUEST)), None);
        assert_eq!(msg(TEAMS).fingerprint_valid(), Some(true));
        assert_eq!(msg(MEET).fingerprint_valid(), Some(true));
    }

    #[test]
    fn parses_unaligned_whatsapp_and_ms_turn() {
        // ndpi wa_voice.pcap frame 215 (length 106) and 225; arkime frame 2.
        assert_eq!(probe(WHATSAPP), Probe::Match);
        let m = msg(WHATSAPP);
        assert!(!m.is_length_aligned());
        assert_eq!(types(&m), [0x4000]);
        assert_eq!(m.attributes_error(), None);
        assert_eq!(probe(MS_TURN), Probe::Match);
        assert_eq!(msg(MS_TURN).attributes_error(), None);
        let ok = msg(WHATSAPP_SUCCESS);
        assert_eq!(ok.xor_mapped_address(), Some(sock("80.180.162.48:52372")));
        // Unaligned and not the whole buffer: not STUN.
        let mut longer = WHATSAPP.to_vec();
        longer.extend_from_slice(&[0; 2]);
        assert_eq!(probe(&longer), Probe::NoMatch);
    }

    #[test]
    fn parses_discord_ip_discovery() {
        // ndpi discord.pcap frames 232 and 21.
        assert_eq!(probe(DISCORD_REQUEST), Probe::NoMatch);
        let req = discord_ip_discovery(DISCORD_REQUEST).unwrap();
        assert!(!req.is_response);
        assert_eq!(req.ssrc, 0xace3);
        assert_eq!(req.address, b"");
        let resp = discord_ip_discovery(DISCORD_RESPONSE).unwrap();
        assert!(resp.is_response);
        assert_eq!(resp.address, b"84.59.132.100");
        assert_eq!(discord_ip_discovery(BINDING_RESPONSE), None);
    }

    #[test]
    fn rejects_non_stun() {
        assert_eq!(probe(&[]), Probe::NeedMore);
        assert_eq!(probe(&[0x80, 0x00]), Probe::NoMatch);
        assert_eq!(probe(&EMPTY_BINDING[..7]), Probe::NeedMore);
        assert_eq!(probe(&EMPTY_BINDING[..19]), Probe::NeedMore);
        assert_eq!(probe(&EMPTY_BINDING), Probe::Match);
        assert_eq!(probe(&BINDING_RESPONSE[..31]), Probe::NeedMore);
        // Unknown classic type.
        let mut junk = EMPTY_BINDING;
        junk[0..2].copy_from_slice(&[0x00, 0x03]);
        junk[4] = 0;
        assert_eq!(probe(&junk), Probe::NoMatch);
        assert_eq!(
            StunMessage::new_checked(&[0xc0; 20]).map(|_| ()),
            Err(Error::new(ErrorKind::NotThisProtocol, 0))
        );
        assert_eq!(
            StunMessage::new_checked(&BINDING_RESPONSE[..31]).map(|_| ()),
            Err(Error::truncated(31))
        );
        assert_eq!(
            StunMessage::new_checked(&EMPTY_BINDING[..19]).map(|_| ()),
            Err(Error::truncated(0))
        );
    }

    fn exercise(buf: &[u8]) {
        let _ = probe(buf);
        let _ = discord_ip_discovery(buf);
        let Ok(m) = StunMessage::new_checked(buf) else {
            return;
        };
        let _ = (
            m.message_type(),
            m.transaction_id(),
            m.classic_transaction_id(),
        );
        let _ = (
            m.is_classic(),
            m.is_length_aligned(),
            m.len(),
            m.trailing_len(),
        );
        let _ = (
            m.has_message_integrity(),
            m.fingerprint_valid(),
            m.username(),
        );
        let _ = (
            m.software(),
            m.realm(),
            m.xor_mapped_address(),
            m.mapped_address(),
        );
        let _ = (m.error_code(), m.attributes_error(), vendor_hint(&m));
        let _ = m.addresses().count();
        for a in m.attributes() {
            let _ = (a.typ(), a.value(), a.as_str(), a.offset(), a.parsed());
        }
    }

    #[test]
    fn parses_every_mutation_without_panic() {
        for v in ALL {
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

//! QUIC long-header packets, client Initial decryption, and gQUIC recognition.
//!
//! Implemented:
//! - the long header (RFC 9000 section 17.2, invariants of RFC 8999 section
//!   5.1): Initial, 0-RTT, Handshake and Retry packets of QUIC v1, QUIC v2
//!   (RFC 9369 section 3.2, with its remapped packet type bits), drafts 23 to
//!   32 and mvfst 0xfaceb002, Version Negotiation (RFC 9000 section 17.2.1),
//!   and several packets coalesced in one datagram (RFC 9000 section 12.2);
//! - removal of Initial packet protection on the client side (RFC 9001
//!   sections 5.2 to 5.4, RFC 9369 section 3.3 for v2): key derivation from
//!   the client's original Destination Connection ID, header protection with
//!   AES-128, packet number reconstruction (RFC 9000 appendix A.3) and
//!   AES-128-GCM opening into a caller-provided buffer;
//! - the frames allowed in Initial packets (RFC 9000 section 19: PADDING,
//!   PING, ACK, CRYPTO, CONNECTION_CLOSE); CRYPTO data is reassembled with
//!   [`crate::tls::HandshakeAssembler::push_at`] and the ClientHello then read
//!   with [`crate::tls::ClientHello`];
//! - Google QUIC: version recognition (`Q0xx` in the public header of
//!   Q043 and earlier, or in a long header for Q046 and later) and the SNI
//!   tag of a clear-text CHLO (Q046 and earlier).
//!
//! Not supported: short-header (1-RTT) packets beyond the first-byte class,
//! server Initial decryption, Handshake or 0-RTT decryption, Retry integrity
//! tags, the Initial salt of draft 22 and earlier, Initial decryption of
//! gQUIC Q050 and T05x (their version is recognised only), and any frame type
//! that is not allowed in an Initial packet (the frame walk stops there).
//! Keys are derived per call and never exposed.

use crate::error::{be, Error, ErrorKind, Probe, Result};
use crate::tls::HandshakeAssembler;
use aes::cipher::{BlockEncrypt, KeyInit};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::Aes128Gcm;
use hkdf::Hkdf;
use sha2::Sha256;

/// Byte offsets of fixed fields.
mod field {
    /// Long header: first byte(1) version(4) dcid_len(1) dcid scid_len(1) scid.
    pub const FIRST: usize = 0;
    pub const VERSION: usize = 1;
    pub const DCID_LEN: usize = 5;
    /// Header protection samples start 4 bytes after the packet number start
    /// (RFC 9001 section 5.4.2).
    pub const SAMPLE_SKIP: usize = 4;
    pub const SAMPLE_LEN: usize = 16;
    /// AEAD tag length of AES-128-GCM.
    pub const TAG_LEN: usize = 16;
    /// Retry integrity tag length (RFC 9000 section 17.2.5).
    pub const RETRY_TAG_LEN: usize = 16;

    /// gQUIC public header (Q043 and earlier): flags(1) [cid(8)] [version(4)].
    pub const GQUIC_FLAGS: usize = 0;
    pub const GQUIC_CID_LEN: usize = 8;

    /// gQUIC handshake message: tag(4) n_entries(2, LE) padding(2) entries.
    pub const CHLO_N_ENTRIES: usize = 4;
    pub const CHLO_ENTRIES: usize = 8;
    pub const CHLO_ENTRY_LEN: usize = 8;
}

/// QUIC version 1 (RFC 9000).
pub const VERSION_1: u32 = 0x0000_0001;
/// QUIC version 2 (RFC 9369).
pub const VERSION_2: u32 = 0x6b33_43cf;
/// IETF draft 29, the most deployed draft.
pub const VERSION_DRAFT_29: u32 = 0xff00_001d;
/// mvfst's draft-27-based version.
pub const VERSION_MVFST_27: u32 = 0xface_b002;
/// The version field of a Version Negotiation packet.
pub const VERSION_NEGOTIATION: u32 = 0;

/// Largest connection ID in QUIC v1 and v2 (RFC 9000 section 17.2).
const MAX_CID_LEN: usize = 20;

/// Initial salts (RFC 9001 section 5.2, RFC 9369 section 3.3.1, and the
/// drafts of draft-ietf-quic-tls).
const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
const SALT_DRAFT_29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];
const SALT_DRAFT_23: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65,
    0xbe, 0xf9, 0xf5, 0x02,
];

/// Version-specific Initial protection parameters.
struct InitialParams {
    salt: &'static [u8; 20],
    key_label: &'static [u8],
    iv_label: &'static [u8],
    hp_label: &'static [u8],
}

/// The Initial protection parameters of a version, if known.
fn initial_params(version: u32) -> Option<InitialParams> {
    let v1_labels = |salt| InitialParams {
        salt,
        key_label: b"quic key",
        iv_label: b"quic iv",
        hp_label: b"quic hp",
    };
    Some(match version {
        VERSION_1 => v1_labels(&SALT_V1),
        VERSION_2 => InitialParams {
            salt: &SALT_V2,
            key_label: b"quicv2 key",
            iv_label: b"quicv2 iv",
            hp_label: b"quicv2 hp",
        },
        0xff00_001d..=0xff00_0020 => v1_labels(&SALT_DRAFT_29),
        0xff00_0017..=0xff00_001c | VERSION_MVFST_27 => v1_labels(&SALT_DRAFT_23),
        _ => return None,
    })
}

/// True for a gQUIC version tag: 'Q', 'T' or 'Z' then three ASCII digits.
fn is_gquic_tag(v: u32) -> bool {
    let [a, b, c, d] = v.to_be_bytes();
    matches!(a, b'Q' | b'T' | b'Z')
        && b.is_ascii_digit()
        && c.is_ascii_digit()
        && d.is_ascii_digit()
}

/// The number of a gQUIC version tag ("Q046" -> 46).
fn gquic_number(v: u32) -> u32 {
    let [_, b, c, d] = v.to_be_bytes();
    u32::from(b.wrapping_sub(b'0')) * 100
        + u32::from(c.wrapping_sub(b'0')) * 10
        + u32::from(d.wrapping_sub(b'0'))
}

/// True for versions whose long header follows the QUIC v1 layout (token
/// and length fields): v1, v2, IETF drafts, mvfst and gQUIC Q050+/T05x.
fn has_v1_layout(version: u32) -> bool {
    matches!(version, VERSION_1 | VERSION_2 | 0xff00_0000..=0xff00_00ff | 0xface_b000..=0xface_b0ff)
        || (is_gquic_tag(version) && gquic_number(version) >= 50)
}

/// True for a reserved version used to exercise negotiation (RFC 9000
/// section 15): 0x?a?a?a?a.
fn is_reserved_version(v: u32) -> bool {
    v & 0x0f0f_0f0f == 0x0a0a_0a0a
}

/// Reads a variable-length integer (RFC 9000 section 16); returns it and the
/// offset after it.
///
/// ```text
/// 2MSB  Length  Usable Bits
/// 00    1       6
/// 01    2       14
/// 10    4       30
/// 11    8       62
/// ```
pub fn read_varint(buf: &[u8], off: usize) -> Result<(u64, usize)> {
    let first = be::u8_at(buf, off)?;
    let value = match first >> 6 {
        0 => u64::from(first),
        1 => u64::from(be::u16_at(buf, off)? & 0x3fff),
        2 => u64::from(be::u32_at(buf, off)? & 0x3fff_ffff),
        _ => be::u64_at(buf, off)? & 0x3fff_ffff_ffff_ffff,
    };
    let len = 1usize << (first >> 6);
    Ok((value, off + len))
}

/// Reads a varint used as a length and checks it against `usize`.
fn read_len(buf: &[u8], off: usize) -> Result<(usize, usize)> {
    let (v, next) = read_varint(buf, off)?;
    let len = usize::try_from(v).map_err(|_| Error::bad_length(off))?;
    Ok((len, next))
}

/// Long header packet types (RFC 9000 section 17.2, RFC 9369 section 3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LongPacketType {
    /// Initial (v1 type 0x0, v2 type 0x1): carries the ClientHello.
    Initial,
    /// 0-RTT (v1 type 0x1, v2 type 0x2).
    ZeroRtt,
    /// Handshake (v1 type 0x2, v2 type 0x3).
    Handshake,
    /// Retry (v1 type 0x3, v2 type 0x0).
    Retry,
    /// Version 0 (RFC 9000 section 17.2.1).
    VersionNegotiation,
}

impl LongPacketType {
    /// Maps the two type bits of the first byte, which QUIC v2 permutes.
    fn from_bits(version: u32, bits: u8) -> LongPacketType {
        let bits = if version == VERSION_2 {
            // v2: Retry 0b00, Initial 0b01, 0-RTT 0b10, Handshake 0b11.
            bits.wrapping_add(3) & 0x03
        } else {
            bits & 0x03
        };
        match bits {
            0 => LongPacketType::Initial,
            1 => LongPacketType::ZeroRtt,
            2 => LongPacketType::Handshake,
            _ => LongPacketType::Retry,
        }
    }
}

/// Cheap check for a QUIC long-header packet (IETF QUIC or gQUIC Q046+).
///
/// Short-header packets cannot be recognised without connection state and
/// give `NoMatch`; so do unknown versions other than the reserved
/// 0x?a?a?a?a pattern.
pub fn probe(buf: &[u8]) -> Probe {
    let Some(&first) = buf.first() else {
        return Probe::NeedMore;
    };
    if first & 0x80 == 0 {
        return Probe::NoMatch;
    }
    let Ok(version) = be::u32_at(buf, field::VERSION) else {
        return Probe::NeedMore;
    };
    let known = version == VERSION_NEGOTIATION
        || initial_params(version).is_some()
        || has_v1_layout(version)
        || is_gquic_tag(version)
        || is_reserved_version(version);
    if !known {
        return Probe::NoMatch;
    }
    if version != VERSION_NEGOTIATION && !is_gquic_tag(version) && first & 0x40 == 0 {
        return Probe::NoMatch;
    }
    match be::u8_at(buf, field::DCID_LEN) {
        Err(_) => Probe::NeedMore,
        Ok(len) if has_v1_layout(version) && usize::from(len) > MAX_CID_LEN => Probe::NoMatch,
        Ok(_) => Probe::Match,
    }
}

/// A view of one long-header packet (the first one of the buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongHeader<'a> {
    packet: &'a [u8],
    first: u8,
    version: u32,
    dcid: &'a [u8],
    scid: &'a [u8],
    packet_type: Option<LongPacketType>,
    token: &'a [u8],
    pn_offset: Option<usize>,
    rest_offset: usize,
}

impl<'a> LongHeader<'a> {
    // Long Header Packet {                         RFC 9000 section 17.2
    //   Header Form (1) = 1,
    //   Fixed Bit (1) = 1,
    //   Long Packet Type (2),
    //   Type-Specific Bits (4),
    //   Version (32),
    //   Destination Connection ID Length (8),
    //   Destination Connection ID (0..160),
    //   Source Connection ID Length (8),
    //   Source Connection ID (0..160),
    //   Type-Specific Payload (..),
    // }
    //
    // Initial Packet {                             RFC 9000 section 17.2.2
    //   ...common fields, Long Packet Type = 0 (v2: 1),
    //   Reserved Bits (2), Packet Number Length (2),
    //   Token Length (i),
    //   Token (..),
    //   Length (i),
    //   Packet Number (8..32),
    //   Packet Payload (8..),
    // }
    //
    // 0-RTT and Handshake packets have no token; Retry carries
    // Retry Token (..) and Retry Integrity Tag (128); Version Negotiation
    // carries Supported Version (32) ... (RFC 9000 sections 17.2.1 to 17.2.5).
    /// Parses the long-header packet at the start of `buf`. Bytes after it
    /// (coalesced packets) are left alone; see [`LongHeaderPackets`].
    ///
    /// Versions with an unknown layout are parsed up to the connection IDs
    /// (RFC 8999 invariants) and then take the rest of the buffer.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let first = be::u8_at(buf, field::FIRST)?;
        if first & 0x80 == 0 {
            return Err(Error::new(ErrorKind::NotThisProtocol, field::FIRST));
        }
        let version = be::u32_at(buf, field::VERSION)?;
        if is_gquic_tag(version) && gquic_number(version) < 50 {
            // Q046 packs both connection ID lengths in one byte.
            return Err(Error::new(ErrorKind::Unsupported, field::VERSION));
        }
        let v1_layout = has_v1_layout(version);
        let dcid_len = usize::from(be::u8_at(buf, field::DCID_LEN)?);
        if v1_layout && dcid_len > MAX_CID_LEN {
            return Err(Error::bad_length(field::DCID_LEN));
        }
        let dcid = be::slice(buf, field::DCID_LEN + 1, dcid_len)?;
        let scid_len_off = field::DCID_LEN + 1 + dcid_len;
        let scid_len = usize::from(be::u8_at(buf, scid_len_off)?);
        if v1_layout && scid_len > MAX_CID_LEN {
            return Err(Error::bad_length(scid_len_off));
        }
        let scid = be::slice(buf, scid_len_off + 1, scid_len)?;
        let rest_offset = scid_len_off + 1 + scid_len;
        let mut header = LongHeader {
            packet: buf,
            first,
            version,
            dcid,
            scid,
            packet_type: None,
            token: &[],
            pn_offset: None,
            rest_offset,
        };
        if version == VERSION_NEGOTIATION {
            header.packet_type = Some(LongPacketType::VersionNegotiation);
            return Ok(header);
        }
        if !v1_layout {
            return Ok(header);
        }
        if first & 0x40 == 0 {
            return Err(Error::malformed(field::FIRST));
        }
        let packet_type = LongPacketType::from_bits(version, first >> 4);
        header.packet_type = Some(packet_type);
        let mut off = rest_offset;
        match packet_type {
            LongPacketType::Retry => {
                if buf.len() < off + field::RETRY_TAG_LEN {
                    return Err(Error::truncated(off));
                }
                header.token = be::slice(buf, off, buf.len() - off - field::RETRY_TAG_LEN)?;
                return Ok(header);
            }
            LongPacketType::Initial => {
                let (token_len, next) = read_len(buf, off)?;
                header.token = be::slice(buf, next, token_len)?;
                off = next + token_len;
            }
            LongPacketType::ZeroRtt
            | LongPacketType::Handshake
            | LongPacketType::VersionNegotiation => {}
        }
        let (length, pn_offset) = read_len(buf, off)?;
        header.packet = be::slice(buf, 0, pn_offset.saturating_add(length))
            .map_err(|_| Error::truncated(off))?;
        header.pn_offset = Some(pn_offset);
        Ok(header)
    }

    /// The bytes of this packet only (up to the end of its Length field's
    /// payload for Initial, 0-RTT and Handshake packets).
    pub fn packet(&self) -> &'a [u8] {
        self.packet
    }
    /// The first byte as sent (its low bits are header-protected).
    pub fn first_byte(&self) -> u8 {
        self.first
    }
    /// The version field.
    pub fn version(&self) -> u32 {
        self.version
    }
    /// True for a gQUIC version tag (Q050, T051, ...).
    pub fn is_gquic(&self) -> bool {
        is_gquic_tag(self.version)
    }
    /// Destination Connection ID.
    pub fn dcid(&self) -> &'a [u8] {
        self.dcid
    }
    /// Source Connection ID.
    pub fn scid(&self) -> &'a [u8] {
        self.scid
    }
    /// The packet type, `None` for a version whose layout is unknown.
    pub fn packet_type(&self) -> Option<LongPacketType> {
        self.packet_type
    }
    /// The address validation token (Initial) or Retry token; empty otherwise.
    pub fn token(&self) -> &'a [u8] {
        self.token
    }
    /// Offset of the (protected) packet number in [`packet`](Self::packet),
    /// for Initial, 0-RTT and Handshake packets.
    pub fn pn_offset(&self) -> Option<usize> {
        self.pn_offset
    }
    /// The protected packet number and payload (empty for Retry and
    /// Version Negotiation; the rest of the packet for unknown layouts).
    pub fn payload(&self) -> &'a [u8] {
        let start = self.pn_offset.unwrap_or(self.rest_offset);
        match self.packet_type {
            Some(LongPacketType::Retry | LongPacketType::VersionNegotiation) => &[],
            _ => self.packet.get(start..).unwrap_or_default(),
        }
    }
    /// The versions listed by a Version Negotiation packet.
    pub fn supported_versions(&self) -> impl Iterator<Item = u32> + 'a {
        let list = match self.packet_type {
            Some(LongPacketType::VersionNegotiation) => {
                self.packet.get(self.rest_offset..).unwrap_or_default()
            }
            _ => &[],
        };
        list.chunks_exact(4)
            .map(|c| c.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)))
    }
}

/// Iterator over the long-header packets coalesced in one UDP datagram
/// (RFC 9000 section 12.2).
///
/// Stops at a short-header packet (which runs to the end of the datagram),
/// at a long header whose layout is unknown (its length cannot be known), or
/// at the first malformed packet ([`LongHeaderPackets::error`]).
#[derive(Debug, Clone)]
pub struct LongHeaderPackets<'a> {
    rest: &'a [u8],
    error: Option<Error>,
    offset: usize,
}

impl<'a> LongHeaderPackets<'a> {
    /// Walks the packets of `datagram`.
    pub fn new(datagram: &'a [u8]) -> Self {
        LongHeaderPackets {
            rest: datagram,
            error: None,
            offset: 0,
        }
    }
    /// Why the walk stopped early, if it did.
    pub fn error(&self) -> Option<Error> {
        self.error
    }
    /// The bytes not yet walked (a trailing short-header packet, for example).
    pub fn remainder(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for LongHeaderPackets<'a> {
    type Item = LongHeader<'a>;

    fn next(&mut self) -> Option<LongHeader<'a>> {
        let &first = self.rest.first()?;
        if self.error.is_some() || first & 0x80 == 0 {
            return None;
        }
        match LongHeader::new_checked(self.rest) {
            Ok(h) => {
                let len = h.packet.len();
                let coalescable = h.pn_offset.is_some() && len > 0;
                self.rest = if coalescable {
                    self.rest.get(len..).unwrap_or_default()
                } else {
                    &[]
                };
                self.offset = self.offset.saturating_add(len);
                Some(h)
            }
            Err(e) => {
                self.error = Some(Error::new(e.kind, self.offset.saturating_add(e.offset)));
                None
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Initial packet protection
// ---------------------------------------------------------------------------

/// HKDF-Expand-Label with an empty context (RFC 8446 section 7.1, as used
/// by RFC 9001 section 5.1).
///
/// ```text
/// struct {
///     uint16 length = Length;
///     opaque label<7..255> = "tls13 " + Label;
///     opaque context<0..255> = Context;
/// } HkdfLabel;
/// ```
fn hkdf_expand_label(prk: &[u8], label: &[u8], out: &mut [u8]) -> Result<()> {
    const PREFIX: &[u8] = b"tls13 ";
    let mut info = [0u8; 64];
    let out_len = u16::try_from(out.len()).map_err(|_| Error::malformed(0))?;
    let label_len = PREFIX.len() + label.len();
    let info_len = 2 + 1 + label_len + 1;
    let info = info.get_mut(..info_len).ok_or(Error::malformed(0))?;
    let (len_field, rest) = info.split_at_mut(2);
    len_field.copy_from_slice(&out_len.to_be_bytes());
    let (label_len_field, rest) = rest.split_at_mut(1);
    label_len_field.fill(u8::try_from(label_len).map_err(|_| Error::malformed(0))?);
    let (prefix, rest) = rest.split_at_mut(PREFIX.len());
    prefix.copy_from_slice(PREFIX);
    let (label_field, context_len) = rest.split_at_mut(label.len());
    label_field.copy_from_slice(label);
    context_len.fill(0);
    Hkdf::<Sha256>::from_prk(prk)
        .map_err(|_| Error::malformed(0))?
        .expand(info, out)
        .map_err(|_| Error::malformed(0))
}

/// The client's Initial packet protection keys.
struct InitialKeys {
    key: [u8; 16],
    iv: [u8; 12],
    hp: [u8; 16],
}

/// Derives the client Initial keys from the client's original Destination
/// Connection ID (RFC 9001 section 5.2).
///
/// ```text
/// initial_secret = HKDF-Extract(initial_salt, client_dst_connection_id)
/// client_initial_secret = HKDF-Expand-Label(initial_secret, "client in", "", 32)
/// key = HKDF-Expand-Label(client_initial_secret, "quic key", "", 16)
/// iv  = HKDF-Expand-Label(client_initial_secret, "quic iv", "", 12)
/// hp  = HKDF-Expand-Label(client_initial_secret, "quic hp", "", 16)
/// ```
fn client_initial_keys(params: &InitialParams, dcid: &[u8]) -> Result<InitialKeys> {
    let (initial_secret, _) = Hkdf::<Sha256>::extract(Some(params.salt), dcid);
    let mut client_secret = [0u8; 32];
    hkdf_expand_label(&initial_secret, b"client in", &mut client_secret)?;
    let mut keys = InitialKeys {
        key: [0; 16],
        iv: [0; 12],
        hp: [0; 16],
    };
    hkdf_expand_label(&client_secret, params.key_label, &mut keys.key)?;
    hkdf_expand_label(&client_secret, params.iv_label, &mut keys.iv)?;
    hkdf_expand_label(&client_secret, params.hp_label, &mut keys.hp)?;
    Ok(keys)
}

/// Recovers a full packet number from its truncated form (RFC 9000
/// appendix A.3). `largest_pn` is the largest packet number successfully
/// processed in this space, `None` before the first one.
pub fn decode_packet_number(largest_pn: Option<u64>, truncated_pn: u64, pn_nbits: u32) -> u64 {
    let expected = largest_pn.map_or(0, |l| l.wrapping_add(1));
    let win = 1u64.checked_shl(pn_nbits).unwrap_or(0);
    if win == 0 {
        return truncated_pn;
    }
    let hwin = win / 2;
    let mask = win - 1;
    let candidate = (expected & !mask) | (truncated_pn & mask);
    if candidate.saturating_add(hwin) <= expected && candidate < (1u64 << 62).saturating_sub(win) {
        candidate.wrapping_add(win)
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// The decrypted payload of a client Initial packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitialPayload<'s> {
    version: u32,
    packet_number: u64,
    plaintext: &'s [u8],
}

impl<'s> InitialPayload<'s> {
    /// The packet's version.
    pub fn version(&self) -> u32 {
        self.version
    }
    /// The reconstructed packet number.
    pub fn packet_number(&self) -> u64 {
        self.packet_number
    }
    /// The decrypted frames, as bytes.
    pub fn plaintext(&self) -> &'s [u8] {
        self.plaintext
    }
    /// The frames of the payload.
    pub fn frames(&self) -> Frames<'s> {
        Frames::new(self.plaintext)
    }
    /// Feeds every CRYPTO frame to `assembler` (by offset). Stops at the
    /// first frame that cannot be parsed and reports it.
    pub fn push_crypto_frames(&self, assembler: &mut HandshakeAssembler) -> Result<()> {
        let mut frames = self.frames();
        for frame in frames.by_ref() {
            if let Frame::Crypto { offset, data } = frame {
                assembler.push_at(offset, data)?;
            }
        }
        match frames.error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Removes the protection of a client Initial packet and decrypts it.
///
/// `packet` starts at the Initial's long header (for example
/// [`LongHeader::packet`]; bytes after it are ignored). `dcid_for_keys` is
/// the Destination Connection ID of the client's first Initial packet (after
/// a Retry, of its first Initial after the Retry); it is what the keys derive
/// from even when later client packets carry another DCID. The packet is
/// copied into `scratch` (which must hold the whole packet, 1200 bytes or
/// more for a client Initial) and decrypted there; nothing is allocated.
/// The packet number is reconstructed as if no packet had been seen yet.
///
/// Errors: `NotThisProtocol` for a packet that is not an Initial,
/// `Unsupported` for a version without a known Initial salt,
/// `LimitExceeded` if `scratch` is too small, `Malformed` if the AEAD tag
/// does not verify (wrong DCID, server packet, corrupted bytes).
pub fn decrypt_initial<'s>(
    packet: &[u8],
    dcid_for_keys: &[u8],
    scratch: &'s mut [u8],
) -> Result<InitialPayload<'s>> {
    let header = LongHeader::new_checked(packet)?;
    if header.packet_type != Some(LongPacketType::Initial) {
        return Err(Error::new(ErrorKind::NotThisProtocol, field::FIRST));
    }
    let params =
        initial_params(header.version).ok_or(Error::new(ErrorKind::Unsupported, field::VERSION))?;
    let pn_offset = header.pn_offset.ok_or(Error::malformed(0))?;
    let packet = header.packet;
    let keys = client_initial_keys(&params, dcid_for_keys)?;

    // Header protection (RFC 9001 section 5.4): the sample starts 4 bytes
    // after the packet number, whatever its real length.
    //   mask = AES-ECB(hp_key, sample)
    //   first byte ^= mask[0] & 0x0f        (long header)
    //   packet number ^= mask[1..1 + pn_length]
    let sample_off = pn_offset + field::SAMPLE_SKIP;
    let sample: [u8; field::SAMPLE_LEN] = be::slice(packet, sample_off, field::SAMPLE_LEN)?
        .try_into()
        .map_err(|_| Error::truncated(sample_off))?;
    let hp = aes::Aes128::new(&keys.hp.into());
    let mut mask = aes::Block::from(sample);
    hp.encrypt_block(&mut mask);

    let total = packet.len();
    let scratch = scratch
        .get_mut(..total)
        .ok_or(Error::new(ErrorKind::LimitExceeded, total))?;
    scratch.copy_from_slice(packet);
    let mask_first = mask.first().copied().unwrap_or(0);
    let first = scratch.first_mut().ok_or(Error::truncated(0))?;
    *first ^= mask_first & 0x0f;
    let pn_len = usize::from(*first & 0x03) + 1;
    let mut truncated_pn = 0u64;
    let pn_bytes = scratch
        .get_mut(pn_offset..pn_offset + pn_len)
        .ok_or(Error::truncated(pn_offset))?;
    for (b, m) in pn_bytes.iter_mut().zip(mask.iter().skip(1)) {
        *b ^= m;
        truncated_pn = truncated_pn << 8 | u64::from(*b);
    }
    let pn_bits = u32::try_from(pn_len * 8).unwrap_or(32);
    let packet_number = decode_packet_number(None, truncated_pn, pn_bits);

    // Payload protection (RFC 9001 section 5.3): AES-128-GCM, nonce = iv XOR
    // packet number, associated data = the unprotected header.
    let header_len = pn_offset + pn_len;
    if total < header_len + field::TAG_LEN {
        return Err(Error::truncated(header_len));
    }
    let mut nonce = keys.iv;
    for (n, p) in nonce
        .iter_mut()
        .rev()
        .zip(packet_number.to_be_bytes().iter().rev())
    {
        *n ^= p;
    }
    let (aad, rest) = scratch.split_at_mut(header_len);
    let (ciphertext, tag) = rest.split_at_mut(rest.len() - field::TAG_LEN);
    let tag: [u8; field::TAG_LEN] = (&*tag)
        .try_into()
        .map_err(|_| Error::truncated(header_len))?;
    let aead = Aes128Gcm::new(&keys.key.into());
    aead.decrypt_in_place_detached(&nonce.into(), aad, ciphertext, &tag.into())
        .map_err(|_| Error::malformed(header_len))?;
    Ok(InitialPayload {
        version: header.version,
        packet_number,
        plaintext: ciphertext,
    })
}

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

/// A frame of an Initial packet (RFC 9000 section 19).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A run of PADDING frames (type 0x00), with its length in bytes.
    Padding(usize),
    /// PING (type 0x01).
    Ping,
    /// ACK (types 0x02 and 0x03): the largest acknowledged packet number.
    Ack {
        /// Largest Acknowledged.
        largest: u64,
    },
    /// CRYPTO (type 0x06): handshake data at `offset` of the crypto stream.
    Crypto {
        /// Offset of `data` in the crypto stream.
        offset: u64,
        /// The handshake bytes.
        data: &'a [u8],
    },
    /// CONNECTION_CLOSE (0x1c transport, 0x1d application).
    ConnectionClose {
        /// The error code.
        error_code: u64,
        /// The frame type that caused the error (0x1c only).
        frame_type: Option<u64>,
        /// The reason phrase, as sent.
        reason: &'a [u8],
    },
}

/// Iterator over the frames of a decrypted payload.
///
/// Stops at the first malformed frame or at a frame type not allowed in
/// Initial packets; [`Frames::error`] tells which (`Unsupported` for the
/// latter).
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    buf: &'a [u8],
    pos: usize,
    error: Option<Error>,
}

impl<'a> Frames<'a> {
    /// Walks the frames of `payload`.
    pub fn new(payload: &'a [u8]) -> Self {
        Frames {
            buf: payload,
            pos: 0,
            error: None,
        }
    }
    /// Why the walk stopped before the end, if it did.
    pub fn error(&self) -> Option<Error> {
        self.error
    }

    fn parse(&self, off: usize) -> Result<(Frame<'a>, usize)> {
        let buf = self.buf;
        let start = off;
        let (typ, mut off) = read_varint(buf, off)?;
        match typ {
            0x00 => {
                let run = buf
                    .get(off..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|&&b| b == 0)
                    .count();
                off += run;
                Ok((Frame::Padding(off - start), off))
            }
            0x01 => Ok((Frame::Ping, off)),
            // ACK Frame {                          RFC 9000 section 19.3
            //   Type (i) = 0x02..0x03,
            //   Largest Acknowledged (i),
            //   ACK Delay (i),
            //   ACK Range Count (i),
            //   First ACK Range (i),
            //   ACK Range (..) ...,                Gap (i), ACK Range Length (i)
            //   [ECN Counts (..)],                 ECT0, ECT1, ECN-CE (i) if 0x03
            // }
            0x02 | 0x03 => {
                let (largest, next) = read_varint(buf, off)?;
                let (_delay, next) = read_varint(buf, next)?;
                let (count, next) = read_varint(buf, next)?;
                let (_first_range, next) = read_varint(buf, next)?;
                off = next;
                // Each range takes at least two bytes, so a hostile count
                // ends with `Truncated` once the buffer is exhausted.
                let mut remaining = count;
                while remaining > 0 {
                    let (_gap, next) = read_varint(buf, off)?;
                    let (_len, next) = read_varint(buf, next)?;
                    off = next;
                    remaining -= 1;
                }
                if typ == 0x03 {
                    for _ in 0..3 {
                        off = read_varint(buf, off)?.1;
                    }
                }
                Ok((Frame::Ack { largest }, off))
            }
            // CRYPTO Frame {                       RFC 9000 section 19.6
            //   Type (i) = 0x06,
            //   Offset (i),
            //   Length (i),
            //   Crypto Data (..),
            // }
            0x06 => {
                let (offset, next) = read_varint(buf, off)?;
                let (len, next) = read_len(buf, next)?;
                let data = be::slice(buf, next, len)?;
                if exceeds_stream_limit(offset, len) {
                    return Err(Error::bad_length(off));
                }
                Ok((Frame::Crypto { offset, data }, next + len))
            }
            // CONNECTION_CLOSE Frame {             RFC 9000 section 19.19
            //   Type (i) = 0x1c..0x1d,
            //   Error Code (i),
            //   [Frame Type (i)],                  0x1c only
            //   Reason Phrase Length (i),
            //   Reason Phrase (..),
            // }
            0x1c | 0x1d => {
                let (error_code, mut next) = read_varint(buf, off)?;
                let frame_type = if typ == 0x1c {
                    let (ft, n) = read_varint(buf, next)?;
                    next = n;
                    Some(ft)
                } else {
                    None
                };
                let (len, next) = read_len(buf, next)?;
                let reason = be::slice(buf, next, len)?;
                let frame = Frame::ConnectionClose {
                    error_code,
                    frame_type,
                    reason,
                };
                Ok((frame, next + len))
            }
            _ => Err(Error::new(ErrorKind::Unsupported, start)),
        }
    }
}

/// True when `offset + len` passes the 2^62 - 1 limit of a stream (RFC 9000
/// section 19.6).
fn exceeds_stream_limit(offset: u64, len: usize) -> bool {
    let len = u64::try_from(len).unwrap_or(u64::MAX);
    offset.checked_add(len).is_none_or(|end| end >= 1 << 62)
}

impl<'a> Iterator for Frames<'a> {
    type Item = Frame<'a>;

    fn next(&mut self) -> Option<Frame<'a>> {
        if self.error.is_some() || self.pos >= self.buf.len() {
            return None;
        }
        match self.parse(self.pos) {
            Ok((frame, next)) => {
                self.pos = next;
                Some(frame)
            }
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Google QUIC
// ---------------------------------------------------------------------------

/// The gQUIC version tag of a client packet, as a big-endian u32 of its four
/// ASCII bytes (`"Q043"` is 0x5130_3433).
///
/// Two layouts are recognised:
///
/// ```text
/// Q043 and earlier, public header (flag 0x01 = version present,
/// 0x08 = 8-byte connection ID present, 0x80 unused):
///   +--------+--------+--------+--------+--------+---  ---+
///   | flags  | Connection ID (0 or 64) ... | version (32) |
///   +--------+--------+--------+--------+--------+---  ---+
/// Q046 and later, IETF long header form:
///   | 1 1 T T x x x x | version (32) | ...
/// ```
pub fn gquic_version(buf: &[u8]) -> Option<u32> {
    let flags = be::u8_at(buf, field::GQUIC_FLAGS).ok()?;
    let version = if flags & 0x80 != 0 {
        be::u32_at(buf, field::VERSION).ok()?
    } else {
        if flags & 0x01 == 0 || flags & 0x02 != 0 {
            return None;
        }
        let cid_len = if flags & 0x08 != 0 {
            field::GQUIC_CID_LEN
        } else {
            0
        };
        be::u32_at(buf, 1 + cid_len).ok()?
    };
    (version.to_be_bytes().first() == Some(&b'Q') && is_gquic_tag(version)).then_some(version)
}

/// The SNI tag of a clear-text gQUIC CHLO (versions up to Q046), if the
/// packet carries one and it is a DNS name.
///
/// The CHLO is located by its tag rather than by walking the gQUIC frame
/// layer, whose layout changed from version to version (the same approach as
/// nDPI's `quic.c`). Its tag-value map:
///
/// ```text
/// tag "CHLO" (32) | num entries (16, LE) | padding (16)
/// num entries x { tag (32) | end offset (32, LE) }
/// values, each ending at its entry's end offset
/// ```
pub fn gquic_chlo_sni(buf: &[u8]) -> Option<&str> {
    let version = gquic_version(buf)?;
    if gquic_number(version) > 46 {
        return None;
    }
    let start = buf.windows(4).position(|w| w == b"CHLO")?;
    let msg = buf.get(start..)?;
    let n = usize::from(u16::from_le_bytes([
        be::u8_at(msg, field::CHLO_N_ENTRIES).ok()?,
        be::u8_at(msg, field::CHLO_N_ENTRIES + 1).ok()?,
    ]));
    let entries = be::slice(
        msg,
        field::CHLO_ENTRIES,
        n.checked_mul(field::CHLO_ENTRY_LEN)?,
    )
    .ok()?;
    let values = msg.get(field::CHLO_ENTRIES + entries.len()..)?;
    let mut prev_end = 0usize;
    for entry in entries.chunks_exact(field::CHLO_ENTRY_LEN) {
        let (tag, end) = entry.split_at(4);
        let end = usize::try_from(u32::from_le_bytes(end.try_into().ok()?)).ok()?;
        if end < prev_end {
            return None;
        }
        if tag == b"SNI\0" {
            let name = values.get(prev_end..end)?;
            let valid = !name.is_empty()
                && name.len() <= 253
                && name
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'));
            return if valid {
                core::str::from_utf8(name).ok()
            } else {
                None
            };
        }
        prev_end = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::{ClientHello, HandshakeType};

    /// RFC 9001 appendix A.2: the client Initial, protected.
    const RFC9001_CLIENT_INITIAL: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/rfc9001_client_initial.bin");
    /// RFC 9369 appendix A.2: the same ClientHello in a QUIC v2 Initial.
    const RFC9369_CLIENT_INITIAL: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/rfc9369_client_initial.bin");
    /// The DCID the RFC test vectors derive their keys from.
    const RFC_DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];

    const QUICGO_INITIAL: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/quic_quicgo_initial.bin");
    const CHROMIUM115_INITIAL: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/quic_chromium115_initial.bin");
    const CURL_INITIAL: &[u8] = include_bytes!("../../fixtures/payloads/tls/quic_curl_initial.bin");
    const DRAFT29_INITIAL: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/quic_draft29_initial.bin");
    const V2_INITIAL: &[u8] = include_bytes!("../../fixtures/payloads/tls/quic_v2_initial.bin");
    const MVFST27_INITIAL: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/quic_mvfst27_initial.bin");
    const FRAGS_INITIAL_1: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/quic_frags_initial_1.bin");
    const FRAGS_INITIAL_2: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/quic_frags_initial_2.bin");
    const GQUIC_Q024: &[u8] = include_bytes!("../../fixtures/payloads/tls/gquic_q024_chlo.bin");
    const GQUIC_Q035: &[u8] = include_bytes!("../../fixtures/payloads/tls/gquic_q035_chlo.bin");
    const GQUIC_Q050: &[u8] = include_bytes!("../../fixtures/payloads/tls/gquic_q050_chlo.bin");

    /// Decrypts the client Initials of one connection and returns the
    /// reassembled ClientHello message.
    fn client_hello_message(datagrams: &[&[u8]]) -> Vec<u8> {
        let mut asm = HandshakeAssembler::default();
        let mut scratch = [0u8; 2048];
        let mut original_dcid = None;
        for datagram in datagrams {
            for h in LongHeaderPackets::new(datagram) {
                if h.packet_type() != Some(LongPacketType::Initial) {
                    continue;
                }
                let dcid = *original_dcid.get_or_insert(h.dcid());
                let payload = decrypt_initial(h.packet(), dcid, &mut scratch).unwrap();
                payload.push_crypto_frames(&mut asm).unwrap();
            }
        }
        let hs = asm.complete_handshake().expect("complete ClientHello");
        assert_eq!(hs.msg_type(), HandshakeType::ClientHello);
        asm.complete().unwrap().to_vec()
    }

    /// The validated SNI of the ClientHello of `datagrams`.
    fn client_hello_sni(datagrams: &[&[u8]]) -> Option<String> {
        let msg = client_hello_message(datagrams);
        let ch = ClientHello::parse(&msg[4..]).unwrap();
        ch.sni().map(str::to_owned)
    }

    /// The server_name of the ClientHello of `datagrams`, as sent.
    fn client_hello_server_name(datagrams: &[&[u8]]) -> Option<String> {
        let msg = client_hello_message(datagrams);
        let ch = ClientHello::parse(&msg[4..]).unwrap();
        ch.server_name_raw()
            .map(|n| String::from_utf8_lossy(n).into_owned())
    }

    #[test]
    fn parses_rfc9001_key_derivation() {
        let keys = client_initial_keys(&initial_params(VERSION_1).unwrap(), &RFC_DCID).unwrap();
        assert_eq!(
            keys.key,
            [
                0x1f, 0x36, 0x96, 0x13, 0xdd, 0x76, 0xd5, 0x46, 0x77, 0x30, 0xef, 0xcb, 0xe3, 0xb1,
                0xa2, 0x2d
            ]
        );
        assert_eq!(
            keys.iv,
            [0xfa, 0x04, 0x4b, 0x2f, 0x42, 0xa3, 0xfd, 0x3b, 0x46, 0xfb, 0x25, 0x5c]
        );
        assert_eq!(
            keys.hp,
            [
                0x9f, 0x50, 0x44, 0x9e, 0x04, 0xa0, 0xe8, 0x10, 0x28, 0x3a, 0x1e, 0x99, 0x33, 0xad,
                0xed, 0xd2
            ]
        );
    }

    #[test]
    fn parses_rfc9001_client_initial() {
        let h = LongHeader::new_checked(RFC9001_CLIENT_INITIAL).unwrap();
        assert_eq!(h.version(), VERSION_1);
        assert_eq!(h.packet_type(), Some(LongPacketType::Initial));
        assert_eq!(h.dcid(), RFC_DCID);
        assert!(h.scid().is_empty() && h.token().is_empty());
        assert_eq!(h.pn_offset(), Some(18));
        assert_eq!(h.packet().len(), 1200);
        assert_eq!(probe(RFC9001_CLIENT_INITIAL), Probe::Match);
        let mut scratch = [0u8; 1500];
        let payload = decrypt_initial(RFC9001_CLIENT_INITIAL, &RFC_DCID, &mut scratch).unwrap();
        assert_eq!(payload.packet_number(), 2);
        let frames: Vec<_> = payload.frames().collect();
        let Frame::Crypto { offset, data } = frames[0] else {
            panic!("first frame is {:?}", frames[0]);
        };
        assert_eq!((offset, data.len()), (0, 241));
        assert_eq!(&data[..4], [0x01, 0x00, 0x00, 0xed]);
        assert!(matches!(frames[1], Frame::Padding(917)));
        assert_eq!(frames.len(), 2);
        assert_eq!(
            client_hello_sni(&[RFC9001_CLIENT_INITIAL]).as_deref(),
            Some("example.com")
        );
    }

    #[test]
    fn parses_rfc9369_client_initial() {
        let h = LongHeader::new_checked(RFC9369_CLIENT_INITIAL).unwrap();
        assert_eq!(h.version(), VERSION_2);
        assert_eq!(h.packet_type(), Some(LongPacketType::Initial));
        let mut scratch = [0u8; 1500];
        let payload = decrypt_initial(RFC9369_CLIENT_INITIAL, &RFC_DCID, &mut scratch).unwrap();
        assert_eq!(payload.packet_number(), 2);
        assert_eq!(
            client_hello_sni(&[RFC9369_CLIENT_INITIAL]).as_deref(),
            Some("example.com")
        );
    }

    #[test]
    fn parses_client_initials_from_captures() {
        // quic-go's test client sends "server4:443": tshark shows it, and
        // `sni()` refuses it as not a DNS name.
        assert_eq!(
            client_hello_server_name(&[QUICGO_INITIAL]).as_deref(),
            Some("server4:443")
        );
        assert_eq!(client_hello_sni(&[QUICGO_INITIAL]), None);
        assert_eq!(
            client_hello_sni(&[CHROMIUM115_INITIAL]).as_deref(),
            Some("api.cirrus-ci.com")
        );
        assert_eq!(
            client_hello_sni(&[CURL_INITIAL]).as_deref(),
            Some("www.google.de")
        );
        assert_eq!(
            client_hello_sni(&[DRAFT29_INITIAL]).as_deref(),
            Some("localhost")
        );
        assert_eq!(client_hello_sni(&[V2_INITIAL]).as_deref(), Some("test"));
        assert_eq!(
            client_hello_sni(&[MVFST27_INITIAL]).as_deref(),
            Some("graph.facebook.com")
        );
    }

    #[test]
    fn parses_client_hello_split_over_initials() {
        let mut asm = HandshakeAssembler::default();
        let mut scratch = vec![0u8; 1500];
        let dcid = LongHeader::new_checked(FRAGS_INITIAL_1).unwrap().dcid();
        let p1 = decrypt_initial(FRAGS_INITIAL_1, dcid, &mut scratch).unwrap();
        p1.push_crypto_frames(&mut asm).unwrap();
        assert!(asm.complete().is_none());
        let sni = client_hello_sni(&[FRAGS_INITIAL_1, FRAGS_INITIAL_2]);
        // The capture's ClientHello carries no server_name.
        assert_eq!(sni, None);
    }

    #[test]
    fn rejects_wrong_keys_and_small_scratch() {
        let mut scratch = [0u8; 1500];
        let err = decrypt_initial(RFC9001_CLIENT_INITIAL, &[1, 2, 3, 4], &mut scratch).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Malformed);
        let mut small = [0u8; 100];
        let err = decrypt_initial(RFC9001_CLIENT_INITIAL, &RFC_DCID, &mut small).unwrap_err();
        assert_eq!(err.kind, ErrorKind::LimitExceeded);
        let err = decrypt_initial(&RFC9001_CLIENT_INITIAL[..600], &RFC_DCID, &mut scratch);
        assert_eq!(err.unwrap_err().kind, ErrorKind::Truncated);
        let err = decrypt_initial(GQUIC_Q050, &[0; 8], &mut scratch).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unsupported);
    }

    #[test]
    fn parses_version_negotiation_and_retry() {
        let vn = [
            0x80, 0, 0, 0, 0, 0x02, 0xaa, 0xbb, 0x01, 0xcc, 0x00, 0x00, 0x00, 0x01, 0x6b, 0x33,
            0x43, 0xcf,
        ];
        let h = LongHeader::new_checked(&vn).unwrap();
        assert_eq!(h.packet_type(), Some(LongPacketType::VersionNegotiation));
        assert_eq!(
            h.supported_versions().collect::<Vec<_>>(),
            [VERSION_1, VERSION_2]
        );
        assert_eq!(probe(&vn), Probe::Match);
        let mut retry = vec![0xf0, 0, 0, 0, 1, 0, 0x02, 0x11, 0x22, b't', b'o', b'k'];
        retry.extend_from_slice(&[0x5a; 16]);
        let h = LongHeader::new_checked(&retry).unwrap();
        assert_eq!(h.packet_type(), Some(LongPacketType::Retry));
        assert_eq!(h.token(), b"tok");
        assert!(h.payload().is_empty());
        // The same type bits mean Handshake in v2.
        let v2 = [0xf0, 0x6b, 0x33, 0x43, 0xcf, 0, 0, 0x01, 0x00];
        let h = LongHeader::new_checked(&v2).unwrap();
        assert_eq!(h.packet_type(), Some(LongPacketType::Handshake));
    }

    #[test]
    fn parses_coalesced_packets() {
        // An Initial (length 2) then a Handshake (length 1) then a short header.
        let datagram = [
            0xc0, 0, 0, 0, 1, 1, 0xaa, 0, 0, 0x02, 0x01, 0x02, // Initial
            0xe0, 0, 0, 0, 1, 1, 0xaa, 0, 0x01, 0x03, // Handshake
            0x40, 0x99, // short header
        ];
        let mut packets = LongHeaderPackets::new(&datagram);
        let types: Vec<_> = packets.by_ref().map(|h| h.packet_type()).collect();
        assert_eq!(
            types,
            [
                Some(LongPacketType::Initial),
                Some(LongPacketType::Handshake)
            ]
        );
        assert_eq!(packets.remainder(), [0x40, 0x99]);
        assert_eq!(packets.error(), None);
    }

    #[test]
    fn rejects_bad_long_headers() {
        assert_eq!(probe(&[0x40, 0, 0, 0, 1]), Probe::NoMatch);
        assert_eq!(probe(&[0xc0, 0, 0]), Probe::NeedMore);
        assert_eq!(probe(&[0xc0, 0x12, 0x34, 0x56, 0x78, 0]), Probe::NoMatch);
        let long_cid = [0xc0, 0, 0, 0, 1, 21];
        assert_eq!(
            LongHeader::new_checked(&long_cid).unwrap_err().kind,
            ErrorKind::BadLength
        );
        let no_fixed_bit = [0x80, 0, 0, 0, 1, 0, 0, 0, 1, 0];
        assert_eq!(
            LongHeader::new_checked(&no_fixed_bit).unwrap_err().kind,
            ErrorKind::Malformed
        );
        let too_long = [0xc0, 0, 0, 0, 1, 0, 0, 0, 0x10, 0];
        assert_eq!(
            LongHeader::new_checked(&too_long).unwrap_err().kind,
            ErrorKind::Truncated
        );
    }

    #[test]
    fn parses_varints_and_packet_numbers() {
        // RFC 9000 appendix A.1 examples.
        let v = [0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c];
        assert_eq!(read_varint(&v, 0), Ok((151_288_809_941_952_652, 8)));
        assert_eq!(
            read_varint(&[0x9d, 0x7f, 0x3e, 0x7d], 0),
            Ok((494_878_333, 4))
        );
        assert_eq!(read_varint(&[0x7b, 0xbd], 0), Ok((15_293, 2)));
        assert_eq!(read_varint(&[0x25], 0), Ok((37, 1)));
        assert_eq!(read_varint(&[0x40, 0x25], 0), Ok((37, 2)));
        assert!(read_varint(&[0x80, 0x00], 0).is_err());
        // RFC 9000 appendix A.3 example.
        assert_eq!(
            decode_packet_number(Some(0xa82f30ea), 0x9b32, 16),
            0xa82f9b32
        );
        assert_eq!(decode_packet_number(None, 2, 32), 2);
    }

    #[test]
    fn parses_gquic() {
        assert_eq!(
            gquic_version(GQUIC_Q024),
            Some(u32::from_be_bytes(*b"Q024"))
        );
        assert_eq!(
            gquic_version(GQUIC_Q035),
            Some(u32::from_be_bytes(*b"Q035"))
        );
        assert_eq!(
            gquic_version(GQUIC_Q050),
            Some(u32::from_be_bytes(*b"Q050"))
        );
        assert_eq!(gquic_chlo_sni(GQUIC_Q024), Some("mail.google.com"));
        assert_eq!(
            gquic_chlo_sni(GQUIC_Q035),
            Some("pagead2.googlesyndication.com")
        );
        assert_eq!(gquic_chlo_sni(GQUIC_Q050), None);
        assert_eq!(probe(GQUIC_Q050), Probe::Match);
        let h = LongHeader::new_checked(GQUIC_Q050).unwrap();
        assert!(h.is_gquic());
        assert_eq!(h.packet_type(), Some(LongPacketType::Initial));
        assert_eq!(gquic_version(RFC9001_CLIENT_INITIAL), None);
        assert_eq!(gquic_version(QUICGO_INITIAL), None);
    }

    /// Runs every parser and accessor over `buf`; must never panic.
    fn exercise(buf: &[u8], scratch: &mut [u8]) {
        let _ = probe(buf);
        let _ = gquic_version(buf);
        let _ = gquic_chlo_sni(buf);
        let mut packets = LongHeaderPackets::new(buf);
        for h in packets.by_ref() {
            let _ = (
                h.first_byte(),
                h.version(),
                h.is_gquic(),
                h.dcid(),
                h.scid(),
            );
            let _ = (h.packet_type(), h.token(), h.pn_offset(), h.payload());
            let _ = h.supported_versions().count();
            let dcid = h.dcid();
            if let Ok(p) = decrypt_initial(h.packet(), dcid, scratch) {
                let _ = (p.version(), p.packet_number(), p.plaintext());
                let _ = p.frames().count();
                let mut asm = HandshakeAssembler::new(4096);
                let _ = p.push_crypto_frames(&mut asm);
            }
        }
        let _ = (packets.error(), packets.remainder());
        let mut frames = Frames::new(buf);
        let _ = frames.by_ref().count();
        let _ = frames.error();
    }

    #[test]
    fn parses_any_mutation_without_panic() {
        let mut scratch = vec![0u8; 2048];
        let vectors: [&[u8]; 15] = [
            RFC9001_CLIENT_INITIAL,
            RFC9369_CLIENT_INITIAL,
            QUICGO_INITIAL,
            CHROMIUM115_INITIAL,
            CURL_INITIAL,
            DRAFT29_INITIAL,
            V2_INITIAL,
            MVFST27_INITIAL,
            FRAGS_INITIAL_1,
            FRAGS_INITIAL_2,
            GQUIC_Q024,
            GQUIC_Q035,
            GQUIC_Q050,
            &[0x80, 0, 0, 0, 0, 0x02, 0xaa, 0xbb, 0x01, 0xcc, 0, 0, 0, 1],
            &[
                0xc0, 0, 0, 0, 1, 1, 0xaa, 0, 0, 0x02, 0x01, 0x02, 0xe0, 0, 0, 0, 1, 1, 0xaa, 0,
                0x01, 0x03,
            ],
        ];
        for v in vectors {
            for len in 0..=v.len() {
                exercise(&v[..len], &mut scratch);
            }
            let mut m = v.to_vec();
            for i in 0..m.len() {
                let orig = m[i];
                for b in [orig ^ 0xff, 0x00, 0xff] {
                    m[i] = b;
                    exercise(&m, &mut scratch);
                }
                m[i] = orig;
            }
        }
        // A decrypted payload as frames, mutated.
        let mut clear = [0u8; 1500];
        let payload = decrypt_initial(RFC9001_CLIENT_INITIAL, &RFC_DCID, &mut clear).unwrap();
        let plain = payload.plaintext()[..300].to_vec();
        for len in 0..=plain.len() {
            let _ = Frames::new(&plain[..len]).count();
        }
        let mut m = plain.clone();
        for i in 0..m.len() {
            let orig = m[i];
            for b in [orig ^ 0xff, 0x00, 0xff] {
                m[i] = b;
                let mut asm = HandshakeAssembler::new(1024);
                for f in Frames::new(&m) {
                    if let Frame::Crypto { offset, data } = f {
                        let _ = asm.push_at(offset, data);
                    }
                }
                let _ = asm.complete_handshake();
            }
            m[i] = orig;
        }
    }
}

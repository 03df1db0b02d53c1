//! TLS and DTLS records and the handshake messages that name a peer.
//!
//! Implemented:
//! - TLS record layer (RFC 5246 section 6.2.1, RFC 8446 section 5.1) and the
//!   DTLS record layer (RFC 6347 section 4.1, RFC 9147 section 4 including the
//!   DTLS 1.3 unified header of section 4.1);
//! - handshake headers (RFC 8446 section 4, RFC 6347 section 4.2.2 for the
//!   12-byte DTLS header with fragment fields) and a bounded reassembler of
//!   the first handshake message of a flow over TCP records, DTLS fragments
//!   or QUIC CRYPTO frames;
//! - ClientHello (RFC 8446 section 4.1.2, with the DTLS cookie of RFC 6347
//!   section 4.2.1) and ServerHello / HelloRetryRequest (RFC 8446 section
//!   4.1.3) with the extensions server_name (RFC 6066 section 3), ALPN
//!   (RFC 7301 section 3.1), supported_versions (RFC 8446 section 4.2.1),
//!   key_share (RFC 8446 section 4.2.8), use_srtp (RFC 5764 section 4.1.1)
//!   and the presence of encrypted_client_hello (draft-ietf-tls-esni,
//!   extension 0xfe0d);
//! - a small table of cipher suite properties (RFC 8446 appendix B.4,
//!   RFC 5246 appendix A.5, RFC 8422, RFC 7905);
//! - the certificate_list of the TLS 1.0-1.2 Certificate message (RFC 5246
//!   section 7.4.2), sent in cleartext before TLS 1.3; the names in its
//!   certificates are read by [`crate::x509`]. The assembler can follow the
//!   handshake stream past its first message (a ServerHello) to reach it.
//!
//! Not supported: decryption of anything (encrypted TLS 1.3 handshake
//! messages, ECH inner ClientHellos, DTLS 1.3 record number encryption), SSL 2
//! compatible ClientHellos, DTLS 1.3 records carrying a connection ID (its
//! length is negotiated, so such a record ends the walk), the TLS 1.3 form of
//! the Certificate message (RFC 8446 section 4.4.2: always encrypted), and
//! the contents of any extension not listed above (they are exposed as raw
//! `Extension` bytes). Key material (key shares, PSK identities, session
//! tickets) is never interpreted; only group identifiers are exposed.

use crate::error::{be, Error, ErrorKind, Probe, Result};
use core::marker::PhantomData;

/// Byte offsets of fixed fields.
mod field {
    /// TLS record header: type(1) version(2) length(2).
    pub const REC_TYPE: usize = 0;
    pub const REC_VERSION: usize = 1;
    pub const REC_LENGTH: usize = 3;
    pub const REC_HEADER_LEN: usize = 5;

    /// DTLS 1.0/1.2 record header: type(1) version(2) epoch(2) seq(6) length(2).
    pub const DREC_EPOCH: usize = 3;
    pub const DREC_SEQ: usize = 5;
    pub const DREC_LENGTH: usize = 11;
    pub const DREC_HEADER_LEN: usize = 13;

    /// Handshake header: msg_type(1) length(3) [DTLS: message_seq(2)
    /// fragment_offset(3) fragment_length(3)].
    pub const HS_TYPE: usize = 0;
    pub const HS_LENGTH: usize = 1;
    pub const HS_HEADER_LEN: usize = 4;
    pub const DHS_MESSAGE_SEQ: usize = 4;
    pub const DHS_FRAG_OFFSET: usize = 6;
    pub const DHS_FRAG_LENGTH: usize = 9;
    pub const DHS_HEADER_LEN: usize = 12;

    /// Hello messages: legacy_version(2) random(32) session_id<0..32>.
    pub const HELLO_VERSION: usize = 0;
    pub const HELLO_RANDOM: usize = 2;
    pub const HELLO_SESSION_ID: usize = 34;
    pub const RANDOM_LEN: usize = 32;
}

/// Largest TLS ciphertext fragment (RFC 8446 section 5.2: 2^14 + 256; RFC
/// 5246 allows 2^14 + 2048, which this accepts).
const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// The random of a HelloRetryRequest: SHA-256("HelloRetryRequest")
/// (RFC 8446 section 4.1.3).
const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

open_enum! {
    /// Record content type (RFC 8446 section 5.1, RFC 9147 section 4).
    pub enum ContentType: u8 {
        ChangeCipherSpec = 20,
        Alert = 21,
        Handshake = 22,
        ApplicationData = 23,
        Heartbeat = 24,
        /// DTLS 1.3 ACK (RFC 9147 section 7).
        Ack = 26,
    } else {
        /// A code point this parser has no name for.
        Unknown
    }
}

open_enum! {
    /// Handshake message type (RFC 8446 section 4, RFC 5246 section 7.4,
    /// RFC 6347 section 4.2.2).
    pub enum HandshakeType: u8 {
        HelloRequest = 0,
        ClientHello = 1,
        ServerHello = 2,
        HelloVerifyRequest = 3,
        NewSessionTicket = 4,
        EndOfEarlyData = 5,
        EncryptedExtensions = 8,
        Certificate = 11,
        ServerKeyExchange = 12,
        CertificateRequest = 13,
        ServerHelloDone = 14,
        CertificateVerify = 15,
        ClientKeyExchange = 16,
        Finished = 20,
        CertificateStatus = 22,
        KeyUpdate = 24,
        MessageHash = 254,
    } else {
        /// A code point this parser has no name for.
        Unknown
    }
}

open_enum! {
    /// TLS extension type (IANA "TLS ExtensionType Values").
    pub enum ExtensionType: u16 {
        ServerName = 0,
        MaxFragmentLength = 1,
        StatusRequest = 5,
        SupportedGroups = 10,
        EcPointFormats = 11,
        SignatureAlgorithms = 13,
        UseSrtp = 14,
        Heartbeat = 15,
        Alpn = 16,
        SignedCertificateTimestamp = 18,
        Padding = 21,
        EncryptThenMac = 22,
        ExtendedMasterSecret = 23,
        CompressCertificate = 27,
        RecordSizeLimit = 28,
        SessionTicket = 35,
        PreSharedKey = 41,
        EarlyData = 42,
        SupportedVersions = 43,
        Cookie = 44,
        PskKeyExchangeModes = 45,
        CertificateAuthorities = 47,
        PostHandshakeAuth = 49,
        SignatureAlgorithmsCert = 50,
        KeyShare = 51,
        QuicTransportParameters = 57,
        ApplicationSettings = 0x4469,
        EncryptedClientHello = 0xfe0d,
        /// The earlier encrypted_server_name draft (draft-ietf-tls-esni-00 to -02).
        EncryptedServerName = 0xffce,
        RenegotiationInfo = 0xff01,
    } else {
        /// A code point this parser has no name for.
        Unknown
    }
}

open_enum! {
    /// DTLS-SRTP protection profile (RFC 5764 section 4.1.2, RFC 7714 section 14.2).
    pub enum SrtpProfile: u16 {
        Aes128CmHmacSha1_80 = 0x0001 => "SRTP_AES128_CM_HMAC_SHA1_80",
        Aes128CmHmacSha1_32 = 0x0002 => "SRTP_AES128_CM_HMAC_SHA1_32",
        NullHmacSha1_80 = 0x0005 => "SRTP_NULL_HMAC_SHA1_80",
        NullHmacSha1_32 = 0x0006 => "SRTP_NULL_HMAC_SHA1_32",
        AeadAes128Gcm = 0x0007 => "SRTP_AEAD_AES_128_GCM",
        AeadAes256Gcm = 0x0008 => "SRTP_AEAD_AES_256_GCM",
    } else {
        /// A code point this parser has no name for.
        Unknown
    }
}

impl SrtpProfile {
    /// True for the profiles that authenticate but do not encrypt media.
    pub fn is_null_cipher(self) -> bool {
        matches!(
            self,
            SrtpProfile::NullHmacSha1_80 | SrtpProfile::NullHmacSha1_32
        )
    }
}

/// True for a GREASE value (RFC 8701 section 2): 0x?a?a with equal bytes.
#[inline]
pub const fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// A cipher suite code point (IANA "TLS Cipher Suites").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CipherSuite(pub u16);

impl CipherSuite {
    /// True for a GREASE value (RFC 8701).
    pub const fn is_grease(self) -> bool {
        is_grease(self.0)
    }
    /// Properties of this suite, see [`cipher_suite_info`].
    pub fn info(self) -> CipherInfo {
        cipher_suite_info(self.0)
    }
}

impl From<u16> for CipherSuite {
    fn from(v: u16) -> Self {
        CipherSuite(v)
    }
}

/// A key exchange group (IANA "TLS Supported Groups").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NamedGroup(pub u16);

impl NamedGroup {
    /// True for a GREASE value (RFC 8701).
    pub const fn is_grease(self) -> bool {
        is_grease(self.0)
    }
    /// True for post-quantum and hybrid post-quantum groups (ML-KEM, Kyber drafts).
    pub const fn is_post_quantum(self) -> bool {
        matches!(self.0, 0x0200..=0x0202 | 0x11eb..=0x11ed | 0x6399 | 0x639a)
    }
    /// The IANA name of a common group.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0017 => "secp256r1",
            0x0018 => "secp384r1",
            0x0019 => "secp521r1",
            0x001d => "x25519",
            0x001e => "x448",
            0x0100 => "ffdhe2048",
            0x0101 => "ffdhe3072",
            0x0200 => "MLKEM512",
            0x0201 => "MLKEM768",
            0x0202 => "MLKEM1024",
            0x11eb => "SecP256r1MLKEM768",
            0x11ec => "X25519MLKEM768",
            0x11ed => "SecP384r1MLKEM1024",
            0x6399 => "X25519Kyber768Draft00",
            _ => return None,
        })
    }
}

impl From<u16> for NamedGroup {
    fn from(v: u16) -> Self {
        NamedGroup(v)
    }
}

/// Properties of a cipher suite that matter for a security verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CipherInfo {
    /// `Some(true)` when the key exchange is ephemeral (ECDHE, DHE, or any
    /// TLS 1.3 suite), `Some(false)` for static RSA/PSK key transport, `None`
    /// when the suite is not in the table.
    pub forward_secret: Option<bool>,
    /// True for AEAD bulk ciphers (GCM, CCM, ChaCha20-Poly1305).
    pub aead: bool,
    /// True for NULL, EXPORT, RC4, DES and 3DES suites.
    pub weak: bool,
    /// IANA name without the `TLS_` prefix, when known.
    pub name: Option<&'static str>,
}

/// Looks a cipher suite up in a small table of common suites.
///
/// Unknown suites give `forward_secret: None, aead: false, weak: false,
/// name: None`: absence from the table is not a judgement.
pub fn cipher_suite_info(suite: u16) -> CipherInfo {
    // (forward secret, aead, weak, name)
    let (fs, aead, weak, name) = match suite {
        // TLS 1.3 (RFC 8446 appendix B.4): key exchange is always (EC)DHE.
        0x1301 => (true, true, false, "AES_128_GCM_SHA256"),
        0x1302 => (true, true, false, "AES_256_GCM_SHA384"),
        0x1303 => (true, true, false, "CHACHA20_POLY1305_SHA256"),
        0x1304 => (true, true, false, "AES_128_CCM_SHA256"),
        0x1305 => (true, true, false, "AES_128_CCM_8_SHA256"),
        // ECDHE (RFC 8422, RFC 5289, RFC 7905).
        0xc02b => (true, true, false, "ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
        0xc02c => (true, true, false, "ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
        0xc02f => (true, true, false, "ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        0xc030 => (true, true, false, "ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
        0xcca8 => (true, true, false, "ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
        0xcca9 => (
            true,
            true,
            false,
            "ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        ),
        0xc009 => (true, false, false, "ECDHE_ECDSA_WITH_AES_128_CBC_SHA"),
        0xc00a => (true, false, false, "ECDHE_ECDSA_WITH_AES_256_CBC_SHA"),
        0xc013 => (true, false, false, "ECDHE_RSA_WITH_AES_128_CBC_SHA"),
        0xc014 => (true, false, false, "ECDHE_RSA_WITH_AES_256_CBC_SHA"),
        0xc023 => (true, false, false, "ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"),
        0xc027 => (true, false, false, "ECDHE_RSA_WITH_AES_128_CBC_SHA256"),
        0xc011 => (true, false, true, "ECDHE_RSA_WITH_RC4_128_SHA"),
        0xc012 => (true, false, true, "ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"),
        // DHE (RFC 5246, RFC 5288, RFC 7905).
        0x009e => (true, true, false, "DHE_RSA_WITH_AES_128_GCM_SHA256"),
        0x009f => (true, true, false, "DHE_RSA_WITH_AES_256_GCM_SHA384"),
        0xccaa => (true, true, false, "DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
        0x0033 => (true, false, false, "DHE_RSA_WITH_AES_128_CBC_SHA"),
        0x0039 => (true, false, false, "DHE_RSA_WITH_AES_256_CBC_SHA"),
        0x0067 => (true, false, false, "DHE_RSA_WITH_AES_128_CBC_SHA256"),
        0x006b => (true, false, false, "DHE_RSA_WITH_AES_256_CBC_SHA256"),
        // Static RSA key transport (RFC 5246 appendix A.5, RFC 5288).
        0x009c => (false, true, false, "RSA_WITH_AES_128_GCM_SHA256"),
        0x009d => (false, true, false, "RSA_WITH_AES_256_GCM_SHA384"),
        0x002f => (false, false, false, "RSA_WITH_AES_128_CBC_SHA"),
        0x0035 => (false, false, false, "RSA_WITH_AES_256_CBC_SHA"),
        0x003c => (false, false, false, "RSA_WITH_AES_128_CBC_SHA256"),
        0x003d => (false, false, false, "RSA_WITH_AES_256_CBC_SHA256"),
        0x000a => (false, false, true, "RSA_WITH_3DES_EDE_CBC_SHA"),
        0x0005 => (false, false, true, "RSA_WITH_RC4_128_SHA"),
        0x0004 => (false, false, true, "RSA_WITH_RC4_128_MD5"),
        0x0009 => (false, false, true, "RSA_WITH_DES_CBC_SHA"),
        0x0003 => (false, false, true, "RSA_EXPORT_WITH_RC4_40_MD5"),
        0x0008 => (false, false, true, "RSA_EXPORT_WITH_DES40_CBC_SHA"),
        0x0000 => (false, false, true, "NULL_WITH_NULL_NULL"),
        0x0001 => (false, false, true, "RSA_WITH_NULL_MD5"),
        0x0002 => (false, false, true, "RSA_WITH_NULL_SHA"),
        0x003b => (false, false, true, "RSA_WITH_NULL_SHA256"),
        // Pre-shared keys without (EC)DHE (RFC 5487).
        0x00a8 => (false, true, false, "PSK_WITH_AES_128_GCM_SHA256"),
        0x00a9 => (false, true, false, "PSK_WITH_AES_256_GCM_SHA384"),
        // Signalling values, not real suites.
        0x00ff => {
            return CipherInfo {
                forward_secret: None,
                aead: false,
                weak: false,
                name: Some("EMPTY_RENEGOTIATION_INFO_SCSV"),
            }
        }
        0x5600 => {
            return CipherInfo {
                forward_secret: None,
                aead: false,
                weak: false,
                name: Some("FALLBACK_SCSV"),
            }
        }
        _ => {
            return CipherInfo {
                forward_secret: None,
                aead: false,
                weak: false,
                name: None,
            }
        }
    };
    CipherInfo {
        forward_secret: Some(fs),
        aead,
        weak,
        name: Some(name),
    }
}

// ---------------------------------------------------------------------------
// Record layer
// ---------------------------------------------------------------------------

/// True for the record versions of SSL 3.0 to TLS 1.3.
#[inline]
fn is_tls_version(v: u16) -> bool {
    (0x0300..=0x0304).contains(&v)
}

/// True for the DTLS versions 1.0 (0xfeff), 1.2 (0xfefd), 1.3 (0xfefc) and
/// the pre-RFC 4347 OpenSSL version 0x0100 (DTLS1_BAD_VER, still sent by
/// some VPN clients).
#[inline]
fn is_dtls_version(v: u16) -> bool {
    matches!(v, 0xfeff | 0xfefd | 0xfefc | 0x0100)
}

/// Cheap check for a TLS record at the start of a TCP stream.
///
/// Content type 20..=24, version 0x0300..=0x0304 and a non-zero length no
/// larger than 2^14 + 2048.
pub fn probe(buf: &[u8]) -> Probe {
    match buf.first() {
        None => return Probe::NeedMore,
        Some(20..=24) => {}
        Some(_) => return Probe::NoMatch,
    }
    match buf.get(field::REC_VERSION) {
        None => return Probe::NeedMore,
        Some(3) => {}
        Some(_) => return Probe::NoMatch,
    }
    let Ok(version) = be::u16_at(buf, field::REC_VERSION) else {
        return Probe::NeedMore;
    };
    if !is_tls_version(version) {
        return Probe::NoMatch;
    }
    match be::u16_at(buf, field::REC_LENGTH) {
        Err(_) => Probe::NeedMore,
        Ok(0) => Probe::NoMatch,
        Ok(len) if usize::from(len) > MAX_RECORD_LEN => Probe::NoMatch,
        Ok(_) => Probe::Match,
    }
}

/// Cheap check for a DTLS record at the start of a UDP datagram.
///
/// Either a DTLS 1.0/1.2 header (content type 20..=24 or 26, version 0xfeff,
/// 0xfefd, 0xfefc or the pre-standard 0x0100, a length that fits the datagram) or a DTLS 1.3 unified header
/// (first byte 0b001xxxxx, RFC 9147 section 4).
pub fn dtls_probe(buf: &[u8]) -> Probe {
    let Some(&first) = buf.first() else {
        return Probe::NeedMore;
    };
    if first & 0xe0 == 0x20 {
        // Unified header: without a length field the record runs to the end.
        return if buf.len() >= 2 {
            Probe::Match
        } else {
            Probe::NeedMore
        };
    }
    if !matches!(first, 20..=24 | 26) {
        return Probe::NoMatch;
    }
    let Ok(version) = be::u16_at(buf, field::REC_VERSION) else {
        return match buf.get(field::REC_VERSION) {
            Some(0xfe | 0x01) | None => Probe::NeedMore,
            Some(_) => Probe::NoMatch,
        };
    };
    if !is_dtls_version(version) {
        return Probe::NoMatch;
    }
    match be::u16_at(buf, field::DREC_LENGTH) {
        Err(_) => Probe::NeedMore,
        Ok(len) if usize::from(len) > MAX_RECORD_LEN => Probe::NoMatch,
        Ok(len) if usize::from(len) > buf.len().saturating_sub(field::DREC_HEADER_LEN) => {
            Probe::NoMatch
        }
        Ok(_) => Probe::Match,
    }
}

/// One TLS record (plaintext header; the fragment may be ciphertext).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlsRecord<'a> {
    /// The record's content type.
    pub content_type: ContentType,
    /// The record-layer version (legacy_record_version in TLS 1.3).
    pub version: u16,
    /// The record body.
    pub fragment: &'a [u8],
}

/// Iterator over the complete TLS records at the start of a byte slice.
///
/// Stops at the first incomplete or malformed record; [`TlsRecords::error`]
/// tells which, and [`TlsRecords::consumed`] how many bytes were whole records.
#[derive(Debug, Clone)]
pub struct TlsRecords<'a> {
    buf: &'a [u8],
    pos: usize,
    error: Option<Error>,
}

impl<'a> TlsRecords<'a> {
    /// Walks the records in `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        TlsRecords {
            buf,
            pos: 0,
            error: None,
        }
    }
    /// Why the walk stopped before the end of the buffer, if it did.
    pub fn error(&self) -> Option<Error> {
        self.error
    }
    /// Bytes taken by the records yielded so far.
    pub fn consumed(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for TlsRecords<'a> {
    type Item = TlsRecord<'a>;

    // struct {
    //     ContentType type;
    //     ProtocolVersion legacy_record_version;
    //     uint16 length;
    //     opaque fragment[TLSPlaintext.length];
    // } TLSPlaintext;                              RFC 8446 section 5.1
    fn next(&mut self) -> Option<TlsRecord<'a>> {
        next_record(self.buf, &mut self.pos, &mut self.error, parse_tls_record)
    }
}

/// One step of a record walk shared by [`TlsRecords`] and [`DtlsRecords`]:
/// parses the record at `pos`, advances past it, or records where and why
/// the walk stopped (with the offset in the whole buffer).
fn next_record<'a, R>(
    buf: &'a [u8],
    pos: &mut usize,
    error: &mut Option<Error>,
    parse: fn(&'a [u8]) -> Result<(R, usize)>,
) -> Option<R> {
    if error.is_some() {
        return None;
    }
    let rest = buf.get(*pos..).filter(|r| !r.is_empty())?;
    match parse(rest) {
        Ok((record, len)) => {
            *pos = pos.saturating_add(len);
            Some(record)
        }
        Err(e) => {
            *error = Some(Error::new(e.kind, pos.saturating_add(e.offset)));
            None
        }
    }
}

/// Parses one TLS record; returns it and its total length.
fn parse_tls_record(buf: &[u8]) -> Result<(TlsRecord<'_>, usize)> {
    let content_type = ContentType::from(be::u8_at(buf, field::REC_TYPE)?);
    let version = be::u16_at(buf, field::REC_VERSION)?;
    if !is_tls_version(version) {
        return Err(Error::new(ErrorKind::BadVersion, field::REC_VERSION));
    }
    let len = usize::from(be::u16_at(buf, field::REC_LENGTH)?);
    if len > MAX_RECORD_LEN {
        return Err(Error::bad_length(field::REC_LENGTH));
    }
    let fragment = be::slice(buf, field::REC_HEADER_LEN, len)?;
    let record = TlsRecord {
        content_type,
        version,
        fragment,
    };
    Ok((record, field::REC_HEADER_LEN + len))
}

/// One DTLS record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtlsRecord<'a> {
    /// The content type; `ApplicationData` for a DTLS 1.3 ciphertext record,
    /// whose real type is encrypted.
    pub content_type: ContentType,
    /// The record version; 0xfefc for a DTLS 1.3 unified header.
    pub version: u16,
    /// The epoch; only its two low bits for a unified header.
    pub epoch: u16,
    /// The 48-bit sequence number; for a unified header the 8 or 16 low bits
    /// as sent, which are protected by record number encryption.
    pub sequence_number: u64,
    /// True when the record used the DTLS 1.3 unified (ciphertext) header.
    pub is_unified_header: bool,
    /// The record body.
    pub fragment: &'a [u8],
}

/// Iterator over the DTLS records of one UDP datagram.
///
/// Stops at the first malformed record; [`DtlsRecords::error`] tells why.
#[derive(Debug, Clone)]
pub struct DtlsRecords<'a> {
    buf: &'a [u8],
    pos: usize,
    error: Option<Error>,
}

impl<'a> DtlsRecords<'a> {
    /// Walks the records of a datagram.
    pub fn new(datagram: &'a [u8]) -> Self {
        DtlsRecords {
            buf: datagram,
            pos: 0,
            error: None,
        }
    }
    /// Why the walk stopped before the end of the datagram, if it did.
    pub fn error(&self) -> Option<Error> {
        self.error
    }
}

impl<'a> Iterator for DtlsRecords<'a> {
    type Item = DtlsRecord<'a>;

    fn next(&mut self) -> Option<DtlsRecord<'a>> {
        next_record(self.buf, &mut self.pos, &mut self.error, parse_dtls_record)
    }
}

// DTLS 1.0/1.2 (RFC 6347 section 4.1) and DTLS 1.3 plaintext (RFC 9147 section 4):
//
//   struct {
//       ContentType type;
//       ProtocolVersion version;
//       uint16 epoch;
//       uint48 sequence_number;
//       uint16 length;
//       opaque fragment[DTLSPlaintext.length];
//   } DTLSPlaintext;
//
// DTLS 1.3 ciphertext, unified header (RFC 9147 section 4):
//
//    0 1 2 3 4 5 6 7
//   +-+-+-+-+-+-+-+-+
//   |0|0|1|C|S|L|E E|
//   +-+-+-+-+-+-+-+-+
//   | Connection ID |   present if C (length negotiated: unsupported)
//   +-+-+-+-+-+-+-+-+
//   |  8 or 16 bit  |   16 bits if S
//   |Sequence Number|
//   +-+-+-+-+-+-+-+-+
//   | 16 bit Length |   present if L, else the record fills the datagram
//   +-+-+-+-+-+-+-+-+
fn parse_dtls_record(buf: &[u8]) -> Result<(DtlsRecord<'_>, usize)> {
    let first = be::u8_at(buf, 0)?;
    if first & 0xe0 == 0x20 {
        if first & 0x10 != 0 {
            return Err(Error::new(ErrorKind::Unsupported, 0));
        }
        let (sequence_number, mut off) = if first & 0x08 != 0 {
            (u64::from(be::u16_at(buf, 1)?), 3)
        } else {
            (u64::from(be::u8_at(buf, 1)?), 2)
        };
        let len = if first & 0x04 != 0 {
            let len = usize::from(be::u16_at(buf, off)?);
            off += 2;
            len
        } else {
            buf.len().saturating_sub(off)
        };
        let fragment = be::slice(buf, off, len)?;
        let record = DtlsRecord {
            content_type: ContentType::ApplicationData,
            version: 0xfefc,
            epoch: u16::from(first & 0x03),
            sequence_number,
            is_unified_header: true,
            fragment,
        };
        return Ok((record, off + len));
    }
    let content_type = ContentType::from(first);
    let version = be::u16_at(buf, field::REC_VERSION)?;
    if !is_dtls_version(version) {
        return Err(Error::new(ErrorKind::BadVersion, field::REC_VERSION));
    }
    let epoch = be::u16_at(buf, field::DREC_EPOCH)?;
    let seq_hi = u64::from(be::u16_at(buf, field::DREC_SEQ)?);
    let seq_lo = u64::from(be::u32_at(buf, field::DREC_SEQ + 2)?);
    let len = usize::from(be::u16_at(buf, field::DREC_LENGTH)?);
    let fragment = be::slice(buf, field::DREC_HEADER_LEN, len)?;
    let record = DtlsRecord {
        content_type,
        version,
        epoch,
        sequence_number: seq_hi << 32 | seq_lo,
        is_unified_header: false,
        fragment,
    };
    Ok((record, field::DREC_HEADER_LEN + len))
}

// ---------------------------------------------------------------------------
// Handshake messages
// ---------------------------------------------------------------------------

/// The DTLS fragment fields of a handshake header (RFC 6347 section 4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtlsFragment {
    /// Handshake message sequence number.
    pub message_seq: u16,
    /// Offset of this fragment in the message body.
    pub fragment_offset: u32,
    /// Length of this fragment.
    pub fragment_length: u32,
}

/// A handshake message header and the body bytes that follow it.
///
/// For TLS the body is the whole message; for DTLS it is one fragment of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake<'a> {
    msg_type: HandshakeType,
    length: u32,
    dtls: Option<DtlsFragment>,
    body: &'a [u8],
    wire_len: usize,
}

impl<'a> Handshake<'a> {
    // struct {
    //     HandshakeType msg_type;
    //     uint24 length;
    //     select (msg_type) { ... } body;
    // } Handshake;                                 RFC 8446 section 4
    /// Parses a complete TLS handshake message at the start of `buf`.
    ///
    /// `Truncated` if the message continues beyond `buf` (feed the record
    /// fragments to a [`HandshakeAssembler`] then).
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let msg_type = HandshakeType::from(be::u8_at(buf, field::HS_TYPE)?);
        let length = be::u24_at(buf, field::HS_LENGTH)?;
        let body = be::slice(buf, field::HS_HEADER_LEN, length as usize)?;
        Ok(Handshake {
            msg_type,
            length,
            dtls: None,
            body,
            wire_len: field::HS_HEADER_LEN + body.len(),
        })
    }

    // struct {
    //     HandshakeType msg_type;
    //     uint24 length;
    //     uint16 message_seq;
    //     uint24 fragment_offset;
    //     uint24 fragment_length;
    //     select (msg_type) { ... } body;
    // } Handshake;                                 RFC 6347 section 4.2.2
    /// Parses one DTLS handshake fragment at the start of `buf`.
    pub fn new_checked_dtls(buf: &'a [u8]) -> Result<Self> {
        let msg_type = HandshakeType::from(be::u8_at(buf, field::HS_TYPE)?);
        let length = be::u24_at(buf, field::HS_LENGTH)?;
        let message_seq = be::u16_at(buf, field::DHS_MESSAGE_SEQ)?;
        let fragment_offset = be::u24_at(buf, field::DHS_FRAG_OFFSET)?;
        let fragment_length = be::u24_at(buf, field::DHS_FRAG_LENGTH)?;
        let in_bounds =
            matches!(fragment_offset.checked_add(fragment_length), Some(end) if end <= length);
        if !in_bounds {
            return Err(Error::bad_length(field::DHS_FRAG_LENGTH));
        }
        let body = be::slice(buf, field::DHS_HEADER_LEN, fragment_length as usize)?;
        Ok(Handshake {
            msg_type,
            length,
            dtls: Some(DtlsFragment {
                message_seq,
                fragment_offset,
                fragment_length,
            }),
            body,
            wire_len: field::DHS_HEADER_LEN + body.len(),
        })
    }

    /// The message type.
    pub fn msg_type(&self) -> HandshakeType {
        self.msg_type
    }
    /// The length of the whole message body.
    pub fn length(&self) -> u32 {
        self.length
    }
    /// The DTLS fragment fields, `None` for TLS.
    pub fn dtls_fragment(&self) -> Option<DtlsFragment> {
        self.dtls
    }
    /// The body bytes carried here (the whole body unless a DTLS fragment).
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
    /// True when the body here is the whole message (always for TLS).
    pub fn is_complete_fragment(&self) -> bool {
        match self.dtls {
            None => true,
            Some(f) => f.fragment_offset == 0 && f.fragment_length == self.length,
        }
    }
}

/// Iterator over the handshake messages (TLS) or fragments (DTLS) in one
/// record's fragment. Stops at the first incomplete or malformed one.
#[derive(Debug, Clone)]
pub struct Handshakes<'a> {
    rest: &'a [u8],
    dtls: bool,
}

impl<'a> Handshakes<'a> {
    /// Walks the TLS handshake messages of a record fragment.
    pub fn tls(fragment: &'a [u8]) -> Self {
        Handshakes {
            rest: fragment,
            dtls: false,
        }
    }
    /// Walks the DTLS handshake fragments of a record fragment.
    pub fn dtls(fragment: &'a [u8]) -> Self {
        Handshakes {
            rest: fragment,
            dtls: true,
        }
    }
}

impl<'a> Iterator for Handshakes<'a> {
    type Item = Handshake<'a>;

    fn next(&mut self) -> Option<Handshake<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let parsed = if self.dtls {
            Handshake::new_checked_dtls(self.rest)
        } else {
            Handshake::new_checked(self.rest)
        };
        match parsed {
            Ok(h) => {
                self.rest = self.rest.get(h.wire_len..).unwrap_or_default();
                Some(h)
            }
            Err(_) => {
                self.rest = &[];
                None
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Reassembly
// ---------------------------------------------------------------------------

/// Default capacity of a [`HandshakeAssembler`]: 16 KiB.
pub const DEFAULT_ASSEMBLER_CAPACITY: usize = 16 * 1024;

/// How many disjoint byte ranges an assembler tracks before giving up.
const MAX_RANGES: usize = 16;

/// Bounded reassembler of the first handshake message of one flow direction.
///
/// Handshake messages span records, TCP segments, DTLS fragments and QUIC
/// CRYPTO frames. The assembler gathers the bytes of the handshake byte
/// stream (TLS form: 4-byte header then body) until the first message is
/// complete, then ignores further input. It is the one type of this crate
/// that owns a buffer: `capacity` bytes, allocated once on first use and kept
/// across [`reset`](Self::reset), so the engine can keep one per flow and
/// reuse it. Input that would need more than `capacity` bytes, or more than
/// sixteen disjoint pieces, is refused with `LimitExceeded`; it never grows.
///
/// To read the messages after the first (the Certificate after a TLS 1.2
/// ServerHello), call [`set_keep_later_messages`](Self::set_keep_later_messages)
/// before feeding it, then [`next_message`](Self::next_message) to drop the
/// first complete message and make the next one first. Handshake records
/// after a ChangeCipherSpec record are encrypted and are not kept
/// ([`saw_change_cipher_spec`](Self::saw_change_cipher_spec)).
///
/// Feed it exactly one of: in-order TCP payload ([`push_tls_stream`](Self::push_tls_stream)),
/// whole TLS handshake record fragments ([`push_record_fragment`](Self::push_record_fragment)),
/// DTLS handshake fragments ([`push_dtls_fragment`](Self::push_dtls_fragment))
/// or QUIC CRYPTO frame data ([`push_at`](Self::push_at)).
#[derive(Debug, Clone)]
pub struct HandshakeAssembler {
    buf: Vec<u8>,
    capacity: usize,
    /// Received byte ranges of the handshake stream, sorted and disjoint.
    ranges: [(usize, usize); MAX_RANGES],
    n_ranges: usize,
    /// Next handshake-stream offset for record-by-record input.
    stream_offset: usize,
    /// TLS record framing state for `push_tls_stream`.
    record_header: [u8; field::REC_HEADER_LEN],
    record_header_len: usize,
    record_remaining: usize,
    record_is_handshake: bool,
    /// The DTLS message sequence number being assembled.
    dtls_seq: Option<u16>,
    /// Set after an error: the stream can no longer be followed.
    failed: bool,
    /// Keep the bytes after the first message (up to `capacity`).
    keep_later: bool,
    /// Handshake-stream offset of `buf[0]`: the length of the messages
    /// dropped by `next_message`.
    base: usize,
    /// A ChangeCipherSpec record was seen: later handshake records are
    /// ciphertext.
    cipher_changed: bool,
}

impl Default for HandshakeAssembler {
    fn default() -> Self {
        HandshakeAssembler::new(DEFAULT_ASSEMBLER_CAPACITY)
    }
}

impl HandshakeAssembler {
    /// An empty assembler that will hold at most `capacity` bytes. Allocates
    /// nothing until the first byte arrives.
    pub fn new(capacity: usize) -> Self {
        HandshakeAssembler {
            buf: Vec::new(),
            capacity,
            ranges: [(0, 0); MAX_RANGES],
            n_ranges: 0,
            stream_offset: 0,
            record_header: [0; field::REC_HEADER_LEN],
            record_header_len: 0,
            record_remaining: 0,
            record_is_handshake: false,
            dtls_seq: None,
            failed: false,
            keep_later: false,
            base: 0,
            cipher_changed: false,
        }
    }

    /// Forgets everything, keeping the allocated buffer for the next flow.
    pub fn reset(&mut self) {
        let buf = core::mem::take(&mut self.buf);
        *self = HandshakeAssembler::new(self.capacity);
        self.buf = buf;
    }

    /// The maximum number of bytes this assembler holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// True once an error made the assembler stop following the stream.
    pub fn is_failed(&self) -> bool {
        self.failed
    }

    /// Keeps the handshake bytes that follow the first message, up to
    /// `capacity` in all, so that [`next_message`](Self::next_message) can
    /// move on to them. For TCP stream, record and QUIC input, not DTLS
    /// fragments. Off by default: the first message is all most flows need.
    pub fn set_keep_later_messages(&mut self, keep: bool) {
        self.keep_later = keep;
    }

    /// Drops the first message once it is complete, so that the message
    /// after it becomes the first (its bytes already received are kept when
    /// [`set_keep_later_messages`](Self::set_keep_later_messages) is on).
    /// False, and nothing changes, while the first message is incomplete.
    pub fn next_message(&mut self) -> bool {
        let Some(end) = self.complete().map(<[u8]>::len) else {
            return false;
        };
        self.buf.drain(..end);
        let mut ranges = [(0, 0); MAX_RANGES];
        let mut n = 0;
        for &(s, e) in self.ranges.iter().take(self.n_ranges) {
            if e <= end {
                continue;
            }
            if let Some(slot) = ranges.get_mut(n) {
                *slot = (s.saturating_sub(end), e - end);
                n += 1;
            }
        }
        self.ranges = ranges;
        self.n_ranges = n;
        self.base += end;
        true
    }

    /// True once a ChangeCipherSpec record went by in
    /// [`push_tls_stream`](Self::push_tls_stream) input: the handshake
    /// records after it are encrypted (RFC 5246 section 7.1) and not kept.
    pub fn saw_change_cipher_spec(&self) -> bool {
        self.cipher_changed
    }

    /// The first complete handshake message, header included (TLS form:
    /// type, 24-bit length, body), ready for [`Handshake::new_checked`].
    pub fn complete(&self) -> Option<&[u8]> {
        let end = self.message_end()?;
        let (start, have) = self.ranges.first().copied()?;
        if self.n_ranges == 0 || start != 0 || have < end {
            return None;
        }
        self.buf.get(..end)
    }

    /// The first complete message as a parsed [`Handshake`].
    pub fn complete_handshake(&self) -> Option<Handshake<'_>> {
        Handshake::new_checked(self.complete()?).ok()
    }

    /// Total length of the first message, once its header is in.
    fn message_end(&self) -> Option<usize> {
        let (start, end) = self.ranges.first().copied()?;
        if self.n_ranges == 0 || start != 0 || end < field::HS_HEADER_LEN {
            return None;
        }
        let len = be::u24_at(&self.buf, field::HS_LENGTH).ok()?;
        Some(field::HS_HEADER_LEN + len as usize)
    }

    /// Stores handshake-stream bytes at `offset` (QUIC CRYPTO frame offset,
    /// or the running offset of TLS/DTLS input).
    ///
    /// Bytes beyond the first message are dropped and input once the first
    /// message is complete is ignored, unless later messages are kept; then
    /// bytes beyond `capacity` are refused with `LimitExceeded`.
    pub fn push_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        if self.failed {
            return Err(Error::new(ErrorKind::LimitExceeded, 0));
        }
        let r = self.write_at(offset, data);
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        if data.is_empty() || (!self.keep_later && self.complete().is_some()) {
            return Ok(());
        }
        let limit_err = Error::new(ErrorKind::LimitExceeded, 0);
        let offset = usize::try_from(offset).map_err(|_| limit_err)?;
        // Bytes before `base` belong to messages already dropped.
        let (start, data) = match offset.checked_sub(self.base) {
            Some(start) => (start, data),
            None => match data.get(self.base - offset..) {
                Some(rest) if !rest.is_empty() => (0, rest),
                _ => return Ok(()),
            },
        };
        let limit = match self.message_end() {
            Some(end) if end > self.capacity => return Err(limit_err),
            Some(end) if !self.keep_later => end,
            _ => self.capacity,
        };
        if start >= limit {
            return if self.message_end().is_some() && !self.keep_later {
                Ok(())
            } else {
                Err(limit_err)
            };
        }
        if self.keep_later && start.saturating_add(data.len()) > limit {
            return Err(limit_err);
        }
        let end = start.saturating_add(data.len()).min(limit);
        let take = data.get(..end - start).ok_or(limit_err)?;
        // Grow only to what this piece needs (zero-filling the whole
        // capacity for every flow would cost more than the parse).
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        self.buf
            .get_mut(start..end)
            .ok_or(limit_err)?
            .copy_from_slice(take);
        self.add_range(start, end)?;
        if let Some(end) = self.message_end() {
            if end > self.capacity {
                return Err(limit_err);
            }
        }
        Ok(())
    }

    /// Inserts `[start, end)` into the sorted, disjoint range set, merging
    /// overlapping or adjacent ranges.
    fn add_range(&mut self, mut start: usize, mut end: usize) -> Result<()> {
        fn put(
            out: &mut [(usize, usize); MAX_RANGES],
            n: &mut usize,
            range: (usize, usize),
        ) -> Result<()> {
            *out.get_mut(*n)
                .ok_or(Error::new(ErrorKind::LimitExceeded, 0))? = range;
            *n += 1;
            Ok(())
        }
        let mut merged = [(0, 0); MAX_RANGES];
        let mut n = 0;
        let mut placed = false;
        for &(s, e) in self.ranges.iter().take(self.n_ranges) {
            if e < start {
                put(&mut merged, &mut n, (s, e))?;
            } else if s > end {
                if !placed {
                    put(&mut merged, &mut n, (start, end))?;
                    placed = true;
                }
                put(&mut merged, &mut n, (s, e))?;
            } else {
                start = start.min(s);
                end = end.max(e);
            }
        }
        if !placed {
            put(&mut merged, &mut n, (start, end))?;
        }
        self.ranges = merged;
        self.n_ranges = n;
        Ok(())
    }

    /// Appends the fragment of one complete TLS handshake record
    /// (content type 22) to the handshake stream.
    pub fn push_record_fragment(&mut self, fragment: &[u8]) -> Result<()> {
        let offset = self.stream_offset;
        self.stream_offset = offset.saturating_add(fragment.len());
        self.push_at(offset as u64, fragment)
    }

    /// Feeds in-order TCP payload of one direction; the assembler follows
    /// the TLS record framing itself (records and their headers may be split
    /// anywhere) and keeps the handshake records' content.
    ///
    /// `Malformed` when the bytes stop looking like TLS records.
    pub fn push_tls_stream(&mut self, mut segment: &[u8]) -> Result<()> {
        while !segment.is_empty() {
            if self.failed {
                return Err(Error::malformed(0));
            }
            if !self.keep_later && self.complete().is_some() {
                return Ok(());
            }
            if self.record_remaining == 0 {
                // Collect a record header, possibly across segments.
                let need = field::REC_HEADER_LEN - self.record_header_len;
                let (head, tail) = segment.split_at(need.min(segment.len()));
                self.record_header
                    .get_mut(self.record_header_len..self.record_header_len + head.len())
                    .ok_or(Error::malformed(0))?
                    .copy_from_slice(head);
                self.record_header_len += head.len();
                segment = tail;
                if self.record_header_len < field::REC_HEADER_LEN {
                    return Ok(());
                }
                self.record_header_len = 0;
                let header = &self.record_header;
                if probe(header) != Probe::Match {
                    self.failed = true;
                    return Err(Error::malformed(0));
                }
                let content_type = ContentType::from(be::u8_at(header, field::REC_TYPE)?);
                self.cipher_changed |= content_type == ContentType::ChangeCipherSpec;
                self.record_is_handshake =
                    content_type == ContentType::Handshake && !self.cipher_changed;
                self.record_remaining = usize::from(be::u16_at(header, field::REC_LENGTH)?);
                continue;
            }
            let (body, tail) = segment.split_at(self.record_remaining.min(segment.len()));
            self.record_remaining -= body.len();
            segment = tail;
            if self.record_is_handshake {
                self.push_record_fragment(body)?;
            }
        }
        Ok(())
    }

    /// Adds one DTLS handshake fragment. The assembler locks onto the
    /// message sequence number of the first fragment it is given and ignores
    /// fragments of other messages.
    ///
    /// `Malformed` if a fragment of the same message disagrees on its type
    /// or total length.
    pub fn push_dtls_fragment(&mut self, fragment: &Handshake<'_>) -> Result<()> {
        let Some(f) = fragment.dtls_fragment() else {
            return Err(Error::new(ErrorKind::Unsupported, 0));
        };
        match self.dtls_seq {
            Some(seq) if seq != f.message_seq => return Ok(()),
            Some(_) => {
                let typ = u8::from(fragment.msg_type());
                let same_type = self.buf.first() == Some(&typ);
                let same_len = be::u24_at(&self.buf, field::HS_LENGTH) == Ok(fragment.length());
                if !same_type || !same_len {
                    return Err(Error::malformed(0));
                }
            }
            None => {
                self.dtls_seq = Some(f.message_seq);
                let [_, l1, l2, l3] = fragment.length().to_be_bytes();
                let header = [u8::from(fragment.msg_type()), l1, l2, l3];
                self.push_at(0, &header)?;
            }
        }
        let offset = u64::from(f.fragment_offset) + field::HS_HEADER_LEN as u64;
        if fragment.length() == 0 {
            return Ok(());
        }
        self.push_at(offset, fragment.body())
    }
}

// ---------------------------------------------------------------------------
// Hello messages
// ---------------------------------------------------------------------------

/// Iterator over a list of big-endian u16 code points.
#[derive(Debug, Clone)]
pub struct U16List<'a, T> {
    chunks: core::slice::ChunksExact<'a, u8>,
    _t: PhantomData<T>,
}

impl<'a, T> U16List<'a, T> {
    fn new(bytes: &'a [u8]) -> Self {
        U16List {
            chunks: bytes.chunks_exact(2),
            _t: PhantomData,
        }
    }
    fn empty() -> Self {
        U16List::new(&[])
    }
}

impl<T: From<u16>> Iterator for U16List<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match self.chunks.next()? {
            &[a, b] => Some(T::from(u16::from_be_bytes([a, b]))),
            _ => None,
        }
    }
}

/// One extension: its type and raw body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    /// The extension type.
    pub typ: ExtensionType,
    /// The raw extension body. Key shares, PSK identities and tickets are
    /// key material: report their presence, never these bytes.
    pub data: &'a [u8],
}

/// Iterator over an extension block validated at parse time.
#[derive(Debug, Clone)]
pub struct Extensions<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Extensions<'a> {
    type Item = Extension<'a>;

    // struct {
    //     ExtensionType extension_type;
    //     opaque extension_data<0..2^16-1>;
    // } Extension;                                 RFC 8446 section 4.2
    fn next(&mut self) -> Option<Extension<'a>> {
        let typ = be::u16_at(self.rest, 0).ok()?;
        let len = usize::from(be::u16_at(self.rest, 2).ok()?);
        let data = be::slice(self.rest, 4, len).ok()?;
        self.rest = self.rest.get(4 + len..).unwrap_or_default();
        Some(Extension {
            typ: ExtensionType::from(typ),
            data,
        })
    }
}

/// Validates the framing of an extension block (the bytes after the hello's
/// fixed fields) and returns the list itself. An absent block is empty.
fn extension_block(buf: &[u8], off: usize) -> Result<&[u8]> {
    if off == buf.len() {
        return Ok(&[]);
    }
    let len = usize::from(be::u16_at(buf, off)?);
    let list = be::slice(buf, off + 2, len)?;
    if off + 2 + len != buf.len() {
        return Err(Error::bad_length(off));
    }
    let mut pos = 0;
    while pos < list.len() {
        let ext_len =
            usize::from(be::u16_at(list, pos + 2).map_err(|_| Error::bad_length(off + 2 + pos))?);
        be::slice(list, pos + 4, ext_len).map_err(|_| Error::bad_length(off + 2 + pos))?;
        pos += 4 + ext_len;
    }
    Ok(list)
}

/// Reads `opaque x<0..2^8-1>` at `off`; returns it and the offset after it.
fn vec8(buf: &[u8], off: usize) -> Result<(&[u8], usize)> {
    let len = usize::from(be::u8_at(buf, off)?);
    Ok((be::slice(buf, off + 1, len)?, off + 1 + len))
}

/// Reads `opaque x<0..2^16-1>` at `off`; returns it and the offset after it.
fn vec16(buf: &[u8], off: usize) -> Result<(&[u8], usize)> {
    let len = usize::from(be::u16_at(buf, off)?);
    Ok((be::slice(buf, off + 2, len)?, off + 2 + len))
}

/// The data of the first extension of type `typ`.
fn find_extension(list: &[u8], typ: ExtensionType) -> Option<&[u8]> {
    Extensions { rest: list }
        .find(|e| e.typ == typ)
        .map(|e| e.data)
}

/// True for a hostname made only of letters, digits, '-', '_' and '.'.
fn is_dns_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'))
}

/// Iterator over the ALPN protocol names of a ClientHello.
#[derive(Debug, Clone)]
pub struct Alpn<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Alpn<'a> {
    type Item = &'a [u8];

    // opaque ProtocolName<1..2^8-1>;
    // struct { ProtocolName protocol_name_list<2..2^16-1> } ProtocolNameList;
    //                                              RFC 7301 section 3.1
    fn next(&mut self) -> Option<&'a [u8]> {
        match vec8(self.rest, 0) {
            Ok((name, next)) if !name.is_empty() => {
                self.rest = self.rest.get(next..).unwrap_or_default();
                Some(name)
            }
            _ => {
                self.rest = &[];
                None
            }
        }
    }
}

/// The protocol_name_list of an ALPN extension body.
fn alpn_list(data: &[u8]) -> &[u8] {
    vec16(data, 0).map(|(list, _)| list).unwrap_or_default()
}

/// A parsed ClientHello (TLS or DTLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientHello<'a> {
    legacy_version: u16,
    random: &'a [u8],
    session_id: &'a [u8],
    cookie: Option<&'a [u8]>,
    cipher_suites: &'a [u8],
    compression_methods: &'a [u8],
    extensions: &'a [u8],
}

impl<'a> ClientHello<'a> {
    // struct {
    //     ProtocolVersion legacy_version;
    //     Random random;
    //     opaque legacy_session_id<0..32>;
    //     opaque cookie<0..2^8-1>;                 DTLS only, RFC 6347 section 4.2.1
    //     CipherSuite cipher_suites<2..2^16-2>;
    //     opaque legacy_compression_methods<1..2^8-1>;
    //     Extension extensions<8..2^16-1>;         optional before TLS 1.3
    // } ClientHello;                               RFC 8446 section 4.1.2
    /// Parses a ClientHello body (the handshake message without its header).
    ///
    /// DTLS is recognised by its legacy_version (0xfeff, 0xfefd or the
    /// pre-standard 0x0100) and then the cookie field is read.
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        let legacy_version = be::u16_at(body, field::HELLO_VERSION)?;
        let random = be::slice(body, field::HELLO_RANDOM, field::RANDOM_LEN)?;
        let (session_id, off) = vec8(body, field::HELLO_SESSION_ID)?;
        if session_id.len() > 32 {
            return Err(Error::bad_length(field::HELLO_SESSION_ID));
        }
        let (cookie, off) = if is_dtls_version(legacy_version) || legacy_version >= 0xfe00 {
            let (cookie, off) = vec8(body, off)?;
            (Some(cookie), off)
        } else {
            (None, off)
        };
        let (cipher_suites, next) = vec16(body, off)?;
        if cipher_suites.len() % 2 != 0 {
            return Err(Error::bad_length(off));
        }
        let (compression_methods, off) = vec8(body, next)?;
        let extensions = extension_block(body, off)?;
        Ok(ClientHello {
            legacy_version,
            random,
            session_id,
            cookie,
            cipher_suites,
            compression_methods,
            extensions,
        })
    }

    /// legacy_version (0x0303 for TLS 1.2 and 1.3, 0xfefd for DTLS 1.2 and 1.3).
    pub fn legacy_version(&self) -> u16 {
        self.legacy_version
    }
    /// True when this is a DTLS ClientHello.
    pub fn is_dtls(&self) -> bool {
        self.cookie.is_some()
    }
    /// The 32-byte client random.
    pub fn random(&self) -> &'a [u8] {
        self.random
    }
    /// The legacy session id (0 to 32 bytes).
    pub fn session_id(&self) -> &'a [u8] {
        self.session_id
    }
    /// The DTLS cookie (`None` for TLS, empty in a first DTLS ClientHello).
    pub fn cookie(&self) -> Option<&'a [u8]> {
        self.cookie
    }
    /// The offered cipher suites, GREASE values included (see [`CipherSuite::is_grease`]).
    pub fn cipher_suites(&self) -> U16List<'a, CipherSuite> {
        U16List::new(self.cipher_suites)
    }
    /// The compression methods (a single 0 in modern clients).
    pub fn compression_methods(&self) -> &'a [u8] {
        self.compression_methods
    }
    /// The extensions, in wire order.
    pub fn extensions(&self) -> Extensions<'a> {
        Extensions {
            rest: self.extensions,
        }
    }
    /// The body of the first extension of type `typ`.
    pub fn extension(&self, typ: ExtensionType) -> Option<&'a [u8]> {
        find_extension(self.extensions, typ)
    }

    // struct {
    //     NameType name_type;                      host_name(0)
    //     select (name_type) { case host_name: HostName; } name;
    // } ServerName;
    // opaque HostName<1..2^16-1>;
    // struct { ServerName server_name_list<1..2^16-1> } ServerNameList;
    //                                              RFC 6066 section 3
    /// The host_name of the server_name extension, if present and made of
    /// DNS name characters. With ECH this is the outer (public) name.
    pub fn sni(&self) -> Option<&'a str> {
        let name = self.server_name_raw()?;
        if is_dns_name(name) {
            core::str::from_utf8(name).ok()
        } else {
            None
        }
    }

    /// The host_name of the server_name extension as sent, without
    /// validation (some clients send `host:port` or an IP address); escape it
    /// before display.
    pub fn server_name_raw(&self) -> Option<&'a [u8]> {
        let data = self.extension(ExtensionType::ServerName)?;
        let (mut list, _) = vec16(data, 0).ok()?;
        while !list.is_empty() {
            let name_type = be::u8_at(list, 0).ok()?;
            let (name, next) = vec16(list, 1).ok()?;
            if name_type == 0 {
                return Some(name);
            }
            list = list.get(next..)?;
        }
        None
    }

    /// The offered ALPN protocol names.
    pub fn alpn(&self) -> Alpn<'a> {
        Alpn {
            rest: self
                .extension(ExtensionType::Alpn)
                .map(alpn_list)
                .unwrap_or_default(),
        }
    }

    // struct { ProtocolVersion versions<2..254>; } SupportedVersions;
    //                                              RFC 8446 section 4.2.1
    /// The versions of the supported_versions extension (GREASE included).
    pub fn supported_versions(&self) -> U16List<'a, u16> {
        match self
            .extension(ExtensionType::SupportedVersions)
            .map(|d| vec8(d, 0))
        {
            Some(Ok((list, _))) => U16List::new(list),
            _ => U16List::empty(),
        }
    }

    // struct { NamedGroup named_group_list<2..2^16-1>; } NamedGroupList;
    //                                              RFC 8446 section 4.2.7
    /// The groups of the supported_groups extension.
    pub fn supported_groups(&self) -> U16List<'a, NamedGroup> {
        match self
            .extension(ExtensionType::SupportedGroups)
            .map(|d| vec16(d, 0))
        {
            Some(Ok((list, _))) => U16List::new(list),
            _ => U16List::empty(),
        }
    }

    // struct {
    //     SRTPProtectionProfiles SRTPProtectionProfiles;
    //     opaque srtp_mki<0..255>;
    // } UseSRTPData;
    // uint8 SRTPProtectionProfile[2];
    // SRTPProtectionProfile SRTPProtectionProfiles<2..2^16-1>;
    //                                              RFC 5764 section 4.1.1
    /// The SRTP protection profiles of the use_srtp extension.
    pub fn use_srtp_profiles(&self) -> U16List<'a, SrtpProfile> {
        U16List::new(
            self.extension(ExtensionType::UseSrtp)
                .map(srtp_profile_list)
                .unwrap_or_default(),
        )
    }

    /// True when an encrypted_client_hello extension (0xfe0d) is present; the
    /// SNI is then the outer, public name.
    pub fn has_ech(&self) -> bool {
        self.extension(ExtensionType::EncryptedClientHello)
            .is_some()
    }

    /// The groups of the key_share entries (never the key bytes).
    pub fn key_share_groups(&self) -> KeyShareGroups<'a> {
        KeyShareGroups {
            rest: match self.extension(ExtensionType::KeyShare).map(|d| vec16(d, 0)) {
                Some(Ok((list, _))) => list,
                _ => &[],
            },
        }
    }
}

/// The SRTPProtectionProfiles list of a use_srtp extension body.
fn srtp_profile_list(data: &[u8]) -> &[u8] {
    vec16(data, 0).map(|(list, _)| list).unwrap_or_default()
}

/// Iterator over the groups of a ClientHello key_share extension.
#[derive(Debug, Clone)]
pub struct KeyShareGroups<'a> {
    rest: &'a [u8],
}

impl Iterator for KeyShareGroups<'_> {
    type Item = NamedGroup;

    // struct {
    //     NamedGroup group;
    //     opaque key_exchange<1..2^16-1>;
    // } KeyShareEntry;
    // struct { KeyShareEntry client_shares<0..2^16-1>; } KeyShareClientHello;
    //                                              RFC 8446 section 4.2.8
    fn next(&mut self) -> Option<NamedGroup> {
        let group = be::u16_at(self.rest, 0);
        let key = vec16(self.rest, 2);
        match (group, key) {
            (Ok(group), Ok((_, next))) => {
                self.rest = self.rest.get(next..).unwrap_or_default();
                Some(NamedGroup(group))
            }
            _ => {
                self.rest = &[];
                None
            }
        }
    }
}

/// A parsed ServerHello or HelloRetryRequest (TLS or DTLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerHello<'a> {
    legacy_version: u16,
    random: &'a [u8],
    session_id: &'a [u8],
    cipher_suite: u16,
    compression_method: u8,
    extensions: &'a [u8],
}

impl<'a> ServerHello<'a> {
    // struct {
    //     ProtocolVersion legacy_version;
    //     Random random;
    //     opaque legacy_session_id_echo<0..32>;
    //     CipherSuite cipher_suite;
    //     uint8 legacy_compression_method;
    //     Extension extensions<6..2^16-1>;         optional before TLS 1.3
    // } ServerHello;                               RFC 8446 section 4.1.3
    /// Parses a ServerHello body (the handshake message without its header).
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        let legacy_version = be::u16_at(body, field::HELLO_VERSION)?;
        let random = be::slice(body, field::HELLO_RANDOM, field::RANDOM_LEN)?;
        let (session_id, off) = vec8(body, field::HELLO_SESSION_ID)?;
        if session_id.len() > 32 {
            return Err(Error::bad_length(field::HELLO_SESSION_ID));
        }
        let cipher_suite = be::u16_at(body, off)?;
        let compression_method = be::u8_at(body, off + 2)?;
        let extensions = extension_block(body, off + 3)?;
        Ok(ServerHello {
            legacy_version,
            random,
            session_id,
            cipher_suite,
            compression_method,
            extensions,
        })
    }

    /// legacy_version as sent (0x0303 in TLS 1.3).
    pub fn legacy_version(&self) -> u16 {
        self.legacy_version
    }
    /// The negotiated version: supported_versions when present, else legacy_version.
    pub fn version(&self) -> u16 {
        self.extension(ExtensionType::SupportedVersions)
            .and_then(|d| be::u16_at(d, 0).ok())
            .unwrap_or(self.legacy_version)
    }
    /// True for a TLS 1.3 HelloRetryRequest (its random is a fixed value).
    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HELLO_RETRY_REQUEST_RANDOM
    }
    /// The 32-byte server random.
    pub fn random(&self) -> &'a [u8] {
        self.random
    }
    /// The echoed legacy session id.
    pub fn session_id(&self) -> &'a [u8] {
        self.session_id
    }
    /// The selected cipher suite.
    pub fn cipher_suite(&self) -> CipherSuite {
        CipherSuite(self.cipher_suite)
    }
    /// The selected compression method (0 = none).
    pub fn compression_method(&self) -> u8 {
        self.compression_method
    }
    /// The extensions, in wire order.
    pub fn extensions(&self) -> Extensions<'a> {
        Extensions {
            rest: self.extensions,
        }
    }
    /// The body of the first extension of type `typ`.
    pub fn extension(&self, typ: ExtensionType) -> Option<&'a [u8]> {
        find_extension(self.extensions, typ)
    }
    /// The selected SRTP protection profile of use_srtp (RFC 5764 section 4.1.1).
    pub fn use_srtp_profile(&self) -> Option<SrtpProfile> {
        let list = srtp_profile_list(self.extension(ExtensionType::UseSrtp)?);
        be::u16_at(list, 0).ok().map(SrtpProfile::from)
    }
    /// The selected ALPN protocol (the single name of the list).
    pub fn alpn(&self) -> Option<&'a [u8]> {
        Alpn {
            rest: alpn_list(self.extension(ExtensionType::Alpn)?),
        }
        .next()
    }
    /// The key_share group: the server's share, or for a HelloRetryRequest
    /// the group it asks for (RFC 8446 section 4.2.8).
    pub fn key_share_group(&self) -> Option<NamedGroup> {
        let data = self.extension(ExtensionType::KeyShare)?;
        be::u16_at(data, 0).ok().map(NamedGroup)
    }
}

// ---------------------------------------------------------------------------
// Certificate
// ---------------------------------------------------------------------------

/// The certificate_list of a TLS 1.0-1.2 (or DTLS 1.0/1.2) Certificate
/// message: the server's chain, leaf first, each a DER certificate that
/// [`crate::x509::Certificate`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertificateList<'a> {
    list: &'a [u8],
}

impl<'a> CertificateList<'a> {
    // opaque ASN.1Cert<1..2^24-1>;
    // struct {
    //     ASN.1Cert certificate_list<0..2^24-1>;
    // } Certificate;                               RFC 5246 section 7.4.2
    /// Parses a Certificate message body (without the handshake header) and
    /// validates the framing of every certificate in it.
    ///
    /// `BadLength` when the list does not fill the body exactly or an entry
    /// is empty or runs past the list. The TLS 1.3 form (a request context
    /// and per-certificate extensions) does not parse.
    pub fn parse(body: &'a [u8]) -> Result<Self> {
        let len = be::u24_at(body, 0)? as usize;
        let list = be::slice(body, 3, len)?;
        if 3 + len != body.len() {
            return Err(Error::bad_length(0));
        }
        let mut pos = 0;
        while pos < list.len() {
            let bad = Error::bad_length(3 + pos);
            let n = be::u24_at(list, pos).map_err(|_| bad)? as usize;
            if n == 0 {
                return Err(bad);
            }
            be::slice(list, pos + 3, n).map_err(|_| bad)?;
            pos += 3 + n;
        }
        Ok(CertificateList { list })
    }

    /// The DER certificates, leaf first.
    pub fn certificates(&self) -> Certificates<'a> {
        Certificates { rest: self.list }
    }

    /// The server's own certificate: the first of the list (RFC 5246
    /// section 7.4.2: "The sender's certificate MUST come first").
    pub fn leaf(&self) -> Option<&'a [u8]> {
        self.certificates().next()
    }

    /// True for an empty list (a client declining to authenticate).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Iterator over the DER certificates of a [`CertificateList`].
#[derive(Debug, Clone)]
pub struct Certificates<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Certificates<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let n = be::u24_at(self.rest, 0).ok()? as usize;
        let cert = be::slice(self.rest, 3, n).ok()?;
        self.rest = self.rest.get(3 + n..).unwrap_or_default();
        Some(cert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KYBER_CH: &[u8] = include_bytes!("../../fixtures/payloads/tls/kyber_client_hello.bin");
    const ECH_CH: &[u8] = include_bytes!("../../fixtures/payloads/tls/ech_client_hello.bin");
    const ECH_SERVER_FLIGHT: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/ech_server_flight.bin");
    const INSTAGRAM_CH: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/instagram_client_hello.bin");
    const ESNI_CH: &[u8] = include_bytes!("../../fixtures/payloads/tls/esni_client_hello.bin");
    const DTLS12_CH_FRAG1: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/dtls12_ch_frag1.bin");
    const DTLS12_CH_FRAG2: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/dtls12_ch_frag2.bin");
    const DTLS12_HELLO_VERIFY: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/dtls12_hello_verify.bin");
    const DTLS12_SERVER_HELLO_FRAG: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/dtls12_server_hello_frag.bin");
    const DTLS13_CH: &[u8] = include_bytes!("../../fixtures/payloads/tls/dtls13_client_hello.bin");
    const DTLS_BAD_VER_CH: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/dtls_bad_ver_client_hello.bin");
    const DTLS_SRTP_CH: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/dtls_srtp_client_hello.bin");
    const DTLS_SRTP_SERVER_FLIGHT: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/dtls_srtp_server_flight.bin");
    const HUGE_CH_SEGMENTS: [&[u8]; 12] = [
        include_bytes!("../../fixtures/payloads/tls/huge_ch_01.bin"),
        include_bytes!("../../fixtures/payloads/tls/huge_ch_02.bin"),
        include_bytes!("../../fixtures/payloads/tls/huge_ch_03.bin"),
        include_bytes!("../../fixtures/payloads/tls/huge_ch_04.bin"),
        include_bytes!("../../fixtures/payloads/tls/huge_ch_05.bin"),
        include_bytes!("../../fixtures/payloads/tls/huge_ch_06.bin"),
        include_bytes!("../../fixtures/payloads/tls/huge_ch_07.bin"),
        include_bytes!("../../fixtures/payloads/tls/huge_ch_08.bin"),
        include_bytes!("../../fixtures/payloads/tls/huge_ch_09.bin"),
        include_bytes!("../../fixtures/payloads/tls/huge_ch_10.bin"),
        include_bytes!("../../fixtures/payloads/tls/huge_ch_11.bin"),
        include_bytes!("../../fixtures/payloads/tls/huge_ch_12.bin"),
    ];

    /// A TLS 1.3 HelloRetryRequest body asking for x25519 (hand-built).
    const HRR_BODY: &[u8] = &[
        0x03, 0x03, // legacy_version
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8,
        0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8,
        0x33, 0x9c, // random
        0x00, // session id
        0x13, 0x01, // cipher suite
        0x00, // compression
        0x00, 0x0c, // extensions
        0x00, 0x2b, 0x00, 0x02, 0x03, 0x04, // supported_versions: TLS 1.3
        0x00, 0x33, 0x00, 0x02, 0x00, 0x1d, // key_share: x25519
    ];

    /// The first handshake message of a TCP payload that holds it whole.
    fn first_message(stream: &[u8]) -> Vec<u8> {
        let mut asm = HandshakeAssembler::default();
        asm.push_tls_stream(stream).unwrap();
        asm.complete().unwrap().to_vec()
    }

    fn client_hello_sni(stream: &[u8]) -> Option<String> {
        let msg = first_message(stream);
        let hs = Handshake::new_checked(&msg).unwrap();
        assert_eq!(hs.msg_type(), HandshakeType::ClientHello);
        ClientHello::parse(hs.body())
            .unwrap()
            .sni()
            .map(str::to_owned)
    }

    /// The first DTLS handshake fragment of a datagram.
    fn first_dtls_handshake(datagram: &[u8]) -> Handshake<'_> {
        let record = DtlsRecords::new(datagram).next().unwrap();
        assert_eq!(record.content_type, ContentType::Handshake);
        Handshakes::dtls(record.fragment).next().unwrap()
    }

    #[test]
    fn parses_record_probes() {
        assert_eq!(probe(KYBER_CH), Probe::Match);
        assert_eq!(probe(&KYBER_CH[..3]), Probe::NeedMore);
        assert_eq!(probe(b"GET / HTTP/1.1"), Probe::NoMatch);
        assert_eq!(probe(&[0x16, 0x03, 0x05, 0x00, 0x10]), Probe::NoMatch);
        assert_eq!(dtls_probe(DTLS12_CH_FRAG1), Probe::Match);
        assert_eq!(dtls_probe(DTLS13_CH), Probe::Match);
        assert_eq!(dtls_probe(&[0x2c, 0x00]), Probe::Match);
        assert_eq!(dtls_probe(&DTLS12_CH_FRAG1[..2]), Probe::NeedMore);
        assert_eq!(dtls_probe(KYBER_CH), Probe::NoMatch);
        assert_eq!(dtls_probe(&[0x80, 0x00]), Probe::NoMatch);
    }

    #[test]
    fn parses_kyber_client_hello() {
        let records: Vec<_> = TlsRecords::new(KYBER_CH).collect();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].content_type, ContentType::Handshake);
        let hs = Handshake::new_checked(records[0].fragment).unwrap();
        let ch = ClientHello::parse(hs.body()).unwrap();
        assert_eq!(ch.sni(), Some("lh3.google.com"));
        assert!(!ch.is_dtls());
        assert!(ch.cipher_suites().next().unwrap().is_grease());
        assert!(ch.cipher_suites().any(|c| c == CipherSuite(0x1301)));
        let groups: Vec<_> = ch.key_share_groups().filter(|g| !g.is_grease()).collect();
        assert_eq!(groups, [NamedGroup(0x6399), NamedGroup(0x001d)]);
        assert!(groups[0].is_post_quantum());
        assert!(ch.supported_versions().any(|v| v == 0x0304));
        let alpn: Vec<_> = ch.alpn().collect();
        assert_eq!(alpn, [&b"h2"[..], b"http/1.1"]);
        // Chrome sends a GREASE encrypted_client_hello when it has no ECH config.
        assert!(ch.has_ech());
    }

    #[test]
    fn parses_client_hellos_from_captures() {
        assert_eq!(
            client_hello_sni(INSTAGRAM_CH).as_deref(),
            Some("i.instagram.com")
        );
        assert_eq!(client_hello_sni(ESNI_CH), None);
        let msg = first_message(ESNI_CH);
        let ch = ClientHello::parse(Handshake::new_checked(&msg).unwrap().body()).unwrap();
        assert!(ch.extension(ExtensionType::EncryptedServerName).is_some());
        assert!(!ch.has_ech());
        let msg = first_message(ECH_CH);
        let ch = ClientHello::parse(Handshake::new_checked(&msg).unwrap().body()).unwrap();
        assert!(ch.has_ech());
        assert_eq!(ch.sni(), Some("cloudflare-ech.com"));
    }

    #[test]
    fn parses_server_hello_tls13() {
        let mut records = TlsRecords::new(ECH_SERVER_FLIGHT);
        let first = records.next().unwrap();
        let hs = Handshake::new_checked(first.fragment).unwrap();
        assert_eq!(hs.msg_type(), HandshakeType::ServerHello);
        let sh = ServerHello::parse(hs.body()).unwrap();
        assert_eq!(sh.legacy_version(), 0x0303);
        assert_eq!(sh.version(), 0x0304);
        assert!(!sh.is_hello_retry_request());
        let info = sh.cipher_suite().info();
        assert_eq!(info.forward_secret, Some(true));
        assert!(info.aead);
        assert_eq!(
            records.next().map(|r| r.content_type),
            Some(ContentType::ChangeCipherSpec)
        );
    }

    #[test]
    fn parses_hello_retry_request() {
        let sh = ServerHello::parse(HRR_BODY).unwrap();
        assert!(sh.is_hello_retry_request());
        assert_eq!(sh.version(), 0x0304);
        assert_eq!(sh.key_share_group(), Some(NamedGroup(0x001d)));
        assert_eq!(
            sh.key_share_group().and_then(NamedGroup::name),
            Some("x25519")
        );
    }

    #[test]
    fn parses_huge_client_hello_across_segments() {
        let mut asm = HandshakeAssembler::default();
        for (i, seg) in HUGE_CH_SEGMENTS.iter().enumerate() {
            assert!(asm.complete().is_none(), "complete before segment {i}");
            asm.push_tls_stream(seg).unwrap();
        }
        let hs = asm.complete_handshake().unwrap();
        assert_eq!(hs.length(), 11414);
        let ch = ClientHello::parse(hs.body()).unwrap();
        assert!(ch.extensions().count() > 0);
        // Fed byte by byte, the result is the same.
        let mut asm2 = HandshakeAssembler::default();
        for seg in HUGE_CH_SEGMENTS {
            for b in seg.chunks(1) {
                asm2.push_tls_stream(b).unwrap();
            }
        }
        assert_eq!(asm2.complete(), asm.complete());
    }

    #[test]
    fn parses_kyber_client_hello_split_anywhere() {
        let whole = first_message(KYBER_CH);
        for cut in [1, 4, 5, 6, 9, 100, 1000, KYBER_CH.len() - 1] {
            let mut asm = HandshakeAssembler::default();
            asm.push_tls_stream(&KYBER_CH[..cut]).unwrap();
            assert!(asm.complete().is_none());
            asm.push_tls_stream(&KYBER_CH[cut..]).unwrap();
            assert_eq!(asm.complete(), Some(&whole[..]));
        }
    }

    #[test]
    fn rejects_oversized_handshake() {
        let mut asm = HandshakeAssembler::new(512);
        assert_eq!(
            asm.push_tls_stream(KYBER_CH).map_err(|e| e.kind),
            Err(ErrorKind::LimitExceeded)
        );
        assert!(asm.is_failed());
        assert!(asm.complete().is_none());
        asm.reset();
        assert!(!asm.is_failed());
        assert!(asm.push_tls_stream(INSTAGRAM_CH).is_ok());
        assert!(asm.complete().is_some());
        let mut asm = HandshakeAssembler::new(64);
        assert_eq!(
            asm.push_at(1 << 20, b"x").map_err(|e| e.kind),
            Err(ErrorKind::LimitExceeded)
        );
    }

    #[test]
    fn rejects_non_tls_stream() {
        let mut asm = HandshakeAssembler::default();
        assert!(asm.push_tls_stream(b"GET / HTTP/1.1\r\n").is_err());
        assert!(asm.is_failed());
    }

    #[test]
    fn rejects_too_many_holes() {
        let mut asm = HandshakeAssembler::default();
        asm.push_at(0, &[1, 0, 0x10, 0]).unwrap();
        for i in 0..15u64 {
            asm.push_at(10 + i * 10, b"ab").unwrap();
        }
        assert_eq!(
            asm.push_at(200, b"ab").map_err(|e| e.kind),
            Err(ErrorKind::LimitExceeded)
        );
    }

    #[test]
    fn parses_dtls12_fragmented_client_hello() {
        let f1 = first_dtls_handshake(DTLS12_CH_FRAG1);
        let f2 = first_dtls_handshake(DTLS12_CH_FRAG2);
        assert_eq!(f1.msg_type(), HandshakeType::ClientHello);
        assert!(!f1.is_complete_fragment());
        assert_eq!(f1.dtls_fragment().unwrap().fragment_offset, 0);
        assert!(f2.dtls_fragment().unwrap().fragment_offset > 0);
        // Out of order, with a duplicate.
        let mut asm = HandshakeAssembler::default();
        asm.push_dtls_fragment(&f2).unwrap();
        assert!(asm.complete().is_none());
        asm.push_dtls_fragment(&f2).unwrap();
        asm.push_dtls_fragment(&f1).unwrap();
        let hs = asm.complete_handshake().unwrap();
        assert_eq!(hs.length(), f1.length());
        let ch = ClientHello::parse(hs.body()).unwrap();
        assert!(ch.is_dtls());
        assert_eq!(ch.legacy_version(), 0xfefd);
        assert_eq!(ch.cookie(), Some(&[][..]));
    }

    #[test]
    fn parses_dtls12_hello_verify_and_server_hello() {
        let hv = first_dtls_handshake(DTLS12_HELLO_VERIFY);
        assert_eq!(hv.msg_type(), HandshakeType::HelloVerifyRequest);
        assert!(hv.is_complete_fragment());
        let record = DtlsRecords::new(DTLS12_SERVER_HELLO_FRAG).next().unwrap();
        assert_eq!(record.version, 0xfefd);
        let sh = Handshakes::dtls(record.fragment).next().unwrap();
        assert_eq!(sh.msg_type(), HandshakeType::ServerHello);
        assert!(sh.is_complete_fragment());
        let sh = ServerHello::parse(sh.body()).unwrap();
        assert_eq!(sh.version(), 0xfefd);
    }

    #[test]
    fn parses_dtls_srtp_client_and_server_hello() {
        let hs = first_dtls_handshake(DTLS_SRTP_CH);
        assert!(hs.is_complete_fragment());
        let ch = ClientHello::parse(hs.body()).unwrap();
        let profiles: Vec<_> = ch.use_srtp_profiles().collect();
        assert!(profiles.contains(&SrtpProfile::Aes128CmHmacSha1_80));
        let records: Vec<_> = DtlsRecords::new(DTLS_SRTP_SERVER_FLIGHT).collect();
        assert!(records.len() >= 2);
        let sh = Handshakes::dtls(records[0].fragment).next().unwrap();
        let sh = ServerHello::parse(sh.body()).unwrap();
        assert!(sh.use_srtp_profile().is_some());
        assert!(!sh.use_srtp_profile().unwrap().is_null_cipher());
    }

    #[test]
    fn parses_dtls_pre_standard_version() {
        assert_eq!(dtls_probe(DTLS_BAD_VER_CH), Probe::Match);
        let record = DtlsRecords::new(DTLS_BAD_VER_CH).next().unwrap();
        assert_eq!(record.version, 0x0100);
        let hs = first_dtls_handshake(DTLS_BAD_VER_CH);
        let ch = ClientHello::parse(hs.body()).unwrap();
        assert!(ch.is_dtls());
        assert_eq!(ch.legacy_version(), 0x0100);
        assert!(ch.cipher_suites().any(|c| c == CipherSuite(0x0035)));
    }

    #[test]
    fn parses_dtls13_client_hello() {
        let hs = first_dtls_handshake(DTLS13_CH);
        let ch = ClientHello::parse(hs.body()).unwrap();
        assert!(ch.supported_versions().any(|v| v == 0xfefc));
    }

    #[test]
    fn parses_dtls13_unified_header() {
        // 0x2d = 0b0010_1101: no CID, 16-bit sequence number, length present, epoch 1.
        let datagram = [
            0x2d, 0x12, 0x34, 0x00, 0x03, 0xaa, 0xbb, 0xcc, 0x20, 0x05, 0xee,
        ];
        let records: Vec<_> = DtlsRecords::new(&datagram).collect();
        assert_eq!(records.len(), 2);
        assert!(records[0].is_unified_header);
        assert_eq!(records[0].epoch, 1);
        assert_eq!(records[0].sequence_number, 0x1234);
        assert_eq!(records[0].fragment, [0xaa, 0xbb, 0xcc]);
        assert_eq!(records[1].sequence_number, 5);
        assert_eq!(records[1].epoch, 0);
        assert_eq!(records[1].fragment, [0xee]);
        let mut with_cid = DtlsRecords::new(&[0x3c, 0x01, 0x02]);
        assert!(with_cid.next().is_none());
        assert_eq!(
            with_cid.error().map(|e| e.kind),
            Some(ErrorKind::Unsupported)
        );
    }

    #[test]
    fn parses_cipher_suite_table() {
        assert_eq!(cipher_suite_info(0x1302).forward_secret, Some(true));
        let rsa = cipher_suite_info(0x002f);
        assert_eq!(rsa.forward_secret, Some(false));
        assert!(!rsa.aead && !rsa.weak);
        assert!(cipher_suite_info(0x0005).weak);
        assert!(cipher_suite_info(0x0003).weak);
        assert_eq!(
            cipher_suite_info(0xc02f).name,
            Some("ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        );
        assert_eq!(cipher_suite_info(0x1234).name, None);
        assert!(is_grease(0x1a1a) && !is_grease(0x1a2a));
    }

    #[test]
    fn rejects_truncated_records_and_hellos() {
        let mut records = TlsRecords::new(&KYBER_CH[..100]);
        assert!(records.next().is_none());
        assert_eq!(records.error().map(|e| e.kind), Some(ErrorKind::Truncated));
        assert_eq!(records.consumed(), 0);
        let msg = first_message(INSTAGRAM_CH);
        let body = Handshake::new_checked(&msg).unwrap().body();
        assert!(ClientHello::parse(&body[..body.len() - 1]).is_err());
        assert!(Handshake::new_checked(&msg[..msg.len() - 1]).is_err());
    }

    const WEBEX_FLIGHT: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/webex_tls10_server_flight.bin");

    #[test]
    fn parses_messages_after_the_server_hello() {
        let mut asm = HandshakeAssembler::new(8192);
        asm.set_keep_later_messages(true);
        // Fed in two pieces cut inside the Certificate record.
        asm.push_tls_stream(&WEBEX_FLIGHT[..700]).unwrap();
        assert_eq!(
            asm.complete_handshake().map(|h| h.msg_type()),
            Some(HandshakeType::ServerHello)
        );
        let sh = ServerHello::parse(asm.complete_handshake().unwrap().body()).unwrap();
        assert_eq!(sh.version(), 0x0301);
        assert!(asm.next_message());
        assert!(asm.complete().is_none());
        assert!(!asm.next_message());
        asm.push_tls_stream(&WEBEX_FLIGHT[700..]).unwrap();
        let cert = asm.complete_handshake().unwrap();
        assert_eq!(cert.msg_type(), HandshakeType::Certificate);
        assert_eq!(cert.length(), 2827);
        let list = CertificateList::parse(cert.body()).unwrap();
        assert_eq!(list.leaf().map(<[u8]>::len), Some(1829));
        assert!(!list.is_empty());
        assert!(asm.next_message());
        assert_eq!(
            asm.complete_handshake().map(|h| h.msg_type()),
            Some(HandshakeType::ServerHelloDone)
        );
        assert!(asm.next_message());
        assert!(asm.complete().is_none());
        assert!(!asm.saw_change_cipher_spec());
        // Without keep_later_messages, the bytes after the first message are dropped.
        let mut first_only = HandshakeAssembler::new(8192);
        first_only.push_tls_stream(WEBEX_FLIGHT).unwrap();
        assert!(first_only.next_message());
        assert!(first_only.complete().is_none());
    }

    #[test]
    fn rejects_later_messages_beyond_capacity() {
        let mut asm = HandshakeAssembler::new(1024);
        asm.set_keep_later_messages(true);
        assert_eq!(
            asm.push_tls_stream(WEBEX_FLIGHT).map_err(|e| e.kind),
            Err(ErrorKind::LimitExceeded)
        );
        // The first message, complete before the limit, is still there.
        assert_eq!(
            asm.complete_handshake().map(|h| h.msg_type()),
            Some(HandshakeType::ServerHello)
        );
    }

    #[test]
    fn parses_nothing_after_change_cipher_spec() {
        #[rustfmt::skip]
        let stream: &[u8] = &[
            // ServerHello record: version 0x0303, no session id, suite 0x002f.
            22, 3, 3, 0, 42, 2, 0, 0, 38, 3, 3,
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
            17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
            0, 0x00, 0x2f, 0,
            // ChangeCipherSpec, then an encrypted Finished in a handshake record.
            20, 3, 3, 0, 1, 1,
            22, 3, 3, 0, 8, 0x0b, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef,
        ];
        let mut asm = HandshakeAssembler::default();
        asm.set_keep_later_messages(true);
        asm.push_tls_stream(stream).unwrap();
        assert!(asm.saw_change_cipher_spec());
        assert!(ServerHello::parse(asm.complete_handshake().unwrap().body()).is_ok());
        assert!(asm.next_message());
        assert!(asm.complete().is_none());
    }

    #[test]
    fn rejects_bad_certificate_lists() {
        assert!(CertificateList::parse(&[0, 0, 0]).unwrap().is_empty());
        assert_eq!(CertificateList::parse(&[0, 0, 0]).unwrap().leaf(), None);
        let ok = [0, 0, 5, 0, 0, 2, 0x30, 0x00];
        assert_eq!(
            CertificateList::parse(&ok).unwrap().leaf(),
            Some(&[0x30, 0x00][..])
        );
        for bad in [
            &[0, 0, 5, 0, 0, 2, 0x30, 0x00, 0xff][..], // trailing byte
            &[0, 0, 6, 0, 0, 2, 0x30, 0x00][..],       // list past the body
            &[0, 0, 3, 0, 0, 0][..],                   // empty certificate
            &[0, 0, 4, 0, 0, 2, 0x30][..],             // entry past the list
            &[0, 0][..],
        ] {
            assert!(CertificateList::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// Runs every parser and accessor over `buf`; must never panic.
    fn exercise(buf: &[u8]) {
        let _ = probe(buf);
        let _ = dtls_probe(buf);
        let mut recs = TlsRecords::new(buf);
        for r in recs.by_ref() {
            for h in Handshakes::tls(r.fragment) {
                exercise_hello(h);
            }
        }
        let _ = (recs.error(), recs.consumed());
        let mut drecs = DtlsRecords::new(buf);
        for r in drecs.by_ref() {
            let _ = (r.epoch, r.sequence_number, r.is_unified_header);
            for h in Handshakes::dtls(r.fragment) {
                let mut asm = HandshakeAssembler::new(4096);
                let _ = asm.push_dtls_fragment(&h);
                let _ = asm.complete_handshake();
                exercise_hello(h);
            }
        }
        let _ = drecs.error();
        let mut asm = HandshakeAssembler::new(4096);
        let _ = asm.push_tls_stream(buf);
        if let Some(h) = asm.complete_handshake() {
            exercise_hello(h);
        }
        let _ = asm.push_at(3, buf);
        let _ = asm.push_record_fragment(buf);
        let mut later = HandshakeAssembler::new(4096);
        later.set_keep_later_messages(true);
        let (a, b) = buf.split_at(buf.len() / 3);
        let _ = later.push_tls_stream(a);
        while later.next_message() {
            let _ = later.push_tls_stream(&[]);
        }
        let _ = later.push_tls_stream(b);
        while let Some(h) = later.complete_handshake() {
            exercise_hello(h);
            later.next_message();
        }
        let _ = later.saw_change_cipher_spec();
        if let Ok(h) = Handshake::new_checked(buf) {
            exercise_hello(h);
        }
        if let Ok(h) = Handshake::new_checked_dtls(buf) {
            exercise_hello(h);
        }
        exercise_hello_body(buf);
    }

    fn exercise_hello(h: Handshake<'_>) {
        let _ = (
            h.msg_type(),
            h.length(),
            h.dtls_fragment(),
            h.is_complete_fragment(),
        );
        exercise_hello_body(h.body());
    }

    fn exercise_hello_body(body: &[u8]) {
        if let Ok(list) = CertificateList::parse(body) {
            let _ = (list.leaf(), list.is_empty(), list.certificates().count());
        }
        if let Ok(ch) = ClientHello::parse(body) {
            let _ = (
                ch.legacy_version(),
                ch.random(),
                ch.session_id(),
                ch.cookie(),
            );
            let _ = (
                ch.is_dtls(),
                ch.compression_methods(),
                ch.sni(),
                ch.has_ech(),
            );
            let _ = ch.server_name_raw();
            ch.cipher_suites().for_each(|c| {
                let _ = (c.is_grease(), c.info());
            });
            let _ = ch.extensions().count();
            let _ = ch.alpn().count();
            let _ = ch.supported_versions().count();
            ch.supported_groups().for_each(|g| {
                let _ = g.name();
            });
            ch.use_srtp_profiles().for_each(|p| {
                let _ = p.name();
            });
            ch.key_share_groups().for_each(|g| {
                let _ = g.is_post_quantum();
            });
        }
        if let Ok(sh) = ServerHello::parse(body) {
            let _ = (
                sh.legacy_version(),
                sh.version(),
                sh.is_hello_retry_request(),
            );
            let _ = (
                sh.random(),
                sh.session_id(),
                sh.cipher_suite(),
                sh.compression_method(),
            );
            let _ = (sh.use_srtp_profile(), sh.alpn(), sh.key_share_group());
            let _ = sh.extensions().count();
        }
    }

    #[test]
    fn parses_any_mutation_without_panic() {
        let msg = first_message(KYBER_CH);
        let mut vectors: Vec<&[u8]> = vec![
            KYBER_CH,
            DTLS_BAD_VER_CH,
            INSTAGRAM_CH,
            ECH_CH,
            ESNI_CH,
            ECH_SERVER_FLIGHT,
            DTLS12_CH_FRAG1,
            DTLS12_CH_FRAG2,
            DTLS12_HELLO_VERIFY,
            DTLS12_SERVER_HELLO_FRAG,
            DTLS13_CH,
            DTLS_SRTP_CH,
            DTLS_SRTP_SERVER_FLIGHT,
            HRR_BODY,
            &msg[4..],
            WEBEX_FLIGHT,
        ];
        vectors.extend(HUGE_CH_SEGMENTS);
        for v in vectors {
            for len in 0..=v.len() {
                exercise(&v[..len]);
            }
            let mut m = v.to_vec();
            for i in 0..m.len() {
                let orig = m[i];
                for b in [orig ^ 0xff, 0x00, 0xff] {
                    m[i] = b;
                    exercise(&m);
                }
                m[i] = orig;
            }
        }
    }
}

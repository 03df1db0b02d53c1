//! The names an X.509 server certificate is issued for.
//!
//! TLS up to 1.2 sends the server's certificate chain in cleartext (RFC 5246
//! section 7.4.2, see [`crate::tls::CertificateList`]); the leaf certificate
//! names the server even when the client sent no SNI. This module reads, from
//! one DER-encoded certificate (RFC 5280 section 4.1), only:
//!
//! - the subject's commonName attributes (OID 2.5.4.3, X.520), in wire order;
//! - the dNSName entries of the subjectAltName extension (OID 2.5.29.17,
//!   RFC 5280 section 4.2.1.6), in wire order.
//!
//! ```text
//! Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
//! TBSCertificate ::= SEQUENCE {
//!     version         [0] EXPLICIT Version DEFAULT v1,
//!     serialNumber        INTEGER,
//!     signature           AlgorithmIdentifier,   -- SEQUENCE
//!     issuer              Name,                  -- SEQUENCE
//!     validity            Validity,              -- SEQUENCE
//!     subject             Name,                  -- SEQUENCE OF RDN
//!     subjectPublicKeyInfo SEQUENCE,
//!     issuerUniqueID  [1] IMPLICIT BIT STRING OPTIONAL,
//!     subjectUniqueID [2] IMPLICIT BIT STRING OPTIONAL,
//!     extensions      [3] EXPLICIT SEQUENCE OF Extension OPTIONAL }
//! RelativeDistinguishedName ::= SET OF SEQUENCE { type OID, value ANY }
//! Extension    ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
//!                             extnValue OCTET STRING }
//! GeneralNames ::= SEQUENCE OF GeneralName   -- dNSName is [2] IMPLICIT IA5String
//! ```
//!
//! Why a hand-written walker and not a certificate crate such as
//! `x509-parser`: this crate stays dependency-light and allocation-free per
//! packet, and two fields of one certificate are all the engine needs. A
//! general parser decodes every field and extension (allocating for them) and
//! brings a parser-combinator and ASN.1 stack with it; the walker here is a
//! fixed path through the DER tree with no recursion, borrows the input, and
//! is fuzzed like the other views (`fuzz_targets/x509.rs`).
//!
//! [`Certificate::new_checked`] validates the framing of everything it walks
//! through once (every length inside its parent, the tags of the path, the
//! subject's attributes and the subjectAltName entries); the iterators then
//! cannot fail. Lengths use the DER definite forms (short, or long with up to
//! four length bytes); the BER indefinite form is refused.
//!
//! Not supported: signature or chain validation (a certificate proves nothing
//! here: it is only read for the name it claims), every other field and
//! extension, high tag numbers (never used on this path), and decoding of
//! BMPString and UniversalString values (returned as raw bytes, with
//! [`NameString::as_str`] giving `None`).

use crate::error::{Error, ErrorKind, Result};

/// DER tags on the path.
mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OID: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
    /// `[0]` constructed: the explicit version.
    pub const VERSION: u8 = 0xa0;
    /// `[1]` and `[2]` implicit BIT STRINGs, primitive or (BER) constructed.
    pub const ISSUER_UID: [u8; 2] = [0x81, 0xa1];
    pub const SUBJECT_UID: [u8; 2] = [0x82, 0xa2];
    /// `[3]` constructed: the explicit extensions.
    pub const EXTENSIONS: u8 = 0xa3;
    /// GeneralName `[2]` IMPLICIT IA5String.
    pub const DNS_NAME: u8 = 0x82;
}

/// DER contents of the OID 2.5.4.3 (id-at-commonName, X.520).
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// DER contents of the OID 2.5.29.17 (id-ce-subjectAltName, RFC 5280 section 4.2.1.6).
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// Longest length field accepted: four bytes (a certificate is far smaller).
const MAX_LENGTH_BYTES: usize = 4;

/// One DER element: its tag and where its contents lie in the parsed buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tlv {
    tag: u8,
    /// Offset of the first content byte.
    start: usize,
    /// Offset after the last content byte (= the end of the element).
    end: usize,
}

// TLV = identifier octet, length octets, contents        X.690 section 8.1
// length: 0xxxxxxx (short form) or 1nnnnnnn + n bytes    X.690 section 8.1.3
/// Reads the element at `off`; it must end by `limit`.
fn tlv(buf: &[u8], off: usize, limit: usize) -> Result<Tlv> {
    let limit = limit.min(buf.len());
    let byte = |at: usize| -> Result<u8> {
        if at < limit {
            buf.get(at).copied().ok_or(Error::truncated(at))
        } else {
            Err(Error::truncated(at))
        }
    };
    let t = byte(off)?;
    if t & 0x1f == 0x1f {
        return Err(Error::new(ErrorKind::Unsupported, off));
    }
    let first = byte(off + 1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 {
            // Indefinite length: BER only.
            return Err(Error::malformed(off + 1));
        }
        if n > MAX_LENGTH_BYTES {
            return Err(Error::bad_length(off + 1));
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(byte(off + 2 + i)?);
        }
        (len, 2 + n)
    };
    let start = off + header;
    let end = start
        .checked_add(len)
        .filter(|&e| e <= limit)
        .ok_or(Error::truncated(off))?;
    Ok(Tlv { tag: t, start, end })
}

/// Reads the element at `off`, which must have tag `want`.
fn expect(buf: &[u8], off: usize, limit: usize, want: u8) -> Result<Tlv> {
    let e = tlv(buf, off, limit)?;
    if e.tag != want {
        return Err(Error::malformed(off));
    }
    Ok(e)
}

/// The contents of `e`.
fn contents(buf: &[u8], e: Tlv) -> &[u8] {
    buf.get(e.start..e.end).unwrap_or_default()
}

/// Iterator over the elements in `buf[pos..end]`; stops at the first
/// malformed one.
#[derive(Debug, Clone)]
struct Elements<'a> {
    buf: &'a [u8],
    pos: usize,
    end: usize,
}

impl<'a> Elements<'a> {
    /// The elements inside the contents of `parent`.
    fn inside(buf: &'a [u8], parent: Tlv) -> Self {
        Elements {
            buf,
            pos: parent.start,
            end: parent.end,
        }
    }
    /// Checks that every element is well framed.
    fn validate(mut self) -> Result<()> {
        while self.pos < self.end {
            let e = tlv(self.buf, self.pos, self.end)?;
            self.pos = e.end;
        }
        Ok(())
    }
}

impl Iterator for Elements<'_> {
    type Item = Tlv;
    fn next(&mut self) -> Option<Tlv> {
        if self.pos >= self.end {
            return None;
        }
        match tlv(self.buf, self.pos, self.end) {
            Ok(e) => {
                self.pos = e.end;
                Some(e)
            }
            Err(_) => {
                self.pos = self.end;
                None
            }
        }
    }
}

open_enum! {
    /// The ASN.1 string type of a name (X.680 section 41; DirectoryString of
    /// X.520, IA5String for dNSName); the code point is the universal tag.
    pub enum StringType: u8 {
        /// UTF8String.
        Utf8 = 12,
        /// PrintableString.
        Printable = 19,
        /// TeletexString (T61String).
        Teletex = 20,
        /// IA5String (and the implicit dNSName).
        Ia5 = 22,
        /// VisibleString.
        Visible = 26,
        /// UniversalString (UCS-4).
        Universal = 28,
        /// BMPString (UCS-2).
        Bmp = 30,
    } else {
        /// Any other tag.
        Unknown
    }
}

/// A name as it appears in the certificate: its string type and raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameString<'a> {
    pub string_type: StringType,
    pub bytes: &'a [u8],
}

impl<'a> NameString<'a> {
    /// The name as text: UTF8String when it is valid UTF-8; the ASCII-based
    /// types (PrintableString, IA5String, VisibleString, TeletexString) when
    /// every byte is ASCII. `None` otherwise (BMPString, UniversalString,
    /// unknown types, bytes outside ASCII). Control characters are kept:
    /// escape before display.
    pub fn as_str(&self) -> Option<&'a str> {
        match self.string_type {
            StringType::Utf8 => core::str::from_utf8(self.bytes).ok(),
            StringType::Printable | StringType::Ia5 | StringType::Visible | StringType::Teletex
                if self.bytes.is_ascii() =>
            {
                core::str::from_utf8(self.bytes).ok()
            }
            _ => None,
        }
    }
}

/// The subject names of one DER certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Certificate<'a> {
    der: &'a [u8],
    /// The subject Name SEQUENCE.
    subject: Tlv,
    /// The GeneralNames SEQUENCE of subjectAltName, when present.
    alt_names: Option<Tlv>,
}

impl<'a> Certificate<'a> {
    /// Walks a DER certificate down to its subject and subjectAltName
    /// extension, validating the framing on the way.
    ///
    /// `Malformed` when an element on the path has an unexpected tag,
    /// `Truncated` when a length runs past its parent or the buffer. Bytes
    /// after the certificate are ignored.
    pub fn new_checked(der: &'a [u8]) -> Result<Self> {
        let cert = expect(der, 0, der.len(), tag::SEQUENCE)?;
        let tbs = expect(der, cert.start, cert.end, tag::SEQUENCE)?;
        let end = tbs.end;
        let mut off = tbs.start;
        let first = tlv(der, off, end)?;
        if first.tag == tag::VERSION {
            off = first.end;
        }
        off = expect(der, off, end, tag::INTEGER)?.end; // serialNumber
        off = expect(der, off, end, tag::SEQUENCE)?.end; // signature
        off = expect(der, off, end, tag::SEQUENCE)?.end; // issuer
        off = expect(der, off, end, tag::SEQUENCE)?.end; // validity
        let subject = expect(der, off, end, tag::SEQUENCE)?;
        validate_name(der, subject)?;
        off = expect(der, subject.end, end, tag::SEQUENCE)?.end; // subjectPublicKeyInfo
        let mut alt_names = None;
        while off < end {
            let at = off;
            let e = tlv(der, at, end)?;
            off = e.end;
            if tag::ISSUER_UID.contains(&e.tag) || tag::SUBJECT_UID.contains(&e.tag) {
                continue;
            }
            if e.tag != tag::EXTENSIONS {
                return Err(Error::malformed(at));
            }
            alt_names = find_alt_names(der, e)?;
        }
        Ok(Certificate {
            der,
            subject,
            alt_names,
        })
    }

    /// The subject's commonName values, in wire order (usually one).
    pub fn common_names(&self) -> CommonNames<'a> {
        CommonNames {
            der: self.der,
            rdns: Elements::inside(self.der, self.subject),
            attributes: None,
        }
    }

    /// The dNSName entries of the subjectAltName extension, in wire order
    /// (empty when the certificate has none).
    pub fn dns_names(&self) -> DnsNames<'a> {
        let names = match self.alt_names {
            Some(seq) => Elements::inside(self.der, seq),
            None => Elements {
                buf: self.der,
                pos: 0,
                end: 0,
            },
        };
        DnsNames {
            der: self.der,
            names,
        }
    }

    /// True when the certificate has a subjectAltName extension.
    pub fn has_subject_alt_name(&self) -> bool {
        self.alt_names.is_some()
    }
}

/// Checks the framing of a Name: a SEQUENCE of SETs of
/// SEQUENCE { OID, value }.
fn validate_name(der: &[u8], name: Tlv) -> Result<()> {
    let mut off = name.start;
    while off < name.end {
        let rdn = expect(der, off, name.end, tag::SET)?;
        let mut a = rdn.start;
        while a < rdn.end {
            let atav = expect(der, a, rdn.end, tag::SEQUENCE)?;
            let oid = expect(der, atav.start, atav.end, tag::OID)?;
            let value = tlv(der, oid.end, atav.end)?;
            if value.end != atav.end {
                return Err(Error::bad_length(atav.start));
            }
            a = atav.end;
        }
        off = rdn.end;
    }
    Ok(())
}

/// Finds subjectAltName in the `[3]` extensions element and validates the
/// framing of its GeneralNames.
fn find_alt_names(der: &[u8], explicit: Tlv) -> Result<Option<Tlv>> {
    let list = expect(der, explicit.start, explicit.end, tag::SEQUENCE)?;
    let mut off = list.start;
    let mut found = None;
    while off < list.end {
        let ext = expect(der, off, list.end, tag::SEQUENCE)?;
        off = ext.end;
        let id = expect(der, ext.start, ext.end, tag::OID)?;
        let mut next = tlv(der, id.end, ext.end)?;
        if next.tag == tag::BOOLEAN {
            next = tlv(der, next.end, ext.end)?;
        }
        if next.tag != tag::OCTET_STRING {
            return Err(Error::malformed(id.end));
        }
        if contents(der, id) != OID_SUBJECT_ALT_NAME || found.is_some() {
            continue;
        }
        // extnValue holds the DER of GeneralNames.
        let names = expect(der, next.start, next.end, tag::SEQUENCE)?;
        Elements::inside(der, names).validate()?;
        found = Some(names);
    }
    Ok(found)
}

/// Iterator over a certificate's subject commonName values.
#[derive(Debug, Clone)]
pub struct CommonNames<'a> {
    der: &'a [u8],
    rdns: Elements<'a>,
    /// The AttributeTypeAndValues of the current RDN.
    attributes: Option<Elements<'a>>,
}

impl<'a> Iterator for CommonNames<'a> {
    type Item = NameString<'a>;

    fn next(&mut self) -> Option<NameString<'a>> {
        loop {
            if let Some(atavs) = &mut self.attributes {
                for atav in atavs.by_ref() {
                    let mut parts = Elements::inside(self.der, atav);
                    let (Some(oid), Some(value)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    if contents(self.der, oid) == OID_COMMON_NAME {
                        return Some(NameString {
                            string_type: StringType::from(value.tag),
                            bytes: contents(self.der, value),
                        });
                    }
                }
            }
            let rdn = self.rdns.next()?;
            self.attributes = Some(Elements::inside(self.der, rdn));
        }
    }
}

/// Iterator over the dNSName entries of a subjectAltName extension.
#[derive(Debug, Clone)]
pub struct DnsNames<'a> {
    der: &'a [u8],
    names: Elements<'a>,
}

impl<'a> Iterator for DnsNames<'a> {
    type Item = NameString<'a>;

    fn next(&mut self) -> Option<NameString<'a>> {
        let der = self.der;
        self.names
            .by_ref()
            .find(|e| e.tag == tag::DNS_NAME)
            .map(|e| NameString {
                string_type: StringType::Ia5,
                bytes: contents(der, e),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::{CertificateList, HandshakeAssembler, HandshakeType};

    const WEBEX_FLIGHT: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/webex_tls10_server_flight.bin");
    const ZOOM_FLIGHT: [&[u8]; 4] = [
        include_bytes!("../../fixtures/payloads/tls/zoom_server_flight_1.bin"),
        include_bytes!("../../fixtures/payloads/tls/zoom_server_flight_2.bin"),
        include_bytes!("../../fixtures/payloads/tls/zoom_server_flight_3.bin"),
        include_bytes!("../../fixtures/payloads/tls/zoom_server_flight_4.bin"),
    ];
    const WECHAT_FLIGHT: [&[u8]; 2] = [
        include_bytes!("../../fixtures/payloads/tls/wechat_server_flight_1.bin"),
        include_bytes!("../../fixtures/payloads/tls/wechat_server_flight_2.bin"),
    ];

    /// The Certificate message body of a server's first flight (TCP
    /// payloads in order), through the assembler as the engine uses it.
    fn certificate_body(segments: &[&[u8]]) -> Vec<u8> {
        let mut asm = HandshakeAssembler::new(64 * 1024);
        asm.set_keep_later_messages(true);
        for s in segments {
            asm.push_tls_stream(s).unwrap();
        }
        let hello = asm.complete_handshake().unwrap();
        assert_eq!(hello.msg_type(), HandshakeType::ServerHello);
        assert!(asm.next_message());
        let cert = asm.complete_handshake().unwrap();
        assert_eq!(cert.msg_type(), HandshakeType::Certificate);
        cert.body().to_vec()
    }

    fn leaf(segments: &[&[u8]]) -> Vec<u8> {
        let body = certificate_body(segments);
        let list = CertificateList::parse(&body).unwrap();
        list.leaf().unwrap().to_vec()
    }

    fn names_of(der: &[u8]) -> (Vec<String>, Vec<String>) {
        let c = Certificate::new_checked(der).unwrap();
        let cn = c
            .common_names()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect();
        let dns = c
            .dns_names()
            .map(|n| n.as_str().unwrap().to_owned())
            .collect();
        (cn, dns)
    }

    /// tshark 4.0.17 on ndpi__webex.pcap frame 195: subject CN
    /// (PrintableString) and the 31 dNSNames of subjectAltName.
    #[test]
    fn parses_webex_tls10_certificate() {
        let der = leaf(&[WEBEX_FLIGHT]);
        let (cn, dns) = names_of(&der);
        assert_eq!(cn, ["www.webex.com"]);
        assert_eq!(dns.len(), 31);
        assert_eq!(
            dns[..3],
            ["www.webex.com.au", "www.webex.ca", "www.webex.de"]
        );
        assert_eq!(dns.last().map(String::as_str), Some("webex.com"));
        let c = Certificate::new_checked(&der).unwrap();
        assert_eq!(
            c.common_names().next().map(|n| n.string_type),
            Some(StringType::Printable)
        );
        assert!(c.has_subject_alt_name());
        let body = certificate_body(&[WEBEX_FLIGHT]);
        assert_eq!(
            CertificateList::parse(&body)
                .unwrap()
                .certificates()
                .count(),
            2
        );
    }

    /// tshark on ndpi__zoom.pcap frames 37, 38, 40 and 41: CN `*.zoom.us`
    /// (UTF8String), dNSNames `*.zoom.us` and `zoom.us`; the Certificate
    /// message spans four TCP segments.
    #[test]
    fn parses_zoom_certificate_across_segments() {
        let der = leaf(&ZOOM_FLIGHT);
        assert_eq!(
            names_of(&der),
            (
                vec!["*.zoom.us".into()],
                vec!["*.zoom.us".into(), "zoom.us".into()]
            )
        );
        let c = Certificate::new_checked(&der).unwrap();
        assert_eq!(
            c.common_names().next().map(|n| n.string_type),
            Some(StringType::Utf8)
        );
    }

    /// tshark on ndpi__wechat.pcap frames 98 and 100: CN `web.wechat.com` as
    /// a TeletexString, 15 dNSNames.
    #[test]
    fn parses_wechat_teletex_common_name() {
        let der = leaf(&WECHAT_FLIGHT);
        let c = Certificate::new_checked(&der).unwrap();
        let cn: Vec<_> = c.common_names().collect();
        assert_eq!(cn.len(), 1);
        assert_eq!(cn[0].string_type, StringType::Teletex);
        assert_eq!(cn[0].as_str(), Some("web.wechat.com"));
        let (_, dns) = names_of(&der);
        assert_eq!(dns.len(), 15);
        assert_eq!(dns[0], "webpush1.wechat.com");
    }

    /// A minimal v1 certificate (no version, no extensions) with two
    /// commonNames in one multi-valued RDN, a BMPString one and an
    /// organisation; hand-built.
    #[test]
    fn parses_hand_built_v1_certificate() {
        #[rustfmt::skip]
        let subject: &[u8] = &[
            0x30, 0x2e,
            0x31, 0x1a, // one RDN with two attributes
            0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x03, b'a', b'.', b'b',
            0x30, 0x0c, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x13, 0x05, b'O', b'r', b'g', b' ', b'1',
            0x31, 0x10,
            0x30, 0x0e, 0x06, 0x03, 0x55, 0x04, 0x03, 0x1e, 0x07, 0x00, b'x', 0x00, b'.', 0x00, b'y', 0x00,
        ];
        let mut tbs = vec![0x02, 0x01, 0x01, 0x30, 0x00, 0x30, 0x00, 0x30, 0x00];
        tbs.extend_from_slice(subject);
        tbs.extend_from_slice(&[0x30, 0x00]);
        let mut der = vec![0x30, 0x81, (tbs.len() + 2) as u8, 0x30, tbs.len() as u8];
        der.extend_from_slice(&tbs);
        let c = Certificate::new_checked(&der).unwrap();
        let cn: Vec<_> = c.common_names().collect();
        assert_eq!(cn.len(), 2);
        assert_eq!(cn[0].as_str(), Some("a.b"));
        assert_eq!(cn[1].string_type, StringType::Bmp);
        assert_eq!(cn[1].as_str(), None);
        assert!(!c.has_subject_alt_name());
        assert_eq!(c.dns_names().count(), 0);
        // Not a string type that maps to text.
        let raw = NameString {
            string_type: StringType::Printable,
            bytes: b"caf\xc3\xa9",
        };
        assert_eq!(raw.as_str(), None);
    }

    #[test]
    fn rejects_indefinite_long_and_high_tag_lengths() {
        assert_eq!(
            Certificate::new_checked(&[0x30, 0x80, 0x00, 0x00]).map_err(|e| e.kind),
            Err(ErrorKind::Malformed)
        );
        assert_eq!(
            Certificate::new_checked(&[0x30, 0x85, 1, 0, 0, 0, 0]).map_err(|e| e.kind),
            Err(ErrorKind::BadLength)
        );
        assert_eq!(
            Certificate::new_checked(&[0x3f, 0x01, 0x00]).map_err(|e| e.kind),
            Err(ErrorKind::Unsupported)
        );
        assert_eq!(
            Certificate::new_checked(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).map_err(|e| e.kind),
            Err(ErrorKind::Truncated)
        );
        assert!(Certificate::new_checked(&[]).is_err());
        assert!(Certificate::new_checked(&[0x04, 0x00]).is_err());
    }

    #[test]
    fn rejects_truncated_certificates() {
        let der = leaf(&ZOOM_FLIGHT);
        for len in 0..der.len() {
            assert!(Certificate::new_checked(&der[..len]).is_err(), "{len}");
        }
        // Trailing bytes after the certificate are not its business.
        let mut longer = der.clone();
        longer.extend_from_slice(&[0xff; 8]);
        assert_eq!(names_of(&longer), names_of(&der));
    }

    /// Every accessor over `buf`; must never panic.
    fn exercise(buf: &[u8]) {
        if let Ok(c) = Certificate::new_checked(buf) {
            for n in c.common_names().chain(c.dns_names()) {
                let _ = (n.as_str(), n.string_type, n.bytes.len());
            }
            let _ = c.has_subject_alt_name();
        }
    }

    #[test]
    fn parses_any_mutation_without_panic() {
        for der in [
            leaf(&[WEBEX_FLIGHT]),
            leaf(&ZOOM_FLIGHT),
            leaf(&WECHAT_FLIGHT),
        ] {
            for len in 0..=der.len() {
                exercise(&der[..len]);
            }
            let mut m = der.clone();
            for i in 0..m.len() {
                let orig = m[i];
                for b in [orig ^ 0xff, orig ^ 0x80, 0x00, 0xff, 0x1f] {
                    m[i] = b;
                    exercise(&m);
                }
                m[i] = orig;
            }
        }
    }

    #[test]
    fn parses_names_as_borrowed_text() {
        let der = leaf(&[WEBEX_FLIGHT]);
        let c = Certificate::new_checked(&der).unwrap();
        let first = c.dns_names().next().unwrap();
        // Zero-copy: the name points into the certificate.
        let at = first.bytes.as_ptr() as usize - der.as_ptr() as usize;
        assert_eq!(&der[at..at + first.bytes.len()], b"www.webex.com.au");
    }
}

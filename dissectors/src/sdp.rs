//! SDP session descriptions: typed lines, media sections and attributes.
//!
//! Implements RFC 8866 (which obsoletes RFC 4566) section 5 (`v=`, `o=`,
//! `s=`, `c=`, `b=`, `t=`, `k=`, `m=`, `a=` lines; section 9 ABNF), section 6
//! (the direction attributes, `rtpmap`, `fmtp`), and these attributes:
//! RFC 4568 section 9.1 `a=crypto` (SDES), RFC 4567 `a=key-mgmt`, RFC 8122
//! section 5 `a=fingerprint`, RFC 4145 section 4 `a=setup`, RFC 8839 section
//! 5.1 `a=candidate` (with mDNS `.local` host names, RFC 8445 `ice-ufrag`
//! and `ice-pwd`), RFC 6189 section 8 `a=zrtp-hash`, RFC 3605 `a=rtcp`,
//! RFC 5761 `a=rtcp-mux`, RFC 5576 `a=ssrc`, RFC 5888 `a=mid` and `a=group`.
//!
//! Parsing fails only when the body does not start with `v=0`; after that
//! every line is yielded, unknown ones as `Other` and unparsable ones as
//! `Malformed`, so the engine can count them as warnings.
//!
//! Key material is never exposed: `a=crypto` yields the suite, the number of
//! key parameters and whether an inline key is present; `k=` yields only its
//! method; `a=key-mgmt` only its protocol; `a=ice-pwd` only its length.
//! Attributes of those kinds that fail to parse are `Attribute::Malformed`
//! without their value.
//!
//! Not supported: `r=`/`z=` repeat and zone details (yielded as `Other`),
//! multicast address ranges beyond reading `/ttl/num`, IPv6 zone identifiers
//! (`%zone` is dropped before parsing), the value of fingerprints, and
//! attributes not listed above (yielded as `Attribute::Other`).

use crate::error::{Error, ErrorKind, Result};
use std::net::IpAddr;

/// Wire constants.
mod field {
    /// Every description starts with this line (RFC 8866 section 5.1).
    pub const VERSION_LINE: &[u8] = b"v=0";
    /// The type letter and `=` of the version line.
    pub const VERSION_KEY: &[u8] = b"v=";
    /// The type letter and `=` that open a media description.
    pub const MEDIA_PREFIX: &[u8] = b"m=";
    /// Suffix of mDNS host names used to hide ICE host candidates.
    pub const MDNS_SUFFIX: &str = ".local";
}

/// A unicast or connection address: an IP literal or a domain name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Address<'a> {
    /// An IPv4 or IPv6 literal (an IPv6 zone is dropped).
    Ip(IpAddr),
    /// Anything else, as written.
    Fqdn(&'a str),
}

impl<'a> Address<'a> {
    /// Reads an address: an IP literal when it parses as one, else a name.
    pub fn parse(s: &'a str) -> Address<'a> {
        parse_ip(s).map_or(Address::Fqdn(s), Address::Ip)
    }

    /// The IP literal, if this is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match *self {
            Address::Ip(ip) => Some(ip),
            Address::Fqdn(_) => None,
        }
    }
}

/// An IP literal, `%zone` dropped from IPv6.
fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = if s.contains(':') {
        s.split('%').next().unwrap_or(s)
    } else {
        s
    };
    s.parse().ok()
}

/// `o=` line (RFC 8866 section 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin<'a> {
    /// User name on the originating host (`-` when none).
    pub username: &'a str,
    /// Session identifier, as written.
    pub sess_id: &'a str,
    /// Session version, as written.
    pub sess_version: &'a str,
    /// Network type (`IN`).
    pub nettype: &'a str,
    /// Address type (`IP4`, `IP6`).
    pub addrtype: &'a str,
    /// Address of the originating host.
    pub addr: Address<'a>,
}

impl<'a> Origin<'a> {
    // RFC 8866 section 9:
    //   origin-field = %s"o" "=" username SP sess-id SP sess-version SP
    //                  nettype SP addrtype SP unicast-address CRLF
    fn parse(value: &'a str) -> Option<Origin<'a>> {
        let mut it = value.split_ascii_whitespace();
        let origin = Origin {
            username: it.next()?,
            sess_id: it.next()?,
            sess_version: it.next()?,
            nettype: it.next()?,
            addrtype: it.next()?,
            addr: Address::parse(it.next()?),
        };
        it.next().is_none().then_some(origin)
    }
}

/// `c=` line (RFC 8866 section 5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection<'a> {
    /// Network type (`IN`).
    pub nettype: &'a str,
    /// Address type (`IP4`, `IP6`).
    pub addrtype: &'a str,
    /// Connection address, `/ttl/num` removed.
    pub addr: Address<'a>,
    /// IPv4 multicast TTL (`addr/ttl`).
    pub ttl: Option<u8>,
    /// Number of consecutive multicast addresses (`addr/ttl/num`, IPv6 `addr/num`).
    pub num: Option<u32>,
}

impl<'a> Connection<'a> {
    // RFC 8866 section 9:
    //   connection-field = [%s"c" "=" nettype SP addrtype SP connection-address CRLF]
    //   connection-address = multicast-address / unicast-address
    //   IP4-multicast = m1 3( "." decimal-uchar ) "/" ttl [ "/" numaddr ]
    //   IP6-multicast = IP6-address [ "/" numaddr ]
    fn parse(value: &'a str) -> Option<Connection<'a>> {
        let mut it = value.split_ascii_whitespace();
        let nettype = it.next()?;
        let addrtype = it.next()?;
        let addr = it.next()?;
        if it.next().is_some() {
            return None;
        }
        let mut parts = addr.split('/');
        let host = parts.next()?;
        let first: Option<u32> = match parts.next() {
            Some(n) => Some(n.parse().ok()?),
            None => None,
        };
        let second: Option<u32> = match parts.next() {
            Some(n) => Some(n.parse().ok()?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        let (ttl, num) = if addrtype.eq_ignore_ascii_case("IP6") {
            (None, first)
        } else {
            (first.map(u8::try_from).transpose().ok()?, second)
        };
        Some(Connection {
            nettype,
            addrtype,
            addr: Address::parse(host),
            ttl,
            num,
        })
    }
}

/// The media type of an `m=` line (RFC 8866 section 5.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind<'a> {
    Audio,
    Video,
    Application,
    Text,
    Message,
    Image,
    /// Any other token, as written.
    Unknown(&'a str),
}

impl<'a> MediaKind<'a> {
    /// Maps a media token, case-insensitively.
    pub fn from_token(s: &'a str) -> MediaKind<'a> {
        const MAP: [(&str, MediaKind<'static>); 6] = [
            ("audio", MediaKind::Audio),
            ("video", MediaKind::Video),
            ("application", MediaKind::Application),
            ("text", MediaKind::Text),
            ("message", MediaKind::Message),
            ("image", MediaKind::Image),
        ];
        crate::error::lookup_token(&MAP, s).unwrap_or(MediaKind::Unknown(s))
    }
}

/// The transport protocol of an `m=` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportProfile<'a> {
    /// `RTP/AVP` (RFC 3551).
    RtpAvp,
    /// `RTP/AVPF` (RFC 4585).
    RtpAvpf,
    /// `RTP/SAVP` (RFC 3711).
    RtpSavp,
    /// `RTP/SAVPF` (RFC 5124).
    RtpSavpf,
    /// `UDP/TLS/RTP/SAVP` (RFC 5764).
    UdpTlsRtpSavp,
    /// `UDP/TLS/RTP/SAVPF` (RFC 5764).
    UdpTlsRtpSavpf,
    /// `TCP/TLS/RTP/SAVP` (RFC 7850).
    TcpTlsRtpSavp,
    /// `TCP/TLS/RTP/SAVPF` (RFC 7850).
    TcpTlsRtpSavpf,
    /// `UDP/DTLS/SCTP`, `TCP/DTLS/SCTP` or `DTLS/SCTP` (RFC 8841).
    DtlsSctp,
    /// `udptl` (T.38 fax).
    Udptl,
    /// `TCP` (RFC 4145).
    Tcp,
    /// Any other protocol, as written.
    Unknown(&'a str),
}

impl<'a> TransportProfile<'a> {
    /// Maps a proto token, case-insensitively.
    pub fn from_proto(s: &'a str) -> TransportProfile<'a> {
        const MAP: [(&str, TransportProfile<'static>); 13] = [
            ("RTP/AVP", TransportProfile::RtpAvp),
            ("RTP/AVPF", TransportProfile::RtpAvpf),
            ("RTP/SAVP", TransportProfile::RtpSavp),
            ("RTP/SAVPF", TransportProfile::RtpSavpf),
            ("UDP/TLS/RTP/SAVP", TransportProfile::UdpTlsRtpSavp),
            ("UDP/TLS/RTP/SAVPF", TransportProfile::UdpTlsRtpSavpf),
            ("TCP/TLS/RTP/SAVP", TransportProfile::TcpTlsRtpSavp),
            ("TCP/TLS/RTP/SAVPF", TransportProfile::TcpTlsRtpSavpf),
            ("UDP/DTLS/SCTP", TransportProfile::DtlsSctp),
            ("TCP/DTLS/SCTP", TransportProfile::DtlsSctp),
            ("DTLS/SCTP", TransportProfile::DtlsSctp),
            ("udptl", TransportProfile::Udptl),
            ("TCP", TransportProfile::Tcp),
        ];
        crate::error::lookup_token(&MAP, s).unwrap_or(TransportProfile::Unknown(s))
    }

    /// True for profiles that mandate SRTP or DTLS.
    pub fn is_secure(&self) -> bool {
        !matches!(
            self,
            TransportProfile::RtpAvp
                | TransportProfile::RtpAvpf
                | TransportProfile::Udptl
                | TransportProfile::Tcp
                | TransportProfile::Unknown(_)
        )
    }

    /// True for profiles keyed by DTLS (`UDP/TLS/...`, `TCP/TLS/...`, DTLS/SCTP).
    pub fn is_dtls(&self) -> bool {
        matches!(
            self,
            TransportProfile::UdpTlsRtpSavp
                | TransportProfile::UdpTlsRtpSavpf
                | TransportProfile::TcpTlsRtpSavp
                | TransportProfile::TcpTlsRtpSavpf
                | TransportProfile::DtlsSctp
        )
    }
}

/// `m=` line (RFC 8866 section 5.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Media<'a> {
    /// Media type.
    pub kind: MediaKind<'a>,
    /// Transport port (0: stream disabled).
    pub port: u16,
    /// Number of ports (`port/number`).
    pub num_ports: Option<u16>,
    /// The proto field as written; see [`Media::profile`].
    pub proto: &'a str,
    fmts: &'a str,
}

impl<'a> Media<'a> {
    // RFC 8866 section 9:
    //   media-field = %s"m" "=" media SP port ["/" integer] SP proto 1*(SP fmt) CRLF
    fn parse(value: &'a str) -> Option<Media<'a>> {
        let value = value.trim();
        let (kind, rest) = value.split_once(' ')?;
        let rest = rest.trim_start();
        let (port, rest) = rest.split_once(' ')?;
        let rest = rest.trim_start();
        let (proto, fmts) = rest.split_once(' ').unwrap_or((rest, ""));
        let (port, num_ports) = match port.split_once('/') {
            Some((p, n)) => (p, Some(parse_u16(n)?)),
            None => (port, None),
        };
        if kind.is_empty() || proto.is_empty() {
            return None;
        }
        Some(Media {
            kind: MediaKind::from_token(kind),
            port: parse_u16(port)?,
            num_ports,
            proto,
            fmts: fmts.trim(),
        })
    }

    /// The proto field, mapped.
    pub fn profile(&self) -> TransportProfile<'a> {
        TransportProfile::from_proto(self.proto)
    }

    /// The format list (RTP payload types as decimal strings for RTP profiles).
    pub fn fmts(&self) -> impl Iterator<Item = &'a str> {
        self.fmts.split_ascii_whitespace()
    }

    /// True when the port is 0: the stream is rejected or disabled.
    pub fn is_disabled(&self) -> bool {
        self.port == 0
    }
}

fn parse_u16(s: &str) -> Option<u16> {
    digits(s)?.parse().ok()
}

fn parse_u32(s: &str) -> Option<u32> {
    digits(s)?.parse().ok()
}

fn parse_u64(s: &str) -> Option<u64> {
    digits(s)?.parse().ok()
}

/// `s` when it is a non-empty run of ASCII digits.
fn digits(s: &str) -> Option<&str> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

/// An SRTP crypto suite (RFC 4568 section 6.2, RFC 6188, RFC 7714).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CryptoSuite<'a> {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
    Aes192CmHmacSha1_80,
    Aes192CmHmacSha1_32,
    Aes256CmHmacSha1_80,
    Aes256CmHmacSha1_32,
    F8_128HmacSha1_80,
    AeadAes128Gcm,
    AeadAes256Gcm,
    /// `NULL_HMAC_SHA1_80`: authentication only, no encryption.
    NullHmacSha1_80,
    /// `NULL_HMAC_SHA1_32`: authentication only, no encryption.
    NullHmacSha1_32,
    /// Any other suite, as written.
    Unknown(&'a str),
}

impl<'a> CryptoSuite<'a> {
    /// Maps a suite name (case-sensitive, as registered).
    pub fn from_name(s: &'a str) -> CryptoSuite<'a> {
        const MAP: [(&str, CryptoSuite<'static>); 11] = [
            ("AES_CM_128_HMAC_SHA1_80", CryptoSuite::AesCm128HmacSha1_80),
            ("AES_CM_128_HMAC_SHA1_32", CryptoSuite::AesCm128HmacSha1_32),
            ("AES_192_CM_HMAC_SHA1_80", CryptoSuite::Aes192CmHmacSha1_80),
            ("AES_192_CM_HMAC_SHA1_32", CryptoSuite::Aes192CmHmacSha1_32),
            ("AES_256_CM_HMAC_SHA1_80", CryptoSuite::Aes256CmHmacSha1_80),
            ("AES_256_CM_HMAC_SHA1_32", CryptoSuite::Aes256CmHmacSha1_32),
            ("F8_128_HMAC_SHA1_80", CryptoSuite::F8_128HmacSha1_80),
            ("AEAD_AES_128_GCM", CryptoSuite::AeadAes128Gcm),
            ("AEAD_AES_256_GCM", CryptoSuite::AeadAes256Gcm),
            ("NULL_HMAC_SHA1_80", CryptoSuite::NullHmacSha1_80),
            ("NULL_HMAC_SHA1_32", CryptoSuite::NullHmacSha1_32),
        ];
        MAP.iter()
            .find(|(n, _)| *n == s)
            .map_or(CryptoSuite::Unknown(s), |&(_, c)| c)
    }

    /// True when the suite does not encrypt.
    pub fn is_null_cipher(&self) -> bool {
        matches!(
            self,
            CryptoSuite::NullHmacSha1_80 | CryptoSuite::NullHmacSha1_32
        ) || matches!(self, CryptoSuite::Unknown(s) if s.starts_with("NULL"))
    }

    /// True for a null cipher or a 32-bit authentication tag.
    pub fn is_weak(&self) -> bool {
        self.is_null_cipher()
            || matches!(
                self,
                CryptoSuite::AesCm128HmacSha1_32
                    | CryptoSuite::Aes192CmHmacSha1_32
                    | CryptoSuite::Aes256CmHmacSha1_32
            )
    }
}

/// `a=crypto` (RFC 4568 section 9.1), key material withheld.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crypto<'a> {
    /// Tag that the answer refers to.
    pub tag: u32,
    /// SRTP crypto suite.
    pub suite: CryptoSuite<'a>,
    /// Number of `;`-separated key parameters.
    pub key_params_count: usize,
    /// True when at least one key parameter uses the `inline:` method.
    pub has_inline_key: bool,
    /// `UNENCRYPTED_SRTP` session parameter.
    pub unencrypted_srtp: bool,
    /// `UNENCRYPTED_SRTCP` session parameter.
    pub unencrypted_srtcp: bool,
    /// `UNAUTHENTICATED_SRTP` session parameter.
    pub unauthenticated_srtp: bool,
}

impl<'a> Crypto<'a> {
    // RFC 4568 section 9.1:
    //   a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]
    //   key-params = key-param *(";" key-param)
    //   key-param  = key-method ":" key-info     ; key-method = "inline" / token
    //   session-param = "UNENCRYPTED_SRTP" / "UNENCRYPTED_SRTCP" / ...
    fn parse(value: &'a str) -> Option<Crypto<'a>> {
        let mut it = value.split_ascii_whitespace();
        let tag = parse_u32(it.next()?)?;
        let suite = CryptoSuite::from_name(it.next()?);
        let key_params = it.next()?;
        let mut key_params_count = 0;
        let mut has_inline_key = false;
        for param in key_params.split(';') {
            let (method, _) = param.split_once(':')?;
            key_params_count += 1;
            has_inline_key |= method.eq_ignore_ascii_case("inline");
        }
        let mut crypto = Crypto {
            tag,
            suite,
            key_params_count,
            has_inline_key,
            unencrypted_srtp: false,
            unencrypted_srtcp: false,
            unauthenticated_srtp: false,
        };
        for session_param in it {
            match session_param {
                "UNENCRYPTED_SRTP" => crypto.unencrypted_srtp = true,
                "UNENCRYPTED_SRTCP" => crypto.unencrypted_srtcp = true,
                "UNAUTHENTICATED_SRTP" => crypto.unauthenticated_srtp = true,
                _ => {}
            }
        }
        Some(crypto)
    }
}

/// `a=setup` role (RFC 4145 section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetupRole<'a> {
    Active,
    Passive,
    Actpass,
    Holdconn,
    /// Any other token, as written.
    Unknown(&'a str),
}

impl<'a> SetupRole<'a> {
    fn from_token(s: &'a str) -> SetupRole<'a> {
        match s {
            "active" => SetupRole::Active,
            "passive" => SetupRole::Passive,
            "actpass" => SetupRole::Actpass,
            "holdconn" => SetupRole::Holdconn,
            other => SetupRole::Unknown(other),
        }
    }
}

/// The address of an ICE candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateAddress<'a> {
    /// An IP literal.
    Ip(IpAddr),
    /// An mDNS name (`<uuid>.local`) hiding a host address (RFC 8839 section 5.1).
    Mdns(&'a str),
    /// Another domain name.
    Fqdn(&'a str),
}

impl<'a> CandidateAddress<'a> {
    /// Classifies a connection-address.
    pub fn parse(s: &'a str) -> CandidateAddress<'a> {
        if let Some(ip) = parse_ip(s) {
            return CandidateAddress::Ip(ip);
        }
        let is_mdns = s
            .len()
            .checked_sub(field::MDNS_SUFFIX.len())
            .and_then(|at| s.get(at..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case(field::MDNS_SUFFIX));
        if is_mdns {
            CandidateAddress::Mdns(s)
        } else {
            CandidateAddress::Fqdn(s)
        }
    }

    /// The IP literal, if this is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match *self {
            CandidateAddress::Ip(ip) => Some(ip),
            _ => None,
        }
    }
}

/// ICE candidate type (RFC 8445 section 5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateType<'a> {
    Host,
    Srflx,
    Prflx,
    Relay,
    /// Any other token, as written.
    Unknown(&'a str),
}

/// Candidate transport (RFC 8839 section 5.1, RFC 6544).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateTransport<'a> {
    Udp,
    Tcp,
    /// Any other token, as written.
    Unknown(&'a str),
}

/// `tcptype` of a TCP candidate (RFC 6544 section 4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpType<'a> {
    Active,
    Passive,
    So,
    /// Any other token, as written.
    Unknown(&'a str),
}

/// An ICE candidate (RFC 8839 section 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// Foundation, as written.
    pub foundation: &'a str,
    /// Component (1 RTP, 2 RTCP).
    pub component: u32,
    /// Transport.
    pub transport: CandidateTransport<'a>,
    /// Priority.
    pub priority: u32,
    /// Connection address.
    pub address: CandidateAddress<'a>,
    /// Port.
    pub port: u16,
    /// Candidate type.
    pub typ: CandidateType<'a>,
    /// Related address (`raddr`): the base of a reflexive or relayed candidate.
    pub raddr: Option<CandidateAddress<'a>>,
    /// Related port (`rport`).
    pub rport: Option<u16>,
    /// `tcptype` of a TCP candidate.
    pub tcptype: Option<TcpType<'a>>,
    /// Everything after `typ <type>`, as written.
    tail: &'a str,
}

impl<'a> Candidate<'a> {
    // RFC 8839 section 5.1:
    //   candidate-attribute = "candidate" ":" foundation SP component-id SP
    //                         transport SP priority SP connection-address SP
    //                         port SP cand-type [SP rel-addr] [SP rel-port]
    //                         *(SP cand-extension)
    //   cand-type = "typ" SP candidate-types
    //   rel-addr  = "raddr" SP connection-address
    //   rel-port  = "rport" SP port
    //   cand-extension = extension-att-name SP extension-att-value
    /// Parses a candidate value, with or without a leading `a=` and
    /// `candidate:` (as carried in trickle-ICE JSON or SIP INFO bodies).
    pub fn parse(s: &'a str) -> Option<Candidate<'a>> {
        let s = s.trim();
        let s = s.strip_prefix("a=").unwrap_or(s);
        let s = s.strip_prefix("candidate:").unwrap_or(s);
        let mut it = s.split_ascii_whitespace();
        let foundation = it.next()?;
        let component = parse_u32(it.next()?)?;
        let transport = match it.next()? {
            t if t.eq_ignore_ascii_case("udp") => CandidateTransport::Udp,
            t if t.eq_ignore_ascii_case("tcp") => CandidateTransport::Tcp,
            t => CandidateTransport::Unknown(t),
        };
        let priority = parse_u32(it.next()?)?;
        let address = CandidateAddress::parse(it.next()?);
        let port = parse_u16(it.next()?)?;
        if it.next()? != "typ" {
            return None;
        }
        let typ = match it.next()? {
            "host" => CandidateType::Host,
            "srflx" => CandidateType::Srflx,
            "prflx" => CandidateType::Prflx,
            "relay" => CandidateType::Relay,
            other => CandidateType::Unknown(other),
        };
        // The type word is followed by SP (section 5.1), and no field before
        // `typ` can contain a space, so the first " typ " is the separator.
        let tail = s
            .split_once(" typ ")
            .and_then(|(_, rest)| rest.trim_start().split_once(char::is_whitespace))
            .map_or("", |(_, rest)| rest.trim_start());
        let mut candidate = Candidate {
            foundation,
            component,
            transport,
            priority,
            address,
            port,
            typ,
            raddr: None,
            rport: None,
            tcptype: None,
            tail,
        };
        let mut pairs = tail.split_ascii_whitespace();
        while let (Some(name), Some(value)) = (pairs.next(), pairs.next()) {
            match name {
                "raddr" => candidate.raddr = Some(CandidateAddress::parse(value)),
                "rport" => candidate.rport = Some(parse_u16(value)?),
                "tcptype" => {
                    candidate.tcptype = Some(match value {
                        "active" => TcpType::Active,
                        "passive" => TcpType::Passive,
                        "so" => TcpType::So,
                        other => TcpType::Unknown(other),
                    })
                }
                _ => {}
            }
        }
        Some(candidate)
    }

    /// Extension name/value pairs after `typ` other than `raddr`, `rport`
    /// and `tcptype` (e.g. `generation`, `ufrag`, `network-id`).
    pub fn extensions(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        let mut words = self.tail.split_ascii_whitespace();
        core::iter::from_fn(move || Some((words.next()?, words.next()?)))
            .filter(|(name, _)| !matches!(*name, "raddr" | "rport" | "tcptype"))
    }
}

/// Media direction (RFC 8866 section 6.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Sendrecv,
    Sendonly,
    Recvonly,
    Inactive,
}

/// A typed `a=` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute<'a> {
    /// `a=rtpmap` (RFC 8866 section 6.6).
    Rtpmap {
        /// Payload type.
        pt: u8,
        /// Encoding name (e.g. `opus`, `PCMU`).
        encoding: &'a str,
        /// Clock rate in Hz.
        clock_rate: u32,
        /// Encoding parameters (audio channels).
        channels: Option<u16>,
    },
    /// `a=fmtp` (RFC 8866 section 6.15).
    Fmtp { pt: u8, params: &'a str },
    /// `a=crypto` (RFC 4568), key withheld.
    Crypto(Crypto<'a>),
    /// `a=key-mgmt` (RFC 4567): only the protocol (e.g. `mikey`).
    KeyMgmt { protocol: &'a str },
    /// `a=fingerprint` (RFC 8122): only the hash function.
    Fingerprint { hash_func: &'a str },
    /// `a=setup` (RFC 4145).
    Setup(SetupRole<'a>),
    /// `a=candidate` (RFC 8839).
    Candidate(Candidate<'a>),
    /// `a=end-of-candidates` (RFC 8840).
    EndOfCandidates,
    /// `a=zrtp-hash` (RFC 6189 section 8): only the ZRTP version.
    ZrtpHash { version: &'a str },
    /// `a=rtcp` (RFC 3605).
    Rtcp {
        port: u16,
        addr: Option<Address<'a>>,
    },
    /// `a=rtcp-mux` (RFC 5761).
    RtcpMux,
    /// `a=extmap` (RFC 8285 section 8): a header extension's local
    /// identifier and the URI naming it.
    Extmap {
        /// Local identifier (1..=14 one-byte form, 1..=255 two-byte form;
        /// 4096..=4351 are reserved for negotiation and accepted as written).
        id: u16,
        /// The URI (e.g. `urn:ietf:params:rtp-hdrext:ssrc-audio-level`).
        uri: &'a str,
    },
    /// `a=cryptex` (RFC 9335 section 6.1): header extensions and CSRCs
    /// are encrypted with the payload.
    Cryptex,
    /// `a=sframe`: SFrame (RFC 9605) end-to-end media encryption
    /// negotiated for the media (the attribute name of the IETF AVTCORE
    /// RTP payload drafts for SFrame).
    Sframe,
    /// `a=ice-ufrag` (RFC 8839 section 5.4).
    IceUfrag(&'a str),
    /// `a=ice-pwd` (RFC 8839 section 5.4): only its length.
    IcePwd { len: usize },
    /// `a=ssrc` (RFC 5576 section 4.1).
    Ssrc {
        /// Synchronization source.
        ssrc: u32,
        /// Source attribute name (e.g. `cname`, `msid`).
        attribute: &'a str,
        /// Source attribute value.
        value: Option<&'a str>,
    },
    /// `a=mid` (RFC 5888).
    Mid(&'a str),
    /// `a=group` (RFC 5888): semantics and space-separated identification tags.
    Group { semantics: &'a str, mids: &'a str },
    /// `a=sendrecv` / `sendonly` / `recvonly` / `inactive`.
    Direction(Direction),
    /// Any other attribute, as written.
    Other {
        name: &'a str,
        value: Option<&'a str>,
    },
    /// A listed attribute whose value does not parse (value withheld).
    Malformed { name: &'a str },
}

impl<'a> Attribute<'a> {
    // RFC 8866 section 9:
    //   attribute-field = %s"a" "=" attribute CRLF
    //   attribute       = (attribute-name ":" attribute-value) / attribute-name
    /// Parses the text after `a=`.
    pub fn parse(text: &'a str) -> Attribute<'a> {
        let (name, value) = match text.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (text, None),
        };
        let v = value.unwrap_or("").trim();
        let parsed = match name {
            "rtpmap" => parse_rtpmap(v),
            "fmtp" => v.split_once(' ').and_then(|(pt, params)| {
                Some(Attribute::Fmtp {
                    pt: u8::try_from(parse_u32(pt)?).ok()?,
                    params: params.trim(),
                })
            }),
            "crypto" => Crypto::parse(v).map(Attribute::Crypto),
            "key-mgmt" => first_word(v).map(|protocol| Attribute::KeyMgmt { protocol }),
            "fingerprint" => first_word(v).map(|hash_func| Attribute::Fingerprint { hash_func }),
            "setup" => first_word(v).map(|role| Attribute::Setup(SetupRole::from_token(role))),
            "candidate" => Candidate::parse(v).map(Attribute::Candidate),
            "end-of-candidates" => Some(Attribute::EndOfCandidates),
            "zrtp-hash" => first_word(v).map(|version| Attribute::ZrtpHash { version }),
            "rtcp" => parse_rtcp(v),
            "rtcp-mux" => Some(Attribute::RtcpMux),
            "extmap" => parse_extmap(v),
            "cryptex" => Some(Attribute::Cryptex),
            "sframe" => Some(Attribute::Sframe),
            "ice-ufrag" => first_word(v).map(Attribute::IceUfrag),
            "ice-pwd" => first_word(v).map(|pwd| Attribute::IcePwd { len: pwd.len() }),
            "ssrc" => parse_ssrc(v),
            "mid" => first_word(v).map(Attribute::Mid),
            "group" => first_word(v).map(|semantics| Attribute::Group {
                semantics,
                mids: v.get(semantics.len()..).unwrap_or("").trim(),
            }),
            "sendrecv" => Some(Attribute::Direction(Direction::Sendrecv)),
            "sendonly" => Some(Attribute::Direction(Direction::Sendonly)),
            "recvonly" => Some(Attribute::Direction(Direction::Recvonly)),
            "inactive" => Some(Attribute::Direction(Direction::Inactive)),
            _ => return Attribute::Other { name, value },
        };
        parsed.unwrap_or(Attribute::Malformed { name })
    }
}

fn first_word(s: &str) -> Option<&str> {
    s.split_ascii_whitespace().next()
}

// RFC 8866 section 6.6:
//   a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
fn parse_rtpmap(v: &str) -> Option<Attribute<'_>> {
    let (pt, rest) = v.split_once(' ')?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next()?;
    let clock_rate = parse_u32(parts.next()?)?;
    let channels = match parts.next() {
        Some(c) => Some(parse_u16(c)?),
        None => None,
    };
    Some(Attribute::Rtpmap {
        pt: u8::try_from(parse_u32(pt)?).ok()?,
        encoding,
        clock_rate,
        channels,
    })
}

// RFC 3605 section 2.1:
//   rtcp-attribute = "a=rtcp:" port [nettype space addrtype space connection-address] CRLF
fn parse_rtcp(v: &str) -> Option<Attribute<'_>> {
    let mut it = v.split_ascii_whitespace();
    let port = parse_u16(it.next()?)?;
    let addr = match (it.next(), it.next(), it.next()) {
        (None, _, _) => None,
        (Some(_nettype), Some(_addrtype), Some(addr)) => Some(Address::parse(addr)),
        _ => return None,
    };
    Some(Attribute::Rtcp { port, addr })
}

// RFC 8285 section 8:
//   extmap = mapentry SP extensionname [SP extensionattributes]
//   mapentry = "extmap:" 1*5DIGIT ["/" direction]
fn parse_extmap(v: &str) -> Option<Attribute<'_>> {
    let mut it = v.split_ascii_whitespace();
    let entry = it.next()?;
    let id = entry.split('/').next()?;
    let id = u16::try_from(parse_u32(id)?).ok()?;
    let uri = it.next()?;
    Some(Attribute::Extmap { id, uri })
}

// RFC 5576 section 4.1:
//   ssrc-attr = "ssrc:" ssrc-id SP attribute   ; attribute = name [":" value]
fn parse_ssrc(v: &str) -> Option<Attribute<'_>> {
    let (ssrc, attr) = v.split_once(' ')?;
    let attr = attr.trim();
    let (attribute, value) = match attr.split_once(':') {
        Some((n, val)) => (n, Some(val)),
        None => (attr, None),
    };
    if attribute.is_empty() {
        return None;
    }
    Some(Attribute::Ssrc {
        ssrc: parse_u32(ssrc)?,
        attribute,
        value,
    })
}

/// One typed SDP line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpLine<'a> {
    /// `v=`.
    Version(&'a str),
    /// `o=`.
    Origin(Origin<'a>),
    /// `s=`.
    SessionName(&'a str),
    /// `c=`.
    Connection(Connection<'a>),
    /// `b=<bwtype>:<bandwidth>`.
    Bandwidth { bwtype: &'a str, value: u64 },
    /// `t=<start> <stop>`.
    Timing { start: u64, stop: u64 },
    /// `k=`: only the method (`clear`, `base64`, `uri`, `prompt`); the key is withheld.
    EncryptionKey { method: &'a str },
    /// `m=`.
    Media(Media<'a>),
    /// `a=`.
    Attribute(Attribute<'a>),
    /// Any other `<letter>=<value>` line (`i=`, `u=`, `e=`, `p=`, `r=`, `z=`...).
    Other { kind: u8, value: &'a str },
    /// A line that is not `<letter>=<value>`, not UTF-8, or whose value does
    /// not parse for its type. `offset` is where it starts in the body.
    Malformed { offset: usize, kind: u8 },
}

/// Classifies one line (CR/LF already removed) starting at `offset`.
fn parse_line(line: &[u8], offset: usize) -> SdpLine<'_> {
    let kind = line.first().copied().unwrap_or(0);
    let malformed = SdpLine::Malformed { offset, kind };
    let (Some(b'='), Some(value)) = (line.get(1), line.get(2..)) else {
        return malformed;
    };
    if !kind.is_ascii_alphabetic() {
        return malformed;
    }
    let Ok(value) = core::str::from_utf8(value) else {
        return malformed;
    };
    let typed = match kind {
        b'v' => Some(SdpLine::Version(value.trim())),
        b'o' => Origin::parse(value).map(SdpLine::Origin),
        b's' => Some(SdpLine::SessionName(value)),
        b'c' => Connection::parse(value).map(SdpLine::Connection),
        b'b' => value.split_once(':').and_then(|(bwtype, bw)| {
            Some(SdpLine::Bandwidth {
                bwtype,
                value: parse_u64(bw.trim())?,
            })
        }),
        b't' => {
            let mut it = value.split_ascii_whitespace();
            match (it.next().and_then(parse_u64), it.next().and_then(parse_u64)) {
                (Some(start), Some(stop)) => Some(SdpLine::Timing { start, stop }),
                _ => None,
            }
        }
        b'k' => Some(SdpLine::EncryptionKey {
            method: value.split(':').next().unwrap_or("").trim(),
        }),
        b'm' => Media::parse(value).map(SdpLine::Media),
        b'a' => Some(SdpLine::Attribute(Attribute::parse(value))),
        _ => Some(SdpLine::Other { kind, value }),
    };
    typed.unwrap_or(malformed)
}

/// Typed lines of a block; blank lines are skipped.
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Lines<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Lines { buf, pos: 0, base }
    }
}

/// The next non-blank line of `buf` from `*pos`: (offset, content without CR/LF).
fn next_raw_line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<(usize, &'a [u8])> {
    loop {
        let rest = buf.get(*pos..).filter(|r| !r.is_empty())?;
        let start = *pos;
        let (line, advance) = match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => (rest.get(..nl)?, nl + 1),
            None => (rest, rest.len()),
        };
        *pos = start + advance;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.iter().all(u8::is_ascii_whitespace) {
            return Some((start, line));
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = SdpLine<'a>;

    fn next(&mut self) -> Option<SdpLine<'a>> {
        let (offset, line) = next_raw_line(self.buf, &mut self.pos)?;
        Some(parse_line(line, self.base.saturating_add(offset)))
    }
}

/// Offset of the first line at or after `from` that starts with `m=`.
fn find_media_line(buf: &[u8], from: usize) -> Option<usize> {
    let mut pos = from;
    while let Some((offset, line)) = next_raw_line(buf, &mut pos) {
        if line.starts_with(field::MEDIA_PREFIX) {
            return Some(offset);
        }
    }
    None
}

/// A parsed session description borrowing its buffer.
#[derive(Debug, Clone, Copy)]
pub struct SessionDescription<'a> {
    buf: &'a [u8],
    /// Where the first `m=` line starts (the buffer length when none).
    first_media: usize,
}

impl<'a> SessionDescription<'a> {
    /// Accepts a body that starts with a `v=0` line; everything after it is
    /// read leniently by the iterators.
    pub fn parse(body: &'a [u8]) -> Result<SessionDescription<'a>> {
        let Some(after) = body.strip_prefix(field::VERSION_LINE) else {
            let kind = if body.len() < field::VERSION_LINE.len()
                && field::VERSION_LINE.starts_with(body)
            {
                ErrorKind::Truncated
            } else if body.starts_with(field::VERSION_KEY) {
                ErrorKind::BadVersion
            } else {
                ErrorKind::NotThisProtocol
            };
            return Err(Error::new(kind, 0));
        };
        if !matches!(after.first(), None | Some(b'\r' | b'\n' | b' ')) {
            return Err(Error::new(ErrorKind::BadVersion, 2));
        }
        Ok(SessionDescription {
            buf: body,
            first_media: find_media_line(body, 0).unwrap_or(body.len()),
        })
    }

    /// Every line, in order.
    pub fn lines(&self) -> Lines<'a> {
        Lines::new(self.buf, 0)
    }

    /// Session-level lines (before the first `m=`).
    pub fn session_lines(&self) -> Lines<'a> {
        Lines::new(self.buf.get(..self.first_media).unwrap_or_default(), 0)
    }

    /// Session-level attributes.
    pub fn session_attributes(&self) -> Attributes<'a> {
        Attributes {
            lines: self.session_lines(),
        }
    }

    /// The `o=` line.
    pub fn origin(&self) -> Option<Origin<'a>> {
        self.session_lines().find_map(|line| match line {
            SdpLine::Origin(o) => Some(o),
            _ => None,
        })
    }

    /// The session-level `c=` line.
    pub fn session_connection(&self) -> Option<Connection<'a>> {
        first_connection(self.session_lines())
    }

    /// Media sections in order; stops at the first unparsable `m=` line.
    pub fn media(&self) -> MediaSections<'a> {
        MediaSections {
            buf: self.buf,
            next: Some(self.first_media),
            session_connection: self.session_connection(),
            malformed: None,
        }
    }
}

fn first_connection<'a>(mut lines: Lines<'a>) -> Option<Connection<'a>> {
    lines.find_map(|line| match line {
        SdpLine::Connection(c) => Some(c),
        _ => None,
    })
}

/// Attributes of a block.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    lines: Lines<'a>,
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    fn next(&mut self) -> Option<Attribute<'a>> {
        self.lines.find_map(|line| match line {
            SdpLine::Attribute(a) => Some(a),
            _ => None,
        })
    }
}

/// One media description: its `m=` line and the lines up to the next `m=`.
#[derive(Debug, Clone, Copy)]
pub struct MediaSection<'a> {
    media: Media<'a>,
    block: &'a [u8],
    offset: usize,
    session_connection: Option<Connection<'a>>,
}

impl<'a> MediaSection<'a> {
    /// The `m=` line.
    pub fn media(&self) -> Media<'a> {
        self.media
    }

    /// Offset of the `m=` line in the body.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The lines after the `m=` line.
    pub fn lines(&self) -> Lines<'a> {
        let mut lines = Lines::new(self.block, self.offset);
        lines.next();
        lines
    }

    /// Attributes of this section.
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            lines: self.lines(),
        }
    }

    /// The media-level `c=` line.
    pub fn connection(&self) -> Option<Connection<'a>> {
        first_connection(self.lines())
    }

    /// The session-level `c=` line.
    pub fn session_connection(&self) -> Option<Connection<'a>> {
        self.session_connection
    }

    /// The media-level `c=` line, else the session-level one.
    pub fn effective_connection(&self) -> Option<Connection<'a>> {
        self.connection().or(self.session_connection)
    }

    /// The direction attribute of this section (`sendrecv` when absent).
    pub fn direction(&self) -> Direction {
        self.attributes()
            .find_map(|a| match a {
                Attribute::Direction(d) => Some(d),
                _ => None,
            })
            .unwrap_or(Direction::Sendrecv)
    }
}

/// Iterator over media sections.
#[derive(Debug, Clone)]
pub struct MediaSections<'a> {
    buf: &'a [u8],
    next: Option<usize>,
    session_connection: Option<Connection<'a>>,
    malformed: Option<usize>,
}

impl MediaSections<'_> {
    /// Offset of the unparsable `m=` line that stopped the iteration.
    pub fn malformed_at(&self) -> Option<usize> {
        self.malformed
    }
}

impl<'a> Iterator for MediaSections<'a> {
    type Item = MediaSection<'a>;

    fn next(&mut self) -> Option<MediaSection<'a>> {
        let start = self.next.take()?;
        let mut pos = start;
        let (_, m_line) = next_raw_line(self.buf, &mut pos)?;
        let end = find_media_line(self.buf, pos);
        let block = self.buf.get(start..end.unwrap_or(self.buf.len()))?;
        let media = match parse_line(m_line, start) {
            SdpLine::Media(media) => media,
            _ => {
                self.malformed = Some(start);
                return None;
            }
        };
        self.next = end;
        Some(MediaSection {
            media,
            block,
            offset: start,
            session_connection: self.session_connection,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SDP bodies of real SIP messages (see fixtures/payloads/sip/README.md).
    fn sip_body(msg: &'static [u8]) -> &'static [u8] {
        crate::sip::SipMessage::parse(msg).unwrap().body()
    }
    const IPV6_INVITE: &[u8] =
        include_bytes!("../../fixtures/payloads/sip/heplify_ipv6_invite.bin");
    const INVITE_SDP: &[u8] = include_bytes!("../../fixtures/payloads/sip/sngrep_invite_sdp.bin");
    const FAX_INVITE: &[u8] = include_bytes!("../../fixtures/payloads/sip/ndpi_fax_invite.bin");
    const TCP_INVITE: &[u8] = include_bytes!("../../fixtures/payloads/sip/heplify_tcp_invite.bin");

    /// A WebRTC-style offer written for these tests (keys and hashes are dummies).
    const WEBRTC_OFFER: &[u8] = b"v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0 1\r\n\
a=ice-options:trickle\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n\
c=IN IP4 0.0.0.0\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\n\
a=candidate:842163049 1 udp 1677729535 198.51.100.7 50000 typ srflx raddr 192.168.1.20 rport 50000 generation 0 network-cost 999\r\n\
a=candidate:1 1 udp 2122260223 3a6d2f1e-6f1c-4a55-9b2e-0d4f1a2b3c4d.local 54321 typ host generation 0\r\n\
a=candidate:2 1 tcp 1518280447 2001:db8::5 9 typ host tcptype active\r\n\
a=end-of-candidates\r\n\
a=ice-ufrag:EsAw\r\n\
a=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\n\
a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\r\n\
a=setup:actpass\r\n\
a=mid:0\r\n\
a=sendonly\r\n\
a=rtcp-mux\r\n\
a=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\n\
a=ssrc:3735928559 cname:4TOk42mSjXCkVIa6\r\n\
m=video 0 RTP/SAVP 96\r\n\
c=IN IP6 fe80::1%eth0\r\n\
a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32\r\n\
a=crypto:2 NULL_HMAC_SHA1_80 inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA;inline:BBBB UNENCRYPTED_SRTP\r\n\
a=zrtp-hash:1.10 fe30efd02423cb054e50efd0248742ac7a52c8f91bc2df881ae642c371ba46df\r\n\
k=base64:c2VjcmV0\r\n\
a=crypto:x broken\r\n\
garbage line\r\n\
x=unknown\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
c=IN IP4 224.2.1.1/127/3\r\n";

    #[test]
    fn parses_real_ipv6_offer() {
        let sdp = SessionDescription::parse(sip_body(IPV6_INVITE)).unwrap();
        let origin = sdp.origin().unwrap();
        assert_eq!(origin.username, "Valid8.com-UserAgent");
        assert_eq!(
            origin.addr,
            Address::Ip("fe80::21a:a0ff:fe07:32e0".parse().unwrap())
        );
        let sections: Vec<MediaSection> = sdp.media().collect();
        assert_eq!(sections.len(), 1);
        let m = sections[0].media();
        assert_eq!(
            (m.kind, m.port, m.profile()),
            (MediaKind::Audio, 5008, TransportProfile::RtpAvp)
        );
        assert_eq!(m.fmts().collect::<Vec<_>>(), ["0"]);
        assert_eq!(sections[0].connection(), None);
        let c = sections[0].effective_connection().unwrap();
        assert_eq!(c.addrtype, "IP6");
        assert_eq!(
            c.addr.ip(),
            Some("fe80::21a:a0ff:fe07:32e0".parse().unwrap())
        );
        assert_eq!(
            sections[0].attributes().next(),
            Some(Attribute::Rtpmap {
                pt: 0,
                encoding: "pcmu",
                clock_rate: 8000,
                channels: Some(1)
            })
        );
        assert!(sdp.lines().all(|l| !matches!(l, SdpLine::Malformed { .. })));
    }

    #[test]
    fn parses_extmap_cryptex_and_sframe() {
        let a = |t| Attribute::parse(t);
        assert_eq!(
            a("extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on"),
            Attribute::Extmap {
                id: 1,
                uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
            }
        );
        // RFC 8285 section 8: an optional direction after the identifier.
        assert_eq!(
            a("extmap:14/sendonly urn:3gpp:video-orientation"),
            Attribute::Extmap {
                id: 14,
                uri: "urn:3gpp:video-orientation"
            }
        );
        assert_eq!(a("extmap:x urn:a"), Attribute::Malformed { name: "extmap" });
        assert_eq!(a("extmap:1"), Attribute::Malformed { name: "extmap" });
        assert_eq!(a("cryptex"), Attribute::Cryptex);
        assert_eq!(a("sframe"), Attribute::Sframe);
    }

    #[test]
    fn parses_real_ipv4_offers() {
        let sdp = SessionDescription::parse(sip_body(INVITE_SDP)).unwrap();
        let section = sdp.media().next().unwrap();
        assert_eq!(section.media().fmts().count(), 5);
        assert_eq!(
            section.effective_connection().unwrap().addr,
            Address::Ip("192.168.1.2".parse().unwrap())
        );
        assert_eq!(section.direction(), Direction::Sendrecv);
        assert!(section.attributes().any(|a| a
            == Attribute::Fmtp {
                pt: 97,
                params: "mode=20"
            }));
        assert!(sdp
            .lines()
            .any(|l| l == SdpLine::Timing { start: 0, stop: 0 }));

        let fax = SessionDescription::parse(sip_body(FAX_INVITE)).unwrap();
        let section = fax.media().next().unwrap();
        assert_eq!(section.media().port, 16756);
        assert!(section.attributes().any(|a| a
            == Attribute::Other {
                name: "cdsc",
                value: Some("1 image udptl t38")
            }));
        let tcp = SessionDescription::parse(sip_body(TCP_INVITE)).unwrap();
        assert_eq!(tcp.session_attributes().count(), 0);
        assert_eq!(tcp.media().next().unwrap().attributes().count(), 5);
    }

    #[test]
    fn parses_webrtc_offer() {
        let sdp = SessionDescription::parse(WEBRTC_OFFER).unwrap();
        assert_eq!(
            sdp.session_attributes().next(),
            Some(Attribute::Group {
                semantics: "BUNDLE",
                mids: "0 1"
            })
        );
        let sections: Vec<MediaSection> = sdp.media().collect();
        assert_eq!(sections.len(), 3);
        let audio = &sections[0];
        assert!(audio.media().profile().is_dtls());
        assert_eq!(audio.direction(), Direction::Sendonly);
        let candidates: Vec<Candidate> = audio
            .attributes()
            .filter_map(|a| match a {
                Attribute::Candidate(c) => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(candidates.len(), 3);
        assert_eq!(candidates[0].typ, CandidateType::Srflx);
        assert_eq!(
            candidates[0].raddr,
            Some(CandidateAddress::Ip("192.168.1.20".parse().unwrap()))
        );
        assert_eq!(candidates[0].rport, Some(50000));
        assert_eq!(
            candidates[0].extensions().collect::<Vec<_>>(),
            [("generation", "0"), ("network-cost", "999")]
        );
        assert!(matches!(candidates[1].address, CandidateAddress::Mdns(_)));
        assert_eq!(candidates[2].transport, CandidateTransport::Tcp);
        assert_eq!(candidates[2].tcptype, Some(TcpType::Active));
        let attrs: Vec<Attribute> = audio.attributes().collect();
        assert!(attrs.contains(&Attribute::Rtcp {
            port: 9,
            addr: Some(Address::Ip("0.0.0.0".parse().unwrap()))
        }));
        assert!(attrs.contains(&Attribute::IcePwd { len: 24 }));
        assert!(attrs.contains(&Attribute::IceUfrag("EsAw")));
        assert!(attrs.contains(&Attribute::Fingerprint {
            hash_func: "sha-256"
        }));
        assert!(attrs.contains(&Attribute::Setup(SetupRole::Actpass)));
        assert!(attrs.contains(&Attribute::RtcpMux));
        assert!(attrs.contains(&Attribute::EndOfCandidates));
        assert!(attrs.contains(&Attribute::Rtpmap {
            pt: 111,
            encoding: "opus",
            clock_rate: 48000,
            channels: Some(2)
        }));
        assert!(attrs.contains(&Attribute::Ssrc {
            ssrc: 0xdead_beef,
            attribute: "cname",
            value: Some("4TOk42mSjXCkVIa6")
        }));

        let video = &sections[1];
        assert!(video.media().is_disabled());
        assert_eq!(
            video.connection().unwrap().addr,
            Address::Ip("fe80::1".parse().unwrap())
        );
        let attrs: Vec<Attribute> = video.attributes().collect();
        let Attribute::Crypto(first) = attrs[0] else {
            panic!()
        };
        assert_eq!(first.tag, 1);
        assert!(first.suite.is_weak() && !first.suite.is_null_cipher());
        assert!(first.has_inline_key);
        assert_eq!(first.key_params_count, 1);
        let Attribute::Crypto(second) = attrs[1] else {
            panic!()
        };
        assert!(second.suite.is_null_cipher());
        assert_eq!(second.key_params_count, 2);
        assert!(second.unencrypted_srtp && !second.unencrypted_srtcp);
        assert_eq!(attrs[2], Attribute::ZrtpHash { version: "1.10" });
        assert_eq!(attrs[3], Attribute::Malformed { name: "crypto" });
        let lines: Vec<SdpLine> = video.lines().collect();
        assert!(lines.contains(&SdpLine::EncryptionKey { method: "base64" }));
        assert!(lines
            .iter()
            .any(|l| matches!(l, SdpLine::Malformed { kind: b'g', .. })));
        assert!(lines.contains(&SdpLine::Other {
            kind: b'x',
            value: "unknown"
        }));
        let text = format!("{:?}", sdp.lines().collect::<Vec<_>>());
        for secret in ["NzB4d1BI", "AAAAAAAA", "c2VjcmV0", "bP+XJMM0"] {
            assert!(!text.contains(secret), "{secret} leaked");
        }

        let app = &sections[2];
        assert_eq!(app.media().profile(), TransportProfile::DtlsSctp);
        let c = app.connection().unwrap();
        assert_eq!((c.ttl, c.num), (Some(127), Some(3)));
    }

    #[test]
    fn parses_trickle_candidate_alone() {
        let c = Candidate::parse(
            "candidate:3 2 UDP 41885439 203.0.113.9 3478 typ relay raddr 0.0.0.0 rport 0",
        )
        .unwrap();
        assert_eq!(c.component, 2);
        assert_eq!(c.transport, CandidateTransport::Udp);
        assert_eq!(c.typ, CandidateType::Relay);
        assert_eq!(c.address.ip(), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(
            CandidateAddress::parse("turn.example.com"),
            CandidateAddress::Fqdn("turn.example.com")
        );
        assert!(Candidate::parse("candidate:3 2 UDP 1 1.2.3.4 3478 typx relay").is_none());
        assert!(Candidate::parse("candidate:3 2 UDP 1 1.2.3.4 99999 typ relay").is_none());
    }

    #[test]
    fn rejects_non_sdp() {
        assert_eq!(
            SessionDescription::parse(b"hello").unwrap_err().kind,
            ErrorKind::NotThisProtocol
        );
        assert_eq!(
            SessionDescription::parse(b"v=").unwrap_err().kind,
            ErrorKind::Truncated
        );
        assert_eq!(
            SessionDescription::parse(b"v=1\r\n").unwrap_err().kind,
            ErrorKind::BadVersion
        );
        let bad_media = SessionDescription::parse(b"v=0\nm=audio x RTP/AVP 0\n").unwrap();
        let mut media = bad_media.media();
        assert!(media.next().is_none());
        assert_eq!(media.malformed_at(), Some(4));
        assert!(SessionDescription::parse(b"v=0")
            .unwrap()
            .media()
            .next()
            .is_none());
    }

    fn exercise(buf: &[u8]) {
        let Ok(sdp) = SessionDescription::parse(buf) else {
            return;
        };
        let _ = format!("{:?}", sdp.lines().collect::<Vec<_>>());
        let _ = (
            sdp.origin(),
            sdp.session_connection(),
            sdp.session_lines().count(),
        );
        let _ = sdp.session_attributes().count();
        let mut media = sdp.media();
        for section in media.by_ref() {
            let m = section.media();
            let _ = (
                m.profile().is_secure(),
                m.fmts().count(),
                m.is_disabled(),
                section.offset(),
            );
            let _ = (
                section.connection(),
                section.effective_connection(),
                section.direction(),
            );
            for attr in section.attributes() {
                match attr {
                    Attribute::Candidate(c) => {
                        let _ = (c.extensions().count(), c.address.ip());
                    }
                    Attribute::Crypto(c) => {
                        let _ = (c.suite.is_weak(), c.suite.is_null_cipher());
                    }
                    _ => {}
                }
            }
        }
        let _ = media.malformed_at();
        if let Ok(s) = core::str::from_utf8(buf) {
            let _ = Candidate::parse(s);
            let _ = Attribute::parse(s);
        }
    }

    #[test]
    fn rejects_nothing_with_a_panic_sweep() {
        let vectors = [
            sip_body(IPV6_INVITE),
            sip_body(INVITE_SDP),
            sip_body(FAX_INVITE),
            WEBRTC_OFFER,
        ];
        for v in vectors {
            for len in 0..=v.len() {
                exercise(&v[..len]);
            }
            let mut m = v.to_vec();
            for i in 0..m.len() {
                let orig = m[i];
                for b in [orig ^ 0xff, 0x00, 0xff, b'\n'] {
                    m[i] = b;
                    exercise(&m);
                }
                m[i] = orig;
            }
        }
    }
}

//! SIP messages: start line, headers, body, stream framing and address scanning.
//!
//! Implements RFC 3261 section 7 (message format: 7.1 Request-Line, 7.2
//! Status-Line, 7.3 header fields with 7.3.1 folding and 7.3.3 compact forms,
//! 7.4 bodies bounded by Content-Length, 7.5 framing and leading CRLF on
//! streams), section 20 (the header fields exposed below) and the section 25.1
//! ABNF of `name-addr`, `via-parm` and `CSeq`; RFC 3326 (Reason header);
//! RFC 3581 (`rport`); RFC 5626 section 3.5.1 (CRLF keep-alive pings on
//! streams); RFC 7118 (SIP over WebSocket: one message per WebSocket message,
//! `WS`/`WSS` Via transports; the WebSocket framing itself is not parsed here).
//!
//! Not supported: header blocks that are not UTF-8 (rejected as malformed),
//! escaped characters inside quoted strings (returned raw), URI parsing beyond
//! host and port, Content-Encoding (the body is returned as carried),
//! multipart bodies, S/MIME. Credentials are never exposed: Authorization and
//! Proxy-Authorization headers are reported as present, with an empty value.

use crate::error::{Error, ErrorKind, Probe, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Wire constants and parser limits.
mod field {
    /// The only SIP version (RFC 3261 section 7.1).
    pub const VERSION: &str = "SIP/2.0";
    /// `SIP/2.0` and the CR of its line end: how a Request-Line ends.
    pub const VERSION_CR: &[u8] = b"SIP/2.0\r";
    /// `SIP/2.0` followed by one space: how a Status-Line starts.
    pub const STATUS_START: &[u8] = b"SIP/2.0 ";
    /// Length of a Status-Code (RFC 3261 section 7.2).
    pub const STATUS_CODE_LEN: usize = 3;
    /// URI schemes a weak method must be followed by to count as SIP.
    pub const URI_SCHEMES: [&[u8]; 3] = [b"sip:", b"sips:", b"tel:"];
    /// Longest first line `probe` reads when looking behind a weak method.
    pub const MAX_PROBE_LINE: usize = 1024;
    /// Longest method token accepted.
    pub const MAX_METHOD_LEN: usize = 32;
    /// Largest header block accepted when framing a stream.
    pub const MAX_HEADER_BLOCK: usize = 64 * 1024;
    /// Largest Content-Length accepted when framing a stream.
    pub const MAX_BODY: usize = 1024 * 1024;
}

/// A SIP request method (RFC 3261 section 7.1 and the extension RFCs).
///
/// Methods are case-sensitive on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method<'a> {
    /// RFC 3261.
    Invite,
    /// RFC 3261.
    Ack,
    /// RFC 3261.
    Bye,
    /// RFC 3261.
    Cancel,
    /// RFC 3261.
    Register,
    /// RFC 3261.
    Options,
    /// RFC 6665.
    Subscribe,
    /// RFC 6665.
    Notify,
    /// RFC 3515.
    Refer,
    /// RFC 6086.
    Info,
    /// RFC 3311.
    Update,
    /// RFC 3262.
    Prack,
    /// RFC 3428.
    Message,
    /// RFC 3903.
    Publish,
    /// Any other token.
    Unknown(&'a str),
}

/// The strong methods: a request line starting with one of these is SIP.
const KNOWN_METHODS: [(&str, Method<'static>); 14] = [
    ("INVITE", Method::Invite),
    ("ACK", Method::Ack),
    ("BYE", Method::Bye),
    ("CANCEL", Method::Cancel),
    ("REGISTER", Method::Register),
    ("OPTIONS", Method::Options),
    ("SUBSCRIBE", Method::Subscribe),
    ("NOTIFY", Method::Notify),
    ("REFER", Method::Refer),
    ("INFO", Method::Info),
    ("UPDATE", Method::Update),
    ("PRACK", Method::Prack),
    ("MESSAGE", Method::Message),
    ("PUBLISH", Method::Publish),
];

impl<'a> Method<'a> {
    /// Maps a method token (case-sensitive) to a method.
    pub fn from_token(token: &'a str) -> Method<'a> {
        KNOWN_METHODS
            .iter()
            .find(|(name, _)| *name == token)
            .map_or(Method::Unknown(token), |&(_, m)| m)
    }

    /// The method as written on the wire.
    pub fn as_str(&self) -> &'a str {
        match *self {
            Method::Unknown(s) => s,
            known => KNOWN_METHODS
                .iter()
                .find(|(_, m)| *m == known)
                .map_or("", |(name, _)| name),
        }
    }

    /// True for a method other than `Unknown`.
    pub fn is_known(&self) -> bool {
        !matches!(self, Method::Unknown(_))
    }
}

/// The first line of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `Method SP Request-URI SP SIP-Version`.
    Request { method: Method<'a>, uri: &'a str },
    /// `SIP-Version SP Status-Code SP Reason-Phrase`.
    Response { code: u16, reason: &'a str },
}

/// A header field name, long and compact forms folded together (RFC 3261
/// section 7.3.3 and section 20), matched case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderName<'a> {
    Accept,
    Allow,
    AllowEvents,
    Authorization,
    CallId,
    Contact,
    ContentEncoding,
    ContentLength,
    ContentType,
    CSeq,
    Event,
    Expires,
    From,
    MaxForwards,
    ProxyAuthenticate,
    ProxyAuthorization,
    Reason,
    RecordRoute,
    ReferTo,
    ReferredBy,
    Require,
    Route,
    Server,
    SessionExpires,
    Subject,
    Supported,
    To,
    UserAgent,
    Via,
    WwwAuthenticate,
    /// Any other name, as written.
    Unknown(&'a str),
}

/// Long forms, then compact forms (RFC 3261 section 7.3.3, RFC 3265, RFC 3515,
/// RFC 3892, RFC 4028).
const HEADER_NAMES: [(&str, HeaderName<'static>); 45] = [
    ("Accept", HeaderName::Accept),
    ("Allow", HeaderName::Allow),
    ("Allow-Events", HeaderName::AllowEvents),
    ("Authorization", HeaderName::Authorization),
    ("Call-ID", HeaderName::CallId),
    ("Contact", HeaderName::Contact),
    ("Content-Encoding", HeaderName::ContentEncoding),
    ("Content-Length", HeaderName::ContentLength),
    ("Content-Type", HeaderName::ContentType),
    ("CSeq", HeaderName::CSeq),
    ("Event", HeaderName::Event),
    ("Expires", HeaderName::Expires),
    ("From", HeaderName::From),
    ("Max-Forwards", HeaderName::MaxForwards),
    ("Proxy-Authenticate", HeaderName::ProxyAuthenticate),
    ("Proxy-Authorization", HeaderName::ProxyAuthorization),
    ("Reason", HeaderName::Reason),
    ("Record-Route", HeaderName::RecordRoute),
    ("Refer-To", HeaderName::ReferTo),
    ("Referred-By", HeaderName::ReferredBy),
    ("Require", HeaderName::Require),
    ("Route", HeaderName::Route),
    ("Server", HeaderName::Server),
    ("Session-Expires", HeaderName::SessionExpires),
    ("Subject", HeaderName::Subject),
    ("Supported", HeaderName::Supported),
    ("To", HeaderName::To),
    ("User-Agent", HeaderName::UserAgent),
    ("Via", HeaderName::Via),
    ("WWW-Authenticate", HeaderName::WwwAuthenticate),
    ("i", HeaderName::CallId),
    ("m", HeaderName::Contact),
    ("v", HeaderName::Via),
    ("f", HeaderName::From),
    ("t", HeaderName::To),
    ("l", HeaderName::ContentLength),
    ("c", HeaderName::ContentType),
    ("e", HeaderName::ContentEncoding),
    ("k", HeaderName::Supported),
    ("s", HeaderName::Subject),
    ("o", HeaderName::Event),
    ("r", HeaderName::ReferTo),
    ("u", HeaderName::AllowEvents),
    ("b", HeaderName::ReferredBy),
    ("x", HeaderName::SessionExpires),
];

impl<'a> HeaderName<'a> {
    /// Maps a header name in any case, long or compact, to a header name.
    pub fn from_name(name: &'a str) -> HeaderName<'a> {
        HEADER_NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or(HeaderName::Unknown(name), |&(_, h)| h)
    }

    /// The canonical long form (or the raw name for `Unknown`).
    pub fn as_str(&self) -> &'a str {
        match *self {
            HeaderName::Unknown(s) => s,
            known => HEADER_NAMES
                .iter()
                .find(|(_, h)| *h == known)
                .map_or("", |(n, _)| n),
        }
    }

    /// True for headers that carry credentials, whose values are never exposed.
    pub fn is_credential(&self) -> bool {
        matches!(
            self,
            HeaderName::Authorization | HeaderName::ProxyAuthorization
        )
    }
}

/// One header field.
///
/// A folded value (RFC 3261 section 7.3.1) keeps its inner line breaks:
/// [`Header::value_parts`] yields the folded lines without them, and
/// [`Header::items`] splits comma-separated lists treating them as spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The name, mapped.
    pub name: HeaderName<'a>,
    /// The name as written.
    pub raw_name: &'a str,
    /// The value with outer whitespace trimmed; empty for credential headers.
    pub value: &'a str,
}

impl<'a> Header<'a> {
    /// True when the value spans continuation lines.
    pub fn is_folded(&self) -> bool {
        self.value.contains('\n')
    }

    /// The value's folded lines, each trimmed, empty ones skipped.
    pub fn value_parts(&self) -> impl Iterator<Item = &'a str> {
        self.value
            .split('\n')
            .map(trim_lws)
            .filter(|part| !part.is_empty())
    }

    /// The comma-separated items of the value (commas inside quotes and
    /// angle brackets do not split).
    pub fn items(&self) -> ListItems<'a> {
        ListItems::new(self.value)
    }
}

/// True for linear whitespace, folding line breaks included.
fn is_lws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn trim_lws(s: &str) -> &str {
    s.trim_matches(is_lws)
}

/// True for a `token` character (RFC 3261 section 25.1).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// Comma-separated items of a header value, outside quoted strings and `<>`.
#[derive(Debug, Clone)]
pub struct ListItems<'a> {
    rest: Option<&'a str>,
}

impl<'a> ListItems<'a> {
    /// Splits `value` into its list items.
    pub fn new(value: &'a str) -> Self {
        ListItems { rest: Some(value) }
    }
}

impl<'a> Iterator for ListItems<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            let rest = self.rest?;
            let (item, tail) = match find_outside_quotes(rest, b',', true) {
                Some(i) => (rest.get(..i)?, rest.get(i + 1..)),
                None => (rest, None),
            };
            self.rest = tail;
            let item = trim_lws(item);
            if !item.is_empty() {
                return Some(item);
            }
        }
    }
}

/// Position of `needle` outside double quotes (and outside `<...>` when
/// `skip_angles`). A backslash escapes the next byte inside quotes.
fn find_outside_quotes(s: &str, needle: u8, skip_angles: bool) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    let mut angle = false;
    for (i, b) in s.bytes().enumerate() {
        if quoted {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                quoted = false;
            }
            continue;
        }
        match b {
            b'"' => quoted = true,
            b'<' if skip_angles => angle = true,
            b'>' if skip_angles => angle = false,
            _ if b == needle && !angle => return Some(i),
            _ => {}
        }
    }
    None
}

/// `;name[=value]` parameters of a header value, URI or Via.
#[derive(Debug, Clone)]
pub struct Params<'a> {
    items: Option<&'a str>,
}

impl<'a> Params<'a> {
    /// Iterates the parameters in `s` (the text after the first `;`).
    pub fn new(s: &'a str) -> Self {
        Params { items: Some(s) }
    }
}

impl<'a> Iterator for Params<'a> {
    /// Name and optional value, both trimmed; quotes are kept.
    type Item = (&'a str, Option<&'a str>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let rest = self.items?;
            let (item, tail) = match find_outside_quotes(rest, b';', false) {
                Some(i) => (rest.get(..i)?, rest.get(i + 1..)),
                None => (rest, None),
            };
            self.items = tail;
            let item = trim_lws(item);
            if item.is_empty() {
                continue;
            }
            return Some(match item.split_once('=') {
                Some((name, value)) => (trim_lws(name), Some(trim_lws(value))),
                None => (item, None),
            });
        }
    }
}

/// The first parameter called `name` (case-insensitive): `Some(None)` for a flag.
fn param<'a>(params: &'a str, name: &str) -> Option<Option<&'a str>> {
    Params::new(params)
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// A From, To or Contact value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// Display name, quotes removed (escapes kept raw).
    pub display: Option<&'a str>,
    /// The URI inside `<>`, or the bare addr-spec (`*` for a Contact wildcard).
    pub uri: &'a str,
    /// The `tag` parameter.
    pub tag: Option<&'a str>,
    /// All header parameters after the URI, `;`-separated, first `;` removed.
    pub params: &'a str,
}

impl<'a> NameAddr<'a> {
    // RFC 3261 section 25.1:
    //   from-spec    = ( name-addr / addr-spec ) *( SEMI from-param )
    //   name-addr    = [ display-name ] LAQUOT addr-spec RAQUOT
    //   display-name = *(token LWS) / quoted-string
    // Without angle brackets the URI ends at the first `;` (section 20.10).
    /// Parses one From/To/Contact value; `None` when no URI is found.
    pub fn parse(value: &'a str) -> Option<NameAddr<'a>> {
        let value = trim_lws(value);
        let (display, uri, params) = match find_outside_quotes(value, b'<', false) {
            Some(lt) => {
                let display = trim_lws(value.get(..lt)?);
                let inner = value.get(lt + 1..)?;
                let (uri, after) = inner.split_once('>')?;
                let params = after.split_once(';').map_or("", |(_, p)| p);
                let display = unquote(display);
                (
                    (!display.is_empty()).then_some(display),
                    trim_lws(uri),
                    params,
                )
            }
            None => {
                let (uri, params) = value.split_once(';').unwrap_or((value, ""));
                (None, trim_lws(uri), params)
            }
        };
        if uri.is_empty() {
            return None;
        }
        let tag = param(params, "tag").flatten();
        Some(NameAddr {
            display,
            uri,
            tag,
            params,
        })
    }

    /// Parameters after the URI.
    pub fn params(&self) -> Params<'a> {
        Params::new(self.params)
    }

    /// The host part of the URI (see [`uri_host`]).
    pub fn host(&self) -> Option<&'a str> {
        uri_host(self.uri)
    }
}

/// The host of a `sip:`/`sips:`/`tel:`-style URI: after `user@` when present,
/// brackets removed from IPv6 references, port and parameters cut off.
pub fn uri_host(uri: &str) -> Option<&str> {
    let (_, rest) = uri.split_once(':')?;
    let rest = rest.split(['?', ';']).next().unwrap_or(rest);
    let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let (host, _) = split_host_port(hostport);
    (!host.is_empty()).then_some(host)
}

/// Splits `host[:port]`, handling `[v6]:port`, bare IPv6 and bare IPv6 with a
/// port appended (seen in the wild).
fn split_host_port(s: &str) -> (&str, Option<u16>) {
    let s = trim_lws(s);
    if let Some(inner) = s.strip_prefix('[') {
        return match inner.split_once(']') {
            Some((host, after)) => (host, after.strip_prefix(':').and_then(parse_port)),
            None => (inner, None),
        };
    }
    match s.bytes().filter(|&b| b == b':').count() {
        0 => (s, None),
        1 => match s.split_once(':') {
            Some((host, port)) => (host, parse_port(port)),
            None => (s, None),
        },
        _ => {
            if s.parse::<Ipv6Addr>().is_ok() {
                return (s, None);
            }
            match s.rsplit_once(':') {
                Some((host, port)) if host.parse::<Ipv6Addr>().is_ok() => (host, parse_port(port)),
                _ => (s, None),
            }
        }
    }
}

fn parse_port(s: &str) -> Option<u16> {
    let s = trim_lws(s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A Via transport (RFC 3261 section 20.42, RFC 7118 section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport<'a> {
    Udp,
    Tcp,
    Tls,
    Sctp,
    TlsSctp,
    Ws,
    Wss,
    /// Any other token, as written.
    Unknown(&'a str),
}

impl<'a> Transport<'a> {
    /// Maps a transport token, case-insensitively.
    pub fn from_token(s: &'a str) -> Transport<'a> {
        const MAP: [(&str, Transport<'static>); 7] = [
            ("UDP", Transport::Udp),
            ("TCP", Transport::Tcp),
            ("TLS", Transport::Tls),
            ("SCTP", Transport::Sctp),
            ("TLS-SCTP", Transport::TlsSctp),
            ("WS", Transport::Ws),
            ("WSS", Transport::Wss),
        ];
        crate::error::lookup_token(&MAP, s).unwrap_or(Transport::Unknown(s))
    }

    /// True for transports that encrypt (TLS, TLS-SCTP, WSS).
    pub fn is_secure(&self) -> bool {
        matches!(self, Transport::Tls | Transport::TlsSctp | Transport::Wss)
    }
}

/// One Via value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via<'a> {
    /// Transport of the hop.
    pub transport: Transport<'a>,
    /// Host of `sent-by`, brackets removed from IPv6 references.
    pub sent_by_host: &'a str,
    /// Port of `sent-by`.
    pub sent_by_port: Option<u16>,
    /// The `branch` parameter.
    pub branch: Option<&'a str>,
    /// The `received` parameter (the address the next hop saw).
    pub received: Option<&'a str>,
    /// The `rport` value (RFC 3581), when filled in.
    pub rport: Option<u16>,
    /// True when `rport` is present, with or without a value.
    pub has_rport: bool,
    /// The `maddr` parameter.
    pub maddr: Option<&'a str>,
    /// All parameters, first `;` removed.
    pub params: &'a str,
}

impl<'a> Via<'a> {
    // RFC 3261 section 25.1:
    //   via-parm      = sent-protocol LWS sent-by *( SEMI via-params )
    //   sent-protocol = protocol-name SLASH protocol-version SLASH transport
    //   sent-by       = host [ COLON port ]
    /// Parses one Via value; `None` when it is not `SIP/2.0/<transport> <host>`.
    pub fn parse(value: &'a str) -> Option<Via<'a>> {
        let value = trim_lws(value);
        let (head, params) = value.split_once(';').unwrap_or((value, ""));
        let mut parts = head.splitn(3, '/');
        let name = trim_lws(parts.next()?);
        let version = trim_lws(parts.next()?);
        let rest = trim_lws(parts.next()?);
        if !name.eq_ignore_ascii_case("SIP") || !is_token(version) {
            return None;
        }
        let split = rest.find(is_lws)?;
        let transport = rest.get(..split)?;
        let sent_by = trim_lws(rest.get(split..)?);
        if !is_token(transport) || sent_by.is_empty() {
            return None;
        }
        let (host, port) = split_host_port(sent_by);
        let rport = param(params, "rport");
        Some(Via {
            transport: Transport::from_token(transport),
            sent_by_host: host,
            sent_by_port: port,
            branch: param(params, "branch").flatten(),
            received: param(params, "received").flatten(),
            rport: rport.flatten().and_then(parse_port),
            has_rport: rport.is_some(),
            maddr: param(params, "maddr").flatten(),
            params,
        })
    }

    /// The sent-by host as an address, when it is a literal.
    pub fn sent_by_ip(&self) -> Option<IpAddr> {
        parse_ip(self.sent_by_host)
    }

    /// The `received` parameter as an address.
    pub fn received_ip(&self) -> Option<IpAddr> {
        self.received.and_then(parse_ip)
    }

    /// All parameters.
    pub fn params(&self) -> Params<'a> {
        Params::new(self.params)
    }
}

/// An IP literal, optionally bracketed.
fn parse_ip(s: &str) -> Option<IpAddr> {
    let s = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s);
    s.parse().ok()
}

/// An RFC 3326 Reason value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason<'a> {
    /// `SIP`, `Q.850` or another token.
    pub protocol: &'a str,
    /// The `cause` parameter.
    pub cause: Option<u16>,
    /// The `text` parameter, quotes removed.
    pub text: Option<&'a str>,
}

impl<'a> Reason<'a> {
    // RFC 3326 section 2:
    //   Reason         = "Reason" HCOLON reason-value *(COMMA reason-value)
    //   reason-value   = protocol *(SEMI reason-params)
    //   reason-params  = protocol-cause / reason-text / reason-extension
    //   protocol-cause = "cause" EQUAL cause
    //   reason-text    = "text" EQUAL quoted-string
    /// Parses one Reason value; `None` when the protocol is not a token.
    pub fn parse(value: &'a str) -> Option<Reason<'a>> {
        let value = trim_lws(value);
        let (protocol, params) = value.split_once(';').unwrap_or((value, ""));
        let protocol = trim_lws(protocol);
        if !is_token(protocol) {
            return None;
        }
        Some(Reason {
            protocol,
            cause: param(params, "cause").flatten().and_then(parse_port),
            text: param(params, "text").flatten().map(unquote),
        })
    }
}

/// Header fields of a message, folded lines joined.
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    rest: &'a str,
    offset: usize,
    malformed: Option<usize>,
}

impl<'a> Headers<'a> {
    fn new(block: &'a str, offset: usize) -> Self {
        Headers {
            rest: block,
            offset,
            malformed: None,
        }
    }

    /// Offset of the malformed line that stopped the iteration, if any.
    pub fn malformed_at(&self) -> Option<usize> {
        self.malformed
    }
}

/// Length of the header field at the start of `s`, its continuation lines
/// included, and the length of the text after it that starts the next field.
fn field_extent(s: &str) -> (usize, usize) {
    let bytes = s.as_bytes();
    let mut pos = 0;
    loop {
        let Some(nl) = bytes
            .get(pos..)
            .and_then(|b| b.iter().position(|&c| c == b'\n'))
        else {
            return (s.len(), s.len());
        };
        let next = pos + nl + 1;
        if matches!(bytes.get(next), Some(b' ' | b'\t')) {
            pos = next;
            continue;
        }
        return (pos + nl, next);
    }
}

impl<'a> Iterator for Headers<'a> {
    type Item = Header<'a>;

    // RFC 3261 section 7.3.1:
    //   header-field = field-name *(SP / HTAB) ":" LWS field-value CRLF
    //   continuation lines start with SP or HTAB and belong to the value above.
    fn next(&mut self) -> Option<Header<'a>> {
        if self.rest.is_empty() || self.malformed.is_some() {
            return None;
        }
        let (end, next) = field_extent(self.rest);
        let line = self.rest.get(..end)?;
        let parsed = line.split_once(':').and_then(|(name, value)| {
            let raw_name = name.trim_end_matches([' ', '\t']);
            is_token(raw_name).then_some((raw_name, value))
        });
        let Some((raw_name, value)) = parsed else {
            self.malformed = Some(self.offset);
            return None;
        };
        self.rest = self.rest.get(next..).unwrap_or("");
        self.offset = self.offset.saturating_add(next);
        let name = HeaderName::from_name(raw_name);
        let value = if name.is_credential() {
            ""
        } else {
            trim_lws(value)
        };
        Some(Header {
            name,
            raw_name,
            value,
        })
    }
}

/// Every comma-separated value of every header called `name`.
#[derive(Debug, Clone)]
pub struct HeaderValues<'a> {
    headers: Headers<'a>,
    name: HeaderName<'static>,
    items: Option<ListItems<'a>>,
}

impl<'a> Iterator for HeaderValues<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            if let Some(item) = self.items.as_mut().and_then(Iterator::next) {
                return Some(item);
            }
            let name = self.name;
            let header = self.headers.find(|h| h.name == name)?;
            self.items = Some(header.items());
        }
    }
}

/// Via values in order (topmost first); stops at the first malformed one.
#[derive(Debug, Clone)]
pub struct Vias<'a> {
    values: HeaderValues<'a>,
    malformed: bool,
}

impl Vias<'_> {
    /// True when iteration stopped on a malformed Via value.
    pub fn is_malformed(&self) -> bool {
        self.malformed
    }
}

impl<'a> Iterator for Vias<'a> {
    type Item = Via<'a>;

    fn next(&mut self) -> Option<Via<'a>> {
        if self.malformed {
            return None;
        }
        let via = Via::parse(self.values.next()?);
        self.malformed = via.is_none();
        via
    }
}

/// Contact values in order; stops at the first malformed one.
#[derive(Debug, Clone)]
pub struct Contacts<'a> {
    values: HeaderValues<'a>,
    malformed: bool,
}

impl Contacts<'_> {
    /// True when iteration stopped on a malformed Contact value.
    pub fn is_malformed(&self) -> bool {
        self.malformed
    }
}

impl<'a> Iterator for Contacts<'a> {
    type Item = NameAddr<'a>;

    fn next(&mut self) -> Option<NameAddr<'a>> {
        if self.malformed {
            return None;
        }
        let contact = NameAddr::parse(self.values.next()?);
        self.malformed = contact.is_none();
        contact
    }
}

/// A parsed SIP message borrowing its buffer.
#[derive(Debug, Clone, Copy)]
pub struct SipMessage<'a> {
    start: StartLine<'a>,
    head: &'a str,
    head_offset: usize,
    body: &'a [u8],
    truncated: bool,
    /// Bytes after the Content-Length body (discarded, RFC 3261 section 18.3).
    excess: usize,
    /// The headers read for every message, found in the one walk `parse`
    /// makes anyway, so their accessors do not walk the headers again.
    common: Common<'a>,
}

/// Values of the first header of each name every caller reads.
#[derive(Debug, Clone, Copy, Default)]
struct Common<'a> {
    call_id: Option<&'a str>,
    from: Option<&'a str>,
    to: Option<&'a str>,
    cseq: Option<&'a str>,
    user_agent: Option<&'a str>,
    server: Option<&'a str>,
    content_type: Option<&'a str>,
    content_length: Option<&'a str>,
}

impl<'a> Common<'a> {
    fn note(&mut self, h: &Header<'a>) {
        let slot = match h.name {
            HeaderName::CallId => &mut self.call_id,
            HeaderName::From => &mut self.from,
            HeaderName::To => &mut self.to,
            HeaderName::CSeq => &mut self.cseq,
            HeaderName::UserAgent => &mut self.user_agent,
            HeaderName::Server => &mut self.server,
            HeaderName::ContentType => &mut self.content_type,
            HeaderName::ContentLength => &mut self.content_length,
            _ => return,
        };
        slot.get_or_insert(h.value);
    }
}

/// The first line terminator: (end of the line content, start of the next line).
fn line_end(buf: &[u8]) -> Option<(usize, usize)> {
    let nl = buf.iter().position(|&b| b == b'\n')?;
    let end = if nl > 0 && buf.get(nl - 1) == Some(&b'\r') {
        nl - 1
    } else {
        nl
    };
    Some((end, nl + 1))
}

/// The first empty line after `from`: (end of the header block, start of the body).
fn blank_line(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let tail = buf.get(from..)?;
    tail.iter().enumerate().find_map(|(i, &b)| {
        if b != b'\n' {
            return None;
        }
        let at = from + i + 1;
        match (buf.get(at), buf.get(at + 1)) {
            (Some(b'\n'), _) => Some((at, at + 1)),
            (Some(b'\r'), Some(b'\n')) => Some((at, at + 2)),
            _ => None,
        }
    })
}

/// Number of leading CR and LF bytes.
fn leading_crlf(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

// RFC 3261 sections 7.1, 7.2 and 25.1:
//   Request-Line = Method SP Request-URI SP SIP-Version CRLF
//   Status-Line  = SIP-Version SP Status-Code SP Reason-Phrase CRLF
//   Status-Code  = 3DIGIT
fn parse_start_line(line: &[u8], offset: usize) -> Result<StartLine<'_>> {
    let line = core::str::from_utf8(line)
        .map_err(|e| Error::malformed(offset.saturating_add(e.valid_up_to())))?;
    let not_sip = Error::new(ErrorKind::NotThisProtocol, offset);
    let (first, rest) = line.split_once(' ').ok_or(not_sip)?;
    if first.eq_ignore_ascii_case(field::VERSION) {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != field::STATUS_CODE_LEN || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::malformed(offset.saturating_add(first.len() + 1)));
        }
        let code: u16 = code.parse().map_err(|_| Error::malformed(offset))?;
        if !(100..=699).contains(&code) {
            return Err(Error::malformed(offset.saturating_add(first.len() + 1)));
        }
        return Ok(StartLine::Response {
            code,
            reason: reason.trim(),
        });
    }
    if first.starts_with("SIP/") {
        return Err(Error::new(ErrorKind::BadVersion, offset));
    }
    if first.len() > field::MAX_METHOD_LEN || !is_token(first) {
        return Err(not_sip);
    }
    let (uri, version) = rest.rsplit_once(' ').ok_or(not_sip)?;
    if !version.eq_ignore_ascii_case(field::VERSION) {
        let kind = if version.starts_with("SIP/") {
            ErrorKind::BadVersion
        } else {
            ErrorKind::NotThisProtocol
        };
        return Err(Error::new(
            kind,
            offset.saturating_add(line.len() - version.len()),
        ));
    }
    if uri.is_empty() || uri.contains(' ') || !uri.contains(':') {
        return Err(Error::malformed(offset.saturating_add(first.len() + 1)));
    }
    Ok(StartLine::Request {
        method: Method::from_token(first),
        uri,
    })
}

/// Walks every header once, so that a malformed line anywhere is reported,
/// and notes the common ones.
fn index_headers(headers: Headers<'_>) -> Result<Common<'_>> {
    let mut headers = headers;
    let mut common = Common::default();
    for h in headers.by_ref() {
        common.note(&h);
    }
    if let Some(at) = headers.malformed_at() {
        return Err(Error::malformed(at));
    }
    Ok(common)
}

fn parse_length(s: &str) -> Option<usize> {
    let s = trim_lws(s);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl<'a> SipMessage<'a> {
    /// Parses one message (leading CR/LF bytes are skipped, RFC 3261 section
    /// 7.5). Fails when the start line is not SIP or a header line is not
    /// `name: value`. A missing blank line or a body shorter than
    /// Content-Length is accepted and flagged by [`SipMessage::is_truncated`].
    pub fn parse(buf: &'a [u8]) -> Result<SipMessage<'a>> {
        let skip = leading_crlf(buf);
        let msg = buf.get(skip..).unwrap_or_default();
        let (line_len, head_start) = match line_end(msg) {
            Some(ends) => ends,
            None if msg.is_empty() => return Err(Error::truncated(skip)),
            None => (msg.len(), msg.len()),
        };
        let start = parse_start_line(msg.get(..line_len).unwrap_or_default(), skip)?;
        let (head_end, body_start, mut truncated) =
            match blank_line(msg, head_start.saturating_sub(1)) {
                Some((h, b)) => (h, b, false),
                None => (msg.len(), msg.len(), true),
            };
        let head_bytes = msg.get(head_start..head_end).unwrap_or_default();
        let head_offset = skip + head_start;
        let head = core::str::from_utf8(head_bytes)
            .map_err(|e| Error::malformed(head_offset.saturating_add(e.valid_up_to())))?;
        let rest = msg.get(body_start..).unwrap_or_default();
        let common = index_headers(Headers::new(head, head_offset))?;
        let (body, excess) = match common.content_length.map(parse_length) {
            Some(Some(len)) => {
                truncated |= len > rest.len();
                (
                    rest.get(..len).unwrap_or(rest),
                    rest.len().saturating_sub(len),
                )
            }
            _ => (rest, 0),
        };
        Ok(SipMessage {
            start,
            head,
            head_offset,
            body,
            truncated,
            excess,
            common,
        })
    }

    /// The start line.
    pub fn start_line(&self) -> StartLine<'a> {
        self.start
    }

    /// True for a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The method of a request.
    pub fn method(&self) -> Option<Method<'a>> {
        match self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response.
    pub fn status_code(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// All header fields in order.
    pub fn headers(&self) -> Headers<'a> {
        Headers::new(self.head, self.head_offset)
    }

    /// The value of the first header called `name` (whole value, lists unsplit).
    pub fn header(&self, name: HeaderName<'_>) -> Option<&'a str> {
        self.headers().find(|h| h.name == name).map(|h| h.value)
    }

    /// Every comma-separated value of every header called `name`.
    pub fn header_values(&self, name: HeaderName<'static>) -> HeaderValues<'a> {
        HeaderValues {
            headers: self.headers(),
            name,
            items: None,
        }
    }

    /// Call-ID.
    pub fn call_id(&self) -> Option<&'a str> {
        self.common.call_id
    }

    /// From, parsed.
    pub fn from(&self) -> Option<NameAddr<'a>> {
        self.common.from.and_then(NameAddr::parse)
    }

    /// To, parsed.
    pub fn to(&self) -> Option<NameAddr<'a>> {
        self.common.to.and_then(NameAddr::parse)
    }

    // RFC 3261 section 20.16:  CSeq = "CSeq" HCOLON 1*DIGIT LWS Method
    /// CSeq number and method.
    pub fn cseq(&self) -> Option<(u32, Method<'a>)> {
        let value = self.common.cseq?;
        let split = value.find(is_lws)?;
        let number = parse_length(value.get(..split)?)?;
        let method = trim_lws(value.get(split..)?);
        if !is_token(method) {
            return None;
        }
        Some((u32::try_from(number).ok()?, Method::from_token(method)))
    }

    /// Via values, topmost first.
    pub fn vias(&self) -> Vias<'a> {
        Vias {
            values: self.header_values(HeaderName::Via),
            malformed: false,
        }
    }

    /// Contact values.
    pub fn contacts(&self) -> Contacts<'a> {
        Contacts {
            values: self.header_values(HeaderName::Contact),
            malformed: false,
        }
    }

    /// User-Agent.
    pub fn user_agent(&self) -> Option<&'a str> {
        self.common.user_agent
    }

    /// Server.
    pub fn server(&self) -> Option<&'a str> {
        self.common.server
    }

    /// Content-Type.
    pub fn content_type(&self) -> Option<&'a str> {
        self.common.content_type
    }

    /// Content-Length, when present and numeric.
    pub fn content_length(&self) -> Option<usize> {
        self.common.content_length.and_then(parse_length)
    }

    /// True when Authorization or Proxy-Authorization is present.
    pub fn has_authorization(&self) -> bool {
        self.headers().any(|h| h.name.is_credential())
    }

    /// The first Reason value (RFC 3326), as sent with BYE and CANCEL.
    pub fn reason_header(&self) -> Option<Reason<'a>> {
        self.header_values(HeaderName::Reason)
            .next()
            .and_then(Reason::parse)
    }

    /// The body: Content-Length bytes after the blank line when present (fewer
    /// if the buffer is short), else everything after it.
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// True when the blank line is missing or the body is shorter than
    /// Content-Length.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    /// How many body bytes Content-Length declares beyond those present
    /// (0 when the body is whole or Content-Length is absent). RFC 3261
    /// section 18.3: over UDP such a message is to be discarded (or
    /// answered with 400); on a stream it is not complete yet.
    pub fn body_shortfall(&self) -> usize {
        self.content_length()
            .map_or(0, |len| len.saturating_sub(self.body.len()))
    }

    /// How many bytes follow the body Content-Length declares (RFC 3261
    /// section 18.3: "any additional bytes ... MUST be discarded"); they are
    /// not part of [`SipMessage::body`].
    pub fn excess_len(&self) -> usize {
        self.excess
    }

    /// The body up to the end of its last complete line when it is shorter
    /// than Content-Length (a line cut short is not read), else the whole
    /// body: what a line-based body (SDP) may be read from.
    pub fn body_complete_lines(&self) -> &'a [u8] {
        if self.body_shortfall() == 0 {
            return self.body;
        }
        match self.body.iter().rposition(|&b| b == b'\n') {
            Some(nl) => self.body.get(..=nl).unwrap_or_default(),
            None => &[],
        }
    }
}

/// Whether `buf` matches `pat` so far: `Some(true)` full match, `Some(false)`
/// a proper prefix, `None` a mismatch.
fn prefix_of(buf: &[u8], pat: &[u8]) -> Option<bool> {
    let same = buf.iter().zip(pat).all(|(a, b)| a == b);
    same.then_some(buf.len() >= pat.len())
}

/// Like [`prefix_of`], ASCII case-insensitive.
fn prefix_of_ignore_case(buf: &[u8], pat: &[u8]) -> Option<bool> {
    let same = buf.iter().zip(pat).all(|(a, b)| a.eq_ignore_ascii_case(b));
    same.then_some(buf.len() >= pat.len())
}

/// Cheap check of the first bytes: a Status-Line, a strong method followed by
/// a space, or another method token followed by a `sip:`/`sips:`/`tel:` URI
/// and `SIP/2.0` (so that HTTP on a SIP port is not SIP).
pub fn probe(buf: &[u8]) -> Probe {
    if buf.is_empty() {
        return Probe::NeedMore;
    }
    match prefix_of(buf, field::STATUS_START) {
        Some(true) => {
            let code = buf
                .iter()
                .skip(field::STATUS_START.len())
                .take(field::STATUS_CODE_LEN);
            let mut seen = 0;
            for b in code {
                if !b.is_ascii_digit() {
                    return Probe::NoMatch;
                }
                seen += 1;
            }
            return if seen == field::STATUS_CODE_LEN {
                Probe::Match
            } else {
                Probe::NeedMore
            };
        }
        Some(false) => return Probe::NeedMore,
        None => {}
    }
    // A Request-Line starts with a method token and a space: binary data
    // (RTP, ChannelData) fails within a few bytes, before any method compare.
    for (i, &b) in buf.iter().take(field::MAX_METHOD_LEN + 1).enumerate() {
        if b == b' ' {
            if i == 0 {
                return Probe::NoMatch;
            }
            break;
        }
        if !is_token_byte(b) {
            return Probe::NoMatch;
        }
    }
    let mut partial = false;
    for (name, _) in KNOWN_METHODS {
        match prefix_of(buf, name.as_bytes()) {
            Some(true) => match buf.get(name.len()) {
                Some(b' ') => return probe_strong_line(buf),
                None => return Probe::NeedMore,
                Some(_) => {}
            },
            Some(false) => partial = true,
            None => {}
        }
    }
    match probe_weak(buf) {
        Probe::NoMatch if partial => Probe::NeedMore,
        answer => answer,
    }
}

/// A strong method and a space start `buf`: SIP unless the Request-Line,
/// when complete within the probe window, ends in another protocol's version
/// (`HTTP/1.1` of SSDP's `NOTIFY * HTTP/1.1` or GENA's `SUBSCRIBE`,
/// `RTSP/1.0` of RTSP's `OPTIONS`). RFC 3261 section 7.1 ends every
/// Request-Line with the SIP-Version; a line that ends in no version at all
/// stays SIP, for the parser to report as malformed.
fn probe_strong_line(buf: &[u8]) -> Probe {
    let window = buf.get(..field::MAX_PROBE_LINE).unwrap_or(buf);
    let Some((end, _)) = line_end(window) else {
        return Probe::Match;
    };
    let line = window.get(..end).unwrap_or_default();
    let last = match line.iter().rposition(|&b| b == b' ') {
        Some(sp) => line.get(sp + 1..).unwrap_or_default(),
        None => line,
    };
    if is_other_version(last) {
        Probe::NoMatch
    } else {
        Probe::Match
    }
}

/// `name "/" 1*DIGIT "." 1*DIGIT` with a name other than `SIP`: the version
/// of another text protocol (HTTP, RTSP).
fn is_other_version(token: &[u8]) -> bool {
    let Some(slash) = token.iter().position(|&b| b == b'/') else {
        return false;
    };
    let (name, num) = (&token[..slash], &token[slash + 1..]);
    if name.is_empty()
        || name.eq_ignore_ascii_case(b"SIP")
        || !name.iter().all(u8::is_ascii_alphabetic)
    {
        return false;
    }
    let mut parts = num.split(|&b| b == b'.');
    let digits =
        |p: Option<&[u8]>| p.is_some_and(|p| !p.is_empty() && p.iter().all(u8::is_ascii_digit));
    digits(parts.next()) && digits(parts.next()) && parts.next().is_none()
}

// Weak methods (any token outside the strong list), after OISF/suricata
// rust/src/sip/parser.rs: only SIP when the whole Request-Line reads
//   token SP ( "sip:" / "sips:" / "tel:" ) *uri-char SP "SIP/2.0"
fn probe_weak(buf: &[u8]) -> Probe {
    let window = buf.get(..field::MAX_PROBE_LINE).unwrap_or(buf);
    let (line, complete) = match line_end(window) {
        Some((end, _)) => (window.get(..end).unwrap_or_default(), true),
        None => (window, false),
    };
    let more = if complete || window.len() >= field::MAX_PROBE_LINE {
        Probe::NoMatch
    } else {
        Probe::NeedMore
    };
    let Some(sp) = line.iter().position(|&b| b == b' ') else {
        let plausible =
            line.len() <= field::MAX_METHOD_LEN && line.iter().all(|&b| is_token_byte(b));
        return if plausible { more } else { Probe::NoMatch };
    };
    let (method, rest) = line.split_at(sp);
    if method.is_empty()
        || method.len() > field::MAX_METHOD_LEN
        || !method.iter().all(|&b| is_token_byte(b))
    {
        return Probe::NoMatch;
    }
    let uri = rest.get(1..).unwrap_or_default();
    let mut scheme_partial = false;
    let mut scheme_full = false;
    for scheme in field::URI_SCHEMES {
        match prefix_of_ignore_case(uri, scheme) {
            Some(true) => scheme_full = true,
            Some(false) => scheme_partial = true,
            None => {}
        }
    }
    if !scheme_full {
        return if scheme_partial { more } else { Probe::NoMatch };
    }
    let Some(sp) = uri.iter().position(|&b| b == b' ') else {
        return more;
    };
    let version = uri.get(sp + 1..).unwrap_or_default();
    if complete {
        return if version.eq_ignore_ascii_case(field::VERSION.as_bytes()) {
            Probe::Match
        } else {
            Probe::NoMatch
        };
    }
    match prefix_of_ignore_case(version, field::VERSION_CR) {
        Some(_) => more,
        None => Probe::NoMatch,
    }
}

/// True for a datagram or segment made only of RFC 5626 CRLF keep-alives
/// (`CRLF` pong or `CRLFCRLF` ping).
pub fn is_keepalive(buf: &[u8]) -> bool {
    !buf.is_empty() && leading_crlf(buf) == buf.len()
}

/// What the next bytes of a SIP stream hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFrame {
    /// This many leading CR/LF bytes are keep-alives (RFC 5626 section 3.5.1)
    /// or RFC 3261 section 7.5 padding: skip them.
    KeepAlive(usize),
    /// A complete message of this many bytes starts the buffer.
    Message(usize),
    /// The first message is not complete yet.
    NeedMore,
}

/// Frames the next unit of a TCP/TLS/WebSocket byte stream: call repeatedly,
/// consuming the reported length each time, to separate messages.
pub fn next_frame(buf: &[u8]) -> Result<StreamFrame> {
    let skip = leading_crlf(buf);
    if skip > 0 {
        return Ok(StreamFrame::KeepAlive(skip));
    }
    Ok(match message_len(buf)? {
        Some(len) => StreamFrame::Message(len),
        None => StreamFrame::NeedMore,
    })
}

// RFC 3261 section 7.5 / 18.3: on a stream the header block ends at the first
// empty line and Content-Length (absent = 0) bytes of body follow.
/// Length of the complete message at the start of `buf` (which must not
/// start with CR/LF: see [`next_frame`]), `Ok(None)` when more bytes are
/// needed. Fails when the start line is not SIP, a header is malformed, the
/// header block exceeds 64 KiB or Content-Length is not a number up to 1 MiB.
pub fn message_len(buf: &[u8]) -> Result<Option<usize>> {
    let Some((body_start, body_len)) = message_parts(buf)? else {
        return Ok(None);
    };
    let total = body_start
        .checked_add(body_len)
        .ok_or(Error::bad_length(0))?;
    Ok((buf.len() >= total).then_some(total))
}

/// The parts of the message at the start of `buf` once its header block is
/// complete: (where its body starts, its Content-Length, absent = 0), the
/// body not needed yet. `Ok(None)` while the header block is incomplete;
/// the errors of [`message_len`]. A reader whose buffer cannot hold
/// `body_start + length` bytes can read the headers and skip the body.
pub fn message_parts(buf: &[u8]) -> Result<Option<(usize, usize)>> {
    let window = buf.get(..field::MAX_HEADER_BLOCK).unwrap_or(buf);
    let Some((line_len, head_start)) = line_end(window) else {
        if window.len() >= field::MAX_HEADER_BLOCK {
            return Err(Error::new(ErrorKind::LimitExceeded, 0));
        }
        return match probe(buf) {
            Probe::NoMatch => Err(Error::new(ErrorKind::NotThisProtocol, 0)),
            _ => Ok(None),
        };
    };
    parse_start_line(window.get(..line_len).unwrap_or_default(), 0)?;
    let Some((head_end, body_start)) = blank_line(window, head_start.saturating_sub(1)) else {
        if window.len() >= field::MAX_HEADER_BLOCK {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                field::MAX_HEADER_BLOCK,
            ));
        }
        return Ok(None);
    };
    let head_bytes = window.get(head_start..head_end).unwrap_or_default();
    let head = core::str::from_utf8(head_bytes)
        .map_err(|e| Error::malformed(head_start.saturating_add(e.valid_up_to())))?;
    let body_len = match index_headers(Headers::new(head, head_start))?.content_length {
        None => 0,
        Some(v) => parse_length(v).ok_or(Error::bad_length(head_start))?,
    };
    if body_len > field::MAX_BODY {
        return Err(Error::bad_length(head_start));
    }
    Ok(Some((body_start, body_len)))
}

/// Every IPv4 and IPv6 literal in a header value or URI.
///
/// Candidates are maximal runs of letters, digits, `.` and `:`; a run counts
/// only when it is made of hex digits, dots and colons and parses whole as
/// four dotted decimal octets or as an IPv6 address, optionally followed by
/// `:port` (`10.0.0.1:5060`, bare `fe80:0:0:0:1:2:3:4:5060`). Brackets, `@`,
/// `;`, `=`, `%` (zone), `/` delimit runs. A dotted quad right after a single
/// `/` is a product version (`Agent/1.2.3.4`) and skipped. Remaining
/// ambiguity: four-part version numbers after a space (`Version 2.0.51.16`)
/// read as IPv4, so scan address-bearing headers rather than User-Agent.
pub fn ip_literals(s: &str) -> IpLiterals<'_> {
    IpLiterals { s, pos: 0 }
}

/// Iterator returned by [`ip_literals`].
#[derive(Debug, Clone)]
pub struct IpLiterals<'a> {
    s: &'a str,
    pos: usize,
}

fn is_run_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b':'
}

/// An address in `run`, allowing one trailing `:port`.
fn ip_in_run(run: &str) -> Option<IpAddr> {
    if let Some(ip) = ip_exact(run) {
        return Some(ip);
    }
    let (head, port) = run.rsplit_once(':')?;
    parse_port(port)?;
    ip_exact(head)
}

fn ip_exact(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        if s.bytes().filter(|&b| b == b':').count() < 2 {
            return None;
        }
        s.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        if s.bytes().filter(|&b| b == b'.').count() != 3 {
            return None;
        }
        s.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

impl Iterator for IpLiterals<'_> {
    type Item = IpAddr;

    fn next(&mut self) -> Option<IpAddr> {
        let bytes = self.s.as_bytes();
        loop {
            let start = self.pos
                + bytes
                    .get(self.pos..)?
                    .iter()
                    .position(|&b| is_run_byte(b))?;
            let len = bytes
                .get(start..)?
                .iter()
                .position(|&b| !is_run_byte(b))
                .unwrap_or(bytes.len() - start);
            let end = start + len;
            self.pos = end;
            let run = self.s.get(start..end)?.trim_end_matches('.');
            let hexish = run
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':');
            if !hexish {
                continue;
            }
            let Some(ip) = ip_in_run(run) else {
                continue;
            };
            let before = start.checked_sub(1).and_then(|i| bytes.get(i));
            let before2 = start.checked_sub(2).and_then(|i| bytes.get(i));
            let version_like = ip.is_ipv4() && before == Some(&b'/') && before2 != Some(&b'/');
            if !version_like {
                return Some(ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// heplify__sip_ipv6_udp.pcap frame 1: INVITE with bare IPv6 hosts and SDP.
    const IPV6_INVITE: &[u8] =
        include_bytes!("../../fixtures/payloads/sip/heplify_ipv6_invite.bin");
    /// heplify__sip_ipv4_tcp.pcap frame 3: INVITE over TCP.
    const TCP_INVITE: &[u8] = include_bytes!("../../fixtures/payloads/sip/heplify_tcp_invite.bin");
    /// ndpi__http_on_sip_port.pcap frame 3: HTTP GET on port 5060.
    const HTTP_ON_SIP_PORT: &[u8] =
        include_bytes!("../../fixtures/payloads/sip/ndpi_http_on_sip_port.bin");
    /// suricata__sip-tcp.pcap frames 4 and 6: one REGISTER split over two segments.
    const REGISTER_PART1: &[u8] =
        include_bytes!("../../fixtures/payloads/sip/suricata_register_part1.bin");
    const REGISTER_PART2: &[u8] =
        include_bytes!("../../fixtures/payloads/sip/suricata_register_part2.bin");
    /// sngrep__aaa.pcap frame 223: INVITE with display name and SDP.
    const INVITE_SDP: &[u8] = include_bytes!("../../fixtures/payloads/sip/sngrep_invite_sdp.bin");
    /// sngrep__aaa.pcap frame 30: REGISTER with Digest Authorization.
    const REGISTER_AUTH: &[u8] =
        include_bytes!("../../fixtures/payloads/sip/sngrep_register_auth.bin");
    /// sngrep__aaa.pcap frame 621: 480 with Reason and received/rport.
    const RESPONSE_REASON: &[u8] =
        include_bytes!("../../fixtures/payloads/sip/sngrep_480_reason.bin");
    /// ndpi__FAX-Call-t38-CA-TDM-SIP-FB-1.pcap frames 23 and 166.
    const FAX_INVITE: &[u8] = include_bytes!("../../fixtures/payloads/sip/ndpi_fax_invite.bin");
    const FAX_REINVITE: &[u8] = include_bytes!("../../fixtures/payloads/sip/ndpi_fax_reinvite.bin");

    /// Compact forms, folding, bracketed IPv6, a WebSocket Via, several Vias in one header.
    const COMPACT_FOLDED: &[u8] = b"MESSAGE sips:bob@[2001:db8::2]:5061 SIP/2.0\r\n\
v: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKnashds7 ,\r\n SIP/2.0/TLS [2001:db8::9]:5061;received=203.0.113.7;rport=40000\r\n\
f: \"Alice, A.\" <sips:alice@example.com>;tag=88sja8x\r\n\
t: sips:bob@example.com\r\n\
i: f81d4fae-7dec-11d0-a765-00a0c91e6bf6@192.0.2.4\r\n\
CSeq: 1 MESSAGE\r\n\
m: <sips:alice@[2001:db8::1]:5061;transport=ws>;expires=60, \"B\" <sip:b@10.1.2.3>\r\n\
Subject: first line\r\n\tsecond line\r\n\
Proxy-Authorization: Digest username=\"alice\", response=\"6629fae49393a05397450978507c4ef1\"\r\n\
Reason: SIP ;cause=200 ;text=\"Call completed elsewhere\"\r\n\
c: text/plain\r\n\
l: 5\r\n\
\r\n\
hello";

    const TWO_ON_A_STREAM: &[u8] = b"\r\n\r\nOPTIONS sip:a@b SIP/2.0\r\nl: 2\r\n\r\nhiSIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\nSIP/2.0 1";

    const ALL: [&[u8]; 12] = [
        IPV6_INVITE,
        TCP_INVITE,
        HTTP_ON_SIP_PORT,
        REGISTER_PART1,
        REGISTER_PART2,
        INVITE_SDP,
        REGISTER_AUTH,
        RESPONSE_REASON,
        FAX_INVITE,
        FAX_REINVITE,
        COMPACT_FOLDED,
        TWO_ON_A_STREAM,
    ];

    #[test]
    fn parses_ipv6_invite() {
        let msg = SipMessage::parse(IPV6_INVITE).unwrap();
        assert_eq!(
            msg.start_line(),
            StartLine::Request {
                method: Method::Invite,
                uri: "sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060"
            }
        );
        assert_eq!(
            msg.call_id(),
            Some("c3eF6f58-363323Cd-8058EB88-10300252@fe80:0:0:0:21a:a0ff:fe07:32e0")
        );
        assert_eq!(msg.cseq(), Some((1, Method::Invite)));
        let from = msg.from().unwrap();
        assert_eq!(from.uri, "sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0");
        assert_eq!(from.tag, Some("a3bhg"));
        assert_eq!(from.display, None);
        let mut vias = msg.vias();
        let via = vias.next().unwrap();
        assert_eq!(via.transport, Transport::Udp);
        assert_eq!(via.sent_by_host, "fe80:0:0:0:21a:a0ff:fe07:32e0");
        assert_eq!(via.sent_by_port, Some(5060));
        assert_eq!(via.branch, Some("z9hG4bKkdjuw8376"));
        assert_eq!(
            via.sent_by_ip(),
            Some("fe80::21a:a0ff:fe07:32e0".parse().unwrap())
        );
        assert!(vias.next().is_none() && !vias.is_malformed());
        assert_eq!(msg.content_type(), Some("application/sdp"));
        assert_eq!(msg.content_length(), Some(181));
        assert_eq!(msg.body().len(), 181);
        assert!(msg.body().starts_with(b"v=0"));
        assert!(!msg.is_truncated());
        let ips: Vec<IpAddr> = ip_literals(msg.header(HeaderName::Contact).unwrap()).collect();
        assert_eq!(ips, ["fe80::21a:a0ff:fe07:32e0".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn parses_invite_with_display_name() {
        let msg = SipMessage::parse(INVITE_SDP).unwrap();
        let from = msg.from().unwrap();
        assert_eq!(from.display, Some("arik"));
        assert_eq!(from.uri, "sip:816666@voip.brurjula.net");
        assert_eq!(from.tag, Some("6433ef9"));
        assert_eq!(from.host(), Some("voip.brurjula.net"));
        assert_eq!(msg.to().unwrap().tag, None);
        assert_eq!(
            msg.user_agent(),
            Some("Nero SIPPS IP Phone Version 2.0.51.16")
        );
        let via = msg.vias().next().unwrap();
        assert!(via.has_rport);
        assert_eq!(via.rport, None);
        assert_eq!(msg.body().len(), 272);
        let contact = msg.contacts().next().unwrap();
        assert_eq!(contact.host(), Some("192.168.1.2"));
    }

    #[test]
    fn parses_register_without_exposing_credentials() {
        let msg = SipMessage::parse(REGISTER_AUTH).unwrap();
        assert!(msg.has_authorization());
        let auth = msg
            .headers()
            .find(|h| h.name == HeaderName::Authorization)
            .unwrap();
        assert_eq!(auth.value, "");
        assert_eq!(auth.raw_name, "Authorization");
        assert_eq!(msg.cseq(), Some((69, Method::Register)));
        let contact = msg.contacts().next().unwrap();
        assert_eq!(
            contact.uri,
            "sip:voi18063@192.168.1.2:5060;line=9c7d2dbd8822013c"
        );
        assert_eq!(param(contact.params, "expires"), Some(Some("1200")));
        assert!(msg.body().is_empty());
        assert!(!SipMessage::parse(TCP_INVITE).unwrap().has_authorization());
    }

    #[test]
    fn parses_response_with_reason() {
        let msg = SipMessage::parse(RESPONSE_REASON).unwrap();
        assert_eq!(msg.status_code(), Some(480));
        assert_eq!(
            msg.start_line(),
            StartLine::Response {
                code: 480,
                reason: "Error"
            }
        );
        assert_eq!(msg.cseq(), Some((2, Method::Invite)));
        assert_eq!(msg.server(), Some("Cirpack/v4.38e (gw_sip)"));
        let reason = msg.reason_header().unwrap();
        assert_eq!(reason.protocol, "q.850");
        assert_eq!(reason.cause, Some(21));
        let via = msg.vias().next().unwrap();
        assert_eq!(via.received_ip(), Some("80.230.219.70".parse().unwrap()));
        assert_eq!(via.rport, Some(5060));
        assert_eq!(via.sent_by_port, None);
    }

    #[test]
    fn parses_compact_and_folded_headers() {
        let msg = SipMessage::parse(COMPACT_FOLDED).unwrap();
        assert_eq!(msg.method(), Some(Method::Message));
        let vias: Vec<Via> = msg.vias().collect();
        assert_eq!(vias.len(), 2);
        assert_eq!(vias[0].transport, Transport::Wss);
        assert!(vias[0].transport.is_secure());
        assert_eq!(vias[0].sent_by_host, "df7jal23ls0d.invalid");
        assert_eq!(vias[1].sent_by_host, "2001:db8::9");
        assert_eq!(vias[1].sent_by_port, Some(5061));
        assert_eq!(vias[1].rport, Some(40000));
        let from = msg.from().unwrap();
        assert_eq!(from.display, Some("Alice, A."));
        assert_eq!(from.tag, Some("88sja8x"));
        assert_eq!(msg.to().unwrap().uri, "sips:bob@example.com");
        assert_eq!(
            msg.call_id(),
            Some("f81d4fae-7dec-11d0-a765-00a0c91e6bf6@192.0.2.4")
        );
        let contacts: Vec<NameAddr> = msg.contacts().collect();
        assert_eq!(contacts.len(), 2);
        assert_eq!(contacts[0].host(), Some("2001:db8::1"));
        assert_eq!(contacts[1].display, Some("B"));
        let subject = msg
            .headers()
            .find(|h| h.name == HeaderName::Subject)
            .unwrap();
        assert!(subject.is_folded());
        assert_eq!(
            subject.value_parts().collect::<Vec<_>>(),
            ["first line", "second line"]
        );
        assert!(msg.has_authorization());
        assert!(msg.headers().all(|h| !h.value.contains("6629fae4")));
        let reason = msg.reason_header().unwrap();
        assert_eq!((reason.protocol, reason.cause), ("SIP", Some(200)));
        assert_eq!(reason.text, Some("Call completed elsewhere"));
        assert_eq!(msg.body(), b"hello");
        assert_eq!(HeaderName::from_name("V"), HeaderName::Via);
        assert_eq!(HeaderName::from_name("call-id").as_str(), "Call-ID");
        assert_eq!(HeaderName::from_name("X-Foo"), HeaderName::Unknown("X-Foo"));
    }

    #[test]
    fn parses_fax_reinvite() {
        let msg = SipMessage::parse(FAX_REINVITE).unwrap();
        let via = msg.vias().next().unwrap();
        assert_eq!(via.sent_by_ip(), Some("10.35.60.100".parse().unwrap()));
        let ips: Vec<IpAddr> = ip_literals(msg.header(HeaderName::Via).unwrap()).collect();
        assert_eq!(
            ips,
            [
                "10.35.60.100".parse::<IpAddr>().unwrap(),
                "192.168.100.219".parse().unwrap()
            ]
        );
        let fax = SipMessage::parse(FAX_INVITE).unwrap();
        assert_eq!(fax.cseq(), Some((1, Method::Invite)));
        assert_eq!(fax.body().len(), 240);
    }

    #[test]
    fn parses_probe_answers() {
        for m in [
            IPV6_INVITE,
            TCP_INVITE,
            INVITE_SDP,
            RESPONSE_REASON,
            REGISTER_PART1,
        ] {
            assert_eq!(probe(m), Probe::Match);
        }
        assert_eq!(probe(HTTP_ON_SIP_PORT), Probe::NoMatch);
        assert_eq!(probe(b"GET / HTTP/1.1\r\n"), Probe::NoMatch);
        assert_eq!(probe(b"POST sip:x SIP/2.0\r\n"), Probe::Match);
        assert_eq!(probe(b"FOO sip:x HTTP/1.1\r\n"), Probe::NoMatch);
        assert_eq!(probe(b"FOO sip:x SI"), Probe::NeedMore);
        assert_eq!(probe(b"FOO si"), Probe::NeedMore);
        assert_eq!(probe(b"INV"), Probe::NeedMore);
        assert_eq!(probe(b"INVITE"), Probe::NeedMore);
        assert_eq!(probe(b"SIP/2.0 2"), Probe::NeedMore);
        assert_eq!(probe(b"SIP/2.0 2x0"), Probe::NoMatch);
        assert_eq!(probe(b"SIP/2.0 200"), Probe::Match);
        assert_eq!(probe(b"INVITEX sip:a SIP/2.0"), Probe::NeedMore);
        assert_eq!(probe(b"INVITEX sip:a SIP/2.0\r\n"), Probe::Match);
        assert_eq!(probe(b"\x16\x03\x01"), Probe::NoMatch);
        assert_eq!(probe(b""), Probe::NeedMore);
        // TURN ChannelData whose channel bytes spell "BY", "AC": binary after.
        assert_eq!(probe(b"BY\x00\xa0\x80\x00\x12\x34"), Probe::NoMatch);
        assert_eq!(probe(b"AC\x01\x00\x90\x60"), Probe::NoMatch);
        assert_eq!(probe(b" INVITE sip:a SIP/2.0\r\n"), Probe::NoMatch);
    }

    /// SSDP (UPnP Device Architecture 2.0 section 1): NOTIFY and M-SEARCH
    /// requests on UDP 1900 and their `HTTP/1.1 200 OK` answers; GENA's
    /// SUBSCRIBE and RTSP's OPTIONS share strong SIP method names.
    #[test]
    fn rejects_ssdp_and_other_http_like_start_lines() {
        for m in [
            &b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nNT: upnp:rootdevice\r\n\
               NTS: ssdp:alive\r\nUSN: uuid:1::upnp:rootdevice\r\n\r\n"[..],
            b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n\
              MX: 1\r\nST: ssdp:all\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\n\r\n",
            b"SUBSCRIBE /evt HTTP/1.1\r\nNT: upnp:event\r\n\r\n",
            b"OPTIONS rtsp://cam/ RTSP/1.0\r\nCSeq: 1\r\n\r\n",
            b"notify * http/1.0\r\n\r\n",
        ] {
            assert_eq!(probe(m), Probe::NoMatch, "{:?}", core::str::from_utf8(m));
            assert_eq!(
                SipMessage::parse(m).map(|_| ()).map_err(|e| e.kind),
                Err(ErrorKind::NotThisProtocol)
            );
        }
    }

    #[test]
    fn parses_body_longer_than_content_length() {
        let m = b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 5\r\n\r\nhello world";
        let msg = SipMessage::parse(m).unwrap();
        assert_eq!(msg.body(), b"hello");
        assert_eq!(msg.excess_len(), 6);
        assert_eq!(msg.body_shortfall(), 0);
        assert!(!msg.is_truncated());
        assert_eq!(msg.body_complete_lines(), b"hello");
    }

    #[test]
    fn parses_body_shorter_than_content_length_to_its_last_line() {
        let m = b"INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 100\r\n\r\n\
                  v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 40";
        let msg = SipMessage::parse(m).unwrap();
        assert!(msg.is_truncated());
        assert_eq!(msg.body().len(), 35);
        assert_eq!(msg.body_shortfall(), 65);
        assert_eq!(msg.excess_len(), 0);
        assert_eq!(msg.body_complete_lines(), b"v=0\r\nc=IN IP4 192.0.2.1\r\n");
        let m = b"INVITE sip:a@b SIP/2.0\r\nContent-Length: 10\r\n\r\nv=0";
        assert_eq!(SipMessage::parse(m).unwrap().body_complete_lines(), b"");
        // Without Content-Length (allowed over UDP) the body runs to the end.
        let m = b"INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\nv=0";
        let msg = SipMessage::parse(m).unwrap();
        assert_eq!((msg.body_shortfall(), msg.excess_len()), (0, 0));
        assert_eq!(msg.body_complete_lines(), b"v=0");
    }

    #[test]
    fn parses_strong_methods_whatever_their_version() {
        // SIP/3.0 is SIP with a bad version, a missing version is malformed
        // SIP: both stay SIP for the parser to report.
        assert_eq!(probe(b"NOTIFY sip:a@b SIP/2.0\r\n"), Probe::Match);
        assert_eq!(probe(b"NOTIFY sip:a@b SIP/3.0\r\n"), Probe::Match);
        assert_eq!(probe(b"NOTIFY sip:a@b\r\n"), Probe::Match);
        assert_eq!(probe(b"NOTIFY * HTTP/1."), Probe::Match);
        assert_eq!(probe(b"NOTIFY * HTTP/x.1\r\n"), Probe::Match);
    }

    #[test]
    fn parses_message_parts_before_the_body() {
        let head = b"MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 70000\r\n\r\n";
        let mut m = head.to_vec();
        m.extend_from_slice(b"partial body");
        assert_eq!(message_parts(&m), Ok(Some((head.len(), 70000))));
        assert_eq!(message_len(&m), Ok(None));
        assert_eq!(message_parts(&head[..20]), Ok(None));
        let nolen = b"OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n";
        assert_eq!(message_parts(nolen), Ok(Some((nolen.len(), 0))));
    }

    #[test]
    fn rejects_message_parts_beyond_the_limits() {
        let m = b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2000000\r\n\r\n";
        assert_eq!(
            message_parts(m).map_err(|e| e.kind),
            Err(ErrorKind::BadLength)
        );
        assert_eq!(
            message_parts(b"GET / HTTP/1.1\r\n\r\n").map_err(|e| e.kind),
            Err(ErrorKind::NotThisProtocol)
        );
    }

    #[test]
    fn parses_stream_frames() {
        assert_eq!(message_len(REGISTER_PART1), Ok(None));
        let mut joined = REGISTER_PART1.to_vec();
        joined.extend_from_slice(REGISTER_PART2);
        assert_eq!(message_len(&joined), Ok(Some(joined.len())));
        assert_eq!(message_len(TCP_INVITE), Ok(Some(TCP_INVITE.len())));

        let mut rest = TWO_ON_A_STREAM;
        let mut frames = Vec::new();
        loop {
            let frame = next_frame(rest).unwrap();
            frames.push(frame);
            let n = match frame {
                StreamFrame::KeepAlive(n) | StreamFrame::Message(n) => n,
                StreamFrame::NeedMore => break,
            };
            if let StreamFrame::Message(n) = frame {
                SipMessage::parse(&rest[..n]).unwrap();
            }
            rest = &rest[n..];
        }
        assert_eq!(
            frames,
            [
                StreamFrame::KeepAlive(4),
                StreamFrame::Message(35),
                StreamFrame::Message(37),
                StreamFrame::NeedMore
            ]
        );
        assert!(is_keepalive(b"\r\n\r\n"));
        assert!(!is_keepalive(b"\r\nX"));
    }

    #[test]
    fn rejects_stream_garbage() {
        assert_eq!(
            message_len(HTTP_ON_SIP_PORT).unwrap_err().kind,
            ErrorKind::NotThisProtocol
        );
        let huge = b"SIP/2.0 200 OK\r\nContent-Length: 99999999999\r\n\r\n";
        assert_eq!(message_len(huge).unwrap_err().kind, ErrorKind::BadLength);
        let bad = b"SIP/2.0 200 OK\r\nContent-Length: 1x\r\n\r\n";
        assert_eq!(message_len(bad).unwrap_err().kind, ErrorKind::BadLength);
        let mut long = b"SIP/2.0 200 OK\r\nX: ".to_vec();
        long.resize(70_000, b'a');
        assert_eq!(
            message_len(&long).unwrap_err().kind,
            ErrorKind::LimitExceeded
        );
        assert_eq!(
            message_len(b"\x16\x03\x01\x02"),
            Err(Error::new(ErrorKind::NotThisProtocol, 0))
        );
    }

    #[test]
    fn rejects_non_sip() {
        assert_eq!(
            SipMessage::parse(HTTP_ON_SIP_PORT).unwrap_err().kind,
            ErrorKind::NotThisProtocol
        );
        assert_eq!(
            SipMessage::parse(b"INVITE sip:a SIP/3.0\r\n\r\n")
                .unwrap_err()
                .kind,
            ErrorKind::BadVersion
        );
        assert_eq!(
            SipMessage::parse(b"SIP/2.0 999 X\r\n\r\n")
                .unwrap_err()
                .kind,
            ErrorKind::Malformed
        );
        let no_colon = b"BYE sip:a SIP/2.0\r\nVia SIP/2.0/UDP h\r\n\r\n";
        assert_eq!(
            SipMessage::parse(no_colon).unwrap_err(),
            Error::malformed(19)
        );
        assert_eq!(
            SipMessage::parse(b"").unwrap_err().kind,
            ErrorKind::Truncated
        );
    }

    #[test]
    fn parses_truncated_udp_message() {
        let msg = SipMessage::parse(&IPV6_INVITE[..600]).unwrap();
        assert!(msg.is_truncated());
        assert_eq!(msg.content_length(), Some(181));
        let msg = SipMessage::parse(b"BYE sip:a@b SIP/2.0\nCSeq: 2 BYE").unwrap();
        assert!(msg.is_truncated());
        assert_eq!(msg.cseq(), Some((2, Method::Bye)));
    }

    #[test]
    fn parses_ip_literals_conservatively() {
        let ips = |s: &str| ip_literals(s).collect::<Vec<_>>();
        let v = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(ips("<sip:a@[2001:db8::1]:5060>"), [v("2001:db8::1")]);
        assert_eq!(
            ips("sip:a@10.0.0.1:5060;maddr=239.1.1.1"),
            [v("10.0.0.1"), v("239.1.1.1")]
        );
        assert_eq!(
            ips("SIP/2.0/UDP fe80:0:0:0:21a:a0ff:fe07:32e0:5060;received=::ffff:192.0.2.1"),
            [v("fe80::21a:a0ff:fe07:32e0"), v("::ffff:192.0.2.1")]
        );
        assert!(
            ips("SIP/2.0 Agent/1.2.3 Phone/1.2.3.4 v1.2.3.4 12:30:45 1.2.3.256 cafe").is_empty()
        );
        assert!(ips("z9hG4bKnp104984053-44ce4a41192.168.1.2").is_empty());
        assert_eq!(
            ips("http://10.1.1.1/x fe80::1%eth0."),
            [v("10.1.1.1"), v("fe80::1")]
        );
        assert_eq!(ips("at 192.0.2.9."), [v("192.0.2.9")]);
    }

    #[test]
    fn parses_methods_and_transports() {
        for (name, m) in KNOWN_METHODS {
            assert_eq!(Method::from_token(name), m);
            assert_eq!(m.as_str(), name);
        }
        assert_eq!(Method::from_token("invite"), Method::Unknown("invite"));
        assert_eq!(Transport::from_token("tls-sctp"), Transport::TlsSctp);
        assert_eq!(uri_host("tel:+15551234"), Some("+15551234"));
        assert_eq!(uri_host("sip:[::1]:5060;transport=tcp"), Some("::1"));
    }

    fn exercise(buf: &[u8]) {
        let _ = probe(buf);
        let _ = is_keepalive(buf);
        let _ = next_frame(buf);
        let _ = message_len(buf);
        if let Ok(msg) = SipMessage::parse(buf) {
            let _ = (
                msg.start_line(),
                msg.method(),
                msg.status_code(),
                msg.is_request(),
            );
            for h in msg.headers() {
                let _ = (h.name.as_str(), h.is_folded(), h.value_parts().count());
                for item in h.items() {
                    let _ = NameAddr::parse(item).map(|n| (n.host(), n.params().count()));
                    let _ = Via::parse(item)
                        .map(|v| (v.sent_by_ip(), v.received_ip(), v.params().count()));
                    let _ = Reason::parse(item);
                    let _ = ip_literals(item).count();
                }
                let _ = ip_literals(h.value).count();
            }
            let _ = (msg.call_id(), msg.from(), msg.to(), msg.cseq());
            let _ = (msg.vias().count(), msg.contacts().count());
            let _ = (msg.user_agent(), msg.server(), msg.content_type());
            let _ = (
                msg.content_length(),
                msg.has_authorization(),
                msg.reason_header(),
            );
            let _ = (msg.body(), msg.is_truncated());
        }
        if let Ok(s) = core::str::from_utf8(buf) {
            let _ = ip_literals(s).count();
            let _ = uri_host(s);
        }
    }

    #[test]
    fn rejects_nothing_with_a_panic_sweep() {
        for v in ALL {
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

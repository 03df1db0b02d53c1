//! DNS messages: the header, the question and the answer records a passive
//! analyzer needs to learn which name an address was resolved from.
//!
//! * RFC 1035 section 4.1: the 12-byte header, questions, resource records;
//!   section 4.1.4: name compression. A pointer must point strictly before
//!   the label it replaces and a name follows at most [`MAX_POINTER_HOPS`]
//!   pointers and spans at most 255 bytes (section 2.3.4), so a hostile
//!   message cannot loop or recurse: every walk is iterative and bounded.
//! * RFC 1035 section 4.2.2: over TCP each message carries a 2-byte length
//!   prefix ([`tcp_message`]).
//! * A (RFC 1035), AAAA (RFC 3596) and CNAME records; SVCB and HTTPS records
//!   (RFC 9460) are read for their `ipv4hint` and `ipv6hint` parameters
//!   (section 7.3), the addresses a client may connect to.
//!
//! Not supported: EDNS options, DNSSEC, any other record's data (the record
//! is still walked over and returned, with its raw data), and name bytes
//! outside printable ASCII (written as `?` by [`Name::write_lower`]).

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::error::{Error, ErrorKind, Probe, Result};

/// Named offsets of the header (RFC 1035 section 4.1.1).
mod field {
    use core::ops::Range;
    pub const ID: Range<usize> = 0..2;
    pub const FLAGS: Range<usize> = 2..4;
    pub const QDCOUNT: Range<usize> = 4..6;
    pub const ANCOUNT: Range<usize> = 6..8;
    pub const NSCOUNT: Range<usize> = 8..10;
    pub const ARCOUNT: Range<usize> = 10..12;
    pub const HEADER_LEN: usize = 12;
}

/// Compression pointers followed in one name (RFC 1035 sets no bound; real
/// messages need a handful).
pub const MAX_POINTER_HOPS: usize = 16;
/// Longest name in wire form (RFC 1035 section 2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Largest DNS message over TCP (the 2-byte length prefix).
pub const MAX_TCP_MESSAGE: usize = 65_535;

open_enum! {
    /// A record type (IANA "Resource Record (RR) TYPEs").
    pub enum RecordType: u16 {
        /// RFC 1035.
        A = 1 => "A",
        /// RFC 1035.
        Ns = 2 => "NS",
        /// RFC 1035.
        Cname = 5 => "CNAME",
        /// RFC 1035.
        Soa = 6 => "SOA",
        /// RFC 1035.
        Ptr = 12 => "PTR",
        /// RFC 1035.
        Mx = 15 => "MX",
        /// RFC 1035.
        Txt = 16 => "TXT",
        /// RFC 3596.
        Aaaa = 28 => "AAAA",
        /// RFC 2782.
        Srv = 33 => "SRV",
        /// RFC 6891 (EDNS pseudo-record).
        Opt = 41 => "OPT",
        /// RFC 9460.
        Svcb = 64 => "SVCB",
        /// RFC 9460.
        Https = 65 => "HTTPS",
    } else {
        /// Any other type.
        Unknown
    }
}

open_enum! {
    /// A header OPCODE (RFC 1035 section 4.1.1, RFC 6895 section 2.2).
    pub enum Opcode: u8 {
        /// A standard query.
        Query = 0 => "QUERY",
        /// An inverse query (obsolete, RFC 3425).
        IQuery = 1 => "IQUERY",
        /// A server status request.
        Status = 2 => "STATUS",
        /// RFC 1996.
        Notify = 4 => "NOTIFY",
        /// RFC 2136.
        Update = 5 => "UPDATE",
        /// RFC 8490.
        Dso = 6 => "DSO",
    } else {
        /// Any other opcode.
        Unknown
    }
}

open_enum! {
    /// A response code (RFC 1035 section 4.1.1).
    pub enum Rcode: u8 {
        /// No error.
        NoError = 0 => "NOERROR",
        /// Format error.
        FormErr = 1 => "FORMERR",
        /// Server failure.
        ServFail = 2 => "SERVFAIL",
        /// The name does not exist.
        NxDomain = 3 => "NXDOMAIN",
        /// Not implemented.
        NotImp = 4 => "NOTIMP",
        /// Refused.
        Refused = 5 => "REFUSED",
    } else {
        /// Any other code.
        Unknown
    }
}

#[inline]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Cheap check of the first 12 bytes: a header whose opcode is assigned,
/// whose Z bit is clear and whose counts are plausible for `len` bytes.
pub fn probe(buf: &[u8]) -> Probe {
    let Some(h) = buf.get(..field::HEADER_LEN) else {
        return Probe::NoMatch;
    };
    let opcode = (h[2] >> 3) & 0x0f;
    let z = h[3] & 0x40 != 0;
    let qd = u16::from_be_bytes([h[4], h[5]]);
    let records = [6, 8, 10]
        .iter()
        .map(|&i| usize::from(u16::from_be_bytes([h[i], h[i + 1]])))
        .sum::<usize>();
    // A question takes 5 bytes at least, a record 11.
    let min = field::HEADER_LEN + usize::from(qd) * 5 + records * 11;
    if opcode <= 6 && opcode != 3 && !z && qd <= 4 && min <= buf.len() {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

/// One DNS message of a TCP stream (RFC 1035 section 4.2.2): `Ok(None)`
/// while the buffer holds less than the whole message, else the message and
/// the bytes it took, prefix included.
pub fn tcp_message(buf: &[u8]) -> Result<Option<(&[u8], usize)>> {
    let Some(len) = be16(buf, 0) else {
        return Ok(None);
    };
    let len = usize::from(len);
    if len < field::HEADER_LEN {
        return Err(Error::bad_length(0));
    }
    Ok(buf.get(2..2 + len).map(|m| (m, 2 + len)))
}

/// A checked view of one DNS message.
#[derive(Debug, Clone, Copy)]
pub struct DnsMessage<'a> {
    buf: &'a [u8],
}

impl<'a> DnsMessage<'a> {
    /// Checks that the header is whole; sections are checked as they are
    /// walked.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        if buf.len() < field::HEADER_LEN {
            return Err(Error::truncated(buf.len()));
        }
        Ok(DnsMessage { buf })
    }

    fn u16_at(&self, r: core::ops::Range<usize>) -> u16 {
        be16(self.buf, r.start).unwrap_or(0)
    }

    pub fn id(&self) -> u16 {
        self.u16_at(field::ID)
    }
    fn flags(&self) -> u16 {
        self.u16_at(field::FLAGS)
    }
    /// QR: a response.
    pub fn is_response(&self) -> bool {
        self.flags() & 0x8000 != 0
    }
    pub fn opcode(&self) -> Opcode {
        Opcode::from_raw(((self.flags() >> 11) & 0x0f) as u8)
    }
    /// TC: the message was truncated by its sender.
    pub fn is_truncated(&self) -> bool {
        self.flags() & 0x0200 != 0
    }
    pub fn rcode(&self) -> Rcode {
        Rcode::from_raw((self.flags() & 0x000f) as u8)
    }
    pub fn question_count(&self) -> u16 {
        self.u16_at(field::QDCOUNT)
    }
    pub fn answer_count(&self) -> u16 {
        self.u16_at(field::ANCOUNT)
    }
    pub fn authority_count(&self) -> u16 {
        self.u16_at(field::NSCOUNT)
    }
    pub fn additional_count(&self) -> u16 {
        self.u16_at(field::ARCOUNT)
    }
    /// The whole message.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// The questions, in order; a malformed one ends the walk with an error.
    pub fn questions(&self) -> Questions<'a> {
        Questions {
            buf: self.buf,
            at: field::HEADER_LEN,
            left: self.question_count(),
        }
    }

    /// The answer section's records (RFC 1035 section 4.1.3), after walking
    /// over the questions.
    pub fn answers(&self) -> Records<'a> {
        let mut q = self.questions();
        let mut failed = None;
        for r in q.by_ref() {
            if let Err(e) = r {
                failed = Some(e);
                break;
            }
        }
        Records {
            buf: self.buf,
            at: q.at,
            left: if failed.is_some() {
                0
            } else {
                self.answer_count()
            },
            failed,
        }
    }
}

/// A domain name inside a message: where it starts. Walking it follows
/// compression pointers (bounded).
#[derive(Debug, Clone, Copy)]
pub struct Name<'a> {
    msg: &'a [u8],
    at: usize,
}

impl<'a> Name<'a> {
    /// Checks the name at `at` (every label in bounds, pointers backwards
    /// and bounded, at most 255 bytes) and returns it with the offset just
    /// past it in place.
    fn read(msg: &'a [u8], at: usize) -> Result<(Name<'a>, usize)> {
        let name = Name { msg, at };
        let mut labels = name.labels();
        for l in labels.by_ref() {
            l?;
        }
        let end = labels.end.ok_or(Error::malformed(at))?;
        Ok((name, end))
    }

    /// The labels, in order (the root's empty label is not returned).
    pub fn labels(&self) -> Labels<'a> {
        Labels {
            msg: self.msg,
            at: self.at,
            hops: 0,
            total: 0,
            done: false,
            end: None,
        }
    }

    /// Writes the name, dotted, lower-case, without the root's dot, into
    /// `out` and returns its length. Bytes other than printable ASCII, and
    /// dots inside a label, are written as `?`.
    pub fn write_lower(&self, out: &mut [u8; MAX_NAME_LEN]) -> Result<usize> {
        let full = Error::new(ErrorKind::LimitExceeded, self.at);
        let mut n = 0;
        for l in self.labels() {
            let l = l?;
            if n > 0 {
                *out.get_mut(n).ok_or(full)? = b'.';
                n += 1;
            }
            for &c in l {
                let c = match c {
                    b'.' => b'?',
                    0x21..=0x7e => c.to_ascii_lowercase(),
                    _ => b'?',
                };
                *out.get_mut(n).ok_or(full)? = c;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Where the name's first label is written: past the compression
    /// pointers it starts with (each pointing backwards, at most
    /// [`MAX_POINTER_HOPS`]).
    fn first_label(&self) -> usize {
        let mut at = self.at;
        for _ in 0..MAX_POINTER_HOPS {
            match self.msg.get(at..at + 2) {
                Some(&[hi, lo]) if hi & 0xc0 == 0xc0 => {
                    let to = (usize::from(hi & 0x3f) << 8) | usize::from(lo);
                    if to >= at {
                        break;
                    }
                    at = to;
                }
                _ => break,
            }
        }
        at
    }

    /// Same name (ASCII case ignored, RFC 4343).
    pub fn eq_name(&self, other: &Name<'_>) -> bool {
        // Names of one message whose labels start at the same place are the
        // same name, without a walk: an answer's owner is most often a
        // pointer to the question's name. (Every name is checked when
        // read, so both walks would succeed alike.)
        if std::ptr::eq(self.msg, other.msg) && self.first_label() == other.first_label() {
            return true;
        }
        let mut a = self.labels();
        let mut b = other.labels();
        loop {
            match (a.next(), b.next()) {
                (None, None) => return true,
                (Some(Ok(x)), Some(Ok(y))) if x.eq_ignore_ascii_case(y) => {}
                _ => return false,
            }
        }
    }
}

/// The labels of a [`Name`], following compression pointers: each pointer
/// must point strictly before itself, at most [`MAX_POINTER_HOPS`] are
/// followed and the name may not exceed [`MAX_NAME_LEN`] bytes, so the walk
/// always ends. An error ends it.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    msg: &'a [u8],
    at: usize,
    hops: usize,
    total: usize,
    done: bool,
    /// Offset just past the name where it was first written (known at the
    /// root label or the first pointer).
    end: Option<usize>,
}

impl<'a> Labels<'a> {
    fn fail(&mut self, e: Error) -> Option<Result<&'a [u8]>> {
        self.done = true;
        Some(Err(e))
    }
}

impl<'a> Iterator for Labels<'a> {
    type Item = Result<&'a [u8]>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let at = self.at;
            let Some(&len) = self.msg.get(at) else {
                return self.fail(Error::truncated(at));
            };
            match len & 0xc0 {
                0x00 => {
                    let n = usize::from(len);
                    self.total += n + 1;
                    if self.total > MAX_NAME_LEN {
                        return self.fail(Error::new(ErrorKind::LimitExceeded, at));
                    }
                    if n == 0 {
                        self.done = true;
                        if self.hops == 0 {
                            self.end = Some(at + 1);
                        }
                        return None;
                    }
                    let Some(label) = self.msg.get(at + 1..at + 1 + n) else {
                        return self.fail(Error::truncated(at));
                    };
                    self.at = at + 1 + n;
                    return Some(Ok(label));
                }
                0xc0 => {
                    let Some(&lo) = self.msg.get(at + 1) else {
                        return self.fail(Error::truncated(at));
                    };
                    let target = usize::from(u16::from_be_bytes([len & 0x3f, lo]));
                    if self.hops == 0 {
                        self.end = Some(at + 2);
                    }
                    self.hops += 1;
                    if target >= at || self.hops > MAX_POINTER_HOPS {
                        return self.fail(Error::new(ErrorKind::LimitExceeded, at));
                    }
                    self.at = target;
                }
                // 0x40 and 0x80: extended label types (RFC 6891), unsupported.
                _ => return self.fail(Error::new(ErrorKind::Unsupported, at)),
            }
        }
    }
}

/// One question (RFC 1035 section 4.1.2).
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    pub name: Name<'a>,
    pub qtype: RecordType,
    pub qclass: u16,
}

/// The questions of a message.
#[derive(Debug, Clone)]
pub struct Questions<'a> {
    buf: &'a [u8],
    at: usize,
    left: u16,
}

impl<'a> Iterator for Questions<'a> {
    type Item = Result<Question<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let r = (|| {
            let (name, end) = Name::read(self.buf, self.at)?;
            let qtype = be16(self.buf, end).ok_or(Error::truncated(end))?;
            let qclass = be16(self.buf, end + 2).ok_or(Error::truncated(end + 2))?;
            self.at = end + 4;
            Ok(Question {
                name,
                qtype: RecordType::from_raw(qtype),
                qclass,
            })
        })();
        if r.is_err() {
            self.left = 0;
        }
        Some(r)
    }
}

/// One resource record (RFC 1035 section 4.1.3).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub name: Name<'a>,
    pub rtype: RecordType,
    pub class: u16,
    pub ttl: u32,
    /// The record's data, as sent.
    pub rdata: &'a [u8],
    msg: &'a [u8],
    rdata_at: usize,
}

impl<'a> Record<'a> {
    /// The address of an A record (class IN).
    pub fn a(&self) -> Option<Ipv4Addr> {
        if self.rtype != RecordType::A || self.class != 1 {
            return None;
        }
        let b: [u8; 4] = self.rdata.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    }

    /// The address of an AAAA record (class IN).
    pub fn aaaa(&self) -> Option<Ipv6Addr> {
        if self.rtype != RecordType::Aaaa || self.class != 1 {
            return None;
        }
        let b: [u8; 16] = self.rdata.try_into().ok()?;
        Some(Ipv6Addr::from(b))
    }

    /// The address of an A or AAAA record.
    pub fn address(&self) -> Option<IpAddr> {
        self.a()
            .map(IpAddr::V4)
            .or_else(|| self.aaaa().map(IpAddr::V6))
    }

    /// The canonical name of a CNAME record (it may be compressed).
    pub fn cname(&self) -> Option<Name<'a>> {
        if self.rtype != RecordType::Cname {
            return None;
        }
        let (name, end) = Name::read(self.msg, self.rdata_at).ok()?;
        (end <= self.rdata_at + self.rdata.len()).then_some(name)
    }

    /// The `ipv4hint` and `ipv6hint` addresses of an SVCB or HTTPS record
    /// (RFC 9460 sections 2.2 and 7.3); none for other records or a
    /// malformed parameter list.
    pub fn svc_hints(&self) -> SvcHints<'a> {
        let empty = SvcHints {
            params: &[],
            key: 0,
            value: &[],
        };
        if !matches!(self.rtype, RecordType::Svcb | RecordType::Https) {
            return empty;
        }
        // SvcPriority, then TargetName, uncompressed (section 2.2).
        let mut at = 2;
        loop {
            let Some(&len) = self.rdata.get(at) else {
                return empty;
            };
            if len & 0xc0 != 0 {
                return empty;
            }
            at += 1 + usize::from(len);
            if len == 0 {
                break;
            }
        }
        SvcHints {
            params: self.rdata.get(at..).unwrap_or_default(),
            key: 0,
            value: &[],
        }
    }
}

/// Addresses of an SVCB/HTTPS record's `ipv4hint` (key 4) and `ipv6hint`
/// (key 6) parameters.
#[derive(Debug, Clone)]
pub struct SvcHints<'a> {
    params: &'a [u8],
    key: u16,
    value: &'a [u8],
}

impl Iterator for SvcHints<'_> {
    type Item = IpAddr;
    fn next(&mut self) -> Option<IpAddr> {
        loop {
            match self.key {
                4 if self.value.len() >= 4 => {
                    let (a, rest) = self.value.split_at(4);
                    self.value = rest;
                    let a: [u8; 4] = a.try_into().ok()?;
                    return Some(IpAddr::V4(a.into()));
                }
                6 if self.value.len() >= 16 => {
                    let (a, rest) = self.value.split_at(16);
                    self.value = rest;
                    let a: [u8; 16] = a.try_into().ok()?;
                    return Some(IpAddr::V6(a.into()));
                }
                _ => {}
            }
            let key = be16(self.params, 0)?;
            let len = usize::from(be16(self.params, 2)?);
            let value = self.params.get(4..4 + len)?;
            self.params = self.params.get(4 + len..).unwrap_or_default();
            self.key = key;
            self.value = value;
        }
    }
}

/// The records of one section.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    buf: &'a [u8],
    at: usize,
    left: u16,
    failed: Option<Error>,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.failed.take() {
            return Some(Err(e));
        }
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let r = (|| {
            let (name, end) = Name::read(self.buf, self.at)?;
            let fixed = self.buf.get(end..end + 10).ok_or(Error::truncated(end))?;
            let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
            let class = u16::from_be_bytes([fixed[2], fixed[3]]);
            let ttl = u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]);
            let len = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
            let rdata_at = end + 10;
            let rdata = self
                .buf
                .get(rdata_at..rdata_at + len)
                .ok_or(Error::bad_length(end + 8))?;
            self.at = rdata_at + len;
            Ok(Record {
                name,
                rtype: RecordType::from_raw(rtype),
                class,
                ttl,
                rdata,
                msg: self.buf,
                rdata_at,
            })
        })();
        if r.is_err() {
            self.left = 0;
        }
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! payload {
        ($name:literal) => {
            include_bytes!(concat!("../../fixtures/payloads/dns/", $name))
        };
    }

    fn text(n: &Name<'_>) -> String {
        let mut out = [0u8; MAX_NAME_LEN];
        let len = n.write_lower(&mut out).unwrap();
        String::from_utf8(out[..len].to_vec()).unwrap()
    }

    /// (owner, type, cname or address) of every answer.
    fn answers(buf: &[u8]) -> Vec<(String, &'static str, String)> {
        let m = DnsMessage::new_checked(buf).unwrap();
        m.answers()
            .map(|r| {
                let r = r.unwrap();
                let data = match r.cname() {
                    Some(c) => text(&c),
                    None => r.address().map(|a| a.to_string()).unwrap_or_default(),
                };
                (text(&r.name), r.rtype.name().unwrap_or("?"), data)
            })
            .collect()
    }

    #[test]
    fn reads_a_cname_chain_with_compression() {
        let buf = payload!("ndpi__teams-frame333.bin");
        assert_eq!(probe(buf), Probe::Match);
        let m = DnsMessage::new_checked(buf).unwrap();
        assert!(m.is_response());
        assert_eq!(m.opcode(), Opcode::Query);
        assert_eq!(m.rcode(), Rcode::NoError);
        let q: Vec<_> = m.questions().map(|q| q.unwrap()).collect();
        assert_eq!(q.len(), 1);
        assert_eq!(text(&q[0].name), "config.teams.microsoft.com");
        assert_eq!(q[0].qtype, RecordType::A);
        assert_eq!(
            answers(buf),
            [
                (
                    "config.teams.microsoft.com".into(),
                    "CNAME",
                    "config.teams.trafficmanager.net".into()
                ),
                (
                    "config.teams.trafficmanager.net".into(),
                    "CNAME",
                    "config-teams.s-0005.s-msedge.net".into()
                ),
                (
                    "config-teams.s-0005.s-msedge.net".into(),
                    "CNAME",
                    "s-0005.s-msedge.net".into()
                ),
                ("s-0005.s-msedge.net".into(), "A", "52.113.194.132".into()),
            ]
        );
        // The first answer's owner is a pointer to the question's name.
        let first = m.answers().next().unwrap().unwrap();
        assert!(first.name.eq_name(&q[0].name));
    }

    #[test]
    fn reads_aaaa_and_single_answers() {
        let a = answers(payload!("ndpi__teams-frame720.bin"));
        assert_eq!(a.last().unwrap().1, "AAAA");
        assert_eq!(a.last().unwrap().2, "2a01:111:f100:7000::6fdd:54a1");
        assert_eq!(
            answers(payload!("ndpi__wa_voice-frame4.bin")),
            [
                (
                    "g.whatsapp.net".into(),
                    "CNAME",
                    "chat.cdn.whatsapp.net".into()
                ),
                ("chat.cdn.whatsapp.net".into(), "A", "157.240.20.53".into()),
            ]
        );
        assert_eq!(
            answers(payload!("ndpi__zoom-frame280.bin")),
            [("zoomfrn99mmr.zoom.us".into(), "A", "109.94.160.99".into())]
        );
    }

    #[test]
    fn frames_tcp_messages() {
        let msg = payload!("ndpi__zoom-frame280.bin");
        let mut stream = (msg.len() as u16).to_be_bytes().to_vec();
        stream.extend_from_slice(msg);
        assert_eq!(tcp_message(&stream[..10]), Ok(None));
        let (m, used) = tcp_message(&stream).unwrap().unwrap();
        assert_eq!((m, used), (&msg[..], msg.len() + 2));
        assert!(tcp_message(&[0, 3, 0, 0, 0]).is_err());
    }

    #[test]
    fn rejects_pointer_loops_and_forward_pointers() {
        // Header, one question whose name points at itself.
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        let msg = DnsMessage::new_checked(&m).unwrap();
        assert!(msg.questions().next().unwrap().is_err());
        // A forward pointer.
        m[12..14].copy_from_slice(&[0xc0, 14]);
        let msg = DnsMessage::new_checked(&m).unwrap();
        assert!(msg.questions().next().unwrap().is_err());
        // A chain of backward pointers longer than the bound.
        let mut m = vec![0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 0];
        for i in 0..40u16 {
            let target = if i == 0 { 12 } else { 15 + 2 * (i - 1) };
            m.extend_from_slice(&(0xc000 | target).to_be_bytes());
        }
        let last = m.len() - 2;
        // The question is the last pointer: 40 hops.
        let mut msg = m.clone();
        msg[4..6].copy_from_slice(&[0, 1]);
        let name = Name {
            msg: &msg,
            at: last,
        };
        assert!(name.labels().any(|l| l.is_err()));
        let ok = Name { msg: &msg, at: 15 };
        assert_eq!(text(&ok), "a");
    }

    #[test]
    fn reads_svcb_hints() {
        // An HTTPS record: priority 1, target ".", alpn "h3", ipv4hint two
        // addresses, ipv6hint one (RFC 9460 appendix D.2 form).
        let mut rdata = vec![0, 1, 0];
        rdata.extend_from_slice(&[0, 1, 0, 3, 2, b'h', b'3']);
        rdata.extend_from_slice(&[0, 4, 0, 8, 192, 0, 2, 1, 192, 0, 2, 2]);
        rdata.extend_from_slice(&[0, 6, 0, 16]);
        rdata.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        let mut m = vec![0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0];
        m.extend_from_slice(&[1, b'a', 0, 0, 65, 0, 1, 0, 0, 0, 60]);
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(&rdata);
        let msg = DnsMessage::new_checked(&m).unwrap();
        let r = msg.answers().next().unwrap().unwrap();
        assert_eq!(r.rtype, RecordType::Https);
        let hints: Vec<IpAddr> = r.svc_hints().collect();
        assert_eq!(
            hints,
            [
                "192.0.2.1".parse::<IpAddr>().unwrap(),
                "192.0.2.2".parse().unwrap(),
                "2001:db8::1".parse().unwrap()
            ]
        );
    }

    #[test]
    fn survives_truncation_and_bit_flips() {
        for buf in [
            &payload!("ndpi__teams-frame333.bin")[..],
            payload!("ndpi__teams-frame720.bin"),
            payload!("ndpi__wa_voice-frame4.bin"),
        ] {
            let walk = |b: &[u8]| {
                let _ = probe(b);
                if let Ok(m) = DnsMessage::new_checked(b) {
                    for q in m.questions().flatten() {
                        let mut out = [0u8; MAX_NAME_LEN];
                        let _ = q.name.write_lower(&mut out);
                    }
                    for r in m.answers().flatten() {
                        let _ = (r.address(), r.cname(), r.svc_hints().count());
                    }
                }
            };
            for len in 0..buf.len() {
                walk(&buf[..len]);
            }
            for i in 0..buf.len() * 8 {
                let mut b = buf.to_vec();
                b[i / 8] ^= 1 << (i % 8);
                walk(&b);
            }
        }
    }
}

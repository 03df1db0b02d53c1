//! The one error type every dissector returns.
//!
//! Small and `Copy`: a rejected packet costs no allocation. `offset` is the
//! byte offset, inside the buffer handed to the parser, where parsing stopped.

use core::fmt;

/// Why a buffer was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The buffer ends before a length the format requires.
    Truncated,
    /// A length field points outside the buffer or contradicts another one.
    BadLength,
    /// A version field holds a value this parser does not handle.
    BadVersion,
    /// A field holds a value the format forbids.
    Malformed,
    /// The bytes are not this protocol at all.
    NotThisProtocol,
    /// A limit of this parser was reached (too many items, nesting too deep).
    LimitExceeded,
    /// Well-formed, but a feature this parser does not implement.
    Unsupported,
}

impl ErrorKind {
    /// A short stable name, used as the warning kind in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Truncated => "truncated",
            ErrorKind::BadLength => "bad-length",
            ErrorKind::BadVersion => "bad-version",
            ErrorKind::Malformed => "malformed",
            ErrorKind::NotThisProtocol => "not-this-protocol",
            ErrorKind::LimitExceeded => "limit-exceeded",
            ErrorKind::Unsupported => "unsupported",
        }
    }
}

/// A parse failure: what went wrong and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error {
    pub kind: ErrorKind,
    pub offset: usize,
}

impl Error {
    pub const fn new(kind: ErrorKind, offset: usize) -> Self {
        Error { kind, offset }
    }
    pub const fn truncated(offset: usize) -> Self {
        Error::new(ErrorKind::Truncated, offset)
    }
    pub const fn malformed(offset: usize) -> Self {
        Error::new(ErrorKind::Malformed, offset)
    }
    pub const fn bad_length(offset: usize) -> Self {
        Error::new(ErrorKind::BadLength, offset)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.kind.as_str(), self.offset)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = core::result::Result<T, Error>;

/// Answer of a cheap `probe(buf)`: reads only the first bytes, allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The bytes look like this protocol.
    Match,
    /// The bytes are not this protocol.
    NoMatch,
    /// Too few bytes to tell (a stream may deliver more).
    NeedMore,
}

/// Bounds-checked big-endian reads used by every parser.
///
/// Each returns `Err(Truncated)` at the offset that would have been read, so
/// parsers can use `?` and never index out of bounds.
pub(crate) mod be {
    use super::{Error, Result};

    #[inline]
    pub fn u8_at(buf: &[u8], off: usize) -> Result<u8> {
        buf.get(off).copied().ok_or(Error::truncated(off))
    }
    #[inline]
    pub fn u16_at(buf: &[u8], off: usize) -> Result<u16> {
        match buf.get(off..off.wrapping_add(2)) {
            Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
            _ => Err(Error::truncated(off)),
        }
    }
    #[inline]
    pub fn u24_at(buf: &[u8], off: usize) -> Result<u32> {
        match buf.get(off..off.wrapping_add(3)) {
            Some(&[a, b, c]) => Ok(u32::from_be_bytes([0, a, b, c])),
            _ => Err(Error::truncated(off)),
        }
    }
    #[inline]
    pub fn u32_at(buf: &[u8], off: usize) -> Result<u32> {
        match buf.get(off..off.wrapping_add(4)) {
            Some(&[a, b, c, d]) => Ok(u32::from_be_bytes([a, b, c, d])),
            _ => Err(Error::truncated(off)),
        }
    }
    #[inline]
    pub fn u64_at(buf: &[u8], off: usize) -> Result<u64> {
        let hi = u32_at(buf, off)? as u64;
        let lo = u32_at(buf, off.wrapping_add(4))? as u64;
        Ok(hi << 32 | lo)
    }
    /// `buf[off..off + len]`, or `Truncated` at `off`.
    #[inline]
    pub fn slice(buf: &[u8], off: usize, len: usize) -> Result<&[u8]> {
        off.checked_add(len)
            .and_then(|end| buf.get(off..end))
            .ok_or(Error::truncated(off))
    }
}

/// The value of `token` in a table of names, compared case-insensitively
/// (SIP and SDP tokens are case-insensitive: RFC 3261 section 7.1, RFC 8866
/// section 5.14).
pub(crate) fn lookup_token<T: Copy>(table: &[(&str, T)], token: &str) -> Option<T> {
    table
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(token))
        .map(|&(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::be::*;
    use super::*;

    #[test]
    fn rejects_reads_past_the_end() {
        let b = [1u8, 2, 3];
        assert_eq!(u16_at(&b, 1), Ok(0x0203));
        assert_eq!(u16_at(&b, 2), Err(Error::truncated(2)));
        assert_eq!(u32_at(&b, 0), Err(Error::truncated(0)));
        assert_eq!(u8_at(&b, usize::MAX), Err(Error::truncated(usize::MAX)));
        assert_eq!(slice(&b, usize::MAX, 2), Err(Error::truncated(usize::MAX)));
        assert_eq!(slice(&b, 1, 2), Ok(&b[1..3]));
    }

    #[test]
    fn displays_kind_and_offset() {
        assert_eq!(Error::bad_length(7).to_string(), "bad-length at byte 7");
    }
}

//! Bounded in-order TCP byte streams, one per direction, for the parsers
//! that need whole messages across segments (SIP, STUN/TURN framing, a TLS
//! ClientHello).
//!
//! Segments are appended in sequence order; a retransmission's old bytes are
//! skipped; a gap (a segment lost or captured out of order) drops the
//! buffered bytes and the stream resynchronises on the next segment, counted.
//! The buffer never grows beyond its limit: bytes that do not fit are
//! dropped and counted.

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct StreamBuf {
    /// Sequence number expected next, once known.
    next_seq: Option<u32>,
    buf: Vec<u8>,
    /// Bytes dropped (gaps, overflow).
    pub dropped: u64,
    /// Gaps seen.
    pub gaps: u64,
}

/// What happened to a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// Appended (possibly partly, if it overlapped what was there).
    Appended,
    /// A pure retransmission: nothing new.
    Duplicate,
    /// The segment starts after a gap: the buffer was reset and holds this segment only.
    Resync,
    /// The buffer would exceed its limit: the buffered bytes and the segment were dropped.
    Overflow,
}

impl StreamBuf {
    /// Adds a segment that starts at sequence number `seq` (after SYN handling by the caller).
    pub fn push(&mut self, seq: u32, data: &[u8], limit: usize) -> Push {
        if data.is_empty() {
            return Push::Duplicate;
        }
        let mut data = data;
        let mut result = Push::Appended;
        if let Some(next) = self.next_seq {
            let delta = seq.wrapping_sub(next) as i32;
            if delta < 0 {
                // Starts before what we expect: skip the bytes we already have.
                let skip = delta.unsigned_abs() as usize;
                if skip >= data.len() {
                    return Push::Duplicate;
                }
                data = &data[skip..];
            } else if delta > 0 {
                self.gaps += 1;
                self.dropped += self.buf.len() as u64;
                self.buf.clear();
                result = Push::Resync;
            }
        }
        let appended_from = match (result, self.next_seq) {
            (Push::Appended, Some(next)) => next,
            _ => seq,
        };
        if self.buf.len() + data.len() > limit {
            // The message being assembled can no longer be whole: drop it all.
            self.dropped += (self.buf.len() + data.len()) as u64;
            self.buf.clear();
            self.next_seq = Some(appended_from.wrapping_add(data.len() as u32));
            return Push::Overflow;
        }
        self.buf.extend_from_slice(data);
        self.next_seq = Some(appended_from.wrapping_add(data.len() as u32));
        result
    }

    /// The bytes buffered, in order.
    pub fn data(&self) -> &[u8] {
        &self.buf
    }

    /// Removes the first `n` bytes (a message was consumed).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
    }

    /// Drops everything buffered (the parser gave up on the stream).
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Releases the memory.
    pub fn release(&mut self) {
        self.buf = Vec::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_in_order_and_skips_retransmissions() {
        let mut s = StreamBuf::default();
        assert_eq!(s.push(100, b"abc", 64), Push::Appended);
        assert_eq!(s.push(103, b"def", 64), Push::Appended);
        assert_eq!(s.push(100, b"abc", 64), Push::Duplicate);
        assert_eq!(s.push(104, b"efgh", 64), Push::Appended);
        assert_eq!(s.data(), b"abcdefgh");
        s.consume(3);
        assert_eq!(s.data(), b"defgh");
    }

    #[test]
    fn parses_sequence_wraparound() {
        let mut s = StreamBuf::default();
        s.push(u32::MAX - 1, b"ab", 64);
        assert_eq!(s.push(0, b"cd", 64), Push::Appended);
        assert_eq!(s.data(), b"abcd");
    }

    #[test]
    fn rejects_gaps_and_overflow_with_counts() {
        let mut s = StreamBuf::default();
        s.push(0, b"abc", 8);
        assert_eq!(s.push(10, b"xyz", 8), Push::Resync);
        assert_eq!((s.data(), s.gaps, s.dropped), (&b"xyz"[..], 1, 3));
        assert_eq!(s.push(13, b"123456", 8), Push::Overflow);
        assert_eq!(s.dropped, 12);
        assert_eq!(s.push(19, b"!", 8), Push::Appended);
        assert_eq!(s.data(), b"!");
    }
}

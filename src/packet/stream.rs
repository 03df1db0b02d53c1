//! Bounded in-order TCP byte streams, one per direction, for the parsers
//! that need whole messages across segments (SIP, STUN/TURN framing); TLS,
//! whose handshake the dissectors' assembler gathers, only has its sequence
//! numbers followed here ([`StreamBuf::advance`]).
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
    /// `advance`: sequence number of the segment held in `buf`.
    held_seq: Option<u32>,
}

/// What [`StreamBuf::advance`] did with a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advance<'a> {
    /// These bytes continue the stream.
    New(&'a [u8]),
    /// Nothing new (a retransmission).
    Duplicate,
    /// The segment starts after a gap; it is kept until the gap fills.
    Held,
    /// Another gap while a segment is held (or it does not fit): the stream
    /// cannot be followed.
    Gap,
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

    /// Follows the sequence numbers of a stream parsed as it arrives (TLS),
    /// without buffering it: returns the part of `data` not seen before.
    /// One segment that arrives after a gap (it overtook another) is kept,
    /// when it fits `limit`, until the bytes before it arrive: then
    /// [`take_held`](Self::take_held) gives its new part. A second gap ends
    /// the stream (`Gap`).
    pub fn advance<'a>(&mut self, seq: u32, data: &'a [u8], limit: usize) -> Advance<'a> {
        if data.is_empty() {
            return Advance::Duplicate;
        }
        let Some(next) = self.next_seq else {
            self.next_seq = Some(seq.wrapping_add(data.len() as u32));
            return Advance::New(data);
        };
        let delta = seq.wrapping_sub(next) as i32;
        if delta > 0 {
            if self.held_seq.is_some() || data.len() > limit {
                self.gaps += 1;
                return Advance::Gap;
            }
            self.buf.clear();
            self.buf.extend_from_slice(data);
            self.held_seq = Some(seq);
            return Advance::Held;
        }
        let skip = delta.unsigned_abs() as usize;
        match data.get(skip..) {
            Some(rest) if !rest.is_empty() => {
                self.next_seq = Some(next.wrapping_add(rest.len() as u32));
                Advance::New(rest)
            }
            _ => Advance::Duplicate,
        }
    }

    /// The held segment's bytes after the stream's end, once the stream
    /// reached it (moved out: hand the buffer back with [`restore`](Self::restore)).
    pub fn take_held(&mut self) -> Option<Vec<u8>> {
        let held = self.held_seq?;
        let next = self.next_seq?;
        let delta = held.wrapping_sub(next) as i32;
        if delta > 0 {
            return None;
        }
        self.held_seq = None;
        let skip = delta.unsigned_abs() as usize;
        if skip >= self.buf.len() {
            self.buf.clear();
            return None;
        }
        let mut bytes = std::mem::take(&mut self.buf);
        bytes.drain(..skip);
        self.next_seq = Some(next.wrapping_add(bytes.len() as u32));
        Some(bytes)
    }

    /// Gives back the buffer of [`take_held`](Self::take_held), emptied, to
    /// keep its allocation.
    pub fn restore(&mut self, mut bytes: Vec<u8>) {
        bytes.clear();
        self.buf = bytes;
    }

    /// Sequence number of the first byte buffered (of the next one when
    /// nothing is), once known.
    pub fn start_seq(&self) -> Option<u32> {
        self.next_seq.map(|n| n.wrapping_sub(self.buf.len() as u32))
    }

    /// Room left under `limit`.
    pub fn room(&self, limit: usize) -> usize {
        limit.saturating_sub(self.buf.len())
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
    fn parses_start_seq_and_room() {
        let mut s = StreamBuf::default();
        assert_eq!(s.start_seq(), None);
        s.push(100, b"abcd", 10);
        assert_eq!((s.start_seq(), s.room(10)), (Some(100), 6));
        s.consume(3);
        assert_eq!((s.start_seq(), s.room(10)), (Some(103), 9));
        s.consume(1);
        assert_eq!(s.start_seq(), Some(104));
    }

    #[test]
    fn parses_sequence_wraparound() {
        let mut s = StreamBuf::default();
        s.push(u32::MAX - 1, b"ab", 64);
        assert_eq!(s.push(0, b"cd", 64), Push::Appended);
        assert_eq!(s.data(), b"abcd");
    }

    #[test]
    fn parses_new_bytes_without_buffering() {
        let mut s = StreamBuf::default();
        assert_eq!(s.advance(100, b"abc", 64), Advance::New(b"abc"));
        assert_eq!(s.advance(100, b"abc", 64), Advance::Duplicate);
        assert_eq!(s.advance(101, b"bcde", 64), Advance::New(b"de"));
        assert_eq!(s.advance(105, b"f", 64), Advance::New(b"f"));
        assert_eq!(s.advance(106, b"", 64), Advance::Duplicate);
        assert_eq!(s.advance(u32::MAX, b"z", 64), Advance::Duplicate);
        assert_eq!(s.take_held(), None);
        assert!(s.data().is_empty());
    }

    #[test]
    fn parses_a_segment_that_overtook_another() {
        let mut s = StreamBuf::default();
        assert_eq!(s.advance(0, b"ab", 64), Advance::New(b"ab"));
        // "ef" arrives before "cd".
        assert_eq!(s.advance(4, b"efg", 64), Advance::Held);
        assert_eq!(s.take_held(), None);
        // "c" alone does not reach it yet; "cde" overlaps it by one byte.
        assert_eq!(s.advance(2, b"c", 64), Advance::New(b"c"));
        assert_eq!(s.take_held(), None);
        assert_eq!(s.advance(3, b"de", 64), Advance::New(b"de"));
        let held = s.take_held().unwrap();
        assert_eq!(held, b"fg");
        s.restore(held);
        assert_eq!(s.advance(7, b"h", 64), Advance::New(b"h"));
        assert_eq!(s.advance(7, b"h", 64), Advance::Duplicate);
    }

    #[test]
    fn rejects_a_second_gap_or_a_held_segment_too_large() {
        let mut s = StreamBuf::default();
        s.advance(0, b"ab", 64);
        assert_eq!(s.advance(10, b"x", 64), Advance::Held);
        assert_eq!(s.advance(20, b"y", 64), Advance::Gap);
        let mut s = StreamBuf::default();
        s.advance(0, b"ab", 4);
        assert_eq!(s.advance(10, b"xxxxx", 4), Advance::Gap);
        assert_eq!(s.gaps, 1);
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

//! A compact frame-sequence format, the input of the `analyzer` and
//! `sharded` fuzz targets and of the robustness tests that replay their
//! findings: the first byte picks the link type (low 3 bits: Ethernet, raw
//! IP, Linux SLL, SLL2, BSD loopback, OpenBSD loopback, PPP, Ethernet) and
//! the time step between frames in milliseconds (high 5 bits); then each
//! frame is a 2-byte big-endian length followed by that many bytes (a short
//! last frame takes what is left). `scripts/fuzz.sh` writes every fixture
//! capture in this form as a seed.

use crate::capture::FrameSink;
use crate::packet::LinkType;
use crate::time::Nanos;

const LINKS: [LinkType; 8] = [
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Null,
    LinkType::Loop,
    LinkType::Ppp,
    LinkType::Ethernet,
];

/// Time of the first frame.
pub const START: Nanos = Nanos::from_secs(1_600_000_000);

/// Feeds the frames of `data` to `an`; returns how many there were.
pub fn feed(an: &mut impl FrameSink, data: &[u8]) -> usize {
    let Some((&head, mut rest)) = data.split_first() else {
        return 0;
    };
    let link = LINKS[usize::from(head & 0x07)];
    let step = u64::from(head >> 3) * 1_000_000;
    let mut ts = START;
    let mut n = 0;
    while let [a, b, body @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        let (frame, next) = body.split_at(len.min(body.len()));
        let wire = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        an.frame(link, ts, frame, wire);
        ts = Nanos(ts.0.saturating_add(step));
        rest = next;
        n += 1;
    }
    n
}

/// [`feed`], with the frames lent from `block` as a file reader lends its
/// records: with worker threads, payloads are handed over by their place in
/// the block instead of copied.
pub fn feed_lent(an: &mut impl FrameSink, block: &crate::capture::pcapfile::Block) -> usize {
    an.lend(block);
    feed(an, block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Analyzer;
    use crate::engine::Config;

    #[test]
    fn reads_frames_and_a_short_last_one() {
        let mut an = Analyzer::new(Config::default());
        // Raw IP, 1 ms apart: two frames, the second cut short.
        let data = [0x09, 0, 2, 0x45, 0, 0, 9, 1, 2, 3];
        assert_eq!(feed(&mut an, &data), 2);
        assert_eq!(an.stats().packets, 2);
        assert_eq!(feed(&mut an, &[]), 0);
        assert_eq!(feed(&mut an, &[0x01, 7]), 0);
    }
}

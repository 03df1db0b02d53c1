//! Bounded time series of one RTP stream, for pictures of stream health:
//! packets, loss and jitter per time bucket. Buckets start at one second and
//! double in width whenever the series would exceed [`MAX_POINTS`], so a
//! stream of any length costs the same memory.

use serde::Serialize;

/// Points kept per stream at most.
pub const MAX_POINTS: usize = 240;

/// One bucket.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Point {
    /// Start of the bucket, seconds since the stream's first packet.
    pub t: f64,
    pub packets: u32,
    /// Packets lost in the bucket (expected minus received, never negative).
    pub lost: u32,
    /// Interarrival jitter at the end of the bucket, ms.
    pub jitter_ms: f64,
}

#[derive(Debug, Clone, Default)]
pub struct Series {
    width_s: f64,
    points: Vec<Point>,
    last_expected: u64,
    last_packets: u64,
}

impl Series {
    /// Records the stream's state after a packet at `t` seconds since its start.
    pub fn record(&mut self, t: f64, packets: u64, expected: u64, jitter_ms: Option<f64>) {
        let t = t.max(0.0);
        // Most packets fall in the newest bucket: no division for them.
        let idx = match self.points.last() {
            Some(last) if t >= last.t && t < last.t + self.width_s => self.points.len() - 1,
            _ => self.bucket_of(t),
        };
        let Some(p) = self.points.get_mut(idx) else {
            return;
        };
        let new_packets = packets.saturating_sub(self.last_packets);
        let new_expected = expected.saturating_sub(self.last_expected);
        p.packets = p.packets.saturating_add(new_packets as u32);
        p.lost = p
            .lost
            .saturating_add(new_expected.saturating_sub(new_packets) as u32);
        if let Some(j) = jitter_ms {
            // Rounded when the points are read.
            p.jitter_ms = j;
        }
        self.last_packets = packets;
        self.last_expected = expected.max(self.last_expected);
    }

    /// The bucket of `t`, made (and the series coarsened) as needed.
    fn bucket_of(&mut self, t: f64) -> usize {
        if self.width_s == 0.0 {
            self.width_s = 1.0;
        }
        let mut idx = (t / self.width_s) as usize;
        while idx >= MAX_POINTS {
            self.coarsen();
            idx = (t / self.width_s) as usize;
        }
        while self.points.len() <= idx {
            let start = self.points.len() as f64 * self.width_s;
            self.points.push(Point {
                t: start,
                ..Point::default()
            });
        }
        idx
    }

    /// Halves the resolution: merges bucket pairs.
    fn coarsen(&mut self) {
        let merged: Vec<Point> = self
            .points
            .chunks(2)
            .map(|c| Point {
                t: c.first().map_or(0.0, |p| p.t),
                packets: c.iter().map(|p| p.packets).sum(),
                lost: c.iter().map(|p| p.lost).sum(),
                jitter_ms: c.iter().map(|p| p.jitter_ms).fold(0.0, f64::max),
            })
            .collect();
        self.points = merged;
        self.width_s *= 2.0;
    }

    pub fn width_s(&self) -> f64 {
        self.width_s
    }

    /// The buckets, jitter rounded to the microsecond.
    pub fn points(&self) -> Vec<Point> {
        self.points
            .iter()
            .map(|p| Point {
                jitter_ms: (p.jitter_ms * 1000.0).round() / 1000.0,
                ..*p
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_buckets_and_loss() {
        let mut s = Series::default();
        s.record(0.1, 1, 1, Some(0.5));
        s.record(0.5, 2, 2, Some(0.6));
        s.record(1.2, 3, 5, Some(0.7)); // two lost
        assert_eq!(s.points().len(), 2);
        assert_eq!((s.points()[0].packets, s.points()[0].lost), (2, 0));
        assert_eq!((s.points()[1].packets, s.points()[1].lost), (1, 2));
    }

    #[test]
    fn parses_long_streams_within_bound() {
        let mut s = Series::default();
        for i in 0..10_000u64 {
            s.record(i as f64 * 0.1, i + 1, i + 1, None);
        }
        assert!(s.points().len() <= MAX_POINTS);
        assert_eq!(
            s.points().iter().map(|p| p.packets as u64).sum::<u64>(),
            10_000
        );
        assert!(s.width_s() >= 4.0);
    }
}

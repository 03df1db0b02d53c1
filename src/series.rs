//! Bounded time series of one RTP stream, for pictures of stream health:
//! packets, loss, jitter, late packets, video frames and freezes per time
//! bucket (and the MOS made of them, filled in when the report is made). Buckets start at one second and
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
    /// Packets the headline (fixed 50 ms) jitter buffer dropped as late;
    /// absent when 0 or the stream is not rated.
    #[serde(skip_serializing_if = "is_zero")]
    pub late: u32,
    /// Video frames completed and freezes (gaps judged freezes) that
    /// ended in the bucket; absent when 0 or the stream is not video.
    #[serde(skip_serializing_if = "is_zero")]
    pub frames: u32,
    #[serde(skip_serializing_if = "is_zero")]
    pub freezes: u32,
    /// The E-model MOS of the bucket (rated audio streams): its own
    /// effective loss, the stream's burst ratio and delay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mos: Option<f64>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// A stream's running totals after a packet, as [`Series::record`] takes them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    pub packets: u64,
    pub expected: u64,
    pub late: u64,
    pub frames: u32,
    pub freezes: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Series {
    width_s: f64,
    points: Vec<Point>,
    last: Totals,
}

impl Series {
    /// Records the stream's state after a packet at `t` seconds since its start.
    pub fn record(&mut self, t: f64, now: &Totals, jitter_ms: Option<f64>) {
        let t = t.max(0.0);
        // Most packets fall in the newest bucket: no division for them.
        let idx = match self.points.last() {
            Some(last) if t >= last.t && t < last.t + self.width_s => self.points.len() - 1,
            _ => self.bucket_of(t),
        };
        let Some(p) = self.points.get_mut(idx) else {
            return;
        };
        let last = &self.last;
        let new_packets = now.packets.saturating_sub(last.packets);
        let new_expected = now.expected.saturating_sub(last.expected);
        p.packets = p.packets.saturating_add(new_packets as u32);
        p.lost = p
            .lost
            .saturating_add(new_expected.saturating_sub(new_packets) as u32);
        p.late = p
            .late
            .saturating_add(now.late.saturating_sub(last.late) as u32);
        p.frames = p
            .frames
            .saturating_add(now.frames.saturating_sub(last.frames));
        p.freezes = p
            .freezes
            .saturating_add(now.freezes.saturating_sub(last.freezes));
        if let Some(j) = jitter_ms {
            // Rounded when the points are read.
            p.jitter_ms = j;
        }
        let expected = now.expected.max(last.expected);
        self.last = Totals { expected, ..*now };
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
                late: c.iter().map(|p| p.late).sum(),
                frames: c.iter().map(|p| p.frames).sum(),
                freezes: c.iter().map(|p| p.freezes).sum(),
                mos: None,
            })
            .collect();
        self.points = merged;
        self.width_s *= 2.0;
    }

    /// Gives back the room kept for points to come.
    pub fn shrink_to_fit(&mut self) {
        self.points.shrink_to_fit();
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
        let at = |packets, expected, late, frames, freezes| Totals {
            packets,
            expected,
            late,
            frames,
            freezes,
        };
        s.record(0.1, &at(1, 1, 0, 0, 0), Some(0.5));
        s.record(0.5, &at(2, 2, 1, 1, 0), Some(0.6));
        s.record(1.2, &at(3, 5, 1, 2, 1), Some(0.7)); // two lost
        assert_eq!(s.points().len(), 2);
        let p = s.points();
        assert_eq!(
            (p[0].packets, p[0].lost, p[0].late, p[0].frames),
            (2, 0, 1, 1)
        );
        assert_eq!(
            (p[1].packets, p[1].lost, p[1].late, p[1].frames),
            (1, 2, 0, 1)
        );
        assert_eq!((p[0].freezes, p[1].freezes), (0, 1));
    }

    #[test]
    fn parses_long_streams_within_bound() {
        let mut s = Series::default();
        for i in 0..10_000u64 {
            let now = Totals {
                packets: i + 1,
                expected: i + 1,
                frames: (i / 3) as u32,
                ..Totals::default()
            };
            s.record(i as f64 * 0.1, &now, None);
        }
        assert!(s.points().len() <= MAX_POINTS);
        assert_eq!(
            s.points().iter().map(|p| p.packets as u64).sum::<u64>(),
            10_000
        );
        assert_eq!(s.points().iter().map(|p| p.frames).sum::<u32>(), 3333);
        assert!(s.width_s() >= 4.0);
    }
}

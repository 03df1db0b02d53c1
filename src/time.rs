//! Packet time. All engine logic runs on capture timestamps, never on the
//! wall clock, so a file gives the same report however fast it is read.

use std::ops::{Add, Sub};

/// Nanoseconds since the Unix epoch (capture time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Nanos(pub u64);

impl Nanos {
    pub const ZERO: Nanos = Nanos(0);

    pub const fn from_secs(s: u64) -> Nanos {
        Nanos(s * 1_000_000_000)
    }
    pub const fn from_millis(ms: u64) -> Nanos {
        Nanos(ms * 1_000_000)
    }
    /// From a pcap timestamp: seconds and a sub-second part in `unit`s per second.
    pub fn from_timeval(sec: i64, frac: i64, units_per_sec: i64) -> Nanos {
        let sec = u64::try_from(sec).unwrap_or(0);
        let frac = u64::try_from(frac).unwrap_or(0);
        let scale = u64::try_from(1_000_000_000 / units_per_sec.max(1)).unwrap_or(1);
        Nanos(
            sec.saturating_mul(1_000_000_000)
                .saturating_add(frac.saturating_mul(scale)),
        )
    }
    /// Seconds as a float, for reports.
    pub fn as_secs_f64(self) -> f64 {
        (self.0 / 1_000_000_000) as f64 + (self.0 % 1_000_000_000) as f64 / 1e9
    }
    pub fn saturating_sub(self, other: Nanos) -> Nanos {
        Nanos(self.0.saturating_sub(other.0))
    }
}

impl Add for Nanos {
    type Output = Nanos;
    fn add(self, o: Nanos) -> Nanos {
        Nanos(self.0.saturating_add(o.0))
    }
}

impl Sub for Nanos {
    type Output = Nanos;
    fn sub(self, o: Nanos) -> Nanos {
        self.saturating_sub(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_micro_and_nano_timevals() {
        assert_eq!(Nanos::from_timeval(2, 5, 1_000_000), Nanos(2_000_005_000));
        assert_eq!(
            Nanos::from_timeval(2, 5, 1_000_000_000),
            Nanos(2_000_000_005)
        );
        assert_eq!(Nanos::from_timeval(-1, -1, 1_000_000), Nanos(0));
        assert!((Nanos(1_500_000_000).as_secs_f64() - 1.5).abs() < 1e-12);
    }
}

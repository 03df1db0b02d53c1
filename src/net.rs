//! The shared vocabulary of the engine: sockets, transports, flow keys and
//! directions. It imports nothing of this crate, so every layer may use it.

use std::hash::{Hash, Hasher};
use std::net::IpAddr;

/// Transport protocol of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        }
    }
}

/// One side of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// Canonical key: the lower endpoint first, so both directions meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    pub transport: Transport,
    pub lo: Endpoint,
    pub hi: Endpoint,
}

impl Hash for FlowKey {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // Cheaper than the derived hash of two IpAddr enums.
        fn put<H: Hasher>(h: &mut H, ep: &Endpoint) {
            match ep.ip {
                IpAddr::V4(a) => h.write_u32(u32::from(a)),
                IpAddr::V6(a) => h.write_u128(u128::from(a)),
            }
            h.write_u16(ep.port);
        }
        h.write_u8(self.transport as u8);
        put(h, &self.lo);
        put(h, &self.hi);
    }
}

impl FlowKey {
    /// The key of a packet from `src` to `dst`, and whether `src` is the lower side.
    #[inline]
    pub fn of(transport: Transport, src: Endpoint, dst: Endpoint) -> (FlowKey, bool) {
        if src <= dst {
            (
                FlowKey {
                    transport,
                    lo: src,
                    hi: dst,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    transport,
                    lo: dst,
                    hi: src,
                },
                false,
            )
        }
    }
}

/// Direction of a packet relative to the flow's first packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the flow's `src` (the side that sent the first packet).
    Forward = 0,
    /// Sent by the flow's `dst`.
    Reverse = 1,
}

impl Direction {
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
    #[inline]
    pub fn flip(self) -> Direction {
        match self {
            Direction::Forward => Direction::Reverse,
            Direction::Reverse => Direction::Forward,
        }
    }
}

/// An endpoint from text, for tests.
#[cfg(test)]
pub(crate) fn ep(ip: &str, port: u16) -> Endpoint {
    Endpoint {
        ip: ip.parse().unwrap(),
        port,
    }
}

//! The shared vocabulary of the engine: sockets, transports, flow keys and
//! directions. It imports nothing of this crate, so every layer may use it.

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
///
/// Packed into integers (an address as a 128-bit number, IPv4 in the low
/// 32 bits, and the family in `tag`), so that hashing, comparing and
/// ordering the two sides cost a few integer operations instead of those
/// of two `IpAddr` enums. The order is `Endpoint`'s (IPv4 before IPv6, then
/// the address, then the port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    lo: u128,
    hi: u128,
    /// The lower side's port in the high half, the other's in the low half.
    ports: u32,
    /// Bit 0: TCP; bits 1 and 2: the lower and the higher address are IPv6.
    tag: u8,
}

impl FlowKey {
    /// The key of a packet from `src` to `dst`, and whether `src` is the lower side.
    #[inline]
    pub fn of(transport: Transport, src: Endpoint, dst: Endpoint) -> (FlowKey, bool) {
        #[inline]
        fn word(ip: IpAddr) -> (bool, u128) {
            match ip {
                IpAddr::V4(a) => (false, u128::from(u32::from(a))),
                IpAddr::V6(a) => (true, u128::from(a)),
            }
        }
        let (s6, s) = word(src.ip);
        let (d6, d) = word(dst.ip);
        let src_lo = if s6 || d6 {
            (s6, s, src.port) <= (d6, d, dst.port)
        } else {
            // Both IPv4: address and port in one integer each.
            (s << 16 | u128::from(src.port)) as u64 <= (d << 16 | u128::from(dst.port)) as u64
        };
        let ((l6, lo, lp), (h6, hi, hp)) = if src_lo {
            ((s6, s, src.port), (d6, d, dst.port))
        } else {
            ((d6, d, dst.port), (s6, s, src.port))
        };
        let key = FlowKey {
            lo,
            hi,
            ports: u32::from(lp) << 16 | u32::from(hp),
            tag: (transport == Transport::Tcp) as u8 | (l6 as u8) << 1 | (h6 as u8) << 2,
        };
        (key, src_lo)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        let sa: std::net::SocketAddr = s.parse().unwrap();
        Endpoint {
            ip: sa.ip(),
            port: sa.port(),
        }
    }

    /// Both directions meet in one key; the lower side is the lower
    /// `Endpoint`; transports and families never share keys.
    #[test]
    fn keys_flows_both_ways_in_endpoint_order() {
        let pairs = [
            ("10.0.0.1:5060", "10.0.0.2:5060"),
            ("10.0.0.1:5061", "10.0.0.1:5060"),
            ("255.255.255.255:1", "0.0.0.0:65535"),
            ("[2001:db8::1]:443", "[2001:db8::]:50000"),
            ("[::ffff:10.0.0.1]:5060", "[::ffff:10.0.0.2]:5060"),
            ("192.0.2.7:9", "192.0.2.7:9"),
        ];
        for (a, b) in pairs {
            let (a, b) = (ep(a), ep(b));
            let (k1, a_lo) = FlowKey::of(Transport::Udp, a, b);
            let (k2, b_lo) = FlowKey::of(Transport::Udp, b, a);
            assert_eq!(k1, k2, "{a} {b}");
            assert_eq!(a_lo, a <= b, "{a} {b}");
            assert_eq!(b_lo, b <= a, "{a} {b}");
            assert_ne!(k1, FlowKey::of(Transport::Tcp, a, b).0);
        }
        let v4 = FlowKey::of(Transport::Udp, ep("10.0.0.1:1"), ep("10.0.0.2:2")).0;
        let mapped = FlowKey::of(Transport::Udp, ep("[::a00:1]:1"), ep("[::a00:2]:2")).0;
        assert_ne!(v4, mapped);
    }
}

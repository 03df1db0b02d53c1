//! Address scopes: which addresses are internal, and so leak when they travel
//! inside a payload towards the internet.
//!
//! Internal: RFC 1918 private IPv4, RFC 6598 CGNAT (100.64.0.0/10), RFC 4193
//! ULA (fc00::/7), link-local (169.254.0.0/16, fe80::/10), loopback
//! (127.0.0.0/8, ::1). IPv4-mapped IPv6 addresses take the scope of the IPv4
//! address. Multicast, broadcast and unspecified addresses are neither
//! internal nor a destination on the internet. Everything else, documentation
//! ranges included, counts as public (test captures use those ranges to stand
//! for the internet).

use std::net::IpAddr;

use ipnet::Ipv6Net;
use serde::Serialize;

/// The scope of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    Public,
    Private,
    Cgnat,
    Ula,
    LinkLocal,
    Loopback,
    /// Multicast, broadcast, unspecified: never a leak, never "the internet".
    Special,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Public => "public",
            Scope::Private => "private",
            Scope::Cgnat => "cgnat",
            Scope::Ula => "ula",
            Scope::LinkLocal => "link-local",
            Scope::Loopback => "loopback",
            Scope::Special => "special",
        }
    }

    /// True for the scopes whose addresses must not be told to the internet.
    pub fn is_internal(self) -> bool {
        !matches!(self, Scope::Public | Scope::Special)
    }
}

const ULA: Ipv6Net = match Ipv6Net::new(std::net::Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7) {
    Ok(n) => n,
    Err(_) => panic!("constant prefix"),
};
const LINK_LOCAL6: Ipv6Net =
    match Ipv6Net::new(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10) {
        Ok(n) => n,
        Err(_) => panic!("constant prefix"),
    };

/// The scope of `ip`.
#[inline]
pub fn scope_of(ip: IpAddr) -> Scope {
    match ip {
        IpAddr::V4(v4) => scope_of_v4(v4.octets()),
        IpAddr::V6(v6) => scope_of_v6(v6),
    }
}

fn scope_of_v6(v6: std::net::Ipv6Addr) -> Scope {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return scope_of_v4(v4.octets());
    }
    if ULA.contains(&v6) {
        Scope::Ula
    } else if LINK_LOCAL6.contains(&v6) {
        Scope::LinkLocal
    } else if v6.is_loopback() {
        Scope::Loopback
    } else if v6.is_multicast() || v6.is_unspecified() {
        Scope::Special
    } else {
        Scope::Public
    }
}

/// The scope of an IPv4 address, told from its first two octets (all four
/// for broadcast and unspecified): the same as `Ipv4Addr`'s `is_private`,
/// `is_link_local`, `is_loopback`, `is_multicast`, `is_broadcast`,
/// `is_unspecified` and the CGNAT prefix, at a fraction of their cost (the
/// report asks it several times a flow).
#[inline]
fn scope_of_v4(o: [u8; 4]) -> Scope {
    match o {
        [10, ..] => Scope::Private,
        [172, b, ..] if b & 0xf0 == 16 => Scope::Private,
        [192, 168, ..] => Scope::Private,
        [100, b, ..] if b & 0xc0 == 64 => Scope::Cgnat,
        [169, 254, ..] => Scope::LinkLocal,
        [127, ..] => Scope::Loopback,
        [224..=239, ..] | [255, 255, 255, 255] | [0, 0, 0, 0] => Scope::Special,
        _ => Scope::Public,
    }
}

/// The text of an address, as `Display` writes it. IPv4 is written digit by
/// digit: `Ipv4Addr`'s `Display` goes through the formatting machinery and
/// costs more than the rest of a flow's report entry.
pub fn ip_text(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let mut s = String::with_capacity(15);
            for (i, o) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                if o >= 100 {
                    s.push(char::from(b'0' + o / 100));
                }
                if o >= 10 {
                    s.push(char::from(b'0' + (o / 10) % 10));
                }
                s.push(char::from(b'0' + o % 10));
            }
            s
        }
        IpAddr::V6(v6) => v6.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipnet::Ipv4Net;
    use std::net::Ipv4Addr;

    const CGNAT: Ipv4Net = match Ipv4Net::new(Ipv4Addr::new(100, 64, 0, 0), 10) {
        Ok(n) => n,
        Err(_) => panic!("constant prefix"),
    };

    /// The scope as the standard library's predicates and the CGNAT
    /// prefix tell it.
    fn by_predicates(v4: Ipv4Addr) -> Scope {
        if v4.is_private() {
            Scope::Private
        } else if CGNAT.contains(&v4) {
            Scope::Cgnat
        } else if v4.is_link_local() {
            Scope::LinkLocal
        } else if v4.is_loopback() {
            Scope::Loopback
        } else if v4.is_multicast() || v4.is_broadcast() || v4.is_unspecified() {
            Scope::Special
        } else {
            Scope::Public
        }
    }

    #[test]
    fn ipv4_scope_by_octets_is_the_predicates_scope() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                for (c, d) in [(0, 0), (0, 1), (1, 0), (128, 7), (255, 254), (255, 255)] {
                    let ip = Ipv4Addr::new(a, b, c, d);
                    assert_eq!(scope_of(IpAddr::V4(ip)), by_predicates(ip), "{ip}");
                }
            }
        }
    }

    fn s(a: &str) -> Scope {
        scope_of(a.parse().unwrap())
    }

    #[test]
    fn parses_every_internal_scope() {
        assert_eq!(s("10.1.2.3"), Scope::Private);
        assert_eq!(s("172.16.0.1"), Scope::Private);
        assert_eq!(s("172.32.0.1"), Scope::Public);
        assert_eq!(s("192.168.1.2"), Scope::Private);
        assert_eq!(s("100.64.0.1"), Scope::Cgnat);
        assert_eq!(s("100.127.255.255"), Scope::Cgnat);
        assert_eq!(s("100.128.0.1"), Scope::Public);
        assert_eq!(s("169.254.10.1"), Scope::LinkLocal);
        assert_eq!(s("127.0.0.1"), Scope::Loopback);
        assert_eq!(s("fd00::1"), Scope::Ula);
        assert_eq!(s("fe80::1"), Scope::LinkLocal);
        assert_eq!(s("::1"), Scope::Loopback);
        assert_eq!(s("::ffff:10.0.0.1"), Scope::Private);
    }

    #[test]
    fn parses_documentation_ranges_as_public() {
        assert_eq!(s("192.0.2.1"), Scope::Public);
        assert_eq!(s("198.51.100.1"), Scope::Public);
        assert_eq!(s("203.0.113.9"), Scope::Public);
        assert_eq!(s("2001:db8::1"), Scope::Public);
        assert_eq!(s("224.0.0.251"), Scope::Special);
        assert_eq!(s("0.0.0.0"), Scope::Special);
        assert!(!Scope::Special.is_internal());
        assert!(Scope::Cgnat.is_internal());
    }

    #[test]
    fn ip_text_is_display() {
        for t in [
            "0.0.0.0",
            "9.10.99.100",
            "255.255.255.255",
            "192.168.1.2",
            "::1",
            "2001:db8::1",
        ] {
            let ip: IpAddr = t.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
        for a in 0..=255u8 {
            let ip = IpAddr::from([a, 255 - a, a / 3, 7]);
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }
}

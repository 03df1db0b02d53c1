//! The names the capture resolved: DNS answers, read by `dissect::dns`,
//! kept as address → the name that was asked for, so that a later flow to
//! that address carries the name (the idea of Zeek's DNS-to-connection
//! mapping and of nDPI's `fpc_dns` cache).
//!
//! An answer counts only for flows that start after it, in packet order.
//! Bounded: at most `max` addresses; when the table is full the address
//! learnt first is forgotten, and each forgotten address is counted
//! (`limits.dns_names_dropped`). A newer answer for an address replaces its
//! name. Record TTLs are not honoured: within one capture a client keeps
//! using an address it resolved long after the TTL ran out.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

use rustc_hash::FxHashMap;

/// Address → the name resolved to it.
#[derive(Debug, Default)]
pub struct NameTable {
    map: FxHashMap<IpAddr, Arc<str>>,
    /// Addresses in the order they were first learnt (the eviction order).
    order: VecDeque<IpAddr>,
    max: usize,
    /// Addresses forgotten because the table was full.
    pub dropped: u64,
}

impl NameTable {
    pub fn new(max: usize) -> Self {
        NameTable {
            max,
            ..NameTable::default()
        }
    }

    /// Remembers that `ip` was resolved from `name`.
    pub fn insert(&mut self, ip: IpAddr, name: &Arc<str>) {
        if let Some(n) = self.map.get_mut(&ip) {
            if **n != **name {
                *n = Arc::clone(name);
            }
            return;
        }
        if self.max == 0 {
            self.dropped += 1;
            return;
        }
        while self.map.len() >= self.max {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            self.map.remove(&old);
            self.dropped += 1;
        }
        self.map.insert(ip, Arc::clone(name));
        self.order.push_back(ip);
    }

    /// The name `ip` was resolved from, if the capture resolved it.
    #[inline]
    pub fn get(&self, ip: IpAddr) -> Option<&Arc<str>> {
        if self.map.is_empty() {
            return None;
        }
        self.map.get(&ip)
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_bounded_and_forgets_the_oldest_first() {
        let mut t = NameTable::new(2);
        let a: Arc<str> = "a.example".into();
        let b: Arc<str> = "b.example".into();
        let ip = |n: u8| IpAddr::from([192, 0, 2, n]);
        t.insert(ip(1), &a);
        t.insert(ip(2), &a);
        t.insert(ip(1), &b);
        assert_eq!(t.get(ip(1)).map(|n| &**n), Some("b.example"));
        assert_eq!(t.dropped, 0);
        t.insert(ip(3), &b);
        assert_eq!(t.get(ip(1)), None);
        assert_eq!(t.get(ip(2)).map(|n| &**n), Some("a.example"));
        assert_eq!(t.get(ip(3)).map(|n| &**n), Some("b.example"));
        assert_eq!(t.dropped, 1);
        let mut none = NameTable::new(0);
        none.insert(ip(1), &a);
        assert_eq!((none.get(ip(1)), none.dropped), (None, 1));
    }
}

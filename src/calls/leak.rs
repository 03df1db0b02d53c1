//! Internal-address leaks: a non-public address (RFC 1918, CGNAT, ULA,
//! link-local, loopback) inside the payload of a packet sent to a public
//! address. Deduplicated per (address, where, flow, exposed_to), counted.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::report::LeakOut;
use crate::scope::{scope_of, Scope};
use crate::time::Nanos;

/// Distinct leaks kept at most; beyond, new ones are only counted.
pub const MAX_LEAKS: usize = 65_536;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    address: IpAddr,
    where_: &'static str,
    flow_id: u32,
    exposed_to: IpAddr,
}

#[derive(Debug, Clone, Copy)]
struct Rec {
    scope: Scope,
    first_ts: Nanos,
    count: u64,
    /// Frame first seen in, then the order within the table.
    frame: u64,
    order: u32,
}

#[derive(Debug, Default)]
pub struct LeakTable {
    map: FxHashMap<Key, Rec>,
    /// Leaks not kept because the table was full.
    pub overflow: u64,
    /// Frame being analysed (set by the engine).
    pub frame: u64,
    /// Record nothing (a worker thread replaying a flow another one owns).
    pub muted: bool,
}

impl LeakTable {
    /// Records `address` found at `where_` in a packet of `flow_id` sent to
    /// `dst`, if the address is internal and `dst` is public. Returns true if
    /// it was a leak.
    pub fn check(
        &mut self,
        address: IpAddr,
        where_: &'static str,
        flow_id: u32,
        dst: IpAddr,
        ts: Nanos,
    ) -> bool {
        let scope = scope_of(address);
        if !scope.is_internal() || scope_of(dst) != Scope::Public {
            return false;
        }
        if self.muted {
            return true;
        }
        let key = Key {
            address,
            where_,
            flow_id,
            exposed_to: dst,
        };
        let n = self.map.len();
        if let Some(r) = self.map.get_mut(&key) {
            r.count += 1;
        } else if n < MAX_LEAKS {
            self.map.insert(
                key,
                Rec {
                    scope,
                    first_ts: ts,
                    count: 1,
                    frame: self.frame,
                    order: n as u32,
                },
            );
        } else {
            self.overflow += 1;
        }
        true
    }

    /// Every flow id a leak names.
    pub fn visit_flows(&self, mut visit: impl FnMut(u32)) {
        self.map.keys().for_each(|k| visit(k.flow_id));
    }

    /// Renumbers the flows leaks were seen on.
    pub fn remap_flows(&mut self, map: impl Fn(u32) -> u32) {
        self.map = std::mem::take(&mut self.map)
            .into_iter()
            .map(|(mut k, r)| {
                k.flow_id = map(k.flow_id);
                (k, r)
            })
            .collect();
    }

    /// Adds another worker thread's leaks. A leak belongs to one flow and a
    /// flow to one worker, so no key is in both tables, and records of one
    /// frame all come from the same table (their `order` compares).
    pub fn absorb(&mut self, other: LeakTable) {
        self.overflow += other.overflow;
        for (k, r) in other.map {
            if self.map.len() < MAX_LEAKS {
                self.map.insert(k, r);
            } else {
                self.overflow += 1;
            }
        }
    }

    /// Sorted by first time seen, then address.
    pub fn to_report(&self) -> Vec<LeakOut> {
        let mut v: Vec<(&Key, &Rec)> = self.map.iter().collect();
        v.sort_by_key(|a| (a.1.first_ts, a.1.frame, a.1.order));
        v.into_iter().map(|(k, r)| leak_out(k, r)).collect()
    }

    /// Streaming: takes out the leaks of the flows `done` says will see no
    /// more packets, in the order of [`LeakTable::to_report`], for their
    /// records to be written now and their memory freed.
    pub fn take_done(&mut self, mut done: impl FnMut(u32) -> bool) -> Vec<LeakOut> {
        if self.map.is_empty() {
            return Vec::new();
        }
        let mut v: Vec<(Key, Rec)> = Vec::new();
        self.map.retain(|k, r| {
            let d = done(k.flow_id);
            if d {
                v.push((*k, *r));
            }
            !d
        });
        v.sort_by_key(|a| (a.1.first_ts, a.1.frame, a.1.order));
        v.iter().map(|(k, r)| leak_out(k, r)).collect()
    }
}

fn leak_out(k: &Key, r: &Rec) -> LeakOut {
    LeakOut {
        address: k.address.to_string(),
        scope: r.scope.as_str(),
        where_: k.where_,
        flow_id: k.flow_id,
        call_id: None,
        exposed_to: k.exposed_to.to_string(),
        first_ts: r.first_ts.as_secs_f64(),
        count: r.count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_leak_only_towards_public_addresses() {
        let mut t = LeakTable::default();
        let t0 = Nanos::from_secs(1);
        assert!(t.check(
            ip("192.168.1.2"),
            "sdp-connection",
            1,
            ip("212.242.33.35"),
            t0
        ));
        assert!(t.check(
            ip("192.168.1.2"),
            "sdp-connection",
            1,
            ip("212.242.33.35"),
            t0
        ));
        assert!(!t.check(ip("192.168.1.2"), "sdp-connection", 1, ip("10.0.0.1"), t0));
        assert!(!t.check(ip("8.8.8.8"), "sdp-connection", 1, ip("212.242.33.35"), t0));
        assert!(t.check(ip("fe80::1"), "sdp-connection", 2, ip("2001:db8::1"), t0));
        let r = t.to_report();
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].count, r[0].scope, r[1].scope),
            (2, "private", "link-local")
        );
    }
}

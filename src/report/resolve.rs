//! `--resolve`: reverse DNS names of report endpoints.
//!
//! Runs after the analysis, never on the packet path: the distinct addresses
//! of the report are looked up in parallel by a few threads, each answer
//! cached once, and whatever has not answered within the time limit is left
//! without a name.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::report::Report;

/// Addresses looked up at most.
const MAX_LOOKUPS: usize = 4096;
/// Parallel lookups.
const WORKERS: usize = 16;
/// Time allowed for all lookups.
const TIME_LIMIT: Duration = Duration::from_secs(5);

/// Looks up names for `ips`; returns those that answered in time.
pub fn lookup_all(ips: &BTreeSet<IpAddr>) -> BTreeMap<IpAddr, String> {
    let todo: Vec<IpAddr> = ips.iter().copied().take(MAX_LOOKUPS).collect();
    let (tx, rx) = mpsc::channel::<(IpAddr, Option<String>)>();
    let chunks: Vec<Vec<IpAddr>> = (0..WORKERS)
        .map(|w| todo.iter().copied().skip(w).step_by(WORKERS).collect())
        .collect();
    for chunk in chunks.into_iter().filter(|c| !c.is_empty()) {
        let tx = tx.clone();
        // Detached: a lookup stuck in the resolver must not hold the report.
        std::thread::spawn(move || {
            for ip in chunk {
                let name = dns_lookup::lookup_addr(&ip)
                    .ok()
                    .filter(|n| *n != ip.to_string());
                if tx.send((ip, name)).is_err() {
                    return;
                }
            }
        });
    }
    drop(tx);
    let deadline = Instant::now() + TIME_LIMIT;
    let mut names = BTreeMap::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok((ip, Some(n))) => {
                names.insert(ip, n);
            }
            Ok((_, None)) => {}
            Err(_) => break,
        }
    }
    names
}

/// Fills the `rdns` fields of flows and call endpoints.
pub fn annotate(report: &mut Report) {
    let mut ips = BTreeSet::new();
    for f in &report.flows {
        ips.extend(f.src.ip.parse::<IpAddr>().ok());
        ips.extend(f.dst.ip.parse::<IpAddr>().ok());
    }
    for c in &report.calls {
        ips.extend(
            c.endpoints
                .iter()
                .filter_map(|e| e.ip.parse::<IpAddr>().ok()),
        );
    }
    let names = lookup_all(&ips);
    let name = |s: &str| {
        s.parse::<IpAddr>()
            .ok()
            .and_then(|ip| names.get(&ip).cloned())
    };
    for f in &mut report.flows {
        f.rdns = Some([name(&f.src.ip), name(&f.dst.ip)]);
    }
    for c in &mut report.calls {
        for e in &mut c.endpoints {
            e.rdns = name(&e.ip);
        }
    }
}

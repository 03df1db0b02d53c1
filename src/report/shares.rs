//! The reports of analysers that split one sensor's traffic by client
//! (`--threads` with streamed NDJSON): each holds what its share left for
//! the end, and they join into the one report whose tail ends the stream.
//!
//! Flows and inferred calls of different shares never share an id
//! ([`crate::flow::Numbering`]), a SIP call is one share's (its client's),
//! so lists join as they are. What several shares can each have seen is
//! added up: a relay (by transport, address, port and kind), warnings (by
//! kind), flows only counted (by transport and server port), the SIP
//! message counts, firewall openings and the limits' counts.

use std::collections::BTreeMap;

use super::types::{FirewallOut, OtherFlowsOut, OtherPortOut, RelayOut, Report, WarningOut};

/// `other_flows.by_port` keeps this many (transport, port) pairs.
const OTHER_PORTS: usize = 20;

impl Report {
    /// Joins `other`, another share's report of the same traffic, into
    /// this one (the reading thread's, whose `source` counts every frame).
    pub fn absorb_share(&mut self, other: Report) {
        self.flows.extend(other.flows);
        self.flows.sort_by_key(|f| f.id);
        self.calls.extend(other.calls);
        self.leaks.extend(other.leaks);
        self.leaks.sort_by(|a, b| a.first_ts.total_cmp(&b.first_ts));
        self.call_quality.extend(other.call_quality);
        self.flows_streamed += other.flows_streamed;
        self.calls_streamed += other.calls_streamed;
        self.leaks_streamed += other.leaks_streamed;
        join_relays(&mut self.relays, other.relays);
        join_warnings(&mut self.warnings, other.warnings);
        self.other_flows = match (self.other_flows.take(), other.other_flows) {
            (Some(a), Some(b)) => Some(join_other(a, b)),
            (a, b) => a.or(b),
        };
        for (m, n) in other.sip.requests {
            *self.sip.requests.entry(m).or_default() += n;
        }
        for (c, n) in other.sip.responses {
            *self.sip.responses.entry(c).or_default() += n;
        }
        join_firewall(&mut self.firewall, other.firewall);
        let (l, o) = (&mut self.limits, other.limits);
        // Each share had its part of the live-flow limit; the others are
        // each share's own.
        l.max_flows = l.max_flows.saturating_add(o.max_flows);
        // The shares' peaks need not fall at the same time: their sum is an
        // upper bound of the sensor's.
        l.peak_live_flows = l.peak_live_flows.saturating_add(o.peak_live_flows);
        l.flows_expired += o.flows_expired;
        l.flows_evicted += o.flows_evicted;
        l.fragment_datagrams_dropped += o.fragment_datagrams_dropped;
        l.stream_bytes_dropped += o.stream_bytes_dropped;
        l.calls_dropped += o.calls_dropped;
        l.dns_names_dropped += o.dns_names_dropped;
    }
}

/// Joins `theirs`, another share's relays, into `mine`: one record per
/// relay (transport, address and port; TURN if either share saw TURN
/// there), their lists united and counts added.
pub fn join_relays(mine: &mut Vec<RelayOut>, theirs: Vec<RelayOut>) {
    fn union(a: &mut Vec<String>, b: Vec<String>) {
        a.extend(b);
        a.sort();
        a.dedup();
    }
    for r in theirs {
        let same = mine
            .iter_mut()
            .find(|m| m.transport == r.transport && m.ip == r.ip && m.port == r.port);
        let Some(m) = same else {
            mine.push(r);
            continue;
        };
        if m.operator.is_none() {
            m.operator = r.operator;
        }
        if r.kind == "turn" {
            m.kind = "turn";
        }
        union(&mut m.clients, r.clients);
        union(&mut m.relayed_addresses, r.relayed_addresses);
        union(&mut m.peers, r.peers);
        union(&mut m.evidence, r.evidence);
        m.flow_ids.extend(r.flow_ids);
        m.flow_ids.sort_unstable();
        m.flow_ids.dedup();
        m.channel_data_packets += r.channel_data_packets;
        m.relayed_packets += r.relayed_packets;
        m.used = match (m.used, r.used) {
            (Some(a), Some(b)) => Some(a || b),
            (a, b) => a.or(b),
        };
    }
}

fn join_warnings(mine: &mut Vec<WarningOut>, theirs: Vec<WarningOut>) {
    for w in theirs {
        match mine.iter_mut().find(|m| m.kind == w.kind) {
            Some(m) => m.count += w.count,
            None => mine.push(w),
        }
    }
    mine.sort_by(|a, b| a.kind.cmp(&b.kind));
}

fn join_other(mut a: OtherFlowsOut, b: OtherFlowsOut) -> OtherFlowsOut {
    a.flows += b.flows;
    a.packets += b.packets;
    a.bytes += b.bytes;
    let mut ports: BTreeMap<(&'static str, u16), OtherPortOut> = BTreeMap::new();
    for p in a.by_port.drain(..).chain(b.by_port) {
        match ports.get_mut(&(p.transport, p.port)) {
            Some(q) => {
                q.flows += p.flows;
                q.packets += p.packets;
                q.bytes += p.bytes;
            }
            None => {
                ports.insert((p.transport, p.port), p);
            }
        }
    }
    let mut by_port: Vec<_> = ports.into_values().collect();
    by_port.sort_by(|x, y| y.flows.cmp(&x.flows).then(x.port.cmp(&y.port)));
    by_port.truncate(OTHER_PORTS);
    let listed: u64 = by_port.iter().map(|p| p.flows).sum();
    a.by_port = by_port;
    a.flows_not_listed = a.flows.saturating_sub(listed);
    a
}

fn join_firewall(mine: &mut Vec<FirewallOut>, theirs: Vec<FirewallOut>) {
    for f in theirs {
        let same = mine
            .iter_mut()
            .find(|m| m.app == f.app && m.transport == f.transport && m.port == f.port);
        let Some(m) = same else {
            mine.push(f);
            continue;
        };
        for (a, b) in [
            (&mut m.destinations, f.destinations),
            (&mut m.operators, f.operators),
        ] {
            a.extend(b);
            a.sort();
            a.dedup();
        }
        m.flows += f.flows;
        m.bytes += f.bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn relay(clients: &[&str], flows: &[u32], used: Option<bool>) -> RelayOut {
        RelayOut {
            ip: "192.0.2.1".into(),
            port: 3478,
            transport: "udp",
            kind: "turn",
            operator: None,
            place: Default::default(),
            clients: clients.iter().map(|c| c.to_string()).collect(),
            relayed_addresses: Vec::new(),
            channel_data_packets: 2,
            peers: Vec::new(),
            flow_ids: flows.to_vec(),
            evidence: Vec::new(),
            used,
            relayed_packets: 5,
        }
    }

    #[test]
    fn a_relay_two_shares_saw_is_one_record() {
        let mut a = vec![relay(&["10.0.0.1:5000"], &[1, 3], Some(false))];
        let mut other = relay(&["10.0.0.2:5000"], &[2], Some(true));
        other.port = 3479;
        let mut stun = relay(&[], &[7], None);
        stun.kind = "stun";
        a[0].kind = "stun";
        join_relays(
            &mut a,
            vec![
                relay(&["10.0.0.2:5000", "10.0.0.1:5000"], &[2], Some(true)),
                other,
                stun,
            ],
        );
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].kind, "turn");
        assert_eq!(a[0].clients, ["10.0.0.1:5000", "10.0.0.2:5000"]);
        assert_eq!(a[0].flow_ids, [1, 2, 3, 7]);
        assert_eq!(a[0].used, Some(true));
        assert_eq!((a[0].channel_data_packets, a[0].relayed_packets), (6, 15));
    }

    #[test]
    fn flows_only_counted_add_up_and_keep_the_busiest_ports() {
        let port = |port, flows| OtherPortOut {
            transport: "udp",
            port,
            flows,
            packets: flows,
            bytes: flows * 100,
        };
        let side = |ports: Vec<OtherPortOut>, unlisted: u64| {
            let flows = ports.iter().map(|p| p.flows).sum::<u64>() + unlisted;
            OtherFlowsOut {
                flows,
                packets: flows,
                bytes: flows * 100,
                by_port: ports,
                flows_not_listed: unlisted,
            }
        };
        let a = side((1..=20).map(|p| port(p, 10)).collect(), 7);
        let b = side(vec![port(53, 15), port(1, 1)], 0);
        let j = join_other(a, b);
        assert_eq!(j.flows, 200 + 7 + 16);
        assert_eq!(j.by_port.len(), OTHER_PORTS);
        assert_eq!((j.by_port[0].port, j.by_port[0].flows), (53, 15));
        assert_eq!((j.by_port[1].port, j.by_port[1].flows), (1, 11));
        let listed: u64 = j.by_port.iter().map(|p| p.flows).sum();
        assert_eq!(j.flows_not_listed, j.flows - listed);
    }

    #[test]
    fn warnings_add_up_by_kind() {
        let w = |kind: &str, count| WarningOut {
            kind: kind.into(),
            count,
            example: kind.to_uppercase(),
        };
        let mut a = vec![w("b", 2)];
        join_warnings(&mut a, vec![w("c", 1), w("b", 3), w("a", 1)]);
        let got: Vec<(&str, u64)> = a.iter().map(|w| (w.kind.as_str(), w.count)).collect();
        assert_eq!(got, [("a", 1), ("b", 5), ("c", 1)]);
        assert_eq!(a[1].example, "B");
    }
}

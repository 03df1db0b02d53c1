//! Relays and servers the traffic uses: STUN servers, TURN servers (with
//! their clients, relayed addresses, peers and ChannelData volume), SFUs
//! and media relays. Bounded: at most [`MAX_RELAYS`] servers and
//! [`MAX_SET`] entries per list.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

use crate::net::Endpoint;
use crate::net::Transport;
use crate::report::{FlowOut, RelayOut};

pub const MAX_RELAYS: usize = 16_384;
pub const MAX_SET: usize = 256;

/// What a server does, weakest first (a STUN server seen doing TURN is a TURN server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RelayKind {
    Stun,
    Turn,
}

impl RelayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RelayKind::Stun => "stun",
            RelayKind::Turn => "turn",
        }
    }
}

#[derive(Debug)]
pub struct Relay {
    pub kind: RelayKind,
    pub operator: Option<&'static str>,
    pub clients: BTreeSet<IpAddr>,
    pub relayed: BTreeSet<SocketAddr>,
    pub peers: BTreeSet<SocketAddr>,
    pub channel_data_packets: u64,
    pub flow_ids: BTreeSet<u32>,
    /// Frame first seen in, then the order within the table.
    frame: u64,
    order: usize,
    /// Frame of the latest [`RelayTable::server`] call for this record, and
    /// the one `operator` was named in: worker threads name it on their own
    /// flows, and the join keeps the one named first, as one thread would.
    now: u64,
    operator_frame: u64,
}

fn bounded_insert<T: Ord>(set: &mut BTreeSet<T>, v: T) {
    if set.len() < MAX_SET {
        set.insert(v);
    }
}

impl Relay {
    pub fn add_client(&mut self, ip: IpAddr) {
        bounded_insert(&mut self.clients, ip);
    }
    pub fn add_relayed(&mut self, a: SocketAddr) {
        bounded_insert(&mut self.relayed, a);
    }
    pub fn add_peer(&mut self, a: SocketAddr) {
        bounded_insert(&mut self.peers, a);
    }
    pub fn add_flow(&mut self, id: u32) {
        bounded_insert(&mut self.flow_ids, id);
    }
    /// Names the operator unless one is known already: the first seen wins.
    pub fn name_operator(&mut self, operator: Option<&'static str>) {
        if self.operator.is_none() && operator.is_some() {
            self.operator = operator;
            self.operator_frame = self.now;
        }
    }
}

#[derive(Debug, Default)]
pub struct RelayTable {
    map: FxHashMap<(Endpoint, Transport), Relay>,
    /// (server, transport, flow): STUN "servers" that turned out to be a
    /// peer on that flow ([`RelayTable::forget_stun_flow`]).
    forgotten: rustc_hash::FxHashSet<(Endpoint, Transport, u32)>,
    pub overflow: u64,
    /// Frame being analysed (set by the engine).
    pub frame: u64,
    /// Record nothing (a worker thread replaying a flow another one owns).
    pub muted: bool,
}

impl RelayTable {
    #[cfg(test)]
    pub fn get(&self, server: Endpoint, transport: Transport) -> Option<&Relay> {
        self.map.get(&(server, transport))
    }

    /// The record of the server at `server`, created (as `kind`) if new and
    /// upgraded to `kind` if that is stronger. `None` when the table is full.
    pub fn server(
        &mut self,
        server: Endpoint,
        transport: Transport,
        kind: RelayKind,
    ) -> Option<&mut Relay> {
        if self.muted {
            return None;
        }
        let n = self.map.len();
        // One lookup: a known server's packets (ChannelData) come often.
        let r = match self.map.entry((server, transport)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                if n >= MAX_RELAYS {
                    self.overflow += 1;
                    return None;
                }
                e.insert(Relay {
                    kind,
                    operator: None,
                    clients: BTreeSet::new(),
                    relayed: BTreeSet::new(),
                    peers: BTreeSet::new(),
                    channel_data_packets: 0,
                    flow_ids: BTreeSet::new(),
                    frame: self.frame,
                    order: n,
                    now: self.frame,
                    operator_frame: u64::MAX,
                })
            }
        };
        r.now = self.frame;
        if kind > r.kind {
            r.kind = kind;
        }
        Some(r)
    }

    /// Notes that flow `flow_id` between `a` and `b` carries checks both
    /// ways: neither end is a STUN server on it. A STUN entry all of whose
    /// flows are such peer flows is left out of the report. (Kept as a set
    /// rather than removing entries so that the outcome does not depend on
    /// the order flows are seen in, which worker threads do not share.)
    pub fn forget_stun_flow(
        &mut self,
        a: Endpoint,
        b: Endpoint,
        transport: Transport,
        flow_id: u32,
    ) {
        if self.muted {
            return;
        }
        for ep in [a, b] {
            if self.map.contains_key(&(ep, transport)) && self.forgotten.len() < MAX_RELAYS * 4 {
                self.forgotten.insert((ep, transport, flow_id));
            }
        }
    }

    /// A STUN entry whose every flow is a peer-to-peer flow.
    fn is_forgotten(&self, key: &(Endpoint, Transport), r: &Relay) -> bool {
        r.kind == RelayKind::Stun
            && !r.flow_ids.is_empty()
            && r.flow_ids
                .iter()
                .all(|&f| self.forgotten.contains(&(key.0, key.1, f)))
    }

    /// Every flow id the table names.
    pub fn visit_flows(&self, mut visit: impl FnMut(u32)) {
        for r in self.map.values() {
            r.flow_ids.iter().for_each(|&f| visit(f));
        }
        self.forgotten.iter().for_each(|&(_, _, f)| visit(f));
    }

    /// Renumbers the flows named in the table.
    pub fn remap_flows(&mut self, map: impl Fn(u32) -> u32) {
        for r in self.map.values_mut() {
            r.flow_ids = r.flow_ids.iter().map(|&f| map(f)).collect();
        }
        self.forgotten = std::mem::take(&mut self.forgotten)
            .into_iter()
            .map(|(e, t, f)| (e, t, map(f)))
            .collect();
    }

    /// Adds another worker thread's table: the same server's records are
    /// united (strongest kind, all clients, flows and addresses, summed
    /// ChannelData packets, first seen where either saw it first).
    pub fn absorb(&mut self, other: RelayTable) {
        self.overflow += other.overflow;
        self.forgotten.extend(other.forgotten);
        for (key, r) in other.map {
            let n = self.map.len();
            match self.map.get_mut(&key) {
                Some(mine) => {
                    mine.kind = mine.kind.max(r.kind);
                    if (r.frame, r.order) < (mine.frame, mine.order) {
                        mine.frame = r.frame;
                        mine.order = r.order;
                    }
                    // A flow (and so the packet that named an operator)
                    // belongs to one table: no two name it in one frame.
                    if r.operator.is_some()
                        && (mine.operator.is_none() || r.operator_frame < mine.operator_frame)
                    {
                        mine.operator = r.operator;
                        mine.operator_frame = r.operator_frame;
                    }
                    for c in r.clients {
                        mine.add_client(c);
                    }
                    for a in r.relayed {
                        mine.add_relayed(a);
                    }
                    for a in r.peers {
                        mine.add_peer(a);
                    }
                    for f in r.flow_ids {
                        mine.add_flow(f);
                    }
                    mine.channel_data_packets += r.channel_data_packets;
                }
                None if n < MAX_RELAYS => {
                    self.map.insert(key, r);
                }
                None => self.overflow += 1,
            }
        }
    }

    /// In the order first seen.
    /// The relays' addresses and transports.
    pub fn endpoints(&self) -> impl Iterator<Item = (Endpoint, Transport)> + '_ {
        self.map.keys().copied()
    }

    pub fn to_report(&self) -> Vec<RelayOut> {
        let mut v: Vec<(&(Endpoint, Transport), &Relay)> = self
            .map
            .iter()
            .filter(|(k, r)| !self.is_forgotten(k, r))
            .collect();
        v.sort_by_key(|(_, r)| (r.frame, r.order));
        v.into_iter()
            .map(|((ep, t), r)| RelayOut {
                place: Default::default(),
                ip: crate::scope::ip_text(ep.ip),
                port: ep.port,
                transport: t.as_str(),
                kind: r.kind.as_str(),
                operator: r
                    .operator
                    .or_else(|| crate::apps::operator_of_ip(ep.ip).map(|o| o.name))
                    .map(str::to_string),
                clients: r.clients.iter().map(|c| c.to_string()).collect(),
                relayed_addresses: r.relayed.iter().map(|a| a.to_string()).collect(),
                channel_data_packets: r.channel_data_packets,
                peers: r.peers.iter().map(|a| a.to_string()).collect(),
                flow_ids: r.flow_ids.iter().copied().collect(),
                evidence: Vec::new(),
                used: None,
                relayed_packets: 0,
            })
            .collect()
    }
}

/// Fills each relay's `relayed_packets` and `used` from the flows: its
/// ChannelData packets, plus the packets other than STUN of the flows that
/// carry media (RTP, SRTP, RTCP, ZRTP, ChannelData, DTLS-SRTP) to or from
/// the relay's address, whether or not they carried STUN too. A TURN
/// allocation whose flows carry only STUN relayed nothing: the media, if
/// any, went another way.
pub fn mark_use(relays: &mut [RelayOut], flows: &[FlowOut], earlier: &RelayUse) {
    let mut at: FxHashMap<(&str, u16, &str), usize> = FxHashMap::default();
    for (i, r) in relays.iter().enumerate() {
        at.entry((r.ip.as_str(), r.port, r.transport)).or_insert(i);
    }
    let mut on_flows = vec![0u64; relays.len()];
    let mut channel_data_flows = vec![false; relays.len()];
    for f in flows {
        let Some((packets, channel_data)) = media_packets(f) else {
            continue;
        };
        let src = at.get(&(f.src.ip.as_str(), f.src.port, f.transport));
        let dst = at.get(&(f.dst.ip.as_str(), f.dst.port, f.transport));
        for &i in src.into_iter().chain(dst.filter(|d| Some(*d) != src)) {
            on_flows[i] += packets;
            channel_data_flows[i] |= channel_data;
        }
    }
    if !earlier.0.is_empty() {
        for (i, r) in relays.iter().enumerate() {
            let Ok(ip) = r.ip.parse() else { continue };
            let transport = match r.transport {
                "tcp" => Transport::Tcp,
                "udp" => Transport::Udp,
                _ => continue,
            };
            if let Some(&(packets, channel_data)) =
                earlier.0.get(&(Endpoint { ip, port: r.port }, transport))
            {
                on_flows[i] += packets;
                channel_data_flows[i] |= channel_data;
            }
        }
    }
    for (i, r) in relays.iter_mut().enumerate() {
        // ChannelData is counted on its flows already when they are known.
        r.relayed_packets = if channel_data_flows[i] {
            on_flows[i].max(r.channel_data_packets)
        } else {
            on_flows[i] + r.channel_data_packets
        };
        // Over TLS or DTLS the relayed data is encrypted with the rest.
        r.used = match r.transport {
            "tls" | "dtls" => None,
            _ => Some(r.relayed_packets > 0),
        };
    }
}

/// A flow's media packets (not STUN) and whether it carried ChannelData,
/// `None` when it carried no media.
fn media_packets(f: &FlowOut) -> Option<(u64, bool)> {
    let p = |x: &str| f.protocols.contains(&x);
    let media = ["rtp", "srtp", "rtcp", "srtcp", "zrtp", "turn-channeldata"]
        .iter()
        .any(|x| p(x))
        || f.encryption == "dtls-srtp";
    media.then(|| {
        let stun = f.stun.as_ref().map_or(0, |s| s.messages);
        (f.packets.saturating_sub(stun), p("turn-channeldata"))
    })
}

/// Streaming: TURN servers over TLS or DTLS found in flows let go before
/// the end, for the relays of the end (`turn_over_tls` in src/assemble).
#[derive(Debug, Default)]
pub struct TlsRelays(pub Vec<RelayOut>);

/// Streaming: the media of flows let go before the end, per relay they
/// ran through, for [`mark_use`] at the end (whose flows no longer hold
/// them). Only relays in the table are counted, so it is bounded by it.
#[derive(Debug, Default)]
pub struct RelayUse(FxHashMap<(Endpoint, Transport), (u64, bool)>);

impl RelayUse {
    /// Counts flow `f` (between `src` and `dst` over `transport`), let go
    /// now, on the relays of `table` at either end.
    pub fn add(
        &mut self,
        table: &RelayTable,
        transport: Transport,
        src: Endpoint,
        dst: Endpoint,
        f: &FlowOut,
    ) {
        if table.map.is_empty() {
            return;
        }
        let Some((packets, channel_data)) = media_packets(f) else {
            return;
        };
        for ep in [src, dst] {
            if table.map.contains_key(&(ep, transport)) {
                let e = self.0.entry((ep, transport)).or_default();
                e.0 += packets;
                e.1 |= channel_data;
            }
            if src == dst {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::ep;

    /// Two worker threads' tables for one TURN server: the first created
    /// the record earlier but named its operator later than the second.
    /// One thread would have kept the operator named first.
    #[test]
    fn absorb_keeps_the_operator_named_first() {
        let server = ep("198.51.100.1", 3478);
        let mut a = RelayTable {
            frame: 10,
            ..Default::default()
        };
        a.server(server, Transport::Udp, RelayKind::Stun);
        a.frame = 50;
        if let Some(r) = a.server(server, Transport::Udp, RelayKind::Turn) {
            r.name_operator(Some("Signal"));
        }
        let mut b = RelayTable {
            frame: 20,
            ..Default::default()
        };
        if let Some(r) = b.server(server, Transport::Udp, RelayKind::Turn) {
            r.name_operator(Some("Zoom"));
            // Named already: a later vendor does not rename it.
            r.name_operator(Some("Meta"));
        }
        let mut joined = RelayTable::default();
        joined.absorb(a);
        joined.absorb(b);
        let r = joined.get(server, Transport::Udp).expect("the server");
        assert_eq!(r.operator, Some("Zoom"));
        assert_eq!(r.kind, RelayKind::Turn);
        // Created first by the first table.
        assert_eq!(r.frame, 10);
    }

    fn relay_out(ip: &str, port: u16) -> RelayOut {
        RelayOut {
            ip: ip.into(),
            port,
            transport: "udp",
            kind: "turn",
            operator: None,
            clients: vec!["192.168.1.6".into()],
            relayed_addresses: Vec::new(),
            channel_data_packets: 0,
            peers: Vec::new(),
            flow_ids: vec![1],
            evidence: Vec::new(),
            place: Default::default(),
            used: None,
            relayed_packets: 0,
        }
    }

    fn flow_out(id: u32, dst: (&str, u16), protocols: Vec<&'static str>) -> FlowOut {
        use crate::report::{EndpointOut, StunOut};
        FlowOut {
            dns_name: None,
            place: Default::default(),
            id,
            transport: "udp",
            src: EndpointOut {
                ip: "192.168.1.6".into(),
                port: 50000,
            },
            dst: EndpointOut {
                ip: dst.0.into(),
                port: dst.1,
            },
            first_ts: 0.0,
            last_ts: 1.0,
            packets: 40,
            bytes: 4000,
            encryption: if protocols.contains(&"srtp") {
                "srtp"
            } else {
                "none"
            },
            protocols,
            sni: None,
            app: None,
            call_id: None,
            rtp_streams: Vec::new(),
            packets_fwd: 20,
            packets_rev: 20,
            bytes_fwd: 2000,
            bytes_rev: 2000,
            ended: "idle",
            encryption_evidence: Vec::new(),
            findings: Vec::new(),
            operator: None,
            tls_version: None,
            alpn: None,
            tls_certificate_names: Vec::new(),
            stun: Some(StunOut {
                messages: 4,
                classic: 0,
                ice_checks: 0,
                nominated: false,
                authenticated: 0,
                unauthenticated: 0,
                mapped_addresses: Vec::new(),
                relayed_addresses: Vec::new(),
                channels: Vec::new(),
                software: None,
                vendor: None,
            }),
            rdns: None,
            app_evidence: None,
        }
    }

    /// A TURN allocation whose flow carries only STUN is unused; media sent
    /// to a relay's own address (as WhatsApp does) is relayed, STUN aside.
    #[test]
    fn relays_are_used_only_when_media_went_through_them() {
        let mut relays = vec![
            relay_out("52.114.250.123", 3478),
            relay_out("157.240.203.62", 3478),
        ];
        let flows = vec![
            flow_out(1, ("52.114.250.123", 3478), vec!["stun", "turn"]),
            flow_out(2, ("157.240.203.62", 3478), vec!["srtp", "stun"]),
        ];
        mark_use(&mut relays, &flows, &RelayUse::default());
        assert_eq!(
            (relays[0].used, relays[0].relayed_packets),
            (Some(false), 0)
        );
        assert_eq!(
            (relays[1].used, relays[1].relayed_packets),
            (Some(true), 36)
        );
    }
}

//! Relays and servers the traffic uses: STUN servers, TURN servers (with
//! their clients, relayed addresses, peers and ChannelData volume), SFUs
//! and media relays. Bounded: at most [`MAX_RELAYS`] servers and
//! [`MAX_SET`] entries per list.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use rustc_hash::FxHashMap;

use crate::flow::Endpoint;
use crate::packet::Transport;
use crate::report::RelayOut;

pub const MAX_RELAYS: usize = 16_384;
pub const MAX_SET: usize = 256;

/// What a server does, weakest first (a STUN server seen doing TURN is a TURN server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RelayKind {
    Stun,
    MediaRelay,
    Sfu,
    Turn,
}

impl RelayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RelayKind::Stun => "stun",
            RelayKind::MediaRelay => "media-relay",
            RelayKind::Sfu => "sfu",
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
    order: usize,
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
}

#[derive(Debug, Default)]
pub struct RelayTable {
    map: FxHashMap<(Endpoint, Transport), Relay>,
    pub overflow: u64,
}

impl RelayTable {
    /// The record of the server at `server`, created (as `kind`) if new and
    /// upgraded to `kind` if that is stronger. `None` when the table is full.
    pub fn server(
        &mut self,
        server: Endpoint,
        transport: Transport,
        kind: RelayKind,
    ) -> Option<&mut Relay> {
        let n = self.map.len();
        if !self.map.contains_key(&(server, transport)) {
            if n >= MAX_RELAYS {
                self.overflow += 1;
                return None;
            }
            self.map.insert(
                (server, transport),
                Relay {
                    kind,
                    operator: None,
                    clients: BTreeSet::new(),
                    relayed: BTreeSet::new(),
                    peers: BTreeSet::new(),
                    channel_data_packets: 0,
                    flow_ids: BTreeSet::new(),
                    order: n,
                },
            );
        }
        let r = self.map.get_mut(&(server, transport))?;
        if kind > r.kind {
            r.kind = kind;
        }
        Some(r)
    }

    /// Forgets a STUN "server" that turned out to be a peer: an entry of kind
    /// STUN at either end of the flow whose only flow is `flow_id`.
    pub fn forget_stun_flow(
        &mut self,
        a: Endpoint,
        b: Endpoint,
        transport: Transport,
        flow_id: u32,
    ) {
        for ep in [a, b] {
            let only_this = self.map.get(&(ep, transport)).is_some_and(|r| {
                r.kind == RelayKind::Stun && r.flow_ids.len() == 1 && r.flow_ids.contains(&flow_id)
            });
            if only_this {
                self.map.remove(&(ep, transport));
            }
        }
    }

    pub fn get_mut(&mut self, server: Endpoint, transport: Transport) -> Option<&mut Relay> {
        self.map.get_mut(&(server, transport))
    }

    pub fn get(&self, server: Endpoint, transport: Transport) -> Option<&Relay> {
        self.map.get(&(server, transport))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&(Endpoint, Transport), &Relay)> {
        self.map.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// In the order first seen.
    pub fn to_report(&self) -> Vec<RelayOut> {
        let mut v: Vec<(&(Endpoint, Transport), &Relay)> = self.map.iter().collect();
        v.sort_by_key(|(_, r)| r.order);
        v.into_iter()
            .map(|((ep, t), r)| RelayOut {
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
            })
            .collect()
    }
}

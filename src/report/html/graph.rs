//! "Where it goes": a call's addresses as an SVG graph in columns, local
//! parties left, then NAT, then STUN/TURN and signalling servers, then SFUs
//! and remote parties; one edge per pair of nodes, coloured by how well its
//! flows are protected.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;

use super::common::{Esc, MAX_EDGE_LABELS, MAX_GRAPH_NODES, MAX_TURN_PEERS};
use super::format::{
    ep, flow_severity, is_encrypting, is_internal, plural, protection, severity_class, short,
};
use super::index::Index;
use crate::report::{CallOut, FlowOut, RelayOut};

const NODE_MIN_W: f64 = 160.0;
const NODE_MAX_W: f64 = 280.0;
const NODE_H: f64 = 54.0;
const NODE_GAP_Y: f64 = 18.0;
/// Height of the slot an edge takes when it passes through a column.
const PASS_H: f64 = 22.0;
const COL_GAP: f64 = 170.0;
const PAD: f64 = 12.0;

/// One address of the call.
pub(crate) struct Node {
    ip: String,
    pub(crate) role: &'static str,
    operator: Option<String>,
    rdns: Option<String>,
    ports: BTreeSet<u16>,
    /// 0 local side, 1 NAT, 2 STUN/TURN/signalling servers, 3 far end.
    pub(crate) col: u8,
    /// Only announced in SDP, never seen.
    dashed: bool,
    /// A TURN relay nothing went through (allocated, unused).
    unused: bool,
    /// A party seen at this public address sent these internal addresses
    /// as its own: it is behind a NAT.
    internal: Vec<String>,
}

/// The flows between two nodes, drawn as one edge.
#[derive(Default)]
struct Edge {
    labels: Vec<(String, u32)>,
    severity: u8,
    dashed: bool,
    flows: Vec<u32>,
}

/// The graph of one call.
pub(crate) struct Graph {
    nodes: Vec<Node>,
    by_key: HashMap<String, usize>,
    /// Unused TURN relays of one operator drawn as one node: address → the
    /// group's text.
    alias: HashMap<String, String>,
    edges: BTreeMap<(usize, usize), Edge>,
    hidden_nodes: usize,
}

/// At least this many unused TURN relays of one operator on a call are
/// drawn as one node.
const GROUP_RELAYS: usize = 3;

/// The call's TURN relays that carried nothing, by operator, when an
/// operator has [`GROUP_RELAYS`] or more: each address → its group's text
/// ("157.240.231.62 and 5 more").
fn unused_relay_groups(c: &CallOut, ix: &Index) -> HashMap<String, String> {
    let mut by_op: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in c.endpoints.iter().filter(|e| e.role == "relay") {
        let Some(rl) = ix.relays_by_ip.get(e.ip.as_str()) else {
            continue;
        };
        if rl.kind == "turn" && rl.used == Some(false) {
            let op = rl.operator.as_deref().unwrap_or("");
            let v = by_op.entry(op).or_default();
            if !v.contains(&e.ip.as_str()) {
                v.push(&e.ip);
            }
        }
    }
    let mut alias = HashMap::new();
    for ips in by_op.values().filter(|v| v.len() >= GROUP_RELAYS) {
        let text = format!("{} and {} more", ips[0], ips.len() - 1);
        for ip in ips {
            alias.insert((*ip).to_string(), text.clone());
        }
    }
    alias
}

/// Which role wins when one address has several.
fn role_priority(role: &str) -> u8 {
    match role {
        "caller" => 9,
        "callee" => 8,
        "relay" | "turn" => 7,
        "sfu" => 6,
        "media-relay" => 5,
        "stun-server" | "stun" => 4,
        "signalling-server" => 3,
        "peer" => 2,
        _ => 0,
    }
}

/// What a node with this role is called on the page.
pub(crate) fn role_text(role: &str, internal: bool) -> &'static str {
    match role {
        "caller" => "caller",
        "callee" => "callee",
        "peer" if internal => "local client",
        "peer" => "remote peer",
        "relay" | "turn" => "TURN relay",
        "sfu" => "SFU / media server",
        "media-relay" => "media relay",
        "stun-server" | "stun" => "STUN server",
        "signalling-server" => "signalling server",
        "nat" => "NAT, public side",
        "sdp" => "announced in SDP",
        _ if internal => "local host",
        _ => "remote host",
    }
}

/// The role of an endpoint or relay kind, as a node role.
fn static_role(role: &str) -> &'static str {
    match role {
        "caller" => "caller",
        "callee" => "callee",
        "peer" => "peer",
        "relay" => "relay",
        "turn" => "turn",
        "sfu" => "sfu",
        "media-relay" => "media-relay",
        "stun-server" => "stun-server",
        "stun" => "stun",
        "signalling-server" => "signalling-server",
        _ => "host",
    }
}

impl Graph {
    /// The graph of call `c`: its endpoints and the addresses of its flows,
    /// placed in columns, with NATs, flows, relayed peers and media that was
    /// only announced.
    pub(crate) fn build(c: &CallOut, ix: &Index) -> Graph {
        let mut g = Graph {
            nodes: Vec::new(),
            by_key: HashMap::new(),
            alias: unused_relay_groups(c, ix),
            edges: BTreeMap::new(),
            hidden_nodes: 0,
        };
        g.add_endpoints(c);
        for (ip, internal) in ix.behind_nat(c) {
            if let Some(n) = g.idx(ip).and_then(|i| g.nodes.get_mut(i)) {
                n.internal = internal.iter().map(|a| a.to_string()).collect();
            }
        }
        let flows: Vec<&FlowOut> = c.flow_ids.iter().filter_map(|id| ix.flow(*id)).collect();
        g.add_flow_sides(&flows, ix);
        g.add_announced(c);
        g.place_columns(&flows);
        let nat_of = g.add_nats(&flows);
        g.add_flow_edges(&flows, &nat_of);
        g.add_relay_peers(c, ix);
        g.add_announced_edges(c);
        g
    }

    /// The node at an address, when drawn.
    pub(crate) fn node_at(&self, ip: &str) -> Option<&Node> {
        let key = self.alias.get(ip).map_or(ip, String::as_str);
        self.by_key.get(key).and_then(|&i| self.nodes.get(i))
    }

    /// The node drawn for address `ip` (its group's, when grouped).
    fn idx(&self, ip: &str) -> Option<usize> {
        let key = self.alias.get(ip).map_or(ip, String::as_str);
        self.by_key.get(key).copied()
    }

    fn node(&mut self, ip: &str, role: &'static str) -> Option<usize> {
        let grouped = self.alias.get(ip).cloned();
        let ip = grouped.as_deref().unwrap_or(ip);
        if let Some(&i) = self.by_key.get(ip) {
            if let Some(n) = self.nodes.get_mut(i) {
                if role_priority(role) > role_priority(n.role) {
                    n.role = role;
                }
            }
            return Some(i);
        }
        if self.nodes.len() >= MAX_GRAPH_NODES {
            self.hidden_nodes += 1;
            return None;
        }
        self.nodes.push(Node {
            ip: ip.to_string(),
            role,
            operator: None,
            rdns: None,
            ports: BTreeSet::new(),
            col: 3,
            dashed: false,
            unused: false,
            internal: Vec::new(),
        });
        let i = self.nodes.len() - 1;
        self.by_key.insert(ip.to_string(), i);
        Some(i)
    }

    fn col(&self, i: usize) -> u8 {
        self.nodes.get(i).map_or(3, |n| n.col)
    }

    fn edge(&mut self, a: usize, b: usize, label: String, severity: u8, dashed: bool, flow: u32) {
        if a == b {
            return;
        }
        let e = self.edges.entry((a, b)).or_default();
        match e.labels.iter_mut().find(|(l, _)| *l == label) {
            Some((_, k)) => *k += 1,
            None => e.labels.push((label, 1)),
        }
        e.severity = e.severity.max(severity);
        e.dashed = dashed && (e.dashed || e.flows.is_empty());
        if flow != 0 && !e.flows.contains(&flow) {
            e.flows.push(flow);
        }
    }

    /// A node per endpoint of the call, with its ports, operator and name.
    fn add_endpoints(&mut self, c: &CallOut) {
        for e in &c.endpoints {
            if let Some(i) = self.node(&e.ip, static_role(e.role)) {
                if let Some(n) = self.nodes.get_mut(i) {
                    n.ports.insert(e.port);
                    if n.operator.is_none() {
                        n.operator.clone_from(&e.operator);
                    }
                    if n.rdns.is_none() {
                        n.rdns.clone_from(&e.rdns);
                    }
                }
            }
        }
    }

    /// A node per side of each flow, a relay's address with the relay's kind.
    fn add_flow_sides(&mut self, flows: &[&FlowOut], ix: &Index) {
        for f in flows {
            for (side, other) in [(&f.src, &f.dst), (&f.dst, &f.src)] {
                let relay = ix.relays_by_ip.get(side.ip.as_str());
                let role = relay.map_or("host", |rl| static_role(rl.kind));
                if let Some(i) = self.node(&side.ip, role) {
                    if let Some(n) = self.nodes.get_mut(i) {
                        n.unused =
                            relay.is_some_and(|rl| rl.kind == "turn" && rl.used == Some(false));
                        // The server side's port tells more than the client's.
                        if is_internal(&other.ip) || !is_internal(&side.ip) {
                            n.ports.insert(side.port);
                        }
                        if n.operator.is_none() && !is_internal(&side.ip) && is_internal(&other.ip)
                        {
                            n.operator.clone_from(&f.operator);
                        }
                    }
                }
            }
        }
    }

    /// A node for media only announced in SDP, dashed when it is new.
    fn add_announced(&mut self, c: &CallOut) {
        for m in c.media.iter().filter(|m| !m.seen) {
            if let Some(a) = &m.announced {
                let fresh = self.idx(&a.ip).is_none();
                if let Some(i) = self.node(&a.ip, "host") {
                    if let Some(n) = self.nodes.get_mut(i) {
                        n.ports.insert(a.port);
                        n.dashed |= fresh;
                    }
                }
            }
        }
    }

    /// Local parties left, NAT, then STUN/TURN and signalling servers, then
    /// SFUs and remote parties right.
    fn place_columns(&mut self, flows: &[&FlowOut]) {
        let any_internal_party = self
            .nodes
            .iter()
            .any(|n| matches!(n.role, "caller" | "callee" | "peer") && is_internal(&n.ip));
        for n in &mut self.nodes {
            let internal = is_internal(&n.ip);
            n.col = match n.role {
                "stun-server" | "stun" | "relay" | "turn" | "signalling-server" | "media-relay" => {
                    2
                }
                "sfu" => 3,
                "caller" if internal || !any_internal_party => 0,
                _ if internal => 0,
                _ => 3,
            };
        }
        if !self.nodes.iter().any(|n| n.col == 0) {
            // No local party: the side that spoke first stands on the left.
            let first = flows
                .iter()
                .filter_map(|f| self.idx(&f.src.ip))
                .find(|&i| self.col(i) == 3);
            if let Some(n) = first.and_then(|i| self.nodes.get_mut(i)) {
                n.col = 0;
            }
        }
    }

    /// NAT: the public address a STUN server reported for a client, as a
    /// node of its own; returns the NAT node of each client node.
    fn add_nats(&mut self, flows: &[&FlowOut]) -> HashMap<usize, usize> {
        let mut nat_of: HashMap<usize, usize> = HashMap::new();
        for f in flows {
            let Some(stun) = &f.stun else { continue };
            let Some(mapped) = stun
                .mapped_addresses
                .iter()
                .find_map(|m| m.parse::<SocketAddr>().ok())
            else {
                continue;
            };
            let client = if is_internal(&f.src.ip) || !is_internal(&f.dst.ip) {
                &f.src
            } else {
                &f.dst
            };
            let mapped_ip = mapped.ip().to_string();
            if mapped_ip == client.ip {
                continue;
            }
            let Some(ci) = self.idx(&client.ip) else {
                continue;
            };
            if nat_of.contains_key(&ci) {
                continue;
            }
            let key = format!("nat {mapped_ip}");
            let ni = match self.by_key.get(&key) {
                Some(&i) => Some(i),
                None if self.nodes.len() < MAX_GRAPH_NODES => {
                    self.nodes.push(Node {
                        ip: mapped_ip,
                        role: "nat",
                        operator: None,
                        rdns: None,
                        ports: BTreeSet::new(),
                        col: 1,
                        dashed: false,
                        unused: false,
                        internal: Vec::new(),
                    });
                    let i = self.nodes.len() - 1;
                    self.by_key.insert(key, i);
                    Some(i)
                }
                None => {
                    self.hidden_nodes += 1;
                    None
                }
            };
            if let Some(ni) = ni {
                if let Some(n) = self.nodes.get_mut(ni) {
                    n.ports.insert(mapped.port());
                }
                nat_of.insert(ci, ni);
            }
        }
        nat_of
    }

    /// Edges: one per flow, merged per pair of nodes, drawn left to right;
    /// a client's flow to a public server passes through its NAT.
    fn add_flow_edges(&mut self, flows: &[&FlowOut], nat_of: &HashMap<usize, usize>) {
        for f in flows {
            let (Some(s), Some(d)) = (self.idx(&f.src.ip), self.idx(&f.dst.ip)) else {
                continue;
            };
            let (a, b, server_port) = if self.col(s) <= self.col(d) {
                (s, d, f.dst.port)
            } else {
                (d, s, f.src.port)
            };
            let label = format!("{}/{} {}", f.transport, server_port, protection(f));
            let sev = flow_severity(f);
            let via_nat = nat_of.get(&a).copied().filter(|_| {
                self.col(b) >= 2 && self.nodes.get(b).is_some_and(|n| !is_internal(&n.ip))
            });
            match via_nat {
                Some(nat) => {
                    self.edge(a, nat, "NAT".into(), 1, false, 0);
                    self.edge(nat, b, label, sev, false, f.id);
                }
                None => self.edge(a, b, label, sev, false, f.id),
            }
        }
    }

    /// TURN relays pass media on to their peers: a dashed edge to each, up
    /// to [`MAX_TURN_PEERS`] a relay.
    fn add_relay_peers(&mut self, c: &CallOut, ix: &Index) {
        let mut relays: Vec<&RelayOut> = Vec::new();
        for id in &c.flow_ids {
            for rl in ix.relays_by_flow.get(id).into_iter().flatten() {
                if !relays.iter().any(|x| std::ptr::eq(*x, *rl)) {
                    relays.push(rl);
                }
            }
        }
        for rl in relays {
            let Some(ri) = self.idx(&rl.ip) else {
                continue;
            };
            for p in rl
                .peers
                .iter()
                .filter_map(|p| p.parse::<SocketAddr>().ok())
                .filter(|p| p.ip().to_string() != rl.ip)
                .take(MAX_TURN_PEERS)
            {
                let ip = p.ip().to_string();
                let fresh = self.idx(&ip).is_none();
                if let Some(pi) = self.node(&ip, "peer") {
                    if fresh {
                        if let Some(n) = self.nodes.get_mut(pi) {
                            n.col = if is_internal(&ip) { 0 } else { 3 };
                            n.ports.insert(p.port());
                        }
                    }
                    let (a, b) = if self.col(ri) <= self.col(pi) {
                        (ri, pi)
                    } else {
                        (pi, ri)
                    };
                    self.edge(a, b, format!("relayed to :{}", p.port()), 1, true, 0);
                }
            }
        }
    }

    /// Media only announced in SDP: a dashed edge from the party that will
    /// send it.
    fn add_announced_edges(&mut self, c: &CallOut) {
        for m in c.media.iter().filter(|m| !m.seen) {
            let Some(a) = &m.announced else { continue };
            let Some(ti) = self.idx(&a.ip) else {
                continue;
            };
            let by = m
                .announced_all
                .iter()
                .find(|x| x.ip == a.ip && x.port == a.port);
            let sender_role = match by.map(|x| x.by) {
                Some("caller") => "callee",
                _ => "caller",
            };
            let Some(si) = c
                .endpoints
                .iter()
                .find(|e| e.role == sender_role)
                .and_then(|e| self.idx(&e.ip))
            else {
                continue;
            };
            let (x, y) = if self.col(si) <= self.col(ti) {
                (si, ti)
            } else {
                (ti, si)
            };
            let sev = if is_encrypting(m.encryption) { 0 } else { 3 };
            self.edge(
                x,
                y,
                format!("{} :{} announced, not seen", m.kind, a.port),
                sev,
                true,
                0,
            );
        }
    }

    /// Texts of a node: heading, address, and ports (or reverse name); for
    /// a party behind a NAT its internal address, then the NAT's.
    fn node_texts(n: &Node) -> NodeTexts {
        let internal = is_internal(&n.ip);
        let mut head = role_text(if n.dashed { "sdp" } else { n.role }, internal).to_string();
        if let Some(o) = &n.operator {
            head.push_str(" · ");
            head.push_str(o);
        }
        if n.unused && matches!(n.role, "relay" | "turn") {
            head.push_str(" · allocated, unused");
        }
        let ports: Vec<String> = n.ports.iter().take(4).map(|p| p.to_string()).collect();
        if let Some(first) = n.internal.first() {
            let ip = match n.internal.len() {
                1 => first.clone(),
                k => format!("{first} +{}", k - 1),
            };
            let nat = match n.ports.iter().next() {
                Some(p) if n.ports.len() == 1 => ep(&n.ip, *p),
                _ => n.ip.clone(),
            };
            return NodeTexts {
                head,
                ip,
                third: format!("behind NAT {nat}"),
            };
        }
        let third = if n.role == "nat" {
            format!("seen outside as :{}", ports.join(", :"))
        } else {
            match &n.rdns {
                Some(d) => d.clone(),
                None if ports.is_empty() => String::new(),
                None => format!(
                    "port{} {}{}",
                    if n.ports.len() > 1 { "s" } else { "" },
                    ports.join(", "),
                    if n.ports.len() > 4 { ", …" } else { "" }
                ),
            }
        };
        NodeTexts {
            head,
            ip: n.ip.clone(),
            third,
        }
    }

    /// Box width from the longest text, within bounds.
    fn node_width(texts: &[NodeTexts]) -> f64 {
        texts
            .iter()
            .map(|t| {
                let head = t.head.chars().count().min(36) as f64 * 7.0;
                let ip = t.ip.chars().count() as f64 * 6.7;
                let third = t.third.chars().count().min(40) as f64 * 6.0;
                head.max(ip).max(third) + 20.0
            })
            .fold(NODE_MIN_W, f64::max)
            .min(NODE_MAX_W)
    }

    /// Stacks each column's nodes and the slots of the edges that pass
    /// through it, every column centred on the tallest.
    fn layout(&self, node_w: f64) -> Layout {
        let cols: Vec<u8> = self
            .nodes
            .iter()
            .map(|n| n.col)
            .collect::<BTreeSet<u8>>()
            .into_iter()
            .collect();
        let mut lay = Layout {
            cols,
            node_w,
            width: 0.0,
            height: 0.0,
            pos: vec![(0.0, 0.0); self.nodes.len()],
            pass: HashMap::new(),
        };
        let mut slots: Vec<Vec<Slot>> = vec![Vec::new(); lay.cols.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(s) = slots.get_mut(lay.ci(n.col)) {
                s.push(Slot::Node(i));
            }
        }
        for (k, (a, b)) in self.edges.keys().enumerate() {
            let (ca, cb) = (lay.ci(self.col(*a)), lay.ci(self.col(*b)));
            for c in (ca + 1)..cb {
                if let Some(s) = slots.get_mut(c) {
                    s.push(Slot::Pass(k));
                }
            }
        }
        let col_h: Vec<f64> = slots
            .iter()
            .map(|s| s.iter().map(Slot::height).sum())
            .collect();
        let max_h = col_h.iter().copied().fold(NODE_H, f64::max);
        let top = PAD + 20.0;
        lay.height = top + max_h + PAD;
        // Room on the right for the arcs (and labels) of same-column edges.
        let arcs = self.edges.keys().any(|(a, b)| self.col(*a) == self.col(*b));
        lay.width = lay.x(lay.cols.len()) - COL_GAP + PAD + if arcs { 230.0 } else { 20.0 };
        // Node boxes (top-left) and pass-through centres per edge and column.
        for (c, col) in slots.iter().enumerate() {
            let mut y = top + (max_h - col_h.get(c).copied().unwrap_or(0.0)) / 2.0;
            for s in col {
                match s {
                    Slot::Node(i) => {
                        let x = lay.x(c);
                        if let Some(p) = lay.pos.get_mut(*i) {
                            *p = (x, y);
                        }
                    }
                    Slot::Pass(k) => {
                        lay.pass.insert((*k, c), y + PASS_H / 2.0);
                    }
                }
                y += s.height();
            }
        }
        lay
    }

    /// Draws the graph in columns; an edge that skips a column passes
    /// through a reserved slot of it, never through a node.
    pub(crate) fn svg(&self, h: &mut String, call_no: usize) {
        if self.nodes.is_empty() {
            h.push_str("<p class=\"empty\">No addresses recorded for this call.</p>\n");
            return;
        }
        let texts: Vec<NodeTexts> = self.nodes.iter().map(Self::node_texts).collect();
        let mut lay = self.layout(Self::node_width(&texts));
        let labels = self.place_labels(&lay);
        // A label moved below the last row makes the picture taller.
        let bottom = labels
            .iter()
            .map(|l| l.rect.y + l.rect.h)
            .fold(0.0, f64::max);
        lay.height = lay.height.max(bottom + PAD);
        let (width, height) = (lay.width, lay.height);
        w!(
            h,
            "<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} {height:.0}\" \
             width=\"{width:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"Where call {} goes\">\n",
            call_no + 1
        );
        for (c, col) in lay.cols.iter().enumerate() {
            let name = match col {
                0 => "local side",
                1 => "NAT",
                2 => "STUN / TURN / signalling",
                _ => "far end",
            };
            w!(
                h,
                "<text class=\"col-head\" x=\"{:.0}\" y=\"{:.0}\">{name}</text>\n",
                lay.x(c) + lay.node_w / 2.0,
                PAD + 8.0
            );
        }
        self.draw_edges(h, &lay);
        for l in &labels {
            l.draw(h);
        }
        self.draw_nodes(h, &lay, &texts);
        h.push_str("</svg>\n");
        if self.hidden_nodes > 0 {
            w!(
                h,
                "<p class=\"hidden-note\">{} not drawn.</p>\n",
                plural(self.hidden_nodes, "more address", "more addresses")
            );
        }
    }

    /// The edges, each with its flows in a tooltip (their labels are
    /// drawn after all of them, so that no edge is drawn over a label).
    fn draw_edges(&self, h: &mut String, lay: &Layout) {
        for (k, (&ends, e)) in self.edges.iter().enumerate() {
            let Some((path, _, _, _)) = self.edge_geometry(lay, k, ends) else {
                continue;
            };
            let class = severity_class(e.severity);
            let dash = if e.dashed { " dashed" } else { "" };
            let title: Vec<String> = e
                .labels
                .iter()
                .map(|(l, k)| {
                    if *k > 1 {
                        format!("{l} ×{k}")
                    } else {
                        l.clone()
                    }
                })
                .collect();
            let flows: Vec<String> = e.flows.iter().map(|f| format!("#{f}")).collect();
            w!(
                h,
                "<path class=\"edge {class}{dash}\" d=\"{path}\"><title>{}{}</title></path>\n",
                Esc(&title.join("\n")),
                if flows.is_empty() {
                    String::new()
                } else {
                    format!("\nflows {}", flows.join(" "))
                }
            );
        }
    }

    /// The path of edge `k` between nodes `(a, b)`, where its label goes, and
    /// whether it is an arc (both ends in one column); `None` when an end is
    /// not drawn.
    fn edge_geometry(
        &self,
        lay: &Layout,
        k: usize,
        (a, b): (usize, usize),
    ) -> Option<(String, f64, f64, bool)> {
        let (&(ax, ay), &(bx, by)) = (lay.pos.get(a)?, lay.pos.get(b)?);
        let (ca, cb) = (lay.ci(self.col(a)), lay.ci(self.col(b)));
        let (path, lx, ly) = edge_path(
            lay,
            k,
            (ax, ay + NODE_H / 2.0),
            (bx, by + NODE_H / 2.0),
            (ca, cb),
        );
        Some((path, lx, ly, ca == cb))
    }

    /// The lines of edge `e`'s label: its first [`MAX_EDGE_LABELS`] flows'
    /// descriptions, then how many more.
    fn label_lines(e: &Edge) -> Vec<String> {
        let title: Vec<String> = e
            .labels
            .iter()
            .map(|(l, k)| {
                if *k > 1 {
                    format!("{l} ×{k}")
                } else {
                    l.clone()
                }
            })
            .collect();
        let shown = title.len().min(MAX_EDGE_LABELS);
        let mut lines: Vec<String> = title.iter().take(shown).map(|t| short(t, 30)).collect();
        if title.len() > shown {
            lines.push(format!("+{} more", title.len() - shown));
        }
        lines
    }

    /// Where every edge's label goes: beside its path (above it, or below
    /// when that is taken), never over a node or another label. Text width
    /// is estimated at [`CHAR_W`] a character, the width of the labels' font.
    fn place_labels(&self, lay: &Layout) -> Vec<Label> {
        let node_boxes: Vec<Rect> = lay
            .pos
            .iter()
            .map(|&(x, y)| Rect {
                x,
                y,
                w: lay.node_w,
                h: NODE_H,
            })
            .collect();
        let mut placed: Vec<Label> = Vec::new();
        for (k, (&ends, e)) in self.edges.iter().enumerate() {
            let Some((_, lx, ly, arc)) = self.edge_geometry(lay, k, ends) else {
                continue;
            };
            let lines = Self::label_lines(e);
            let w = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64 * CHAR_W;
            let h = lines.len() as f64 * LINE_H;
            let x = if arc { lx } else { lx - w / 2.0 };
            // Above the path first, then below it, then further away.
            let above = if arc { ly - h / 2.0 } else { ly - 3.0 - h };
            let below = ly + 3.0;
            let free = |r: &Rect, placed: &[Label]| {
                r.y >= PAD + 12.0
                    && !node_boxes.iter().any(|n| n.overlaps(r))
                    && !placed.iter().any(|p| p.rect.overlaps(r))
            };
            let mut rect = Rect { x, y: above, w, h };
            for step in 0..24 {
                let y = match step {
                    0 => above,
                    1 => below,
                    s if s % 2 == 0 => above - f64::from(s / 2) * LINE_H,
                    s => below + f64::from(s / 2) * LINE_H,
                };
                let r = Rect { x, y, w, h };
                if free(&r, &placed) {
                    rect = r;
                    break;
                }
            }
            placed.push(Label {
                class: severity_class(e.severity),
                lines,
                arc,
                rect,
            });
        }
        placed
    }

    /// A box per node: role and operator, address, and ports or name.
    fn draw_nodes(&self, h: &mut String, lay: &Layout, texts: &[NodeTexts]) {
        let node_w = lay.node_w;
        for ((n, (x, y)), t) in self.nodes.iter().zip(&lay.pos).zip(texts) {
            let class = match n.col {
                0 => "n-local",
                1 => "n-nat",
                2 => "n-server",
                _ => "n-far",
            };
            // The tooltip names every internal address.
            let title_ip = if n.internal.len() > 1 {
                n.internal.join(", ")
            } else {
                t.ip.clone()
            };
            w!(
                h,
                "<g class=\"node {class}{}\"><title>{}\n{}\n{}</title>\
                 <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{node_w:.0}\" height=\"{NODE_H}\" rx=\"7\"/>\
                 <text class=\"n-role\" x=\"{:.1}\" y=\"{:.1}\">{}</text>\
                 <text class=\"n-ip\" x=\"{:.1}\" y=\"{:.1}\">{}</text>\
                 <text class=\"n-more\" x=\"{:.1}\" y=\"{:.1}\">{}</text></g>\n",
                if n.dashed { " dashed" } else { "" },
                Esc(&t.head),
                Esc(&title_ip),
                Esc(&t.third),
                x + 9.0,
                y + 17.0,
                Esc(&short(&t.head, 36)),
                x + 9.0,
                y + 33.0,
                Esc(&t.ip),
                x + 9.0,
                y + 47.0,
                Esc(&short(&t.third, 40)),
            );
        }
    }
}

/// The three lines of a node's box.
struct NodeTexts {
    head: String,
    ip: String,
    third: String,
}

/// What takes height in a column: a node, or an edge passing through.
#[derive(Clone, Copy)]
enum Slot {
    Node(usize),
    Pass(usize),
}

impl Slot {
    fn height(&self) -> f64 {
        match self {
            Slot::Node(_) => NODE_H + NODE_GAP_Y,
            Slot::Pass(_) => PASS_H,
        }
    }
}

/// Where a graph's columns, nodes and pass-through slots are drawn.
struct Layout {
    /// The columns in use, left to right.
    cols: Vec<u8>,
    node_w: f64,
    width: f64,
    height: f64,
    /// Top-left corner of each node's box.
    pos: Vec<(f64, f64)>,
    /// Centre of the slot where edge `k` passes through column `c`, by `(k, c)`.
    pass: HashMap<(usize, usize), f64>,
}

impl Layout {
    /// Index of column `col` among those in use.
    fn ci(&self, col: u8) -> usize {
        self.cols.iter().position(|c| *c == col).unwrap_or(0)
    }

    /// Left side of the column at index `c`.
    fn x(&self, c: usize) -> f64 {
        PAD + c as f64 * (self.node_w + COL_GAP)
    }
}

/// The path of edge `k` from the right side of its first node at `(ax, y1)`
/// to the left side of its second at `(bx, y2)`, through the pass-through
/// slots of the columns between (`ca`, `cb`); an arc on the right when both
/// are in one column. Also where its label goes.
fn edge_path(
    lay: &Layout,
    k: usize,
    (ax, y1): (f64, f64),
    (bx, y2): (f64, f64),
    (ca, cb): (usize, usize),
) -> (String, f64, f64) {
    let node_w = lay.node_w;
    let mut path = String::new();
    let (lx, ly) = if ca == cb {
        let x = ax + node_w;
        w!(
            path,
            "M{x:.1} {y1:.1} C{:.1} {y1:.1} {:.1} {y2:.1} {x:.1} {y2:.1}",
            x + 60.0,
            x + 60.0
        );
        (x + 52.0, (y1 + y2) / 2.0)
    } else {
        // Points where the edge crosses column borders.
        let mut pts: Vec<(f64, f64)> = vec![(ax + node_w, y1)];
        for c in (ca + 1)..cb {
            let y = lay.pass.get(&(k, c)).copied().unwrap_or(y1);
            pts.push((lay.x(c), y));
            pts.push((lay.x(c) + node_w, y));
        }
        pts.push((bx, y2));
        let mut iter = pts.iter();
        if let Some((x, y)) = iter.next() {
            w!(path, "M{x:.1} {y:.1}");
        }
        let mut prev = pts.first().copied().unwrap_or((0.0, 0.0));
        for &(x, y) in iter {
            if (y - prev.1).abs() < 0.1 {
                w!(path, " L{x:.1} {y:.1}");
            } else {
                let mx = (prev.0 + x) / 2.0;
                w!(path, " C{mx:.1} {:.1} {mx:.1} {y:.1} {x:.1} {y:.1}", prev.1);
            }
            prev = (x, y);
        }
        // The label sits in the last gap, before the target.
        let before = pts.len().checked_sub(2).and_then(|i| pts.get(i));
        let ly = before.map_or(y2, |p| (p.1 + y2) / 2.0);
        (bx - COL_GAP / 2.0, ly)
    };
    (path, lx, ly)
}

/// Width of a character of the edge labels (10.5 px sans-serif), as
/// placement estimates it.
pub(crate) const CHAR_W: f64 = 6.4;
/// Height of a label line.
const LINE_H: f64 = 12.0;

/// A box on the picture: left, top, width, height.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rect {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) w: f64,
    pub(crate) h: f64,
}

impl Rect {
    pub(crate) fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }
}

/// An edge's label, placed.
pub(crate) struct Label {
    class: &'static str,
    lines: Vec<String>,
    /// Beside an arc on the right: left-aligned.
    arc: bool,
    pub(crate) rect: Rect,
}

impl Label {
    fn draw(&self, h: &mut String) {
        let (x, anchor) = if self.arc {
            (self.rect.x, " style=\"text-anchor:start\"")
        } else {
            (self.rect.x + self.rect.w / 2.0, "")
        };
        // Baseline of the first line, a little above the line's bottom.
        let y = self.rect.y + LINE_H - 3.0;
        w!(
            h,
            "<text class=\"edge-label {}\" x=\"{x:.1}\" y=\"{y:.1}\"{anchor}>",
            self.class
        );
        for (i, t) in self.lines.iter().enumerate() {
            w!(
                h,
                "<tspan x=\"{x:.1}\" dy=\"{}\">{}</tspan>",
                if i == 0 { 0 } else { 12 },
                Esc(t)
            );
        }
        h.push_str("</text>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{self, CaptureOptions};
    use crate::engine::{Analyzer, Config};

    #[test]
    fn parses_overlapping_boxes() {
        let a = Rect {
            x: 0.0,
            y: 0.0,
            w: 10.0,
            h: 10.0,
        };
        assert!(a.overlaps(&Rect {
            x: 5.0,
            y: 5.0,
            w: 10.0,
            h: 10.0
        }));
        assert!(!a.overlaps(&Rect {
            x: 10.0,
            y: 0.0,
            w: 10.0,
            h: 10.0
        }));
        assert!(!a.overlaps(&Rect {
            x: 0.0,
            y: 11.0,
            w: 10.0,
            h: 10.0
        }));
    }

    /// On every fixture's calls, no edge label covers a node or another
    /// label (with the text width placement assumes).
    #[test]
    fn labels_cover_no_node_and_no_other_label() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pcap");
        let mut graphs = 0;
        let mut labels = 0;
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if !matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("pcap" | "pcapng")
            ) {
                continue;
            }
            let files = vec![p.display().to_string()];
            let mut an = Analyzer::new(Config::default());
            capture::read_files(&files, &CaptureOptions::default(), &mut an).unwrap();
            let r = an.finish(files, None);
            let ix = Index::new(&r);
            for c in &r.calls {
                let g = Graph::build(c, &ix);
                if g.nodes.is_empty() {
                    continue;
                }
                let texts: Vec<NodeTexts> = g.nodes.iter().map(Graph::node_texts).collect();
                let lay = g.layout(Graph::node_width(&texts));
                let placed = g.place_labels(&lay);
                graphs += 1;
                labels += placed.len();
                for (i, l) in placed.iter().enumerate() {
                    for (&(x, y), n) in lay.pos.iter().zip(&g.nodes) {
                        let node = Rect {
                            x,
                            y,
                            w: lay.node_w,
                            h: NODE_H,
                        };
                        assert!(
                            !l.rect.overlaps(&node),
                            "{}: {} label {:?} over node {}",
                            p.display(),
                            c.call_id,
                            l.lines,
                            n.ip
                        );
                    }
                    for m in &placed[..i] {
                        assert!(
                            !l.rect.overlaps(&m.rect),
                            "{}: {} labels {:?} and {:?} overlap",
                            p.display(),
                            c.call_id,
                            l.lines,
                            m.lines
                        );
                    }
                }
            }
        }
        assert!(
            graphs > 30 && labels > 60,
            "{graphs} graphs, {labels} labels"
        );
    }
}

//! Lookups over the report, built once per page so that no section is
//! quadratic in the number of flows, leaks or relays.

use std::collections::{BTreeMap, HashMap};

use super::common::{Esc, MAX_CALLS, MAX_FLOW_ROWS};
use super::format::is_internal;
use crate::report::{CallOut, FlowOut, LeakOut, RelayOut, Report};

/// Where a leaked address is the sender's own: its SIP Contact, the origin,
/// connection, ICE candidates, RTCP port and SSRC CNAME of its SDP, its RTCP
/// SDES CNAME. Not Via (responses echo the request's) nor other SIP headers
/// (From, To and the like name other parties), nor TURN peer or STUN mapped
/// addresses (someone else's).
const SENDERS_OWN: &[&str] = &[
    "sip-contact",
    "sdp-origin",
    "sdp-connection",
    "sdp-candidate",
    "sdp-rtcp",
    "sdp-ssrc-cname",
    "rtcp-sdes-cname",
];

/// Lookups built once per page, so that no section is quadratic.
pub(crate) struct Index<'a> {
    /// Flows by id.
    flows: HashMap<u32, &'a FlowOut>,
    /// Leaks by the id of their flow.
    pub(crate) leaks: HashMap<u32, Vec<&'a LeakOut>>,
    /// The first relay listed at each address.
    pub(crate) relays_by_ip: HashMap<&'a str, &'a RelayOut>,
    /// Relays by the ids of their flows.
    pub(crate) relays_by_flow: HashMap<u32, Vec<&'a RelayOut>>,
    /// The first call (index in the report) of each flow.
    call_of_flow: HashMap<u32, usize>,
    /// Rows of the flows table: [`MAX_FLOW_ROWS`] at most.
    pub(crate) shown_flows: usize,
}

impl<'a> Index<'a> {
    pub(crate) fn new(r: &'a Report) -> Self {
        let flows = r.flows.iter().map(|f| (f.id, f)).collect();
        let mut leaks: HashMap<u32, Vec<&LeakOut>> = HashMap::new();
        for l in &r.leaks {
            leaks.entry(l.flow_id).or_default().push(l);
        }
        let mut relays_by_ip = HashMap::new();
        let mut relays_by_flow: HashMap<u32, Vec<&RelayOut>> = HashMap::new();
        for rl in &r.relays {
            relays_by_ip.entry(rl.ip.as_str()).or_insert(rl);
            for id in &rl.flow_ids {
                relays_by_flow.entry(*id).or_default().push(rl);
            }
        }
        let mut call_of_flow = HashMap::new();
        for (n, c) in r.calls.iter().enumerate() {
            for id in &c.flow_ids {
                call_of_flow.entry(*id).or_insert(n);
            }
        }
        Index {
            flows,
            leaks,
            relays_by_ip,
            relays_by_flow,
            call_of_flow,
            shown_flows: r.flows.len().min(MAX_FLOW_ROWS),
        }
    }

    pub(crate) fn flow(&self, id: u32) -> Option<&'a FlowOut> {
        self.flows.get(&id).copied()
    }

    /// The call's parties behind a NAT: each caller, callee or peer seen at
    /// a public address that sent its own private, CGNAT or ULA address
    /// (see [`SENDERS_OWN`]) in the call's flows, with those addresses.
    pub(crate) fn behind_nat(&self, c: &'a CallOut) -> BTreeMap<&'a str, Vec<&'a str>> {
        let mut out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for e in c
            .endpoints
            .iter()
            .filter(|e| matches!(e.role, "caller" | "callee" | "peer") && !is_internal(&e.ip))
        {
            for f in c.flow_ids.iter().filter_map(|id| self.flow(*id)) {
                let to = if f.src.ip == e.ip {
                    &f.dst.ip
                } else if f.dst.ip == e.ip {
                    &f.src.ip
                } else {
                    continue;
                };
                for l in self.leaks.get(&f.id).into_iter().flatten() {
                    if l.exposed_to == *to
                        && l.address != e.ip
                        && SENDERS_OWN.contains(&l.where_)
                        && matches!(l.scope, "private" | "cgnat" | "ula")
                    {
                        let v = out.entry(e.ip.as_str()).or_default();
                        if !v.contains(&l.address.as_str()) {
                            v.push(&l.address);
                        }
                    }
                }
            }
        }
        out
    }

    /// A link to the flow's row when it is in the table, else plain text.
    pub(crate) fn flow_ref(&self, r: &Report, id: u32) -> String {
        let shown = r
            .flows
            .get(..self.shown_flows)
            .is_some_and(|v| v.binary_search_by_key(&id, |f| f.id).is_ok());
        if shown {
            format!("<a href=\"#flow-{id}\">#{id}</a>")
        } else {
            format!("#{id}")
        }
    }

    /// A link to the card of the flow's call when it is drawn, its name
    /// when not, and nothing when the flow is in no call.
    pub(crate) fn call_ref(&self, r: &Report, flow_id: u32) -> String {
        match self.call_of_flow.get(&flow_id) {
            Some(&n) => {
                let name = r.calls.get(n).map_or("", |c| c.call_id.as_str());
                if n < MAX_CALLS {
                    format!(
                        "<a href=\"#call-{}\" title=\"{}\">call {}</a>",
                        n + 1,
                        Esc(name),
                        n + 1
                    )
                } else {
                    format!("call {}", n + 1)
                }
            }
            None => String::new(),
        }
    }
}

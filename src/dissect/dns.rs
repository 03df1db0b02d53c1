//! DNS: what a flow asked for, and what the answers taught about addresses.
//!
//! A DNS flow carries the first name it asked about (the first one that
//! names an app, if a later question does): `assemble` names the flow's app
//! from it. A response (opcode QUERY, NOERROR) teaches the analysis' name
//! table (`calls::names`) which addresses the asked-for name resolved to:
//! the A and AAAA records, and the SVCB/HTTPS address hints (RFC 9460
//! section 7.3), whose owner is the question's name or a name it reaches
//! through the answer's CNAME chain (RFC 1034 section 3.6.2). A flow that
//! starts later towards such an address carries the asked-for name.

use std::sync::Arc;

use vcscope_dissectors::dns::{DnsMessage, Name, Opcode, Rcode, MAX_NAME_LEN};

use crate::apps::app_of_sni;
use crate::dissect::ctx::Ctx;
use crate::evidence::{FlowState, Proto};

/// CNAME links followed from the question (real chains are 1 to 5 long).
const MAX_CHAIN: usize = 8;

/// One DNS message (the UDP payload, or one message of a TCP stream
/// without its length prefix).
pub(crate) fn dns_message(ctx: &mut Ctx, st: &mut FlowState, msg: &[u8]) {
    st.protocols.insert(Proto::Dns);
    let Ok(m) = DnsMessage::new_checked(msg) else {
        return;
    };
    let Some(Ok(q)) = m.questions().next() else {
        return;
    };
    let mut text = [0u8; MAX_NAME_LEN];
    let Ok(len) = q.name.write_lower(&mut text) else {
        return;
    };
    let Ok(name) = std::str::from_utf8(&text[..len]) else {
        return;
    };
    if name.is_empty() {
        return;
    }
    let better = match st.dns_name.as_deref() {
        None => true,
        Some(old) => old != name && app_of_sni(old).is_none() && app_of_sni(name).is_some(),
    };
    let mut shared: Option<Arc<str>> = None;
    if better {
        let n: Arc<str> = name.into();
        st.dns_name = Some(Arc::clone(&n));
        shared = Some(n);
    }
    if !m.is_response() || m.opcode() != Opcode::Query || m.rcode() != Rcode::NoError {
        return;
    }
    learn(ctx, &m, q.name, name, shared);
}

/// Puts the addresses the answer gives the question's name into the name
/// table.
fn learn(ctx: &mut Ctx, m: &DnsMessage<'_>, qname: Name<'_>, text: &str, shared: Option<Arc<str>>) {
    let mut chain: [Option<Name<'_>>; MAX_CHAIN] = [None; MAX_CHAIN];
    chain[0] = Some(qname);
    let mut links = 1;
    let in_chain =
        |chain: &[Option<Name<'_>>], n: &Name<'_>| chain.iter().flatten().any(|c| c.eq_name(n));
    // CNAMEs usually come in chain order; a second pass picks up the rest.
    for _ in 0..2 {
        for r in m.answers().map_while(Result::ok) {
            if links >= MAX_CHAIN {
                break;
            }
            if let Some(target) = r.cname() {
                if in_chain(&chain, &r.name) && !in_chain(&chain, &target) {
                    chain[links] = Some(target);
                    links += 1;
                }
            }
        }
    }
    let mut name = shared;
    for r in m.answers().map_while(Result::ok) {
        let addrs = r.address().into_iter().chain(r.svc_hints());
        let mut owner_checked = None;
        for ip in addrs {
            let owned = *owner_checked.get_or_insert_with(|| in_chain(&chain, &r.name));
            if !owned {
                break;
            }
            let n = name.get_or_insert_with(|| Arc::from(text));
            ctx.names.insert(ip, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::ctx::Limits;
    use std::net::IpAddr;

    /// ndpi__teams.pcap frame 333: config.teams.microsoft.com, three CNAMEs,
    /// then A 52.113.194.132 owned by the chain's last name.
    #[test]
    fn follows_the_cname_chain_to_the_question() {
        let mut ctx = Ctx::new(Limits::default());
        let mut st = FlowState::default();
        let msg = include_bytes!("../../fixtures/payloads/dns/ndpi__teams-frame333.bin");
        dns_message(&mut ctx, &mut st, msg);
        assert!(st.protocols.contains(Proto::Dns));
        assert_eq!(st.dns_name.as_deref(), Some("config.teams.microsoft.com"));
        let ip: IpAddr = "52.113.194.132".parse().unwrap();
        assert_eq!(
            ctx.names.get(ip).map(|n| &**n),
            Some("config.teams.microsoft.com")
        );
        // A query (QR clear) teaches nothing.
        let mut query = msg.to_vec();
        query[2] &= 0x7f;
        let mut ctx = Ctx::new(Limits::default());
        dns_message(&mut ctx, &mut FlowState::default(), &query);
        assert_eq!(ctx.names.get(ip), None);
    }
}

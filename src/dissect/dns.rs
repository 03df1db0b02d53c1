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
    let mut name = shared;
    let mut teach = |chain: &[Option<Name<'_>>], r: &vcscope_dissectors::dns::Record<'_>| {
        let mut addrs = r.address().into_iter().chain(r.svc_hints()).peekable();
        if addrs.peek().is_none() {
            return true;
        }
        if !in_chain(chain, &r.name) {
            return false;
        }
        let n = name.get_or_insert_with(|| Arc::from(text));
        for ip in addrs {
            ctx.names.insert(ip, n);
        }
        true
    };
    // CNAMEs usually come in chain order, before the addresses of the
    // chain's last name: one pass then reads both. A CNAME passed over
    // before the chain reached its owner takes a second pass, and an
    // address whose owner was not in the chain yet is read again once the
    // chain is complete (the table keeps the same name for an address
    // taught twice).
    let mut passed_over = false;
    let mut unowned = false;
    for r in m.answers().map_while(Result::ok) {
        match r.cname() {
            Some(target) if links < MAX_CHAIN => {
                if !in_chain(&chain, &r.name) {
                    passed_over = true;
                } else if !in_chain(&chain, &target) {
                    chain[links] = Some(target);
                    links += 1;
                }
            }
            Some(_) => {}
            None => unowned |= !teach(&chain, &r),
        }
    }
    if passed_over {
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
    if passed_over || unowned {
        for r in m.answers().map_while(Result::ok) {
            if r.cname().is_none() {
                teach(&chain, &r);
            }
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

    /// `name` as DNS labels, uncompressed.
    fn labels(name: &str) -> Vec<u8> {
        let mut v = Vec::new();
        for l in name.split('.') {
            v.push(l.len() as u8);
            v.extend_from_slice(l.as_bytes());
        }
        v.push(0);
        v
    }

    /// A response to `a.example` whose answers come in the given order:
    /// (owner, CNAME target or IPv4 address).
    fn response(answers: &[(&str, Result<&str, [u8; 4]>)]) -> Vec<u8> {
        let mut m = vec![0, 7, 0x81, 0x80, 0, 1, 0, answers.len() as u8, 0, 0, 0, 0];
        m.extend(labels("a.example"));
        m.extend_from_slice(&[0, 1, 0, 1]);
        for (owner, data) in answers {
            m.extend(labels(owner));
            let (rtype, rdata) = match data {
                Ok(target) => (5u8, labels(target)),
                Err(ip) => (1u8, ip.to_vec()),
            };
            m.extend_from_slice(&[0, rtype, 0, 1, 0, 0, 0, 60, 0, rdata.len() as u8]);
            m.extend(rdata);
        }
        m
    }

    /// Answers out of chain order: the address before the CNAMEs that lead
    /// to its owner, and the CNAMEs themselves backwards. An address of a
    /// name off the chain teaches nothing.
    #[test]
    fn follows_a_chain_given_out_of_order() {
        let msg = response(&[
            ("c.example", Err([192, 0, 2, 3])),
            ("x.example", Err([192, 0, 2, 9])),
            ("b.example", Ok("c.example")),
            ("a.example", Ok("b.example")),
        ]);
        let mut ctx = Ctx::new(Limits::default());
        dns_message(&mut ctx, &mut FlowState::default(), &msg);
        let name = |ip: [u8; 4]| ctx.names.get(IpAddr::from(ip)).map(|n| n.to_string());
        assert_eq!(name([192, 0, 2, 3]).as_deref(), Some("a.example"));
        assert_eq!(name([192, 0, 2, 9]), None);
        // In order, the same.
        let msg = response(&[
            ("a.example", Ok("b.example")),
            ("b.example", Ok("c.example")),
            ("c.example", Err([192, 0, 2, 4])),
        ]);
        dns_message(&mut ctx, &mut FlowState::default(), &msg);
        let name = |ip: [u8; 4]| ctx.names.get(IpAddr::from(ip)).map(|n| n.to_string());
        assert_eq!(name([192, 0, 2, 4]).as_deref(), Some("a.example"));
    }
}

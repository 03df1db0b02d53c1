#![no_main]
use libfuzzer_sys::fuzz_target;
use vcscope_dissectors::dns::{self, DnsMessage, MAX_NAME_LEN};

fn walk(data: &[u8]) {
    let _ = dns::probe(data);
    let Ok(m) = DnsMessage::new_checked(data) else {
        return;
    };
    let _ = (m.id(), m.is_response(), m.opcode(), m.rcode(), m.is_truncated());
    let mut out = [0u8; MAX_NAME_LEN];
    for q in m.questions().flatten() {
        if let Ok(n) = q.name.write_lower(&mut out) {
            assert!(n <= MAX_NAME_LEN);
        }
    }
    let first = m.questions().next().and_then(|q| q.ok());
    for r in m.answers().flatten() {
        let _ = (r.address(), r.svc_hints().count(), r.ttl);
        if let Some(c) = r.cname() {
            let _ = c.write_lower(&mut out);
            if let Some(q) = &first {
                let _ = c.eq_name(&q.name);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    walk(data);
    // The same bytes as a TCP stream of length-prefixed messages.
    let mut rest = data;
    while let Ok(Some((msg, used))) = dns::tcp_message(rest) {
        walk(msg);
        rest = rest.get(used..).unwrap_or_default();
    }
});

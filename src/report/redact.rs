//! `--redact`: stable pseudonyms for addresses, SIP URIs and Call-IDs, so a
//! report can be shared without saying who called whom.
//!
//! Each distinct address becomes `<scope>-<n>` (for example `private-3`,
//! `public-12`), numbered in the order first met while walking the report,
//! so the same address gets the same pseudonym everywhere in one report and
//! the scope (the finding of a leak) stays readable. SIP URIs become
//! `sip:user-<n>@<host pseudonym>`, Call-IDs `call-<n>`. Ports, protocols,
//! verdicts, operators, apps and server names (SNI, TLS certificate names,
//! whose address literals are replaced) are kept: they say where calls go
//! without naming the parties. Every free-text field (findings, evidence,
//! ladder labels, BYE reasons, warnings) has its address literals replaced
//! too; software names (STUN SOFTWARE) are kept, user agents dropped.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::report::{EndpointOut, Report};
use crate::scope::scope_of;

#[derive(Default)]
struct Redactor {
    addrs: HashMap<IpAddr, String>,
    scope_counts: HashMap<&'static str, usize>,
    users: HashMap<String, String>,
    calls: HashMap<String, String>,
}

impl Redactor {
    fn ip(&mut self, ip: IpAddr) -> String {
        if let Some(p) = self.addrs.get(&ip) {
            return p.clone();
        }
        let scope = scope_of(ip).as_str();
        let n = self.scope_counts.entry(scope).or_insert(0);
        *n += 1;
        let p = format!("{scope}-{n}");
        self.addrs.insert(ip, p.clone());
        p
    }

    /// Replaces every IP literal inside `s` (as in "abc@192.168.1.2" or "10.0.0.1:5060").
    fn text(&mut self, s: &mut String) {
        let found: Vec<IpAddr> = vcscope_dissectors::sip::ip_literals(s).collect();
        if let Ok(ip) = s.parse::<IpAddr>() {
            *s = self.ip(ip);
            return;
        }
        for ip in found {
            let p = self.ip(ip);
            // Both spellings an IPv6 address may have in text.
            for form in [ip.to_string(), expanded(ip)] {
                if s.contains(&form) {
                    *s = s.replace(&form, &p);
                }
            }
        }
    }

    fn addr_string(&mut self, s: &mut String) {
        match s.parse::<IpAddr>() {
            Ok(ip) => *s = self.ip(ip),
            Err(_) => self.text(s),
        }
    }

    fn endpoint(&mut self, e: &mut EndpointOut) {
        self.addr_string(&mut e.ip);
    }

    /// `sip:alice@192.0.2.1;transport=udp` → `sip:user-1@public-1`.
    fn uri(&mut self, s: &mut String) {
        let (scheme, rest) = match s.split_once(':') {
            Some((sc, r)) if matches!(sc.to_ascii_lowercase().as_str(), "sip" | "sips" | "tel") => {
                (sc.to_string(), r.to_string())
            }
            _ => {
                self.text(s);
                return;
            }
        };
        let rest = rest.split([';', '?']).next().unwrap_or("").to_string();
        let (user, host) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h.to_string()),
            None => (None, rest),
        };
        let host_p = {
            let h = host.trim_start_matches('[');
            let h = h.split(']').next().unwrap_or(h);
            match h.parse::<IpAddr>() {
                Ok(ip) => self.ip(ip),
                Err(_) => {
                    let bare = h.rsplit_once(':').map_or(h, |(a, _)| a);
                    match bare.parse::<IpAddr>() {
                        Ok(ip) => self.ip(ip),
                        Err(_) => "host".to_string(),
                    }
                }
            }
        };
        let user_p = user.map(|u| {
            let n = self.users.len() + 1;
            self.users
                .entry(u)
                .or_insert_with(|| format!("user-{n}"))
                .clone()
        });
        *s = match user_p {
            Some(u) => format!("{scheme}:{u}@{host_p}"),
            None => format!("{scheme}:{host_p}"),
        };
    }

    fn call_id(&mut self, s: &mut String) {
        if s.starts_with("inferred-") {
            return;
        }
        let n = self.calls.len() + 1;
        *s = self
            .calls
            .entry(s.clone())
            .or_insert_with(|| format!("call-{n}"))
            .clone();
    }
}

/// The fully expanded IPv6 form some SIP stacks write (fe80:0:0:0:...).
fn expanded(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => a
            .segments()
            .iter()
            .map(|s| format!("{s:x}"))
            .collect::<Vec<_>>()
            .join(":"),
    }
}

/// Rewrites the report in place with pseudonyms.
pub fn redact(r: &mut Report) {
    let mut x = Redactor::default();
    for f in &mut r.source.files {
        // File names often carry host or customer names.
        if f != "-" {
            *f = "capture".into();
        }
    }
    for f in &mut r.flows {
        x.endpoint(&mut f.src);
        x.endpoint(&mut f.dst);
        if let Some(c) = &mut f.call_id {
            x.call_id(c);
        }
        for s in f
            .findings
            .iter_mut()
            .chain(&mut f.tls_certificate_names)
            .chain(&mut f.encryption_evidence)
            .chain(f.sni.iter_mut())
            .chain(f.dns_name.iter_mut())
        {
            x.text(s);
        }
        if let Some(st) = &mut f.stun {
            for a in st
                .mapped_addresses
                .iter_mut()
                .chain(st.relayed_addresses.iter_mut())
            {
                x.text(a);
            }
        }
        f.rdns = None;
    }
    for c in &mut r.calls {
        x.call_id(&mut c.call_id);
        for u in [&mut c.from, &mut c.to].into_iter().flatten() {
            x.uri(u);
        }
        for m in &mut c.media {
            if let Some(a) = &mut m.announced {
                x.endpoint(a);
            }
            for a in &mut m.announced_all {
                x.addr_string(&mut a.ip);
            }
        }
        for e in &mut c.endpoints {
            x.addr_string(&mut e.ip);
            e.rdns = None;
        }
        for l in &mut c.ladder {
            x.endpoint(&mut l.src);
            x.endpoint(&mut l.dst);
            x.text(&mut l.label);
        }
        if let Some(b) = &mut c.bye_reason {
            x.text(b);
        }
        for s in c.findings.iter_mut().chain(&mut c.signalling.evidence) {
            x.text(s);
        }
        x.text(&mut c.verdict);
        c.user_agents.clear();
    }
    for rl in &mut r.relays {
        x.addr_string(&mut rl.ip);
        for s in rl
            .clients
            .iter_mut()
            .chain(rl.relayed_addresses.iter_mut())
            .chain(rl.peers.iter_mut())
            .chain(rl.evidence.iter_mut())
        {
            x.text(s);
        }
    }
    for l in &mut r.leaks {
        if let Some(c) = &mut l.call_id {
            x.call_id(c);
        }
        x.addr_string(&mut l.address);
        x.addr_string(&mut l.exposed_to);
    }
    for fw in &mut r.firewall {
        for d in &mut fw.destinations {
            x.addr_string(d);
        }
    }
    for w in &mut r.warnings {
        x.text(&mut w.example);
    }
    for q in &mut r.call_quality {
        x.call_id(&mut q.call_id);
        x.text(&mut q.direction);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stable_scope_preserving_pseudonyms() {
        let mut x = Redactor::default();
        let a = x.ip("192.168.1.2".parse().unwrap());
        let b = x.ip("212.242.33.35".parse().unwrap());
        assert_eq!((a.as_str(), b.as_str()), ("private-1", "public-1"));
        assert_eq!(x.ip("192.168.1.2".parse().unwrap()), "private-1");
        let mut s = "12345@192.168.1.2".to_string();
        x.call_id(&mut s);
        assert_eq!(s, "call-1");
        let mut u = "sip:alice@192.168.1.2:5060;transport=udp".to_string();
        x.uri(&mut u);
        assert_eq!(u, "sip:user-1@private-1");
        let mut t = "NAT: 192.168.1.2 is seen from outside as 212.242.33.35".to_string();
        x.text(&mut t);
        assert_eq!(t, "NAT: private-1 is seen from outside as public-1");
        let mut v6 = "sip:9876@fe80:0:0:0:21a:a0ff:fe07:32e0".to_string();
        x.uri(&mut v6);
        assert_eq!(v6, "sip:user-2@link-local-1");
    }
}

//! The tables after the calls: relays and servers, internal-address leaks,
//! the firewall view, every flow, and the warnings and limits.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::common::{
    hidden_note, Esc, MAX_FIREWALL_ROWS, MAX_FLOW_ROWS, MAX_LEAK_ROWS, MAX_RELAY_ROWS,
};
use super::format::{
    ep, flow_severity, fmt_bytes, fmt_dur, fmt_ts, is_internal, plural, severity_class,
};
use super::index::Index;
use crate::report::{FlowOut, Report};

/// STUN/TURN servers, media relays and SFUs, one row each.
pub(crate) fn relays_section(h: &mut String, r: &Report) {
    h.push_str("<section id=\"relays\">\n<h2>Relays and servers</h2>\n");
    if r.relays.is_empty() {
        h.push_str(
            "<p class=\"empty\">No STUN/TURN servers, media relays or SFUs seen.</p>\n</section>\n",
        );
        return;
    }
    h.push_str(
        "<div class=\"scroll\"><table>\n<thead><tr><th>address</th><th>kind</th><th>transport</th>\
         <th>operator</th><th>clients</th><th>relayed addresses</th><th>peers</th>\
         <th>ChannelData packets</th><th>media relayed</th></tr></thead>\n<tbody>\n",
    );
    for rl in r.relays.iter().take(MAX_RELAY_ROWS) {
        w!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
            Esc(&ep(&rl.ip, rl.port)),
            Esc(rl.kind),
            Esc(rl.transport),
            Esc(rl.operator.as_deref().unwrap_or("-")),
            code_list(&rl.clients),
            code_list(&rl.relayed_addresses),
            code_list(&rl.peers),
            rl.channel_data_packets,
            Esc(&crate::report::table::relay_use(rl))
        );
    }
    h.push_str("</tbody></table></div>\n");
    hidden_note(
        h,
        r.relays.len().min(MAX_RELAY_ROWS),
        r.relays.len(),
        "relays",
    );
    h.push_str("</section>\n");
}

/// Up to 8 values, one per line in `<code>`, and how many more.
fn code_list(v: &[String]) -> String {
    if v.is_empty() {
        return "-".into();
    }
    let mut s = String::new();
    for (i, x) in v.iter().take(8).enumerate() {
        if i > 0 {
            s.push_str("<br>");
        }
        w!(s, "<code>{}</code>", Esc(x));
    }
    if v.len() > 8 {
        w!(s, "<br>+{} more", v.len() - 8);
    }
    s
}

/// Internal addresses seen inside packets sent to public addresses.
pub(crate) fn leaks_section(h: &mut String, r: &Report, ix: &Index) {
    h.push_str("<section id=\"leaks\">\n<h2>Internal-address leaks</h2>\n");
    if r.leaks.is_empty() {
        h.push_str(
            "<p class=\"empty ok\">No private, CGNAT, ULA, link-local or loopback address \
             was seen inside packets sent to public addresses.</p>\n</section>\n",
        );
        return;
    }
    h.push_str(
        "<p class=\"muted\">Internal addresses found inside payloads (SIP headers, SDP, STUN, RTCP) \
         of packets sent to public addresses: they tell outsiders about the internal network.</p>\n\
         <div class=\"scroll\"><table>\n<thead><tr><th>internal address</th><th>scope</th><th>where</th>\
         <th>flow</th><th>call</th><th>exposed to</th><th>first seen</th><th>count</th></tr></thead>\n<tbody>\n",
    );
    for l in r.leaks.iter().take(MAX_LEAK_ROWS) {
        w!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td></tr>\n",
            Esc(&l.address),
            Esc(l.scope),
            Esc(l.where_),
            ix.flow_ref(r, l.flow_id),
            ix.call_ref(r, l.flow_id),
            Esc(&l.exposed_to),
            Esc(&fmt_ts(l.first_ts)),
            l.count
        );
    }
    h.push_str("</tbody></table></div>\n");
    hidden_note(h, r.leaks.len().min(MAX_LEAK_ROWS), r.leaks.len(), "leaks");
    h.push_str("</section>\n");
}

/// One destination in the firewall view.
#[derive(Default)]
struct Dest {
    flows: u32,
    packets: u64,
    bytes: u64,
    operator: Option<String>,
    protocols: BTreeSet<&'static str>,
    encryption: BTreeSet<&'static str>,
}

/// True when a flow is part of videoconferencing: an app, or a real-time protocol.
fn is_vc_flow(f: &FlowOut) -> bool {
    f.app.is_some()
        || f.call_id.is_some()
        || f.protocols
            .iter()
            .any(|p| !matches!(*p, "dns" | "http" | "tls" | "quic"))
}

/// Per app, its destinations: `(transport, ip, port)` to [`Dest`].
type Dests<'a> = BTreeMap<(&'a str, &'a str, u16), Dest>;

/// Per app, the remote addresses and ports its flows used, as plain text to
/// copy into firewall or proxy rules.
pub(crate) fn firewall_section(h: &mut String, r: &Report) {
    h.push_str("<section id=\"firewall\">\n<h2>Firewall view</h2>\n");
    let (apps, other) = firewall_dests(r);
    if apps.is_empty() {
        h.push_str("<p class=\"empty\">No videoconferencing flows to list.</p>\n");
    } else {
        h.push_str(
            "<p class=\"muted\">Per app, the remote addresses and ports its flows used, \
             as plain text to copy into firewall or proxy rules.</p>\n",
        );
    }
    let mut rows = 0usize;
    let mut hidden = 0usize;
    for (app, dests) in &apps {
        firewall_app(h, app, dests, &mut rows, &mut hidden);
    }
    if hidden > 0 {
        w!(
            h,
            "<p class=\"hidden-note\">{hidden} more destinations not listed; the embedded JSON has every flow.</p>\n"
        );
    }
    if other > 0 {
        w!(
            h,
            "<p class=\"muted\">{} without a videoconferencing protocol or app (web, DNS...) not listed here; see Flows.</p>\n",
            plural(other, "flow", "flows")
        );
    }
    h.push_str("</section>\n");
}

/// The remote side of every videoconferencing flow, by app, and how many
/// flows are not videoconferencing.
fn firewall_dests(r: &Report) -> (BTreeMap<&str, Dests<'_>>, usize) {
    let mut apps: BTreeMap<&str, Dests<'_>> = BTreeMap::new();
    let mut other = 0usize;
    for f in &r.flows {
        if !is_vc_flow(f) {
            other += 1;
            continue;
        }
        // The remote side: the destination, unless only the source is public.
        let remote = if is_internal(&f.dst.ip) && !is_internal(&f.src.ip) {
            &f.src
        } else {
            &f.dst
        };
        let app = f.app.as_deref().unwrap_or("unidentified");
        let d = apps
            .entry(app)
            .or_default()
            .entry((f.transport, remote.ip.as_str(), remote.port))
            .or_default();
        d.flows += 1;
        d.packets += f.packets;
        d.bytes += f.bytes;
        if d.operator.is_none() {
            d.operator.clone_from(&f.operator);
        }
        d.protocols.extend(f.protocols.iter().copied());
        d.encryption.insert(f.encryption);
    }
    (apps, other)
}

/// One app's block: a heading with its ports and a copy button, then one
/// line per destination while fewer than [`MAX_FIREWALL_ROWS`] are listed
/// on the page (`rows`); the others are counted in `hidden`.
fn firewall_app(h: &mut String, app: &str, dests: &Dests, rows: &mut usize, hidden: &mut usize) {
    w!(
        h,
        "<div class=\"fw\"><h3>{} <span class=\"muted\">{} · {}</span>\
         <button type=\"button\" class=\"copy\" hidden>Copy</button></h3>\n<pre class=\"fw-text\">",
        Esc(app),
        plural(dests.len(), "destination", "destinations"),
        Esc(&port_summary(dests))
    );
    w!(
        h,
        "# {}: {}\n",
        Esc(app),
        plural(dests.len(), "destination", "destinations")
    );
    for ((t, ip, port), d) in dests {
        if *rows >= MAX_FIREWALL_ROWS {
            *hidden += 1;
            continue;
        }
        *rows += 1;
        let protos: Vec<&str> = d.protocols.iter().copied().collect();
        let enc: Vec<&str> = d.encryption.iter().copied().collect();
        w!(
            h,
            "{:<4} {:<40} {:>5}  # {}{}; {}; {}; {} flow{}, {} pkts\n",
            t,
            Esc(ip),
            port,
            Esc(d.operator.as_deref().unwrap_or("")),
            if d.operator.is_some() { "" } else { "-" },
            Esc(&if protos.is_empty() {
                "-".into()
            } else {
                protos.join(",")
            }),
            Esc(&enc.join(",")),
            d.flows,
            if d.flows == 1 { "" } else { "s" },
            d.packets
        );
    }
    h.push_str("</pre></div>\n");
}

/// The ports of an app's destinations per transport, "udp 3478,3480; tcp 443",
/// at most 40 a transport.
fn port_summary(dests: &Dests) -> String {
    let mut ports: BTreeMap<&str, BTreeSet<u16>> = BTreeMap::new();
    for (t, _, p) in dests.keys() {
        ports.entry(t).or_default().insert(*p);
    }
    let port_text: Vec<String> = ports
        .iter()
        .map(|(t, ps)| {
            let list: Vec<String> = ps.iter().take(40).map(|p| p.to_string()).collect();
            format!(
                "{t} {}{}",
                list.join(","),
                if ps.len() > 40 { ",…" } else { "" }
            )
        })
        .collect();
    port_text.join("; ")
}

/// Every flow (up to [`MAX_FLOW_ROWS`]), each row linked from elsewhere by
/// its id, with a filter box that the script shows.
pub(crate) fn flows_section(h: &mut String, r: &Report, ix: &Index) {
    h.push_str("<section id=\"flows\">\n<h2>Flows</h2>\n");
    if r.flows.is_empty() {
        h.push_str("<p class=\"empty\">No flows.</p>\n</section>\n");
        return;
    }
    h.push_str(
        "<p><input id=\"flow-filter\" type=\"search\" placeholder=\"Filter flows: address, app, protocol…\" \
         aria-label=\"Filter flows\" hidden></p>\n\
         <div class=\"scroll\"><table class=\"flows\">\n<thead><tr><th>#</th><th>transport</th><th>source</th>\
         <th>destination</th><th>app / server name</th><th>protocols</th><th>encryption</th>\
         <th>operator</th><th>packets</th><th>bytes</th><th>duration</th><th>call</th></tr></thead>\n<tbody>\n",
    );
    for f in r.flows.iter().take(MAX_FLOW_ROWS) {
        let name = match (&f.app, &f.sni) {
            (Some(a), Some(s)) => format!("{} <code>{}</code>", Esc(a), Esc(s)),
            (Some(a), None) => Esc(a).to_string(),
            (None, Some(s)) => format!("<code>{}</code>", Esc(s)),
            (None, None) => "-".into(),
        };
        w!(
            h,
            "<tr id=\"flow-{}\" class=\"{}\"><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td>\
             <td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>\n",
            f.id,
            severity_class(flow_severity(f)),
            f.id,
            Esc(f.transport),
            Esc(&ep(&f.src.ip, f.src.port)),
            Esc(&ep(&f.dst.ip, f.dst.port)),
            Esc(&if f.protocols.is_empty() {
                "-".into()
            } else {
                f.protocols.join(", ")
            }),
            Esc(f.encryption),
            Esc(f.operator.as_deref().unwrap_or("-")),
            f.packets,
            Esc(&fmt_bytes(f.bytes)),
            Esc(&fmt_dur(f.last_ts - f.first_ts)),
            ix.call_ref(r, f.id),
        );
    }
    h.push_str("</tbody></table></div>\n");
    hidden_note(h, ix.shown_flows, r.flows.len(), "flows");
    h.push_str("</section>\n");
}

/// Warnings with their counts and first examples, then the input counters,
/// the limits in force and what they cost, and the SIP method and status
/// counts.
pub(crate) fn warnings_section(h: &mut String, r: &Report) {
    h.push_str("<section id=\"warnings\">\n<h2>Warnings and limits</h2>\n");
    if r.warnings.is_empty() {
        h.push_str("<p class=\"ok\">No warnings.</p>\n");
    } else {
        h.push_str(
            "<div class=\"scroll\"><table>\n<thead><tr><th>count</th><th>warning</th><th>example</th></tr></thead>\n<tbody>\n",
        );
        for wv in &r.warnings {
            w!(
                h,
                "<tr><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
                wv.count,
                Esc(&wv.kind),
                Esc(&wv.example)
            );
        }
        h.push_str("</tbody></table></div>\n");
    }
    let s = &r.source;
    let l = &r.limits;
    h.push_str("<dl class=\"limits\">\n");
    let mut item = |k: &str, v: String| {
        w!(h, "<dt>{}</dt><dd>{}</dd>\n", Esc(k), Esc(&v));
    };
    item("packets read", s.packets.to_string());
    item("malformed packets", s.malformed.to_string());
    item("dropped by the capture", s.dropped.to_string());
    item("not UDP/TCP over IP (skipped)", s.skipped.to_string());
    item(
        "from tunnels (GRE/ERSPAN/VXLAN)",
        s.decapsulated.to_string(),
    );
    item("reassembled from fragments", s.reassembled.to_string());
    item(
        "flows",
        format!(
            "peak {} live of max {}; {} expired after {} s idle; {} evicted",
            l.peak_live_flows, l.max_flows, l.flows_expired, l.flow_idle_timeout_s, l.flows_evicted
        ),
    );
    item(
        "fragments",
        format!(
            "{} datagrams dropped (max {})",
            l.fragment_datagrams_dropped, l.max_fragment_datagrams
        ),
    );
    item(
        "stream reassembly",
        format!(
            "{} bytes not reassembled (buffer {} bytes)",
            l.stream_bytes_dropped, l.max_stream_buffer
        ),
    );
    item(
        "calls",
        format!("{} not tracked (max {})", l.calls_dropped, l.max_calls),
    );
    let sip = |m: &BTreeMap<String, u64>| -> String {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !r.sip.requests.is_empty() {
        item("SIP requests", sip(&r.sip.requests));
    }
    if !r.sip.responses.is_empty() {
        item("SIP responses", sip(&r.sip.responses));
    }
    h.push_str("</dl>\n</section>\n");
}

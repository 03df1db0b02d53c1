//! The call cards: per call its verdict, parties, app, signalling, media,
//! where encryption ends, relays and servers, leaks and times, then its
//! "where it goes" graph and its ladder.

use std::fmt::Write as _;

use super::common::{hidden_note, Esc, MAX_CALLS, MAX_CARD_LEAKS};
use super::format::{call_status, ep, fmt_dur, fmt_ts, is_encrypting, is_internal, plural, short};
use super::graph::Graph;
use super::index::Index;
use super::ladder::ladder_svg;
use crate::report::{CallOut, LeakOut, Report};

/// A card per call, up to [`MAX_CALLS`].
pub(crate) fn calls_section(h: &mut String, r: &Report, ix: &Index) {
    h.push_str("<section id=\"calls\">\n<h2>Calls</h2>\n");
    if r.calls.is_empty() {
        h.push_str(
            "<p class=\"empty\">No calls found: no SIP dialog, and no media \
             (ICE/STUN with RTP or DTLS) between the same parties.</p>\n",
        );
    }
    for (n, c) in r.calls.iter().enumerate().take(MAX_CALLS) {
        let quality = r.call_quality.iter().find(|q| q.call_id == c.call_id);
        call_card(h, ix, n, c, quality);
    }
    hidden_note(h, r.calls.len().min(MAX_CALLS), r.calls.len(), "calls");
    h.push_str("</section>\n");
}

/// Card `n` (from 0): its head and facts, then the drawings.
fn call_card(
    h: &mut String,
    ix: &Index,
    n: usize,
    c: &CallOut,
    quality: Option<&crate::report::CallQualityOut>,
) {
    let (class, badge) = call_status(c);
    w!(
        h,
        "<article class=\"call-card {class}\" id=\"call-{}\">\n\
         <div class=\"card-head\"><span class=\"badge {class}\">{badge}</span>\
         <span class=\"call-no\">Call {}</span><span class=\"call-id\" title=\"Call-ID\">{}</span></div>\n\
         <p class=\"verdict\">{}</p>\n<dl class=\"facts\">\n",
        n + 1,
        n + 1,
        Esc(&short(&c.call_id, 64)),
        Esc(&c.verdict)
    );
    fact(h, "Parties", &parties(c, ix));
    fact(
        h,
        "App",
        &Esc(c.app.as_deref().unwrap_or("not identified")).to_string(),
    );
    fact(h, "Signalling", &signalling(c));
    fact(h, "Media", &media(c));
    if let Some(q) = quality {
        let class = if q.mos >= 4.0 {
            "ok"
        } else if q.mos < 3.1 {
            "bad"
        } else {
            "unk"
        };
        let text = format!(
            "<span class=\"{class}\">MOS {:.2}</span>{}, worst direction {}{}",
            q.mos,
            if q.estimate { " (estimate)" } else { "" },
            Esc(&q.direction),
            if q.limited_by == "none" {
                String::new()
            } else {
                format!(", limited by {}", q.limited_by)
            }
        );
        fact(h, "Audio quality", &text);
    }
    fact(h, "Encryption ends", &encryption_ends(c));
    if c.encryption_basis == "policy" {
        fact(
            h,
            "Basis",
            "<span class=\"unk\">the app's documented policy: the payload itself cannot be checked</span>",
        );
    }
    fact(h, "Relays and servers", &servers(c, ix));
    fact(h, "Leaks", &leaks(c, ix));
    fact(h, "When", &when(c));
    optional_facts(h, c, ix);
    h.push_str("</dl>\n");

    let graph = Graph::build(c, ix);
    h.push_str("<details class=\"graph-box\" open><summary>Where it goes</summary>\n");
    graph.svg(h, n);
    h.push_str("</details>\n");
    h.push_str("<details class=\"ladder-box\" open><summary>Call ladder</summary>\n");
    ladder_svg(h, c, ix, &graph, n);
    h.push_str("</details>\n</article>\n");
}

/// One `<dt>`/`<dd>` pair; `html` is already escaped.
fn fact(h: &mut String, name: &str, html: &str) {
    w!(h, "<dt>{name}</dt><dd>{html}</dd>\n");
}

/// From and To when the signalling names them, else the parties'
/// addresses; then, for each party behind a NAT, its internal addresses.
fn parties(c: &CallOut, ix: &Index) -> String {
    let nat = ix.behind_nat(c);
    let mut v: Vec<String> = Vec::new();
    let named = c.from.is_some() || c.to.is_some();
    if named {
        v.push(format!(
            "{} → {}",
            Esc(c.from.as_deref().unwrap_or("unknown")),
            Esc(c.to.as_deref().unwrap_or("unknown"))
        ));
    }
    for e in c
        .endpoints
        .iter()
        .filter(|e| matches!(e.role, "peer" | "caller" | "callee"))
    {
        let behind = nat.get(e.ip.as_str());
        if named && behind.is_none() {
            continue;
        }
        let who = if named {
            e.role
        } else if is_internal(&e.ip) {
            "local client"
        } else {
            "remote peer"
        };
        let mut s = format!("{who} {}", Esc(&ep(&e.ip, e.port)));
        if let Some(internal) = behind {
            w!(s, ", behind NAT: internal {}", Esc(&internal.join(", ")));
        }
        if !v.contains(&s) {
            v.push(s);
        }
    }
    if v.is_empty() {
        "unknown".into()
    } else {
        v.join("<br>")
    }
}

/// The signalling protocol and transport, and whether it is encrypted.
fn signalling(c: &CallOut) -> String {
    if c.signalling.protocol == "unknown" {
        if c.inferred {
            "not seen (call inferred from its media)".to_string()
        } else {
            "not seen".to_string()
        }
    } else {
        format!(
            "{} over {} — {}",
            Esc(c.signalling.protocol),
            Esc(c.signalling.transport),
            if c.signalling.encrypted {
                "<span class=\"ok\">encrypted</span>"
            } else {
                "<span class=\"bad\">cleartext</span>"
            }
        )
    }
}

/// One line per distinct media description (kind, encryption, key exchange,
/// exposed keys, not seen), with how many media share it.
fn media(c: &CallOut) -> String {
    let mut media: Vec<(String, usize)> = Vec::new();
    for m in &c.media {
        let mut s = String::new();
        if m.kind != "unknown" {
            w!(s, "{} ", Esc(m.kind));
        }
        // Encrypted media whose keys were exposed is not protected: it
        // takes the colour of the call's verdict, not of its cipher.
        let enc_class = if m.keys_exposed || c.encrypted == "keys-exposed" {
            "bad"
        } else if is_encrypting(m.encryption) {
            "ok"
        } else if m.encryption == "none" {
            "bad"
        } else {
            "unk"
        };
        w!(
            s,
            "<span class=\"{enc_class}\">{}</span>",
            Esc(if m.encryption == "none" {
                "not encrypted"
            } else {
                m.encryption
            })
        );
        if !matches!(m.key_exchange, "unknown" | "none") {
            w!(s, ", keys by {}", Esc(m.key_exchange));
        }
        if m.keys_exposed {
            s.push_str(", <span class=\"bad\">keys exposed in cleartext signalling</span>");
        }
        if !m.seen {
            s.push_str(" <span class=\"muted\">(announced in SDP, not in the capture)</span>");
        }
        match media.iter_mut().find(|(t, _)| *t == s) {
            Some((_, k)) => *k += 1,
            None => media.push((s, 1)),
        }
    }
    if media.is_empty() {
        return "none seen".to_string();
    }
    media
        .iter()
        .map(|(s, k)| {
            if *k > 1 {
                format!("{s} ×{k}")
            } else {
                s.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// Where the media is decrypted: at the other party, at the provider's
/// servers (named by the operator of the call's SFU or relay, or its app),
/// nowhere, or unknown.
fn encryption_ends(c: &CallOut) -> String {
    let operator = c
        .endpoints
        .iter()
        .filter(|e| matches!(e.role, "sfu" | "media-relay" | "relay"))
        .find_map(|e| e.operator.as_deref())
        .or(c.app.as_deref());
    match (c.encrypted, c.encryption_ends) {
        ("no", _) => "<span class=\"bad\">nowhere: media is sent in clear</span>".to_string(),
        ("keys-exposed", _) => {
            "<span class=\"bad\">anyone who saw the signalling holds the keys</span>".to_string()
        }
        (_, "peer") => "<span class=\"ok\">at the other party: end to end</span>".to_string(),
        (_, "provider-server") => format!(
            "<span class=\"warn\">at {} servers: the provider can see the media (not end to end)</span>",
            match operator {
                Some(o) => format!("{}'s", Esc(o)),
                None => "the provider's".to_string(),
            }
        ),
        (_, "provider-server-unless-e2ee") => format!(
            "<span class=\"warn\">at {} servers unless the meeting enabled end-to-end encryption (not visible on the wire)</span>",
            match operator {
                Some(o) => format!("{}'s", Esc(o)),
                None => "the provider's".to_string(),
            }
        ),
        _ => "unknown".to_string(),
    }
}

/// The call's servers and relays: its endpoints that are not parties, then
/// the relays of its flows at other addresses.
fn servers(c: &CallOut, ix: &Index) -> String {
    let mut servers: Vec<String> = Vec::new();
    let mut listed: Vec<String> = Vec::new();
    for e in c
        .endpoints
        .iter()
        .filter(|e| !matches!(e.role, "peer" | "caller" | "callee"))
    {
        let op = e
            .operator
            .as_deref()
            .map(|o| format!(" ({})", Esc(o)))
            .unwrap_or_default();
        let s = format!("{} {}{op}", Esc(e.role), Esc(&ep(&e.ip, e.port)));
        if !servers.contains(&s) {
            servers.push(s);
        }
        listed.push(ep(&e.ip, e.port));
    }
    for id in &c.flow_ids {
        for rl in ix.relays_by_flow.get(id).into_iter().flatten() {
            if listed.contains(&ep(&rl.ip, rl.port)) {
                continue;
            }
            let op = rl
                .operator
                .as_deref()
                .map(|o| format!(" ({})", Esc(o)))
                .unwrap_or_default();
            let s = format!("{} {}{op}", Esc(rl.kind), Esc(&ep(&rl.ip, rl.port)));
            if !servers.contains(&s) {
                servers.push(s);
            }
        }
    }
    if servers.is_empty() {
        "none seen".to_string()
    } else {
        servers.join("<br>")
    }
}

/// The leaks of the call's flows, up to [`MAX_CARD_LEAKS`].
fn leaks(c: &CallOut, ix: &Index) -> String {
    let leaks: Vec<&LeakOut> = c
        .flow_ids
        .iter()
        .flat_map(|id| ix.leaks.get(id).into_iter().flatten().copied())
        .collect();
    if leaks.is_empty() {
        return "<span class=\"ok\">none seen</span>".to_string();
    }
    let mut s = format!(
        "<span class=\"bad\">{}</span><ul class=\"compact\">",
        plural(
            leaks.len(),
            "internal address leaked",
            "internal-address leaks"
        )
    );
    for l in leaks.iter().take(MAX_CARD_LEAKS) {
        w!(
            s,
            "<li><code>{}</code> ({}) in {} to <code>{}</code> ×{}</li>",
            Esc(&l.address),
            Esc(l.scope),
            Esc(l.where_),
            Esc(&l.exposed_to),
            l.count
        );
    }
    if leaks.len() > MAX_CARD_LEAKS {
        w!(
            s,
            "<li><a href=\"#leaks\">{} more in the leaks table</a></li>",
            leaks.len() - MAX_CARD_LEAKS
        );
    }
    s.push_str("</ul>");
    s
}

/// Start, duration and state, with the final status and BYE reason.
fn when(c: &CallOut) -> String {
    let mut when = format!(
        "{}, {} ({})",
        Esc(&fmt_ts(c.first_ts)),
        Esc(&fmt_dur(c.last_ts - c.first_ts)),
        Esc(c.state)
    );
    if let Some(st) = c.final_status {
        w!(when, ", final status {st}");
    }
    if let Some(b) = &c.bye_reason {
        w!(when, ", reason: {}", Esc(b));
    }
    when
}

/// User agents, findings and RTP streams, each when there are any.
fn optional_facts(h: &mut String, c: &CallOut, ix: &Index) {
    if !c.user_agents.is_empty() {
        let ua: Vec<String> = c
            .user_agents
            .iter()
            .map(|u| format!("<code>{}</code>", Esc(u)))
            .collect();
        fact(h, "User agents", &ua.join("<br>"));
    }
    if !c.findings.is_empty() {
        let f: Vec<String> = c.findings.iter().map(|f| Esc(f).to_string()).collect();
        fact(h, "Findings", &f.join("<br>"));
    }
    let streams = c
        .flow_ids
        .iter()
        .filter_map(|id| ix.flow(*id))
        .map(|f| f.rtp_streams.len())
        .sum::<usize>();
    if streams > 0 {
        fact(
            h,
            "RTP streams",
            &format!(
                "<a href=\"#streams\">{}</a>",
                plural(streams, "stream", "streams")
            ),
        );
    }
}

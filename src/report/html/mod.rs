//! The HTML report (`--format html`): one self-contained file that someone
//! who will not read JSON can open offline and see, per call, whether it is
//! encrypted, why, and where its media goes.
//!
//! The page is rendered here into static HTML and inline SVG, so it reads
//! without JavaScript: per call a card (verdict, parties, protection, where
//! encryption ends, relays, leaks), a "where it goes" graph and a ladder
//! diagram; then stream health plots, relays, leaks, a firewall view, flows,
//! warnings and limits. The report itself, exactly as `--format json`
//! serialises it, is embedded in `<script type="application/json"
//! id="vcscope-report">`; a small script (`script.js`, beside this file)
//! checks the page against it, adds a flow filter and copy buttons, and
//! marks the root element `data-render="ok"` (or `"error"`).
//!
//! Captures are attacker-controlled (SIP URIs, SNI, user agents): every string
//! goes through [`Esc`]; the embedded JSON has `</` and `<!--` escaped so it
//! cannot leave its element; and a Content-Security-Policy allows no network
//! fetch and no script but the page's own (pinned by its SHA-256).
//!
//! What is drawn is capped ([`MAX_CALLS`], [`MAX_FLOW_ROWS`], ...) and the page
//! says how much is hidden, so the report of a large capture still loads in a
//! moment; the embedded JSON always holds everything.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{self, Write as _};
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};

use crate::report::{CallOut, FlowOut, LeakOut, RelayOut, Report, RtpStreamOut};

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("script.js");

/// Call cards drawn at most.
pub const MAX_CALLS: usize = 200;
/// Rows of the flows table at most.
pub const MAX_FLOW_ROWS: usize = 2000;
/// Rows of the leaks table at most.
pub const MAX_LEAK_ROWS: usize = 2000;
/// Destinations listed in the firewall view at most.
pub const MAX_FIREWALL_ROWS: usize = 2000;
/// RTP streams plotted at most.
pub const MAX_STREAMS: usize = 300;
/// Relays listed at most.
pub const MAX_RELAY_ROWS: usize = 2000;

const MAX_GRAPH_NODES: usize = 24;
const MAX_EDGE_LABELS: usize = 3;
const MAX_LANES: usize = 8;
const MAX_LADDER_ROWS: usize = 200;
const MAX_CARD_LEAKS: usize = 8;
const MAX_TURN_PEERS: usize = 4;

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($dst:expr, $($arg:tt)*) => {{
        let _ = write!($dst, $($arg)*);
    }};
}

/// Writes the page to `out`.
pub fn write(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let page = render(report)?;
    out.write_all(page.as_bytes())
}

/// The whole page.
pub fn render(report: &Report) -> io::Result<String> {
    let json = embedded_json(report)?;
    let ix = Index::new(report);
    let mut h = String::with_capacity(json.len() + 256 * 1024);
    head(&mut h, report);
    header(&mut h, report);
    h.push_str("<main>\n");
    calls_section(&mut h, report, &ix);
    streams_section(&mut h, report, &ix);
    relays_section(&mut h, report);
    leaks_section(&mut h, report, &ix);
    firewall_section(&mut h, report);
    flows_section(&mut h, report, &ix);
    warnings_section(&mut h, report);
    h.push_str("</main>\n");
    w!(
        h,
        "<footer>vcscope {} · the full report is embedded in this file as JSON \
         (<code>script#vcscope-report</code>); what is drawn above is capped, the JSON is not.</footer>\n",
        Esc(report.vcscope_version)
    );
    h.push_str("<script type=\"application/json\" id=\"vcscope-report\">");
    h.push_str(&json);
    h.push_str("</script>\n<script>");
    h.push_str(SCRIPT);
    h.push_str("</script>\n</body>\n</html>\n");
    Ok(h)
}

/// The report as `serde_json` writes it, made safe inside a `<script>`
/// element: `</` becomes `<\/` and `<!--` becomes `\u003c!--`, both valid
/// JSON escapes inside strings (the only place `<` can occur).
pub fn embedded_json(report: &Report) -> io::Result<String> {
    let raw = serde_json::to_string(report).map_err(io::Error::other)?;
    Ok(raw.replace("</", "<\\/").replace("<!--", "\\u003c!--"))
}

/// HTML-escapes text for element content and quoted attribute values;
/// control characters become U+FFFD.
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut last = 0;
        for (i, c) in s.char_indices() {
            let rep = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                '\t' | '\n' => continue,
                c if c.is_control() => "\u{FFFD}",
                _ => continue,
            };
            f.write_str(s.get(last..i).unwrap_or(""))?;
            f.write_str(rep)?;
            last = i + c.len_utf8();
        }
        f.write_str(s.get(last..).unwrap_or(""))
    }
}

/// Lookups built once, so that nothing below is quadratic.
struct Index<'a> {
    flows: HashMap<u32, &'a FlowOut>,
    leaks: HashMap<u32, Vec<&'a LeakOut>>,
    relays_by_ip: HashMap<&'a str, &'a RelayOut>,
    relays_by_flow: HashMap<u32, Vec<&'a RelayOut>>,
    call_of_flow: HashMap<u32, usize>,
    shown_flows: usize,
}

impl<'a> Index<'a> {
    fn new(r: &'a Report) -> Self {
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

    fn flow(&self, id: u32) -> Option<&'a FlowOut> {
        self.flows.get(&id).copied()
    }

    /// A link to the flow's row when it is in the table, else plain text.
    fn flow_ref(&self, r: &Report, id: u32) -> String {
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

    fn call_ref(&self, r: &Report, flow_id: u32) -> String {
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

fn is_internal(ip: &str) -> bool {
    ip.parse::<IpAddr>()
        .is_ok_and(|a| crate::scope::scope_of(a).is_internal())
}

fn ep(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// "safe" / "exposed" / "unknown", and the badge text.
fn call_status(c: &CallOut) -> (&'static str, &'static str) {
    match c.encrypted {
        "yes" => ("safe", "Encrypted"),
        "no" => ("exposed", "Not encrypted"),
        "keys-exposed" => ("exposed", "Keys exposed"),
        _ => ("unknown", "Unknown"),
    }
}

fn is_encrypting(enc: &str) -> bool {
    matches!(enc, "srtp" | "dtls-srtp" | "tls" | "dtls" | "quic" | "zrtp")
}

/// Severity of a flow's protection: 0 encrypted, 1 cleartext but not
/// content (STUN, DNS), 2 unknown, 3 content in the clear.
fn flow_severity(f: &FlowOut) -> u8 {
    if is_encrypting(f.encryption) {
        0
    } else if f.encryption == "none" {
        if f.protocols
            .iter()
            .any(|p| matches!(*p, "rtp" | "rtcp" | "sip" | "sdp" | "http"))
        {
            3
        } else {
            1
        }
    } else {
        2
    }
}

fn severity_class(s: u8) -> &'static str {
    match s {
        0 => "e-safe",
        1 => "e-neutral",
        2 => "e-unknown",
        _ => "e-exposed",
    }
}

/// Short protection text of a flow: the encryption, or what is in clear.
fn protection(f: &FlowOut) -> String {
    if is_encrypting(f.encryption) {
        return f.encryption.to_string();
    }
    let main = f
        .protocols
        .iter()
        .find(|p| matches!(**p, "rtp" | "sip" | "rtcp" | "http"))
        .or_else(|| f.protocols.first())
        .copied()
        .unwrap_or("data");
    match f.encryption {
        "none" if flow_severity(f) == 3 => format!("{main} in clear"),
        "none" => format!("{main} (clear)"),
        _ => format!("{main}, unknown"),
    }
}

fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS.get(u).unwrap_or(&"B"))
    }
}

fn fmt_dur(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "-".into();
    }
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{} min {} s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!(
            "{} h {} min",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    }
}

/// Seconds since the epoch as a UTC date and time.
fn fmt_ts(ts: f64) -> String {
    if !ts.is_finite() || ts < 0.0 {
        return format!("{ts}");
    }
    let ms_total = (ts * 1000.0).round() as i64;
    let secs = ms_total.div_euclid(1000);
    let ms = ms_total.rem_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{ms:03} UTC",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

// ---------------------------------------------------------------------------
// Page frame

fn head(h: &mut String, r: &Report) {
    let what = source_name(r);
    w!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\" data-max-calls=\"{MAX_CALLS}\">\n<head>\n\
         <meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; \
         script-src 'sha256-{}'\">\n\
         <meta name=\"generator\" content=\"vcscope {}\">\n\
         <title>vcscope report: {}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n",
        base64(&sha256(SCRIPT.as_bytes())),
        Esc(r.vcscope_version),
        Esc(&short(&what, 80)),
    );
}

fn source_name(r: &Report) -> String {
    match &r.source.interface {
        Some(i) => format!("interface {i}"),
        None if r.source.files.is_empty() => "no input".into(),
        None => r.source.files.join(", "),
    }
}

fn header(h: &mut String, r: &Report) {
    let s = &r.source;
    h.push_str("<div id=\"render-error\" class=\"render-error\" hidden></div>\n<header>\n");
    w!(
        h,
        "<h1>Is this call encrypted, and where does it go?</h1>\n<p class=\"source\">{}",
        Esc(&source_name(r))
    );
    w!(h, " · {} packets · {}", s.packets, Esc(&fmt_bytes(s.bytes)));
    if let (Some(a), Some(b)) = (s.first_ts, s.last_ts) {
        w!(
            h,
            " · {} to {} ({})",
            Esc(&fmt_ts(a)),
            Esc(&fmt_ts(b)),
            Esc(&fmt_dur(b - a))
        );
    }
    h.push_str("</p>\n<div class=\"summary\">");
    let (mut safe, mut exposed, mut unknown) = (0, 0, 0);
    for c in &r.calls {
        match call_status(c).0 {
            "safe" => safe += 1,
            "exposed" => exposed += 1,
            _ => unknown += 1,
        }
    }
    w!(
        h,
        "<span class=\"chip\">{}</span>",
        plural(r.calls.len(), "call", "calls")
    );
    if !r.calls.is_empty() {
        w!(
            h,
            "<span class=\"chip safe\">{safe} encrypted</span>\
             <span class=\"chip exposed\">{exposed} not encrypted or keys exposed</span>\
             <span class=\"chip unknown\">{unknown} unknown</span>"
        );
    }
    w!(
        h,
        "<span class=\"chip\">{}</span><span class=\"chip\">{}</span><span class=\"chip{}\">{}</span></div>\n",
        plural(r.flows.len(), "flow", "flows"),
        plural(r.relays.len(), "relay or server", "relays and servers"),
        if r.leaks.is_empty() { "" } else { " exposed" },
        plural(r.leaks.len(), "address leak", "address leaks"),
    );
    h.push_str(
        "<nav><a href=\"#calls\">Calls</a><a href=\"#streams\">Stream health</a>\
         <a href=\"#relays\">Relays</a><a href=\"#leaks\">Leaks</a>\
         <a href=\"#firewall\">Firewall view</a><a href=\"#flows\">Flows</a>\
         <a href=\"#warnings\">Warnings and limits</a></nav>\n</header>\n",
    );
}

fn hidden_note(h: &mut String, shown: usize, total: usize, what: &str) {
    if total > shown {
        w!(
            h,
            "<p class=\"hidden-note\">Showing the first {shown} of {total} {what}; \
             {} more are in the embedded JSON (and in <code>--format json</code>).</p>\n",
            total - shown
        );
    }
}

// ---------------------------------------------------------------------------
// Calls

fn calls_section(h: &mut String, r: &Report, ix: &Index) {
    h.push_str("<section id=\"calls\">\n<h2>Calls</h2>\n");
    if r.calls.is_empty() {
        h.push_str(
            "<p class=\"empty\">No calls found: no SIP dialog, and no media \
             (ICE/STUN with RTP or DTLS) between the same parties.</p>\n",
        );
    }
    for (n, c) in r.calls.iter().enumerate().take(MAX_CALLS) {
        call_card(h, ix, n, c);
    }
    hidden_note(h, r.calls.len().min(MAX_CALLS), r.calls.len(), "calls");
    h.push_str("</section>\n");
}

fn call_card(h: &mut String, ix: &Index, n: usize, c: &CallOut) {
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

    // Parties.
    let parties = if c.from.is_some() || c.to.is_some() {
        format!(
            "{} → {}",
            Esc(c.from.as_deref().unwrap_or("unknown")),
            Esc(c.to.as_deref().unwrap_or("unknown"))
        )
    } else {
        let mut v: Vec<String> = Vec::new();
        for e in c
            .endpoints
            .iter()
            .filter(|e| matches!(e.role, "peer" | "caller" | "callee"))
        {
            let who = if is_internal(&e.ip) {
                "local client"
            } else {
                "remote peer"
            };
            let s = format!("{who} {}", Esc(&ep(&e.ip, e.port)));
            if !v.contains(&s) {
                v.push(s);
            }
        }
        if v.is_empty() {
            "unknown".into()
        } else {
            v.join("<br>")
        }
    };
    fact(h, "Parties", &parties);
    fact(
        h,
        "App",
        &Esc(c.app.as_deref().unwrap_or("not identified")).to_string(),
    );

    // Signalling.
    let sig = if c.inferred || c.signalling.protocol == "unknown" {
        "not seen (call inferred from its media)".to_string()
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
    };
    fact(h, "Signalling", &sig);

    // Media.
    let mut media: Vec<(String, usize)> = Vec::new();
    for m in &c.media {
        let mut s = String::new();
        if m.kind != "unknown" {
            w!(s, "{} ", Esc(m.kind));
        }
        let enc_class = if is_encrypting(m.encryption) {
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
    let media_html = if media.is_empty() {
        "none seen".to_string()
    } else {
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
    };
    fact(h, "Media", &media_html);

    // Where encryption ends.
    let operator = c
        .endpoints
        .iter()
        .filter(|e| matches!(e.role, "sfu" | "media-relay" | "relay"))
        .find_map(|e| e.operator.as_deref())
        .or(c.app.as_deref());
    let ends = match (c.encrypted, c.encryption_ends) {
        ("no", _) => "<span class=\"bad\">nowhere: media is sent in clear</span>".to_string(),
        ("keys-exposed", _) => "<span class=\"bad\">anyone who saw the signalling holds the keys</span>"
            .to_string(),
        (_, ends) => match ends {
        "peer" => "<span class=\"ok\">at the other party: end to end</span>".to_string(),
        "provider-server" => format!(
            "<span class=\"warn\">at {} servers: the provider can see the media (not end to end)</span>",
            match operator {
                Some(o) => format!("{}'s", Esc(o)),
                None => "the provider's".to_string(),
            }
        ),
            _ => "unknown".to_string(),
        },
    };
    fact(h, "Encryption ends", &ends);

    // Relays and servers.
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
    fact(
        h,
        "Relays and servers",
        &if servers.is_empty() {
            "none seen".to_string()
        } else {
            servers.join("<br>")
        },
    );

    // Leaks of the call's flows.
    let leaks: Vec<&LeakOut> = c
        .flow_ids
        .iter()
        .flat_map(|id| ix.leaks.get(id).into_iter().flatten().copied())
        .collect();
    let leaks_html = if leaks.is_empty() {
        "<span class=\"ok\">none seen</span>".to_string()
    } else {
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
    };
    fact(h, "Leaks", &leaks_html);

    // When.
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
    fact(h, "When", &when);
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

// ---------------------------------------------------------------------------
// Where it goes: client → NAT → STUN/TURN → SFU/peer

const NODE_MIN_W: f64 = 160.0;
const NODE_MAX_W: f64 = 280.0;
const NODE_H: f64 = 54.0;
const NODE_GAP_Y: f64 = 18.0;
/// Height of the slot an edge takes when it passes through a column.
const PASS_H: f64 = 22.0;
const COL_GAP: f64 = 170.0;
const PAD: f64 = 12.0;

struct Node {
    ip: String,
    role: &'static str,
    operator: Option<String>,
    rdns: Option<String>,
    ports: BTreeSet<u16>,
    col: u8,
    /// Only announced in SDP, never seen.
    dashed: bool,
}

#[derive(Default)]
struct Edge {
    labels: Vec<(String, u32)>,
    severity: u8,
    dashed: bool,
    flows: Vec<u32>,
}

struct Graph {
    nodes: Vec<Node>,
    by_key: HashMap<String, usize>,
    edges: BTreeMap<(usize, usize), Edge>,
    hidden_nodes: usize,
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

fn role_text(role: &str, internal: bool) -> &'static str {
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
    fn node(&mut self, ip: &str, role: &'static str) -> Option<usize> {
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

    fn build(c: &CallOut, ix: &Index) -> Graph {
        let mut g = Graph {
            nodes: Vec::new(),
            by_key: HashMap::new(),
            edges: BTreeMap::new(),
            hidden_nodes: 0,
        };
        for e in &c.endpoints {
            if let Some(i) = g.node(&e.ip, static_role(e.role)) {
                if let Some(n) = g.nodes.get_mut(i) {
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
        let flows: Vec<&FlowOut> = c.flow_ids.iter().filter_map(|id| ix.flow(*id)).collect();
        for f in &flows {
            for (side, other) in [(&f.src, &f.dst), (&f.dst, &f.src)] {
                let role = ix
                    .relays_by_ip
                    .get(side.ip.as_str())
                    .map_or("host", |rl| static_role(rl.kind));
                if let Some(i) = g.node(&side.ip, role) {
                    if let Some(n) = g.nodes.get_mut(i) {
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
        for m in c.media.iter().filter(|m| !m.seen) {
            if let Some(a) = &m.announced {
                let fresh = !g.by_key.contains_key(&a.ip);
                if let Some(i) = g.node(&a.ip, "host") {
                    if let Some(n) = g.nodes.get_mut(i) {
                        n.ports.insert(a.port);
                        n.dashed |= fresh;
                    }
                }
            }
        }
        g.place_columns(&flows);

        // NAT: the public address a STUN server reported for a client.
        let mut nat_of: HashMap<usize, usize> = HashMap::new();
        for f in &flows {
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
            let Some(&ci) = g.by_key.get(&client.ip) else {
                continue;
            };
            if nat_of.contains_key(&ci) {
                continue;
            }
            let key = format!("nat {mapped_ip}");
            let ni = match g.by_key.get(&key) {
                Some(&i) => Some(i),
                None if g.nodes.len() < MAX_GRAPH_NODES => {
                    g.nodes.push(Node {
                        ip: mapped_ip,
                        role: "nat",
                        operator: None,
                        rdns: None,
                        ports: BTreeSet::new(),
                        col: 1,
                        dashed: false,
                    });
                    let i = g.nodes.len() - 1;
                    g.by_key.insert(key, i);
                    Some(i)
                }
                None => {
                    g.hidden_nodes += 1;
                    None
                }
            };
            if let Some(ni) = ni {
                if let Some(n) = g.nodes.get_mut(ni) {
                    n.ports.insert(mapped.port());
                }
                nat_of.insert(ci, ni);
            }
        }

        // Edges: one per flow, merged per pair of nodes, drawn left to right.
        for f in &flows {
            let (Some(&s), Some(&d)) = (g.by_key.get(&f.src.ip), g.by_key.get(&f.dst.ip)) else {
                continue;
            };
            let (a, b, server_port) = if g.col(s) <= g.col(d) {
                (s, d, f.dst.port)
            } else {
                (d, s, f.src.port)
            };
            let label = format!("{}/{} {}", f.transport, server_port, protection(f));
            let sev = flow_severity(f);
            let via_nat = nat_of
                .get(&a)
                .copied()
                .filter(|_| g.col(b) >= 2 && g.nodes.get(b).is_some_and(|n| !is_internal(&n.ip)));
            match via_nat {
                Some(nat) => {
                    g.edge(a, nat, "NAT".into(), 1, false, 0);
                    g.edge(nat, b, label, sev, false, f.id);
                }
                None => g.edge(a, b, label, sev, false, f.id),
            }
        }

        // TURN relays pass media on to their peers.
        let mut relays: Vec<&RelayOut> = Vec::new();
        for id in &c.flow_ids {
            for rl in ix.relays_by_flow.get(id).into_iter().flatten() {
                if !relays.iter().any(|x| std::ptr::eq(*x, *rl)) {
                    relays.push(rl);
                }
            }
        }
        for rl in relays {
            let Some(&ri) = g.by_key.get(&rl.ip) else {
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
                let fresh = !g.by_key.contains_key(&ip);
                if let Some(pi) = g.node(&ip, "peer") {
                    if fresh {
                        if let Some(n) = g.nodes.get_mut(pi) {
                            n.col = if is_internal(&ip) { 0 } else { 3 };
                            n.ports.insert(p.port());
                        }
                    }
                    let (a, b) = if g.col(ri) <= g.col(pi) {
                        (ri, pi)
                    } else {
                        (pi, ri)
                    };
                    g.edge(a, b, format!("relayed to :{}", p.port()), 1, true, 0);
                }
            }
        }

        // Media only announced in SDP: from the party that will send it.
        for m in c.media.iter().filter(|m| !m.seen) {
            let Some(a) = &m.announced else { continue };
            let Some(&ti) = g.by_key.get(&a.ip) else {
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
                .and_then(|e| g.by_key.get(&e.ip).copied())
            else {
                continue;
            };
            let (x, y) = if g.col(si) <= g.col(ti) {
                (si, ti)
            } else {
                (ti, si)
            };
            let sev = if is_encrypting(m.encryption) { 0 } else { 3 };
            g.edge(
                x,
                y,
                format!("{} :{} announced, not seen", m.kind, a.port),
                sev,
                true,
                0,
            );
        }
        g
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
                .filter_map(|f| self.by_key.get(&f.src.ip).copied())
                .find(|&i| self.col(i) == 3);
            if let Some(n) = first.and_then(|i| self.nodes.get_mut(i)) {
                n.col = 0;
            }
        }
    }

    /// Texts of a node: heading, address, and ports (or reverse name).
    fn node_texts(n: &Node) -> (String, String) {
        let internal = is_internal(&n.ip);
        let mut head = role_text(if n.dashed { "sdp" } else { n.role }, internal).to_string();
        if let Some(o) = &n.operator {
            head.push_str(" · ");
            head.push_str(o);
        }
        let ports: Vec<String> = n.ports.iter().take(4).map(|p| p.to_string()).collect();
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
        (head, third)
    }

    /// Draws the graph in columns; an edge that skips a column passes
    /// through a reserved slot of it, never through a node.
    fn svg(&self, h: &mut String, call_no: usize) {
        if self.nodes.is_empty() {
            h.push_str("<p class=\"empty\">No addresses recorded for this call.</p>\n");
            return;
        }
        let texts: Vec<(String, String)> = self.nodes.iter().map(Self::node_texts).collect();
        // Box width from the longest text, within bounds.
        let node_w = self
            .nodes
            .iter()
            .zip(&texts)
            .map(|(n, (head, third))| {
                let head = head.chars().count().min(36) as f64 * 7.0;
                let ip = n.ip.chars().count() as f64 * 6.7;
                let third = third.chars().count().min(40) as f64 * 6.0;
                head.max(ip).max(third) + 20.0
            })
            .fold(NODE_MIN_W, f64::max)
            .min(NODE_MAX_W);

        let cols: Vec<u8> = self
            .nodes
            .iter()
            .map(|n| n.col)
            .collect::<BTreeSet<u8>>()
            .into_iter()
            .collect();
        let ci = |col: u8| cols.iter().position(|c| *c == col).unwrap_or(0);
        #[derive(Clone, Copy)]
        enum Slot {
            Node(usize),
            Pass(usize),
        }
        let edges: Vec<(&(usize, usize), &Edge)> = self.edges.iter().collect();
        let mut slots: Vec<Vec<Slot>> = vec![Vec::new(); cols.len()];
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(s) = slots.get_mut(ci(n.col)) {
                s.push(Slot::Node(i));
            }
        }
        for (k, ((a, b), _)) in edges.iter().enumerate() {
            let (ca, cb) = (ci(self.col(*a)), ci(self.col(*b)));
            for c in (ca + 1)..cb {
                if let Some(s) = slots.get_mut(c) {
                    s.push(Slot::Pass(k));
                }
            }
        }
        let slot_h = |s: &Slot| match s {
            Slot::Node(_) => NODE_H + NODE_GAP_Y,
            Slot::Pass(_) => PASS_H,
        };
        let col_h: Vec<f64> = slots.iter().map(|s| s.iter().map(slot_h).sum()).collect();
        let max_h = col_h.iter().copied().fold(NODE_H, f64::max);
        let top = PAD + 20.0;
        let height = top + max_h + PAD;
        let x_of = |c: usize| PAD + c as f64 * (node_w + COL_GAP);
        // Room on the right for the arcs (and labels) of same-column edges.
        let arcs = self.edges.keys().any(|(a, b)| self.col(*a) == self.col(*b));
        let width = x_of(cols.len()) - COL_GAP + PAD + if arcs { 230.0 } else { 20.0 };
        // Node boxes (top-left) and pass-through centres per edge and column.
        let mut pos: Vec<(f64, f64)> = vec![(0.0, 0.0); self.nodes.len()];
        let mut pass: HashMap<(usize, usize), f64> = HashMap::new();
        for (c, col) in slots.iter().enumerate() {
            let mut y = top + (max_h - col_h.get(c).copied().unwrap_or(0.0)) / 2.0;
            for s in col {
                match s {
                    Slot::Node(i) => {
                        if let Some(p) = pos.get_mut(*i) {
                            *p = (x_of(c), y);
                        }
                    }
                    Slot::Pass(k) => {
                        pass.insert((*k, c), y + PASS_H / 2.0);
                    }
                }
                y += slot_h(s);
            }
        }

        w!(
            h,
            "<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} {height:.0}\" \
             width=\"{width:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"Where call {} goes\">\n",
            call_no + 1
        );
        for (c, col) in cols.iter().enumerate() {
            let name = match col {
                0 => "local side",
                1 => "NAT",
                2 => "STUN / TURN / signalling",
                _ => "far end",
            };
            w!(
                h,
                "<text class=\"col-head\" x=\"{:.0}\" y=\"{:.0}\">{name}</text>\n",
                x_of(c) + node_w / 2.0,
                PAD + 8.0
            );
        }
        let mut labels = String::new();
        for (k, ((a, b), e)) in edges.iter().enumerate() {
            let (Some(&(ax, ay)), Some(&(bx, by))) = (pos.get(*a), pos.get(*b)) else {
                continue;
            };
            let y1 = ay + NODE_H / 2.0;
            let y2 = by + NODE_H / 2.0;
            let (ca, cb) = (ci(self.col(*a)), ci(self.col(*b)));
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
                    let y = pass.get(&(k, c)).copied().unwrap_or(y1);
                    pts.push((x_of(c), y));
                    pts.push((x_of(c) + node_w, y));
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
            let shown = title.len().min(MAX_EDGE_LABELS);
            let more = title.len() - shown;
            let lines = shown + usize::from(more > 0);
            let first = ly - (lines as f64 - 1.0) * 6.0 + 3.5;
            w!(
                labels,
                "<text class=\"edge-label {class}\" x=\"{lx:.1}\" y=\"{first:.1}\"{}>",
                if ca == cb {
                    " style=\"text-anchor:start\""
                } else {
                    ""
                }
            );
            for (i, t) in title.iter().take(shown).enumerate() {
                w!(
                    labels,
                    "<tspan x=\"{lx:.1}\" dy=\"{}\">{}</tspan>",
                    if i == 0 { 0 } else { 12 },
                    Esc(&short(t, 30))
                );
            }
            if more > 0 {
                w!(
                    labels,
                    "<tspan x=\"{lx:.1}\" dy=\"12\">+{more} more</tspan>"
                );
            }
            labels.push_str("</text>\n");
        }
        h.push_str(&labels);
        for ((n, (x, y)), (head, third)) in self.nodes.iter().zip(&pos).zip(&texts) {
            let class = match n.col {
                0 => "n-local",
                1 => "n-nat",
                2 => "n-server",
                _ => "n-far",
            };
            w!(
                h,
                "<g class=\"node {class}{}\"><title>{}\n{}\n{}</title>\
                 <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{node_w:.0}\" height=\"{NODE_H}\" rx=\"7\"/>\
                 <text class=\"n-role\" x=\"{:.1}\" y=\"{:.1}\">{}</text>\
                 <text class=\"n-ip\" x=\"{:.1}\" y=\"{:.1}\">{}</text>\
                 <text class=\"n-more\" x=\"{:.1}\" y=\"{:.1}\">{}</text></g>\n",
                if n.dashed { " dashed" } else { "" },
                Esc(head),
                Esc(&n.ip),
                Esc(third),
                x + 9.0,
                y + 17.0,
                Esc(&short(head, 36)),
                x + 9.0,
                y + 33.0,
                Esc(&n.ip),
                x + 9.0,
                y + 47.0,
                Esc(&short(third, 40)),
            );
        }
        h.push_str("</svg>\n");
        if self.hidden_nodes > 0 {
            w!(
                h,
                "<p class=\"hidden-note\">{} not drawn.</p>\n",
                plural(self.hidden_nodes, "more address", "more addresses")
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Call ladder

struct Row {
    ts: f64,
    src: String,
    dst: String,
    label: String,
    /// Media and other flows: drawn as a bar, with this severity.
    flow: Option<(u8, bool)>,
}

const LANE_W: f64 = 200.0;
const ROW_H: f64 = 30.0;
const TIME_W: f64 = 86.0;
const LADDER_TOP: f64 = 50.0;

fn ladder_svg(h: &mut String, c: &CallOut, ix: &Index, g: &Graph, call_no: usize) {
    let mut rows: Vec<Row> = c
        .ladder
        .iter()
        .take(MAX_LADDER_ROWS)
        .map(|m| Row {
            ts: m.ts,
            src: m.src.ip.clone(),
            dst: m.dst.ip.clone(),
            label: m.label.clone(),
            flow: None,
        })
        .collect();
    let signalling_summarised = !c.ladder.is_empty();
    for id in &c.flow_ids {
        if signalling_summarised && c.signalling_flows.contains(id) {
            continue;
        }
        let Some(f) = ix.flow(*id) else { continue };
        if rows.len() >= MAX_LADDER_ROWS {
            break;
        }
        let protos = if f.protocols.is_empty() {
            f.transport.to_string()
        } else {
            f.protocols
                .iter()
                .take(4)
                .copied()
                .collect::<Vec<_>>()
                .join("+")
        };
        rows.push(Row {
            ts: f.first_ts,
            src: f.src.ip.clone(),
            dst: f.dst.ip.clone(),
            label: format!(
                "{protos}: {} pkts, {}, {}",
                f.packets,
                fmt_dur(f.last_ts - f.first_ts),
                if is_encrypting(f.encryption) {
                    f.encryption
                } else if f.encryption == "none" {
                    "cleartext"
                } else {
                    "encryption unknown"
                }
            ),
            flow: Some((flow_severity(f), f.packets_rev > 0)),
        });
    }
    if rows.is_empty() {
        h.push_str(
            "<p class=\"empty\">No signalling messages or flows recorded for this call.</p>\n",
        );
        return;
    }
    rows.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    if c.ladder.is_empty() && !c.signalling_flows.is_empty() {
        h.push_str(
            "<p class=\"muted\">No individual signalling messages were recorded; \
             each row below is one flow of the call, at its first packet.</p>\n",
        );
    } else if c.ladder.is_empty() {
        h.push_str(
            "<p class=\"muted\">No signalling seen; each row is one flow of the call \
             (STUN, DTLS, media) at its first packet, with its size and duration.</p>\n",
        );
    }

    // Lanes: one per address, local side left as in the graph.
    let mut lanes: Vec<String> = Vec::new();
    for r in &rows {
        for ip in [&r.src, &r.dst] {
            if !lanes.contains(ip) {
                lanes.push(ip.clone());
            }
        }
    }
    let col_of = |ip: &str| {
        g.by_key
            .get(ip)
            .and_then(|&i| g.nodes.get(i))
            .map_or(3, |n| n.col)
    };
    lanes.sort_by_key(|ip| col_of(ip));
    let other = lanes.len() > MAX_LANES;
    lanes.truncate(if other { MAX_LANES - 1 } else { MAX_LANES });
    let lane_of = |ip: &str| -> usize { lanes.iter().position(|l| l == ip).unwrap_or(lanes.len()) };
    let nlanes = lanes.len() + usize::from(other);
    let width = TIME_W + nlanes as f64 * LANE_W;
    let height = LADDER_TOP + rows.len() as f64 * ROW_H + 16.0;
    let lane_x = |i: usize| TIME_W + i as f64 * LANE_W + LANE_W / 2.0;
    w!(
        h,
        "<svg class=\"ladder\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} {height:.0}\" \
         width=\"{width:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"Ladder of call {}\">\n",
        call_no + 1
    );
    for i in 0..nlanes {
        let x = lane_x(i);
        let (ip, role) = match lanes.get(i) {
            Some(ip) => {
                let role = g
                    .by_key
                    .get(ip)
                    .and_then(|&k| g.nodes.get(k))
                    .map_or("", |n| role_text(n.role, is_internal(ip)));
                (ip.as_str(), role)
            }
            None => ("other addresses", ""),
        };
        w!(
            h,
            "<text class=\"lane-role\" x=\"{x:.1}\" y=\"16\">{}</text>\
             <text class=\"lane-ip\" x=\"{x:.1}\" y=\"31\">{}</text>\
             <line class=\"lifeline\" x1=\"{x:.1}\" y1=\"38\" x2=\"{x:.1}\" y2=\"{:.1}\"/>\n",
            Esc(role),
            Esc(&short(ip, 30)),
            height - 4.0
        );
    }
    let t0 = rows.first().map_or(0.0, |r| r.ts);
    for (k, r) in rows.iter().enumerate() {
        let y = LADDER_TOP + k as f64 * ROW_H + 14.0;
        let a = lane_x(lane_of(&r.src));
        let b = lane_x(lane_of(&r.dst));
        w!(
            h,
            "<text class=\"ts\" x=\"4\" y=\"{:.1}\"><title>{}</title>+{:.3} s</text>\n",
            y + 4.0,
            Esc(&fmt_ts(r.ts)),
            r.ts - t0
        );
        let mid = (a + b) / 2.0;
        match r.flow {
            Some((sev, both)) => {
                let class = severity_class(sev);
                if (a - b).abs() < 1.0 {
                    w!(
                        h,
                        "<rect class=\"burst {class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"16\" height=\"8\"/>\n",
                        a - 8.0,
                        y - 4.0
                    );
                } else {
                    w!(
                        h,
                        "<line class=\"burst {class}\" x1=\"{a:.1}\" y1=\"{y:.1}\" x2=\"{b:.1}\" y2=\"{y:.1}\"/>\n"
                    );
                    arrow_head(h, a, b, y, class);
                    if both {
                        arrow_head(h, b, a, y, class);
                    }
                }
            }
            None => {
                if (a - b).abs() < 1.0 {
                    w!(
                        h,
                        "<path class=\"msg\" d=\"M{a:.1} {:.1} h30 v10 h-30\"/>\n",
                        y - 5.0
                    );
                } else {
                    w!(
                        h,
                        "<line class=\"msg\" x1=\"{a:.1}\" y1=\"{y:.1}\" x2=\"{b:.1}\" y2=\"{y:.1}\"/>\n"
                    );
                    arrow_head(h, a, b, y, "msg-head");
                }
            }
        }
        let lx = if (a - b).abs() < 1.0 { a + 36.0 } else { mid };
        let anchor = if (a - b).abs() < 1.0 {
            "start"
        } else {
            "middle"
        };
        let max_chars = if (a - b).abs() < 1.0 {
            26
        } else {
            ((a - b).abs() / 6.2) as usize
        };
        w!(
            h,
            "<text class=\"msg-label\" x=\"{lx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\"><title>{}</title>{}</text>\n",
            y - 5.0,
            Esc(&r.label),
            Esc(&short(&r.label, max_chars.max(12)))
        );
    }
    h.push_str("</svg>\n");
    let dropped = c.ladder.len().saturating_sub(MAX_LADDER_ROWS);
    if dropped > 0 {
        w!(
            h,
            "<p class=\"hidden-note\">{dropped} more signalling messages not drawn.</p>\n"
        );
    }
}

/// A small triangle at `to`, pointing away from `from`.
fn arrow_head(h: &mut String, from: f64, to: f64, y: f64, class: &str) {
    let d = if to > from { -8.0 } else { 8.0 };
    w!(
        h,
        "<path class=\"head {class}\" d=\"M{to:.1} {y:.1} L{:.1} {:.1} L{:.1} {:.1} Z\"/>\n",
        to + d,
        y - 4.0,
        to + d,
        y + 4.0
    );
}

// ---------------------------------------------------------------------------
// Stream health

#[derive(Clone, Copy)]
enum Metric {
    Rate,
    Loss,
    Jitter,
}

const SPARK_W: f64 = 150.0;
const SPARK_H: f64 = 34.0;

fn streams_section(h: &mut String, r: &Report, ix: &Index) {
    h.push_str("<section id=\"streams\">\n<h2>Stream health</h2>\n");
    let streams: Vec<(&FlowOut, &RtpStreamOut)> = r
        .flows
        .iter()
        .flat_map(|f| f.rtp_streams.iter().map(move |s| (f, s)))
        .collect();
    if streams.is_empty() {
        h.push_str("<p class=\"empty\">No RTP streams seen.</p>\n</section>\n");
        return;
    }
    h.push_str(
        "<p class=\"muted\">Per RTP stream, over time: packets per second, packets lost, \
         and interarrival jitter (RFC 3550). Flat rate and no loss is healthy.</p>\n\
         <div class=\"scroll\"><table class=\"streams\">\n<thead><tr><th>flow</th>\
         <th>SSRC</th><th>codec</th><th>direction</th><th>packets</th><th>lost</th>\
         <th>jitter</th><th>payload</th><th>packets/s</th><th>loss</th><th>jitter (ms)</th></tr></thead>\n<tbody>\n",
    );
    for (f, s) in streams.iter().take(MAX_STREAMS) {
        let (from, to) = if s.direction == "reverse" {
            (&f.dst, &f.src)
        } else {
            (&f.src, &f.dst)
        };
        let codec = match &s.codec {
            Some(c) => format!("{} ({})", Esc(c), s.payload_type),
            None => format!("PT {}", s.payload_type),
        };
        let loss_pct = if s.expected > 0 {
            s.lost.max(0) as f64 * 100.0 / s.expected as f64
        } else {
            0.0
        };
        let enc_class = match s.encryption {
            "encrypted" => "ok",
            "plain" => "bad",
            _ => "unk",
        };
        w!(
            h,
            "<tr><td>{}<br>{}</td><td><code>0x{:08x}</code></td><td>{codec}</td>\
             <td><code>{}</code> →<br><code>{}</code>{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}<br>{loss_pct:.1}%</td><td class=\"num\">{:.1} ms<br>\
             <span class=\"muted\">max {:.1}</span></td>\
             <td><span class=\"{enc_class}\">{}</span></td><td>",
            ix.flow_ref(r, f.id),
            ix.call_ref(r, f.id),
            s.ssrc,
            Esc(&ep(&from.ip, from.port)),
            Esc(&ep(&to.ip, to.port)),
            if s.relayed {
                " <span class=\"muted\">(via TURN)</span>"
            } else {
                ""
            },
            s.packets,
            s.lost,
            s.jitter_ms,
            s.max_jitter_ms,
            Esc(s.encryption),
        );
        sparkline(h, s, Metric::Rate);
        h.push_str("</td><td>");
        sparkline(h, s, Metric::Loss);
        h.push_str("</td><td>");
        sparkline(h, s, Metric::Jitter);
        h.push_str("</td></tr>\n");
    }
    h.push_str("</tbody></table></div>\n");
    hidden_note(
        h,
        streams.len().min(MAX_STREAMS),
        streams.len(),
        "RTP streams",
    );
    h.push_str("</section>\n");
}

fn sparkline(h: &mut String, s: &RtpStreamOut, m: Metric) {
    let width_s = if s.series_width_s > 0.0 {
        s.series_width_s
    } else {
        1.0
    };
    let value = |p: &crate::series::Point| match m {
        Metric::Rate => f64::from(p.packets) / width_s,
        Metric::Loss => f64::from(p.lost),
        Metric::Jitter => p.jitter_ms,
    };
    let span = s
        .series
        .last()
        .map_or(width_s, |p| p.t + width_s)
        .max(width_s);
    let max = s
        .series
        .iter()
        .map(value)
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let (class, unit) = match m {
        Metric::Rate => ("sp-rate", "/s"),
        Metric::Loss => ("sp-loss", " lost"),
        Metric::Jitter => ("sp-jitter", " ms"),
    };
    w!(
        h,
        "<svg class=\"spark {class}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {SPARK_W} {SPARK_H}\" \
         width=\"{SPARK_W}\" height=\"{SPARK_H}\" role=\"img\" aria-label=\"{}\">",
        match m {
            Metric::Rate => "packet rate",
            Metric::Loss => "loss",
            Metric::Jitter => "jitter",
        }
    );
    let plot_top = 11.0;
    let plot_h = SPARK_H - plot_top - 2.0;
    let y_of = |v: f64| SPARK_H - 2.0 - if max > 0.0 { v / max * plot_h } else { 0.0 };
    let x_of = |t: f64| (t / span * SPARK_W).clamp(0.0, SPARK_W);
    w!(
        h,
        "<line class=\"base\" x1=\"0\" y1=\"{:.1}\" x2=\"{SPARK_W}\" y2=\"{:.1}\"/>",
        SPARK_H - 2.0,
        SPARK_H - 2.0
    );
    match m {
        Metric::Loss => {
            let bar_w = (width_s / span * SPARK_W).max(1.5);
            for p in s.series.iter().filter(|p| p.lost > 0) {
                let y = y_of(value(p));
                w!(
                    h,
                    "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\"/>",
                    x_of(p.t),
                    SPARK_H - 2.0 - y
                );
            }
        }
        _ => {
            if !s.series.is_empty() {
                h.push_str("<polyline points=\"");
                for p in &s.series {
                    let v = value(p);
                    let v = if v.is_finite() { v } else { 0.0 };
                    w!(h, "{:.1},{:.1} ", x_of(p.t + width_s / 2.0), y_of(v));
                }
                h.push_str("\"/>");
            }
        }
    }
    let top = if max >= 10.0 {
        format!("{max:.0}")
    } else {
        format!("{max:.1}")
    };
    w!(
        h,
        "<text x=\"0\" y=\"9\">max {top}{unit} · {}</text></svg>",
        Esc(&fmt_dur(span))
    );
}

// ---------------------------------------------------------------------------
// Tables

fn relays_section(h: &mut String, r: &Report) {
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
         <th>ChannelData packets</th></tr></thead>\n<tbody>\n",
    );
    for rl in r.relays.iter().take(MAX_RELAY_ROWS) {
        w!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>\n",
            Esc(&ep(&rl.ip, rl.port)),
            Esc(rl.kind),
            Esc(rl.transport),
            Esc(rl.operator.as_deref().unwrap_or("-")),
            code_list(&rl.clients),
            code_list(&rl.relayed_addresses),
            code_list(&rl.peers),
            rl.channel_data_packets
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

fn leaks_section(h: &mut String, r: &Report, ix: &Index) {
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

fn firewall_section(h: &mut String, r: &Report) {
    h.push_str("<section id=\"firewall\">\n<h2>Firewall view</h2>\n");
    // app -> (transport, ip, port) -> destination
    let mut apps: BTreeMap<&str, BTreeMap<(&str, &str, u16), Dest>> = BTreeMap::new();
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
        w!(
            h,
            "<div class=\"fw\"><h3>{} <span class=\"muted\">{} · {}</span>\
             <button type=\"button\" class=\"copy\" hidden>Copy</button></h3>\n<pre class=\"fw-text\">",
            Esc(app),
            plural(dests.len(), "destination", "destinations"),
            Esc(&port_text.join("; "))
        );
        w!(
            h,
            "# {}: {}\n",
            Esc(app),
            plural(dests.len(), "destination", "destinations")
        );
        for ((t, ip, port), d) in dests {
            if rows >= MAX_FIREWALL_ROWS {
                hidden += 1;
                continue;
            }
            rows += 1;
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

fn flows_section(h: &mut String, r: &Report, ix: &Index) {
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

fn warnings_section(h: &mut String, r: &Report) {
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

// ---------------------------------------------------------------------------
// SHA-256 (FIPS 180-4) and base64, for the script's CSP hash.

fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut st: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bits = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bits.to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (slot, word) in w.iter_mut().zip(block.chunks_exact(4)) {
            *slot = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = st;
        for (k, wi) in K.iter().zip(w.iter()) {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(*k)
                .wrapping_add(*wi);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (s, v) in st.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *s = s.wrapping_add(v);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, v) in out.chunks_exact_mut(4).zip(st) {
        chunk.copy_from_slice(&v.to_be_bytes());
    }
    out
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |v: u32| char::from(A[(v & 63) as usize]);
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let v = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        s.push(sym(v >> 18));
        s.push(sym(v >> 12));
        s.push(if chunk.len() > 1 { sym(v >> 6) } else { '=' });
        s.push(if chunk.len() > 2 { sym(v) } else { '=' });
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            Esc("<script>a&b</script> \"x\" 'y'").to_string(),
            "&lt;script&gt;a&amp;b&lt;/script&gt; &quot;x&quot; &#39;y&#39;"
        );
        assert_eq!(Esc("é\u{0}ü").to_string(), "é\u{FFFD}ü");
        assert_eq!(Esc("plain").to_string(), "plain");
    }

    #[test]
    fn sha256_matches_fips_vectors() {
        let hex = |d: [u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(sha256(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn formats_utc_times() {
        assert_eq!(fmt_ts(0.0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(fmt_ts(951_782_400.5), "2000-02-29 00:00:00.500 UTC");
        assert_eq!(fmt_ts(1_687_685_003.685_8), "2023-06-25 09:23:23.686 UTC");
    }
}

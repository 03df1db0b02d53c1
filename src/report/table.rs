//! The terminal table (`--format table`): one screen with the calls first,
//! then relays, the firewall view, leaks, notable flows, warnings and the
//! limits reached, each table cut at a few dozen rows.

use std::io::{self, Write};

use super::grid::{self, short_mid, wrap, Grid};
use super::types::{CallOut, EndpointOut, FlowOut, PlaceOut, Report};

/// Rows of the flows and firewall tables at most.
const MAX_TABLE_FLOWS: usize = 25;
/// Rows of the calls table at most.
const MAX_TABLE_CALLS: usize = 40;
/// Rows of the relays and leaks tables at most.
const MAX_TABLE_ROWS: usize = 40;

impl Report {
    /// The table at the width of the terminal (else `COLUMNS`, else 100).
    pub fn write_table(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_table_at(out, grid::width())
    }

    /// The table at `width` columns: totals, calls worst first, relays,
    /// the firewall view, leaks, notable flows, warnings and limits.
    pub fn write_table_at(&self, out: &mut dyn Write, width: usize) -> io::Result<()> {
        heading(out, self, width)?;
        totals(out, self, width)?;
        calls(out, self, width)?;
        relays(out, self, width)?;
        firewall(out, self, width)?;
        leaks(out, self, width)?;
        flows(out, self, width)?;
        warnings(out, self, width)?;
        limits(out, self, width)
    }

    /// `-q`: one line per call, its id and its verdict sentence; a line
    /// saying so when there is no call.
    pub fn write_verdicts(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.calls.is_empty() {
            return writeln!(
                out,
                "no call found ({} flows, {} packets)",
                self.flows.len(),
                self.source.packets
            );
        }
        for c in &self.calls {
            writeln!(out, "{}: {}", c.call_id, c.verdict)?;
        }
        Ok(())
    }
}

/// The first line: version, source, size, duration, flows and calls.
fn heading(out: &mut dyn Write, r: &Report, width: usize) -> io::Result<()> {
    let s = &r.source;
    let span = match (s.first_ts, s.last_ts) {
        (Some(a), Some(b)) => format!("{:.1} s", (b - a).max(0.0)),
        _ => "empty".into(),
    };
    let what = if let Some(i) = &s.interface {
        format!("interface {i}")
    } else {
        s.files.join(", ")
    };
    let others = r.other_flows.as_ref().map_or(String::new(), |o| {
        format!(
            " (and {} with nothing of a call, counted, not listed)",
            o.flows
        )
    });
    let line = format!(
        "vcscope {} — {what}: {} packets, {} bytes, {span}; {} flows{others}, {} calls",
        r.vcscope_version,
        s.packets,
        s.bytes,
        r.flows.len(),
        r.calls.len()
    );
    say(out, width, 2, &line)
}

/// The calls, worst first: keys exposed, not encrypted, unknown, encrypted;
/// those past [`MAX_TABLE_CALLS`] summarised by verdict.
fn calls(out: &mut dyn Write, r: &Report, width: usize) -> io::Result<()> {
    if r.calls.is_empty() {
        return writeln!(out, "\nCalls: none found.");
    }
    let mut g = Grid::new(
        "Calls (worst first)",
        &[
            "call",
            "app",
            "signalling",
            "media",
            "encrypted",
            "goes to",
            "verdict",
        ],
    );
    let mut order: Vec<&CallOut> = r.calls.iter().collect();
    order.sort_by_key(|c| badness(c.encrypted));
    for c in order.iter().take(MAX_TABLE_CALLS) {
        g.row(vec![
            short_mid(&c.call_id, 32),
            c.app.clone().unwrap_or_else(|| "-".into()),
            signalling_cell(c),
            match r.call_quality.iter().find(|q| q.call_id == c.call_id) {
                Some(q) => format!("{}\n{}", media_cell(c), quality_line(q)),
                None => media_cell(c),
            },
            if c.encryption_basis == "policy" {
                format!("{} (by policy)", c.encrypted)
            } else {
                c.encrypted.to_string()
            },
            goes_to_cell(c),
            c.verdict.clone(),
        ]);
    }
    g.write(out, width)?;
    let rest = &order[MAX_TABLE_CALLS.min(order.len())..];
    if !rest.is_empty() {
        let line = format!(
            "{} more calls not shown ({}); --format json or html lists every call.",
            rest.len(),
            by_verdict(rest.iter().copied())
        );
        say(out, width, 2, &line)?;
    }
    Ok(())
}

/// Worst first: keys exposed, not encrypted, unknown, encrypted.
fn badness(encrypted: &str) -> u8 {
    match encrypted {
        "keys-exposed" => 0,
        "no" => 1,
        "unknown" => 2,
        _ => 3,
    }
}

/// "1 keys exposed, 3 not encrypted, 2 unknown, 6 encrypted" (zeros left out).
fn by_verdict<'a>(calls: impl Iterator<Item = &'a CallOut>) -> String {
    let mut n = [0usize; 4];
    for c in calls {
        n[usize::from(badness(c.encrypted))] += 1;
    }
    let names = ["keys exposed", "not encrypted", "unknown", "encrypted"];
    let parts: Vec<String> = n
        .iter()
        .zip(names)
        .filter(|(k, _)| **k > 0)
        .map(|(k, name)| format!("{k} {name}"))
        .collect();
    parts.join(", ")
}

/// The answer first: calls by verdict, apps, relays by operator, leaks.
fn totals(out: &mut dyn Write, r: &Report, width: usize) -> io::Result<()> {
    let mut lines = Vec::new();
    if !r.calls.is_empty() {
        let policy = r
            .calls
            .iter()
            .filter(|c| c.encryption_basis == "policy")
            .count();
        let basis = if policy > 0 {
            format!(" ({policy} by the app's documented policy, not measured)")
        } else {
            String::new()
        };
        lines.push(format!(
            "Calls:  {} — {}{basis}",
            r.calls.len(),
            by_verdict(r.calls.iter())
        ));
        let mut apps: Vec<(String, usize)> = Vec::new();
        for c in &r.calls {
            let a = c
                .app
                .clone()
                .unwrap_or_else(|| match c.signalling.protocol {
                    "sip" => "sip".into(),
                    _ => "unnamed".into(),
                });
            match apps.iter_mut().find(|(x, _)| *x == a) {
                Some((_, k)) => *k += 1,
                None => apps.push((a, 1)),
            }
        }
        apps.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let apps: Vec<String> = apps.iter().map(|(a, k)| format!("{a} {k}")).collect();
        lines.push(format!("Apps:   {}", apps.join(", ")));
    }
    if !r.relays.is_empty() {
        let mut ops: Vec<(String, usize)> = Vec::new();
        for rl in &r.relays {
            let o = rl
                .operator
                .clone()
                .unwrap_or_else(|| "unknown operator".into());
            match ops.iter_mut().find(|(x, _)| *x == o) {
                Some((_, k)) => *k += 1,
                None => ops.push((o, 1)),
            }
        }
        ops.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let used = r.relays.iter().filter(|rl| rl.used == Some(true)).count();
        let ops: Vec<String> = ops.iter().map(|(o, k)| format!("{o} {k}")).collect();
        lines.push(format!(
            "Relays: {} — {}; {used} carried media",
            r.relays.len(),
            ops.join(", ")
        ));
    }
    if !r.leaks.is_empty() {
        let mut addrs: Vec<&str> = r.leaks.iter().map(|l| l.address.as_str()).collect();
        addrs.sort_unstable();
        addrs.dedup();
        lines.push(format!(
            "Leaks:  {} — {} internal address{} exposed",
            r.leaks.len(),
            addrs.len(),
            if addrs.len() == 1 { "" } else { "es" }
        ));
    }
    if lines.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    for l in lines {
        say(out, width, 8, &l)?;
    }
    Ok(())
}

/// "protocol/transport", "(enc)" when encrypted, or "not seen".
fn signalling_cell(c: &CallOut) -> String {
    if c.signalling.protocol == "unknown" {
        "not seen".to_string()
    } else {
        format!(
            "{}/{}{}",
            c.signalling.protocol,
            c.signalling.transport,
            if c.signalling.encrypted { " (enc)" } else { "" }
        )
    }
}

/// "MOS 4.41 (estimate), limited by loss": the worst-rated direction of a
/// call's audio (ITU-T G.107 E-model).
fn quality_line(q: &crate::report::CallQualityOut) -> String {
    format!(
        "MOS {:.2}{}{}",
        q.mos,
        if q.estimate { " (estimate)" } else { "" },
        if q.limited_by == "none" {
            String::new()
        } else {
            format!(", limited by {}", q.limited_by)
        }
    )
}

/// One line per distinct media: kind, encryption, key exchange, and whether
/// the keys were exposed.
fn media_cell(c: &CallOut) -> String {
    let mut media: Vec<String> = c
        .media
        .iter()
        .map(|m| {
            let mut s = String::new();
            if m.kind != "unknown" {
                s.push_str(m.kind);
                s.push(' ');
            }
            s.push_str(m.encryption);
            if !matches!(m.key_exchange, "unknown" | "none") {
                s.push_str(&format!(" ({})", m.key_exchange));
            }
            if m.keys_exposed {
                s.push_str(" keys exposed");
            }
            s
        })
        .collect();
    media.dedup();
    media.join("\n")
}

/// Where the call goes: one line per role and address, with its operator.
fn goes_to_cell(c: &CallOut) -> String {
    let mut goes: Vec<String> = Vec::new();
    // Local parties first are implied; list where the call goes, once per address.
    for e in c.endpoints.iter().filter(|e| e.role != "caller") {
        if e.role == "peer" && is_internal_str(&e.ip) && c.inferred {
            continue;
        }
        // The address first, whole; what it is after it, in parentheses.
        let what = where_is(Some(e.role), &e.place);
        let what = match e.operator.as_deref() {
            Some(op) => what.replacen(e.role, &format!("{}, {op}", e.role), 1),
            None => what,
        };
        let line = format!("{}{what}", e.ip);
        if !goes.contains(&line) {
            goes.push(line);
        }
    }
    goes.join("\n")
}

/// " (Microsoft, AS8075, NL)": the operator and, with `--geoip`, the
/// network and country; empty when nothing is known.
fn where_is(operator: Option<&str>, place: &PlaceOut) -> String {
    let mut parts: Vec<String> = operator.map(str::to_string).into_iter().collect();
    if let Some(n) = place.asn {
        parts.push(format!("AS{n}"));
    } else if let Some(o) = &place.as_org {
        parts.push(o.clone());
    }
    if let Some(c) = &place.country {
        parts.push(c.clone());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// STUN/TURN servers, media relays and SFUs.
/// Packets of media a relay carried, "allocated, unused" for a TURN
/// allocation nothing went through, "-" for a STUN server.
pub(crate) fn relay_use(rl: &crate::report::RelayOut) -> String {
    if rl.used == Some(true) {
        rl.relayed_packets.to_string()
    } else if rl.used.is_none() {
        "cannot tell (encrypted)".to_string()
    } else if rl.kind == "stun" {
        "-".to_string()
    } else {
        "allocated, unused".to_string()
    }
}

fn relays(out: &mut dyn Write, r: &Report, width: usize) -> io::Result<()> {
    if r.relays.is_empty() {
        return Ok(());
    }
    let mut g = Grid::new(
        "Relays and servers",
        &[
            "relay",
            "kind",
            "transport",
            "operator",
            "clients",
            "relayed",
            "channeldata",
            "media relayed",
        ],
    )
    .right(&[6, 7]);
    for rl in r.relays.iter().take(MAX_TABLE_ROWS) {
        g.row(vec![
            ep_str(&rl.ip, rl.port),
            rl.kind.to_string(),
            rl.transport.to_string(),
            match where_is(rl.operator.as_deref(), &rl.place) {
                s if s.is_empty() => "-".to_string(),
                s => s.trim_start_matches(" (").trim_end_matches(')').to_string(),
            },
            rl.clients.join("\n"),
            rl.relayed_addresses.join("\n"),
            rl.channel_data_packets.to_string(),
            relay_use(rl),
        ]);
    }
    g.write(out, width)?;
    more(out, width, r.relays.len(), "relays and servers")
}

/// What the calls' apps needed through a firewall, per app, transport and port.
fn firewall(out: &mut dyn Write, r: &Report, width: usize) -> io::Result<()> {
    if r.firewall.is_empty() {
        return Ok(());
    }
    let mut g = Grid::new(
        "Firewall view: what the calls' apps needed",
        &[
            "app",
            "transport",
            "port",
            "destinations",
            "operator",
            "flows",
        ],
    )
    .right(&[2, 5]);
    for fw in r.firewall.iter().take(MAX_TABLE_FLOWS) {
        let mut dest: Vec<&str> = fw.destinations.iter().map(String::as_str).take(6).collect();
        if fw.destinations.len() > 6 {
            dest.push("…");
        }
        g.row(vec![
            fw.app.clone(),
            fw.transport.to_string(),
            fw.port.to_string(),
            dest.join("\n"),
            fw.operators.join(", "),
            fw.flows.to_string(),
        ]);
    }
    g.write(out, width)
}

/// Internal addresses seen inside packets sent to public addresses.
fn leaks(out: &mut dyn Write, r: &Report, width: usize) -> io::Result<()> {
    if r.leaks.is_empty() {
        return Ok(());
    }
    let mut g = Grid::new(
        "Internal-address leaks",
        &[
            "internal address",
            "scope",
            "where",
            "flow",
            "exposed to",
            "count",
        ],
    )
    .right(&[3, 5]);
    for l in r.leaks.iter().take(MAX_TABLE_ROWS) {
        g.row(vec![
            l.address.clone(),
            l.scope.to_string(),
            l.where_.to_string(),
            l.flow_id.to_string(),
            l.exposed_to.clone(),
            l.count.to_string(),
        ]);
    }
    g.write(out, width)?;
    more(out, width, r.leaks.len(), "leaks")
}

/// The [`notable_flows`], busiest first, and how many are not shown.
fn flows(out: &mut dyn Write, r: &Report, width: usize) -> io::Result<()> {
    let notable = notable_flows(&r.flows);
    if notable.is_empty() {
        return Ok(());
    }
    let mut g = Grid::new(
        "Flows (busiest first)",
        &[
            "flow",
            "proto",
            "src",
            "dst",
            "pkts",
            "bytes",
            "protocols",
            "encryption",
            "app / sni",
        ],
    )
    .right(&[0, 4, 5]);
    for f in notable.iter().take(MAX_TABLE_FLOWS) {
        g.row(flow_row(f));
    }
    let more = notable.len().saturating_sub(MAX_TABLE_FLOWS);
    let hidden = r.flows.len() - notable.len();
    g.write(out, width)?;
    if more > 0 || hidden > 0 {
        let why = if hidden > 0 {
            format!(" ({hidden} of them with no videoconferencing protocol)")
        } else {
            String::new()
        };
        let line = format!(
            "{} more flows not shown{why}; --format json lists every flow.",
            more + hidden
        );
        say(out, width, 2, &line)?;
    }
    Ok(())
}

/// The cells of one flow's row.
fn flow_row(f: &FlowOut) -> Vec<String> {
    let name = match (&f.app, &f.sni) {
        (Some(a), Some(s)) => format!("{a} {s}"),
        (Some(a), None) => a.clone(),
        (None, Some(s)) => s.clone(),
        (None, None) => "-".into(),
    };
    vec![
        f.id.to_string(),
        f.transport.to_string(),
        ep(&f.src),
        ep(&f.dst),
        f.packets.to_string(),
        f.bytes.to_string(),
        if f.protocols.is_empty() {
            "-".into()
        } else {
            f.protocols.join(",")
        },
        f.encryption.to_string(),
        name,
    ]
}

/// Every warning kind with its count and first example.
fn warnings(out: &mut dyn Write, r: &Report, width: usize) -> io::Result<()> {
    if !r.warnings.is_empty() {
        writeln!(out, "\nWarnings")?;
        for w in &r.warnings {
            let line = format!("  {:>7}  {}  (e.g. {})", w.count, w.kind, w.example);
            say(out, width, 11, &line)?;
        }
    }
    Ok(())
}

/// One line when a limit cost something: evicted flows, dropped fragments,
/// stream bytes or packets.
fn limits(out: &mut dyn Write, r: &Report, width: usize) -> io::Result<()> {
    let s = &r.source;
    let l = &r.limits;
    if l.flows_evicted > 0
        || l.fragment_datagrams_dropped > 0
        || l.stream_bytes_dropped > 0
        || s.dropped > 0
    {
        let line = format!(
            "Limits reached: {} flows evicted (max {}), {} fragment datagrams dropped, {} stream bytes not reassembled, {} packets dropped by the capture.",
            l.flows_evicted, l.max_flows, l.fragment_datagrams_dropped, l.stream_bytes_dropped, s.dropped
        );
        writeln!(out)?;
        say(out, width, 2, &line)?;
    }
    Ok(())
}

/// "N more ... not shown" under a table cut at [`MAX_TABLE_ROWS`].
fn more(out: &mut dyn Write, width: usize, total: usize, what: &str) -> io::Result<()> {
    if total > MAX_TABLE_ROWS {
        let line = format!(
            "{} more {what} not shown; --format json or html lists them all.",
            total - MAX_TABLE_ROWS
        );
        say(out, width, 2, &line)?;
    }
    Ok(())
}

/// `text` wrapped at `width`, the lines after the first indented by `indent`.
fn say(out: &mut dyn Write, width: usize, indent: usize, text: &str) -> io::Result<()> {
    let lead = text.len() - text.trim_start().len();
    let pad = &text[..lead];
    let body = width.saturating_sub(indent.max(lead)).max(20);
    for (i, piece) in wrap(text, body).into_iter().enumerate() {
        if i == 0 {
            writeln!(out, "{pad}{piece}")?;
        } else {
            writeln!(out, "{:indent$}{piece}", "")?;
        }
    }
    Ok(())
}

/// Flows worth a row: any with a recognised VC protocol or app, or part of a
/// call; when there are none, the busiest flows (so the table reads well on
/// any capture).
fn notable_flows(flows: &[FlowOut]) -> Vec<&FlowOut> {
    let mut v: Vec<&FlowOut> = flows
        .iter()
        .filter(|f| {
            f.app.is_some()
                || f.call_id.is_some()
                || f.protocols
                    .iter()
                    .any(|p| !matches!(*p, "dns" | "http" | "tls" | "quic"))
                || f.sni.is_some()
        })
        .collect();
    if v.is_empty() {
        v = flows.iter().collect();
    }
    v.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.id.cmp(&b.id)));
    v
}

fn is_internal_str(ip: &str) -> bool {
    ip.parse()
        .is_ok_and(|a| crate::scope::scope_of(a).is_internal())
}

fn ep(e: &EndpointOut) -> String {
    ep_str(&e.ip, e.port)
}

/// `ip:port`, with the IPv6 address in brackets.
fn ep_str(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

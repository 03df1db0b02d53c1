//! The terminal table (`--format table`): one screen with the calls first,
//! then relays, the firewall view, leaks, notable flows, warnings and the
//! limits reached, each table cut at a few dozen rows.

use std::io::{self, Write};

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};

use super::types::{CallOut, EndpointOut, FlowOut, PlaceOut, Report};

/// Rows of the flows and firewall tables at most.
const MAX_TABLE_FLOWS: usize = 25;
/// Rows of the calls table at most.
const MAX_TABLE_CALLS: usize = 40;
/// Rows of the relays and leaks tables at most.
const MAX_TABLE_ROWS: usize = 40;

impl Report {
    pub fn write_table(&self, out: &mut dyn Write) -> io::Result<()> {
        heading(out, self)?;
        calls(out, self)?;
        relays(out, self)?;
        firewall(out, self)?;
        leaks(out, self)?;
        flows(out, self)?;
        warnings(out, self)?;
        limits(out, self)
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
fn heading(out: &mut dyn Write, r: &Report) -> io::Result<()> {
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
    writeln!(
        out,
        "vcscope {} — {what}: {} packets, {} bytes, {span}; {} flows, {} calls",
        r.vcscope_version,
        s.packets,
        s.bytes,
        r.flows.len(),
        r.calls.len()
    )
}

/// The calls, those not encrypted or whose keys were exposed first.
fn calls(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    if r.calls.is_empty() {
        return writeln!(out, "\nCalls: none found.");
    }
    let mut t = table(&[
        "call",
        "app",
        "signalling",
        "media",
        "encrypted",
        "goes to",
        "verdict",
    ]);
    // Calls that are not encrypted, or whose keys were exposed, first.
    let mut order: Vec<&CallOut> = r.calls.iter().collect();
    order.sort_by_key(|c| match c.encrypted {
        "keys-exposed" => 0,
        "no" => 1,
        "unknown" => 2,
        _ => 3,
    });
    for c in order.iter().take(MAX_TABLE_CALLS) {
        t.add_row(vec![
            Cell::new(short(&c.call_id, 24)),
            Cell::new(c.app.as_deref().unwrap_or("-")),
            Cell::new(signalling_cell(c)),
            Cell::new(media_cell(c)),
            Cell::new(c.encrypted),
            Cell::new(goes_to_cell(c)),
            Cell::new(&c.verdict),
        ]);
    }
    writeln!(out, "\nCalls\n{t}")?;
    if r.calls.len() > MAX_TABLE_CALLS {
        writeln!(
            out,
            "{} more calls not shown; --format json or html lists every call.",
            r.calls.len() - MAX_TABLE_CALLS
        )?;
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
        let op = where_is(e.operator.as_deref(), &e.place);
        let line = format!("{} {}{op}", e.role, e.ip);
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

fn relays(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    if r.relays.is_empty() {
        return Ok(());
    }
    let mut t = table(&[
        "relay",
        "kind",
        "transport",
        "operator",
        "clients",
        "relayed",
        "channeldata",
        "media relayed",
    ]);
    for rl in r.relays.iter().take(MAX_TABLE_ROWS) {
        t.add_row(vec![
            Cell::new(format!("{}:{}", rl.ip, rl.port)),
            Cell::new(rl.kind),
            Cell::new(rl.transport),
            Cell::new(match where_is(rl.operator.as_deref(), &rl.place) {
                s if s.is_empty() => "-".to_string(),
                s => s.trim_start_matches(" (").trim_end_matches(')').to_string(),
            }),
            Cell::new(rl.clients.join("\n")),
            Cell::new(rl.relayed_addresses.join("\n")),
            Cell::new(rl.channel_data_packets).set_alignment(CellAlignment::Right),
            Cell::new(relay_use(rl)).set_alignment(CellAlignment::Right),
        ]);
    }
    writeln!(out, "\nRelays and servers\n{t}")?;
    more(out, r.relays.len(), "relays and servers")
}

/// What the calls' apps needed through a firewall, per app, transport and port.
fn firewall(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    if r.firewall.is_empty() {
        return Ok(());
    }
    let mut t = table(&[
        "app",
        "transport",
        "port",
        "destinations",
        "operator",
        "flows",
    ]);
    for fw in r.firewall.iter().take(MAX_TABLE_FLOWS) {
        let mut dest: Vec<&str> = fw.destinations.iter().map(String::as_str).take(6).collect();
        if fw.destinations.len() > 6 {
            dest.push("…");
        }
        t.add_row(vec![
            Cell::new(&fw.app),
            Cell::new(fw.transport),
            Cell::new(fw.port),
            Cell::new(dest.join("\n")),
            Cell::new(fw.operators.join(", ")),
            Cell::new(fw.flows).set_alignment(CellAlignment::Right),
        ]);
    }
    writeln!(out, "\nFirewall view: what the calls' apps needed\n{t}")
}

/// Internal addresses seen inside packets sent to public addresses.
fn leaks(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    if r.leaks.is_empty() {
        return Ok(());
    }
    let mut t = table(&[
        "internal address",
        "scope",
        "where",
        "flow",
        "exposed to",
        "count",
    ]);
    for l in r.leaks.iter().take(MAX_TABLE_ROWS) {
        t.add_row(vec![
            Cell::new(&l.address),
            Cell::new(l.scope),
            Cell::new(l.where_),
            Cell::new(l.flow_id),
            Cell::new(&l.exposed_to),
            Cell::new(l.count).set_alignment(CellAlignment::Right),
        ]);
    }
    writeln!(out, "\nInternal-address leaks\n{t}")?;
    more(out, r.leaks.len(), "leaks")
}

/// The [`notable_flows`], busiest first, and how many are not shown.
fn flows(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    let notable = notable_flows(&r.flows);
    if notable.is_empty() {
        return Ok(());
    }
    let mut t = table(&[
        "flow",
        "proto",
        "src",
        "dst",
        "pkts",
        "bytes",
        "protocols",
        "encryption",
        "app / sni",
    ]);
    for f in notable.iter().take(MAX_TABLE_FLOWS) {
        t.add_row(flow_row(f));
    }
    let more = notable.len().saturating_sub(MAX_TABLE_FLOWS);
    let hidden = r.flows.len() - notable.len();
    writeln!(out, "\nFlows (busiest first)\n{t}")?;
    if more > 0 || hidden > 0 {
        let why = if hidden > 0 {
            format!(" ({hidden} of them with no videoconferencing protocol)")
        } else {
            String::new()
        };
        writeln!(
            out,
            "{} more flows not shown{why}; --format json lists every flow.",
            more + hidden
        )?;
    }
    Ok(())
}

/// The cells of one flow's row.
fn flow_row(f: &FlowOut) -> Vec<Cell> {
    let name = match (&f.app, &f.sni) {
        (Some(a), Some(s)) => format!("{a} {s}"),
        (Some(a), None) => a.clone(),
        (None, Some(s)) => s.clone(),
        (None, None) => "-".into(),
    };
    vec![
        Cell::new(f.id),
        Cell::new(f.transport),
        Cell::new(ep(&f.src)),
        Cell::new(ep(&f.dst)),
        Cell::new(f.packets).set_alignment(CellAlignment::Right),
        Cell::new(f.bytes).set_alignment(CellAlignment::Right),
        Cell::new(if f.protocols.is_empty() {
            "-".into()
        } else {
            f.protocols.join(",")
        }),
        Cell::new(f.encryption),
        Cell::new(name),
    ]
}

/// Every warning kind with its count and first example.
fn warnings(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    if !r.warnings.is_empty() {
        writeln!(out, "\nWarnings")?;
        for w in &r.warnings {
            writeln!(out, "  {:>7}  {}  (e.g. {})", w.count, w.kind, w.example)?;
        }
    }
    Ok(())
}

/// One line when a limit cost something: evicted flows, dropped fragments,
/// stream bytes or packets.
fn limits(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    let s = &r.source;
    let l = &r.limits;
    if l.flows_evicted > 0
        || l.fragment_datagrams_dropped > 0
        || l.stream_bytes_dropped > 0
        || s.dropped > 0
    {
        writeln!(
            out,
            "\nLimits reached: {} flows evicted (max {}), {} fragment datagrams dropped, {} stream bytes not reassembled, {} packets dropped by the capture.",
            l.flows_evicted, l.max_flows, l.fragment_datagrams_dropped, l.stream_bytes_dropped, s.dropped
        )?;
    }
    Ok(())
}

/// "N more ... not shown" under a table cut at [`MAX_TABLE_ROWS`].
fn more(out: &mut dyn Write, total: usize, what: &str) -> io::Result<()> {
    if total > MAX_TABLE_ROWS {
        writeln!(
            out,
            "{} more {what} not shown; --format json or html lists them all.",
            total - MAX_TABLE_ROWS
        )?;
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
    if e.ip.contains(':') {
        format!("[{}]:{}", e.ip, e.port)
    } else {
        format!("{}:{}", e.ip, e.port)
    }
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

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().map(Cell::new));
    if t.width().is_none() {
        t.set_width(160);
    }
    t
}

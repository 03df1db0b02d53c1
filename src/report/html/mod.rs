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
//!
//! This file holds the entry points, [`Esc`] and the page frame (head,
//! header, footer); the sections are drawn by `cards` (call cards), `graph`
//! ("where it goes"), `ladder` (call ladders), `plots` (stream health) and
//! `tables` (relays, leaks, firewall view, flows, warnings and limits), with
//! `index` (lookups built once per page), `format` (how values read) and
//! `csp` (the script's hash).

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::report::Report;

/// `write!` into a `String`, which cannot fail.
macro_rules! w {
    ($dst:expr, $($arg:tt)*) => {{
        let _ = write!($dst, $($arg)*);
    }};
}

mod cards;
mod common;
mod csp;
mod format;
mod graph;
mod index;
mod ladder;
mod plots;
mod tables;

use cards::calls_section;
pub use common::{
    Esc, MAX_CALLS, MAX_FIREWALL_ROWS, MAX_FLOW_ROWS, MAX_LEAK_ROWS, MAX_RELAY_ROWS, MAX_STREAMS,
};
use csp::{base64, sha256};
use format::{call_status, fmt_bytes, fmt_dur, fmt_ts, plural, short};
use index::Index;
use plots::streams_section;
use tables::{firewall_section, flows_section, leaks_section, relays_section, warnings_section};

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("script.js");

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

// ---------------------------------------------------------------------------
// Page frame

/// From the doctype to `<body>`: the CSP that allows only the page's own
/// script (by its hash), the title and the stylesheet.
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

/// The interface, or the files, read.
fn source_name(r: &Report) -> String {
    match &r.source.interface {
        Some(i) => format!("interface {i}"),
        None if r.source.files.is_empty() => "no input".into(),
        None => r.source.files.join(", "),
    }
}

/// The page header: source, packets, bytes and times, counts of calls by
/// status, flows, relays and leaks, and the section links.
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
}

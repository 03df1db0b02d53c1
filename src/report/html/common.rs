//! What every part of the page shares: its bounds, HTML escaping, and the
//! note under a section that was cut.

use std::fmt::{self, Write as _};

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

/// Addresses drawn in a call's graph at most.
pub(crate) const MAX_GRAPH_NODES: usize = 24;
/// Label lines drawn on a graph edge at most.
pub(crate) const MAX_EDGE_LABELS: usize = 3;
/// Lanes of a ladder at most, "other addresses" included.
pub(crate) const MAX_LANES: usize = 8;
/// Rows of a ladder at most.
pub(crate) const MAX_LADDER_ROWS: usize = 200;
/// Leaks listed on a call card at most.
pub(crate) const MAX_CARD_LEAKS: usize = 8;
/// Peers of one TURN relay drawn in a graph at most.
pub(crate) const MAX_TURN_PEERS: usize = 4;

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

/// "Showing the first N of M" under a section cut at `shown`.
pub(crate) fn hidden_note(h: &mut String, shown: usize, total: usize, what: &str) {
    if total > shown {
        w!(
            h,
            "<p class=\"hidden-note\">Showing the first {shown} of {total} {what}; \
             {} more are in the embedded JSON (and in <code>--format json</code>).</p>\n",
            total - shown
        );
    }
}

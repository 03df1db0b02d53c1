//! The call ladder: a call's signalling messages (SIP) in time order as
//! arrows between one lane per address, and its other flows as bars at
//! their first packet.

use std::fmt::Write as _;

use super::common::{Esc, MAX_LADDER_ROWS, MAX_LANES};
use super::format::{
    flow_severity, fmt_dur, fmt_ts, is_encrypting, is_internal, severity_class, short,
};
use super::graph::{role_text, Graph};
use super::index::Index;
use crate::report::CallOut;

/// One row of the ladder: a message, or a flow.
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
/// Room right of the last lane for labels longer than a lane gap.
const LABEL_GUTTER: f64 = 160.0;
/// Width of a label character (11 px sans-serif), as placement estimates it.
const CHAR_W: f64 = 6.2;

/// The ladder of call `call_no` (from 0), its lanes in the columns' order
/// of its graph `g`.
pub(crate) fn ladder_svg(h: &mut String, c: &CallOut, ix: &Index, g: &Graph, call_no: usize) {
    let mut rows = rows(c, ix);
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

    let lanes = Lanes::new(&rows, g);
    // Room on the right for labels longer than the space between two lanes.
    let width = TIME_W + lanes.count() as f64 * LANE_W + LABEL_GUTTER;
    let height = LADDER_TOP + rows.len() as f64 * ROW_H + 16.0;
    w!(
        h,
        "<svg class=\"ladder\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} {height:.0}\" \
         width=\"{width:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"Ladder of call {}\">\n",
        call_no + 1
    );
    lanes.heads(h, g, height);
    let t0 = rows.first().map_or(0.0, |r| r.ts);
    for (k, r) in rows.iter().enumerate() {
        let y = LADDER_TOP + k as f64 * ROW_H + 14.0;
        let a = lane_x(lanes.of(&r.src));
        let b = lane_x(lanes.of(&r.dst));
        draw_row(h, r, (a, b), y, t0, width);
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

/// The rows, unsorted: the recorded signalling messages, then every other
/// flow of the call (all of them when no message was recorded), up to
/// [`MAX_LADDER_ROWS`] in all.
fn rows(c: &CallOut, ix: &Index) -> Vec<Row> {
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
    rows
}

/// Lanes: one per address, local side left as in the graph; past
/// [`MAX_LANES`], the last lane holds every other address.
struct Lanes {
    ips: Vec<String>,
    /// The last lane is "other addresses".
    other: bool,
}

impl Lanes {
    fn new(rows: &[Row], g: &Graph) -> Self {
        let mut ips: Vec<String> = Vec::new();
        for r in rows {
            for ip in [&r.src, &r.dst] {
                if !ips.contains(ip) {
                    ips.push(ip.clone());
                }
            }
        }
        let col_of = |ip: &str| g.node_at(ip).map_or(3, |n| n.col);
        ips.sort_by_key(|ip| col_of(ip));
        let other = ips.len() > MAX_LANES;
        ips.truncate(if other { MAX_LANES - 1 } else { MAX_LANES });
        Lanes { ips, other }
    }

    /// Lanes drawn, "other addresses" included.
    fn count(&self) -> usize {
        self.ips.len() + usize::from(self.other)
    }

    /// The lane of an address.
    fn of(&self, ip: &str) -> usize {
        self.ips
            .iter()
            .position(|l| l == ip)
            .unwrap_or(self.ips.len())
    }

    /// Each lane's role and address on top, and its lifeline down to `height`.
    fn heads(&self, h: &mut String, g: &Graph, height: f64) {
        for i in 0..self.count() {
            let x = lane_x(i);
            let (ip, role) = match self.ips.get(i) {
                Some(ip) => {
                    let role = g
                        .node_at(ip)
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
    }
}

/// The centre of lane `i`.
fn lane_x(i: usize) -> f64 {
    TIME_W + i as f64 * LANE_W + LANE_W / 2.0
}

/// One row at height `y` from lane centre `a` to `b`: its time since `t0`,
/// a bar for a flow (arrow heads both ways when both sides sent) or an
/// arrow for a message (a loop when both ends are in one lane), and its
/// label.
fn draw_row(h: &mut String, r: &Row, (a, b): (f64, f64), y: f64, t0: f64, width: f64) {
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
    // A label that fits between the two lanes is centred over its arrow;
    // a longer one starts at the arrow's left end and runs on to the right
    // (into the gutter), whole when it can be.
    let chars = r.label.chars().count();
    let (lx, anchor, max_chars) = if (a - b).abs() < 1.0 {
        (a + 36.0, "start", ((width - a - 40.0) / CHAR_W) as usize)
    } else if chars as f64 * CHAR_W <= (a - b).abs() {
        (mid, "middle", chars)
    } else {
        let left = a.min(b) + 4.0;
        (left, "start", ((width - left - 4.0) / CHAR_W) as usize)
    };
    w!(
        h,
        "<text class=\"msg-label\" x=\"{lx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\"><title>{}</title>{}</text>\n",
        y - 5.0,
        Esc(&r.label),
        Esc(&short(&r.label, max_chars.max(12)))
    );
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

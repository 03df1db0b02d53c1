//! Stream health: per RTP stream, its counters and small plots of packet
//! rate, loss and jitter over time (from the stream's series), and of MOS
//! (rated audio) or frame rate with freeze markers (video).

use std::fmt::Write as _;

use super::common::{hidden_note, Esc, MAX_STREAMS};
use super::format::{ep, fmt_dur};
use super::index::Index;
use crate::report::{FlowOut, Report, RtpStreamOut};

/// What a [`sparkline`] plots.
#[derive(Clone, Copy)]
enum Metric {
    Rate,
    Loss,
    Jitter,
    /// The bucket's E-model MOS, on the fixed 1..4.5 scale.
    Mos,
    /// Frames per second, with a mark where freezes ended.
    Fps,
}

/// The MOS scale's ends (ITU-T G.107 Annex B).
const MOS_MIN: f64 = 1.0;
const MOS_MAX: f64 = 4.5;

const SPARK_W: f64 = 150.0;
const SPARK_H: f64 = 34.0;

/// Per RTP stream, a row with its counters and plots of packet rate, loss
/// and jitter over time.
pub(crate) fn streams_section(h: &mut String, r: &Report, ix: &Index) {
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
         and interarrival jitter (RFC 3550); for rated audio the E-model MOS (1 to 4.5), for \
         video frames per second with freezes marked. Flat rate and no loss is healthy.</p>\n\
         <div class=\"scroll\"><table class=\"streams\">\n<thead><tr><th>flow</th>\
         <th>SSRC</th><th>codec</th><th>direction</th><th>packets</th><th>lost</th>\
         <th>jitter</th><th>payload</th><th>packets/s</th><th>loss</th><th>jitter (ms)</th>\
         <th>MOS / fps</th></tr></thead>\n<tbody>\n",
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
        h.push_str("</td><td>");
        if s.quality.is_some() {
            sparkline(h, s, Metric::Mos);
        } else if s.video.is_some() {
            sparkline(h, s, Metric::Fps);
        } else {
            h.push_str("<span class=\"muted\">—</span>");
        }
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

/// A small plot of one metric of a stream over its series: a line for rate
/// and jitter, bars for loss, with the maximum and the time span.
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
        Metric::Mos => p.mos.unwrap_or(f64::NAN),
        Metric::Fps => f64::from(p.frames) / width_s,
    };
    let span = s
        .series
        .last()
        .map_or(width_s, |p| p.t + width_s)
        .max(width_s);
    let max = match m {
        Metric::Mos => MOS_MAX - MOS_MIN,
        _ => s
            .series
            .iter()
            .map(value)
            .filter(|v| v.is_finite())
            .fold(0.0_f64, f64::max),
    };
    // MOS is plotted above its floor of 1.
    let floor = match m {
        Metric::Mos => MOS_MIN,
        _ => 0.0,
    };
    let (class, unit) = match m {
        Metric::Rate => ("sp-rate", "/s"),
        Metric::Loss => ("sp-loss", " lost"),
        Metric::Jitter => ("sp-jitter", " ms"),
        Metric::Mos => ("sp-mos", ""),
        Metric::Fps => ("sp-fps", " fps"),
    };
    w!(
        h,
        "<svg class=\"spark {class}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {SPARK_W} {SPARK_H}\" \
         width=\"{SPARK_W}\" height=\"{SPARK_H}\" role=\"img\" aria-label=\"{}\">",
        match m {
            Metric::Rate => "packet rate",
            Metric::Loss => "loss",
            Metric::Jitter => "jitter",
            Metric::Mos => "MOS",
            Metric::Fps => "frame rate and freezes",
        }
    );
    let plot_top = 11.0;
    let plot_h = SPARK_H - plot_top - 2.0;
    let y_of = |v: f64| {
        SPARK_H
            - 2.0
            - if max > 0.0 {
                ((v - floor) / max).clamp(0.0, 1.0) * plot_h
            } else {
                0.0
            }
    };
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
        Metric::Mos => {
            // Buckets without packets have no MOS: the line skips them.
            let rated: Vec<_> = s.series.iter().filter(|p| p.mos.is_some()).collect();
            if !rated.is_empty() {
                h.push_str("<polyline points=\"");
                for p in rated {
                    w!(h, "{:.1},{:.1} ", x_of(p.t + width_s / 2.0), y_of(value(p)));
                }
                h.push_str("\"/>");
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
            if matches!(m, Metric::Fps) {
                for p in s.series.iter().filter(|p| p.freezes > 0) {
                    let x = x_of(p.t + width_s / 2.0);
                    w!(
                        h,
                        "<line class=\"freeze\" x1=\"{x:.1}\" y1=\"{plot_top:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"><title>{} freeze{}</title></line>",
                        SPARK_H - 2.0,
                        p.freezes,
                        if p.freezes == 1 { "" } else { "s" }
                    );
                }
            }
        }
    }
    let label = match m {
        // The worst bucket is what matters for MOS.
        Metric::Mos => {
            let low = s
                .series
                .iter()
                .filter_map(|p| p.mos)
                .fold(f64::INFINITY, f64::min);
            if low.is_finite() {
                format!("min {low:.2}")
            } else {
                "no MOS".to_string()
            }
        }
        _ if max >= 10.0 => format!("max {max:.0}{unit}"),
        _ => format!("max {max:.1}{unit}"),
    };
    let freezes = match (m, &s.video) {
        (Metric::Fps, Some(v)) if v.freezes > 0 => format!(" · {} frz", v.freezes),
        _ => String::new(),
    };
    w!(
        h,
        "<text x=\"0\" y=\"9\">{label}{freezes} · {}</text></svg>",
        Esc(&fmt_dur(span))
    );
}

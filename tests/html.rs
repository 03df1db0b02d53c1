//! The HTML report: its embedded data is the JSON report, it draws one card
//! per call, hostile strings from captures stay inert, large reports are
//! capped, and the page renders in a real browser (headless Chromium).
//!
//! The browser test needs Debian's `chromium` (scripts/setup.sh installs it;
//! `VCSCOPE_CHROMIUM` names another binary). Without it the test fails,
//! unless `VCSCOPE_SKIP_BROWSER=1` is set.
//!
//! docs/report.png is the report of `vcscope read sipp__g711a.pcap
//! ndpi__stun_google_meet.pcapng -o report.html`, taken with the same flags
//! plus `--hide-scrollbars --window-size=1100,1400 --screenshot=report.png`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{analyze_one, bin, chromium, fixture, run_chromium};
use vcscope::report::html;
use vcscope::report::Report;

/// Fixtures with SIP calls, inferred WebRTC calls, TURN relays, leaks, RTP
/// streams, and none of these.
const FIXTURES: &[&str] = &[
    "sipp__g711a.pcap",
    "sngrep__aaa.pcap",
    "heplify__sip_ipv4_tcp.pcap",
    "ndpi__stun_google_meet.pcapng",
    "ndpi__telegram_videocall.pcapng",
    "ndpi__stun_wa_call.pcapng",
    "ndpi__discord.pcap",
    "arkime__stun.pcap",
];

const JSON_OPEN: &str = "<script type=\"application/json\" id=\"vcscope-report\">";

const HOSTILE: &str =
    "</script><script>document.documentElement.setAttribute('data-pwned','1')</script>\
<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','2')\">\
<b id=\"pwned\">x</b><!--<script>' \" & <svg onload=alert(1)>";

fn page(report: &Report) -> String {
    html::render(report).expect("render")
}

/// The text of the embedded JSON element, and the page without it.
fn split_json(page: &str) -> (&str, String) {
    let start = page.find(JSON_OPEN).expect("embedded JSON element") + JSON_OPEN.len();
    let len = page[start..]
        .find("</script>")
        .expect("end of the JSON element");
    let json = &page[start..start + len];
    let rest = format!("{}{}", &page[..start], &page[start + len..]);
    (json, rest)
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

fn streams(report: &Report) -> usize {
    report.flows.iter().map(|f| f.rtp_streams.len()).sum()
}

/// The streams the page draws.
fn drawn(report: &Report) -> impl Iterator<Item = &vcscope::report::RtpStreamOut> {
    report
        .flows
        .iter()
        .flat_map(|f| &f.rtp_streams)
        .take(html::MAX_STREAMS)
}

/// SVG pictures the page must hold: a graph and a ladder per drawn call,
/// three plots per drawn stream and a fourth (MOS or frame rate) on rated
/// audio and on video.
fn expected_svgs(report: &Report) -> usize {
    let fourth = drawn(report)
        .filter(|s| s.quality.is_some() || s.video.is_some())
        .count();
    2 * report.calls.len().min(html::MAX_CALLS)
        + 3 * streams(report).min(html::MAX_STREAMS)
        + fourth
}

/// The embedded text is `serde_json` of the report, byte for byte once the
/// two escapes are undone, and parses to the same value.
fn assert_embedded_is(name: &str, report: &Report, json: &str) {
    let exact = serde_json::to_string(report).unwrap();
    let unescaped = json.replace("<\\/", "</").replace("\\u003c!--", "<!--");
    assert!(
        unescaped == exact,
        "{name}: embedded JSON is not the report"
    );
    let embedded: serde_json::Value = serde_json::from_str(json).expect("embedded JSON parses");
    // Parsed the same way on both sides (float parsing is not exact).
    let direct: serde_json::Value = serde_json::from_str(&exact).unwrap();
    assert!(
        embedded == direct,
        "{name}: embedded JSON parses differently"
    );
    assert_eq!(
        embedded["calls"].as_array().map(Vec::len),
        Some(report.calls.len())
    );
}

fn assert_page_matches(name: &str, report: &Report, page: &str) {
    assert!(page.starts_with("<!DOCTYPE html>"), "{name}");
    let (json, rest) = split_json(page);
    assert_embedded_is(name, report, json);
    assert_eq!(
        count(&rest, "<article class=\"call-card"),
        report.calls.len().min(html::MAX_CALLS),
        "{name}: call cards"
    );
    assert_eq!(count(&rest, "<svg"), expected_svgs(report), "{name}: SVGs");
    // MOS over time on rated audio, frame rate on video, a freeze mark
    // per bucket in which freezes ended.
    let rated = drawn(report).filter(|s| s.quality.is_some()).count();
    let video: Vec<_> = drawn(report)
        .filter(|s| s.quality.is_none() && s.video.is_some())
        .collect();
    assert_eq!(count(&rest, "spark sp-mos"), rated, "{name}: MOS plots");
    assert_eq!(
        count(&rest, "spark sp-fps"),
        video.len(),
        "{name}: fps plots"
    );
    let marks: usize = video
        .iter()
        .map(|s| s.series.iter().filter(|p| p.freezes > 0).count())
        .sum();
    assert_eq!(
        count(&rest, "<line class=\"freeze\""),
        marks,
        "{name}: freeze marks"
    );
    // Two script elements: the data and the page's own code.
    assert_eq!(count(page, "</script>"), 2, "{name}");
    // Self-contained: no external resource of any kind.
    for bad in [
        "<link",
        "<img",
        "<iframe",
        "<object",
        "<embed",
        "<audio",
        "<video",
        "<source",
        " src=\"",
        " href=\"http",
        "url(",
        "@import",
    ] {
        assert!(!rest.contains(bad), "{name}: page refers to {bad:?}");
    }
    let http = count(&rest, "http://") + count(&rest, "https://");
    let xmlns = count(&rest, "xmlns=\"http://www.w3.org/2000/svg\"");
    assert_eq!(http, xmlns, "{name}: a URL other than the SVG namespace");
    assert!(
        rest.contains("Content-Security-Policy") && rest.contains("default-src 'none'"),
        "{name}"
    );
}

#[test]
fn embedded_json_is_the_report_and_every_call_has_a_card() {
    let mut with_calls = 0;
    for name in FIXTURES {
        let report = analyze_one(name);
        with_calls += usize::from(!report.calls.is_empty());
        let page = page(&report);
        assert_page_matches(name, &report, &page);
        // Every verdict is on the page, escaped.
        for c in &report.calls {
            assert!(
                page.contains(&html::Esc(&c.verdict).to_string()),
                "{name}: verdict of {} missing",
                c.call_id
            );
        }
    }
    assert!(with_calls >= 6, "the fixtures should exercise call cards");
}

#[test]
fn cards_are_coloured_by_the_encryption_verdict() {
    // A plain G.711 call over SIP/UDP: red.
    let plain = analyze_one("sipp__g711a.pcap");
    assert_eq!(plain.calls[0].encrypted, "no");
    let p = page(&plain);
    assert!(p.contains("<article class=\"call-card exposed\" id=\"call-1\">"));
    assert!(p.contains("<span class=\"badge exposed\">Not encrypted</span>"));
    // Plain RTP drawn red in the graph and the stream table.
    assert!(p.contains("class=\"edge e-exposed"));
    assert!(p.contains("<span class=\"bad\">plain</span>"));

    // Google Meet over DTLS-SRTP to Google's SFU: green, ends at the provider
    // unless the meeting enabled client-side encryption.
    let meet = analyze_one("ndpi__stun_google_meet.pcapng");
    assert!(meet.calls.iter().all(|c| c.encrypted == "yes"));
    let p = page(&meet);
    assert_eq!(
        count(&p, "<article class=\"call-card safe\""),
        meet.calls.len()
    );
    // Meet's client-side encryption is a meeting option the wire does not show.
    assert!(p.contains("at Google's servers unless the meeting enabled end-to-end encryption"));
    // Client, NAT, STUN server and SFU are all drawn.
    for role in [
        "local client",
        "NAT, public side",
        "STUN server · Google",
        "SFU / media server · Google",
    ] {
        assert!(p.contains(&format!(">{role}</text>")), "graph lacks {role}");
    }
    assert!(p.contains("class=\"edge e-safe"));
}

/// The `<g class="node ...">` groups of the graph of call `call_id`.
fn graph_nodes<'p>(page: &'p str, call_id: &str) -> Vec<&'p str> {
    let card = page
        .split("<article class=\"call-card")
        .find(|c| c.contains(&html::Esc(call_id).to_string()))
        .expect("the call's card");
    let graph = &card[card.find("<svg class=\"graph\"").expect("a graph")..];
    let graph = &graph[..graph.find("</svg>").unwrap()];
    graph
        .split("<g class=\"node")
        .skip(1)
        .map(|g| &g[..g.find("</g>").unwrap()])
        .collect()
}

#[test]
fn a_party_behind_nat_shows_its_internal_address() {
    // A SIP call captured outside the caller's NAT: its packets come from
    // 180.173.83.248, while its Contact and SDP give 192.168.8.53.
    let report = analyze_one("heplify__erspan_sip_ipv4_udp.pcapng");
    let call = "bf3880-0-16e4-5af571fa-38bc4ba4-5af571fa@101.231.48.19";
    let c = report.calls.iter().find(|c| c.call_id == call).unwrap();
    assert!(c
        .endpoints
        .iter()
        .any(|e| e.role == "caller" && e.ip == "180.173.83.248"));
    let p = page(&report);
    let nodes = graph_nodes(&p, call);
    let caller: Vec<&&str> = nodes
        .iter()
        .filter(|g| g.contains("180.173.83.248"))
        .collect();
    assert_eq!(caller.len(), 1, "{nodes:#?}");
    assert!(
        caller[0].contains(">caller</text>")
            && caller[0].contains(">192.168.8.53</text>")
            && caller[0].contains(">behind NAT 180.173.83.248:53221</text>"),
        "{}",
        caller[0]
    );
    // The server at the other end only echoes the caller's Via: not behind
    // a NAT.
    let callee: Vec<&&str> = nodes
        .iter()
        .filter(|g| g.contains(">101.231.48.19</text>"))
        .collect();
    assert_eq!(callee.len(), 1, "{nodes:#?}");
    assert!(!callee[0].contains("behind NAT"), "{}", callee[0]);
    // The card says it too.
    assert!(p.contains("caller 180.173.83.248:53221, behind NAT: internal 192.168.8.53"));
    // A caller seen at its own private address is not behind a NAT.
    let sip = page(&analyze_one("sngrep__aaa.pcap"));
    assert!(!sip.contains("behind NAT"));
}

#[test]
fn hostile_strings_render_inert() {
    let mut report = analyze_one("sngrep__aaa.pcap");
    assert!(!report.calls.is_empty() && !report.leaks.is_empty());
    let c = &mut report.calls[0];
    c.call_id = HOSTILE.into();
    c.from = Some(format!("sip:{HOSTILE}@example.com"));
    c.to = Some(HOSTILE.into());
    c.verdict = HOSTILE.into();
    c.user_agents.push(HOSTILE.into());
    c.findings.push(HOSTILE.into());
    c.app = Some(HOSTILE.into());
    c.endpoints[0].operator = Some(HOSTILE.into());
    let f = &mut report.flows[0];
    f.sni = Some(HOSTILE.into());
    f.app = Some(HOSTILE.into());
    f.operator = Some(HOSTILE.into());
    report.leaks[0].exposed_to = HOSTILE.into();
    report.source.files = vec![HOSTILE.into()];
    report.warnings.push(vcscope::report::WarningOut {
        kind: HOSTILE.into(),
        count: 1,
        example: HOSTILE.into(),
    });

    let page = page(&report);
    assert_page_matches("hostile", &report, &page);
    let (json, rest) = split_json(&page);
    // Outside the data element the markup only appears escaped.
    for raw in ["<img", "<b id", "<!--", "<svg onload", "onerror=\""] {
        assert!(!rest.contains(raw), "raw {raw:?} outside the JSON");
    }
    assert_eq!(count(&rest, "<script"), 2, "only the page's own scripts");
    assert!(rest.contains("&lt;/script&gt;&lt;script&gt;document"));
    assert!(rest.contains("&lt;img src=x onerror=&quot;"));
    // Inside it, nothing can end the element or open a comment.
    assert!(!json.contains("</") && !json.contains("<!--"));
    assert!(json.contains("<\\/script>"));
}

#[test]
fn big_reports_are_capped_and_say_so() {
    let base = analyze_one("ndpi__stun_google_meet.pcapng");
    let mut report = base.clone();
    report.calls.clear();
    report.flows.clear();
    let mut id = 0;
    for round in 0..900 {
        for f in &base.flows {
            id += 1;
            let mut f = f.clone();
            f.id = id;
            report.flows.push(f);
        }
        for c in &base.calls {
            let mut c = c.clone();
            c.call_id = format!("{}-{round}", c.call_id);
            report.calls.push(c);
        }
    }
    for n in 0..3000 {
        let mut l = base
            .leaks
            .first()
            .cloned()
            .unwrap_or(vcscope::report::LeakOut {
                call_id: None,
                address: "10.0.0.1".into(),
                scope: "private",
                where_: "sip-via",
                flow_id: 1,
                exposed_to: "192.0.2.1".into(),
                first_ts: 0.0,
                count: 1,
            });
        l.flow_id = n + 1;
        report.leaks.push(l);
    }
    assert!(report.calls.len() > html::MAX_CALLS && report.flows.len() > html::MAX_FLOW_ROWS);

    let page = page(&report);
    if let Some(p) = std::env::var_os("VCSCOPE_HTML_BIG") {
        std::fs::write(p, &page).unwrap();
    }
    assert_page_matches("big", &report, &page);
    let (json, rest) = split_json(&page);
    assert_eq!(count(&rest, "<tr id=\"flow-"), html::MAX_FLOW_ROWS);
    assert!(rest.contains(&format!(
        "Showing the first {} of {} calls",
        html::MAX_CALLS,
        report.calls.len()
    )));
    assert!(rest.contains(&format!(
        "Showing the first {} of {} flows",
        html::MAX_FLOW_ROWS,
        report.flows.len()
    )));
    assert!(rest.contains(&format!(
        "Showing the first {} of 3000 leaks",
        html::MAX_LEAK_ROWS
    )));
    // What is drawn does not grow with the report: the markup stays a few MB
    // while the data grows.
    assert!(rest.len() < 6_000_000, "markup {} bytes", rest.len());
    assert!(json.len() > 2 * rest.len() / 3, "the data is all there");
}

#[test]
fn cli_writes_html_by_flag_and_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let capture = fixture("sipp__g711a.pcap");
    let by_ext = dir.path().join("report.html");
    let by_flag = dir.path().join("report.out");
    for args in [
        vec!["-o".as_ref(), by_ext.as_os_str()],
        vec![
            "--format".as_ref(),
            "html".as_ref(),
            "-o".as_ref(),
            by_flag.as_os_str(),
        ],
    ] {
        let out = Command::new(bin())
            .arg("read")
            .arg(&capture)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let json_out = Command::new(bin())
        .args(["read", "--format", "json"])
        .arg(&capture)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(json_out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&json_out.stdout).unwrap();
    for path in [&by_ext, &by_flag] {
        let page = std::fs::read_to_string(path).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"), "{}", path.display());
        let (embedded, rest) = split_json(&page);
        let embedded: serde_json::Value = serde_json::from_str(embedded).unwrap();
        assert_eq!(embedded, json, "{}", path.display());
        assert_eq!(count(&rest, "<article class=\"call-card"), 1);
    }
}

// ---------------------------------------------------------------------------
// Real browser

fn dump_dom(browser: &Path, page: &Path) -> String {
    run_chromium(browser, page, &["--dump-dom".to_string()])
}

#[test]
fn renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var_os("VCSCOPE_SKIP_BROWSER").is_some() {
            eprintln!("renders_in_headless_chromium: skipped (VCSCOPE_SKIP_BROWSER)");
            return;
        }
        panic!(
            "headless browser test: install Debian's `chromium` (scripts/setup.sh), \
             set VCSCOPE_CHROMIUM, or set VCSCOPE_SKIP_BROWSER=1"
        );
    };
    let dir = tempfile::tempdir().unwrap();

    let mut pages: Vec<(String, Report)> = [
        "sipp__g711a.pcap",
        "ndpi__stun_google_meet.pcapng",
        "ndpi__telegram_videocall.pcapng",
        "arkime__stun.pcap",
    ]
    .iter()
    .map(|n| (n.to_string(), analyze_one(n)))
    .collect();
    let mut hostile = analyze_one("sngrep__aaa.pcap");
    hostile.calls[0].verdict = HOSTILE.into();
    hostile.calls[0].from = Some(HOSTILE.into());
    hostile.flows[0].sni = Some(HOSTILE.into());
    hostile.warnings.push(vcscope::report::WarningOut {
        kind: HOSTILE.into(),
        count: 1,
        example: HOSTILE.into(),
    });
    pages.push(("hostile".into(), hostile));

    for (name, report) in &pages {
        let path = dir.path().join(format!("{name}.html"));
        std::fs::write(&path, page(report)).unwrap();
        let full = dump_dom(&browser, &path);
        // The data element keeps the hostile text verbatim (inert, as JSON).
        let (_, dom) = split_json(&full);
        // The page's script ran, found the data and checked the cards.
        assert!(
            dom.contains("data-render=\"ok\""),
            "{name}: the page did not render cleanly:\n{}",
            &dom[..dom.len().min(2000)]
        );
        assert!(!dom.contains("data-render=\"error\""), "{name}");
        assert_eq!(
            count(&dom, "<article class=\"call-card"),
            report.calls.len().min(html::MAX_CALLS),
            "{name}: call cards in the DOM"
        );
        assert_eq!(
            count(&dom, "<svg"),
            expected_svgs(report),
            "{name}: SVGs in the DOM"
        );
        // Nothing from the capture became markup or ran.
        assert!(!dom.contains("data-pwned="), "{name}: injected script ran");
        assert!(!dom.contains("<b id=\"pwned\""), "{name}: injected element");
        assert!(!dom.contains("<img"), "{name}: injected image");
        if name == "hostile" {
            // ...and it shows as text, in full.
            assert!(
                dom.contains("&lt;b id=\"pwned\"&gt;x&lt;/b&gt;&lt;!--&lt;script&gt;"),
                "hostile text not rendered as text"
            );
        }
    }

    // A screenshot of a call report is a real image.
    let shot = dir.path().join("report.png");
    let meet = dir.path().join("ndpi__stun_google_meet.pcapng.html");
    run_chromium(
        &browser,
        &meet,
        &[
            "--window-size=1200,1500".to_string(),
            format!("--screenshot={}", shot.display()),
        ],
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}

#[test]
fn video_freezes_are_marked_on_the_frame_rate_plot() {
    // Zoom P2P video (no freezes in the capture): a freeze is put in one
    // bucket of the first video stream, as the analysis would record it.
    let mut r = analyze_one("ndpi__zoom_p2p.pcapng");
    let s = r
        .flows
        .iter_mut()
        .flat_map(|f| f.rtp_streams.iter_mut())
        .find(|s| s.video.is_some())
        .expect("a video stream");
    s.series[0].freezes = 2;
    s.video.as_mut().unwrap().freezes = 2;
    let p = page(&r);
    assert_eq!(count(&p, "<line class=\"freeze\""), 1);
    assert!(p.contains("<title>2 freezes</title>"));
    assert!(p.contains(" · 2 frz · "));
    // A plain G.711 stream's MOS plot reads its worst bucket.
    let p = page(&analyze_one("sipp__g711a.pcap"));
    assert_eq!(count(&p, "spark sp-mos"), 1);
    assert!(p.contains(">min 4.41 · "));
}

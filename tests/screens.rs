//! The HTML report as a browser draws it: screenshots in headless Chromium
//! compared with reviewed references, and no two pieces of text on top of
//! each other.
//!
//! * `screenshots_match_the_references`: five reports (plain SIP calls,
//!   Teams with its many relays, Google Meet over WebRTC, Zoom, WhatsApp
//!   through TURN), written by `vcscope read FILE --format html`, are taken
//!   at a fixed window size and scale and compared with
//!   `tests/screens/*.png`. The comparison forgives font rendering
//!   (anti-aliasing, hinting, glyphs a pixel aside): the new picture is cut
//!   into blocks of [`BLOCK`] pixels, and a block differs when its mean
//!   colour differs by more than [`BLOCK_TOLERANCE`] from that of every
//!   window of the reference within [`SHIFT`] pixels; the test fails when
//!   more than [`MAX_DIFFERING`] of the blocks differ, or the sizes do. On failure the
//!   new screenshot and a diff image (differing blocks in red) are written
//!   under `target/tmp/screens/`. `VCSCOPE_BLESS=1` rewrites the references
//!   instead; look at each one before committing it.
//! * `no_text_overlaps_other_text`: on every fixture with a call, a copy of
//!   the report with a measuring script (and without the page's CSP, which
//!   would block it) is loaded; the script writes the box of every visible
//!   piece of text (HTML text by line, SVG `<text>` whole) into the DOM,
//!   `--dump-dom` returns it, and no two boxes may overlap by more than
//!   [`OVERLAP_TOLERANCE`] in both directions.
//!
//! Both need Debian's `chromium`, and the screenshots the DejaVu fonts as
//! fontconfig's sans-serif and monospace, as on Debian (`scripts/setup.sh
//! --test` installs both); without them they are skipped with a message.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{all_fixtures, bin, chromium, fixture, root, run_chromium};

/// The window every screenshot is taken in, and the fixtures with the
/// height that shows their first call's card, graph and ladder.
const WIDTH: u32 = 1100;
const SHOTS: &[(&str, u32)] = &[
    ("sngrep__aaa.pcap", 1500),
    ("ndpi__teams.pcap", 2000),
    ("ndpi__stun_google_meet.pcapng", 1500),
    ("ndpi__zoom.pcap", 1500),
    ("ndpi__stun_wa_call.pcapng", 1500),
];

/// Side of the square blocks compared, in pixels.
const BLOCK: usize = 8;
/// How far (pixels, each way) a block may find its match in the reference.
const SHIFT: usize = 2;
/// A block differs when one of its channels' mean differs by more than this
/// (of 255).
const BLOCK_TOLERANCE: f64 = 16.0;
/// The share of differing blocks above which two pictures differ.
///
/// Measured on the Meet report against its picture with the flags below:
/// drawing the cards in layers of their own makes 0.05% of the blocks
/// differ, sub-pixel text positioning with medium hinting (both turned off
/// below) 0.20%; while the green edges drawn grey make 0.33% differ (0.29%
/// on Teams), node borders of 4 px instead of 1.5 px 0.46%, one badge
/// recoloured 0.36%, the call ladder hidden 12%. Text a little larger or
/// moved a few pixels is not caught: that is what font rendering does.
const MAX_DIFFERING: f64 = 0.002;
/// All references together stay below this many bytes.
const MAX_REFERENCE_BYTES: u64 = 2_000_000;
/// Two text boxes may share this much (px) in each direction: neighbours on
/// one line touch, and boxes are measured in fractions of a pixel.
const OVERLAP_TOLERANCE: f64 = 1.0;

/// Flags that make Chromium draw the same picture every time: one device
/// pixel a CSS pixel, no hinting or sub-pixel text, sRGB, every compositor
/// stage before the picture is taken, and time that runs only as fast as
/// the page loads.
fn deterministic(width: u32, height: u32) -> Vec<String> {
    vec![
        format!("--window-size={width},{height}"),
        "--force-device-scale-factor=1".into(),
        "--font-render-hinting=none".into(),
        "--disable-lcd-text".into(),
        "--disable-font-subpixel-positioning".into(),
        "--force-color-profile=srgb".into(),
        "--run-all-compositor-stages-before-draw".into(),
        "--virtual-time-budget=5000".into(),
        "--force-prefers-reduced-motion".into(),
        "--blink-settings=preferredColorScheme=1".into(),
    ]
}

/// The browser, or `None` after saying why the test is skipped.
fn browser_or_skip(test: &str) -> Option<PathBuf> {
    let b = chromium();
    if b.is_none() {
        eprintln!(
            "{test}: skipped: no chromium on the PATH (scripts/setup.sh --test installs it; \
             VCSCOPE_CHROMIUM names another binary)"
        );
    }
    b
}

/// The fonts the references were drawn with are not the ones this machine
/// gives for sans-serif and monospace: `Some(what it gives)`. Font
/// rendering is forgiven, another font is not.
fn other_fonts() -> Option<String> {
    let mut found = Vec::new();
    for (pattern, want) in [
        ("sans-serif", "DejaVu Sans"),
        ("monospace", "DejaVu Sans Mono"),
    ] {
        let out = Command::new("fc-match")
            .args(["-f", "%{family}", pattern])
            .stdin(Stdio::null())
            .output()
            .ok()?;
        let family = String::from_utf8_lossy(&out.stdout).to_string();
        if !family.split(',').any(|f| f == want) {
            found.push(format!("{pattern} is {family:?}, not {want}"));
        }
    }
    (!found.is_empty()).then(|| found.join("; "))
}

/// `vcscope read NAME --format html -o OUT`, run in the fixtures' folder so
/// that the page names the file as every machine does.
fn write_report(name: &str, out: &Path) {
    let status = Command::new(bin())
        .current_dir(fixture(name).parent().unwrap())
        .args(["read", name, "--format", "html", "-q", "-o"])
        .arg(out)
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{name}: vcscope read failed: {status}");
}

/// The page of `html` with every part laid out and drawn, not only those
/// the browser found near the window when it took the picture: cards and
/// long tables have `content-visibility: auto`, which would make the
/// picture's bottom depend on timing. Once drawn, they look the same.
fn all_laid_out(html: &str) -> String {
    let head_end = html.find("</head>").expect("</head>");
    format!(
        "{}<style>* {{ content-visibility: visible !important; }}</style>\n{}",
        &html[..head_end],
        &html[head_end..]
    )
}

/// Where failed comparisons leave their pictures.
fn out_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screens");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn references() -> PathBuf {
    root().join("tests").join("screens")
}

// ---------------------------------------------------------------------------
// Pictures

/// An 8-bit RGB picture.
struct Picture {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Picture {
    fn read(path: &Path) -> Picture {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut dec = png::Decoder::new(std::io::BufReader::new(file));
        dec.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = dec
            .read_info()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut buf = vec![0; reader.output_buffer_size().expect("a sane size")];
        let info = reader
            .next_frame(&mut buf)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let channels = match info.color_type {
            png::ColorType::Grayscale => 1,
            png::ColorType::GrayscaleAlpha => 2,
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            png::ColorType::Indexed => unreachable!("expanded by normalize_to_color8"),
        };
        let (width, height) = (info.width as usize, info.height as usize);
        let mut rgb = Vec::with_capacity(width * height * 3);
        for row in buf[..info.buffer_size()].chunks_exact(info.line_size) {
            for px in row[..width * channels].chunks_exact(channels) {
                match channels {
                    1 | 2 => rgb.extend_from_slice(&[px[0]; 3]),
                    _ => rgb.extend_from_slice(&px[..3]),
                }
            }
        }
        Picture { width, height, rgb }
    }

    fn write(&self, path: &Path) {
        let file =
            std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut enc = png::Encoder::new(
            std::io::BufWriter::new(file),
            self.width as u32,
            self.height as u32,
        );
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::High);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&self.rgb).unwrap();
        w.finish().unwrap();
    }
}

/// Sums of each channel over every rectangle from the origin, for the mean
/// of any window in constant time.
struct Sums {
    width: usize,
    height: usize,
    /// `(width + 1) * (height + 1)` entries: the sums over `[0, x) × [0, y)`.
    sums: Vec<[u64; 3]>,
}

impl Sums {
    fn of(p: &Picture) -> Sums {
        let (w, h) = (p.width, p.height);
        let mut sums = vec![[0u64; 3]; (w + 1) * (h + 1)];
        for y in 0..h {
            let mut row = [0u64; 3];
            for x in 0..w {
                let px = &p.rgb[(y * w + x) * 3..][..3];
                for c in 0..3 {
                    row[c] += u64::from(px[c]);
                    sums[(y + 1) * (w + 1) + x + 1][c] = sums[y * (w + 1) + x + 1][c] + row[c];
                }
            }
        }
        Sums {
            width: w,
            height: h,
            sums,
        }
    }

    /// Mean of each channel over the window of `w × h` pixels at `(x, y)`,
    /// clipped to the picture.
    fn mean(&self, x: isize, y: isize, w: usize, h: usize) -> [f64; 3] {
        let clip = |v: isize, max: usize| v.clamp(0, max as isize) as usize;
        let (x0, y0) = (clip(x, self.width), clip(y, self.height));
        let (x1, y1) = (
            clip(x + w as isize, self.width),
            clip(y + h as isize, self.height),
        );
        let n = ((x1 - x0) * (y1 - y0)).max(1) as f64;
        let at = |x: usize, y: usize| self.sums[y * (self.width + 1) + x];
        let (a, b, c, d) = (at(x1, y1), at(x0, y1), at(x1, y0), at(x0, y0));
        [0, 1, 2].map(|k| (a[k] + d[k] - b[k] - c[k]) as f64 / n)
    }
}

/// How two pictures of one size differ, block by block.
struct Comparison {
    blocks: usize,
    /// Differing blocks, by block coordinates.
    differing: Vec<(usize, usize)>,
    /// The largest channel difference of a block mean (against the best
    /// placed window of the reference).
    worst: f64,
}

impl Comparison {
    /// Each block of `actual` against the windows of `reference` at the same
    /// place and up to [`SHIFT`] pixels away: text that a rasteriser put a
    /// pixel aside finds its match, a change of colour or layout does not.
    fn of(reference: &Picture, actual: &Picture) -> Comparison {
        let (rs, as_) = (Sums::of(reference), Sums::of(actual));
        let (bw, bh) = (actual.width.div_ceil(BLOCK), actual.height.div_ceil(BLOCK));
        let mut c = Comparison {
            blocks: bw * bh,
            differing: Vec::new(),
            worst: 0.0,
        };
        let shift = SHIFT as isize;
        for by in 0..bh {
            for bx in 0..bw {
                let (x, y) = ((bx * BLOCK) as isize, (by * BLOCK) as isize);
                let w = BLOCK.min(actual.width - bx * BLOCK);
                let h = BLOCK.min(actual.height - by * BLOCK);
                let mine = as_.mean(x, y, w, h);
                let mut best = f64::MAX;
                for dy in -shift..=shift {
                    for dx in -shift..=shift {
                        let theirs = rs.mean(x + dx, y + dy, w, h);
                        let d = mine
                            .iter()
                            .zip(&theirs)
                            .map(|(a, b)| (a - b).abs())
                            .fold(0.0, f64::max);
                        best = best.min(d);
                    }
                }
                c.worst = c.worst.max(best);
                if best > BLOCK_TOLERANCE {
                    c.differing.push((bx, by));
                }
            }
        }
        c
    }
    fn share(&self) -> f64 {
        self.differing.len() as f64 / self.blocks.max(1) as f64
    }

    /// The actual picture faded, with the differing blocks painted red.
    fn diff_image(&self, actual: &Picture) -> Picture {
        let mut rgb: Vec<u8> = actual.rgb.iter().map(|v| 160 + v / 3).collect();
        for &(bx, by) in &self.differing {
            for y in by * BLOCK..((by + 1) * BLOCK).min(actual.height) {
                for x in bx * BLOCK..((bx + 1) * BLOCK).min(actual.width) {
                    let i = (y * actual.width + x) * 3;
                    rgb[i..i + 3].copy_from_slice(&[230, 0, 0]);
                }
            }
        }
        Picture {
            width: actual.width,
            height: actual.height,
            rgb,
        }
    }
}

#[test]
fn block_comparison_forgives_noise_and_catches_changes() {
    let base = Picture {
        width: 64,
        height: 64,
        rgb: (0..64 * 64 * 3).map(|i| (i % 251) as u8).collect(),
    };
    // Anti-aliasing noise: every pixel off by a little, in both directions.
    let noisy = Picture {
        rgb: base
            .rgb
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if i % 2 == 0 {
                    v.saturating_add(9)
                } else {
                    v.saturating_sub(9)
                }
            })
            .collect(),
        ..base
    };
    let c = Comparison::of(&base, &noisy);
    assert!(c.differing.is_empty(), "worst {}", c.worst);
    // A dark square on white moved a pixel: forgiven.
    let square = |at: usize| Picture {
        rgb: (0..64 * 64)
            .flat_map(|i| {
                let (x, y) = (i % 64, i / 64);
                let inside = (at..at + 8).contains(&x) && (at..at + 8).contains(&y);
                [if inside { 20 } else { 250 }; 3]
            })
            .collect(),
        ..base
    };
    let c = Comparison::of(&square(20), &square(21));
    assert!(c.differing.is_empty(), "worst {}", c.worst);
    // Recoloured: every block it covers differs.
    let mut changed = square(20);
    for px in changed.rgb.chunks_exact_mut(3).filter(|p| p[0] == 20) {
        px.copy_from_slice(&[200, 0, 0]);
    }
    let c = Comparison::of(&square(20), &changed);
    assert_eq!(c.differing, vec![(2, 2), (3, 2), (2, 3), (3, 3)]);
    assert_eq!(c.blocks, 64);
    let diff = c.diff_image(&changed);
    assert_eq!(&diff.rgb[(16 * 64 + 16) * 3..][..3], &[230, 0, 0]);
}

#[test]
fn screenshots_match_the_references() {
    let Some(browser) = browser_or_skip("screenshots_match_the_references") else {
        return;
    };
    if let Some(fonts) = other_fonts() {
        eprintln!(
            "screenshots_match_the_references: skipped: {fonts} \
             (scripts/setup.sh --test installs fonts-dejavu-core)"
        );
        return;
    }
    let bless = std::env::var_os("VCSCOPE_BLESS").is_some();
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for &(name, height) in SHOTS {
        let report = dir.path().join(format!("{name}.html"));
        write_report(name, &report);
        let page = dir.path().join(format!("{name}.drawn.html"));
        std::fs::write(
            &page,
            all_laid_out(&std::fs::read_to_string(&report).unwrap()),
        )
        .unwrap();
        let shot = dir.path().join(format!("{name}.png"));
        let mut args = deterministic(WIDTH, height);
        args.push(format!("--screenshot={}", shot.display()));
        run_chromium(&browser, &page, &args);
        let actual = Picture::read(&shot);
        assert_eq!(
            (actual.width, actual.height),
            (WIDTH as usize, height as usize),
            "{name}: screenshot size"
        );
        let reference_path = references().join(format!("{name}.png"));
        if bless {
            std::fs::create_dir_all(references()).unwrap();
            actual.write(&reference_path);
            eprintln!(
                "blessed {}: review it before committing",
                reference_path.display()
            );
            continue;
        }
        if !reference_path.is_file() {
            failures.push(format!(
                "{name}: no reference {}; write it with VCSCOPE_BLESS=1 and review it",
                reference_path.display()
            ));
            continue;
        }
        let reference = Picture::read(&reference_path);
        let kept = out_dir().join(format!("{name}.png"));
        if (reference.width, reference.height) != (actual.width, actual.height) {
            actual.write(&kept);
            failures.push(format!(
                "{name}: {}x{} against the reference's {}x{}; screenshot in {}",
                actual.width,
                actual.height,
                reference.width,
                reference.height,
                kept.display()
            ));
            continue;
        }
        let c = Comparison::of(&reference, &actual);
        eprintln!(
            "{name}: {} of {} blocks differ ({:.3}%), worst block mean difference {:.1}",
            c.differing.len(),
            c.blocks,
            100.0 * c.share(),
            c.worst
        );
        if c.share() > MAX_DIFFERING {
            let diff = out_dir().join(format!("{name}.diff.png"));
            actual.write(&kept);
            c.diff_image(&actual).write(&diff);
            failures.push(format!(
                "{name}: {} of {} blocks differ from {} (more than {:.1}%); \
                 screenshot in {}, differing blocks in red in {}; \
                 if the change is wanted, rewrite with VCSCOPE_BLESS=1 and review",
                c.differing.len(),
                c.blocks,
                reference_path.display(),
                100.0 * MAX_DIFFERING,
                kept.display(),
                diff.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let total: u64 = std::fs::read_dir(references())
        .unwrap()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    assert!(total < MAX_REFERENCE_BYTES, "references take {total} bytes");
}

// ---------------------------------------------------------------------------
// Text boxes

/// Collects the box of every visible piece of text, in page coordinates:
/// HTML text nodes by line (a range's client rects), SVG `<text>` elements
/// whole; writes them as JSON into a `<script type="application/json">`.
const MEASURE: &str = r#"
(function () {
  var out = [];
  var sx = window.scrollX, sy = window.scrollY;
  function push(rc, text, kind) {
    if (rc.width > 0 && rc.height > 0) {
      out.push({ t: text.slice(0, 60), k: kind, x: rc.left + sx, y: rc.top + sy, w: rc.width, h: rc.height });
    }
  }
  function shown(el) {
    var s = getComputedStyle(el);
    return s.visibility !== "hidden" && Number(s.opacity) !== 0;
  }
  var walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  var node, n = 0;
  while ((node = walk.nextNode())) {
    var text = node.data.trim();
    var el = node.parentElement;
    if (!text || !el || el.closest("script, style, title, svg, template") || !shown(el)) {
      continue;
    }
    var range = document.createRange();
    range.selectNodeContents(node);
    var rects = range.getClientRects();
    n += 1;
    for (var i = 0; i < rects.length; i++) {
      push(rects[i], text, "html" + n);
    }
  }
  document.querySelectorAll("svg text").forEach(function (t, i) {
    if (shown(t) && t.textContent.trim()) {
      push(t.getBoundingClientRect(), t.textContent.trim(), "svg" + i);
    }
  });
  var data = document.createElement("script");
  data.type = "application/json";
  data.id = "vcscope-text-boxes";
  data.textContent = JSON.stringify(out).replace(/</g, "\\u003c");
  document.body.appendChild(data);
})();
"#;

#[derive(serde::Deserialize, Debug)]
struct TextBox {
    t: String,
    /// The text node or element it belongs to: its line boxes may touch.
    k: String,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl TextBox {
    /// How much two boxes share in each direction.
    fn overlap(&self, o: &TextBox) -> (f64, f64) {
        (
            (self.x + self.w).min(o.x + o.w) - self.x.max(o.x),
            (self.y + self.h).min(o.y + o.h) - self.y.max(o.y),
        )
    }
}

/// The page of `html` with the measuring script and without its CSP (which
/// would block it), every part laid out.
fn measured_copy(html: &str) -> String {
    let html = all_laid_out(html);
    let start = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .expect("the page's CSP");
    let end = start + html[start..].find('>').unwrap() + 1;
    let body_end = html.rfind("</body>").expect("</body>");
    format!(
        "{}{}<script>{MEASURE}</script>\n{}",
        &html[..start],
        &html[end..body_end],
        &html[body_end..]
    )
}

/// The text boxes of page `page` as the browser lays it out.
fn text_boxes(browser: &Path, page: &Path) -> Vec<TextBox> {
    const OPEN: &str = "<script type=\"application/json\" id=\"vcscope-text-boxes\">";
    let mut args = deterministic(WIDTH, 1000);
    args.push("--dump-dom".into());
    let dom = run_chromium(browser, page, &args);
    let start = dom
        .find(OPEN)
        .unwrap_or_else(|| panic!("{}: the measuring script wrote nothing", page.display()))
        + OPEN.len();
    let len = dom[start..].find("</script>").unwrap();
    serde_json::from_str(&dom[start..start + len]).unwrap()
}

/// Pairs of boxes of different texts sharing more than the tolerance in
/// both directions.
fn overlaps(boxes: &[TextBox]) -> Vec<String> {
    let mut order: Vec<&TextBox> = boxes.iter().collect();
    order.sort_by(|a, b| a.y.total_cmp(&b.y));
    let mut found = Vec::new();
    for (i, a) in order.iter().enumerate() {
        for b in &order[i + 1..] {
            if b.y >= a.y + a.h {
                break;
            }
            let (ox, oy) = a.overlap(b);
            if a.k != b.k && ox > OVERLAP_TOLERANCE && oy > OVERLAP_TOLERANCE {
                found.push(format!(
                    "{:?} at ({:.0}, {:.0}) and {:?} at ({:.0}, {:.0}) share {ox:.1}x{oy:.1} px",
                    a.t, a.x, a.y, b.t, b.x, b.y
                ));
            }
        }
    }
    found
}

#[test]
fn overlap_check_finds_overlaps() {
    let b = |k: &str, x, y, w, h| TextBox {
        t: k.into(),
        k: k.into(),
        x,
        y,
        w,
        h,
    };
    // Neighbours on one line and lines of one text touch: no overlap.
    assert!(overlaps(&[
        b("a", 0.0, 0.0, 50.0, 16.0),
        b("b", 49.5, 0.0, 30.0, 16.0),
        b("c", 0.0, 15.5, 80.0, 16.0),
    ])
    .is_empty());
    // A label drawn over another.
    let found = overlaps(&[b("a", 0.0, 0.0, 50.0, 16.0), b("b", 40.0, 8.0, 30.0, 16.0)]);
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn no_text_overlaps_other_text() {
    let Some(browser) = browser_or_skip("no_text_overlaps_other_text") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut pages = 0;
    let mut boxes = 0;
    let mut failures = Vec::new();
    for path in all_fixtures() {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let golden = common::read_json(&root().join("tests/golden").join(format!("{name}.json")));
        let with_call = golden["calls"].as_array().is_some_and(|c| !c.is_empty());
        if !with_call && !SHOTS.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let report = dir.path().join(format!("{name}.html"));
        write_report(&name, &report);
        let page = dir.path().join(format!("{name}.measured.html"));
        std::fs::write(
            &page,
            measured_copy(&std::fs::read_to_string(&report).unwrap()),
        )
        .unwrap();
        let found = text_boxes(&browser, &page);
        assert!(found.len() > 50, "{name}: only {} text boxes", found.len());
        pages += 1;
        boxes += found.len();
        for o in overlaps(&found) {
            failures.push(format!("{name}: {o}"));
        }
    }
    eprintln!("{pages} pages, {boxes} text boxes measured");
    assert!(pages >= 20, "{pages} pages");
    assert!(
        failures.is_empty(),
        "{} overlapping text boxes:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

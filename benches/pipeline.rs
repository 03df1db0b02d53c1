//! The whole analyzer over captures held in memory: every dissector, call
//! correlation, verdicts and the report, without file I/O.
//!
//! Each capture is read once with libpcap into one buffer; a benchmark
//! iteration is `Analyzer::new` + `process` for every frame + `finish`
//! (the report is built, not serialised). Throughput is in packets.
//!
//! Fixtures: SIP (sngrep, nDPI), STUN/TURN (nDPI stun, WhatsApp voice),
//! TLS/STUN/media mixes (Teams, Zoom) and QUIC (Chromium). Set
//! `VCSCOPE_BENCH_PCAP` to a capture (for example the generated workload of
//! `scripts/bench.sh`) to bench it too:
//!
//! ```text
//! cargo bench --bench pipeline
//! VCSCOPE_BENCH_PCAP=bench-data/vc_200000.pcap cargo bench --bench pipeline -- env
//! ```

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pcap::{Capture, Precision};

use vcscope::engine::{Analyzer, Config};
use vcscope::packet::LinkType;
use vcscope::time::Nanos;

/// A capture in memory: all frames back to back in one buffer.
struct Frames {
    link: LinkType,
    data: Vec<u8>,
    /// Per frame: timestamp, range in `data`, length on the wire.
    index: Vec<(Nanos, Range<usize>, u32)>,
}

impl Frames {
    fn load(path: &Path) -> Frames {
        let mut cap = Capture::from_file_with_precision(path, Precision::Nano)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let dlt = cap.get_datalink().0;
        let link = LinkType::from_dlt(dlt)
            .unwrap_or_else(|| panic!("{}: unsupported link type {dlt}", path.display()));
        let mut data = Vec::new();
        let mut index = Vec::new();
        loop {
            match cap.next_packet() {
                Ok(p) => {
                    let start = data.len();
                    data.extend_from_slice(p.data);
                    // Opened with nanosecond precision: tv_usec holds nanoseconds.
                    let ts =
                        Nanos::from_timeval(p.header.ts.tv_sec, p.header.ts.tv_usec, 1_000_000_000);
                    index.push((ts, start..data.len(), p.header.len));
                }
                Err(pcap::Error::NoMorePackets) => break,
                Err(e) => panic!("{}: {e}", path.display()),
            }
        }
        Frames { link, data, index }
    }

    fn packets(&self) -> u64 {
        self.index.len() as u64
    }

    /// One whole analysis; returns the report.
    fn analyze(&self) -> vcscope::report::Report {
        let mut an = Analyzer::new(Config::default());
        for (ts, range, len) in &self.index {
            let frame = self.data.get(range.clone()).unwrap_or_default();
            an.process(self.link, *ts, frame, *len);
        }
        an.finish(Vec::new(), None)
    }
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("pcap")
        .join(name)
}

/// Captures benched by default: (bench name, fixture file).
const FIXTURES: &[(&str, &str)] = &[
    ("sip/sngrep_aaa", "sngrep__aaa.pcap"),
    ("sip/ndpi_sip_rtp", "ndpi__sip.pcap"),
    ("stun_turn/ndpi_stun", "ndpi__stun.pcap"),
    ("stun_turn/whatsapp_voice", "ndpi__wa_voice.pcap"),
    ("tls_mix/teams", "ndpi__teams.pcap"),
    ("tls_mix/zoom", "ndpi__zoom.pcap"),
    (
        "quic/chromium_115",
        "zeek__quic_chromium-115-api-cirrus-com.pcap",
    ),
];

fn bench_fixtures(c: &mut Criterion) {
    let mut g = c.benchmark_group("pipeline");
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(3));
    for (name, file) in FIXTURES {
        let frames = Frames::load(&fixture(file));
        // The analysis must see every frame of the capture.
        let report = frames.analyze();
        assert_eq!(report.source.packets, frames.packets(), "{file}");
        g.throughput(Throughput::Elements(frames.packets()));
        g.bench_function(*name, |b| b.iter_with_large_drop(|| frames.analyze()));
    }
    g.finish();
}

/// The capture named by `VCSCOPE_BENCH_PCAP`, if set (never committed: it is
/// generated at bench time).
fn bench_env(c: &mut Criterion) {
    let Some(path) = std::env::var_os("VCSCOPE_BENCH_PCAP") else {
        return;
    };
    let path = PathBuf::from(path);
    let frames = Frames::load(&path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "capture".into());
    let mut g = c.benchmark_group("env");
    // Large captures take seconds per iteration: the fewest samples criterion allows.
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(frames.packets()));
    g.bench_function(name, |b| b.iter_with_large_drop(|| frames.analyze()));
    g.finish();
}

criterion_group!(pipeline, bench_fixtures, bench_env);
criterion_main!(pipeline);

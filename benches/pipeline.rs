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
//!
//! `rtp_stream` is one long G.711 stream (a real packet of
//! `sipp__g711a.pcap` repeated with its sequence number, timestamp and
//! arrival advanced): the per-packet cost of an established RTP stream.
//! Built with `--features bench-without-quality`, the stream's jitter
//! buffer and video frame tracking are left out, so the two runs give the
//! quality tracking's share:
//!
//! ```text
//! cargo bench --bench pipeline -- rtp_stream
//! cargo bench --bench pipeline --features bench-without-quality -- rtp_stream
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

/// Packets of the synthetic stream of [`bench_rtp_stream`].
const STREAM_PACKETS: u32 = 20_000;

/// One G.711 stream of [`STREAM_PACKETS`] packets, 20 ms apart, from the
/// first packet of `sipp__g711a.pcap` (Ethernet/IPv4/UDP/RTP); the UDP
/// checksum is zeroed (none, RFC 768) as the payload changes.
fn rtp_stream() -> Frames {
    let one = Frames::load(&fixture("sipp__g711a.pcap"));
    let (t0, range, _) = one.index.first().cloned().expect("a packet");
    let proto = one.data.get(range).expect("frame").to_vec();
    let ihl = usize::from(proto[14] & 0x0f) * 4;
    let udp = 14 + ihl;
    let rtp = udp + 8;
    let seq0 = u16::from_be_bytes([proto[rtp + 2], proto[rtp + 3]]);
    let mut data = Vec::with_capacity(proto.len() * STREAM_PACKETS as usize);
    let mut index = Vec::with_capacity(STREAM_PACKETS as usize);
    for i in 0..STREAM_PACKETS {
        let mut f = proto.clone();
        f[udp + 6..udp + 8].copy_from_slice(&[0, 0]);
        f[rtp + 2..rtp + 4].copy_from_slice(&seq0.wrapping_add(i as u16).to_be_bytes());
        f[rtp + 4..rtp + 8].copy_from_slice(&(i * 160).to_be_bytes());
        // The marker bit only on the first packet.
        if i > 0 {
            f[rtp + 1] &= 0x7f;
        }
        let start = data.len();
        data.extend_from_slice(&f);
        let ts = Nanos(t0.0 + u64::from(i) * 20_000_000);
        index.push((ts, start..data.len(), f.len() as u32));
    }
    Frames {
        link: one.link,
        data,
        index,
    }
}

/// The per-packet cost of an established RTP stream, with the quality
/// tracking or (feature `bench-without-quality`) without it.
fn bench_rtp_stream(c: &mut Criterion) {
    let frames = rtp_stream();
    let report = frames.analyze();
    let s = &report.flows[0].rtp_streams[0];
    assert_eq!(s.packets, u64::from(STREAM_PACKETS));
    // Without the tracking the jitter buffers saw nothing: no adaptive
    // delay beyond its start value.
    let adaptive = s.quality.as_ref().map(|q| q.jitter_buffer[2].delay_ms);
    assert_eq!(
        adaptive == Some(50.0),
        cfg!(feature = "bench-without-quality")
    );
    let mut g = c.benchmark_group("rtp_stream");
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(frames.packets()));
    let name = if cfg!(feature = "bench-without-quality") {
        "g711_without_quality"
    } else {
        "g711_with_quality"
    };
    g.bench_function(name, |b| b.iter_with_large_drop(|| frames.analyze()));
    g.finish();
}

criterion_group!(pipeline, bench_fixtures, bench_env, bench_rtp_stream);
criterion_main!(pipeline);

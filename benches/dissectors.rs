//! One criterion group per parser of `vcscope-dissectors`, over real bytes.
//!
//! Inputs are the single-message fixtures of `fixtures/payloads/**` (their
//! READMEs give the capture and frame of every file). RTCP and SRTP have no
//! payload files, so their datagrams are cut out of fixture captures at
//! start-up (capture and frame numbers below, as in the unit tests of
//! `rtcp.rs`). Each benchmark parses a set of messages the way the engine
//! does (construct the view, then walk what the engine reads) and reports
//! `Throughput::Bytes` of the whole set.
//!
//! ```text
//! cargo bench --bench dissectors            # all groups
//! cargo bench --bench dissectors -- quic    # one group
//! ```

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use etherparse::{SlicedPacket, TransportSlice};

use vcscope_dissectors::demux::PacketClass;
use vcscope_dissectors::quic::{self, LongHeaderPackets, LongPacketType};
use vcscope_dissectors::rtcp::{CompoundValidity, RtcpCompound};
use vcscope_dissectors::rtp::{RtpPacket, RtpStreamStats};
use vcscope_dissectors::sdp::SessionDescription;
use vcscope_dissectors::sip::{self, SipMessage};
use vcscope_dissectors::srtp::{self, PayloadEvidence};
use vcscope_dissectors::stun::{self, StunMessage};
use vcscope_dissectors::tls::{
    ClientHello, DtlsRecords, Handshake, HandshakeAssembler, HandshakeType, Handshakes, TlsRecords,
};
use vcscope_dissectors::turn::{ChannelData, TurnFacts};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn payload(dir: &str, name: &str) -> Vec<u8> {
    let p = root().join("fixtures/payloads").join(dir).join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn payloads(dir: &str, names: &[&str]) -> Vec<Vec<u8>> {
    names.iter().map(|n| payload(dir, n)).collect()
}

fn total_bytes(set: &[Vec<u8>]) -> u64 {
    set.iter().map(|m| m.len() as u64).sum()
}

/// The UDP payloads of a fixture capture (Ethernet or raw IP), with their
/// 1-based frame numbers.
fn udp_payloads(capture: &str) -> Vec<(usize, Vec<u8>)> {
    let p = root().join("fixtures/pcap").join(capture);
    let mut cap = pcap::Capture::from_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let ethernet = cap.get_datalink().0 == 1;
    let mut out = Vec::new();
    let mut frame = 0usize;
    while let Ok(pkt) = cap.next_packet() {
        frame += 1;
        let sliced = if ethernet {
            SlicedPacket::from_ethernet(pkt.data)
        } else {
            SlicedPacket::from_ip(pkt.data)
        };
        if let Ok(SlicedPacket {
            transport: Some(TransportSlice::Udp(u)),
            ..
        }) = sliced
        {
            out.push((frame, u.payload().to_vec()));
        }
    }
    out
}

/// The UDP payload of one frame of a fixture capture.
fn udp_frame(capture: &str, frame: usize) -> Vec<u8> {
    udp_payloads(capture)
        .into_iter()
        .find(|(n, _)| *n == frame)
        .map(|(_, b)| b)
        .unwrap_or_else(|| panic!("{capture}: frame {frame} is not UDP"))
}

fn group<'a>(
    c: &'a mut Criterion,
    name: &str,
    set: &[Vec<u8>],
) -> BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(total_bytes(set)));
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    g
}

// ------------------------------------------------------------------ SIP --

const SIP_FILES: &[&str] = &[
    "heplify_ipv6_invite.bin",
    "heplify_tcp_invite.bin",
    "ndpi_fax_invite.bin",
    "ndpi_fax_reinvite.bin",
    "sngrep_480_reason.bin",
    "sngrep_invite_sdp.bin",
    "sngrep_register_auth.bin",
];

/// The facts the engine reads from a SIP message (see `src/calls/dialog.rs`).
fn walk_sip(msg: &SipMessage<'_>) -> usize {
    let mut n = 0;
    n += msg.call_id().map_or(0, str::len);
    n += msg.cseq().map_or(0, |(s, _)| s as usize);
    n += msg.from().map_or(0, |f| f.uri.len());
    n += msg.to().map_or(0, |t| t.uri.len());
    n += msg.vias().count();
    n += msg.contacts().count();
    n += msg.content_type().map_or(0, str::len);
    for h in msg.headers() {
        n += sip::ip_literals(h.value).count();
    }
    n + msg.body().len()
}

fn bench_sip(c: &mut Criterion) {
    let set = payloads("sip", SIP_FILES);
    let mut g = group(c, "sip", &set);
    g.bench_function("probe", |b| {
        b.iter(|| {
            set.iter()
                .filter(|m| sip::probe(black_box(m)) == vcscope_dissectors::Probe::Match)
                .count()
        })
    });
    g.bench_function("parse", |b| {
        b.iter(|| {
            set.iter()
                .map(|m| SipMessage::parse(black_box(m)).map_or(0, |msg| msg.body().len()))
                .sum::<usize>()
        })
    });
    g.bench_function("parse_and_walk", |b| {
        b.iter(|| {
            set.iter()
                .map(|m| SipMessage::parse(black_box(m)).map_or(0, |msg| walk_sip(&msg)))
                .sum::<usize>()
        })
    });
    g.finish();
}

// ------------------------------------------------------------------ SDP --

fn bench_sdp(c: &mut Criterion) {
    // The SDP bodies of the SIP fixtures that carry one.
    let bodies: Vec<Vec<u8>> = payloads("sip", SIP_FILES)
        .iter()
        .filter_map(|m| {
            let msg = SipMessage::parse(m).ok()?;
            let body = msg.body();
            (!body.is_empty() && SessionDescription::parse(body).is_ok()).then(|| body.to_vec())
        })
        .collect();
    assert!(bodies.len() >= 4, "expected SDP bodies in the SIP fixtures");
    let mut g = group(c, "sdp", &bodies);
    g.bench_function("parse_and_walk", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for body in &bodies {
                let Ok(sd) = SessionDescription::parse(black_box(body)) else {
                    continue;
                };
                n += sd.origin().is_some() as usize;
                n += sd.session_connection().is_some() as usize;
                n += sd.session_attributes().count();
                for m in sd.media() {
                    n += m.media().fmts().count();
                    n += m.effective_connection().is_some() as usize;
                    n += m.attributes().count();
                }
            }
            n
        })
    });
    g.finish();
}

// ------------------------------------------------------------------ RTP --

/// The 16 G.711 A-law RTP packets of `sipp_g711a_frames50-65.bin`, 252 bytes each.
fn rtp_packets() -> Vec<Vec<u8>> {
    let all = payload("rtp", "sipp_g711a_frames50-65.bin");
    let v: Vec<Vec<u8>> = all.chunks(252).map(<[u8]>::to_vec).collect();
    assert_eq!(v.len(), 16);
    v
}

fn bench_rtp(c: &mut Criterion) {
    let set = rtp_packets();
    let mut g = group(c, "rtp", &set);
    g.bench_function("new_checked", |b| {
        b.iter(|| {
            set.iter()
                .map(|p| {
                    RtpPacket::new_checked(black_box(p))
                        .map_or(0, |r| u32::from(r.sequence_number()) ^ r.ssrc().0)
                })
                .fold(0u32, |a, x| a ^ x)
        })
    });
    g.bench_function("demux_parse_and_stats", |b| {
        b.iter(|| {
            let mut stats = RtpStreamStats::default();
            for (i, p) in set.iter().enumerate() {
                if PacketClass::of(black_box(p)) != PacketClass::Rtp {
                    continue;
                }
                if let Ok(r) = RtpPacket::new_checked(p) {
                    stats.update_packet(&r, i as f64 * 0.02, Some(8000));
                    stats.add_bytes(p.len());
                }
            }
            (stats.packets(), stats.lost())
        })
    });
    g.finish();
}

// ----------------------------------------------------------------- RTCP --

fn bench_rtcp(c: &mut Criterion) {
    // Real RTCP datagrams of fixture captures (the unit tests of rtcp.rs use them too).
    let set = vec![
        udp_frame("heplify__sip_ipv4_tcp.pcap", 17), // SR with one report block + SDES
        udp_frame("ndpi__sip.pcap", 104),            // SR + SDES (CNAME, TOOL) + BYE
        udp_frame("ndpi__line.pcap", 27),            // reduced-size RTPFB
    ];
    let mut g = group(c, "rtcp", &set);
    g.bench_function("compound_walk", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for d in &set {
                let compound = RtcpCompound::new(black_box(d));
                if compound.validity() == CompoundValidity::Invalid {
                    continue;
                }
                for p in compound.packets() {
                    n += usize::from(u8::from(p.packet_type()));
                }
            }
            n
        })
    });
    g.finish();
}

// ----------------------------------------------------------------- SRTP --

fn bench_srtp(c: &mut Criterion) {
    // Plain G.711 A-law (sipp) and SRTP Opus (PT 111) of a WebRTC call
    // (ndpi__stun_dtls_rtp.pcapng): the RTP payloads, after the header.
    let plain = rtp_packets();
    let srtp: Vec<Vec<u8>> = udp_payloads("ndpi__stun_dtls_rtp.pcapng")
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| {
            PacketClass::of(p) == PacketClass::Rtp
                && RtpPacket::new_checked(p).is_ok_and(|r| r.payload_type().0 == 111)
        })
        .collect();
    assert!(
        srtp.len() >= 8,
        "SRTP packets in ndpi__stun_dtls_rtp.pcapng"
    );
    for (name, set, hint) in [
        ("g711a_plain", &plain, "PCMA"),
        ("opus_srtp", &srtp, "opus"),
    ] {
        let views: Vec<(u8, &[u8])> = set
            .iter()
            .filter_map(|p| {
                let r = RtpPacket::new_checked(p).ok()?;
                Some((r.payload_type().0, r.payload()))
            })
            .collect();
        let bytes: u64 = views.iter().map(|(_, p)| p.len() as u64).sum();
        let mut g = c.benchmark_group("srtp");
        g.throughput(Throughput::Bytes(bytes));
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(2));
        g.bench_function(format!("classify_payload/{name}"), |b| {
            b.iter(|| {
                views
                    .iter()
                    .filter(|(pt, p)| {
                        matches!(
                            srtp::classify_payload(*pt, Some(hint), black_box(p)),
                            PayloadEvidence::Encrypted(_)
                        )
                    })
                    .count()
            })
        });
        g.finish();
    }
}

// ------------------------------------------------------------ STUN/TURN --

const STUN_FILES: &[&str] = &[
    "allocate_request_facebook.bin",
    "allocate_success.bin",
    "binding_response_ipv6.bin",
    "binding_response_xor_mapped.bin",
    "channelbind_request.bin",
    "classic_binding_request.bin",
    "data_indication.bin",
    "ice_binding_request.bin",
    "ice_binding_response.bin",
    "meet_binding_request.bin",
    "ms_turn_allocate.bin",
    "send_indication.bin",
    "signal_allocate_error.bin",
    "teams_binding_request.bin",
    "telegram_allocate_error.bin",
    "whatsapp_allocate.bin",
    "whatsapp_allocate_success.bin",
    "zoom_binding_request.bin",
];

fn bench_stun(c: &mut Criterion) {
    let set = payloads("stun", STUN_FILES);
    let mut g = group(c, "stun", &set);
    g.bench_function("parse_and_walk", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for m in &set {
                if stun::probe(black_box(m)) != vcscope_dissectors::Probe::Match {
                    continue;
                }
                let Ok(msg) = StunMessage::new_checked(m) else {
                    continue;
                };
                n += msg.attributes().count();
                n += msg.addresses().count();
                n += stun::vendor_hint(&msg).is_some() as usize;
                n += TurnFacts::of(&msg).peer_count;
            }
            n
        })
    });
    g.finish();
}

fn bench_turn(c: &mut Criterion) {
    let set = payloads("stun", &["channeldata_stun.bin", "channeldata_short.bin"]);
    let mut g = group(c, "turn", &set);
    g.bench_function("channel_data", |b| {
        b.iter(|| {
            set.iter()
                .map(|m| {
                    ChannelData::new_checked(black_box(m))
                        .map_or(0, |cd| usize::from(cd.channel_number()) + cd.data().len())
                })
                .sum::<usize>()
        })
    });
    g.finish();
}

// ------------------------------------------------------------------ TLS --

fn bench_tls(c: &mut Criterion) {
    let tcp = payloads(
        "tls",
        &[
            "kyber_client_hello.bin",
            "ech_client_hello.bin",
            "instagram_client_hello.bin",
            "esni_client_hello.bin",
        ],
    );
    let dtls = payloads(
        "tls",
        &["dtls_srtp_client_hello.bin", "dtls13_client_hello.bin"],
    );
    let mut all = tcp.clone();
    all.extend(dtls.iter().cloned());
    let mut g = group(c, "tls", &all);
    g.bench_function("client_hello", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for seg in &tcp {
                for rec in TlsRecords::new(black_box(seg)) {
                    let Ok(hs) = Handshake::new_checked(rec.fragment) else {
                        continue;
                    };
                    if hs.msg_type() != HandshakeType::ClientHello {
                        continue;
                    }
                    if let Ok(ch) = ClientHello::parse(hs.body()) {
                        n += ch.sni().map_or(0, str::len);
                        n += ch.alpn().count();
                        n += ch.cipher_suites().count();
                        n += ch.has_ech() as usize;
                    }
                }
            }
            for d in &dtls {
                for rec in DtlsRecords::new(black_box(d)) {
                    for hs in Handshakes::dtls(rec.fragment) {
                        if hs.msg_type() != HandshakeType::ClientHello || !hs.is_complete_fragment()
                        {
                            continue;
                        }
                        if let Ok(ch) = ClientHello::parse(hs.body()) {
                            n += ch.use_srtp_profiles().count();
                            n += ch.cipher_suites().count();
                        }
                    }
                }
            }
            n
        })
    });
    g.finish();

    // One 11 418-byte ClientHello over 12 TCP segments.
    let names: Vec<String> = (1..=12).map(|i| format!("huge_ch_{i:02}.bin")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let segs = payloads("tls", &refs);
    let mut g = group(c, "tls", &segs);
    g.bench_function("assemble_huge_client_hello", |b| {
        let mut asm = HandshakeAssembler::default();
        b.iter(|| {
            asm.reset();
            for s in &segs {
                if asm.push_tls_stream(black_box(s)).is_err() {
                    break;
                }
            }
            let hs = asm.complete_handshake();
            hs.and_then(|h| ClientHello::parse(h.body()).ok())
                .and_then(|ch| ch.sni().map(str::len))
        })
    });
    g.finish();
}

// ----------------------------------------------------------------- QUIC --

fn bench_quic(c: &mut Criterion) {
    let set = payloads(
        "tls",
        &[
            "rfc9001_client_initial.bin",
            "rfc9369_client_initial.bin",
            "quic_chromium115_initial.bin",
            "quic_curl_initial.bin",
            "quic_quicgo_initial.bin",
            "quic_draft29_initial.bin",
        ],
    );
    let mut g = group(c, "quic", &set);
    g.bench_function("initial_decrypt_client_hello", |b| {
        let mut scratch = vec![0u8; 2048];
        let mut asm = HandshakeAssembler::default();
        b.iter(|| {
            let mut n = 0usize;
            for d in &set {
                if quic::probe(black_box(d)) != vcscope_dissectors::Probe::Match {
                    continue;
                }
                asm.reset();
                for h in LongHeaderPackets::new(d) {
                    if h.packet_type() != Some(LongPacketType::Initial) {
                        continue;
                    }
                    if let Ok(p) = quic::decrypt_initial(h.packet(), h.dcid(), &mut scratch) {
                        let _ = p.push_crypto_frames(&mut asm);
                    }
                }
                if let Some(hs) = asm.complete_handshake() {
                    if let Ok(ch) = ClientHello::parse(hs.body()) {
                        n += ch.sni().map_or(0, str::len);
                    }
                }
            }
            n
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().configure_from_args()
}

criterion_group! {
    name = dissectors;
    config = config();
    targets = bench_sip, bench_sdp, bench_rtp, bench_rtcp, bench_srtp, bench_stun,
        bench_turn, bench_tls, bench_quic
}
criterion_main!(dissectors);

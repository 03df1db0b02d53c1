//! Reliability and privacy: no input makes vcscope panic, hang or grow
//! without bound, and no output carries key material or payload bytes.
//!
//! 1. Every payload under `fixtures/payloads/**`, truncated at every length
//!    and with every byte flipped, goes through every dissector entry point.
//! 2. Every fixture capture, mutated (bit flips, cut records, bogus record
//!    lengths, another link type), goes through the analyzer in-process, and
//!    a few through the binary: no panic, no hang, exit 0 or 2 with one line.
//! 3. Hostile inputs built here (a never-ending SIP header over TCP, a
//!    64 KiB STUN attribute, a TLS handshake of 2^24 bytes, overlapping IP
//!    fragments, a flood of one-packet flows) finish with bounded memory,
//!    measured as the peak RSS of a child process running the binary.
//! 4. The report of every fixture carries no SDES key, no digest response,
//!    no raw payload bytes and no SIP message.
//!
//! Crashers found by the fuzz targets (`fuzz`) are kept under
//! `fixtures/fuzz/<target>/` and replayed here.
//!
//! Every pseudo-random choice comes from a fixed seed: a failure reproduces.

mod common;

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use vcscope::capture::{self, CaptureOptions};
use vcscope::engine::{Analyzer, Config};
use vcscope::packet::LinkType;
use vcscope::report::Report;
use vcscope::time::Nanos;
use vcscope_dissectors as dis;

// ------------------------------------------------------------ helpers ----

/// xorshift64*: small, fast and the same on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    fn seeded(name: &str) -> Self {
        // FNV-1a of the name, so each fixture has its own stream.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Rng::new(h)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Files under `dir` (recursively) whose name passes `keep`, sorted.
fn files_under(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if keep(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn payload_files() -> Vec<PathBuf> {
    files_under(&root().join("fixtures").join("payloads"), &|p| {
        p.extension().is_some_and(|e| e == "bin")
    })
}

fn short(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// Runs `f`, turning a panic into a test failure that names the input.
fn no_panic(what: &dyn Fn() -> String, f: impl FnOnce() + std::panic::UnwindSafe) {
    if let Err(e) = std::panic::catch_unwind(f) {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        panic!("panic on {}: {msg}", what());
    }
}

// ------------------------------------------------- every dissector ----

fn walk_sip(data: &[u8]) {
    use dis::sip::{self, NameAddr, Reason, SipMessage, StreamFrame, Via};
    let _ = (
        sip::probe(data),
        sip::is_keepalive(data),
        sip::message_len(data),
    );
    let mut rest = data;
    while let Ok(frame) = sip::next_frame(rest) {
        let n = match frame {
            StreamFrame::KeepAlive(n) | StreamFrame::Message(n) => n,
            StreamFrame::NeedMore => break,
        };
        assert!(n > 0 && n <= rest.len(), "next_frame returned {n}");
        rest = &rest[n..];
    }
    let Ok(msg) = SipMessage::parse(data) else {
        return;
    };
    let _ = (msg.start_line(), msg.method(), msg.status_code());
    let _ = msg.is_request();
    let mut headers = msg.headers();
    for h in headers.by_ref() {
        let _ = (h.name.as_str(), h.raw_name, h.is_folded());
        let _ = h.value_parts().count();
        for item in h.items() {
            if let Some(n) = NameAddr::parse(item) {
                let _ = (n.host(), n.params().count());
            }
            if let Some(v) = Via::parse(item) {
                let _ = (v.sent_by_ip(), v.received_ip(), v.params().count());
            }
            let _ = Reason::parse(item);
            let _ = sip::ip_literals(item).count();
            let _ = sip::uri_host(item);
        }
        if h.name.is_credential() {
            assert!(h.value.is_empty(), "credential header value exposed");
        }
    }
    let _ = headers.malformed_at();
    let _ = (msg.call_id(), msg.from(), msg.to(), msg.cseq());
    let _ = (msg.vias().count(), msg.contacts().count());
    let _ = (msg.user_agent(), msg.server(), msg.content_type());
    let _ = (msg.content_length(), msg.has_authorization());
    let _ = (msg.reason_header(), msg.is_truncated());
    // The body goes to the SDP parser, as the engine does.
    walk_sdp(msg.body());
}

fn walk_sdp_attribute(a: dis::sdp::Attribute<'_>) {
    use dis::sdp::Attribute;
    match a {
        Attribute::Candidate(c) => {
            let _ = (c.address.ip(), c.raddr, c.rport);
            let _ = c.extensions().count();
        }
        Attribute::Crypto(c) => {
            let _ = (
                c.suite.is_weak(),
                c.suite.is_null_cipher(),
                c.has_inline_key,
            );
        }
        other => {
            let _ = format!("{other:?}");
        }
    }
}

fn walk_sdp(data: &[u8]) {
    use dis::sdp::{Attribute, Candidate, SdpLine, SessionDescription};
    if let Ok(sdp) = SessionDescription::parse(data) {
        for line in sdp.lines() {
            match line {
                SdpLine::Attribute(a) => walk_sdp_attribute(a),
                SdpLine::Media(m) => {
                    let _ = (m.profile().is_secure(), m.profile().is_dtls());
                    let _ = (m.fmts().count(), m.is_disabled());
                }
                SdpLine::Connection(c) => {
                    let _ = c.addr.ip();
                }
                other => {
                    let _ = format!("{other:?}");
                }
            }
        }
        let _ = (sdp.origin(), sdp.session_connection());
        let _ = sdp.session_lines().count();
        sdp.session_attributes().for_each(walk_sdp_attribute);
        let mut media = sdp.media();
        for section in media.by_ref() {
            let m = section.media();
            let _ = (m.kind, m.port, m.num_ports, section.offset());
            let _ = m.fmts().count();
            let _ = (section.connection(), section.effective_connection());
            let _ = (section.direction(), section.lines().count());
            section.attributes().for_each(walk_sdp_attribute);
        }
        let _ = media.malformed_at();
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some(c) = Candidate::parse(s) {
            let _ = c.extensions().count();
        }
        walk_sdp_attribute(Attribute::parse(s));
    }
}

fn walk_rtp(data: &[u8]) {
    use dis::rtp::{self, RtpHeuristic, RtpPacket, RtpStreamStats};
    let _ = (rtp::probe(data), rtp::is_rtcp(data));
    let Ok(p) = RtpPacket::new_checked(data) else {
        return;
    };
    let _ = (p.version(), p.marker(), p.payload_type().static_codec());
    let _ = (p.sequence_number(), p.timestamp(), p.ssrc());
    assert_eq!(
        p.header_len() + p.payload().len() + p.padding_len(),
        data.len(),
        "RTP parts do not add up"
    );
    let _ = p.csrcs().count();
    if let Some(ext) = p.extension() {
        let _ = (ext.profile(), ext.form(), ext.data().len());
        let mut elements = ext.elements();
        let _ = elements.by_ref().count();
        let _ = elements.error();
    }
    let mut stats = RtpStreamStats::new();
    stats.update_packet(&p, 0.0, Some(8_000));
    stats.update(p.sequence_number().wrapping_add(7), 0, 0.02, Some(90_000));
    stats.update_packet(&p, f64::NAN, None);
    let _ = (stats.lost(), stats.expected(), stats.jitter_ms());
    let _ = (stats.max_jitter_ms(), stats.max_delta_ms());
    let mut h = RtpHeuristic::new();
    for _ in 0..RtpHeuristic::BUDGET {
        let _ = h.observe(&p);
    }
}

fn walk_rtcp(data: &[u8]) {
    use dis::rtcp::{ReportBlocks, RtcpCompound};
    fn blocks(b: ReportBlocks<'_>) {
        for r in b {
            let _ = (r.ssrc(), r.fraction_lost(), r.cumulative_lost());
            let _ = (r.highest_seq(), r.jitter(), r.lsr(), r.dlsr());
        }
    }
    let compound = RtcpCompound::new(data);
    let _ = (compound.validity(), compound.is_reduced_size());
    let mut packets = compound.packets();
    for p in packets.by_ref() {
        let _ = (p.len(), p.padding_len(), p.count(), p.ssrc());
        let _ = (p.packet_type().as_str(), p.body().len());
        if let Some(sr) = p.sender_report() {
            let _ = (sr.ntp(), sr.rtp_ts(), sr.packet_count(), sr.octet_count());
            blocks(sr.reports());
        }
        if let Some(rr) = p.receiver_report() {
            let _ = rr.ssrc();
            blocks(rr.reports());
        }
        if let Some(sdes) = p.sdes() {
            let mut chunks = sdes.chunks();
            for c in chunks.by_ref() {
                let _ = (c.ssrc(), c.cname(), c.items().count());
            }
            let _ = chunks.error();
        }
        if let Some(bye) = p.bye() {
            let _ = (bye.sources().count(), bye.reason());
        }
        if let Some(app) = p.app() {
            let _ = (app.subtype(), app.name(), app.data().len());
        }
        if let Some(fb) = p.feedback() {
            let _ = (fb.fmt(), fb.kind(), fb.media_ssrc(), fb.fci().len());
        }
        if let Some(xr) = p.extended_report() {
            let mut b = xr.blocks();
            let _ = b.by_ref().count();
            let _ = (xr.ssrc(), b.error());
        }
    }
    let _ = (packets.error(), packets.remaining());
}

fn walk_srtp(data: &[u8]) {
    use dis::srtp::{
        classify_payload, looks_like_srtcp, srtcp_trailer, PayloadVotes, ZrtpPacket, SRTCP_TAG_LENS,
    };
    let _ = looks_like_srtcp(data);
    for tag in SRTCP_TAG_LENS {
        let _ = srtcp_trailer(data, tag);
    }
    // `observe` classifies the payload as the codec says (G.711 decoding,
    // video NAL headers, Opus TOC...) and votes.
    // G.711 decoding is the costly one in a debug build: one 20 ms frame.
    let mut votes = PayloadVotes::new();
    let _ = votes.observe(8, Some("PCMA"), data.get(..160).unwrap_or(data));
    for (pt, hint) in [
        (111u8, Some("opus")),
        (96, Some("VP8")),
        (102, Some("H264")),
        (45, Some("AV1")),
        (120, None),
    ] {
        let _ = votes.observe(pt, hint, data);
    }
    let _ = classify_payload(0, None, data.get(..64).unwrap_or(data));
    let _ = (votes.verdict(), votes.distinct_first_bytes());
    if let Ok(z) = ZrtpPacket::new_checked(data) {
        let _ = (z.sequence_number(), z.ssrc(), z.message_type().as_str());
        let _ = (z.message_len(), z.hello_version(), z.hello_client_id());
        let _ = (z.crc(), z.crc_ok());
    }
}

fn walk_stun(data: &[u8]) {
    use dis::stun::{self, StunMessage};
    let _ = stun::probe(data);
    let _ = stun::discord_ip_discovery(data);
    let Ok(msg) = StunMessage::new_checked(data) else {
        return;
    };
    let _ = (msg.raw_type(), msg.message_type(), msg.declared_length());
    let _ = (msg.is_length_aligned(), msg.cookie(), msg.is_classic());
    let _ = (msg.has_message_integrity(), msg.fingerprint_valid());
    let _ = (msg.username(), msg.realm(), msg.software());
    let _ = (msg.xor_mapped_address(), msg.mapped_address());
    let _ = (msg.error_code(), msg.attributes_error());
    let _ = (stun::vendor_hint(&msg), msg.addresses().count());
    let mut attrs = msg.attributes();
    for a in attrs.by_ref() {
        let t = a.typ();
        let _ = (a.value_len(), a.offset(), a.as_str());
        if t.is_secret() {
            assert!(a.value().is_empty(), "secret STUN attribute exposed");
        }
        if let Ok(v) = a.parsed() {
            let _ = format!("{v:?}");
        }
        let _ = msg.has_attribute(t);
    }
    let _ = attrs.error();
}

fn walk_turn(data: &[u8]) {
    use dis::stun::StunMessage;
    use dis::turn::{self, ChannelData, TurnFacts};
    let _ = (
        turn::probe(data),
        turn::frame_len(data),
        turn::detect_framing(data),
    );
    if let Ok(cd) = ChannelData::new_checked(data) {
        let _ = (cd.channel_number(), cd.data_length(), cd.data().len());
        let _ = (cd.trailing_len(), cd.is_udp_padding_ok());
    }
    let mut rest = data;
    while let Ok(Some(frame)) = turn::next_frame(rest) {
        assert!(frame.consumed > 0, "TURN frame of zero bytes");
        rest = rest.get(frame.consumed..).unwrap_or_default();
    }
    let mut rest = data;
    while let Ok(Some((_, consumed))) = turn::rfc4571_frame(rest) {
        assert!(consumed > 0, "RFC 4571 frame of zero bytes");
        rest = rest.get(consumed..).unwrap_or_default();
    }
    if let Ok(msg) = StunMessage::new_checked(data) {
        let f = TurnFacts::of(&msg);
        let _ = (f.peers().count(), f.is_turn(), f.relayed, f.lifetime);
    }
}

fn walk_dns(data: &[u8]) {
    use dis::dns::{self, DnsMessage, MAX_NAME_LEN};
    let _ = dns::probe(data);
    let mut rest = data;
    while let Ok(Some((_, used))) = dns::tcp_message(rest) {
        assert!(used > 0, "DNS TCP message of zero bytes");
        rest = rest.get(used..).unwrap_or_default();
    }
    let Ok(m) = DnsMessage::new_checked(data) else {
        return;
    };
    let mut out = [0u8; MAX_NAME_LEN];
    for q in m.questions().flatten() {
        let _ = q.name.write_lower(&mut out);
    }
    for r in m.answers().flatten() {
        let _ = (r.address(), r.cname(), r.svc_hints().count());
    }
}

fn walk_hello(body: &[u8]) {
    use dis::tls::{ClientHello, ServerHello};
    if let Ok(ch) = ClientHello::parse(body) {
        let _ = (
            ch.legacy_version(),
            ch.is_dtls(),
            ch.session_id(),
            ch.cookie(),
        );
        let _ = (ch.sni(), ch.server_name_raw(), ch.has_ech());
        ch.cipher_suites().for_each(|c| {
            let _ = c.info();
        });
        let _ = ch.extensions().count();
        let _ = (ch.alpn().count(), ch.supported_versions().count());
        ch.supported_groups().for_each(|g| {
            let _ = g.name();
        });
        let _ = ch.key_share_groups().count();
        ch.use_srtp_profiles().for_each(|p| {
            let _ = p.name();
        });
    }
    if let Ok(sh) = ServerHello::parse(body) {
        let _ = (sh.version(), sh.is_hello_retry_request(), sh.cipher_suite());
        let _ = (sh.use_srtp_profile(), sh.alpn(), sh.key_share_group());
        let _ = sh.extensions().count();
    }
    if let Ok(list) = dis::tls::CertificateList::parse(body) {
        for cert in list.certificates() {
            walk_x509(cert);
        }
    }
    walk_x509(body);
}

fn walk_x509(der: &[u8]) {
    if let Ok(c) = dis::x509::Certificate::new_checked(der) {
        for n in c.common_names().chain(c.dns_names()) {
            let _ = (n.as_str(), n.string_type);
        }
        let _ = c.has_subject_alt_name();
    }
}

fn walk_tls(data: &[u8]) {
    use dis::tls::{self, DtlsRecords, Handshake, HandshakeAssembler, Handshakes, TlsRecords};
    let _ = (tls::probe(data), tls::dtls_probe(data));
    let mut records = TlsRecords::new(data);
    for r in records.by_ref() {
        for h in Handshakes::tls(r.fragment) {
            let _ = (h.msg_type(), h.length(), h.is_complete_fragment());
            walk_hello(h.body());
        }
    }
    let _ = (records.error(), records.consumed());
    let mut asm = HandshakeAssembler::new(4096);
    let mut drecords = DtlsRecords::new(data);
    for r in drecords.by_ref() {
        let _ = (r.epoch, r.sequence_number, r.is_unified_header);
        for h in Handshakes::dtls(r.fragment) {
            let _ = asm.push_dtls_fragment(&h);
            let _ = h.dtls_fragment();
            walk_hello(h.body());
        }
    }
    let _ = drecords.error();
    if let Some(h) = asm.complete_handshake() {
        walk_hello(h.body());
    }
    let mut stream = HandshakeAssembler::new(4096);
    let (a, b) = data.split_at(data.len() / 2);
    let _ = stream.push_tls_stream(a);
    let _ = stream.push_tls_stream(b);
    let _ = (stream.is_failed(), stream.complete());
    if let Some(h) = stream.complete_handshake() {
        walk_hello(h.body());
    }
    // A server's flight: the messages after the first one.
    let mut flight = HandshakeAssembler::new(4096);
    flight.set_keep_later_messages(true);
    let _ = flight.push_tls_stream(data);
    while let Some(h) = flight.complete_handshake() {
        walk_hello(h.body());
        flight.next_message();
    }
    let _ = flight.saw_change_cipher_spec();
    if let Ok(h) = Handshake::new_checked(data) {
        walk_hello(h.body());
    }
    if let Ok(h) = Handshake::new_checked_dtls(data) {
        walk_hello(h.body());
    }
    walk_hello(data);
}

fn walk_quic(data: &[u8]) {
    use dis::quic::{self, Frame, Frames, LongHeader, LongHeaderPackets};
    use dis::tls::{ClientHello, HandshakeAssembler};
    let _ = (quic::probe(data), quic::gquic_version(data));
    let _ = (quic::gquic_chlo_sni(data), quic::read_varint(data, 0));
    if let Ok(h) = LongHeader::new_checked(data) {
        let _ = h.supported_versions().count();
    }
    let mut scratch = [0u8; 2048];
    let mut asm = HandshakeAssembler::new(8192);
    let mut packets = LongHeaderPackets::new(data);
    for h in packets.by_ref() {
        let _ = (h.version(), h.is_gquic(), h.scid(), h.token());
        let _ = (h.packet_type(), h.pn_offset(), h.payload().len());
        if let Ok(p) = quic::decrypt_initial(h.packet(), h.dcid(), &mut scratch) {
            let _ = (p.version(), p.packet_number(), p.frames().count());
            let _ = p.push_crypto_frames(&mut asm);
        }
    }
    let _ = (packets.error(), packets.remainder());
    let mut frames = Frames::new(data);
    for f in frames.by_ref() {
        if let Frame::Crypto { offset, data } = f {
            let _ = asm.push_at(offset, data);
        }
    }
    let _ = frames.error();
    if let Some(h) = asm.complete_handshake() {
        if let Ok(ch) = ClientHello::parse(h.body()) {
            let _ = (ch.sni(), ch.alpn().count());
        }
    }
}

/// Every entry point of `vcscope-dissectors`, whatever the bytes are.
fn dissect_all(data: &[u8]) {
    let _ = dis::PacketClass::of(data);
    walk_sip(data);
    walk_sdp(data);
    walk_rtp(data);
    walk_rtcp(data);
    walk_srtp(data);
    walk_stun(data);
    walk_turn(data);
    walk_dns(data);
    walk_tls(data);
    walk_quic(data);
}

/// Every length and position below this is swept; above it, one in
/// [`STRIDE`] (deterministically), and the last 64 bytes again.
const FULL_SWEEP: usize = 384;
const STRIDE: usize = 4;

fn positions(len: usize) -> impl Iterator<Item = usize> {
    (0..len).filter(move |&i| i < FULL_SWEEP || i % STRIDE == 0 || i + 64 > len)
}

#[test]
fn dissectors_survive_truncated_payloads() {
    let files = payload_files();
    assert!(
        files.len() >= 50,
        "payload fixtures missing: {}",
        files.len()
    );
    let mut inputs = 0usize;
    for p in &files {
        let data = std::fs::read(p).unwrap();
        no_panic(&|| format!("{} (intact)", short(p)), || dissect_all(&data));
        for len in positions(data.len()) {
            let cut = &data[..len];
            no_panic(&|| format!("{} cut to {len} bytes", short(p)), || {
                dissect_all(cut)
            });
            inputs += 1;
        }
        // A message that starts mid-stream: the tails.
        for start in positions(data.len()).step_by(5) {
            let tail = &data[start..];
            no_panic(&|| format!("{} from byte {start}", short(p)), || {
                dissect_all(tail)
            });
            inputs += 1;
        }
    }
    assert!(inputs > 25_000, "only {inputs} inputs swept");
}

#[test]
fn dissectors_survive_flipped_bytes() {
    let mut inputs = 0usize;
    for p in payload_files() {
        let data = std::fs::read(&p).unwrap();
        let mut rng = Rng::seeded(&short(&p));
        let mut buf = data.clone();
        for i in positions(data.len()) {
            // The byte inverted, or one random bit of it.
            let mask = if rng.below(2) == 0 {
                0xFF
            } else {
                1u8 << rng.below(8)
            };
            buf[i] ^= mask;
            let input = &buf;
            no_panic(&|| format!("{} byte {i} ^ {mask:#04x}", short(&p)), || {
                dissect_all(input)
            });
            buf[i] ^= mask;
            inputs += 1;
        }
        // Length fields are the usual culprits: set bytes to extremes too.
        for i in 0..data.len().min(32) {
            for v in [0x00u8, 0x7F, 0x80, 0xFF] {
                let old = buf[i];
                buf[i] = v;
                let input = &buf;
                no_panic(&|| format!("{} byte {i} = {v:#04x}", short(&p)), || {
                    dissect_all(input)
                });
                buf[i] = old;
                inputs += 1;
            }
        }
        assert_eq!(buf, data);
    }
    assert!(inputs > 30_000, "only {inputs} inputs swept");
}

// ---------------------------------------------- analyzer harness ----

/// The same use of the analyzer as `fuzz/fuzz_targets/analyzer.rs`:
/// the bytes as one Ethernet frame, then as `[link byte] (len16 frame)*`,
/// then that again through a streaming analysis, its time stretched.
/// Returns the report of the sequence form.
fn analyzer_harness(data: &[u8]) -> Option<Report> {
    let cfg = || {
        let mut c = Config::default();
        c.flows.max_live = 64;
        c
    };
    let render = |an: Analyzer| {
        let r = an.finish(vec!["fuzz".into()], None);
        let mut out = Vec::new();
        r.write_json(&mut out).unwrap();
        r.write_ndjson(&mut out).unwrap();
        r.write_table(&mut out).unwrap();
        r
    };
    let base = Nanos::from_secs(1_600_000_000);
    let mut one = Analyzer::new(cfg());
    one.process(LinkType::Ethernet, base, data, data.len() as u32);
    render(one);
    data.first()?;
    let mut seq = Analyzer::new(cfg());
    vcscope::capture::sequence::feed(&mut seq, data);
    let report = render(seq);
    let mut streamed = Analyzer::new(cfg());
    streamed.stream_sequence(data, 100_000);
    render(streamed);
    Some(report)
}

/// Inputs saved from fuzzing (`fixtures/fuzz/<target>/<file>`), replayed
/// through the target they were found with and through every dissector.
#[test]
fn fuzz_regressions_replay() {
    let dir = root().join("fixtures").join("fuzz");
    let files = files_under(&dir, &|p| {
        p.extension().is_none_or(|e| e != "md") && p.parent() != Some(dir.as_path())
    });
    assert!(
        !files.is_empty(),
        "no regression inputs under {}",
        short(&dir)
    );
    let mut targets = BTreeSet::new();
    for p in &files {
        let target = p
            .parent()
            .and_then(|d| d.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap();
        targets.insert(target.clone());
        let data = std::fs::read(p).unwrap();
        no_panic(&|| short(p), || dissect_all(&data));
        if target != "analyzer" {
            continue;
        }
        let r = std::panic::catch_unwind(|| analyzer_harness(&data))
            .unwrap_or_else(|_| panic!("analyzer panicked on {}", short(p)));
        // The seeds that keep deep paths covered still reach them.
        let r = r.unwrap();
        match p.file_name().unwrap().to_str().unwrap() {
            "quic-initials.bin" => assert!(
                r.flows.iter().any(|f| f.sni.is_some()),
                "no QUIC SNI: {:?}",
                r.warnings
            ),
            "sip-over-tcp.bin" => assert!(!r.calls.is_empty(), "no SIP call"),
            "ipv6-fragments.bin" => assert!(r.source.reassembled > 0, "{:?}", r.source),
            _ => {}
        }
    }
    assert!(targets.contains("analyzer"), "{targets:?}");
}

// ------------------------------------------- capture file layout ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Pcap,
    PcapNg,
}

/// One packet record of a capture file.
#[derive(Debug, Clone)]
struct Rec {
    /// Where the record (pcap) or block (pcapng) starts.
    start: usize,
    /// Where its captured-length field is.
    caplen_at: usize,
    /// The packet bytes.
    data: Range<usize>,
}

/// Where the records and the link-type fields of a capture file are.
#[derive(Debug)]
struct Layout {
    format: Format,
    le: bool,
    records: Vec<Rec>,
    /// Offsets of link-type fields: u32 in pcap, u16 in pcapng IDBs.
    linktypes: Vec<usize>,
}

fn rd32(b: &[u8], at: usize, le: bool) -> u32 {
    let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if le {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    }
}

fn wr16(b: &mut [u8], at: usize, le: bool, v: u16) {
    let a = if le { v.to_le_bytes() } else { v.to_be_bytes() };
    b[at..at + 2].copy_from_slice(&a);
}

fn wr32(b: &mut [u8], at: usize, le: bool, v: u32) {
    let a = if le { v.to_le_bytes() } else { v.to_be_bytes() };
    b[at..at + 4].copy_from_slice(&a);
}

fn layout(b: &[u8]) -> Layout {
    let magic = [b[0], b[1], b[2], b[3]];
    if magic == [0x0a, 0x0d, 0x0d, 0x0a] {
        return layout_pcapng(b);
    }
    let le = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("not a capture: {magic:02x?}"),
    };
    let mut records = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let caplen = rd32(b, at + 8, le) as usize;
        let data = at + 16..(at + 16 + caplen).min(b.len());
        let next = data.end;
        records.push(Rec {
            start: at,
            caplen_at: at + 8,
            data,
        });
        at = next;
    }
    Layout {
        format: Format::Pcap,
        le,
        records,
        linktypes: vec![20],
    }
}

fn layout_pcapng(b: &[u8]) -> Layout {
    let mut le = true;
    let mut records = Vec::new();
    let mut linktypes = Vec::new();
    let mut at = 0;
    while at + 12 <= b.len() {
        if b[at..at + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            le = b[at + 8..at + 12] == [0x4d, 0x3c, 0x2b, 0x1a];
        }
        let typ = rd32(b, at, le);
        let total = rd32(b, at + 4, le) as usize;
        if total < 12 || at + total > b.len() {
            break;
        }
        match typ {
            1 => linktypes.push(at + 8),
            6 => {
                let caplen = rd32(b, at + 20, le) as usize;
                records.push(Rec {
                    start: at,
                    caplen_at: at + 20,
                    data: at + 28..(at + 28 + caplen).min(at + total - 4),
                });
            }
            3 => records.push(Rec {
                start: at,
                caplen_at: at + 8,
                data: at + 12..at + total - 4,
            }),
            _ => {}
        }
        at += total;
    }
    Layout {
        format: Format::PcapNg,
        le,
        records,
        linktypes,
    }
}

/// At most this many records of each fixture are mutated (the head of the
/// file), so that the sweep stays quick in a debug build.
const HEAD_RECORDS: usize = 600;
const HEAD_BYTES: usize = 192 << 10;

/// The fixture cut after a record boundary so that it stays small.
fn head_of(bytes: &[u8]) -> (Vec<u8>, Layout) {
    let l = layout(bytes);
    let mut end = bytes.len();
    for (i, r) in l.records.iter().enumerate() {
        if i >= HEAD_RECORDS || r.start >= HEAD_BYTES {
            end = r.start;
            break;
        }
    }
    let head = bytes[..end].to_vec();
    let l = layout(&head);
    (head, l)
}

/// How an in-process read ended.
#[derive(Debug)]
enum Run {
    /// Refused before reading (exit 2).
    Rejected(String),
    /// Read; `fatal` when a corrupt record stopped it (report written, exit 2).
    Read {
        report: Box<Report>,
        fatal: Option<String>,
    },
}

fn analyse_file(path: &Path, cfg: Config) -> Run {
    let files = vec![path.display().to_string()];
    let mut an = Analyzer::new(cfg);
    match capture::read_files(&files, &CaptureOptions::default(), &mut an) {
        Err(e) => Run::Rejected(e.0),
        Ok(o) => {
            let report = an.finish(files, None);
            // Every rendering must work on whatever came out.
            let mut sink = Vec::new();
            report.write_json(&mut sink).unwrap();
            serde_json::from_slice::<serde_json::Value>(&sink).unwrap();
            report.write_ndjson(&mut sink).unwrap();
            report.write_table(&mut sink).unwrap();
            Run::Read {
                report: Box::new(report),
                fatal: o.fatal.map(|e| e.0),
            }
        }
    }
}

fn warning_count(r: &Report, kind: &str) -> u64 {
    r.warnings
        .iter()
        .filter(|w| w.kind == kind)
        .map(|w| w.count)
        .sum()
}

/// Changes a capture's bytes; returns what it did, or None to skip the capture.
type Mutation<'a> = dyn Fn(&mut Rng, &mut Vec<u8>, &Layout) -> Option<String> + 'a;

/// Mutates the head of every fixture with `mutate`, writes it to a temporary
/// file and checks the in-process analysis with `check`.
fn sweep_captures(what: &str, mutate: &Mutation<'_>, check: &dyn Fn(&str, &Layout, &Run)) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    for fx in all_fixtures() {
        let name = fx.file_name().unwrap().to_string_lossy().into_owned();
        let (mut bytes, l) = head_of(&std::fs::read(&fx).unwrap());
        if l.records.is_empty() {
            continue;
        }
        let mut rng = Rng::seeded(&format!("{what}/{name}"));
        let Some(desc) = mutate(&mut rng, &mut bytes, &l) else {
            continue;
        };
        let path = dir.path().join(&name);
        std::fs::write(&path, &bytes).unwrap();
        let label = format!("{name} ({what}: {desc})");
        let path2 = path.clone();
        let run = std::panic::catch_unwind(move || analyse_file(&path2, Config::default()))
            .unwrap_or_else(|_| panic!("analyzer panicked on {label}"));
        check(&label, &l, &run);
        n += 1;
    }
    n
}

#[test]
fn analyzer_survives_bit_flips_in_captures() {
    // (bytes per flip, bytes of each packet that may be hit): sparse flips
    // anywhere, dense ones anywhere, and flips in the first 80 bytes where
    // the link, IP, transport and protocol headers are.
    for (round, (per_flip, reach)) in [(256, usize::MAX), (64, usize::MAX), (32, 80)]
        .into_iter()
        .enumerate()
    {
        let n = sweep_captures(
            &format!("bit flips #{round}"),
            &|rng, bytes, l| {
                let total: usize = l.records.iter().map(|r| r.data.len().min(reach)).sum();
                let flips = (total / per_flip).clamp(16, 4096);
                for _ in 0..flips {
                    let r = &l.records[rng.below(l.records.len())];
                    let span = r.data.len().min(reach);
                    if span > 0 {
                        bytes[r.data.start + rng.below(span)] ^= 1 << rng.below(8);
                    }
                }
                Some(format!("{flips} flips in packet bytes"))
            },
            &|label, l, run| match run {
                Run::Read {
                    report,
                    fatal: None,
                } => {
                    // Only packet bytes changed: every record is still read.
                    assert_eq!(report.source.packets, l.records.len() as u64, "{label}");
                }
                other => panic!("{label}: {other:?}"),
            },
        );
        assert!(n >= 60, "{n} captures swept");
    }
}

#[test]
fn analyzer_survives_cut_records() {
    let n = sweep_captures(
        "cut",
        &|rng, bytes, l| {
            // Cut inside the packet bytes of a record after the first.
            let k = 1 + rng.below(l.records.len().max(2) - 1);
            let r = l.records.get(k)?;
            let at = r.data.start + rng.below(r.data.len().max(1));
            bytes.truncate(at);
            Some(format!("file cut inside record {}", k + 1))
        },
        &|label, l, run| match run {
            Run::Read { report, fatal } => {
                let read = report.source.packets;
                assert!(read < l.records.len() as u64, "{label}: {read} packets");
                if fatal.is_none() {
                    // The cut is reported, not silent.
                    assert!(
                        warning_count(report, "capture-truncated") == 1,
                        "{label}: no capture-truncated warning: {:?}",
                        report.warnings
                    );
                } else {
                    assert_eq!(l.format, Format::PcapNg, "{label}: {fatal:?}");
                }
            }
            Run::Rejected(e) => panic!("{label}: rejected: {e}"),
        },
    );
    assert!(n >= 40, "{n} captures swept");
}

#[test]
fn analyzer_survives_bogus_record_lengths() {
    for (what, value) in [
        ("huge", u32::MAX - 3),
        ("past snaplen", 300_000),
        ("zero", 0),
        ("off by 37", 37),
    ] {
        let n = sweep_captures(
            what,
            &|rng, bytes, l| {
                let k = rng.below(l.records.len());
                let r = &l.records[k];
                let v = match value {
                    37 => (r.data.len() as u32).wrapping_add(37),
                    v => v,
                };
                wr32(bytes, r.caplen_at, l.le, v);
                Some(format!("record {} caplen {v}", k + 1))
            },
            &|label, l, run| match run {
                Run::Read { report, fatal } => {
                    assert!(
                        report.source.packets <= l.records.len() as u64 + 1,
                        "{label}: {} packets",
                        report.source.packets
                    );
                    if let Some(e) = fatal {
                        assert!(!e.contains('\n'), "{label}: {e}");
                    }
                }
                Run::Rejected(e) => assert!(!e.contains('\n'), "{label}: {e}"),
            },
        );
        assert!(n >= 60, "{what}: {n} captures swept");
    }
}

#[test]
fn analyzer_survives_wrong_link_types() {
    // Every supported DLT, read through the others' decoders.
    for dlt in [0u32, 1, 9, 101, 108, 113, 276] {
        let n = sweep_captures(
            &format!("dlt {dlt}"),
            &|_, bytes, l| {
                for &at in &l.linktypes {
                    match l.format {
                        Format::Pcap => wr32(bytes, at, l.le, dlt),
                        Format::PcapNg => wr16(bytes, at, l.le, dlt as u16),
                    }
                }
                Some(format!("link type {dlt}"))
            },
            &|label, l, run| match run {
                Run::Read {
                    report,
                    fatal: None,
                } => {
                    assert_eq!(report.source.packets, l.records.len() as u64, "{label}");
                }
                other => panic!("{label}: {other:?}"),
            },
        );
        assert!(n >= 60, "{n} captures swept");
    }
    // An unsupported one is refused with a message naming it.
    let n = sweep_captures(
        "dlt 147",
        &|_, bytes, l| {
            for &at in &l.linktypes {
                match l.format {
                    Format::Pcap => wr32(bytes, at, l.le, 147),
                    Format::PcapNg => wr16(bytes, at, l.le, 147),
                }
            }
            Some("link type 147".into())
        },
        &|label, _, run| match run {
            Run::Rejected(e) => assert!(e.contains("unsupported link type 147"), "{label}: {e}"),
            Run::Read { .. } => panic!("{label}: read"),
        },
    );
    assert!(n >= 60, "{n} captures swept");
}

// ------------------------------------------------ child processes ----

/// Exit status, stderr and peak RSS (KiB) of a child running the binary.
#[derive(Debug)]
struct ChildRun {
    code: Option<i32>,
    stderr: String,
    max_rss_kib: i64,
}

/// Runs the binary with `args`, stdout discarded, and waits for it with
/// wait4(2) to get its own peak RSS. A run longer than `limit` is a hang.
fn run_bin(args: &[&str], limit: Duration) -> ChildRun {
    let dir = tempfile::tempdir().unwrap();
    let err_path = dir.path().join("stderr");
    // Reaped below with wait4(2), which std's Child does not know about.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawn vcscope");
    let pid = child.id() as libc::pid_t;
    let start = Instant::now();
    let mut status: libc::c_int = 0;
    // SAFETY: plain syscall on our own child; the struct is zeroed POD.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: as above; WNOHANG so that a hang can be detected.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert!(r == 0, "wait4 failed");
        if start.elapsed() > limit {
            // SAFETY: our own child, still unreaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            // SAFETY: reap it.
            unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            panic!("vcscope {args:?} still running after {limit:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let code = if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else {
        None
    };
    assert!(
        code.is_some(),
        "vcscope {args:?} died of signal {}",
        libc::WTERMSIG(status)
    );
    ChildRun {
        code,
        stderr: std::fs::read_to_string(&err_path).unwrap(),
        max_rss_kib: usage.ru_maxrss,
    }
}

/// Generous: a debug build on a loaded machine; a real hang never ends.
const HANG: Duration = Duration::from_secs(240);

const PROBE_ARGS: &str = "VCSCOPE_TEST_RSS_PROBE_ARGS";
const PROBE_OUT: &str = "VCSCOPE_TEST_RSS_PROBE_OUT";

/// Runs the binary like [`run_bin`], from a fresh, small process.
///
/// Linux carries the peak RSS of the address space a process had before
/// exec(2) into its `ru_maxrss`, and the spawning test process is large (the
/// other tests run in it): measured directly, the binary's peak would be
/// hidden under the test process's. So this test binary runs itself as a
/// probe ([`rss_probe`]) that spawns the binary and reports back.
fn run_bin_measured(args: &[&str]) -> ChildRun {
    let dir = tempfile::tempdir().unwrap();
    let result = dir.path().join("probe");
    let o = Command::new(std::env::current_exe().unwrap())
        .args([
            "rss_probe",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(PROBE_ARGS, args.join("\u{1f}"))
        .env(PROBE_OUT, &result)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "probe: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let text = std::fs::read_to_string(&result).unwrap();
    let (head, stderr) = text.split_once('\n').unwrap();
    let mut it = head.split(' ');
    let code = it.next().unwrap().parse::<i32>().ok();
    let max_rss_kib = it.next().unwrap().parse().unwrap();
    ChildRun {
        code,
        stderr: stderr.to_string(),
        max_rss_kib,
    }
}

/// Not a test by itself: the probe process of [`run_bin_measured`]. Without
/// its environment variables it does nothing.
#[test]
fn rss_probe() {
    let (Ok(args), Ok(out)) = (std::env::var(PROBE_ARGS), std::env::var(PROBE_OUT)) else {
        return;
    };
    let args: Vec<&str> = args.split('\u{1f}').collect();
    let r = run_bin(&args, HANG);
    let code = r.code.map_or("signal".to_string(), |c| c.to_string());
    std::fs::write(out, format!("{code} {}\n{}", r.max_rss_kib, r.stderr)).unwrap();
}

#[test]
fn binary_exits_cleanly_on_broken_captures() {
    let dir = tempfile::tempdir().unwrap();
    let mut ran = 0;
    for name in [
        "sipp__g711a.pcap",
        "ndpi__sip.pcap",
        "ndpi__stun_dtls_rtp.pcapng",
        "heplify__ipv6_udp_fragmented.pcap",
    ] {
        let orig = std::fs::read(fixture(name)).unwrap();
        let (head, l) = head_of(&orig);
        let mut rng = Rng::seeded(name);
        // Cut short: the packets before are analysed, exit 0 (pcap).
        let k = 1 + rng.below(l.records.len() - 1);
        let cut = &head[..l.records[k].data.start + 3];
        // A record length beyond any snaplen: the run stops with one line.
        let mut bogus = head.clone();
        wr32(&mut bogus, l.records[k].caplen_at, l.le, u32::MAX - 3);
        // An unknown link type: refused with one line.
        let mut dlt = head.clone();
        for &at in &l.linktypes {
            match l.format {
                Format::Pcap => wr32(&mut dlt, at, l.le, 147),
                Format::PcapNg => wr16(&mut dlt, at, l.le, 147),
            }
        }
        // Flipped bits in packets: exit 0.
        let mut flipped = head.clone();
        for _ in 0..256 {
            let r = &l.records[rng.below(l.records.len())];
            if !r.data.is_empty() {
                flipped[r.data.start + rng.below(r.data.len())] ^= 1 << rng.below(8);
            }
        }
        for (what, bytes, ok) in [
            ("cut", cut.to_vec(), true),
            ("bogus-length", bogus, false),
            ("dlt", dlt, false),
            ("flipped", flipped, true),
        ] {
            let p = dir.path().join(format!("{what}-{name}"));
            std::fs::write(&p, &bytes).unwrap();
            let out = dir.path().join(format!("{what}-{name}.json"));
            let r = run_bin(
                &[
                    "read",
                    p.to_str().unwrap(),
                    "--format",
                    "json",
                    "-o",
                    out.to_str().unwrap(),
                ],
                HANG,
            );
            let label = format!("{what} {name}: {r:?}");
            match r.code {
                Some(0) => {
                    assert!(ok, "{label}");
                    // Only warnings, one line each, on standard error.
                    assert!(
                        r.stderr
                            .lines()
                            .all(|l| l.starts_with("vcscope: warning: ")),
                        "{label}"
                    );
                    if what == "cut" {
                        assert!(r.stderr.contains("cut short"), "{label}");
                    }
                    let rep = read_json(&out);
                    if what == "cut" {
                        let w = rep["warnings"].as_array().unwrap();
                        assert!(
                            w.iter().any(|w| w["kind"] == "capture-truncated"),
                            "{label}"
                        );
                    }
                }
                Some(2) => {
                    assert!(!ok, "{label}");
                    assert_eq!(r.stderr.lines().count(), 1, "{label}");
                    assert!(r.stderr.starts_with("vcscope: error: "), "{label}");
                    if what == "dlt" {
                        assert!(r.stderr.contains("unsupported link type 147"), "{label}");
                    }
                }
                _ => panic!("{label}"),
            }
            ran += 1;
        }
    }
    assert_eq!(ran, 16);
}

// --------------------------------------------------- hostile inputs ----

/// A nanosecond pcap file being built.
struct PcapOut(Vec<u8>);

impl PcapOut {
    fn new() -> Self {
        let mut v = Vec::new();
        v.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&262_144u32.to_le_bytes());
        v.extend_from_slice(&1u32.to_le_bytes());
        PcapOut(v)
    }

    fn push(&mut self, ts_ns: u64, frame: &[u8]) {
        let v = &mut self.0;
        v.extend_from_slice(&((ts_ns / 1_000_000_000) as u32).to_le_bytes());
        v.extend_from_slice(&((ts_ns % 1_000_000_000) as u32).to_le_bytes());
        v.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        v.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        v.extend_from_slice(frame);
    }

    fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, &self.0).unwrap();
        p
    }
}

const T0: u64 = 1_700_000_000_000_000_000;
const CLIENT: [u8; 4] = [10, 0, 0, 7];
const SERVER: [u8; 4] = [198, 51, 100, 20];

/// Ethernet + IPv4 around `l4`; `frag` is the flags/offset field.
fn ipv4_frame(src: [u8; 4], dst: [u8; 4], proto: u8, id: u16, frag: u16, l4: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(34 + l4.len());
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let total = (20 + l4.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    ip[6..8].copy_from_slice(&frag.to_be_bytes());
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let mut sum: u32 = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(l4);
    f
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH_ACK: u8 = 0x18;

fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::with_capacity(20 + payload.len());
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    t
}

/// A TCP connection from CLIENT to SERVER:`dport` carrying `segments` from
/// the client, after a three-way handshake.
fn tcp_conn(out: &mut PcapOut, t: &mut u64, sport: u16, dport: u16, segments: &[Vec<u8>]) {
    let (mut cseq, sseq) = (1_000u32, 9_000u32);
    let mut push = |out: &mut PcapOut, f: Vec<u8>| {
        *t += 50_000;
        out.push(*t, &f);
    };
    push(
        out,
        ipv4_frame(
            CLIENT,
            SERVER,
            6,
            1,
            0x4000,
            &tcp(sport, dport, cseq, 0, SYN, &[]),
        ),
    );
    push(
        out,
        ipv4_frame(
            SERVER,
            CLIENT,
            6,
            1,
            0x4000,
            &tcp(dport, sport, sseq, cseq + 1, SYN | ACK, &[]),
        ),
    );
    cseq += 1;
    for (i, s) in segments.iter().enumerate() {
        let seg = tcp(sport, dport, cseq, sseq + 1, PSH_ACK, s);
        push(out, ipv4_frame(CLIENT, SERVER, 6, i as u16, 0x4000, &seg));
        cseq = cseq.wrapping_add(s.len() as u32);
    }
}

/// A SIP request whose header never ends: 4 MiB of header lines, no blank line.
fn endless_sip_header(out: &mut PcapOut, t: &mut u64) {
    let mut segs = vec![b"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TCP 10.0.0.7:5060;branch=z9hG4bK1\r\nCall-ID: endless@10.0.0.7\r\n".to_vec()];
    let line = b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let seg: Vec<u8> = line.iter().copied().cycle().take(line.len() * 19).collect();
    for _ in 0..(4 << 20) / seg.len() {
        segs.push(seg.clone());
    }
    tcp_conn(out, t, 40_001, 5060, &segs);
}

fn stun_header(typ: u16, len: u16, txid: u8) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&typ.to_be_bytes());
    m.extend_from_slice(&len.to_be_bytes());
    m.extend_from_slice(&0x2112_A442u32.to_be_bytes());
    m.extend_from_slice(&[txid; 12]);
    m
}

/// STUN with a 64 KiB attribute: a consistent one over UDP (as big as a
/// datagram allows), one whose length overruns its message, and over TCP a
/// message header announcing 65532 bytes followed by 256 KiB.
fn huge_stun(out: &mut PcapOut, t: &mut u64) {
    let attr_len: usize = 65_000;
    let mut m = stun_header(0x0001, (4 + attr_len) as u16, 1);
    m.extend_from_slice(&0x8022u16.to_be_bytes()); // SOFTWARE
    m.extend_from_slice(&(attr_len as u16).to_be_bytes());
    m.extend(std::iter::repeat_n(b'S', attr_len));
    *t += 1_000;
    out.push(
        *t,
        &ipv4_frame(CLIENT, SERVER, 17, 7, 0, &udp(40_100, 3478, &m)),
    );

    let mut m = stun_header(0x0001, 8, 2);
    m.extend_from_slice(&0x0006u16.to_be_bytes()); // USERNAME
    m.extend_from_slice(&0xFFFFu16.to_be_bytes());
    m.extend_from_slice(b"abcd");
    *t += 1_000;
    out.push(
        *t,
        &ipv4_frame(CLIENT, SERVER, 17, 8, 0, &udp(40_101, 3478, &m)),
    );

    let mut first = stun_header(0x0003, 0xFFFC, 3); // Allocate
    first.extend_from_slice(&0x8022u16.to_be_bytes());
    first.extend_from_slice(&0xFFF8u16.to_be_bytes());
    let mut segs = vec![first];
    for _ in 0..(256 << 10) / 1400 {
        segs.push(vec![b'T'; 1400]);
    }
    tcp_conn(out, t, 40_102, 3478, &segs);
}

/// A TLS ClientHello announcing 2^24 - 1 bytes in records of 16 KiB, then
/// 1 MiB of it; and on another connection a record of 65535 bytes (longer
/// than TLS allows) announcing the same.
fn huge_tls(out: &mut PcapOut, t: &mut u64) {
    let mut stream = Vec::with_capacity(1 << 20);
    while stream.len() < 1 << 20 {
        stream.extend_from_slice(&[0x16, 0x03, 0x01, 0x40, 0x00]); // handshake record, 16384
        let start = stream.len();
        if start == 5 {
            stream.extend_from_slice(&[0x01, 0xFF, 0xFF, 0xFF]); // ClientHello, 2^24 - 1
            stream.extend_from_slice(&[0x03, 0x03]);
        }
        stream.resize(start + 16_384, 0x5A);
    }
    let segs: Vec<Vec<u8>> = stream.chunks(1400).map(<[u8]>::to_vec).collect();
    tcp_conn(out, t, 40_200, 443, &segs);

    let mut first = vec![0x16, 0x03, 0x01, 0xFF, 0xFF];
    first.extend_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0x03, 0x03]);
    first.extend_from_slice(&[0x42; 32]);
    let mut segs = vec![first];
    for _ in 0..64 {
        segs.push(vec![0x5A; 1400]);
    }
    tcp_conn(out, t, 40_201, 443, &segs);
}

/// Overlapping fragments of one datagram, a fragment past 64 KiB, and more
/// incomplete datagrams than the reassembly table holds.
fn hostile_fragments(out: &mut PcapOut, t: &mut u64) {
    let mut payload = b"OPTIONS sip:x@example.com SIP/2.0\r\n".to_vec();
    payload.resize(512, b'o');
    let dgram = udp(40_300, 5060, &payload);
    let mf = 0x2000u16;
    // Pieces of 64 bytes every 48 bytes: each overlaps the one before.
    let mut off = 0;
    while off < dgram.len() {
        let end = (off + 64).min(dgram.len());
        let more = if end < dgram.len() { mf } else { 0 };
        *t += 1_000;
        out.push(
            *t,
            &ipv4_frame(
                CLIENT,
                SERVER,
                17,
                0x0bad,
                more | (off / 8) as u16,
                &dgram[off..end],
            ),
        );
        off += 48;
    }
    // The same datagram again, its last fragment first and overlapping the whole.
    *t += 1_000;
    out.push(*t, &ipv4_frame(CLIENT, SERVER, 17, 0x0bae, 8, &dgram[64..]));
    *t += 1_000;
    out.push(
        *t,
        &ipv4_frame(CLIENT, SERVER, 17, 0x0bae, mf, &dgram[..128]),
    );
    // Offset 8184 * 8 + 1024 bytes: past the largest datagram.
    *t += 1_000;
    out.push(
        *t,
        &ipv4_frame(CLIENT, SERVER, 17, 0x0baf, mf | 8184, &[0x41; 1024]),
    );
    *t += 1_000;
    out.push(*t, &ipv4_frame(CLIENT, SERVER, 17, 0x0baf, 0, &[0x41; 64]));
    // 4000 datagrams of which only the first fragment arrives.
    for id in 0..4000u16 {
        *t += 1_000;
        out.push(*t, &ipv4_frame(CLIENT, SERVER, 17, id, mf, &dgram[..64]));
    }
}

fn read_ok(path: &Path) -> Report {
    match analyse_file(path, Config::default()) {
        Run::Read { report, fatal } => {
            assert!(fatal.is_none(), "{fatal:?}");
            *report
        }
        Run::Rejected(e) => panic!("{e}"),
    }
}

fn report_text(r: &Report) -> String {
    let mut v = Vec::new();
    r.write_json(&mut v).unwrap();
    String::from_utf8(v).unwrap()
}

#[test]
fn endless_sip_header_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut out, mut t) = (PcapOut::new(), T0);
    endless_sip_header(&mut out, &mut t);
    let r = read_ok(&out.write(dir.path(), "sip.pcap"));
    assert!(r.source.packets > 2_000);
    assert_eq!(r.flows.len(), 1, "{:?}", r.flows);
    // The header block fills the stream buffer without ending: the stream
    // is given up on as over the header limit, the buffered header and the
    // rest of the stream counted as not analysed: nearly all of the 4 MiB.
    let limit = r.limits.max_stream_buffer as u64;
    assert!(r.limits.stream_bytes_dropped >= limit, "{:?}", r.limits);
    assert!(
        r.limits.stream_bytes_dropped >= 4 * (1 << 20) - 2 * limit,
        "{:?}",
        r.limits
    );
    assert!(
        r.limits.stream_bytes_dropped <= r.source.bytes,
        "{:?}",
        r.limits
    );
    assert_eq!(
        warning_count(&r, "sip-stream-unparsable"),
        1,
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.example.contains("limit-exceeded")),
        "{:?}",
        r.warnings
    );
    assert!(r.calls.is_empty(), "{:?}", r.calls);
    assert!(
        report_text(&r).len() < 64 << 10,
        "the header leaks into the report"
    );
}

#[test]
fn huge_stun_attribute_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut out, mut t) = (PcapOut::new(), T0);
    huge_stun(&mut out, &mut t);
    let r = read_ok(&out.write(dir.path(), "stun.pcap"));
    assert_eq!(r.flows.len(), 3, "{:?}", r.flows);
    let udp = r.flows.iter().find(|f| f.src.port == 40_100).unwrap();
    assert!(udp.protocols.contains(&"stun"), "{:?}", udp.protocols);
    let text = report_text(&r);
    assert!(
        !text.contains(&"S".repeat(256)),
        "the SOFTWARE value is echoed whole"
    );
    assert!(!text.contains(&"T".repeat(256)));
    assert!(text.len() < 64 << 10, "report of {} bytes", text.len());
}

#[test]
fn huge_tls_handshake_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let (mut out, mut t) = (PcapOut::new(), T0);
    huge_tls(&mut out, &mut t);
    let r = read_ok(&out.write(dir.path(), "tls.pcap"));
    assert_eq!(r.flows.len(), 2);
    let f = &r.flows[0];
    assert_eq!(f.sni, None);
    assert!(f.protocols.contains(&"tls"), "{:?}", f.protocols);
    // The ClientHello cannot fit the assembler: given up on, and said so.
    assert_eq!(
        warning_count(&r, "tls-handshake-unreadable"),
        1,
        "{:?}",
        r.warnings
    );
    // A record longer than 2^14 + 2048 is not TLS at all.
    assert!(
        r.flows[1].protocols.is_empty(),
        "{:?}",
        r.flows[1].protocols
    );
}

#[test]
fn hostile_fragments_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut out, mut t) = (PcapOut::new(), T0);
    hostile_fragments(&mut out, &mut t);
    let r = read_ok(&out.write(dir.path(), "frag.pcap"));
    assert!(
        warning_count(&r, "fragments-overlapping") >= 1,
        "{:?}",
        r.warnings
    );
    assert!(
        warning_count(&r, "fragments-too-large") >= 1,
        "{:?}",
        r.warnings
    );
    assert!(
        r.limits.fragment_datagrams_dropped > 0 || warning_count(&r, "fragments-table-full") > 0,
        "{:?} {:?}",
        r.limits,
        r.warnings
    );
    // The overlapping datagrams still reassemble into SIP OPTIONS.
    assert!(r.source.reassembled >= 1, "{:?}", r.source);
}

/// All hostile inputs in one capture, through the binary: the peak RSS
/// stays within a fixed budget.
#[test]
fn hostile_inputs_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (mut out, mut t) = (PcapOut::new(), T0);
    endless_sip_header(&mut out, &mut t);
    huge_stun(&mut out, &mut t);
    huge_tls(&mut out, &mut t);
    hostile_fragments(&mut out, &mut t);
    let input = out.write(dir.path(), "hostile.pcap");
    let size = out.0.len();
    drop(out);
    let json = dir.path().join("hostile.json");
    let r = run_bin_measured(&[
        "read",
        input.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        json.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let rep = read_json(&json);
    assert!(rep["source"]["packets"].as_u64().unwrap() > 5_000);
    eprintln!(
        "hostile capture of {size} bytes: peak RSS {} KiB",
        r.max_rss_kib
    );
    // Bounded by the limits, not by the 5+ MiB of input.
    assert!(
        r.max_rss_kib < 32 << 10,
        "peak RSS {} KiB for a {size}-byte hostile capture",
        r.max_rss_kib
    );
}

/// Frame `i` of a flood: a one-packet UDP flow from a distinct address.
fn flood_frame(i: u32) -> Vec<u8> {
    let src = [10, (i >> 16) as u8, (i >> 8) as u8, i as u8];
    let sport = 20_000 + (i % 40_000) as u16;
    ipv4_frame(src, SERVER, 17, 1, 0, &udp(sport, 9, b"flood!"))
}

const FLOOD_FLOWS: u32 = 200_000;
const FLOOD_MAX_FLOWS: usize = 1024;

/// The flood through the binary: it finishes, and its peak RSS stays within
/// a budget of 1 KiB per flow seen (the report keeps one summary per flow)
/// plus 32 MiB.
#[test]
fn flood_of_one_packet_flows_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("flood.pcap");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        let mut rec = PcapOut::new();
        f.write_all(&rec.0).unwrap();
        for i in 0..FLOOD_FLOWS {
            rec.0.clear();
            rec.push(T0 + u64::from(i) * 1_000, &flood_frame(i));
            f.write_all(&rec.0).unwrap();
        }
        f.flush().unwrap();
    }
    // The table keeps the output small: this measures the analysis.
    let out = dir.path().join("flood.txt");
    let r = run_bin_measured(&[
        "read",
        input.to_str().unwrap(),
        "--max-flows",
        &FLOOD_MAX_FLOWS.to_string(),
        "--format",
        "table",
        "--all-flows",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    let text = std::fs::read_to_string(&out).unwrap();
    let head = text.lines().next().unwrap();
    assert!(head.contains(&format!("{FLOOD_FLOWS} packets")), "{head}");
    assert!(head.contains(&format!("{FLOOD_FLOWS} flows")), "{head}");
    let budget_kib = i64::from(FLOOD_FLOWS) + (32 << 10);
    eprintln!(
        "flood of {FLOOD_FLOWS} flows: peak RSS {} KiB",
        r.max_rss_kib
    );
    assert!(
        r.max_rss_kib < budget_kib,
        "peak RSS {} KiB for {FLOOD_FLOWS} one-packet flows (budget {budget_kib} KiB)",
        r.max_rss_kib
    );
}

/// The flood in-process: the live table never exceeds its limit, the
/// evictions are counted, and the report still has every flow.
#[test]
fn flood_of_one_packet_flows_is_evicted_and_complete() {
    let mut cfg = Config::default();
    cfg.flows.max_live = FLOOD_MAX_FLOWS;
    let mut an = Analyzer::new(cfg);
    for i in 0..FLOOD_FLOWS {
        let f = flood_frame(i);
        an.process(
            LinkType::Ethernet,
            Nanos(T0 + u64::from(i) * 1_000),
            &f,
            f.len() as u32,
        );
    }
    let r = an.finish(vec!["flood".into()], None);
    let l = &r.limits;
    assert_eq!(r.source.packets, u64::from(FLOOD_FLOWS));
    assert_eq!(
        r.flows.len(),
        FLOOD_FLOWS as usize,
        "the report is complete"
    );
    assert_eq!(l.max_flows, FLOOD_MAX_FLOWS);
    assert_eq!(l.peak_live_flows, FLOOD_MAX_FLOWS, "{l:?}");
    let evicted = r.flows.iter().filter(|f| f.ended == "evicted").count() as u64;
    let live = r.flows.iter().filter(|f| f.ended == "capture-end").count();
    assert_eq!(evicted, l.flows_evicted, "{l:?}");
    assert_eq!(evicted + live as u64, u64::from(FLOOD_FLOWS));
    assert!(live <= FLOOD_MAX_FLOWS, "{live}");
    // Oldest-idle first: the flows still live at the end are the newest.
    let oldest_live = r
        .flows
        .iter()
        .filter(|f| f.ended == "capture-end")
        .map(|f| f.id)
        .min();
    assert!(
        oldest_live.unwrap() > FLOOD_FLOWS - FLOOD_MAX_FLOWS as u32,
        "{oldest_live:?}"
    );
    // Ids in first-seen order, every one once.
    assert!(r.flows.windows(2).all(|w| w[0].id < w[1].id));
}

// ------------------------------------------------------------ privacy ----

/// Values of `key=<value>` (or `key="<value>"`) in `hay`, made of `ok` bytes.
fn values_after(hay: &[u8], key: &[u8], ok: &dyn Fn(u8) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(pos) = hay[i..]
        .windows(key.len())
        .position(|w| w.eq_ignore_ascii_case(key))
    {
        let mut j = i + pos + key.len();
        if hay.get(j) == Some(&b'"') {
            j += 1;
        }
        let start = j;
        while j < hay.len() && ok(hay[j]) {
            j += 1;
        }
        if j - start >= 8 {
            out.push(String::from_utf8_lossy(&hay[start..j]).into_owned());
        }
        i = i + pos + key.len();
    }
    out
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

/// Secrets found in the raw bytes of a capture: SDES inline keys, `k=`
/// keys, digest responses and ICE passwords.
fn secrets_in(bytes: &[u8]) -> Vec<String> {
    let mut v = values_after(bytes, b"inline:", &is_b64);
    v.extend(values_after(bytes, b"\nk=clear:", &|b| b > b' '));
    v.extend(values_after(bytes, b"\nk=base64:", &is_b64));
    v.extend(values_after(bytes, b"response=", &|b| {
        b.is_ascii_hexdigit()
    }));
    v.extend(values_after(bytes, b"a=ice-pwd:", &|b| b > b' '));
    v.sort();
    v.dedup();
    v
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// 16-byte windows from the middle of the UDP/TCP payloads of a capture.
fn payload_samples(path: &Path, max: usize) -> Vec<String> {
    use etherparse::{LaxSlicedPacket, TransportSlice};
    let mut cap = pcap::Capture::from_file(path).unwrap();
    let link = cap.get_datalink().0;
    let mut out = Vec::new();
    while let Ok(p) = cap.next_packet() {
        let sliced = match link {
            1 => LaxSlicedPacket::from_ethernet(p.data).ok(),
            101 | 12 | 14 => LaxSlicedPacket::from_ip(p.data).ok(),
            _ => None,
        };
        let Some(s) = sliced else { continue };
        let payload = match &s.transport {
            Some(TransportSlice::Udp(u)) => u.payload(),
            Some(TransportSlice::Tcp(t)) => t.payload(),
            _ => continue,
        };
        if payload.len() >= 48 {
            let mid = payload.len() / 2;
            out.push(hex(&payload[mid - 8..mid + 8]));
            if out.len() >= max {
                break;
            }
        }
    }
    out
}

/// Every rendering of a report: JSON, NDJSON and the table.
fn all_outputs(r: &Report) -> String {
    let mut v = Vec::new();
    r.write_json(&mut v).unwrap();
    r.write_ndjson(&mut v).unwrap();
    r.write_table(&mut v).unwrap();
    String::from_utf8(v).unwrap()
}

fn assert_private(label: &str, text: &str, secrets: &[String], samples: &[String]) {
    let lower = text.to_ascii_lowercase();
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "{label}: secret {s:?} in the report"
        );
    }
    for h in samples {
        assert!(
            !lower.contains(h.as_str()),
            "{label}: payload bytes {h} in the report"
        );
    }
    for needle in [
        "inline:",
        "response=",
        "Authorization:",
        "SIP/2.0\\r\\n",
        "\\r\\nVia:",
    ] {
        assert!(!text.contains(needle), "{label}: {needle:?} in the report");
    }
}

#[test]
fn reports_of_fixtures_carry_no_secrets_or_payload() {
    let mut secrets_seen = 0;
    let mut samples_seen = 0;
    for fx in all_fixtures() {
        let label = fx.file_name().unwrap().to_string_lossy().into_owned();
        let secrets = secrets_in(&std::fs::read(&fx).unwrap());
        let samples = payload_samples(&fx, 200);
        secrets_seen += secrets.len();
        samples_seen += samples.len();
        let r = read_ok(&fx);
        assert_private(&label, &all_outputs(&r), &secrets, &samples);
    }
    // The fixtures do carry digest responses and payloads to look for.
    assert!(
        secrets_seen >= 10,
        "{secrets_seen} secrets found in the fixtures"
    );
    assert!(samples_seen >= 2_000, "{samples_seen} payload samples");
}

/// A call whose signalling carries every kind of secret: SDES keys (media
/// and session level), a `k=` line, an ICE password and a digest response.
#[test]
fn report_of_a_call_with_sdes_keys_carries_no_key() {
    const KEY1: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";
    const KEY2: &str = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNk";
    const KEYK: &str = "c2Vzc2lvbi1sZXZlbC1rZXktbWF0ZXJpYWw";
    const PWD: &str = "asd88fgpdd777uzjYhagZg";
    const RESP: &str = "6629fae49393a05397450978507c4ef1";
    let sdp = format!(
        "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.168.1.20\r\ns=-\r\n\
         c=IN IP4 192.168.1.20\r\nt=0 0\r\nk=base64:{KEYK}\r\n\
         m=audio 49170 RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n\
         a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{KEY1}|2^20|1:32\r\n\
         a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:{KEY2}\r\n\
         a=ice-ufrag:8hhY\r\na=ice-pwd:{PWD}\r\n"
    );
    let invite = format!(
        "INVITE sip:bob@198.51.100.20 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK776asdhds\r\n\
         Max-Forwards: 70\r\nTo: Bob <sip:bob@198.51.100.20>\r\n\
         From: Alice <sip:alice@example.com>;tag=1928301774\r\n\
         Call-ID: a84b4c76e66710@192.168.1.20\r\nCSeq: 314159 INVITE\r\n\
         Contact: <sip:alice@192.168.1.20>\r\n\
         Authorization: Digest username=\"alice\", realm=\"example.com\", \
         nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"sip:bob@198.51.100.20\", \
         response=\"{RESP}\"\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let mut out = PcapOut::new();
    out.push(
        T0,
        &ipv4_frame(
            [192, 168, 1, 20],
            SERVER,
            17,
            1,
            0,
            &udp(5060, 5060, invite.as_bytes()),
        ),
    );
    let rtp: Vec<u8> = [0x80u8, 0, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4]
        .into_iter()
        .chain((0..160u32).map(|i| (i * 7 % 251) as u8))
        .collect();
    out.push(
        T0 + 20_000_000,
        &ipv4_frame(
            [192, 168, 1, 20],
            SERVER,
            17,
            2,
            0,
            &udp(49170, 30000, &rtp),
        ),
    );
    let path = out.write(dir.path(), "sdes.pcap");

    let raw = std::fs::read(&path).unwrap();
    let secrets = secrets_in(&raw);
    for s in [KEY1, KEY2, KEYK, PWD, RESP] {
        assert!(
            secrets.iter().any(|x| x == s),
            "{s} not found by secrets_in: {secrets:?}"
        );
    }
    let r = read_ok(&path);
    // The SDP was understood: the keys were seen, and said to be exposed.
    let call = r
        .calls
        .iter()
        .find(|c| c.call_id == "a84b4c76e66710@192.168.1.20");
    let call = call.unwrap_or_else(|| panic!("call missing: {:?}", r.calls));
    assert!(
        call.media.iter().any(|m| m.keys_exposed),
        "{:?}",
        call.media
    );
    assert_eq!(call.encrypted, "keys-exposed");
    let samples = vec![hex(&rtp[80..96])];
    assert_private("sdes.pcap", &all_outputs(&r), &secrets, &samples);

    // And through the binary, in every format.
    for format in ["json", "ndjson", "table"] {
        let o = Command::new(bin())
            .args(["read", path.to_str().unwrap(), "--format", format])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        let text = String::from_utf8(o.stdout).unwrap();
        assert_private(format, &text, &secrets, &samples);
    }
}

/// Writes a flood of `n` one-packet flows, 100 new ones a second.
fn flood_file(dir: &Path, n: u32) -> PathBuf {
    use std::io::Write;
    let input = dir.join("flood.pcap");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    let mut rec = PcapOut::new();
    f.write_all(&rec.0).unwrap();
    for i in 0..n {
        rec.0.clear();
        rec.push(T0 + u64::from(i) * 10_000_000, &flood_frame(i));
        f.write_all(&rec.0).unwrap();
    }
    f.flush().unwrap();
    input
}

/// Streaming NDJSON writes every flow's record once, as it ends, with
/// heartbeats; by default the flows with nothing of a call are counted,
/// not listed.
#[test]
fn streamed_flood_writes_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let n = 20_000;
    let input = flood_file(dir.path(), n);
    let run = |extra: &[&str]| -> Vec<serde_json::Value> {
        let o = Command::new(bin())
            .args(["read", "--format", "ndjson", "--idle-timeout", "10"])
            .args(extra)
            .arg(&input)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let all = run(&["--all-flows", "--interval", "60"]);
    let mut ids: Vec<u64> = all
        .iter()
        .filter(|r| r["type"] == "flow")
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n as usize);
    assert_eq!(ids.last(), Some(&u64::from(n)));
    // 200 s of packet time: three heartbeats, before the summary.
    let beats = all.iter().filter(|r| r["type"] == "interval").count();
    assert_eq!(beats, 3);
    let summary = all.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["flows"], n);
    let default = run(&[]);
    assert!(default.iter().all(|r| r["type"] != "flow"));
    let summary = default.last().unwrap();
    assert_eq!(summary["other_flows"]["flows"], n);
    assert_eq!(summary["other_flows"]["by_port"][0]["port"], 9);
}

/// Streaming frees each flow as its record is written: the peak RSS of a
/// 200k-flow flood follows the live flows (about 1,000 here), not the
/// flows seen.
#[test]
fn streamed_flood_memory_follows_live_flows() {
    let dir = tempfile::tempdir().unwrap();
    let input = flood_file(dir.path(), FLOOD_FLOWS);
    let r = run_bin_measured(&[
        "read",
        input.to_str().unwrap(),
        "--format",
        "ndjson",
        "--all-flows",
        "--idle-timeout",
        "10",
    ]);
    assert_eq!(r.code, Some(0), "{r:?}");
    eprintln!(
        "streamed flood of {FLOOD_FLOWS} flows: peak RSS {} KiB",
        r.max_rss_kib
    );
    let budget_kib = 48 << 10;
    assert!(
        r.max_rss_kib < budget_kib,
        "peak RSS {} KiB for {FLOOD_FLOWS} streamed flows (budget {budget_kib} KiB)",
        r.max_rss_kib
    );
}

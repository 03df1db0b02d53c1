//! Traffic shapes seen on captures outside the fixtures, each built by hand
//! and run through the analyzer: IP-in-IP tunnels, SSDP on UDP 1900, SIP
//! requests whose dialog was not seen, SIP bodies longer or shorter than
//! their Content-Length, large SIP messages over TCP, and plain media that
//! repeats its payload.

mod common;

use common::{pcap_at, udp_frame};
use etherparse::{IpNumber, PacketBuilder};
use vcscope::engine::{Analyzer, Config};
use vcscope::packet::LinkType;
use vcscope::report::Report;
use vcscope::time::Nanos;

const A: [u8; 4] = [192, 0, 2, 10];
const B: [u8; 4] = [198, 51, 100, 7];

/// Runs the frames (10 ms apart) through one analyzer.
fn run(frames: &[Vec<u8>]) -> Report {
    let mut an = Analyzer::new(Config::default());
    for (i, f) in frames.iter().enumerate() {
        an.process(
            LinkType::Ethernet,
            Nanos::from_millis(i as u64 * 10),
            f,
            f.len() as u32,
        );
    }
    an.finish(vec!["hand-built".into()], None)
}

fn warning_count(r: &Report, kind: &str) -> u64 {
    r.warnings
        .iter()
        .filter(|w| w.kind == kind)
        .map(|w| w.count)
        .sum()
}

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n\
                   m=audio 5004 RTP/AVP 0\r\n";

fn invite(call_id: &str, sdp: &str) -> String {
    format!(
        "INVITE sip:bob@example.com SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-{call_id}\r\n\
         From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.10>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

#[test]
fn parses_sip_inside_ip_in_ip() {
    // IPv4 in IPv4 (protocol 4) and IPv4 in IPv6 (protocol 4 again).
    let inner = {
        let mut out = Vec::new();
        PacketBuilder::ipv4(A, B, 64)
            .udp(5060, 5060)
            .write(&mut out, invite("ipip-1", SDP).as_bytes())
            .unwrap();
        out
    };
    let mut v4 = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .write(&mut v4, IpNumber::IPV4, &inner)
        .unwrap();
    let mut v6 = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv6([0x20; 16], [0x21; 16], 64)
        .write(&mut v6, IpNumber::IPV4, &inner)
        .unwrap();
    for frame in [v4, v6] {
        let r = run(&[frame]);
        assert_eq!(r.source.decapsulated, 1);
        assert_eq!(r.source.skipped, 0);
        assert_eq!(r.calls.len(), 1, "{:?}", r.warnings);
        assert_eq!(r.calls[0].call_id, "ipip-1");
        assert_eq!(r.sip.requests.get("INVITE"), Some(&1));
    }
}

#[test]
fn rejects_ssdp_as_sip() {
    let ssdp = [
        &b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n\
           NT: upnp:rootdevice\r\nNTS: ssdp:alive\r\nUSN: uuid:1::upnp:rootdevice\r\n\r\n"[..],
        b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n\
          MX: 1\r\nST: ssdp:all\r\n\r\n",
    ];
    let mut frames: Vec<Vec<u8>> = ssdp
        .iter()
        .map(|m| udp_frame(A, [239, 255, 255, 250], 50000, 1900, m))
        .collect();
    frames.push(udp_frame(
        B,
        A,
        1900,
        50000,
        b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\n\
          USN: uuid:1::upnp:rootdevice\r\n\r\n",
    ));
    let r = run(&frames);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.source.malformed, 0);
    assert!(r.sip.requests.is_empty() && r.sip.responses.is_empty());
    assert!(r.flows.iter().all(|f| !f.protocols.contains(&"sip")));
}

#[test]
fn rejects_lone_in_dialog_requests_as_calls() {
    let ack =
        "ACK sip:bob@198.51.100.7 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK-1\r\n\
               From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: lone-ack\r\n\
               CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n";
    let bye = ack
        .replace("ACK sip", "BYE sip")
        .replace("1 ACK", "2 BYE")
        .replace("lone-ack", "lone-bye");
    let r = run(&[
        udp_frame(A, B, 5060, 5060, ack.as_bytes()),
        udp_frame(A, B, 5060, 5060, bye.as_bytes()),
    ]);
    assert!(r.calls.is_empty(), "{:?}", r.calls);
    assert_eq!(r.sip.requests.get("ACK"), Some(&1));
    assert_eq!(r.sip.requests.get("BYE"), Some(&1));
    assert_eq!(warning_count(&r, "sip-dialog-not-seen"), 2);
    // The example names the method only.
    let w = r
        .warnings
        .iter()
        .find(|w| w.kind == "sip-dialog-not-seen")
        .unwrap();
    assert!(
        w.example.contains("ACK") && !w.example.contains("lone-ack"),
        "{}",
        w.example
    );

    // With its INVITE, the same BYE ends the call.
    let bye = bye.replace("lone-bye", "ipip-1");
    let r = run(&[
        udp_frame(A, B, 5060, 5060, invite("ipip-1", SDP).as_bytes()),
        udp_frame(A, B, 5060, 5060, bye.as_bytes()),
    ]);
    assert_eq!(r.calls.len(), 1);
    assert_eq!(warning_count(&r, "sip-dialog-not-seen"), 0);
}

#[test]
fn parses_sip_body_longer_than_content_length() {
    // 11 bytes of junk after the declared body: discarded, counted.
    let mut m = invite("long-1", SDP);
    m.push_str("trailing!\r\n");
    let r = run(&[udp_frame(A, B, 5060, 5060, m.as_bytes())]);
    assert_eq!(r.calls.len(), 1);
    assert_eq!(r.calls[0].media.len(), 1, "the SDP is whole");
    assert_eq!(warning_count(&r, "sip-extra-bytes"), 1);
    let w = r
        .warnings
        .iter()
        .find(|w| w.kind == "sip-extra-bytes")
        .unwrap();
    assert!(w.example.contains("11 bytes") && !w.example.contains("trailing"));
}

#[test]
fn parses_sip_body_shorter_than_content_length_to_its_last_line() {
    // Content-Length claims 40 bytes more than sent; the last line is cut.
    let sdp = format!("{SDP}a=rtpmap:0 PCMU/8000\r\na=sendrecv");
    let m = invite("short-1", &sdp).replace(
        &format!("Content-Length: {}", sdp.len()),
        &format!("Content-Length: {}", sdp.len() + 40),
    );
    let r = run(&[udp_frame(A, B, 5060, 5060, m.as_bytes())]);
    assert_eq!(r.calls.len(), 1);
    assert_eq!(r.sip.requests.get("INVITE"), Some(&1));
    assert_eq!(r.calls[0].media.len(), 1, "complete lines are read");
    assert_eq!(warning_count(&r, "sip-truncated"), 1);
    let w = r
        .warnings
        .iter()
        .find(|w| w.kind == "sip-truncated")
        .unwrap();
    assert!(
        w.example
            .contains(&format!("{} of the {} bytes", sdp.len(), sdp.len() + 40)),
        "{}",
        w.example
    );
}

/// Ethernet/IPv4/TCP segments of `data` from A:5060 to B:5060, `mss` bytes
/// each, starting at sequence number `seq`.
fn tcp_segments(data: &[u8], seq: u32, mss: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut s = seq;
    for chunk in data.chunks(mss) {
        let mut f = Vec::new();
        PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(A, B, 64)
            .tcp(5060, 5060, s, 65535)
            .ack(1)
            .write(&mut f, chunk)
            .unwrap();
        s = s.wrapping_add(chunk.len() as u32);
        out.push(f);
    }
    out
}

fn message_with_body(method: &str, call_id: &str, ctype: &str, body: &str) -> String {
    format!(
        "{method} sip:bob@example.com SIP/2.0\r\n\
         Via: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK-{call_id}\r\n\
         From: <sip:alice@example.com>;tag=a1\r\nTo: <sip:bob@example.com>\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 {method}\r\nContact: <sip:alice@192.0.2.10;transport=tcp>\r\n\
         Content-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn parses_sip_over_tcp_with_a_body_over_the_stream_buffer() {
    // A MESSAGE whose body (65 400 bytes) with its headers exceeds the
    // 64 KiB stream buffer, then an INVITE on the same connection; the
    // sequence numbers wrap inside the big body.
    let big = "x".repeat(65_400);
    let mut stream = message_with_body("MESSAGE", "big-1", "text/plain", &big).into_bytes();
    stream.extend_from_slice(invite("after-big", SDP).as_bytes());
    let r = run(&tcp_segments(&stream, u32::MAX - 30_000, 1400));
    assert_eq!(r.sip.requests.get("MESSAGE"), Some(&1), "{:?}", r.warnings);
    assert_eq!(r.sip.requests.get("INVITE"), Some(&1), "{:?}", r.warnings);
    assert_eq!(r.calls.len(), 1);
    assert_eq!(r.calls[0].call_id, "after-big");
    assert_eq!(r.calls[0].media.len(), 1);
    assert_eq!(warning_count(&r, "sip-body-cut"), 1);
    assert_eq!(warning_count(&r, "tcp-stream-overflow"), 0);
    assert_eq!(warning_count(&r, "sip-stream-unparsable"), 0);
    assert!(r.limits.stream_bytes_dropped > 0);
    let w = r
        .warnings
        .iter()
        .find(|w| w.kind == "sip-body-cut")
        .unwrap();
    assert!(w.example.contains("65400-byte body") && !w.example.contains("xxx"));
}

#[test]
fn parses_sip_invite_over_tcp_whose_sdp_is_cut_without_its_sdp() {
    // An SDP of ~80 kB (many attribute lines): the INVITE counts and makes
    // its call, the SDP (not whole) is not read.
    let mut sdp = SDP.to_string();
    while sdp.len() < 80_000 {
        sdp.push_str("a=x-filler:0123456789abcdef0123456789abcdef\r\n");
    }
    let mut stream = message_with_body("INVITE", "cut-sdp", "application/sdp", &sdp).into_bytes();
    stream.extend_from_slice(b"\r\n\r\n");
    let r = run(&tcp_segments(&stream, 1000, 1460));
    assert_eq!(r.sip.requests.get("INVITE"), Some(&1), "{:?}", r.warnings);
    assert_eq!(r.calls.len(), 1);
    assert!(r.calls[0].media.is_empty(), "{:?}", r.calls[0].media);
    assert_eq!(warning_count(&r, "sip-body-cut"), 1);
    assert_eq!(warning_count(&r, "sip-truncated"), 0);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
}

/// RTP packets of one SSRC (dynamic PT 118, 20 ms apart) with the given payloads.
fn rtp_frames(payloads: &[Vec<u8>]) -> Vec<Vec<u8>> {
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let i = i as u16;
            let mut rtp = vec![0x80, 118];
            rtp.extend_from_slice(&(1000 + i).to_be_bytes());
            rtp.extend_from_slice(&(u32::from(i) * 160).to_be_bytes());
            rtp.extend_from_slice(&0x1234_5678u32.to_be_bytes());
            rtp.extend_from_slice(p);
            udp_frame(A, B, 40_000, 50_000, &rtp)
        })
        .collect()
}

fn stream_encryption(r: &Report) -> &'static str {
    let f = r
        .flows
        .iter()
        .find(|f| !f.rtp_streams.is_empty())
        .expect("an RTP stream");
    f.rtp_streams[0].encryption
}

#[test]
fn parses_media_repeating_its_payload_as_plain() {
    // AMR-like speech frames, then the same SID frame during silence.
    let mut payloads: Vec<Vec<u8>> = (0..6u32)
        .map(|i| (0..31u32).map(|b| (b * 97 + i * 13) as u8).collect())
        .collect();
    payloads.extend(std::iter::repeat_n(
        vec![0xf0, 0x44, 0x21, 0x9a, 0x5c, 0x03, 0x10],
        40,
    ));
    let r = run(&rtp_frames(&payloads));
    assert_eq!(stream_encryption(&r), "plain", "{:?}", r.flows);
}

#[test]
fn rejects_changing_payloads_as_repeats() {
    // Every payload different (what SRTP makes of the same frames).
    let payloads: Vec<Vec<u8>> = (0..46u32)
        .map(|i| {
            (0..17u32)
                .map(|b| (b.wrapping_mul(2_654_435_761).wrapping_add(i * 40_503) >> 13) as u8)
                .collect()
        })
        .collect();
    let r = run(&rtp_frames(&payloads));
    assert_ne!(stream_encryption(&r), "plain", "{:?}", r.flows);
}

#[test]
fn parses_sip_after_a_skipped_body_that_lost_a_segment() {
    // As above, with one segment of the skipped body not captured: the
    // skip ends by sequence number, so the INVITE after it is still read.
    let big = "y".repeat(90_000);
    let mut stream = message_with_body("MESSAGE", "big-2", "text/plain", &big).into_bytes();
    stream.extend_from_slice(invite("after-gap", SDP).as_bytes());
    let mut frames = tcp_segments(&stream, 7, 1000);
    frames.remove(70);
    let r = run(&frames);
    assert_eq!(r.sip.requests.get("MESSAGE"), Some(&1), "{:?}", r.warnings);
    assert_eq!(r.sip.requests.get("INVITE"), Some(&1), "{:?}", r.warnings);
    assert_eq!(r.calls.len(), 1);
    assert_eq!(r.calls[0].call_id, "after-gap");
    assert_eq!(warning_count(&r, "sip-stream-unparsable"), 0);
}

#[test]
fn parses_sip_connection_closed_within_a_body_as_truncated() {
    // Content-Length claims 500 bytes more than sent before the FIN.
    let m = invite("closed-1", SDP).replace(
        &format!("Content-Length: {}", SDP.len()),
        &format!("Content-Length: {}", SDP.len() + 500),
    );
    let mut frames = tcp_segments(m.as_bytes(), 1, 1400);
    let mut fin = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(A, B, 64)
        .tcp(5060, 5060, 1 + m.len() as u32, 65535)
        .ack(1)
        .fin()
        .write(&mut fin, &[])
        .unwrap();
    frames.push(fin);
    let r = run(&frames);
    assert_eq!(warning_count(&r, "sip-truncated"), 1, "{:?}", r.warnings);
    let w = r
        .warnings
        .iter()
        .find(|w| w.kind == "sip-truncated")
        .unwrap();
    assert!(
        w.example.contains(&format!(
            "after {} of the {} body bytes",
            SDP.len(),
            SDP.len() + 500
        )),
        "{}",
        w.example
    );
    assert!(r.limits.stream_bytes_dropped >= m.len() as u64);
    // A FIN after a complete message says nothing.
    let mut frames = tcp_segments(invite("closed-2", SDP).as_bytes(), 1, 1400);
    let mut fin = Vec::new();
    PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4(A, B, 64)
        .tcp(5060, 5060, 1 + invite("closed-2", SDP).len() as u32, 65535)
        .ack(1)
        .fin()
        .write(&mut fin, &[])
        .unwrap();
    frames.push(fin);
    let r = run(&frames);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.calls.len(), 1);
}

/// The frames as a classic pcap file (Ethernet, microsecond stamps, 10 ms apart).
fn pcap_bytes(frames: &[Vec<u8>]) -> Vec<u8> {
    let timed: Vec<(u64, Vec<u8>)> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| (i as u64 * 10_000, f.clone()))
        .collect();
    pcap_at(&timed)
}

#[test]
fn parses_every_case_the_same_with_threads() {
    // The SSDP, orphan, body-length, large-body and repeated-media cases in
    // one capture: 1, 2 and 3 threads give the same report.
    let mut frames = Vec::new();
    frames.push(udp_frame(
        A,
        [239, 255, 255, 250],
        50000,
        1900,
        b"NOTIFY * HTTP/1.1\r\nNTS: ssdp:alive\r\n\r\n",
    ));
    let ack =
        "ACK sip:bob@198.51.100.7 SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\n\
               Call-ID: lone-ack\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n";
    frames.push(udp_frame(A, B, 5062, 5060, ack.as_bytes()));
    let mut long = invite("long-1", SDP);
    long.push_str("trailing!\r\n");
    frames.push(udp_frame(A, B, 5064, 5060, long.as_bytes()));
    let big = "x".repeat(70_000);
    let mut stream = message_with_body("MESSAGE", "big-1", "text/plain", &big).into_bytes();
    stream.extend_from_slice(invite("after-big", SDP).as_bytes());
    frames.extend(tcp_segments(&stream, 99, 1400));
    let mut payloads: Vec<Vec<u8>> = (0..6u32)
        .map(|i| (0..31u32).map(|b| (b * 97 + i * 13) as u8).collect())
        .collect();
    payloads.extend(std::iter::repeat_n(
        vec![0xf0, 0x44, 0x21, 0x9a, 0x5c, 0x03, 0x10],
        40,
    ));
    frames.extend(rtp_frames(&payloads));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gaps.pcap");
    std::fs::write(&path, pcap_bytes(&frames)).unwrap();
    let files = vec![path.display().to_string()];
    let json = |threads: usize| {
        let (an, outcome) = vcscope::shard::read_files(
            &files,
            &vcscope::capture::CaptureOptions::default(),
            &Config::default(),
            threads,
        )
        .expect("readable capture");
        assert!(outcome.fatal.is_none());
        let r = an.finish(files.clone(), None);
        let mut out = Vec::new();
        r.write_json(&mut out).unwrap();
        (r, out)
    };
    let (r, one) = json(1);
    for id in ["long-1", "after-big"] {
        assert!(r.calls.iter().any(|c| c.call_id == id), "{id}");
    }
    assert!(r.calls.iter().all(|c| c.call_id != "lone-ack"));
    for kind in ["sip-dialog-not-seen", "sip-extra-bytes", "sip-body-cut"] {
        assert_eq!(warning_count(&r, kind), 1, "{kind}: {:?}", r.warnings);
    }
    for threads in [2, 3] {
        assert!(json(threads).1 == one, "{threads} threads differ");
    }
}

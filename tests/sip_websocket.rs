//! SIP over WebSocket (RFC 7118) on a cleartext connection: the HTTP upgrade,
//! then masked client frames and unmasked server frames, one carrying a
//! message split across two frames and two TCP segments.

use etherparse::PacketBuilder;
use vcscope::engine::{Analyzer, Config};
use vcscope::packet::LinkType;
use vcscope::time::Nanos;

const CLIENT: [u8; 4] = [192, 0, 2, 10];
const SERVER: [u8; 4] = [198, 51, 100, 7];

struct Conn {
    seq: [u32; 2],
    frames: Vec<Vec<u8>>,
}

impl Conn {
    fn send(&mut self, from_client: bool, data: &[u8]) {
        let (src, dst, sp, dp, i) = if from_client {
            (CLIENT, SERVER, 40000, 80, 0)
        } else {
            (SERVER, CLIENT, 80, 40000, 1)
        };
        let b = PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, self.seq[i], 65535)
            .ack(self.seq[1 - i]);
        let mut out = Vec::new();
        b.write(&mut out, data).unwrap();
        self.seq[i] = self.seq[i].wrapping_add(data.len() as u32);
        self.frames.push(out);
    }
}

/// A WebSocket frame; masked (as clients must) when `key` is given.
fn ws_frame(fin: bool, opcode: u8, payload: &[u8], key: Option<[u8; 4]>) -> Vec<u8> {
    let mut f = vec![(if fin { 0x80 } else { 0 }) | opcode];
    let mask_bit = if key.is_some() { 0x80 } else { 0 };
    if payload.len() < 126 {
        f.push(mask_bit | payload.len() as u8);
    } else {
        f.push(mask_bit | 126);
        f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    match key {
        Some(k) => {
            f.extend_from_slice(&k);
            f.extend(payload.iter().zip(k.iter().cycle()).map(|(b, m)| b ^ m));
        }
        None => f.extend_from_slice(payload),
    }
    f
}

#[test]
fn parses_sip_over_websocket_calls() {
    let sdp = "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n\
               m=audio 5004 RTP/AVP 0\r\n";
    let invite = format!(
        "INVITE sip:bob@example.com SIP/2.0\r\n\
         Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks\r\n\
         From: <sip:alice@example.com>;tag=ws1\r\nTo: <sip:bob@example.com>\r\n\
         Call-ID: ws-call-1\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@10.1.1.1;transport=ws>\r\n\
         Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    );
    let ok = "SIP/2.0 200 OK\r\nVia: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK56sdasks\r\n\
              From: <sip:alice@example.com>;tag=ws1\r\nTo: <sip:bob@example.com>;tag=b2\r\n\
              Call-ID: ws-call-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    let mut c = Conn {
        seq: [1000, 5000],
        frames: Vec::new(),
    };
    c.send(
        true,
        b"GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\n\
          Sec-WebSocket-Version: 13\r\n\r\n",
    );
    c.send(
        false,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n",
    );
    // The INVITE in two frames (text, then continuation), sent in two segments.
    let (a, b) = invite.as_bytes().split_at(100);
    let mut bytes = ws_frame(false, 1, a, Some([9, 8, 7, 6]));
    bytes.extend(ws_frame(true, 0, b, Some([1, 2, 3, 4])));
    let (s1, s2) = bytes.split_at(bytes.len() / 2);
    c.send(true, s1);
    c.send(true, s2);
    c.send(false, &ws_frame(true, 1, ok.as_bytes(), None));

    let mut an = Analyzer::new(Config::default());
    for (i, f) in c.frames.iter().enumerate() {
        an.process(
            LinkType::Ethernet,
            Nanos::from_millis(i as u64 * 10),
            f,
            f.len() as u32,
        );
    }
    let r = an.finish(vec!["ws".into()], None);
    assert_eq!(r.calls.len(), 1, "{:?}", r.warnings);
    let call = &r.calls[0];
    assert_eq!(call.call_id, "ws-call-1");
    assert_eq!(call.signalling.transport, "ws");
    assert!(!call.signalling.encrypted);
    assert_eq!(call.state, "answered");
    assert_eq!(call.ladder.len(), 2);
    assert_eq!(r.sip.requests.get("INVITE"), Some(&1));
    assert_eq!(r.sip.responses.get("200"), Some(&1));
    assert_eq!(call.media[0].encryption, "none");
    // The Contact's private address went to a public server: a leak.
    assert!(r
        .leaks
        .iter()
        .any(|l| l.address == "10.1.1.1" && l.where_ == "sip-contact"));
    assert!(r.flows[0].protocols.contains(&"sip"));
}

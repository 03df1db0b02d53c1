//! Encrypted transports: DTLS (and DTLS-SRTP keying), TLS over TCP, QUIC and
//! gQUIC. What is recorded: that the handshake happened, the SNI and ALPN,
//! the negotiated version and cipher, the SRTP protection profile, and the
//! names of the server's certificate when TLS 1.0-1.2 sends it in cleartext.
//!
//! Handshake messages are reassembled across records, datagrams and TCP
//! segments by the dissectors' bounded `HandshakeAssembler`, owned per flow
//! only until the hellos (and the certificate) are read. Over TCP, the
//! server's side of a TLS 1.2 or older connection is followed past its
//! ServerHello until its Certificate message; following stops there, at a
//! ChangeCipherSpec or any other message (an abbreviated handshake has no
//! certificate), on TLS 1.3 (certificates are encrypted), after
//! `Limits::stream_buffer` bytes, or at a lost segment.

use vcscope_dissectors::quic::{self, LongHeader, LongHeaderPackets};
use vcscope_dissectors::tls::{
    self, CertificateList, ClientHello, ContentType, DtlsRecords, Handshake, HandshakeAssembler,
    HandshakeType, Handshakes, ServerHello,
};
use vcscope_dissectors::{x509, Probe};

use crate::dissect::ctx::{Ctx, Pkt};
use crate::evidence::{DtlsFacts, FlowState, Proto, TcpMode, TlsFacts, MAX_CERTIFICATE_NAMES};
use crate::packet::stream::Advance;

/// Handshake bytes assembled per flow direction at most (DTLS, QUIC).
const ASSEMBLER_CAPACITY: usize = 32 * 1024;
/// TLS segments read per direction before giving up on finding the hellos.
const TLS_SEGMENTS: u8 = 16;
/// Longest certificate name kept (a DNS name has at most 253 characters).
const MAX_CERTIFICATE_NAME_LEN: usize = 255;

fn facts(st: &mut FlowState) -> &mut TlsFacts {
    st.tls.get_or_insert_with(Default::default)
}

/// True when a TCP payload starts with a TLS handshake record.
pub fn is_tls_start(payload: &[u8]) -> bool {
    payload.first() == Some(&22) && tls::probe(payload) != Probe::NoMatch
}

fn on_client_hello(st: &mut FlowState, ch: &ClientHello<'_>) {
    // A server_name that is not a DNS name (e.g. "host:port" from test
    // stacks) is still what the client asked for: keep it when printable.
    let raw_name = || {
        ch.server_name_raw()
            .and_then(|r| std::str::from_utf8(r).ok())
            .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic()))
    };
    if let Some(sni) = ch.sni().or_else(raw_name) {
        if st.sni.is_none() {
            st.sni = Some(sni.chars().take(255).collect::<String>().into_boxed_str());
        }
    }
    let ech = ch.has_ech();
    let pq = ch.key_share_groups().any(|g| g.is_post_quantum());
    let alpn: Option<Box<str>> = ch
        .alpn()
        .next()
        .and_then(|a| std::str::from_utf8(a).ok())
        .map(|a| a.chars().take(64).collect::<String>().into_boxed_str());
    let turn = ch.alpn().any(|a| a == b"stun.turn");
    let f = facts(st);
    f.alpn_turn |= turn;
    f.ech |= ech;
    f.post_quantum |= pq;
    if f.alpn.is_none() {
        f.alpn = alpn;
    }
    if ech {
        st.finding("TLS Encrypted Client Hello: the SNI shown is the outer, public name".into());
    }
}

fn on_server_hello(st: &mut FlowState, sh: &ServerHello<'_>) {
    let f = facts(st);
    f.version = Some(sh.version());
    f.cipher = Some(sh.cipher_suite().0);
    if let Some(g) = sh.key_share_group() {
        f.post_quantum |= g.is_post_quantum();
    }
}

/// What to do after one handshake message of a TCP direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// Read the next message of this direction.
    NextMessage,
    /// Nothing more to read in this direction.
    Done,
}

/// One complete handshake message of a TCP direction.
fn on_tcp_handshake(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, h: &Handshake<'_>) -> After {
    let d = pkt.dir.index();
    if facts(st).awaiting_certificate[d] {
        if h.msg_type() == HandshakeType::Certificate {
            on_certificate(ctx, st, pkt, h.body());
        }
        // Any other message: this handshake sends no certificate.
        return After::Done;
    }
    match h.msg_type() {
        HandshakeType::ClientHello => {
            if let Ok(ch) = ClientHello::parse(h.body()) {
                on_client_hello(st, &ch);
            }
        }
        HandshakeType::ServerHello => {
            if let Ok(sh) = ServerHello::parse(h.body()) {
                on_server_hello(st, &sh);
                // SSL 3.0 to TLS 1.2 send the Certificate in cleartext next
                // (RFC 5246 section 7.3); TLS 1.3 encrypts it.
                if (0x0300..=0x0303).contains(&sh.version()) {
                    facts(st).awaiting_certificate[d] = true;
                    return After::NextMessage;
                }
            }
        }
        _ => {}
    }
    After::Done
}

/// The leaf certificate's names, kept on the flow.
fn on_certificate(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, body: &[u8]) {
    let leaf = CertificateList::parse(body).map(|l| l.leaf());
    let cert = match leaf {
        Ok(Some(der)) => x509::Certificate::new_checked(der),
        Ok(None) => return,
        Err(e) => Err(e),
    };
    let cert = match cert {
        Ok(c) => c,
        Err(e) => {
            ctx.warnings
                .add_on_flow("tls-certificate-unreadable", pkt.flow_id, || {
                    format!("server certificate: {e}")
                });
            return;
        }
    };
    let mut picked: [&str; MAX_CERTIFICATE_NAMES] = [""; MAX_CERTIFICATE_NAMES];
    let mut n = 0;
    for name in cert.common_names().chain(cert.dns_names()) {
        if n == MAX_CERTIFICATE_NAMES {
            break;
        }
        let Some(text) = name.as_str() else { continue };
        let usable = !text.is_empty()
            && text.len() <= MAX_CERTIFICATE_NAME_LEN
            && !text.chars().any(char::is_control);
        let seen = || picked[..n].iter().any(|p| p.eq_ignore_ascii_case(text));
        if usable && !seen() {
            picked[n] = text;
            n += 1;
        }
    }
    facts(st).certificate_names = picked[..n].iter().map(|&s| Box::from(s)).collect();
}

/// One TCP segment of a TLS connection.
pub fn tls_segment(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, seq: u32, payload: &[u8]) {
    st.protocols.insert(Proto::Tls);
    let d = pkt.dir.index();
    let capacity = ctx.limits.stream_buffer;
    let f = facts(st);
    if f.client_dir.is_none() {
        f.client_dir = Some(pkt.dir);
    }
    if f.done[d] {
        return;
    }
    if f.awaiting_certificate[d] {
        f.certificate_bytes[d] = f.certificate_bytes[d].saturating_add(payload.len());
    } else {
        f.segments[d] = f.segments[d].saturating_add(1);
    }
    let mut asm = f.asm[d].take().unwrap_or_else(|| {
        let mut a = HandshakeAssembler::new(capacity);
        a.set_keep_later_messages(true);
        Box::new(a)
    });
    // In TCP order: retransmitted bytes are skipped, and a segment that
    // overtook another waits for it. After a lost segment the record
    // framing cannot be picked up again.
    let pushed = match st.tcp.as_deref_mut() {
        None => asm.push_tls_stream(payload).map_err(drop),
        Some(t) => match t.bufs[d].advance(seq, payload, capacity) {
            Advance::Duplicate | Advance::Held => {
                facts(st).asm[d] = Some(asm);
                return;
            }
            Advance::Gap => Err(()),
            Advance::New(new) => {
                let mut r = asm.push_tls_stream(new).map_err(drop);
                if let Some(held) = t.bufs[d].take_held() {
                    if r.is_ok() {
                        r = asm.push_tls_stream(&held).map_err(drop);
                    }
                    t.bufs[d].restore(held);
                }
                r
            }
        },
    };
    // Every complete message in order: one segment may carry the
    // ServerHello, the Certificate and more.
    let mut after = After::NextMessage;
    while let Some(h) = asm.complete_handshake() {
        after = on_tcp_handshake(ctx, st, pkt, &h);
        if after == After::Done || !asm.next_message() {
            break;
        }
    }
    let f = facts(st);
    let awaiting = f.awaiting_certificate[d];
    let give_up = if after == After::Done {
        None
    } else if pushed.is_err() {
        Some("unreadable")
    } else if awaiting && asm.saw_change_cipher_spec() {
        // An abbreviated handshake: no certificate comes.
        None
    } else if (!awaiting && f.segments[d] > TLS_SEGMENTS)
        || (awaiting && f.certificate_bytes[d] > capacity)
    {
        Some("not within the first segments")
    } else {
        f.asm[d] = Some(asm);
        return;
    };
    f.done[d] = true;
    if let Some(why) = give_up {
        if awaiting {
            ctx.warnings
                .add_on_flow("tls-certificate-unreadable", pkt.flow_id, || {
                    format!("server certificate {why}")
                });
        } else {
            ctx.warnings
                .add_on_flow("tls-handshake-unreadable", pkt.flow_id, || {
                    "no complete hello (declared too large, or not within the first segments)"
                        .into()
                });
        }
    }
    finish_tls_if_done(st);
}

fn finish_tls_if_done(st: &mut FlowState) {
    let done = st.tls.as_deref().is_some_and(|f| f.done[0] && f.done[1]);
    if done {
        if let Some(t) = st.tcp.as_deref_mut() {
            t.mode = TcpMode::Done;
        }
    }
}

/// One DTLS datagram (RFC 6347 / RFC 9147 records).
pub fn dtls(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, payload: &[u8]) {
    if tls::dtls_probe(payload) != Probe::Match {
        return;
    }
    // A DTLS 1.3 unified header is only recognisable by its first three
    // bits (any byte 0x20-0x3F: ASCII spaces and digits too): accept it only
    // after a DTLS handshake on this flow. The pre-standard version 0x0100 is
    // accepted only on a handshake record.
    let handshake_seen = st
        .media
        .as_deref()
        .and_then(|m| m.dtls.as_deref())
        .is_some_and(|d| d.client_hello || d.server_hello);
    let first = payload.first().copied().unwrap_or(0);
    let legacy_version = payload.get(1..3) == Some(&[0x01, 0x00][..]);
    if (first & 0xe0 == 0x20 || (legacy_version && first != 22)) && !handshake_seen {
        return;
    }
    st.protocols.insert(Proto::Dtls);
    let mut records = DtlsRecords::new(payload);
    let mut hellos: [Option<(HandshakeType, Vec<u8>)>; 2] = [None, None];
    let mut n_hellos = 0;
    {
        let m = st.media.get_or_insert_with(Default::default);
        let d = m.dtls.get_or_insert_with(Default::default);
        for r in &mut records {
            d.records += 1;
            match r.content_type {
                ContentType::Handshake if r.epoch == 0 => {
                    for h in Handshakes::dtls(r.fragment) {
                        let ty = h.msg_type();
                        if !matches!(ty, HandshakeType::ClientHello | HandshakeType::ServerHello) {
                            continue;
                        }
                        if h.is_complete_fragment() {
                            if n_hellos < 2 {
                                hellos[n_hellos] = Some((ty, h.body().to_vec()));
                                n_hellos += 1;
                            }
                        } else {
                            let asm = m.dtls_asm.get_or_insert_with(|| {
                                Box::new(HandshakeAssembler::new(ASSEMBLER_CAPACITY))
                            });
                            if asm.push_dtls_fragment(&h).is_ok() {
                                if let Some(c) = asm.complete_handshake() {
                                    if n_hellos < 2 {
                                        hellos[n_hellos] = Some((c.msg_type(), c.body().to_vec()));
                                        n_hellos += 1;
                                    }
                                }
                            }
                        }
                    }
                }
                ContentType::ApplicationData => d.application_data += 1,
                _ => {}
            }
            if r.is_unified_header {
                d.version.get_or_insert(0xfefc);
            }
        }
    }
    if records.error().is_some() {
        ctx.warnings
            .add_on_flow("dtls-malformed-record", pkt.flow_id, String::new);
    }
    for (ty, body) in hellos.into_iter().flatten() {
        match ty {
            HandshakeType::ClientHello => {
                if let Ok(ch) = ClientHello::parse(&body) {
                    let offered = ch.use_srtp_profiles().next().is_some();
                    on_client_hello(st, &ch);
                    let d = dtls_facts(st);
                    d.client_hello = true;
                    d.use_srtp_offered |= offered;
                }
            }
            HandshakeType::ServerHello => {
                if let Ok(sh) = ServerHello::parse(&body) {
                    let d = dtls_facts(st);
                    d.server_hello = true;
                    d.version = Some(sh.version());
                    if let Some(p) = sh.use_srtp_profile() {
                        d.srtp_profile = Some(p.into());
                    }
                }
            }
            _ => {}
        }
    }
}

fn dtls_facts(st: &mut FlowState) -> &mut DtlsFacts {
    let m = st.media.get_or_insert_with(Default::default);
    m.dtls.get_or_insert_with(Default::default)
}

/// QUIC long-header packets (client Initial → SNI) and gQUIC.
pub fn quic(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, payload: &[u8]) {
    if pkt.relayed {
        return;
    }
    if st.protocols.contains(Proto::Quic) {
        // Keep decrypting client Initials until the ClientHello is whole.
        if st.sni.is_some() || facts(st).done[0] {
            return;
        }
    }
    if quic::probe(payload) == Probe::Match {
        let mut packets = LongHeaderPackets::new(payload);
        for h in &mut packets {
            st.protocols.insert(Proto::Quic);
            initial(ctx, st, pkt, &h);
        }
        return;
    }
    if let Some(_v) = quic::gquic_version(payload) {
        st.protocols.insert(Proto::Quic);
        if let Some(sni) = quic::gquic_chlo_sni(payload) {
            if st.sni.is_none() {
                st.sni = Some(sni.chars().take(255).collect::<String>().into_boxed_str());
            }
        }
    }
}

fn initial(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, h: &LongHeader<'_>) {
    if h.packet_type() != Some(quic::LongPacketType::Initial) || h.is_gquic() {
        return;
    }
    let f = facts(st);
    if f.client_dir.is_none() {
        f.client_dir = Some(pkt.dir);
    }
    if f.client_dir != Some(pkt.dir) || f.done[0] {
        return;
    }
    // Keys come from the client's first Destination Connection ID (RFC 9001 section 5.2).
    let dcid: Box<[u8]> = f.quic_dcid.get_or_insert_with(|| h.dcid().into()).clone();
    let mut scratch = [0u8; 2048];
    let Ok(init) = quic::decrypt_initial(h.packet(), &dcid, &mut scratch) else {
        return;
    };
    let asm = f.asm[0].get_or_insert_with(|| Box::new(HandshakeAssembler::new(ASSEMBLER_CAPACITY)));
    if init.push_crypto_frames(asm).is_err() {
        f.done[0] = true;
        f.asm[0] = None;
        ctx.warnings
            .add_on_flow("quic-crypto-unreadable", pkt.flow_id, String::new);
        return;
    }
    let hello = asm
        .complete_handshake()
        .filter(|h| h.msg_type() == HandshakeType::ClientHello)
        .map(|h| h.body().to_vec());
    if let Some(body) = hello {
        f.done[0] = true;
        f.asm[0] = None;
        if let Ok(ch) = ClientHello::parse(&body) {
            on_client_hello(st, &ch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::Limits;
    use crate::evidence::TcpState;
    use crate::net::Direction;
    use crate::net::Transport;
    use crate::time::Nanos;

    const WEBEX_FLIGHT: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/webex_tls10_server_flight.bin");
    const ZOOM_FLIGHT: [&[u8]; 4] = [
        include_bytes!("../../fixtures/payloads/tls/zoom_server_flight_1.bin"),
        include_bytes!("../../fixtures/payloads/tls/zoom_server_flight_2.bin"),
        include_bytes!("../../fixtures/payloads/tls/zoom_server_flight_3.bin"),
        include_bytes!("../../fixtures/payloads/tls/zoom_server_flight_4.bin"),
    ];
    const INSTAGRAM_CH: &[u8] =
        include_bytes!("../../fixtures/payloads/tls/instagram_client_hello.bin");
    const TLS13_FLIGHT: &[u8] = include_bytes!("../../fixtures/payloads/tls/ech_server_flight.bin");

    fn pkt(dir: Direction) -> Pkt {
        let ep = |ip: &str, port| crate::net::Endpoint {
            ip: ip.parse().unwrap(),
            port,
        };
        let (a, b) = (ep("10.8.0.1", 49048), ep("203.0.113.7", 443));
        let (src, dst) = match dir {
            Direction::Forward => (a, b),
            Direction::Reverse => (b, a),
        };
        Pkt {
            src,
            dst,
            dir,
            ts: Nanos::ZERO,
            transport: Transport::Tcp,
            flow_id: 1,
            relayed: false,
        }
    }

    /// A TLS flow whose client already sent its ClientHello.
    fn tls_flow(ctx: &mut Ctx) -> FlowState {
        let mut st = FlowState {
            tcp: Some(Box::new(TcpState {
                mode: TcpMode::Tls,
                ..Default::default()
            })),
            ..Default::default()
        };
        tls_segment(ctx, &mut st, &pkt(Direction::Forward), 1, INSTAGRAM_CH);
        st
    }

    /// Feeds server segments `(seq, bytes)` in the given order.
    fn server(ctx: &mut Ctx, st: &mut FlowState, segments: &[(u32, &[u8])]) {
        for &(seq, bytes) in segments {
            tls_segment(ctx, st, &pkt(Direction::Reverse), seq, bytes);
        }
    }

    fn names(st: &FlowState) -> Vec<&str> {
        let t = st.tls.as_deref().unwrap();
        t.certificate_names.iter().map(|n| &**n).collect()
    }

    fn zoom_segments() -> Vec<(u32, &'static [u8])> {
        let mut seq = 1u32;
        ZOOM_FLIGHT
            .iter()
            .map(|s| {
                let at = seq;
                seq += s.len() as u32;
                (at, *s)
            })
            .collect()
    }

    #[test]
    fn parses_certificate_names_after_a_tls10_server_hello() {
        let mut ctx = Ctx::new(Limits::default());
        let mut st = tls_flow(&mut ctx);
        server(&mut ctx, &mut st, &[(1, WEBEX_FLIGHT)]);
        // The commonName first, then the first seven other dNSNames.
        assert_eq!(
            names(&st),
            [
                "www.webex.com",
                "www.webex.com.au",
                "www.webex.ca",
                "www.webex.de",
                "www.webex.com.hk",
                "www.webex.co.in",
                "www.webex.co.it",
                "www.webex.co.jp",
            ]
        );
        let t = st.tls.as_deref().unwrap();
        assert_eq!(t.version, Some(0x0301));
        assert!(t.asm.iter().all(Option::is_none), "assemblers kept");
        assert_eq!(st.tcp.as_deref().unwrap().mode, TcpMode::Done);
        assert_eq!(ctx.warnings.count("tls-certificate-unreadable"), 0);
    }

    #[test]
    fn parses_a_certificate_across_segments_in_any_arrival_order() {
        let segs = zoom_segments();
        let expected = ["*.zoom.us", "zoom.us"];
        let orders: [&[usize]; 4] = [
            &[0, 1, 2, 3],
            &[0, 2, 1, 3],
            &[0, 1, 3, 2],
            &[0, 0, 1, 1, 2, 3],
        ];
        for order in orders {
            let mut ctx = Ctx::new(Limits::default());
            let mut st = tls_flow(&mut ctx);
            let fed: Vec<_> = order.iter().map(|&i| segs[i]).collect();
            server(&mut ctx, &mut st, &fed);
            assert_eq!(names(&st), expected, "{order:?}");
        }
        // Retransmissions, and a retransmission overlapping new bytes.
        let mut ctx = Ctx::new(Limits::default());
        let mut st = tls_flow(&mut ctx);
        let (s1, b1) = segs[1];
        let overlap = [&b1[b1.len() - 10..], segs[2].1].concat();
        server(
            &mut ctx,
            &mut st,
            &[
                segs[0],
                segs[0],
                segs[1],
                (s1 + b1.len() as u32 - 10, &overlap),
                segs[3],
            ],
        );
        assert_eq!(names(&st), expected);
    }

    #[test]
    fn rejects_certificates_after_a_lost_segment() {
        let segs = zoom_segments();
        let mut ctx = Ctx::new(Limits::default());
        let mut st = tls_flow(&mut ctx);
        // Segment 1 never comes; 2 is held, 3 is a second gap.
        server(&mut ctx, &mut st, &[segs[0], segs[2], segs[3]]);
        assert!(names(&st).is_empty());
        assert_eq!(ctx.warnings.count("tls-certificate-unreadable"), 1);
        // The ServerHello was read all the same.
        let t = st.tls.as_deref().unwrap();
        assert_eq!(t.version, Some(0x0303));
    }

    #[test]
    fn rejects_certificates_larger_than_the_stream_buffer() {
        let segs = zoom_segments();
        let mut ctx = Ctx::new(Limits {
            stream_buffer: 2048,
            ..Limits::default()
        });
        let mut st = tls_flow(&mut ctx);
        server(&mut ctx, &mut st, &segs);
        assert!(names(&st).is_empty());
        assert_eq!(ctx.warnings.count("tls-certificate-unreadable"), 1);
    }

    #[test]
    fn parses_no_certificate_in_tls13() {
        let mut ctx = Ctx::new(Limits::default());
        let mut st = tls_flow(&mut ctx);
        server(&mut ctx, &mut st, &[(1, TLS13_FLIGHT)]);
        let t = st.tls.as_deref().unwrap();
        assert_eq!(t.version, Some(0x0304));
        assert!(!t.awaiting_certificate[1]);
        assert!(t.certificate_names.is_empty());
        assert_eq!(st.tcp.as_deref().unwrap().mode, TcpMode::Done);
    }
}

//! Encrypted transports: DTLS (and DTLS-SRTP keying), TLS over TCP, QUIC and
//! gQUIC. What is recorded: that the handshake happened, the SNI and ALPN,
//! the negotiated version and cipher, and the SRTP protection profile.
//!
//! Handshake messages are reassembled across records, datagrams and TCP
//! segments by the dissectors' bounded `HandshakeAssembler`, owned per flow
//! only until the hellos are read.

use vcscope_dissectors::quic::{self, LongHeader, LongHeaderPackets};
use vcscope_dissectors::tls::{
    self, ClientHello, ContentType, DtlsRecords, HandshakeAssembler, HandshakeType, Handshakes,
    ServerHello,
};
use vcscope_dissectors::Probe;

use crate::dissect::{Ctx, FlowState, Pkt, Proto, TcpMode};
use crate::flow::Direction;
use crate::media::DtlsFacts;

/// Handshake bytes assembled per flow direction at most.
const ASSEMBLER_CAPACITY: usize = 32 * 1024;
/// TLS segments read per direction before giving up on finding the hellos.
const TLS_SEGMENTS: u8 = 16;

/// TLS/QUIC handshake facts of a flow.
#[derive(Debug, Default)]
pub struct TlsFacts {
    pub version: Option<u16>,
    pub cipher: Option<u16>,
    pub alpn: Option<Box<str>>,
    pub ech: bool,
    pub post_quantum: bool,
    pub client_dir: Option<Direction>,
    asm: [Option<Box<HandshakeAssembler>>; 2],
    segments: [u8; 2],
    done: [bool; 2],
    quic_dcid: Option<Box<[u8]>>,
}

fn facts(st: &mut FlowState) -> &mut TlsFacts {
    let m = st.media.get_or_insert_with(Default::default);
    m.tls.get_or_insert_with(Default::default)
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
    let f = facts(st);
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

/// One TCP segment of a TLS connection.
pub fn tls_segment(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, _seq: u32, payload: &[u8]) {
    st.protocols.insert(Proto::Tls);
    let d = pkt.dir.index();
    {
        let f = facts(st);
        if f.client_dir.is_none() {
            f.client_dir = Some(pkt.dir);
        }
        if f.done[d] {
            return;
        }
        f.segments[d] = f.segments[d].saturating_add(1);
        let asm =
            f.asm[d].get_or_insert_with(|| Box::new(HandshakeAssembler::new(ASSEMBLER_CAPACITY)));
        if asm.push_tls_stream(payload).is_err() || f.segments[d] > TLS_SEGMENTS {
            f.done[d] = true;
            f.asm[d] = None;
            ctx.warnings
                .add_on_flow("tls-handshake-unreadable", pkt.flow_id, || {
                    "no complete hello (declared too large, or not within the first segments)"
                        .into()
                });
        }
    }
    let Some(complete) = st
        .media
        .as_deref_mut()
        .and_then(|m| m.tls.as_deref_mut())
        .and_then(|f| f.asm[d].take())
    else {
        finish_tls_if_done(st);
        return;
    };
    match complete.complete_handshake() {
        Some(h) => {
            match h.msg_type() {
                HandshakeType::ClientHello => {
                    if let Ok(ch) = ClientHello::parse(h.body()) {
                        on_client_hello(st, &ch);
                    }
                }
                HandshakeType::ServerHello => {
                    if let Ok(sh) = ServerHello::parse(h.body()) {
                        on_server_hello(st, &sh);
                    }
                }
                _ => {}
            }
            facts(st).done[d] = true;
        }
        None => facts(st).asm[d] = Some(complete),
    }
    finish_tls_if_done(st);
}

fn finish_tls_if_done(st: &mut FlowState) {
    let done = st
        .media
        .as_deref()
        .and_then(|m| m.tls.as_deref())
        .is_some_and(|f| f.done[0] && f.done[1]);
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

//! Fuzzes the TLS/DTLS record walkers, handshake parsers, hello parsers and
//! the handshake reassembler.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vcscope_dissectors::tls::{
    cipher_suite_info, dtls_probe, probe, ClientHello, DtlsRecords, Handshake, HandshakeAssembler,
    Handshakes, ServerHello, TlsRecords,
};

fn hello(body: &[u8]) {
    if let Ok(ch) = ClientHello::parse(body) {
        let _ = (
            ch.legacy_version(),
            ch.is_dtls(),
            ch.random(),
            ch.session_id(),
        );
        let _ = (ch.cookie(), ch.compression_methods(), ch.has_ech());
        let _ = (ch.sni(), ch.server_name_raw());
        for c in ch.cipher_suites() {
            let _ = (c.is_grease(), c.info(), cipher_suite_info(c.0));
        }
        for e in ch.extensions() {
            let _ = (e.typ, e.data.len());
        }
        for p in ch.alpn() {
            let _ = p.len();
        }
        for v in ch.supported_versions() {
            let _ = v;
        }
        for g in ch.supported_groups() {
            let _ = (g.name(), g.is_grease(), g.is_post_quantum());
        }
        for g in ch.key_share_groups() {
            let _ = g.is_post_quantum();
        }
        for p in ch.use_srtp_profiles() {
            let _ = (p.name(), p.is_null_cipher());
        }
    }
    if let Ok(sh) = ServerHello::parse(body) {
        let _ = (
            sh.legacy_version(),
            sh.version(),
            sh.is_hello_retry_request(),
        );
        let _ = (sh.random(), sh.session_id(), sh.cipher_suite().info());
        let _ = (sh.compression_method(), sh.use_srtp_profile(), sh.alpn());
        let _ = sh.key_share_group();
        for e in sh.extensions() {
            let _ = (e.typ, e.data.len());
        }
    }
}

fn handshake(h: Handshake<'_>) {
    let _ = (
        h.msg_type(),
        h.length(),
        h.dtls_fragment(),
        h.is_complete_fragment(),
    );
    hello(h.body());
}

fuzz_target!(|data: &[u8]| {
    let _ = probe(data);
    let _ = dtls_probe(data);

    let mut records = TlsRecords::new(data);
    for r in records.by_ref() {
        let _ = (r.content_type, r.version);
        for h in Handshakes::tls(r.fragment) {
            handshake(h);
        }
    }
    let _ = (records.error(), records.consumed());

    let mut dtls_asm = HandshakeAssembler::new(4096);
    let mut drecords = DtlsRecords::new(data);
    for r in drecords.by_ref() {
        let _ = (r.content_type, r.version, r.epoch, r.sequence_number);
        let _ = r.is_unified_header;
        for h in Handshakes::dtls(r.fragment) {
            let _ = dtls_asm.push_dtls_fragment(&h);
            handshake(h);
        }
    }
    let _ = drecords.error();
    if let Some(h) = dtls_asm.complete_handshake() {
        handshake(h);
    }

    // The same bytes as a TCP stream, in two pieces.
    let mut asm = HandshakeAssembler::new(4096);
    let (a, b) = data.split_at(data.len() / 2);
    let _ = asm.push_tls_stream(a);
    let _ = asm.push_tls_stream(b);
    let _ = (asm.is_failed(), asm.capacity(), asm.complete());
    if let Some(h) = asm.complete_handshake() {
        handshake(h);
    }
    asm.reset();
    let _ = asm.push_record_fragment(b);
    let _ = asm.push_at(u64::from(data.first().copied().unwrap_or(0)), a);
    let _ = asm.complete();

    if let Ok(h) = Handshake::new_checked(data) {
        handshake(h);
    }
    if let Ok(h) = Handshake::new_checked_dtls(data) {
        handshake(h);
    }
    hello(data);
});

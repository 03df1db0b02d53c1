//! Fuzzes the certificate path: the TLS 1.2 certificate list, the X.509
//! name walker, and the handshake assembler following a server's flight past
//! its first message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vcscope_dissectors::tls::{CertificateList, HandshakeAssembler, HandshakeType};
use vcscope_dissectors::x509::Certificate;

fn names(der: &[u8]) {
    if let Ok(c) = Certificate::new_checked(der) {
        for n in c.common_names().chain(c.dns_names()) {
            let text = n.as_str();
            // Names borrow the input: never longer than it.
            assert!(n.bytes.len() <= der.len());
            assert!(text.is_none_or(|t| t.len() == n.bytes.len()));
            let _ = n.string_type;
        }
        let _ = c.has_subject_alt_name();
    }
}

fn certificate_list(body: &[u8]) {
    if let Ok(list) = CertificateList::parse(body) {
        let _ = (list.leaf(), list.is_empty());
        for cert in list.certificates() {
            names(cert);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    names(data);
    certificate_list(data);

    // The bytes as a server's TCP stream in two pieces, every message read.
    let mut asm = HandshakeAssembler::new(16 * 1024);
    asm.set_keep_later_messages(true);
    let (a, b) = data.split_at(data.len() / 2);
    for piece in [a, b] {
        let _ = asm.push_tls_stream(piece);
        let mut messages = 0;
        while let Some(h) = asm.complete_handshake() {
            if h.msg_type() == HandshakeType::Certificate {
                certificate_list(h.body());
            }
            assert!(asm.next_message());
            messages += 1;
            assert!(messages <= data.len(), "next_message did not advance");
        }
    }
    let _ = (asm.saw_change_cipher_spec(), asm.is_failed());
});

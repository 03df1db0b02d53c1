#![no_main]
//! Runs the SDP parser over arbitrary bytes and walks every line, section and attribute.

use libfuzzer_sys::fuzz_target;
use vcscope_dissectors::sdp::{Attribute, Candidate, SdpLine, SessionDescription};

fn walk_attribute(attr: Attribute<'_>) {
    match attr {
        Attribute::Candidate(c) => {
            let _ = (c.address.ip(), c.raddr, c.rport, c.tcptype, c.typ);
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
            let _ = other;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(sdp) = SessionDescription::parse(data) {
        for line in sdp.lines() {
            match line {
                SdpLine::Attribute(a) => walk_attribute(a),
                SdpLine::Media(m) => {
                    let _ = (
                        m.profile().is_secure(),
                        m.profile().is_dtls(),
                        m.fmts().count(),
                    );
                }
                SdpLine::Connection(c) => {
                    let _ = c.addr.ip();
                }
                other => {
                    let _ = other;
                }
            }
        }
        let _ = (
            sdp.origin(),
            sdp.session_connection(),
            sdp.session_lines().count(),
        );
        sdp.session_attributes().for_each(walk_attribute);
        let mut media = sdp.media();
        for section in media.by_ref() {
            let m = section.media();
            let _ = (
                m.kind,
                m.port,
                m.num_ports,
                m.is_disabled(),
                section.offset(),
            );
            let _ = m.fmts().count();
            let _ = (
                section.connection(),
                section.effective_connection(),
                section.direction(),
            );
            let _ = section.lines().count();
            section.attributes().for_each(walk_attribute);
        }
        let _ = media.malformed_at();
    }
    if let Ok(s) = core::str::from_utf8(data) {
        if let Some(c) = Candidate::parse(s) {
            let _ = c.extensions().count();
        }
        walk_attribute(Attribute::parse(s));
    }
});

#![no_main]
//! Runs every SIP entry point over arbitrary bytes and walks every accessor.

use libfuzzer_sys::fuzz_target;
use vcscope_dissectors::sip::{self, NameAddr, Reason, SipMessage, StreamFrame, Via};

fuzz_target!(|data: &[u8]| {
    let _ = sip::probe(data);
    let _ = sip::is_keepalive(data);

    // Stream framing: consume the whole buffer frame by frame.
    let mut rest = data;
    while let Ok(frame) = sip::next_frame(rest) {
        let n = match frame {
            StreamFrame::KeepAlive(n) | StreamFrame::Message(n) => n,
            StreamFrame::NeedMore => break,
        };
        assert!(n > 0 && n <= rest.len());
        if let StreamFrame::Message(_) = frame {
            assert!(SipMessage::parse(&rest[..n]).is_ok());
        }
        rest = &rest[n..];
    }
    let _ = sip::message_len(data);
    if let Ok(Some((body_start, len))) = sip::message_parts(data) {
        assert!(body_start <= data.len() && len <= 1 << 20);
        if let Ok(Some(total)) = sip::message_len(data) {
            assert_eq!(total, body_start + len);
        }
    }

    if let Ok(msg) = SipMessage::parse(data) {
        let lines = msg.body_complete_lines();
        assert!(lines.len() <= msg.body().len() && msg.body().starts_with(lines));
        assert!(msg.body().len() + msg.excess_len() <= data.len());
        if msg.body_shortfall() > 0 {
            assert!(msg.is_truncated());
        }
        let _ = (
            msg.start_line(),
            msg.method(),
            msg.status_code(),
            msg.is_request(),
        );
        let mut headers = msg.headers();
        for h in headers.by_ref() {
            let _ = (h.name.as_str(), h.raw_name, h.is_folded());
            let _ = h.value_parts().count();
            for item in h.items() {
                if let Some(n) = NameAddr::parse(item) {
                    let _ = (n.host(), n.params().count(), n.tag, n.display);
                }
                if let Some(v) = Via::parse(item) {
                    let _ = (v.sent_by_ip(), v.received_ip(), v.params().count());
                    let _ = (v.transport.is_secure(), v.branch, v.rport, v.maddr);
                }
                let _ = Reason::parse(item);
                let _ = sip::ip_literals(item).count();
            }
            let _ = sip::ip_literals(h.value).count();
            if h.name.is_credential() {
                assert!(h.value.is_empty());
            }
        }
        let _ = headers.malformed_at();
        let _ = (msg.call_id(), msg.from(), msg.to(), msg.cseq());
        let mut vias = msg.vias();
        let _ = vias.by_ref().count();
        let _ = vias.is_malformed();
        let mut contacts = msg.contacts();
        let _ = contacts.by_ref().count();
        let _ = contacts.is_malformed();
        let _ = (msg.user_agent(), msg.server(), msg.content_type());
        let _ = (
            msg.content_length(),
            msg.has_authorization(),
            msg.reason_header(),
        );
        let _ = (msg.body(), msg.is_truncated());
    }

    if let Ok(s) = core::str::from_utf8(data) {
        let _ = sip::ip_literals(s).count();
        let _ = sip::uri_host(s);
    }
});

#![no_main]
use libfuzzer_sys::fuzz_target;
use vcscope_dissectors::sip::SipMessage;
use vcscope_dissectors::websocket::WsFrame;

// Walks the input as a WebSocket byte stream, unmasking every frame and
// parsing each payload as SIP (RFC 7118), as the engine does.
fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let mut payload = Vec::new();
    while let Ok(Some(frame)) = WsFrame::parse(rest) {
        let n = frame.len();
        assert!(n >= 2 && n <= rest.len());
        payload.clear();
        frame.payload_into(rest, &mut payload);
        let _ = (frame.fin, frame.opcode, frame.is_compressed());
        if let Ok(msg) = SipMessage::parse(&payload) {
            let _ = (msg.call_id(), msg.cseq(), msg.headers().count());
        }
        rest = &rest[n..];
    }
});

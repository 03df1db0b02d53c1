#![no_main]
use libfuzzer_sys::fuzz_target;
use vcscope_dissectors::stun::StunMessage;
use vcscope_dissectors::turn::{self, ChannelData, FrameKind, TurnFacts};

fuzz_target!(|data: &[u8]| {
    let _ = turn::probe(data);
    if let Ok(cd) = ChannelData::new_checked(data) {
        let _ = (cd.channel_number(), cd.is_rfc8656_range(), cd.data_length());
        let _ = (
            cd.data(),
            cd.len(),
            cd.trailing_len(),
            cd.is_udp_padding_ok(),
        );
    }
    let _ = (turn::frame_len(data), turn::detect_framing(data));

    // Walk the input as a TURN stream, then as an RFC 4571 stream.
    let mut rest = data;
    while let Ok(Some(frame)) = turn::next_frame(rest) {
        assert!(frame.consumed >= frame.bytes.len() && frame.consumed > 0);
        match frame.kind {
            FrameKind::Stun => {
                if let Ok(msg) = StunMessage::new_checked(frame.bytes) {
                    let _ = msg.attributes().count();
                }
            }
            FrameKind::ChannelData => {
                if let Ok(cd) = ChannelData::new_checked(frame.bytes) {
                    let _ = cd.data();
                }
            }
        }
        rest = rest.get(frame.consumed..).unwrap_or_default();
    }
    let mut rest = data;
    while let Ok(Some((packet, consumed))) = turn::rfc4571_frame(rest) {
        let _ = packet.len();
        rest = rest.get(consumed..).unwrap_or_default();
    }

    if let Ok(msg) = StunMessage::new_checked(data) {
        let f = TurnFacts::of(&msg);
        let _ = (
            f.method,
            f.class,
            f.relayed,
            f.mapped,
            f.peer_count,
            f.lifetime,
        );
        let _ = (
            f.channel,
            f.data,
            f.requested_transport,
            f.error_code,
            f.connection_id,
        );
        let _ = (f.peers().count(), f.is_turn());
    }
});

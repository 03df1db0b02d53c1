#![no_main]

use libfuzzer_sys::fuzz_target;
use vcscope_dissectors::srtp::{
    classify_payload, looks_like_srtcp, srtcp_trailer, PayloadVotes, ZrtpPacket, SRTCP_TAG_LENS,
};

/// Every payload format the classifier knows, plus an unknown one.
const CODECS: [(u8, Option<&str>); 12] = [
    (0, None),
    (8, None),
    (13, None),
    (0, Some("PCMU")),
    (101, Some("telephone-event")),
    (111, Some("opus")),
    (96, Some("VP8")),
    (98, Some("VP9")),
    (102, Some("H264")),
    (100, Some("H265")),
    (45, Some("AV1")),
    (120, None),
];

fuzz_target!(|data: &[u8]| {
    let _ = looks_like_srtcp(data);
    for tag_len in SRTCP_TAG_LENS {
        let _ = srtcp_trailer(data, tag_len);
    }
    for (pt, hint) in CODECS {
        let _ = classify_payload(pt, hint, data);
        // A stream of this payload and its suffixes.
        let mut votes = PayloadVotes::new();
        for start in 0..data.len().min(16) {
            let _ = votes.observe(pt, hint, data.get(start..).unwrap_or(&[]));
        }
        let _ = (
            votes.verdict(),
            votes.plain(),
            votes.encrypted(),
            votes.unknown(),
        );
        let _ = votes.distinct_first_bytes();
        // The same payload under new sequence numbers, then a duplicate.
        let mut repeats = PayloadVotes::new();
        for seq in [7u16, 8, 9, 9, 10] {
            let _ = repeats.observe_packet(pt, hint, seq, data);
        }
        let _ = repeats.track_repeat(11, data);
        if data.len() >= PayloadVotes::MIN_REPEAT_LEN {
            assert_eq!(repeats.repeats(), 4);
        }
        let _ = repeats.verdict();
    }
    if let Ok(z) = ZrtpPacket::new_checked(data) {
        let _ = (
            z.sequence_number(),
            z.ssrc(),
            z.message_type().as_str(),
            z.message_len(),
        );
        let _ = (z.hello_version(), z.hello_client_id(), z.crc(), z.crc_ok());
    }
});

#![no_main]

use libfuzzer_sys::fuzz_target;
use vcscope_dissectors::rtp::{
    is_rtcp, probe, static_payload_type, RtpHeuristic, RtpPacket, RtpStreamStats,
};

fuzz_target!(|data: &[u8]| {
    let _ = probe(data);
    let _ = is_rtcp(data);
    if let Some(&b) = data.first() {
        let _ = static_payload_type(b);
    }
    let Ok(p) = RtpPacket::new_checked(data) else {
        return;
    };
    let _ = (
        p.version(),
        p.has_padding(),
        p.has_extension(),
        p.csrc_count(),
    );
    let _ = (
        p.marker(),
        p.payload_type().is_dynamic(),
        p.payload_type().static_codec(),
    );
    let _ = (p.sequence_number(), p.timestamp(), p.ssrc().to_string());
    let _ = (p.header_len(), p.padding_len(), p.as_bytes().len());
    assert_eq!(
        p.header_len() + p.payload().len() + p.padding_len(),
        data.len()
    );
    for csrc in p.csrcs() {
        let _ = csrc.0;
    }
    if let Some(ext) = p.extension() {
        let _ = (ext.profile(), ext.form(), ext.is_cryptex(), ext.data().len());
        let mut elements = ext.elements();
        for el in elements.by_ref() {
            let _ = (el.id, el.data.len());
        }
        let _ = elements.error();
    }
    let mut stats = RtpStreamStats::new();
    stats.update_packet(&p, 0.0, Some(90_000));
    stats.update(
        p.sequence_number().wrapping_add(1),
        p.timestamp(),
        0.02,
        None,
    );
    stats.update_packet(&p, f64::NAN, Some(8_000));
    let _ = (
        stats.packets(),
        stats.bytes(),
        stats.expected(),
        stats.lost(),
    );
    let _ = (stats.reordered(), stats.duplicates(), stats.resyncs());
    let _ = (
        stats.extended_highest_seq(),
        stats.jitter(),
        stats.jitter_ms(),
    );
    let _ = (
        stats.max_jitter_ms(),
        stats.max_delta_ms(),
        stats.clock_rate(),
    );
    let mut heuristic = RtpHeuristic::new();
    for _ in 0..RtpHeuristic::BUDGET {
        let _ = heuristic.observe(&p);
    }
    let _ = heuristic.state();
});

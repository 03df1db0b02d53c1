//! The RTCP round trip (RFC 3550 section 6.4.1) of a real call whose RTCP
//! runs beside its RTP, on the next ports (baresip, no rtcp-mux), reaches
//! the RTP streams' quality, and equals the round trip computed from
//! tshark's decoding of the same frames.

mod common;

use common::*;

/// From `tshark -r fixtures/pcap/baresip__sip-udp-rtcp.pcap -T fields -e
/// frame.number -e frame.time_epoch -e rtcp.ssrc.lsr -e rtcp.ssrc.dlsr -e
/// rtcp.timestamp.ntp.msw -e rtcp.timestamp.ntp.lsw` (tshark 4.0.17): the
/// last sender report of 10.0.0.1 (frame 2035) and the report of 10.0.0.2
/// that echoes it (frame 2535), the last report block of the call.
const SR_TIME: f64 = 1_796_409_104.029_362;
const SR_NTP: (u64, u64) = (4_005_397_904, 126_070_175);
const RR_TIME: f64 = 1_796_409_109.023_88;
const RR_LSR: u64 = 2_240_808_835;
const RR_DLSR: u64 = 327_286;
/// tshark's own `rtcp.roundtrip-delay` for frame 2535 (with
/// `-o rtcp.show_roundtrip_calculation:TRUE`), in whole milliseconds: it
/// truncates the gap and DLSR to milliseconds before subtracting.
const TSHARK_WHOLE_MS: f64 = 2.0;

#[test]
fn round_trip_from_rtcp_beside_the_rtp_matches_tshark() {
    // The LSR is the middle 32 bits of the SR's NTP timestamp.
    let middle = ((SR_NTP.0 & 0xffff) << 16) | (SR_NTP.1 >> 16);
    assert_eq!(middle, RR_LSR, "frame 2535 echoes frame 2035");
    let want = ((RR_TIME - SR_TIME) - RR_DLSR as f64 / 65536.0) * 1000.0;

    let r = analyze_one("baresip__sip-udp-rtcp.pcap");
    let streams: Vec<_> = r.flows.iter().flat_map(|f| &f.rtp_streams).collect();
    assert_eq!(streams.len(), 2, "one G.711 stream each way");
    for s in streams {
        let q = s.quality.as_ref().expect("a rated G.711 stream");
        let rtt = q.rtt_ms.expect("a round trip from the RTCP flow beside");
        assert!(
            (rtt - want).abs() < 0.001,
            "{rtt} ms, tshark's fields give {want} ms"
        );
        assert!(
            (rtt - TSHARK_WHOLE_MS).abs() < 2.0,
            "{rtt} ms against tshark's {TSHARK_WHOLE_MS}"
        );
        assert_eq!(q.delay_from, "rtcp-rtt");
        assert!((q.one_way_delay_ms - (50.0 + rtt / 2.0)).abs() < 0.001);
        let reported = s
            .rtcp_reported
            .as_ref()
            .expect("the RTCP flow's report block on this SSRC");
        assert_eq!(reported.cumulative_lost, 0);
    }
}

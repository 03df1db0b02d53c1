//! Video frame rate on the Zoom peer-to-peer capture. Checked outside
//! vcscope by finding each SSRC's RTP header inside the Zoom datagrams
//! (tshark `-T fields -e frame.time_epoch -e udp.payload`) and timing the
//! marker-bit packets: SSRC 0x01000801 closes 16 frames over 1.264 s
//! (11.865 fps, longest gap 278.046 ms), 0x01000401 21 frames over
//! 1.269 s (15.760 fps, longest gap 192.984 ms).

mod common;

use common::*;

#[test]
fn zoom_p2p_video_streams_have_their_frame_rates() {
    let r = analyze_one("ndpi__zoom_p2p.pcapng");
    let video = |ssrc: u32| {
        r.flows
            .iter()
            .flat_map(|f| f.rtp_streams.iter())
            .find(|s| s.ssrc == ssrc)
            .and_then(|s| s.video.clone())
            .expect("a video stream")
    };
    let a = video(0x0100_0801);
    assert_eq!(a.frames, 16);
    assert!((a.fps.unwrap() - 11.865).abs() < 0.01, "{:?}", a.fps);
    assert!((a.longest_gap_ms - 278.046).abs() < 0.01);
    let b = video(0x0100_0401);
    assert_eq!(b.frames, 21);
    assert!((b.fps.unwrap() - 15.760).abs() < 0.01, "{:?}", b.fps);
    assert!((b.longest_gap_ms - 192.984).abs() < 0.01);
    assert_eq!(a.freezes + b.freezes, 0);
    // No audio stream is taken for video.
    for f in &r.flows {
        for s in &f.rtp_streams {
            if s.quality.is_some() {
                assert!(s.video.is_none());
            }
        }
    }
}

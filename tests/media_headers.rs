//! What SRTP leaves readable: the RTP header extensions of the Google Meet
//! capture (tshark: `-Y rtp.ext -T fields -e rtp.ssrc -e
//! rtp.ext.rfc5285.id -e rtp.ext.rfc5285.len` shows ids 2, 3, 1 (1 byte)
//! and sometimes 4 on the Opus SSRC 0x78691914) and the cleartext RTCP
//! SDES TOOL item of the nDPI SIP capture (`-e rtcp.sdes.type`: 1, 6).

mod common;

use common::*;

#[test]
fn meet_opus_stream_shows_its_audio_level_in_clear() {
    let r = analyze_one("ndpi__stun_google_meet.pcapng");
    let opus: Vec<_> = r
        .flows
        .iter()
        .flat_map(|f| f.rtp_streams.iter().map(move |s| (f, s)))
        .filter(|(_, s)| s.ssrc == 0x7869_1914)
        .collect();
    assert!(!opus.is_empty());
    for (f, s) in opus {
        assert!(s.encrypted);
        let ids: Vec<u8> = s.extensions.iter().map(|e| e.id).collect();
        assert_eq!(ids, [1, 2, 3, 4]);
        let level = &s.extensions[0];
        assert_eq!(
            level.uri.as_deref(),
            Some("urn:ietf:params:rtp-hdrext:ssrc-audio-level")
        );
        assert_eq!(level.uri_from, Some("shape"));
        assert!(s.extensions[1..].iter().all(|e| e.uri.is_none()));
        assert!(!s.header_extensions_encrypted);
        assert!(f
            .findings
            .iter()
            .any(|x| x.starts_with("voice activity exposed") && x.contains("0x78691914")));
    }
    let call = r.calls.iter().find(|c| {
        c.findings
            .iter()
            .any(|x| x.starts_with("voice activity exposed"))
    });
    assert!(call.is_some(), "the call repeats the finding");
}

#[test]
fn sdes_tool_in_clear_rtcp_is_named_not_quoted() {
    let r = analyze_one("ndpi__sip.pcap");
    let json = serde_json::to_string(&r).unwrap();
    assert!(json.contains("SDES TOOL sent in clear (values not reported)"));
}

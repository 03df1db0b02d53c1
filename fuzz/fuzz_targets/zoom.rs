#![no_main]
use libfuzzer_sys::fuzz_target;
use vcscope_dissectors::rtcp::RtcpCompound;
use vcscope_dissectors::rtp::{self, RtpPacket};
use vcscope_dissectors::zoom::{self, InnerKind, MediaType, ZoomPacket};
use vcscope_dissectors::Probe;

fuzz_target!(|data: &[u8]| {
    let probed = zoom::probe(data);
    let Ok(z) = ZoomPacket::new_checked(data) else {
        // The probe never claims what the parser refuses.
        assert_ne!(probed, Probe::Match);
        return;
    };
    let _ = (
        z.encapsulation(),
        z.is_p2p(),
        z.sfu_sequence(),
        z.direction(),
    );
    let _ = (
        z.media_type().as_str(),
        z.media_type_byte(),
        z.media_header(),
    );
    let _ = (z.media_sequence(), z.media_timestamp());
    let _ = (z.frame_number(), z.packets_in_frame());
    let _ = MediaType::from_u8(z.media_type_byte());

    // The headers and the inner packet tile the datagram.
    assert_eq!(z.header_len() + z.inner().len(), data.len());
    assert_eq!(z.as_bytes(), data);
    match z.inner_kind() {
        InnerKind::Rtp => {
            assert_eq!(rtp::probe(z.inner()), Probe::Match);
            assert_eq!(probed, Probe::Match);
            if let Ok(p) = RtpPacket::new_checked(z.inner()) {
                let _ = (p.sequence_number(), p.payload().len());
            }
        }
        InnerKind::Rtcp => {
            assert!(rtp::is_rtcp(z.inner()));
            assert_eq!(probed, Probe::Match);
            let _ = RtcpCompound::new(z.inner()).validity();
        }
        InnerKind::Absent => {
            assert!(z.inner().is_empty());
            assert_eq!(probed, Probe::NoMatch);
        }
    }
});

//! Zoom's media encapsulation on its server ports and peer to peer.

use vcscope_dissectors as wire;
use vcscope_dissectors::zoom::ZoomPacket;

use crate::apps::AppEvidence;
use crate::dissect::ctx::{Ctx, Pkt};
use crate::dissect::media;
use crate::evidence::FlowState;

/// On one of Zoom's Multimedia Router ports (UDP 8801-8810).
fn on_sfu_port(pkt: &Pkt) -> bool {
    wire::zoom::SFU_PORTS.contains(&pkt.src.port) || wire::zoom::SFU_PORTS.contains(&pkt.dst.port)
}

/// Whether [`zoom_media`] may take a datagram of a flow that already
/// carries other protocols: on Zoom's media ports, or once it is Zoom's.
pub(crate) fn may_encapsulate(st: &FlowState, pkt: &Pkt) -> bool {
    on_sfu_port(pkt) || st.app == Some("zoom")
}

/// Zoom's media encapsulation (`vcscope_dissectors::zoom`): on UDP 8801-8810 (Zoom's
/// Multimedia Routers, per Zoom's published port list), and peer to peer on
/// any port when the datagram starts with a media type Zoom uses there and
/// RTP or RTCP sits at that type's offset. A peer-to-peer flow is named Zoom's
/// after [`ZOOM_P2P_PACKETS`] such datagrams. The RTP or RTCP inside goes to
/// the media dissector like bare RTP would.
pub(crate) fn zoom_media(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, payload: &[u8]) -> bool {
    let on_port = on_sfu_port(pkt);
    if !on_port {
        let Some(&first) = payload.first() else {
            return false;
        };
        // gQUIC's public flags can look like a media type: never on 443.
        if !wire::zoom::is_p2p_media_type(first)
            || pkt.src.port == 443
            || pkt.dst.port == 443
            || payload.get(4..8) == Some(b"ZRTP")
            || (st.app != Some("zoom") && !st.protocols.is_empty())
        {
            return false;
        }
    }
    let Ok(z) = ZoomPacket::new_checked(payload) else {
        return false;
    };
    if on_port {
        st.set_app("zoom", AppEvidence::ZoomMediaEncapsulation);
    } else if st.app != Some("zoom") {
        st.zoom_p2p = st.zoom_p2p.saturating_add(1);
        if st.zoom_p2p >= ZOOM_P2P_PACKETS {
            st.set_app("zoom", AppEvidence::ZoomP2pMediaEncapsulation);
        }
    }
    let inner = z.inner();
    if !inner.is_empty() {
        media::rtp_or_rtcp(ctx, st, pkt, inner);
    }
    true
}

/// Zoom-encapsulated datagrams that name a peer-to-peer flow Zoom's.
pub(crate) const ZOOM_P2P_PACKETS: u8 = 3;

//! SIP handler: SIP messages over UDP, TCP and WebSocket, their SDP, and
//! what they tell the call table.

use vcscope_dissectors as wire;
use vcscope_dissectors::sip::{HeaderName, SipMessage};
use vcscope_dissectors::Probe;

use crate::calls::dialog::SipPacket;
use crate::dissect::ctx::{Ctx, Pkt};
use crate::evidence::{FlowState, Proto, TcpMode};
use crate::net::Transport;
use crate::scope::{scope_of, Scope};

/// A UDP datagram that starts like a SIP request or response. Its first
/// byte (an upper-case letter) keeps it apart from RTP, STUN and DTLS; a
/// ChannelData header that spelled a SIP method would declare more bytes
/// than a datagram holds.
#[inline]
pub fn is_sip_datagram(payload: &[u8]) -> bool {
    payload.first().is_some_and(u8::is_ascii_uppercase) && wire::sip::probe(payload) == Probe::Match
}

pub(crate) fn sip_transport(pkt: &Pkt) -> &'static str {
    match pkt.transport {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
    }
}

/// Parses one SIP message. Header bytes that are not UTF-8 (seen in the wild
/// in tags and display names) make the strict parser refuse the message;
/// such a message is parsed again from a copy where each invalid byte is
/// replaced by '?', same length, and counted.
pub(crate) fn sip_message(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, bytes: &[u8]) {
    sip_message_cut(ctx, st, pkt, bytes, None)
}

/// [`sip_message`] for a stream message whose body the stream buffer could
/// not hold: `bytes` are its headers and the first part of its body,
/// `cut` the buffer's size. It counts (method or status, dialog), its body is
/// not read, and the cut is reported.
pub(crate) fn sip_message_cut(
    ctx: &mut Ctx,
    st: &mut FlowState,
    pkt: &Pkt,
    bytes: &[u8],
    cut: Option<usize>,
) {
    match SipMessage::parse(bytes) {
        Ok(msg) => on_sip(ctx, st, pkt, &msg, cut),
        Err(e) => {
            if std::str::from_utf8(bytes).is_err() {
                let clean = replace_invalid_utf8(bytes);
                if let Ok(msg) = SipMessage::parse(&clean) {
                    ctx.warnings.add_on_flow("sip-non-utf8", pkt.flow_id, || {
                        "SIP header bytes that are not UTF-8 were read as '?'".into()
                    });
                    on_sip(ctx, st, pkt, &msg, cut);
                    return;
                }
            }
            ctx.warnings
                .add_on_flow("sip-malformed", pkt.flow_id, || e.to_string());
        }
    }
}

/// A copy of `bytes` with every byte of an invalid UTF-8 sequence set to '?'.
pub(crate) fn replace_invalid_utf8(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut pos = 0;
    while let Some(rest) = out.get(pos..) {
        match std::str::from_utf8(rest) {
            Ok(_) => break,
            Err(e) => {
                let start = pos + e.valid_up_to();
                let len = e.error_len().unwrap_or(out.len() - start).max(1);
                for b in out.iter_mut().skip(start).take(len) {
                    *b = b'?';
                }
                pos = start + len;
            }
        }
    }
    out
}

pub(crate) fn on_sip(
    ctx: &mut Ctx,
    st: &mut FlowState,
    pkt: &Pkt,
    msg: &SipMessage<'_>,
    cut: Option<usize>,
) {
    st.protocols.insert(Proto::Sip);
    let sp = SipPacket {
        flow_id: pkt.flow_id,
        src: pkt.src,
        dst: pkt.dst,
        ts: pkt.ts,
        transport: if st
            .tcp
            .as_deref()
            .is_some_and(|t| t.mode == TcpMode::WebSocket)
        {
            "ws"
        } else {
            sip_transport(pkt)
        },
        body_cut: cut.is_some(),
    };
    let (call, facts) = ctx.calls.on_message(msg, sp);
    if facts.orphan {
        ctx.warnings
            .add_on_flow("sip-dialog-not-seen", pkt.flow_id, || {
                let what = match (msg.method().filter(|_| msg.is_request()), msg.cseq()) {
                    (Some(m), _) => m.as_str().chars().take(32).collect(),
                    (None, Some((_, m))) => format!(
                        "a {} response to {}",
                        msg.status_code().unwrap_or(0),
                        m.as_str().chars().take(32).collect::<String>()
                    ),
                    _ => "a message".to_string(),
                };
                format!("{what} of a dialog whose INVITE was not seen: no call made")
            });
    }
    if st.sig_call.is_none() {
        st.sig_call = call;
    }
    if !facts.addresses.is_empty() || msg.content_type().is_some_and(|c| c.contains("sdp")) {
        st.protocols.insert(Proto::Sdp);
    }
    ctx.warnings.add_n_on_flow(
        "sdp-malformed-line",
        u64::from(facts.malformed_lines),
        pkt.flow_id,
        || "an SDP line does not parse".into(),
    );
    // RFC 3261 section 18.3: a body shorter than Content-Length makes a UDP
    // message to be discarded; extra bytes after it are discarded.
    if let Some(limit) = cut {
        ctx.warnings.add_on_flow("sip-body-cut", pkt.flow_id, || {
            format!(
                "a SIP message declares a {}-byte body that the {limit}-byte stream buffer \
                 cannot hold: its headers and first {} body bytes were read, the rest \
                 skipped and its body not parsed",
                msg.content_length().unwrap_or(0),
                msg.body().len()
            )
        });
    } else if msg.is_truncated() {
        ctx.warnings.add_on_flow("sip-truncated", pkt.flow_id, || {
            match msg.content_length().filter(|_| msg.body_shortfall() > 0) {
                Some(len) => format!(
                    "SIP body has {} of the {len} bytes its Content-Length declares; \
                     read up to its last complete line",
                    msg.body().len()
                ),
                None => "SIP message ends before the blank line after its headers".into(),
            }
        });
    }
    if msg.excess_len() > 0 {
        ctx.warnings
            .add_on_flow("sip-extra-bytes", pkt.flow_id, || {
                format!(
                    "{} bytes after the {}-byte body its Content-Length declares were discarded",
                    msg.excess_len(),
                    msg.body().len()
                )
            });
    }
    if scope_of(pkt.dst.ip) != Scope::Public {
        return;
    }
    for (ip, where_) in facts.addresses {
        ctx.leaks.check(ip, where_, pkt.flow_id, pkt.dst.ip, pkt.ts);
    }
    for h in msg.headers() {
        let where_ = match h.name {
            HeaderName::Via => "sip-via",
            HeaderName::Contact => "sip-contact",
            // Product tokens hold version numbers, not addresses.
            HeaderName::UserAgent | HeaderName::Server => continue,
            _ => "sip-header",
        };
        for ip in wire::sip::ip_literals(h.value) {
            ctx.leaks.check(ip, where_, pkt.flow_id, pkt.dst.ip, pkt.ts);
        }
    }
}

//! TCP stream modes: the first payload of a connection picks what its
//! bytes are parsed as (SIP, SIP over WebSocket, STUN/TURN framing, RFC 4571,
//! TLS), and only those streams are buffered.

use vcscope_dissectors as wire;
use vcscope_dissectors::sip::StreamFrame;
use vcscope_dissectors::stun::StunMessage;
use vcscope_dissectors::turn::{self, ChannelData, FrameKind, StreamFraming};
use vcscope_dissectors::websocket::{Opcode as WsOpcode, WsFrame};
use vcscope_dissectors::Probe;

use crate::apps::AppEvidence;
use crate::dissect::ctx::{Ctx, Pkt};
use crate::dissect::dns::dns_message;
use crate::dissect::media;
use crate::dissect::probe::*;
use crate::dissect::secure;
use crate::dissect::sip::*;
use crate::dissect::stun::*;
use crate::evidence::{FlowState, Proto, TcpMode};
use crate::net::Transport;
use crate::packet::stream::Push;

pub(crate) fn tcp(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, seq: u32, payload: &[u8]) {
    let mode = st.tcp.as_deref().map_or(TcpMode::Undecided, |t| t.mode);
    let mode = match mode {
        TcpMode::Done => {
            if st.tcp.as_deref().is_some_and(|t| t.gave_up) {
                ctx.stream_bytes_dropped += payload.len() as u64;
            }
            return;
        }
        TcpMode::Undecided => {
            if out_of_budget(st) {
                return;
            }
            let m = choose_tcp_mode(st, pkt, payload);
            if m == TcpMode::Undecided {
                return;
            }
            st.tcp.get_or_insert_with(Default::default).mode = m;
            m
        }
        m => m,
    };
    if mode == TcpMode::Done {
        return;
    }
    if mode == TcpMode::Tls {
        secure::tls_segment(ctx, st, pkt, seq, payload);
        return;
    }
    let limit = ctx.limits.stream_buffer;
    let Some(t) = st.tcp.as_deref_mut() else {
        return;
    };
    let buf = &mut t.bufs[pkt.dir.index()];
    let before = buf.dropped;
    let push = buf.push(seq, payload, limit);
    ctx.stream_bytes_dropped += buf.dropped - before;
    if push == Push::Overflow {
        ctx.warnings
            .add_on_flow("tcp-stream-overflow", pkt.flow_id, || {
                format!("a message exceeds the {limit}-byte stream buffer")
            });
        // Framed binary streams cannot be picked up again mid-frame.
        if matches!(mode, TcpMode::Turn | TcpMode::Rfc4571) {
            t.mode = TcpMode::Done;
            t.gave_up = true;
            for b in &mut t.bufs {
                b.release();
            }
        }
        return;
    }
    if push == Push::Resync && matches!(mode, TcpMode::Turn | TcpMode::Rfc4571) {
        // After a gap, continue only if the segment starts a STUN message.
        let starts_stun = matches!(
            turn::detect_framing(t.bufs[pkt.dir.index()].data()),
            Ok(Some(_))
        );
        if !starts_stun {
            t.mode = TcpMode::Done;
            t.gave_up = true;
            for b in &mut t.bufs {
                b.release();
            }
            return;
        }
    } // Parse every complete message; keep the rest for the next segment.
    let mut data = std::mem::take(&mut t.bufs[pkt.dir.index()]);
    let mut consumed = 0usize;
    let mut give_up = false;
    for _ in 0..256 {
        let rest = data.data().get(consumed..).unwrap_or_default();
        if rest.is_empty() {
            break;
        }
        match mode {
            TcpMode::Sip => match wire::sip::next_frame(rest) {
                Ok(StreamFrame::KeepAlive(n)) => consumed += n,
                Ok(StreamFrame::Message(n)) => {
                    if let Some(m) = rest.get(..n) {
                        sip_message(ctx, st, pkt, m);
                    }
                    consumed += n.max(1);
                }
                Ok(StreamFrame::NeedMore) => break,
                Err(e) => {
                    ctx.warnings
                        .add_on_flow("sip-stream-unparsable", pkt.flow_id, || e.to_string());
                    give_up = true;
                    break;
                }
            },
            TcpMode::Turn => match turn::next_frame(rest) {
                Ok(Some(frame)) => {
                    match frame.kind {
                        FrameKind::Stun => {
                            if let Ok(msg) = StunMessage::new_checked(frame.bytes) {
                                on_stun(ctx, st, pkt, &msg);
                            }
                        }
                        FrameKind::ChannelData => {
                            if let Ok(cd) = ChannelData::new_checked(frame.bytes) {
                                on_channel_data(ctx, st, pkt, &cd);
                            }
                        }
                    }
                    consumed += frame.consumed.max(1);
                }
                Ok(None) => break,
                Err(e) => {
                    ctx.warnings
                        .add_on_flow("turn-stream-unparsable", pkt.flow_id, || e.to_string());
                    give_up = true;
                    break;
                }
            },
            TcpMode::Rfc4571 => match turn::rfc4571_frame(rest) {
                Ok(Some((inner, n))) => {
                    if let Ok(msg) = StunMessage::new_checked(inner) {
                        if wire::stun::probe(inner) == Probe::Match {
                            on_stun(ctx, st, pkt, &msg);
                        } else {
                            media::other_class(ctx, st, pkt, inner);
                        }
                    } else {
                        media::other_class(ctx, st, pkt, inner);
                    }
                    consumed += n.max(1);
                }
                Ok(None) => break,
                Err(_) => {
                    give_up = true;
                    break;
                }
            },
            TcpMode::WebSocket => {
                let d = pkt.dir.index();
                let open = st.tcp.as_deref().is_some_and(|t| t.ws_open[d]);
                if !open {
                    // The HTTP upgrade request or 101 response: skip its header block.
                    match rest.windows(4).position(|w| w == b"\r\n\r\n") {
                        Some(end) => {
                            consumed += end + 4;
                            if let Some(t) = st.tcp.as_deref_mut() {
                                t.ws_open[d] = true;
                            }
                            continue;
                        }
                        None => break,
                    }
                }
                match WsFrame::parse(rest) {
                    Ok(Some(frame)) => {
                        let n = frame.len();
                        let data_frame = matches!(
                            frame.opcode,
                            WsOpcode::Text | WsOpcode::Binary | WsOpcode::Continuation
                        );
                        if data_frame && !frame.is_compressed() {
                            let mut msg = st
                                .tcp
                                .as_deref_mut()
                                .map(|t| std::mem::take(&mut t.ws_message[d]))
                                .unwrap_or_default();
                            if msg.len() + n <= limit {
                                frame.payload_into(rest, &mut msg);
                            }
                            if frame.fin {
                                sip_message(ctx, st, pkt, &msg);
                                msg.clear();
                            }
                            if let Some(t) = st.tcp.as_deref_mut() {
                                t.ws_message[d] = msg;
                            }
                        } else if frame.is_compressed() {
                            ctx.warnings
                                .add_on_flow("websocket-compressed", pkt.flow_id, || {
                                    "compressed WebSocket frames are not read".into()
                                });
                        }
                        consumed += n.max(1);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        ctx.warnings
                            .add_on_flow("websocket-unparsable", pkt.flow_id, || e.to_string());
                        give_up = true;
                        break;
                    }
                }
            }
            TcpMode::Dns => match wire::dns::tcp_message(rest) {
                Ok(Some((m, n))) => {
                    dns_message(ctx, st, m);
                    consumed += n.max(1);
                }
                Ok(None) => break,
                Err(_) => {
                    give_up = true;
                    break;
                }
            },
            _ => break,
        }
    }
    data.consume(consumed);
    if give_up {
        data.clear();
    }
    if let Some(t) = st.tcp.as_deref_mut() {
        t.bufs[pkt.dir.index()] = data;
        if give_up {
            t.mode = TcpMode::Done;
            t.gave_up = true;
            for b in &mut t.bufs {
                b.release();
            }
        }
    }
}

/// Picks how to parse a TCP connection from its first payload bytes.
pub(crate) fn choose_tcp_mode(st: &mut FlowState, pkt: &Pkt, payload: &[u8]) -> TcpMode {
    if payload.first().is_some_and(u8::is_ascii_uppercase) {
        if wire::sip::probe(payload) == Probe::Match {
            return TcpMode::Sip;
        }
        if is_http(payload) {
            st.protocols.insert(Proto::Http);
            if is_sip_websocket_upgrade(payload) {
                return TcpMode::WebSocket;
            }
            return TcpMode::Done;
        }
    }
    if is_whatsapp_chat_start(payload) {
        st.set_app("whatsapp", AppEvidence::WhatsappChatPrologue);
        return TcpMode::Done;
    }
    if secure::is_tls_start(payload) {
        return TcpMode::Tls;
    }
    match turn::detect_framing(payload) {
        Ok(Some(StreamFraming::Turn)) => return TcpMode::Turn,
        Ok(Some(StreamFraming::Rfc4571)) => return TcpMode::Rfc4571,
        _ => {}
    }
    if is_dns_port(pkt) && looks_like_dns(payload, Transport::Tcp) {
        st.protocols.insert(Proto::Dns);
        return TcpMode::Dns;
    }
    TcpMode::Undecided
}

/// The first bytes a WhatsApp client sends on its chat connection (TCP 443
/// or 5222): "WA" and the protocol version 1.2 or 1.5 (FunXMPP; libprotoident
/// `lib/tcp/lpi_whatsapp.cc`), or the edge-routing header "ED\0\x01" with
/// "WA" and version 2 at byte 9 (nDPI `src/lib/protocols/whatsapp.c`).
pub(crate) fn is_whatsapp_chat_start(p: &[u8]) -> bool {
    matches!(p, [b'W', b'A', 1, 2 | 5, ..])
        || matches!(p, [b'E', b'D', 0, 1, _, _, _, _, _, b'W', b'A', 2, ..])
}

/// An HTTP upgrade to WebSocket with the "sip" subprotocol (RFC 7118 section 4).
pub(crate) fn is_sip_websocket_upgrade(p: &[u8]) -> bool {
    let head = &p[..p.len().min(4096)];
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    has(b"upgrade: websocket") && has(b"sec-websocket-protocol: sip")
}

/// HTTP/1.x request or response line.
pub(crate) fn is_http(p: &[u8]) -> bool {
    const STARTS: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"PUT ",
        b"HEAD ",
        b"DELETE ",
        b"OPTIONS ",
        b"PATCH ",
        b"CONNECT ",
        b"HTTP/1.",
    ];
    STARTS.iter().any(|s| p.starts_with(s)) && !p.windows(8).take(256).any(|w| w == b"SIP/2.0 ")
}

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
    if mode == TcpMode::Sip {
        // The buffer is filled up to its limit at a time, so that a message
        // whose headers fit is read before its body would overflow it.
        let limit = ctx.limits.stream_buffer;
        let mut off = 0usize;
        while let Some(rest) = payload.get(off..).filter(|r| !r.is_empty()) {
            let Some(t) = st.tcp.as_deref() else {
                return;
            };
            if t.mode != TcpMode::Sip {
                if t.gave_up {
                    ctx.stream_bytes_dropped += rest.len() as u64;
                }
                return;
            }
            let room = t.bufs[pkt.dir.index()].room(limit);
            let chunk = if room == 0 {
                rest
            } else {
                rest.get(..room.min(rest.len())).unwrap_or(rest)
            };
            stream_segment(ctx, st, pkt, mode, seq.wrapping_add(off as u32), chunk);
            off += chunk.len();
        }
        return;
    }
    stream_segment(ctx, st, pkt, mode, seq, payload);
}

/// A FIN in direction `pkt.dir` at sequence number `end`: when it follows
/// the stream's bytes without a gap, a SIP message still buffered will never
/// be completed (its body is shorter than its Content-Length, or its header
/// block never ended). It is counted as `sip-truncated` and dropped; it
/// changes no call (only the flow's owner sees a bare FIN, see
/// `crate::shard`).
pub(crate) fn tcp_closed(ctx: &mut Ctx, st: &mut FlowState, pkt: &Pkt, end: u32) {
    let Some(t) = st.tcp.as_deref_mut() else {
        return;
    };
    if t.mode != TcpMode::Sip {
        return;
    }
    let d = pkt.dir.index();
    let buf = &mut t.bufs[d];
    let held = buf.data();
    let in_order = buf
        .start_seq()
        .is_some_and(|s| s.wrapping_add(held.len() as u32) == end);
    if held.is_empty() || !in_order {
        return;
    }
    let n = held.len();
    let parts = wire::sip::message_parts(held);
    ctx.warnings
        .add_on_flow("sip-truncated", pkt.flow_id, || match parts {
            Ok(Some((body_start, len))) => format!(
                "a SIP message's connection closed after {} of the {len} body bytes its \
             Content-Length declares",
                n.saturating_sub(body_start)
            ),
            _ => format!("a SIP message's connection closed within its headers ({n} bytes)"),
        });
    ctx.stream_bytes_dropped += n as u64;
    buf.clear();
}

/// Buffers one segment (or part of one) of a framed stream and parses every
/// message it completes.
fn stream_segment(
    ctx: &mut Ctx,
    st: &mut FlowState,
    pkt: &Pkt,
    mode: TcpMode,
    seq: u32,
    payload: &[u8],
) {
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
    let mut skip_to = t.sip_skip_to[pkt.dir.index()];
    let mut consumed = 0usize;
    let mut give_up = false;
    for _ in 0..256 {
        let rest = data.data().get(consumed..).unwrap_or_default();
        if rest.is_empty() {
            break;
        }
        match mode {
            TcpMode::Sip => {
                // The rest of a body the buffer could not hold: skipped.
                if let Some(end) = skip_to {
                    let at = data
                        .start_seq()
                        .unwrap_or(end)
                        .wrapping_add(consumed as u32);
                    let left = end.wrapping_sub(at) as i32;
                    if left > 0 {
                        let n = (left.unsigned_abs() as usize).min(rest.len());
                        consumed += n;
                        ctx.stream_bytes_dropped += n as u64;
                        if n == left.unsigned_abs() as usize {
                            skip_to = None;
                        }
                        continue;
                    }
                    skip_to = None;
                }
                match wire::sip::next_frame(rest) {
                    Ok(StreamFrame::KeepAlive(n)) => consumed += n,
                    Ok(StreamFrame::Message(n)) => {
                        if let Some(m) = rest.get(..n) {
                            sip_message(ctx, st, pkt, m);
                        }
                        consumed += n.max(1);
                    }
                    Ok(StreamFrame::NeedMore) => {
                        // Headers complete and a body the buffer cannot hold:
                        // read what is here, skip the rest of the body.
                        if let Ok(Some((body_start, len))) = wire::sip::message_parts(rest) {
                            let total = body_start.saturating_add(len);
                            if total > limit {
                                sip_message_cut(ctx, st, pkt, rest, Some(limit));
                                let at =
                                    data.start_seq().unwrap_or(0).wrapping_add(consumed as u32);
                                skip_to = Some(at.wrapping_add(total as u32));
                                consumed += rest.len();
                                continue;
                            }
                        }
                        break;
                    }
                    Err(e) => {
                        ctx.warnings
                            .add_on_flow("sip-stream-unparsable", pkt.flow_id, || e.to_string());
                        give_up = true;
                        break;
                    }
                }
            }
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
        ctx.stream_bytes_dropped += data.data().len() as u64;
        data.clear();
    }
    if let Some(t) = st.tcp.as_deref_mut() {
        t.bufs[pkt.dir.index()] = data;
        t.sip_skip_to[pkt.dir.index()] = if give_up { None } else { skip_to };
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

/// HTTP/1.x request or response line: one of HTTP's methods (or the status
/// line's version) and `HTTP/1.` on the first line, so that RTSP's
/// `OPTIONS rtsp://... RTSP/1.0` and SIP are not HTTP (a first line the
/// segment cuts is taken on its method).
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
    if !STARTS.iter().any(|s| p.starts_with(s)) {
        return false;
    }
    // A first line cut by the segment (a long URL) is taken on its method.
    let head = &p[..p.len().min(2048)];
    match head.iter().position(|&b| b == b'\n') {
        Some(nl) => head[..nl].windows(7).any(|w| w == b"HTTP/1."),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_start_lines() {
        assert!(is_http(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert!(is_http(b"OPTIONS * HTTP/1.1\r\n\r\n"));
        assert!(is_http(b"HTTP/1.1 200 OK\r\n\r\n"));
        // The request line continues in the next segment.
        assert!(is_http(b"GET /a-very-long-path?q="));
    }

    #[test]
    fn rejects_rtsp_and_sip_as_http() {
        assert!(!is_http(
            b"OPTIONS rtsp://10.2.2.2:8554/ RTSP/1.0\r\nCSeq: 1\r\n\r\n"
        ));
        assert!(!is_http(b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n"));
        // HTTP/1. on a later line only.
        assert!(!is_http(b"GET /\r\nX: HTTP/1.1\r\n\r\n"));
    }
}

//! WebSocket framing (RFC 6455 section 5.2), for SIP over WebSocket
//! (RFC 7118) on cleartext `ws://` connections.
//!
//! Only what a passive observer needs: where each frame starts and ends, its
//! opcode, and its payload unmasked. Not supported: extensions that change
//! the payload (permessage-deflate, RFC 7692); such frames carry the RSV1
//! bit and are reported by [`WsFrame::is_compressed`].

use crate::error::{be, Error, ErrorKind, Result};

/// Largest frame accepted (a SIP message is far smaller).
pub const MAX_FRAME: u64 = 1 << 20;

open_enum! {
    /// Frame opcodes (RFC 6455 section 11.8), open.
    pub enum Opcode: u8 {
        /// Continuation of a fragmented message.
        Continuation = 0,
        /// A text (UTF-8) data frame.
        Text = 1,
        /// A binary data frame.
        Binary = 2,
        /// Connection close (control).
        Close = 8,
        /// Ping (control).
        Ping = 9,
        /// Pong (control).
        Pong = 10,
    } else {
        /// Any other value (3-7 and 11-15 are reserved); [`WsFrame::parse`]
        /// rejects it.
        Unknown
    }
}

/// One frame's header, read from the start of a stream buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WsFrame {
    pub fin: bool,
    pub opcode: Opcode,
    rsv: u8,
    mask: Option<[u8; 4]>,
    header_len: usize,
    payload_len: usize,
}

impl WsFrame {
    //  0                   1                   2                   3
    //  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    // +-+-+-+-+-------+-+-------------+-------------------------------+
    // |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
    // |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
    // |N|V|V|V|       |S|             |   (if payload len==126/127)   |
    // | |1|2|3|       |K|             |                               |
    // +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
    // |     Masking-key, if MASK set to 1     |     Payload Data ...   |
    //                                              RFC 6455 section 5.2
    /// Reads the header of the frame at the start of `buf`: `Ok(None)` when
    /// more bytes are needed for the whole frame.
    pub fn parse(buf: &[u8]) -> Result<Option<WsFrame>> {
        let Ok(b0) = be::u8_at(buf, 0) else {
            return Ok(None);
        };
        let Ok(b1) = be::u8_at(buf, 1) else {
            return Ok(None);
        };
        let opcode = Opcode::from_raw(b0 & 0x0f);
        if matches!(opcode, Opcode::Unknown(_)) {
            return Err(Error::new(ErrorKind::Malformed, 0));
        }
        let (len, mut off) = match b1 & 0x7f {
            126 => match be::u16_at(buf, 2) {
                Ok(l) => (u64::from(l), 4),
                Err(_) => return Ok(None),
            },
            127 => match be::u64_at(buf, 2) {
                Ok(l) => (l, 10),
                Err(_) => return Ok(None),
            },
            l => (u64::from(l), 2),
        };
        if len > MAX_FRAME {
            return Err(Error::new(ErrorKind::LimitExceeded, 1));
        }
        let mask = if b1 & 0x80 != 0 {
            let Ok(k) = be::slice(buf, off, 4) else {
                return Ok(None);
            };
            off += 4;
            Some([k[0], k[1], k[2], k[3]])
        } else {
            None
        };
        let payload_len = len as usize;
        if buf.len() < off.saturating_add(payload_len) {
            return Ok(None);
        }
        Ok(Some(WsFrame {
            fin: b0 & 0x80 != 0,
            opcode,
            rsv: (b0 >> 4) & 0x07,
            mask,
            header_len: off,
            payload_len,
        }))
    }

    /// Header plus payload.
    pub fn len(&self) -> usize {
        self.header_len + self.payload_len
    }

    /// Never true: a frame has at least a 2-byte header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The payload was compressed by an extension (RSV1): not readable as is.
    pub fn is_compressed(&self) -> bool {
        self.rsv & 0x04 != 0
    }

    /// Appends the payload of this frame (at the start of `buf`), unmasked, to `out`.
    pub fn payload_into(&self, buf: &[u8], out: &mut Vec<u8>) {
        let Some(p) = buf.get(self.header_len..self.len()) else {
            return;
        };
        match self.mask {
            None => out.extend_from_slice(p),
            Some(k) => out.extend(p.iter().zip(k.iter().cycle()).map(|(b, m)| b ^ m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client text frame carrying "OPTIONS" (mask 0x01020304).
    fn masked(text: &[u8]) -> Vec<u8> {
        let key = [1u8, 2, 3, 4];
        let mut f = vec![0x81, 0x80 | text.len() as u8];
        f.extend_from_slice(&key);
        f.extend(text.iter().zip(key.iter().cycle()).map(|(b, k)| b ^ k));
        f
    }

    #[test]
    fn parses_masked_text_frame() {
        let f = masked(b"OPTIONS sip:a@b SIP/2.0\r\n\r\n");
        let h = WsFrame::parse(&f).unwrap().unwrap();
        assert!(h.fin);
        assert_eq!(h.opcode, Opcode::Text);
        assert_eq!(h.len(), f.len());
        let mut out = Vec::new();
        h.payload_into(&f, &mut out);
        assert_eq!(out, b"OPTIONS sip:a@b SIP/2.0\r\n\r\n");
    }

    #[test]
    fn parses_extended_length_unmasked() {
        let body = vec![b'x'; 300];
        let mut f = vec![0x82, 126, 0x01, 0x2c];
        f.extend_from_slice(&body);
        let h = WsFrame::parse(&f).unwrap().unwrap();
        assert_eq!((h.opcode, h.len()), (Opcode::Binary, 304));
        assert_eq!(
            WsFrame::parse(&f[..100]).unwrap(),
            None,
            "needs the whole frame"
        );
    }

    #[test]
    fn rejects_unknown_opcode_and_huge_frames() {
        assert!(WsFrame::parse(&[0x83, 0x00]).is_err());
        let f = [0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(
            WsFrame::parse(&f).unwrap_err().kind,
            ErrorKind::LimitExceeded
        );
    }

    #[test]
    fn rejects_every_truncation_without_panic() {
        let f = masked(b"REGISTER sip:x SIP/2.0\r\n\r\n");
        for n in 0..=f.len() {
            let _ = WsFrame::parse(&f[..n]);
            for i in 0..n {
                let mut g = f[..n].to_vec();
                g[i] ^= 0xff;
                if let Ok(Some(h)) = WsFrame::parse(&g) {
                    let mut out = Vec::new();
                    h.payload_into(&g, &mut out);
                }
            }
        }
    }
}

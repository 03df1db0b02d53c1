//! Sans-IO, zero-copy parsers for the protocols of a videoconferencing call.
//!
//! Every parser here borrows the bytes it is given (`&[u8]`), validates lengths
//! once in a `new_checked`/`parse` constructor and returns [`Error`] on bad
//! input; after that no accessor can fail or panic. Nothing here performs I/O,
//! reads a clock or allocates per packet: the engine (`vcscope`) owns buffers,
//! time and state, and copies out only the facts it needs.
//!
//! | module | protocol | RFCs |
//! |---|---|---|
//! | [`demux`] | first-byte split of a shared 5-tuple | RFC 7983, RFC 9443 |
//! | [`dns`] | DNS messages: questions, A/AAAA/CNAME answers, SVCB/HTTPS address hints | RFC 1035, RFC 3596, RFC 9460 |
//! | [`sip`] | SIP messages | RFC 3261, RFC 7118 |
//! | [`sdp`] | session descriptions, ICE candidates, SDES, DTLS fingerprints | RFC 8866, RFC 4568, RFC 8839, RFC 8122 |
//! | [`rtp`] | RTP headers, header extensions, stream statistics | RFC 3550, RFC 8285, RFC 3551 |
//! | [`rtcp`] | RTCP compound packets | RFC 3550, RFC 4585, RFC 3611, RFC 5761 |
//! | [`srtp`] | SRTP/SRTCP/ZRTP evidence | RFC 3711, RFC 6189 |
//! | [`stun`] | STUN and classic STUN | RFC 8489, RFC 5389, RFC 3489, RFC 8445 |
//! | [`turn`] | TURN ChannelData and stream framing | RFC 8656, RFC 6062 |
//! | [`tls`] | TLS and DTLS records, ClientHello, ServerHello, the TLS 1.2 certificate list | RFC 8446, RFC 5246, RFC 6347, RFC 9147, RFC 5764 |
//! | [`x509`] | the subject commonName and subjectAltName dNSNames of a certificate | RFC 5280, X.690 (DER) |
//! | [`quic`] | QUIC Initial packets (SNI) and gQUIC | RFC 9000, RFC 9001, RFC 9369 |
//! | [`websocket`] | WebSocket framing (SIP over WebSocket) | RFC 6455, RFC 7118 |
//! | [`zoom`] | Zoom's SFU and media encapsulation of RTP/RTCP over UDP | none (reverse-engineered: Michel et al., IMC 2022; nDPI) |
#![forbid(unsafe_code)]

#[macro_use]
mod macros;

mod error;

pub mod demux;
pub mod dns;
pub mod quic;
pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod sip;
pub mod srtp;
pub mod stun;
pub mod tls;
pub mod turn;
pub mod websocket;
pub mod x509;
pub mod zoom;

pub use demux::PacketClass;
pub use error::{Error, ErrorKind, Probe, Result};

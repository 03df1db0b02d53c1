//! First-byte demultiplexing of UDP payloads that share one 5-tuple.
//!
//! RFC 7983 section 7 (updating RFC 5764 section 5.1.2), with the QUIC range
//! of RFC 9443 section 3 and TURN ChannelData (RFC 8656 section 12):
//!
//! ```text
//!              +----------------+
//!              |        [0..3] -+--> STUN
//!              |      [16..19] -+--> ZRTP
//!  packet -->  |      [20..63] -+--> DTLS
//!              |      [64..79] -+--> TURN ChannelData
//!              |     [80..127] -+--> QUIC (RFC 9443; 64..79 too once no TURN channel is bound)
//!              |    [128..191] -+--> RTP/RTCP
//!              +----------------+
//! ```
//!
//! The first byte only narrows the choice: each class is confirmed by its own
//! parser. Everything else is `Other`.

/// The class a payload's first byte puts it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketClass {
    Stun,
    Zrtp,
    Dtls,
    /// TURN ChannelData: channel numbers 0x4000-0x4FFF (RFC 8656 section 12).
    ChannelData,
    /// QUIC with the fixed bit set (RFC 9000 section 17, RFC 9443).
    Quic,
    /// RTP or RTCP (version 2).
    Rtp,
    /// Empty payload or a first byte outside every range above.
    Other,
}

impl PacketClass {
    /// Classifies a payload by its first byte.
    #[inline]
    pub fn of(payload: &[u8]) -> PacketClass {
        match payload.first() {
            Some(0..=3) => PacketClass::Stun,
            Some(16..=19) => PacketClass::Zrtp,
            Some(20..=63) => PacketClass::Dtls,
            Some(64..=79) => PacketClass::ChannelData,
            Some(80..=127) => PacketClass::Quic,
            Some(128..=191) => PacketClass::Rtp,
            _ => PacketClass::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_rfc7983_range() {
        assert_eq!(PacketClass::of(&[0x00, 0x01]), PacketClass::Stun);
        assert_eq!(PacketClass::of(&[0x03]), PacketClass::Stun);
        assert_eq!(PacketClass::of(&[0x10]), PacketClass::Zrtp);
        assert_eq!(PacketClass::of(&[0x16, 0xfe, 0xfd]), PacketClass::Dtls);
        assert_eq!(PacketClass::of(&[0x40, 0x00]), PacketClass::ChannelData);
        assert_eq!(PacketClass::of(&[0x4f]), PacketClass::ChannelData);
        assert_eq!(PacketClass::of(&[0x50]), PacketClass::Quic);
        assert_eq!(PacketClass::of(&[0xc3]), PacketClass::Other);
        assert_eq!(PacketClass::of(&[0x80, 0x00]), PacketClass::Rtp);
        assert_eq!(PacketClass::of(&[0xbf]), PacketClass::Rtp);
    }

    #[test]
    fn rejects_empty_and_out_of_range() {
        assert_eq!(PacketClass::of(&[]), PacketClass::Other);
        assert_eq!(PacketClass::of(&[0x05]), PacketClass::Other);
        assert_eq!(PacketClass::of(&[0xff]), PacketClass::Other);
    }
}

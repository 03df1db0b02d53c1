//! Link layer → IP → UDP/TCP: turns a captured frame into a [`Packet`] that
//! borrows the frame's bytes.
//!
//! Link types: Ethernet (with 802.1Q/802.1ad/QinQ tags), Linux cooked v1 and
//! v2, raw IPv4/IPv6, BSD null/loopback, PPP. Tunnels a mirror port often
//! delivers are opened: GRE (plain, transparent Ethernet bridging, ERSPAN
//! type I/II/III), IP in IP (IPv4 protocol 4 and IPv6 protocol 41, inside
//! either version), VXLAN (UDP 4789), GTP-U (UDP 2152) and PPPoE, up to
//! [`MAX_TUNNEL_DEPTH`] levels.
//! IP headers and extension headers are sliced by `etherparse`; fragments are
//! handed back as [`Decoded::Fragment`] for the engine's bounded reassembler.

use std::net::IpAddr;

use etherparse::{IpNumber, LaxIpSlice, TcpSlice, UdpSlice};

use crate::net::{Endpoint, Transport};

pub mod reasm;
pub mod stream;

/// The libpcap link-layer header types vcscope reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    Ethernet,
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    Null,
    /// OpenBSD loopback: 4-byte address family in network byte order.
    Loop,
    /// Raw IP, version taken from the first nibble.
    Raw,
    LinuxSll,
    LinuxSll2,
    /// PPP (RFC 1661), with or without the HDLC address/control bytes.
    Ppp,
}

impl LinkType {
    /// Maps a libpcap DLT / LINKTYPE number; `None` when unsupported.
    pub fn from_dlt(dlt: i32) -> Option<LinkType> {
        Some(match dlt {
            1 => LinkType::Ethernet,
            0 => LinkType::Null,
            108 => LinkType::Loop,
            12 | 14 | 101 | 228 | 229 => LinkType::Raw,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            9 | 50 => LinkType::Ppp,
            _ => return None,
        })
    }
}

/// Nested tunnels opened at most.
pub const MAX_TUNNEL_DEPTH: u8 = 3;

/// TCP header facts the engine needs for stream handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpInfo {
    pub seq: u32,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
}

/// One transport-layer packet, borrowing the frame.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub transport: Transport,
    pub tcp: TcpInfo,
    pub payload: &'a [u8],
    /// Tunnel levels opened to reach this packet.
    pub tunnel_depth: u8,
}

impl Packet<'_> {
    /// The sending socket and the receiving one.
    #[inline]
    pub fn endpoints(&self) -> (Endpoint, Endpoint) {
        (
            Endpoint {
                ip: self.src,
                port: self.sport,
            },
            Endpoint {
                ip: self.dst,
                port: self.dport,
            },
        )
    }
}

/// An IP fragment, to be reassembled before the transport header is read.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub protocol: u8,
    /// Offset of this fragment's data in the datagram, in bytes.
    pub offset: u32,
    pub more: bool,
    pub data: &'a [u8],
    pub tunnel_depth: u8,
}

/// What a frame holds.
#[derive(Debug, Clone, Copy)]
pub enum Decoded<'a> {
    Packet(Packet<'a>),
    Fragment(Fragment<'a>),
}

/// Why a frame gave no transport packet (counted, never fatal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Skip {
    /// ARP, LLDP, STP and other non-IP frames.
    NonIp,
    /// IP with a transport other than UDP/TCP (ICMP, ESP, OSPF...).
    OtherTransport,
    /// Link header shorter than its fixed size.
    TruncatedLink,
    /// The IP header could not be read.
    BadIp,
    /// The UDP or TCP header could not be read.
    BadTransport,
    /// A tunnel header that could not be opened, or nesting too deep.
    BadTunnel,
}

impl Skip {
    /// Warning kind used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::NonIp => "non-ip-frame",
            Skip::OtherTransport => "other-ip-transport",
            Skip::TruncatedLink => "truncated-link-header",
            Skip::BadIp => "malformed-ip",
            Skip::BadTransport => "malformed-transport-header",
            Skip::BadTunnel => "malformed-tunnel",
        }
    }

    /// True for skips that mean a broken packet rather than traffic we do not analyse.
    pub fn is_malformed(self) -> bool {
        !matches!(self, Skip::NonIp | Skip::OtherTransport)
    }
}

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86DD;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88A8;
const ETH_QINQ_OLD: u16 = 0x9100;
const ETH_TEB: u16 = 0x6558;
const ETH_ERSPAN2: u16 = 0x88BE;
const ETH_ERSPAN3: u16 = 0x22EB;
const ETH_PPPOE_SESSION: u16 = 0x8864;
const VXLAN_PORT: u16 = 4789;
const GTPU_PORT: u16 = 2152;
const MAX_VLAN_TAGS: usize = 4;

/// Decodes one captured frame.
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Decoded<'_>, Skip> {
    match link {
        LinkType::Ethernet => ethernet(frame, 0),
        LinkType::Raw => ip(frame, 0),
        LinkType::Null | LinkType::Loop => {
            let (hdr, rest) = frame.split_first_chunk::<4>().ok_or(Skip::TruncatedLink)?;
            // Families: AF_INET 2; AF_INET6 is 10, 24, 28 or 30 depending on the OS.
            // The byte order is the capturing host's for DLT_NULL, so accept both.
            let fam = if link == LinkType::Loop {
                u32::from_be_bytes(*hdr)
            } else {
                let le = u32::from_le_bytes(*hdr);
                if le < 256 {
                    le
                } else {
                    u32::from_be_bytes(*hdr)
                }
            };
            match fam {
                2 | 10 | 24 | 28 | 30 => ip(rest, 0),
                _ => Err(Skip::NonIp),
            }
        }
        LinkType::Ppp => ppp(frame, 0),
        LinkType::LinuxSll => {
            // RFC-less: packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2)
            let proto = be16(frame, 14).ok_or(Skip::TruncatedLink)?;
            ether_payload(proto, frame.get(16..).unwrap_or_default(), 0)
        }
        LinkType::LinuxSll2 => {
            // protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) addr len(1) addr(8)
            let proto = be16(frame, 0).ok_or(Skip::TruncatedLink)?;
            let rest = frame.get(20..).ok_or(Skip::TruncatedLink)?;
            ether_payload(proto, rest, 0)
        }
    }
}

#[inline]
fn be16(buf: &[u8], off: usize) -> Option<u16> {
    let b = buf.get(off..off + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

#[inline]
fn ethernet(frame: &[u8], depth: u8) -> Result<Decoded<'_>, Skip> {
    let mut ethertype = be16(frame, 12).ok_or(Skip::TruncatedLink)?;
    let mut off = 14;
    let mut tags = 0;
    while matches!(ethertype, ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD) {
        tags += 1;
        if tags > MAX_VLAN_TAGS {
            return Err(Skip::TruncatedLink);
        }
        ethertype = be16(frame, off + 2).ok_or(Skip::TruncatedLink)?;
        off += 4;
    }
    ether_payload(ethertype, frame.get(off..).unwrap_or_default(), depth)
}

#[inline]
fn ether_payload(ethertype: u16, rest: &[u8], depth: u8) -> Result<Decoded<'_>, Skip> {
    match ethertype {
        ETH_IPV4 | ETH_IPV6 => ip(rest, depth),
        ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD => {
            let inner = be16(rest, 2).ok_or(Skip::TruncatedLink)?;
            ether_payload(inner, rest.get(4..).unwrap_or_default(), depth)
        }
        // PPPoE session (RFC 2516): ver/type(1) code(1) session(2) length(2), then PPP.
        ETH_PPPOE_SESSION => ppp(rest.get(6..).ok_or(Skip::TruncatedLink)?, depth),
        _ => Err(Skip::NonIp),
    }
}

/// PPP (RFC 1661 section 2): optional 0xFF 0x03 (RFC 1662), then a 2-byte protocol.
fn ppp(frame: &[u8], depth: u8) -> Result<Decoded<'_>, Skip> {
    let body = match frame {
        [0xff, 0x03, rest @ ..] => rest,
        _ => frame,
    };
    match be16(body, 0).ok_or(Skip::TruncatedLink)? {
        0x0021 | 0x0057 => ip(body.get(2..).unwrap_or_default(), depth),
        _ => Err(Skip::NonIp),
    }
}

/// GTPv1-U G-PDU (3GPP TS 29.281 section 5): the user's IP packet inside a
/// mobile core tunnel.
///
/// ```text
/// flags(1: version 1, PT 1, E, S, PN) type(1 = 0xFF) length(2) TEID(4)
/// [seq(2) N-PDU(1) next-ext(1)] if E, S or PN; extension headers while next-ext != 0
/// ```
fn gtpu(body: &[u8]) -> Option<&[u8]> {
    let flags = *body.first()?;
    if flags >> 5 != 1 || flags & 0x10 == 0 || *body.get(1)? != 0xff {
        return None;
    }
    let mut off = 8usize;
    if flags & 0x07 != 0 {
        let mut next = *body.get(11)?;
        off = 12;
        let mut hops = 0;
        while next != 0 {
            hops += 1;
            let len = usize::from(*body.get(off)?) * 4;
            if len == 0 || hops > 8 {
                return None;
            }
            next = *body.get(off + len - 1)?;
            off += len;
        }
    }
    let inner = body.get(off..)?;
    matches!(inner.first()? >> 4, 4 | 6).then_some(inner)
}

/// An IPv4 header whose total length lies within the buffer, with no
/// authentication header (the common case, read without the general
/// slicer): (source, destination, protocol, fragmented, payload), as
/// `LaxIpSlice` reads them; `None` for anything else, left to it.
///
/// ```text
/// |Ver|IHL| TOS | Total Length | Identification |Flags|Fragment Offset|
/// | TTL | Protocol | Checksum | Source (4) | Destination (4) | options
/// ```
#[inline]
fn plain_ipv4(buf: &[u8]) -> Option<(IpAddr, IpAddr, u8, bool, &[u8])> {
    const AUTH: u8 = 51;
    let h = buf.first_chunk::<20>()?;
    let header_len = usize::from(h[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if h[0] >> 4 != 4 || header_len < 20 || total < header_len || h[9] == AUTH {
        return None;
    }
    let payload = buf.get(header_len..total)?;
    // More fragments (flag bit 0x2000) or a fragment offset.
    let fragmented = u16::from_be_bytes([h[6], h[7]]) & 0x3fff != 0;
    let src = IpAddr::from([h[12], h[13], h[14], h[15]]);
    let dst = IpAddr::from([h[16], h[17], h[18], h[19]]);
    Some((src, dst, h[9], fragmented, payload))
}

#[inline]
fn ip(buf: &[u8], depth: u8) -> Result<Decoded<'_>, Skip> {
    if let Some((src, dst, protocol, fragmented, payload)) = plain_ipv4(buf) {
        if !fragmented {
            return transport(src, dst, protocol, payload, depth);
        }
    }
    let (slice, _ext_err) = LaxIpSlice::from_slice(buf).map_err(|_| Skip::BadIp)?;
    let src = slice.source_addr();
    let dst = slice.destination_addr();
    let payload = slice.payload();
    let proto = payload.ip_number;
    if payload.fragmented {
        let (id, offset, more) = match &slice {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                (
                    u32::from(h.identification()),
                    u32::from(h.fragments_offset().value()) * 8,
                    h.more_fragments(),
                )
            }
            LaxIpSlice::Ipv6(_) => ipv6_fragment_header(buf).ok_or(Skip::BadIp)?,
        };
        return Ok(Decoded::Fragment(Fragment {
            src,
            dst,
            id,
            protocol: proto.0,
            offset,
            more,
            data: payload.payload,
            tunnel_depth: depth,
        }));
    }
    transport(src, dst, proto.0, payload.payload, depth)
}

/// Finds the IPv6 Fragment header (RFC 8200 section 4.5) by walking the
/// extension-header chain: (identification, offset in bytes, more fragments).
///
/// ```text
/// | Next Header | Reserved | Fragment Offset (13) |Res|M| Identification (32) |
/// ```
fn ipv6_fragment_header(buf: &[u8]) -> Option<(u32, u32, bool)> {
    let mut next = *buf.get(6)?;
    let mut off = 40usize;
    for _ in 0..8 {
        match next {
            44 => {
                let h = buf.get(off..off + 8)?;
                let word = u16::from_be_bytes([h[2], h[3]]);
                let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
                return Some((id, u32::from(word >> 3) * 8, word & 1 == 1));
            }
            // Hop-by-hop, routing, destination options: (len + 1) * 8 bytes.
            0 | 43 | 60 => {
                next = *buf.get(off)?;
                off += (usize::from(*buf.get(off + 1)?) + 1) * 8;
            }
            // Authentication header: (len + 2) * 4 bytes.
            51 => {
                next = *buf.get(off)?;
                off += (usize::from(*buf.get(off + 1)?) + 2) * 4;
            }
            _ => return None,
        }
    }
    None
}

/// Reads the UDP/TCP header of an unfragmented (or reassembled) IP payload,
/// opening GRE, IP-in-IP, VXLAN and GTP-U tunnels on the way.
pub fn transport(
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    payload: &[u8],
    depth: u8,
) -> Result<Decoded<'_>, Skip> {
    match IpNumber(protocol) {
        IpNumber::UDP => {
            let udp = UdpSlice::from_slice_lax(payload).map_err(|_| Skip::BadTransport)?;
            let (sport, dport) = (udp.source_port(), udp.destination_port());
            let body = udp.payload();
            if depth < MAX_TUNNEL_DEPTH {
                if dport == VXLAN_PORT {
                    if let Some(inner) = vxlan(body) {
                        return ethernet(inner, depth + 1);
                    }
                } else if dport == GTPU_PORT || sport == GTPU_PORT {
                    if let Some(inner) = gtpu(body) {
                        return ip(inner, depth + 1);
                    }
                }
            }
            Ok(Decoded::Packet(Packet {
                src,
                dst,
                sport,
                dport,
                transport: Transport::Udp,
                tcp: TcpInfo::default(),
                payload: body,
                tunnel_depth: depth,
            }))
        }
        IpNumber::TCP => {
            let tcp = TcpSlice::from_slice(payload).map_err(|_| Skip::BadTransport)?;
            Ok(Decoded::Packet(Packet {
                src,
                dst,
                sport: tcp.source_port(),
                dport: tcp.destination_port(),
                transport: Transport::Tcp,
                tcp: TcpInfo {
                    seq: tcp.sequence_number(),
                    syn: tcp.syn(),
                    fin: tcp.fin(),
                    rst: tcp.rst(),
                },
                payload: tcp.payload(),
                tunnel_depth: depth,
            }))
        }
        IpNumber::GRE => {
            if depth >= MAX_TUNNEL_DEPTH {
                return Err(Skip::BadTunnel);
            }
            gre(payload, depth + 1)
        }
        // IP in IP: IPv4 (RFC 2003) and IPv6 (RFC 2473, RFC 4213) inside
        // either version. The inner header's version must be the one the
        // protocol number names.
        IpNumber::IPV4 | IpNumber::IPV6 => {
            if depth >= MAX_TUNNEL_DEPTH {
                return Err(Skip::BadTunnel);
            }
            let want = if protocol == IpNumber::IPV4.0 { 4 } else { 6 };
            match payload.first() {
                Some(b) if b >> 4 == want => ip(payload, depth + 1),
                _ => Err(Skip::BadTunnel),
            }
        }
        _ => Err(Skip::OtherTransport),
    }
}

/// VXLAN (RFC 7348 section 5): flags(1, I bit 0x08) reserved(3) VNI(3) reserved(1).
fn vxlan(body: &[u8]) -> Option<&[u8]> {
    let flags = *body.first()?;
    if flags & 0x08 == 0 || body.len() < 8 + 14 {
        return None;
    }
    body.get(8..)
}

/// GRE (RFC 2784, RFC 2890) and the ERSPAN headers it may carry.
///
/// ```text
/// |C| |K|S| Reserved0 | Ver |  Protocol Type  |
/// [ Checksum | Reserved1 ]  if C
/// [ Key ]                   if K
/// [ Sequence Number ]       if S
/// ```
/// ERSPAN type II (protocol 0x88BE with S set) adds 8 bytes, type III
/// (0x22EB) 12 bytes plus an 8-byte platform sub-header when its O bit is set;
/// type I (0x88BE without S) adds nothing. Ethernet follows.
fn gre(buf: &[u8], depth: u8) -> Result<Decoded<'_>, Skip> {
    let flags = be16(buf, 0).ok_or(Skip::BadTunnel)?;
    let proto = be16(buf, 2).ok_or(Skip::BadTunnel)?;
    if flags & 0x0007 != 0 {
        // Version 1 is PPTP's enhanced GRE: not a mirror encapsulation.
        return Err(Skip::OtherTransport);
    }
    let has_csum = flags & 0x8000 != 0;
    let has_key = flags & 0x2000 != 0;
    let has_seq = flags & 0x1000 != 0;
    let mut off = 4 + 4 * (has_csum as usize + has_key as usize + has_seq as usize);
    let inner = buf.get(off..).ok_or(Skip::BadTunnel)?;
    match proto {
        ETH_IPV4 | ETH_IPV6 => ip(inner, depth),
        ETH_TEB => ethernet(inner, depth),
        ETH_ERSPAN2 => {
            if has_seq {
                off += 8;
            }
            ethernet(buf.get(off..).ok_or(Skip::BadTunnel)?, depth)
        }
        ETH_ERSPAN3 => {
            let word2 = be16(buf, off + 10).ok_or(Skip::BadTunnel)?;
            off += 12;
            if word2 & 0x0001 != 0 {
                off += 8;
            }
            ethernet(buf.get(off..).ok_or(Skip::BadTunnel)?, depth)
        }
        _ => Err(Skip::OtherTransport),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast IPv4 path reads what etherparse's slicer reads, on headers
    /// of every length, total length, flag and protocol, cut anywhere.
    #[test]
    fn reads_ipv4_as_the_general_slicer_does() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut taken = 0;
        for _ in 0..200_000 {
            let r = next();
            let len = (r % 80) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Some(b) = buf.first_mut() {
                // Mostly version 4 and short headers, total lengths near the buffer's.
                *b = if r & 0x300 == 0 {
                    *b
                } else {
                    0x40 | (5 + (r >> 10) as u8 % 3)
                };
            }
            if buf.len() >= 4 && r & 0x3000 != 0 {
                let total = (len as i64 + (r >> 20) as i64 % 9 - 6).max(0) as u16;
                buf[2..4].copy_from_slice(&total.to_be_bytes());
            }
            if buf.len() >= 10 && r & 0xc000 == 0 {
                buf[9] = 51;
            }
            let Some(fast) = plain_ipv4(&buf) else {
                continue;
            };
            taken += 1;
            let (slice, _) = LaxIpSlice::from_slice(&buf).expect("the slicer reads it too");
            let p = slice.payload();
            let general = (
                slice.source_addr(),
                slice.destination_addr(),
                p.ip_number.0,
                p.fragmented,
                p.payload,
            );
            assert_eq!(fast, general, "{buf:02x?}");
        }
        assert!(taken > 10_000, "only {taken} buffers took the fast path");
    }

    fn udp_ipv4_frame() -> Vec<u8> {
        let builder = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([192, 0, 2, 1], [198, 51, 100, 7], 64)
            .udp(5060, 5062);
        let mut out = Vec::new();
        builder.write(&mut out, b"OPTIONS").unwrap();
        out
    }

    #[test]
    fn parses_ethernet_udp() {
        let f = udp_ipv4_frame();
        let Ok(Decoded::Packet(p)) = decode(LinkType::Ethernet, &f) else {
            panic!("not a packet")
        };
        assert_eq!(p.src.to_string(), "192.0.2.1");
        assert_eq!(p.dst.to_string(), "198.51.100.7");
        assert_eq!((p.sport, p.dport), (5060, 5062));
        assert_eq!(p.payload, b"OPTIONS");
    }

    #[test]
    fn parses_qinq_tags() {
        let plain = udp_ipv4_frame();
        let mut f = plain[..12].to_vec();
        f.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8]);
        f.extend_from_slice(&plain[12..]);
        let Ok(Decoded::Packet(p)) = decode(LinkType::Ethernet, &f) else {
            panic!("not a packet")
        };
        assert_eq!(p.payload, b"OPTIONS");
    }

    #[test]
    fn parses_gre_erspan2() {
        let inner = udp_ipv4_frame();
        let mut gre = vec![0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1];
        gre.extend_from_slice(&[0x10, 0x01, 0, 0, 0, 0, 0, 0]);
        gre.extend_from_slice(&inner);
        let builder = etherparse::PacketBuilder::ethernet2([3; 6], [4; 6]).ipv4(
            [10, 0, 0, 1],
            [10, 0, 0, 2],
            64,
        );
        let mut outer = Vec::new();
        builder.write(&mut outer, IpNumber::GRE, &gre).unwrap();
        let Ok(Decoded::Packet(p)) = decode(LinkType::Ethernet, &outer) else {
            panic!("not a packet")
        };
        assert_eq!(p.tunnel_depth, 1);
        assert_eq!(p.src.to_string(), "192.0.2.1");
    }

    /// An IP packet of `version` carrying `proto` and `body`, as raw bytes.
    fn ip_packet(version: u8, proto: u8, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if version == 4 {
            let builder = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64);
            builder.write(&mut out, IpNumber(proto), body).unwrap();
        } else {
            let builder = etherparse::PacketBuilder::ipv6([0x20; 16], [0x21; 16], 64);
            builder.write(&mut out, IpNumber(proto), body).unwrap();
        }
        out
    }

    /// The SIP-over-UDP packet the tunnels carry, as raw IP of `version`.
    fn inner_udp(version: u8) -> Vec<u8> {
        let mut out = Vec::new();
        if version == 4 {
            etherparse::PacketBuilder::ipv4([192, 0, 2, 1], [198, 51, 100, 7], 64)
                .udp(5060, 5062)
                .write(&mut out, b"OPTIONS")
                .unwrap();
        } else {
            let mut a = [0u8; 16];
            a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
            let mut b = a;
            a[15] = 1;
            b[15] = 7;
            etherparse::PacketBuilder::ipv6(a, b, 64)
                .udp(5060, 5062)
                .write(&mut out, b"OPTIONS")
                .unwrap();
        }
        out
    }

    #[test]
    fn parses_ip_in_ip_every_combination() {
        for (outer, inner, proto) in [(4, 4, 4), (4, 6, 41), (6, 4, 4), (6, 6, 41)] {
            let frame = ip_packet(outer, proto, &inner_udp(inner));
            let Ok(Decoded::Packet(p)) = decode(LinkType::Raw, &frame) else {
                panic!("{outer}-in-{inner}: not a packet")
            };
            assert_eq!(p.tunnel_depth, 1, "{outer}/{inner}");
            assert_eq!(p.src.is_ipv4(), inner == 4);
            assert_eq!((p.sport, p.dport), (5060, 5062));
            assert_eq!(p.payload, b"OPTIONS");
        }
    }

    #[test]
    fn parses_ip_in_ip_up_to_max_depth_only() {
        let mut pkt = inner_udp(4);
        for _ in 0..MAX_TUNNEL_DEPTH {
            pkt = ip_packet(4, 4, &pkt);
        }
        let Ok(Decoded::Packet(p)) = decode(LinkType::Raw, &pkt) else {
            panic!("not a packet")
        };
        assert_eq!(p.tunnel_depth, MAX_TUNNEL_DEPTH);
        let deeper = ip_packet(4, 4, &pkt);
        assert_eq!(decode(LinkType::Raw, &deeper).err(), Some(Skip::BadTunnel));
    }

    #[test]
    fn rejects_ip_in_ip_with_wrong_inner_version() {
        // Protocol 4 must carry IPv4, protocol 41 IPv6.
        let frame = ip_packet(4, 4, &inner_udp(6));
        assert_eq!(decode(LinkType::Raw, &frame).err(), Some(Skip::BadTunnel));
        let frame = ip_packet(6, 41, &inner_udp(4));
        assert_eq!(decode(LinkType::Raw, &frame).err(), Some(Skip::BadTunnel));
        let frame = ip_packet(4, 41, &[]);
        assert_eq!(decode(LinkType::Raw, &frame).err(), Some(Skip::BadTunnel));
        let inner = inner_udp(4);
        let frame = ip_packet(4, 4, &inner[..10]);
        assert_eq!(decode(LinkType::Raw, &frame).err(), Some(Skip::BadIp));
    }

    #[test]
    fn rejects_every_truncation_without_panic() {
        let f = udp_ipv4_frame();
        for link in [
            LinkType::Ethernet,
            LinkType::Raw,
            LinkType::Null,
            LinkType::Loop,
            LinkType::LinuxSll,
            LinkType::LinuxSll2,
            LinkType::Ppp,
        ] {
            for n in 0..f.len() {
                let _ = decode(link, &f[..n]);
                let mut g = f.clone();
                g[n] ^= 0xff;
                let _ = decode(link, &g);
            }
        }
    }
}

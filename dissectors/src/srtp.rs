//! Evidence of media encryption: SRTCP trailers, RTP payload structure, ZRTP.
//!
//! A passive observer without keys cannot decrypt SRTP, and SRTP keeps the RTP
//! header in the clear (RFC 3711 section 3.1), so "is this media encrypted" is
//! answered from the payload and the RTCP framing:
//!
//! - RFC 3711 sections 3.4 and 4.1: the SRTCP trailer (E flag and 31-bit index,
//!   then the authentication tag) after an encrypted compound; RFC 7714
//!   section 9 for the AEAD layout where the index is the last word
//!   ([`srtcp_trailer`], [`looks_like_srtcp`]).
//! - Known-plaintext structure of payload formats ([`classify_payload`]):
//!   G.711 sample statistics (ITU-T G.711, RFC 3551 section 4.5.14), comfort
//!   noise (RFC 3389 section 3), telephone events (RFC 4733 section 2.3), the
//!   Opus TOC byte and frame packing (RFC 6716 section 3), the VP8 payload
//!   descriptor and key frame start code (RFC 7741 section 4, RFC 6386
//!   section 9.1), the VP9 payload descriptor (RFC 9628 section 4.2), H.264
//!   NAL unit headers, STAP-A and FU-A (RFC 6184 section 5), H.265 headers,
//!   AP and FU (RFC 7798 section 4), the AV1 aggregation header and OBU
//!   header (AV1 RTP payload specification section 4).
//! - Per-stream aggregation with a minimum number of packets and agreement
//!   ([`PayloadVotes`]): one packet is weak evidence.
//! - Repeated payloads: a payload identical to the previous packet's under
//!   another sequence number cannot be SRTP, whose keystream depends on the
//!   packet index (RFC 3711 sections 3.3.1 and 4.1); a hash of the last
//!   payload is kept per stream ([`PayloadVotes::observe_packet`]).
//! - RFC 6189 section 5: ZRTP packet framing and message types
//!   ([`ZrtpPacket`]), with the CRC-32C check.
//!
//! Not supported: SRTP MKI (it shifts the SRTCP trailer and is not tried),
//! payload formats other than those above (their packets give `Unknown`),
//! redundancy (RFC 2198) and FEC payloads, and ZRTP message bodies beyond the
//! Hello version and client identifier. Nothing here handles key material:
//! ZRTP hashes, DH values and MACs are never exposed.

use crate::error::{be, Error, ErrorKind, Result};
use crate::rtcp::{CompoundValidity, RtcpCompound, RtcpPacket};

/// Byte offsets of the formats in this module.
mod field {
    /// The SRTCP E flag and index word (RFC 3711 section 3.4).
    pub const SRTCP_INDEX_LEN: usize = 4;
    /// The clear part of an SRTCP packet: RTCP header and sender SSRC.
    pub const SRTCP_CLEAR_LEN: usize = 8;

    /// ZRTP packet header (RFC 6189 section 5).
    pub const ZRTP_FLAGS: usize = 0;
    pub const ZRTP_SEQUENCE: usize = 2;
    pub const ZRTP_COOKIE: usize = 4;
    pub const ZRTP_SSRC: usize = 8;
    pub const ZRTP_MESSAGE: usize = 12;
    pub const ZRTP_CRC_LEN: usize = 4;

    /// ZRTP message, relative to its start (RFC 6189 section 5.1).
    pub const MSG_PREAMBLE: usize = 0;
    pub const MSG_LENGTH: usize = 2;
    pub const MSG_TYPE: usize = 4;
    pub const MSG_TYPE_LEN: usize = 8;
    pub const MSG_BODY: usize = 12;

    /// Hello message fields, relative to the message start (section 5.2).
    pub const HELLO_VERSION: usize = 12;
    pub const HELLO_CLIENT_ID: usize = 16;
    pub const HELLO_CLIENT_ID_LEN: usize = 16;
}

// ---------------------------------------------------------------------------
// SRTCP
// ---------------------------------------------------------------------------

/// The E flag and SRTCP index found in a trailer (RFC 3711 section 3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SrtcpIndex {
    /// The E flag: the compound after the first 8 bytes is encrypted.
    pub encrypted: bool,
    /// The 31-bit SRTCP index (starts at 0 and counts packets).
    pub index: u32,
}

/// Authentication tag lengths tried, in bytes: 10 for `*_80` suites, 4 for
/// `*_32`, and 0 for AEAD suites (RFC 7714) whose 16-byte tag sits inside the
/// encrypted part, before the index.
pub const SRTCP_TAG_LENS: [usize; 3] = [10, 4, 0];

/// Tag length of the AEAD suites of RFC 7714 (inside the encrypted part).
const AEAD_TAG_LEN: usize = 16;

/// An SRTCP index below this is plausible: it starts at 0 and RTCP is sent
/// about once per second, so 2^24 is months of one stream.
const PLAUSIBLE_INDEX: u32 = 1 << 24;

// RFC 3711 section 3.4:
//
// |V=2|P|    RC   |   PT=SR or RR   |             length          |
// |                         SSRC of sender                        |
// :          (encrypted) rest of the compound RTCP packet         :
// |E|                         SRTCP index                         |
// :                      SRTCP MKI (OPTIONAL)                     :
// :                     authentication tag                        :
/// Reads the E flag and index from the word before a `tag_len`-byte tag.
///
/// Needs at least the 8 clear bytes before the trailer. Says nothing about
/// whether the buffer is SRTCP; see [`looks_like_srtcp`].
pub fn srtcp_trailer(buf: &[u8], tag_len: usize) -> Option<SrtcpIndex> {
    let trailer_len = field::SRTCP_INDEX_LEN.checked_add(tag_len)?;
    let at = buf.len().checked_sub(trailer_len)?;
    if at < field::SRTCP_CLEAR_LEN {
        return None;
    }
    let word = be::u32_at(buf, at).ok()?;
    Some(SrtcpIndex {
        encrypted: word & 0x8000_0000 != 0,
        index: word & 0x7fff_ffff,
    })
}

/// What the framing of an RTCP-range datagram says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtcpEvidence {
    /// Not version 2 with an RTCP packet type: not RTCP at all.
    NotRtcp,
    /// A plain compound (or RFC 5506 reduced-size sequence): the length fields
    /// tile the datagram exactly.
    Plain,
    /// The first packet is followed by bytes that do not tile, ending in a
    /// plausible SRTCP trailer.
    Srtcp {
        /// The tag length that put a plausible index in place (see
        /// [`SRTCP_TAG_LENS`]).
        tag_len: u8,
        /// The trailer found there.
        trailer: SrtcpIndex,
    },
    /// RTCP-like, but neither plain nor a recognisable SRTCP trailer.
    Unknown,
}

/// Tells a plain RTCP compound from SRTCP by its framing.
///
/// A plain compound's length fields tile the datagram. In SRTCP the first 8
/// bytes stay clear and the first header's length still describes the first
/// packet, but what follows is ciphertext plus the trailer, so the lengths do
/// not tile; the trailer's index is then expected to be small.
pub fn looks_like_srtcp(buf: &[u8]) -> SrtcpEvidence {
    if buf.len() < field::SRTCP_CLEAR_LEN || !crate::rtp::is_rtcp(buf) {
        return SrtcpEvidence::NotRtcp;
    }
    if RtcpCompound::new(buf).validity() != CompoundValidity::Invalid {
        return SrtcpEvidence::Plain;
    }
    let Ok(first) = RtcpPacket::new_checked(buf) else {
        return SrtcpEvidence::Unknown;
    };
    let rest = buf.len() - first.len();
    let mut best: Option<(usize, SrtcpIndex)> = None;
    for tag_len in SRTCP_TAG_LENS {
        let min_rest = field::SRTCP_INDEX_LEN + if tag_len == 0 { AEAD_TAG_LEN } else { tag_len };
        if rest < min_rest {
            continue;
        }
        let Some(t) = srtcp_trailer(buf, tag_len) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((_, b)) => t.index < b.index,
        };
        if t.index < PLAUSIBLE_INDEX && better {
            best = Some((tag_len, t));
        }
    }
    match best {
        Some((tag_len, trailer)) => SrtcpEvidence::Srtcp {
            tag_len: tag_len as u8,
            trailer,
        },
        None => SrtcpEvidence::Unknown,
    }
}

// ---------------------------------------------------------------------------
// RTP payload evidence
// ---------------------------------------------------------------------------

/// Why a payload looks like plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlainReason {
    /// G.711 samples follow a smooth, speech- or silence-like waveform.
    G711Samples,
    /// A comfort noise level byte and reflection coefficients (RFC 3389).
    ComfortNoise,
    /// A DTMF telephone event block (RFC 4733).
    TelephoneEvent,
    /// An Opus TOC byte whose frame packing matches the length (RFC 6716).
    OpusToc,
    /// A VP8 payload descriptor with reserved bits clear (RFC 7741).
    Vp8Descriptor,
    /// A VP8 key frame with its start code 0x9d 0x01 0x2a.
    Vp8Keyframe,
    /// A VP9 payload descriptor that parses and fits (RFC 9628).
    Vp9Descriptor,
    /// An H.264 NAL unit, STAP-A or FU-A header (RFC 6184).
    H264Nal,
    /// An H.265 NAL unit, AP or FU header (RFC 7798).
    H265Nal,
    /// An AV1 aggregation header and OBU header.
    Av1Obu,
    /// The same payload as the stream's previous packet under another
    /// sequence number: SRTP cannot repeat one (RFC 3711 section 4.1, the
    /// keystream depends on the packet index), so the payload is not
    /// encrypted per packet (silence, comfort noise, AMR SID frames).
    RepeatedPayload,
}

/// Why a payload looks like ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherReason {
    /// Byte values spread like random data, with no codec structure.
    HighEntropy,
    /// The header the payload format requires is invalid.
    InvalidCodecHeader,
}

/// The evidence one payload gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadEvidence {
    /// Known plaintext structure was found.
    Plain(PlainReason),
    /// The payload contradicts its format or looks random.
    Encrypted(CipherReason),
    /// No conclusion (unknown codec, too short, ambiguous).
    Unknown,
}

/// The payload formats recognised, from an SDP encoding name or a static PT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Pcmu,
    Pcma,
    ComfortNoise,
    TelephoneEvent,
    Opus,
    Vp8,
    Vp9,
    H264,
    H265,
    Av1,
    Unknown,
}

impl Codec {
    fn from_hint(pt: u8, hint: Option<&str>) -> Codec {
        let eq = |name: &str| hint.is_some_and(|h| h.eq_ignore_ascii_case(name));
        if hint.is_some() {
            return if eq("PCMU") {
                Codec::Pcmu
            } else if eq("PCMA") {
                Codec::Pcma
            } else if eq("CN") {
                Codec::ComfortNoise
            } else if eq("telephone-event") {
                Codec::TelephoneEvent
            } else if eq("opus") {
                Codec::Opus
            } else if eq("VP8") {
                Codec::Vp8
            } else if eq("VP9") {
                Codec::Vp9
            } else if eq("H264") {
                Codec::H264
            } else if eq("H265") || eq("HEVC") {
                Codec::H265
            } else if eq("AV1") || eq("AV1X") {
                Codec::Av1
            } else {
                Codec::Unknown
            };
        }
        match pt {
            0 => Codec::Pcmu,
            8 => Codec::Pcma,
            13 => Codec::ComfortNoise,
            _ => Codec::Unknown,
        }
    }

    /// Formats whose first payload byte is a header, stable in plaintext.
    fn has_header_byte(self) -> bool {
        matches!(
            self,
            Codec::Opus | Codec::Vp8 | Codec::Vp9 | Codec::H264 | Codec::H265 | Codec::Av1
        )
    }
}

/// Classifies one RTP payload as plaintext, ciphertext or unknown.
///
/// `pt` is the RTP payload type, `codec_hint` the encoding name from the SDP
/// `a=rtpmap` for that type if known (case-insensitive: "PCMU", "PCMA", "CN",
/// "telephone-event", "opus", "VP8", "VP9", "H264", "H265", "AV1"); without a
/// hint only the static types 0, 8 and 13 are recognised. Payloads of other
/// formats give `Unknown`: compressed media looks random in plaintext too.
pub fn classify_payload(pt: u8, codec_hint: Option<&str>, payload: &[u8]) -> PayloadEvidence {
    match Codec::from_hint(pt, codec_hint) {
        Codec::Pcmu => g711(payload, false),
        Codec::Pcma => g711(payload, true),
        Codec::ComfortNoise => comfort_noise(payload),
        Codec::TelephoneEvent => telephone_event(payload),
        Codec::Opus => header_evidence(opus_toc_ok(payload), PlainReason::OpusToc),
        Codec::Vp8 => vp8(payload),
        Codec::Vp9 => header_evidence(vp9_ok(payload), PlainReason::Vp9Descriptor),
        Codec::H264 => header_evidence(h264_ok(payload), PlainReason::H264Nal),
        Codec::H265 => header_evidence(h265_ok(payload), PlainReason::H265Nal),
        Codec::Av1 => header_evidence(av1_ok(payload), PlainReason::Av1Obu),
        Codec::Unknown => PayloadEvidence::Unknown,
    }
}

fn header_evidence(ok: Option<bool>, reason: PlainReason) -> PayloadEvidence {
    match ok {
        Some(true) => PayloadEvidence::Plain(reason),
        Some(false) => PayloadEvidence::Encrypted(CipherReason::InvalidCodecHeader),
        None => PayloadEvidence::Unknown,
    }
}

/// A 256-bit set of byte values, on the stack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    /// Inserts `b`.
    fn insert(&mut self, b: u8) {
        // `b >> 6` is at most 3: the index is always in bounds.
        self.0[usize::from(b >> 6)] |= 1u64 << (b & 63);
    }

    fn len(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }
}

/// Expected number of distinct values among `n` uniform random bytes.
fn expected_distinct(n: usize) -> f64 {
    let n = i32::try_from(n).unwrap_or(i32::MAX);
    256.0 * (1.0 - (255.0f64 / 256.0).powi(n))
}

/// Whether the distinct byte count is close to what random data gives.
fn looks_random(payload: &[u8]) -> bool {
    let mut set = ByteSet::default();
    for &b in payload {
        set.insert(b);
    }
    f64::from(set.len()) >= 0.85 * expected_distinct(payload.len())
}

/// Linear value of a G.711 A-law byte (ITU-T G.711 table 1, 13-bit range).
const fn alaw_to_linear(a: u8) -> i32 {
    let a = a ^ 0x55;
    let exponent = (a >> 4) & 0x07;
    let mantissa = (a & 0x0f) as i32;
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    if a & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    }
}

/// Linear value of a G.711 µ-law byte (ITU-T G.711 table 2, 14-bit range).
const fn ulaw_to_linear(u: u8) -> i32 {
    let u = !u;
    let exponent = (u >> 4) & 0x07;
    let mantissa = (u & 0x0f) as i32;
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if u & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// Every byte's linear value, A-law or µ-law, worked out at compile time:
/// a table read per sample instead of the expansion.
const fn g711_table(alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut b = 0usize;
    while b < 256 {
        let x = if alaw {
            alaw_to_linear(b as u8)
        } else {
            ulaw_to_linear(b as u8)
        };
        // Both ranges (±32,256 and ±32,124) fit in 16 bits.
        t[b] = x as i16;
        b += 1;
    }
    t
}

static ALAW_LINEAR: [i16; 256] = g711_table(true);
static ULAW_LINEAR: [i16; 256] = g711_table(false);

/// Minimum samples for a G.711 judgement (2.5 ms).
const G711_MIN_SAMPLES: usize = 20;

/// G.711: speech and silence are low-pass signals, so consecutive samples
/// are close. The ratio of sample-to-sample change to amplitude is small for
/// real audio (0.02 to 0.34 on the test captures) and 0.77 to 0.91 for
/// AES-CTR ciphertext of the same payloads.
/// Samples of a G.711 payload examined at most.
const G711_WINDOW: usize = 80;

fn g711(payload: &[u8], alaw: bool) -> PayloadEvidence {
    if payload.len() < G711_MIN_SAMPLES {
        return PayloadEvidence::Unknown;
    }
    let table = if alaw { &ALAW_LINEAR } else { &ULAW_LINEAR };
    // 10 ms of samples are as telling as a whole packet, at half the cost.
    let window = payload.get(..G711_WINDOW).unwrap_or(payload);
    // At most 79 pairs of at most 2 * 32,256 each: the sums fit in 32 bits.
    let mut change: i32 = 0;
    let mut level: i32 = 0;
    let (first, rest) = window.split_first().unwrap_or((&0, &[]));
    let mut p = i32::from(table[usize::from(*first)]);
    for &b in rest {
        let x = i32::from(table[usize::from(b)]);
        change += (x - p).abs();
        level += x.abs() + p.abs();
        p = x;
    }
    // Level is at least 2 * 8 per pair for A-law and 0 only for µ-law silence.
    let ratio = if level == 0 {
        0.0
    } else {
        f64::from(change) / f64::from(level)
    };
    if ratio < 0.45 {
        PayloadEvidence::Plain(PlainReason::G711Samples)
    } else if ratio > 0.6 && looks_random(payload) {
        PayloadEvidence::Encrypted(CipherReason::HighEntropy)
    } else {
        PayloadEvidence::Unknown
    }
}

// RFC 3389 section 3:
//
// |0|   level     |      N1       |      N2       |  ...  |      NK       |
//
// One noise level byte (0..=127 -dBov), then optional reflection
// coefficients; implementations rarely send more than a dozen.
fn comfort_noise(payload: &[u8]) -> PayloadEvidence {
    match payload {
        [] => PayloadEvidence::Unknown,
        [level, rest @ ..] if *level <= 127 && rest.len() <= 16 => {
            PayloadEvidence::Plain(PlainReason::ComfortNoise)
        }
        _ => PayloadEvidence::Encrypted(CipherReason::InvalidCodecHeader),
    }
}

// RFC 4733 section 2.3:
//
// |     event     |E|R| volume    |          duration             |
//
// DTMF events are 0..=16; R is reserved (zero).
fn telephone_event(payload: &[u8]) -> PayloadEvidence {
    if payload.is_empty() || payload.len() % 4 != 0 {
        return PayloadEvidence::Encrypted(CipherReason::InvalidCodecHeader);
    }
    let mut blocks = payload.chunks_exact(4);
    let all_ok =
        blocks.all(|b| matches!(b, [event, flags, ..] if *event <= 16 && flags & 0x40 == 0));
    if all_ok {
        PayloadEvidence::Plain(PlainReason::TelephoneEvent)
    } else {
        PayloadEvidence::Unknown
    }
}

/// Largest Opus frame (RFC 6716 section 3.4, R2).
const OPUS_MAX_FRAME: usize = 1275;

/// Frame duration of an Opus configuration, in 2.5 ms units (RFC 6716 table 2):
/// SILK 10/20/40/60 ms, Hybrid 10/20 ms, CELT 2.5/5/10/20 ms.
fn opus_frame_units(config: u8) -> usize {
    let size = config & 3;
    match config {
        0..=11 => [4, 8, 16, 24],
        12..=15 => [4, 8, 4, 8],
        _ => [1, 2, 4, 8],
    }
    .get(usize::from(size))
    .copied()
    .unwrap_or(8)
}

/// Reads an Opus frame length (RFC 6716 section 3.2.1): one byte below 252,
/// else two bytes. Returns the length and the bytes used.
fn opus_frame_len(buf: &[u8]) -> Option<(usize, usize)> {
    match buf {
        [b0, ..] if *b0 < 252 => Some((usize::from(*b0), 1)),
        [b0, b1, ..] => Some((usize::from(*b1) * 4 + usize::from(*b0), 2)),
        _ => None,
    }
}

// RFC 6716 section 3.1, the TOC byte:
//
//  0 1 2 3 4 5 6 7
// | config  |s| c |
//
// c = 0: one frame; 1: two equal frames; 2: two frames, the first length
// coded; 3: a frame count byte |v|p|   M   | follows, then optional padding
// lengths and, when v is set, M - 1 frame lengths (section 3.2.5).
/// `Some(true)` when the packing fits the length, `Some(false)` when not.
fn opus_toc_ok(p: &[u8]) -> Option<bool> {
    let (&toc, rest) = p.split_first()?;
    let config = toc >> 3;
    Some(match toc & 3 {
        0 => rest.len() <= OPUS_MAX_FRAME,
        1 => rest.len() % 2 == 0 && rest.len() / 2 <= OPUS_MAX_FRAME,
        2 => match opus_frame_len(rest) {
            Some((n1, used)) => rest
                .len()
                .checked_sub(used + n1)
                .is_some_and(|n2| n1 <= OPUS_MAX_FRAME && n2 <= OPUS_MAX_FRAME),
            None => false,
        },
        _ => opus_code3_ok(config, rest),
    })
}

fn opus_code3_ok(config: u8, rest: &[u8]) -> bool {
    let Some((&count, mut body)) = rest.split_first() else {
        return false;
    };
    let frames = usize::from(count & 0x3f);
    if frames == 0 || frames * opus_frame_units(config) > 48 {
        return false;
    }
    let mut padding = 0usize;
    if count & 0x40 != 0 {
        loop {
            let Some((&b, tail)) = body.split_first() else {
                return false;
            };
            body = tail;
            if b == 255 {
                padding += 254;
            } else {
                padding += usize::from(b);
                break;
            }
        }
    }
    let mut sized = 0usize;
    if count & 0x80 != 0 {
        for _ in 1..frames {
            let Some((len, used)) = opus_frame_len(body) else {
                return false;
            };
            if len > OPUS_MAX_FRAME {
                return false;
            }
            sized += len;
            body = body.get(used..).unwrap_or(&[]);
        }
    }
    let Some(data) = body.len().checked_sub(padding) else {
        return false;
    };
    if count & 0x80 != 0 {
        data.checked_sub(sized)
            .is_some_and(|last| last <= OPUS_MAX_FRAME)
    } else {
        data % frames == 0 && data / frames <= OPUS_MAX_FRAME
    }
}

// RFC 7741 section 4.2, VP8 payload descriptor:
//
// |X|R|N|S|R| PID |  (R: reserved, zero)
// |I|L|T|K| RSV   |  (if X; RSV zero)
// |M| PictureID   |  (if I; M: a second PictureID byte follows)
// |   TL0PICIDX   |  (if L)
// |TID|Y| KEYIDX  |  (if T or K)
//
// Section 4.3 and RFC 6386 section 9.1, at the start of partition 0
// (S = 1, PID = 0): |Size0|H| VER |P| with P = 0 for a key frame, VER <= 3,
// and a key frame continues with the start code 0x9d 0x01 0x2a at byte 3.
fn vp8(p: &[u8]) -> PayloadEvidence {
    let Some(&b0) = p.first() else {
        return PayloadEvidence::Unknown;
    };
    if b0 & 0x48 != 0 {
        return PayloadEvidence::Encrypted(CipherReason::InvalidCodecHeader);
    }
    let mut pos = 1usize;
    if b0 & 0x80 != 0 {
        let Some(&x) = p.get(pos) else {
            return PayloadEvidence::Encrypted(CipherReason::InvalidCodecHeader);
        };
        if x & 0x0f != 0 {
            return PayloadEvidence::Encrypted(CipherReason::InvalidCodecHeader);
        }
        pos += 1;
        if x & 0x80 != 0 {
            let long = p.get(pos).is_some_and(|b| b & 0x80 != 0);
            pos += if long { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            pos += 1;
        }
        if x & 0x30 != 0 {
            pos += 1;
        }
    }
    let Some(frame) = p.get(pos..).filter(|f| !f.is_empty()) else {
        return PayloadEvidence::Encrypted(CipherReason::InvalidCodecHeader);
    };
    let start_of_frame = b0 & 0x10 != 0 && b0 & 0x07 == 0;
    if !start_of_frame {
        return PayloadEvidence::Plain(PlainReason::Vp8Descriptor);
    }
    let tag = frame.first().copied().unwrap_or(0);
    if (tag >> 1) & 0x07 > 3 {
        return PayloadEvidence::Encrypted(CipherReason::InvalidCodecHeader);
    }
    let is_key = tag & 0x01 == 0;
    if !is_key {
        return PayloadEvidence::Plain(PlainReason::Vp8Descriptor);
    }
    match frame.get(3..6) {
        Some([0x9d, 0x01, 0x2a]) => PayloadEvidence::Plain(PlainReason::Vp8Keyframe),
        Some(_) => PayloadEvidence::Encrypted(CipherReason::InvalidCodecHeader),
        None => PayloadEvidence::Unknown,
    }
}

// RFC 9628 section 4.2, VP9 payload descriptor:
//
// |I|P|L|F|B|E|V|Z|
// |M| PICTURE ID  |  (if I; M: 15-bit picture ID)
// |  TID  |U| SID |D|  (if L)
// |   TL0PICIDX   |  (if L and not F)
// |  P_DIFF     |N|  (if F and P, up to 3 times while N)
// |  SS ...       |  (if V: N_S|Y|G|-|-|-, sizes, picture groups)
fn vp9_ok(p: &[u8]) -> Option<bool> {
    let &b0 = p.first()?;
    let flag = |bit: u8| b0 & bit != 0;
    let mut pos = 1usize;
    if flag(0x80) {
        let long = p.get(pos).is_some_and(|b| b & 0x80 != 0);
        pos += if long { 2 } else { 1 };
    }
    if flag(0x20) {
        pos += if flag(0x10) { 1 } else { 2 };
    }
    if flag(0x10) && flag(0x40) {
        let mut diffs = 0;
        loop {
            let Some(&d) = p.get(pos) else {
                return Some(false);
            };
            pos += 1;
            diffs += 1;
            if d & 0x01 == 0 {
                break;
            }
            if diffs == 3 {
                return Some(false);
            }
        }
    }
    if flag(0x02) {
        // Scalability structure (section 4.2.1).
        let Some(&ss) = p.get(pos) else {
            return Some(false);
        };
        pos += 1;
        let spatial = usize::from(ss >> 5) + 1;
        if ss & 0x10 != 0 {
            pos += 4 * spatial;
        }
        if ss & 0x08 != 0 {
            let Some(&groups) = p.get(pos) else {
                return Some(false);
            };
            pos += 1;
            for _ in 0..groups {
                let Some(&g) = p.get(pos) else {
                    return Some(false);
                };
                pos += 1 + usize::from((g >> 2) & 0x03);
            }
        }
    }
    Some(pos < p.len())
}

/// H.264 NAL unit header check (RFC 6184 section 1.3, H.264 section 7.4.1):
/// forbidden bit clear, types 1..=23, and nal_ref_idc consistent with types
/// that require it zero (SEI, AUD, end of sequence/stream, filler) or
/// non-zero (IDR slice, SPS, PPS).
fn h264_nal_ok(header: u8) -> bool {
    let nri = (header >> 5) & 0x03;
    header & 0x80 == 0
        && match header & 0x1f {
            5 | 7 | 8 => nri != 0,
            6 | 9..=12 => nri == 0,
            1..=23 => true,
            _ => false,
        }
}

// RFC 6184 section 5.3, NAL unit header |F|NRI|  Type   |:
// types 1..=23 single NAL unit, 24 STAP-A (16-bit size + NAL unit, repeated),
// 28 FU-A followed by the FU header |S|E|R|  Type   | (R zero, not S and E).
fn h264_ok(p: &[u8]) -> Option<bool> {
    let (&header, rest) = p.split_first()?;
    if header & 0x80 != 0 {
        return Some(false);
    }
    Some(match header & 0x1f {
        1..=23 => h264_nal_ok(header),
        24 => {
            let mut rest = rest;
            let mut units = 0;
            while !rest.is_empty() {
                let Some((size, tail)) = rest.split_first_chunk::<2>() else {
                    return Some(false);
                };
                let size = usize::from(u16::from_be_bytes(*size));
                let Some((unit, tail)) = tail.split_at_checked(size) else {
                    return Some(false);
                };
                if !unit.first().is_some_and(|&h| h264_nal_ok(h)) {
                    return Some(false);
                }
                units += 1;
                rest = tail;
            }
            units > 0
        }
        28 => match rest.first() {
            Some(&fu) => {
                let both = fu & 0xc0 == 0xc0;
                let inner = (header & 0xe0) | (fu & 0x1f);
                !both && fu & 0x20 == 0 && (1..=23).contains(&(fu & 0x1f)) && h264_nal_ok(inner)
            }
            None => false,
        },
        // STAP-B, MTAP and FU-B belong to the interleaved mode.
        25..=27 | 29 => return None,
        _ => false,
    })
}

// RFC 7798 section 1.1.4, the NAL unit header:
//
// |F|   Type    |  LayerId  | TID |
//
// F zero, TID non-zero; types 0..=40 are NAL units, 48 an aggregation packet,
// 49 a fragmentation unit with the FU header |S|E|  FuType   |, 50 PACI.
fn h265_ok(p: &[u8]) -> Option<bool> {
    let [b0, b1, rest @ ..] = p else {
        return if p.is_empty() { None } else { Some(false) };
    };
    let header = u16::from_be_bytes([*b0, *b1]);
    let nal_type = (header >> 9) & 0x3f;
    let layer = (header >> 3) & 0x3f;
    let tid = header & 0x07;
    if header & 0x8000 != 0 || tid == 0 || layer != 0 {
        return Some(false);
    }
    Some(match nal_type {
        0..=40 => !rest.is_empty(),
        48 => rest.len() > 4,
        49 => match rest.first() {
            Some(&fu) => fu & 0xc0 != 0xc0 && (fu & 0x3f) <= 40,
            None => false,
        },
        50 => true,
        _ => false,
    })
}

/// Reads an unsigned LEB128 of at most 8 bytes (AV1 section 4.10.5).
fn leb128(p: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in p.iter().take(8).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

// AV1 RTP payload format section 4.4, aggregation header:
//
// |Z|Y| W |N|-|-|-|   (the three low bits reserved: zero)
//
// N (first packet of a coded video sequence) implies Z = 0. Unless W is 1,
// the first OBU element is preceded by its LEB128 length. When Z = 0 the
// element starts with an OBU header |0| type |X|S|0| (AV1 section 5.3.2)
// whose type is a defined one (1..=8 or 15).
fn av1_ok(p: &[u8]) -> Option<bool> {
    let (&agg, rest) = p.split_first()?;
    if agg & 0x07 != 0 || (agg & 0x08 != 0 && agg & 0x80 != 0) {
        return Some(false);
    }
    let w = (agg >> 4) & 0x03;
    let element = if w == 1 {
        rest
    } else {
        let Some((len, used)) = leb128(rest) else {
            return Some(false);
        };
        let body = rest.get(used..).unwrap_or(&[]);
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let Some(el) = body.get(..len) else {
            return Some(false);
        };
        el
    };
    if agg & 0x80 != 0 {
        // A continued OBU fragment: no header to check.
        return Some(!element.is_empty());
    }
    let Some(&obu) = element.first() else {
        return Some(false);
    };
    let obu_type = (obu >> 3) & 0x0f;
    Some(obu & 0x81 == 0 && matches!(obu_type, 1..=8 | 15))
}

/// A stream-level conclusion about media encryption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaEncryption {
    /// Enough packets carry known plaintext structure.
    Plain,
    /// Enough packets contradict their format or look random.
    Encrypted,
    /// Too few packets, or the evidence disagrees.
    Unknown,
}

/// Per-stream tally of [`PayloadEvidence`], `Copy` and allocation-free.
///
/// One packet is weak evidence: random bytes pass a one-byte header check
/// often (an Opus TOC of code 0 always fits). So the verdict needs
/// [`PayloadVotes::MIN_VOTES`] packets and [`PayloadVotes::AGREEMENT`]
/// percent agreement, and for formats whose first payload byte is a header
/// (Opus, VP8, VP9, H.264, H.265, AV1) it also uses that byte's stability: a
/// plain stream repeats a handful of values, a ciphertext stream spreads over
/// all 256.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PayloadVotes {
    plain: u32,
    encrypted: u32,
    unknown: u32,
    /// Packets of a header-byte format seen through `observe`.
    header_packets: u32,
    /// Distinct first payload bytes among those.
    first_bytes: ByteSet,
    /// The previous packet seen by `observe_packet` or `track_repeat`:
    /// sequence number and a hash of its payload (length included).
    last: Option<(u16, u64)>,
    /// Packets whose payload repeated the previous one's under another
    /// sequence number.
    repeats: u32,
    /// Whether [`PayloadVotes::verdict`] is other than `Unknown`, kept as
    /// the votes change, so that a stream's later packets read it instead
    /// of working it out again.
    decided: bool,
}

/// Bytes of a payload a fingerprint reads at each of its start, middle and
/// end.
const REPEAT_SAMPLE: usize = 32;

/// A 64-bit fingerprint of one payload, to compare with the next: its
/// length and, for payloads of up to three samples, every byte; for longer
/// ones the [`REPEAT_SAMPLE`] bytes at its start, middle and end. Two
/// ciphertexts agree on those 96 bytes by chance once in 2^768; two
/// plaintexts that do are plain whatever else they hold, which is all a
/// repeat votes for, and the authentication tag SRTP puts at the end is
/// read. FNV-style multiply-xor over 8-byte words (then the tail), with a
/// rotation for mixing; no allocation, and a bounded cost on every packet
/// of a stream still undecided, whatever its size.
fn payload_hash(payload: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325 ^ payload.len() as u64;
    let n = payload.len();
    if n <= 3 * REPEAT_SAMPLE {
        return hash_words(h, payload);
    }
    let mid = n / 2 - REPEAT_SAMPLE / 2;
    // The three samples, each whole: the same words as `hash_words` reads.
    let samples = [
        payload.first_chunk::<REPEAT_SAMPLE>(),
        payload
            .get(mid..)
            .and_then(<[u8]>::first_chunk::<REPEAT_SAMPLE>),
        payload.last_chunk::<REPEAT_SAMPLE>(),
    ];
    for sample in samples.into_iter().flatten() {
        h = hash_sample(h, sample);
    }
    h
}

/// [`hash_words`] of one whole sample, its words read without a loop.
#[inline]
fn hash_sample(mut h: u64, sample: &[u8; REPEAT_SAMPLE]) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    for w in sample.chunks_exact(8) {
        let w: [u8; 8] = w.try_into().unwrap_or_default();
        h = (h ^ u64::from_le_bytes(w))
            .wrapping_mul(PRIME)
            .rotate_left(23);
    }
    h
}

fn hash_words(mut h: u64, bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        h = (h ^ u64::from_le_bytes(b))
            .wrapping_mul(PRIME)
            .rotate_left(23);
    }
    for &b in words.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(PRIME);
    }
    h
}

impl PayloadVotes {
    /// Packets needed before any verdict.
    pub const MIN_VOTES: u32 = 5;
    /// Percentage of votes that must agree.
    pub const AGREEMENT: u32 = 80;

    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one packet's evidence.
    pub fn add(&mut self, evidence: PayloadEvidence) {
        self.count(evidence);
        self.decide();
    }

    fn count(&mut self, evidence: PayloadEvidence) {
        let slot = match evidence {
            PayloadEvidence::Plain(_) => &mut self.plain,
            PayloadEvidence::Encrypted(_) => &mut self.encrypted,
            PayloadEvidence::Unknown => &mut self.unknown,
        };
        *slot = slot.saturating_add(1);
    }

    fn decide(&mut self) {
        self.decided = self.verdict() != MediaEncryption::Unknown;
    }

    /// Whether the votes so far give a verdict (`Plain` or `Encrypted`).
    pub fn decided(&self) -> bool {
        self.decided
    }

    /// Repeated payloads needed for a `Plain` verdict on their own.
    pub const MIN_REPEATS: u32 = 3;
    /// Shortest payload whose repetition counts: a ciphertext this long
    /// repeats by chance once in 2^32 packets.
    pub const MIN_REPEAT_LEN: usize = 4;

    /// Classifies a payload (see [`classify_payload`]), adds the evidence and
    /// tracks the first payload byte for header-byte formats.
    pub fn observe(&mut self, pt: u8, codec_hint: Option<&str>, payload: &[u8]) -> PayloadEvidence {
        self.observe_evidence(pt, codec_hint, payload, None)
    }

    /// [`PayloadVotes::observe`] for an RTP packet with sequence number
    /// `seq`: a payload of at least [`PayloadVotes::MIN_REPEAT_LEN`] bytes
    /// identical to the previous packet's under another sequence number
    /// votes plain ([`PlainReason::RepeatedPayload`]) whatever its format
    /// says; a duplicate (same sequence number) is not a repeat.
    pub fn observe_packet(
        &mut self,
        pt: u8,
        codec_hint: Option<&str>,
        seq: u16,
        payload: &[u8],
    ) -> PayloadEvidence {
        let repeated = self.track_repeat(seq, payload);
        let forced = repeated.then_some(PayloadEvidence::Plain(PlainReason::RepeatedPayload));
        self.observe_evidence(pt, codec_hint, payload, forced)
    }

    /// Follows repeated payloads only (packets after the voting window):
    /// returns whether this payload repeats the previous packet's.
    pub fn track_repeat(&mut self, seq: u16, payload: &[u8]) -> bool {
        if payload.len() < Self::MIN_REPEAT_LEN {
            self.last = None;
            return false;
        }
        let h = payload_hash(payload);
        let repeated = matches!(self.last, Some((s, lh)) if s != seq && lh == h);
        if repeated {
            self.repeats = self.repeats.saturating_add(1);
            self.decide();
        }
        self.last = Some((seq, h));
        repeated
    }

    /// Packets whose payload repeated the previous packet's.
    pub fn repeats(&self) -> u32 {
        self.repeats
    }

    fn observe_evidence(
        &mut self,
        pt: u8,
        codec_hint: Option<&str>,
        payload: &[u8],
        forced: Option<PayloadEvidence>,
    ) -> PayloadEvidence {
        let evidence = forced.unwrap_or_else(|| classify_payload(pt, codec_hint, payload));
        self.count(evidence);
        if Codec::from_hint(pt, codec_hint).has_header_byte() {
            if let Some(&b) = payload.first() {
                self.header_packets = self.header_packets.saturating_add(1);
                self.first_bytes.insert(b);
            }
        }
        self.decide();
        evidence
    }

    /// Votes for plaintext so far.
    pub fn plain(&self) -> u32 {
        self.plain
    }

    /// Votes for ciphertext so far.
    pub fn encrypted(&self) -> u32 {
        self.encrypted
    }

    /// Packets without a conclusion so far.
    pub fn unknown(&self) -> u32 {
        self.unknown
    }

    /// Distinct first payload bytes among header-byte format packets.
    pub fn distinct_first_bytes(&self) -> u32 {
        self.first_bytes.len()
    }

    /// Whether the first payload byte repeats as a header byte does: at most
    /// one new value per four packets, plus three.
    fn first_byte_stable(&self) -> bool {
        self.first_bytes.len() * 4 <= self.header_packets + 12
    }

    fn share(&self, votes: u32) -> bool {
        let total = u64::from(self.plain) + u64::from(self.encrypted) + u64::from(self.unknown);
        u64::from(votes) * 100 >= total * u64::from(Self::AGREEMENT)
    }

    /// The stream-level conclusion.
    ///
    /// `Plain` when at least [`PayloadVotes::MIN_REPEATS`] payloads repeated
    /// their predecessor (and fewer than a fifth of the votes say random);
    /// otherwise `Plain` needs at least `MIN_VOTES` packets, `AGREEMENT` percent of
    /// them plain and, for header-byte formats, a stable first byte.
    /// `Encrypted` needs `AGREEMENT` percent encrypted votes or, for
    /// header-byte formats, an unstable first byte with either at least a
    /// fifth of the packets failing the header check or as many distinct
    /// first bytes as random data gives (VP9 has no reserved bits to fail).
    /// Anything else is `Unknown`.
    pub fn verdict(&self) -> MediaEncryption {
        let total = self
            .plain
            .saturating_add(self.encrypted)
            .saturating_add(self.unknown);
        if total < Self::MIN_VOTES {
            return MediaEncryption::Unknown;
        }
        // Payloads that repeat under new sequence numbers are not SRTP,
        // unless a fifth of the packets look random anyway.
        if self.repeats >= Self::MIN_REPEATS && self.encrypted.saturating_mul(5) < total {
            return MediaEncryption::Plain;
        }
        let tracked = self.header_packets >= Self::MIN_VOTES;
        if tracked && !self.first_byte_stable() {
            let random_spread = f64::from(self.first_bytes.len())
                >= 0.8 * expected_distinct(self.header_packets as usize);
            return if self.encrypted.saturating_mul(5) >= total || random_spread {
                MediaEncryption::Encrypted
            } else {
                MediaEncryption::Unknown
            };
        }
        if self.share(self.plain) {
            MediaEncryption::Plain
        } else if self.share(self.encrypted) && !tracked {
            MediaEncryption::Encrypted
        } else {
            MediaEncryption::Unknown
        }
    }
}

// ---------------------------------------------------------------------------
// ZRTP
// ---------------------------------------------------------------------------

/// The ZRTP magic cookie, "ZRTP" (RFC 6189 section 5).
pub const ZRTP_MAGIC_COOKIE: u32 = 0x5A52_5450;
/// The message preamble (RFC 6189 section 5.1).
const ZRTP_PREAMBLE: u16 = 0x505A;

/// ZRTP message types (RFC 6189 sections 5.2 to 5.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ZrtpMessageType {
    /// "Hello   ": version, client id, algorithms (section 5.2).
    Hello,
    /// "HelloACK" (section 5.3).
    HelloAck,
    /// "Commit  ": starts the key agreement (section 5.4).
    Commit,
    /// "DHPart1 " (section 5.5).
    DhPart1,
    /// "DHPart2 " (section 5.6).
    DhPart2,
    /// "Confirm1" (section 5.7).
    Confirm1,
    /// "Confirm2" (section 5.7).
    Confirm2,
    /// "Conf2ACK": SRTP keys are in use from here (section 5.8).
    Conf2Ack,
    /// "Error   " (section 5.9).
    Error,
    /// "ErrorACK" (section 5.10).
    ErrorAck,
    /// "GoClear ": request to stop encrypting (section 5.11).
    GoClear,
    /// "ClearACK" (section 5.12).
    ClearAck,
    /// "SASrelay" (section 5.13).
    SasRelay,
    /// "RelayACK" (section 5.14).
    RelayAck,
    /// "Ping    " (section 5.15).
    Ping,
    /// "PingACK " (section 5.16).
    PingAck,
    /// Any other 8-byte type block.
    Unknown([u8; 8]),
}

impl ZrtpMessageType {
    /// Maps the 8-byte type block.
    pub fn from_block(block: [u8; 8]) -> Self {
        match &block {
            b"Hello   " => ZrtpMessageType::Hello,
            b"HelloACK" => ZrtpMessageType::HelloAck,
            b"Commit  " => ZrtpMessageType::Commit,
            b"DHPart1 " => ZrtpMessageType::DhPart1,
            b"DHPart2 " => ZrtpMessageType::DhPart2,
            b"Confirm1" => ZrtpMessageType::Confirm1,
            b"Confirm2" => ZrtpMessageType::Confirm2,
            b"Conf2ACK" => ZrtpMessageType::Conf2Ack,
            b"Error   " => ZrtpMessageType::Error,
            b"ErrorACK" => ZrtpMessageType::ErrorAck,
            b"GoClear " => ZrtpMessageType::GoClear,
            b"ClearACK" => ZrtpMessageType::ClearAck,
            b"SASrelay" => ZrtpMessageType::SasRelay,
            b"RelayACK" => ZrtpMessageType::RelayAck,
            b"Ping    " => ZrtpMessageType::Ping,
            b"PingACK " => ZrtpMessageType::PingAck,
            _ => ZrtpMessageType::Unknown(block),
        }
    }

    /// The type block as text, trailing spaces removed ("Hello", "DHPart1").
    pub fn as_str(&self) -> &'static str {
        match self {
            ZrtpMessageType::Hello => "Hello",
            ZrtpMessageType::HelloAck => "HelloACK",
            ZrtpMessageType::Commit => "Commit",
            ZrtpMessageType::DhPart1 => "DHPart1",
            ZrtpMessageType::DhPart2 => "DHPart2",
            ZrtpMessageType::Confirm1 => "Confirm1",
            ZrtpMessageType::Confirm2 => "Confirm2",
            ZrtpMessageType::Conf2Ack => "Conf2ACK",
            ZrtpMessageType::Error => "Error",
            ZrtpMessageType::ErrorAck => "ErrorACK",
            ZrtpMessageType::GoClear => "GoClear",
            ZrtpMessageType::ClearAck => "ClearACK",
            ZrtpMessageType::SasRelay => "SASrelay",
            ZrtpMessageType::RelayAck => "RelayACK",
            ZrtpMessageType::Ping => "Ping",
            ZrtpMessageType::PingAck => "PingACK",
            ZrtpMessageType::Unknown(_) => "unknown",
        }
    }
}

/// A validated ZRTP packet (RFC 6189 section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZrtpPacket<'a> {
    buf: &'a [u8],
    /// The message: preamble to the end of the message body.
    message: &'a [u8],
}

impl<'a> ZrtpPacket<'a> {
    // RFC 6189 section 5:
    //
    //  0                   1                   2                   3
    //  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |0 0 0 1|Not Used (set to zero) |         Sequence Number       |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |                 Magic Cookie 'ZRTP' (0x5a525450)              |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |                        Source Identifier                      |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |           ZRTP Message (length depends on Message Type)       |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    // |                          CRC (1 word)                         |
    // +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    //
    // Section 5.1, every message starts with
    //
    // |0 1 0 1 0 0 0 0 0 1 0 1 1 0 1 0|             length            |
    // |            Message Type Block (2 words, ASCII)                |
    //
    // where `length` counts 32-bit words of the message (preamble, length
    // and type block included; packet header and CRC excluded).
    /// Validates the header, cookie, preamble and message length. The CRC is
    /// not required to match (see [`crc_ok`](Self::crc_ok)).
    pub fn new_checked(buf: &'a [u8]) -> Result<Self> {
        let first = be::u8_at(buf, field::ZRTP_FLAGS)?;
        if first >> 4 != 0x1 {
            return Err(Error::new(ErrorKind::NotThisProtocol, field::ZRTP_FLAGS));
        }
        if be::u32_at(buf, field::ZRTP_COOKIE)? != ZRTP_MAGIC_COOKIE {
            return Err(Error::new(ErrorKind::NotThisProtocol, field::ZRTP_COOKIE));
        }
        let msg_start = field::ZRTP_MESSAGE;
        if be::u16_at(buf, msg_start + field::MSG_PREAMBLE)? != ZRTP_PREAMBLE {
            return Err(Error::malformed(msg_start + field::MSG_PREAMBLE));
        }
        let words = usize::from(be::u16_at(buf, msg_start + field::MSG_LENGTH)?);
        let msg_len = words * 4;
        if msg_len < field::MSG_BODY {
            return Err(Error::bad_length(msg_start + field::MSG_LENGTH));
        }
        if msg_start + msg_len + field::ZRTP_CRC_LEN != buf.len() {
            return Err(Error::bad_length(msg_start + field::MSG_LENGTH));
        }
        let message = be::slice(buf, msg_start, msg_len)?;
        Ok(ZrtpPacket { buf, message })
    }

    /// The 16-bit sequence number.
    pub fn sequence_number(&self) -> u16 {
        be::u16_at(self.buf, field::ZRTP_SEQUENCE).unwrap_or(0)
    }

    /// The source identifier (the SSRC of the media stream).
    pub fn ssrc(&self) -> crate::rtp::Ssrc {
        crate::rtp::Ssrc(be::u32_at(self.buf, field::ZRTP_SSRC).unwrap_or(0))
    }

    /// The message type.
    pub fn message_type(&self) -> ZrtpMessageType {
        let mut block = [0u8; 8];
        if let Ok(b) = be::slice(self.message, field::MSG_TYPE, field::MSG_TYPE_LEN) {
            block.copy_from_slice(b);
        }
        ZrtpMessageType::from_block(block)
    }

    /// Length of the message in bytes (preamble to end of body).
    pub fn message_len(&self) -> usize {
        self.message.len()
    }

    /// The protocol version of a Hello message ("1.10"), if this is one.
    pub fn hello_version(&self) -> Option<[u8; 4]> {
        self.hello_field(field::HELLO_VERSION, 4)
            .and_then(|v| v.try_into().ok())
    }

    /// The client identifier of a Hello message (16 ASCII bytes, space
    /// padded), if this is one.
    pub fn hello_client_id(&self) -> Option<&'a [u8]> {
        self.hello_field(field::HELLO_CLIENT_ID, field::HELLO_CLIENT_ID_LEN)
    }

    fn hello_field(&self, off: usize, len: usize) -> Option<&'a [u8]> {
        if self.message_type() != ZrtpMessageType::Hello {
            return None;
        }
        be::slice(self.message, off, len).ok()
    }

    /// The CRC word as sent.
    pub fn crc(&self) -> u32 {
        let at = self.buf.len().saturating_sub(field::ZRTP_CRC_LEN);
        be::u32_at(self.buf, at).unwrap_or(0)
    }

    /// Whether the CRC-32C over the packet (CRC excluded) matches. RFC 6189
    /// refers to the SCTP definition, whose byte order implementations read
    /// differently, so both orders are accepted.
    pub fn crc_ok(&self) -> bool {
        let covered = self.buf.len().saturating_sub(field::ZRTP_CRC_LEN);
        let data = self.buf.get(..covered).unwrap_or(&[]);
        let crc = crc32c(data);
        crc == self.crc() || crc.swap_bytes() == self.crc()
    }
}

/// CRC-32C (Castagnoli, RFC 3309 / RFC 9260 appendix B), bit by bit: ZRTP
/// packets are few and short, so no table is kept.
fn crc32c(data: &[u8]) -> u32 {
    const POLY: u32 = 0x82F6_3B78;
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (POLY & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpPacket;
    use aes::cipher::{BlockEncrypt, KeyInit};
    use aes::Aes128;

    /// The sampled hash reads the same words as the general one.
    #[test]
    fn hashes_samples_as_words() {
        let bytes: Vec<u8> = (0u32..4096)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for start in 0..64 {
            let sample: &[u8; REPEAT_SAMPLE] = bytes[start..].first_chunk().unwrap();
            assert_eq!(
                hash_sample(start as u64, sample),
                hash_words(start as u64, sample)
            );
        }
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A fixed test key; not a key of any capture.
    const TEST_KEY: [u8; 16] = *b"vcscope-test-key";

    /// AES-128 counter mode keystream XOR, the SRTP default cipher
    /// (RFC 3711 section 4.1.1) with a per-packet IV built from SSRC and
    /// sequence number; only the keystream matters for these tests.
    fn aes_ctr(ssrc: u32, seq: u16, data: &[u8]) -> Vec<u8> {
        let cipher = Aes128::new(&TEST_KEY.into());
        let mut out = Vec::with_capacity(data.len());
        for (i, chunk) in data.chunks(16).enumerate() {
            let mut block = [0u8; 16];
            block[4..8].copy_from_slice(&ssrc.to_be_bytes());
            block[12..14].copy_from_slice(&seq.to_be_bytes());
            block[14..16].copy_from_slice(&(i as u16).to_be_bytes());
            let mut ga = block.into();
            cipher.encrypt_block(&mut ga);
            out.extend(chunk.iter().zip(ga.iter()).map(|(d, k)| d ^ k));
        }
        out
    }

    /// sipp__g711a.pcap frames 50-65: 16 RTP packets (12-byte header + 240
    /// A-law bytes, PT 8), speech after a silent start.
    const SIPP_G711A: &[u8] =
        include_bytes!("../../fixtures/payloads/rtp/sipp_g711a_frames50-65.bin");

    fn sipp_packets() -> Vec<RtpPacket<'static>> {
        SIPP_G711A
            .chunks(252)
            .map(|c| RtpPacket::new_checked(c).unwrap())
            .collect()
    }

    /// heplify__sip_ipv4_tcp.pcap frames 13 and 56: PCMA payloads (after the header).
    const HEPLIFY_PCMA: [&str; 2] = [
        "70707176d0d0d0d1d0d0d1d1d1d1d1d1d1d1d6d6d6d6d6d6d7d7d7d7d7d7d7d7d7d7d4d4d4d4d453767b676161606667657f42d1cbffe7e2eee8ea9594959595ebeeede0e6e5fff0c9dad2565a4d4a76737d7e79787b7b7b7b78797f7c72707176754b4e4341445b5e5d5351565455d5d4d4d7d7d7d7d7d7d7d4d4d4d5d55555d55555d555d4d5d5d555d4d5d555d455d4d5d5d5d55554d5d5d5d4d5555555d5",
        "d4d55f150d1b9a8793998184e1cc406d141705051e1014677267e390e756666ce0979495f8e6957511f49a9de7e4e5da485ff4fd461513051a6c777f71676a6ddaf75efe9197e4e394edf8ece15d79595d7d7a7e7070415364614d5d5dd1fde4f2f4c7d15371dbf3d04fc1c2d5f0564a535f794453796673d2dcd8f9fbd952dfd151d8f0f3f6f1c040774642455e49405058d0cd574655d344484f5850535847",
    ];

    /// ndpi__rtp.pcapng frames 84-103: plain Opus (PT 111), TOC 0x48
    /// (SILK wideband 20 ms, one frame), including 1-byte DTX packets.
    const OPUS_PLAIN: [&str; 20] = [
        "480be455bf14987c",
        "4806e379c12458",
        "4806e379c12458",
        "4806e37227dc0640",
        "4806e37227dc0640",
        "4806e379c12458",
        "4806e379c12458",
        "4806e37227dc0640",
        "4806e37227dc0640",
        "48",
        "48",
        "48",
        "48",
        "48",
        "48",
        "48",
        "48",
        "488008e34ea06ede37d64d9df58592f3058d65214fcef499706d7523555ec7b6106280",
        "488b2ae4950a9fbc3f94f68ecc275adbe80735915cbcd5c46db9fe092621322174baeaa894a823cf729b8c38",
        "4886f4e230cfac2dae671648c666ce0026795e3ca77efc2a68175abeca24440283a852cc",
    ];

    /// Real SRTP video payloads (first 48 bytes): ndpi__stun_dtls_rtp.pcapng
    /// frames 82-100 (SSRC 0x321D28BB, PT 97) and ndpi__stun_google_meet.pcapng
    /// frames 169-171 (SSRC 0xC362591E, PT 97), both DTLS-SRTP WebRTC video.
    const SRTP_VIDEO: [&str; 12] = [
        "c8b6afa77c46b0f433d67eed2937d6a36d770cc8e69b78bf0be0d1229baad99087ff637a93f3e66a2a58565eda3ed505",
        "413a8af62f3f2f275fce7188b776a6ebf5f031449db4571adfe2b4364eeebf7101e868c82f128038de37626c8858dfd3",
        "eb4398163f284e611ff57e2e2a2934f9da6b08703f550bb0f537c6b5031eaaf40ddcb00e5a80a16f9e7ffb481640c6c6",
        "5ddeb6cb742c9313b3a94899168371d37f2b93dc5a11434f23aa7f5463e8fb72f01a218db194ca5616d0c74560b343c1",
        "14aabd5c54bf44d06806f4df0f11f6ffac24544b4da547f19c21fb46db871865040f317daf7c6cf71fea43a15f7818a2",
        "6eaf16b69220f6198363471933f31dbeaa7aac8c35fa3f4f251fda95e4bf583824337ac130ee4345e16970e430ec7c3d",
        "271e5f161facb10d925bbb1c86c3b793705d298f74db8b7c0e003ec191a253d1182880fd73af68a5bd9f152bad0be10d",
        "b5877a45f6c522246d7b1c3929355ceb4d22113429b45ca37e5258ac10805e8337ba3e3724f28684fccb3fe101a13a26",
        "9d863d12189285f53244c9810429591c25cfab32c07a9a6802a0c1f73dbd062eb315970280f5dbe1ed43239565ef9a4f",
        "f256e74695b853b78211c8b75786bdfb5a9eb60f7e182157f8ca9fa766ea7f69a2235ef203c6008e4e33299001391cf8",
        "6d7a9566989a564efd38a77ad6b43de3f4e4a10d8f2066f3973aa49583dad867c09a6f5e9dcece6b14eeab6d24f32a10",
        "12d8f07d5b390bd0b14058eef759e56c09d7f10fc7ba64e4ca13ccfa032bd885673ca70f99ec2fb885974b2c7683a2de",
    ];

    /// ndpi__stun_google_meet.pcapng frames 95, 105, 119, 153: SRTCP with an
    /// AEAD suite (index in the last word: 3, 2, 5, 10).
    const SRTCP_MEET: [&str; 4] = [
        "80cf0004d2b3ec9f849588144132e906b6e57266f828cdf77f61224d87e50701c682347380000003",
        "80c90001786919147bce07b67c2d7dd7e40d3cf3daea0d67a542fd2d95ba9799a838a15274561d8fe2f228a144be6afd80000002",
        "80c800067869191440a8982755d96218077e78813d1664e55cc86fb06b2b0cd6cb45aa5d26c1e725a795dca16228923346e86315444f8525c523e770e4fdad2af451a2eab506594c322791cd6a334c0ea2fd253ccd55bbd30b0c60c53682289c80000005",
        "8dcc0004d2b3ec9f360e0dd519a8e700712f8d52b5365490d97b98067f71560f8b051903541489f736a996948eddbc117a555e83a8f9032112a8d65a8000000a",
    ];

    /// heplify__sip_ipv4_tcp.pcap frame 17: a plain SR + SDES compound.
    const RTCP_PLAIN: &str = "81c8000c5a3361b30026481d99580fb105b6fe8600000001000000a042f433d4000000000000d44400000000092530620000041881ca00035a3361b30103633000000000";

    /// A small deterministic generator for synthetic codec bodies, which
    /// are entropy coded and so look random in plaintext too.
    struct Xorshift(u32);

    impl Xorshift {
        fn bytes(&mut self, n: usize) -> Vec<u8> {
            (0..n)
                .map(|_| {
                    self.0 ^= self.0 << 13;
                    self.0 ^= self.0 >> 17;
                    self.0 ^= self.0 << 5;
                    self.0 as u8
                })
                .collect()
        }
    }

    /// Synthetic plain H.264 packetization-mode 1 payloads: STAP-A with SPS
    /// and PPS, FU-A start/middle/end of an IDR slice, then non-IDR slices.
    fn h264_plain_stream() -> Vec<Vec<u8>> {
        let mut rng = Xorshift(0x2545_f491);
        let mut out = Vec::new();
        let mut stap = vec![0x78, 0x00, 0x0a, 0x67];
        stap.extend(rng.bytes(9));
        stap.extend([0x00, 0x04, 0x68]);
        stap.extend(rng.bytes(3));
        out.push(stap);
        for fu in [0x85u8, 0x05, 0x05, 0x45] {
            let mut p = vec![0x7c, fu];
            p.extend(rng.bytes(1000));
            out.push(p);
        }
        for _ in 0..15 {
            let mut p = vec![0x41];
            p.extend(rng.bytes(700));
            out.push(p);
        }
        out
    }

    /// Synthetic plain VP8 payloads: a key frame start, then inter frames,
    /// with an extended descriptor carrying a 15-bit picture ID.
    fn vp8_plain_stream() -> Vec<Vec<u8>> {
        let mut rng = Xorshift(0x9e37_79b9);
        let mut out = Vec::new();
        for i in 0..20u8 {
            let start = i % 4 == 0;
            let mut p = vec![if start { 0x90 } else { 0x80 }, 0x80, 0x80 | i, i];
            if start {
                let key = i == 0;
                p.push(if key { 0x10 } else { 0x31 });
                p.extend([0x02, 0x00]);
                if key {
                    p.extend([0x9d, 0x01, 0x2a]);
                }
            }
            p.extend(rng.bytes(600));
            out.push(p);
        }
        out
    }

    fn run(pt: u8, hint: Option<&str>, payloads: &[Vec<u8>]) -> PayloadVotes {
        let mut votes = PayloadVotes::new();
        for p in payloads {
            votes.observe(pt, hint, p);
        }
        votes
    }

    fn encrypt_all(payloads: &[Vec<u8>]) -> Vec<Vec<u8>> {
        payloads
            .iter()
            .enumerate()
            .map(|(i, p)| aes_ctr(0xdead_beef, i as u16, p))
            .collect()
    }

    #[test]
    fn parses_real_g711_as_plain_and_encrypted_g711_as_encrypted() {
        let mut plain: Vec<Vec<u8>> = sipp_packets()
            .iter()
            .map(|p| p.payload().to_vec())
            .collect();
        plain.extend(HEPLIFY_PCMA.iter().map(|h| hex(h)));
        for p in &plain {
            assert_eq!(
                classify_payload(8, None, p),
                PayloadEvidence::Plain(PlainReason::G711Samples)
            );
        }
        assert_eq!(run(8, None, &plain).verdict(), MediaEncryption::Plain);
        assert_eq!(
            run(8, Some("PCMA"), &plain).verdict(),
            MediaEncryption::Plain
        );

        let enc = encrypt_all(&plain);
        for p in &enc {
            assert!(!matches!(
                classify_payload(8, None, p),
                PayloadEvidence::Plain(_)
            ));
        }
        assert_eq!(run(8, None, &enc).verdict(), MediaEncryption::Encrypted);
        // The same ciphertext labelled µ-law is still not plain.
        assert_eq!(run(0, None, &enc).verdict(), MediaEncryption::Encrypted);
    }

    #[test]
    fn decided_follows_the_verdict_as_votes_come() {
        // Plain µ-law, random bytes, repeats, VP8 headers: after every
        // packet, the kept flag says what the verdict says.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut random = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        };
        let silence = vec![0xffu8; 160];
        for (pt, hint) in [(0u8, None), (96, Some("VP8")), (111, Some("opus"))] {
            let mut v = PayloadVotes::new();
            assert!(!v.decided());
            for seq in 0..40u16 {
                let payload = match seq % 5 {
                    0 | 1 => silence.clone(),
                    _ => random(160),
                };
                v.observe_packet(pt, hint, seq, &payload);
                assert_eq!(v.decided(), v.verdict() != MediaEncryption::Unknown);
                v.track_repeat(seq.wrapping_add(1000), &payload);
                assert_eq!(v.decided(), v.verdict() != MediaEncryption::Unknown);
            }
        }
    }

    #[test]
    fn g711_tables_hold_the_expansion_of_every_byte() {
        for b in 0..=255u8 {
            assert_eq!(i32::from(ALAW_LINEAR[usize::from(b)]), alaw_to_linear(b));
            assert_eq!(i32::from(ULAW_LINEAR[usize::from(b)]), ulaw_to_linear(b));
        }
        // ITU-T G.711 tables 1 and 2: the ends of each range, and silence.
        assert_eq!(ULAW_LINEAR[0xff], 0);
        assert_eq!(ULAW_LINEAR[0x7f], 0);
        assert_eq!(ULAW_LINEAR[0x00], -32_124);
        assert_eq!(ULAW_LINEAR[0x80], 32_124);
        assert_eq!(ALAW_LINEAR[0xd5], 8);
        assert_eq!(ALAW_LINEAR[0x55], -8);
        assert_eq!(ALAW_LINEAR[0xaa], 32_256);
        assert_eq!(ALAW_LINEAR[0x2a], -32_256);
    }

    #[test]
    fn parses_ulaw_silence_and_tones_as_plain() {
        let silence = [0xffu8; 160];
        assert_eq!(
            classify_payload(0, None, &silence),
            PayloadEvidence::Plain(PlainReason::G711Samples)
        );
        // A 400 Hz triangle wave in negative µ-law codes (0x7F is -0).
        let tone: Vec<u8> = (0..160)
            .map(|i| {
                let phase = i % 20;
                let x = if phase < 10 { phase } else { 20 - phase };
                0x7f - (x as u8) * 4
            })
            .collect();
        assert_eq!(
            classify_payload(0, Some("pcmu"), &tone),
            PayloadEvidence::Plain(PlainReason::G711Samples)
        );
    }

    #[test]
    fn parses_real_opus_as_plain_and_encrypted_opus_as_encrypted() {
        let plain: Vec<Vec<u8>> = OPUS_PLAIN.iter().map(|h| hex(h)).collect();
        for p in &plain {
            assert_eq!(
                classify_payload(111, Some("opus"), p),
                PayloadEvidence::Plain(PlainReason::OpusToc)
            );
        }
        let votes = run(111, Some("opus"), &plain);
        assert_eq!(votes.distinct_first_bytes(), 1);
        assert_eq!(votes.verdict(), MediaEncryption::Plain);

        // Longer synthetic Opus frames (CELT FB 20 ms, code 0 and code 3 CBR).
        let mut rng = Xorshift(7);
        let mut synthetic: Vec<Vec<u8>> = (0..30)
            .map(|i| {
                let mut p = if i % 3 == 0 {
                    vec![0xfb, 0x02]
                } else {
                    vec![0xf8]
                };
                p.extend(rng.bytes(120));
                p
            })
            .collect();
        assert_eq!(
            run(111, Some("opus"), &synthetic).verdict(),
            MediaEncryption::Plain
        );
        synthetic = encrypt_all(&synthetic);
        assert_eq!(
            run(111, Some("opus"), &synthetic).verdict(),
            MediaEncryption::Encrypted
        );
    }

    #[test]
    fn parses_real_srtp_video_as_encrypted() {
        let enc: Vec<Vec<u8>> = SRTP_VIDEO.iter().map(|h| hex(h)).collect();
        for hint in ["VP8", "H264", "VP9", "AV1"] {
            let votes = run(97, Some(hint), &enc);
            assert_eq!(votes.verdict(), MediaEncryption::Encrypted, "{hint}");
        }
        // Without a codec name nothing is claimed.
        assert_eq!(run(97, None, &enc).verdict(), MediaEncryption::Unknown);
    }

    #[test]
    fn parses_h264_plain_and_encrypted_streams() {
        let plain = h264_plain_stream();
        for p in &plain {
            assert_eq!(
                classify_payload(102, Some("H264"), p),
                PayloadEvidence::Plain(PlainReason::H264Nal)
            );
        }
        assert_eq!(
            run(102, Some("H264"), &plain).verdict(),
            MediaEncryption::Plain
        );
        let enc = encrypt_all(&plain);
        assert_eq!(
            run(102, Some("H264"), &enc).verdict(),
            MediaEncryption::Encrypted
        );
    }

    #[test]
    fn parses_vp8_plain_and_encrypted_streams() {
        let plain = vp8_plain_stream();
        assert_eq!(
            classify_payload(96, Some("VP8"), &plain[0]),
            PayloadEvidence::Plain(PlainReason::Vp8Keyframe)
        );
        assert_eq!(
            run(96, Some("vp8"), &plain).verdict(),
            MediaEncryption::Plain
        );
        let enc = encrypt_all(&plain);
        assert_eq!(
            run(96, Some("vp8"), &enc).verdict(),
            MediaEncryption::Encrypted
        );
    }

    #[test]
    fn parses_other_video_headers() {
        // VP9: I and B set, 7-bit picture ID, then data.
        assert_eq!(
            classify_payload(98, Some("VP9"), &[0x88, 0x05, 0xaa, 0xbb]),
            PayloadEvidence::Plain(PlainReason::Vp9Descriptor)
        );
        // H.265: single IDR_W_RADL (type 19), then an FU (type 49) start.
        assert_eq!(
            classify_payload(100, Some("H265"), &[0x26, 0x01, 0xaf, 0x00]),
            PayloadEvidence::Plain(PlainReason::H265Nal)
        );
        assert_eq!(
            classify_payload(100, Some("HEVC"), &[0x62, 0x01, 0x93, 0xaf]),
            PayloadEvidence::Plain(PlainReason::H265Nal)
        );
        assert_eq!(
            classify_payload(100, Some("H265"), &[0x26, 0x00, 0xaf]),
            PayloadEvidence::Encrypted(CipherReason::InvalidCodecHeader)
        );
        // AV1: W = 1, N = 1, a sequence header OBU with a size field.
        assert_eq!(
            classify_payload(45, Some("AV1"), &[0x18, 0x0a, 0x0b, 0x00]),
            PayloadEvidence::Plain(PlainReason::Av1Obu)
        );
        assert_eq!(
            classify_payload(45, Some("AV1"), &[0x1f, 0x0a]),
            PayloadEvidence::Encrypted(CipherReason::InvalidCodecHeader)
        );
    }

    #[test]
    fn parses_comfort_noise_and_telephone_events() {
        // heplify__sip_ipv4_tcp.pcap frame 36 and ndpi FAX capture frame 1184.
        assert_eq!(
            classify_payload(13, None, &[0x3d]),
            PayloadEvidence::Plain(PlainReason::ComfortNoise)
        );
        assert_eq!(
            classify_payload(13, None, &[0x4c]),
            PayloadEvidence::Plain(PlainReason::ComfortNoise)
        );
        // ndpi__FAX-Call-t38-CA-TDM-SIP-FB-1.pcap frame 160 (PT 102).
        assert_eq!(
            classify_payload(102, Some("telephone-event"), &hex("20000373")),
            PayloadEvidence::Unknown // event 32 (fax tone): valid, not DTMF
        );
        assert_eq!(
            classify_payload(101, Some("telephone-event"), &[0x05, 0x8a, 0x03, 0x20]),
            PayloadEvidence::Plain(PlainReason::TelephoneEvent)
        );
        assert_eq!(
            classify_payload(101, Some("telephone-event"), &[0x05, 0x8a, 0x03]),
            PayloadEvidence::Encrypted(CipherReason::InvalidCodecHeader)
        );
    }

    #[test]
    fn rejects_thin_or_mixed_evidence() {
        let mut v = PayloadVotes::new();
        for _ in 0..4 {
            v.add(PayloadEvidence::Plain(PlainReason::G711Samples));
        }
        assert_eq!(v.verdict(), MediaEncryption::Unknown);
        v.add(PayloadEvidence::Plain(PlainReason::G711Samples));
        assert_eq!(v.verdict(), MediaEncryption::Plain);
        for _ in 0..5 {
            v.add(PayloadEvidence::Encrypted(CipherReason::HighEntropy));
        }
        assert_eq!(v.verdict(), MediaEncryption::Unknown);
        assert_eq!((v.plain(), v.encrypted(), v.unknown()), (5, 5, 0));
        // Unknown codec: never a verdict.
        let mut u = PayloadVotes::new();
        for i in 0..50u8 {
            u.observe(120, None, &[i, i ^ 0x5a, 3]);
        }
        assert_eq!(u.verdict(), MediaEncryption::Unknown);
    }

    /// AMR-NB SID frames (RFC 4867 section 4.3, octet-aligned: CMR, ToC
    /// with F=0 FT=8, 5 bytes of SID) sent unchanged during silence, as a
    /// codec the classifier does not know.
    fn amr_sid_stream() -> Vec<Vec<u8>> {
        let sid = vec![0xf0, 0x44, 0x21, 0x9a, 0x5c, 0x03, 0x10];
        let speech: Vec<Vec<u8>> = (0..4u8)
            .map(|i| (0..32u8).map(|b| b.wrapping_mul(31) ^ i).collect())
            .collect();
        let mut out = speech.clone();
        out.extend(std::iter::repeat_n(sid, 16));
        out
    }

    #[test]
    fn parses_repeated_payloads_as_plain() {
        let stream = amr_sid_stream();
        let mut v = PayloadVotes::new();
        for (i, p) in stream.iter().enumerate() {
            let e = v.observe_packet(118, Some("AMR"), 100 + i as u16, p);
            if i > 4 {
                assert_eq!(e, PayloadEvidence::Plain(PlainReason::RepeatedPayload));
            }
        }
        assert_eq!(v.repeats(), 15);
        assert_eq!(v.verdict(), MediaEncryption::Plain);
        // Without the repeats the same stream has no verdict.
        assert_eq!(
            run(118, Some("AMR"), &stream).verdict(),
            MediaEncryption::Unknown
        );
        // Repeats seen after the voting window count too.
        let mut late = run(118, Some("AMR"), &stream[..6]);
        for (i, p) in stream.iter().enumerate() {
            late.track_repeat(500 + i as u16, p);
        }
        assert_eq!(late.verdict(), MediaEncryption::Plain);
    }

    #[test]
    fn rejects_repeats_that_srtp_or_duplicates_make() {
        // The same plaintext encrypted under successive indexes never repeats.
        let enc = encrypt_all(&amr_sid_stream());
        let mut v = PayloadVotes::new();
        for (i, p) in enc.iter().enumerate() {
            v.observe_packet(118, Some("AMR"), i as u16, p);
        }
        assert_eq!(v.repeats(), 0);
        assert_ne!(v.verdict(), MediaEncryption::Plain);
        // A duplicated packet (same sequence number) is not a repeat; nor
        // are payloads shorter than MIN_REPEAT_LEN.
        let mut d = PayloadVotes::new();
        let p = [0x11u8, 0x22, 0x33, 0x44, 0x55];
        for _ in 0..10 {
            d.observe_packet(118, None, 7, &p);
        }
        assert_eq!(d.repeats(), 0);
        let mut s = PayloadVotes::new();
        for i in 0..10u16 {
            s.observe_packet(118, None, i, &[7, 7, 7]);
        }
        assert_eq!((s.repeats(), s.verdict()), (0, MediaEncryption::Unknown));
        // Repeats among mostly random payloads do not make it plain.
        let mut r = PayloadVotes::new();
        for _ in 0..10 {
            r.add(PayloadEvidence::Encrypted(CipherReason::HighEntropy));
        }
        for i in 0..4u16 {
            r.track_repeat(i, &[1, 2, 3, 4]);
        }
        assert_eq!(r.repeats(), 3);
        assert_ne!(r.verdict(), MediaEncryption::Plain);
    }

    #[test]
    fn a_long_payload_repeats_by_its_length_start_middle_and_end() {
        let base: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        // A change in any sampled byte, or in the length, is no repeat.
        for at in [0usize, 31, 484, 515, 968, 999] {
            let mut other = base.clone();
            other[at] ^= 1;
            let mut v = PayloadVotes::new();
            assert!(!v.track_repeat(1, &base));
            assert!(!v.track_repeat(2, &other), "byte {at}");
        }
        let mut v = PayloadVotes::new();
        assert!(!v.track_repeat(1, &base));
        assert!(!v.track_repeat(2, &base[..999]));
        // The same bytes there and the same length: a repeat.
        let mut v = PayloadVotes::new();
        assert!(!v.track_repeat(1, &base));
        assert!(v.track_repeat(2, &base));
        let mut between = base.clone();
        between[200] ^= 1;
        assert!(v.track_repeat(3, &between));
        // Up to 96 bytes, every byte counts.
        let short = &base[..96];
        let mut changed = short.to_vec();
        changed[50] ^= 1;
        let mut v = PayloadVotes::new();
        assert!(!v.track_repeat(1, short));
        assert!(!v.track_repeat(2, &changed));
    }

    #[test]
    fn parses_real_srtcp_trailers() {
        let expected = [3, 2, 5, 10];
        for (h, idx) in SRTCP_MEET.iter().zip(expected) {
            let buf = hex(h);
            let e = looks_like_srtcp(&buf);
            assert_eq!(
                e,
                SrtcpEvidence::Srtcp {
                    tag_len: 0,
                    trailer: SrtcpIndex {
                        encrypted: true,
                        index: idx
                    }
                },
                "{h}"
            );
            assert_eq!(srtcp_trailer(&buf, 0).unwrap().index, idx);
        }
        assert_eq!(looks_like_srtcp(&hex(RTCP_PLAIN)), SrtcpEvidence::Plain);
    }

    #[test]
    fn parses_synthetic_srtcp_with_80_and_32_bit_tags() {
        let plain = hex(RTCP_PLAIN);
        for tag_len in [10usize, 4] {
            let mut srtcp = plain[..8].to_vec();
            srtcp.extend(aes_ctr(0x5a33_61b3, 1, &plain[8..]));
            srtcp.extend((0x8000_0000u32 | 41).to_be_bytes());
            srtcp.extend(vec![0xa5; tag_len]);
            match looks_like_srtcp(&srtcp) {
                SrtcpEvidence::Srtcp {
                    tag_len: t,
                    trailer,
                } => {
                    assert_eq!(t as usize, tag_len);
                    assert_eq!(
                        trailer,
                        SrtcpIndex {
                            encrypted: true,
                            index: 41
                        }
                    );
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn rejects_non_rtcp_and_short_srtcp() {
        assert_eq!(looks_like_srtcp(&[]), SrtcpEvidence::NotRtcp);
        assert_eq!(
            looks_like_srtcp(&[0x80, 0x08, 0, 1, 0, 0, 0, 0]),
            SrtcpEvidence::NotRtcp
        );
        assert_eq!(srtcp_trailer(&[0x80, 0xc9, 0, 1], 0), None);
        assert_eq!(srtcp_trailer(&[0u8; 12], usize::MAX), None);
        // The first length runs past the datagram.
        assert_eq!(
            looks_like_srtcp(&[0x80, 0xc9, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8]),
            SrtcpEvidence::Unknown
        );
    }

    /// A ZRTP Hello built per RFC 6189 section 5.2 (client id "vcscope test",
    /// zeroed hashes and ZID, no algorithms), with its CRC-32C.
    fn zrtp_hello() -> Vec<u8> {
        let mut p = vec![0x10, 0x00, 0x00, 0x01];
        p.extend(ZRTP_MAGIC_COOKIE.to_be_bytes());
        p.extend(0x1234_5678u32.to_be_bytes());
        let body_words = 1 + 4 + 8 + 3 + 1 + 2; // version .. flags, MAC
        p.extend(ZRTP_PREAMBLE.to_be_bytes());
        p.extend(((3 + body_words) as u16).to_be_bytes());
        p.extend(b"Hello   ");
        p.extend(b"1.10");
        p.extend(b"vcscope test    ");
        p.extend([0u8; 32 + 12 + 4 + 8]);
        let crc = crc32c(&p);
        p.extend(crc.to_be_bytes());
        p
    }

    #[test]
    fn parses_zrtp_hello() {
        let buf = zrtp_hello();
        let z = ZrtpPacket::new_checked(&buf).unwrap();
        assert_eq!(z.message_type(), ZrtpMessageType::Hello);
        assert_eq!(z.message_type().as_str(), "Hello");
        assert_eq!(z.sequence_number(), 1);
        assert_eq!(z.ssrc(), crate::rtp::Ssrc(0x1234_5678));
        assert_eq!(z.message_len(), buf.len() - 16);
        assert_eq!(z.hello_version(), Some(*b"1.10"));
        assert_eq!(z.hello_client_id(), Some(&b"vcscope test    "[..]));
        assert!(z.crc_ok());
        assert_eq!(
            crate::demux::PacketClass::of(&buf),
            crate::demux::PacketClass::Zrtp
        );
    }

    #[test]
    fn parses_every_zrtp_message_type() {
        let names: [&[u8; 8]; 16] = [
            b"Hello   ",
            b"HelloACK",
            b"Commit  ",
            b"DHPart1 ",
            b"DHPart2 ",
            b"Confirm1",
            b"Confirm2",
            b"Conf2ACK",
            b"Error   ",
            b"ErrorACK",
            b"GoClear ",
            b"ClearACK",
            b"SASrelay",
            b"RelayACK",
            b"Ping    ",
            b"PingACK ",
        ];
        for name in names {
            let t = ZrtpMessageType::from_block(*name);
            assert!(!matches!(t, ZrtpMessageType::Unknown(_)));
            let text = core::str::from_utf8(name).unwrap().trim_end();
            assert_eq!(t.as_str(), text);
        }
        assert_eq!(
            ZrtpMessageType::from_block(*b"Future  "),
            ZrtpMessageType::Unknown(*b"Future  ")
        );
    }

    #[test]
    fn parses_crc32c_check_value() {
        // RFC 3720 appendix B.4: 32 bytes of zeros.
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn rejects_bad_zrtp() {
        let good = zrtp_hello();
        let mut crc = good.clone();
        *crc.last_mut().unwrap() ^= 1;
        assert!(!ZrtpPacket::new_checked(&crc).unwrap().crc_ok());
        let mut cookie = good.clone();
        cookie[4] = b'X';
        assert_eq!(
            ZrtpPacket::new_checked(&cookie).unwrap_err().kind,
            ErrorKind::NotThisProtocol
        );
        let mut first = good.clone();
        first[0] = 0x80;
        assert_eq!(
            ZrtpPacket::new_checked(&first).unwrap_err().kind,
            ErrorKind::NotThisProtocol
        );
        let mut preamble = good.clone();
        preamble[12] = 0;
        assert_eq!(
            ZrtpPacket::new_checked(&preamble).unwrap_err().kind,
            ErrorKind::Malformed
        );
        assert_eq!(
            ZrtpPacket::new_checked(&good[..good.len() - 1])
                .unwrap_err()
                .kind,
            ErrorKind::BadLength
        );
        let mut short = good.clone();
        short[15] = 2;
        assert_eq!(
            ZrtpPacket::new_checked(&short).unwrap_err().kind,
            ErrorKind::BadLength
        );
    }

    fn walk(buf: &[u8]) {
        let _ = looks_like_srtcp(buf);
        for tag in SRTCP_TAG_LENS {
            let _ = srtcp_trailer(buf, tag);
        }
        let mut votes = PayloadVotes::new();
        for (pt, hint) in [
            (0, None),
            (8, None),
            (13, None),
            (101, Some("telephone-event")),
            (111, Some("opus")),
            (96, Some("VP8")),
            (98, Some("VP9")),
            (102, Some("H264")),
            (100, Some("H265")),
            (45, Some("AV1")),
            (120, None),
        ] {
            votes.observe(pt, hint, buf);
        }
        let _ = (votes.verdict(), votes.distinct_first_bytes());
        if let Ok(z) = ZrtpPacket::new_checked(buf) {
            let _ = (z.sequence_number(), z.ssrc(), z.message_type().as_str());
            let _ = (z.message_len(), z.hello_version(), z.hello_client_id());
            let _ = (z.crc(), z.crc_ok());
        }
    }

    #[test]
    fn rejects_nothing_with_a_panic_sweep() {
        let mut vectors: Vec<Vec<u8>> = vec![zrtp_hello(), hex(RTCP_PLAIN)];
        vectors.extend(SRTCP_MEET.iter().map(|h| hex(h)));
        vectors.extend(OPUS_PLAIN.iter().take(3).map(|h| hex(h)));
        vectors.extend(SRTP_VIDEO.iter().take(2).map(|h| hex(h)));
        vectors.extend(h264_plain_stream().into_iter().take(2).map(|mut v| {
            v.truncate(40);
            v
        }));
        vectors.push(vp8_plain_stream()[0][..40].to_vec());
        vectors.push(hex(HEPLIFY_PCMA[0])[..40].to_vec());
        vectors.push(vec![0xfb, 0xc3, 0x81, 0xff, 0x05, 0x02, 0x03]); // Opus code 3, VBR, padding
        vectors.push(vec![0x8e, 0xa2, 0x10, 0x07, 0x01, 0xff, 0x02, 0x03]); // VP9 flexible + SS
        vectors.push(vec![0x78, 0x00, 0x02, 0x09, 0x10, 0x00, 0x01, 0x06]); // STAP-A
        vectors.push(vec![0x00, 0x85, 0x80, 0x80, 0x01, 0x08]); // AV1, long LEB128
        for v in &vectors {
            for len in 0..=v.len() {
                walk(&v[..len]);
            }
            for i in 0..v.len() {
                for f in [|b: u8| b ^ 0xff, |_| 0x00, |_| 0xff] {
                    let mut m = v.clone();
                    m[i] = f(m[i]);
                    walk(&m);
                }
            }
        }
    }
}

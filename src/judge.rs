//! Judgement: evidence in, verdicts out. Pure functions, no tables, no
//! I/O: a flow's encryption with the evidence named ([`flow_encryption`]),
//! an RTP stream's ([`stream_encryption`]), a call's `encrypted` field
//! ([`call_encrypted`]) and its sentence ([`verdict_sentence`]). The unit
//! tests at the bottom build evidence by hand; no capture is needed.

use vcscope_dissectors::srtp::MediaEncryption;

use crate::calls::dialog::{Call, CallState, KeyExchange};
use crate::evidence::{FlowState, Proto, Stream};
use crate::report::MediaOut;

/// Flow encryption as the report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encryption {
    None,
    Srtp,
    DtlsSrtp,
    Tls,
    Dtls,
    Quic,
    Zrtp,
    Unknown,
}

impl Encryption {
    pub fn as_str(self) -> &'static str {
        match self {
            Encryption::None => "none",
            Encryption::Srtp => "srtp",
            Encryption::DtlsSrtp => "dtls-srtp",
            Encryption::Tls => "tls",
            Encryption::Dtls => "dtls",
            Encryption::Quic => "quic",
            Encryption::Zrtp => "zrtp",
            Encryption::Unknown => "unknown",
        }
    }
    pub fn is_encrypted(self) -> bool {
        !matches!(self, Encryption::None | Encryption::Unknown)
    }
}

/// What the signalling declared for a flow's media, if it is a call's media.
#[derive(Debug, Clone, Copy, Default)]
pub struct Declared {
    pub key_exchange: Option<KeyExchange>,
    pub secure_profile: Option<bool>,
    /// Another flow with the same local ICE endpoint ran the DTLS-SRTP
    /// handshake (ICE moved the media to this 5-tuple afterwards).
    pub dtls_on_flow: Option<u32>,
}

/// The accepted RTP streams of a flow.
pub fn accepted_streams(st: &FlowState) -> Vec<&Stream> {
    let forced = st.media_call.is_some()
        || st.protocols.contains(Proto::Stun)
        || st.protocols.contains(Proto::Dtls)
        || st.protocols.contains(Proto::TurnChannelData);
    st.media
        .as_deref()
        .map(|m| m.accepted_streams(forced).collect())
        .unwrap_or_default()
}

/// Decides a flow's encryption from its evidence; returns the evidence used.
pub fn flow_encryption(st: &FlowState, decl: Declared) -> (Encryption, Vec<String>) {
    let mut ev = Vec::new();
    let m = st.media.as_deref();
    let dtls = m.and_then(|m| m.dtls.as_deref());
    let own_use_srtp = dtls.is_some_and(|d| d.use_srtp_offered || d.srtp_profile.is_some());
    let use_srtp = own_use_srtp || decl.dtls_on_flow.is_some();
    let zrtp = m.is_some_and(|m| m.zrtp_packets > 0);
    let srtcp = m.map_or(0, |m| m.srtcp);
    let rtcp_plain = m.map_or(0, |m| m.rtcp_plain);
    let ss = accepted_streams(st);
    let sdp_secure = decl.secure_profile;
    if !ss.is_empty() || srtcp > 0 || rtcp_plain > 0 {
        let context_secure = if use_srtp || zrtp || srtcp > 0 {
            Some(true)
        } else {
            sdp_secure
        };
        let verdicts: Vec<MediaEncryption> = ss
            .iter()
            .map(|s| stream_encryption(s, context_secure))
            .collect();
        let plain = verdicts
            .iter()
            .filter(|v| **v == MediaEncryption::Plain)
            .count();
        let enc = verdicts
            .iter()
            .filter(|v| **v == MediaEncryption::Encrypted)
            .count();
        if plain > 0 {
            ev.push(format!(
                "payload: {plain} stream(s) carry recognisable codec data in clear"
            ));
            if sdp_secure == Some(true) {
                ev.push("sdp declares SRTP, but the payload is readable".into());
            }
            return (Encryption::None, ev);
        }
        if use_srtp {
            match decl.dtls_on_flow.filter(|_| !own_use_srtp) {
                Some(id) => ev.push(format!(
                    "dtls handshake with use_srtp on flow {id}, which shares this flow's ICE endpoint"
                )),
                None => ev.push("dtls handshake with use_srtp on this 5-tuple".into()),
            }
            if let Some(p) = dtls.and_then(|d| d.srtp_profile) {
                ev.push(format!("srtp profile {}", srtp_profile_name(p)));
            }
            return (Encryption::DtlsSrtp, ev);
        }
        if zrtp {
            ev.push("zrtp key agreement on this 5-tuple".into());
            return (Encryption::Zrtp, ev);
        }
        if srtcp > 0 {
            ev.push(format!("{srtcp} srtcp packet(s) with the E flag and index"));
        }
        if enc > 0 {
            ev.push(format!(
                "payload: {enc} stream(s) look random (no codec structure)"
            ));
        }
        match (decl.key_exchange, sdp_secure) {
            (Some(KeyExchange::Sdes), _) => ev.push("sdp a=crypto (sdes keys)".into()),
            (Some(KeyExchange::Dtls), _) => ev.push("sdp a=fingerprint, UDP/TLS profile".into()),
            (_, Some(false)) => ev.push("sdp declares plain RTP (no SRTP negotiated)".into()),
            _ => {}
        }
        if enc > 0 || srtcp > 0 || sdp_secure == Some(true) {
            if decl.key_exchange == Some(KeyExchange::Dtls) {
                return (Encryption::DtlsSrtp, ev);
            }
            return (Encryption::Srtp, ev);
        }
        if sdp_secure == Some(false) {
            return (Encryption::None, ev);
        }
        if rtcp_plain > 0 && ss.is_empty() {
            ev.push("rtcp in clear".into());
            return (Encryption::None, ev);
        }
        ev.push("payload evidence too thin".into());
        return (Encryption::Unknown, ev);
    }
    let p = st.protocols;
    if p.contains(Proto::Dtls) {
        ev.push("dtls records".into());
        if use_srtp {
            ev.push("use_srtp negotiated, no media seen".into());
        }
        return (Encryption::Dtls, ev);
    }
    if p.contains(Proto::Tls) {
        ev.push("tls handshake".into());
        return (Encryption::Tls, ev);
    }
    if p.contains(Proto::Quic) {
        ev.push("quic packets".into());
        return (Encryption::Quic, ev);
    }
    if zrtp {
        ev.push("zrtp messages".into());
        return (Encryption::Zrtp, ev);
    }
    if p.contains(Proto::Sip) || p.contains(Proto::Dns) || p.contains(Proto::Http) {
        ev.push("cleartext protocol".into());
        return (Encryption::None, ev);
    }
    if p.contains(Proto::Stun) && !p.contains(Proto::TurnChannelData) {
        ev.push("stun messages are cleartext".into());
        return (Encryption::None, ev);
    }
    (Encryption::Unknown, ev)
}

fn srtp_profile_name(p: u16) -> String {
    vcscope_dissectors::tls::SrtpProfile::from(p)
        .name()
        .map_or_else(|| format!("0x{p:04x}"), str::to_string)
}

/// One plain-English sentence a non-expert understands.
pub fn verdict_sentence(
    call: &Call,
    encrypted: &str,
    sig_encrypted: bool,
    media_seen: bool,
    media: &[MediaOut],
) -> String {
    let sig = if sig_encrypted {
        "encrypted signalling (SIP over TLS)".to_string()
    } else {
        format!("cleartext SIP over {}", call.sig_transport.to_uppercase())
    };
    let kinds: Vec<&str> = {
        let mut k: Vec<&str> = media.iter().map(|m| m.kind).collect();
        k.dedup();
        k
    };
    let what = if kinds.is_empty() {
        "media".to_string()
    } else {
        kinds.join(" and ")
    };
    match encrypted {
        "keys-exposed" => format!(
            "Not private: the {what} is SRTP, but its keys were sent in {sig}, so anyone who captured the signalling can decrypt the call."
        ),
        "no" if media_seen => format!(
            "Not encrypted: the {what} travels as plain RTP ({sig}); anyone on the path can listen to this call."
        ),
        "no" => format!(
            "Not encrypted: the SDP ({sig}) sets up plain RTP {what}; the media itself was not in the capture."
        ),
        "yes" if media_seen => {
            let how = media.iter().find(|m| m.seen).map_or("srtp", |m| m.encryption);
            format!("Encrypted: the {what} is protected ({how}) and its keys were not exposed ({sig}).")
        }
        "yes" => format!(
            "Encryption declared: the SDP ({sig}) negotiates protected {what}, but the media was not in the capture."
        ),
        _ => match call.state {
            CallState::Cancelled | CallState::Failed if media.is_empty() => format!(
                "Call not set up ({}), no media: nothing to decrypt; the signalling itself was {sig}.",
                call.final_status.map_or_else(|| call.state.as_str().to_string(), |s| format!("final status {s}"))
            ),
            _ if media.is_empty() => format!("No media negotiated in the capture; the signalling was {sig}."),
            _ => format!("Unknown: the media could not be classified from the capture ({sig})."),
        },
    }
}

/// Whether a flow's media is in a secure context: keyed on this 5-tuple
/// (DTLS with use_srtp, ZRTP, SRTCP), else what the SDP declared.
pub fn context_secure(st: &FlowState, decl: Declared) -> Option<bool> {
    let m = st.media.as_deref();
    if m.and_then(|m| m.dtls.as_deref())
        .is_some_and(|d| d.use_srtp_offered || d.srtp_profile.is_some())
        || m.is_some_and(|m| m.zrtp_packets > 0 || m.srtcp > 0)
    {
        Some(true)
    } else {
        decl.secure_profile
    }
}

/// A call's `encrypted` field from its media entries: `keys-exposed` when
/// any SDES key travelled in cleartext signalling, `no` when any media is
/// plain, `yes` when all of it is encrypted, else `unknown`.
pub fn call_encrypted(
    has_media: bool,
    any_exposed: bool,
    any_plain: bool,
    all_encrypted: bool,
) -> &'static str {
    if !has_media {
        "unknown"
    } else if any_exposed {
        "keys-exposed"
    } else if any_plain {
        "no"
    } else if all_encrypted {
        "yes"
    } else {
        "unknown"
    }
}

/// A stream's encryption: the payload votes, completed by the context when
/// they are too thin (a secure context — SDP SAVP, DTLS use_srtp, ZRTP,
/// SRTCP — makes it encrypted; SDP declaring plain RTP makes it plain unless
/// the payload looks random).
pub fn stream_encryption(s: &Stream, context_secure: Option<bool>) -> MediaEncryption {
    let v = &s.votes;
    match (v.verdict(), context_secure) {
        (MediaEncryption::Unknown, Some(true)) if v.plain() <= v.encrypted() + v.unknown() => {
            MediaEncryption::Encrypted
        }
        (MediaEncryption::Unknown, Some(false)) if v.plain() >= v.encrypted() => {
            MediaEncryption::Plain
        }
        (verdict, _) => verdict,
    }
}

//! Judgement: evidence in, verdicts out. Pure functions, no tables, no
//! I/O: a flow's encryption with the evidence named ([`flow_encryption`]),
//! an RTP stream's ([`stream_encryption`]), a call's `encrypted` field from
//! all of its media weighted by packets ([`call_encrypted`]), a SIP call's
//! sentence ([`verdict_sentence`]) and an inferred call's `encrypted`,
//! `encryption_ends` and sentence ([`inferred_call`]; when its media cannot
//! be classified, the app's documented policy with `encryption_basis:
//! policy`): the one place these are decided. The app's documented policy comes in as a value
//! (`apps::policy`), never as a table read here. The unit tests at the
//! bottom build evidence by hand; no capture is needed.

use vcscope_dissectors::srtp::MediaEncryption;

use crate::apps::policy::MediaEnds;
use crate::calls::dialog::{CallState, KeyExchange};
use crate::calls::infer::{Hop, InferredFacts};
use crate::evidence::{FlowState, Proto, Stream};
use crate::report::{MediaOut, RtpStreamOut};

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

/// What a call's sentence says of its signalling.
#[derive(Debug, Clone, Copy)]
pub struct SignallingFacts {
    /// "udp", "tcp", "tls", "ws", "wss".
    pub sig_transport: &'static str,
    pub state: CallState,
    pub final_status: Option<u16>,
}

/// One plain-English sentence a non-expert understands. `share` names the
/// part of the traffic the analysis saw when it saw only a part (a thread
/// of `--threads` streaming, a sensor of `--partition`): media not seen
/// may then be in another part.
pub fn verdict_sentence(
    call: &SignallingFacts,
    cm: &CallMedia,
    sig_encrypted: bool,
    media_seen: bool,
    media: &[MediaOut],
    share: Option<&str>,
) -> String {
    let unseen = match share {
        None => "the media itself was not in the capture".to_string(),
        Some(part) => format!(
            "the media was not in {part} (the traffic is split by client, so media \
             between other hosts than the signalling's can fall to another part)"
        ),
    };
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
    match cm.encrypted {
        "keys-exposed" => format!(
            "Not private: the {what} is SRTP, but its keys were sent in {sig}, so anyone who captured the signalling can decrypt the call."
        ),
        "no" if media_seen => format!(
            "Not encrypted: the {what} travels as plain RTP ({sig}); anyone on the path can listen to this call."
        ),
        "no" => format!(
            "Not encrypted: the SDP ({sig}) sets up plain RTP {what}; {unseen}."
        ),
        "yes" if media_seen => {
            let how = media
                .iter()
                .find(|m| m.seen && m.encryption != "unknown")
                .map_or("srtp", |m| m.encryption);
            let how = format!("{how}{}", remainder(cm));
            format!("Encrypted: the {what} is protected ({how}) and its keys were not exposed ({sig}).")
        }
        "yes" => format!(
            "Encryption declared: the SDP ({sig}) negotiates protected {what}, but {unseen}."
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

/// One media entry of a call as the judgement weighs it: its encryption
/// (a flow's `encryption` or what the SDP declared) and its packets (0 for
/// media declared but not seen).
#[derive(Debug, Clone, Copy)]
pub struct MediaShare {
    pub encryption: &'static str,
    pub packets: u64,
    pub seen: bool,
}

/// Share of a call's seen media packets that may stay unclassified while
/// the rest decides the call: a short flow of a few packets (ICE probing a
/// candidate, the first packets before a switch) does not sink a call
/// whose other flows are plainly encrypted; it is named instead.
pub const UNCLASSIFIED_SHARE_MAX: f64 = 0.1;

/// A call's `encrypted` field and what was left out of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallMedia {
    /// `keys-exposed`, `no`, `yes` or `unknown`.
    pub encrypted: &'static str,
    /// Packets and flows of seen media not classified that a `yes` leaves aside.
    pub unclassified_packets: u64,
    pub unclassified_flows: usize,
}

/// A call's `encrypted` field from all of its media, weighted by packets:
/// `keys-exposed` when any SDES key travelled in cleartext signalling, `no`
/// when any media is plain, `yes` when the classified media is all
/// encrypted and what is not classified is seen media of at most
/// [`UNCLASSIFIED_SHARE_MAX`] of the packets (it is counted in the
/// result), else `unknown`.
pub fn call_encrypted(any_exposed: bool, media: &[MediaShare]) -> CallMedia {
    let verdict = |encrypted| CallMedia {
        encrypted,
        unclassified_packets: 0,
        unclassified_flows: 0,
    };
    if media.is_empty() {
        return verdict("unknown");
    }
    if any_exposed {
        return verdict("keys-exposed");
    }
    if media.iter().any(|m| m.encryption == "none") {
        return verdict("no");
    }
    let unknown = |m: &&MediaShare| m.encryption == "unknown";
    if !media.iter().any(|m| unknown(&m)) {
        return verdict("yes");
    }
    let total: u64 = media.iter().filter(|m| m.seen).map(|m| m.packets).sum();
    let left: Vec<&MediaShare> = media.iter().filter(unknown).collect();
    let left_packets: u64 = left.iter().map(|m| m.packets).sum();
    let classified = media
        .iter()
        .any(|m| m.seen && !unknown(&m) && m.packets > 0);
    if classified
        && left.iter().all(|m| m.seen)
        && (left_packets as f64) <= UNCLASSIFIED_SHARE_MAX * total as f64
    {
        return CallMedia {
            encrypted: "yes",
            unclassified_packets: left_packets,
            unclassified_flows: left.len(),
        };
    }
    verdict("unknown")
}

/// "; 16 packets of one short flow not classified", or nothing.
fn remainder(m: &CallMedia) -> String {
    match m.unclassified_flows {
        0 => String::new(),
        1 => format!(
            "; {} packets of one short flow not classified",
            m.unclassified_packets
        ),
        n => format!(
            "; {} packets of {n} short flows not classified",
            m.unclassified_packets
        ),
    }
}

/// A call inferred from its media, judged: `encrypted`, `encryption_ends`
/// and the sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InferredJudgement {
    pub encrypted: &'static str,
    pub encryption_ends: &'static str,
    /// `measured` (from the media in the capture) or `policy` (the app's
    /// documented policy, the payload could not be checked).
    pub encryption_basis: &'static str,
    pub verdict: String,
}

/// Where an encrypted media flow is decrypted, from where it goes and the
/// app's documented policy (`None`: no policy known).
fn media_end(hop: Hop, policy: Option<MediaEnds>) -> &'static str {
    match (hop, policy) {
        // Peers on the local network, or a public address no operator
        // owns when the app is known (the other peer, behind its NAT).
        (Hop::Internal, _) | (Hop::PublicUnknown, Some(_)) => "peer",
        (Hop::PublicUnknown, None) => "unknown",
        // A relay or a server of the operator: the app's policy says who
        // holds the keys.
        (Hop::Relay | Hop::OperatorServer, Some(MediaEnds::Peer)) => "peer",
        (Hop::Relay | Hop::OperatorServer, Some(MediaEnds::ProviderServer)) => "provider-server",
        (Hop::Relay | Hop::OperatorServer, Some(MediaEnds::ProviderUnlessE2ee)) => {
            "provider-server-unless-e2ee"
        }
        (Hop::Relay | Hop::OperatorServer, None) => "unknown",
    }
}

/// Judges a call inferred from its media: the one place that decides its
/// `encrypted`, `encryption_ends` and sentence.
pub fn inferred_call(f: &InferredFacts) -> InferredJudgement {
    let shares: Vec<MediaShare> = f
        .media
        .iter()
        .map(|m| MediaShare {
            encryption: m.encryption,
            packets: m.packets,
            seen: true,
        })
        .collect();
    let cm = call_encrypted(false, &shares);
    // Media the capture cannot classify (an app's own framing, RTP whose
    // payload gives no verdict) of an app whose provider documents that its
    // media is encrypted: encrypted by that policy, said as such. Media seen
    // in clear is never overridden.
    let by_policy = cm.encrypted == "unknown" && f.policy.is_some() && f.provider.is_some();
    let encrypted = if by_policy { "yes" } else { cm.encrypted };
    let ends: Vec<&'static str> = f
        .media
        .iter()
        .filter(|m| by_policy || m.encryption != "unknown")
        .map(|m| media_end(m.hop, f.policy))
        .collect();
    let encryption_ends = if encrypted != "yes" {
        // Nothing to decrypt (plain media) or not known to be encrypted.
        "unknown"
    } else if ends.contains(&"provider-server") {
        "provider-server"
    } else if ends.contains(&"provider-server-unless-e2ee") {
        "provider-server-unless-e2ee"
    } else if !ends.is_empty() && ends.iter().all(|e| *e == "peer") {
        "peer"
    } else {
        "unknown"
    };
    let (verdict, encryption_basis) = match (by_policy, f.provider) {
        (true, Some(name)) => (policy_sentence(f, name, encryption_ends), "policy"),
        _ => (inferred_sentence(f, &cm, encryption_ends), "measured"),
    };
    InferredJudgement {
        encrypted,
        encryption_ends,
        encryption_basis,
        verdict,
    }
}

/// The TURN relays media went through and those allocated, unused, by
/// operator (empty when not known).
fn relay_operators(f: &InferredFacts) -> (Vec<String>, Vec<String>) {
    let ops = |used: bool| {
        f.relays
            .iter()
            .filter(|r| r.used == used)
            .map(|r| r.operator.clone().unwrap_or_default())
            .collect()
    };
    (ops(true), ops(false))
}

/// " of Meta" when every operator named is the same one, else nothing.
fn of_operator(ops: &[String]) -> String {
    match ops.first() {
        Some(o) if !o.is_empty() && ops.iter().all(|x| x == o) => format!(" of {o}"),
        _ => String::new(),
    }
}

/// " A TURN relay of X was allocated, unused." or nothing.
fn unused_note(unused: &[String]) -> String {
    match unused.len() {
        0 => String::new(),
        1 => format!(
            " A TURN relay{} was allocated, unused.",
            of_operator(unused)
        ),
        n => format!(
            " {n} TURN relays{} were allocated, unused.",
            of_operator(unused)
        ),
    }
}

/// The sentence of a call encrypted by its app's documented policy: its
/// payload could not be checked, and the sentence says so.
fn policy_sentence(f: &InferredFacts, name: &str, ends: &str) -> String {
    let who = f
        .app
        .as_deref()
        .map_or_else(|| "This call".to_string(), |a| format!("This {a} call"));
    let (used, unused) = relay_operators(f);
    let op = f.operator.as_deref().unwrap_or(name);
    let unchecked = "the payload itself cannot be checked from the capture";
    let main = match (ends, f.policy) {
        ("peer", Some(MediaEnds::Peer)) if !used.is_empty() => format!(
            "{who} is encrypted per {name}'s documented end-to-end policy, so end to end between the peers; a relay{} forwards it without the keys; {unchecked}.",
            of_operator(&used)
        ),
        ("peer", Some(MediaEnds::Peer)) => format!(
            "{who} is encrypted per {name}'s documented end-to-end policy, so end to end; the media went direct to the other peer's address, through no relay of this client; {unchecked}."
        ),
        ("peer", _) => format!(
            "{who} is encrypted per {name}'s documented policy, and its media went direct to the other peer's address, where it is decrypted (end to end); {unchecked}."
        ),
        ("provider-server", _) => format!(
            "{who} is encrypted per {name}'s documented policy to {op}'s servers, which decrypt it: not end to end; {unchecked}."
        ),
        ("provider-server-unless-e2ee", _) => format!(
            "{who} is encrypted per {name}'s documented policy to {op}'s servers; the provider's servers can decrypt it unless the meeting enabled end-to-end encryption, which is not visible on the wire; {unchecked}."
        ),
        _ => format!(
            "{who} is encrypted per {name}'s documented policy; where it is decrypted is not known; {unchecked}."
        ),
    };
    format!("{main}{}", unused_note(&unused))
}

fn inferred_sentence(f: &InferredFacts, cm: &CallMedia, ends: &str) -> String {
    let who = f
        .app
        .as_deref()
        .map_or_else(|| "This call".to_string(), |a| format!("This {a} call"));
    let how = f
        .media
        .iter()
        .map(|m| m.encryption)
        .find(|e| !matches!(*e, "none" | "unknown"))
        .unwrap_or("srtp");
    let how = format!("{how}{}", remainder(cm));
    let op = f
        .operator
        .as_deref()
        .map_or_else(|| "the provider".to_string(), str::to_string);
    let of = |ops: &[String]| match ops.first() {
        Some(o) if ops.iter().all(|x| x == o) => format!(" of {o}"),
        _ => String::new(),
    };
    let (used, unused) = relay_operators(f);
    let unused_note = match unused.len() {
        0 => String::new(),
        1 => format!(" A TURN relay{} was allocated, unused.", of(&unused)),
        n => format!(" {n} TURN relays{} were allocated, unused.", of(&unused)),
    };
    let signalling = match f.signalling {
        Some((p, t)) => format!(
            "signalling seen: {} over {}",
            p.to_uppercase(),
            t.to_uppercase()
        ),
        None => "no signalling seen".to_string(),
    };
    let main = match (cm.encrypted, ends) {
        ("no", _) => format!("{who} sends media in clear: anyone on the path can listen."),
        ("yes", "provider-server") => format!(
            "{who} is encrypted on the wire ({how}), but the media goes to {op}'s servers, which decrypt it: not end to end."
        ),
        ("yes", "provider-server-unless-e2ee") => format!(
            "{who} is encrypted on the wire ({how}) to {op}'s servers; the provider's servers can decrypt it unless the meeting enabled end-to-end encryption, which is not visible on the wire."
        ),
        ("yes", "peer") if !used.is_empty() => format!(
            "{who} is encrypted ({how}) end to end between the peers; a TURN relay{} forwards it without the keys.",
            of(&used)
        ),
        ("yes", "peer") => format!(
            "{who} is encrypted ({how}) end to end; the media went direct to the other peer's address, through no relay of this client."
        ),
        ("yes", _) => format!("{who} is encrypted on the wire ({how}); where it is decrypted is not known."),
        _ => format!("{who}: the media could not be classified from the capture ({signalling})."),
    };
    format!("{main}{unused_note}")
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

/// A codec's equipment impairment factor `Ie` and packet-loss robustness
/// `Bpl` (ITU-T G.113 Appendix I, Tables I.1 and I.3), and whether those
/// values are published for it. G.711 is taken with packet loss
/// concealment (G.711 Appendix I). Codecs without values here (Opus,
/// iLBC, AMR, G.722, unknown) get G.711's, and the result is an estimate.
pub fn codec_impairment(codec: Option<&str>) -> (f64, f64, bool) {
    match codec.map(str::to_ascii_uppercase).as_deref() {
        Some("PCMU" | "PCMA" | "G711" | "G.711") => (0.0, 25.1, true),
        Some("G729" | "G729A" | "G.729" | "G.729A") => (11.0, 19.0, true),
        Some("G723" | "G.723" | "G723.1" | "G.723.1") => (15.0, 16.1, true),
        _ => (0.0, 25.1, false),
    }
}

/// What the E-model estimate is made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EModelIn {
    /// `Ie`, `Bpl` of the codec.
    pub ie: f64,
    pub bpl: f64,
    /// Effective loss (lost and late over expected), 0..=1.
    pub ppl: f64,
    /// Burst ratio (1 for random loss).
    pub burst_r: f64,
    /// Absolute one-way delay `Ta` (ms).
    pub ta_ms: f64,
}

/// The E-model's figures for one stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EModelOut {
    pub r: f64,
    pub mos: f64,
    /// The delay impairment `Id` (here `Idd`) and the effective equipment
    /// impairment `Ie,eff`.
    pub id: f64,
    pub ie_eff: f64,
}

/// ITU-T G.107 (06/2015) section 7.3, `Idd`: the impairment of a pure
/// one-way delay `Ta` (ms) above 100 ms,
/// `X = lg(Ta/100) / lg 2`, `Idd = 25 ((1 + X^6)^(1/6) - 3 (1 + (X/3)^6)^(1/6) + 2)`.
/// Talker and listener echo (`Idte`, `Idle`) are taken as cancelled, so
/// `Id = Idd`.
pub fn delay_impairment(ta_ms: f64) -> f64 {
    if ta_ms <= 100.0 {
        return 0.0;
    }
    let x = (ta_ms / 100.0).log2();
    25.0 * ((1.0 + x.powi(6)).powf(1.0 / 6.0) - 3.0 * (1.0 + (x / 3.0).powi(6)).powf(1.0 / 6.0)
        + 2.0)
}

/// ITU-T G.107 (06/2015): with every other parameter at its default,
/// `R = 93.2 - Id - Ie,eff` (section 7.1), where
/// `Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)` with `Ppl` in
/// percent (section 7.4), kept at most 95; R is kept within 0..=100.
pub fn e_model(i: &EModelIn) -> EModelOut {
    let ppl = (i.ppl * 100.0).clamp(0.0, 100.0);
    let burst = if i.burst_r > 0.0 { i.burst_r } else { 1.0 };
    // 95 is the loss term's ceiling (all packets lost, random loss): a
    // large BurstR at high loss would pass it.
    let ie_eff =
        (i.ie + (95.0 - i.ie) * ppl / (ppl / burst + i.bpl)).clamp(i.ie, 95.0_f64.max(i.ie));
    let id = delay_impairment(i.ta_ms);
    // R is defined on 0..=100 (G.107 Annex B).
    let r = (93.2 - id - ie_eff).clamp(0.0, 100.0);
    EModelOut {
        r,
        mos: mos_of(r),
        id,
        ie_eff,
    }
}

/// ITU-T G.107 Annex B: MOS (conversational quality) from R,
/// `1 + 0.035 R + 7e-6 R (R - 60) (100 - R)` for 0 < R < 100, 1 below, 4.5 above.
pub fn mos_of(r: f64) -> f64 {
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        1.0 + 0.035 * r + 7e-6 * r * (r - 60.0) * (100.0 - r)
    }
}

/// What takes R points from a stream, for [`limited_by`]: the codec's
/// `Ie`, the loss term `Ie,eff - Ie` split into what random loss of the
/// same rate would cost (shared between network loss and jitter-buffer
/// discards by their counts) and what burstiness adds on top, and `Id`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairments {
    pub codec: f64,
    pub loss: f64,
    pub burstiness: f64,
    pub jitter_buffer: f64,
    pub delay: f64,
}

impl Impairments {
    /// Splits an estimate made of `lost` network losses and `late`
    /// discards among `expected` packets.
    pub fn of(i: &EModelIn, q: &EModelOut, lost: f64, late: f64) -> Impairments {
        let random = e_model(&EModelIn { burst_r: 1.0, ..*i }).ie_eff;
        let loss_term = (q.ie_eff - i.ie).max(0.0);
        let burstiness = (q.ie_eff - random).clamp(0.0, loss_term);
        let shared = loss_term - burstiness;
        let late_share = if lost + late > 0.0 {
            late / (lost + late)
        } else {
            0.0
        };
        Impairments {
            codec: i.ie,
            loss: shared * (1.0 - late_share),
            burstiness,
            jitter_buffer: shared * late_share,
            delay: q.id,
        }
    }
}

/// The largest impairment: "codec", "loss", "burstiness",
/// "jitter-buffer" (late discards) or "delay"; "none" when all are
/// below 1 R point.
pub fn limited_by(m: &Impairments) -> &'static str {
    let mut best = ("none", 1.0);
    for (name, v) in [
        ("loss", m.loss),
        ("burstiness", m.burstiness),
        ("jitter-buffer", m.jitter_buffer),
        ("delay", m.delay),
        ("codec", m.codec),
    ] {
        if v >= best.1 {
            best = (name, v);
        }
    }
    best.0
}

/// G.107 section 7.4: `BurstR` = the mean length of the loss runs seen
/// over the mean length random loss of the same rate gives, `1 / (1 - p)`.
/// 1 without loss.
pub fn burst_ratio(mean_run: Option<f64>, p: f64) -> f64 {
    match mean_run {
        Some(m) if p < 1.0 => m * (1.0 - p),
        _ => 1.0,
    }
}

/// RFC 6464's client-to-mixer audio level extension.
pub const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// SDES item names by type (RFC 3550 section 6.5), NAME (2) to PRIV (8).
const SDES_NAMES: [&str; 7] = ["NAME", "EMAIL", "PHONE", "LOC", "TOOL", "NOTE", "PRIV"];

/// True for the findings [`header_findings`] makes (a call repeats its
/// flows' ones).
pub fn is_header_finding(f: &str) -> bool {
    [
        "voice activity exposed",
        "cryptex ",
        "end-to-end media encryption negotiated",
        "personal data in cleartext RTCP",
        "cleartext RTCP describes the sender",
    ]
    .iter()
    .any(|p| f.starts_with(p))
}

/// What the headers still tell under encryption (SRTP encrypts only the
/// payload: RFC 3711 section 3.1 leaves the RTP header and its extensions,
/// and RFC 3711 section 3.4 the first 8 octets of SRTCP, readable; plain
/// RTCP is readable whole):
///
/// * voice activity exposed: RFC 6464's audio level (its `V` bit and
///   level, RFC 6464 section 3) travelling in clear on an SRTP stream,
///   unless the block is encrypted by cryptex (RFC 9335);
/// * cryptex in use: header extensions encrypted (RFC 9335), on the wire
///   or offered in SDP (`a=cryptex`);
/// * `a=sframe` in SDP: end-to-end media encryption (SFrame, RFC 9605);
/// * SDES items other than CNAME in clear RTCP (`sdes_clear`, one bit per
///   item type): named, never their values.
pub fn header_findings(
    streams: &[RtpStreamOut],
    cryptex_sdp: bool,
    sframe_sdp: bool,
    sdes_clear: u16,
) -> Vec<String> {
    let mut out = Vec::new();
    for s in streams.iter().filter(|s| s.encrypted) {
        if let Some(e) = s
            .extensions
            .iter()
            .find(|e| e.uri.as_deref() == Some(AUDIO_LEVEL_URI))
        {
            let how = if e.uri_from == Some("sdp") {
                "named by a=extmap"
            } else {
                "told by its shape"
            };
            out.push(format!(
                "voice activity exposed: the audio level (RFC 6464, id {}, {how}) travels unencrypted under SRTP on SSRC {:#010x}; its V bit and level show who speaks when (cryptex, RFC 9335, would encrypt it)",
                e.id, s.ssrc
            ));
        }
    }
    if streams.iter().any(|s| s.header_extensions_encrypted) {
        out.push("cryptex in use (RFC 9335): RTP header extensions are encrypted".into());
    } else if cryptex_sdp {
        out.push(
            "cryptex offered in SDP (a=cryptex, RFC 9335): RTP header extensions to be encrypted"
                .into(),
        );
    }
    if sframe_sdp {
        out.push(
            "end-to-end media encryption negotiated: a=sframe in SDP (SFrame, RFC 9605)".into(),
        );
    }
    let items: Vec<&str> = SDES_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| sdes_clear & (1 << (i + 2)) != 0)
        .map(|(_, n)| *n)
        .collect();
    if !items.is_empty() {
        // NAME, EMAIL, PHONE and LOC describe a person; TOOL, NOTE and PRIV
        // the software or its state.
        let what = if sdes_clear & 0b11_1100 != 0 {
            "personal data in cleartext RTCP"
        } else {
            "cleartext RTCP describes the sender beyond its CNAME"
        };
        out.push(format!(
            "{what}: SDES {} sent in clear (values not reported)",
            items.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use vcscope_dissectors::rtp::RtpStreamStats;
    use vcscope_dissectors::srtp::{CipherReason, PayloadEvidence, PayloadVotes, PlainReason};

    use super::*;
    use crate::evidence::{DtlsFacts, MediaState, StunState};
    use crate::net::Direction;
    use crate::time::Nanos;

    /// An accepted RTP stream whose payloads voted `plain`, `random` and `unknown` times.
    fn stream(plain: u32, random: u32, unknown: u32) -> Stream {
        let mut votes = PayloadVotes::new();
        for _ in 0..plain {
            votes.add(PayloadEvidence::Plain(PlainReason::G711Samples));
        }
        for _ in 0..random {
            votes.add(PayloadEvidence::Encrypted(CipherReason::HighEntropy));
        }
        for _ in 0..unknown {
            votes.add(PayloadEvidence::Unknown);
        }
        Stream {
            ssrc: 0x1234_5678,
            dir: Direction::Forward,
            payload_type: 0,
            stats: RtpStreamStats::new(),
            votes,
            first_ts: Nanos::ZERO,
            last_ts: Nanos::ZERO,
            clock: Some(8000),
            clock_estimated: false,
            first_rtp_ts: 0,
            last_seq: 0,
            run: 2,
            accepted: true,
            relayed: false,
            series: Default::default(),
            ext: Default::default(),
            playout: Default::default(),
            frames: Default::default(),
        }
    }

    fn media_flow(streams: Vec<Stream>) -> FlowState {
        FlowState {
            media: Some(Box::new(MediaState {
                streams,
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    fn with_dtls_srtp(mut st: FlowState) -> FlowState {
        st.protocols.insert(Proto::Dtls);
        let m = st.media.get_or_insert_with(Default::default);
        m.dtls = Some(Box::new(DtlsFacts {
            records: 4,
            client_hello: true,
            server_hello: true,
            use_srtp_offered: true,
            srtp_profile: Some(0x0001),
            version: Some(0xfefd),
            application_data: 0,
        }));
        st
    }

    fn sdp(kx: KeyExchange, secure: bool) -> Declared {
        Declared {
            key_exchange: Some(kx),
            secure_profile: Some(secure),
            dtls_on_flow: None,
        }
    }

    #[test]
    fn plain_codec_payload_is_not_encrypted_whatever_the_sdp_says() {
        let st = media_flow(vec![stream(20, 0, 0)]);
        let (enc, ev) = flow_encryption(&st, sdp(KeyExchange::Sdes, true));
        assert_eq!(enc, Encryption::None);
        assert!(ev.iter().any(|e| e.contains("recognisable codec data")));
        assert!(ev.iter().any(|e| e.contains("sdp declares SRTP")));
    }

    #[test]
    fn random_payload_keyed_by_dtls_on_the_5_tuple_is_dtls_srtp() {
        let st = with_dtls_srtp(media_flow(vec![stream(0, 20, 0)]));
        let (enc, ev) = flow_encryption(&st, Declared::default());
        assert_eq!(enc, Encryption::DtlsSrtp);
        assert!(ev.iter().any(|e| e.contains("use_srtp on this 5-tuple")));
        assert!(ev.iter().any(|e| e.starts_with("srtp profile")));
    }

    #[test]
    fn dtls_on_a_flow_sharing_the_ice_endpoint_keys_this_one() {
        let st = media_flow(vec![stream(0, 20, 0)]);
        let decl = Declared {
            dtls_on_flow: Some(7),
            ..Declared::default()
        };
        let (enc, ev) = flow_encryption(&st, decl);
        assert_eq!(enc, Encryption::DtlsSrtp);
        assert!(ev.iter().any(|e| e.contains("flow 7")));
    }

    #[test]
    fn sdes_keyed_random_payload_is_srtp() {
        let st = media_flow(vec![stream(0, 20, 0)]);
        let (enc, ev) = flow_encryption(&st, sdp(KeyExchange::Sdes, true));
        assert_eq!(enc, Encryption::Srtp);
        assert!(ev.iter().any(|e| e.contains("a=crypto")));
    }

    #[test]
    fn thin_payload_evidence_without_context_stays_unknown() {
        let st = media_flow(vec![stream(0, 0, 3)]);
        let (enc, ev) = flow_encryption(&st, Declared::default());
        assert_eq!(enc, Encryption::Unknown);
        assert!(ev.iter().any(|e| e.contains("too thin")));
    }

    #[test]
    fn sdp_plain_profile_decides_an_undecided_stream() {
        let st = media_flow(vec![stream(0, 0, 10)]);
        let (enc, _) = flow_encryption(&st, sdp(KeyExchange::None, false));
        assert_eq!(enc, Encryption::None);
    }

    #[test]
    fn handshakes_without_media_name_their_protocol() {
        for (p, want) in [
            (Proto::Dtls, Encryption::Dtls),
            (Proto::Tls, Encryption::Tls),
            (Proto::Quic, Encryption::Quic),
            (Proto::Sip, Encryption::None),
            (Proto::Dns, Encryption::None),
        ] {
            let mut st = FlowState::default();
            st.protocols.insert(p);
            assert_eq!(flow_encryption(&st, Declared::default()).0, want, "{p:?}");
        }
    }

    #[test]
    fn stun_alone_is_cleartext_but_turn_channel_data_is_not_judged() {
        let mut st = FlowState {
            stun: Some(Box::new(StunState::default())),
            ..Default::default()
        };
        st.protocols.insert(Proto::Stun);
        assert_eq!(
            flow_encryption(&st, Declared::default()).0,
            Encryption::None
        );
        st.protocols.insert(Proto::TurnChannelData);
        assert_eq!(
            flow_encryption(&st, Declared::default()).0,
            Encryption::Unknown
        );
    }

    #[test]
    fn nothing_recognised_is_unknown() {
        let (enc, ev) = flow_encryption(&FlowState::default(), Declared::default());
        assert_eq!(enc, Encryption::Unknown);
        assert!(ev.is_empty());
    }

    #[test]
    fn a_secure_context_tips_an_undecided_stream_to_encrypted() {
        let s = stream(1, 2, 3);
        assert_eq!(stream_encryption(&s, None), MediaEncryption::Unknown);
        assert_eq!(
            stream_encryption(&s, Some(true)),
            MediaEncryption::Encrypted
        );
        let s = stream(2, 1, 3);
        assert_eq!(stream_encryption(&s, Some(false)), MediaEncryption::Plain);
    }

    #[test]
    fn context_is_secure_when_keyed_on_the_flow_else_as_declared() {
        let st = with_dtls_srtp(FlowState::default());
        assert_eq!(context_secure(&st, Declared::default()), Some(true));
        let st = FlowState::default();
        assert_eq!(
            context_secure(&st, sdp(KeyExchange::None, false)),
            Some(false)
        );
        assert_eq!(context_secure(&st, Declared::default()), None);
    }

    fn share(encryption: &'static str, packets: u64) -> MediaShare {
        MediaShare {
            encryption,
            packets,
            seen: true,
        }
    }

    fn judged(encrypted: &'static str) -> CallMedia {
        CallMedia {
            encrypted,
            unclassified_packets: 0,
            unclassified_flows: 0,
        }
    }

    #[test]
    fn call_encrypted_puts_exposed_keys_before_plain_media() {
        let e = |x, m: &[MediaShare]| call_encrypted(x, m).encrypted;
        assert_eq!(e(true, &[]), "unknown");
        assert_eq!(e(true, &[share("none", 10)]), "keys-exposed");
        assert_eq!(e(false, &[share("none", 10), share("srtp", 10)]), "no");
        assert_eq!(e(false, &[share("srtp", 10)]), "yes");
        assert_eq!(e(false, &[share("unknown", 10)]), "unknown");
    }

    #[test]
    fn call_encrypted_weighs_media_by_packets_and_names_the_rest() {
        // 498 SRTP packets on two flows, 16 unclassified on a third.
        let m = [share("srtp", 377), share("srtp", 121), share("unknown", 16)];
        assert_eq!(
            call_encrypted(false, &m),
            CallMedia {
                encrypted: "yes",
                unclassified_packets: 16,
                unclassified_flows: 1
            }
        );
        // Too much left unclassified: unknown.
        let m = [share("srtp", 100), share("unknown", 60)];
        assert_eq!(call_encrypted(false, &m).encrypted, "unknown");
        // Media declared and not seen cannot be weighed: unknown.
        let m = [
            share("srtp", 100),
            MediaShare {
                encryption: "unknown",
                packets: 0,
                seen: false,
            },
        ];
        assert_eq!(call_encrypted(false, &m).encrypted, "unknown");
    }

    fn facts(app: &str, policy: Option<MediaEnds>, hop: Hop, used: Option<bool>) -> InferredFacts {
        InferredFacts {
            app: Some(app.into()),
            policy,
            media: vec![crate::calls::infer::MediaFlowFacts {
                encryption: "srtp",
                packets: 500,
                hop,
            }],
            relays: used
                .map(|used| crate::calls::infer::RelayUse {
                    operator: Some("Microsoft".into()),
                    used,
                })
                .into_iter()
                .collect(),
            operator: Some("Microsoft".into()),
            signalling: Some(("https", "tls")),
            provider: policy.and_then(|_| crate::apps::policy::app_name(app)),
        }
    }

    #[test]
    fn inferred_call_names_unused_relays_and_direct_media() {
        let f = facts(
            "teams",
            Some(MediaEnds::ProviderUnlessE2ee),
            Hop::PublicUnknown,
            Some(false),
        );
        let j = inferred_call(&f);
        assert_eq!((j.encrypted, j.encryption_ends), ("yes", "peer"));
        assert!(
            j.verdict.contains("went direct to the other peer"),
            "{}",
            j.verdict
        );
        assert!(j.verdict.contains("allocated, unused"), "{}", j.verdict);
        assert!(!j.verdict.contains("forwards"), "{}", j.verdict);
        let f = facts("whatsapp", Some(MediaEnds::Peer), Hop::Relay, Some(true));
        let j = inferred_call(&f);
        assert_eq!(j.encryption_ends, "peer");
        assert!(
            j.verdict.contains("forwards it without the keys"),
            "{}",
            j.verdict
        );
    }

    #[test]
    fn inferred_call_follows_the_documented_policy() {
        let f = facts(
            "zoom",
            Some(MediaEnds::ProviderUnlessE2ee),
            Hop::OperatorServer,
            None,
        );
        let j = inferred_call(&f);
        assert_eq!(j.encryption_ends, "provider-server-unless-e2ee");
        assert!(
            j.verdict
                .contains("unless the meeting enabled end-to-end encryption"),
            "{}",
            j.verdict
        );
        let f = facts(
            "x",
            Some(MediaEnds::ProviderServer),
            Hop::OperatorServer,
            None,
        );
        assert_eq!(inferred_call(&f).encryption_ends, "provider-server");
        let f = facts("x", None, Hop::OperatorServer, None);
        assert_eq!(inferred_call(&f).encryption_ends, "unknown");
        // Unclassified media: the sentence says what signalling was seen.
        let mut f = facts("zoom", None, Hop::OperatorServer, None);
        f.media[0].encryption = "unknown";
        let j = inferred_call(&f);
        assert_eq!(j.encrypted, "unknown");
        assert!(
            j.verdict.contains("signalling seen: HTTPS over TLS"),
            "{}",
            j.verdict
        );
        f.signalling = None;
        assert!(inferred_call(&f).verdict.contains("no signalling seen"));
    }

    #[test]
    fn inferred_call_unclassified_media_follows_the_documented_policy() {
        let mut f = facts("whatsapp", Some(MediaEnds::Peer), Hop::Relay, Some(true));
        f.media[0].encryption = "unknown";
        let j = inferred_call(&f);
        assert_eq!(
            (j.encrypted, j.encryption_ends, j.encryption_basis),
            ("yes", "peer", "policy")
        );
        assert!(
            j.verdict
                .contains("encrypted per WhatsApp's documented end-to-end policy"),
            "{}",
            j.verdict
        );
        assert!(
            j.verdict.contains("payload itself cannot be checked"),
            "{}",
            j.verdict
        );
        assert!(
            j.verdict.contains("forwards it without the keys"),
            "{}",
            j.verdict
        );
        // Zoom's servers: its policy, and the meeting option not visible.
        let mut f = facts(
            "zoom",
            Some(MediaEnds::ProviderUnlessE2ee),
            Hop::OperatorServer,
            None,
        );
        f.media[0].encryption = "unknown";
        let j = inferred_call(&f);
        assert_eq!(
            (j.encrypted, j.encryption_ends, j.encryption_basis),
            ("yes", "provider-server-unless-e2ee", "policy")
        );
        assert!(j
            .verdict
            .contains("unless the meeting enabled end-to-end encryption"));
        // Direct to the peer: decrypted there whatever the servers could do.
        f.media[0].hop = Hop::PublicUnknown;
        let j = inferred_call(&f);
        assert_eq!(j.encryption_ends, "peer");
        assert!(j.verdict.contains("end to end"), "{}", j.verdict);
        // Plain media is never made encrypted by a policy.
        let mut f = facts("whatsapp", Some(MediaEnds::Peer), Hop::Relay, Some(true));
        f.media[0].encryption = "none";
        let j = inferred_call(&f);
        assert_eq!((j.encrypted, j.encryption_basis), ("no", "measured"));
        // Measured encryption stays measured.
        let f = facts("whatsapp", Some(MediaEnds::Peer), Hop::Relay, Some(true));
        assert_eq!(inferred_call(&f).encryption_basis, "measured");
        // No documented policy: unknown stays unknown.
        let mut f = facts("line", None, Hop::OperatorServer, None);
        f.media[0].encryption = "unknown";
        let j = inferred_call(&f);
        assert_eq!((j.encrypted, j.encryption_basis), ("unknown", "measured"));
    }

    fn media(kind: &'static str, encryption: &'static str, seen: bool) -> MediaOut {
        MediaOut {
            flow_id: seen.then_some(1),
            kind,
            encryption,
            key_exchange: "sdes",
            keys_exposed: false,
            announced: None,
            profile: None,
            seen,
            announced_all: Vec::new(),
        }
    }

    const UDP_CALL: SignallingFacts = SignallingFacts {
        sig_transport: "udp",
        state: CallState::Answered,
        final_status: Some(200),
    };

    #[test]
    fn sentences_say_what_the_fields_say() {
        let m = [media("audio", "srtp", true)];
        let s = verdict_sentence(&UDP_CALL, &judged("keys-exposed"), false, true, &m, None);
        assert!(s.starts_with("Not private"), "{s}");
        assert!(s.contains("cleartext SIP over UDP"), "{s}");
        let m = [media("audio", "none", true), media("video", "none", true)];
        let s = verdict_sentence(&UDP_CALL, &judged("no"), false, true, &m, None);
        assert!(s.starts_with("Not encrypted: the audio and video"), "{s}");
        let m = [media("audio", "dtls-srtp", true)];
        let s = verdict_sentence(&UDP_CALL, &judged("yes"), true, true, &m, None);
        assert!(s.contains("(dtls-srtp)"), "{s}");
        assert!(s.contains("encrypted signalling (SIP over TLS)"), "{s}");
        let m = [media("audio", "srtp", false)];
        let s = verdict_sentence(&UDP_CALL, &judged("yes"), false, false, &m, None);
        assert!(s.starts_with("Encryption declared"), "{s}");
        assert!(s.contains("not in the capture"), "{s}");
        // A thread of a split analysis does not claim the capture lacked it.
        let part = Some("this thread's share of the traffic");
        let s = verdict_sentence(&UDP_CALL, &judged("no"), false, false, &m, part);
        assert!(!s.contains("not in the capture"), "{s}");
        assert!(s.contains("not in this thread's share"), "{s}");
    }

    #[test]
    fn a_call_that_never_set_up_says_so() {
        let failed = SignallingFacts {
            sig_transport: "tcp",
            state: CallState::Failed,
            final_status: Some(486),
        };
        let s = verdict_sentence(&failed, &judged("unknown"), false, false, &[], None);
        assert!(s.contains("final status 486"), "{s}");
        assert!(s.contains("cleartext SIP over TCP"), "{s}");
        let s = verdict_sentence(&UDP_CALL, &judged("unknown"), false, false, &[], None);
        assert!(s.starts_with("No media negotiated"), "{s}");
        let m = [media("audio", "unknown", true)];
        let s = verdict_sentence(&UDP_CALL, &judged("unknown"), false, true, &m, None);
        assert!(s.starts_with("Unknown"), "{s}");
    }

    fn out(
        encrypted: bool,
        ext: Vec<crate::report::RtpExtensionOut>,
        cryptex: bool,
    ) -> RtpStreamOut {
        RtpStreamOut {
            ssrc: 0x7869_1914,
            payload_type: 111,
            codec: None,
            packets: 10,
            lost: 0,
            jitter_ms: 0.0,
            encrypted,
            encryption: if encrypted { "encrypted" } else { "plain" },
            direction: "forward",
            bytes: 0,
            first_ts: 0.0,
            last_ts: 0.0,
            expected: 10,
            reordered: 0,
            duplicates: 0,
            max_delta_ms: 0.0,
            max_jitter_ms: 0.0,
            clock_rate: None,
            relayed: false,
            encryption_evidence: Vec::new(),
            series: Vec::new(),
            series_width_s: 1.0,
            rtcp_reported: None,
            extensions: ext,
            header_extensions_encrypted: cryptex,
            quality: None,
            video: None,
        }
    }

    fn level(from: &'static str) -> Vec<crate::report::RtpExtensionOut> {
        vec![crate::report::RtpExtensionOut {
            id: 1,
            uri: Some(AUDIO_LEVEL_URI.into()),
            uri_from: Some(from),
        }]
    }

    #[test]
    fn audio_level_in_clear_under_srtp_exposes_voice_activity() {
        let f = header_findings(&[out(true, level("shape"), false)], false, false, 0);
        assert_eq!(f.len(), 1);
        assert!(f[0].starts_with("voice activity exposed"), "{}", f[0]);
        assert!(f[0].contains("id 1, told by its shape") && f[0].contains("0x78691914"));
        assert!(is_header_finding(&f[0]));
        // Plain RTP: the payload itself is readable; not this finding.
        assert!(header_findings(&[out(false, level("sdp"), false)], false, false, 0).is_empty());
        // Other extensions tell nothing of voice.
        let other = vec![crate::report::RtpExtensionOut {
            id: 3,
            uri: None,
            uri_from: None,
        }];
        assert!(header_findings(&[out(true, other, false)], false, false, 0).is_empty());
    }

    #[test]
    fn cryptex_sframe_and_sdes_items_are_named() {
        let f = header_findings(&[out(true, Vec::new(), true)], true, true, 0);
        assert_eq!(f.len(), 2);
        assert!(f[0].starts_with("cryptex in use (RFC 9335)"));
        assert!(f[1].contains("a=sframe"));
        let f = header_findings(&[], true, false, 0);
        assert!(f[0].starts_with("cryptex offered in SDP"));
        // NAME (2), TOOL (6) and NOTE (7); CNAME (1) is not a finding.
        let f = header_findings(&[], false, false, (1 << 1) | (1 << 2) | (1 << 6) | (1 << 7));
        assert_eq!(
            f,
            ["personal data in cleartext RTCP: SDES NAME, TOOL, NOTE sent in clear (values not reported)"]
        );
        assert!(header_findings(&[], false, false, 1 << 1).is_empty());
        let f = header_findings(&[], false, false, 1 << 6);
        assert_eq!(
            f,
            ["cleartext RTCP describes the sender beyond its CNAME: SDES TOOL sent in clear (values not reported)"]
        );
        assert!(is_header_finding(&f[0]));
    }
    /// G.107 Annex B, computed here term by term.
    fn mos_by_hand(r: f64) -> f64 {
        let cubic = 0.000007 * r * (r - 60.0) * (100.0 - r);
        1.0 + 0.035 * r + cubic
    }

    #[test]
    fn e_model_without_loss_or_delay_is_the_default_rating() {
        let (ie, bpl, published) = codec_impairment(Some("PCMU"));
        assert!(published && ie == 0.0 && bpl == 25.1);
        let q = e_model(&EModelIn {
            ie,
            bpl,
            ppl: 0.0,
            burst_r: 1.0,
            ta_ms: 50.0,
        });
        assert!((q.r - 93.2).abs() < 1e-9);
        // 1 + 3.262 + 7e-6 * 93.2 * 33.2 * 6.8 = 4.2620 + 0.1473 = 4.4093
        assert!((q.mos - 4.4093).abs() < 1e-3, "{}", q.mos);
        assert!((q.mos - mos_by_hand(93.2)).abs() < 1e-12);
        assert_eq!(mos_of(-3.0), 1.0);
        assert_eq!(mos_of(120.0), 4.5);
    }

    #[test]
    fn delay_term_matches_g107_at_150_250_400_ms() {
        // X = log2(Ta/100); Idd = 25((1+X^6)^(1/6) - 3(1+(X/3)^6)^(1/6) + 2),
        // by hand: 150 ms: X = 0.58496, X^6 = 0.04009, 1.04009^(1/6) =
        // 1.006572, (X/3)^6 = 5.5e-5 -> 3 * 1.0000092: Idd = 25 * 0.00654 = 0.164.
        // 250 ms: X = 1.32193, X^6 = 5.3385, 6.3385^(1/6) = 1.36015,
        // (X/3)^6 = 0.00732 -> 3 * 1.001218: Idd = 25 * 0.35650 = 8.91.
        // 400 ms: X = 2, 65^(1/6) = 2.00543, (2/3)^6 = 0.08779 ->
        // 3 * 1.01413: Idd = 25 * 0.96304 = 24.08.
        assert_eq!(delay_impairment(100.0), 0.0);
        assert!((delay_impairment(150.0) - 0.164).abs() < 0.01);
        assert!((delay_impairment(250.0) - 8.91).abs() < 0.02);
        assert!((delay_impairment(400.0) - 24.08).abs() < 0.02);
        let q = e_model(&EModelIn {
            ie: 0.0,
            bpl: 25.1,
            ppl: 0.0,
            burst_r: 1.0,
            ta_ms: 400.0,
        });
        assert!((q.r - (93.2 - 24.08)).abs() < 0.02);
    }

    #[test]
    fn loss_term_follows_g107_section_7_4() {
        // G.729A, 2 % random loss: Ie,eff = 11 + 84 * 2 / (2 + 19) = 19.0.
        let (ie, bpl, _) = codec_impairment(Some("G729"));
        let base = EModelIn {
            ie,
            bpl,
            ppl: 0.02,
            burst_r: 1.0,
            ta_ms: 0.0,
        };
        let q = e_model(&base);
        assert!((q.ie_eff - 19.0).abs() < 1e-9);
        assert!((q.r - 74.2).abs() < 1e-9);
        // Bursty loss weighs more: BurstR 2 -> 11 + 168 / (1 + 19) = 19.4.
        let b = e_model(&EModelIn {
            burst_r: 2.0,
            ..base
        });
        assert!((b.ie_eff - 19.4).abs() < 1e-9);
        // Runs of mean length 3 at 10 % loss: BurstR = 3 * 0.9 = 2.7.
        assert!((burst_ratio(Some(3.0), 0.1) - 2.7).abs() < 1e-12);
        // 90 % loss in one long run: the formula passes 95, kept at 95.
        let worst = e_model(&EModelIn {
            ppl: 0.9,
            burst_r: 100.0,
            ..base
        });
        assert_eq!(worst.ie_eff, 95.0);
        assert_eq!((worst.r, worst.mos), (0.0, 1.0));
        assert_eq!(burst_ratio(None, 0.0), 1.0);
        // Opus has no published values: an estimate.
        assert!(!codec_impairment(Some("opus")).2);
    }

    #[test]
    fn impairments_split_loss_burstiness_and_discards() {
        // G.711 at 4 % effective loss, 60 % lost and 40 % late, BurstR 2:
        // random loss gives 95 * 4 / (4 + 25.1) = 13.058; BurstR 2 gives
        // 95 * 4 / (2 + 25.1) = 14.022, 0.963 more for burstiness.
        let i = EModelIn {
            ie: 0.0,
            bpl: 25.1,
            ppl: 0.04,
            burst_r: 2.0,
            ta_ms: 50.0,
        };
        let q = e_model(&i);
        let m = Impairments::of(&i, &q, 12.0, 8.0);
        assert!((m.burstiness - (380.0 / 27.1 - 380.0 / 29.1)).abs() < 1e-9);
        assert!((m.loss - 380.0 / 29.1 * 0.6).abs() < 1e-9);
        assert!((m.jitter_buffer - 380.0 / 29.1 * 0.4).abs() < 1e-9);
        assert_eq!(limited_by(&m), "loss");
        // All late: the jitter buffer.
        assert_eq!(
            limited_by(&Impairments::of(&i, &q, 0.0, 20.0)),
            "jitter-buffer"
        );
        // 30 % in runs 4 times random ones, half lost and half late:
        // random loss costs 95 * 30 / 55.1 = 51.7 (25.9 each), runs 87.4,
        // so burstiness (35.7) outweighs either share.
        let b = EModelIn {
            ppl: 0.3,
            burst_r: 4.0,
            ..i
        };
        assert_eq!(
            limited_by(&Impairments::of(&b, &e_model(&b), 5.0, 5.0)),
            "burstiness"
        );
        // Nothing of it: none; G.729 without loss: the codec.
        let clean = EModelIn {
            ppl: 0.0,
            burst_r: 1.0,
            ..i
        };
        assert_eq!(
            limited_by(&Impairments::of(&clean, &e_model(&clean), 0.0, 0.0)),
            "none"
        );
        let g729 = EModelIn {
            ie: 11.0,
            bpl: 19.0,
            ..clean
        };
        assert_eq!(
            limited_by(&Impairments::of(&g729, &e_model(&g729), 0.0, 0.0)),
            "codec"
        );
    }
}

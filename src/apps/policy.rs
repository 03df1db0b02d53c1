//! Where each calling app's media is decrypted, as the provider documents
//! it: one row per app, with the source and the date the row was checked.
//! Whether a meeting turned on an optional end-to-end mode is not visible
//! on the wire, so such apps are [`MediaEnds::ProviderUnlessE2ee`]: the
//! report says the provider's servers can decrypt unless the meeting
//! enabled it, and asserts neither.

/// Who can decrypt an app's media, by the provider's documented policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaEnds {
    /// The provider's servers (SFU, media server) decrypt the media.
    ProviderServer,
    /// The provider's servers decrypt the media unless the meeting enabled
    /// an optional end-to-end mode (invisible on the wire).
    ProviderUnlessE2ee,
    /// End to end: only the participants hold the media keys.
    Peer,
}

/// One row of the policy table.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub app: &'static str,
    /// The app's name as its provider writes it, for sentences.
    pub name: &'static str,
    pub ends: MediaEnds,
    /// Earlier policies, oldest first: `(until, ends)` is the policy in
    /// force for calls before `until` (UTC seconds since 1970) and after
    /// the previous entry. [`Policy::ends`] holds from the last `until` on.
    pub until: &'static [(f64, MediaEnds)],
    /// Where the policy is documented (documentation of the row: the
    /// tests check every row has one).
    #[allow(dead_code)]
    pub source: &'static str,
    /// When the row was last checked against the source (YYYY-MM).
    #[allow(dead_code)]
    pub checked: &'static str,
}

impl Policy {
    /// The policy in force at `ts` (seconds since 1970).
    pub fn at(&self, ts: f64) -> MediaEnds {
        self.until
            .iter()
            .find(|(t, _)| ts < *t)
            .map_or(self.ends, |&(_, e)| e)
    }
}

/// 2024-09-17 00:00 UTC: Discord's announcement of DAVE; from then on its
/// clients prefer end-to-end encryption when every participant supports it
/// (and fall back to transport encryption otherwise, which the wire does
/// not show).
const DISCORD_DAVE: f64 = 1_726_531_200.0;
/// 2026-03-01 00:00 UTC: DAVE required to connect to Discord voice.
const DISCORD_DAVE_REQUIRED: f64 = 1_772_323_200.0;

/// The table. Apps not listed: no documented policy is assumed. Every app
/// listed encrypts its media on the wire, to its servers or end to end
/// (WebRTC's DTLS-SRTP is mandatory, RFC 8827; the others say so in the
/// sources below): a call of one of them whose payload the capture cannot
/// check is encrypted by this policy, and the report says that is the basis
/// (`encryption_basis: "policy"`).
pub const POLICIES: &[Policy] = &[
    Policy {
        app: "zoom",
        name: "Zoom",
        ends: MediaEnds::ProviderUnlessE2ee,
        until: &[],
        source: "Zoom support: Using end-to-end encryption for meetings (E2EE is a per-meeting option; by default Zoom's servers hold the keys)",
        checked: "2026-12",
    },
    Policy {
        app: "teams",
        name: "Microsoft Teams",
        ends: MediaEnds::ProviderUnlessE2ee,
        until: &[],
        source: "Microsoft Learn: Use end-to-end encryption for Teams meetings / calls (an opt-in policy; by default media is encrypted to Microsoft's servers)",
        checked: "2026-12",
    },
    Policy {
        app: "skype",
        name: "Skype",
        ends: MediaEnds::ProviderUnlessE2ee,
        until: &[],
        source: "Skype support: Private Conversations (opt-in end-to-end encryption)",
        checked: "2026-12",
    },
    Policy {
        app: "webex",
        name: "Webex",
        ends: MediaEnds::ProviderUnlessE2ee,
        until: &[],
        source: "Webex help: End-to-end encryption for meetings (a per-meeting-type option)",
        checked: "2026-12",
    },
    Policy {
        app: "meet",
        name: "Google Meet",
        ends: MediaEnds::ProviderUnlessE2ee,
        until: &[],
        source: "Google Workspace admin help: About client-side encryption in Meet (optional; otherwise media is decrypted in Google's servers)",
        checked: "2026-12",
    },
    Policy {
        app: "jitsi",
        name: "Jitsi",
        ends: MediaEnds::ProviderUnlessE2ee,
        until: &[],
        source: "Jitsi security page (the videobridge decrypts unless end-to-end encryption is turned on in the meeting)",
        checked: "2026-12",
    },
    Policy {
        app: "discord",
        name: "Discord",
        ends: MediaEnds::Peer,
        until: &[
            (DISCORD_DAVE, MediaEnds::ProviderServer),
            (DISCORD_DAVE_REQUIRED, MediaEnds::ProviderUnlessE2ee),
        ],
        source: "Discord blog, Meet DAVE (2024-09-17) and the DAVE protocol whitepaper (daveprotocol.com: clients prefer E2EE from September 2024 for DM and group calls, voice channels except stage channels, and Go Live; an enforced requirement after); Discord developer change log (DAVE required for voice from 2026-03-01); Discord blog, Every voice and video call on Discord is now end-to-end encrypted (2026-05)",
        checked: "2026-12",
    },
    Policy {
        app: "gotomeeting",
        name: "GoTo Meeting",
        ends: MediaEnds::ProviderServer,
        until: &[],
        source: "GoTo Meeting security white paper (media encrypted to GoTo's servers)",
        checked: "2026-12",
    },
    Policy {
        app: "bluejeans",
        name: "BlueJeans",
        ends: MediaEnds::ProviderServer,
        until: &[],
        source: "BlueJeans security overview (media encrypted to BlueJeans' servers)",
        checked: "2026-12",
    },
    Policy {
        app: "whatsapp",
        name: "WhatsApp",
        ends: MediaEnds::Peer,
        until: &[],
        source: "WhatsApp Encryption Overview, technical white paper (calls are end-to-end encrypted)",
        checked: "2026-12",
    },
    Policy {
        app: "signal",
        name: "Signal",
        ends: MediaEnds::Peer,
        until: &[],
        source: "Signal support: calls are end-to-end encrypted",
        checked: "2026-12",
    },
    Policy {
        app: "facetime",
        name: "FaceTime",
        ends: MediaEnds::Peer,
        until: &[],
        source: "Apple Platform Security guide: FaceTime security",
        checked: "2026-12",
    },
    Policy {
        app: "messenger",
        name: "Messenger",
        ends: MediaEnds::Peer,
        until: &[],
        source: "Meta newsroom, Launching default end-to-end encryption on Messenger (2023-12)",
        checked: "2026-12",
    },
    Policy {
        app: "telegram",
        name: "Telegram",
        ends: MediaEnds::Peer,
        until: &[],
        source: "Telegram FAQ / MTProto end-to-end encrypted voice calls",
        checked: "2026-12",
    },
    Policy {
        app: "viber",
        name: "Viber",
        ends: MediaEnds::Peer,
        until: &[],
        source: "Viber encryption overview (calls are end-to-end encrypted)",
        checked: "2026-12",
    },
];

/// Where `app`'s media is decrypted at time `ts`, if its provider documents it.
pub fn media_ends(app: &str, ts: f64) -> Option<MediaEnds> {
    POLICIES.iter().find(|p| p.app == app).map(|p| p.at(ts))
}

/// The provider's name of `app` when its policy is documented here
/// ("WhatsApp" for "whatsapp"), for sentences.
pub fn app_name(app: &str) -> Option<&'static str> {
    POLICIES.iter().find(|p| p.app == app).map(|p| p.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_unique_and_sourced() {
        for (i, p) in POLICIES.iter().enumerate() {
            assert!(!p.source.is_empty() && !p.checked.is_empty(), "{}", p.app);
            assert!(POLICIES[..i].iter().all(|q| q.app != p.app), "{}", p.app);
        }
    }

    #[test]
    fn discord_is_end_to_end_once_dave_is_required() {
        // 2022: before DAVE. 2025: preferred, with a fallback the wire does
        // not show. 2026-05: required.
        assert_eq!(
            media_ends("discord", 1_657_000_000.0),
            Some(MediaEnds::ProviderServer)
        );
        assert_eq!(
            media_ends("discord", 1_740_000_000.0),
            Some(MediaEnds::ProviderUnlessE2ee)
        );
        assert_eq!(
            media_ends("discord", 1_780_000_000.0),
            Some(MediaEnds::Peer)
        );
        assert_eq!(media_ends("zoom", 0.0), Some(MediaEnds::ProviderUnlessE2ee));
        assert_eq!(media_ends("unknown-app", 0.0), None);
    }
}

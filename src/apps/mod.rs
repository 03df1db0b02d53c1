//! Who runs an endpoint, and which app a flow belongs to, from facts that need
//! no payload: the remote address, the TLS/QUIC server name, the port.
//!
//! Three pure functions, no I/O at run time, all allocation-free per call:
//!
//! * [`operator_of_ip`] looks an address up in the operators' published IP
//!   ranges (Zoom, Microsoft Teams and 365, Google and Google Meet, Meta and
//!   WhatsApp, Cisco Webex, Telegram, Apple, Discord, LINE, Rakuten Viber,
//!   Tencent, Cloudflare). The data is `src/apps/ip_ranges.txt`, compiled in with
//!   `include_str!` and parsed once, on first use, into two sorted tables of
//!   non-overlapping ranges (IPv4 and IPv6); a lookup is one binary search.
//!   Where published prefixes nest (Meet inside Google, WhatsApp's servers
//!   inside Meta) the most specific prefix wins.
//! * [`app_of_sni`] maps a server name to an app by domain suffix on label
//!   boundaries, case-insensitively (`zoom.us` matches `us05web.zoom.us`, not
//!   `notzoom.us`); the longest matching suffix wins. Each rule cites its
//!   source: the vendor's network-requirements page or nDPI's host-match list
//!   (`ntop/nDPI:src/lib/ndpi_content_match.c.inc` and its generated
//!   `inc_generated/ndpi_domains_*` files), used as documentation of which host
//!   belongs to which service.
//! * [`app_of_port`] names the app of a well-known VC media port, but only
//!   together with the operator that runs the address: a port alone proves
//!   nothing (UDP 3478 is every STUN server). [`app_of_port_on_named_address`]
//!   does the same for apps anyone can host (Jitsi's videobridge), on an
//!   address the capture already tied to that app by name.
//!
//! Where the data comes from and how to refresh it is written at the top of
//! `src/apps/ip_ranges.txt`; each list there names the provider's own source
//! URL, where it was read and the date. After an update,
//! `cargo test --lib apps` parses every line and checks the corpus addresses.
//!
//! What this module cannot know: addresses of peers (P2P media goes to home
//! routers), TURN relays rented from generic clouds (Signal's relays are in
//! AWS, which is not listed), and operators whose lists are not shipped.
//! Callers should combine these answers with protocol evidence (STUN vendor
//! attributes, app headers), which is stronger.

pub mod policy;

use std::net::IpAddr;
use std::sync::OnceLock;

use ipnet::IpNet;
use rustc_hash::FxHashMap;

/// The organisation that runs an address, from its published IP ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    /// Organisation name as shown to users, e.g. "Zoom", "Microsoft",
    /// "Google", "Meta", "Cisco Webex", "Telegram".
    pub name: &'static str,
    /// The app word (as in a flow's `app`) when the matching range is used by
    /// one VC service only, e.g. "zoom", "teams", "meet", "whatsapp".
    pub service: Option<&'static str>,
    /// The list of `ip_ranges.txt` that matched (e.g. "zoom", "zoom-2021",
    /// "meet"): the evidence, for explanations and debugging.
    pub list: &'static str,
}

/// What a server name is used for by its app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SniRole {
    /// Call control, presence, chat, meeting join: a signalling server.
    Signalling,
    /// A media server, relay or streaming endpoint.
    Media,
    /// Anything else of the app: telemetry, CDN, static files, web pages.
    Other,
}

/// The app a server name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppMatch {
    /// One lowercase word per service, as in SPEC.md ("zoom", "teams", ...).
    pub app: &'static str,
    /// Who runs the name ("Zoom", "Microsoft", "Meta", ...).
    pub operator: &'static str,
    pub role: SniRole,
}

// ---------------------------------------------------------------------------
// IP ranges
// ---------------------------------------------------------------------------

/// Why a flow was given its app, as the report names it (`app_evidence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEvidence {
    /// A vendor's STUN attributes or magic (`StunVendor`).
    StunVendorAttributes,
    /// Zoom's media encapsulation on Zoom's server ports.
    ZoomMediaEncapsulation,
    /// Zoom's media encapsulation peer to peer.
    ZoomP2pMediaEncapsulation,
    /// imo's media datagrams.
    ImoDatagram,
    /// A Mumble server answering a client's UDP ping with its ident.
    MumblePing,
    /// Agora's SD-RTN hello naming an Agora edge server.
    AgoraSdRtn,
    /// Discord's IP discovery exchange.
    DiscordIpDiscovery,
    /// WhatsApp's chat prologue on TCP.
    WhatsappChatPrologue,
    /// The TLS or QUIC server name.
    Sni,
    /// A name of the server's TLS certificate (no SNI given).
    TlsCertificateName,
    /// The name a DNS answer earlier in the capture gave the remote address.
    DnsName,
    /// The name a DNS flow asked about.
    DnsQuery,
    /// An address in the operator's range for that service.
    OperatorIpRange,
    /// The service's well-known port on an address of that operator.
    PortOnOperatorIpRange,
    /// The app's media port on an address another flow reached by one of
    /// the app's names (SNI, certificate or DNS).
    PortOnAppNamedAddress,
}

impl AppEvidence {
    pub const fn as_str(self) -> &'static str {
        match self {
            AppEvidence::StunVendorAttributes => "stun-vendor-attributes",
            AppEvidence::ZoomMediaEncapsulation => "zoom-media-encapsulation",
            AppEvidence::ZoomP2pMediaEncapsulation => "zoom-p2p-media-encapsulation",
            AppEvidence::ImoDatagram => "imo-datagram",
            AppEvidence::MumblePing => "mumble-ping",
            AppEvidence::AgoraSdRtn => "agora-sd-rtn",
            AppEvidence::DiscordIpDiscovery => "discord-ip-discovery",
            AppEvidence::WhatsappChatPrologue => "whatsapp-chat-prologue",
            AppEvidence::Sni => "sni",
            AppEvidence::TlsCertificateName => "tls-certificate-name",
            AppEvidence::DnsName => "dns-name",
            AppEvidence::DnsQuery => "dns-query",
            AppEvidence::OperatorIpRange => "operator ip range",
            AppEvidence::PortOnOperatorIpRange => "port on operator ip range",
            AppEvidence::PortOnAppNamedAddress => "port on app-named address",
        }
    }

    /// The app's own media framing (not an address, a name or a port): a
    /// flow so named with enough packets each way is that app's media.
    pub const fn is_media_framing(self) -> bool {
        matches!(
            self,
            AppEvidence::ZoomMediaEncapsulation
                | AppEvidence::ZoomP2pMediaEncapsulation
                | AppEvidence::ImoDatagram
        )
    }
}

impl AppEvidence {
    /// The evidence shows that the flow's remote side is a server of the
    /// app (its voice server answered its discovery, its name or published
    /// range), not another user's device, even when no published range
    /// names its operator (Discord's voice servers run in public clouds).
    pub const fn names_server(self) -> bool {
        matches!(
            self,
            AppEvidence::ZoomMediaEncapsulation
                | AppEvidence::MumblePing
                | AppEvidence::AgoraSdRtn
                | AppEvidence::DiscordIpDiscovery
                | AppEvidence::WhatsappChatPrologue
                | AppEvidence::Sni
                | AppEvidence::TlsCertificateName
                | AppEvidence::DnsName
                | AppEvidence::OperatorIpRange
                | AppEvidence::PortOnOperatorIpRange
                | AppEvidence::PortOnAppNamedAddress
        )
    }
}

impl std::fmt::Display for AppEvidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every [`AppEvidence`], for the report's schema.
#[cfg(test)]
const APP_EVIDENCE: [AppEvidence; 15] = [
    AppEvidence::StunVendorAttributes,
    AppEvidence::ZoomMediaEncapsulation,
    AppEvidence::ZoomP2pMediaEncapsulation,
    AppEvidence::ImoDatagram,
    AppEvidence::MumblePing,
    AppEvidence::AgoraSdRtn,
    AppEvidence::DiscordIpDiscovery,
    AppEvidence::WhatsappChatPrologue,
    AppEvidence::Sni,
    AppEvidence::TlsCertificateName,
    AppEvidence::DnsName,
    AppEvidence::DnsQuery,
    AppEvidence::OperatorIpRange,
    AppEvidence::PortOnOperatorIpRange,
    AppEvidence::PortOnAppNamedAddress,
];

/// The place of each [`AppEvidence`] in [`APP_EVIDENCE`]: a new variant
/// does not compile until it has one, and the test below then wants it in
/// the list.
#[cfg(test)]
const fn evidence_index(e: AppEvidence) -> usize {
    match e {
        AppEvidence::StunVendorAttributes => 0,
        AppEvidence::ZoomMediaEncapsulation => 1,
        AppEvidence::ZoomP2pMediaEncapsulation => 2,
        AppEvidence::ImoDatagram => 3,
        AppEvidence::MumblePing => 4,
        AppEvidence::AgoraSdRtn => 5,
        AppEvidence::DiscordIpDiscovery => 6,
        AppEvidence::WhatsappChatPrologue => 7,
        AppEvidence::Sni => 8,
        AppEvidence::TlsCertificateName => 9,
        AppEvidence::DnsName => 10,
        AppEvidence::DnsQuery => 11,
        AppEvidence::OperatorIpRange => 12,
        AppEvidence::PortOnOperatorIpRange => 13,
        AppEvidence::PortOnAppNamedAddress => 14,
    }
}

#[cfg(test)]
impl schemars::JsonSchema for AppEvidence {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AppEvidence".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let words: Vec<&str> = APP_EVIDENCE.iter().map(|e| e.as_str()).collect();
        schemars::json_schema!({ "type": "string", "enum": words })
    }
}

impl serde::Serialize for AppEvidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

const IP_RANGES: &str = include_str!("ip_ranges.txt");

/// One run of consecutive addresses owned by one list, `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span<T> {
    first: T,
    last: T,
    list: u16,
}

/// The parsed data: list declarations and the two flattened range tables.
#[derive(Debug)]
struct RangeTable {
    lists: Vec<Operator>,
    v4: Vec<Span<u32>>,
    /// `v4_by_16[p]`: the spans that start before `p << 16`; the spans that
    /// may hold an address of that /16 start there or just before.
    v4_by_16: Vec<u32>,
    v6: Vec<Span<u128>>,
    /// Lines that did not parse (bad prefix, host bits set, unknown list);
    /// the tests check that there are none.
    #[cfg_attr(not(test), allow(dead_code))]
    rejected: usize,
    /// Prefix lines accepted.
    #[cfg_attr(not(test), allow(dead_code))]
    prefixes: usize,
}

/// A prefix before flattening: first and last address, length, list index.
type Net = (u128, u128, u8, u16);

impl RangeTable {
    fn parse(text: &'static str) -> RangeTable {
        let mut lists: Vec<Operator> = Vec::new();
        let mut nets4: Vec<Net> = Vec::new();
        let mut nets6: Vec<Net> = Vec::new();
        let mut rejected = 0;
        for raw in text.lines() {
            let line = match raw.find('#') {
                Some(i) => &raw[..i],
                None => raw,
            }
            .trim();
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("list ") {
                match parse_list_decl(rest) {
                    Some(op) if lists.iter().all(|l| l.list != op.list) => lists.push(op),
                    _ => rejected += 1,
                }
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(prefix), Some(id), None) = (words.next(), words.next(), words.next()) else {
                rejected += 1;
                continue;
            };
            let list = lists
                .iter()
                .position(|l| l.list == id)
                .and_then(|i| u16::try_from(i).ok());
            let (Some(list), Ok(net)) = (list, prefix.parse::<IpNet>()) else {
                rejected += 1;
                continue;
            };
            if net != net.trunc() {
                rejected += 1;
                continue;
            }
            match net {
                IpNet::V4(n) => nets4.push((
                    u128::from(u32::from(n.network())),
                    u128::from(u32::from(n.broadcast())),
                    n.prefix_len(),
                    list,
                )),
                IpNet::V6(n) => nets6.push((
                    u128::from(n.network()),
                    u128::from(n.broadcast()),
                    n.prefix_len(),
                    list,
                )),
            }
        }
        let prefixes = nets4.len() + nets6.len();
        let v4 = flatten(nets4)
            .into_iter()
            .filter_map(|s| {
                Some(Span {
                    first: u32::try_from(s.first).ok()?,
                    last: u32::try_from(s.last).ok()?,
                    list: s.list,
                })
            })
            .collect();
        let v4: Vec<Span<u32>> = v4;
        // One walk over the sorted spans, not a search per /16.
        let mut before = 0usize;
        let v4_by_16 = (0..=1u64 << 16)
            .map(|p| {
                while v4.get(before).is_some_and(|s| u64::from(s.first) < p << 16) {
                    before += 1;
                }
                before as u32
            })
            .collect();
        RangeTable {
            lists,
            v4,
            v4_by_16,
            v6: flatten(nets6),
            rejected,
            prefixes,
        }
    }

    /// [`find`] over the IPv4 spans, searching only those that may hold
    /// an address of `ip`'s /16 (most /16s have none).
    fn find_v4(&self, ip: u32) -> Option<u16> {
        let p = (ip >> 16) as usize;
        let lo = *self.v4_by_16.get(p)? as usize;
        let hi = *self.v4_by_16.get(p + 1)? as usize;
        let i = lo + self.v4.get(lo..hi)?.partition_point(|s| s.first <= ip);
        let s = self.v4.get(i.checked_sub(1)?)?;
        (ip <= s.last).then_some(s.list)
    }

    fn lookup(&self, ip: IpAddr) -> Option<Operator> {
        let ip = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            },
            v4 => v4,
        };
        let list = match ip {
            IpAddr::V4(a) => self.find_v4(u32::from(a)),
            IpAddr::V6(a) => find(&self.v6, u128::from(a)),
        }?;
        self.lists.get(usize::from(list)).copied()
    }
}

/// `<id> <service|-> <Operator name with spaces>`
fn parse_list_decl(rest: &'static str) -> Option<Operator> {
    let (id, rest) = rest.trim().split_once(char::is_whitespace)?;
    let (service, name) = rest.trim_start().split_once(char::is_whitespace)?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    Some(Operator {
        name,
        service: (service != "-").then_some(service),
        list: id,
    })
}

/// Turns nested-or-disjoint prefixes into sorted, non-overlapping spans in
/// which every address belongs to the most specific prefix containing it.
///
/// Sorting by (first address, prefix length) puts every prefix after the
/// prefixes that contain it; a stack holds the open (enclosing) prefixes and
/// `cursor` is the first address not yet emitted (`None` past the end of the
/// address space).
fn flatten(mut nets: Vec<Net>) -> Vec<Span<u128>> {
    nets.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.cmp(&b.2)));
    let mut out: Vec<Span<u128>> = Vec::with_capacity(nets.len() * 2);
    let mut stack: Vec<(u128, u16)> = Vec::new();
    let mut cursor: Option<u128> = Some(0);
    for (first, last, _len, list) in nets {
        while let Some(&(top_last, top_list)) = stack.last() {
            if top_last >= first {
                break;
            }
            if let Some(c) = cursor.filter(|&c| c <= top_last) {
                emit(&mut out, c, top_last, top_list);
            }
            cursor = top_last.checked_add(1);
            stack.pop();
        }
        if let (Some(&(_, top_list)), Some(c)) = (stack.last(), cursor) {
            if c < first {
                emit(&mut out, c, first - 1, top_list);
            }
        }
        cursor = Some(first);
        stack.push((last, list));
    }
    while let Some((top_last, top_list)) = stack.pop() {
        if let Some(c) = cursor.filter(|&c| c <= top_last) {
            emit(&mut out, c, top_last, top_list);
        }
        cursor = top_last.checked_add(1);
    }
    out
}

/// Appends a span, merging it with the previous one when they touch and
/// belong to the same list.
fn emit(out: &mut Vec<Span<u128>>, first: u128, last: u128, list: u16) {
    if let Some(prev) = out.last_mut() {
        if prev.list == list && prev.last.checked_add(1) == Some(first) {
            prev.last = last;
            return;
        }
    }
    out.push(Span { first, last, list });
}

/// Binary search: the span containing `ip`, if any.
fn find<T: Ord + Copy>(spans: &[Span<T>], ip: T) -> Option<u16> {
    let i = spans.partition_point(|s| s.first <= ip);
    let s = spans.get(i.checked_sub(1)?)?;
    (ip <= s.last).then_some(s.list)
}

fn ranges() -> &'static RangeTable {
    static TABLE: OnceLock<RangeTable> = OnceLock::new();
    TABLE.get_or_init(|| RangeTable::parse(IP_RANGES))
}

/// The operator whose published ranges contain `ip` (most specific prefix
/// wins), or `None` for private, documentation and unlisted addresses.
/// IPv4-mapped IPv6 addresses are looked up as IPv4.
pub fn operator_of_ip(ip: IpAddr) -> Option<Operator> {
    ranges().lookup(ip)
}

/// Size of the compiled-in range data, for the tests.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeStats {
    /// Operator lists declared.
    pub lists: usize,
    /// Prefix lines accepted.
    pub prefixes: usize,
    /// Non-overlapping IPv4 / IPv6 spans after flattening.
    pub v4_spans: usize,
    pub v6_spans: usize,
    /// Lines of the data file that were rejected (should be 0).
    pub rejected_lines: usize,
}

/// Counts of the range data (parses it on first call).
#[cfg(test)]
pub fn range_stats() -> RangeStats {
    let t = ranges();
    RangeStats {
        lists: t.lists.len(),
        prefixes: t.prefixes,
        v4_spans: t.v4.len(),
        v6_spans: t.v6.len(),
        rejected_lines: t.rejected,
    }
}

// ---------------------------------------------------------------------------
// Server names
// ---------------------------------------------------------------------------

/// One domain-suffix rule: `suffix` matches itself and any name ending in
/// `.suffix`. Suffixes are lowercase.
struct SniRule {
    suffix: &'static str,
    app: &'static str,
    operator: &'static str,
    role: SniRole,
}

const fn rule(
    suffix: &'static str,
    app: &'static str,
    operator: &'static str,
    role: SniRole,
) -> SniRule {
    SniRule {
        suffix,
        app,
        operator,
        role,
    }
}

use SniRole::{Media, Other, Signalling};

#[rustfmt::skip]
static SNI_RULES: &[SniRule] = &[
    // Zoom. Domains: Zoom's firewall article
    // https://support.zoom.us/hc/en-us/articles/201362683 (*.zoom.us, *.zoom.com,
    // *.zoomgov.com); nDPI host match "zoom.us". Server roles by host name are
    // refined in `refine_role` (zone controllers "…zc", multimedia routers "…mmr").
    rule("zoom.us", "zoom", "Zoom", Signalling),
    rule("zoom.com", "zoom", "Zoom", Signalling),
    rule("zoomgov.com", "zoom", "Zoom", Signalling),
    // log.zoom.us carries client logs/telemetry (seen in ndpi__zoom.pcap).
    rule("log.zoom.us", "zoom", "Zoom", Other),

    // Microsoft Teams. nDPI inc_generated/ndpi_domains_ms_teams_match.c.inc, made
    // from Microsoft 365 endpoints (https://endpoints.office.com, service area
    // "Skype for Business Online and Microsoft Teams"): teams.microsoft.com,
    // teams.cloud.microsoft, lync.com, secure.skypeassets.com; nDPI
    // ndpi_content_match.c.inc: teams.live.com, teams-ring.msedge.net.
    rule("teams.microsoft.com", "teams", "Microsoft", Signalling),
    rule("teams.cloud.microsoft", "teams", "Microsoft", Signalling),
    rule("teams.live.com", "teams", "Microsoft", Signalling),
    rule("lync.com", "teams", "Microsoft", Signalling),
    rule("skypeassets.com", "teams", "Microsoft", Other),
    rule("teams-ring.msedge.net", "teams", "Microsoft", Other),
    // *.teams.office.com (chatsvcagg.svcs.teams.office.com): nDPI's expected
    // output for ndpi__teams.pcap labels it Teams.
    rule("teams.office.com", "teams", "Microsoft", Signalling),

    // Skype. skype.com is Skype's own domain (nDPI lists it under Teams, because
    // Teams clients also use *.skype.com, e.g. eu-api.asm.skype.com in
    // ndpi__teams.pcap): callers should let Teams evidence in the same call win.
    rule("skype.com", "skype", "Microsoft", Signalling),

    // Cisco Webex. nDPI host match: webex.com, webexcontent.com; Webex network
    // requirements https://help.webex.com/en-us/article/WBX000028782 also list
    // *.wbx2.com and *.ciscospark.com for the Webex app's signalling.
    rule("webex.com", "webex", "Cisco Webex", Signalling),
    rule("webexcontent.com", "webex", "Cisco Webex", Other),
    rule("wbx2.com", "webex", "Cisco Webex", Signalling),
    rule("ciscospark.com", "webex", "Cisco Webex", Signalling),

    // Google Meet. "Prepare your network for Meet meetings"
    // https://support.google.com/a/answer/1279090: meet.google.com and
    // meetings.googleapis.com (API endpoints), meetings.clients6.google.com
    // (static resources), stream.meet.google.com (live streaming media).
    // nDPI host match: meet.google.com. Meet's media servers have no SNI: they
    // are found by address (list "meet" in ip_ranges.txt) and UDP 19302-19309.
    rule("meet.google.com", "meet", "Google", Signalling),
    rule("stream.meet.google.com", "meet", "Google", Media),
    rule("meetings.googleapis.com", "meet", "Google", Signalling),
    rule("meetings.clients6.google.com", "meet", "Google", Other),

    // WhatsApp. nDPI host match: "whatsapp." and whatsapp.net (WhatsApp),
    // chat-e2ee-mini.facebook.com (WhatsApp), mmg-fna/fna/cdn/mms.whatsapp.net
    // (WhatsAppFiles: media files, not calls).
    rule("whatsapp.net", "whatsapp", "Meta", Signalling),
    rule("whatsapp.com", "whatsapp", "Meta", Signalling),
    rule("chat-e2ee-mini.facebook.com", "whatsapp", "Meta", Signalling),
    rule("cdn.whatsapp.net", "whatsapp", "Meta", Other),
    rule("fna.whatsapp.net", "whatsapp", "Meta", Other),
    rule("mmg-fna.whatsapp.net", "whatsapp", "Meta", Other),
    rule("mms.whatsapp.net", "whatsapp", "Meta", Other),

    // Facebook Messenger. nDPI host match: edge-mqtt.facebook.com,
    // mqtt-mini.facebook.com, messenger.com, m.me.
    rule("messenger.com", "messenger", "Meta", Signalling),
    rule("edge-mqtt.facebook.com", "messenger", "Meta", Signalling),
    rule("mqtt-mini.facebook.com", "messenger", "Meta", Signalling),
    rule("m.me", "messenger", "Meta", Other),

    // FaceTime. facetime.apple.com hosts FaceTime links joined from a browser
    // (Apple: "Join a FaceTime call from a web browser", support.apple.com/HT212619).
    // Apple's other service names (*.ess.apple.com identity, *.push.apple.com)
    // serve iMessage and push as much as FaceTime and are not claimed.
    rule("facetime.apple.com", "facetime", "Apple", Signalling),

    // Signal. nDPI host match: signal.org, whispersystems.org, signal.art,
    // signal.group, signal.link, signal.me, signal.tube.
    rule("signal.org", "signal", "Signal", Signalling),
    rule("whispersystems.org", "signal", "Signal", Signalling),
    rule("signal.art", "signal", "Signal", Other),
    rule("signal.group", "signal", "Signal", Other),
    rule("signal.link", "signal", "Signal", Other),
    rule("signal.me", "signal", "Signal", Other),
    rule("signal.tube", "signal", "Signal", Other),
    // Signal's group-call SFU: sfuURL "https://sfu.voip.signal.org" in
    // Signal's clients (signalapp/Signal-iOS SignalServiceKit TSConstants,
    // read 2026-12-04); its media stays end-to-end encrypted through it.
    rule("voip.signal.org", "signal", "Signal", Media),

    // Discord. nDPI host match: discordapp.com, discordapp.net, discord.com,
    // discord.gg, discord.media (the voice servers, "<region><n>.discord.media").
    rule("discord.com", "discord", "Discord", Signalling),
    rule("discordapp.com", "discord", "Discord", Signalling),
    rule("discordapp.net", "discord", "Discord", Other),
    rule("discord.gg", "discord", "Discord", Other),
    rule("discord.media", "discord", "Discord", Media),

    // Telegram. nDPI host match: telegram.org, web.telegram.org, t.me,
    // telegram.me, tdesktop.com, tupdate.com, cdn-telegram.org.
    rule("telegram.org", "telegram", "Telegram", Signalling),
    rule("t.me", "telegram", "Telegram", Other),
    rule("telegram.me", "telegram", "Telegram", Other),
    rule("tdesktop.com", "telegram", "Telegram", Other),
    rule("tupdate.com", "telegram", "Telegram", Other),
    rule("cdn-telegram.org", "telegram", "Telegram", Other),

    // Viber. nDPI host match: viber.com, cdn.viber.com, viber.it.
    rule("viber.com", "viber", "Rakuten Viber", Signalling),
    rule("cdn.viber.com", "viber", "Rakuten Viber", Other),
    rule("viber.it", "viber", "Rakuten Viber", Other),

    // Snapchat. nDPI host match: "snapchat.", api.snapchat.com, feelinsonice.com,
    // sc-cdn.net, sc-static.net, sc-prod.net, addlive.io (Snap's real-time
    // audio/video platform).
    rule("snapchat.com", "snapchat", "Snap", Signalling),
    rule("feelinsonice.com", "snapchat", "Snap", Signalling),
    rule("addlive.io", "snapchat", "Snap", Signalling),
    rule("sc-cdn.net", "snapchat", "Snap", Other),
    rule("sc-static.net", "snapchat", "Snap", Other),
    rule("sc-prod.net", "snapchat", "Snap", Other),

    // Jitsi. meet.jit.si is the public Jitsi Meet instance and 8x8.vc the
    // "Jitsi as a Service"/8x8 Meet domain, both run by 8x8
    // (Jitsi handbook https://jitsi.github.io/handbook/, 8x8 JaaS docs).
    rule("meet.jit.si", "jitsi", "8x8", Signalling),
    rule("8x8.vc", "jitsi", "8x8", Signalling),

    // LINE. line.me is LINE's service domain; line-apps.com carries the app's
    // API (uts-front.line-apps.com is labelled Line by nDPI in ndpi__line.pcap).
    rule("line.me", "line", "LINE", Signalling),
    rule("line-apps.com", "line", "LINE", Signalling),

    // Agora (the SD-RTN real-time network under many apps' calls). The
    // SD-RTN hello carries the edge server's name, which nDPI
    // (src/lib/protocols/sd_rtn.c, read 2026-12-04) takes as the flow's
    // server name; those names are "<address>.edge.agora.io", under Agora's
    // own domain agora.io.
    rule("agora.io", "agora", "Agora", Media),

    // KakaoTalk. kakao.com is Kakao Corp's own domain, under which KakaoTalk's
    // services and its voice-call page are served (nDPI src/lib/protocols/
    // kakaotalk_voice.c cites http://www.kakao.com/services/talk/voices; read
    // 2026-12-04). Kakao's other services share the domain, so a name under it
    // is KakaoTalk's with role Other unless a rule below says more.
    rule("kakao.com", "kakaotalk", "Kakao", Other),

    // WeChat. nDPI host match: wechat.com, wechat.org, wechatapp.com, we.chat,
    // "wx.", "weixin.", mmsns.qpic.cn.
    rule("wechat.com", "wechat", "Tencent", Signalling),
    rule("wechat.org", "wechat", "Tencent", Signalling),
    rule("wechatapp.com", "wechat", "Tencent", Signalling),
    rule("we.chat", "wechat", "Tencent", Signalling),
    rule("weixin.qq.com", "wechat", "Tencent", Signalling),
    rule("wx.qq.com", "wechat", "Tencent", Other),
    rule("mmsns.qpic.cn", "wechat", "Tencent", Other),
];

/// The rules by suffix, built once (lowercase and unique:
/// `sni_rules_are_lowercase_and_unique`).
fn rules_by_suffix() -> &'static FxHashMap<&'static str, &'static SniRule> {
    static BY_SUFFIX: OnceLock<FxHashMap<&'static str, &'static SniRule>> = OnceLock::new();
    BY_SUFFIX.get_or_init(|| SNI_RULES.iter().map(|r| (r.suffix, r)).collect())
}

/// Zoom names its servers by role: zone controllers end in "zc"
/// (e.g. zoomam104zc.zoom.us), multimedia routers in "mmr"
/// (zoomfrn99mmr.zoom.us) -- the terms of Zoom's architecture documentation
/// (Zoom Meeting Connector: "Zone Controller", "Multimedia Router").
fn refine_role(m: &SniRule, first_label: &str) -> SniRole {
    if m.app == "zoom" && m.suffix == "zoom.us" {
        let l = first_label.as_bytes();
        let starts = l.len() >= 4 && l[..4].eq_ignore_ascii_case(b"zoom");
        if starts && l.len() > 7 && l[l.len() - 3..].eq_ignore_ascii_case(b"mmr") {
            return Media;
        }
        if starts && l.len() > 6 && l[l.len() - 2..].eq_ignore_ascii_case(b"zc") {
            return Signalling;
        }
    }
    m.role
}

/// TURN relay host names by suffix, with their operator: a TLS connection
/// to one is TURN over TLS.
#[rustfmt::skip]
static TURN_RELAY_NAMES: &[(&str, &str)] = &[
    // Microsoft Teams transport relays: *.relay.teams.microsoft.com and
    // worldaz.tr.teams.microsoft.com in the Microsoft 365 endpoints
    // (https://endpoints.office.com, "Skype for Business Online and
    // Microsoft Teams", media ports 3478-3481 and 443); the relays'
    // certificate in ndpi__teams.pcap names tr.teams.microsoft.com and
    // *.turn.teams.microsoft.com, and the client's SNI there is
    // euaz.tr.teams.microsoft.com.
    ("tr.teams.microsoft.com", "Microsoft"),
    ("relay.teams.microsoft.com", "Microsoft"),
    ("turn.teams.microsoft.com", "Microsoft"),
    // Cloudflare Realtime TURN service: turn.cloudflare.com, turns on 5349
    // and 443 (https://developers.cloudflare.com/realtime/turn/).
    ("turn.cloudflare.com", "Cloudflare"),
    // Twilio Network Traversal Service: global.turn.twilio.com and regional
    // <region>.turn.twilio.com, turns on 443/5349
    // (https://www.twilio.com/docs/stun-turn).
    ("turn.twilio.com", "Twilio"),
];

/// The operator whose TURN relays a host name names (see
/// [`TURN_RELAY_NAMES`]); a certificate's wildcard `*.` is ignored.
pub fn turn_relay_of_name(name: &str) -> Option<&'static str> {
    let name = name.trim_end_matches('.');
    let name = name.strip_prefix("*.").unwrap_or(name);
    TURN_RELAY_NAMES.iter().find_map(|(suffix, op)| {
        let n = name.len();
        let s = suffix.len();
        let hit = n >= s
            && name.is_char_boundary(n - s)
            && name[n - s..].eq_ignore_ascii_case(suffix)
            && (n == s || name.as_bytes()[n - s - 1] == b'.');
        hit.then_some(*op)
    })
}

/// The app of a TLS or QUIC server name (case-insensitive, longest matching
/// domain suffix on a label boundary). `None` for IP literals, empty names and
/// names of no known VC app.
pub fn app_of_sni(sni: &str) -> Option<AppMatch> {
    let name = sni.strip_suffix('.').unwrap_or(sni);
    if name.is_empty() || name.parse::<IpAddr>().is_ok() {
        return None;
    }
    let rules = rules_by_suffix();
    // Names are matched in lowercase; most are already.
    let lower;
    let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
        lower = name.to_ascii_lowercase();
        lower.as_str()
    } else {
        name
    };
    let first_label = name.split('.').next().unwrap_or(name);
    // Candidate suffixes from the longest (the whole name) to the shortest.
    let mut candidate = name;
    loop {
        if let Some(m) = rules.get(candidate) {
            return Some(AppMatch {
                app: m.app,
                operator: m.operator,
                role: refine_role(m, first_label),
            });
        }
        candidate = candidate.get(candidate.find('.')? + 1..)?;
    }
}

/// The app of a TLS server certificate, from the names it is issued for
/// (subject commonNames and subjectAltName dNSNames; a wildcard such as
/// `*.webex.com` matches by the suffix after `*.`), matched as
/// [`app_of_sni`] matches a server name. The first matching name gives the
/// answer when every matching name agrees on the app; `None` when none
/// matches, or when two apps do (a shared certificate names several
/// customers of a CDN or host, and says nothing about this flow's).
pub fn app_of_certificate_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<AppMatch> {
    let mut found: Option<AppMatch> = None;
    for m in names.into_iter().filter_map(app_of_sni) {
        match found {
            None => found = Some(m),
            Some(f) if f.app != m.app => return None,
            Some(_) => {}
        }
    }
    found
}

// ---------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------

/// Which operator a port rule needs.
enum Needs {
    /// Any range of this operator.
    Operator(&'static str),
    /// A range whose list is dedicated to this service.
    Service(&'static str),
    /// An address the capture tied to this app by name (a server name,
    /// certificate name or DNS answer of one of its domains): for apps that
    /// anyone can host, whose servers are in no published range.
    Named(&'static str),
}

struct PortRule {
    udp: bool,
    lo: u16,
    hi: u16,
    needs: Needs,
    app: &'static str,
}

const fn port(udp: bool, lo: u16, hi: u16, needs: Needs, app: &'static str) -> PortRule {
    PortRule {
        udp,
        lo,
        hi,
        needs,
        app,
    }
}

#[rustfmt::skip]
static PORT_RULES: &[PortRule] = &[
    // Zoom firewall article (support.zoom.us 201362683): meeting client to Zoom
    // "UDP 3478, 3479, 8801-8810" and "TCP 8801-8802".
    port(true, 8801, 8810, Needs::Operator("Zoom"), "zoom"),
    port(true, 3478, 3479, Needs::Operator("Zoom"), "zoom"),
    port(false, 8801, 8802, Needs::Operator("Zoom"), "zoom"),
    // Microsoft 365 endpoints, Teams media (ID 11): UDP 3478-3481 to
    // 52.112.0.0/14, 52.122.0.0/15 and 2603:1063::/38.
    port(true, 3478, 3481, Needs::Operator("Microsoft"), "teams"),
    // Google Meet (support.google.com/a/answer/1279090): UDP 3478 and
    // 19302-19309, to the Meet media ranges only. Any other Google address on
    // 19302 is Google's public STUN service (stun.l.google.com), which every
    // WebRTC app uses: Signal does in ndpi__stun_signal.pcapng (172.253.121.127).
    port(true, 19302, 19309, Needs::Service("meet"), "meet"),
    port(true, 3478, 3478, Needs::Service("meet"), "meet"),
    // Webex network requirements (help.webex.com WBX000028782): media to Webex
    // media nodes on UDP 9000 and TCP/UDP 5004 (ndpi__webex.pcap: UDP 9000).
    port(true, 9000, 9000, Needs::Operator("Cisco Webex"), "webex"),
    port(true, 5004, 5004, Needs::Operator("Cisco Webex"), "webex"),
    port(false, 5004, 5004, Needs::Operator("Cisco Webex"), "webex"),
    // WhatsApp calls: STUN/relay on UDP 3478 at Meta addresses
    // (ndpi__wa_voice.pcap, ndpi__stun_wa_call.pcapng; nDPI labels them
    // WhatsAppCall). Messenger calls may use the same relays: prefer STUN
    // vendor evidence when there is any.
    port(true, 3478, 3478, Needs::Operator("Meta"), "whatsapp"),
    // Telegram call reflectors answer STUN on UDP 1400
    // (ndpi__telegram_videocall.pcapng, 91.108.x.x:1400; nDPI: STUN.Telegram).
    port(true, 1400, 1400, Needs::Operator("Telegram"), "telegram"),
    // Discord voice: UDP 50000-65535 (Discord support "Discord and firewalls";
    // ndpi__discord.pcap: 66.22.196.173:50004).
    port(true, 50000, 65535, Needs::Operator("Discord"), "discord"),
    // Apple "TCP and UDP ports used by Apple software products"
    // (support.apple.com/HT202078) and "Use Apple products on enterprise
    // networks" (support.apple.com/101555), checked 2026-12-04 from what is
    // known of them (not re-read): FaceTime UDP 3478-3497, 16384-16387,
    // 16393-16402, to Apple's own 17.0.0.0/8 only.
    port(true, 3478, 3497, Needs::Operator("Apple"), "facetime"),
    port(true, 16384, 16387, Needs::Operator("Apple"), "facetime"),
    port(true, 16393, 16402, Needs::Operator("Apple"), "facetime"),
    // Jitsi Meet: the videobridge takes media on UDP 10000 (Jitsi handbook,
    // "Self-Hosting Guide - Debian/Ubuntu server", firewall: 443/tcp and
    // 10000/udp; jitsi.github.io/handbook, read 2026-12-04). Anyone hosts
    // Jitsi, so the port counts only on an address already named as Jitsi's.
    port(true, 10000, 10000, Needs::Named("jitsi"), "jitsi"),
];

/// The app of a well-known VC port on an address of a known operator:
/// `transport` is "udp" or "tcp" (any case), `port` the server-side port,
/// `operator` what [`operator_of_ip`] said about the server address. Without
/// an operator there is no answer: ports alone are shared by everyone.
pub fn app_of_port(
    transport: &str,
    port: u16,
    operator: Option<&Operator>,
) -> Option<&'static str> {
    let op = operator?;
    port_rule(transport, port, |needs| match needs {
        Needs::Operator(name) => op.name == *name,
        Needs::Service(s) => op.service == Some(*s),
        Needs::Named(_) => false,
    })
}

/// The app of the first port rule for `transport` and `port` whose need
/// `fits`; `None` for a transport other than UDP or TCP.
fn port_rule(transport: &str, port: u16, fits: impl Fn(&Needs) -> bool) -> Option<&'static str> {
    let udp = if transport.eq_ignore_ascii_case("udp") {
        true
    } else if transport.eq_ignore_ascii_case("tcp") {
        false
    } else {
        return None;
    };
    PORT_RULES
        .iter()
        .find(|r| r.udp == udp && (r.lo..=r.hi).contains(&port) && fits(&r.needs))
        .map(|r| r.app)
}

/// The app of a media port on an address the capture tied to `named_app`
/// by name (another flow's server name, certificate name or DNS answer of
/// one of the app's domains), for apps that anyone can host: Jitsi's
/// videobridge on UDP 10000. `None` for any other app, port or transport.
pub fn app_of_port_on_named_address(
    transport: &str,
    port: u16,
    named_app: &str,
) -> Option<&'static str> {
    port_rule(
        transport,
        port,
        |needs| matches!(needs, Needs::Named(a) if *a == named_app),
    )
}

/// Whether [`app_of_port_on_named_address`] can name a flow of `transport`
/// to server port `port` for some app, whatever the address.
pub fn port_of_named_apps(transport: &str, port: u16) -> bool {
    port_rule(transport, port, |needs| matches!(needs, Needs::Named(_))).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The /16 index finds what a search of every span finds: at each
    /// span's ends and either side of them, at the /16 boundaries around
    /// them, and over a sweep of the whole space.
    #[test]
    fn ipv4_lookup_by_16_is_the_full_search() {
        let t = ranges();
        let mut probes: Vec<u32> = (0..=u32::MAX / 7919).map(|i| i * 7919).collect();
        for s in &t.v4 {
            for x in [s.first, s.last] {
                probes.extend([x.wrapping_sub(1), x, x.wrapping_add(1)]);
                probes.extend([
                    x & 0xffff_0000,
                    (x & 0xffff_0000).wrapping_sub(1),
                    x | 0xffff,
                ]);
            }
        }
        probes.extend([0, u32::MAX]);
        for ip in probes {
            assert_eq!(
                t.find_v4(ip),
                find(&t.v4, ip),
                "{}",
                std::net::Ipv4Addr::from(ip)
            );
        }
    }

    #[test]
    fn every_app_evidence_is_in_the_schema_list() {
        for (i, e) in APP_EVIDENCE.iter().enumerate() {
            assert_eq!(evidence_index(*e), i, "{e:?}");
        }
        let max = APP_EVIDENCE.iter().map(|e| evidence_index(*e)).max();
        assert_eq!(max, Some(APP_EVIDENCE.len() - 1));
    }
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn op(ip: &str) -> Option<Operator> {
        operator_of_ip(ip.parse().unwrap())
    }

    /// (operator name, service) of an address, for compact assertions.
    fn who(ip: &str) -> Option<(&'static str, Option<&'static str>)> {
        op(ip).map(|o| (o.name, o.service))
    }

    #[test]
    fn parses_every_line_of_the_data_file() {
        let s = range_stats();
        assert_eq!(s.rejected_lines, 0, "{s:?}");
        assert_eq!(s.lists, 16);
        assert!(s.prefixes > 1000, "{s:?}");
        assert!(s.v4_spans > 500 && s.v6_spans > 50, "{s:?}");
    }

    #[test]
    fn rejects_duplicates_across_lists_in_the_data_file() {
        // Exact duplicates would make the winner depend on file order.
        let mut seen = std::collections::HashMap::new();
        for line in IP_RANGES.lines() {
            let line = line.split('#').next().unwrap().trim();
            if line.is_empty() || line.starts_with("list ") {
                continue;
            }
            let mut w = line.split_whitespace();
            let (p, id) = (w.next().unwrap(), w.next().unwrap());
            let net: IpNet = p.parse().unwrap();
            if let Some(prev) = seen.insert(net, id) {
                panic!("{p} is in lists {prev} and {id}");
            }
        }
    }

    #[test]
    fn flattened_tables_are_sorted_and_disjoint() {
        let t = ranges();
        for w in t.v4.windows(2) {
            assert!(w[0].first <= w[0].last && w[0].last < w[1].first, "{w:?}");
        }
        for w in t.v6.windows(2) {
            assert!(w[0].first <= w[0].last && w[0].last < w[1].first, "{w:?}");
        }
    }

    #[test]
    fn parses_nested_prefixes_most_specific_wins() {
        let t = RangeTable::parse(
            "list big - Big Co\nlist mid mid Big Co\nlist small small Small Co\n\
             10.0.0.0/8 big\n10.1.0.0/16 mid\n10.1.2.0/24 small\n10.1.2.255/32 big\n\
             255.255.255.0/24 big # ends at the last address\n\
             ::/0 big\nffff::/16 small\n",
        );
        assert_eq!(t.rejected, 0);
        let l = |s: &str| t.lookup(s.parse().unwrap()).map(|o| o.list);
        assert_eq!(l("9.255.255.255"), None);
        assert_eq!(l("10.0.0.0"), Some("big"));
        assert_eq!(l("10.0.255.255"), Some("big"));
        assert_eq!(l("10.1.0.0"), Some("mid"));
        assert_eq!(l("10.1.2.0"), Some("small"));
        assert_eq!(l("10.1.2.254"), Some("small"));
        assert_eq!(l("10.1.2.255"), Some("big"));
        assert_eq!(l("10.1.3.0"), Some("mid"));
        assert_eq!(l("10.2.0.0"), Some("big"));
        assert_eq!(l("10.255.255.255"), Some("big"));
        assert_eq!(l("11.0.0.0"), None);
        assert_eq!(l("255.255.255.255"), Some("big"));
        assert_eq!(l("::"), Some("big"));
        assert_eq!(l("fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), Some("big"));
        assert_eq!(l("ffff::"), Some("small"));
        assert_eq!(l("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), Some("small"));
        // big, mid, small, big (.255), mid, big, and 255.255.255.0/24.
        assert_eq!(t.v4.len(), 7);
    }

    #[test]
    fn rejects_bad_lines() {
        let t = RangeTable::parse(
            "list a - A\nlist a - again\n10.0.0.1/8 a\n10.0.0.0/33 a\n10.0.0.0/8 nolist\n\
             10.0.0.0/8\n10.0.0.0/8 a extra\nlist b\n20.0.0.0/8 a\n",
        );
        assert_eq!(t.rejected, 7);
        assert_eq!(t.prefixes, 1);
        assert_eq!(t.lists.len(), 1);
    }

    #[test]
    fn parses_range_boundaries() {
        // Meet's consumer /24 inside Google's 142.250.0.0/15.
        assert_eq!(who("142.250.82.0"), Some(("Google", Some("meet"))));
        assert_eq!(who("142.250.82.255"), Some(("Google", Some("meet"))));
        assert_eq!(who("142.250.81.255"), Some(("Google", None)));
        assert_eq!(who("142.250.83.0"), Some(("Google", None)));
        assert_eq!(who("142.250.0.0"), Some(("Google", None)));
        assert_eq!(who("142.251.255.255"), Some(("Google", None)));
        assert_eq!(who("142.249.255.255"), None);
        assert_eq!(who("142.252.0.0"), None);
        // A /32 of Microsoft 365 with nothing around it.
        assert_eq!(who("13.107.18.15"), Some(("Microsoft", None)));
        assert_eq!(who("13.107.18.14"), None);
        assert_eq!(who("13.107.18.16"), None);
        // WhatsApp's /31 inside Meta's 157.240.0.0/17.
        assert_eq!(who("157.240.20.51"), Some(("Meta", None)));
        assert_eq!(who("157.240.20.52"), Some(("Meta", Some("whatsapp"))));
        assert_eq!(who("157.240.20.53"), Some(("Meta", Some("whatsapp"))));
        assert_eq!(who("157.240.20.54"), Some(("Meta", None)));
        // IPv6: Meet's 2001:4860:4864:6::/64 inside Google's 2001:4860::/32.
        assert_eq!(who("2001:4860:4864:6::"), Some(("Google", Some("meet"))));
        assert_eq!(
            who("2001:4860:4864:6:ffff:ffff:ffff:ffff"),
            Some(("Google", Some("meet")))
        );
        assert_eq!(who("2001:4860:4864:7::"), Some(("Google", None)));
        assert_eq!(who("2001:4860::"), Some(("Google", None)));
        assert_eq!(who("2001:485f:ffff:ffff:ffff:ffff:ffff:ffff"), None);
        assert_eq!(who("2001:4861::"), None);
    }

    #[test]
    fn parses_corpus_zoom_addresses() {
        // ndpi__zoom.pcap: media router (UDP 8801) and web/zone controllers.
        let mmr = op("109.94.160.99").unwrap();
        assert_eq!(
            (mmr.name, mmr.service, mmr.list),
            ("Zoom", Some("zoom"), "zoom-2021")
        );
        for ip in [
            "193.122.35.237",
            "52.202.62.236",
            "52.202.62.196",
            "213.19.144.104",
            "213.244.140.85",
            "162.255.37.14",
            "162.255.38.14",
        ] {
            assert_eq!(who(ip), Some(("Zoom", Some("zoom"))), "{ip}");
        }
        // ndpi__zoom_p2p.pcapng: Zoom's STUN servers.
        assert_eq!(who("206.247.10.253"), Some(("Zoom", Some("zoom"))));
        assert_eq!(who("206.247.87.213"), Some(("Zoom", Some("zoom"))));
        // Same capture, not Zoom: Google's tag manager and an unlisted host.
        assert_eq!(who("172.217.21.72"), Some(("Google", None)));
        assert_eq!(who("167.99.215.164"), None);
    }

    #[test]
    fn parses_corpus_teams_addresses() {
        // ndpi__teams.pcap: transport relays (3478-3481) and Teams services.
        for ip in [
            "52.114.77.33",
            "52.113.194.132",
            "52.114.250.123",
            "52.114.250.152",
            "52.114.252.21",
            "52.114.15.45",
        ] {
            assert_eq!(who(ip), Some(("Microsoft", Some("teams"))), "{ip}");
        }
        // Sign-in (login.microsoftonline.com) is Microsoft 365, not Teams.
        assert_eq!(who("40.126.9.7"), Some(("Microsoft", None)));
        // The remote peer is a home address.
        assert_eq!(who("93.71.110.205"), None);
    }

    #[test]
    fn parses_corpus_meet_addresses() {
        // ndpi__stun_google_meet.pcapng: Meet media server (v4 and v6) and
        // Google's public STUN server.
        assert_eq!(who("142.250.82.76"), Some(("Google", Some("meet"))));
        assert_eq!(who("2001:4860:4864:6::81"), Some(("Google", Some("meet"))));
        assert_eq!(who("74.125.128.127"), Some(("Google", None)));
        // The client's own v6 address is an Italian ISP's.
        assert_eq!(who("2001:b07:a3d:c112:48a1:1094:1227:281e"), None);
        // IPv4-mapped IPv6 is looked up as IPv4.
        let mapped = IpAddr::V6(Ipv4Addr::new(142, 250, 82, 76).to_ipv6_mapped());
        assert_eq!(operator_of_ip(mapped).and_then(|o| o.service), Some("meet"));
    }

    #[test]
    fn parses_corpus_whatsapp_addresses() {
        // ndpi__wa_voice.pcap: chat server and media CDN (WhatsApp's own
        // addresses), call relays on 3478 (Meta).
        assert_eq!(who("157.240.20.53"), Some(("Meta", Some("whatsapp"))));
        assert_eq!(who("31.13.86.51"), Some(("Meta", Some("whatsapp"))));
        for ip in [
            "31.13.86.48",
            "157.240.193.48",
            "157.240.196.62",
            "179.60.192.48",
            "185.60.216.51",
        ] {
            assert_eq!(who(ip), Some(("Meta", None)), "{ip}");
        }
        // ndpi__stun_wa_call.pcapng relays; the peer 93.33.118.87 is an ISP's.
        assert_eq!(who("157.240.203.62"), Some(("Meta", None)));
        assert_eq!(who("157.240.231.62"), Some(("Meta", None)));
        assert_eq!(who("93.33.118.87"), None);
        // ndpi__whatsapp_login_call.pcap: the iPhone also talks to Apple.
        assert_eq!(who("17.173.66.102"), Some(("Apple", None)));
    }

    #[test]
    fn parses_corpus_webex_telegram_discord_line_addresses() {
        // ndpi__webex.pcap: media node (UDP 9000) and web servers.
        for ip in [
            "62.109.229.158",
            "62.109.224.120",
            "64.68.105.103",
            "173.243.0.110",
            "114.29.204.49",
            "209.197.222.159",
        ] {
            assert_eq!(who(ip), Some(("Cisco Webex", Some("webex"))), "{ip}");
        }
        // ndpi__telegram_videocall.pcapng: DCs and call reflectors.
        for ip in [
            "149.154.167.91",
            "149.154.167.51",
            "91.108.9.35",
            "91.108.13.23",
            "91.108.17.2",
        ] {
            assert_eq!(who(ip), Some(("Telegram", Some("telegram"))), "{ip}");
        }
        // ndpi__discord.pcap: voice server; discord.com behind Cloudflare.
        assert_eq!(who("66.22.196.173"), Some(("Discord", None)));
        assert_eq!(who("162.159.128.233"), Some(("Cloudflare", None)));
        // ndpi__line.pcap: call relays.
        assert_eq!(who("147.92.169.90"), Some(("LINE", Some("line"))));
        assert_eq!(who("125.209.252.210"), Some(("LINE", Some("line"))));
        // ndpi__wechat.pcap: web.wechat.com server.
        assert_eq!(who("203.205.147.171"), Some(("Tencent", None)));
    }

    #[test]
    fn rejects_private_documentation_and_unlisted_addresses() {
        for ip in [
            "192.168.1.117",
            "10.8.0.1",
            "172.16.1.75",
            "100.64.0.1",
            "127.0.0.1",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "9.9.9.9",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "2001:db8::1",
        ] {
            assert_eq!(op(ip), None, "{ip}");
        }
        // Google's public resolvers are Google, with no VC service.
        assert_eq!(who("8.8.4.4"), Some(("Google", None)));
        assert_eq!(
            operator_of_ip(IpAddr::V6(Ipv6Addr::new(
                0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888
            )))
            .map(|o| (o.name, o.service)),
            Some(("Google", None))
        );
    }

    fn sni(name: &str) -> Option<(&'static str, &'static str, SniRole)> {
        app_of_sni(name).map(|m| (m.app, m.operator, m.role))
    }

    #[test]
    fn parses_corpus_snis() {
        // ndpi__zoom.pcap (tshark tls.sni).
        assert_eq!(sni("zoom.us"), Some(("zoom", "Zoom", Signalling)));
        assert_eq!(sni("www3.zoom.us"), Some(("zoom", "Zoom", Signalling)));
        assert_eq!(sni("log.zoom.us"), Some(("zoom", "Zoom", Other)));
        assert_eq!(sni("zoomfrn99mmr.zoom.us"), Some(("zoom", "Zoom", Media)));
        assert_eq!(
            sni("zoomam104zc.zoom.us"),
            Some(("zoom", "Zoom", Signalling))
        );
        assert_eq!(
            sni("zoomfr85zc.zoom.us"),
            Some(("zoom", "Zoom", Signalling))
        );
        assert_eq!(sni("www.googletagmanager.com"), None);
        assert_eq!(sni("dati.ntop.org"), None);
        // ndpi__teams.pcap.
        for n in [
            "teams.microsoft.com",
            "config.teams.microsoft.com",
            "presence.teams.microsoft.com",
            "chatsvcagg.teams.microsoft.com",
            "emea.ng.msg.teams.microsoft.com",
            "euaz.tr.teams.microsoft.com",
            "api.flightproxy.teams.microsoft.com",
            "trouter2-asse-a.trouter.teams.microsoft.com",
            "northeurope.notifications.teams.microsoft.com",
            "eu-prod.asyncgw.teams.microsoft.com",
        ] {
            assert_eq!(sni(n), Some(("teams", "Microsoft", Signalling)), "{n}");
        }
        assert_eq!(sni("eu-api.asm.skype.com").map(|m| m.0), Some("skype"));
        // IP literals as SNI (Teams relays over TLS) name no app.
        assert_eq!(sni("52.114.250.152"), None);
        assert_eq!(sni("login.microsoftonline.com"), None);
        assert_eq!(sni("mobile.pipe.aria.microsoft.com"), None);
        // Other captures.
        assert_eq!(sni("discord.com"), Some(("discord", "Discord", Signalling)));
        assert_eq!(
            sni("uts-front.line-apps.com"),
            Some(("line", "LINE", Signalling))
        );
        assert_eq!(
            sni("pps.whatsapp.net"),
            Some(("whatsapp", "Meta", Signalling))
        );
        assert_eq!(
            sni("media-mxp1-1.cdn.whatsapp.net"),
            Some(("whatsapp", "Meta", Other))
        );
        assert_eq!(
            sni("radcom.webex.com"),
            Some(("webex", "Cisco Webex", Signalling))
        );
        assert_eq!(
            sni("web.wechat.com"),
            Some(("wechat", "Tencent", Signalling))
        );
        assert_eq!(sni("res.wx.qq.com"), Some(("wechat", "Tencent", Other)));
        assert_eq!(sni("graph.facebook.com"), None);
        assert_eq!(sni("i.instagram.com"), None);
        assert_eq!(sni("www.google.com"), None);
        assert_eq!(sni("lh3.google.com"), None);
        assert_eq!(sni("query.ess.apple.com"), None);
        assert_eq!(sni("performance.radar.cloudflare.com"), None);
    }

    #[test]
    fn parses_names_of_every_required_app() {
        for (n, app) in [
            ("us05web.zoom.us", "zoom"),
            ("teams.live.com", "teams"),
            ("web.skype.com", "skype"),
            ("company.webex.com", "webex"),
            ("meet.google.com", "meet"),
            ("g.whatsapp.net", "whatsapp"),
            ("edge-mqtt.facebook.com", "messenger"),
            ("facetime.apple.com", "facetime"),
            ("chat.signal.org", "signal"),
            ("frankfurt123.discord.media", "discord"),
            ("web.telegram.org", "telegram"),
            ("dl-media.viber.com", "viber"),
            ("app.snapchat.com", "snapchat"),
            ("meet.jit.si", "jitsi"),
            ("8x8.vc", "jitsi"),
            ("obs.line.me", "line"),
            ("weixin.qq.com", "wechat"),
        ] {
            assert_eq!(app_of_sni(n).map(|m| m.app), Some(app), "{n}");
        }
        assert_eq!(sni("frankfurt123.discord.media").map(|m| m.2), Some(Media));
        assert_eq!(sni("stream.meet.google.com").map(|m| m.2), Some(Media));
    }

    #[test]
    fn parses_certificate_names() {
        let app = |names: &[&str]| app_of_certificate_names(names.iter().copied()).map(|m| m.app);
        // ndpi__webex.pcap frame 195: CN www.webex.com, then 31 dNSNames.
        assert_eq!(
            app(&[
                "www.webex.com",
                "www.webex.com.au",
                "www.webex.ca",
                "m.webex.com"
            ]),
            Some("webex")
        );
        // Wildcards match by their suffix (ndpi__zoom.pcap, ndpi__teams.pcap).
        assert_eq!(app(&["*.zoom.us", "zoom.us"]), Some("zoom"));
        assert_eq!(
            app_of_certificate_names(["*.zoom.us"]).map(|m| m.operator),
            Some("Zoom")
        );
        // TURN relay names: suffix on a label boundary, wildcard and case ignored.
        assert_eq!(
            turn_relay_of_name("euaz.tr.teams.microsoft.com"),
            Some("Microsoft")
        );
        assert_eq!(
            turn_relay_of_name("*.TURN.teams.microsoft.com"),
            Some("Microsoft")
        );
        assert_eq!(
            turn_relay_of_name("turn.cloudflare.com"),
            Some("Cloudflare")
        );
        assert_eq!(turn_relay_of_name("xtr.teams.microsoft.com"), None);
        assert_eq!(turn_relay_of_name("teams.microsoft.com"), None);
        // ndpi__teams.pcap frame 1336: Teams and its TURN names, one app.
        assert_eq!(
            app(&["tr.teams.microsoft.com", "*.turn.teams.microsoft.com"]),
            Some("teams")
        );
        // Names of no VC app are ignored; none at all says nothing.
        assert_eq!(app(&["*.google-analytics.com", "*.zoom.us"]), Some("zoom"));
        assert_eq!(app(&["*.google-analytics.com"]), None);
        assert_eq!(app(&[]), None);
        // A shared certificate naming two apps' domains names neither.
        assert_eq!(
            app(&["sni.cloudflaressl.com", "discord.com", "zoom.us"]),
            None
        );
        assert_eq!(app(&["*", "*.", "."]), None);
    }

    #[test]
    fn parses_sni_case_and_label_boundaries() {
        assert_eq!(sni("ZoomFRN99MMR.Zoom.US."), Some(("zoom", "Zoom", Media)));
        assert_eq!(sni("notzoom.us"), None);
        assert_eq!(sni("zoom.us.evil.example"), None);
        assert_eq!(sni("xmeet.google.com"), None);
        assert_eq!(sni("google.com"), None);
        assert_eq!(sni("us"), None);
        assert_eq!(sni(""), None);
        assert_eq!(sni("."), None);
        assert_eq!(sni(".zoom.us"), Some(("zoom", "Zoom", Signalling)));
        assert_eq!(sni("*.webex.com").map(|m| m.0), Some("webex"));
        assert_eq!(sni("[2001:db8::1]"), None);
        assert_eq!(sni("2001:db8::1"), None);
        // Longest suffix wins over a shorter one of the same app.
        assert_eq!(sni("x.log.zoom.us").map(|m| m.2), Some(Other));
        // "zc"/"mmr" refinement only on Zoom's zoom<site><n><role> names.
        assert_eq!(sni("mmr.zoom.us").map(|m| m.2), Some(Signalling));
    }

    #[test]
    fn sni_rules_are_lowercase_and_unique() {
        assert_eq!(
            rules_by_suffix().len(),
            SNI_RULES.len(),
            "a duplicate suffix"
        );
        for x in SNI_RULES {
            assert_eq!(x.suffix, x.suffix.to_ascii_lowercase());
            assert!(!x.suffix.starts_with('.') && !x.suffix.ends_with('.'));
        }
    }

    #[test]
    fn parses_viber_addresses_kakao_names_and_jitsi_ports() {
        // nDPI's Viber blocks (AWS-VIBER-MEDIA), inside Amazon space no
        // other list claims.
        for ip in [
            "52.0.252.1",
            "18.195.5.200",
            "54.165.255.230",
            "52.3.167.70",
        ] {
            assert_eq!(who(ip), Some(("Rakuten Viber", Some("viber"))), "{ip}");
        }
        assert_eq!(who("52.3.167.71"), None);
        assert_eq!(who("52.0.251.255"), None);
        // KakaoTalk by Kakao's domain, on label boundaries.
        assert_eq!(sni("talk.kakao.com"), Some(("kakaotalk", "Kakao", Other)));
        assert_eq!(sni("kakao.com").map(|m| m.0), Some("kakaotalk"));
        assert_eq!(sni("notkakao.com"), None);
        assert_eq!(sni("kakao.com.example"), None);
        // Signal's group-call SFU is its media server.
        assert_eq!(
            sni("sfu.voip.signal.org"),
            Some(("signal", "Signal", Media))
        );
        assert_eq!(
            sni("chat.signal.org"),
            Some(("signal", "Signal", Signalling))
        );
        // Jitsi's videobridge port only on an address named as Jitsi's.
        assert_eq!(
            app_of_port_on_named_address("udp", 10000, "jitsi"),
            Some("jitsi")
        );
        assert_eq!(
            app_of_port_on_named_address("UDP", 10000, "jitsi"),
            Some("jitsi")
        );
        assert_eq!(app_of_port_on_named_address("tcp", 10000, "jitsi"), None);
        assert_eq!(app_of_port_on_named_address("udp", 10001, "jitsi"), None);
        assert_eq!(app_of_port_on_named_address("udp", 10000, "zoom"), None);
        // No operator's range makes UDP 10000 Jitsi's.
        let jvb = |ip: &str| app_of_port("udp", 10000, op(ip).as_ref());
        assert_eq!(jvb("52.114.77.136"), None);
        assert_eq!(jvb("8.8.8.8"), None);
        // Named rules never answer for an operator range either.
        assert_eq!(app_of_port_on_named_address("udp", 3478, "teams"), None);
    }

    #[test]
    fn parses_vc_ports_with_their_operator() {
        let p = |t: &str, port: u16, ip: &str| app_of_port(t, port, op(ip).as_ref());
        // ndpi__zoom.pcap: UDP 8801 to the media router, STUN 3478/3479.
        assert_eq!(p("udp", 8801, "109.94.160.99"), Some("zoom"));
        assert_eq!(p("UDP", 8810, "109.94.160.99"), Some("zoom"));
        assert_eq!(p("udp", 8811, "109.94.160.99"), None);
        assert_eq!(p("udp", 3479, "162.255.38.14"), Some("zoom"));
        assert_eq!(p("tcp", 8801, "109.94.160.99"), Some("zoom"));
        assert_eq!(p("tcp", 8803, "109.94.160.99"), None);
        // ndpi__teams.pcap: 3478-3481 to Teams relays.
        assert_eq!(p("udp", 3478, "52.114.77.136"), Some("teams"));
        assert_eq!(p("udp", 3480, "52.114.252.21"), Some("teams"));
        assert_eq!(p("udp", 3482, "52.114.252.21"), None);
        // Meet media ranges only; Google's public STUN is any app's (Signal).
        assert_eq!(p("udp", 19305, "142.250.82.76"), Some("meet"));
        assert_eq!(p("udp", 3478, "2001:4860:4864:6::81"), Some("meet"));
        assert_eq!(p("udp", 19302, "74.125.128.127"), None);
        assert_eq!(p("udp", 19302, "172.253.121.127"), None);
        // ndpi__webex.pcap: UDP 9000 to a media node.
        assert_eq!(p("udp", 9000, "62.109.229.158"), Some("webex"));
        assert_eq!(p("tcp", 9000, "62.109.229.158"), None);
        // WhatsApp relays, Telegram reflectors, Discord voice.
        assert_eq!(p("udp", 3478, "31.13.86.48"), Some("whatsapp"));
        assert_eq!(p("udp", 1400, "91.108.9.35"), Some("telegram"));
        assert_eq!(p("udp", 50004, "66.22.196.173"), Some("discord"));
        assert_eq!(p("udp", 16385, "17.1.2.3"), Some("facetime"));
        // A port alone, or on someone else's address, says nothing.
        assert_eq!(app_of_port("udp", 8801, None), None);
        assert_eq!(p("udp", 8801, "52.114.77.136"), None);
        assert_eq!(p("udp", 3478, "192.0.2.1"), None);
        assert_eq!(p("sctp", 3478, "52.114.77.136"), None);
    }
}

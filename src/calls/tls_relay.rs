//! TURN over TLS and DTLS (RFC 8656 section 3.5, "turns" on 5349; clients
//! fall back to it on 443 where UDP is blocked). The TURN messages are
//! encrypted, so a TLS or DTLS flow is taken for a TURN relay only from what
//! is visible: the client's ALPN `stun.turn` (RFC 7443), a server name the
//! provider gives its relays, or a server address this very client already
//! uses as a TURN server in clear while it named no host (no SNI, or an IP
//! literal as SNI). The port is named as well, never alone. Pure function
//! over one flow's visible facts and the relay table.

use crate::report::RelayOut;

/// What one TLS or DTLS flow shows, seen from its client.
pub struct TlsFlowView<'a> {
    pub client_ip: &'a str,
    pub server_ip: &'a str,
    pub server_port: u16,
    pub sni: Option<&'a str>,
    /// The ClientHello offered ALPN `stun.turn`.
    pub alpn_turn: bool,
    /// Who runs the server's address, from the published ranges.
    pub server_operator: Option<&'a str>,
}

/// The turns port (RFC 8656 section 17; IANA "turns", 5349/tcp and udp).
const TURNS_PORT: u16 = 5349;

/// Why this flow is TURN over TLS/DTLS, and the relay's operator when a
/// relay name says it; no evidence when it is not known to be TURN.
pub fn turn_evidence(
    v: &TlsFlowView<'_>,
    relays: &[RelayOut],
) -> (Vec<String>, Option<&'static str>) {
    let mut ev = Vec::new();
    let mut operator = None;
    if v.alpn_turn {
        ev.push("the client offered ALPN stun.turn (RFC 7443)".to_string());
    }
    let literal = v.sni.is_some_and(|s| s.parse::<std::net::IpAddr>().is_ok());
    if let Some(name) = v.sni.filter(|_| !literal) {
        if let Some(op) = crate::apps::turn_relay_of_name(name) {
            operator = Some(op);
            ev.push(format!("server name {name}: a TURN relay name of {op}"));
        }
    }
    let clear = relays.iter().find(|r| {
        r.kind == "turn"
            && r.ip == v.server_ip
            && !matches!(r.transport, "tls" | "dtls")
            && r.clients.iter().any(|c| c == v.client_ip)
    });
    if let Some(r) = clear {
        // Decisive when the client named no host; else only supporting (a
        // named host may serve more than TURN on this address).
        let named = match v.sni {
            Some(s) if literal => Some(format!("the IP literal {s} as server name")),
            Some(_) => None,
            None => Some("no server name".to_string()),
        };
        let what = format!(
            "an address this client uses as a TURN server ({} {})",
            r.transport, r.port
        );
        match named {
            Some(n) => ev.push(format!("{n}, to {what}")),
            None if !ev.is_empty() => ev.push(format!("the server is {what}")),
            None => {}
        }
    } else if literal {
        // An IP literal as server name (RFC 6066 section 3 allows host names
        // only) is an address handed to the client, as a TURN server's URI
        // is; to the operator whose TURN servers this client uses in clear.
        let op = v.server_operator;
        let same_operator = relays.iter().find(|r| {
            r.kind == "turn"
                && !matches!(r.transport, "tls" | "dtls")
                && op.is_some()
                && r.operator.as_deref() == op
                && r.clients.iter().any(|c| c == v.client_ip)
        });
        if let (Some(r), Some(op)) = (same_operator, op) {
            ev.push(format!(
                "the IP literal {} as server name, to an address of {op}, whose TURN server {} ({} {}) this client uses",
                v.sni.unwrap_or_default(),
                r.ip,
                r.transport,
                r.port
            ));
        }
    }
    if !ev.is_empty() && v.server_port == TURNS_PORT {
        ev.push(format!("port {TURNS_PORT}, turns (RFC 8656)"));
    }
    (ev, operator)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(sni: Option<&'a str>, alpn_turn: bool, port: u16) -> TlsFlowView<'a> {
        TlsFlowView {
            client_ip: "192.168.1.6",
            server_ip: "52.114.250.123",
            server_port: port,
            sni,
            alpn_turn,
            server_operator: Some("Microsoft"),
        }
    }

    fn udp_turn(client: &str) -> RelayOut {
        RelayOut {
            place: Default::default(),
            ip: "52.114.250.123".into(),
            port: 3478,
            transport: "udp",
            kind: "turn",
            operator: Some("Microsoft".into()),
            clients: vec![client.into()],
            relayed_addresses: Vec::new(),
            channel_data_packets: 0,
            peers: Vec::new(),
            flow_ids: vec![63],
            evidence: Vec::new(),
            used: None,
            relayed_packets: 0,
        }
    }

    #[test]
    fn parses_alpn_stun_turn_and_names_the_turns_port() {
        let (ev, op) = turn_evidence(&view(None, true, 5349), &[]);
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(ev[0].contains("stun.turn") && ev[1].contains("5349"));
        assert_eq!(op, None);
    }

    #[test]
    fn parses_a_providers_relay_name() {
        // ndpi__teams.pcap flows 64 and 67.
        let (ev, op) = turn_evidence(&view(Some("euaz.tr.teams.microsoft.com"), false, 443), &[]);
        assert_eq!(op, Some("Microsoft"));
        assert_eq!(ev.len(), 1, "{ev:?}");
        let (ev, _) = turn_evidence(&view(Some("teams.microsoft.com"), false, 443), &[]);
        assert!(ev.is_empty(), "{ev:?}");
        // The same address as a TURN server of this client in clear: named too.
        let relays = [udp_turn("192.168.1.6")];
        let (ev, _) = turn_evidence(
            &view(Some("euaz.tr.teams.microsoft.com"), false, 443),
            &relays,
        );
        assert_eq!(ev.len(), 2, "{ev:?}");
        assert!(ev[1].contains("udp 3478"), "{ev:?}");
    }

    #[test]
    fn parses_an_ip_literal_to_the_clients_turn_server() {
        let relays = [udp_turn("192.168.1.6")];
        let (ev, _) = turn_evidence(&view(Some("52.114.250.123"), false, 443), &relays);
        assert!(ev[0].contains("IP literal"), "{ev:?}");
        // Another address of the operator of this client's TURN server:
        // ndpi__teams.pcap flows 72 and 73.
        let mut other = view(Some("52.114.250.152"), false, 443);
        other.server_ip = "52.114.250.152";
        let (ev, _) = turn_evidence(&other, &relays);
        assert!(ev[0].contains("an address of Microsoft"), "{ev:?}");
        other.server_operator = None;
        assert!(turn_evidence(&other, &relays).0.is_empty());
        // Another client's TURN server, or a host name of nobody's relays: no.
        let others = [udp_turn("192.168.1.7")];
        assert!(
            turn_evidence(&view(Some("52.114.250.123"), false, 443), &others)
                .0
                .is_empty()
        );
        assert!(
            turn_evidence(&view(Some("example.org"), false, 443), &relays)
                .0
                .is_empty()
        );
        // The port alone says nothing.
        assert!(turn_evidence(&view(None, false, 5349), &[]).0.is_empty());
    }
}

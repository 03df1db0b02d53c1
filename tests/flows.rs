//! Flow records agree with tshark's conversation statistics on every fixture.
//!
//! Expected values: fixtures/expected/conv/<capture>.json, made by
//! fixtures/tools/tshark_conv.py (tshark 4.0.17) and reviewed.

mod common;

use std::collections::BTreeMap;

use common::*;
use vcscope::report::{EndpointOut, Report};

type Conv = BTreeMap<(String, String, String), (u64, u64)>;

fn ep(e: &EndpointOut) -> String {
    if e.ip.contains(':') {
        format!("[{}]:{}", e.ip, e.port)
    } else {
        format!("{}:{}", e.ip, e.port)
    }
}

fn sort_key(e: &EndpointOut) -> (u8, u128, u16) {
    match e.ip.parse::<std::net::IpAddr>().unwrap() {
        std::net::IpAddr::V4(a) => (4, u32::from(a) as u128, e.port),
        std::net::IpAddr::V6(a) => (6, u128::from(a), e.port),
    }
}

/// Our flows summed per bidirectional 5-tuple (a flow that ended idle and
/// came back is two records, one conversation for tshark).
fn ours(r: &Report) -> Conv {
    let mut m = Conv::new();
    for f in &r.flows {
        let (lo, hi) = if sort_key(&f.src) <= sort_key(&f.dst) {
            (&f.src, &f.dst)
        } else {
            (&f.dst, &f.src)
        };
        let e = m
            .entry((f.transport.to_string(), ep(lo), ep(hi)))
            .or_default();
        e.0 += f.packets;
        e.1 += f.bytes;
    }
    m
}

fn tshark(name: &str) -> Conv {
    let v = read_json(
        &root()
            .join("fixtures/expected/conv")
            .join(format!("{name}.json")),
    );
    let mut m = Conv::new();
    for c in v["conversations"].as_array().unwrap() {
        m.insert(
            (
                c["transport"].as_str().unwrap().to_string(),
                c["a"].as_str().unwrap().to_string(),
                c["b"].as_str().unwrap().to_string(),
            ),
            (c["frames"].as_u64().unwrap(), c["bytes"].as_u64().unwrap()),
        );
    }
    m
}

/// Captures whose numbers differ from tshark for a known, reviewed reason.
const EXPLAINED: &[&str] = &["heplify__ipv6_udp_fragmented.pcap"];

#[test]
fn flows_packets_and_bytes_agree_with_tshark_on_every_fixture() {
    let mut checked = 0;
    for path in all_fixtures() {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if EXPLAINED.contains(&name.as_str()) {
            continue;
        }
        let r = analyze(&[&path]);
        assert_eq!(ours(&r), tshark(&name), "{name}");
        checked += 1;
    }
    assert!(checked >= 70, "only {checked} captures checked");
}

#[test]
fn reassembled_ipv6_datagram_is_one_packet_carrying_every_fragment_byte() {
    // tshark counts the frame that completes the datagram (1105 bytes) as
    // the conversation's; vcscope counts the datagram once and the bytes of
    // all four frames that carried it (3 x 1510 + 1105).
    let name = "heplify__ipv6_udp_fragmented.pcap";
    let r = analyze_one(name);
    let t = tshark(name);
    let o = ours(&r);
    assert_eq!(o.len(), 1);
    let (k, &(packets, bytes)) = o.iter().next().unwrap();
    assert_eq!(t[k], (3, 1378));
    assert_eq!((packets, bytes), (3, 1378 + 3 * 1510));
    assert_eq!(r.source.reassembled, 1);
    assert_eq!(r.source.packets, 6);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn erspan_capture_is_decapsulated() {
    let r = analyze_one("heplify__erspan_sip_ipv4_udp.pcapng");
    assert_eq!(r.source.packets, 140);
    assert_eq!(r.source.decapsulated, 140);
    assert_eq!(r.flows.len(), 4);
}

#[test]
fn gtpu_tunnel_is_opened() {
    // ndpi__zoom.pcap carries one Zoom flow inside GTP-U (UDP 2152).
    let r = analyze_one("ndpi__zoom.pcap");
    assert!(r
        .flows
        .iter()
        .any(|f| f.src.ip == "10.140.117.35" && f.dst.port == 8801 && f.packets == 81));
    assert!(r.source.decapsulated >= 81);
}

#[test]
fn flow_ids_are_in_first_seen_order_and_src_sent_first() {
    let r = analyze_one("heplify__sip_ipv4_tcp.pcap");
    let ids: Vec<u32> = r.flows.iter().map(|f| f.id).collect();
    assert_eq!(ids, (1..=r.flows.len() as u32).collect::<Vec<_>>());
    let first = &r.flows[0];
    assert_eq!(ep(&first.src), "10.33.6.100:64802");
    assert_eq!(ep(&first.dst), "10.33.6.101:5060");
    assert!(r.flows.windows(2).all(|w| w[0].first_ts <= w[1].first_ts));
}

#[test]
fn several_files_form_one_analysis() {
    let a = fixture("sngrep__aaa.pcap");
    let b = fixture("heplify__sip_ipv4_tcp.pcap");
    let both = analyze(&[&b, &a]);
    let ra = analyze(&[&a]);
    let rb = analyze(&[&b]);
    assert_eq!(both.source.packets, ra.source.packets + rb.source.packets);
    assert_eq!(both.flows.len(), ra.flows.len() + rb.flows.len());
    // Read in time order: the 2005 capture first although named second.
    assert_eq!(both.flows[0].first_ts, ra.flows[0].first_ts);
}

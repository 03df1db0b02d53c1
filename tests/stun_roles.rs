//! Who is a STUN server: the side requests go to and answers come from,
//! never the side that sent first. Built captures: a Binding to a STUN
//! port answered with only a mapped address, classic (RFC 3489) Binding
//! requests answered by Shared Secret messages (as Zoom's servers send
//! them), requests nobody answers to an address on no STUN port, and an
//! answered Binding on an unusual port.

mod common;

use std::path::Path;

use common::*;

const CLIENT: [u8; 4] = [192, 168, 1, 5];

/// An RFC 5389 message: type, transaction id byte, attributes (type, value).
fn stun(typ: u16, txid: u8, attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (t, v) in attrs {
        body.extend_from_slice(&t.to_be_bytes());
        body.extend_from_slice(&(v.len() as u16).to_be_bytes());
        body.extend_from_slice(v);
        body.resize(body.len().next_multiple_of(4), 0);
    }
    let mut m = Vec::new();
    m.extend_from_slice(&typ.to_be_bytes());
    m.extend_from_slice(&(body.len() as u16).to_be_bytes());
    m.extend_from_slice(&0x2112_A442u32.to_be_bytes());
    m.extend_from_slice(&[txid; 12]);
    m.extend_from_slice(&body);
    m
}

/// A classic RFC 3489 message: a 16-byte transaction id, no magic cookie.
fn classic(typ: u16, txid: u8, attrs: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut m = stun(typ, txid, attrs);
    m[4..8].copy_from_slice(&[txid; 4]);
    m
}

fn xor_mapped(ip: [u8; 4], port: u16) -> (u16, Vec<u8>) {
    let mut v = vec![0, 1];
    v.extend_from_slice(&(port ^ 0x2112).to_be_bytes());
    let cookie = 0x2112_A442u32.to_be_bytes();
    v.extend(ip.iter().zip(cookie).map(|(a, b)| a ^ b));
    (0x0020, v)
}

/// The frames one second apart, as a pcap file.
fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let timed: Vec<(u64, Vec<u8>)> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| (i as u64 * 1_000_000, f.clone()))
        .collect();
    std::fs::write(path, pcap_at(&timed)).unwrap();
}

#[test]
fn servers_are_who_answers_never_who_sent_first() {
    let stun_server = [198, 51, 100, 7];
    let classic_server = [198, 51, 100, 8];
    let silent_peer = [203, 0, 113, 9];
    let odd_port_server = [203, 0, 113, 10];
    let mut frames = vec![
        // A Binding with a USERNAME (not an ICE check) to a STUN port,
        // answered with only a mapped address.
        udp_frame(
            CLIENT,
            stun_server,
            40_000,
            3478,
            &stun(0x0001, 1, &[(0x0006, b"abcd".to_vec())]),
        ),
        udp_frame(
            stun_server,
            CLIENT,
            3478,
            40_000,
            &stun(0x0101, 1, &[xor_mapped([198, 18, 0, 1], 61_000)]),
        ),
    ];
    // Classic Binding requests answered by Shared Secret messages (0x0002).
    for i in 0..3 {
        frames.push(udp_frame(
            CLIENT,
            classic_server,
            40_002,
            3478,
            &classic(0x0001, 10 + i, &[(0x0003, vec![0, 0, 0, 0])]),
        ));
    }
    for i in 0..3 {
        frames.push(udp_frame(
            classic_server,
            CLIENT,
            3478,
            40_002,
            &classic(0x0002, 10 + i, &[(0x0103, vec![0, 0, 0, 1])]),
        ));
    }
    // Requests nobody answers, to an address on no STUN port.
    for i in 0..3 {
        frames.push(udp_frame(
            CLIENT,
            silent_peer,
            40_004,
            40_436,
            &stun(0x0001, 20 + i, &[]),
        ));
    }
    // An answered Binding on an unusual port.
    frames.push(udp_frame(
        CLIENT,
        odd_port_server,
        40_006,
        40_500,
        &stun(0x0001, 30, &[]),
    ));
    frames.push(udp_frame(
        odd_port_server,
        CLIENT,
        40_500,
        40_006,
        &stun(0x0101, 30, &[xor_mapped([198, 18, 0, 1], 61_001)]),
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stun-roles.pcap");
    write_pcap(&path, &frames);
    let report = analyze(&[path.as_path()]);
    let servers: Vec<(String, u16, &str, Vec<String>)> = report
        .relays
        .iter()
        .map(|r| (r.ip.clone(), r.port, r.kind, r.clients.clone()))
        .collect();
    let client = vec!["192.168.1.5".to_string()];
    for (ip, port) in [
        ("198.51.100.7", 3478),
        ("198.51.100.8", 3478),
        ("203.0.113.10", 40_500),
    ] {
        assert!(
            servers.contains(&(ip.to_string(), port, "stun", client.clone())),
            "{ip}:{port} is a STUN server of the client: {servers:?}"
        );
    }
    assert!(
        !servers.iter().any(|s| s.0 == "192.168.1.5"),
        "the client is no server: {servers:?}"
    );
    assert!(
        !servers.iter().any(|s| s.0 == "203.0.113.9"),
        "an address that never answered is no server: {servers:?}"
    );
    assert_eq!(servers.len(), 3, "{servers:?}");
}

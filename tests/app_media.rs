//! Calls inferred from an app's media that shows nothing vcscope reads:
//! built captures of encrypted UDP with no RTP, STUN, DTLS or QUIC header.
//! A two-way, sustained flow of small packets to an address of the app's
//! published ranges is a call, encrypted by the app's documented policy
//! (`encryption_basis: policy`); a bulk transfer to the same operator and
//! the same call-shaped flow to an address of nobody known are not.

mod common;

use std::path::Path;

use common::*;

/// Bytes that look like ciphertext, with a first byte RFC 7983 leaves to
/// no protocol (8: not STUN, ZRTP, DTLS, TURN, QUIC or RTP).
/// `(microseconds, frame)` in any order, written as a pcap in time order.
fn write_pcap(path: &Path, mut frames: Vec<(u64, Vec<u8>)>) {
    frames.sort_by_key(|(t, _)| *t);
    std::fs::write(path, pcap_at(&frames)).unwrap();
}

fn frame(src: ([u8; 4], u16), dst: ([u8; 4], u16), payload: &[u8]) -> Vec<u8> {
    udp_frame(src.0, dst.0, src.1, dst.1, payload)
}

fn opaque(len: usize, seed: &mut u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    for _ in 0..len {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        v.push((*seed >> 33) as u8);
    }
    if let Some(b) = v.first_mut() {
        *b = 8;
    }
    v
}

/// `pps` packets a second each way for `secs`, `up` and `down` bytes of
/// payload, between a client and a server.
fn exchange(
    client: ([u8; 4], u16),
    server: ([u8; 4], u16),
    secs: u64,
    (up_pps, up): (u64, usize),
    (down_pps, down): (u64, usize),
    seed: &mut u64,
) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    for i in 0..secs * up_pps {
        out.push((
            i * 1_000_000 / up_pps,
            frame(client, server, &opaque(up, seed)),
        ));
    }
    for i in 0..secs * down_pps {
        let t = i * 1_000_000 / down_pps + 7_000;
        out.push((t, frame(server, client, &opaque(down, seed))));
    }
    out
}

#[test]
fn an_apps_opaque_call_shaped_udp_is_a_call_encrypted_by_policy() {
    let mut seed = 7;
    let telegram = [91, 108, 9, 35];
    let mut frames = Vec::new();
    // A Telegram call through its reflector: 50 packets a second each way
    // of 160 bytes, ten seconds.
    frames.extend(exchange(
        ([192, 168, 1, 5], 40_000),
        (telegram, 597),
        10,
        (50, 160),
        (50, 160),
        &mut seed,
    ));
    // A download from the same operator: full packets one way.
    frames.extend(exchange(
        ([192, 168, 1, 6], 40_001),
        ([91, 108, 9, 36], 443),
        10,
        (25, 40),
        (100, 1300),
        &mut seed,
    ));
    // The call's shape to an address of nobody known: not named, no call.
    frames.extend(exchange(
        ([192, 168, 1, 7], 40_002),
        ([198, 51, 100, 9], 5000),
        10,
        (50, 160),
        (50, 160),
        &mut seed,
    ));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("opaque.pcap");
    write_pcap(&path, frames);
    let r = serde_json::to_value(analyze(&[path.as_path()])).unwrap();
    let calls = r["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let c = &calls[0];
    assert_eq!(c["app"], "telegram");
    assert_eq!(c["encrypted"], "yes");
    assert_eq!(c["encryption_basis"], "policy");
    assert_eq!(c["encryption_ends"], "peer");
    assert_eq!(c["media"][0]["encryption"], "unknown");
    let v = c["verdict"].as_str().unwrap();
    assert!(
        v.contains("encrypted per Telegram's documented end-to-end policy")
            && v.contains("payload itself cannot be checked"),
        "{v}"
    );
    assert_eq!(c["flow_ids"], serde_json::json!([1]));
    let findings = r["flows"][0]["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|x| x
            .as_str()
            .unwrap()
            .starts_with("media of inferred-1 by its shape: 50 and 50 packets a second")),
        "{findings:#?}"
    );
}

//! Flow records written straight into a byte buffer, byte for byte as
//! serde_json's compact writer writes them (the derive's field order, its
//! `skip_serializing_if` and `flatten`), without going through serde's
//! serializer: field names are literal bytes, enum words and numbers are
//! written as they are, and only free text is checked for characters JSON
//! must escape, eight bytes at a time.
//!
//! Each struct is taken apart by a pattern that names every field, so a
//! field added to one does not compile until it is written here too. The
//! nested parts that only rated or reported streams carry (quality, video,
//! RTCP) go through serde, as before.

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};

use super::types::{EndpointOut, FlowOut, PlaceOut, RtpExtensionOut, RtpStreamOut, StunOut};
use crate::series::Point;

/// Appends the JSON of `f`, exactly as `serde_json::to_writer` would.
pub(crate) fn write_flow(o: &mut Vec<u8>, f: &FlowOut) {
    write_flow_fields(o, b"{", f);
    o.push(b'}');
}

/// `sep` then the fields of `f` as `"name":value` pairs, without the
/// closing brace (an NDJSON record puts its `type` before them).
pub(crate) fn write_flow_fields(o: &mut Vec<u8>, sep: &[u8], f: &FlowOut) {
    let FlowOut {
        id,
        transport,
        src,
        dst,
        first_ts,
        last_ts,
        packets,
        bytes,
        protocols,
        encryption,
        sni,
        dns_name,
        app,
        call_id,
        rtp_streams,
        packets_fwd,
        packets_rev,
        bytes_fwd,
        bytes_rev,
        ended,
        encryption_evidence,
        findings,
        operator,
        place,
        tls_version,
        alpn,
        tls_certificate_names,
        stun,
        rdns,
        app_evidence: _,
    } = f;
    o.extend_from_slice(sep);
    o.extend_from_slice(b"\"id\":");
    uint(o, u64::from(*id));
    o.extend_from_slice(b",\"transport\":");
    string(o, transport);
    o.extend_from_slice(b",\"src\":");
    endpoint(o, src);
    o.extend_from_slice(b",\"dst\":");
    endpoint(o, dst);
    o.extend_from_slice(b",\"first_ts\":");
    float(o, *first_ts);
    o.extend_from_slice(b",\"last_ts\":");
    float(o, *last_ts);
    o.extend_from_slice(b",\"packets\":");
    uint(o, *packets);
    o.extend_from_slice(b",\"bytes\":");
    uint(o, *bytes);
    o.extend_from_slice(b",\"protocols\":");
    strings(o, protocols);
    o.extend_from_slice(b",\"encryption\":");
    string(o, encryption);
    o.extend_from_slice(b",\"sni\":");
    opt_string(o, sni.as_deref());
    if let Some(n) = dns_name {
        o.extend_from_slice(b",\"dns_name\":");
        string(o, n);
    }
    o.extend_from_slice(b",\"app\":");
    opt_string(o, app.as_deref());
    o.extend_from_slice(b",\"call_id\":");
    opt_string(o, call_id.as_deref());
    o.extend_from_slice(b",\"rtp_streams\":[");
    for (i, s) in rtp_streams.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        stream(o, s);
    }
    o.extend_from_slice(b"],\"packets_fwd\":");
    uint(o, *packets_fwd);
    o.extend_from_slice(b",\"packets_rev\":");
    uint(o, *packets_rev);
    o.extend_from_slice(b",\"bytes_fwd\":");
    uint(o, *bytes_fwd);
    o.extend_from_slice(b",\"bytes_rev\":");
    uint(o, *bytes_rev);
    o.extend_from_slice(b",\"ended\":");
    string(o, ended);
    o.extend_from_slice(b",\"encryption_evidence\":");
    strings(o, encryption_evidence);
    o.extend_from_slice(b",\"findings\":");
    strings(o, findings);
    o.extend_from_slice(b",\"operator\":");
    opt_string(o, operator.as_deref());
    let PlaceOut {
        country,
        asn,
        as_org,
    } = place;
    if let Some(c) = country {
        o.extend_from_slice(b",\"country\":");
        string(o, c);
    }
    if let Some(a) = asn {
        o.extend_from_slice(b",\"asn\":");
        uint(o, u64::from(*a));
    }
    if let Some(a) = as_org {
        o.extend_from_slice(b",\"as_org\":");
        string(o, a);
    }
    if let Some(v) = tls_version {
        o.extend_from_slice(b",\"tls_version\":");
        string(o, v);
    }
    if let Some(a) = alpn {
        o.extend_from_slice(b",\"alpn\":");
        string(o, a);
    }
    if !tls_certificate_names.is_empty() {
        o.extend_from_slice(b",\"tls_certificate_names\":");
        strings(o, tls_certificate_names);
    }
    if let Some(s) = stun {
        o.extend_from_slice(b",\"stun\":");
        stun_out(o, s);
    }
    if let Some([a, b]) = rdns {
        o.extend_from_slice(b",\"rdns\":[");
        opt_string(o, a.as_deref());
        o.push(b',');
        opt_string(o, b.as_deref());
        o.push(b']');
    }
}

fn endpoint(o: &mut Vec<u8>, e: &EndpointOut) {
    let EndpointOut { ip, port } = e;
    o.extend_from_slice(b"{\"ip\":");
    string(o, ip);
    o.extend_from_slice(b",\"port\":");
    uint(o, u64::from(*port));
    o.push(b'}');
}

fn stream(o: &mut Vec<u8>, s: &RtpStreamOut) {
    let RtpStreamOut {
        ssrc,
        payload_type,
        codec,
        packets,
        lost,
        jitter_ms,
        encrypted,
        encryption,
        direction,
        bytes,
        first_ts,
        last_ts,
        expected,
        reordered,
        duplicates,
        max_delta_ms,
        max_jitter_ms,
        clock_rate,
        relayed,
        encryption_evidence,
        series,
        series_width_s,
        rtcp_reported,
        extensions,
        header_extensions_encrypted,
        quality,
        video,
    } = s;
    o.extend_from_slice(b"{\"ssrc\":");
    uint(o, u64::from(*ssrc));
    o.extend_from_slice(b",\"payload_type\":");
    uint(o, u64::from(*payload_type));
    o.extend_from_slice(b",\"codec\":");
    opt_string(o, codec.as_deref());
    o.extend_from_slice(b",\"packets\":");
    uint(o, *packets);
    o.extend_from_slice(b",\"lost\":");
    int(o, *lost);
    o.extend_from_slice(b",\"jitter_ms\":");
    float(o, *jitter_ms);
    o.extend_from_slice(b",\"encrypted\":");
    boolean(o, *encrypted);
    o.extend_from_slice(b",\"encryption\":");
    string(o, encryption);
    o.extend_from_slice(b",\"direction\":");
    string(o, direction);
    o.extend_from_slice(b",\"bytes\":");
    uint(o, *bytes);
    o.extend_from_slice(b",\"first_ts\":");
    float(o, *first_ts);
    o.extend_from_slice(b",\"last_ts\":");
    float(o, *last_ts);
    o.extend_from_slice(b",\"expected\":");
    uint(o, *expected);
    o.extend_from_slice(b",\"reordered\":");
    uint(o, *reordered);
    o.extend_from_slice(b",\"duplicates\":");
    uint(o, *duplicates);
    o.extend_from_slice(b",\"max_delta_ms\":");
    float(o, *max_delta_ms);
    o.extend_from_slice(b",\"max_jitter_ms\":");
    float(o, *max_jitter_ms);
    o.extend_from_slice(b",\"clock_rate\":");
    match clock_rate {
        Some(c) => uint(o, u64::from(*c)),
        None => o.extend_from_slice(b"null"),
    }
    o.extend_from_slice(b",\"relayed\":");
    boolean(o, *relayed);
    o.extend_from_slice(b",\"encryption_evidence\":");
    strings(o, encryption_evidence);
    o.extend_from_slice(b",\"series\":[");
    for (i, p) in series.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        point(o, p);
    }
    o.extend_from_slice(b"],\"series_width_s\":");
    float(o, *series_width_s);
    if let Some(r) = rtcp_reported {
        o.extend_from_slice(b",\"rtcp_reported\":");
        serde(o, r);
    }
    o.extend_from_slice(b",\"extensions\":[");
    for (i, x) in extensions.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        let RtpExtensionOut { id, uri, uri_from } = x;
        o.extend_from_slice(b"{\"id\":");
        uint(o, u64::from(*id));
        o.extend_from_slice(b",\"uri\":");
        opt_string(o, uri.as_deref());
        o.extend_from_slice(b",\"uri_from\":");
        opt_string(o, *uri_from);
        o.push(b'}');
    }
    o.extend_from_slice(b"],\"header_extensions_encrypted\":");
    boolean(o, *header_extensions_encrypted);
    o.extend_from_slice(b",\"quality\":");
    serde(o, quality);
    o.extend_from_slice(b",\"video\":");
    serde(o, video);
    o.push(b'}');
}

fn point(o: &mut Vec<u8>, p: &Point) {
    let Point {
        t,
        packets,
        lost,
        jitter_ms,
        late,
        frames,
        freezes,
        mos,
    } = p;
    o.extend_from_slice(b"{\"t\":");
    float(o, *t);
    o.extend_from_slice(b",\"packets\":");
    uint(o, u64::from(*packets));
    o.extend_from_slice(b",\"lost\":");
    uint(o, u64::from(*lost));
    o.extend_from_slice(b",\"jitter_ms\":");
    float(o, *jitter_ms);
    for (name, v) in [
        (&b",\"late\":"[..], late),
        (b",\"frames\":", frames),
        (b",\"freezes\":", freezes),
    ] {
        if *v != 0 {
            o.extend_from_slice(name);
            uint(o, u64::from(*v));
        }
    }
    if let Some(m) = mos {
        o.extend_from_slice(b",\"mos\":");
        float(o, *m);
    }
    o.push(b'}');
}

fn stun_out(o: &mut Vec<u8>, s: &StunOut) {
    let StunOut {
        messages,
        classic,
        ice_checks,
        nominated,
        authenticated,
        unauthenticated,
        mapped_addresses,
        relayed_addresses,
        channels,
        software,
        vendor,
    } = s;
    o.extend_from_slice(b"{\"messages\":");
    uint(o, *messages);
    o.extend_from_slice(b",\"classic\":");
    uint(o, *classic);
    o.extend_from_slice(b",\"ice_checks\":");
    uint(o, *ice_checks);
    o.extend_from_slice(b",\"nominated\":");
    boolean(o, *nominated);
    o.extend_from_slice(b",\"authenticated\":");
    uint(o, *authenticated);
    o.extend_from_slice(b",\"unauthenticated\":");
    uint(o, *unauthenticated);
    o.extend_from_slice(b",\"mapped_addresses\":");
    strings(o, mapped_addresses);
    o.extend_from_slice(b",\"relayed_addresses\":");
    strings(o, relayed_addresses);
    o.extend_from_slice(b",\"channels\":[");
    for (i, c) in channels.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        uint(o, u64::from(*c));
    }
    o.extend_from_slice(b"],\"software\":");
    opt_string(o, software.as_deref());
    o.extend_from_slice(b",\"vendor\":");
    opt_string(o, vendor.as_deref());
    o.push(b'}');
}

/// A value serde writes (the rarer nested parts).
fn serde<T: Serialize + ?Sized>(o: &mut Vec<u8>, v: &T) {
    // Writing into a Vec cannot fail, and these types hold no map with
    // non-string keys.
    let _ = serde_json::to_writer(&mut *o, v);
}

fn uint(o: &mut Vec<u8>, v: u64) {
    let _ = CompactFormatter.write_u64(o, v);
}

fn int(o: &mut Vec<u8>, v: i64) {
    let _ = CompactFormatter.write_i64(o, v);
}

/// As serde_json: NaN and the infinities are `null`.
fn float(o: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        let _ = CompactFormatter.write_f64(o, v);
    } else {
        o.extend_from_slice(b"null");
    }
}

fn boolean(o: &mut Vec<u8>, v: bool) {
    o.extend_from_slice(if v { b"true" } else { b"false" });
}

fn opt_string(o: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(o, s),
        None => o.extend_from_slice(b"null"),
    }
}

fn strings<S: AsRef<str>>(o: &mut Vec<u8>, v: &[S]) {
    o.push(b'[');
    for (i, s) in v.iter().enumerate() {
        if i > 0 {
            o.push(b',');
        }
        string(o, s.as_ref());
    }
    o.push(b']');
}

/// A JSON string: copied as it is when nothing in it needs escaping (the
/// common case: addresses, words, names), else escaped by serde_json.
fn string(o: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        serde(o, s);
        return;
    }
    o.reserve(s.len() + 2);
    o.push(b'"');
    o.extend_from_slice(s.as_bytes());
    o.push(b'"');
}

/// Whether `b` holds a byte JSON escapes: a control character (below
/// 0x20), `"` or `\`. Eight bytes at a time.
fn needs_escape(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Exact for "is there such a byte" (a borrow only runs upwards from
    // a byte that matched): below 0x20, and equal to `"` or `\` (zero
    // after the XOR).
    let word = |x: u64| {
        let low = x.wrapping_sub(ONES * 0x20) & !x;
        let q = x ^ (ONES * u64::from(b'"'));
        let s = x ^ (ONES * u64::from(b'\\'));
        let quote = q.wrapping_sub(ONES) & !q;
        let slash = s.wrapping_sub(ONES) & !s;
        (low | quote | slash) & HIGH != 0
    };
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        if word(u64::from_le_bytes(w)) {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&c| c < 0x20 || c == b'"' || c == b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::types::{QualityOut, RtcpReportedOut, VideoOut};

    fn text_cases() -> Vec<String> {
        let mut v: Vec<String> = [
            "",
            "192.0.2.1",
            "2001:db8::1",
            "a\"b",
            "back\\slash",
            "tab\there",
            "line\nfeed\r\u{8}\u{c}",
            "\u{1}\u{1f}\u{7f}",
            "ünïcödé \u{2028} 名前",
            "exactly8",
            "0123456789abcdef\"",
            "!#$%&'()*+,-./0123456789:;<=>?@[]^_`{|}~",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every byte below 0x80 at every position of a 9-byte string.
        for b in 0u8..0x80 {
            for at in 0..9 {
                let mut s = vec![b'x'; 9];
                s[at] = b;
                v.push(String::from_utf8(s).unwrap());
            }
        }
        v
    }

    #[test]
    fn strings_as_serde_json_writes_them() {
        for s in text_cases() {
            let mut o = Vec::new();
            string(&mut o, &s);
            assert_eq!(o, serde_json::to_vec(&s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn numbers_as_serde_json_writes_them() {
        for v in [
            0.0,
            -0.0,
            1.5,
            1_700_000_000.123_456,
            1e-7,
            1e21,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            let mut o = Vec::new();
            float(&mut o, v);
            assert_eq!(o, serde_json::to_vec(&v).unwrap(), "{v}");
        }
        for v in [0, 1, 9, 10, u64::from(u32::MAX), u64::MAX] {
            let mut o = Vec::new();
            uint(&mut o, v);
            assert_eq!(o, serde_json::to_vec(&v).unwrap());
        }
        for v in [0, -1, i64::MIN, i64::MAX] {
            let mut o = Vec::new();
            int(&mut o, v);
            assert_eq!(o, serde_json::to_vec(&v).unwrap());
        }
    }

    fn stream_full(text: &str) -> RtpStreamOut {
        RtpStreamOut {
            ssrc: u32::MAX,
            payload_type: 111,
            codec: Some(text.into()),
            packets: 7,
            lost: -3,
            jitter_ms: 1.25,
            encrypted: true,
            encryption: "encrypted",
            direction: "reverse",
            bytes: 1234,
            first_ts: 1.0,
            last_ts: f64::NAN,
            expected: 9,
            reordered: 1,
            duplicates: 2,
            max_delta_ms: 40.5,
            max_jitter_ms: 3.0,
            clock_rate: Some(48_000),
            relayed: true,
            encryption_evidence: vec![text.into(), "dtls-srtp".into()],
            series: vec![
                Point {
                    t: 0.0,
                    packets: 5,
                    lost: 0,
                    jitter_ms: 0.5,
                    late: 1,
                    frames: 3,
                    freezes: 1,
                    mos: Some(4.1),
                },
                Point {
                    t: 10.0,
                    packets: 2,
                    lost: 1,
                    jitter_ms: f64::INFINITY,
                    late: 0,
                    frames: 0,
                    freezes: 0,
                    mos: None,
                },
            ],
            series_width_s: 10.0,
            rtcp_reported: Some(RtcpReportedOut {
                fraction_lost: 0.25,
                cumulative_lost: -1,
                jitter_ms: None,
            }),
            extensions: vec![
                RtpExtensionOut {
                    id: 3,
                    uri: Some(text.into()),
                    uri_from: Some("sdp"),
                },
                RtpExtensionOut {
                    id: 14,
                    uri: None,
                    uri_from: None,
                },
            ],
            header_extensions_encrypted: true,
            quality: Some(QualityOut {
                r_factor: 80.1,
                mos: 4.0,
                estimate: false,
                loss_effective: 0.01,
                late: 2,
                burst_ratio: 1.0,
                rtt_ms: Some(30.0),
                jitter_buffer_ms: 60.0,
                one_way_delay_ms: 75.0,
                delay_from: "rtcp-rtt",
                ie: 0.0,
                bpl: 25.1,
                delay_impairment: 1.0,
                ie_effective: 2.0,
                limited_by: "loss",
                jitter_buffer: Vec::new(),
                reported_by_endpoint: None,
            }),
            video: Some(VideoOut {
                frames: 30,
                fps: Some(29.97),
                freezes: 1,
                longest_gap_ms: 200.0,
                packets_per_frame: 1.5,
            }),
        }
    }

    fn flow_full(text: &str) -> FlowOut {
        FlowOut {
            id: 42,
            transport: "udp",
            src: EndpointOut {
                ip: text.into(),
                port: 5004,
            },
            dst: EndpointOut {
                ip: "2001:db8::1".into(),
                port: 65535,
            },
            first_ts: 1_700_000_000.5,
            last_ts: 1_700_000_001.0,
            packets: 10,
            bytes: 2000,
            protocols: vec!["stun", "srtp"],
            encryption: "dtls-srtp",
            sni: Some(text.into()),
            dns_name: Some(text.into()),
            app: Some("zoom".into()),
            call_id: Some(text.into()),
            rtp_streams: vec![stream_full(text), stream_full("")],
            packets_fwd: 6,
            packets_rev: 4,
            bytes_fwd: 1200,
            bytes_rev: 800,
            ended: "idle",
            encryption_evidence: vec![text.into()],
            findings: vec![text.into(), "x".into()],
            operator: Some(text.into()),
            place: PlaceOut {
                country: Some("DE".into()),
                asn: Some(3320),
                as_org: Some(text.into()),
            },
            tls_version: Some("TLS 1.3".into()),
            alpn: Some(text.into()),
            tls_certificate_names: vec![text.into()],
            stun: Some(StunOut {
                messages: 4,
                classic: 1,
                ice_checks: 2,
                nominated: true,
                authenticated: 2,
                unauthenticated: 0,
                mapped_addresses: vec![text.into()],
                relayed_addresses: vec![],
                channels: vec![0x4000, 0x7fff],
                software: Some(text.into()),
                vendor: None,
            }),
            rdns: Some([Some(text.into()), None]),
            app_evidence: None,
        }
    }

    #[test]
    fn flows_as_serde_json_writes_them() {
        let mut flows = vec![FlowOut::default()];
        for s in ["plain", "quote\" and \\ and \n and \u{1}", "ünï"] {
            flows.push(flow_full(s));
            let mut f = flow_full(s);
            f.place = PlaceOut {
                country: None,
                asn: Some(1),
                as_org: None,
            };
            f.rdns = Some([None, None]);
            f.stun = None;
            f.tls_certificate_names.clear();
            f.dns_name = None;
            for st in &mut f.rtp_streams {
                st.rtcp_reported = None;
                st.quality = None;
                st.video = None;
                st.clock_rate = None;
                st.codec = None;
            }
            flows.push(f);
        }
        for f in &flows {
            let mut o = Vec::new();
            write_flow(&mut o, f);
            assert_eq!(
                String::from_utf8(o).unwrap(),
                serde_json::to_string(f).unwrap()
            );
        }
    }
}

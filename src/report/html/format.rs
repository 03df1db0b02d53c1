//! How values read on the page: addresses, sizes, durations and UTC times,
//! and the words and CSS classes that say how well a call or flow is
//! protected.

use std::net::IpAddr;

use crate::report::{CallOut, FlowOut};

/// True for a private, CGNAT, ULA, link-local or loopback address.
pub(crate) fn is_internal(ip: &str) -> bool {
    ip.parse::<IpAddr>()
        .is_ok_and(|a| crate::scope::scope_of(a).is_internal())
}

/// `ip:port`, with an IPv6 address in brackets.
pub(crate) fn ep(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// "safe" / "exposed" / "unknown", and the badge text.
pub(crate) fn call_status(c: &CallOut) -> (&'static str, &'static str) {
    match c.encrypted {
        "yes" => ("safe", "Encrypted"),
        "no" => ("exposed", "Not encrypted"),
        "keys-exposed" => ("exposed", "Keys exposed"),
        _ => ("unknown", "Unknown"),
    }
}

/// True for the encryptions that protect content.
pub(crate) fn is_encrypting(enc: &str) -> bool {
    matches!(enc, "srtp" | "dtls-srtp" | "tls" | "dtls" | "quic" | "zrtp")
}

/// Severity of a flow's protection: 0 encrypted, 1 cleartext but not
/// content (STUN, DNS), 2 unknown, 3 content in the clear.
pub(crate) fn flow_severity(f: &FlowOut) -> u8 {
    if is_encrypting(f.encryption) {
        0
    } else if f.encryption == "none" {
        if f.protocols
            .iter()
            .any(|p| matches!(*p, "rtp" | "rtcp" | "sip" | "sdp" | "http"))
        {
            3
        } else {
            1
        }
    } else {
        2
    }
}

pub(crate) fn severity_class(s: u8) -> &'static str {
    match s {
        0 => "e-safe",
        1 => "e-neutral",
        2 => "e-unknown",
        _ => "e-exposed",
    }
}

/// Short protection text of a flow: the encryption, or what is in clear.
pub(crate) fn protection(f: &FlowOut) -> String {
    if is_encrypting(f.encryption) {
        return f.encryption.to_string();
    }
    let main = f
        .protocols
        .iter()
        .find(|p| matches!(**p, "rtp" | "sip" | "rtcp" | "http"))
        .or_else(|| f.protocols.first())
        .copied()
        .unwrap_or("data");
    match f.encryption {
        "none" if flow_severity(f) == 3 => format!("{main} in clear"),
        "none" => format!("{main} (clear)"),
        _ => format!("{main}, unknown"),
    }
}

/// A byte count in decimal units ("1.2 MB").
pub(crate) fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS.get(u).unwrap_or(&"B"))
    }
}

/// A duration in seconds, minutes or hours; "-" when not a duration.
pub(crate) fn fmt_dur(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "-".into();
    }
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{} min {} s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!(
            "{} h {} min",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    }
}

/// Seconds since the epoch as a UTC date and time.
pub(crate) fn fmt_ts(ts: f64) -> String {
    if !ts.is_finite() || ts < 0.0 {
        return format!("{ts}");
    }
    let ms_total = (ts * 1000.0).round() as i64;
    let secs = ms_total.div_euclid(1000);
    let ms = ms_total.rem_euclid(1000);
    let (y, m, d) = crate::time::civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{ms:03} UTC",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// At most `n` characters, the last one "…" when cut.
pub(crate) fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// "1 call", "2 calls".
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_times() {
        assert_eq!(fmt_ts(0.0), "1970-01-01 00:00:00.000 UTC");
        assert_eq!(fmt_ts(951_782_400.5), "2000-02-29 00:00:00.500 UTC");
        assert_eq!(fmt_ts(1_687_685_003.685_8), "2023-06-25 09:23:23.686 UTC");
    }
}

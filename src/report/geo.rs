//! `--geoip PATH`: in which country, and in which network, each far
//! endpoint and relay is, from MaxMind-format databases (GeoLite2/GeoIP2
//! Country, City and ASN, or databases in the same format such as the
//! ip-location-db ones). PATH is one `.mmdb` file or a folder of them; each
//! database answers what it holds (a country database the country, an ASN
//! database the AS number and organisation). Looked up after the analysis,
//! never on the packet path; vcscope works the same without any database.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::Reader;
use serde::Deserialize;

use super::types::{PlaceOut, Report};
use crate::scope::scope_of;

/// The databases given with `--geoip`.
pub struct GeoDb {
    readers: Vec<(PathBuf, Reader<Vec<u8>>)>,
}

/// The fields read from a record, in the layouts of MaxMind's databases
/// (`country.iso_code`, `registered_country.iso_code`,
/// `autonomous_system_*`) and of ip-location-db's (`country_code`).
#[derive(Deserialize, Default)]
struct Record {
    country: Option<Country>,
    registered_country: Option<Country>,
    country_code: Option<String>,
    #[serde(default, deserialize_with = "any_number")]
    autonomous_system_number: Option<u32>,
    autonomous_system_organization: Option<String>,
}

/// An AS number stored as any integer type (MaxMind writes uint32; other
/// writers pick the smallest type, signed or not).
fn any_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Num {
        U(u64),
        I(i64),
    }
    Ok(match Option::<Num>::deserialize(d)? {
        Some(Num::U(n)) => u32::try_from(n).ok(),
        Some(Num::I(n)) => u32::try_from(n).ok(),
        None => None,
    })
}

#[derive(Deserialize, Default)]
struct Country {
    iso_code: Option<String>,
}

impl GeoDb {
    /// Opens `path`: a `.mmdb` file, or every `.mmdb` file of a folder.
    pub fn open(path: &Path) -> Result<GeoDb, String> {
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("--geoip {}: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "mmdb"))
                .collect();
            v.sort();
            if v.is_empty() {
                return Err(format!(
                    "--geoip {}: no .mmdb database in this folder",
                    path.display()
                ));
            }
            v
        } else {
            vec![path.to_path_buf()]
        };
        let mut readers = Vec::with_capacity(files.len());
        for f in files {
            let r = Reader::open_readfile(&f).map_err(|e| {
                format!(
                    "--geoip {}: not a readable MaxMind database ({e})",
                    f.display()
                )
            })?;
            readers.push((f, r));
        }
        Ok(GeoDb { readers })
    }

    /// What the databases know of `ip`; nothing for internal addresses.
    pub fn place(&self, ip: IpAddr) -> PlaceOut {
        let mut p = PlaceOut::default();
        if scope_of(ip).is_internal() {
            return p;
        }
        for (_, r) in &self.readers {
            let Ok(found) = r.lookup(ip) else { continue };
            let Ok(Some(rec)) = found.decode::<Record>() else {
                continue;
            };
            let country = rec
                .country
                .and_then(|c| c.iso_code)
                .or(rec.country_code)
                .or(rec.registered_country.and_then(|c| c.iso_code));
            if p.country.is_none() {
                p.country = country;
            }
            if p.asn.is_none() {
                p.asn = rec.autonomous_system_number;
            }
            if p.as_org.is_none() {
                p.as_org = rec.autonomous_system_organization;
            }
        }
        p
    }
}

/// Adds country and network to the report's far endpoints and relays, and
/// to each call the countries its far endpoints and relays are in.
pub fn annotate(report: &mut Report, db: &GeoDb) {
    let place = |ip: &str| ip.parse().map(|ip| db.place(ip)).unwrap_or_default();
    for f in &mut report.flows {
        let far = if is_internal(&f.dst.ip) && !is_internal(&f.src.ip) {
            &f.src.ip
        } else {
            &f.dst.ip
        };
        f.place = place(far);
    }
    for r in &mut report.relays {
        r.place = place(&r.ip);
    }
    for c in &mut report.calls {
        let mut countries = BTreeSet::new();
        for e in &mut c.endpoints {
            e.place = place(&e.ip);
            if let Some(cc) = &e.place.country {
                countries.insert(cc.clone());
            }
        }
        c.countries = countries.into_iter().collect();
    }
}

fn is_internal(ip: &str) -> bool {
    ip.parse().is_ok_and(|a| scope_of(a).is_internal())
}

/// "AS8075 MICROSOFT-CORP, NL": what the table and the page show of a place.
pub fn describe(p: &PlaceOut) -> Option<String> {
    let net = match (p.asn, &p.as_org) {
        (Some(n), Some(o)) => Some(format!("AS{n} {o}")),
        (Some(n), None) => Some(format!("AS{n}")),
        (None, Some(o)) => Some(o.clone()),
        (None, None) => None,
    };
    match (net, &p.country) {
        (Some(n), Some(c)) => Some(format!("{n}, {c}")),
        (Some(n), None) => Some(n),
        (None, Some(c)) => Some(c.clone()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> GeoDb {
        GeoDb::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/geoip"))
            .expect("the test databases")
    }

    #[test]
    fn parses_country_and_network_from_both_databases() {
        let p = db().place("52.114.250.123".parse().unwrap());
        assert_eq!(p.country.as_deref(), Some("NL"));
        assert_eq!(p.asn, Some(8075));
        assert_eq!(p.as_org.as_deref(), Some("MICROSOFT-CORP-MSN-AS-BLOCK"));
        assert_eq!(
            describe(&p).as_deref(),
            Some("AS8075 MICROSOFT-CORP-MSN-AS-BLOCK, NL")
        );
        let v6 = db().place("2001:db8::1".parse().unwrap());
        assert_eq!((v6.country.as_deref(), v6.asn), (Some("DE"), None));
    }

    #[test]
    fn rejects_lookups_of_internal_or_unknown_addresses() {
        assert_eq!(
            db().place("192.168.1.6".parse().unwrap()),
            PlaceOut::default()
        );
        assert_eq!(
            db().place("198.51.100.7".parse().unwrap()),
            PlaceOut::default()
        );
        assert_eq!(describe(&PlaceOut::default()), None);
    }

    #[test]
    fn rejects_a_file_that_is_not_a_database() {
        let e = GeoDb::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .err()
            .unwrap();
        assert!(e.contains("not a readable MaxMind database"), "{e}");
    }
}

//! Counted warnings: every oddity in the input is counted by kind, with the
//! first occurrence as an example, and the analysis goes on (Zeek's weird
//! log, in one line per kind). Examples never contain payload bytes.

use std::collections::BTreeMap;

use crate::report::WarningOut;

#[derive(Debug, Default)]
pub struct Warnings {
    by_kind: BTreeMap<&'static str, (u64, String)>,
}

impl Warnings {
    /// Counts one warning of `kind`; `example` is built only for the first one.
    #[inline]
    pub fn add(&mut self, kind: &'static str, example: impl FnOnce() -> String) {
        self.add_n(kind, 1, example)
    }

    pub fn add_n(&mut self, kind: &'static str, n: u64, example: impl FnOnce() -> String) {
        if n == 0 {
            return;
        }
        match self.by_kind.get_mut(kind) {
            Some(e) => e.0 += n,
            None => {
                self.by_kind.insert(kind, (n, example()));
            }
        }
    }

    pub fn count(&self, kind: &str) -> u64 {
        self.by_kind.get(kind).map_or(0, |e| e.0)
    }

    pub fn total(&self) -> u64 {
        self.by_kind.values().map(|e| e.0).sum()
    }

    pub fn to_report(&self) -> Vec<WarningOut> {
        self.by_kind
            .iter()
            .map(|(k, (n, ex))| WarningOut {
                kind: (*k).to_string(),
                count: *n,
                example: ex.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_counts_with_first_example() {
        let mut w = Warnings::default();
        w.add("b", || "first".into());
        w.add("b", || "second".into());
        w.add("a", || "x".into());
        let r = w.to_report();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].kind.as_str(), r[0].count), ("a", 1));
        assert_eq!(
            (r[1].kind.as_str(), r[1].count, r[1].example.as_str()),
            ("b", 2, "first")
        );
        assert_eq!(w.total(), 3);
    }
}

//! Counted warnings: every oddity in the input is counted by kind, with the
//! first occurrence as an example, and the analysis goes on (Zeek's weird
//! log, in one line per kind). Examples never contain payload bytes.

use std::collections::BTreeMap;

use crate::report::WarningOut;

/// The first occurrence of a kind: the frame it came from, the flow it
/// names (kept apart so flow ids can be renumbered when worker threads'
/// results are merged), and the rest of the example.
#[derive(Debug, Clone)]
struct Entry {
    count: u64,
    frame: u64,
    flow: Option<u32>,
    example: String,
}

#[derive(Debug, Default)]
pub struct Warnings {
    by_kind: BTreeMap<&'static str, Entry>,
    /// Frame being analysed (set by the engine), for ordering first examples.
    pub frame: u64,
    /// Drop everything (a worker thread replaying a flow another one owns).
    pub muted: bool,
}

impl Warnings {
    /// Counts one warning of `kind`; `example` is built only for the first one.
    #[inline]
    pub fn add(&mut self, kind: &'static str, example: impl FnOnce() -> String) {
        self.add_n(kind, 1, example)
    }

    pub fn add_n(&mut self, kind: &'static str, n: u64, example: impl FnOnce() -> String) {
        self.put(kind, n, None, example)
    }

    /// Counts one warning about flow `flow`; the example reads
    /// `"flow N: <example>"` (or "flow N" when `example` is empty).
    #[inline]
    pub fn add_on_flow(&mut self, kind: &'static str, flow: u32, example: impl FnOnce() -> String) {
        self.put(kind, 1, Some(flow), example)
    }

    /// [`Warnings::add_on_flow`], `n` times.
    pub fn add_n_on_flow(
        &mut self,
        kind: &'static str,
        n: u64,
        flow: u32,
        example: impl FnOnce() -> String,
    ) {
        self.put(kind, n, Some(flow), example)
    }

    fn put(
        &mut self,
        kind: &'static str,
        n: u64,
        flow: Option<u32>,
        example: impl FnOnce() -> String,
    ) {
        if n == 0 || self.muted {
            return;
        }
        match self.by_kind.get_mut(kind) {
            Some(e) => e.count += n,
            None => {
                self.by_kind.insert(
                    kind,
                    Entry {
                        count: n,
                        frame: self.frame,
                        flow,
                        example: example(),
                    },
                );
            }
        }
    }

    #[cfg(test)]
    pub fn total(&self) -> u64 {
        self.by_kind.values().map(|e| e.count).sum()
    }

    #[cfg(test)]
    pub fn count(&self, kind: &str) -> u64 {
        self.by_kind.get(kind).map_or(0, |e| e.count)
    }

    /// Every flow id an example names.
    pub fn visit_flows(&self, visit: impl FnMut(u32)) {
        self.by_kind.values().filter_map(|e| e.flow).for_each(visit);
    }

    /// Renumbers the flows named in examples.
    pub fn remap_flows(&mut self, map: impl Fn(u32) -> u32) {
        for e in self.by_kind.values_mut() {
            e.flow = e.flow.map(&map);
        }
    }

    /// Adds `other`'s counts; each kind keeps the example seen first.
    pub fn merge(&mut self, other: Warnings) {
        for (k, e) in other.by_kind {
            match self.by_kind.get_mut(k) {
                Some(mine) => {
                    mine.count += e.count;
                    if e.frame < mine.frame {
                        mine.frame = e.frame;
                        mine.flow = e.flow;
                        mine.example = e.example;
                    }
                }
                None => {
                    self.by_kind.insert(k, e);
                }
            }
        }
    }

    pub fn to_report(&self) -> Vec<WarningOut> {
        self.by_kind
            .iter()
            .map(|(k, e)| WarningOut {
                kind: (*k).to_string(),
                count: e.count,
                example: match (e.flow, e.example.is_empty()) {
                    (Some(f), true) => format!("flow {f}"),
                    (Some(f), false) => format!("flow {f}: {}", e.example),
                    (None, _) => e.example.clone(),
                },
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

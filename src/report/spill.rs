//! Flow entries of a report written at the end (JSON), kept on disk instead
//! of in memory once more flows have ended than a report should hold.
//!
//! A JSON report holds every flow until it is written. Past a bound of
//! ended flows held (the runner's), the analysis switches to what
//! streaming NDJSON does: a flow's entry is built when it ends, from what is
//! known then, and the flow is let go, but for those a call may still need
//! (held up to the same bound). The entries go to an unnamed temporary file
//! (gone when the program ends, however it ends), with their id, offset and
//! length kept in memory (16 bytes a flow); the report's `flows` array
//! interleaves them with the entries built at the end, in id order, as
//! without the file. Memory then follows the live flows, not the flows
//! seen.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

use super::types::FlowOut;

/// Bytes of entries gathered before a write to the file.
const WRITE_CHUNK: usize = 1 << 20;
/// Bytes read from the file at once when the entries are read back.
const READ_CHUNK: usize = 1 << 20;

/// Where one entry is in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    id: u32,
    len: u32,
    at: u64,
}

/// The file the entries are written to.
pub struct Spill {
    file: File,
    /// Entries in the file, in the order they were written.
    index: Vec<Entry>,
    /// Entries gathered, not yet in the file: they start at `flushed`.
    buf: Vec<u8>,
    pending: usize,
    flushed: u64,
    lost: u64,
    first_error: Option<String>,
}

impl Spill {
    /// An unnamed file in the temporary directory (`TMPDIR`).
    pub fn create() -> io::Result<Self> {
        Ok(Spill {
            file: tempfile::tempfile()?,
            index: Vec::new(),
            buf: Vec::with_capacity(WRITE_CHUNK),
            pending: 0,
            flushed: 0,
            lost: 0,
            first_error: None,
        })
    }

    /// Adds a flow's entry. A write the file refuses (a full disk) loses the
    /// entries gathered since the last one: counted ([`Spill::lost`]).
    pub fn write(&mut self, f: &FlowOut) {
        let start = self.buf.len();
        super::flow_json::write_flow(&mut self.buf, f);
        let len = u32::try_from(self.buf.len() - start).unwrap_or(u32::MAX);
        self.index.push(Entry {
            id: f.id,
            len,
            at: self.flushed + start as u64,
        });
        self.pending += 1;
        if self.buf.len() >= WRITE_CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        // Written at its offset: after a failed write the next one starts
        // at the same place.
        match self.file.write_all_at(&self.buf, self.flushed) {
            Ok(()) => self.flushed += self.buf.len() as u64,
            Err(e) => {
                self.lost += self.pending as u64;
                self.index.truncate(self.index.len() - self.pending);
                self.first_error.get_or_insert_with(|| e.to_string());
            }
        }
        self.buf.clear();
        self.pending = 0;
    }

    /// Entries written (and to be written) so far.
    pub fn entries(&self) -> usize {
        self.index.len()
    }

    /// Entries lost to write errors, and the first error.
    pub fn lost(&mut self) -> (u64, Option<&str>) {
        self.flush();
        (self.lost, self.first_error.as_deref())
    }

    /// The entries, to be read back in id order.
    pub fn into_reader(mut self) -> SpillReader {
        self.flush();
        let mut index = self.index;
        index.sort_unstable_by_key(|e| e.id);
        SpillReader {
            file: self.file,
            index,
            next: 0,
            window: Vec::new(),
            window_at: 0,
        }
    }
}

/// The entries of a [`Spill`], in id order.
pub struct SpillReader {
    file: File,
    index: Vec<Entry>,
    next: usize,
    /// Bytes of the file read last, from `window_at`: entries ended in
    /// about the order they began, so the next one is most often there.
    window: Vec<u8>,
    window_at: u64,
}

impl SpillReader {
    /// The id of the next entry.
    pub fn peek_id(&self) -> Option<u32> {
        self.index.get(self.next).map(|e| e.id)
    }

    /// Appends the next entry's JSON to `out`; false when none is left.
    pub fn next_into(&mut self, out: &mut impl Write) -> io::Result<bool> {
        let Some(&e) = self.index.get(self.next) else {
            return Ok(false);
        };
        self.next += 1;
        let len = e.len as usize;
        let inside = e.at >= self.window_at
            && e.at + e.len as u64 <= self.window_at + self.window.len() as u64;
        if !inside {
            self.window.resize(READ_CHUNK.max(len), 0);
            let mut got = 0;
            while got < len {
                match self
                    .file
                    .read_at(&mut self.window[got..], e.at + got as u64)?
                {
                    0 => break,
                    n => got += n,
                }
            }
            self.window.truncate(got);
            self.window_at = e.at;
            if got < len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the temporary file of flow entries is shorter than written",
                ));
            }
        }
        let from = (e.at - self.window_at) as usize;
        match self.window.get(from..from + len) {
            Some(bytes) => out.write_all(bytes)?,
            None => return Err(io::Error::other("a flow entry out of its window")),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(id: u32) -> FlowOut {
        FlowOut {
            id,
            packets: u64::from(id) * 3,
            findings: vec!["x".repeat(id as usize % 700)],
            ..FlowOut::default()
        }
    }

    #[test]
    fn entries_come_back_in_id_order_as_written() {
        let mut s = Spill::create().unwrap();
        // Ended out of order, and enough to need several reads.
        let ids: Vec<u32> = (1..=6000u32)
            .rev()
            .step_by(2)
            .chain((1..3000).step_by(2))
            .collect();
        let mut expected = std::collections::BTreeMap::new();
        for &id in &ids {
            let f = flow(id);
            let mut json = Vec::new();
            super::super::flow_json::write_flow(&mut json, &f);
            expected.insert(id, json);
            s.write(&f);
        }
        assert_eq!(s.entries(), ids.len());
        assert_eq!(s.lost().0, 0);
        let mut r = s.into_reader();
        let mut got = Vec::new();
        while let Some(id) = r.peek_id() {
            let mut json = Vec::new();
            assert!(r.next_into(&mut json).unwrap());
            got.push((id, json));
        }
        assert!(!r.next_into(&mut Vec::new()).unwrap());
        let mut want: Vec<(u32, Vec<u8>)> = Vec::new();
        for &id in &ids {
            want.push((id, expected[&id].clone()));
        }
        want.sort_by_key(|(id, _)| *id);
        assert_eq!(got, want);
    }
}

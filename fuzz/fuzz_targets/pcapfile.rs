//! Fuzzes the capture-file reader (`vcscope::capture::pcapfile`): pcap and pcapng
//! framing of arbitrary bytes, read whole from memory and a few bytes per
//! `read` (as a pipe hands them out, so every refill and every record cut
//! between reads is exercised). Both ways must give the same records and
//! end with the same error, if any.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use vcscope::capture::pcapfile::{FileReader, OpenError, ReadError};

/// Link type, timestamp, bytes, wire length and offset of each record.
type Records = Vec<(u32, u64, Vec<u8>, u32, u64)>;

/// Hands out 1 to 13 bytes per read, in a fixed cycle.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.1 = self.1 % 13 + 1;
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

fn records<R: Read>(
    r: Result<FileReader<R>, OpenError>,
) -> Result<(Records, Option<ReadError>), OpenError> {
    let mut r = r?;
    let mut out = Vec::new();
    let end = loop {
        match r.next_record() {
            Ok(Some(rec)) => out.push((
                rec.linktype,
                rec.ts.0,
                rec.data.to_vec(),
                rec.wire_len,
                rec.offset,
            )),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    Ok((out, end))
}

fuzz_target!(|data: &[u8]| {
    let whole = records(FileReader::new(data));
    let short = records(FileReader::new(Trickle(data, 0)));
    assert_eq!(whole, short);
});

//! pcap and pcapng files, read in large blocks and framed here.
//!
//! libpcap reads a saved file one `fread` per header and one per packet and
//! copies each packet into its own buffer; at a million packets a second that
//! copying and calling is a sixth of vcscope's whole time. This reader does
//! one `read(2)` per megabyte and lends each record straight out of that
//! block: the frame bytes the dissectors see are borrowed, never copied
//! again. Blocks are reference-counted ([`Block`]), so `--threads` hands
//! records to other threads by position in their block; a block still held
//! there is not written again, the reader reads into a spare one. libpcap stays in charge of live capture and of `--filter` (its BPF
//! compiler and `pcap_offline_filter`).
//!
//! Formats: classic pcap in both byte orders with micro- or nanosecond
//! timestamps; pcapng (several sections, several interfaces each with its
//! own link type, `if_tsresol` and `if_tsoffset`; Enhanced, Simple and the
//! obsolete Packet blocks; every other block is skipped). Limits follow
//! libpcap's: a record of more than 256 KiB of captured bytes, or a pcapng
//! block of more than 16 MiB, is corrupt.
//!
//! A file that ends inside a record is [`ReadError::Truncated`] (a warning
//! for the caller); a record that cannot be framed is [`ReadError::Corrupt`].
//! Both carry the record number and its byte offset.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;

use crate::time::Nanos;

/// Captured bytes of one record, at most (libpcap's `MAXIMUM_SNAPLEN`).
pub const MAX_CAPLEN: u32 = 262_144;
/// A pcapng block, at most (libpcap's `MAX_BLOCKSIZE`).
pub const MAX_BLOCK: u32 = 16 << 20;
/// Bytes asked of the file per read.
const CHUNK: usize = 1 << 20;
/// Blocks lent out and kept for reuse once every borrower let them go; past
/// this many, the oldest is forgotten (freed when its borrowers finish).
const SPARE_BLOCKS: usize = 64;

/// A block of the file as read: records are slices of it. Shared, so that
/// another thread can hold a record's bytes without a copy.
pub type Block = Arc<Vec<u8>>;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 1;
const OPB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// One record, borrowed from the reader's block.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The LINKTYPE_ value of the record's interface.
    pub linktype: u32,
    pub ts: Nanos,
    pub data: &'a [u8],
    /// Length on the wire (may exceed `data.len()` when the snaplen cut it).
    pub wire_len: u32,
    /// 1-based number of the record in the file.
    pub number: u64,
    /// Byte offset of the record's header (or block) in the file.
    pub offset: u64,
    /// The block `data` lies in (its bytes are not written again while
    /// a clone of it is held).
    pub block: Option<&'a Block>,
}

/// Why the reading of a file stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The file ends inside a record: what came before is good.
    Truncated {
        number: u64,
        offset: u64,
        why: String,
    },
    /// A record cannot be framed: what came before is good.
    Corrupt {
        number: u64,
        offset: u64,
        why: String,
    },
    /// The operating system refused the read.
    Io(String),
}

/// Why a file could not be opened as a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// Neither pcap nor pcapng magic.
    NotCapture(String),
    /// A header that is too short or inconsistent.
    BadHeader(String),
    Io(String),
}

#[derive(Debug, Clone, Copy)]
struct Iface {
    linktype: u32,
    /// Units per second of the timestamps: 10^k or 2^k.
    resol: Resol,
    offset_secs: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resol {
    Dec(u8),
    Bin(u8),
}

impl Resol {
    fn to_nanos(self, units: u64) -> u64 {
        let units = u128::from(units);
        let ns = match self {
            Resol::Dec(k) if k <= 9 => units * 10u128.pow(9 - u32::from(k)),
            Resol::Dec(k) if k <= 38 => units / 10u128.pow(u32::from(k) - 9),
            Resol::Dec(_) => 0,
            Resol::Bin(k) if k < 64 => (units * 1_000_000_000) >> k,
            Resol::Bin(_) => 0,
        };
        u64::try_from(ns).unwrap_or(u64::MAX)
    }
}

#[derive(Debug)]
enum Format {
    Pcap {
        le: bool,
        nanos: bool,
        linktype: u32,
    },
    PcapNg {
        le: bool,
        ifaces: Vec<Iface>,
    },
}

/// A pcap or pcapng stream, framed record by record.
pub struct FileReader<R> {
    src: R,
    buf: Block,
    /// Earlier blocks, possibly still held by borrowers.
    spare: VecDeque<Block>,
    /// Valid bytes are `buf[start..end]`; `buf[start]` is at file offset `pos`.
    start: usize,
    end: usize,
    pos: u64,
    eof: bool,
    format: Format,
    records: u64,
}

fn rd16(b: &[u8], le: bool) -> u16 {
    let a = [b[0], b[1]];
    if le {
        u16::from_le_bytes(a)
    } else {
        u16::from_be_bytes(a)
    }
}

fn rd32(b: &[u8], le: bool) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    if le {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    }
}

impl<R: Read> FileReader<R> {
    /// Reads the file header (pcap) or first section header (pcapng).
    pub fn new(src: R) -> Result<Self, OpenError> {
        let mut r = FileReader {
            src,
            buf: Arc::new(vec![0; CHUNK]),
            spare: VecDeque::new(),
            start: 0,
            end: 0,
            pos: 0,
            eof: false,
            format: Format::Pcap {
                le: true,
                nanos: false,
                linktype: 0,
            },
            records: 0,
        };
        r.fill(24).map_err(OpenError::Io)?;
        let have = r.end - r.start;
        if have < 4 {
            return Err(OpenError::NotCapture(format!(
                "only {have} bytes; a pcap or pcapng file starts with a 4-byte magic number"
            )));
        }
        let m = [r.buf[0], r.buf[1], r.buf[2], r.buf[3]];
        let (le, nanos) = match m {
            [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
            [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
            [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
            [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
            [0x0a, 0x0d, 0x0d, 0x0a] => {
                r.format = Format::PcapNg {
                    le: true,
                    ifaces: Vec::new(),
                };
                r.section_header(0).map_err(|e| match e {
                    ReadError::Io(s) => OpenError::Io(s),
                    ReadError::Truncated { why, .. } | ReadError::Corrupt { why, .. } => {
                        OpenError::BadHeader(why)
                    }
                })?;
                return Ok(r);
            }
            _ => {
                return Err(OpenError::NotCapture(format!(
                    "unknown magic number {:02x}{:02x}{:02x}{:02x}",
                    m[0], m[1], m[2], m[3]
                )))
            }
        };
        if have < 24 {
            return Err(OpenError::BadHeader(format!(
                "pcap file header cut short ({have} of 24 bytes)"
            )));
        }
        let h = &r.buf[..24];
        let major = rd16(&h[4..], le);
        if major != 2 {
            return Err(OpenError::BadHeader(format!(
                "pcap format version {major} (only version 2 exists)"
            )));
        }
        // The upper bits of the link type field carry FCS information.
        let linktype = rd32(&h[20..], le) & 0x03FF_FFFF;
        r.format = Format::Pcap {
            le,
            nanos,
            linktype,
        };
        r.consume(24);
        Ok(r)
    }

    /// The link type of the first interface (pcap: the file's), if known yet.
    pub fn first_linktype(&self) -> Option<u32> {
        match &self.format {
            Format::Pcap { linktype, .. } => Some(*linktype),
            Format::PcapNg { ifaces, .. } => ifaces.first().map(|i| i.linktype),
        }
    }

    /// For pcapng: reads blocks until the first interface is described, so
    /// that [`first_linktype`](Self::first_linktype) can be checked before
    /// any packet. Blocks read here are not read again.
    pub fn peek_interfaces(&mut self) -> Result<(), ReadError> {
        while matches!(&self.format, Format::PcapNg { ifaces, .. } if ifaces.is_empty()) {
            self.fill(12).map_err(ReadError::Io)?;
            if self.end - self.start < 12 {
                return Ok(());
            }
            let (le, _) = self.ng();
            let ty = rd32(&self.buf[self.start..], le);
            if matches!(ty, EPB | SPB | OPB) {
                return Ok(());
            }
            self.ng_block(true)?;
        }
        Ok(())
    }

    /// Byte offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.pos
    }

    /// The next record, `Ok(None)` at a clean end of file.
    #[inline]
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ReadError> {
        match self.format {
            Format::Pcap {
                le,
                nanos,
                linktype,
            } => self.pcap_record(le, nanos, linktype),
            Format::PcapNg { .. } => loop {
                if let Some((start, len, rec)) = self.ng_block(false)? {
                    let data = &self.buf[start..start + len];
                    return Ok(Some(Record {
                        data,
                        block: Some(&self.buf),
                        ..rec
                    }));
                }
                if self.end == self.start && self.eof {
                    return Ok(None);
                }
            },
        }
    }

    #[inline]
    fn pcap_record(
        &mut self,
        le: bool,
        nanos: bool,
        linktype: u32,
    ) -> Result<Option<Record<'_>>, ReadError> {
        if self.end - self.start < 16 {
            self.fill(16).map_err(ReadError::Io)?;
        }
        let have = self.end - self.start;
        let number = self.records + 1;
        let offset = self.pos;
        if have == 0 {
            return Ok(None);
        }
        if have < 16 {
            return Err(ReadError::Truncated {
                number,
                offset,
                why: format!("record header has {have} of 16 bytes"),
            });
        }
        let h = &self.buf[self.start..self.start + 16];
        let sec = rd32(h, le);
        let frac = rd32(&h[4..], le);
        let caplen = rd32(&h[8..], le);
        let wire_len = rd32(&h[12..], le);
        if caplen > MAX_CAPLEN {
            return Err(ReadError::Corrupt {
                number,
                offset,
                why: format!(
                    "invalid packet capture length {caplen}, bigger than maximum of {MAX_CAPLEN}"
                ),
            });
        }
        let need = 16 + caplen as usize;
        if have < need {
            self.fill(need).map_err(ReadError::Io)?;
            let have = self.end - self.start;
            if have < need {
                return Err(ReadError::Truncated {
                    number,
                    offset,
                    why: format!(
                        "tried to read {caplen} captured bytes, only got {}",
                        have - 16
                    ),
                });
            }
        }
        let start = self.start + 16;
        self.consume(need);
        self.records = number;
        let frac_ns = if nanos {
            u64::from(frac)
        } else {
            u64::from(frac) * 1000
        };
        Ok(Some(Record {
            linktype,
            ts: Nanos(
                u64::from(sec)
                    .saturating_mul(1_000_000_000)
                    .saturating_add(frac_ns),
            ),
            data: &self.buf[start..start + caplen as usize],
            wire_len,
            number,
            offset,
            block: Some(&self.buf),
        }))
    }

    fn ng(&self) -> (bool, usize) {
        match &self.format {
            Format::PcapNg { le, ifaces } => (*le, ifaces.len()),
            Format::Pcap { le, .. } => (*le, 0),
        }
    }

    /// Reads a Section Header Block at the current position.
    fn section_header(&mut self, number: u64) -> Result<(), ReadError> {
        let offset = self.pos;
        self.fill(28).map_err(ReadError::Io)?;
        let have = self.end - self.start;
        let b = &self.buf[self.start..self.end];
        if have < 12 {
            return Err(ReadError::Truncated {
                number,
                offset,
                why: format!("section header has {have} of 28 bytes"),
            });
        }
        let le = match rd32(&b[8..], true) {
            BYTE_ORDER_MAGIC => true,
            x if x.swap_bytes() == BYTE_ORDER_MAGIC => false,
            x => {
                return Err(ReadError::Corrupt {
                    number,
                    offset,
                    why: format!("section header with unknown byte-order magic {x:08x}"),
                })
            }
        };
        let len = rd32(&b[4..], le);
        if !(28..=MAX_BLOCK).contains(&len) || len % 4 != 0 {
            return Err(ReadError::Corrupt {
                number,
                offset,
                why: format!("section header block length {len}"),
            });
        }
        self.fill(len as usize).map_err(ReadError::Io)?;
        if self.end - self.start < len as usize {
            return Err(ReadError::Truncated {
                number,
                offset,
                why: format!("section header block of {len} bytes cut short"),
            });
        }
        let major = rd16(&self.buf[self.start + 12..], le);
        if major != 1 {
            return Err(ReadError::Corrupt {
                number,
                offset,
                why: format!("pcapng major version {major} (only version 1 exists)"),
            });
        }
        self.format = Format::PcapNg {
            le,
            ifaces: Vec::new(),
        };
        self.consume(len as usize);
        Ok(())
    }

    /// Reads one pcapng block. Packets come back as (data start in `buf`,
    /// data length, record without data); other blocks as `None`. With
    /// `headers_only`, a packet block is left unread.
    fn ng_block(
        &mut self,
        headers_only: bool,
    ) -> Result<Option<(usize, usize, Record<'static>)>, ReadError> {
        let number = self.records + 1;
        let offset = self.pos;
        if self.end - self.start < 12 {
            self.fill(12).map_err(ReadError::Io)?;
        }
        let have = self.end - self.start;
        if have == 0 {
            return Ok(None);
        }
        if have < 12 {
            return Err(ReadError::Truncated {
                number,
                offset,
                why: format!("block header has {have} of 12 bytes"),
            });
        }
        let (le, _) = self.ng();
        let b = &self.buf[self.start..];
        let ty = rd32(b, le);
        if ty == SHB {
            self.section_header(number)?;
            return Ok(None);
        }
        let len = rd32(&b[4..], le);
        if len < 12 || len % 4 != 0 || len > MAX_BLOCK {
            return Err(ReadError::Corrupt {
                number,
                offset,
                why: format!("block of type {ty} with invalid length {len}"),
            });
        }
        let len = len as usize;
        if have < len {
            self.fill(len).map_err(ReadError::Io)?;
            if self.end - self.start < len {
                return Err(ReadError::Truncated {
                    number,
                    offset,
                    why: format!(
                        "block of {len} bytes, only {} in the file",
                        self.end - self.start
                    ),
                });
            }
        }
        let s = self.start;
        let body = &self.buf[s + 8..s + len - 4];
        let corrupt = |why: String| ReadError::Corrupt {
            number,
            offset,
            why,
        };
        let out = match ty {
            IDB => {
                if body.len() < 8 {
                    return Err(corrupt(format!("interface block of {len} bytes")));
                }
                let mut iface = Iface {
                    linktype: u32::from(rd16(body, le)),
                    resol: Resol::Dec(6),
                    offset_secs: 0,
                };
                let mut opts = &body[8..];
                while opts.len() >= 4 {
                    let code = rd16(opts, le);
                    let olen = usize::from(rd16(&opts[2..], le));
                    let padded = (olen + 3) & !3;
                    if code == 0 || opts.len() < 4 + olen {
                        break;
                    }
                    let v = &opts[4..4 + olen];
                    match (code, olen) {
                        (9, 1) => {
                            iface.resol = if v[0] & 0x80 != 0 {
                                Resol::Bin(v[0] & 0x7f)
                            } else {
                                Resol::Dec(v[0])
                            }
                        }
                        (14, 8) => {
                            let (a, b2) = (rd32(v, le), rd32(&v[4..], le));
                            let u = if le {
                                u64::from(b2) << 32 | u64::from(a)
                            } else {
                                u64::from(a) << 32 | u64::from(b2)
                            };
                            iface.offset_secs = u as i64;
                        }
                        _ => {}
                    }
                    opts = opts.get(4 + padded..).unwrap_or(&[]);
                }
                if let Format::PcapNg { ifaces, .. } = &mut self.format {
                    if ifaces.len() >= 65_536 {
                        return Err(corrupt("more than 65536 interfaces".into()));
                    }
                    ifaces.push(iface);
                }
                None
            }
            EPB | OPB | SPB if headers_only => return Ok(None),
            EPB | OPB => {
                if body.len() < 20 {
                    return Err(corrupt(format!("packet block of {len} bytes")));
                }
                let (iface, hi, lo, caplen, wire) = if ty == EPB {
                    (
                        rd32(body, le) as usize,
                        rd32(&body[4..], le),
                        rd32(&body[8..], le),
                        rd32(&body[12..], le),
                        rd32(&body[16..], le),
                    )
                } else {
                    (
                        usize::from(rd16(body, le)),
                        rd32(&body[4..], le),
                        rd32(&body[8..], le),
                        rd32(&body[12..], le),
                        rd32(&body[16..], le),
                    )
                };
                if caplen as usize > body.len() - 20 || caplen > MAX_CAPLEN {
                    return Err(corrupt(format!(
                        "packet block of {len} bytes claims {caplen} captured bytes"
                    )));
                }
                let i = self.iface(iface, number, offset)?;
                let units = u64::from(hi) << 32 | u64::from(lo);
                let ns = i.resol.to_nanos(units);
                let ts = if i.offset_secs >= 0 {
                    ns.saturating_add((i.offset_secs as u64).saturating_mul(1_000_000_000))
                } else {
                    ns.saturating_sub(i.offset_secs.unsigned_abs().saturating_mul(1_000_000_000))
                };
                Some((
                    s + 28,
                    caplen as usize,
                    Record {
                        linktype: i.linktype,
                        ts: Nanos(ts),
                        data: &[],
                        wire_len: wire,
                        number,
                        offset,
                        block: None,
                    },
                ))
            }
            SPB => {
                if body.len() < 4 {
                    return Err(corrupt(format!("simple packet block of {len} bytes")));
                }
                let wire = rd32(body, le);
                let caplen = (wire as usize).min(body.len() - 4).min(MAX_CAPLEN as usize);
                let i = self.iface(0, number, offset)?;
                Some((
                    s + 12,
                    caplen,
                    Record {
                        linktype: i.linktype,
                        ts: Nanos::ZERO,
                        data: &[],
                        wire_len: wire,
                        number,
                        offset,
                        block: None,
                    },
                ))
            }
            _ => None,
        };
        self.consume(len);
        if out.is_some() {
            self.records = number;
        }
        Ok(out)
    }

    fn iface(&self, i: usize, number: u64, offset: u64) -> Result<Iface, ReadError> {
        match &self.format {
            Format::PcapNg { ifaces, .. } => ifaces.get(i).copied(),
            Format::Pcap { .. } => None,
        }
        .ok_or_else(|| ReadError::Corrupt {
            number,
            offset,
            why: format!("a packet names interface {i}, which no interface block describes"),
        })
    }

    #[inline]
    fn consume(&mut self, n: usize) {
        self.start += n;
        self.pos += n as u64;
    }

    /// Makes at least `want` bytes valid from `start`, unless the file ends
    /// first. Moves what is left to the front of the buffer when needed.
    fn fill(&mut self, want: usize) -> Result<(), String> {
        if self.end - self.start >= want || self.eof {
            return Ok(());
        }
        let Some(buf) = writable(&mut self.buf, &mut self.spare, self.start, self.end) else {
            return Err("cannot obtain a read buffer".into());
        };
        self.end -= self.start;
        self.start = 0;
        if buf.len() < want {
            buf.resize(want.next_power_of_two(), 0);
        }
        while self.end < want {
            match self.src.read(&mut buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }
}

/// The block to read into, with the unread bytes `buf[start..end]` moved
/// to its front: the current one if no borrower holds it, else a spare
/// nobody holds any more, else a new one.
fn writable<'b>(
    buf: &'b mut Block,
    spare: &mut VecDeque<Block>,
    start: usize,
    end: usize,
) -> Option<&'b mut Vec<u8>> {
    if Arc::get_mut(buf).is_none() {
        let free = spare.iter_mut().position(|b| Arc::get_mut(b).is_some());
        let next = match free.and_then(|i| spare.remove(i)) {
            Some(b) => b,
            None => Arc::new(vec![0; buf.len().max(CHUNK)]),
        };
        let old = std::mem::replace(buf, next);
        if spare.len() >= SPARE_BLOCKS {
            spare.pop_front();
        }
        let b = Arc::get_mut(buf)?;
        if b.len() < old.len() {
            b.resize(old.len(), 0);
        }
        b[..end - start].copy_from_slice(&old[start..end]);
        spare.push_back(old);
    } else if start > 0 {
        Arc::get_mut(buf)?.copy_within(start..end, 0);
    }
    Arc::get_mut(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap(le: bool, nanos: bool, linktype: u32, recs: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let w32 = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&if le { x.to_le_bytes() } else { x.to_be_bytes() })
        };
        let mut v = Vec::new();
        w32(&mut v, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        let (maj, min) = if le {
            ([2, 0], [4, 0])
        } else {
            ([0, 2], [0, 4])
        };
        v.extend_from_slice(&maj);
        v.extend_from_slice(&min);
        w32(&mut v, 0);
        w32(&mut v, 0);
        w32(&mut v, 65535);
        w32(&mut v, linktype);
        for (s, f, d) in recs {
            w32(&mut v, *s);
            w32(&mut v, *f);
            w32(&mut v, d.len() as u32);
            w32(&mut v, d.len() as u32 + 4);
            v.extend_from_slice(d);
        }
        v
    }

    /// Link type, nanoseconds, bytes, wire length, offset of each record.
    type Recs = Vec<(u32, u64, Vec<u8>, u32, u64)>;

    fn all(bytes: &[u8]) -> (Recs, Option<ReadError>) {
        drain(FileReader::new(bytes).unwrap())
    }

    #[test]
    fn lent_blocks_are_never_written_while_held() {
        // 4 MiB of records: the reader refills its block many times while
        // a borrower holds earlier blocks.
        let recs: Vec<(u32, u32, Vec<u8>)> = (0..4000u32)
            .map(|i| {
                let mut d = vec![(i % 251) as u8; 1000 + (i % 7) as usize];
                d[..4].copy_from_slice(&i.to_be_bytes());
                (i, 0, d)
            })
            .collect();
        let borrowed: Vec<(u32, u32, &[u8])> = recs
            .iter()
            .map(|(a, b, d)| (*a, *b, d.as_slice()))
            .collect();
        let file = pcap(true, false, 1, &borrowed);
        let mut r = FileReader::new(&file[..]).unwrap();
        let mut held: Vec<(Block, usize, usize, usize)> = Vec::new();
        let mut n = 0;
        while let Some(rec) = r.next_record().unwrap() {
            let block = rec.block.expect("a streamed record lies in a block");
            let off = rec.data.as_ptr() as usize - block.as_ptr() as usize;
            if n % 3 == 0 {
                held.push((Arc::clone(block), off, rec.data.len(), n));
            }
            n += 1;
        }
        assert_eq!(n, 4000);
        let blocks: std::collections::HashSet<usize> =
            held.iter().map(|h| h.0.as_ptr() as usize).collect();
        assert!(
            blocks.len() > 3,
            "records came from {} blocks",
            blocks.len()
        );
        for (block, off, len, i) in held {
            assert_eq!(&block[off..off + len], recs[i].2.as_slice(), "record {i}");
        }
    }

    #[test]
    fn reads_pcap_in_both_byte_orders_and_precisions() {
        for le in [true, false] {
            for nanos in [false, true] {
                let b = pcap(le, nanos, 1, &[(7, 5, b"abc"), (8, 0, b"")]);
                let (recs, err) = all(&b);
                assert_eq!(err, None);
                let unit = if nanos { 1 } else { 1000 };
                assert_eq!(
                    recs[0],
                    (1, 7_000_000_000 + 5 * unit, b"abc".to_vec(), 7, 24)
                );
                assert_eq!(recs[1], (1, 8_000_000_000, vec![], 4, 24 + 16 + 3));
            }
        }
    }

    #[test]
    fn cut_and_corrupt_pcap_records() {
        let b = pcap(true, false, 1, &[(1, 0, b"abcd"), (2, 0, b"efgh")]);
        for cut in 25..b.len() {
            let (recs, err) = all(&b[..cut]);
            let expect = if cut < 44 { 0 } else { 1 };
            assert_eq!(recs.len(), expect, "cut {cut}");
            if cut == 44 {
                assert_eq!(err, None);
            } else {
                assert!(
                    matches!(err, Some(ReadError::Truncated { number, .. }) if number == expect as u64 + 1),
                    "cut {cut}: {err:?}"
                );
            }
        }
        let mut bad = b.clone();
        bad[44 + 8..44 + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        let (recs, err) = all(&bad);
        assert_eq!(recs.len(), 1);
        assert!(matches!(
            err,
            Some(ReadError::Corrupt {
                number: 2,
                offset: 44,
                ..
            })
        ));
    }

    #[test]
    fn rejects_what_is_not_a_capture() {
        assert!(matches!(
            FileReader::new(&b"ab"[..]),
            Err(OpenError::NotCapture(_))
        ));
        assert!(matches!(
            FileReader::new(&b"GET / HTTP/1.1\r\n\r\n......"[..]),
            Err(OpenError::NotCapture(_))
        ));
        let mut b = pcap(true, false, 1, &[]);
        b[4] = 3;
        assert!(matches!(
            FileReader::new(&b[..]),
            Err(OpenError::BadHeader(_))
        ));
        assert!(matches!(
            FileReader::new(&b[..10]),
            Err(OpenError::BadHeader(_))
        ));
    }

    fn block(ty: u32, body: &[u8]) -> Vec<u8> {
        let pad = (4 - body.len() % 4) % 4;
        let len = (12 + body.len() + pad) as u32;
        let mut v = Vec::new();
        v.extend_from_slice(&ty.to_le_bytes());
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(body);
        v.extend(std::iter::repeat_n(0, pad));
        v.extend_from_slice(&len.to_le_bytes());
        v
    }

    fn shb() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(-1i64).to_le_bytes());
        block(SHB, &b)
    }

    fn idb(linktype: u16, tsresol: Option<u8>) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&linktype.to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&0u32.to_le_bytes());
        if let Some(r) = tsresol {
            b.extend_from_slice(&9u16.to_le_bytes());
            b.extend_from_slice(&1u16.to_le_bytes());
            b.extend_from_slice(&[r, 0, 0, 0]);
            b.extend_from_slice(&[0; 4]);
        }
        block(IDB, &b)
    }

    fn epb(iface: u32, units: u64, data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&iface.to_le_bytes());
        b.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
        b.extend_from_slice(&(units as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32).to_le_bytes());
        b.extend_from_slice(&(data.len() as u32 + 10).to_le_bytes());
        b.extend_from_slice(data);
        block(EPB, &b)
    }

    #[test]
    fn reads_pcapng_interfaces_resolutions_and_sections() {
        let mut f = shb();
        f.extend(idb(1, None));
        f.extend(idb(101, Some(9)));
        f.extend(block(5, &[1, 2, 3, 4])); // interface statistics: skipped
        f.extend(epb(0, 1_500_000, b"eth"));
        f.extend(epb(1, 2_000_000_007, b"ip"));
        f.extend(block(
            SPB,
            &[5, 0, 0, 0, b'x', b'y', b'z', b'w', b'v', 0, 0, 0],
        ));
        f.extend(shb());
        f.extend(idb(113, Some(0x80 | 10)));
        f.extend(epb(0, 3 << 10, b"sll"));
        let (recs, err) = all(&f);
        assert_eq!(err, None);
        let got: Vec<(u32, u64, &[u8], u32)> =
            recs.iter().map(|r| (r.0, r.1, &r.2[..], r.3)).collect();
        assert_eq!(
            got,
            vec![
                (1, 1_500_000_000, &b"eth"[..], 13),
                (101, 2_000_000_007, &b"ip"[..], 12),
                (1, 0, &b"xyzwv"[..], 5),
                (113, 3_000_000_000, &b"sll"[..], 13),
            ]
        );
        // A packet of an interface never described is corrupt.
        let mut g = shb();
        g.extend(idb(1, None));
        g.extend(epb(3, 0, b"x"));
        assert!(matches!(
            all(&g).1,
            Some(ReadError::Corrupt { number: 1, .. })
        ));
        // Cut anywhere: a clean end, a truncation or nothing read, never a panic.
        for cut in 28..f.len() {
            let (recs, err) = all(&f[..cut]);
            assert!(recs.len() <= 4);
            assert!(!matches!(err, Some(ReadError::Io(_))));
        }
    }

    #[test]
    fn binary_and_decimal_resolutions() {
        assert_eq!(Resol::Dec(3).to_nanos(5), 5_000_000);
        assert_eq!(Resol::Dec(12).to_nanos(5_000), 5);
        assert_eq!(Resol::Bin(1).to_nanos(3), 1_500_000_000);
        assert_eq!(Resol::Dec(200).to_nanos(5), 0);
        assert_eq!(Resol::Bin(100).to_nanos(5), 0);
    }

    /// A source that hands out at most a few bytes per read, as a pipe may.
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

    /// Every record and the error that ends the stream, from `r`.
    fn drain<R: Read>(mut r: FileReader<R>) -> (Recs, Option<ReadError>) {
        let mut out = Vec::new();
        loop {
            match r.next_record() {
                Ok(Some(rec)) => out.push((
                    rec.linktype,
                    rec.ts.0,
                    rec.data.to_vec(),
                    rec.wire_len,
                    rec.offset,
                )),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn short_reads_give_what_whole_reads_give() {
        let recs: Vec<(u32, u32, Vec<u8>)> = (0..300u32)
            .map(|i| (i, i, vec![(i % 251) as u8; (i as usize * 37) % 1500]))
            .collect();
        let borrowed: Vec<(u32, u32, &[u8])> = recs
            .iter()
            .map(|(a, b, d)| (*a, *b, d.as_slice()))
            .collect();
        let file = pcap(false, true, 1, &borrowed);
        let mut ng = shb();
        ng.extend(idb(1, Some(9)));
        for (i, d) in recs.iter().enumerate() {
            ng.extend(epb(0, i as u64 * 1_000, &d.2));
        }
        for bytes in [
            &file[..],
            &file[..file.len() - 7],
            &ng[..],
            &ng[..ng.len() - 5],
        ] {
            let whole = all(bytes);
            assert!(whole.0.len() >= 299);
            let short = drain(FileReader::new(Trickle(bytes, 0)).unwrap());
            assert_eq!(short, whole);
        }
    }
}

//! # vcscope — is this call encrypted, and where does it go?
//!
//! A passive analyzer of videoconferencing traffic. This page is the
//! architecture in one read.
//!
//! ## Data flow
//!
//! ```text
//! capture ──► packet ──► flow ──► dissect ──► call ──► verdict ──► report
//! (files,    (link/IP/   (5-tuple  (vcscope_    (SIP dialogs,  (encryption,  (json, ndjson,
//!  libpcap;   UDP/TCP,    table,    dissectors   SDP media,     relays,       table)
//!  lending)   tunnels,    expiry)   parsers,     inferred       leaks)
//!             fragments)            evidence)    calls)
//! ```
//!
//! * [`capture`] is the only I/O: it reads saved files through
//!   [`pcapfile`] (pcap/pcapng framed from 1 MiB blocks) and interfaces with
//!   libpcap, and lends each frame to [`engine::Analyzer::process`]; nothing
//!   is copied after the read.
//! * [`packet`] slices link, IP and transport headers (etherparse), opens
//!   GRE/ERSPAN/VXLAN tunnels and hands IP fragments to [`reasm`].
//! * [`flow`] keys packets by canonical 5-tuple plus direction, in a bounded
//!   table with idle expiry on packet time ([`time`]).
//! * [`dissect`] runs the sans-IO parsers of the `vcscope-dissectors` crate
//!   in one ordered match and records evidence on the flow.
//! * [`verdict`] turns evidence into the encryption status, relays and leaks
//!   and builds the [`report::Report`], whose field names are the contract.
//! * [`shard`] runs `--threads N`: the reading thread analyses a small share
//!   of the flows and hands every other packet to the worker thread that
//!   owns its flow (signalling to all of them), and joins the threads'
//!   results into the report one thread would have made.
//!
//! All state is bounded (flows, fragments, stream buffers, calls) and what
//! the limits cost is reported; every oddity in the input is a counted
//! warning ([`warn`]), never a panic.
#![forbid(unsafe_code)]

mod apps;
mod assemble;
mod calls;
pub mod capture;
pub mod cli;
mod dissect;
pub mod engine;
mod evidence;
mod flow;
mod judge;
pub mod net;
pub mod packet;
pub mod report;
pub mod run;
mod scope;
mod series;
pub mod shard;
pub mod time;

mod warn;

//! # vcscope — is this call encrypted, and where does it go?
//!
//! A passive analyzer of videoconferencing traffic. This page is the
//! architecture in one read.
//!
//! ## Data flow
//!
//! ```text
//! capture ──► packet ──► flow ──► dissect ──► calls ──► judge ──► assemble ──► report
//! (files,    (link/IP/   (5-tuple  (one       (SIP       (pure:    (tables →    (the contract;
//!  stdin,     UDP/TCP,    table,    handler    dialogs,   evidence  Report)      json, ndjson,
//!  libpcap)   tunnels,    expiry)   per        inferred   in,                    table, html)
//!             fragments)            protocol)  calls,     verdicts
//!                                              relays,    out)
//!                                              leaks)
//! ```
//!
//! Each box is a module (a folder where it has parts), and imports run one
//! way: no module uses one that uses it back, the flow table never reaches
//! a dissector, judgement and reports never reach capture, and capture
//! knows no analyzer. `tests/architecture.rs` reads the sources and checks
//! all of this.
//!
//! * [`net`]: the shared vocabulary (endpoints, transports, flow keys,
//!   directions); it imports nothing of ours.
//! * [`capture`]: the only I/O. Saved files through `capture::pcapfile`
//!   (pcap/pcapng framed from shared 1 MiB blocks), standard input and
//!   libpcap interfaces; each borrowed frame goes to a
//!   [`capture::FrameSink`], and what is odd in the input is told to the
//!   sink as a warning. Nothing is copied after the read.
//! * [`packet`]: link, IP and transport headers (etherparse), GRE, ERSPAN,
//!   VXLAN and GTP-U tunnels, IP fragment reassembly (`packet::reasm`) and
//!   the bounded TCP stream buffer (`packet::stream`).
//! * `flow`: the bounded table keyed by canonical 5-tuple plus direction,
//!   with idle expiry on packet time ([`time`]); each flow carries its
//!   evidence. When streaming, a flow whose record was written is let go,
//!   so memory follows the live flows, not the run's length.
//! * `evidence`: what dissection records on a flow, one typed slot per
//!   protocol (`FlowState`: STUN, TCP stream mode, media, TLS).
//! * `dissect`: the one ordered dispatch (`dissect/mod.rs`) over the sans-IO
//!   parsers of the `vcscope-dissectors` crate, and one handler file per
//!   protocol family (`sip`, `stun` with TURN, `media` for RTP/RTCP/SRTP/
//!   ZRTP, `secure` for TLS/DTLS/QUIC, `zoom`, `tcp` stream modes, `dns`
//!   for the names DNS answers give addresses).
//! * `calls`: SIP dialogs and their SDP, calls inferred from media, the
//!   names DNS answers gave addresses (`calls::names`), the
//!   relays on the path and internal-address leaks.
//! * `apps`: the one vocabulary of apps and operators (address ranges, SNI
//!   and certificate names, ports), and `apps::policy`: where each app's
//!   media is decrypted by its provider's documented policy.
//! * `judge`: pure judgement, unit-tested on hand-built evidence: a flow's
//!   and a stream's encryption with the evidence named, a call's
//!   `encrypted` field (its media weighted by packets, or for an inferred
//!   call whose media cannot be classified the app's documented policy,
//!   said as such), where its encryption ends and its sentence, for SIP
//!   and inferred calls alike.
//! * `assemble`: reads the finished analysis whole and fills the report
//!   (`Analyzer::finish`), taking every verdict from `judge`.
//! * [`report`]: the serde types whose field names are the contract (and
//!   the JSON Schema generated from them), their renderings (JSON, NDJSON,
//!   a terminal table fitted to the screen, HTML), redaction, reverse DNS
//!   and GeoIP places. It uses nothing of the analysis.
//! * [`engine`]: the analyzer: decode, reassemble, look up the flow,
//!   dissect. [`shard`] runs `--threads N` by implementing the
//!   [`engine::Router`] the engine defines: the reading thread analyses a
//!   share of the flows and hands the others' packets to the worker that
//!   owns them, and the threads' tables are joined into the report one
//!   thread would have made.
//! * [`cli`] and [`run`]: the command line and what each command does;
//!   `run` streams NDJSON flow records as flows end
//!   (`Analyzer::stream_ended`) and `interval` heartbeats, into
//!   [`output`]: standard output or files named by a time pattern, rotated,
//!   reopened on SIGHUP, with failed writes counted, never fatal.
//!
//! All state is bounded (flows, fragments, stream buffers, calls, relays,
//! leaks) and what the limits cost is reported; every oddity in the input
//! is a counted warning, never a panic.
//!
//! ## What is public
//!
//! What a library user (the binary, the tests, the benches and the fuzz
//! targets) may touch: [`capture`], [`engine`], [`shard`], [`report`],
//! [`packet`] (link types and decoding), [`net`], [`time`], [`output`],
//! [`cli`] and [`run`]. Everything else is private to the crate.
//!
//! ## Adding a dissector
//!
//! One parser file in `dissectors/src/` (sans-IO, a `probe`, a checked view,
//! a fuzz target in `fuzz/`); one handler file in `src/dissect/` and its arm
//! in the dispatch of `dissect/mod.rs`; one evidence slot in
//! `src/evidence.rs`; one judgement rule in `src/judge.rs`; one report field
//! in `src/report/types.rs` (add, never rename). A fixture capture with its
//! provenance, and the golden reports (`tests/golden/`) show what changed.
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
pub mod output;
pub mod packet;
pub mod report;
pub mod run;
mod scope;
mod series;
pub mod shard;
pub mod time;

mod warn;

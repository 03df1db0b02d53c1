//! Command line (clap derive). `--help` is the user's first manual: every
//! option says what it does and what its default is.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::Format;

/// Passive videoconferencing traffic analyzer.
///
/// For every call in a capture or on a mirror port, vcscope answers: is this
/// call encrypted, and where does it go? It reads SIP/SDP, RTP/RTCP, SRTP,
/// DTLS-SRTP, ZRTP, STUN/TURN/ICE, TLS and QUIC, and reports per flow and per
/// call the protocols seen, the encryption status and how keys were
/// exchanged, the relays and servers the media goes through, internal
/// addresses leaked to the internet, and RTP stream health.
#[derive(Debug, Parser)]
#[command(
    name = "vcscope",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(after_help = "Examples:\n  \
  vcscope read call.pcap                       table on the terminal\n  \
  vcscope read a.pcap b.pcapng --format json -o report.json\n  \
  tcpdump -i eth0 -w - | vcscope read -        read a capture from a pipe\n  \
  vcscope live -i eth1 --duration 60 --format ndjson\n\n\
Exit codes: 0 ok; 1 finished with warnings (only with --strict); 2 usage or input error.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse pcap/pcapng files ('-' reads standard input). Several files form one analysis.
    Read(ReadArgs),
    /// Capture from an interface (a mirror/SPAN port, promiscuous) and report at the end.
    ///
    /// Flow records stream out as flows end with --format ndjson; the full report
    /// is written when --duration elapses or on Ctrl-C / SIGTERM.
    Live(LiveArgs),
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Capture files (pcap or pcapng); '-' for standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,

    #[command(flatten)]
    pub common: CommonArgs,

    /// Do not show a progress bar on the terminal.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Interface to capture from (put in promiscuous mode).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: String,

    #[command(flatten)]
    pub common: CommonArgs,

    /// Stop after this many seconds (default: until Ctrl-C or SIGTERM).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,

    /// Once the interface is open, give up root and run as this user (its
    /// uid and gid). The report file must then be writable by that user, and
    /// an interface that goes down cannot be reopened.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// Bytes captured per packet. SIP and SDP need whole packets: keep the default.
    #[arg(long, value_name = "N", default_value_t = 65535, value_parser = clap::value_parser!(i32).range(64..=262144))]
    pub snaplen: i32,
}

#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Output format [default: table on a terminal, else json; with -o, from the file's
    /// extension (.ndjson/.jsonl → ndjson, .txt → table)].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Write the report to this file (written atomically) instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Only analyse packets matching this BPF filter (tcpdump syntax), e.g. "udp or port 5061".
    #[arg(long, value_name = "BPF")]
    pub filter: Option<String>,

    /// Add reverse DNS names of endpoints (off by default; looked up after the
    /// analysis, in parallel, with a time limit, never on the packet path).
    #[arg(long)]
    pub resolve: bool,

    /// Replace addresses, SIP URIs and Call-IDs with stable pseudonyms
    /// (private-1, public-2, sip:user-1@...) so the report can be shared.
    #[arg(long)]
    pub redact: bool,

    /// Exit 1 when the analysis finished with warnings (malformed or truncated
    /// input, dropped packets, evicted flows).
    #[arg(long)]
    pub strict: bool,

    /// Live flows tracked at once; beyond, the longest-idle flows are ended early
    /// (counted in the report's limits).
    #[arg(long, value_name = "N", default_value_t = 262_144, value_parser = clap::value_parser!(u64).range(16..=50_000_000))]
    pub max_flows: u64,

    /// Seconds of silence (capture time) after which a flow ends.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub idle_timeout: u64,

    /// Analysis threads (1-64). With more than one, the reading thread
    /// decodes every packet, analyses a small share of the flows itself and
    /// hands every other packet to the worker thread that owns its flow (a
    /// hash of the 5-tuple); the report is the same as with one thread
    /// unless a limit is reached (--max-flows is split between the threads).
    /// Live capture with several threads writes its report at the end: flows
    /// are not streamed.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
}

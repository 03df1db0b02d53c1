//! Command line (clap derive). `--help` is the user's first manual: every
//! option says what it does and what its default is.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

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
  vcscope read call.pcap udp port 5060         only what a BPF filter passes\n  \
  tcpdump -i eth0 -w - | vcscope read -        read a capture from a pipe\n  \
  vcscope live -i eth1 --duration 60 --format ndjson\n\n\
tcpdump's forms work too: `vcscope -r call.pcap` reads, `vcscope -i eth1` captures,\n\
`vcscope -D` lists the interfaces.\n\n\
Exit codes: 0 ok; 1 finished with warnings (only with --strict); 2 usage or input error.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse pcap/pcapng files ('-' reads standard input). Several files form one analysis.
    #[command(after_help = "Examples:\n  \
  vcscope read call.pcap                        table on the terminal\n  \
  vcscope read -r call.pcap udp port 5060       tcpdump's form: -r, then a filter\n  \
  vcscope read day1.pcap day2.pcapng -o r.json  several files, one analysis\n  \
  vcscope read big.pcap -c 100000 -q            the first 100000 packets, verdicts only\n  \
  tcpdump -i eth0 -w - | vcscope read -         from a pipe")]
    Read(ReadArgs),
    /// Capture from an interface (a mirror/SPAN port, promiscuous) and report at the end.
    ///
    /// Flow records stream out as flows end with --format ndjson; the full report
    /// is written when --duration elapses or on Ctrl-C / SIGTERM.
    #[command(after_help = "Examples:\n  \
  vcscope live -i eth1                          until Ctrl-C, then the table\n  \
  vcscope live -i eth1 --duration 60 -o r.json  one minute, report to a file\n  \
  vcscope live -i eth1 --format ndjson udp      flow records as flows end, UDP only\n  \
  vcscope live -i eth1 --user nobody            drop root once the interface is open")]
    Live(LiveArgs),
    /// List the interfaces `live` can capture from (as `tcpdump -D`).
    Interfaces,
}

#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Capture files (pcap or pcapng; '-' for standard input), then,
    /// optionally, a BPF filter expression as with tcpdump: the first word
    /// that is not a file (nor named like a capture, *.pcap, *.pcapng, *.cap)
    /// starts the filter.
    #[arg(value_name = "FILE... [FILTER]")]
    pub args: Vec<String>,

    /// A capture file to read, as with tcpdump (repeatable); every word after
    /// the options is then the filter.
    #[arg(short = 'r', value_name = "FILE")]
    pub read: Vec<String>,

    #[command(flatten)]
    pub common: CommonArgs,

    /// Do not show a progress bar on the terminal.
    #[arg(long)]
    pub no_progress: bool,

    /// Save the call with this Call-ID (or inferred id, as the report names
    /// it) as a pcap: its signalling, STUN/TURN, DTLS and media frames,
    /// unchanged, with their times. Needs -w.
    #[arg(long, value_name = "CALL_ID", requires = "write")]
    pub export_call: Option<String>,

    /// The pcap file --export-call writes.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,

    /// Save every call as its own pcap in this directory (created if
    /// missing), named after its Call-ID.
    #[arg(long, value_name = "DIR", conflicts_with = "export_call")]
    pub export_calls: Option<PathBuf>,
}

impl ReadArgs {
    /// The capture files and the filter words after them.
    pub fn files_and_filter(&self) -> Result<(Vec<String>, Vec<String>), String> {
        if !self.read.is_empty() {
            return Ok((self.read.clone(), self.args.clone()));
        }
        let is_file = |a: &str| {
            a == "-"
                || Path::new(a).exists()
                || [".pcap", ".pcapng", ".cap", ".pcap.gz"]
                    .iter()
                    .any(|x| a.to_ascii_lowercase().ends_with(x))
        };
        let n = self.args.iter().take_while(|a| is_file(a)).count().max(1);
        let n = n.min(self.args.len());
        if n == 0 {
            return Err(
                "no capture file given: vcscope read FILE... (or -r FILE; '-' reads standard input)"
                    .into(),
            );
        }
        Ok((self.args[..n].to_vec(), self.args[n..].to_vec()))
    }
}

#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Interface to capture from (put in promiscuous mode).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: String,

    /// A BPF filter expression, as with tcpdump (same as --filter).
    #[arg(value_name = "FILTER")]
    pub filter_words: Vec<String>,

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

    /// A status line on standard error every 5 seconds (packets, drops, live
    /// flows, calls, memory; with --threads and a report at the end, flows
    /// and calls of the reading thread's share); on by default when
    /// standard error is a terminal, off with -q.
    #[arg(long)]
    pub stats: bool,

    /// Kernel capture ring in MiB: it absorbs bursts while the analysis
    /// catches up (drops are reported in the report's source.dropped).
    #[arg(long, value_name = "MIB", default_value_t = 64, value_parser = clap::value_parser!(i32).range(1..=2047))]
    pub buffer_size: i32,

    /// Bytes captured per packet. SIP and SDP need whole packets: keep the default.
    #[arg(long, value_name = "N", default_value_t = 65535, value_parser = clap::value_parser!(i32).range(64..=262144))]
    pub snaplen: i32,
}

#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Output format [default: table on a terminal, else json; with -o, from the file's
    /// extension (.ndjson/.jsonl → ndjson, .txt → table, .html → html)].
    #[arg(long, value_enum, ignore_case = true, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Write the report to this file (written atomically) instead of standard output.
    /// Streamed NDJSON is written as it comes, and the file name may hold
    /// %Y %m %d %H %M %S %j %s (UTC), e.g. 'vc-%Y%m%d-%H%M.ndjson'.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Streamed NDJSON to -o: a new file every SECS (packet time for read,
    /// the wall clock for live) or once a file holds SIZE bytes (100M; K, M, G).
    #[arg(long, value_name = "SECS|SIZE", value_parser = crate::output::Rotate::parse)]
    pub rotate: Option<crate::output::Rotate>,

    /// Only analyse packets matching this BPF filter (tcpdump syntax), e.g. "udp or port 5061".
    #[arg(short = 'f', long, value_name = "BPF")]
    pub filter: Option<String>,

    /// Stop after this many packets (those the filter passes), as tcpdump's -c.
    #[arg(short = 'c', long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Quiet: no warnings on standard error, and the table shrinks to one
    /// verdict line per call.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Add reverse DNS names of endpoints (off by default; looked up after the
    /// analysis, in parallel, with a time limit, never on the packet path).
    #[arg(long)]
    pub resolve: bool,

    /// Add the country and network (AS number and name) of far endpoints and
    /// relays from MaxMind-format databases: one .mmdb file or a folder of
    /// them (country, city, ASN). See README, "Where it goes".
    #[arg(long, value_name = "PATH")]
    pub geoip: Option<PathBuf>,

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

    /// Analyse only this sensor's share K of N of the traffic (0 <= K < N):
    /// the packets whose internal endpoint hashes to K, so N sensors on one
    /// link together report what one would. See README, "Several sensors".
    #[arg(long, value_name = "K/N", value_parser = crate::engine::Partition::parse)]
    pub partition: Option<crate::engine::Partition>,

    /// Name this sensor: every NDJSON record carries `"sensor": NAME` and the
    /// report `source.sensor`, so several sensors' records can share one
    /// store (see README, "Into ClickHouse").
    #[arg(long, value_name = "NAME", value_parser = parse_sensor)]
    pub sensor: Option<String>,

    /// Analysis threads (1-64). A report written at the end is the same as
    /// with one; streamed NDJSON holds the same records, the threads
    /// splitting the traffic by client, with other ids (see README).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,

    /// List every flow in the report. By default only flows with something
    /// of a call (a videoconferencing protocol, an app, a call, a relay or
    /// a leak) are listed; the others are counted in `other_flows`.
    #[arg(long)]
    pub all_flows: bool,

    /// NDJSON: write an `interval` record every SECS of packet time (a
    /// heartbeat). Live captures default to 60; files have none unless given.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub interval: Option<u64>,
}

/// tcpdump's forms without a command: `vcscope -r FILE ...` is `read`,
/// `vcscope -i IFACE ...` is `live`, `vcscope -D` (`--list-interfaces`)
/// is `interfaces`. Other command lines are returned unchanged.
pub fn tcpdump_style(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut v: Vec<OsString> = args.into_iter().collect();
    let Some(first) = v.get(1).and_then(|a| a.to_str()) else {
        return v;
    };
    let first = first.to_string();
    if first == "-D" || first == "--list-interfaces" {
        v[1] = "interfaces".into();
    } else if first == "-r" || (first.starts_with("-r") && first.len() > 2) {
        v.insert(1, "read".into());
    } else if first == "-i"
        || first == "--interface"
        || (first.starts_with("-i") && first.len() > 2)
    {
        v.insert(1, "live".into());
    }
    v
}

/// `--sensor`: 1 to 64 printable characters.
fn parse_sensor(s: &str) -> Result<String, String> {
    if s.is_empty() || s.chars().count() > 64 || s.chars().any(char::is_control) {
        return Err("a sensor name is 1 to 64 printable characters".into());
    }
    Ok(s.to_string())
}

//! `vcscope`: parse the command line, run, map the outcome to an exit code.

use clap::Parser;

fn main() {
    let cli = vcscope::cli::Cli::parse_from(vcscope::cli::tcpdump_style(std::env::args_os()));
    std::process::exit(vcscope::run::run(cli));
}

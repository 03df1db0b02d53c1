//! `vcscope`: parse the command line, run, map the outcome to an exit code.

use clap::Parser;

fn main() {
    let cli = vcscope::cli::Cli::parse();
    std::process::exit(vcscope::run::run(cli));
}

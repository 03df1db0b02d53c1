#!/usr/bin/env bash
# First contact: install what is missing, build, and analyse a bundled
# capture (a real SIP call from a public sample, see fixtures/README.md).
set -euo pipefail
# Nothing here reads standard input; do not let a caller's leak into the build.
exec </dev/null
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release --quiet
./target/release/vcscope read fixtures/pcap/sngrep__aaa.pcap --format table "$@"

#!/usr/bin/env bash
# The full soak of a streaming sensor (tests/soak.rs at scale): 5 million
# flows by default (about 29 million packets, four days of packet time)
# through `vcscope read - --format ndjson` on a release build, with the
# resident memory every 300 s of packet time.
#
#   scripts/soak.sh [FLOWS]
set -euo pipefail
cd "$(dirname "$0")/.."
VCSCOPE_SOAK_FLOWS="${1:-5000000}" VCSCOPE_SOAK_TRACE=1 \
  cargo test --release --locked --test soak -- --nocapture

#!/usr/bin/env bash
# The whole test suite: installs what is missing, then runs every test of
# the workspace (unit, corpus, CLI, robustness, and the live-capture test,
# which needs root to create a network namespace).
set -euo pipefail
# Nothing here reads standard input; do not let a caller's leak into the build.
exec </dev/null
cd "$(dirname "$0")/.."
./scripts/setup.sh --test
cargo build --workspace --all-targets --locked
cargo test --workspace --locked --no-fail-fast
# The fuzz targets (their own crate, built by cargo-fuzz on nightly) must
# keep compiling against both crates on stable too.
cargo check --manifest-path fuzz/Cargo.toml --bins --locked

#!/usr/bin/env bash
# Rewrites the golden reports of tests/golden from the current build and
# prints what changed; review the diff and commit it with the change that
# caused it.
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."
VCSCOPE_BLESS=1 cargo test --test golden
git diff --stat tests/golden
git ls-files --others --exclude-standard tests/golden | sed 's/^/new: /'

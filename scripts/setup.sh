#!/usr/bin/env bash
# Installs what vcscope needs on Debian/Ubuntu. Needs root or sudo; does
# nothing when all is there.
#
#   scripts/setup.sh          to build and run: libpcap headers
#   scripts/setup.sh --test   also what the tests use: tcpreplay and iproute2
#                             (live capture in a network namespace), util-linux
#                             (setpriv), chromium (the HTML report in a browser),
#                             and, where the distribution has them,
#                             clickhouse-server and clickhouse-client (the
#                             NDJSON records in ClickHouse)
set -euo pipefail

pkgs=(libpcap-dev pkg-config)
optional=()
if [ "${1:-}" = "--test" ]; then
  # fonts-dejavu-core: the screenshots of the HTML report
  # (tests/screens.rs) are compared with references drawn with Debian's
  # default fonts.
  pkgs+=(tcpreplay iproute2 util-linux chromium fonts-dejavu-core)
  optional+=(clickhouse-server clickhouse-client)
fi
if ! command -v dpkg >/dev/null 2>&1; then
  echo "setup: not a Debian-based system; install ${pkgs[*]} (or their equivalents) yourself" >&2
  exit 0
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
missing_optional=()
for p in "${optional[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing_optional+=("$p")
done
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
apt_get() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get "$@"; }
if ((${#missing[@]} + ${#missing_optional[@]})); then
  apt_get update -qq
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ((${#missing_optional[@]})); then
  echo "setup: installing ${missing_optional[*]}" >&2
  # Not every distribution packages ClickHouse: its test then says it is
  # skipped.
  apt_get install -y -qq --no-install-recommends "${missing_optional[@]}" >/dev/null ||
    echo "setup: ${missing_optional[*]} not installed; tests/clickhouse.rs will be skipped" >&2
fi

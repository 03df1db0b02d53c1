#!/usr/bin/env bash
# Installs what vcscope needs on Debian/Ubuntu. Needs root or sudo; does
# nothing when all is there.
#
#   scripts/setup.sh          to build and run: libpcap headers
#   scripts/setup.sh --test   also what the tests use: tcpreplay and iproute2
#                             (live capture in a network namespace), util-linux
#                             (setpriv), chromium (the HTML report in a browser)
set -euo pipefail

pkgs=(libpcap-dev pkg-config)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(tcpreplay iproute2 util-linux chromium)
fi

if [ "${1:-}" = "--test" ]; then
  # The screenshots of the HTML report (tests/screens.rs) are compared with
  # references drawn with Debian's default fonts.
  pkgs+=(fonts-dejavu-core)
fi
if ! command -v dpkg >/dev/null 2>&1; then
  echo "setup: not a Debian-based system; install ${pkgs[*]} (or their equivalents) yourself" >&2
  exit 0
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing ${missing[*]}" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

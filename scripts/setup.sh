#!/usr/bin/env bash
# Installs what vcscope needs to build and test on Debian/Ubuntu: libpcap
# headers, and the tools the live-capture test uses (tcpreplay, iproute2,
# util-linux's setpriv). Needs root or sudo; does nothing when all is there.
set -euo pipefail

pkgs=(libpcap-dev pkg-config tcpreplay iproute2 util-linux)
if ! command -v dpkg >/dev/null 2>&1; then
  echo "setup: not a Debian-based system; install libpcap (headers), tcpreplay and iproute2 yourself" >&2
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

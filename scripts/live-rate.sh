#!/usr/bin/env bash
# The highest rate `vcscope live` captures without loss, on a veth pair whose
# sending end lives in a network namespace of its own (needs root, iproute2
# and tcpreplay).
#
#   scripts/live-rate.sh [--packets N] [--threads T] [--data DIR] [--shared DIR]
#                        [--soak SECS [--pps R]]
#
# It generates the shared videoconferencing workload (N packets, default
# 1000000, seed 1) into DIR (default bench-data/, git-ignored), builds release
# vcscope and replays the file from the namespace at rising rates: tcpreplay
# --pps 100000 and 200000, then --topspeed with one sender, then two senders
# at once (tcpreplay alone does not go much past 300,000 frames a second on
# 2 cores). For each step `vcscope live --format json` captures it, and the
# script prints the rate reached (frames sent over the senders' time), the
# frames captured and the kernel drops (`source.dropped`), and at the end
# the highest drop-free rate. Frames tcpreplay cannot send (the few longer
# than the veth MTU) are left out of the count.
#
# With --soak SECS it runs a live sensor instead: tcpreplay sends the
# workload in a loop at --pps R (default 100000) for SECS seconds into
# `vcscope live --format ndjson --interval 10 -o FILE`, and the script
# prints, every 10 seconds, the sensor's resident memory and the kernel
# drops its `interval` records report, then the totals of its summary.
#
# Environment: CARGO_TARGET_DIR (default: target/), PYTHON (default python3).
set -euo pipefail
exec </dev/null

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${VCSCOPE_SHARED:-$ROOT/../shared}
DATA=$ROOT/bench-data
PACKETS=1000000
THREADS=1
PYTHON=${PYTHON:-python3}
SOAK=0
SOAK_PPS=100000

usage() {
    sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}
while [ $# -gt 0 ]; do
    case "$1" in
        --packets) PACKETS=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --data) DATA=$2; shift 2 ;;
        --shared) SHARED=$2; shift 2 ;;
        --soak) SOAK=$2; shift 2 ;;
        --pps) SOAK_PPS=$2; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "live-rate.sh: unknown argument $1" >&2; usage 2 ;;
    esac
done
if [ "$(id -u)" != 0 ]; then
    echo "live-rate.sh: needs root (network namespace, veth, packet socket)" >&2
    exit 2
fi
for tool in ip tcpreplay "$PYTHON"; do
    command -v "$tool" >/dev/null || { echo "live-rate.sh: $tool missing" >&2; exit 2; }
done
GEN=$SHARED/bench/gen_vc_pcap.py
[ -f "$GEN" ] || { echo "live-rate.sh: $GEN not found (set --shared DIR)" >&2; exit 2; }

mkdir -p "$DATA"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
echo "== build (release)"
(cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release --quiet --bin vcscope)
VCSCOPE=$TARGET/release/vcscope
PCAP=$DATA/vc_$PACKETS.pcap
if [ ! -s "$PCAP" ]; then
    echo "== generate $PACKETS packets -> $PCAP"
    "$PYTHON" "$GEN" --packets "$PACKETS" --seed 1 --out "$PCAP" >/dev/null
fi

NS=vcsrate$$
CAP=vcr$$c
SEND=vcr$$s
WORK=$(mktemp -d)
cleanup() {
    ip link del "$CAP" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS"
ip link add "$CAP" type veth peer name "$SEND" netns "$NS"
if [ -e /proc/sys/net/ipv6/conf/"$CAP" ]; then
    echo 1 >/proc/sys/net/ipv6/conf/"$CAP"/disable_ipv6
    ip netns exec "$NS" sh -c "echo 1 > /proc/sys/net/ipv6/conf/$SEND/disable_ipv6"
fi
ip link set "$CAP" up
ip -n "$NS" link set "$SEND" up
sleep 1

# step LABEL SENDERS TCPREPLAY-RATE-OPTION: prints one line, returns the rate if no drop
BEST=0
step() {
    local label=$1 senders=$2 rate=$3 out=$WORK/live.json
    rm -f "$out"
    "$VCSCOPE" live -i "$CAP" --duration 3600 --threads "$THREADS" --format json -o "$out" -q &
    local pid=$!
    sleep 1.5
    local i
    for i in $(seq "$senders"); do
        ip netns exec "$NS" tcpreplay "$rate" --preload-pcap --intf1="$SEND" "$PCAP" \
            >"$WORK/send$i.txt" 2>&1 &
    done
    wait $(jobs -p | grep -v "^$pid$")
    sleep 1
    kill -TERM "$pid"
    wait "$pid" || true
    local sent=0 secs=0 s t
    for i in $(seq "$senders"); do
        s=$(awk '/Successful packets:/ {print $3}' "$WORK/send$i.txt")
        t=$(awk '/^Actual:/ {for (k=1;k<=NF;k++) if ($k=="sent") print $(k+2)}' "$WORK/send$i.txt")
        sent=$((sent + s))
        secs=$(awk "BEGIN{print ($t > $secs) ? $t : $secs}")
    done
    local got dropped pps
    got=$("$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['source']['packets'])" "$out")
    dropped=$("$PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['source']['dropped'])" "$out")
    pps=$(awk "BEGIN{printf \"%d\", $sent / $secs}")
    printf '%-22s %9s frames/s  sent %9s  captured %9s  dropped %s\n' \
        "$label" "$pps" "$sent" "$got" "$dropped"
    if [ "$dropped" = 0 ] && [ "$got" -ge "$sent" ] && [ "$pps" -gt "$BEST" ]; then
        BEST=$pps
    fi
}

# soak: a sensor fed at $SOAK_PPS frames/s for $SOAK seconds
soak() {
    local out=$WORK/soak.ndjson pid spid t=0 rss
    "$VCSCOPE" live -i "$CAP" --duration $((SOAK + 3)) --threads "$THREADS" \
        --format ndjson --interval 10 -o "$out" -q &
    pid=$!
    sleep 1.5
    ip netns exec "$NS" timeout -s INT "$SOAK" tcpreplay --pps="$SOAK_PPS" --loop=0 \
        --preload-pcap --intf1="$SEND" "$PCAP" >"$WORK/send.txt" 2>&1 &
    spid=$!
    while kill -0 "$spid" 2>/dev/null; do
        sleep 10
        t=$((t + 10))
        rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null) || break
        [ -n "$rss" ] || break
        printf '  %5d s  RSS %4d MiB\n' "$t" $((rss / 1024))
    done
    wait "$pid" || true
    "$PYTHON" - "$out" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
beats = [r for r in recs if r.get("type") == "interval"]
for b in beats:
    print(f"  interval at {b['ts']:.0f}: {b['interval_packets']} frames, dropped so far {b['dropped']}, live flows {b['live_flows']}")
s = [r for r in recs if r.get("type") == "summary"][-1]
src = s["source"]
print(f"summary: {src['packets']} frames captured, {src['dropped']} dropped, "
      f"{s['flows']} flow records, {s['calls']} calls")
PY
}

if [ "$SOAK" -gt 0 ]; then
    echo "== vcscope live --threads $THREADS on a veth pair fed at $SOAK_PPS frames/s for $SOAK s ($(date -u +%F))"
    soak
    exit 0
fi

echo "== vcscope live --threads $THREADS on a veth pair, $PACKETS frames a step ($(date -u +%F))"
step "--pps 100000" 1 --pps=100000
step "--pps 200000" 1 --pps=200000
step "--topspeed" 1 --topspeed
step "--topspeed, 2 senders" 2 --topspeed
echo "highest drop-free rate: $BEST frames/s"

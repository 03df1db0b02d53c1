#!/usr/bin/env bash
# Side-by-side performance recipe: vcscope against the shared ceiling, the
# bare L2-L4 reader every ratio is measured against.
#
#   scripts/bench.sh [--packets N]... [--callgrind] [--callgrind-packets N]
#                    [--threads T] [--runs R] [--data DIR] [--shared DIR]
#                    [--flood FLOWS]...
#
# For each N (default: 200000 and 1000000) it generates the shared
# videoconferencing workload (seed 1) into DIR (default: bench-data/, which
# is git-ignored), builds release vcscope and benches/reference, and runs
# R rounds (default 3) on the page-cached file, each round running every
# program below once in turn under `/usr/bin/time -v` (a change of load on
# a shared machine then falls on all of them alike):
#
#   vcscope read FILE --format json -o OUT      (every dissector + report)
#   ceiling parse FILE                          (../shared/bench/ceiling:
#                                                pcap-parser + etherparse +
#                                                an FxHashMap per 5-tuple)
#   reference-reader FILE                       (benches/reference: libpcap +
#                                                etherparse + 5-tuple map)
#   reference-reader --read-only FILE           (libpcap reading alone)
#
# It prints the best wall time (to the millisecond), packets/s, Gbit/s,
# peak RSS and the ratio
# vcscope / ceiling (the ratio the targets are stated in; the libpcap-based
# reference is slower than the ceiling, so its ratio flatters vcscope). With --callgrind it also counts instructions per
# packet with valgrind on the first --callgrind-packets packets (default
# 100000) of the workload, which is stable on a noisy machine, and keeps the
# callgrind output files in DIR for callgrind_annotate.
#
# With --threads T it also runs `vcscope read FILE --threads T` (the
# reading thread, which analyses a share of the flows, and T-1 workers),
# checks that its report is byte-identical to the one-thread report, and
# prints the speedup; with --callgrind, the instructions of each thread
# (valgrind serialises threads, so this is the work, not the wall time).
#
# With --flood FLOWS (repeatable; none by default) it also generates the
# flow-heavy load (../shared/bench/gen_flood_pcap.py --flows FLOWS
# --per-second 100: one-packet UDP flows) and compares
# `vcscope read FILE --format ndjson -o OUT` with the ceiling the same way;
# with --callgrind, instructions per packet on each flood file too (a small
# flood ends with most of its flows live; 800k flows at 100 a second is a
# sensor's steady state, flows ending all along).
#
# Environment: CARGO_TARGET_DIR (default: target/), PYTHON (default python3).
set -euo pipefail
exec </dev/null

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${VCSCOPE_SHARED:-$ROOT/../shared}
DATA=$ROOT/bench-data
PACKETS=()
RUNS=3
CALLGRIND=0
CG_PACKETS=100000
THREADS=1
FLOODS=()
PYTHON=${PYTHON:-python3}

usage() {
    sed -n '2,46p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

while [ $# -gt 0 ]; do
    case "$1" in
        --packets) PACKETS+=("$2"); shift 2 ;;
        --runs) RUNS=$2; shift 2 ;;
        --callgrind) CALLGRIND=1; shift ;;
        --callgrind-packets) CG_PACKETS=$2; shift 2 ;;
        --threads) THREADS=$2; shift 2 ;;
        --flood) FLOODS+=("$2"); shift 2 ;;
        --data) DATA=$2; shift 2 ;;
        --shared) SHARED=$2; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "bench.sh: unknown argument $1" >&2; usage 2 ;;
    esac
done
[ ${#PACKETS[@]} -gt 0 ] || PACKETS=(200000 1000000)

GEN=$SHARED/bench/gen_vc_pcap.py
if [ ! -f "$GEN" ]; then
    echo "bench.sh: $GEN not found (set --shared DIR or VCSCOPE_SHARED)" >&2
    exit 2
fi
if [ ! -x /usr/bin/time ]; then
    echo "bench.sh: /usr/bin/time missing; install it (apt-get install time)" >&2
    exit 2
fi
if [ "$CALLGRIND" = 1 ] && ! command -v valgrind >/dev/null; then
    echo "bench.sh: valgrind missing; install it (apt-get install valgrind)" >&2
    exit 2
fi
mkdir -p "$DATA"

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
REF_TARGET=$TARGET/reference
CEIL_TARGET=$TARGET/ceiling
CEILING_SRC=$SHARED/bench/ceiling
if [ ! -f "$CEILING_SRC/Cargo.toml" ]; then
    echo "bench.sh: $CEILING_SRC not found (set --shared DIR or VCSCOPE_SHARED)" >&2
    exit 2
fi
echo "== build (release)"
(cd "$ROOT" && CARGO_TARGET_DIR=$TARGET cargo build --release --quiet --bin vcscope)
CARGO_TARGET_DIR=$REF_TARGET cargo build --release --quiet \
    --manifest-path "$ROOT/benches/reference/Cargo.toml"
CARGO_TARGET_DIR=$CEIL_TARGET cargo build --release --quiet \
    --manifest-path "$CEILING_SRC/Cargo.toml"
VCSCOPE=$TARGET/release/vcscope
REFERENCE=$REF_TARGET/release/reference-reader
CEILING=$(find "$CEIL_TARGET/release" -maxdepth 1 -type f -perm -u+x -name 'ceiling*' | head -1)

gen() { # gen N -> path of the workload with N packets
    local f=$DATA/vc_$1.pcap
    if [ ! -s "$f" ]; then
        echo "== generate $1 packets -> $f" >&2
        "$PYTHON" "$GEN" --packets "$1" --seed 1 --out "$f" >/dev/null
    fi
    echo "$f"
}

gen_flood() { # gen_flood FLOWS -> path of the flood load with FLOWS flows
    local f=$DATA/flood_$1.pcap
    if [ ! -s "$f" ]; then
        echo "== generate a flood of $1 flows -> $f" >&2
        "$PYTHON" "$SHARED/bench/gen_flood_pcap.py" --flows "$1" --per-second 100 >"$f"
    fi
    echo "$f"
}

# once KEY CMD... : runs CMD once under /usr/bin/time -v, keeping the best
# wall time (ms, measured around it) in BEST[KEY] and the largest peak RSS
# (KiB) in RSS[KEY]. The programs compared are run in turn, round after
# round (`rounds`), so that a change of load on a shared machine falls on
# all of them alike.
declare -A BEST RSS
once() {
    local key=$1 log start end ms kib
    shift
    log=$(mktemp)
    start=$(date +%s%N)
    /usr/bin/time -v -o "$log" "$@" >/dev/null
    end=$(date +%s%N)
    ms=$(((end - start) / 1000000))
    kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    rm -f "$log"
    if [ -z "${BEST[$key]:-}" ] || [ "$ms" -lt "${BEST[$key]}" ]; then BEST[$key]=$ms; fi
    if [ "$kib" -gt "${RSS[$key]:-0}" ]; then RSS[$key]=$kib; fi
}

# secs KEY: the best wall time of KEY in seconds.
secs() {
    awk -v ms="${BEST[$1]}" 'BEGIN { printf "%.3f", ms / 1000 }'
}

row() { # row NAME PACKETS BYTES SECS RSS_KIB
    awk -v n="$1" -v p="$2" -v b="$3" -v s="$4" -v r="$5" 'BEGIN {
        if (s <= 0) s = 0.005
        printf "  %-28s %8.2f s %10.0f pkt/s %7.2f Gbit/s %8.1f MiB\n", n, s, p/s, b*8/s/1e9, r/1024 }'
}

for N in "${PACKETS[@]}"; do
    F=$(gen "$N")
    cat "$F" >/dev/null # page cache
    BYTES=$(stat -L -c %s "$F")
    OUT=$DATA/vc_$N.report.json
    echo "== $N packets ($F, $BYTES bytes), best of $RUNS rounds, $(nproc) cores, $(date -u +%F)"
    OUT_T=$DATA/vc_$N.report.threads$THREADS.json
    BEST=() RSS=()
    for _ in $(seq "$RUNS"); do
        once vc "$VCSCOPE" read "$F" --format json -o "$OUT"
        once ceil "$CEILING" parse "$F"
        once ref "$REFERENCE" "$F"
        once read "$REFERENCE" --read-only "$F"
        if [ "$THREADS" -gt 1 ]; then
            once th "$VCSCOPE" read "$F" --format json -o "$OUT_T" --threads "$THREADS"
        fi
    done
    t_vc=$(secs vc) t_ceil=$(secs ceil) t_ref=$(secs ref)
    row "vcscope read --format json" "$N" "$BYTES" "$t_vc" "${RSS[vc]}"
    row "ceiling parse" "$N" "$BYTES" "$t_ceil" "${RSS[ceil]}"
    row "reference (etherparse+map)" "$N" "$BYTES" "$t_ref" "${RSS[ref]}"
    row "libpcap read only" "$N" "$BYTES" "$(secs read)" "${RSS[read]}"
    awk -v a="$t_vc" -v b="$t_ceil" 'BEGIN { if (b <= 0) b = 0.005; printf "  ratio vcscope/ceiling: %.2f (target <= 2.0)\n", a/b }'
    awk -v a="$t_vc" -v b="$t_ref" 'BEGIN { if (b <= 0) b = 0.005; printf "  ratio vcscope/reference: %.2f\n", a/b }'
    if [ "$THREADS" -gt 1 ]; then
        t_th=$(secs th)
        row "vcscope --threads $THREADS" "$N" "$BYTES" "$t_th" "${RSS[th]}"
        if cmp -s "$OUT" "$OUT_T"; then same="identical"; else same="DIFFERENT"; fi
        awk -v a="$t_vc" -v b="$t_th" -v t="$THREADS" -v s="$same" 'BEGIN { if (b <= 0) b = 0.005; printf "  speedup --threads %d: %.2f (target >= 1.5 at 2); report %s to one thread'"'"'s\n", t, a/b, s }'
        [ "$same" = identical ] || exit 1
    fi
done

if [ "$CALLGRIND" = 1 ]; then
    F=$(gen "${PACKETS[0]}")
    PREFIX=$DATA/vc_prefix_$CG_PACKETS.pcap
    if [ ! -s "$PREFIX" ]; then
        # A prefix of the same workload: the first CG_PACKETS records.
        "$PYTHON" - "$F" "$PREFIX" "$CG_PACKETS" <<'EOF'
import struct, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(src, "rb") as f, open(dst, "wb") as o:
    head = f.read(24)
    endian = "<" if head[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    o.write(head)
    for _ in range(n):
        rec = f.read(16)
        if len(rec) < 16:
            break
        incl = struct.unpack(endian + "IIII", rec)[2]
        o.write(rec + f.read(incl))
EOF
    fi
    echo "== callgrind, first $CG_PACKETS packets ($PREFIX)"
    for what in vcscope ceiling reference; do
        cg=$DATA/callgrind.$what.$CG_PACKETS.out
        if [ "$what" = vcscope ]; then
            cmd=("$VCSCOPE" read "$PREFIX" --format json -o "$DATA/vc_prefix.report.json")
        elif [ "$what" = ceiling ]; then
            cmd=("$CEILING" parse "$PREFIX")
        else
            cmd=("$REFERENCE" "$PREFIX")
        fi
        valgrind --tool=callgrind --callgrind-out-file="$cg" "${cmd[@]}" >/dev/null 2>"$cg.log"
        ir=$(awk '/Collected :/ {print $NF}' "$cg.log")
        awk -v w="$what" -v ir="$ir" -v n="$CG_PACKETS" \
            'BEGIN { printf "  %-10s %14d instructions  %8.0f per packet\n", w, ir, ir/n }'
    done
    echo "  inspect: callgrind_annotate --inclusive=yes $DATA/callgrind.vcscope.$CG_PACKETS.out | head -60"
    if [ "$THREADS" -gt 1 ]; then
        cg=$DATA/callgrind.threads$THREADS.$CG_PACKETS.out
        rm -f "$cg" "$cg"-*
        valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$cg" \
            "$VCSCOPE" read "$PREFIX" --format json -o "$DATA/vc_prefix.threads.json" \
            --threads "$THREADS" >/dev/null 2>"$cg.log"
        # Thread 1 reads, decodes, analyses its share of the flows and
        # writes the report; the others are the workers (and the report's
        # helper threads, which reuse their slots).
        for f in "$cg"-*; do
            ir=$(awk '/^summary:/ {print $2; exit}' "$f")
            awk -v w="thread ${f##*-}" -v ir="$ir" -v n="$CG_PACKETS" \
                'BEGIN { printf "  %-10s %14d instructions  %8.0f per packet\n", w, ir, ir/n }'
        done
    fi
fi

for N in "${FLOODS[@]}"; do
    F=$(gen_flood "$N")
    cat "$F" >/dev/null # page cache
    BYTES=$(stat -L -c %s "$F")
    echo "== flood of $N one-packet flows ($F, $BYTES bytes), best of $RUNS rounds, $(nproc) cores, $(date -u +%F)"
    BEST=() RSS=()
    for _ in $(seq "$RUNS"); do
        once vc "$VCSCOPE" read "$F" --format ndjson -o "$DATA/flood_$N.report.ndjson"
        once ceil "$CEILING" parse "$F"
    done
    t_vc=$(secs vc) t_ceil=$(secs ceil)
    row "vcscope read --format ndjson" "$N" "$BYTES" "$t_vc" "${RSS[vc]}"
    row "ceiling parse" "$N" "$BYTES" "$t_ceil" "${RSS[ceil]}"
    awk -v a="$t_vc" -v b="$t_ceil" 'BEGIN { if (b <= 0) b = 0.005; printf "  ratio vcscope/ceiling: %.2f (target <= 3.0)\n", a/b }'
done

if [ "$CALLGRIND" = 1 ]; then
    for N in "${FLOODS[@]}"; do
        F=$(gen_flood "$N")
        echo "== callgrind, flood of $N flows ($F)"
        for what in vcscope ceiling; do
            cg=$DATA/callgrind.flood$N.$what.out
            if [ "$what" = vcscope ]; then
                cmd=("$VCSCOPE" read "$F" --format ndjson -o "$DATA/flood_$N.report.ndjson")
            else
                cmd=("$CEILING" parse "$F")
            fi
            valgrind --tool=callgrind --callgrind-out-file="$cg" "${cmd[@]}" >/dev/null 2>"$cg.log"
            ir=$(awk '/Collected :/ {print $NF}' "$cg.log")
            awk -v w="$what" -v ir="$ir" -v n="$N" \
                'BEGIN { printf "  %-10s %14d instructions  %8.0f per packet\n", w, ir, ir/n }'
        done
    done
fi

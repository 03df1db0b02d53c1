#!/usr/bin/env bash
# Builds the fuzz targets of fuzz and runs each for a bounded time,
# seeded from the fixtures. Crashes are left in fuzz/artifacts/<target>/;
# see fuzz/README.md for turning one into a regression fixture.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 120); TARGETs default to every [[bin]] of
# fuzz/Cargo.toml. Needs cargo-fuzz (`cargo install cargo-fuzz`),
# python3 (seed extraction) and, for pcapng fixtures, editcap (Wireshark).
# A stable toolchain works through RUSTC_BOOTSTRAP=1; a nightly one as is.
# Environment: FUZZ_JOBS (parallel jobs per target, default 1),
# FUZZ_RSS_MB (libFuzzer -rss_limit_mb, default 2048), FUZZ_TARGET_DIR (cargo
# target directory, default fuzz/target).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-120}
shift || true
FUZZ=$ROOT/fuzz
CORPUS=$FUZZ/corpus
export RUSTC_BOOTSTRAP=${RUSTC_BOOTSTRAP:-1}

if [ $# -gt 0 ]; then
    TARGETS=("$@")
else
    mapfile -t TARGETS < <(sed -n 's/^name = "\(.*\)"$/\1/p' "$FUZZ/Cargo.toml" | grep -v '^vcscope-fuzz$')
fi

command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz missing: cargo install cargo-fuzz" >&2; exit 2; }

# ---- seeds -------------------------------------------------------------
# Dissector targets: every payload fixture, plus the UDP/TCP payloads of the
# fixture captures. The analyzer target: single frames, and whole captures in
# its sequence format ([link byte] then len16 || frame per record).
SEEDS=$(mktemp -d)
trap 'rm -rf "$SEEDS"' EXIT
mkdir -p "$SEEDS/pcap"
for f in "$ROOT"/fixtures/pcap/*.pcap "$ROOT"/fixtures/pcap/*.pcapng; do
    [ -e "$f" ] || continue
    out="$SEEDS/pcap/$(basename "$f").pcap"
    case "$f" in
        *.pcapng) editcap -F pcap "$f" "$out" 2>/dev/null || continue ;;
        *) cp "$f" "$out" ;;
    esac
done
python3 - "$SEEDS" "$ROOT/fixtures/payloads" <<'EOF'
import hashlib, os, struct, sys
seeds, payloads = sys.argv[1], sys.argv[2]
os.makedirs(f"{seeds}/payload", exist_ok=True)
os.makedirs(f"{seeds}/analyzer", exist_ok=True)

def save(kind, data):
    name = hashlib.sha1(data).hexdigest()
    with open(f"{seeds}/{kind}/{name}", "wb") as fh:
        fh.write(data)

for d, _, files in os.walk(payloads):
    for n in files:
        if n.endswith(".bin"):
            save("payload", open(os.path.join(d, n), "rb").read())

# DLT -> link index of the analyzer target.
LINK = {1: 0, 101: 1, 12: 1, 14: 1, 228: 1, 229: 1, 113: 2, 276: 3, 0: 4, 108: 5, 9: 6, 50: 6}

def records(path):
    b = open(path, "rb").read()
    if len(b) < 24:
        return None, []
    magic = b[:4]
    e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    dlt = struct.unpack(e + "I", b[20:24])[0] & 0xFFFF
    out, at = [], 24
    while at + 16 <= len(b):
        caplen = struct.unpack(e + "I", b[at + 8:at + 12])[0]
        out.append(b[at + 16:at + 16 + caplen])
        at += 16 + caplen
    return dlt, out

def l4_payload(frame, dlt):
    # Ethernet (with VLAN tags) or raw IP; IPv4/IPv6, then UDP/TCP.
    if dlt == 1:
        off, et = 14, frame[12:14]
        while et in (b"\x81\x00", b"\x88\xa8") and len(frame) >= off + 4:
            et, off = frame[off + 2:off + 4], off + 4
        if et not in (b"\x08\x00", b"\x86\xdd"):
            return None
    elif LINK.get(dlt) == 1:
        off = 0
    else:
        return None
    ip = frame[off:]
    if not ip:
        return None
    if ip[0] >> 4 == 4:
        if len(ip) < 20:
            return None
        proto, l4 = ip[9], ip[(ip[0] & 15) * 4:]
    elif ip[0] >> 4 == 6 and len(ip) >= 40:
        proto, l4 = ip[6], ip[40:]
    else:
        return None
    if proto == 17 and len(l4) > 8:
        return l4[8:]
    if proto == 6 and len(l4) >= 20:
        return l4[(l4[12] >> 4) * 4:] or None
    return None

for n in sorted(os.listdir(f"{seeds}/pcap")):
    dlt, recs = records(f"{seeds}/pcap/{n}")
    if dlt is None or dlt not in LINK:
        continue
    seen = set()
    for r in recs:
        p = l4_payload(r, dlt)
        if p and p[:8] not in seen and len(seen) < 64:
            seen.add(p[:8])
            save("payload", p)
    if dlt == 1:
        for r in recs[:16]:
            save("analyzer", r)
    # Whole captures in the sequence format, cut at 64 KiB.
    seq = bytearray([LINK[dlt] | (1 << 3)])
    for r in recs:
        r = r[:0xFFFF]
        if len(seq) + 2 + len(r) > 65536:
            break
        seq += struct.pack(">H", len(r)) + r
    save("analyzer", bytes(seq))
EOF

cd "$FUZZ"
TD=()
if [ -n "${FUZZ_TARGET_DIR:-}" ]; then
    TD=(--target-dir "$FUZZ_TARGET_DIR")
fi
for t in "${TARGETS[@]}"; do
    cargo fuzz build "${TD[@]}" "$t"
done

status=0
for t in "${TARGETS[@]}"; do
    mkdir -p "$CORPUS/$t"
    if [ "$t" = analyzer ] || [ "$t" = sharded ]; then
        cp -n "$SEEDS"/analyzer/* "$CORPUS/$t/" 2>/dev/null || true
    elif [ "$t" = pcapfile ]; then
        # The fixture captures themselves (pcap and pcapng), cut at 64 KiB.
        for f in "$ROOT"/fixtures/pcap/*.pcap "$ROOT"/fixtures/pcap/*.pcapng; do
            [ -e "$f" ] && head -c 65536 "$f" >"$CORPUS/$t/$(basename "$f")"
        done
    else
        cp -n "$SEEDS"/payload/* "$CORPUS/$t/" 2>/dev/null || true
    fi
    mkdir -p "$FUZZ/artifacts"
    echo "== $t: ${SECS}s, $(ls "$CORPUS/$t" | wc -l) inputs in corpus"
    jobs=()
    if [ "${FUZZ_JOBS:-1}" -gt 1 ]; then
        jobs=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
    fi
    if ! cargo fuzz run "${TD[@]}" "$t" "$CORPUS/$t" -- \
        -max_total_time="$SECS" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -timeout=10 \
        -max_len=65536 -print_final_stats=1 "${jobs[@]}" \
        >"$FUZZ/artifacts/$t.log" 2>&1; then
        echo "   $t FAILED: see $FUZZ/artifacts/$t.log and fuzz/artifacts/$t/"
        status=1
    fi
    grep -E '^(#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::peak_rss_mb)' "$FUZZ/artifacts/$t.log" | tail -n 3 || true
done
exit $status

#!/usr/bin/env bash
# Loads vcscope NDJSON records into the tables of docs/clickhouse.sql.
#
#   scripts/clickhouse-load.sh [CLIENT-OPTION... --] FILE...
#
# FILE is an NDJSON file written by `vcscope ... --format ndjson` (or - for
# standard input). Arguments before a -- go to clickhouse-client, e.g.
# --host db --port 9000 --user u --password p; the client is
# $CLICKHOUSE_CLIENT, else clickhouse-client. Each record goes to the table
# of its type (flow -> vcscope.flows, call -> calls, call_quality ->
# call_quality, relay -> relays, leak -> leaks, interval -> intervals); summary records, which hold the run's
# totals and limits, are not loaded. Load a rotated file once it is closed:
# a file is inserted type by type, and a record is never split.
set -euo pipefail

client=("${CLICKHOUSE_CLIENT:-clickhouse-client}")
for arg in "$@"; do
  if [ "$arg" = -- ]; then
    while [ "$1" != -- ]; do client+=("$1"); shift; done
    shift
    break
  fi
done
if ((!$#)); then
  echo "usage: $0 [clickhouse-client option... --] FILE.ndjson... (- for stdin)" >&2
  exit 2
fi

declare -A table=([flow]=flows [call]=calls [call_quality]=call_quality [relay]=relays [leak]=leaks [interval]=intervals)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

for file in "$@"; do
  if [ "$file" != - ] && [ ! -r "$file" ]; then
    echo "clickhouse-load: cannot read $file" >&2
    exit 1
  fi
  rm -f "$dir"/*
  # The type is the record's first key ({"type":"flow",...}).
  awk -v dir="$dir" '
    match($0, /^\{"type":"[a-z_]+"/) {
      t = substr($0, 10, RLENGTH - 10)
      if (t == "flow" || t == "call" || t == "call_quality" || t == "relay" || t == "leak" || t == "interval") {
        print > (dir "/" t)
        next
      }
      if (t != "summary") unknown++
      next
    }
    NF { unknown++ }
    END { if (unknown) printf "clickhouse-load: %d lines of no known record type skipped\n", unknown > "/dev/stderr" }
  ' "$file"
  for t in flow call call_quality relay leak interval; do
    [ -s "$dir/$t" ] || continue
    "${client[@]}" \
      --input_format_skip_unknown_fields=1 \
      --input_format_import_nested_json=1 \
      --query "INSERT INTO vcscope.${table[$t]} FORMAT JSONEachRow" <"$dir/$t"
  done
done

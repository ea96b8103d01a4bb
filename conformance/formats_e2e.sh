#!/usr/bin/env bash
# The output-format checks of issue 18 on SQLite and on PostgreSQL: a Felis table of every
# datatype and opencadc's alldatatypes fixture (formats_fixture.py) published with
# `vogate schema load` and `vogate load`, then every format read back by astropy, pyarrow,
# votlint and TOPCAT's reader (formats_check.py), then `stilts taplint` in every stage but
# LOC (no registry), UPL (issue 19) and EXA (issue 19): 0 errors and 0 warnings asked.
# Usage: conformance/formats_e2e.sh VOGATE_BINARY SHARED PYTHON PG_SERVER_URL
set -euo pipefail
bin=$1 shared=$2 py=$3 pg=$4
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/vogate-formats.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$py" "$here/formats_fixture.py" "$work" "$shared"
psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS vogate_formats_e2e WITH (FORCE)" -c "CREATE DATABASE vogate_formats_e2e"
failed=0
for backend in sqlite postgres; do
  case $backend in
    sqlite) db="sqlite:$work/types.db" port=18461 rows="$work/alltypes-sqlite.csv" ;;
    postgres) db="$pg/vogate_formats_e2e" port=18462 rows="$work/alltypes.csv" ;;
  esac
  "$bin" schema load --db "$db" "$work/types.yaml" > /dev/null
  cp "$rows" "$work/alltypes-load.csv"
  "$bin" load --db "$db" vogate_types.alltypes "$work/alltypes-load.csv"
  "$bin" load --db "$db" vogate_types.cadc_alldatatypes "$work/cadc_alldatatypes.csv"
  "$bin" serve --db "$db" --data "$shared/data/fits" --workdir "$work/w-$backend" \
    --bind "127.0.0.1:$port" > "$work/serve-$backend.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 240); do
    curl -fs "http://127.0.0.1:$port/obscore/status" 2>/dev/null | grep -q '"scans":[1-9]' && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/serve-$backend.log"; exit 1; }
    sleep 0.5
  done
  mkdir -p "$work/out-$backend"
  echo "== formats on $backend"
  "$py" "$here/formats_check.py" "http://127.0.0.1:$port/tap" "$work/out-$backend" \
    vogate_types.alltypes vogate_types.cadc_alldatatypes || failed=1

  echo "== taplint on $backend (every stage but LOC, UPL, EXA)"
  stilts taplint tapurl="http://127.0.0.1:$port/tap" \
    stages='-LOC -UPL -EXA' report=EWF maxrepeat=5 \
    > "$work/taplint-$backend.txt" 2>&1 || true
  grep -E '^(E|W|F)-' "$work/taplint-$backend.txt" | head -40 || true
  totals=$(grep -E '^Totals:' "$work/taplint-$backend.txt" || echo "Totals: missing")
  echo "taplint ($backend): $totals"
  case "$totals" in
    "Totals: Errors: 0; Warnings: 0;"*) echo "taplint $backend: 1 passed, 0 failed" ;;
    *) echo "taplint $backend: 0 passed, 1 failed"; failed=1 ;;
  esac
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done
exit $failed

#!/usr/bin/env bash
# The Felis checks of CI: Felis itself (PyPI lsst-felis) as the oracle of `vogate schema
# check` over the corpus and mutated copies (felis_oracle.py), then the DP0.2 catalog schema
# published with `vogate schema load` on SQLite and on PostgreSQL and checked by
# `stilts taplint` stages TME TMS TMC MDQ (its Totals line decides: it exits 0 on errors).
# Usage: conformance/felis_e2e.sh VOGATE_BINARY FELIS_CORPUS PYTHON PG_SERVER_URL
set -euo pipefail
bin=$1 corpus=$2 py=$3 pg=$4
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/vogate-felis.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$py" "$here/felis_oracle.py" "$bin" "$corpus" 2>/dev/null | tail -20

psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS vogate_felis_e2e WITH (FORCE)" -c "CREATE DATABASE vogate_felis_e2e"
for backend in sqlite postgres; do
  case $backend in
    sqlite) db="sqlite:$work/dp02.db" port=18451 ;;
    postgres) db="$pg/vogate_felis_e2e" port=18452 ;;
  esac
  "$bin" schema load --db "$db" "$corpus/sdm_schemas/dp02_dc2.yaml"
  "$bin" schema load --db "$db" "$corpus/sdm_schemas/dp02_dc2.yaml" | grep -q "nothing changed"
  "$bin" serve --db "$db" --workdir "$work/w-$backend" --bind "127.0.0.1:$port" > "$work/serve-$backend.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$port/obscore/status" 2>/dev/null | grep -q '"scans":[1-9]' && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/serve-$backend.log"; exit 1; }
    sleep 0.5
  done
  stilts taplint tapurl="http://127.0.0.1:$port/tap" stages='TME TMS TMC MDQ' report=EW maxrepeat=5 > "$work/taplint-$backend.txt" 2>&1 || true
  grep -E '^(E|W)-' "$work/taplint-$backend.txt" | head -30 || true
  totals=$(grep -E '^Totals:' "$work/taplint-$backend.txt" || echo "Totals: missing")
  echo "taplint on dp02_dc2 ($backend, TME TMS TMC MDQ): $totals"
  case "$totals" in
    "Totals: Errors: 0;"*) echo "felis taplint $backend: 1 passed, 0 failed" ;;
    *) tail -20 "$work/taplint-$backend.txt"; echo "felis taplint $backend: 0 passed, 1 failed"; exit 1 ;;
  esac
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
done

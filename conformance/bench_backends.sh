#!/usr/bin/env bash
# The backend benchmarks of the PostgreSQL issue, SQLite and PostgreSQL side by side in one run,
# on N (default 1000000) generated ObsCore rows (examples/bench_server.rs):
#  - a cone search of radius 0.1 deg through /tap/sync, one connection for DURATION seconds
#    (default 20) with wrk: latency p50/p99 (wrk --latency), and the query plan;
#  - the same for a footprint query, INTERSECTS(s_region, CIRCLE(... 0.1)) = 1;
#  - SELECT * FROM ivoa.ObsCore as TABLEDATA (MAXREC 1000000): rows/s, and the server's RSS
#    sampled every 20 ms (peak minus idle).
# Needs PostgreSQL with pgSphere at $VOGATE_BENCH_PG (default postgres://postgres@127.0.0.1:5432);
# the database vogate_bench is dropped and made anew.
# Usage: conformance/bench_backends.sh [N] [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000} duration=${2:-20}
pgserver=${VOGATE_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/vogate-target}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -p vogate --example bench_server -q
work=$(mktemp -d /tmp/vogate-bench.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
psql "$pgserver/postgres" -qc "DROP DATABASE IF EXISTS vogate_bench" -c "CREATE DATABASE vogate_bench"

enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
star="SELECT * FROM ivoa.ObsCore"

rss() { awk '/^VmRSS/ {print $2}' /proc/$1/status; }

# measure NAME ADQL: rows found, the plan of the SQL the server ran (from its debug log),
# and the latency distribution over $duration seconds. Uses $base, $backend, $db, $work.
measure() {
  local name=$1 adql=$2 sql
  echo "$name rows: $(curl -fsS "$base$(enc "$adql")" | grep -c '<TR>' || true)"
  sql=$(grep -o 'running sql=.*' "$work/log-$backend" | tail -1 | sed 's/^running sql=//')
  echo "-- plan of: $sql"
  if [ "$backend" = postgres ]; then
    psql "$db" -c "SET ROLE vogate_reader" -c "EXPLAIN ANALYZE $sql"
  else
    python3 - "$work/bench.db" "$sql" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for name, n in [("vogate_contains_pc", 5), ("vogate_contains_pr", 3), ("vogate_intersects_rc", 4), ("vogate_intersects_rr", 2), ("vogate_distance", 4)]:
    c.create_function(name, n, lambda *a: 1)
for row in c.execute("EXPLAIN QUERY PLAN " + sys.argv[2]):
    print(row)
PY
  fi
  echo "-- $name latency"
  wrk -t1 -c1 -d"${duration}s" --latency "$base$(enc "$adql")" | sed -n '/Latency Distribution/,/Requests\/sec/p'
}

for backend in sqlite postgres; do
  case $backend in
    sqlite) db="sqlite:$work/bench.db" port=18571 ;;
    postgres) db="$pgserver/vogate_bench" port=18572 ;;
  esac
  echo "=================== $backend ($n rows)"
  RUST_LOG=warn,vo_tap=debug "$CARGO_TARGET_DIR/release/examples/bench_server" "$db" "$n" "127.0.0.1:$port" "$work/w-$backend" 2>"$work/log-$backend" &
  pid=$!
  for _ in $(seq 1 1200); do grep -q listening "$work/log-$backend" && break; sleep 0.5; done
  grep loaded "$work/log-$backend"
  base="http://127.0.0.1:$port/tap/sync?LANG=ADQL&MAXREC=1000000&QUERY="
  # The cone is centred 0.05 deg from a generated row, so that it finds at least that one.
  pos=$(curl -fsS "${base}$(enc "SELECT s_ra, s_dec FROM ivoa.ObsCore WHERE obs_id = 'gen/0000042.fits'")&RESPONSEFORMAT=csv" | tail -1 | tr -d '\r')
  ra=$(python3 -c "print(round(float('${pos%,*}'), 6))") dec=$(python3 -c "print(round(float('${pos#*,}') + 0.05, 6))")
  cone="SELECT obs_id, s_ra, s_dec FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', $ra, $dec, 0.1)) = 1"
  measure cone "$cone"
  foot="SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(s_region, CIRCLE('ICRS', $ra, $dec, 0.1)) = 1"
  measure footprint "$foot"
  idle=$(rss $pid); peak=$idle
  ( while kill -0 $pid 2>/dev/null; do rss $pid; sleep 0.02; done ) > "$work/rss-$backend" &
  sampler=$!
  t=$(curl -fsS -o "$work/star.xml" -w '%{time_total}' "$base$(enc "$star")")
  kill $sampler 2>/dev/null || true
  peak=$(sort -n "$work/rss-$backend" | tail -1)
  rows=$(grep -c '<TR>' "$work/star.xml" || true)
  echo "-- SELECT *: $rows rows, $(stat -c %s "$work/star.xml") bytes in $t s: $(python3 -c "print(round($rows/$t))") rows/s; RSS idle ${idle} kB, peak ${peak} kB, +$(( (peak-idle)/1024 )) MB"
  tail -c 300 "$work/star.xml" | grep -o 'QUERY_STATUS" value="[A-Z]*"' || true
  kill $pid; wait $pid 2>/dev/null || true; pid=
done

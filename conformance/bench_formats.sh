#!/usr/bin/env bash
# Issue 18's format benchmark, SQLite and PostgreSQL side by side in one run: SELECT * FROM
# ivoa.ObsCore of N (default 1000000) generated rows (examples/bench_server.rs, as
# bench_backends.sh) downloaded through /tap/sync in every format, the text formats also
# gzipped (Accept-Encoding: gzip, bytes counted as sent): rows/s, MB/s on the wire, and the
# server's RSS sampled every 20 ms (peak minus idle); and first the backend's raw row rate:
# the same query read from the backend into nothing (bench_server's /bench/raw), to which
# each format's rate is compared (BINARY2's target: 70 %). Not run in CI (minutes).
# Needs PostgreSQL with pgSphere at $VOGATE_BENCH_PG (default postgres://postgres@127.0.0.1:5432);
# the database vogate_bench_formats is dropped and made anew.
# Last, on SQLite, TOP 5 under 50 connections (wrk -t1): requests/s and latency.
# Usage: [BACKENDS="sqlite postgres"] [WRK_SECONDS=20] conformance/bench_formats.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
pgserver=${VOGATE_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/vogate-target}
cargo build --release -p vogate --example bench_server -q
work=$(mktemp -d /tmp/vogate-bench-formats.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
psql "$pgserver/postgres" -qc "DROP DATABASE IF EXISTS vogate_bench_formats" -c "CREATE DATABASE vogate_bench_formats"
rss() { awk '/^VmRSS/ {print $2}' /proc/$1/status; }
query=$(python3 -c 'import urllib.parse; print(urllib.parse.quote("SELECT * FROM ivoa.ObsCore"))')

for backend in ${BACKENDS:-sqlite postgres}; do
  case $backend in
    sqlite) db="sqlite:$work/bench.db" port=18581 ;;
    postgres) db="$pgserver/vogate_bench_formats" port=18582 ;;
  esac
  echo "=================== $backend ($n rows)"
  RUST_LOG=warn "$CARGO_TARGET_DIR/release/examples/bench_server" "$db" "$n" "127.0.0.1:$port" "$work/w-$backend" 2>"$work/log-$backend" &
  pid=$!
  for _ in $(seq 1 1200); do grep -q listening "$work/log-$backend" && break; sleep 0.5; done
  base="http://127.0.0.1:$port/tap/sync?LANG=ADQL&MAXREC=$n&QUERY=$query&RESPONSEFORMAT="
  # Twice: the first read also brings the table into the page cache, as no later one does.
  curl -fsS -o /dev/null "http://127.0.0.1:$port/bench/raw?LANG=ADQL&MAXREC=$n&QUERY=$query"
  raw=$(curl -fsS "http://127.0.0.1:$port/bench/raw?LANG=ADQL&MAXREC=$n&QUERY=$query")
  rawrate=$(python3 -c "import json; d = json.loads('$raw'); print(d['rows'] / d['seconds'])")
  printf '%-12s %-5s %10s %10s %9s %12s %8s\n' format gzip seconds rows/s MB/s "peak RSS+MB" "of raw"
  python3 -c "
import json; d = json.loads('$raw')
print('%-12s %-5s %10.2f %10.0f %9s %12s %8s' % ('raw (none)', '-', d['seconds'], d['rows'] / d['seconds'], '-', '-', '100%'))"
  for f in votable/td votable/b2 votable/b json csv tsv parquet fits; do
    for gz in no yes; do
      case $f in votable/b2|votable/b|parquet|fits) [ $gz = yes ] && continue ;; esac
      hdr=()
      [ $gz = yes ] && hdr=(-H "Accept-Encoding: gzip")
      idle=$(rss $pid)
      ( while kill -0 $pid 2>/dev/null; do rss $pid; sleep 0.02; done ) > "$work/rss" &
      sampler=$!
      read -r t bytes < <(curl -fsS "${hdr[@]}" -o /dev/null -w '%{time_total} %{size_download}\n' "$base$f")
      kill $sampler 2>/dev/null || true; wait $sampler 2>/dev/null || true
      peak=$(sort -n "$work/rss" | tail -1)
      python3 -c "
t, b, n = $t, $bytes, $n
print(f'%-12s %-5s %10.2f %10.0f %9.1f %12.1f %7.0f%%' % ('$f', '$gz', t, n / t, b / t / 1e6, ($peak - $idle) / 1024, 100 * n / t / $rawrate))"
    done
  done
  if [ "$backend" = sqlite ]; then
    # Small queries under load: TOP 5 from 50 connections on one wrk thread (no result cache
    # in vogate: every request is parsed, run and written). Target: 10,000 requests/s.
    top5=$(python3 -c 'import urllib.parse; print(urllib.parse.quote("SELECT TOP 5 * FROM ivoa.ObsCore"))')
    echo "TOP 5, 50 connections, wrk -t1 -d${WRK_SECONDS:-20}s:"
    wrk -t1 -c50 -d"${WRK_SECONDS:-20}s" --latency "http://127.0.0.1:$port/tap/sync?LANG=ADQL&QUERY=$top5" \
      | sed -n '/Latency Distribution/,/Transfer/p'
  fi
  kill $pid; wait $pid 2>/dev/null || true; pid=
done

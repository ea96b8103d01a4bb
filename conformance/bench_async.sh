#!/usr/bin/env bash
# TAP async side by side: the UWS cycle (create, run, WAIT, fetch, delete) of a TOP 5 query,
# p50/p90/p99 over JOBS jobs, and a burst of BURST jobs at once, with the same client
# (examples/bench_async.rs) against vogate on SQLite, vogate on PostgreSQL and, when it
# answers on 127.0.0.1:8090, the DaCHS peer (../shared/peers/dachs-peer.sh all; fitsdata).
# vogate serves ../shared/data/fits with its default pool of 4 workers.
# Usage: conformance/bench_async.sh [JOBS] [BURST] [DACHS_JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${1:-1000} burst=${2:-200} dachs_jobs=${3:-$jobs}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/vogate-target}
pg=${VOGATE_TEST_PG:-postgres://postgres@127.0.0.1:5432}
data=${VOGATE_SHARED:-$(cd .. && pwd)/shared}/data/fits
cargo build --release -q -p vogate --bin vogate --example bench_async
bin=$CARGO_TARGET_DIR/release
work=$(mktemp -d /tmp/vogate-bench-async.XXXXXX)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT
psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS vogate_bench_async WITH (FORCE)" -c "CREATE DATABASE vogate_bench_async"
"$bin/vogate" serve --workdir "$work/lite" --data "$data" --bind 127.0.0.1:18601 > "$work/lite.log" 2>&1 & pids+=($!)
"$bin/vogate" serve --workdir "$work/pg" --data "$data" --db "$pg/vogate_bench_async" --bind 127.0.0.1:18602 > "$work/pg.log" 2>&1 & pids+=($!)
for port in 18601 18602; do
  for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$port/obscore/status" 2>/dev/null | grep -q '"scans":[1-9]' && break; sleep 0.5; done
done
echo "== vogate, SQLite"; "$bin/examples/bench_async" http://127.0.0.1:18601/tap "$jobs" "$burst"
echo "== vogate, PostgreSQL"; "$bin/examples/bench_async" http://127.0.0.1:18602/tap "$jobs" "$burst"
if curl -fs -o /dev/null "http://127.0.0.1:8090/tap/availability"; then
  echo "== DaCHS"; "$bin/examples/bench_async" http://127.0.0.1:8090/tap "$dachs_jobs" "$burst"
else
  echo "== DaCHS: not answering on 127.0.0.1:8090 (../shared/peers/dachs-peer.sh all; fitsdata)"
fi

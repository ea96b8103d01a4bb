#!/usr/bin/env bash
# Issue 19's cross-match benchmark, SQLite and PostgreSQL side by side: N (default 1000000)
# generated ivoa.ObsCore rows (examples/bench_server.rs, as bench_formats.sh), an upload of M
# (default 10000) positions matched within 5 arcsec through /tap/sync (crossmatch_check.py):
# the pairs against a brute-force match, the time (best of 3), pyvo's run_sync(uploads=...)
# and the plan (/bench/explain) showing the spatial index. Not run in CI (minutes).
# Needs PostgreSQL with pgSphere at $VOGATE_BENCH_PG (default postgres://postgres@127.0.0.1:5432)
# and a Python with numpy, astropy and pyvo ($PYTHON, default /var/tmp/vogate-venv/bin/python);
# the database vogate_bench_xmatch is dropped and made anew.
# Usage: [BACKENDS="sqlite postgres"] conformance/bench_crossmatch.sh [N] [M]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
m=${2:-10000}
pgserver=${VOGATE_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
python=${PYTHON:-/var/tmp/vogate-venv/bin/python}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/vogate-target}
cargo build --release -p vogate --example bench_server -q
work=$(mktemp -d /tmp/vogate-bench-xmatch.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
psql "$pgserver/postgres" -qc "DROP DATABASE IF EXISTS vogate_bench_xmatch" -c "CREATE DATABASE vogate_bench_xmatch"
status=0
for backend in ${BACKENDS:-sqlite postgres}; do
  case $backend in
    sqlite) db="sqlite:$work/bench.db" port=18591 ;;
    postgres) db="$pgserver/vogate_bench_xmatch" port=18592 ;;
  esac
  echo "=================== $backend ($n rows, $m targets)"
  RUST_LOG=warn "$CARGO_TARGET_DIR/release/examples/bench_server" "$db" "$n" "127.0.0.1:$port" "$work/w-$backend" 2>"$work/log-$backend" &
  pid=$!
  for _ in $(seq 1 1200); do grep -q listening "$work/log-$backend" && break; sleep 0.5; done
  if [ "$backend" = postgres ]; then
    psql "$pgserver/vogate_bench_xmatch" -qc 'ANALYZE ivoa."ObsCore"'
  fi
  "$python" conformance/crossmatch_check.py "http://127.0.0.1:$port" "$backend" "$m" 5 || status=1
  kill $pid; wait $pid 2>/dev/null || true; pid=
done
exit $status

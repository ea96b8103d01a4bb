#!/usr/bin/env bash
# Issue 19's cross-match against DaCHS, like with like: the catalog synthobs.main that
# ../shared/peers/dachs-peer.sh publishes (NROWS=1000000 ... all) is read from DaCHS as CSV
# and published in vogate under the same name (conformance/synthobs.yaml, `vogate schema
# load` and `vogate load`, its s_ra/s_dec an indexed position), on SQLite and on PostgreSQL;
# then one upload of M (default 10000) targets made from the catalog (crossmatch_check.py:
# half near catalog rows, half anywhere) is matched within 5 arcsec on DaCHS and on both
# backends: the pairs against a brute-force match, the time (best of 3), pyvo, and vogate's
# plan (bench_server's /bench/explain). Not run in CI (DaCHS is a peer installed by hand).
# Needs: DaCHS on $DACHS (default http://127.0.0.1:8090), PostgreSQL at $VOGATE_BENCH_PG
# (default postgres://postgres@127.0.0.1:5432), the venv's python with pyvo at $PY.
# Usage: conformance/bench_dachs_crossmatch.sh [M]
set -euo pipefail
cd "$(dirname "$0")/.."
m=${1:-10000}
dachs=${DACHS:-http://127.0.0.1:8090}
pgserver=${VOGATE_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
py=${PY:-/var/tmp/vogate-venv/bin/python}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/vogate-target}
cargo build --release -p vogate -q
cargo build --release -p vogate --example bench_server -q
bin="$CARGO_TARGET_DIR/release/vogate"
work=$(mktemp -d /tmp/vogate-bench-dachs-xmatch.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
q=$(python3 -c 'import urllib.parse; print(urllib.parse.quote("SELECT * FROM synthobs.main"))')
curl -fsS -o "$work/main.csv" "$dachs/tap/sync?LANG=ADQL&MAXREC=10000000&RESPONSEFORMAT=csv&QUERY=$q"
echo "synthobs.main from DaCHS: $(($(wc -l < "$work/main.csv") - 1)) rows"
printf '[[positions]]\ntable = "synthobs.main"\nra = "s_ra"\ndec = "s_dec"\n' > "$work/config.toml"

status=0
echo "=================== DaCHS 2.7 ($dachs)"
"$py" conformance/crossmatch_check.py "$dachs" dachs "$m" 5 synthobs.main || status=1

psql "$pgserver/postgres" -qc "DROP DATABASE IF EXISTS vogate_bench_dxm" -c "CREATE DATABASE vogate_bench_dxm"
for backend in sqlite postgres; do
  case $backend in
    sqlite) db="sqlite:$work/synthobs.db" port=18595 ;;
    postgres) db="$pgserver/vogate_bench_dxm" port=18596 ;;
  esac
  echo "=================== vogate $backend"
  "$bin" schema load --config "$work/config.toml" --db "$db" conformance/synthobs.yaml > /dev/null
  t0=$(date +%s.%N)
  "$bin" load --config "$work/config.toml" --db "$db" synthobs.main "$work/main.csv" > /dev/null
  echo "loaded in $(echo "$(date +%s.%N) - $t0" | bc) s"
  if [ "$backend" = postgres ]; then psql "$pgserver/vogate_bench_dxm" -qc 'ANALYZE synthobs.main'; fi
  BENCH_CONFIG="$work/config.toml" RUST_LOG=warn "$CARGO_TARGET_DIR/release/examples/bench_server" \
    "$db" 0 "127.0.0.1:$port" "$work/w-$backend" 2>"$work/log-$backend" &
  pid=$!
  for _ in $(seq 1 600); do grep -q listening "$work/log-$backend" && break; sleep 0.5; done
  "$py" conformance/crossmatch_check.py "http://127.0.0.1:$port" "$backend" "$m" 5 synthobs.main || status=1
  kill $pid; wait $pid 2>/dev/null || true; pid=
done
exit $status

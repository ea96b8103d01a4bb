#!/usr/bin/env bash
# Issue 20's query benchmark, SQLite and PostgreSQL side by side: a Felis catalog bench.cat
# of N (default 10000000) generated rows (id, ra, dec, mag; positions uniform on the sphere,
# numpy's seeded generator) loaded with `vogate schema load` and `vogate load` (its ra/dec
# an indexed position), then 200 cones of 1 degree and 200 polygon footprints (a 1-degree
# great-circle square) through /tap/sync: p50/p99, rows against brute force, and the plan
# (bench_server's /bench/explain). Not run in CI (minutes, gigabytes).
# Needs PostgreSQL with pgSphere at $VOGATE_BENCH_PG (default postgres://postgres@127.0.0.1:5432)
# and a Python with numpy ($PYTHON, default /var/tmp/vogate-venv/bin/python); the database
# vogate_bench_cat is dropped and made anew.
# Usage: [BACKENDS="sqlite postgres"] conformance/bench_catalog.sh [N] [QUERIES]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10000000}
queries=${2:-200}
pgserver=${VOGATE_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
python=${PYTHON:-/var/tmp/vogate-venv/bin/python}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/vogate-target}
cargo build --release -p vogate -q
cargo build --release -p vogate --example bench_server -q
bin="$CARGO_TARGET_DIR/release/vogate"
work=${BENCH_WORK:-$(mktemp -d /var/tmp/vogate-bench-cat.XXXXXX)}
mkdir -p "$work"
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; [ -z "${BENCH_WORK:-}" ] && rm -rf "$work"' EXIT
cat > "$work/cat.yaml" <<'YAML'
---
name: bench
"@id": "#bench"
description: Generated rows for the query benchmark.
tables:
  - name: cat
    "@id": "#cat"
    description: Positions uniform on the sphere.
    columns:
      - {name: id, "@id": "#cat.id", datatype: long, description: Identifier.}
      - {name: ra, "@id": "#cat.ra", datatype: double, description: Right ascension., "ivoa:unit": deg, "ivoa:ucd": pos.eq.ra;meta.main}
      - {name: dec, "@id": "#cat.dec", datatype: double, description: Declination., "ivoa:unit": deg, "ivoa:ucd": pos.eq.dec;meta.main}
      - {name: mag, "@id": "#cat.mag", datatype: float, description: Magnitude., "ivoa:unit": mag}
    primaryKey: "#cat.id"
YAML
printf '[[positions]]\ntable = "bench.cat"\nra = "ra"\ndec = "dec"\n' > "$work/config.toml"
if [ ! -s "$work/cat.csv" ]; then
  "$python" - "$n" "$work/cat.csv" <<'PY'
import sys
import numpy as np
n, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(2026)
with open(path, "w") as f:
    f.write("id,ra,dec,mag\n")
    step = 1_000_000
    for start in range(0, n, step):
        k = min(step, n - start)
        ra = rng.uniform(0, 360, k)
        dec = np.degrees(np.arcsin(rng.uniform(-1, 1, k)))
        mag = rng.uniform(10, 24, k)
        ids = np.arange(start + 1, start + k + 1)
        np.savetxt(f, np.column_stack([ids, ra, dec, mag]), fmt=["%d", "%.8f", "%.8f", "%.3f"], delimiter=",")
PY
fi
echo "catalog: $(($(wc -l < "$work/cat.csv") - 1)) rows"
psql "$pgserver/postgres" -qc "DROP DATABASE IF EXISTS vogate_bench_cat" -c "CREATE DATABASE vogate_bench_cat"
status=0
for backend in ${BACKENDS:-sqlite postgres}; do
  case $backend in
    sqlite) db="sqlite:$work/cat.db" port=18597; rm -f "$work/cat.db" ;;
    postgres) db="$pgserver/vogate_bench_cat" port=18598 ;;
  esac
  echo "=================== $backend ($n rows)"
  "$bin" schema load --config "$work/config.toml" --db "$db" "$work/cat.yaml" > /dev/null
  t0=$(date +%s.%N)
  "$bin" load --config "$work/config.toml" --db "$db" bench.cat "$work/cat.csv" > /dev/null
  echo "loaded in $(echo "$(date +%s.%N) - $t0" | bc) s"
  if [ "$backend" = postgres ]; then psql "$pgserver/vogate_bench_cat" -qc 'ANALYZE bench.cat'; fi
  BENCH_CONFIG="$work/config.toml" RUST_LOG=warn "$CARGO_TARGET_DIR/release/examples/bench_server" \
    "$db" 0 "127.0.0.1:$port" "$work/w-$backend" 2>"$work/log-$backend" &
  pid=$!
  for _ in $(seq 1 1200); do grep -q listening "$work/log-$backend" && break; sleep 0.5; done
  "$python" conformance/bench_catalog_cone.py "http://127.0.0.1:$port" "$backend" "$work/cat.csv" "$queries" || status=1
  kill $pid; wait $pid 2>/dev/null || true; pid=
done
exit $status

#!/usr/bin/env bash
# Issue 18's download benchmark against DaCHS, like with like: the 200,000-row catalog
# synthobs.main that ../shared/peers/dachs-peer.sh publishes (NROWS=200000 ... all) is read
# from DaCHS as CSV, published in vogate under the same name from a Felis file (the same 21
# columns, text declared char as DaCHS declares it; s_region, a pgSphere polygon written as
# a double array by DaCHS, is its text here) with `vogate schema load`
# and `vogate load`, on SQLite and on PostgreSQL; then `SELECT * FROM synthobs.main` is
# downloaded whole in BINARY2 from each (median of RUNS, default 5, curl's time_total), and
# read by pyvo (`TAPService.run_sync(...).to_table()`, median of 3), to show where the time
# goes. Not run in CI (DaCHS is a peer installed by hand, and this takes minutes).
# Needs: DaCHS on $DACHS (default http://127.0.0.1:8090), PostgreSQL at $VOGATE_BENCH_PG
# (default postgres://postgres@127.0.0.1:5432), the venv's python with pyvo at $PY.
# Usage: conformance/bench_dachs_download.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
dachs=${DACHS:-http://127.0.0.1:8090}
pgserver=${VOGATE_BENCH_PG:-postgres://postgres@127.0.0.1:5432}
py=${PY:-/var/tmp/vogate-venv/bin/python}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/vogate-target}
cargo build --release -p vogate -q
bin="$CARGO_TARGET_DIR/release/vogate"
work=$(mktemp -d /tmp/vogate-bench-dachs.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$work"' EXIT
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }
q=$(enc "SELECT * FROM synthobs.main")
# The short name both understand (DaCHS 2.7 answers the MIME type with BINARY).
b2=votable/b2

curl -fsS -o "$work/main.csv" "$dachs/tap/sync?LANG=ADQL&MAXREC=1000000&RESPONSEFORMAT=csv&QUERY=$q"
rows=$(($(wc -l < "$work/main.csv") - 1))
echo "synthobs.main from DaCHS: $rows rows, header: $(head -1 "$work/main.csv")"


median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
fetch() { # URL -> "seconds bytes" (median seconds of $runs)
  for _ in $(seq 1 "$runs"); do curl -fsS -o /dev/null -w '%{time_total} %{size_download}\n' "$1"; done > "$work/t"
  echo "$(cut -d' ' -f1 "$work/t" | median) $(tail -1 "$work/t" | cut -d' ' -f2)"
}
pyvo_read() { # TAP_URL -> median seconds of 3 pyvo run_sync(...).to_table()
  "$py" - "$1" "$rows" <<'EOF'
import statistics, sys, time
import pyvo
url, rows = sys.argv[1], int(sys.argv[2])
svc = pyvo.dal.TAPService(url)
times = []
for _ in range(3):
    t = time.perf_counter()
    r = svc.run_sync("SELECT * FROM synthobs.main", maxrec=rows,
                     responseformat="votable/b2")
    table = r.to_table()
    times.append(time.perf_counter() - t)
    assert len(table) == rows, len(table)
print(f"{statistics.median(times):.3f}")
EOF
}

read -r dt dbytes < <(fetch "$dachs/tap/sync?LANG=ADQL&MAXREC=1000000&RESPONSEFORMAT=$b2&QUERY=$q")
dpy=$(pyvo_read "$dachs/tap")
printf '%-22s %9s %11s %10s %10s\n' server seconds bytes rows/s "pyvo s"
printf '%-22s %9.3f %11d %10.0f %10s\n' "DaCHS 2.7" "$dt" "$dbytes" "$(echo "$rows / $dt" | bc -l)" "$dpy"

psql "$pgserver/postgres" -qc "DROP DATABASE IF EXISTS vogate_bench_dachs" -c "CREATE DATABASE vogate_bench_dachs"
for backend in sqlite postgres; do
  case $backend in
    sqlite) db="sqlite:$work/synthobs.db" port=18591 ;;
    postgres) db="$pgserver/vogate_bench_dachs" port=18592 ;;
  esac
  "$bin" schema load --db "$db" conformance/synthobs.yaml > /dev/null
  "$bin" load --db "$db" synthobs.main "$work/main.csv" > /dev/null
  mkdir -p "$work/empty"
  "$bin" serve --db "$db" --data "$work/empty" --workdir "$work/w-$backend" --bind "127.0.0.1:$port" \
    > "$work/serve-$backend.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$port/obscore/status" 2>/dev/null | grep -q '"scans":[1-9]' && break; sleep 0.5; done
  read -r vt vbytes < <(fetch "http://127.0.0.1:$port/tap/sync?LANG=ADQL&MAXREC=1000000&RESPONSEFORMAT=$b2&QUERY=$q")
  vpy=$(pyvo_read "http://127.0.0.1:$port/tap")
  printf '%-22s %9.3f %11d %10.0f %10s   %.1fx DaCHS\n' "vogate ($backend)" "$vt" "$vbytes" \
    "$(echo "$rows / $vt" | bc -l)" "$vpy" "$(echo "$dt / $vt" | bc -l)"
  kill $pid; wait $pid 2>/dev/null || true; pid=
done

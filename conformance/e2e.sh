#!/usr/bin/env bash
# Start a vogate binary on a data tree, run the end-to-end checks against it, stop it.
# Usage: [E2E_DB=postgres://...] conformance/e2e.sh VOGATE_BINARY DATA_DIR PYTHON
# (E2E_DB: run everything on that database instead of the SQLite default.)
# Also checks, on a scratch tree, that a corrupt file and a file without WCS are skipped with
# a logged reason while the good files are served.
set -euo pipefail
bin=$1 data=$2 py=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/vogate-e2e.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

start() { # data_dir port log
  "$bin" serve ${E2E_DB:+--db "$E2E_DB"} --data "$1" --workdir "$work/w$2" --bind "127.0.0.1:$2" >"$3" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    # Serving, and the first scan of the data tree (which runs while it serves) done.
    if curl -fs "http://127.0.0.1:$2/obscore/status" 2>/dev/null | grep -q '"scans":[1-9]'; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "vogate exited:"; cat "$3"; return 1; fi
    sleep 0.5
  done
  echo "vogate did not answer in 60 s"; cat "$3"; return 1
}

port=18437
start "$data" $port "$work/serve.log"
"$py" "$here/e2e_check.py" "http://127.0.0.1:$port" "$data" "$work/serve.log"

# taplint (Debian stilts) exits 0 even on errors: its Totals line decides.
stages='TMV TME TMS TMC CPV CAP AVV QGE QPO QAS UWS MDQ OBS'
stilts taplint tapurl="http://127.0.0.1:$port/tap" stages="$stages" report=EW maxrepeat=5 > "$work/taplint.txt" 2>&1 || true
grep -E '^(E|W)-' "$work/taplint.txt" | head -50 || true
totals=$(grep -E '^Totals:' "$work/taplint.txt" || echo "Totals: missing")
echo "taplint ($stages): $totals"
case "$totals" in
  "Totals: Errors: 0;"*) echo "taplint: 1 passed, 0 failed" ;;
  *) echo "taplint: 0 passed, 1 failed"; cat "$work/taplint.txt" | tail -20; exit 1 ;;
esac
# TAP async through pyvo (run_async; submit, run, wait, fetch, abort, delete; job list
# filters; a failing query) and through stilts tapquery in its default async mode.
"$py" "$here/async_check.py" "http://127.0.0.1:$port"
stilts tapquery tapurl="http://127.0.0.1:$port/tap" sync=false delete=finished ofmt=csv \
  adql="SELECT TOP 5 obs_id, s_ra FROM ivoa.ObsCore ORDER BY obs_id" out="$work/tapquery.csv" \
  > "$work/tapquery.log" 2>&1 < /dev/null || { cat "$work/tapquery.log"; echo "tapquery: 0 passed, 1 failed"; exit 1; }
rows=$(tail -n +2 "$work/tapquery.csv" | wc -l)
if [ "$rows" = 5 ] && grep -q COMPLETED "$work/tapquery.log"; then echo "tapquery async: 1 passed, 0 failed"
else cat "$work/tapquery.log"; echo "tapquery async ($rows rows): 0 passed, 1 failed"; exit 1; fi
# DataLink: the {links} of every product under datalinklint (0 errors, 0 warnings), astropy
# and pyvo (a cutout through the SODA descriptor with processed()).
"$py" "$here/datalink_check.py" "http://127.0.0.1:$port" "$data"
# SIA 2.0 through pyvo's SIA2Service, against brute force over ObsCore.
"$py" "$here/sia_check.py" "http://127.0.0.1:$port"

# SODA cutouts of every product, judged by astropy; a SODA async job through pyvo.
"$py" "$here/soda_check.py" "http://127.0.0.1:$port" "$data"
"$py" "$here/soda_async.py" "http://127.0.0.1:$port"

kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

# A scratch tree: one good file, one corrupt file, one image without WCS, a header-only file
# and a file cut halfway through its data (both refused as short).
mkdir -p "$work/tree/sub"
cp "$data/gc_2mass_j.fits" "$work/tree/sub/good.fits"
head -c 2880 /dev/zero | tr '\0' 'x' > "$work/tree/corrupt.fits"
head -c 5760 "$data/gc_2mass_j.fits" > "$work/tree/headeronly.fits"
head -c 500000 "$data/gc_2mass_j.fits" > "$work/tree/half.fits"
"$py" - "$work/tree/nowcs.fits" <<'PY'
import sys, numpy as np
from astropy.io import fits
fits.PrimaryHDU(np.zeros((4, 5), dtype=np.float32)).writeto(sys.argv[1])
PY
chmod -R a-w "$work/tree"
port=18438
start "$work/tree" $port "$work/tree.log"
sed 's/\x1b\[[0-9;]*m//g' "$work/tree.log" > "$work/tree.clean.log"
fail=0
grep -q 'corrupt.fits reason=not a valid FITS file: it does not begin with SIMPLE = T' "$work/tree.clean.log" || { echo "FAIL: corrupt file not logged with its reason"; fail=1; }
grep -q 'headeronly.fits reason=short: HDU 0 declares 1038240 data bytes, the file holds 0' "$work/tree.clean.log" || { echo "FAIL: header-only file not logged as short"; fail=1; }
grep -q 'half.fits reason=short: HDU 0 declares 1038240 data bytes, the file holds 494240' "$work/tree.clean.log" || { echo "FAIL: half file not logged as short"; fail=1; }
grep -q 'nowcs.fits reason=no usable celestial WCS' "$work/tree.clean.log" || { echo "FAIL: file without WCS not logged with its reason"; fail=1; }
got=$(curl -fsS "http://127.0.0.1:$port/tap/sync?LANG=ADQL&RESPONSEFORMAT=csv&QUERY=SELECT%20obs_id%20FROM%20ivoa.ObsCore" | tr -d '\r' | tr '\n' ' ')
[ "$got" = 'obs_id sub/good.fits ' ] || { echo "FAIL: scratch tree rows: $got"; fail=1; }
# /obscore/status lists the files without a row (the short ones wait to be complete).
status=$(curl -fsS "http://127.0.0.1:$port/obscore/status")
"$py" - "$status" <<'PY' || { echo "FAIL: /obscore/status: $status"; fail=1; }
import json, sys
s = json.loads(sys.argv[1])
failed = {f["path"]: f["reason"] for f in s["failed"]}
assert set(failed) == {"corrupt.fits", "nowcs.fits"}, failed
assert failed["corrupt.fits"].startswith("not a valid FITS file"), failed
assert (s["files_seen"], s["rows"], s["waiting"], s["scans"]) == (5, 1, 2, 1), s
PY
[ -z "$(find "$work/tree" -newer "$work/tree/nowcs.fits" -not -type d)" ] || { echo "FAIL: something was written under --data"; fail=1; }
chmod -R u+w "$work/tree"
[ $fail = 0 ] && echo "scratch: 7 passed, 0 failed" || { echo "scratch tree: checks failed"; exit 1; }

#!/usr/bin/env bash
# The output-format checks of issue 18 on SQLite and on PostgreSQL: a Felis table of every
# datatype and opencadc's alldatatypes fixture (formats_fixture.py) published with
# `vogate schema load` and `vogate load`, then every format read back by astropy, pyarrow,
# votlint and TOPCAT's reader (formats_check.py); TAP UPLOAD with pyvo (sync and async) and
# opencadc's upload fixtures (upload_check.py) and with `stilts tapquery upload1=`; then
# `stilts taplint` in every stage but LOC (no registry): 0 errors and 0 warnings asked.
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
  # URL uploads allowed from one local host: the fixtures served over HTTP (TAP requires
  # http uploads of a service that takes uploads; vogate fetches none unless told where from).
  printf '[tap]\nupload_url_hosts = ["127.0.0.1:%s"]\n' "$((port + 100))" > "$work/config-$backend.toml"
  "$bin" serve --config "$work/config-$backend.toml" --db "$db" --data "$shared/data/fits" --workdir "$work/w-$backend" \
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

  echo "== uploads on $backend: pyvo and opencadc's fixtures, then stilts tapquery upload1="
  "$py" -m http.server "$((port + 100))" --bind 127.0.0.1 \
    --directory "$shared/corpus/adql/opencadc-tap/upload-votables" > /dev/null 2>&1 &
  fixtures_pid=$!
  sleep 1
  "$py" "$here/upload_check.py" "http://127.0.0.1:$port/tap" \
    "$shared/corpus/adql/opencadc-tap/upload-votables" "http://127.0.0.1:$((port + 100))" || failed=1
  kill "$fixtures_pid" 2>/dev/null || true
  stilts tapquery tapurl="http://127.0.0.1:$port/tap" sync=true \
    adql="SELECT obs_id FROM ivoa.ObsCore" ofmt=votable out="$work/obs-$backend.xml" 2>/dev/null || true
  for mode in true false; do
    stilts tapquery tapurl="http://127.0.0.1:$port/tap" sync=$mode \
      adql="SELECT COUNT(*) AS n FROM TAP_UPLOAD.up AS u JOIN ivoa.ObsCore AS o ON o.obs_id = u.obs_id" \
      nupload=1 upload1="$work/obs-$backend.xml" upname1=up ofmt=csv \
      > "$work/stilts-upload-$backend-$mode.txt" 2>&1 || true
  done
  want=$(curl -fsS "http://127.0.0.1:$port/tap/sync?LANG=ADQL&RESPONSEFORMAT=csv&QUERY=SELECT%20COUNT(*)%20AS%20n%20FROM%20ivoa.ObsCore" | tail -1 | tr -d '\r')
  for mode in true false; do
    got=$(tail -1 "$work/stilts-upload-$backend-$mode.txt" | tr -d '\r')
    if [ "$got" = "$want" ] && [ -n "$want" ]; then
      echo "stilts tapquery upload1= sync=$mode ($backend): 1 passed, 0 failed ($got rows joined)"
    else
      echo "stilts tapquery upload1= sync=$mode ($backend): 0 passed, 1 failed"
      cat "$work/stilts-upload-$backend-$mode.txt"; failed=1
    fi
  done

  echo "== taplint on $backend (every stage but LOC)"
  stilts taplint tapurl="http://127.0.0.1:$port/tap" \
    stages='-LOC' report=EWF maxrepeat=5 \
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

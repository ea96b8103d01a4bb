#!/usr/bin/env bash
# The landing page in a real browser (issue 17): vogate serves a sky with its HiPS and npm
# aladin-lite (a local copy, --aladin-lite); Debian chromium, headless, opens the page
# (conformance/browser/check.mjs, through playwright-core); then browser_check.py checks that
# Aladin Lite loaded, that the server log shows the HiPS tiles and the footprint query asked
# for, that every ObsCore footprint was drawn, that the screenshot is not uniform inside the
# footprints (the images are there), and that /hips/list parses in the HiPS 1.0 format.
#
# Usage: conformance/browser_check.sh VOGATE PYTHON [FITS_DIR]
#   Without FITS_DIR: the demo sky of the README's first command (its HiPS built at start).
#   With FITS_DIR: that data tree, and a HiPS of its images under 2 degrees across made with
#   `vogate hips build --from-obscore` served as a [[hips]] entry; the close-ups look at six
#   of those images.
# PYTHON needs pillow. Installs chromium (Debian) and the npm packages of
# conformance/browser/package.json when missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vogate=$(realpath "$1")
py=$2
data=${3:-}

command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }
if [ ! -f "$here/browser/node_modules/aladin-lite/dist/aladin.js" ] ||
   [ ! -d "$here/browser/node_modules/playwright-core" ]; then
  (cd "$here/browser" && npm install --no-audit --no-fund --silent)
fi
aladin="$here/browser/node_modules/aladin-lite/dist/aladin.js"

work=$(mktemp -d /tmp/vogate-browser.XXXXXX)
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
args=(serve --workdir "$work/w" --bind "127.0.0.1:$port" --aladin-lite "$aladin")
hips_id=demo-sky
closeups=()
if [ -n "$data" ]; then
  # The HiPS of the data tree: its images under 2 degrees across (an all-sky image would
  # make an all-sky HiPS of thousands of tiles), chosen by an ObsCore query on a first
  # ingest of the tree, at order 8 (1.6 arcsec pixels). The close-ups look at six of them.
  data=$(realpath "$data")
  "$vogate" serve --workdir "$work/w" --bind "127.0.0.1:$port" --data "$data" > "$work/ingest.log" 2>&1 &
  ingest=$!
  for _ in $(seq 1 300); do
    curl -sf "$base/obscore/status" | "$py" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["scans"] >= 1 else 1)' && break
    sleep 0.5
  done
  small="SELECT obs_publisher_did FROM ivoa.ObsCore WHERE s_fov < 2 ORDER BY obs_publisher_did"
  mapfile -t closeups < <(curl -sf "$base/tap/sync" --data-urlencode LANG=ADQL \
    --data-urlencode RESPONSEFORMAT=csv --data-urlencode "QUERY=$small" | tail -n +2 | head -n 6 | tr -d '\r"')
  "$vogate" hips build --out "$work/hips" --from-obscore "$small" --data "$data" \
    --workdir "$work/w" --order 8 --formats fits,png --title "the shared FITS images" \
    > "$work/build.log" 2>&1 || { cat "$work/build.log"; echo "browser check: the HiPS build failed"; exit 1; }
  kill "$ingest"; wait "$ingest" 2>/dev/null || true
  printf '[[hips]]\nid = "fits"\npath = "%s"\n' "$work/hips" > "$work/vogate.toml"
  args+=(--data "$data" --config "$work/vogate.toml")
  hips_id=fits
fi
RUST_LOG=info,vogate::access=debug "$vogate" "${args[@]}" > "$work/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT

# Ready: the HiPS listed (the demo sky's is built at the first start) and the first ingest
# scan done (the footprints come from its rows).
ready=""
for _ in $(seq 1 300); do
  if curl -sf "$base/hips/list" | grep -q "/hips/$hips_id\$" &&
     curl -sf "$base/obscore/status" | "$py" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["scans"] >= 1 else 1)'; then
    ready=1; break
  fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  tail -n 30 "$work/server.log"; echo "browser check: the server was not ready in 150 s"; exit 1
fi

node "$here/browser/check.mjs" "$base/" "$work" "${closeups[@]}"
# On the shared images, one pixel cut spans values from about 1 (aegean_synthetic_sin) to
# 20,000 (HorseHead): at least four of the six close-ups must show structure.
"$py" "$here/browser_check.py" "$work" "$base" "$hips_id" ${data:+4}
# The server stops before its work folder goes (it writes there until it exits: removing the
# folder under it failed once with "Directory not empty").
kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
if [ -n "${VOGATE_BROWSER_KEEP:-}" ]; then echo "browser check: the files are in $work"; else rm -rf "$work"; fi

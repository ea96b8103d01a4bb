#!/usr/bin/env bash
# Latency of `SELECT TOP 100 * FROM ivoa.ObsCore` through /tap/sync with wrk (Debian wrk):
# builds the release binary, writes N (default 1000) FITS files with the ingest bench's
# generator (examples/gen_sky.rs), serves them, and
# runs wrk with one connection for DURATION seconds (default 20; enough for well over 1,000
# requests), printing wrk's latency distribution (50/75/90/99 %).
# Usage: conformance/bench_tap.sh [N] [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000} duration=${2:-20}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/vogate-target}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
cargo build --release -p vogate --example gen_sky -q
cargo build --release -p vogate
work=$(mktemp -d /tmp/vogate-bench.XXXXXX)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
"$CARGO_TARGET_DIR/release/examples/gen_sky" "$work/data" "$n"
"$CARGO_TARGET_DIR/release/vogate" serve --data "$work/data" --workdir "$work/w" --bind 127.0.0.1:18555 >"$work/log" 2>&1 &
pid=$!
url='http://127.0.0.1:18555/tap/sync?LANG=ADQL&QUERY=SELECT%20TOP%20100%20*%20FROM%20ivoa.ObsCore'
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:18555/obscore/status" 2>/dev/null | grep -q '"scans":[1-9]' && break; sleep 0.5; done
echo "rows per response: $(curl -fsS "$url" | grep -c '<TR>')"
wrk -t1 -c1 -d"${duration}s" --latency "$url"

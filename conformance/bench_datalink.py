#!/usr/bin/env python3
"""DataLink speed, side by side in one run: vogate's {links} and DaCHS's dlmeta under 50
concurrent clients, and vogate's preview rendering (not in CI).

Usage: bench_datalink.py VOGATE_BINARY SHARED_FITS_DIR [DACHS_BASE_URL]

Serves SHARED_FITS_DIR with `vogate serve` (SQLite) and measures:
- p50 and p99 latency of 1000 {links} requests (one ID each, cycling over every product)
  under 50 concurrent clients (urllib, one connection each), vogate and DaCHS
  (`{DACHS}/fitsimg/q/dl/dlmeta`, published by ../shared/peers/dachs-peer.sh `fitsdata`);
- the preview of the largest shared image: median of 5 renders from cold (its cached PNG
  removed before each) and of 31 requests served from the cache.
"""

import glob
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from httpload import fetch, load

VOGATE, SHARED = sys.argv[1], sys.argv[2]
DACHS = sys.argv[3].rstrip("/") if len(sys.argv) > 3 else None
PORT = 18778
BASE = f"http://127.0.0.1:{PORT}"
WORK = "/var/tmp/vogate-datalink-bench"


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    server = subprocess.Popen([VOGATE, "serve", "--data", SHARED, "--workdir", WORK, "--bind", f"127.0.0.1:{PORT}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{BASE}/datalink/availability", timeout=1)
                break
            except Exception:
                time.sleep(0.5)
        names = sorted(os.path.basename(p) for p in glob.glob(f"{SHARED}/*.fits*"))
        mine = [f"{BASE}/datalink/links?" + urllib.parse.urlencode({"ID": f"ivo://vogate.local/vogate?{n}"})
                for n in names]
        p50, p99 = load(mine)
        line = f"{{links}}, 50 clients, 1000 requests: vogate p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        if DACHS:
            theirs = [f"{DACHS}/fitsimg/q/dl/dlmeta?" + urllib.parse.urlencode(
                {"ID": f"ivo://peer.local/~?fitsimg/data/{n}"}) for n in names]
            served = []
            for u in theirs:
                try:
                    fetch(u)
                    served.append(u)
                except Exception:
                    pass
            dp50, dp99 = load(served)
            line += (f"; DaCHS dlmeta p50 {dp50:.1f} ms, p99 {dp99:.1f} ms "
                     f"({len(served)} of {len(names)} products served by DaCHS); "
                     f"vogate {dp50 / p50:.1f}x at p50, {dp99 / p99:.1f}x at p99")
        print(line)
        largest = max(names, key=lambda n: os.path.getsize(f"{SHARED}/{n}"))
        url = f"{BASE}/preview/{urllib.parse.quote(largest, safe='')}"
        cold = []
        for _ in range(5):
            for f in glob.glob(f"{WORK}/previews/*.png"):
                os.remove(f)
            t = time.perf_counter()
            fetch(url)
            cold.append((time.perf_counter() - t) * 1000)
        warm = []
        for _ in range(31):
            t = time.perf_counter()
            fetch(url)
            warm.append((time.perf_counter() - t) * 1000)
        print(f"preview of {largest} ({os.path.getsize(f'{SHARED}/{largest}')} bytes): "
              f"cold {statistics.median(cold):.1f} ms, cached {statistics.median(warm):.2f} ms (medians)")
    finally:
        server.terminate()
        server.wait()


main()

#!/usr/bin/env python3
"""HiPS tile serving speed (issue "HiPS served to browsers"; not in CI).

Usage: bench_hips_serve.py VOGATE_BINARY HIPS_DIR

Serves HIPS_DIR (a `vogate hips build` output) as `[[hips]] id = "bench"` with `vogate
serve` (the demo sky's data, SQLite) and measures p50 and p99 latency of 1000 tile requests
under 50 concurrent clients (urllib, one connection each), cycling over every FITS and PNG
tile of the HiPS, with and without `Accept-Encoding: gzip`; and the same for /hips/list.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from httpload import fetch, load

VOGATE, HIPS = sys.argv[1], os.path.abspath(sys.argv[2])
PORT = 18779
BASE = f"http://127.0.0.1:{PORT}"


def main():
    work = tempfile.mkdtemp(prefix="vogate-hips-serve-")
    config = os.path.join(work, "vogate.toml")
    with open(config, "w") as f:
        f.write(f'[[hips]]\nid = "bench"\npath = "{HIPS}"\n')
    server = subprocess.Popen(
        [VOGATE, "serve", "--config", config, "--workdir", os.path.join(work, "w"), "--bind", f"127.0.0.1:{PORT}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{BASE}/hips/list", timeout=1)
                break
            except Exception:
                time.sleep(0.5)
        tiles = sorted(glob.glob(f"{HIPS}/Norder*/Dir*/Npix*.*"))
        urls = [f"{BASE}/hips/bench/{os.path.relpath(t, HIPS)}" for t in tiles if t.endswith((".fits", ".png"))]
        for name, headers in (("tiles", None), ("tiles, gzip", {"Accept-Encoding": "gzip"})):
            p50, p99 = load(urls, headers=headers)
            print(f"{name}: 50 clients, 1000 requests over {len(urls)} tiles: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        p50, p99 = load([f"{BASE}/hips/list"])
        print(f"/hips/list: 50 clients, 1000 requests: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""SODA cutout speed, side by side in one run: vogate, astropy and DaCHS (not in CI).

Usage: bench_soda.py VOGATE_BINARY SHARED_FITS_DIR [DACHS_BASE_URL]

Writes a 4096 x 4096 and a 10000 x 10000 float32 TAN image (random values) into
/var/tmp/vogate-soda-bench/data beside links to HorseHead.fits and gc_2mass_k.fits, serves
that folder with `vogate serve` (SQLite), and measures:
- a 100 x 100 pixel cutout (a circle of 50 pixels' radius at the image centre) from each
  file: median of 31 single requests (urllib, one connection each) against vogate, and of
  31 runs of astropy's `Cutout2D` + `writeto` (to memory) on the same file and circle, each
  from opening the file, measured twice: back to back (31 vogate requests in a row, then 31
  astropy runs) and in turns (vogate, astropy, vogate, ...: each request finds the server
  idle); the floor of each, /soda/availability, which does no work, is printed first; and
  DaCHS's SODA (median of 31) (`{DACHS}/fitsimg/q/dl/dlget`, published by
  ../shared/peers/dachs-peer.sh `fitsdata` with the same folder) when its URL is given;
- p50 and p99 latency of 1000 such cutouts from the 4096 image under 50 concurrent clients,
  vogate and DaCHS;
- vogate's peak resident memory above idle while it serves one 1000 x 1000 cutout of the
  10000 x 10000 image (Linux VmHWM of the server process, reset before the request).
"""

import concurrent.futures
import io
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import warnings

import numpy as np
import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS, FITSFixedWarning

warnings.simplefilter("ignore", FITSFixedWarning)

VOGATE, SHARED = sys.argv[1], sys.argv[2]
DACHS = sys.argv[3].rstrip("/") if len(sys.argv) > 3 else None
ROOT = "/var/tmp/vogate-soda-bench"
DATA = f"{ROOT}/data"
PORT = 18777
BASE = f"http://127.0.0.1:{PORT}"


def make_image(name, n, ra, dec, scale):
    path = f"{DATA}/{name}"
    if os.path.exists(path):
        return path
    h = fits.Header([
        ("SIMPLE", True), ("BITPIX", -32), ("NAXIS", 2), ("NAXIS1", n), ("NAXIS2", n),
        ("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"),
        ("CRPIX1", (n + 1) / 2), ("CRPIX2", (n + 1) / 2), ("CRVAL1", ra), ("CRVAL2", dec),
        ("CDELT1", -scale), ("CDELT2", scale), ("RADESYS", "ICRS"),
    ])
    # The values are written in row blocks, so that this script stays small too.
    h.tofile(path, overwrite=True)
    rng = np.random.default_rng(1)
    with open(path, "ab") as f:
        for y in range(0, n, 512):
            rows = min(512, n - y)
            f.write(rng.random((rows, n), dtype=np.float32).astype(">f4").tobytes())
        pad = (2880 - (n * n * 4) % 2880) % 2880
        f.write(b"\0" * pad)
    return path


def median_ms(f, runs=31):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def side_by_side(f, g, runs=31):
    """Medians of `runs` calls of f and of g, taken in turns (f, g, f, g, ...), so that both
    see the same machine: a busy moment slows both, not one."""
    tf, tg = [], []
    for _ in range(runs):
        for fn, times in ((f, tf), (g, tg)):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(tf), statistics.median(tg)


def fetch(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        body = r.read()
        if r.status != 200 or not body.startswith(b"SIMPLE"):
            raise RuntimeError(f"{url}: HTTP {r.status}")
        return body


def astropy_cut(path, hdu, ra, dec, radius):
    with fits.open(path) as h:
        w = WCS(h[hdu].header)
        c = Cutout2D(h[hdu].data, SkyCoord(ra * u.deg, dec * u.deg), 2 * radius * u.deg, wcs=w)
        out = fits.PrimaryHDU(c.data, header=c.wcs.to_header())
        buf = io.BytesIO()
        out.writeto(buf)
        return buf.getvalue()


def centre_and_scale(path, hdu):
    with fits.open(path) as h:
        head = h[hdu].header
        w = WCS(head).celestial
        n1, n2 = head["NAXIS1"], head["NAXIS2"]
        c = w.pixel_to_world((n1 - 1) / 2, (n2 - 1) / 2).icrs
        scale = float(np.mean([abs(s.to_value(u.deg)) for s in w.proj_plane_pixel_scales()]))
        return c.ra.deg, c.dec.deg, scale


def load(url_of, n=1000, clients=50):
    lat = []

    def one(i):
        t = time.perf_counter()
        fetch(url_of(i))
        return (time.perf_counter() - t) * 1000

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        lat = list(pool.map(one, range(n)))
    lat.sort()
    return lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1]


def memory_kb(pid):
    status = open(f"/proc/{pid}/status").read()
    get = lambda k: int([l for l in status.splitlines() if l.startswith(k)][0].split()[1])
    return get("VmRSS:"), get("VmHWM:")


def main():
    os.makedirs(DATA, exist_ok=True)
    files = {
        "big4096.fits": make_image("big4096.fits", 4096, 150.0, 2.0, 0.0002),
        "big10000.fits": make_image("big10000.fits", 10000, 160.0, 5.0, 0.0002),
    }
    for name in ("HorseHead.fits", "gc_2mass_k.fits"):
        link = f"{DATA}/{name}"
        if not os.path.exists(link):
            os.symlink(f"{SHARED}/{name}", link)
        files[name] = link
    work = f"{ROOT}/work"
    subprocess.run(["rm", "-rf", work], check=True)
    server = subprocess.Popen([VOGATE, "serve", "--data", DATA, "--workdir", work, "--bind", f"127.0.0.1:{PORT}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{BASE}/soda/availability", timeout=1)
                break
            except Exception:
                time.sleep(0.5)
        avail = f"{BASE}/soda/availability"
        floor_row = median_ms(lambda: urllib.request.urlopen(avail).read())
        floor_turns, _ = side_by_side(lambda: urllib.request.urlopen(avail).read(),
                                      lambda: astropy_cut(files["big4096.fits"], 0, 150.0, 2.0, 0.01))
        print(f"floor: /soda/availability (no work) {floor_row:.2f} ms back to back, "
              f"{floor_turns:.2f} ms in turns with astropy")
        print("vogate and astropy: back to back / in turns")
        print("| file | vogate (ms) | astropy Cutout2D + writeto (ms) | vogate vs astropy | DaCHS (ms) | vogate vs DaCHS |")
        print("|---|---|---|---|---|---|")
        for name in ("big4096.fits", "HorseHead.fits", "gc_2mass_k.fits"):
            path = files[name]
            ra, dec, scale = centre_and_scale(path, 0)
            r = 50 * scale
            did = f"ivo://vogate.local/vogate?{name}"
            url = f"{BASE}/soda/sync?" + urllib.parse.urlencode({"ID": did, "CIRCLE": f"{ra} {dec} {r}"})
            fetch(url)
            # Back to back (the server's threads awake) and in turns with astropy (each
            # request finds the server idle, as a single request does).
            v_row = median_ms(lambda: fetch(url))
            a_row = median_ms(lambda: astropy_cut(path, 0, ra, dec, r))
            v, a = side_by_side(lambda: fetch(url), lambda: astropy_cut(path, 0, ra, dec, r))
            d_text, dv_text = "-", "-"
            if DACHS:
                durl = f"{DACHS}/fitsimg/q/dl/dlget?" + urllib.parse.urlencode(
                    {"ID": f"ivo://peer.local/~?fitsimg/data/{name}", "CIRCLE": f"{ra} {dec} {r}"})
                try:
                    fetch(durl)
                    d = median_ms(lambda: fetch(durl))
                    d_text, dv_text = f"{d:.2f}", f"{d / v:.1f}x"
                except Exception as e:
                    d_text = f"not served ({e})"
            print(f"| {name} | {v_row:.2f} / {v:.2f} | {a_row:.2f} / {a:.2f} | {a_row / v_row:.1f}x / {a / v:.1f}x "
                  f"| {d_text} | {dv_text} |")
        ra, dec, scale = centre_and_scale(files["big4096.fits"], 0)
        r = 50 * scale
        url = f"{BASE}/soda/sync?" + urllib.parse.urlencode(
            {"ID": "ivo://vogate.local/vogate?big4096.fits", "CIRCLE": f"{ra} {dec} {r}"})
        p50, p99 = load(lambda i: url)
        line = f"50 clients, 1000 cutouts of big4096.fits: vogate p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        if DACHS:
            durl = f"{DACHS}/fitsimg/q/dl/dlget?" + urllib.parse.urlencode(
                {"ID": "ivo://peer.local/~?fitsimg/data/big4096.fits", "CIRCLE": f"{ra} {dec} {r}"})
            try:
                dp50, dp99 = load(lambda i: durl)
                line += f"; DaCHS p50 {dp50:.1f} ms, p99 {dp99:.1f} ms"
            except Exception as e:
                line += f"; DaCHS not run ({e})"
        print(line)
        ra, dec, scale = centre_and_scale(files["big10000.fits"], 0)
        url = f"{BASE}/soda/sync?" + urllib.parse.urlencode(
            {"ID": "ivo://vogate.local/vogate?big10000.fits", "CIRCLE": f"{ra} {dec} {500 * scale}"})
        with open(f"/proc/{server.pid}/clear_refs", "w") as f:
            f.write("5")
        idle, _ = memory_kb(server.pid)
        body = fetch(url)
        _, peak = memory_kb(server.pid)
        with fits.open(io.BytesIO(body)) as h:
            shape = h[0].data.shape
        print(f"1000 x 1000 cutout of 10000 x 10000 float32 ({shape[1]} x {shape[0]} sent): "
              f"vogate peak RSS {(peak - idle) / 1024:.1f} MB above idle ({idle / 1024:.1f} MB idle)")
    finally:
        server.terminate()
        server.wait()


main()

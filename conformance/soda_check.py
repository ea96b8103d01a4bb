#!/usr/bin/env python3
"""SODA cutouts of a running vogate, with astropy as the judge.

Usage: soda_check.py BASE_URL DATA_DIR

For every ObsCore product (all of DATA_DIR that has a WCS), /soda/sync?ID=..&CIRCLE= at its
centre (s_ra, s_dec), radius a quarter of s_fov (at most 0.05 degree; 5 degrees for
all-sky rows): the answer is a FITS file astropy opens, and for every image HDU of the cut
(the HISTORY card says which HDU of the product and which pixels):
- its pixels equal astropy's section of the original HDU exactly (NaN where NaN);
- its WCS maps every pixel centre to the sky position the original WCS gives the
  corresponding pixel (1e-6 degree);
- its box agrees within one pixel with the box astropy computes: the circle's boundary
  sampled at 720 points and its centre, through `world_to_pixel`, the pixels they fall in,
  clipped to the image.
Also: a circle far from a product gives HTTP 204. Prints "soda: N passed, M failed"; exits 1
on any failure.
"""

import io
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np
import astropy.units as u
from astropy import log
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

warnings.simplefilter("ignore", FITSFixedWarning)
warnings.simplefilter("ignore", fits.verify.VerifyWarning)
log.setLevel("WARNING")

BASE, DATA = sys.argv[1].rstrip("/"), sys.argv[2]
passed = failed = 0


def report(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {what}")


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def products():
    q = "SELECT obs_id, obs_publisher_did, s_ra, s_dec, s_fov FROM ivoa.ObsCore ORDER BY obs_id"
    url = f"{BASE}/tap/sync?" + urllib.parse.urlencode(
        {"LANG": "ADQL", "QUERY": q, "RESPONSEFORMAT": "json", "MAXREC": "100000"})
    return json.loads(get(url)[1])["data"]


def sep_deg(a, b):
    l1, b1, l2, b2 = map(np.radians, (a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
    s = np.sin((b2 - b1) / 2) ** 2 + np.cos(b1) * np.cos(b2) * np.sin((l2 - l1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(s, 0, 1))))


def astropy_box(w, n1, n2, ra, dec, r):
    """(x0, y0, nx, ny) of the circle on the image, as item 2 of the SODA issue defines it."""
    c = SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")
    pts = c.directional_offset_by(np.arange(720) * 0.5 * u.deg, r * u.deg)
    ra_all = np.append(pts.ra.deg, ra)
    dec_all = np.append(pts.dec.deg, dec)
    x, y = w.world_to_pixel(SkyCoord(ra_all * u.deg, dec_all * u.deg, frame="icrs"))
    x, y = np.asarray(x) + 1, np.asarray(y) + 1  # FITS pixels
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return None
    px = np.floor(x[ok] + 0.5)
    py = np.floor(y[ok] + 0.5)
    x1, x2 = max(px.min(), 1), min(px.max(), n1)
    y1, y2 = max(py.min(), 1), min(py.max(), n2)
    if x1 > x2 or y1 > y2:
        return None
    return int(x1) - 1, int(y1) - 1, int(x2 - x1) + 1, int(y2 - y1) + 1


def main():
    rows = products()
    for obs_id, did, ra, dec, fov in rows:
        r = 5.0 if fov >= 360 else min(fov / 4, 0.05)
        url = f"{BASE}/soda/sync?" + urllib.parse.urlencode({"ID": did, "CIRCLE": f"{ra} {dec} {r}"})
        status, body = get(url)
        if status != 200:
            report(False, f"{obs_id}: HTTP {status}: {body[:200]!r}")
            continue
        with fits.open(io.BytesIO(body)) as cut, fits.open(f"{DATA}/{obs_id}") as orig:
            hdus = 0
            for h in cut:
                if h.data is None or h.header.get("NAXIS", 0) < 2:
                    continue
                hist = " ".join(str(v) for v in h.header.get("HISTORY", []))
                m = re.search(r"HDU (\d+): pixels (\d+)\.\.(\d+) x (\d+)\.\.(\d+)", hist)
                if not m:
                    report(False, f"{obs_id}: a cut HDU without its HISTORY card")
                    continue
                i, x1, x2, y1, y2 = map(int, m.groups())
                hdus += 1
                o = orig[i]
                want = o.section[y1 - 1:y2, x1 - 1:x2]
                report(np.array_equal(h.data, want, equal_nan=True),
                       f"{obs_id} HDU {i}: pixels differ from the original's section")
                w0 = WCS(o.header, orig)
                if w0.has_celestial:
                    w0, w1 = w0.celestial, WCS(h.header, cut).celestial
                    ny, nx = h.data.shape[-2:]
                    jj, ii = np.mgrid[1:ny + 1, 1:nx + 1]
                    pix = np.column_stack([ii.ravel(), jj.ravel()]).astype(float)
                    s1 = w1.all_pix2world(pix, 1)
                    s0 = w0.all_pix2world(pix + [x1 - 1, y1 - 1], 1)
                    ok = np.isfinite(s0).all(axis=1)
                    worst = float(np.max(sep_deg(s0[ok], s1[ok]))) if ok.any() else 0.0
                    report(worst < 1e-6, f"{obs_id} HDU {i}: WCS off by {worst:.2e} deg")
                    n2, n1 = o.data.shape[-2:] if o.data is not None else (0, 0)
                    box = astropy_box(w0, n1, n2, ra, dec, r)
                    got = (x1 - 1, y1 - 1, x2 - x1 + 1, y2 - y1 + 1)
                    close = box is not None and all(
                        abs(a - b) <= 1 for a, b in zip((got[0], got[1], got[0] + got[2], got[1] + got[3]),
                                                        (box[0], box[1], box[0] + box[2], box[1] + box[3])))
                    report(close, f"{obs_id} HDU {i}: box {got} is not astropy's {box} within a pixel")
            report(hdus > 0, f"{obs_id}: the cut holds no image")
        # Far from the product: no content.
        url = f"{BASE}/soda/sync?" + urllib.parse.urlencode(
            {"ID": did, "CIRCLE": f"{(ra + 180) % 360} {-dec} 0.01"})
        status, body = get(url)
        if fov < 360:
            report(status == 204 and not body, f"{obs_id}: far circle gave {status}")
    print(f"soda: {passed} passed, {failed} failed ({len(rows)} products)")
    sys.exit(1 if failed else 0)


main()

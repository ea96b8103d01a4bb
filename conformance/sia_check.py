#!/usr/bin/env python3
"""SIA 2.0 through pyvo's SIA2Service, against brute force over ivoa.ObsCore.

Usage: sia_check.py BASE_URL

Reads every ObsCore row through TAP, then runs SIA2Service(BASE/sia).search(...) with
positions (circles at products and between them, across RA = 0 and at the poles), time
ranges, wavelength ranges and their combinations, and checks that each returns exactly the rows that a
brute-force test in Python picks: a circle meets a footprint (s_region, a convex polygon
whose edges are great circles) when its centre is inside it or an edge comes within the
radius;
rows without a footprint that cover a hemisphere or more match every position; a time
range meets [t_min, t_max], a band [em_min, em_max] (one end missing: the other's value).
Prints "sia: N passed, M failed".
"""

import math
import sys

import numpy as np
import pyvo
from astropy.time import Time

BASE = sys.argv[1].rstrip("/")
passed, failed = 0, 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAILED: {what}")


def vec(ra, dec):
    ra, dec = math.radians(ra), math.radians(dec)
    return np.array([math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec)])


def angle(a, b):
    return math.degrees(math.atan2(np.linalg.norm(np.cross(a, b)), np.dot(a, b)))


def arc_distance(a, b, p):
    """Degrees from p to the great-circle arc a-b."""
    n = np.cross(a, b)
    n /= np.linalg.norm(n)
    q = p - np.dot(p, n) * n
    if np.linalg.norm(q) > 0:
        q /= np.linalg.norm(q)
        # q is on the arc when it lies between a and b.
        if abs(angle(a, q) + angle(q, b) - angle(a, b)) < 1e-9:
            return angle(p, q)
    return min(angle(p, a), angle(p, b))


def circle_meets(region, ra, dec, r):
    nums = [float(x) for x in region.split()[2:]]
    verts = [vec(a, d) for a, d in zip(nums[0::2], nums[1::2])]
    c = vec(ra, dec)
    edges = list(zip(verts, verts[1:] + verts[:1]))
    # Inside: on the same side of every edge as the vertices' centroid (footprints are
    # convex: quadrilaterals, or the convex hull of a mosaic's chips), whichever way they
    # turn; the antipodal region is on the other side of all of them.
    m = sum(verts)
    if all(np.dot(np.cross(a, b), c) * np.dot(np.cross(a, b), m) >= 0 for a, b in edges):
        return True
    return min(arc_distance(a, b, c) for a, b in edges) <= r


tap = pyvo.dal.TAPService(f"{BASE}/tap")
rows = tap.run_sync("SELECT obs_id, s_ra, s_dec, s_fov, s_region, t_min, t_max, em_min, em_max FROM ivoa.ObsCore",
                    maxrec=100000).to_table()
sia = pyvo.dal.SIA2Service(f"{BASE}/sia")


def meets(a, b, interval):
    """Whether the range a..b meets the interval; one end missing is the other's value."""
    a = None if np.ma.is_masked(a) else float(a)
    b = None if np.ma.is_masked(b) else float(b)
    if a is None and b is None:
        return False
    a, b = (a if a is not None else b), (b if b is not None else a)
    return a <= interval[1] and b >= interval[0]


def brute(pos=None, time=None, band=None):
    out = set()
    for row in rows:
        region = row["s_region"]
        if pos is not None:
            if np.ma.is_masked(region) or not str(region).strip():
                if not float(row["s_fov"]) >= 180:
                    continue
            elif not circle_meets(str(region), *pos):
                continue
        if time is not None and not meets(row["t_min"], row["t_max"], time):
            continue
        if band is not None and not meets(row["em_min"], row["em_max"], band):
            continue
        out.add(str(row["obs_id"]))
    return out


def run(pos=None, time=None, band=None):
    kwargs = {}
    if band is not None:
        kwargs["band"] = band
    if pos is not None:
        kwargs["pos"] = pos
    if time is not None:
        kwargs["time"] = (Time(time[0], format="mjd"), Time(time[1], format="mjd"))
    got = {str(r["obs_id"]) for r in sia.search(**kwargs, maxrec=100000).to_table()}
    want = brute(pos, time, band)
    check(got == want, f"search({kwargs}): {sorted(got ^ want)} differ")
    return got


positions = [(float(r["s_ra"]), float(r["s_dec"]), 0.05) for r in rows]
positions += [(0.0, 0.0, 10.0), (359.9, -30.0, 2.0), (0.0, 90.0, 5.0), (180.0, -89.0, 3.0),
              (266.4, -28.9, 1.0), (83.8, -5.4, 20.0), (120.0, 60.0, 0.5)]
found = 0
for p in positions:
    found += len(run(pos=p))
times = [(float(r["t_min"]) - 0.01, float(r["t_min"]) + 0.01) for r in rows if not np.ma.is_masked(r["t_min"])]
for t in times[:5]:
    run(time=t)
for p, t in zip(positions[:5], times[:5]):
    run(pos=p, time=t)
# Wavelengths (metres): the shared images declare none, so these find what brute force finds.
for b in [(4e-7, 6e-7), (1e-6, 3e-6)]:
    run(band=b)
    run(pos=positions[0], band=b)
check(found > len(rows) / 2, f"the positions found {found} rows in all: too few to tell")
print(f"sia: {passed} passed, {failed} failed ({len(rows)} rows)")
sys.exit(1 if failed else 0)

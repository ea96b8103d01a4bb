#!/usr/bin/env python3
"""`vogate hips add` against a build of all the images at once (issue 17), on real images.

Usage: hips_add_check.py VOGATE FITS_DIR

For each case (images built first, images added, overlay): `vogate hips build` of all the
images, and a build of the first ones followed by `vogate hips add` of the rest, both with
FITS and PNG tiles, the same --pixel-cut and --order. Then, read with astropy: the same
tiles at every order, each FITS tile's values equal within float32 rounding (relative 1e-6)
or, for integer tiles, one BSCALE step (an add combines the stored, rounded values), blanks
in the same pixels, the same Norder3/Allsky.fits, the same Moc.fits (bytes), the same
properties apart from the dates, and a PNG beside every FITS tile. Exits 1 on any
difference.
"""
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
from astropy.io import fits

vogate, data = sys.argv[1], sys.argv[2]
CASES = [
    # The 2MASS J, H and K images of the Galactic centre: the same field, so every tile of
    # the add has values already (the weighted mean is what is tested).
    (["gc_2mass_j.fits", "gc_2mass_h.fits"], ["gc_2mass_k.fits"], "mean"),
    # Float images: Bolocam's Galactic centre, then MSX's (float64) over it and a field
    # elsewhere: new tiles, a wider MOC and initial field of view. The order is given, as an
    # add keeps the HiPS's (a build of all would choose it from the finest input pixel).
    (["gc_bolocam_gps.fits"], ["gc_msx_e.fits", "1904-66_SIN.fits"], "fading"),
]
failures = []


def run(*args):
    r = subprocess.run([vogate, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(args)}: exit {r.returncode}\n{r.stderr}")
    return r.stdout.strip()


def values(path):
    """The physical values (BSCALE/BZERO applied, BLANK as NaN) and the tolerance of a tile:
    one BSCALE step for integer tiles (an add combines their rounded stored values), else
    float32 rounding, 1e-6 relative."""
    with fits.open(path) as h:
        step = h[0].header.get("BSCALE", 1.0) if h[0].header["BITPIX"] > 0 else None
        return h[0].data.astype(np.float64), step


def props(root):
    out = {}
    for line in open(os.path.join(root, "properties")):
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            if not k.strip().endswith("_date"):
                out[k.strip()] = v.strip()
    return out


def compare(a, b, label):
    files = lambda root, ext: sorted(
        os.path.relpath(p, root) for p in glob.glob(os.path.join(root, "Norder*", "**", f"*.{ext}"), recursive=True))
    fa, fb = files(a, "fits"), files(b, "fits")
    if fa != fb:
        failures.append(f"{label}: tiles differ: {sorted(set(fa) ^ set(fb))[:5]}")
        return
    worst = 0.0  # the largest difference, in units of the tolerance
    for rel in fa:
        (x, step), (y, _) = values(os.path.join(a, rel)), values(os.path.join(b, rel))
        if x.shape != y.shape or not np.array_equal(np.isnan(x), np.isnan(y)):
            failures.append(f"{label}: {rel}: blanks differ")
            continue
        m = ~np.isnan(x)
        if m.any():
            tol = step * 1.01 if step else 1e-6 * np.maximum(np.abs(x[m]), 1.0)
            worst = max(worst, float(np.max(np.abs(x[m] - y[m]) / tol)))
    if worst > 1.0:
        failures.append(f"{label}: a difference {worst:.2f} times the tolerance")
    pa, pb = files(a, "png"), files(b, "png")
    if [p[:-4] for p in pa] != [p[:-5] for p in fa]:
        failures.append(f"{label}: not a PNG beside every FITS tile")
    if sorted(pa) != sorted(pb):
        failures.append(f"{label}: PNG tiles differ: {sorted(set(pa) ^ set(pb))[:5]}")
    if open(os.path.join(a, "Moc.fits"), "rb").read() != open(os.path.join(b, "Moc.fits"), "rb").read():
        failures.append(f"{label}: Moc.fits differs")
    if props(a) != props(b):
        diff = {k: (props(a).get(k), props(b).get(k)) for k in set(props(a)) | set(props(b))
                if props(a).get(k) != props(b).get(k)}
        failures.append(f"{label}: properties differ: {diff}")
    print(f"{label}: {len(fa)} FITS tiles and {len(pa)} PNG tiles, largest difference "
          f"{worst:.2f} of the tolerance; Allsky, MOC and properties compared")


with tempfile.TemporaryDirectory() as tmp:
    for i, (first, added, overlay) in enumerate(CASES):
        common = ["--overlay", overlay, "--formats", "fits,png", "--pixel-cut", "0 1000 asinh",
                  "--title", "add check", "--order", "6"]
        inputs = lambda names: [os.path.join(data, n) for n in names]
        all_dir, part_dir = f"{tmp}/all{i}", f"{tmp}/part{i}"
        run("hips", "build", "--out", all_dir, "--in", *inputs(first + added), *common)
        run("hips", "build", "--out", part_dir, "--in", *inputs(first), *common)
        print(run("hips", "add", "--out", part_dir, "--in", *inputs(added)))
        compare(all_dir, part_dir, f"{'+'.join(first)} then {'+'.join(added)} ({overlay})")
        # The same file again is refused, and changes nothing.
        r = subprocess.run([vogate, "hips", "add", "--out", part_dir, "--in", *inputs(added[:1])],
                           capture_output=True, text=True)
        if r.returncode != 1 or "already in this HiPS" not in r.stderr:
            failures.append(f"adding {added[0]} twice: exit {r.returncode}, {r.stderr.strip()}")
        compare(all_dir, part_dir, "after the refused add")

if failures:
    print("\n".join("FAIL " + f for f in failures))
    sys.exit(1)
print("hips add: the same HiPS as a build of all the images")

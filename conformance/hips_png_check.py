#!/usr/bin/env python3
"""PNG tiles against their FITS tiles (issue "HiPS served to browsers").

Usage: hips_png_check.py HIPS_DIR

For every PNG tile of the deepest order: its grey levels (rows top-down, as image files
hold them, so flipped to FITS order here) against the FITS tile's values through the
properties' hips_pixel_cut (linear): Pearson's r over the pixels the PNG shows (alpha > 0)
must exceed 0.95, and the PNG must be transparent exactly where the FITS tile is blank.
Exits 1 otherwise; prints the smallest r.
"""
import glob
import os
import re
import sys
import warnings

import numpy as np
from astropy.io import fits
from PIL import Image

warnings.simplefilter("ignore")


def main():
    root = sys.argv[1]
    props = dict(
        (k.strip(), v.strip())
        for k, v in (l.split("=", 1) for l in open(os.path.join(root, "properties")) if "=" in l and not l.startswith("#"))
    )
    order = int(props["hips_order"])
    lo, hi = (float(x) for x in props["hips_pixel_cut"].split()[:2])
    worst, bad, n = 1.0, 0, 0
    for png in sorted(glob.glob(os.path.join(root, f"Norder{order}", "Dir*", "Npix*.png"))):
        data = fits.getdata(png[:-4] + ".fits").astype(np.float64)
        img = np.asarray(Image.open(png).convert("LA"), dtype=np.float64)[::-1]
        grey, alpha = img[..., 0], img[..., 1]
        expected = np.clip((data - lo) / (hi - lo), 0, 1) * 255
        shown = alpha > 0
        if not np.array_equal(shown, np.isfinite(data)):
            print(f"{png}: transparent where the FITS tile has data, or the reverse")
            bad += 1
            continue
        if shown.sum() < 10 or np.std(expected[shown]) == 0:
            continue
        r = np.corrcoef(grey[shown], expected[shown])[0, 1]
        worst = min(worst, r)
        n += 1
        if not r > 0.95:
            print(f"{png}: r = {r:.4f}")
            bad += 1
    print(f"PNG tiles of order {order}: {n} compared with their FITS tiles through the cut {lo} {hi}; smallest r {worst:.5f}; {bad} failed")
    sys.exit(1 if bad or n == 0 else 0)


if __name__ == "__main__":
    main()

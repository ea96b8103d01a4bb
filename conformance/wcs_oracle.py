"""astropy's WCS (WCSLIB) as the oracle of vo-fits's sky -> pixel direction.

Usage: python wcs_oracle.py FITS_DIR OUT.json

For every image HDU of every file in FITS_DIR that astropy gives a celestial WCS
(`WCS(header, hdulist).celestial`, which uses a DSS plate solution when the header has
one), writes native-frame world positions (the frame of CTYPE: RA/Dec or Galactic) of the
corners, the centre, positions outside the image and 100 pseudo-random pixels, from
`all_pix2world(..., 1)`, and astropy's pixels for them from
`all_world2pix(..., 1, tolerance=1e-10)`. The Rust test `cargo test -p vo-fits --test
astropy_wcs` (with VOGATE_WCS_ORACLE=OUT.json) compares vo-fits's pixels with these.
"""

import json
import os
import sys
import warnings

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning, NoConvergence

warnings.simplefilter("ignore", FITSFixedWarning)


def samples(n1, n2, rng):
    pts = [
        (0.5, 0.5), (n1 + 0.5, 0.5), (0.5, n2 + 0.5), (n1 + 0.5, n2 + 0.5),
        ((n1 + 1) / 2, (n2 + 1) / 2),
        (-0.25 * n1, 0.5 * n2), (1.25 * n1, 0.5 * n2), (0.5 * n1, -0.25 * n2), (0.5 * n1, 1.25 * n2),
    ]
    r = rng.random((100, 2))
    pts += [(0.5 + a * n1, 0.5 + b * n2) for a, b in r]
    return np.array(pts)


def main():
    data_dir, out = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(20261204)
    cases = []
    for name in sorted(os.listdir(data_dir)):
        if ".fits" not in name:
            continue
        with fits.open(os.path.join(data_dir, name)) as hdul:
            for index, hdu in enumerate(hdul):
                if not hdu.is_image or hdu.header.get("NAXIS", 0) < 2 or "CTYPE1" not in hdu.header:
                    continue
                try:
                    w = WCS(hdu.header, hdul).celestial
                except Exception as e:  # no usable WCS: vo-fits refuses it too
                    print(f"{name} HDU {index}: no WCS ({e})")
                    continue
                if not w.has_celestial:
                    continue
                n1, n2 = hdu.header["NAXIS1"], hdu.header["NAXIS2"]
                pix = samples(n1, n2, rng)
                world = w.all_pix2world(pix, 1)
                ok = np.all(np.isfinite(world), axis=1)
                world = world[ok]
                try:
                    back = w.all_world2pix(world, 1, tolerance=1e-10, maxiter=100)
                except NoConvergence as e:
                    back = e.best_solution
                cases.append({
                    "file": name, "hdu": index,
                    "world": world.tolist(), "pixel": back.tolist(),
                })
    with open(out, "w") as f:
        json.dump(cases, f)
    print(f"wcs_oracle: {sum(len(c['world']) for c in cases)} positions on {len(cases)} HDUs")


main()

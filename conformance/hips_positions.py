#!/usr/bin/env python3
"""Positions through values (issue "HiPS 1.0 build").

Usage: hips_positions.py VOGATE_BINARY

Writes three float32 TAN images whose pixel values are a smooth known function f of the
sky position (f(v) = 1000 + 500 (v . d) + 300 (v . e)^2 for the ICRS unit vector v): one
at (150, 30), one across RA = 0, one holding the north pole. For each, `vogate hips build`
makes a HiPS, and every pixel of every tile of the deepest order is checked against f at its
HEALPix cell centre, computed here by astropy-healpix (NESTED; the tile pixel (x, y) -> cell
order of HiPS 1.0, as Hipsgen writes it: the sub-index interleaves width-1-y, even bits,
with x, odd bits), independently of vogate's cdshealpix:

- a non-blank pixel equals f within the interpolation error bound: 1e-4 + 2e-7 |f| (float32
  values, and bilinear interpolation of f, whose second derivative across a pixel of
  0.002 deg is far below that) where the cell centre lies at least one pixel inside the
  image; within the outer pixel, where the value is the edge pixel's, |grad f| x 1 pixel;
- a pixel whose cell centre lies at least one pixel inside the image is not blank, and one
  outside the image is blank.

Exits 1 on any failure; prints the largest error per image.
"""
import glob
import os
import re
import subprocess
import sys
import tempfile
import warnings

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from astropy.coordinates import SkyCoord
import astropy.units as u

from hips_cells import tile_centres

warnings.simplefilter("ignore")

D = np.array([np.cos(np.radians(50)) * np.cos(np.radians(40)),
              np.cos(np.radians(50)) * np.sin(np.radians(40)), np.sin(np.radians(50))])
E = np.array([0.6, -0.48, 0.64])
PIXEL = 0.002  # degrees


def f(v):
    return 1000.0 + 500.0 * (v @ D) + 300.0 * (v @ E) ** 2


def unit(ra, dec):
    ra, dec = np.radians(ra), np.radians(dec)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def image(path, ra, dec, n):
    h = fits.Header()
    h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
    h["CRVAL1"], h["CRVAL2"] = ra, dec
    h["CRPIX1"], h["CRPIX2"] = (n + 1) / 2, (n + 1) / 2
    h["CDELT1"], h["CDELT2"] = -PIXEL, PIXEL
    h["RADESYS"] = "ICRS"
    w = WCS(h)
    yy, xx = np.mgrid[0:n, 0:n]
    sky = w.pixel_to_world(xx, yy)
    data = f(unit(sky.ra.deg, sky.dec.deg)).astype(np.float32)
    fits.PrimaryHDU(data, h).writeto(path, overwrite=True)
    return w, n


def check(binary, work, name, ra, dec, n):
    src = os.path.join(work, f"{name}.fits")
    w, n = image(src, ra, dec, n)
    out = os.path.join(work, name)
    subprocess.run([binary, "hips", "build", "--out", out, "--in", src], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    order = int(re.search(r"hips_order\s*=\s*(\d+)", open(os.path.join(out, "properties")).read()).group(1))
    tiles = glob.glob(os.path.join(out, f"Norder{order}", "Dir*", "Npix*.fits"))
    worst, worst_edge, bad, pixels = 0.0, 0.0, 0, 0
    for t in tiles:
        ipix = int(re.search(r"Npix(\d+)", t).group(1))
        data = fits.getdata(t).astype(np.float64)
        size = data.shape[0]
        lon, lat = tile_centres(order, ipix, size, frame="icrs")
        truth = f(unit(lon.deg, lat.deg)).reshape(size, size)
        px, py = w.world_to_pixel(SkyCoord(lon, lat, frame="icrs"))
        px, py = (px + 1).reshape(size, size), (py + 1).reshape(size, size)  # FITS 1-based
        inside = (px >= 0.5) & (px <= n + 0.5) & (py >= 0.5) & (py <= n + 0.5)
        interior = (px >= 1.5) & (px <= n - 0.5) & (py >= 1.5) & (py <= n - 0.5)
        have = np.isfinite(data)
        err = np.abs(data - truth)
        tol = 1e-4 + 2e-7 * np.abs(truth)
        grad = 800.0 * np.radians(PIXEL)  # |grad f| per pixel, at most
        i = have & interior
        e = have & inside & ~interior
        worst = max(worst, float(np.max(err[i], initial=0)))
        worst_edge = max(worst_edge, float(np.max(err[e], initial=0)))
        wrong = int(np.sum(err[i] > tol[i])) + int(np.sum(err[e] > grad))
        missing = int(np.sum(interior & ~have))
        stray = int(np.sum(have & ~inside))
        if wrong or missing or stray:
            print(f"{name}: tile {order}/{ipix}: {wrong} values off f, {missing} blank inside the image, {stray} set outside it")
            bad += 1
        pixels += int(have.sum())
    print(f"{name}: order {order}, {len(tiles)} tiles, {pixels} pixels with values; largest error "
          f"{worst:.2e} inside, {worst_edge:.2e} in the outer pixel; {bad} tiles failed")
    return bad == 0 and len(tiles) > 0


def main():
    binary = sys.argv[1]
    ok = True
    with tempfile.TemporaryDirectory() as work:
        ok &= check(binary, work, "tan", 150.0, 30.0, 300)
        ok &= check(binary, work, "ra0", 0.05, -10.0, 300)
        ok &= check(binary, work, "pole", 0.0, 89.7, 400)
    print("positions through values:", "passed" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

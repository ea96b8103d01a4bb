#!/usr/bin/env python3
"""astropy's side of the live-ingest benchmark (services/gateway/examples/bench_live.rs):
read the headers of every HDU of the FITS files under a tree, in a Python loop, as a script
that indexes FITS files with astropy would (no pixels), and the values of the keywords
vogate reads for a row (WCS, time, names), which makes astropy parse those cards. Prints
files/s for both: headers alone, and headers with those values.

Usage: bench_live_astropy.py TREE [LIMIT]   (LIMIT: read at most this many files)
"""
import os
import sys
import time

from astropy.io import fits


# The keywords vogate's ingest reads from an image HDU (vo_fits::header's TEXT_KEYS and
# NUMBER_KEYS).
KEYS = [
    "NAXIS", "NAXIS1", "NAXIS2", "CTYPE1", "CTYPE2", "CUNIT1", "CUNIT2", "RADESYS", "DATE-OBS",
    "TIMESYS", "TELESCOP", "INSTRUME", "OBJECT", "EXTNAME", "EXTTYPE", "BUNIT", "CRPIX1",
    "CRPIX2", "CRVAL1", "CRVAL2", "CDELT1", "CDELT2", "CROTA2", "CD1_1", "CD1_2", "CD2_1",
    "CD2_2", "PC1_1", "PC1_2", "PC2_1", "PC2_2", "LONPOLE", "LATPOLE", "EQUINOX", "MJD-OBS",
    "EXPTIME",
]


def main():
    root = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else None
    paths = []
    for d, _, names in os.walk(root):
        paths.extend(os.path.join(d, n) for n in names if n.lower().endswith(".fits"))
    paths.sort()
    if limit:
        paths = paths[:limit]
    for with_values in (False, True):
        t = time.perf_counter()
        cards = 0
        for p in paths:
            with fits.open(p, memmap=False, lazy_load_hdus=False) as hdus:
                for hdu in hdus:
                    h = hdu.header
                    cards += len(h)
                    if with_values:
                        cards += sum(1 for k in KEYS if h.get(k) is not None)
        secs = time.perf_counter() - t
        what = "headers and the keyword values vogate reads" if with_values else "headers"
        print(f"astropy: {what} of {len(paths)} files: {secs:.2f} s = "
              f"{len(paths) / secs:.0f} files/s")


if __name__ == "__main__":
    main()

"""HEALPix cells of a HiPS tile's pixels, shared by the HiPS conformance scripts.

Pixel (x, y) of a FITS tile (y counted from the bottom row) of order `order` and index
`ipix`, n pixels wide, is cell ipix * n^2 + s of depth order + log2(n), where the sub-index
s interleaves n - 1 - y (even bits) with x (odd bits): the order HiPS 1.0 tiles have as
Hipsgen writes them. Cell centres come from astropy-healpix (NESTED), independently of
vogate's cdshealpix.
"""
import numpy as np


def interleave(even, odd, bits):
    r = np.zeros_like(even)
    for k in range(bits):
        r |= ((even >> k) & 1) << (2 * k)
        r |= ((odd >> k) & 1) << (2 * k + 1)
    return r


def tile_centres(order, ipix, n, frame=None):
    """(lon, lat) of the cell centres of the n x n pixels of tile `ipix`, flattened in FITS
    order (row 0 at the bottom), as astropy-healpix gives them (in `frame` if one is given)."""
    from astropy_healpix import HEALPix

    bits = n.bit_length() - 1
    yy, xx = np.mgrid[0:n, 0:n]
    cells = ipix * n * n + interleave(n - 1 - yy, xx, bits)
    hp = HEALPix(nside=2 ** (order + bits), order="nested", frame=frame)
    return hp.healpix_to_lonlat(cells.ravel())

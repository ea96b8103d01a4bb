"""astropy as the judge of the cuts vo-fits makes (`vogate fits cut-header`, `vogate fits cut`).

Usage: python cut_oracle.py VOGATE_BINARY FITS_DIR

For each case (an image HDU and a cut of it), the cut file's values, as astropy reads them
(scaled by the cut's BSCALE/BZERO, BLANK as NaN), must equal astropy's section of the
original (`hdul[i].section[...]`, which decompresses tile-compressed images), exactly, NaN
where NaN; the stored values and BITPIX must be the original's. astropy reads the cut's header and must map
every pixel of the cut to the same sky position (1e-9 degree) as the original header maps
the corresponding pixel; where the header has an alternate WCS 'A' (LSST's physical pixel
coordinates), that must agree too; LTV and CNPIX must have moved with the cut. Cases: the
HSC exposure's image, mask and variance (TAN-SIP, LTV, WCS 'A'), HorseHead and the DSS
file (DSS plate solutions with CNPIX; the second is whole-file gzip), Galactic CAR maps, an
FK4 SIN image held tile-compressed (RICE_1), a GZIP_1 tile-compressed TAN image, 16-bit
values with BLANK, 8-bit values, and lossless GZIP_2 floats (no WCS).
Prints one line per case and "N passed, M failed"; exits 1 on any failure.
"""

import io
import subprocess
import sys
import warnings

import numpy as np
from astropy import log
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

warnings.simplefilter("ignore", FITSFixedWarning)
log.setLevel("WARNING")
warnings.simplefilter("ignore", fits.verify.VerifyWarning)

CASES = [
    ("lsst_HSC-0908120-056-small_mef.fits", 1, 13, 27, 150, 120),
    ("lsst_HSC-0908120-056-small_mef.fits", 2, 13, 27, 150, 120),
    ("lsst_HSC-0908120-056-small_mef.fits", 3, 0, 0, 200, 200),
    ("HorseHead.fits", 0, 300, 211, 400, 350),
    ("dss.14.29.56-62.41.05.fits.gz", 0, 17, 5, 60, 80),
    ("gc_msx_e.fits", 0, 40, 31, 60, 70),
    ("gc_bolocam_gps.fits", 0, 100, 200, 300, 250),
    ("comp_rice1_sin.fits", 1, 120, 40, 200, 150),
    ("derived_gc_2mass_k_gzip1.fits.fz", 1, 64, 100, 300, 200),
    ("derived_bolocam_i16_blank.fits", 0, 0, 0, 120, 90),
    ("derived_HorseHead_u8.fits", 0, 500, 600, 391, 293),
    ("lsst_ticketdm26260_gzip2.fits.fz", 1, 200, 300, 100, 50),
]


def sep_deg(a, b):
    """Angular separation in degrees of (lon, lat) arrays in degrees."""
    l1, b1, l2, b2 = map(np.radians, (a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
    s = np.sin((b2 - b1) / 2) ** 2 + np.cos(b1) * np.cos(b2) * np.sin((l2 - l1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(s, 0, 1))))


def main():
    vogate, data = sys.argv[1], sys.argv[2]
    passed = failed = 0
    for name, hdu, x0, y0, nx, ny in CASES:
        path = f"{data}/{name}"
        out = subprocess.run(
            [vogate, "fits", "cut-header", path, "--hdu", str(hdu), str(x0), str(y0), str(nx), str(ny)],
            capture_output=True, check=False)
        if out.returncode != 0:
            print(f"FAIL {name} HDU {hdu}: vogate: {out.stderr.decode().strip()}")
            failed += 1
            continue
        cut = fits.Header.fromstring(out.stdout.decode("ascii"))
        with fits.open(path) as hdul:
            orig = hdul[hdu].header
            w0 = WCS(orig, hdul).celestial
        jj, ii = np.mgrid[1:ny + 1, 1:nx + 1]
        pix = np.column_stack([ii.ravel(), jj.ravel()]).astype(float)
        problems = []
        worst = 0.0
        if w0.has_celestial:
            sky1 = WCS(cut).celestial.all_pix2world(pix, 1)
            sky0 = w0.all_pix2world(pix + [x0, y0], 1)
            worst = float(np.nanmax(sep_deg(sky0, sky1)))
        if not worst < 1e-9:
            problems.append(f"celestial WCS off by {worst:.2e} deg")
        if cut["NAXIS1"] != nx or cut["NAXIS2"] != ny:
            problems.append(f"NAXIS {cut['NAXIS1']} x {cut['NAXIS2']}")
        if "CTYPE1A" in orig:
            a0 = WCS(orig, key="A").all_pix2world(pix + [x0, y0], 1)
            a1 = WCS(cut, key="A").all_pix2world(pix, 1)
            d = float(np.max(np.abs(a0 - a1)))
            if not d < 1e-9:
                problems.append(f"WCS A off by {d:.2e}")
        for key, sign in (("LTV1", -x0), ("LTV2", -y0), ("CNPIX1", x0), ("CNPIX2", y0)):
            if key in orig and abs(cut[key] - (orig[key] + sign)) > 1e-9:
                problems.append(f"{key} {orig[key]} -> {cut[key]}")
        out = subprocess.run(
            [vogate, "fits", "cut", path, "--hdu", str(hdu), str(x0), str(y0), str(nx), str(ny)],
            capture_output=True, check=False)
        if out.returncode != 0:
            problems.append(f"vogate fits cut: {out.stderr.decode().strip()}")
        else:
            with fits.open(io.BytesIO(out.stdout)) as mine, fits.open(path) as hdul:
                got = mine[0].data
                want = hdul[hdu].section[y0:y0 + ny, x0:x0 + nx]
                if got is None or got.shape != want.shape:
                    problems.append(f"data shape {None if got is None else got.shape}")
                elif not np.array_equal(got, want, equal_nan=True):
                    diff = np.nanmax(np.abs(got.astype(float) - want.astype(float)))
                    problems.append(f"data differs from astropy's section by up to {diff}")
            with fits.open(path, disable_image_compression=True) as raw_hdul:
                raw_header = raw_hdul[hdu].header
                compressed = raw_header.get("ZIMAGE", False)
                bitpix = raw_header["ZBITPIX"] if compressed else raw_header["BITPIX"]
            with fits.open(io.BytesIO(out.stdout)) as mine:
                if mine[0].header["BITPIX"] != bitpix:
                    problems.append(f"BITPIX {mine[0].header['BITPIX']} != {bitpix}")
            if not compressed:
                with fits.open(io.BytesIO(out.stdout), do_not_scale_image_data=True) as mine, \
                        fits.open(path, do_not_scale_image_data=True) as hdul:
                    raw = hdul[hdu].data[y0:y0 + ny, x0:x0 + nx]
                    if not np.array_equal(mine[0].data, raw) or mine[0].data.dtype != raw.dtype:
                        problems.append("stored values differ")
        label = f"{name} HDU {hdu} cut {nx}x{ny} at ({x0}, {y0})"
        if problems:
            print(f"FAIL {label}: {'; '.join(problems)}")
            failed += 1
        else:
            print(f"ok   {label}: {nx * ny} pixels within {worst:.1e} deg, values equal")
            passed += 1
    print(f"cuts: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()

#!/usr/bin/env python3
"""DataLink {links} of every product, judged by stilts datalinklint, astropy and pyvo.

Usage: datalink_check.py BASE_URL

For every row of ivoa.ObsCore (read through TAP):
- the links document validates under `stilts datalinklint` (0 errors, 0 warnings) and
  astropy's VOTable parser with verify='exception';
- pyvo reads it (`DatalinkResults.from_result_url`): one `#this` row whose file is the
  product, and for images and cubes `#cutout` rows (`bysemantics`) whose first service
  descriptor (`get_first_proc`) is SODA sync: `processed(circle=...)` at the product's
  centre returns a FITS file whose WCS puts that centre inside the cut;
- an unknown ID gives a NotFoundFault row, and no ID a DALI error.
Prints "datalink: N passed, M failed" and exits 1 if any failed.
"""

import io
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import warnings

import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.io.votable import parse
from astropy.wcs import WCS, FITSFixedWarning
from pyvo.dal import TAPService
from pyvo.dal.adhoc import DatalinkResults

warnings.simplefilter("ignore", FITSFixedWarning)

BASE = sys.argv[1].rstrip("/")
passed, failed = 0, 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAILED: {what}")


def links_url(did):
    return f"{BASE}/datalink/links?" + urllib.parse.urlencode({"ID": did})


rows = TAPService(f"{BASE}/tap").run_sync(
    "SELECT obs_publisher_did, obs_id, dataproduct_type, s_ra, s_dec, s_fov FROM ivoa.ObsCore "
    "ORDER BY obs_publisher_did").to_table()
for did, obs_id, ptype, ra, dec, fov in rows.iterrows():
    url = links_url(did)
    lint = subprocess.run(["stilts", "datalinklint", f"votable={url}"], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True)
    totals = [l for l in lint.stdout.splitlines() if l.startswith("Totals:")]
    check(totals and totals[0].startswith("Totals: Errors: 0; Warnings: 0;"),
          f"{obs_id}: datalinklint {totals or lint.stdout[-2000:]}")
    body = urllib.request.urlopen(url).read()
    try:
        parse(io.BytesIO(body), verify="exception")
        check(True, "")
    except Exception as e:  # noqa: BLE001 - any complaint is a failure
        check(False, f"{obs_id}: astropy verify='exception': {e}")
    dl = DatalinkResults.from_result_url(url)
    this = list(dl.bysemantics("#this", include_narrower=False))
    check(len(this) == 1 and this[0].access_url.endswith("/files/" + urllib.parse.quote(obs_id, safe="")),
          f"{obs_id}: #this rows {[r.access_url for r in this]}")
    if ptype not in ("image", "cube"):
        continue
    cutouts = list(dl.bysemantics("#cutout", include_narrower=False))
    check(len(cutouts) == 2, f"{obs_id}: {len(cutouts)} #cutout rows")
    proc = dl.get_first_proc()
    radius = max(min(float(fov) / 10, 0.05), 1e-4)
    try:
        data = proc.processed(circle=(float(ra), float(dec), radius)).read()
        with fits.open(io.BytesIO(data)) as h:
            image = next(hdu for hdu in h if hdu.data is not None and hdu.header.get("NAXIS", 0) >= 2)
            w = WCS(image.header).celestial
            # The centre is ICRS; the image's WCS may be in another frame (galactic).
            x, y = w.world_to_pixel(SkyCoord(float(ra) * u.deg, float(dec) * u.deg, frame="icrs"))
            ny, nx = image.data.shape[-2:]
            check(-1 <= x <= nx and -1 <= y <= ny,
                  f"{obs_id}: the centre is at pixel ({x:.1f}, {y:.1f}) of a {nx} x {ny} cut")
    except Exception as e:  # noqa: BLE001
        check(False, f"{obs_id}: processed(circle=...) : {e}")

# An unknown ID: a NotFoundFault row; no ID: a DALI error document with HTTP 400.
dl = DatalinkResults.from_result_url(links_url("ivo://vogate.local/vogate?no-such.fits"))
messages = [r.error_message for r in dl]
check(len(messages) == 1 and str(messages[0]).startswith("NotFoundFault:"), f"unknown ID: {messages}")
try:
    urllib.request.urlopen(f"{BASE}/datalink/links")
    check(False, "no ID: answered 200")
except urllib.error.HTTPError as e:
    check(e.code == 400 and b"QUERY_STATUS" in e.read(), f"no ID: HTTP {e.code}")

print(f"datalink: {passed} passed, {failed} failed ({len(rows)} products)")
sys.exit(1 if failed else 0)

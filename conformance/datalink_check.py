#!/usr/bin/env python3
"""DataLink {links} of every product, judged by stilts datalinklint, astropy and pyvo.

Usage: datalink_check.py BASE_URL DATA_DIR

For every row of ivoa.ObsCore (read through TAP):
- the links document validates under `stilts datalinklint` (0 errors, 0 warnings) and
  astropy's VOTable parser with verify='exception';
- pyvo reads it (`DatalinkResults.from_result_url`): one `#this` row whose file is the
  product, and for images and cubes `#cutout` rows (`bysemantics`) whose first service
  descriptor (`get_first_proc`) is SODA sync: `processed(circle=...)` at the product's
  centre returns a FITS file whose WCS puts that centre inside the cut;
- the `#preview` PNG is not blank, has the image's aspect ratio and its orientation: its
  grey levels correlate (r > 0.9) with the product's first image (first plane) binned to
  the preview's size, flipped to rows top-down (np.flipud) and stretched as vogate says it
  stretches (0.5-99.5 percentile cut, asinh);
- pyvo's iter_datalinks() over `SELECT * FROM ivoa.ObsCore` yields one links document per
  row, for that row's dataset;
- the DALI examples of DataLink and SODA are well-formed XHTML whose examples all answer;
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
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image

import astropy.units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.io.votable import parse
from astropy.wcs import WCS, FITSFixedWarning
from pyvo.dal import TAPService
from pyvo.dal.adhoc import DatalinkResults

warnings.simplefilter("ignore", FITSFixedWarning)

BASE = sys.argv[1].rstrip("/")
DATA = sys.argv[2]
passed, failed = 0, 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAILED: {what}")


def expected_preview(path, width, height):
    """The first image of `path` (first plane), binned as vogate bins it to `width` x
    `height` (an integer factor, mean of the finite values), rows top-down, stretched."""
    with fits.open(path) as h:
        data = next(hdu.data for hdu in h if hdu.is_image and hdu.data is not None and hdu.data.ndim >= 2)
    data = np.asarray(data, dtype=float)
    while data.ndim > 2:
        data = data[0]
    n2, n1 = data.shape
    f = -(-max(n1, n2) // 512)
    pad = np.full((height * f, width * f), np.nan)
    pad[:n2, :n1] = data
    blocks = pad.reshape(height, f, width, f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        binned = np.nanmean(blocks, axis=(1, 3))
    finite = np.sort(binned[np.isfinite(binned)])
    lo = finite[int(round((len(finite) - 1) * 0.005))]
    hi = finite[int(round((len(finite) - 1) * 0.995))]
    if hi <= lo:
        lo, hi = lo - 0.5, lo + 0.5
    t = np.clip((binned - lo) / (hi - lo), 0, 1)
    return np.flipud(np.arcsinh(10 * t) / np.arcsinh(10) * 255)


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
    previews = list(dl.bysemantics("#preview", include_narrower=False))
    check(len(previews) == 1, f"{obs_id}: {len(previews)} #preview rows")
    if previews:
        png = Image.open(io.BytesIO(urllib.request.urlopen(previews[0].access_url).read()))
        grey = np.asarray(png.convert("LA"), dtype=float)
        value, alpha = grey[:, :, 0], grey[:, :, 1]
        with fits.open(f"{DATA}/{obs_id}") as h:
            image = next(hdu for hdu in h if hdu.is_image and hdu.data is not None and hdu.data.ndim >= 2)
            n1, n2 = image.data.shape[-1], image.data.shape[-2]
        # The aspect ratio within a pixel of binning.
        check(abs(png.width / png.height - n1 / n2) <= 2 / min(png.width, png.height),
              f"{obs_id}: a {png.width} x {png.height} preview of a {n1} x {n2} image")
        want = expected_preview(f"{DATA}/{obs_id}", png.width, png.height)
        shown = (alpha > 0) & np.isfinite(want)
        check(shown.any() and value[shown].std() > 0, f"{obs_id}: the preview is blank")
        if shown.sum() > 10 and value[shown].std() > 0 and want[shown].std() > 0:
            r = np.corrcoef(value[shown], want[shown])[0, 1]
            check(r > 0.9, f"{obs_id}: the preview correlates with the data by r = {r:.3f}")
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

# iter_datalinks over every ObsCore row (the TAP result's DataLink service descriptor): one
# links document per row, for that row's dataset.
res = TAPService(f"{BASE}/tap").run_sync("SELECT * FROM ivoa.ObsCore")
docs = list(res.iter_datalinks())
check(len(docs) == len(res), f"iter_datalinks gave {len(docs)} documents for {len(res)} rows")
# pyvo yields the documents in the order of the IDs (it sorts the batch's rows by ID), each
# with the row it belongs to.
for doc in docs:
    row = doc.original_row
    ids = {str(r["ID"]) for r in doc}
    check(row is not None and ids == {str(row["obs_publisher_did"])},
          f"the links of {row['obs_publisher_did'] if row is not None else '?'} are for {ids}")
check({str(d.original_row["obs_publisher_did"]) for d in docs if d.original_row is not None}
      == {str(r["obs_publisher_did"]) for r in res}, "iter_datalinks covers every row")

# The DALI examples of DataLink and SODA (DALI 1.1 §2.3): well-formed XHTML whose RDFa
# examples each answer 200 when their generic parameters are sent to the service.
XHTML = "{http://www.w3.org/1999/xhtml}"
for service, endpoint in (("datalink", "links"), ("soda", "sync")):
    page = ET.fromstring(urllib.request.urlopen(f"{BASE}/{service}/examples").read())
    examples = [d for d in page.iter(f"{XHTML}div") if d.get("typeof") == "example"]
    check(len(examples) >= 3, f"{service}/examples: {len(examples)} examples")
    for ex in examples:
        pairs = []
        for kv in ex.iter(f"{XHTML}span"):
            if kv.get("property") == "generic-parameter":
                key = next(c.text for c in kv if c.get("property") == "key")
                value = next(c.text for c in kv if c.get("property") == "value")
                pairs.append((key, value))
        status = urllib.request.urlopen(f"{BASE}/{service}/{endpoint}?" + urllib.parse.urlencode(pairs)).status
        check(status == 200, f"{service} example {ex.get('id')}: HTTP {status}")

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

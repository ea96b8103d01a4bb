"""TAP UPLOAD with real clients against a running gateway: pyvo uploads an astropy table
(run_sync and run_async with uploads=...) and gets back exactly what it sent, joined with
ivoa.ObsCore; each of opencadc's upload fixtures (../shared/corpus/adql/opencadc-tap/
upload-votables: every datatype, no rows, column names that are not ADQL identifiers) is
uploaded as it is and read back with its values (or, for the document with no TABLE, refused
with a DALI error).

With FIXTURE_URL (the fixture folder served over HTTP from a host the gateway is allowed to
fetch from), AllTypes.xml is also uploaded by its URL (UPLOAD=t,http://...).

Usage: upload_check.py TAP_URL FIXTURE_DIR [FIXTURE_URL]
Prints "upload_check: N passed, M failed" and exits 1 on a failure.
"""
import sys
from pathlib import Path

import numpy as np
import pyvo
from astropy.io.votable import parse_single_table
from astropy.table import Table

tap_url, fixtures = sys.argv[1], Path(sys.argv[2])
fixture_url = sys.argv[3].rstrip("/") if len(sys.argv) > 3 else None
tap = pyvo.dal.TAPService(tap_url)
passed, failed = 0, 0


def check(what, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAILED: {what} {detail}")


products = tap.run_sync("SELECT obs_id, s_ra, s_dec FROM ivoa.ObsCore ORDER BY obs_id").to_table()
targets = Table({
    "name": [f"t{i}" for i in range(len(products))],
    "ra": np.array(products["s_ra"], dtype=float),
    "dec": np.array(products["s_dec"], dtype=float) + 1.0 / 3600.0,
})
query = ("SELECT u.name, o.obs_id FROM TAP_UPLOAD.mine AS u JOIN ivoa.ObsCore AS o "
         "ON CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', u.ra, u.dec, 2/3600.0)) = 1 "
         "ORDER BY u.name")
# Brute force (haversine): every product within 2 arcsec of each target (several images
# may share a centre).
def sep(ra1, dec1, ra2, dec2):
    p1, p2 = np.radians(dec1), np.radians(dec2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(ra2 - ra1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(min(h, 1.0))))


want = sorted(
    (f"t{i}", str(products["obs_id"][j]))
    for i in range(len(targets)) for j in range(len(products))
    if sep(targets["ra"][i], targets["dec"][i], float(products["s_ra"][j]), float(products["s_dec"][j])) <= 2 / 3600.0)
for mode in ("sync", "async"):
    run = tap.run_sync if mode == "sync" else tap.run_async
    try:
        got = run(query, uploads={"mine": targets}).to_table()
        pairs = sorted(zip([str(x) for x in got["name"]], [str(x) for x in got["obs_id"]]))
        check(f"pyvo run_{mode}(uploads=...)", pairs == want, f"{pairs} != {want}")
    except Exception as e:  # noqa: BLE001 - report, go on
        check(f"pyvo run_{mode}(uploads=...)", False, repr(e))

for path in sorted(fixtures.glob("*.xml")):
    if path.name == "EmptyTable.xml":
        try:
            tap.run_sync("SELECT * FROM TAP_UPLOAD.t", uploads={"t": str(path)})
            check(path.name, False, "accepted a document with no TABLE")
        except pyvo.dal.DALQueryError as e:
            check(path.name, "no TABLE" in str(e), str(e))
        continue
    vot = parse_single_table(str(path))
    sent_names = [f.name for f in vot.fields]
    sent = vot.array
    try:
        res = tap.run_sync("SELECT * FROM TAP_UPLOAD.t", uploads={"t": str(path)})
    except Exception as e:  # noqa: BLE001
        check(path.name, False, repr(e))
        continue
    got = res.to_table()
    # FIELD names exactly as sent (astropy's tables would rename ' column_name').
    ok = list(res.fieldnames) == sent_names and len(got) == len(sent)
    for k in range(len(sent_names)) if ok else []:
        a, b = sent[sent.dtype.names[k]], got[got.colnames[k]]
        for x, y in zip(a, b):
            if np.ma.is_masked(x) or np.ma.is_masked(y):
                ok &= bool(np.ma.is_masked(x) == np.ma.is_masked(y))
            elif isinstance(x, (float, np.floating)):
                ok &= bool(np.float32(x) == np.float32(y))
            elif isinstance(x, (bytes, np.bytes_)):
                ok &= x.decode().strip() == str(y.decode() if isinstance(y, bytes) else y).strip()
            else:
                ok &= str(x).strip() == str(y).strip()
    check(path.name, ok, f"sent {sent_names} {sent!r}\ngot {res.fieldnames} {got!r}")

if fixture_url:
    try:
        res = tap.run_sync("SELECT COUNT(*) AS n FROM TAP_UPLOAD.t",
                           uploads={"t": f"{fixture_url}/AllTypes.xml"})
        check("URL upload of AllTypes.xml", int(res.to_table()["n"][0]) == 1, repr(res.to_table()))
    except Exception as e:  # noqa: BLE001
        check("URL upload of AllTypes.xml", False, repr(e))

print(f"upload_check: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

"""TAP UPLOAD with real clients against a running gateway: pyvo uploads an astropy table
(run_sync and run_async with uploads=...) and gets back exactly what it sent, joined with
ivoa.ObsCore; each of opencadc's upload fixtures (../shared/corpus/adql/opencadc-tap/
upload-votables: every datatype, no rows, column names that are not ADQL identifiers) is
uploaded as it is and read back with its values (or, for the document with no TABLE, refused
with a DALI error).

Usage: upload_check.py TAP_URL FIXTURE_DIR
Prints "upload_check: N passed, M failed" and exits 1 on a failure.
"""
import sys
from pathlib import Path

import numpy as np
import pyvo
from astropy.io.votable import parse_single_table
from astropy.table import Table

tap_url, fixtures = sys.argv[1], Path(sys.argv[2])
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
want = sorted(zip([f"t{i}" for i in range(len(products))], [str(x) for x in products["obs_id"]]))
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
    sent = parse_single_table(str(path)).to_table()
    try:
        got = tap.run_sync("SELECT * FROM TAP_UPLOAD.t", uploads={"t": str(path)}).to_table()
    except Exception as e:  # noqa: BLE001
        check(path.name, False, repr(e))
        continue
    ok = list(got.colnames) == list(sent.colnames) and len(got) == len(sent)
    for name in sent.colnames if ok else []:
        a, b = sent[name], got[name]
        for x, y in zip(a, b):
            if np.ma.is_masked(x) or np.ma.is_masked(y):
                ok &= np.ma.is_masked(x) == np.ma.is_masked(y)
            elif isinstance(x, (float, np.floating)):
                ok &= bool(np.float32(x) == np.float32(y))
            else:
                ok &= str(x).strip() == str(y).strip()
    check(path.name, ok, f"sent {sent!r}\ngot {got!r}")

print(f"upload_check: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

#!/usr/bin/env python3
"""End-to-end checks of a running vogate, with astropy and pyvo as the judges.

Usage: e2e_check.py BASE_URL DATA_DIR SERVER_LOG

- every FITS file in DATA_DIR in which astropy finds a celestial WCS with a TAN, SIN or CAR
  projection has its ObsCore row;
- every row vogate publishes has s_ra/s_dec within 0.1 arcsec of astropy's pixel_to_world of
  the centre pixel ((NAXIS1+1)/2, (NAXIS2+1)/2) (1-based) in ICRS, and every pixel corner that
  astropy can place is within 0.1 arcsec of a vertex of s_region;
- cone queries return exactly what a brute-force haversine over the same rows selects;
- every VOTable answer parses with astropy.io.votable (verify='exception');
- bad requests give HTTP 400 and QUERY_STATUS=ERROR with a message saying what and where;
- files without a celestial WCS are skipped with a logged reason;
- pyvo's TAPService runs a query and downloads a product through its access_url (the
  dataset's DataLink links: the #this link, found with iter_datalinks and getdatalink).
"""

import io
import json
import math
import os
import re
import sys
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np
from astropy.io import fits, votable
from astropy.wcs import WCS, FITSFixedWarning

warnings.simplefilter("ignore", FITSFixedWarning)

BASE, DATA_DIR, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
TOLERANCE_ARCSEC = 0.1
REQUIRED_PROJECTIONS = {"TAN", "SIN", "CAR", "AIT"}
failures = []
checks = 0


def check(ok, message):
    global checks
    checks += 1
    if not ok:
        failures.append(message)
        print("FAIL:", message)


def http(url, data=None):
    req = urllib.request.Request(url, data=data)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def tap(params, post=False):
    enc = urllib.parse.urlencode(params)
    if post:
        return http(BASE + "/tap/sync", enc.encode())
    return http(BASE + "/tap/sync?" + enc)


def votable_ok(body, what):
    try:
        votable.parse(io.BytesIO(body), verify="exception")
        check(True, what)
    except Exception as e:  # noqa: BLE001 - any parse failure is a test failure
        check(False, f"{what}: VOTable does not parse with verify='exception': {e}")


def query_json(q, maxrec=1000000):
    status, ctype, body = tap({"LANG": "ADQL", "QUERY": q, "RESPONSEFORMAT": "json", "MAXREC": maxrec})
    check(status == 200 and ctype.startswith("application/json"), f"{q}: status {status} {ctype}")
    doc = json.loads(body)
    names = [m["name"] for m in doc["metadata"]]
    return [dict(zip(names, row)) for row in doc["data"]]


def sep_arcsec(ra1, dec1, ra2, dec2):
    """Great-circle separation (Vincenty), arcsec."""
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    dra = r2 - r1
    num = math.hypot(math.cos(d2) * math.sin(dra),
                     math.cos(d1) * math.sin(d2) - math.sin(d1) * math.cos(d2) * math.cos(dra))
    den = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(dra)
    return math.degrees(math.atan2(num, den)) * 3600.0


def haversine_deg(ra1, dec1, ra2, dec2):
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    h = math.sin((d2 - d1) / 2) ** 2 + math.cos(d1) * math.cos(d2) * math.sin((r2 - r1) / 2) ** 2
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))


AUXILIARY = {"MASK", "VARIANCE", "VAR", "WEIGHT", "WHT", "ERR", "ERROR", "SIGMA", "DQ", "FLAGS", "BPM", "CONF"}


def astropy_reference(path):
    """(projection, centre (ra, dec), corners [(ra, dec) or None]) of the first image HDU
    with a celestial WCS on axes 1 and 2, all in ICRS degrees; None when there is none."""
    chips = astropy_chips(path)
    return chips[0] if chips else None


def astropy_chips(path):
    """The (projection, centre, corners) of every science image HDU (not a mask, variance ...
    plane by EXTTYPE or EXTNAME) with a celestial WCS on axes 1 and 2, in ICRS degrees."""
    out = []
    with fits.open(path) as hdul:
        for hdu in hdul:
            if not hdu.is_image or hdu.header.get("NAXIS", 0) < 2:
                continue
            kinds = {str(hdu.header.get(k, "")).strip().upper() for k in ("EXTTYPE", "EXTNAME")}
            if kinds & AUXILIARY:
                continue
            try:
                w = WCS(hdu.header, hdul)
            except Exception:  # noqa: BLE001 - astropy refuses the header: no reference
                continue
            if not w.has_celestial or (w.wcs.lng, w.wcs.lat) != (0, 1):
                continue
            wc = w.celestial
            n1, n2 = hdu.header["NAXIS1"], hdu.header["NAXIS2"]
            proj = w.wcs.ctype[0][5:8]

            def icrs(x, y):
                c = wc.pixel_to_world(x, y)
                if not (np.isfinite(c.spherical.lon.deg) and np.isfinite(c.spherical.lat.deg)):
                    return None
                c = c.icrs
                return float(c.ra.deg), float(c.dec.deg)

            centre = icrs((n1 - 1) / 2, (n2 - 1) / 2)
            corners = [icrs(x, y) for x, y in [(-0.5, -0.5), (n1 - 0.5, -0.5), (n1 - 0.5, n2 - 0.5), (-0.5, n2 - 0.5)]]
            out.append((proj, centre, corners))
    return out


def unit(ra, dec):
    r, d = math.radians(ra), math.radians(dec)
    return np.array([math.cos(d) * math.cos(r), math.cos(d) * math.sin(r), math.sin(d)])


def inside_or_on(vertices, centre, p, tol_arcsec):
    """Gnomonic planar point-in-polygon about `centre` (exact for great-circle edges), with the
    boundary widened by tol_arcsec."""
    c = unit(*centre)
    east = np.cross([0, 0, 1.0], c)
    east /= np.linalg.norm(east)
    north = np.cross(c, east)
    def proj(v):
        u = unit(*v)
        return (u @ east / (u @ c), u @ north / (u @ c))
    if unit(*p) @ c <= 0:
        return False  # behind the tangent plane: the projection is not defined there
    poly = [proj(v) for v in vertices]
    x, y = proj(p)
    inside = False
    for i in range(len(poly)):
        (xi, yi), (xj, yj) = poly[i], poly[i - 1]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
    if inside:
        return True
    tol = math.radians(tol_arcsec / 3600)
    for i in range(len(poly)):
        (x1, y1), (x2, y2) = poly[i - 1], poly[i]
        t = max(0, min(1, ((x - x1) * (x2 - x1) + (y - y1) * (y2 - y1)) / ((x2 - x1) ** 2 + (y2 - y1) ** 2)))
        if math.hypot(x - x1 - t * (x2 - x1), y - y1 - t * (y2 - y1)) < tol:
            return True
    return False


def main():
    rows = query_json("SELECT obs_id, s_ra, s_dec, s_fov, s_region, access_url FROM ivoa.ObsCore")
    by_id = {r["obs_id"]: r for r in rows}
    print(f"{len(rows)} ObsCore rows")
    files = sorted(f for f in os.listdir(DATA_DIR) if re.search(r"\.fits(\.gz|\.fz)?$", f, re.I))
    print(f"{'file':40s} {'proj':4s} {'centre_as':>10s} {'corner_as':>10s}  status")
    for f in files:
        chips = astropy_chips(os.path.join(DATA_DIR, f))
        ref = chips[0] if chips else None
        row = by_id.get(f)
        if len(chips) > 1 and row is not None:
            # Several science chips: s_region is their convex hull, the centre its centre.
            nums = [float(x) for x in row["s_region"].split()[2:]]
            hull = list(zip(nums[0::2], nums[1::2]))
            corners = [c for chip in chips for c in chip[2]]
            far = max(min(sep_arcsec(*v, *c) for c in corners) for v in hull)
            check(far < TOLERANCE_ARCSEC, f"{f}: a hull vertex is {far:.4f} arcsec from every chip corner")
            outside = [c for c in corners if not inside_or_on(hull, (row["s_ra"], row["s_dec"]), c, TOLERANCE_ARCSEC)]
            check(not outside, f"{f}: chip corners outside s_region: {outside}")
            mean = sum(unit(*v) for v in hull)
            mra = math.degrees(math.atan2(mean[1], mean[0])) % 360
            mdec = math.degrees(math.atan2(mean[2], math.hypot(mean[0], mean[1])))
            d = sep_arcsec(row["s_ra"], row["s_dec"], mra, mdec)
            check(d < TOLERANCE_ARCSEC, f"{f}: centre {d:.4f} arcsec from the hull's centre")
            print(f"{f:40s} {chips[0][0]:4s} {d:10.5f} {far:10.5f}  ok ({len(chips)} chips, hull of {len(hull)} vertices)")
            continue
        if ref is None:
            check(row is None, f"{f}: astropy finds no celestial WCS but vogate has a row")
            print(f"{f:40s} {'-':4s} {'':>10s} {'':>10s}  no celestial WCS (astropy): {'skipped' if row is None else 'ROW!'}")
            continue
        proj, centre, corners = ref
        if row is None:
            required = proj in REQUIRED_PROJECTIONS
            check(not required, f"{f}: {proj} file has no ObsCore row")
            print(f"{f:40s} {proj:4s} {'':>10s} {'':>10s}  no row ({'REQUIRED' if required else 'later issue'})")
            continue
        d = sep_arcsec(row["s_ra"], row["s_dec"], *centre)
        check(d < TOLERANCE_ARCSEC, f"{f}: centre {d:.4f} arcsec from astropy")
        check(0 <= row["s_ra"] < 360, f"{f}: s_ra {row['s_ra']} outside [0, 360)")
        worst = 0.0
        if row["s_region"] is not None:
            nums = [float(x) for x in row["s_region"].split()[2:]]
            vertices = list(zip(nums[0::2], nums[1::2]))
            for c in corners:
                if c is None:
                    continue
                near = min(sep_arcsec(c[0], c[1], v[0], v[1]) for v in vertices)
                worst = max(worst, near)
            check(worst < TOLERANCE_ARCSEC, f"{f}: a footprint corner is {worst:.4f} arcsec from every s_region vertex")
        else:
            check(row["s_fov"] == 360.0, f"{f}: no s_region but s_fov {row['s_fov']}")
        print(f"{f:40s} {proj:4s} {d:10.5f} {worst:10.5f}  ok")

    # Cones against brute force over the same rows.
    circles = [(266.4, -28.94, 0.5), (85.27, -2.46, 1.0), (0.0, 0.0, 100.0), (284.9, -66.3, 5.0),
               (0.0, 90.0, 80.0), (359.0, -10.0, 40.0), (151.4, 1.65, 0.01), (180.0, -90.0, 30.0)]
    for ra0, dec0, r in circles:
        want = sorted(x["obs_id"] for x in rows if haversine_deg(x["s_ra"], x["s_dec"], ra0, dec0) <= r)
        for q in [f"SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra0}, {dec0}, {r})) = 1",
                  f"SELECT obs_id FROM ivoa.ObsCore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra0}, {dec0}, {r}))"]:
            got = sorted(x["obs_id"] for x in query_json(q))
            check(got == want, f"cone ({ra0}, {dec0}, {r}): got {got}, brute force {want}")
        print(f"cone ({ra0}, {dec0}, {r}): {len(want)} rows, same as brute force")

    # Footprints: CONTAINS(POINT, s_region) against a gnomonic point-in-polygon over the same
    # rows (all-sky rows, s_region NULL, cover every point). Points on a boundary (within
    # 0.01 arcsec) are left out, where the two tests may round differently.
    def region_vertices(text):
        nums = [float(x) for x in text.split()[2:]]
        return list(zip(nums[0::2], nums[1::2]))

    points = [(266.4, -28.94), (266.9, -29.4), (85.27, -2.46), (284.9, -66.3), (0.0, -90.0),
              (217.48, -62.68), (151.41, 1.65), (215.59, -12.735), (30.3, -15.3), (50.7, -37.2),
              (275.8, -12.97), (120.0, 60.0), (0.0, 0.0), (359.99, -28.0)]
    for ra0, dec0 in points:
        want, ambiguous = [], False
        for x in rows:
            if x["s_region"] is None:
                want.append(x["obs_id"])
                continue
            v = region_vertices(x["s_region"])
            inside = inside_or_on(v, (x["s_ra"], x["s_dec"]), (ra0, dec0), 0.0)
            widened = inside_or_on(v, (x["s_ra"], x["s_dec"]), (ra0, dec0), 0.01)
            ambiguous |= inside != widened
            if inside:
                want.append(x["obs_id"])
        if ambiguous:
            continue
        want.sort()
        got = sorted(x["obs_id"] for x in query_json(
            f"SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', {ra0}, {dec0}), s_region) = 1"))
        check(got == want, f"footprints at ({ra0}, {dec0}): got {got}, brute force {want}")
        print(f"footprints at ({ra0}, {dec0}): {len(want)} rows, same as brute force")

    # Every VOTable parses strictly.
    for q, extra in [("SELECT * FROM ivoa.ObsCore", {}),
                     ("SELECT TOP 3 obs_id, s_region FROM ivoa.ObsCore ORDER BY obs_id", {}),
                     ("SELECT * FROM ivoa.ObsCore", {"MAXREC": "2"}),
                     ("SELECT * FROM TAP_SCHEMA.columns", {}),
                     ("SELECT * FROM TAP_SCHEMA.tables", {}),
                     ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 266.4, -28.9, 1)) = 1", {})]:
        status, ctype, body = tap({"LANG": "ADQL", "QUERY": q, **extra}, post=True)
        check(status == 200 and ctype.startswith("application/x-votable+xml"), f"{q}: {status} {ctype}")
        votable_ok(body, q)
        if extra.get("MAXREC") == "2":
            check(b'value="OVERFLOW"' in body, "MAXREC=2 gives QUERY_STATUS=OVERFLOW")

    # The VOTable serializations give the same table: TABLEDATA, BINARY2 and BINARY read by
    # astropy (strictly), and by TOPCAT's reader (stilts tpipe) from the sync URL.
    for q in ["SELECT * FROM ivoa.ObsCore ORDER BY obs_publisher_did", "SELECT * FROM TAP_SCHEMA.columns"]:
        tables = {}
        for fmt in ["votable/td", "votable/b2", "votable/b",
                    "application/x-votable+xml;serialization=BINARY2"]:
            status, ctype, body = tap({"LANG": "ADQL", "QUERY": q, "RESPONSEFORMAT": fmt}, post=True)
            check(status == 200 and ctype.startswith("application/x-votable+xml"), f"{fmt}: {status} {ctype}")
            votable_ok(body, f"{q} as {fmt}")
            tables[fmt] = votable.parse_single_table(io.BytesIO(body)).to_table()

        def cells(t, name):
            # Missing (NULL; NaN; the empty string, which BINARY cannot tell from NULL) as None.
            out = []
            col = t[name]
            for k in range(len(col)):
                v = col[k]
                if np.ma.is_masked(v) or (isinstance(v, float) and np.isnan(v)) or v == "":
                    out.append(None)
                elif isinstance(v, (bytes, np.bytes_)):
                    out.append(v.decode())
                else:
                    out.append(v.item() if hasattr(v, "item") else v)
            return out

        # VOParquet: pyarrow reads the rows (nulls included); astropy's reader
        # (format="parquet.votable") the VOTable metadata with them. astropy's Parquet reader
        # has no nulls (a NULL string comes back as "None"), so its values are compared only
        # where TABLEDATA has one.
        status, ctype, body = tap({"LANG": "ADQL", "QUERY": q, "RESPONSEFORMAT": "parquet"}, post=True)
        check(status == 200 and ctype == "application/vnd.apache.parquet", f"parquet: {status} {ctype}")
        from astropy.table import Table
        import pyarrow.parquet as pq
        ref = tables["votable/td"]
        with tempfile.NamedTemporaryFile(suffix=".parquet") as f:
            f.write(body)
            f.flush()
            arrow = pq.read_table(f.name)
            meta = pq.ParquetFile(f.name).metadata
            check((meta.metadata or {}).get(b"IVOA.VOTable-Parquet.version") == b"1.0", "VOParquet version 1.0")
            check(all(meta.row_group(i).num_rows <= 65536 for i in range(meta.num_row_groups)),
                  "row groups of at most 65,536 rows")
            norm = lambda v: None if v is None or v == "" or (isinstance(v, float) and math.isnan(v)) else v
            same = arrow.num_columns == len(ref.colnames) and arrow.num_rows == len(ref)
            differing = [name for k, name in enumerate(ref.colnames)
                         if k >= arrow.num_columns or [norm(v) for v in arrow.column(k).to_pylist()] != cells(ref, name)]
            check(same and not differing, f"{q}: pyarrow reads the TABLEDATA values from VOParquet (differing: {differing[:5]})")
            vo = Table.read(f.name, format="parquet.votable")
            check(len(vo) == len(ref) and vo.colnames == arrow.column_names,
                  f"astropy reads the VOParquet file: {len(vo)} rows, columns {vo.colnames[:3]}...")
            units = {name: str(vo[name].unit) for name in vo.colnames if vo[name].unit is not None}
            want = {name: str(ref[ref.colnames[k]].unit) for k, name in enumerate(vo.colnames)
                    if ref[ref.colnames[k]].unit is not None}
            check(units == want, f"astropy takes the units from the VOParquet VOTable ({len(units)} columns)")
            present = [name for k, name in enumerate(vo.colnames)
                       if [a for a, b in zip(cells(vo, name), cells(ref, ref.colnames[k])) if b is not None]
                       != [b for b in cells(ref, ref.colnames[k]) if b is not None]]
            check(not present, f"astropy's VOParquet values equal TABLEDATA's where TABLEDATA has one ({present[:5]})")

        ref = tables["votable/td"]
        for fmt, t in tables.items():
            same = t.colnames == ref.colnames and len(t) == len(ref) and all(
                cells(t, c) == cells(ref, c) for c in ref.colnames)
            bad_cols = [c for c in ref.colnames if c in t.colnames and cells(t, c) != cells(ref, c)]
            check(same, f"{q}: {fmt} gives the TABLEDATA values ({len(t)} rows; differing: {bad_cols[:5]})")
        if shutil.which("stilts"):
            for fmt in ["votable/td", "votable/b2", "votable/b"]:
                url = BASE + "/tap/sync?" + urllib.parse.urlencode(
                    {"LANG": "ADQL", "QUERY": q, "RESPONSEFORMAT": fmt})
                r = subprocess.run(["stilts", "tpipe", "ifmt=votable", f"in={url}", "omode=count"],
                                   capture_output=True, text=True)
                want = f"rows: {len(ref)}"
                check(r.returncode == 0 and want in r.stdout,
                      f"stilts tpipe reads {fmt}: {r.stdout.strip()} {r.stderr.strip()[-200:]}")
        print(f"{q}: TABLEDATA, BINARY2 and BINARY agree ({len(ref)} rows)")

    # Bad requests.
    bad = [({"LANG": "ADQL"}, "QUERY"),
           ({"LANG": "SQL", "QUERY": "SELECT * FROM ivoa.ObsCore"}, "LANG=SQL"),
           ({"LANG": "ADQL", "QUERY": "SELECT * FROM ivoa.nosuchtable"}, "ivoa.nosuchtable' does not exist at line 1, column 15"),
           ({"LANG": "ADQL", "QUERY": "SELECT nosuchcolumn FROM ivoa.ObsCore"}, "nosuchcolumn' does not exist in table ivoa.ObsCore at line 1, column 8"),
           ({"LANG": "ADQL", "QUERY": "SELECT FROM WHERE ivoa.ObsCore"}, "line 1, column"),
           ({"LANG": "ADQL", "QUERY": "SELECT obs_id FROM ivoa.ObsCore; DELETE FROM ivoa.ObsCore"}, "one query only")]
    for params, want in bad:
        status, ctype, body = tap(params)
        text = body.decode("utf-8", "replace")
        check(status == 400, f"{params}: status {status}")
        check('name="QUERY_STATUS" value="ERROR"' in text, f"{params}: no QUERY_STATUS=ERROR")
        check(want in text.replace("&quot;", '"'), f"{params}: message lacks {want!r}: {text}")
        votable_ok(body, f"error document for {params}")
    print(f"{len(bad)} bad requests answered with DALI error documents")

    # The skipped file and its reason are in the log.
    log = open(LOG, encoding="utf-8", errors="replace").read()
    log = re.sub(r"\x1b\[[0-9;]*m", "", log)
    check(re.search(r"lsst_ticketdm26260_gzip2\.fits\.fz.*no usable celestial WCS.*no CTYPE1", log) is not None,
          "the file without WCS is logged as skipped with its reason")

    # pyvo: discovery and download.
    import pyvo
    svc = pyvo.dal.TAPService(BASE + "/tap")
    res = svc.run_sync(
        "SELECT TOP 5 obs_id, obs_publisher_did, access_url, access_format FROM ivoa.ObsCore ORDER BY obs_id")
    t = res.to_table()
    check(len(t) == 5, f"pyvo run_sync returned {len(t)} rows")
    # access_url is each dataset's DataLink links; the file is its #this link, found through
    # the service descriptor of the TAP result.
    check(all(str(f) == "application/x-votable+xml;content=datalink" for f in t["access_format"]),
          f"access_format {list(t['access_format'])}")
    links = next(res.iter_datalinks())
    url = next(links.bysemantics("#this", include_narrower=False)).access_url
    status, ctype, body = http(url)
    local = os.path.join(DATA_DIR, str(t["obs_id"][0]))
    check(status == 200 and body == open(local, "rb").read(), f"download {url}: status {status}, {len(body)} bytes")
    print(f"pyvo: {len(t)} rows; downloaded {url} ({len(body)} bytes, {ctype})")
    check(svc.maxrec == 10000 and svc.hardlimit == 1000000, f"pyvo limits {svc.maxrec} {svc.hardlimit}")
    tables = svc.tables
    check("ivoa.ObsCore" in [x.name for x in tables], "pyvo .tables lists ivoa.ObsCore")
    check(len(tables["ivoa.ObsCore"].columns) == 30, "pyvo .tables: ivoa.ObsCore has 30 columns")
    rec = svc.search("SELECT TOP 1 * FROM ivoa.ObsCore WHERE obs_id = 'gc_msx_e.fits'")[0]
    this = next(rec.getdatalink().bysemantics("#this", include_narrower=False))
    data = this.getdataset().read()
    check(data == open(os.path.join(DATA_DIR, "gc_msx_e.fits"), "rb").read(),
          "pyvo getdatalink() -> #this getdataset() returns the product file")
    print(f"pyvo: .tables has {len(tables)} tables; the #this of getdatalink() read {len(data)} bytes")

    print(f"{checks - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Every TAP output format of vogate read back by the clients' own readers, compared with
TABLEDATA (issue 18's must-show): run by conformance/formats_e2e.sh on each backend.

Usage: formats_check.py TAP_URL WORKDIR TABLE [TABLE...]

For each TABLE, `SELECT * FROM TABLE ORDER BY id` is fetched in every format:
- VOTable TABLEDATA, BINARY2 and BINARY: astropy with verify='exception' (no warning at
  all, W55 included) and `stilts votlint` (no ERROR or WARNING line);
- FITS: astropy's Table.read, and TOPCAT's reader (`stilts tpipe`) from the sync URL, as
  for the three VOTable serializations;
- VOParquet: pyarrow (values, nulls distinct from NaN and "") and astropy's
  `parquet.votable` reader (the VOTable metadata);
- CSV and TSV: Python's csv module; JSON: json.

Every value is compared with TABLEDATA's. TABLEDATA itself cannot tell a NULL text from
"" nor a NULL float from NaN (VOTable 1.4 §2.1, §5.1), so there a "" may be NULL and a
NULL may be NaN elsewhere; the rows where they differ are checked on their own in
VOParquet and JSON, which keep them apart. Where a format cannot tell two values apart,
the comparison says so (`lossy`): BINARY has no NULL text, float or boolean distinct from
"", NaN and false, and its integer NULLs are 255 for unsignedByte and each other type's
smallest value (VOTable 1.4 §5.4); FITS has no NULL
text, float or boolean (FITS 4.0 §7.3; astropy reads a NULL boolean as false); JSON
writes NaN and the infinities as null; CSV and TSV have one empty field for NULL and "".
astropy's own Parquet reader turns a boolean column holding NULLs into objects, which its
`parquet.votable` reader then refuses, so that read leaves boolean columns out (pyarrow
reads them all). Prints `formats: N passed, M failed` and exits non-zero on a failure.
"""

import csv
import io
import json
import math
import re
import subprocess
import sys
import urllib.parse
import urllib.request
import warnings

import numpy as np
import pyarrow.parquet as pq
from astropy.io import votable
from astropy.table import Table

TAP, WORK = sys.argv[1], sys.argv[2]
TABLES = sys.argv[3:]
failures = []
passed = 0


def check(ok, what):
    global passed
    if ok:
        passed += 1
    else:
        failures.append(what)
        print("FAIL", what)


def url(query, fmt):
    return TAP + "/sync?" + urllib.parse.urlencode(
        {"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": fmt, "MAXREC": "100000"})


def fetch(query, fmt):
    with urllib.request.urlopen(url(query, fmt)) as r:
        return r.read(), r.headers


def plain(v):
    """A cell as a plain Python value: None for masked, float, int, bool or str."""
    if v is None or v is np.ma.masked:
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.ndarray):
        return [plain(x) for x in v]
    return v


def columns_of(table):
    out = {}
    for name in table.colnames:
        col = table[name]
        mask = getattr(col, "mask", None)
        vals = []
        for i in range(len(col)):
            if mask is not None and np.ndim(mask) and bool(np.all(mask[i])):
                vals.append(None)
            else:
                vals.append(plain(col[i]))
        out[name] = vals
    return out


def same(a, b, lossy=()):
    """a (TABLEDATA's value) and b agree; `lossy` names what b cannot tell apart."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    # What TABLEDATA cannot tell apart.
    if a == "" and b is None:
        return True
    if a is None and isinstance(b, float) and math.isnan(b):
        return True
    if a is None:
        if "null-nan" in lossy and isinstance(b, float) and math.isnan(b):
            return True
        # A NULL array of floats is all NaN where a format has no NULL.
        if "null-nan" in lossy and isinstance(b, list) and all(
                x is None or (isinstance(x, float) and math.isnan(x)) for x in b):
            return True
        if "null-empty" in lossy and b == "":
            return True
        if "null-false" in lossy and b is False:
            return True
    if "byte-255" in lossy and a == 255 and b is None:
        return True
    if "int-min" in lossy and a in (-2**15, -2**31, -2**63) and b is None:
        return True
    if "nan-null" in lossy and b is None and isinstance(a, float) and not math.isfinite(a):
        return True
    if "empty-null" in lossy and a == "" and b is None:
        return True
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-6 * max(abs(a), abs(b))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return all(same(x, y, lossy) for x, y in zip(a, b))
    return False


def compare(ref, got, fmt, table, lossy=()):
    check(set(got) == set(ref), f"{table} {fmt}: columns {sorted(got)} != {sorted(ref)}")
    for name, vals in ref.items():
        g = got.get(name)
        if g is None:
            continue
        check(len(g) == len(vals), f"{table} {fmt} {name}: {len(g)} rows != {len(vals)}")
        bad = [(i, a, b) for i, (a, b) in enumerate(zip(vals, g)) if not same(a, b, lossy)]
        check(not bad, f"{table} {fmt} {name}: rows differ (row, TABLEDATA, {fmt}): {bad[:3]}")


def votlint(body, name):
    path = f"{WORK}/{name}"
    with open(path, "wb") as f:
        f.write(body)
    out = subprocess.run(["stilts", "votlint", f"in={path}"], capture_output=True, text=True)
    problems = [l for l in (out.stdout + out.stderr).splitlines()
                if "ERROR" in l or "WARNING" in l]
    check(not problems, f"votlint {name}: {problems[:5]}")


def tpipe(query, fmt, ifmt):
    out = subprocess.run(["stilts", "tpipe", f"in={url(query, fmt)}", f"ifmt={ifmt}",
                          "ofmt=csv"], capture_output=True, text=True)
    check(out.returncode == 0 and out.stdout, f"stilts tpipe {fmt}: {out.stderr[-500:]}")
    return list(csv.reader(io.StringIO(out.stdout)))


def check_formats(table, q, nonull_q, published=True):
    """Every format of query `q` compared with its TABLEDATA; `table` names it in messages,
    and, when `published`, is a published table whose /tables order and special rows (id 2:
    all NULL, id 3: empty texts and NaN) are checked too; `nonull_q` is `q` without NULLs
    (for astropy's own Parquet reader)."""
    td, _ = fetch(q, "votable/td")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ref_table = votable.parse(io.BytesIO(td), verify="exception").get_first_table()
    ref = columns_of(ref_table.to_table())
    n = len(ref_table.array)
    check(n > 0, f"{table}: rows in TABLEDATA")
    votlint(td, f"{table}-td.xml")
    declared = {f.name: (f.datatype, f.arraysize, f.xtype) for f in ref_table.fields}
    order = [f.name for f in ref_table.fields]
    if published:
        # SELECT * follows the declared column order (/tables lists it, as TAP_SCHEMA's
        # column_index gives it).
        with urllib.request.urlopen(f"{TAP}/tables/{table}") as r:
            doc = r.read().decode("utf-8")
        tables_order = re.findall(r"<column[^>]*>\s*<name>([^<]*)</name>", doc)
        check(order == tables_order,
              f"{table}: SELECT * order {order} != /tables {tables_order}")

    for fmt, lossy in [("votable/b2", ()),
                       ("votable/b", ("null-nan", "null-empty", "null-false", "byte-255",
                                      "int-min"))]:
        body, _ = fetch(q, fmt)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            t = votable.parse(io.BytesIO(body), verify="exception").get_first_table()
        got = {f.name: (f.datatype, f.arraysize, f.xtype) for f in t.fields}
        check(got == declared, f"{table} {fmt}: FIELDs {got} != TABLEDATA's {declared}")
        check([f.name for f in t.fields] == order, f"{table} {fmt}: FIELD order")
        compare(ref, columns_of(t.to_table()), fmt, table, lossy)
        votlint(body, f"{table}-{fmt.replace('/', '-')}.xml")

    body, headers = fetch(q, "fits")
    check(headers.get("Content-Length") == str(len(body)),
          f"{table} fits: Content-Length {headers.get('Content-Length')} for {len(body)} bytes")
    with open(f"{WORK}/{table}.fits", "wb") as f:
        f.write(body)
    # The same FITS from an async job (UWS), byte for byte.
    job = urllib.request.urlopen(urllib.request.Request(
        TAP + "/async", method="POST", data=urllib.parse.urlencode(
            {"LANG": "ADQL", "QUERY": q, "RESPONSEFORMAT": "fits", "MAXREC": "100000",
             "PHASE": "RUN"}).encode()))
    job_url = job.geturl()
    phase = ""
    for _ in range(100):
        with urllib.request.urlopen(job_url + "/phase?WAIT=5") as r:
            phase = r.read().decode().strip()
        if phase in ("COMPLETED", "ERROR", "ABORTED"):
            break
    check(phase == "COMPLETED", f"{table} async fits: phase {phase}")
    if phase == "COMPLETED":
        with urllib.request.urlopen(job_url + "/results/result") as r:
            check(r.read() == body, f"{table} async fits: not the sync answer")
    t = Table.read(f"{WORK}/{table}.fits", hdu=1)
    compare(ref, columns_of(t), "fits", table, ("null-nan", "null-empty", "null-false"))
    check(t.colnames == order, f"{table} fits: column order {t.colnames}")

    body, _ = fetch(q, "parquet")
    pt = pq.read_table(io.BytesIO(body))
    check(pt.column_names == order, f"{table} parquet: column order {pt.column_names}")
    compare(ref, {c: pt.column(c).to_pylist() for c in pt.column_names}, "parquet", table)
    with open(f"{WORK}/{table}.parquet", "wb") as f:
        f.write(body)
    # Where TABLEDATA cannot tell: the all-NULL row (id 2) is NULL in every column but id,
    # and the row of empty texts and NaN (id 3) keeps "" and NaN (PostgreSQL; SQLite stores
    # no NaN).
    prow = {c: pt.column(c).to_pylist() for c in pt.column_names}
    ids = prow.get("id", []) if published else []
    if 2 in ids:
        k = ids.index(2)
        check(all(prow[c][k] is None for c in prow if c != "id"),
              f"{table} parquet: row 2 not all NULL: {[(c, prow[c][k]) for c in prow]}")
    if table.endswith("alltypes") and 3 in ids:
        k = ids.index(3)
        check(all(prow[c][k] == "" for c in ("t_char", "t_string", "t_unicode", "t_text")),
              f"{table} parquet: row 3's empty texts: {[prow[c][k] for c in prow]}")
        f = prow["t_double"][k]
        check(f is None or math.isnan(f), f"{table} parquet: row 3's t_double {f}")
    # astropy's own Parquet reader has no NULL (a NULL text reads as 'None', a NULL long
    # turns its column to float, a NULL boolean its column to objects, which the
    # parquet.votable reader then refuses): it reads the rows without NULLs (all but id 2).
    with open(f"{WORK}/{table}-nonull.parquet", "wb") as f:
        f.write(fetch(nonull_q, "parquet")[0])
    at = Table.read(f"{WORK}/{table}-nonull.parquet", format="parquet.votable")
    check(at.colnames == ref_table.to_table().colnames,
          f"{table} parquet.votable: columns {at.colnames}")
    nonull = columns_of(votable.parse(io.BytesIO(fetch(nonull_q, "votable/td")[0]))
                        .get_first_table().to_table())
    compare(nonull, columns_of(at), "parquet.votable", table)
    units = {c.name: str(c.unit) for c in ref_table.fields if c.unit is not None}
    got_units = {c: str(at[c].unit) for c in at.colnames if at[c].unit is not None}
    check(units == got_units, f"{table} parquet.votable: units {got_units} != {units}")

    body, _ = fetch(q, "json")
    doc = json.loads(body)
    names = [m["name"] for m in doc["metadata"]]
    check(names == order, f"{table} json: column order {names}")
    got = {name: [row[i] for row in doc["data"]] for i, name in enumerate(names)}
    compare(ref, got, "json", table, ("nan-null",))
    if published and table.endswith("alltypes") and 3 in got["id"]:
        k = got["id"].index(3)
        check(got["t_text"][k] == "" and got["t_text"][got["id"].index(2)] is None,
              f"{table} json: '' and NULL not told apart")

    float_cols = {f.name for f in ref_table.fields if f.datatype in ("float", "double")}
    for fmt, sep in [("csv", ","), ("tsv", "\t")]:
        body, _ = fetch(q, fmt)
        rows = list(csv.reader(io.StringIO(body.decode("utf-8")), delimiter=sep))
        header, rows = rows[0], rows[1:]
        check(header == order, f"{table} {fmt}: column order {header}")
        check(len(rows) == n, f"{table} {fmt}: {len(rows)} rows != {n}")
        for i, name in enumerate(header):
            bad = []
            for k, a in enumerate(ref.get(name, [])):
                text = rows[k][i]
                if sep == "\t":
                    text = text.replace("\\t", "\t").replace("\\n", "\n").replace("\\\\", "\\")
                if a is None or a == "":
                    # (TABLEDATA's NULL float may be a NaN.)
                    ok = text == "" or (text == "NaN" and name in float_cols)
                elif isinstance(a, bool):
                    ok = text.lower() in (("true", "t", "1") if a else ("false", "f", "0"))
                elif isinstance(a, float):
                    ok = same(a, float(text.replace("+Inf", "inf").replace("-Inf", "-inf")))
                elif isinstance(a, list):
                    ok = same(a, [float(x) for x in text.split()])
                else:
                    ok = text == str(a)
                if not ok:
                    bad.append((k, a, text))
            check(not bad, f"{table} {fmt} {name}: rows differ: {bad[:3]}")

    # TOPCAT's reader from the sync URL: the same rows in every VOTable format and FITS.
    ref_rows = tpipe(q, "votable/td", "votable")
    for fmt, ifmt in [("votable/b2", "votable"), ("votable/b", "votable"), ("fits", "fits")]:
        rows = tpipe(q, fmt, ifmt)
        check(len(rows) == len(ref_rows) and rows[0] == ref_rows[0],
              f"{table} stilts tpipe {fmt}: {len(rows)} lines, header {rows[:1]}")
        check([r[0] for r in rows] == [r[0] for r in ref_rows],
              f"{table} stilts tpipe {fmt}: ids differ")
    check(len(ref_rows) == n + 1, f"{table} stilts tpipe: {len(ref_rows) - 1} rows != {n}")
    print(f"{table}: {n} rows, {len(ref)} columns, every format compared")


for table in TABLES:
    check_formats(table, f"SELECT * FROM {table} ORDER BY id",
                  f"SELECT * FROM {table} WHERE id <> 2 ORDER BY id")

# Computed geometry (ADQL POINT, CIRCLE, POLYGON in a SELECT list): DALI xtypes, ICRS, in
# degrees with longitudes in [0, 360), the same values in every format.
GEOMETRY = ("SELECT obs_id, s_ra, s_dec, POINT('ICRS', s_ra, s_dec) AS p, "
            "CIRCLE(s_ra - 360, s_dec, s_fov) AS c, "
            "POLYGON(s_ra - 1, s_dec - 1, s_ra + 1, s_dec - 1, s_ra, s_dec + 1) AS poly "
            "FROM ivoa.ObsCore {} ORDER BY obs_id")
check_formats("geometry", GEOMETRY.format(""), GEOMETRY.format("WHERE s_fov IS NOT NULL"),
              published=False)
geo = votable.parse(io.BytesIO(fetch(GEOMETRY.format(""), "votable/td")[0])).get_first_table()
declared = {f.name: (f.datatype, f.arraysize, f.xtype, str(f.unit), f.ref) for f in geo.fields}
for name, size, xtype in [("p", "2", "point"), ("c", "3", "circle"), ("poly", "*", "polygon")]:
    check(declared[name][:4] == ("double", size, xtype, "deg") and declared[name][4],
          f"geometry: FIELD {name} {declared[name]}")
rows = geo.to_table()
check(len(rows) > 0, "geometry: rows")
for r in rows:
    ra, dec = float(r["s_ra"]), float(r["s_dec"])
    wrap = lambda x: x % 360.0
    check(list(r["p"]) == [ra, dec], f"geometry {r['obs_id']}: p {list(r['p'])}")
    want = [wrap(ra - 1), dec - 1, wrap(ra + 1), dec - 1, ra, dec + 1]
    check(same(want, [float(x) for x in r["poly"]]),
          f"geometry {r['obs_id']}: poly {list(r['poly'])} != {want}")
    if not np.ma.is_masked(r["c"]):
        check(same([ra, dec], [float(x) for x in r["c"][:2]]),
              f"geometry {r['obs_id']}: c {list(r['c'])}")

# ObsCore in FITS: the column names, and the utypes longer than one header card (CONTINUE).
q = "SELECT TOP 3 * FROM ivoa.ObsCore ORDER BY obs_id"
td = votable.parse(io.BytesIO(fetch(q, "votable/td")[0])).get_first_table()
body, _ = fetch(q, "fits")
with open(f"{WORK}/obscore.fits", "wb") as f:
    f.write(body)
from astropy.io import fits as pyfits
with pyfits.open(f"{WORK}/obscore.fits") as hdus:
    hdus.verify("exception")
    h = hdus[1].header
    names = [h[f"TTYPE{k}"] for k in range(1, h["TFIELDS"] + 1)]
    check(names == [f.name for f in td.fields], f"ObsCore fits: columns {names}")
    utypes = [h.get(f"TUTYP{k}") for k in range(1, h["TFIELDS"] + 1)]
    check(utypes == [f.utype for f in td.fields], f"ObsCore fits: utypes {utypes}")

print(f"formats: {passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)

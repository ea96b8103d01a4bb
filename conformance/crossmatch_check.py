"""Issue 19's cross-match check against a running gateway (bench_server): an upload of M
positions matched with ivoa.ObsCore within R arcsec through /tap/sync equals a brute-force
match, pair for pair; the time of the upload query (best of 3); the same through pyvo's
run_sync(uploads=...); and the database's plan (/bench/explain) must show the spatial index.

Usage: crossmatch_check.py BASE_URL BACKEND [M] [R_ARCSEC] [TABLE]
(BACKEND: sqlite or postgres, for what the plan must show; dachs for a DaCHS server, whose
plan is not asked. TABLE: the catalog, ivoa.ObsCore by default. The targets depend only on
the catalog's rows, ordered by obs_id, so two servers of one catalog get the same upload.)
"""
import io
import sys
import time
import urllib.request
import uuid

import numpy as np

base, backend = sys.argv[1].rstrip("/"), sys.argv[2]
m = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
r_arcsec = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
r = r_arcsec / 3600.0
table = sys.argv[5] if len(sys.argv) > 5 else "ivoa.ObsCore"


def get(path, params):
    q = urllib.parse.urlencode(params)
    with urllib.request.urlopen(f"{base}{path}?{q}", timeout=600) as resp:
        return resp.read()


def post_multipart(path, fields, files):
    boundary = "<<<--" + uuid.uuid4().hex + "-->>>"
    body = io.BytesIO()
    for k, v in fields.items():
        body.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode())
    for k, data in files.items():
        body.write(
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{k}.xml\"\r\n"
            "Content-Type: application/x-votable+xml\r\n\r\n".encode())
        body.write(data)
        body.write(b"\r\n")
    body.write(f"--{boundary}--\r\n".encode())
    req = urllib.request.Request(
        f"{base}{path}", data=body.getvalue(), method="POST",
        headers={"Content-Type": f'multipart/form-data; boundary="{boundary}"'})
    with urllib.request.urlopen(req, timeout=600) as resp:
        return resp.read()


# The catalog's positions.
csv = get("/tap/sync", {"LANG": "ADQL", "RESPONSEFORMAT": "csv", "MAXREC": 100_000_000,
                        "QUERY": f"SELECT obs_id, s_ra, s_dec FROM {table} ORDER BY obs_id"}).decode()
lines = [ln.replace('"', "") for ln in csv.splitlines()[1:] if ln.strip()]
cat_id = np.array([ln.split(",")[0] for ln in lines])
cat_ra = np.array([float(ln.split(",")[1]) for ln in lines])
cat_dec = np.array([float(ln.split(",")[2]) for ln in lines])
n = len(cat_id)
print(f"catalog: {n} rows")

# M targets: half near catalog rows (0 to 2R away), half anywhere on the sky.
rng = np.random.default_rng(19)
near = rng.integers(0, n, m // 2)
d = rng.uniform(0, 2 * r, m // 2)
pa = rng.uniform(0, 2 * np.pi, m // 2)
dec0 = np.radians(cat_dec[near])
dec1 = np.arcsin(np.sin(dec0) * np.cos(np.radians(d)) + np.cos(dec0) * np.sin(np.radians(d)) * np.cos(pa))
dra = np.arctan2(np.sin(pa) * np.sin(np.radians(d)) * np.cos(dec0),
                 np.cos(np.radians(d)) - np.sin(dec0) * np.sin(dec1))
up_ra = np.concatenate([(cat_ra[near] + np.degrees(dra)) % 360.0, rng.uniform(0, 360, m - m // 2)])
up_dec = np.concatenate([np.degrees(dec1), np.degrees(np.arcsin(rng.uniform(-1, 1, m - m // 2)))])
rows = "".join(f"<TR><TD>{i}</TD><TD>{a!r}</TD><TD>{b!r}</TD></TR>\n"
               for i, (a, b) in enumerate(zip(up_ra.tolist(), up_dec.tolist())))
votable = ("<?xml version='1.0'?>\n<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">"
           "<RESOURCE><TABLE>"
           "<FIELD name=\"id\" datatype=\"long\" ucd=\"meta.id;meta.main\"/>"
           "<FIELD name=\"ra\" datatype=\"double\" unit=\"deg\" ucd=\"pos.eq.ra;meta.main\"/>"
           "<FIELD name=\"dec\" datatype=\"double\" unit=\"deg\" ucd=\"pos.eq.dec;meta.main\"/>"
           f"<DATA><TABLEDATA>\n{rows}</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>\n").encode()

# Brute force: every catalog row within R of each target (the dec window is only a
# necessary condition; the distance decides), by the haversine.
order = np.argsort(cat_dec)
sdec, sra, sid = cat_dec[order], cat_ra[order], cat_id[order]
want = set()
for i, (a, b) in enumerate(zip(up_ra, up_dec)):
    lo, hi = np.searchsorted(sdec, b - r - 1e-9), np.searchsorted(sdec, b + r + 1e-9, side="right")
    p1, p2 = np.radians(b), np.radians(sdec[lo:hi])
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(sra[lo:hi] - a) / 2) ** 2
    dist = np.degrees(2 * np.arcsin(np.sqrt(np.minimum(h, 1.0))))
    for j in np.nonzero(dist <= r)[0]:
        want.add((i, sid[lo + j]))
print(f"brute force: {len(want)} pairs within {r_arcsec} arcsec of {m} targets")

query = (f"SELECT u.id, o.obs_id FROM TAP_UPLOAD.t AS u JOIN {table} AS o "
         f"ON CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', u.ra, u.dec, {r_arcsec}/3600.0)) = 1")
fields = {"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": "csv", "MAXREC": 10_000_000,
          "UPLOAD": "t,param:t"}
times = []
for _ in range(3):
    t0 = time.perf_counter()
    out = post_multipart("/tap/sync", fields, {"t": votable}).decode()
    times.append(time.perf_counter() - t0)
got = set()
for ln in out.splitlines()[1:]:
    if ln.strip():
        i, obs_id = ln.replace('"', "").split(",", 1)
        got.add((int(i), obs_id.strip()))
missing, extra = want - got, got - want
print(f"{backend}: {len(got)} pairs; {len(missing)} missing, {len(extra)} extra; "
      f"best of 3: {min(times):.3f} s (all: {', '.join(f'{t:.3f}' for t in times)})")
where = {obs_id: k for k, obs_id in enumerate(cat_id)}
for i, obs_id in sorted(missing | extra)[:5]:
    k = where.get(obs_id)
    if k is not None:
        p1, p2 = np.radians(up_dec[i]), np.radians(cat_dec[k])
        h = (np.sin((p2 - p1) / 2) ** 2
             + np.cos(p1) * np.cos(p2) * np.sin(np.radians(cat_ra[k] - up_ra[i]) / 2) ** 2)
        d = np.degrees(2 * np.arcsin(np.sqrt(min(h, 1.0)))) * 3600
        print(f"  {'missing' if (i, obs_id) in missing else 'extra'}: target {i}, {obs_id} "
              f"at {d:.9f} arcsec")

# pyvo, as a notebook user uploads an astropy table.
import pyvo  # noqa: E402
from astropy.table import Table  # noqa: E402

t = Table({"id": np.arange(m), "ra": up_ra, "dec": up_dec})
t["ra"].meta = {}
t0 = time.perf_counter()
res = pyvo.dal.TAPService(f"{base}/tap").run_sync(
    query.replace("TAP_UPLOAD.t", "TAP_UPLOAD.mine"), uploads={"mine": t}, maxrec=10_000_000)
pyvo_pairs = {(int(a), str(b)) for a, b in zip(res["id"], res["obs_id"])}
print(f"pyvo run_sync(uploads=...): {len(pyvo_pairs)} pairs in {time.perf_counter() - t0:.3f} s; "
      f"same as brute force: {pyvo_pairs == want}")

if backend == "dachs":
    plan = "(not asked of DaCHS)"
else:
    plan = post_multipart("/bench/explain", fields, {"t": votable}).decode()
print("plan:\n" + plan)
if backend == "dachs":
    uses_index = True
elif backend == "sqlite":
    uses_index = "USING INDEX" in plan and "_hpx" in plan
else:
    uses_index = "Index Scan" in plan or "Bitmap Index Scan" in plan
print(f"the plan uses the spatial index: {uses_index}")
ok = not missing and not extra and uses_index and pyvo_pairs == want
print("CROSSMATCH OK" if ok else "CROSSMATCH FAILED")
sys.exit(0 if ok else 1)

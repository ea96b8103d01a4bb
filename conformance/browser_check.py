"""What conformance/browser/check.mjs saw of vogate's landing page, checked (issue 17).

Usage: browser_check.py WORKDIR BASE_URL HIPS_ID [MIN_CLOSEUPS]
  WORKDIR holds result.json and sky.png (check.mjs) and server.log (the gateway's, with
  RUST_LOG=vogate::access=debug).

Checks: Aladin Lite loaded from vogate's local copy; the browser asked for HiPS tiles of
HIPS_ID and for the footprint query, and the server log shows both answered 200; the page
drew one footprint per ObsCore row with an s_region; the view is not uniform, and centred
on each of the first footprints the screenshot is neither uniform nor blank inside it (the
HiPS's images are drawn there); /hips/list parses as a HiPS 1.0 list
(§4.4.3: properties records apart by blank lines, the mandatory keys, a hips_service_url
whose properties answer); `../` in a tile path is a 404. Exit 1 on any failure.
"""

import http.client
import json
import re
import sys
import urllib.parse
import urllib.request

from PIL import Image, ImageDraw, ImageStat

work, base, hips_id = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
# How many close-ups must show structure (default: all). One HiPS of images whose values
# differ by decades has one pixel cut, under which the faint ones are drawn (nearly) black.
min_closeups = int(sys.argv[4]) if len(sys.argv) > 4 else None
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


result = json.load(open(f"{work}/result.json"))
log = open(f"{work}/server.log", encoding="utf-8", errors="replace").read()
for e in result.get("errors", []):
    print("page error:", e)

check(result.get("aladin") == "loaded", f"Aladin Lite loaded (page status: {result.get('status')!r})")
reqs = result.get("requests", [])
check(any(u.endswith("/static/aladin.js") for u in reqs), "the browser loaded vogate's local copy of Aladin Lite")
tiles = [u for u in reqs if re.search(rf"/hips/{re.escape(hips_id)}/Norder\d+/", u)]
check(len(tiles) > 0, f"the browser asked for {len(tiles)} HiPS tiles of {hips_id}")
fq = [u for u in reqs if "/tap/sync" in u and "s_region" in urllib.parse.unquote(u)]
check(len(fq) == 1, "the browser sent the footprint query to /tap/sync")

# The server's access log: method, uri, status.
served = re.findall(r"method=GET uri=(\S+) status=(\d+)", log)
tile_hits = [u for u, s in served if re.match(rf"/hips/{re.escape(hips_id)}/Norder\d+/", u) and s == "200"]
check(len(tile_hits) > 0, f"the server log shows {len(tile_hits)} HiPS tiles served (200)")
check(any(u.startswith("/tap/sync") and "s_region" in urllib.parse.unquote(u) and s == "200" for u, s in served),
      "the server log shows the footprint query answered (200)")

# One footprint per ObsCore row with an s_region.
q = "SELECT COUNT(*) AS n FROM ivoa.ObsCore WHERE s_region IS NOT NULL"
with urllib.request.urlopen(f"{base}/tap/sync?LANG=ADQL&RESPONSEFORMAT=json&QUERY={urllib.parse.quote(q)}") as r:
    rows = json.load(r)["data"][0][0]
check(rows > 0 and result.get("footprints") == min(rows, 5000),
      f"{result.get('footprints')} footprints drawn for {rows} ObsCore rows with an s_region")

# The screenshot: inside each footprint in view, the images (not a uniform fill).
img = Image.open(f"{work}/sky.png").convert("L")
w, h = img.size
whole = ImageStat.Stat(img)
check(whole.stddev[0] > 5, f"the sky view is not uniform (stddev {whole.stddev[0]:.1f} grey levels)")
inside_ok, judged = 0, 0
for c in result.get("closeups", []):
    xy = c.get("xy")
    shot = Image.open(f"{work}/{c['file']}").convert("L")
    if not xy or len(xy) < 3:
        print(f"  close-up of {c['did']}: its outline is not in view")
        judged += 1
        continue
    cx = sum(p[0] for p in xy) / len(xy)
    cy = sum(p[1] for p in xy) / len(xy)
    # The interior: the outline shrunk by a third towards its centre (no stroke in it).
    poly = [(cx + (x - cx) * 0.66, cy + (y - cy) * 0.66) for x, y in xy]
    mask = Image.new("L", shot.size, 0)
    ImageDraw.Draw(mask).polygon(poly, fill=255)
    values = [v for v, m in zip(shot.tobytes(), mask.tobytes()) if m]
    judged += 1
    if len(values) < 100:
        print(f"  close-up of {c['did']}: only {len(values)} pixels inside")
        continue
    mean = sum(values) / len(values)
    sd = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    lit = sum(1 for v in values if v > 8) / len(values)
    ok = sd > 2 and len(set(values)) >= 16
    inside_ok += ok
    print(f"  close-up of {c['did']}: {len(values)} px inside, mean {mean:.1f}, sd {sd:.1f}, "
          f"{len(set(values))} grey levels, {lit:.0%} not black" + ("" if ok else "  <- uniform or blank"))
check(not any("close-up" in e for e in result.get("errors", [])), "every footprint asked for a close-up is drawn")
need = judged if min_closeups is None else min_closeups
check(judged > 0 and inside_ok >= need,
      f"{inside_ok} of {judged} footprints seen close up show image structure inside (at least {need} must)")

# The HiPS list (HiPS 1.0 §4.4.3).
with urllib.request.urlopen(f"{base}/hips/list") as r:
    text = r.read().decode("utf-8")
records, cur = [], {}
bad_lines = []
for line in text.splitlines():
    if not line.strip():
        if cur:
            records.append(cur)
        cur = {}
        continue
    if line.lstrip().startswith("#"):
        continue
    m = re.match(r"^([A-Za-z0-9_]+)\s*=\s*(.*)$", line)
    if not m:
        bad_lines.append(line)
        continue
    cur[m.group(1)] = m.group(2).strip()
if cur:
    records.append(cur)
check(not bad_lines, f"every line of /hips/list is `key = value` ({bad_lines[:3]})")
mandatory = ["creator_did", "obs_title", "dataproduct_type", "hips_version", "hips_release_date",
             "hips_status", "hips_tile_format", "hips_order", "hips_frame", "hips_service_url"]
check(len(records) >= 1, f"/hips/list holds {len(records)} record(s)")
for rec in records:
    missing = [k for k in mandatory if k not in rec]
    check(not missing, f"record {rec.get('creator_did')}: the mandatory keys ({missing or 'all there'})")
    url = rec.get("hips_service_url", "")
    try:
        with urllib.request.urlopen(url + "/properties") as r:
            props = r.read().decode("utf-8")
        check(f"= {rec.get('creator_did')}" in props, f"{url}/properties answers, same creator_did")
    except Exception as e:  # noqa: BLE001 - reported as a failure
        check(False, f"{url}/properties: {e}")

# ../ in a tile path: 404, sent as is (no client normalises it away).
host = urllib.parse.urlparse(base).netloc
for path in [f"/hips/{hips_id}/../../etc/passwd", f"/hips/{hips_id}/Norder3/../../properties",
             f"/hips/{hips_id}/%2e%2e/%2e%2e/etc/passwd", f"/hips/{hips_id}/.vogate-hips-build"]:
    c = http.client.HTTPConnection(host, timeout=10)
    c.request("GET", path)
    status = c.getresponse().status
    c.close()
    check(status == 404, f"GET {path}: {status}")

if failures:
    print(f"browser check: {len(failures)} failure(s); the files are in {work}")
    sys.exit(1)
print("browser check: all passed")

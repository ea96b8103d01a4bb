#!/usr/bin/env python3
"""A SODA async job of a running vogate through pyvo's UWS client.

Usage: soda_async.py BASE_URL

Creates a job at /soda/async with one ID and two CIRCLEs (one on the product, one far from
it), follows it with pyvo's UWS job class (`pyvo.dal.tap.AsyncTAPJob` speaks plain UWS 1.1:
run, wait, phase, result URIs, delete), and checks: the job completes; it has two results;
the first is a FITS cutout astropy opens, the second SODA's error document. Prints
"soda async: N passed, M failed"; exits 1 on any failure.
"""

import io
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from astropy.io import fits
from pyvo.dal.tap import AsyncTAPJob

BASE = sys.argv[1].rstrip("/")
passed = failed = 0


def report(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {what}")


def main():
    q = "SELECT TOP 1 obs_publisher_did, s_ra, s_dec FROM ivoa.ObsCore WHERE s_fov < 1 ORDER BY obs_id"
    url = f"{BASE}/tap/sync?" + urllib.parse.urlencode({"LANG": "ADQL", "QUERY": q, "RESPONSEFORMAT": "json"})
    did, ra, dec = json.loads(urllib.request.urlopen(url).read())["data"][0]
    body = urllib.parse.urlencode([
        ("ID", did), ("CIRCLE", f"{ra} {dec} 0.01"), ("CIRCLE", f"{(ra + 180) % 360} {-dec} 0.01"),
    ]).encode()
    req = urllib.request.Request(f"{BASE}/soda/async", data=body, method="POST")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(req)
        job_url = None
    except urllib.error.HTTPError as e:
        job_url = e.headers.get("Location") if e.code == 303 else None
    report(job_url is not None, "POST /soda/async did not answer 303 with a Location")
    if job_url is None:
        return
    job = AsyncTAPJob(job_url)
    report(job.phase == "PENDING", f"a new job is {job.phase}, not PENDING")
    job.run()
    job.wait(phases={"COMPLETED", "ERROR", "ABORTED"}, timeout=120)
    report(job.phase == "COMPLETED", f"the job ended {job.phase}")
    uris = list(job.result_uris)
    report(len(uris) == 2, f"{len(uris)} results, not 2")
    if len(uris) == 2:
        data = urllib.request.urlopen(uris[0]).read()
        with fits.open(io.BytesIO(data)) as h:
            report(h[0].data is not None and h[0].data.shape[0] > 1, "the first result holds no image")
        text = urllib.request.urlopen(uris[1]).read().decode()
        report(text.startswith("UsageError: the requested region does not overlap"),
               f"the second result is not the no-overlap document: {text[:100]}")
    job.delete()
    print(f"soda async: {passed} passed, {failed} failed")


main()
sys.exit(1 if failed else 0)

"""TAP async through the clients users have: pyvo (run_async; submit_job, run, wait,
fetch_result, abort, delete; the job list with its filters; a failing query) against a
running vogate. Usage: async_check.py BASE_URL. Prints 'async: N passed, M failed' and
exits 1 on any failure."""
import datetime
import sys

import pyvo

base = sys.argv[1].rstrip("/")
svc = pyvo.dal.TAPService(base + "/tap")
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


query = "SELECT TOP 5 obs_id, s_ra, s_dec FROM ivoa.ObsCore ORDER BY obs_id"

# run_async gives what run_sync gives.
a = svc.run_async(query).to_table()
s = svc.run_sync(query).to_table()
check("run_async rows", len(a) == 5, len(a))
check("run_async = run_sync", list(a["obs_id"]) == list(s["obs_id"]), (list(a["obs_id"]), list(s["obs_id"])))

# A job step by step.
job = svc.submit_job(query, runid="pyvo-check")
check("new job PENDING", job.phase == "PENDING", job.phase)
job.execution_duration = 120
def seconds(d):
    """Seconds of a duration as pyvo gives it (astropy TimeDelta or a number)."""
    return d.to_value("s") if hasattr(d, "to_value") else float(d)


def utc(t):
    """A datetime (UTC) from what pyvo gives (astropy Time or datetime)."""
    t = t.to_datetime(timezone=datetime.timezone.utc) if hasattr(t, "to_datetime") else t
    return t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)


check("executionduration set", seconds(job.execution_duration) == 120, job.execution_duration)
later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
job.destruction = later
got = utc(job.destruction)
check("destruction set", abs((got - later).total_seconds()) < 2, (got, later))
job.run()
job.wait(timeout=60)
check("job COMPLETED", job.phase == "COMPLETED", job.phase)
t = job.fetch_result().to_table()
check("fetch_result rows", len(t) == 5 and list(t["obs_id"]) == list(s["obs_id"]), t)
jobid = job.job_id

# The job list and its filters.
listed = [j.jobid for j in svc.get_job_list()]
check("job list has the job", jobid in listed, listed)
completed = [j.jobid for j in svc.get_job_list(phases=["COMPLETED"])]
check("PHASE=COMPLETED has it", jobid in completed, completed)
pending = [j.jobid for j in svc.get_job_list(phases=["PENDING"])]
check("PHASE=PENDING has not", jobid not in pending, pending)
last = [j.jobid for j in svc.get_job_list(last=1)]
check("LAST=1 is the newest", last == [jobid], last)
future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
after = [j.jobid for j in svc.get_job_list(after=future)]
check("AFTER tomorrow is empty", after == [], after)

job.delete()
try:
    pyvo.dal.AsyncTAPJob(job.url).phase
    check("deleted job gone", False, "still answers")
except Exception:
    check("deleted job gone", True)

# Abort a job that has not run.
job = svc.submit_job(query)
job.abort()
check("aborted", job.phase == "ABORTED", job.phase)
job.delete()

# A query that fails: ERROR with the message.
job = svc.submit_job("SELECT nope FROM ivoa.ObsCore")
job.run()
job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=60)
check("bad query ERROR", job.phase == "ERROR", job.phase)
try:
    job.raise_if_error()
    check("raise_if_error raises", False, "no exception")
except Exception as e:
    check("raise_if_error names the column", "nope" in str(e), str(e))
job.delete()

print(f"async: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

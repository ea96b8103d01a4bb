//! The UWS 1.1 job model (UWS 1.1 §2.1): phases, jobs, results, the job-list filter, and
//! the request values a client may set (DESTRUCTION, EXECUTIONDURATION, WAIT), checked.

use vo_common::VoError;

/// Milliseconds since 1970-01-01T00:00:00Z (UTC), the store's time unit.
pub type Millis = i64;

/// The time now, in [`Millis`].
pub fn now() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// An execution phase (UWS 1.1 §2.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Accepted, not yet asked to run; parameters may still change.
    Pending,
    /// Asked to run, waiting for a worker.
    Queued,
    /// Running.
    Executing,
    /// Finished with results.
    Completed,
    /// Failed; the error summary says why.
    Error,
    /// Stopped by the client (or never run).
    Aborted,
    /// Unknown to the service.
    Unknown,
    /// Held by the service, waiting for a client action.
    Held,
    /// Suspended by the service.
    Suspended,
    /// Destroyed, its results gone, its record kept.
    Archived,
}

impl Phase {
    /// Every phase, in the schema's order.
    pub const ALL: [Phase; 10] = [
        Phase::Pending,
        Phase::Queued,
        Phase::Executing,
        Phase::Completed,
        Phase::Error,
        Phase::Aborted,
        Phase::Unknown,
        Phase::Held,
        Phase::Suspended,
        Phase::Archived,
    ];

    /// The name UWS uses: `PENDING`, `QUEUED`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "PENDING",
            Phase::Queued => "QUEUED",
            Phase::Executing => "EXECUTING",
            Phase::Completed => "COMPLETED",
            Phase::Error => "ERROR",
            Phase::Aborted => "ABORTED",
            Phase::Unknown => "UNKNOWN",
            Phase::Held => "HELD",
            Phase::Suspended => "SUSPENDED",
            Phase::Archived => "ARCHIVED",
        }
    }

    /// The phase named `name` (exactly, as UWS spells it; `None` otherwise).
    pub fn parse(name: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// Whether the job can still change by itself or by a worker (WAIT waits only on these,
    /// UWS 1.1 §2.2.3.2).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Phase::Pending | Phase::Queued | Phase::Executing | Phase::Held | Phase::Suspended
        )
    }

    /// Whether the job has ended (COMPLETED, ERROR, ABORTED, ARCHIVED).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Phase::Completed | Phase::Error | Phase::Aborted | Phase::Archived
        )
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One result of a job (UWS 1.1 §2.1.9), served at `{job}/results/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResultRef {
    /// The result's name (`result` for TAP, TAP 1.1 §2.2).
    pub id: String,
    /// Its media type.
    pub mime: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Who runs an EXECUTING job, and until when, unless renewed (a heartbeat renews it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The process that runs the job (e.g. `host:pid:start`).
    pub holder: String,
    /// When the lease ends, [`Millis`].
    pub until: Millis,
}

/// A UWS job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The job's identifier: random, unguessable, URL-safe.
    pub id: String,
    /// Which runner runs it (e.g. `tap`).
    pub kind: String,
    /// The client's RUNID, if given.
    pub run_id: Option<String>,
    /// Who owns it (from a trusted header), or `None` for anonymous jobs.
    pub owner: Option<String>,
    /// Its phase.
    pub phase: Phase,
    /// When it was made.
    pub creation_time: Millis,
    /// When it started executing.
    pub start_time: Option<Millis>,
    /// When it ended.
    pub end_time: Option<Millis>,
    /// The longest it may execute, seconds; 0 means no limit.
    pub execution_duration: i64,
    /// When it and its results are destroyed.
    pub destruction: Millis,
    /// Its parameters, names as given, in order.
    pub parameters: Vec<(String, String)>,
    /// Its results.
    pub results: Vec<ResultRef>,
    /// Why it failed (phase ERROR), for the error summary and `{job}/error`.
    pub error: Option<String>,
    /// Who runs it while EXECUTING.
    pub lease: Option<Lease>,
}

/// What the job list shows (UWS 1.1 §2.2.3.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobFilter {
    /// Only jobs in these phases (PHASE, repeatable); empty: every phase but ARCHIVED.
    pub phases: Vec<Phase>,
    /// Only jobs created after this time (AFTER).
    pub after: Option<Millis>,
    /// Only the most recently created jobs, this many (LAST), newest first.
    pub last: Option<usize>,
    /// Only this owner's jobs (`Some(None)`: only anonymous ones); `None`: everybody's.
    pub owner: Option<Option<String>>,
}

impl JobFilter {
    /// Whether `job` passes the phase, AFTER and owner tests (LAST is applied to the list).
    pub fn admits(&self, job: &Job) -> bool {
        let phase_ok = if self.phases.is_empty() {
            job.phase != Phase::Archived
        } else {
            self.phases.contains(&job.phase)
        };
        phase_ok
            && self.after.is_none_or(|a| job.creation_time > a)
            && self.owner.as_ref().is_none_or(|o| *o == job.owner)
    }

    /// Apply the filter to `jobs`: oldest first, or the LAST newest, newest first.
    pub fn apply(&self, mut jobs: Vec<Job>) -> Vec<Job> {
        jobs.retain(|j| self.admits(j));
        jobs.sort_by(|a, b| (a.creation_time, &a.id).cmp(&(b.creation_time, &b.id)));
        if let Some(n) = self.last {
            jobs.reverse();
            jobs.truncate(n);
        }
        jobs
    }
}

/// An ISO 8601 time as UWS writes it: `2026-12-03T13:56:13.123Z`.
pub fn iso(t: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(t)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// Parse an ISO 8601 time (DALI 1.1 §3.3.3: `YYYY-MM-DD['T'hh:mm:ss[.SSS]]`, UTC, with or
/// without a trailing `Z`; an explicit offset is honoured). Errors name `what` and the value.
pub fn parse_iso(what: &str, value: &str) -> Result<Millis, VoError> {
    let v = value.trim();
    let bad = || {
        VoError::usage(format!(
            "{what}={value} is not an ISO 8601 time such as 2026-12-31T12:00:00Z"
        ))
    };
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(d.timestamp_millis());
    }
    let naive = v.strip_suffix('Z').unwrap_or(v);
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = chrono::NaiveDateTime::parse_from_str(naive, f) {
            return Ok(d.and_utc().timestamp_millis());
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(naive, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .ok_or_else(bad);
    }
    Err(bad())
}

/// A DESTRUCTION value: an ISO 8601 time in the future. Errors: malformed, or not after `now`.
pub fn parse_destruction(value: &str, now: Millis) -> Result<Millis, VoError> {
    let t = parse_iso("DESTRUCTION", value)?;
    if t <= now {
        return Err(VoError::usage(format!(
            "DESTRUCTION={value} is in the past: give a time after {}",
            iso(now)
        )));
    }
    Ok(t)
}

/// An EXECUTIONDURATION value: whole seconds, 0 for no limit (UWS 1.1 §2.1.7). With a cap
/// `max` (0: none), 0 and longer durations become `max`, as UWS lets a service change the
/// value (the client reads it back). Errors: not a whole number, or negative.
pub fn parse_execution_duration(value: &str, max: i64) -> Result<i64, VoError> {
    let v = value.trim();
    let d: i64 = match v.parse::<i64>() {
        Ok(d) => d,
        // A huge whole number is a long duration.
        Err(_) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => i64::MAX,
        Err(_) => {
            return Err(VoError::usage(format!(
                "EXECUTIONDURATION={value} is not a whole number of seconds (0 or more; 0 asks for no limit)"
            )))
        }
    };
    if d < 0 {
        return Err(VoError::usage(format!(
            "EXECUTIONDURATION={value} is negative: give 0 or more seconds (0 asks for no limit)"
        )));
    }
    Ok(if max > 0 && (d == 0 || d > max) {
        max
    } else {
        d
    })
}

/// A WAIT value (UWS 1.1 §2.2.3.2), seconds: -1 means as long as the service allows, which
/// is `cap`; longer waits (however long) are cut to `cap`. Errors: not an integer, or below
/// -1.
pub fn parse_wait(value: &str, cap: u64) -> Result<u64, VoError> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(v.parse::<u64>().map_or(cap, |w| w.min(cap)));
    }
    let w: i64 = v.parse().map_err(|_| {
        VoError::usage(format!(
            "WAIT={value} is not a whole number of seconds (-1 waits as long as allowed)"
        ))
    })?;
    match w {
        -1 => Ok(cap),
        _ => Err(VoError::usage(format!(
            "WAIT={value}: give 0 or more seconds, or -1 to wait as long as allowed"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_round_trip_and_classify() {
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.as_str()), Some(p));
            assert_ne!(p.is_active(), p.is_final() || p == Phase::Unknown);
        }
        assert_eq!(Phase::parse("EXPLODE"), None);
        assert_eq!(Phase::parse("pending"), None);
    }

    #[test]
    fn times_parse_as_dali_writes_them() {
        assert_eq!(parse_iso("AFTER", "1970-01-01T00:00:01Z"), Ok(1000));
        assert_eq!(parse_iso("AFTER", "1970-01-01T00:00:01.5"), Ok(1500));
        assert_eq!(parse_iso("AFTER", "1970-01-02"), Ok(86_400_000));
        assert_eq!(parse_iso("AFTER", "1970-01-01T01:00:00+01:00"), Ok(0));
        assert_eq!(iso(1500), "1970-01-01T00:00:01.500Z");
        let e = parse_iso("AFTER", "yesterday").expect_err("words");
        assert_eq!(
            e.message,
            "AFTER=yesterday is not an ISO 8601 time such as 2026-12-31T12:00:00Z"
        );
        assert!(parse_iso("AFTER", "2026-02-30").is_err());
    }

    #[test]
    fn request_values_are_checked() {
        let now = parse_iso("x", "2026-12-03T12:00:00Z").expect("now");
        assert!(parse_destruction("2026-12-04T00:00:00Z", now).is_ok());
        let e = parse_destruction("2026-12-02T00:00:00Z", now).expect_err("past");
        assert!(e.message.contains("is in the past"), "{}", e.message);
        assert!(parse_destruction("yesterday", now).is_err());
        assert_eq!(parse_execution_duration("60", 3600), Ok(60));
        assert!(parse_execution_duration("-5", 3600)
            .expect_err("negative")
            .message
            .contains("negative"));
        assert_eq!(parse_execution_duration("7200", 3600), Ok(3600));
        assert_eq!(parse_execution_duration("0", 3600), Ok(3600));
        assert_eq!(
            parse_execution_duration("99999999999999999999999", 3600),
            Ok(3600)
        );
        assert_eq!(parse_execution_duration("0", 0), Ok(0));
        assert!(parse_execution_duration("1.5", 0).is_err());
        assert!(parse_execution_duration("abc", 0).is_err());
        assert_eq!(parse_wait("-1", 60), Ok(60));
        assert_eq!(parse_wait("600", 60), Ok(60));
        assert_eq!(parse_wait("5", 60), Ok(5));
        assert_eq!(parse_wait("99999999999999999999999", 60), Ok(60));
        assert!(parse_wait("abc", 60)
            .expect_err("words")
            .message
            .contains("WAIT=abc"));
        assert!(parse_wait("-2", 60).is_err());
    }

    fn job(id: &str, t: Millis, phase: Phase, owner: Option<&str>) -> Job {
        Job {
            id: id.into(),
            kind: "tap".into(),
            run_id: None,
            owner: owner.map(str::to_string),
            phase,
            creation_time: t,
            start_time: None,
            end_time: None,
            execution_duration: 0,
            destruction: t + 1000,
            parameters: vec![],
            results: vec![],
            error: None,
            lease: None,
        }
    }

    #[test]
    fn the_job_list_filters_as_uws_says() {
        let jobs = vec![
            job("c", 30, Phase::Completed, None),
            job("a", 10, Phase::Pending, Some("ann")),
            job("b", 20, Phase::Archived, None),
            job("d", 40, Phase::Error, Some("bob")),
        ];
        let ids = |f: JobFilter| -> Vec<String> {
            f.apply(jobs.clone()).into_iter().map(|j| j.id).collect()
        };
        assert_eq!(ids(JobFilter::default()), ["a", "c", "d"]);
        let phases = |p: &[Phase]| JobFilter {
            phases: p.to_vec(),
            ..Default::default()
        };
        assert_eq!(ids(phases(&[Phase::Archived])), ["b"]);
        assert_eq!(ids(phases(&[Phase::Pending, Phase::Error])), ["a", "d"]);
        let after = JobFilter {
            after: Some(20),
            ..Default::default()
        };
        assert_eq!(ids(after), ["c", "d"]);
        let last = JobFilter {
            last: Some(2),
            ..Default::default()
        };
        assert_eq!(ids(last), ["d", "c"]);
        let mine = JobFilter {
            owner: Some(Some("ann".into())),
            ..Default::default()
        };
        assert_eq!(ids(mine), ["a"]);
    }
}

//! Where jobs live: the [`JobStore`] trait, implemented by each database backend (vo-tap's
//! SQLite and PostgreSQL), so jobs survive restarts and, on PostgreSQL, are shared by every
//! gateway of the same database.

use crate::job::{Job, Millis, Phase};
use vo_common::VoError;

/// Durable job records. Every write is atomic; [`JobStore::update_job`] and
/// [`JobStore::claim_job`] are compare-and-set, so concurrent processes never both run a
/// job or overwrite each other's phase changes.
#[async_trait::async_trait]
pub trait JobStore: Send + Sync + std::fmt::Debug {
    /// Store a new job unless `max_jobs` are stored already (checked and inserted as one
    /// atomic step, so concurrent creations never pass the cap); false when full. Errors:
    /// the id exists (never in practice: ids are random).
    async fn insert_job(&self, job: &Job, max_jobs: u64) -> Result<bool, VoError>;

    /// The job `id`, if it exists.
    async fn job(&self, id: &str) -> Result<Option<Job>, VoError>;

    /// Every job of `kind` (the caller filters: lists are small next to results).
    async fn all_jobs(&self, kind: &str) -> Result<Vec<Job>, VoError>;

    /// The bytes of all results of jobs of `kind` stored now (the sum of their sizes).
    async fn result_bytes(&self, kind: &str) -> Result<u64, VoError>;

    /// Replace the stored job by `job` if the stored phase is one of `expected`; false when
    /// it is not (or the job is gone).
    async fn update_job(&self, job: &Job, expected: &[Phase]) -> Result<bool, VoError>;

    /// Delete the job; false when it did not exist.
    async fn delete_job(&self, id: &str) -> Result<bool, VoError>;

    /// Take the oldest QUEUED job of `kind`: it becomes EXECUTING, started at `now`, leased
    /// to `holder` until `until`. `None` when no such job is queued.
    async fn claim_job(
        &self,
        kind: &str,
        holder: &str,
        now: Millis,
        until: Millis,
    ) -> Result<Option<Job>, VoError>;

    /// Extend `holder`'s lease on the EXECUTING job `id` to `until`; false when the job is no
    /// longer EXECUTING under that lease (aborted, deleted, or taken as expired).
    async fn renew_lease(&self, id: &str, holder: &str, until: Millis) -> Result<bool, VoError>;

    /// Send into `changes` the id of every job another process creates, changes the phase,
    /// parameters, results or destruction of, or deletes, for as long as the future runs
    /// (PostgreSQL: LISTEN/NOTIFY). The default never sends: a store that one process alone
    /// writes (SQLite, locked by its server) has no other process to hear.
    async fn watch_changes(&self, changes: tokio::sync::broadcast::Sender<String>) {
        let _ = changes;
        std::future::pending::<()>().await
    }
}

/// The columns of a stored job, in the order [`JobRecord`] lists them (for the backends'
/// SQL): `job_id, kind, run_id, owner, phase, creation_time, start_time, end_time,
/// execution_duration, destruction, parameters, results, error, lease_holder, lease_until`.
pub const JOB_COLUMNS: &str = "job_id, kind, run_id, owner, phase, creation_time, start_time, \
     end_time, execution_duration, destruction, parameters, results, error, lease_holder, \
     lease_until";

/// A job as one row of plain values (times in ms since 1970 UTC, parameters and results as
/// JSON text), the form both backends store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// job_id.
    pub job_id: String,
    /// kind.
    pub kind: String,
    /// run_id.
    pub run_id: Option<String>,
    /// owner.
    pub owner: Option<String>,
    /// phase, as UWS names it.
    pub phase: String,
    /// creation_time.
    pub creation_time: i64,
    /// start_time.
    pub start_time: Option<i64>,
    /// end_time.
    pub end_time: Option<i64>,
    /// execution_duration, seconds.
    pub execution_duration: i64,
    /// destruction.
    pub destruction: i64,
    /// parameters: a JSON array of [name, value] pairs.
    pub parameters: String,
    /// results: a JSON array of {id, mime, size}.
    pub results: String,
    /// error.
    pub error: Option<String>,
    /// lease_holder.
    pub lease_holder: Option<String>,
    /// lease_until.
    pub lease_until: Option<i64>,
}

impl JobRecord {
    /// The record of `job`.
    pub fn of(job: &Job) -> JobRecord {
        JobRecord {
            job_id: job.id.clone(),
            kind: job.kind.clone(),
            run_id: job.run_id.clone(),
            owner: job.owner.clone(),
            phase: job.phase.as_str().to_string(),
            creation_time: job.creation_time,
            start_time: job.start_time,
            end_time: job.end_time,
            execution_duration: job.execution_duration,
            destruction: job.destruction,
            parameters: serde_json::to_string(&job.parameters).unwrap_or_else(|_| "[]".into()),
            results: serde_json::to_string(&job.results).unwrap_or_else(|_| "[]".into()),
            error: job.error.clone(),
            lease_holder: job.lease.as_ref().map(|l| l.holder.clone()),
            lease_until: job.lease.as_ref().map(|l| l.until),
        }
    }

    /// The job. Errors: a phase or JSON the store should never hold (named).
    pub fn into_job(self) -> Result<Job, VoError> {
        let bad = |what: &str| {
            VoError::internal(format!(
                "job {} has a damaged {what} in the store",
                self.job_id
            ))
        };
        let phase = Phase::parse(&self.phase).ok_or_else(|| bad("phase"))?;
        let parameters =
            serde_json::from_str(&self.parameters).map_err(|_| bad("parameter list"))?;
        let results = serde_json::from_str(&self.results).map_err(|_| bad("result list"))?;
        Ok(Job {
            lease: match (self.lease_holder, self.lease_until) {
                (Some(holder), Some(until)) => Some(crate::job::Lease { holder, until }),
                _ => None,
            },
            id: self.job_id,
            kind: self.kind,
            run_id: self.run_id,
            owner: self.owner,
            phase,
            creation_time: self.creation_time,
            start_time: self.start_time,
            end_time: self.end_time,
            execution_duration: self.execution_duration,
            destruction: self.destruction,
            parameters,
            results,
            error: self.error,
        })
    }
}

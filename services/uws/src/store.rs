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
    /// Store a new job. Errors: the id exists (never in practice: ids are random).
    async fn insert_job(&self, job: &Job) -> Result<(), VoError>;

    /// The job `id`, if it exists.
    async fn job(&self, id: &str) -> Result<Option<Job>, VoError>;

    /// Every job (the caller filters: lists are small next to results).
    async fn all_jobs(&self) -> Result<Vec<Job>, VoError>;

    /// The number of jobs stored.
    async fn count_jobs(&self) -> Result<u64, VoError>;

    /// Replace the stored job by `job` if the stored phase is one of `expected`; false when
    /// it is not (or the job is gone).
    async fn update_job(&self, job: &Job, expected: &[Phase]) -> Result<bool, VoError>;

    /// Delete the job; false when it did not exist.
    async fn delete_job(&self, id: &str) -> Result<bool, VoError>;

    /// Take the oldest QUEUED job: it becomes EXECUTING, started at `now`, leased to
    /// `holder` until `until`. `None` when no job is queued.
    async fn claim_job(&self, holder: &str, now: Millis, until: Millis)
        -> Result<Option<Job>, VoError>;

    /// Extend `holder`'s lease on the EXECUTING job `id` to `until`; false when the job is no
    /// longer EXECUTING under that lease (aborted, deleted, or taken as expired).
    async fn renew_lease(&self, id: &str, holder: &str, until: Millis) -> Result<bool, VoError>;
}

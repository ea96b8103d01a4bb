//! UWS jobs in PostgreSQL: `vogate.uws_jobs` (migration 2), shared by every gateway of the
//! database. Claims take the oldest QUEUED job with `FOR UPDATE SKIP LOCKED`, so two
//! gateways never run the same job; phase changes are compare-and-set.

use super::*;
use vo_uws::{Job, JobRecord, JobStore, Millis, Phase, JOB_COLUMNS};

/// Migration 2: the job table and the index its queue uses.
pub(super) const MIGRATION: &str = "CREATE TABLE IF NOT EXISTS vogate.uws_jobs (
    job_id text PRIMARY KEY, kind text NOT NULL, run_id text, owner text, phase text NOT NULL,
    creation_time bigint NOT NULL, start_time bigint, end_time bigint,
    execution_duration bigint NOT NULL, destruction bigint NOT NULL, parameters text NOT NULL,
    results text NOT NULL, error text, lease_holder text, lease_until bigint);
CREATE INDEX IF NOT EXISTS uws_jobs_queue ON vogate.uws_jobs (kind, phase, creation_time);
";

fn store_error(e: tokio_postgres::Error) -> VoError {
    match e.as_db_error() {
        Some(db) => VoError::internal(format!("the job store failed: {}", db.message())),
        None => unavailable(format!("the job store cannot be reached: {e}")),
    }
}

fn record(r: &tokio_postgres::Row) -> Result<JobRecord, VoError> {
    let bad = |e: tokio_postgres::Error| VoError::internal(format!("a damaged job row: {e}"));
    Ok(JobRecord {
        job_id: r.try_get(0).map_err(bad)?,
        kind: r.try_get(1).map_err(bad)?,
        run_id: r.try_get(2).map_err(bad)?,
        owner: r.try_get(3).map_err(bad)?,
        phase: r.try_get(4).map_err(bad)?,
        creation_time: r.try_get(5).map_err(bad)?,
        start_time: r.try_get(6).map_err(bad)?,
        end_time: r.try_get(7).map_err(bad)?,
        execution_duration: r.try_get(8).map_err(bad)?,
        destruction: r.try_get(9).map_err(bad)?,
        parameters: r.try_get(10).map_err(bad)?,
        results: r.try_get(11).map_err(bad)?,
        error: r.try_get(12).map_err(bad)?,
        lease_holder: r.try_get(13).map_err(bad)?,
        lease_until: r.try_get(14).map_err(bad)?,
    })
}

fn job_of(r: &tokio_postgres::Row) -> Result<Job, VoError> {
    record(r)?.into_job()
}

#[async_trait::async_trait]
impl JobStore for PgBackend {
    async fn insert_job(&self, job: &Job) -> Result<(), VoError> {
        let r = JobRecord::of(job);
        self.client()
            .await?
            .execute(
                &format!(
                    "INSERT INTO vogate.uws_jobs ({JOB_COLUMNS}) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
                ),
                &[
                    &r.job_id,
                    &r.kind,
                    &r.run_id,
                    &r.owner,
                    &r.phase,
                    &r.creation_time,
                    &r.start_time,
                    &r.end_time,
                    &r.execution_duration,
                    &r.destruction,
                    &r.parameters,
                    &r.results,
                    &r.error,
                    &r.lease_holder,
                    &r.lease_until,
                ],
            )
            .await
            .map(|_| ())
            .map_err(store_error)
    }

    async fn job(&self, id: &str) -> Result<Option<Job>, VoError> {
        self.client()
            .await?
            .query_opt(
                &format!("SELECT {JOB_COLUMNS} FROM vogate.uws_jobs WHERE job_id = $1"),
                &[&id],
            )
            .await
            .map_err(store_error)?
            .as_ref()
            .map(job_of)
            .transpose()
    }

    async fn all_jobs(&self, kind: &str) -> Result<Vec<Job>, VoError> {
        self.client()
            .await?
            .query(
                &format!(
                    "SELECT {JOB_COLUMNS} FROM vogate.uws_jobs WHERE kind = $1 \
                     ORDER BY creation_time"
                ),
                &[&kind],
            )
            .await
            .map_err(store_error)?
            .iter()
            .map(job_of)
            .collect()
    }

    async fn count_jobs(&self) -> Result<u64, VoError> {
        let n: i64 = self
            .client()
            .await?
            .query_one("SELECT COUNT(*) FROM vogate.uws_jobs", &[])
            .await
            .map_err(store_error)?
            .get(0);
        Ok(n as u64)
    }

    async fn update_job(&self, job: &Job, expected: &[Phase]) -> Result<bool, VoError> {
        let r = JobRecord::of(job);
        let phases: Vec<String> = expected.iter().map(|p| p.as_str().to_string()).collect();
        self.client()
            .await?
            .execute(
                "UPDATE vogate.uws_jobs SET run_id = $2, owner = $3, phase = $4, \
                 start_time = $5, end_time = $6, execution_duration = $7, destruction = $8, \
                 parameters = $9, results = $10, error = $11, lease_holder = $12, \
                 lease_until = $13 WHERE job_id = $1 AND phase = ANY($14)",
                &[
                    &r.job_id,
                    &r.run_id,
                    &r.owner,
                    &r.phase,
                    &r.start_time,
                    &r.end_time,
                    &r.execution_duration,
                    &r.destruction,
                    &r.parameters,
                    &r.results,
                    &r.error,
                    &r.lease_holder,
                    &r.lease_until,
                    &phases,
                ],
            )
            .await
            .map(|n| n == 1)
            .map_err(store_error)
    }

    async fn delete_job(&self, id: &str) -> Result<bool, VoError> {
        self.client()
            .await?
            .execute("DELETE FROM vogate.uws_jobs WHERE job_id = $1", &[&id])
            .await
            .map(|n| n == 1)
            .map_err(store_error)
    }

    async fn claim_job(
        &self,
        kind: &str,
        holder: &str,
        now: Millis,
        until: Millis,
    ) -> Result<Option<Job>, VoError> {
        self.client()
            .await?
            .query_opt(
                &format!(
                    "UPDATE vogate.uws_jobs SET phase = 'EXECUTING', start_time = $2, \
                     lease_holder = $3, lease_until = $4 \
                     WHERE job_id = (SELECT job_id FROM vogate.uws_jobs WHERE kind = $1 \
                                     AND phase = 'QUEUED' ORDER BY creation_time LIMIT 1 \
                                     FOR UPDATE SKIP LOCKED) \
                     RETURNING {JOB_COLUMNS}"
                ),
                &[&kind, &now, &holder, &until],
            )
            .await
            .map_err(store_error)?
            .as_ref()
            .map(job_of)
            .transpose()
    }

    async fn renew_lease(&self, id: &str, holder: &str, until: Millis) -> Result<bool, VoError> {
        self.client()
            .await?
            .execute(
                "UPDATE vogate.uws_jobs SET lease_until = $3 WHERE job_id = $1 \
                 AND phase = 'EXECUTING' AND lease_holder = $2",
                &[&id, &holder, &until],
            )
            .await
            .map(|n| n == 1)
            .map_err(store_error)
    }
}

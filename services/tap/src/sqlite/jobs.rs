//! UWS jobs in the SQLite database: the table `"vogate.uws_jobs"` (made by
//! [`crate::Backend::migrate`], kept across starts), written through short transactions on
//! connections that wait up to 5 s for SQLite's write lock.

use super::backend::SqliteBackend;
use super::open_rw;
use rusqlite::{params, OptionalExtension};
use vo_common::VoError;
use vo_uws::{Job, JobRecord, JobStore, Millis, Phase, JOB_COLUMNS};

const TABLE: &str = "\"vogate.uws_jobs\"";

/// The DDL of the job table and its index (idempotent).
pub fn create_job_table(conn: &rusqlite::Connection) -> Result<(), VoError> {
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {TABLE} (
            job_id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL, run_id TEXT, owner TEXT,
            phase TEXT NOT NULL, creation_time INTEGER NOT NULL, start_time INTEGER,
            end_time INTEGER, execution_duration INTEGER NOT NULL, destruction INTEGER NOT NULL,
            parameters TEXT NOT NULL, results TEXT NOT NULL, error TEXT, lease_holder TEXT,
            lease_until INTEGER);
         CREATE INDEX IF NOT EXISTS \"vogate.uws_jobs_queue\" ON {TABLE} (kind, phase, creation_time);"
    ))
    .map_err(|e| VoError::internal(format!("cannot make the job table: {e}")))
}

fn db(e: rusqlite::Error) -> VoError {
    VoError::internal(format!("the job store failed: {e}"))
}

fn open(path: &std::path::Path) -> Result<rusqlite::Connection, VoError> {
    let conn = open_rw(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(db)?;
    Ok(conn)
}

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    Ok(JobRecord {
        job_id: r.get(0)?,
        kind: r.get(1)?,
        run_id: r.get(2)?,
        owner: r.get(3)?,
        phase: r.get(4)?,
        creation_time: r.get(5)?,
        start_time: r.get(6)?,
        end_time: r.get(7)?,
        execution_duration: r.get(8)?,
        destruction: r.get(9)?,
        parameters: r.get(10)?,
        results: r.get(11)?,
        error: r.get(12)?,
        lease_holder: r.get(13)?,
        lease_until: r.get(14)?,
    })
}

fn phase_list(phases: &[Phase]) -> String {
    phases
        .iter()
        .map(|p| format!("'{}'", p.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait::async_trait]
impl JobStore for SqliteBackend {
    async fn insert_job(&self, job: &Job, max_jobs: u64) -> Result<bool, VoError> {
        let r = JobRecord::of(job);
        self.blocking(move |path| {
            // One statement: the count and the insert under SQLite's write lock.
            open(path)?
                .execute(
                    &format!(
                        "INSERT INTO {TABLE} ({JOB_COLUMNS}) SELECT \
                         ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15 \
                         WHERE (SELECT COUNT(*) FROM {TABLE}) < ?16"
                    ),
                    params![
                        r.job_id,
                        r.kind,
                        r.run_id,
                        r.owner,
                        r.phase,
                        r.creation_time,
                        r.start_time,
                        r.end_time,
                        r.execution_duration,
                        r.destruction,
                        r.parameters,
                        r.results,
                        r.error,
                        r.lease_holder,
                        r.lease_until,
                        max_jobs as i64
                    ],
                )
                .map(|n| n == 1)
                .map_err(db)
        })
        .await
    }

    async fn job(&self, id: &str) -> Result<Option<Job>, VoError> {
        let id = id.to_string();
        self.blocking(move |path| {
            open(path)?
                .query_row(
                    &format!("SELECT {JOB_COLUMNS} FROM {TABLE} WHERE job_id = ?1"),
                    [&id],
                    record,
                )
                .optional()
                .map_err(db)?
                .map(JobRecord::into_job)
                .transpose()
        })
        .await
    }

    async fn all_jobs(&self, kind: &str) -> Result<Vec<Job>, VoError> {
        let kind = kind.to_string();
        self.blocking(move |path| {
            let conn = open(path)?;
            let mut st = conn
                .prepare(&format!(
                    "SELECT {JOB_COLUMNS} FROM {TABLE} WHERE kind = ?1 ORDER BY creation_time"
                ))
                .map_err(db)?;
            let rows = st.query_map([&kind], record).map_err(db)?;
            rows.map(|r| r.map_err(db).and_then(JobRecord::into_job))
                .collect()
        })
        .await
    }

    async fn result_bytes(&self, kind: &str) -> Result<u64, VoError> {
        let kind = kind.to_string();
        self.blocking(move |path| {
            open(path)?
                .query_row(
                    &format!(
                        "SELECT COALESCE(SUM(json_extract(r.value, '$.size')), 0) \
                         FROM {TABLE}, json_each({TABLE}.results) AS r WHERE kind = ?1"
                    ),
                    [&kind],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| n.max(0) as u64)
                .map_err(db)
        })
        .await
    }

    async fn update_job(&self, job: &Job, expected: &[Phase]) -> Result<bool, VoError> {
        let r = JobRecord::of(job);
        let phases = phase_list(expected);
        self.blocking(move |path| {
            open(path)?
                .execute(
                    &format!(
                        "UPDATE {TABLE} SET run_id = ?2, owner = ?3, phase = ?4, \
                         start_time = ?5, end_time = ?6, execution_duration = ?7, \
                         destruction = ?8, parameters = ?9, results = ?10, error = ?11, \
                         lease_holder = ?12, lease_until = ?13 \
                         WHERE job_id = ?1 AND phase IN ({phases})"
                    ),
                    params![
                        r.job_id,
                        r.run_id,
                        r.owner,
                        r.phase,
                        r.start_time,
                        r.end_time,
                        r.execution_duration,
                        r.destruction,
                        r.parameters,
                        r.results,
                        r.error,
                        r.lease_holder,
                        r.lease_until
                    ],
                )
                .map(|n| n == 1)
                .map_err(db)
        })
        .await
    }

    async fn delete_job(&self, id: &str) -> Result<bool, VoError> {
        let id = id.to_string();
        self.blocking(move |path| {
            open(path)?
                .execute(&format!("DELETE FROM {TABLE} WHERE job_id = ?1"), [&id])
                .map(|n| n == 1)
                .map_err(db)
        })
        .await
    }

    async fn claim_job(
        &self,
        kind: &str,
        holder: &str,
        now: Millis,
        until: Millis,
    ) -> Result<Option<Job>, VoError> {
        let (kind, holder) = (kind.to_string(), holder.to_string());
        self.blocking(move |path| {
            open(path)?
                .query_row(
                    &format!(
                        "UPDATE {TABLE} SET phase = 'EXECUTING', start_time = ?2, \
                         lease_holder = ?3, lease_until = ?4 \
                         WHERE job_id = (SELECT job_id FROM {TABLE} WHERE kind = ?1 \
                                         AND phase = 'QUEUED' ORDER BY creation_time LIMIT 1) \
                         AND phase = 'QUEUED' RETURNING {JOB_COLUMNS}"
                    ),
                    params![kind, now, holder, until],
                    record,
                )
                .optional()
                .map_err(db)?
                .map(JobRecord::into_job)
                .transpose()
        })
        .await
    }

    async fn renew_lease(&self, id: &str, holder: &str, until: Millis) -> Result<bool, VoError> {
        let (id, holder) = (id.to_string(), holder.to_string());
        self.blocking(move |path| {
            open(path)?
                .execute(
                    &format!(
                        "UPDATE {TABLE} SET lease_until = ?3 WHERE job_id = ?1 \
                         AND phase = 'EXECUTING' AND lease_holder = ?2"
                    ),
                    params![id, holder, until],
                )
                .map(|n| n == 1)
                .map_err(db)
        })
        .await
    }
}

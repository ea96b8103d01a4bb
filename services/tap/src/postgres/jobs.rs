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

/// Migration 3: every creation, deletion and change of phase, parameters, results or
/// destruction of a job is announced on the channel `vogate_uws` with the job's id (in the
/// same transaction), so that WAIT and idle workers in every gateway wake at once.
pub(super) const NOTIFY_MIGRATION: &str =
    "CREATE OR REPLACE FUNCTION vogate.uws_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('vogate_uws', OLD.job_id);
  ELSE
    PERFORM pg_notify('vogate_uws', NEW.job_id);
  END IF;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS uws_jobs_notify ON vogate.uws_jobs;
CREATE TRIGGER uws_jobs_notify
  AFTER INSERT OR DELETE OR UPDATE OF phase, parameters, results, destruction, execution_duration
  ON vogate.uws_jobs FOR EACH ROW EXECUTE FUNCTION vogate.uws_notify();
";

/// The channel job changes are announced on (see [`NOTIFY_MIGRATION`]).
const CHANNEL: &str = "vogate_uws";

impl PgBackend {
    /// LISTEN on [`CHANNEL`] on a connection of its own and forward every job id heard into
    /// `changes`, until the connection ends (the error says why).
    async fn listen(
        &self,
        changes: &tokio::sync::broadcast::Sender<String>,
    ) -> Result<(), VoError> {
        use futures_util::StreamExt;
        let mut config: tokio_postgres::Config = self
            .options
            .url
            .parse()
            .map_err(|e| VoError::usage(format!("not a PostgreSQL URL: {e}")))?;
        config.connect_timeout(self.options.connect_timeout);
        config.application_name("vogate jobs listener");
        let (client, mut conn) = config
            .connect(NoTls)
            .await
            .map_err(|e| unavailable(format!("cannot listen for job changes: {e}")))?;
        let (heard_tx, mut heard) = tokio::sync::mpsc::unbounded_channel::<String>();
        let driver = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
            while let Some(m) = messages.next().await {
                match m {
                    Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                        if heard_tx.send(n.payload().to_string()).is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        });
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await
            .map_err(store_error)?;
        while let Some(id) = heard.recv().await {
            let _ = changes.send(id);
        }
        drop(client);
        driver.abort();
        Err(unavailable("the job-change listener's connection closed"))
    }
}

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
    async fn insert_job(&self, job: &Job, max_jobs: u64) -> Result<bool, VoError> {
        let r = JobRecord::of(job);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(store_error)?;
        // Creations queue on this lock, so the count and the insert are one step.
        tx.execute("SELECT pg_advisory_xact_lock(7415030)", &[])
            .await
            .map_err(store_error)?;
        let n = tx
            .execute(
                &format!(
                    "INSERT INTO vogate.uws_jobs ({JOB_COLUMNS}) SELECT \
                     $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15 \
                     WHERE (SELECT COUNT(*) FROM vogate.uws_jobs) < $16"
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
                    &(max_jobs as i64),
                ],
            )
            .await
            .map_err(store_error)?;
        tx.commit().await.map_err(store_error)?;
        Ok(n == 1)
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

    async fn result_bytes(&self, kind: &str) -> Result<u64, VoError> {
        let n: i64 = self
            .client()
            .await?
            .query_one(
                "SELECT COALESCE(SUM((r ->> 'size')::bigint), 0)::bigint \
                 FROM vogate.uws_jobs, jsonb_array_elements(results::jsonb) AS r WHERE kind = $1",
                &[&kind],
            )
            .await
            .map_err(store_error)?
            .get(0);
        Ok(n.max(0) as u64)
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

    async fn watch_changes(&self, changes: tokio::sync::broadcast::Sender<String>) {
        loop {
            if let Err(e) = self.listen(&changes).await {
                tracing::warn!(error = %e.message, "job changes from other gateways unheard; retrying");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
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

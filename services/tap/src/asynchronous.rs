//! TAP 1.1 §2.3.2 asynchronous queries: a UWS job kind (`tap`) over the same query path as
//! sync ([`crate::sync::start_query`]), its result written to `{job}/results/result` in the
//! RESPONSEFORMAT asked, whole or not at all.

use crate::result::{write_table, ChunkSink, Outcome};
use crate::sync::TapState;
use bytes::Bytes;
use vo_common::votable::QueryStatus;
use vo_common::VoError;
use vo_dali::Params;
use vo_uws::{Job, JobRunner, ResultDir, ResultFile, ResultRef};

/// The job kind of TAP queries in the job store.
pub const KIND: &str = "tap";

impl ChunkSink for ResultFile {
    async fn send(&mut self, chunk: Bytes) -> bool {
        self.write(&chunk).await
    }
}

/// Runs TAP jobs: the job's parameters are a TAP request (LANG, QUERY, MAXREC,
/// RESPONSEFORMAT), checked when the job runs; an error makes the job ERROR with its message.
#[derive(Debug, Clone)]
pub struct TapRunner {
    /// The TAP service's state (backend, catalog, limits).
    pub state: TapState,
}

#[async_trait::async_trait]
impl JobRunner for TapRunner {
    async fn run(&self, job: &Job, results: &ResultDir) -> Result<Vec<ResultRef>, VoError> {
        let params = Params::new(job.parameters.clone()).with_parts(results.parts()?);
        let (rows, plan) = crate::sync::start_query(&self.state, &params).await?;
        let mut file = results.create("result", plan.format.content_type()).await?;
        match write_table(rows, plan, &mut file).await {
            // A failure while streaming is in the table (QUERY_STATUS=ERROR), as TAP says;
            // the job still completes with that result.
            Outcome::Written(QueryStatus::Ok | QueryStatus::Overflow | QueryStatus::Error(_)) => {}
            // The file refused a chunk: commit says why (too large, disk).
            Outcome::Abandoned => {}
            // A FITS table could not be written: the job fails with the reason.
            Outcome::Failed(message) => return Err(VoError::internal(message)),
        }
        Ok(vec![file.commit().await?])
    }
}

//! The PostgreSQL + pgSphere backend: the renderer's PostgreSQL dialect, versioned
//! migrations, the reader role, ObsCore ingest and pooled query connections.
//!
//! Layout in the database: a published table `schema.table` is the table `"schema"."table"`
//! (names quoted, so their case is kept: `"ivoa"."ObsCore"`, `"TAP_SCHEMA"."columns"`).
//! `ivoa.ObsCore` carries two internal pgSphere columns beside the ObsCore ones, kept in step
//! by the ingest and absent from TAP_SCHEMA (so from ADQL, `/tables` and `SELECT *`):
//! `_spoint` (`spoint` of (s_ra, s_dec)) and `_spoly` (`spoly` of s_region, NULL for all-sky
//! rows), each with a GiST index.
//!
//! Safety: the URL given to `--db` is the admin connection (migrations, ingest, grants). Every
//! TAP query runs in a `READ ONLY` transaction after `SET LOCAL ROLE` to a NOLOGIN role (by
//! default `vogate_reader`) that has USAGE and SELECT on the published schemas only, and
//! `SET LOCAL statement_timeout`. When the HTTP client goes away the query is cancelled with
//! the protocol's cancel request; rows stream from the server and are handed on in batches of
//! [`BATCH_ROWS`].

use crate::schema::{tap_schema_rows, tap_schema_tables, RowKeys, OBSCORE_TABLE, ROW_KEY_COLUMNS};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_postgres::types::Type;
use tokio_postgres::NoTls;
use vo_adql::{ColumnInfo, SqlDialect, TableInfo};
use vo_common::{ErrorKind, Value, VoError};
use vo_obscore::{ObsCoreRow, OBSCORE_COLUMNS};

/// Rows handed on together while streaming a result.
pub const BATCH_ROWS: i32 = 1000;

pub use vo_adql::dialect::quote_ident;

/// The physical name of a published table: `"schema"."table"`.
fn physical(schema: Option<&str>, table: &str) -> String {
    match schema {
        Some(s) => format!("{}.{}", quote_ident(s), quote_ident(table)),
        None => quote_ident(table),
    }
}

/// The physical name of ivoa.ObsCore.
fn obscore() -> String {
    let (s, t) = OBSCORE_TABLE.split_once('.').unwrap_or(("ivoa", "ObsCore"));
    physical(Some(s), t)
}

/// pgSphere `spoint` of (ra, dec), SQL expressions in degrees.
fn spoint(ra: &str, dec: &str) -> String {
    format!("spoint(radians({ra}), radians({dec}))")
}

mod dialect;
mod jobs;
mod lock;
mod migrations;
mod pool;
mod queries;
mod storage;

pub use dialect::{stcs_to_spoly, PgDialect};
pub use lock::{PgServeLock, PG_SERVE_LOCK_KEY};
pub use migrations::migrations_fingerprint;
pub use pool::{pg_error, pg_message, redacted, PgBackend, PgOptions};
pub use queries::{cell, AsyncBatch, QueryFailure};
// The helpers the submodules share (pub(super) in each).
use pool::*;
use storage::*;

#[async_trait::async_trait]
impl crate::Backend for PgBackend {
    fn name(&self) -> &'static str {
        "PostgreSQL"
    }

    fn dialect(&self) -> &'static (dyn SqlDialect + Sync) {
        &PgDialect
    }

    async fn lock_for_serving(&self, holder: &str) -> Result<crate::ServeLock, VoError> {
        let (url, timeout) = (self.options.url.clone(), self.options.connect_timeout);
        let holder = holder.to_string();
        // The lock's connection lives on a thread of its own (see PgServeLock).
        let lock =
            tokio::task::spawn_blocking(move || PgServeLock::acquire(&url, timeout, &holder))
                .await
                .map_err(|_| VoError::internal("the database lock task failed"))??;
        Ok(crate::ServeLock::new(lock))
    }

    fn served_by(&self) -> Option<String> {
        None
    }

    async fn ensure_tap_schema(&self) -> Result<(), VoError> {
        PgBackend::migrate(self).await.map(|_| ())
    }

    async fn migrate(&self) -> Result<(), VoError> {
        let applied = PgBackend::migrate(self).await?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied database migrations");
        }
        self.sync_tap_schema().await
    }

    async fn replace_obscore_rows(&self, rows: &[ObsCoreRow]) -> Result<(), VoError> {
        PgBackend::replace_obscore_rows(self, rows).await
    }

    async fn upsert_obscore_rows(&self, rows: &[ObsCoreRow]) -> Result<(), VoError> {
        PgBackend::upsert_obscore_rows(self, rows).await
    }

    async fn delete_obscore_rows(&self, obs_ids: &[String]) -> Result<usize, VoError> {
        PgBackend::delete_obscore_rows(self, obs_ids).await
    }

    async fn extend_obscore(&self, extra: &[vo_felis::model::Column]) -> Result<(), VoError> {
        PgBackend::extend_obscore(self, extra).await
    }

    async fn obscore_files(&self) -> Result<Vec<vo_obscore::live::FileState>, VoError> {
        PgBackend::obscore_files(self).await
    }

    async fn apply_obscore_changes(
        &self,
        changes: std::sync::Arc<vo_obscore::live::Changes>,
    ) -> Result<(), VoError> {
        PgBackend::apply_obscore_changes(self, &changes).await
    }

    async fn publish(
        &self,
        schema: &vo_felis::Schema,
        metadata_only: bool,
        positions: &[(String, String, String)],
    ) -> Result<crate::publish::Published, VoError> {
        PgBackend::publish(self, schema, metadata_only, positions).await
    }

    async fn tap_schema(&self) -> Result<rusqlite::Connection, VoError> {
        self.tap_schema_snapshot().await
    }

    async fn insert_rows(&self, rows: &crate::csvload::CsvRows) -> Result<usize, VoError> {
        PgBackend::insert_rows(self, rows).await
    }

    async fn obscore_lookup(
        &self,
        key: &str,
        value: &str,
        columns: &[&str],
    ) -> Result<Option<Vec<Option<String>>>, VoError> {
        PgBackend::obscore_lookup(self, key, value, columns).await
    }

    async fn obscore_first(
        &self,
        columns: &[&str],
        limit: usize,
    ) -> Result<Vec<Vec<Option<String>>>, VoError> {
        PgBackend::obscore_first(self, columns, limit).await
    }

    async fn obscore_count(&self) -> Result<i64, VoError> {
        PgBackend::obscore_count(self).await
    }

    async fn query(
        &self,
        sql: String,
        fields: std::sync::Arc<[vo_common::FieldMeta]>,
        uploads: Vec<crate::upload::UploadTable>,
    ) -> Result<crate::RowStream, VoError> {
        queries::stream_rows(self.clone(), sql, fields, uploads).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stcs_polygons_become_pgsphere_text() {
        assert_eq!(
            stcs_to_spoly("POLYGON ICRS 359.5 -1 0.5 -1 0.5 1").as_deref(),
            Some("{(359.5d,-1.0d),(0.5d,-1.0d),(0.5d,1.0d)}")
        );
        assert_eq!(
            stcs_to_spoly("POLYGON 1 2 3 4 5 6").as_deref(),
            Some("{(1.0d,2.0d),(3.0d,4.0d),(5.0d,6.0d)}")
        );
        assert_eq!(stcs_to_spoly("CIRCLE ICRS 1 2 3"), None);
        assert_eq!(stcs_to_spoly("POLYGON ICRS 1 2 3 4"), None);
        assert_eq!(stcs_to_spoly("POLYGON ICRS 1 2 3 4 5 x"), None);
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redacted("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redacted("postgres://u@h/db"), "postgres://u@h/db");
    }
}

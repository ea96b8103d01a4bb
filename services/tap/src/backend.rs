//! The one seam between the services and the database: [`Backend`], implemented once for the
//! embedded SQLite ([`crate::sqlite::SqliteBackend`]) and once for PostgreSQL + pgSphere
//! ([`crate::postgres::PgBackend`]). Code above it (TAP sync, the gateway, DataLink) never asks
//! which database it talks to; [`open`] is the one place that chooses.
//!
//! A query's rows come back as a [`RowStream`]: batches of rows whose values are already
//! VOTable cells of the query's fields. The stream is bounded (a few batches in flight), so
//! memory stays flat whatever the result's size; dropping it cancels the query on the
//! database (SQLite's interrupt, PostgreSQL's cancel request). [`crate::result`] turns a
//! stream into a table in any output format, with MAXREC overflow, for every backend.

use crate::csvload::CsvRows;
use crate::publish::Published;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use vo_adql::SqlDialect;
use vo_common::{FieldMeta, Value, VoError};
use vo_obscore::live::{Changes, FileState};
use vo_obscore::ObsCoreRow;

/// One batch of result rows, each the cells of the query's fields in order.
pub type RowBatch = Vec<Vec<Value>>;

/// How many rows a backend puts in one batch of a [`RowStream`].
pub const BATCH: usize = 256;

/// The rows of a running query, batch by batch. `next` gives `Some(Ok(rows))` for each
/// batch, `Some(Err(message))` when the query fails after its first batch (the message for
/// `QUERY_STATUS=ERROR`), and `None` at the end. Dropping the stream cancels the query.
#[derive(Debug)]
pub struct RowStream {
    rows: mpsc::Receiver<Result<RowBatch, String>>,
    /// Dropped with the stream: the producer's signal to stop and cancel.
    _alive: oneshot::Sender<()>,
}

impl RowStream {
    /// The next batch; `None` after the last.
    pub async fn next(&mut self) -> Option<Result<RowBatch, String>> {
        self.rows.recv().await
    }
}

/// The producer's end of a [`RowStream`] (for backends).
#[derive(Debug)]
pub struct RowSender {
    rows: mpsc::Sender<Result<RowBatch, String>>,
}

impl RowSender {
    /// Send a batch from async code; false when the stream was dropped.
    pub async fn send(&self, batch: Result<RowBatch, String>) -> bool {
        self.rows.send(batch).await.is_ok()
    }

    /// Send a batch from a blocking thread; false when the stream was dropped.
    pub fn blocking_send(&self, batch: Result<RowBatch, String>) -> bool {
        self.rows.blocking_send(batch).is_ok()
    }
}

/// A new stream, its producer's end, and a receiver that resolves (with an error) when the
/// stream is dropped: the producer's cue to cancel. Eight batches may be in flight.
pub fn row_channel() -> (RowSender, oneshot::Receiver<()>, RowStream) {
    // A few batches in flight, so that the reading thread and the writer seldom wait on
    // each other (each wait is a thread switch); memory stays a few thousand rows.
    let (tx, rx) = mpsc::channel(8);
    let (alive_tx, alive_rx) = oneshot::channel();
    (
        RowSender { rows: tx },
        alive_rx,
        RowStream {
            rows: rx,
            _alive: alive_tx,
        },
    )
}

/// Held by a serving gateway for as long as it serves: no other server may serve the same
/// database meanwhile (see [`Backend::lock_for_serving`]). Released when dropped.
pub struct ServeLock(#[allow(dead_code)] Box<dyn std::fmt::Debug + Send + Sync>);

impl ServeLock {
    /// Wrap whatever keeps the lock held.
    pub fn new(held: impl std::fmt::Debug + Send + Sync + 'static) -> ServeLock {
        ServeLock(Box::new(held))
    }
}

impl std::fmt::Debug for ServeLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ServeLock").field(&self.0).finish()
    }
}

/// A database that holds TAP_SCHEMA, ivoa.ObsCore, published catalogs and UWS jobs
/// ([`vo_uws::JobStore`]), and runs translated ADQL. All methods are safe to call from any async context: blocking work runs
/// on blocking threads.
#[async_trait::async_trait]
pub trait Backend: vo_uws::JobStore + Send + Sync + std::fmt::Debug {
    /// The database's name for messages: `SQLite` or `PostgreSQL`.
    fn name(&self) -> &'static str;

    /// How ADQL is rendered for this database.
    fn dialect(&self) -> &'static (dyn SqlDialect + Sync);

    /// Take the lock that makes this process the one server of the database, for `holder`
    /// (e.g. `vogate serve on 127.0.0.1:8080`). Errors: a usage error naming the server that
    /// holds it; `Unavailable` when the database cannot be reached.
    async fn lock_for_serving(&self, holder: &str) -> Result<ServeLock, VoError>;

    /// Who serves the database now (`pid 4242 (vogate serve on ...)`), when that can be
    /// known without disturbing it; `None` otherwise.
    fn served_by(&self) -> Option<String>;

    /// Create the TAP_SCHEMA tables when missing, and nothing else that a running server
    /// uses (for `schema load` and `load`, which may run beside a server).
    async fn ensure_tap_schema(&self) -> Result<(), VoError>;

    /// Bring vogate's own tables to the current version and write the TAP_SCHEMA rows that
    /// describe TAP_SCHEMA and ivoa.ObsCore (for a server's start). ivoa.ObsCore and the live
    /// ingest's file states are kept (on SQLite, an ObsCore table of an older vogate's
    /// columns is made anew and empty, its file states cleared).
    async fn migrate(&self) -> Result<(), VoError>;

    /// Replace every ivoa.ObsCore row by `rows`, index columns included, in one transaction;
    /// the live ingest's file states are cleared (the next scan reads every file).
    async fn replace_obscore_rows(&self, rows: &[ObsCoreRow]) -> Result<(), VoError>;

    /// Insert `rows`, replacing the rows of the same obs_id, index columns included, in one
    /// transaction (queries see all of them or none).
    async fn upsert_obscore_rows(&self, rows: &[ObsCoreRow]) -> Result<(), VoError>;

    /// Add the ObsCore mapping's extension columns to ivoa.ObsCore when they are missing
    /// (a column is never dropped) and rewrite ObsCore's TAP_SCHEMA rows to publish them
    /// (with their Felis metadata), in one transaction. An empty `extra` publishes the 30
    /// ObsCore columns alone.
    async fn extend_obscore(&self, extra: &[vo_felis::model::Column]) -> Result<(), VoError>;

    /// Every file state of the live ingest (`vogate.obscore_files`; see
    /// [`vo_obscore::live`]), in any order. Errors: the table is missing (the database was
    /// never served) or cannot be read.
    async fn obscore_files(&self) -> Result<Vec<FileState>, VoError>;

    /// Write one batch of the live ingest's changes in one transaction: ObsCore rows deleted
    /// and upserted (index columns included) and file states forgotten and upserted, in the
    /// order [`Changes`] gives. Queries see all of the batch or none of it. (Shared, so that
    /// a backend writing on another thread need not copy a batch of thousands of rows.)
    async fn apply_obscore_changes(&self, changes: Arc<Changes>) -> Result<(), VoError>;

    /// Delete the ObsCore rows of `obs_ids` in one transaction; how many there were.
    async fn delete_obscore_rows(&self, obs_ids: &[String]) -> Result<usize, VoError>;

    /// Publish a Felis schema: its tables (created when missing) and TAP_SCHEMA rows, the
    /// internal position columns of `positions` ((table, ra, dec) of its tables), in one
    /// transaction. Errors: a changed schema without `metadata_only`, with the differences.
    async fn publish(
        &self,
        schema: &vo_felis::Schema,
        metadata_only: bool,
        positions: &[(String, String, String)],
    ) -> Result<Published, VoError>;

    /// TAP_SCHEMA as a SQLite connection holding the five tables (`"TAP_SCHEMA.tables"`, ...),
    /// from which [`crate::schema::load_catalog`] and [`crate::vosi::Vosi::load`] read.
    async fn tap_schema(&self) -> Result<rusqlite::Connection, VoError>;

    /// Insert checked CSV rows into their table in one transaction; the number inserted.
    async fn insert_rows(&self, rows: &CsvRows) -> Result<usize, VoError>;

    /// Columns `columns` of the ObsCore row whose `key` column equals `value`, as text (the
    /// database's cast of numbers to text), or `None`. `key` and `columns` are ObsCore column
    /// names, or the internal `_path` (the product file relative to the data root), never
    /// user text.
    async fn obscore_lookup(
        &self,
        key: &str,
        value: &str,
        columns: &[&str],
    ) -> Result<Option<Vec<Option<String>>>, VoError>;

    /// Columns `columns` of the first `limit` ObsCore rows in obs_publisher_did order, as
    /// text (as [`Backend::obscore_lookup`]): the products a service's examples show.
    async fn obscore_first(
        &self,
        columns: &[&str],
        limit: usize,
    ) -> Result<Vec<Vec<Option<String>>>, VoError>;

    /// The number of ivoa.ObsCore rows.
    async fn obscore_count(&self) -> Result<i64, VoError>;

    /// Run `sql` (rendered by [`Backend::dialect`], read only) and stream its rows as cells
    /// of `fields`, with `uploads` loaded first into temporary tables of the query's own
    /// connection (indexed on their positions; gone when the query ends, however it ends).
    /// Returns once the first batch is there: an error before any row (a bad upload, a
    /// database error, a first value that cannot be a cell of its field) is the `Err`; a
    /// later one ends the stream.
    async fn query(
        &self,
        sql: String,
        fields: Arc<[FieldMeta]>,
        uploads: Vec<crate::upload::UploadTable>,
    ) -> Result<RowStream, VoError>;
}

/// Which database to open: the SQLite file, or PostgreSQL with its options.
#[derive(Debug, Clone, PartialEq)]
pub enum Database {
    /// The embedded SQLite database at this path (created when missing).
    Sqlite(PathBuf),
    /// PostgreSQL + pgSphere.
    Postgres(crate::postgres::PgOptions),
}

/// Open the backend for `db` (no connection is made yet on PostgreSQL). Errors: a URL that
/// PostgreSQL's client cannot parse.
pub fn open(db: &Database) -> Result<Arc<dyn Backend>, VoError> {
    Ok(match db {
        Database::Sqlite(path) => Arc::new(crate::sqlite::SqliteBackend::new(path.clone())),
        Database::Postgres(options) => Arc::new(crate::postgres::PgBackend::new(options.clone())?),
    })
}

//! [`SqliteBackend`]: the [`crate::Backend`] over one SQLite database file. Every call opens
//! its own connection on a blocking thread (queries read-only, see
//! [`super::open_query`]); writes go through one transaction each. A query's rows are read on
//! a blocking thread and sent as batches; when the [`crate::RowStream`] is dropped the
//! statement is interrupted (`sqlite3_interrupt`).

use super::{open_query, open_rw, SqliteDialect};
use crate::backend::{row_channel, RowSender, RowStream, ServeLock, BATCH};
use crate::schema::{self, as_text, quote_ident, OBSCORE_TABLE};
use crate::upload::{StoredAs, UploadTable};
use rusqlite::types::ValueRef;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::oneshot;
use vo_adql::SqlDialect;
use vo_common::lockfile::LockFile;
use vo_common::{FieldMeta, Value, VoError};
use vo_obscore::live::{Changes, FileState};
use vo_obscore::ObsCoreRow;

/// The embedded SQLite database at `path` (created when missing by the first write).
#[derive(Debug, Clone)]
pub struct SqliteBackend {
    path: PathBuf,
    /// Read-only connections kept for lookups (at most [`READERS`]): opening one and
    /// registering the SQL functions costs more than the lookup itself.
    readers: Arc<std::sync::Mutex<Vec<rusqlite::Connection>>>,
    /// The live ingest's write connection, kept between its batches so that its page cache
    /// ([`INGEST_CACHE_KIB`]) keeps ObsCore's index pages. It checkpoints the WAL every
    /// 16,384 pages (64 MiB) rather than SQLite's 1,000: with 1,000, the checkpoints (each
    /// syncing the database file) took 60% of an initial ingest of 100,000 files, which ran
    /// at 15,000 files/s instead of 26,000.
    ingest: Arc<std::sync::Mutex<Option<rusqlite::Connection>>>,
}

/// The page cache of the live ingest's write connection, KiB.
const INGEST_CACHE_KIB: i64 = 64 * 1024;

/// How many idle read-only lookup connections a [`SqliteBackend`] keeps.
const READERS: usize = 4;

impl SqliteBackend {
    /// The backend over the database file `path`.
    pub fn new(path: PathBuf) -> SqliteBackend {
        SqliteBackend {
            path,
            readers: Arc::default(),
            ingest: Arc::default(),
        }
    }

    /// Run `f` on a blocking thread with a read-only connection: a kept one, or a new one
    /// that is kept afterwards if fewer than [`READERS`] are.
    async fn reading<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, VoError> + Send + 'static,
    ) -> Result<T, VoError> {
        let readers = self.readers.clone();
        self.blocking(move |path| {
            let kept = readers.lock().ok().and_then(|mut v| v.pop());
            let conn = match kept {
                Some(c) => c,
                None => open_query(path)?,
            };
            let out = f(&conn);
            if let Ok(mut v) = readers.lock() {
                if v.len() < READERS {
                    v.push(conn);
                }
            }
            out
        })
        .await
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lock file of a serving gateway: `<db>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    /// Run `f` with the database path on a blocking thread.
    pub(super) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Path) -> Result<T, VoError> + Send + 'static,
    ) -> Result<T, VoError> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || f(&path))
            .await
            .map_err(|_| VoError::internal("the database task failed"))?
    }
}

/// The first `n` cells of `row` as text.
fn text_cells(row: &rusqlite::Row<'_>, n: usize) -> Result<Vec<Option<String>>, VoError> {
    (0..n)
        .map(|i| row.get::<_, Option<String>>(i).map_err(lookup_error))
        .collect()
}

fn lookup_error(e: rusqlite::Error) -> VoError {
    VoError::internal(format!("ObsCore lookup failed: {e}"))
}

/// The error for a task that could not write the database.
fn create_parent(path: &Path) -> Result<(), VoError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| VoError::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl crate::Backend for SqliteBackend {
    fn name(&self) -> &'static str {
        "SQLite"
    }

    fn dialect(&self) -> &'static (dyn SqlDialect + Sync) {
        &SqliteDialect
    }

    async fn lock_for_serving(&self, holder: &str) -> Result<ServeLock, VoError> {
        let lock = LockFile::acquire(&self.lock_path(), holder).map_err(|e| {
            e.into_vo_error(
                &format!("the database {}", self.path.display()),
                "Stop that server, or give another --db",
            )
        })?;
        Ok(ServeLock::new(lock))
    }

    fn served_by(&self) -> Option<String> {
        LockFile::holder(&self.lock_path())
    }

    async fn ensure_tap_schema(&self) -> Result<(), VoError> {
        self.blocking(|path| {
            create_parent(path)?;
            schema::ensure_tap_schema(&open_rw(path)?)
        })
        .await
    }

    async fn migrate(&self) -> Result<(), VoError> {
        self.blocking(|path| {
            create_parent(path)?;
            let mut conn = open_rw(path)?;
            schema::create_schema(&mut conn)?;
            super::jobs::create_job_table(&conn)
        })
        .await
    }

    async fn replace_obscore_rows(&self, rows: &[ObsCoreRow]) -> Result<(), VoError> {
        let rows = rows.to_vec();
        self.blocking(move |path| schema::replace_obscore_rows(&mut open_rw(path)?, &rows))
            .await
    }

    async fn upsert_obscore_rows(&self, rows: &[ObsCoreRow]) -> Result<(), VoError> {
        let rows = rows.to_vec();
        self.blocking(move |path| schema::upsert_obscore_rows(&mut open_rw(path)?, &rows))
            .await
    }

    async fn extend_obscore(&self, extra: &[vo_felis::model::Column]) -> Result<(), VoError> {
        let extra = extra.to_vec();
        self.blocking(move |path| schema::extend_obscore(&mut open_rw(path)?, &extra))
            .await
    }

    async fn obscore_files(&self) -> Result<Vec<FileState>, VoError> {
        self.blocking(|path| schema::obscore_files(&open_query(path)?))
            .await
    }

    async fn apply_obscore_changes(&self, changes: Arc<Changes>) -> Result<(), VoError> {
        let kept = self.ingest.clone();
        self.blocking(move |path| {
            let mut slot = kept
                .lock()
                .map_err(|_| VoError::internal("the ingest connection's lock is poisoned"))?;
            let conn = match slot.take() {
                Some(c) => c,
                None => {
                    let c = open_rw(path)?;
                    c.busy_timeout(std::time::Duration::from_secs(5))
                        .and_then(|()| {
                            c.execute_batch(&format!(
                                "PRAGMA cache_size = -{INGEST_CACHE_KIB}; PRAGMA wal_autocheckpoint = 16384;"
                            ))
                        })
                        .map_err(|e| VoError::internal(format!("database error: {e}")))?;
                    c
                }
            };
            let mut conn = conn;
            let out = schema::apply_obscore_changes(&mut conn, &changes);
            // A connection that failed is not kept (the next batch opens a fresh one).
            if out.is_ok() {
                *slot = Some(conn);
            }
            out
        })
        .await
    }

    async fn delete_obscore_rows(&self, obs_ids: &[String]) -> Result<usize, VoError> {
        let ids = obs_ids.to_vec();
        self.blocking(move |path| schema::delete_obscore_rows(&mut open_rw(path)?, &ids))
            .await
    }

    async fn publish(
        &self,
        felis: &vo_felis::Schema,
        metadata_only: bool,
        positions: &[(String, String, String)],
    ) -> Result<crate::publish::Published, VoError> {
        let (felis, positions) = (felis.clone(), positions.to_vec());
        self.blocking(move |path| {
            crate::publish::publish_sqlite(&mut open_rw(path)?, &felis, metadata_only, &positions)
        })
        .await
    }

    async fn tap_schema(&self) -> Result<rusqlite::Connection, VoError> {
        self.blocking(|path| {
            if !path.is_file() {
                return Err(VoError::usage(format!(
                    "--db sqlite:{}: no such database (load a Felis schema first)",
                    path.display()
                )));
            }
            open_query(path)
        })
        .await
    }

    async fn insert_rows(&self, rows: &crate::csvload::CsvRows) -> Result<usize, VoError> {
        let rows = rows.clone();
        self.blocking(move |path| crate::csvload::insert_sqlite(&mut open_rw(path)?, &rows))
            .await
    }

    async fn obscore_lookup(
        &self,
        key: &str,
        value: &str,
        columns: &[&str],
    ) -> Result<Option<Vec<Option<String>>>, VoError> {
        let sql = format!(
            "SELECT {} FROM {} WHERE {} = ?1",
            as_text(columns),
            quote_ident(OBSCORE_TABLE),
            quote_ident(key)
        );
        let value = value.to_string();
        let n = columns.len();
        self.reading(move |conn| {
            let mut st = conn.prepare_cached(&sql).map_err(lookup_error)?;
            let mut rows = st.query([&value]).map_err(lookup_error)?;
            match rows.next().map_err(lookup_error)? {
                Some(r) => Ok(Some(text_cells(r, n)?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn obscore_first(
        &self,
        columns: &[&str],
        limit: usize,
    ) -> Result<Vec<Vec<Option<String>>>, VoError> {
        let sql = format!(
            "SELECT {} FROM {} ORDER BY obs_publisher_did LIMIT {limit}",
            as_text(columns),
            quote_ident(OBSCORE_TABLE),
        );
        let n = columns.len();
        self.reading(move |conn| {
            let mut st = conn.prepare(&sql).map_err(lookup_error)?;
            let mut rows = st.query([]).map_err(lookup_error)?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().map_err(lookup_error)? {
                out.push(text_cells(r, n)?);
            }
            Ok(out)
        })
        .await
    }

    async fn obscore_count(&self) -> Result<i64, VoError> {
        self.blocking(|path| {
            open_query(path)?
                .query_row(
                    &format!("SELECT COUNT(*) FROM {}", quote_ident(OBSCORE_TABLE)),
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| VoError::internal(format!("cannot count rows: {e}")))
        })
        .await
    }

    async fn query(
        &self,
        sql: String,
        fields: Arc<[FieldMeta]>,
        uploads: Vec<UploadTable>,
    ) -> Result<RowStream, VoError> {
        let (rows, gone, stream) = row_channel();
        let (ready_tx, ready_rx) = oneshot::channel();
        let path = self.path.clone();
        let readers = self.readers.clone();
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            // A kept connection (its prepared statements too: the same query again is not
            // parsed again), kept again afterwards unless the query was interrupted. A query
            // with uploads has a connection of its own, closed at its end, which takes its
            // TEMP tables with it.
            let fresh = !uploads.is_empty();
            let kept = if fresh {
                None
            } else {
                readers.lock().ok().and_then(|mut v| v.pop())
            };
            let conn = match kept {
                Some(c) => c,
                None => match open_query(&path) {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                },
            };
            if let Err(e) = load_uploads(&conn, &uploads) {
                let _ = ready_tx.send(Err(e));
                return;
            }
            let interrupted = Arc::new(std::sync::atomic::AtomicBool::new(false));
            read_rows(
                &conn,
                &sql,
                &fields,
                ready_tx,
                rows,
                gone,
                runtime,
                &interrupted,
            );
            if !fresh && !interrupted.load(std::sync::atomic::Ordering::SeqCst) {
                if let Ok(mut v) = readers.lock() {
                    if v.len() < READERS {
                        v.push(conn);
                    }
                }
            }
        });
        match ready_rx.await {
            Ok(Ok(())) => Ok(stream),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(VoError::internal("the query task ended unexpectedly")),
        }
    }
}

/// Load `uploads` into TEMP tables of `conn` (a query connection of their own): columns
/// `c0, c1, ...` by [`StoredAs`], and for a table with a position its HEALPix cell `_hpx`
/// (NESTED, order [`schema::HPX_ORDER`]) with an index, as published catalogs have; then
/// ANALYZE, so the planner knows their sizes. Errors: a bad upload (named), or the database.
fn load_uploads(conn: &rusqlite::Connection, uploads: &[UploadTable]) -> Result<(), VoError> {
    if uploads.is_empty() {
        return Ok(());
    }
    let db = |e: rusqlite::Error| VoError::internal(format!("cannot load an upload: {e}"));
    conn.execute_batch("PRAGMA query_only = OFF").map_err(db)?;
    for u in uploads {
        let table = quote_ident(&vo_adql::upload_sql_table(&u.table.name));
        let (stored, cols) = u.columns_sql(
            |k| match k {
                StoredAs::Boolean | StoredAs::Integer => "INTEGER",
                StoredAs::Float | StoredAs::Double => "REAL",
                StoredAs::Text => "TEXT",
            },
            "\"_hpx\" INTEGER",
        );
        let position = u.position();
        conn.execute_batch(&format!("CREATE TEMP TABLE {table} ({cols})"))
            .map_err(db)?;
        let marks = vec!["?"; stored.len() + usize::from(position.is_some())].join(", ");
        let tx = conn.unchecked_transaction().map_err(db)?;
        {
            let mut insert = tx
                .prepare(&format!("INSERT INTO temp.{table} VALUES ({marks})"))
                .map_err(db)?;
            u.read_rows(|row| {
                let hpx = position.and_then(|(r, d)| {
                    let (ra, dec) = crate::upload::position_value(row.get(r)?, row.get(d)?)?;
                    let cell = cdshealpix::nested::hash(
                        schema::HPX_ORDER,
                        vo_common::sky::normalize_ra(ra).to_radians(),
                        dec.to_radians(),
                    );
                    Some(cell as i64)
                });
                let mut cells: Vec<rusqlite::types::Value> = row
                    .into_iter()
                    .map(|v| match v {
                        Value::Null => rusqlite::types::Value::Null,
                        Value::Int(i) => rusqlite::types::Value::Integer(i),
                        Value::Double(d) if d.is_nan() => rusqlite::types::Value::Null,
                        Value::Double(d) => rusqlite::types::Value::Real(d),
                        Value::Text(t) => rusqlite::types::Value::Text(t),
                    })
                    .collect();
                if position.is_some() {
                    cells.push(hpx.map_or(rusqlite::types::Value::Null, |h| {
                        rusqlite::types::Value::Integer(h)
                    }));
                }
                insert
                    .execute(rusqlite::params_from_iter(cells))
                    .map(|_| ())
                    .map_err(db)
            })?;
        }
        tx.commit().map_err(db)?;
        if position.is_some() {
            let index = quote_ident(&format!("{}_hpx", vo_adql::upload_sql_table(&u.table.name)));
            conn.execute_batch(&format!("CREATE INDEX temp.{index} ON {table} (\"_hpx\")"))
                .map_err(db)?;
        }
    }
    conn.execute_batch("ANALYZE temp; PRAGMA query_only = ON")
        .map_err(db)?;
    Ok(())
}

/// Read the rows of `sql` on this (blocking) thread: `ready` is answered at the first row
/// (or at the end of an empty result, or with the error that came first), then rows go to
/// `out` in batches of [`BATCH`]. When `gone` fires (the stream was dropped) the statement
/// is interrupted (and `interrupted` set, so that the connection is not kept).
#[allow(clippy::too_many_arguments)]
fn read_rows(
    conn: &rusqlite::Connection,
    sql: &str,
    fields: &[FieldMeta],
    ready: oneshot::Sender<Result<(), VoError>>,
    out: RowSender,
    gone: oneshot::Receiver<()>,
    runtime: tokio::runtime::Handle,
    interrupted: &Arc<std::sync::atomic::AtomicBool>,
) {
    let interrupt = conn.get_interrupt_handle();
    let (done_tx, done_rx) = oneshot::channel::<()>();
    // The watcher interrupts only while this query runs: the connection goes back to the
    // pool afterwards, and a late interrupt would stop the next query on it.
    let running = Arc::new(std::sync::Mutex::new(true));
    let (flag, watched) = (interrupted.clone(), running.clone());
    runtime.spawn(async move {
        tokio::select! {
            _ = gone => {
                if let Ok(running) = watched.lock() {
                    if *running {
                        flag.store(true, std::sync::atomic::Ordering::SeqCst);
                        interrupt.interrupt();
                    }
                }
            }
            _ = done_rx => {}
        }
    });
    let _done = done_tx; // dropped when this function returns: the watcher ends
    /// Marks the query ended when dropped (after the statement, declared later).
    struct Ended(Arc<std::sync::Mutex<bool>>);
    impl Drop for Ended {
        fn drop(&mut self) {
            if let Ok(mut running) = self.0.lock() {
                *running = false;
            }
        }
    }
    let _ended = Ended(running);
    let mut stmt = match conn.prepare_cached(sql) {
        Ok(s) => s,
        Err(e) => {
            let _ = ready.send(Err(db_error(e)));
            return;
        }
    };
    let mut rows = match stmt.query([]) {
        Ok(r) => r,
        Err(e) => {
            let _ = ready.send(Err(db_error(e)));
            return;
        }
    };
    let mut ready = Some(ready);
    let kinds: Vec<CellKind> = fields.iter().map(CellKind::of).collect();
    let mut batch = Vec::with_capacity(BATCH);
    let failure = loop {
        let step = match rows.next() {
            Ok(Some(row)) => row_values(row, fields, &kinds).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(db_message(&e)),
        };
        match step {
            Ok(Some(values)) => {
                batch.push(values);
                if let Some(r) = ready.take() {
                    if r.send(Ok(())).is_err() {
                        return;
                    }
                }
                if batch.len() == BATCH && !out.blocking_send(Ok(std::mem::take(&mut batch))) {
                    return; // the stream was dropped
                }
            }
            Ok(None) => break None,
            Err(m) => break Some(m),
        }
    };
    if let Some(r) = ready.take() {
        // No row came: the error is the answer, or the result is empty.
        let _ = r.send(match failure {
            Some(m) => Err(VoError::query(m)),
            None => Ok(()),
        });
        return;
    }
    if !batch.is_empty() && !out.blocking_send(Ok(batch)) {
        return;
    }
    if let Some(m) = failure {
        let _ = out.blocking_send(Err(m));
    }
}

/// One SQLite value as a cell of a column of `field`'s datatype. SQLite turns an integer
/// overflow into a REAL: in an integer column that is an error, never a silently different
/// value.
fn cell(v: ValueRef<'_>, field: &FieldMeta, kind: CellKind) -> Result<Value, String> {
    let datatype = field.datatype.as_str();
    let is_float = kind == CellKind::Float;
    let is_char = kind == CellKind::Text;
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) if is_float => Value::Double(i as f64),
        ValueRef::Integer(i) if is_char => Value::Text(i.to_string()),
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) if is_char => Value::Text(format!("{f:?}")),
        ValueRef::Real(f) if is_float => Value::Double(f),
        ValueRef::Real(f) => {
            // An integer column: only integral values in range are integers.
            // i64::MIN is -2^63 exactly; i64::MAX + 1 is 2^63.
            let two_63 = 2f64.powi(63);
            if f.fract() == 0.0 && (-two_63..two_63).contains(&f) {
                Value::Int(f as i64)
            } else {
                return Err(format!(
                    "integer overflow in column {}: the value {f:?} is not a {datatype}",
                    field.name
                ));
            }
        }
        ValueRef::Text(t) => Value::Text(match std::str::from_utf8(t) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(t).into_owned(),
        }),
        ValueRef::Blob(_) => Value::Null,
    })
}

/// The user-facing message of a database error: SQLite's own words, without the generated
/// SQL (which is logged instead).
fn db_message(e: &rusqlite::Error) -> String {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) {
        // A query stopped on purpose (its client went away, or its job was stopped).
        tracing::debug!("query interrupted");
    } else {
        tracing::warn!(error = %e, "database error");
    }
    let msg = match e {
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        other => other.to_string(),
    };
    format!("the query failed in the database: {msg}")
}

fn db_error(e: rusqlite::Error) -> VoError {
    VoError::query(db_message(&e))
}

/// How a column's SQLite values become cells, decided once per query from its datatype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellKind {
    /// `float`, `double`.
    Float,
    /// `char`, `unicodeChar`.
    Text,
    /// The integer and boolean types.
    Other,
}

impl CellKind {
    fn of(field: &FieldMeta) -> CellKind {
        match field.datatype.as_str() {
            "float" | "double" => CellKind::Float,
            "char" | "unicodeChar" => CellKind::Text,
            _ => CellKind::Other,
        }
    }
}

fn row_values(
    row: &rusqlite::Row<'_>,
    fields: &[FieldMeta],
    kinds: &[CellKind],
) -> Result<Vec<Value>, String> {
    let mut values = Vec::with_capacity(fields.len());
    for (i, (f, kind)) in fields.iter().zip(kinds).enumerate() {
        values.push(match row.get_ref(i) {
            Ok(v) => cell(v, f, *kind)?,
            Err(e) => return Err(format!("cannot read column {}: {e}", f.name)),
        });
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Backend;
    use std::time::Duration;

    fn long_field() -> Arc<[FieldMeta]> {
        vec![FieldMeta {
            name: "x".into(),
            datatype: "long".into(),
            ..Default::default()
        }]
        .into()
    }

    /// CPU seconds this process has used (utime + stime of /proc/self/stat, at 100 ticks/s).
    fn cpu_seconds() -> f64 {
        let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
        let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
        let f: Vec<&str> = after_name.split(' ').collect();
        // Fields 14 and 15 of stat(5), counted from field 3 (state) here.
        let ticks: f64 =
            f[11].parse::<f64>().expect("utime") + f[12].parse::<f64>().expect("stime");
        ticks / 100.0
    }

    async fn backend() -> (tempfile::TempDir, SqliteBackend) {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = SqliteBackend::new(dir.path().join("t.db"));
        b.migrate().await.expect("migrate");
        (dir, b)
    }

    /// Rows 1..=n, with `bad` (if any) replaced by 0.5, which is no `long`.
    fn counting(n: u32, bad: Option<u32>) -> String {
        let value = match bad {
            Some(b) => format!("CASE WHEN x = {b} THEN 0.5 ELSE x END"),
            None => "x".into(),
        };
        format!(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) \
             SELECT {value} FROM c"
        )
    }

    /// Kept connections are shared by the queries that follow: a query's stream dropped
    /// just after its last row (its watcher still waiting) must never interrupt the next
    /// query on the same connection. Before the watcher checked that its query still ran,
    /// about 1 in 1,000 such queries failed with "interrupted" (wrk, 50 connections).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_finished_query_never_interrupts_the_next_on_its_connection() {
        let (_dir, b) = backend().await;
        let b = Arc::new(b);
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let b = b.clone();
                tokio::spawn(async move {
                    let mut failures = Vec::new();
                    for _ in 0..500 {
                        let mut rows = b
                            .query(counting(3, None), long_field(), Vec::new())
                            .await
                            .expect("query");
                        let mut n = 0;
                        while let Some(batch) = rows.next().await {
                            match batch {
                                Ok(batch) => n += batch.len(),
                                Err(m) => failures.push(m),
                            }
                        }
                        if n != 3 {
                            failures.push(format!("{n} rows"));
                        }
                    }
                    failures
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.expect("task"), Vec::<String>::new());
        }
    }

    #[tokio::test]
    async fn rows_come_in_batches_and_a_late_failure_ends_the_stream() {
        let (_dir, b) = backend().await;
        let mut rows = b
            .query(counting(600, None), long_field(), Vec::new())
            .await
            .expect("query");
        let mut sizes = Vec::new();
        let mut next = 1;
        while let Some(batch) = rows.next().await {
            let batch = batch.expect("rows");
            for r in &batch {
                assert_eq!(r, &vec![Value::Int(next)]);
                next += 1;
            }
            sizes.push(batch.len());
        }
        assert_eq!(sizes, vec![BATCH, BATCH, 600 - 2 * BATCH]);

        // A value that is no long at row 300: the rows before it, then the failure.
        let mut rows = b
            .query(counting(600, Some(300)), long_field(), Vec::new())
            .await
            .expect("query");
        let mut got = 0;
        let mut failure = None;
        while let Some(batch) = rows.next().await {
            match batch {
                Ok(batch) => got += batch.len(),
                Err(m) => failure = Some(m),
            }
        }
        assert_eq!(got, 299);
        assert_eq!(
            failure.as_deref(),
            Some("integer overflow in column x: the value 0.5 is not a long")
        );

        // At the first row, or in the SQL: the query's error, before any stream.
        let e = b
            .query(counting(5, Some(1)), long_field(), Vec::new())
            .await
            .expect_err("first row");
        assert!(
            e.message.contains("integer overflow in column x"),
            "{}",
            e.message
        );
        let e = b
            .query("SELECT nope FROM nowhere".into(), long_field(), Vec::new())
            .await
            .expect_err("sql");
        assert_eq!(
            e.message,
            "the query failed in the database: no such table: nowhere"
        );
        // An empty result is a stream with no batch.
        let mut rows = b
            .query("SELECT 1 WHERE 0".into(), long_field(), Vec::new())
            .await
            .expect("empty");
        assert!(rows.next().await.is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_stream_interrupts_the_query() {
        let (_dir, b) = backend().await;
        // Never ends, and never gives a first row: only the interrupt stops it.
        let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) \
                       SELECT MAX(x) FROM c";
        let waited = tokio::time::timeout(
            Duration::from_millis(300),
            b.query(endless.into(), long_field(), Vec::new()),
        )
        .await;
        assert!(waited.is_err(), "the endless query answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t0 = cpu_seconds();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let used = cpu_seconds() - t0;
        assert!(used < 0.3, "the query still runs: {used} s of CPU in 1 s");
        // The same after the first rows: a stream dropped mid-way stops its query.
        let rows = b
            .query(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c"
                    .into(),
                long_field(),
                Vec::new(),
            )
            .await
            .expect("first rows");
        drop(rows);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t0 = cpu_seconds();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let used = cpu_seconds() - t0;
        assert!(used < 0.3, "the query still runs: {used} s of CPU in 1 s");
    }
}

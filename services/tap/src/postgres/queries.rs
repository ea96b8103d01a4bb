//! What is read: TAP queries (READ ONLY, as the reader role, with the statement timeout,
//! from a portal in batches, cancelled when the client goes away), ObsCore lookups and
//! counts, and PostgreSQL values as VOTable cells.

use super::*;
use crate::schema::as_text;
use crate::upload::{StoredAs, UploadTable};

impl PgBackend {
    /// Text columns `columns` of the ObsCore row whose `key` column equals `value`, or `None`.
    pub async fn obscore_lookup(
        &self,
        key: &str,
        value: &str,
        columns: &[&str],
    ) -> Result<Option<Vec<Option<String>>>, VoError> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {} FROM {} WHERE {} = $1",
            as_text(columns),
            obscore(),
            quote_ident(key)
        );
        let row = client
            .query_opt(&sql, &[&value])
            .await
            .map_err(|e| pg_error(&e))?;
        Ok(row.map(|r| {
            (0..columns.len())
                .map(|i| r.get::<_, Option<String>>(i))
                .collect()
        }))
    }

    /// Columns `columns` of the first `limit` ObsCore rows by obs_publisher_did, as text.
    pub async fn obscore_first(
        &self,
        columns: &[&str],
        limit: usize,
    ) -> Result<Vec<Vec<Option<String>>>, VoError> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {} FROM {} ORDER BY obs_publisher_did LIMIT {limit}",
            as_text(columns),
            obscore(),
        );
        let rows = client.query(&sql, &[]).await.map_err(|e| pg_error(&e))?;
        Ok(rows
            .iter()
            .map(|r| {
                (0..columns.len())
                    .map(|i| r.get::<_, Option<String>>(i))
                    .collect()
            })
            .collect())
    }

    /// The number of ObsCore rows.
    pub async fn obscore_count(&self) -> Result<i64, VoError> {
        let client = self.client().await?;
        let row = client
            .query_one(&format!("SELECT COUNT(*) FROM {}", obscore()), &[])
            .await
            .map_err(|e| pg_error(&e))?;
        Ok(row.get(0))
    }

    /// Run one translated query for a TAP request: a READ ONLY transaction as the reader role
    /// with the statement timeout, and rows streamed from the server and handed to
    /// `on_batch` [`BATCH_ROWS`] at a time (which returns false to stop). The query is
    /// cancelled on the server when `cancelled` completes first. `uploads` are loaded first,
    /// in the same transaction, into TEMP tables dropped at its end ([`load_uploads`]); the
    /// transaction is made READ ONLY once they are.
    pub async fn run_query<F>(
        &self,
        sql: &str,
        uploads: &[UploadTable],
        cancelled: impl std::future::Future<Output = ()>,
        on_batch: &mut F,
    ) -> Result<(), QueryFailure>
    where
        F: AsyncBatch,
    {
        let mut client = self.client().await.map_err(QueryFailure::Before)?;
        let cancel = client.cancel_token();
        let role = quote_ident(&self.options.reader_role);
        let timeout_ms = self.options.statement_timeout.as_millis();
        let mut started = false;
        let work = async {
            let tx = client
                .build_transaction()
                .read_only(uploads.is_empty())
                .start()
                .await
                .map_err(|e| Failed::Pg(false, e))?;
            // No JIT: pgSphere's operators carry large planner costs, so a cross-match of
            // 10,000 uploaded rows with 1,000,000 (0.17 s) was JIT-compiled first, for 0.18 s
            // more (PostgreSQL 15, conformance/bench_crossmatch.sh).
            tx.batch_execute(&format!(
                "SET LOCAL ROLE {role}; SET LOCAL statement_timeout = {timeout_ms}; SET LOCAL jit = off"
            ))
            .await
            .map_err(|e| Failed::Pg(false, e))?;
            if !uploads.is_empty() {
                load_uploads(&tx, uploads).await.map_err(Failed::Upload)?;
                // Read only from here on (a transaction may always become so).
                tx.batch_execute("SET TRANSACTION READ ONLY")
                    .await
                    .map_err(|e| Failed::Pg(false, e))?;
            }
            let stmt = tx.prepare(sql).await.map_err(|e| Failed::Pg(false, e))?;
            // The rows stream in as the server sends them (tokio-postgres reads no further
            // ahead than the stream is read), while the ones before are written out: the
            // server and vogate work at once, with no round trip per batch.
            let rows = tx
                .query_raw(&stmt, Vec::<String>::new())
                .await
                .map_err(|e| Failed::Pg(false, e))?;
            let mut rows = std::pin::pin!(rows);
            let batch_len = BATCH_ROWS as usize;
            let mut batch = Vec::with_capacity(batch_len);
            loop {
                let done = match rows.next().await {
                    Some(Ok(row)) => {
                        batch.push(row);
                        if batch.len() < batch_len {
                            continue;
                        }
                        false
                    }
                    Some(Err(e)) => return Err(Failed::Pg(started, e)),
                    None => true,
                };
                let first = !started;
                started = true;
                let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_len));
                if !on_batch.batch(full, first, done).await {
                    if !done {
                        // The rest is not wanted: stop the server sending it (the dropped
                        // stream would otherwise be read to its end before the pooled
                        // connection could serve again). A cancel that comes after the
                        // query ended finds the connection idle, and does nothing.
                        let _ = cancel.cancel_query(NoTls).await;
                    }
                    break;
                }
                if done {
                    break;
                }
            }
            Ok::<(), Failed>(())
        };
        let mut work = std::pin::pin!(work);
        let mut cancelled = std::pin::pin!(cancelled);
        let result = tokio::select! {
            r = &mut work => r,
            () = &mut cancelled => {
                tracing::info!("client gone: cancelling the query");
                if let Err(e) = cancel.cancel_query(NoTls).await {
                    tracing::warn!(error = %e, "cannot cancel the query");
                }
                // Let the work finish (it fails with 'canceling statement'), so the
                // connection goes back to the pool in a clean state.
                let _ = tokio::time::timeout(Duration::from_secs(5), &mut work).await;
                return Err(QueryFailure::Cancelled);
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(Failed::Pg(false, e)) => Err(QueryFailure::Before(pg_error(&e))),
            Err(Failed::Pg(true, e)) => Err(QueryFailure::During(pg_message(&e))),
            Err(Failed::Upload(e)) => Err(QueryFailure::Before(e)),
        }
    }
}

/// Why the work of [`PgBackend::run_query`] stopped: a database error (after the first row
/// or not), or an upload that could not be loaded.
enum Failed {
    Pg(bool, tokio_postgres::Error),
    Upload(VoError),
}

/// Load `uploads` into TEMP tables of `tx` (ON COMMIT DROP: gone with the transaction, however
/// it ends): columns `c0, c1, ...` by [`StoredAs`], sent with COPY as the VOTable is read (on a
/// blocking thread, a few 64 KiB chunks ahead), and for a table with a position its pgSphere
/// `_spoint` with a GiST index, as ivoa.ObsCore has; then ANALYZE, so the planner knows their
/// sizes. Errors: a bad upload (named), or the database's.
async fn load_uploads(
    tx: &tokio_postgres::Transaction<'_>,
    uploads: &[UploadTable],
) -> Result<(), VoError> {
    for u in uploads {
        let name = quote_ident(&vo_adql::upload_sql_table(&u.table.name));
        let (stored, cols) = u.columns_sql(
            |k| match k {
                StoredAs::Boolean => "boolean",
                StoredAs::Integer => "bigint",
                StoredAs::Float => "real",
                StoredAs::Double => "double precision",
                StoredAs::Text => "text",
            },
            "\"_spoint\" spoint",
        );
        let position = u.position();
        tx.batch_execute(&format!("CREATE TEMP TABLE {name} ({cols}) ON COMMIT DROP"))
            .await
            .map_err(|e| pg_error(&e))?;
        let sink = tx
            .copy_in::<_, bytes::Bytes>(&format!("COPY pg_temp.{name} FROM STDIN"))
            .await
            .map_err(|e| pg_error(&e))?;
        let mut sink = std::pin::pin!(sink);
        let (chunks_tx, mut chunks) =
            tokio::sync::mpsc::channel::<Result<bytes::Bytes, VoError>>(4);
        let reader = {
            let u = u.clone();
            tokio::task::spawn_blocking(move || {
                let mut buf = bytes::BytesMut::with_capacity(1 << 16);
                let read = u.read_rows(|row| {
                    copy_line(&mut buf, &row, &stored, position);
                    if buf.len() >= 1 << 16 {
                        let chunk = buf.split().freeze();
                        if chunks_tx.blocking_send(Ok(chunk)).is_err() {
                            return Err(VoError::internal("the upload's COPY stopped"));
                        }
                    }
                    Ok(())
                });
                let last = match read {
                    Ok(_) => Ok(buf.freeze()),
                    Err(e) => Err(e),
                };
                let _ = chunks_tx.blocking_send(last);
            })
        };
        while let Some(chunk) = chunks.recv().await {
            let chunk = chunk?;
            if !chunk.is_empty() {
                sink.send(chunk).await.map_err(|e| pg_error(&e))?;
            }
        }
        let _ = reader.await;
        sink.as_mut().finish().await.map_err(|e| pg_error(&e))?;
        let mut after = String::new();
        if position.is_some() {
            after.push_str(&format!(
                "CREATE INDEX ON pg_temp.{name} USING gist (\"_spoint\"); "
            ));
        }
        after.push_str(&format!("ANALYZE pg_temp.{name}"));
        tx.batch_execute(&after).await.map_err(|e| pg_error(&e))?;
    }
    Ok(())
}

/// Append one row of an upload to `buf` in COPY's text format (PostgreSQL's COPY, "Text
/// Format": tab-separated, `\N` for NULL, backslash escapes), and its `_spoint` when the
/// table has a position.
fn copy_line(
    buf: &mut bytes::BytesMut,
    row: &[Value],
    stored: &[StoredAs],
    position: Option<(usize, usize)>,
) {
    use std::fmt::Write;
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            buf.extend_from_slice(b"\t");
        }
        let kind = stored.get(i).copied().unwrap_or(StoredAs::Text);
        match v {
            Value::Null => buf.extend_from_slice(b"\\N"),
            Value::Int(n) if kind == StoredAs::Boolean => {
                buf.extend_from_slice(if *n != 0 { b"t" } else { b"f" })
            }
            Value::Int(n) => {
                let _ = write!(buf, "{n}");
            }
            Value::Double(d) => copy_float(buf, *d),
            Value::Text(t) => {
                for c in t.chars() {
                    match c {
                        '\\' => buf.extend_from_slice(b"\\\\"),
                        '\t' => buf.extend_from_slice(b"\\t"),
                        '\n' => buf.extend_from_slice(b"\\n"),
                        '\r' => buf.extend_from_slice(b"\\r"),
                        c => {
                            let mut tmp = [0u8; 4];
                            buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                        }
                    }
                }
            }
        }
    }
    if let Some((r, d)) = position {
        buf.extend_from_slice(b"\t");
        let pos = match (row.get(r), row.get(d)) {
            (Some(ra), Some(dec)) => crate::upload::position_value(ra, dec),
            _ => None,
        };
        match pos {
            Some((ra, dec)) => {
                let _ = write!(buf, "({ra:?}d, {dec:?}d)");
            }
            None => buf.extend_from_slice(b"\\N"),
        }
    }
    buf.extend_from_slice(b"\n");
}

/// A float as COPY text: shortest round-trip digits, `NaN`, `Infinity`, `-Infinity`.
fn copy_float(buf: &mut bytes::BytesMut, d: f64) {
    use std::fmt::Write;
    if d.is_nan() {
        buf.extend_from_slice(b"NaN");
    } else if d.is_infinite() {
        buf.extend_from_slice(if d > 0.0 { b"Infinity" } else { b"-Infinity" });
    } else {
        let _ = write!(buf, "{d:?}");
    }
}

/// Why a query did not complete.
#[derive(Debug)]
pub enum QueryFailure {
    /// Before any row: answer with this error document.
    Before(VoError),
    /// While rows were streaming: end the table with QUERY_STATUS=ERROR and this message.
    During(String),
    /// The client went away and the query was cancelled.
    Cancelled,
}

/// The consumer of result batches of [`PgBackend::run_query`].
pub trait AsyncBatch {
    /// Take one batch (`first`: the first; `last`: no more follow). Returns false to stop.
    fn batch(
        &mut self,
        rows: Vec<tokio_postgres::Row>,
        first: bool,
        last: bool,
    ) -> impl std::future::Future<Output = bool>;
}

/// Column `i` of `row` as a VOTable value, by its PostgreSQL type.
pub fn cell(row: &tokio_postgres::Row, i: usize) -> Result<Value, String> {
    let ty = row.columns()[i].type_();
    let err = |e: tokio_postgres::Error| format!("cannot read column {i}: {e}");
    Ok(match *ty {
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .map_err(err)?
            .map_or(Value::Null, |b| Value::Int(b as i64)),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .map_err(err)?
            .map_or(Value::Null, |v| Value::Int(v.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .map_err(err)?
            .map_or(Value::Null, |v| Value::Int(v.into())),
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)
            .map_err(err)?
            .map_or(Value::Null, Value::Int),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)
            .map_err(err)?
            .map_or(Value::Null, |v| Value::Double(v.into())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)
            .map_err(err)?
            .map_or(Value::Null, Value::Double),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => row
            .try_get::<_, Option<String>>(i)
            .map_err(err)?
            .map_or(Value::Null, Value::Text),
        ref other => {
            return Err(format!(
                "column {} has the database type {other}, which vogate cannot return",
                row.columns()[i].name()
            ))
        }
    })
}

/// Column values of `row` as cells of `fields`: integers in a float column (e.g. COUNT in an
/// expression) stay numbers, numbers in a text column become text, and the longitudes of a
/// geometry value (DALI xtype point, circle, polygon) are wrapped into [0, 360).
pub(super) fn row_values(
    row: &tokio_postgres::Row,
    fields: &[vo_common::FieldMeta],
) -> Result<Vec<Value>, String> {
    (0..fields.len())
        .map(|i| {
            let v = cell(row, i)?;
            Ok(match (v, fields[i].datatype.as_str()) {
                (Value::Int(n), "float" | "double") => Value::Double(n as f64),
                (Value::Int(n), "char" | "unicodeChar") => Value::Text(n.to_string()),
                (Value::Double(d), "char" | "unicodeChar") => Value::Text(format!("{d:?}")),
                (Value::Text(t), _) => match geometry(&fields[i]) {
                    Some(x) => {
                        Value::Text(vo_common::sky::dali_geometry_normalised(x, &t).unwrap_or(t))
                    }
                    None => Value::Text(t),
                },
                (v, _) => v,
            })
        })
        .collect()
}

/// The DALI geometry xtype of `field` (point, circle, polygon), if it has one.
fn geometry(field: &vo_common::FieldMeta) -> Option<&str> {
    let x = field.xtype.as_deref()?;
    vo_common::sky::is_dali_geometry(x).then_some(x)
}

/// The consumer of [`PgBackend::run_query`]'s batches that feeds a [`crate::RowStream`]:
/// `ready` is answered at the first batch (with an error when its first row cannot be
/// converted), then every batch goes to the stream.
struct ToStream {
    fields: std::sync::Arc<[vo_common::FieldMeta]>,
    ready: Option<tokio::sync::oneshot::Sender<Result<(), VoError>>>,
    rows: crate::backend::RowSender,
    /// A conversion failure after the first row (sent after the rows before it).
    failed: Option<String>,
}

impl AsyncBatch for ToStream {
    async fn batch(&mut self, rows: Vec<tokio_postgres::Row>, first: bool, _last: bool) -> bool {
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            match row_values(row, &self.fields) {
                Ok(v) => out.push(v),
                Err(m) => {
                    if first && out.is_empty() {
                        if let Some(ready) = self.ready.take() {
                            let _ = ready.send(Err(VoError::query(m)));
                        }
                        return false;
                    }
                    self.failed = Some(m);
                    break;
                }
            }
        }
        if first && self.ready.take().is_none_or(|r| r.send(Ok(())).is_err()) {
            return false;
        }
        if !out.is_empty() && !self.rows.send(Ok(out)).await {
            return false;
        }
        if let Some(m) = self.failed.take() {
            let _ = self.rows.send(Err(m)).await;
            return false;
        }
        true
    }
}

/// Run `sql` on a task of its own and stream its rows (see [`crate::Backend::query`]); the
/// query is cancelled on the server when the stream is dropped.
pub(super) async fn stream_rows(
    pg: PgBackend,
    sql: String,
    fields: std::sync::Arc<[vo_common::FieldMeta]>,
    uploads: Vec<UploadTable>,
) -> Result<crate::RowStream, VoError> {
    let (rows, gone, stream) = crate::backend::row_channel();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    super::pool::io_handle().spawn(async move {
        let mut sink = ToStream {
            fields,
            ready: Some(ready_tx),
            rows,
            failed: None,
        };
        let cancelled = async move {
            let _ = gone.await;
        };
        match pg.run_query(&sql, &uploads, cancelled, &mut sink).await {
            Ok(()) | Err(QueryFailure::Cancelled) => {}
            Err(QueryFailure::Before(e)) => match sink.ready.take() {
                Some(ready) => {
                    let _ = ready.send(Err(e));
                }
                None => {
                    let _ = sink.rows.send(Err(e.message)).await;
                }
            },
            Err(QueryFailure::During(m)) => {
                let _ = sink.rows.send(Err(m)).await;
            }
        }
    });
    match ready_rx.await {
        Ok(Ok(())) => Ok(stream),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(VoError::internal("the query task ended unexpectedly")),
    }
}

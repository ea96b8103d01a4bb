//! `GET` and `POST /tap/sync` (TAP 1.1 §2.3.1): one query, answered in the request.
//!
//! The ADQL is translated (in the backend's dialect) before anything runs; then a task runs
//! the SQL and fetches the first row: on SQLite a blocking task with a read-only connection,
//! on PostgreSQL an async task with a pooled connection in a READ ONLY transaction
//! (`crate::postgres`). Until the first row any error is answered with a DALI error document
//! and its HTTP status (400 for user errors, 503 when the database cannot be reached). After
//! that the result streams through a bounded channel (a few 64 KiB chunks at most in
//! flight), so memory stays flat whatever the row count; an error while streaming ends the
//! table with `QUERY_STATUS=ERROR`. When the client goes away, the channel closes and the
//! query stops (on PostgreSQL it is cancelled on the server).

use crate::params::{decode_form, parse_tap_request};
use crate::postgres::{AsyncBatch, PgBackend, PgDialect, QueryFailure};
use crate::schema::TapCatalog;
use crate::sqlite::{open_query, SqliteDialect};
use crate::Limits;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use rusqlite::types::ValueRef;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use vo_adql::SqlDialect;
use vo_common::votable::{QueryStatus, TableWriter};
use vo_common::{FieldMeta, Format, Value, VoError};

/// What the TAP handlers share.
#[derive(Debug, Clone)]
pub struct TapState {
    /// The database queried.
    pub backend: crate::Backend,
    /// The published tables, as TAP_SCHEMA lists them.
    pub catalog: Arc<TapCatalog>,
    /// MAXREC limits.
    pub limits: Limits,
    /// The VOSI documents.
    pub vosi: Arc<crate::vosi::Vosi>,
}

/// Mount `/tap` (a page listing the endpoints), `/tap/sync` (GET and POST) and the VOSI
/// endpoints `/tap/availability`, `/tap/capabilities`, `/tap/tables` and
/// `/tap/tables/{table_name}`. Needs
/// `web::Data<TapState>` in the app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/tap/sync")
            .route(web::get().to(sync_get))
            .route(web::post().to(sync_post)),
    )
    .route("/tap", web::get().to(home))
    .route("/tap/", web::get().to(home))
    .route("/tap/availability", web::get().to(availability))
    .route("/tap/capabilities", web::get().to(capabilities))
    .route("/tap/tables", web::get().to(tables))
    .route("/tap/tables/{table_name}", web::get().to(table));
}

fn xml(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/xml; charset=utf-8")
        .body(body)
}

async fn home(state: web::Data<TapState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(state.vosi.home())
}

async fn availability(state: web::Data<TapState>) -> HttpResponse {
    xml(state.vosi.availability())
}

async fn capabilities(state: web::Data<TapState>) -> HttpResponse {
    xml(state.vosi.capabilities())
}

/// `/tap/tables[?detail=min|max]`: all tables, with their columns unless detail=min.
async fn tables(state: web::Data<TapState>, req: HttpRequest) -> HttpResponse {
    let pairs = match form_pairs(req.query_string()) {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    let detail = pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("detail"))
        .map(|(_, v)| v.to_ascii_lowercase());
    match detail.as_deref() {
        None | Some("max") => xml(state.vosi.tables(true)),
        Some("min") => xml(state.vosi.tables(false)),
        Some(other) => error_response(&VoError::usage(format!(
            "detail={other} is not supported: use detail=min or detail=max"
        ))),
    }
}

/// `/tap/tables/{table_name}`: one table with its columns.
async fn table(state: web::Data<TapState>, name: web::Path<String>) -> HttpResponse {
    match state.vosi.table(&name) {
        Some(doc) => xml(doc),
        None => error_response(&VoError::not_found(format!(
            "there is no table '{name}'; see /tap/tables"
        ))),
    }
}

/// The HTTP response for an error: the DALI error document with the kind's status.
pub fn error_response(e: &VoError) -> HttpResponse {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .content_type("application/x-votable+xml")
        .body(e.to_votable())
}

fn form_pairs(s: &str) -> Result<Vec<(String, String)>, VoError> {
    decode_form(s)
}

/// The largest POST body accepted, bytes.
pub const MAX_BODY: usize = 1 << 20;

/// Queries up to this many bytes are translated on the worker thread: at most a few thousand
/// tokens, whose syntax tree the 2 MiB worker stack drops safely.
const SHORT_QUERY: usize = 4096;

/// Stack size of the thread that parses and translates a query: ASTs of long expressions
/// are dropped recursively by sqlparser, and a small worker stack would overflow.
const TRANSLATE_STACK: usize = 64 << 20;

/// Translate on a thread with a large stack (see [`TRANSLATE_STACK`]).
fn translate_big_stack(
    query: String,
    catalog: Arc<TapCatalog>,
    dialect: &'static (dyn SqlDialect + Sync),
) -> Result<vo_adql::Translated, VoError> {
    std::thread::Builder::new()
        .name("adql".into())
        .stack_size(TRANSLATE_STACK)
        .spawn(move || vo_adql::translate(&query, catalog.as_ref(), dialect))
        .map_err(|e| VoError::internal(format!("cannot start the ADQL translator: {e}")))?
        .join()
        .unwrap_or_else(|_| Err(VoError::internal("the ADQL translator failed")))
}

fn shorten(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}... ({} bytes)", &s[..i], s.len()),
        None => s.to_string(),
    }
}

async fn sync_get(state: web::Data<TapState>, req: HttpRequest) -> HttpResponse {
    match form_pairs(req.query_string()) {
        Ok(pairs) => run_sync(state.get_ref().clone(), pairs).await,
        Err(e) => error_response(&e),
    }
}

async fn sync_post(
    state: web::Data<TapState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> HttpResponse {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(c) if body.len() + c.len() <= MAX_BODY => body.extend_from_slice(&c),
            Ok(_) => {
                return error_response(&VoError::new(
                    vo_common::ErrorKind::TooLarge,
                    format!("the request body is larger than {MAX_BODY} bytes"),
                ))
            }
            Err(e) => {
                return error_response(&VoError::usage(format!(
                    "cannot read the request body: {e}"
                )))
            }
        }
    }
    let mut pairs = match form_pairs(req.query_string()) {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/") {
        return error_response(&VoError::usage(
            "multipart/form-data requests (UPLOAD) are not supported yet; send application/x-www-form-urlencoded",
        ));
    }
    match std::str::from_utf8(&body) {
        Ok(text) => match form_pairs(text) {
            Ok(p) => pairs.extend(p),
            Err(e) => return error_response(&e),
        },
        Err(_) => return error_response(&VoError::usage("the request body is not UTF-8 text")),
    }
    run_sync(state.get_ref().clone(), pairs).await
}

/// Run one sync query from its DALI parameters and answer it.
pub async fn run_sync(state: TapState, pairs: Vec<(String, String)>) -> HttpResponse {
    let request = match parse_tap_request(&pairs) {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    // A short query cannot build a tree deep enough to threaten the worker's stack; a long
    // one is translated on a thread with a large stack.
    let dialect: &'static (dyn SqlDialect + Sync) = match state.backend {
        crate::Backend::Sqlite(_) => &SqliteDialect,
        crate::Backend::Postgres(_) => &PgDialect,
    };
    let translated = if request.query.len() <= SHORT_QUERY {
        Ok(vo_adql::translate(
            &request.query,
            state.catalog.as_ref(),
            dialect,
        ))
    } else {
        web::block({
            let (q, c) = (request.query.clone(), state.catalog.clone());
            move || translate_big_stack(q, c, dialect)
        })
        .await
    };
    let translated = match translated {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            tracing::info!(
                query = ?shorten(&request.query, 500),
                error = ?shorten(&e.message, 500),
                "rejected ADQL"
            );
            return error_response(&e);
        }
        Err(_) => return error_response(&VoError::internal("the ADQL translator failed")),
    };
    let maxrec = request
        .maxrec
        .unwrap_or(state.limits.default_maxrec)
        .min(state.limits.max_maxrec);
    // TOP within MAXREC cannot overflow; otherwise fetch one row more than MAXREC to know.
    let (limit, can_overflow) = match translated.top {
        Some(t) if t <= maxrec => (t, false),
        _ => (maxrec.saturating_add(1), true),
    };
    let plan = Plan {
        sql: format!("{}{}", translated.sql, dialect.limit(limit)),
        fields: translated.fields,
        format: request.format,
        maxrec,
        can_overflow,
        infos: vec![
            ("QUERY".to_string(), request.query.clone()),
            ("MAXREC".to_string(), maxrec.to_string()),
        ],
    };
    tracing::debug!(sql = %plan.sql, "running");
    let (chunks_tx, mut chunks_rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let (ready_tx, ready_rx) = oneshot::channel::<Result<(), VoError>>();
    match &state.backend {
        crate::Backend::Sqlite(db_path) => {
            let db_path = db_path.clone();
            tokio::task::spawn_blocking(move || execute(&db_path, plan, ready_tx, chunks_tx));
        }
        crate::Backend::Postgres(pg) => {
            let pg = pg.clone();
            actix_web::rt::spawn(execute_pg(pg, plan, ready_tx, chunks_tx));
        }
    }
    match ready_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return error_response(&e),
        Err(_) => return error_response(&VoError::internal("the query task ended unexpectedly")),
    }
    let stream = futures_util::stream::poll_fn(move |cx| chunks_rx.poll_recv(cx));
    HttpResponse::Ok()
        .content_type(request.format.content_type())
        .streaming(stream)
}

#[derive(Debug, Clone)]
struct Plan {
    sql: String,
    fields: Vec<FieldMeta>,
    format: Format,
    maxrec: u64,
    can_overflow: bool,
    infos: Vec<(String, String)>,
}

const CHUNK: usize = 64 * 1024;

/// One SQLite value as a cell of a column of `field`'s datatype. SQLite turns an integer
/// overflow into a REAL: in an integer column that is an error, never a silently different
/// value.
fn cell(v: ValueRef<'_>, field: &FieldMeta) -> Result<Value, String> {
    let datatype = field.datatype.as_str();
    let is_float = matches!(datatype, "float" | "double");
    let is_char = matches!(datatype, "char" | "unicodeChar");
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
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(_) => Value::Null,
    })
}

/// The user-facing message of a database error: SQLite's own words, without the generated
/// SQL (which is logged instead).
fn db_message(e: &rusqlite::Error) -> String {
    tracing::warn!(error = %e, "database error");
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

fn execute(
    db_path: &std::path::Path,
    plan: Plan,
    ready: oneshot::Sender<Result<(), VoError>>,
    out: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let conn = match open_query(db_path) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut stmt = match conn.prepare(&plan.sql) {
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
    let first = match rows.next() {
        Ok(Some(row)) => match row_values(row, &plan.fields) {
            Ok(v) => Some(v),
            Err(m) => {
                let _ = ready.send(Err(VoError::query(m)));
                return;
            }
        },
        Ok(None) => None,
        Err(e) => {
            let _ = ready.send(Err(db_error(e)));
            return;
        }
    };
    if ready.send(Ok(())).is_err() {
        return;
    }
    let mut writer = TableWriter::new(plan.format, plan.fields.clone(), plan.infos);
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    writer.begin(&mut buf);
    let mut status = QueryStatus::Ok;
    let mut next = first;
    while let Some(values) = next.take() {
        if plan.can_overflow && writer.rows_written() == plan.maxrec {
            status = QueryStatus::Overflow;
            break;
        }
        writer.row(&values, &mut buf);
        if buf.len() >= CHUNK
            && out
                .blocking_send(Ok(Bytes::from(std::mem::take(&mut buf))))
                .is_err()
        {
            return; // the client went away
        }
        match rows.next() {
            Ok(Some(row)) => match row_values(row, &plan.fields) {
                Ok(v) => next = Some(v),
                Err(m) => status = QueryStatus::Error(m),
            },
            Ok(None) => {}
            Err(e) => status = QueryStatus::Error(db_message(&e)),
        }
    }
    writer.end(&status, &mut buf);
    let _ = out.blocking_send(Ok(Bytes::from(buf)));
}

fn row_values(row: &rusqlite::Row<'_>, fields: &[FieldMeta]) -> Result<Vec<Value>, String> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| match row.get_ref(i) {
            Ok(v) => cell(v, f),
            Err(e) => Err(format!("cannot read column {}: {e}", f.name)),
        })
        .collect()
}

/// The writer side of a PostgreSQL result: formats batches of rows into chunks for the
/// response, answering `ready` at the first batch.
struct PgStream {
    plan: Plan,
    writer: TableWriter,
    buf: Vec<u8>,
    ready: Option<oneshot::Sender<Result<(), VoError>>>,
    out: mpsc::Sender<Result<Bytes, std::io::Error>>,
    status: QueryStatus,
    gone: bool,
}

impl AsyncBatch for PgStream {
    async fn batch(&mut self, rows: Vec<tokio_postgres::Row>, first: bool, _last: bool) -> bool {
        let mut rows = rows.into_iter().peekable();
        if first {
            // A value that cannot be returned is an error document while nothing is sent.
            if let Some(row) = rows.peek() {
                if let Err(m) = pg_row_values(row, &self.plan.fields) {
                    if let Some(ready) = self.ready.take() {
                        let _ = ready.send(Err(VoError::query(m)));
                    }
                    self.gone = true;
                    return false;
                }
            }
            let sent = self.ready.take().is_some_and(|r| r.send(Ok(())).is_ok());
            if !sent {
                self.gone = true;
                return false;
            }
            self.writer.begin(&mut self.buf);
        }
        for row in rows {
            if self.plan.can_overflow && self.writer.rows_written() == self.plan.maxrec {
                self.status = QueryStatus::Overflow;
                return false;
            }
            match pg_row_values(&row, &self.plan.fields) {
                Ok(values) => self.writer.row(&values, &mut self.buf),
                Err(m) => {
                    self.status = QueryStatus::Error(m);
                    return false;
                }
            }
            if self.buf.len() >= CHUNK
                && self
                    .out
                    .send(Ok(Bytes::from(std::mem::take(&mut self.buf))))
                    .await
                    .is_err()
            {
                self.gone = true;
                return false;
            }
        }
        true
    }
}

fn pg_row_values(row: &tokio_postgres::Row, fields: &[FieldMeta]) -> Result<Vec<Value>, String> {
    (0..fields.len())
        .map(|i| {
            let v = crate::postgres::cell(row, i)?;
            // Integers in a float column (e.g. COUNT in an expression) stay numbers.
            Ok(match (v, fields[i].datatype.as_str()) {
                (Value::Int(n), "float" | "double") => Value::Double(n as f64),
                (Value::Int(n), "char" | "unicodeChar") => Value::Text(n.to_string()),
                (Value::Double(d), "char" | "unicodeChar") => Value::Text(format!("{d:?}")),
                (v, _) => v,
            })
        })
        .collect()
}

async fn execute_pg(
    pg: PgBackend,
    plan: Plan,
    ready: oneshot::Sender<Result<(), VoError>>,
    out: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let sql = plan.sql.clone();
    let writer = TableWriter::new(plan.format, plan.fields.clone(), plan.infos.clone());
    let watch = out.clone();
    let mut stream = PgStream {
        plan,
        writer,
        buf: Vec::with_capacity(CHUNK + 4096),
        ready: Some(ready),
        out,
        status: QueryStatus::Ok,
        gone: false,
    };
    let result = pg
        .run_query(&sql, async move { watch.closed().await }, &mut stream)
        .await;
    match result {
        Err(QueryFailure::Cancelled) => return,
        Err(QueryFailure::Before(e)) => match stream.ready.take() {
            Some(ready) => {
                let _ = ready.send(Err(e));
                return;
            }
            None => stream.status = QueryStatus::Error(e.message),
        },
        Err(QueryFailure::During(m)) => stream.status = QueryStatus::Error(m),
        Ok(()) => {}
    }
    if stream.gone {
        return;
    }
    let mut buf = std::mem::take(&mut stream.buf);
    stream.writer.end(&stream.status, &mut buf);
    let _ = stream.out.send(Ok(Bytes::from(buf))).await;
}

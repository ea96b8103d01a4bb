//! `GET` and `POST /tap/sync` (TAP 1.1 §2.3.1): one query, answered in the request.
//!
//! The ADQL is translated before anything runs; then a blocking task opens a read-only
//! connection, prepares the SQL and fetches the first row. Until then any error is answered
//! with a DALI error document and its HTTP status (400 for user errors). After that the result
//! streams through a bounded channel (a few 64 KiB chunks at most in flight), so memory stays
//! flat whatever the row count; an error while streaming ends the table with
//! `QUERY_STATUS=ERROR`. When the client goes away, the channel closes and the query stops.

use crate::params::parse_tap_request;
use crate::schema::TapCatalog;
use crate::sqlite::{open_query, SqliteDialect};
use crate::Limits;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use rusqlite::types::ValueRef;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use vo_adql::SqlDialect;
use vo_common::votable::{QueryStatus, TableWriter};
use vo_common::{FieldMeta, Format, Value, VoError};

/// What the TAP handlers share.
#[derive(Debug, Clone)]
pub struct TapState {
    /// The SQLite database file.
    pub db_path: PathBuf,
    /// The published tables, as TAP_SCHEMA lists them.
    pub catalog: Arc<TapCatalog>,
    /// MAXREC limits.
    pub limits: Limits,
}

/// Mount `/tap/sync` (GET and POST). Needs `web::Data<TapState>` in the app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/tap/sync")
            .route(web::get().to(sync_get))
            .route(web::post().to(sync_post)),
    );
}

/// The HTTP response for an error: the DALI error document with the kind's status.
pub fn error_response(e: &VoError) -> HttpResponse {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .content_type("application/x-votable+xml")
        .body(e.to_votable())
}

fn form_pairs(s: &str) -> Result<Vec<(String, String)>, VoError> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(s)
        .map_err(|e| VoError::usage(format!("the parameters cannot be decoded: {e}")))
}

async fn sync_get(state: web::Data<TapState>, req: HttpRequest) -> HttpResponse {
    match form_pairs(req.query_string()) {
        Ok(pairs) => run_sync(state.get_ref().clone(), pairs).await,
        Err(e) => error_response(&e),
    }
}

async fn sync_post(state: web::Data<TapState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
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
    let translated =
        match vo_adql::translate(&request.query, state.catalog.as_ref(), &SqliteDialect) {
            Ok(t) => t,
            Err(e) => {
                tracing::info!(query = %request.query, error = %e, "rejected ADQL");
                return error_response(&e);
            }
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
        sql: format!("{}{}", translated.sql, SqliteDialect.limit(limit)),
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
    let db_path = state.db_path.clone();
    tokio::task::spawn_blocking(move || execute(&db_path, plan, ready_tx, chunks_tx));
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

struct Plan {
    sql: String,
    fields: Vec<FieldMeta>,
    format: Format,
    maxrec: u64,
    can_overflow: bool,
    infos: Vec<(String, String)>,
}

const CHUNK: usize = 64 * 1024;

fn cell(v: ValueRef<'_>, datatype: &str) -> Value {
    let is_float = matches!(datatype, "float" | "double");
    let is_char = matches!(datatype, "char" | "unicodeChar");
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) if is_float => Value::Double(i as f64),
        ValueRef::Integer(i) if is_char => Value::Text(i.to_string()),
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) if is_char => Value::Text(format!("{f:?}")),
        ValueRef::Real(f) => Value::Double(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(_) => Value::Null,
    }
}

fn db_error(e: rusqlite::Error) -> VoError {
    VoError::query(format!("the query failed in the database: {e}"))
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
        Ok(r) => r.map(|row| row_values(row, &plan.fields)),
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
            Ok(r) => next = r.map(|row| row_values(row, &plan.fields)),
            Err(e) => {
                status = QueryStatus::Error(format!("the query failed in the database: {e}"));
            }
        }
    }
    writer.end(&status, &mut buf);
    let _ = out.blocking_send(Ok(Bytes::from(buf)));
}

fn row_values(row: &rusqlite::Row<'_>, fields: &[FieldMeta]) -> Vec<Value> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| match row.get_ref(i) {
            Ok(v) => cell(v, &f.datatype),
            Err(_) => Value::Null,
        })
        .collect()
}

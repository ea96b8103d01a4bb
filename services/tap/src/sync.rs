//! `GET` and `POST /tap/sync` (TAP 1.1 §2.3.1): one query, answered in the request.
//!
//! The ADQL is translated (in the backend's dialect) before anything runs; then the backend
//! runs the SQL and fetches the first rows ([`crate::Backend::query`]). Until then any error
//! is answered with a DALI error document and its HTTP status (400 for user errors, 503 when
//! the database cannot be reached). After that the result streams ([`crate::result`])
//! through a bounded channel (a few 64 KiB chunks at most in flight), so memory stays flat
//! whatever the row count; an error while streaming ends the table with
//! `QUERY_STATUS=ERROR`. When the client goes away, the channel closes, the row stream is
//! dropped and the query is cancelled in the database.

use crate::params::parse_tap_request;
use crate::result::{write_table, ResultPlan};
use crate::schema::TapCatalog;
use crate::Limits;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::mpsc;
use vo_adql::{Catalog, SqlDialect};
use vo_common::VoError;
use vo_dali::{error_response, Params};

/// What the TAP handlers share.
#[derive(Debug, Clone)]
pub struct TapState {
    /// The database queried.
    pub backend: Arc<dyn crate::Backend>,
    /// The published tables, as TAP_SCHEMA lists them.
    pub catalog: Arc<TapCatalog>,
    /// MAXREC limits.
    pub limits: Limits,
    /// The VOSI documents.
    pub vosi: Arc<crate::vosi::Vosi>,
    /// A second note for `/tap/availability`.
    pub note: AvailabilityNote,
    /// Where results that cannot stream (FITS) are written before they are sent: the
    /// result folder; made when first needed.
    pub spill_dir: std::path::PathBuf,
    /// What a query may upload.
    pub uploads: crate::upload::UploadLimits,
}

impl TapState {
    /// Where the files of a sync request are spooled ([`TapState::spill_dir`]`/.uploads`),
    /// and how large they may be together.
    pub fn part_limits(&self) -> vo_dali::PartLimits {
        vo_dali::PartLimits {
            dir: self.spill_dir.join(".uploads"),
            max_bytes: self.uploads.max_bytes,
        }
    }
}

/// Mount `/tap` (a page listing the endpoints), `/tap/sync` (GET and POST), `/tap/async`
/// (UWS 1.1, run by `jobs`) and the VOSI endpoints `/tap/availability`, `/tap/capabilities`,
/// `/tap/tables` and `/tap/tables/{table_name}`. Needs `web::Data<TapState>` in the app.
pub fn configure(jobs: Arc<vo_uws::Uws>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.service(
            web::resource("/tap/sync")
                .route(web::get().to(sync_get))
                .route(web::post().to(sync_post)),
        )
        .route("/tap", web::get().to(home))
        .route("/tap/", web::get().to(home))
        .route("/tap/availability", web::get().to(availability))
        .route("/tap/capabilities", web::get().to(capabilities))
        .route("/tap/examples", web::get().to(examples))
        .route("/tap/tables", web::get().to(tables))
        .route("/tap/tables/{table_name}", web::get().to(table));
        vo_uws::http::configure(cfg, "/tap/async", jobs);
    }
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
    let note = state.note.0.as_ref().and_then(|f| f());
    xml(state.vosi.availability(note.as_deref()))
}

/// What may add a note to `/tap/availability`, asked at each request (the gateway's: a scan
/// of the data tree in progress); none by default.
#[derive(Clone, Default)]
#[allow(clippy::type_complexity)]
pub struct AvailabilityNote(pub Option<Arc<dyn Fn() -> Option<String> + Send + Sync>>);

impl std::fmt::Debug for AvailabilityNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AvailabilityNote")
    }
}

/// `/tap/examples`: the DALI examples document (XHTML+RDFa, served as HTML for browsers),
/// made for what ivoa.ObsCore and the catalogs hold now ([`crate::examples`]).
async fn examples(state: web::Data<TapState>) -> HttpResponse {
    let list = match current_examples(&state).await {
        Ok(l) => l,
        Err(e) => return error_response(&e),
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(crate::examples::document(&list, state.vosi.base_url()))
}

/// The examples for the archive as it is now: around its first products (by
/// obs_publisher_did) with a position, times and a band, and a cone on each catalog with an
/// indexed position.
pub async fn current_examples(state: &TapState) -> Result<Vec<crate::examples::Example>, VoError> {
    let rows = state
        .backend
        .obscore_first(
            &[
                "s_ra", "s_dec", "t_min", "t_max", "em_min", "em_max", "obs_id",
            ],
            100,
        )
        .await?;
    let num = |v: &Option<String>| v.as_deref().and_then(|t| t.parse::<f64>().ok());
    let mut sky = crate::examples::ExampleSky::default();
    if let Some(r) = rows
        .iter()
        .find(|r| num(&r[0]).is_some() && num(&r[1]).is_some())
    {
        (sky.ra, sky.dec) = (num(&r[0]).unwrap_or(sky.ra), num(&r[1]).unwrap_or(sky.dec));
        sky.obs_id = r[6].clone();
    }
    sky.time = rows.iter().find_map(|r| Some((num(&r[2])?, num(&r[3])?)));
    sky.wavelength = rows
        .iter()
        .find_map(|r| Some((num(&r[4])? + num(&r[5])?) / 2.0));
    let catalogs: Vec<(String, String, String)> = state
        .catalog
        .tables()
        .iter()
        .filter(|t| t.qualified_name() != crate::schema::OBSCORE_TABLE)
        .filter_map(|t| {
            let (ra, dec) = t.position.clone()?;
            Some((t.qualified_name(), ra, dec))
        })
        .collect();
    Ok(crate::examples::examples(&sky, &catalogs))
}

async fn capabilities(state: web::Data<TapState>) -> HttpResponse {
    xml(state.vosi.capabilities())
}

/// `/tap/tables[?detail=min|max]`: all tables, with their columns unless detail=min.
async fn tables(state: web::Data<TapState>, req: HttpRequest) -> HttpResponse {
    let params = match Params::from_query(req.query_string()) {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    let detail = match params.single("detail") {
        Ok(d) => d.map(str::to_ascii_lowercase),
        Err(e) => return error_response(&e),
    };
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

/// Queries up to this many bytes are translated on the worker thread: at most a few thousand
/// tokens, whose syntax tree the 2 MiB worker stack drops safely.
const SHORT_QUERY: usize = 4096;

/// Stack size of the thread that parses and translates a long query: the translator grows its
/// own stack where it recurses (stacker), and dropping a long query's syntax tree is recursive
/// too; a large stack keeps that away from the worker's.
const TRANSLATE_STACK: usize = 64 << 20;

/// Translate `query` against `catalog` and the query's `uploads`.
fn translate(
    query: &str,
    catalog: &TapCatalog,
    uploads: Vec<vo_adql::TableInfo>,
    dialect: &'static (dyn SqlDialect + Sync),
) -> Result<vo_adql::Translated, VoError> {
    if uploads.is_empty() {
        vo_adql::translate(query, catalog, dialect)
    } else {
        let with = vo_adql::WithUploads {
            base: catalog,
            uploads,
        };
        vo_adql::translate(query, &with, dialect)
    }
}

/// Translate on a thread with a large stack (see [`TRANSLATE_STACK`]).
fn translate_big_stack(
    query: String,
    catalog: Arc<TapCatalog>,
    uploads: Vec<vo_adql::TableInfo>,
    dialect: &'static (dyn SqlDialect + Sync),
) -> Result<vo_adql::Translated, VoError> {
    std::thread::Builder::new()
        .name("adql".into())
        .stack_size(TRANSLATE_STACK)
        .spawn(move || translate(&query, catalog.as_ref(), uploads, dialect))
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
    match Params::from_query(req.query_string()) {
        Ok(params) => run_sync(state.get_ref().clone(), params, accepts_gzip(&req)).await,
        Err(e) => error_response(&e),
    }
}

/// Whether the request's Accept-Encoding (RFC 9110 §12.5.3) takes gzip: `gzip`, `x-gzip`
/// or `*` with a weight above 0.
pub fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(actix_web::http::header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f64>().ok())
                .next()
                .unwrap_or(1.0);
            matches!(coding.as_str(), "gzip" | "x-gzip" | "*") && q > 0.0
        })
}

async fn sync_post(
    state: web::Data<TapState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    match Params::from_request(&req, Some(payload), Some(&state.part_limits())).await {
        Ok(params) => run_sync(state.get_ref().clone(), params, accepts_gzip(&req)).await,
        Err(e) => error_response(&e),
    }
}

/// Check the parameters of a TAP query (sync or async), translate its ADQL and start it:
/// its first rows are there, and the plan says how to write the result (format, MAXREC and
/// whether it can overflow, the INFOs). Errors: bad parameters, bad uploads, ADQL errors, and
/// database errors before the first row, each with its kind.
pub async fn start_query(
    state: &TapState,
    params: &Params,
) -> Result<(crate::RowStream, ResultPlan), VoError> {
    let p = prepare_query(state, params).await?;
    let rows = state.backend.query(p.sql, p.fields, p.uploads).await?;
    Ok((rows, p.plan))
}

/// A TAP query translated and ready to run ([`prepare_query`]).
#[derive(Debug)]
pub struct PreparedQuery {
    /// The SQL, in the backend's dialect, with its row limit.
    pub sql: String,
    /// The cells of its rows.
    pub fields: Arc<[vo_common::FieldMeta]>,
    /// The tables it uploads, for [`crate::Backend::query`] to load.
    pub uploads: Vec<crate::upload::UploadTable>,
    /// How to write its result.
    pub plan: ResultPlan,
}

/// Check the parameters of a TAP query, read the headers of its uploads and translate its
/// ADQL (the steps of [`start_query`] before the database). Errors: bad parameters, bad
/// uploads, ADQL errors, each with its kind.
pub async fn prepare_query(state: &TapState, params: &Params) -> Result<PreparedQuery, VoError> {
    let request = parse_tap_request(params)?;
    let uploads = if request.uploads.is_empty() {
        Vec::new()
    } else {
        let (specs, params, limits, spool) = (
            request.uploads.clone(),
            params.clone(),
            state.uploads.clone(),
            state.part_limits().dir,
        );
        tokio::task::spawn_blocking(move || {
            crate::upload::prepare_uploads(&specs, &params, &limits, &spool)
        })
        .await
        .map_err(|_| VoError::internal("reading the uploads failed"))??
    };
    let upload_tables: Vec<vo_adql::TableInfo> = uploads.iter().map(|u| u.table.clone()).collect();
    // A short query cannot build a tree deep enough to threaten the worker's stack; a long
    // one is translated on a thread with a large stack.
    let dialect = state.backend.dialect();
    let translated = if request.query.len() <= SHORT_QUERY {
        Ok(translate(
            &request.query,
            state.catalog.as_ref(),
            upload_tables,
            dialect,
        ))
    } else {
        tokio::task::spawn_blocking({
            let (q, c) = (request.query.clone(), state.catalog.clone());
            move || translate_big_stack(q, c, upload_tables, dialect)
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
            return Err(e);
        }
        Err(_) => return Err(VoError::internal("the ADQL translator failed")),
    };
    if request.format == vo_common::Format::Fits
        && translated.fields.len() > vo_common::format::fits::MAX_COLUMNS
    {
        return Err(VoError::usage(format!(
            "the query selects {} columns; a FITS table holds at most {} (FITS 4.0 TFIELDS): \
             select fewer columns or ask for another RESPONSEFORMAT",
            translated.fields.len(),
            vo_common::format::fits::MAX_COLUMNS
        )));
    }
    let maxrec = request
        .maxrec
        .unwrap_or(state.limits.default_maxrec)
        .min(state.limits.max_maxrec);
    // TOP within MAXREC cannot overflow; otherwise one row more than MAXREC is fetched.
    let (sql, can_overflow) = translated.sql_with_limit(dialect, maxrec);
    tracing::debug!(%sql, "running");
    let row_fields: Arc<[vo_common::FieldMeta]> = translated.fields.clone().into();
    let mut fields = translated.fields;
    let resources = datalink_descriptor(&mut fields, state.vosi.base_url())
        .into_iter()
        .collect();
    let plan = ResultPlan {
        format: request.format,
        fields,
        resources,
        maxrec,
        can_overflow,
        spill_dir: state.spill_dir.clone(),
        infos: vec![
            ("QUERY".to_string(), request.query.clone()),
            ("MAXREC".to_string(), maxrec.to_string()),
        ],
    };
    Ok(PreparedQuery {
        sql,
        fields: row_fields,
        uploads,
        plan,
    })
}

/// The ID given to the column a DataLink descriptor refers to.
const DATALINK_ID_FIELD: &str = "vogate_datalink_id";

/// For a result holding ObsCore's obs_publisher_did (by name or by its utype, so under an
/// alias too): that column's FIELD gets an ID, and the returned standalone service
/// descriptor (DataLink 1.1 §4.2) calls `{base_url}/datalink/links` with ID taken from it,
/// so that clients (pyvo's `iter_datalinks`, TOPCAT, Firefly) find each row's links. `None`
/// for other results.
fn datalink_descriptor(fields: &mut [vo_common::FieldMeta], base_url: &str) -> Option<String> {
    let did = fields.iter_mut().find(|f| {
        f.utype
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case("obscore:Curation.publisherDID"))
            || f.name.eq_ignore_ascii_case("obs_publisher_did")
    })?;
    did.id = Some(DATALINK_ID_FIELD.to_string());
    Some(format!(
        "<RESOURCE type=\"meta\" utype=\"adhoc:service\" name=\"datalink\">\n\
         <DESCRIPTION>The DataLink links of each row's dataset: its file, preview and cutouts</DESCRIPTION>\n\
         <PARAM name=\"standardID\" datatype=\"char\" arraysize=\"*\" value=\"ivo://ivoa.net/std/DataLink#links-1.1\"/>\n\
         <PARAM name=\"accessURL\" datatype=\"char\" arraysize=\"*\" value=\"{}/datalink/links\"/>\n\
         <GROUP name=\"inputParams\">\n\
         <PARAM name=\"ID\" datatype=\"char\" arraysize=\"*\" value=\"\" ref=\"{DATALINK_ID_FIELD}\"/>\n\
         </GROUP>\n</RESOURCE>\n",
        vo_common::votable::xml_escape(base_url.trim_end_matches('/'))
    ))
}

/// Run one sync query from its DALI parameters and answer it; the text formats (TABLEDATA,
/// JSON, CSV, TSV) gzipped when `gzip` (the client accepts it), the binary ones never.
pub async fn run_sync(state: TapState, params: Params, gzip: bool) -> HttpResponse {
    let (rows, plan) = match start_query(&state, &params).await {
        Ok(started) => started,
        Err(e) => return error_response(&e),
    };
    let format = plan.format;
    if !format.streams() {
        // FITS: the whole file first (its header needs the row count), then sent with its
        // length; the file is anonymous and goes when the response is done.
        return match crate::result::write_table_file(rows, plan).await {
            Ok((file, len, _)) => {
                let stream = crate::result::file_chunks(file);
                HttpResponse::Ok()
                    .content_type(format.content_type())
                    .no_chunking(len)
                    .streaming(stream)
            }
            Err(e) => error_response(&e),
        };
    }
    let gzip = gzip && format.is_text();
    let (mut chunks_tx, mut chunks_rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    actix_web::rt::spawn(async move {
        if gzip {
            write_table(rows, plan, &mut crate::result::GzipSink::new(chunks_tx)).await
        } else {
            write_table(rows, plan, &mut chunks_tx).await
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| chunks_rx.poll_recv(cx));
    let mut resp = HttpResponse::Ok();
    resp.content_type(format.content_type());
    if format.is_text() {
        resp.insert_header((actix_web::http::header::VARY, "Accept-Encoding"));
    }
    if gzip {
        resp.insert_header((actix_web::http::header::CONTENT_ENCODING, "gzip"));
    }
    resp.streaming(stream)
}

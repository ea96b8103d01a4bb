//! vogate: the gateway binary's library part: settings, start-up (demo sky, schema, ingest)
//! and the HTTP routes of every service.
//!
//! Routes (relative to the base URL):
//! - `/`: a landing page with the endpoints and example queries;
//! - `/tap/sync`: TAP 1.1 synchronous queries (see `vo_tap::sync`);
//! - `/files/{obs_id}`: the product file of an ObsCore row, found through `ivoa.ObsCore`
//!   (the path part is the percent-encoded obs_id; never a file path taken from the user).

pub mod settings;

use actix_web::{web, HttpRequest, HttpResponse};
use settings::{DbUrl, Settings};
use std::path::PathBuf;
use std::sync::Arc;
use vo_common::VoError;
use vo_obscore::IngestConfig;
use vo_tap::{schema, sqlite, TapState};

/// Everything the routes need, made once at start-up by [`prepare`].
#[derive(Debug, Clone)]
pub struct Gateway {
    /// The resolved settings.
    pub settings: Settings,
    /// The TAP service state.
    pub tap: TapState,
    /// The data tree being served (the given --data, or the demo sky in the workdir).
    pub data_root: PathBuf,
    /// How many files the ingest skipped, with reasons (also logged).
    pub skipped: Vec<vo_obscore::Skipped>,
}

/// Prepare the gateway: create the workdir, write the demo sky when no data tree is given,
/// create the schema, ingest the data tree into `ivoa.ObsCore` and load the catalog.
/// Errors say which step failed and why.
pub fn prepare(settings: Settings) -> Result<Gateway, VoError> {
    // Check everything the user gave before writing anything.
    let db_path = match &settings.db {
        DbUrl::Sqlite(p) => p.clone(),
        DbUrl::Postgres(_) => return Err(VoError::usage(
            "PostgreSQL is not available yet in this version: use --db sqlite:PATH (the default)",
        )),
    };
    if let Some(d) = &settings.data {
        if !d.exists() {
            return Err(VoError::usage(format!(
                "--data {}: does not exist",
                d.display()
            )));
        }
        if !d.is_dir() {
            return Err(VoError::usage(format!(
                "--data {}: is not a directory",
                d.display()
            )));
        }
    }
    if db_path.exists() && !db_path.is_file() {
        return Err(VoError::usage(format!(
            "--db sqlite:{}: is not a file",
            db_path.display()
        )));
    }
    std::fs::create_dir_all(&settings.workdir).map_err(|e| {
        VoError::internal(format!(
            "cannot create the workdir {}: {e}",
            settings.workdir.display()
        ))
    })?;
    let data_root = match &settings.data {
        Some(d) => d.clone(),
        None => {
            let dir = settings.workdir.join("demo-sky");
            vo_obscore::demo::write_demo_sky(&dir).map_err(VoError::internal)?;
            tracing::info!(dir = %dir.display(), "no --data given: serving the demo sky");
            dir
        }
    };
    let mut conn = sqlite::open_rw(&db_path)?;
    schema::create_schema(&mut conn)?;
    let cfg = IngestConfig {
        authority: settings.authority.clone(),
        obs_collection: settings.obs_collection.clone(),
        calib_level: settings.calib_level,
        base_url: settings.base_url.clone(),
    };
    let started = std::time::Instant::now();
    let report = vo_obscore::scan_tree(&data_root, &cfg);
    schema::replace_obscore_rows(&mut conn, &report.rows)?;
    if report.rows.is_empty() {
        tracing::warn!(root = %data_root.display(), "no FITS image with a celestial WCS found: ivoa.ObsCore is empty");
    }
    tracing::info!(
        rows = report.rows.len(),
        skipped = report.skipped.len(),
        seconds = started.elapsed().as_secs_f64(),
        root = %data_root.display(),
        "ingested the data tree into ivoa.ObsCore"
    );
    let catalog = schema::load_catalog(&conn)?;
    let vosi = vo_tap::vosi::Vosi::load(&conn, &settings.base_url, settings.limits)?;
    Ok(Gateway {
        tap: TapState {
            db_path,
            catalog: Arc::new(catalog),
            limits: settings.limits,
            vosi: Arc::new(vosi),
        },
        data_root,
        skipped: report.skipped,
        settings,
    })
}

/// The routes of every service, for `App::configure`.
pub fn routes(gw: &Gateway) -> impl FnOnce(&mut web::ServiceConfig) + '_ {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(gw.tap.clone()))
            .app_data(web::Data::new(gw.clone()))
            .route("/", web::get().to(landing))
            .route("/files/{obs_id:.*}", web::get().to(file))
            .route("/files/{obs_id:.*}", web::head().to(file))
            .route("/datalink/links", web::get().to(links))
            .route("/datalink/links", web::post().to(links_post))
            .configure(vo_tap::configure)
            .default_service(web::to(not_found));
    }
}

/// The endpoint URLs, for the start-up log and the landing page.
pub fn endpoints(base_url: &str) -> Vec<(&'static str, String)> {
    let b = base_url.trim_end_matches('/');
    vec![
        ("landing page", format!("{b}/")),
        ("TAP sync (GET/POST)", format!("{b}/tap/sync")),
        ("TAP tables (VOSI)", format!("{b}/tap/tables")),
        ("TAP capabilities (VOSI)", format!("{b}/tap/capabilities")),
        ("TAP availability (VOSI)", format!("{b}/tap/availability")),
        ("files", format!("{b}/files/{{obs_id}}")),
        (
            "DataLink links",
            format!("{b}/datalink/links?ID={{obs_publisher_did}}"),
        ),
    ]
}

/// `/datalink/links?ID=...` (DataLink 1.1 §3): for each ID (an obs_publisher_did), a `#this`
/// row pointing to the product file, or a `NotFoundFault` row.
async fn links(gw: web::Data<Gateway>, req: HttpRequest) -> HttpResponse {
    links_for(gw, req.query_string().to_string()).await
}

async fn links_for(gw: web::Data<Gateway>, form: String) -> HttpResponse {
    let pairs = match vo_tap::params::decode_form(&form) {
        Ok(p) => p,
        Err(e) => return vo_tap::sync::error_response(&e),
    };
    for (k, v) in &pairs {
        if k.eq_ignore_ascii_case("RESPONSEFORMAT") {
            let ok = v.is_empty()
                || v.eq_ignore_ascii_case("votable")
                || v.to_ascii_lowercase()
                    .replace(' ', "")
                    .starts_with("application/x-votable+xml");
            if !ok {
                return vo_tap::sync::error_response(&VoError::usage(format!(
                    "RESPONSEFORMAT={v} is not supported: {{links}} are VOTable only"
                )));
            }
        }
    }
    let ids: Vec<String> = pairs
        .into_iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("ID"))
        .map(|(_, v)| v)
        .collect();
    if ids.is_empty() {
        return vo_tap::sync::error_response(&VoError::usage(
            "UsageFault: ID is missing: give the obs_publisher_did of a dataset",
        ));
    }
    let tap = gw.tap.clone();
    let root = gw.data_root.clone();
    let found = web::block(move || -> Result<Vec<vo_datalink::Link>, VoError> {
        let conn = sqlite::open_query(&tap.db_path)?;
        let mut st = conn
            .prepare("SELECT obs_id, access_url, access_format, dataproduct_type FROM \"ivoa.ObsCore\" WHERE obs_publisher_did = ?1")
            .map_err(|e| VoError::internal(format!("lookup failed: {e}")))?;
        let mut out = Vec::new();
        for id in ids {
            let row = st
                .query_row([&id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
                })
                .ok();
            out.push(match row {
                Some((obs_id, url, format, kind)) => vo_datalink::Link {
                    id,
                    access_url: Some(url),
                    semantics: "#this".into(),
                    description: Some(format!("The product file {obs_id}")),
                    content_type: Some(format),
                    content_length: std::fs::metadata(root.join(&obs_id)).ok().map(|m| m.len() as i64),
                    content_qualifier: Some(format!("#{kind}")),
                    ..Default::default()
                },
                None => vo_datalink::Link {
                    error_message: Some(format!("NotFoundFault: no dataset has the ID {id}")),
                    id,
                    semantics: "#this".into(),
                    ..Default::default()
                },
            });
        }
        Ok(out)
    })
    .await;
    match found {
        Ok(Ok(links)) => HttpResponse::Ok()
            .content_type(vo_datalink::CONTENT_TYPE)
            .body(vo_datalink::links_document(&links)),
        Ok(Err(e)) => vo_tap::sync::error_response(&e),
        Err(_) => vo_tap::sync::error_response(&VoError::internal("lookup task failed")),
    }
}

/// `POST /datalink/links` with a form body (DALI 1.1 §2: every parameter may be POSTed).
async fn links_post(gw: web::Data<Gateway>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    match std::str::from_utf8(&body) {
        Ok(text) => links_for(gw, format!("{}&{text}", req.query_string())).await,
        Err(_) => {
            vo_tap::sync::error_response(&VoError::usage("the request body is not UTF-8 text"))
        }
    }
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    vo_tap::sync::error_response(&VoError::not_found(format!(
        "nothing is served at {}; see / for the endpoints",
        req.uri().path()
    )))
}

async fn landing(gw: web::Data<Gateway>) -> HttpResponse {
    let tap = gw.tap.clone();
    let rows = match web::block(move || row_count(&tap)).await {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => return vo_tap::sync::error_response(&e),
        Err(_) => return vo_tap::sync::error_response(&VoError::internal("row count task failed")),
    };
    let base = gw.settings.base_url.trim_end_matches('/');
    let example = "SELECT TOP 10 obs_id, s_ra, s_dec, s_fov FROM ivoa.ObsCore";
    let cone = "SELECT obs_id, s_ra, s_dec FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10.68, 41.27, 1)) = 1";
    let enc = |q: &str| vo_obscore::ingest::percent_encode(q);
    let list: String = endpoints(base)
        .iter()
        .map(|(what, url)| {
            format!(
                "<li>{what}: <code>{}</code></li>",
                vo_common::votable::xml_escape(url)
            )
        })
        .collect();
    let body = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>vogate</title></head><body>\
         <h1>vogate</h1><p>IVOA data-access services over {} ObsCore rows from <code>{}</code>.</p>\
         <ul>{list}</ul><h2>Try</h2><ul>\
         <li><a href=\"{base}/tap/sync?LANG=ADQL&amp;QUERY={}\">{example}</a></li>\
         <li><a href=\"{base}/tap/sync?LANG=ADQL&amp;RESPONSEFORMAT=json&amp;QUERY={}\">a cone around M31, as JSON</a></li>\
         </ul></body></html>",
        rows,
        vo_common::votable::xml_escape(&gw.data_root.display().to_string()),
        enc(example),
        enc(cone),
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

fn row_count(tap: &TapState) -> Result<i64, VoError> {
    let conn = sqlite::open_query(&tap.db_path)?;
    conn.query_row("SELECT COUNT(*) FROM \"ivoa.ObsCore\"", [], |r| r.get(0))
        .map_err(|e| VoError::internal(format!("cannot count rows: {e}")))
}

/// Decode `%XX` escapes; `None` when an escape is malformed or the result is not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn file(gw: web::Data<Gateway>, req: HttpRequest) -> HttpResponse {
    let raw = req.uri().path().strip_prefix("/files/").unwrap_or("");
    let Some(obs_id) = percent_decode(raw) else {
        return vo_tap::sync::error_response(&VoError::usage(format!(
            "'{raw}' is not a valid percent-encoded obs_id"
        )));
    };
    let tap = gw.tap.clone();
    let id = obs_id.clone();
    let found = web::block(move || -> Result<Option<String>, VoError> {
        let conn = sqlite::open_query(&tap.db_path)?;
        let mut st = conn
            .prepare("SELECT access_format FROM \"ivoa.ObsCore\" WHERE obs_id = ?1")
            .map_err(|e| VoError::internal(format!("lookup failed: {e}")))?;
        let mut rows = st
            .query([&id])
            .map_err(|e| VoError::internal(format!("lookup failed: {e}")))?;
        match rows.next() {
            Ok(Some(r)) => Ok(r.get::<_, String>(0).ok()),
            Ok(None) => Ok(None),
            Err(e) => Err(VoError::internal(format!("lookup failed: {e}"))),
        }
    })
    .await;
    let format = match found {
        Ok(Ok(Some(f))) => f,
        Ok(Ok(None)) => {
            return vo_tap::sync::error_response(&VoError::not_found(format!(
                "no ObsCore row has obs_id '{obs_id}'"
            )))
        }
        Ok(Err(e)) => return vo_tap::sync::error_response(&e),
        Err(_) => return vo_tap::sync::error_response(&VoError::internal("lookup task failed")),
    };
    // obs_id is a path relative to the data root that ingest wrote; defence in depth: it
    // must be plain names only (no root, no '..'), so it stays below the root.
    let relative = std::path::Path::new(&obs_id);
    let plain = relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    let path = gw.data_root.join(relative);
    if !plain || !path.is_file() {
        return vo_tap::sync::error_response(&VoError::not_found(format!(
            "the file of obs_id '{obs_id}' is no longer in the data tree"
        )));
    }
    match actix_files::NamedFile::open_async(&path).await {
        Ok(f) => {
            let mime: mime::Mime = format.parse().unwrap_or(mime::APPLICATION_OCTET_STREAM);
            f.set_content_type(mime)
                .disable_content_disposition()
                .into_response(&req)
        }
        Err(e) => vo_tap::sync::error_response(&VoError::not_found(format!(
            "the file of obs_id '{obs_id}' cannot be read: {e}"
        ))),
    }
}

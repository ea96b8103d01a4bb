//! The DataLink service's HTTP side: `/datalink/links` (GET and POST) and `/files/{obs_id}`,
//! the `#this` target, both answered through the [`vo_tap::Backend`] (never a file path
//! taken from the user).

use actix_web::{web, HttpRequest, HttpResponse};
use std::path::PathBuf;
use std::sync::Arc;
use vo_common::VoError;
use vo_dali::{error_response, Params};

/// What the DataLink handlers need.
#[derive(Debug, Clone)]
pub struct DatalinkState {
    /// The database holding ivoa.ObsCore.
    pub backend: Arc<dyn vo_tap::Backend>,
    /// The root of the data tree the obs_ids are relative to.
    pub data_root: PathBuf,
}

/// Mount `/datalink/links` (GET, POST) and `/files/{obs_id}` (GET, HEAD). Needs
/// `web::Data<DatalinkState>` in the app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/files/{obs_id:.*}", web::get().to(file))
        .route("/files/{obs_id:.*}", web::head().to(file))
        .route("/datalink/links", web::get().to(links))
        .route("/datalink/links", web::post().to(links_post));
}

/// `/datalink/links?ID=...` (DataLink 1.1 §3): for each ID (an obs_publisher_did), a `#this`
/// row pointing to the product file, or a `NotFoundFault` row.
async fn links(state: web::Data<DatalinkState>, req: HttpRequest) -> HttpResponse {
    match Params::from_query(req.query_string()) {
        Ok(params) => links_for(&state, params).await,
        Err(e) => error_response(&e),
    }
}

async fn links_for(state: &DatalinkState, params: Params) -> HttpResponse {
    for (k, v) in params.pairs() {
        if k.eq_ignore_ascii_case("RESPONSEFORMAT") {
            let ok = v.is_empty()
                || v.eq_ignore_ascii_case("votable")
                || v.to_ascii_lowercase()
                    .replace(' ', "")
                    .starts_with("application/x-votable+xml");
            if !ok {
                return error_response(&VoError::usage(format!(
                    "RESPONSEFORMAT={v} is not supported: {{links}} are VOTable only"
                )));
            }
        }
    }
    let ids: Vec<String> = params.all("ID").map(str::to_string).collect();
    if ids.is_empty() {
        return error_response(&VoError::usage(
            "UsageFault: ID is missing: give the obs_publisher_did of a dataset",
        ));
    }
    let mut links = Vec::new();
    for id in ids {
        let row = match state
            .backend
            .obscore_lookup(
                "obs_publisher_did",
                &id,
                &["obs_id", "access_url", "access_format", "dataproduct_type"],
            )
            .await
        {
            Ok(r) => r,
            Err(e) => return error_response(&e),
        };
        links.push(match row {
            Some(v) => {
                let text = |i: usize| v[i].clone().unwrap_or_default();
                let obs_id = text(0);
                crate::Link {
                    access_url: Some(text(1)),
                    semantics: "#this".into(),
                    description: Some(format!("The product file {obs_id}")),
                    content_type: Some(text(2)),
                    content_length: std::fs::metadata(state.data_root.join(&obs_id))
                        .ok()
                        .map(|m| m.len() as i64),
                    content_qualifier: Some(format!("#{}", text(3))),
                    id,
                    ..Default::default()
                }
            }
            None => crate::Link {
                error_message: Some(format!("NotFoundFault: no dataset has the ID {id}")),
                id,
                semantics: "#this".into(),
                ..Default::default()
            },
        });
    }
    HttpResponse::Ok()
        .content_type(crate::CONTENT_TYPE)
        .body(crate::links_document(&links))
}

/// `POST /datalink/links` with a form body (DALI 1.1 §2: every parameter may be POSTed).
async fn links_post(
    state: web::Data<DatalinkState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    match Params::from_request(&req, Some(payload), "multipart bodies").await {
        Ok(params) => links_for(&state, params).await,
        Err(e) => error_response(&e),
    }
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

/// `/files/{obs_id}`: the product file of the ObsCore row with that obs_id (percent-encoded
/// in the path), with its access_format as Content-Type; 404 when there is no such row, its
/// file is gone, or the file no longer holds all its data (vo-fits's integrity check).
async fn file(state: web::Data<DatalinkState>, req: HttpRequest) -> HttpResponse {
    let raw = req.uri().path().strip_prefix("/files/").unwrap_or("");
    let Some(obs_id) = percent_decode(raw) else {
        return error_response(&VoError::usage(format!(
            "'{raw}' is not a valid percent-encoded obs_id"
        )));
    };
    let found = state
        .backend
        .obscore_lookup("obs_id", &obs_id, &["access_format"])
        .await;
    let format = match found {
        Ok(Some(v)) => v[0].clone().unwrap_or_default(),
        Ok(None) => {
            return error_response(&VoError::not_found(format!(
                "no ObsCore row has obs_id '{obs_id}'"
            )))
        }
        Err(e) => return error_response(&e),
    };
    let Some(path) = vo_common::files::product_file(&state.data_root, &obs_id) else {
        return error_response(&VoError::not_found(format!(
            "the file of obs_id '{obs_id}' is no longer in the data tree"
        )));
    };
    // A file cut short since ingest (being rewritten, say) is no product: refused, not served
    // as if whole.
    let checked = path.clone();
    match web::block(move || vo_fits::check_file(&checked)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return error_response(&VoError::not_found(format!(
                "the file of obs_id '{obs_id}' is not a whole FITS file now: {e}"
            )))
        }
        Err(e) => return error_response(&VoError::internal(format!("cannot check the file: {e}"))),
    }
    match actix_files::NamedFile::open_async(&path).await {
        Ok(f) => {
            let mime: mime::Mime = format.parse().unwrap_or(mime::APPLICATION_OCTET_STREAM);
            f.set_content_type(mime)
                .disable_content_disposition()
                .into_response(&req)
        }
        Err(e) => error_response(&VoError::not_found(format!(
            "the file of obs_id '{obs_id}' cannot be read: {e}"
        ))),
    }
}

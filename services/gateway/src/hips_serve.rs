//! HiPS maps served read-only (HiPS 1.0 §4.3, §4.4.3), for Aladin Lite and Firefly:
//! - `/hips/list`: the HiPS list, one record of `key = value` lines a HiPS (its
//!   `properties`, with `hips_service_url` set to where vogate serves it), records apart by a
//!   blank line;
//! - `/hips/{id}/{path}`: the files of a HiPS (`properties`, `Moc.fits`,
//!   `Norder*/Dir*/Npix*.{fits,png,jpg}`, `Norder3/Allsky.*`), with their MIME types, ETag and
//!   Last-Modified (a matching If-None-Match answers 304), Cache-Control, gzip when asked
//!   (the gateway's CORS applies). A path is only ever letters, digits, `.`, `_`, `-` and
//!   `/` between non-empty names that do not start with `.` (so neither `..` nor the
//!   builder's hidden weights and records): anything else, like an unknown id or file, is a
//!   404.

use std::path::PathBuf;
use std::sync::Arc;

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use vo_common::config::HipsConfig;
use vo_common::VoError;
use vo_dali::error_response;

/// The HiPS served, and the base URL their `hips_service_url` starts with.
#[derive(Debug, Clone)]
pub struct HipsState {
    /// The `[[hips]]` entries, folders absolute.
    pub entries: Arc<Vec<HipsConfig>>,
    /// The service's public base URL.
    pub base_url: String,
}

/// Mount `/hips/list` and `/hips/{id}/{path}`.
pub fn configure(state: HipsState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.service(
            web::scope("/hips")
                .app_data(web::Data::new(state))
                .wrap(actix_web::middleware::Compress::default())
                .route("/list", web::get().to(list))
                .route("/{id}/{path:.*}", web::get().to(file)),
        );
    }
}

/// The HiPS list (HiPS 1.0 §4.4.3).
async fn list(state: web::Data<HipsState>) -> HttpResponse {
    let base = state.base_url.trim_end_matches('/');
    let mut out = String::new();
    for e in state.entries.iter() {
        let text = match std::fs::read_to_string(e.path.join("properties")) {
            Ok(t) => t,
            // Not built yet (the demo sky's, at a first start), or gone.
            Err(err) => {
                tracing::debug!(id = %e.id, error = %err, "HiPS without a readable properties file");
                continue;
            }
        };
        let url = format!("{base}/hips/{}", e.id);
        let mut record: Vec<(String, String)> = vo_hips::properties::parse(&text)
            .into_iter()
            .filter(|(k, _)| k != "hips_service_url")
            .map(|(k, v)| match (&e.title, k.as_str()) {
                (Some(t), "obs_title") => (k, t.clone()),
                _ => (k, v),
            })
            .collect();
        let at = record
            .iter()
            .position(|(k, _)| k == "creator_did")
            .map_or(0, |i| i + 1);
        record.insert(at, ("hips_service_url".into(), url));
        if !out.is_empty() {
            out.push('\n');
        }
        for (k, v) in record {
            out.push_str(&format!("{k:<20} = {v}\n"));
        }
    }
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(out)
}

/// The file at `rel` under a HiPS root, if `rel` is a plain relative path.
fn resolve(root: &std::path::Path, rel: &str) -> Option<PathBuf> {
    let ok = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    let mut path = root.to_path_buf();
    for part in rel.split('/') {
        // Hidden names (`.weights`, the build's records) are the builder's, never served.
        if part.is_empty() || part.starts_with('.') || !part.chars().all(ok) {
            return None;
        }
        path.push(part);
    }
    Some(path)
}

/// The MIME type of a HiPS file, by its name.
fn mime_of(rel: &str) -> &'static str {
    let ext = rel.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match (rel, ext) {
        ("properties", _) => "text/plain; charset=utf-8",
        (_, "fits") => "application/fits",
        (_, "png") => "image/png",
        (_, "jpg") | (_, "jpeg") => "image/jpeg",
        (_, "html") => "text/html; charset=utf-8",
        (_, "xml") => "text/xml",
        (_, "json") => "application/json",
        _ => "application/octet-stream",
    }
}

async fn file(
    state: web::Data<HipsState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> HttpResponse {
    let (id, rel) = path.into_inner();
    let not_found = || error_response(&VoError::not_found(format!("no HiPS file {id}/{rel}")));
    let Some(entry) = state.entries.iter().find(|e| e.id == id) else {
        return error_response(&VoError::not_found(format!("no HiPS '{id}'")));
    };
    let Some(full) = resolve(&entry.path, &rel) else {
        return not_found();
    };
    if !full.is_file() {
        return not_found();
    }
    let mime: mime::Mime = mime_of(&rel)
        .parse()
        .unwrap_or(mime::APPLICATION_OCTET_STREAM);
    // Tiles change only when the HiPS is rebuilt; properties and the list say when.
    let cache = if rel == "properties" {
        "public, max-age=60"
    } else {
        "public, max-age=3600"
    };
    send_file(&full, mime, cache, &req)
        .await
        .unwrap_or_else(|_| not_found())
}

/// The file at `path` as a response of type `mime` with ETag and Last-Modified (a matching
/// If-None-Match answers 304) and `Cache-Control: cache`. Errors: the file cannot be opened.
pub(crate) async fn send_file(
    path: &std::path::Path,
    mime: mime::Mime,
    cache: &'static str,
    req: &HttpRequest,
) -> std::io::Result<HttpResponse> {
    let f = actix_files::NamedFile::open_async(path).await?;
    let mut resp = f
        .set_content_type(mime)
        .disable_content_disposition()
        .use_etag(true)
        .use_last_modified(true)
        .into_response(req);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(cache),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_resolve() {
        let root = std::path::Path::new("/h");
        assert_eq!(
            resolve(root, "Norder3/Dir0/Npix1.fits"),
            Some(PathBuf::from("/h/Norder3/Dir0/Npix1.fits"))
        );
        for bad in [
            "../etc/passwd",
            "Norder3/../../x",
            "/abs",
            "a//b",
            "./properties",
            "a b",
            "a\\b",
            "",
            "%2e%2e/x",
            ".weights/Norder5/Dir0/Npix1.fits",
            ".vogate-hips-build",
            "Norder3/.hidden",
        ] {
            assert_eq!(resolve(root, bad), None, "{bad}");
        }
        assert_eq!(mime_of("Norder3/Allsky.jpg"), "image/jpeg");
        assert_eq!(mime_of("properties"), "text/plain; charset=utf-8");
        assert_eq!(mime_of("Moc.fits"), "application/fits");
    }
}

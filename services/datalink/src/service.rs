//! The DataLink service's HTTP side: `/datalink/links` (GET and POST), its VOSI endpoints,
//! and `/files/{path}`, the `#this` target, answered through the [`vo_tap::Backend`]
//! (never a file path taken from the user).
//!
//! The links of a dataset: `#this` (the file, with its length), and for images and cubes
//! two `#cutout` rows whose service_def names a SODA sync and a SODA async service
//! descriptor ([`crate::descriptor`]) with the dataset's ID fixed and the bounds of its
//! cutout parameters. An unknown ID is a `NotFoundFault` row, an empty one a `UsageFault`
//! row; more IDs than [`DatalinkState::max_ids`] are answered up to that many with
//! QUERY_STATUS OVERFLOW. RESPONSEFORMAT: the VOTable or JSON.

use actix_web::{web, HttpRequest, HttpResponse};
use std::path::PathBuf;
use std::sync::Arc;
use vo_common::votable::QueryStatus;
use vo_common::{Format, VoError};
use vo_dali::{error_response, Params};

/// What the DataLink handlers need.
#[derive(Debug, Clone)]
pub struct DatalinkState {
    /// The database holding ivoa.ObsCore.
    pub backend: Arc<dyn vo_tap::Backend>,
    /// The root of the data tree the product paths are relative to.
    pub data_root: PathBuf,
    /// The service's public base URL (links to files and services start with it).
    pub base_url: String,
    /// The most IDs one `{links}` request is answered for; the rest are left out and the
    /// document says OVERFLOW (DataLink 1.1 §3.2.1).
    pub max_ids: usize,
    /// Where previews are kept.
    pub previews: crate::preview::PreviewCache,
    /// Previews rendered at once (each reads a whole image); more wait their turn.
    pub renders: Arc<tokio::sync::Semaphore>,
}

impl DatalinkState {
    /// The state of a DataLink service over `backend`'s ObsCore and the files under
    /// `data_root`, at `base_url`, with previews kept in `previews` (a folder): at most
    /// [`MAX_IDS`] IDs a request, as many previews rendered at once as the machine has
    /// cores.
    pub fn new(
        backend: Arc<dyn vo_tap::Backend>,
        data_root: PathBuf,
        base_url: String,
        previews: PathBuf,
    ) -> DatalinkState {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        DatalinkState {
            backend,
            data_root,
            base_url,
            max_ids: MAX_IDS,
            previews: crate::preview::PreviewCache { dir: previews },
            renders: Arc::new(tokio::sync::Semaphore::new(cores)),
        }
    }
}

/// The default of [`DatalinkState::max_ids`].
pub const MAX_IDS: usize = 1000;

/// Mount `/datalink/links` (GET, POST), `/datalink/capabilities`,
/// `/datalink/availability` and `/files/{path}` (GET, HEAD). Needs
/// `web::Data<DatalinkState>` in the app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/preview/{path:.*}", web::get().to(preview))
        .route("/files/{path:.*}", web::get().to(file))
        .route("/files/{path:.*}", web::head().to(file))
        .route("/datalink/links", web::get().to(links))
        .route("/datalink/links", web::post().to(links_post))
        .route("/datalink/capabilities", web::get().to(capabilities))
        .route("/datalink/examples", web::get().to(examples))
        .route("/datalink/availability", web::get().to(availability));
}

/// `/datalink/links?ID=...` (DataLink 1.1 §3): the links of each ID (an obs_publisher_did).
async fn links(state: web::Data<DatalinkState>, req: HttpRequest) -> HttpResponse {
    match Params::from_query(req.query_string()) {
        Ok(params) => links_for(&state, params).await,
        Err(e) => error_response(&e),
    }
}

/// The ObsCore columns a dataset's links are made from, in this order (`_path`: the
/// product file, relative to the data root).
const COLUMNS: [&str; 11] = [
    "_path",
    "dataproduct_type",
    "s_ra",
    "s_dec",
    "s_fov",
    "s_region",
    "em_min",
    "em_max",
    "t_min",
    "t_max",
    "pol_states",
];

/// RESPONSEFORMAT of a `{links}` request (DataLink 1.1 §3.2.2): the VOTable, or JSON for the
/// portal. Errors: any other value, named.
fn links_format(params: &Params) -> Result<Format, VoError> {
    let Some(v) = params.single("RESPONSEFORMAT")? else {
        return Ok(Format::VotableTabledata);
    };
    let plain = v.trim().to_ascii_lowercase().replace(' ', "");
    if plain.is_empty()
        || plain == "votable"
        || plain.starts_with("application/x-votable+xml")
        || plain == "text/xml"
    {
        return Ok(Format::VotableTabledata);
    }
    if plain == "json" || plain == "application/json" {
        return Ok(Format::Json);
    }
    Err(VoError::usage(format!(
        "RESPONSEFORMAT={v} is not supported: {{links}} are VOTable \
         (application/x-votable+xml;content=datalink) or JSON (application/json)"
    )))
}

async fn links_for(state: &DatalinkState, params: Params) -> HttpResponse {
    let format = match links_format(&params) {
        Ok(f) => f,
        Err(e) => return error_response(&e),
    };
    let ids: Vec<String> = params.all("ID").map(str::to_string).collect();
    if ids.is_empty() {
        return error_response(&VoError::usage(
            "ID is missing: give the obs_publisher_did of a dataset",
        ));
    }
    let overflow = ids.len() > state.max_ids;
    let base = state.base_url.trim_end_matches('/');
    let mut links = Vec::new();
    let mut descriptors = Vec::new();
    for (k, id) in ids.into_iter().take(state.max_ids).enumerate() {
        if id.trim().is_empty() {
            links.push(crate::Link::fault(
                id,
                "UsageFault: an empty ID names no dataset",
            ));
            continue;
        }
        let row = match state
            .backend
            .obscore_lookup("obs_publisher_did", &id, &COLUMNS)
            .await
        {
            Ok(r) => r,
            Err(e) => return error_response(&e),
        };
        let Some(row) = row else {
            let message = format!("NotFoundFault: no dataset has the ID {id}");
            links.push(crate::Link::fault(id, &message));
            continue;
        };
        let dataset = Dataset::of(&row);
        let path = vo_common::files::product_file(&state.data_root, &dataset.path);
        links.push(crate::Link {
            id: id.clone(),
            access_url: Some(format!(
                "{base}/files/{}",
                vo_obscore::ingest::percent_encode(&dataset.path)
            )),
            semantics: "#this".into(),
            description: Some(format!("The product file {}", dataset.path)),
            content_type: Some(vo_obscore::file_format(&dataset.path).to_string()),
            content_length: path
                .as_ref()
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|m| m.len() as i64),
            content_qualifier: dataset.qualifier(),
            ..Default::default()
        });
        if dataset.previewable() {
            links.push(crate::Link {
                id: id.clone(),
                access_url: Some(format!(
                    "{base}/preview/{}",
                    vo_obscore::ingest::percent_encode(&dataset.path)
                )),
                semantics: "#preview".into(),
                description: Some(
                    "A PNG of the image, north up as its rows go (asinh stretch)".into(),
                ),
                content_type: Some("image/png".into()),
                content_qualifier: Some("#image".into()),
                ..Default::default()
            });
        }
        // Cutouts of images and cubes with a position (what SODA can cut).
        if dataset.cuttable() {
            for (service, standard_id, what) in [
                (
                    "sync",
                    crate::descriptor::SODA_SYNC,
                    "SODA sync: one cutout, at once",
                ),
                (
                    "async",
                    crate::descriptor::SODA_ASYNC,
                    "SODA async: several cutouts as a UWS job",
                ),
            ] {
                let resource_id = format!("soda-{service}-{}", k + 1);
                links.push(crate::Link {
                    id: id.clone(),
                    service_def: Some(resource_id.clone()),
                    semantics: "#cutout".into(),
                    description: Some(format!("Cutout of this dataset ({what})")),
                    content_type: Some("application/fits".into()),
                    content_qualifier: dataset.qualifier(),
                    local_semantics: Some(format!("soda-{service}")),
                    ..Default::default()
                });
                descriptors.push(
                    crate::descriptor::SodaDescriptor {
                        resource_id,
                        access_url: format!("{base}/soda/{service}"),
                        standard_id,
                        id: id.clone(),
                        domain: dataset.domain.clone(),
                    }
                    .to_xml(),
                );
            }
        }
    }
    let status = if overflow {
        QueryStatus::Overflow
    } else {
        QueryStatus::Ok
    };
    let body = crate::links_document(&links, format, descriptors, &status);
    let content_type = match format {
        Format::Json => "application/json",
        _ => crate::CONTENT_TYPE,
    };
    HttpResponse::Ok().content_type(content_type).body(body)
}

/// What the links of one dataset are made from: its ObsCore row ([`COLUMNS`]).
struct Dataset {
    /// The product file, relative to the data root.
    path: String,
    dataproduct_type: Option<String>,
    domain: crate::descriptor::CutoutDomain,
}

impl Dataset {
    fn of(row: &[Option<String>]) -> Dataset {
        let text = |i: usize| row.get(i).cloned().flatten();
        let num = |i: usize| {
            text(i)
                .and_then(|t| t.trim().parse::<f64>().ok())
                .filter(|v| v.is_finite())
        };
        let pair = |a: usize, b: usize| match (num(a), num(b)) {
            (Some(lo), Some(hi)) if lo <= hi => Some((lo, hi)),
            _ => None,
        };
        let circle = match (num(2), num(3), num(4)) {
            (Some(ra), Some(dec), Some(fov)) if fov > 0.0 => Some((ra, dec, fov / 2.0)),
            _ => None,
        };
        Dataset {
            path: text(0).unwrap_or_default(),
            dataproduct_type: text(1),
            domain: crate::descriptor::CutoutDomain {
                circle,
                polygon: text(5).and_then(|s| crate::descriptor::stcs_polygon(&s)),
                band: pair(6, 7),
                time: pair(8, 9),
                pol_states: text(10)
                    .map(|s| crate::descriptor::pol_states(&s))
                    .unwrap_or_default(),
            },
        }
    }

    /// The content_qualifier of its links: `#image`, `#cube`, ... (its dataproduct_type).
    fn qualifier(&self) -> Option<String> {
        self.dataproduct_type
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| format!("#{t}"))
    }

    /// Whether it has a preview: an image or a cube (FITS, gzipped or not: what ingest
    /// takes).
    fn previewable(&self) -> bool {
        matches!(self.dataproduct_type.as_deref(), Some("image" | "cube"))
    }

    /// Whether SODA can cut it: an image or a cube with a position.
    fn cuttable(&self) -> bool {
        matches!(self.dataproduct_type.as_deref(), Some("image" | "cube"))
            && self.domain.circle.is_some()
    }
}

/// `/preview/{path}` (the `#preview` link): the PNG of the product file at that path
/// (relative to the data root, percent-encoded) that an ObsCore row has, rendered once and kept ([`crate::preview`]);
/// 404 when there is no such row or its file is gone or incomplete.
async fn preview(state: web::Data<DatalinkState>, req: HttpRequest) -> HttpResponse {
    let raw = req.uri().path().strip_prefix("/preview/").unwrap_or("");
    let path = match product_of(&state, raw).await {
        Ok(p) => p,
        Err(e) => return error_response(&e),
    };
    let Ok(_permit) = state.renders.clone().acquire_owned().await else {
        return error_response(&VoError::internal("the preview service is closing"));
    };
    let cache = state.previews.clone();
    match web::block(move || cache.get(&path)).await {
        Ok(Ok(png)) => HttpResponse::Ok()
            .content_type("image/png")
            .insert_header(("Cache-Control", "public, max-age=3600"))
            .body(png),
        Ok(Err(e)) => error_response(&VoError::not_found(format!("no preview of '{raw}': {e}"))),
        Err(e) => error_response(&VoError::internal(format!("preview: {e}"))),
    }
}

/// The product file at the path `raw` percent-decoded, which an ObsCore row has. Errors: a
/// malformed escape (usage), no such row or no such file (not found).
async fn product_of(state: &DatalinkState, raw: &str) -> Result<PathBuf, VoError> {
    let rel = percent_decode(raw)
        .ok_or_else(|| VoError::usage(format!("'{raw}' is not a valid percent-encoded path")))?;
    match state
        .backend
        .obscore_lookup("_path", &rel, &["_path"])
        .await?
    {
        Some(_) => {}
        None => {
            return Err(VoError::not_found(format!(
                "no ObsCore row has the product file '{rel}'"
            )))
        }
    }
    vo_common::files::product_file(&state.data_root, &rel).ok_or_else(|| {
        VoError::not_found(format!("the file '{rel}' is no longer in the data tree"))
    })
}

/// `/datalink/capabilities` (VOSI 1.1 §3.3, DataLink 1.1 §2.1): the links endpoint
/// (standardID `ivo://ivoa.net/std/DataLink#links-1.1`) and the VOSI endpoints.
async fn capabilities(state: web::Data<DatalinkState>) -> HttpResponse {
    let b = state.base_url.trim_end_matches('/');
    vo_dali::vosi::capabilities(&[
        vo_dali::vosi::capability(crate::STANDARD_ID, &format!("{b}/datalink/links"), "1.1"),
        vo_dali::vosi::capability(
            "ivo://ivoa.net/std/VOSI#capabilities",
            &format!("{b}/datalink/capabilities"),
            "1.1",
        ),
        vo_dali::vosi::capability(
            "ivo://ivoa.net/std/VOSI#availability",
            &format!("{b}/datalink/availability"),
            "1.1",
        ),
        vo_dali::examples::capability(&format!("{b}/datalink/examples")),
    ])
}

/// `/datalink/examples` (DALI 1.1 §2.3): the links of the archive's first datasets (by
/// obs_publisher_did), one, two at once, and as JSON, as DALI generic parameters.
async fn examples(state: web::Data<DatalinkState>) -> HttpResponse {
    let rows = match state.backend.obscore_first(&["obs_publisher_did"], 2).await {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    let ids: Vec<String> = rows.into_iter().filter_map(|r| r[0].clone()).collect();
    let example = vo_dali::examples::Example::with_params::<&str, &str>;
    let mut list = Vec::new();
    if let Some(first) = ids.first() {
        list.push(example(
            "links",
            format!("The links of {first}"),
            "Its file (#this), its preview (#preview) and its SODA cutout services (#cutout, with their service descriptors).",
            vec![("ID", first.as_str())],
        ));
        list.push(example(
            "links-json",
            format!("The links of {first} as JSON"),
            "The same table in JSON, for web pages.",
            vec![
                ("ID", first.as_str()),
                ("RESPONSEFORMAT", "application/json"),
            ],
        ));
    }
    if let [a, b] = ids.as_slice() {
        list.push(example(
            "two-datasets",
            "The links of two datasets at once".into(),
            "ID repeated: the rows of each dataset together, in the order asked.",
            vec![("ID", a.as_str()), ("ID", b.as_str())],
        ));
    }
    let links = format!("{}/datalink/links", state.base_url.trim_end_matches('/'));
    vo_dali::examples::response("vogate DataLink examples", Some(&links), &list)
}

/// `/datalink/availability` (VOSI 1.1 §3.5).
async fn availability() -> HttpResponse {
    vo_dali::vosi::availability("vogate links its datasets")
}

/// `POST /datalink/links` with a form body (DALI 1.1 §2: every parameter may be POSTed).
async fn links_post(
    state: web::Data<DatalinkState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    match Params::from_request(&req, Some(payload), None).await {
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

/// `/files/{path}`: the product file at that path relative to the data root
/// (percent-encoded), which an ObsCore row has, with its MIME type ([`vo_obscore::file_format`]) as Content-Type; 404 when there is no such row, its
/// file is gone, or the file no longer holds all its data (vo-fits's integrity check).
async fn file(state: web::Data<DatalinkState>, req: HttpRequest) -> HttpResponse {
    let raw = req.uri().path().strip_prefix("/files/").unwrap_or("");
    let Some(rel) = percent_decode(raw) else {
        return error_response(&VoError::usage(format!(
            "'{raw}' is not a valid percent-encoded path"
        )));
    };
    let found = state
        .backend
        .obscore_lookup("_path", &rel, &["_path"])
        .await;
    let format = match found {
        Ok(Some(_)) => vo_obscore::file_format(&rel),
        Ok(None) => {
            return error_response(&VoError::not_found(format!(
                "no ObsCore row has the product file '{rel}'"
            )))
        }
        Err(e) => return error_response(&e),
    };
    let Some(path) = vo_common::files::product_file(&state.data_root, &rel) else {
        return error_response(&VoError::not_found(format!(
            "the file '{rel}' is no longer in the data tree"
        )));
    };
    // A file cut short since ingest (being rewritten, say) is no product: refused, not served
    // as if whole.
    let checked = path.clone();
    match web::block(move || vo_fits::check_file(&checked)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return error_response(&VoError::not_found(format!(
                "the file '{rel}' is not a whole FITS file now: {e}"
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
            "the file '{rel}' cannot be read: {e}"
        ))),
    }
}

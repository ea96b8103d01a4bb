//! The SODA service's HTTP side (SODA 1.0 §3): `/soda/async` (UWS, see [`crate::jobs`]) and
//! `/soda/sync` (GET and POST), answered with
//! the cutout as `application/fits`, streamed as it is written, or HTTP 204 when the shape
//! does not overlap the product; errors are SODA's plain-text documents (§5.2) beginning
//! `UsageError` or `MultiValuedParamNotSupported`, with 4xx statuses. VOSI capabilities
//! (standardID `ivo://ivoa.net/std/SODA#sync-1.0`), availability, and a DALI examples
//! document of cutouts of the archive's own products.

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vo_common::VoError;
use vo_dali::{text_error_response, Params};

use crate::cutout::{plan, write_cut, CutPlan, Product};
use crate::params::SodaRequest;

/// What the SODA handlers need.
#[derive(Debug, Clone)]
pub struct SodaState {
    /// The database holding ivoa.ObsCore (IDs are its obs_publisher_did).
    pub backend: Arc<dyn vo_tap::Backend>,
    /// The root of the data tree the obs_ids are relative to.
    pub data_root: PathBuf,
    /// The service's public base URL, for the capabilities.
    pub base_url: String,
    /// Cutouts made at once (sync and async together); more wait their turn, so that a
    /// burst of requests takes neither a thread nor a buffer each.
    pub cutouts: Arc<tokio::sync::Semaphore>,
    /// The headers, layouts and WCS of recently cut products.
    pub products: Arc<crate::cutout::ProductCache>,
    /// The files of recently cut datasets by ID, for [`ID_TTL`]: a cutout of a product just
    /// cut needs no database lookup.
    pub ids: moka::sync::Cache<String, PathBuf>,
}

/// How long the file of a dataset ID is remembered without asking ObsCore again (a file
/// that has left the tree is asked about at once).
pub const ID_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl SodaState {
    /// The state of a SODA service over `backend`'s ObsCore and the files under
    /// `data_root`, at `base_url`; twice as many cutouts at once as the machine has cores,
    /// and the headers of the last 1,024 products cut kept.
    pub fn new(backend: Arc<dyn vo_tap::Backend>, data_root: PathBuf, base_url: String) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        SodaState {
            backend,
            data_root,
            base_url,
            cutouts: Arc::new(tokio::sync::Semaphore::new(2 * cores)),
            products: Arc::new(crate::cutout::ProductCache::new(1024)),
            ids: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ID_TTL)
                .build(),
        }
    }
}

/// Mount `/soda/sync` (GET, POST), `/soda/async` (the UWS job list of `jobs`, whose runner
/// is a [`crate::SodaRunner`]), `/soda/capabilities` and `/soda/availability`. Needs
/// `web::Data<SodaState>` in the app.
pub fn configure(jobs: Arc<vo_uws::Uws>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.route("/soda/sync", web::get().to(sync_get))
            .route("/soda/sync", web::post().to(sync_post))
            .route("/soda/capabilities", web::get().to(capabilities))
            .route("/soda/examples", web::get().to(examples))
            .route("/soda/availability", web::get().to(availability));
        vo_uws::http::configure(cfg, "/soda/async", jobs);
    }
}

async fn sync_get(state: web::Data<SodaState>, req: HttpRequest) -> HttpResponse {
    match Params::from_query(req.query_string()) {
        Ok(p) => sync(&state, p).await,
        Err(e) => text_error_response(&e),
    }
}

async fn sync_post(
    state: web::Data<SodaState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    match Params::from_request(&req, Some(payload), None).await {
        Ok(p) => sync(&state, p).await,
        Err(e) => text_error_response(&e),
    }
}

/// The product file of the dataset `id` (an obs_publisher_did of ivoa.ObsCore), remembered
/// for [`ID_TTL`] while the file is there. Errors: no such dataset (naming the ID), or its
/// file has left the data tree.
pub(crate) async fn product(state: &SodaState, id: &str) -> Result<PathBuf, VoError> {
    if let Some(path) = state.ids.get(id).filter(|p| p.is_file()) {
        return Ok(path);
    }
    let path = lookup(state, id).await?;
    state.ids.insert(id.to_string(), path.clone());
    Ok(path)
}

/// The product file of the dataset `id`, from ObsCore.
async fn lookup(state: &SodaState, id: &str) -> Result<PathBuf, VoError> {
    let row = state
        .backend
        .obscore_lookup("obs_publisher_did", id, &["_path"])
        .await?;
    let path = row
        .and_then(|v| v.into_iter().next().flatten())
        .ok_or_else(|| VoError::not_found(format!("no dataset has the ID {id}")))?;
    vo_common::files::product_file(&state.data_root, &path).ok_or_else(|| {
        VoError::not_found(format!(
            "the file of the dataset {id} is no longer in the data tree"
        ))
    })
}

/// A writer into the response stream: 64 KiB chunks sent to the client as they fill (the
/// channel holds a few, so memory stays bounded whatever the cutout's size).
struct ChunkWriter {
    tx: tokio::sync::mpsc::Sender<Bytes>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    const CHUNK: usize = 64 * 1024;

    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(Self::CHUNK),
        ));
        self.tx.blocking_send(chunk).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

/// Write the cutout `plan` of `product` (the file `path`, dataset `id`) on a blocking
/// thread, holding `permit` until it is written: its bytes come through the returned
/// receiver in 64 KiB chunks (a few at most waiting, so memory stays bounded whatever the
/// cut's size), and the handle ends with the outcome.
pub(crate) fn spawn_cut(
    plan: CutPlan,
    product: Arc<Product>,
    path: PathBuf,
    id: String,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> (
    tokio::sync::mpsc::Receiver<Bytes>,
    tokio::task::JoinHandle<Result<(), String>>,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    let handle = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut w = ChunkWriter {
            tx,
            buf: Vec::with_capacity(ChunkWriter::CHUNK),
        };
        write_cut(&plan, &product, &path, &id, &mut w)
            .and_then(|()| w.flush().map_err(|e| e.to_string()))
    });
    (rx, handle)
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= Self::CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

async fn sync(state: &SodaState, params: Params) -> HttpResponse {
    let request = match SodaRequest::parse(&params).and_then(|r| r.check_sync().map(|()| r)) {
        Ok(r) => r,
        Err(e) => return text_error_response(&e),
    };
    let id = request.ids[0].clone();
    let path = match product(state, &id).await {
        Ok(p) => p,
        Err(e) => return text_error_response(&e),
    };
    let shape = request.shapes.first().cloned();
    let (band, time, pols) = (
        request.bands.first().copied(),
        request.times.first().copied(),
        request.pols.clone(),
    );
    let Ok(permit) = state.cutouts.clone().acquire_owned().await else {
        return text_error_response(&VoError::internal("the cutout service is closing"));
    };
    // A small cut of a product whose headers are at hand is made here, without a trip to
    // a blocking thread: a few reads of at most INLINE_BYTES from a file just cut (in the
    // page cache, as a web server serves small files). Anything else, or any error, takes
    // the path below. Large polygons (many boundary points to map) are planned there too.
    let light = !matches!(&shape, Some(crate::params::Shape::Polygon(v)) if v.len() > 32);
    // The plan made here, when it was, for the blocking thread to use.
    let mut ready: Option<(CutPlan, Arc<Product>)> = None;
    if let Some(product) = light.then(|| state.products.peek(&path)).flatten() {
        match plan(
            &product,
            shape.as_ref(),
            band.as_ref(),
            time.as_ref(),
            &pols,
        ) {
            Ok(None) => return HttpResponse::NoContent().finish(),
            Ok(Some(p)) if p.data_bytes() <= INLINE_BYTES => {
                if let Ok(body) = whole_cut(&p, &product, &path, &id) {
                    return fits_response(&path, body);
                }
            }
            Ok(Some(p)) => ready = Some((p, product)),
            Err(_) => {}
        }
    }
    // Planned (unless it was above), and when small written at once, on one blocking
    // thread: a small cut is sent whole with its length; a larger one streams.
    let planned = {
        let (path, products, id) = (path.clone(), state.products.clone(), id.clone());
        web::block(move || -> Result<Cut, String> {
            let (plan, product) = match ready {
                Some(r) => r,
                None => {
                    let product = products.get(&path)?;
                    match plan(
                        &product,
                        shape.as_ref(),
                        band.as_ref(),
                        time.as_ref(),
                        &pols,
                    )? {
                        Some(p) => (p, product),
                        None => return Ok(Cut::None),
                    }
                }
            };
            if plan.data_bytes() > WHOLE_BYTES {
                return Ok(Cut::Stream(plan, product));
            }
            match whole_cut(&plan, &product, &path, &id) {
                Ok(body) => Ok(Cut::Whole(body)),
                Err(e) => Ok(Cut::Failed(e)),
            }
        })
        .await
    };
    let (plan, product) = match planned {
        Ok(Ok(Cut::Stream(plan, product))) => (plan, product),
        Ok(Ok(Cut::Whole(body))) => return fits_response(&path, body),
        // SODA 1.0 §5.3: no overlap is no content.
        Ok(Ok(Cut::None)) => return HttpResponse::NoContent().finish(),
        Ok(Ok(Cut::Failed(e))) => {
            tracing::warn!(dataset = %id, reason = %e, "cutout not completed");
            return text_error_response(&VoError::internal(format!(
                "the cutout of {id} failed: {e}"
            )));
        }
        // The product's file is not a whole FITS file now (cut short, being rewritten): it
        // cannot be served, as /files does not serve it.
        Ok(Err(e)) => {
            return text_error_response(&VoError::not_found(format!(
                "the dataset {id} cannot be cut: {e}"
            )))
        }
        Err(e) => return text_error_response(&VoError::internal(format!("cutout: {e}"))),
    };
    let disposition = download_name(&path);
    let (rx, written) = spawn_cut(plan, product, path, id.clone(), permit);
    tokio::spawn(async move {
        if let Ok(Err(e)) = written.await {
            tracing::warn!(dataset = %id, reason = %e, "cutout not completed");
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<Bytes, actix_web::Error>(b), rx))
    });
    HttpResponse::Ok()
        .content_type("application/fits")
        .insert_header(("Content-Disposition", disposition))
        .streaming(stream)
}

/// The whole cutout file of `plan`, in memory (for a small cut).
fn whole_cut(plan: &CutPlan, product: &Product, path: &Path, id: &str) -> Result<Vec<u8>, String> {
    let mut body = Vec::with_capacity(plan.data_bytes() as usize + 4 * 2880);
    write_cut(plan, product, path, id, &mut body)?;
    Ok(body)
}

/// A whole cutout `body` of the product file `path`, with its length.
fn fits_response(path: &Path, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/fits")
        .insert_header(("Content-Disposition", download_name(path)))
        .body(body)
}

/// Cuts of at most this many bytes of values are written whole and sent with their length;
/// larger ones stream.
const WHOLE_BYTES: u64 = 1 << 20;

/// Cuts of at most this many bytes of values, of a product whose headers are cached, are
/// made on the request's own thread.
const INLINE_BYTES: u64 = 256 << 10;

/// What the blocking part of a sync cutout gives.
enum Cut {
    /// No overlap.
    None,
    /// The whole cutout file.
    Whole(Vec<u8>),
    /// A large cut, to stream.
    Stream(CutPlan, Arc<Product>),
    /// Reading or writing failed (the message).
    Failed(String),
}

/// The Content-Disposition of the cutout of the product file `path`: its name, in characters
/// any header value can hold, with `-cutout.fits`.
fn download_name(path: &Path) -> String {
    let name: String = path
        .file_stem()
        .map(|s| s.to_string_lossy().trim_end_matches(".fits").to_string())
        .unwrap_or_else(|| "cutout".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("inline; filename=\"{name}-cutout.fits\"")
}

/// `/soda/capabilities` (VOSI 1.1 §3.3, SODA 1.0 §2): SODA sync and async, the VOSI
/// endpoints and the DALI examples.
async fn capabilities(state: web::Data<SodaState>) -> HttpResponse {
    let b = state.base_url.trim_end_matches('/');
    let cap = |id: &str, path: &str, version: &str| {
        vo_dali::vosi::capability(id, &format!("{b}/soda/{path}"), version)
    };
    vo_dali::vosi::capabilities(&[
        cap("ivo://ivoa.net/std/SODA#sync-1.0", "sync", "1.0"),
        cap("ivo://ivoa.net/std/SODA#async-1.0", "async", "1.0"),
        cap(
            "ivo://ivoa.net/std/VOSI#capabilities",
            "capabilities",
            "1.1",
        ),
        cap(
            "ivo://ivoa.net/std/VOSI#availability",
            "availability",
            "1.1",
        ),
        vo_dali::examples::capability(&format!("{b}/soda/examples")),
    ])
}

/// `/soda/examples` (DALI 1.1 §2.3): cutouts of the archive's own products, as DALI generic
/// parameters: built from the first products of ivoa.ObsCore (by obs_publisher_did), so
/// that every example answers with a cutout.
async fn examples(state: web::Data<SodaState>) -> HttpResponse {
    match examples_of(&state).await {
        Ok(list) => {
            let sync = format!("{}/soda/sync", state.base_url.trim_end_matches('/'));
            vo_dali::examples::response("vogate SODA examples", Some(&sync), &list)
        }
        Err(e) => text_error_response(&e),
    }
}

/// The ObsCore columns the examples are made from, in this order.
const EXAMPLE_COLUMNS: [&str; 9] = [
    "obs_publisher_did",
    "s_ra",
    "s_dec",
    "s_fov",
    "em_min",
    "em_max",
    "t_min",
    "t_max",
    "dataproduct_type",
];

/// The examples for the products of `state`'s ObsCore: a circle, POS CIRCLE, POS RANGE and
/// a polygon at the centre of the first product with a position, and BAND and TIME on the
/// first cubes whose spectral and time ranges have a width. None when ObsCore has no product
/// with a position.
pub(crate) async fn examples_of(
    state: &SodaState,
) -> Result<Vec<vo_dali::examples::Example>, VoError> {
    let rows = state.backend.obscore_first(&EXAMPLE_COLUMNS, 200).await?;
    let num = |r: &[Option<String>], i: usize| -> Option<f64> {
        r[i].as_deref()
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
    };
    let mut out = Vec::new();
    let example = vo_dali::examples::Example::with_params::<&str, String>;
    let with_position = rows
        .iter()
        .find(|r| r[0].is_some() && num(r, 1).is_some() && num(r, 2).is_some());
    if let Some(r) = with_position {
        let (did, ra, dec) = (r[0].clone().unwrap_or_default(), num(r, 1), num(r, 2));
        let (ra, dec) = (ra.unwrap_or(0.0), dec.unwrap_or(0.0));
        // A tenth of the field of view, so that the cutout is inside the image.
        let radius = num(r, 3).filter(|f| *f > 0.0).map_or(0.01, |f| f / 10.0);
        let widen = radius / dec.to_radians().cos().max(0.01);
        let ra_at = |d: f64| (ra + d).rem_euclid(360.0);
        let dec_at = |d: f64| (dec + d).clamp(-90.0, 90.0);
        out.push(example(
            "circle",
            format!("A circle at the centre of {did}"),
            format!(
                "The pixels of {did} within {radius:.6} degrees of its centre, with their WCS."
            ),
            vec![
                ("ID", did.clone()),
                ("CIRCLE", format!("{ra:.6} {dec:.6} {radius:.6}")),
            ],
        ));
        out.push(example(
            "pos-circle",
            format!("The same circle as POS=CIRCLE on {did}"),
            "SODA's POS parameter with a CIRCLE: the same cutout as the CIRCLE parameter.".into(),
            vec![
                ("ID", did.clone()),
                ("POS", format!("CIRCLE {ra:.6} {dec:.6} {radius:.6}")),
            ],
        ));
        out.push(example(
            "pos-range",
            format!("A range of RA and Dec on {did}"),
            "POS=RANGE ra_min ra_max dec_min dec_max, in degrees (ra_min > ra_max crosses RA = 0)."
                .into(),
            vec![
                ("ID", did.clone()),
                (
                    "POS",
                    format!(
                        "RANGE {:.6} {:.6} {:.6} {:.6}",
                        ra_at(-widen),
                        ra_at(widen),
                        dec_at(-radius),
                        dec_at(radius)
                    ),
                ),
            ],
        ));
        out.push(example(
            "polygon",
            format!("A triangle on {did}"),
            "POLYGON with three vertices (ra dec pairs, degrees), in either order.".into(),
            vec![
                ("ID", did.clone()),
                (
                    "POLYGON",
                    format!(
                        "{:.6} {:.6} {:.6} {:.6} {:.6} {:.6}",
                        ra_at(-widen),
                        dec_at(-radius),
                        ra_at(widen),
                        dec_at(-radius),
                        ra,
                        dec_at(radius)
                    ),
                ),
            ],
        ));
    }
    // Planes of cubes: the middle third of the product's range.
    for (id, lo, unit, what) in [("band", 4, "metres", "BAND"), ("time", 6, "MJD", "TIME")] {
        let cube = rows.iter().find(|r| {
            r[0].is_some()
                && r[8].as_deref() == Some("cube")
                && matches!((num(r, lo), num(r, lo + 1)), (Some(a), Some(b)) if b > a)
        });
        if let Some(r) = cube {
            let did = r[0].clone().unwrap_or_default();
            let (a, b) = (num(r, lo).unwrap_or(0.0), num(r, lo + 1).unwrap_or(0.0));
            let third = (b - a) / 3.0;
            out.push(example(
                id,
                format!("{what}: the middle third of {did}'s range"),
                format!(
                    "The planes of {did} between {} and {} {unit}, whole in the other axes.",
                    a + third,
                    b - third
                ),
                vec![("ID", did), (what, format!("{} {}", a + third, b - third))],
            ));
        }
    }
    Ok(out)
}

/// `/soda/availability` (VOSI 1.1 §3.5).
async fn availability() -> HttpResponse {
    vo_dali::vosi::availability("vogate cuts FITS products")
}

//! vogate: the gateway binary's library part: settings, start-up (demo sky, schema, ingest)
//! and the HTTP routes of every service.
//!
//! Routes (relative to the base URL):
//! - `/`: a landing page with the endpoints, example queries and the archive's HiPS in
//!   Aladin Lite with the ObsCore footprints over it (see [`landing`]); `/static/aladin.js`:
//!   the local copy of Aladin Lite, when one is configured;
//! - `/tap/sync`: TAP 1.1 synchronous queries (see `vo_tap::sync`);
//! - `/obscore/status`: the live ingest of the data tree (JSON);
//! - `/hips/list`, `/hips/{id}/...`: the HiPS maps of the config's `[[hips]]` entries;
//! - `/files/{path}`: the product file of an ObsCore row, found through `ivoa.ObsCore`
//!   (the percent-encoded path relative to the data root, served only when a row has it).

/// The process's allocator: mimalloc, for every binary that links this library (the gateway,
/// its examples and tests). A query allocates many small values (FIELD metadata, row cells,
/// SQL text); under 50 connections of TOP 5 queries glibc's malloc took about a quarter of
/// the server's time (perf), mimalloc much less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod hips_cli;
pub mod hips_serve;
pub mod landing;
pub mod live;
pub mod lock;
pub mod settings;

use actix_web::{web, HttpRequest, HttpResponse};
use settings::{DbUrl, Settings};
use std::path::PathBuf;
use std::sync::Arc;
use vo_common::VoError;
use vo_obscore::IngestConfig;
use vo_tap::{schema, TapState};

/// Everything the routes need, made once at start-up by [`prepare`].
#[derive(Debug, Clone)]
pub struct Gateway {
    /// The resolved settings.
    pub settings: Settings,
    /// The TAP service state.
    pub tap: TapState,
    /// The data tree being served (the given --data, or the demo sky in the workdir).
    pub data_root: PathBuf,
    /// The live ingest of the data tree: ivoa.ObsCore follows it (`/obscore/status`).
    pub live: Arc<vo_obscore::live::Live>,
    /// The TAP async jobs (UWS engine).
    pub jobs: Arc<vo_uws::Uws>,
    /// The job workers and reaper, stopped when the last clone of the gateway goes.
    pub workers: Arc<vo_uws::Running>,
    /// The SODA service's state (shared by every HTTP worker and the async jobs).
    pub soda: vo_soda::SodaState,
    /// The DataLink service's state (previews kept in `<workdir>/previews`).
    pub datalink: vo_datalink::DatalinkState,
    /// The SODA async jobs (the same engine and job store, kind `soda`).
    pub soda_jobs: Arc<vo_uws::Uws>,
    /// Their workers and reaper.
    pub soda_workers: Arc<vo_uws::Running>,
    /// The exclusive locks on the workdir and the database (see [`lock`]), held as long as
    /// any clone of the gateway lives.
    pub locks: Arc<(vo_common::lockfile::LockFile, vo_tap::ServeLock)>,
}

/// Prepare the gateway and wait for the first scan of the data tree to end (see
/// [`prepare_background`]): every file's row is there when it returns.
pub fn prepare(settings: Settings) -> Result<Gateway, VoError> {
    let gw = prepare_background(settings)?;
    gw.live.wait_scanned();
    Ok(gw)
}

/// Prepare the gateway: lock the workdir and the database (a second server on them is
/// refused before anything is written), write the demo sky when no data tree is given,
/// create the schema (ivoa.ObsCore and its file states are kept across starts), load the
/// catalog, and start the live ingest, whose first scan of the data tree runs in the
/// background (rows appear as they are read; `/tap/availability` says a scan is running).
/// Errors say which step failed and why.
pub fn prepare_background(mut settings: Settings) -> Result<Gateway, VoError> {
    // Check everything the user gave before writing anything.
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
    if let DbUrl::Sqlite(db_path) = &settings.db {
        if db_path.exists() && !db_path.is_file() {
            return Err(VoError::usage(format!(
                "--db sqlite:{}: is not a file",
                db_path.display()
            )));
        }
    }
    let holder = format!("vogate serve on {}", settings.bind);
    // The workdir, then the database; each lock names this server to whoever finds it
    // taken. A refused start removes what it made for its locks.
    let workdir_existed = settings.workdir.exists();
    let lock_path = settings.workdir.join("vogate.lock");
    let lock_existed = lock_path.exists();
    let workdir_lock = lock::lock_workdir(&settings, &holder)?;
    let setup = vo_tap::open(&settings.database())?;
    let serve_lock = match on_own_runtime(async { setup.lock_for_serving(&holder).await }) {
        Ok(l) => l,
        Err(e) => {
            drop(workdir_lock);
            if !lock_existed {
                let _ = std::fs::remove_file(&lock_path);
            }
            if !workdir_existed {
                let _ = std::fs::remove_dir(&settings.workdir);
            }
            return Err(e);
        }
    };
    std::fs::create_dir_all(&settings.jobs.results_dir).map_err(|e| {
        VoError::usage(format!(
            "the job results folder {} cannot be made: {e} (set [jobs] results_dir)",
            settings.jobs.results_dir.display()
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
    if settings.data.is_none() && !settings.hips.iter().any(|h| h.id == DEMO_HIPS) {
        settings.hips.push(demo_hips(&settings.workdir, &data_root));
    }
    let cfg = ingest_config(&settings);
    let felis = read_schemas(&settings.schemas)?;
    // Set up on a runtime of its own, with a backend of its own (pooled connections die
    // with the runtime that made them); the gateway serves through a fresh one.
    let extra = extension_columns(&settings);
    let (catalog, vosi) = on_own_runtime(async {
        setup.migrate().await?;
        // The mapping's extension columns (added when missing, never dropped), published.
        setup.extend_obscore(&extra).await?;
        for s in &felis {
            let outcome = setup.publish(s, false, &settings.positions).await?;
            tracing::info!(schema = %s.name, ?outcome, "published a Felis schema");
        }
        let snapshot = setup.tap_schema().await?;
        let mut catalog = schema::load_catalog(&snapshot)?;
        catalog.set_positions(&settings.positions)?;
        let vosi = vo_tap::vosi::Vosi::load(&snapshot, &settings.base_url, settings.limits)?
            .with_service(vo_tap::vosi::ServiceLimits {
                uploads: settings.uploads.clone(),
                retention: Some(settings.jobs.default_lifetime.as_secs()),
                execution: Some((
                    settings.jobs.default_execution_duration,
                    settings.jobs.max_execution_duration,
                )),
            });
        Ok((catalog, vosi))
    })?;
    drop(setup);
    let backend = vo_tap::open(&settings.database())?;
    let soda = vo_soda::SodaState::new(
        backend.clone(),
        data_root.clone(),
        settings.base_url.clone(),
    );
    // ivoa.ObsCore follows the tree: a scan now (only new and changed files are read),
    // then, with --watch, file events. Rows appear as they are read.
    let ids = soda.ids.clone();
    let store = live::BackendStore::new(
        vo_tap::open(&settings.database())?,
        Box::new(move |changes: &vo_obscore::live::Changes| {
            // A dataset whose row went (or moved) is looked up again.
            if !changes.deleted_paths.is_empty() || !changes.rows.is_empty() {
                ids.invalidate_all();
            }
        }),
    )
    .map_err(VoError::internal)?;
    let live = Arc::new(
        vo_obscore::live::Live::start(&data_root, cfg, settings.live.clone(), Arc::new(store))
            .map_err(|e| {
                VoError::usage(format!(
                    "cannot follow the data tree {}: {e}",
                    data_root.display()
                ))
            })?,
    );
    let scanning = live.clone();
    let tap = TapState {
        spill_dir: settings.jobs.results_dir.clone(),
        uploads: settings.uploads.clone(),
        backend: backend.clone(),
        catalog: Arc::new(catalog),
        limits: settings.limits,
        vosi: Arc::new(vosi),
        note: vo_tap::AvailabilityNote(Some(Arc::new(move || {
            let s = scanning.status();
            s.scan.running.then(|| {
                format!(
                    "a scan of the data tree is in progress: {} FITS files found, {} of {} new or changed files read; ivoa.ObsCore has {} rows so far (see /obscore/status)",
                    s.scan.walked, s.scan.read, s.scan.to_read, s.rows
                )
            })
        }))),
    };
    let mut tap_jobs = settings.jobs.clone();
    tap_jobs.parts = Some(tap.part_limits());
    let jobs = vo_uws::Uws::new(
        vo_tap::asynchronous::KIND,
        backend as Arc<dyn vo_uws::JobStore>,
        Arc::new(vo_tap::TapRunner { state: tap.clone() }),
        tap_jobs,
    );
    let workers = Arc::new(jobs.start()?);
    let mut soda_config = settings.jobs.clone();
    soda_config.base_url = format!("{}/soda/async", settings.base_url.trim_end_matches('/'));
    let soda_jobs = vo_uws::Uws::new(
        vo_soda::KIND,
        tap.backend.clone() as Arc<dyn vo_uws::JobStore>,
        Arc::new(vo_soda::SodaRunner {
            state: soda.clone(),
        }),
        soda_config,
    );
    let soda_workers = Arc::new(soda_jobs.start()?);
    let datalink = vo_datalink::DatalinkState::new(
        tap.backend.clone(),
        data_root.clone(),
        settings.base_url.clone(),
        settings.workdir.join("previews"),
    );
    Ok(Gateway {
        tap,
        jobs,
        workers,
        soda,
        datalink,
        soda_jobs,
        soda_workers,
        data_root,
        live,
        settings,
        locks: Arc::new((workdir_lock, serve_lock)),
    })
}

/// The id of the demo sky's HiPS (`/hips/demo-sky/`).
pub const DEMO_HIPS: &str = "demo-sky";

/// The demo sky's HiPS (FITS and PNG tiles) in `<workdir>/hips/demo-sky`, built on a thread
/// of its own at the first start (it is listed and served once its `properties` is there;
/// later starts reuse it).
fn demo_hips(workdir: &std::path::Path, sky: &std::path::Path) -> vo_common::config::HipsConfig {
    let out = workdir.join("hips").join(DEMO_HIPS);
    if !out.join("properties").is_file() {
        let (out, sky) = (out.clone(), sky.to_path_buf());
        let now = vo_uws::job::iso(vo_uws::job::now());
        let opts = vo_hips::BuildOptions {
            out: out.clone(),
            order: None,
            frame: vo_hips::HipsFrame::equatorial(),
            tile_width: 512,
            overlay: vo_hips::Overlay::Mean,
            hdu: vo_hips::HduChoice::Science,
            resume: false,
            formats: vec![vo_hips::TileFormat::Fits, vo_hips::TileFormat::Png],
            pixel_cut: None,
            properties: vo_hips::Properties {
                creator_did: format!("ivo://vogate.local/P/{DEMO_HIPS}"),
                obs_title: "vogate demo sky".into(),
                obs_description: Some(
                    "The synthetic images of vogate's demo sky, tiled at its first start".into(),
                ),
                release_date: format!("{}Z", now.get(..16).unwrap_or(&now)),
                builder: format!("vogate {}", env!("CARGO_PKG_VERSION")),
                ..Default::default()
            },
        };
        let spawned = std::thread::Builder::new()
            .name("demo-hips".into())
            .spawn(move || {
                let t = std::time::Instant::now();
                let stop = std::sync::atomic::AtomicBool::new(false);
                match vo_hips::build(&[sky], &opts, &vo_hips::Quiet, &stop) {
                    Ok(r) => tracing::info!(
                        dir = %out.display(),
                        tiles = r.tiles.iter().sum::<usize>(),
                        seconds = t.elapsed().as_secs_f64(),
                        "built the demo sky's HiPS"
                    ),
                    Err(e) => tracing::warn!(error = %e, "the demo sky's HiPS could not be built"),
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "the demo sky's HiPS could not be started");
        }
    }
    vo_common::config::HipsConfig {
        id: DEMO_HIPS.into(),
        path: workdir.join("hips").join(DEMO_HIPS),
        title: Some("vogate demo sky".into()),
    }
}

/// Read and validate Felis schema files (every one; a problem in any refuses them all, each
/// problem located: file, line, path and rule).
pub fn read_schemas(files: &[PathBuf]) -> Result<Vec<vo_felis::Schema>, VoError> {
    let mut schemas = Vec::new();
    let mut problems = Vec::new();
    for f in files {
        match vo_felis::load_file(f, &vo_felis::Checks::default()) {
            Ok(s) => schemas.push(s),
            Err(p) => problems.extend(p),
        }
    }
    if problems.is_empty() {
        Ok(schemas)
    } else {
        Err(VoError::usage(format!(
            "invalid Felis schema:\n  {}",
            problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n  ")
        )))
    }
}

/// Run `f` on a private runtime on its own thread (works inside or outside an async
/// context).
fn on_own_runtime<T: Send>(
    f: impl std::future::Future<Output = Result<T, VoError>> + Send,
) -> Result<T, VoError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| VoError::internal(format!("cannot start a runtime: {e}")))?
                    .block_on(f)
            })
            .join()
            .unwrap_or_else(|_| Err(VoError::internal("the database task failed")))
    })
}

/// `vogate schema load`: publish Felis schemas (tables and TAP_SCHEMA rows) on the settings'
/// database through the admin connection, without touching ivoa.ObsCore. Returns each
/// schema's name and outcome.
pub fn load_schemas(
    settings: &Settings,
    files: &[PathBuf],
    metadata_only: bool,
) -> Result<Vec<(String, vo_tap::publish::Published)>, VoError> {
    let schemas = read_schemas(files)?;
    let backend = vo_tap::open(&settings.database())?;
    on_own_runtime(async {
        backend.ensure_tap_schema().await?;
        let mut out = Vec::new();
        for s in &schemas {
            out.push((
                s.name.clone(),
                backend
                    .publish(s, metadata_only, &settings.positions)
                    .await?,
            ));
        }
        Ok(out)
    })
}

/// `vogate load TABLE FILE`: rows from CSV into a published table of the settings'
/// database (see `vo_tap::csvload`). Returns the number of rows loaded.
pub fn load_csv(
    settings: &Settings,
    table: &str,
    file: &std::path::Path,
) -> Result<usize, VoError> {
    let backend = vo_tap::open(&settings.database())?;
    on_own_runtime(async {
        let snapshot = backend.tap_schema().await?;
        let mut catalog = schema::load_catalog(&snapshot)?;
        catalog.set_positions(&settings.positions)?;
        drop(snapshot);
        let rows = vo_tap::csvload::read_csv(&catalog, table, file)?;
        backend.insert_rows(&rows).await
    })
}

/// The product files of the ObsCore rows an ADQL query selects (`vogate hips build
/// --from-obscore`): the query runs on the settings' database as TAP would run it (no row
/// limit); its result must hold obs_publisher_did (by name or utype), and each DID's file is
/// the row's path under the data root (`--data`, or the demo sky in the workdir). Errors: a
/// query that does not translate (the ADQL error), a result without obs_publisher_did, a
/// DID without a row, and database errors.
pub fn obscore_inputs(settings: &Settings, adql: &str) -> Result<Vec<std::path::PathBuf>, VoError> {
    let backend = vo_tap::open(&settings.database())?;
    let root = match &settings.data {
        Some(d) => d.clone(),
        None => settings.workdir.join("demo-sky"),
    };
    on_own_runtime(async {
        let snapshot = backend.tap_schema().await?;
        let mut catalog = schema::load_catalog(&snapshot)?;
        catalog.set_positions(&settings.positions)?;
        drop(snapshot);
        let dialect = backend.dialect();
        let translated = vo_adql::translate(adql, &catalog, dialect)?;
        let did = translated
            .fields
            .iter()
            .position(|f| {
                f.name.eq_ignore_ascii_case("obs_publisher_did")
                    || f.utype
                        .as_deref()
                        .is_some_and(|u| u.eq_ignore_ascii_case("obscore:Curation.publisherDID"))
            })
            .ok_or_else(|| {
                VoError::usage(
                    "the query must return obs_publisher_did, e.g. SELECT \
                     obs_publisher_did FROM ivoa.ObsCore WHERE ...",
                )
            })?;
        let (sql, _) = translated.sql_with_limit(dialect, u64::MAX / 4);
        let fields: std::sync::Arc<[vo_common::FieldMeta]> = translated.fields.clone().into();
        let mut rows = backend.query(sql, fields, Vec::new()).await?;
        let mut dids = Vec::new();
        while let Some(batch) = rows.next().await {
            for row in batch.map_err(VoError::internal)? {
                if let Some(vo_common::votable::Value::Text(d)) = row.get(did) {
                    dids.push(d.clone());
                }
            }
        }
        let mut out = Vec::with_capacity(dids.len());
        for d in dids {
            let path = backend
                .obscore_lookup("obs_publisher_did", &d, &["_path"])
                .await?
                .and_then(|cols| cols.into_iter().next().flatten())
                .ok_or_else(|| VoError::not_found(format!("no ObsCore row has the DID {d}")))?;
            out.push(root.join(path));
        }
        out.sort();
        out.dedup();
        Ok(out)
    })
}

/// The Felis columns of the mapping's ObsCore extension columns.
fn extension_columns(settings: &Settings) -> Vec<vo_felis::model::Column> {
    settings
        .mapping
        .extra_columns
        .iter()
        .map(|c| c.column.clone())
        .collect()
}

/// How the files of `settings`' data tree become ObsCore rows.
fn ingest_config(settings: &Settings) -> IngestConfig {
    IngestConfig {
        authority: settings.authority.clone(),
        obs_collection: settings.obs_collection.clone(),
        calib_level: settings.calib_level,
        base_url: settings.base_url.clone(),
        access_url: settings.access_url,
        mapping: settings.mapping.clone(),
    }
}

/// What `vogate obscore sync` did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncReport {
    /// FITS files in the tree.
    pub files: usize,
    /// Files read (new or changed since the last scan, under any server or sync).
    pub read: usize,
    /// Rows deleted: their files are no longer in the tree.
    pub deleted: usize,
    /// ivoa.ObsCore rows now.
    pub rows: usize,
    /// Files that give no row (path relative to the tree -> reason, also logged), those
    /// found before included.
    pub failed: Vec<(String, String)>,
}

/// `vogate obscore sync DIR`: bring ivoa.ObsCore of the settings' database in step with the
/// data tree `dir`, once, while a server may be serving it, as a server's scan does (see
/// [`vo_obscore::live`]): new and changed files are read and their rows written, the rows
/// of files no longer in the tree deleted, in transactions of `[watch] batch` files. A
/// renamed file is a new row and its old one goes. Files that cannot be read are reported
/// and keep no row. Errors: the database cannot be opened or written, or has no
/// ivoa.ObsCore yet (it is made by `vogate serve`).
pub fn obscore_sync(settings: &Settings, dir: &std::path::Path) -> Result<SyncReport, VoError> {
    if !dir.is_dir() {
        return Err(VoError::usage(format!(
            "{} is not a folder of FITS files",
            dir.display()
        )));
    }
    let store = live::BackendStore::new(vo_tap::open(&settings.database())?, Box::new(|_| {}))
        .map_err(VoError::internal)?;
    // The file states are read first: a database never served has none (its ObsCore is
    // made by `vogate serve`, never here: that would empty it under a running server).
    let files = vo_obscore::live::Store::files(&store).map_err(|e| {
        VoError::usage(format!(
            "the database has no ivoa.ObsCore to sync ({e}): serve it once with `vogate serve` first"
        ))
    })?;
    // Rows made under other settings (another data tree, base URL, authority, collection or
    // mapping, as a server's) would all be remade or deleted: refused, not done silently.
    let cfg = ingest_config(settings);
    let ours = vo_obscore::live::config_fingerprint(&cfg, dir);
    if !files.is_empty() && !files.iter().any(|f| f.config == ours) {
        return Err(VoError::usage(format!(
            "the rows of this database were made from another data tree or with other settings \
             (base URL, authority, obs_collection, mapping) than {} with these: give the \
             server's --config (or --base-url) and its data tree; syncing would remake or \
             delete all {} of them",
            dir.display(),
            files.len()
        )));
    }
    drop(files);
    // The mapping's extension columns, as a server with these settings has them.
    let extra = extension_columns(settings);
    let backend = vo_tap::open(&settings.database())?;
    on_own_runtime(async { backend.extend_obscore(&extra).await })?;
    let status =
        vo_obscore::live::Live::sync_once(dir, cfg, settings.live.clone(), Arc::new(store))
            .map_err(VoError::internal)?;
    let last = status.last_scan.clone();
    Ok(SyncReport {
        files: last.as_ref().map_or(0, |l| l.walked),
        read: last.as_ref().map_or(0, |l| l.read),
        deleted: last.as_ref().map_or(0, |l| l.deleted),
        rows: status.rows,
        failed: status.failed.into_iter().collect(),
    })
}

/// Who serves the database of `settings` now, when that is known (see
/// [`vo_tap::Backend::served_by`]).
pub fn served_by(settings: &Settings) -> Option<String> {
    vo_tap::open(&settings.database()).ok()?.served_by()
}

/// The routes of every service, for `App::configure`.
pub fn routes(gw: &Gateway) -> impl FnOnce(&mut web::ServiceConfig) + '_ {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(gw.tap.clone()))
            .app_data(web::Data::new(gw.clone()))
            .app_data(web::Data::new(gw.datalink.clone()))
            .app_data(web::Data::new(gw.soda.clone()))
            .service(
                // Every service behind CORS (Access-Control-Allow-Origin: *), for browsers.
                web::scope("")
                    .wrap(vo_dali::cors())
                    .wrap(actix_web::middleware::from_fn(access_log))
                    .route("/", web::get().to(landing::landing))
                    .route("/static/aladin.js", web::get().to(landing::aladin_script))
                    .route("/obscore/status", web::get().to(obscore_status))
                    .configure(vo_tap::configure(gw.jobs.clone()))
                    .configure(vo_datalink::configure)
                    .configure(vo_soda::configure(gw.soda_jobs.clone()))
                    .configure(vo_sia::configure)
                    .configure(hips_serve::configure(hips_serve::HipsState {
                        entries: Arc::new(gw.settings.hips.clone()),
                        base_url: gw.settings.base_url.clone(),
                    }))
                    .default_service(web::to(not_found)),
            );
    }
}

/// The access log: one line per request (method, path and query, status, milliseconds) at
/// DEBUG under the target `vogate::access`, so that it costs nothing unless asked for
/// (`RUST_LOG=info,vogate::access=debug`).
async fn access_log(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    if !tracing::enabled!(target: "vogate::access", tracing::Level::DEBUG) {
        return next.call(req).await;
    }
    let t = std::time::Instant::now();
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let res = next.call(req).await;
    let status = res.as_ref().map_or(0, |r| r.status().as_u16());
    tracing::debug!(
        target: "vogate::access",
        %method,
        %uri,
        status,
        ms = format!("{:.1}", t.elapsed().as_secs_f64() * 1e3),
        "request"
    );
    res
}

/// The endpoint URLs, for the start-up log and the landing page.
pub fn endpoints(base_url: &str) -> Vec<(&'static str, String)> {
    let b = base_url.trim_end_matches('/');
    vec![
        ("landing page", format!("{b}/")),
        (
            "TAP service (the base URL for TOPCAT and pyvo)",
            format!("{b}/tap"),
        ),
        ("TAP sync (GET/POST)", format!("{b}/tap/sync")),
        ("TAP async (UWS 1.1 jobs)", format!("{b}/tap/async")),
        ("TAP tables (VOSI)", format!("{b}/tap/tables")),
        ("TAP capabilities (VOSI)", format!("{b}/tap/capabilities")),
        ("TAP availability (VOSI)", format!("{b}/tap/availability")),
        ("files", format!("{b}/files/{{path}}")),
        ("HiPS list (Aladin, Firefly)", format!("{b}/hips/list")),
        (
            "DataLink links",
            format!("{b}/datalink/links?ID={{obs_publisher_did}}"),
        ),
        (
            "SODA cutouts (sync)",
            format!("{b}/soda/sync?ID={{obs_publisher_did}}&CIRCLE={{ra}}+{{dec}}+{{radius}}"),
        ),
        ("SODA async (UWS 1.1 jobs)", format!("{b}/soda/async")),
        ("SODA capabilities (VOSI)", format!("{b}/soda/capabilities")),
        ("SODA examples (DALI)", format!("{b}/soda/examples")),
        ("previews (PNG)", format!("{b}/preview/{{path}}")),
        (
            "SIA 2.0 image search",
            format!("{b}/sia/query?POS=CIRCLE+{{ra}}+{{dec}}+{{radius}}"),
        ),
        ("SIA capabilities (VOSI)", format!("{b}/sia/capabilities")),
        (
            "live ObsCore ingest status (JSON)",
            format!("{b}/obscore/status"),
        ),
    ]
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    vo_dali::error_response(&VoError::not_found(format!(
        "nothing is served at {}; see / for the endpoints",
        req.uri().path()
    )))
}

/// `/obscore/status`: the live ingest's status as JSON (see
/// [`vo_obscore::live::Status::to_json`]).
async fn obscore_status(gw: web::Data<Gateway>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "no-store"))
        .body(gw.live.status().to_json().to_string())
}

//! The gateway serving N generated ObsCore rows, for the backend benchmarks
//! (`conformance/bench_backends.sh`): rows are written straight into the database (no FITS
//! files), each a 0.2-degree square footprint at a position uniform on the sphere
//! (deterministic), then the same routes as `vogate serve` are served.
//!
//! Beside them, for `conformance/bench_formats.sh`, `GET /bench/raw?LANG=ADQL&QUERY=...`
//! runs a TAP query exactly as /tap/sync starts it and reads every row from the backend into
//! nothing (no table writer): the backend's raw row rate, answered as
//! `{"rows": N, "seconds": S}`. Only this benchmark server has it.
//!
//! Usage: `bench_server DB_URL ROWS BIND WORKDIR` with DB_URL `sqlite:PATH` or `postgres://...`.

use actix_web::{App, HttpServer};
use vo_common::sky::{cross, dot, SkyPoint};
use vo_obscore::ObsCoreRow;
use vogate::settings::{resolve, Flags};

/// The (obs_id, ra, dec) of the CSV file `path` (a header line, then `obs_id,ra,dec`
/// lines): another server's catalog, to load the same rows (BENCH_POSITIONS).
fn positions(path: &str) -> Vec<(String, f64, f64)> {
    let text = std::fs::read_to_string(path).expect("BENCH_POSITIONS is readable");
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            let id = f.next()?.trim().trim_matches('"').to_string();
            let ra = f.next()?.trim().parse().ok()?;
            let dec = f.next()?.trim().parse().ok()?;
            Some((id, ra, dec))
        })
        .collect()
}

/// `n` rows at deterministic pseudo-random positions, uniform on the sphere; or, with
/// BENCH_POSITIONS set, one row at each position of that file, with its obs_id.
fn rows(n: usize) -> Vec<ObsCoreRow> {
    let given = std::env::var("BENCH_POSITIONS").ok().map(|p| positions(&p));
    let n = given.as_ref().map_or(n, Vec::len);
    let mut seed: u64 = 0x2545F4914F6CDD1D;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let half = 0.1f64.to_radians();
    (0..n)
        .map(|i| {
            let (mut ra, mut dec) = (360.0 * next(), (2.0 * next() - 1.0).asin().to_degrees());
            let mut obs_id = format!("gen/{i:07}.fits");
            if let Some((id, r, d)) = given.as_ref().and_then(|g| g.get(i)) {
                (ra, dec, obs_id) = (*r, *d, id.clone());
            }
            let c = SkyPoint::new(ra, dec).to_vec();
            let e = {
                let e = cross([0.0, 0.0, 1.0], c);
                let l = dot(e, e).sqrt();
                if l < 1e-12 {
                    [0.0, 1.0, 0.0]
                } else {
                    e.map(|x| x / l)
                }
            };
            let nn = cross(c, e);
            let corners: Vec<SkyPoint> = [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
                .iter()
                .map(|(a, b)| {
                    SkyPoint::from_vec([0, 1, 2].map(|k| c[k] + a * half * e[k] + b * half * nn[k]))
                })
                .collect();
            let region = corners
                .iter()
                .map(|p| format!("{:.9} {:.9}", p.ra, p.dec))
                .collect::<Vec<_>>()
                .join(" ");
            ObsCoreRow {
                dataproduct_type: "image".into(),
                calib_level: 2,
                obs_collection: "bench".into(),
                obs_publisher_did: format!("ivo://vogate.local/bench?{obs_id}"),
                access_url: format!("http://127.0.0.1/files/{obs_id}"),
                path: obs_id.clone(),
                obs_id,
                access_format: "application/fits".into(),
                access_estsize: 100,
                target_name: None,
                s_ra: ra,
                s_dec: dec,
                s_fov: 0.2828,
                s_region: Some(format!("POLYGON ICRS {region}")),
                s_resolution: Some(1.0),
                s_xel1: 720,
                s_xel2: 720,
                t_min: Some(60000.0 + next()),
                t_max: Some(60000.5 + next()),
                t_exptime: Some(30.0),
                em_min: None,
                em_max: None,
                em_xel: None,
                facility_name: Some("bench".into()),
                instrument_name: None,
                corners,
                extra: Vec::new(),
            }
        })
        .collect()
}

/// `/bench/raw`: the query's rows read and dropped; how many, and how long it took (from
/// the start of the query to its last row).
async fn raw(
    state: actix_web::web::Data<vo_tap::TapState>,
    req: actix_web::HttpRequest,
) -> actix_web::HttpResponse {
    let started = std::time::Instant::now();
    let params = match vo_dali::Params::from_query(req.query_string()) {
        Ok(p) => p,
        Err(e) => return vo_dali::error_response(&e),
    };
    let (mut rows, _) = match vo_tap::sync::start_query(state.get_ref(), &params).await {
        Ok(started) => started,
        Err(e) => return vo_dali::error_response(&e),
    };
    let mut n = 0usize;
    while let Some(batch) = rows.next().await {
        match batch {
            Ok(batch) => n += batch.len(),
            Err(e) => return actix_web::HttpResponse::InternalServerError().body(e),
        }
    }
    actix_web::HttpResponse::Ok().json(serde_json::json!({
        "rows": n,
        "seconds": started.elapsed().as_secs_f64(),
    }))
}

/// `POST /bench/explain`: the parameters of a TAP query (uploads too, as /tap/sync takes
/// them), answered with the database's plan of its SQL as text (SQLite's EXPLAIN QUERY PLAN,
/// PostgreSQL's EXPLAIN), the uploads loaded as for the query itself.
async fn explain(
    state: actix_web::web::Data<vo_tap::TapState>,
    req: actix_web::HttpRequest,
    payload: actix_web::web::Payload,
) -> actix_web::HttpResponse {
    let limits = state.part_limits();
    let params = match vo_dali::Params::from_request(&req, Some(payload), Some(&limits)).await {
        Ok(p) => p,
        Err(e) => return vo_dali::error_response(&e),
    };
    let p = match vo_tap::sync::prepare_query(state.get_ref(), &params).await {
        Ok(p) => p,
        Err(e) => return vo_dali::error_response(&e),
    };
    let text = |name: &str| vo_common::FieldMeta {
        name: name.into(),
        datatype: if name == "detail" || name == "plan" {
            "char"
        } else {
            "long"
        }
        .into(),
        ..Default::default()
    };
    let (sql, fields): (String, Vec<vo_common::FieldMeta>) = if state.backend.name() == "SQLite" {
        (
            format!("EXPLAIN QUERY PLAN {}", p.sql),
            ["id", "parent", "notused", "detail"].map(text).to_vec(),
        )
    } else {
        (format!("EXPLAIN {}", p.sql), vec![text("plan")])
    };
    let mut rows = match state.backend.query(sql, fields.into(), p.uploads).await {
        Ok(r) => r,
        Err(e) => return vo_dali::error_response(&e),
    };
    let mut out = format!("{}\n", p.sql);
    while let Some(batch) = rows.next().await {
        for row in batch.unwrap_or_default() {
            if let Some(vo_common::Value::Text(t)) = row.last() {
                out.push_str(t);
                out.push('\n');
            }
        }
    }
    actix_web::HttpResponse::Ok()
        .content_type("text/plain")
        .body(out)
}

fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let args: Vec<String> = std::env::args().collect();
    let [_, db, n, bind, workdir] = args.as_slice() else {
        eprintln!("usage: bench_server DB_URL ROWS BIND WORKDIR");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("ROWS is a number");
    let workdir = std::path::PathBuf::from(workdir);
    let empty = workdir.join("empty-data");
    std::fs::create_dir_all(&empty)?;
    let flags = Flags {
        workdir: Some(workdir),
        data: Some(empty),
        db: Some(db.clone()),
        bind: Some(bind.clone()),
        ..Default::default()
    };
    // BENCH_CONFIG: a vogate TOML file (its catalogs' [[positions]], say).
    let file = match std::env::var("BENCH_CONFIG") {
        Ok(path) => vo_common::config::FileConfig::from_toml(
            &std::fs::read_to_string(&path).expect("BENCH_CONFIG is readable"),
        )
        .expect("BENCH_CONFIG is a vogate config"),
        Err(_) => Default::default(),
    };
    let settings = resolve(flags, file, None).expect("settings");
    let gw = vogate::prepare(settings).expect("prepare");
    let started = std::time::Instant::now();
    {
        let rows = rows(n);
        // A backend of its own on a runtime of its own: connections made on this runtime
        // die with it.
        let loader = vo_tap::open(&gw.settings.database()).expect("backend");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(async move { loader.replace_obscore_rows(&rows).await })
            .expect("load");
        if let vogate::settings::DbUrl::Sqlite(path) = &gw.settings.db {
            vo_tap::sqlite::open_rw(path)
                .and_then(|c| {
                    c.execute_batch("ANALYZE")
                        .map_err(|e| vo_common::VoError::internal(e.to_string()))
                })
                .expect("analyze");
        }
    }
    eprintln!(
        "loaded {n} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            // Before the gateway's routes, whose default service answers every other path.
            App::new()
                .route("/bench/raw", actix_web::web::get().to(raw))
                .route("/bench/explain", actix_web::web::post().to(explain))
                .configure(vogate::routes(&gw))
        })
        .tcp_nodelay(true)
        .bind(bind.as_str())?;
        eprintln!("listening on {bind}");
        server.run().await
    })
}

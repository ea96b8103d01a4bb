//! The live ingest's benchmark (issue "Live ObsCore"), on one backend per run:
//!
//! 1. initial ingest: N generated, complete FITS files (64x64 float32 TAN images, as
//!    `vo_obscore::demo::write_spread_sky` writes them, in 100 folders) into a fresh
//!    database, end to end: `vogate::prepare` (schema, scan, every row committed), then
//!    the rows counted through the backend. Prints files/s.
//! 2. a restart on the same tree: seconds, and files opened (0 expected); a restart with a
//!    changed mapping (rows remade from stored headers, no file opened); the time until a
//!    fresh server answers while its first scan runs.
//! 3. with `--latency K`: a watching gateway on an empty tree; K files written one after
//!    another (20 per second), each timed from its close to its row being found by
//!    `obscore_lookup` (polled every 2 ms). Prints p50/p99/max.
//!
//! Usage: `cargo run --release -p vogate --example bench_live -- N DB [--latency K]` with DB
//! `sqlite` (a fresh file under /var/tmp/vogate-live-bench) or a PostgreSQL server URL
//! without a database name (`postgres://postgres@127.0.0.1:5432`; the database
//! `vogate_bench_live` is dropped and made anew). The trees are kept under
//! /var/tmp/vogate-live-bench/tree-N and reused. astropy's side is
//! `conformance/bench_live_astropy.py` on the same tree.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vogate::settings::{resolve, Flags};

const ROOT: &str = "/var/tmp/vogate-live-bench";

fn tree(n: usize) -> PathBuf {
    let dir = Path::new(ROOT).join(format!("tree-{n}"));
    let done = dir.join(".complete");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        let t = Instant::now();
        vo_obscore::demo::write_spread_sky(&dir, n, 100).expect("write the tree");
        std::fs::write(&done, b"").expect("mark");
        eprintln!("wrote {n} FITS files in {:.1} s", t.elapsed().as_secs_f64());
    }
    dir
}

/// A fresh database URL for `db` (`sqlite` or a PostgreSQL server URL), and the workdir.
fn fresh(db: &str, name: &str) -> (String, PathBuf) {
    let work = Path::new(ROOT).join(format!("work-{name}"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("workdir");
    if db == "sqlite" {
        return (format!("sqlite:{}", work.join("vogate.db").display()), work);
    }
    let server = db.trim_end_matches('/');
    let admin = format!("{server}/postgres");
    let dbname = format!("vogate_bench_{name}");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .expect("connect to PostgreSQL");
            tokio::spawn(conn);
            // Two statements: CREATE DATABASE cannot run in a (multi-statement) transaction.
            for sql in [
                format!("DROP DATABASE IF EXISTS {dbname} WITH (FORCE)"),
                format!("CREATE DATABASE {dbname}"),
            ] {
                client.batch_execute(&sql).await.expect("make the database");
            }
        });
    (format!("{server}/{dbname}"), work)
}

fn settings(db: &str, work: &Path, data: &Path, watch: bool) -> vogate::settings::Settings {
    let flags = Flags {
        workdir: Some(work.to_path_buf()),
        data: Some(data.to_path_buf()),
        db: Some(db.to_string()),
        watch,
        ..Default::default()
    };
    resolve(flags, Default::default(), None).expect("settings")
}

fn count(gw: &vogate::Gateway) -> i64 {
    let backend = vo_tap::open(&gw.settings.database()).expect("backend");
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(backend.obscore_count())
                .expect("count")
        })
        .join()
        .expect("thread")
    })
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(n), Some(db)) = (
        args.first().and_then(|a| a.parse::<usize>().ok()),
        args.get(1),
    ) else {
        eprintln!("usage: bench_live N sqlite|postgres://SERVER [--latency K]");
        std::process::exit(2);
    };
    let latency: Option<usize> = args
        .iter()
        .position(|a| a == "--latency")
        .and_then(|i| args.get(i + 1))
        .and_then(|k| k.parse().ok());
    let backend = if db == "sqlite" {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let data = tree(n);
    let (url, work) = fresh(db, "live");
    let t = Instant::now();
    let gw = vogate::prepare(settings(&url, &work, &data, false)).expect("prepare");
    let rows = count(&gw);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(rows, n as i64, "every file has its row");
    let opened = gw.live.status().files_opened;
    println!(
        "{backend}: initial ingest of {n} files: {secs:.2} s = {:.0} files/s ({opened} files opened)",
        n as f64 / secs
    );
    drop(gw);
    let t = Instant::now();
    let gw = vogate::prepare(settings(&url, &work, &data, false)).expect("restart");
    let secs = t.elapsed().as_secs_f64();
    let st = gw.live.status();
    println!(
        "{backend}: restart on the same {n} files: {secs:.2} s, {} files opened, {} rows",
        st.files_opened, st.rows
    );
    drop(gw);

    // A changed mapping: every row made again from the stored headers.
    let mut changed = settings(&url, &work, &data, false);
    changed.mapping = std::sync::Arc::new(
        vo_obscore::mapping::Mapping::parse(
            "[[rules]]\nobs_collection = \"bench2\"\ncalib_level = 3\n",
            Path::new("bench-mapping.toml"),
        )
        .expect("mapping"),
    );
    let t = Instant::now();
    let gw = vogate::prepare(changed).expect("restart with a changed mapping");
    let secs = t.elapsed().as_secs_f64();
    let st = gw.live.status();
    println!(
        "{backend}: restart with a changed mapping: {secs:.2} s, {} rows remade from stored headers, {} files opened",
        st.files_rederived, st.files_opened
    );
    drop(gw);

    // Serving at once: a fresh database, the server ready before its first scan ends.
    let (url2, work2) = fresh(db, "serve");
    let t = Instant::now();
    let gw = vogate::prepare_background(settings(&url2, &work2, &data, false)).expect("prepare");
    let ready = t.elapsed().as_secs_f64();
    let st = gw.live.status();
    let rows_then = count(&gw);
    gw.live.wait_scanned();
    println!(
        "{backend}: serving {:.0} ms after start (scan running: {}, {} rows then); the scan of {n} files ended {:.2} s after start",
        ready * 1e3,
        st.scan.running,
        rows_then,
        t.elapsed().as_secs_f64()
    );
    drop(gw);

    let Some(k) = latency else { return };
    let lat_tree = Path::new(ROOT).join("latency-tree");
    let _ = std::fs::remove_dir_all(&lat_tree);
    std::fs::create_dir_all(&lat_tree).expect("mkdir");
    let (url, work) = fresh(db, "latency");
    let gw = vogate::prepare(settings(&url, &work, &lat_tree, true)).expect("prepare");
    let (tx, rx) = std::sync::mpsc::channel::<(String, Instant)>();
    let lookup = vo_tap::open(&gw.settings.database()).expect("backend");
    let poller = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut pending: Vec<(String, Instant)> = Vec::new();
        let mut lat = Vec::new();
        let mut open = true;
        while open || !pending.is_empty() {
            loop {
                match rx.try_recv() {
                    Ok(p) => pending.push(p),
                    Err(std::sync::mpsc::TryRecvError::Empty) => break,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
            }
            let mut still = Vec::new();
            for (id, closed) in pending.drain(..) {
                let found = rt
                    .block_on(lookup.obscore_lookup("obs_id", &id, &["obs_id"]))
                    .expect("lookup")
                    .is_some();
                if found {
                    lat.push(closed.elapsed().as_secs_f64());
                } else {
                    assert!(
                        closed.elapsed() < Duration::from_secs(60),
                        "{id} never came"
                    );
                    still.push((id, closed));
                }
            }
            pending = still;
            std::thread::sleep(Duration::from_millis(2));
        }
        lat
    });
    for i in 0..k {
        let id = format!("f{i:05}.fits");
        let spec = vo_obscore::demo::ImageSpec::tan((i as f64 * 7.3) % 360.0, 10.0, 64, 64, 0.001);
        vo_obscore::demo::write_image(&lat_tree.join(&id), &spec).expect("write");
        tx.send((id, Instant::now())).expect("send");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(tx);
    let mut lat = poller.join().expect("poller");
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
    println!(
        "{backend}: completion -> visible over {} files: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        q(0.5) * 1e3,
        q(0.99) * 1e3,
        q(1.0) * 1e3
    );
}

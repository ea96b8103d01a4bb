//! Live ObsCore on both backends: with `--watch`, ivoa.ObsCore follows the data tree as files
//! arrive, change, are renamed and leave (TAP, DataLink and SODA see it); a file written
//! slowly is never seen with a wrong row; a corrupt file is listed in /obscore/status while
//! the rest go on; a burst of 10,000 files is ingested whole whatever the event queue did;
//! a restart opens no file that has not changed. Tests poll with a generous timeout
//! (latency is measured in the benchmark, not here).

use actix_web::{test, App};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use vo_obscore::demo::{write_image, ImageSpec};
use vogate::settings::{resolve, Flags};

#[derive(Debug, Clone)]
enum Db {
    Sqlite,
    Postgres(String),
}

fn main() -> std::process::ExitCode {
    let pg = vogate_tests::postgres();
    let shared = vo_testkit::shared("data/fits");
    let mut tests = Vec::new();
    macro_rules! both {
        ($name:ident $(, $need:expr)*) => {
            tests.push(
                vo_testkit::Test::actix(concat!(stringify!($name), "::sqlite"), || {
                    $name(Db::Sqlite)
                })
                $(.needs($need))*,
            );
            tests.push(
                vo_testkit::Test::actix(concat!(stringify!($name), "::postgres"), || async {
                    let url = vogate_tests::fresh_pg_database(concat!("live_", stringify!($name)));
                    $name(Db::Postgres(url)).await
                })
                .needs(&pg)
                $(.needs($need))*,
            );
        };
    }
    both!(
        shared_files_arrive_leave_are_renamed_and_overwritten,
        &shared
    );
    both!(slow_corrupt_and_burst_files_and_a_restart);
    both!(a_mapping_shapes_rows_and_a_changed_mapping_remakes_them);
    both!(extension_columns_are_added_published_filled_and_never_dropped);
    both!(hips_inputs_from_an_obscore_query);
    vo_testkit::run(tests)
}

const LIMIT: Duration = Duration::from_secs(120);

/// Poll `$cond` (an expression giving `Option<T>`) every 50 ms until it is `Some`, for at
/// most [`LIMIT`]; panics naming `$what` otherwise.
macro_rules! eventually {
    ($what:expr, $cond:expr) => {{
        let t0 = Instant::now();
        loop {
            if let Some(v) = $cond {
                break v;
            }
            assert!(t0.elapsed() < LIMIT, "not within {LIMIT:?}: {}", $what);
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }};
}

fn settings(workdir: &Path, tree: &Path, db: &Db, watch: bool) -> vogate::settings::Settings {
    let flags = Flags {
        workdir: Some(workdir.to_path_buf()),
        data: Some(tree.to_path_buf()),
        db: match db {
            Db::Sqlite => None,
            Db::Postgres(url) => Some(url.clone()),
        },
        watch,
        ..Default::default()
    };
    resolve(flags, Default::default(), None).expect("settings")
}

/// GET `uri`: (status, body as text, lossy for binary answers).
async fn get(gw: &vogate::Gateway, uri: &str) -> (u16, String) {
    let app = test::init_service(App::new().configure(vogate::routes(gw))).await;
    let resp = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
    let status = resp.status().as_u16();
    let body = test::read_body(resp).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// One ObsCore row as TAP gives it.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    s_ra: f64,
    s_dec: f64,
    s_xel1: i64,
    access_url: String,
}

/// Every ObsCore row by obs_id, through TAP.
async fn rows(gw: &vogate::Gateway) -> BTreeMap<String, Row> {
    let q = "SELECT obs_id, s_ra, s_dec, s_xel1, access_url FROM ivoa.ObsCore";
    let (status, body) = get(
        gw,
        &format!(
            "/tap/sync?LANG=ADQL&RESPONSEFORMAT=json&MAXREC=1000000&QUERY={}",
            vo_obscore::ingest::percent_encode(q)
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    v["data"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r[0].as_str().expect("obs_id").to_string(),
                Row {
                    s_ra: r[1].as_f64().expect("s_ra"),
                    s_dec: r[2].as_f64().expect("s_dec"),
                    s_xel1: r[3].as_i64().expect("s_xel1"),
                    access_url: r[4].as_str().expect("access_url").to_string(),
                },
            )
        })
        .collect()
}

/// The number of ObsCore rows, through TAP.
async fn count(gw: &vogate::Gateway) -> i64 {
    let (status, body) = get(
        gw,
        "/tap/sync?LANG=ADQL&RESPONSEFORMAT=csv&QUERY=SELECT+COUNT(*)+AS+n+FROM+ivoa.ObsCore",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body.lines().nth(1).expect("a count").parse().expect("n")
}

/// `bytes` written as a new file (not a copy: the shared files are read-only, and a copy
/// would keep that).
fn put(path: &Path, bytes: &[u8]) {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    std::fs::write(path, bytes).expect("write");
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The shared FITS files copied in one by one: each appears with the row a plain scan of
/// the shared folder gives (or is listed as failed, with the scan's reason); then one is
/// deleted, one renamed and one overwritten with another pointing.
async fn shared_files_arrive_leave_are_renamed_and_overwritten(db: Db) {
    let fits = vo_testkit::shared_dir("data/fits");
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).expect("mkdir");
    let s = settings(&dir.path().join("work"), &tree, &db, true);
    let cfg = vo_obscore::IngestConfig {
        authority: s.authority.clone(),
        obs_collection: s.obs_collection.clone(),
        calib_level: s.calib_level,
        base_url: s.base_url.clone(),
        access_url: s.access_url,
        mapping: Default::default(),
    };
    let expected = vo_obscore::scan_tree(&fits, &cfg);
    assert!(expected.rows.len() >= 15, "{}", expected.rows.len());
    let gw = vogate::prepare(s).expect("prepare");
    assert_eq!(count(&gw).await, 0);
    let mut names: Vec<_> = std::fs::read_dir(&fits)
        .expect("read_dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| vo_obscore::ingest::is_fits_name(n))
        .collect();
    names.sort();
    for name in &names {
        put(
            &tree.join(name),
            &std::fs::read(fits.join(name)).expect("read"),
        );
        match expected.rows.iter().find(|r| &r.obs_id == name) {
            Some(want) => {
                let got = eventually!(format!("{name}'s row"), {
                    rows(&gw).await.get(name.as_str()).cloned()
                });
                assert!(
                    near(got.s_ra, want.s_ra) && near(got.s_dec, want.s_dec),
                    "{name}: {got:?} vs {want:?}"
                );
                assert_eq!(got.s_xel1, want.s_xel1, "{name}");
            }
            None => {
                let reason = eventually!(format!("{name} listed as failed"), {
                    gw.live.status().failed.get(name.as_str()).cloned()
                });
                let scan = expected
                    .skipped
                    .iter()
                    .find(|s| s.path.ends_with(name))
                    .expect("skipped by the scan too");
                assert_eq!(reason, scan.reason, "{name}");
            }
        }
    }
    assert_eq!(count(&gw).await, expected.rows.len() as i64);
    let (status, body) = get(&gw, "/obscore/status").await;
    assert_eq!(status, 200);
    let st: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(st["watching"], true);
    assert_eq!(st["rows"], expected.rows.len());
    assert_eq!(st["files_seen"], names.len());
    assert_eq!(
        st["failed"].as_array().map(Vec::len),
        Some(names.len() - expected.rows.len())
    );

    // Deleted: the row goes.
    std::fs::remove_file(tree.join("gc_2mass_h.fits")).expect("remove");
    eventually!("gc_2mass_h.fits's row gone", {
        (!rows(&gw).await.contains_key("gc_2mass_h.fits")).then_some(())
    });

    // Renamed into a sub-folder: a new obs_id and access_url; the old DID is gone from
    // DataLink (a NotFoundFault row) and SODA (a UsageError).
    std::fs::create_dir_all(tree.join("night2")).expect("mkdir");
    std::fs::rename(tree.join("HorseHead.fits"), tree.join("night2/horse.fits")).expect("mv");
    let moved = eventually!("the renamed file's row", {
        let r = rows(&gw).await;
        (!r.contains_key("HorseHead.fits"))
            .then(|| r.get("night2/horse.fits").cloned())
            .flatten()
    });
    assert!(
        moved.access_url.ends_with("%3Fnight2%2Fhorse.fits"),
        "{moved:?}"
    );
    let old = "ivo%3A%2F%2Fvogate.local%2Fvogate%3FHorseHead.fits";
    let (_, doc) = get(&gw, &format!("/datalink/links?ID={old}")).await;
    assert!(
        doc.contains(
            "NotFoundFault: no dataset has the ID ivo://vogate.local/vogate?HorseHead.fits"
        ),
        "{doc}"
    );
    let (status, doc) = get(&gw, &format!("/soda/sync?ID={old}&CIRCLE=85.25+-2.46+0.01")).await;
    assert_eq!(status, 404, "{doc}");
    assert!(doc.contains("UsageError: no dataset has the ID"), "{doc}");
    let new = "ivo%3A%2F%2Fvogate.local%2Fvogate%3Fnight2%2Fhorse.fits";
    let (status, _) = get(&gw, &format!("/soda/sync?ID={new}&CIRCLE=85.25+-2.46+0.01")).await;
    assert_eq!(status, 200);

    // Overwritten with another pointing: s_ra, s_dec (and the footprint) follow.
    let other = dir.path().join("other.fits");
    write_image(&other, &ImageSpec::tan(123.25, -45.5, 30, 20, 0.01)).expect("write");
    put(
        &tree.join("gc_msx_e.fits"),
        &std::fs::read(&other).expect("read"),
    );
    let over = eventually!("the overwritten file's new row", {
        rows(&gw)
            .await
            .get("gc_msx_e.fits")
            .filter(|r| r.s_xel1 == 30)
            .cloned()
    });
    assert!(
        (over.s_ra - 123.25).abs() < 1e-6 && (over.s_dec + 45.5).abs() < 1e-6,
        "{over:?}"
    );
    // The new footprint holds the new centre (and the all-sky map, whose s_region is
    // NULL, covers every point).
    let (_, region) = get(&gw, "/tap/sync?LANG=ADQL&RESPONSEFORMAT=csv&QUERY=SELECT+obs_id+FROM+ivoa.ObsCore+WHERE+CONTAINS(POINT(%27ICRS%27,123.25,-45.5),s_region)=1+ORDER+BY+obs_id").await;
    assert_eq!(
        region.lines().skip(1).collect::<Vec<_>>(),
        ["allsky_rosat_ait.fits", "gc_msx_e.fits"]
    );
}

/// A file written in ten pieces over 5 seconds is never seen with a wrong row; a corrupt
/// file is listed while the rest go on; 10,000 files written at once are all ingested;
/// after a restart no unchanged file is opened.
async fn slow_corrupt_and_burst_files_and_a_restart(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).expect("mkdir");
    let work = dir.path().join("work");
    let gw = vogate::prepare(settings(&work, &tree, &db, true)).expect("prepare");

    // The slow file: 40x30 pixels at (200.5, 10.25), in ten pieces 0.5 s apart, each
    // appended and closed (so each piece ends with a close-after-write event).
    let model = dir.path().join("slow-model.fits");
    write_image(&model, &ImageSpec::tan(200.5, 10.25, 40, 30, 0.002)).expect("write");
    let bytes = std::fs::read(&model).expect("read");
    let slow = tree.join("slow.fits");
    let writer = std::thread::spawn(move || {
        let piece = bytes.len().div_ceil(10);
        for chunk in bytes.chunks(piece) {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&slow)
                .expect("open");
            f.write_all(chunk).expect("write");
            drop(f);
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    // A corrupt file meanwhile, and a good one after it.
    put(&tree.join("bad.fits"), &[b'X'; 2880]);
    write_image(
        &tree.join("good.fits"),
        &ImageSpec::tan(10.0, 20.0, 10, 10, 0.01),
    )
    .expect("write");
    let mut looks = 0;
    while !writer.is_finished() {
        if let Some(r) = rows(&gw).await.get("slow.fits") {
            assert!(
                r.s_xel1 == 40 && (r.s_ra - 200.5).abs() < 1e-6 && (r.s_dec - 10.25).abs() < 1e-6,
                "a wrong row while the file is written: {r:?}"
            );
        }
        looks += 1;
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    writer.join().expect("writer");
    assert!(looks > 20, "{looks}");
    let r = eventually!("slow.fits's row", rows(&gw).await.get("slow.fits").cloned());
    assert_eq!(r.s_xel1, 40);
    eventually!("good.fits's row", {
        rows(&gw).await.contains_key("good.fits").then_some(())
    });
    let reason = eventually!(
        "bad.fits listed",
        gw.live.status().failed.get("bad.fits").cloned()
    );
    assert!(reason.contains("not a valid FITS file"), "{reason}");
    let (_, body) = get(&gw, "/obscore/status").await;
    let st: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        st["failed"],
        serde_json::json!([{"path": "bad.fits", "reason": reason}])
    );

    // 10,000 files at once, in 10 new folders (the watcher must pick up folders made
    // after it started, and the event queue may overflow: a scan catches up).
    let burst = tree.clone();
    let t0 = Instant::now();
    std::thread::spawn(move || {
        for i in 0..10_000u32 {
            let spec = ImageSpec::tan(
                f64::from(i % 360) + 0.5,
                f64::from(i / 360) * 3.0 - 40.0,
                8,
                8,
                0.01,
            );
            let path = burst.join(format!("burst{}/f{i:05}.fits", i % 10));
            if i < 10 {
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            }
            write_image(&path, &spec).expect("write");
        }
    })
    .join()
    .expect("burst writer");
    eprintln!("wrote 10,000 files in {:.1} s", t0.elapsed().as_secs_f64());
    eventually!("10,002 rows", (count(&gw).await == 10_002).then_some(()));
    eprintln!(
        "10,002 rows {:.1} s after the burst began",
        t0.elapsed().as_secs_f64()
    );
    // The status is published just after each batch is written, so a query can see the
    // last batch's rows a moment before the status counts them.
    let st = eventually!("the status counts 10,002 rows", {
        let st = gw.live.status();
        (st.rows == 10_002).then_some(st)
    });
    assert_eq!((st.rows, st.files_seen, st.waiting), (10_002, 10_003, 0));
    drop(gw);

    // A restart: the scan opens nothing (every file unchanged), the rows are all there.
    let gw = vogate::prepare(settings(&work, &tree, &db, false)).expect("restart");
    let st = gw.live.status();
    assert_eq!(st.files_opened, 0, "{st:?}");
    assert_eq!(
        (st.rows, st.files_seen, st.scans),
        (10_002, 10_003, 1),
        "{st:?}"
    );
    assert!(st.failed.contains_key("bad.fits"));
    assert_eq!(count(&gw).await, 10_002);
}

/// Settings for `tree` whose config names the mapping file `mapping`, written with `text`
/// first; the error of a mapping with a mistake.
fn with_mapping(
    work: &Path,
    tree: &Path,
    db: &Db,
    mapping: &Path,
    text: &str,
) -> Result<vogate::settings::Settings, String> {
    std::fs::write(mapping, text).expect("write the mapping");
    let file = vo_common::config::FileConfig {
        mapping: Some(mapping.to_path_buf()),
        ..Default::default()
    };
    let flags = Flags {
        workdir: Some(work.to_path_buf()),
        data: Some(tree.to_path_buf()),
        db: match db {
            Db::Sqlite => None,
            Db::Postgres(url) => Some(url.clone()),
        },
        ..Default::default()
    };
    resolve(flags, file, None)
}

/// A mapping's rule sets obs_collection, calib_level and the DID's collection, and its
/// filter table em_min/em_max; a changed mapping makes every row again at the next start
/// (the old DID is gone from DataLink); a mapping with a mistake stops the start, naming
/// the file, line and key.
async fn a_mapping_shapes_rows_and_a_changed_mapping_remakes_them(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("tree");
    for (rel, filter) in [("raw/a.fits", "g"), ("b.fits", "r")] {
        let mut spec = ImageSpec::tan(30.0, -10.0, 16, 16, 0.01);
        spec.keywords = vec![("FILTER".into(), filter.into())];
        let path = tree.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        write_image(&path, &spec).expect("write");
    }
    let work = dir.path().join("work");
    let mapping = dir.path().join("mapping.toml");
    let start = |text: &str| with_mapping(&work, &tree, &db, &mapping, text);
    const Q: &str = "/tap/sync?LANG=ADQL&RESPONSEFORMAT=csv&QUERY=SELECT+obs_id,obs_collection,calib_level,em_min,obs_publisher_did+FROM+ivoa.ObsCore+ORDER+BY+obs_id";
    let v1 = "obs_id = \"{stem}\"\n[spectral_ranges]\n\"g\" = [402.0e-9, 552.0e-9]\n\
              [[rules]]\npath = \"raw/**\"\nobs_collection = \"RAW\"\ncalib_level = 1\n";
    let gw = vogate::prepare(start(v1).expect("settings")).expect("prepare");
    let (_, csv) = get(&gw, Q).await;
    assert_eq!(
        csv.lines().skip(1).collect::<Vec<_>>(),
        [
            "a,RAW,1,4.02e-7,ivo://vogate.local/RAW?a",
            "b,vogate,2,,ivo://vogate.local/vogate?b"
        ],
        "{csv}"
    );
    // The services find the file by its path, whatever the obs_id.
    let (_, doc) = get(&gw, "/datalink/links?ID=ivo%3A%2F%2Fvogate.local%2FRAW%3Fa").await;
    assert!(
        doc.contains("<TD>http://127.0.0.1:8080/files/raw%2Fa.fits</TD><TD/><TD/><TD>#this</TD>"),
        "{doc}"
    );
    let (status, _) = get(&gw, "/files/raw%2Fa.fits").await;
    assert_eq!(status, 200);
    let soda = "/soda/sync?ID=ivo%3A%2F%2Fvogate.local%2FRAW%3Fa&CIRCLE=30+-10+0.02";
    let (status, _) = get(&gw, soda).await;
    assert_eq!(status, 200);
    drop(gw);

    // Another collection for raw files: both rows are made again from the stored headers,
    // no file is opened, and the rows follow.
    let v2 = v1.replace("\"RAW\"", "\"RAW2\"");
    let gw = vogate::prepare(start(&v2).expect("settings")).expect("prepare");
    let st = gw.live.status();
    assert_eq!((st.files_opened, st.files_rederived), (0, 2), "{st:?}");
    let (_, csv) = get(&gw, Q).await;
    assert_eq!(
        csv.lines().nth(1),
        Some("a,RAW2,1,4.02e-7,ivo://vogate.local/RAW2?a"),
        "{csv}"
    );
    let (_, doc) = get(&gw, "/datalink/links?ID=ivo%3A%2F%2Fvogate.local%2FRAW%3Fa").await;
    assert!(doc.contains("NotFoundFault"), "{doc}");
    let (status, _) = get(&gw, soda).await;
    assert_eq!(status, 404);
    drop(gw);

    // A mapping that reads a keyword the stored headers lack: the files are read again.
    let v3 = format!("{v2}target_name = \"{{OBJECT}} seen\"\n");
    let gw = vogate::prepare(start(&v3).expect("settings")).expect("prepare");
    let st = gw.live.status();
    assert_eq!((st.files_opened, st.files_rederived), (2, 0), "{st:?}");
    drop(gw);

    // A mistake: the start is refused with the file, line and key.
    let e = start("[[rules]]\ncalib_level = 9\n").expect_err("a bad mapping");
    assert_eq!(
        e,
        format!(
            "{}:2: rules[0].calib_level: 9 is not in 0..=4",
            mapping.display()
        )
    );
}

/// The mapping's extension columns (declared in a Felis file, filled from header keywords)
/// are added to ivoa.ObsCore, published in TAP_SCHEMA (ADQL, /tap/tables) and filled; a
/// column whose template leaves the mapping is no longer filled; a mapping without them
/// leaves the columns in the table, unpublished, and the rows go on.
async fn extension_columns_are_added_published_filled_and_never_dropped(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).expect("mkdir");
    for (name, visit, filter) in [("a.fits", "1234", "g"), ("b.fits", "7", "r")] {
        let mut spec = ImageSpec::tan(50.0, 5.0, 12, 12, 0.01);
        spec.keywords = vec![
            ("EXPNUM".into(), visit.into()),
            ("FILTER".into(), filter.into()),
        ];
        write_image(&tree.join(name), &spec).expect("write");
    }
    std::fs::write(
        dir.path().join("extra.yaml"),
        "name: ivoa\n\"@id\": \"#ivoa\"\ntables:\n- name: ObsCore\n  \"@id\": \"#ObsCore\"\n  columns:\n\
         \x20 - name: lsst_visit\n    \"@id\": \"#ObsCore.lsst_visit\"\n    datatype: long\n    description: Identifier of the visit\n    ivoa:ucd: meta.id;obs\n\
         \x20 - name: lsst_band\n    \"@id\": \"#ObsCore.lsst_band\"\n    datatype: string\n    length: 32\n    description: Filter band\n",
    )
    .expect("felis");
    let (work, mapping) = (dir.path().join("work"), dir.path().join("mapping.toml"));
    let start = |text: &str| {
        vogate::prepare(with_mapping(&work, &tree, &db, &mapping, text).expect("settings"))
            .expect("prepare")
    };
    let q = |adql: &str| {
        format!(
            "/tap/sync?LANG=ADQL&RESPONSEFORMAT=csv&QUERY={}",
            vo_obscore::ingest::percent_encode(adql)
        )
    };
    let both_templates = "felis = \"extra.yaml\"\n[extra_columns]\nlsst_visit = \"{EXPNUM}\"\nlsst_band = \"{FILTER}\"\n";
    let gw = start(both_templates);
    let (status, csv) = get(
        &gw,
        &q("SELECT obs_id, lsst_visit, lsst_band FROM ivoa.ObsCore ORDER BY obs_id"),
    )
    .await;
    assert_eq!(status, 200, "{csv}");
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        ["obs_id,lsst_visit,lsst_band", "a.fits,1234,g", "b.fits,7,r"]
    );
    let (_, csv) = get(
        &gw,
        &q("SELECT obs_id FROM ivoa.ObsCore WHERE lsst_visit > 100"),
    )
    .await;
    assert_eq!(csv.lines().nth(1), Some("a.fits"), "{csv}");
    let (_, tables) = get(&gw, "/tap/tables").await;
    assert!(
        tables
            .contains("<name>lsst_visit</name><description>Identifier of the visit</description>"),
        "{tables}"
    );
    drop(gw);

    // lsst_band's template leaves the mapping: the rows are remade, lsst_band is NULL.
    let gw = start("felis = \"extra.yaml\"\n[extra_columns]\nlsst_visit = \"{EXPNUM}\"\n");
    let (_, csv) = get(
        &gw,
        &q("SELECT obs_id, lsst_visit, lsst_band FROM ivoa.ObsCore ORDER BY obs_id"),
    )
    .await;
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        ["obs_id,lsst_visit,lsst_band", "a.fits,1234,", "b.fits,7,"]
    );
    drop(gw);

    // No extension columns at all: they stay in the table, unpublished; the rows go on.
    let gw = start("");
    let (status, err) = get(&gw, &q("SELECT lsst_band FROM ivoa.ObsCore")).await;
    assert_eq!(status, 400, "{err}");
    assert!(err.contains("lsst_band"), "{err}");
    let (_, csv) = get(&gw, &q("SELECT COUNT(*) AS n FROM ivoa.ObsCore")).await;
    assert_eq!(csv.lines().nth(1), Some("2"));
    drop(gw);

    // And back: the columns were kept, and are filled again.
    let gw = start(both_templates);
    let (_, csv) = get(
        &gw,
        &q("SELECT obs_id, lsst_band FROM ivoa.ObsCore ORDER BY obs_id"),
    )
    .await;
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        ["obs_id,lsst_band", "a.fits,g", "b.fits,r"]
    );
}

/// `vogate hips build --from-obscore`: the files of the rows an ADQL query selects.
async fn hips_inputs_from_an_obscore_query(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (tree, work) = (dir.path().join("tree"), dir.path().join("work"));
    for (name, ra) in [("a.fits", 10.0), ("sub/b.fits", 150.0), ("c.fits", 200.0)] {
        let p = tree.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        write_image(&p, &ImageSpec::tan(ra, 5.0, 16, 16, 0.01)).expect("write");
    }
    let settings = settings(&work, &tree, &db, false);
    let gw = vogate::prepare(settings.clone()).expect("prepare");
    assert_eq!(count(&gw).await, 3);
    let files = vogate::obscore_inputs(
        &settings,
        "SELECT obs_publisher_did, s_ra FROM ivoa.ObsCore WHERE s_ra > 100 ORDER BY s_ra",
    )
    .expect("inputs");
    assert_eq!(files, vec![tree.join("c.fits"), tree.join("sub/b.fits")]);
    let e =
        vogate::obscore_inputs(&settings, "SELECT obs_id FROM ivoa.ObsCore").expect_err("no DID");
    assert!(e.message.contains("obs_publisher_did"), "{}", e.message);
    let e = vogate::obscore_inputs(&settings, "SELECT obs_publisher_did FROM ivoa.nothere")
        .expect_err("no table");
    assert!(e.message.contains("nothere"), "{}", e.message);
    drop(gw);
}

//! SQLite and PostgreSQL + pgSphere give the same answers: 40+ ADQL queries (cones and
//! footprint queries across RA = 0 and around both poles included) over a generated sky
//! (plus the shared FITS files when ../shared is there), compared as sets (in order where the
//! query orders), floats to 1e-9 relative; every query but two finds rows on the generated
//! sky alone. And injection attempts are refused on both and change nothing.

mod common;

use std::path::{Path, PathBuf};
use vo_obscore::demo::{write_image, ImageSpec};
use vogate::settings::{resolve, Flags};

fn main() -> std::process::ExitCode {
    use vo_testkit::Test;
    let pg = vogate_tests::postgres();
    vo_testkit::run(vec![
        Test::actix(
            "sqlite_and_postgres_give_the_same_rows",
            sqlite_and_postgres_give_the_same_rows,
        )
        .needs(&pg),
        Test::actix(
            "injection_attempts_are_refused_and_change_nothing",
            injection_attempts_are_refused_and_change_nothing,
        )
        .needs(&pg),
        Test::actix(
            "a_query_is_cancelled_on_the_server_when_its_client_goes_away",
            a_query_is_cancelled_on_the_server_when_its_client_goes_away,
        )
        .needs(&pg),
        Test::actix(
            "a_stopped_stream_is_cancelled_on_the_server",
            a_stopped_stream_is_cancelled_on_the_server,
        )
        .needs(&pg),
        Test::actix(
            "a_second_server_on_a_served_database_is_refused_and_changes_nothing",
            a_second_server_on_a_served_database_is_refused_and_changes_nothing,
        )
        .needs(&pg),
    ])
}

/// ../shared/data/fits (or $VOGATE_SHARED/data/fits) when it is there: its files add to
/// the comparison, which does not need them.
fn shared_fits() -> Option<PathBuf> {
    let dir = vo_testkit::shared_root().join("data/fits");
    dir.is_dir().then_some(dir)
}

/// The data tree: a generated sky of 3-degree TAN fields on the RA = 0 seam, at both poles
/// and elsewhere (two named for the Galactic centre, one at the Horsehead nebula), a wide
/// field, a Galactic CAR image, a cube with a wavelength axis and an all-sky AIT map; plus a
/// link to the shared FITS files when ../shared is there.
fn write_data(dir: &Path) {
    if let Some(shared) = shared_fits() {
        std::os::unix::fs::symlink(shared, dir.join("shared")).expect("symlink");
    }
    let sky = dir.join("sky");
    std::fs::create_dir_all(&sky).expect("mkdir");
    let fields = [
        (359.5, 0.0, 0.0),
        (0.8, 1.0, 30.0),
        (45.0, 89.2, 0.0),
        (200.0, -89.0, 10.0),
        (10.0, 60.0, 45.0),
        (180.0, -30.0, 0.0),
        (90.0, 10.0, 0.0),
        (300.0, -60.0, 20.0),
        (266.0, -29.0, 0.0),
    ];
    for (i, (ra, dec, rot)) in fields.iter().enumerate() {
        let mut spec = ImageSpec::tan(*ra, *dec, 60, 60, 0.05);
        spec.rotation = *rot;
        write_image(&sky.join(format!("field{i}.fits")), &spec).expect("write");
    }
    // A wide field (8 degrees): its footprint reaches far beyond its centre's HEALPix cell.
    write_image(
        &sky.join("wide.fits"),
        &ImageSpec::tan(120.0, 30.0, 160, 160, 0.05),
    )
    .expect("write");
    let mut allsky = ImageSpec::tan(0.0, 0.0, 361, 181, 1.0);
    allsky.ctype1 = "RA---AIT".into();
    allsky.ctype2 = "DEC--AIT".into();
    write_image(&sky.join("allsky.fits"), &allsky).expect("write");
    // Around the Galactic centre: a TAN field and a Galactic CAR map (l, b = 0, 0 is at
    // RA 266.40, Dec -28.94).
    let mut gc = ImageSpec::tan(266.2, -29.1, 40, 40, 0.02);
    gc.rotation = 12.0;
    write_image(&sky.join("gc_2mass_k.fits"), &gc).expect("write");
    let mut msx = ImageSpec::tan(0.0, 0.0, 50, 30, 0.03);
    msx.ctype1 = "GLON-CAR".into();
    msx.ctype2 = "GLAT-CAR".into();
    msx.radesys = None;
    write_image(&sky.join("gc_msx_e.fits"), &msx).expect("write");
    // The Horsehead nebula, small and fine.
    write_image(
        &sky.join("HorseHead.fits"),
        &ImageSpec::tan(85.2496, -2.4583, 50, 50, 0.002),
    )
    .expect("write");
    // A cube: 5 planes from 500 nm in 10 nm steps.
    let mut cube = ImageSpec::tan(150.1, 2.2, 20, 20, 0.01);
    cube.spectral = Some(vo_obscore::demo::SpectralAxis {
        ctype: "WAVE".into(),
        cunit: "nm".into(),
        crval: 500.0,
        cdelt: 10.0,
        planes: 5,
    });
    write_image(&sky.join("cube.fits"), &cube).expect("write");
}

async fn gateway(work: &Path, data: &Path, db: Option<String>) -> vogate::Gateway {
    let flags = Flags {
        workdir: Some(work.to_path_buf()),
        data: Some(data.to_path_buf()),
        db,
        ..Default::default()
    };
    vogate::prepare(resolve(flags, Default::default(), None).expect("settings")).expect("prepare")
}

/// The first column of a JSON result, as strings.
fn first_column(v: &serde_json::Value) -> Vec<&str> {
    v["data"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r[0].as_str())
        .collect()
}

/// The queries, with whether their order is part of the answer (ORDER BY on unique keys).
const QUERIES: &[(&str, bool)] = &[
    ("SELECT * FROM ivoa.ObsCore ORDER BY obs_id", true),
    ("SELECT COUNT(*) AS n FROM ivoa.ObsCore", false),
    // Cones, across RA = 0 and around the poles, small to large.
    ("SELECT obs_id, s_ra, s_dec FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 0, 0, 1.5)) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 359.9, 0.5, 2)) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 0, 90, 1.5)) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 123, -90, 1.5)) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 266.4, -28.9, 10)) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 85.27, -2.46, 0.1)) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10, 20, 100)) = 1", false),
    ("SELECT COUNT(*) AS n FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 0, 0, 60)) = 0", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 0, 0, 3)) = 1 OR s_dec > 80", false),
    ("SELECT obs_id, DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 0, 0)) AS d FROM ivoa.ObsCore ORDER BY obs_id", true),
    ("SELECT obs_id, DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 180, 89.9)) AS d FROM ivoa.ObsCore WHERE DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 180, 89.9)) < 5 ORDER BY obs_id", true),
    // Footprints: points in s_region, s_region against circles and polygons, either order.
    ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', 0, 0), s_region) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', 0, 90), s_region) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', 17, -90), s_region) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', 266.4, -28.93), s_region) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(s_region, CIRCLE('ICRS', 0, 0, 2)) = 1", false),
    // Near the corner of the wide field, far from its centre.
    ("SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(s_region, CIRCLE('ICRS', 123.5, 33.5, 0.1)) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', 116.6, 26.7), s_region) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(POLYGON('ICRS', 123, 33, 124, 33, 124, 34), s_region) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(CIRCLE('ICRS', 358.5, 0, 1.5), s_region) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(s_region, CIRCLE('ICRS', 0, 89.9, 1)) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(s_region, CIRCLE('ICRS', 30, -89.5, 0.6)) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(s_region, POLYGON('ICRS', 358, -2, 2, -2, 2, 2, 358, 2)) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(POLYGON('ICRS', 260, -35, 270, -35, 270, -25, 260, -25), s_region) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(s_region, POLYGON('ICRS', 0, 88, 120, 88, 240, 88)) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), POLYGON('ICRS', 358, -2, 2, -2, 2, 2, 358, 2)) = 1", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(s_region, POLYGON('ICRS', s_ra - 0.01, s_dec - 0.01, s_ra + 0.01, s_dec - 0.01, s_ra, s_dec + 0.01)) = 1", false),
    // Everything else the renderer knows.
    ("SELECT obs_id, s_fov FROM ivoa.ObsCore WHERE s_fov >= 360", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE s_region IS NULL", false),
    ("SELECT obs_id, s_ra FROM ivoa.ObsCore WHERE obs_id LIKE 'sky/gc_%' ORDER BY obs_id", true),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE obs_id ILIKE '%GC_2MASS%'", false),
    ("SELECT obs_id, s_dec FROM ivoa.ObsCore WHERE s_dec BETWEEN -30 AND -20 ORDER BY s_dec DESC, obs_id", true),
    ("SELECT DISTINCT dataproduct_type FROM ivoa.ObsCore ORDER BY 1", true),
    ("SELECT TOP 3 obs_id, s_ra FROM ivoa.ObsCore ORDER BY s_ra DESC, obs_id", true),
    ("SELECT obs_id, s_ra * 2 + 1.5 AS x, s_dec / 3 AS y, 7 / 2 AS i FROM ivoa.ObsCore ORDER BY obs_id", true),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE obs_id IN ('sky/HorseHead.fits', 'sky/gc_msx_e.fits', 'sky/field0.fits', 'shared/HorseHead.fits')", false),
    ("SELECT obs_id FROM ivoa.ObsCore WHERE NOT (s_dec > 0) AND s_ra < 100", false),
    ("SELECT obs_id || ' is ' || dataproduct_type AS k FROM ivoa.ObsCore", false),
    ("SELECT obs_id, em_min, em_max FROM ivoa.ObsCore WHERE em_min IS NOT NULL", false),
    ("SELECT table_name, column_name, datatype, arraysize, xtype, unit, ucd, utype FROM TAP_SCHEMA.columns ORDER BY table_name, column_index", true),
    ("SELECT * FROM TAP_SCHEMA.tables ORDER BY table_index, table_name", true),
    ("SELECT * FROM TAP_SCHEMA.keys ORDER BY key_id", true),
];

async fn sqlite_and_postgres_give_the_same_rows() {
    let url = vogate_tests::fresh_pg_database("backends_same_rows");
    let (data, w1, w2) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    write_data(data.path());
    let lite = gateway(w1.path(), data.path(), None).await;
    let pg = gateway(w2.path(), data.path(), Some(url)).await;
    assert!(QUERIES.len() >= 30);
    let mut non_empty = 0;
    for (adql, ordered) in QUERIES {
        let (s1, a, body1) = common::tap_json(&lite, adql).await;
        let (s2, b, body2) = common::tap_json(&pg, adql).await;
        assert_eq!(
            (s1, s2),
            (200, 200),
            "{adql}\nSQLite: {body1}\nPostgreSQL: {body2}"
        );
        assert_eq!(a["query_status"], "OK", "{adql}: {body1}");
        assert_eq!(b["query_status"], "OK", "{adql}: {body2}");
        assert_eq!(a["metadata"], b["metadata"], "{adql}: the columns differ");
        let (mut ra, mut rb) = (
            a["data"].as_array().expect("rows").clone(),
            b["data"].as_array().expect("rows").clone(),
        );
        if !ordered {
            ra.sort_by_key(|r| r.to_string());
            rb.sort_by_key(|r| r.to_string());
        }
        assert_eq!(
            ra.len(),
            rb.len(),
            "{adql}\nSQLite: {ra:?}\nPostgreSQL: {rb:?}"
        );
        for (x, y) in ra.iter().zip(&rb) {
            assert!(
                common::same(x, y),
                "{adql}\nSQLite row {x}\nPostgreSQL row {y}"
            );
        }
        if !ra.is_empty() && ra[0] != serde_json::json!([0]) {
            non_empty += 1;
        }
    }
    // The comparison means something only when the queries find rows.
    assert!(
        non_empty >= QUERIES.len() - 2,
        "only {non_empty} queries found rows"
    );
    // Spot checks of the geometry against what the fields are.
    let (_, v, _) = common::tap_json(
        &pg,
        "SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', 0, 90), s_region) = 1",
    )
    .await;
    let ids = first_column(&v);
    assert!(
        ids.contains(&"sky/field2.fits") && ids.contains(&"sky/allsky.fits"),
        "{ids:?}"
    );
    for gw in [&lite, &pg] {
        for adql in [
            "SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(s_region, CIRCLE('ICRS', 123.5, 33.5, 0.1)) = 1",
            "SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', 116.6, 26.7), s_region) = 1",
        ] {
            let (_, v, _) = common::tap_json(gw, adql).await;
            let ids = first_column(&v);
            assert!(ids.contains(&"sky/wide.fits"), "{adql}: {ids:?}");
        }
    }
    let (_, v, _) = common::tap_json(
        &pg,
        "SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(s_region, CIRCLE('ICRS', 0, 0, 2)) = 1",
    )
    .await;
    let ids = first_column(&v);
    assert!(
        ids.contains(&"sky/field0.fits") && ids.contains(&"sky/field1.fits"),
        "{ids:?}"
    );
}

async fn injection_attempts_are_refused_and_change_nothing() {
    let url = vogate_tests::fresh_pg_database("backends_injection");
    let (data, w1, w2) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    write_data(data.path());
    let lite = gateway(w1.path(), data.path(), None).await;
    let pg = gateway(w2.path(), data.path(), Some(url.clone())).await;
    vogate_tests::pg_execute(
        &url,
        "CREATE TABLE canary (x int); INSERT INTO canary VALUES (1);",
    )
    .expect("canary");
    let attacks = [
        "SELECT pg_sleep(10)",
        "SELECT obs_id FROM ivoa.ObsCore WHERE pg_sleep(10) IS NULL",
        "SELECT obs_id FROM ivoa.ObsCore; DROP TABLE canary",
        "SELECT obs_id FROM ivoa.ObsCore; DELETE FROM ivoa.ObsCore",
        "SELECT * FROM pg_catalog.pg_user",
        "SELECT * FROM pg_user",
        "SELECT * FROM information_schema.tables",
        "SELECT usename FROM pg_catalog.pg_shadow",
        "SELECT pg_read_file('/etc/passwd') FROM ivoa.ObsCore",
        "SELECT lo_import('/etc/passwd')",
        "SELECT current_setting('data_directory') FROM ivoa.ObsCore",
        "SELECT obs_id FROM ivoa.ObsCore /* */; DROP TABLE canary",
        "SELECT obs_id FROM ivoa.ObsCore /* ; DROP TABLE canary; */ WHERE 1 = 1; DROP TABLE canary",
        "SELECT obs_id FROM ivoa.ObsCore UNION SELECT usename FROM pg_user",
        "SELECT obs_id FROM ivoa.ObsCore UNION ALL SELECT tablename FROM pg_catalog.pg_tables",
        "SELECT \"pg_sleep\"(10) FROM ivoa.ObsCore",
        "SELECT \"PG_SLEEP\"(1) FROM ivoa.ObsCore",
        "SELECT \"current_setting\"('is_superuser') FROM ivoa.ObsCore",
        "SELECT * FROM canary",
        "SELECT * FROM vogate.migrations",
        "SELECT obs_id FROM ivoa.ObsCore WHERE obs_id = (SELECT usename FROM pg_user)",
        "SELECT CAST(obs_id AS regclass) FROM ivoa.ObsCore",
        "SELECT obs_id::text FROM ivoa.ObsCore",
        "SELECT obs_id FROM ivoa.ObsCore WHERE obs_id = $$x$$",
        "SELECT obs_id FROM ivoa.ObsCore WHERE obs_id = E'\\x27'",
        "COPY ivoa.ObsCore TO '/tmp/x'",
        "DROP TABLE canary",
    ];
    for gw in [&lite, &pg] {
        let (_, before, _) = common::tap_json(gw, "SELECT COUNT(*) AS n FROM ivoa.ObsCore").await;
        for adql in attacks {
            let started = std::time::Instant::now();
            let (status, _, body) = common::tap_json(gw, adql).await;
            assert_eq!(status, 400, "{adql}: {body}");
            assert!(
                body.contains("QUERY_STATUS\" value=\"ERROR\""),
                "{adql}: {body}"
            );
            assert!(started.elapsed().as_secs() < 5, "{adql} ran");
        }
        // A quote inside a string literal is data, not SQL.
        let (status, v, body) = common::tap_json(
            gw,
            "SELECT obs_id FROM ivoa.ObsCore WHERE obs_id = 'x''; DROP TABLE canary; --'",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(v["data"], serde_json::json!([]));
        let (_, after, _) = common::tap_json(gw, "SELECT COUNT(*) AS n FROM ivoa.ObsCore").await;
        assert_eq!(before["data"], after["data"]);
    }
    vogate_tests::pg_execute(&url, "SELECT x FROM canary").expect("the canary is still there");

    // Defence in depth below the translator: TAP queries run READ ONLY as the reader role.
    assert_eq!(pg.tap.backend.name(), "PostgreSQL");
    let backend = vo_tap::postgres::PgBackend::new(pg.settings.postgres.clone()).expect("pool");
    struct Sink;
    impl vo_tap::postgres::AsyncBatch for Sink {
        async fn batch(&mut self, _: Vec<tokio_postgres::Row>, _: bool, _: bool) -> bool {
            true
        }
    }
    for (sql, expected) in [
        (
            "INSERT INTO ivoa.\"ObsCore\" (obs_publisher_did) VALUES ('x')",
            "read-only transaction",
        ),
        ("SELECT x FROM canary", "permission denied"),
        ("SELECT version FROM vogate.migrations", "permission denied"),
        ("SELECT pg_sleep(30)", "statement timeout"),
    ] {
        let mut b = backend.clone();
        b.options.statement_timeout = std::time::Duration::from_millis(300);
        let b = vo_tap::postgres::PgBackend::new(b.options.clone()).expect("pool");
        let r = b
            .run_query(sql, &[], std::future::pending(), &mut Sink)
            .await;
        match r {
            Err(vo_tap::postgres::QueryFailure::Before(e)) => {
                assert!(e.message.contains(expected), "{sql}: {}", e.message)
            }
            other => panic!("{sql}: {other:?}"),
        }
    }
    vogate_tests::pg_execute(&url, "SELECT x FROM canary").expect("the canary is still there");
}

async fn a_query_is_cancelled_on_the_server_when_its_client_goes_away() {
    let url = vogate_tests::fresh_pg_database("backends_cancel");
    let backend =
        vo_tap::postgres::PgBackend::new(vo_tap::postgres::PgOptions::new(&url)).expect("pool");
    struct Sink;
    impl vo_tap::postgres::AsyncBatch for Sink {
        async fn batch(&mut self, _: Vec<tokio_postgres::Row>, _: bool, _: bool) -> bool {
            true
        }
    }
    let started = std::time::Instant::now();
    // The "client" goes away after 300 ms.
    let r = backend
        .run_query(
            "SELECT pg_sleep(20)",
            &[],
            tokio::time::sleep(std::time::Duration::from_millis(300)),
            &mut Sink,
        )
        .await;
    assert!(
        matches!(r, Err(vo_tap::postgres::QueryFailure::Cancelled)),
        "{r:?}"
    );
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    // Nothing of it still runs on the server, and the pool still answers.
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let running: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(20)' AND state = 'active'",
            &[],
        )
        .await
        .expect("pg_stat_activity")
        .get(0);
    assert_eq!(running, 0);
    let r = backend
        .run_query("SELECT 1", &[], std::future::pending(), &mut Sink)
        .await;
    assert!(r.is_ok(), "{r:?}");
}

/// A consumer that stops after the first batch (its client went away while rows streamed):
/// the rest of the result is cancelled on the server, not read to its end.
async fn a_stopped_stream_is_cancelled_on_the_server() {
    let url = vogate_tests::fresh_pg_database("backends_stop");
    let backend =
        vo_tap::postgres::PgBackend::new(vo_tap::postgres::PgOptions::new(&url)).expect("pool");
    struct FirstOnly(usize);
    impl vo_tap::postgres::AsyncBatch for FirstOnly {
        async fn batch(&mut self, rows: Vec<tokio_postgres::Row>, _: bool, _: bool) -> bool {
            self.0 += rows.len();
            false
        }
    }
    // In the SELECT list (not FROM, which would gather every row first) the rows stream.
    let sql = "SELECT generate_series(1, 200000000) AS g, repeat('x', 100)";
    let mut sink = FirstOnly(0);
    let started = std::time::Instant::now();
    let r = backend
        .run_query(sql, &[], std::future::pending(), &mut sink)
        .await;
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(sink.0, vo_tap::postgres::BATCH_ROWS as usize);
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let mut running: i64 = 1;
    for _ in 0..50 {
        running = client
            .query_one(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE '%generate_series(1, 200000000)%' AND state = 'active' AND pid <> pg_backend_pid()",
                &[],
            )
            .await
            .expect("pg_stat_activity")
            .get(0);
        if running == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(running, 0, "the stopped query still runs on the server");
}

async fn a_second_server_on_a_served_database_is_refused_and_changes_nothing() {
    let url = vogate_tests::fresh_pg_database("backends_second_server");
    let (data, other, w1, w2) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    write_data(data.path());
    write_image(
        &other.path().join("intruder.fits"),
        &ImageSpec::tan(1.0, 2.0, 10, 10, 0.01),
    )
    .expect("write");
    let first = gateway(w1.path(), data.path(), Some(url.clone())).await;
    let ids = "SELECT obs_id FROM ivoa.ObsCore ORDER BY obs_id";
    let (_, before, _) = common::tap_json(&first, ids).await;
    assert!(first_column(&before).contains(&"sky/field0.fits"));
    let flags = Flags {
        workdir: Some(w2.path().to_path_buf()),
        data: Some(other.path().to_path_buf()),
        db: Some(url.clone()),
        ..Default::default()
    };
    let e = vogate::prepare(resolve(flags.clone(), Default::default(), None).expect("settings"))
        .expect_err("a second server on the same database");
    assert!(
        e.message
            .contains("the database is being served by vogate serve on 127.0.0.1:8080 (pid"),
        "{}",
        e.message
    );
    let (_, after, _) = common::tap_json(&first, ids).await;
    assert_eq!(before, after, "the first server's rows changed");
    assert_eq!(
        std::fs::read_dir(w2.path()).expect("w2").count(),
        0,
        "the second start wrote into its workdir"
    );
    // Once the first server is gone, the database can be served again.
    drop(first);
    let second = vogate::prepare(resolve(flags, Default::default(), None).expect("settings"))
        .expect("the lock went with the first server");
    let (_, v, _) = common::tap_json(&second, ids).await;
    assert_eq!(first_column(&v), vec!["intruder.fits"]);
}

//! End-to-end TAP tests against the in-process gateway: demo sky, cones checked against a
//! brute-force haversine, MAXREC overflow, formats, TAP_SCHEMA, error documents, files.

// Each test binary uses its part of the shared helpers.
#[allow(dead_code)]
mod common;

use actix_web::{test, App};
use std::path::Path;
use vo_obscore::demo::{write_image, ImageSpec};
use vogate::settings::{resolve, Flags};

/// The database a test runs on: the SQLite default, or a fresh PostgreSQL database (URL).
#[derive(Debug, Clone)]
enum Db {
    Sqlite,
    Postgres(String),
}

/// The test functions `$name(Db)`, each run once per backend as `$name::sqlite` and
/// `$name::postgres` (the latter skipped, and counted so, when PostgreSQL cannot be used
/// outside CI: see vogate_tests::postgres).
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        fn main() -> std::process::ExitCode {
            let pg = vogate_tests::postgres();
            let mut tests = Vec::new();
            $(
                tests.push(vo_testkit::Test::actix(
                    concat!(stringify!($name), "::sqlite"),
                    || $name(Db::Sqlite),
                ));
                tests.push(
                    vo_testkit::Test::actix(concat!(stringify!($name), "::postgres"), || async {
                        let url = vogate_tests::fresh_pg_database(concat!("tap_", stringify!($name)));
                        $name(Db::Postgres(url)).await
                    })
                    .needs(&pg),
                );
            )*
            vo_testkit::run(tests)
        }
    };
}

on_both_backends!(
    demo_sky_answers_a_cone_query,
    felis_columns_keep_their_declared_order,
    obscore_rows_are_upserted_and_deleted_with_their_indexes,
    cones_match_brute_force_haversine,
    geometry_values_are_dali_arrays_in_icrs_degrees,
    maxrec_overflow_and_top,
    text_formats_are_gzipped_when_asked_and_binary_ones_never,
    fits_tables_are_sent_whole_with_their_length,
    select_star_and_tap_schema_show_published_columns_only,
    bad_requests_get_dali_error_documents,
    post_form_works_and_files_are_served_through_obscore,
    hostile_requests_get_clear_errors_and_the_server_survives,
    vosi_documents_describe_what_tap_schema_publishes,
    datalink_links_point_to_the_product_file,
    soda_cuts_products_and_refuses_bad_requests,
    sia_queries_return_the_rows_of_their_adql,
    obscore_sync_follows_the_tree,
);

async fn gateway(workdir: &Path, data: Option<&Path>, db: &Db) -> vogate::Gateway {
    let flags = Flags {
        workdir: Some(workdir.to_path_buf()),
        data: data.map(Path::to_path_buf),
        db: match db {
            Db::Sqlite => None,
            Db::Postgres(url) => Some(url.clone()),
        },
        ..Default::default()
    };
    let settings = resolve(flags, Default::default(), None).expect("settings");
    vogate::prepare(settings).expect("prepare")
}

/// GET /tap/sync with these parameters: (status, content type, body).
async fn get(gw: &vogate::Gateway, params: &[(&str, &str)]) -> (u16, String, String) {
    let app = test::init_service(App::new().configure(vogate::routes(gw))).await;
    let qs = serde_urlencoded::to_string(params).expect("encode");
    let req = test::TestRequest::get()
        .uri(&format!("/tap/sync?{qs}"))
        .to_request();
    let resp = test::call_service(&app, req).await;
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = test::read_body(resp).await;
    (status, ct, String::from_utf8(body.to_vec()).expect("utf8"))
}

async fn json_rows(gw: &vogate::Gateway, query: &str) -> serde_json::Value {
    let (status, _, body) = get(
        gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", query),
            ("RESPONSEFORMAT", "json"),
            ("MAXREC", "100000"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{query}: {body}");
    serde_json::from_str(&body).expect("json")
}

/// Haversine distance in degrees, independent of vogate's own (Vincenty) code.
fn haversine(ra1: f64, dec1: f64, ra2: f64, dec2: f64) -> f64 {
    let (p1, p2) = (dec1.to_radians(), dec2.to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2)
        + p1.cos() * p2.cos() * ((ra2 - ra1).to_radians() / 2.0).sin().powi(2);
    (2.0 * h.sqrt().min(1.0).asin()).to_degrees()
}

async fn demo_sky_answers_a_cone_query(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), None, &db).await;
    if matches!(db, Db::Sqlite) {
        assert!(dir.path().join("vogate.db").exists());
    }
    let v = json_rows(&gw, "SELECT obs_id, target_name FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10.68, 41.27, 1)) = 1").await;
    assert_eq!(v["data"], serde_json::json!([["m31.fits", "M31"]]));
    assert_eq!(v["query_status"], "OK");
    let v = json_rows(&gw, "SELECT COUNT(*) AS n FROM ivoa.ObsCore").await;
    assert_eq!(v["data"][0][0], 5);
}

/// A Felis table without tap:column_index: `SELECT *`, /tables and the catalog keep the
/// file's column order (z, a, m), not the alphabetical one.
async fn felis_columns_keep_their_declared_order(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let felis = dir.path().join("order.yaml");
    std::fs::write(
        &felis,
        "name: ord\n\"@id\": \"#ord\"\ntables:\n- name: t\n  \"@id\": \"#t\"\n  columns:\n\
         \x20 - name: z\n    \"@id\": \"#t.z\"\n    datatype: int\n\
         \x20 - name: a\n    \"@id\": \"#t.a\"\n    datatype: int\n\
         \x20 - name: m\n    \"@id\": \"#t.m\"\n    datatype: int\n",
    )
    .expect("felis");
    let flags = Flags {
        workdir: Some(dir.path().join("w")),
        db: match &db {
            Db::Sqlite => None,
            Db::Postgres(url) => Some(url.clone()),
        },
        ..Default::default()
    };
    let settings = resolve(flags, Default::default(), None).expect("settings");
    vogate::load_schemas(&settings, &[felis], false).expect("load");
    let gw = vogate::prepare(settings).expect("prepare");
    let v = json_rows(&gw, "SELECT * FROM ord.t").await;
    let names: Vec<&str> = v["metadata"]
        .as_array()
        .expect("metadata")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["z", "a", "m"]);
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/tap/tables/ord.t")
            .to_request(),
    )
    .await;
    let doc = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    let at = |n: &str| doc.find(&format!("<name>{n}</name>")).expect(n);
    assert!(at("z") < at("a") && at("a") < at("m"), "{doc}");
}

async fn obscore_rows_are_upserted_and_deleted_with_their_indexes(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), None, &db).await;
    let cfg = vo_obscore::IngestConfig {
        authority: gw.settings.authority.clone(),
        obs_collection: gw.settings.obs_collection.clone(),
        calib_level: gw.settings.calib_level,
        base_url: gw.settings.base_url.clone(),
        access_url: gw.settings.access_url,
        mapping: Default::default(),
    };
    let rows = vo_obscore::scan_tree(&gw.data_root, &cfg).rows;
    let mut m31 = rows
        .iter()
        .find(|r| r.obs_id == "m31.fits")
        .expect("m31")
        .clone();
    // Moved to the southern sky: the cone and footprint indexes must follow.
    m31.s_ra = 200.0;
    m31.s_dec = -45.0;
    m31.target_name = Some("moved".into());
    m31.s_region = Some("POLYGON ICRS 199.8 -45.2 200.2 -45.2 200.2 -44.8 199.8 -44.8".into());
    m31.s_fov = 0.57;
    gw.tap
        .backend
        .upsert_obscore_rows(std::slice::from_ref(&m31))
        .await
        .expect("upsert");
    let ids = |v: serde_json::Value| -> Vec<String> {
        v["data"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r[0].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let cone = |ra: f64, dec: f64| {
        format!("SELECT obs_id, target_name FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra}, {dec}, 0.5)) = 1")
    };
    let v = json_rows(&gw, &cone(200.0, -45.0)).await;
    assert_eq!(v["data"], serde_json::json!([["m31.fits", "moved"]]));
    assert!(ids(json_rows(&gw, &cone(10.68, 41.27)).await).is_empty());
    let v = json_rows(
        &gw,
        "SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', 200.1, -44.9), s_region) = 1",
    )
    .await;
    assert_eq!(ids(v), vec!["m31.fits"]);
    let count = "SELECT COUNT(*) AS n FROM ivoa.ObsCore";
    assert_eq!(json_rows(&gw, count).await["data"][0][0], 5);
    // A new row comes in beside them.
    let mut extra = m31.clone();
    extra.obs_id = "extra.fits".into();
    extra.path = "extra.fits".into();
    extra.obs_publisher_did = "ivo://vogate.local/vogate?extra.fits".into();
    gw.tap
        .backend
        .upsert_obscore_rows(&[extra])
        .await
        .expect("insert");
    assert_eq!(json_rows(&gw, count).await["data"][0][0], 6);
    // Deleted: gone from the table and its indexes.
    let gone = gw
        .tap
        .backend
        .delete_obscore_rows(&["m31.fits".to_string(), "nothing.fits".to_string()])
        .await
        .expect("delete");
    assert_eq!(gone, 1);
    assert_eq!(
        ids(json_rows(&gw, &cone(200.0, -45.0)).await),
        vec!["extra.fits"]
    );
    assert_eq!(json_rows(&gw, count).await["data"][0][0], 5);
}

/// Images on a deterministic pseudo-random sky, including the RA = 0 seam and both poles.
fn write_sky(dir: &Path) -> usize {
    let mut seed: u64 = 0x9E3779B97F4A7C15;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut positions: Vec<(f64, f64)> = vec![
        (359.95, 0.0),
        (0.05, 0.1),
        (180.0, 89.95),
        (0.0, -89.97),
        (90.0, 88.0),
    ];
    for _ in 0..35 {
        let ra = 360.0 * next();
        let dec = (2.0 * next() - 1.0).asin().to_degrees();
        positions.push((ra, dec));
    }
    for (i, (ra, dec)) in positions.iter().enumerate() {
        write_image(
            &dir.join(format!("img{i:02}.fits")),
            &ImageSpec::tan(*ra, *dec, 8, 8, 0.01),
        )
        .expect("write");
    }
    positions.len()
}

async fn cones_match_brute_force_haversine(db: Db) {
    let work = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let n = write_sky(data.path());
    let gw = gateway(work.path(), Some(data.path()), &db).await;
    let all = json_rows(&gw, "SELECT obs_id, s_ra, s_dec FROM ivoa.ObsCore").await;
    let rows = all["data"].as_array().expect("rows");
    assert_eq!(rows.len(), n);
    let circles = [
        (0.0, 0.0, 0.2),
        (359.9, 0.05, 1.0),
        (0.0, 90.0, 2.5),
        (123.0, -89.0, 1.5),
        (45.0, 30.0, 40.0),
        (200.0, -20.0, 90.0),
        (10.0, 10.0, 180.0),
    ];
    for (ra0, dec0, r) in circles {
        let mut want: Vec<String> = rows
            .iter()
            .filter(|row| {
                let (ra, dec) = (row[1].as_f64().expect("ra"), row[2].as_f64().expect("dec"));
                haversine(ra, dec, ra0, dec0) <= r
            })
            .map(|row| row[0].as_str().expect("id").to_string())
            .collect();
        want.sort();
        for q in [
            format!("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra0}, {dec0}, {r})) = 1 ORDER BY obs_id"),
            format!("SELECT obs_id FROM ivoa.ObsCore WHERE 1 = CONTAINS(POINT(s_ra, s_dec), CIRCLE({ra0}, {dec0}, {r})) ORDER BY obs_id"),
        ] {
            let got: Vec<String> = json_rows(&gw, &q).await["data"]
                .as_array()
                .expect("rows")
                .iter()
                .map(|r| r[0].as_str().expect("id").to_string())
                .collect();
            assert_eq!(got, want, "{q}");
        }
    }
    // The pole circle must catch the images near +90 whatever their RA.
    let v = json_rows(&gw, "SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 0, 90, 2.5)) = 1 ORDER BY obs_id").await;
    assert_eq!(
        v["data"],
        serde_json::json!([["img02.fits"], ["img04.fits"]])
    );
}

/// POINT, CIRCLE and POLYGON in a SELECT list (issue 18, item 3): DALI xtypes, the numbers
/// of the columns they were made from, longitudes wrapped into [0, 360) (DALI 1.1 §3.3.5),
/// in JSON arrays, TABLEDATA, BINARY2 and CSV.
async fn geometry_values_are_dali_arrays_in_icrs_degrees(db: Db) {
    let work = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let n = write_sky(data.path());
    let gw = gateway(work.path(), Some(data.path()), &db).await;
    let q = "SELECT obs_id, s_ra, s_dec, POINT('ICRS', s_ra, s_dec) AS p, \
             POINT(s_ra - 360, s_dec) AS q, CIRCLE(s_ra + 720, s_dec, 0.5) AS c, \
             POLYGON(s_ra - 1, s_dec, s_ra + 1, s_dec, s_ra, s_dec + 0.5) AS poly, \
             POLYGON(POINT(10, 20), POINT(11, 20), POINT(-10.5, 21)) AS lit \
             FROM ivoa.ObsCore ORDER BY obs_id";
    let v = json_rows(&gw, q).await;
    let meta: Vec<(String, String, String, String)> = v["metadata"]
        .as_array()
        .expect("metadata")
        .iter()
        .skip(3)
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap_or("").to_string();
            (s("name"), s("arraysize"), s("xtype"), s("unit"))
        })
        .collect();
    let want = |n: &str, a: &str, x: &str| (n.into(), a.into(), x.into(), "deg".into());
    assert_eq!(
        meta,
        [
            want("p", "2", "point"),
            want("q", "2", "point"),
            want("c", "3", "circle"),
            want("poly", "*", "polygon"),
            want("lit", "*", "polygon"),
        ]
    );
    let rows = v["data"].as_array().expect("rows");
    assert_eq!(rows.len(), n);
    let wrap = |x: f64| x.rem_euclid(360.0);
    for r in rows {
        let (ra, dec) = (r[1].as_f64().expect("ra"), r[2].as_f64().expect("dec"));
        let nums = |k: usize| -> Vec<f64> {
            r[k].as_array()
                .unwrap_or_else(|| panic!("{r}: column {k} is not an array"))
                .iter()
                .map(|x| x.as_f64().expect("a number"))
                .collect()
        };
        // Within a unit or two of the last place (serde_json's float parsing is not always
        // correctly rounded).
        let close = |got: Vec<f64>, want: &[f64]| {
            got.len() == want.len()
                && got
                    .iter()
                    .zip(want)
                    .all(|(a, b)| (a - b).abs() <= 1e-13 * b.abs().max(1.0))
        };
        assert!(close(nums(3), &[ra, dec]), "{r}");
        assert!(close(nums(4), &[wrap(ra - 360.0), dec]), "{r}");
        assert!(close(nums(5), &[wrap(ra + 720.0), dec, 0.5]), "{r}");
        let poly = nums(6);
        let want = [wrap(ra - 1.0), dec, wrap(ra + 1.0), dec, ra, dec + 0.5];
        assert!(close(poly.clone(), &want), "{r}");
        assert!(poly.iter().step_by(2).all(|x| (0.0..360.0).contains(x)));
        assert_eq!(nums(7), [10.0, 20.0, 11.0, 20.0, 349.5, 21.0]);
    }
    // The image at RA 359.95: POLYGON(s_ra + 1 ...) wraps to 0.95.
    let near_zero = rows
        .iter()
        .find(|r| r[0] == "img00.fits")
        .expect("img00.fits");
    let wrapped = near_zero[6][2].as_f64().expect("a number");
    assert!((wrapped - 0.95).abs() < 1e-9, "{wrapped}");

    // TABLEDATA: the FIELDs, their COOSYS, and the cells as DALI text.
    let one = "SELECT s_ra, s_dec, POINT(s_ra - 360, s_dec) AS p, CIRCLE(1, 2, 3) AS c FROM ivoa.ObsCore WHERE obs_id = 'img01.fits'";
    let (status, _, td) = get(
        &gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", one),
            ("RESPONSEFORMAT", "votable/td"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{td}");
    assert!(
        td.contains("<COOSYS ID=\"vogate_icrs\" system=\"ICRS\"/>"),
        "{td}"
    );
    for (name, size, xtype) in [("p", "2", "point"), ("c", "3", "circle")] {
        let field = td
            .lines()
            .find(|l| l.starts_with(&format!("<FIELD name=\"{name}\"")))
            .unwrap_or_else(|| panic!("no FIELD {name}: {td}"));
        for attr in [
            "datatype=\"double\"".to_string(),
            format!("arraysize=\"{size}\""),
            format!("xtype=\"{xtype}\""),
            "unit=\"deg\"".to_string(),
            "ref=\"vogate_icrs\"".to_string(),
        ] {
            assert!(field.contains(&attr), "{field}: no {attr}");
        }
    }
    // img01 is near (0.05, 0.1): s_ra - 360 wraps back to s_ra give or take the rounding of
    // the subtraction (0.05 - 360 + 360 is 0.05000000000001137 in f64).
    let tr = td
        .lines()
        .find(|l| l.starts_with("<TR>"))
        .unwrap_or_else(|| panic!("no row: {td}"));
    let cells: Vec<&str> = tr
        .trim_start_matches("<TR><TD>")
        .trim_end_matches("</TD></TR>")
        .split("</TD><TD>")
        .collect();
    let (ra, dec): (f64, f64) = (
        cells[0].parse().expect("s_ra"),
        cells[1].parse().expect("s_dec"),
    );
    let p = wrap(ra - 360.0);
    assert!((p - 0.05).abs() < 1e-9 && p != ra, "{tr}");
    assert_eq!(
        cells[2..],
        [format!("{p:?} {dec:?}"), "1.0 2.0 3.0".into()],
        "{tr}"
    );
    // BINARY2: a fixed double[2] and double[3], no count.
    let (status, _, b2) = get(
        &gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", one),
            ("RESPONSEFORMAT", "votable/b2"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{b2}");
    let start = b2.find("base64\">").expect("stream") + 8;
    let end = b2.find("</STREAM>").expect("end");
    let text: String = b2[start..end].split_whitespace().collect();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .expect("base64");
    let mut want = vec![0u8]; // the null bitmap: nothing NULL
    for x in [ra, dec, p, dec, 1.0, 2.0, 3.0] {
        want.extend_from_slice(&f64::to_be_bytes(x));
    }
    assert_eq!(bytes, want);
    // CSV: the DALI text.
    let (_, _, csv) = get(
        &gw,
        &[("LANG", "ADQL"), ("QUERY", one), ("RESPONSEFORMAT", "csv")],
    )
    .await;
    assert_eq!(
        csv.replace("\r\n", "\n"),
        format!("s_ra,s_dec,p,c\n{ra:?},{dec:?},{p:?} {dec:?},1.0 2.0 3.0\n")
    );
    // A NULL coordinate makes the whole value NULL.
    let v = json_rows(&gw, "SELECT POINT(s_ra, CASE WHEN s_ra < 0 THEN 1 END) AS p, CIRCLE(s_ra, s_dec, CASE WHEN s_ra < 0 THEN 1 END) AS c FROM ivoa.ObsCore WHERE obs_id = 'img01.fits'").await;
    assert_eq!(v["data"], serde_json::json!([[null, null]]));
}

async fn maxrec_overflow_and_top(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), None, &db).await;
    let q = "SELECT obs_id FROM ivoa.ObsCore ORDER BY obs_id";
    let (s, ct, body) = get(&gw, &[("LANG", "ADQL"), ("QUERY", q), ("MAXREC", "2")]).await;
    assert_eq!((s, ct.as_str()), (200, "application/x-votable+xml"));
    assert_eq!(body.matches("<TR>").count(), 2);
    assert!(
        body.contains("</TABLE>\n<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>"),
        "{body}"
    );
    let (_, _, body) = get(
        &gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", "SELECT TOP 2 obs_id FROM ivoa.ObsCore"),
            ("MAXREC", "10"),
        ],
    )
    .await;
    assert_eq!(body.matches("<TR>").count(), 2);
    assert!(!body.contains("OVERFLOW"));
    let (_, _, body) = get(
        &gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", "SELECT TOP 9 obs_id FROM ivoa.ObsCore"),
            ("MAXREC", "4"),
        ],
    )
    .await;
    assert_eq!(body.matches("<TR>").count(), 4);
    assert!(body.contains("OVERFLOW"));
    let (_, _, body) = get(&gw, &[("LANG", "ADQL"), ("QUERY", q), ("MAXREC", "5")]).await;
    assert_eq!(body.matches("<TR>").count(), 5);
    assert!(!body.contains("OVERFLOW"));
    // OFFSET composes with TOP and MAXREC: OVERFLOW exactly when rows were left out.
    for (adql, maxrec, rows, overflow) in [
        (
            "SELECT obs_id FROM ivoa.ObsCore ORDER BY obs_id OFFSET 3",
            "1",
            1,
            true,
        ),
        (
            "SELECT obs_id FROM ivoa.ObsCore ORDER BY obs_id OFFSET 3",
            "2",
            2,
            false,
        ),
        (
            "SELECT TOP 2 obs_id FROM ivoa.ObsCore ORDER BY obs_id OFFSET 4",
            "10",
            1,
            false,
        ),
        (
            "SELECT TOP 5 obs_id FROM ivoa.ObsCore ORDER BY obs_id",
            "100",
            5,
            false,
        ),
        (
            "SELECT TOP 100 obs_id FROM ivoa.ObsCore ORDER BY obs_id",
            "5",
            5,
            false,
        ),
        (
            "SELECT TOP 100 obs_id FROM ivoa.ObsCore ORDER BY obs_id",
            "4",
            4,
            true,
        ),
    ] {
        let (_, _, body) = get(
            &gw,
            &[("LANG", "ADQL"), ("QUERY", adql), ("MAXREC", maxrec)],
        )
        .await;
        assert_eq!(body.matches("<TR>").count(), rows, "{adql} MAXREC={maxrec}");
        assert_eq!(
            body.contains("OVERFLOW"),
            overflow,
            "{adql} MAXREC={maxrec}"
        );
    }
    let (_, _, body) = get(&gw, &[("LANG", "ADQL"), ("QUERY", q), ("MAXREC", "0")]).await;
    assert_eq!(body.matches("<TR>").count(), 0);
    assert!(body.contains("<FIELD name=\"obs_id\"") && body.contains("OVERFLOW"));
    let v: serde_json::Value = serde_json::from_str(
        &get(
            &gw,
            &[
                ("LANG", "ADQL"),
                ("QUERY", q),
                ("MAXREC", "1"),
                ("FORMAT", "json"),
            ],
        )
        .await
        .2,
    )
    .expect("json");
    assert_eq!(v["query_status"], "OVERFLOW");
    assert_eq!(v["data"], serde_json::json!([["m31.fits"]]));
}

async fn text_formats_are_gzipped_when_asked_and_binary_ones_never(db: Db) {
    use std::io::Read;
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), None, &db).await;
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let q = "SELECT obs_id, s_ra, s_dec FROM ivoa.ObsCore ORDER BY obs_id";
    let header = |r: &actix_web::dev::ServiceResponse, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    for (format, text, content_type) in [
        ("votable/td", true, "application/x-votable+xml"),
        ("json", true, "application/json"),
        ("csv", true, "text/csv; charset=utf-8"),
        ("tsv", true, "text/tab-separated-values; charset=utf-8"),
        (
            "votable/b2",
            false,
            "application/x-votable+xml;serialization=BINARY2",
        ),
        (
            "votable/b",
            false,
            "application/x-votable+xml;serialization=BINARY",
        ),
        ("parquet", false, "application/vnd.apache.parquet"),
        ("fits", false, "application/fits"),
    ] {
        let qs = serde_urlencoded::to_string([
            ("LANG", "ADQL"),
            ("QUERY", q),
            ("RESPONSEFORMAT", format),
        ])
        .expect("encode");
        let uri = format!("/tap/sync?{qs}");
        let plain = test::call_service(&app, test::TestRequest::get().uri(&uri).to_request()).await;
        assert_eq!(header(&plain, "content-type"), content_type, "{format}");
        assert_eq!(header(&plain, "content-encoding"), "", "{format}");
        let plain = test::read_body(plain).await.to_vec();
        for (accept, gzipped) in [
            ("gzip, deflate, br", text),
            ("x-gzip", text),
            ("deflate, gzip;q=0", false),
            ("identity", false),
        ] {
            let req = test::TestRequest::get()
                .uri(&uri)
                .insert_header(("Accept-Encoding", accept))
                .to_request();
            let resp = test::call_service(&app, req).await;
            assert_eq!(resp.status(), 200);
            let encoding = header(&resp, "content-encoding");
            let body = test::read_body(resp).await.to_vec();
            if gzipped {
                assert_eq!(encoding, "gzip", "{format} with {accept}");
                let mut back = Vec::new();
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_end(&mut back)
                    .expect("gunzip");
                assert_eq!(back, plain, "{format} with {accept}");
            } else {
                assert_eq!(encoding, "", "{format} with {accept}");
                assert_eq!(body, plain, "{format} with {accept}");
            }
        }
    }
}

/// FITS is written whole, then sent with its Content-Length: an empty primary HDU, then the
/// table, with the rows MAXREC let through and QRYSTAT saying they were cut.
async fn fits_tables_are_sent_whole_with_their_length(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), None, &db).await;
    let adql = "SELECT obs_id, s_ra, calib_level FROM ivoa.ObsCore ORDER BY obs_id";
    let params = [
        ("LANG", "ADQL"),
        ("QUERY", adql),
        ("RESPONSEFORMAT", "fits"),
        ("MAXREC", "2"),
    ];
    let resp = common::tap_sync(&gw, &params).await;
    assert_eq!(resp.status(), 200);
    let length = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .expect("a Content-Length");
    let body = test::read_body(resp).await.to_vec();
    assert_eq!(body.len(), length);
    assert_eq!(body.len() % 2880, 0);
    let cards: Vec<String> = body[2880..2 * 2880]
        .chunks(80)
        .map(|c| String::from_utf8_lossy(c).trim_end().to_string())
        .collect();
    let value = |key: &str| {
        cards
            .iter()
            .find(|c| c.len() > 10 && c[..8].trim_end() == key)
            .map(|c| c[10..].split(" / ").next().unwrap_or("").trim().to_string())
    };
    assert!(body.starts_with(b"SIMPLE  =                    T"));
    assert_eq!(value("XTENSION").as_deref(), Some("'BINTABLE'"));
    assert_eq!(value("NAXIS2").as_deref(), Some("2"));
    assert_eq!(value("TTYPE1").as_deref(), Some("'obs_id  '"));
    assert_eq!(value("TFORM2").as_deref(), Some("'1D      '"));
    assert_eq!(value("TFORM3").as_deref(), Some("'1J      '"));
    assert_eq!(value("TUNIT2").as_deref(), Some("'deg     '"));
    assert_eq!(value("QRYSTAT").as_deref(), Some("'OVERFLOW'"));
    // The first row: obs_id (padded with NULs to the width of the longer of the two),
    // then s_ra as a big-endian double.
    let width: usize = value("TFORM1")
        .and_then(|t| {
            t.trim_matches(['\'', ' '])
                .strip_suffix('A')
                .map(str::to_string)
        })
        .and_then(|n| n.parse().ok())
        .expect("width");
    let row = &body[2 * 2880..];
    assert!(width >= 8 && row.starts_with(b"m31.fits"), "{width}");
    assert!(row[8..width].iter().all(|b| *b == 0));
    let s_ra = f64::from_be_bytes(row[width..width + 8].try_into().expect("8 bytes"));
    assert!((s_ra - 10.684708).abs() < 1e-3, "{s_ra}");
}

async fn select_star_and_tap_schema_show_published_columns_only(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), None, &db).await;
    let v = json_rows(&gw, "SELECT TOP 1 * FROM ivoa.obscore").await;
    let names: Vec<&str> = v["metadata"]
        .as_array()
        .expect("meta")
        .iter()
        .map(|m| m["name"].as_str().expect("name"))
        .collect();
    let want: Vec<&str> = vo_obscore::OBSCORE_COLUMNS.iter().map(|c| c.name).collect();
    assert_eq!(names, want);
    assert_eq!(
        v["metadata"][9]["utype"],
        "obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1"
    );
    let v = json_rows(&gw, "SELECT column_name, datatype, unit, ucd FROM TAP_SCHEMA.columns WHERE table_name = 'ivoa.ObsCore' ORDER BY column_index").await;
    let rows = v["data"].as_array().expect("rows");
    assert_eq!(rows.len(), 30);
    assert_eq!(
        rows[10],
        serde_json::json!(["s_dec", "double", "deg", "pos.eq.dec"])
    );
    let v = json_rows(
        &gw,
        "SELECT table_name FROM tap_schema.tables ORDER BY table_index",
    )
    .await;
    assert_eq!(v["data"][0][0], "ivoa.ObsCore");
    assert_eq!(v["data"].as_array().map(Vec::len), Some(6));
    // Quoted names match exactly; unquoted ones in any case.
    let (s, _, _) = get(
        &gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", "SELECT \"S_RA\" FROM ivoa.ObsCore"),
        ],
    )
    .await;
    assert_eq!(s, 400);
    let (s, _, _) = get(
        &gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", "SELECT S_RA, \"s_ra\" FROM IVOA.OBSCORE"),
        ],
    )
    .await;
    assert_eq!(s, 200);
}

async fn bad_requests_get_dali_error_documents(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), None, &db).await;
    let cases: [(&[(&str, &str)], &str); 8] = [
        (&[("LANG", "ADQL")], "QUERY is missing"),
        (
            &[("LANG", "SQL"), ("QUERY", "SELECT * FROM ivoa.ObsCore")],
            "LANG=SQL is not supported",
        ),
        (
            &[("LANG", "ADQL"), ("QUERY", "SELECT * FROM ivoa.nothing")],
            "table 'ivoa.nothing' does not exist at line 1, column 15",
        ),
        (
            &[
                ("LANG", "ADQL"),
                ("QUERY", "SELECT s_ra, bogus FROM ivoa.ObsCore"),
            ],
            "column 'bogus' does not exist in table ivoa.ObsCore at line 1, column 14",
        ),
        (
            &[
                ("LANG", "ADQL"),
                ("QUERY", "SELECT s_ra FROM ivoa.ObsCore WHERE"),
            ],
            "ADQL syntax error",
        ),
        (
            &[
                ("LANG", "ADQL"),
                ("QUERY", "SELECT s_ra FROM ivoa.ObsCore; DROP TABLE x"),
            ],
            "one query only",
        ),
        (
            &[
                ("LANG", "ADQL"),
                ("QUERY", "SELECT s_ra FROM ivoa.ObsCore"),
                ("RESPONSEFORMAT", "image/png"),
            ],
            "RESPONSEFORMAT 'image/png'",
        ),
        (
            &[
                ("LANG", "ADQL"),
                ("QUERY", "SELECT s_ra FROM ivoa.ObsCore"),
                ("MAXREC", "lots"),
            ],
            "MAXREC=lots",
        ),
    ];
    for (params, want) in cases {
        let (s, ct, body) = get(&gw, params).await;
        assert_eq!(s, 400, "{want}: {body}");
        assert_eq!(ct, "application/x-votable+xml");
        assert!(
            body.contains("<INFO name=\"QUERY_STATUS\" value=\"ERROR\">"),
            "{body}"
        );
        assert!(body.contains(want), "{want} not in {body}");
    }
}

async fn post_form_works_and_files_are_served_through_obscore(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), None, &db).await;
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let req = test::TestRequest::post()
        .uri("/tap/sync")
        .set_form([
            ("lang", "ADQL"),
            (
                "query",
                "SELECT access_url, access_estsize, access_format FROM ivoa.ObsCore WHERE obs_id = 'm42.fits'",
            ),
            ("responseformat", "json"),
        ])
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status().as_u16(), 200);
    let v: serde_json::Value = serde_json::from_slice(&test::read_body(resp).await).expect("json");
    // access_url is the dataset's DataLink links (as Rubin's live ObsCore), which lead to
    // the file.
    let url = v["data"][0][0].as_str().expect("url").to_string();
    assert_eq!(
        url,
        "http://127.0.0.1:8080/datalink/links?ID=ivo%3A%2F%2Fvogate.local%2Fvogate%3Fm42.fits"
    );
    assert_eq!(
        v["data"][0][2],
        "application/x-votable+xml;content=datalink"
    );
    let size = std::fs::metadata(dir.path().join("demo-sky/m42.fits"))
        .expect("file")
        .len();
    assert_eq!(v["data"][0][1], size.div_ceil(1024));
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri(url.trim_start_matches("http://127.0.0.1:8080"))
            .to_request(),
    )
    .await;
    let links = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(
        links.contains("<TD>http://127.0.0.1:8080/files/m42.fits</TD><TD/><TD/><TD>#this</TD>"),
        "{links}"
    );
    // A TAP result holding obs_publisher_did (under an alias too) carries a DataLink
    // service descriptor whose ID comes from that column; others carry none.
    for (query, descriptor) in [
        ("SELECT obs_id, obs_publisher_did FROM ivoa.ObsCore", true),
        ("SELECT obs_publisher_did AS did FROM ivoa.ObsCore", true),
        ("SELECT obs_id FROM ivoa.ObsCore", false),
    ] {
        let resp = test::call_service(
            &app,
            test::TestRequest::post()
                .uri("/tap/sync")
                .set_form([("LANG", "ADQL"), ("QUERY", query)])
                .to_request(),
        )
        .await;
        assert_eq!(resp.status().as_u16(), 200, "{query}");
        let doc = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
        assert_eq!(
            doc.contains(
                "<PARAM name=\"ID\" datatype=\"char\" arraysize=\"*\" value=\"\" ref=\"vogate_datalink_id\"/>"
            ),
            descriptor,
            "{query}: {doc}"
        );
        assert_eq!(
            doc.contains("ID=\"vogate_datalink_id\""),
            descriptor,
            "{query}"
        );
        if descriptor {
            assert!(doc.contains(
                "<PARAM name=\"accessURL\" datatype=\"char\" arraysize=\"*\" value=\"http://127.0.0.1:8080/datalink/links\"/>"
            ));
        }
    }
    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/files/m42.fits").to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/fits")
    );
    let body = test::read_body(resp).await;
    assert_eq!(body.len() as u64, size);
    assert!(body.starts_with(b"SIMPLE  ="));
    // Cut short after ingest (being rewritten, say): no longer served as the product.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join("demo-sky/m42.fits"))
        .expect("open");
    file.set_len(size / 2).expect("truncate");
    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/files/m42.fits").to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 404);
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(
        body.contains("not a whole FITS file now: short: HDU 0 declares"),
        "{body}"
    );
    for bad in [
        "/files/nothing.fits",
        "/files/..%2F..%2Fetc%2Fpasswd",
        "/files/%zz",
    ] {
        let resp = test::call_service(&app, test::TestRequest::get().uri(bad).to_request()).await;
        let status = resp.status().as_u16();
        let body = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
        assert!(status == 404 || status == 400, "{bad}: {status}");
        assert!(
            body.contains("QUERY_STATUS\" value=\"ERROR\""),
            "{bad}: {body}"
        );
    }
}

async fn hostile_requests_get_clear_errors_and_the_server_survives(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), None, &db).await;
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let post = |body: Vec<u8>| {
        test::TestRequest::post()
            .uri("/tap/sync")
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body)
            .to_request()
    };
    // 200,000 terms: refused by the translator, whose big stack also survives dropping the tree.
    let sum = vec!["1"; 200_000].join("+");
    let body = format!(
        "LANG=ADQL&QUERY=SELECT+{}+AS+a+FROM+ivoa.ObsCore",
        sum.replace('+', "%2B")
    );
    let resp = test::call_service(&app, post(body.into_bytes())).await;
    assert_eq!(resp.status().as_u16(), 400);
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(text.contains("200000 terms; the limit is 500"), "{text}");
    // Just under the size translated on the worker thread (4096 bytes): a 2000-term chain.
    let sum = vec!["1"; 2000].join("+");
    let q = format!("SELECT {sum} AS a FROM ivoa.ObsCore");
    assert!(q.len() <= 4096);
    let (s, _, body) = get(&gw, &[("LANG", "ADQL"), ("QUERY", q.as_str())]).await;
    assert_eq!(s, 400);
    assert!(body.contains("2000 terms; the limit is 500"), "{body}");
    // Over the body limit: 413 with a DALI error document.
    let resp = test::call_service(&app, post(vec![b'a'; (1 << 20) + 1])).await;
    assert_eq!(resp.status().as_u16(), 413);
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(text
        .contains("QUERY_STATUS\" value=\"ERROR\">the request body is larger than 1048576 bytes"));
    // Latin-1 bytes are not silently replaced.
    let resp = test::call_service(
        &app,
        post(
            b"LANG=ADQL&QUERY=SELECT+obs_id+FROM+ivoa.ObsCore+WHERE+obs_id%3D%27caf%E9%27".to_vec(),
        ),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 400);
    // Integer overflow is an error on both backends, as in PostgreSQL.
    let (s, _, body) = get(
        &gw,
        &[
            ("LANG", "ADQL"),
            (
                "QUERY",
                "SELECT TOP 1 9223372036854775807 + 1 AS a FROM ivoa.ObsCore",
            ),
        ],
    )
    .await;
    assert_eq!(s, 400, "{body}");
    // Both refuse the sum itself, with PostgreSQL's message (SQLite through vogate_arith).
    assert!(body.contains("bigint out of range"), "{db:?}: {body}");
    // Database errors do not show the generated SQL.
    let (s, _, body) = get(
        &gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", "SELECT obs_id FROM ivoa.ObsCore ORDER BY -1"),
        ],
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        !body.contains("LIMIT") && body.contains("ORDER BY -1"),
        "{body}"
    );
    // Unknown routes answer with an error document; HEAD works on files.
    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/nothing/here").to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 404);
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(text.contains("nothing is served at /nothing/here"));
    let resp = test::call_service(
        &app,
        test::TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri("/files/m31.fits")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    // And the server still answers.
    let v = json_rows(&gw, "SELECT COUNT(*) FROM ivoa.ObsCore").await;
    assert_eq!(v["data"][0][0], 5);
}

async fn vosi_documents_describe_what_tap_schema_publishes(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), None, &db).await;
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let fetch = |uri: &str| test::TestRequest::get().uri(uri).to_request();
    let text = |b: actix_web::web::Bytes| String::from_utf8(b.to_vec()).expect("utf8");
    let resp = test::call_service(&app, fetch("/tap/capabilities")).await;
    assert_eq!(resp.status().as_u16(), 200);
    let caps = text(test::read_body(resp).await);
    assert!(caps.contains("<accessURL use=\"base\">http://127.0.0.1:8080/tap</accessURL>"));
    assert!(caps.contains("<dataModel ivo-id=\"ivo://ivoa.net/std/ObsCore#core-1.1\">"));
    assert!(caps.contains("<version ivo-id=\"ivo://ivoa.net/std/ADQL#v2.1\">2.1</version>"));
    assert!(caps.contains("<default unit=\"row\">10000</default><hard unit=\"row\">1000000</hard>"));
    // Browsers (Aladin Lite, the portal) may call every service: CORS on answers, errors
    // and preflights alike.
    for uri in [
        "/tap/sync?LANG=ADQL&QUERY=SELECT+TOP+1+obs_id+FROM+ivoa.ObsCore",
        "/tap/sync?LANG=ADQL",
        "/tap/capabilities",
        "/datalink/links?ID=ivo://nowhere/x",
        "/nothing/here",
    ] {
        let resp = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(uri)
                .insert_header(("Origin", "http://portal.example"))
                .to_request(),
        )
        .await;
        assert_eq!(
            resp.headers()
                .get("access-control-allow-origin")
                .map(|v| v.as_bytes()),
            Some(&b"*"[..]),
            "{uri}: {:?}",
            resp.headers()
        );
    }
    let preflight = test::call_service(
        &app,
        test::TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/tap/sync")
            .insert_header(("Origin", "http://portal.example"))
            .insert_header(("Access-Control-Request-Method", "POST"))
            .to_request(),
    )
    .await;
    assert_eq!(preflight.status().as_u16(), 200);
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(&b"*"[..])
    );
    // The base URL clients are given answers a page that links every TAP endpoint.
    for base in ["/tap", "/tap/"] {
        let resp = test::call_service(&app, fetch(base)).await;
        assert_eq!(resp.status().as_u16(), 200, "{base}");
        assert_eq!(
            resp.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"text/html; charset=utf-8"[..])
        );
        let page = text(test::read_body(resp).await);
        for endpoint in ["sync", "tables", "capabilities", "availability"] {
            assert!(
                page.contains(&format!(
                    "<a href=\"http://127.0.0.1:8080/tap/{endpoint}\">"
                )),
                "{endpoint}: {page}"
            );
        }
        assert!(page.contains("over 6 published tables"), "{page}");
    }
    let tables = text(test::read_body(test::call_service(&app, fetch("/tap/tables")).await).await);
    assert_eq!(tables.matches("<table>").count(), 6);
    assert_eq!(tables.matches("<column").count(), 30 + 4 + 6 + 14 + 5 + 3);
    assert!(tables.contains("<column std=\"true\"><name>s_ra</name><description>Central Spatial Position in ICRS; Right ascension</description><unit>deg</unit><ucd>pos.eq.ra</ucd>"));
    assert!(tables.contains("<name>&quot;size&quot;</name>"));
    let min = text(
        test::read_body(test::call_service(&app, fetch("/tap/tables?detail=min")).await).await,
    );
    assert_eq!(
        (
            min.matches("<table>").count(),
            min.matches("<column").count()
        ),
        (6, 0)
    );
    let one = text(
        test::read_body(test::call_service(&app, fetch("/tap/tables/ivoa.obscore")).await).await,
    );
    assert!(
        one.starts_with("<?xml")
            && one.contains("<vosi:table ")
            && one.ends_with("</vosi:table>\n")
    );
    assert_eq!(one.matches("<column").count(), 30);
    let resp = test::call_service(&app, fetch("/tap/tables/ivoa.nothing")).await;
    assert_eq!(resp.status().as_u16(), 404);
    let resp = test::call_service(&app, fetch("/tap/tables?detail=all")).await;
    assert_eq!(resp.status().as_u16(), 400);
    let avail =
        text(test::read_body(test::call_service(&app, fetch("/tap/availability")).await).await);
    assert!(avail.contains("<vosi:available>true</vosi:available>"));
    // The delimited TAP_SCHEMA column "size" is queried with quotes, and only so.
    let (s, _, _) = get(
        &gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", "SELECT \"size\" FROM TAP_SCHEMA.columns"),
        ],
    )
    .await;
    assert_eq!(s, 200);
    let (s, _, _) = get(
        &gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", "SELECT \"SIZE\" FROM TAP_SCHEMA.columns"),
        ],
    )
    .await;
    assert_eq!(s, 400);
}

async fn datalink_links_point_to_the_product_file(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), None, &db).await;
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let uri = "/datalink/links?ID=ivo%3A%2F%2Fvogate.local%2Fvogate%3Fm31.fits&ID=ivo%3A%2F%2Fvogate.local%2Fvogate%3Fnope.fits";
    let resp = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/x-votable+xml;content=datalink")
    );
    let doc = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    let size = std::fs::metadata(dir.path().join("demo-sky/m31.fits"))
        .expect("file")
        .len();
    assert!(doc.contains(&format!("<TR><TD>ivo://vogate.local/vogate?m31.fits</TD><TD>http://127.0.0.1:8080/files/m31.fits</TD><TD/><TD/><TD>#this</TD><TD>The product file m31.fits</TD><TD>application/fits</TD><TD>{size}</TD><TD>#image</TD><TD/></TR>")), "{doc}");
    assert!(doc.contains(
        "<TD>NotFoundFault: no dataset has the ID ivo://vogate.local/vogate?nope.fits</TD>"
    ));
    assert!(
        doc.contains("<INFO name=\"standardID\" value=\"ivo://ivoa.net/std/DataLink#links-1.1\"/>")
    );
    // Two #cutout rows (SODA sync and async), each naming its service descriptor, which
    // fixes the ID and bounds CIRCLE by the covering circle from ObsCore.
    for service in ["sync", "async"] {
        assert!(doc.contains(&format!(
            "<TR><TD>ivo://vogate.local/vogate?m31.fits</TD><TD/><TD>soda-{service}-1</TD><TD/><TD>#cutout</TD>"
        )), "{doc}");
        let at = doc
            .find(&format!(
                "<RESOURCE ID=\"soda-{service}-1\" type=\"meta\" utype=\"adhoc:service\">"
            ))
            .unwrap_or_else(|| panic!("descriptor soda-{service}-1 in {doc}"));
        let resource = &doc[at..at + doc[at..].find("</RESOURCE>").expect("end")];
        assert!(resource.contains(
            "name=\"ID\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.id;meta.dataset\" value=\"ivo://vogate.local/vogate?m31.fits\""
        ));
        assert!(resource.contains(&format!(
            "name=\"accessURL\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.ref.url\" value=\"http://127.0.0.1:8080/soda/{service}\""
        )));
        assert!(resource.contains(&format!("value=\"ivo://ivoa.net/std/SODA#{service}-1.0\"")));
    }
    assert!(
        !doc.contains("soda-sync-2"),
        "no descriptor for an unknown ID"
    );
    let v = json_rows(
        &gw,
        "SELECT s_ra, s_dec, s_fov FROM ivoa.ObsCore WHERE obs_id = 'm31.fits'",
    )
    .await;
    let f = |i: usize| v["data"][0][i].as_f64().expect("number");
    let max = &doc[doc.find("xtype=\"circle\"").expect("CIRCLE")..];
    let max = &max[max.find("<MAX value=\"").expect("MAX") + 12..];
    let circle: Vec<f64> = max[..max.find('"').expect("quote")]
        .split(' ')
        .map(|x| x.parse().expect("number"))
        .collect();
    assert_eq!(circle.len(), 3);
    for (got, want) in circle.iter().zip([f(0), f(1), f(2) / 2.0]) {
        assert!((got - want).abs() < 1e-9, "{circle:?} against {v}");
    }
    // The same as JSON, for the portal.
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri(&format!("{uri}&RESPONSEFORMAT=application/json"))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    let v: serde_json::Value = serde_json::from_slice(&test::read_body(resp).await).expect("JSON");
    let semantics: Vec<&str> = v["data"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[4].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        semantics,
        ["#this", "#preview", "#cutout", "#cutout", "#this"]
    );
    // The preview: a PNG of the 200 x 200 image, served from the cache the second time.
    let preview = v["data"][1][1].as_str().expect("access_url").to_string();
    assert_eq!(preview, "http://127.0.0.1:8080/preview/m31.fits");
    for _ in 0..2 {
        let resp = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/preview/m31.fits")
                .to_request(),
        )
        .await;
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("image/png")
        );
        let png = test::read_body(resp).await;
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // IHDR: width and height, big-endian, at bytes 16..24.
        assert_eq!(&png[16..24], &[0, 0, 0, 200, 0, 0, 0, 200]);
    }
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/preview/nope.fits")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 404);
    // No ID, an unknown format: DALI errors.
    for bad in ["/datalink/links", &format!("{uri}&RESPONSEFORMAT=text/csv")] {
        let resp = test::call_service(&app, test::TestRequest::get().uri(bad).to_request()).await;
        assert_eq!(resp.status().as_u16(), 400, "{bad}");
    }
    // More IDs than a request is answered for: the first 1,000, and OVERFLOW.
    let mut form: Vec<(&str, String)> = (0..1001)
        .map(|i| ("ID", format!("ivo://vogate.local/vogate?none{i}.fits")))
        .collect();
    form.push(("RESPONSEFORMAT", "votable".into()));
    let resp = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/datalink/links")
            .set_form(&form)
            .to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    let doc = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert_eq!(doc.matches("<TR>").count(), 1000);
    assert!(doc.contains("none999.fits") && !doc.contains("none1000.fits"));
    assert!(doc.contains("<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>"));
    // The VOSI documents.
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/datalink/capabilities")
            .to_request(),
    )
    .await;
    let caps = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(
        caps.contains("standardID=\"ivo://ivoa.net/std/DataLink#links-1.1\""),
        "{caps}"
    );
    assert!(
        caps.contains("<accessURL use=\"base\">http://127.0.0.1:8080/datalink/links</accessURL>")
    );
    assert!(caps.contains("standardID=\"ivo://ivoa.net/std/DALI#examples\""));
    // The examples (DALI 1.1 §2.3): each one answered with the links of its datasets.
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/datalink/examples")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    let doc = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    let examples = generic_parameters(&doc);
    let names: Vec<&str> = examples.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["links", "links-json", "two-datasets"], "{doc}");
    for (name, params) in &examples {
        let qs = serde_urlencoded::to_string(params).expect("encode");
        let resp = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(&format!("/datalink/links?{qs}"))
                .to_request(),
        )
        .await;
        assert_eq!(resp.status().as_u16(), 200, "{name}");
        let body = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
        let ids = params.iter().filter(|(k, _)| k == "ID").count();
        // Every dataset's #this, and no fault.
        assert_eq!(
            body.matches("\"#this\"").count() + body.matches("<TD>#this</TD>").count(),
            ids,
            "{name}: {body}"
        );
        assert!(!body.contains("Fault"), "{name}: {body}");
    }
}

async fn soda_cuts_products_and_refuses_bad_requests(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), None, &db).await;
    let v = json_rows(
        &gw,
        "SELECT s_ra, s_dec FROM ivoa.ObsCore WHERE obs_id = 'm31.fits'",
    )
    .await;
    let (ra, dec) = (
        v["data"][0][0].as_f64().expect("s_ra"),
        v["data"][0][1].as_f64().expect("s_dec"),
    );
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let id = "ivo://vogate.local/vogate?m31.fits";
    let call = |params: Vec<(&'static str, String)>| {
        let qs = serde_urlencoded::to_string(&params).expect("encode");
        test::TestRequest::get()
            .uri(&format!("/soda/sync?{qs}"))
            .to_request()
    };
    // A circle at the centre: a FITS file, smaller than the product, with the values there.
    let resp = test::call_service(
        &app,
        call(vec![
            ("ID", id.into()),
            ("CIRCLE", format!("{ra} {dec} 0.05")),
        ]),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/fits")
    );
    let body = test::read_body(resp).await;
    let cut = dir.path().join("cut.fits");
    std::fs::write(&cut, &body).expect("write");
    let original = dir.path().join("demo-sky/m31.fits");
    let layout = vo_fits::check_file(&cut).expect("a whole FITS file");
    let whole = vo_fits::check_file(&original).expect("the product");
    let (n, w) = (&layout[0].naxis, &whole[0].naxis);
    assert!(
        n[0] < w[0] && n[1] < w[1] && n[0] > 5 && n[1] > 5,
        "{n:?} of {w:?}"
    );
    let headers = vo_fits::read_headers(&cut).expect("headers");
    let wcs = vo_fits::CelestialWcs::from_header(&headers.images[0]).expect("a WCS");
    // The circle's centre is in the middle of the cut, as the cut's own WCS says.
    let (x, y) = wcs
        .icrs_to_pixel(vo_common::sky::SkyPoint::new(ra, dec))
        .expect("on the cut");
    assert!((x - (n[0] as f64 + 1.0) / 2.0).abs() <= 1.0, "{x} in {n:?}");
    assert!((y - (n[1] as f64 + 1.0) / 2.0).abs() <= 1.0, "{y} in {n:?}");
    // POST with a form body answers the same.
    let resp = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/soda/sync")
            .set_form([
                ("ID", id.to_string()),
                ("CIRCLE", format!("{ra} {dec} 0.05")),
            ])
            .to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(test::read_body(resp).await, body);
    // No overlap: 204 without a body.
    let resp = test::call_service(
        &app,
        call(vec![
            ("ID", id.into()),
            ("CIRCLE", format!("{} {dec} 0.05", ra + 20.0)),
        ]),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 204);
    assert!(test::read_body(resp).await.is_empty());
    // Bad requests: the SODA error word, the status, the parameter named.
    for (params, status, starts) in [
        (
            vec![
                ("ID", "ivo://vogate.local/vogate?nope.fits".to_string()),
                ("CIRCLE", "1 1 1".into()),
            ],
            404,
            "UsageError: no dataset has the ID ivo://vogate.local/vogate?nope.fits",
        ),
        (
            vec![
                ("ID", "../../etc/passwd".to_string()),
                ("CIRCLE", "1 1 1".into()),
            ],
            404,
            "UsageError: no dataset has the ID ../../etc/passwd",
        ),
        (
            vec![("ID", id.to_string()), ("CIRCLE", "1 1".into())],
            400,
            "UsageError: CIRCLE: a circle takes 3 numbers",
        ),
        (
            vec![("ID", id.to_string()), ("CIRCLE", "1 1 0".into())],
            400,
            "UsageError: CIRCLE: the radius 0",
        ),
        (
            vec![("ID", id.to_string()), ("CIRCLE", "1 91 1".into())],
            400,
            "UsageError: CIRCLE: the latitude 91",
        ),
        (
            vec![("ID", id.to_string()), ("CIRCLE", "NaN 1 1".into())],
            400,
            "UsageError: CIRCLE: 'NaN' is not a number",
        ),
        (
            vec![
                ("ID", id.to_string()),
                ("CIRCLE", "1 1 1".into()),
                ("CIRCLE", "2 2 1".into()),
            ],
            400,
            "MultiValuedParamNotSupported: the spatial shape",
        ),
        (
            vec![("CIRCLE", "1 1 1".to_string())],
            400,
            "UsageError: ID is missing",
        ),
        (
            vec![("ID", id.to_string()), ("POL", "QU".into())],
            400,
            "UsageError: POL: 'QU' is not a polarization state",
        ),
    ] {
        let resp = test::call_service(&app, call(params.clone())).await;
        assert_eq!(resp.status().as_u16(), status, "{params:?}");
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(ct.starts_with("text/plain"), "{params:?}: {ct}");
        let text = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
        assert!(text.starts_with(starts), "{params:?}: {text}");
    }
    // POL is a set (several on sync are one cutout); a product without a STOKES axis is
    // not narrowed by it: the same cut as without.
    let cut_of = |params: Vec<(&'static str, String)>| {
        let app = &app;
        let req = call(params);
        async move {
            let resp = test::call_service(app, req).await;
            assert_eq!(resp.status().as_u16(), 200);
            test::read_body(resp).await
        }
    };
    let circle = ("CIRCLE", format!("{ra} {dec} 0.05"));
    let plain = cut_of(vec![("ID", id.into()), circle.clone()]).await;
    let with_pol = cut_of(vec![
        ("ID", id.into()),
        circle,
        ("POL", "I".into()),
        ("POL", "V".into()),
    ])
    .await;
    assert!(
        plain == with_pol,
        "POL changed a cut of an image without STOKES"
    );
    // The examples document (DALI 1.1 §2.3): every example is a cutout of a demo product.
    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/soda/examples").to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    let doc = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(
        doc.contains("vocab=\"http://www.ivoa.net/rdf/examples#\""),
        "{doc}"
    );
    let examples = generic_parameters(&doc);
    let names: Vec<&str> = examples.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        names,
        ["circle", "pos-circle", "pos-range", "polygon"],
        "{doc}"
    );
    // Each example's box is about the circle's diameter in m31's 0.0025-degree pixels.
    let radius: f64 = examples[0].1[1]
        .1
        .split(' ')
        .nth(2)
        .and_then(|r| r.parse().ok())
        .expect("the circle's radius");
    let across = 2.0 * radius / 0.0025;
    assert!(across > 10.0 && across < 200.0, "{across}");
    for (name, params) in &examples {
        assert_eq!(params[0], ("ID".to_string(), id.to_string()), "{name}");
        let qs = serde_urlencoded::to_string(params).expect("encode");
        let resp = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(&format!("/soda/sync?{qs}"))
                .to_request(),
        )
        .await;
        assert_eq!(resp.status().as_u16(), 200, "example {name}: {qs}");
        let body = test::read_body(resp).await;
        let cut = dir.path().join(format!("{name}.fits"));
        std::fs::write(&cut, &body).expect("write");
        let n = &vo_fits::check_file(&cut).expect("a whole FITS file")[0].naxis;
        assert!(
            n[..2].iter().all(|&k| (k as f64 - across).abs() <= 2.5),
            "example {name}: {n:?}, {across} pixels expected"
        );
    }
    // A product cut short since ingest cannot be cut (the cache sees the change).
    let size = std::fs::metadata(&original).expect("stat").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&original)
        .expect("open")
        .set_len(size / 2)
        .expect("truncate");
    let resp = test::call_service(
        &app,
        call(vec![
            ("ID", id.into()),
            ("CIRCLE", format!("{ra} {dec} 0.05")),
        ]),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 404);
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(
        text.starts_with(&format!(
            "UsageError: the dataset {id} cannot be cut: short: HDU 0 declares"
        )),
        "{text}"
    );
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/soda/capabilities")
            .to_request(),
    )
    .await;
    let caps = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    for id in ["sync", "async"] {
        assert!(
            caps.contains(&format!("standardID=\"ivo://ivoa.net/std/SODA#{id}-1.0\"")),
            "{caps}"
        );
    }
    assert!(
        caps.contains("standardID=\"ivo://ivoa.net/std/DALI#examples\"")
            && caps.contains("/soda/examples</accessURL>"),
        "{caps}"
    );
}

/// The examples of a DALI examples document (DALI 1.1 §2.3) as (id, generic parameters),
/// read with plain string search (the document's markup is vogate's own).
fn generic_parameters(doc: &str) -> Vec<(String, Vec<(String, String)>)> {
    let unescape = |s: &str| {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
    };
    let between = |s: &str, a: &str, b: &str| -> Option<String> {
        let i = s.find(a)? + a.len();
        let j = s[i..].find(b)? + i;
        Some(s[i..j].to_string())
    };
    doc.split("<div typeof=\"example\"")
        .skip(1)
        .map(|ex| {
            let id = between(ex, "id=\"", "\"").expect("id");
            let params = ex
                .split("<span property=\"generic-parameter\" typeof=\"keyval\">")
                .skip(1)
                .map(|p| {
                    let k = between(p, "<span property=\"key\">", "</span>").expect("key");
                    let v = between(p, "<span property=\"value\">", "</span>").expect("value");
                    (unescape(&k), unescape(&v))
                })
                .collect();
            (id, params)
        })
        .collect()
}

/// The obs_ids of the rows of a JSON table that has an obs_id column, sorted.
fn obs_ids(v: &serde_json::Value) -> Vec<String> {
    let column = v["metadata"]
        .as_array()
        .expect("columns")
        .iter()
        .position(|c| c["name"] == "obs_id")
        .expect("an obs_id column");
    let mut ids: Vec<String> = v["data"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[column].as_str().expect("obs_id").to_string())
        .collect();
    ids.sort();
    ids
}

/// An SIA test: its parameters, the same question in ADQL, the demo products answering it.
type SiaCase = (
    Vec<(&'static str, &'static str)>,
    &'static str,
    Vec<&'static str>,
);

async fn sia_queries_return_the_rows_of_their_adql(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), None, &db).await;
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let all = ["m31", "m42", "ncp_field", "ra0_field", "sgr_a"];
    // (SIA parameters, the same question in ADQL, the demo products that answer it).
    let cases: Vec<SiaCase> = vec![
        (vec![("POS", "CIRCLE 10.684708 41.26875 0.1")], "INTERSECTS(s_region, CIRCLE('ICRS', 10.684708, 41.26875, 0.1)) = 1", vec!["m31"]),
        (vec![("POS", "CIRCLE 0 10 1")], "INTERSECTS(s_region, CIRCLE('ICRS', 0, 10, 1)) = 1", vec!["ra0_field"]),
        (vec![("POS", "RANGE 359 1 9 11")], "INTERSECTS(s_region, POLYGON('ICRS', 359, 9, 1, 9, 1, 11, 359, 11)) = 1", vec!["ra0_field"]),
        (vec![("POS", "POLYGON 83 -6 84.5 -6 84 -4.5")], "INTERSECTS(s_region, POLYGON('ICRS', 83, -6, 84.5, -6, 84, -4.5)) = 1", vec!["m42"]),
        (vec![("POS", "RANGE 40 50 89 90")], "INTERSECTS(s_region, POLYGON('ICRS', 40, 89, 50, 89, 0, 90)) = 1", vec!["ncp_field"]),
        (vec![("POS", "CIRCLE 0 90 0.5")], "INTERSECTS(s_region, CIRCLE('ICRS', 0, 90, 0.5)) = 1", vec!["ncp_field"]),
        (vec![("POS", "CIRCLE 10.684708 41.26875 0.1"), ("POS", "CIRCLE 83.82208 -5.39111 0.1")],
            "INTERSECTS(s_region, CIRCLE('ICRS', 10.684708, 41.26875, 0.1)) = 1 OR INTERSECTS(s_region, CIRCLE('ICRS', 83.82208, -5.39111, 0.1)) = 1", vec!["m31", "m42"]),
        (vec![("TIME", "60481 60482")], "t_max >= 60481 AND t_min <= 60482", vec!["sgr_a"]),
        (vec![("TIME", "60300 60350")], "t_max >= 60300 AND t_min <= 60350", vec!["m31", "m42"]),
        (vec![("TIME", "-Inf 60330")], "t_min <= 60330", vec!["m31"]),
        (vec![("EXPTIME", "100 400")], "t_exptime BETWEEN 100 AND 400", vec!["m31", "m42"]),
        (vec![("EXPTIME", "600")], "t_exptime = 600", vec!["ncp_field"]),
        (vec![("TARGET", "M42")], "target_name = 'M42'", vec!["m42"]),
        (vec![("TARGET", "M31"), ("TARGET", "M42")], "target_name IN ('M31', 'M42')", vec!["m31", "m42"]),
        (vec![("CALIB", "2")], "calib_level = 2", all.to_vec()),
        (vec![("CALIB", "3")], "calib_level = 3", vec![]),
        (vec![("DPTYPE", "cube")], "dataproduct_type = 'cube'", vec![]),
        (vec![("SPATRES", "0.002 0.0027")], "s_resolution BETWEEN 7.2 AND 9.72", vec!["m31", "m42"]),
        (vec![("FOV", "0 0.6")], "s_fov <= 0.6", vec!["m42"]),
        (vec![("ID", "ivo://vogate.local/vogate?m31.fits")], "obs_publisher_did = 'ivo://vogate.local/vogate?m31.fits'", vec!["m31"]),
        (vec![("COLLECTION", "vogate"), ("INSTRUMENT", "synthetic camera")], "obs_collection = 'vogate' AND instrument_name = 'synthetic camera'", all.to_vec()),
        (vec![("BAND", "4e-7 6e-7")], "em_max >= 4e-7 AND em_min <= 6e-7", vec![]),
        (vec![("POS", "CIRCLE 0 0 80"), ("TIME", "60500 +Inf"), ("EXPTIME", "0 100")],
            "t_max >= 60500 AND t_exptime <= 100", vec!["ra0_field"]),
    ];
    for (sia, adql, want) in &cases {
        let mut params = sia.clone();
        params.push(("RESPONSEFORMAT", "json"));
        let qs = serde_urlencoded::to_string(&params).expect("encode");
        let resp = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(&format!("/sia/query?{qs}"))
                .to_request(),
        )
        .await;
        assert_eq!(resp.status().as_u16(), 200, "{sia:?}");
        let got: serde_json::Value =
            serde_json::from_slice(&test::read_body(resp).await).expect("json");
        let by_adql = json_rows(
            &gw,
            &format!("SELECT obs_id FROM ivoa.ObsCore WHERE {adql}"),
        )
        .await;
        let want: Vec<String> = want.iter().map(|w| format!("{w}.fits")).collect();
        assert_eq!(obs_ids(&got), want, "SIA {sia:?}");
        assert_eq!(obs_ids(&by_adql), want, "ADQL {adql}");
    }
    // The answer is the ObsCore table, in VOTable by default, with MAXREC and overflow.
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/sia/query?MAXREC=2")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    let doc = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert_eq!(doc.matches("<TR>").count(), 2);
    assert!(doc.contains("<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>"));
    assert!(doc.contains("<FIELD name=\"s_region\""));
    assert!(doc.contains("ref=\"vogate_datalink_id\""));
    // Bad values: DALI error documents with 400.
    for (bad, says) in [
        ("POS=CIRCLE+10+20", "POS: a CIRCLE takes 3 numbers"),
        ("BAND=6e-7+5e-7", "BAND: the interval"),
        ("CALIB=x", "CALIB: 'x' is not a calibration level"),
    ] {
        let resp = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(&format!("/sia/query?{bad}"))
                .to_request(),
        )
        .await;
        assert_eq!(resp.status().as_u16(), 400, "{bad}");
        let body = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
        assert!(
            body.contains("QUERY_STATUS\" value=\"ERROR\"") && body.contains(says),
            "{bad}: {body}"
        );
    }
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/sia/capabilities")
            .to_request(),
    )
    .await;
    let caps = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(
        caps.contains("standardID=\"ivo://ivoa.net/std/SIA#query-2.0\""),
        "{caps}"
    );
}

async fn obscore_sync_follows_the_tree(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("tree");
    vo_obscore::demo::write_demo_sky(&tree).expect("demo sky");
    let gw = gateway(dir.path(), Some(&tree), &db).await;
    const ROWS: &str = "SELECT obs_id, s_ra, s_dec, access_url FROM ivoa.ObsCore ORDER BY obs_id";
    assert_eq!(
        json_rows(&gw, ROWS).await["data"].as_array().map(Vec::len),
        Some(5)
    );
    // While the gateway serves: a file arrives (in a sub-folder), one leaves, one is
    // renamed, one is overwritten with another pointing.
    std::fs::create_dir_all(tree.join("night2")).expect("dir");
    std::fs::copy(tree.join("m31.fits"), tree.join("night2/copy.fits")).expect("copy");
    std::fs::remove_file(tree.join("m42.fits")).expect("remove");
    std::fs::rename(tree.join("sgr_a.fits"), tree.join("sgr_a_renamed.fits")).expect("rename");
    std::fs::copy(tree.join("m31.fits"), tree.join("ra0_field.fits")).expect("overwrite");
    let report = vogate::obscore_sync(&gw.settings, &tree).expect("sync");
    // Only the new, renamed and overwritten files are read; m42 and sgr_a's old name go.
    assert_eq!(
        (report.files, report.read, report.deleted, report.rows),
        (5, 3, 2, 5),
        "{report:?}"
    );
    assert!(report.failed.is_empty(), "{report:?}");
    // TAP sees the new rows at once, through the same server.
    let v = json_rows(&gw, ROWS).await;
    let ids: Vec<&str> = v["data"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[0].as_str().expect("obs_id"))
        .collect();
    assert_eq!(
        ids,
        [
            "m31.fits",
            "ncp_field.fits",
            "night2/copy.fits",
            "ra0_field.fits",
            "sgr_a_renamed.fits"
        ]
    );
    let row = |id: &str| {
        v["data"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r[0] == id)
            .expect("row")
            .clone()
    };
    // The overwritten file has its new pointing (M31's), the renamed one its new name.
    assert!((row("ra0_field.fits")[1].as_f64().expect("s_ra") - 10.684708).abs() < 1e-6);
    assert!((row("ra0_field.fits")[2].as_f64().expect("s_dec") - 41.26875).abs() < 1e-6);
    assert!(row("sgr_a_renamed.fits")[3]
        .as_str()
        .expect("access_url")
        .ends_with("%3Fsgr_a_renamed.fits"));
    // The old DID is gone from DataLink: a NotFoundFault row.
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/datalink/links?ID=ivo%3A%2F%2Fvogate.local%2Fvogate%3Fsgr_a.fits")
            .to_request(),
    )
    .await;
    let doc = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(
        doc.contains("NotFoundFault: no dataset has the ID ivo://vogate.local/vogate?sgr_a.fits"),
        "{doc}"
    );
    // A corrupt file is reported, keeps no row, and the rest are kept.
    std::fs::write(tree.join("broken.fits"), b"SIMPLE  = not a FITS file").expect("write");
    let report = vogate::obscore_sync(&gw.settings, &tree).expect("sync");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].0, "broken.fits");
    assert!(report.failed[0].1.contains("short"), "{report:?}");
    assert_eq!((report.read, report.deleted, report.rows), (1, 0, 5));
    // Nothing changed: nothing is read, and the failure is still listed.
    let report = vogate::obscore_sync(&gw.settings, &tree).expect("sync");
    assert_eq!((report.files, report.read, report.rows), (6, 0, 5));
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(
        json_rows(&gw, ROWS).await["data"].as_array().map(Vec::len),
        Some(5)
    );
    // Another data tree, or other settings than the server's (its base URL): refused, as
    // it would remake or delete every row the server serves.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    let e = vogate::obscore_sync(&gw.settings, &other).expect_err("another tree");
    assert!(
        e.message
            .contains("made from another data tree or with other settings"),
        "{}",
        e.message
    );
    let mut elsewhere = gw.settings.clone();
    elsewhere.base_url = "http://elsewhere.example:9".into();
    let e = vogate::obscore_sync(&elsewhere, &tree).expect_err("another base URL");
    assert!(
        e.message.contains("give the server's --config"),
        "{}",
        e.message
    );
    assert_eq!(
        json_rows(&gw, ROWS).await["data"].as_array().map(Vec::len),
        Some(5)
    );
    // Not a folder: a clear error.
    let e = vogate::obscore_sync(&gw.settings, &tree.join("m31.fits")).expect_err("a file");
    assert!(e.message.contains("is not a folder"), "{}", e.message);
    // A database never served has no ObsCore to sync: said so, and nothing is made.
    if let Db::Sqlite = db {
        let fresh = resolve(
            Flags {
                workdir: Some(dir.path().join("fresh")),
                ..Default::default()
            },
            Default::default(),
            None,
        )
        .expect("settings");
        let e = vogate::obscore_sync(&fresh, &tree).expect_err("no ObsCore");
        assert!(e.message.contains("serve it once"), "{}", e.message);
    }
}

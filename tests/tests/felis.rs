//! Felis schemas published on both backends: `vogate schema load` of the real DP0.2 catalog
//! schema creates its tables and TAP_SCHEMA rows, loading it again changes nothing, a changed
//! file is refused with its differences unless metadata-only; the TAP_SCHEMA rows show the
//! file's UCDs, units and descriptions through ADQL; mixed-case names resolve unquoted in any
//! case and quoted exactly; CSV rows load with their types checked, all or nothing.

mod common;

use std::path::{Path, PathBuf};
use vo_tap::publish::Published;
use vogate::settings::{resolve, Flags, Settings};

fn main() -> std::process::ExitCode {
    use vo_testkit::Test;
    let corpus = vo_testkit::shared("corpus/felis");
    vo_testkit::run(vec![
        Test::actix("dp02_schema_on_sqlite", || dp02_on(None)).needs(&corpus),
        Test::actix("dp02_schema_on_postgres", || async {
            let url = vogate_tests::fresh_pg_database("felis_dp02");
            dp02_on(Some(url)).await
        })
        .needs(&corpus)
        .needs(&vogate_tests::postgres()),
        Test::sync(
            "invalid_schemas_refuse_the_whole_load_with_located_messages",
            invalid_schemas_refuse_the_whole_load_with_located_messages,
        )
        .needs(&corpus),
    ])
}

/// ../shared/corpus/felis (declared as a need of every test here).
fn corpus() -> PathBuf {
    vo_testkit::shared_dir("corpus/felis")
}

fn settings(work: &Path, db: Option<String>, schemas: Vec<PathBuf>) -> Settings {
    let flags = Flags {
        workdir: Some(work.to_path_buf()),
        db,
        ..Default::default()
    };
    let file = vo_common::config::FileConfig {
        schemas,
        // Object's position is indexed (HEALPix on SQLite, pgSphere on PostgreSQL).
        positions: vec![vo_common::config::PositionConfig {
            table: "dp02_dc2_catalogs.Object".into(),
            ra: "coord_ra".into(),
            dec: "coord_dec".into(),
        }],
        ..Default::default()
    };
    resolve(flags, file, None).expect("settings")
}

async fn dp02_on(db: Option<String>) {
    let corpus = corpus();
    let dp02 = corpus.join("sdm_schemas/dp02_dc2.yaml");
    let work = tempfile::tempdir().expect("tempdir");
    let s = settings(work.path(), db.clone(), Vec::new());
    let on_postgres = db.is_some();
    let done = vogate::load_schemas(&s, std::slice::from_ref(&dp02), false).expect("load");
    assert_eq!(
        done,
        vec![("dp02_dc2_catalogs".to_string(), Published::Created)]
    );
    let again = vogate::load_schemas(&s, std::slice::from_ref(&dp02), false).expect("again");
    assert_eq!(again[0].1, Published::Unchanged);

    // A changed file: refused with the difference named, then accepted metadata-only.
    let text = std::fs::read_to_string(&dp02).expect("read");
    let changed = text.replacen(
        "description: Unique identifier.",
        "description: CHANGED Unique identifier.",
        1,
    );
    assert_ne!(changed, text, "the edit applies");
    let changed_path = work.path().join("dp02_changed.yaml");
    std::fs::write(&changed_path, changed).expect("write");
    let e =
        vogate::load_schemas(&s, std::slice::from_ref(&changed_path), false).expect_err("changed");
    assert!(
        e.message.contains("already published differently")
            && e.message.contains("TAP_SCHEMA.columns")
            && e.message.contains("CHANGED"),
        "{}",
        e.message
    );
    let meta = vogate::load_schemas(&s, std::slice::from_ref(&changed_path), true).expect("meta");
    assert!(
        matches!(&meta[0].1, Published::MetadataUpdated(d) if d.len() == 1),
        "{meta:?}"
    );
    // Back to the original, and serve it (the config's schemas are published at start, and
    // publishing the same file again there changes nothing).
    vogate::load_schemas(&s, std::slice::from_ref(&dp02), true).expect("restore");
    let gw = vogate::prepare(settings(work.path(), db, vec![dp02.clone()])).expect("prepare");

    // TAP_SCHEMA shows the file's metadata (compared with the file itself).
    let schema = vo_felis::load_file(&dp02, &vo_felis::Checks::default()).expect("valid");
    let object = schema.table("Object").expect("Object");
    let (status, v, body) = common::tap_json(
        &gw,
        "SELECT column_name, ucd, unit, description, datatype FROM TAP_SCHEMA.columns WHERE table_name = 'dp02_dc2_catalogs.Object'",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let got = v["data"].as_array().expect("rows");
    assert_eq!(got.len(), object.columns.len());
    for c in &object.columns {
        let r = got
            .iter()
            .find(|r| r[0] == c.name.as_str())
            .unwrap_or_else(|| panic!("{} missing", c.name));
        assert_eq!(r[1].as_str(), c.ucd.as_deref(), "{}", c.name);
        assert_eq!(r[2].as_str(), c.unit.as_deref(), "{}", c.name);
        assert_eq!(r[3].as_str(), c.description.as_deref(), "{}", c.name);
    }
    let coord_ra = got.iter().find(|r| r[0] == "coord_ra").expect("coord_ra");
    assert_eq!(coord_ra[1], "pos.eq.ra;meta.main");
    assert_eq!(coord_ra[2], "deg");
    assert_eq!(coord_ra[4], "double");

    // Names: unquoted in any case, quoted exactly.
    for adql in [
        "SELECT TOP 1 objectId, coord_ra FROM dp02_dc2_catalogs.Object",
        "SELECT TOP 1 OBJECTID, Coord_RA FROM DP02_DC2_CATALOGS.OBJECT",
        "SELECT TOP 1 \"objectId\" FROM dp02_dc2_catalogs.\"Object\"",
    ] {
        let (status, v, body) = common::tap_json(&gw, adql).await;
        assert_eq!(status, 200, "{adql}: {body}");
        assert_eq!(v["metadata"][0]["name"], "objectId", "{adql}");
    }
    for adql in [
        "SELECT TOP 1 \"objectid\" FROM dp02_dc2_catalogs.Object",
        "SELECT TOP 1 objectId FROM dp02_dc2_catalogs.\"object\"",
    ] {
        let (status, _, body) = common::tap_json(&gw, adql).await;
        assert_eq!(status, 400, "{adql}: {body}");
        assert!(body.contains("does not exist"), "{adql}: {body}");
    }

    // CSV: a good file loads; a bad value is reported by line and column, and nothing loads.
    let good = work.path().join("visit.csv");
    std::fs::write(
        &good,
        "visit,band,physical_filter,ra,decl,skyRotation,azimuth,altitude,zenithDistance,airmass,expTime,expMidpt,expMidptMJD,obsStart,obsStartMJD\n\
         1,r,r_sim_1.4,10.5,-20.25,90,180,60,30,1.15,30,2022-01-01T00:00:15,59580.0002,2022-01-01T00:00:00,59580.0\n\
         2,i,i_sim_1.4,11.5,-21.25,91,181,61,29,1.14,30,2022-01-02 00:00:15,59581.0002,2022-01-02T00:00:00,59581.0\n",
    )
    .expect("csv");
    assert_eq!(
        vogate::load_csv(&s, "dp02_dc2_catalogs.Visit", &good).expect("load csv"),
        2
    );
    let bad = work.path().join("bad.csv");
    std::fs::write(&bad, "visit,band,ra\n3,g,1.0\n4,g,not-a-number\n").expect("csv");
    let e = vogate::load_csv(&s, "dp02_dc2_catalogs.Visit", &bad).expect_err("bad");
    assert!(
        e.message.contains("line 3, column 3 (ra)") && e.message.contains("not-a-number"),
        "{}",
        e.message
    );
    // Values the database would not keep as given: refused on both backends, with the line,
    // and nothing is loaded.
    for (name, csv, words) in [
        ("long_band.csv", "visit,band\n7,g\n8,rr\n", "line 3"),
        // Blank lines count: the bad value is on line 4 of the file.
        ("blank_lines.csv", "visit,band\n\n\r\n8,rr\n", "line 4"),
        (
            "not_ascii.csv",
            "visit,band\n9,\u{e9}\n",
            "line 2, column 2 (band)",
        ),
        (
            "long_filter.csv",
            "visit,physical_filter\n9,abcdefghijklmnopqrstuvwxyz1234567\n",
            "line 2",
        ),
        ("no_key.csv", "visit,band\n10,g\n,r\n", "line 3"),
        (
            "month_13.csv",
            "visit,expMidpt\n11,2022-13-01T00:00:00\n",
            "line 2, column 2 (expMidpt)",
        ),
        (
            "feb_30.csv",
            "visit,obsStart\n12,2022-02-30\n",
            "line 2, column 2 (obsStart)",
        ),
        ("empty.csv", "", "no header line"),
    ] {
        let p = work.path().join(name);
        std::fs::write(&p, csv).expect("csv");
        let e = vogate::load_csv(&s, "dp02_dc2_catalogs.Visit", &p).expect_err(name);
        assert!(
            e.message.contains(words) && e.message.contains("nothing was loaded"),
            "{name}: {}",
            e.message
        );
        assert!(
            !e.message.contains("INSERT INTO"),
            "{name}: SQL in {}",
            e.message
        );
    }
    // A position must be a finite angle (Object's is indexed); elsewhere NaN and the
    // infinities are numbers, but SQLite, which would keep a NaN as NULL, refuses it.
    let e = vogate::load_csv(&s, "dp02_dc2_catalogs.Object", &{
        let p = work.path().join("infinite.csv");
        std::fs::write(&p, "objectId,coord_ra,coord_dec\n13,inf,0\n").expect("csv");
        p
    })
    .expect_err("an infinite position");
    assert!(
        e.message.contains("line 2, column 2 (coord_ra)")
            && e.message.contains("not a finite number")
            && e.message.contains("nothing was loaded"),
        "{}",
        e.message
    );
    let special = work.path().join("special.csv");
    std::fs::write(&special, "visit,ra,decl\n15,inf,-inf\n16,NaN,1\n").expect("csv");
    match vogate::load_csv(&s, "dp02_dc2_catalogs.Visit", &special) {
        Ok(n) => assert!(
            on_postgres && n == 2,
            "{n} rows loaded (SQLite must refuse NaN)"
        ),
        Err(e) => assert!(
            !on_postgres
                && e.message.contains("line 3, column 2 (ra)")
                && e.message.contains("NaN cannot be stored in SQLite"),
            "{}",
            e.message
        ),
    }
    // DALI timestamps: a trailing Z and zero fractions are the same instant, stored alike.
    let z = work.path().join("z.csv");
    std::fs::write(
        &z,
        "visit,expMidpt,obsStart\n14,2022-03-01T10:00:00Z,2022-03-01T10:00:00.500000\n",
    )
    .expect("csv");
    assert_eq!(
        vogate::load_csv(&s, "dp02_dc2_catalogs.Visit", &z).expect("z"),
        1
    );
    let e = vogate::load_csv(&s, "dp02_dc2_catalogs.Visit", &{
        let p = work.path().join("unknown.csv");
        std::fs::write(&p, "visit,nosuch\n1,2\n").expect("csv");
        p
    })
    .expect_err("unknown column");
    assert!(
        e.message.contains("'nosuch' is not a column"),
        "{}",
        e.message
    );
    // Positions: cones on Object's indexed (coord_ra, coord_dec), across RA = 0 too, against
    // a brute-force haversine; a row without a position is never a match.
    let objects = work.path().join("object.csv");
    let positions = [
        (1, Some((10.0, 20.0))),
        (2, Some((10.05, 20.02))),
        (3, Some((359.99, 0.0))),
        (4, Some((0.01, 0.01))),
        (5, Some((180.0, -89.99))),
        (6, None),
    ];
    let mut csv = String::from("objectId,coord_ra,coord_dec\n");
    for (id, p) in positions {
        match p {
            Some((ra, dec)) => csv.push_str(&format!("{id},{ra},{dec}\n")),
            None => csv.push_str(&format!("{id},,\n")),
        }
    }
    std::fs::write(&objects, csv).expect("csv");
    assert_eq!(
        vogate::load_csv(&s, "dp02_dc2_catalogs.Object", &objects).expect("objects"),
        6
    );
    let haversine = |ra1: f64, dec1: f64, ra2: f64, dec2: f64| {
        let (p1, p2) = (dec1.to_radians(), dec2.to_radians());
        let h = ((p2 - p1) / 2.0).sin().powi(2)
            + p1.cos() * p2.cos() * ((ra2 - ra1).to_radians() / 2.0).sin().powi(2);
        (2.0 * h.sqrt().min(1.0).asin()).to_degrees()
    };
    for (ra0, dec0, r) in [
        (10.0, 20.0, 0.1),
        (0.0, 0.0, 0.05),
        (0.0, -90.0, 0.5),
        (10.0, 20.0, 0.01),
    ] {
        let (status, v, body) = common::tap_json(
            &gw,
            &format!("SELECT objectId FROM dp02_dc2_catalogs.Object WHERE CONTAINS(POINT('ICRS', coord_ra, coord_dec), CIRCLE('ICRS', {ra0}, {dec0}, {r})) = 1 ORDER BY objectId"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let want: Vec<serde_json::Value> = positions
            .iter()
            .filter(|(_, p)| p.is_some_and(|(ra, dec)| haversine(ra, dec, ra0, dec0) <= r))
            .map(|(id, _)| serde_json::json!([id]))
            .collect();
        assert!(!want.is_empty());
        assert_eq!(
            v["data"],
            serde_json::Value::Array(want),
            "cone {ra0} {dec0} {r}"
        );
    }
    let e = vogate::load_csv(&s, "ivoa.ObsCore", &good).expect_err("managed");
    assert!(e.message.contains("written by vogate"), "{}", e.message);
    let (status, v, body) = common::tap_json(
        &gw,
        "SELECT visit, band, ra, decl, expMidpt, obsStart FROM dp02_dc2_catalogs.Visit ORDER BY visit",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // PostgreSQL also holds the rows of special.csv (JSON writes NaN and the infinities as
    // null).
    let mut want = serde_json::json!([
        [
            1,
            "r",
            10.5,
            -20.25,
            "2022-01-01T00:00:15",
            "2022-01-01T00:00:00"
        ],
        [
            2,
            "i",
            11.5,
            -21.25,
            "2022-01-02T00:00:15",
            "2022-01-02T00:00:00"
        ],
        [
            14,
            null,
            null,
            null,
            "2022-03-01T10:00:00",
            "2022-03-01T10:00:00.5"
        ]
    ]);
    if on_postgres {
        if let Some(rows) = want.as_array_mut() {
            rows.push(serde_json::json!([15, null, null, null, null, null]));
            rows.push(serde_json::json!([16, null, null, 1.0, null, null]));
        }
    }
    assert_eq!(
        v["data"], want,
        "only the good files' rows, timestamps as ISO 8601 alike on both backends"
    );
    // Timestamps compare as ISO text on both backends; SELECT * returns every column type.
    let (status, v, body) = common::tap_json(
        &gw,
        "SELECT visit FROM dp02_dc2_catalogs.Visit WHERE expMidpt > '2022-01-01T12:00:00'",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(v["data"], serde_json::json!([[2], [14]]));
    let (status, v, body) = common::tap_json(
        &gw,
        "SELECT visit FROM dp02_dc2_catalogs.Visit WHERE obsStart > '2022-03-01T10:00:00'",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        v["data"],
        serde_json::json!([[14]]),
        "10:00:00.5 is after 10:00:00"
    );
    let (status, v, body) = common::tap_json(&gw, "SELECT * FROM dp02_dc2_catalogs.Visit").await;
    assert_eq!(status, 200, "{body}");
    let rows = if on_postgres { 5 } else { 3 };
    assert_eq!(v["data"].as_array().map(Vec::len), Some(rows), "{body}");
}

fn invalid_schemas_refuse_the_whole_load_with_located_messages() {
    let corpus = corpus();
    let work = tempfile::tempdir().expect("tempdir");
    let s = settings(work.path(), None, Vec::new());
    let e = vogate::load_schemas(
        &s,
        &[
            corpus.join("felis_tests/sales.yaml"),
            corpus.join("invalid/08_unknown_key.yaml"),
        ],
        false,
    )
    .expect_err("invalid");
    assert!(
        e.message.contains("08_unknown_key.yaml:")
            && e.message.contains("tables[0].columns[0].nulable")
            && e.message.contains("[extra-key]"),
        "{}",
        e.message
    );
    // Nothing was published: not even the valid file.
    assert!(!work.path().join("vogate.db").exists());
}

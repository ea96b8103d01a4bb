//! TAP UPLOAD (TAP 1.1 §2.5.6, DALI 1.1 §3.4.5) end to end, in-process, on both backends:
//! tables sent inline in a multipart/form-data POST (shaped as STILTS sends it, its boundary
//! quoted and holding < and >), named as TAP_UPLOAD.name, joined with ivoa.ObsCore by a
//! cross-match checked against a brute-force haversine, column names that are not ADQL
//! identifiers and names that differ only in case, BINARY2 uploads of vogate's own output,
//! async jobs whose files go with them, and every bad upload answered with a DALI error while
//! the server keeps serving.

use actix_web::{test, App};
use std::path::Path;
use std::time::{Duration, Instant};
use vogate::settings::{resolve, Flags};

#[derive(Debug, Clone)]
enum Db {
    Sqlite,
    Postgres(String),
}

fn main() -> std::process::ExitCode {
    use vo_testkit::Test;
    let pg = vogate_tests::postgres();
    let mut tests = Vec::new();
    macro_rules! both {
        ($($name:ident),*) => {$(
            tests.push(Test::actix(concat!(stringify!($name), "::sqlite"), || $name(Db::Sqlite)));
            tests.push(
                Test::actix(concat!(stringify!($name), "::postgres"), || async {
                    let url = vogate_tests::fresh_pg_database(concat!("upload_", stringify!($name)));
                    $name(Db::Postgres(url)).await
                })
                .needs(&pg),
            );
        )*};
    }
    both!(
        an_upload_cross_matches_obscore_as_brute_force_does,
        column_names_any_client_gives_are_usable_quoted,
        binary2_output_uploads_back_and_several_tables_join,
        async_jobs_take_uploads_and_delete_their_files,
        bad_uploads_get_clear_errors_and_the_server_keeps_serving,
        every_example_runs_and_returns_rows,
        an_upload_goes_with_its_query_even_when_the_client_goes_away,
        url_uploads_come_only_from_allowed_hosts_within_limits,
        capabilities_declare_uploads_limits_and_examples
    );
    vo_testkit::run(tests)
}

async fn gateway(workdir: &Path, db: &Db) -> vogate::Gateway {
    let flags = Flags {
        workdir: Some(workdir.to_path_buf()),
        db: match db {
            Db::Sqlite => None,
            Db::Postgres(url) => Some(url.clone()),
        },
        ..Default::default()
    };
    let settings = resolve(flags, Default::default(), None).expect("settings");
    vogate::prepare(settings).expect("prepare")
}

/// STILTS's boundary (STILTS 3.4 tapquery), quoted in the Content-Type.
const BOUNDARY: &str = "<<<--------------MULTIPART-BOUNDARY------->>>";

/// One part of a multipart body: (name, file name for a file part, bytes).
type PartSpec<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A multipart/form-data body as STILTS writes it: text parameters as text/plain parts, each
/// file as an application/x-votable+xml part with a file name.
fn multipart(parts: &[PartSpec<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match file {
            None => body.extend_from_slice(
                format!(
                    "Content-Type: text/plain; charset=UTF-8\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                )
                .as_bytes(),
            ),
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/x-votable+xml\r\n\r\n"
                )
                .as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn multipart_request(uri: &str, parts: &[PartSpec<'_>]) -> test::TestRequest {
    test::TestRequest::post()
        .uri(uri)
        .insert_header((
            "content-type",
            format!("multipart/form-data; boundary=\"{BOUNDARY}\""),
        ))
        .set_payload(multipart(parts))
}

/// A TABLEDATA VOTable of FIELDs (name, datatype, ucd) and rows of cell texts.
fn votable(fields: &[(&str, &str, &str)], rows: &[Vec<String>]) -> String {
    let mut s = String::from(
        "<?xml version='1.0'?>\n<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\n<RESOURCE>\n<TABLE>\n",
    );
    for (name, datatype, ucd) in fields {
        let arraysize = if *datatype == "char" {
            " arraysize=\"*\""
        } else {
            ""
        };
        s.push_str(&format!(
            "<FIELD name=\"{name}\" datatype=\"{datatype}\"{arraysize} ucd=\"{ucd}\"/>\n"
        ));
    }
    s.push_str("<DATA><TABLEDATA>\n");
    for row in rows {
        s.push_str("<TR>");
        for cell in row {
            s.push_str(&format!("<TD>{cell}</TD>"));
        }
        s.push_str("</TR>\n");
    }
    s.push_str("</TABLEDATA></DATA>\n</TABLE>\n</RESOURCE>\n</VOTABLE>\n");
    s
}

/// Run a sync query with `uploads` ((UPLOAD name, VOTable bytes), each sent as the file
/// part `part_NAME`) in a multipart POST: (status, body).
async fn upload_query(
    gw: &vogate::Gateway,
    query: &str,
    format: &str,
    uploads: &[(&str, &[u8])],
) -> (u16, String) {
    let app = test::init_service(App::new().configure(vogate::routes(gw))).await;
    let upload: Vec<String> = uploads
        .iter()
        .map(|(n, _)| format!("{n},param:part_{n}"))
        .collect();
    let upload = upload.join(";");
    let names: Vec<String> = uploads.iter().map(|(n, _)| format!("part_{n}")).collect();
    let mut parts: Vec<PartSpec<'_>> = vec![
        ("LANG", None, b"ADQL"),
        ("QUERY", None, query.as_bytes()),
        ("RESPONSEFORMAT", None, format.as_bytes()),
        ("MAXREC", None, b"100000"),
    ];
    if !uploads.is_empty() {
        parts.push(("UPLOAD", None, upload.as_bytes()));
    }
    for ((_, bytes), name) in uploads.iter().zip(&names) {
        parts.push((name, Some(name), bytes));
    }
    let resp = test::call_service(&app, multipart_request("/tap/sync", &parts).to_request()).await;
    let status = resp.status().as_u16();
    let body = test::read_body(resp).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn json(gw: &vogate::Gateway, query: &str, uploads: &[(&str, &[u8])]) -> serde_json::Value {
    let (status, body) = upload_query(gw, query, "json", uploads).await;
    assert_eq!(status, 200, "{query}: {body}");
    serde_json::from_str(&body).expect("json")
}

/// Haversine distance in degrees, independent of vogate's own code.
fn haversine(ra1: f64, dec1: f64, ra2: f64, dec2: f64) -> f64 {
    let (p1, p2) = (dec1.to_radians(), dec2.to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2)
        + p1.cos() * p2.cos() * ((ra2 - ra1).to_radians() / 2.0).sin().powi(2);
    (2.0 * h.sqrt().min(1.0).asin()).to_degrees()
}

/// Targets around the demo sky's products: for each, points 1, 4, 6 and 30 arcsec north of
/// it, and one far from all. Rows (id, ra, dec).
async fn targets(gw: &vogate::Gateway) -> (Vec<(String, f64, f64)>, Vec<(i64, f64, f64)>) {
    let v = json(gw, "SELECT obs_id, s_ra, s_dec FROM ivoa.ObsCore", &[]).await;
    let products: Vec<(String, f64, f64)> = v["data"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r[0].as_str().expect("id").to_string(),
                r[1].as_f64().expect("ra"),
                r[2].as_f64().expect("dec"),
            )
        })
        .collect();
    assert_eq!(products.len(), 5);
    let mut rows = Vec::new();
    for (_, ra, dec) in &products {
        for arcsec in [1.0, 4.0, 6.0, 30.0] {
            rows.push((rows.len() as i64 + 1, *ra, dec + arcsec / 3600.0));
        }
    }
    rows.push((rows.len() as i64 + 1, 200.0, -60.0));
    (products, rows)
}

async fn an_upload_cross_matches_obscore_as_brute_force_does(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), &db).await;
    let (products, rows) = targets(&gw).await;
    let table = votable(
        &[
            ("id", "long", "meta.id;meta.main"),
            ("ra", "double", "pos.eq.ra;meta.main"),
            ("dec", "double", "pos.eq.dec;meta.main"),
        ],
        &rows
            .iter()
            .map(|(i, ra, dec)| vec![i.to_string(), format!("{ra:?}"), format!("{dec:?}")])
            .collect::<Vec<_>>(),
    );
    // Brute force: every (target, product) pair within 5 arcsec.
    let mut want: Vec<(i64, String)> = Vec::new();
    for (id, ra, dec) in &rows {
        for (obs_id, sra, sdec) in &products {
            if haversine(*ra, *dec, *sra, *sdec) <= 5.0 / 3600.0 {
                want.push((*id, obs_id.clone()));
            }
        }
    }
    want.sort();
    assert_eq!(
        want.len(),
        10,
        "two targets of each product are within 5 arcsec"
    );
    for query in [
        "SELECT u.id, o.obs_id FROM TAP_UPLOAD.targets AS u JOIN ivoa.ObsCore AS o \
         ON CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', u.ra, u.dec, 5/3600.0)) = 1",
        "SELECT u.id, o.obs_id FROM ivoa.ObsCore AS o, tap_upload.TARGETS AS u \
         WHERE DISTANCE(POINT('ICRS', u.ra, u.dec), POINT('ICRS', o.s_ra, o.s_dec)) <= 5/3600.0",
    ] {
        let v = json(&gw, query, &[("targets", table.as_bytes())]).await;
        let mut got: Vec<(i64, String)> = v["data"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                (
                    r[0].as_i64().expect("id"),
                    r[1].as_str().expect("obs_id").into(),
                )
            })
            .collect();
        got.sort();
        assert_eq!(got, want, "{query}");
    }
    // The upload itself, as sent, with its FIELD metadata.
    let (status, body) = upload_query(
        &gw,
        "SELECT * FROM TAP_UPLOAD.targets WHERE id = 21",
        "votable",
        &[("targets", table.as_bytes())],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("name=\"ra\"") && body.contains("ucd=\"pos.eq.ra;meta.main\""),
        "{body}"
    );
    assert!(
        body.contains("<TD>21</TD><TD>200.0</TD><TD>-60.0</TD>"),
        "{body}"
    );
    // The same name again on the same server: the first query's table is gone.
    let v = json(
        &gw,
        "SELECT COUNT(*) FROM TAP_UPLOAD.targets",
        &[("targets", table.as_bytes())],
    )
    .await;
    assert_eq!(v["data"][0][0], rows.len());
}

async fn column_names_any_client_gives_are_usable_quoted(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), &db).await;
    let table = votable(
        &[
            ("my col", "char", ""),
            ("a", "int", ""),
            ("A", "int", ""),
            ("size", "double", ""),
            ("1st", "short", ""),
            ("ok", "boolean", ""),
        ],
        &[
            vec![
                "x y".into(),
                "1".into(),
                "2".into(),
                "0.5".into(),
                "7".into(),
                "T".into(),
            ],
            vec![
                "".into(),
                "3".into(),
                "4".into(),
                "".into(),
                "".into(),
                "F".into(),
            ],
        ],
    );
    let t = [("t", table.as_bytes())];
    let v = json(
        &gw,
        "SELECT \"my col\", \"a\", \"A\", \"size\", \"1st\", ok FROM TAP_UPLOAD.t ORDER BY \"a\"",
        &t,
    )
    .await;
    assert_eq!(
        v["data"],
        // (vogate's JSON gives booleans as 1 and 0.)
        serde_json::json!([["x y", 1, 2, 0.5, 7, 1], [null, 3, 4, null, null, 0]])
    );
    let names: Vec<&str> = v["metadata"]
        .as_array()
        .expect("metadata")
        .iter()
        .map(|f| f["name"].as_str().expect("name"))
        .collect();
    // Result FIELD names stay unique in any case (as for any query), so the second of the
    // twins is renamed in the result.
    assert_eq!(names, ["my col", "a", "A_2", "size", "1st", "ok"]);
    let v = json(
        &gw,
        "SELECT \"A\" - \"a\" AS d FROM TAP_UPLOAD.t WHERE \"my col\" = 'x y'",
        &t,
    )
    .await;
    assert_eq!(v["data"], serde_json::json!([[1]]));
    // Unquoted, a name twinned in case names neither column.
    let (status, body) = upload_query(&gw, "SELECT a FROM TAP_UPLOAD.t", "json", &t).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("QUERY_STATUS") || body.contains("column"),
        "{body}"
    );
}

async fn binary2_output_uploads_back_and_several_tables_join(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), &db).await;
    let (status, b2) = {
        let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
        let req = test::TestRequest::get()
            .uri("/tap/sync?LANG=ADQL&RESPONSEFORMAT=votable/b2&QUERY=SELECT%20obs_id,s_ra,s_dec,t_min%20FROM%20ivoa.ObsCore")
            .to_request();
        let resp = test::call_service(&app, req).await;
        (resp.status().as_u16(), test::read_body(resp).await.to_vec())
    };
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&b2).contains("<BINARY2>"));
    let small = votable(
        &[("name", "char", "")],
        &[vec!["m31.fits".into()], vec!["none".into()]],
    );
    let v = json(
        &gw,
        "SELECT a.obs_id, b.name, a.t_min - o.t_min AS dt FROM TAP_UPLOAD.a AS a \
         JOIN TAP_UPLOAD.b AS b ON a.obs_id = b.name JOIN ivoa.ObsCore AS o ON o.obs_id = a.obs_id",
        &[("a", &b2), ("b", small.as_bytes())],
    )
    .await;
    assert_eq!(
        v["data"],
        serde_json::json!([["m31.fits", "m31.fits", 0.0]])
    );
    // The BINARY2 upload's positions (UCDs pos.eq.ra/dec;meta.main) are indexed: a cone on
    // them answers as on ObsCore.
    let cone = "CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10.68, 41.27, 1)) = 1";
    let v = json(
        &gw,
        &format!("SELECT obs_id FROM TAP_UPLOAD.a WHERE {cone}"),
        &[("a", &b2)],
    )
    .await;
    assert_eq!(v["data"], serde_json::json!([["m31.fits"]]));
}

async fn async_jobs_take_uploads_and_delete_their_files(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), &db).await;
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let table = votable(
        &[("n", "int", "")],
        &[vec!["1".into()], vec!["2".into()], vec!["5".into()]],
    );
    let parts: Vec<PartSpec<'_>> = vec![
        ("LANG", None, b"ADQL"),
        ("QUERY", None, b"SELECT SUM(n) AS s FROM TAP_UPLOAD.nums"),
        ("RESPONSEFORMAT", None, b"csv"),
        ("UPLOAD", None, b"nums,param:nums"),
        ("PHASE", None, b"RUN"),
        ("nums", Some("nums.xml"), table.as_bytes()),
    ];
    let resp = test::call_service(&app, multipart_request("/tap/async", &parts).to_request()).await;
    assert_eq!(resp.status().as_u16(), 303);
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .trim_start_matches("http://127.0.0.1:8080")
        .to_string();
    let id = location.rsplit('/').next().expect("id").to_string();
    let parts_dir = dir.path().join("jobs").join(&id).join(".parts");
    assert!(
        parts_dir.is_dir(),
        "{} holds the job's files",
        parts_dir.display()
    );
    let started = Instant::now();
    loop {
        let resp = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(&format!("{location}/phase"))
                .to_request(),
        )
        .await;
        let phase = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
        if phase == "COMPLETED" {
            break;
        }
        assert!(phase == "QUEUED" || phase == "EXECUTING", "{phase}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the job did not end"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri(&format!("{location}/results/result"))
            .to_request(),
    )
    .await;
    let csv = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert_eq!(csv.replace('\r', ""), "s\n8\n");
    let resp = test::call_service(
        &app,
        test::TestRequest::delete().uri(&location).to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 303);
    assert!(!parts_dir.exists(), "a deleted job's files are gone");
}

async fn bad_uploads_get_clear_errors_and_the_server_keeps_serving(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), &db).await;
    let good = votable(
        &[
            ("ra", "double", "pos.eq.ra"),
            ("dec", "double", "pos.eq.dec"),
        ],
        &[
            vec!["10".into(), "20".into()],
            vec!["11".into(), "21".into()],
        ],
    );
    let cut = &good[..good.find("<TD>11").expect("second row")];
    let q = "SELECT * FROM TAP_UPLOAD.t";
    for (uploads, status, want) in [
        (
            vec![("t", "<html><body>not a table</body></html>".as_bytes())],
            400,
            "UPLOAD TAP_UPLOAD.t: not a VOTable",
        ),
        (vec![("t", cut.as_bytes())], 400, "UPLOAD TAP_UPLOAD.t:"),
        (
            vec![("t", b"".as_slice())],
            400,
            "UPLOAD TAP_UPLOAD.t: not a VOTable",
        ),
    ] {
        let (got, body) = upload_query(&gw, q, "votable", &uploads).await;
        assert_eq!(got, status, "{body}");
        assert!(
            body.contains("QUERY_STATUS") && body.contains("ERROR"),
            "{body}"
        );
        assert!(body.contains(want), "{want}: {body}");
    }
    // UPLOAD values that cannot be honoured, each named.
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    for (upload, want) in [
        ("1t,param:x", "the table name '1t' is not an identifier"),
        ("t,param:x;T,param:y", "two tables are named 'T'"),
        ("t,param:nothere", "the request has no part named 'nothere'"),
        ("t,http://127.0.0.1:9/t.xml", "upload_url_hosts"),
        ("t,https://example.invalid/t.xml", "fetches no URL uploads"),
    ] {
        let parts: Vec<PartSpec<'_>> = vec![
            ("LANG", None, b"ADQL"),
            ("QUERY", None, q.as_bytes()),
            ("UPLOAD", None, upload.as_bytes()),
            ("x", Some("x.xml"), good.as_bytes()),
            ("y", Some("y.xml"), good.as_bytes()),
        ];
        let resp =
            test::call_service(&app, multipart_request("/tap/sync", &parts).to_request()).await;
        assert_eq!(resp.status().as_u16(), 400, "{upload}");
        let body = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
        assert!(body.contains(want), "{upload}: {body}");
    }
    // A table the query names but nobody uploaded.
    let (got, body) = upload_query(
        &gw,
        "SELECT * FROM TAP_UPLOAD.other",
        "votable",
        &[("t", good.as_bytes())],
    )
    .await;
    assert_eq!(got, 400, "{body}");
    assert!(
        body.contains("table 'TAP_UPLOAD.other' was not uploaded"),
        "{body}"
    );
    // A declared 1 GB body is refused before it is read.
    let resp = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/tap/sync")
            .insert_header((
                "content-type",
                format!("multipart/form-data; boundary=\"{BOUNDARY}\""),
            ))
            .set_payload(multipart(&[("LANG", None, b"ADQL")]))
            .insert_header(("content-length", "1073741824"))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 413);
    // A body that is not multipart as declared.
    let resp = test::call_service(
        &app,
        test::TestRequest::post()
            .uri("/tap/sync")
            .insert_header(("content-type", "multipart/form-data; boundary=zzz"))
            .set_payload("this is not multipart")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 400);
    // Still serving, and the good upload works.
    let v = json(
        &gw,
        "SELECT COUNT(*) FROM TAP_UPLOAD.t",
        &[("t", good.as_bytes())],
    )
    .await;
    assert_eq!(v["data"][0][0], 2);
}

/// The (id, query) of each example of an examples document (DALI 1.1 §2.3), as a client
/// reads them: the `property="query"` text of each `typeof="example"` element.
fn parse_examples(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for div in doc.split("<div typeof=\"example\"").skip(1) {
        let id = div
            .split("id=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .expect("id")
            .to_string();
        let query = div
            .split("<pre property=\"query\">")
            .nth(1)
            .and_then(|t| t.split("</pre>").next())
            .expect("query");
        let query = query
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&");
        out.push((id, query));
    }
    out
}

async fn every_example_runs_and_returns_rows(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), &db).await;
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    // The demo sky is read in the background: wait for its five products.
    let started = Instant::now();
    while json(&gw, "SELECT COUNT(*) FROM ivoa.ObsCore", &[]).await["data"][0][0] != 5 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the demo sky was not read"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let resp = test::call_service(
        &app,
        test::TestRequest::get().uri("/tap/examples").to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    let doc = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(
        doc.contains("vocab=\"http://www.ivoa.net/rdf/examples#\""),
        "{doc}"
    );
    let examples = parse_examples(&doc);
    assert!(examples.len() >= 10, "{} examples", examples.len());
    // The targets of the upload example: the first product's position.
    let first = json(
        &gw,
        "SELECT TOP 1 s_ra, s_dec FROM ivoa.ObsCore ORDER BY obs_publisher_did",
        &[],
    )
    .await;
    let targets = votable(
        &[
            ("ra", "double", "pos.eq.ra;meta.main"),
            ("dec", "double", "pos.eq.dec;meta.main"),
        ],
        &[vec![
            first["data"][0][0].to_string(),
            first["data"][0][1].to_string(),
        ]],
    );
    for (id, query) in &examples {
        let uploads: Vec<(&str, &[u8])> = if query.contains("TAP_UPLOAD.targets") {
            vec![("targets", targets.as_bytes())]
        } else {
            Vec::new()
        };
        let v = json(&gw, query, &uploads).await;
        let n = v["data"].as_array().map_or(0, Vec::len);
        assert!(n > 0, "example {id} returns no rows: {query}");
    }
    let ids: Vec<&str> = examples.iter().map(|(i, _)| i.as_str()).collect();
    for want in ["cone", "footprint", "time", "tables", "crossmatch"] {
        assert!(ids.contains(&want), "{want} in {ids:?}");
    }
}

async fn capabilities_declare_uploads_limits_and_examples(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), &db).await;
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/tap/capabilities")
            .to_request(),
    )
    .await;
    let caps = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    for want in [
        "<uploadMethod ivo-id=\"ivo://ivoa.net/std/TAPRegExt#upload-inline\"/>",
        "<retentionPeriod><default>604800</default></retentionPeriod>",
        "<executionDuration><default>3600</default><hard>86400</hard></executionDuration>",
        "<uploadLimit><hard unit=\"byte\">268435456</hard></uploadLimit>",
        "standardID=\"ivo://ivoa.net/std/DALI#examples\"",
        "<accessURL use=\"full\">http://127.0.0.1:8080/tap/examples</accessURL>",
    ] {
        assert!(caps.contains(want), "{want}: {caps}");
    }
    // URL uploads are declared (TAP asks it of a service that takes uploads), though no host
    // is allowed by default.
    assert!(
        caps.contains("TAPRegExt#upload-http\"") && caps.contains("TAPRegExt#upload-https\""),
        "{caps}"
    );
}

/// A local HTTP server for URL uploads: `/good` a VOTable, `/hang` never answers, `/moved`
/// redirects, `/big` sends more than any limit. Its port.
fn upload_server(table: String) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let table = table.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let n = conn.read(&mut buf).unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
                let _ = match path.as_str() {
                    "/good" => conn.write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/x-votable+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{table}",
                            table.len()
                        )
                        .as_bytes(),
                    ),
                    "/hang" => {
                        std::thread::sleep(Duration::from_secs(10));
                        Ok(())
                    }
                    "/moved" => conn.write_all(
                        b"HTTP/1.1 302 Found\r\nLocation: /good\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    ),
                    "/big" => {
                        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\nConnection: close\r\n\r\n");
                        let chunk = vec![b' '; 65536];
                        while conn.write_all(&chunk).is_ok() {}
                        Ok(())
                    }
                    _ => conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
                };
            });
        }
    });
    port
}

async fn url_uploads_come_only_from_allowed_hosts_within_limits(db: Db) {
    let table = votable(
        &[
            ("ra", "double", "pos.eq.ra"),
            ("dec", "double", "pos.eq.dec"),
        ],
        &[
            vec!["10".into(), "20".into()],
            vec!["11".into(), "21".into()],
        ],
    );
    let port = upload_server(table);
    let dir = tempfile::tempdir().expect("tempdir");
    let flags = Flags {
        workdir: Some(dir.path().to_path_buf()),
        db: match &db {
            Db::Sqlite => None,
            Db::Postgres(url) => Some(url.clone()),
        },
        ..Default::default()
    };
    let file = vo_common::config::FileConfig::from_toml(&format!(
        "[tap]\nupload_url_hosts = [\"127.0.0.1:{port}\"]\nupload_url_timeout = 1\nupload_max_bytes = 100000\n"
    ))
    .expect("config");
    let gw = vogate::prepare(resolve(flags, file, None).expect("settings")).expect("prepare");
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let ask = |upload: String| {
        test::TestRequest::post()
            .uri("/tap/sync")
            .set_form([
                ("LANG", "ADQL"),
                ("QUERY", "SELECT COUNT(*) AS n FROM TAP_UPLOAD.t"),
                ("RESPONSEFORMAT", "csv"),
                ("UPLOAD", upload.as_str()),
            ])
            .to_request()
    };
    let resp = test::call_service(&app, ask(format!("t,http://127.0.0.1:{port}/good"))).await;
    assert_eq!(resp.status().as_u16(), 200);
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert_eq!(body.replace('\r', ""), "n\n2\n");
    let other = if port == 65535 { 65534 } else { port + 1 };
    for (upload, status, want) in [
        (format!("t,http://127.0.0.1:{port}/hang"), 400, "within 1 s"),
        (
            format!("t,http://127.0.0.1:{port}/moved"),
            400,
            "it redirects (HTTP 302)",
        ),
        (
            format!("t,http://127.0.0.1:{port}/nothing"),
            400,
            "the server answers HTTP 404",
        ),
        (
            format!("t,http://127.0.0.1:{port}/big"),
            413,
            "larger than 100000 bytes",
        ),
        (
            format!("t,http://127.0.0.1:{other}/good"),
            400,
            "its host is not one this service fetches from",
        ),
        (
            format!("t,http://localhost:{port}/good"),
            400,
            "its host is not one this service fetches from",
        ),
    ] {
        let t0 = Instant::now();
        let resp = test::call_service(&app, ask(upload.clone())).await;
        assert_eq!(resp.status().as_u16(), status, "{upload}");
        let body = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
        assert!(body.contains(want), "{upload}: {body}");
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "{upload} took {:?}",
            t0.elapsed()
        );
    }
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/tap/capabilities")
            .to_request(),
    )
    .await;
    let caps = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(
        caps.contains("TAPRegExt#upload-http\"") && caps.contains("TAPRegExt#upload-https\""),
        "{caps}"
    );
}

async fn an_upload_goes_with_its_query_even_when_the_client_goes_away(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), &db).await;
    let rows: Vec<Vec<String>> = (0..3000).map(|i| vec![i.to_string()]).collect();
    let table = votable(&[("n", "int", "")], &rows);
    let file = dir.path().join("n.xml");
    std::fs::write(&file, &table).expect("write");
    let params = vo_dali::Params::new(vec![
        ("LANG".into(), "ADQL".into()),
        // 9,000,000 rows: far more than one batch.
        (
            "QUERY".into(),
            "SELECT a.n, b.n FROM TAP_UPLOAD.nums AS a, TAP_UPLOAD.nums AS b".into(),
        ),
        ("MAXREC".into(), "100000000".into()),
        ("UPLOAD".into(), "nums,param:nums".into()),
    ])
    .with_parts(vec![
        vo_dali::Part::kept("nums", file.clone()).expect("part")
    ]);
    let (mut rows, _) = vo_tap::sync::start_query(&gw.tap, &params)
        .await
        .expect("started");
    let first = rows.next().await.expect("a batch").expect("rows");
    assert!(!first.is_empty());
    // The client goes away: the stream is dropped mid-result.
    drop(rows);
    let started = Instant::now();
    if let Db::Postgres(url) = &db {
        // The transaction is rolled back, and its ON COMMIT DROP table with it.
        let check =
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_class WHERE relname LIKE 'tap_upload_%') \
                     THEN RAISE EXCEPTION 'an upload table is left'; END IF; END $$";
        while let Err(e) = vogate_tests::pg_execute(url, check) {
            assert!(started.elapsed() < Duration::from_secs(10), "{e}");
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The server serves the same upload name again at once.
    let v = json(
        &gw,
        "SELECT COUNT(*) FROM TAP_UPLOAD.nums",
        &[("nums", table.as_bytes())],
    )
    .await;
    assert_eq!(v["data"][0][0], 3000);
    // No spooled request file is left behind (the last query's goes when its reading
    // thread ends, just after its response).
    let spool = dir.path().join("jobs").join(".uploads");
    let started = Instant::now();
    loop {
        let left: Vec<_> = std::fs::read_dir(&spool)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        if left.is_empty() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{left:?}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

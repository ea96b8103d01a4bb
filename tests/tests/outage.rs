//! A PostgreSQL outage before a query (503 with a DALI error document) and in the middle of a
//! streaming result (the table ends with QUERY_STATUS=ERROR), then normal answers once the
//! server is back, without restarting vogate. Runs on a private cluster (initdb/pg_ctl).

use actix_web::body::MessageBody;
use actix_web::{test, App};
use vogate::settings::{resolve, Flags};

fn sync_uri(adql: &str, maxrec: &str) -> String {
    let qs = serde_urlencoded::to_string([("LANG", "ADQL"), ("QUERY", adql), ("MAXREC", maxrec)])
        .expect("encode");
    format!("/tap/sync?{qs}")
}

fn main() -> std::process::ExitCode {
    vo_testkit::run(vec![vo_testkit::Test::actix(
        "an_outage_gives_the_documented_errors_then_normal_answers",
        an_outage_gives_the_documented_errors_then_normal_answers,
    )
    .needs(&vogate_tests::private_cluster())])
}

async fn an_outage_gives_the_documented_errors_then_normal_answers() {
    let cluster = vogate_tests::PrivateCluster::start(54329);
    let work = tempfile::tempdir().expect("tempdir");
    let flags = Flags {
        workdir: Some(work.path().into()),
        db: Some(cluster.url()),
        ..Default::default()
    };
    let mut settings = resolve(flags, Default::default(), None).expect("settings");
    settings.postgres.connect_timeout = std::time::Duration::from_secs(2);
    let gw = vogate::prepare(settings).expect("prepare on the private cluster");
    // Enough rows that the stream is still going when the server dies.
    vogate_tests::pg_execute(
        &cluster.url(),
        "INSERT INTO ivoa.\"ObsCore\" (obs_publisher_did, obs_id, s_ra, s_dec, s_fov) \
         SELECT 'ivo://x/y?' || g, 'gen' || g, g % 360, 0, 0.1 FROM generate_series(1, 200000) g",
    )
    .expect("rows");
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let count = || {
        test::TestRequest::get()
            .uri(&sync_uri("SELECT COUNT(*) AS n FROM ivoa.ObsCore", "10"))
            .to_request()
    };
    let resp = test::call_service(&app, count()).await;
    assert_eq!(resp.status().as_u16(), 200);
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(body.contains("<TD>200005</TD>"), "{body}");

    // Mid-stream: the first chunk arrives, then the server stops.
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri(&sync_uri("SELECT * FROM ivoa.ObsCore", "1000000"))
            .to_request(),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
    let mut body = Box::pin(resp.into_body());
    let mut received = Vec::new();
    let first = std::future::poll_fn(|cx| body.as_mut().poll_next(cx))
        .await
        .expect("a first chunk")
        .expect("bytes");
    received.extend_from_slice(&first);
    cluster.stop_immediate().expect("stop");
    while let Some(chunk) = std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await {
        received.extend_from_slice(&chunk.expect("bytes"));
    }
    let text = String::from_utf8(received).expect("utf8");
    let rows = text.matches("<TR>").count();
    assert!(rows > 0 && rows < 200_005, "{rows} rows");
    assert!(
        text.contains(
            "<INFO name=\"QUERY_STATUS\" value=\"ERROR\">the database connection was lost"
        ) || text.contains(
            "<INFO name=\"QUERY_STATUS\" value=\"ERROR\">the query failed in the database"
        ),
        "no trailing error: {}",
        &text[text.len().saturating_sub(600)..]
    );
    assert!(
        text.trim_end().ends_with("</VOTABLE>"),
        "the document is closed"
    );

    // Before a query: 503 with a DALI error document that says so.
    let resp = test::call_service(&app, count()).await;
    assert_eq!(resp.status().as_u16(), 503);
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(body.contains("QUERY_STATUS\" value=\"ERROR\""), "{body}");
    assert!(body.contains("the database is unavailable"), "{body}");
    // The landing page and file lookups say the same.
    let resp = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(resp.status().as_u16(), 503);

    // Back again: normal answers, without restarting vogate.
    cluster.resume().expect("restart");
    let resp = test::call_service(&app, count()).await;
    let status = resp.status().as_u16();
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<TD>200005</TD>"), "{body}");
}

//! TAP async (TAP 1.1 §2.3.2) as UWS 1.1 jobs, on both backends, in-process: a job's life from
//! creation to deletion, its result byte for byte the sync answer, WAIT woken by the change,
//! the job list's filters, errors for every bad input, and jobs that survive a restart.

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
                    let url = vogate_tests::fresh_pg_database(concat!("async_", stringify!($name)));
                    $name(Db::Postgres(url)).await
                })
                .needs(&pg),
            );
        )*};
    }
    both!(
        a_job_runs_and_its_result_is_the_sync_answer,
        wait_wakes_on_the_change_and_the_list_filters,
        bad_requests_get_clear_errors,
        jobs_survive_a_restart,
        owners_see_only_their_jobs,
        caps_are_refused_with_messages,
        all_results_together_stay_under_their_limit,
        soda_async_makes_one_result_per_combination
    );
    tests.push(
        Test::actix(
            "wait_wakes_on_a_change_made_by_another_gateway::postgres",
            || async {
                let url = vogate_tests::fresh_pg_database("async_other_gateway");
                wait_wakes_on_a_change_made_by_another_gateway(url).await
            },
        )
        .needs(&pg),
    );
    vo_testkit::run(tests)
}

fn gateway(work: &Path, db: &Db) -> vogate::Gateway {
    gateway_with(work, db, None)
}

/// A gateway whose jobs belong to the caller named by `owner_header`, when given.
fn gateway_with(work: &Path, db: &Db, owner_header: Option<&str>) -> vogate::Gateway {
    let flags = Flags {
        workdir: Some(work.to_path_buf()),
        db: match db {
            Db::Sqlite => None,
            Db::Postgres(u) => Some(u.clone()),
        },
        ..Default::default()
    };
    let mut settings = resolve(flags, Default::default(), None).expect("settings");
    settings.jobs.owner_header = owner_header.map(str::to_string);
    vogate::prepare(settings).expect("prepare")
}

/// (status, Location header, body) of a request.
async fn call(gw: &vogate::Gateway, req: test::TestRequest) -> (u16, Option<String>, String) {
    let app = test::init_service(App::new().configure(vogate::routes(gw))).await;
    let resp = test::call_service(&app, req.to_request()).await;
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    (status, location, body)
}

fn post(uri: &str, form: &[(&str, &str)]) -> test::TestRequest {
    test::TestRequest::post()
        .uri(uri)
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .set_payload(serde_urlencoded::to_string(form).expect("form"))
}

fn get(uri: &str) -> test::TestRequest {
    test::TestRequest::get().uri(uri)
}

/// The path part of an absolute URL of the gateway.
fn path(url: &str) -> String {
    url.strip_prefix("http://127.0.0.1:8080")
        .unwrap_or_else(|| panic!("{url} is not on the gateway"))
        .to_string()
}

/// The text of `<uws:name>` in a document.
fn element(doc: &str, name: &str) -> Option<String> {
    let open = format!("<uws:{name}>");
    let start = doc.find(&open)? + open.len();
    let end = doc[start..].find(&format!("</uws:{name}>"))? + start;
    Some(doc[start..end].to_string())
}

async fn create(gw: &vogate::Gateway, form: &[(&str, &str)]) -> String {
    let (status, location, body) = call(gw, post("/tap/async", form)).await;
    assert_eq!(status, 303, "{body}");
    let location = location.expect("Location");
    assert!(
        location.starts_with("http://127.0.0.1:8080/tap/async/"),
        "{location}"
    );
    path(&location)
}

/// Wait (with WAIT) until the job's phase is final; its document.
async fn finished(gw: &vogate::Gateway, job: &str) -> String {
    let t0 = Instant::now();
    loop {
        let (status, _, doc) = call(gw, get(&format!("{job}?WAIT=10"))).await;
        assert_eq!(status, 200, "{doc}");
        let phase = element(&doc, "phase").expect("phase");
        if ["COMPLETED", "ERROR", "ABORTED"].contains(&phase.as_str()) {
            return doc;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "still {phase}: {doc}"
        );
    }
}

const QUERY: &str = "SELECT obs_id, s_ra, s_dec FROM ivoa.ObsCore ORDER BY obs_id";

async fn a_job_runs_and_its_result_is_the_sync_answer(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), &db);
    for format in ["votable", "csv", "json"] {
        let form = [
            ("LANG", "ADQL"),
            ("QUERY", QUERY),
            ("RESPONSEFORMAT", format),
            ("PHASE", "RUN"),
            ("RUNID", "mine"),
        ];
        let job = create(&gw, &form).await;
        let doc = finished(&gw, &job).await;
        assert_eq!(
            element(&doc, "phase").as_deref(),
            Some("COMPLETED"),
            "{doc}"
        );
        assert_eq!(element(&doc, "runId").as_deref(), Some("mine"));
        assert!(
            doc.contains("<uws:parameter id=\"QUERY\">SELECT obs_id"),
            "{doc}"
        );
        let (status, _, result) = call(&gw, get(&format!("{job}/results/result"))).await;
        assert_eq!(status, 200);
        let (_, _, sync) = call(
            &gw,
            get(&format!(
                "/tap/sync?{}",
                serde_urlencoded::to_string([
                    ("LANG", "ADQL"),
                    ("QUERY", QUERY),
                    ("RESPONSEFORMAT", format)
                ])
                .expect("qs")
            )),
        )
        .await;
        assert_eq!(result, sync, "{format}: the async result differs from sync");
        assert!(result.contains("m31.fits"));
        let expected_size = format!("size=\"{}\"", result.len());
        assert!(doc.contains(&expected_size), "{doc}");
        // The phase, the result list, the parameters, as UWS serves them one by one.
        let (_, _, phase) = call(&gw, get(&format!("{job}/phase"))).await;
        assert_eq!(phase, "COMPLETED");
        let (_, _, results) = call(&gw, get(&format!("{job}/results"))).await;
        assert!(
            results.contains(&format!(
                "xlink:href=\"http://127.0.0.1:8080{job}/results/result\""
            )),
            "{results}"
        );
        let (_, _, params) = call(&gw, get(&format!("{job}/parameters"))).await;
        assert!(
            params.contains("<uws:parameter id=\"LANG\">ADQL</uws:parameter>"),
            "{params}"
        );
        // JSON for the portal.
        let (_, _, json) = call(&gw, get(&job).insert_header(("Accept", "application/json"))).await;
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(v["phase"], "COMPLETED");
        assert_eq!(v["results"][0]["size"], result.len());
        // Deleted with DELETE, then gone, its result too.
        let (status, location, _) = call(&gw, test::TestRequest::delete().uri(&job)).await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some("http://127.0.0.1:8080/tap/async"))
        );
        let (status, _, _) = call(&gw, get(&job)).await;
        assert_eq!(status, 404);
        let id = job.rsplit('/').next().expect("id");
        assert!(!dir.path().join("jobs").join(id).exists());
    }
    // An ADQL error: the job is ERROR, its error document names the fault.
    let job = create(
        &gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", "SELECT nope FROM ivoa.ObsCore"),
            ("PHASE", "RUN"),
        ],
    )
    .await;
    let doc = finished(&gw, &job).await;
    assert_eq!(element(&doc, "phase").as_deref(), Some("ERROR"), "{doc}");
    assert!(doc.contains("<uws:errorSummary type=\"fatal\""), "{doc}");
    let (status, _, err) = call(&gw, get(&format!("{job}/error"))).await;
    assert_eq!(status, 200);
    assert!(
        err.contains("QUERY_STATUS\" value=\"ERROR\">ADQL error: column 'nope' does not exist"),
        "{err}"
    );
    // Deleted with ACTION=DELETE.
    let (status, location, _) = call(&gw, post(&job, &[("ACTION", "DELETE")])).await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("http://127.0.0.1:8080/tap/async"))
    );
    let (status, _, _) = call(&gw, get(&job)).await;
    assert_eq!(status, 404);
}

async fn wait_wakes_on_the_change_and_the_list_filters(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), &db);
    let job = create(&gw, &[("LANG", "ADQL"), ("QUERY", QUERY)]).await;
    let (_, _, doc) = call(&gw, get(&job)).await;
    assert_eq!(element(&doc, "phase").as_deref(), Some("PENDING"));
    // A WAIT on the PENDING job returns when it is run, long before its 50 s.
    let waiter = {
        let (gw, job) = (gw.clone(), job.clone());
        actix_web::rt::spawn(async move {
            let t0 = Instant::now();
            let (_, _, doc) = call(&gw, get(&format!("{job}?WAIT=50&PHASE=PENDING"))).await;
            (t0.elapsed(), doc)
        })
    };
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let (status, location, _) = call(&gw, post(&format!("{job}/phase"), &[("PHASE", "RUN")])).await;
    assert_eq!(status, 303);
    assert_eq!(
        location.as_deref(),
        Some(format!("http://127.0.0.1:8080{job}").as_str())
    );
    let (waited, doc) = waiter.await.expect("waiter");
    assert!(
        waited >= Duration::from_millis(400),
        "WAIT returned at once: {doc}"
    );
    assert!(waited < Duration::from_secs(20), "WAIT slept: {waited:?}");
    assert_ne!(element(&doc, "phase").as_deref(), Some("PENDING"), "{doc}");
    finished(&gw, &job).await;
    // WAIT on a finished job returns at once.
    let t0 = Instant::now();
    call(&gw, get(&format!("{job}?WAIT=30"))).await;
    assert!(t0.elapsed() < Duration::from_secs(5));

    // The job list: PHASE (repeatable), LAST, AFTER.
    let pending = create(&gw, &[("LANG", "ADQL"), ("QUERY", QUERY)]).await;
    let id = |p: &str| p.rsplit('/').next().expect("id").to_string();
    let (status, _, list) = call(&gw, get("/tap/async")).await;
    assert_eq!(status, 200);
    assert!(
        list.contains(&format!("id=\"{}\"", id(&job)))
            && list.contains(&format!("id=\"{}\"", id(&pending))),
        "{list}"
    );
    let (_, _, list) = call(&gw, get("/tap/async?PHASE=PENDING")).await;
    assert!(
        !list.contains(&id(&job)) && list.contains(&id(&pending)),
        "{list}"
    );
    let (_, _, list) = call(&gw, get("/tap/async?PHASE=PENDING&PHASE=COMPLETED")).await;
    assert!(
        list.contains(&id(&job)) && list.contains(&id(&pending)),
        "{list}"
    );
    let (_, _, list) = call(&gw, get("/tap/async?LAST=1")).await;
    assert!(
        !list.contains(&id(&job)) && list.contains(&id(&pending)),
        "{list}"
    );
    let (_, _, list) = call(&gw, get("/tap/async?AFTER=2999-01-01T00:00:00Z")).await;
    assert!(!list.contains("jobref"), "{list}");
    // Parameters may change while PENDING, and the change shows.
    let (status, _, _) = call(
        &gw,
        post(
            &format!("{pending}/parameters"),
            &[("QUERY", "SELECT TOP 1 obs_id FROM ivoa.ObsCore")],
        ),
    )
    .await;
    assert_eq!(status, 303);
    let (_, _, params) = call(&gw, get(&format!("{pending}/parameters"))).await;
    assert!(
        params.contains("SELECT TOP 1 obs_id") && !params.contains("ORDER BY"),
        "{params}"
    );
    let (status, _, _) = call(
        &gw,
        post(&format!("{pending}/phase"), &[("PHASE", "ABORT")]),
    )
    .await;
    assert_eq!(status, 303);
    let (_, _, phase) = call(&gw, get(&format!("{pending}/phase"))).await;
    assert_eq!(phase, "ABORTED");
}

async fn bad_requests_get_clear_errors(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), &db);
    let job = create(&gw, &[("LANG", "ADQL"), ("QUERY", QUERY)]).await;
    let cases: Vec<(test::TestRequest, u16, &str)> = vec![
        (
            get("/tap/async/nosuchjob"),
            404,
            "there is no job 'nosuchjob'",
        ),
        (get("/tap/async/nosuchjob/phase"), 404, "there is no job"),
        (
            post(&format!("{job}/phase"), &[("PHASE", "EXPLODE")]),
            400,
            "PHASE=EXPLODE is not a phase change",
        ),
        (
            post(
                &format!("{job}/destruction"),
                &[("DESTRUCTION", "yesterday")],
            ),
            400,
            "DESTRUCTION=yesterday is not an ISO 8601 time",
        ),
        (
            post(
                &format!("{job}/destruction"),
                &[("DESTRUCTION", "2001-01-01T00:00:00Z")],
            ),
            400,
            "is in the past",
        ),
        (
            post(
                &format!("{job}/executionduration"),
                &[("EXECUTIONDURATION", "-5")],
            ),
            400,
            "EXECUTIONDURATION=-5 is negative",
        ),
        (
            get(&format!("{job}?WAIT=abc")),
            400,
            "WAIT=abc is not a whole number",
        ),
        (
            get("/tap/async?PHASE=EXPLODE"),
            400,
            "PHASE=EXPLODE is not a UWS phase",
        ),
        (
            get("/tap/async?LAST=-1"),
            400,
            "LAST=-1 is not a positive whole number",
        ),
        (
            post("/tap/async", &[("LANG", "ADQL"), ("PHASE", "EXPLODE")]),
            400,
            "PHASE=EXPLODE cannot be given to a new job",
        ),
        (
            post(&job, &[("ACTION", "EXPLODE")]),
            400,
            "ACTION=EXPLODE is not supported",
        ),
        (
            get(&format!("{job}/results/result")),
            404,
            "has no result 'result'",
        ),
        (get(&format!("{job}/error")), 404, "has no error"),
        (
            test::TestRequest::put().uri(&job),
            405,
            "PUT is not allowed on",
        ),
        (
            test::TestRequest::delete().uri("/tap/async"),
            405,
            "use GET, POST",
        ),
        (
            get(&format!("{job}/nonsense")),
            404,
            "there is no UWS resource",
        ),
        (
            post(
                "/tap/async",
                &[("LANG", "ADQL"), ("RUNID", "a"), ("RUNID", "b")],
            ),
            400,
            "RUNID is given 2 times",
        ),
        (
            test::TestRequest::post()
                .uri("/tap/async")
                .insert_header(("content-type", "application/json"))
                .set_payload("{\"LANG\": \"ADQL\"}"),
            415,
            "application/json is not understood",
        ),
        (
            test::TestRequest::post()
                .uri("/tap/async")
                .insert_header(("content-type", "application/x-www-form-urlencoded"))
                .insert_header(("content-length", "99999999999")),
            413,
            "larger than 1048576 bytes (Content-Length 99999999999)",
        ),
    ];
    for (req, status, message) in cases {
        let (s, _, body) = call(&gw, req).await;
        assert_eq!(s, status, "{message}: {body}");
        assert!(body.contains("QUERY_STATUS\" value=\"ERROR\""), "{body}");
        assert!(body.contains(message), "{message}: {body}");
    }
    // A finished job's parameters and duration stay as they were.
    let (s, _, _) = call(&gw, post(&format!("{job}/phase"), &[("PHASE", "RUN")])).await;
    assert_eq!(s, 303);
    finished(&gw, &job).await;
    let (s, _, body) = call(
        &gw,
        post(&format!("{job}/parameters"), &[("QUERY", "SELECT 1")]),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        body.contains("is COMPLETED: changing parameters is possible only while it is PENDING"),
        "{body}"
    );
    let (s, _, body) = call(
        &gw,
        post(
            &format!("{job}/executionduration"),
            &[("EXECUTIONDURATION", "10")],
        ),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    let (s, _, body) = call(&gw, post(&format!("{job}/phase"), &[("PHASE", "RUN")])).await;
    assert_eq!(s, 400, "{body}");
    // And the service still serves.
    let (s, _, _) = call(&gw, get(&format!("{job}/results/result"))).await;
    assert_eq!(s, 200);
}

async fn jobs_survive_a_restart(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (done, pending, result) = {
        let gw = gateway(dir.path(), &db);
        let done = create(&gw, &[("LANG", "ADQL"), ("QUERY", QUERY), ("PHASE", "RUN")]).await;
        finished(&gw, &done).await;
        let (_, _, result) = call(&gw, get(&format!("{done}/results/result"))).await;
        let pending = create(&gw, &[("LANG", "ADQL"), ("QUERY", QUERY)]).await;
        (done, pending, result)
    };
    let gw = gateway(dir.path(), &db);
    let (_, _, list) = call(&gw, get("/tap/async")).await;
    for job in [&done, &pending] {
        let id = job.rsplit('/').next().expect("id");
        assert!(list.contains(&format!("id=\"{id}\"")), "{id} lost: {list}");
    }
    let (status, _, again) = call(&gw, get(&format!("{done}/results/result"))).await;
    assert_eq!(status, 200);
    assert_eq!(again, result, "the result changed across the restart");
    let (_, _, phase) = call(&gw, get(&format!("{pending}/phase"))).await;
    assert_eq!(phase, "PENDING");
    call(&gw, post(&format!("{pending}/phase"), &[("PHASE", "RUN")])).await;
    let doc = finished(&gw, &pending).await;
    assert_eq!(
        element(&doc, "phase").as_deref(),
        Some("COMPLETED"),
        "{doc}"
    );
}

async fn owners_see_only_their_jobs(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway_with(dir.path(), &db, Some("X-Auth-Request-User"));
    let as_user = |req: test::TestRequest, user: &str| {
        req.insert_header(("X-Auth-Request-User", user.to_string()))
    };
    let (status, location, _) = call(
        &gw,
        as_user(
            post("/tap/async", &[("LANG", "ADQL"), ("QUERY", QUERY)]),
            "ann",
        ),
    )
    .await;
    assert_eq!(status, 303);
    let ann = path(&location.expect("Location"));
    let id = ann.rsplit('/').next().expect("id").to_string();
    let (status, _, doc) = call(&gw, as_user(get(&ann), "ann")).await;
    assert_eq!(status, 200);
    assert_eq!(element(&doc, "ownerId").as_deref(), Some("ann"), "{doc}");
    // Another caller, or nobody: 403, for the job and everything under it.
    for who in [Some("bob"), None] {
        for uri in [
            ann.clone(),
            format!("{ann}/phase"),
            format!("{ann}/parameters"),
        ] {
            let req = match who {
                Some(u) => as_user(get(&uri), u),
                None => get(&uri),
            };
            let (status, _, body) = call(&gw, req).await;
            assert_eq!(status, 403, "{who:?} {uri}: {body}");
            assert!(body.contains("belongs to another user"), "{body}");
        }
        let req = match who {
            Some(u) => as_user(post(&format!("{ann}/phase"), &[("PHASE", "RUN")]), u),
            None => post(&format!("{ann}/phase"), &[("PHASE", "RUN")]),
        };
        assert_eq!(call(&gw, req).await.0, 403);
        let req = match who {
            Some(u) => as_user(test::TestRequest::delete().uri(&ann), u),
            None => test::TestRequest::delete().uri(&ann),
        };
        assert_eq!(call(&gw, req).await.0, 403);
    }
    // Each caller's list holds their own jobs only.
    let (_, _, list) = call(&gw, as_user(get("/tap/async"), "ann")).await;
    assert!(list.contains(&id), "{list}");
    let (_, _, list) = call(&gw, as_user(get("/tap/async"), "bob")).await;
    assert!(!list.contains(&id), "{list}");
    let (_, _, list) = call(&gw, get("/tap/async")).await;
    assert!(!list.contains(&id), "{list}");
    // Ann's job is still hers, and still PENDING.
    let (_, _, phase) = call(&gw, as_user(get(&format!("{ann}/phase")), "ann")).await;
    assert_eq!(phase, "PENDING");
}

/// Two gateways of one PostgreSQL database (here: a gateway and a second job engine on the
/// same job store): a WAIT in one wakes when the other runs the job (LISTEN/NOTIFY), not at
/// the end of its 40 s.
async fn wait_wakes_on_a_change_made_by_another_gateway(url: String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), &Db::Postgres(url.clone()));
    let mut settings = gw.settings.clone();
    settings.jobs.results_dir = dir.path().join("other-jobs");
    let store = vo_tap::open(&settings.database()).expect("backend");
    let other = vo_uws::Uws::new(
        vo_tap::asynchronous::KIND,
        store as std::sync::Arc<dyn vo_uws::JobStore>,
        std::sync::Arc::new(vo_tap::TapRunner {
            state: gw.tap.clone(),
        }),
        settings.jobs.clone(),
    );
    let _running = other.start().expect("start");
    actix_web::rt::time::sleep(Duration::from_millis(500)).await; // LISTEN is set up
    let job = create(&gw, &[("LANG", "ADQL"), ("QUERY", QUERY)]).await;
    let id = job.rsplit('/').next().expect("id").to_string();
    let waiter = {
        let (other, id) = (other.clone(), id.clone());
        actix_web::rt::spawn(async move {
            let t0 = Instant::now();
            let job = other
                .wait(&id, None, Some(vo_uws::Phase::Pending), 40)
                .await
                .expect("wait");
            (t0.elapsed(), job.phase)
        })
    };
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let (status, _, _) = call(&gw, post(&format!("{job}/phase"), &[("PHASE", "RUN")])).await;
    assert_eq!(status, 303);
    let (waited, phase) = waiter.await.expect("waiter");
    assert_ne!(phase, vo_uws::Phase::Pending);
    assert!(
        waited < Duration::from_secs(10),
        "the other gateway's WAIT slept {waited:?}"
    );
    finished(&gw, &job).await;
}

async fn caps_are_refused_with_messages(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let flags = Flags {
        workdir: Some(dir.path().to_path_buf()),
        db: match &db {
            Db::Sqlite => None,
            Db::Postgres(u) => Some(u.clone()),
        },
        ..Default::default()
    };
    let mut settings = resolve(flags, Default::default(), None).expect("settings");
    settings.jobs.max_jobs = 2;
    settings.jobs.max_result_bytes = 300;
    let gw = vogate::prepare(settings).expect("prepare");
    // A result over 300 bytes: ERROR saying so, and no file left behind.
    let big = create(&gw, &[("LANG", "ADQL"), ("QUERY", QUERY), ("PHASE", "RUN")]).await;
    let doc = finished(&gw, &big).await;
    assert_eq!(element(&doc, "phase").as_deref(), Some("ERROR"), "{doc}");
    assert!(doc.contains("the result is larger than 300 bytes"), "{doc}");
    let id = big.rsplit('/').next().expect("id");
    assert!(
        !dir.path().join("jobs").join(id).exists(),
        "a failed job left files"
    );
    // A small one fits.
    let small = create(
        &gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", "SELECT TOP 1 obs_id FROM ivoa.ObsCore"),
            ("RESPONSEFORMAT", "csv"),
            ("PHASE", "RUN"),
        ],
    )
    .await;
    let doc = finished(&gw, &small).await;
    assert_eq!(
        element(&doc, "phase").as_deref(),
        Some("COMPLETED"),
        "{doc}"
    );
    // Two jobs stored: a third is refused until one goes.
    let (status, _, body) = call(
        &gw,
        post("/tap/async", &[("LANG", "ADQL"), ("QUERY", QUERY)]),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("this service holds 2 jobs, its limit"),
        "{body}"
    );
    call(&gw, test::TestRequest::delete().uri(&big)).await;
    // One place is free: of ten creations at once, exactly one gets it.
    let racers: Vec<_> = (0..10)
        .map(|_| {
            let gw = gw.clone();
            actix_web::rt::spawn(async move {
                call(
                    &gw,
                    post("/tap/async", &[("LANG", "ADQL"), ("QUERY", QUERY)]),
                )
                .await
                .0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for r in racers {
        statuses.push(r.await.expect("racer"));
    }
    statuses.sort();
    assert_eq!(statuses, [vec![303], vec![503; 9]].concat());
    let (_, _, list) = call(&gw, get("/tap/async")).await;
    assert_eq!(list.matches("<uws:jobref").count(), 2, "{list}");
}

async fn all_results_together_stay_under_their_limit(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let flags = Flags {
        workdir: Some(dir.path().to_path_buf()),
        db: match &db {
            Db::Sqlite => None,
            Db::Postgres(u) => Some(u.clone()),
        },
        ..Default::default()
    };
    let mut settings = resolve(flags, Default::default(), None).expect("settings");
    settings.jobs.max_total_result_bytes = 1500;
    let gw = vogate::prepare(settings).expect("prepare");
    let small = [
        ("LANG", "ADQL"),
        (
            "QUERY",
            "SELECT TOP 3 obs_id FROM ivoa.ObsCore ORDER BY obs_id",
        ),
        ("RESPONSEFORMAT", "csv"),
        ("PHASE", "RUN"),
    ];
    // 1 kB of VOTable fits; the next job finds what is left too small; CSV of 3 rows fits it.
    let first = create(
        &gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", "SELECT TOP 1 obs_id FROM ivoa.ObsCore"),
            ("PHASE", "RUN"),
        ],
    )
    .await;
    let doc = finished(&gw, &first).await;
    assert_eq!(
        element(&doc, "phase").as_deref(),
        Some("COMPLETED"),
        "{doc}"
    );
    let big = create(&gw, &[("LANG", "ADQL"), ("QUERY", QUERY), ("PHASE", "RUN")]).await;
    let doc = finished(&gw, &big).await;
    assert_eq!(element(&doc, "phase").as_deref(), Some("ERROR"), "{doc}");
    assert!(doc.contains("the result is larger than"), "{doc}");
    let fits = create(&gw, &small).await;
    let doc = finished(&gw, &fits).await;
    assert_eq!(
        element(&doc, "phase").as_deref(),
        Some("COMPLETED"),
        "{doc}"
    );
    // Deleting a result frees its room.
    call(&gw, test::TestRequest::delete().uri(&first)).await;
    let again = create(
        &gw,
        &[
            ("LANG", "ADQL"),
            ("QUERY", "SELECT TOP 1 obs_id FROM ivoa.ObsCore"),
            ("PHASE", "RUN"),
        ],
    )
    .await;
    let doc = finished(&gw, &again).await;
    assert_eq!(
        element(&doc, "phase").as_deref(),
        Some("COMPLETED"),
        "{doc}"
    );
}

/// SODA async (SODA 1.0 §3.2) on the same engine: two circles on one product make two
/// results, a cut and an error document for the circle that misses it.
async fn soda_async_makes_one_result_per_combination(db: Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path(), &db);
    let (status, location, body) = call(
        &gw,
        post(
            "/soda/async",
            &[
                ("ID", "ivo://vogate.local/vogate?m31.fits"),
                ("CIRCLE", "10.6847 41.2687 0.05"),
                ("CIRCLE", "200 -41 0.05"),
                ("PHASE", "RUN"),
            ],
        ),
    )
    .await;
    assert_eq!(status, 303, "{body}");
    let location = location.expect("Location");
    assert!(
        location.starts_with("http://127.0.0.1:8080/soda/async/"),
        "{location}"
    );
    let doc = finished(&gw, &path(&location)).await;
    assert_eq!(
        element(&doc, "phase").as_deref(),
        Some("COMPLETED"),
        "{doc}"
    );
    let results: Vec<&str> = doc
        .split("xlink:href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert_eq!(results.len(), 2, "{doc}");
    let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
    let resp = test::call_service(&app, get(&path(results[0])).to_request()).await;
    assert_eq!(resp.status().as_u16(), 200);
    let cut = test::read_body(resp).await;
    assert!(cut.starts_with(b"SIMPLE  ="), "not FITS");
    let file = dir.path().join("cut.fits");
    std::fs::write(&file, &cut).expect("write");
    let layout = vo_fits::check_file(&file).expect("a whole FITS file");
    assert!(
        layout[0].naxis[0] < 64 && layout[0].naxis[0] > 5,
        "{layout:?}"
    );
    let resp = test::call_service(&app, get(&path(results[1])).to_request()).await;
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).expect("utf8");
    assert!(
        text.starts_with("UsageError: the requested region does not overlap the dataset"),
        "{text}"
    );
    // A malformed shape fails the job with SODA's message.
    let (_, location, _) = call(
        &gw,
        post(
            "/soda/async",
            &[
                ("ID", "ivo://vogate.local/vogate?m31.fits"),
                ("CIRCLE", "1 91 1"),
                ("PHASE", "RUN"),
            ],
        ),
    )
    .await;
    let doc = finished(&gw, &path(&location.expect("Location"))).await;
    assert_eq!(element(&doc, "phase").as_deref(), Some("ERROR"), "{doc}");
    assert!(
        doc.contains("CIRCLE: the latitude 91 is outside [-90, 90]"),
        "{doc}"
    );
}

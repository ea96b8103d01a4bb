//! Durable jobs, with the real binary, on both backends: `kill -9` of a server holding a
//! finished job, a running job, a queued job and a job about to be destroyed; then a
//! restart. The job list has every job, the finished result is served byte for byte, the
//! running job becomes ERROR (saying its process stopped) once its lease runs out, the queued
//! one runs, and the destroyed one is gone with its result files. (EXECUTIONDURATION and
//! ABORT of a running job are tested on the engine itself, with a job that never ends.)

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::*;

fn main() -> std::process::ExitCode {
    use vo_testkit::Test;
    vo_testkit::run(vec![
        Test::sync("jobs_survive_kill::sqlite", || jobs_survive_kill(None)),
        Test::sync("jobs_survive_kill::postgres", || {
            jobs_survive_kill(Some(vogate_tests::fresh_pg_database("jobs_kill")))
        })
        .needs(&vogate_tests::postgres()),
        Test::sync(
            "sigterm_answers_pending_waits",
            sigterm_answers_pending_waits,
        )
        .needs(&vo_testkit::Need::check(
            Command::new("kill")
                .arg("-l")
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|_| ())
                .ok_or_else(|| "no `kill` command to send SIGTERM with (procps)".to_string()),
        )),
    ])
}

/// SIGTERM: a WAIT in progress answers at once with the job as it is, and the server exits.
fn sigterm_answers_pending_waits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    let config = dir.path().join("vogate.toml");
    std::fs::write(&config, "").expect("config");
    let port = free_port();
    let mut server = serve(&work, &config, &None, port);
    let job = submit(port, "SELECT TOP 1 obs_id FROM ivoa.ObsCore", "", false);
    let waiter = {
        let job = job.clone();
        std::thread::spawn(move || {
            let t0 = Instant::now();
            let (status, _, doc) = http(port, "GET", &format!("{job}?WAIT=50"), None);
            (t0.elapsed(), status, text(&doc))
        })
    };
    std::thread::sleep(Duration::from_millis(700));
    let pid = server.0.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let (waited, status, doc) = waiter.join().expect("waiter");
    assert_eq!(status, 200, "{doc}");
    assert!(doc.contains("<uws:phase>PENDING</uws:phase>"), "{doc}");
    assert!(
        waited < Duration::from_secs(5),
        "the WAIT held on for {waited:?}"
    );
    let t0 = Instant::now();
    loop {
        if let Some(status) = server.0.try_wait().expect("wait") {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "the server did not stop"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Create a job (queued at once when `run`); its path.
fn submit(port: u16, query: &str, extra: &str, run: bool) -> String {
    let form = format!(
        "LANG=ADQL&QUERY={}{}{extra}",
        enc(query),
        if run { "&PHASE=RUN" } else { "" }
    );
    let (status, location, body) = http(port, "POST", "/tap/async", Some(&form));
    assert_eq!(status, 303, "{}", text(&body));
    let location = location.expect("Location");
    location
        .split_once("/tap/async/")
        .map(|(_, id)| format!("/tap/async/{id}"))
        .expect("a job URL")
}

fn phase(port: u16, job: &str) -> String {
    let (status, _, body) = http(port, "GET", &format!("{job}/phase"), None);
    if status == 404 {
        return "GONE".into();
    }
    text(&body)
}

/// Poll until `job`'s phase is one of `want` (at most `secs`).
fn until_phase(port: u16, job: &str, want: &[&str], secs: u64) -> String {
    let t0 = Instant::now();
    loop {
        let p = phase(port, job);
        if want.contains(&p.as_str()) {
            return p;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{job} is {p}, not {want:?}, after {secs} s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn serve(work: &Path, config: &Path, db: &Option<String>, port: u16) -> Server {
    let mut cmd = Command::new(VOGATE);
    cmd.arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--workdir")
        .arg(work)
        .arg("--bind")
        .arg(format!("127.0.0.1:{port}"));
    if let Some(db) = db {
        cmd.arg("--db").arg(db);
    }
    let log = std::fs::File::create(work.with_extension(format!("{port}.log"))).expect("log");
    let child = cmd
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn");
    let server = Server(child);
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Answering, and its first scan of the data tree (which runs while it answers) ended.
    let t0 = Instant::now();
    loop {
        let (code, _, body) = http(port, "GET", "/obscore/status", None);
        let body = String::from_utf8_lossy(&body);
        if code == 200 && body.contains("\"scans\":") && !body.contains("\"scans\":0") {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "the server did not answer, or did not scan its data tree"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// vogate with `args` (and `db`), which must succeed.
fn vogate(args: &[&str], work: &Path, db: &Option<String>) {
    let mut cmd = Command::new(VOGATE);
    cmd.args(args).arg("--workdir").arg(work);
    if let Some(db) = db {
        cmd.arg("--db").arg(db);
    }
    let out = cmd.output().expect("run vogate");
    assert!(
        out.status.success(),
        "vogate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A query that runs for a second or more (a million rows written out), so that a job of it
/// is still EXECUTING a few milliseconds after it is seen so.
const SLOW: &str = "SELECT * FROM big.t";

/// A catalog big enough that `SELECT *` of it takes a while: (id, x, label) × `n`.
fn load_big_table(dir: &Path, work: &Path, db: &Option<String>, n: usize) {
    let felis = dir.join("big.yaml");
    std::fs::write(
        &felis,
        "name: big\n\"@id\": \"#big\"\ntables:\n- name: t\n  \"@id\": \"#t\"\n  columns:\n\
         \x20 - name: id\n    \"@id\": \"#t.id\"\n    datatype: long\n\
         \x20 - name: x\n    \"@id\": \"#t.x\"\n    datatype: double\n\
         \x20 - name: label\n    \"@id\": \"#t.label\"\n    datatype: string\n    length: 40\n",
    )
    .expect("felis");
    let csv = dir.join("big.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&csv).expect("csv"));
    writeln!(out, "id,x,label").expect("csv");
    for i in 0..n {
        writeln!(out, "{i},{},row {i} of the big table", i as f64 * 0.001).expect("csv");
    }
    drop(out);
    vogate(&["schema", "load", &felis.to_string_lossy()], work, db);
    vogate(&["load", "big.t", &csv.to_string_lossy()], work, db);
}

fn jobs_survive_kill(db: Option<String>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    let config = dir.path().join("vogate.toml");
    std::fs::write(&config, "[jobs]\nworkers = 1\nlease_seconds = 2\n").expect("config");
    load_big_table(dir.path(), &work, &db, 1_000_000);
    let port = free_port();
    let mut first = serve(&work, &config, &db, port);

    let top5 = "SELECT TOP 5 obs_id, s_ra FROM ivoa.ObsCore ORDER BY obs_id";
    let slow = SLOW;
    let done = submit(port, top5, "", true);
    until_phase(port, &done, &["COMPLETED"], 60);
    let (status, _, result) = http(port, "GET", &format!("{done}/results/result"), None);
    assert_eq!(status, 200);
    assert!(text(&result).contains("m31.fits"));
    // Destroyed three seconds from now.
    let soon = iso_in(3);
    let doomed = submit(port, top5, &format!("&DESTRUCTION={}", enc(&soon)), true);
    until_phase(port, &doomed, &["COMPLETED"], 60);
    let doomed_dir = work
        .join("jobs")
        .join(doomed.rsplit('/').next().expect("id"));
    assert!(doomed_dir.join("result").is_file());
    // The one worker busy with the big table, and a job queued behind it.
    let running = submit(port, slow, "&MAXREC=1000000", true);
    until_phase(port, &running, &["EXECUTING"], 60);
    let queued = submit(port, top5, "", true);
    assert_eq!(phase(port, &queued), "QUEUED");
    assert_eq!(
        phase(port, &running),
        "EXECUTING",
        "the big query ended too soon"
    );

    // kill -9, then a restart on the same workdir and database.
    first.0.kill().expect("kill -9");
    first.0.wait().expect("reap");
    drop(first);
    let port = free_port();
    let _second = serve(&work, &config, &db, port);
    let (_, _, list) = http(port, "GET", "/tap/async", None);
    let list = text(&list);
    for job in [&done, &running, &queued] {
        let id = job.rsplit('/').next().expect("id");
        assert!(list.contains(&format!("id=\"{id}\"")), "{id} lost: {list}");
    }
    let (status, _, again) = http(port, "GET", &format!("{done}/results/result"), None);
    assert_eq!(status, 200);
    assert_eq!(again, result, "the finished result changed");
    // The queued job runs; the running one is ERROR once its lease (2 s) runs out.
    assert_eq!(
        until_phase(port, &queued, &["COMPLETED", "ERROR"], 60),
        "COMPLETED"
    );
    assert_eq!(
        until_phase(port, &running, &["ERROR", "COMPLETED"], 60),
        "ERROR"
    );
    let (_, _, doc) = http(port, "GET", &running, None);
    assert!(
        text(&doc).contains("stopped before it ended: its lease ran out"),
        "{}",
        text(&doc)
    );
    // The doomed job is gone, with its result files (removed just after its record, so
    // they may outlive the 404 by a moment).
    until_phase(port, &doomed, &["GONE"], 30);
    for _ in 0..100 {
        if !doomed_dir.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        !doomed_dir.exists(),
        "{} is still there",
        doomed_dir.display()
    );
    assert_eq!(http(port, "GET", &doomed, None).0, 404);
}

/// An ISO 8601 UTC time `secs` seconds from now.
fn iso_in(secs: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::seconds(secs))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

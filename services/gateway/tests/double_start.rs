//! A second `vogate serve` on a taken port or a locked workdir (or database) exits with a
//! clear message and changes nothing: the first server's answers and files stay as they were.
//! `vogate schema load` against the served database works (one transaction) and says that a
//! server is serving it. Runs the real binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use vo_obscore::demo::{write_image, ImageSpec};

mod common;
use common::*;

fn serve_args(workdir: &Path, port: u16, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "serve".to_string(),
        "--workdir".into(),
        workdir.display().to_string(),
        "--bind".into(),
        format!("127.0.0.1:{port}"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Start a server and wait until it answers, has scanned its data tree and, serving the
/// demo sky, has built its HiPS (listed at /hips/list; at most two minutes).
fn start(workdir: &Path, port: u16) -> Server {
    let child = Command::new(VOGATE)
        .args(serve_args(workdir, port, &[]))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vogate");
    let mut server = Server(child);
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(120) {
        // Answering, and its first scan of the data tree (which runs while it answers)
        // ended: every row is there.
        if let Some((200, status)) = get(port, "/obscore/status") {
            let hips = get(port, "/hips/list").is_some_and(|(_, l)| l.contains("hips_service_url"));
            if status.contains("\"scans\":") && !status.contains("\"scans\":0") && hips {
                return server;
            }
        }
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("the first server exited: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the first server did not answer within two minutes");
}

/// Run vogate to its end (at most two minutes).
fn run(args: &[String]) -> Output {
    let mut child = Command::new(VOGATE)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vogate");
    let t0 = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if t0.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("vogate {args:?} did not end within two minutes");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

/// What a workdir holds: every file under `dir` (relative path -> content) but SQLite's own
/// (`vogate.db` and its `-wal` and `-shm` files, whose bytes and existence follow the server's
/// connections and checkpoints, not the data), and the database's content read through SQLite:
/// its schema and every table's rows, sorted.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            let name = p.to_string_lossy();
            if p.is_dir() {
                walk(root, &p, out);
            } else if !name.ends_with("vogate.db")
                && !name.ends_with("-shm")
                && !name.ends_with("-wal")
            {
                let rel = p.strip_prefix(root).expect("prefix").to_path_buf();
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out.insert(
        PathBuf::from("vogate.db (content)"),
        database_content(&dir.join("vogate.db")),
    );
    out
}

/// The schema and the sorted rows of every table of the SQLite database at `path`, as text.
fn database_content(path: &Path) -> Vec<u8> {
    use rusqlite::{types::ValueRef, Connection, OpenFlags};
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the database");
    let mut schema = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name")
        .expect("prepare");
    let entries: Vec<(String, String, Option<String>)> = schema
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(3)?)))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let mut text = String::new();
    for (kind, name, sql) in &entries {
        text.push_str(&format!(
            "{kind} {name}: {}\n",
            sql.as_deref().unwrap_or("")
        ));
        if kind != "table" {
            continue;
        }
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{}\"", name.replace('"', "\"\"")))
            .expect("prepare");
        let width = stmt.column_count();
        let mut rows = Vec::new();
        let mut cursor = stmt.query([]).expect("query");
        while let Some(r) = cursor.next().expect("row") {
            let cells: Vec<String> = (0..width)
                .map(|i| match r.get_ref(i).expect("cell") {
                    ValueRef::Null => "NULL".to_string(),
                    ValueRef::Integer(v) => v.to_string(),
                    ValueRef::Real(v) => format!("{v:e}"),
                    ValueRef::Text(t) => format!("{:?}", String::from_utf8_lossy(t)),
                    ValueRef::Blob(b) => format!("{b:?}"),
                })
                .collect();
            rows.push(cells.join("|"));
        }
        rows.sort();
        for row in rows {
            text.push_str(&format!("  {row}\n"));
        }
    }
    text.into_bytes()
}

const ROWS: &str = "/tap/sync?LANG=ADQL&RESPONSEFORMAT=csv&QUERY=SELECT+obs_id,s_ra,s_dec,access_url+FROM+ivoa.ObsCore+ORDER+BY+obs_id";

#[test]
fn a_second_start_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    let port = free_port();
    let first = start(&work, port);
    let (status, answer) = get(port, ROWS).expect("an answer");
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("m31.fits"), "the demo sky: {answer}");
    let before = files(&work);
    assert!(
        String::from_utf8_lossy(&before[Path::new("vogate.db (content)")]).contains("m31.fits"),
        "the database holds the demo sky"
    );

    // Another data tree, which a second start must not ingest anywhere.
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    write_image(
        &other.join("intruder.fits"),
        &ImageSpec::tan(1.0, 2.0, 10, 10, 0.01),
    )
    .expect("write");
    let data = other.display().to_string();

    // The same port (and workdir): refused before anything is written.
    let out = run(&serve_args(&work, port, &["--data", &data]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("cannot listen on 127.0.0.1:{port}"))
            && err.contains("nothing was changed"),
        "{err}"
    );

    // Another port, the same workdir: the workdir lock refuses it, naming the first server.
    let port2 = free_port();
    let out = run(&serve_args(&work, port2, &["--data", &data]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("is in use by")
            && err.contains(&format!("pid {}", first.0.id()))
            && err.contains(&format!("vogate serve on 127.0.0.1:{port}")),
        "{err}"
    );
    assert!(
        get(port2, "/tap/availability").is_none(),
        "nobody listens on {port2}"
    );

    // Another workdir but the first server's database: the database lock refuses it.
    let work3 = tmp.path().join("work3");
    let db = format!("sqlite:{}", work.join("vogate.db").display());
    let out = run(&serve_args(&work3, port2, &["--data", &data, "--db", &db]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("the database") && err.contains("is in use by"),
        "{err}"
    );
    assert!(!work3.join("demo-sky").exists());

    // A taken port and a new workdir: the new workdir is not even made.
    let work4 = tmp.path().join("work4");
    let out = run(&serve_args(&work4, port, &[]));
    assert!(!out.status.success());
    assert!(!work4.exists(), "the second start made {}", work4.display());

    assert_eq!(get(port, ROWS), Some((200, answer.clone())));
    let after = files(&work);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (path, content) in &before {
        assert!(after[path] == *content, "{} changed", path.display());
    }

    // Publishing a schema while serving: one transaction, with a note naming the server.
    let felis = tmp.path().join("extra.yaml");
    std::fs::write(
        &felis,
        "name: extra\n\"@id\": \"#extra\"\ntables:\n- name: t\n  \"@id\": \"#t\"\n  columns:\n  - name: x\n    \"@id\": \"#t.x\"\n    datatype: int\n",
    )
    .expect("write");
    let out = run(&[
        "schema".into(),
        "load".into(),
        felis.display().to_string(),
        "--workdir".into(),
        work.display().to_string(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("being served by pid {}", first.0.id())),
        "{err}"
    );
    // ObsCore as it was.
    assert_eq!(get(port, ROWS), Some((200, answer)));
    drop(first);

    // Once the first server is gone, the workdir can be served again.
    let again = start(&work, port2);
    let (status, _) = get(port2, "/tap").expect("an answer");
    assert_eq!(status, 200);
    drop(again);
}

//! Helpers shared by the integration tests in `tests/tests/`: which database backends to run
//! on, and a fresh PostgreSQL database per test. The tests run under vo-testkit's harness:
//! a test that needs PostgreSQL declares [`postgres`], and is skipped (and counted as
//! skipped) outside CI when the server cannot be used.
//!
//! PostgreSQL is reached at `VOGATE_TEST_PG` (default `postgres://postgres@127.0.0.1:5432`,
//! a superuser). Each test gets its own database, created from a template database that
//! already has pgSphere and vogate's migrations (`vogate_tpl_<fingerprint>`, made once and
//! rebuilt when the migrations change).

use std::sync::OnceLock;
use std::time::Duration;
use vo_testkit::Need;

/// The server the PostgreSQL tests use, without a database name.
pub fn pg_server() -> String {
    std::env::var("VOGATE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
        .trim_end_matches('/')
        .to_string()
}

fn template_name() -> String {
    format!("vogate_tpl_{}", vo_tap::postgres::migrations_fingerprint())
}

/// The need for a usable PostgreSQL + pgSphere at [`pg_server`]: checked once per test
/// binary by making (or finding) the template database.
pub fn postgres() -> Need {
    static PROBE: OnceLock<Need> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            Need::check(
                block(ensure_template())
                    .map_err(|e| format!("PostgreSQL at {} cannot be used: {e}", pg_server())),
            )
        })
        .clone()
}

/// The need for a private PostgreSQL cluster ([`PrivateCluster`]): PostgreSQL's server
/// programs (initdb, pg_ctl) under /usr/lib/postgresql/*/bin.
pub fn private_cluster() -> Need {
    Need::check(server_bin().map(|_| ()))
}

fn server_bin() -> Result<std::path::PathBuf, String> {
    std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("PostgreSQL's server programs are not installed (/usr/lib/postgresql: {e})"))?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .find(|b| b.join("initdb").exists() && b.join("pg_ctl").exists())
        .ok_or_else(|| "PostgreSQL's server programs are not installed (no initdb under /usr/lib/postgresql/*/bin)".to_string())
}

/// Run `f` on a private current-thread runtime on its own thread (works inside an async test).
fn block<T: Send>(f: impl std::future::Future<Output = T> + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(f)
        })
        .join()
        .expect("thread")
    })
}

/// An error with its causes, e.g. `error connecting to server: Connection refused (os error 111)`.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

async fn admin(db: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(
        &format!("{}/{db}?connect_timeout=5", pg_server()),
        tokio_postgres::NoTls,
    )
    .await?;
    tokio::spawn(conn);
    Ok(client)
}

/// Make the template database (pgSphere and vogate's migrations) unless it is there.
async fn ensure_template() -> Result<(), String> {
    let template = template_name();
    let client = admin("postgres")
        .await
        .map_err(|e| format!("connect: {}", with_causes(&e)))?;
    // One template builder at a time (tests run in parallel, and so may test binaries).
    client
        .execute("SELECT pg_advisory_lock(7415011)", &[])
        .await
        .map_err(|e| e.to_string())?;
    let made = async {
        let exists = client
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template])
            .await
            .map_err(|e| e.to_string())?
            .is_some();
        if !exists {
            client
                .batch_execute(&format!("CREATE DATABASE \"{template}\""))
                .await
                .map_err(|e| format!("create template: {e}"))?;
            let built = async {
                let pg = vo_tap::postgres::PgBackend::new(vo_tap::postgres::PgOptions::new(
                    &format!("{}/{template}", pg_server()),
                ))
                .map_err(|e| e.message)?;
                pg.migrate().await.map_err(|e| e.message)?;
                Ok::<(), String>(())
            }
            .await;
            if let Err(e) = built {
                // Leave no half-made template behind (pgSphere missing, say).
                let _ = client
                    .batch_execute(&format!(
                        "DROP DATABASE IF EXISTS \"{template}\" WITH (FORCE)"
                    ))
                    .await;
                return Err(e);
            }
        }
        Ok(())
    }
    .await;
    client
        .execute("SELECT pg_advisory_unlock(7415011)", &[])
        .await
        .map_err(|e| e.to_string())?;
    made
}

/// A new, empty-but-migrated PostgreSQL database for the test `name` (dropped first if a
/// previous run left it), as a URL. For tests that declare [`postgres`].
///
/// # Panics
/// When PostgreSQL cannot be used (the reason is in the message).
pub fn fresh_pg_database(name: &str) -> String {
    let template = template_name();
    let db = format!("vogate_t_{}", name.to_ascii_lowercase());
    let result: Result<(), String> = block(async {
        ensure_template().await?;
        let client = admin("postgres")
            .await
            .map_err(|e| format!("connect: {}", with_causes(&e)))?;
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
            .await
            .map_err(|e| format!("drop: {e}"))?;
        // The template may still show the builder's connection for a moment.
        let mut last = String::new();
        for _ in 0..50 {
            match client
                .batch_execute(&format!("CREATE DATABASE \"{db}\" TEMPLATE \"{template}\""))
                .await
            {
                Ok(()) => return Ok(()),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("create {db}: {last}"))
    });
    match result {
        Ok(()) => format!("{}/{db}", pg_server()),
        Err(e) => panic!("PostgreSQL at {} is needed by this test: {e}", pg_server()),
    }
}

/// A client of the database at `url` (its connection driven by a task of the current
/// runtime).
async fn connect(url: &str) -> Result<tokio_postgres::Client, String> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(client)
}

/// Run SQL on a test database (for setting up and checking).
pub fn pg_execute(url: &str, sql: &str) -> Result<(), String> {
    block(async move {
        let client = connect(url).await?;
        client.batch_execute(sql).await.map_err(|e| e.to_string())
    })
}

/// Run a query on a test database and return its rows as PostgreSQL's text of each value
/// (`None` for NULL), through the simple query protocol.
pub fn pg_rows(url: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
    block(async move {
        let client = connect(url).await?;
        let messages = client.simple_query(sql).await.map_err(|e| {
            e.as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_string())
        })?;
        Ok(messages
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect())
    })
}

/// A private PostgreSQL cluster on its own port, for tests that stop the server (the outage
/// tests): made with initdb and run with pg_ctl as the `postgres` OS user when the tests run
/// as root (initdb refuses root), as the current user otherwise. Removed when dropped.
pub struct PrivateCluster {
    dir: std::path::PathBuf,
    bin: std::path::PathBuf,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
}

fn as_cluster_owner(program: &std::path::Path, args: &[&str]) -> Result<(), String> {
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let mut cmd = if is_root {
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        std::process::Command::new(program)
    };
    let out = cmd
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {args:?}: {}{}",
            program.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

impl PrivateCluster {
    /// initdb a cluster (trust auth) and start it on `port`, for tests that declare
    /// [`private_cluster`].
    ///
    /// # Panics
    /// When the cluster cannot be made (the reason is in the message).
    pub fn start(port: u16) -> PrivateCluster {
        let made = (|| -> Result<PrivateCluster, String> {
            let bin = server_bin()?;
            let dir = std::path::PathBuf::from(format!("/tmp/vogate-pg-{port}"));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let _ = std::process::Command::new("chown")
                .args(["postgres:postgres", &dir.to_string_lossy()])
                .status();
            let data = dir.join("data");
            as_cluster_owner(
                &bin.join("initdb"),
                &[
                    "-D",
                    &data.to_string_lossy(),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                ],
            )?;
            let cluster = PrivateCluster { dir, bin, port };
            cluster.resume()?;
            Ok(cluster)
        })();
        match made {
            Ok(c) => c,
            Err(e) => panic!("cannot make a private PostgreSQL cluster: {e}"),
        }
    }

    /// The admin URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Start (or restart) the server and wait until it accepts connections.
    pub fn resume(&self) -> Result<(), String> {
        let data = self.dir.join("data");
        let log = self.dir.join("log");
        as_cluster_owner(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                &data.to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-w",
                "-o",
                &format!(
                    "-p {} -k {} -c listen_addresses=127.0.0.1",
                    self.port,
                    self.dir.display()
                ),
                "start",
            ],
        )
    }

    /// Stop the server at once (`pg_ctl stop -m immediate`): connections drop mid-query.
    pub fn stop_immediate(&self) -> Result<(), String> {
        as_cluster_owner(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                &self.dir.join("data").to_string_lossy(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        )
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = self.stop_immediate();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

//! Helpers shared by the integration tests in `tests/tests/`: which database backends to run
//! on, and a fresh PostgreSQL database per test.
//!
//! PostgreSQL is reached at `VOGATE_TEST_PG` (default `postgres://postgres@127.0.0.1:5432`,
//! a superuser). Each test gets its own database, created from a template database that
//! already has pgSphere and vogate's migrations (`vogate_tpl_<fingerprint>`, made once and
//! rebuilt when the migrations change). When PostgreSQL cannot be reached the PostgreSQL
//! variant of a test fails under `CI=true` and is skipped (with a message) otherwise.

use std::time::Duration;

/// The server the PostgreSQL tests use, without a database name.
pub fn pg_server() -> String {
    std::env::var("VOGATE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
        .trim_end_matches('/')
        .to_string()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
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

async fn admin(db: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) =
        tokio_postgres::connect(&format!("{}/{db}", pg_server()), tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(client)
}

/// A new, empty-but-migrated PostgreSQL database for the test `name` (dropped first if a
/// previous run left it), as a URL; `None` (after a message) when PostgreSQL is unreachable
/// outside CI. Panics under CI=true when it is unreachable.
pub fn fresh_pg_database(name: &str) -> Option<String> {
    let template = format!("vogate_tpl_{}", vo_tap::postgres::migrations_fingerprint());
    let db = format!("vogate_t_{}", name.to_ascii_lowercase());
    let result: Result<(), String> = block(async {
        let client = admin("postgres")
            .await
            .map_err(|e| format!("connect: {e}"))?;
        // One template builder at a time (tests run in parallel).
        client
            .execute("SELECT pg_advisory_lock(7415011)", &[])
            .await
            .map_err(|e| e.to_string())?;
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
            let pg = vo_tap::postgres::PgBackend::new(vo_tap::postgres::PgOptions::new(&format!(
                "{}/{template}",
                pg_server()
            )))
            .map_err(|e| e.message)?;
            pg.migrate().await.map_err(|e| e.message)?;
            drop(pg);
        }
        client
            .execute("SELECT pg_advisory_unlock(7415011)", &[])
            .await
            .map_err(|e| e.to_string())?;
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
        Ok(()) => Some(format!("{}/{db}", pg_server())),
        Err(e) if in_ci() => panic!("PostgreSQL at {} is needed under CI: {e}", pg_server()),
        Err(e) => {
            eprintln!("skipping the PostgreSQL variant of {name}: {e}");
            None
        }
    }
}

/// Run SQL on a test database (for setting up and checking).
pub fn pg_execute(url: &str, sql: &str) -> Result<(), String> {
    let url = url.to_string();
    let sql = sql.to_string();
    block(async move {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        client.batch_execute(&sql).await.map_err(|e| e.to_string())
    })
}

//! The serve lock on PostgreSQL: a session advisory lock ([`PG_SERVE_LOCK_KEY`]) held on a
//! connection of its own for as long as a gateway serves the database, so that a second
//! `vogate serve` on the same database is refused (its start would rewrite the ObsCore rows
//! the first one serves) with the first one's name.

use super::*;

/// The advisory lock key a serving vogate holds on its PostgreSQL database.
pub const PG_SERVE_LOCK_KEY: i64 = 7_415_020;

/// The session advisory lock a server holds on its PostgreSQL database
/// ([`PG_SERVE_LOCK_KEY`]), on a connection of its own (on a thread of its own) that lives
/// until this value is dropped. Its `application_name` names the holder, so a second server
/// can say who serves the database.
#[derive(Debug)]
pub struct PgServeLock {
    release: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PgServeLock {
    /// Take the lock for `holder` on the database at `url`, waiting at most `timeout` for
    /// the connection. Errors: `Unavailable` when the database cannot be reached; a usage
    /// error naming the holder when another server holds the lock.
    pub(super) fn acquire(
        url: &str,
        timeout: std::time::Duration,
        holder: &str,
    ) -> Result<PgServeLock, VoError> {
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| VoError::usage(format!("--db: not a PostgreSQL URL: {e}")))?;
        config.connect_timeout(timeout);
        let name = format!("{holder} (pid {})", std::process::id());
        config.application_name(name.chars().take(60).collect::<String>());
        let (result_tx, result_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("vogate-pg-lock".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = result_tx.send(Err(VoError::internal(format!(
                            "cannot start a runtime: {e}"
                        ))));
                        return;
                    }
                };
                rt.block_on(async move {
                    let (client, conn) = match config.connect(NoTls).await {
                        Ok(c) => c,
                        Err(e) => {
                            let _ = result_tx.send(Err(VoError::new(
                                vo_common::error::ErrorKind::Unavailable,
                                format!("cannot connect to the database: {e}"),
                            )));
                            return;
                        }
                    };
                    let mut conn = tokio::spawn(conn);
                    let got: Result<bool, _> = client
                        .query_one("SELECT pg_try_advisory_lock($1)", &[&PG_SERVE_LOCK_KEY])
                        .await
                        .map(|r| r.get(0));
                    match got {
                        Ok(true) => {
                            let _ = result_tx.send(Ok(()));
                            // Hold the connection (and so the lock) until released.
                            let release = tokio::task::spawn_blocking(move || release_rx.recv());
                            tokio::select! {
                                _ = release => {
                                    // Unlock before closing: the server ends the session
                                    // (and frees its locks) only some time after the
                                    // connection closes, and a restart must not find the
                                    // lock still held.
                                    let _ = client
                                        .execute("SELECT pg_advisory_unlock($1)", &[&PG_SERVE_LOCK_KEY])
                                        .await;
                                }
                                _ = &mut conn => {
                                    tracing::warn!(
                                        "the connection holding the database's serve lock \
                                         closed: another vogate could now serve this database"
                                    );
                                    return;
                                }
                            }
                        }
                        Ok(false) => {
                            let who = client
                                .query_opt(
                                    "SELECT a.application_name FROM pg_locks l \
                                     JOIN pg_stat_activity a ON a.pid = l.pid \
                                     WHERE l.locktype = 'advisory' AND l.granted \
                                     AND l.database = (SELECT oid FROM pg_database \
                                                       WHERE datname = current_database()) \
                                     AND ((l.classid::bigint << 32) | l.objid::bigint) = $1",
                                    &[&PG_SERVE_LOCK_KEY],
                                )
                                .await
                                .ok()
                                .flatten()
                                .and_then(|r| r.try_get::<_, String>(0).ok())
                                .filter(|s| !s.is_empty())
                                .unwrap_or_else(|| "another vogate".to_string());
                            let _ = result_tx.send(Err(VoError::usage(format!(
                                "the database is being served by {who}; nothing was changed. \
                                 Stop that server, or give another --db"
                            ))));
                        }
                        Err(e) => {
                            let _ = result_tx.send(Err(VoError::new(
                                vo_common::error::ErrorKind::Unavailable,
                                format!("cannot lock the database: {e}"),
                            )));
                        }
                    }
                    drop(client);
                    let _ = conn.await;
                });
            })
            .map_err(|e| VoError::internal(format!("cannot start a thread: {e}")))?;
        let lock = PgServeLock {
            release: Some(release_tx),
            thread: Some(thread),
        };
        match result_rx.recv() {
            Ok(Ok(())) => Ok(lock),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(VoError::internal("the database lock task ended")),
        }
    }
}

impl Drop for PgServeLock {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

//! Exclusive use of a workdir and its database by one `vogate serve`.
//!
//! A server takes, before it writes anything, an exclusive advisory lock (`flock`, through
//! `std::fs::File::try_lock`) on `<workdir>/vogate.lock`, and on `<db>.lock` beside its
//! SQLite database (which may be another workdir's); on PostgreSQL, a session advisory lock held on a
//! connection of its own for as long as the server runs (see [`PgServeLock`]). A second
//! server on the same workdir or database is refused with a message naming the holder (its
//! pid, command and address, written into the lock file), and changes nothing. The locks go
//! with the process: a server that dies leaves no stale lock behind.
//!
//! `vogate schema load` and `vogate load` do not take these locks: each writes in one
//! transaction, which is safe while a server runs; [`held_by`] lets them say that a server
//! is serving the database.

use crate::settings::{DbUrl, Settings};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use vo_common::VoError;

/// The advisory lock key a serving vogate holds on its PostgreSQL database.
pub const PG_SERVE_LOCK_KEY: i64 = 7_415_020;

/// The lock files a server on `settings` takes: `<workdir>/vogate.lock`, and `<db>.lock`
/// for a SQLite database.
pub fn lock_paths(settings: &Settings) -> Vec<PathBuf> {
    let mut paths = vec![settings.workdir.join("vogate.lock")];
    if let DbUrl::Sqlite(db) = &settings.db {
        paths.push(db_lock_path(db));
    }
    paths
}

/// The lock file that guards a SQLite database: `<db>.lock`.
fn db_lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Exclusive locks on a workdir (and its SQLite database), held until dropped.
#[derive(Debug)]
pub struct WorkdirLock {
    files: Vec<(PathBuf, File)>,
}

impl WorkdirLock {
    /// Lock every path of [`lock_paths`] for `holder` (a description such as
    /// `vogate serve on 127.0.0.1:8080`), creating the workdir and the lock files when
    /// missing. A lock file's content is replaced only once its lock is held.
    ///
    /// Errors: a usage error naming the holder when another process holds a lock
    /// (`the workdir ./w is in use by pid 123 (vogate serve on 127.0.0.1:8080) ...`); an
    /// internal error when the workdir or a lock file cannot be made.
    pub fn acquire(settings: &Settings, holder: &str) -> Result<WorkdirLock, VoError> {
        std::fs::create_dir_all(&settings.workdir).map_err(|e| {
            VoError::internal(format!(
                "cannot create the workdir {}: {e}",
                settings.workdir.display()
            ))
        })?;
        let mut files = Vec::new();
        for path in lock_paths(settings) {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    VoError::internal(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| {
                    VoError::internal(format!("cannot open the lock file {}: {e}", path.display()))
                })?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    let what = if path == settings.workdir.join("vogate.lock") {
                        format!("the workdir {}", settings.workdir.display())
                    } else {
                        format!("the database {}", path.with_extension("").display())
                    };
                    return Err(VoError::usage(format!(
                        "{what} is in use by {}; nothing was changed. Stop that server, or \
                         give another --workdir (and --db)",
                        describe(&read_holder(&mut file))
                    )));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(VoError::internal(format!(
                        "cannot lock {}: {e}",
                        path.display()
                    )))
                }
            }
            let note = format!("pid={}\nholder={holder}\n", std::process::id());
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(note.as_bytes()))
                .map_err(|e| {
                    VoError::internal(format!(
                        "cannot write the lock file {}: {e}",
                        path.display()
                    ))
                })?;
            files.push((path, file));
        }
        Ok(WorkdirLock { files })
    }

    /// The lock files held.
    pub fn paths(&self) -> Vec<&Path> {
        self.files.iter().map(|(p, _)| p.as_path()).collect()
    }
}

fn read_holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
    text
}

/// "pid 123 (vogate serve on ...)" from a lock file's content.
fn describe(content: &str) -> String {
    let field = |key: &str| {
        content
            .lines()
            .find_map(|l| l.strip_prefix(key).map(str::to_string))
    };
    match (field("pid="), field("holder=")) {
        (Some(pid), Some(h)) => format!("pid {pid} ({h})"),
        (Some(pid), None) => format!("pid {pid}"),
        _ => "another vogate".to_string(),
    }
}

/// Who serves the SQLite database of `settings`, when a server holds its lock: e.g.
/// `pid 123 (vogate serve on 127.0.0.1:8080)`; `None` when no server does (or on
/// PostgreSQL, where loading while serving is the same transaction either way).
pub fn held_by(settings: &Settings) -> Option<String> {
    let DbUrl::Sqlite(db) = &settings.db else {
        return None;
    };
    let path = db_lock_path(db);
    let mut file = OpenOptions::new().read(true).write(true).open(&path).ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(std::fs::TryLockError::WouldBlock) => Some(describe(&read_holder(&mut file))),
        Err(std::fs::TryLockError::Error(_)) => None,
    }
}

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
    pub fn acquire(
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
                    let (client, conn) = match config.connect(tokio_postgres::NoTls).await {
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
                                _ = release => {}
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

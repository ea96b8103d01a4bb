//! Connection options, the pool of connections, and how PostgreSQL errors become
//! VoErrors (never with the generated SQL).

use super::*;

/// How to reach PostgreSQL and how to run queries there.
#[derive(Debug, Clone, PartialEq)]
pub struct PgOptions {
    /// The admin connection URL (`postgres://user@host:port/dbname`).
    pub url: String,
    /// The most pooled connections (default 16).
    pub pool_size: usize,
    /// How long connecting may take, and how long a request waits for a pooled connection
    /// (default 5 s).
    pub connect_timeout: Duration,
    /// `statement_timeout` of every TAP query (default 60 s); 0 means none.
    pub statement_timeout: Duration,
    /// The NOLOGIN role TAP queries run as (default `vogate_reader`).
    pub reader_role: String,
}

impl PgOptions {
    /// Options with the defaults above for `url`.
    pub fn new(url: &str) -> PgOptions {
        PgOptions {
            url: url.to_string(),
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(60),
            reader_role: "vogate_reader".into(),
        }
    }
}

/// A pool of connections to one PostgreSQL database.
#[derive(Clone)]
pub struct PgBackend {
    pool: Pool,
    /// The options it was made with.
    pub options: PgOptions,
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend")
            .field("options", &redacted(&self.options.url))
            .finish()
    }
}

/// The URL without its password, for logs and messages.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub(super) fn unavailable(e: impl std::fmt::Display) -> VoError {
    VoError::new(
        ErrorKind::Unavailable,
        format!("the database is unavailable: {e}; try again later"),
    )
}

/// The user-facing words of a database error: PostgreSQL's message (no SQL, no internal
/// position or detail), or that the connection was lost.
pub fn pg_message(e: &tokio_postgres::Error) -> String {
    tracing::warn!(error = ?e, "database error");
    match e.as_db_error() {
        Some(db) if db.code() == &tokio_postgres::error::SqlState::QUERY_CANCELED => {
            format!(
                "the query was cancelled ({}): it ran past the statement timeout",
                db.message()
            )
        }
        Some(db) => format!("the query failed in the database: {}", db.message()),
        None if e.is_closed() => "the database connection was lost".to_string(),
        None => format!("the database connection failed: {e}"),
    }
}

/// A query error, or 503 when the database cannot be reached.
pub fn pg_error(e: &tokio_postgres::Error) -> VoError {
    if e.as_db_error().is_some() {
        VoError::query(pg_message(e))
    } else {
        unavailable(pg_message(e))
    }
}

pub(super) fn admin_error(what: &str, e: tokio_postgres::Error) -> VoError {
    match e.as_db_error() {
        Some(db) => VoError::internal(format!("{what}: {}", db.message())),
        None => unavailable(format!("{what}: {e}")),
    }
}

/// The runtime that drives every PostgreSQL connection (its socket and its reading task) and
/// the task of every TAP query that reads rows from one ([`io_handle`]). Were connections
/// left on whichever runtime first asked for them (a UWS runner's, a test's), each batch of
/// rows would cross runtimes and threads message by message: a download of 200,000 rows
/// spent a quarter of its time switching threads (perf).
static IO: std::sync::OnceLock<Option<tokio::runtime::Runtime>> = std::sync::OnceLock::new();

/// A handle to the PostgreSQL I/O runtime (two worker threads named `pg-io`, made at first
/// use and kept for the life of the process); the current runtime's if it cannot be made.
pub(super) fn io_handle() -> tokio::runtime::Handle {
    let rt = IO.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("pg-io")
            .enable_all()
            .build()
            .map_err(|e| tracing::warn!(error = %e, "cannot make the PostgreSQL I/O runtime"))
            .ok()
    });
    match rt {
        Some(rt) => rt.handle().clone(),
        None => tokio::runtime::Handle::current(),
    }
}

/// Connections made on the I/O runtime ([`io_handle`]), their tasks spawned there.
struct IoConnect;

impl deadpool_postgres::Connect for IoConnect {
    fn connect(
        &self,
        pg_config: &tokio_postgres::Config,
    ) -> futures_util::future::BoxFuture<
        '_,
        Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), tokio_postgres::Error>,
    > {
        let pg_config = pg_config.clone();
        Box::pin(async move {
            let io = io_handle();
            let spawner = io.clone();
            let config = pg_config.clone();
            let made = io
                .spawn(async move {
                    let (client, connection) = config.connect(NoTls).await?;
                    let task = spawner.spawn(async move {
                        if let Err(e) = connection.await {
                            tracing::warn!(error = %e, "PostgreSQL connection error");
                        }
                    });
                    Ok((client, task))
                })
                .await;
            match made {
                Ok(r) => r,
                // The I/O runtime's task was lost (it cannot be in normal running): connect
                // here instead.
                Err(_) => {
                    let (client, connection) = pg_config.connect(NoTls).await?;
                    let task = tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    Ok((client, task))
                }
            }
        })
    }
}

impl PgBackend {
    /// A pool for `options` (no connection is made until one is needed). Errors: a URL
    /// PostgreSQL's client cannot parse.
    pub fn new(options: PgOptions) -> Result<PgBackend, VoError> {
        let mut config: tokio_postgres::Config = options.url.parse().map_err(|e| {
            VoError::usage(format!(
                "--db {}: not a PostgreSQL URL: {e}",
                redacted(&options.url)
            ))
        })?;
        config.connect_timeout(options.connect_timeout);
        config.application_name("vogate");
        // Idempotent DDL ("... already exists, skipping") is not worth a log line.
        config.options("-c client_min_messages=warning");
        let manager = Manager::from_connect(
            config,
            IoConnect,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| VoError::internal(format!("cannot make the connection pool: {e}")))?;
        Ok(PgBackend { pool, options })
    }

    /// A pooled connection; 503 (Unavailable) when the database cannot be reached.
    pub async fn client(&self) -> Result<deadpool_postgres::Object, VoError> {
        self.pool.get().await.map_err(|e| {
            tracing::warn!(error = %e, "no database connection");
            unavailable(match e {
                deadpool_postgres::PoolError::Backend(e) => pg_message(&e),
                other => other.to_string(),
            })
        })
    }
}

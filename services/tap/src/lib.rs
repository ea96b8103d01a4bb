//! vo-tap: the TAP 1.1 (IVOA REC 2019-09-27) query service over the embedded SQLite backend
//! or PostgreSQL + pgSphere.
//!
//! - [`csvload`]: rows of a published table from CSV, type-checked, all or nothing.
//! - [`params`]: DALI 1.1 request parameters (names case-insensitive) into a typed request.
//! - [`schema`]: TAP_SCHEMA 1.1 (TAP 1.1 §4) and `ivoa.ObsCore` in SQLite: DDL, the rows that
//!   describe both, loading the [`vo_adql::Catalog`] back from them, and writing ObsCore rows.
//! - [`postgres`]: the PostgreSQL + pgSphere backend: dialect, migrations, reader role,
//!   ingest and pooled, cancellable, read-only queries.
//! - [`publish`]: Felis schemas (vo-felis) published on either backend: tables and
//!   TAP_SCHEMA rows, idempotently.
//! - [`sqlite`]: the SQLite dialect of the ADQL renderer and its Rust SQL functions (exact
//!   spherical predicates), and the read-only query connection.
//! - [`sync`]: `GET`/`POST /tap/sync` (TAP 1.1 §2.3.1): translate, execute, and stream the
//!   result in the requested format with QUERY_STATUS and MAXREC overflow.
//! - [`vosi`]: `/tap/availability`, `/tap/capabilities`, `/tap/tables` (VOSI 1.1).

pub mod csvload;
pub mod params;
pub mod postgres;
pub mod publish;
pub mod schema;
pub mod sqlite;
pub mod sync;
pub mod vosi;

pub use sync::{configure, TapState};

/// TAP output limits (TAPRegExt outputLimit, DALI 1.1 §3.4.3 MAXREC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Rows returned when a request has no MAXREC.
    pub default_maxrec: u64,
    /// The largest MAXREC honoured.
    pub max_maxrec: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            default_maxrec: 10_000,
            max_maxrec: 1_000_000,
        }
    }
}

/// The database a TAP service queries.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The embedded SQLite database file.
    Sqlite(std::path::PathBuf),
    /// PostgreSQL + pgSphere through a connection pool.
    Postgres(postgres::PgBackend),
}

impl Backend {
    /// Text columns `columns` of the ObsCore row whose `key` column equals `value`, or
    /// `None` when there is no such row. `key` and `columns` are ObsCore column names.
    pub async fn obscore_lookup(
        &self,
        key: &str,
        value: &str,
        columns: &[&str],
    ) -> Result<Option<Vec<Option<String>>>, vo_common::VoError> {
        match self {
            Backend::Postgres(pg) => pg.obscore_lookup(key, value, columns).await,
            Backend::Sqlite(path) => {
                let path = path.clone();
                let cols: Vec<String> = columns.iter().map(|c| schema::quote_ident(c)).collect();
                let sql = format!(
                    "SELECT {} FROM {} WHERE {} = ?1",
                    cols.join(", "),
                    schema::quote_ident(schema::OBSCORE_TABLE),
                    schema::quote_ident(key)
                );
                let value = value.to_string();
                let n = columns.len();
                actix_web::web::block(move || {
                    let conn = sqlite::open_query(&path)?;
                    let lookup = |e: rusqlite::Error| {
                        vo_common::VoError::internal(format!("lookup failed: {e}"))
                    };
                    let mut st = conn.prepare(&sql).map_err(lookup)?;
                    let mut rows = st.query([&value]).map_err(lookup)?;
                    match rows.next().map_err(lookup)? {
                        Some(r) => Ok(Some(
                            (0..n)
                                .map(|i| r.get::<_, Option<String>>(i).map_err(lookup))
                                .collect::<Result<Vec<_>, _>>()?,
                        )),
                        None => Ok(None),
                    }
                })
                .await
                .map_err(|_| vo_common::VoError::internal("the lookup task failed"))?
            }
        }
    }

    /// The number of rows in ivoa.ObsCore.
    pub async fn obscore_count(&self) -> Result<i64, vo_common::VoError> {
        match self {
            Backend::Postgres(pg) => pg.obscore_count().await,
            Backend::Sqlite(path) => {
                let path = path.clone();
                actix_web::web::block(move || {
                    let conn = sqlite::open_query(&path)?;
                    conn.query_row(
                        &format!(
                            "SELECT COUNT(*) FROM {}",
                            schema::quote_ident(schema::OBSCORE_TABLE)
                        ),
                        [],
                        |r| r.get(0),
                    )
                    .map_err(|e| vo_common::VoError::internal(format!("cannot count rows: {e}")))
                })
                .await
                .map_err(|_| vo_common::VoError::internal("the count task failed"))?
            }
        }
    }
}

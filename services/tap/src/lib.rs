//! vo-tap: the TAP 1.1 (IVOA REC 2019-09-27) query service over the embedded SQLite backend
//! or PostgreSQL + pgSphere.
//!
//! - [`asynchronous`]: `/tap/async` (TAP 1.1 §2.3.2): TAP queries as UWS jobs (vo-uws).
//! - [`backend`]: the [`Backend`] trait every database implements (queries as row streams
//!   with cancel, ObsCore rows, publishing, TAP_SCHEMA, CSV rows, the serve lock), and
//!   [`open`], the one place that chooses the database.
//! - [`csvload`]: rows of a published table from CSV, type-checked, all or nothing.
//! - [`examples`]: `/tap/examples`, the DALI examples document, made for the archive served.
//! - [`params`]: DALI 1.1 request parameters (names case-insensitive) into a typed request.
//! - [`schema`]: TAP_SCHEMA 1.1 (TAP 1.1 §4) and `ivoa.ObsCore` in SQLite: DDL, the rows that
//!   describe both, loading the [`vo_adql::Catalog`] back from them, and writing ObsCore rows.
//! - [`postgres`]: the PostgreSQL + pgSphere backend: pool, dialect, migrations, queries
//!   (pooled, cancellable, read-only) and storage.
//! - [`result`]: the one result stream: rows into any output format, MAXREC overflow,
//!   chunks to an HTTP response or a file.
//! - [`publish`]: Felis schemas (vo-felis) published on either backend: tables and
//!   TAP_SCHEMA rows, idempotently.
//! - [`sqlite`]: the SQLite backend: the dialect of the ADQL renderer, its Rust SQL functions
//!   (exact spherical predicates) and the read-only query connection.
//! - [`sync`]: `GET`/`POST /tap/sync` (TAP 1.1 §2.3.1): translate, execute, and stream the
//!   result in the requested format with QUERY_STATUS and MAXREC overflow.
//! - [`upload`]: TAP UPLOAD: which tables a request uploads, their FIELDs as ADQL tables, and
//!   their rows for the backends' temporary tables.
//! - [`vosi`]: `/tap/availability`, `/tap/capabilities`, `/tap/tables` (VOSI 1.1).

pub mod asynchronous;
pub mod backend;
pub mod csvload;
pub mod examples;
pub mod params;
pub mod postgres;
pub mod publish;
pub mod result;
pub mod schema;
pub mod sqlite;
pub mod sync;
pub mod upload;
pub mod vosi;

pub use asynchronous::TapRunner;
pub use backend::{open, Backend, Database, RowStream, ServeLock};
pub use sync::{configure, AvailabilityNote, TapState};

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

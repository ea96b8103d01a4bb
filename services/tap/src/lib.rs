//! vo-tap: the TAP 1.1 (IVOA REC 2019-09-27) query service over the embedded SQLite backend.
//!
//! - [`params`]: DALI 1.1 request parameters (names case-insensitive) into a typed request.
//! - [`schema`]: TAP_SCHEMA 1.1 (TAP 1.1 §4) and `ivoa.ObsCore` in SQLite: DDL, the rows that
//!   describe both, loading the [`vo_adql::Catalog`] back from them, and writing ObsCore rows.
//! - [`sqlite`]: the SQLite dialect of the ADQL renderer and its Rust SQL functions (exact
//!   spherical predicates), and the read-only query connection.
//! - [`sync`]: `GET`/`POST /tap/sync` (TAP 1.1 §2.3.1): translate, execute, and stream the
//!   result in the requested format with QUERY_STATUS and MAXREC overflow.
//! - [`vosi`]: `/tap/availability`, `/tap/capabilities`, `/tap/tables` (VOSI 1.1).

pub mod params;
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

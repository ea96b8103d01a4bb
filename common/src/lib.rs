//! vo-common: the pieces every vogate service shares.
//!
//! - [`error`]: the one error type ([`VoError`]) whose kinds map to HTTP statuses and DALI 1.1
//!   error documents (DALI 1.1 §4.2, TAP 1.1 §2.9).
//! - [`votable`]: column metadata ([`FieldMeta`]), cell values ([`Value`]), XML escaping.
//! - [`format`]: the streaming table writers, one module a format behind one
//!   [`format::TableFormat`] trait: VOTable 1.4 (TABLEDATA, BINARY2, BINARY), the Gaia TAP+
//!   style JSON, CSV and TSV.
//! - [`sky`]: spherical geometry on the celestial sphere (unit vectors, angular distances,
//!   polygons, smallest enclosing circles), angles in degrees unless a name says radians.
//! - [`geometry`]: ADQL's geometry values (POINT, CIRCLE, POLYGON, BOX) and their
//!   relations, areas and centroids, exact on the sphere.
//! - [`config`]: the gateway configuration as read from TOML.
//! - [`files`]: product files under the data root, by their obs_id.
//! - [`lockfile`]: exclusive lock files that name their holder (one server per workdir or
//!   database).

pub mod config;
pub mod error;
pub mod files;
pub mod format;
pub mod geometry;
pub mod lockfile;
pub mod region;
pub mod sky;
pub mod votable;

pub use error::{ErrorKind, VoError};
pub use votable::{FieldMeta, Format, Value};

//! vo-felis: Rubin's Felis YAML schema language (the `felis` tool's data model, `lsst-felis`)
//! read, validated and turned into what vogate publishes: the TAP_SCHEMA 1.1 rows (TAP 1.1
//! §4) and the DDL of the tables, for PostgreSQL and SQLite. A pure library: no database, no
//! HTTP.
//!
//! - [`parse`]: YAML to [`model::Schema`], with located [`parse::Problem`]s (file, line, path
//!   like `tables[3].columns[7].datatype`, and the rule's name);
//! - [`tap`]: the TAP_SCHEMA rows, by Felis's rules;
//! - [`ddl`]: `CREATE` statements for either database;
//! - [`ucd`]: UCDs against the UCD1+ controlled vocabulary.

pub mod ddl;
pub mod model;
pub mod parse;
pub mod tap;
pub mod ucd;

pub use model::{DataType, Schema};
pub use parse::{load_file, load_str, Checks, Problem};
pub use tap::{tap_schema_rows, TapOptions, TapRows};

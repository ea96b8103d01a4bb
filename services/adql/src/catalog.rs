//! What a query may name: the service's published tables and columns (its TAP_SCHEMA) and
//! its user-defined functions.

use vo_common::FieldMeta;

use crate::ast::Ident;
pub use crate::parser::UdfSignature;

/// One column of a published table, as TAP_SCHEMA.columns describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    /// `column_name`, exactly as published. A name published with double quotes (TAP 1.1
    /// §4.3: `"size"`, a reserved word) is a delimited identifier: ADQL must quote it too.
    /// [`unquoted`] gives the bare name.
    pub name: String,
    /// The metadata a result FIELD for this column carries (its `name` is the column name).
    pub field: FieldMeta,
}

/// One published table, as TAP_SCHEMA.tables describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// `schema_name`, if the table is in a schema.
    pub schema: Option<String>,
    /// The table name without its schema, e.g. `ObsCore` for `ivoa.ObsCore`.
    pub name: String,
    /// Columns in `column_index` order: the order `SELECT *` returns.
    pub columns: Vec<ColumnInfo>,
    /// The (ra, dec) columns (degrees) of the table's indexed sky position, if the backend
    /// keeps a spatial index on them (ObsCore's s_ra/s_dec; catalog tables named in the
    /// configuration). Cones on exactly these columns get the dialect's prefilter.
    pub position: Option<(String, String)>,
}

/// The schema of uploaded tables (TAP 1.1 §2.5.6: `TAP_UPLOAD.name`).
pub const UPLOAD_SCHEMA: &str = "TAP_UPLOAD";

/// The database name of the table uploaded as `TAP_UPLOAD.name` (`name` a regular
/// identifier): `tap_upload_` and the name in lower case, a temporary table of the query's
/// own connection.
pub fn upload_sql_table(name: &str) -> String {
    format!("tap_upload_{}", name.to_ascii_lowercase())
}

/// The database name of column `index` (from 0) of an uploaded table: `c0`, `c1`, ... The
/// names a client gives are kept for ADQL and the result's FIELDs, but need not be names a
/// database can hold (two may differ only in case, or hold any character).
pub fn upload_sql_column(index: usize) -> String {
    format!("c{index}")
}

impl TableInfo {
    /// Whether this is an uploaded table (schema [`UPLOAD_SCHEMA`]).
    pub fn is_upload(&self) -> bool {
        self.schema.as_deref() == Some(UPLOAD_SCHEMA)
    }

    /// The name of `column` in the database: [`upload_sql_column`] in an uploaded table,
    /// otherwise the published name without delimiting quotes.
    pub fn sql_column<'c>(&self, column: &'c ColumnInfo) -> std::borrow::Cow<'c, str> {
        if self.is_upload() {
            let index = self
                .columns
                .iter()
                .position(|c| std::ptr::eq(c, column))
                .or_else(|| self.columns.iter().position(|c| c.name == column.name));
            if let Some(i) = index {
                return upload_sql_column(i).into();
            }
        }
        unquoted(&column.name).into()
    }

    /// Whether (`ra`, `dec`) are the table's indexed position columns ([`Self::position`]).
    pub fn is_position(&self, ra: &ColumnInfo, dec: &ColumnInfo) -> bool {
        self.position
            .as_ref()
            .is_some_and(|(r, d)| *r == ra.name && *d == dec.name)
    }

    /// The qualified name, `schema.table`, as TAP_SCHEMA.tables.table_name gives it.
    pub fn qualified_name(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// The tables and columns a query may name: the service's TAP_SCHEMA, and the user-defined
/// functions it declares.
pub trait Catalog {
    /// Every published table.
    fn tables(&self) -> &[TableInfo];

    /// The user-defined functions the service provides (by default vogate's own,
    /// [`crate::check::UDFS`]).
    fn udfs(&self) -> &[UdfSignature] {
        crate::check::udf_signatures()
    }

    /// The tables uploaded with the query (schema [`UPLOAD_SCHEMA`]), named only as
    /// `TAP_UPLOAD.name` (none by default).
    fn uploads(&self) -> &[TableInfo] {
        &[]
    }
}

/// A catalog and the tables uploaded with one query (TAP 1.1 §2.5.6).
pub struct WithUploads<'a> {
    /// The service's catalog.
    pub base: &'a dyn Catalog,
    /// The uploaded tables, each with schema [`UPLOAD_SCHEMA`].
    pub uploads: Vec<TableInfo>,
}

impl Catalog for WithUploads<'_> {
    fn tables(&self) -> &[TableInfo] {
        self.base.tables()
    }

    fn udfs(&self) -> &[UdfSignature] {
        self.base.udfs()
    }

    fn uploads(&self) -> &[TableInfo] {
        &self.uploads
    }
}

/// A published name without the double quotes of a delimited name (`"size"` → `size`).
pub fn unquoted(name: &str) -> &str {
    if name.len() >= 2 && name.starts_with('"') && name.ends_with('"') {
        &name[1..name.len() - 1]
    } else {
        name
    }
}

/// Whether `ident` names the published `name` (ADQL 2.1 §2.1.3): a published delimited name
/// (`"size"`) only by the same delimited identifier; a published regular name by a regular
/// identifier in any case, or by a delimited one spelled exactly alike.
pub fn names_published(ident: &Ident, name: &str) -> bool {
    if unquoted(name).len() != name.len() {
        ident.quoted && ident.name == unquoted(name)
    } else if ident.quoted {
        ident.name == name
    } else {
        ident.name.eq_ignore_ascii_case(name)
    }
}

/// Whether the reference `r` names what the query itself declared as `declared` (an alias, a
/// subquery's output column, a CTE): regular identifiers match in any case; a delimited one
/// matches the same text, and a regular one that folds to it (SQL folds regular identifiers
/// to lower case).
pub fn names_declared(declared: &Ident, r: &Ident) -> bool {
    match (declared.quoted, r.quoted) {
        (false, false) => declared.name.eq_ignore_ascii_case(&r.name),
        (true, true) => declared.name == r.name,
        (true, false) => declared.name == r.name.to_ascii_lowercase(),
        (false, true) => r.name == declared.name || r.name == declared.name.to_ascii_lowercase(),
    }
}

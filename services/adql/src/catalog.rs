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

impl TableInfo {
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

    /// The user-defined functions the service provides (none by default).
    fn udfs(&self) -> &[UdfSignature] {
        &[]
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

//! TAP_SCHEMA 1.1 rows (TAP 1.1 §4) of a Felis schema, by the rules of Felis's
//! `load-tap-schema` (`felis.tap_schema.DataLoader`):
//! - datatype: the VOTable type of the Felis datatype (`votable:datatype` is honoured when
//!   [`TapOptions::honour_votable_datatype`]; Felis ignores it);
//! - arraysize: `votable:arraysize`, else `N` for `char(N)`, `N*` for string, unicode and
//!   binary of length N > 1, `*` for text and timestamp; `size` is N of `N` or `N*`;
//! - xtype: `votable:xtype` (`timestamp` for timestamps by default);
//! - indexed: 1 for the column of a one-column primary key (given as one id) or of a
//!   one-column index; principal/std: `tap:principal`/`tap:std` (default 0);
//! - tables.table_index: `tap:table_index`, else 0; schemas.schema_index: given by the caller;
//! - keys: one per foreign key, key_id = the constraint's name; key_columns pairs the
//!   columns with the referenced ones, by name.

use crate::model::{ConstraintKind, Schema};

/// Options of the TAP_SCHEMA rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TapOptions {
    /// TAP_SCHEMA.schemas.schema_index (Felis: `--tap-schema-index`, else NULL).
    pub schema_index: Option<i64>,
    /// Use `votable:datatype` for TAP_SCHEMA.columns.datatype when given (vogate does; Felis
    /// does not).
    pub honour_votable_datatype: bool,
}

/// A TAP_SCHEMA.schemas row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaRow {
    /// schema_name.
    pub schema_name: String,
    /// utype.
    pub utype: Option<String>,
    /// description.
    pub description: Option<String>,
    /// schema_index.
    pub schema_index: Option<i64>,
}

/// A TAP_SCHEMA.tables row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    /// schema_name.
    pub schema_name: String,
    /// table_name, qualified (`schema.table`).
    pub table_name: String,
    /// table_type (`table`).
    pub table_type: String,
    /// utype.
    pub utype: Option<String>,
    /// description.
    pub description: Option<String>,
    /// table_index.
    pub table_index: i64,
}

/// A TAP_SCHEMA.columns row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRow {
    /// table_name, qualified.
    pub table_name: String,
    /// column_name.
    pub column_name: String,
    /// utype.
    pub utype: Option<String>,
    /// ucd.
    pub ucd: Option<String>,
    /// unit.
    pub unit: Option<String>,
    /// description.
    pub description: Option<String>,
    /// datatype (VOTable).
    pub datatype: String,
    /// arraysize.
    pub arraysize: Option<String>,
    /// xtype.
    pub xtype: Option<String>,
    /// size (deprecated by TAP 1.1; Felis still fills it).
    pub size: Option<i64>,
    /// principal (0/1).
    pub principal: i64,
    /// indexed (0/1).
    pub indexed: i64,
    /// std (0/1).
    pub std: i64,
    /// column_index.
    pub column_index: Option<i64>,
}

/// A TAP_SCHEMA.keys row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRow {
    /// key_id.
    pub key_id: String,
    /// from_table, qualified.
    pub from_table: String,
    /// target_table, qualified.
    pub target_table: String,
    /// utype.
    pub utype: Option<String>,
    /// description.
    pub description: Option<String>,
}

/// A TAP_SCHEMA.key_columns row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyColumnRow {
    /// key_id.
    pub key_id: String,
    /// from_column.
    pub from_column: String,
    /// target_column.
    pub target_column: String,
}

/// All TAP_SCHEMA rows of one schema.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TapRows {
    /// TAP_SCHEMA.schemas.
    pub schemas: Vec<SchemaRow>,
    /// TAP_SCHEMA.tables.
    pub tables: Vec<TableRow>,
    /// TAP_SCHEMA.columns.
    pub columns: Vec<ColumnRow>,
    /// TAP_SCHEMA.keys.
    pub keys: Vec<KeyRow>,
    /// TAP_SCHEMA.key_columns.
    pub key_columns: Vec<KeyColumnRow>,
}

/// `N` of an arraysize `N` or `N*`.
fn size_of(arraysize: Option<&str>) -> Option<i64> {
    let a = arraysize?;
    a.strip_suffix('*').unwrap_or(a).parse().ok()
}

/// The TAP_SCHEMA rows of `schema` (a validated one).
pub fn tap_schema_rows(schema: &Schema, options: &TapOptions) -> TapRows {
    let qualified = |t: &str| format!("{}.{t}", schema.name);
    let mut rows = TapRows {
        schemas: vec![SchemaRow {
            schema_name: schema.name.clone(),
            utype: schema.utype.clone(),
            description: schema.description.clone(),
            schema_index: options.schema_index,
        }],
        ..Default::default()
    };
    for t in &schema.tables {
        rows.tables.push(TableRow {
            schema_name: schema.name.clone(),
            table_name: qualified(&t.name),
            table_type: "table".into(),
            utype: t.utype.clone(),
            description: t.description.clone(),
            table_index: t.tap_table_index.unwrap_or(0),
        });
        for c in &t.columns {
            let indexed = (t.primary_key_single && t.primary_key.first() == Some(&c.id))
                || t.indexes
                    .iter()
                    .any(|i| i.columns.len() == 1 && i.columns[0] == c.id);
            let datatype = match (&c.votable_datatype, options.honour_votable_datatype) {
                (Some(d), true) => d.clone(),
                _ => c.datatype.votable().to_string(),
            };
            rows.columns.push(ColumnRow {
                table_name: qualified(&t.name),
                column_name: c.name.clone(),
                utype: c.utype.clone(),
                ucd: c.ucd.clone(),
                unit: c.unit.clone(),
                description: c.description.clone(),
                datatype,
                arraysize: c.arraysize.clone(),
                xtype: c.xtype.clone(),
                size: size_of(c.arraysize.as_deref()),
                principal: c.tap_principal,
                indexed: i64::from(indexed),
                std: c.tap_std,
                column_index: c.tap_column_index,
            });
        }
        for k in &t.constraints {
            let ConstraintKind::ForeignKey {
                columns,
                referenced,
            } = &k.kind
            else {
                continue;
            };
            let Some((target, _)) = referenced.first().and_then(|id| schema.column_by_id(id))
            else {
                continue;
            };
            rows.keys.push(KeyRow {
                key_id: k.name.clone(),
                from_table: qualified(&t.name),
                target_table: qualified(&target.name),
                utype: k.utype.clone(),
                description: k.description.clone(),
            });
            for (f, r) in columns.iter().zip(referenced) {
                let (Some((_, fc)), Some((_, rc))) =
                    (schema.column_by_id(f), schema.column_by_id(r))
                else {
                    continue;
                };
                rows.key_columns.push(KeyColumnRow {
                    key_id: k.name.clone(),
                    from_column: fc.name.clone(),
                    target_column: rc.name.clone(),
                });
            }
        }
    }
    rows
}

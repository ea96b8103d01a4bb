//! TAP_SCHEMA 1.1 (TAP 1.1 §4) and `ivoa.ObsCore` (ObsCore 1.1 §4) in SQLite.
//!
//! A published table `schema.table` is stored in SQLite under the quoted name
//! `"schema.table"` (SQLite allows the dot inside a quoted name), so the physical name is the
//! published one. TAP_SCHEMA's rows are the single source of truth for what is published:
//! [`load_catalog`] reads them back into the [`vo_adql::Catalog`] every query is checked
//! against, and only what they list can be named in ADQL or appears in `SELECT *`.

use rusqlite::Connection;
use vo_adql::{Catalog, ColumnInfo, TableInfo};
use vo_common::{FieldMeta, Value, VoError};
use vo_obscore::live::{Changes, FileState};
use vo_obscore::{ObsCoreRow, OBSCORE_COLUMNS};

/// vogate's Felis description of `ivoa` and `ivoa.ObsCore` (`obscore.felis.yaml`, ObsCore 1.1
/// with obscore: utypes): both backends build the table and its TAP_SCHEMA rows from it.
pub const OBSCORE_FELIS: &str = include_str!("../obscore.felis.yaml");

/// [`OBSCORE_FELIS`], read once. Its validity (and its agreement with the ingest's column
/// order, `vo_obscore::OBSCORE_COLUMNS`) is checked by this crate's tests.
pub fn obscore_schema() -> &'static vo_felis::Schema {
    static SCHEMA: std::sync::OnceLock<vo_felis::Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        vo_felis::load_str(
            OBSCORE_FELIS,
            "obscore.felis.yaml",
            None,
            &vo_felis::Checks::default(),
        )
        .unwrap_or_else(|problems| {
            panic!("obscore.felis.yaml is invalid (a build defect): {problems:?}")
        })
    })
}

/// Footprints that reach at most this far (degrees) from their (s_ra, s_dec) are found through
/// the HEALPix index of their centre; wider ones (and all-sky rows) are always checked. See
/// [`footprint_reach`].
pub const FOOTPRINT_REACH: f64 = 0.5;

/// How far (degrees) the footprint of an ObsCore row reaches from (s_ra, s_dec): the largest
/// distance to a vertex of s_region (the polygon lies in that cap), stored in SQLite's
/// internal `_ext` column. `None` when the row has no polygon (all-sky rows).
pub fn footprint_reach(row: &ObsCoreRow) -> Option<f64> {
    let centre = vo_common::sky::SkyPoint::new(row.s_ra, row.s_dec);
    let poly = vo_common::region::parse_stcs_polygon(row.s_region.as_deref()?).ok()?;
    let c = centre.to_vec();
    let reach = poly
        .vertices()
        .iter()
        .map(|v| vo_common::sky::angle_between(c, *v).to_degrees())
        .fold(0.0f64, f64::max);
    // A hair more, so that rounding never puts a vertex outside.
    Some(reach + 1e-9)
}

/// The ObsCore table's published name.
pub const OBSCORE_TABLE: &str = "ivoa.ObsCore";

/// HEALPix order (NESTED) of the internal `_hpx` column of ivoa.ObsCore: the cell of
/// (s_ra, s_dec), cells of about 0.86 arcmin. Not in TAP_SCHEMA, so never visible in ADQL.
pub const HPX_ORDER: u8 = 12;

/// One TAP_SCHEMA.columns row: (name, datatype, arraysize, description, indexed).
type TsCol = (
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    bool,
);

/// The TAP_SCHEMA tables and their columns, as TAP 1.1 §4.1-4.5 define them.
const TAP_SCHEMA_TABLES: [(&str, &str, &[TsCol]); 5] = [
    (
        "schemas",
        "Schemas published by this service",
        &[
            (
                "schema_name",
                "char",
                Some("*"),
                "Schema name, for reference to schema",
                true,
            ),
            (
                "utype",
                "char",
                Some("*"),
                "Lists the utypes of schemas",
                false,
            ),
            (
                "description",
                "char",
                Some("*"),
                "Brief description of the schema",
                false,
            ),
            (
                "schema_index",
                "int",
                None,
                "Recommended sort order when listing schemas",
                false,
            ),
        ],
    ),
    (
        "tables",
        "Tables published by this service",
        &[
            (
                "schema_name",
                "char",
                Some("*"),
                "The schema the table belongs to",
                true,
            ),
            (
                "table_name",
                "char",
                Some("*"),
                "The fully qualified table name",
                true,
            ),
            (
                "table_type",
                "char",
                Some("*"),
                "One of: table, view",
                false,
            ),
            ("utype", "char", Some("*"), "The utype of the table", false),
            (
                "description",
                "char",
                Some("*"),
                "Brief description of the table",
                false,
            ),
            (
                "table_index",
                "int",
                None,
                "Recommended sort order when listing tables",
                false,
            ),
        ],
    ),
    (
        "columns",
        "Columns of the published tables",
        &[
            (
                "table_name",
                "char",
                Some("*"),
                "Table name from TAP_SCHEMA.tables",
                true,
            ),
            ("column_name", "char", Some("*"), "Column name", true),
            (
                "datatype",
                "char",
                Some("*"),
                "VOTable datatype of the column",
                false,
            ),
            (
                "arraysize",
                "char",
                Some("*"),
                "VOTable arraysize of the column",
                false,
            ),
            (
                "xtype",
                "char",
                Some("*"),
                "VOTable/DALI xtype of the column",
                false,
            ),
            (
                "\"size\"",
                "int",
                None,
                "Deprecated length of variable-length types (use arraysize)",
                false,
            ),
            (
                "description",
                "char",
                Some("*"),
                "Brief description of the column",
                false,
            ),
            (
                "utype",
                "char",
                Some("*"),
                "Utype of the column in its data model",
                false,
            ),
            ("unit", "char", Some("*"), "Unit in VOUnit syntax", false),
            ("ucd", "char", Some("*"), "UCD of the column", false),
            (
                "indexed",
                "int",
                None,
                "An indexed column: 1 means true, 0 false",
                false,
            ),
            (
                "principal",
                "int",
                None,
                "A principal column: 1 means true, 0 false",
                false,
            ),
            (
                "std",
                "int",
                None,
                "A column defined by a standard: 1 means true, 0 false",
                false,
            ),
            (
                "column_index",
                "int",
                None,
                "Recommended sort order when listing columns",
                false,
            ),
        ],
    ),
    (
        "keys",
        "Foreign keys between published tables",
        &[
            ("key_id", "char", Some("*"), "Unique key identifier", true),
            (
                "from_table",
                "char",
                Some("*"),
                "Fully qualified table name of the key's source",
                false,
            ),
            (
                "target_table",
                "char",
                Some("*"),
                "Fully qualified table name of the key's target",
                false,
            ),
            ("utype", "char", Some("*"), "Utype of the key", false),
            (
                "description",
                "char",
                Some("*"),
                "Brief description of the key",
                false,
            ),
        ],
    ),
    (
        "key_columns",
        "Columns of the foreign keys",
        &[
            (
                "key_id",
                "char",
                Some("*"),
                "Key identifier from TAP_SCHEMA.keys",
                true,
            ),
            (
                "from_column",
                "char",
                Some("*"),
                "Key column in the source table",
                false,
            ),
            (
                "target_column",
                "char",
                Some("*"),
                "Key column in the target table",
                false,
            ),
        ],
    ),
];

/// The foreign keys among the TAP_SCHEMA tables: (key_id, from, target, from_col, target_col).
const TAP_SCHEMA_KEYS: [(&str, &str, &str, &str, &str); 5] = [
    (
        "tables_schema",
        "TAP_SCHEMA.tables",
        "TAP_SCHEMA.schemas",
        "schema_name",
        "schema_name",
    ),
    (
        "columns_table",
        "TAP_SCHEMA.columns",
        "TAP_SCHEMA.tables",
        "table_name",
        "table_name",
    ),
    (
        "keys_from",
        "TAP_SCHEMA.keys",
        "TAP_SCHEMA.tables",
        "from_table",
        "table_name",
    ),
    (
        "keys_target",
        "TAP_SCHEMA.keys",
        "TAP_SCHEMA.tables",
        "target_table",
        "table_name",
    ),
    (
        "key_columns_key",
        "TAP_SCHEMA.key_columns",
        "TAP_SCHEMA.keys",
        "key_id",
        "key_id",
    ),
];

fn sql_type(datatype: &str) -> &'static str {
    match datatype {
        "short" | "int" | "long" | "boolean" => "INTEGER",
        "float" | "double" => "REAL",
        _ => "TEXT",
    }
}

fn internal(e: rusqlite::Error) -> VoError {
    VoError::internal(format!("database error: {e}"))
}

pub use vo_adql::dialect::quote_ident;

/// `columns` (ObsCore column names, never user text) as a select list of their casts to
/// text, which SQLite and PostgreSQL both write as `CAST("c" AS TEXT)`: lookups read every
/// value as text whatever its column's type.
pub fn as_text(columns: &[&str]) -> String {
    let cols: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST({} AS TEXT)", quote_ident(c)))
        .collect();
    cols.join(", ")
}

/// Create the TAP_SCHEMA tables if they are not there (nothing else), e.g. before loading a
/// Felis schema into a new database.
pub fn ensure_tap_schema(conn: &Connection) -> Result<(), VoError> {
    for (t, _, cols) in TAP_SCHEMA_TABLES {
        let name = quote_ident(&format!("TAP_SCHEMA.{t}"));
        let defs: Vec<String> = cols
            .iter()
            .map(|(c, dt, ..)| format!("{} {}", quote_ident(vo_adql::unquoted(c)), sql_type(dt)))
            .collect();
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {name} ({});",
            defs.join(", ")
        ))
        .map_err(internal)?;
    }
    Ok(())
}

/// Create TAP_SCHEMA (if it is not there), `ivoa.ObsCore` and the live ingest's file
/// states ([`FILES_TABLE`]) if they are not there, and replace the TAP_SCHEMA rows that
/// describe TAP_SCHEMA and ObsCore; rows describing other tables (Felis schemas loaded with
/// `vogate schema load`) are kept. An ObsCore table of other columns (made by an older
/// vogate) is made anew, empty, and the file states are cleared with it, so that the next
/// scan reads every file. Runs in one transaction.
pub fn create_schema(conn: &mut Connection) -> Result<(), VoError> {
    let tx = conn.transaction().map_err(internal)?;
    let mut ddl = String::new();
    for (t, _, cols) in TAP_SCHEMA_TABLES {
        let name = quote_ident(&format!("TAP_SCHEMA.{t}"));
        let defs: Vec<String> = cols
            .iter()
            .map(|(c, dt, ..)| format!("{} {}", quote_ident(vo_adql::unquoted(c)), sql_type(dt)))
            .collect();
        ddl.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {name} ({});\n",
            defs.join(", ")
        ));
    }
    let obscore = quote_ident(OBSCORE_TABLE);
    let files = quote_ident(FILES_TABLE);
    ddl.push_str(&format!(
        "CREATE TABLE IF NOT EXISTS {files} (path TEXT PRIMARY KEY NOT NULL, \
         size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, \
         config TEXT NOT NULL, did TEXT, error TEXT, headers TEXT);\n"
    ));
    // File states made before they kept headers get the column.
    let has_headers: bool = tx
        .query_row(
            &format!(
                "SELECT COUNT(*) FROM pragma_table_info('{FILES_TABLE}') WHERE name = 'headers'"
            ),
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(internal)?
        > 0;
    let table_exists: bool = tx
        .query_row(
            &format!("SELECT COUNT(*) FROM pragma_table_info('{FILES_TABLE}')"),
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(internal)?
        > 0;
    if table_exists && !has_headers {
        ddl.push_str(&format!("ALTER TABLE {files} ADD COLUMN headers TEXT;\n"));
    }
    // ivoa.ObsCore is kept across starts (the live ingest reads only what changed) when its
    // columns are the current ones: vogate's Felis file's, then the internal HEALPix
    // column and footprint reach.
    let wanted: Vec<String> = OBSCORE_COLUMNS
        .iter()
        .map(|c| c.name.to_string())
        .chain(["_hpx".to_string(), "_ext".to_string(), "_path".to_string()])
        .collect();
    let have = obscore_columns(&tx)?;
    // Extension columns of a mapping follow the internal ones (and are kept).
    if !have.starts_with(&wanted) {
        ddl.push_str(&format!(
            "DROP TABLE IF EXISTS {obscore};\nDELETE FROM {files};\n"
        ));
        for sql in
            vo_felis::ddl::create_statements(obscore_schema(), vo_felis::ddl::Dialect::Sqlite, &[])
        {
            ddl.push_str(&sql);
            ddl.push_str(";\n");
        }
        ddl.push_str(&format!(
            "ALTER TABLE {obscore} ADD COLUMN \"_hpx\" INTEGER;\n\
             ALTER TABLE {obscore} ADD COLUMN \"_ext\" REAL;\n\
             ALTER TABLE {obscore} ADD COLUMN \"_path\" TEXT;\n\
             CREATE INDEX \"ivoa.ObsCore._hpx\" ON {obscore} (\"_hpx\");\n\
             CREATE INDEX \"ivoa.ObsCore._ext\" ON {obscore} (\"_ext\");\n\
             CREATE UNIQUE INDEX \"ivoa.ObsCore._path\" ON {obscore} (\"_path\");\n"
        ));
    } else if !index_is_unique(&tx, "ivoa.ObsCore._path")? {
        // Made by an earlier vogate with a plain index: one row per file was kept by
        // deleting before inserting; a unique index lets an insert replace the file's row.
        ddl.push_str(&format!(
            "DELETE FROM {obscore} WHERE \"_path\" IS NOT NULL AND rowid NOT IN \
             (SELECT max(rowid) FROM {obscore} WHERE \"_path\" IS NOT NULL GROUP BY \"_path\");\n\
             DROP INDEX IF EXISTS \"ivoa.ObsCore._path\";\n\
             CREATE UNIQUE INDEX \"ivoa.ObsCore._path\" ON {obscore} (\"_path\");\n"
        ));
    }
    tx.execute_batch(&ddl).map_err(internal)?;

    replace_tap_rows(&tx, &tap_schema_rows(), &RowKeys::of(&tap_schema_rows()))?;
    tx.commit().map_err(internal)
}

/// Whether the index `name` exists and is UNIQUE.
fn index_is_unique(conn: &Connection, name: &str) -> Result<bool, VoError> {
    conn.query_row(
        &format!("SELECT COUNT(*) FROM pragma_index_list('{OBSCORE_TABLE}') WHERE name = ?1 AND \"unique\" = 1"),
        [name],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
    .map_err(internal)
}

/// What identifies a set of TAP_SCHEMA rows: its schema names, (qualified) table names and
/// key ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowKeys {
    /// schema_name values.
    pub schemas: Vec<String>,
    /// table_name values.
    pub tables: Vec<String>,
    /// key_id values.
    pub keys: Vec<String>,
}

impl RowKeys {
    /// The keys of `rows` (TAP_SCHEMA short table name, values in column order).
    pub fn of(rows: &[(&'static str, Vec<Value>)]) -> RowKeys {
        let pick = |t: &str, col: usize| -> Vec<String> {
            let mut v: Vec<String> = rows
                .iter()
                .filter(|(table, _)| *table == t)
                .filter_map(|(_, vals)| match &vals[col] {
                    Value::Text(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            v.sort();
            v.dedup();
            v
        };
        RowKeys {
            schemas: pick("schemas", 0),
            tables: pick("tables", 1),
            keys: pick("keys", 0),
        }
    }

    /// Both sets of keys.
    pub fn union(mut self, other: &RowKeys) -> RowKeys {
        for (a, b) in [
            (&mut self.schemas, &other.schemas),
            (&mut self.tables, &other.tables),
            (&mut self.keys, &other.keys),
        ] {
            a.extend(b.iter().cloned());
            a.sort();
            a.dedup();
        }
        self
    }
}

/// The (TAP_SCHEMA table, key column) pairs that [`RowKeys`] select on, in deletion order.
pub const ROW_KEY_COLUMNS: [(&str, &str); 5] = [
    ("key_columns", "key_id"),
    ("keys", "key_id"),
    ("columns", "table_name"),
    ("tables", "table_name"),
    ("schemas", "schema_name"),
];

impl RowKeys {
    /// The values selected on in TAP_SCHEMA table `table` (see [`ROW_KEY_COLUMNS`]).
    pub fn values_for(&self, table: &str) -> &[String] {
        match table {
            "key_columns" | "keys" => &self.keys,
            "columns" | "tables" => &self.tables,
            _ => &self.schemas,
        }
    }
}

/// Delete the TAP_SCHEMA rows selected by `keys`, then insert `rows`.
pub fn replace_tap_rows(
    tx: &rusqlite::Transaction<'_>,
    rows: &[(&'static str, Vec<Value>)],
    keys: &RowKeys,
) -> Result<(), VoError> {
    for (table, column) in ROW_KEY_COLUMNS {
        let mut st = tx
            .prepare(&format!(
                "DELETE FROM {} WHERE {} = ?1",
                quote_ident(&format!("TAP_SCHEMA.{table}")),
                quote_ident(column)
            ))
            .map_err(internal)?;
        for v in keys.values_for(table) {
            st.execute([v]).map_err(internal)?;
        }
    }
    for (table, values) in rows {
        let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {} VALUES ({})",
            quote_ident(&format!("TAP_SCHEMA.{table}")),
            placeholders.join(", ")
        );
        tx.execute(
            &sql,
            rusqlite::params_from_iter(values.iter().cloned().map(sqlite_value)),
        )
        .map_err(internal)?;
    }
    Ok(())
}

/// The TAP_SCHEMA rows of schema `schema_name` (its schemas and tables rows, the columns of
/// its tables, the keys from its tables and their key_columns), from SQLite.
pub fn read_tap_rows(
    conn: &Connection,
    schema_name: &str,
) -> Result<Vec<(&'static str, Vec<Value>)>, VoError> {
    let t = |n: &str| quote_ident(&format!("TAP_SCHEMA.{n}"));
    let queries = [
        ("schemas", format!("SELECT * FROM {} WHERE schema_name = ?1", t("schemas"))),
        ("tables", format!("SELECT * FROM {} WHERE schema_name = ?1", t("tables"))),
        (
            "columns",
            format!(
                "SELECT * FROM {} WHERE table_name IN (SELECT table_name FROM {} WHERE schema_name = ?1)",
                t("columns"),
                t("tables")
            ),
        ),
        (
            "keys",
            format!(
                "SELECT * FROM {} WHERE from_table IN (SELECT table_name FROM {} WHERE schema_name = ?1)",
                t("keys"),
                t("tables")
            ),
        ),
        (
            "key_columns",
            format!(
                "SELECT * FROM {} WHERE key_id IN (SELECT key_id FROM {} WHERE from_table IN (SELECT table_name FROM {} WHERE schema_name = ?1))",
                t("key_columns"),
                t("keys"),
                t("tables")
            ),
        ),
    ];
    let mut out = Vec::new();
    for (table, sql) in queries {
        let mut st = conn.prepare(&sql).map_err(internal)?;
        let n = st.column_count();
        let mut rows = st.query([schema_name]).map_err(internal)?;
        while let Some(r) = rows.next().map_err(internal)? {
            let mut vals = Vec::with_capacity(n);
            for i in 0..n {
                vals.push(match r.get_ref(i).map_err(internal)? {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    rusqlite::types::ValueRef::Integer(i) => Value::Int(i),
                    rusqlite::types::ValueRef::Real(f) => Value::Double(f),
                    rusqlite::types::ValueRef::Text(s) => {
                        Value::Text(String::from_utf8_lossy(s).into_owned())
                    }
                    rusqlite::types::ValueRef::Blob(_) => Value::Null,
                });
            }
            out.push((table, vals));
        }
    }
    Ok(out)
}

/// A value as SQLite stores it.
pub fn sqlite_value(v: Value) -> rusqlite::types::Value {
    match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(i) => rusqlite::types::Value::Integer(i),
        Value::Double(d) => rusqlite::types::Value::Real(d),
        Value::Text(s) => rusqlite::types::Value::Text(s),
    }
}

/// The TAP_SCHEMA tables (TAP 1.1 §4.1-4.5) as (short name, [(column, VOTable datatype)]),
/// for the DDL of either backend; the column names are as published (`"size"` delimited).
pub fn tap_schema_tables() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    TAP_SCHEMA_TABLES
        .iter()
        .map(|(t, _, cols)| (*t, cols.iter().map(|(c, dt, ..)| (*c, *dt)).collect()))
        .collect()
}

/// The TAP_SCHEMA rows that describe vogate's own tables (`ivoa.ObsCore` and TAP_SCHEMA
/// itself): (TAP_SCHEMA table short name, the row's values in column order).
pub fn tap_schema_rows() -> Vec<(&'static str, Vec<Value>)> {
    tap_schema_rows_with(&[])
}

/// vogate's ObsCore Felis schema with the mapping's `extra` columns appended to ObsCore
/// (a column without `tap:column_index` comes after the others, in the given order).
pub fn obscore_schema_with(extra: &[vo_felis::model::Column]) -> vo_felis::Schema {
    let mut schema = obscore_schema().clone();
    if let Some(t) = schema.tables.iter_mut().find(|t| t.name == "ObsCore") {
        let mut next = t
            .columns
            .iter()
            .filter_map(|c| c.tap_column_index)
            .max()
            .unwrap_or(0);
        for c in extra {
            let mut c = c.clone();
            c.id = format!("#ObsCore.{}", c.name);
            if c.tap_column_index.is_none() {
                next += 1;
                c.tap_column_index = Some(next);
            }
            t.columns.push(c);
        }
    }
    schema
}

/// [`tap_schema_rows`] with the mapping's extension columns of ivoa.ObsCore.
pub fn tap_schema_rows_with(extra: &[vo_felis::model::Column]) -> Vec<(&'static str, Vec<Value>)> {
    let text = |s: &str| Value::Text(s.to_string());
    let opt = |s: Option<&str>| s.map_or(Value::Null, |s| Value::Text(s.to_string()));
    // ivoa and ivoa.ObsCore, from vogate's Felis file (schema_index 0).
    let schema = obscore_schema_with(extra);
    let mut rows = crate::publish::felis_rows_indexed(&schema, Some(0));
    rows.push((
        "schemas",
        vec![
            text("TAP_SCHEMA"),
            Value::Null,
            text("Metadata of the tables this service publishes (TAP 1.1 section 4)"),
            Value::Int(1),
        ],
    ));
    for (ti, (t, desc, cols)) in TAP_SCHEMA_TABLES.iter().enumerate() {
        let tname = format!("TAP_SCHEMA.{t}");
        rows.push((
            "tables",
            vec![
                text("TAP_SCHEMA"),
                text(&tname),
                text("table"),
                Value::Null,
                text(desc),
                Value::Int(ti as i64 + 1),
            ],
        ));
        for (ci, (c, dt, arraysize, cdesc, indexed)) in cols.iter().enumerate() {
            rows.push((
                "columns",
                vec![
                    text(&tname),
                    text(c),
                    text(dt),
                    opt(*arraysize),
                    Value::Null,
                    Value::Null,
                    text(cdesc),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Int(*indexed as i64),
                    Value::Int(1),
                    Value::Int(1),
                    Value::Int(ci as i64),
                ],
            ));
        }
    }
    for (id, from, target, fc, tc) in TAP_SCHEMA_KEYS {
        rows.push((
            "keys",
            vec![text(id), text(from), text(target), Value::Null, Value::Null],
        ));
        rows.push(("key_columns", vec![text(id), text(fc), text(tc)]));
    }
    rows
}

/// The published tables, read from TAP_SCHEMA.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TapCatalog {
    tables: Vec<TableInfo>,
}

impl TapCatalog {
    /// Mark the indexed sky positions of catalog tables: (table as published, ra column, dec
    /// column). Errors: a table that is not published, or columns it does not have.
    pub fn set_positions(&mut self, positions: &[(String, String, String)]) -> Result<(), VoError> {
        for (table, ra, dec) in positions {
            let t = self
                .tables
                .iter_mut()
                .find(|t| t.qualified_name() == *table)
                .ok_or_else(|| {
                    VoError::usage(format!("positions: no published table '{table}'"))
                })?;
            for c in [ra, dec] {
                let col = t.columns.iter().find(|x| x.name == *c).ok_or_else(|| {
                    VoError::usage(format!("positions: table '{table}' has no column '{c}'"))
                })?;
                if !matches!(col.field.datatype.as_str(), "double" | "float") {
                    return Err(VoError::usage(format!(
                        "positions: column '{c}' of '{table}' is {}, not a float or double",
                        col.field.datatype
                    )));
                }
            }
            t.position = Some((ra.clone(), dec.clone()));
        }
        Ok(())
    }
}

/// Give the SQLite table `table` (as published) the internal `_hpx` column of an indexed
/// position (ra, dec in degrees) if it lacks it, fill it where it is NULL, and index it.
pub fn ensure_position_sqlite(
    conn: &Connection,
    table: &str,
    ra: &str,
    dec: &str,
) -> Result<(), VoError> {
    let t = quote_ident(table);
    let has = conn
        .prepare(&format!(
            "SELECT 1 FROM pragma_table_info('{}') WHERE name = '_hpx'",
            table.replace('\'', "''")
        ))
        .and_then(|mut st| st.exists([]))
        .map_err(internal)?;
    if !has {
        conn.execute_batch(&format!("ALTER TABLE {t} ADD COLUMN \"_hpx\" INTEGER"))
            .map_err(internal)?;
    }
    conn.execute_batch(&format!(
        "UPDATE {t} SET \"_hpx\" = vogate_hpx({r}, {d}) WHERE \"_hpx\" IS NULL AND {r} IS NOT NULL AND {d} IS NOT NULL;\n\
         CREATE INDEX IF NOT EXISTS {ix} ON {t} (\"_hpx\");",
        r = quote_ident(ra),
        d = quote_ident(dec),
        ix = quote_ident(&format!("{table}._hpx"))
    ))
    .map_err(|e| VoError::usage(format!("cannot index the position of {table}: {e}")))
}

impl Catalog for TapCatalog {
    fn tables(&self) -> &[TableInfo] {
        &self.tables
    }
}

/// Read TAP_SCHEMA.tables and TAP_SCHEMA.columns into a catalog (tables in table_index order,
/// columns in column_index order).
pub fn load_catalog(conn: &Connection) -> Result<TapCatalog, VoError> {
    let mut tables = Vec::new();
    let mut st = conn
        .prepare("SELECT schema_name, table_name FROM \"TAP_SCHEMA.tables\" ORDER BY table_index, table_name")
        .map_err(internal)?;
    let names: Vec<(Option<String>, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(internal)?
        .collect::<Result<_, _>>()
        .map_err(internal)?;
    let mut cst = conn
        .prepare(
            "SELECT column_name, datatype, arraysize, xtype, unit, ucd, utype, description \
             FROM \"TAP_SCHEMA.columns\" WHERE table_name = ?1 ORDER BY column_index, rowid",
        )
        .map_err(internal)?;
    for (schema, qualified) in names {
        let name = match &schema {
            Some(s) => qualified
                .strip_prefix(&format!("{s}."))
                .unwrap_or(&qualified)
                .to_string(),
            None => qualified.clone(),
        };
        let columns: Vec<ColumnInfo> = cst
            .query_map([&qualified], |r| {
                let name: String = r.get(0)?;
                Ok(ColumnInfo {
                    field: FieldMeta {
                        name: vo_adql::unquoted(&name).to_string(),
                        datatype: r.get(1)?,
                        arraysize: r.get(2)?,
                        xtype: r.get(3)?,
                        unit: r.get(4)?,
                        ucd: r.get(5)?,
                        utype: r.get(6)?,
                        description: r.get(7)?,
                        id: None,
                    },
                    name,
                })
            })
            .map_err(internal)?
            .collect::<Result<_, _>>()
            .map_err(internal)?;
        let position = (format!("{}.{name}", schema.as_deref().unwrap_or("")) == OBSCORE_TABLE)
            .then(|| ("s_ra".to_string(), "s_dec".to_string()));
        tables.push(TableInfo {
            schema,
            name,
            columns,
            position,
        });
    }
    Ok(TapCatalog { tables })
}

/// The live ingest's file states on SQLite (see [`vo_obscore::live::FileState`]); the same
/// name, `vogate.obscore_files`, is a schema-qualified table on PostgreSQL. Not published.
pub const FILES_TABLE: &str = "vogate.obscore_files";

/// Every file state of the live ingest.
pub fn obscore_files(conn: &Connection) -> Result<Vec<FileState>, VoError> {
    let mut st = conn
        .prepare(&format!(
            "SELECT path, size, mtime_ns, inode, config, did, error, headers FROM {}",
            quote_ident(FILES_TABLE)
        ))
        .map_err(internal)?;
    let rows = st
        .query_map([], |r| {
            Ok(FileState {
                path: r.get(0)?,
                size: r.get::<_, i64>(1)? as u64,
                mtime_ns: r.get(2)?,
                inode: r.get::<_, i64>(3)? as u64,
                config: r.get(4)?,
                did: r.get(5)?,
                error: r.get(6)?,
                headers: r.get(7)?,
            })
        })
        .map_err(internal)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(internal)?;
    Ok(rows)
}

/// Write one batch of the live ingest's changes in one transaction (see
/// [`vo_obscore::live::Changes`] for the order).
pub fn apply_obscore_changes(conn: &mut Connection, changes: &Changes) -> Result<(), VoError> {
    let tx = conn.transaction().map_err(internal)?;
    {
        // The rows of the files that go. (A written row replaces the old row of its file
        // and any row holding its DID: `_path` and obs_publisher_did are unique.)
        let obscore = quote_ident(OBSCORE_TABLE);
        let mut by_path = tx
            .prepare(&format!("DELETE FROM {obscore} WHERE \"_path\" = ?1"))
            .map_err(internal)?;
        for p in &changes.deleted_paths {
            by_path.execute([p]).map_err(internal)?;
        }
    }
    {
        let files = quote_ident(FILES_TABLE);
        let mut forget = tx
            .prepare(&format!("DELETE FROM {files} WHERE path = ?1"))
            .map_err(internal)?;
        for p in &changes.forgotten {
            forget.execute([p]).map_err(internal)?;
        }
        insert_obscore_rows(&tx, &changes.rows, true)?;
        let mut put = tx
            .prepare(&format!(
                "INSERT OR REPLACE INTO {files} (path, size, mtime_ns, inode, config, did, error, headers) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ))
            .map_err(internal)?;
        for f in &changes.files {
            put.execute(rusqlite::params![
                f.path,
                f.size as i64,
                f.mtime_ns,
                f.inode as i64,
                f.config,
                f.did,
                f.error,
                f.headers
            ])
            .map_err(internal)?;
        }
    }
    tx.commit().map_err(internal)
}

/// The columns ivoa.ObsCore has now, in table order (none when it is not there).
fn obscore_columns(conn: &Connection) -> Result<Vec<String>, VoError> {
    conn.prepare(&format!(
        "SELECT name FROM pragma_table_info('{OBSCORE_TABLE}')"
    ))
    .and_then(|mut st| {
        st.query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()
    })
    .map_err(internal)
}

/// Add the mapping's extension columns to ivoa.ObsCore when missing (never dropping one)
/// and rewrite ObsCore's TAP_SCHEMA rows to list them, in one transaction.
pub fn extend_obscore(
    conn: &mut Connection,
    extra: &[vo_felis::model::Column],
) -> Result<(), VoError> {
    let tx = conn.transaction().map_err(internal)?;
    let have = obscore_columns(&tx)?;
    for c in extra {
        if !have.iter().any(|h| h.eq_ignore_ascii_case(&c.name)) {
            tx.execute_batch(&format!(
                "ALTER TABLE {} ADD COLUMN {} {}",
                quote_ident(OBSCORE_TABLE),
                quote_ident(&c.name),
                vo_felis::ddl::column_type(vo_felis::ddl::Dialect::Sqlite, c)
            ))
            .map_err(internal)?;
        }
    }
    let rows = tap_schema_rows_with(extra);
    replace_tap_rows(&tx, &rows, &RowKeys::of(&rows))?;
    tx.commit().map_err(internal)
}

/// Replace every row of `ivoa.ObsCore` by `rows`, in one transaction: a reader sees the old
/// rows or the new ones, never a mix.
pub fn replace_obscore_rows(conn: &mut Connection, rows: &[ObsCoreRow]) -> Result<(), VoError> {
    let tx = conn.transaction().map_err(internal)?;
    // The live ingest's file states describe the rows that were: the next scan reads all.
    tx.execute_batch(&format!(
        "DELETE FROM {}; DELETE FROM {};",
        quote_ident(OBSCORE_TABLE),
        quote_ident(FILES_TABLE)
    ))
    .map_err(internal)?;
    insert_obscore_rows(&tx, rows, false)?;
    tx.commit().map_err(internal)
}

/// Insert `rows` of ivoa.ObsCore, replacing the rows of the same files and of the same
/// obs_publisher_did, index columns included, in one transaction.
pub fn upsert_obscore_rows(conn: &mut Connection, rows: &[ObsCoreRow]) -> Result<(), VoError> {
    apply_obscore_changes(
        conn,
        &Changes {
            rows: rows.to_vec(),
            ..Changes::default()
        },
    )
}

/// Delete the ObsCore rows of `obs_ids` in one transaction; how many there were.
pub fn delete_obscore_rows(conn: &mut Connection, obs_ids: &[String]) -> Result<usize, VoError> {
    let tx = conn.transaction().map_err(internal)?;
    let n = delete_by_obs_id(&tx, obs_ids.iter().map(String::as_str))?;
    tx.commit().map_err(internal)?;
    Ok(n)
}

fn delete_by_obs_id<'a>(
    tx: &rusqlite::Transaction<'_>,
    obs_ids: impl Iterator<Item = &'a str>,
) -> Result<usize, VoError> {
    let mut st = tx
        .prepare(&format!(
            "DELETE FROM {} WHERE obs_id = ?1",
            quote_ident(OBSCORE_TABLE)
        ))
        .map_err(internal)?;
    let mut n = 0;
    for id in obs_ids {
        n += st.execute([id]).map_err(internal)?;
    }
    Ok(n)
}

/// Insert `rows` with their internal columns (`_hpx`, `_ext`, `_path`); with `replace`,
/// each in place of the rows of the same file (`_path`) and of the same obs_publisher_did.
fn insert_obscore_rows(
    tx: &rusqlite::Transaction<'_>,
    rows: &[ObsCoreRow],
    replace: bool,
) -> Result<(), VoError> {
    // The columns by name: the published ones, the internal ones, the mapping's extension
    // columns (the same for every row of a batch).
    let extra: Vec<&str> = rows
        .first()
        .map(|r| r.extra.iter().map(|(n, _)| n.as_str()).collect())
        .unwrap_or_default();
    let names: Vec<String> = OBSCORE_COLUMNS
        .iter()
        .map(|c| c.name)
        .chain(["_hpx", "_ext", "_path"])
        .chain(extra.iter().copied())
        .map(quote_ident)
        .collect();
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    let mut st = tx
        .prepare(&format!(
            "INSERT {}INTO {} ({}) VALUES ({})",
            if replace { "OR REPLACE " } else { "" },
            quote_ident(OBSCORE_TABLE),
            names.join(", "),
            placeholders.join(", ")
        ))
        .map_err(internal)?;
    for row in rows {
        let mut values: Vec<rusqlite::types::Value> =
            row.values().into_iter().map(sqlite_value).collect();
        let hpx =
            cdshealpix::nested::hash(HPX_ORDER, row.s_ra.to_radians(), row.s_dec.to_radians());
        values.push(rusqlite::types::Value::Integer(hpx as i64));
        values.push(match footprint_reach(row) {
            Some(d) => rusqlite::types::Value::Real(d),
            None => rusqlite::types::Value::Null,
        });
        values.push(rusqlite::types::Value::Text(row.path.clone()));
        if row.extra.len() != extra.len() || row.extra.iter().zip(&extra).any(|((n, _), e)| n != e)
        {
            return Err(VoError::internal(format!(
                "ObsCore row {} has other extension columns than its batch",
                row.obs_id
            )));
        }
        values.extend(row.extra.iter().map(|(_, v)| sqlite_value(v.clone())));
        st.execute(rusqlite::params_from_iter(values))
            .map_err(|e| {
                VoError::internal(format!("cannot store ObsCore row {}: {e}", row.obs_id))
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_obscore_felis_file_matches_the_ingest_columns() {
        let schema = obscore_schema();
        assert_eq!(schema.name, "ivoa");
        let table = schema.table("ObsCore").expect("ObsCore");
        assert_eq!(table.columns.len(), OBSCORE_COLUMNS.len());
        for (f, c) in table.columns.iter().zip(OBSCORE_COLUMNS.iter()) {
            assert_eq!(f.name, c.name, "the order of the ingest's values");
            assert_eq!(
                crate::publish::votable_datatype(f),
                c.datatype,
                "{}",
                c.name
            );
            assert_eq!(f.arraysize.as_deref(), c.arraysize, "{}", c.name);
            assert_eq!(f.xtype.as_deref(), c.xtype, "{}", c.name);
            assert_eq!(f.unit.as_deref(), c.unit, "{}", c.name);
            assert_eq!(f.ucd.as_deref(), Some(c.ucd), "{}", c.name);
            assert_eq!(f.utype.as_deref(), Some(c.utype), "{}", c.name);
            assert!(c.utype.starts_with("obscore:"), "{}", c.name);
            assert_eq!(f.description.as_deref(), Some(c.description), "{}", c.name);
            assert_eq!((f.tap_principal, f.tap_std), (1, 1), "{}", c.name);
        }
    }

    #[test]
    fn catalog_round_trips_through_tap_schema() {
        let mut conn = Connection::open_in_memory().expect("db");
        create_schema(&mut conn).expect("schema");
        create_schema(&mut conn).expect("schema twice");
        let cat = load_catalog(&conn).expect("catalog");
        let names: Vec<String> = cat.tables().iter().map(|t| t.qualified_name()).collect();
        assert_eq!(
            names,
            [
                "ivoa.ObsCore",
                "TAP_SCHEMA.schemas",
                "TAP_SCHEMA.tables",
                "TAP_SCHEMA.columns",
                "TAP_SCHEMA.keys",
                "TAP_SCHEMA.key_columns"
            ]
        );
        let obscore = &cat.tables()[0];
        assert_eq!(obscore.columns.len(), 30);
        let s_ra = &obscore.columns[9].field;
        assert_eq!(
            (
                s_ra.name.as_str(),
                s_ra.datatype.as_str(),
                s_ra.unit.as_deref(),
                s_ra.ucd.as_deref()
            ),
            ("s_ra", "double", Some("deg"), Some("pos.eq.ra"))
        );
        assert_eq!(
            s_ra.utype.as_deref(),
            Some("obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1")
        );
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM \"TAP_SCHEMA.columns\"", [], |r| {
                r.get(0)
            })
            .expect("count");
        assert_eq!(n, 30 + 4 + 6 + 14 + 5 + 3);
    }
}

#[cfg(test)]
mod upsert_tests {
    use super::*;

    fn row(path: &str, did: &str, s_ra: f64) -> ObsCoreRow {
        ObsCoreRow {
            dataproduct_type: "image".into(),
            calib_level: 2,
            obs_collection: "test".into(),
            obs_id: path.into(),
            path: path.into(),
            obs_publisher_did: did.into(),
            access_url: format!("http://127.0.0.1/{path}"),
            access_format: "image/fits".into(),
            access_estsize: 20,
            target_name: None,
            s_ra,
            s_dec: 10.0,
            s_fov: 0.1,
            s_region: None,
            s_resolution: None,
            s_xel1: 64,
            s_xel2: 64,
            t_min: None,
            t_max: None,
            t_exptime: None,
            em_min: None,
            em_max: None,
            em_xel: None,
            facility_name: None,
            instrument_name: None,
            corners: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// (_path, obs_publisher_did, s_ra) of every row, by path.
    fn rows(conn: &Connection) -> Vec<(String, String, f64)> {
        let mut st = conn
            .prepare(&format!(
                "SELECT \"_path\", obs_publisher_did, s_ra FROM {} ORDER BY \"_path\"",
                quote_ident(OBSCORE_TABLE)
            ))
            .expect("select");
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn own(v: &[(&str, &str, f64)]) -> Vec<(String, String, f64)> {
        v.iter()
            .map(|(p, d, r)| (p.to_string(), d.to_string(), *r))
            .collect()
    }

    #[test]
    fn a_written_row_replaces_its_file_s_row_and_the_row_of_its_did() {
        let mut conn = Connection::open_in_memory().expect("db");
        create_schema(&mut conn).expect("schema");
        upsert_obscore_rows(
            &mut conn,
            &[row("a.fits", "d1", 1.0), row("b.fits", "d2", 2.0)],
        )
        .expect("first");
        // a.fits read again (a new pointing, a new DID): its row is replaced.
        upsert_obscore_rows(&mut conn, &[row("a.fits", "d3", 3.0)]).expect("again");
        assert_eq!(
            rows(&conn),
            own(&[("a.fits", "d3", 3.0), ("b.fits", "d2", 2.0)])
        );
        // c.fits takes b.fits's DID: b.fits's row goes.
        upsert_obscore_rows(&mut conn, &[row("c.fits", "d2", 4.0)]).expect("taken");
        assert_eq!(
            rows(&conn),
            own(&[("a.fits", "d3", 3.0), ("c.fits", "d2", 4.0)])
        );
        // A file that goes loses its row; one read in the same batch keeps its own.
        let changes = Changes {
            rows: vec![row("a.fits", "d5", 5.0)],
            deleted_paths: vec!["c.fits".into()],
            ..Changes::default()
        };
        apply_obscore_changes(&mut conn, &changes).expect("apply");
        assert_eq!(rows(&conn), own(&[("a.fits", "d5", 5.0)]));
    }

    #[test]
    fn a_database_of_an_earlier_vogate_gets_a_unique_path_index_and_one_row_per_file() {
        let mut conn = Connection::open_in_memory().expect("db");
        create_schema(&mut conn).expect("schema");
        // As an earlier vogate left it: a plain index, and (had anything gone wrong) two
        // rows of one file.
        conn.execute_batch(
            "DROP INDEX \"ivoa.ObsCore._path\"; \
             CREATE INDEX \"ivoa.ObsCore._path\" ON \"ivoa.ObsCore\" (\"_path\");",
        )
        .expect("old index");
        replace_obscore_rows(
            &mut conn,
            &[
                row("a.fits", "d1", 1.0),
                row("a.fits", "d2", 2.0),
                row("b.fits", "d3", 3.0),
            ],
        )
        .expect("old rows");
        assert!(!index_is_unique(&conn, "ivoa.ObsCore._path").expect("index"));
        create_schema(&mut conn).expect("schema again");
        assert!(index_is_unique(&conn, "ivoa.ObsCore._path").expect("index"));
        // The row written last of a.fits is kept.
        assert_eq!(
            rows(&conn),
            own(&[("a.fits", "d2", 2.0), ("b.fits", "d3", 3.0)])
        );
        upsert_obscore_rows(&mut conn, &[row("b.fits", "d4", 4.0)]).expect("upsert");
        assert_eq!(
            rows(&conn),
            own(&[("a.fits", "d2", 2.0), ("b.fits", "d4", 4.0)])
        );
    }
}

#[cfg(test)]
mod index_tests {
    use super::*;
    use crate::sqlite::{register_functions, SqliteDialect};

    #[test]
    fn cone_queries_on_obscore_use_the_healpix_index() {
        let mut conn = Connection::open_in_memory().expect("db");
        register_functions(&conn).expect("functions");
        create_schema(&mut conn).expect("schema");
        let cat = load_catalog(&conn).expect("catalog");
        let plan = |adql: &str| -> String {
            let t = vo_adql::translate(adql, &cat, &SqliteDialect).expect("translate");
            let mut st = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {}", t.sql))
                .expect("prepare");
            let rows: Vec<String> = st
                .query_map([], |r| r.get::<_, String>(3))
                .expect("plan")
                .collect::<Result<_, _>>()
                .expect("rows");
            rows.join(" | ")
        };
        let cone = plan("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10, 20, 0.1)) = 1 AND calib_level >= 0");
        assert!(cone.contains("ivoa.ObsCore._hpx"), "{cone}");
        // Under OR (or for a large circle) no prefilter may be added: a full scan.
        let or = plan("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10, 20, 0.1)) = 1 OR calib_level = 9");
        assert!(!or.contains("_hpx"), "{or}");
    }
}

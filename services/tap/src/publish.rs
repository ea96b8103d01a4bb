//! Publishing a Felis schema (vo-felis) on either backend: its tables (DDL from the same
//! model) and its TAP_SCHEMA rows (Felis's rules; vogate also honours `votable:datatype`).
//!
//! Loading is idempotent and never drops data: a schema whose TAP_SCHEMA rows are not there
//! yet gets its tables (`CREATE ... IF NOT EXISTS`) and rows; the same schema again changes
//! nothing; a changed schema is refused with the list of differences, unless
//! `metadata_only`, which rewrites its TAP_SCHEMA rows and leaves the tables alone.

use crate::schema::{read_tap_rows, replace_tap_rows, RowKeys};
use rusqlite::Connection;
use vo_common::{Value, VoError};
use vo_felis::{tap_schema_rows, Schema, TapOptions};

/// What loading a schema did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// Tables and TAP_SCHEMA rows were created.
    Created,
    /// The schema was already published exactly so: nothing changed.
    Unchanged,
    /// Only the TAP_SCHEMA rows were rewritten (`--metadata-only`); the differences.
    MetadataUpdated(Vec<String>),
}

/// The VOTable datatype vogate publishes for a Felis column: `votable:datatype` when given,
/// `unicodeChar` for `text` (see [`felis_rows_indexed`]), else Felis's.
pub fn votable_datatype(c: &vo_felis::model::Column) -> &str {
    match (&c.votable_datatype, c.datatype) {
        (Some(d), _) => d,
        (None, vo_felis::model::DataType::Text) => "unicodeChar",
        (None, d) => d.votable(),
    }
}

/// The TAP_SCHEMA rows of a Felis schema as vogate stores them: (TAP_SCHEMA short table
/// name, values in the column order of [`crate::schema::tap_schema_tables`]).
pub fn felis_rows(schema: &Schema) -> Vec<(&'static str, Vec<Value>)> {
    felis_rows_indexed(schema, None)
}

/// [`felis_rows`] with TAP_SCHEMA.schemas.schema_index = `schema_index`.
///
/// One difference from Felis's own TAP_SCHEMA: a `text` column (Felis declares it `char`)
/// is declared `unicodeChar` unless `votable:datatype` says otherwise, since free text may
/// hold any character and a non-ASCII value in a `char` FIELD is an error to VOTable
/// readers (VOTable 1.4 §2.1; astropy's W55).
pub fn felis_rows_indexed(
    schema: &Schema,
    schema_index: Option<i64>,
) -> Vec<(&'static str, Vec<Value>)> {
    let mut rows = tap_schema_rows(
        schema,
        &TapOptions {
            schema_index,
            honour_votable_datatype: true,
        },
    );
    let free_text: std::collections::HashSet<(String, &str)> = schema
        .tables
        .iter()
        .flat_map(|t| {
            t.columns
                .iter()
                .filter(|c| votable_datatype(c) == "unicodeChar")
                .map(move |c| (format!("{}.{}", schema.name, t.name), c.name.as_str()))
        })
        .collect();
    for c in &mut rows.columns {
        if free_text.contains(&(c.table_name.clone(), c.column_name.as_str())) {
            c.datatype = "unicodeChar".to_string();
        }
    }
    let t = |s: &str| Value::Text(s.to_string());
    let o = |s: &Option<String>| {
        s.as_deref()
            .map_or(Value::Null, |s| Value::Text(s.to_string()))
    };
    let oi = |v: Option<i64>| v.map_or(Value::Null, Value::Int);
    let mut out = Vec::new();
    for r in &rows.schemas {
        out.push((
            "schemas",
            vec![
                t(&r.schema_name),
                o(&r.utype),
                o(&r.description),
                oi(r.schema_index),
            ],
        ));
    }
    for r in &rows.tables {
        out.push((
            "tables",
            vec![
                t(&r.schema_name),
                t(&r.table_name),
                t(&r.table_type),
                o(&r.utype),
                o(&r.description),
                Value::Int(r.table_index),
            ],
        ));
    }
    for r in &rows.columns {
        out.push((
            "columns",
            vec![
                t(&r.table_name),
                t(&r.column_name),
                t(&r.datatype),
                o(&r.arraysize),
                o(&r.xtype),
                oi(r.size),
                o(&r.description),
                o(&r.utype),
                o(&r.unit),
                o(&r.ucd),
                Value::Int(r.indexed),
                Value::Int(r.principal),
                Value::Int(r.std),
                oi(r.column_index),
            ],
        ));
    }
    for r in &rows.keys {
        out.push((
            "keys",
            vec![
                t(&r.key_id),
                t(&r.from_table),
                t(&r.target_table),
                o(&r.utype),
                o(&r.description),
            ],
        ));
    }
    for r in &rows.key_columns {
        out.push((
            "key_columns",
            vec![t(&r.key_id), t(&r.from_column), t(&r.target_column)],
        ));
    }
    out
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Int(i) => i.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Text(s) => format!("'{s}'"),
    }
}

/// The names of the columns of a TAP_SCHEMA table, in order.
fn column_names(table: &str) -> Vec<&'static str> {
    crate::schema::tap_schema_tables()
        .into_iter()
        .find(|(t, _)| *t == table)
        .map(|(_, cols)| {
            cols.into_iter()
                .map(|(c, _)| vo_adql::unquoted(c))
                .collect()
        })
        .unwrap_or_default()
}

/// The identity of a row: the values of its key columns.
fn row_key(table: &str, v: &[Value]) -> String {
    let n = match table {
        "columns" | "key_columns" => 2,
        "tables" => 2,
        _ => 1,
    };
    v.iter().take(n).map(show).collect::<Vec<_>>().join(" ")
}

/// The differences between the TAP_SCHEMA rows in the database (`old`) and those of the file
/// (`new`), one line each: a row only in one of them, or a field that changed.
pub fn differences(
    old: &[(&'static str, Vec<Value>)],
    new: &[(&'static str, Vec<Value>)],
) -> Vec<String> {
    let same = |a: &Value, b: &Value| match (a, b) {
        (Value::Int(x), Value::Double(y)) | (Value::Double(y), Value::Int(x)) => *x as f64 == *y,
        _ => a == b,
    };
    let mut out = Vec::new();
    for table in ["schemas", "tables", "columns", "keys", "key_columns"] {
        let names = column_names(table);
        let of = |rows: &[(&'static str, Vec<Value>)]| -> Vec<(String, Vec<Value>)> {
            let mut v: Vec<(String, Vec<Value>)> = rows
                .iter()
                .filter(|(t, _)| *t == table)
                .map(|(_, v)| (row_key(table, v), v.clone()))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let (o, n) = (of(old), of(new));
        for (k, ov) in &o {
            match n.iter().find(|(nk, _)| nk == k) {
                None => out.push(format!("TAP_SCHEMA.{table}: {k} is no longer in the file")),
                Some((_, nv)) => {
                    for (i, (a, b)) in ov.iter().zip(nv).enumerate() {
                        if !same(a, b) {
                            out.push(format!(
                                "TAP_SCHEMA.{table}: {k}: {} {} -> {}",
                                names.get(i).copied().unwrap_or("?"),
                                show(a),
                                show(b)
                            ));
                        }
                    }
                }
            }
        }
        for (k, _) in &n {
            if !o.iter().any(|(ok, _)| ok == k) {
                out.push(format!("TAP_SCHEMA.{table}: {k} is new in the file"));
            }
        }
    }
    out
}

/// The positions of `schema`'s tables among `positions` (table as published, ra, dec), as
/// (table name within the schema, ra, dec).
pub fn positions_of(
    schema: &Schema,
    positions: &[(String, String, String)],
) -> Vec<(String, String, String)> {
    positions
        .iter()
        .filter_map(|(t, ra, dec)| {
            let name = t.strip_prefix(&format!("{}.", schema.name))?;
            schema
                .table(name)
                .map(|_| (name.to_string(), ra.clone(), dec.clone()))
        })
        .collect()
}

/// What loading does, given the TAP_SCHEMA rows there (`old`) and the file's (`new`):
/// create (none there), nothing (the same), rewrite the rows (`metadata_only`), or refuse
/// with the differences.
pub fn outcome(
    schema: &str,
    old: &[(&'static str, Vec<Value>)],
    new: &[(&'static str, Vec<Value>)],
    metadata_only: bool,
) -> Result<Published, VoError> {
    if old.is_empty() {
        return Ok(Published::Created);
    }
    let diff = differences(old, new);
    if diff.is_empty() {
        Ok(Published::Unchanged)
    } else if metadata_only {
        Ok(Published::MetadataUpdated(diff))
    } else {
        Err(refused(schema, &diff))
    }
}

/// The error for a changed schema loaded without `--metadata-only`.
pub fn refused(schema: &str, diff: &[String]) -> VoError {
    VoError::usage(format!(
        "schema {schema} is already published differently; nothing was changed. Differences ({}):\n  {}\n\
         Use --metadata-only to rewrite its TAP_SCHEMA rows (the tables stay as they are).",
        diff.len(),
        diff.join("\n  ")
    ))
}

fn internal(e: rusqlite::Error) -> VoError {
    VoError::internal(format!("database error: {e}"))
}

/// Publish `schema` in the SQLite database `conn` (which has TAP_SCHEMA; see
/// [`crate::schema::create_schema`]); one transaction. See the module documentation.
///
/// `positions` lists this database's tables with an indexed sky position (table as
/// published, ra, dec); those of `schema` get their `_hpx` column.
pub fn publish_sqlite(
    conn: &mut Connection,
    schema: &Schema,
    metadata_only: bool,
    positions: &[(String, String, String)],
) -> Result<Published, VoError> {
    let rows = felis_rows(schema);
    let tx = conn.transaction().map_err(internal)?;
    let old = read_tap_rows(&tx, &schema.name)?;
    let outcome = outcome(&schema.name, &old, &rows, metadata_only)?;
    if !matches!(outcome, Published::MetadataUpdated(_)) {
        for sql in vo_felis::ddl::create_statements(schema, vo_felis::ddl::Dialect::Sqlite, &[]) {
            tx.execute_batch(&sql).map_err(|e| {
                VoError::internal(format!("cannot create the tables of {}: {e}", schema.name))
            })?;
        }
    }
    if !matches!(outcome, Published::Unchanged) {
        let keys = RowKeys::of(&rows).union(&RowKeys::of(&old));
        replace_tap_rows(&tx, &rows, &keys)?;
    }
    for (table, ra, dec) in positions_of(schema, positions) {
        crate::schema::ensure_position_sqlite(&tx, &format!("{}.{table}", schema.name), &ra, &dec)?;
    }
    tx.commit().map_err(internal)?;
    Ok(outcome)
}

//! DDL for PostgreSQL and SQLite from one Felis schema: tables with their column types
//! (Felis's: `float` is 4-byte `REAL` on PostgreSQL), NOT NULL, defaults, primary keys,
//! unique and check constraints, foreign keys and indexes. Every statement is idempotent
//! (`IF NOT EXISTS`), and none drops anything.
//!
//! Names: on PostgreSQL the schema is a database schema and a table is `"schema"."table"`; on
//! SQLite a table is `"schema.table"` (the dot inside the quoted name), as vogate publishes
//! them. Identifiers are always quoted, so mixed-case names (`Object`, `objectId`) keep their
//! case.

use crate::model::{Column, ConstraintKind, DataType, Scalar, Schema, Table};

/// The database the DDL is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL (15).
    Postgres,
    /// SQLite (3.4x).
    Sqlite,
}

fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The physical name of table `table` of schema `schema`.
pub fn table_name(dialect: Dialect, schema: &str, table: &str) -> String {
    match dialect {
        Dialect::Postgres => format!("{}.{}", q(schema), q(table)),
        Dialect::Sqlite => q(&format!("{schema}.{table}")),
    }
}

/// The column type in `dialect` (a `postgresql:datatype` override is used on PostgreSQL).
pub fn column_type(dialect: Dialect, c: &Column) -> String {
    if let (Dialect::Postgres, Some(t)) = (dialect, &c.postgresql_datatype) {
        return t.clone();
    }
    let len = c.length.unwrap_or(1);
    match dialect {
        Dialect::Postgres => match c.datatype {
            DataType::Boolean => "BOOLEAN".into(),
            DataType::Byte | DataType::Short => "SMALLINT".into(),
            DataType::Int => "INTEGER".into(),
            DataType::Long => "BIGINT".into(),
            DataType::Float => "REAL".into(),
            DataType::Double => "DOUBLE PRECISION".into(),
            // Felis `char(n)` is at most n characters; PostgreSQL's CHAR(n) would pad values
            // with blanks (and answer differently from SQLite), so it is VARCHAR(n).
            DataType::Char | DataType::String | DataType::Unicode => format!("VARCHAR({len})"),
            DataType::Text => "TEXT".into(),
            DataType::Binary => "BYTEA".into(),
            DataType::Timestamp => match c.precision {
                Some(p) => format!("TIMESTAMP({p})"),
                None => "TIMESTAMP".into(),
            },
        },
        // Integer affinity, but never the exact type name INTEGER, so that a one-column
        // primary key is not an alias of the rowid (SQLite would invent keys for NULLs).
        Dialect::Sqlite => match c.datatype {
            DataType::Long => "BIGINT".into(),
            DataType::Int => "INT".into(),
            DataType::Short | DataType::Byte | DataType::Boolean => "SMALLINT".into(),
            DataType::Float | DataType::Double => "REAL".into(),
            DataType::Binary => "BLOB".into(),
            _ => "TEXT".into(),
        },
    }
}

/// Whether `given` (the value of `key`, `mysql:datatype` or `postgresql:datatype`) names the
/// type Felis would derive from `datatype` and `length` anyway (`--check-redundant-datatypes`).
pub fn is_redundant_override(
    key: &str,
    given: &str,
    datatype: DataType,
    length: Option<i64>,
) -> bool {
    let norm = |s: &str| s.to_ascii_uppercase().replace(' ', "");
    let l = length.unwrap_or(0);
    let derived: Vec<String> = match key {
        "postgresql:datatype" => match datatype {
            DataType::Boolean => vec!["BOOLEAN".into()],
            DataType::Byte | DataType::Short => vec!["SMALLINT".into()],
            DataType::Int => vec!["INTEGER".into()],
            DataType::Long => vec!["BIGINT".into()],
            DataType::Float => vec!["REAL".into()],
            DataType::Double => vec!["DOUBLEPRECISION".into()],
            DataType::Char => vec![format!("CHAR({l})")],
            DataType::String | DataType::Unicode => vec![format!("VARCHAR({l})")],
            DataType::Text => vec!["TEXT".into()],
            DataType::Binary => vec!["BYTEA".into()],
            DataType::Timestamp => vec!["TIMESTAMP".into(), "TIMESTAMPWITHOUTTIMEZONE".into()],
        },
        "mysql:datatype" => match datatype {
            DataType::Boolean => vec!["BOOLEAN".into(), "BOOL".into()],
            DataType::Byte => vec!["TINYINT".into()],
            DataType::Short => vec!["SMALLINT".into()],
            DataType::Int => vec!["INTEGER".into(), "INT".into()],
            DataType::Long => vec!["BIGINT".into()],
            DataType::Float => vec!["FLOAT".into()],
            DataType::Double => vec!["DOUBLE".into()],
            DataType::Char => vec![format!("CHAR({l})")],
            DataType::String => vec![format!("VARCHAR({l})")],
            DataType::Unicode => vec![format!("NVARCHAR({l})")],
            DataType::Text => vec!["LONGTEXT".into()],
            DataType::Binary => vec!["LONGBLOB".into()],
            DataType::Timestamp => vec!["DATETIME".into()],
        },
        _ => Vec::new(),
    };
    derived.iter().any(|d| *d == norm(given))
}

fn literal(v: &Scalar) -> String {
    match v {
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => format!("{f:?}"),
        Scalar::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        Scalar::Text(t) => format!("'{}'", t.replace('\'', "''")),
    }
}

fn column_names(table: &Table, ids: &[String]) -> Vec<String> {
    ids.iter()
        .filter_map(|id| table.column_by_id(id).map(|c| q(&c.name)))
        .collect()
}

/// The statements that create `schema` in `dialect`, in order. `ra_dec` lists tables with
/// positions (table name within the schema, ra column, dec column), which get vogate's
/// internal spatial column on PostgreSQL: a generated pgSphere `_spoint` (from the ra/dec
/// columns, degrees) with a GiST index. (On SQLite the caller adds its `_hpx` column.)
pub fn create_statements(
    schema: &Schema,
    dialect: Dialect,
    ra_dec: &[(String, String, String)],
) -> Vec<String> {
    let mut out = Vec::new();
    if dialect == Dialect::Postgres {
        out.push(format!("CREATE SCHEMA IF NOT EXISTS {}", q(&schema.name)));
    }
    let mut foreign = Vec::new();
    for t in &schema.tables {
        let name = table_name(dialect, &schema.name, &t.name);
        let mut defs: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let mut d = format!("{} {}", q(&c.name), column_type(dialect, c));
                let in_pk = t.primary_key.contains(&c.id);
                if !c.nullable || in_pk {
                    d.push_str(" NOT NULL");
                }
                // SQLite does not enforce a text length: a CHECK does, as PostgreSQL's
                // VARCHAR(n) does.
                if let (Dialect::Sqlite, Some(n), true) = (
                    dialect,
                    c.length,
                    matches!(
                        c.datatype,
                        DataType::Char | DataType::String | DataType::Unicode
                    ),
                ) {
                    d.push_str(&format!(" CHECK (length({}) <= {n})", q(&c.name)));
                }
                if let Some(v) = &c.value {
                    let v = match (dialect, v) {
                        (Dialect::Sqlite, Scalar::Bool(b)) => i64::from(*b).to_string(),
                        _ => literal(v),
                    };
                    d.push_str(&format!(" DEFAULT {v}"));
                }
                d
            })
            .collect();
        let pk = column_names(t, &t.primary_key);
        if !pk.is_empty() {
            defs.push(format!("PRIMARY KEY ({})", pk.join(", ")));
        }
        for k in &t.constraints {
            match &k.kind {
                ConstraintKind::Unique { columns } => defs.push(format!(
                    "CONSTRAINT {} UNIQUE ({})",
                    q(&k.name),
                    column_names(t, columns).join(", ")
                )),
                ConstraintKind::Check { expression } => {
                    defs.push(format!("CONSTRAINT {} CHECK ({expression})", q(&k.name)))
                }
                ConstraintKind::ForeignKey {
                    columns,
                    referenced,
                } => {
                    let Some((target, _)) =
                        referenced.first().and_then(|id| schema.column_by_id(id))
                    else {
                        continue;
                    };
                    let refs: Vec<String> = referenced
                        .iter()
                        .filter_map(|id| schema.column_by_id(id).map(|(_, c)| q(&c.name)))
                        .collect();
                    let clause = format!(
                        "FOREIGN KEY ({}) REFERENCES {} ({})",
                        column_names(t, columns).join(", "),
                        table_name(dialect, &schema.name, &target.name),
                        refs.join(", ")
                    );
                    match dialect {
                        // SQLite: inline (it has no ALTER TABLE ADD CONSTRAINT).
                        Dialect::Sqlite => defs.push(format!("CONSTRAINT {} {clause}", q(&k.name))),
                        Dialect::Postgres => foreign.push(format!(
                            "DO $$ BEGIN ALTER TABLE {name} ADD CONSTRAINT {} {clause}; \
                             EXCEPTION WHEN duplicate_object OR duplicate_table THEN NULL; END $$",
                            q(&k.name)
                        )),
                    }
                }
            }
        }
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {name} ({})",
            defs.join(", ")
        ));
        for ix in &t.indexes {
            let what: Vec<String> = if ix.columns.is_empty() {
                ix.expressions.clone()
            } else {
                column_names(t, &ix.columns)
            };
            let ix_name = match dialect {
                Dialect::Postgres => q(&ix.name),
                Dialect::Sqlite => q(&format!("{}.{}", schema.name, ix.name)),
            };
            out.push(format!(
                "CREATE INDEX IF NOT EXISTS {ix_name} ON {name} ({})",
                what.join(", ")
            ));
        }
        if let (Dialect::Postgres, Some((_, ra, dec))) =
            (dialect, ra_dec.iter().find(|(tn, ..)| *tn == t.name))
        {
            // Added after the table so that a table published before gets it too.
            out.push(format!(
                "ALTER TABLE {name} ADD COLUMN IF NOT EXISTS \"_spoint\" spoint \
                 GENERATED ALWAYS AS (spoint(radians({}), radians({}))) STORED",
                q(ra),
                q(dec)
            ));
            out.push(format!(
                "CREATE INDEX IF NOT EXISTS {} ON {name} USING GIST (\"_spoint\")",
                q(&format!("{}_spoint", t.name))
            ));
        }
    }
    out.extend(foreign);
    out
}

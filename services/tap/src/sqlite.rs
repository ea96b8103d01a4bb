//! The SQLite backend: the renderer's SQLite dialect, the geometry functions, and query
//! connections.
//!
//! Geometry runs as Rust scalar functions registered on every connection, exact on the
//! sphere (angles in degrees):
//! - `vogate_contains_pc(ra, dec, ra0, dec0, r)`: 1 when the point lies within `r` degrees
//!   of (ra0, dec0) (boundary included), 0 otherwise, NULL when any argument is NULL;
//! - `vogate_distance(ra1, dec1, ra2, dec2)`: the great-circle distance in degrees (Vincenty).
//!
//! Query connections are read-only (`SQLITE_OPEN_READ_ONLY` and `PRAGMA query_only`), with
//! `PRAGMA case_sensitive_like = ON` because ADQL's LIKE is case-sensitive (ADQL 2.1 §2.3.3)
//! while SQLite's is not by default.

use crate::schema::quote_ident;
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use vo_adql::{ColumnInfo, SqlDialect, TableInfo};
use vo_common::sky::SkyPoint;
use vo_common::VoError;

/// The SQLite spelling of ADQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

impl SqlDialect for SqliteDialect {
    fn table_ref(&self, table: &TableInfo) -> String {
        quote_ident(&table.qualified_name())
    }

    fn column_ref(&self, _table: &TableInfo, column: &ColumnInfo) -> String {
        quote_ident(vo_adql::unquoted(&column.name))
    }

    fn contains_point_circle(&self, ra: &str, dec: &str, ra0: &str, dec0: &str, r: &str) -> String {
        format!("vogate_contains_pc({ra}, {dec}, {ra0}, {dec0}, {r})")
    }

    fn distance(&self, ra1: &str, dec1: &str, ra2: &str, dec2: &str) -> String {
        format!("vogate_distance({ra1}, {dec1}, {ra2}, {dec2})")
    }

    fn limit(&self, n: u64) -> String {
        format!(" LIMIT {n}")
    }
}

fn args_f64(
    ctx: &rusqlite::functions::Context<'_>,
    n: usize,
) -> rusqlite::Result<Option<Vec<f64>>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        match ctx.get::<Option<f64>>(i)? {
            Some(v) => out.push(v),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// Register vogate's SQL functions on `conn`.
pub fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("vogate_contains_pc", 5, flags, |ctx| {
        Ok(args_f64(ctx, 5)?.map(|a| {
            let d = SkyPoint::new(a[0], a[1]).distance(SkyPoint::new(a[2], a[3]));
            i64::from(d <= a[4])
        }))
    })?;
    conn.create_scalar_function("vogate_distance", 4, flags, |ctx| {
        Ok(
            args_f64(ctx, 4)?
                .map(|a| SkyPoint::new(a[0], a[1]).distance(SkyPoint::new(a[2], a[3]))),
        )
    })?;
    Ok(())
}

/// Open the database at `path` for writing (creating it), in WAL mode so that readers go on
/// while it writes.
pub fn open_rw(path: &Path) -> Result<Connection, VoError> {
    let conn = Connection::open(path)
        .map_err(|e| VoError::internal(format!("cannot open database {}: {e}", path.display())))?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .map_err(|e| {
            VoError::internal(format!("cannot set up database {}: {e}", path.display()))
        })?;
    register_functions(&conn)
        .map_err(|e| VoError::internal(format!("cannot register SQL functions: {e}")))?;
    Ok(conn)
}

/// Open a read-only query connection to the database at `path`.
pub fn open_query(path: &Path) -> Result<Connection, VoError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| VoError::internal(format!("cannot open the database: {e}")))?;
    conn.execute_batch("PRAGMA query_only = ON; PRAGMA case_sensitive_like = ON;")
        .map_err(|e| VoError::internal(format!("cannot set up the query connection: {e}")))?;
    register_functions(&conn)
        .map_err(|e| VoError::internal(format!("cannot register SQL functions: {e}")))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_exact_and_null_aware() {
        let conn = Connection::open_in_memory().expect("db");
        register_functions(&conn).expect("functions");
        let q = |sql: &str| -> Option<f64> { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
        // 0.2 deg apart across RA = 0.
        assert_eq!(
            q("SELECT vogate_contains_pc(359.9, 0, 0.1, 0, 0.2000001)"),
            Some(1.0)
        );
        assert_eq!(
            q("SELECT vogate_contains_pc(359.9, 0, 0.1, 0, 0.1999999)"),
            Some(0.0)
        );
        // Near the pole, RA spans are small distances.
        assert_eq!(
            q("SELECT vogate_contains_pc(0, 89.9, 180, 89.9, 0.2000001)"),
            Some(1.0)
        );
        assert_eq!(q("SELECT vogate_contains_pc(NULL, 0, 0, 0, 1)"), None);
        let d = q("SELECT vogate_distance(10, 20, 10, 21)").expect("distance");
        assert!((d - 1.0).abs() < 1e-12);
    }
}

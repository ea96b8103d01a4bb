//! What is written: Felis schemas published, ObsCore rows replaced (COPY), CSV rows
//! inserted, and TAP_SCHEMA read back as an in-memory SQLite snapshot.

use super::*;
use vo_obscore::live::{Changes, FileState};

impl PgBackend {
    /// Publish a Felis schema (see [`crate::publish`]): create its tables if they are not
    /// there, grant the reader role SELECT on them, and write its TAP_SCHEMA rows; when the
    /// TAP_SCHEMA rows already there differ, refuse with the differences unless
    /// `metadata_only`, which rewrites the TAP_SCHEMA rows alone. One transaction.
    ///
    /// `positions` (table as published, ra, dec) of `schema`'s tables get a generated
    /// `_spoint` column with a GiST index.
    pub async fn publish(
        &self,
        schema: &vo_felis::Schema,
        metadata_only: bool,
        positions: &[(String, String, String)],
    ) -> Result<crate::publish::Published, VoError> {
        use crate::publish::{felis_rows, Published};
        let rows = felis_rows(schema);
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| admin_error("cannot start loading the schema", e))?;
        tx.execute("SELECT pg_advisory_xact_lock(7415012)", &[])
            .await
            .map_err(|e| admin_error("cannot lock", e))?;
        let old = read_tap_rows(&tx, &schema.name).await?;
        let outcome = crate::publish::outcome(&schema.name, &old, &rows, metadata_only)?;
        let ra_dec = crate::publish::positions_of(schema, positions);
        if !matches!(outcome, Published::MetadataUpdated(_)) {
            for sql in
                vo_felis::ddl::create_statements(schema, vo_felis::ddl::Dialect::Postgres, &ra_dec)
            {
                tx.batch_execute(&sql).await.map_err(|e| {
                    admin_error(&format!("cannot create the tables of {}", schema.name), e)
                })?;
            }
            let role = quote_ident(&self.options.reader_role);
            let s = quote_ident(&schema.name);
            tx.batch_execute(&format!(
                "GRANT USAGE ON SCHEMA {s} TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {role};"
            ))
            .await
            .map_err(|e| admin_error("cannot grant the reader role", e))?;
        }
        if !matches!(outcome, Published::Unchanged) {
            let keys = RowKeys::of(&rows).union(&RowKeys::of(&old));
            replace_tap_rows(&tx, &rows, &keys).await?;
        }
        tx.commit()
            .await
            .map_err(|e| admin_error("cannot commit the schema", e))?;
        Ok(outcome)
    }

    /// Replace every row of ivoa.ObsCore by `rows` (with their `_spoint` and `_spoly`), with
    /// COPY in one transaction: readers see the old rows or the new ones.
    pub async fn replace_obscore_rows(&self, rows: &[ObsCoreRow]) -> Result<(), VoError> {
        self.write_obscore_rows(None, rows).await
    }

    /// Insert `rows` of ivoa.ObsCore, replacing the rows of the same files and of the same
    /// obs_publisher_did, index columns included, in one transaction.
    pub async fn upsert_obscore_rows(&self, rows: &[ObsCoreRow]) -> Result<(), VoError> {
        self.apply_obscore_changes(&Changes {
            rows: rows.to_vec(),
            ..Changes::default()
        })
        .await
    }

    /// Delete the ObsCore rows of `obs_ids` in one transaction; how many there were.
    pub async fn delete_obscore_rows(&self, obs_ids: &[String]) -> Result<usize, VoError> {
        let n = self
            .client()
            .await?
            .execute(
                &format!("DELETE FROM {} WHERE obs_id = ANY($1)", obscore()),
                &[&obs_ids],
            )
            .await
            .map_err(|e| admin_error("cannot delete ObsCore rows", e))?;
        Ok(n as usize)
    }

    /// Add the mapping's extension columns to ivoa.ObsCore when missing (never dropping
    /// one; the reader role's table grant covers them) and rewrite ObsCore's TAP_SCHEMA rows
    /// to list them, in one transaction.
    pub async fn extend_obscore(&self, extra: &[vo_felis::model::Column]) -> Result<(), VoError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| admin_error("cannot extend ivoa.ObsCore", e))?;
        for c in extra {
            tx.batch_execute(&format!(
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}",
                obscore(),
                quote_ident(&c.name),
                vo_felis::ddl::column_type(vo_felis::ddl::Dialect::Postgres, c)
            ))
            .await
            .map_err(|e| admin_error(&format!("cannot add the column {}", c.name), e))?;
        }
        let rows = crate::schema::tap_schema_rows_with(extra);
        replace_tap_rows(&tx, &rows, &RowKeys::of(&rows)).await?;
        tx.commit()
            .await
            .map_err(|e| admin_error("cannot commit the ObsCore columns", e))
    }

    /// Every file state of the live ingest (`vogate.obscore_files`).
    pub async fn obscore_files(&self) -> Result<Vec<FileState>, VoError> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT path, size, mtime_ns, inode, config, did, error, headers FROM vogate.obscore_files",
                &[],
            )
            .await
            .map_err(|e| admin_error("cannot read the live ingest's file states", e))?;
        Ok(rows
            .iter()
            .map(|r| FileState {
                path: r.get(0),
                size: r.get::<_, i64>(1) as u64,
                mtime_ns: r.get(2),
                inode: r.get::<_, i64>(3) as u64,
                config: r.get(4),
                did: r.get(5),
                error: r.get(6),
                headers: r.get(7),
            })
            .collect())
    }

    /// Write one batch of the live ingest's changes in one transaction (rows by COPY, file
    /// states by one UNNEST insert); then ANALYZE ivoa.ObsCore when it has changed by more
    /// than its size at the last ANALYZE (at least 500 rows), so that the statistics follow
    /// a growing table without an ANALYZE per batch.
    pub async fn apply_obscore_changes(&self, changes: &Changes) -> Result<(), VoError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| admin_error("cannot start the ingest", e))?;
        // The rows of the files that go, the old rows of the files written, and any row
        // holding a DID that a written row takes.
        let paths: Vec<&str> = changes
            .deleted_paths
            .iter()
            .chain(changes.rows.iter().map(|r| &r.path))
            .map(String::as_str)
            .collect();
        let dids: Vec<&str> = changes
            .rows
            .iter()
            .map(|r| r.obs_publisher_did.as_str())
            .collect();
        if !paths.is_empty() {
            tx.execute(
                &format!(
                    "DELETE FROM {} WHERE \"_path\" = ANY($1) OR obs_publisher_did = ANY($2)",
                    obscore()
                ),
                &[&paths, &dids],
            )
            .await
            .map_err(|e| admin_error("cannot delete ObsCore rows", e))?;
        }
        let paths: Vec<&str> = changes
            .forgotten
            .iter()
            .chain(changes.files.iter().map(|f| &f.path))
            .map(String::as_str)
            .collect();
        if !paths.is_empty() {
            tx.execute(
                "DELETE FROM vogate.obscore_files WHERE path = ANY($1)",
                &[&paths],
            )
            .await
            .map_err(|e| admin_error("cannot forget file states", e))?;
        }
        if !changes.rows.is_empty() {
            copy_obscore_rows(&tx, &changes.rows).await?;
        }
        if !changes.files.is_empty() {
            let f = &changes.files;
            let path: Vec<&str> = f.iter().map(|f| f.path.as_str()).collect();
            let size: Vec<i64> = f.iter().map(|f| f.size as i64).collect();
            let mtime: Vec<i64> = f.iter().map(|f| f.mtime_ns).collect();
            let inode: Vec<i64> = f.iter().map(|f| f.inode as i64).collect();
            let config: Vec<&str> = f.iter().map(|f| f.config.as_str()).collect();
            let did: Vec<Option<&str>> = f.iter().map(|f| f.did.as_deref()).collect();
            let error: Vec<Option<&str>> = f.iter().map(|f| f.error.as_deref()).collect();
            let headers: Vec<Option<&str>> = f.iter().map(|f| f.headers.as_deref()).collect();
            tx.execute(
                "INSERT INTO vogate.obscore_files (path, size, mtime_ns, inode, config, did, error, headers) \
                 SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], \
                 $5::text[], $6::text[], $7::text[], $8::text[])",
                &[&path, &size, &mtime, &inode, &config, &did, &error, &headers],
            )
            .await
            .map_err(|e| admin_error("cannot write file states", e))?;
        }
        tx.commit()
            .await
            .map_err(|e| admin_error("cannot commit the ingest", e))?;
        if !changes.rows.is_empty() {
            let stale: bool = client
                .query_one(
                    &format!(
                        "SELECT COALESCE((SELECT s.n_mod_since_analyze > GREATEST(500, c.reltuples) \
                         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
                         WHERE s.relid = '{}'::regclass), true)",
                        obscore().replace('\'', "''")
                    ),
                    &[],
                )
                .await
                .map_err(|e| admin_error("cannot read ivoa.ObsCore's statistics", e))?
                .get(0);
            if stale {
                client
                    .batch_execute(&format!("ANALYZE {}", obscore()))
                    .await
                    .map_err(|e| admin_error("cannot analyse ivoa.ObsCore", e))?;
            }
        }
        Ok(())
    }

    /// Delete the rows of `replace` (every row, and every file state of the live ingest,
    /// when `None`), then COPY `rows` in, in one transaction; then ANALYZE.
    async fn write_obscore_rows(
        &self,
        replace: Option<&[String]>,
        rows: &[ObsCoreRow],
    ) -> Result<(), VoError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| admin_error("cannot start the ingest", e))?;
        match replace {
            None => {
                tx.batch_execute(&format!(
                    "DELETE FROM {}; DELETE FROM vogate.obscore_files;",
                    obscore()
                ))
                .await
            }
            Some(ids) => tx
                .execute(
                    &format!("DELETE FROM {} WHERE obs_id = ANY($1)", obscore()),
                    &[&ids],
                )
                .await
                .map(|_| ()),
        }
        .map_err(|e| admin_error("cannot clear ivoa.ObsCore", e))?;
        copy_obscore_rows(&tx, rows).await?;
        tx.commit()
            .await
            .map_err(|e| admin_error("cannot commit the ingest", e))?;
        // Fresh statistics, so that the planner uses the spatial indexes.
        client
            .batch_execute(&format!("ANALYZE {}", obscore()))
            .await
            .map_err(|e| admin_error("cannot analyse ivoa.ObsCore", e))
    }

    /// Insert checked CSV rows (see [`crate::csvload`]) with COPY, in one transaction.
    /// Returns the row count.
    pub async fn insert_rows(&self, rows: &crate::csvload::CsvRows) -> Result<usize, VoError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| admin_error("cannot start loading", e))?;
        let names: Vec<String> = rows
            .columns
            .iter()
            .map(|c| quote_ident(&c.field.name))
            .collect();
        let sink = tx
            .copy_in(&format!(
                "COPY {} ({}) FROM STDIN",
                physical(rows.table.schema.as_deref(), &rows.table.name),
                names.join(", ")
            ))
            .await
            .map_err(|e| {
                VoError::usage(format!(
                    "the database refused the rows: {}; nothing was loaded",
                    pg_message(&e)
                ))
            })?;
        let mut sink = std::pin::pin!(sink);
        let mut buf = String::new();
        for r in &rows.rows {
            let mut first = true;
            for v in r {
                if !first {
                    buf.push('\t');
                }
                first = false;
                match v {
                    Value::Null => buf.push_str("\\N"),
                    Value::Int(i) => buf.push_str(&i.to_string()),
                    Value::Double(d) => buf.push_str(&format!("{d:?}")),
                    Value::Text(t) => copy_escape(t, &mut buf),
                }
            }
            buf.push('\n');
        }
        // COPY names the data line it stopped at ("COPY Visit, line 3"): the file's line.
        let refused = |e: tokio_postgres::Error| {
            let at = e
                .as_db_error()
                .and_then(|d| d.where_())
                .and_then(|w| w.rsplit("line ").next())
                .and_then(|n| n.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| rows.lines.get(n.wrapping_sub(1)))
                .map(|l| format!("line {l}: "))
                .unwrap_or_default();
            VoError::usage(format!(
                "{}: {at}the database refused the row: {}; nothing was loaded",
                rows.file,
                pg_message(&e)
            ))
        };
        sink.send(bytes::Bytes::from(buf)).await.map_err(refused)?;
        sink.as_mut().finish().await.map_err(refused)?;
        tx.commit()
            .await
            .map_err(|e| admin_error("cannot commit the rows", e))?;
        Ok(rows.rows.len())
    }

    /// TAP_SCHEMA copied into an in-memory SQLite database (the same tables vogate keeps on
    /// SQLite), from which [`crate::schema::load_catalog`] and [`crate::vosi::Vosi::load`]
    /// read the catalog and the VOSI documents, as they do on SQLite.
    pub async fn tap_schema_snapshot(&self) -> Result<rusqlite::Connection, VoError> {
        let client = self.client().await?;
        let conn = rusqlite::Connection::open_in_memory()
            .map_err(|e| VoError::internal(format!("cannot open a scratch database: {e}")))?;
        for (t, cols) in tap_schema_tables() {
            let names: Vec<String> = cols
                .iter()
                .map(|(c, _)| quote_ident(vo_adql::unquoted(c)))
                .collect();
            let lite = crate::schema::quote_ident(&format!("TAP_SCHEMA.{t}"));
            conn.execute_batch(&format!("CREATE TABLE {lite} ({})", names.join(", ")))
                .map_err(|e| VoError::internal(format!("cannot copy TAP_SCHEMA: {e}")))?;
            let rows = client
                .query(
                    &format!(
                        // In the order the rows were written (a Felis file's declared
                        // order), which breaks ties of column_index.
                        "SELECT {} FROM {} ORDER BY ctid",
                        names.join(", "),
                        physical(Some("TAP_SCHEMA"), t)
                    ),
                    &[],
                )
                .await
                .map_err(|e| admin_error("cannot read TAP_SCHEMA", e))?;
            let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
            let mut st = conn
                .prepare(&format!(
                    "INSERT INTO {lite} VALUES ({})",
                    placeholders.join(", ")
                ))
                .map_err(|e| VoError::internal(format!("cannot copy TAP_SCHEMA: {e}")))?;
            for row in rows {
                let mut values = Vec::with_capacity(names.len());
                for i in 0..names.len() {
                    values.push(crate::schema::sqlite_value(
                        cell(&row, i).map_err(VoError::internal)?,
                    ));
                }
                st.execute(rusqlite::params_from_iter(values))
                    .map_err(|e| VoError::internal(format!("cannot copy TAP_SCHEMA: {e}")))?;
            }
        }
        Ok(conn)
    }
}

/// Delete the TAP_SCHEMA rows selected by `keys`, then insert `rows` (values in vogate's
/// TAP_SCHEMA column order), within `tx`.
pub(super) async fn replace_tap_rows(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &[(&'static str, Vec<Value>)],
    keys: &RowKeys,
) -> Result<(), VoError> {
    let ts = |t: &str| physical(Some("TAP_SCHEMA"), t);
    for (table, column) in ROW_KEY_COLUMNS {
        let values: Vec<String> = keys.values_for(table).to_vec();
        tx.execute(
            &format!(
                "DELETE FROM {} WHERE {} = ANY($1)",
                ts(table),
                quote_ident(column)
            ),
            &[&values],
        )
        .await
        .map_err(|e| admin_error("cannot update TAP_SCHEMA", e))?;
    }
    let tables = tap_schema_tables();
    for (table, values) in rows {
        let cols = &tables
            .iter()
            .find(|(t, _)| t == table)
            .ok_or_else(|| VoError::internal(format!("no TAP_SCHEMA table {table}")))?
            .1;
        let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO {} VALUES ({})",
            ts(table),
            placeholders.join(", ")
        );
        type Param = Box<dyn tokio_postgres::types::ToSql + Sync + Send>;
        let params: Vec<Param> = values
            .iter()
            .zip(cols.iter())
            .map(|(v, (_, dt))| -> Param {
                match (v, *dt) {
                    (Value::Int(i), "int") => Box::new(*i as i32),
                    (Value::Null, "int") => Box::new(Option::<i32>::None),
                    (Value::Text(s), _) => Box::new(Some(s.clone())),
                    (Value::Int(i), _) => Box::new(Some(i.to_string())),
                    (Value::Double(d), _) => Box::new(Some(d.to_string())),
                    (Value::Null, _) => Box::new(Option::<String>::None),
                }
            })
            .collect();
        let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        tx.execute(&sql, &refs)
            .await
            .map_err(|e| admin_error("cannot fill TAP_SCHEMA", e))?;
    }
    Ok(())
}

/// The TAP_SCHEMA rows of schema `schema_name` (see [`crate::schema::read_tap_rows`]).
pub(super) async fn read_tap_rows(
    tx: &tokio_postgres::Transaction<'_>,
    schema_name: &str,
) -> Result<Vec<(&'static str, Vec<Value>)>, VoError> {
    let t = |n: &str| physical(Some("TAP_SCHEMA"), n);
    let names = |n: &str| -> String {
        tap_schema_tables()
            .into_iter()
            .find(|(t, _)| *t == n)
            .map(|(_, cols)| {
                cols.iter()
                    .map(|(c, _)| quote_ident(vo_adql::unquoted(c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    let in_schema = format!(
        "SELECT table_name FROM {} WHERE schema_name = $1",
        t("tables")
    );
    let queries = [
        ("schemas", format!("SELECT {} FROM {} WHERE schema_name = $1", names("schemas"), t("schemas"))),
        ("tables", format!("SELECT {} FROM {} WHERE schema_name = $1", names("tables"), t("tables"))),
        ("columns", format!("SELECT {} FROM {} WHERE table_name IN ({in_schema})", names("columns"), t("columns"))),
        ("keys", format!("SELECT {} FROM {} WHERE from_table IN ({in_schema})", names("keys"), t("keys"))),
        (
            "key_columns",
            format!(
                "SELECT {} FROM {} WHERE key_id IN (SELECT key_id FROM {} WHERE from_table IN ({in_schema}))",
                names("key_columns"),
                t("key_columns"),
                t("keys")
            ),
        ),
    ];
    let mut out = Vec::new();
    for (table, sql) in queries {
        let rows = tx
            .query(&sql, &[&schema_name])
            .await
            .map_err(|e| admin_error("cannot read TAP_SCHEMA", e))?;
        for r in rows {
            let vals = (0..r.len())
                .map(|i| cell(&r, i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(VoError::internal)?;
            out.push((table, vals));
        }
    }
    Ok(out)
}

/// Text escaped for COPY's text format.
pub(super) fn copy_escape(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

/// COPY `rows` (with their `_spoint` and `_spoly`) into ivoa.ObsCore within `tx`.
async fn copy_obscore_rows(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &[ObsCoreRow],
) -> Result<(), VoError> {
    let extra: Vec<&str> = rows
        .first()
        .map(|r| r.extra.iter().map(|(n, _)| n.as_str()).collect())
        .unwrap_or_default();
    if rows.iter().any(|r| {
        r.extra.len() != extra.len() || r.extra.iter().zip(&extra).any(|((n, _), e)| n != e)
    }) {
        return Err(VoError::internal(
            "ObsCore rows of one batch have different extension columns",
        ));
    }
    let names: Vec<String> = OBSCORE_COLUMNS
        .iter()
        .map(|c| quote_ident(c.name))
        .chain([
            "\"_spoint\"".to_string(),
            "\"_spoly\"".to_string(),
            "\"_path\"".to_string(),
        ])
        .chain(extra.iter().map(|n| quote_ident(n)))
        .collect();
    let sink = tx
        .copy_in(&format!(
            "COPY {} ({}) FROM STDIN",
            obscore(),
            names.join(", ")
        ))
        .await
        .map_err(|e| admin_error("cannot start COPY into ivoa.ObsCore", e))?;
    let mut sink = std::pin::pin!(sink);
    let mut buf = String::with_capacity(1 << 20);
    for row in rows {
        copy_line(row, &mut buf);
        if buf.len() >= 1 << 20 {
            sink.send(bytes::Bytes::from(std::mem::take(&mut buf)))
                .await
                .map_err(|e| admin_error("COPY into ivoa.ObsCore failed", e))?;
        }
    }
    if !buf.is_empty() {
        sink.send(bytes::Bytes::from(buf))
            .await
            .map_err(|e| admin_error("COPY into ivoa.ObsCore failed", e))?;
    }
    sink.as_mut()
        .finish()
        .await
        .map_err(|e| admin_error("COPY into ivoa.ObsCore failed", e))?;
    Ok(())
}

/// A value as COPY's text format writes it (before escaping); `None` is NULL.
fn copy_text(v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Int(i) => Some(i.to_string()),
        Value::Double(d) if d.is_nan() => Some("NaN".into()),
        Value::Double(d) if d.is_infinite() => {
            Some(if d > 0.0 { "Infinity" } else { "-Infinity" }.into())
        }
        Value::Double(d) => Some(format!("{d:?}")),
        Value::Text(s) => Some(s),
    }
}

/// One ObsCore row as a line of COPY's text format (tab-separated, `\N` for NULL): the
/// published columns, `_spoint`, `_spoly`, `_path`, then the mapping's extension columns.
pub(super) fn copy_line(row: &ObsCoreRow, out: &mut String) {
    use std::fmt::Write;
    let mut first = true;
    let mut field = |out: &mut String, v: Option<String>| {
        if !first {
            out.push('\t');
        }
        first = false;
        match v {
            None => out.push_str("\\N"),
            Some(s) => {
                for ch in s.chars() {
                    match ch {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
        }
    };
    for v in row.values() {
        field(out, copy_text(v));
    }
    let mut point = String::new();
    let _ = write!(point, "({:?}d,{:?}d)", row.s_ra, row.s_dec);
    field(out, Some(point));
    field(out, row.s_region.as_deref().and_then(stcs_to_spoly));
    field(out, Some(row.path.clone()));
    for (_, v) in &row.extra {
        field(out, copy_text(v.clone()));
    }
    out.push('\n');
}

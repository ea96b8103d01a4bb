//! The PostgreSQL + pgSphere backend: the renderer's PostgreSQL dialect, versioned
//! migrations, the reader role, ObsCore ingest and pooled query connections.
//!
//! Layout in the database: a published table `schema.table` is the table `"schema"."table"`
//! (names quoted, so their case is kept: `"ivoa"."ObsCore"`, `"TAP_SCHEMA"."columns"`).
//! `ivoa.ObsCore` carries two internal pgSphere columns beside the ObsCore ones, kept in step
//! by the ingest and absent from TAP_SCHEMA (so from ADQL, `/tables` and `SELECT *`):
//! `_spoint` (`spoint` of (s_ra, s_dec)) and `_spoly` (`spoly` of s_region, NULL for all-sky
//! rows), each with a GiST index.
//!
//! Safety: the URL given to `--db` is the admin connection (migrations, ingest, grants). Every
//! TAP query runs in a `READ ONLY` transaction after `SET LOCAL ROLE` to a NOLOGIN role (by
//! default `vogate_reader`) that has USAGE and SELECT on the published schemas only, and
//! `SET LOCAL statement_timeout`. When the HTTP client goes away the query is cancelled with
//! the protocol's cancel request; rows come from a portal in batches of [`BATCH_ROWS`].

use crate::schema::{tap_schema_rows, tap_schema_tables, RowKeys, OBSCORE_TABLE, ROW_KEY_COLUMNS};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::SinkExt;
use std::time::Duration;
use tokio_postgres::types::Type;
use tokio_postgres::NoTls;
use vo_adql::{ColumnInfo, SqlDialect, TableInfo};
use vo_common::{ErrorKind, Value, VoError};
use vo_obscore::{ObsCoreRow, OBSCORE_COLUMNS};

/// Rows fetched from the portal per round trip while streaming a result.
pub const BATCH_ROWS: i32 = 1000;

/// Quote an SQL identifier with double quotes (PostgreSQL keeps the case of quoted names).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The physical name of a published table: `"schema"."table"`.
fn physical(schema: Option<&str>, table: &str) -> String {
    match schema {
        Some(s) => format!("{}.{}", quote_ident(s), quote_ident(table)),
        None => quote_ident(table),
    }
}

/// The physical name of ivoa.ObsCore.
fn obscore() -> String {
    let (s, t) = OBSCORE_TABLE.split_once('.').unwrap_or(("ivoa", "ObsCore"));
    physical(Some(s), t)
}

/// pgSphere `spoint` of (ra, dec), SQL expressions in degrees.
fn spoint(ra: &str, dec: &str) -> String {
    format!("spoint(radians({ra}), radians({dec}))")
}

/// The PostgreSQL + pgSphere spelling of ADQL. Geometry (ADQL 2.1 §4.2): POINT is `spoint`,
/// CIRCLE `scircle`, POLYGON `spoly`, CONTAINS `@`, INTERSECTS `&&`, DISTANCE `<->`; pgSphere
/// works in radians, so every angle is converted with `radians()` once on the way in and
/// DISTANCE with `degrees()` once on the way out. The predicates give 1/0 (NULL for NULL
/// inputs), as on SQLite.
#[derive(Debug, Clone, Copy, Default)]
pub struct PgDialect;

impl SqlDialect for PgDialect {
    fn table_ref(&self, table: &TableInfo) -> String {
        physical(table.schema.as_deref(), &table.name)
    }

    fn column_ref(&self, _table: &TableInfo, column: &ColumnInfo) -> String {
        let col = quote_ident(vo_adql::unquoted(&column.name));
        if column.field.xtype.as_deref() == Some("timestamp") && column.field.datatype == "char" {
            // DALI timestamps are ISO 8601 text (as SQLite keeps them): a PostgreSQL
            // TIMESTAMP reads as YYYY-MM-DDThh:mm:ss[.fff] (no trailing zero digits).
            format!("regexp_replace(to_char({col}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), '\\.?0+$', '')")
        } else {
            col
        }
    }

    fn contains_point_circle(&self, ra: &str, dec: &str, ra0: &str, dec0: &str, r: &str) -> String {
        // The distance form is exact for any radius (pgSphere's scircle stops at 90 degrees);
        // the index is used through `cone_prefilter`.
        format!(
            "((({}) <-> ({})) <= radians({r}))::int",
            spoint(ra, dec),
            spoint(ra0, dec0)
        )
    }

    fn region_ref(&self, table: &TableInfo, column: &ColumnInfo) -> String {
        if is_obscore_region(table, column) {
            quote_ident("_spoly")
        } else {
            format!("CAST({} AS spoly)", self.column_ref(table, column))
        }
    }

    fn region_all_sky(&self, table: &TableInfo, column: &ColumnInfo) -> Option<String> {
        // ObsCore all-sky rows have s_region NULL and s_fov 360 (see the README).
        is_obscore_region(table, column)
            .then(|| "(\"_spoly\" IS NULL AND \"s_fov\" >= 360)".to_string())
    }

    fn number_literal(&self, text: &str, is_int: bool) -> String {
        // A decimal literal is NUMERIC in PostgreSQL; ADQL's are doubles (as on SQLite).
        if is_int {
            text.to_string()
        } else {
            format!("CAST({text} AS double precision)")
        }
    }

    fn cone_prefilter(
        &self,
        table: &TableInfo,
        ra: &ColumnInfo,
        dec: &ColumnInfo,
        ra0: f64,
        dec0: f64,
        r: f64,
    ) -> Option<String> {
        // `_spoint @ scircle` uses the GiST index; pgSphere's containment allows 1e-9 rad
        // of slack, so it keeps every row the exact distance test keeps.
        if !table.is_position(ra, dec) || !(0.0..90.0).contains(&r) {
            return None;
        }
        Some(format!(
            "(\"_spoint\" @ scircle({}, radians({r:?})))",
            spoint(&format!("{ra0:?}"), &format!("{dec0:?}"))
        ))
    }

    fn region_prefilter(
        &self,
        table: &TableInfo,
        column: &ColumnInfo,
        ra0: f64,
        dec0: f64,
        r: f64,
    ) -> Option<String> {
        // `_spoly && scircle` uses the GiST index on `_spoly` (pgSphere's overlap test allows
        // 1e-9 rad of slack, so it keeps every row the exact test keeps); all-sky rows
        // (`_spoly` NULL, s_fov 360) are kept through the B-tree index on s_fov.
        if !is_obscore_region(table, column) || !(0.0..90.0).contains(&r) {
            return None;
        }
        Some(format!(
            "(\"_spoly\" && scircle({}, radians({r:?})) OR \"s_fov\" >= 360)",
            spoint(&format!("{ra0:?}"), &format!("{dec0:?}"))
        ))
    }

    fn polygon_region(&self, vertices: &[(String, String)]) -> String {
        let parts: Vec<String> = vertices
            .iter()
            .map(|(ra, dec)| format!("'(' || ({ra}) || 'd,' || ({dec}) || 'd)'"))
            .collect();
        format!(
            "CAST('{{' || {} || '}}' AS spoly)",
            parts.join(" || ',' || ")
        )
    }

    fn polygon_literal(&self, stcs: &str) -> String {
        match stcs_to_spoly(stcs) {
            Some(text) => format!("CAST('{text}' AS spoly)"),
            None => format!("CAST('{}' AS spoly)", stcs.replace('\'', "''")),
        }
    }

    fn contains_point_region(&self, ra: &str, dec: &str, region: &str) -> String {
        format!("(({}) @ ({region}))::int", spoint(ra, dec))
    }

    fn intersects_region_circle(&self, region: &str, ra0: &str, dec0: &str, r: &str) -> String {
        format!(
            "(({region}) && scircle({}, radians({r})))::int",
            spoint(ra0, dec0)
        )
    }

    fn intersects_regions(&self, a: &str, b: &str) -> String {
        format!("(({a}) && ({b}))::int")
    }

    fn distance(&self, ra1: &str, dec1: &str, ra2: &str, dec2: &str) -> String {
        format!(
            "degrees(({}) <-> ({}))",
            spoint(ra1, dec1),
            spoint(ra2, dec2)
        )
    }

    fn limit(&self, n: u64) -> String {
        format!(" LIMIT {n}")
    }
}

fn is_obscore_region(table: &TableInfo, column: &ColumnInfo) -> bool {
    table.qualified_name() == OBSCORE_TABLE && column.name == "s_region"
}

/// pgSphere polygon text (`{(ra1d,dec1d),...}`, degrees) of an STC-S `POLYGON [frame] ra dec
/// ...` string, or `None` when it is not one.
pub fn stcs_to_spoly(stcs: &str) -> Option<String> {
    let mut words = stcs.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("POLYGON") {
        return None;
    }
    let numbers: Vec<f64> = words
        .skip_while(|w| w.parse::<f64>().is_err())
        .map(|w| w.parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()?;
    if numbers.len() < 6
        || !numbers.len().is_multiple_of(2)
        || numbers.iter().any(|v| !v.is_finite())
    {
        return None;
    }
    let parts: Vec<String> = numbers
        .chunks(2)
        .map(|c| format!("({:?}d,{:?}d)", c[0], c[1]))
        .collect();
    Some(format!("{{{}}}", parts.join(",")))
}

/// How to reach PostgreSQL and how to run queries there.
#[derive(Debug, Clone, PartialEq)]
pub struct PgOptions {
    /// The admin connection URL (`postgres://user@host:port/dbname`).
    pub url: String,
    /// The most pooled connections (default 16).
    pub pool_size: usize,
    /// How long connecting may take, and how long a request waits for a pooled connection
    /// (default 5 s).
    pub connect_timeout: Duration,
    /// `statement_timeout` of every TAP query (default 60 s); 0 means none.
    pub statement_timeout: Duration,
    /// The NOLOGIN role TAP queries run as (default `vogate_reader`).
    pub reader_role: String,
}

impl PgOptions {
    /// Options with the defaults above for `url`.
    pub fn new(url: &str) -> PgOptions {
        PgOptions {
            url: url.to_string(),
            pool_size: 16,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(60),
            reader_role: "vogate_reader".into(),
        }
    }
}

/// A pool of connections to one PostgreSQL database.
#[derive(Clone)]
pub struct PgBackend {
    pool: Pool,
    /// The options it was made with.
    pub options: PgOptions,
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend")
            .field("options", &redacted(&self.options.url))
            .finish()
    }
}

/// The URL without its password, for logs and messages.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn unavailable(e: impl std::fmt::Display) -> VoError {
    VoError::new(
        ErrorKind::Unavailable,
        format!("the database is unavailable: {e}; try again later"),
    )
}

/// The user-facing words of a database error: PostgreSQL's message (no SQL, no internal
/// position or detail), or that the connection was lost.
pub fn pg_message(e: &tokio_postgres::Error) -> String {
    tracing::warn!(error = ?e, "database error");
    match e.as_db_error() {
        Some(db) if db.code() == &tokio_postgres::error::SqlState::QUERY_CANCELED => {
            format!(
                "the query was cancelled ({}): it ran past the statement timeout",
                db.message()
            )
        }
        Some(db) => format!("the query failed in the database: {}", db.message()),
        None if e.is_closed() => "the database connection was lost".to_string(),
        None => format!("the database connection failed: {e}"),
    }
}

/// A query error, or 503 when the database cannot be reached.
pub fn pg_error(e: &tokio_postgres::Error) -> VoError {
    if e.as_db_error().is_some() {
        VoError::query(pg_message(e))
    } else {
        unavailable(pg_message(e))
    }
}

fn admin_error(what: &str, e: tokio_postgres::Error) -> VoError {
    match e.as_db_error() {
        Some(db) => VoError::internal(format!("{what}: {}", db.message())),
        None => unavailable(format!("{what}: {e}")),
    }
}

/// PostgreSQL type of a VOTable datatype.
fn pg_type(datatype: &str) -> &'static str {
    match datatype {
        "boolean" => "boolean",
        "short" => "smallint",
        "int" => "integer",
        "long" => "bigint",
        "float" => "real",
        "double" => "double precision",
        _ => "text",
    }
}

/// A fingerprint of the migrations' SQL (hex), e.g. to name a template database that is
/// rebuilt whenever they change.
pub fn migrations_fingerprint() -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (v, d, sql) in migrations() {
        (v, d, sql).hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

/// The migrations, in order: (version, description, SQL). Each runs once, in one
/// transaction, recorded in `vogate.migrations`; none drops data.
fn migrations() -> Vec<(i32, &'static str, String)> {
    let mut v1 = String::from(
        "CREATE EXTENSION IF NOT EXISTS pg_sphere;\n\
         CREATE SCHEMA IF NOT EXISTS \"ivoa\";\n\
         CREATE SCHEMA IF NOT EXISTS \"TAP_SCHEMA\";\n",
    );
    for (t, cols) in tap_schema_tables() {
        let defs: Vec<String> = cols
            .iter()
            .map(|(c, dt)| format!("{} {}", quote_ident(vo_adql::unquoted(c)), pg_type(dt)))
            .collect();
        v1.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {} ({});\n",
            physical(Some("TAP_SCHEMA"), t),
            defs.join(", ")
        ));
    }
    // ivoa.ObsCore from vogate's Felis file, then the internal pgSphere columns.
    for sql in vo_felis::ddl::create_statements(
        crate::schema::obscore_schema(),
        vo_felis::ddl::Dialect::Postgres,
        &[],
    ) {
        v1.push_str(&sql);
        v1.push_str(";\n");
    }
    v1.push_str(&format!(
        "ALTER TABLE {o} ADD COLUMN IF NOT EXISTS \"_spoint\" spoint, \
         ADD COLUMN IF NOT EXISTS \"_spoly\" spoly;\n\
         CREATE INDEX IF NOT EXISTS \"ObsCore_spoint\" ON {o} USING GIST (\"_spoint\");\n\
         CREATE INDEX IF NOT EXISTS \"ObsCore_spoly\" ON {o} USING GIST (\"_spoly\");\n",
        o = obscore()
    ));
    vec![(
        1,
        "TAP_SCHEMA 1.1 and ivoa.ObsCore with pgSphere columns",
        v1,
    )]
}

impl PgBackend {
    /// A pool for `options` (no connection is made until one is needed). Errors: a URL
    /// PostgreSQL's client cannot parse.
    pub fn new(options: PgOptions) -> Result<PgBackend, VoError> {
        let mut config: tokio_postgres::Config = options.url.parse().map_err(|e| {
            VoError::usage(format!(
                "--db {}: not a PostgreSQL URL: {e}",
                redacted(&options.url)
            ))
        })?;
        config.connect_timeout(options.connect_timeout);
        config.application_name("vogate");
        // Idempotent DDL ("... already exists, skipping") is not worth a log line.
        config.options("-c client_min_messages=warning");
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| VoError::internal(format!("cannot make the connection pool: {e}")))?;
        Ok(PgBackend { pool, options })
    }

    /// A pooled connection; 503 (Unavailable) when the database cannot be reached.
    pub async fn client(&self) -> Result<deadpool_postgres::Object, VoError> {
        self.pool.get().await.map_err(|e| {
            tracing::warn!(error = %e, "no database connection");
            unavailable(match e {
                deadpool_postgres::PoolError::Backend(e) => pg_message(&e),
                other => other.to_string(),
            })
        })
    }

    /// Apply the migrations this database lacks, each once (an advisory lock serialises
    /// concurrent starts), then make the reader role and its grants. Returns the versions
    /// applied now. A database migrated by a newer vogate is used as it is, with a warning.
    pub async fn migrate(&self) -> Result<Vec<i32>, VoError> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| admin_error("cannot start the migration", e))?;
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7415010);\n\
             CREATE SCHEMA IF NOT EXISTS vogate;\n\
             CREATE TABLE IF NOT EXISTS vogate.migrations (version integer PRIMARY KEY, \
             description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());",
        )
        .await
        .map_err(|e| admin_error("cannot prepare the migrations table", e))?;
        let current: i32 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM vogate.migrations",
                &[],
            )
            .await
            .map_err(|e| admin_error("cannot read the schema version", e))?
            .get(0);
        let all = migrations();
        let newest = all.last().map_or(0, |m| m.0);
        if current > newest {
            tracing::warn!(
                database = current,
                binary = newest,
                "the database was migrated by a newer vogate; using it as it is"
            );
        }
        let mut applied = Vec::new();
        for (version, description, sql) in all {
            if version <= current {
                continue;
            }
            tx.batch_execute(&sql).await.map_err(|e| {
                let hint = if e
                    .as_db_error()
                    .is_some_and(|d| d.message().contains("pg_sphere"))
                {
                    " (install pgSphere: scripts/pgsphere-setup.sh)"
                } else {
                    ""
                };
                admin_error(
                    &format!("migration {version} ({description}) failed{hint}"),
                    e,
                )
            })?;
            tx.execute(
                "INSERT INTO vogate.migrations (version, description) VALUES ($1, $2)",
                &[&version, &description],
            )
            .await
            .map_err(|e| admin_error("cannot record the migration", e))?;
            applied.push(version);
        }
        let role = quote_ident(&self.options.reader_role);
        let lit = self.options.reader_role.replace('\'', "''");
        tx.batch_execute(&format!(
            "DO $$ BEGIN\n\
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{lit}') THEN\n\
                 CREATE ROLE {role} NOLOGIN;\n\
               END IF;\n\
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;\n\
             END $$;\n\
             DO $$ BEGIN\n\
               IF NOT pg_has_role(current_user, '{lit}', 'MEMBER') THEN\n\
                 EXECUTE format('GRANT %I TO %I', '{lit}', current_user);\n\
               END IF;\n\
             END $$;\n\
             REVOKE ALL ON SCHEMA vogate FROM PUBLIC;\n\
             GRANT USAGE ON SCHEMA \"ivoa\", \"TAP_SCHEMA\" TO {role};\n\
             GRANT SELECT ON ALL TABLES IN SCHEMA \"ivoa\", \"TAP_SCHEMA\" TO {role};"
        ))
        .await
        .map_err(|e| admin_error("cannot set up the reader role", e))?;
        tx.commit()
            .await
            .map_err(|e| admin_error("cannot commit the migration", e))?;
        Ok(applied)
    }

    /// Replace the TAP_SCHEMA rows that describe vogate's own tables by the current ones, in
    /// one transaction; rows describing other tables are kept.
    pub async fn sync_tap_schema(&self) -> Result<(), VoError> {
        let rows = tap_schema_rows();
        let keys = RowKeys::of(&rows);
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| admin_error("cannot update TAP_SCHEMA", e))?;
        replace_tap_rows(&tx, &rows, &keys).await?;
        tx.commit()
            .await
            .map_err(|e| admin_error("cannot commit TAP_SCHEMA", e))
    }

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
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| admin_error("cannot start the ingest", e))?;
        tx.execute(&format!("DELETE FROM {}", obscore()), &[])
            .await
            .map_err(|e| admin_error("cannot clear ivoa.ObsCore", e))?;
        let names: Vec<String> = OBSCORE_COLUMNS
            .iter()
            .map(|c| quote_ident(c.name))
            .chain(["\"_spoint\"".to_string(), "\"_spoly\"".to_string()])
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
                        "SELECT {} FROM {}",
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

    /// Text columns `columns` of the ObsCore row whose `key` column equals `value`, or `None`.
    pub async fn obscore_lookup(
        &self,
        key: &str,
        value: &str,
        columns: &[&str],
    ) -> Result<Option<Vec<Option<String>>>, VoError> {
        let client = self.client().await?;
        let cols: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE {} = $1",
            cols.join(", "),
            obscore(),
            quote_ident(key)
        );
        let row = client
            .query_opt(&sql, &[&value])
            .await
            .map_err(|e| pg_error(&e))?;
        Ok(row.map(|r| {
            (0..columns.len())
                .map(|i| r.get::<_, Option<String>>(i))
                .collect()
        }))
    }

    /// The number of ObsCore rows.
    pub async fn obscore_count(&self) -> Result<i64, VoError> {
        let client = self.client().await?;
        let row = client
            .query_one(&format!("SELECT COUNT(*) FROM {}", obscore()), &[])
            .await
            .map_err(|e| pg_error(&e))?;
        Ok(row.get(0))
    }

    /// Run one translated query for a TAP request: a READ ONLY transaction as the reader role
    /// with the statement timeout, the statement bound to a portal, and rows fetched
    /// [`BATCH_ROWS`] at a time and handed to `on_batch` (which returns false to stop). The
    /// query is cancelled on the server when `cancelled` completes first.
    pub async fn run_query<F>(
        &self,
        sql: &str,
        cancelled: impl std::future::Future<Output = ()>,
        on_batch: &mut F,
    ) -> Result<(), QueryFailure>
    where
        F: AsyncBatch,
    {
        let mut client = self.client().await.map_err(QueryFailure::Before)?;
        let cancel = client.cancel_token();
        let role = quote_ident(&self.options.reader_role);
        let timeout_ms = self.options.statement_timeout.as_millis();
        let mut started = false;
        let work = async {
            let tx = client
                .build_transaction()
                .read_only(true)
                .start()
                .await
                .map_err(|e| (false, e))?;
            tx.batch_execute(&format!(
                "SET LOCAL ROLE {role}; SET LOCAL statement_timeout = {timeout_ms}"
            ))
            .await
            .map_err(|e| (false, e))?;
            let stmt = tx.prepare(sql).await.map_err(|e| (false, e))?;
            let portal = tx.bind(&stmt, &[]).await.map_err(|e| (false, e))?;
            loop {
                let rows = tx
                    .query_portal(&portal, BATCH_ROWS)
                    .await
                    .map_err(|e| (started, e))?;
                let done = rows.len() < BATCH_ROWS as usize;
                let first = !started;
                started = true;
                if !on_batch.batch(rows, first, done).await || done {
                    break;
                }
            }
            Ok::<(), (bool, tokio_postgres::Error)>(())
        };
        let mut work = std::pin::pin!(work);
        let mut cancelled = std::pin::pin!(cancelled);
        let result = tokio::select! {
            r = &mut work => r,
            () = &mut cancelled => {
                tracing::info!("client gone: cancelling the query");
                if let Err(e) = cancel.cancel_query(NoTls).await {
                    tracing::warn!(error = %e, "cannot cancel the query");
                }
                // Let the work finish (it fails with 'canceling statement'), so the
                // connection goes back to the pool in a clean state.
                let _ = tokio::time::timeout(Duration::from_secs(5), &mut work).await;
                return Err(QueryFailure::Cancelled);
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err((false, e)) => Err(QueryFailure::Before(pg_error(&e))),
            Err((true, e)) => Err(QueryFailure::During(pg_message(&e))),
        }
    }
}

/// Delete the TAP_SCHEMA rows selected by `keys`, then insert `rows` (values in vogate's
/// TAP_SCHEMA column order), within `tx`.
async fn replace_tap_rows(
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
async fn read_tap_rows(
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

/// Why a query did not complete.
#[derive(Debug)]
pub enum QueryFailure {
    /// Before any row: answer with this error document.
    Before(VoError),
    /// While rows were streaming: end the table with QUERY_STATUS=ERROR and this message.
    During(String),
    /// The client went away and the query was cancelled.
    Cancelled,
}

/// The consumer of result batches of [`PgBackend::run_query`].
pub trait AsyncBatch {
    /// Take one batch (`first`: the first; `last`: no more follow). Returns false to stop.
    fn batch(
        &mut self,
        rows: Vec<tokio_postgres::Row>,
        first: bool,
        last: bool,
    ) -> impl std::future::Future<Output = bool>;
}

/// Column `i` of `row` as a VOTable value, by its PostgreSQL type.
pub fn cell(row: &tokio_postgres::Row, i: usize) -> Result<Value, String> {
    let ty = row.columns()[i].type_();
    let err = |e: tokio_postgres::Error| format!("cannot read column {i}: {e}");
    Ok(match *ty {
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .map_err(err)?
            .map_or(Value::Null, |b| Value::Int(b as i64)),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .map_err(err)?
            .map_or(Value::Null, |v| Value::Int(v.into())),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .map_err(err)?
            .map_or(Value::Null, |v| Value::Int(v.into())),
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)
            .map_err(err)?
            .map_or(Value::Null, Value::Int),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)
            .map_err(err)?
            .map_or(Value::Null, |v| Value::Double(v.into())),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)
            .map_err(err)?
            .map_or(Value::Null, Value::Double),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => row
            .try_get::<_, Option<String>>(i)
            .map_err(err)?
            .map_or(Value::Null, Value::Text),
        ref other => {
            return Err(format!(
                "column {} has the database type {other}, which vogate cannot return",
                row.columns()[i].name()
            ))
        }
    })
}

/// Text escaped for COPY's text format.
fn copy_escape(s: &str, out: &mut String) {
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

/// One ObsCore row as a line of COPY's text format (tab-separated, `\N` for NULL).
fn copy_line(row: &ObsCoreRow, out: &mut String) {
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
        let text = match v {
            Value::Null => None,
            Value::Int(i) => Some(i.to_string()),
            Value::Double(d) if d.is_nan() => Some("NaN".into()),
            Value::Double(d) if d.is_infinite() => {
                Some(if d > 0.0 { "Infinity" } else { "-Infinity" }.into())
            }
            Value::Double(d) => Some(format!("{d:?}")),
            Value::Text(s) => Some(s),
        };
        field(out, text);
    }
    let mut point = String::new();
    let _ = write!(point, "({:?}d,{:?}d)", row.s_ra, row.s_dec);
    field(out, Some(point));
    field(out, row.s_region.as_deref().and_then(stcs_to_spoly));
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stcs_polygons_become_pgsphere_text() {
        assert_eq!(
            stcs_to_spoly("POLYGON ICRS 359.5 -1 0.5 -1 0.5 1").as_deref(),
            Some("{(359.5d,-1.0d),(0.5d,-1.0d),(0.5d,1.0d)}")
        );
        assert_eq!(
            stcs_to_spoly("POLYGON 1 2 3 4 5 6").as_deref(),
            Some("{(1.0d,2.0d),(3.0d,4.0d),(5.0d,6.0d)}")
        );
        assert_eq!(stcs_to_spoly("CIRCLE ICRS 1 2 3"), None);
        assert_eq!(stcs_to_spoly("POLYGON ICRS 1 2 3 4"), None);
        assert_eq!(stcs_to_spoly("POLYGON ICRS 1 2 3 4 5 x"), None);
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redacted("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redacted("postgres://u@h/db"), "postgres://u@h/db");
    }
}

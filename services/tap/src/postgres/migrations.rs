//! Versioned migrations (recorded in `vogate.migrations`, each once, under an advisory
//! lock, none dropping data), the reader role and vogate's own TAP_SCHEMA rows.

use super::*;

/// PostgreSQL type of a VOTable datatype.
pub(super) fn pg_type(datatype: &str) -> &'static str {
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
pub(super) fn migrations() -> Vec<(i32, &'static str, String)> {
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
    vec![
        (
            1,
            "TAP_SCHEMA 1.1 and ivoa.ObsCore with pgSphere columns",
            v1,
        ),
        (2, "UWS jobs", super::jobs::MIGRATION.to_string()),
        (
            3,
            "UWS job changes announced with NOTIFY",
            super::jobs::NOTIFY_MIGRATION.to_string(),
        ),
        (
            4,
            "the live ingest's file states",
            "CREATE TABLE IF NOT EXISTS vogate.obscore_files (path text PRIMARY KEY, \
             size bigint NOT NULL, mtime_ns bigint NOT NULL, inode bigint NOT NULL, \
             config text NOT NULL, did text, error text);"
                .to_string(),
        ),
        (
            5,
            "ivoa.ObsCore's product file path (_path), apart from obs_id",
            format!(
                "ALTER TABLE {o} ADD COLUMN IF NOT EXISTS \"_path\" text;\n\
                 UPDATE {o} SET \"_path\" = obs_id WHERE \"_path\" IS NULL;\n\
                 CREATE INDEX IF NOT EXISTS \"ObsCore_path\" ON {o} (\"_path\");\n",
                o = obscore()
            ),
        ),
        (
            6,
            "the live ingest's stored headers",
            "ALTER TABLE vogate.obscore_files ADD COLUMN IF NOT EXISTS headers text;".to_string(),
        ),
    ]
}

impl PgBackend {
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
}

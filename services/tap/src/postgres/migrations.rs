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
        (
            7,
            "ADQL functions (BOX, AREA, CENTROID, user-defined functions) in schema vogate_adql",
            GEOMETRY_FUNCTIONS.to_string(),
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

/// The SQL functions behind ADQL's BOX, AREA, CENTROID and ivo_hasword on PostgreSQL (ADQL 2.1 §4.2), in
/// schema `vogate_adql`, which every role may use. They compute what
/// `vo_common::geometry` computes on SQLite, in the same order of operations:
///
/// - `sbox(ra, dec, width, height)`: pgSphere's sbox of longitudes `ra ± width/2` and
///   latitudes `dec ± height/2` clamped to [-90, 90] (a width of 360 or more is a ring; a
///   width of 0 becomes 1e-9 degrees, as pgSphere reads equal longitudes as a ring);
///   negative sizes and centres that are not positions are errors;
/// - `box_area`, `box_centroid` (`{ra, dec}`): the area in square degrees and the
///   area-weighted centroid of such a box;
/// - `box_relation(contains, box, box)`: CONTAINS or INTERSECTS of two boxes by their
///   ranges (pgSphere 1.2's `sbox && sbox` misses boxes that overlap without a corner of one
///   inside the other, and is not symmetric);
/// - `box_distance(box, ra, dec)`: degrees from a position to the nearest point of a box,
///   and `box_circle('meets'|'box_in_circle'|'circle_in_box', box, circle)` from it
///   (pgSphere 1.2's `sbox && scircle` misses circles that meet a box by degrees);
/// - `to_timestamp(text)`: CAST to TIMESTAMP, ISO 8601 text to DALI's timestamp text
///   (as vo-tap's `dali_timestamp` on SQLite);
/// - `epoch_prop_pos(ra, dec, parallax, pmra, pmdec, rv, ref_epoch, out_epoch)`
///   (`{ra, dec}`): ivo_epoch_prop_pos, as vo-tap's `epoch_prop_pos` on SQLite;
/// - `rand(seed, call)`: RAND(seed), the next value of the call's MINSTD sequence, its state
///   in a setting local to the query's transaction;
/// - `hasword(haystack, needle)`: ivo_hasword, 1 when every word of needle (a run of
///   a-z and 0-9, ASCII letters compared case-insensitively) is a word of haystack;
/// - `stcs_numbers(text)`: the numbers of an STC-S `POLYGON [frame] ra dec ...`;
/// - `polygon_area(stcs)`: square degrees, the fan of Van Oosterom–Strackee triangles
///   (exact for small polygons, where pgSphere's area() rounds to 0);
/// - `polygon_centroid(stcs)` (`{ra, dec}`): the direction of ½ Σ θᵢ n̂ᵢ over the edges.
const GEOMETRY_FUNCTIONS: &str = r#"
CREATE SCHEMA IF NOT EXISTS vogate_adql;
GRANT USAGE ON SCHEMA vogate_adql TO PUBLIC;

CREATE OR REPLACE FUNCTION vogate_adql.box_check(c_ra float8, c_dec float8, width float8, height float8)
RETURNS void LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
BEGIN
  IF c_ra = 'Infinity' OR c_ra = '-Infinity' OR c_ra = 'NaN' OR NOT (c_dec >= -90 AND c_dec <= 90) THEN
    RAISE EXCEPTION 'BOX centre (%, %) is not a position: RA must be finite and Dec in [-90, 90] degrees', c_ra, c_dec;
  END IF;
  IF NOT (width >= 0 AND height >= 0 AND width < 'Infinity' AND height < 'Infinity') THEN
    RAISE EXCEPTION 'BOX width % and height % must be finite and not negative (degrees)', width, height;
  END IF;
END $f$;

CREATE OR REPLACE FUNCTION vogate_adql.sbox(c_ra float8, c_dec float8, width float8, height float8)
RETURNS sbox LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
DECLARE w float8;
BEGIN
  PERFORM vogate_adql.box_check(c_ra, c_dec, width, height);
  w := LEAST(GREATEST(width, 1e-9), 360);
  RETURN sbox(spoint(radians(c_ra - w / 2), radians(GREATEST(c_dec - height / 2, -90))),
              spoint(radians(c_ra + w / 2), radians(LEAST(c_dec + height / 2, 90))));
END $f$;

CREATE OR REPLACE FUNCTION vogate_adql.box_area(c_ra float8, c_dec float8, width float8, height float8)
RETURNS float8 LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
DECLARE w float8; lo float8; hi float8;
BEGIN
  PERFORM vogate_adql.box_check(c_ra, c_dec, width, height);
  w := LEAST(width, 360);
  lo := GREATEST(c_dec - height / 2, -90);
  hi := LEAST(c_dec + height / 2, 90);
  RETURN radians(w) * (sin(radians(hi)) - sin(radians(lo))) * ((180 / pi()) * (180 / pi()));
END $f$;

CREATE OR REPLACE FUNCTION vogate_adql.box_centroid(c_ra float8, c_dec float8, width float8, height float8)
RETURNS float8[] LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
DECLARE w float8; f1 float8; f2 float8; dl float8; mxy float8; mz float8; lon float8;
BEGIN
  PERFORM vogate_adql.box_check(c_ra, c_dec, width, height);
  w := LEAST(width, 360);
  f1 := radians(GREATEST(c_dec - height / 2, -90));
  f2 := radians(LEAST(c_dec + height / 2, 90));
  dl := radians(w);
  mxy := 2 * sin(dl / 2) * ((f2 / 2 + sin(2 * f2) / 4) - (f1 / 2 + sin(2 * f1) / 4));
  mz := dl * (sin(f2) * sin(f2) - sin(f1) * sin(f1)) / 2;
  IF abs(mxy) < 1e-15 AND abs(mz) < 1e-15 THEN
    RETURN ARRAY[NULL, NULL]::float8[];
  END IF;
  lon := (c_ra - w / 2) + w / 2;
  lon := lon - 360 * floor(lon / 360);
  RETURN ARRAY[lon, degrees(atan2(mz, mxy))];
END $f$;

CREATE OR REPLACE FUNCTION vogate_adql.box_relation(contains boolean,
  ra1 float8, dec1 float8, w1 float8, h1 float8, ra2 float8, dec2 float8, w2 float8, h2 float8)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
DECLARE
  wa float8 := LEAST(w1, 360); wb float8 := LEAST(w2, 360);
  la float8; lb float8;
  sa float8 := GREATEST(dec1 - h1 / 2, -90); na float8 := LEAST(dec1 + h1 / 2, 90);
  sb float8 := GREATEST(dec2 - h2 / 2, -90); nb float8 := LEAST(dec2 + h2 / 2, 90);
  d float8; e float8;
BEGIN
  PERFORM vogate_adql.box_check(ra1, dec1, w1, h1);
  PERFORM vogate_adql.box_check(ra2, dec2, w2, h2);
  la := (ra1 - wa / 2) - 360 * floor((ra1 - wa / 2) / 360);
  IF la >= 360 THEN la := 0; END IF;
  lb := (ra2 - wb / 2) - 360 * floor((ra2 - wb / 2) / 360);
  IF lb >= 360 THEN lb := 0; END IF;
  d := (la - lb) - 360 * floor((la - lb) / 360);
  e := (lb - la) - 360 * floor((lb - la) / 360);
  IF contains THEN
    RETURN sb <= sa AND na <= nb AND (wb >= 360 OR (wa < 360 AND d + wa <= wb));
  END IF;
  RETURN sa <= nb AND sb <= na
    AND (d <= wb OR e <= wa OR wa >= 360 OR wb >= 360
         OR (na >= 90 AND nb >= 90) OR (sa <= -90 AND sb <= -90));
END $f$;

CREATE OR REPLACE FUNCTION vogate_adql.arc_distance(px float8, py float8, pz float8,
  ax float8, ay float8, az float8, bx float8, by_ float8, bz float8)
RETURNS float8 LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
DECLARE
  nx float8 := ay * bz - az * by_; ny float8 := az * bx - ax * bz; nz float8 := ax * by_ - ay * bx;
  nn float8 := sqrt(nx * nx + ny * ny + nz * nz);
  pn float8; qx float8; qy float8; qz float8; qn float8;
  ab float8; aq float8; qb float8; pa float8; pb float8;
BEGIN
  -- atan2(|u × v|, u · v), the angle between two unit vectors, written out.
  pa := atan2(sqrt((py * az - pz * ay) ^ 2 + (pz * ax - px * az) ^ 2 + (px * ay - py * ax) ^ 2), px * ax + py * ay + pz * az);
  pb := atan2(sqrt((py * bz - pz * by_) ^ 2 + (pz * bx - px * bz) ^ 2 + (px * by_ - py * bx) ^ 2), px * bx + py * by_ + pz * bz);
  IF nn > 1e-300 THEN
    nx := nx / nn; ny := ny / nn; nz := nz / nn;
    pn := px * nx + py * ny + pz * nz;
    qx := px - pn * nx; qy := py - pn * ny; qz := pz - pn * nz;
    qn := sqrt(qx * qx + qy * qy + qz * qz);
    IF qn > 1e-300 THEN
      qx := qx / qn; qy := qy / qn; qz := qz / qn;
      ab := atan2(sqrt((ay * bz - az * by_) ^ 2 + (az * bx - ax * bz) ^ 2 + (ax * by_ - ay * bx) ^ 2), ax * bx + ay * by_ + az * bz);
      aq := atan2(sqrt((ay * qz - az * qy) ^ 2 + (az * qx - ax * qz) ^ 2 + (ax * qy - ay * qx) ^ 2), ax * qx + ay * qy + az * qz);
      qb := atan2(sqrt((qy * bz - qz * by_) ^ 2 + (qz * bx - qx * bz) ^ 2 + (qx * by_ - qy * bx) ^ 2), qx * bx + qy * by_ + qz * bz);
      IF abs(aq + qb - ab) < 1e-12 THEN
        RETURN asin(LEAST(abs(pn), 1));
      END IF;
    END IF;
  END IF;
  RETURN LEAST(pa, pb);
END $f$;

CREATE OR REPLACE FUNCTION vogate_adql.box_distance(c_ra float8, c_dec float8, width float8, height float8,
  p_ra float8, p_dec float8)
RETURNS float8 LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
DECLARE
  w float8 := LEAST(width, 360);
  lo float8 := GREATEST(c_dec - height / 2, -90);
  hi float8 := LEAST(c_dec + height / 2, 90);
  west float8 := (c_ra - w / 2) - 360 * floor((c_ra - w / 2) / 360);
  px float8 := cos(radians(p_dec)) * cos(radians(p_ra));
  py float8 := cos(radians(p_dec)) * sin(radians(p_ra));
  pz float8 := sin(radians(p_dec));
  best float8 := 'Infinity';
  lon float8; lats float8[]; k int;
BEGIN
  PERFORM vogate_adql.box_check(c_ra, c_dec, width, height);
  IF w >= 360 OR abs(p_dec) >= 90 OR (p_ra - west) - 360 * floor((p_ra - west) / 360) <= w THEN
    RETURN GREATEST(lo - p_dec, p_dec - hi, 0);
  END IF;
  IF hi - lo >= 179 THEN
    lats := ARRAY[lo, (lo + hi) / 2, hi];
  ELSE
    lats := ARRAY[lo, hi];
  END IF;
  FOREACH lon IN ARRAY ARRAY[west, west + w] LOOP
    FOR k IN 1 .. array_length(lats, 1) - 1 LOOP
      best := LEAST(best, vogate_adql.arc_distance(px, py, pz,
        cos(radians(lats[k])) * cos(radians(lon)), cos(radians(lats[k])) * sin(radians(lon)), sin(radians(lats[k])),
        cos(radians(lats[k + 1])) * cos(radians(lon)), cos(radians(lats[k + 1])) * sin(radians(lon)), sin(radians(lats[k + 1]))));
    END LOOP;
  END LOOP;
  RETURN degrees(best);
END $f$;

CREATE OR REPLACE FUNCTION vogate_adql.box_circle(relation text, c_ra float8, c_dec float8,
  width float8, height float8, ra float8, dec_ float8, r float8)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
DECLARE
  w float8 := LEAST(width, 360);
  lo float8 := GREATEST(c_dec - height / 2, -90);
  hi float8 := LEAST(c_dec + height / 2, 90);
  west float8 := (c_ra - w / 2) - 360 * floor((c_ra - w / 2) / 360);
  lon float8;
BEGIN
  IF NOT (r >= 0 AND r <= 180) THEN
    RAISE EXCEPTION 'CIRCLE radius % must be in [0, 180] degrees', r;
  END IF;
  IF relation = 'meets' THEN
    RETURN vogate_adql.box_distance(c_ra, c_dec, width, height, ra, dec_) <= r;
  ELSIF relation = 'box_in_circle' THEN
    RETURN r >= 180 OR 180 - vogate_adql.box_distance(c_ra, c_dec, width, height, ra + 180, -dec_) <= r;
  END IF;
  -- The circle in the box: its centre in, within the latitudes, clear of the meridians.
  IF vogate_adql.box_distance(c_ra, c_dec, width, height, ra, dec_) > 0 THEN
    RETURN false;
  END IF;
  IF NOT ((lo <= -90 OR dec_ - r >= lo) AND (hi >= 90 OR dec_ + r <= hi)) THEN
    RETURN false;
  END IF;
  IF w >= 360 THEN
    RETURN true;
  END IF;
  IF r >= 90 THEN
    RETURN false;
  END IF;
  FOREACH lon IN ARRAY ARRAY[west, west + w] LOOP
    IF vogate_adql.box_distance(lon, (lo + hi) / 2, 0, hi - lo, ra, dec_) < r THEN
      RETURN false;
    END IF;
  END LOOP;
  RETURN true;
END $f$;

CREATE OR REPLACE FUNCTION vogate_adql.rand(seed bigint, site bigint)
RETURNS float8 LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $f$
DECLARE
  key text := 'vogate_adql.rand_' || site;
  v text := current_setting(key, true);
  x bigint;
BEGIN
  IF v IS NULL OR v = '' THEN
    x := seed % 2147483646 + 1;
  ELSE
    x := v::bigint;
  END IF;
  x := x * 48271 % 2147483647;
  PERFORM set_config(key, x::text, true);
  RETURN x::float8 / 2147483647;
END $f$;

CREATE OR REPLACE FUNCTION vogate_adql.to_timestamp(t text)
RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
DECLARE
  s text := regexp_replace(btrim(t, ' '), 'Z$', '');
BEGIN
  IF s !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?)?$'
     OR substr(s, 6, 2)::int NOT BETWEEN 1 AND 12 THEN
    RAISE EXCEPTION 'invalid input syntax for type timestamp: "%"', t;
  END IF;
  IF substr(s, 9, 2)::int < 1 OR substr(s, 9, 2)::int > extract(day from
       (date_trunc('month', make_date(substr(s, 1, 4)::int, substr(s, 6, 2)::int, 1))
        + interval '1 month - 1 day')) THEN
    RAISE EXCEPTION 'date/time field value out of range: "%"', t;
  END IF;
  RETURN regexp_replace(to_char(CAST(s AS timestamp), 'YYYY-MM-DD"T"HH24:MI:SS.US'), '\.?0+$', '');
END $f$;

CREATE OR REPLACE FUNCTION vogate_adql.epoch_prop_pos(c_ra float8, c_dec float8, plx float8,
  pmra float8, pmdec float8, rv float8, t0 float8, t1 float8)
RETURNS float8[] LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
DECLARE
  mas float8 := pi() / 180 / 3600000;
  sa float8 := sin(radians(c_ra)); ca float8 := cos(radians(c_ra));
  sd float8 := sin(radians(c_dec)); cd float8 := cos(radians(c_dec));
  tau float8 := t1 - t0;
  mua float8 := pmra * mas; mud float8 := pmdec * mas;
  zeta float8 := rv * plx / 4.740470446 * mas;
  f float8; ux float8; uy float8; uz float8; lon float8;
BEGIN
  IF NOT (c_dec >= -90 AND c_dec <= 90) THEN
    RAISE EXCEPTION 'ivo_epoch_prop_pos: (%, %) is not a position, or a value is not finite', c_ra, c_dec;
  END IF;
  f := 1 / sqrt(1 + 2 * zeta * tau + (mua * mua + mud * mud + zeta * zeta) * tau * tau);
  ux := (cd * ca * (1 + zeta * tau) + (-sa * mua + -sd * ca * mud) * tau) * f;
  uy := (cd * sa * (1 + zeta * tau) + (ca * mua + -sd * sa * mud) * tau) * f;
  uz := (sd * (1 + zeta * tau) + (cd * mud) * tau) * f;
  lon := degrees(atan2(uy, ux));
  lon := lon - 360 * floor(lon / 360);
  IF lon >= 360 THEN lon := 0; END IF;
  RETURN ARRAY[lon, degrees(atan2(uz, sqrt(ux * ux + uy * uy)))];
END $f$;

CREATE OR REPLACE FUNCTION vogate_adql.words(t text)
RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $f$
  SELECT ARRAY(SELECT w FROM unnest(regexp_split_to_array(
    translate(t, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '[^a-z0-9]+')) AS w
    WHERE w <> '')
$f$;

CREATE OR REPLACE FUNCTION vogate_adql.hasword(haystack text, needle text)
RETURNS integer LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $f$
  SELECT (vogate_adql.words(needle) <@ vogate_adql.words(haystack))::int
$f$;

CREATE OR REPLACE FUNCTION vogate_adql.stcs_numbers(stcs text)
RETURNS float8[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $f$
  SELECT regexp_split_to_array(
    btrim(regexp_replace(stcs, '^\s*POLYGON(\s+[A-Za-z][A-Za-z0-9_]*)?', '', 'i')), '\s+')::float8[]
$f$;

CREATE OR REPLACE FUNCTION vogate_adql.polygon_area(stcs text)
RETURNS float8 LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
DECLARE
  v float8[] := vogate_adql.stcs_numbers(stcs);
  n int := array_length(v, 1) / 2;
  ax float8; ay float8; az float8;
  bx float8; by_ float8; bz float8;
  cx float8; cy float8; cz float8;
  ux float8; uy float8; uz float8; wx float8; wy float8; wz float8;
  num float8; den float8; s float8 := 0;
BEGIN
  IF n < 3 THEN
    RAISE EXCEPTION 'invalid region: a polygon needs at least 3 vertices';
  END IF;
  ax := cos(radians(v[2])) * cos(radians(v[1]));
  ay := cos(radians(v[2])) * sin(radians(v[1]));
  az := sin(radians(v[2]));
  FOR i IN 2 .. n - 1 LOOP
    bx := cos(radians(v[2*i])) * cos(radians(v[2*i-1]));
    by_ := cos(radians(v[2*i])) * sin(radians(v[2*i-1]));
    bz := sin(radians(v[2*i]));
    cx := cos(radians(v[2*i+2])) * cos(radians(v[2*i+1]));
    cy := cos(radians(v[2*i+2])) * sin(radians(v[2*i+1]));
    cz := sin(radians(v[2*i+2]));
    ux := bx - ax; uy := by_ - ay; uz := bz - az;
    wx := cx - ax; wy := cy - ay; wz := cz - az;
    num := ax * (uy * wz - uz * wy) + ay * (uz * wx - ux * wz) + az * (ux * wy - uy * wx);
    den := 1 + (ax * bx + ay * by_ + az * bz) + (bx * cx + by_ * cy + bz * cz) + (cx * ax + cy * ay + cz * az);
    s := s + 2 * atan2(num, den);
  END LOOP;
  RETURN abs(s) * ((180 / pi()) * (180 / pi()));
END $f$;

CREATE OR REPLACE FUNCTION vogate_adql.polygon_centroid(stcs text)
RETURNS float8[] LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
DECLARE
  v float8[] := vogate_adql.stcs_numbers(stcs);
  n int := array_length(v, 1) / 2;
  px float8; py float8; pz float8; qx float8; qy float8; qz float8;
  nx float8; ny float8; nz float8; nn float8; t float8;
  mx float8 := 0; my float8 := 0; mz float8 := 0;
  sx float8 := 0; sy float8 := 0; sz float8 := 0;
  j int; lon float8;
BEGIN
  IF n < 3 THEN
    RAISE EXCEPTION 'invalid region: a polygon needs at least 3 vertices';
  END IF;
  FOR i IN 1 .. n LOOP
    j := i % n + 1;
    px := cos(radians(v[2*i])) * cos(radians(v[2*i-1]));
    py := cos(radians(v[2*i])) * sin(radians(v[2*i-1]));
    pz := sin(radians(v[2*i]));
    qx := cos(radians(v[2*j])) * cos(radians(v[2*j-1]));
    qy := cos(radians(v[2*j])) * sin(radians(v[2*j-1]));
    qz := sin(radians(v[2*j]));
    nx := py * qz - pz * qy; ny := pz * qx - px * qz; nz := px * qy - py * qx;
    nn := sqrt(nx * nx + ny * ny + nz * nz);
    IF nn > 1e-300 THEN
      t := atan2(nn, px * qx + py * qy + pz * qz) / 2;
      mx := mx + t * (nx / nn); my := my + t * (ny / nn); mz := mz + t * (nz / nn);
    END IF;
    sx := sx + px; sy := sy + py; sz := sz + pz;
  END LOOP;
  IF mx * sx + my * sy + mz * sz < 0 THEN
    mx := -mx; my := -my; mz := -mz;
  END IF;
  IF sqrt(mx * mx + my * my + mz * mz) <= 1e-300 THEN
    RETURN ARRAY[NULL, NULL]::float8[];
  END IF;
  lon := degrees(atan2(my, mx));
  lon := lon - 360 * floor(lon / 360);
  RETURN ARRAY[lon, degrees(atan2(mz, sqrt(mx * mx + my * my)))];
END $f$;
"#;

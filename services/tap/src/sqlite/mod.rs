//! The SQLite backend: the renderer's SQLite dialect, the geometry functions, and query
//! connections.
//!
//! Geometry runs as Rust scalar functions registered on every connection, exact on the
//! sphere (angles in degrees):
//! - `vogate_contains_pc(ra, dec, ra0, dec0, r)`: 1 when the point lies within `r` degrees
//!   of (ra0, dec0) (boundary included), 0 otherwise, NULL when any argument is NULL;
//! - `vogate_distance(ra1, dec1, ra2, dec2)`: the great-circle distance in degrees (Vincenty);
//! - `vogate_arith(op, a, b)`: `a + b`, `a - b` or `a * b` as PostgreSQL computes them
//!   (integer and float overflow are errors).
//! - `vogate_div(a, b)`: `a / b` as PostgreSQL computes it (integers truncate toward zero;
//!   a zero divisor is an error, not NULL).
//! - `vogate_cast(value, type, n)`: ADQL's CAST with PostgreSQL's conversions ([`pg_cast`]).
//! - `vogate_one(count, value)`: `value`, or an error when `count` > 1 (a scalar subquery
//!   with several rows, which PostgreSQL refuses).
//! - `vogate_hpx(ra, dec)`: the HEALPix cell (NESTED, order [`crate::schema::HPX_ORDER`]) of
//!   a position, for the `_hpx` column of tables with an indexed position.
//! - `vogate_fn(name, args...)`: the ADQL math, trigonometric, LOWER and UPPER functions as
//!   PostgreSQL computes them ([`math`]).
//! - `vogate_cone_range(ra, dec, r, k, end)`: the first (`end` 0) or last (`end` 1) cell of
//!   range `k` (from 0) of [`cone_ranges`]`(ra, dec, r)`, NULL past the last range or for a
//!   NULL or invalid position: the index ranges of a cross-match's cone around another row.
//!
//! [`SqliteBackend`] is the [`crate::Backend`] over one database file.
//!
//! Query connections are read-only (`SQLITE_OPEN_READ_ONLY` and `PRAGMA query_only`), with
//! `PRAGMA case_sensitive_like = ON` because ADQL's LIKE is case-sensitive (ADQL 2.1 §2.3.3)
//! while SQLite's is not by default.

mod backend;
pub mod jobs;
pub mod math;
pub mod udf;

pub use backend::SqliteBackend;

use crate::schema::quote_ident;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use vo_adql::{ColumnInfo, SqlDialect, TableInfo};
use vo_common::geometry::{Geometry, LonLatBox};
use vo_common::region::{parse_stcs_polygon, Polygon};
use vo_common::sky::SkyPoint;
use vo_common::VoError;

/// The SQLite spelling of ADQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

impl SqlDialect for SqliteDialect {
    fn table_ref(&self, table: &TableInfo) -> String {
        if table.is_upload() {
            // A TEMP table of the query's own connection (see crate::upload).
            format!(
                "temp.{}",
                quote_ident(&vo_adql::upload_sql_table(&table.name))
            )
        } else {
            quote_ident(&table.qualified_name())
        }
    }

    fn column_ref(&self, qualifier: &str, table: &TableInfo, column: &ColumnInfo) -> String {
        vo_adql::dialect::qualified_column(qualifier, &table.sql_column(column))
    }

    fn contains_point_circle(&self, ra: &str, dec: &str, ra0: &str, dec0: &str, r: &str) -> String {
        format!("vogate_contains_pc({ra}, {dec}, {ra0}, {dec0}, {r})")
    }

    fn region_ref(&self, qualifier: &str, table: &TableInfo, column: &ColumnInfo) -> String {
        // ObsCore: an all-sky product has s_region NULL and s_fov 360; spatial predicates
        // treat it as covering the whole sky (see the README).
        let col = self.column_ref(qualifier, table, column);
        if column.name == "s_region" && table.columns.iter().any(|c| c.name == "s_fov") {
            format!("COALESCE({col}, CASE WHEN {qualifier}.\"s_fov\" >= 360 THEN '{ALLSKY}' END)")
        } else {
            col
        }
    }

    fn arithmetic(&self, op: &str, a: &str, b: &str) -> String {
        // SQLite turns integer overflow into a float and float overflow into Infinity;
        // PostgreSQL refuses both, and so does vogate_arith.
        format!("vogate_arith('{op}', {a}, {b})")
    }

    fn divide(&self, a: &str, b: &str) -> String {
        // PostgreSQL's division: a zero divisor is an error, not NULL.
        format!("vogate_div({a}, {b})")
    }

    fn scalar_subquery(&self, query: &str, column: &str) -> String {
        // SQLite would take the first row of several; PostgreSQL refuses, and so does this.
        format!(
            "(SELECT vogate_one(COUNT(*), MAX(\"_s\".{column})) FROM (SELECT * FROM ({query}) AS \"_q\" LIMIT 2) AS \"_s\")"
        )
    }

    fn cast(&self, value: &str, target: &vo_adql::ir::CastTarget) -> String {
        // SQLite's CAST truncates floats, reads 'abc' as 0 and ignores lengths: PostgreSQL's
        // conversions instead (see `vogate_cast`).
        let (name, n) = match target {
            vo_adql::ir::CastTarget::Char(n) => ("CHAR", i64::from(*n)),
            vo_adql::ir::CastTarget::Varchar(Some(n)) => ("VARCHAR", i64::from(*n)),
            other => (
                match other {
                    vo_adql::ir::CastTarget::Smallint => "SMALLINT",
                    vo_adql::ir::CastTarget::Integer => "INTEGER",
                    vo_adql::ir::CastTarget::Bigint => "BIGINT",
                    vo_adql::ir::CastTarget::Real => "REAL",
                    vo_adql::ir::CastTarget::Double => "DOUBLE PRECISION",
                    vo_adql::ir::CastTarget::Timestamp => "TIMESTAMP",
                    _ => "VARCHAR",
                },
                -1,
            ),
        };
        format!("vogate_cast({value}, '{name}', {n})")
    }

    fn order_nulls(&self, desc: bool) -> &'static str {
        // SQLite sorts NULLs first ascending; PostgreSQL, the reference, last.
        if desc {
            " NULLS FIRST"
        } else {
            " NULLS LAST"
        }
    }

    fn limit_offset(&self, limit: Option<u64>, offset: u64) -> String {
        // SQLite has OFFSET only after a LIMIT; -1 is no limit.
        match limit {
            Some(n) => format!(" LIMIT {n} OFFSET {offset}"),
            None => format!(" LIMIT -1 OFFSET {offset}"),
        }
    }

    fn function(&self, name: &str, args: &[String]) -> String {
        if name == "RAND" {
            // [0, 1): 53 random bits of SQLite's random().
            return "(((random() >> 11) & 9007199254740991) / 9007199254740992.0)".into();
        }
        match (name, args) {
            ("BITAND", [a, b]) => return format!("({a} & {b})"),
            ("BITOR", [a, b]) => return format!("({a} | {b})"),
            // SQLite has no exclusive OR: a ^ b = (a | b) - (a & b), exactly.
            ("BITXOR", [a, b]) => return format!("(({a} | {b}) - ({a} & {b}))"),
            ("BITNOT", [a]) => return format!("(~ {a})"),
            ("RAND_SEEDED", [seed, call]) => return format!("vogate_rand({seed}, {call})"),
            // SQLite's comparisons are already 1/0 (NULL for NULL).
            ("BOOL_INT", [x]) => return format!("({x})"),
            ("STRING_AGG", [x, d]) => return format!("group_concat({x}, {d})"),
            _ => {}
        }
        let mut call = format!("vogate_fn('{name}'");
        for a in args {
            call.push_str(", ");
            call.push_str(a);
        }
        call.push(')');
        call
    }

    fn join_cone_prefilter(
        &self,
        qualifier: &str,
        table: &TableInfo,
        ra: &ColumnInfo,
        dec: &ColumnInfo,
        qualifier0: &str,
        table0: &TableInfo,
        ra0: &ColumnInfo,
        dec0: &ColumnInfo,
        r: f64,
    ) -> Option<String> {
        // The `_hpx` ranges covering the cone around the other row's position (at most
        // JOIN_RANGES, see `vogate_cone_range`), each an index range SQLite's OR optimisation
        // scans for every row of the other table.
        if !table.is_position(ra, dec) || !(0.0..30.0).contains(&r) {
            return None;
        }
        let (a, b) = (
            self.column_ref(qualifier0, table0, ra0),
            self.column_ref(qualifier0, table0, dec0),
        );
        let mut ranges: Vec<String> = (0..JOIN_RANGES)
            .map(|k| {
                format!(
                    "{qualifier}.\"_hpx\" BETWEEN vogate_cone_range({a}, {b}, {r:?}, {k}, 0) \
                     AND vogate_cone_range({a}, {b}, {r:?}, {k}, 1)"
                )
            })
            .collect();
        if table.qualified_name() != crate::schema::OBSCORE_TABLE && !table.is_upload() {
            ranges.push(format!("{qualifier}.\"_hpx\" IS NULL"));
        }
        Some(format!("({})", ranges.join(" OR ")))
    }

    fn cone_prefilter(
        &self,
        qualifier: &str,
        table: &TableInfo,
        ra: &ColumnInfo,
        dec: &ColumnInfo,
        ra0: f64,
        dec0: f64,
        r: f64,
    ) -> Option<String> {
        // A table with an indexed position (ivoa.ObsCore's s_ra/s_dec, or a catalog's
        // configured ra/dec) has `_hpx`, the HEALPix cell of its position: the cells that
        // cover the cone (CDS cdshealpix, a superset: no row is lost) become B-tree ranges.
        // Catalog rows written by other tools may lack `_hpx`; they are kept too.
        if !table.is_position(ra, dec) || !(0.0..30.0).contains(&r) {
            return None;
        }
        let mut ranges: Vec<String> = cone_ranges_fine(ra0, dec0, r)
            .iter()
            .map(|rg| {
                format!(
                    "{qualifier}.\"_hpx\" BETWEEN {} AND {}",
                    rg.start,
                    rg.end - 1
                )
            })
            .collect();
        if table.qualified_name() != crate::schema::OBSCORE_TABLE {
            ranges.push(format!("{qualifier}.\"_hpx\" IS NULL"));
        }
        (!ranges.is_empty()).then(|| format!("({})", ranges.join(" OR ")))
    }

    fn region_prefilter(
        &self,
        qualifier: &str,
        table: &TableInfo,
        column: &ColumnInfo,
        ra0: f64,
        dec0: f64,
        r: f64,
    ) -> Option<String> {
        // ivoa.ObsCore's `_ext` is how far a footprint reaches from (s_ra, s_dec): a
        // footprint within FOOTPRINT_REACH that meets the circle has its centre within
        // r + FOOTPRINT_REACH of the circle's centre, so the HEALPix cells of that wider cone
        // hold it; wider footprints and all-sky rows (`_ext` NULL) are kept as they are.
        let reach = crate::schema::FOOTPRINT_REACH;
        if table.qualified_name() != crate::schema::OBSCORE_TABLE
            || column.name != "s_region"
            || !(0.0..30.0).contains(&(r + reach))
        {
            return None;
        }
        let mut terms: Vec<String> = cone_ranges_fine(ra0, dec0, r + reach)
            .iter()
            .map(|rg| {
                format!(
                    "{qualifier}.\"_hpx\" BETWEEN {} AND {}",
                    rg.start,
                    rg.end - 1
                )
            })
            .collect();
        terms.push(format!("{qualifier}.\"_ext\" > {reach:?}"));
        terms.push(format!("{qualifier}.\"_ext\" IS NULL"));
        Some(format!("({})", terms.join(" OR ")))
    }

    fn polygon_region(&self, vertices: &[(String, String)]) -> String {
        let parts: Vec<String> = vertices
            .iter()
            .map(|(ra, dec)| format!("' ' || ({ra}) || ' ' || ({dec})"))
            .collect();
        format!("('POLYGON ICRS' || {})", parts.join(" || "))
    }

    fn contains_point_region(&self, ra: &str, dec: &str, region: &str) -> String {
        format!("vogate_contains_pr({ra}, {dec}, {region})")
    }

    fn intersects_region_circle(&self, region: &str, ra0: &str, dec0: &str, r: &str) -> String {
        format!("vogate_intersects_rc({region}, {ra0}, {dec0}, {r})")
    }

    fn intersects_regions(&self, a: &str, b: &str) -> String {
        format!("vogate_intersects_rr({a}, {b})")
    }

    fn geometry_value(&self, xtype: &str, numbers: &[String]) -> String {
        format!("vogate_dali('{xtype}', {})", numbers.join(", "))
    }

    fn distance(&self, ra1: &str, dec1: &str, ra2: &str, dec2: &str) -> String {
        format!("vogate_distance({ra1}, {dec1}, {ra2}, {dec2})")
    }

    fn limit(&self, n: u64) -> String {
        format!(" LIMIT {n}")
    }
}

/// The first `n` arguments of `ctx` as doubles, `None` when one is NULL.
fn args_f64(
    ctx: &rusqlite::functions::Context<'_>,
    n: usize,
) -> rusqlite::Result<Option<Vec<f64>>> {
    args_f64_in(ctx, 0..n)
}

/// The arguments of `ctx` from place `first` on as doubles, `None` when one is NULL.
fn args_f64_from(
    ctx: &rusqlite::functions::Context<'_>,
    first: usize,
) -> rusqlite::Result<Option<Vec<f64>>> {
    args_f64_in(ctx, first..ctx.len())
}

fn args_f64_in(
    ctx: &rusqlite::functions::Context<'_>,
    places: std::ops::Range<usize>,
) -> rusqlite::Result<Option<Vec<f64>>> {
    let mut out = Vec::with_capacity(places.len());
    for i in places {
        match ctx.get::<Option<f64>>(i)? {
            Some(v) => out.push(v),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

/// The ranges of HEALPix cells (NESTED, order [`crate::schema::HPX_ORDER`]) that cover the
/// cone of radius `r` degrees around (`ra0`, `dec0`): CDS cdshealpix's approximate coverage,
/// a superset of the cells the cone touches, computed at the depth that gives a handful of
/// cells and expanded to the column's order. Half-open ranges.
pub fn cone_ranges(ra0: f64, dec0: f64, r: f64) -> Vec<std::ops::Range<u64>> {
    let depth = cdshealpix::best_starting_depth(r.to_radians()).min(crate::schema::HPX_ORDER);
    cover(depth, ra0, dec0, r)
}

/// The cells of order [`crate::schema::HPX_ORDER`] under cdshealpix's approximate cover of
/// the cone at `depth` (a superset of the cells the cone touches), as half-open ranges.
fn cover(depth: u8, ra0: f64, dec0: f64, r: f64) -> Vec<std::ops::Range<u64>> {
    let lon = vo_common::sky::normalize_ra(ra0).to_radians();
    let bmoc =
        cdshealpix::nested::cone_coverage_approx(depth, lon, dec0.to_radians(), r.to_radians());
    let shift = 2 * u32::from(crate::schema::HPX_ORDER - bmoc.get_depth_max());
    bmoc.to_ranges()
        .iter()
        .map(|rg| (rg.start << shift)..(rg.end << shift))
        .collect()
}

/// The most index ranges of one cone's prefilter ([`cone_ranges_fine`]).
pub const CONE_RANGES: usize = 48;

/// The ranges of HEALPix cells (NESTED, order [`crate::schema::HPX_ORDER`]) that cover the
/// cone, as [`cone_ranges`], but from the deepest of up to three orders below
/// [`cdshealpix::best_starting_depth`] whose cover stays within [`CONE_RANGES`] ranges: a
/// cover a few times tighter, so that a cone reads few rows outside itself (a 1-degree cone
/// on a uniform catalog reads about 1.3 times its rows instead of about 10 times).
pub fn cone_ranges_fine(ra0: f64, dec0: f64, r: f64) -> Vec<std::ops::Range<u64>> {
    let order = crate::schema::HPX_ORDER;
    let start = cdshealpix::best_starting_depth(r.to_radians()).min(order);
    for depth in (start..=(start + 3).min(order)).rev() {
        let ranges = cover(depth, ra0, dec0, r);
        if ranges.len() <= CONE_RANGES {
            return ranges;
        }
    }
    cover(start, ra0, dec0, r)
}

/// The most index ranges of a cross-match cone on SQLite (`vogate_cone_range`): the cone's
/// cells at [`cdshealpix::best_starting_depth`] are at most 9 (the centre's and its
/// neighbours), so at most 9 ranges.
pub const JOIN_RANGES: usize = 9;

/// A cone (the bits of ra, dec and radius) and its [`cone_ranges`].
type ConeRanges = ([u64; 3], Vec<std::ops::Range<u64>>);

thread_local! {
    /// The last cone of `vogate_cone_range` and its ranges: the 2 x [`JOIN_RANGES`] calls for
    /// one row of a cross-match share one computation.
    static LAST_CONE: std::cell::RefCell<Option<ConeRanges>> = const { std::cell::RefCell::new(None) };
}

/// Cell `end` (0: first, 1: last) of range `k` of [`cone_ranges`]`(ra0, dec0, r)`.
fn cached_cone_range(ra0: f64, dec0: f64, r: f64, k: i64, end: i64) -> Option<i64> {
    let key = [ra0.to_bits(), dec0.to_bits(), r.to_bits()];
    LAST_CONE.with(|last| {
        let mut last = last.borrow_mut();
        if last.as_ref().is_none_or(|(k0, _)| *k0 != key) {
            *last = Some((key, cone_ranges(ra0, dec0, r)));
        }
        let (_, ranges) = last.as_ref()?;
        let range = ranges.get(usize::try_from(k).ok()?)?;
        let cell = if end == 0 { range.start } else { range.end - 1 };
        i64::try_from(cell).ok()
    })
}

/// The region text that stands for the whole sky in the region functions.
pub const ALLSKY: &str = "ALLSKY";

/// A region argument of the SQL functions.
enum Region {
    AllSky,
    Polygon(Polygon),
}

impl Region {
    fn parse(text: &str) -> Result<Region, String> {
        if text == ALLSKY {
            Ok(Region::AllSky)
        } else {
            parse_stcs_polygon(text).map(Region::Polygon)
        }
    }

    fn geometry(&self) -> Geometry {
        match self {
            Region::AllSky => Geometry::AllSky,
            Region::Polygon(p) => Geometry::Polygon(p.clone()),
        }
    }
}

/// The shape at argument `*i` of `ctx` (a kind, `'POINT'`, `'CIRCLE'`, `'BOX'` or
/// `'REGION'`, then its operands: [`vo_adql::dialect::GeoSql::args`]), `*i` moved past it;
/// `None` when an operand is NULL. Positions, radii and sizes out of range are query errors
/// naming the value.
fn geometry_arg(
    ctx: &rusqlite::functions::Context<'_>,
    i: &mut usize,
) -> rusqlite::Result<Option<Geometry>> {
    let kind: String = ctx.get(*i)?;
    let n = match kind.as_str() {
        "POINT" => 2,
        "CIRCLE" => 3,
        "BOX" => 4,
        "REGION" => 1,
        other => return Err(range_error(format!("'{other}' is not a geometry kind"))),
    };
    let first = *i + 1;
    *i = first + n;
    if kind == "REGION" {
        return Ok(region_arg(ctx, first)?.map(|r| r.geometry()));
    }
    let Some(a) = args_f64_in(ctx, first..first + n)? else {
        return Ok(None);
    };
    let g = match kind.as_str() {
        "POINT" => Geometry::Point(check_point("POINT", a[0], a[1])?),
        "CIRCLE" => Geometry::circle(a[0], a[1], a[2]).map_err(range_error)?,
        _ => Geometry::Box(LonLatBox::new(a[0], a[1], a[2], a[3]).map_err(range_error)?),
    };
    Ok(Some(g))
}

fn region_arg(
    ctx: &rusqlite::functions::Context<'_>,
    i: usize,
) -> rusqlite::Result<Option<std::sync::Arc<Region>>> {
    if ctx.get_raw(i) == ValueRef::Null {
        return Ok(None);
    }
    // Cached per statement when the argument is a constant (a polygon in the query).
    ctx.get_or_create_aux(i as std::os::raw::c_int, |v| -> Result<Region, String> {
        let text = v
            .as_str()
            .map_err(|e| format!("a region must be text: {e}"))?;
        Region::parse(text).map_err(|e| format!("invalid region: {e}"))
    })
    .map(Some)
}

/// A query error raised by a geometry function, naming the value that is out of range.
fn range_error(msg: String) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(msg.into())
}

/// Check a position computed at run time (from an expression rather than a literal).
fn check_point(what: &str, ra: f64, dec: f64) -> rusqlite::Result<SkyPoint> {
    if !ra.is_finite() || !(-90.0..=90.0).contains(&dec) {
        return Err(range_error(format!(
            "{what} ({ra}, {dec}) is not a position: RA must be finite and Dec in [-90, 90] degrees"
        )));
    }
    Ok(SkyPoint::new(ra, dec))
}

/// Check a circle radius computed at run time.
fn check_radius(r: f64) -> rusqlite::Result<f64> {
    if !(0.0..=180.0).contains(&r) {
        return Err(range_error(format!(
            "CIRCLE radius {r} must be in [0, 180] degrees"
        )));
    }
    Ok(r)
}

/// A value to convert with [`pg_cast`].
#[derive(Debug, Clone, PartialEq)]
pub enum CastIn {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Text(String),
}

/// `CAST(v AS target)` as PostgreSQL computes it (`target`: SMALLINT, INTEGER, BIGINT, REAL,
/// DOUBLE PRECISION, CHAR, VARCHAR; `n` the length, -1 for none): floats round half to even
/// into integers, out-of-range values and strings that are not numbers are errors with
/// PostgreSQL's messages, REAL rounds to single precision, CHAR(n) pads with spaces, numbers
/// become text as PostgreSQL's float8out writes them ([`pg_float_text`]).
pub fn pg_cast(v: CastIn, target: &str, n: i64) -> Result<rusqlite::types::Value, String> {
    use rusqlite::types::Value;
    let int_range = |name: &str, lo: i64, hi: i64| -> Result<Value, String> {
        let out = match &v {
            CastIn::Int(i) => Some(*i),
            CastIn::Float(f) => {
                let r = f.round_ties_even();
                (r.is_finite() && r >= i64::MIN as f64 && r < i64::MAX as f64).then_some(r as i64)
            }
            CastIn::Text(s) => {
                let t = s.trim();
                let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("invalid input syntax for type {name}: \"{s}\""));
                }
                t.parse::<i64>().ok()
            }
        };
        match out {
            Some(i) if (lo..=hi).contains(&i) => Ok(Value::Integer(i)),
            _ => Err(format!("{name} out of range")),
        }
    };
    let float = |name: &str| -> Result<f64, String> {
        match &v {
            CastIn::Int(i) => Ok(*i as f64),
            CastIn::Float(f) => Ok(*f),
            CastIn::Text(s) => {
                let t = s.trim();
                let v = t
                    .parse::<f64>()
                    .map_err(|_| format!("invalid input syntax for type {name}: \"{s}\""))?;
                // Digits that overflow to infinity or underflow to zero are out of range
                // ('Infinity', 'inf' and 'NaN' themselves are values).
                let words = t.trim_start_matches(['+', '-']).to_ascii_lowercase();
                let special = matches!(words.as_str(), "inf" | "infinity" | "nan");
                let mantissa = t.split(['e', 'E']).next().unwrap_or("");
                let underflow = v == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
                if (!v.is_finite() && !special) || underflow {
                    return Err(format!("\"{s}\" is out of range for type {name}"));
                }
                Ok(v)
            }
        }
    };
    let text = || match &v {
        CastIn::Int(i) => i.to_string(),
        CastIn::Float(f) => pg_float_text(*f),
        CastIn::Text(s) => s.clone(),
    };
    Ok(match target {
        "SMALLINT" => int_range("smallint", i16::MIN.into(), i16::MAX.into())?,
        "INTEGER" => int_range("integer", i32::MIN.into(), i32::MAX.into())?,
        "BIGINT" => int_range("bigint", i64::MIN, i64::MAX)?,
        "REAL" => {
            let f = float("real")?;
            let r = f as f32;
            if f.is_finite() && r.is_infinite() {
                return Err("value out of range: overflow".into());
            }
            if f != 0.0 && r == 0.0 {
                return Err("value out of range: underflow".into());
            }
            Value::Real(f64::from(r))
        }
        "DOUBLE PRECISION" => Value::Real(float("double precision")?),
        "TIMESTAMP" => Value::Text(dali_timestamp(&text())?),
        "CHAR" => {
            // Cut to n; PostgreSQL drops CHAR's padding wherever the value is used as text.
            let n = usize::try_from(n).unwrap_or(1);
            Value::Text(
                text()
                    .chars()
                    .take(n)
                    .collect::<String>()
                    .trim_end_matches(' ')
                    .to_string(),
            )
        }
        _ => {
            let t = text();
            Value::Text(match usize::try_from(n) {
                Ok(n) => t.chars().take(n).collect(),
                Err(_) => t,
            })
        }
    })
}

/// ISO 8601 text (`YYYY-MM-DD`, optionally `T` or a space and `hh:mm[:ss[.f]]` with 1 to 6
/// fraction digits, optionally `Z`; surrounding spaces ignored) as DALI's timestamp text
/// `YYYY-MM-DDThh:mm:ss[.f]` without trailing zero digits, as `vogate_adql.to_timestamp`
/// makes it on PostgreSQL. Errors in PostgreSQL's words: text of another shape is `invalid
/// input syntax for type timestamp`, a day the month does not have `date/time field value
/// out of range`.
pub fn dali_timestamp(s: &str) -> Result<String, String> {
    let syntax = || format!("invalid input syntax for type timestamp: \"{s}\"");
    let t = s.trim_matches(' ');
    let t = t.strip_suffix('Z').unwrap_or(t);
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = t.get(r)?;
        (!part.is_empty() && part.bytes().all(|c| c.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(syntax());
    }
    let (year, month, day) = (
        digits(0..4).ok_or_else(syntax)?,
        digits(5..7).ok_or_else(syntax)?,
        digits(8..10).ok_or_else(syntax)?,
    );
    let (mut hour, mut minute, mut second, mut fraction) = (0, 0, 0, String::new());
    if b.len() > 10 {
        if !(b[10] == b'T' || b[10] == b' ') || b.len() < 16 || b[13] != b':' {
            return Err(syntax());
        }
        hour = digits(11..13).ok_or_else(syntax)?;
        minute = digits(14..16).ok_or_else(syntax)?;
        if b.len() > 16 {
            if b[16] != b':' || b.len() < 19 {
                return Err(syntax());
            }
            second = digits(17..19).ok_or_else(syntax)?;
            if b.len() > 19 {
                if b[19] != b'.' || b.len() == 20 || b.len() > 26 {
                    return Err(syntax());
                }
                digits(20..b.len()).ok_or_else(syntax)?;
                fraction = t[20..].trim_end_matches('0').to_string();
            }
        }
    }
    if hour > 23 || minute > 59 || second > 59 || month == 0 || month > 12 {
        return Err(syntax());
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > days {
        return Err(format!("date/time field value out of range: \"{s}\""));
    }
    let mut out = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(&fraction);
    }
    Ok(out)
}

/// A float as PostgreSQL's float8out writes it: the shortest digits that read back as the
/// same value, in positional notation for decimal exponents from -4 to 14 and as `d.ddde+XX`
/// otherwise; `NaN`, `Infinity`, `-Infinity`.
pub fn pg_float_text(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rust's {:e} gives the shortest round-trip digits: "-1.2345e-7".
    let e = format!("{x:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if mantissa.starts_with('-') { "-" } else { "" };
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    if !(-4..15).contains(&exp) {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{m}e{esign}{:02}", exp.abs());
    }
    if exp >= 0 {
        let point = exp as usize + 1;
        if digits.len() <= point {
            format!("{sign}{digits}{}", "0".repeat(point - digits.len()))
        } else {
            format!("{sign}{}.{}", &digits[..point], &digits[point..])
        }
    } else {
        format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
    }
}

/// A numeric SQL argument: `None` for NULL, `Ok` for an integer, `Err` for a float (any
/// other value is read as a float, as SQLite reads it).
fn numeric_arg(
    ctx: &rusqlite::functions::Context,
    i: usize,
) -> rusqlite::Result<Option<Result<i64, f64>>> {
    use rusqlite::types::ValueRef;
    Ok(match ctx.get_raw(i) {
        ValueRef::Null => None,
        ValueRef::Integer(v) => Some(Ok(v)),
        ValueRef::Real(v) => Some(Err(v)),
        _ => Some(Err(ctx.get::<f64>(i)?)),
    })
}

/// `a op b` for `op` one of `+ - * /`, as PostgreSQL computes it: integers stay 64-bit and
/// overflow is "bigint out of range"; integer division truncates toward zero; a zero divisor
/// is "division by zero"; a float result that overflows to infinity or underflows to zero
/// from non-zero operands is "value out of range: overflow" / "underflow".
pub fn pg_arith(
    op: u8,
    a: Result<i64, f64>,
    b: Result<i64, f64>,
) -> Result<rusqlite::types::Value, String> {
    use rusqlite::types::Value;
    if op == b'/' && b.map_or_else(|f| f == 0.0, |i| i == 0) {
        return Err("division by zero".into());
    }
    if let (Ok(x), Ok(y)) = (a, b) {
        let r = match op {
            b'+' => x.checked_add(y),
            b'-' => x.checked_sub(y),
            b'*' => x.checked_mul(y),
            _ => x.checked_div(y),
        };
        return r
            .map(Value::Integer)
            .ok_or_else(|| "bigint out of range".into());
    }
    let (x, y) = (
        a.map_or_else(|f| f, |i| i as f64),
        b.map_or_else(|f| f, |i| i as f64),
    );
    let r = match op {
        b'+' => x + y,
        b'-' => x - y,
        b'*' => x * y,
        _ => x / y,
    };
    if r.is_infinite() && x.is_finite() && y.is_finite() {
        return Err("value out of range: overflow".into());
    }
    let underflow = match op {
        b'*' => x != 0.0 && y != 0.0,
        b'/' => x != 0.0 && y.is_finite(),
        _ => false,
    };
    if r == 0.0 && underflow {
        return Err("value out of range: underflow".into());
    }
    Ok(Value::Real(r))
}

/// Register vogate's SQL functions on `conn`. Positions and radii out of range (from
/// expressions; literals are refused before) raise a query error naming the value.
pub fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function("vogate_fn", -1, flags, math::call)?;
    conn.create_scalar_function("vogate_cone_range", 5, flags, |ctx| {
        let Some(a) = args_f64(ctx, 3)? else {
            return Ok(None);
        };
        let (k, end) = (ctx.get::<i64>(3)?, ctx.get::<i64>(4)?);
        if !(a[0].is_finite() && (-90.0..=90.0).contains(&a[1]) && (0.0..30.0).contains(&a[2])) {
            return Ok(None);
        }
        Ok(cached_cone_range(a[0], a[1], a[2], k, end))
    })?;
    conn.create_scalar_function("vogate_contains_pc", 5, flags, |ctx| {
        let Some(a) = args_f64(ctx, 5)? else {
            return Ok(None);
        };
        let p = check_point("POINT", a[0], a[1])?;
        let c = check_point("CIRCLE centre", a[2], a[3])?;
        let r = check_radius(a[4])?;
        Ok(Some(i64::from(p.distance(c) <= r)))
    })?;
    conn.create_scalar_function("vogate_contains_pr", 3, flags, |ctx| {
        let (Some(a), Some(region)) = (args_f64(ctx, 2)?, region_arg(ctx, 2)?) else {
            return Ok(None);
        };
        let p = check_point("POINT", a[0], a[1])?;
        Ok(Some(i64::from(match region.as_ref() {
            Region::AllSky => true,
            Region::Polygon(poly) => poly.contains(p),
        })))
    })?;
    conn.create_scalar_function("vogate_intersects_rc", 4, flags, |ctx| {
        let Some(region) = region_arg(ctx, 0)? else {
            return Ok(None);
        };
        let mut a = Vec::with_capacity(3);
        for i in 1..4 {
            match ctx.get::<Option<f64>>(i)? {
                Some(v) => a.push(v),
                None => return Ok(None),
            }
        }
        let c = check_point("CIRCLE centre", a[0], a[1])?;
        let r = check_radius(a[2])?;
        Ok(Some(i64::from(match region.as_ref() {
            Region::AllSky => true,
            Region::Polygon(poly) => poly.intersects_circle(c, r),
        })))
    })?;
    conn.create_scalar_function("vogate_intersects_rr", 2, flags, |ctx| {
        let (Some(a), Some(b)) = (region_arg(ctx, 0)?, region_arg(ctx, 1)?) else {
            return Ok(None);
        };
        Ok(Some(i64::from(match (a.as_ref(), b.as_ref()) {
            (Region::Polygon(a), Region::Polygon(b)) => a.intersects_polygon(b),
            _ => true,
        })))
    })?;
    // vogate_rand(seed, call): RAND(seed), the next value of the call's MINSTD sequence
    // (vo_adql::check::RAND_MODULUS), kept for the statement. Not deterministic, so SQLite
    // calls it for every row.
    conn.create_scalar_function("vogate_rand", 2, FunctionFlags::SQLITE_UTF8, |ctx| {
        let state = ctx.get_or_create_aux(1, |_| -> Result<_, String> {
            Ok(std::sync::atomic::AtomicU64::new(0))
        })?;
        let seed = u64::try_from(ctx.get::<i64>(0)?).unwrap_or(0);
        let mut x = state.load(std::sync::atomic::Ordering::Relaxed);
        if x == 0 {
            x = seed % vo_adql::check::RAND_MODULUS + 1;
        }
        x = x * 48271 % 2_147_483_647;
        state.store(x, std::sync::atomic::Ordering::Relaxed);
        Ok(x as f64 / 2_147_483_647.0)
    })?;
    // vogate_geo('CONTAINS'|'INTERSECTS', shape, shape): 1/0 (see `geometry_arg`).
    conn.create_scalar_function("vogate_geo", -1, flags, |ctx| {
        let op: String = ctx.get(0)?;
        let mut i = 1;
        let a = geometry_arg(ctx, &mut i)?;
        let b = geometry_arg(ctx, &mut i)?;
        let (Some(a), Some(b)) = (a, b) else {
            return Ok(None);
        };
        Ok(Some(i64::from(if op == "CONTAINS" {
            a.within(&b)
        } else {
            a.intersects(&b)
        })))
    })?;
    // vogate_geo_fn('AREA'|'CENTROID_RA'|'CENTROID_DEC', shape): square degrees, degrees.
    conn.create_scalar_function("vogate_geo_fn", -1, flags, |ctx| {
        let f: String = ctx.get(0)?;
        let mut i = 1;
        let Some(g) = geometry_arg(ctx, &mut i)? else {
            return Ok(None);
        };
        Ok(match f.as_str() {
            "AREA" => Some(g.area()),
            "CENTROID_RA" => g.centroid().map(|p| p.ra),
            _ => g.centroid().map(|p| p.dec),
        })
    })?;
    // vogate_dali(xtype, number...): the DALI text of a geometry value, NULL when a number is.
    conn.create_scalar_function("vogate_dali", -1, flags, |ctx| {
        let xtype = ctx.get::<String>(0)?;
        let Some(mut numbers) = args_f64_from(ctx, 1)? else {
            return Ok(None);
        };
        Ok(Some(vo_common::sky::dali_geometry_text(
            &xtype,
            &mut numbers,
        )))
    })?;
    conn.create_scalar_function("vogate_hpx", 2, flags, |ctx| {
        let Some(a) = args_f64(ctx, 2)? else {
            return Ok(None);
        };
        let p = check_point("POINT", a[0], a[1])?;
        Ok(Some(cdshealpix::nested::hash(
            crate::schema::HPX_ORDER,
            vo_common::sky::normalize_ra(p.ra).to_radians(),
            p.dec.to_radians(),
        ) as i64))
    })?;
    conn.create_scalar_function("vogate_cast", 3, flags, |ctx| {
        use rusqlite::types::{Value, ValueRef};
        let v = match ctx.get_raw(0) {
            ValueRef::Null => return Ok(Value::Null),
            ValueRef::Integer(i) => CastIn::Int(i),
            ValueRef::Real(f) => CastIn::Float(f),
            _ => CastIn::Text(ctx.get::<String>(0)?),
        };
        // The type name is a literal the renderer wrote: read it without copying.
        let target = match ctx.get_raw(1) {
            ValueRef::Text(t) => std::str::from_utf8(t).unwrap_or(""),
            _ => "",
        };
        pg_cast(v, target, ctx.get(2)?).map_err(range_error)
    })?;
    conn.create_scalar_function("vogate_one", 2, flags, |ctx| {
        if ctx.get::<i64>(0)? > 1 {
            return Err(range_error(
                "more than one row returned by a subquery used as an expression".into(),
            ));
        }
        ctx.get::<rusqlite::types::Value>(1)
    })?;
    // ILIKE compares lower(...) of both sides: Unicode case folding, as PostgreSQL's lower()
    // (SQLite's own lower() folds ASCII only).
    conn.create_scalar_function("lower", 1, flags, |ctx| {
        Ok(ctx.get::<Option<String>>(0)?.map(|s| s.to_lowercase()))
    })?;
    conn.create_scalar_function("vogate_arith", 3, flags, |ctx| {
        let op = match ctx.get_raw(0) {
            rusqlite::types::ValueRef::Text(t) => t.first().copied().unwrap_or(b'+'),
            _ => b'+',
        };
        match (numeric_arg(ctx, 1)?, numeric_arg(ctx, 2)?) {
            (Some(a), Some(b)) => pg_arith(op, a, b).map_err(range_error),
            _ => Ok(rusqlite::types::Value::Null),
        }
    })?;
    conn.create_scalar_function("vogate_div", 2, flags, |ctx| {
        match (numeric_arg(ctx, 0)?, numeric_arg(ctx, 1)?) {
            (Some(a), Some(b)) => pg_arith(b'/', a, b).map_err(range_error),
            _ => Ok(rusqlite::types::Value::Null),
        }
    })?;
    conn.create_scalar_function("vogate_distance", 4, flags, |ctx| {
        let Some(a) = args_f64(ctx, 4)? else {
            return Ok(None);
        };
        let p = check_point("POINT", a[0], a[1])?;
        let q = check_point("POINT", a[2], a[3])?;
        Ok(Some(p.distance(q)))
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
    fn floats_become_text_as_postgresql_writes_them() {
        // float8out with PostgreSQL 12+'s default extra_float_digits = 1.
        for (x, want) in [
            (0.1, "0.1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e20, "1e+20"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (123456789012345.0, "123456789012345"),
            (1e15, "1e+15"),
            (-2.5, "-2.5"),
            (100.0, "100"),
            (std::f64::consts::PI, "3.141592653589793"),
            (-0.0, "-0"),
            (f64::INFINITY, "Infinity"),
        ] {
            assert_eq!(pg_float_text(x), want, "{x:e}");
        }
    }

    #[test]
    fn arithmetic_is_postgresql_s() {
        use rusqlite::types::Value;
        assert_eq!(pg_arith(b'/', Ok(7), Ok(-2)), Ok(Value::Integer(-3)));
        assert_eq!(pg_arith(b'/', Ok(7), Err(2.0)), Ok(Value::Real(3.5)));
        assert_eq!(pg_arith(b'/', Ok(1), Ok(0)), Err("division by zero".into()));
        assert_eq!(
            pg_arith(b'/', Err(1.0), Err(0.0)),
            Err("division by zero".into())
        );
        assert_eq!(
            pg_arith(b'+', Ok(i64::MAX), Ok(1)),
            Err("bigint out of range".into())
        );
        assert_eq!(
            pg_arith(b'/', Ok(i64::MIN), Ok(-1)),
            Err("bigint out of range".into())
        );
        assert_eq!(
            pg_arith(b'*', Err(1e308), Ok(10)),
            Err("value out of range: overflow".into())
        );
        assert_eq!(
            pg_arith(b'*', Err(1e-300), Err(1e-300)),
            Err("value out of range: underflow".into())
        );
        assert_eq!(pg_arith(b'-', Err(0.5), Ok(2)), Ok(Value::Real(-1.5)));
    }

    #[test]
    fn casts_convert_as_postgresql_does() {
        use rusqlite::types::Value;
        let cast = |v: CastIn, t: &str, n: i64| pg_cast(v, t, n);
        // Floats round half to even into integers.
        for (x, want) in [
            (2.5, 2),
            (3.5, 4),
            (-2.5, -2),
            (2.4999, 2),
            (1e9, 1_000_000_000),
        ] {
            assert_eq!(
                cast(CastIn::Float(x), "INTEGER", -1),
                Ok(Value::Integer(want)),
                "{x}"
            );
        }
        assert_eq!(
            cast(CastIn::Float(1e10), "INTEGER", -1),
            Err("integer out of range".into())
        );
        assert_eq!(
            cast(CastIn::Int(40000), "SMALLINT", -1),
            Err("smallint out of range".into())
        );
        assert_eq!(
            cast(CastIn::Text(" 12 ".into()), "BIGINT", -1),
            Ok(Value::Integer(12))
        );
        assert_eq!(
            cast(CastIn::Text("1.5".into()), "INTEGER", -1),
            Err("invalid input syntax for type integer: \"1.5\"".into())
        );
        assert_eq!(
            cast(CastIn::Text("abc".into()), "DOUBLE PRECISION", -1),
            Err("invalid input syntax for type double precision: \"abc\"".into())
        );
        assert_eq!(
            cast(CastIn::Float(0.1), "REAL", -1),
            Ok(Value::Real(f64::from(0.1f32)))
        );
        assert_eq!(
            cast(CastIn::Float(1e300), "REAL", -1),
            Err("value out of range: overflow".into())
        );
        // CHAR(n) cuts; its padding is dropped, as PostgreSQL drops it when using the value.
        assert_eq!(
            cast(CastIn::Text("ab".into()), "CHAR", 4),
            Ok(Value::Text("ab".into()))
        );
        assert_eq!(
            cast(CastIn::Text("abcdef".into()), "CHAR", 4),
            Ok(Value::Text("abcd".into()))
        );
        assert_eq!(
            cast(CastIn::Text("1e400".into()), "DOUBLE PRECISION", -1),
            Err("\"1e400\" is out of range for type double precision".into())
        );
        assert_eq!(
            cast(CastIn::Text("-Infinity".into()), "DOUBLE PRECISION", -1),
            Ok(Value::Real(f64::NEG_INFINITY))
        );
        assert_eq!(
            cast(CastIn::Text("abcd".into()), "VARCHAR", 2),
            Ok(Value::Text("ab".into()))
        );
        assert_eq!(
            cast(CastIn::Float(2.5), "VARCHAR", -1),
            Ok(Value::Text("2.5".into()))
        );
        assert_eq!(cast(CastIn::Int(7), "CHAR", 1), Ok(Value::Text("7".into())));
    }

    #[test]
    fn cone_ranges_never_miss_a_point_in_the_cone() {
        // Both covers: the cross-match's (cone_ranges) and the single cone's (cone_ranges_fine).
        let mut seed: u64 = 42;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let cones = [
            (0.0, 0.0, 0.1),
            (359.95, 10.0, 0.5),
            (123.0, 89.9, 2.0),
            (200.0, -89.99, 0.3),
            (45.0, 30.0, 5.0),
            (300.0, -45.0, 29.0),
            (10.0, 20.0, 0.0),
        ];
        for (ra0, dec0, r) in cones {
            let ranges = cone_ranges(ra0, dec0, r);
            // A cross-match's cone is JOIN_RANGES index ranges at most (vogate_cone_range).
            assert!(ranges.len() <= JOIN_RANGES, "{ra0} {dec0} {r}: {ranges:?}");
            for (k, rg) in ranges.iter().enumerate() {
                let k = k as i64;
                assert_eq!(cached_cone_range(ra0, dec0, r, k, 0), Some(rg.start as i64));
                assert_eq!(
                    cached_cone_range(ra0, dec0, r, k, 1),
                    Some(rg.end as i64 - 1)
                );
            }
            assert_eq!(
                cached_cone_range(ra0, dec0, r, ranges.len() as i64, 0),
                None
            );
            // The single cone's cover: tighter, within CONE_RANGES ranges.
            let fine = cone_ranges_fine(ra0, dec0, r);
            assert!(
                fine.len() <= CONE_RANGES,
                "{ra0} {dec0} {r}: {}",
                fine.len()
            );
            let cells =
                |v: &[std::ops::Range<u64>]| v.iter().map(|rg| rg.end - rg.start).sum::<u64>();
            assert!(cells(&fine) <= cells(&ranges), "{ra0} {dec0} {r}");
            let centre = SkyPoint::new(ra0, dec0);
            let mut inside = 0;
            for _ in 0..20_000 {
                // Points within 1.5 r of the centre, many of them near the edge.
                let d = (r * 1.5 + 1e-6) * next().sqrt();
                let az = std::f64::consts::TAU * next();
                let c = centre.to_vec();
                let east = {
                    let e = vo_common::sky::cross([0.0, 0.0, 1.0], c);
                    let n = vo_common::sky::dot(e, e).sqrt();
                    if n < 1e-12 {
                        [0.0, 1.0, 0.0]
                    } else {
                        [e[0] / n, e[1] / n, e[2] / n]
                    }
                };
                let north = vo_common::sky::cross(c, east);
                let (s, co) = d.to_radians().sin_cos();
                let v =
                    [0, 1, 2].map(|k| c[k] * co + (east[k] * az.cos() + north[k] * az.sin()) * s);
                let p = SkyPoint::from_vec(v);
                if p.distance(centre) <= r {
                    inside += 1;
                    let h = cdshealpix::nested::hash(
                        crate::schema::HPX_ORDER,
                        p.ra.to_radians(),
                        p.dec.to_radians(),
                    );
                    assert!(
                        ranges.iter().any(|rg| rg.contains(&h)),
                        "cone {ra0} {dec0} {r}: {p:?} (cell {h}) not covered"
                    );
                    assert!(
                        fine.iter().any(|rg| rg.contains(&h)),
                        "fine cover of cone {ra0} {dec0} {r}: {p:?} (cell {h}) not covered"
                    );
                }
            }
            assert!(inside > 0 || r == 0.0);
        }
    }

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
        let err = |sql: &str| {
            conn.query_row(sql, [], |r| r.get::<_, Option<f64>>(0))
                .expect_err(sql)
                .to_string()
        };
        assert!(err("SELECT vogate_contains_pc(0, 0, 0, 0, -1)")
            .contains("CIRCLE radius -1 must be in [0, 180]"));
        assert!(err("SELECT vogate_contains_pc(0, 95, 0, 0, 1)")
            .contains("POINT (0, 95) is not a position"));
        assert!(err("SELECT vogate_distance(0, 0, 1e309, 0)").contains("POINT (inf, 0)"));
        let d = q("SELECT vogate_distance(10, 20, 10, 21)").expect("distance");
        assert!((d - 1.0).abs() < 1e-12);
    }
}

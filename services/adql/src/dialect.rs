//! How one backend spells what ADQL says: the renderer's only view of SQL differences.
//!
//! Every column is referred to through its table's SQL alias (`qualifier`, already quoted, as
//! `"t1"`), so the same column name in two joined tables is never ambiguous.

use crate::catalog::{ColumnInfo, TableInfo};

/// A backend's SQL spelling. Angles are degrees unless said otherwise; predicates give 1/0
/// (NULL when an input is NULL), as ADQL's CONTAINS and INTERSECTS do (ADQL 2.1 §4.2).
pub trait SqlDialect {
    /// The SQL reference of a published table (quoted as the backend needs).
    fn table_ref(&self, table: &TableInfo) -> String;
    /// The SQL reference of a published column of `table`, known in FROM as `qualifier`.
    fn column_ref(&self, qualifier: &str, table: &TableInfo, column: &ColumnInfo) -> String;
    /// An identifier quoted for SQL (`"name"`, with `"` doubled).
    fn quote_ident(&self, name: &str) -> String {
        quote_ident(name)
    }
    /// A 1/0 (NULL when any input is NULL) expression: whether the point (`ra`, `dec`) lies in
    /// the circle around (`ra0`, `dec0`) of radius `r`, all SQL expressions in degrees, exact on
    /// the sphere.
    fn contains_point_circle(&self, ra: &str, dec: &str, ra0: &str, dec0: &str, r: &str) -> String;
    /// The SQL reference of a published region column (xtype adql:REGION) for the region
    /// functions below (by default the column itself).
    fn region_ref(&self, qualifier: &str, table: &TableInfo, column: &ColumnInfo) -> String {
        self.column_ref(qualifier, table, column)
    }
    /// A condition under which the region column's value stands for the whole sky (ObsCore's
    /// all-sky rows: s_region NULL and s_fov 360), for a backend whose region type cannot
    /// hold the whole sky; the geometry predicates are then 1 for such rows. `None` (the
    /// default): the region expression itself covers that case.
    fn region_all_sky(
        &self,
        _qualifier: &str,
        _table: &TableInfo,
        _column: &ColumnInfo,
    ) -> Option<String> {
        None
    }
    /// The SQL spelling of an ADQL numeric literal (`text` as written, `is_int` when it is an
    /// integer that fits 64 bits); by default the text itself.
    fn number_literal(&self, text: &str, _is_int: bool) -> String {
        text.to_string()
    }
    /// `a / b` with PostgreSQL's meaning: integer division truncates toward zero, and a zero
    /// divisor is an error (by default the SQL operator itself).
    fn divide(&self, a: &str, b: &str) -> String {
        format!("({a} / {b})")
    }
    /// `a op b` for `+`, `-` or `*` with PostgreSQL's meaning: integer overflow ("bigint
    /// out of range") and float overflow ("value out of range: overflow") are errors (by
    /// default the SQL operator itself).
    fn arithmetic(&self, op: &str, a: &str, b: &str) -> String {
        format!("({a} {op} {b})")
    }
    /// What follows a LIKE pattern so that no character escapes another (ADQL's LIKE has no
    /// escape character; PostgreSQL's default is the backslash). By default nothing.
    fn like_escape(&self) -> &'static str {
        ""
    }
    /// What follows an ORDER BY term so that NULLs sort as PostgreSQL sorts them: last when
    /// ascending, first when descending (by default nothing: the backend does so already).
    fn order_nulls(&self, _desc: bool) -> &'static str {
        ""
    }
    /// A scalar subquery (`query` selects one column, named `column`, quoted) as a value:
    /// NULL without rows, its value with one row, and an error with more (as in PostgreSQL,
    /// which the default `(query)` relies on).
    fn scalar_subquery(&self, query: &str, _column: &str) -> String {
        format!("({query})")
    }
    /// `CAST(value AS target)` with PostgreSQL's meaning ([`crate::ir::CastTarget`]); by
    /// default the SQL CAST itself.
    fn cast(&self, value: &str, target: &crate::ir::CastTarget) -> String {
        format!("CAST({value} AS {})", target.sql())
    }
    /// An SQL expression for the polygon through `vertices` ((ra, dec) SQL expressions, in
    /// degrees), usable where a region is.
    fn polygon_region(&self, vertices: &[(String, String)]) -> String;
    /// An SQL expression for a polygon given as STC-S text (`POLYGON ICRS ra dec ...`) whose
    /// vertices were all literals: by default the text as an SQL string literal.
    fn polygon_literal(&self, stcs: &str) -> String {
        format!("'{}'", stcs.replace('\'', "''"))
    }
    /// A 1/0 (NULL for NULL inputs) expression: whether the point lies in the region.
    fn contains_point_region(&self, ra: &str, dec: &str, region: &str) -> String;
    /// A 1/0 (NULL for NULL inputs) expression: CONTAINS(a, b) (every point of `a` in `b`)
    /// when `contains`, else INTERSECTS(a, b), for any two shapes (ADQL 2.1 §4.2.3,
    /// §4.2.7). The default takes the four forms above where they fit, and writes every
    /// other pair as `vogate_geo('CONTAINS'|'INTERSECTS', a..., b...)` ([`GeoSql::args`]).
    fn geo_predicate(&self, contains: bool, a: &GeoSql, b: &GeoSql) -> String {
        use GeoSql::*;
        match (contains, a, b) {
            (
                _,
                Point { ra, dec },
                Circle {
                    ra: a0, dec: d0, r, ..
                },
            )
            | (
                false,
                Circle {
                    ra: a0, dec: d0, r, ..
                },
                Point { ra, dec },
            ) => self.contains_point_circle(ra, dec, a0, d0, r),
            (_, Point { ra, dec }, Region { region, .. })
            | (false, Region { region, .. }, Point { ra, dec }) => {
                self.contains_point_region(ra, dec, region)
            }
            (false, Region { region, .. }, Circle { ra, dec, r, .. })
            | (false, Circle { ra, dec, r, .. }, Region { region, .. }) => {
                self.intersects_region_circle(region, ra, dec, r)
            }
            (false, Region { region: x, .. }, Region { region: y, .. }) => {
                self.intersects_regions(x, y)
            }
            _ => format!(
                "vogate_geo('{}', {}, {})",
                if contains { "CONTAINS" } else { "INTERSECTS" },
                a.args().join(", "),
                b.args().join(", ")
            ),
        }
    }
    /// AREA (square degrees) or a coordinate of CENTROID (degrees, RA in [0, 360)) of a
    /// shape, NULL for NULL inputs (and for the centroid of a shape that has none). The
    /// default writes `vogate_geo_fn('AREA'|'CENTROID_RA'|'CENTROID_DEC', a...)`.
    fn geo_function(&self, f: crate::ir::GeoFn, a: &GeoSql) -> String {
        let name = match f {
            crate::ir::GeoFn::Area => "AREA",
            crate::ir::GeoFn::CentroidRa => "CENTROID_RA",
            crate::ir::GeoFn::CentroidDec => "CENTROID_DEC",
        };
        format!("vogate_geo_fn('{name}', {})", a.args().join(", "))
    }
    /// A 1/0 expression: whether the region and the circle share a point.
    fn intersects_region_circle(&self, region: &str, ra0: &str, dec0: &str, r: &str) -> String;
    /// A 1/0 expression: whether the two regions share a point.
    fn intersects_regions(&self, a: &str, b: &str) -> String;
    /// An optional extra condition, ANDed to WHERE, that keeps every row whose point
    /// (`ra`, `dec` columns of `table`, known as `qualifier`) lies in the circle of radius `r`
    /// degrees around (`ra0`, `dec0`) and lets the database use an index (e.g. HEALPix cell
    /// ranges). It must never exclude a row the exact test keeps. `None` (the default): no
    /// prefilter.
    #[allow(clippy::too_many_arguments)]
    fn cone_prefilter(
        &self,
        _qualifier: &str,
        _table: &TableInfo,
        _ra: &ColumnInfo,
        _dec: &ColumnInfo,
        _ra0: f64,
        _dec0: f64,
        _r: f64,
    ) -> Option<String> {
        None
    }
    /// The SQL of the ADQL function `name` (upper case: a math or trigonometric function of
    /// ADQL 2.1 §2.3, LOWER or UPPER) of the SQL expressions `args`, already checked: numbers
    /// for the math functions (ROUND and TRUNCATE with an integer literal second, when
    /// given), text for LOWER and UPPER; `FMOD` is MOD of non-integers, `a - trunc(a / b) *
    /// b` in double precision; `BITAND`, `BITOR`, `BITXOR` (two integers) and `BITNOT` (one)
    /// are ADQL 2.1's `&`, `|`, `^` and `~`. Results must be PostgreSQL's (see the backends).
    /// The default writes the call as it stands.
    fn function(&self, name: &str, args: &[String]) -> String {
        format!("{name}({})", args.join(", "))
    }
    /// An optional extra condition that keeps every row of `table` (known in FROM as
    /// `qualifier`) whose indexed position (`ra`, `dec`) lies within `r` degrees of the
    /// position (`ra0`, `dec0`) of the current row of `table0` (known as `qualifier0`): a
    /// cross-match. ANDed to the pair's condition, it lets `table`'s spatial index serve each
    /// row of `table0`. `None` (the default): no prefilter.
    #[allow(clippy::too_many_arguments)]
    fn join_cone_prefilter(
        &self,
        _qualifier: &str,
        _table: &TableInfo,
        _ra: &ColumnInfo,
        _dec: &ColumnInfo,
        _qualifier0: &str,
        _table0: &TableInfo,
        _ra0: &ColumnInfo,
        _dec0: &ColumnInfo,
        _r: f64,
    ) -> Option<String> {
        None
    }
    /// An optional extra condition, ANDed to WHERE, that keeps every row whose region column
    /// `column` could share a point with the circle of radius `r` degrees around (`ra0`,
    /// `dec0`) (`r` = 0 for a point), and lets the database use an index. It must never
    /// exclude a row the exact test keeps. `None` (the default): no prefilter.
    #[allow(clippy::too_many_arguments)]
    fn region_prefilter(
        &self,
        _qualifier: &str,
        _table: &TableInfo,
        _column: &ColumnInfo,
        _ra0: f64,
        _dec0: f64,
        _r: f64,
    ) -> Option<String> {
        None
    }
    /// A geometry value of DALI xtype `xtype` (`point`, `circle`, `polygon`) made of the
    /// SQL number expressions `numbers` (degrees), for a SELECT list: its DALI text (DALI 1.1
    /// §3.3.5–3.3.7: the numbers separated by spaces, each read back as the same double),
    /// NULL when any number is NULL. Longitudes may be left unwrapped: the backend wraps them
    /// into [0, 360) as it reads the rows ([`vo_common::sky::dali_geometry_normalised`]).
    fn geometry_value(&self, xtype: &str, numbers: &[String]) -> String;
    /// The great-circle distance in degrees between two points given in degrees.
    fn distance(&self, ra1: &str, dec1: &str, ra2: &str, dec2: &str) -> String;
    /// A clause that keeps at most `n` rows, appended after ORDER BY.
    fn limit(&self, n: u64) -> String;
    /// A clause that skips `offset` rows and keeps at most `limit` (all when `None`),
    /// appended after ORDER BY (by default `LIMIT n OFFSET m`, or `OFFSET m`).
    fn limit_offset(&self, limit: Option<u64>, offset: u64) -> String {
        match limit {
            Some(n) => format!("{} OFFSET {offset}", self.limit(n)),
            None => format!(" OFFSET {offset}"),
        }
    }
}

/// A shape's operands as SQL expressions (degrees), for [`SqlDialect::geo_predicate`] and
/// [`SqlDialect::geo_function`].
#[derive(Debug, Clone, PartialEq)]
pub enum GeoSql {
    /// POINT(ra, dec).
    Point {
        /// Right ascension.
        ra: String,
        /// Declination.
        dec: String,
    },
    /// CIRCLE(ra, dec, r).
    Circle {
        /// Centre right ascension.
        ra: String,
        /// Centre declination.
        dec: String,
        /// Radius.
        r: String,
        /// The radius when it is a literal.
        radius: Option<f64>,
    },
    /// BOX(ra, dec, width, height) ([`crate::ir::Shape::Box`]).
    Box {
        /// Centre right ascension.
        ra: String,
        /// Centre declination.
        dec: String,
        /// Extent in longitude.
        width: String,
        /// Extent in latitude.
        height: String,
    },
    /// A polygon or a region column.
    Region {
        /// The dialect's region expression ([`SqlDialect::polygon_literal`],
        /// [`SqlDialect::polygon_region`], [`SqlDialect::region_ref`]).
        region: String,
        /// The same as STC-S text (`POLYGON ICRS ra dec ...`).
        stcs: String,
    },
}

impl GeoSql {
    /// The shape as a kind string and its operands, for a variadic SQL function:
    /// `'POINT', ra, dec` / `'CIRCLE', ra, dec, r` / `'BOX', ra, dec, width, height` /
    /// `'REGION', region`.
    pub fn args(&self) -> Vec<String> {
        match self {
            GeoSql::Point { ra, dec } => vec!["'POINT'".into(), ra.clone(), dec.clone()],
            GeoSql::Circle { ra, dec, r, .. } => {
                vec!["'CIRCLE'".into(), ra.clone(), dec.clone(), r.clone()]
            }
            GeoSql::Box {
                ra,
                dec,
                width,
                height,
            } => vec![
                "'BOX'".into(),
                ra.clone(),
                dec.clone(),
                width.clone(),
                height.clone(),
            ],
            GeoSql::Region { region, .. } => vec!["'REGION'".into(), region.clone()],
        }
    }
}

/// STC-S text of the polygon through `vertices` ((ra, dec) SQL expressions, degrees):
/// `'POLYGON ICRS' || ' ' || (ra1) || ' ' || (dec1) ...`, each number written by the
/// database as its shortest text that reads back the same.
pub fn polygon_text(vertices: &[(String, String)]) -> String {
    let parts: Vec<String> = vertices
        .iter()
        .map(|(ra, dec)| format!("' ' || ({ra}) || ' ' || ({dec})"))
        .collect();
    format!("('POLYGON ICRS' || {})", parts.join(" || "))
}

/// `name` as an SQL delimited identifier: in double quotes, with a `"` inside doubled
/// (SQL-92 §5.2), as PostgreSQL and SQLite read it.
pub fn quote_ident(name: &str) -> String {
    let mut q = String::with_capacity(name.len() + 2);
    push_quoted(&mut q, name);
    q
}

/// Append `name` as an SQL delimited identifier ([`quote_ident`]) to `out`.
pub fn push_quoted(out: &mut String, name: &str) {
    out.push('"');
    for part in name.split_inclusive('"') {
        out.push_str(part);
        if part.ends_with('"') {
            out.push('"');
        }
    }
    out.push('"');
}

/// `qualifier."column"`: the column `column` (unquoted) of the FROM item whose SQL alias is
/// `qualifier` (already quoted).
pub fn qualified_column(qualifier: &str, column: &str) -> String {
    let mut s = String::with_capacity(qualifier.len() + column.len() + 3);
    s.push_str(qualifier);
    s.push('.');
    push_quoted(&mut s, column);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_inner_quotes_doubled() {
        assert_eq!(quote_ident("s_ra"), "\"s_ra\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("\"\""), "\"\"\"\"\"\"");
        assert_eq!(quote_ident(""), "\"\"");
        assert_eq!(quote_ident("é\"x"), "\"é\"\"x\"");
        assert_eq!(qualified_column("\"t1\"", "size"), "\"t1\".\"size\"");
    }
}

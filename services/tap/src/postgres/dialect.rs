//! The renderer's PostgreSQL + pgSphere dialect and STC-S polygons as pgSphere text.

use super::*;
use vo_adql::dialect::GeoSql;
use vo_adql::ir::GeoFn;

/// The PostgreSQL + pgSphere spelling of ADQL. Geometry (ADQL 2.1 §4.2): POINT is `spoint`,
/// CIRCLE `scircle`, POLYGON `spoly`, CONTAINS `@`, INTERSECTS `&&`, DISTANCE `<->`; pgSphere
/// works in radians, so every angle is converted with `radians()` once on the way in and
/// DISTANCE with `degrees()` once on the way out. The predicates give 1/0 (NULL for NULL
/// inputs), as on SQLite.
#[derive(Debug, Clone, Copy, Default)]
pub struct PgDialect;

impl SqlDialect for PgDialect {
    fn table_ref(&self, table: &TableInfo) -> String {
        if table.is_upload() {
            // A TEMP table of the query's own transaction (see crate::upload).
            physical(Some("pg_temp"), &vo_adql::upload_sql_table(&table.name))
        } else {
            physical(table.schema.as_deref(), &table.name)
        }
    }

    fn column_ref(&self, qualifier: &str, table: &TableInfo, column: &ColumnInfo) -> String {
        let col = vo_adql::dialect::qualified_column(qualifier, &table.sql_column(column));
        if column.field.xtype.as_deref() == Some("timestamp")
            && column.field.datatype == "char"
            && !table.is_upload()
        {
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

    fn region_ref(&self, qualifier: &str, table: &TableInfo, column: &ColumnInfo) -> String {
        if is_obscore_region(table, column) {
            format!("{qualifier}.{}", quote_ident("_spoly"))
        } else {
            format!(
                "CAST({} AS spoly)",
                self.column_ref(qualifier, table, column)
            )
        }
    }

    fn region_all_sky(
        &self,
        qualifier: &str,
        table: &TableInfo,
        column: &ColumnInfo,
    ) -> Option<String> {
        // ObsCore all-sky rows have s_region NULL and s_fov 360 (see the README).
        is_obscore_region(table, column)
            .then(|| format!("({qualifier}.\"_spoly\" IS NULL AND {qualifier}.\"s_fov\" >= 360)"))
    }

    fn number_literal(&self, text: &str, is_int: bool) -> String {
        // A decimal literal is NUMERIC in PostgreSQL and an integer one INTEGER (32 bits);
        // ADQL's are doubles and 64-bit integers (as on SQLite), so `2147483647 + 1` is 2^31.
        if is_int {
            format!("CAST({text} AS bigint)")
        } else {
            format!("CAST({text} AS double precision)")
        }
    }

    fn like_escape(&self) -> &'static str {
        // No escape character, as ADQL and SQLite (PostgreSQL's default is the backslash).
        " ESCAPE ''"
    }

    fn cast(&self, value: &str, target: &vo_adql::ir::CastTarget) -> String {
        match target {
            // CHAR(n) padding does not survive PostgreSQL's own use of the value as text;
            // vogate drops it everywhere, as on SQLite.
            vo_adql::ir::CastTarget::Char(_) => {
                format!("CAST(CAST({value} AS {}) AS varchar)", target.sql())
            }
            // DALI timestamp text from ISO 8601 text, checked as SQLite checks it.
            vo_adql::ir::CastTarget::Timestamp => format!("vogate_adql.to_timestamp({value})"),
            _ => format!("CAST({value} AS {})", target.sql()),
        }
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
        // `_spoint @ scircle` uses the GiST index; pgSphere's containment allows 1e-9 rad
        // of slack, so it keeps every row the exact distance test keeps.
        if !table.is_position(ra, dec) || !(0.0..90.0).contains(&r) {
            return None;
        }
        Some(format!(
            "({qualifier}.\"_spoint\" @ scircle({}, radians({r:?})))",
            spoint(&format!("{ra0:?}"), &format!("{dec0:?}"))
        ))
    }

    fn function(&self, name: &str, args: &[String]) -> String {
        // Math on doubles (an integer argument is cast first, so every backend computes in
        // double precision); ROUND and TRUNCATE on PostgreSQL's numeric (halves away from
        // zero, as numeric rounds), back to double; ADQL's LOG is the natural logarithm.
        let d = |x: &String| format!("CAST({x} AS double precision)");
        let f = |sql: &str, x: &String| format!("{sql}({})", d(x));
        match (name, args) {
            ("ABS", [x]) => format!("abs({x})"),
            ("CEILING", [x]) => f("ceil", x),
            ("FLOOR", [x]) => f("floor", x),
            ("DEGREES", [x]) => f("degrees", x),
            ("RADIANS", [x]) => f("radians", x),
            ("EXP", [x]) => f("exp", x),
            ("LOG", [x]) => f("ln", x),
            ("LOG10", [x]) => f("log", x),
            ("SQRT", [x]) => f("sqrt", x),
            ("ACOS", [x]) => f("acos", x),
            ("ASIN", [x]) => f("asin", x),
            ("ATAN", [x]) => f("atan", x),
            ("COS", [x]) => f("cos", x),
            ("COT", [x]) => f("cot", x),
            ("SIN", [x]) => f("sin", x),
            ("TAN", [x]) => f("tan", x),
            ("ATAN2", [y, x]) => format!("atan2({}, {})", d(y), d(x)),
            ("POWER", [x, y]) => format!("power({}, {})", d(x), d(y)),
            ("MOD", [a, b]) => format!("mod({a}, {b})"),
            ("FMOD", [a, b]) => format!("({} - trunc({} / {}) * {})", d(a), d(a), d(b), d(b)),
            ("PI", []) => "pi()".into(),
            ("RA_NORMALISED", [x]) => format!("({} - 360 * floor({} / 360))", d(x), d(x)),
            ("RAND", []) => "random()".into(),
            ("RAND_SEEDED", [seed, call]) => format!("vogate_adql.rand({seed}, {call})"),
            ("ROUND" | "TRUNCATE", [x, rest @ ..]) => {
                let func = if name == "ROUND" { "round" } else { "trunc" };
                let places = rest
                    .first()
                    .map_or(String::new(), |n| format!(", CAST({n} AS integer)"));
                format!("CAST({func}(CAST({x} AS numeric){places}) AS double precision)")
            }
            ("BITAND", [a, b]) => format!("({a} & {b})"),
            ("BITOR", [a, b]) => format!("({a} | {b})"),
            // PostgreSQL's ^ is a power; # is its exclusive OR.
            ("BITXOR", [a, b]) => format!("({a} # {b})"),
            ("BITNOT", [a]) => format!("(~ {a})"),
            // The UDFs (vo_adql::check::UDFS).
            ("HEALPIX_INDEX", [o, ra, dec]) => {
                format!("healpix_nest(CAST({o} AS integer), {})", spoint(ra, dec))
            }
            ("HEALPIX_CENTER_RA", [o, i]) => format!(
                "degrees(long(center_of_healpix_nest(CAST({o} AS integer), CAST({i} AS bigint))))"
            ),
            ("HEALPIX_CENTER_DEC", [o, i]) => format!(
                "degrees(lat(center_of_healpix_nest(CAST({o} AS integer), CAST({i} AS bigint))))"
            ),
            ("EPOCH_PROP_RA" | "EPOCH_PROP_DEC", args) if args.len() == 8 => format!(
                "(vogate_adql.epoch_prop_pos({}))[{}]",
                args.iter()
                    .map(|a| format!("CAST({a} AS double precision)"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if name == "EPOCH_PROP_RA" { 1 } else { 2 }
            ),
            ("HASWORD", [h, n]) => format!("vogate_adql.hasword({h}, {n})"),
            ("HASHLIST_HAS", [l, i]) => {
                format!("(lower({i}) = ANY(string_to_array(lower({l}), '#')))::int")
            }
            ("BOOL_INT", [x]) => format!("({x})::int"),
            ("STRING_AGG", [x, d]) => format!("string_agg({x}, {d})"),
            ("SUBSTRING", [x, start, rest @ ..]) => format!(
                "substr({x}, CAST({start} AS integer){})",
                rest.first()
                    .map_or(String::new(), |n| format!(", CAST({n} AS integer)"))
            ),
            ("LOWER", [x]) => format!("lower({x})"),
            ("UPPER", [x]) => format!("upper({x})"),
            _ => format!("{name}({})", args.join(", ")),
        }
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
        // `_spoint @ scircle(centre, r)` with the centre from the other row: a parameterised
        // GiST scan per row of the other table (pgSphere's 1e-9 rad of slack keeps every pair
        // the exact distance test keeps). The centre is the other table's own `_spoint` when
        // it has one (NULL where its position is not a valid one).
        if !table.is_position(ra, dec) {
            return None;
        }
        let centre = if table0.is_position(ra0, dec0) {
            format!("{qualifier0}.\"_spoint\"")
        } else {
            spoint(
                &self.column_ref(qualifier0, table0, ra0),
                &self.column_ref(qualifier0, table0, dec0),
            )
        };
        Some(format!(
            "({qualifier}.\"_spoint\" @ scircle({centre}, radians({r:?})))"
        ))
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
        // `_spoly && scircle` uses the GiST index on `_spoly` (pgSphere's overlap test allows
        // 1e-9 rad of slack, so it keeps every row the exact test keeps); all-sky rows
        // (`_spoly` NULL, s_fov 360) are kept through the B-tree index on s_fov.
        if !is_obscore_region(table, column) || !(0.0..90.0).contains(&r) {
            return None;
        }
        Some(format!(
            "({qualifier}.\"_spoly\" && scircle({}, radians({r:?})) OR {qualifier}.\"s_fov\" >= 360)",
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

    fn geo_predicate(&self, contains: bool, a: &GeoSql, b: &GeoSql) -> String {
        use GeoSql::*;
        let null_or = |value: &str| {
            format!(
                "(CASE WHEN {} OR {} THEN NULL ELSE {value} END)",
                is_null(a),
                is_null(b)
            )
        };
        match (contains, a, b) {
            (
                _,
                Box {
                    ra,
                    dec,
                    width,
                    height,
                },
                Box {
                    ra: ra2,
                    dec: dec2,
                    width: w2,
                    height: h2,
                },
            ) => format!(
                "(vogate_adql.box_relation({contains}, {ra}, {dec}, {width}, {height}, {ra2}, {dec2}, {w2}, {h2}))::int"
            ),
            // A box and a circle: by the distance from the centre to the box, for any radius
            // (pgSphere 1.2's sbox && scircle misses circles that meet a box by degrees).
            (
                _,
                Box {
                    ra,
                    dec,
                    width,
                    height,
                },
                Circle {
                    ra: c_ra,
                    dec: c_dec,
                    r,
                    ..
                },
            )
            | (
                false,
                Circle {
                    ra: c_ra,
                    dec: c_dec,
                    r,
                    ..
                },
                Box {
                    ra,
                    dec,
                    width,
                    height,
                },
            ) => format!(
                "(vogate_adql.box_circle('{}', {ra}, {dec}, {width}, {height}, {c_ra}, {c_dec}, {r}))::int",
                if contains { "box_in_circle" } else { "meets" }
            ),
            (
                true,
                Circle {
                    ra: c_ra,
                    dec: c_dec,
                    r,
                    ..
                },
                Box {
                    ra,
                    dec,
                    width,
                    height,
                },
            ) => format!(
                "(vogate_adql.box_circle('circle_in_box', {ra}, {dec}, {width}, {height}, {c_ra}, {c_dec}, {r}))::int"
            ),
            (_, Point { .. }, Point { .. }) => {
                format!("(({}) = ({}))::int", pg_shape(a), pg_shape(b))
            }
            (
                _,
                Point { ra, dec },
                Circle {
                    ra: a0, dec: d0, r, ..
                },
            ) => self.contains_point_circle(ra, dec, a0, d0, r),
            (_, Point { .. }, _) => format!("(({}) @ ({}))::int", pg_shape(a), pg_shape(b)),
            // CONTAINS(shape, POINT): only a circle of radius 0 at the point.
            (true, Circle { r, .. }, Point { .. }) => format!(
                "(({r}) <= 0 AND ({}) = ({}))::int",
                spoint_of(a),
                pg_shape(b)
            ),
            (true, _, Point { .. }) => null_or("0"),
            // Circle and circle: by the distance of the centres, for any radii.
            (
                _,
                Circle {
                    ra: ra1,
                    dec: dec1,
                    r: r1,
                    ..
                },
                Circle {
                    ra: ra2,
                    dec: dec2,
                    r: r2,
                    ..
                },
            ) => {
                let d = self.distance(ra1, dec1, ra2, dec2);
                if contains {
                    format!("(LEAST({d} + ({r1}), 180) <= ({r2}))::int")
                } else {
                    format!("({d} <= ({r1}) + ({r2}))::int")
                }
            }
            // A shape in a circle: pgSphere's @ up to 90 degrees; beyond, the shape must not
            // meet the (open) circle around the antipode that is the rest of the sky.
            (true, x, c @ Circle { r, radius, .. }) => wide_circle(*radius, r, |wide| match wide {
                Radius::Narrow => format!("(({}) @ ({}))::int", pg_shape(x), pg_shape(c)),
                Radius::Whole => null_or("1"),
                Radius::Wide => format!("(NOT (({}) && ({})))::int", pg_shape(x), complement(c)),
            }),
            // A circle in a box or polygon: pgSphere's @ up to 90 degrees; a wider circle
            // fits only in a ring of longitudes that spans its latitudes (a polygon is
            // smaller than a hemisphere).
            (true, c @ Circle { dec, r, radius, .. }, y) => wide_circle(*radius, r, |wide| {
                match (wide, y) {
                (Radius::Narrow, _) => format!("(({}) @ ({}))::int", pg_shape(c), pg_shape(y)),
                (_, Box { width, dec: bdec, height, .. }) => format!(
                    "(({width}) >= 360 AND (({bdec}) - ({height}) / 2.0 <= -90 OR ({dec}) - ({r}) >= ({bdec}) - ({height}) / 2.0) AND (({bdec}) + ({height}) / 2.0 >= 90 OR ({dec}) + ({r}) <= ({bdec}) + ({height}) / 2.0))::int"
                ),
                _ => null_or("0"),
            }
            }),
            (false, c @ Circle { r, radius, .. }, x) | (false, x, c @ Circle { r, radius, .. }) => {
                wide_circle(*radius, r, |wide| match wide {
                    Radius::Narrow => format!("(({}) && ({}))::int", pg_shape(x), pg_shape(c)),
                    Radius::Whole => null_or("1"),
                    Radius::Wide => {
                        format!("(NOT (({}) @ ({})))::int", pg_shape(x), complement(c))
                    }
                })
            }
            (true, x, y) => format!("(({}) @ ({}))::int", pg_shape(x), pg_shape(y)),
            (false, x, y) => format!("(({}) && ({}))::int", pg_shape(x), pg_shape(y)),
        }
    }

    fn geo_function(&self, f: GeoFn, a: &GeoSql) -> String {
        use GeoSql::*;
        match (f, a) {
            (GeoFn::Area, Point { ra, dec }) => format!(
                "(CASE WHEN {} IS NULL THEN NULL ELSE CAST(0 AS double precision) END)",
                spoint(ra, dec)
            ),
            // 4π sin²(r/2) sr, as vo_common::geometry computes it.
            (GeoFn::Area, Circle { r, .. }) => format!(
                "(4 * pi() * sin(radians({r}) / 2) * sin(radians({r}) / 2) * ((180 / pi()) * (180 / pi())))"
            ),
            (GeoFn::Area, Box { ra, dec, width, height }) => {
                format!("vogate_adql.box_area({ra}, {dec}, {width}, {height})")
            }
            (GeoFn::Area, Region { stcs, .. }) => format!("vogate_adql.polygon_area({stcs})"),
            // CENTROID of a point is the point, of a circle its centre.
            (_, Point { ra, dec } | Circle { ra, dec, .. }) => {
                if f == GeoFn::CentroidRa {
                    self.function("RA_NORMALISED", std::slice::from_ref(ra))
                } else {
                    format!("CAST({dec} AS double precision)")
                }
            }
            (_, Box { ra, dec, width, height }) => format!(
                "(vogate_adql.box_centroid({ra}, {dec}, {width}, {height}))[{}]",
                if f == GeoFn::CentroidRa { 1 } else { 2 }
            ),
            (_, Region { stcs, .. }) => format!(
                "(vogate_adql.polygon_centroid({stcs}))[{}]",
                if f == GeoFn::CentroidRa { 1 } else { 2 }
            ),
        }
    }

    /// Each number as float8's text, which PostgreSQL (12 and later, `extra_float_digits` 1)
    /// writes as the shortest text that reads back as the same double; the row reader wraps
    /// the longitudes.
    fn geometry_value(&self, _xtype: &str, numbers: &[String]) -> String {
        let parts: Vec<String> = numbers
            .iter()
            .map(|n| format!("CAST({n} AS float8)::text"))
            .collect();
        format!("({})", parts.join(" || ' ' || "))
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

pub(super) fn is_obscore_region(table: &TableInfo, column: &ColumnInfo) -> bool {
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

/// How a circle's radius stands against pgSphere's limit of 90 degrees.
enum Radius {
    /// Under 90 degrees: pgSphere's scircle.
    Narrow,
    /// 90 to 180 degrees: through the complement, the open circle around the antipode.
    Wide,
    /// 180 degrees or more: the whole sky.
    Whole,
}

/// The SQL for a circle of radius `r` (SQL, degrees; `radius` when a literal), from `sql`
/// for each case: chosen now for a literal radius, by a CASE on the radius otherwise
/// (PostgreSQL evaluates only the branch taken, so no scircle of 90 degrees or more is made).
fn wide_circle(radius: Option<f64>, r: &str, sql: impl Fn(Radius) -> String) -> String {
    match radius {
        Some(v) if v < 90.0 => sql(Radius::Narrow),
        Some(v) if v >= 180.0 => sql(Radius::Whole),
        Some(_) => sql(Radius::Wide),
        None => format!(
            "(CASE WHEN ({r}) IS NULL THEN NULL WHEN ({r}) < 90 THEN {} WHEN ({r}) >= 180 THEN {} ELSE {} END)",
            sql(Radius::Narrow),
            sql(Radius::Whole),
            sql(Radius::Wide)
        ),
    }
}

/// The pgSphere value of a shape: spoint, scircle (under 90 degrees), sbox or spoly.
fn pg_shape(g: &GeoSql) -> String {
    match g {
        GeoSql::Point { ra, dec } => spoint(ra, dec),
        GeoSql::Circle { ra, dec, r, .. } => {
            format!("scircle({}, radians({r}))", spoint(ra, dec))
        }
        GeoSql::Box {
            ra,
            dec,
            width,
            height,
        } => format!("vogate_adql.sbox({ra}, {dec}, {width}, {height})"),
        GeoSql::Region { region, .. } => region.clone(),
    }
}

/// Whether a shape is NULL (an operand is), without making a pgSphere circle (which
/// cannot be 90 degrees or more).
fn is_null(g: &GeoSql) -> String {
    match g {
        GeoSql::Circle { ra, dec, r, .. } => {
            format!("({} IS NULL OR ({r}) IS NULL)", spoint(ra, dec))
        }
        other => format!("({} IS NULL)", pg_shape(other)),
    }
}

/// The centre of a circle (or a point) as an spoint.
fn spoint_of(g: &GeoSql) -> String {
    match g {
        GeoSql::Point { ra, dec } | GeoSql::Circle { ra, dec, .. } => spoint(ra, dec),
        other => pg_shape(other),
    }
}

/// The rest of the sky outside a circle of 90 to 180 degrees: the circle of 180 − r around
/// its antipode (the boundary is shared, within pgSphere's 1e-9 rad).
fn complement(c: &GeoSql) -> String {
    match c {
        GeoSql::Circle { ra, dec, r, .. } => format!(
            "scircle({}, radians(180 - ({r})))",
            spoint(&format!("({ra}) + 180"), &format!("-({dec})"))
        ),
        other => pg_shape(other),
    }
}

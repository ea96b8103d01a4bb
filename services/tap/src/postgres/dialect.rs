//! The renderer's PostgreSQL + pgSphere dialect and STC-S polygons as pgSphere text.

use super::*;

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
            ("RAND", []) => "random()".into(),
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

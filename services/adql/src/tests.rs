//! Unit tests of the translator with a two-table catalog and a plain SQL dialect.

use super::*;

struct Cat(Vec<TableInfo>);

impl Catalog for Cat {
    fn tables(&self) -> &[TableInfo] {
        &self.0
    }
}

struct Plain;

impl SqlDialect for Plain {
    fn table_ref(&self, t: &TableInfo) -> String {
        format!("\"{}\"", t.qualified_name())
    }
    fn column_ref(&self, _t: &TableInfo, c: &ColumnInfo) -> String {
        format!("\"{}\"", c.name)
    }
    fn contains_point_circle(&self, a: &str, b: &str, c: &str, d: &str, r: &str) -> String {
        format!("pc({a}, {b}, {c}, {d}, {r})")
    }
    fn distance(&self, a: &str, b: &str, c: &str, d: &str) -> String {
        format!("dist({a}, {b}, {c}, {d})")
    }
    fn polygon_region(&self, v: &[(String, String)]) -> String {
        let parts: Vec<String> = v.iter().map(|(a, b)| format!("{a} {b}")).collect();
        format!("poly({})", parts.join(", "))
    }
    fn contains_point_region(&self, ra: &str, dec: &str, region: &str) -> String {
        format!("pr({ra}, {dec}, {region})")
    }
    fn intersects_region_circle(&self, region: &str, a: &str, b: &str, r: &str) -> String {
        format!("rc({region}, {a}, {b}, {r})")
    }
    fn intersects_regions(&self, a: &str, b: &str) -> String {
        format!("rr({a}, {b})")
    }
    fn limit(&self, n: u64) -> String {
        format!(" LIMIT {n}")
    }
}

fn col(name: &str, datatype: &str) -> ColumnInfo {
    ColumnInfo {
        name: name.into(),
        field: FieldMeta {
            name: name.into(),
            datatype: datatype.into(),
            ..Default::default()
        },
    }
}

fn catalog() -> Cat {
    Cat(vec![
        TableInfo {
            schema: Some("ivoa".into()),
            name: "ObsCore".into(),
            position: Some(("s_ra".into(), "s_dec".into())),
            columns: vec![
                col("obs_id", "char"),
                col("s_ra", "double"),
                col("s_dec", "double"),
                col("calib_level", "int"),
                ColumnInfo {
                    name: "s_region".into(),
                    field: FieldMeta {
                        name: "s_region".into(),
                        datatype: "char".into(),
                        xtype: Some("adql:REGION".into()),
                        ..Default::default()
                    },
                },
            ],
        },
        TableInfo {
            schema: Some("TAP_SCHEMA".into()),
            name: "tables".into(),
            position: None,
            columns: vec![col("table_name", "char"), col("MixedCase", "char")],
        },
    ])
}

fn ok(adql: &str) -> Translated {
    translate(adql, &catalog(), &Plain).unwrap_or_else(|e| panic!("{adql}: {e}"))
}

fn err(adql: &str) -> String {
    translate(adql, &catalog(), &Plain).expect_err(adql).message
}

#[test]
fn select_columns_with_top_and_case_insensitive_names() {
    let t = ok("SELECT TOP 5 OBS_ID, s_RA FROM IVOA.obscore WHERE s_dec > -10.5");
    assert_eq!(t.top, Some(5));
    assert_eq!(
        t.sql,
        "SELECT \"obs_id\", \"s_ra\" FROM \"ivoa.ObsCore\" WHERE (\"s_dec\" > (-10.5))"
    );
    let names: Vec<&str> = t.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["obs_id", "s_ra"]);
}

#[test]
fn star_expands_in_catalog_order() {
    let t = ok("select * from ivoa.ObsCore");
    let names: Vec<&str> = t.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["obs_id", "s_ra", "s_dec", "calib_level", "s_region"]
    );
    assert_eq!(t.top, None);
    let t = ok("select o.* from ivoa.ObsCore AS o where o.calib_level = 2");
    assert_eq!(t.fields.len(), 5);
    assert!(t.sql.ends_with("WHERE (\"calib_level\" = 2)"));
}

#[test]
fn quoted_identifiers_match_exactly() {
    ok("SELECT \"MixedCase\" FROM TAP_SCHEMA.tables");
    ok("SELECT mixedcase FROM TAP_SCHEMA.tables");
    let e = err("SELECT \"mixedcase\" FROM TAP_SCHEMA.tables");
    assert!(e.contains("column '\"mixedcase\"' does not exist"), "{e}");
    let e = err("SELECT obs_id FROM \"ivoa\".\"obscore\"");
    assert!(
        e.contains("table '\"ivoa\".\"obscore\"' does not exist"),
        "{e}"
    );
}

#[test]
fn unknown_names_are_reported_together_with_positions() {
    let e = err("SELECT foo, bar\nFROM ivoa.ObsCore");
    assert!(
        e.contains("column 'foo' does not exist in table ivoa.ObsCore at line 1, column 8"),
        "{e}"
    );
    assert!(
        e.contains("column 'bar' does not exist in table ivoa.ObsCore at line 1, column 13"),
        "{e}"
    );
    let e = err("SELECT * FROM ivoa.nosuch");
    assert!(
        e.contains("table 'ivoa.nosuch' does not exist at line 1, column 15"),
        "{e}"
    );
}

#[test]
fn syntax_errors_say_where() {
    let e = err("SELECT s_ra,, FROM ivoa.ObsCore");
    assert!(e.starts_with("ADQL syntax error"), "{e}");
    assert!(e.contains("line 1, column 13"), "{e}");
}

#[test]
fn non_adql_is_refused() {
    assert!(err("SELECT s_ra FROM ivoa.ObsCore LIMIT 3").contains("use SELECT TOP"));
    assert!(
        err("SELECT s_ra FROM ivoa.ObsCore; SELECT 1 FROM ivoa.ObsCore").contains("one query only")
    );
    assert!(err("DELETE FROM ivoa.ObsCore").contains("only SELECT"));
    assert!(err("SELECT pg_sleep(10) FROM ivoa.ObsCore").contains("function 'PG_SLEEP'"));
    assert!(
        err("SELECT s_ra FROM ivoa.ObsCore GROUP BY s_ra").contains("GROUP BY is not supported")
    );
    assert!(err("SELECT a.s_ra FROM ivoa.ObsCore AS o").contains("'a' in 'a.s_ra'"));
    assert!(
        err("SELECT s_ra FROM ivoa.ObsCore o JOIN TAP_SCHEMA.tables t ON 1=1").contains("JOIN")
    );
}

#[test]
fn contains_point_circle_in_either_order() {
    let a = ok("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10, 20, 0.5)) = 1");
    assert!(
        a.sql
            .ends_with("WHERE (pc(\"s_ra\", \"s_dec\", 10, 20, 0.5) = 1)"),
        "{}",
        a.sql
    );
    let b = ok("SELECT obs_id FROM ivoa.ObsCore WHERE 1 = CONTAINS(POINT(s_ra, s_dec), CIRCLE(10, 20, 0.5))");
    assert!(
        b.sql
            .ends_with("WHERE (1 = pc(\"s_ra\", \"s_dec\", 10, 20, 0.5))"),
        "{}",
        b.sql
    );
    let e = err("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('GALACTIC', s_ra, s_dec), CIRCLE('ICRS', 1, 2, 3)) = 1");
    assert!(
        e.contains("coordinate system 'GALACTIC' at line 1, column 54"),
        "{e}"
    );
    let e = err("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(CIRCLE('ICRS', 1, 2, 3), POINT('ICRS', s_ra, s_dec)) = 1");
    assert!(
        e.contains("CONTAINS(CIRCLE, POINT) at line 1, column 39 is not supported"),
        "{e}"
    );
    let e = err("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', obs_id, s_dec), CIRCLE('ICRS', 1, 2, 3)) = 1");
    assert!(e.contains("POINT arguments must be numbers"), "{e}");
}

#[test]
fn where_operators_render() {
    let t = ok("SELECT obs_id FROM ivoa.ObsCore WHERE s_ra BETWEEN 1 AND 2 AND obs_id LIKE 'a%' OR NOT (s_dec IS NULL) AND calib_level IN (1, 2) AND obs_id NOT ILIKE 'X%'");
    assert!(t.sql.contains("(\"s_ra\" BETWEEN 1 AND 2)"));
    assert!(t.sql.contains("(\"obs_id\" LIKE 'a%')"));
    assert!(t.sql.contains("(NOT ((\"s_dec\" IS NULL)))"));
    assert!(t.sql.contains("(\"calib_level\" IN (1, 2))"));
    assert!(t.sql.contains("(lower(\"obs_id\") NOT LIKE lower('X%'))"));
    let t = ok("SELECT obs_id FROM ivoa.ObsCore WHERE obs_id = 'it''s'");
    assert!(t.sql.ends_with("(\"obs_id\" = 'it''s')"));
}

#[test]
fn order_by_columns_aliases_and_positions() {
    let t = ok("SELECT obs_id AS id, s_ra FROM ivoa.ObsCore ORDER BY id DESC, 2, s_dec");
    assert!(
        t.sql.ends_with("ORDER BY 1 DESC, 2, \"s_dec\""),
        "{}",
        t.sql
    );
    assert_eq!(t.fields[0].name, "id");
    assert!(err("SELECT s_ra FROM ivoa.ObsCore ORDER BY 3").contains("there are 1 output columns"));
}

#[test]
fn expressions_get_types_and_unique_names() {
    let t = ok("SELECT 7, s_ra * 2, calib_level + 1, DISTANCE(POINT(s_ra, s_dec), POINT(1, 2)) AS d, s_ra, s_ra FROM ivoa.ObsCore");
    let got: Vec<(&str, &str)> = t
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.datatype.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("col1", "long"),
            ("col2", "double"),
            ("col3", "long"),
            ("d", "double"),
            ("s_ra", "double"),
            ("s_ra_2", "double")
        ]
    );
    assert_eq!(t.fields[3].unit.as_deref(), Some("deg"));
    assert!(t.sql.contains("dist(\"s_ra\", \"s_dec\", 1, 2)"));
    let t = ok("SELECT COUNT(*) FROM ivoa.ObsCore WHERE s_ra > 1");
    assert_eq!(
        (t.fields[0].name.as_str(), t.fields[0].datatype.as_str()),
        ("count", "long")
    );
}

#[test]
fn types_are_checked() {
    let cases = [
        ("SELECT 'a' + 1 FROM ivoa.ObsCore", "+ needs a number but at line 1, column 8 is a string"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE s_ra < 'a'", "< mixes a number and a string at line 1, column 46"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE s_ra BETWEEN 'a' AND 'z'", "BETWEEN mixes a number and a string"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE 1", "WHERE needs a condition"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE s_ra", "WHERE needs a condition"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE s_ra > 1 AND s_dec", "AND needs a condition but at line 1, column 52 is a number"),
        ("SELECT s_ra > 1 FROM ivoa.ObsCore", "a condition cannot be selected"),
        ("SELECT COUNT(*), obs_id FROM ivoa.ObsCore", "needs GROUP BY"),
        ("SELECT obs_id FROM ivoa.ObsCore ORDER BY 'x'", "ORDER BY 'x'"),
        ("SELECT obs_id FROM ivoa.ObsCore ORDER BY -1", "ORDER BY -1"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE obs_id LIKE 3", "LIKE needs a string"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE calib_level IN (1, 'x')", "IN mixes a number and a string"),
        ("SELECT 1e999999 FROM ivoa.ObsCore", "out of range"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE obs_id = 'a\0b'", "NUL"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(10, 95, 1)) = 1", "declination 95 at line 1, column 79 must be in [-90, 90]"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(10, 5, -1)) = 1", "radius -1 at line 1, column 83 must be in [0, 180]"),
        ("SELECT DISTANCE(POINT(0, 91), POINT(0, 0)) FROM ivoa.ObsCore", "declination 91"),
        ("SELECT TOP 2 DISTINCT obs_id FROM ivoa.ObsCore", "reserved word"),
    ];
    for (q, want) in cases {
        let e = err(q);
        assert!(e.contains(want), "{q}: {e}");
    }
    // NULL goes with every type; comparisons of strings and of numbers pass.
    ok("SELECT obs_id FROM ivoa.ObsCore WHERE s_ra = NULL OR obs_id > 'a' OR NOT (s_dec < 0 AND calib_level >= 1)");
}

#[test]
fn long_and_deep_expressions_are_refused_without_crashing() {
    let sum = vec!["1"; 400].join(" + ");
    let t = ok(&format!("SELECT {sum} AS a FROM ivoa.ObsCore"));
    assert_eq!(t.fields[0].datatype, "long");
    let sum = vec!["1"; 5000].join(" + ");
    assert!(err(&format!("SELECT {sum} AS a FROM ivoa.ObsCore"))
        .contains("5000 terms; the limit is 500"));
    let ors: Vec<String> = (0..499).map(|i| format!("obs_id = 'f{i}'")).collect();
    ok(&format!(
        "SELECT obs_id FROM ivoa.ObsCore WHERE {}",
        ors.join(" OR ")
    ));
    let many = vec!["s_ra"; 1001].join(", ");
    assert!(err(&format!("SELECT {many} FROM ivoa.ObsCore"))
        .contains("1001 columns; the limit is 1000"));
    let unknown: Vec<String> = (0..50).map(|i| format!("c{i}")).collect();
    let e = err(&format!("SELECT {} FROM ivoa.ObsCore", unknown.join(", ")));
    assert!(e.ends_with("and 30 more errors"), "{e}");
}

#[test]
fn footprint_predicates_render_in_either_order() {
    let cases = [
        (
            "CONTAINS(POINT('ICRS', 10, 20), s_region) = 1",
            "(pr(10, 20, \"s_region\") = 1)",
        ),
        (
            "INTERSECTS(s_region, CIRCLE('ICRS', 10, 20, 1)) = 1",
            "(rc(\"s_region\", 10, 20, 1) = 1)",
        ),
        (
            "1 = INTERSECTS(CIRCLE(10, 20, 1), s_region)",
            "(1 = rc(\"s_region\", 10, 20, 1))",
        ),
        (
            "INTERSECTS(s_region, POLYGON('ICRS', 1, 2, 3, 4, 5, 7)) = 1",
            "(rr(\"s_region\", 'POLYGON ICRS 1.0 2.0 3.0 4.0 5.0 7.0') = 1)",
        ),
        (
            "INTERSECTS(POLYGON(POINT(1, 2), POINT(3, 4), POINT(5, 7)), s_region) = 1",
            "(rr(\"s_region\", poly(1 2, 3 4, 5 7)) = 1)",
        ),
        (
            "CONTAINS(POINT(s_ra, s_dec), POLYGON(1, 2, 3, 4, 5, 7)) = 1",
            "(pr(\"s_ra\", \"s_dec\", 'POLYGON ICRS 1.0 2.0 3.0 4.0 5.0 7.0') = 1)",
        ),
        (
            "CONTAINS(POINT(1, 2), POLYGON(s_ra, s_dec, 3, 4, 5, 7)) = 1",
            "(pr(1, 2, poly(\"s_ra\" \"s_dec\", 3 4, 5 7)) = 1)",
        ),
        (
            "INTERSECTS(POINT(10, 20), s_region) = 1",
            "(pr(10, 20, \"s_region\") = 1)",
        ),
    ];
    for (cond, want) in cases {
        let t = ok(&format!("SELECT obs_id FROM ivoa.ObsCore WHERE {cond}"));
        assert!(
            t.sql.ends_with(&format!("WHERE {want}")),
            "{cond}: {}",
            t.sql
        );
    }
    let bad = [
        (
            "CONTAINS(POINT(1, 2), s_ra) = 1",
            "column 's_ra' at line 1, column 61 is not a region",
        ),
        (
            "INTERSECTS(s_region, POLYGON(1, 2, 3, 4)) = 1",
            "POLYGON at line 1, column 60 takes at least 3 vertices",
        ),
        (
            "INTERSECTS(s_region, POLYGON(0, 0, 120, 0, 240, 0)) = 1",
            "does not fit within 89 degrees of one point",
        ),
        (
            "INTERSECTS(s_region, POLYGON(0, 0, 1, 0, 1, 95)) = 1",
            "POLYGON declination 95",
        ),
        (
            "CONTAINS(s_region, POINT(1, 2)) = 1",
            "CONTAINS(a region column, POINT)",
        ),
        (
            "INTERSECTS(CIRCLE(1, 2, 3), CIRCLE(1, 2, 3)) = 1",
            "INTERSECTS(CIRCLE, CIRCLE)",
        ),
        (
            "CONTAINS(POINT('GALACTIC', 1, 2), s_region) = 1",
            "coordinate system 'GALACTIC'",
        ),
    ];
    for (cond, want) in bad {
        let e = err(&format!("SELECT obs_id FROM ivoa.ObsCore WHERE {cond}"));
        assert!(e.contains(want), "{cond}: {e}");
    }
}

#[test]
fn self_crossing_literal_polygons_are_refused() {
    let e = err("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), POLYGON('ICRS', 10, 40, 12, 40, 10, 42, 12, 42)) = 1");
    assert!(e.contains("edges cross") && e.contains("line 1"), "{e}");
    // The same vertices in order around the square are a polygon.
    let t = ok("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), POLYGON('ICRS', 10, 40, 12, 40, 12, 42, 10, 42)) = 1");
    assert!(
        t.sql
            .contains("POLYGON ICRS 10.0 40.0 12.0 40.0 12.0 42.0 10.0 42.0"),
        "{}",
        t.sql
    );
}

//! Unit tests of the translator with a two-table catalog and a plain SQL dialect.

use super::*;
use vo_common::FieldMeta;

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
    fn column_ref(&self, q: &str, _t: &TableInfo, c: &ColumnInfo) -> String {
        format!("{q}.\"{}\"", c.name)
    }
    fn contains_point_circle(&self, a: &str, b: &str, c: &str, d: &str, r: &str) -> String {
        format!("pc({a}, {b}, {c}, {d}, {r})")
    }
    fn geometry_value(&self, xtype: &str, numbers: &[String]) -> String {
        format!("{xtype}({})", numbers.join(", "))
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
    fn join_cone_prefilter(
        &self,
        q: &str,
        t: &TableInfo,
        ra: &ColumnInfo,
        dec: &ColumnInfo,
        q0: &str,
        t0: &TableInfo,
        ra0: &ColumnInfo,
        dec0: &ColumnInfo,
        r: f64,
    ) -> Option<String> {
        t.is_position(ra, dec).then(|| {
            format!(
                "near({q}, {}, {}, {r})",
                self.column_ref(q0, t0, ra0),
                self.column_ref(q0, t0, dec0)
            )
        })
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
        "SELECT \"t1\".\"obs_id\" AS \"c1\", \"t1\".\"s_ra\" AS \"c2\" FROM \"ivoa.ObsCore\" AS \"t1\" WHERE (\"t1\".\"s_dec\" > (-10.5))"
    );
    let names: Vec<&str> = t.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["obs_id", "s_ra"]);
    // TOP and MAXREC: the limit asked of the database.
    assert_eq!(
        t.sql_with_limit(&Plain, 100),
        (format!("{} LIMIT 5", t.sql), false)
    );
    assert_eq!(
        t.sql_with_limit(&Plain, 3),
        (format!("{} LIMIT 4", t.sql), true)
    );
    let t = ok("SELECT obs_id FROM ivoa.ObsCore ORDER BY obs_id OFFSET 10");
    assert_eq!(t.offset, Some(10));
    assert!(t
        .sql_with_limit(&Plain, 7)
        .0
        .ends_with("ORDER BY 1 ASC LIMIT 8 OFFSET 10"));
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
    assert!(
        t.sql.ends_with("WHERE (\"t1\".\"calib_level\" = 2)"),
        "{}",
        t.sql
    );
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
    // In a join, all unknown names of all clauses at once.
    let e =
        err("SELECT o.nope, t.zip FROM ivoa.ObsCore AS o JOIN TAP_SCHEMA.tables AS t ON o.x = t.y");
    for want in ["'nope'", "'zip'", "'x'", "'y'"] {
        assert!(e.contains(want), "{want}: {e}");
    }
}

#[test]
fn syntax_errors_say_where() {
    let e = err("SELECT s_ra,, FROM ivoa.ObsCore");
    assert!(e.starts_with("ADQL syntax error"), "{e}");
    assert!(e.contains("line 1, column 13"), "{e}");
    let e = err("SELECT size FROM ivoa.ObsCore");
    assert!(e.contains("reserved word") && e.contains("\"size\""), "{e}");
}

#[test]
fn non_adql_is_refused() {
    assert!(err("SELECT s_ra FROM ivoa.ObsCore LIMIT 3").contains("use SELECT TOP"));
    assert!(
        err("SELECT s_ra FROM ivoa.ObsCore; SELECT 1 FROM ivoa.ObsCore").contains("one query only")
    );
    assert!(err("DELETE FROM ivoa.ObsCore").contains("expected SELECT, found 'DELETE'"));
    assert!(err("SELECT pg_sleep(10) FROM ivoa.ObsCore")
        .contains("'pg_sleep' is neither an ADQL function"));
    assert!(err("SELECT ivo_nothing(1) FROM ivoa.ObsCore").contains("not provided by this service"));
    assert!(err("SELECT a.s_ra FROM ivoa.ObsCore AS o").contains("'a' in 'a.s_ra'"));
    // Once aliased, a table is known by its alias only.
    assert!(err("SELECT ObsCore.s_ra FROM ivoa.ObsCore AS o").contains("does not name a table"));
    assert!(err("SELECT * FROM TAP_UPLOAD.t").contains("was not uploaded"));
    assert!(err("SELECT * FROM ivoa.ObsCore, ivoa.ObsCore").contains("same name in FROM"));
}

#[test]
fn contains_point_circle_in_either_order() {
    let a = ok("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 10, 20, 0.5)) = 1");
    assert!(
        a.sql
            .ends_with("WHERE (pc(\"t1\".\"s_ra\", \"t1\".\"s_dec\", 10, 20, 0.5) = 1)"),
        "{}",
        a.sql
    );
    let b = ok("SELECT obs_id FROM ivoa.ObsCore WHERE 1 = CONTAINS(POINT(s_ra, s_dec), CIRCLE(10, 20, 0.5))");
    assert!(
        b.sql
            .contains("(1 = pc(\"t1\".\"s_ra\", \"t1\".\"s_dec\", 10, 20, 0.5))"),
        "{}",
        b.sql
    );
    let e = err("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('GALACTIC', s_ra, s_dec), CIRCLE('ICRS', 1, 2, 3)) = 1");
    assert!(e.contains("coordinate system 'GALACTIC' is not supported: positions are ICRS at line 1, column 54"), "{e}");
    // CONTAINS(CIRCLE, POINT): only a circle of radius 0 at the point; the dialect decides.
    let c = ok("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(CIRCLE('ICRS', 1, 2, 3), POINT('ICRS', s_ra, s_dec)) = 1");
    assert!(
        c.sql.ends_with(
            "WHERE (vogate_geo('CONTAINS', 'CIRCLE', 1, 2, 3, 'POINT', \"t1\".\"s_ra\", \"t1\".\"s_dec\") = 1)"
        ),
        "{}",
        c.sql
    );
    // INTERSECTS(CIRCLE, POINT) is the point in the circle (ADQL 2.1 §4.2.7).
    let i = ok(
        "SELECT obs_id FROM ivoa.ObsCore WHERE INTERSECTS(CIRCLE(1, 2, 3), POINT(s_ra, s_dec)) = 1",
    );
    assert!(
        i.sql
            .ends_with("WHERE (pc(\"t1\".\"s_ra\", \"t1\".\"s_dec\", 1, 2, 3) = 1)"),
        "{}",
        i.sql
    );
    let e = err("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', obs_id, s_dec), CIRCLE('ICRS', 1, 2, 3)) = 1");
    assert!(e.contains("POINT arguments must be numbers"), "{e}");
}

#[test]
fn where_operators_render() {
    let t = ok("SELECT obs_id FROM ivoa.ObsCore WHERE s_ra BETWEEN 1 AND 2 AND obs_id LIKE 'a%' OR NOT (s_dec IS NULL) AND calib_level IN (1, 2) AND obs_id NOT ILIKE 'X%'");
    assert!(
        t.sql.contains("(\"t1\".\"s_ra\" BETWEEN 1 AND 2)"),
        "{}",
        t.sql
    );
    assert!(t.sql.contains("(\"t1\".\"obs_id\" LIKE 'a%')"));
    assert!(t.sql.contains("(NOT ((\"t1\".\"s_dec\" IS NULL)))"));
    assert!(t.sql.contains("(\"t1\".\"calib_level\" IN (1, 2))"));
    assert!(t
        .sql
        .contains("(lower(\"t1\".\"obs_id\") NOT LIKE lower('X%'))"));
    let t = ok("SELECT obs_id FROM ivoa.ObsCore WHERE obs_id = 'it''s'");
    assert!(t.sql.ends_with("(\"t1\".\"obs_id\" = 'it''s')"));
}

#[test]
fn order_by_columns_aliases_and_positions() {
    let t = ok("SELECT obs_id AS id, s_ra FROM ivoa.ObsCore ORDER BY id DESC, 2, s_dec");
    assert!(
        t.sql
            .ends_with("ORDER BY 1 DESC, 2 ASC, \"t1\".\"s_dec\" ASC"),
        "{}",
        t.sql
    );
    assert_eq!(t.fields[0].name, "id");
    assert!(err("SELECT s_ra FROM ivoa.ObsCore ORDER BY 3").contains("there are 1 output columns"));
    // PostgreSQL's rule: with DISTINCT, ORDER BY names selected columns.
    assert!(err("SELECT DISTINCT s_ra FROM ivoa.ObsCore ORDER BY s_dec").contains("DISTINCT"));
    assert!(ok("SELECT DISTINCT s_ra FROM ivoa.ObsCore ORDER BY s_ra")
        .sql
        .ends_with("ORDER BY 1 ASC"));
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
    assert!(t
        .sql
        .contains("dist(\"t1\".\"s_ra\", \"t1\".\"s_dec\", 1, 2)"));
    let t = ok("SELECT COUNT(*) FROM ivoa.ObsCore WHERE s_ra > 1");
    assert_eq!(
        (t.fields[0].name.as_str(), t.fields[0].datatype.as_str()),
        ("count", "long")
    );
}

#[test]
fn types_are_checked() {
    let cases = [
        ("SELECT 'a' + 1 FROM ivoa.ObsCore", "arithmetic needs a number but this is a string at line 1, column 8"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE s_ra < 'a'", "'<' compares a number with a string at line 1, column 39"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE s_ra BETWEEN 'a' AND 'z'", "BETWEEN compares a number with a string"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE 1", "expected a condition after WHERE, found a value"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE s_ra", "expected a condition after WHERE"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE s_ra > 1 AND s_dec", "AND combines conditions, but this is a value at line 1, column 52"),
        ("SELECT s_ra > 1 FROM ivoa.ObsCore", "found a condition"),
        ("SELECT COUNT(*), obs_id FROM ivoa.ObsCore", "column obs_id in the select list must be in GROUP BY"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE COUNT(*) > 1", "COUNT cannot be used here"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE obs_id LIKE 3", "LIKE needs a string"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE calib_level IN (1, 'x')", "IN compares a number with a string"),
        ("SELECT 1e999999 FROM ivoa.ObsCore", "out of range"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE obs_id = 'a\0b'", "NUL"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(10, 95, 1)) = 1", "declination 95 must be in [-90, 90] degrees at line 1, column 79"),
        ("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT(s_ra, s_dec), CIRCLE(10, 5, -1)) = 1", "radius -1 must be in [0, 180] degrees at line 1, column 82"),
        ("SELECT DISTANCE(POINT(0, 91), POINT(0, 0)) FROM ivoa.ObsCore", "declination 91"),
        ("SELECT TOP 2 DISTINCT obs_id FROM ivoa.ObsCore", "expected a column"),
        ("SELECT obs_id FROM ivoa.ObsCore ORDER BY -1", "ORDER BY -1: give a column, an output name or a position from 1 to 1"),
        ("SELECT obs_id FROM ivoa.ObsCore ORDER BY 'x'", "ORDER BY 'x'"),
        ("SELECT SUM(obs_id) FROM ivoa.ObsCore", "SUM needs a number"),
        ("SELECT MAX(COUNT(*)) FROM ivoa.ObsCore", "cannot be nested"),
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
    // A long OR chain is fine, and rendered as a balanced tree (SQLite nests at most 1000).
    let ors: Vec<String> = (0..5000).map(|i| format!("obs_id = 'f{i}'")).collect();
    let t = ok(&format!(
        "SELECT obs_id FROM ivoa.ObsCore WHERE {}",
        ors.join(" OR ")
    ));
    let mut depth: i32 = 0;
    let mut max = 0;
    let mut terms_at_top = 0;
    for c in t.sql.chars() {
        match c {
            '(' => {
                depth += 1;
                max = max.max(depth);
            }
            ')' => depth -= 1,
            _ => {}
        }
        if depth == 1 && c == 'O' {
            terms_at_top += 1;
        }
    }
    assert!(max < 10, "nesting {max}");
    assert!(terms_at_top <= 64, "{terms_at_top}");
    let many = vec!["s_ra"; 1001].join(", ");
    assert!(err(&format!("SELECT {many} FROM ivoa.ObsCore"))
        .contains("1001 columns; the limit is 1000"));
    let unknown: Vec<String> = (0..50).map(|i| format!("c{i}")).collect();
    let e = err(&format!("SELECT {} FROM ivoa.ObsCore", unknown.join(", ")));
    assert!(e.ends_with("and 30 more errors"), "{e}");
}

#[test]
fn footprint_predicates_render_in_either_order() {
    let r = "\"t1\".\"s_region\"";
    let cases = [
        (
            "CONTAINS(POINT('ICRS', 10, 20), s_region) = 1",
            format!("(pr(10, 20, {r}) = 1)"),
        ),
        (
            "INTERSECTS(s_region, CIRCLE('ICRS', 10, 20, 1)) = 1",
            format!("(rc({r}, 10, 20, 1) = 1)"),
        ),
        (
            "1 = INTERSECTS(CIRCLE(10, 20, 1), s_region)",
            format!("(1 = rc({r}, 10, 20, 1))"),
        ),
        (
            "INTERSECTS(s_region, POLYGON('ICRS', 1, 2, 3, 4, 5, 7)) = 1",
            format!("(rr({r}, 'POLYGON ICRS 1.0 2.0 3.0 4.0 5.0 7.0') = 1)"),
        ),
        (
            "INTERSECTS(POLYGON(POINT(1, 2), POINT(3, 4), POINT(5, 7)), s_region) = 1",
            format!("(rr('POLYGON ICRS 1.0 2.0 3.0 4.0 5.0 7.0', {r}) = 1)"),
        ),
        (
            "CONTAINS(POINT(s_ra, s_dec), POLYGON(1, 2, 3, 4, 5, 7)) = 1",
            "(pr(\"t1\".\"s_ra\", \"t1\".\"s_dec\", 'POLYGON ICRS 1.0 2.0 3.0 4.0 5.0 7.0') = 1)"
                .into(),
        ),
        (
            "CONTAINS(POINT(1, 2), POLYGON(s_ra, s_dec, 3, 4, 5, 7)) = 1",
            "(pr(1, 2, poly(\"t1\".\"s_ra\" \"t1\".\"s_dec\", 3 4, 5 7)) = 1)".into(),
        ),
        (
            "INTERSECTS(POINT(10, 20), s_region) = 1",
            format!("(pr(10, 20, {r}) = 1)"),
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
            "column 's_ra' is not a region (xtype adql:REGION) at line 1, column 61",
        ),
        (
            "INTERSECTS(s_region, POLYGON(1, 2, 3, 4)) = 1",
            "POLYGON takes [a coordinate system,] three or more vertices",
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

#[test]
fn joins_resolve_each_table_by_its_alias() {
    let t = ok("SELECT o.obs_id, t.table_name FROM ivoa.ObsCore AS o JOIN TAP_SCHEMA.tables AS t ON o.obs_id = t.table_name");
    assert_eq!(
        t.sql,
        "SELECT \"t1\".\"obs_id\" AS \"c1\", \"t2\".\"table_name\" AS \"c2\" FROM \"ivoa.ObsCore\" AS \"t1\" JOIN \"TAP_SCHEMA.tables\" AS \"t2\" ON (\"t1\".\"obs_id\" = \"t2\".\"table_name\")"
    );
    // The same table twice, by two aliases; an unqualified name both have is ambiguous.
    let e = err("SELECT obs_id FROM ivoa.ObsCore AS a, ivoa.ObsCore AS b");
    assert!(e.contains("column 'obs_id' is ambiguous"), "{e}");
    let t = ok("SELECT a.obs_id, b.obs_id FROM ivoa.ObsCore AS a LEFT JOIN ivoa.ObsCore AS b ON a.s_ra < b.s_ra");
    let names: Vec<&str> = t.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["obs_id", "obs_id_2"]);
    // USING merges the column: unqualified it is one column, and SELECT * lists it once.
    let t = ok("SELECT * FROM ivoa.ObsCore AS a JOIN ivoa.ObsCore AS b USING (obs_id)");
    assert_eq!(t.fields.len(), 9);
    assert!(
        t.sql.contains("ON (\"t1\".\"obs_id\" = \"t2\".\"obs_id\")"),
        "{}",
        t.sql
    );
    let t = ok("SELECT obs_id FROM ivoa.ObsCore AS a FULL JOIN ivoa.ObsCore AS b USING (obs_id)");
    assert!(
        t.sql
            .starts_with("SELECT COALESCE(\"t1\".\"obs_id\", \"t2\".\"obs_id\") AS \"c1\""),
        "{}",
        t.sql
    );
    // NATURAL joins on every common name.
    let t = ok("SELECT * FROM ivoa.ObsCore AS a NATURAL JOIN ivoa.ObsCore AS b");
    assert_eq!(t.fields.len(), 5);
    // ON sees only the tables of its join.
    let e = err("SELECT * FROM ivoa.ObsCore AS a, TAP_SCHEMA.tables AS t JOIN ivoa.ObsCore AS b ON a.obs_id = b.obs_id");
    assert!(e.contains("'a' in 'a.obs_id' does not name a table"), "{e}");
    let e = err("SELECT * FROM ivoa.ObsCore AS a JOIN TAP_SCHEMA.tables AS t USING (s_ra)");
    assert!(
        e.contains("USING column 's_ra' is not in both tables"),
        "{e}"
    );
}

#[test]
fn subqueries_ctes_and_set_operations() {
    let t = ok("SELECT q.x FROM (SELECT s_ra AS x FROM ivoa.ObsCore) AS q WHERE q.x > 1");
    assert_eq!(
        t.sql,
        "SELECT \"t2\".\"c1\" AS \"c1\" FROM (SELECT \"t1\".\"s_ra\" AS \"c1\" FROM \"ivoa.ObsCore\" AS \"t1\") AS \"t2\" WHERE (\"t2\".\"c1\" > 1)"
    );
    // A derived table does not see its siblings in FROM.
    let e = err("SELECT * FROM ivoa.ObsCore AS o, (SELECT o.s_ra FROM TAP_SCHEMA.tables) AS q");
    assert!(e.contains("'o' in 'o.s_ra' does not name a table"), "{e}");
    // Correlated subqueries see the outer query.
    let t = ok("SELECT obs_id FROM ivoa.ObsCore AS o WHERE EXISTS (SELECT * FROM ivoa.ObsCore AS p WHERE p.s_ra > o.s_ra)");
    assert!(t.sql.contains("EXISTS (SELECT"), "{}", t.sql);
    ok("SELECT obs_id FROM ivoa.ObsCore WHERE s_ra IN (SELECT s_dec FROM ivoa.ObsCore) AND s_ra > (SELECT MIN(s_ra) FROM ivoa.ObsCore)");
    assert!(err(
        "SELECT obs_id FROM ivoa.ObsCore WHERE s_ra IN (SELECT s_ra, s_dec FROM ivoa.ObsCore)"
    )
    .contains("must select 1 column"));
    let t = ok("WITH c AS (SELECT obs_id, s_ra FROM ivoa.ObsCore WHERE s_ra > 10) SELECT c.obs_id FROM c ORDER BY s_ra DESC");
    assert!(t.sql.starts_with("WITH \"_cte2\" AS (SELECT"), "{}", t.sql);
    assert!(
        t.sql
            .contains("FROM \"_cte2\" AS \"t3\" ORDER BY \"t3\".\"c2\" DESC"),
        "{}",
        t.sql
    );
    let t = ok("SELECT obs_id FROM ivoa.ObsCore UNION ALL SELECT table_name FROM TAP_SCHEMA.tables ORDER BY 1 DESC");
    assert!(t.sql.contains(" UNION ALL SELECT * FROM ("), "{}", t.sql);
    assert!(t.sql.ends_with("ORDER BY 1 DESC"), "{}", t.sql);
    assert!(err(
        "SELECT obs_id, s_ra FROM ivoa.ObsCore UNION SELECT table_name FROM TAP_SCHEMA.tables"
    )
    .contains("have 2 and 1 columns"));
    assert!(
        err("SELECT obs_id FROM ivoa.ObsCore EXCEPT SELECT s_ra FROM ivoa.ObsCore")
            .contains("a string on the left and a number on the right")
    );
    assert!(err("SELECT obs_id FROM ivoa.ObsCore UNION SELECT table_name FROM TAP_SCHEMA.tables ORDER BY s_ra").contains("must name an output column"));
}

#[test]
fn grouping_follows_postgresql() {
    let t = ok("SELECT calib_level, COUNT(*) AS n, AVG(s_ra), SUM(calib_level) FROM ivoa.ObsCore GROUP BY calib_level HAVING COUNT(*) > 1 ORDER BY n DESC");
    assert!(
        t.sql
            .contains("AVG(CAST(\"t1\".\"s_ra\" AS DOUBLE PRECISION))"),
        "{}",
        t.sql
    );
    assert!(
        t.sql
            .contains("CAST(SUM(\"t1\".\"calib_level\") AS BIGINT)"),
        "{}",
        t.sql
    );
    assert!(
        t.sql
            .contains("GROUP BY \"t1\".\"calib_level\" HAVING (COUNT(*) > 1) ORDER BY 2 DESC"),
        "{}",
        t.sql
    );
    let types: Vec<&str> = t.fields.iter().map(|f| f.datatype.as_str()).collect();
    assert_eq!(types, ["int", "long", "double", "long"]);
    // GROUP BY an output name or position; expressions of grouped columns.
    ok("SELECT calib_level + 1 AS c, COUNT(*) FROM ivoa.ObsCore GROUP BY c");
    ok("SELECT calib_level * 2, COUNT(DISTINCT obs_id) FROM ivoa.ObsCore GROUP BY 1");
    ok("SELECT calib_level * 2 FROM ivoa.ObsCore GROUP BY calib_level");
    assert!(
        err("SELECT s_ra, COUNT(*) FROM ivoa.ObsCore GROUP BY calib_level")
            .contains("column s_ra in the select list")
    );
    assert!(
        err("SELECT calib_level FROM ivoa.ObsCore GROUP BY calib_level HAVING s_ra > 1")
            .contains("column s_ra in HAVING")
    );
    assert!(err("SELECT COUNT(*) AS n FROM ivoa.ObsCore GROUP BY n")
        .contains("GROUP BY cannot use a set function"));
}

#[test]
fn case_and_coalesce() {
    let t = ok("SELECT CASE WHEN s_ra > 180 THEN s_ra - 360 ELSE s_ra END AS ra, COALESCE(obs_id, 'none') FROM ivoa.ObsCore");
    assert!(t.sql.contains("(CASE WHEN (\"t1\".\"s_ra\" > 180) THEN (\"t1\".\"s_ra\" - 360) ELSE \"t1\".\"s_ra\" END)"), "{}", t.sql);
    assert_eq!(t.fields[1].name, "coalesce");
    // The type of CASE is the widest of its results, ELSE included.
    let t = ok("SELECT CASE WHEN s_ra > 1 THEN 1 ELSE 2.5 END, CASE WHEN s_ra > 1 THEN NULL ELSE 2 END FROM ivoa.ObsCore");
    assert_eq!(
        (t.fields[0].datatype.as_str(), t.fields[1].datatype.as_str()),
        ("double", "long")
    );
    assert!(
        err("SELECT CASE WHEN s_ra > 1 THEN 'a' ELSE 2 END FROM ivoa.ObsCore")
            .contains("CASE ... ELSE compares a string with a number")
    );
    assert!(err("SELECT COALESCE(obs_id, 1) FROM ivoa.ObsCore").contains("COALESCE mixes"));
}

#[test]
fn cast_types_the_result_and_renders_through_the_dialect() {
    let t = ok("SELECT CAST(s_ra AS INTEGER), CAST(obs_id AS CHAR(4)), CAST(s_ra AS VARCHAR), CAST(calib_level AS REAL), CAST('1' AS BIGINT) FROM ivoa.ObsCore");
    let got: Vec<(&str, Option<&str>)> = t
        .fields
        .iter()
        .map(|f| (f.datatype.as_str(), f.arraysize.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            ("int", None),
            ("unicodeChar", Some("4*")),
            ("unicodeChar", Some("*")),
            ("float", None),
            ("long", None)
        ]
    );
    assert!(
        t.sql
            .starts_with("SELECT CAST(\"t1\".\"s_ra\" AS INTEGER) AS"),
        "{}",
        t.sql
    );
    assert!(err("SELECT CAST(s_ra AS TIMESTAMP) FROM ivoa.ObsCore")
        .contains("CAST to TIMESTAMP takes a string, not a number"));
    let ts = ok("SELECT CAST(obs_id AS TIMESTAMP) FROM ivoa.ObsCore");
    assert_eq!(ts.fields[0].xtype.as_deref(), Some("timestamp"));
    assert!(
        ts.sql
            .starts_with("SELECT CAST(\"t1\".\"obs_id\" AS TIMESTAMP)"),
        "{}",
        ts.sql
    );
    // IN_UNIT: the column's unit times the factor; the result in the unit asked for.
    let u = ok("SELECT IN_UNIT(DEGREES(s_ra), 'arcsec') FROM ivoa.ObsCore");
    assert!(
        u.sql
            .starts_with("SELECT ((DEGREES(\"t1\".\"s_ra\")) * 3600.0) AS"),
        "{}",
        u.sql
    );
    assert_eq!(u.fields[0].unit.as_deref(), Some("arcsec"));
    for (adql, want) in [
        (
            "SELECT IN_UNIT(DEGREES(s_ra), 'm') FROM ivoa.ObsCore",
            "IN_UNIT: cannot convert deg to m: they measure different things",
        ),
        (
            "SELECT IN_UNIT(s_ra, 'deg') FROM ivoa.ObsCore",
            "IN_UNIT: this value has no unit to convert from",
        ),
        (
            "SELECT IN_UNIT(RADIANS(s_ra), 'parsnip') FROM ivoa.ObsCore",
            "IN_UNIT: 'parsnip' is not a VOUnits unit",
        ),
        (
            "SELECT IN_UNIT(obs_id, 'deg') FROM ivoa.ObsCore",
            "IN_UNIT takes a number, but this is a string",
        ),
    ] {
        let e = err(adql);
        assert!(e.contains(want), "{adql}: {e}");
    }
    assert!(err("SELECT CAST(s_ra > 1 AS INTEGER) FROM ivoa.ObsCore").contains("found a condition"));
    assert!(err("SELECT CAST(s_ra AS FLOAT) FROM ivoa.ObsCore").contains("expected a type"));
}

#[test]
fn what_postgresql_refuses_is_refused_before_the_database() {
    let cases = [
        // A grouped query's subquery may use only grouping columns of it.
        ("SELECT calib_level, (SELECT COUNT(*) FROM ivoa.ObsCore AS i WHERE i.s_ra = o.s_ra) FROM ivoa.ObsCore AS o GROUP BY calib_level", "column s_ra in the select list must be in GROUP BY"),
        // A set function of outer columns only.
        ("SELECT obs_id FROM ivoa.ObsCore AS o WHERE o.s_ra > (SELECT AVG(o.s_ra) FROM TAP_SCHEMA.tables)", "AVG of columns of an outer query only"),
        // Two columns of one name in a derived table are ambiguous outside it.
        ("SELECT q.a FROM (SELECT s_ra AS a, s_dec AS a FROM ivoa.ObsCore) AS q", "column 'a' is ambiguous"),
        ("SELECT a FROM (SELECT s_ra AS a, s_dec AS a FROM ivoa.ObsCore) AS q", "column 'a' is ambiguous"),
        ("SELECT * FROM ivoa.ObsCore AS a JOIN ivoa.ObsCore AS b USING (obs_id, obs_id)", "appears more than once in USING"),
        ("SELECT 1e-400 FROM ivoa.ObsCore", "the number 1E-400 is out of range"),
        ("SELECT s_ra /* x */ FROM ivoa.ObsCore", "block comments"),
    ];
    for (q, want) in cases {
        let e = err(q);
        assert!(e.contains(want), "{q}: {e}");
    }
    // Grouping columns may be used in a subquery; the same output column twice is one.
    ok("SELECT calib_level, (SELECT COUNT(*) FROM ivoa.ObsCore AS i WHERE i.calib_level = o.calib_level) FROM ivoa.ObsCore AS o GROUP BY calib_level");
    ok("SELECT obs_id, s_ra, s_ra FROM ivoa.ObsCore ORDER BY s_ra");
}

#[test]
fn a_null_column_of_a_set_operation_takes_the_other_sides_type() {
    let t = ok("SELECT NULL, s_ra FROM ivoa.ObsCore UNION SELECT obs_id, NULL FROM ivoa.ObsCore");
    let types: Vec<&str> = t.fields.iter().map(|f| f.datatype.as_str()).collect();
    assert_eq!(types, ["char", "double"]);
    // The NULLs are cast, so that PostgreSQL does not read them as text in the subquery.
    assert!(
        t.sql.contains("CAST(NULL AS VARCHAR)") && t.sql.contains("CAST(NULL AS DOUBLE PRECISION)"),
        "{}",
        t.sql
    );
    assert!(
        err("SELECT obs_id FROM ivoa.ObsCore UNION SELECT s_ra FROM ivoa.ObsCore")
            .contains("a string on the left and a number on the right")
    );
}

#[test]
fn geometry_values_in_select_lists_carry_dali_xtypes() {
    let t = ok("SELECT POINT('ICRS', s_ra, s_dec), CIRCLE(POINT(s_ra, s_dec), 0.5) AS c, POLYGON(1, 2, 3, 4, 5, 7), POLYGON(s_ra, s_dec, 3, 4, 5, 7) FROM ivoa.ObsCore");
    let got: Vec<String> = t
        .fields
        .iter()
        .map(|f| {
            format!(
                "{} {} {:?} {:?} {:?}",
                f.name, f.datatype, f.arraysize, f.xtype, f.unit
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            r#"point double Some("2") Some("point") Some("deg")"#,
            r#"c double Some("3") Some("circle") Some("deg")"#,
            r#"polygon double Some("*") Some("polygon") Some("deg")"#,
            r#"polygon_2 double Some("*") Some("polygon") Some("deg")"#,
        ]
    );
    assert_eq!(
        t.sql,
        "SELECT point(\"t1\".\"s_ra\", \"t1\".\"s_dec\") AS \"c1\", circle(\"t1\".\"s_ra\", \"t1\".\"s_dec\", 0.5) AS \"c2\", polygon(1.0, 2.0, 3.0, 4.0, 5.0, 7.0) AS \"c3\", polygon(\"t1\".\"s_ra\", \"t1\".\"s_dec\", 3, 4, 5, 7) AS \"c4\" FROM \"ivoa.ObsCore\" AS \"t1\""
    );
    // Passed through a subquery, the value keeps its metadata.
    let t = ok("SELECT p FROM (SELECT POINT(s_ra, s_dec) AS p FROM ivoa.ObsCore) AS s");
    assert_eq!(t.fields[0].xtype.as_deref(), Some("point"));
    assert_eq!(t.fields[0].arraysize.as_deref(), Some("2"));
    // UNION of two points.
    ok("SELECT POINT(1, 2) FROM ivoa.ObsCore UNION SELECT POINT(s_ra, s_dec) FROM ivoa.ObsCore");
}

#[test]
fn geometry_values_are_never_compared_or_computed_with() {
    let mut bad = Vec::new();
    for (adql, want) in [
        (
            "SELECT POINT(s_ra, s_dec) + 1 FROM ivoa.ObsCore",
            "cannot be an operand of '+'",
        ),
        (
            "SELECT 1 + p FROM (SELECT POINT(s_ra, s_dec) AS p FROM ivoa.ObsCore) AS s",
            "+ needs a number but this is a geometry",
        ),
        (
            "SELECT s_ra FROM ivoa.ObsCore WHERE POINT(s_ra, s_dec) = POINT(1, 2)",
            "'=' compares a geometry with a geometry",
        ),
        (
            "SELECT POINT(s_ra, s_dec) FROM ivoa.ObsCore ORDER BY 1",
            "ORDER BY cannot sort by a geometry",
        ),
        (
            "SELECT POINT(s_ra, s_dec) AS p FROM ivoa.ObsCore ORDER BY p",
            "ORDER BY cannot sort by a geometry",
        ),
        (
            "SELECT s_ra FROM ivoa.ObsCore ORDER BY CIRCLE(s_ra, s_dec, 1)",
            "ORDER BY cannot sort by a geometry",
        ),
        (
            "SELECT CAST(POINT(1, 2) AS VARCHAR) FROM ivoa.ObsCore",
            "CAST takes a number or a string, not a geometry",
        ),
        (
            "SELECT MAX(POINT(s_ra, s_dec)) FROM ivoa.ObsCore",
            "MAX takes a number or a string, not a geometry",
        ),
        (
            "SELECT POINT(1, 2) FROM ivoa.ObsCore UNION SELECT CIRCLE(1, 2, 3) FROM ivoa.ObsCore",
            "column 1 of UNION is a point on the left and a circle on the right",
        ),
        (
            "SELECT POINT(1, 95) FROM ivoa.ObsCore",
            "POINT declination 95 must be in [-90, 90] degrees",
        ),
        (
            "SELECT BOX(1, 2, -3, 4) FROM ivoa.ObsCore",
            "BOX size -3 must be a finite number of degrees, not negative",
        ),
        (
            "SELECT REGION('UNION ICRS (CIRCLE 1 2 3 CIRCLE 4 5 6)') FROM ivoa.ObsCore",
            "REGION: STC-S UNION is not supported",
        ),
        (
            "SELECT COORD2(BOX(1, 2, 3, 4)) FROM ivoa.ObsCore",
            "COORD2 takes a point here",
        ),
        (
            "SELECT CENTROID(BOX(0, 0, 360, 10)) FROM ivoa.ObsCore",
            "CENTROID: this shape has no centroid",
        ),
        (
            "SELECT DISTANCE(POINT(1, 2), 3, 4, 5) FROM ivoa.ObsCore",
            "DISTANCE",
        ),
    ] {
        let e = err(adql);
        if !e.contains(want) {
            bad.push(format!("{adql}: {e}"));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
    // COUNT of a geometry counts its non-NULL values.
    ok("SELECT COUNT(POINT(s_ra, s_dec)) FROM ivoa.ObsCore");
}

#[test]
fn cross_matches_get_the_indexed_sides_prefilter() {
    // Constant radii are folded as the database computes them: 5/3600.0 is a float, 5/3600
    // an integer division (0).
    let near = "near(\"t1\", \"t2\".\"s_ra\", \"t2\".\"s_dec\", 0.001388888888888889)";
    for q in [
        "SELECT a.obs_id FROM ivoa.ObsCore AS a JOIN ivoa.ObsCore AS b ON CONTAINS(POINT('ICRS', a.s_ra, a.s_dec), CIRCLE('ICRS', b.s_ra, b.s_dec, 5/3600.0)) = 1",
        "SELECT a.obs_id FROM ivoa.ObsCore AS a, ivoa.ObsCore AS b WHERE DISTANCE(POINT('ICRS', a.s_ra, a.s_dec), POINT('ICRS', b.s_ra, b.s_dec)) <= 5/3600.0",
        "SELECT a.obs_id FROM ivoa.ObsCore AS a, ivoa.ObsCore AS b WHERE 5/3600.0 > DISTANCE(POINT('ICRS', a.s_ra, a.s_dec), POINT('ICRS', b.s_ra, b.s_dec)) AND a.obs_id <> b.obs_id",
    ] {
        let sql = ok(q).sql;
        assert!(sql.contains(near), "{q}: {sql}");
        // And the other way round: the second table's index serves the first's rows.
        assert!(sql.contains("near(\"t2\", \"t1\".\"s_ra\""), "{q}: {sql}");
    }
    let sql = ok("SELECT a.obs_id FROM ivoa.ObsCore AS a JOIN ivoa.ObsCore AS b ON CONTAINS(POINT('ICRS', a.s_ra, a.s_dec), CIRCLE('ICRS', b.s_ra, b.s_dec, 5/3600)) = 1").sql;
    assert!(sql.contains(", 0)"), "{sql}");
    // Not for an OR, a non-constant radius, or a point and circle of one table.
    for q in [
        "SELECT a.obs_id FROM ivoa.ObsCore AS a, ivoa.ObsCore AS b WHERE DISTANCE(POINT('ICRS', a.s_ra, a.s_dec), POINT('ICRS', b.s_ra, b.s_dec)) <= 0.1 OR a.s_ra > 3",
        "SELECT a.obs_id FROM ivoa.ObsCore AS a, ivoa.ObsCore AS b WHERE DISTANCE(POINT('ICRS', a.s_ra, a.s_dec), POINT('ICRS', b.s_ra, b.s_dec)) <= b.s_dec",
        "SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', s_ra, s_dec, 1)) = 1",
    ] {
        let sql = ok(q).sql;
        assert!(!sql.contains("near("), "{q}: {sql}");
    }
}

#[test]
fn uploads_are_named_as_tap_upload_and_loop_over_the_catalogs_index() {
    let base = catalog();
    let with = crate::WithUploads {
        base: &base,
        uploads: vec![TableInfo {
            schema: Some(crate::UPLOAD_SCHEMA.into()),
            name: "mine".into(),
            position: Some(("ra".into(), "\"Dec\"".into())),
            columns: vec![col("ra", "double"), col("\"Dec\"", "double")],
        }],
    };
    let t = translate(
        "SELECT o.obs_id FROM tap_upload.MINE AS u JOIN ivoa.ObsCore AS o \
         ON CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), CIRCLE('ICRS', u.ra, u.\"Dec\", 0.01)) = 1",
        &with,
        &Plain,
    )
    .expect("valid");
    // The published table's index serves each uploaded row; the upload's is not offered.
    assert!(t.sql.contains("near(\"t2\", \"t1\".\"ra\""), "{}", t.sql);
    assert!(!t.sql.contains("near(\"t1\""), "{}", t.sql);
    assert!(t.sql.contains("\"TAP_UPLOAD.mine\" AS \"t1\""), "{}", t.sql);
    // Names: an upload only as TAP_UPLOAD.name; a delimited column name only quoted.
    for (q, want) in [
        ("SELECT * FROM mine", "table 'mine' does not exist"),
        (
            "SELECT * FROM TAP_UPLOAD.other",
            "table 'TAP_UPLOAD.other' was not uploaded",
        ),
        ("SELECT Dec FROM TAP_UPLOAD.mine", "Dec"),
    ] {
        let e = translate(q, &with, &Plain).expect_err(q).message;
        assert!(e.contains(want), "{q}: {e}");
    }
}

#[test]
fn bitwise_operators_take_integers_and_bind_below_plus() {
    let sql =
        ok("SELECT calib_level & 3 | 4, ~calib_level, calib_level + 1 ^ 0x10 FROM ivoa.ObsCore")
            .sql;
    assert!(
        sql.contains("BITOR(BITAND(\"t1\".\"calib_level\", 3), 4)"),
        "{sql}"
    );
    assert!(sql.contains("BITNOT(\"t1\".\"calib_level\")"), "{sql}");
    // '+' binds first: (calib_level + 1) ^ 16.
    assert!(sql.contains("BITXOR(") && sql.contains(", 16)"), "{sql}");
    for (q, want) in [
        ("SELECT s_ra & 1 FROM ivoa.ObsCore", "'&' takes integers"),
        ("SELECT ~s_dec FROM ivoa.ObsCore", "'~' takes integers"),
        (
            "SELECT calib_level | obs_id FROM ivoa.ObsCore",
            "'|' takes integers",
        ),
        (
            "SELECT calib_level ^ 1.5 FROM ivoa.ObsCore",
            "'^' takes integers",
        ),
    ] {
        let e = err(q);
        assert!(e.contains(want), "{q}: {e}");
    }
}

#[test]
fn geometry_functions_of_adql_2_1() {
    // AREA of literal shapes is folded: the octant (0,0)-(90,0)-(0,90) is π/2 sr, 16200/π
    // square degrees.
    let a =
        ok("SELECT AREA(POLYGON(0, 0, 90, 0, 0, 90)), AREA(CIRCLE(0, 0, 180)) FROM ivoa.ObsCore");
    assert!(a.sql.contains("5156.620156177"), "{}", a.sql);
    assert!(a.sql.contains("41252.96124941"), "{}", a.sql);
    assert_eq!(a.fields[0].unit.as_deref(), Some("deg**2"));
    // Computed shapes go to the dialect.
    let r = "\"t1\".\"s_region\"";
    let b = ok("SELECT AREA(s_region), AREA(BOX(s_ra, s_dec, 1, 2)), COORD1(CENTROID(s_region)) FROM ivoa.ObsCore");
    assert!(
        b.sql.starts_with(&format!(
            "SELECT vogate_geo_fn('AREA', 'REGION', {r}) AS \"c1\", vogate_geo_fn('AREA', 'BOX', \"t1\".\"s_ra\", \"t1\".\"s_dec\", 1, 2) AS \"c2\", RA_NORMALISED(vogate_geo_fn('CENTROID_RA', 'REGION', {r})) AS \"c3\""
        )),
        "{}",
        b.sql
    );
    // CENTROID of a circle is its centre; COORD1 is a longitude in [0, 360); COORDSYS is
    // the one frame of every position.
    let c = ok("SELECT COORD1(CENTROID(CIRCLE(s_ra, s_dec, 1))), COORD2(POINT(s_ra, s_dec)), COORDSYS(POINT(s_ra, s_dec)) FROM ivoa.ObsCore");
    assert!(
        c.sql.starts_with("SELECT RA_NORMALISED(\"t1\".\"s_ra\") AS \"c1\", \"t1\".\"s_dec\" AS \"c2\", 'ICRS' AS \"c3\""),
        "{}",
        c.sql
    );
    // REGION reads STC-S into the shape; the literal CENTROID of a polygon is computed.
    let d = ok("SELECT CENTROID(REGION('POLYGON ICRS -1 -1 1 -1 1 1 -1 1')), REGION('CIRCLE 1 2 3') FROM ivoa.ObsCore");
    assert!(d.sql.starts_with("SELECT point(0.0, "), "{}", d.sql);
    assert!(d.sql.contains("circle(1.0, 2.0, 3.0)"), "{}", d.sql);
    // Every pair of shapes, in either order; INTERSECTS with a point is the point's CONTAINS.
    let e = ok("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(BOX(1, 2, 3, 4), s_region) = 1 AND INTERSECTS(CIRCLE(1, 2, 3), BOX(s_ra, s_dec, 1, 1)) = 1 AND INTERSECTS(BOX(0, 0, 1, 1), POINT(s_ra, s_dec)) = 1");
    assert!(
        e.sql.contains("vogate_geo('CONTAINS', 'BOX', 1, 2, 3, 4, 'REGION', \"t1\".\"s_region\")")
            && e.sql.contains("vogate_geo('INTERSECTS', 'CIRCLE', 1, 2, 3, 'BOX', \"t1\".\"s_ra\", \"t1\".\"s_dec\", 1, 1)")
            && e.sql.contains("vogate_geo('CONTAINS', 'POINT', \"t1\".\"s_ra\", \"t1\".\"s_dec\", 'BOX', 0, 0, 1, 1)"),
        "{}",
        e.sql
    );
    // A BOX as a value is the polygon of its corners.
    let f = ok("SELECT BOX(10, 20, 2, 4) FROM ivoa.ObsCore");
    assert_eq!(f.fields[0].xtype.as_deref(), Some("polygon"));
    // A region column cast to POLYGON works as a shape, and is refused as a value.
    ok("SELECT obs_id FROM ivoa.ObsCore WHERE CONTAINS(POINT(1, 2), CAST(s_region AS POLYGON)) = 1");
    for bad in [
        (
            "SELECT CAST(s_region AS POLYGON) FROM ivoa.ObsCore",
            "CAST of a region column to POLYGON as a value is not supported",
        ),
        ("SELECT AREA(1) FROM ivoa.ObsCore", "geometry"),
        (
            "SELECT REGION('BOX 1 2 3') FROM ivoa.ObsCore",
            "STC-S BOX takes 4 numbers, not 3",
        ),
        (
            "SELECT BOX(1, 95, 1, 1) FROM ivoa.ObsCore",
            "BOX declination 95 must be in [-90, 90] degrees",
        ),
    ] {
        let e = err(bad.0);
        assert!(e.contains(bad.1), "{}: {e}", bad.0);
    }
}

//! What the translate benchmark runs: the catalog, a dialect that writes what the PostgreSQL
//! one writes, the queries.

#![allow(missing_docs)]

use criterion::Criterion;
use std::hint::black_box;
use vo_adql::{translate, Catalog, ColumnInfo, SqlDialect, TableInfo};
use vo_common::FieldMeta;

/// ivoa.ObsCore-like and catalog-like tables of 30 columns each.
struct Cat(Vec<TableInfo>);

impl Catalog for Cat {
    fn tables(&self) -> &[TableInfo] {
        &self.0
    }
}

fn table(schema: &str, name: &str, columns: &[(&str, &str)], extra: usize) -> TableInfo {
    let mut cols: Vec<ColumnInfo> = columns
        .iter()
        .map(|(n, t)| ColumnInfo {
            name: n.to_string(),
            field: FieldMeta {
                name: n.to_string(),
                datatype: t.to_string(),
                xtype: (*n == "s_region").then(|| "adql:REGION".to_string()),
                ..Default::default()
            },
        })
        .collect();
    for i in 0..extra {
        let n = format!("extra_{i}");
        cols.push(ColumnInfo {
            name: n.clone(),
            field: FieldMeta {
                name: n,
                datatype: "double".into(),
                ..Default::default()
            },
        });
    }
    TableInfo {
        schema: Some(schema.into()),
        name: name.into(),
        columns: cols,
        position: None,
    }
}

/// A dialect that writes what the PostgreSQL one writes, in shape and length.
struct Pg;

impl SqlDialect for Pg {
    fn table_ref(&self, t: &TableInfo) -> String {
        format!("{}.\"{}\"", t.schema.as_deref().unwrap_or(""), t.name)
    }
    fn column_ref(&self, q: &str, _t: &TableInfo, c: &ColumnInfo) -> String {
        vo_adql::dialect::qualified_column(q, &c.name)
    }
    fn contains_point_circle(&self, a: &str, b: &str, c: &str, d: &str, r: &str) -> String {
        format!("((spoint(radians({a}), radians({b})) <-> spoint(radians({c}), radians({d}))) <= radians({r}))::int")
    }
    fn polygon_region(&self, v: &[(String, String)]) -> String {
        let parts: Vec<String> = v.iter().map(|(a, b)| format!("({a}d,{b}d)")).collect();
        format!("CAST('{{{}}}' AS spoly)", parts.join(","))
    }
    fn contains_point_region(&self, ra: &str, dec: &str, r: &str) -> String {
        format!("((spoint(radians({ra}), radians({dec}))) @ ({r}))::int")
    }
    fn intersects_region_circle(&self, r: &str, a: &str, b: &str, c: &str) -> String {
        format!("(({r}) && scircle(spoint(radians({a}), radians({b})), radians({c})))::int")
    }
    fn intersects_regions(&self, a: &str, b: &str) -> String {
        format!("(({a}) && ({b}))::int")
    }
    fn geometry_value(&self, xtype: &str, numbers: &[String]) -> String {
        format!("{xtype}({})", numbers.join(", "))
    }
    fn distance(&self, a: &str, b: &str, c: &str, d: &str) -> String {
        format!(
            "degrees(spoint(radians({a}), radians({b})) <-> spoint(radians({c}), radians({d})))"
        )
    }
    fn limit(&self, n: u64) -> String {
        format!(" LIMIT {n}")
    }
}

const QUERY_20_LINES: &str = "SELECT o.obs_id, o.s_ra, o.s_dec, s.source_id, s.mag_g,
       DISTANCE(POINT('ICRS', o.s_ra, o.s_dec), POINT('ICRS', s.ra, s.dec)) AS sep,
       f.name AS field_name
FROM ivoa.ObsCore AS o
JOIN cat.sources AS s
  ON CONTAINS(POINT('ICRS', s.ra, s.dec), CIRCLE('ICRS', o.s_ra, o.s_dec, 0.05)) = 1
LEFT JOIN cat.fields AS f ON f.field_id = s.field_id
WHERE o.dataproduct_type = 'image'
  AND o.calib_level >= 2
  AND INTERSECTS(o.s_region, CIRCLE('ICRS', 150.1, 2.2, 1.5)) = 1
  AND s.mag_g BETWEEN 15 AND 21
  AND s.source_id IN (SELECT t.source_id
                      FROM cat.sources AS t
                      WHERE t.flags = 0 AND t.mag_r < 22)
  AND (o.em_min < 5.5e-7 OR o.em_max > 6.5e-7)
  AND f.name LIKE 'F%'
ORDER BY sep ASC, o.obs_id
OFFSET 10
-- twenty lines";

fn catalog() -> Cat {
    Cat(vec![
        table(
            "ivoa",
            "ObsCore",
            &[
                ("obs_id", "char"),
                ("s_ra", "double"),
                ("s_dec", "double"),
                ("s_region", "char"),
                ("dataproduct_type", "char"),
                ("calib_level", "int"),
                ("em_min", "double"),
                ("em_max", "double"),
            ],
            22,
        ),
        table(
            "cat",
            "sources",
            &[
                ("source_id", "long"),
                ("ra", "double"),
                ("dec", "double"),
                ("mag_g", "double"),
                ("mag_r", "double"),
                ("flags", "int"),
                ("field_id", "int"),
            ],
            23,
        ),
        table(
            "cat",
            "fields",
            &[("field_id", "int"), ("name", "char")],
            28,
        ),
    ])
}

/// The benchmarks.
pub fn bench(c: &mut Criterion) {
    let cat = catalog();
    assert!(translate(QUERY_20_LINES, &cat, &Pg).is_ok());
    c.bench_function("translate 20-line join + subquery + geometry", |b| {
        b.iter(|| translate(black_box(QUERY_20_LINES), &cat, &Pg).expect("ok"))
    });
    c.bench_function("parse only (20-line)", |b| {
        b.iter(|| vo_adql::parser::parse(black_box(QUERY_20_LINES), &[]).expect("ok"))
    });
    c.bench_function("tokenize only (20-line)", |b| {
        b.iter(|| vo_adql::lexer::tokenize(black_box(QUERY_20_LINES)).expect("ok"))
    });
    let ors: Vec<String> = (0..1000).map(|i| format!("s.source_id = {i}")).collect();
    let long = format!(
        "SELECT s.source_id FROM cat.sources AS s WHERE {}",
        ors.join(" OR ")
    );
    assert!(translate(&long, &cat, &Pg).is_ok());
    c.bench_function("translate 1000-term OR chain", |b| {
        b.iter(|| translate(black_box(&long), &cat, &Pg).expect("ok"))
    });
}

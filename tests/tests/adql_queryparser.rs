//! The ADQL → PostgreSQL + pgSphere pairs of AIP's queryparser
//! (../shared/corpus/adql/queryparser/tests.yaml, section `adql_postgresql_tests`): on a
//! generated table `db.tab` (ra, dec), vogate's answer to each ADQL query, on PostgreSQL and
//! on SQLite, has the same rows as the expected SQL run on PostgreSQL + pgSphere. TOP and
//! LIMIT are dropped from both when the query has no ORDER BY (a limit without an order picks
//! any rows). The pairs left out, and why, are printed: those whose SQL calls functions of
//! queryparser's own (square_degrees, spoint_to_array_deg ...) that pgSphere does not have,
//! and those whose SQL pgSphere 1.2 refuses.

mod common;

use std::path::Path;

fn main() -> std::process::ExitCode {
    use vo_testkit::Test;
    vo_testkit::run(vec![Test::actix(
        "queryparser_pairs_give_the_expected_rows_on_pgsphere",
        pairs,
    )
    .needs(&vogate_tests::postgres())
    .needs(&vo_testkit::shared("corpus/adql/queryparser"))])
}

const SCHEMA: &str = r##"---
name: db
"@id": "#db"
description: The table queryparser's pairs query.
tables:
  - name: tab
    "@id": "#tab"
    description: Generated positions.
    columns:
      - {name: id, "@id": "#tab.id", datatype: long, description: Identifier.}
      - {name: ra, "@id": "#tab.ra", datatype: double, description: Right ascension., "ivoa:unit": deg, "ivoa:ucd": pos.eq.ra}
      - {name: dec, "@id": "#tab.dec", datatype: double, description: Declination., "ivoa:unit": deg, "ivoa:ucd": pos.eq.dec}
    primaryKey: "#tab.id"
"##;

/// Functions of queryparser's own deployment, which pgSphere does not have.
const NOT_PGSPHERE: &[&str] = &[
    "square_degrees",
    "spoint_to_array_deg",
    "scircle_to_array_deg",
    "spoly_to_array_deg",
];

/// The (ADQL, SQL) pairs of the `adql_postgresql_tests` section: each entry is a list of two
/// plain scalars, each on its own `- ` line (continuation lines are indented further).
fn read_pairs(yaml: &str) -> Vec<(String, String)> {
    let mut items: Vec<Vec<String>> = Vec::new();
    let mut inside = false;
    for line in yaml.lines() {
        if !line.starts_with(' ') && !line.starts_with('#') && !line.trim().is_empty() {
            inside = line.trim_end() == "adql_postgresql_tests:";
            continue;
        }
        if !inside || line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let t = line.trim_start();
        if t == "-" {
            items.push(Vec::new());
        } else if let Some(value) = t.strip_prefix("- ") {
            if let Some(item) = items.last_mut() {
                item.push(value.trim().to_string());
            }
        } else if let Some(last) = items.last_mut().and_then(|i| i.last_mut()) {
            last.push(' ');
            last.push_str(t.trim());
        }
    }
    items
        .into_iter()
        .filter_map(|i| match i.as_slice() {
            [a, s] => Some((a.clone(), s.clone())),
            _ => None,
        })
        .collect()
}

/// `adql` without its TOP n, `sql` without its LIMIT n and final semicolon.
fn without_limits(adql: &str, sql: &str) -> (String, String) {
    let words: Vec<&str> = adql.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if words[i].eq_ignore_ascii_case("TOP") && i + 1 < words.len() {
            i += 2;
            continue;
        }
        out.push(words[i]);
        i += 1;
    }
    let sql = sql.trim().trim_end_matches(';');
    let sql = match sql.rfind(" LIMIT ") {
        Some(k) if sql[k + 7..].trim().parse::<u64>().is_ok() => &sql[..k],
        _ => sql,
    };
    (out.join(" "), sql.to_string())
}

/// PostgreSQL's text of a value as JSON: booleans as 1/0 (ADQL's CONTAINS and INTERSECTS
/// are integers), numbers as numbers.
fn pg_value(v: &Option<String>) -> serde_json::Value {
    match v.as_deref() {
        None => serde_json::Value::Null,
        Some("t") => 1.into(),
        Some("f") => 0.into(),
        Some(s) => s
            .parse::<i64>()
            .map(serde_json::Value::from)
            .or_else(|_| s.parse::<f64>().map(serde_json::Value::from))
            .unwrap_or_else(|_| s.into()),
    }
}

fn sort_key(row: &serde_json::Value) -> String {
    match row {
        serde_json::Value::Array(v) => v.iter().map(sort_key).collect::<Vec<_>>().join("|"),
        serde_json::Value::Number(n) => format!("{:.6e}", n.as_f64().unwrap_or(0.0)),
        other => other.to_string(),
    }
}

fn same_rows(mut a: Vec<serde_json::Value>, mut b: Vec<serde_json::Value>) -> Result<(), String> {
    a.sort_by_key(sort_key);
    b.sort_by_key(sort_key);
    if a.len() != b.len() {
        return Err(format!("{} rows, expected {}", a.len(), b.len()));
    }
    if let Some((x, y)) = a.iter().zip(&b).find(|(x, y)| !common::same(x, y)) {
        return Err(format!("row {x}, expected {y}"));
    }
    if a.is_empty() {
        return Err("no rows".into());
    }
    Ok(())
}

/// 3,000 positions north of the equator (the pairs take LN(dec) and LOG(ra) of the rows they
/// keep): spread over the sky, and crowded around the shapes the pairs use.
fn write_inputs(dir: &Path) {
    std::fs::write(dir.join("db.yaml"), SCHEMA).expect("schema");
    let mut g = common::Lcg(7);
    let mut csv = String::from("id,ra,dec\n");
    let spots = [(357.0, 5.0, 6.0), (20.0, 12.0, 12.0), (2.0, 2.0, 4.0)];
    for id in 1..=3000 {
        let (ra, dec) = if id % 3 == 0 {
            let (ra0, dec0, size) = spots[(g.next() * 3.0) as usize];
            (
                (ra0 + (g.next() - 0.5) * 2.0 * size).rem_euclid(360.0),
                dec0 + (g.next() - 0.5) * 2.0 * size,
            )
        } else {
            (g.next() * 360.0, g.next().asin().to_degrees())
        };
        let (ra, dec) = (ra.clamp(0.001, 359.999), dec.clamp(0.001, 89.9));
        csv.push_str(&format!("{id},{ra:.7},{dec:.7}\n"));
    }
    std::fs::write(dir.join("tab.csv"), csv).expect("csv");
}

async fn gateway(inputs: &Path, work: &Path, db: Option<String>) -> vogate::Gateway {
    let s = common::catalog_settings(
        &inputs.join("db.yaml"),
        work,
        None,
        db,
        ("db.tab", "ra", "dec"),
    );
    let gw = vogate::prepare(s.clone()).expect("prepare");
    assert_eq!(
        vogate::load_csv(&s, "db.tab", &inputs.join("tab.csv")).expect("tab"),
        3000
    );
    gw
}

async fn pairs() {
    let yaml = std::fs::read_to_string(
        vo_testkit::shared_dir("corpus/adql/queryparser").join("tests.yaml"),
    )
    .expect("tests.yaml");
    let all = read_pairs(&yaml);
    assert!(all.len() >= 20, "{} pairs read", all.len());
    let url = vogate_tests::fresh_pg_database("adql_queryparser");
    let (inputs, w1, w2) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    write_inputs(inputs.path());
    let lite = gateway(inputs.path(), w1.path(), None).await;
    let pg = gateway(inputs.path(), w2.path(), Some(url.clone())).await;
    let (mut compared, mut left_out, mut failures) = (0, Vec::new(), Vec::new());
    for (adql, sql) in &all {
        if let Some(f) = NOT_PGSPHERE
            .iter()
            .find(|f| sql.to_ascii_lowercase().contains(&format!("{f}(")))
        {
            left_out.push(format!(
                "{adql}\n    its SQL calls {f}, which pgSphere does not have"
            ));
            continue;
        }
        let ordered = adql.to_ascii_uppercase().contains("ORDER BY");
        let (adql, sql) = if ordered {
            (adql.clone(), sql.trim_end_matches(';').to_string())
        } else {
            without_limits(adql, sql)
        };
        let expected = match vogate_tests::pg_rows(&url, &sql) {
            Ok(rows) => rows
                .iter()
                .map(|r| serde_json::Value::Array(r.iter().map(pg_value).collect()))
                .collect::<Vec<_>>(),
            Err(e) => {
                left_out.push(format!("{adql}\n    pgSphere 1.2 refuses its SQL: {e}"));
                continue;
            }
        };
        compared += 1;
        for (name, gw) in [("PostgreSQL", &pg), ("SQLite", &lite)] {
            let (status, body, text) = common::tap_json(gw, &adql).await;
            if status != 200 || body["query_status"] != "OK" {
                failures.push(format!("{name}: {adql}\n    {status}: {text}"));
                continue;
            }
            let rows = body["data"].as_array().cloned().unwrap_or_default();
            if let Err(why) = same_rows(rows, expected.clone()) {
                failures.push(format!(
                    "{name}: {adql}\n    {why}\n    expected from {sql}"
                ));
            }
        }
    }
    println!(
        "adql_queryparser: {compared} of {} pairs give the expected rows on both backends; {} left out:\n  {}",
        all.len(),
        left_out.len(),
        left_out.join("\n  ")
    );
    assert!(
        failures.is_empty(),
        "{} answers differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(compared >= 10, "only {compared} pairs could be compared");
}

//! The Felis corpus of ../shared/corpus/felis: every valid schema is accepted, every invalid
//! one refused with a located message naming the rule, and the TAP_SCHEMA rows equal the ones
//! Felis 30.2026.4300 wrote (expected_tap_schema/), field by field.

use std::path::PathBuf;
use vo_felis::tap::TapRows;
use vo_felis::{load_file, tap_schema_rows, Checks, TapOptions};

fn main() -> std::process::ExitCode {
    use vo_testkit::Test;
    let corpus = vo_testkit::shared("corpus/felis");
    vo_testkit::run(vec![
        Test::sync(
            "every_valid_schema_is_accepted",
            every_valid_schema_is_accepted,
        )
        .needs(&corpus),
        Test::sync(
            "every_invalid_schema_is_refused_with_the_rule_named_where_it_is_broken",
            every_invalid_schema_is_refused_with_the_rule_named_where_it_is_broken,
        )
        .needs(&corpus),
        Test::sync(
            "tap_schema_rows_equal_felis_rows_field_by_field",
            tap_schema_rows_equal_felis_rows_field_by_field,
        )
        .needs(&corpus),
        Test::sync(
            "votable_datatype_is_honoured_where_asked",
            votable_datatype_is_honoured_where_asked,
        ),
        Test::sync(
            "a_file_holds_one_yaml_document",
            a_file_holds_one_yaml_document,
        ),
    ])
}

/// ../shared/corpus/felis (or $VOGATE_SHARED/corpus/felis), declared as a need.
fn corpus() -> PathBuf {
    vo_testkit::shared_dir("corpus/felis")
}

/// The files the corpus README marks as valid.
const VALID: &[&str] = &[
    "sdm_schemas/dp02_dc2.yaml",
    "sdm_schemas/dp02_obscore.yaml",
    "sdm_schemas/ivoa_obscore.yaml",
    "sdm_schemas/oga_live_obscore.yaml",
    "sdm_schemas/obsloctap.yaml",
    "sdm_schemas/drp_base.yaml",
    "sdm_schemas/apdb.yaml",
    "sdm_schemas/ap_extra.yaml",
    "sdm_schemas/ppdb.yaml",
    "felis_tests/test_tap_schema.yaml",
    "felis_tests/test_tap_schema_nonstandard.yaml",
    "felis_tests/test_composite_keys.yaml",
    "felis_tests/sales.yaml",
    "felis_tests/test.yml",
    "felis_tests/test_id_generation.yaml",
    "felis_tests/test_serialization.yaml",
    "felis_tests/test_diff1.yaml",
    "felis_tests/test_diff2.yaml",
    "felis_config/tap_schema_std.yaml",
];

fn every_valid_schema_is_accepted() {
    let dir = corpus();
    for f in VALID {
        if let Err(problems) = load_file(&dir.join(f), &Checks::default()) {
            panic!(
                "{f} refused:\n{}",
                problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

fn every_invalid_schema_is_refused_with_the_rule_named_where_it_is_broken() {
    let dir = corpus();
    // (file, rule, words of the message, path of the object)
    let cases = [
        (
            "01_string_without_length.yaml",
            "length-required",
            "Length must be provided for type 'string'",
            "tables[0].columns[1].length",
        ),
        (
            "02_both_units.yaml",
            "one-unit",
            "Column cannot have both FITS and IVOA units",
            "tables[0].columns[0]",
        ),
        (
            "03_precision_on_double.yaml",
            "precision-timestamp-only",
            "Precision is only valid for timestamp columns",
            "tables[0].columns[0].precision",
        ),
        (
            "04_duplicate_column_names.yaml",
            "unique-column-names",
            "Column names must be unique",
            "tables[0].columns",
        ),
        (
            "05_fk_column_count_mismatch.yaml",
            "fk-lengths",
            "Columns and referencedColumns must have the same length",
            "tables[1].constraints[0]",
        ),
        (
            "06_index_columns_and_expressions.yaml",
            "index-columns-or-expressions",
            "Defining columns and expressions is not valid",
            "tables[0].indexes[0]",
        ),
        (
            "07_principal_out_of_range.yaml",
            "flag-0-or-1",
            "Input should be less than or equal to 1",
            "tables[0].columns[0].tap:principal",
        ),
        (
            "08_unknown_key.yaml",
            "extra-key",
            "Extra inputs are not permitted: 'nulable'",
            "tables[0].columns[0].nulable",
        ),
        (
            "09_unknown_datatype.yaml",
            "datatype",
            "not 'float64'",
            "tables[0].columns[0].datatype",
        ),
        (
            "10_default_value_wrong_type.yaml",
            "value-type",
            "Default value must be an int for integer type columns",
            "tables[0].columns[0].value",
        ),
        (
            "11_fk_unknown_target.yaml",
            "column-id",
            "Column ID '#parent.id' not found in schema",
            "tables[0].constraints[0].columns",
        ),
        (
            "12_duplicate_table_index.yaml",
            "unique-tap-table-index",
            "Duplicate 'tap:table_index' value 1 found in schema",
            "tables[1].tap:table_index",
        ),
    ];
    let files: Vec<_> = std::fs::read_dir(dir.join("invalid"))
        .expect("invalid/")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    assert_eq!(
        files.len(),
        cases.len(),
        "a file of invalid/ without a case: {files:?}"
    );
    for (file, rule, words, path) in cases {
        let problems =
            load_file(&dir.join("invalid").join(file), &Checks::default()).expect_err(file);
        let p = problems
            .iter()
            .find(|p| p.rule == rule)
            .unwrap_or_else(|| panic!("{file}: no '{rule}' among {problems:?}"));
        assert!(p.message.contains(words), "{file}: {p}");
        assert_eq!(p.at.path, path, "{file}: {p}");
        assert!(p.at.line > 1, "{file}: no line in {p}");
        assert!(p.to_string().contains(file), "{p}");
    }
    // The deliberately incomplete ObsCore template: no datatype on any column.
    let problems = load_file(
        &dir.join("sdm_schemas/ivoa_obscore_nominal.yaml"),
        &Checks::default(),
    )
    .expect_err("nominal");
    let missing = problems
        .iter()
        .filter(|p| p.rule == "required" && p.at.path.ends_with(".datatype"))
        .count();
    assert_eq!(missing, 60, "{problems:?}");
}

/// The rows of one TAP_SCHEMA table as CSV-like text fields (NULL = ""), in Felis's CSV
/// column order, sorted as the expected files are (by the first two columns).
fn table_fields(rows: &TapRows, table: &str) -> Vec<Vec<String>> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let oi = |v: &Option<i64>| v.map(|i| i.to_string()).unwrap_or_default();
    let mut out: Vec<Vec<String>> = match table {
        "schemas" => rows
            .schemas
            .iter()
            .map(|r| {
                vec![
                    r.schema_name.clone(),
                    o(&r.utype),
                    o(&r.description),
                    oi(&r.schema_index),
                ]
            })
            .collect(),
        "tables" => rows
            .tables
            .iter()
            .map(|r| {
                vec![
                    r.schema_name.clone(),
                    r.table_name.clone(),
                    r.table_type.clone(),
                    o(&r.utype),
                    o(&r.description),
                    r.table_index.to_string(),
                ]
            })
            .collect(),
        "columns" => rows
            .columns
            .iter()
            .map(|r| {
                vec![
                    r.table_name.clone(),
                    r.column_name.clone(),
                    o(&r.utype),
                    o(&r.ucd),
                    o(&r.unit),
                    o(&r.description),
                    r.datatype.clone(),
                    o(&r.arraysize),
                    o(&r.xtype),
                    oi(&r.size),
                    r.principal.to_string(),
                    r.indexed.to_string(),
                    r.std.to_string(),
                    oi(&r.column_index),
                ]
            })
            .collect(),
        "keys" => rows
            .keys
            .iter()
            .map(|r| {
                vec![
                    r.key_id.clone(),
                    r.from_table.clone(),
                    r.target_table.clone(),
                    o(&r.utype),
                    o(&r.description),
                ]
            })
            .collect(),
        _ => rows
            .key_columns
            .iter()
            .map(|r| {
                vec![
                    r.key_id.clone(),
                    r.from_column.clone(),
                    r.target_column.clone(),
                ]
            })
            .collect(),
    };
    out.sort_by(|a, b| (&a[0], &a[1]).cmp(&(&b[0], &b[1])));
    out
}

fn expected_fields(path: &std::path::Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).expect("csv");
    let mut out: Vec<Vec<String>> = r
        .records()
        .map(|rec| rec.expect("record").iter().map(str::to_string).collect())
        .collect();
    out.sort_by(|a, b| (&a[0], &a[1]).cmp(&(&b[0], &b[1])));
    out
}

fn tap_schema_rows_equal_felis_rows_field_by_field() {
    let dir = corpus();
    let inputs = [
        ("test_tap_schema", "felis_tests/test_tap_schema.yaml"),
        (
            "test_composite_keys",
            "felis_tests/test_composite_keys.yaml",
        ),
        ("sales", "felis_tests/sales.yaml"),
        ("dp02_obscore", "sdm_schemas/dp02_obscore.yaml"),
    ];
    for (expected, input) in inputs {
        let schema = load_file(&dir.join(input), &Checks::default()).expect(input);
        // vogate honours votable:datatype (Felis ignores it); none of these inputs has one, so
        // the rows must be equal with and without that option: no difference is expected.
        for honour in [false, true] {
            let rows = tap_schema_rows(
                &schema,
                &TapOptions {
                    schema_index: None,
                    honour_votable_datatype: honour,
                },
            );
            for table in ["schemas", "tables", "columns", "keys", "key_columns"] {
                let want = expected_fields(
                    &dir.join(format!("expected_tap_schema/{expected}/{table}.csv")),
                );
                let got = table_fields(&rows, table);
                assert_eq!(got.len(), want.len(), "{expected}/{table}: {got:?}");
                for (g, w) in got.iter().zip(&want) {
                    assert_eq!(g, w, "{expected}/{table}.csv");
                }
            }
        }
    }
}

fn votable_datatype_is_honoured_where_asked() {
    let text = "name: s\ntables:\n- name: t\n  columns:\n  - name: c\n    datatype: long\n    votable:datatype: int\n";
    let schema = vo_felis::load_str(text, "inline.yaml", None, &Checks::default()).expect("valid");
    let felis_rule = tap_schema_rows(&schema, &TapOptions::default());
    assert_eq!(felis_rule.columns[0].datatype, "long");
    let vogate_rule = tap_schema_rows(
        &schema,
        &TapOptions {
            schema_index: None,
            honour_votable_datatype: true,
        },
    );
    assert_eq!(vogate_rule.columns[0].datatype, "int");
}

fn a_file_holds_one_yaml_document() {
    let one = "---\nname: s\ntables: []\n";
    assert!(vo_felis::load_str(one, "one.yaml", None, &Checks::default()).is_ok());
    let two = "name: s\ntables: []\n---\nname: t\ntables: []\n";
    let e = vo_felis::load_str(two, "two.yaml", None, &Checks::default()).expect_err("two");
    assert_eq!(e[0].at.line, 3, "{e:?}");
    assert!(e[0].message.contains("single YAML document"), "{e:?}");
    for bad in ["", "- a\n- b\n", "not: [closed\n"] {
        let e = vo_felis::load_str(bad, "bad.yaml", None, &Checks::default()).expect_err(bad);
        assert!(!e.is_empty());
    }
}

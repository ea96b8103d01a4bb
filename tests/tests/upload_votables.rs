//! The VOTable reader of TAP UPLOAD (vo_common::format::read) on the upload fixtures of
//! opencadc's TAP service (../shared/corpus/adql/opencadc-tap/upload-votables): every
//! datatype, no rows, no table, and column names that are not ADQL identifiers (kept as
//! they are: the upload maps them to names the database can hold).

use vo_common::format::read::{ReadLimits, VotableReader};
use vo_common::Value;

fn main() -> std::process::ExitCode {
    let shared = vo_testkit::shared("corpus/adql/opencadc-tap/upload-votables");
    vo_testkit::run(vec![vo_testkit::Test::sync(
        "opencadc_upload_fixtures_read_as_written",
        opencadc_upload_fixtures_read_as_written,
    )
    .needs(&shared)])
}

type Read = Result<(Vec<vo_common::FieldMeta>, Vec<Vec<Value>>), String>;

fn read(name: &str) -> Read {
    let path = vo_testkit::shared_dir("corpus/adql/opencadc-tap/upload-votables").join(name);
    let file = std::fs::File::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut r = VotableReader::new(std::io::BufReader::new(file), ReadLimits::default())?;
    let mut rows = Vec::new();
    while let Some(row) = r.next_row() {
        rows.push(row?);
    }
    Ok((r.fields().to_vec(), rows))
}

fn opencadc_upload_fixtures_read_as_written() {
    let (fields, rows) = read("AllTypes.xml").expect("AllTypes.xml");
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names.len(), 17);
    assert_eq!(names[0], "short_datatype");
    assert_eq!(names[16], "dali_timestamp_xtype");
    assert_eq!(fields[1].xtype.as_deref(), Some("adql:SMALLINT"));
    assert_eq!(fields[12].arraysize.as_deref(), Some("32"));
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row[..6], [1, 1, 2, 2, 3, 3].map(Value::Int));
    // float columns are 4-byte floats; doubles are read as written.
    assert_eq!(row[6], Value::Double(f64::from(4.4f32)));
    assert_eq!(row[8], Value::Double(5.5));
    assert_eq!(row[10], Value::Text("C".into()));
    assert_eq!(row[12], Value::Text("char(32) of exact--len".into()));
    assert_eq!(row[13], Value::Text("varchar(32) value".into()));
    assert_eq!(row[15], Value::Text("2011-01-01T00:00:00.000".into()));

    let (fields, rows) = read("AllTypes-NoRows.xml").expect("AllTypes-NoRows.xml");
    // This one has a varchar_datatype column more (18 FIELDs), and no rows.
    assert_eq!((fields.len(), rows.len()), (18, 0));
    assert_eq!(fields[14].name, "varchar_datatype");

    let e = read("EmptyTable.xml").expect_err("no TABLE");
    assert!(e.contains("the VOTable has no TABLE"), "{e}");

    for (file, name) in [
        ("ColumnNameContainsInvalidLetter.xml", "column-name"),
        ("ColumnNameContainsSpace.xml", "column name"),
        ("ColumnNameEndsWithSpace.xml", "column_name "),
        ("ColumnNameStartsWithDigit.xml", "1colum_name"),
        ("ColumnNameStartsWithSpace.xml", " column_name"),
        ("ColumnNameStartsWithUnderscore.xml", "_column_name"),
    ] {
        let (fields, rows) = read(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(fields.len(), 1, "{file}");
        assert_eq!(fields[0].name, name, "{file}");
        assert_eq!(fields[0].datatype, "int", "{file}");
        assert!(rows.is_empty(), "{file}");
    }
}

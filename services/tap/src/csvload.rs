//! `vogate load TABLE FILE`: rows of a published table from a CSV file (RFC 4180, a header
//! line naming columns of the table, in any order and case). Every value is checked against
//! the column's TAP_SCHEMA datatype and arraysize before anything is written; the first bad
//! value is reported with its line and column, and then nothing is loaded. The rows go in
//! within one transaction. An empty field is NULL; a quoted empty field (`""`) is the empty
//! string of a text column (as PostgreSQL's `COPY ... CSV` reads them). NaN and the
//! infinities are numbers (`NaN`, `inf`, `-Infinity`) except in the table's position
//! columns; SQLite, which would keep a NaN as NULL, refuses it.

use crate::schema::{quote_ident, TapCatalog};
use std::path::Path;
use vo_adql::{ColumnInfo, TableInfo};
use vo_common::{Value, VoError};

/// Rows read and checked, ready to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvRows {
    /// The table.
    pub table: TableInfo,
    /// The columns given, in the file's order.
    pub columns: Vec<ColumnInfo>,
    /// The values (NULL for empty fields).
    pub rows: Vec<Vec<Value>>,
    /// The file's line of each row, for messages.
    pub lines: Vec<u64>,
    /// The file, for messages.
    pub file: String,
}

/// Tables vogate writes itself, which `vogate load` refuses.
fn managed(table: &TableInfo) -> bool {
    table.qualified_name() == crate::schema::OBSCORE_TABLE
        || table
            .schema
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("TAP_SCHEMA"))
}

/// Check one field against its column: the value, or why it is not one. `position`: the
/// column is the table's RA or Dec (its index needs a finite number).
fn check(field: &str, column: &ColumnInfo, position: bool) -> Result<Value, String> {
    if field.is_empty() {
        return Ok(Value::Null);
    }
    let f = &column.field;
    let int_in = |lo: i64, hi: i64| -> Result<Value, String> {
        match field.trim().parse::<i64>() {
            Ok(v) if (lo..=hi).contains(&v) => Ok(Value::Int(v)),
            Ok(v) => Err(format!(
                "{v} is out of the range of a {} ({lo}..{hi})",
                f.datatype
            )),
            Err(_) => Err(format!("'{field}' is not an integer ({})", f.datatype)),
        }
    };
    match f.datatype.as_str() {
        "boolean" => match field.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "1" => Ok(Value::Int(1)),
            "false" | "f" | "0" => Ok(Value::Int(0)),
            _ => Err(format!("'{field}' is not a boolean (true/false, t/f, 1/0)")),
        },
        "unsignedByte" => int_in(0, 255),
        "short" => int_in(i16::MIN.into(), i16::MAX.into()),
        "int" => int_in(i32::MIN.into(), i32::MAX.into()),
        "long" => int_in(i64::MIN, i64::MAX),
        "float" | "double" => match field.trim().parse::<f64>() {
            // NaN and the infinities are values (every format writes them as such, apart
            // from NULL), but a position must be a finite angle.
            Ok(v) if position && !v.is_finite() => Err(format!(
                "'{field}' is not a finite number, which a position column needs (leave the \
                 field empty for NULL)"
            )),
            Ok(v) if f.datatype == "float" && v.is_finite() && v.abs() > f32::MAX as f64 => {
                Err(format!("{v} is out of the range of a float"))
            }
            Ok(v) => Ok(Value::Double(v)),
            Err(_) => Err(format!("'{field}' is not a number ({})", f.datatype)),
        },
        _ => {
            if f.xtype.as_deref() == Some("timestamp") {
                return match timestamp(field.trim()) {
                    Some(t) => Ok(Value::Text(t)),
                    None => Err(format!(
                        "'{field}' is not a timestamp (YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff][Z])"
                    )),
                };
            }
            let limit = f
                .arraysize
                .as_deref()
                .and_then(|a| a.trim_end_matches('*').parse::<usize>().ok());
            match limit {
                Some(n) if field.chars().count() > n => Err(format!(
                    "'{field}' has {} characters; the column holds at most {n}",
                    field.chars().count()
                )),
                // VOTable's char is ASCII (VOTable 1.4 §2.1): text with other characters
                // belongs in a unicode or text column.
                _ if f.datatype == "char" && !field.is_ascii() => Err(format!(
                    "'{field}' holds characters that are not ASCII, which a char column \
                     cannot (declare the column unicode or text in the Felis file)"
                )),
                _ => Ok(Value::Text(field.to_string())),
            }
        }
    }
}

/// Which of the `n` fields of the CSV record starting at byte `start` of `raw` are quoted
/// (RFC 4180: a field that starts with `"`).
fn quoted_fields(raw: &[u8], start: usize, n: usize) -> Vec<bool> {
    let mut out = Vec::with_capacity(n);
    // After a CRLF the csv crate's position is that of the LF.
    let mut i = start;
    while matches!(raw.get(i), Some(b'\r' | b'\n')) {
        i += 1;
    }
    while out.len() < n && i <= raw.len() {
        let quoted = raw.get(i) == Some(&b'"');
        out.push(quoted);
        if quoted {
            // To the closing quote (a doubled quote is a quote inside).
            i += 1;
            while i < raw.len() {
                if raw[i] == b'"' {
                    if raw.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
        }
        while i < raw.len() && raw[i] != b',' && raw[i] != b'\n' && raw[i] != b'\r' {
            i += 1;
        }
        if raw.get(i) != Some(&b',') {
            break;
        }
        i += 1;
    }
    out
}

/// A DALI timestamp (DALI 1.1 §3.3.3: `YYYY-MM-DD['T'hh:mm:ss[.fff]][Z]`, a space also taken
/// for `T`) with its fields in range, in the form vogate stores and PostgreSQL returns:
/// `T` between date and time, no `Z`, no trailing zero digits of the fraction.
fn timestamp(s: &str) -> Option<String> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    if !is_timestamp(s) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let (year, month, day) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days).contains(&day) {
        return None;
    }
    if s.len() == 10 {
        // A date is its midnight, as PostgreSQL's TIMESTAMP keeps it.
        return Some(format!("{s}T00:00:00"));
    }
    let (h, m, sec) = (n(11..13)?, n(14..16)?, n(17..19)?);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let mut out = format!("{}T{}", &s[..10], &s[11..19]);
    if s.len() > 19 {
        let frac = s[20..].trim_end_matches('0');
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
    }
    Some(out)
}

/// `YYYY-MM-DD`, optionally `Thh:mm:ss` (or a space) and a fraction (shape only).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|x| x.iter().all(u8::is_ascii_digit))
    };
    let date = b.len() >= 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10);
    if !date {
        return false;
    }
    if b.len() == 10 {
        return true;
    }
    let time = b.len() >= 19
        && matches!(b[10], b'T' | b' ')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    time && (b.len() == 19 || (b[19] == b'.' && b.len() > 20 && digits(20..b.len())))
}

/// Read `path` for table `table_name` (as published, `schema.table`, any case) of `catalog`.
pub fn read_csv(catalog: &TapCatalog, table_name: &str, path: &Path) -> Result<CsvRows, VoError> {
    use vo_adql::Catalog;
    let table = catalog
        .tables()
        .iter()
        .find(|t| t.qualified_name() == table_name)
        .or_else(|| {
            catalog
                .tables()
                .iter()
                .find(|t| t.qualified_name().eq_ignore_ascii_case(table_name))
        })
        .ok_or_else(|| {
            VoError::usage(format!(
                "there is no published table '{table_name}' (load its Felis schema first: vogate schema load)"
            ))
        })?
        .clone();
    if managed(&table) {
        return Err(VoError::usage(format!(
            "{} is written by vogate itself and cannot be loaded from CSV",
            table.qualified_name()
        )));
    }
    let file = path.display().to_string();
    // Read whole (the rows are held until the one transaction anyway), so that an empty
    // field can be told from a quoted empty one.
    let raw = std::fs::read(path).map_err(|e| VoError::usage(format!("{file}: {e}")))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(raw.as_slice());
    let headers = reader
        .headers()
        .map_err(|e| VoError::usage(format!("{file}: line 1: {e}")))?
        .clone();
    if headers.is_empty() || headers.iter().all(|h| h.trim().is_empty()) {
        return Err(VoError::usage(format!(
            "{file}: line 1: no header line naming the columns of {}; nothing was loaded",
            table.qualified_name()
        )));
    }
    let mut columns = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim();
        let c = table
            .columns
            .iter()
            .find(|c| c.field.name == h)
            .or_else(|| {
                table
                    .columns
                    .iter()
                    .find(|c| c.field.name.eq_ignore_ascii_case(h))
            })
            .ok_or_else(|| {
                VoError::usage(format!(
                    "{file}: line 1, column {}: '{h}' is not a column of {}",
                    i + 1,
                    table.qualified_name()
                ))
            })?;
        if columns
            .iter()
            .any(|x: &ColumnInfo| x.field.name == c.field.name)
        {
            return Err(VoError::usage(format!(
                "{file}: line 1, column {}: '{h}' is given twice",
                i + 1
            )));
        }
        columns.push(c.clone());
    }
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    // (byte offset, line number) of the last record start: lines are counted as they go.
    let mut counted: (usize, u64) = (0, 1);
    for record in reader.records() {
        let record = record.map_err(|e| VoError::usage(format!("{file}: {e}")))?;
        // The line, counted from the record's byte offset (the csv crate's own count leaves
        // out blank lines it skips).
        let start = record.position().map_or(counted.0, |p| p.byte() as usize);
        let start = start
            + raw[start.min(raw.len())..]
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
        let upto = start.min(raw.len());
        counted.1 += raw[counted.0.min(upto)..upto]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        counted.0 = upto;
        let line = counted.1;
        if record.len() != columns.len() {
            return Err(VoError::usage(format!(
                "{file}: line {line}: {} fields where the header has {}",
                record.len(),
                columns.len()
            )));
        }
        let quoted = record
            .position()
            .map(|p| quoted_fields(&raw, p.byte() as usize, record.len()))
            .unwrap_or_default();
        let mut values = Vec::with_capacity(columns.len());
        for (i, (field, column)) in record.iter().zip(&columns).enumerate() {
            // `""` is the empty string of a text column; an empty field is NULL (as in
            // PostgreSQL's COPY ... CSV).
            if field.is_empty()
                && quoted.get(i).copied().unwrap_or(false)
                && matches!(column.field.datatype.as_str(), "char" | "unicodeChar")
            {
                values.push(Value::Text(String::new()));
                continue;
            }
            let position = table.position.as_ref().is_some_and(|(ra, dec)| {
                column.field.name.eq_ignore_ascii_case(ra)
                    || column.field.name.eq_ignore_ascii_case(dec)
            });
            values.push(check(field, column, position).map_err(|m| {
                VoError::usage(format!(
                    "{file}: line {line}, column {} ({}): {m}; nothing was loaded",
                    i + 1,
                    column.field.name
                ))
            })?);
        }
        rows.push(values);
        lines.push(line);
    }
    let mut out = CsvRows {
        table,
        columns,
        rows,
        lines,
        file,
    };
    out.sort_by_position();
    Ok(out)
}

impl CsvRows {
    /// Put the rows of a table with an indexed position in the order of their HEALPix cell
    /// (NESTED, order [`crate::schema::HPX_ORDER`]; rows without a position last), keeping
    /// the file's order within a cell: the rows of one cone are then neighbours on disk
    /// (SQLite's rowids, PostgreSQL's heap pages), so a cone reads a few pages instead of a
    /// page per row. Other tables keep the file's order.
    pub fn sort_by_position(&mut self) {
        let Some((ra, dec)) = &self.table.position else {
            return;
        };
        let find = |name: &str| {
            self.columns
                .iter()
                .position(|c| c.field.name.eq_ignore_ascii_case(name))
        };
        let (Some(i), Some(j)) = (find(ra), find(dec)) else {
            return;
        };
        let number = |v: &Value| match v {
            Value::Double(d) => Some(*d),
            Value::Int(n) => Some(*n as f64),
            _ => None,
        };
        let cell = |row: &Vec<Value>| -> u64 {
            match (row.get(i).and_then(number), row.get(j).and_then(number)) {
                (Some(a), Some(d)) if a.is_finite() && (-90.0..=90.0).contains(&d) => {
                    cdshealpix::nested::hash(
                        crate::schema::HPX_ORDER,
                        vo_common::sky::normalize_ra(a).to_radians(),
                        d.to_radians(),
                    )
                }
                _ => u64::MAX,
            }
        };
        let mut order: Vec<(u64, usize)> = self
            .rows
            .iter()
            .enumerate()
            .map(|(k, r)| (cell(r), k))
            .collect();
        order.sort_unstable();
        let mut rows: Vec<Option<Vec<Value>>> = std::mem::take(&mut self.rows)
            .into_iter()
            .map(Some)
            .collect();
        self.rows = order.iter().filter_map(|(_, k)| rows[*k].take()).collect();
        self.lines = order.iter().map(|(_, k)| self.lines[*k]).collect();
    }
}

/// Insert checked rows into SQLite, in one transaction. Returns the row count.
pub fn insert_sqlite(conn: &mut rusqlite::Connection, rows: &CsvRows) -> Result<usize, VoError> {
    let tx = conn
        .transaction()
        .map_err(|e| VoError::internal(format!("database error: {e}")))?;
    {
        let names: Vec<String> = rows
            .columns
            .iter()
            .map(|c| quote_ident(&c.field.name))
            .collect();
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        let mut st = tx
            .prepare(&format!(
                "INSERT INTO {} ({}) VALUES ({})",
                quote_ident(&rows.table.qualified_name()),
                names.join(", "),
                placeholders.join(", ")
            ))
            .map_err(|e| VoError::internal(format!("database error: {e}")))?;
        for (i, r) in rows.rows.iter().enumerate() {
            // SQLite stores a NaN as NULL: refused rather than changed.
            if let Some(k) = r
                .iter()
                .position(|v| matches!(v, Value::Double(d) if d.is_nan()))
            {
                return Err(VoError::usage(format!(
                    "{}: line {}, column {} ({}): NaN cannot be stored in SQLite, which would \
                     keep it as NULL (leave the field empty for NULL, or load into PostgreSQL); \
                     nothing was loaded",
                    rows.file,
                    rows.lines.get(i).copied().unwrap_or(0),
                    k + 1,
                    rows.columns.get(k).map_or("", |c| c.field.name.as_str())
                )));
            }
            st.execute(rusqlite::params_from_iter(
                r.iter().cloned().map(crate::schema::sqlite_value),
            ))
            .map_err(|e| {
                VoError::usage(format!(
                    "{}: line {}: the database refused the row: {e}; nothing was loaded",
                    rows.file,
                    rows.lines.get(i).copied().unwrap_or(0)
                ))
            })?;
        }
    }
    if let Some((ra, dec)) = &rows.table.position {
        crate::schema::ensure_position_sqlite(&tx, &rows.table.qualified_name(), ra, dec)?;
    }
    tx.commit()
        .map_err(|e| VoError::internal(format!("database error: {e}")))?;
    Ok(rows.rows.len())
}

#[cfg(test)]
mod tests {
    use super::quoted_fields;

    #[test]
    fn quoted_fields_are_found_in_the_raw_record() {
        let raw = b"id,a,b\n1,\"\",\n2,\"x,\"\"y\",\"\"\r\n3,,";
        assert_eq!(quoted_fields(raw, 7, 3), [false, true, false]);
        assert_eq!(quoted_fields(raw, 13, 3), [false, true, true]);
        assert_eq!(quoted_fields(raw, 27, 3), [false, false, false]);
        assert_eq!(quoted_fields(raw, 26, 3), [false, false, false]);
        assert_eq!(quoted_fields(raw, 6, 3), [false, true, false]);
    }

    #[test]
    fn rows_of_a_positioned_table_go_in_healpix_order() {
        use super::CsvRows;
        use vo_adql::{ColumnInfo, TableInfo};
        use vo_common::Value;
        let col = |name: &str| ColumnInfo {
            name: name.into(),
            field: vo_common::FieldMeta {
                name: name.into(),
                datatype: "double".into(),
                ..Default::default()
            },
        };
        let table = TableInfo {
            schema: Some("cat".into()),
            name: "t".into(),
            columns: vec![col("ra"), col("dec")],
            position: Some(("ra".into(), "dec".into())),
        };
        let pos = [
            (200.0, -40.0),
            (10.0, 10.0),
            (10.0001, 10.0),
            (359.0, 80.0),
            (10.0, 10.0),
        ];
        let mut rows = CsvRows {
            table: table.clone(),
            columns: table.columns.clone(),
            rows: pos
                .iter()
                .map(|(a, d)| vec![Value::Double(*a), Value::Double(*d)])
                .chain([vec![Value::Null, Value::Double(1.0)]])
                .collect(),
            lines: (2..8).collect(),
            file: "t.csv".into(),
        };
        rows.sort_by_position();
        let cell = |a: f64, d: f64| {
            cdshealpix::nested::hash(crate::schema::HPX_ORDER, a.to_radians(), d.to_radians())
        };
        let cells: Vec<u64> = rows.rows[..5]
            .iter()
            .map(|r| match (&r[0], &r[1]) {
                (Value::Double(a), Value::Double(d)) => cell(*a, *d),
                _ => u64::MAX,
            })
            .collect();
        assert!(cells.windows(2).all(|w| w[0] <= w[1]), "{cells:?}");
        // The row without a position is last; lines follow their rows; equal cells keep the
        // file's order.
        assert_eq!(rows.rows[5][0], Value::Null);
        assert_eq!(rows.lines[5], 7);
        let same: Vec<u64> = rows
            .rows
            .iter()
            .zip(&rows.lines)
            .filter(|(r, _)| r[0] == Value::Double(10.0))
            .map(|(_, l)| *l)
            .collect();
        assert_eq!(same, [3, 6]);
        // A table without a position keeps the file's order.
        let mut plain = rows.clone();
        plain.table.position = None;
        plain.rows.reverse();
        let before = plain.rows.clone();
        plain.sort_by_position();
        assert_eq!(plain.rows, before);
    }
}

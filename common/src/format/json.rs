//! JSON in the shape of ESA's Gaia TAP+: `{"metadata": [{"name", "datatype", "arraysize",
//! "xtype", "unit", "ucd", "utype", "description"}, ...], "data": [[...], ...],
//! "query_status": "OK" | "OVERFLOW" | "ERROR"}` (with `"error"`, the message, after an
//! ERROR). NULL, NaN and the infinities are `null` (JSON has no NaN). A cell of an array of
//! numbers (a DALI point, circle or polygon) is a JSON array of numbers.

use std::io::Write;

use super::votable::numbers;
use super::{float32_columns, fmt_number, numeric_array, QueryStatus, TableFormat, TableMeta};
use crate::votable::Value;

/// The JSON writer.
#[derive(Debug, Default)]
pub struct Json {
    rows: u64,
    float32: Vec<bool>,
    /// Which columns are arrays of numbers.
    arrays: Vec<bool>,
}

/// `s` as a JSON string.
pub(crate) fn json_str(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len() + 2);
    json_str_into(&mut out, s);
    String::from_utf8(out).unwrap_or_default()
}

/// `s` as a JSON string (RFC 8259 §7: `"` and `\` escaped, control characters as `\n`,
/// `\t`, ... or `\u00XX`) written straight into `out`, copying runs of plain characters
/// whole (the hot path of a JSON result).
pub(crate) fn json_str_into(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let b = s.as_bytes();
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let esc: Option<&[u8]> = match c {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0C => Some(b"\\f"),
            c if c < 0x20 => None,
            _ => continue,
        };
        out.extend_from_slice(&b[start..i]);
        match esc {
            Some(e) => out.extend_from_slice(e),
            None => {
                let _ = write!(out, "\\u{c:04x}");
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

fn json_opt(s: Option<&str>) -> String {
    s.map(json_str).unwrap_or_else(|| "null".to_string())
}

impl TableFormat for Json {
    fn begin(&mut self, table: &TableMeta, out: &mut Vec<u8>) {
        self.float32 = float32_columns(&table.fields);
        self.arrays = table.fields.iter().map(numeric_array).collect();
        out.extend_from_slice(b"{\"metadata\":[");
        for (i, f) in table.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let _ = write!(
                out,
                "\n{{\"name\":{},\"datatype\":{},\"arraysize\":{},\"xtype\":{},\"unit\":{},\"ucd\":{},\"utype\":{},\"description\":{}}}",
                json_str(&f.name),
                json_str(&f.datatype),
                json_opt(f.effective_arraysize()),
                json_opt(f.xtype.as_deref()),
                json_opt(f.unit.as_deref()),
                json_opt(f.ucd.as_deref()),
                json_opt(f.utype.as_deref()),
                json_opt(f.description.as_deref()),
            );
        }
        out.extend_from_slice(b"],\n\"data\":[");
    }

    fn row(&mut self, values: &[Value], out: &mut Vec<u8>) {
        if self.rows > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"\n[");
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match v {
                Value::Null => out.extend_from_slice(b"null"),
                Value::Int(n) => {
                    let _ = write!(out, "{n}");
                }
                Value::Double(d) => {
                    let f32col = self.float32.get(i).copied().unwrap_or(false);
                    let s = fmt_number(*d, f32col).unwrap_or_else(|| "null".into());
                    out.extend_from_slice(s.as_bytes());
                }
                Value::Text(_) if self.arrays.get(i).copied().unwrap_or(false) => {
                    let f32col = self.float32.get(i).copied().unwrap_or(false);
                    out.push(b'[');
                    for (k, x) in numbers(v).into_iter().enumerate() {
                        if k > 0 {
                            out.push(b',');
                        }
                        let s = fmt_number(x, f32col).unwrap_or_else(|| "null".into());
                        out.extend_from_slice(s.as_bytes());
                    }
                    out.push(b']');
                }
                Value::Text(s) => json_str_into(out, s),
            }
        }
        out.push(b']');
        self.rows += 1;
    }

    fn end(&mut self, status: &QueryStatus, out: &mut Vec<u8>) {
        let tail = match status {
            QueryStatus::Ok => "\"OK\"".to_string(),
            QueryStatus::Overflow => "\"OVERFLOW\"".to_string(),
            QueryStatus::Error(m) => format!("\"ERROR\",\n\"error\":{}", json_str(m)),
        };
        let _ = writeln!(out, "],\n\"query_status\":{tail}}}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for s in [
            "plain",
            "quote \" and back\\slash",
            "tab\tnl\ncr\r",
            "\u{1}\u{8}\u{c}\u{1f}",
            "é 𝄞 \u{7f}",
            "",
        ] {
            let want = serde_json::Value::String(s.to_string()).to_string();
            assert_eq!(json_str(s), want, "{s:?}");
            let back: String = serde_json::from_str(&json_str(s)).expect("valid JSON");
            assert_eq!(back, s);
        }
    }

    #[test]
    fn number_arrays_are_json_arrays() {
        use crate::format::{test_field, Format, TableWriter};
        let fields = vec![
            test_field("p", "double", Some("2")),
            test_field("f", "float", Some("*")),
            test_field("s", "unicodeChar", Some("*")),
        ];
        let mut w = TableWriter::new(Format::Json, fields, Vec::new());
        let mut out = Vec::new();
        w.begin(&mut out);
        w.row(
            &[
                Value::Text("10.5 -2.0".into()),
                Value::Text("14.098 NaN".into()),
                Value::Text("1 2".into()),
            ],
            &mut out,
        );
        w.row(
            &[Value::Null, Value::Text(String::new()), Value::Null],
            &mut out,
        );
        w.end(&QueryStatus::Ok, &mut out);
        let doc: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        assert_eq!(
            doc["data"],
            serde_json::json!([[[10.5, -2.0], [14.098, null], "1 2"], [null, [], null]])
        );
    }
}

//! JSON in the shape of ESA's Gaia TAP+: `{"metadata": [{"name", "datatype", "arraysize",
//! "xtype", "unit", "ucd", "utype", "description"}, ...], "data": [[...], ...],
//! "query_status": "OK" | "OVERFLOW" | "ERROR"}` (with `"error"`, the message, after an
//! ERROR). NULL, NaN and the infinities are `null` (JSON has no NaN).

use std::io::Write;

use super::{float32_columns, fmt_number, QueryStatus, TableFormat, TableMeta};
use crate::votable::Value;

/// The JSON writer.
#[derive(Debug, Default)]
pub struct Json {
    rows: u64,
    float32: Vec<bool>,
}

/// `s` as a JSON string.
pub(crate) fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn json_opt(s: Option<&str>) -> String {
    s.map(json_str).unwrap_or_else(|| "null".to_string())
}

impl TableFormat for Json {
    fn begin(&mut self, table: &TableMeta, out: &mut Vec<u8>) {
        self.float32 = float32_columns(&table.fields);
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
                Value::Text(s) => out.extend_from_slice(json_str(s).as_bytes()),
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

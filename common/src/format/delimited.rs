//! CSV (RFC 4180: a header line of column names, fields with a comma, quote or line break
//! quoted, quotes doubled, CRLF line ends) and TSV (tab-separated with a header line; tabs,
//! line breaks and backslashes inside values written as `\t`, `\n`, `\r` and `\\`). NULL
//! is an empty field; NaN and the infinities are `NaN`, `+Inf` and `-Inf`. Neither has a
//! place for a status: an error after the header is a last line starting with `ERROR:`, so
//! that a cut result is never taken for a whole one; an overflow is not marked (a client
//! that needs to know asks for VOTable or JSON).

use std::io::Write;

use super::{float32_columns, fmt_number, QueryStatus, TableFormat, TableMeta};
use crate::votable::Value;

/// The CSV or TSV writer.
#[derive(Debug)]
pub struct Delimited {
    sep: u8,
    float32: Vec<bool>,
}

impl Delimited {
    /// A writer with separator `sep`: `b','` (CSV) or `b'\t'` (TSV).
    pub fn new(sep: u8) -> Delimited {
        Delimited {
            sep,
            float32: Vec::new(),
        }
    }

    fn cell(&self, v: &Value, float32: bool, out: &mut Vec<u8>) {
        let s = match v {
            Value::Null => return,
            Value::Int(i) => {
                let _ = write!(out, "{i}");
                return;
            }
            Value::Double(d) => {
                let text = fmt_number(*d, float32).unwrap_or_else(|| {
                    match d {
                        d if d.is_nan() => "NaN",
                        d if *d > 0.0 => "+Inf",
                        _ => "-Inf",
                    }
                    .to_string()
                });
                out.extend_from_slice(text.as_bytes());
                return;
            }
            Value::Text(s) => s,
        };
        if self.sep == b',' {
            if s.contains([',', '"', '\r', '\n']) {
                out.push(b'"');
                out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
                out.push(b'"');
            } else {
                out.extend_from_slice(s.as_bytes());
            }
        } else if s.contains(['\\', '\t', '\n', '\r']) {
            let escaped = s
                .replace('\\', "\\\\")
                .replace('\t', "\\t")
                .replace('\n', "\\n")
                .replace('\r', "\\r");
            out.extend_from_slice(escaped.as_bytes());
        } else {
            out.extend_from_slice(s.as_bytes());
        }
    }
}

impl TableFormat for Delimited {
    fn begin(&mut self, table: &TableMeta, out: &mut Vec<u8>) {
        self.float32 = float32_columns(&table.fields);
        for (i, f) in table.fields.iter().enumerate() {
            if i > 0 {
                out.push(self.sep);
            }
            self.cell(&Value::Text(f.name.clone()), false, out);
        }
        out.extend_from_slice(b"\r\n");
    }

    fn row(&mut self, values: &[Value], out: &mut Vec<u8>) {
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                out.push(self.sep);
            }
            self.cell(v, self.float32.get(i).copied().unwrap_or(false), out);
        }
        out.extend_from_slice(b"\r\n");
    }

    fn end(&mut self, status: &QueryStatus, out: &mut Vec<u8>) {
        if let QueryStatus::Error(m) = status {
            let _ = write!(out, "ERROR: {}\r\n", m.replace(['\r', '\n'], " "));
        }
    }
}

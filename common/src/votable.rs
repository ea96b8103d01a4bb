//! Table metadata, cell values and the streaming table writers.
//!
//! One [`TableWriter`] writes a result table in one [`Format`], in three steps that never hold
//! more than one row: [`TableWriter::begin`] (the header and column metadata),
//! [`TableWriter::row`] for each row, and [`TableWriter::end`] with the final
//! [`QueryStatus`]. Formats:
//!
//! - VOTable 1.4 TABLEDATA (IVOA REC 2019-10-21): `INFO name="QUERY_STATUS" value="OK"` before
//!   the TABLE, and after it `INFO name="QUERY_STATUS" value="OVERFLOW"` when MAXREC cut the
//!   result (DALI 1.1 §4.4.1, TAP 1.1 §2.7.4), or `value="ERROR"` when the query failed after
//!   rows were sent.
//! - JSON in the shape of ESA's Gaia TAP+ (`{"metadata": [...], "data": [[...], ...]}`), with a
//!   last member `"query_status"` of `"OK"`, `"OVERFLOW"` or `"ERROR"` (and `"error"` with the
//!   message).
//! - CSV (RFC 4180, header line of column names) and TSV (tab-separated, header line; tabs and
//!   newlines inside values written as `\t` and `\n`).

use crate::error::VoError;
use std::io::Write;

/// Metadata of one result column, as TAP_SCHEMA.columns (TAP 1.1 §4.3) describes it and a
/// VOTable FIELD carries it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldMeta {
    /// Column name as shown to clients.
    pub name: String,
    /// The FIELD's XML ID, when something in the document refers to it (a DataLink
    /// service descriptor's `ref`, DataLink 1.1 §4.2); an XML NCName.
    pub id: Option<String>,
    /// VOTable primitive datatype: `boolean`, `short`, `int`, `long`, `float`, `double`,
    /// `char` or `unicodeChar`.
    pub datatype: String,
    /// VOTable arraysize (`*`, `16*`, `2`), if any. A `char` column without one is written
    /// with `*`.
    pub arraysize: Option<String>,
    /// Unit in the VOUnits syntax (e.g. `deg`, `kbyte`, `d`).
    pub unit: Option<String>,
    /// Unified Content Descriptor (UCD 1+).
    pub ucd: Option<String>,
    /// Data-model utype, e.g. `obscore:Char.SpatialAxis.Coverage.Support.Area`.
    pub utype: Option<String>,
    /// DALI xtype, e.g. `timestamp`, `adql:REGION`.
    pub xtype: Option<String>,
    /// Free-text description.
    pub description: Option<String>,
}

impl FieldMeta {
    /// The arraysize to write: the declared one, or `*` for character columns without one.
    pub fn effective_arraysize(&self) -> Option<&str> {
        match &self.arraysize {
            Some(a) => Some(a.as_str()),
            None if self.datatype == "char" || self.datatype == "unicodeChar" => Some("*"),
            None => None,
        }
    }
}

/// One cell of a result row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL (an empty TD in VOTable, `null` in JSON, an empty CSV field).
    Null,
    /// An integer (short, int, long, or a boolean stored as 0/1).
    Int(i64),
    /// A floating-point number; NaN and infinities are written as nulls.
    Double(f64),
    /// A character string.
    Text(String),
}

/// The output formats of a TAP query (DALI 1.1 §3.4.6 RESPONSEFORMAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// VOTable 1.4 with TABLEDATA serialization.
    VotableTabledata,
    /// JSON in the Gaia TAP+ shape.
    Json,
    /// Comma-separated values with a header line.
    Csv,
    /// Tab-separated values with a header line.
    Tsv,
}

impl Format {
    /// Parse a RESPONSEFORMAT (or FORMAT) value: a MIME type or one of the TAP 1.1 §2.7.1 short
    /// names (`votable`, `json`, `csv`, `tsv`). Parameters such as `;serialization=TABLEDATA`
    /// are accepted for VOTable. Errors name the value that was not understood.
    pub fn from_param(value: &str) -> Result<Format, VoError> {
        let v = value.trim().to_ascii_lowercase();
        let (mime, params) = match v.split_once(';') {
            Some((m, p)) => (m.trim().to_string(), p.replace(' ', "")),
            None => (v.clone(), String::new()),
        };
        let format = match mime.as_str() {
            "votable" | "application/x-votable+xml" | "text/xml" | "application/xml" => {
                if !params.is_empty() && params != "serialization=tabledata" {
                    return Err(VoError::usage(format!(
                        "RESPONSEFORMAT '{value}': only the TABLEDATA serialization is available"
                    )));
                }
                Format::VotableTabledata
            }
            "json" | "application/json" => Format::Json,
            "csv" | "text/csv" => Format::Csv,
            "tsv" | "text/tab-separated-values" => Format::Tsv,
            _ => {
                return Err(VoError::usage(format!(
                "RESPONSEFORMAT '{value}' is not supported; use votable, json, csv or tsv (or their MIME types)"
            )))
            }
        };
        Ok(format)
    }

    /// The Content-Type of a response in this format.
    pub fn content_type(&self) -> &'static str {
        match self {
            Format::VotableTabledata => "application/x-votable+xml",
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Tsv => "text/tab-separated-values; charset=utf-8",
        }
    }
}

/// How a query ended, written by [`TableWriter::end`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryStatus {
    /// All rows were written.
    Ok,
    /// MAXREC stopped the output before the last row (DALI 1.1 §4.4.1).
    Overflow,
    /// The query failed after the header (and perhaps rows) were written; the message says why.
    Error(String),
}

/// [`xml_escape`] written straight into `out`, copying runs of ordinary characters whole
/// (the hot path of TABLEDATA).
pub fn xml_escape_into(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let replacement: Option<&[u8]> = match c {
            b'&' => Some(b"&amp;"),
            b'<' => Some(b"&lt;"),
            b'>' => Some(b"&gt;"),
            b'"' => Some(b"&quot;"),
            b'\t' | b'\n' | b'\r' => None,
            c if c < 0x20 => Some("\u{FFFD}".as_bytes()),
            // U+FFFE and U+FFFF (EF BF BE / EF BF BF) are not XML characters.
            0xEF if b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF)) => {
                out.extend_from_slice(&b[start..i]);
                out.extend_from_slice("\u{FFFD}".as_bytes());
                i += 3;
                start = i;
                continue;
            }
            _ => None,
        };
        if let Some(r) = replacement {
            out.extend_from_slice(&b[start..i]);
            out.extend_from_slice(r);
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(&b[start..]);
}

/// Escape `&`, `<`, `>` and `"` for XML text and double-quoted attribute values. Characters that XML
/// 1.0 forbids (control characters other than tab, CR and LF; U+FFFE, U+FFFF) are replaced by
/// U+FFFD.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Writes one result table in one format, row by row, into any byte buffer.
#[derive(Debug, Clone)]
pub struct TableWriter {
    format: Format,
    fields: Vec<FieldMeta>,
    infos: Vec<(String, String)>,
    /// Further RESOURCE elements, written after the results.
    resources: Vec<String>,
    rows_written: u64,
}

fn opt_attr(out: &mut Vec<u8>, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        let _ = write!(out, " {name}=\"{}\"", xml_escape(v));
    }
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn json_opt(s: Option<&str>) -> String {
    s.map(json_str).unwrap_or_else(|| "null".to_string())
}

fn fmt_double(v: f64) -> Option<String> {
    v.is_finite().then(|| format!("{v:?}"))
}

impl TableWriter {
    /// A writer for `fields` in `format`. `infos` are extra `(name, value)` pairs written as
    /// VOTable INFO elements after QUERY_STATUS (ignored by the other formats).
    pub fn new(format: Format, fields: Vec<FieldMeta>, infos: Vec<(String, String)>) -> Self {
        TableWriter {
            format,
            fields,
            infos,
            resources: Vec::new(),
            rows_written: 0,
        }
    }

    /// The same writer with `resources`, whole VOTable `RESOURCE` elements (DataLink 1.1 §4
    /// service descriptors, say), written after the results RESOURCE in this order. The
    /// other formats have no place for them and leave them out.
    pub fn with_resources(mut self, resources: Vec<String>) -> Self {
        self.resources = resources;
        self
    }

    /// The columns this writer writes.
    pub fn fields(&self) -> &[FieldMeta] {
        &self.fields
    }

    /// Number of rows written so far.
    pub fn rows_written(&self) -> u64 {
        self.rows_written
    }

    /// Write everything that precedes the first row.
    pub fn begin(&self, out: &mut Vec<u8>) {
        match self.format {
            Format::VotableTabledata => {
                out.extend_from_slice(
                    concat!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                        "<VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\" ",
                        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n",
                        "<RESOURCE type=\"results\">\n",
                        "<INFO name=\"QUERY_STATUS\" value=\"OK\"/>\n"
                    )
                    .as_bytes(),
                );
                for (name, value) in &self.infos {
                    let _ = writeln!(
                        out,
                        "<INFO name=\"{}\" value=\"{}\"/>",
                        xml_escape(name),
                        xml_escape(value)
                    );
                }
                out.extend_from_slice(b"<TABLE>\n");
                for f in &self.fields {
                    let _ = write!(
                        out,
                        "<FIELD name=\"{}\" datatype=\"{}\"",
                        xml_escape(&f.name),
                        xml_escape(&f.datatype)
                    );
                    opt_attr(out, "ID", f.id.as_deref());
                    opt_attr(out, "arraysize", f.effective_arraysize());
                    opt_attr(out, "unit", f.unit.as_deref());
                    opt_attr(out, "ucd", f.ucd.as_deref());
                    opt_attr(out, "utype", f.utype.as_deref());
                    opt_attr(out, "xtype", f.xtype.as_deref());
                    match &f.description {
                        Some(d) => {
                            let _ = writeln!(
                                out,
                                "><DESCRIPTION>{}</DESCRIPTION></FIELD>",
                                xml_escape(d)
                            );
                        }
                        None => out.extend_from_slice(b"/>\n"),
                    }
                }
                out.extend_from_slice(b"<DATA><TABLEDATA>\n");
            }
            Format::Json => {
                out.extend_from_slice(b"{\"metadata\":[");
                for (i, f) in self.fields.iter().enumerate() {
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
            Format::Csv | Format::Tsv => {
                let names: Vec<String> = self
                    .fields
                    .iter()
                    .map(|f| self.text_cell(&Value::Text(f.name.clone())))
                    .collect();
                let sep = if self.format == Format::Csv {
                    ","
                } else {
                    "\t"
                };
                out.extend_from_slice(names.join(sep).as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    fn text_cell(&self, v: &Value) -> String {
        let s = match v {
            Value::Null => return String::new(),
            Value::Int(i) => return i.to_string(),
            Value::Double(d) => return fmt_double(*d).unwrap_or_default(),
            Value::Text(s) => s,
        };
        if self.format == Format::Csv {
            if s.contains([',', '"', '\r', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.clone()
            }
        } else {
            s.replace('\\', "\\\\")
                .replace('\t', "\\t")
                .replace('\n', "\\n")
                .replace('\r', "\\r")
        }
    }

    /// Write one row; `values` has one value per field, in field order.
    pub fn row(&mut self, values: &[Value], out: &mut Vec<u8>) {
        match self.format {
            Format::VotableTabledata => {
                out.extend_from_slice(b"<TR>");
                for v in values {
                    match v {
                        Value::Null => out.extend_from_slice(b"<TD/>"),
                        Value::Int(i) => {
                            let _ = write!(out, "<TD>{i}</TD>");
                        }
                        Value::Double(d) if d.is_finite() => {
                            let _ = write!(out, "<TD>{d:?}</TD>");
                        }
                        Value::Double(_) => out.extend_from_slice(b"<TD/>"),
                        Value::Text(s) => {
                            out.extend_from_slice(b"<TD>");
                            xml_escape_into(out, s);
                            out.extend_from_slice(b"</TD>");
                        }
                    }
                }
                out.extend_from_slice(b"</TR>\n");
            }
            Format::Json => {
                if self.rows_written > 0 {
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
                            let s = fmt_double(*d).unwrap_or_else(|| "null".into());
                            out.extend_from_slice(s.as_bytes());
                        }
                        Value::Text(s) => out.extend_from_slice(json_str(s).as_bytes()),
                    }
                }
                out.push(b']');
            }
            Format::Csv | Format::Tsv => {
                let sep = if self.format == Format::Csv {
                    b','
                } else {
                    b'\t'
                };
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(sep);
                    }
                    out.extend_from_slice(self.text_cell(v).as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        self.rows_written += 1;
    }

    /// Write everything after the last row, with the query's final status. For CSV and TSV,
    /// which have no place for a status, an error is appended as a last line starting with
    /// `ERROR:` so that a truncated result is never taken for a complete one.
    pub fn end(&self, status: &QueryStatus, out: &mut Vec<u8>) {
        match self.format {
            Format::VotableTabledata => {
                out.extend_from_slice(b"</TABLEDATA></DATA>\n</TABLE>\n");
                match status {
                    QueryStatus::Ok => {}
                    QueryStatus::Overflow => {
                        out.extend_from_slice(b"<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>\n")
                    }
                    QueryStatus::Error(m) => {
                        let _ = writeln!(
                            out,
                            "<INFO name=\"QUERY_STATUS\" value=\"ERROR\">{}</INFO>",
                            xml_escape(m)
                        );
                    }
                }
                out.extend_from_slice(b"</RESOURCE>\n");
                for r in &self.resources {
                    out.extend_from_slice(r.as_bytes());
                }
                out.extend_from_slice(b"</VOTABLE>\n");
            }
            Format::Json => {
                let tail = match status {
                    QueryStatus::Ok => "\"OK\"".to_string(),
                    QueryStatus::Overflow => "\"OVERFLOW\"".to_string(),
                    QueryStatus::Error(m) => format!("\"ERROR\",\n\"error\":{}", json_str(m)),
                };
                let _ = writeln!(out, "],\n\"query_status\":{tail}}}");
            }
            Format::Csv | Format::Tsv => {
                if let QueryStatus::Error(m) = status {
                    let _ = write!(out, "ERROR: {}\r\n", m.replace(['\r', '\n'], " "));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<FieldMeta> {
        vec![
            FieldMeta {
                name: "s_ra".into(),
                datatype: "double".into(),
                unit: Some("deg".into()),
                ucd: Some("pos.eq.ra".into()),
                ..Default::default()
            },
            FieldMeta {
                name: "obs_id".into(),
                datatype: "char".into(),
                ..Default::default()
            },
        ]
    }

    fn write_all(format: Format, rows: &[Vec<Value>], status: QueryStatus) -> String {
        let mut w = TableWriter::new(format, fields(), vec![]);
        let mut out = Vec::new();
        w.begin(&mut out);
        for r in rows {
            w.row(r, &mut out);
        }
        w.end(&status, &mut out);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn votable_has_status_fields_and_cells() {
        let doc = write_all(
            Format::VotableTabledata,
            &[
                vec![Value::Double(10.5), Value::Text("a<b".into())],
                vec![Value::Double(f64::NAN), Value::Null],
            ],
            QueryStatus::Overflow,
        );
        assert!(doc.contains("<INFO name=\"QUERY_STATUS\" value=\"OK\"/>\n<TABLE>"));
        assert!(doc
            .contains("<FIELD name=\"s_ra\" datatype=\"double\" unit=\"deg\" ucd=\"pos.eq.ra\"/>"));
        assert!(doc.contains("<FIELD name=\"obs_id\" datatype=\"char\" arraysize=\"*\"/>"));
        assert!(doc.contains("<TR><TD>10.5</TD><TD>a&lt;b</TD></TR>"));
        assert!(doc.contains("<TR><TD/><TD/></TR>"));
        assert!(doc.contains("</TABLE>\n<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>"));
    }

    #[test]
    fn extra_resources_follow_the_results_in_votable_only() {
        let extra = vec![
            "<RESOURCE ID=\"a\" type=\"meta\"/>\n".to_string(),
            "<RESOURCE ID=\"b\" type=\"meta\"/>\n".to_string(),
        ];
        for (format, want) in [(Format::VotableTabledata, true), (Format::Json, false)] {
            let mut w = TableWriter::new(format, fields(), vec![]).with_resources(extra.clone());
            let mut out = Vec::new();
            w.begin(&mut out);
            w.row(&[Value::Double(1.0), Value::Null], &mut out);
            w.end(&QueryStatus::Ok, &mut out);
            let doc = String::from_utf8(out).expect("utf8");
            assert_eq!(
                doc.ends_with(
                    "</RESOURCE>\n<RESOURCE ID=\"a\" type=\"meta\"/>\n<RESOURCE ID=\"b\" type=\"meta\"/>\n</VOTABLE>\n"
                ),
                want,
                "{doc}"
            );
            assert_eq!(doc.contains("RESOURCE ID"), want, "{doc}");
        }
    }

    #[test]
    fn json_is_valid_and_has_status() {
        let doc = write_all(
            Format::Json,
            &[
                vec![Value::Double(1e-7), Value::Text("x\"y".into())],
                vec![Value::Double(f64::INFINITY), Value::Null],
            ],
            QueryStatus::Ok,
        );
        let v: serde_json::Value = serde_json::from_str(&doc).expect("valid JSON");
        assert_eq!(v["metadata"][0]["name"], "s_ra");
        assert_eq!(v["metadata"][1]["arraysize"], "*");
        assert_eq!(v["data"][0][0], 1e-7);
        assert_eq!(v["data"][0][1], "x\"y");
        assert!(v["data"][1][0].is_null());
        assert_eq!(v["query_status"], "OK");
        let empty = write_all(Format::Json, &[], QueryStatus::Error("boom".into()));
        let v: serde_json::Value = serde_json::from_str(&empty).expect("valid JSON");
        assert_eq!(v["data"].as_array().map(|a| a.len()), Some(0));
        assert_eq!(v["error"], "boom");
    }

    #[test]
    fn csv_and_tsv_quote_and_escape() {
        let csv = write_all(
            Format::Csv,
            &[vec![Value::Int(3), Value::Text("a,\"b\"".into())]],
            QueryStatus::Ok,
        );
        assert_eq!(csv, "s_ra,obs_id\r\n3,\"a,\"\"b\"\"\"\r\n");
        let tsv = write_all(
            Format::Tsv,
            &[vec![Value::Null, Value::Text("a\tb".into())]],
            QueryStatus::Ok,
        );
        assert_eq!(tsv, "s_ra\tobs_id\r\n\ta\\tb\r\n");
    }

    #[test]
    fn formats_parse_and_reject() {
        assert_eq!(
            Format::from_param("application/x-votable+xml;serialization=TABLEDATA"),
            Ok(Format::VotableTabledata)
        );
        assert_eq!(Format::from_param("JSON"), Ok(Format::Json));
        assert_eq!(Format::from_param("text/csv"), Ok(Format::Csv));
        let e = Format::from_param("application/fits").expect_err("unsupported");
        assert!(e.message.contains("application/fits"));
        assert!(Format::from_param("votable;serialization=binary2").is_err());
    }

    #[test]
    fn escaping_into_a_buffer_matches_xml_escape() {
        for s in [
            "plain",
            "a<b>&\"c\"",
            "tab\tnl\ncr\r",
            "\u{1}x\u{1f}",
            "é\u{FFFE}z\u{FFFF}\u{FFFD}",
            "",
            "&",
        ] {
            let mut out = Vec::new();
            xml_escape_into(&mut out, s);
            assert_eq!(
                String::from_utf8(out).expect("utf8"),
                xml_escape(s),
                "{s:?}"
            );
        }
    }

    #[test]
    fn xml_escape_replaces_control_chars() {
        assert_eq!(xml_escape("a\u{1}b&\u{FFFE}"), "a\u{FFFD}b&amp;\u{FFFD}");
    }
}

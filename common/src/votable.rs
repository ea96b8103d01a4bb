//! Table metadata ([`FieldMeta`]), cell values ([`Value`]) and XML escaping. The writers of
//! every format are in [`crate::format`]; [`TableWriter`], [`Format`] and [`QueryStatus`]
//! are re-exported here.

pub use crate::format::{Format, QueryStatus, TableWriter};

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
        assert!(doc.contains("<INFO name=\"QUERY_STATUS\" value=\"OK\"/>\n<COOSYS"));
        assert!(doc.contains(
            "<COOSYS ID=\"vogate_icrs\" system=\"ICRS\"/>\n<TABLE>\n<FIELD name=\"s_ra\" datatype=\"double\" ref=\"vogate_icrs\" unit=\"deg\" ucd=\"pos.eq.ra\"/>"
        ), "{doc}");
        assert!(doc.contains("<FIELD name=\"obs_id\" datatype=\"char\" arraysize=\"*\"/>"));
        assert!(doc.contains("<TR><TD>10.5</TD><TD>a&lt;b</TD></TR>"));
        // NaN is a value (NaN), NULL an empty cell.
        assert!(doc.contains("<TR><TD>NaN</TD><TD/></TR>"));
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
        assert_eq!(Format::from_param("application/fits"), Ok(Format::Fits));
        assert_eq!(Format::from_param("fits"), Ok(Format::Fits));
        let e = Format::from_param("application/x-hdf5").expect_err("unsupported");
        assert!(e.message.contains("application/x-hdf5") && e.message.contains("fits"));
        assert_eq!(
            Format::from_param("votable;serialization=binary2"),
            Ok(Format::VotableBinary2)
        );
        assert_eq!(
            Format::from_param("application/x-votable+xml; serialization=BINARY"),
            Ok(Format::VotableBinary)
        );
        for (short, f) in [
            ("votable", Format::VotableTabledata),
            ("votable/td", Format::VotableTabledata),
            ("votable/b2", Format::VotableBinary2),
            ("votable/b", Format::VotableBinary),
            ("tsv", Format::Tsv),
        ] {
            assert_eq!(Format::from_param(short), Ok(f), "{short}");
            assert_eq!(Format::from_param(f.short_name()), Ok(f));
        }
        let e = Format::from_param("votable;serialization=fits").expect_err("unknown");
        assert!(e.message.contains("serialization 'fits'"), "{}", e.message);
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

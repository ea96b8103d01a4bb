//! VOTable 1.4 (IVOA REC 2019-10-21) results: `INFO name="QUERY_STATUS" value="OK"` and the
//! other INFOs before the TABLE, and after it `value="OVERFLOW"` when MAXREC cut the result
//! (DALI 1.1 §4.4.1, TAP 1.1 §2.7.4) or `value="ERROR"` when the query failed after rows
//! were sent; the extra RESOURCEs after the results RESOURCE. Columns whose UCD is
//! `pos.eq.ra` or `pos.eq.dec` refer (`ref`) to a `COOSYS system="ICRS"` (§3.1): equatorial
//! positions here are ICRS. Three serializations:
//!
//! - TABLEDATA (§5.3): XML cells; NULL an empty `TD`, NaN and the infinities `NaN`, `+Inf`,
//!   `-Inf`.
//! - BINARY2 (§5.5): base64 of the rows, each a null bitmap (one bit a column, the first
//!   column the most significant bit of the first byte) then the cells, big-endian; NULL is
//!   the bit, distinct from the empty string and from NaN.
//! - BINARY (§5.4): the same without the bitmap: NULL is NaN for floats, `?` for booleans,
//!   the FIELD's declared `VALUES null` for integers (the type's smallest value; 255 for
//!   unsignedByte) and the empty string for text.
//!
//! Cells of the binary serializations (§5.4.1): `boolean` one byte `T`/`F`/`?`;
//! `unsignedByte`, `short`, `int`, `long`, `float`, `double` their bytes; `char` one byte a
//! character (ASCII: any other character is written `?`, as a char FIELD holds no other;
//! text that may hold any is declared unicodeChar), `unicodeChar` two (UCS-2: characters outside the
//! Basic Multilingual Plane become U+FFFD); a variable-length array (`*`, `n*`) a 4-byte
//! count then its elements, a fixed one (`n`, `nxm`) exactly its elements (text padded with
//! NULs or cut). Numeric arrays come as text (elements apart by spaces or commas, as
//! TABLEDATA writes them).

use std::io::Write;

use base64::Engine;

use super::{QueryStatus, TableFormat, TableMeta};
use crate::votable::{xml_escape, xml_escape_into, FieldMeta, Value};

/// How the rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serialization {
    /// XML cells.
    Tabledata,
    /// base64 rows with a null bitmap.
    Binary2,
    /// base64 rows, nulls in band.
    Binary,
}

/// A VOTable primitive datatype (VOTable 1.4 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prim {
    Boolean,
    UByte,
    Short,
    Int,
    Long,
    Float,
    Double,
    Char,
    UnicodeChar,
}

impl Prim {
    pub(crate) fn of(datatype: &str) -> Prim {
        match datatype {
            "boolean" => Prim::Boolean,
            "unsignedByte" => Prim::UByte,
            "short" => Prim::Short,
            "int" => Prim::Int,
            "long" => Prim::Long,
            "float" => Prim::Float,
            "double" => Prim::Double,
            "unicodeChar" => Prim::UnicodeChar,
            // char, and anything unknown, is text.
            _ => Prim::Char,
        }
    }

    /// The in-band null of an integer type in BINARY (declared in the FIELD's VALUES).
    pub(crate) fn int_null(&self) -> Option<i64> {
        match self {
            Prim::UByte => Some(255),
            Prim::Short => Some(i64::from(i16::MIN)),
            Prim::Int => Some(i64::from(i32::MIN)),
            Prim::Long => Some(i64::MIN),
            _ => None,
        }
    }
}

/// How many elements a cell holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Scalar,
    Fixed(usize),
    Variable,
}

impl Shape {
    /// From an arraysize: none (a scalar), `n` or `nxm` (fixed), `*`, `n*`, `nxm*`
    /// (variable).
    pub(crate) fn of(arraysize: Option<&str>) -> Shape {
        match arraysize {
            None => Shape::Scalar,
            Some(a) if a.ends_with('*') => Shape::Variable,
            Some(a) => {
                let n = a
                    .split('x')
                    .map(|d| d.trim().parse::<usize>().unwrap_or(1))
                    .product();
                Shape::Fixed(n)
            }
        }
    }
}

/// What the binary writers need of a column.
#[derive(Debug, Clone, Copy)]
struct Col {
    prim: Prim,
    shape: Shape,
}

/// The VOTable writer.
#[derive(Debug)]
pub struct Votable {
    serialization: Serialization,
    cols: Vec<Col>,
    resources: Vec<String>,
    /// One row's bytes before base64.
    raw: Vec<u8>,
    /// Bytes not yet base64-encoded (fewer than 3 between rows).
    pending: Vec<u8>,
}

impl Votable {
    /// A writer in `serialization`.
    pub fn new(serialization: Serialization) -> Votable {
        Votable {
            serialization,
            cols: Vec::new(),
            resources: Vec::new(),
            raw: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// base64 of `pending`, whole 3-byte groups only (the rest waits for the next row).
    fn flush_base64(&mut self, out: &mut Vec<u8>, all: bool) {
        let whole = if all {
            self.pending.len()
        } else {
            self.pending.len() / 3 * 3
        };
        if whole == 0 {
            return;
        }
        let start = out.len();
        out.resize(start + whole.div_ceil(3) * 4, 0);
        let n = base64::engine::general_purpose::STANDARD
            .encode_slice(&self.pending[..whole], &mut out[start..])
            .unwrap_or(0);
        out.truncate(start + n);
        self.pending.drain(..whole);
    }
}

/// The ID of the COOSYS that equatorial positions refer to.
const ICRS_ID: &str = "vogate_icrs";

/// Whether `f` is an equatorial position (UCD `pos.eq.ra` or `pos.eq.dec`, with or without
/// `;meta.main`, or a DALI point, circle or polygon): in this archive, ICRS (ADQL's only
/// frame here, and ObsCore's).
fn is_equatorial(f: &FieldMeta) -> bool {
    // A DALI geometry (point, circle, polygon) of an ADQL query is ICRS (the only frame the
    // translator accepts).
    f.xtype.as_deref().is_some_and(crate::sky::is_dali_geometry)
        || f.ucd.as_deref().is_some_and(|u| {
            u.split(';').any(|w| {
                w.trim().eq_ignore_ascii_case("pos.eq.ra")
                    || w.trim().eq_ignore_ascii_case("pos.eq.dec")
            })
        })
}

/// The FIELD element of `f`; in BINARY, integers declare their null value; equatorial
/// positions refer to the ICRS COOSYS.
fn field_element(f: &FieldMeta, serialization: Serialization, out: &mut Vec<u8>) {
    // Escaped straight into `out` (a result's header is written for every query).
    let attr = |out: &mut Vec<u8>, name: &str, value: Option<&str>| {
        if let Some(v) = value {
            out.push(b' ');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"=\"");
            xml_escape_into(out, v);
            out.push(b'"');
        }
    };
    out.extend_from_slice(b"<FIELD");
    attr(out, "name", Some(&f.name));
    attr(out, "datatype", Some(&f.datatype));
    attr(out, "ID", f.id.as_deref());
    attr(out, "arraysize", f.effective_arraysize());
    if is_equatorial(f) {
        attr(out, "ref", Some(ICRS_ID));
    }
    attr(out, "unit", f.unit.as_deref());
    attr(out, "ucd", f.ucd.as_deref());
    attr(out, "utype", f.utype.as_deref());
    attr(out, "xtype", f.xtype.as_deref());
    let null = match serialization {
        Serialization::Binary => Prim::of(&f.datatype).int_null(),
        _ => None,
    };
    if f.description.is_none() && null.is_none() {
        out.extend_from_slice(b"/>\n");
        return;
    }
    out.push(b'>');
    if let Some(d) = &f.description {
        out.extend_from_slice(b"<DESCRIPTION>");
        xml_escape_into(out, d);
        out.extend_from_slice(b"</DESCRIPTION>");
    }
    if let Some(n) = null {
        let _ = write!(out, "<VALUES null=\"{n}\"/>");
    }
    out.extend_from_slice(b"</FIELD>\n");
}

/// The numbers of a numeric cell: the value itself, or the elements of an array written as
/// text.
pub(crate) fn numbers(v: &Value) -> Vec<f64> {
    match v {
        Value::Null => Vec::new(),
        Value::Int(i) => vec![*i as f64],
        Value::Double(d) => vec![*d],
        Value::Text(s) => s
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
            .map(|w| w.parse::<f64>().unwrap_or(f64::NAN))
            .collect(),
    }
}

/// A scalar number cell's value, if it has one (the first number of a text; no allocation
/// for the cells that are numbers already, the hot path of the binary writers).
pub(crate) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Null => None,
        Value::Int(i) => Some(*i as f64),
        Value::Double(d) => Some(*d),
        Value::Text(_) => numbers(v).first().copied(),
    }
}

/// An integer cell's value, if it has one.
pub(crate) fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Double(d) if d.is_finite() => Some(d.round() as i64),
        Value::Text(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A boolean cell's value, if it has one (integers: non-zero is true; text: T, true, 1 and
/// F, false, 0, any case).
pub(crate) fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Int(i) => Some(*i != 0),
        Value::Double(d) if !d.is_nan() => Some(*d != 0.0),
        Value::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "1" => Some(true),
            "f" | "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Write one element of numeric type `prim` (`None`: the null element: NaN for floats, the
/// in-band null for integers, `?` for booleans).
pub(crate) fn put_number(prim: Prim, v: Option<f64>, out: &mut Vec<u8>) {
    match prim {
        Prim::Boolean => out.push(match v {
            Some(x) if x.is_nan() => b'?',
            Some(x) if x != 0.0 => b'T',
            Some(_) => b'F',
            None => b'?',
        }),
        Prim::Float => out.extend_from_slice(&(v.unwrap_or(f64::NAN) as f32).to_be_bytes()),
        Prim::Double => out.extend_from_slice(&v.unwrap_or(f64::NAN).to_be_bytes()),
        _ => {
            let null = prim.int_null().unwrap_or(0);
            let i = v
                .filter(|x| x.is_finite())
                .map_or(null, |x| x.round() as i64);
            match prim {
                Prim::UByte => out.push(i.clamp(0, 255) as u8),
                Prim::Short => out.extend_from_slice(
                    &(i.clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16).to_be_bytes(),
                ),
                Prim::Int => out.extend_from_slice(
                    &(i.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32).to_be_bytes(),
                ),
                _ => out.extend_from_slice(&i.to_be_bytes()),
            }
        }
    }
}

/// Write one binary cell of `col` holding `v` (NULL: the null cell).
fn put_cell(col: Col, v: &Value, out: &mut Vec<u8>) {
    match col.prim {
        Prim::Char | Prim::UnicodeChar => {
            let text: std::borrow::Cow<'_, str> = match v {
                Value::Null => "".into(),
                Value::Text(s) => s.as_str().into(),
                Value::Int(i) => i.to_string().into(),
                Value::Double(d) => format!("{d:?}").into(),
            };
            // unicodeChar: UCS-2, one 16-bit unit a character of the BMP, U+FFFD for the
            // others, written straight into `out` (variable: the count first).
            if col.prim == Prim::UnicodeChar {
                let unit = |c: char| {
                    let u = u32::from(c);
                    if u > 0xFFFF {
                        0xFFFDu16
                    } else {
                        u as u16
                    }
                };
                let n = match col.shape {
                    Shape::Variable => {
                        let count = if text.is_ascii() {
                            text.len()
                        } else {
                            text.chars().count()
                        };
                        out.extend_from_slice(&(count as u32).to_be_bytes());
                        count
                    }
                    Shape::Fixed(n) => n,
                    Shape::Scalar => 1,
                };
                out.reserve(2 * n);
                let mut written = 0;
                for c in text.chars().take(n) {
                    out.extend_from_slice(&unit(c).to_be_bytes());
                    written += 1;
                }
                out.resize(out.len() + 2 * (n - written), 0);
                return;
            }
            // char: ASCII (VOTable 1.4 §2.1), the text's bytes as they are (no copy); a
            // character that is not ASCII becomes `?`, so that the document stays readable.
            let ascii: String;
            let units: &[u8] = if text.is_ascii() {
                text.as_bytes()
            } else {
                ascii = text
                    .chars()
                    .map(|c| if c.is_ascii() { c } else { '?' })
                    .collect();
                ascii.as_bytes()
            };
            let want = match col.shape {
                Shape::Variable => {
                    out.extend_from_slice(&(units.len() as u32).to_be_bytes());
                    out.extend_from_slice(units);
                    return;
                }
                Shape::Fixed(n) => n,
                Shape::Scalar => 1,
            };
            let mut take = units.len().min(want);
            // Never cut a UTF-8 character in two.
            while take > 0 && take < units.len() && (units[take] & 0xC0) == 0x80 {
                take -= 1;
            }
            out.extend_from_slice(&units[..take]);
            out.resize(out.len() + (want - take), 0);
        }
        prim => match col.shape {
            // Integers keep their full 64 bits (not through f64).
            Shape::Scalar if prim == Prim::Long => {
                out.extend_from_slice(&integer(v).unwrap_or(i64::MIN).to_be_bytes())
            }
            Shape::Scalar => {
                let x = match prim {
                    Prim::Boolean => boolean(v).map(|b| if b { 1.0 } else { 0.0 }),
                    Prim::Float | Prim::Double => number(v),
                    _ => integer(v).map(|i| i as f64),
                };
                put_number(prim, x, out);
            }
            Shape::Fixed(n) => {
                let xs = numbers(v);
                for k in 0..n {
                    put_number(prim, xs.get(k).copied(), out);
                }
            }
            Shape::Variable => {
                let xs = numbers(v);
                out.extend_from_slice(&(xs.len() as u32).to_be_bytes());
                for x in xs {
                    put_number(prim, Some(x), out);
                }
            }
        },
    }
}

/// A TABLEDATA cell's text; `float32`: the column is a 4-byte float.
fn put_td(v: &Value, float32: bool, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.extend_from_slice(b"<TD/>"),
        Value::Int(i) => {
            let _ = write!(out, "<TD>{i}</TD>");
        }
        Value::Double(d) if d.is_finite() && float32 => {
            let _ = write!(out, "<TD>{:?}</TD>", *d as f32);
        }
        Value::Double(d) if d.is_finite() => {
            let _ = write!(out, "<TD>{d:?}</TD>");
        }
        Value::Double(d) if d.is_nan() => out.extend_from_slice(b"<TD>NaN</TD>"),
        Value::Double(d) if *d > 0.0 => out.extend_from_slice(b"<TD>+Inf</TD>"),
        Value::Double(_) => out.extend_from_slice(b"<TD>-Inf</TD>"),
        Value::Text(s) => {
            out.extend_from_slice(b"<TD>");
            xml_escape_into(out, s);
            out.extend_from_slice(b"</TD>");
        }
    }
}

impl TableFormat for Votable {
    fn begin(&mut self, table: &TableMeta, out: &mut Vec<u8>) {
        self.cols = table
            .fields
            .iter()
            .map(|f| Col {
                prim: Prim::of(&f.datatype),
                shape: Shape::of(f.effective_arraysize()),
            })
            .collect();
        self.resources = table.resources.clone();
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
        for (name, value) in &table.infos {
            let _ = writeln!(
                out,
                "<INFO name=\"{}\" value=\"{}\"/>",
                xml_escape(name),
                xml_escape(value)
            );
        }
        if table.fields.iter().any(is_equatorial) {
            let _ = writeln!(out, "<COOSYS ID=\"{ICRS_ID}\" system=\"ICRS\"/>");
        }
        out.extend_from_slice(b"<TABLE>\n");
        for f in &table.fields {
            field_element(f, self.serialization, out);
        }
        out.extend_from_slice(match self.serialization {
            Serialization::Tabledata => b"<DATA><TABLEDATA>\n".as_slice(),
            Serialization::Binary2 => b"<DATA><BINARY2><STREAM encoding=\"base64\">\n".as_slice(),
            Serialization::Binary => b"<DATA><BINARY><STREAM encoding=\"base64\">\n".as_slice(),
        });
    }

    fn row(&mut self, values: &[Value], out: &mut Vec<u8>) {
        if self.serialization == Serialization::Tabledata {
            out.extend_from_slice(b"<TR>");
            for (i, v) in values.iter().enumerate() {
                let float32 = self.cols.get(i).is_some_and(|c| c.prim == Prim::Float);
                put_td(v, float32, out);
            }
            out.extend_from_slice(b"</TR>\n");
            return;
        }
        let mut raw = std::mem::take(&mut self.raw);
        raw.clear();
        if self.serialization == Serialization::Binary2 {
            let start = raw.len();
            raw.resize(start + self.cols.len().div_ceil(8), 0);
            for (i, v) in values.iter().enumerate() {
                if *v == Value::Null {
                    raw[start + i / 8] |= 0x80 >> (i % 8);
                }
            }
        }
        for (col, v) in self.cols.iter().zip(values) {
            put_cell(*col, v, &mut raw);
        }
        self.pending.extend_from_slice(&raw);
        self.raw = raw;
        self.flush_base64(out, false);
    }

    fn end(&mut self, status: &QueryStatus, out: &mut Vec<u8>) {
        match self.serialization {
            Serialization::Tabledata => out.extend_from_slice(b"</TABLEDATA></DATA>\n"),
            Serialization::Binary2 => {
                self.flush_base64(out, true);
                out.extend_from_slice(b"\n</STREAM></BINARY2></DATA>\n");
            }
            Serialization::Binary => {
                self.flush_base64(out, true);
                out.extend_from_slice(b"\n</STREAM></BINARY></DATA>\n");
            }
        }
        out.extend_from_slice(b"</TABLE>\n");
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Format, TableWriter};

    use crate::format::test_field as field;

    fn fields() -> Vec<FieldMeta> {
        vec![
            field("d", "double", None),
            field("f", "float", None),
            field("i", "int", None),
            field("b", "boolean", None),
            field("c", "char", None),
            field("u", "unicodeChar", None),
            field("fixed", "char", Some("3")),
            field("pt", "double", Some("2")),
            field("s", "short", None),
            field("l", "long", None),
        ]
    }

    /// The document and the decoded bytes of its STREAM.
    fn write(format: Format, rows: &[Vec<Value>]) -> (String, Vec<u8>) {
        let mut w = TableWriter::new(format, fields(), vec![]);
        let mut out = Vec::new();
        w.begin(&mut out);
        for r in rows {
            w.row(r, &mut out);
        }
        w.end(&QueryStatus::Overflow, &mut out);
        let doc = String::from_utf8(out).expect("utf-8");
        let start = doc.find("base64\">").expect("stream") + 8;
        let end = doc.find("</STREAM>").expect("end");
        let text: String = doc[start..end].split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .expect("base64");
        (doc, bytes)
    }

    fn rows() -> Vec<Vec<Value>> {
        vec![
            vec![
                Value::Double(1.5),
                Value::Double(14.098),
                Value::Int(-7),
                Value::Int(1),
                Value::Text("ab".into()),
                Value::Text("é𝄞".into()),
                Value::Text("abcd".into()),
                Value::Text("10.5 -2".into()),
                Value::Int(300),
                Value::Int(i64::MAX),
            ],
            vec![
                Value::Null,
                Value::Double(f64::NAN),
                Value::Null,
                Value::Null,
                Value::Text(String::new()),
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
                Value::Null,
            ],
        ]
    }

    #[test]
    fn fixed_unicode_char_cells_are_cut_or_padded_to_their_size() {
        let fields = vec![field("u", "unicodeChar", Some("3"))];
        let mut bytes = Vec::new();
        for text in ["a\u{e9}\u{1D538}x", "z"] {
            let mut w = TableWriter::new(Format::VotableBinary2, fields.clone(), Vec::new());
            let mut out = Vec::new();
            w.begin(&mut out);
            w.row(&[Value::Text(text.into())], &mut out);
            w.end(&QueryStatus::Ok, &mut out);
            let doc = String::from_utf8(out).expect("utf8");
            let b64 = doc
                .split("<STREAM encoding=\"base64\">\n")
                .nth(1)
                .and_then(|r| r.split("\n</STREAM>").next())
                .expect("stream");
            use base64::Engine;
            bytes.push(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.replace('\n', ""))
                    .expect("base64"),
            );
        }
        // The null bitmap, then three UCS-2 units: cut after the third character, or the
        // text padded with zero units.
        assert_eq!(bytes[0], [0, 0x00, b'a', 0x00, 0xE9, 0xFF, 0xFD]);
        assert_eq!(bytes[1], [0, 0x00, b'z', 0, 0, 0, 0]);
    }

    #[test]
    fn binary2_rows_are_a_null_bitmap_then_big_endian_cells() {
        let (doc, b) = write(Format::VotableBinary2, &rows());
        assert!(
            doc.contains("<DATA><BINARY2><STREAM encoding=\"base64\">"),
            "{doc}"
        );
        assert!(doc.contains("</STREAM></BINARY2></DATA>\n</TABLE>\n<INFO name=\"QUERY_STATUS\" value=\"OVERFLOW\"/>"));
        let mut want = vec![0u8, 0];
        want.extend(1.5f64.to_be_bytes());
        want.extend(14.098f32.to_be_bytes());
        want.extend((-7i32).to_be_bytes());
        want.push(b'T');
        want.extend(2u32.to_be_bytes());
        want.extend(b"ab");
        // UCS-2: é, then U+FFFD for the character outside the BMP.
        want.extend(2u32.to_be_bytes());
        want.extend([0x00, 0xE9, 0xFF, 0xFD]);
        want.extend(b"abc");
        want.extend(10.5f64.to_be_bytes());
        want.extend((-2.0f64).to_be_bytes());
        want.extend(300i16.to_be_bytes());
        want.extend(i64::MAX.to_be_bytes());
        // The second row: every column NULL but f (NaN, a value) and c (the empty string).
        want.extend([0b1011_0111, 0b1100_0000]);
        want.extend(f64::NAN.to_be_bytes());
        want.extend(f32::NAN.to_be_bytes());
        want.extend(i32::MIN.to_be_bytes());
        want.push(b'?');
        want.extend(0u32.to_be_bytes());
        want.extend(0u32.to_be_bytes());
        want.extend([0, 0, 0]);
        want.extend(f64::NAN.to_be_bytes());
        want.extend(f64::NAN.to_be_bytes());
        want.extend(i16::MIN.to_be_bytes());
        want.extend(i64::MIN.to_be_bytes());
        assert_eq!(b, want);
    }

    #[test]
    fn binary_declares_integer_nulls_and_has_no_bitmap() {
        let (doc, b) = write(Format::VotableBinary, &rows());
        assert!(doc
            .contains("<FIELD name=\"i\" datatype=\"int\"><VALUES null=\"-2147483648\"/></FIELD>"));
        assert!(doc.contains("<FIELD name=\"d\" datatype=\"double\"/>"));
        assert!(doc.contains("<DATA><BINARY><STREAM encoding=\"base64\">"));
        let (_, b2) = write(Format::VotableBinary2, &rows());
        // The same cells as BINARY2 without the two 2-byte bitmaps (the first row's cells
        // are 60 bytes: 8 + 4 + 4 + 1 + (4 + 2) + (4 + 4) + 3 + 16 + 2 + 8).
        let mut cells = b2[2..62].to_vec();
        cells.extend(&b2[64..]);
        assert_eq!(b, cells);
    }

    #[test]
    fn base64_groups_span_rows() {
        // Rows of 1 + 4 bytes (bitmap, int): the base64 stream must not pad between rows.
        let mut w = TableWriter::new(
            Format::VotableBinary2,
            vec![field("i", "int", None)],
            vec![],
        );
        let mut out = Vec::new();
        w.begin(&mut out);
        for i in 0..7 {
            w.row(&[Value::Int(i)], &mut out);
        }
        w.end(&QueryStatus::Ok, &mut out);
        let doc = String::from_utf8(out).expect("utf-8");
        let start = doc.find("base64\">").expect("stream") + 8;
        let end = doc.find("</STREAM>").expect("end");
        let text: String = doc[start..end].split_whitespace().collect();
        assert_eq!(
            text.matches('=').count(),
            text.len() - text.trim_end_matches('=').len()
        );
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .expect("base64");
        let mut want = Vec::new();
        for i in 0..7i32 {
            want.push(0);
            want.extend(i.to_be_bytes());
        }
        assert_eq!(bytes, want);
    }

    #[test]
    fn float_columns_are_written_as_floats_in_every_text_format() {
        let widened = f64::from(14.098f32);
        assert_eq!(format!("{widened:?}"), "14.097999572753906");
        let cols = vec![field("f", "float", None), field("d", "double", None)];
        for format in [
            Format::VotableTabledata,
            Format::Json,
            Format::Csv,
            Format::Tsv,
        ] {
            let mut w = TableWriter::new(format, cols.clone(), vec![]);
            let mut out = Vec::new();
            w.begin(&mut out);
            w.row(&[Value::Double(widened), Value::Double(widened)], &mut out);
            w.end(&QueryStatus::Ok, &mut out);
            let doc = String::from_utf8(out).expect("utf-8");
            // The float column as a float, the double column as the double it holds.
            assert!(
                doc.contains("14.098") && doc.contains("14.097999572753906"),
                "{format:?}: {doc}"
            );
            assert_eq!(
                doc.matches("14.097999572753906").count(),
                1,
                "{format:?}: {doc}"
            );
        }
    }
}

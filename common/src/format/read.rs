//! Reading a VOTable (1.1 to 1.5) as a table: the FIELDs of its first TABLE and its rows, in
//! TABLEDATA, BINARY or BINARY2 (VOTable 1.4 §5), streamed: the document is read through
//! quick-xml piece by piece and each row is handed on as soon as it is complete, so memory
//! holds one row (and, in the binary serializations, at most one row's bytes beyond it).
//! This is how TAP UPLOAD tables (TAP 1.1 §2.5.6) are read.
//!
//! Cells become [`Value`]s as the writers take them: integers and booleans (1/0) `Int`,
//! `float` and `double` `Double`, text `Text`, NULL `Null`; an array of numbers (a DALI
//! point, say) is its TABLEDATA text (numbers separated by spaces). NULL is: an empty TD
//! (text and numbers alike), the FIELD's `<VALUES null="...">` value, `?` or an empty TD for
//! booleans; in BINARY, the integer VALUES null and `?`, space or NUL for booleans (a float
//! NaN is read as NaN); in BINARY2, the row's null bitmap.
//!
//! Errors name what was wrong and where (the byte offset in the document, the row and the
//! column), for the DALI error document of the request.

use std::io::BufRead;

use base64::Engine;
use quick_xml::events::{BytesStart, Event};

use crate::votable::{FieldMeta, Value};

/// Limits on what is read; a document beyond them is refused with a message naming the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// The most rows.
    pub max_rows: u64,
    /// The most columns.
    pub max_columns: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_rows: 1_000_000,
            max_columns: 1000,
        }
    }
}

/// One column as the reader decodes it.
#[derive(Debug, Clone)]
struct Col {
    prim: Prim,
    /// Elements per cell: `Some(n)` fixed (1 for a scalar), `None` variable.
    count: Option<usize>,
    scalar: bool,
    /// The `<VALUES null>` value, if any.
    null: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prim {
    Boolean,
    Bit,
    UnsignedByte,
    Short,
    Int,
    Long,
    Char,
    UnicodeChar,
    Float,
    Double,
    FloatComplex,
    DoubleComplex,
}

impl Prim {
    fn of(datatype: &str) -> Option<Prim> {
        Some(match datatype {
            "boolean" => Prim::Boolean,
            "bit" => Prim::Bit,
            "unsignedByte" => Prim::UnsignedByte,
            "short" => Prim::Short,
            "int" => Prim::Int,
            "long" => Prim::Long,
            "char" => Prim::Char,
            "unicodeChar" => Prim::UnicodeChar,
            "float" => Prim::Float,
            "double" => Prim::Double,
            "floatComplex" => Prim::FloatComplex,
            "doubleComplex" => Prim::DoubleComplex,
            _ => return None,
        })
    }

    /// Bytes of one element in BINARY (bits: see [`Col::bytes_for`]).
    fn size(self) -> usize {
        match self {
            Prim::Boolean | Prim::Bit | Prim::UnsignedByte | Prim::Char => 1,
            Prim::Short | Prim::UnicodeChar => 2,
            Prim::Int | Prim::Float => 4,
            Prim::Long | Prim::Double | Prim::FloatComplex => 8,
            Prim::DoubleComplex => 16,
        }
    }

    fn text(self) -> bool {
        matches!(self, Prim::Char | Prim::UnicodeChar)
    }
}

impl Col {
    fn of(f: &FieldMeta, null: Option<String>) -> Result<Col, String> {
        let prim = Prim::of(&f.datatype)
            .ok_or_else(|| format!("FIELD '{}': unknown datatype '{}'", f.name, f.datatype))?;
        let (count, scalar) = match f.arraysize.as_deref().map(str::trim) {
            None | Some("") => (Some(1), true),
            Some(a) if a.ends_with('*') => (None, false),
            Some(a) => {
                let mut n: usize = 1;
                for d in a.split('x') {
                    let k: usize = d.trim().parse().map_err(|_| {
                        format!("FIELD '{}': arraysize '{a}' is not a size", f.name)
                    })?;
                    n = n.checked_mul(k).filter(|n| *n <= 1 << 20).ok_or_else(|| {
                        format!("FIELD '{}': arraysize '{a}' is too large", f.name)
                    })?;
                }
                (Some(n), false)
            }
        };
        Ok(Col {
            prim,
            count,
            scalar,
            null,
        })
    }

    /// Bytes of `n` elements.
    fn bytes_for(&self, n: usize) -> usize {
        if self.prim == Prim::Bit {
            n.div_ceil(8)
        } else {
            n * self.prim.size()
        }
    }
}

/// A VOTable being read: its FIELDs, then its rows one by one ([`VotableReader::next_row`]).
pub struct VotableReader<R: BufRead> {
    xml: quick_xml::Reader<R>,
    buf: Vec<u8>,
    fields: Vec<FieldMeta>,
    cols: Vec<Col>,
    limits: ReadLimits,
    rows: u64,
    state: State,
    /// BINARY/BINARY2: decoded bytes not yet taken as rows, and base64 text not yet decoded.
    bytes: Vec<u8>,
    start: usize,
    pending: Vec<u8>,
    stream_done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Rows of TABLEDATA follow.
    Tabledata,
    /// A base64 STREAM of BINARY (`false`) or BINARY2 (`true`).
    Binary(bool),
    /// No (more) rows.
    Done,
}

impl<R: BufRead> std::fmt::Debug for VotableReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VotableReader")
            .field("fields", &self.fields)
            .field("rows", &self.rows)
            .finish()
    }
}

/// The value of attribute `name` of `e`, unescaped.
fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|e| format!("a bad attribute: {e}"))?;
        if a.key.local_name().as_ref() == name.as_bytes() {
            let v = a
                .unescape_value()
                .map_err(|e| format!("attribute {name}: {e}"))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

impl<R: BufRead> VotableReader<R> {
    /// Start reading `input`: everything up to the first row of the first TABLE (its FIELDs
    /// and the start of its DATA). Errors: not XML, not a VOTable, no TABLE, a FIELD without
    /// name or datatype or with an unknown datatype, more columns than `limits` allow, FITS
    /// data (not read here).
    pub fn new(input: R, limits: ReadLimits) -> Result<VotableReader<R>, String> {
        let mut xml = quick_xml::Reader::from_reader(input);
        xml.config_mut().trim_text(false);
        let mut r = VotableReader {
            xml,
            buf: Vec::new(),
            fields: Vec::new(),
            cols: Vec::new(),
            limits,
            rows: 0,
            state: State::Done,
            bytes: Vec::new(),
            start: 0,
            pending: Vec::new(),
            stream_done: false,
        };
        r.header()?;
        Ok(r)
    }

    /// The columns, in order.
    pub fn fields(&self) -> &[FieldMeta] {
        &self.fields
    }

    /// How many rows were read so far.
    pub fn rows_read(&self) -> u64 {
        self.rows
    }

    fn at(&self) -> String {
        format!("at byte {}", self.xml.buffer_position())
    }

    fn header(&mut self) -> Result<(), String> {
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.header_in(&mut buf);
        self.buf = buf;
        r
    }

    fn header_in(&mut self, buf: &mut Vec<u8>) -> Result<(), String> {
        let mut seen_root = false;
        let mut in_table = false;
        // The FIELD being read (for its DESCRIPTION and VALUES), and its null.
        let mut field: Option<(FieldMeta, Option<String>)> = None;
        let mut in_description = false;
        loop {
            buf.clear();
            let ev = self
                .xml
                .read_event_into(buf)
                .map_err(|e| format!("not a readable XML document {}: {e}", self.at()))?;
            let empty = matches!(ev, Event::Empty(_));
            match ev {
                Event::Start(e) | Event::Empty(e) => {
                    let name = e.local_name();
                    let name = std::str::from_utf8(name.as_ref()).unwrap_or("");
                    if !seen_root {
                        if name != "VOTABLE" {
                            return Err(format!(
                                "not a VOTable: the document starts with <{name}>"
                            ));
                        }
                        seen_root = true;
                        continue;
                    }
                    match name {
                        "TABLE" if !in_table && empty => {
                            // `<TABLE/>`: a table of no columns and no rows.
                            self.state = State::Done;
                            return Ok(());
                        }
                        "TABLE" if !in_table => in_table = true,
                        "FIELD" if in_table => {
                            let fname = attr(&e, "name")
                                .map_err(|m| format!("FIELD {}: {m}", self.at()))?
                                .ok_or_else(|| format!("a FIELD without a name {}", self.at()))?;
                            let get = |k: &str| attr(&e, k).ok().flatten();
                            let datatype = get("datatype").ok_or_else(|| {
                                format!("FIELD '{fname}' has no datatype {}", self.at())
                            })?;
                            let f = FieldMeta {
                                name: fname,
                                id: get("ID"),
                                datatype,
                                arraysize: get("arraysize"),
                                unit: get("unit"),
                                ucd: get("ucd"),
                                utype: get("utype"),
                                xtype: get("xtype"),
                                description: None,
                            };
                            if self.fields.len() >= self.limits.max_columns {
                                return Err(format!(
                                    "the table has more than {} columns",
                                    self.limits.max_columns
                                ));
                            }
                            if empty {
                                self.push_field(f, None)?;
                            } else {
                                field = Some((f, None));
                            }
                        }
                        "DESCRIPTION" if field.is_some() => in_description = !empty,
                        "VALUES" => {
                            if let Some((_, null)) = field.as_mut() {
                                *null = attr(&e, "null").ok().flatten();
                            }
                        }
                        "DATA" if in_table && self.fields.is_empty() => {
                            return Err(format!("the TABLE has no FIELD {}", self.at()));
                        }
                        "TABLEDATA" if in_table => {
                            self.state = State::Tabledata;
                            return Ok(());
                        }
                        "BINARY" | "BINARY2" if in_table => {
                            self.state = State::Binary(name == "BINARY2");
                        }
                        "STREAM" if matches!(self.state, State::Binary(_)) => {
                            if let Some(enc) = attr(&e, "encoding").ok().flatten() {
                                if enc != "base64" {
                                    return Err(format!(
                                        "a STREAM encoded as '{enc}' (only base64 is read)"
                                    ));
                                }
                            }
                            if attr(&e, "href").ok().flatten().is_some() {
                                return Err("a STREAM that refers to another document (href) is not read: give the data inline".into());
                            }
                            if empty {
                                self.stream_done = true;
                            }
                            return Ok(());
                        }
                        "FITS" if in_table => {
                            return Err("FITS data in a VOTable is not read: send TABLEDATA, BINARY or BINARY2".into());
                        }
                        _ => {}
                    }
                }
                Event::Text(t) if in_description => {
                    if let Some((f, _)) = field.as_mut() {
                        let text = t
                            .decode()
                            .map_err(|e| format!("DESCRIPTION {}: {e}", self.at()))?;
                        f.description
                            .get_or_insert_with(String::new)
                            .push_str(&text);
                    }
                }
                Event::GeneralRef(r) if in_description => {
                    if let Some((f, _)) = field.as_mut() {
                        let name = String::from_utf8_lossy(&r).into_owned();
                        if let Some(c) = entity(&name) {
                            f.description.get_or_insert_with(String::new).push(c);
                        }
                    }
                }
                Event::End(e) => {
                    let name = e.local_name();
                    match name.as_ref() {
                        b"DESCRIPTION" => in_description = false,
                        b"FIELD" => {
                            if let Some((f, null)) = field.take() {
                                self.push_field(f, null)?;
                            }
                        }
                        b"TABLE" if in_table => {
                            // A TABLE without DATA: no rows.
                            self.state = State::Done;
                            return Ok(());
                        }
                        _ => {}
                    }
                }
                Event::Eof => {
                    if !seen_root {
                        return Err("not a VOTable: the document is empty".into());
                    }
                    if !in_table {
                        return Err("the VOTable has no TABLE".into());
                    }
                    return Err(format!("the VOTable ends too early {}", self.at()));
                }
                _ => {}
            }
        }
    }

    fn push_field(&mut self, f: FieldMeta, null: Option<String>) -> Result<(), String> {
        let col = Col::of(&f, null)?;
        self.cols.push(col);
        self.fields.push(f);
        Ok(())
    }

    /// The next row, one value per FIELD; `None` after the last. Errors: a cell that is not
    /// a value of its column's datatype, a row with too many or too few cells, more rows
    /// than the limits allow, a document that ends inside the data.
    pub fn next_row(&mut self) -> Option<Result<Vec<Value>, String>> {
        let r = match self.state {
            State::Done => return None,
            State::Tabledata => self.td_row(),
            State::Binary(two) => self.binary_row(two),
        };
        match r {
            Ok(Some(row)) => {
                self.rows += 1;
                if self.rows > self.limits.max_rows {
                    self.state = State::Done;
                    return Some(Err(format!(
                        "the table has more than {} rows",
                        self.limits.max_rows
                    )));
                }
                Some(Ok(row))
            }
            Ok(None) => {
                self.state = State::Done;
                None
            }
            Err(e) => {
                self.state = State::Done;
                Some(Err(e))
            }
        }
    }

    fn td_row(&mut self) -> Result<Option<Vec<Value>>, String> {
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.td_row_in(&mut buf);
        self.buf = buf;
        r
    }

    fn td_row_in(&mut self, buf: &mut Vec<u8>) -> Result<Option<Vec<Value>>, String> {
        let mut row: Vec<Value> = Vec::with_capacity(self.cols.len());
        let mut in_tr = false;
        let mut cell: Option<String> = None;
        loop {
            buf.clear();
            let ev = self
                .xml
                .read_event_into(buf)
                .map_err(|e| format!("bad XML in TABLEDATA {}: {e}", self.at()))?;
            match ev {
                Event::Start(e) => match e.local_name().as_ref() {
                    b"TR" => {
                        in_tr = true;
                        row.clear();
                    }
                    b"TD" if in_tr => cell = Some(String::new()),
                    _ => {}
                },
                Event::Empty(e) => match e.local_name().as_ref() {
                    b"TD" if in_tr => self.push_td(&mut row, "")?,
                    b"TR" => return self.td_done(Vec::new()).map(Some),
                    _ => {}
                },
                Event::Text(t) => {
                    if let Some(c) = cell.as_mut() {
                        let text = t
                            .decode()
                            .map_err(|e| format!("bad text in a TD {}: {e}", self.at()))?;
                        c.push_str(&text);
                    }
                }
                Event::CData(t) => {
                    if let Some(c) = cell.as_mut() {
                        c.push_str(&String::from_utf8_lossy(&t));
                    }
                }
                Event::GeneralRef(r) => {
                    if let Some(c) = cell.as_mut() {
                        let name = String::from_utf8_lossy(&r).into_owned();
                        match entity(&name) {
                            Some(ch) => c.push(ch),
                            None => {
                                return Err(format!(
                                    "an unknown entity &{name}; in a TD {}",
                                    self.at()
                                ))
                            }
                        }
                    }
                }
                Event::End(e) => match e.local_name().as_ref() {
                    b"TD" => {
                        let text = cell.take().unwrap_or_default();
                        self.push_td(&mut row, &text)?;
                    }
                    b"TR" => return self.td_done(std::mem::take(&mut row)).map(Some),
                    b"TABLEDATA" | b"DATA" | b"TABLE" => return Ok(None),
                    _ => {}
                },
                Event::Eof => {
                    return Err(format!(
                        "the document ends inside TABLEDATA (row {})",
                        self.rows + 1
                    ))
                }
                _ => {}
            }
        }
    }

    fn push_td(&self, row: &mut Vec<Value>, text: &str) -> Result<(), String> {
        let i = row.len();
        let Some(col) = self.cols.get(i) else {
            return Err(format!(
                "row {} has more than {} cells",
                self.rows + 1,
                self.cols.len()
            ));
        };
        let v = td_value(col, text).map_err(|m| {
            format!(
                "row {}, column '{}': {m}",
                self.rows + 1,
                self.fields[i].name
            )
        })?;
        row.push(v);
        Ok(())
    }

    fn td_done(&self, row: Vec<Value>) -> Result<Vec<Value>, String> {
        if row.len() != self.cols.len() {
            return Err(format!(
                "row {} has {} cells for {} columns",
                self.rows + 1,
                row.len(),
                self.cols.len()
            ));
        }
        Ok(row)
    }

    /// Decode more of the STREAM into `self.bytes`; false at its end.
    fn fill(&mut self) -> Result<bool, String> {
        if self.stream_done {
            return Ok(false);
        }
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.fill_in(&mut buf);
        self.buf = buf;
        r
    }

    fn fill_in(&mut self, buf: &mut Vec<u8>) -> Result<bool, String> {
        loop {
            buf.clear();
            let ev = self
                .xml
                .read_event_into(buf)
                .map_err(|e| format!("bad XML in the STREAM {}: {e}", self.at()))?;
            match ev {
                Event::Text(t) => {
                    self.pending
                        .extend(t.iter().copied().filter(|c| !c.is_ascii_whitespace()));
                    let whole = self.pending.len() / 4 * 4;
                    if whole > 0 {
                        self.decode(whole)?;
                        return Ok(true);
                    }
                }
                Event::End(e) if e.local_name().as_ref() == b"STREAM" => {
                    if !self.pending.is_empty() {
                        let n = self.pending.len();
                        self.decode(n)?;
                    }
                    self.stream_done = true;
                    return Ok(false);
                }
                Event::Eof => return Err("the document ends inside the STREAM".into()),
                _ => {}
            }
        }
    }

    fn decode(&mut self, n: usize) -> Result<(), String> {
        // Drop the bytes already taken before adding more.
        if self.start > 0 {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
        let text: Vec<u8> = self.pending.drain(..n).collect();
        base64::engine::general_purpose::STANDARD
            .decode_vec(&text, &mut self.bytes)
            .map_err(|e| format!("the STREAM is not base64 {}: {e}", self.at()))
    }

    fn binary_row(&mut self, two: bool) -> Result<Option<Vec<Value>>, String> {
        loop {
            if let Some((row, used)) = self.parse_binary(two)? {
                self.start += used;
                return Ok(Some(row));
            }
            if !self.fill()? {
                let left = self.bytes.len() - self.start;
                if left == 0 {
                    return Ok(None);
                }
                return Err(format!(
                    "the STREAM ends inside row {} ({left} bytes left over)",
                    self.rows + 1
                ));
            }
        }
    }

    /// One row from the decoded bytes, and how many bytes it took; `None` when they do not
    /// hold a whole row yet.
    fn parse_binary(&self, two: bool) -> Result<Option<(Vec<Value>, usize)>, String> {
        let b = &self.bytes[self.start..];
        let mut at = 0;
        let nulls = if two {
            let n = self.cols.len().div_ceil(8);
            if b.len() < n {
                return Ok(None);
            }
            at = n;
            Some(&b[..n])
        } else {
            None
        };
        let mut row = Vec::with_capacity(self.cols.len());
        for (i, col) in self.cols.iter().enumerate() {
            let count = match col.count {
                Some(n) => n,
                None => {
                    let Some(c) = b.get(at..at + 4) else {
                        return Ok(None);
                    };
                    at += 4;
                    let n = u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize;
                    if n > 1 << 24 {
                        return Err(format!(
                            "row {}, column '{}': an array of {n} elements",
                            self.rows + 1,
                            self.fields[i].name
                        ));
                    }
                    n
                }
            };
            let len = col.bytes_for(count);
            let Some(cell) = b.get(at..at + len) else {
                return Ok(None);
            };
            at += len;
            let null = nulls.is_some_and(|m| m[i / 8] & (0x80 >> (i % 8)) != 0);
            row.push(if null {
                Value::Null
            } else {
                binary_value(col, cell, count)
            });
        }
        Ok(Some((row, at)))
    }
}

/// The character of a predefined XML entity (or a character reference).
fn entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        n if n.starts_with("#x") || n.starts_with("#X") => u32::from_str_radix(&n[2..], 16)
            .ok()
            .and_then(char::from_u32),
        n if n.starts_with('#') => n[1..].parse().ok().and_then(char::from_u32),
        _ => None,
    }
}

/// A TABLEDATA cell's value.
fn td_value(col: &Col, text: &str) -> Result<Value, String> {
    if col.prim.text() {
        // An empty TD is NULL (VOTable 1.4 §5.1 leaves it to the reader; TAP clients write
        // a masked string so).
        return Ok(if text.is_empty() || col.null.as_deref() == Some(text) {
            Value::Null
        } else {
            Value::Text(text.to_string())
        });
    }
    let t = text.trim();
    if t.is_empty() || col.null.as_deref() == Some(t) {
        return Ok(Value::Null);
    }
    if !col.scalar {
        // An array of numbers: its TABLEDATA text, each element checked.
        for w in t.split_ascii_whitespace() {
            scalar(col.prim, w)?;
        }
        return Ok(Value::Text(
            t.split_ascii_whitespace().collect::<Vec<_>>().join(" "),
        ));
    }
    scalar(col.prim, t)
}

fn scalar(prim: Prim, t: &str) -> Result<Value, String> {
    let bad = || format!("'{t}' is not a {}", name(prim));
    Ok(match prim {
        Prim::Boolean => match t.to_ascii_lowercase().as_str() {
            "t" | "true" | "1" => Value::Int(1),
            "f" | "false" | "0" => Value::Int(0),
            "?" | "" => Value::Null,
            _ => return Err(bad()),
        },
        Prim::Bit => match t {
            "1" => Value::Int(1),
            "0" => Value::Int(0),
            _ => return Err(bad()),
        },
        Prim::UnsignedByte | Prim::Short | Prim::Int | Prim::Long => {
            let v = parse_int(t).ok_or_else(bad)?;
            let (lo, hi) = match prim {
                Prim::UnsignedByte => (0, 255),
                Prim::Short => (i64::from(i16::MIN), i64::from(i16::MAX)),
                Prim::Int => (i64::from(i32::MIN), i64::from(i32::MAX)),
                _ => (i64::MIN, i64::MAX),
            };
            if !(lo..=hi).contains(&v) {
                return Err(format!("{t} is out of the range of a {}", name(prim)));
            }
            Value::Int(v)
        }
        // A float is a 4-byte float, whichever digits were written (as BINARY reads it).
        Prim::Float => Value::Double(f64::from(parse_float(t).ok_or_else(bad)? as f32)),
        Prim::Double => Value::Double(parse_float(t).ok_or_else(bad)?),
        Prim::FloatComplex | Prim::DoubleComplex => {
            return Err(format!("{} columns are not read", name(prim)))
        }
        Prim::Char | Prim::UnicodeChar => Value::Text(t.to_string()),
    })
}

fn name(p: Prim) -> &'static str {
    match p {
        Prim::Boolean => "boolean",
        Prim::Bit => "bit",
        Prim::UnsignedByte => "unsignedByte",
        Prim::Short => "short",
        Prim::Int => "int",
        Prim::Long => "long",
        Prim::Char => "char",
        Prim::UnicodeChar => "unicodeChar",
        Prim::Float => "float",
        Prim::Double => "double",
        Prim::FloatComplex => "floatComplex",
        Prim::DoubleComplex => "doubleComplex",
    }
}

/// An integer in decimal or hexadecimal (`0x...`, VOTable 1.4 §6).
fn parse_int(t: &str) -> Option<i64> {
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok().map(|u| u as i64)?,
        None => digits.parse::<i64>().ok().or_else(|| {
            // i64::MIN's digits do not fit before the sign is applied.
            (neg && digits == "9223372036854775808").then_some(i64::MIN)
        })?,
    };
    Some(if neg && v != i64::MIN { -v } else { v })
}

/// A float as VOTable writes it: decimal, `NaN`, `+Inf`, `-Inf`, `Inf` (any case).
fn parse_float(t: &str) -> Option<f64> {
    match t.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => t.parse().ok(),
    }
}

/// A BINARY cell's value (`count` elements of `col`'s type in `b`).
fn binary_value(col: &Col, b: &[u8], count: usize) -> Value {
    match col.prim {
        Prim::Char => {
            // Fixed-size text is padded with NULs (or spaces): they end it.
            let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
            let s: String = b[..end].iter().map(|c| char::from(*c)).collect();
            let s = if col.count.is_some() {
                s.trim_end().to_string()
            } else {
                s
            };
            text_value(col, s)
        }
        Prim::UnicodeChar => {
            let units: Vec<u16> = b
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .take_while(|u| *u != 0)
                .collect();
            text_value(col, String::from_utf16_lossy(&units))
        }
        _ if col.scalar => one(col, b),
        _ => {
            // An array of numbers: its TABLEDATA text.
            let size = col.prim.size();
            let words: Vec<String> = if col.prim == Prim::Bit {
                (0..count)
                    .map(|k| ((b[k / 8] >> (7 - k % 8)) & 1).to_string())
                    .collect()
            } else {
                b.chunks_exact(size)
                    .map(|c| match one(col, c) {
                        Value::Int(i) => i.to_string(),
                        Value::Double(d) if d.is_nan() => "NaN".into(),
                        Value::Double(d) => format!("{d:?}"),
                        _ => "NaN".into(),
                    })
                    .collect()
            };
            if words.is_empty() {
                Value::Null
            } else {
                Value::Text(words.join(" "))
            }
        }
    }
}

fn text_value(col: &Col, s: String) -> Value {
    if col.null.as_deref() == Some(s.as_str()) {
        Value::Null
    } else {
        Value::Text(s)
    }
}

/// One scalar element.
fn one(col: &Col, b: &[u8]) -> Value {
    let int = |v: i64| match &col.null {
        Some(n) if parse_int(n.trim()) == Some(v) => Value::Null,
        _ => Value::Int(v),
    };
    match col.prim {
        Prim::Boolean => match b[0] {
            b'T' | b't' | b'1' => Value::Int(1),
            b'F' | b'f' | b'0' => Value::Int(0),
            _ => Value::Null,
        },
        Prim::Bit => Value::Int(i64::from(b[0] >> 7)),
        Prim::UnsignedByte => int(i64::from(b[0])),
        Prim::Short => int(i64::from(i16::from_be_bytes([b[0], b[1]]))),
        Prim::Int => int(i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
        Prim::Long => {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[..8]);
            int(i64::from_be_bytes(a))
        }
        Prim::Float => {
            let v = f32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            Value::Double(f64::from(v))
        }
        Prim::Double => {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[..8]);
            Value::Double(f64::from_be_bytes(a))
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{test_field, Format, QueryStatus, TableWriter};

    fn read_all(doc: &[u8]) -> Result<(Vec<FieldMeta>, Vec<Vec<Value>>), String> {
        let mut r = VotableReader::new(doc, ReadLimits::default())?;
        let mut rows = Vec::new();
        while let Some(row) = r.next_row() {
            rows.push(row?);
        }
        Ok((r.fields().to_vec(), rows))
    }

    fn fields() -> Vec<FieldMeta> {
        let mut ra = test_field("ra", "double", None);
        ra.unit = Some("deg".into());
        ra.ucd = Some("pos.eq.ra;meta.main".into());
        ra.description = Some("Right ascension & more <ICRS>".into());
        vec![
            ra,
            test_field("mag", "float", None),
            test_field("n", "int", None),
            test_field("big", "long", None),
            test_field("s", "short", None),
            test_field("b", "unsignedByte", None),
            test_field("ok", "boolean", None),
            test_field("name", "char", None),
            test_field("label", "unicodeChar", None),
            test_field("code", "char", Some("4")),
            test_field("p", "double", Some("2")),
            test_field("poly", "double", Some("*")),
        ]
    }

    fn rows() -> Vec<Vec<Value>> {
        vec![
            vec![
                Value::Double(10.684708),
                Value::Double(f64::from(14.098f32)),
                Value::Int(-7),
                Value::Int(i64::MIN + 1),
                Value::Int(-32768),
                Value::Int(255),
                Value::Int(1),
                Value::Text("M31 <&> \"x\"".into()),
                Value::Text("é 𝄞".into()),
                Value::Text("ab".into()),
                Value::Text("10.5 -2.0".into()),
                Value::Text("1.0 2.0 3.0 4.0 5.0 6.0".into()),
            ],
            vec![Value::Null; 12],
        ]
    }

    #[test]
    fn every_serialization_reads_back_what_vogate_wrote() {
        for format in [
            Format::VotableTabledata,
            Format::VotableBinary2,
            Format::VotableBinary,
        ] {
            let mut w = TableWriter::new(format, fields(), Vec::new());
            let mut doc = Vec::new();
            w.begin(&mut doc);
            for _ in 0..3 {
                for r in rows() {
                    w.row(&r, &mut doc);
                }
            }
            w.end(&QueryStatus::Ok, &mut doc);
            let (got_fields, got) = read_all(&doc).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            let meta = |f: &FieldMeta| {
                (
                    f.name.clone(),
                    f.datatype.clone(),
                    f.unit.clone(),
                    f.ucd.clone(),
                    f.description.clone(),
                )
            };
            assert_eq!(
                got_fields.iter().map(meta).collect::<Vec<_>>(),
                fields().iter().map(meta).collect::<Vec<_>>(),
                "{format:?}"
            );
            assert_eq!(got.len(), 6, "{format:?}");
            let mut want = rows()[0].clone();
            if format != Format::VotableTabledata {
                // BINARY and BINARY2 unicodeChar is UCS-2: U+1D11E is not in the BMP.
                want[8] = Value::Text("é \u{FFFD}".into());
            }
            if format == Format::VotableBinary {
                // BINARY's in-band NULLs, which vogate's writer declares in VALUES: the
                // smallest short and 255 for unsignedByte (VOTable 1.4 §5.4).
                want[4] = Value::Null;
                want[5] = Value::Null;
            }
            assert_eq!(got[0], want, "{format:?}");
            let nulls = &got[1];
            match format {
                // BINARY has no NULL for floats, texts and arrays: NaN and empty values.
                Format::VotableBinary => {
                    assert!(matches!(nulls[0], Value::Double(d) if d.is_nan()));
                    assert_eq!(nulls[2], Value::Null, "integers have their VALUES null");
                    assert_eq!(nulls[6], Value::Null, "booleans are ?");
                }
                _ => assert_eq!(nulls, &vec![Value::Null; 12], "{format:?}"),
            }
        }
    }

    #[test]
    fn bad_documents_are_refused_with_where() {
        let table = |data: &str| {
            format!(
                "<VOTABLE><RESOURCE><TABLE><FIELD name=\"a\" datatype=\"int\"/>\
                 <FIELD name=\"s\" datatype=\"char\" arraysize=\"*\"/>{data}</TABLE>\
                 </RESOURCE></VOTABLE>"
            )
        };
        let td = |rows: &str| table(&format!("<DATA><TABLEDATA>{rows}</TABLEDATA></DATA>"));
        // A document cut short after `data`.
        let cut = |data: &str| {
            format!(
                "<VOTABLE><RESOURCE><TABLE><FIELD name=\"a\" datatype=\"int\"/>\
                 <FIELD name=\"s\" datatype=\"char\" arraysize=\"*\"/>{data}"
            )
        };
        for (doc, want) in [
            ("".to_string(), "the document is empty"),
            ("a,b\n1,2".to_string(), "not a VOTable"),
            ("<html><body/></html>".to_string(), "not a VOTable: the document starts with <html>"),
            ("<VOTABLE><RESOURCE/></VOTABLE>".to_string(), "has no TABLE"),
            (td("<TR><TD>x</TD><TD>a</TD></TR>"), "row 1, column 'a': 'x' is not a int"),
            (td("<TR><TD>1</TD><TD>a</TD></TR><TR><TD>2</TD></TR>"), "row 2 has 1 cells for 2 columns"),
            (td("<TR><TD>1</TD><TD>a</TD><TD>b</TD></TR>"), "row 1 has more than 2 cells"),
            (td("<TR><TD>99999999999</TD><TD>a</TD></TR>"), "out of the range of a int"),
            (cut("<DATA><TABLEDATA><TR><TD>1</TD>"), "ends inside TABLEDATA"),
            (cut("<DATA><BINARY2><STREAM encoding=\"base64\">AAAA"), "ends inside the STREAM"),
            (table("<DATA><TABLEDATA><TR><TD>1</TD>"), "bad XML in TABLEDATA at byte"),
            (table("<DATA><BINARY2><STREAM encoding=\"base64\">AAAAAQ==</STREAM></BINARY2></DATA>"), "ends inside row 1"),
            (table("<DATA><BINARY2><STREAM encoding=\"base64\">!!!!</STREAM></BINARY2></DATA>"), "not base64"),
            (table("<DATA><FITS/></DATA>"), "FITS data"),
            ("<VOTABLE><RESOURCE><TABLE><FIELD name=\"a\" datatype=\"quad\"/></TABLE></RESOURCE></VOTABLE>".to_string(), "unknown datatype 'quad'"),
            ("<VOTABLE><RESOURCE><TABLE><FIELD datatype=\"int\"/></TABLE></RESOURCE></VOTABLE>".to_string(), "a FIELD without a name"),
            // Without FIELDs a binary row has no bytes: it would repeat for ever.
            ("<VOTABLE><RESOURCE><TABLE><DATA><BINARY2><STREAM encoding=\"base64\">AAAA</STREAM></BINARY2></DATA></TABLE></RESOURCE></VOTABLE>".to_string(), "the TABLE has no FIELD"),
        ] {
            let e = read_all(doc.as_bytes()).expect_err(&doc);
            assert!(e.contains(want), "{doc}: {e}");
        }
        // An empty TABLE element: no columns, no rows.
        let (fields, rows) =
            read_all(b"<VOTABLE><RESOURCE><TABLE/></RESOURCE></VOTABLE>").expect("<TABLE/>");
        assert!(fields.is_empty() && rows.is_empty());
        // Limits.
        let doc = td("<TR><TD>1</TD><TD>a</TD></TR><TR><TD>2</TD><TD>b</TD></TR>");
        let mut r = VotableReader::new(
            doc.as_bytes(),
            ReadLimits {
                max_rows: 1,
                max_columns: 10,
            },
        )
        .expect("header");
        assert!(r.next_row().is_some_and(|r| r.is_ok()));
        assert!(r
            .next_row()
            .is_some_and(|r| r.is_err_and(|e| e.contains("more than 1 rows"))));
        let e = VotableReader::new(
            doc.as_bytes(),
            ReadLimits {
                max_rows: 1,
                max_columns: 1,
            },
        )
        .expect_err("columns");
        assert!(e.contains("more than 1 columns"), "{e}");
    }

    #[test]
    fn tabledata_nulls_entities_and_hex() {
        let doc = "<?xml version=\"1.0\"?><VOTABLE xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\
            <RESOURCE type=\"results\"><TABLE>\
            <FIELD name=\"i\" datatype=\"int\"><VALUES null=\"-1\"/></FIELD>\
            <FIELD name=\"f\" datatype=\"double\"/><FIELD name=\"t\" datatype=\"char\" arraysize=\"*\"/>\
            <FIELD name=\"b\" datatype=\"boolean\"/>\
            <DATA><TABLEDATA>\
            <TR><TD>-1</TD><TD>NaN</TD><TD>a &amp; b &#233;</TD><TD>?</TD></TR>\
            <TR><TD>0x1F</TD><TD>+Inf</TD><TD></TD><TD>T</TD></TR>\
            <TR><TD/><TD> 1.5 </TD><TD><![CDATA[<x>]]></TD><TD>false</TD></TR>\
            </TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>";
        let (_, rows) = read_all(doc.as_bytes()).expect("read");
        assert_eq!(rows[0][0], Value::Null);
        assert!(matches!(rows[0][1], Value::Double(d) if d.is_nan()));
        assert_eq!(rows[0][2], Value::Text("a & b é".into()));
        assert_eq!(rows[0][3], Value::Null);
        assert_eq!(
            rows[1],
            vec![
                Value::Int(31),
                Value::Double(f64::INFINITY),
                Value::Null,
                Value::Int(1)
            ]
        );
        assert_eq!(
            rows[2],
            vec![
                Value::Null,
                Value::Double(1.5),
                Value::Text("<x>".into()),
                Value::Int(0)
            ]
        );
    }

    #[test]
    fn cut_or_damaged_documents_never_panic() {
        for format in [
            Format::VotableTabledata,
            Format::VotableBinary2,
            Format::VotableBinary,
        ] {
            let mut w = TableWriter::new(format, fields(), Vec::new());
            let mut doc = Vec::new();
            w.begin(&mut doc);
            for r in rows() {
                w.row(&r, &mut doc);
            }
            w.end(&QueryStatus::Ok, &mut doc);
            for cut in (0..doc.len()).step_by(7) {
                let _ = read_all(&doc[..cut]);
            }
            let mut seed: u32 = 12345;
            for _ in 0..2000 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let mut bad = doc.clone();
                let at = (seed as usize >> 4) % bad.len();
                bad[at] = (seed >> 8) as u8;
                let _ = read_all(&bad);
            }
        }
    }
}

//! FITS binary tables (FITS 4.0, §7.3): an empty primary HDU, then one `BINTABLE` extension
//! holding the result, as TOPCAT (STIL), astropy and fitsio read it.
//!
//! A FITS table cannot be streamed: its header gives the number of rows and each text
//! column's width, known only after the last row. So [`FitsTable`] writes each row to an
//! anonymous spill file as it comes (memory holds one row), and at [`TableFormat::end`]
//! writes the FITS file, also anonymous, in the spill folder ([`TableFormat::spill_dir`], the
//! result folder of a TAP service), which [`TableFormat::take_file`] hands over with its
//! length, to be sent with a Content-Length. Both files vanish when closed.
//!
//! A table has at most [`MAX_COLUMNS`] columns (TFIELDS).
//!
//! Columns (TFORMn): `boolean` L (NULL: the byte 0, FITS 4.0 §7.3.3.1), `unsignedByte` B,
//! `short` I, `int` J, `long` K (NULL: the TNULLn value the header declares, a value the
//! column does not hold, the type's smallest when it can be), `float` E, `double` D (NULL:
//! NaN); text (`char`,
//! `unicodeChar`) `wA`, `w` the longest value's length in bytes (at least 1), or the
//! declared fixed arraysize, holding the text's UTF-8 bytes (FITS text is ASCII: readers
//! take other bytes as they please, and a NULL is the empty string there). Fixed numeric
//! arrays repeat their element; variable ones (`*`) repeat it as often as the longest
//! value has elements, the shorter ones padded with the element's NULL. TTYPEn, TUNITn,
//! TCOMMn (the description), TUCDn and TUTYPn (which STIL reads) name and describe each
//! column, values longer than a card going on in CONTINUE cards; `QRYSTAT` holds DALI
//! 1.1's QUERY_STATUS (`OK`, `OVERFLOW` when MAXREC cut the rows, `ERROR` with `QRYMSG`
//! saying why).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::votable::{boolean, integer, number, numbers, put_number, Prim, Shape};
use super::{QueryStatus, TableFormat, TableMeta};
use crate::votable::{FieldMeta, Value};

/// The most columns a FITS binary table has (FITS 4.0 §7.3.1: TFIELDS <= 999).
pub const MAX_COLUMNS: usize = 999;

/// How many of an integer column's smallest values are kept to find a TNULL it does not
/// hold.
const LOW_VALUES: usize = 64;

/// A FITS block: every HDU's header and data fill a whole number of them.
const BLOCK: usize = 2880;

/// One column as the writer lays it out.
#[derive(Debug, Clone)]
struct Col {
    prim: Prim,
    shape: Shape,
    /// Text: the width in bytes (fixed) or the longest value so far (variable); numeric
    /// arrays: the element count (fixed) or the most elements so far (variable).
    size: usize,
    /// `unsignedByte`: which of the 256 values occur, so that TNULL can be one that does not.
    seen: Vec<bool>,
    /// The other integers: the [`LOW_VALUES`] smallest distinct values seen, and the
    /// largest, for the same purpose.
    low: std::collections::BTreeSet<i64>,
    max: Option<i64>,
    /// Integers: the TNULL chosen at the end.
    tnull: i64,
}

impl Col {
    fn of(f: &FieldMeta) -> Col {
        let prim = Prim::of(&f.datatype);
        let shape = Shape::of(f.effective_arraysize());
        let size = match shape {
            Shape::Scalar => 1,
            Shape::Fixed(n) => n,
            Shape::Variable => 0,
        };
        let seen = if prim == Prim::UByte {
            vec![false; 256]
        } else {
            Vec::new()
        };
        Col {
            prim,
            shape,
            size,
            seen,
            low: std::collections::BTreeSet::new(),
            max: None,
            tnull: prim.int_null().unwrap_or(0),
        }
    }

    /// The integer types (their NULL is a TNULL chosen at the end).
    fn is_integer(&self) -> bool {
        self.prim.int_null().is_some()
    }

    /// The smallest and largest values of an integer type.
    fn bounds(&self) -> (i64, i64) {
        match self.prim {
            Prim::UByte => (0, 255),
            Prim::Short => (i16::MIN.into(), i16::MAX.into()),
            Prim::Int => (i32::MIN.into(), i32::MAX.into()),
            _ => (i64::MIN, i64::MAX),
        }
    }

    /// Bytes of one element in the spill: an integer is spilled as a flag byte (0: NULL)
    /// and its 8 bytes, its TNULL being chosen only at the end.
    fn spill_bytes(&self) -> usize {
        if self.is_integer() {
            9
        } else {
            self.element_bytes()
        }
    }

    /// Spill one integer element (`None`: NULL), clamped to the type's range.
    fn spill_int(&mut self, v: Option<i64>, out: &mut Vec<u8>) {
        let (lo, hi) = self.bounds();
        match v.map(|i| i.clamp(lo, hi)) {
            None => out.extend_from_slice(&[0; 9]),
            Some(i) => {
                if let Some(seen) = usize::try_from(i).ok().and_then(|b| self.seen.get_mut(b)) {
                    *seen = true;
                }
                self.max = Some(self.max.map_or(i, |m| m.max(i)));
                if self.prim != Prim::UByte
                    && (self.low.len() < LOW_VALUES || self.low.last().is_some_and(|top| i < *top))
                {
                    self.low.insert(i);
                    if self.low.len() > LOW_VALUES {
                        self.low.pop_last();
                    }
                }
                out.push(1);
                out.extend_from_slice(&i.to_be_bytes());
            }
        }
    }

    /// Spill one element (`None`: NULL).
    fn spill_element(&mut self, v: Option<f64>, out: &mut Vec<u8>) {
        if self.is_integer() {
            let i = v.filter(|x| x.is_finite()).map(|x| x.round() as i64);
            return self.spill_int(i, out);
        }
        put_element(self.prim, v, out)
    }

    /// Choose TNULL, a value the column does not hold: for unsignedByte the largest; for
    /// the others the type's smallest (as VOTable's BINARY takes it), else the smallest
    /// above it that is surely not held (below the largest of the [`LOW_VALUES`] smallest
    /// values held, or any when fewer values were held), else one above the largest held.
    /// When none is found, the type's smallest (which then also reads as NULL).
    fn choose_tnull(&mut self) {
        let (lo, hi) = self.bounds();
        self.tnull = if self.prim == Prim::UByte {
            (0..=255usize)
                .rev()
                .find(|b| !self.seen[*b])
                .map_or(255, |b| b as i64)
        } else {
            let mut c = lo;
            while c < hi && self.low.contains(&c) {
                c += 1;
            }
            let complete = self.low.len() < LOW_VALUES;
            let below_top = self.low.last().is_some_and(|top| c < *top);
            if !self.low.contains(&c) && (complete || below_top) {
                c
            } else {
                match self.max {
                    Some(m) if m < hi => m + 1,
                    _ => lo,
                }
            }
        };
    }

    /// The file's bytes of spilled integer elements (NULL as TNULL).
    fn unspill_ints(&self, spilled: &[u8], out: &mut Vec<u8>) {
        for e in spilled.chunks_exact(9) {
            let mut b = [0u8; 8];
            b.copy_from_slice(&e[1..]);
            let v = if e[0] == 0 {
                self.tnull
            } else {
                i64::from_be_bytes(b)
            };
            self.put_int(v, out);
        }
    }

    /// One integer element in the file's layout.
    fn put_int(&self, v: i64, out: &mut Vec<u8>) {
        match self.prim {
            Prim::UByte => out.push(v as u8),
            Prim::Short => out.extend_from_slice(&(v as i16).to_be_bytes()),
            Prim::Int => out.extend_from_slice(&(v as i32).to_be_bytes()),
            _ => out.extend_from_slice(&v.to_be_bytes()),
        }
    }

    fn is_text(&self) -> bool {
        matches!(self.prim, Prim::Char | Prim::UnicodeChar)
    }

    /// Bytes of one element.
    fn element_bytes(&self) -> usize {
        match self.prim {
            Prim::Boolean | Prim::UByte | Prim::Char | Prim::UnicodeChar => 1,
            Prim::Short => 2,
            Prim::Int | Prim::Float => 4,
            Prim::Long | Prim::Double => 8,
        }
    }

    /// Elements of a cell in the file (a text column's width, at least 1).
    fn repeat(&self) -> usize {
        match (self.shape, self.is_text()) {
            (Shape::Scalar, false) => 1,
            (_, true) => self.size.max(1),
            (_, false) => self.size,
        }
    }

    fn tform(&self) -> String {
        let code = match self.prim {
            Prim::Boolean => 'L',
            Prim::UByte => 'B',
            Prim::Short => 'I',
            Prim::Int => 'J',
            Prim::Long => 'K',
            Prim::Float => 'E',
            Prim::Double => 'D',
            Prim::Char | Prim::UnicodeChar => 'A',
        };
        format!("{}{code}", self.repeat())
    }
}

/// Writes one element of numeric column `prim` in FITS's big-endian layout; `None` is the
/// element's NULL (a boolean's 0 byte, NaN, an integer's TNULL).
fn put_element(prim: Prim, v: Option<f64>, out: &mut Vec<u8>) {
    match prim {
        Prim::Boolean => out.push(match v {
            Some(x) if x.is_nan() => 0,
            Some(x) if x != 0.0 => b'T',
            Some(_) => b'F',
            None => 0,
        }),
        // The same big-endian elements as VOTable's BINARY, integer NULLs included.
        _ => put_number(prim, v, out),
    }
}

/// The FITS binary-table writer (see the module documentation).
#[derive(Debug, Default)]
pub struct FitsTable {
    dir: Option<PathBuf>,
    fields: Vec<FieldMeta>,
    cols: Vec<Col>,
    spill: Option<BufWriter<File>>,
    rows: u64,
    /// One row's spill bytes.
    raw: Vec<u8>,
    failure: Option<String>,
    done: Option<Result<(File, u64), String>>,
}

impl FitsTable {
    fn spill_folder(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(std::env::temp_dir)
    }

    fn fail(&mut self, what: &str, e: std::io::Error) {
        if self.failure.is_none() {
            self.failure = Some(format!(
                "cannot write the FITS table in {}: {what}: {e}",
                self.spill_folder().display()
            ));
        }
    }

    /// Spill layout of one row: fixed-size cells as they go in the file; text as a u32
    /// byte count then the bytes; variable numeric arrays as a u32 element count then the
    /// elements.
    fn spill_row(&mut self, values: &[Value]) {
        let mut raw = std::mem::take(&mut self.raw);
        raw.clear();
        for (col, v) in self.cols.iter_mut().zip(values) {
            if col.is_text() {
                let text: std::borrow::Cow<'_, str> = match v {
                    Value::Null => "".into(),
                    Value::Text(s) => s.as_str().into(),
                    Value::Int(i) => i.to_string().into(),
                    Value::Double(d) => super::fmt_double(*d).unwrap_or_default().into(),
                };
                let mut bytes = text.as_bytes();
                let fixed = match col.shape {
                    Shape::Fixed(n) => Some(n),
                    Shape::Scalar => Some(1),
                    Shape::Variable => None,
                };
                if let Some(n) = fixed {
                    let mut take = bytes.len().min(n);
                    // Never cut a UTF-8 character in two.
                    while take > 0 && take < bytes.len() && (bytes[take] & 0xC0) == 0x80 {
                        take -= 1;
                    }
                    bytes = &bytes[..take];
                } else {
                    col.size = col.size.max(bytes.len());
                }
                raw.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
                raw.extend_from_slice(bytes);
                continue;
            }
            match col.shape {
                // Integers keep their full 64 bits (not through f64).
                Shape::Scalar if col.is_integer() => col.spill_int(integer(v), &mut raw),
                Shape::Scalar => {
                    let x = match col.prim {
                        Prim::Boolean => boolean(v).map(|b| if b { 1.0 } else { 0.0 }),
                        Prim::Float | Prim::Double => number(v),
                        _ => integer(v).map(|i| i as f64),
                    };
                    col.spill_element(x, &mut raw);
                }
                Shape::Fixed(n) => {
                    let xs = numbers(v);
                    for k in 0..n {
                        col.spill_element(xs.get(k).copied(), &mut raw);
                    }
                }
                Shape::Variable => {
                    let xs = numbers(v);
                    col.size = col.size.max(xs.len());
                    raw.extend_from_slice(&(xs.len() as u32).to_be_bytes());
                    for x in xs {
                        col.spill_element(Some(x), &mut raw);
                    }
                }
            }
        }
        let written = match self.spill.as_mut() {
            Some(spill) => spill.write_all(&raw),
            None => Ok(()),
        };
        self.raw = raw;
        if let Err(e) = written {
            self.fail("spilling a row", e);
            self.spill = None;
        }
    }

    /// The header of the table extension, padded to whole blocks.
    fn table_header(&self, status: &QueryStatus) -> Vec<u8> {
        let row_bytes: usize = self
            .cols
            .iter()
            .map(|c| c.repeat() * c.element_bytes())
            .sum();
        let mut h = Header::default();
        h.text("XTENSION", "BINTABLE", "binary table extension");
        h.int("BITPIX", 8, "8-bit bytes");
        h.int("NAXIS", 2, "2-dimensional binary table");
        h.int("NAXIS1", row_bytes as i64, "width of a row in bytes");
        h.int("NAXIS2", self.rows as i64, "number of rows");
        h.int("PCOUNT", 0, "size of the heap");
        h.int("GCOUNT", 1, "one data group");
        h.int("TFIELDS", self.cols.len() as i64, "number of columns");
        for (i, (f, c)) in self.fields.iter().zip(&self.cols).enumerate() {
            let n = i + 1;
            h.text(&format!("TTYPE{n}"), &f.name, "");
            h.text(&format!("TFORM{n}"), &c.tform(), "");
            if c.is_integer() {
                h.int(&format!("TNULL{n}"), c.tnull, "the value of NULL");
            }
            if let Some(u) = f.unit.as_deref().filter(|u| !u.is_empty()) {
                h.text(&format!("TUNIT{n}"), u, "");
            }
            if let Some(u) = f.ucd.as_deref().filter(|u| !u.is_empty()) {
                h.text(&format!("TUCD{n}"), u, "");
            }
            if let Some(u) = f.utype.as_deref().filter(|u| !u.is_empty()) {
                h.text(&format!("TUTYP{n}"), u, "");
            }
            if let Some(d) = f.description.as_deref().filter(|d| !d.is_empty()) {
                h.text(&format!("TCOMM{n}"), d, "");
            }
        }
        h.text("EXTNAME", "RESULTS", "");
        let (status, message) = match status {
            QueryStatus::Ok => ("OK", None),
            QueryStatus::Overflow => ("OVERFLOW", None),
            QueryStatus::Error(m) => ("ERROR", Some(m.as_str())),
        };
        h.text(
            "QRYSTAT",
            status,
            "DALI QUERY_STATUS: OK, OVERFLOW or ERROR",
        );
        if let Some(m) = message {
            h.text("QRYMSG", m, "");
        }
        h.finish()
    }

    /// Write the whole FITS file from the spill: `(file at its start, length)`.
    fn write_file(&mut self, status: &QueryStatus) -> Result<(File, u64), String> {
        if let Some(f) = self.failure.take() {
            return Err(f);
        }
        for col in &mut self.cols {
            if col.is_integer() {
                col.choose_tnull();
            }
        }
        let folder = self.spill_folder();
        let io = |what: &str, e: std::io::Error| {
            format!(
                "cannot write the FITS table in {}: {what}: {e}",
                folder.display()
            )
        };
        let spill = match self.spill.take() {
            Some(s) => s.into_inner().map_err(|e| io("spilling", e.into_error()))?,
            None => return Err(io("spilling", std::io::Error::other("no spill file"))),
        };
        let mut spill = spill;
        spill
            .seek(SeekFrom::Start(0))
            .map_err(|e| io("rewinding", e))?;
        let file = tempfile::tempfile_in(&folder).map_err(|e| io("creating the file", e))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let mut primary = Header::default();
        primary.logical("SIMPLE", true, "conforms to FITS 4.0");
        primary.int("BITPIX", 8, "");
        primary.int("NAXIS", 0, "no primary image");
        primary.logical("EXTEND", true, "the table is in the first extension");
        let mut written = 0u64;
        for block in [primary.finish(), self.table_header(status)] {
            out.write_all(&block).map_err(|e| io("writing", e))?;
            written += block.len() as u64;
        }
        let mut reader = BufReader::with_capacity(1 << 16, spill);
        let mut cell = Vec::new();
        let mut bytes = Vec::new();
        let mut data = 0u64;
        for _ in 0..self.rows {
            for col in &self.cols {
                cell.clear();
                let fixed = !col.is_text() && col.shape != Shape::Variable;
                let count = if fixed {
                    col.repeat()
                } else {
                    let mut count = [0u8; 4];
                    reader
                        .read_exact(&mut count)
                        .map_err(|e| io("reading", e))?;
                    u32::from_be_bytes(count) as usize
                };
                cell.resize(count * col.spill_bytes(), 0);
                reader.read_exact(&mut cell).map_err(|e| io("reading", e))?;
                if col.is_integer() {
                    bytes.clear();
                    col.unspill_ints(&cell, &mut bytes);
                    for _ in count..col.repeat() {
                        col.put_int(col.tnull, &mut bytes);
                    }
                    std::mem::swap(&mut cell, &mut bytes);
                } else if !fixed {
                    if col.is_text() {
                        // A NUL ends a shorter text (FITS 4.0 §7.3.3.1).
                        cell.resize(col.repeat(), 0);
                    } else {
                        for _ in count..col.repeat() {
                            put_element(col.prim, None, &mut cell);
                        }
                    }
                }
                out.write_all(&cell).map_err(|e| io("writing", e))?;
                data += cell.len() as u64;
            }
        }
        let pad = (BLOCK - (data as usize % BLOCK)) % BLOCK;
        out.write_all(&vec![0u8; pad])
            .map_err(|e| io("writing", e))?;
        written += data + pad as u64;
        let mut file = out
            .into_inner()
            .map_err(|e| io("writing", e.into_error()))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| io("rewinding", e))?;
        Ok((file, written))
    }
}

impl TableFormat for FitsTable {
    fn spill_dir(&mut self, dir: &Path) {
        self.dir = Some(dir.to_path_buf());
    }

    fn begin(&mut self, table: &TableMeta, _out: &mut Vec<u8>) {
        self.fields = table.fields.clone();
        self.cols = table.fields.iter().map(Col::of).collect();
        let folder = self.spill_folder();
        if let Err(e) = std::fs::create_dir_all(&folder) {
            self.fail("making the folder", e);
            return;
        }
        match tempfile::tempfile_in(&folder) {
            Ok(f) => self.spill = Some(BufWriter::with_capacity(1 << 16, f)),
            Err(e) => self.fail("creating the spill file", e),
        }
    }

    fn row(&mut self, values: &[Value], _out: &mut Vec<u8>) {
        if self.failure.is_none() {
            self.spill_row(values);
            self.rows += 1;
        }
    }

    fn end(&mut self, status: &QueryStatus, _out: &mut Vec<u8>) {
        self.done = Some(self.write_file(status));
    }

    fn take_file(&mut self) -> Option<Result<(File, u64), String>> {
        self.done.take()
    }
}

/// FITS header cards (FITS 4.0 §4), 80 characters each.
#[derive(Debug, Default)]
struct Header {
    bytes: Vec<u8>,
}

impl Header {
    fn card(&mut self, key: &str, value: &str, comment: &str) {
        let mut card = format!("{key:<8}= {value}");
        if !comment.is_empty() && card.len() + 3 < 80 {
            card.push_str(" / ");
            card.push_str(comment);
        }
        let mut card: Vec<u8> = card
            .bytes()
            .map(|b| if (0x20..0x7F).contains(&b) { b } else { b'?' })
            .take(80)
            .collect();
        card.resize(80, b' ');
        self.bytes.extend_from_slice(&card);
    }

    fn int(&mut self, key: &str, v: i64, comment: &str) {
        self.card(key, &format!("{v:>20}"), comment);
    }

    fn logical(&mut self, key: &str, v: bool, comment: &str) {
        self.card(key, &format!("{:>20}", if v { "T" } else { "F" }), comment);
    }

    /// A string value (FITS 4.0 §4.2.1.1): quoted, quotes doubled, at least 8 characters,
    /// non-ASCII characters as `?`. A value too long for one card goes on in `CONTINUE`
    /// cards, each piece but the last ending in `&` (the long-string convention, FITS 4.0
    /// §4.2.1.2), which astropy and STIL read back whole.
    fn text(&mut self, key: &str, v: &str, comment: &str) {
        // At most 67 characters a card and its `&`; a doubled quote is never split.
        let mut chunks = vec![String::new()];
        for c in v.chars() {
            let piece = match c {
                '\'' => "''".to_string(),
                c if (' '..='~').contains(&c) => c.to_string(),
                _ => "?".to_string(),
            };
            if chunks.last().map_or(0, String::len) + piece.len() > 67 {
                chunks.push(String::new());
            }
            if let Some(last) = chunks.last_mut() {
                last.push_str(&piece);
            }
        }
        let n = chunks.len();
        for (k, chunk) in chunks.iter().enumerate() {
            let amp = if k + 1 < n { "&" } else { "" };
            if k == 0 {
                let value = format!("'{:<8}'", format!("{chunk}{amp}"));
                self.card(key, &value, if n == 1 { comment } else { "" });
            } else {
                self.line(&format!("CONTINUE  '{chunk}{amp}'"));
            }
        }
    }

    /// One card of exactly this text (padded to 80 characters).
    fn line(&mut self, text: &str) {
        let mut card: Vec<u8> = text.bytes().take(80).collect();
        card.resize(80, b' ');
        self.bytes.extend_from_slice(&card);
    }

    fn finish(mut self) -> Vec<u8> {
        let mut end = format!("{:<80}", "END").into_bytes();
        self.bytes.append(&mut end);
        let pad = (BLOCK - self.bytes.len() % BLOCK) % BLOCK;
        self.bytes.resize(self.bytes.len() + pad, b' ');
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Format, TableWriter};

    use crate::format::test_field as field;

    fn write(fields: Vec<FieldMeta>, rows: &[Vec<Value>], status: QueryStatus) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = TableWriter::new(Format::Fits, fields, Vec::new()).in_dir(dir.path());
        let mut out = Vec::new();
        w.begin(&mut out);
        for r in rows {
            w.row(r, &mut out);
        }
        w.end(&status, &mut out);
        assert!(out.is_empty(), "FITS is handed over as a file");
        let (mut file, len) = w.take_file().expect("a file").expect("written");
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).expect("read");
        assert_eq!(bytes.len() as u64, len);
        assert_eq!(bytes.len() % BLOCK, 0);
        bytes
    }

    fn cards(bytes: &[u8]) -> Vec<String> {
        bytes
            .chunks(80)
            .map(|c| String::from_utf8_lossy(c).trim_end().to_string())
            .collect()
    }

    fn value<'a>(cards: &'a [String], key: &str) -> Option<&'a str> {
        cards.iter().find_map(|c| {
            (c.len() > 10 && c[..8].trim_end() == key)
                .then(|| c[10..].split(" / ").next().unwrap_or("").trim())
        })
    }

    #[test]
    fn rows_are_big_endian_with_nulls_and_widths_from_the_longest_text() {
        let fields = vec![
            field("b", "boolean", None),
            field("s", "short", None),
            field("l", "long", None),
            field("f", "float", None),
            field("t", "char", Some("*")),
            field("u", "unicodeChar", Some("*")),
        ];
        let rows = vec![
            vec![
                Value::Int(1),
                Value::Int(-3),
                Value::Int(1 << 40),
                Value::Double(14.098),
                Value::Text("abc".into()),
                Value::Text("é".into()),
            ],
            vec![Value::Null; 6],
        ];
        let bytes = write(fields, &rows, QueryStatus::Overflow);
        let header = cards(&bytes[BLOCK..2 * BLOCK]);
        assert_eq!(
            cards(&bytes[..BLOCK])[0],
            format!("SIMPLE  = {:>20} / conforms to FITS 4.0", "T")
        );
        assert_eq!(value(&header, "XTENSION"), Some("'BINTABLE'"));
        assert_eq!(value(&header, "NAXIS1"), Some("20"));
        assert_eq!(value(&header, "NAXIS2"), Some("2"));
        assert_eq!(value(&header, "TFORM1"), Some("'1L      '"));
        assert_eq!(value(&header, "TFORM3"), Some("'1K      '"));
        assert_eq!(value(&header, "TNULL2"), Some("-32768"));
        assert_eq!(value(&header, "TFORM5"), Some("'3A      '"));
        assert_eq!(value(&header, "TFORM6"), Some("'2A      '"));
        assert_eq!(value(&header, "QRYSTAT"), Some("'OVERFLOW'"));
        let data = &bytes[2 * BLOCK..];
        let mut row1 = vec![b'T'];
        row1.extend_from_slice(&(-3i16).to_be_bytes());
        row1.extend_from_slice(&(1i64 << 40).to_be_bytes());
        row1.extend_from_slice(&14.098f32.to_be_bytes());
        row1.extend_from_slice(b"abc");
        row1.extend_from_slice("é".as_bytes());
        assert_eq!(&data[..20], row1.as_slice());
        let mut row2 = vec![0u8];
        row2.extend_from_slice(&i16::MIN.to_be_bytes());
        row2.extend_from_slice(&i64::MIN.to_be_bytes());
        row2.extend_from_slice(&f32::NAN.to_be_bytes());
        row2.extend_from_slice(&[0; 5]);
        assert_eq!(&data[20..40], row2.as_slice());
        assert!(data[40..].iter().all(|b| *b == 0));
    }

    #[test]
    fn an_unsigned_byte_null_is_a_value_the_column_does_not_hold() {
        let rows = vec![
            vec![Value::Int(255)],
            vec![Value::Null],
            vec![Value::Int(0)],
        ];
        let bytes = write(
            vec![field("b", "unsignedByte", None)],
            &rows,
            QueryStatus::Ok,
        );
        let header = cards(&bytes[BLOCK..2 * BLOCK]);
        assert_eq!(value(&header, "TFORM1"), Some("'1B      '"));
        assert_eq!(value(&header, "TNULL1"), Some("254"));
        assert_eq!(&bytes[2 * BLOCK..2 * BLOCK + 3], &[255, 254, 0]);
    }

    #[test]
    fn an_integer_null_is_a_value_the_column_does_not_hold() {
        let fields = vec![field("i", "int", None), field("s", "short", None)];
        let rows = vec![
            vec![Value::Int(i32::MIN.into()), Value::Int(7)],
            vec![Value::Null, Value::Null],
            vec![Value::Int(5), Value::Int(-1)],
        ];
        let bytes = write(fields, &rows, QueryStatus::Ok);
        let header = cards(&bytes[BLOCK..2 * BLOCK]);
        // int holds its smallest value: NULL is the next one up; short does not hold it.
        assert_eq!(value(&header, "TNULL1"), Some("-2147483647"));
        assert_eq!(value(&header, "TNULL2"), Some("-32768"));
        let data = &bytes[2 * BLOCK..];
        let i = |k: usize| i32::from_be_bytes(data[k * 6..k * 6 + 4].try_into().expect("4"));
        assert_eq!((i(0), i(1), i(2)), (i32::MIN, i32::MIN + 1, 5));
    }

    #[test]
    fn long_strings_go_on_in_continue_cards() {
        let name = format!("{}_end1", "x".repeat(70));
        let mut f = field(&name, "double", None);
        f.utype =
            Some("obscore:Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1".into());
        let bytes = write(vec![f], &[vec![Value::Double(1.0)]], QueryStatus::Ok);
        let header = cards(&bytes[BLOCK..2 * BLOCK]);
        let k = header
            .iter()
            .position(|c| c.starts_with("TTYPE1"))
            .expect("TTYPE1");
        assert_eq!(header[k], format!("TTYPE1  = '{}&'", "x".repeat(67)));
        assert_eq!(header[k + 1], "CONTINUE  'xxx_end1'");
        let u = header
            .iter()
            .position(|c| c.starts_with("TUTYP1"))
            .expect("TUTYP1");
        assert!(
            header[u].ends_with("&'") && header[u + 1].ends_with("C1'"),
            "{header:?}"
        );
    }

    #[test]
    fn an_empty_result_has_a_header_and_no_rows() {
        let bytes = write(vec![field("t", "char", Some("*"))], &[], QueryStatus::Ok);
        assert_eq!(bytes.len(), 2 * BLOCK);
        let header = cards(&bytes[BLOCK..]);
        assert_eq!(value(&header, "NAXIS2"), Some("0"));
        assert_eq!(value(&header, "TFORM1"), Some("'1A      '"));
        assert_eq!(value(&header, "QRYSTAT"), Some("'OK      '"));
    }

    #[test]
    fn variable_arrays_are_padded_with_nulls_and_strings_are_quoted() {
        let mut f = field("poly", "double", Some("*"));
        f.description = Some("it's a polygon".into());
        let rows = vec![
            vec![Value::Text("1 2 3".into())],
            vec![Value::Text("4".into())],
        ];
        let bytes = write(vec![f], &rows, QueryStatus::Error("disk 'full'".into()));
        let header = cards(&bytes[BLOCK..2 * BLOCK]);
        assert_eq!(value(&header, "TFORM1"), Some("'3D      '"));
        assert_eq!(value(&header, "TCOMM1"), Some("'it''s a polygon'"));
        assert_eq!(value(&header, "QRYMSG"), Some("'disk ''full'''"));
        let data = &bytes[2 * BLOCK..];
        let d = |i: usize| f64::from_be_bytes(data[i * 8..i * 8 + 8].try_into().expect("8"));
        assert_eq!((d(0), d(1), d(2), d(3)), (1.0, 2.0, 3.0, 4.0));
        assert!(d(4).is_nan() && d(5).is_nan());
    }
}

//! VOParquet 1.0 (IVOA Note): a Parquet file (the arrow-rs `parquet` crate) whose
//! key-value metadata holds `IVOA.VOTable-Parquet.version` = `1.0` and
//! `IVOA.VOTable-Parquet.content`, a VOTable document with the table's RESOURCE, INFOs
//! (QUERY_STATUS: OK, or OVERFLOW / ERROR as the query ended) and FIELDs, and no DATA.
//! astropy reads it with `Table.read(f, format="parquet.votable")`, pyarrow as plain Parquet.
//!
//! Columns (Arrow types): `boolean` Boolean, `unsignedByte` UInt8, `short` Int16, `int`
//! Int32, `long` Int64, `float` Float32, `double` Float64, text (`char`, `unicodeChar`)
//! Utf8, declared in the VOTable as `unicodeChar` with a fixed arraysize, the longest
//! value's length; arrays of doubles (DALI's point, circle and polygon) are Parquet lists of
//! Float64, fixed-size lists where the arraysize is fixed (then the file also holds Arrow's
//! own schema, `ARROW:schema`, with the same key-value metadata, since a Parquet list alone
//! reads back as variable: astropy reads such a column as a 2-D one), and other numeric
//! arrays are written as their TABLEDATA text (Utf8; the FIELD keeps the datatype and
//! arraysize). NULL is Parquet's null, distinct from NaN and from the empty
//! string. Rows are gathered into record batches of [`BATCH_ROWS`] and row groups of at most
//! [`ROW_GROUP_ROWS`] rows (within the Note's limit), Snappy-compressed; each finished row group is
//! handed on at once, so memory holds at most one row group. Each text column's longest
//! value, in characters, is recorded as `table::len::NAME`, as astropy's own writer does
//! (its reader sizes string columns from it).

use std::io::Write;
use std::sync::{Arc, Mutex};

use arrow_array::builder::{
    BooleanBuilder, FixedSizeListBuilder, Float32Builder, Float64Builder, Int16Builder,
    Int32Builder, Int64Builder, ListBuilder, StringBuilder, UInt8Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::votable::{boolean, integer, number, numbers, Serialization, Shape, Votable};
use super::{QueryStatus, TableFormat, TableMeta};
use crate::votable::{FieldMeta, Value};

/// Rows gathered before they are handed to the Parquet writer as one record batch.
pub const BATCH_ROWS: usize = 2048;

/// The most rows a row group holds: a quarter of VOParquet 1.0's limit of 65,536, since the
/// writer holds a whole row group (Arrow arrays and encoded pages) until it is finished;
/// 1,000,000 ObsCore rows from PostgreSQL peaked at 130 MB above idle with groups of 65,536
/// rows and 106 MB with 32,768 (conformance/bench_formats.sh).
pub const ROW_GROUP_ROWS: usize = 16_384;

/// The key of the Note's version.
pub const VERSION_KEY: &str = "IVOA.VOTable-Parquet.version";

/// The key of the VOTable document.
pub const CONTENT_KEY: &str = "IVOA.VOTable-Parquet.content";

/// The bytes the Parquet writer has written and the caller has not yet taken.
#[derive(Debug, Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut b| std::mem::take(&mut *b))
            .unwrap_or_default()
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One column being gathered.
#[derive(Debug)]
enum Column {
    Bool(BooleanBuilder),
    U8(UInt8Builder),
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F32(Float32Builder),
    F64(Float64Builder),
    Text(StringBuilder),
    /// Doubles, as many as each row has.
    ListF64(ListBuilder<Float64Builder>),
    /// A fixed number of doubles a row (missing ones NaN, extra ones dropped).
    FixedF64(FixedSizeListBuilder<Float64Builder>, usize),
}

impl Column {
    /// The builder and Arrow type of a FIELD.
    fn of(f: &FieldMeta) -> (Column, DataType) {
        if super::numeric_array(f) {
            let item = Arc::new(Field::new("item", DataType::Float64, true));
            return match (f.datatype.as_str(), Shape::of(f.arraysize.as_deref())) {
                ("double", Shape::Fixed(n)) if (1..=1 << 20).contains(&n) => {
                    let len = i32::try_from(n).unwrap_or(1);
                    (
                        Column::FixedF64(FixedSizeListBuilder::new(Float64Builder::new(), len), n),
                        DataType::FixedSizeList(item, len),
                    )
                }
                ("double", _) => (
                    Column::ListF64(ListBuilder::new(Float64Builder::new())),
                    DataType::List(item),
                ),
                _ => (Column::Text(StringBuilder::new()), DataType::Utf8),
            };
        }
        match f.datatype.as_str() {
            "boolean" => (Column::Bool(BooleanBuilder::new()), DataType::Boolean),
            "unsignedByte" => (Column::U8(UInt8Builder::new()), DataType::UInt8),
            "short" => (Column::I16(Int16Builder::new()), DataType::Int16),
            "int" => (Column::I32(Int32Builder::new()), DataType::Int32),
            "long" => (Column::I64(Int64Builder::new()), DataType::Int64),
            "float" => (Column::F32(Float32Builder::new()), DataType::Float32),
            "double" => (Column::F64(Float64Builder::new()), DataType::Float64),
            _ => (Column::Text(StringBuilder::new()), DataType::Utf8),
        }
    }

    fn append(&mut self, v: &Value) {
        let int = |lo: i64, hi: i64| integer(v).map(|i| i.clamp(lo, hi));
        match self {
            Column::Bool(b) => b.append_option(boolean(v)),
            Column::U8(b) => b.append_option(int(0, 255).map(|i| i as u8)),
            Column::I16(b) => {
                b.append_option(int(i64::from(i16::MIN), i64::from(i16::MAX)).map(|i| i as i16))
            }
            Column::I32(b) => {
                b.append_option(int(i64::from(i32::MIN), i64::from(i32::MAX)).map(|i| i as i32))
            }
            Column::I64(b) => b.append_option(integer(v)),
            Column::F32(b) => b.append_option(number(v).map(|x| x as f32)),
            Column::F64(b) => b.append_option(number(v)),
            Column::Text(b) => match v {
                Value::Null => b.append_null(),
                Value::Text(s) => b.append_value(s),
                Value::Int(i) => b.append_value(i.to_string()),
                Value::Double(d) => b.append_value(format!("{d:?}")),
            },
            Column::FixedF64(b, n) => {
                let xs = numbers(v);
                for k in 0..*n {
                    b.values()
                        .append_value(xs.get(k).copied().unwrap_or(f64::NAN));
                }
                b.append(*v != Value::Null);
            }
            Column::ListF64(b) => {
                if *v == Value::Null {
                    b.append(false);
                } else {
                    b.values().append_slice(&numbers(v));
                    b.append(true);
                }
            }
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Bool(b) => Arc::new(b.finish()),
            Column::U8(b) => Arc::new(b.finish()),
            Column::I16(b) => Arc::new(b.finish()),
            Column::I32(b) => Arc::new(b.finish()),
            Column::I64(b) => Arc::new(b.finish()),
            Column::F32(b) => Arc::new(b.finish()),
            Column::F64(b) => Arc::new(b.finish()),
            Column::Text(b) => Arc::new(b.finish()),
            Column::ListF64(b) => Arc::new(b.finish()),
            Column::FixedF64(b, _) => Arc::new(b.finish()),
        }
    }
}

/// The VOParquet writer.
pub struct VoParquet {
    table: TableMeta,
    schema: Arc<Schema>,
    columns: Vec<Column>,
    rows: usize,
    /// The longest text (in characters) of each text column so far.
    text_len: Vec<Option<usize>>,
    sink: Shared,
    writer: Option<ArrowWriter<Shared>>,
    /// The first failure of the Parquet writer, said in the file's QUERY_STATUS.
    failed: Option<String>,
}

impl std::fmt::Debug for VoParquet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoParquet")
            .field("schema", &self.schema)
            .field("rows", &self.rows)
            .field("failed", &self.failed)
            .finish()
    }
}

impl Default for VoParquet {
    fn default() -> Self {
        VoParquet {
            table: TableMeta::default(),
            schema: Arc::new(Schema::empty()),
            columns: Vec::new(),
            rows: 0,
            text_len: Vec::new(),
            sink: Shared::default(),
            writer: None,
            failed: None,
        }
    }
}

impl VoParquet {
    /// Hand the gathered rows to the Parquet writer as one record batch.
    fn write_batch(&mut self) {
        if self.rows == 0 {
            return;
        }
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        self.rows = 0;
        let (Some(w), None) = (self.writer.as_mut(), &self.failed) else {
            return;
        };
        let r = RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|e| e.to_string())
            .and_then(|batch| w.write(&batch).map_err(|e| e.to_string()));
        if let Err(e) = r {
            self.failed = Some(format!("the Parquet writer failed: {e}"));
        }
    }

    /// The VOTable document of the content key: the table's header and `status`, no DATA.
    /// No FIELD IDs and no extra RESOURCEs (DataLink descriptors): they refer to a VOTable's
    /// own rows. Text columns are declared as the Parquet file holds them: `unicodeChar` (UTF-8 text)
    /// with a fixed arraysize, the longest value's length (astropy's reader needs a fixed
    /// size to put the rows under the FIELDs).
    fn content(&self, status: &QueryStatus) -> String {
        let mut table = self.table.clone();
        // Service descriptors refer to FIELD IDs of a VOTable's own rows, which a Parquet
        // file does not have; readers name columns by ID where there is one.
        table.resources.clear();
        for f in &mut table.fields {
            f.id = None;
        }
        for (f, len) in table.fields.iter_mut().zip(&self.text_len) {
            if let (Some(n), "char" | "unicodeChar") = (len, f.datatype.as_str()) {
                f.datatype = "unicodeChar".into();
                f.arraysize = Some((*n).max(1).to_string());
            }
        }
        let mut v = Votable::new(Serialization::Tabledata);
        let mut out = Vec::new();
        v.begin(&table, &mut out);
        v.end(status, &mut out);
        let doc = String::from_utf8_lossy(&out).into_owned();
        // No DATA: the rows are the Parquet file's.
        doc.replace("<DATA><TABLEDATA>\n</TABLEDATA></DATA>\n", "")
    }
}

impl TableFormat for VoParquet {
    fn begin(&mut self, table: &TableMeta, _out: &mut Vec<u8>) {
        self.table = table.clone();
        let mut fields = Vec::new();
        self.columns.clear();
        self.text_len.clear();
        let mut seen = std::collections::HashSet::new();
        for f in &table.fields {
            let (col, dt) = Column::of(f);
            // Parquet column names must be unique: a repeated name gets a suffix (the
            // VOTable FIELDs keep the names).
            let mut name = f.name.clone();
            let mut k = 2;
            while !seen.insert(name.clone()) {
                name = format!("{}_{k}", f.name);
                k += 1;
            }
            self.text_len
                .push(matches!(col, Column::Text(_)).then_some(0));
            fields.push(Field::new(name, dt, true));
            self.columns.push(col);
        }
        self.schema = Arc::new(Schema::new(fields));
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_compression(Compression::SNAPPY)
            .build();
        // No ARROW:schema key: readers (pyarrow, so astropy) then take the file's key-value
        // metadata, written at the end, as the schema's.
        let options = ArrowWriterOptions::new()
            .with_properties(props)
            .with_skip_arrow_metadata(true);
        match ArrowWriter::try_new_with_options(self.sink.clone(), self.schema.clone(), options) {
            Ok(w) => self.writer = Some(w),
            Err(e) => self.failed = Some(format!("the Parquet writer failed: {e}")),
        }
    }

    fn row(&mut self, values: &[Value], out: &mut Vec<u8>) {
        for ((c, v), len) in self.columns.iter_mut().zip(values).zip(&mut self.text_len) {
            c.append(v);
            // Characters are never more than bytes: only a longer text is counted.
            if let (Some(n), Value::Text(s)) = (len.as_mut(), v) {
                if s.len() > *n {
                    *n = (*n).max(s.chars().count());
                }
            }
        }
        self.rows += 1;
        if self.rows >= BATCH_ROWS {
            self.write_batch();
            out.extend_from_slice(&self.sink.take());
        }
    }

    fn end(&mut self, status: &QueryStatus, out: &mut Vec<u8>) {
        self.write_batch();
        let status = match (&self.failed, status) {
            (Some(e), _) => QueryStatus::Error(e.clone()),
            (None, s) => s.clone(),
        };
        let content = self.content(&status);
        if let Some(mut w) = self.writer.take() {
            let mut kv = vec![
                (VERSION_KEY.to_string(), "1.0".to_string()),
                (CONTENT_KEY.to_string(), content),
            ];
            // The longest string of each text column, as astropy's own Parquet writer
            // records it (`table::len::NAME`): its reader sizes string columns from it.
            for (f, len) in self.schema.fields().iter().zip(&self.text_len) {
                if let Some(n) = len {
                    kv.push((format!("table::len::{}", f.name()), (*n).max(1).to_string()));
                }
            }
            // A fixed-size list is a plain list in Parquet's own schema: Arrow's schema says
            // which are fixed, with the same metadata (pyarrow then takes it from there).
            if self
                .columns
                .iter()
                .any(|c| matches!(c, Column::FixedF64(..)))
            {
                let schema = Schema::new_with_metadata(
                    self.schema.fields().clone(),
                    kv.iter()
                        .cloned()
                        .collect::<std::collections::HashMap<String, String>>(),
                );
                kv.push((
                    parquet::arrow::ARROW_SCHEMA_META_KEY.to_string(),
                    parquet::arrow::encode_arrow_schema(&schema),
                ));
            }
            for (k, v) in kv {
                w.append_key_value_metadata(KeyValue::new(k, v));
            }
            // A failure here leaves the file without its footer, which readers refuse: it
            // cannot be said in the file any more.
            let _ = w.close();
        }
        out.extend_from_slice(&self.sink.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{Format, TableWriter};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn field(name: &str, datatype: &str) -> FieldMeta {
        FieldMeta {
            name: name.into(),
            datatype: datatype.into(),
            ucd: (name == "ra").then(|| "pos.eq.ra".to_string()),
            ..Default::default()
        }
    }

    #[test]
    fn rows_nulls_and_the_votable_header_read_back() {
        let fields = vec![
            field("ra", "double"),
            field("mag", "float"),
            field("n", "long"),
            field("ok", "boolean"),
            field("name", "unicodeChar"),
        ];
        let mut w = TableWriter::new(Format::Parquet, fields, vec![("QUERY".into(), "q".into())]);
        let mut out = Vec::new();
        w.begin(&mut out);
        // More rows than a batch, so that a batch is handed on before the end.
        let n = BATCH_ROWS + 10;
        for i in 0..n {
            let row = if i == 1 {
                vec![
                    Value::Null,
                    Value::Double(f64::NAN),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ]
            } else {
                vec![
                    Value::Double(i as f64 / 7.0),
                    Value::Double(f64::from(14.098f32)),
                    Value::Int(i64::MAX - i as i64),
                    Value::Int((i % 2) as i64),
                    Value::Text(if i == 2 {
                        String::new()
                    } else {
                        format!("é{i}")
                    }),
                ]
            };
            w.row(&row, &mut out);
        }
        w.end(&QueryStatus::Overflow, &mut out);

        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(out))
            .expect("a Parquet file");
        let meta = reader
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .cloned()
            .unwrap_or_default();
        let get = |k: &str| {
            meta.iter()
                .find(|kv| kv.key == k)
                .and_then(|kv| kv.value.clone())
        };
        assert_eq!(get(VERSION_KEY).as_deref(), Some("1.0"));
        let votable = get(CONTENT_KEY).expect("the VOTable");
        // The longest name is "é8201" (5 characters).
        assert!(
            votable.contains("<FIELD name=\"name\" datatype=\"unicodeChar\" arraysize=\"5\"/>"),
            "{votable}"
        );
        assert!(
            votable.contains("value=\"OVERFLOW\"") && !votable.contains("<DATA>"),
            "{votable}"
        );
        assert!(votable.contains("<INFO name=\"QUERY\" value=\"q\"/>"));
        let batches: Vec<RecordBatch> = reader
            .build()
            .expect("reader")
            .collect::<Result<_, _>>()
            .expect("batches");
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, n);
        let b = &batches[0];
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Float32Type, Float64Type, Int64Type};
        use arrow_array::Array;
        let ra = b.column(0).as_primitive::<Float64Type>();
        assert_eq!(ra.value(3), 3.0 / 7.0);
        assert!(ra.is_null(1));
        let mag = b.column(1).as_primitive::<Float32Type>();
        assert_eq!(mag.value(0), 14.098f32);
        // NaN is a value, not a null.
        assert!(!mag.is_null(1) && mag.value(1).is_nan());
        let long = b.column(2).as_primitive::<Int64Type>();
        assert_eq!(long.value(0), i64::MAX);
        assert!(long.is_null(1));
        let ok = b.column(3).as_boolean();
        assert!(!ok.value(0) && ok.value(3) && ok.is_null(1));
        let name = b.column(4).as_string::<i32>();
        assert_eq!(name.value(0), "é0");
        assert!(name.is_null(1));
        // The empty string is not NULL.
        assert!(!name.is_null(2) && name.value(2).is_empty());
        assert_eq!(b.schema().field(4).data_type(), &DataType::Utf8);
    }

    #[test]
    fn arrays_of_doubles_are_lists() {
        use arrow_array::cast::AsArray;
        use arrow_array::types::Float64Type;
        use arrow_array::Array;
        let mut point = field("p", "double");
        point.arraysize = Some("2".into());
        point.xtype = Some("point".into());
        let mut polygon = field("poly", "double");
        polygon.arraysize = Some("*".into());
        let mut w = TableWriter::new(Format::Parquet, vec![point, polygon], Vec::new());
        let mut out = Vec::new();
        w.begin(&mut out);
        w.row(
            &[
                Value::Text("10.5 -2.0".into()),
                Value::Text("1 2 3 4 5 6".into()),
            ],
            &mut out,
        );
        w.row(&[Value::Null, Value::Null], &mut out);
        w.row(
            &[Value::Text("7".into()), Value::Text(String::new())],
            &mut out,
        );
        w.end(&QueryStatus::Ok, &mut out);
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(out))
            .expect("a Parquet file");
        let b = reader
            .build()
            .expect("reader")
            .next()
            .expect("a batch")
            .expect("rows");
        // Read back through the Arrow schema the file holds: a fixed-size list.
        let p = b.column(0).as_fixed_size_list();
        assert_eq!(p.value_length(), 2);
        let first = p.value(0);
        assert_eq!(first.as_primitive::<Float64Type>().values(), &[10.5, -2.0]);
        assert!(p.is_null(1));
        // A short value is padded with NaN.
        let third = p.value(2);
        let third = third.as_primitive::<Float64Type>();
        assert!(third.value(0) == 7.0 && third.value(1).is_nan());
        let poly = b.column(1).as_list::<i32>();
        let v = poly.value(0);
        assert_eq!(
            v.as_primitive::<Float64Type>().values(),
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
        );
        assert!(poly.is_null(1) && !poly.is_null(2) && poly.value(2).is_empty());
    }
}

//! The table formats of query results, one module each behind one [`TableFormat`] trait
//! (`begin(table) / row(values) / end(status)`), which never hold more than one row:
//!
//! - [`votable`]: VOTable 1.4 (IVOA REC 2019-10-21) in the TABLEDATA, BINARY2 and BINARY
//!   serializations, with DALI 1.1's `QUERY_STATUS` INFOs and the extra RESOURCEs after the
//!   results (DataLink service descriptors);
//! - [`json`]: JSON in the shape of ESA's Gaia TAP+ (`{"metadata": [...], "data": [[...]]}`);
//! - [`delimited`]: CSV (RFC 4180) and TSV;
//! - [`parquet`]: VOParquet 1.0 (the IVOA Note), behind the `parquet` cargo feature, which
//!   the default build enables;
//! - [`fits`]: FITS binary tables, behind the `fits` cargo feature (on by default), written
//!   whole to a file (its header needs the row count) that [`TableFormat::take_file`] hands
//!   over.
//!
//! [`Format`] names them as clients ask for them (RESPONSEFORMAT, DALI 1.1 §3.4.6).

pub mod delimited;
#[cfg(feature = "fits")]
pub mod fits;
pub mod json;
#[cfg(feature = "parquet")]
pub mod parquet;
pub mod read;
pub mod votable;

use crate::error::VoError;
use crate::votable::{FieldMeta, Value};

/// The output formats of a query result (DALI 1.1 §3.4.6 RESPONSEFORMAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// VOTable 1.4 with TABLEDATA serialization (XML cells).
    VotableTabledata,
    /// VOTable 1.4 with BINARY2 serialization (base64 rows with a null bitmap, VOTable 1.4
    /// §5.5).
    VotableBinary2,
    /// VOTable 1.4 with BINARY serialization (base64 rows; nulls in band: NaN, the
    /// integer null a FIELD's VALUES declares, `?` for booleans, VOTable 1.4 §5.4).
    VotableBinary,
    /// JSON in the Gaia TAP+ shape.
    Json,
    /// Comma-separated values with a header line.
    Csv,
    /// Tab-separated values with a header line.
    Tsv,
    /// VOParquet 1.0: Parquet with the VOTable metadata in its key-value metadata.
    #[cfg(feature = "parquet")]
    Parquet,
    /// A FITS binary table (FITS 4.0 §7.3), in the first extension.
    #[cfg(feature = "fits")]
    Fits,
}

impl Format {
    /// Every format, in the order capabilities list them.
    pub const ALL: &'static [Format] = &[
        Format::VotableTabledata,
        Format::VotableBinary2,
        Format::VotableBinary,
        Format::Json,
        Format::Csv,
        Format::Tsv,
        #[cfg(feature = "parquet")]
        Format::Parquet,
        #[cfg(feature = "fits")]
        Format::Fits,
    ];

    /// Parse a RESPONSEFORMAT (or FORMAT) value: a MIME type, with `;serialization=TABLEDATA`,
    /// `BINARY2` or `BINARY` for VOTable (any case, spaces ignored), or a short name TOPCAT
    /// and pyvo send (`votable`, `votable/td`, `votable/b2`, `votable/b`, `json`, `csv`,
    /// `tsv`). Errors name the value that was not understood and list what is offered.
    pub fn from_param(value: &str) -> Result<Format, VoError> {
        let v = value.trim().to_ascii_lowercase();
        let (mime, params) = match v.split_once(';') {
            Some((m, p)) => (m.trim().to_string(), p.replace(' ', "")),
            None => (v.clone(), String::new()),
        };
        let votable = |default: Format| -> Result<Format, VoError> {
            let mut serialization = None;
            // Other MIME parameters (a version, a charset) change nothing.
            for p in params.split(';') {
                if let Some(("serialization", s)) = p.split_once('=') {
                    serialization = Some(s.trim_matches('"').to_string());
                }
            }
            match serialization.as_deref() {
                None => Ok(default),
                Some("tabledata") => Ok(Format::VotableTabledata),
                Some("binary2") => Ok(Format::VotableBinary2),
                Some("binary") => Ok(Format::VotableBinary),
                Some(other) => Err(VoError::usage(format!(
                    "RESPONSEFORMAT '{value}': VOTable serialization '{other}' is not one of \
                     TABLEDATA, BINARY2 or BINARY"
                ))),
            }
        };
        match mime.as_str() {
            "votable"
            | "application/x-votable+xml"
            | "text/xml"
            | "application/xml"
            | "application/votable+xml" => votable(Format::VotableTabledata),
            "votable/td" | "votabletd" => votable(Format::VotableTabledata),
            "votable/b2" | "votableb2" => votable(Format::VotableBinary2),
            "votable/b" | "votableb" => votable(Format::VotableBinary),
            "json" | "application/json" => Ok(Format::Json),
            "csv" | "text/csv" => Ok(Format::Csv),
            "tsv" | "text/tab-separated-values" => Ok(Format::Tsv),
            #[cfg(feature = "parquet")]
            "parquet"
            | "vnd.apache.parquet"
            | "application/vnd.apache.parquet"
            | "application/x-parquet"
            | "application/parquet" => Ok(Format::Parquet),
            #[cfg(feature = "fits")]
            "fits" | "application/fits" | "image/fits" | "application/x-fits-table" => {
                Ok(Format::Fits)
            }
            _ => Err(VoError::usage(format!(
                "RESPONSEFORMAT '{value}' is not supported; use one of {}, or their MIME types",
                Format::ALL
                    .iter()
                    .map(|f| f.short_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The Content-Type of a response in this format.
    pub fn content_type(&self) -> &'static str {
        match self {
            Format::VotableTabledata => "application/x-votable+xml",
            Format::VotableBinary2 => "application/x-votable+xml;serialization=BINARY2",
            Format::VotableBinary => "application/x-votable+xml;serialization=BINARY",
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Tsv => "text/tab-separated-values; charset=utf-8",
            #[cfg(feature = "parquet")]
            Format::Parquet => "application/vnd.apache.parquet",
            #[cfg(feature = "fits")]
            Format::Fits => "application/fits",
        }
    }

    /// The short name (TAP 1.1 §2.7.1 and the names TOPCAT and pyvo send).
    pub fn short_name(&self) -> &'static str {
        match self {
            Format::VotableTabledata => "votable/td",
            Format::VotableBinary2 => "votable/b2",
            Format::VotableBinary => "votable/b",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            #[cfg(feature = "parquet")]
            Format::Parquet => "parquet",
            #[cfg(feature = "fits")]
            Format::Fits => "fits",
        }
    }

    /// How TAPRegExt 1.0 §2.5 declares the format in VOSI capabilities: the MIME type (with
    /// the serialization for VOTable), the standard's ivo-id where it has one, and the short
    /// names [`Format::from_param`] takes.
    pub fn capability(&self) -> (&'static str, Option<&'static str>, &'static [&'static str]) {
        match self {
            Format::VotableTabledata => (
                "application/x-votable+xml;serialization=TABLEDATA",
                Some("ivo://ivoa.net/std/TAPRegExt#output-votable-td"),
                &["votable", "votable/td"],
            ),
            Format::VotableBinary2 => (
                "application/x-votable+xml;serialization=BINARY2",
                Some("ivo://ivoa.net/std/TAPRegExt#output-votable-binary2"),
                &["votable/b2"],
            ),
            Format::VotableBinary => (
                "application/x-votable+xml;serialization=BINARY",
                Some("ivo://ivoa.net/std/TAPRegExt#output-votable-binary"),
                &["votable/b"],
            ),
            Format::Json => ("application/json", None, &["json"]),
            Format::Csv => ("text/csv", None, &["csv"]),
            Format::Tsv => ("text/tab-separated-values", None, &["tsv"]),
            #[cfg(feature = "parquet")]
            Format::Parquet => ("application/vnd.apache.parquet", None, &["parquet"]),
            #[cfg(feature = "fits")]
            Format::Fits => ("application/fits", None, &["fits"]),
        }
    }

    /// Whether the format is text that compresses well (gzip is offered for it).
    pub fn is_text(&self) -> bool {
        matches!(
            self,
            Format::VotableTabledata | Format::Json | Format::Csv | Format::Tsv
        )
    }

    /// Whether the format is written as it goes: false for FITS, whose file is written whole
    /// at the end ([`TableFormat::take_file`]) and then sent with its length.
    pub fn streams(&self) -> bool {
        match self {
            #[cfg(feature = "fits")]
            Format::Fits => false,
            _ => true,
        }
    }

    /// A new writer of this format.
    pub fn writer(&self) -> Box<dyn TableFormat> {
        match self {
            Format::VotableTabledata => {
                Box::new(votable::Votable::new(votable::Serialization::Tabledata))
            }
            Format::VotableBinary2 => {
                Box::new(votable::Votable::new(votable::Serialization::Binary2))
            }
            Format::VotableBinary => {
                Box::new(votable::Votable::new(votable::Serialization::Binary))
            }
            Format::Json => Box::new(json::Json::default()),
            Format::Csv => Box::new(delimited::Delimited::new(b',')),
            Format::Tsv => Box::new(delimited::Delimited::new(b'\t')),
            #[cfg(feature = "parquet")]
            Format::Parquet => Box::<parquet::VoParquet>::default(),
            #[cfg(feature = "fits")]
            Format::Fits => Box::<fits::FitsTable>::default(),
        }
    }
}

/// How a query ended, written by [`TableFormat::end`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryStatus {
    /// All rows were written.
    Ok,
    /// MAXREC stopped the output before the last row (DALI 1.1 §4.4.1).
    Overflow,
    /// The query failed after the header (and perhaps rows) were written; the message says why.
    Error(String),
}

/// What a table is, apart from its rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableMeta {
    /// The columns.
    pub fields: Vec<FieldMeta>,
    /// `(name, value)` pairs written as VOTable INFO elements after QUERY_STATUS (the QUERY,
    /// MAXREC); the other formats leave them out.
    pub infos: Vec<(String, String)>,
    /// Whole VOTable `RESOURCE` elements written after the results RESOURCE, in this order
    /// (DataLink 1.1 §4 service descriptors); the other formats have no place for them.
    pub resources: Vec<String>,
}

/// One table format, written in three steps into byte buffers the caller sends on.
pub trait TableFormat: Send {
    /// Write everything that precedes the first row.
    fn begin(&mut self, table: &TableMeta, out: &mut Vec<u8>);
    /// Write one row: one value per field, in field order.
    fn row(&mut self, values: &[Value], out: &mut Vec<u8>);
    /// Write everything after the last row, with the query's final status.
    fn end(&mut self, status: &QueryStatus, out: &mut Vec<u8>);

    /// The folder where a format that cannot stream keeps its files (FITS); the system's
    /// temporary folder when not given. Called before [`TableFormat::begin`].
    fn spill_dir(&mut self, _dir: &std::path::Path) {}

    /// A format that cannot stream (FITS) writes the whole table to a file at
    /// [`TableFormat::end`], and hands it over here once: the file, positioned at its start,
    /// and its length in bytes; or why it could not be written (a full disk). `None` for
    /// the formats that stream (everything is in the buffers they were given).
    fn take_file(&mut self) -> Option<Result<(std::fs::File, u64), String>> {
        None
    }
}

/// Writes one result table in one [`Format`], row by row: the format's [`TableFormat`] with
/// its [`TableMeta`] and a count of the rows written.
pub struct TableWriter {
    table: TableMeta,
    format: Box<dyn TableFormat>,
    rows_written: u64,
}

impl std::fmt::Debug for TableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("table", &self.table)
            .field("rows_written", &self.rows_written)
            .finish()
    }
}

impl TableWriter {
    /// A writer for `fields` in `format`, with INFO `(name, value)` pairs (VOTable only).
    pub fn new(format: Format, fields: Vec<FieldMeta>, infos: Vec<(String, String)>) -> Self {
        TableWriter {
            table: TableMeta {
                fields,
                infos,
                resources: Vec::new(),
            },
            format: format.writer(),
            rows_written: 0,
        }
    }

    /// The same writer with `resources` written after the results ([`TableMeta::resources`]).
    pub fn with_resources(mut self, resources: Vec<String>) -> Self {
        self.table.resources = resources;
        self
    }

    /// The same writer keeping the files of a format that cannot stream (FITS) in `dir`
    /// ([`TableFormat::spill_dir`]).
    pub fn in_dir(mut self, dir: &std::path::Path) -> Self {
        self.format.spill_dir(dir);
        self
    }

    /// The file a format that cannot stream wrote at [`TableWriter::end`]
    /// ([`TableFormat::take_file`]); `None` for the others.
    pub fn take_file(&mut self) -> Option<Result<(std::fs::File, u64), String>> {
        self.format.take_file()
    }

    /// The columns this writer writes.
    pub fn fields(&self) -> &[FieldMeta] {
        &self.table.fields
    }

    /// Number of rows written so far.
    pub fn rows_written(&self) -> u64 {
        self.rows_written
    }

    /// Write everything that precedes the first row.
    pub fn begin(&mut self, out: &mut Vec<u8>) {
        self.format.begin(&self.table, out);
    }

    /// Write one row; `values` has one value per field, in field order.
    pub fn row(&mut self, values: &[Value], out: &mut Vec<u8>) {
        self.format.row(values, out);
        self.rows_written += 1;
    }

    /// Write everything after the last row, with the query's final status.
    pub fn end(&mut self, status: &QueryStatus, out: &mut Vec<u8>) {
        self.format.end(status, out);
    }
}

/// A double as the text formats write it: the shortest text that reads back as the same
/// number, `None` for NaN and the infinities.
pub(crate) fn fmt_double(v: f64) -> Option<String> {
    v.is_finite().then(|| format!("{v:?}"))
}

/// A value of a `float` column (4 bytes) as the text formats write it: the shortest text
/// that reads back as the same float32 (`14.098`, where the value widened to a double
/// would print as `14.097999572753906`), `None` for NaN and the infinities.
pub(crate) fn fmt_float(v: f64) -> Option<String> {
    v.is_finite().then(|| format!("{:?}", v as f32))
}

/// The number text of `v` in a column that is (`float32`) or is not a 4-byte float.
pub(crate) fn fmt_number(v: f64, float32: bool) -> Option<String> {
    if float32 {
        fmt_float(v)
    } else {
        fmt_double(v)
    }
}

/// Whether `field` is an array of numbers (an arraysize on a datatype other than `char` and
/// `unicodeChar`, such as DALI's `double[2]` point), whose cells come as their TABLEDATA text
/// (numbers separated by spaces).
pub(crate) fn numeric_array(field: &FieldMeta) -> bool {
    field.arraysize.is_some() && !matches!(field.datatype.as_str(), "char" | "unicodeChar")
}

/// Which of `fields` are 4-byte floats (`datatype="float"`).
pub(crate) fn float32_columns(fields: &[FieldMeta]) -> Vec<bool> {
    fields.iter().map(|f| f.datatype == "float").collect()
}

/// A FIELD of `datatype` and `arraysize` named `name`, for the writers' tests.
#[cfg(test)]
pub(crate) fn test_field(name: &str, datatype: &str, arraysize: Option<&str>) -> FieldMeta {
    FieldMeta {
        name: name.into(),
        datatype: datatype.into(),
        arraysize: arraysize.map(str::to_string),
        ..Default::default()
    }
}

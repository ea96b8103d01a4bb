//! TAP UPLOAD (TAP 1.1 §2.5.6, DALI 1.1 §3.4.5): which tables a request uploads, and from
//! where.
//!
//! `UPLOAD=name,URI` names a table `TAP_UPLOAD.name` and where its VOTable is: `param:PART`,
//! the part of a `multipart/form-data` request named PART (an inline upload), or an `http` or
//! `https` URL. Several uploads are separated by `;` in one value, or given as several UPLOAD
//! parameters (DALI 1.1 allows both).
//!
//! [`prepare_uploads`] reads each VOTable's FIELDs into a [`TableInfo`] of schema
//! `TAP_UPLOAD`, which the query's ADQL may name ([`vo_adql::WithUploads`]); the backend then
//! loads the rows, streamed from the file, into a temporary table of the query's own
//! connection ([`UploadTable`]), indexed on its position when FIELDs carry the UCDs
//! `pos.eq.ra` and `pos.eq.dec`, and gone when the query ends.

use std::io::BufRead;
use std::path::Path;
use std::time::Duration;
use vo_adql::{ColumnInfo, TableInfo};
use vo_common::format::read::{ReadLimits, VotableReader};
use vo_common::{ErrorKind, FieldMeta, VoError};
use vo_dali::{Params, Part};

/// How much a query may upload (declared in the capabilities, TAPRegExt uploadLimit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadLimits {
    /// The most bytes of one request's uploaded files together.
    pub max_bytes: u64,
    /// The most rows of one uploaded table.
    pub max_rows: u64,
    /// The most columns of one uploaded table.
    pub max_columns: usize,
    /// The hosts (names or addresses, with `:port` when not the scheme's) a URL upload may
    /// be fetched from; empty: URL uploads are refused.
    pub url_hosts: Vec<String>,
    /// How long fetching one URL upload may take.
    pub url_timeout: Duration,
}

impl Default for UploadLimits {
    /// 256 MiB, 1,000,000 rows and 1,000 columns; no URL uploads, 30 s to fetch one.
    fn default() -> Self {
        UploadLimits {
            max_bytes: 256 << 20,
            max_rows: 1_000_000,
            max_columns: 1000,
            url_hosts: Vec::new(),
            url_timeout: Duration::from_secs(30),
        }
    }
}

/// One uploaded table of a query: what ADQL sees of it, and the VOTable its rows are read
/// from when the backend loads it.
#[derive(Debug, Clone)]
pub struct UploadTable {
    /// The table as ADQL names it: schema `TAP_UPLOAD`, its columns (database names from
    /// [`TableInfo::sql_column`]) and its indexed position, if any.
    pub table: TableInfo,
    /// The VOTable file (kept while the query runs).
    pub file: Part,
    /// The most rows read from it.
    pub max_rows: u64,
}

impl UploadTable {
    /// Read the rows: `each` is given every row's cells, in the order of the columns, and
    /// the number of the row (from 1). Errors (DALI UsageError naming the table, the row and
    /// the byte): a VOTable that turns out bad or truncated, more rows than allowed; or the
    /// error `each` returns.
    pub fn read_rows(
        &self,
        mut each: impl FnMut(Vec<vo_common::Value>) -> Result<(), VoError>,
    ) -> Result<u64, VoError> {
        let mut reader = self.reader()?;
        while let Some(row) = reader.next_row() {
            let row = row.map_err(|e| self.bad(&e))?;
            each(row)?;
        }
        Ok(reader.rows_read())
    }

    fn reader(&self) -> Result<VotableReader<std::io::BufReader<std::fs::File>>, VoError> {
        let file = std::fs::File::open(self.file.path())
            .map_err(|e| VoError::internal(format!("cannot read an uploaded table: {e}")))?;
        VotableReader::new(
            std::io::BufReader::with_capacity(1 << 16, file),
            ReadLimits {
                max_rows: self.max_rows,
                max_columns: self.table.columns.len().max(1),
            },
        )
        .map_err(|e| self.bad(&e))
    }

    fn bad(&self, why: &str) -> VoError {
        reader_error(&self.table.name, why)
    }

    /// The (ra, dec) column indices of the indexed position, if any.
    pub fn position(&self) -> Option<(usize, usize)> {
        let (ra, dec) = self.table.position.as_ref()?;
        let at = |n: &str| self.table.columns.iter().position(|c| c.name == *n);
        Some((at(ra)?, at(dec)?))
    }
}

/// How an uploaded column is stored: by its VOTable datatype, arrays as DALI text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredAs {
    /// `boolean`: 1 (true) and 0 (false).
    Boolean,
    /// `unsignedByte`, `short`, `int`, `long` (and `bit`): a 64-bit integer or a narrower one.
    Integer,
    /// `float` (4 bytes).
    Float,
    /// `double`.
    Double,
    /// `char`, `unicodeChar`, and every array: text.
    Text,
}

impl StoredAs {
    /// How the column of `field` is stored.
    pub fn of(field: &FieldMeta) -> StoredAs {
        let scalar = field.arraysize.as_deref().is_none_or(|a| a == "1");
        match field.datatype.as_str() {
            "boolean" if scalar => StoredAs::Boolean,
            "unsignedByte" | "short" | "int" | "long" | "bit" if scalar => StoredAs::Integer,
            "float" if scalar => StoredAs::Float,
            "double" if scalar => StoredAs::Double,
            _ => StoredAs::Text,
        }
    }
}

impl UploadTable {
    /// How each column is stored, and the column definitions of its temporary table:
    /// `"c0" TYPE, "c1" TYPE, ...` with TYPE from `sql_type`, and `position_column` (the
    /// backend's index column, e.g. `"_hpx" INTEGER`) last when the table has a position.
    pub fn columns_sql(
        &self,
        sql_type: impl Fn(StoredAs) -> &'static str,
        position_column: &str,
    ) -> (Vec<StoredAs>, String) {
        let stored: Vec<StoredAs> = self
            .table
            .columns
            .iter()
            .map(|c| StoredAs::of(&c.field))
            .collect();
        let mut cols: Vec<String> = stored
            .iter()
            .enumerate()
            .map(|(i, k)| {
                format!(
                    "{} {}",
                    vo_adql::dialect::quote_ident(&vo_adql::upload_sql_column(i)),
                    sql_type(*k)
                )
            })
            .collect();
        if self.position().is_some() {
            cols.push(position_column.to_string());
        }
        (stored, cols.join(", "))
    }
}

/// The check of an upload position: (ra, dec) in degrees when both are finite
/// and dec is within [-90, 90], else `None` (the row has no indexed position).
pub fn position_value(ra: &vo_common::Value, dec: &vo_common::Value) -> Option<(f64, f64)> {
    let num = |v: &vo_common::Value| match v {
        vo_common::Value::Double(d) => Some(*d),
        vo_common::Value::Int(i) => Some(*i as f64),
        _ => None,
    };
    let (ra, dec) = (num(ra)?, num(dec)?);
    (ra.is_finite() && dec.is_finite() && (-90.0..=90.0).contains(&dec)).then_some((ra, dec))
}

/// The uploaded tables of a request: each UPLOAD's VOTable found (a file part of the
/// request; a URL is refused unless its host is allowed) and its FIELDs read into a table of
/// schema `TAP_UPLOAD`. Column names that are not regular ADQL identifiers, are reserved
/// words, or differ from another only in case are published delimited (`"RA"`), so a query
/// names them quoted. The first `pos.eq.ra` and `pos.eq.dec` numeric scalar columns (those
/// with `meta.main` first) are its indexed position. Errors, naming the upload: a missing
/// part, a URL not allowed or that cannot be fetched ([`fetch`]), not a VOTable, too many
/// columns, two columns of one name. URL uploads are spooled in `spool`.
pub fn prepare_uploads(
    specs: &[UploadSpec],
    params: &Params,
    limits: &UploadLimits,
    spool: &Path,
) -> Result<Vec<UploadTable>, VoError> {
    specs
        .iter()
        .map(|spec| {
            let file = match &spec.source {
                UploadSource::Param(part) => params.part(part).cloned().ok_or_else(|| {
                    VoError::usage(format!(
                        "UPLOAD={},param:{part}: the request has no part named '{part}': send \
                         the VOTable as a file part of a multipart/form-data POST",
                        spec.name
                    ))
                })?,
                UploadSource::Url(url) => fetch(&spec.name, url, limits, spool)?,
            };
            let header = {
                let f = std::fs::File::open(file.path()).map_err(|e| {
                    VoError::internal(format!("cannot read an uploaded table: {e}"))
                })?;
                read_header(std::io::BufReader::new(f), limits)
                    .map_err(|e| reader_error(&spec.name, &e))?
            };
            let table = upload_table(&spec.name, header)?;
            Ok(UploadTable {
                table,
                file,
                max_rows: limits.max_rows,
            })
        })
        .collect()
}

/// Fetch the VOTable of URL upload `name` into a file in `spool`: only from a host of
/// `limits.url_hosts` (so never from the server's own or private addresses unless listed),
/// without following redirects, within `limits.url_timeout` and `limits.max_bytes`. Errors
/// (DALI UsageError naming the upload and the URL): a host not listed, an unreachable host,
/// a status other than 200, a redirect, a timeout; more bytes than allowed (413).
fn fetch(name: &str, url: &str, limits: &UploadLimits, spool: &Path) -> Result<Part, VoError> {
    use std::io::{Read, Write};
    let uri: ureq::http::Uri = url
        .parse()
        .map_err(|e| VoError::usage(format!("UPLOAD={name},{url}: not a URL: {e}")))?;
    let host = uri.host().unwrap_or("").to_ascii_lowercase();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16();
    let allowed = limits.url_hosts.iter().any(|h| {
        let h = h.trim().to_ascii_lowercase();
        match h
            .rsplit_once(':')
            .filter(|(a, p)| !a.is_empty() && p.parse::<u16>().is_ok())
        {
            Some((a, p)) => {
                a.trim_start_matches('[').trim_end_matches(']') == host
                    && Some(p.parse::<u16>().ok()) == Some(port)
            }
            None => h.trim_start_matches('[').trim_end_matches(']') == host && port.is_none(),
        }
    });
    if !allowed {
        return Err(url_refused(name, url, limits));
    }
    let failed = |why: String| VoError::usage(format!("UPLOAD={name},{url}: {why}"));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(limits.url_timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Timeout(_) => failed(format!(
            "no answer within {} s, this service's limit",
            limits.url_timeout.as_secs_f64()
        )),
        other => failed(format!("cannot fetch it: {other}")),
    })?;
    let status = resp.status().as_u16();
    if status != 200 {
        let why = if (300..400).contains(&status) {
            format!("it redirects (HTTP {status}): give the URL it leads to")
        } else {
            format!("the server answers HTTP {status}")
        };
        return Err(failed(why));
    }
    std::fs::create_dir_all(spool)
        .map_err(|e| VoError::internal(format!("cannot make {}: {e}", spool.display())))?;
    let file = tempfile::Builder::new()
        .prefix(".url-")
        .tempfile_in(spool)
        .map_err(|e| VoError::internal(format!("cannot spool an upload: {e}")))?;
    let (mut out, path) = file.into_parts();
    let mut body = resp.body_mut().as_reader().take(limits.max_bytes + 1);
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = body.read(&mut buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::TimedOut
                || e.to_string().to_ascii_lowercase().contains("timeout")
            {
                failed(format!(
                    "not sent within {} s, this service's limit",
                    limits.url_timeout.as_secs_f64()
                ))
            } else {
                failed(format!("cannot read it: {e}"))
            }
        })?;
        if n == 0 {
            break;
        }
        size += n as u64;
        if size > limits.max_bytes {
            return Err(VoError::new(
                ErrorKind::TooLarge,
                format!(
                    "UPLOAD={name},{url}: larger than {} bytes, this service's limit",
                    limits.max_bytes
                ),
            ));
        }
        out.write_all(&buf[..n])
            .map_err(|e| VoError::internal(format!("cannot spool an upload: {e}")))?;
    }
    Part::spooled(name, path)
}

/// Why a URL upload is refused (URL fetching is allowed only to listed hosts).
fn url_refused(name: &str, url: &str, limits: &UploadLimits) -> VoError {
    let why = if limits.url_hosts.is_empty() {
        "this service fetches no URL uploads; send the VOTable inline (UPLOAD=name,param:part \
         with a multipart/form-data POST), or ask its operator to list the host in \
         [tap] upload_url_hosts"
            .to_string()
    } else {
        format!(
            "its host is not one this service fetches from ({}); send the VOTable inline \
             (UPLOAD=name,param:part with a multipart/form-data POST)",
            limits.url_hosts.join(", ")
        )
    };
    VoError::usage(format!("UPLOAD={name},{url}: {why}"))
}

/// The error of the VOTable reader for upload `name`: over a limit (413), or bad (400).
fn reader_error(name: &str, why: &str) -> VoError {
    let kind = if why.starts_with("the table has more than") {
        ErrorKind::TooLarge
    } else {
        ErrorKind::Usage
    };
    VoError::new(kind, format!("UPLOAD TAP_UPLOAD.{name}: {why}"))
}

fn read_header(input: impl BufRead, limits: &UploadLimits) -> Result<Vec<FieldMeta>, String> {
    let reader = VotableReader::new(
        input,
        ReadLimits {
            max_rows: limits.max_rows,
            max_columns: limits.max_columns,
        },
    )
    .map_err(|e| {
        if e.starts_with("the table has more than") {
            e
        } else {
            format!("not a VOTable table vogate can read: {e}")
        }
    })?;
    Ok(reader.fields().to_vec())
}

/// The table `TAP_UPLOAD.name` of the FIELDs `fields` (see [`prepare_uploads`]).
fn upload_table(name: &str, fields: Vec<FieldMeta>) -> Result<TableInfo, VoError> {
    let mut columns: Vec<ColumnInfo> = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        if f.name.is_empty() {
            return Err(VoError::usage(format!(
                "UPLOAD {name}: FIELD {} has an empty name",
                i + 1
            )));
        }
        if fields[..i].iter().any(|g| g.name == f.name) {
            return Err(VoError::usage(format!(
                "UPLOAD {name}: two FIELDs are named '{}'",
                f.name
            )));
        }
    }
    for f in &fields {
        let twin = fields
            .iter()
            .any(|g| g.name != f.name && g.name.eq_ignore_ascii_case(&f.name));
        let regular = is_regular_identifier(&f.name) && !vo_adql::parser::is_reserved(&f.name);
        let published = if regular && !twin {
            f.name.clone()
        } else {
            format!("\"{}\"", f.name)
        };
        let mut field = f.clone();
        field.id = None;
        // arraysize="1" is a scalar (deprecated since VOTable 1.3 Erratum 3).
        if field.arraysize.as_deref().map(str::trim) == Some("1") {
            field.arraysize = None;
        }
        columns.push(ColumnInfo {
            name: published,
            field,
        });
    }
    let position = position_of(&columns);
    Ok(TableInfo {
        schema: Some(vo_adql::UPLOAD_SCHEMA.to_string()),
        name: name.to_string(),
        columns,
        position,
    })
}

/// The published names of the (ra, dec) columns: numeric scalars with UCD `pos.eq.ra` /
/// `pos.eq.dec`, those also `meta.main` first.
fn position_of(columns: &[ColumnInfo]) -> Option<(String, String)> {
    let pick = |word: &str| {
        let candidates: Vec<&ColumnInfo> = columns
            .iter()
            .filter(|c| {
                let f = &c.field;
                let ucd = f.ucd.as_deref().unwrap_or("").to_ascii_lowercase();
                ucd.split(';').any(|u| u.trim() == word)
                    && matches!(f.datatype.as_str(), "double" | "float")
                    && f.arraysize.is_none()
            })
            .collect();
        candidates
            .iter()
            .find(|c| {
                c.field
                    .ucd
                    .as_deref()
                    .is_some_and(|u| u.to_ascii_lowercase().contains("meta.main"))
            })
            .or(candidates.first())
            .map(|c| c.name.clone())
    };
    Some((pick("pos.eq.ra")?, pick("pos.eq.dec")?))
}

/// Where an uploaded table's VOTable comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadSource {
    /// `param:PART`: the multipart part named PART.
    Param(String),
    /// An `http` or `https` URL.
    Url(String),
}

/// One uploaded table: its name under `TAP_UPLOAD` and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadSpec {
    /// The table name (a regular ADQL identifier), as given.
    pub name: String,
    /// Where its VOTable is.
    pub source: UploadSource,
}

/// Whether `name` is a regular ADQL identifier (ADQL 2.1 §2.1.3: a letter, then letters,
/// digits and underscores), the names an upload may have.
pub fn is_regular_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The uploads of the UPLOAD parameter values `values` (each `name,URI[;name,URI...]`).
/// Errors (DALI UsageError, naming the value at fault): a pair without a comma, a name that
/// is not a regular identifier, two uploads of one name (names compare in any case, as ADQL's
/// do), an empty `param:`, a URI that is neither `param:` nor an http(s) URL.
pub fn parse_upload<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<UploadSpec>, VoError> {
    let mut out: Vec<UploadSpec> = Vec::new();
    for value in values {
        for pair in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((name, uri)) = pair.split_once(',') else {
                return Err(VoError::usage(format!(
                    "UPLOAD={pair}: give the table name and where it is, as name,param:PART or name,URL"
                )));
            };
            let (name, uri) = (name.trim(), uri.trim());
            if !is_regular_identifier(name) {
                return Err(VoError::usage(format!(
                    "UPLOAD: the table name '{name}' is not an identifier (a letter, then letters, digits or _)"
                )));
            }
            if out.iter().any(|u| u.name.eq_ignore_ascii_case(name)) {
                return Err(VoError::usage(format!(
                    "UPLOAD: two tables are named '{name}' (TAP_UPLOAD names compare in any case)"
                )));
            }
            let source = if let Some(part) = uri.strip_prefix("param:") {
                if part.is_empty() {
                    return Err(VoError::usage(format!(
                        "UPLOAD={pair}: param: names no part of the request"
                    )));
                }
                UploadSource::Param(part.to_string())
            } else if has_scheme(uri, "http") || has_scheme(uri, "https") {
                UploadSource::Url(uri.to_string())
            } else {
                return Err(VoError::usage(format!(
                    "UPLOAD={pair}: '{uri}' is neither param:PART (a part of a multipart/form-data request) nor an http or https URL"
                )));
            };
            out.push(UploadSpec {
                name: name.to_string(),
                source,
            });
        }
    }
    Ok(out)
}

/// Whether `uri` starts with `scheme://` (scheme in any case).
fn has_scheme(uri: &str, scheme: &str) -> bool {
    uri.len() > scheme.len() + 3
        && uri[..scheme.len()].eq_ignore_ascii_case(scheme)
        && uri[scheme.len()..].starts_with("://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_in_one_value_and_in_several() {
        let got = parse_upload([
            "a,param:a;b , https://example.test/t.xml",
            " mine,param:upload1 ",
        ])
        .expect("valid");
        assert_eq!(
            got,
            [
                UploadSpec {
                    name: "a".into(),
                    source: UploadSource::Param("a".into())
                },
                UploadSpec {
                    name: "b".into(),
                    source: UploadSource::Url("https://example.test/t.xml".into())
                },
                UploadSpec {
                    name: "mine".into(),
                    source: UploadSource::Param("upload1".into())
                },
            ]
        );
        assert_eq!(parse_upload([""]).expect("none"), []);
        assert!(parse_upload(["t,HTTP://h/x"]).is_ok());
    }

    #[test]
    fn bad_uploads_are_named() {
        for (value, want) in [
            ("t", "give the table name and where it is"),
            ("1t,param:t", "the table name '1t' is not an identifier"),
            ("my table,param:t", "'my table' is not an identifier"),
            ("_t,param:t", "'_t' is not an identifier"),
            ("t,param:a;T,param:b", "two tables are named 'T'"),
            ("t,param:", "param: names no part"),
            ("t,ftp://h/x", "'ftp://h/x' is neither param:PART"),
            ("t,file:///etc/passwd", "is neither param:PART"),
            ("t,http://", "is neither param:PART"),
        ] {
            let e = parse_upload([value]).expect_err(value);
            assert!(e.message.contains(want), "{value}: {}", e.message);
            assert_eq!(e.kind, vo_common::ErrorKind::Usage);
        }
    }
}

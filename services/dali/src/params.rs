//! DALI 1.1 §3.1 request parameters: from the query string (GET) and from an
//! `application/x-www-form-urlencoded` or `multipart/form-data` body (POST), in that order.
//! Names are compared case-insensitively; values are kept as given. Decoding is strict: a
//! malformed escape or a name or value that is not UTF-8 is an error naming the parameter,
//! never a silently replaced character.
//!
//! A `multipart/form-data` body (RFC 7578, as TOPCAT, STILTS and pyvo send TAP uploads) gives
//! its parts without a file name as parameters, and its file parts as [`Part`]s: spooled to
//! files, never held in memory, within the limits of [`PartLimits`] (DALI 1.1 §3.4.5).

use actix_web::{web, HttpRequest};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vo_common::{ErrorKind, VoError};

/// The largest POST body accepted, bytes (a larger one is refused with HTTP 413); in a
/// multipart body, the most bytes of its parameters (its parts without a file name).
pub const MAX_BODY: usize = 1 << 20;

/// Where and how large the file parts of a `multipart/form-data` request may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartLimits {
    /// The folder the parts are spooled to (made when missing).
    pub dir: PathBuf,
    /// The most bytes of all file parts of one request together; a larger body is refused
    /// with HTTP 413 (before any of it is read when its Content-Length says so).
    pub max_bytes: u64,
}

/// One file part of a `multipart/form-data` request (RFC 7578 §4.2: a part with a
/// `filename`, or of a media type other than text/plain): its bytes are in a file, a spooled
/// one (removed when the last clone is dropped) or one kept elsewhere (a job's).
#[derive(Debug, Clone)]
pub struct Part {
    /// The part's name (its Content-Disposition `name`), as given.
    pub name: String,
    /// Its size, bytes.
    pub size: u64,
    path: PathBuf,
    /// The spooled file, removed when the last clone of the part is dropped.
    _spool: Option<Arc<tempfile::TempPath>>,
}

impl Part {
    /// The part of `name` whose bytes are the file `path`, which stays when the part is
    /// dropped. Errors: the file cannot be read.
    pub fn kept(name: &str, path: PathBuf) -> Result<Part, VoError> {
        Ok(Part {
            name: name.to_string(),
            size: file_size(&path)?,
            path,
            _spool: None,
        })
    }

    /// The part of `name` whose bytes are the spooled file `path`, removed when the last
    /// clone of the part is dropped. Errors: the file cannot be read.
    pub fn spooled(name: &str, path: tempfile::TempPath) -> Result<Part, VoError> {
        Ok(Part {
            name: name.to_string(),
            size: file_size(&path)?,
            path: path.to_path_buf(),
            _spool: Some(Arc::new(path)),
        })
    }

    /// The file holding the part's bytes.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The size of the file `path`, bytes. Errors: it cannot be read.
fn file_size(path: &Path) -> Result<u64, VoError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| VoError::internal(format!("cannot read {}: {e}", path.display())))
}

impl PartialEq for Part {
    fn eq(&self, other: &Part) -> bool {
        self.name == other.name && self.path == other.path
    }
}

impl Eq for Part {}

/// The parameters of one request, in the order given, and its file parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
    parts: Vec<Part>,
}

/// Decode an `application/x-www-form-urlencoded` string (a query string or a form body):
/// `+` is a space, `%XX` a byte. Errors name the parameter whose name or value is not valid
/// UTF-8 or has a malformed escape, rather than silently replacing characters.
pub fn decode_form(s: &str) -> Result<Vec<(String, String)>, VoError> {
    fn decode(part: &str) -> Option<String> {
        let b = part.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = part.get(i + 1..i + 3)?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    let mut pairs = Vec::new();
    for item in s.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        let name = decode(k).ok_or_else(|| {
            VoError::usage(format!(
                "parameter name '{k}' is not valid percent-encoded UTF-8"
            ))
        })?;
        let value = decode(v).ok_or_else(|| {
            VoError::usage(format!(
                "the value of parameter {name} is not valid percent-encoded UTF-8"
            ))
        })?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

impl Params {
    /// Parameters from decoded (name, value) pairs.
    pub fn new(pairs: Vec<(String, String)>) -> Params {
        Params {
            pairs,
            parts: Vec::new(),
        }
    }

    /// These parameters with the file parts `parts`.
    pub fn with_parts(mut self, parts: Vec<Part>) -> Params {
        self.parts = parts;
        self
    }

    /// The file parts of a `multipart/form-data` request, in the order given.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The file part named `name` (exactly: RFC 7578 names are case-sensitive).
    pub fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// Take the file parts out (for a job that keeps them).
    pub fn take_parts(&mut self) -> Vec<Part> {
        std::mem::take(&mut self.parts)
    }

    /// The parameters of a query string.
    pub fn from_query(query: &str) -> Result<Params, VoError> {
        decode_form(query).map(Params::new)
    }

    /// The parameters of a request: its query string, then (for a POST) its form body, read
    /// up to [`MAX_BODY`] bytes, or its `multipart/form-data` body, whose file parts are
    /// spooled within `parts` (`None`: the service takes no files, and a file part is
    /// refused). Errors: a body too large (413), a body that is not UTF-8 or not well-formed
    /// multipart, a body of another media type (415), a file part where none is taken.
    pub async fn from_request(
        req: &HttpRequest,
        payload: Option<web::Payload>,
        parts: Option<&PartLimits>,
    ) -> Result<Params, VoError> {
        use futures_util::StreamExt;
        let mut params = Params::from_query(req.query_string())?;
        let Some(mut payload) = payload else {
            return Ok(params);
        };
        let content_type = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if content_type.starts_with("multipart/form-data") {
            let most = parts.map_or(0, |p| p.max_bytes) + MAX_BODY as u64;
            if declared > most {
                return Err(too_large(most, Some(declared)));
            }
            let (pairs, files) = read_multipart(req, payload, parts).await?;
            params.pairs.extend(pairs);
            params.parts = files;
            return Ok(params);
        }
        if declared > MAX_BODY as u64 {
            // Refused before any of it is read.
            return Err(too_large(MAX_BODY as u64, Some(declared)));
        }
        let form = content_type.is_empty()
            || content_type.starts_with("application/x-www-form-urlencoded");
        if !form && declared > 0 {
            return Err(VoError::new(
                ErrorKind::UnsupportedMediaType,
                format!(
                    "a request body of type {content_type} is not understood: send the \
                     parameters as application/x-www-form-urlencoded or multipart/form-data"
                ),
            ));
        }
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            match chunk {
                Ok(c) if body.len() + c.len() <= MAX_BODY => body.extend_from_slice(&c),
                Ok(_) => return Err(too_large(MAX_BODY as u64, None)),
                Err(e) => return Err(VoError::usage(format!("cannot read the request body: {e}"))),
            }
        }
        let text = std::str::from_utf8(&body)
            .map_err(|_| VoError::usage("the request body is not UTF-8 text"))?;
        params.pairs.extend(decode_form(text)?);
        Ok(params)
    }

    /// Every (name, value) pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The values of parameter `name` (any case), in order.
    pub fn all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.pairs
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of the single-valued parameter `name`, if given. Errors: given more than
    /// once (DALI 1.1 §3.1), naming it and how often.
    pub fn single(&self, name: &str) -> Result<Option<&str>, VoError> {
        let mut found = self.all(name);
        let first = found.next();
        let extra = found.count();
        if extra > 0 {
            return Err(VoError::usage(format!(
                "parameter {name} is given {} times; it takes one value",
                extra + 1
            )));
        }
        Ok(first)
    }
}

/// The error of a body over `most` bytes (HTTP 413), with its declared length if known.
fn too_large(most: u64, declared: Option<u64>) -> VoError {
    let declared = declared.map_or(String::new(), |d| format!(" (Content-Length {d})"));
    VoError::new(
        ErrorKind::TooLarge,
        format!("the request body is larger than {most} bytes{declared}"),
    )
}

/// Read a `multipart/form-data` body: its parameters (parts without a file name, UTF-8, at
/// most [`MAX_BODY`] bytes together) and its file parts, spooled to files in `limits.dir`
/// (at most `limits.max_bytes` together).
async fn read_multipart(
    req: &HttpRequest,
    payload: web::Payload,
    limits: Option<&PartLimits>,
) -> Result<(Vec<(String, String)>, Vec<Part>), VoError> {
    use futures_util::StreamExt;
    use std::io::Write;
    let bad = |e: actix_multipart::MultipartError| {
        VoError::usage(format!(
            "the multipart/form-data body is not well-formed: {e}"
        ))
    };
    let mut form = actix_multipart::Multipart::new(req.headers(), payload);
    let mut pairs = Vec::new();
    let mut files: Vec<Part> = Vec::new();
    let (mut text_bytes, mut file_bytes) = (0usize, 0u64);
    while let Some(field) = form.next().await {
        let mut field = field.map_err(bad)?;
        let (name, filename) = match field.content_disposition() {
            Some(cd) => (
                cd.get_name().map(str::to_string),
                cd.get_filename().map(str::to_string),
            ),
            None => (None, None),
        };
        let name = name.ok_or_else(|| {
            VoError::usage("a part of the multipart/form-data body has no name (RFC 7578 §4.2)")
        })?;
        // A parameter is a part without a file name, of no type or of a text/plain type; any
        // other part (a VOTable sent without a file name too) is a file.
        let is_file = filename.is_some()
            || field
                .content_type()
                .is_some_and(|t| t.essence_str() != "text/plain");
        if !is_file {
            let mut value = Vec::new();
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(bad)?;
                text_bytes += chunk.len();
                if text_bytes > MAX_BODY {
                    return Err(VoError::new(
                        ErrorKind::TooLarge,
                        format!(
                            "the parameters of the multipart/form-data body are larger than \
                             {MAX_BODY} bytes: send a large value as a file part"
                        ),
                    ));
                }
                value.extend_from_slice(&chunk);
            }
            let value = String::from_utf8(value).map_err(|_| {
                VoError::usage(format!("the value of parameter {name} is not UTF-8 text"))
            })?;
            pairs.push((name, value));
            continue;
        }
        let Some(limits) = limits else {
            return Err(VoError::usage(format!(
                "the part '{name}' is a file: this service takes no files"
            )));
        };
        std::fs::create_dir_all(&limits.dir)
            .map_err(|e| VoError::internal(format!("cannot make {}: {e}", limits.dir.display())))?;
        let spool = tempfile::Builder::new()
            .prefix(".part-")
            .tempfile_in(&limits.dir)
            .map_err(|e| VoError::internal(format!("cannot spool an uploaded part: {e}")))?;
        let (mut file, path) = spool.into_parts();
        let mut size = 0u64;
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(bad)?;
            size += chunk.len() as u64;
            file_bytes += chunk.len() as u64;
            if file_bytes > limits.max_bytes {
                return Err(VoError::new(
                    ErrorKind::TooLarge,
                    format!(
                        "the uploaded files are larger than {} bytes, this service's limit \
                         (see its capabilities)",
                        limits.max_bytes
                    ),
                ));
            }
            file.write_all(&chunk)
                .map_err(|e| VoError::internal(format!("cannot spool an uploaded part: {e}")))?;
        }
        file.flush()
            .map_err(|e| VoError::internal(format!("cannot spool an uploaded part: {e}")))?;
        files.push(Part {
            name,
            size,
            path: path.to_path_buf(),
            _spool: Some(Arc::new(path)),
        });
    }
    Ok((pairs, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_is_strict_and_names_the_parameter() {
        let p = Params::from_query("QUERY=SELECT+1%2B1&lang=ADQL&&empty=&flag").expect("ok");
        assert_eq!(p.single("query"), Ok(Some("SELECT 1+1")));
        assert_eq!(p.single("LANG"), Ok(Some("ADQL")));
        assert_eq!(p.single("EMPTY"), Ok(Some("")));
        assert_eq!(p.single("flag"), Ok(Some("")));
        assert_eq!(p.single("missing"), Ok(None));
        let e = Params::from_query("QUERY=%ZZ").expect_err("an error");
        assert_eq!(
            e.message,
            "the value of parameter QUERY is not valid percent-encoded UTF-8"
        );
        let e = Params::from_query("QUERY=%C3%28").expect_err("an error");
        assert!(e.message.contains("parameter QUERY"), "{}", e.message);
        let e = Params::from_query("%FF=1").expect_err("an error");
        assert_eq!(
            e.message,
            "parameter name '%FF' is not valid percent-encoded UTF-8"
        );
        let p = Params::from_query("ID=a&id=b&Id=c").expect("ok");
        assert_eq!(p.all("ID").collect::<Vec<_>>(), vec!["a", "b", "c"]);
        assert_eq!(
            p.single("ID").expect_err("an error").message,
            "parameter ID is given 3 times; it takes one value"
        );
    }
}

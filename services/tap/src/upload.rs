//! TAP UPLOAD (TAP 1.1 §2.5.6, DALI 1.1 §3.4.5): which tables a request uploads, and from
//! where.
//!
//! `UPLOAD=name,URI` names a table `TAP_UPLOAD.name` and where its VOTable is: `param:PART`,
//! the part of a `multipart/form-data` request named PART (an inline upload), or an `http` or
//! `https` URL. Several uploads are separated by `;` in one value, or given as several UPLOAD
//! parameters (DALI 1.1 allows both).

use vo_common::VoError;

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

//! DALI 1.1 §3.1 request parameters: from the query string (GET) and from an
//! `application/x-www-form-urlencoded` body (POST), in that order. Names are compared
//! case-insensitively; values are kept as given. Decoding is strict: a malformed escape or a
//! name or value that is not UTF-8 is an error naming the parameter, never a silently
//! replaced character.

use actix_web::{web, HttpRequest};
use vo_common::{ErrorKind, VoError};

/// The largest POST body accepted, bytes (a larger one is refused with HTTP 413).
pub const MAX_BODY: usize = 1 << 20;

/// The parameters of one request, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
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
        Params { pairs }
    }

    /// The parameters of a query string.
    pub fn from_query(query: &str) -> Result<Params, VoError> {
        decode_form(query).map(Params::new)
    }

    /// The parameters of a request: its query string, then (for a POST) its form body, read
    /// up to [`MAX_BODY`] bytes. Errors: a body too large (413), a body that is not UTF-8, a
    /// `multipart/form-data` body (`multipart` names what the service does not take yet).
    pub async fn from_request(
        req: &HttpRequest,
        payload: Option<web::Payload>,
        multipart: &str,
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
        if content_type.starts_with("multipart/") {
            return Err(VoError::usage(format!(
                "multipart/form-data requests ({multipart}) are not supported yet; send application/x-www-form-urlencoded"
            )));
        }
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if declared > MAX_BODY as u64 {
            // Refused before any of it is read.
            return Err(VoError::new(
                ErrorKind::TooLarge,
                format!(
                    "the request body is larger than {MAX_BODY} bytes (Content-Length {declared})"
                ),
            ));
        }
        let form = content_type.is_empty()
            || content_type.starts_with("application/x-www-form-urlencoded");
        if !form && declared > 0 {
            return Err(VoError::new(
                ErrorKind::UnsupportedMediaType,
                format!(
                    "a request body of type {content_type} is not understood: send the \
                     parameters as application/x-www-form-urlencoded"
                ),
            ));
        }
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            match chunk {
                Ok(c) if body.len() + c.len() <= MAX_BODY => body.extend_from_slice(&c),
                Ok(_) => {
                    return Err(VoError::new(
                        ErrorKind::TooLarge,
                        format!("the request body is larger than {MAX_BODY} bytes"),
                    ))
                }
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

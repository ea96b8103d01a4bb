//! DALI 1.1 parameters of a TAP 1.1 query (TAP 1.1 §2.3, DALI 1.1 §3).
//!
//! Parameter names are case-insensitive, values are not (except where TAP says so: LANG and
//! REQUEST are compared case-insensitively here as most services do). A single-valued
//! parameter given more than once is an error (DALI 1.1 §3.1).

use vo_common::{Format, VoError};

/// A checked TAP query request.
#[derive(Debug, Clone, PartialEq)]
pub struct TapRequest {
    /// The ADQL text.
    pub query: String,
    /// LANG as given (`ADQL`, `ADQL-2.0` or `ADQL-2.1`).
    pub lang: String,
    /// MAXREC, if given: the most rows to return (0 returns metadata only).
    pub maxrec: Option<u64>,
    /// The output format (RESPONSEFORMAT, or its alias FORMAT; VOTable by default).
    pub format: Format,
}

/// The languages accepted in LANG.
pub const LANGS: [&str; 3] = ["ADQL", "ADQL-2.0", "ADQL-2.1"];

fn single<'a>(params: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, VoError> {
    let mut found = params
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str());
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

/// Parse the (name, value) pairs of a query string and/or form body into a request. Errors
/// name the parameter and the value at fault.
pub fn parse_tap_request(params: &[(String, String)]) -> Result<TapRequest, VoError> {
    if let Some(r) = single(params, "REQUEST")? {
        if !r.eq_ignore_ascii_case("doQuery") {
            return Err(VoError::usage(format!(
                "REQUEST={r} is not supported: the only request is doQuery"
            )));
        }
    }
    let lang =
        single(params, "LANG")?.ok_or_else(|| VoError::usage("LANG is missing: use LANG=ADQL"))?;
    if !LANGS.iter().any(|l| l.eq_ignore_ascii_case(lang.trim())) {
        return Err(VoError::usage(format!(
            "LANG={lang} is not supported: use LANG=ADQL (ADQL-2.0 and ADQL-2.1 are accepted too)"
        )));
    }
    let query = single(params, "QUERY")?
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| VoError::usage("QUERY is missing or empty: give an ADQL query"))?;
    let maxrec = match single(params, "MAXREC")? {
        None => None,
        Some(m) => Some(m.trim().parse::<u64>().map_err(|e| {
            let why = if matches!(e.kind(), std::num::IntErrorKind::PosOverflow) {
                "is too large: the largest MAXREC honoured is given in /tap/capabilities"
            } else {
                "is not a non-negative integer"
            };
            VoError::usage(format!("MAXREC={m} {why}"))
        })?),
    };
    let format = match single(params, "RESPONSEFORMAT")?.or(single(params, "FORMAT")?) {
        Some(f) => Format::from_param(f)?,
        None => Format::VotableTabledata,
    };
    if single(params, "UPLOAD")?.is_some() {
        return Err(VoError::usage("UPLOAD is not supported yet"));
    }
    Ok(TapRequest {
        query: query.to_string(),
        lang: lang.trim().to_string(),
        maxrec,
        format,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn forms_decode_strictly() {
        let pairs = decode_form("LANG=ADQL&QUERY=SELECT+%2A+FROM+t%C3%A9&&flag").expect("valid");
        assert_eq!(
            pairs,
            p(&[
                ("LANG", "ADQL"),
                ("QUERY", "SELECT * FROM té"),
                ("flag", "")
            ])
        );
        let e = decode_form("QUERY=caf%E9").expect_err("latin-1");
        assert!(e.message.contains("parameter QUERY"), "{}", e.message);
        assert!(decode_form("QUERY=%zz").is_err());
        assert!(decode_form("QUERY=%4").is_err());
    }

    #[test]
    fn names_are_case_insensitive() {
        let r = parse_tap_request(&p(&[
            ("request", "doQuery"),
            ("lang", "adql-2.1"),
            ("Query", "SELECT 1"),
            ("maxrec", "7"),
            ("format", "json"),
        ]))
        .expect("valid");
        assert_eq!(r.maxrec, Some(7));
        assert_eq!(r.format, Format::Json);
        assert_eq!(r.query, "SELECT 1");
    }

    #[test]
    fn bad_parameters_are_named() {
        let cases: [(&[(&str, &str)], &str); 7] = [
            (&[("LANG", "ADQL")], "QUERY is missing"),
            (
                &[("LANG", "SQL"), ("QUERY", "x")],
                "LANG=SQL is not supported",
            ),
            (&[("QUERY", "x")], "LANG is missing"),
            (
                &[("LANG", "ADQL"), ("QUERY", "x"), ("MAXREC", "-1")],
                "MAXREC=-1",
            ),
            (
                &[
                    ("LANG", "ADQL"),
                    ("QUERY", "x"),
                    ("REQUEST", "getCapabilities"),
                ],
                "REQUEST=getCapabilities",
            ),
            (
                &[("LANG", "ADQL"), ("QUERY", "x"), ("query", "y")],
                "QUERY is given 2 times",
            ),
            (
                &[("LANG", "ADQL"), ("QUERY", "x"), ("RESPONSEFORMAT", "fits")],
                "RESPONSEFORMAT 'fits'",
            ),
        ];
        for (params, want) in cases {
            let e = parse_tap_request(&p(params)).expect_err(want);
            assert!(e.message.contains(want), "{} vs {want}", e.message);
            assert_eq!(e.http_status(), 400);
        }
    }
}

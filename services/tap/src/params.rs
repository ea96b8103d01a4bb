//! DALI 1.1 parameters of a TAP 1.1 query (TAP 1.1 §2.3, DALI 1.1 §3).
//!
//! Parameter names are case-insensitive, values are not (except where TAP says so: LANG and
//! REQUEST are compared case-insensitively here as most services do). A single-valued
//! parameter given more than once is an error (DALI 1.1 §3.1).

use vo_common::{Format, VoError};
use vo_dali::{response_format, Params};

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
    /// The tables UPLOAD names (TAP 1.1 §2.5.6), in order.
    pub uploads: Vec<crate::upload::UploadSpec>,
}

/// The languages accepted in LANG.
pub const LANGS: [&str; 3] = ["ADQL", "ADQL-2.0", "ADQL-2.1"];

/// The output formats of TAP queries.
pub const FORMATS: &[Format] = Format::ALL;

/// Parse the parameters of a query string and/or form body into a request. Errors name the
/// parameter and the value at fault.
pub fn parse_tap_request(params: &Params) -> Result<TapRequest, VoError> {
    if let Some(r) = params.single("REQUEST")? {
        if !r.eq_ignore_ascii_case("doQuery") {
            return Err(VoError::usage(format!(
                "REQUEST={r} is not supported: the only request is doQuery"
            )));
        }
    }
    let lang = params
        .single("LANG")?
        .ok_or_else(|| VoError::usage("LANG is missing: use LANG=ADQL"))?;
    if !LANGS.iter().any(|l| l.eq_ignore_ascii_case(lang.trim())) {
        return Err(VoError::usage(format!(
            "LANG={lang} is not supported: use LANG=ADQL (ADQL-2.0 and ADQL-2.1 are accepted too)"
        )));
    }
    let query = params
        .single("QUERY")?
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| VoError::usage("QUERY is missing or empty: give an ADQL query"))?;
    let maxrec = match params.single("MAXREC")? {
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
    let format = response_format(
        params,
        &["RESPONSEFORMAT", "FORMAT"],
        Format::VotableTabledata,
        FORMATS,
    )?;
    let uploads = crate::upload::parse_upload(params.all("UPLOAD"))?;
    Ok(TapRequest {
        query: query.to_string(),
        lang: lang.trim().to_string(),
        maxrec,
        format,
        uploads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        Params::new(
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        )
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
                &[("LANG", "ADQL"), ("QUERY", "x"), ("RESPONSEFORMAT", "hdf5")],
                "RESPONSEFORMAT 'hdf5'",
            ),
        ];
        for (params, want) in cases {
            let e = parse_tap_request(&p(params)).expect_err(want);
            assert!(e.message.contains(want), "{} vs {want}", e.message);
            assert_eq!(vo_dali::status(e.kind).as_u16(), 400);
        }
    }
}

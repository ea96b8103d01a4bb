//! RESPONSEFORMAT (DALI 1.1 §3.1.5): the output format a client asks for, by MIME type or
//! short name, with the service's default when it asks for none.

use crate::params::Params;
use vo_common::{Format, VoError};

/// The format asked for by the first of `names` present in `params` (each single-valued),
/// e.g. `["RESPONSEFORMAT", "FORMAT"]` for TAP 1.1 §2.3.6's alias; `default` when none is
/// given or the value is empty; only `allowed` formats are accepted. Errors name the value
/// and what is available.
pub fn response_format(
    params: &Params,
    names: &[&str],
    default: Format,
    allowed: &[Format],
) -> Result<Format, VoError> {
    for name in names {
        if let Some(value) = params.single(name)? {
            if value.trim().is_empty() {
                return Ok(default);
            }
            let format = Format::from_param(value)?;
            if !allowed.contains(&format) {
                return Err(VoError::usage(format!(
                    "{name}={value} is not available here; use one of: {}",
                    allowed
                        .iter()
                        .map(|f| f.content_type())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            return Ok(format);
        }
    }
    Ok(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn names_values_defaults_and_refusals() {
        let all = [
            Format::VotableTabledata,
            Format::Json,
            Format::Csv,
            Format::Tsv,
        ];
        let names = ["RESPONSEFORMAT", "FORMAT"];
        let f = |p: &[(&str, &str)]| {
            response_format(&params(p), &names, Format::VotableTabledata, &all)
        };
        assert_eq!(f(&[]), Ok(Format::VotableTabledata));
        assert_eq!(f(&[("responseformat", "csv")]), Ok(Format::Csv));
        assert_eq!(f(&[("FORMAT", "application/json")]), Ok(Format::Json));
        assert_eq!(f(&[("RESPONSEFORMAT", "")]), Ok(Format::VotableTabledata));
        assert!(f(&[("RESPONSEFORMAT", "csv"), ("responseFormat", "tsv")])
            .expect_err("an error")
            .message
            .contains("given 2 times"));
        assert!(f(&[("RESPONSEFORMAT", "image/png")]).is_err());
        let votable_only = response_format(
            &params(&[("RESPONSEFORMAT", "json")]),
            &["RESPONSEFORMAT"],
            Format::VotableTabledata,
            &[Format::VotableTabledata],
        )
        .expect_err("an error");
        assert_eq!(
            votable_only.message,
            "RESPONSEFORMAT=json is not available here; use one of: application/x-votable+xml"
        );
    }
}

//! UCD checks against the UCD1+ controlled vocabulary (IVOA UCDlist 1.6, `ucd1p-words.txt`),
//! as Felis makes them (astropy's `parse_ucd` with the controlled vocabulary): words are
//! separated by `;`; each is `namespace:word` or `word` (namespace `ivoa`); a word is
//! letters, digits, `-` and `_` in `.`-separated parts; in the `ivoa` namespace the first
//! word must be one that may stand first (codes P, Q, E, C, V) and the others ones that may
//! follow (S, Q, E, C, V), matched without regard to case.

use std::collections::HashMap;
use std::sync::OnceLock;

const WORDS: &str = include_str!("ucd1p-words.txt");

/// Lower-case word -> syntax code.
fn vocabulary() -> &'static HashMap<String, char> {
    static V: OnceLock<HashMap<String, char>> = OnceLock::new();
    V.get_or_init(|| {
        WORDS
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (code, word) = l.split_once(' ')?;
                Some((word.trim().to_ascii_lowercase(), code.chars().next()?))
            })
            .collect()
    })
}

/// Check a UCD. `has_colon`: namespaces (`ns:word`) are allowed; Felis allows them when the
/// UCD has a `;`. Errors: why it is not a valid UCD, in astropy's words.
pub fn check(ucd: &str, has_colon: bool) -> Result<(), String> {
    if let Some(c) = ucd.chars().find(|c| {
        !(c.is_ascii_alphanumeric()
            || matches!(c, '_' | '.' | ';' | '-')
            || (has_colon && *c == ':'))
    }) {
        return Err(format!("UCD has invalid character '{c}' in '{ucd}'"));
    }
    for (i, part) in ucd.split(';').enumerate() {
        let (ns, word) = match part.matches(':').count() {
            0 => ("ivoa".to_string(), part),
            1 => {
                let (ns, w) = part.split_once(':').unwrap_or(("", part));
                if !ns.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
                    return Err(format!("Invalid namespace '{ns}'"));
                }
                (ns.to_ascii_lowercase(), w)
            }
            _ => return Err(format!("Too many colons in '{part}'")),
        };
        // astropy matches the word pattern at the start of the word only.
        let head = word.split('.').next().unwrap_or("");
        if !(head
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric()))
        {
            return Err(format!("Invalid word '{word}'"));
        }
        if ns != "ivoa" {
            continue;
        }
        let code = vocabulary().get(&word.to_ascii_lowercase()).copied();
        let primary = code.is_some_and(|c| "QPEVC".contains(c));
        let secondary = code.is_some_and(|c| "QSEVC".contains(c));
        if i == 0 && !primary {
            return Err(if secondary {
                format!("Secondary word '{word}' is not valid as a primary word")
            } else {
                format!("Unknown word '{word}'")
            });
        }
        if i > 0 && !secondary {
            return Err(if primary {
                format!("Primary word '{word}' is not valid as a secondary word")
            } else {
                format!("Unknown word '{word}'")
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn ucds_are_checked_as_astropy_checks_them() {
        for ok in [
            "pos.eq.ra;meta.main",
            "POS.EQ.RA",
            "meta.id;src;meta.main",
            "phot.flux;em.opt.R",
            "time.epoch",
            "arith.zp;phot",
        ] {
            assert_eq!(check(ok, ok.contains(';')), Ok(()), "{ok}");
        }
        assert_eq!(
            check("meta.main", false),
            Err("Secondary word 'meta.main' is not valid as a primary word".into())
        );
        // Expected messages are astropy 7's (astropy.io.votable.ucd.parse_ucd).
        assert_eq!(check("pos.eq.ra;pos.eq.dec", true), Ok(()));
        assert_eq!(
            check("pos.eq.ra;arith.factor", true),
            Err("Primary word 'arith.factor' is not valid as a secondary word".into())
        );
        assert_eq!(
            check("foo.bar", false),
            Err("Unknown word 'foo.bar'".into())
        );
        assert_eq!(
            check("pos eq", false),
            Err("UCD has invalid character ' ' in 'pos eq'".into())
        );
        // A namespace needs has_colon; other namespaces are not checked.
        assert_eq!(
            check("custom:anything", false),
            Err("UCD has invalid character ':' in 'custom:anything'".into())
        );
        assert_eq!(check("pos.eq.ra;custom:anything", true), Ok(()));
    }
}

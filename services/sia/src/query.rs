//! SIA 2.0 query parameters (SIA 2.0 §2.2, REC 2015-12-23) into one ADQL query on
//! `ivoa.ObsCore`: each given parameter is a condition, its repeated values joined by OR, the
//! parameters by AND (§2.1). Positions are ICRS degrees, BAND metres, TIME MJD, FOV and
//! SPATRES degrees (ObsCore's s_resolution is in arcsec), EXPTIME seconds. Intervals are two
//! numbers (or one, for both ends), `-Inf`/`+Inf` open ends; a product matches when its range
//! meets the interval (for BAND and TIME) or its value lies in it (FOV, SPATRES, EXPTIME).
//!
//! POS CIRCLE and POLYGON match products whose footprint (s_region) intersects them; RANGE
//! is the polygon of its four corners (edges of constant latitude drawn as great circles, so
//! a wide range is slightly larger or smaller near its edges), or, when it spans all RA or
//! more than 180 degrees of it, the band of declination that products' covering circles
//! (s_dec ± s_fov/2) meet. Products without a footprint are those ingest found to cover more
//! than a hemisphere (s_fov 180 or more): every position matches them.

use vo_common::VoError;
use vo_dali::Params;

/// The SIA 2.0 parameters vogate answers (besides MAXREC and RESPONSEFORMAT, which TAP's
/// machinery takes).
pub const PARAMETERS: [&str; 15] = [
    "POS",
    "BAND",
    "TIME",
    "POL",
    "FOV",
    "SPATRES",
    "EXPTIME",
    "ID",
    "COLLECTION",
    "FACILITY",
    "INSTRUMENT",
    "DPTYPE",
    "CALIB",
    "TARGET",
    "FORMAT",
];

/// The polarization states of ObsCore's pol_states (ObsCore 1.1 §4.24).
const POL_STATES: [&str; 14] = [
    "I", "Q", "U", "V", "RR", "LL", "RL", "LR", "XX", "YY", "XY", "YX", "POLI", "POLA",
];

fn usage(message: String) -> VoError {
    VoError::usage(message)
}

/// A number of a parameter's value: finite, or ±Inf where `infinite` allows.
fn number(param: &str, word: &str, infinite: bool) -> Result<f64, VoError> {
    let v = match word.to_ascii_lowercase().as_str() {
        "-inf" | "-infinity" if infinite => f64::NEG_INFINITY,
        "+inf" | "inf" | "+infinity" | "infinity" if infinite => f64::INFINITY,
        _ => word
            .parse::<f64>()
            .map_err(|_| usage(format!("{param}: '{word}' is not a number")))?,
    };
    if v.is_nan() || (!infinite && v.is_infinite()) {
        return Err(usage(format!("{param}: '{word}' is not a finite number")));
    }
    Ok(v)
}

/// An ADQL numeric literal of `v` (finite).
fn lit(v: f64) -> String {
    format!("{v:?}").to_ascii_uppercase()
}

/// An ADQL string literal of `s`.
fn text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An interval value `lo hi` (or one number for both), ±Inf allowed. Errors: a count other
/// than 1 or 2, not a number, NaN, lower above upper.
fn interval(param: &str, value: &str) -> Result<(f64, f64), VoError> {
    let words: Vec<&str> = value.split_whitespace().collect();
    let (lo, hi) = match words.as_slice() {
        [v] => {
            let v = number(param, v, false)?;
            (v, v)
        }
        [a, b] => (number(param, a, true)?, number(param, b, true)?),
        _ => {
            return Err(usage(format!(
                "{param}: an interval is one or two numbers (lower upper), not {}",
                words.len()
            )))
        }
    };
    if lo > hi {
        return Err(usage(format!(
            "{param}: the interval {lo} .. {hi} is empty (lower above upper)"
        )));
    }
    Ok((lo, hi))
}

/// Products whose range `lo_col`..`hi_col` meets `lo`..`hi`.
fn overlap(lo_col: &str, hi_col: &str, (lo, hi): (f64, f64)) -> String {
    let mut c = Vec::new();
    if hi.is_finite() {
        c.push(format!("{lo_col} <= {}", lit(hi)));
    }
    if lo.is_finite() {
        c.push(format!("{hi_col} >= {}", lit(lo)));
    }
    if c.is_empty() {
        format!("{lo_col} IS NOT NULL")
    } else {
        c.join(" AND ")
    }
}

/// Products whose `col` × `scale` lies in `lo`..`hi`.
fn within(col: &str, (lo, hi): (f64, f64), scale: f64) -> String {
    let mut c = Vec::new();
    if lo.is_finite() {
        c.push(format!("{col} >= {}", lit(lo * scale)));
    }
    if hi.is_finite() {
        c.push(format!("{col} <= {}", lit(hi * scale)));
    }
    if c.is_empty() {
        format!("{col} IS NOT NULL")
    } else {
        c.join(" AND ")
    }
}

/// Products without a footprint that cover a hemisphere or more (see the module's text).
const ALL_SKY: &str = "(s_region IS NULL AND s_fov >= 180)";

/// The condition of one POS value.
fn pos(value: &str) -> Result<String, VoError> {
    let mut words = value.split_whitespace();
    let shape = words.next().unwrap_or("").to_ascii_uppercase();
    let rest: Vec<&str> = words.collect();
    let lat = |v: f64| -> Result<f64, VoError> {
        if (-90.0..=90.0).contains(&v) {
            Ok(v)
        } else {
            Err(usage(format!("POS: the latitude {v} is outside -90 .. 90")))
        }
    };
    match shape.as_str() {
        "CIRCLE" => {
            if rest.len() != 3 {
                return Err(usage(format!(
                    "POS: a CIRCLE takes 3 numbers (ra dec radius), not {}",
                    rest.len()
                )));
            }
            let ra = number("POS", rest[0], false)?;
            let dec = lat(number("POS", rest[1], false)?)?;
            let r = number("POS", rest[2], false)?;
            if !(r > 0.0 && r <= 180.0) {
                return Err(usage(format!("POS: the radius {r} is not in (0, 180]")));
            }
            Ok(format!(
                "(INTERSECTS(CIRCLE('ICRS', {}, {}, {}), s_region) = 1 OR {ALL_SKY})",
                lit(ra),
                lit(dec),
                lit(r)
            ))
        }
        "POLYGON" => {
            if rest.len() < 6 || !rest.len().is_multiple_of(2) {
                return Err(usage(format!(
                    "POS: a POLYGON takes an even number of values, at least 6 (ra dec of 3 or more vertices), not {}",
                    rest.len()
                )));
            }
            let mut coords = Vec::new();
            for (i, w) in rest.iter().enumerate() {
                let v = number("POS", w, false)?;
                coords.push(lit(if i % 2 == 1 { lat(v)? } else { v }));
            }
            Ok(format!(
                "(INTERSECTS(POLYGON('ICRS', {}), s_region) = 1 OR {ALL_SKY})",
                coords.join(", ")
            ))
        }
        "RANGE" => {
            if rest.len() != 4 {
                return Err(usage(format!(
                    "POS: a RANGE takes 4 numbers (ra1 ra2 dec1 dec2), not {}",
                    rest.len()
                )));
            }
            let v: Vec<f64> = rest
                .iter()
                .map(|w| number("POS", w, true))
                .collect::<Result<_, _>>()?;
            let (ra1, ra2) = (v[0], v[1]);
            let (dec1, dec2) = (v[2].max(-90.0), v[3].min(90.0));
            if dec1 > dec2 {
                return Err(usage(format!(
                    "POS: the declination range {dec1} .. {dec2} is empty"
                )));
            }
            let (ra1, ra2) = if ra1.is_finite() && ra2.is_finite() {
                (ra1.rem_euclid(360.0), ra2.rem_euclid(360.0))
            } else {
                (0.0, 360.0)
            };
            let width = if ra1 <= ra2 {
                ra2 - ra1
            } else {
                ra2 + 360.0 - ra1
            };
            if width >= 180.0 || ra1 == ra2 && v[0] != v[1] {
                // All RA (or more than half of it): the declination band.
                return Ok(format!(
                    "(s_dec + s_fov / 2 >= {} AND s_dec - s_fov / 2 <= {} OR {ALL_SKY})",
                    lit(dec1),
                    lit(dec2)
                ));
            }
            if width == 0.0 || dec1 == dec2 {
                return Err(usage(format!(
                    "POS: the range {} .. {} x {dec1} .. {dec2} has no area",
                    v[0], v[1]
                )));
            }
            // The corners; a bound at a pole is that pole (the sides through it are
            // meridians), so no two vertices coincide.
            let (south, north) = (dec1 <= -90.0, dec2 >= 90.0);
            let mut corners = Vec::with_capacity(4);
            if south {
                corners.push((0.0, -90.0));
            } else {
                corners.extend([(ra1, dec1), (ra2, dec1)]);
            }
            if south && north {
                corners.push((ra2, 0.0));
            }
            if north {
                corners.push((0.0, 90.0));
            } else {
                corners.extend([(ra2, dec2), (ra1, dec2)]);
            }
            if south && north {
                corners.push((ra1, 0.0));
            }
            let coords: Vec<String> = corners
                .iter()
                .flat_map(|&(a, d)| [lit(a), lit(d)])
                .collect();
            Ok(format!(
                "(INTERSECTS(POLYGON('ICRS', {}), s_region) = 1 OR {ALL_SKY})",
                coords.join(", ")
            ))
        }
        "" => Err(usage("POS: the value is empty".into())),
        other => Err(usage(format!(
            "POS: '{other}' is not a shape (CIRCLE, RANGE or POLYGON)"
        ))),
    }
}

/// The ADQL query of an SIA 2.0 request (`SELECT * FROM ivoa.ObsCore WHERE ...`, ordered by
/// obs_publisher_did). Errors: a UsageError naming the parameter and the value that is wrong.
pub fn adql(params: &Params) -> Result<String, VoError> {
    let mut and: Vec<String> = Vec::new();
    for name in PARAMETERS {
        let mut or: Vec<String> = Vec::new();
        for value in params.all(name) {
            let v = value.trim();
            or.push(match name {
                "POS" => pos(v)?,
                "BAND" => overlap("em_min", "em_max", interval(name, v)?),
                "TIME" => overlap("t_min", "t_max", interval(name, v)?),
                "FOV" => within("s_fov", interval(name, v)?, 1.0),
                // SIA's SPATRES is in degrees, ObsCore's s_resolution in arcsec.
                "SPATRES" => within("s_resolution", interval(name, v)?, 3600.0),
                "EXPTIME" => within("t_exptime", interval(name, v)?, 1.0),
                "POL" => {
                    if !POL_STATES.contains(&v) {
                        return Err(usage(format!(
                            "POL: '{v}' is not a polarization state ({})",
                            POL_STATES.join(" ")
                        )));
                    }
                    format!("pol_states LIKE {}", text(&format!("%/{v}/%")))
                }
                "CALIB" => {
                    let level: i64 = v.parse().map_err(|_| {
                        usage(format!("CALIB: '{v}' is not a calibration level (0 to 4)"))
                    })?;
                    if !(0..=4).contains(&level) {
                        return Err(usage(format!(
                            "CALIB: {level} is not a calibration level (0 to 4)"
                        )));
                    }
                    format!("calib_level = {level}")
                }
                "DPTYPE" => format!("dataproduct_type = {}", text(v)),
                "ID" => format!("obs_publisher_did = {}", text(v)),
                "COLLECTION" => format!("obs_collection = {}", text(v)),
                "FACILITY" => format!("facility_name = {}", text(v)),
                "INSTRUMENT" => format!("instrument_name = {}", text(v)),
                "TARGET" => format!("target_name = {}", text(v)),
                "FORMAT" => format!("access_format = {}", text(v)),
                _ => continue,
            });
        }
        match or.len() {
            0 => {}
            1 => and.push(or.remove(0)),
            _ => and.push(format!("({})", or.join(" OR "))),
        }
    }
    let mut q = "SELECT * FROM ivoa.ObsCore".to_string();
    if !and.is_empty() {
        q.push_str(" WHERE ");
        q.push_str(&and.join(" AND "));
    }
    q.push_str(" ORDER BY obs_publisher_did");
    Ok(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(query: &str) -> Result<String, VoError> {
        adql(&Params::from_query(query).expect("params"))
    }

    #[test]
    fn parameters_become_conditions_or_within_and_across() {
        assert_eq!(
            q("").expect("all"),
            "SELECT * FROM ivoa.ObsCore ORDER BY obs_publisher_did"
        );
        assert_eq!(
            q("BAND=4e-7+5e-7&calib=2&CALIB=3").expect("band"),
            "SELECT * FROM ivoa.ObsCore WHERE em_min <= 5E-7 AND em_max >= 4E-7 \
             AND (calib_level = 2 OR calib_level = 3) ORDER BY obs_publisher_did"
        );
        assert_eq!(
            q("TIME=60000+%2BInf&FOV=-Inf+0.5&SPATRES=0.001").expect("open"),
            "SELECT * FROM ivoa.ObsCore WHERE t_max >= 60000.0 AND s_fov <= 0.5 \
             AND s_resolution >= 3.6 AND s_resolution <= 3.6 ORDER BY obs_publisher_did"
        );
        assert!(q("POS=CIRCLE+10+20+0.5")
            .expect("circle")
            .contains("(INTERSECTS(CIRCLE('ICRS', 10.0, 20.0, 0.5), s_region) = 1 OR (s_region IS NULL AND s_fov >= 180))"));
        assert!(q("POS=RANGE+350+10+-5+5")
            .expect("range")
            .contains("POLYGON('ICRS', 350.0, -5.0, 10.0, -5.0, 10.0, 5.0, 350.0, 5.0)"));
        // Bounds at the poles: the pole is one vertex.
        assert!(q("POS=RANGE+85+86+-3+90")
            .expect("north")
            .contains("POLYGON('ICRS', 85.0, -3.0, 86.0, -3.0, 0.0, 90.0)"));
        assert!(q("POS=RANGE+350+10+-90+90")
            .expect("lune")
            .contains("POLYGON('ICRS', 0.0, -90.0, 10.0, 0.0, 0.0, 90.0, 350.0, 0.0)"));
        assert!(q("POS=RANGE+85+86+-Inf+-2")
            .expect("south")
            .contains("POLYGON('ICRS', 0.0, -90.0, 86.0, -2.0, 85.0, -2.0)"));
        assert!(q("POS=RANGE+-Inf+%2BInf+80+%2BInf")
            .expect("band")
            .contains("s_dec + s_fov / 2 >= 80.0 AND s_dec - s_fov / 2 <= 90.0"));
        assert!(q("TARGET=O'Brien")
            .expect("quote")
            .contains("target_name = 'O''Brien'"));
        assert!(q("POL=I").expect("pol").contains("pol_states LIKE '%/I/%'"));
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (query, says) in [
            ("POS=CIRCLE+10+20", "POS: a CIRCLE takes 3 numbers"),
            ("POS=CIRCLE+10+95+1", "POS: the latitude 95"),
            ("POS=CIRCLE+10+20+0", "POS: the radius 0"),
            ("POS=BOX+1+2+3+4", "POS: 'BOX' is not a shape"),
            ("POS=POLYGON+1+2+3+4", "at least 6"),
            ("POS=RANGE+10+10+1+2", "has no area"),
            ("POS=RANGE+10+11+2+2", "has no area"),
            ("BAND=6e-7+5e-7", "BAND: the interval"),
            ("BAND=NaN", "BAND: 'NaN' is not a"),
            ("TIME=1+2+3", "TIME: an interval is one or two numbers"),
            ("CALIB=x", "CALIB: 'x' is not a calibration level"),
            ("CALIB=7", "CALIB: 7 is not a calibration level"),
            ("POL=QU", "POL: 'QU' is not a polarization state"),
        ] {
            let e = q(query).expect_err(query);
            assert!(e.message.contains(says), "{query}: {}", e.message);
        }
    }
}

//! SIA 2.0 query parameters (SIA 2.0 §2.2, REC 2015-12-23) into one ADQL query on
//! `ivoa.ObsCore`: each given parameter is a condition, its repeated values joined by OR, the
//! parameters by AND (§2.1). Positions are ICRS degrees, BAND metres, TIME MJD, FOV and
//! SPATRES degrees (ObsCore's s_resolution is in arcsec), EXPTIME seconds. Intervals are two
//! numbers (or one, for both ends), `-Inf`/`+Inf` open ends; a product matches when its range
//! meets the interval (for BAND and TIME) or its value lies in it (FOV, SPATRES, EXPTIME).
//!
//! POS CIRCLE and POLYGON match products whose footprint (s_region) intersects them; so does
//! RANGE, as a polygon whose sides of constant declination have a vertex every degree of RA
//! (within an arcsecond of the parallels), cut into slices of at most 90 degrees of RA; a
//! slice no polygon can hold (all declinations) is tested on the products' centres. Products
//! without a footprint are those ingest found to cover more than a hemisphere (s_fov 180 or
//! more): every position matches them.

use vo_common::sky::SkyPoint;
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

/// The most values of one parameter a search takes (each is a term of the query).
pub const MAX_VALUES: usize = 1000;

/// The most vertices of a POS POLYGON.
pub const MAX_VERTICES: usize = 1000;

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
    if lo > hi || (lo == hi && lo.is_infinite()) {
        return Err(usage(format!(
            "{param}: the interval {lo} .. {hi} is empty (lower above upper, or both ends at the same infinity)"
        )));
    }
    Ok((lo, hi))
}

/// Products whose range `lo_col`..`hi_col` meets `lo`..`hi`; a product with one end
/// NULL is the single value of the other (an observation with a start and no end).
fn overlap(lo_col: &str, hi_col: &str, (lo, hi): (f64, f64)) -> String {
    let mut c = Vec::new();
    if hi.is_finite() {
        c.push(format!(
            "({lo_col} <= {h} OR {lo_col} IS NULL AND {hi_col} <= {h})",
            h = lit(hi)
        ));
    }
    if lo.is_finite() {
        c.push(format!(
            "({hi_col} >= {l} OR {hi_col} IS NULL AND {lo_col} >= {l})",
            l = lit(lo)
        ));
    }
    if c.is_empty() {
        format!("({lo_col} IS NOT NULL OR {hi_col} IS NOT NULL)")
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

/// Products meeting the range of RA `ra1` .. `ra1 + width` (degrees, across 0 when it
/// passes 360) and declination `dec1` .. `dec2`: its sides of constant declination are drawn
/// with a vertex every degree of RA (so they follow the parallels to within an arcsecond),
/// a range wider than 90 degrees is cut into slices, and a bound at a pole is the pole. A
/// slice that no polygon can hold (all declinations, or a cap reaching the equator) is
/// tested on the products' centres instead.
fn range(ra1: f64, width: f64, dec1: f64, dec2: f64) -> String {
    let slices = (width / 90.0).ceil().max(1.0) as usize;
    let step = width / slices as f64;
    let mut or = Vec::new();
    for k in 0..slices {
        let a = ra1 + k as f64 * step;
        or.push(match range_polygon(a, step, dec1, dec2) {
            Some(coords) => format!("INTERSECTS(POLYGON('ICRS', {coords}), s_region) = 1"),
            None => {
                let (lo, hi) = (a.rem_euclid(360.0), (a + step).rem_euclid(360.0));
                let ra = if step >= 360.0 {
                    "1 = 1".to_string()
                } else if lo < hi || hi == 0.0 {
                    format!(
                        "s_ra >= {} AND s_ra <= {}",
                        lit(lo),
                        lit(if hi == 0.0 { 360.0 } else { hi })
                    )
                } else {
                    format!("(s_ra >= {} OR s_ra <= {})", lit(lo), lit(hi))
                };
                format!(
                    "({ra} AND s_dec >= {} AND s_dec <= {})",
                    lit(dec1),
                    lit(dec2)
                )
            }
        });
    }
    if or.len() == 1 {
        or.remove(0)
    } else {
        format!("({})", or.join(" OR "))
    }
}

/// The ADQL coordinates of the polygon of one slice of a range (see [`range`]), or `None`
/// when it would not fit within 88 degrees of its centre (vogate's polygons must).
fn range_polygon(ra1: f64, width: f64, dec1: f64, dec2: f64) -> Option<String> {
    let n = width.ceil().max(1.0) as usize;
    let along = |dec: f64| -> Vec<(f64, f64)> {
        (0..=n)
            .map(|i| ((ra1 + width * i as f64 / n as f64).rem_euclid(360.0), dec))
            .collect()
    };
    let (south, north) = (dec1 <= -90.0, dec2 >= 90.0);
    if south && north {
        return None;
    }
    let mut vertices = if south {
        vec![(0.0, -90.0)]
    } else {
        along(dec1)
    };
    if north {
        vertices.push((0.0, 90.0));
    } else {
        vertices.extend(along(dec2).into_iter().rev());
    }
    let vecs: Vec<_> = vertices
        .iter()
        .map(|&(a, d)| SkyPoint::new(a, d).to_vec())
        .collect();
    let sum = vecs
        .iter()
        .fold([0.0; 3], |s, v| [s[0] + v[0], s[1] + v[1], s[2] + v[2]]);
    let centre = SkyPoint::from_vec(sum);
    let fits = vertices
        .iter()
        .all(|&(a, d)| centre.distance(SkyPoint::new(a, d)) < 88.0);
    fits.then(|| {
        vertices
            .iter()
            .flat_map(|&(a, d)| [lit(a), lit(d)])
            .collect::<Vec<_>>()
            .join(", ")
    })
}

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
            if rest.len() > 2 * MAX_VERTICES {
                return Err(usage(format!(
                    "POS: a POLYGON takes at most {MAX_VERTICES} vertices, not {}",
                    rest.len() / 2
                )));
            }
            if rest.len() < 6 || !rest.len().is_multiple_of(2) {
                return Err(usage(format!(
                    "POS: a POLYGON takes an even number of values, at least 6 (ra dec of 3 or more vertices), not {}",
                    rest.len()
                )));
            }
            let mut coords = Vec::new();
            let mut vertices = Vec::new();
            for pair in rest.chunks(2) {
                let ra = number("POS", pair[0], false)?.rem_euclid(360.0);
                let dec = lat(number("POS", pair[1], false)?)?;
                coords.extend([lit(ra), lit(dec)]);
                vertices.push(SkyPoint::new(ra, dec));
            }
            if vo_common::region::edges_cross(&vertices) {
                return Err(usage("POS: the polygon's edges cross".into()));
            }
            vo_common::region::Polygon::new(&vertices).map_err(|e| usage(format!("POS: {e}")))?;
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
            // Open ends: RA 0 and 360, declination -90 and 90.
            let ra1 = if v[0].is_finite() {
                v[0].rem_euclid(360.0)
            } else {
                0.0
            };
            let ra2 = if v[1].is_finite() {
                v[1].rem_euclid(360.0)
            } else {
                360.0
            };
            let (dec1, dec2) = (v[2].max(-90.0), v[3].min(90.0));
            for d in [v[2], v[3]] {
                if d.is_finite() {
                    lat(d)?;
                }
            }
            let full = !v[0].is_finite() && !v[1].is_finite()
                || (v[0].is_finite() && v[1].is_finite() && (v[1] - v[0]).abs() >= 360.0);
            let width = if full {
                360.0
            } else if ra1 <= ra2 {
                ra2 - ra1
            } else {
                ra2 + 360.0 - ra1
            };
            if width == 0.0 || dec1 >= dec2 {
                return Err(usage(format!(
                    "POS: the range {} .. {} x {} .. {} has no area",
                    v[0], v[1], v[2], v[3]
                )));
            }
            Ok(format!("({} OR {ALL_SKY})", range(ra1, width, dec1, dec2)))
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
        let given = params.all(name).count();
        if given > MAX_VALUES {
            return Err(usage(format!(
                "{name} is given {given} times; a search takes at most {MAX_VALUES} values of one parameter"
            )));
        }
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
                    // ObsCore's pol_states vocabulary, as SODA's POL takes it.
                    if !vo_fits::STOKES_STATES.iter().any(|(name, _)| *name == v) {
                        let names: Vec<&str> =
                            vo_fits::STOKES_STATES.iter().map(|(n, _)| *n).collect();
                        return Err(usage(format!(
                            "POL: '{v}' is not a polarization state ({})",
                            names.join(" ")
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
            "SELECT * FROM ivoa.ObsCore WHERE (em_min <= 5E-7 OR em_min IS NULL AND em_max <= 5E-7) \
             AND (em_max >= 4E-7 OR em_max IS NULL AND em_min >= 4E-7) \
             AND (calib_level = 2 OR calib_level = 3) ORDER BY obs_publisher_did"
        );
        assert_eq!(
            q("TIME=60000+%2BInf&FOV=-Inf+0.5&SPATRES=0.001").expect("open"),
            "SELECT * FROM ivoa.ObsCore WHERE (t_max >= 60000.0 OR t_max IS NULL AND t_min >= 60000.0) \
             AND s_fov <= 0.5 AND s_resolution >= 3.6 AND s_resolution <= 3.6 ORDER BY obs_publisher_did"
        );
        assert!(q("POS=CIRCLE+10+20+0.5")
            .expect("circle")
            .contains("(INTERSECTS(CIRCLE('ICRS', 10.0, 20.0, 0.5), s_region) = 1 OR (s_region IS NULL AND s_fov >= 180))"));
        assert!(q("TARGET=O'Brien")
            .expect("quote")
            .contains("target_name = 'O''Brien'"));
        assert!(q("POL=I").expect("pol").contains("pol_states LIKE '%/I/%'"));
    }

    /// The (ra, dec) vertices of the first POLYGON of a query.
    fn polygon_of(query: &str) -> Vec<(f64, f64)> {
        let at = query.find("POLYGON('ICRS', ").expect("a polygon") + 16;
        let end = at + query[at..].find(')').expect("end");
        let v: Vec<f64> = query[at..end]
            .split(", ")
            .map(|x| x.parse().expect("number"))
            .collect();
        v.chunks(2).map(|c| (c[0], c[1])).collect()
    }

    #[test]
    fn ranges_follow_their_parallels_and_poles() {
        // 20 degrees of RA across 0: a vertex every degree along each parallel.
        let v = polygon_of(&q("POS=RANGE+350+10+-5+5").expect("range"));
        assert_eq!(v.len(), 42);
        assert_eq!(
            (v[0], v[20], v[21], v[41]),
            ((350.0, -5.0), (10.0, -5.0), (10.0, 5.0), (350.0, 5.0))
        );
        assert!(v[..21].iter().all(|p| p.1 == -5.0) && v[21..].iter().all(|p| p.1 == 5.0));
        // A bound at a pole is the pole, once.
        let north = polygon_of(&q("POS=RANGE+85+86+-3+90").expect("north"));
        assert_eq!(north, [(85.0, -3.0), (86.0, -3.0), (0.0, 90.0)]);
        let south = polygon_of(&q("POS=RANGE+85+86+-Inf+-2").expect("south"));
        assert_eq!(south, [(0.0, -90.0), (86.0, -2.0), (85.0, -2.0)]);
        // Wider than 90 degrees: slices.
        assert_eq!(
            q("POS=RANGE+0+179.9+-30+-2")
                .expect("wide")
                .matches("POLYGON")
                .count(),
            2
        );
        // All declinations, or all RA and a band that no polygon holds: the centres.
        assert!(q("POS=RANGE+350+10+-90+90")
            .expect("lune")
            .contains("((s_ra >= 350.0 OR s_ra <= 10.0) AND s_dec >= -90.0 AND s_dec <= 90.0)"));
        assert!(q("POS=RANGE+-Inf+50+-30+-2")
            .expect("open RA")
            .contains("POLYGON('ICRS', 0.0, -30.0"));
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
            (
                &format!("POS=POLYGON{}", "+1+1".repeat(1001)),
                "at most 1000 vertices",
            ),
            (
                &(0..1001)
                    .map(|i| format!("ID={i}"))
                    .collect::<Vec<_>>()
                    .join("&"),
                "ID is given 1001 times",
            ),
            ("POS=RANGE+85+86+-100+-2", "POS: the latitude -100"),
            (
                "POS=POLYGON+85+-3+85+-3+85+-3",
                "POS: polygon vertices 1 and 2 coincide",
            ),
            (
                "POS=POLYGON+0+0+2+2+2+0+0+2",
                "POS: the polygon's edges cross",
            ),
            ("TIME=-Inf+-Inf", "TIME: the interval"),
            ("BAND=%2BInf+%2BInf", "BAND: the interval"),
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

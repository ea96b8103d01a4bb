//! SODA 1.0 parameters (IVOA REC 2017-05-17, §3.3), parsed strictly: every value count,
//! number and range is checked, and an error names the parameter and what was wrong.
//!
//! - `POS` (§3.3.1, DALI 1.1 shapes): `CIRCLE ra dec radius`, `RANGE ra1 ra2 dec1 dec2`,
//!   `POLYGON ra1 dec1 ra2 dec2 ra3 dec3 ...`; `CIRCLE` (§3.3.2) and `POLYGON` (§3.3.3) take
//!   the same values without the keyword. Angles are ICRS degrees; latitudes must lie in
//!   [-90, 90], a radius in (0, 180]. RANGE bounds may be -Inf/+Inf; an RA range whose
//!   first bound is larger than the second runs across RA = 0 (`RANGE 350 10 -5 5`). A
//!   polygon has at least 3 vertices, no two consecutive ones equal, no crossing edges, and is
//!   the smaller of the two regions its edges bound, whichever way it is given.
//! - `BAND` (§3.3.4): an interval of wavelengths in metres (DALI 1.1 interval: two numbers,
//!   -Inf/+Inf allowed, lower <= upper); `TIME` (§3.3.5): an interval of MJD; `POL` (§3.3.6):
//!   Stokes states (I Q U V RR LL RL LR XX YY XY YX POLI POLA), a set: several POL values
//!   are one cutout holding all of those states, on sync as on async.
//! - NaN is refused everywhere.

use vo_common::sky::SkyPoint;
use vo_common::VoError;
use vo_dali::Params;

/// A spatial cutout shape, ICRS degrees.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A circle: centre and radius (degrees, in (0, 180]).
    Circle {
        /// The centre.
        centre: SkyPoint,
        /// The radius, degrees.
        radius: f64,
    },
    /// A range of RA and Dec, degrees: `ra` lower to upper (across RA = 0 when lower >
    /// upper), `dec` lower to upper; infinite bounds mean no bound.
    Range {
        /// RA bounds.
        ra: (f64, f64),
        /// Dec bounds.
        dec: (f64, f64),
    },
    /// A polygon, its vertices counter-clockwise as seen from the centre of the sphere.
    Polygon(Vec<SkyPoint>),
}

/// A closed interval (DALI 1.1 §3.5); bounds may be infinite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

/// The SODA parameters of one request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SodaRequest {
    /// The IDs (obs_publisher_did) of the datasets to cut.
    pub ids: Vec<String>,
    /// The spatial shapes (POS, CIRCLE and POLYGON, in that order).
    pub shapes: Vec<Shape>,
    /// BAND intervals, metres.
    pub bands: Vec<Interval>,
    /// TIME intervals, MJD.
    pub times: Vec<Interval>,
    /// POL states.
    pub pols: Vec<String>,
}

fn usage(msg: String) -> VoError {
    VoError::usage(msg)
}

/// The numbers of a parameter value, split on blanks. `infinite`: whether -Inf/+Inf are
/// allowed (interval bounds); NaN never is.
fn numbers(param: &str, value: &str, infinite: bool) -> Result<Vec<f64>, VoError> {
    value
        .split_whitespace()
        .map(|t| {
            let v = match t {
                "-Inf" | "-inf" => f64::NEG_INFINITY,
                "+Inf" | "Inf" | "+inf" | "inf" => f64::INFINITY,
                _ => t
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| usage(format!("{param}: '{t}' is not a number")))?,
            };
            if v.is_infinite() && !infinite {
                return Err(usage(format!(
                    "{param}: '{t}': infinite values are allowed only in intervals"
                )));
            }
            Ok(v)
        })
        .collect()
}

fn latitude(param: &str, dec: f64) -> Result<f64, VoError> {
    if (-90.0..=90.0).contains(&dec) {
        Ok(dec)
    } else {
        Err(usage(format!(
            "{param}: the latitude {dec} is outside [-90, 90]"
        )))
    }
}

/// `ra dec radius` of a circle.
fn circle(param: &str, v: &[f64]) -> Result<Shape, VoError> {
    let [ra, dec, r] = v else {
        return Err(usage(format!(
            "{param}: a circle takes 3 numbers (ra dec radius, degrees), not {}",
            v.len()
        )));
    };
    let dec = latitude(param, *dec)?;
    if !(*r > 0.0 && *r <= 180.0) {
        return Err(usage(format!(
            "{param}: the radius {r} must be larger than 0 and at most 180 degrees"
        )));
    }
    Ok(Shape::Circle {
        centre: SkyPoint::new(ra.rem_euclid(360.0), dec),
        radius: *r,
    })
}

/// The most vertices of a polygon (its edges are checked pairwise for crossings).
pub const MAX_VERTICES: usize = 1000;

/// `ra1 dec1 ra2 dec2 ...` of a polygon.
fn polygon(param: &str, v: &[f64]) -> Result<Shape, VoError> {
    if v.len() > 2 * MAX_VERTICES {
        return Err(usage(format!(
            "{param}: a polygon takes at most {MAX_VERTICES} vertices, not {}",
            v.len() / 2
        )));
    }
    if v.len() < 6 || !v.len().is_multiple_of(2) {
        return Err(usage(format!(
            "{param}: a polygon takes an even number of values, at least 6 (ra dec of 3 or more vertices), not {}",
            v.len()
        )));
    }
    let mut vertices = Vec::with_capacity(v.len() / 2);
    for pair in v.chunks(2) {
        let dec = latitude(param, pair[1])?;
        vertices.push(SkyPoint::new(pair[0].rem_euclid(360.0), dec));
    }
    if vo_common::region::edges_cross(&vertices) {
        return Err(usage(format!("{param}: the polygon's edges cross")));
    }
    let poly =
        vo_common::region::Polygon::new(&vertices).map_err(|e| usage(format!("{param}: {e}")))?;
    // Counter-clockwise as seen from the centre of the sphere, around a point inside.
    let inside = poly.vertices().iter().fold([0.0; 3], |acc, v| {
        [acc[0] + v[0], acc[1] + v[1], acc[2] + v[2]]
    });
    let inside = SkyPoint::from_vec(inside);
    Ok(Shape::Polygon(vo_common::sky::counter_clockwise(
        vertices, inside,
    )))
}

/// `ra1 ra2 dec1 dec2` of a range.
fn range(param: &str, v: &[f64]) -> Result<Shape, VoError> {
    let [ra1, ra2, dec1, dec2] = v else {
        return Err(usage(format!(
            "{param}: a range takes 4 numbers (ra1 ra2 dec1 dec2, degrees), not {}",
            v.len()
        )));
    };
    let ra = |x: f64| {
        if x.is_infinite() || (0.0..=360.0).contains(&x) {
            Ok(x)
        } else {
            Err(usage(format!("{param}: the RA {x} is outside [0, 360]")))
        }
    };
    let dec = |x: f64| {
        if x.is_infinite() {
            Ok(x.clamp(-90.0, 90.0))
        } else {
            latitude(param, x)
        }
    };
    let (ra1, ra2, dec1, dec2) = (ra(*ra1)?, ra(*ra2)?, dec(*dec1)?, dec(*dec2)?);
    if dec1 > dec2 {
        return Err(usage(format!(
            "{param}: the Dec range {dec1} .. {dec2} is empty (lower above upper)"
        )));
    }
    // Infinite RA bounds: the whole circle.
    let ra = if ra1.is_infinite() || ra2.is_infinite() {
        (0.0, 360.0)
    } else {
        (ra1, ra2)
    };
    Ok(Shape::Range {
        ra,
        dec: (dec1, dec2),
    })
}

/// A DALI interval (`lo hi`) in `unit`.
fn interval(param: &str, value: &str) -> Result<Interval, VoError> {
    let v = numbers(param, value, true)?;
    let [lo, hi] = v[..] else {
        return Err(usage(format!(
            "{param}: an interval takes 2 numbers (lower upper), not {}",
            v.len()
        )));
    };
    if lo > hi {
        return Err(usage(format!(
            "{param}: the interval {lo} .. {hi} is empty (lower above upper)"
        )));
    }
    Ok(Interval { lo, hi })
}

impl SodaRequest {
    /// The SODA parameters of `params` (names in any case). Errors: UsageError messages
    /// naming the parameter and the value that is wrong.
    pub fn parse(params: &Params) -> Result<SodaRequest, VoError> {
        let mut r = SodaRequest::default();
        for id in params.all("ID") {
            if id.trim().is_empty() {
                return Err(usage("ID: an empty ID names no dataset".into()));
            }
            r.ids.push(id.to_string());
        }
        for pos in params.all("POS") {
            let mut words = pos.split_whitespace();
            let kind = words.next().unwrap_or("");
            let rest: Vec<&str> = words.collect();
            let v = numbers("POS", &rest.join(" "), kind.eq_ignore_ascii_case("RANGE"))?;
            r.shapes.push(match kind.to_ascii_uppercase().as_str() {
                "CIRCLE" => circle("POS", &v)?,
                "RANGE" => range("POS", &v)?,
                "POLYGON" => polygon("POS", &v)?,
                "" => return Err(usage("POS: the value is empty".into())),
                other => {
                    return Err(usage(format!(
                        "POS: '{other}' is not a shape (CIRCLE, RANGE or POLYGON)"
                    )))
                }
            });
        }
        for c in params.all("CIRCLE") {
            r.shapes
                .push(circle("CIRCLE", &numbers("CIRCLE", c, false)?)?);
        }
        for p in params.all("POLYGON") {
            r.shapes
                .push(polygon("POLYGON", &numbers("POLYGON", p, false)?)?);
        }
        for b in params.all("BAND") {
            r.bands.push(interval("BAND", b)?);
        }
        for t in params.all("TIME") {
            r.times.push(interval("TIME", t)?);
        }
        for p in params.all("POL") {
            let p = p.trim();
            if !vo_fits::STOKES_STATES.iter().any(|(name, _)| *name == p) {
                let names: Vec<&str> = vo_fits::STOKES_STATES.iter().map(|(n, _)| *n).collect();
                return Err(usage(format!(
                    "POL: '{p}' is not a polarization state ({})",
                    names.join(" ")
                )));
            }
            r.pols.push(p.to_string());
        }
        Ok(r)
    }

    /// The checks of SODA sync (§3.1): one ID and at most one value of each filter; an error
    /// beginning `MultiValuedParamNotSupported` names the parameter otherwise.
    pub fn check_sync(&self) -> Result<(), VoError> {
        let many = |name: &str, n: usize| {
            if n > 1 {
                Err(usage(format!(
                    "MultiValuedParamNotSupported: {name} is given {n} times; /soda/sync takes one (use /soda/async for several)"
                )))
            } else {
                Ok(())
            }
        };
        if self.ids.is_empty() {
            return Err(usage(
                "ID is missing: give the obs_publisher_did of the dataset to cut".into(),
            ));
        }
        many("ID", self.ids.len())?;
        many(
            "the spatial shape (POS, CIRCLE, POLYGON)",
            self.shapes.len(),
        )?;
        many("BAND", self.bands.len())?;
        // POL is a set of states, not one filter per cutout: several are one cutout.
        many("TIME", self.times.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<SodaRequest, VoError> {
        SodaRequest::parse(&Params::from_query(q).expect("query"))
    }

    #[test]
    fn shapes_and_intervals_are_read_as_soda_writes_them() {
        let r = parse("ID=ivo://x/y?a&POS=CIRCLE+10+-20+0.5&BAND=5e-7+6e-7&TIME=60000+-Inf")
            .expect_err("TIME lower above upper");
        assert!(r.message.contains("TIME"), "{}", r.message);
        let r = parse("ID=a&POS=CIRCLE%20370%20-20%200.5&BAND=5e-7%206e-7&TIME=-Inf%2060000")
            .expect("valid");
        assert_eq!(r.ids, vec!["a"]);
        assert_eq!(
            r.shapes,
            vec![Shape::Circle {
                centre: SkyPoint::new(10.0, -20.0),
                radius: 0.5
            }]
        );
        assert_eq!(r.bands, vec![Interval { lo: 5e-7, hi: 6e-7 }]);
        assert_eq!(r.times[0].lo, f64::NEG_INFINITY);
        let r = parse("ID=a&POS=RANGE+350+10+-5+5").expect("range across 0");
        assert_eq!(
            r.shapes,
            vec![Shape::Range {
                ra: (350.0, 10.0),
                dec: (-5.0, 5.0)
            }]
        );
        let r = parse("ID=a&POS=RANGE+-Inf+%2BInf+-Inf+10").expect("open range");
        assert_eq!(
            r.shapes,
            vec![Shape::Range {
                ra: (0.0, 360.0),
                dec: (-90.0, 10.0)
            }]
        );
        // A polygon given clockwise comes out counter-clockwise; so does one given so.
        let ccw = parse("ID=a&POLYGON=10+0+11+0+11+1+10+1").expect("ccw");
        let cw = parse("ID=a&POS=POLYGON+10+1+11+1+11+0+10+0").expect("cw");
        let (Shape::Polygon(a), Shape::Polygon(b)) = (&ccw.shapes[0], &cw.shapes[0]) else {
            panic!("polygons");
        };
        let inside = SkyPoint::new(10.5, 0.5);
        assert!(vo_common::sky::ccw_orientation(a, inside) > 0.0);
        assert!(vo_common::sky::ccw_orientation(b, inside) > 0.0);
        let e = parse("ID=a&POL=I&POL=QU").expect_err("QU");
        assert!(e.message.contains("POL: 'QU'"), "{}", e.message);
    }

    #[test]
    fn bad_values_name_the_parameter_and_the_value() {
        for (q, says) in [
            ("ID=a&CIRCLE=10+20", "CIRCLE: a circle takes 3 numbers"),
            (
                "ID=a&CIRCLE=10+20+0",
                "CIRCLE: the radius 0 must be larger than 0",
            ),
            ("ID=a&CIRCLE=10+20+-1", "the radius -1"),
            (
                "ID=a&CIRCLE=10+91+1",
                "CIRCLE: the latitude 91 is outside [-90, 90]",
            ),
            ("ID=a&CIRCLE=10+NaN+1", "CIRCLE: 'NaN' is not a number"),
            (
                "ID=a&CIRCLE=10+Inf+1",
                "infinite values are allowed only in intervals",
            ),
            ("ID=a&CIRCLE=10+20+abc", "'abc' is not a number"),
            ("ID=a&POS=CIRCLE+10+20", "POS: a circle takes 3 numbers"),
            ("ID=a&POS=BOX+10+20+1+1", "POS: 'BOX' is not a shape"),
            ("ID=a&POS=", "POS: the value is empty"),
            ("ID=a&POS=RANGE+1+2+3", "POS: a range takes 4 numbers"),
            ("ID=a&POS=RANGE+1+2+5+3", "the Dec range 5 .. 3 is empty"),
            ("ID=a&POS=RANGE+1+400+3+5", "the RA 400 is outside [0, 360]"),
            ("ID=a&POLYGON=1+1+2+2", "at least 6"),
            (
                &format!("ID=a&POLYGON={}", "1+1+".repeat(1001)),
                "at most 1000 vertices",
            ),
            ("ID=a&POLYGON=1+1+2+2+3", "even number"),
            ("ID=a&POLYGON=0+0+2+2+2+0+0+2", "the polygon's edges cross"),
            ("ID=a&POLYGON=10+0+11+0+11+95", "the latitude 95"),
            ("ID=a&BAND=1", "BAND: an interval takes 2 numbers"),
            ("ID=a&BAND=2+1", "BAND: the interval 2 .. 1 is empty"),
            ("ID=a&BAND=NaN+1", "BAND: 'NaN' is not a number"),
            ("ID=&CIRCLE=1+1+1", "ID: an empty ID"),
        ] {
            let e = parse(q).expect_err(q);
            assert!(e.message.contains(says), "{q}: {}", e.message);
        }
    }

    #[test]
    fn sync_takes_one_id_and_one_shape() {
        let e = parse("ID=a&CIRCLE=1+1+1&CIRCLE=2+2+1")
            .expect("parses")
            .check_sync()
            .expect_err("two circles");
        assert!(
            e.message
                .starts_with("MultiValuedParamNotSupported: the spatial shape"),
            "{}",
            e.message
        );
        let e = parse("ID=a&ID=b")
            .expect("parses")
            .check_sync()
            .expect_err("two IDs");
        assert!(
            e.message.starts_with("MultiValuedParamNotSupported: ID"),
            "{}",
            e.message
        );
        let e = parse("CIRCLE=1+1+1")
            .expect("parses")
            .check_sync()
            .expect_err("no ID");
        assert!(e.message.contains("ID is missing"), "{}", e.message);
        assert!(parse("ID=a&POS=CIRCLE+1+1+1&BAND=1+2")
            .expect("ok")
            .check_sync()
            .is_ok());
    }
}

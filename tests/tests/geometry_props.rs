//! Property tests of ADQL geometry (ADQL 2.1 §4.2) on SQLite and PostgreSQL + pgSphere
//! against brute force: random circles (up to 180 degrees), boxes and polygons, centred
//! anywhere (around both poles and across RA = 0 more often, longitudes given in [-30, 390)),
//! against 3,000 stored points and the circles, boxes and triangles around them.
//!
//! Brute force is independent of vogate's geometry: a point is in a polygon when the angles
//! its edges subtend sum to ±2π (winding), in a circle by the haversine distance, in a box
//! by its ranges; distances from a point to a boundary are found by sampling each edge
//! densely and refining the nearest sample by ternary search (a polygon is on the side of
//! its vertices: the winding is the same at the antipode). A point or circle counts as
//! undecided (and is not compared) within 1e-7 degrees of an edge; pgSphere's own tolerance
//! is 1e-9 rad. Shapes against boxes and triangles are judged from dense samples of both
//! boundaries, and only where the samples decide (a sample clearly inside the other shape,
//! or every sample clearly outside it). DISTANCE must agree to 1e-7 degrees, AREA to 1e-9 relative (brute force: closed forms for
//! circles and boxes, l'Huilier's theorem over the fan of triangles from the centre each
//! polygon is star-shaped around).

mod common;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::collections::BTreeSet;
use std::f64::consts::PI;
use std::path::Path;

fn main() -> std::process::ExitCode {
    use vo_testkit::Test;
    vo_testkit::run(vec![Test::actix(
        "geometry_agrees_with_brute_force_on_both_backends",
        props,
    )
    .needs(&vogate_tests::postgres())])
}

const SCHEMA: &str = r##"---
name: g
"@id": "#g"
description: Points for the geometry property tests.
tables:
  - name: pts
    "@id": "#pts"
    description: Generated points, each with a circle radius.
    columns:
      - {name: id, "@id": "#pts.id", datatype: long, description: Identifier.}
      - {name: ra, "@id": "#pts.ra", datatype: double, description: Right ascension., "ivoa:unit": deg, "ivoa:ucd": pos.eq.ra}
      - {name: dec, "@id": "#pts.dec", datatype: double, description: Declination., "ivoa:unit": deg, "ivoa:ucd": pos.eq.dec}
      - {name: rad, "@id": "#pts.rad", datatype: double, description: A circle radius., "ivoa:unit": deg}
    primaryKey: "#pts.id"
"##;

/// How many stored points; the circles around the first [`CIRCLES`] are related to each
/// shape too.
const POINTS: usize = 3000;
const CIRCLES: usize = 400;
/// How many of the points get a box and a triangle around them, related to each shape.
const RELATED: usize = 60;
/// The band around an edge within which answers are not compared, degrees.
const BAND: f64 = 1e-7;

type V3 = [f64; 3];

fn vec_of(ra: f64, dec: f64) -> V3 {
    let (a, d) = (ra.to_radians(), dec.to_radians());
    [d.cos() * a.cos(), d.cos() * a.sin(), d.sin()]
}

fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

/// The haversine distance, degrees.
fn haversine(ra1: f64, dec1: f64, ra2: f64, dec2: f64) -> f64 {
    let (p1, p2) = (dec1.to_radians(), dec2.to_radians());
    let dp = p2 - p1;
    let dl = (ra2 - ra1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    (2.0 * h.sqrt().min(1.0).asin()).to_degrees()
}

/// The point `dist` degrees from (ra, dec) along `bearing` degrees (east of north).
fn destination(ra: f64, dec: f64, bearing: f64, dist: f64) -> (f64, f64) {
    let (p, l, b, d) = (
        dec.to_radians(),
        ra.to_radians(),
        bearing.to_radians(),
        dist.to_radians(),
    );
    let p2 = (p.sin() * d.cos() + p.cos() * d.sin() * b.cos())
        .clamp(-1.0, 1.0)
        .asin();
    let l2 = l + (b.sin() * d.sin() * p.cos()).atan2(d.cos() - p.sin() * p2.sin());
    (l2.to_degrees().rem_euclid(360.0), p2.to_degrees())
}

/// A piece of a shape's boundary: (ra, dec) in degrees of t in [0, 1].
type Piece<'s> = Box<dyn Fn(f64) -> (f64, f64) + 's>;

/// A random shape, as ADQL writes it.
#[derive(Debug, Clone)]
enum Shape {
    Circle(f64, f64, f64),
    Box(f64, f64, f64, f64),
    /// The vertices, and the centre the polygon is star-shaped around.
    Polygon(Vec<(f64, f64)>, (f64, f64)),
}

impl Shape {
    /// The ADQL; `col` is added (times 0) to the first number so that the database, not
    /// the translator, computes with it.
    fn adql(&self, col: Option<&str>) -> String {
        let first = |x: f64| match col {
            Some(c) => format!("({x:?} + 0 * {c})"),
            None => format!("{x:?}"),
        };
        match self {
            Shape::Circle(a, b, r) => format!("CIRCLE({}, {b:?}, {r:?})", first(*a)),
            Shape::Box(a, b, w, h) => format!("BOX({}, {b:?}, {w:?}, {h:?})", first(*a)),
            Shape::Polygon(v, _) => {
                let mut parts: Vec<String> =
                    v.iter().map(|(a, b)| format!("{a:?}, {b:?}")).collect();
                parts[0] = format!("{}, {:?}", first(v[0].0), v[0].1);
                format!("POLYGON({})", parts.join(", "))
            }
        }
    }

    /// Brute force: whether (ra, dec) is in the shape.
    fn contains(&self, ra: f64, dec: f64) -> bool {
        match self {
            Shape::Circle(a, b, r) => haversine(*a, *b, ra, dec) <= *r,
            Shape::Box(a, b, w, h) => {
                let (lo, hi) = ((b - h / 2.0).max(-90.0), (b + h / 2.0).min(90.0));
                let w = w.min(360.0);
                (lo..=hi).contains(&dec)
                    && (w >= 360.0
                        || dec.abs() >= 90.0
                        || (ra - (a - w / 2.0)).rem_euclid(360.0) <= w)
            }
            Shape::Polygon(v, _) => {
                // Winding: the angles the edges subtend at p, in p's tangent plane.
                let p = vec_of(ra, dec);
                let vs: Vec<V3> = v.iter().map(|(a, b)| vec_of(*a, *b)).collect();
                let mut sum = 0.0;
                for i in 0..vs.len() {
                    let (x, y) = (vs[i], vs[(i + 1) % vs.len()]);
                    let s = dot(cross(x, y), p);
                    let c = dot(x, y) - dot(x, p) * dot(y, p);
                    sum += s.atan2(c);
                }
                // The winding is the same at the antipode: the polygon (smaller than a
                // hemisphere) is on the side of its vertices.
                let mean = vs
                    .iter()
                    .fold([0.0; 3], |m, v| [m[0] + v[0], m[1] + v[1], m[2] + v[2]]);
                sum.abs() > PI && dot(mean, p) > 0.0
            }
        }
    }

    /// Brute force: whether membership changes within [`BAND`] of (ra, dec).
    fn near_edge(&self, ra: f64, dec: f64) -> bool {
        let inside = self.contains(ra, dec);
        (0..16).any(|k| {
            let (r2, d2) = destination(ra, dec, f64::from(k) * 22.5, BAND);
            self.contains(r2, d2) != inside
        })
    }

    /// Brute force: the boundary as a function of t in [0, 1] per piece.
    fn boundary(&self) -> Vec<Piece<'_>> {
        match self {
            Shape::Circle(a, b, r) => {
                vec![Box::new(move |t| destination(*a, *b, t * 360.0, *r))]
            }
            Shape::Box(a, b, w, h) => {
                let (lo, hi) = ((b - h / 2.0).max(-90.0), (b + h / 2.0).min(90.0));
                let w = w.min(360.0);
                let west = a - w / 2.0;
                // A parallel at a pole is a point inside the box, not an edge.
                let mut pieces: Vec<Piece> = [lo, hi]
                    .into_iter()
                    .filter(|lat| lat.abs() < 90.0)
                    .map(|lat| {
                        Box::new(move |t| (west + t * w, lat)) as Box<dyn Fn(f64) -> (f64, f64)>
                    })
                    .collect();
                if w < 360.0 {
                    for lon in [west, west + w] {
                        pieces.push(Box::new(move |t| (lon, lo + t * (hi - lo))));
                    }
                }
                pieces
            }
            Shape::Polygon(v, _) => (0..v.len())
                .map(|i| {
                    let (x, y) = (vec_of(v[i].0, v[i].1), {
                        let j = (i + 1) % v.len();
                        vec_of(v[j].0, v[j].1)
                    });
                    let theta = cross(x, y)
                        .iter()
                        .map(|c| c * c)
                        .sum::<f64>()
                        .sqrt()
                        .atan2(dot(x, y));
                    Box::new(move |t: f64| {
                        // Spherical linear interpolation.
                        let s = theta.sin();
                        let (fa, fb) = if s.abs() < 1e-300 {
                            (1.0 - t, t)
                        } else {
                            (((1.0 - t) * theta).sin() / s, (t * theta).sin() / s)
                        };
                        let p = [
                            fa * x[0] + fb * y[0],
                            fa * x[1] + fb * y[1],
                            fa * x[2] + fb * y[2],
                        ];
                        (
                            p[1].atan2(p[0]).to_degrees(),
                            p[2].atan2(p[0].hypot(p[1])).to_degrees(),
                        )
                    }) as Box<dyn Fn(f64) -> (f64, f64)>
                })
                .collect(),
        }
    }

    /// Brute force: the distance in degrees from (ra, dec) to the shape's boundary.
    fn boundary_distance(&self, ra: f64, dec: f64) -> f64 {
        let mut best = f64::INFINITY;
        for piece in self.boundary() {
            let d = |t: f64| {
                let (a, b) = piece(t);
                haversine(ra, dec, a, b)
            };
            let n = 256;
            let (mut k, mut dk) = (0, f64::INFINITY);
            for i in 0..=n {
                let v = d(f64::from(i) / f64::from(n));
                if v < dk {
                    (k, dk) = (i, v);
                }
            }
            let (mut lo, mut hi) = (
                f64::from(k.max(1) - 1) / f64::from(n),
                f64::from((k + 1).min(n)) / f64::from(n),
            );
            for _ in 0..200 {
                let (m1, m2) = (lo + (hi - lo) / 3.0, hi - (hi - lo) / 3.0);
                if d(m1) < d(m2) {
                    hi = m2;
                } else {
                    lo = m1;
                }
            }
            best = best.min(dk).min(d((lo + hi) / 2.0));
        }
        best
    }

    /// Brute force: points along the boundary, `per_piece` to each piece (ends included).
    fn boundary_samples(&self, per_piece: u32) -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        for piece in self.boundary() {
            for i in 0..=per_piece {
                out.push(piece(f64::from(i) / f64::from(per_piece)));
            }
        }
        out
    }

    /// Brute force: whether (ra, dec) is in the shape with every point within `delta`
    /// degrees (16 directions) on the same side.
    fn clearly(&self, ra: f64, dec: f64, delta: f64) -> Option<bool> {
        let inside = self.contains(ra, dec);
        let steady = (0..16).all(|k| {
            let (r2, d2) = destination(ra, dec, f64::from(k) * 22.5, delta);
            self.contains(r2, d2) == inside
        });
        steady.then_some(inside)
    }

    /// The largest step between the boundary samples of [`Self::boundary_samples`].
    fn sample_step(&self, per_piece: u32) -> f64 {
        let v = self.boundary_samples(per_piece);
        v.windows(2)
            .map(|w| haversine(w[0].0, w[0].1, w[1].0, w[1].1))
            .fold(0.0, f64::max)
    }

    /// Brute force INTERSECTS, CONTAINS(self, other) and CONTAINS(other, self) of two shapes
    /// from their boundary samples, `None` where the samples cannot decide: a sample of one
    /// boundary clearly inside the other shape proves they meet (and that the other is not
    /// within it); a shape is within another when all its boundary samples are clearly
    /// inside the other and all the other's clearly outside it.
    fn relations(&self, other: &Shape) -> [Option<bool>; 3] {
        const PER_PIECE: u32 = 100;
        let delta = 1.5
            * self
                .sample_step(PER_PIECE)
                .max(other.sample_step(PER_PIECE))
            + BAND;
        let in_other: Vec<Option<bool>> = self
            .boundary_samples(PER_PIECE)
            .iter()
            .map(|(a, b)| other.clearly(*a, *b, delta))
            .collect();
        let in_self: Vec<Option<bool>> = other
            .boundary_samples(PER_PIECE)
            .iter()
            .map(|(a, b)| self.clearly(*a, *b, delta))
            .collect();
        let all = |v: &[Option<bool>], x: bool| v.iter().all(|y| *y == Some(x));
        let intersects = if in_other.contains(&Some(true)) || in_self.contains(&Some(true)) {
            Some(true)
        } else if all(&in_other, false) && all(&in_self, false) {
            Some(false)
        } else {
            None
        };
        let within = |mine: &[Option<bool>], theirs: &[Option<bool>]| {
            if mine.contains(&Some(false)) || theirs.contains(&Some(true)) {
                Some(false)
            } else if all(mine, true) && all(theirs, false) {
                Some(true)
            } else {
                None
            }
        };
        [
            intersects,
            within(&in_other, &in_self),
            within(&in_self, &in_other),
        ]
    }

    /// Brute force: the distance from (ra, dec) to the nearest point of the shape.
    fn distance(&self, ra: f64, dec: f64) -> f64 {
        if self.contains(ra, dec) {
            0.0
        } else {
            self.boundary_distance(ra, dec)
        }
    }

    /// Brute force AREA, square degrees: closed forms for circles and boxes, l'Huilier's
    /// theorem over the triangles fanned from a polygon's centre.
    fn area(&self) -> f64 {
        let sq = (180.0 / PI) * (180.0 / PI);
        match self {
            Shape::Circle(_, _, r) => 2.0 * PI * (1.0 - r.to_radians().cos()) * sq,
            Shape::Box(_, b, w, h) => {
                let (lo, hi) = ((b - h / 2.0).max(-90.0), (b + h / 2.0).min(90.0));
                w.min(360.0).to_radians() * (hi.to_radians().sin() - lo.to_radians().sin()) * sq
            }
            Shape::Polygon(v, (ca, cb)) => {
                // The fan of triangles from the centre the polygon is star-shaped around,
                // each by l'Huilier's theorem on its sides.
                let c = (*ca, *cb);
                (0..v.len())
                    .map(|i| {
                        let (p, q) = (v[i], v[(i + 1) % v.len()]);
                        let a = haversine(p.0, p.1, q.0, q.1).to_radians();
                        let b = haversine(q.0, q.1, c.0, c.1).to_radians();
                        let cc = haversine(c.0, c.1, p.0, p.1).to_radians();
                        let s = (a + b + cc) / 2.0;
                        let t = (s / 2.0).tan()
                            * ((s - a) / 2.0).tan()
                            * ((s - b) / 2.0).tan()
                            * ((s - cc) / 2.0).tan();
                        4.0 * t.max(0.0).sqrt().atan()
                    })
                    .sum::<f64>()
                    * sq
            }
        }
    }
}

/// A centre: anywhere, near a pole, or near RA = 0, with RA given in [-30, 390).
fn centre() -> impl Strategy<Value = (f64, f64)> {
    prop_oneof![
        2 => (-30.0..390.0f64, -1.0..1.0f64).prop_map(|(a, z)| (a, z.asin().to_degrees())),
        1 => (-30.0..390.0f64, 80.0..90.0f64, prop::bool::ANY)
            .prop_map(|(a, d, s)| (a, if s { d } else { -d })),
        1 => (-3.0..3.0f64, -1.0..1.0f64).prop_map(|(a, z)| (a, z.asin().to_degrees())),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        (
            centre(),
            prop_oneof![3 => 0.2..30.0f64, 1 => 30.0..180.0f64]
        )
            .prop_map(|((a, b), r)| Shape::Circle(a, b, r)),
        (
            centre(),
            prop_oneof![3 => 0.2..40.0f64, 1 => 40.0..400.0f64],
            0.2..50.0f64
        )
            .prop_map(|((a, b), w, h)| Shape::Box(a, b, w, h)),
        (
            centre(),
            prop::collection::vec((0.05..1.0f64, 0.5..35.0f64), 3..8)
        )
            .prop_filter_map("a simple polygon", |((a, b), spokes)| {
                // Star-shaped around the centre: bearings in order, gaps under 170 degrees.
                let total: f64 = spokes.iter().map(|s| s.0).sum();
                let mut bearing = 0.0;
                let mut v = Vec::new();
                for (gap, dist) in &spokes {
                    let step = gap / total * 360.0;
                    if step >= 170.0 {
                        return None;
                    }
                    bearing += step;
                    v.push(destination(a, b, bearing, *dist));
                }
                Some(Shape::Polygon(v, (a, b)))
            }),
    ]
}

/// The stored points: uniform, crowded around both poles and across RA = 0.
fn write_inputs(dir: &Path) -> Vec<(f64, f64, f64)> {
    std::fs::write(dir.join("g.yaml"), SCHEMA).expect("schema");
    let mut g = common::Lcg(2026);
    let mut rows = Vec::new();
    let mut csv = String::from("id,ra,dec,rad\n");
    for id in 1..=POINTS {
        let (ra, dec) = match id % 5 {
            0 => (g.next() * 360.0, 90.0 - g.next() * 6.0),
            1 => (g.next() * 360.0, -90.0 + g.next() * 6.0),
            2 => {
                let ra = ((g.next() - 0.5) * 6.0).rem_euclid(360.0);
                (ra, (g.next() * 2.0 - 1.0).asin().to_degrees())
            }
            _ => (g.next() * 360.0, (g.next() * 2.0 - 1.0).asin().to_degrees()),
        };
        let rad = if g.next() < 0.8 {
            0.01 + g.next() * 20.0
        } else {
            20.0 + g.next() * 160.0
        };
        csv.push_str(&format!("{id},{ra:?},{dec:?},{rad:?}\n"));
        rows.push((ra, dec, rad));
    }
    std::fs::write(dir.join("pts.csv"), csv).expect("csv");
    rows
}

async fn gateway(inputs: &Path, work: &Path, db: Option<String>) -> vogate::Gateway {
    let s = common::catalog_settings(
        &inputs.join("g.yaml"),
        work,
        None,
        db,
        ("g.pts", "ra", "dec"),
    );
    let gw = vogate::prepare(s.clone()).expect("prepare");
    assert_eq!(
        vogate::load_csv(&s, "g.pts", &inputs.join("pts.csv")).expect("pts"),
        POINTS
    );
    gw
}

/// The rows of `adql` on `gw`, or why not.
async fn rows(gw: &vogate::Gateway, adql: &str) -> Result<Vec<serde_json::Value>, String> {
    let (status, body, text) = common::tap_json(gw, adql).await;
    if status != 200 || body["query_status"] != "OK" {
        return Err(format!("{status}: {text}"));
    }
    Ok(body["data"].as_array().cloned().unwrap_or_default())
}

/// One case on one backend: every disagreement with brute force outside the band.
async fn check(
    gw: &vogate::Gateway,
    s: &Shape,
    pts: &[(f64, f64, f64)],
    reference: (f64, f64),
) -> Result<usize, String> {
    let mut bad = Vec::new();
    // How many box and triangle relations brute force could decide (and so were compared).
    let mut decided = 0;
    // CONTAINS(POINT, shape) in WHERE (through the index prefilter).
    let inside: BTreeSet<i64> = rows(
        gw,
        &format!(
            "SELECT id FROM g.pts WHERE CONTAINS(POINT(ra, dec), {}) = 1",
            s.adql(None)
        ),
    )
    .await?
    .iter()
    .filter_map(|r| r[0].as_i64())
    .collect();
    for (i, (ra, dec, _)) in pts.iter().enumerate() {
        let id = i as i64 + 1;
        if inside.contains(&id) != s.contains(*ra, *dec) && !s.near_edge(*ra, *dec) {
            bad.push(format!(
                "point {id} ({ra}, {dec}): CONTAINS {} (brute force {})",
                inside.contains(&id),
                s.contains(*ra, *dec)
            ));
        }
    }
    // Circles around the first points against the shape, in a SELECT list.
    let sql = format!(
        "SELECT id, INTERSECTS(CIRCLE(ra, dec, rad), {s0}), CONTAINS({s0}, CIRCLE(ra, dec, rad)), CONTAINS(CIRCLE(ra, dec, rad), {s0}), DISTANCE(POINT(ra, dec), POINT({:?}, {:?})) FROM g.pts WHERE id <= {CIRCLES} ORDER BY id",
        reference.0,
        reference.1,
        s0 = s.adql(None)
    );
    for r in rows(gw, &sql).await? {
        let id = r[0].as_i64().unwrap_or(0);
        let Some(&(ra, dec, rad)) = usize::try_from(id - 1).ok().and_then(|i| pts.get(i)) else {
            bad.push(format!("row {r}: no such point"));
            continue;
        };
        let dist = s.distance(ra, dec);
        let (ara, adec) = ((ra + 180.0).rem_euclid(360.0), -dec);
        let far = 180.0 - s.distance(ara, adec);
        let edge = if s.contains(ra, dec) {
            s.boundary_distance(ra, dec)
        } else {
            0.0
        };
        let checks = [
            (
                "INTERSECTS(circle, shape)",
                1,
                dist <= rad,
                (dist - rad).abs(),
            ),
            ("CONTAINS(circle, shape)", 2, far <= rad, (far - rad).abs()),
            (
                "CONTAINS(shape, circle)",
                3,
                s.contains(ra, dec) && edge >= rad,
                if s.contains(ra, dec) {
                    (edge - rad).abs()
                } else {
                    s.boundary_distance(ra, dec)
                },
            ),
        ];
        for (what, col, want, margin) in checks {
            let got = r[col].as_i64() == Some(1);
            if got != want && margin > BAND {
                bad.push(format!(
                    "circle {id} ({ra}, {dec}, r {rad}): {what} {got} (brute force {want}, {margin} from the edge)"
                ));
            }
        }
        let d = r[4].as_f64().unwrap_or(f64::NAN);
        let want = haversine(ra, dec, reference.0, reference.1);
        if (d - want).abs() > BAND || d.is_nan() {
            bad.push(format!("point {id}: DISTANCE {d} (brute force {want})"));
        }
    }
    // Boxes and polygons around the first points against the shape, both ways round.
    let sql = format!(
        "SELECT id, INTERSECTS(BOX(ra, dec, rad, rad / 2), {s0}), CONTAINS(BOX(ra, dec, rad, rad / 2), {s0}), CONTAINS({s0}, BOX(ra, dec, rad, rad / 2)), INTERSECTS(POLYGON(ra - rad / 8, dec - rad / 10, ra + rad / 8, dec - rad / 10, ra, dec + rad / 10), {s0}), CONTAINS(POLYGON(ra - rad / 8, dec - rad / 10, ra + rad / 8, dec - rad / 10, ra, dec + rad / 10), {s0}), CONTAINS({s0}, POLYGON(ra - rad / 8, dec - rad / 10, ra + rad / 8, dec - rad / 10, ra, dec + rad / 10)) FROM g.pts WHERE id <= {RELATED} AND dec BETWEEN -60 AND 60 ORDER BY id",
        s0 = s.adql(None)
    );
    for r in rows(gw, &sql).await? {
        let id = r[0].as_i64().unwrap_or(0);
        let Some(&(ra, dec, rad)) = usize::try_from(id - 1).ok().and_then(|i| pts.get(i)) else {
            bad.push(format!("row {r}: no such point"));
            continue;
        };
        let bx = Shape::Box(ra, dec, rad, rad / 2.0);
        let tri = Shape::Polygon(
            vec![
                (ra - rad / 8.0, dec - rad / 10.0),
                (ra + rad / 8.0, dec - rad / 10.0),
                (ra, dec + rad / 10.0),
            ],
            (ra, dec - rad / 30.0),
        );
        for (col, t) in [(1, &bx), (4, &tri)] {
            let [meets, t_in_s, s_in_t] = t.relations(s);
            let name = if col == 1 { "BOX" } else { "POLYGON" };
            for (k, what, want) in [
                (0, "INTERSECTS", meets),
                (1, "CONTAINS(row, shape)", t_in_s),
                (2, "CONTAINS(shape, row)", s_in_t),
            ] {
                let got = r[col + k].as_i64() == Some(1);
                decided += usize::from(want.is_some());
                if want.is_some_and(|w| w != got) {
                    bad.push(format!(
                        "{name} around point {id} ({ra}, {dec}, {rad}): {what} {got} (brute force {want:?})"
                    ));
                }
            }
        }
    }
    // AREA, computed by the database (the shape depends on a column).
    let area = rows(
        gw,
        &format!(
            "SELECT AREA({}) FROM g.pts WHERE id = 1",
            s.adql(Some("ra"))
        ),
    )
    .await?;
    let got = area.first().and_then(|r| r[0].as_f64()).unwrap_or(f64::NAN);
    let want = s.area();
    if (got - want).abs() > 1e-9 * want.abs().max(1e-6) || got.is_nan() {
        bad.push(format!("AREA {got} (brute force {want})"));
    }
    if bad.is_empty() {
        Ok(decided)
    } else {
        bad.truncate(8);
        Err(bad.join("\n    "))
    }
}

async fn props() {
    let url = vogate_tests::fresh_pg_database("geometry_props");
    let (inputs, w1, w2) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let pts = write_inputs(inputs.path());
    let lite = gateway(inputs.path(), w1.path(), None).await;
    let pg = gateway(inputs.path(), w2.path(), Some(url)).await;
    let cases: u32 = std::env::var("VOGATE_GEOMETRY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    // A fixed seed, so that a failure is reproduced by the next run.
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = (shape(), centre());
    let mut failures = Vec::new();
    let mut tried = 0;
    let mut decided = 0;
    // Each case is drawn from the strategies and run here: the queries are async, which
    // proptest's runner is not.
    let mut generated = Vec::new();
    for _ in 0..cases {
        let tree = strategy.new_tree(&mut runner).expect("a case");
        generated.push(tree.current());
    }
    for (s, reference) in generated {
        tried += 1;
        for (name, gw) in [("SQLite", &lite), ("PostgreSQL", &pg)] {
            match check(gw, &s, &pts, reference).await {
                Ok(n) => decided += n,
                Err(why) => failures.push(format!("{name}: {s:?}\n    {why}")),
            }
        }
    }
    println!(
        "geometry_props: {tried} random shapes against {POINTS} points, {CIRCLES} circles and {RELATED} boxes and triangles on SQLite and PostgreSQL ({decided} box and triangle relations decided by brute force): {} disagreements with brute force",
        failures.len()
    );
    assert!(
        decided >= tried as usize * 100,
        "brute force decided only {decided} relations"
    );
    assert!(tried >= 32, "only {tried} cases generated");
    assert!(
        failures.is_empty(),
        "{} cases disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

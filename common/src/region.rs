//! Spherical polygons and the predicates ADQL's CONTAINS and INTERSECTS need (ADQL 2.1 §4.2).
//!
//! A [`Polygon`] is a simple polygon whose edges are great-circle arcs between consecutive
//! vertices, smaller than a hemisphere; either vertex order is accepted (the region is the
//! smaller of the two the edges bound, as DALI 1.1 §3.3.7 reads polygons). Predicates are
//! exact up to floating-point rounding (about 1e-15 rad): crossing tests of great-circle arcs,
//! with no planar approximation.
//!
//! STC-S text (`POLYGON ICRS ra1 dec1 ...`, as in ObsCore s_region) reads with
//! [`parse_stcs_polygon`].

use crate::sky::{angle_between, cross, dot, SkyPoint, Vec3};

/// A spherical polygon (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    vertices: Vec<Vec3>,
    /// A point strictly outside the polygon: beyond the cap that holds it.
    outside: Vec3,
    /// The vertices' normalised mean, inside or near the polygon.
    centre: Vec3,
    /// Radius (radians) of the cap around `centre` that holds every vertex, and so the
    /// whole polygon (a cap smaller than a hemisphere is convex).
    cap: f64,
}

fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn normalize(a: Vec3) -> Option<Vec3> {
    let n = dot(a, a).sqrt();
    (n > 1e-300).then(|| [a[0] / n, a[1] / n, a[2] / n])
}

/// Whether the great-circle arcs a0-a1 and b0-b1 (each shorter than 180 degrees) cross or
/// touch.
pub fn arcs_intersect(a0: Vec3, a1: Vec3, b0: Vec3, b1: Vec3) -> bool {
    let na = cross(a0, a1);
    let nb = cross(b0, b1);
    // b0 and b1 on opposite sides (or on) the great circle of a, and vice versa...
    let s_b0 = dot(na, b0);
    let s_b1 = dot(na, b1);
    let s_a0 = dot(nb, a0);
    let s_a1 = dot(nb, a1);
    if s_b0 * s_b1 > 0.0 || s_a0 * s_a1 > 0.0 {
        return false;
    }
    // ...and the crossing point is on both arcs, not on their antipodes.
    let Some(x) = normalize(cross(na, nb)) else {
        // Same great circle: overlapping if an endpoint of one lies on the other.
        return on_arc(b0, a0, a1) || on_arc(b1, a0, a1) || on_arc(a0, b0, b1);
    };
    let mid_a = [a0[0] + a1[0], a0[1] + a1[1], a0[2] + a1[2]];
    let x = if dot(x, mid_a) < 0.0 {
        [-x[0], -x[1], -x[2]]
    } else {
        x
    };
    on_arc(x, a0, a1) && on_arc(x, b0, b1)
}

/// Whether the closed polygon through `vertices` (great-circle edges, in order) has two
/// edges that cross or touch other than at the vertex they share: then it bounds no simple
/// region. O(n²) in the vertex count.
pub fn edges_cross(vertices: &[crate::sky::SkyPoint]) -> bool {
    let v: Vec<Vec3> = vertices.iter().map(|p| p.to_vec()).collect();
    let n = v.len();
    for i in 0..n {
        for j in i + 1..n {
            // Adjacent edges share a vertex (edge n-1 and edge 0 too).
            if j == i + 1 || (i == 0 && j == n - 1) {
                continue;
            }
            if arcs_intersect(v[i], v[(i + 1) % n], v[j], v[(j + 1) % n]) {
                return true;
            }
        }
    }
    false
}

/// Whether `p`, on the great circle through a and b, lies on the shorter arc a-b.
fn on_arc(p: Vec3, a: Vec3, b: Vec3) -> bool {
    let ab = angle_between(a, b);
    (angle_between(a, p) + angle_between(p, b) - ab).abs() < 1e-12
}

/// The angular distance in radians from `p` to the great-circle arc a-b.
pub fn distance_to_arc(p: Vec3, a: Vec3, b: Vec3) -> f64 {
    let n = cross(a, b);
    if let Some(n) = normalize(n) {
        // Projection of p on the great circle.
        let pn = dot(p, n);
        if let Some(q) = normalize(sub(p, [n[0] * pn, n[1] * pn, n[2] * pn])) {
            if on_arc(q, a, b) {
                return pn.abs().min(1.0).asin();
            }
        }
    }
    angle_between(p, a).min(angle_between(p, b))
}

impl Polygon {
    /// A polygon through `vertices` (at least 3, ICRS degrees). Errors say what is wrong: too
    /// few vertices, repeated consecutive vertices, or a polygon that is not smaller than a
    /// hemisphere.
    pub fn new(vertices: &[SkyPoint]) -> Result<Polygon, String> {
        if vertices.len() < 3 {
            return Err(format!(
                "a polygon needs at least 3 vertices, not {}",
                vertices.len()
            ));
        }
        let vs: Vec<Vec3> = vertices.iter().map(|p| p.to_vec()).collect();
        for i in 0..vs.len() {
            let j = (i + 1) % vs.len();
            if angle_between(vs[i], vs[j]) < 1e-14 {
                return Err(format!("polygon vertices {} and {} coincide", i + 1, j + 1));
            }
        }
        let mut sum = [0.0; 3];
        for v in &vs {
            sum = [sum[0] + v[0], sum[1] + v[1], sum[2] + v[2]];
        }
        let too_big = || {
            "the polygon does not fit within 89 degrees of one point on the sky (vogate's \
             limit: a cap smaller than a hemisphere)"
                .to_string()
        };
        let mut centre = normalize(sum).ok_or_else(too_big)?;
        let mut cap = vs
            .iter()
            .map(|v| angle_between(centre, *v))
            .fold(0.0, f64::max);
        if cap >= 89f64.to_radians() && vs.len() <= 16 {
            // The vertices' mean can be a poor centre for long thin shapes: try the smallest
            // enclosing cap (exact, O(n^4), fine for a few vertices).
            if let Some(c) = crate::sky::smallest_enclosing_circle(vertices) {
                centre = c.centre.to_vec();
                cap = vs
                    .iter()
                    .map(|v| angle_between(centre, *v))
                    .fold(0.0, f64::max);
            }
        }
        if cap >= 89f64.to_radians() {
            return Err(too_big());
        }
        // The outside point: from the centre towards the first vertex, one degree past the
        // cap. Every point of the polygon is within `cap` of the centre, so this one is not;
        // and any point inside the cap is less than 180 degrees from it.
        let towards = normalize(cross(cross(centre, vs[0]), centre)).unwrap_or([0.0, 0.0, 1.0]);
        let beyond = cap + 1f64.to_radians();
        let outside = [
            centre[0] * beyond.cos() + towards[0] * beyond.sin(),
            centre[1] * beyond.cos() + towards[1] * beyond.sin(),
            centre[2] * beyond.cos() + towards[2] * beyond.sin(),
        ];
        Ok(Polygon {
            outside,
            centre,
            cap,
            vertices: vs,
        })
    }

    /// A cap that holds the polygon: its centre (the vertices' normalised mean, or the
    /// centre of their smallest enclosing circle) and radius in degrees.
    pub fn cap(&self) -> (SkyPoint, f64) {
        (SkyPoint::from_vec(self.centre), self.cap.to_degrees())
    }

    /// The vertices as unit vectors.
    pub fn vertices(&self) -> &[Vec3] {
        &self.vertices
    }

    fn edges(&self) -> impl Iterator<Item = (Vec3, Vec3)> + '_ {
        let n = self.vertices.len();
        (0..n).map(move |i| (self.vertices[i], self.vertices[(i + 1) % n]))
    }

    /// Whether the point `p` is inside the polygon or on its boundary.
    pub fn contains_vec(&self, p: Vec3) -> bool {
        if self.edges().any(|(a, b)| distance_to_arc(p, a, b) < 1e-14) {
            return true;
        }
        // Points outside the cap that holds the polygon are outside it.
        if angle_between(p, self.centre) > self.cap + 1e-12 {
            return false;
        }
        // Crossing number of the arc from p to a point outside, which is shorter than 180
        // degrees because p is in the cap. Rotate the outside point slightly if the arc would
        // pass exactly through a vertex.
        let mut out = self.outside;
        for attempt in 0..8 {
            let through_vertex = self.vertices.iter().any(|v| {
                let n = cross(p, out);
                normalize(n).is_some_and(|n| dot(n, *v).abs() < 1e-12 && on_arc(*v, p, out))
            });
            if !through_vertex {
                break;
            }
            let tilt = 1e-3 * f64::from(attempt + 1);
            out =
                normalize([out[0] + tilt, out[1] - tilt * 0.7, out[2] + tilt * 0.3]).unwrap_or(out);
        }
        let crossings = self
            .edges()
            .filter(|&(a, b)| arcs_intersect(p, out, a, b))
            .count();
        crossings % 2 == 1
    }

    /// Whether the point is inside the polygon or on its boundary.
    pub fn contains(&self, p: SkyPoint) -> bool {
        self.contains_vec(p.to_vec())
    }

    /// Whether the polygon and the circle of `radius` degrees around `centre` share a point.
    pub fn intersects_circle(&self, centre: SkyPoint, radius: f64) -> bool {
        let c = centre.to_vec();
        let r = radius.to_radians();
        self.contains_vec(c) || self.edges().any(|(a, b)| distance_to_arc(c, a, b) <= r)
    }

    /// Whether the two polygons share a point.
    pub fn intersects_polygon(&self, other: &Polygon) -> bool {
        self.vertices.iter().any(|v| other.contains_vec(*v))
            || other.vertices.iter().any(|v| self.contains_vec(*v))
            || self
                .edges()
                .any(|(a, b)| other.edges().any(|(c, d)| arcs_intersect(a, b, c, d)))
    }
}

/// Parse STC-S `POLYGON [frame] ra1 dec1 ra2 dec2 ...` (degrees). The frame, if any, must be
/// ICRS (or omitted). Errors name what could not be read.
pub fn parse_stcs_polygon(text: &str) -> Result<Polygon, String> {
    let mut words = text.split_whitespace().peekable();
    match words.next() {
        Some(w) if w.eq_ignore_ascii_case("POLYGON") => {}
        _ => return Err(format!("'{}' is not an STC-S POLYGON", shorten(text))),
    }
    if let Some(w) = words.peek() {
        if w.parse::<f64>().is_err() {
            if !(w.eq_ignore_ascii_case("ICRS") || w.eq_ignore_ascii_case("UNKNOWNFRAME")) {
                return Err(format!("STC-S frame '{w}' is not supported: use ICRS"));
            }
            words.next();
        }
    }
    let nums: Result<Vec<f64>, _> = words.map(str::parse::<f64>).collect();
    let nums =
        nums.map_err(|_| format!("'{}' has a coordinate that is not a number", shorten(text)))?;
    if nums.len() % 2 != 0 {
        return Err(format!(
            "'{}' has an odd number of coordinates",
            shorten(text)
        ));
    }
    let points: Vec<SkyPoint> = nums.chunks(2).map(|c| SkyPoint::new(c[0], c[1])).collect();
    if points
        .iter()
        .any(|p| !(-90.0..=90.0).contains(&p.dec) || !p.ra.is_finite())
    {
        return Err(format!(
            "'{}' has a latitude outside [-90, 90]",
            shorten(text)
        ));
    }
    Polygon::new(&points)
}

fn shorten(s: &str) -> String {
    let t: String = s.chars().take(60).collect();
    if t.len() < s.len() {
        format!("{t}...")
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gnomonic projection about `c`: great circles become straight lines, so the planar
    /// point-in-polygon of the projected points is an exact, independent oracle for polygons
    /// within the hemisphere around `c`.
    fn gnomonic(c: Vec3, p: Vec3) -> Option<(f64, f64)> {
        let d = dot(c, p);
        if d <= 0.0 {
            return None;
        }
        let east = normalize(cross([0.0, 0.0, 1.0], c)).unwrap_or([0.0, 1.0, 0.0]);
        let north = cross(c, east);
        Some((dot(p, east) / d, dot(p, north) / d))
    }

    fn planar_inside(poly: &[(f64, f64)], (x, y): (f64, f64)) -> bool {
        let mut inside = false;
        let n = poly.len();
        for i in 0..n {
            let (xi, yi) = poly[i];
            let (xj, yj) = poly[(i + n - 1) % n];
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
        }
        inside
    }

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn contains_matches_the_gnomonic_oracle_including_poles_and_ra0() {
        let shapes: Vec<Vec<(f64, f64)>> = vec![
            vec![(359.0, -1.0), (1.0, -1.0), (1.0, 1.0), (359.0, 1.0)],
            // Around the north pole, clockwise order.
            vec![(0.0, 88.0), (270.0, 88.0), (180.0, 88.0), (90.0, 88.0)],
            // Non-convex (a chevron) near the south pole.
            vec![
                (10.0, -80.0),
                (50.0, -80.0),
                (30.0, -75.0),
                (50.0, -70.0),
                (10.0, -70.0),
            ],
            vec![(120.0, 20.0), (150.0, 25.0), (140.0, 50.0)],
        ];
        let mut seed = 7;
        for shape in shapes {
            let pts: Vec<SkyPoint> = shape.iter().map(|&(r, d)| SkyPoint::new(r, d)).collect();
            let poly = Polygon::new(&pts).expect("polygon");
            let c = poly.centre;
            let proj: Vec<(f64, f64)> = pts
                .iter()
                .map(|p| gnomonic(c, p.to_vec()).expect("front"))
                .collect();
            let mut inside = 0;
            // Points in a cap twice as wide as the polygon, around its centre.
            let extent = 2.0
                * poly
                    .vertices()
                    .iter()
                    .map(|v| angle_between(c, *v))
                    .fold(0.0, f64::max);
            for _ in 0..4000 {
                let r = extent * lcg(&mut seed).sqrt();
                let t = std::f64::consts::TAU * lcg(&mut seed);
                let east = normalize(cross([0.0, 0.0, 1.0], c)).unwrap_or([0.0, 1.0, 0.0]);
                let north = cross(c, east);
                let p = normalize([
                    c[0] * r.cos() + (east[0] * t.cos() + north[0] * t.sin()) * r.sin(),
                    c[1] * r.cos() + (east[1] * t.cos() + north[1] * t.sin()) * r.sin(),
                    c[2] * r.cos() + (east[2] * t.cos() + north[2] * t.sin()) * r.sin(),
                ])
                .expect("unit");
                let want = planar_inside(&proj, gnomonic(c, p).expect("front"));
                assert_eq!(
                    poly.contains_vec(p),
                    want,
                    "{shape:?} at {:?}",
                    SkyPoint::from_vec(p)
                );
                inside += usize::from(want);
            }
            assert!(
                inside > 200,
                "the sample must probe the inside too: {inside}"
            );
        }
    }

    #[test]
    fn the_centre_and_the_vertices_are_inside() {
        let poly = parse_stcs_polygon("POLYGON ICRS 357.5 -31 0.6 -30.2 0.4 -28.5 357.3 -29.4")
            .expect("poly");
        assert!(poly.contains_vec(poly.centre));
        for v in poly.vertices() {
            assert!(poly.contains_vec(*v));
        }
        assert!(!poly.contains(SkyPoint::new(179.0, 30.0)));
    }

    #[test]
    fn intersections_with_circles_and_polygons() {
        let square = parse_stcs_polygon("POLYGON ICRS 359 -1 1 -1 1 1 359 1").expect("square");
        assert!(square.intersects_circle(SkyPoint::new(0.0, 0.0), 0.1));
        assert!(square.intersects_circle(SkyPoint::new(2.0, 0.0), 1.01));
        assert!(!square.intersects_circle(SkyPoint::new(2.0, 0.0), 0.99));
        // Circle holding the whole square.
        assert!(square.intersects_circle(SkyPoint::new(10.0, 0.0), 15.0));
        let other = parse_stcs_polygon("POLYGON 0.5 0.5 3 0.5 3 3").expect("triangle");
        assert!(square.intersects_polygon(&other) && other.intersects_polygon(&square));
        let far = parse_stcs_polygon("POLYGON ICRS 10 10 12 10 12 12").expect("far");
        assert!(!square.intersects_polygon(&far));
        // Crossing edges with no vertex inside the other: a plus sign.
        let h = parse_stcs_polygon("POLYGON ICRS 355 -0.5 5 -0.5 5 0.5 355 0.5").expect("h");
        let v = parse_stcs_polygon("POLYGON ICRS 359.5 -5 0.5 -5 0.5 5 359.5 5").expect("v");
        assert!(h.intersects_polygon(&v));
    }

    #[test]
    fn bad_stcs_is_refused_with_reasons() {
        assert!(parse_stcs_polygon("CIRCLE ICRS 1 2 3")
            .expect_err("circle")
            .contains("not an STC-S POLYGON"));
        assert!(parse_stcs_polygon("POLYGON GALACTIC 1 2 3 4 5 6")
            .expect_err("frame")
            .contains("GALACTIC"));
        assert!(parse_stcs_polygon("POLYGON ICRS 1 2 3 4 5")
            .expect_err("odd")
            .contains("odd"));
        assert!(parse_stcs_polygon("POLYGON ICRS 1 2 3 4")
            .expect_err("two")
            .contains("at least 3"));
        assert!(parse_stcs_polygon("POLYGON ICRS 1 2 3 x 5 6")
            .expect_err("nan")
            .contains("not a number"));
        assert!(parse_stcs_polygon("POLYGON ICRS 0 0 120 0 240 0")
            .expect_err("big")
            .contains("hemisphere"));
        // Long and thin, but within a cap of less than 89 degrees: accepted.
        let thin = parse_stcs_polygon("POLYGON ICRS 266 -29 267 -29 85.27 -2.46").expect("thin");
        assert!(thin.vertices().len() == 3);
        assert!(parse_stcs_polygon("POLYGON ICRS 1 2 1 2 5 6")
            .expect_err("dup")
            .contains("coincide"));
    }
}

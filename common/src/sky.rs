//! Spherical geometry on the unit celestial sphere.
//!
//! Positions are (`ra`, `dec`) in degrees, RA in [0, 360) once normalised, Dec in [-90, 90].
//! Vectors are unit 3-vectors with x towards (ra, dec) = (0, 0), y towards (90, 0) and z
//! towards the north pole. Distances are great-circle angles in degrees.

/// A position on the sky, in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SkyPoint {
    /// Right ascension (or longitude), degrees.
    pub ra: f64,
    /// Declination (or latitude), degrees.
    pub dec: f64,
}

/// A unit 3-vector.
pub type Vec3 = [f64; 3];

impl SkyPoint {
    /// A point at (`ra`, `dec`) degrees, RA normalised into [0, 360).
    pub fn new(ra: f64, dec: f64) -> Self {
        SkyPoint {
            ra: normalize_ra(ra),
            dec,
        }
    }

    /// The unit vector of this position.
    pub fn to_vec(self) -> Vec3 {
        let (ra, dec) = (self.ra.to_radians(), self.dec.to_radians());
        [dec.cos() * ra.cos(), dec.cos() * ra.sin(), dec.sin()]
    }

    /// The position of a (not necessarily unit, non-zero) vector.
    pub fn from_vec(v: Vec3) -> Self {
        let r = (v[0] * v[0] + v[1] * v[1]).sqrt();
        SkyPoint::new(v[1].atan2(v[0]).to_degrees(), v[2].atan2(r).to_degrees())
    }

    /// Great-circle distance to `other`, degrees, in [0, 180]. Uses the Vincenty formula,
    /// which is accurate at every separation (unlike the cosine rule near 0 and haversine
    /// near 180).
    pub fn distance(self, other: SkyPoint) -> f64 {
        angle_between(self.to_vec(), other.to_vec()).to_degrees()
    }
}

/// `ra` wrapped into [0, 360) degrees.
pub fn normalize_ra(ra: f64) -> f64 {
    let r = ra.rem_euclid(360.0);
    if r >= 360.0 {
        0.0
    } else {
        r
    }
}

/// Dot product.
pub fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Cross product.
pub fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}

fn normalize(a: Vec3) -> Option<Vec3> {
    let n = norm(a);
    (n > 1e-300).then(|| [a[0] / n, a[1] / n, a[2] / n])
}

/// Angle between two unit vectors, radians, in [0, π] (atan2 of |a×b| and a·b).
pub fn angle_between(a: Vec3, b: Vec3) -> f64 {
    norm(cross(a, b)).atan2(dot(a, b))
}

/// Whether `p` lies in the circle (spherical cap) of `radius` degrees around `centre`,
/// boundary included. A radius of 180 or more covers the whole sky.
pub fn circle_contains(centre: SkyPoint, radius: f64, p: SkyPoint) -> bool {
    centre.distance(p) <= radius
}

/// A circle on the sphere: centre and radius in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    /// Centre.
    pub centre: SkyPoint,
    /// Radius, degrees.
    pub radius: f64,
}

/// The smallest circle (spherical cap) holding all `points`, found by trying every circle
/// through two points as a diameter and through three points, and keeping the smallest that
/// holds them all (exact for the handful of corners of an image footprint; O(n⁴)).
/// Returns `None` for no points, or when no cap smaller than a hemisphere holds them.
pub fn smallest_enclosing_circle(points: &[SkyPoint]) -> Option<Circle> {
    let vs: Vec<Vec3> = points.iter().map(|p| p.to_vec()).collect();
    if vs.is_empty() {
        return None;
    }
    if vs.len() == 1 {
        return Some(Circle {
            centre: points[0],
            radius: 0.0,
        });
    }
    // Slack for rounding: 1e-9 degrees is 3.6 micro-arcseconds.
    let holds_all = |c: Vec3, r: f64| vs.iter().all(|v| angle_between(c, *v) <= r + 1e-11);
    let mut best: Option<(Vec3, f64)> = None;
    let mut consider = |c: Vec3, r: f64| {
        if r < std::f64::consts::FRAC_PI_2 + 1e-12
            && best.is_none_or(|(_, br)| r < br)
            && holds_all(c, r)
        {
            best = Some((c, r));
        }
    };
    for i in 0..vs.len() {
        for j in i + 1..vs.len() {
            let mid = [
                vs[i][0] + vs[j][0],
                vs[i][1] + vs[j][1],
                vs[i][2] + vs[j][2],
            ];
            if let Some(c) = normalize(mid) {
                consider(c, angle_between(c, vs[i]));
            }
            for k in j + 1..vs.len() {
                // The circumcentre of three points is along the normal of their plane.
                let n = cross(
                    [
                        vs[j][0] - vs[i][0],
                        vs[j][1] - vs[i][1],
                        vs[j][2] - vs[i][2],
                    ],
                    [
                        vs[k][0] - vs[i][0],
                        vs[k][1] - vs[i][1],
                        vs[k][2] - vs[i][2],
                    ],
                );
                if let Some(c) = normalize(n) {
                    let c = if dot(c, vs[i]) < 0.0 {
                        [-c[0], -c[1], -c[2]]
                    } else {
                        c
                    };
                    consider(c, angle_between(c, vs[i]));
                }
            }
        }
    }
    best.map(|(c, r)| Circle {
        centre: SkyPoint::from_vec(c),
        radius: r.to_degrees(),
    })
}

/// Orientation of the closed polygon `vertices` as seen from the centre of the sphere,
/// relative to the point `inside`: positive when the vertices run counter-clockwise (the
/// IVOA convention for ADQL/STC-S polygons), negative when clockwise.
///
/// Seen from the centre with north up, east is on the left; counter-clockwise then means the
/// sum of `(v_i × v_{i+1}) · inside` is negative, and this function returns its negation.
pub fn ccw_orientation(vertices: &[SkyPoint], inside: SkyPoint) -> f64 {
    let c = inside.to_vec();
    let vs: Vec<Vec3> = vertices.iter().map(|p| p.to_vec()).collect();
    let mut sum = 0.0;
    for i in 0..vs.len() {
        sum += dot(cross(vs[i], vs[(i + 1) % vs.len()]), c);
    }
    -sum
}

/// `vertices` reordered, if needed, so that they run counter-clockwise as seen from the
/// centre of the sphere around `inside` (see [`ccw_orientation`]).
pub fn counter_clockwise(mut vertices: Vec<SkyPoint>, inside: SkyPoint) -> Vec<SkyPoint> {
    if ccw_orientation(&vertices, inside) < 0.0 {
        vertices.reverse();
    }
    vertices
}

/// The spherical convex hull of `points` (all within a hemisphere around their mean), as the
/// hull's vertices counter-clockwise as seen from the centre of the sphere. Computed as the
/// planar convex hull (Andrew's monotone chain) in the gnomonic projection about the points'
/// mean direction, which maps great circles to straight lines and so hulls to hulls.
/// `None` for fewer than 3 distinct points or points not within 89 degrees of their mean.
pub fn convex_hull(points: &[SkyPoint]) -> Option<Vec<SkyPoint>> {
    let vs: Vec<Vec3> = points.iter().map(|p| p.to_vec()).collect();
    let mut sum = [0.0; 3];
    for v in &vs {
        sum = [sum[0] + v[0], sum[1] + v[1], sum[2] + v[2]];
    }
    let c = normalize(sum)?;
    if vs.iter().any(|v| dot(*v, c) < 89f64.to_radians().cos()) {
        return None;
    }
    let east = normalize(cross([0.0, 0.0, 1.0], c)).unwrap_or([0.0, 1.0, 0.0]);
    let north = cross(c, east);
    let mut pts: Vec<(f64, f64, usize)> = vs
        .iter()
        .enumerate()
        .map(|(i, v)| (dot(*v, east) / dot(*v, c), dot(*v, north) / dot(*v, c), i))
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    pts.dedup_by(|a, b| (a.0 - b.0).abs() < 1e-15 && (a.1 - b.1).abs() < 1e-15);
    if pts.len() < 3 {
        return None;
    }
    let turn = |o: (f64, f64, usize), a: (f64, f64, usize), b: (f64, f64, usize)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(f64, f64, usize)> = Vec::new();
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(f64, f64, usize)>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && turn(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    if hull.len() < 3 {
        return None;
    }
    // The planar hull runs counter-clockwise in (east, north), which seen from the centre of
    // the sphere (east to the left) is clockwise: reverse it.
    let mut out: Vec<SkyPoint> = hull.iter().map(|h| points[h.2]).collect();
    out.reverse();
    Some(out)
}

/// The STC-S text `POLYGON ICRS ra1 dec1 ra2 dec2 ...` (degrees) of `vertices`, with the
/// shortest text that reads back to the same binary values.
pub fn stcs_polygon(vertices: &[SkyPoint]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(12 + 40 * vertices.len());
    s.push_str("POLYGON ICRS");
    for v in vertices {
        // Writing to a String cannot fail.
        let _ = write!(s, " {:?} {:?}", v.ra, v.dec);
    }
    s
}

/// The DALI xtypes of geometry values (DALI 1.1 §3.3.5–3.3.7): `point` (`double[2]`: ra,
/// dec), `circle` (`double[3]`: ra, dec, radius) and `polygon` (`double[*]`: ra, dec of each
/// vertex), all in degrees.
pub const DALI_GEOMETRY_XTYPES: [&str; 3] = ["point", "circle", "polygon"];

/// Whether `xtype` is one of [`DALI_GEOMETRY_XTYPES`] (any case).
pub fn is_dali_geometry(xtype: &str) -> bool {
    DALI_GEOMETRY_XTYPES
        .iter()
        .any(|g| g.eq_ignore_ascii_case(xtype))
}

/// The DALI text of a geometry value of xtype `xtype` ([`DALI_GEOMETRY_XTYPES`]) with the
/// numbers `values` (degrees): the numbers separated by single spaces, each the shortest text
/// that reads back to the same double, with every longitude wrapped into [0, 360) as DALI 1.1
/// §3.3.5 asks (a circle's radius and the latitudes are left as they are). NaN and the
/// infinities are written `NaN` (VOTable's text of a missing element).
pub fn dali_geometry_text(xtype: &str, values: &mut [f64]) -> String {
    let circle = xtype.eq_ignore_ascii_case("circle");
    let mut s = String::with_capacity(values.len() * 20);
    for (i, v) in values.iter_mut().enumerate() {
        // Longitudes are at the even places (a circle's radius is at place 2).
        if i % 2 == 0 && !(circle && i == 2) && v.is_finite() {
            *v = normalize_ra(*v) + 0.0;
        }
        if i > 0 {
            s.push(' ');
        }
        if !v.is_finite() {
            s.push_str("NaN");
        } else {
            use std::fmt::Write;
            let _ = write!(s, "{v:?}");
        }
    }
    s
}

/// [`dali_geometry_text`] of a geometry value given as text (numbers separated by spaces or
/// commas, as a database writes them: `Infinity` and `NaN` included), or `None` when a word is
/// not a number (the text is then best left as it is).
pub fn dali_geometry_normalised(xtype: &str, text: &str) -> Option<String> {
    let mut values = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| w.parse::<f64>().ok())
        .collect::<Option<Vec<f64>>>()?;
    Some(dali_geometry_text(xtype, &mut values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dali_geometry_text_wraps_longitudes_only() {
        assert_eq!(
            dali_geometry_text("point", &mut [-10.5, -20.0]),
            "349.5 -20.0"
        );
        assert_eq!(dali_geometry_text("point", &mut [360.0, 90.0]), "0.0 90.0");
        assert_eq!(
            dali_geometry_text("point", &mut [-0.0, 1e-300]),
            "0.0 1e-300"
        );
        // A circle's radius (place 2) is not a longitude.
        assert_eq!(
            dali_geometry_text("circle", &mut [725.0, 1.0, 370.0]),
            "5.0 1.0 370.0"
        );
        assert_eq!(
            dali_geometry_text("polygon", &mut [359.0, 1.0, 361.0, 2.0, -1.0, 3.0]),
            "359.0 1.0 1.0 2.0 359.0 3.0"
        );
        assert_eq!(dali_geometry_text("point", &mut [f64::NAN, 0.1]), "NaN 0.1");
        assert_eq!(
            dali_geometry_normalised("point", "-1.5 0.30000000000000004").as_deref(),
            Some("358.5 0.30000000000000004")
        );
        assert_eq!(
            dali_geometry_normalised("point", "Infinity 1").as_deref(),
            Some("NaN 1.0")
        );
        assert_eq!(dali_geometry_normalised("point", "POINT 1 2"), None);
    }

    /// Haversine distance in degrees, written independently as a cross-check.
    fn haversine(a: SkyPoint, b: SkyPoint) -> f64 {
        let (r1, d1, r2, d2) = (
            a.ra.to_radians(),
            a.dec.to_radians(),
            b.ra.to_radians(),
            b.dec.to_radians(),
        );
        let h =
            ((d2 - d1) / 2.0).sin().powi(2) + d1.cos() * d2.cos() * ((r2 - r1) / 2.0).sin().powi(2);
        (2.0 * h.sqrt().asin()).to_degrees()
    }

    #[test]
    fn distances_match_haversine_and_known_values() {
        let pairs = [
            ((0.0, 0.0), (90.0, 0.0), 90.0),
            ((10.0, 89.0), (190.0, 89.0), 2.0),
            ((359.9, 0.0), (0.1, 0.0), 0.2),
            ((0.0, -90.0), (123.0, 90.0), 180.0),
        ];
        for ((r1, d1), (r2, d2), want) in pairs {
            let (a, b) = (SkyPoint::new(r1, d1), SkyPoint::new(r2, d2));
            assert!((a.distance(b) - want).abs() < 1e-9, "{a:?} {b:?}");
            assert!((a.distance(b) - haversine(a, b)).abs() < 1e-7);
        }
    }

    #[test]
    fn ra_is_normalised() {
        assert_eq!(normalize_ra(-10.0), 350.0);
        assert_eq!(normalize_ra(360.0), 0.0);
        assert_eq!(SkyPoint::from_vec([0.0, -1.0, 0.0]).ra, 270.0);
    }

    #[test]
    fn enclosing_circle_of_a_square_is_its_circumcircle() {
        let pts = [
            SkyPoint::new(359.0, -1.0),
            SkyPoint::new(1.0, -1.0),
            SkyPoint::new(1.0, 1.0),
            SkyPoint::new(359.0, 1.0),
        ];
        let c = smallest_enclosing_circle(&pts).expect("circle");
        assert!(c.centre.distance(SkyPoint::new(0.0, 0.0)) < 1e-9);
        let want = SkyPoint::new(0.0, 0.0).distance(pts[0]);
        assert!((c.radius - want).abs() < 1e-9);
        // A thin pair: the circle on the diameter.
        let two = [SkyPoint::new(10.0, 0.0), SkyPoint::new(12.0, 0.0)];
        let c = smallest_enclosing_circle(&two).expect("circle");
        assert!((c.radius - 1.0).abs() < 1e-9 && (c.centre.ra - 11.0).abs() < 1e-9);
    }

    #[test]
    fn orientation_follows_the_sky_view() {
        // West -> north -> east, seen from inside with north up and east left, is CCW.
        let w_n_e_s = vec![
            SkyPoint::new(359.0, 0.0),
            SkyPoint::new(0.0, 1.0),
            SkyPoint::new(1.0, 0.0),
            SkyPoint::new(0.0, -1.0),
        ];
        let c = SkyPoint::new(0.0, 0.0);
        assert!(ccw_orientation(&w_n_e_s, c) > 0.0);
        let mut rev = w_n_e_s.clone();
        rev.reverse();
        assert!(ccw_orientation(&rev, c) < 0.0);
        assert_eq!(counter_clockwise(rev, c), w_n_e_s);
    }

    #[test]
    fn convex_hull_drops_inner_points_and_runs_ccw() {
        let pts = [
            SkyPoint::new(359.0, -1.0),
            SkyPoint::new(1.0, -1.0),
            SkyPoint::new(0.0, 0.0),
            SkyPoint::new(1.0, 1.0),
            SkyPoint::new(0.2, 0.3),
            SkyPoint::new(359.0, 1.0),
        ];
        let hull = convex_hull(&pts).expect("hull");
        assert_eq!(hull.len(), 4);
        assert!(!hull.contains(&pts[2]) && !hull.contains(&pts[4]));
        assert!(ccw_orientation(&hull, SkyPoint::new(0.0, 0.0)) > 0.0);
        // Around the pole.
        let polar: Vec<SkyPoint> = (0..8)
            .map(|i| SkyPoint::new(45.0 * i as f64, 88.0))
            .chain([SkyPoint::new(0.0, 90.0)])
            .collect();
        let hull = convex_hull(&polar).expect("hull");
        assert_eq!(hull.len(), 8);
        assert!(ccw_orientation(&hull, SkyPoint::new(0.0, 90.0)) > 0.0);
        assert!(convex_hull(&pts[..2]).is_none());
    }

    #[test]
    fn stcs_text() {
        let s = stcs_polygon(&[SkyPoint::new(1.5, -2.0), SkyPoint::new(3.0, 4.25)]);
        assert_eq!(s, "POLYGON ICRS 1.5 -2.0 3.0 4.25");
    }
}

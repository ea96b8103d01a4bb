//! ADQL's geometry values and the relations between them (ADQL 2.1 §4.2): CONTAINS and
//! INTERSECTS of every pair of POINT, CIRCLE, POLYGON and BOX, AREA and CENTROID, exact on
//! the sphere up to floating-point rounding (about 1e-15 rad), with no planar approximation
//! and no limit on circle radii.
//!
//! A BOX is pgSphere's `sbox` (pgSphere 1.2 documentation, "sbox"): the set of positions
//! whose longitude lies in a range and whose latitude lies in a range, so its edges are two
//! meridian arcs and two arcs of constant latitude (small circles), not four great circles.
//! `BOX(ra, dec, width, height)` spans longitudes `ra ± width/2` and latitudes
//! `dec ± height/2` (clamped to [-90, 90]); a width of 360 degrees or more is a whole ring
//! of latitudes.
//!
//! The method of each relation is the distance from a point to a shape: a circle of radius
//! r around c meets a shape when the shape comes within r of c, and holds it when the shape's
//! farthest point from c is within r, which is 180 degrees less the distance from the
//! antipode of c. Polygons and boxes against each other are compared through their
//! vertices and the crossings of their edges.

use crate::region::{arcs_intersect, distance_to_arc, Polygon};
use crate::sky::{angle_between, cross, dot, SkyPoint, Vec3};

/// A geometry value of ADQL 2.1 §4.2, positions in ICRS degrees.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    /// POINT(ra, dec).
    Point(SkyPoint),
    /// CIRCLE(ra, dec, radius): the closed spherical cap of `radius` degrees (0 to 180)
    /// around `centre`.
    Circle {
        /// The centre.
        centre: SkyPoint,
        /// The radius, degrees, in [0, 180].
        radius: f64,
    },
    /// POLYGON: great-circle edges, smaller than a hemisphere ([`Polygon`]).
    Polygon(Polygon),
    /// BOX: a range of longitudes by a range of latitudes ([`LonLatBox`]).
    Box(LonLatBox),
    /// The whole sky (an ObsCore all-sky row's region).
    AllSky,
}

/// A range of longitudes by a range of latitudes, as pgSphere's `sbox` (see the module
/// doc). Degrees throughout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLatBox {
    /// The western longitude edge, in [0, 360).
    pub lon_min: f64,
    /// The extent eastwards from `lon_min`, in [0, 360]; 360 is a whole ring.
    pub width: f64,
    /// The southern latitude edge, in [-90, 90].
    pub lat_min: f64,
    /// The northern latitude edge, in [`lat_min`](Self::lat_min), 90].
    pub lat_max: f64,
}

impl LonLatBox {
    /// ADQL's `BOX(ra, dec, width, height)` (degrees): longitudes `ra ± width/2`, latitudes
    /// `dec ± height/2` clamped to [-90, 90]. Errors: a size that is negative or not finite,
    /// a centre that is not a position.
    pub fn new(ra: f64, dec: f64, width: f64, height: f64) -> Result<LonLatBox, String> {
        if !ra.is_finite() || !(-90.0..=90.0).contains(&dec) {
            return Err(format!(
                "BOX centre ({ra}, {dec}) is not a position: RA must be finite and Dec in [-90, 90] degrees"
            ));
        }
        if !(width >= 0.0 && height >= 0.0 && width.is_finite() && height.is_finite()) {
            return Err(format!(
                "BOX width {width} and height {height} must be finite and not negative (degrees)"
            ));
        }
        let width = width.min(360.0);
        Ok(LonLatBox {
            lon_min: crate::sky::normalize_ra(ra - width / 2.0),
            width,
            lat_min: (dec - height / 2.0).max(-90.0),
            lat_max: (dec + height / 2.0).min(90.0),
        })
    }

    /// Whether the box is a whole ring of longitudes.
    pub fn full_ring(&self) -> bool {
        self.width >= 360.0
    }

    /// Whether longitude `lon` (degrees, any turn) lies in the box's range.
    pub fn has_lon(&self, lon: f64) -> bool {
        self.full_ring() || (lon - self.lon_min).rem_euclid(360.0) <= self.width
    }

    /// Whether the position lies in the box, edges included (a pole is in the box when its
    /// latitude is).
    pub fn contains(&self, p: SkyPoint) -> bool {
        (self.lat_min..=self.lat_max).contains(&p.dec)
            && (self.has_lon(p.ra) || p.dec.abs() >= 90.0)
    }

    /// The four corners, counter-clockwise from the south-west (seen from outside the sphere).
    pub fn corners(&self) -> [SkyPoint; 4] {
        let east = self.lon_min + self.width;
        [
            SkyPoint::new(self.lon_min, self.lat_min),
            SkyPoint::new(east, self.lat_min),
            SkyPoint::new(east, self.lat_max),
            SkyPoint::new(self.lon_min, self.lat_max),
        ]
    }

    /// The meridian edges as great-circle arcs (none for a whole ring); an edge from pole to
    /// pole is split at the equator, so every arc is shorter than 180 degrees.
    fn meridian_edges(&self) -> Vec<(Vec3, Vec3)> {
        if self.full_ring() {
            return vec![];
        }
        let mut out = Vec::new();
        for lon in [self.lon_min, self.lon_min + self.width] {
            let south = SkyPoint::new(lon, self.lat_min).to_vec();
            let north = SkyPoint::new(lon, self.lat_max).to_vec();
            if self.lat_max - self.lat_min >= 179.0 {
                let mid = SkyPoint::new(lon, (self.lat_min + self.lat_max) / 2.0).to_vec();
                out.push((south, mid));
                out.push((mid, north));
            } else {
                out.push((south, north));
            }
        }
        out
    }

    /// The angular distance (degrees) from `p` to the nearest point of the box, 0 inside.
    /// Where `p`'s longitude is in the box's range, the nearest point is on its meridian;
    /// elsewhere it is on one of the two meridian edges.
    pub fn distance(&self, p: SkyPoint) -> f64 {
        if self.has_lon(p.ra) || p.dec.abs() >= 90.0 {
            return (self.lat_min - p.dec).max(p.dec - self.lat_max).max(0.0);
        }
        let v = p.to_vec();
        self.meridian_edges()
            .into_iter()
            .map(|(a, b)| distance_to_arc(v, a, b).to_degrees())
            .fold(f64::INFINITY, f64::min)
    }

    /// The area in square degrees: width × (sin lat_max − sin lat_min), in radians squared.
    pub fn area(&self) -> f64 {
        let sr = self.width.to_radians()
            * (self.lat_max.to_radians().sin() - self.lat_min.to_radians().sin());
        sr * SQDEG_PER_SR
    }

    /// The area-weighted centroid (the direction of the integral of the position vector over
    /// the box): the middle longitude and a latitude nearer the equator than the middle one.
    /// `None` for a ring symmetric about the equator, which has no centroid direction.
    pub fn centroid(&self) -> Option<SkyPoint> {
        let (f1, f2) = (self.lat_min.to_radians(), self.lat_max.to_radians());
        let dl = self.width.to_radians();
        // ∫∫ cos φ · (cos φ cos λ, cos φ sin λ, sin φ) dφ dλ over the box, λ about the middle.
        let cos2 = |f: f64| f / 2.0 + (2.0 * f).sin() / 4.0;
        let m_xy = 2.0 * (dl / 2.0).sin() * (cos2(f2) - cos2(f1));
        let m_z = dl * (f2.sin().powi(2) - f1.sin().powi(2)) / 2.0;
        if m_xy.abs() < 1e-15 && m_z.abs() < 1e-15 {
            return None;
        }
        Some(SkyPoint::new(
            self.lon_min + self.width / 2.0,
            m_z.atan2(m_xy).to_degrees(),
        ))
    }
}

/// Square degrees in one steradian, (180/π)².
pub const SQDEG_PER_SR: f64 = (180.0 / std::f64::consts::PI) * (180.0 / std::f64::consts::PI);

fn antipode(p: SkyPoint) -> SkyPoint {
    SkyPoint::new(p.ra + 180.0, -p.dec)
}

fn normalize(a: Vec3) -> Option<Vec3> {
    let n = dot(a, a).sqrt();
    (n > 1e-300).then(|| [a[0] / n, a[1] / n, a[2] / n])
}

/// A great-circle arc a-b (shorter than 180 degrees) as `p(t) = a cos t + u sin t` for t
/// in [0, theta].
struct Arc {
    a: Vec3,
    u: Vec3,
    theta: f64,
}

impl Arc {
    fn new(a: Vec3, b: Vec3) -> Option<Arc> {
        let n = normalize(cross(a, b))?;
        Some(Arc {
            a,
            u: cross(n, a),
            theta: angle_between(a, b),
        })
    }

    fn at(&self, t: f64) -> Vec3 {
        let (s, c) = t.sin_cos();
        [
            self.a[0] * c + self.u[0] * s,
            self.a[1] * c + self.u[1] * s,
            self.a[2] * c + self.u[2] * s,
        ]
    }

    /// Keep the parameters of `ts` (any turn) that fall on the arc.
    fn on(&self, ts: impl IntoIterator<Item = f64>, out: &mut Vec<f64>) {
        for t in ts {
            let t = t.rem_euclid(std::f64::consts::TAU);
            if t <= self.theta {
                out.push(t);
            }
        }
    }

    /// Where the arc meets latitude `lat` (degrees).
    fn lat_params(&self, lat: f64, out: &mut Vec<f64>) {
        let r = self.a[2].hypot(self.u[2]);
        let z = lat.to_radians().sin();
        if r < 1e-300 || z.abs() > r {
            return;
        }
        let tau = self.u[2].atan2(self.a[2]);
        let delta = (z / r).clamp(-1.0, 1.0).acos();
        self.on([tau + delta, tau - delta], out);
    }

    /// Where the arc meets the great circle whose plane has the unit normal `m`.
    fn plane_params(&self, m: Vec3, out: &mut Vec<f64>) {
        let (x, y) = (dot(self.a, m), dot(self.u, m));
        if x.abs() < 1e-300 && y.abs() < 1e-300 {
            return;
        }
        let t = (-x).atan2(y);
        self.on([t, t + std::f64::consts::PI], out);
    }

    /// Whether every piece of the arc between consecutive parameters of `cuts` (and its
    /// ends) passes `inside` at its middle: the arc stays in a region whose boundary meets
    /// it only at the cuts.
    fn stays(&self, mut cuts: Vec<f64>, inside: &dyn Fn(SkyPoint) -> bool) -> bool {
        cuts.push(0.0);
        cuts.push(self.theta);
        cuts.sort_by(f64::total_cmp);
        cuts.dedup();
        cuts.windows(2).all(|w| {
            w[1] - w[0] < 1e-13 || inside(SkyPoint::from_vec(self.at((w[0] + w[1]) / 2.0)))
        })
    }
}

/// The unit normal of the plane of the meridian at `lon` degrees.
fn meridian_normal(lon: f64) -> Vec3 {
    let (s, c) = lon.to_radians().sin_cos();
    [-s, c, 0.0]
}

/// Whether the great-circle arc a-b lies in the box (every point, ends included).
fn arc_within_box(a: Vec3, b: Vec3, bx: &LonLatBox) -> bool {
    let inside = |p: SkyPoint| bx.contains(p);
    if !inside(SkyPoint::from_vec(a)) || !inside(SkyPoint::from_vec(b)) {
        return false;
    }
    let Some(arc) = Arc::new(a, b) else {
        return true;
    };
    let mut cuts = Vec::new();
    arc.lat_params(bx.lat_min, &mut cuts);
    arc.lat_params(bx.lat_max, &mut cuts);
    if !bx.full_ring() {
        arc.plane_params(meridian_normal(bx.lon_min), &mut cuts);
        arc.plane_params(meridian_normal(bx.lon_min + bx.width), &mut cuts);
    }
    arc.stays(cuts, &inside)
}

/// Whether the great-circle arc a-b lies in the polygon (every point, ends included).
fn arc_within_polygon(a: Vec3, b: Vec3, poly: &Polygon) -> bool {
    let inside = |p: SkyPoint| poly.contains(p);
    if !poly.contains_vec(a) || !poly.contains_vec(b) {
        return false;
    }
    let Some(arc) = Arc::new(a, b) else {
        return true;
    };
    let vs = poly.vertices();
    let mut cuts = Vec::new();
    for i in 0..vs.len() {
        if let Some(m) = normalize(cross(vs[i], vs[(i + 1) % vs.len()])) {
            arc.plane_params(m, &mut cuts);
        }
    }
    arc.stays(cuts, &inside)
}

/// Whether the box's boundary (meridian edges and parallels) lies in the polygon.
fn box_edges_within_polygon(bx: &LonLatBox, poly: &Polygon) -> bool {
    if !bx
        .meridian_edges()
        .into_iter()
        .all(|(c, d)| arc_within_polygon(c, d, poly))
    {
        return false;
    }
    let vs = poly.vertices();
    for lat in [bx.lat_min, bx.lat_max] {
        if lat.abs() >= 90.0 {
            continue;
        }
        // The parallel meets the polygon's boundary at these longitudes only.
        let mut lons = vec![bx.lon_min, bx.lon_min + bx.width];
        for i in 0..vs.len() {
            if let Some(arc) = Arc::new(vs[i], vs[(i + 1) % vs.len()]) {
                let mut ts = Vec::new();
                arc.lat_params(lat, &mut ts);
                lons.extend(ts.into_iter().map(|t| SkyPoint::from_vec(arc.at(t)).ra));
            }
        }
        let mut offsets: Vec<f64> = lons
            .into_iter()
            .map(|l| (l - bx.lon_min).rem_euclid(360.0))
            .filter(|d| *d <= bx.width)
            .chain([0.0, bx.width])
            .collect();
        offsets.sort_by(f64::total_cmp);
        offsets.dedup();
        let corners_ok = offsets
            .iter()
            .all(|d| poly.contains(SkyPoint::new(bx.lon_min + d, lat)));
        let pieces_ok = offsets.windows(2).all(|w| {
            w[1] - w[0] < 1e-12
                || poly.contains(SkyPoint::new(bx.lon_min + (w[0] + w[1]) / 2.0, lat))
        });
        if !(corners_ok && pieces_ok) {
            return false;
        }
    }
    true
}

/// Whether the great-circle arc a-b meets the box's boundary.
fn arc_meets_box(a: Vec3, b: Vec3, bx: &LonLatBox) -> bool {
    if bx
        .meridian_edges()
        .into_iter()
        .any(|(c, d)| arcs_intersect(a, b, c, d))
    {
        return true;
    }
    let Some(arc) = Arc::new(a, b) else {
        return false;
    };
    [bx.lat_min, bx.lat_max]
        .into_iter()
        .filter(|lat| lat.abs() < 90.0)
        .any(|lat| {
            let mut ts = Vec::new();
            arc.lat_params(lat, &mut ts);
            ts.into_iter()
                .any(|t| bx.has_lon(SkyPoint::from_vec(arc.at(t)).ra))
        })
}

/// The vector integral of the position over the polygon (see [`Geometry::centroid`]).
fn polygon_moment(poly: &Polygon) -> Vec3 {
    let v = poly.vertices();
    let mut m = [0.0; 3];
    let mut mean = [0.0; 3];
    for i in 0..v.len() {
        let (p, q) = (v[i], v[(i + 1) % v.len()]);
        if let Some(n) = normalize(cross(p, q)) {
            let theta = angle_between(p, q) / 2.0;
            m = [
                m[0] + theta * n[0],
                m[1] + theta * n[1],
                m[2] + theta * n[2],
            ];
        }
        mean = [mean[0] + p[0], mean[1] + p[1], mean[2] + p[2]];
    }
    // The edges' order gives the sign; the polygon is the side holding its vertices.
    if dot(m, mean) < 0.0 {
        m = [-m[0], -m[1], -m[2]];
    }
    m
}

/// The area of the polygon in steradians: the sum of the signed solid angles of the
/// triangles fanned from its first vertex (Van Oosterom & Strackee 1983, IEEE Trans.
/// Biomed. Eng. 30, 125), whose tangent form keeps small triangles accurate.
pub fn polygon_area_sr(vertices: &[Vec3]) -> f64 {
    let a = vertices[0];
    let mut sum = 0.0;
    for i in 1..vertices.len().saturating_sub(1) {
        let (b, c) = (vertices[i], vertices[i + 1]);
        // a · (b × c), with b and c taken relative to a to keep small triangles exact.
        let (bb, cc) = (
            [b[0] - a[0], b[1] - a[1], b[2] - a[2]],
            [c[0] - a[0], c[1] - a[1], c[2] - a[2]],
        );
        let num = dot(a, cross(bb, cc));
        let den = 1.0 + dot(a, b) + dot(b, c) + dot(c, a);
        sum += 2.0 * num.atan2(den);
    }
    sum.abs()
}

impl Geometry {
    /// A circle, its radius checked (degrees, [0, 180]) and its centre a position.
    pub fn circle(ra: f64, dec: f64, radius: f64) -> Result<Geometry, String> {
        if !ra.is_finite() || !(-90.0..=90.0).contains(&dec) {
            return Err(format!(
                "CIRCLE centre ({ra}, {dec}) is not a position: RA must be finite and Dec in [-90, 90] degrees"
            ));
        }
        if !(0.0..=180.0).contains(&radius) {
            return Err(format!(
                "CIRCLE radius {radius} must be in [0, 180] degrees"
            ));
        }
        Ok(Geometry::Circle {
            centre: SkyPoint::new(ra, dec),
            radius,
        })
    }

    /// Whether the position lies in the shape, boundary included.
    pub fn contains_point(&self, p: SkyPoint) -> bool {
        match self {
            Geometry::Point(q) => p.distance(*q) <= 0.0,
            Geometry::Circle { centre, radius } => p.distance(*centre) <= *radius,
            Geometry::Polygon(poly) => poly.contains(p),
            Geometry::Box(b) => b.contains(p),
            Geometry::AllSky => true,
        }
    }

    /// The angular distance in degrees from `p` to the nearest point of the shape (0 when
    /// `p` is in it).
    pub fn distance_to(&self, p: SkyPoint) -> f64 {
        match self {
            Geometry::Point(q) => p.distance(*q),
            Geometry::Circle { centre, radius } => (p.distance(*centre) - radius).max(0.0),
            Geometry::Polygon(poly) => {
                if poly.contains(p) {
                    return 0.0;
                }
                let v = p.to_vec();
                let vs = poly.vertices();
                (0..vs.len())
                    .map(|i| distance_to_arc(v, vs[i], vs[(i + 1) % vs.len()]).to_degrees())
                    .fold(f64::INFINITY, f64::min)
            }
            Geometry::Box(b) => b.distance(p),
            Geometry::AllSky => 0.0,
        }
    }

    /// The angular distance in degrees from `p` to the farthest point of the shape: 180 less
    /// the distance from `p`'s antipode.
    pub fn farthest_from(&self, p: SkyPoint) -> f64 {
        180.0 - self.distance_to(antipode(p))
    }

    /// ADQL's INTERSECTS: whether the two shapes share a point.
    pub fn intersects(&self, other: &Geometry) -> bool {
        use Geometry::*;
        match (self, other) {
            (AllSky, _) | (_, AllSky) => true,
            (Point(p), g) | (g, Point(p)) => g.contains_point(*p),
            (Circle { centre, radius }, g) | (g, Circle { centre, radius }) => {
                g.distance_to(*centre) <= *radius
            }
            (Polygon(a), Polygon(b)) => a.intersects_polygon(b),
            (Polygon(p), Box(b)) | (Box(b), Polygon(p)) => {
                let vs = p.vertices();
                vs.iter().any(|v| b.contains(SkyPoint::from_vec(*v)))
                    || b.corners().iter().any(|c| p.contains(*c))
                    || (0..vs.len()).any(|i| {
                        let (x, y) = (vs[i], vs[(i + 1) % vs.len()]);
                        arc_meets_box(x, y, b)
                    })
            }
            (Box(a), Box(b)) => {
                let lat = a.lat_min <= b.lat_max && b.lat_min <= a.lat_max;
                let lon =
                    a.has_lon(b.lon_min) || b.has_lon(a.lon_min) || a.full_ring() || b.full_ring();
                let pole = (a.lat_max >= 90.0 && b.lat_max >= 90.0)
                    || (a.lat_min <= -90.0 && b.lat_min <= -90.0);
                lat && (lon || pole)
            }
        }
    }

    /// ADQL's CONTAINS(self, outer): whether every point of `self` lies in `outer`,
    /// boundaries included.
    pub fn within(&self, outer: &Geometry) -> bool {
        use Geometry::*;
        match (self, outer) {
            (_, AllSky) => true,
            (Point(p), g) => g.contains_point(*p),
            (Circle { centre, radius }, Point(q)) => *radius <= 0.0 && centre.distance(*q) <= 0.0,
            (_, Point(_)) => false,
            (g, Circle { centre, radius }) => {
                *radius >= 180.0 || g.farthest_from(*centre) <= *radius
            }
            (AllSky, Box(b)) => b.full_ring() && b.lat_min <= -90.0 && b.lat_max >= 90.0,
            (AllSky, _) => false,
            (Circle { centre, radius }, Polygon(p)) => {
                let c = centre.to_vec();
                let vs = p.vertices();
                p.contains(*centre)
                    && (0..vs.len()).all(|i| {
                        distance_to_arc(c, vs[i], vs[(i + 1) % vs.len()]).to_degrees() >= *radius
                    })
            }
            (Circle { centre, radius }, Box(b)) => {
                // Inside the latitude band, and clear of both meridian edges.
                let low = centre.dec - radius;
                let high = centre.dec + radius;
                let lat_ok = (b.lat_min <= -90.0 || low >= b.lat_min)
                    && (b.lat_max >= 90.0 || high <= b.lat_max);
                let c = centre.to_vec();
                b.contains(*centre)
                    && lat_ok
                    && b.meridian_edges()
                        .into_iter()
                        .all(|(x, y)| distance_to_arc(c, x, y).to_degrees() >= *radius)
                    && (b.full_ring() || *radius < 90.0)
            }
            (Polygon(a), Polygon(b)) => {
                let va = a.vertices();
                (0..va.len()).all(|i| arc_within_polygon(va[i], va[(i + 1) % va.len()], b))
            }
            (Polygon(p), Box(b)) => {
                let vs = p.vertices();
                (0..vs.len()).all(|i| arc_within_box(vs[i], vs[(i + 1) % vs.len()], b))
            }
            (Box(b), Polygon(p)) => {
                b.corners().iter().all(|c| p.contains(*c))
                    && box_edges_within_polygon(b, p)
                    // A pole in the box must be in the polygon too.
                    && (b.lat_max < 90.0 || p.contains(SkyPoint::new(0.0, 90.0)))
                    && (b.lat_min > -90.0 || p.contains(SkyPoint::new(0.0, -90.0)))
            }
            (Box(a), Box(b)) => {
                let lat = b.lat_min <= a.lat_min && a.lat_max <= b.lat_max;
                let lon = b.full_ring()
                    || (!a.full_ring()
                        && (a.lon_min - b.lon_min).rem_euclid(360.0) + a.width <= b.width);
                lat && lon
            }
        }
    }

    /// ADQL's AREA: the area in square degrees. A point has none, the whole sky is
    /// 41252.96... (4π sr).
    pub fn area(&self) -> f64 {
        match self {
            Geometry::Point(_) => 0.0,
            Geometry::Circle { radius, .. } => {
                // 2π(1 − cos r), as 4π sin²(r/2) to keep small circles accurate.
                let h = (radius.to_radians() / 2.0).sin();
                4.0 * std::f64::consts::PI * h * h * SQDEG_PER_SR
            }
            Geometry::Polygon(p) => polygon_area_sr(p.vertices()) * SQDEG_PER_SR,
            Geometry::Box(b) => b.area(),
            Geometry::AllSky => 4.0 * std::f64::consts::PI * SQDEG_PER_SR,
        }
    }

    /// ADQL's CENTROID: a point's own position, a circle's centre, and for a polygon or a
    /// box the direction of the integral of the position vector over the region (for a
    /// polygon ½ Σ θᵢ n̂ᵢ over its edges, θᵢ the edge's length and n̂ᵢ its plane's unit
    /// normal). `None` for the whole sky and a box that is a ring symmetric about the
    /// equator.
    pub fn centroid(&self) -> Option<SkyPoint> {
        match self {
            Geometry::Point(p) => Some(*p),
            Geometry::Circle { centre, .. } => Some(*centre),
            Geometry::Polygon(p) => normalize(polygon_moment(p)).map(SkyPoint::from_vec),
            Geometry::Box(b) => b.centroid(),
            Geometry::AllSky => None,
        }
    }

    /// A circle (centre, radius in degrees) that holds the whole shape, for index
    /// prefilters; `None` for the whole sky.
    pub fn bounding_cap(&self) -> Option<(SkyPoint, f64)> {
        match self {
            Geometry::Point(p) => Some((*p, 0.0)),
            Geometry::Circle { centre, radius } => Some((*centre, *radius)),
            Geometry::Polygon(p) => {
                let c = p.cap().0;
                Some((c, self.farthest_from(c)))
            }
            Geometry::Box(b) => {
                let c = SkyPoint::new(
                    b.lon_min + b.width / 2.0,
                    if b.lat_max >= 90.0 && b.lat_min > -90.0 && b.full_ring() {
                        90.0
                    } else if b.lat_min <= -90.0 && b.lat_max < 90.0 && b.full_ring() {
                        -90.0
                    } else {
                        (b.lat_min + b.lat_max) / 2.0
                    },
                );
                Some((c, self.farthest_from(c)))
            }
            Geometry::AllSky => None,
        }
    }

    /// The shape of STC-S text (TAP 1.0 §6 / STC-S 1.0): `POSITION`, `CIRCLE`, `POLYGON` or
    /// `BOX`, with an optional ICRS frame (or none). Errors name what could not be read.
    pub fn from_stcs(text: &str) -> Result<Geometry, String> {
        let mut words = text.split_whitespace().peekable();
        let kind = words
            .next()
            .ok_or_else(|| "an empty STC-S region".to_string())?
            .to_ascii_uppercase();
        if matches!(
            kind.as_str(),
            "UNION" | "INTERSECTION" | "NOT" | "DIFFERENCE"
        ) {
            return Err(format!(
                "STC-S {kind} is not supported: use one POSITION, CIRCLE, BOX or POLYGON"
            ));
        }
        if let Some(w) = words.peek() {
            if w.parse::<f64>().is_err() {
                let frame = w.to_ascii_uppercase();
                if !(frame == "ICRS" || frame == "UNKNOWNFRAME" || frame == "J2000") {
                    return Err(format!(
                        "STC-S frame '{w}' is not supported: positions are ICRS"
                    ));
                }
                words.next();
            }
        }
        let nums = words
            .map(|w| {
                w.parse::<f64>()
                    .map_err(|_| format!("STC-S {kind}: '{w}' is not a number"))
            })
            .collect::<Result<Vec<f64>, String>>()?;
        let want = |n: usize| -> Result<(), String> {
            if nums.len() == n {
                Ok(())
            } else {
                Err(format!(
                    "STC-S {kind} takes {n} numbers, not {}",
                    nums.len()
                ))
            }
        };
        let point = |ra: f64, dec: f64| -> Result<SkyPoint, String> {
            if ra.is_finite() && (-90.0..=90.0).contains(&dec) {
                Ok(SkyPoint::new(ra, dec))
            } else {
                Err(format!(
                    "STC-S {kind}: ({ra}, {dec}) is not a position (Dec in [-90, 90] degrees)"
                ))
            }
        };
        match kind.as_str() {
            "POSITION" => {
                want(2)?;
                Ok(Geometry::Point(point(nums[0], nums[1])?))
            }
            "CIRCLE" => {
                want(3)?;
                Geometry::circle(nums[0], nums[1], nums[2])
            }
            "BOX" => {
                want(4)?;
                LonLatBox::new(nums[0], nums[1], nums[2], nums[3]).map(Geometry::Box)
            }
            "POLYGON" => {
                if nums.len() % 2 != 0 {
                    return Err("STC-S POLYGON has an odd number of coordinates".into());
                }
                let pts = nums
                    .chunks(2)
                    .map(|c| point(c[0], c[1]))
                    .collect::<Result<Vec<_>, _>>()?;
                if crate::region::edges_cross(&pts) {
                    return Err("STC-S POLYGON: its edges cross".into());
                }
                Polygon::new(&pts).map(Geometry::Polygon)
            }
            other => Err(format!(
                "'{other}' is not an STC-S shape (POSITION, CIRCLE, BOX or POLYGON)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poly(v: &[(f64, f64)]) -> Geometry {
        let pts: Vec<SkyPoint> = v.iter().map(|&(a, b)| SkyPoint::new(a, b)).collect();
        Geometry::Polygon(Polygon::new(&pts).expect("polygon"))
    }

    fn bx(ra: f64, dec: f64, w: f64, h: f64) -> Geometry {
        Geometry::Box(LonLatBox::new(ra, dec, w, h).expect("box"))
    }

    fn circle(ra: f64, dec: f64, r: f64) -> Geometry {
        Geometry::circle(ra, dec, r).expect("circle")
    }

    fn pt(ra: f64, dec: f64) -> Geometry {
        Geometry::Point(SkyPoint::new(ra, dec))
    }

    /// Monte-Carlo free brute force: a dense grid of points, in a shape or not.
    fn grid() -> Vec<SkyPoint> {
        let mut v = Vec::new();
        for i in 0..360 {
            for j in 0..=180 {
                v.push(SkyPoint::new(i as f64 + 0.5, j as f64 - 90.0));
            }
        }
        v
    }

    #[test]
    fn box_follows_pgsphere_sbox() {
        // BOX(-3, 5, 4, 10) is sbox((-5, 0), (-1, 10)) (queryparser's translation).
        let b = LonLatBox::new(-3.0, 5.0, 4.0, 10.0).expect("box");
        assert_eq!(
            (b.lon_min, b.width, b.lat_min, b.lat_max),
            (355.0, 4.0, 0.0, 10.0)
        );
        assert!(b.contains(SkyPoint::new(356.0, 5.0)));
        assert!(b.contains(SkyPoint::new(-1.0, 10.0)));
        assert!(!b.contains(SkyPoint::new(0.0, 5.0)));
        // Latitude edges are parallels: a point just below the top parallel is inside even
        // halfway along, where a great-circle edge would have bulged above it.
        let wide = LonLatBox::new(0.0, 60.0, 100.0, 20.0).expect("box");
        assert!(wide.contains(SkyPoint::new(0.0, 69.99)));
        assert!(wide.contains(SkyPoint::new(0.0, 90.0 - 20.0)));
        assert!(LonLatBox::new(0.0, 0.0, -1.0, 1.0).is_err());
        assert!(LonLatBox::new(0.0, 95.0, 1.0, 1.0).is_err());
        // Clamped at the pole; a width of 360 or more is a ring.
        let cap = LonLatBox::new(10.0, 85.0, 400.0, 20.0).expect("box");
        assert_eq!((cap.lat_max, cap.width), (90.0, 360.0));
        assert!(cap.contains(SkyPoint::new(190.0, 76.0)));
    }

    #[test]
    fn areas_match_closed_forms() {
        // A hemisphere: 2π sr.
        let h = circle(10.0, 20.0, 90.0).area();
        assert!((h - 2.0 * std::f64::consts::PI * SQDEG_PER_SR).abs() < 1e-9);
        assert!((circle(0.0, 0.0, 180.0).area() - Geometry::AllSky.area()).abs() < 1e-9);
        // The octant triangle (0,0), (90,0), (0,90): π/2 sr = 5156.62 deg².
        let oct = poly(&[(0.0, 0.0), (90.0, 0.0), (0.0, 90.0)]).area();
        assert!((oct / (std::f64::consts::FRAC_PI_2 * SQDEG_PER_SR) - 1.0).abs() < 1e-14);
        // The same region as a box: lon 0..90, lat 0..90.
        assert!((bx(45.0, 45.0, 90.0, 90.0).area() / oct - 1.0).abs() < 1e-14);
        // A tiny triangle, against the planar area (excess negligible at 1e-3 deg).
        let t = poly(&[(0.0, 0.0), (0.001, 0.0), (0.0, 0.001)]).area();
        assert!((t / 5e-7 - 1.0).abs() < 1e-6, "{t}");
        // Either vertex order gives the same area.
        let a = poly(&[(10.0, -10.5), (20.0, 20.5), (30.0, 30.5)]).area();
        let b = poly(&[(30.0, 30.5), (20.0, 20.5), (10.0, -10.5)]).area();
        assert!((a - b).abs() < 1e-12 && a > 0.0);
    }

    #[test]
    fn area_of_a_box_agrees_with_a_grid_count() {
        // Each grid point stands for cos(dec) square degrees.
        let b = LonLatBox::new(100.0, -30.0, 60.0, 40.0).expect("box");
        let count: f64 = grid()
            .iter()
            .filter(|p| b.contains(**p))
            .map(|p| p.dec.to_radians().cos())
            .sum();
        assert!(
            (count / b.area() - 1.0).abs() < 0.03,
            "{count} {}",
            b.area()
        );
    }

    #[test]
    fn centroids() {
        let c = poly(&[(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)])
            .centroid()
            .expect("centroid");
        assert!(c.distance(SkyPoint::new(0.0, 0.0)) < 1e-12);
        // Octant: the centroid is on the diagonal, equidistant from the three axes.
        let o = poly(&[(0.0, 0.0), (90.0, 0.0), (0.0, 90.0)])
            .centroid()
            .expect("centroid");
        let v = o.to_vec();
        assert!((v[0] - v[1]).abs() < 1e-12 && (v[1] - v[2]).abs() < 1e-12);
        // The same octant as a box has the same centroid.
        let ob = bx(45.0, 45.0, 90.0, 90.0).centroid().expect("centroid");
        assert!(ob.distance(o) < 1e-10, "{ob:?} {o:?}");
        // A box's centroid leans towards the equator (more area there).
        let b = bx(10.0, 50.0, 10.0, 20.0).centroid().expect("centroid");
        assert!((b.ra - 10.0).abs() < 1e-12 && b.dec < 50.0 && b.dec > 49.0);
        assert_eq!(bx(0.0, 0.0, 360.0, 10.0).centroid(), None);
        assert_eq!(
            circle(5.0, 6.0, 7.0).centroid(),
            Some(SkyPoint::new(5.0, 6.0))
        );
    }

    #[test]
    fn relations_agree_with_a_grid_where_it_decides() {
        // For every pair of shapes, a grid point in both proves INTERSECTS; a grid point in
        // the first and not the second disproves CONTAINS.
        let shapes = vec![
            circle(0.0, 0.0, 10.0),
            circle(359.0, 89.0, 3.0),
            circle(180.0, -30.0, 120.0),
            poly(&[(350.0, -5.0), (10.0, -5.0), (10.0, 5.0), (350.0, 5.0)]),
            poly(&[(0.0, 80.0), (120.0, 80.0), (240.0, 80.0)]),
            poly(&[(100.0, 0.0), (130.0, 0.0), (115.0, 30.0)]),
            bx(0.0, 0.0, 20.0, 10.0),
            bx(180.0, 85.0, 360.0, 10.0),
            bx(115.0, 10.0, 10.0, 6.0),
        ];
        let g = grid();
        for a in &shapes {
            for b in &shapes {
                let both = g
                    .iter()
                    .any(|p| a.contains_point(*p) && b.contains_point(*p));
                if both {
                    assert!(a.intersects(b), "{a:?} meets {b:?}");
                }
                let outside = g
                    .iter()
                    .any(|p| a.contains_point(*p) && !b.contains_point(*p));
                if outside {
                    assert!(!a.within(b), "{a:?} is not within {b:?}");
                }
            }
        }
    }

    #[test]
    fn relations_by_hand() {
        let sq = poly(&[(350.0, -5.0), (10.0, -5.0), (10.0, 5.0), (350.0, 5.0)]);
        assert!(circle(0.0, 0.0, 1.0).within(&sq));
        assert!(!circle(0.0, 0.0, 6.0).within(&sq));
        // The corner (10, 5) is acos(cos 10° cos 5°) = 11.172 degrees from the centre.
        assert!(sq.within(&circle(0.0, 0.0, 11.18)));
        assert!(!sq.within(&circle(0.0, 0.0, 11.16)));
        // Wide circles: the square is within a circle of 170 degrees around a far point.
        assert!(sq.within(&circle(180.0, 0.0, 180.0)));
        assert!(!sq.within(&circle(180.0, 0.0, 170.0)));
        assert!(sq.intersects(&circle(180.0, 0.0, 168.84)));
        assert!(!sq.intersects(&circle(180.0, 0.0, 168.82)));
        // Boxes across RA = 0 and at a pole.
        let b = bx(0.0, 0.0, 30.0, 20.0);
        assert!(sq.within(&b));
        assert!(!b.within(&sq));
        assert!(bx(0.0, 0.0, 2.0, 2.0).within(&sq));
        let polar = bx(0.0, 85.0, 360.0, 10.0);
        assert!(poly(&[(0.0, 85.0), (120.0, 85.0), (240.0, 85.0)]).within(&polar));
        assert!(circle(77.0, 90.0, 4.0).within(&polar));
        assert!(circle(77.0, 90.0, 9.9).within(&polar));
        assert!(!circle(77.0, 90.0, 10.1).within(&polar));
        assert!(bx(10.0, 88.0, 5.0, 4.0).intersects(&bx(200.0, 89.0, 5.0, 2.0)));
        // A polygon edge that bulges over a box's parallel between two inside vertices.
        let tall = bx(0.0, 70.0, 100.0, 10.0);
        let bulge = poly(&[(-40.0, 74.0), (40.0, 74.0), (0.0, 66.0)]);
        assert!(!bulge.within(&tall));
        assert!(poly(&[(-10.0, 70.0), (10.0, 70.0), (0.0, 66.0)]).within(&tall));
        // Points.
        assert!(pt(5.0, 5.0).within(&sq) && !sq.within(&pt(5.0, 5.0)));
        assert!(circle(1.0, 2.0, 0.0).within(&pt(1.0, 2.0)));
        assert!(pt(1.0, 2.0).intersects(&pt(361.0, 2.0)));
    }

    #[test]
    fn stcs_shapes() {
        assert_eq!(
            Geometry::from_stcs("CIRCLE ICRS 10 20 0.5").expect("stcs"),
            circle(10.0, 20.0, 0.5)
        );
        assert_eq!(
            Geometry::from_stcs("Position 1 2").expect("stcs"),
            pt(1.0, 2.0)
        );
        assert_eq!(
            Geometry::from_stcs("BOX ICRS -3 5 4 10").expect("stcs"),
            bx(-3.0, 5.0, 4.0, 10.0)
        );
        assert!(matches!(
            Geometry::from_stcs("POLYGON 1 1 2 1 2 2").expect("stcs"),
            Geometry::Polygon(_)
        ));
        for bad in [
            "",
            "CIRCLE GALACTIC 1 2 3",
            "CIRCLE 1 2",
            "CIRCLE 1 2 x",
            "CIRCLE 1 95 1",
            "UNION ICRS (CIRCLE 1 2 3 CIRCLE 4 5 6)",
            "ELLIPSE 1 2 3 4 5",
            "POLYGON 1 1 2 1 2",
        ] {
            let e = Geometry::from_stcs(bad).expect_err("bad stcs");
            assert!(!e.is_empty(), "{bad}");
        }
    }
}

//! Footprint queries (CONTAINS(POINT, s_region), INTERSECTS(s_region, CIRCLE|POLYGON)) against
//! brute-force oracles written independently of vogate's spherical code: a planar test in the
//! gnomonic projection (where great circles are straight lines) and densely sampled edges.

use actix_web::{test, App};
use vo_obscore::demo::{write_image, ImageSpec};
use vogate::settings::{resolve, Flags};

type V3 = [f64; 3];

fn vec3(ra: f64, dec: f64) -> V3 {
    let (r, d) = (ra.to_radians(), dec.to_radians());
    [d.cos() * r.cos(), d.cos() * r.sin(), d.sin()]
}

fn dotp(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn crossp(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn unit(a: V3) -> V3 {
    let n = dotp(a, a).sqrt();
    [a[0] / n, a[1] / n, a[2] / n]
}

/// Gnomonic projection about `c` (None behind the tangent plane).
fn gnomonic(c: V3, p: V3) -> Option<(f64, f64)> {
    let d = dotp(c, p);
    if d <= 1e-9 {
        return None;
    }
    let east = if c[2].abs() > 0.999_999 {
        [0.0, 1.0, 0.0]
    } else {
        unit(crossp([0.0, 0.0, 1.0], c))
    };
    let north = crossp(c, east);
    Some((dotp(p, east) / d, dotp(p, north) / d))
}

fn planar_inside(poly: &[(f64, f64)], (x, y): (f64, f64)) -> bool {
    let mut inside = false;
    for i in 0..poly.len() {
        let (xi, yi) = poly[i];
        let (xj, yj) = poly[(i + poly.len() - 1) % poly.len()];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
    }
    inside
}

fn region_vertices(s_region: &str) -> Vec<V3> {
    let nums: Vec<f64> = s_region
        .split_whitespace()
        .skip(2)
        .map(|x| x.parse().expect("number"))
        .collect();
    nums.chunks(2).map(|c| vec3(c[0], c[1])).collect()
}

fn poly_contains(vertices: &[V3], centre: V3, p: V3) -> bool {
    let proj: Option<Vec<(f64, f64)>> = vertices.iter().map(|v| gnomonic(centre, *v)).collect();
    match (proj, gnomonic(centre, p)) {
        (Some(poly), Some(q)) => planar_inside(&poly, q),
        _ => false,
    }
}

/// Smallest distance in degrees from `p` to the polygon's edges, sampling each great-circle
/// edge at 4000 points.
fn edge_distance(vertices: &[V3], p: V3) -> f64 {
    let mut best = f64::INFINITY;
    for i in 0..vertices.len() {
        let (a, b) = (vertices[i], vertices[(i + 1) % vertices.len()]);
        for k in 0..=4000 {
            let t = k as f64 / 4000.0;
            let q = unit([
                a[0] + t * (b[0] - a[0]),
                a[1] + t * (b[1] - a[1]),
                a[2] + t * (b[2] - a[2]),
            ]);
            best = best.min(dotp(p, q).clamp(-1.0, 1.0).acos().to_degrees());
        }
    }
    best
}

fn segments_cross(p1: (f64, f64), p2: (f64, f64), q1: (f64, f64), q2: (f64, f64)) -> bool {
    let o = |a: (f64, f64), b: (f64, f64), c: (f64, f64)| {
        (b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)
    };
    o(p1, p2, q1) * o(p1, p2, q2) < 0.0 && o(q1, q2, p1) * o(q1, q2, p2) < 0.0
}

async fn rows_for(gw: &vogate::Gateway, cond: &str) -> Vec<String> {
    let app = test::init_service(App::new().configure(vogate::routes(gw))).await;
    let q = format!("SELECT obs_id FROM ivoa.ObsCore WHERE {cond} ORDER BY obs_id");
    let qs = serde_urlencoded::to_string([
        ("LANG", "ADQL"),
        ("QUERY", q.as_str()),
        ("RESPONSEFORMAT", "json"),
    ])
    .expect("qs");
    let resp = test::call_service(
        &app,
        test::TestRequest::get()
            .uri(&format!("/tap/sync?{qs}"))
            .to_request(),
    )
    .await;
    let status = resp.status().as_u16();
    let body = test::read_body(resp).await;
    assert_eq!(status, 200, "{q}: {}", String::from_utf8_lossy(&body));
    let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
    v["data"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[0].as_str().expect("id").to_string())
        .collect()
}

struct Row {
    id: String,
    centre: V3,
    vertices: Option<Vec<V3>>,
}

fn main() -> std::process::ExitCode {
    use vo_testkit::Test;
    vo_testkit::run(vec![
        Test::actix("footprint_queries_match_brute_force::sqlite", || {
            footprint_queries_match_brute_force(None)
        }),
        Test::actix("footprint_queries_match_brute_force::postgres", || async {
            let url = vogate_tests::fresh_pg_database("footprints");
            footprint_queries_match_brute_force(Some(url)).await
        })
        .needs(&vogate_tests::postgres()),
    ])
}

/// `db`: a PostgreSQL URL, or None for the SQLite default.
async fn footprint_queries_match_brute_force(db: Option<String>) {
    let work = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    // Fields of 2-4 degrees: across RA = 0, holding each pole, rotated, and an all-sky map.
    let fields = [
        (0.2, 1.0, 0.0),
        (359.0, -30.0, 25.0),
        (45.0, 89.3, 0.0),
        (200.0, -89.5, 40.0),
        (120.0, 10.0, 60.0),
        (300.0, 45.0, 0.0),
        (10.0, 60.0, 15.0),
    ];
    for (i, (ra, dec, rot)) in fields.iter().enumerate() {
        let mut spec = ImageSpec::tan(*ra, *dec, 30, 20, 0.1);
        spec.rotation = *rot;
        write_image(&data.path().join(format!("f{i}.fits")), &spec).expect("write");
    }
    let mut allsky = ImageSpec::tan(0.0, 0.0, 361, 181, 1.0);
    allsky.ctype1 = "RA---AIT".into();
    allsky.ctype2 = "DEC--AIT".into();
    write_image(&data.path().join("allsky.fits"), &allsky).expect("write");
    let gw = {
        let flags = Flags {
            workdir: Some(work.path().into()),
            data: Some(data.path().into()),
            db,
            ..Default::default()
        };
        vogate::prepare(resolve(flags, Default::default(), None).expect("settings"))
            .expect("prepare")
    };
    let rows: Vec<Row> = {
        let app = test::init_service(App::new().configure(vogate::routes(&gw))).await;
        let qs = "LANG=ADQL&RESPONSEFORMAT=json&QUERY=SELECT%20obs_id,s_ra,s_dec,s_region,s_fov%20FROM%20ivoa.ObsCore";
        let resp = test::call_service(
            &app,
            test::TestRequest::get()
                .uri(&format!("/tap/sync?{qs}"))
                .to_request(),
        )
        .await;
        let v: serde_json::Value =
            serde_json::from_slice(&test::read_body(resp).await).expect("json");
        v["data"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| Row {
                id: r[0].as_str().expect("id").into(),
                centre: vec3(r[1].as_f64().expect("ra"), r[2].as_f64().expect("dec")),
                vertices: r[3].as_str().map(region_vertices),
            })
            .collect()
    };
    assert_eq!(rows.len(), 8);
    let all = rows
        .iter()
        .find(|r| r.id == "allsky.fits")
        .expect("allsky row");
    assert!(all.vertices.is_none(), "the all-sky map has no polygon");

    // Points: inside, outside and around every field, and at the poles.
    let mut points: Vec<(f64, f64)> = vec![(0.0, 90.0), (0.0, -90.0), (0.0, 0.0), (359.9, 1.0)];
    for (ra, dec, _) in fields {
        for (dra, ddec) in [
            (0.0, 0.0),
            (1.4, 0.3),
            (-1.6, -0.8),
            (0.5, 1.2),
            (3.0, 0.0),
            (0.2, -0.95),
        ] {
            points.push((
                ra + dra / dec.to_radians().cos().max(0.05),
                (dec + ddec).clamp(-90.0, 90.0),
            ));
        }
    }
    for (ra, dec) in &points {
        let p = vec3(*ra, *dec);
        let want: Vec<String> = rows
            .iter()
            .filter(|r| {
                r.vertices
                    .as_ref()
                    .is_none_or(|v| poly_contains(v, r.centre, p))
            })
            .map(|r| r.id.clone())
            .collect();
        let mut want = want;
        want.sort();
        let got = rows_for(
            &gw,
            &format!("CONTAINS(POINT('ICRS', {ra}, {dec}), s_region) = 1"),
        )
        .await;
        assert_eq!(got, want, "point ({ra}, {dec})");
    }

    // Circles: the same centres with several radii; cases within 1e-4 degrees of the boundary
    // are left out, where sampling cannot decide.
    let mut checked = 0;
    for (ra, dec) in &points {
        for r in [0.05, 0.5, 1.0, 3.0] {
            let c = vec3(*ra, *dec);
            let mut want = Vec::new();
            let mut ambiguous = false;
            for row in &rows {
                let hit = match &row.vertices {
                    None => true,
                    Some(v) => {
                        let d = edge_distance(v, c);
                        ambiguous |= (d - r).abs() < 1e-4;
                        poly_contains(v, row.centre, c) || d <= r
                    }
                };
                if hit {
                    want.push(row.id.clone());
                }
            }
            if ambiguous {
                continue;
            }
            want.sort();
            let got = rows_for(
                &gw,
                &format!("INTERSECTS(s_region, CIRCLE('ICRS', {ra}, {dec}, {r})) = 1"),
            )
            .await;
            assert_eq!(got, want, "circle ({ra}, {dec}, {r})");
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");

    // Polygons: small triangles around the points; the oracle projects both polygons about
    // the triangle's first vertex.
    for (ra, dec) in points.iter().step_by(2) {
        let tri = [
            (*ra, *dec),
            (ra + 1.0, (dec + 0.2).min(89.9)),
            (ra + 0.3, (dec + 0.9).min(89.95)),
        ];
        let tv: Vec<V3> = tri.iter().map(|&(a, b)| vec3(a, b)).collect();
        let centre = unit([
            tv[0][0] + tv[1][0] + tv[2][0],
            tv[0][1] + tv[1][1] + tv[2][1],
            tv[0][2] + tv[1][2] + tv[2][2],
        ]);
        let mut want = Vec::new();
        for row in &rows {
            let hit = match &row.vertices {
                None => true,
                Some(v) => {
                    let pa: Option<Vec<(f64, f64)>> =
                        v.iter().map(|x| gnomonic(centre, *x)).collect();
                    let pb: Vec<(f64, f64)> = tv
                        .iter()
                        .map(|x| gnomonic(centre, *x).expect("front"))
                        .collect();
                    match pa {
                        None => false,
                        Some(pa) => {
                            pa.iter().any(|q| planar_inside(&pb, *q))
                                || pb.iter().any(|q| planar_inside(&pa, *q))
                                || (0..pa.len()).any(|i| {
                                    (0..3).any(|j| {
                                        segments_cross(
                                            pa[i],
                                            pa[(i + 1) % pa.len()],
                                            pb[j],
                                            pb[(j + 1) % 3],
                                        )
                                    })
                                })
                        }
                    }
                }
            };
            if hit {
                want.push(row.id.clone());
            }
        }
        want.sort();
        let poly = tri
            .iter()
            .map(|(a, b)| format!("{a}, {b}"))
            .collect::<Vec<_>>()
            .join(", ");
        let got = rows_for(
            &gw,
            &format!("INTERSECTS(s_region, POLYGON('ICRS', {poly})) = 1"),
        )
        .await;
        assert_eq!(got, want, "triangle {tri:?}");
        let got = rows_for(
            &gw,
            &format!("1 = INTERSECTS(POLYGON('ICRS', {poly}), s_region)"),
        )
        .await;
        assert_eq!(got, want, "triangle {tri:?}, reversed");
    }
}

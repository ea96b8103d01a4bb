//! Pixel coordinates to ICRS positions for one image HDU.
//!
//! The projection (FITS WCS Paper II, Calabretta & Greisen 2002) is CDS's `wcs` crate (the
//! conics are vogate's own, [`Conic`]), given
//! the header's CRPIX/CRVAL/CD or PC+CDELT or CROTA2, PV, LONPOLE/LATPOLE and SIP keywords;
//! it yields native-frame (lon, lat). The frame change to ICRS is ERFA's, as astropy does it:
//! Galactic with `eraG2icrs` taken as FK5 J2000, then FK5 J2000 to ICRS with the fixed
//! rotation of `eraFk5hz` at J2000 (astropy's FK5 to ICRS); ICRS unchanged. Pixel coordinates are FITS ones: 1-based, the
//! centre of the first pixel at (1, 1).

use crate::header::{Card, ImageHeader};
use vo_common::sky::SkyPoint;
use wcs::{ImgXY, LonLat, WCSParams, WCS};

/// The celestial reference frame of an image's world coordinates (FITS WCS Paper II §3.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Frame {
    /// ICRS (RADESYS = 'ICRS', or no RADESYS and no EQUINOX).
    Icrs,
    /// FK5 at equinox J2000 (RADESYS = 'FK5', or EQUINOX >= 1984 without RADESYS).
    Fk5J2000,
    /// IAU 1958 Galactic coordinates (CTYPE GLON/GLAT).
    Galactic,
    /// FK4 at equinox B1950 (RADESYS = 'FK4', or EQUINOX < 1984 without RADESYS), with
    /// E-terms; `epoch` is the Besselian epoch of the observation (B1950 when unknown).
    Fk4B1950 {
        /// Besselian epoch of observation, years.
        epoch: f64,
    },
}

/// SIP forward distortion (Shupe et al. 2005, eq. 1): with u = x - CRPIX1 and
/// v = y - CRPIX2, the corrected pixel is (x + Σ A_p_q u^p v^q, y + Σ B_p_q u^p v^q).
#[derive(Debug, Clone, PartialEq)]
struct Sip {
    crpix1: f64,
    crpix2: f64,
    /// (p, q, A_p_q).
    a: Vec<(i32, i32, f64)>,
    /// (p, q, B_p_q).
    b: Vec<(i32, i32, f64)>,
}

impl Sip {
    fn from_header(h: &ImageHeader) -> Result<Sip, String> {
        let terms = |prefix: &str| -> Result<Vec<(i32, i32, f64)>, String> {
            let order = h
                .number(&format!("{prefix}_ORDER"))
                .ok_or(format!("-SIP without {prefix}_ORDER"))?;
            if !(0.0..=9.0).contains(&order) {
                return Err(format!(
                    "{prefix}_ORDER = {order}: SIP orders 0 to 9 are supported"
                ));
            }
            let order = order as i32;
            let mut out = Vec::new();
            for p in 0..=order {
                for q in 0..=(order - p) {
                    if let Some(c) = h.number(&format!("{prefix}_{p}_{q}")) {
                        out.push((p, q, c));
                    }
                }
            }
            Ok(out)
        };
        Ok(Sip {
            crpix1: h.number("CRPIX1").unwrap_or(0.0),
            crpix2: h.number("CRPIX2").unwrap_or(0.0),
            a: terms("A")?,
            b: terms("B")?,
        })
    }

    fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        let (u, v) = (x - self.crpix1, y - self.crpix2);
        let poly = |t: &[(i32, i32, f64)]| {
            t.iter()
                .map(|&(p, q, c)| c * u.powi(p) * v.powi(q))
                .sum::<f64>()
        };
        (x + poly(&self.a), y + poly(&self.b))
    }

    /// The pixel (x, y) whose corrected position [`Sip::apply`] is (`qx`, `qy`), by Newton's
    /// method on the forward polynomials (as astropy's `all_world2pix` iterates; the header's
    /// AP/BP, an approximation, are not used). `None` if it does not converge to 1e-10 pixel.
    fn invert(&self, qx: f64, qy: f64) -> Option<(f64, f64)> {
        // Powers u^k at index k + 1 (index 0 holds 0, so that p u^(p-1) is 0 for p = 0).
        let powers = |u: f64| {
            let mut t = [0.0; 12];
            t[1] = 1.0;
            for k in 2..12 {
                t[k] = t[k - 1] * u;
            }
            t
        };
        // Sum c u^p v^q and its derivatives by u and by v.
        let eval = |t: &[(i32, i32, f64)], pu: &[f64; 12], pv: &[f64; 12]| {
            t.iter().fold((0.0, 0.0, 0.0), |(s, du, dv), &(p, q, c)| {
                let (p, q) = (p as usize, q as usize);
                (
                    s + c * pu[p + 1] * pv[q + 1],
                    du + c * p as f64 * pu[p] * pv[q + 1],
                    dv + c * q as f64 * pu[p + 1] * pv[q],
                )
            })
        };
        let (mut x, mut y) = (qx, qy);
        for _ in 0..50 {
            let (u, v) = (x - self.crpix1, y - self.crpix2);
            let (pu, pv) = (powers(u), powers(v));
            let (fa, au, av) = eval(&self.a, &pu, &pv);
            let (fb, bu, bv) = eval(&self.b, &pu, &pv);
            let (rx, ry) = (x + fa - qx, y + fb - qy);
            let (j11, j12, j21, j22) = (1.0 + au, av, bu, 1.0 + bv);
            let det = j11 * j22 - j12 * j21;
            if det == 0.0 || !det.is_finite() {
                return None;
            }
            let dx = (j22 * rx - j12 * ry) / det;
            let dy = (j11 * ry - j21 * rx) / det;
            x -= dx;
            y -= dy;
            if !(x.is_finite() && y.is_finite()) {
                return None;
            }
            if dx.abs().max(dy.abs()) < 1e-11 {
                return Some((x, y));
            }
        }
        None
    }
}

/// The Digitized Sky Survey plate solution (the AMDX/AMDY model of the DSS "astrometric
/// calibration" of GETIMAGE; WCSLIB, and so astropy, translate it into a TPD distortion and
/// prefer it to the header's linear WCS). Plate millimetres from plate pixels, standard
/// coordinates (xi, eta) in arcsec from 13-term polynomials, then the gnomonic projection
/// about the plate centre.
#[derive(Debug, Clone, PartialEq)]
struct DssPlate {
    /// Plate centre RA and Dec, radians.
    ra0: f64,
    dec0: f64,
    /// PPO3 and PPO6: plate-centre offsets, microns.
    ppo3: f64,
    ppo6: f64,
    /// XPIXELSZ, YPIXELSZ: pixel size, microns.
    xsize: f64,
    ysize: f64,
    /// CNPIX1, CNPIX2: offset of this image's first pixel on the plate, pixels.
    cnpix1: f64,
    cnpix2: f64,
    amdx: [f64; 13],
    amdy: [f64; 13],
}

impl DssPlate {
    /// The plate solution of a header that has one (PLTRAH, AMDX1, ...); `None` otherwise.
    fn from_header(h: &ImageHeader) -> Option<Result<DssPlate, String>> {
        h.number("PLTRAH")?;
        h.number("AMDX1")?;
        let need = |k: &str| h.number(k).ok_or(format!("DSS plate solution without {k}"));
        let build = || -> Result<DssPlate, String> {
            let ra_h = need("PLTRAH")? + need("PLTRAM")? / 60.0 + need("PLTRAS")? / 3600.0;
            let sign = if h.text("PLTDECSN").is_some_and(|s| s.starts_with('-')) {
                -1.0
            } else {
                1.0
            };
            let dec =
                sign * (need("PLTDECD")? + need("PLTDECM")? / 60.0 + need("PLTDECS")? / 3600.0);
            let mut amdx = [0.0; 13];
            let mut amdy = [0.0; 13];
            for i in 0..13 {
                amdx[i] = h.number(&format!("AMDX{}", i + 1)).unwrap_or(0.0);
                amdy[i] = h.number(&format!("AMDY{}", i + 1)).unwrap_or(0.0);
            }
            Ok(DssPlate {
                ra0: (ra_h * 15.0).to_radians(),
                dec0: dec.to_radians(),
                ppo3: need("PPO3")?,
                ppo6: need("PPO6")?,
                xsize: need("XPIXELSZ")?,
                ysize: need("YPIXELSZ")?,
                cnpix1: need("CNPIX1")?,
                cnpix2: need("CNPIX2")?,
                amdx,
                amdy,
            })
        };
        Some(build())
    }

    /// (ra, dec) in degrees of FITS pixel (`x`, `y`).
    fn pixel_to_sky(&self, x: f64, y: f64) -> (f64, f64) {
        // Plate pixels (the centre of the image's first pixel is at CNPIX + 0.5), then mm from
        // the plate centre (x grows to the east on the plate, hence the sign).
        let px = x + self.cnpix1 - 0.5;
        let py = y + self.cnpix2 - 0.5;
        let xm = (self.ppo3 - px * self.xsize) / 1000.0;
        let ym = (py * self.ysize - self.ppo6) / 1000.0;
        let arcsec = std::f64::consts::PI / (180.0 * 3600.0);
        let ((xi, eta), _) = self.standard(xm, ym);
        let (xi, eta) = (xi * arcsec, eta * arcsec);
        // Inverse gnomonic projection about the plate centre.
        let (sd, cd) = self.dec0.sin_cos();
        let den = cd - eta * sd;
        let dra = xi.atan2(den);
        let dec = (sd + eta * cd).atan2((xi * xi + den * den).sqrt());
        ((self.ra0 + dra).to_degrees(), dec.to_degrees())
    }

    /// The plate polynomials (xi, eta) in arcsec of plate millimetres (`xm`, `ym`), and their
    /// Jacobian `[[dxi/dxm, dxi/dym], [deta/dxm, deta/dym]]`.
    fn standard(&self, xm: f64, ym: f64) -> ((f64, f64), [[f64; 2]; 2]) {
        // One 13-term polynomial (AMDX with (a, b) = (x, y); AMDY with (y, x)), its value and
        // its derivatives by a and b.
        let poly = |c: &[f64; 13], a: f64, b: f64| {
            let r2 = a * a + b * b;
            let value = c[0] * a
                + c[1] * b
                + c[2]
                + c[3] * a * a
                + c[4] * a * b
                + c[5] * b * b
                + c[6] * r2
                + c[7] * a * a * a
                + c[8] * a * a * b
                + c[9] * a * b * b
                + c[10] * b * b * b
                + c[11] * a * r2
                + c[12] * a * r2 * r2;
            let da = c[0]
                + 2.0 * c[3] * a
                + c[4] * b
                + 2.0 * c[6] * a
                + 3.0 * c[7] * a * a
                + 2.0 * c[8] * a * b
                + c[9] * b * b
                + c[11] * (r2 + 2.0 * a * a)
                + c[12] * (r2 * r2 + 4.0 * a * a * r2);
            let db = c[1]
                + c[4] * a
                + 2.0 * c[5] * b
                + 2.0 * c[6] * b
                + c[8] * a * a
                + 2.0 * c[9] * a * b
                + 3.0 * c[10] * b * b
                + 2.0 * c[11] * a * b
                + 4.0 * c[12] * a * b * r2;
            (value, da, db)
        };
        let (xi, xi_x, xi_y) = poly(&self.amdx, xm, ym);
        let (eta, eta_y, eta_x) = poly(&self.amdy, ym, xm);
        ((xi, eta), [[xi_x, xi_y], [eta_x, eta_y]])
    }

    /// FITS pixel (x, y) of (`ra`, `dec`) in degrees: the gnomonic projection about the plate
    /// centre gives the standard coordinates, the plate polynomials are inverted by Newton's
    /// method (as WCSLIB inverts the TPD distortion it makes of them), then plate millimetres
    /// become pixels. Errors: the position is on the far side of the plate's tangent plane, or
    /// the iteration does not converge.
    fn sky_to_pixel(&self, ra: f64, dec: f64) -> Result<(f64, f64), NoPixel> {
        let (sd0, cd0) = self.dec0.sin_cos();
        let (sd, cd) = dec.to_radians().sin_cos();
        let (sa, ca) = (ra.to_radians() - self.ra0).sin_cos();
        let cos_c = sd0 * sd + cd0 * cd * ca;
        if cos_c <= 0.0 {
            return Err(NoPixel::Undefined);
        }
        let arcsec = 180.0 * 3600.0 / std::f64::consts::PI;
        let xi = cd * sa / cos_c * arcsec;
        let eta = (cd0 * sd - sd0 * cd * ca) / cos_c * arcsec;
        // The linear terms give the first guess.
        let (mut xm, mut ym) = {
            let ((x0, y0), j) = self.standard(0.0, 0.0);
            solve2(j, xi - x0, eta - y0).ok_or(NoPixel::NoConvergence)?
        };
        let mut converged = false;
        for _ in 0..50 {
            let ((fx, fy), j) = self.standard(xm, ym);
            let (dx, dy) = solve2(j, fx - xi, fy - eta).ok_or(NoPixel::NoConvergence)?;
            xm -= dx;
            ym -= dy;
            if !(xm.is_finite() && ym.is_finite()) {
                return Err(NoPixel::NoConvergence);
            }
            // 1e-12 mm is about 1e-10 pixel for the DSS's 15-25 micron pixels.
            if dx.abs().max(dy.abs()) < 1e-12 {
                converged = true;
                break;
            }
        }
        if !converged {
            return Err(NoPixel::NoConvergence);
        }
        let px = (self.ppo3 - xm * 1000.0) / self.xsize;
        let py = (ym * 1000.0 + self.ppo6) / self.ysize;
        Ok((px - self.cnpix1 + 0.5, py - self.cnpix2 + 0.5))
    }
}

/// The solution (a, b) of `m` (a, b) = (`r1`, `r2`), or `None` when `m` is singular.
fn solve2(m: [[f64; 2]; 2], r1: f64, r2: f64) -> Option<(f64, f64)> {
    let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    if det == 0.0 || !det.is_finite() {
        return None;
    }
    Some((
        (m[1][1] * r1 - m[0][1] * r2) / det,
        (m[0][0] * r2 - m[1][0] * r1) / det,
    ))
}

/// The rotation from native spherical coordinates (phi, theta) to celestial ones, FITS WCS
/// Paper II (Calabretta & Greisen 2002) §2.2-2.4, computed as WCSLIB's `celset` does: the
/// celestial coordinates (alpha_p, delta_p) of the native pole from CRVAL, LONPOLE (phi_p) and
/// LATPOLE, with the fiducial point at native (0, 90) for zenithal projections and (0, 0)
/// for the others. Angles in degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SphericalRotation {
    alpha_p: f64,
    delta_p: f64,
    phi_p: f64,
}

impl SphericalRotation {
    /// `(phi0, theta0)`: the native coordinates of the fiducial point, degrees ((0, 90) for
    /// zenithal projections, (0, theta_a) for conics, (0, 0) for the others).
    fn from_header(
        h: &ImageHeader,
        (phi0, theta0): (f64, f64),
    ) -> Result<SphericalRotation, String> {
        let alpha0 = h.number("CRVAL1").unwrap_or(0.0);
        let delta0 = h.number("CRVAL2").unwrap_or(0.0);
        let phi_p = h
            .number("LONPOLE")
            .or_else(|| h.number("PV1_3"))
            .unwrap_or(if delta0 >= theta0 { 0.0 } else { 180.0 });
        let theta_p = h
            .number("LATPOLE")
            .or_else(|| h.number("PV1_4"))
            .unwrap_or(90.0);
        if theta0 == 90.0 {
            return Ok(SphericalRotation {
                alpha_p: alpha0,
                delta_p: delta0,
                phi_p,
            });
        }
        let (s_d0, c_d0) = delta0.to_radians().sin_cos();
        let (s_t0, c_t0) = theta0.to_radians().sin_cos();
        let (s_dp, c_dp) = (phi_p - phi0).to_radians().sin_cos();
        let x = c_t0 * c_dp;
        let y = s_t0;
        let z = (x * x + y * y).sqrt();
        let delta_p = if z == 0.0 {
            if s_d0 != 0.0 {
                return Err("LONPOLE and CRVAL2 admit no celestial pole".into());
            }
            theta_p
        } else {
            let arg = s_d0 / z;
            if arg.abs() > 1.0 + 1e-12 {
                return Err("LONPOLE and CRVAL2 admit no celestial pole".into());
            }
            let u = y.atan2(x).to_degrees();
            let v = arg.clamp(-1.0, 1.0).acos().to_degrees();
            // Both solutions folded into [-180, 180] first, as WCSLIB's celset does.
            let fold = |d: f64| {
                if d > 180.0 {
                    d - 360.0
                } else if d < -180.0 {
                    d + 360.0
                } else {
                    d
                }
            };
            let (a, b) = (fold(u + v), fold(u - v));
            let valid = |d: f64| (-90.0 - 1e-10..=90.0 + 1e-10).contains(&d);
            match (valid(a), valid(b)) {
                (true, true) => {
                    if (a - theta_p).abs() <= (b - theta_p).abs() {
                        a
                    } else {
                        b
                    }
                }
                (true, false) => a,
                (false, true) => b,
                (false, false) => return Err("LONPOLE and CRVAL2 admit no celestial pole".into()),
            }
            .clamp(-90.0, 90.0)
        };
        let zz = delta_p.to_radians().cos() * c_d0;
        let alpha_p = if zz.abs() < 1e-12 {
            if c_d0.abs() < 1e-12 {
                // The celestial pole is at the fiducial point.
                alpha0
            } else if delta_p > 0.0 {
                alpha0 + phi_p - phi0 - 180.0
            } else {
                alpha0 - phi_p + phi0
            }
        } else {
            let x = (s_t0 - delta_p.to_radians().sin() * s_d0) / zz;
            let y = s_dp * c_t0 / c_d0;
            if x == 0.0 && y == 0.0 {
                return Err("LONPOLE and CRVAL admit no celestial pole".into());
            }
            alpha0 - y.atan2(x).to_degrees()
        };
        Ok(SphericalRotation {
            alpha_p,
            delta_p,
            phi_p,
        })
    }

    /// Celestial (lon, lat) in degrees of native (phi, theta) in degrees (Paper II eq. 2).
    fn apply(&self, phi: f64, theta: f64) -> (f64, f64) {
        let (s_t, c_t) = theta.to_radians().sin_cos();
        let (s_p, c_p) = self.delta_p.to_radians().sin_cos();
        let (s_d, c_d) = (phi - self.phi_p).to_radians().sin_cos();
        let (a, b) = (-c_t * s_d, s_t * c_p - c_t * s_p * c_d);
        let lon = self.alpha_p + a.atan2(b).to_degrees();
        // atan2 rather than asin: exact near the poles of the rotation too.
        let lat = (s_t * s_p + c_t * c_p * c_d).atan2(a.hypot(b)).to_degrees();
        (lon.rem_euclid(360.0), lat)
    }

    /// Native (phi, theta) in degrees of celestial (lon, lat) in degrees (Paper II eq. 5),
    /// phi in [-180, 180].
    fn invert(&self, lon: f64, lat: f64) -> (f64, f64) {
        let (s_d, c_d) = lat.to_radians().sin_cos();
        let (s_p, c_p) = self.delta_p.to_radians().sin_cos();
        let (s_a, c_a) = (lon - self.alpha_p).to_radians().sin_cos();
        let (a, b) = (-c_d * s_a, s_d * c_p - c_d * s_p * c_a);
        let dphi = a.atan2(b).to_degrees();
        let theta = (s_d * s_p + c_d * c_p * c_a).atan2(a.hypot(b)).to_degrees();
        let phi = (self.phi_p + dphi + 180.0).rem_euclid(360.0) - 180.0;
        (phi, theta)
    }
}

/// Which conic projection of FITS WCS Paper II §5.1.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ConicKind {
    /// COP, conic perspective (§5.1.1).
    Perspective,
    /// COE, conic equal area (§5.1.2).
    EqualArea,
    /// COD, conic equidistant (§5.1.3).
    Equidistant,
    /// COO, conic orthomorphic (§5.1.4).
    Orthomorphic,
}

/// A conic projection (FITS WCS Paper II §5.1): from intermediate world coordinates (x, y),
/// degrees, the native (phi, theta) by the inverse of the projection, computed as WCSLIB's `cop2s`,
/// `coe2s`, `cod2s` and `coo2s` do. PV2_1 is theta_a (required, degrees, not 0), PV2_2 is eta
/// (default 0); the standard parallels are theta_a -/+ eta. The wcs crate's conics disagree
/// with WCSLIB by up to an arcsecond, so vogate computes these itself.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Conic {
    kind: ConicKind,
    /// theta_a, degrees.
    theta_a: f64,
    /// The constant C of Paper II: native longitude phi = arg(...)/C.
    c: f64,
    /// Y0 = R_theta at theta = theta_a, degrees.
    y0: f64,
    /// Projection-specific constants (see `native_latitude`).
    k: [f64; 3],
}

impl Conic {
    fn from_header(h: &ImageHeader, proj: &str) -> Result<Conic, String> {
        let theta_a = h
            .number("PV2_1")
            .ok_or(format!("the conic projection {proj} needs PV2_1 (theta_a)"))?;
        let eta = h.number("PV2_2").unwrap_or(0.0);
        if !(theta_a.abs() < 90.0 && theta_a != 0.0) {
            return Err(format!(
                "PV2_1 = {theta_a}: theta_a of a conic must lie in (-90, 0) or (0, 90) degrees"
            ));
        }
        if eta.abs() >= 90.0 {
            return Err(format!(
                "PV2_2 = {eta}: eta of a conic must lie in (-90, 90) degrees"
            ));
        }
        let r2d = 180.0 / std::f64::consts::PI;
        let (sin, cos, tan) = (
            |d: f64| d.to_radians().sin(),
            |d: f64| d.to_radians().cos(),
            |d: f64| d.to_radians().tan(),
        );
        let (theta1, theta2) = (theta_a - eta, theta_a + eta);
        let (kind, c, y0, k) = match proj {
            "COP" => {
                let c = sin(theta_a);
                let k0 = r2d * cos(eta);
                if k0 == 0.0 {
                    return Err(format!("PV2_2 = {eta}: COP is undefined for it"));
                }
                let k1 = 1.0 / tan(theta_a);
                (ConicKind::Perspective, c, k0 * k1, [k0, k1, 0.0])
            }
            "COE" => {
                let gamma = sin(theta1) + sin(theta2);
                if gamma == 0.0 {
                    return Err(format!(
                        "PV2_1/PV2_2 = {theta_a}/{eta}: COE is undefined for them"
                    ));
                }
                let c = gamma / 2.0;
                let s12 = 1.0 + sin(theta1) * sin(theta2);
                let r = |t: f64| r2d * (2.0 / gamma) * (s12 - gamma * sin(t)).max(0.0).sqrt();
                (ConicKind::EqualArea, c, r(theta_a), [gamma, s12, 0.0])
            }
            "COD" => {
                let (c, y0) = if eta == 0.0 {
                    (sin(theta_a), r2d / tan(theta_a))
                } else {
                    let c = r2d * sin(theta_a) * sin(eta) / eta;
                    (c, eta / tan(eta) / tan(theta_a))
                };
                (ConicKind::Equidistant, c, y0, [0.0; 3])
            }
            "COO" => {
                let t = |th: f64| tan((90.0 - th) / 2.0);
                let c = if theta1 == theta2 {
                    sin(theta1)
                } else {
                    (cos(theta2) / cos(theta1)).ln() / (t(theta2) / t(theta1)).ln()
                };
                if c == 0.0 || !c.is_finite() {
                    return Err(format!(
                        "PV2_1/PV2_2 = {theta_a}/{eta}: COO is undefined for them"
                    ));
                }
                let psi = r2d * cos(theta1) / (c * t(theta1).powf(c));
                (
                    ConicKind::Orthomorphic,
                    c,
                    psi * t(theta_a).powf(c),
                    [psi, 0.0, 0.0],
                )
            }
            _ => return Err(format!("{proj} is not a conic projection")),
        };
        Ok(Conic {
            kind,
            theta_a,
            c,
            y0,
            k,
        })
    }

    /// Native (phi, theta) in degrees of intermediate world coordinates (`x`, `y`), degrees,
    /// or `None` outside the projection's domain.
    fn plane_to_native(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        // Paper II eqs. (99)-(100): R = sign(theta_a) sqrt(x^2 + (Y0 - y)^2),
        // phi = arg(sign(theta_a) (Y0 - y), sign(theta_a) x) / C.
        let s = self.theta_a.signum();
        let dy = self.y0 - y;
        let r = s * x.hypot(dy);
        let phi = if r == 0.0 {
            0.0
        } else {
            (s * x).atan2(s * dy).to_degrees() / self.c
        };
        if phi.abs() > 180.0 + 1e-9 {
            return None;
        }
        let theta = self.native_latitude(r)?;
        (theta.is_finite() && theta.abs() <= 90.0 + 1e-9).then_some((phi, theta.clamp(-90.0, 90.0)))
    }

    /// Intermediate world coordinates (x, y), degrees, of native (`phi`, `theta`) in degrees,
    /// by Paper II eqs. (97)-(98) with each conic's R_theta; `None` where the projection is
    /// undefined (COP at theta - theta_a = +/-90 degrees and on its far side, COE beyond its
    /// boundary, COO at the pole opposite to its apex).
    fn native_to_plane(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let d2r = std::f64::consts::PI / 180.0;
        let [k0, k1, _] = self.k;
        let r = match self.kind {
            ConicKind::Perspective => {
                let t = ((theta - self.theta_a) * d2r).cos();
                if t <= 0.0 {
                    return None;
                }
                let r = k0 * (k1 - ((theta - self.theta_a) * d2r).sin() / t);
                // The far side: R of the opposite sign to theta_a (WCSLIB's strict bound).
                if r * self.theta_a.signum() < 0.0 {
                    return None;
                }
                r
            }
            ConicKind::EqualArea => {
                let (gamma, s12) = (k0, k1);
                let w = s12 - gamma * (theta * d2r).sin();
                if w < 0.0 {
                    return None;
                }
                (2.0 / gamma) * w.sqrt() / d2r
            }
            ConicKind::Equidistant => self.theta_a + self.y0 - theta,
            ConicKind::Orthomorphic => {
                // R is infinite at the pole opposite to the apex (caught below).
                k0 * ((90.0 - theta) / 2.0 * d2r).tan().powf(self.c)
            }
        };
        if !r.is_finite() {
            return None;
        }
        let (s, c) = (self.c * phi * d2r).sin_cos();
        Some((r * s, self.y0 - r * c))
    }

    /// theta, degrees, of the radius `r` (degrees) by the inverse of R_theta.
    fn native_latitude(&self, r: f64) -> Option<f64> {
        let d2r = std::f64::consts::PI / 180.0;
        let [k0, k1, _] = self.k;
        Some(match self.kind {
            // R = (180/pi) cos(eta) [cot(theta_a) - tan(theta - theta_a)]
            ConicKind::Perspective => self.theta_a + (k1 - r / k0).atan().to_degrees(),
            // R = (180/pi) (2/gamma) sqrt(1 + sin(theta1) sin(theta2) - gamma sin(theta))
            ConicKind::EqualArea => {
                let (gamma, s12) = (k0, k1);
                let w = r * d2r * gamma / 2.0;
                let sin_theta = (s12 - w * w) / gamma;
                if sin_theta.abs() > 1.0 + 1e-12 {
                    return None;
                }
                sin_theta.clamp(-1.0, 1.0).asin().to_degrees()
            }
            // R = theta_a - theta + Y0
            ConicKind::Equidistant => self.theta_a + self.y0 - r,
            // R = psi tan^C((90 - theta)/2)
            ConicKind::Orthomorphic => {
                let psi = k0;
                if r == 0.0 {
                    if self.c < 0.0 {
                        -90.0
                    } else {
                        90.0
                    }
                } else {
                    90.0 - 2.0 * (r / psi).powf(1.0 / self.c).atan().to_degrees()
                }
            }
        })
    }
}

/// The matrix from pixel offsets (p - CRPIX) to intermediate world coordinates, degrees per
/// pixel, of FITS WCS Paper I §2.1: CDi_j when any is present; else CDELTi times PCi_j
/// (default identity); else CDELTi with the rotation CROTA2 (Paper II §6.1, eq. 188).
fn linear_matrix(h: &ImageHeader) -> Result<[[f64; 2]; 2], String> {
    let has_cd = ["CD1_1", "CD1_2", "CD2_1", "CD2_2"]
        .iter()
        .any(|k| h.number(k).is_some());
    let m = if has_cd {
        let cd = |k: &str| h.number(k).unwrap_or(0.0);
        [[cd("CD1_1"), cd("CD1_2")], [cd("CD2_1"), cd("CD2_2")]]
    } else {
        let d1 = h.number("CDELT1").unwrap_or(1.0);
        let d2 = h.number("CDELT2").unwrap_or(1.0);
        let has_pc = ["PC1_1", "PC1_2", "PC2_1", "PC2_2"]
            .iter()
            .any(|k| h.number(k).is_some());
        if has_pc {
            let pc = |k: &str, d: f64| h.number(k).unwrap_or(d);
            [
                [d1 * pc("PC1_1", 1.0), d1 * pc("PC1_2", 0.0)],
                [d2 * pc("PC2_1", 0.0), d2 * pc("PC2_2", 1.0)],
            ]
        } else {
            let (s, c) = h.number("CROTA2").unwrap_or(0.0).to_radians().sin_cos();
            [[d1 * c, -d2 * s], [d1 * s, d2 * c]]
        }
    };
    let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    if det == 0.0 || !det.is_finite() {
        return Err("the CD/PC/CDELT matrix is singular".into());
    }
    Ok(m)
}

/// Why a sky position has no pixel position on an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoPixel {
    /// The projection does not reach the position: the far side of a zenithal projection's
    /// sphere (TAN beyond 90 degrees from its reference point, SIN's far hemisphere, ...), a
    /// conic's excluded pole, a DSS plate's far side.
    Undefined,
    /// An iterative inverse (SIP, DSS plate, FK4) did not converge to 1e-10 pixel: the
    /// position lies where the distortion polynomials fold over, far outside the image.
    NoConvergence,
}

impl std::fmt::Display for NoPixel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NoPixel::Undefined => "the projection is undefined at this position",
            NoPixel::NoConvergence => "the inverse of the distortion does not converge here",
        })
    }
}

/// ICRS to a frame, precomputed for an image: a fixed rotation for FK5 J2000 and Galactic
/// (the inverse of the [`to_icrs`] chain), iteration for FK4 (whose E-terms are not a
/// rotation).
#[derive(Debug, Clone, Copy, PartialEq)]
enum FromIcrs {
    Identity,
    /// Rows are the frame's x, y, z axes in ICRS.
    Rotation([[f64; 3]; 3]),
    /// FK4 B1950 at this Besselian epoch.
    Fk4 {
        epoch: f64,
    },
}

/// Unit vector of (lon, lat) in degrees.
fn unit(lon: f64, lat: f64) -> [f64; 3] {
    let (sl, cl) = lon.to_radians().sin_cos();
    let (sb, cb) = lat.to_radians().sin_cos();
    [cb * cl, cb * sl, sb]
}

/// (lon in [0, 360), lat) in degrees of a vector.
fn lon_lat(v: [f64; 3]) -> (f64, f64) {
    let lon = v[1].atan2(v[0]).to_degrees().rem_euclid(360.0);
    let lat = v[2].atan2(v[0].hypot(v[1])).to_degrees();
    (lon, lat)
}

impl FromIcrs {
    fn new(frame: Frame) -> FromIcrs {
        match frame {
            Frame::Icrs => FromIcrs::Identity,
            Frame::Fk4B1950 { epoch } => FromIcrs::Fk4 { epoch },
            Frame::Fk5J2000 | Frame::Galactic => {
                // The frame's axes in ICRS are the images of its unit vectors under the
                // forward chain (a pure rotation), so its inverse is the transpose.
                let axis = |lon: f64, lat: f64| {
                    let p = to_icrs(frame, lon, lat);
                    unit(p.ra, p.dec)
                };
                FromIcrs::Rotation([axis(0.0, 0.0), axis(90.0, 0.0), axis(0.0, 90.0)])
            }
        }
    }

    /// (lon, lat) in degrees in the frame of ICRS (`ra`, `dec`) in degrees.
    fn apply(&self, ra: f64, dec: f64) -> Result<(f64, f64), NoPixel> {
        match self {
            FromIcrs::Identity => Ok((ra.rem_euclid(360.0), dec)),
            FromIcrs::Rotation(m) => {
                let v = unit(ra, dec);
                let dot = |a: &[f64; 3]| a[0] * v[0] + a[1] * v[1] + a[2] * v[2];
                Ok(lon_lat([dot(&m[0]), dot(&m[1]), dot(&m[2])]))
            }
            FromIcrs::Fk4 { epoch } => {
                // ICRS -> FK5 J2000 (the inverse of eraFk5hz at J2000), eraFk54z to FK4, then
                // a few corrections so that [`to_icrs`] gives back (ra, dec) exactly.
                let (r5, d5, _, _) =
                    erfars::starcatalogs::Hfk5z(ra.to_radians(), dec.to_radians(), 2451545.0, 0.0);
                let (r, d, _, _) = erfars::starcatalogs::Fk54z(r5, d5, *epoch);
                let (mut lon, mut lat) = (r.to_degrees(), d.to_degrees());
                let target = unit(ra, dec);
                for _ in 0..10 {
                    let p = to_icrs(Frame::Fk4B1950 { epoch: *epoch }, lon, lat);
                    let (dra, ddec) = ((ra - p.ra + 540.0).rem_euclid(360.0) - 180.0, dec - p.dec);
                    lon += dra;
                    lat += ddec;
                    let got = unit(p.ra, p.dec);
                    let miss = (0..3)
                        .map(|i| (got[i] - target[i]).abs())
                        .fold(0.0, f64::max);
                    if miss < 1e-15 {
                        break;
                    }
                }
                Ok((lon.rem_euclid(360.0), lat))
            }
        }
    }
}

/// The linear step of FITS WCS Paper I §2.1: pixel (p1, p2) to intermediate world
/// coordinates (x, y) in degrees, `matrix` (p - CRPIX), and back.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Linear {
    crpix: [f64; 2],
    /// Degrees per pixel, row-major ([`linear_matrix`]).
    matrix: [[f64; 2]; 2],
}

impl Linear {
    fn from_header(h: &ImageHeader) -> Result<Linear, String> {
        Ok(Linear {
            crpix: [
                h.number("CRPIX1").unwrap_or(0.0),
                h.number("CRPIX2").unwrap_or(0.0),
            ],
            matrix: linear_matrix(h)?,
        })
    }

    fn plane_of(&self, px: f64, py: f64) -> (f64, f64) {
        let (u, v) = (px - self.crpix[0], py - self.crpix[1]);
        let m = &self.matrix;
        (m[0][0] * u + m[0][1] * v, m[1][0] * u + m[1][1] * v)
    }

    fn pixel_of(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let (u, v) = solve2(self.matrix, x, y)?;
        Some((u + self.crpix[0], v + self.crpix[1]))
    }
}

/// The keywords of the wcs crate's `WCSParams` (wcs 0.4) that [`CelestialWcs::from_header`]
/// passes on from a header as they are, upper case and sorted (byte order): the header
/// keywords that can change its projection. (It sets the others itself, or leaves them out.)
const WCS_PARAMS: [&str; 37] = [
    "CD3_1", "CD3_2", "CD3_3", "CRVAL3", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "NAXIS4", "PC3_1",
    "PC3_2", "PC3_3", "PV2_0", "PV2_1", "PV2_10", "PV2_11", "PV2_12", "PV2_13", "PV2_14", "PV2_15",
    "PV2_16", "PV2_17", "PV2_18", "PV2_19", "PV2_2", "PV2_20", "PV2_3", "PV2_4", "PV2_5", "PV2_6",
    "PV2_7", "PV2_8", "PV2_9", "ZNAXIS1", "ZNAXIS2", "ZNAXIS3", "ZNAXIS4",
];

/// Whether the header keyword `k` goes to the wcs crate as it is: one of [`WCS_PARAMS`].
/// SIP, the rotation's and the linear step's keywords are not among them (vogate applies
/// those itself), nor are keywords the crate does not read (EXPTIME, MJD-OBS, ..., which
/// would only tell equal projections apart in [`PROJECTION_CACHE`]).
fn passed_on(k: &str) -> bool {
    WCS_PARAMS.binary_search(&k).is_ok()
}

/// What the wcs crate's projection of a header depends on (see [`CelestialWcs::from_header`]).
struct ProjectionKey {
    proj: String,
    conic: bool,
    naxis: (i64, i64),
    /// (keyword, value's bits), sorted by keyword.
    passed: Vec<(String, u64)>,
}

impl ProjectionKey {
    /// Whether this is the key of projection `proj` (conic or not) of an image of `naxis`
    /// pixels with the keywords `passed` (sorted by keyword).
    fn is(&self, proj: &str, conic: bool, naxis: (i64, i64), passed: &[(&str, f64)]) -> bool {
        self.proj == proj
            && self.conic == conic
            && self.naxis == naxis
            && self.passed.len() == passed.len()
            && self
                .passed
                .iter()
                .zip(passed)
                .all(|((k, bits), (k2, x))| k == k2 && *bits == x.to_bits())
    }
}

/// How many projections each thread keeps.
const PROJECTION_CACHE_SIZE: usize = 16;

thread_local! {
    /// The projections made last on this thread: the files of one survey share theirs, and
    /// making one (through the wcs crate's serde parameters) was a tenth of the live
    /// ingest's reading time.
    static PROJECTION_CACHE: std::cell::RefCell<Vec<(ProjectionKey, std::sync::Arc<WCS>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The wcs crate's projection `proj` alone (see [`CelestialWcs::from_header`]): its pixel
/// coordinates are intermediate world coordinates in degrees, and its celestial rotation the
/// identity, with the header keywords `passed` (finite numbers) as they are.
fn projection(
    proj: &str,
    zenithal: bool,
    conic: &Option<Conic>,
    (naxis1, naxis2): (i64, i64),
    passed: &[(&str, f64)],
) -> Result<WCS, String> {
    let mut map = serde_json::Map::new();
    // The wcs crate reads the frame from CTYPE1 and converts Galactic with its own matrix;
    // vogate wants native-frame angles and converts them with ERFA, so the projection is
    // given equatorial axis names and no RADESYS/EQUINOX.
    map.insert("CTYPE1".into(), format!("RA---{proj}").into());
    map.insert("CTYPE2".into(), format!("DEC--{proj}").into());
    map.insert("NAXIS".into(), 2.into());
    map.insert("NAXIS1".into(), naxis1.into());
    map.insert("NAXIS2".into(), naxis2.into());
    for (k, x) in passed {
        if let Some(n) = serde_json::Number::from_f64(*x) {
            map.insert((*k).to_string(), serde_json::Value::Number(n));
        }
    }
    // The wcs crate projects and deprojects correctly, but its native-to-celestial rotation
    // disagrees with WCSLIB away from simple cases (an AIT map with its reference point at
    // a pole comes out 90 degrees off). It is given a reference for which the rotation is
    // the identity, so that it returns native (phi, theta); vogate applies the rotation of
    // FITS WCS Paper II itself ([`SphericalRotation`]).
    let (neutral_lat, neutral_lonpole) = if zenithal { (90, 180) } else { (0, 0) };
    if conic.is_some() {
        // The conic is vogate's own; the wcs crate only has to accept the header.
        map.insert("CTYPE1".into(), "RA---CAR".into());
        map.insert("CTYPE2".into(), "DEC--CAR".into());
    }
    for (k, v) in [
        ("CRPIX1", 0.0),
        ("CRPIX2", 0.0),
        ("CD1_1", 1.0),
        ("CD1_2", 0.0),
        ("CD2_1", 0.0),
        ("CD2_2", 1.0),
    ] {
        map.insert(k.into(), v.into());
    }
    map.insert("CRVAL1".into(), 0.into());
    map.insert("CRVAL2".into(), neutral_lat.into());
    map.insert("LONPOLE".into(), neutral_lonpole.into());
    let params: WCSParams = serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| format!("WCS keywords unreadable: {e}"))?;
    WCS::new(&params).map_err(|e| format!("WCS not usable: {e}"))
}

/// A usable celestial WCS: projection plus frame.
pub struct CelestialWcs {
    /// The projection only: its pixel coordinates are intermediate world coordinates in
    /// degrees (CRPIX 0, CD the identity), because the wcs crate inverts a CD matrix that is
    /// not symmetric wrongly; the linear step is `linear`.
    wcs: std::sync::Arc<WCS>,
    linear: Linear,
    /// Whether theta is refined after the wcs crate's deprojection ([`Self::refined_theta`]).
    refine_theta: bool,
    conic: Option<Conic>,
    rotation: SphericalRotation,
    sip: Option<Sip>,
    dss: Option<DssPlate>,
    from_icrs: FromIcrs,
    /// ICRS unit vector to native unit vector (frame and spherical rotation composed), where
    /// both are rotations and the projection is the wcs crate's: the fast path of
    /// [`CelestialWcs::icrs_to_pixel`].
    icrs_to_native: Option<[[f64; 3]; 3]>,
    /// The frame of the world coordinates.
    pub frame: Frame,
    /// NAXIS1 and NAXIS2, pixels.
    pub naxis1: i64,
    /// See `naxis1`.
    pub naxis2: i64,
}

impl std::fmt::Debug for CelestialWcs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CelestialWcs")
            .field("frame", &self.frame)
            .field("naxis1", &self.naxis1)
            .field("naxis2", &self.naxis2)
            .finish()
    }
}

/// Which frame a header's celestial axes are in. Errors name the keyword values that are not
/// supported.
pub fn frame_of(h: &ImageHeader) -> Result<Frame, String> {
    let ctype1 = h.text("CTYPE1").unwrap_or_default();
    if ctype1.starts_with("GLON") {
        return Ok(Frame::Galactic);
    }
    if !ctype1.starts_with("RA--") {
        return Err(format!(
            "CTYPE1 = '{ctype1}' is not a supported celestial axis"
        ));
    }
    let radesys = h
        .text("RADESYS")
        .or_else(|| h.text("RADECSYS"))
        .map(|s| s.to_ascii_uppercase());
    let equinox = h.number("EQUINOX").or_else(|| h.number("EPOCH"));
    let fk5 = |eq: Option<f64>| match eq {
        None => Ok(Frame::Fk5J2000),
        Some(e) if (e - 2000.0).abs() < 1e-9 => Ok(Frame::Fk5J2000),
        Some(e) => Err(format!("FK5 with EQUINOX = {e} is not supported yet")),
    };
    let fk4 = |eq: Option<f64>| match eq {
        None => Ok(Frame::Fk4B1950 { epoch: 1950.0 }),
        Some(e) if (e - 1950.0).abs() < 1e-9 => Ok(Frame::Fk4B1950 { epoch: 1950.0 }),
        Some(e) => Err(format!("FK4 with EQUINOX = {e} is not supported yet")),
    };
    match radesys.as_deref() {
        Some("ICRS") => Ok(Frame::Icrs),
        Some("FK5") => fk5(equinox),
        Some("FK4") => fk4(equinox),
        Some(other) => Err(format!("RADESYS = '{other}' is not supported yet")),
        None => match equinox {
            None => Ok(Frame::Icrs),
            Some(e) if e < 1984.0 => fk4(Some(e)),
            Some(e) => fk5(Some(e)),
        },
    }
}

/// Refuse projection parameters (PV2_m) for which the projection is undefined or which the
/// wcs crate does not compute as WCSLIB does, before the crate sees them (it asserts on some).
fn check_projection_parameters(proj: &str, h: &ImageHeader) -> Result<(), String> {
    let pv = |m: u32, default: f64| h.number(&format!("PV2_{m}")).unwrap_or(default);
    match proj {
        "AZP" if !(-90.0..=90.0).contains(&pv(2, 0.0)) => Err(format!(
            "PV2_2 = {}: AZP's gamma must lie in [-90, 90] degrees",
            pv(2, 0.0)
        )),
        "AIR" if !(pv(1, 90.0) > -90.0 && pv(1, 90.0) < 90.0) => Err(format!(
            "PV2_1 = {}: AIR with theta_b outside (-90, 90) degrees is not supported",
            pv(1, 90.0)
        )),
        "CEA" if !(pv(1, 1.0) > 0.0 && pv(1, 1.0) <= 1.0) => Err(format!(
            "PV2_1 = {}: CEA's lambda must lie in (0, 1]",
            pv(1, 1.0)
        )),
        "CYP" if pv(1, 1.0) + pv(2, 1.0) == 0.0 => {
            Err("PV2_1 + PV2_2 = 0: CYP is undefined for them".into())
        }
        _ => Ok(()),
    }
}

fn is_celestial_pair(c1: &str, c2: &str) -> bool {
    (c1.starts_with("RA--") && c2.starts_with("DEC-"))
        || (c1.starts_with("GLON") && c2.starts_with("GLAT"))
}

impl CelestialWcs {
    /// The celestial WCS of an image HDU, or the reason it has none that vogate can use.
    pub fn from_header(h: &ImageHeader) -> Result<CelestialWcs, String> {
        let c1 = h.text("CTYPE1").ok_or("no CTYPE1: no celestial WCS")?;
        let c2 = h.text("CTYPE2").ok_or("no CTYPE2: no celestial WCS")?;
        if !is_celestial_pair(c1, c2) {
            return Err(format!(
                "CTYPE1/CTYPE2 = '{c1}'/'{c2}' are not a supported celestial axis pair"
            ));
        }
        if c1.len() < 8 || c2.len() < 8 {
            return Err(format!("CTYPE1/CTYPE2 = '{c1}'/'{c2}' name no projection"));
        }
        // A WCS keyword that is present must be a finite number: a NaN or overflowing CRVAL is
        // an error, never a silent 0.
        for (k, v) in &h.cards {
            let is_wcs = [
                "CRPIX", "CRVAL", "CDELT", "CROTA", "CD1_", "CD2_", "PC1_", "PC2_", "PV",
                "LONPOLE", "LATPOLE", "EQUINOX", "EPOCH",
            ]
            .iter()
            .any(|p| k.starts_with(p));
            if let (true, Card::Text(raw)) = (is_wcs, v) {
                return Err(format!("{k} = '{raw}' is not a finite number"));
            }
        }
        // CRVAL2 is the reference point's latitude (axis 2 is always the latitude here).
        if let Some(lat) = h.number("CRVAL2").filter(|v| v.abs() > 90.0) {
            return Err(format!(
                "CRVAL2 = {lat}: the reference point's latitude must lie within [-90, 90]"
            ));
        }
        let frame = frame_of(h)?;
        let (naxis1, naxis2) = (h.naxis[0], h.naxis[1]);
        let proj = &c1[5..8];
        let zenithal = matches!(
            proj,
            "AZP" | "SZP" | "TAN" | "STG" | "SIN" | "ARC" | "ZPN" | "ZEA" | "AIR" | "NCP"
        );
        // SZP is left out: the wcs crate's SZP disagrees with WCSLIB (astropy) by degrees.
        const PROJECTIONS: [&str; 18] = [
            "AZP", "TAN", "STG", "SIN", "ARC", "ZPN", "ZEA", "AIR", "NCP", "CYP", "CEA", "CAR",
            "MER", "SFL", "PAR", "MOL", "AIT", "HPX",
        ];
        if !PROJECTIONS.contains(&proj) && !matches!(proj, "COP" | "COD" | "COE" | "COO") {
            return Err(format!("the projection {proj} is not supported"));
        }
        check_projection_parameters(proj, h)?;
        let conic = if matches!(proj, "COP" | "COD" | "COE" | "COO") {
            Some(Conic::from_header(h, proj)?)
        } else {
            None
        };
        let fiducial = match &conic {
            Some(c) => (0.0, c.theta_a),
            None if zenithal => (0.0, 90.0),
            None => (0.0, 0.0),
        };
        if h.number("PV1_1").is_some_and(|v| v != fiducial.0)
            || h.number("PV1_2").is_some_and(|v| v != fiducial.1)
        {
            return Err(
                "a fiducial point other than the default (PV1_1, PV1_2) is not supported yet"
                    .into(),
            );
        }
        let rotation = SphericalRotation::from_header(h, fiducial)?;
        // vogate applies SIP itself (the wcs crate's SIP disagrees with astropy).
        let sip = if c1.ends_with("-SIP") {
            Some(Sip::from_header(h)?)
        } else {
            None
        };
        let dss = DssPlate::from_header(h).transpose()?;
        // The numeric keywords given to the wcs crate as they are (the rest of its keywords
        // are fixed by the projection, below), sorted: with the projection and the axis
        // lengths, they name its projection in [`PROJECTION_CACHE`].
        let mut passed: Vec<(&str, f64)> = Vec::new();
        for (k, v) in &h.cards {
            let Card::Number(x) = v else {
                continue;
            };
            if passed_on(k) {
                // The wcs crate reads AIR's PV2_1 as the distance from the reference point,
                // 90 - theta_b (checked to lie in (0, 180) degrees above).
                let x = if proj == "AIR" && k == "PV2_1" {
                    90.0 - x
                } else {
                    *x
                };
                if x.is_finite() {
                    passed.push((k.as_str(), x));
                }
            }
        }
        passed.sort_by(|a, b| a.0.cmp(b.0));
        // Looked up without building a key: most headers find their projection.
        let cached = PROJECTION_CACHE.with(|c| {
            c.borrow()
                .iter()
                .find(|(k, _)| k.is(proj, conic.is_some(), (naxis1, naxis2), &passed))
                .map(|(_, w)| std::sync::Arc::clone(w))
        });
        let wcs = match cached {
            Some(w) => w,
            None => {
                let w = std::sync::Arc::new(projection(
                    proj,
                    zenithal,
                    &conic,
                    (naxis1, naxis2),
                    &passed,
                )?);
                let key = ProjectionKey {
                    proj: proj.to_string(),
                    conic: conic.is_some(),
                    naxis: (naxis1, naxis2),
                    passed: passed
                        .iter()
                        .map(|(k, x)| (k.to_string(), x.to_bits()))
                        .collect(),
                };
                PROJECTION_CACHE.with(|c| {
                    let mut c = c.borrow_mut();
                    if c.len() >= PROJECTION_CACHE_SIZE {
                        c.remove(0);
                    }
                    c.push((key, std::sync::Arc::clone(&w)));
                });
                w
            }
        };
        let mut out = CelestialWcs {
            wcs,
            linear: Linear::from_header(h)?,
            refine_theta: matches!(proj, "ZPN" | "AIR"),
            conic,
            rotation,
            sip,
            dss,
            from_icrs: FromIcrs::new(frame),
            icrs_to_native: None,
            frame,
            naxis1,
            naxis2,
        };
        out.icrs_to_native = out.native_rotation();
        Ok(out)
    }

    /// The native-frame (lon, lat) in degrees of FITS pixel (`x`, `y`), or `None` where the
    /// projection has no solution (outside an all-sky projection's boundary).
    pub fn pixel_to_native(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        if let Some(dss) = &self.dss {
            return Some(dss.pixel_to_sky(x, y));
        }
        let (x, y) = match &self.sip {
            Some(sip) => sip.apply(x, y),
            None => (x, y),
        };
        let (x, y) = self.linear.plane_of(x, y);
        let (phi, theta) = match &self.conic {
            Some(conic) => conic.plane_to_native(x, y)?,
            None => {
                let ll = self.wcs.unproj_lonlat(&ImgXY::new(x, y))?;
                let (phi, theta) = (ll.lon().to_degrees(), ll.lat().to_degrees());
                if self.refine_theta {
                    (phi, self.refined_theta(x, y, phi, theta))
                } else {
                    (phi, theta)
                }
            }
        };
        if !(phi.is_finite() && theta.is_finite()) {
            return None;
        }
        Some(self.rotation.apply(phi, theta))
    }

    /// theta of a zenithal projection whose deprojection the wcs crate solves only to about
    /// a milliarcsecond (ZPN, AIR): Newton's method on its exact forward R(theta), so that
    /// R(theta) is the radius of the plane point (`x`, `y`), degrees, to 1e-13 degrees, as
    /// WCSLIB solves it.
    fn refined_theta(&self, x: f64, y: f64, phi: f64, theta: f64) -> f64 {
        let target = x.hypot(y);
        let r_of = |t: f64| {
            self.wcs
                .proj_lonlat(&LonLat::new(phi.to_radians(), t.to_radians()))
                .map(|p| p.x().hypot(p.y()))
        };
        let h = 1e-7;
        let mut t = theta;
        for _ in 0..8 {
            let (Some(r0), Some(r1)) = (r_of(t), r_of(t - h)) else {
                return theta;
            };
            let slope = (r0 - r1) / h;
            if slope == 0.0 || !slope.is_finite() {
                return theta;
            }
            let step = (r0 - target) / slope;
            t -= step;
            if step.abs() < 1e-13 {
                break;
            }
        }
        if t.is_finite() && (t - theta).abs() < 1e-3 {
            t
        } else {
            theta
        }
    }

    /// The ICRS position of FITS pixel (`x`, `y`), or `None` where the projection has no
    /// solution.
    pub fn pixel_to_icrs(&self, x: f64, y: f64) -> Option<SkyPoint> {
        let (lon, lat) = self.pixel_to_native(x, y)?;
        Some(to_icrs(self.frame, lon, lat))
    }

    /// The FITS pixel (x, y) (1-based, the centre of the first pixel at (1, 1)) of native-frame
    /// (`lon`, `lat`) in degrees: the inverse of [`CelestialWcs::pixel_to_native`]. Positions
    /// outside the image get pixels outside 0.5..NAXISn + 0.5. Closed-form through the
    /// rotation and the projection; SIP and the DSS plate polynomials are inverted by Newton's
    /// method, as WCSLIB and astropy's `all_world2pix` do. Errors: where the projection does
    /// not reach the position, or the iteration does not converge ([`NoPixel`]); never a
    /// pixel that maps elsewhere.
    pub fn native_to_pixel(&self, lon: f64, lat: f64) -> Result<(f64, f64), NoPixel> {
        if !(lon.is_finite() && lat.is_finite() && lat.abs() <= 90.0) {
            return Err(NoPixel::Undefined);
        }
        if let Some(dss) = &self.dss {
            return dss.sky_to_pixel(lon, lat);
        }
        let (phi, theta) = self.rotation.invert(lon, lat);
        let plane = match &self.conic {
            Some(conic) => conic.native_to_plane(phi, theta),
            None => self
                .wcs
                .proj_lonlat(&LonLat::new(phi.to_radians(), theta.to_radians()))
                .map(|p| (p.x(), p.y())),
        };
        self.plane_to_pixel(plane)
    }

    /// The FITS pixel of projection-plane coordinates (`None`: the projection has none):
    /// the linear step, then the SIP inverse where there is one.
    fn plane_to_pixel(&self, plane: Option<(f64, f64)>) -> Result<(f64, f64), NoPixel> {
        let (qx, qy) = plane
            .and_then(|(x, y)| self.linear.pixel_of(x, y))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .ok_or(NoPixel::Undefined)?;
        match &self.sip {
            Some(sip) => sip.invert(qx, qy).ok_or(NoPixel::NoConvergence),
            None => Ok((qx, qy)),
        }
    }

    /// The FITS pixel (x, y) of the ICRS position `p` (see [`CelestialWcs::native_to_pixel`]):
    /// the frame change inverts [`to_icrs`] (a fixed rotation for FK5 and Galactic, an
    /// iteration for FK4).
    pub fn icrs_to_pixel(&self, p: SkyPoint) -> Result<(f64, f64), NoPixel> {
        if self.icrs_to_native.is_some() {
            if !(p.ra.is_finite() && p.dec.is_finite() && p.dec.abs() <= 90.0) {
                return Err(NoPixel::Undefined);
            }
            return self.icrs_vec_to_pixel(unit(p.ra, p.dec));
        }
        let (lon, lat) = self.from_icrs.apply(p.ra, p.dec)?;
        self.native_to_pixel(lon, lat)
    }

    /// [`Self::icrs_to_pixel`] of the direction `v`: an ICRS Cartesian vector (x towards
    /// RA 0 Dec 0, z towards the north pole) of any length above 0. The same pixel; where
    /// the frame change is a rotation and the projection is the wcs crate's, no angle is
    /// computed on the way (one matrix to the native vector, projected as a vector), which
    /// is what makes sampling a shape's boundary cheap. Errors as [`Self::icrs_to_pixel`].
    pub fn icrs_vec_to_pixel(&self, v: [f64; 3]) -> Result<(f64, f64), NoPixel> {
        let length = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        if !(length.is_finite() && length > 0.0) {
            return Err(NoPixel::Undefined);
        }
        let Some(m) = &self.icrs_to_native else {
            let (lon, lat) = lon_lat(v);
            return self.icrs_to_pixel(SkyPoint::new(lon, lat));
        };
        let n = |r: &[f64; 3]| r[0] * v[0] + r[1] * v[1] + r[2] * v[2];
        let (x, y, z) = (n(&m[0]), n(&m[1]), n(&m[2]));
        // Unit length to the last bit (mapproj asserts it).
        let norm = (x * x + y * y + z * z).sqrt();
        let plane = self
            .wcs
            .proj_xyz(&(x / norm, y / norm, z / norm))
            .map(|q| (q.x(), q.y()));
        self.plane_to_pixel(plane)
    }

    /// The rotation from ICRS unit vectors to native ones, when the frame change is a
    /// rotation and the projection is the wcs crate's (not a conic, not a DSS plate): the
    /// frame rotation and the spherical rotation of Paper II applied to the three axes.
    fn native_rotation(&self) -> Option<[[f64; 3]; 3]> {
        if self.conic.is_some() || self.dss.is_some() {
            return None;
        }
        let frame = match self.from_icrs {
            FromIcrs::Identity => [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            FromIcrs::Rotation(m) => m,
            FromIcrs::Fk4 { .. } => return None,
        };
        // Column j is the native vector of ICRS axis j.
        let column = |e: [f64; 3]| {
            let f = [
                frame[0][0] * e[0] + frame[0][1] * e[1] + frame[0][2] * e[2],
                frame[1][0] * e[0] + frame[1][1] * e[1] + frame[1][2] * e[2],
                frame[2][0] * e[0] + frame[2][1] * e[1] + frame[2][2] * e[2],
            ];
            let (lon, lat) = lon_lat(f);
            let (phi, theta) = self.rotation.invert(lon, lat);
            unit(phi, theta)
        };
        let c = [
            column([1.0, 0.0, 0.0]),
            column([0.0, 1.0, 0.0]),
            column([0.0, 0.0, 1.0]),
        ];
        Some([
            [c[0][0], c[1][0], c[2][0]],
            [c[0][1], c[1][1], c[2][1]],
            [c[0][2], c[1][2], c[2][2]],
        ])
    }
}

/// (`lon`, `lat`) in degrees in `frame`, as an ICRS position.
pub fn to_icrs(frame: Frame, lon: f64, lat: f64) -> SkyPoint {
    match frame {
        Frame::Icrs => SkyPoint::new(lon, lat),
        Frame::Galactic => {
            // astropy defines Galactic by its pole and origin in FK5 J2000 (the values ERFA's
            // eraG2icrs uses, there taken as ICRS), then goes FK5 -> ICRS. eraG2icrs alone
            // differs from astropy by the frame bias (about 0.02 arcsec); applying the bias
            // after it reproduces astropy.
            let (ra, dec) = erfars::galacticcoordinates::G2icrs(lon.to_radians(), lat.to_radians());
            to_icrs(Frame::Fk5J2000, ra.to_degrees(), dec.to_degrees())
        }
        Frame::Fk4B1950 { epoch } => {
            // ERFA eraFk45z: FK4 B1950 (E-terms removed, zero FK5 proper motion assumed) to
            // FK5 J2000, then FK5 to ICRS as below.
            let (ra, dec) = erfars::starcatalogs::Fk45z(lon.to_radians(), lat.to_radians(), epoch);
            to_icrs(Frame::Fk5J2000, ra.to_degrees(), dec.to_degrees())
        }
        Frame::Fk5J2000 => {
            // astropy's FK5 -> ICRS is the fixed rotation of USNO Circular 179 (eta0 = -19.9,
            // xi0 = 9.1, da0 = -22.9 mas): the FK5 -> Hipparcos orientation of ERFA's eraFk5hip,
            // which eraFk5hz applies; at its epoch J2000 the spin term is zero.
            let (ra, dec) =
                erfars::starcatalogs::Fk5hz(lon.to_radians(), lat.to_radians(), 2451545.0, 0.0);
            SkyPoint::new(ra.to_degrees(), dec.to_degrees())
        }
    }
}

#[cfg(test)]
mod projection_tests {
    use super::*;

    /// Every keyword of the wcs crate's parameters that vogate neither sets itself nor keeps
    /// from it is passed on, and so names a cached projection: a wcs release with new
    /// keywords fails here, not as two headers sharing a projection they should not.
    #[test]
    fn the_keywords_passed_on_are_those_the_wcs_crate_reads() {
        assert!(
            WCS_PARAMS.windows(2).all(|w| w[0] < w[1]),
            "WCS_PARAMS must be sorted for binary_search"
        );
        let params: WCSParams = serde_json::from_str(r#"{"CTYPE1": "RA---TAN", "NAXIS": 2}"#)
            .expect("the least parameters");
        let serde_json::Value::Object(all) = serde_json::to_value(&params).expect("to JSON") else {
            panic!("WCSParams is not an object");
        };
        let set_by_vogate = |k: &str| {
            matches!(
                k,
                "CTYPE1"
                    | "CTYPE2"
                    | "CTYPE3"
                    | "RADESYS"
                    | "EQUINOX"
                    | "EPOCH"
                    | "LONPOLE"
                    | "LATPOLE"
                    | "CRVAL1"
                    | "CRVAL2"
            ) || [
                "A_", "B_", "AP_", "BP_", "PV1_", "CRPIX", "CDELT", "CROTA", "CD1_", "CD2_",
            ]
            .iter()
            .chain(&["PC1_", "PC2_"])
            .any(|p| k.starts_with(p))
        };
        let read: Vec<&str> = all
            .keys()
            .map(String::as_str)
            .filter(|k| !set_by_vogate(k))
            .collect();
        for k in &read {
            assert!(
                passed_on(k),
                "{k} is read by the wcs crate but not passed on"
            );
        }
        for k in WCS_PARAMS {
            assert!(all.contains_key(k), "{k} is not a keyword of the wcs crate");
            assert!(passed_on(k));
        }
        assert_eq!(read.len(), WCS_PARAMS.len());
        for k in [
            "EXPTIME", "MJD-OBS", "CRPIX1", "CD1_1", "PV1_1", "A_ORDER", "CRVAL1",
        ] {
            assert!(!passed_on(k), "{k}");
        }
    }

    /// Two headers that differ only in keywords the projection does not read share one;
    /// another projection parameter makes another, and each gives its own positions.
    #[test]
    fn headers_share_a_cached_projection_only_when_it_is_the_same() {
        use crate::header::Card;
        let header = |extra: &[(&str, Card)]| {
            let mut cards: crate::Cards = [
                ("CTYPE1", Card::Text("RA---ZPN".into())),
                ("CTYPE2", Card::Text("DEC--ZPN".into())),
                ("CRPIX1", Card::Number(50.5)),
                ("CRPIX2", Card::Number(50.5)),
                ("CRVAL1", Card::Number(10.0)),
                ("CRVAL2", Card::Number(20.0)),
                ("CDELT1", Card::Number(-0.01)),
                ("CDELT2", Card::Number(0.01)),
                ("PV2_1", Card::Number(1.0)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            cards.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
            ImageHeader {
                index: 0,
                naxis: vec![100, 100],
                cards,
            }
        };
        let corner = |h: &ImageHeader| {
            let w = CelestialWcs::from_header(h).expect("a ZPN header");
            let p = w.pixel_to_icrs(1.0, 1.0).expect("a position");
            (w, p)
        };
        let (a, pa) = corner(&header(&[("EXPTIME", Card::Number(30.0))]));
        let (b, pb) = corner(&header(&[("EXPTIME", Card::Number(60.0))]));
        assert!(
            std::sync::Arc::ptr_eq(&a.wcs, &b.wcs),
            "EXPTIME is no projection keyword"
        );
        assert_eq!((pa.ra, pa.dec), (pb.ra, pb.dec));
        // ZPN with a cubic term: the corner moves.
        let (c, pc) = corner(&header(&[("PV2_3", Card::Number(0.5))]));
        assert!(!std::sync::Arc::ptr_eq(&a.wcs, &c.wcs));
        assert!(pa.distance(pc) > 1e-6, "{pa:?} {pc:?}");
        // Asked again, the first header still gives its own position.
        let (_, pa2) = corner(&header(&[]));
        assert_eq!((pa.ra, pa.dec), (pa2.ra, pa2.dec));
    }
}

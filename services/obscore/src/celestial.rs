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
use wcs::{ImgXY, WCSParams, WCS};

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
                .ok_or(format!("-SIP without {prefix}_ORDER"))? as i32;
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
        let poly = |c: &[f64; 13], a: f64, b: f64| {
            let r2 = a * a + b * b;
            c[0] * a
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
                + c[12] * a * r2 * r2
        };
        let arcsec = std::f64::consts::PI / (180.0 * 3600.0);
        let xi = poly(&self.amdx, xm, ym) * arcsec;
        let eta = poly(&self.amdy, ym, xm) * arcsec;
        // Inverse gnomonic projection about the plate centre.
        let (sd, cd) = self.dec0.sin_cos();
        let den = cd - eta * sd;
        let dra = xi.atan2(den);
        let dec = (sd + eta * cd).atan2((xi * xi + den * den).sqrt());
        ((self.ra0 + dra).to_degrees(), dec.to_degrees())
    }
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
        let lon = self.alpha_p + (-c_t * s_d).atan2(s_t * c_p - c_t * s_p * c_d).to_degrees();
        let lat = (s_t * s_p + c_t * c_p * c_d)
            .clamp(-1.0, 1.0)
            .asin()
            .to_degrees();
        (lon.rem_euclid(360.0), lat)
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

/// A conic projection (FITS WCS Paper II §5.1): intermediate world coordinates (x, y), degrees,
/// from the pixel through CRPIX and CD, or PC and CDELT, or CROTA2 and CDELT (Paper I §2.1);
/// then the native (phi, theta) by the inverse of the projection, computed as WCSLIB's `cop2s`,
/// `coe2s`, `cod2s` and `coo2s` do. PV2_1 is theta_a (required, degrees, not 0), PV2_2 is eta
/// (default 0); the standard parallels are theta_a -/+ eta. The wcs crate's conics disagree
/// with WCSLIB by up to an arcsecond, so vogate computes these itself.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Conic {
    kind: ConicKind,
    crpix: [f64; 2],
    /// Pixel offset to intermediate world coordinates, degrees per pixel (row-major).
    matrix: [[f64; 2]; 2],
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
            crpix: [
                h.number("CRPIX1").unwrap_or(0.0),
                h.number("CRPIX2").unwrap_or(0.0),
            ],
            matrix: linear_matrix(h)?,
            theta_a,
            c,
            y0,
            k,
        })
    }

    /// Native (phi, theta) in degrees of FITS pixel (`px`, `py`) (already SIP-corrected), or
    /// `None` outside the projection's domain.
    fn pixel_to_native(&self, px: f64, py: f64) -> Option<(f64, f64)> {
        let (u, v) = (px - self.crpix[0], py - self.crpix[1]);
        let m = &self.matrix;
        let x = m[0][0] * u + m[0][1] * v;
        let y = m[1][0] * u + m[1][1] * v;
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

/// A usable celestial WCS: projection plus frame.
pub struct CelestialWcs {
    wcs: WCS,
    conic: Option<Conic>,
    rotation: SphericalRotation,
    sip: Option<Sip>,
    dss: Option<DssPlate>,
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
        let frame = frame_of(h)?;
        let (naxis1, naxis2) = (h.naxis[0], h.naxis[1]);
        let proj = &c1[5..8];
        let zenithal = matches!(
            proj,
            "AZP" | "SZP" | "TAN" | "STG" | "SIN" | "ARC" | "ZPN" | "ZEA" | "AIR" | "NCP"
        );
        const PROJECTIONS: [&str; 19] = [
            "AZP", "SZP", "TAN", "STG", "SIN", "ARC", "ZPN", "ZEA", "AIR", "NCP", "CYP", "CEA",
            "CAR", "MER", "SFL", "PAR", "MOL", "AIT", "HPX",
        ];
        if !PROJECTIONS.contains(&proj) && !matches!(proj, "COP" | "COD" | "COE" | "COO") {
            return Err(format!("the projection {proj} is not supported"));
        }
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
        let mut map = serde_json::Map::new();
        // The wcs crate reads the frame from CTYPE1 and converts Galactic with its own matrix;
        // vogate wants native-frame angles and converts them with ERFA, so the projection is
        // given equatorial axis names and no RADESYS/EQUINOX.
        map.insert("CTYPE1".into(), format!("RA---{proj}").into());
        map.insert("CTYPE2".into(), format!("DEC--{proj}").into());
        map.insert("NAXIS".into(), 2.into());
        map.insert("NAXIS1".into(), naxis1.into());
        map.insert("NAXIS2".into(), naxis2.into());
        for (k, v) in &h.cards {
            let Card::Number(x) = v else {
                continue;
            };
            let is_sip = ["A_", "B_", "AP_", "BP_"].iter().any(|p| k.starts_with(p));
            let is_rotation = matches!(k.as_str(), "CRVAL1" | "CRVAL2" | "LONPOLE" | "LATPOLE")
                || k.starts_with("PV1_");
            if !is_sip && !is_rotation && !matches!(k.as_str(), "EQUINOX" | "EPOCH") {
                if let Some(n) = serde_json::Number::from_f64(*x) {
                    map.insert(k.clone(), serde_json::Value::Number(n));
                }
            }
        }
        // The wcs crate projects and deprojects correctly, but its native-to-celestial rotation
        // disagrees with WCSLIB away from simple cases (an AIT map with its reference point at
        // a pole comes out 90 degrees off). It is given a reference for which the rotation is
        // the identity, so that it returns native (phi, theta); vogate applies the rotation of
        // FITS WCS Paper II itself ([`SphericalRotation`]).
        let (neutral_lat, neutral_lonpole) = if zenithal { (90, 180) } else { (0, 0) };
        if conic.is_some() {
            // The conic is vogate's own (below); the wcs crate only has to accept the header.
            map.insert("CTYPE1".into(), "RA---CAR".into());
            map.insert("CTYPE2".into(), "DEC--CAR".into());
        }
        map.insert("CRVAL1".into(), 0.into());
        map.insert("CRVAL2".into(), neutral_lat.into());
        map.insert("LONPOLE".into(), neutral_lonpole.into());
        let params: WCSParams = serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| format!("WCS keywords unreadable: {e}"))?;
        let wcs = WCS::new(&params).map_err(|e| format!("WCS not usable: {e}"))?;
        Ok(CelestialWcs {
            wcs,
            conic,
            rotation,
            sip,
            dss,
            frame,
            naxis1,
            naxis2,
        })
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
        let (phi, theta) = match &self.conic {
            Some(conic) => conic.pixel_to_native(x, y)?,
            None => {
                let ll = self.wcs.unproj_lonlat(&ImgXY::new(x, y))?;
                (ll.lon().to_degrees(), ll.lat().to_degrees())
            }
        };
        if !(phi.is_finite() && theta.is_finite()) {
            return None;
        }
        Some(self.rotation.apply(phi, theta))
    }

    /// The ICRS position of FITS pixel (`x`, `y`), or `None` where the projection has no
    /// solution.
    pub fn pixel_to_icrs(&self, x: f64, y: f64) -> Option<SkyPoint> {
        let (lon, lat) = self.pixel_to_native(x, y)?;
        Some(to_icrs(self.frame, lon, lat))
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

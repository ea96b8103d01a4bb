//! Pixel coordinates to ICRS positions for one image HDU.
//!
//! The projection (FITS WCS Paper II, Calabretta & Greisen 2002) is CDS's `wcs` crate, given
//! the header's CRPIX/CRVAL/CD or PC+CDELT or CROTA2, PV, LONPOLE/LATPOLE and SIP keywords;
//! it yields native-frame (lon, lat). The frame change to ICRS is ERFA's, as astropy does it:
//! Galactic with `eraG2icrs` taken as FK5 J2000, then FK5 J2000 to ICRS with the fixed
//! rotation of `eraFk5hz` at J2000 (astropy's FK5 to ICRS); ICRS unchanged. Pixel coordinates are FITS ones: 1-based, the
//! centre of the first pixel at (1, 1).

use crate::header::ImageHeader;
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

/// A usable celestial WCS: projection plus frame.
pub struct CelestialWcs {
    wcs: WCS,
    sip: Option<Sip>,
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
        let frame = frame_of(h)?;
        let (naxis1, naxis2) = (h.naxis[0], h.naxis[1]);
        let proj = &c1[5..8];
        let zenithal = matches!(
            proj,
            "AZP" | "SZP" | "TAN" | "STG" | "SIN" | "ARC" | "ZPN" | "ZEA" | "AIR" | "NCP"
        );
        if !zenithal && h.number("CRVAL2").is_some_and(|d| d.abs() > 89.999) {
            // The wcs crate's pole rotation is wrong for a non-zenithal projection whose
            // reference point is at a celestial pole: better no row than a wrong one.
            return Err(format!(
                "{proj} projection with its reference point at a pole is not supported yet"
            ));
        }
        // vogate applies SIP itself (the wcs crate's SIP disagrees with astropy).
        let sip = if c1.ends_with("-SIP") {
            Some(Sip::from_header(h)?)
        } else {
            None
        };
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
            let crate::header::Card::Number(x) = v else {
                continue;
            };
            let is_sip = ["A_", "B_", "AP_", "BP_"].iter().any(|p| k.starts_with(p));
            if !is_sip && !matches!(k.as_str(), "EQUINOX" | "EPOCH") {
                if let Some(n) = serde_json::Number::from_f64(*x) {
                    map.insert(k.clone(), serde_json::Value::Number(n));
                }
            }
        }
        let params: WCSParams = serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| format!("WCS keywords unreadable: {e}"))?;
        let wcs = WCS::new(&params).map_err(|e| format!("WCS not usable: {e}"))?;
        Ok(CelestialWcs {
            wcs,
            sip,
            frame,
            naxis1,
            naxis2,
        })
    }

    /// The native-frame (lon, lat) in degrees of FITS pixel (`x`, `y`), or `None` where the
    /// projection has no solution (outside an all-sky projection's boundary).
    pub fn pixel_to_native(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let (x, y) = match &self.sip {
            Some(sip) => sip.apply(x, y),
            None => (x, y),
        };
        let ll = self.wcs.unproj_lonlat(&ImgXY::new(x, y))?;
        let (lon, lat) = (ll.lon().to_degrees(), ll.lat().to_degrees());
        (lon.is_finite() && lat.is_finite()).then_some((lon, lat))
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

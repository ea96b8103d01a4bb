//! The frame of a HiPS (`hips_frame`, HiPS 1.0 §4.4.1): its HEALPix cells are laid on
//! ICRS ("equatorial") or Galactic coordinates.

use vo_fits::Frame;

/// The HiPS frame and its rotation from and to ICRS.
#[derive(Debug, Clone, PartialEq)]
pub struct HipsFrame {
    galactic: bool,
    /// Frame vector = `to_frame` · ICRS vector (a rotation; the identity for equatorial).
    to_frame: [[f64; 3]; 3],
}

fn mul(m: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    [
        m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
        m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
        m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
    ]
}

impl HipsFrame {
    /// ICRS ("equatorial", as Hipsgen calls it).
    pub fn equatorial() -> HipsFrame {
        HipsFrame {
            galactic: false,
            to_frame: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        }
    }

    /// IAU 1958 Galactic, as vo-fits (and astropy) take it to ICRS.
    pub fn galactic() -> HipsFrame {
        // Column j of the Galactic-to-ICRS rotation is the ICRS vector of Galactic axis j;
        // the ICRS-to-Galactic rotation is its transpose.
        let axis = |lon: f64, lat: f64| {
            let p = vo_fits::celestial::to_icrs(Frame::Galactic, lon, lat);
            crate::source::unit(p.ra, p.dec)
        };
        let cols = [axis(0.0, 0.0), axis(90.0, 0.0), axis(0.0, 90.0)];
        HipsFrame {
            galactic: true,
            to_frame: cols,
        }
    }

    /// The frame named `name`: `equatorial` (or `icrs`, `C`) or `galactic` (or `G`).
    /// Errors: any other name.
    pub fn parse(name: &str) -> Result<HipsFrame, String> {
        match name.to_ascii_lowercase().as_str() {
            "equatorial" | "icrs" | "c" => Ok(HipsFrame::equatorial()),
            "galactic" | "g" => Ok(HipsFrame::galactic()),
            _ => Err(format!(
                "frame {name:?}: it must be equatorial or galactic (ecliptic is not supported)"
            )),
        }
    }

    /// Whether it is Galactic.
    pub fn is_galactic(&self) -> bool {
        self.galactic
    }

    /// `hips_frame`'s value: `equatorial` or `galactic`.
    pub fn name(&self) -> &'static str {
        if self.galactic {
            "galactic"
        } else {
            "equatorial"
        }
    }

    /// The ICRS vector of a unit vector of this frame.
    pub fn to_icrs(&self, v: [f64; 3]) -> [f64; 3] {
        let m = &self.to_frame;
        // The transpose of `to_frame`.
        [
            m[0][0] * v[0] + m[1][0] * v[1] + m[2][0] * v[2],
            m[0][1] * v[0] + m[1][1] * v[1] + m[2][1] * v[2],
            m[0][2] * v[0] + m[1][2] * v[1] + m[2][2] * v[2],
        ]
    }

    /// (lon, lat) in radians, in this frame, of the ICRS unit vector `v` (lon in [0, 2π)).
    pub fn from_icrs(&self, v: [f64; 3]) -> (f64, f64) {
        let f = mul(&self.to_frame, v);
        let lon = f[1].atan2(f[0]).rem_euclid(2.0 * std::f64::consts::PI);
        let lat = f[2].atan2(f[0].hypot(f[1]));
        (lon, lat)
    }
}

/// The unit vector of (lon, lat) in radians.
pub fn vector(lon: f64, lat: f64) -> [f64; 3] {
    let (sl, cl) = lon.sin_cos();
    let (sb, cb) = lat.sin_cos();
    [cb * cl, cb * sl, sb]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_galactic_centre_and_pole_are_where_astropy_puts_them() {
        let g = HipsFrame::galactic();
        // astropy: Galactic (0, 0) is ICRS (266.40499, -28.93617); the pole (192.85948,
        // 27.12825).
        let c = g.to_icrs(vector(0.0, 0.0));
        let (ra, dec) = (
            c[1].atan2(c[0]).to_degrees() + 360.0,
            c[2].asin().to_degrees(),
        );
        assert!(
            (ra - 266.40499).abs() < 1e-4 && (dec + 28.93617).abs() < 1e-4,
            "{ra} {dec}"
        );
        let p = g.to_icrs(vector(0.0, std::f64::consts::FRAC_PI_2));
        let (ra, dec) = (
            p[1].atan2(p[0]).to_degrees().rem_euclid(360.0),
            p[2].asin().to_degrees(),
        );
        assert!(
            (ra - 192.85948).abs() < 1e-4 && (dec - 27.12825).abs() < 1e-4,
            "{ra} {dec}"
        );
        let (l, b) = g.from_icrs(c);
        assert!(l.to_degrees().min(360.0 - l.to_degrees()) < 1e-9 && b.abs() < 1e-9);
    }

    #[test]
    fn frames_by_name() {
        assert!(HipsFrame::parse("Galactic")
            .expect("galactic")
            .is_galactic());
        assert_eq!(HipsFrame::parse("icrs").expect("icrs").name(), "equatorial");
        assert!(HipsFrame::parse("ecliptic")
            .expect_err("refused")
            .contains("ecliptic"));
    }
}

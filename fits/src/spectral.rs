//! The linear spectral and time axes of a cube, and its polarization (STOKES) axis: what
//! each plane covers.
//!
//! A spectral axis (FITS WCS Paper III, Greisen et al. 2006): CTYPEn WAVE/AWAV in length
//! units, FREQ in Hz units or ENER in eV units, linear (no algorithm code); the value of
//! pixel p is CRVALn + CDELTn PCn_n (or CDn_n) (p - CRPIXn), converted to wavelength in
//! metres (λ = c/ν, λ = hc/E). A time axis (FITS WCS Paper VII, Rots et al. 2015): CTYPEn
//! TIME, MJD or JD, in d, s, min, h or a (Julian years), relative to MJDREF (or
//! MJDREFI + MJDREFF; JD axes are absolute); converted to MJD. Plane k (1-based) covers the
//! values of pixels k - 0.5 to k + 0.5.

use crate::header::ImageHeader;

/// The speed of light, m/s (exact, SI).
const C: f64 = 299_792_458.0;
/// h c in eV m (CODATA 2018).
const HC_EV_M: f64 = 1.239_841_984e-6;

/// What an axis of CTYPE `ctype` measures and the type vogate reads it as (WAVE for AWAV
/// too), or `None` for an axis that is neither spectral nor time.
fn classify(ctype: &str) -> Option<(AxisKind, &'static str)> {
    let head = ctype.get(..4).unwrap_or(ctype).to_ascii_uppercase();
    Some(match head.trim_end_matches('-') {
        "WAVE" | "AWAV" => (AxisKind::Wavelength, "WAVE"),
        "FREQ" => (AxisKind::Wavelength, "FREQ"),
        "ENER" => (AxisKind::Wavelength, "ENER"),
        "TIME" => (AxisKind::Time, "TIME"),
        "MJD" => (AxisKind::Time, "MJD"),
        "JD" => (AxisKind::Time, "JD"),
        _ => return None,
    })
}

/// What the axis of CTYPE `ctype` measures, or `None` when it is neither a spectral nor a
/// time axis.
pub fn axis_kind(ctype: &str) -> Option<AxisKind> {
    classify(ctype).map(|(kind, _)| kind)
}

/// What a linear world axis of a cube measures, in the units vogate compares it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AxisKind {
    /// Wavelength, metres.
    Wavelength,
    /// Time, MJD.
    Time,
}

/// A linear spectral or time axis: `value(p) = (offset + delta (p - crpix))` in its own
/// unit, then converted.
#[derive(Debug, Clone, PartialEq)]
pub struct WorldAxis {
    /// The axis number, from 1 (3 for a cube's third axis).
    pub axis: usize,
    /// Planes along it.
    pub planes: u64,
    /// What it measures.
    pub kind: AxisKind,
    crpix: f64,
    crval: f64,
    delta: f64,
    /// Multiplies the value into m, Hz or eV (spectral) or days (time).
    scale: f64,
    /// FREQ, ENER or WAVE/AWAV (spectral); the MJD of value 0 (time).
    ctype: &'static str,
    mjd_zero: f64,
}

impl WorldAxis {
    /// The linear spectral or time axis `axis` (3 or 4) of an image, `None` when it has no
    /// such axis there. Errors: a spectral or time axis vogate cannot convert (non-linear,
    /// an unknown unit, a time axis without a reference), named.
    pub fn from_header(h: &ImageHeader, axis: usize) -> Result<Option<WorldAxis>, String> {
        let Some(&n) = h.naxis.get(axis - 1) else {
            return Ok(None);
        };
        let key = |k: &str| format!("{k}{axis}");
        let Some(ctype) = h.text(&key("CTYPE")) else {
            return Ok(None);
        };
        let Some((kind, ctype_name)) = classify(ctype) else {
            return Ok(None);
        };
        // The type as written (AWAV stays AWAV in messages).
        let head = ctype.get(..4).unwrap_or(ctype).to_ascii_uppercase();
        let head = head.trim_end_matches('-');
        let algorithm = ctype.get(4..).unwrap_or("").trim_matches('-').trim();
        if !algorithm.is_empty() {
            return Err(format!(
                "{} = '{ctype}': non-linear axes are not supported yet",
                key("CTYPE")
            ));
        }
        let delta = h.number(&format!("CD{axis}_{axis}")).unwrap_or_else(|| {
            h.number(&key("CDELT")).unwrap_or(1.0)
                * h.number(&format!("PC{axis}_{axis}")).unwrap_or(1.0)
        });
        let unit = h.text(&key("CUNIT")).unwrap_or("").trim().to_string();
        let bad_unit = || {
            format!(
                "{} = '{unit}' is not a supported unit for {head}",
                key("CUNIT")
            )
        };
        let scale = match (ctype_name, unit.as_str()) {
            ("WAVE", "" | "m") => 1.0,
            ("WAVE", "cm") => 1e-2,
            ("WAVE", "mm") => 1e-3,
            ("WAVE", "um") => 1e-6,
            ("WAVE", "nm") => 1e-9,
            ("WAVE", "Angstrom" | "angstrom") => 1e-10,
            ("FREQ", "" | "Hz") => 1.0,
            ("FREQ", "kHz") => 1e3,
            ("FREQ", "MHz") => 1e6,
            ("FREQ", "GHz") => 1e9,
            ("ENER", "" | "eV") => 1.0,
            ("ENER", "keV") => 1e3,
            ("ENER", "MeV") => 1e6,
            ("TIME" | "MJD" | "JD", "d") => 1.0,
            ("TIME", "" | "s") => 1.0 / 86400.0,
            ("MJD" | "JD", "") => 1.0,
            ("TIME" | "MJD" | "JD", "min") => 1.0 / 1440.0,
            ("TIME" | "MJD" | "JD", "h") => 1.0 / 24.0,
            ("TIME" | "MJD" | "JD", "a" | "yr") => 365.25,
            _ => return Err(bad_unit()),
        };
        let mjd_zero = match ctype_name {
            "TIME" => h
                .number("MJDREF")
                .or_else(|| Some(h.number("MJDREFI")? + h.number("MJDREFF").unwrap_or(0.0)))
                .ok_or_else(|| format!("{} = 'TIME' without MJDREF (or MJDREFI)", key("CTYPE")))?,
            "MJD" => 0.0,
            "JD" => -2_400_000.5,
            _ => 0.0,
        };
        Ok(Some(WorldAxis {
            axis,
            planes: n.max(0) as u64,
            kind,
            crpix: h.number(&key("CRPIX")).unwrap_or(0.0),
            crval: h.number(&key("CRVAL")).unwrap_or(0.0),
            delta,
            scale,
            ctype: ctype_name,
            mjd_zero,
        }))
    }

    /// The value at pixel coordinate `p` in metres (wavelength) or MJD (time); `None` where
    /// it has no wavelength (a non-positive frequency or energy).
    pub fn value(&self, p: f64) -> Option<f64> {
        let v = (self.crval + self.delta * (p - self.crpix)) * self.scale;
        let out = match self.ctype {
            "FREQ" if v > 0.0 => C / v,
            "ENER" if v > 0.0 => HC_EV_M / v,
            "FREQ" | "ENER" => return None,
            "WAVE" => v,
            _ => self.mjd_zero + v,
        };
        out.is_finite().then_some(out)
    }

    /// The interval plane `k` (1-based) covers, lower first.
    pub fn plane(&self, k: u64) -> Option<(f64, f64)> {
        let a = self.value(k as f64 - 0.5)?;
        let b = self.value(k as f64 + 0.5)?;
        Some((a.min(b), a.max(b)))
    }

    /// The whole axis's interval, lower first.
    pub fn range(&self) -> Option<(f64, f64)> {
        let a = self.value(0.5)?;
        let b = self.value(self.planes as f64 + 0.5)?;
        Some((a.min(b), a.max(b)))
    }

    /// The first plane (from 0) and the number of planes that meet `lo`..`hi` (closed; a
    /// plane meets it when their intervals share a value), or `None` when none does.
    pub fn planes_meeting(&self, lo: f64, hi: f64) -> Option<(u64, u64)> {
        let hits: Vec<u64> = (1..=self.planes)
            .filter(|&k| self.plane(k).is_some_and(|(a, b)| a <= hi && b >= lo))
            .collect();
        let (first, last) = (*hits.first()?, *hits.last()?);
        Some((first - 1, last - first + 1))
    }
}

/// The polarization states of ObsCore's `pol_states` vocabulary (ObsCore 1.1 §4.24, as
/// SODA 1.0 §3.3.6 takes them in POL) and their Stokes codes in FITS (WCS Paper I,
/// Greisen & Calabretta 2002, §5.4 and Table 7): I Q U V are 1 to 4, the circular and
/// linear correlations RR LL RL LR XX YY XY YX are -1 to -8, and POLI (polarized intensity,
/// Table 7's PPOL) and POLA (polarization angle, PANG) are 5 and 7.
pub const STOKES_STATES: [(&str, i64); 14] = [
    ("I", 1),
    ("Q", 2),
    ("U", 3),
    ("V", 4),
    ("RR", -1),
    ("LL", -2),
    ("RL", -3),
    ("LR", -4),
    ("XX", -5),
    ("YY", -6),
    ("XY", -7),
    ("YX", -8),
    ("POLI", 5),
    ("POLA", 7),
];

/// A polarization axis (WCS Paper I §5.4: CTYPEn = 'STOKES'): plane k (from 1) holds the
/// state whose code is CRVALn + CDELTn (k - CRPIXn), rounded.
#[derive(Debug, Clone, PartialEq)]
pub struct StokesAxis {
    /// The axis number, from 1.
    pub axis: usize,
    /// Planes along it.
    pub planes: u64,
    crpix: f64,
    crval: f64,
    delta: f64,
}

impl StokesAxis {
    /// The STOKES axis `axis` (3 or more) of an image, or `None` when that axis is not one.
    pub fn from_header(h: &ImageHeader, axis: usize) -> Option<StokesAxis> {
        let &n = h.naxis.get(axis - 1)?;
        let ctype = h.text(&format!("CTYPE{axis}"))?;
        if !ctype.trim().eq_ignore_ascii_case("STOKES") {
            return None;
        }
        let delta = h.number(&format!("CD{axis}_{axis}")).unwrap_or_else(|| {
            h.number(&format!("CDELT{axis}")).unwrap_or(1.0)
                * h.number(&format!("PC{axis}_{axis}")).unwrap_or(1.0)
        });
        Some(StokesAxis {
            axis,
            planes: n.max(0) as u64,
            crpix: h.number(&format!("CRPIX{axis}")).unwrap_or(1.0),
            crval: h.number(&format!("CRVAL{axis}")).unwrap_or(1.0),
            delta,
        })
    }

    /// The Stokes code of plane `k` (from 1).
    pub fn code(&self, k: u64) -> i64 {
        (self.crval + self.delta * (k as f64 - self.crpix)).round() as i64
    }

    /// The pol_states name of plane `k` (from 1), if it has one.
    pub fn state(&self, k: u64) -> Option<&'static str> {
        let code = self.code(k);
        STOKES_STATES
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(name, _)| *name)
    }

    /// The planes holding any of `states` (pol_states names), as (first from 0, count) of
    /// the run from the first such plane to the last (planes between them are kept: a cut
    /// holds what was asked, and as little else as one box can), or `None` when no plane
    /// holds one.
    pub fn planes_of(&self, states: &[impl AsRef<str>]) -> Option<(u64, u64)> {
        let hits: Vec<u64> = (1..=self.planes)
            .filter(|&k| {
                self.state(k)
                    .is_some_and(|s| states.iter().any(|w| w.as_ref() == s))
            })
            .collect();
        let (first, last) = (*hits.first()?, *hits.last()?);
        Some((first - 1, last - first + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stokes_planes_by_state() {
        // I Q U V on axis 3, as most optical polarimetry writes it.
        let iquv = header(
            vec![10, 10, 4],
            &[("CTYPE3", "STOKES")],
            &[("CRVAL3", 1.0), ("CDELT3", 1.0), ("CRPIX3", 1.0)],
        );
        let a = StokesAxis::from_header(&iquv, 3).expect("a Stokes axis");
        assert_eq!(
            (1..=4).map(|k| a.state(k)).collect::<Vec<_>>(),
            [Some("I"), Some("Q"), Some("U"), Some("V")]
        );
        assert_eq!(a.planes_of(&["Q"]), Some((1, 1)));
        assert_eq!(a.planes_of(&["U", "Q"]), Some((1, 2)));
        // I and V: the run from I to V, Q and U between.
        assert_eq!(a.planes_of(&["I", "V"]), Some((0, 4)));
        assert_eq!(a.planes_of(&["RR", "XX"]), None);
        // RR LL RL LR on axis 4 of a radio cube, written from -1 down.
        let circular = header(
            vec![10, 10, 5, 4],
            &[("CTYPE3", "FREQ"), ("CTYPE4", "STOKES")],
            &[("CRVAL4", -1.0), ("CDELT4", -1.0), ("CRPIX4", 1.0)],
        );
        assert_eq!(StokesAxis::from_header(&circular, 3), None);
        let c = StokesAxis::from_header(&circular, 4).expect("axis 4");
        assert_eq!(c.state(2), Some("LL"));
        assert_eq!(c.planes_of(&["LR", "LL"]), Some((1, 3)));
        assert_eq!(c.planes_of(&["I"]), None);
        // No such axis.
        assert_eq!(StokesAxis::from_header(&iquv, 4), None);
    }

    /// A header of these axis lengths and cards.
    fn header(naxis: Vec<i64>, text: &[(&str, &str)], numbers: &[(&str, f64)]) -> ImageHeader {
        let mut h = crate::tests::header((naxis[0], naxis[1]), text, numbers);
        h.naxis = naxis;
        h
    }

    #[test]
    fn wavelength_planes_from_wave_freq_and_ener() {
        // 10 planes of 10 nm from 500 nm.
        let h = header(
            vec![4, 4, 10],
            &[("CTYPE3", "WAVE"), ("CUNIT3", "nm")],
            &[("CRPIX3", 1.0), ("CRVAL3", 500.0), ("CDELT3", 10.0)],
        );
        let a = WorldAxis::from_header(&h, 3).expect("ok").expect("an axis");
        assert_eq!(a.kind, AxisKind::Wavelength);
        let (lo, hi) = a.plane(1).expect("plane 1");
        assert!((lo - 495e-9).abs() < 1e-18 && (hi - 505e-9).abs() < 1e-18);
        assert_eq!(a.planes_meeting(520e-9, 540e-9), Some((2, 3)));
        assert_eq!(a.planes_meeting(0.0, 1e-9), None);
        assert_eq!(
            a.planes_meeting(f64::NEG_INFINITY, f64::INFINITY),
            Some((0, 10))
        );
        // A frequency axis: wavelengths fall as frequency rises.
        let h = header(
            vec![4, 4, 3],
            &[("CTYPE3", "FREQ"), ("CUNIT3", "GHz")],
            &[("CRPIX3", 1.0), ("CRVAL3", 100.0), ("CDELT3", 1.0)],
        );
        let a = WorldAxis::from_header(&h, 3).expect("ok").expect("an axis");
        let (lo, hi) = a.range().expect("range");
        assert!((lo - C / 102.5e9).abs() < 1e-15 && (hi - C / 99.5e9).abs() < 1e-15);
        // Units and algorithms it cannot convert are named.
        let h = header(
            vec![4, 4, 3],
            &[("CTYPE3", "WAVE-LOG"), ("CUNIT3", "nm")],
            &[],
        );
        assert!(WorldAxis::from_header(&h, 3)
            .expect_err("log")
            .contains("WAVE-LOG"));
        let h = header(
            vec![4, 4, 3],
            &[("CTYPE3", "WAVE"), ("CUNIT3", "furlong")],
            &[],
        );
        assert!(WorldAxis::from_header(&h, 3)
            .expect_err("unit")
            .contains("furlong"));
        // Not spectral, or no third axis.
        let h = header(vec![4, 4, 3], &[("CTYPE3", "STOKES")], &[]);
        assert_eq!(WorldAxis::from_header(&h, 3), Ok(None));
        assert_eq!(
            WorldAxis::from_header(&header(vec![4, 4], &[], &[]), 3),
            Ok(None)
        );
    }

    #[test]
    fn time_planes_in_mjd() {
        // 5 planes of 1 hour from MJDREF 60000 + 0.5 d.
        let h = header(
            vec![4, 4, 5],
            &[("CTYPE3", "TIME"), ("CUNIT3", "h")],
            &[
                ("CRPIX3", 1.0),
                ("CRVAL3", 12.0),
                ("CDELT3", 1.0),
                ("MJDREF", 60000.0),
            ],
        );
        let a = WorldAxis::from_header(&h, 3).expect("ok").expect("an axis");
        assert_eq!(a.kind, AxisKind::Time);
        let (lo, _) = a.plane(1).expect("plane 1");
        assert!((lo - (60000.5 - 0.5 / 24.0)).abs() < 1e-9);
        assert_eq!(
            a.planes_meeting(60000.5 + 1.6 / 24.0, 60000.5 + 2.2 / 24.0),
            Some((2, 1))
        );
        let h = header(vec![4, 4, 5], &[("CTYPE3", "TIME"), ("CUNIT3", "s")], &[]);
        assert!(WorldAxis::from_header(&h, 3)
            .expect_err("no MJDREF")
            .contains("MJDREF"));
    }
}

//! The `properties` file of a HiPS (HiPS 1.0 §4.4): `key = value` lines, the mandatory keys
//! and those Hipsgen's LINT recommends.

/// Where the inputs lie: `hips_initial_ra`, `hips_initial_dec` (the HiPS frame's lon and
/// lat, degrees) and `hips_initial_fov` (degrees).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SkyRange {
    /// Longitude of the centre, degrees.
    pub lon: f64,
    /// Latitude of the centre, degrees.
    pub lat: f64,
    /// Field of view that holds every input, degrees.
    pub fov: f64,
}

/// What the build found, for the properties it fills.
#[derive(Debug, Clone)]
pub struct BuildFacts<'a> {
    /// `hips_order`.
    pub order: u8,
    /// `hips_tile_width`.
    pub tile_width: usize,
    /// `hips_frame`.
    pub frame: &'a str,
    /// `hips_overlay`.
    pub overlay: &'a str,
    /// `hips_pixel_bitpix`.
    pub bitpix: i32,
    /// `hips_data_range`: the smallest and largest tile values.
    pub data_range: Option<(f64, f64)>,
    /// `hips_pixel_cut` (the display range) and `hips_pixel_function` (its stretch).
    pub pixel_cut: Option<crate::render::PixelCut>,
    /// `moc_sky_fraction`, 0..1.
    pub sky_fraction: f64,
    /// `hips_initial_*`.
    pub sky: SkyRange,
    /// `hips_nb_tiles`.
    pub tiles: usize,
    /// `hips_tile_format`: the formats, space-separated (`fits png jpeg`).
    pub formats: String,
}

/// The descriptive properties a builder is given (the rest come from the build).
#[derive(Debug, Clone, Default)]
pub struct Properties {
    /// `creator_did`: the HiPS's IVOA identifier (`ivo://authority/path`).
    pub creator_did: String,
    /// `obs_title`.
    pub obs_title: String,
    /// `obs_description`.
    pub obs_description: Option<String>,
    /// `obs_regime` (Radio, Millimeter, Infrared, Optical, UV, EUV, X-ray, Gamma-ray).
    pub obs_regime: Option<String>,
    /// `prov_progenitor`: where the data come from.
    pub prov_progenitor: Option<String>,
    /// `em_min`, `em_max`: the inputs' spectral range, metres.
    pub em: Option<(f64, f64)>,
    /// `t_min`, `t_max`: the inputs' time range, MJD.
    pub t: Option<(f64, f64)>,
    /// When the build ran, ISO 8601 UTC to the minute (`hips_release_date`).
    pub release_date: String,
    /// When the HiPS was first built (`hips_creation_date`); `None`: the release date.
    pub creation_date: Option<String>,
    /// `hips_builder`.
    pub builder: String,
}

/// The `obs_regime` (HiPS 1.0 §4.4.1; the IVOA messenger vocabulary Hipsgen uses) of a
/// wavelength in metres: Radio from 1 cm, Millimeter from 0.1 mm, Infrared from 1 µm,
/// Optical from 300 nm, UV from 100 nm, EUV from 10 nm, X-ray from 0.01 nm, else Gamma-ray.
pub fn regime(metres: f64) -> &'static str {
    match metres {
        m if m >= 1e-2 => "Radio",
        m if m >= 1e-4 => "Millimeter",
        m if m >= 1e-6 => "Infrared",
        m if m >= 3e-7 => "Optical",
        m if m >= 1e-7 => "UV",
        m if m >= 1e-8 => "EUV",
        m if m >= 1e-11 => "X-ray",
        _ => "Gamma-ray",
    }
}

/// A number as properties write it: up to 10 significant digits, no trailing zeros.
fn num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    let s = format!("{v:.10e}");
    let parsed: f64 = s.parse().unwrap_or(v);
    format!("{parsed}")
}

impl Properties {
    /// Every key and value: the given ones, then those that come from the build.
    pub fn lines(&self, f: &BuildFacts<'_>) -> Vec<(String, String)> {
        let mut l: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: String| l.push((k.to_string(), v));
        put("creator_did", self.creator_did.clone());
        put("obs_title", self.obs_title.clone());
        put(
            "obs_description",
            self.obs_description.clone().unwrap_or_else(|| {
                format!("{} (HiPS built by vogate from FITS images)", self.obs_title)
            }),
        );
        if let Some(r) = &self.obs_regime {
            put("obs_regime", r.clone());
        }
        put(
            "prov_progenitor",
            self.prov_progenitor
                .clone()
                .unwrap_or_else(|| "the archive's FITS images".into()),
        );
        if let Some((a, b)) = self.em {
            put("em_min", num(a));
            put("em_max", num(b));
        }
        if let Some((a, b)) = self.t {
            put("t_min", num(a));
            put("t_max", num(b));
        }
        put("dataproduct_type", "image".into());
        put("hips_version", "1.4".into());
        put("hips_builder", self.builder.clone());
        put("hips_release_date", self.release_date.clone());
        put(
            "hips_creation_date",
            self.creation_date
                .clone()
                .unwrap_or_else(|| self.release_date.clone()),
        );
        put("hips_status", "public master clonableOnce".into());
        put("hips_frame", f.frame.into());
        put("hips_order", f.order.to_string());
        put("hips_order_min", "0".into());
        put("hips_tile_width", f.tile_width.to_string());
        put("hips_tile_format", f.formats.clone());
        put("hips_pixel_bitpix", f.bitpix.to_string());
        put("data_pixel_bitpix", f.bitpix.to_string());
        if let Some((a, b)) = f.data_range {
            put("hips_data_range", format!("{} {}", num(a), num(b)));
        }
        if let Some(c) = f.pixel_cut {
            put("hips_pixel_cut", format!("{} {}", num(c.min), num(c.max)));
            put("hips_pixel_function", c.stretch.name().into());
        }
        put("hips_sampling", "bilinear".into());
        put("hips_overlay", f.overlay.into());
        put("hips_hierarchy", "mean".into());
        put("hips_initial_ra", num(f.sky.lon));
        put("hips_initial_dec", num(f.sky.lat));
        put("hips_initial_fov", num(f.sky.fov));
        put(
            "hips_pixel_scale",
            num(crate::build::pixel_side(
                f.order + f.tile_width.trailing_zeros() as u8,
            )),
        );
        put("moc_sky_fraction", num(f.sky_fraction));
        put("hips_nb_tiles", f.tiles.to_string());
        l
    }

    /// The file's text: one `key = value` line each ([`Self::lines`]), keys padded to 20
    /// characters as Hipsgen writes them.
    pub fn to_text(&self, f: &BuildFacts<'_>) -> String {
        let mut s = String::new();
        for (k, v) in self.lines(f) {
            s.push_str(&format!("{k:<20} = {v}\n"));
        }
        s
    }
}

impl Properties {
    /// The descriptive properties of an existing `properties` file's `lines` ([`parse`]):
    /// what [`Properties::lines`] wrote from them reads back the same; the release date is
    /// kept as the creation date. Numbers that do not parse are left out.
    pub fn from_lines(lines: &[(String, String)]) -> Properties {
        let get = |k: &str| {
            lines
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        let pair = |a: &str, b: &str| {
            let num = |k: &str| get(k).and_then(|v| v.parse::<f64>().ok());
            num(a).zip(num(b))
        };
        Properties {
            creator_did: get("creator_did").unwrap_or_default(),
            obs_title: get("obs_title").unwrap_or_default(),
            obs_description: get("obs_description"),
            obs_regime: get("obs_regime"),
            prov_progenitor: get("prov_progenitor"),
            em: pair("em_min", "em_max"),
            t: pair("t_min", "t_max"),
            release_date: get("hips_release_date").unwrap_or_default(),
            creation_date: get("hips_creation_date").or_else(|| get("hips_release_date")),
            builder: get("hips_builder").unwrap_or_default(),
        }
    }
}

/// Parse a `properties` file: its `key = value` lines (comments and blank lines left out).
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regimes_of_known_bands() {
        // The 21 cm line, 2MASS Ks (2.16 µm), Johnson V (550 nm), GALEX NUV (231 nm),
        // Al K-alpha (0.834 nm).
        assert_eq!(regime(299_792_458.0 / 1_420_405_750.0), "Radio");
        assert_eq!(regime(2.16e-6), "Infrared");
        assert_eq!(regime(5.5e-7), "Optical");
        assert_eq!(regime(2.31e-7), "UV");
        assert_eq!(regime(8.34e-10), "X-ray");
        assert_eq!(regime(1e-13), "Gamma-ray");
    }

    #[test]
    fn every_mandatory_key_is_written() {
        let p = Properties {
            creator_did: "ivo://vogate.local/P/test".into(),
            obs_title: "Test".into(),
            release_date: "2026-12-05T00:00Z".into(),
            builder: "vogate".into(),
            t: Some((55000.5, 55001.0)),
            ..Default::default()
        };
        let text = p.to_text(&BuildFacts {
            order: 7,
            tile_width: 512,
            frame: "equatorial",
            overlay: "mean",
            bitpix: 16,
            data_range: Some((-1.5, 3000.0)),
            pixel_cut: Some(crate::render::PixelCut {
                min: 475.5,
                max: 2999.0,
                stretch: crate::render::Stretch::Asinh,
            }),
            sky_fraction: 0.25,
            sky: SkyRange {
                lon: 266.4,
                lat: -28.9,
                fov: 1.0,
            },
            tiles: 52,
            formats: "fits png".into(),
        });
        let kv = parse(&text);
        let get = |k: &str| kv.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str());
        // HiPS 1.0 §4.4.1's mandatory keys.
        for k in [
            "creator_did",
            "obs_title",
            "dataproduct_type",
            "hips_version",
            "hips_release_date",
            "hips_status",
            "hips_tile_format",
            "hips_order",
            "hips_frame",
        ] {
            assert!(get(k).is_some(), "{k}");
        }
        assert_eq!(get("hips_data_range"), Some("-1.5 3000"));
        assert_eq!(get("hips_pixel_cut"), Some("475.5 2999"));
        assert_eq!(get("hips_pixel_function"), Some("asinh"));
        // What an add reads back of the descriptive keys.
        let back = Properties::from_lines(&kv);
        assert_eq!(back.creator_did, p.creator_did);
        assert_eq!(back.t, p.t);
        assert_eq!(back.creation_date.as_deref(), Some("2026-12-05T00:00Z"));
        assert_eq!(
            back.obs_description.as_deref(),
            Some("Test (HiPS built by vogate from FITS images)")
        );
        assert_eq!(get("hips_tile_format"), Some("fits png"));
        assert_eq!(get("t_min"), Some("55000.5"));
        // Hipsgen wrote hips_pixel_scale = 8.946E-4 for order 7 (4 digits, truncated).
        let scale: f64 = get("hips_pixel_scale")
            .expect("scale")
            .parse()
            .expect("number");
        assert!((scale - 8.946e-4).abs() < 1e-6, "{scale}");
        assert_eq!(get("moc_sky_fraction"), Some("0.25"));
    }
}

//! The input images of a build: one image HDU of a FITS file each, with its celestial WCS
//! (vo-fits: every projection and frame it supports, SIP and DSS plates), its scaling
//! (BSCALE, BZERO, BLANK; FITS Standard 4.0 §4.4.2.5) and the HEALPix tiles it touches.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use vo_fits::{CelestialWcs, HduLayout, ImageCards, Scaling, Section};

use crate::sky::HipsFrame;

/// Which image HDUs of a file are inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HduChoice {
    /// HDU `n` (0-based) only.
    Index(usize),
    /// The science images: every image HDU with a celestial WCS except those whose EXTNAME
    /// or EXTTYPE names a mask, variance, error or weight plane.
    Science,
}

/// EXTNAME/EXTTYPE values (upper case) of planes that are not science images.
const NOT_SCIENCE: &[&str] = &[
    "MASK",
    "VARIANCE",
    "VAR",
    "ERR",
    "ERROR",
    "ERRORS",
    "SIGMA",
    "UNC",
    "UNCERTAINTY",
    "DQ",
    "WHT",
    "WEIGHT",
    "IVAR",
    "INVVAR",
    "FLAGS",
    "BPM",
];

/// One input image: an image HDU with a usable celestial WCS.
#[derive(Debug)]
pub struct Source {
    /// The file.
    pub path: PathBuf,
    /// Where the HDU lies in the file.
    pub layout: HduLayout,
    /// The HDU's BITPIX, axes and scaling cards (BSCALE, BZERO, BLANK; a tile-compressed
    /// image's as the image it holds), what reading a box needs.
    pub cards: ImageCards,
    /// Pixel to sky and back.
    pub wcs: CelestialWcs,
    /// NAXIS1, NAXIS2.
    pub naxis: (usize, usize),
    /// BSCALE, BZERO and BLANK.
    pub scaling: Scaling,
    /// The finest pixel side at the image centre, degrees.
    pub pixel_scale: f64,
}

/// Physical values of a box of a source: `nx` × `ny` values, row `y0` first (FITS order),
/// NaN where blank.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    /// The box's first pixel, 0-based (FITS pixel x0 + 1, y0 + 1).
    pub x0: usize,
    /// See `x0`.
    pub y0: usize,
    /// Width.
    pub nx: usize,
    /// Height.
    pub ny: usize,
    /// Values, `nx` per row.
    pub values: Vec<f32>,
}

/// Angle between unit vectors, degrees.
fn angle(a: [f64; 3], b: [f64; 3]) -> f64 {
    let cross = [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ];
    let sin = (cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]).sqrt();
    let cos = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    sin.atan2(cos).to_degrees()
}

/// ICRS unit vector of (ra, dec) in degrees.
pub(crate) fn unit(ra: f64, dec: f64) -> [f64; 3] {
    let (sa, ca) = ra.to_radians().sin_cos();
    let (sd, cd) = dec.to_radians().sin_cos();
    [cd * ca, cd * sa, sd]
}

impl Source {
    /// The inputs of the file at `path` that `choice` selects. Errors (the file is not an
    /// input at all): it cannot be read, is incomplete or not FITS, has no such HDU, or no
    /// selected HDU has a celestial WCS; the message says which.
    pub fn open(path: &Path, choice: HduChoice) -> Result<Vec<Source>, String> {
        let layouts = vo_fits::check_file(path).map_err(|e| e.to_string())?;
        let headers = vo_fits::read_headers(path)?;
        let mut out = Vec::new();
        let mut why = Vec::new();
        for h in &headers.images {
            match choice {
                HduChoice::Index(n) if h.index != n => continue,
                HduChoice::Science => {
                    let kind = h
                        .text("EXTNAME")
                        .or(h.text("EXTTYPE"))
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    if NOT_SCIENCE.contains(&kind.as_str()) {
                        continue;
                    }
                }
                _ => {}
            }
            let wcs = match CelestialWcs::from_header(h) {
                Ok(w) => w,
                Err(e) => {
                    why.push(format!("HDU {}: {e}", h.index));
                    continue;
                }
            };
            let layout = layouts
                .get(h.index)
                .ok_or_else(|| format!("HDU {} is not in the file", h.index))?
                .clone();
            let whole = ImageCards::read_at(path, &layout)?;
            // Only what reading boxes needs is kept (memory stays small with many inputs):
            // BITPIX, the axes and the scaling cards.
            let cards = ImageCards {
                bitpix: whole.bitpix,
                naxis: whole.naxis.clone(),
                cards: whole
                    .cards
                    .into_iter()
                    .filter(|c| matches!(vo_fits::cards::keyword(c), "BSCALE" | "BZERO" | "BLANK"))
                    .collect(),
            };
            let (n1, n2) = (h.naxis[0].max(0) as usize, h.naxis[1].max(0) as usize);
            if n1 == 0 || n2 == 0 {
                why.push(format!("HDU {}: an empty image", h.index));
                continue;
            }
            if cards.naxis.iter().skip(2).any(|&n| n > 1) {
                why.push(format!(
                    "HDU {}: a cube ({} axes); only 2-D images are tiled",
                    h.index,
                    cards.naxis.len()
                ));
                continue;
            }
            let scaling = cards.scaling();
            let pixel_scale = pixel_scale(&wcs, n1, n2).ok_or_else(|| {
                format!(
                    "HDU {}: the WCS gives no position at the image centre",
                    h.index
                )
            })?;
            out.push(Source {
                path: path.to_path_buf(),
                layout,
                cards,
                wcs,
                naxis: (n1, n2),
                scaling,
                pixel_scale,
            });
        }
        if out.is_empty() {
            return Err(match (choice, why.is_empty()) {
                (HduChoice::Index(n), true) => {
                    format!("no image HDU {n} (the file has {} HDUs)", layouts.len())
                }
                (HduChoice::Science, true) => "no image HDU with a celestial WCS".into(),
                _ => why.join("; "),
            });
        }
        Ok(out)
    }

    /// A short name for messages: the file and, after the primary, the HDU.
    pub fn label(&self) -> String {
        match self.layout.index {
            0 => self.path.display().to_string(),
            i => format!("{}[{i}]", self.path.display()),
        }
    }

    /// The tiles of order `order` (HEALPix NESTED depth, in `frame`) the image touches. The
    /// image is sampled on a grid finer than an eighth of a tile (a fraction of a pixel when
    /// the tiles are smaller than the pixels) and along its whole border at the same step or
    /// every pixel; positions without a sky position (outside an all-sky projection's
    /// boundary) are skipped. The samples grow with the tiles covered (about 64 a tile).
    pub fn tiles(&self, order: u8, frame: &HipsFrame) -> BTreeSet<u64> {
        let layer = cdshealpix::nested::get(order);
        let tile_deg = (4.0 * std::f64::consts::PI / (12.0 * 4f64.powi(i32::from(order))))
            .sqrt()
            .to_degrees();
        // In pixels; below 1 when a tile is smaller than a pixel.
        let step = (tile_deg / 8.0 / self.pixel_scale).min(4096.0);
        let (n1, n2) = self.naxis;
        let mut out = BTreeSet::new();
        let mut add = |x: f64, y: f64| {
            if let Some(p) = self.wcs.pixel_to_icrs(x, y) {
                let (lon, lat) = frame.from_icrs(unit(p.ra, p.dec));
                // A WCS that gives no finite position there adds nothing (cdshealpix refuses
                // NaN with a panic).
                if lon.is_finite() && lat.is_finite() {
                    out.insert(layer.hash(lon, lat));
                }
            }
        };
        // Positions 0.5, 0.5 + s, ... and n + 0.5 along an axis of n pixels.
        let along = |n: usize, s: f64| {
            let count = (n as f64 / s).floor() as usize;
            let mut v: Vec<f64> = (0..=count).map(|k| 0.5 + k as f64 * s).collect();
            v.push(n as f64 + 0.5);
            v
        };
        let (gx, gy) = (along(n1, step), along(n2, step));
        for &y in &gy {
            for &x in &gx {
                add(x, y);
            }
        }
        let edge = step.min(1.0);
        for x in along(n1, edge) {
            add(x, 0.5);
            add(x, n2 as f64 + 0.5);
        }
        for y in along(n2, edge) {
            add(0.5, y);
            add(n1 as f64 + 0.5, y);
        }
        out
    }

    /// The physical values (BZERO + BSCALE × stored; NaN for BLANK and NaN) of the box of
    /// 0-based pixels [x0, x1) × [y0, y1), clipped to the image (`None`: nothing left).
    /// Only that box is read. Errors: the file cannot be read.
    pub fn read_box(
        &self,
        x0: usize,
        y0: usize,
        x1: usize,
        y1: usize,
    ) -> Result<Option<Plane>, String> {
        let (x1, y1) = (x1.min(self.naxis.0), y1.min(self.naxis.1));
        if x0 >= x1 || y0 >= y1 {
            return Ok(None);
        }
        let mut start = vec![x0 as u64, y0 as u64];
        let mut len = vec![(x1 - x0) as u64, (y1 - y0) as u64];
        for _ in 2..self.cards.naxis.len() {
            start.push(0);
            len.push(1);
        }
        let data = vo_fits::read_section_at(
            &self.path,
            &self.layout,
            &self.cards,
            &Section { start, len },
        )
        .map_err(|e| format!("{}: {e}", self.label()))?;
        Ok(Some(Plane {
            x0,
            y0,
            nx: x1 - x0,
            ny: y1 - y0,
            values: to_f32(vo_fits::physical_values(
                &data.bytes,
                data.bitpix,
                &self.scaling,
            )?),
        }))
    }
}

/// The finest pixel side (degrees) at the centre of an image: the smaller of the angles to
/// the next pixel along each axis.
fn pixel_scale(wcs: &CelestialWcs, n1: usize, n2: usize) -> Option<f64> {
    let (cx, cy) = ((n1 as f64 + 1.0) / 2.0, (n2 as f64 + 1.0) / 2.0);
    let at = |x: f64, y: f64| wcs.pixel_to_icrs(x, y).map(|p| unit(p.ra, p.dec));
    let c = at(cx, cy)?;
    let dx = at(cx + 1.0, cy).map(|p| angle(c, p));
    let dy = at(cx, cy + 1.0).map(|p| angle(c, p));
    let s = match (dx, dy) {
        (Some(a), Some(b)) => a.min(b),
        (Some(a), None) | (None, Some(a)) => a,
        (None, None) => return None,
    };
    (s > 0.0 && s.is_finite()).then_some(s)
}

/// f64 values as f32 (the precision tiles keep).
pub(crate) fn to_f32(v: Vec<f64>) -> Vec<f32> {
    v.into_iter().map(|x| x as f32).collect()
}

//! Reading image HDU headers with fitsio (CFITSIO 4 built from its bundled source).
//!
//! CFITSIO opens plain FITS, whole-file gzip (`.fits.gz`) and tile-compressed images
//! (`.fits.fz`, FITS Tile Compression convention) alike; for a compressed HDU it reports the
//! image's own shape (ZNAXISn), so callers never see the binary table that carries it. Only
//! headers are read: no pixel data is touched.

use fitsio::hdu::HduInfo;
use fitsio::FitsFile;
use std::collections::HashMap;
use std::path::Path;

/// A header keyword's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Card {
    /// A numeric value (integers are read as f64 too).
    Number(f64),
    /// A string value, trailing blanks removed.
    Text(String),
}

/// The keywords vogate uses from one image HDU.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageHeader {
    /// 0-based HDU index in the file.
    pub index: usize,
    /// Axis lengths in FITS order: `naxis[0]` is NAXIS1 (the fastest-varying axis).
    pub naxis: Vec<i64>,
    /// The keywords found, by upper-case name.
    pub cards: HashMap<String, Card>,
}

impl ImageHeader {
    /// A numeric keyword.
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.cards.get(key) {
            Some(Card::Number(v)) => Some(*v),
            Some(Card::Text(s)) => s.trim().parse().ok(),
            None => None,
        }
    }

    /// A string keyword, trimmed.
    pub fn text(&self, key: &str) -> Option<&str> {
        match self.cards.get(key) {
            Some(Card::Text(s)) => Some(s.trim()),
            _ => None,
        }
    }
}

/// The DSS plate-solution keywords, read only when PLTRAH is present.
const DSS_KEYS: &[&str] = &[
    "PLTRAH", "PLTRAM", "PLTRAS", "PLTDECD", "PLTDECM", "PLTDECS", "PPO3", "PPO6", "XPIXELSZ",
    "YPIXELSZ", "CNPIX1", "CNPIX2", "AMDX1", "AMDX2", "AMDX3", "AMDX4", "AMDX5", "AMDX6", "AMDX7",
    "AMDX8", "AMDX9", "AMDX10", "AMDX11", "AMDX12", "AMDX13", "AMDY1", "AMDY2", "AMDY3", "AMDY4",
    "AMDY5", "AMDY6", "AMDY7", "AMDY8", "AMDY9", "AMDY10", "AMDY11", "AMDY12", "AMDY13",
];

/// String-valued keywords read from every image HDU.
const TEXT_KEYS: &[&str] = &[
    "CTYPE1", "CTYPE2", "CTYPE3", "CTYPE4", "CUNIT1", "CUNIT2", "CUNIT3", "CUNIT4", "RADESYS",
    "RADECSYS", "DATE-OBS", "TIMESYS", "TELESCOP", "INSTRUME", "OBJECT", "EXTNAME", "EXTTYPE",
    "BUNIT", "PLTDECSN",
];

/// Numeric keywords read from every image HDU with a CTYPE1.
const NUMBER_KEYS: &[&str] = &[
    "CRPIX1", "CRPIX2", "CRPIX3", "CRVAL1", "CRVAL2", "CRVAL3", "CDELT1", "CDELT2", "CDELT3",
    "CROTA1", "CROTA2", "CD3_3", "PC3_3", "CRPIX4", "CRVAL4", "CDELT4", "CD4_4", "PC4_4", "CD1_1",
    "CD1_2", "CD2_1", "CD2_2", "PC1_1", "PC1_2", "PC2_1", "PC2_2", "PV1_0", "PV1_1", "PV1_2",
    "PV2_0", "PV2_1", "PV2_2", "PV2_3", "PV2_4", "PV2_5", "LONPOLE", "LATPOLE", "EQUINOX", "EPOCH",
    "MJD-OBS", "EXPTIME", "A_ORDER", "B_ORDER", "AP_ORDER", "BP_ORDER", "MJDREF", "MJDREFI",
    "MJDREFF",
];

fn read_text(hdu: &fitsio::hdu::FitsHdu, f: &mut FitsFile, key: &str) -> Option<String> {
    hdu.read_key::<String>(f, key)
        .ok()
        .map(|s| s.trim_end().to_string())
}

fn read_number(hdu: &fitsio::hdu::FitsHdu, f: &mut FitsFile, key: &str) -> Option<f64> {
    hdu.read_key::<f64>(f, key).ok().filter(|v| v.is_finite())
}

/// A keyword meant to be numeric: its number, or, when CFITSIO cannot read it as one (e.g.
/// `NaN`, `1E999`, a string), its text, so that a WCS check can name the bad value instead of
/// taking the keyword as absent.
fn read_numeric_card(hdu: &fitsio::hdu::FitsHdu, f: &mut FitsFile, key: &str) -> Option<Card> {
    match hdu.read_key::<f64>(f, key) {
        Ok(v) if v.is_finite() => Some(Card::Number(v)),
        Ok(v) => Some(Card::Text(v.to_string())),
        // KEY_NO_EXIST (202): absent, the common case; anything else: present but not a
        // readable number, kept as text for the caller to name.
        Err(fitsio::errors::Error::Fits(e)) if e.status == 202 => None,
        Err(_) => read_text(hdu, f, key).map(Card::Text),
    }
}

/// What one file's headers hold for ObsCore.
#[derive(Debug, Clone, PartialEq)]
pub struct FileHeaders {
    /// Product-wide keywords of the primary HDU (TELESCOP, INSTRUME, OBJECT, DATE-OBS,
    /// TIMESYS, MJD-OBS, EXPTIME), used where an extension does not repeat them.
    pub primary: HashMap<String, Card>,
    /// Every image HDU with at least two axes, in HDU order.
    pub images: Vec<ImageHeader>,
}

/// The headers of the file at `path`. Errors (unreadable, or not FITS) carry CFITSIO's
/// message.
pub fn read_headers(path: &Path) -> Result<FileHeaders, String> {
    let mut f = FitsFile::open(path).map_err(|e| format!("cannot open as FITS: {e}"))?;
    let n = f
        .num_hdus()
        .map_err(|e| format!("cannot count HDUs: {e}"))?;
    let mut out = Vec::new();
    let mut primary = HashMap::new();
    for index in 0..n {
        let hdu = f
            .hdu(index)
            .map_err(|e| format!("cannot read HDU {index}: {e}"))?;
        if index == 0 {
            for key in ["TELESCOP", "INSTRUME", "OBJECT", "DATE-OBS", "TIMESYS"] {
                if let Some(v) = read_text(&hdu, &mut f, key) {
                    primary.insert(key.to_string(), Card::Text(v));
                }
            }
            for key in ["MJD-OBS", "EXPTIME"] {
                if let Some(v) = read_number(&hdu, &mut f, key) {
                    primary.insert(key.to_string(), Card::Number(v));
                }
            }
        }
        let shape = match &hdu.info {
            HduInfo::ImageInfo { shape, .. } => shape.clone(),
            _ => continue,
        };
        if shape.len() < 2 {
            continue;
        }
        // fitsio gives the shape in C order (slowest axis first); FITS order is the reverse.
        let naxis: Vec<i64> = shape.iter().rev().map(|&n| n as i64).collect();
        let mut cards = HashMap::new();
        for key in TEXT_KEYS {
            if let Some(v) = read_text(&hdu, &mut f, key) {
                cards.insert((*key).to_string(), Card::Text(v));
            }
        }
        if cards.contains_key("CTYPE1") {
            for key in NUMBER_KEYS {
                if let Some(card) = read_numeric_card(&hdu, &mut f, key) {
                    cards.insert((*key).to_string(), card);
                }
            }
            if read_number(&hdu, &mut f, "PLTRAH").is_some() {
                for key in DSS_KEYS {
                    if let Some(v) = read_number(&hdu, &mut f, key) {
                        cards.insert((*key).to_string(), Card::Number(v));
                    }
                }
            }
            // SIP distortion coefficients (Shupe et al. 2005), only when an order is given.
            for (prefix, order_key) in [
                ("A", "A_ORDER"),
                ("B", "B_ORDER"),
                ("AP", "AP_ORDER"),
                ("BP", "BP_ORDER"),
            ] {
                let Some(order) = cards.get(order_key).and_then(|c| match c {
                    Card::Number(v) => Some(*v as usize),
                    Card::Text(_) => None,
                }) else {
                    continue;
                };
                for p in 0..=order.min(9) {
                    for q in 0..=(order.min(9) - p) {
                        let key = format!("{prefix}_{p}_{q}");
                        if let Some(v) = read_number(&hdu, &mut f, &key) {
                            cards.insert(key, Card::Number(v));
                        }
                    }
                }
            }
        } else {
            for key in ["MJD-OBS", "EXPTIME"] {
                if let Some(v) = read_number(&hdu, &mut f, key) {
                    cards.insert(key.to_string(), Card::Number(v));
                }
            }
        }
        out.push(ImageHeader {
            index,
            naxis,
            cards,
        });
    }
    Ok(FileHeaders {
        primary,
        images: out,
    })
}

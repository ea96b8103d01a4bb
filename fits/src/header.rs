//! Reading image HDU headers: with fitsio (CFITSIO 4 built from its bundled source), or, for
//! plain FITS files, from their cards directly ([`read_headers_plain`], which gives the same).
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
    pub cards: Cards,
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

/// Where keyword values come from: CFITSIO, or vogate's own reading of the cards (which
/// gives what CFITSIO gives; see [`read_headers_plain`]).
trait Keys {
    /// A string keyword as CFITSIO's `ffgkys` gives it (quotes removed, `''` as `'`,
    /// trailing blanks removed; a value that is not a string as it is written); `None` when
    /// absent, without a value, or unreadable.
    fn text(&mut self, key: &str) -> Option<String>;
    /// A numeric keyword as CFITSIO's `ffgkyd` reads it (integers, reals with an E or D
    /// exponent, logicals as 1 and 0, a string holding a number); `Err(true)` when absent,
    /// `Err(false)` when present but not a number.
    fn double(&mut self, key: &str) -> Result<f64, bool>;

    /// A finite numeric keyword.
    fn number(&mut self, key: &str) -> Option<f64> {
        self.double(key).ok().filter(|v| v.is_finite())
    }

    /// A keyword meant to be numeric: its number, or, when it is not a readable finite
    /// number (e.g. `NaN`, `1E999`, a string), its text, so that a WCS check can name the
    /// bad value instead of taking the keyword as absent.
    fn numeric_card(&mut self, key: &str) -> Option<Card> {
        match self.double(key) {
            Ok(v) if v.is_finite() => Some(Card::Number(v)),
            Ok(v) => Some(Card::Text(v.to_string())),
            Err(true) => None,
            Err(false) => self.text(key).map(Card::Text),
        }
    }
}

struct Cfitsio<'a> {
    hdu: &'a fitsio::hdu::FitsHdu,
    file: &'a mut FitsFile,
}

impl Keys for Cfitsio<'_> {
    fn text(&mut self, key: &str) -> Option<String> {
        self.hdu
            .read_key::<String>(self.file, key)
            .ok()
            .map(|s| s.trim_end().to_string())
    }

    fn double(&mut self, key: &str) -> Result<f64, bool> {
        match self.hdu.read_key::<f64>(self.file, key) {
            Ok(v) => Ok(v),
            // KEY_NO_EXIST (202): absent, the common case.
            Err(fitsio::errors::Error::Fits(e)) if e.status == 202 => Err(true),
            Err(_) => Err(false),
        }
    }
}

/// The keywords of `extra` that are there, as text (a number as written).
fn extra_cards(keys: &mut impl Keys, extra: &[String], into: &mut Cards) {
    for key in extra {
        if !into.contains_key(key) {
            if let Some(v) = keys.text(key) {
                into.insert(key.clone(), Card::Text(v));
            }
        }
    }
}

/// The product-wide keywords of a primary HDU.
fn primary_cards(keys: &mut impl Keys) -> Cards {
    let mut primary = Cards::default();
    for key in ["TELESCOP", "INSTRUME", "OBJECT", "DATE-OBS", "TIMESYS"] {
        if let Some(v) = keys.text(key) {
            primary.insert(key.to_string(), Card::Text(v));
        }
    }
    for key in ["MJD-OBS", "EXPTIME"] {
        if let Some(v) = keys.number(key) {
            primary.insert(key.to_string(), Card::Number(v));
        }
    }
    primary
}

/// The keywords vogate uses from an image HDU: [`TEXT_KEYS`]; with a CTYPE1, the WCS
/// keywords ([`NUMBER_KEYS`], the DSS plate solution when PLTRAH is there, the SIP
/// coefficients of the orders given); without, MJD-OBS and EXPTIME.
fn image_cards(keys: &mut impl Keys) -> Cards {
    let mut cards = Cards::default();
    for key in TEXT_KEYS {
        if let Some(v) = keys.text(key) {
            cards.insert((*key).to_string(), Card::Text(v));
        }
    }
    if cards.contains_key("CTYPE1") {
        for key in NUMBER_KEYS {
            if let Some(card) = keys.numeric_card(key) {
                cards.insert((*key).to_string(), card);
            }
        }
        if keys.number("PLTRAH").is_some() {
            for key in DSS_KEYS {
                if let Some(v) = keys.number(key) {
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
                    if let Some(v) = keys.number(&key) {
                        cards.insert(key, Card::Number(v));
                    }
                }
            }
        }
    } else {
        for key in ["MJD-OBS", "EXPTIME"] {
            if let Some(v) = keys.number(key) {
                cards.insert(key.to_string(), Card::Number(v));
            }
        }
    }
    cards
}

/// What one file's headers hold for ObsCore.
#[derive(Debug, Clone, PartialEq)]
pub struct FileHeaders {
    /// Product-wide keywords of the primary HDU (TELESCOP, INSTRUME, OBJECT, DATE-OBS,
    /// TIMESYS, MJD-OBS, EXPTIME), used where an extension does not repeat them.
    pub primary: Cards,
    /// Every image HDU with at least two axes, in HDU order.
    pub images: Vec<ImageHeader>,
}

/// The headers of the file at `path`, read by CFITSIO. Errors (unreadable, or not FITS)
/// carry CFITSIO's message.
pub fn read_headers(path: &Path) -> Result<FileHeaders, String> {
    read_headers_with(path, &[])
}

/// [`read_headers`], with the keywords of `extra` (upper case) as well, in the primary
/// HDU's keywords and in every image HDU's, as text (a number as written): the keywords an
/// ObsCore mapping's rules and templates use.
pub fn read_headers_with(path: &Path, extra: &[String]) -> Result<FileHeaders, String> {
    let mut f = FitsFile::open(path).map_err(|e| format!("cannot open as FITS: {e}"))?;
    let n = f
        .num_hdus()
        .map_err(|e| format!("cannot count HDUs: {e}"))?;
    let mut out = Vec::new();
    let mut primary = Cards::default();
    for index in 0..n {
        let hdu = f
            .hdu(index)
            .map_err(|e| format!("cannot read HDU {index}: {e}"))?;
        if index == 0 {
            let mut keys = Cfitsio {
                hdu: &hdu,
                file: &mut f,
            };
            primary = primary_cards(&mut keys);
            extra_cards(&mut keys, extra, &mut primary);
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
        let mut keys = Cfitsio {
            hdu: &hdu,
            file: &mut f,
        };
        let mut cards = image_cards(&mut keys);
        extra_cards(&mut keys, extra, &mut cards);
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

/// The values of one header's cards by keyword (the first card of a keyword counts;
/// keywords compared in upper case), as written: a string with its quotes, anything else
/// without its comment. Borrowed from the header's bytes.
struct Written<'h>(HashMap<std::borrow::Cow<'h, str>, Option<&'h str>, Fnv>);

/// FNV-1a (64 bits), for the short keyword keys of headers ([`Cards`]): several times
/// cheaper than the standard SipHash there, and a header is no attacker's choice of hash
/// flooding worth defending (a file has at most a few thousand cards).
#[derive(Default, Clone, Copy)]
pub struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// The [`std::hash::BuildHasher`] of [`FnvHasher`].
pub type Fnv = std::hash::BuildHasherDefault<FnvHasher>;

/// A header's keywords by upper-case name (see [`ImageHeader::cards`]); make one with
/// `Cards::default()` or by collecting (key, card) pairs.
pub type Cards = HashMap<String, Card, Fnv>;

impl<'h> Written<'h> {
    /// The cards of `header` (whole 2880-byte blocks up to and including END). `None` for
    /// bytes that are not printable ASCII.
    fn parse(header: &'h [u8]) -> Option<Written<'h>> {
        if !header.iter().all(|b| (0x20..=0x7e).contains(b)) {
            return None;
        }
        let text = std::str::from_utf8(header).ok()?;
        let mut map = HashMap::with_capacity_and_hasher(text.len() / 80, Fnv::default());
        for start in (0..text.len()).step_by(80) {
            let card = &text[start..(start + 80).min(text.len())];
            let key = crate::cards::keyword(card);
            if key == "END" {
                break;
            }
            if key.is_empty() || key == "COMMENT" || key == "HISTORY" || key == "CONTINUE" {
                continue;
            }
            let key = if key.bytes().any(|b| b.is_ascii_lowercase()) {
                std::borrow::Cow::Owned(key.to_ascii_uppercase())
            } else {
                std::borrow::Cow::Borrowed(key)
            };
            map.entry(key).or_insert_with(|| crate::cards::value(card));
        }
        Some(Written(map))
    }

    fn get(&self, key: &str) -> Option<Option<&'h str>> {
        self.0.get(key).copied()
    }

    fn string_contents(v: &str) -> Option<String> {
        // ffc2s: the text between the quotes, '' as ', trailing blanks removed; without a
        // closing quote, the rest of the card (as CFITSIO reads it).
        let inner = v.strip_prefix('\'')?;
        let close = {
            let b = inner.as_bytes();
            let mut i = 0;
            loop {
                match b.get(i) {
                    None => break i,
                    Some(b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
                    Some(b'\'') => break i,
                    Some(_) => i += 1,
                }
            }
        };
        Some(inner[..close].replace("''", "'").trim_end().to_string())
    }
}

/// `strtod` as CFITSIO's `ffc2dd` uses it: the whole text a number (D exponents taken as
/// E), an overflow (`1E999`) an error; `nan` and `inf` are numbers.
fn c_double(text: &str) -> Result<f64, bool> {
    let t = text.trim();
    let replaced;
    let t = if t.contains(['D', 'd']) {
        replaced = t.replace(['D', 'd'], "E");
        replaced.as_str()
    } else {
        t
    };
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => {
            let lower = t.trim_start_matches(['+', '-']).to_ascii_lowercase();
            if lower.starts_with("nan") || lower.starts_with("inf") {
                Ok(v)
            } else {
                Err(false)
            }
        }
        Err(_) => Err(false),
    }
}

impl Keys for Written<'_> {
    fn text(&mut self, key: &str) -> Option<String> {
        let v = self.get(key)??;
        if v.starts_with('\'') {
            Written::string_contents(v)
        } else if v.is_empty() {
            None
        } else {
            Some(v.trim_end().to_string())
        }
    }

    fn double(&mut self, key: &str) -> Result<f64, bool> {
        let v = match self.get(key) {
            None => return Err(true),
            Some(None) => return Err(false),
            Some(Some(v)) => v,
        };
        match v.as_bytes().first() {
            None => Err(false),
            Some(b'\'') => c_double(&Written::string_contents(v).ok_or(false)?),
            Some(b'(') => Err(false),
            _ if v == "T" => Ok(1.0),
            _ if v == "F" => Ok(0.0),
            _ => c_double(v),
        }
    }
}

/// The headers of a plain FITS file whose HDUs [`crate::check_file_with_headers`] found at
/// `layouts` with the header bytes `headers`, read from the cards without CFITSIO and given
/// as [`read_headers`] gives them (the same keywords, values and HDUs; a test holds the two
/// equal on every shared file), but for a keyword written twice, which FITS forbids: its
/// first card counts here, while CFITSIO's answer depends on the order keywords are asked
/// for. No I/O: several times faster than CFITSIO's keyword-by-keyword search. `None` when
/// CFITSIO must read the file: a tile-compressed image (`ZIMAGE = T`), random groups, or
/// anything unusual.
pub fn read_headers_plain(
    layouts: &[crate::HduLayout],
    headers: &[Vec<u8>],
    extra: &[String],
) -> Option<FileHeaders> {
    if layouts.len() != headers.len() {
        return None;
    }
    let mut out = Vec::new();
    let mut primary = Cards::default();
    for (layout, header) in layouts.iter().zip(headers) {
        let first = if layout.index == 0 {
            &b"SIMPLE  ="[..]
        } else {
            &b"XTENSION="[..]
        };
        if !header.starts_with(first) {
            return None;
        }
        let mut keys = Written::parse(header)?;
        if keys.text("GROUPS").as_deref() == Some("T")
            || keys.text("ZIMAGE").as_deref() == Some("T")
        {
            return None;
        }
        if layout.index == 0 {
            primary = primary_cards(&mut keys);
            extra_cards(&mut keys, extra, &mut primary);
        }
        let image = match layout.xtension.as_deref() {
            None => true,
            Some(x) => x == "IMAGE",
        };
        if !image || layout.naxis.len() < 2 {
            continue;
        }
        let naxis = layout
            .naxis
            .iter()
            .map(|&n| i64::try_from(n).ok())
            .collect::<Option<Vec<i64>>>()?;
        let mut cards = image_cards(&mut keys);
        extra_cards(&mut keys, extra, &mut cards);
        out.push(ImageHeader {
            index: layout.index,
            naxis,
            cards,
        });
    }
    Some(FileHeaders {
        primary,
        images: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A primary header of `cards` (each padded to 80 columns, then END) and a 4x3 BITPIX 8
    /// image.
    fn file(cards: &[&str]) -> tempfile::NamedTempFile {
        let mut h = String::new();
        for c in [
            "SIMPLE  =                    T",
            "BITPIX  =                    8",
            "NAXIS   =                    2",
            "NAXIS1  =                    4",
            "NAXIS2  =                    3",
        ]
        .iter()
        .chain(cards)
        .chain(&["END"])
        {
            h.push_str(&format!("{c:<80}"));
        }
        let mut bytes = h.into_bytes();
        bytes.resize(bytes.len().div_ceil(2880) * 2880, b' ');
        bytes.extend(std::iter::repeat_n(0u8, 2880));
        let f = tempfile::NamedTempFile::new().expect("temp");
        std::fs::write(f.path(), bytes).expect("write");
        f
    }

    fn both(cards: &[&str]) -> (FileHeaders, FileHeaders) {
        let f = file(cards);
        let (layouts, headers) = crate::check_file_with_headers(f.path()).expect("complete");
        let extra = ["FILTER".to_string(), "EXPNUM".to_string()];
        let plain =
            read_headers_plain(&layouts, &headers.expect("plain"), &extra).expect("a plain file");
        (plain, read_headers_with(f.path(), &extra).expect("cfitsio"))
    }

    #[test]
    fn cards_are_read_as_cfitsio_reads_them() {
        let (plain, cfitsio) = both(&[
            "CTYPE1  = 'RA---TAN'",
            "CTYPE2  = 'DEC--TAN'           / with a comment",
            "OBJECT  = 'O''Brien / x  '      / a quote and a slash",
            "TELESCOP=                   42 / a number where text is expected",
            "INSTRUME= 'no closing quote",
            "CRVAL1  =              1.5D+01",
            "CRVAL2  = '  -20.25 '",
            "CRPIX1  =                    T",
            "CRPIX2  =",
            "CDELT1  =                  NaN",
            "CDELT2  =                1E999",
            "CROTA2  =           (1.0, 2.0)",
            "CD1_1   =                12abc",
            "PC1_1   =                 +.5e1",
            "MJD-OBS =              -1.0e-3",
            "DATE-OBS= '2020-01-01T00:00:00'",
            "EQUINOX =               2000.0",
            "LONPOLE    180",
            "BUNIT   = ''",
            "EXTNAME = '   '",
            "FILTER  = 'HSC-G   '",
            "EXPNUM  =                 1234",
        ]);
        assert_eq!(plain, cfitsio);
        let h = &plain.images[0];
        assert_eq!(h.naxis, [4, 3]);
        assert_eq!(h.text("OBJECT"), Some("O'Brien / x"));
        assert_eq!(h.number("CRVAL1"), Some(15.0));
        assert_eq!(h.number("CRVAL2"), Some(-20.25));
        assert_eq!(h.number("PC1_1"), Some(5.0));
        assert_eq!(plain.primary.get("MJD-OBS"), Some(&Card::Number(-1e-3)));
        assert_eq!(h.text("FILTER"), Some("HSC-G"));
        assert_eq!(h.text("EXPNUM"), Some("1234"));
    }

    /// A keyword written twice (which FITS forbids, §4.1.2.1) has its first card's value.
    /// Here vogate differs from CFITSIO on purpose: CFITSIO searches from the card after the
    /// last one it found, so its answer depends on the order keywords are asked for (60 for
    /// the primary's EXPTIME, asked for after OBJECT, 'second' for the image's OBJECT).
    #[test]
    fn the_first_card_of_a_keyword_counts() {
        let (plain, cfitsio) = both(&[
            "EXPTIME =                   30 / the first",
            "OBJECT  = 'first'",
            "EXPTIME =                   60 / a repeat",
            "OBJECT  = 'second'",
        ]);
        assert_eq!(plain.primary.get("EXPTIME"), Some(&Card::Number(30.0)));
        assert_eq!(plain.images[0].text("OBJECT"), Some("first"));
        assert_eq!(plain.images[0].number("EXPTIME"), Some(30.0));
        assert_eq!(cfitsio.primary.get("EXPTIME"), Some(&Card::Number(60.0)));
        assert_eq!(cfitsio.images[0].text("OBJECT"), Some("second"));
    }

    #[test]
    fn gzip_and_tile_compressed_files_are_left_to_cfitsio() {
        use std::io::Write;
        let f = file(&["CTYPE1  = 'RA---TAN'"]);
        let gz = tempfile::NamedTempFile::new().expect("temp");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(gz.path()).expect("create"),
            flate2::Compression::fast(),
        );
        enc.write_all(&std::fs::read(f.path()).expect("read"))
            .expect("gzip");
        enc.finish().expect("finish");
        let (_, headers) = crate::check_file_with_headers(gz.path()).expect("complete");
        assert_eq!(headers, None);
    }
}

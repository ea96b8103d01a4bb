//! The whole header of an image HDU as its 80-character cards, and the header of a cut of it.
//!
//! [`ImageCards`] keeps BITPIX and the axis lengths apart from the other cards (the
//! structural keywords SIMPLE/XTENSION, BITPIX, NAXIS, NAXISn, EXTEND, PCOUNT, GCOUNT are
//! written again for whatever HDU the cards go into). A tile-compressed image (FITS Standard
//! 4.0 §10, `ZIMAGE = T`) gives the header of the image it holds, as CFITSIO presents it:
//! ZBITPIX, ZNAXIS, ZNAXISn become BITPIX, NAXIS, NAXISn; ZBLANK becomes BLANK; the binary
//! table's own keywords (TFIELDS, TTYPEn, ZCMPTYPE, ZTILEn, ...) and its default name
//! (`EXTNAME = 'COMPRESSED_IMAGE'`) are left out.
//!
//! [`ImageCards::cut`] makes the header of a cut at a pixel offset (FITS WCS Paper I §2.1):
//! the reference pixel of the primary and of every alternate WCS (CRPIXj, CRPIXja) moves by
//! the offset, as do IRAF's LTVj (logical = LTM physical + LTV) and the DSS plate's CNPIXj
//! (the plate pixel of the image's first pixel, which moves the other way); CD, PC, CDELT,
//! CRVAL and the SIP coefficients (Shupe et al. 2005: polynomials in pixel - CRPIX) stay.
//! CHECKSUM and DATASUM, which a cut makes wrong, are dropped; every other card is kept as
//! it was, comments and history included.

use std::path::Path;

use crate::integrity::{check_file, HduLayout, BLOCK};

/// The header of one image HDU (or of the image a tile-compressed HDU holds).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageCards {
    /// BITPIX of the stored values: 8, 16, 32, 64, -32 or -64.
    pub bitpix: i32,
    /// NAXIS1, NAXIS2, ... (FITS order).
    pub naxis: Vec<u64>,
    /// Every other card, 80 characters each, in file order (END excluded).
    pub cards: Vec<String>,
}

/// The keyword of a card (columns 1-8, trailing blanks removed).
pub fn keyword(card: &str) -> &str {
    card.get(..8).unwrap_or(card).trim_end()
}

/// The value of a card that has one (`= ` in columns 9-10), without its comment, trimmed;
/// a string value keeps its quotes.
pub fn value(card: &str) -> Option<&str> {
    if card.get(8..10) != Some("= ") {
        return None;
    }
    let v = card.get(10..).unwrap_or("").trim_start();
    if let Some(rest) = v.strip_prefix('\'') {
        // A string: up to the closing quote ('' is an escaped quote).
        let mut i = 0;
        let bytes = rest.as_bytes();
        while i < bytes.len() {
            if bytes[i] == b'\'' {
                if bytes.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                return Some(&v[..i + 2]);
            }
            i += 1;
        }
        return Some(v);
    }
    Some(v.split('/').next().unwrap_or("").trim())
}

/// A numeric card `KEY = value / comment`, the value right-justified in columns 11-30 (the
/// fixed format of FITS Standard 4.0 §4.2.4), written so that it reads back as the same
/// number.
pub fn number_card(key: &str, v: f64, comment: Option<&str>) -> String {
    let text = if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        // Shortest round-trip form; where that is longer than the 20 columns, the exponent
        // form, with the upper-case E that FITS requires and a decimal point.
        let plain = format!("{v}");
        if plain.len() <= 20 {
            plain
        } else {
            let e = format!("{v:E}");
            if e.contains('.') {
                e
            } else {
                e.replacen('E', ".0E", 1)
            }
        }
    };
    let mut card = format!("{key:<8}= {text:>20}");
    if let Some(c) = comment.filter(|c| !c.is_empty()) {
        card.push_str(" / ");
        card.push_str(c);
    }
    fit(card)
}

/// A card cut or padded to 80 characters.
fn fit(mut card: String) -> String {
    if card.len() > 80 {
        let mut end = 80;
        while !card.is_char_boundary(end) {
            end -= 1;
        }
        card.truncate(end);
    }
    format!("{card:<80}")
}

/// The comment of a card, if it has one.
fn comment(card: &str) -> Option<&str> {
    let v = value(card)?;
    let start = 10 + card.get(10..)?.find(v)? + v.len();
    card[start..].trim_start().strip_prefix('/').map(str::trim)
}

/// Whether `key` is one of the structural keywords that the HDU writing the cards sets.
fn structural(key: &str) -> bool {
    matches!(
        key,
        "SIMPLE" | "XTENSION" | "BITPIX" | "NAXIS" | "EXTEND" | "PCOUNT" | "GCOUNT" | "END"
    ) || key
        .strip_prefix("NAXIS")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Keywords of a tile-compressed HDU's binary table that are no part of the image header.
fn table_keyword(key: &str) -> bool {
    let indexed = |prefix: &str| {
        key.strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    matches!(
        key,
        "TFIELDS"
            | "THEAP"
            | "ZIMAGE"
            | "ZCMPTYPE"
            | "ZBITPIX"
            | "ZNAXIS"
            | "ZSIMPLE"
            | "ZTENSION"
            | "ZEXTEND"
            | "ZBLOCKED"
            | "ZPCOUNT"
            | "ZGCOUNT"
            | "ZHECKSUM"
            | "ZDATASUM"
            | "ZQUANTIZ"
            | "ZDITHER0"
            | "ZMASKCMP"
            | "ZBLANK"
            | "ZSCALE"
            | "ZZERO"
    ) || [
        "TTYPE", "TFORM", "TUNIT", "TDIM", "TZERO", "TSCAL", "TNULL", "TDISP", "ZNAXIS", "ZTILE",
        "ZNAME", "ZVAL",
    ]
    .iter()
    .any(|p| indexed(p))
}

impl ImageCards {
    /// The header of image HDU `hdu` (0-based) of the file at `path`. Errors: the file is
    /// incomplete ([`check_file`]), there is no such HDU, or it holds no image.
    pub fn read(path: &Path, hdu: usize) -> Result<ImageCards, String> {
        let layouts = check_file(path).map_err(|e| e.to_string())?;
        let layout = layouts.get(hdu).ok_or_else(|| {
            format!(
                "the file has {} HDUs (0 to {}), so no HDU {hdu}",
                layouts.len(),
                layouts.len() - 1
            )
        })?;
        ImageCards::read_at(path, layout)
    }

    /// [`ImageCards::read`] of the HDU at `layout` (from [`check_file`] of the same file).
    pub fn read_at(path: &Path, layout: &HduLayout) -> Result<ImageCards, String> {
        let bytes = header_bytes(path, layout)?;
        let raw: Vec<String> = bytes
            .chunks(80)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .take_while(|c| keyword(c) != "END")
            .collect();
        ImageCards::from_raw(&raw, layout)
    }

    /// The image header of an HDU from its raw cards.
    fn from_raw(raw: &[String], layout: &HduLayout) -> Result<ImageCards, String> {
        let find = |key: &str| {
            raw.iter()
                .find(|c| keyword(c) == key)
                .and_then(|c| value(c))
        };
        let compressed = find("ZIMAGE") == Some("T");
        if !compressed {
            if layout.xtension.as_deref().is_some_and(|x| x != "IMAGE") {
                return Err(format!(
                    "HDU {} is a {} extension, not an image",
                    layout.index,
                    layout.xtension.as_deref().unwrap_or("")
                ));
            }
            let cards = raw
                .iter()
                .filter(|c| !structural(keyword(c)))
                .cloned()
                .collect();
            return Ok(ImageCards {
                bitpix: layout.bitpix,
                naxis: layout.naxis.clone(),
                cards,
            });
        }
        let int = |key: &str| -> Result<i64, String> {
            find(key)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("HDU {}: a compressed image without {key}", layout.index))
        };
        let bitpix = int("ZBITPIX")?;
        if ![8, 16, 32, 64, -32, -64].contains(&bitpix) {
            return Err(format!("HDU {}: ZBITPIX = {bitpix}", layout.index));
        }
        let naxis = int("ZNAXIS")?;
        let naxes = (1..=naxis)
            .map(|n| {
                int(&format!("ZNAXIS{n}"))
                    .and_then(|v| u64::try_from(v).map_err(|_| format!("ZNAXIS{n} = {v}")))
            })
            .collect::<Result<Vec<u64>, String>>()?;
        let mut cards: Vec<String> = raw
            .iter()
            .filter(|c| {
                let k = keyword(c);
                // CFITSIO's name for the table, not the image's (astropy hides it too).
                let table_name = k == "EXTNAME"
                    && value(c).map(|v| v.trim_matches(|ch| ch == '\'' || ch == ' '))
                        == Some("COMPRESSED_IMAGE");
                !structural(k)
                    && !table_keyword(k)
                    && !table_name
                    && !matches!(k, "CHECKSUM" | "DATASUM")
            })
            .cloned()
            .collect();
        if let Some(blank) = find("ZBLANK").and_then(|v| v.parse::<f64>().ok()) {
            if bitpix > 0 && !cards.iter().any(|c| keyword(c) == "BLANK") {
                cards.insert(
                    0,
                    number_card("BLANK", blank, Some("value of undefined pixels")),
                );
            }
        }
        Ok(ImageCards {
            bitpix: bitpix as i32,
            naxis: naxes,
            cards,
        })
    }

    /// The value of a numeric card.
    pub fn number(&self, key: &str) -> Option<f64> {
        self.cards
            .iter()
            .find(|c| keyword(c) == key)
            .and_then(|c| value(c))
            .and_then(|v| v.replace('D', "E").parse().ok())
    }

    /// The header of the cut whose first pixel is pixel `offset[j] + 1` of axis j+1 of this
    /// image (0-based offsets; missing axes 0) and whose axis lengths are `shape` (missing
    /// axes as they are): CRPIXj and CRPIXja (every alternate WCS a..z) and LTVj decrease by
    /// the offset, CNPIXj increases by it, CHECKSUM and DATASUM go, the rest is kept.
    /// Errors: a keyword that must move is not a finite number (it is named).
    pub fn cut(&self, offset: &[u64], shape: &[u64]) -> Result<ImageCards, String> {
        let moved = |key: &str| -> Option<(usize, f64)> {
            // (axis from 0, sign of the change per pixel of offset)
            let axis = |digits: &str| {
                digits
                    .parse::<usize>()
                    .ok()
                    .filter(|&j| (1..=99).contains(&j))
                    .map(|j| j - 1)
            };
            if let Some(rest) = key.strip_prefix("CRPIX") {
                let digits = rest.trim_end_matches(|c: char| c.is_ascii_uppercase());
                if rest.len() - digits.len() <= 1 {
                    return axis(digits).map(|j| (j, -1.0));
                }
            }
            if let Some(rest) = key.strip_prefix("LTV") {
                return axis(rest).map(|j| (j, -1.0));
            }
            if let Some(rest) = key.strip_prefix("CNPIX") {
                return axis(rest).map(|j| (j, 1.0));
            }
            None
        };
        let cards = self
            .cards
            .iter()
            .filter(|c| !matches!(keyword(c), "CHECKSUM" | "DATASUM"))
            .map(|c| {
                let key = keyword(c);
                let Some((j, sign)) = moved(key) else {
                    return Ok(c.clone());
                };
                let d = offset.get(j).copied().unwrap_or(0);
                let text = value(c).unwrap_or("");
                let v = text
                    .replace('D', "E")
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| format!("{key} = {text} is not a finite number"))?;
                if d == 0 {
                    return Ok(c.clone());
                }
                Ok(number_card(key, v + sign * d as f64, comment(c)))
            })
            .collect::<Result<Vec<String>, String>>()?;
        let naxis = self
            .naxis
            .iter()
            .enumerate()
            .map(|(j, &n)| shape.get(j).copied().unwrap_or(n))
            .collect();
        Ok(ImageCards {
            bitpix: self.bitpix,
            naxis,
            cards,
        })
    }

    /// The whole header as the primary HDU (`primary`) or an IMAGE extension: the structural
    /// cards, these cards, END, padded with blanks to whole 2880-byte blocks.
    pub fn header_bytes(&self, primary: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut push = |card: String| out.extend_from_slice(fit(card).as_bytes());
        if primary {
            push(format!(
                "{:<8}= {:>20} / conforms to FITS standard",
                "SIMPLE", "T"
            ));
        } else {
            push(format!(
                "{:<8}= {:<20} / image extension",
                "XTENSION", "'IMAGE   '"
            ));
        }
        push(format!(
            "{:<8}= {:>20} / bits per data value",
            "BITPIX", self.bitpix
        ));
        push(format!(
            "{:<8}= {:>20} / number of axes",
            "NAXIS",
            self.naxis.len()
        ));
        for (j, n) in self.naxis.iter().enumerate() {
            push(format!("{:<8}= {:>20}", format!("NAXIS{}", j + 1), n));
        }
        if primary {
            push(format!(
                "{:<8}= {:>20} / extensions may follow",
                "EXTEND", "T"
            ));
        } else {
            push(format!("{:<8}= {:>20}", "PCOUNT", 0));
            push(format!("{:<8}= {:>20}", "GCOUNT", 1));
        }
        for c in &self.cards {
            push(c.clone());
        }
        push("END".into());
        out.resize(out.len().div_ceil(BLOCK as usize) * BLOCK as usize, b' ');
        out
    }
}

/// The raw header blocks of an HDU (from the decompressed stream for a gzip file).
fn header_bytes(path: &Path, layout: &HduLayout) -> Result<Vec<u8>, String> {
    use std::io::{Read, Seek, SeekFrom};
    let len = (layout.data_start - layout.header_start) as usize;
    let mut out = vec![0u8; len];
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut magic = [0u8; 2];
    let gz = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    if gz {
        let mut g = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file));
        std::io::copy(
            &mut g.by_ref().take(layout.header_start),
            &mut std::io::sink(),
        )
        .map_err(|e| format!("gzip: {e}"))?;
        g.read_exact(&mut out).map_err(|e| format!("gzip: {e}"))?;
    } else {
        file.seek(SeekFrom::Start(layout.header_start))
            .map_err(|e| e.to_string())?;
        file.read_exact(&mut out).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(s: &str) -> String {
        format!("{s:<80}")
    }

    #[test]
    fn numbers_are_written_in_fixed_format_and_read_back_exactly() {
        for v in [
            0.0,
            1.0,
            -100.0,
            866.842697735752,
            1.59205392797133e-07,
            -4.6e-5,
            1e20,
            123456789.25,
        ] {
            let c = number_card("CRPIX1", v, Some("moved"));
            assert_eq!(c.len(), 80);
            assert_eq!(keyword(&c), "CRPIX1");
            let text = value(&c).expect("a value");
            assert!(!text.contains('e'), "{c}");
            assert_eq!(text.parse::<f64>().expect("number"), v, "{c}");
            assert_eq!(comment(&c), Some("moved"));
        }
    }

    #[test]
    fn a_cut_moves_reference_pixels_ltv_and_cnpix_and_keeps_everything_else() {
        let h = ImageCards {
            bitpix: -32,
            naxis: vec![200, 100, 5],
            cards: [
                "CRPIX1  =      866.842697735752 / Pixel coordinate of reference point",
                "CRPIX2  =                 50.0",
                "CRPIX3  =                  1.0",
                "CRPIX1A =                  1.0",
                "CRPIX2A =                  1.0",
                "CRVAL1A =               -100.0",
                "LTV1    =               -100.0",
                "LTV2    =                -50.0",
                "CNPIX1  =                 3000",
                "CNPIX2  =                 4000",
                "A_0_2   =   2.00559710166211E-07",
                "CD1_1   =   1.59205392797133E-07",
                "CHECKSUM= 'abc'",
                "DATASUM = '123'",
                "HISTORY a cut keeps this",
                "OBJECT  = 'CRPIX1 in a string' / not a keyword",
            ]
            .iter()
            .map(|c| card(c))
            .collect(),
        };
        let cut = h.cut(&[10, 20], &[30, 40]).expect("a cut");
        assert_eq!(cut.naxis, vec![30, 40, 5]);
        assert_eq!(cut.number("CRPIX1"), Some(856.842697735752));
        assert_eq!(cut.number("CRPIX2"), Some(30.0));
        assert_eq!(cut.number("CRPIX3"), Some(1.0));
        assert_eq!(cut.number("CRPIX1A"), Some(-9.0));
        assert_eq!(cut.number("CRPIX2A"), Some(-19.0));
        assert_eq!(cut.number("CRVAL1A"), Some(-100.0));
        assert_eq!(cut.number("LTV1"), Some(-110.0));
        assert_eq!(cut.number("LTV2"), Some(-70.0));
        assert_eq!(cut.number("CNPIX1"), Some(3010.0));
        assert_eq!(cut.number("CNPIX2"), Some(4020.0));
        assert_eq!(cut.number("A_0_2"), h.number("A_0_2"));
        assert_eq!(cut.number("CD1_1"), h.number("CD1_1"));
        assert!(cut
            .cards
            .iter()
            .all(|c| !c.starts_with("CHECKSUM") && !c.starts_with("DATASUM")));
        assert!(cut
            .cards
            .iter()
            .any(|c| c.starts_with("HISTORY a cut keeps this")));
        assert!(cut.cards[0].contains("/ Pixel coordinate of reference point"));
        assert_eq!(cut.cards.len(), h.cards.len() - 2);
        // A cut at the origin changes nothing but the shape.
        let same = h.cut(&[0, 0, 0], &[]).expect("a cut");
        assert_eq!(same.naxis, h.naxis);
        assert_eq!(same.cards.len(), h.cards.len() - 2);
        // The header written out: whole blocks, structural cards first, END last.
        let bytes = cut.header_bytes(true);
        assert_eq!(bytes.len() % 2880, 0);
        let text = String::from_utf8(bytes).expect("ASCII");
        assert!(text.starts_with("SIMPLE  =                    T"));
        assert!(text.contains("NAXIS1  =                   30"));
        assert!(text.contains(&card("END")));
        // A reference pixel that is not a number cannot be moved: the cut is refused.
        for bad in ["'abc'", "NaN", "1E400", ""] {
            let mut h = h.clone();
            h.cards[0] = card(&format!("CRPIX1  = {bad:>20}"));
            let e = h.cut(&[1, 0], &[]).expect_err(bad);
            assert!(
                e.contains("CRPIX1") && e.contains("not a finite number"),
                "{e}"
            );
        }
    }
}

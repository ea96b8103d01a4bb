//! Reading a box of an image HDU without reading the rest, and writing image HDUs.
//!
//! Values stay *stored* values: the bytes of the HDU's BITPIX, with BSCALE, BZERO and BLANK
//! left to the header (FITS Standard 4.0 §5.3, §4.4.2.5), so a cut is byte-exact. A plain
//! image is read row by row at its byte offsets (one seek and one read per row of the box).
//! A tile-compressed image (§10) or a whole-file gzip is read through CFITSIO (fitsio), which
//! decompresses only the tiles the box touches (for gzip, CFITSIO holds the file in memory):
//! the physical values it returns (without null checking, so BLANK pixels come back as
//! BZERO + BSCALE × BLANK) are turned back into the stored ones, exactly, by inverting the
//! scaling and rounding for integer BITPIX.

use std::io::{Read, Write};
use std::path::Path;

use crate::cards::ImageCards;
use crate::integrity::{check_file, BLOCK};

/// A box of pixels: `start` (0-based) and `len` per axis, in FITS order (axis 1 first); axes
/// beyond `start.len()` are taken whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The first pixel of the box on each axis, from 0.
    pub start: Vec<u64>,
    /// The box's length on each axis, pixels (at least 1).
    pub len: Vec<u64>,
}

/// The stored values of a box: big-endian values of `bitpix`, axis 1 varying fastest (the
/// FITS data order), `shape` pixels per axis.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionData {
    /// BITPIX of the values.
    pub bitpix: i32,
    /// The box's length on every axis of the image (FITS order).
    pub shape: Vec<u64>,
    /// The values, as FITS stores them.
    pub bytes: Vec<u8>,
}

/// How stored values become physical ones (FITS Standard 4.0 §4.4.2.5, §5.3):
/// `bzero + bscale × stored`; an integer image's BLANK value, and NaN, mark no data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scaling {
    /// BSCALE (1 when absent).
    pub bscale: f64,
    /// BZERO (0 when absent).
    pub bzero: f64,
    /// BLANK, for an integer BITPIX only.
    pub blank: Option<i64>,
}

impl ImageCards {
    /// The header's [`Scaling`].
    pub fn scaling(&self) -> Scaling {
        Scaling {
            bscale: self.number("BSCALE").unwrap_or(1.0),
            bzero: self.number("BZERO").unwrap_or(0.0),
            blank: (self.bitpix > 0)
                .then(|| self.number("BLANK"))
                .flatten()
                .map(|b| b as i64),
        }
    }
}

/// Stored values (big-endian, of `bitpix`) as physical values: BLANK (integers) and NaN
/// (floats) become NaN, the others `bzero + bscale × v`. Errors: `bitpix` is not a FITS
/// BITPIX.
pub fn physical_values(bytes: &[u8], bitpix: i32, s: &Scaling) -> Result<Vec<f64>, String> {
    let scale = |v: f64| s.bzero + s.bscale * v;
    let int = |v: i64| {
        if s.blank == Some(v) {
            f64::NAN
        } else {
            scale(v as f64)
        }
    };
    Ok(match bitpix {
        8 => bytes.iter().map(|&b| int(i64::from(b))).collect(),
        16 => bytes
            .chunks_exact(2)
            .map(|c| int(i64::from(i16::from_be_bytes([c[0], c[1]]))))
            .collect(),
        32 => bytes
            .chunks_exact(4)
            .map(|c| int(i64::from(i32::from_be_bytes([c[0], c[1], c[2], c[3]]))))
            .collect(),
        64 => bytes
            .chunks_exact(8)
            .map(|c| int(i64::from_be_bytes(c.try_into().unwrap_or([0; 8]))))
            .collect(),
        -32 => bytes
            .chunks_exact(4)
            .map(|c| scale(f64::from(f32::from_be_bytes([c[0], c[1], c[2], c[3]]))))
            .collect(),
        -64 => bytes
            .chunks_exact(8)
            .map(|c| scale(f64::from_be_bytes(c.try_into().unwrap_or([0; 8]))))
            .collect(),
        other => return Err(format!("BITPIX = {other} is not a FITS BITPIX")),
    })
}

/// Read the box `section` of image HDU `hdu` (0-based) of the file at `path`, with the
/// header of that HDU (`cards`, from [`ImageCards::read`]). Errors: the box is empty or not
/// inside the image, or the file cannot be read.
pub fn read_section(
    path: &Path,
    hdu: usize,
    cards: &ImageCards,
    section: &Section,
) -> Result<SectionData, String> {
    let layouts = check_file(path).map_err(|e| e.to_string())?;
    let layout = layouts.get(hdu).ok_or("no such HDU")?;
    read_section_at(path, layout, cards, section)
}

/// [`read_section`] of the HDU at `layout` (from [`check_file`] of the same file, which a
/// caller that keeps it need not run again).
pub fn read_section_at(
    path: &Path,
    layout: &crate::integrity::HduLayout,
    cards: &ImageCards,
    section: &Section,
) -> Result<SectionData, String> {
    let hdu = layout.index;
    let naxis = &cards.naxis;
    if naxis.is_empty() {
        return Err(format!("HDU {hdu} holds no image (NAXIS = 0)"));
    }
    if section.start.len() != section.len.len() || section.start.len() > naxis.len() {
        return Err(format!(
            "the box has {} axes, the image {}",
            section.start.len(),
            naxis.len()
        ));
    }
    let mut start = section.start.clone();
    let mut shape = section.len.clone();
    for &n in &naxis[start.len()..] {
        start.push(0);
        shape.push(n);
    }
    for (j, ((&s, &l), &n)) in start.iter().zip(&shape).zip(naxis).enumerate() {
        if l == 0 || s.checked_add(l).is_none_or(|e| e > n) {
            return Err(format!(
                "axis {}: pixels {}..{} are not inside 1..{n}",
                j + 1,
                s.saturating_add(1),
                s.saturating_add(l)
            ));
        }
    }
    let bpp = (cards.bitpix.unsigned_abs() / 8) as u64;
    let count: u64 = shape.iter().product();
    let size = count
        .checked_mul(bpp)
        .filter(|&b| b <= 1 << 34)
        .ok_or("the box is larger than 16 GiB")?;
    let mut file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut magic = [0u8; 2];
    let gzip = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let plain = !gzip && layout.xtension.as_deref() != Some("BINTABLE");
    let bytes = if plain {
        read_plain(
            &mut file,
            layout.data_start,
            naxis,
            &start,
            &shape,
            bpp,
            size,
        )?
    } else {
        read_through_cfitsio(path, hdu, cards, &start, &shape)?
    };
    Ok(SectionData {
        bitpix: cards.bitpix,
        shape,
        bytes,
    })
}

/// The box of a plain image: one positioned read per row along axis 1, rows that lie end
/// to end in the file (a box as wide as the image) read together.
fn read_plain(
    file: &mut std::fs::File,
    data_start: u64,
    naxis: &[u64],
    start: &[u64],
    shape: &[u64],
    bpp: u64,
    size: u64,
) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::FileExt;
    let mut out = vec![0u8; size as usize];
    let row = (shape[0] * bpp) as usize;
    let rows = out.len() / row.max(1);
    // The run of rows being gathered: (its offset in the file, its first byte in `out`, its
    // length).
    let mut run: Option<(u64, usize, usize)> = None;
    let read = |out: &mut [u8], (offset, at, len): (u64, usize, usize)| {
        file.read_exact_at(&mut out[at..at + len], offset)
            .map_err(|e| format!("read: {e}"))
    };
    for r in 0..rows {
        // The row's coordinates on axes 2.. (r counts them with axis 2 fastest).
        let mut index = start[0];
        let mut stride = naxis[0];
        let mut rest = r as u64;
        for j in 1..naxis.len() {
            let c = start[j] + rest % shape[j];
            rest /= shape[j];
            index += c * stride;
            stride *= naxis[j];
        }
        let offset = data_start + index * bpp;
        run = match run {
            Some((o, at, len)) if o + len as u64 == offset => Some((o, at, len + row)),
            Some(done) => {
                read(&mut out, done)?;
                Some((offset, r * row, row))
            }
            None => Some((offset, r * row, row)),
        };
    }
    if let Some(done) = run {
        read(&mut out, done)?;
    }
    Ok(out)
}

/// The box through CFITSIO, back to stored values.
fn read_through_cfitsio(
    path: &Path,
    hdu: usize,
    cards: &ImageCards,
    start: &[u64],
    shape: &[u64],
) -> Result<Vec<u8>, String> {
    let mut f =
        fitsio::FitsFile::open(path).map_err(|e| format!("cannot open as FITS: {}", cfitsio(e)))?;
    let h = f
        .hdu(hdu)
        .map_err(|e| format!("HDU {hdu}: {}", cfitsio(e)))?;
    let ranges: Vec<std::ops::Range<usize>> = start
        .iter()
        .zip(shape)
        .map(|(&s, &l)| s as usize..(s + l) as usize)
        .collect();
    let refs: Vec<&std::ops::Range<usize>> = ranges.iter().collect();
    let bscale = cards.number("BSCALE").unwrap_or(1.0);
    let bzero = cards.number("BZERO").unwrap_or(0.0);
    let mut out = Vec::new();
    if cards.bitpix == 64 {
        if bscale != 1.0 || bzero != 0.0 {
            return Err(
                "a compressed 64-bit integer image with BSCALE/BZERO is not supported".into(),
            );
        }
        let v: Vec<i64> = h
            .read_region(&mut f, &refs)
            .map_err(|e| format!("cannot read the pixels: {}", cfitsio(e)))?;
        out.extend(v.iter().flat_map(|x| x.to_be_bytes()));
        return Ok(out);
    }
    let v: Vec<f64> = h
        .read_region(&mut f, &refs)
        .map_err(|e| format!("read: {e}"))?;
    let stored = |x: f64| ((x - bzero) / bscale).round();
    match cards.bitpix {
        8 => out.extend(v.iter().map(|&x| stored(x) as u8)),
        16 => out.extend(v.iter().flat_map(|&x| (stored(x) as i16).to_be_bytes())),
        32 => out.extend(v.iter().flat_map(|&x| (stored(x) as i32).to_be_bytes())),
        -32 => out.extend(
            v.iter()
                .flat_map(|&x| (((x - bzero) / bscale) as f32).to_be_bytes()),
        ),
        _ => out.extend(v.iter().flat_map(|&x| ((x - bzero) / bscale).to_be_bytes())),
    }
    Ok(out)
}

/// CFITSIO's message, without the wrapper's debug formatting.
fn cfitsio(e: fitsio::errors::Error) -> String {
    match e {
        fitsio::errors::Error::Fits(f) => format!("{} (CFITSIO status {})", f.message, f.status),
        other => other.to_string(),
    }
}

/// Write one image HDU: `cards` (with NAXISn taken from `data.shape` and BITPIX from
/// `data.bitpix`), the values, and the zero padding to a whole block. `primary`: as the
/// primary HDU (SIMPLE), otherwise as an IMAGE extension. Errors: I/O, or values that do not
/// fill the shape.
pub fn write_image(
    w: &mut impl Write,
    cards: &ImageCards,
    data: &SectionData,
    primary: bool,
) -> std::io::Result<()> {
    let bpp = (data.bitpix.unsigned_abs() / 8) as u64;
    let expected = data.shape.iter().product::<u64>() * bpp;
    if expected != data.bytes.len() as u64 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} bytes of values for a shape of {expected} bytes",
                data.bytes.len()
            ),
        ));
    }
    let header = ImageCards {
        bitpix: data.bitpix,
        naxis: data.shape.clone(),
        cards: cards.cards.clone(),
    };
    w.write_all(&header.header_bytes(primary))?;
    w.write_all(&data.bytes)?;
    let pad = (BLOCK - data.bytes.len() as u64 % BLOCK) % BLOCK;
    w.write_all(&vec![0u8; pad as usize])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3-axis image of 16-bit values v = x + 10 y + 100 z (0-based), with BSCALE, BZERO
    /// and BLANK cards, written by [`write_image`].
    fn cube(path: &Path) -> ImageCards {
        let (n1, n2, n3) = (7u64, 5, 4);
        let card = |s: &str| format!("{s:<80}");
        let cards = ImageCards {
            bitpix: 16,
            naxis: vec![n1, n2, n3],
            cards: vec![
                card("BSCALE  =                  0.5"),
                card("BZERO   =               1000.0"),
                card("BLANK   =                -32768"),
            ],
        };
        let mut bytes = Vec::new();
        for z in 0..n3 {
            for y in 0..n2 {
                for x in 0..n1 {
                    bytes.extend_from_slice(&((x + 10 * y + 100 * z) as i16).to_be_bytes());
                }
            }
        }
        let data = SectionData {
            bitpix: 16,
            shape: vec![n1, n2, n3],
            bytes,
        };
        let mut f = std::fs::File::create(path).expect("create");
        write_image(&mut f, &cards, &data, true).expect("write");
        ImageCards::read(path, 0).expect("read back")
    }

    #[test]
    fn stored_values_become_physical_with_blank_left_out() {
        let bytes: Vec<u8> = [-5i16, 7, 100]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let s = Scaling {
            bscale: 2.0,
            bzero: 10.0,
            blank: Some(7),
        };
        let v = physical_values(&bytes, 16, &s).expect("values");
        assert_eq!(v[0], 0.0);
        assert!(v[1].is_nan());
        assert_eq!(v[2], 210.0);
        assert!(physical_values(&bytes, 12, &s).is_err());
        let f: Vec<u8> = [1.5f32, f32::NAN]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let v = physical_values(&f, -32, &s).expect("floats");
        assert_eq!(v[0], 13.0);
        assert!(v[1].is_nan());
    }

    fn values(d: &SectionData) -> Vec<i16> {
        d.bytes
            .chunks(2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .collect()
    }

    #[test]
    fn boxes_and_spectral_ranges_hold_the_stored_values() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("cube.fits");
        let cards = cube(&p);
        assert_eq!(cards.naxis, vec![7, 5, 4]);
        assert_eq!(cards.number("BSCALE"), Some(0.5));
        // A 3 x 2 box on every plane.
        let d = read_section(
            &p,
            0,
            &cards,
            &Section {
                start: vec![2, 1],
                len: vec![3, 2],
            },
        )
        .expect("box");
        assert_eq!(d.shape, vec![3, 2, 4]);
        let want: Vec<i16> = (0..4)
            .flat_map(|z| (1..3).flat_map(move |y| (2..5).map(move |x| x + 10 * y + 100 * z)))
            .collect();
        assert_eq!(values(&d), want);
        // Planes 2 and 3 (a spectral range), whole in x and y.
        let d = read_section(
            &p,
            0,
            &cards,
            &Section {
                start: vec![0, 0, 1],
                len: vec![7, 5, 2],
            },
        )
        .expect("planes");
        let want: Vec<i16> = (1..3)
            .flat_map(|z| (0..5).flat_map(move |y| (0..7).map(move |x| x + 10 * y + 100 * z)))
            .collect();
        assert_eq!(values(&d), want);
        // One pixel.
        let d = read_section(
            &p,
            0,
            &cards,
            &Section {
                start: vec![6, 4, 3],
                len: vec![1, 1, 1],
            },
        )
        .expect("pixel");
        assert_eq!(values(&d), vec![6 + 40 + 300]);
    }

    #[test]
    fn boxes_outside_the_image_are_refused_with_the_axis_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("cube.fits");
        let cards = cube(&p);
        for (start, len, says) in [
            (
                vec![5, 0],
                vec![3, 1],
                "axis 1: pixels 6..8 are not inside 1..7",
            ),
            (vec![0, 0], vec![0, 1], "axis 1"),
            (
                vec![0, 4, 0],
                vec![1, 2, 1],
                "axis 2: pixels 5..6 are not inside 1..5",
            ),
            (
                vec![0, 0, 0, 0],
                vec![1, 1, 1, 1],
                "the box has 4 axes, the image 3",
            ),
            (vec![u64::MAX, 0], vec![2, 1], "axis 1"),
        ] {
            let e = read_section(&p, 0, &cards, &Section { start, len }).expect_err(says);
            assert!(e.contains(says), "{e}");
        }
        // An HDU without axes has no box to read.
        let empty = ImageCards {
            bitpix: 8,
            naxis: vec![],
            cards: vec![],
        };
        let e = read_section(
            &p,
            0,
            &empty,
            &Section {
                start: vec![],
                len: vec![],
            },
        )
        .expect_err("no axes");
        assert!(e.contains("holds no image"), "{e}");
        // Values that do not fill the shape are not written.
        let bad = SectionData {
            bitpix: 16,
            shape: vec![2, 2],
            bytes: vec![0; 6],
        };
        assert!(write_image(&mut Vec::new(), &cards, &bad, true).is_err());
    }
}

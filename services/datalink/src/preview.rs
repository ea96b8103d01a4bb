//! Previews of products (DataLink 1.1 `#preview`): a PNG of the first image of a FITS file
//! (the first plane of a cube), at most [`MAX_SIDE`] pixels on its longer side.
//!
//! The image is read in blocks of rows (never whole), binned by an integer factor as a mean
//! of the valid values (BLANK and NaN left out; BSCALE and BZERO applied), cut at the 0.5 and
//! 99.5 percentiles of the binned values and stretched by asinh (`asinh(10 t) / asinh(10)`
//! of the cut value t in [0, 1], which shows faint structure and keeps bright cores). It is
//! grey with transparency where no valid value fell, and north up as the image's rows go:
//! FITS row 1 at the bottom (PNG rows run top-down). Written with the `image` crate; cached
//! on disk by [`PreviewCache`].

use std::io::Cursor;
use std::path::{Path, PathBuf};
use vo_fits::{read_section_at, ImageCards, Section};

/// The longest side of a preview, pixels.
pub const MAX_SIDE: u64 = 512;

/// How a preview is stretched: `asinh(A t) / asinh(A)`.
const ASINH_A: f64 = 10.0;

/// The bytes of values read at once (whole rows, a multiple of the binning factor).
const BLOCK_BYTES: u64 = 4 << 20;

/// The PNG preview of the file at `path`. Errors: the file is incomplete or unreadable, or
/// holds no image of at least two axes.
pub fn render(path: &Path) -> Result<Vec<u8>, String> {
    let layouts = vo_fits::check_file(path).map_err(|e| e.to_string())?;
    let (layout, cards) = layouts
        .iter()
        .filter_map(|l| ImageCards::read_at(path, l).ok().map(|c| (l, c)))
        .find(|(_, c)| c.naxis.len() >= 2 && c.naxis.iter().all(|&n| n > 0))
        .ok_or("the file holds no image of two or more axes")?;
    let (n1, n2) = (cards.naxis[0], cards.naxis[1]);
    let factor = n1.max(n2).div_ceil(MAX_SIDE).max(1);
    let (w, h) = (n1.div_ceil(factor), n2.div_ceil(factor));
    let scaling = cards.scaling();
    let bpp = u64::from(cards.bitpix.unsigned_abs() / 8);
    // Whole output rows (factor input rows each) per read.
    let rows_per_read = ((BLOCK_BYTES / (n1 * bpp).max(1)) / factor).max(1) * factor;
    // Sums and counts of the valid values falling in each output pixel.
    let mut sums = vec![0.0f64; (w * h) as usize];
    let mut counts = vec![0u32; (w * h) as usize];
    let mut y = 0;
    while y < n2 {
        let k = rows_per_read.min(n2 - y);
        let mut start = vec![0, y];
        let mut len = vec![n1, k];
        start.resize(cards.naxis.len(), 0);
        len.resize(cards.naxis.len(), 1);
        let data = read_section_at(path, layout, &cards, &Section { start, len })?;
        let values = vo_fits::physical_values(&data.bytes, cards.bitpix, &scaling)?;
        for (r, row) in values.chunks(n1 as usize).enumerate() {
            let at = ((y + r as u64) / factor * w) as usize;
            for (x, v) in row.iter().enumerate() {
                if v.is_finite() {
                    sums[at + x / factor as usize] += v;
                    counts[at + x / factor as usize] += 1;
                }
            }
        }
        y += k;
    }
    let binned: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(&s, &c)| if c > 0 { s / f64::from(c) } else { f64::NAN })
        .collect();
    png(&binned, w as u32, h as u32)
}

/// The `p` quantile (0..1) of sorted `v` (nearest rank).
fn quantile(v: &[f64], p: f64) -> f64 {
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// The grey-and-alpha PNG of `values` (`w` x `h`, FITS row order: row 0 at the bottom).
fn png(values: &[f64], w: u32, h: u32) -> Result<Vec<u8>, String> {
    let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    finite.sort_by(f64::total_cmp);
    let (lo, hi) = if finite.is_empty() {
        (0.0, 1.0)
    } else {
        let (lo, hi) = (quantile(&finite, 0.005), quantile(&finite, 0.995));
        if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, lo + 0.5) // a flat image: mid-grey
        }
    };
    let norm = ASINH_A.asinh();
    let mut pixels = Vec::with_capacity((w * h * 2) as usize);
    for out_row in 0..h {
        let fits_row = (h - 1 - out_row) as usize;
        for x in 0..w as usize {
            let v = values[fits_row * w as usize + x];
            if v.is_finite() {
                let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
                let grey = ((ASINH_A * t).asinh() / norm * 255.0).round() as u8;
                pixels.extend_from_slice(&[grey, 255]);
            } else {
                pixels.extend_from_slice(&[0, 0]);
            }
        }
    }
    let img = image::GrayAlphaImage::from_raw(w, h, pixels).ok_or("preview buffer size")?;
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| format!("PNG: {e}"))?;
    Ok(out.into_inner())
}

/// Previews kept on disk, one file per product version: the name carries a hash of the
/// product's path, length and modification time, so a changed file gets a new preview.
#[derive(Debug, Clone)]
pub struct PreviewCache {
    /// The folder of the cached PNGs (created when first needed).
    pub dir: PathBuf,
}

impl PreviewCache {
    /// The preview of the product file `path`: from the cache, or rendered and kept.
    /// Errors: as [`render`], or the cache folder cannot be written.
    pub fn get(&self, path: &Path) -> Result<Vec<u8>, String> {
        use std::hash::{Hash, Hasher};
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (path, meta.len(), meta.modified().ok()).hash(&mut hasher);
        let file = self.dir.join(format!("{:016x}.png", hasher.finish()));
        if let Ok(png) = std::fs::read(&file) {
            return Ok(png);
        }
        let png = render(path)?;
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        // Written aside, then renamed: a reader never sees half a file.
        let partial = file.with_extension(format!("{}.part", std::process::id()));
        std::fs::write(&partial, &png)
            .and_then(|()| std::fs::rename(&partial, &file))
            .map_err(|e| format!("cannot keep the preview: {e}"))?;
        Ok(png)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vo_fits::{write_image, SectionData};

    /// A `n1` x `n2` float32 image whose value is its row (0-based, FITS order), with NaN
    /// in the 10 x 10 pixels of its first rows and columns, and a BLANK-free header.
    fn rows_image(path: &Path, n1: u64, n2: u64) {
        let cards = ImageCards {
            bitpix: -32,
            naxis: vec![n1, n2],
            cards: vec![],
        };
        let mut bytes = Vec::new();
        for y in 0..n2 {
            for x in 0..n1 {
                let v = if x < 10 && y < 10 { f32::NAN } else { y as f32 };
                bytes.extend_from_slice(&v.to_be_bytes());
            }
        }
        let data = SectionData {
            bitpix: -32,
            shape: vec![n1, n2],
            bytes,
        };
        write_image(
            &mut std::fs::File::create(path).expect("create"),
            &cards,
            &data,
            true,
        )
        .expect("write");
    }

    fn decode(png: &[u8]) -> image::GrayAlphaImage {
        image::load_from_memory_with_format(png, image::ImageFormat::Png)
            .expect("a PNG")
            .to_luma_alpha8()
    }

    #[test]
    fn previews_are_north_up_with_blanks_transparent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("rows.fits");
        rows_image(&p, 300, 200);
        let img = decode(&render(&p).expect("preview"));
        assert_eq!(img.dimensions(), (300, 200));
        // FITS row 200 (the largest value) is the PNG's top row, row 1 its bottom.
        let grey = |x: u32, y: u32| img.get_pixel(x, y).0;
        assert_eq!(grey(150, 0), [255, 255]);
        assert_eq!(grey(150, 199), [0, 255]);
        // Brighter upwards, all the way.
        for y in 1..200 {
            assert!(grey(150, y)[0] <= grey(150, y - 1)[0], "row {y}");
        }
        // The NaN corner (FITS rows and columns 1..10) is transparent, its neighbours not.
        assert_eq!(grey(5, 195)[1], 0);
        assert_eq!(grey(15, 195)[1], 255);
    }

    #[test]
    fn large_images_are_binned_to_the_longest_side_keeping_their_shape() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("wide.fits");
        rows_image(&p, 1200, 600);
        let img = decode(&render(&p).expect("preview"));
        // A factor of 3: 400 x 200.
        assert_eq!(img.dimensions(), (400, 200));
        // A bin of the NaN corner that also holds valid values is not transparent.
        assert_eq!(img.get_pixel(3, 199).0[1], 255);
        assert_eq!(img.get_pixel(2, 199).0[1], 0);
    }

    #[test]
    fn the_cache_renders_once_and_again_for_a_changed_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("rows.fits");
        rows_image(&p, 40, 30);
        let cache = PreviewCache {
            dir: dir.path().join("previews"),
        };
        let first = cache.get(&p).expect("preview");
        assert_eq!(std::fs::read_dir(&cache.dir).expect("dir").count(), 1);
        assert_eq!(cache.get(&p).expect("cached"), first);
        rows_image(&p, 60, 30);
        let again = cache.get(&p).expect("preview");
        assert_eq!(decode(&again).dimensions(), (60, 30));
        assert_eq!(std::fs::read_dir(&cache.dir).expect("dir").count(), 2);
        let missing = cache.get(&dir.path().join("no.fits")).expect_err("no file");
        assert!(missing.starts_with("cannot read"), "{missing}");
    }
}

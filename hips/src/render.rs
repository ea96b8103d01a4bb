//! PNG and JPEG tiles (HiPS 1.0 §4.2.2): 8-bit grey images of the FITS tiles through a
//! pixel cut, rows top-down (the first row of the image is the FITS tile's last), PNG with
//! an alpha channel that is transparent where there is no data, JPEG black there.

use std::io::Cursor;

/// The tile formats of a HiPS (`hips_tile_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TileFormat {
    /// FITS, the values themselves (always made: the other formats are drawn from them).
    Fits,
    /// PNG, 8-bit grey and alpha.
    Png,
    /// JPEG, 8-bit grey.
    Jpeg,
}

impl TileFormat {
    /// The file extension and `hips_tile_format` word: `fits`, `png`, `jpeg` (files
    /// `.jpg`, as Hipsgen names them).
    pub fn name(&self) -> &'static str {
        match self {
            TileFormat::Fits => "fits",
            TileFormat::Png => "png",
            TileFormat::Jpeg => "jpeg",
        }
    }

    /// The tile file extension.
    pub fn extension(&self) -> &'static str {
        match self {
            TileFormat::Fits => "fits",
            TileFormat::Png => "png",
            TileFormat::Jpeg => "jpg",
        }
    }

    /// The formats of a comma-separated list (`fits,png,jpeg`; `jpg` is `jpeg`), FITS always
    /// among them, sorted, each once. Errors: an unknown or empty name.
    pub fn parse_list(s: &str) -> Result<Vec<TileFormat>, String> {
        let mut out = vec![TileFormat::Fits];
        for word in s.split(',').map(str::trim) {
            out.push(match word.to_ascii_lowercase().as_str() {
                "fits" => TileFormat::Fits,
                "png" => TileFormat::Png,
                "jpeg" | "jpg" => TileFormat::Jpeg,
                _ => {
                    return Err(format!(
                        "tile format {word:?}: the formats are fits, png and jpeg"
                    ))
                }
            });
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// How values become grey levels after the cut: `t` in [0, 1] to [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stretch {
    /// t.
    Linear,
    /// ln(1 + 1000 t) / ln(1001) (DS9's log with a = 1000).
    Log,
    /// √t.
    Sqrt,
    /// asinh(10 t) / asinh(10).
    Asinh,
}

impl Stretch {
    /// The name, as `--pixel-cut` takes it.
    pub fn name(&self) -> &'static str {
        match self {
            Stretch::Linear => "linear",
            Stretch::Log => "log",
            Stretch::Sqrt => "sqrt",
            Stretch::Asinh => "asinh",
        }
    }

    fn apply(&self, t: f64) -> f64 {
        match self {
            Stretch::Linear => t,
            Stretch::Log => (1.0 + 1000.0 * t).ln() / 1001f64.ln(),
            Stretch::Sqrt => t.sqrt(),
            Stretch::Asinh => (10.0 * t).asinh() / 10f64.asinh(),
        }
    }
}

/// The values shown from black to white, and the stretch between (`hips_pixel_cut`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PixelCut {
    /// The value drawn black.
    pub min: f64,
    /// The value drawn white.
    pub max: f64,
    /// The stretch between.
    pub stretch: Stretch,
}

impl PixelCut {
    /// `"min max [linear|log|sqrt|asinh]"` (linear when left out). Errors: not two finite
    /// numbers with min < max, or an unknown stretch; the message quotes the text.
    pub fn parse(s: &str) -> Result<PixelCut, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let bad = || {
            format!(
                "pixel cut {s:?}: it must be \"min max [linear|log|sqrt|asinh]\" with min < max"
            )
        };
        if !(2..=3).contains(&words.len()) {
            return Err(bad());
        }
        let num = |w: &str| w.parse::<f64>().ok().filter(|v| v.is_finite());
        let (Some(min), Some(max)) = (num(words[0]), num(words[1])) else {
            return Err(bad());
        };
        if min >= max {
            return Err(bad());
        }
        let stretch = match words.get(2).map(|w| w.to_ascii_lowercase()) {
            None => Stretch::Linear,
            Some(w) => match w.as_str() {
                "linear" => Stretch::Linear,
                "log" => Stretch::Log,
                "sqrt" => Stretch::Sqrt,
                "asinh" => Stretch::Asinh,
                _ => return Err(bad()),
            },
        };
        Ok(PixelCut { min, max, stretch })
    }

    /// The grey level (0 black to 255 white) of value `v`; `None` where there is no data
    /// (NaN).
    pub fn grey(&self, v: f32) -> Option<u8> {
        if v.is_nan() {
            return None;
        }
        let t = ((f64::from(v) - self.min) / (self.max - self.min)).clamp(0.0, 1.0);
        Some((self.stretch.apply(t) * 255.0).round() as u8)
    }
}

/// The encoded image (`format` PNG or JPEG) of `values`, `width` × `height` in FITS order
/// (row 0 at the bottom), through `cut`: rows top-down, as image files hold them. Errors:
/// the encoder's, or FITS asked for.
pub fn encode(
    values: &[f32],
    width: usize,
    height: usize,
    cut: &PixelCut,
    format: TileFormat,
) -> Result<Vec<u8>, String> {
    if values.len() != width * height {
        return Err(format!(
            "{} values for a {width} × {height} image",
            values.len()
        ));
    }
    let (w, h) = (width as u32, height as u32);
    let rows = || {
        (0..height)
            .rev()
            .map(|y| &values[y * width..(y + 1) * width])
    };
    let mut out = Cursor::new(Vec::new());
    match format {
        TileFormat::Png => {
            let mut px = Vec::with_capacity(width * height * 2);
            for row in rows() {
                for &v in row {
                    match cut.grey(v) {
                        Some(g) => px.extend_from_slice(&[g, 255]),
                        None => px.extend_from_slice(&[0, 0]),
                    }
                }
            }
            let img = image::GrayAlphaImage::from_raw(w, h, px).ok_or("PNG: wrong size")?;
            img.write_to(&mut out, image::ImageFormat::Png)
                .map_err(|e| format!("PNG: {e}"))?;
        }
        TileFormat::Jpeg => {
            let px: Vec<u8> = rows()
                .flat_map(|row| row.iter().map(|&v| cut.grey(v).unwrap_or(0)))
                .collect();
            let img = image::GrayImage::from_raw(w, h, px).ok_or("JPEG: wrong size")?;
            let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
            enc.encode_image(&img).map_err(|e| format!("JPEG: {e}"))?;
        }
        TileFormat::Fits => return Err("FITS tiles are not drawn".into()),
    }
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_parse_and_map_to_grey() {
        let c = PixelCut::parse("100 300").expect("cut");
        assert_eq!(c.stretch, Stretch::Linear);
        assert_eq!(c.grey(100.0), Some(0));
        assert_eq!(c.grey(200.0), Some(128));
        assert_eq!(c.grey(1e9), Some(255));
        assert_eq!(c.grey(f32::NAN), None);
        let s = PixelCut::parse("0 1 sqrt").expect("sqrt");
        assert_eq!(s.grey(0.25), Some(128));
        let l = PixelCut::parse("0 1 log").expect("log");
        assert_eq!(l.grey(1.0), Some(255));
        for bad in ["1", "3 1", "0 x", "0 1 cubic", "0 NaN", "0 1 linear extra"] {
            let e = PixelCut::parse(bad).expect_err(bad);
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn formats_always_hold_fits() {
        assert_eq!(
            TileFormat::parse_list("png,jpg").expect("list"),
            vec![TileFormat::Fits, TileFormat::Png, TileFormat::Jpeg]
        );
        assert!(TileFormat::parse_list("png,gif")
            .expect_err("gif")
            .contains("gif"));
    }

    #[test]
    fn png_rows_are_top_down_and_blanks_transparent() {
        // 2 x 2, FITS order: bottom row (0, NaN), top row (1, 1).
        let v = [0.0, f32::NAN, 1.0, 1.0];
        let cut = PixelCut::parse("0 1").expect("cut");
        let bytes = encode(&v, 2, 2, &cut, TileFormat::Png).expect("png");
        let img = image::load_from_memory(&bytes)
            .expect("decode")
            .to_luma_alpha8();
        assert_eq!(img.get_pixel(0, 0).0, [255, 255]);
        assert_eq!(img.get_pixel(0, 1).0, [0, 255]);
        assert_eq!(img.get_pixel(1, 1).0[1], 0);
        let jpg = encode(&v, 2, 2, &cut, TileFormat::Jpeg).expect("jpeg");
        assert!(encode(&v, 3, 2, &cut, TileFormat::Png).is_err());
        assert_eq!(&jpg[..2], &[0xff, 0xd8]);
    }
}

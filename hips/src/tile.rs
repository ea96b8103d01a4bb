//! Where a HiPS tile lies on the sky and on disk (HiPS 1.0, IVOA REC 2017-05-19, §4).
//!
//! A tile of order `k` and index `ipix` is the HEALPix NESTED cell `ipix` at depth `k`; its
//! `width` × `width` pixels (width = 2^w) are the cells of depth `k + w` inside it. Pixel
//! (x, y) of a FITS tile (x the column from 0, y the row from 0 counted from the *bottom*,
//! the FITS order) is the cell `ipix · width² + s` where the sub-index `s` interleaves the
//! bits of `width - 1 - y` (the even bits) with those of `x` (the odd bits): the z-order of
//! HEALPix's NESTED scheme (Górski et al. 2005, ApJ 622, 759) with the cell's south-to-east
//! axis running down the tile's rows. This is the order Hipsgen writes and Aladin reads,
//! checked against Hipsgen's tiles (see the crate's tests).

use std::path::{Path, PathBuf};

/// The pixel grid of a tile: its width is a power of two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileLayout {
    /// log2 of the width in pixels.
    width_log2: u8,
}

/// Spread the low 32 bits of `v` to the even bit positions of a u64.
fn spread(v: u64) -> u64 {
    let mut v = v & 0xffff_ffff;
    v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
    v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
    v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    v = (v | (v << 2)) & 0x3333_3333_3333_3333;
    (v | (v << 1)) & 0x5555_5555_5555_5555
}

/// The even bits of `v`, packed (the inverse of [`spread`]).
fn pack(v: u64) -> u64 {
    let mut v = v & 0x5555_5555_5555_5555;
    v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
    v = (v | (v >> 2)) & 0x0f0f_0f0f_0f0f_0f0f;
    v = (v | (v >> 4)) & 0x00ff_00ff_00ff_00ff;
    v = (v | (v >> 8)) & 0x0000_ffff_0000_ffff;
    (v | (v >> 16)) & 0x0000_0000_ffff_ffff
}

/// The deepest HEALPix depth cdshealpix handles.
pub const MAX_DEPTH: u8 = 29;

impl TileLayout {
    /// The layout of tiles `width` pixels wide. Errors: `width` is not a power of two
    /// between 8 and 4096 (HiPS 1.0 §4.2 asks for a power of two; Hipsgen's range).
    pub fn new(width: u32) -> Result<TileLayout, String> {
        if !(8..=4096).contains(&width) || !width.is_power_of_two() {
            return Err(format!(
                "tile width {width}: it must be a power of two from 8 to 4096 (512 is usual)"
            ));
        }
        Ok(TileLayout {
            width_log2: width.trailing_zeros() as u8,
        })
    }

    /// The width (and height) in pixels.
    pub fn width(&self) -> usize {
        1 << self.width_log2
    }

    /// log2 of the width: the depth a tile's pixels lie below the tile's order.
    pub fn width_log2(&self) -> u8 {
        self.width_log2
    }

    /// The HEALPix depth of the pixels of a tile of order `order`.
    pub fn pixel_depth(&self, order: u8) -> u8 {
        order + self.width_log2
    }

    /// The deepest tile order whose pixels cdshealpix can index.
    pub fn max_order(&self) -> u8 {
        MAX_DEPTH - self.width_log2
    }

    /// The sub-index (0 ..width²) of FITS tile pixel (`x`, `y`), both 0-based, `y` from
    /// the bottom row.
    pub fn sub_index(&self, x: usize, y: usize) -> u64 {
        let n = self.width() as u64;
        spread(n - 1 - y as u64) | (spread(x as u64) << 1)
    }

    /// The FITS tile pixel (x, y) of sub-index `sub` (the inverse of [`Self::sub_index`]).
    pub fn xy(&self, sub: u64) -> (usize, usize) {
        let n = self.width() as u64;
        let x = pack(sub >> 1);
        let y = n - 1 - pack(sub);
        (x as usize, y as usize)
    }

    /// The HEALPix cell (at [`Self::pixel_depth`]) of pixel (`x`, `y`) of tile `ipix`.
    pub fn cell(&self, ipix: u64, x: usize, y: usize) -> u64 {
        (ipix << (2 * self.width_log2)) | self.sub_index(x, y)
    }

    /// Where child `q` (0..4: the tile `4 ipix + q` of the next order) lies in its parent
    /// `ipix`: the (x, y) of its first pixel in the parent's grid, when both are reduced to
    /// half the width. The children's order is the sub-index order: `q`'s bit 0 is the
    /// parent's top-level even bit (rows from the top), bit 1 its odd bit (columns).
    pub fn child_origin(&self, q: u64) -> (usize, usize) {
        let half = self.width() / 2;
        let x = (q >> 1 & 1) as usize * half;
        let y = (1 - (q & 1)) as usize * half;
        (x, y)
    }
}

/// The file of tile `ipix` of order `order` under the HiPS root `root`, with extension
/// `ext` (`fits`, `png`): `Norder{order}/Dir{D}/Npix{ipix}.{ext}` with D = 10000 ×
/// ⌊ipix / 10000⌋ (HiPS 1.0 §4.3).
pub fn tile_path(root: &Path, order: u8, ipix: u64, ext: &str) -> PathBuf {
    root.join(format!("Norder{order}"))
        .join(format!("Dir{}", ipix / 10_000 * 10_000))
        .join(format!("Npix{ipix}.{ext}"))
}

/// The centre, in the HEALPix projection plane (HPX, H = 4, K = 3; Calabretta & Roukema
/// 2007, MNRAS 381, 865), of base cell `face` (0..12), degrees: (x, y), x in [-180, 180).
fn face_centre(face: u64) -> (f64, f64) {
    let (lon, y) = match face {
        0..=3 => (45.0 + 90.0 * face as f64, 45.0),
        4..=7 => (90.0 * (face - 4) as f64, 0.0),
        _ => (45.0 + 90.0 * (face - 8) as f64, -45.0),
    };
    let x = if lon >= 180.0 { lon - 360.0 } else { lon };
    (x, y)
}

/// The celestial WCS cards of a FITS tile: the HPX projection (FITS WCS Paper II §6.4,
/// CTYPE `RA---HPX`/`DEC--HPX`, or `GLON-HPX`/`GLAT-HPX` for `galactic`), PV2_1 = 4,
/// PV2_2 = 3, CRVAL 0 0, and a CD matrix rotated by 45° so that every pixel centre's world
/// position is its HEALPix cell centre, as Hipsgen writes them. Each card is 80 characters.
pub fn hpx_wcs_cards(layout: &TileLayout, order: u8, ipix: u64, galactic: bool) -> Vec<String> {
    let depth = layout.pixel_depth(order);
    let nside = (1u64 << depth) as f64;
    let n = layout.width() as f64;
    let face = ipix >> (2 * order);
    let within = ipix & ((1u64 << (2 * order)) - 1);
    // The tile's (i, j) in its base cell: i the even bits (south to east), j the odd ones.
    let (ti, tj) = (pack(within) as f64, pack(within >> 1) as f64);
    let s = 45.0 / nside;
    let (xc, yc) = face_centre(face);
    // World (x, y) = CD (p - CRPIX) with CD = s [[-1, -1], [1, -1]] reaches the cell centre
    // x = xc + 45 (u - v), y = yc - 45 + 45 (u + v), u = (i + 1/2) / nside, v likewise.
    let sum = xc / s + (ti - tj) * n + n + 1.0;
    let diff = -(yc - 45.0) / s - (ti + tj) * n - n;
    let crpix1 = (sum + diff) / 2.0;
    let crpix2 = (sum - diff) / 2.0;
    let (c1, c2) = if galactic {
        ("GLON-HPX", "GLAT-HPX")
    } else {
        ("RA---HPX", "DEC--HPX")
    };
    let text = |k: &str, v: &str| format!("{k:<8}= {:<70}", format!("'{v}'"));
    let num = |k: &str, v: f64| vo_fits::cards::number_card(k, v, None);
    vec![
        text("CTYPE1", c1),
        text("CTYPE2", c2),
        num("CRPIX1", crpix1),
        num("CRPIX2", crpix2),
        num("CRVAL1", 0.0),
        num("CRVAL2", 0.0),
        num("CD1_1", -s),
        num("CD1_2", -s),
        num("CD2_1", s),
        num("CD2_2", -s),
        num("PV2_1", 4.0),
        num("PV2_2", 3.0),
    ]
}

/// The unit vectors (in the HEALPix frame) of the cell centres of every pixel of tile `ipix`
/// of order `order`, in FITS order (row y = 0, the bottom one, first). Computed from the
/// HEALPix projection plane (Górski et al. 2005 §4; Calabretta & Roukema 2007 eq. 5-12)
/// directly as vectors: one sine and cosine per pixel, no arcsine, and the same centres as
/// cdshealpix's `center` to 1e-15 rad.
pub fn cell_centres(layout: &TileLayout, order: u8, ipix: u64) -> Vec<[f64; 3]> {
    let n = layout.width();
    let nside = (1u64 << layout.pixel_depth(order)) as f64;
    let face = ipix >> (2 * order);
    let within = ipix & ((1u64 << (2 * order)) - 1);
    let (ti, tj) = (pack(within) as f64, pack(within >> 1) as f64);
    // The face's centre in projection units: x in π/4, y in [-2, 2] (poles at ±2).
    let (xc, yc) = match face {
        0..=3 => (2.0 * face as f64 + 1.0, 1.0),
        4..=7 => (2.0 * (face - 4) as f64, 0.0),
        _ => (2.0 * (face - 8) as f64 + 1.0, -1.0),
    };
    let mut out = Vec::with_capacity(n * n);
    for y in 0..n {
        // i runs south to east, j south to west; pixel (x, y) is i = ti n + (n - 1 - y),
        // j = tj n + x (the sub-index order).
        let u = (ti * n as f64 + (n - 1 - y) as f64 + 0.5) / nside;
        for x in 0..n {
            let v = (tj * n as f64 + x as f64 + 0.5) / nside;
            let px = xc + (u - v);
            let py = yc - 1.0 + (u + v);
            out.push(deproject(px, py, xc));
        }
    }
    out
}

/// The unit vector of HEALPix projection-plane point (`x` in units of π/4, `y` in [-2, 2])
/// of the base cell whose centre column is `column`.
fn deproject(x: f64, y: f64, column: f64) -> [f64; 3] {
    let (z, r, phi) = if y.abs() <= 1.0 {
        // Equatorial zone: cylindrical equal-area.
        let z = 2.0 * y / 3.0;
        (z, ((1.0 - z) * (1.0 + z)).sqrt(), x)
    } else {
        // Polar caps: Collignon; 1 - |z| = σ²/3 with σ = 2 - |y|.
        let sigma = 2.0 - y.abs();
        let one_minus = sigma * sigma / 3.0;
        let z = (1.0 - one_minus).copysign(y);
        let r = (one_minus * (2.0 - one_minus)).sqrt();
        (z, r, column + (x - column) / sigma)
    };
    let (s, c) = (phi * std::f64::consts::FRAC_PI_4).sin_cos();
    [r * c, r * s, z]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_index_is_a_bijection_with_the_corners_hipsgen_puts_there() {
        let l = TileLayout::new(8).expect("layout");
        let mut seen = [false; 64];
        for y in 0..8 {
            for x in 0..8 {
                let s = l.sub_index(x, y);
                assert!(!seen[s as usize]);
                seen[s as usize] = true;
                assert_eq!(l.xy(s), (x, y));
            }
        }
        // The cell's south vertex (sub-index 0) is at the top-left pixel, its north vertex
        // (all bits set) at the bottom-right, east (even bits) at bottom-left.
        assert_eq!(l.sub_index(0, 7), 0);
        assert_eq!(l.sub_index(7, 0), 63);
        assert_eq!(l.sub_index(0, 0), 0b010101);
        assert_eq!(l.sub_index(7, 7), 0b101010);
    }

    #[test]
    fn a_child_is_the_quadrant_whose_pixels_share_its_leading_bits() {
        let l = TileLayout::new(16).expect("layout");
        let parent_depth_bits = 2 * 4;
        for q in 0..4u64 {
            let (x0, y0) = l.child_origin(q);
            for y in 0..8 {
                for x in 0..8 {
                    // Parent pixel (x0 + x, y0 + y) lies in child q.
                    let s = l.sub_index(x0 + x, y0 + y);
                    assert_eq!(s >> (parent_depth_bits - 2), q, "q {q} x {x} y {y}");
                }
            }
        }
    }

    #[test]
    fn cell_centres_are_cdshealpixs() {
        let l = TileLayout::new(16).expect("layout");
        // Tiles in every kind of base cell, at orders 0, 1, 3 and 9: north polar, equatorial,
        // south polar, and ones holding the pole and the transition latitude.
        for (order, ipix) in [
            (0u8, 0u64),
            (0, 3),
            (0, 4),
            (0, 6),
            (0, 11),
            (1, 3),
            (1, 17),
            (3, 63),
            (3, 500),
            (9, 3_000_000),
        ] {
            let depth = l.pixel_depth(order);
            let layer = cdshealpix::nested::get(depth);
            let centres = cell_centres(&l, order, ipix);
            for y in 0..16 {
                for x in 0..16 {
                    let (lon, lat) = layer.center(l.cell(ipix, x, y));
                    let want = [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()];
                    let got = centres[y * 16 + x];
                    let d = (0..3).map(|k| (got[k] - want[k]).abs()).fold(0.0, f64::max);
                    assert!(d < 1e-14, "order {order} tile {ipix} ({x}, {y}): {d:e}");
                }
            }
        }
    }

    #[test]
    fn bad_widths_are_refused() {
        for w in [0, 7, 100, 8192] {
            let e = TileLayout::new(w).expect_err("refused");
            assert!(e.contains(&w.to_string()), "{e}");
        }
        assert_eq!(TileLayout::new(512).expect("512").max_order(), 20);
    }

    #[test]
    fn tile_paths_group_by_ten_thousand() {
        let p = tile_path(Path::new("/h"), 7, 115_311, "fits");
        assert_eq!(p, Path::new("/h/Norder7/Dir110000/Npix115311.fits"));
        assert_eq!(
            tile_path(Path::new("h"), 3, 450, "png"),
            Path::new("h/Norder3/Dir0/Npix450.png")
        );
    }

    #[test]
    fn the_hpx_reference_pixel_is_hipsgens() {
        // Hipsgen 12.001 wrote CRPIX1 = -44543.5, CRPIX2 = -92159.5 for tile 7/115311.
        let l = TileLayout::new(512).expect("layout");
        let cards = hpx_wcs_cards(&l, 7, 115_311, false);
        let get = |k: &str| {
            cards
                .iter()
                .find(|c| vo_fits::cards::keyword(c) == k)
                .and_then(|c| vo_fits::cards::value(c))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .expect(k)
        };
        assert_eq!(get("CRPIX1"), -44543.5);
        assert_eq!(get("CRPIX2"), -92159.5);
        assert_eq!(get("CD1_1"), -45.0 / 65536.0);
        assert!(cards.iter().all(|c| c.len() == 80));
    }
}

//! The cutout of one product for one shape (SODA 1.0 §3.3: "the smallest possible region
//! that contains the requested region"): the pixel box, which HDUs are cut, and the FITS
//! file written.
//!
//! The box of a shape on an image is the bounding box, in pixel coordinates, of the shape's
//! boundary sampled densely (enough points that their box is within 0.05 pixel of the
//! curve's: 32 to 720 on a circle, 4 to 128 per polygon edge, 8 to 256 per range side), its
//! centre, and, unless the whole boundary lies on the image, the points of the image's
//! border that lie inside the shape (so a shape that holds the whole image gives the whole
//! image); each point goes to pixels through vo-fits's sky -> pixel. Points where the projection is undefined are left out. The box
//! takes every pixel such a point falls in, clipped to the image; an empty box is no
//! overlap. Every image HDU of the product is cut by its own WCS; an image HDU without one
//! (a mask without WCS keywords) is cut like the first image with a WCS when it has the same
//! size. The values are the stored ones and the headers vo-fits's cut map
//! ([`vo_fits::ImageCards::cut`]) with a HISTORY card saying what was cut from what.

use std::io::Write;
use std::path::Path;

use std::sync::Arc;
use vo_common::sky::{circle_contains, SkyPoint, Vec3};
use vo_fits::{read_section_at, CelestialWcs, ImageCards, Section};

use crate::params::{Interval, Shape};

/// A box of pixels on the two celestial axes: 0-based offsets and lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelBox {
    /// Offset along NAXIS1 (the box's first column is pixel x0 + 1).
    pub x0: u64,
    /// Offset along NAXIS2.
    pub y0: u64,
    /// Columns.
    pub nx: u64,
    /// Rows.
    pub ny: u64,
}

/// `n` + 1 points (the first repeated at the end) evenly around the circle of `radius`
/// degrees about `centre`, as unit vectors: cos r c + sin r (sin t east + cos t north).
fn ring(centre: SkyPoint, radius: f64, n: usize) -> Vec<Vec3> {
    let c = centre.to_vec();
    let (sa, ca) = centre.ra.to_radians().sin_cos();
    let (sd, cd) = centre.dec.to_radians().sin_cos();
    let (east, north) = ([-sa, ca, 0.0], [-sd * ca, -sd * sa, cd]);
    let (sr, cr) = radius.to_radians().sin_cos();
    (0..=n)
        .map(|i| {
            let (st, ct) = (std::f64::consts::TAU * (i % n) as f64 / n as f64).sin_cos();
            [0, 1, 2].map(|k| cr * c[k] + sr * (st * east[k] + ct * north[k]))
        })
        .collect()
}

/// How many segments a boundary curve of `size` degrees (a circle's radius, half an edge's
/// length) is sampled with at `scale` degrees per pixel, between `least` and `most`: enough
/// that the samples' box is within 0.05 pixel of the curve's (a chord of n segments on a
/// circle of R pixels falls R (pi / n)^2 / 2 short).
fn segments(size: f64, scale: f64, least: usize, most: usize) -> usize {
    let pixels = (size / scale).abs();
    let n = std::f64::consts::PI * (10.0 * pixels).sqrt();
    if n.is_finite() {
        (n.ceil() as usize).clamp(least, most)
    } else {
        most
    }
}

/// The length of `v`.
fn norm(v: Vec3) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

/// `n` points along the great-circle arc from `a` to `b` (a included, b not), as vectors
/// (not of unit length: a direction is all sky -> pixel needs).
fn arc(a: SkyPoint, b: SkyPoint, n: usize) -> impl Iterator<Item = Vec3> {
    let (va, vb) = (a.to_vec(), b.to_vec());
    (0..n).map(move |i| {
        let t = i as f64 / n as f64;
        // Linear interpolation: on the arc, spacing close enough to even.
        [0, 1, 2].map(|k| va[k] * (1.0 - t) + vb[k] * t)
    })
}

/// Whether RA `ra` lies in the range `lo` .. `hi` (across RA = 0 when lo > hi).
fn ra_in(ra: f64, (lo, hi): (f64, f64)) -> bool {
    if hi - lo >= 360.0 {
        return true;
    }
    let ra = ra.rem_euclid(360.0);
    if lo <= hi {
        (lo..=hi).contains(&ra)
    } else {
        ra >= lo || ra <= hi
    }
}

impl Shape {
    /// Whether the shape holds `p`.
    pub fn contains(&self, p: SkyPoint) -> bool {
        match self {
            Shape::Circle { centre, radius } => circle_contains(*centre, *radius, p),
            Shape::Range { ra, dec } => ra_in(p.ra, *ra) && (dec.0..=dec.1).contains(&p.dec),
            Shape::Polygon(v) => vo_common::region::Polygon::new(v)
                .map(|poly| poly.contains(p))
                .unwrap_or(false),
        }
    }

    /// The shape's boundary as polylines of directions (ICRS vectors), sampled for an
    /// image of `scale` degrees per pixel (see [`segments`]), and its centre.
    fn samples(&self, scale: f64) -> (Vec<Vec<Vec3>>, SkyPoint) {
        match self {
            Shape::Circle { centre, radius } => (
                vec![ring(*centre, *radius, segments(*radius, scale, 32, 720))],
                *centre,
            ),
            Shape::Polygon(v) => {
                let mut ring: Vec<Vec3> = (0..v.len())
                    .flat_map(|i| {
                        let (a, b) = (v[i], v[(i + 1) % v.len()]);
                        arc(a, b, segments(a.distance(b) / 2.0, scale, 4, 128))
                    })
                    .collect();
                ring.push(v[0].to_vec());
                let sum = v
                    .iter()
                    .map(|p| p.to_vec())
                    .fold([0.0; 3], |a, b| [a[0] + b[0], a[1] + b[1], a[2] + b[2]]);
                (vec![ring], SkyPoint::from_vec(sum))
            }
            Shape::Range { ra, dec } => {
                let width = if ra.0 <= ra.1 {
                    ra.1 - ra.0
                } else {
                    ra.1 + 360.0 - ra.0
                };
                let n = segments(width.max(dec.1 - dec.0) / 2.0, scale, 8, 256);
                let f = |i: usize| i as f64 / n as f64;
                let r = |i: usize| (ra.0 + f(i) * width).rem_euclid(360.0);
                let d = |i: usize| dec.0 + f(i) * (dec.1 - dec.0);
                let at = |ra: f64, dec: f64| SkyPoint::new(ra, dec).to_vec();
                let lines = vec![
                    (0..=n).map(|i| at(r(i), dec.0)).collect(),
                    (0..=n).map(|i| at(r(i), dec.1)).collect(),
                    (0..=n).map(|i| at(ra.0, d(i))).collect(),
                    (0..=n)
                        .map(|i| at((ra.0 + width).rem_euclid(360.0), d(i)))
                        .collect(),
                ];
                let centre = SkyPoint::new(
                    (ra.0 + width / 2.0).rem_euclid(360.0),
                    (dec.0 + dec.1) / 2.0,
                );
                (lines, centre)
            }
        }
    }
}

/// The part of the segment a-b inside the rectangle `lo`..`hi` (Liang-Barsky), if any.
fn clip(a: (f64, f64), b: (f64, f64), lo: (f64, f64), hi: (f64, f64)) -> Option<[(f64, f64); 2]> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
    for (p, q) in [
        (-dx, a.0 - lo.0),
        (dx, hi.0 - a.0),
        (-dy, a.1 - lo.1),
        (dy, hi.1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
            if t0 > t1 {
                return None;
            }
        }
    }
    Some([
        (a.0 + t0 * dx, a.1 + t0 * dy),
        (a.0 + t1 * dx, a.1 + t1 * dy),
    ])
}

/// The box of `shape` on the image of `wcs`, or `None` when they do not overlap: the pixels
/// of the parts of the boundary's segments that lie on the image (a segment whose ends are
/// far apart in pixels for their distance on the sky crosses a seam of the projection, such
/// as longitude 180 of CAR, and is left out), the centre if it lies on the image, and the
/// image's border where it lies inside the shape.
pub fn pixel_box(wcs: &CelestialWcs, shape: &Shape) -> Option<PixelBox> {
    if wcs.naxis1 < 1 || wcs.naxis2 < 1 {
        return None; // an image of no pixels overlaps nothing
    }
    let (n1, n2) = (wcs.naxis1 as f64, wcs.naxis2 as f64);
    let (lo, hi) = ((0.5, 0.5), (n1 + 0.5, n2 + 0.5));
    let on_image = |(x, y): (f64, f64)| x >= lo.0 && x <= hi.0 && y >= lo.1 && y <= hi.1;
    // Degrees per pixel near the image centre, for the seam test.
    let (cx, cy) = ((n1 + 1.0) / 2.0, (n2 + 1.0) / 2.0);
    let scale = match (wcs.pixel_to_icrs(cx, cy), wcs.pixel_to_icrs(cx + 1.0, cy)) {
        (Some(a), Some(b)) => a.distance(b).max(1e-12),
        _ => 1e-12,
    };
    let mut points: Vec<(f64, f64)> = Vec::new();
    let (lines, centre) = shape.samples(scale);
    // Whether the whole boundary lies on the image, no part of it undefined or across a
    // seam: then the border of the image cannot be inside the shape.
    let mut whole = true;
    for line in &lines {
        let mapped: Vec<Option<(f64, f64)>> = line
            .iter()
            .map(|v| wcs.icrs_vec_to_pixel(*v).ok())
            .collect();
        for (i, m) in mapped.iter().enumerate() {
            let Some(a) = *m else {
                whole = false;
                continue;
            };
            if on_image(a) {
                points.push(a);
            } else {
                whole = false;
            }
            let Some(next) = mapped.get(i + 1) else {
                continue;
            };
            let Some(b) = *next else { continue };
            // The angle between the samples, from their chord (they are close).
            let (u, w) = (line[i], line[i + 1]);
            let (lu, lw) = (norm(u), norm(w));
            let chord = [0, 1, 2]
                .map(|k| u[k] / lu - w[k] / lw)
                .iter()
                .map(|d| d * d)
                .sum::<f64>()
                .sqrt();
            let sky = chord.to_degrees();
            let pixels = (b.0 - a.0).hypot(b.1 - a.1);
            if pixels > 4.0 * sky / scale + 2.0 {
                whole = false;
                continue; // across a seam of the projection
            }
            if let Some([p, q]) = clip(a, b, lo, hi) {
                points.push(p);
                points.push(q);
            }
        }
    }
    let centre_pixel = wcs.icrs_to_pixel(centre).ok().filter(|c| on_image(*c));
    match centre_pixel {
        Some(c) => points.push(c),
        None => whole = false,
    }
    if !whole {
        // The image's border (and centre) where it lies inside the shape (a polygon is
        // made once, not at each point).
        let polygon = match shape {
            Shape::Polygon(v) => vo_common::region::Polygon::new(v).ok(),
            _ => None,
        };
        let inside = |p: SkyPoint| match (shape, &polygon) {
            (Shape::Polygon(_), Some(poly)) => poly.contains(p),
            (Shape::Polygon(_), None) => false,
            _ => shape.contains(p),
        };
        let steps = 64;
        let border = (0..=steps).flat_map(|i| {
            let f = i as f64 / steps as f64;
            [
                (0.5 + f * n1, 0.5),
                (0.5 + f * n1, n2 + 0.5),
                (0.5, 0.5 + f * n2),
                (n1 + 0.5, 0.5 + f * n2),
            ]
        });
        for (x, y) in border.chain([(cx, cy)]) {
            if wcs.pixel_to_icrs(x, y).is_some_and(inside) {
                points.push((x, y));
            }
        }
    }
    let (mut xmin, mut xmax, mut ymin, mut ymax) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in &points {
        xmin = xmin.min(x);
        xmax = xmax.max(x);
        ymin = ymin.min(y);
        ymax = ymax.max(y);
    }
    if xmin > xmax {
        return None;
    }
    // The pixel a coordinate falls in (pixel i spans i - 0.5 .. i + 0.5), on the image.
    let pixel = |c: f64, n: f64| (c + 0.5).floor().clamp(1.0, n);
    let (x1, x2) = (pixel(xmin, n1), pixel(xmax, n1));
    let (y1, y2) = (pixel(ymin, n2), pixel(ymax, n2));
    Some(PixelBox {
        x0: x1 as u64 - 1,
        y0: y1 as u64 - 1,
        nx: (x2 - x1) as u64 + 1,
        ny: (y2 - y1) as u64 + 1,
    })
}

/// One HDU of a cutout: its index in the product, its header, and its box (`None`: the HDU
/// is written as it is, without data: a primary HDU that holds no image).
#[derive(Debug, Clone)]
pub struct CutHdu {
    /// The HDU's index in the product, from 0.
    pub index: usize,
    /// Its header.
    pub cards: ImageCards,
    /// The box cut from it.
    pub pixels: Option<PixelBox>,
    /// The planes kept on each axis beyond the second (axis 3 first), as (first from 0,
    /// count): those BAND, TIME or POL chose on a spectral, time or STOKES axis, all of
    /// the others.
    pub planes: Vec<(u64, u64)>,
}

/// The planes of `h` kept on each axis beyond the second, as (first from 0, count): on a
/// spectral axis those that meet `band` (metres), on a time axis those that meet `time`
/// (MJD), on a STOKES axis those of the states `pols` (pol_states names); all planes of any
/// other axis, or when that filter is not given. `Ok(None)` when a filter leaves no plane.
/// Errors: a spectral or time axis vogate cannot read.
fn planes(
    h: &vo_fits::ImageHeader,
    band: Option<&Interval>,
    time: Option<&Interval>,
    pols: &[String],
) -> Result<Option<Vec<(u64, u64)>>, String> {
    let mut out = Vec::new();
    for (j, &n) in h.naxis.iter().enumerate().skip(2) {
        let axis = j + 1;
        let all = (0, n.max(0) as u64);
        let chosen = if let Some(stokes) = vo_fits::StokesAxis::from_header(h, axis) {
            if pols.is_empty() {
                Some(all)
            } else {
                stokes.planes_of(pols)
            }
        } else if let Some(world) = vo_fits::WorldAxis::from_header(h, axis)? {
            let wanted = match world.kind {
                vo_fits::AxisKind::Wavelength => band,
                vo_fits::AxisKind::Time => time,
            };
            match wanted {
                Some(i) => world.planes_meeting(i.lo, i.hi),
                None => Some(all),
            }
        } else {
            Some(all)
        };
        let Some(chosen) = chosen else {
            return Ok(None);
        };
        out.push(chosen);
    }
    Ok(Some(out))
}

/// What to write for a cutout: the HDUs, in order (the first becomes the primary HDU).
#[derive(Debug, Clone)]
pub struct CutPlan {
    /// The HDUs.
    pub hdus: Vec<CutHdu>,
}

impl CutPlan {
    /// The bytes of values the cut holds, all HDUs together, without headers and padding.
    pub fn data_bytes(&self) -> u64 {
        self.hdus
            .iter()
            .filter_map(|h| {
                let b = h.pixels?;
                let bpp = u64::from(h.cards.bitpix.unsigned_abs() / 8);
                let rest: u64 = h.planes.iter().map(|&(_, n)| n).product();
                Some(b.nx * b.ny * rest * bpp)
            })
            .sum()
    }
}

/// What a cutout needs of a product file, read once: where its HDUs lie, the keywords and
/// WCS of its images, and their whole headers.
#[derive(Debug)]
pub struct Product {
    /// Every HDU's place ([`vo_fits::check_file`]).
    pub layouts: Vec<vo_fits::HduLayout>,
    /// The image HDUs' keywords.
    pub headers: vo_fits::FileHeaders,
    /// The celestial WCS of each image HDU (same order as `headers.images`), or why none.
    pub wcs: Vec<Result<CelestialWcs, String>>,
    /// The whole header of each image HDU, by HDU index, and of the primary HDU.
    pub cards: std::collections::HashMap<usize, ImageCards>,
}

impl Product {
    /// Read what a cutout needs of the file at `path`. Errors: the file is incomplete or
    /// cannot be read.
    pub fn read(path: &Path) -> Result<Product, String> {
        let layouts = vo_fits::check_file(path).map_err(|e| e.to_string())?;
        let headers = vo_fits::read_headers(path)?;
        let wcs = headers
            .images
            .iter()
            .map(CelestialWcs::from_header)
            .collect();
        let mut cards = std::collections::HashMap::new();
        for index in headers.images.iter().map(|h| h.index).chain([0]) {
            if let Some(layout) = layouts.get(index) {
                cards.insert(index, ImageCards::read_at(path, layout)?);
            }
        }
        Ok(Product {
            layouts,
            headers,
            wcs,
            cards,
        })
    }
}

/// Products read recently, by path (moka, at most `capacity` of them); an entry is used only
/// while the file's length and modification time are those it was read with, so a changed
/// file is read again.
pub struct ProductCache {
    cache: moka::sync::Cache<std::path::PathBuf, (u64, std::time::SystemTime, Arc<Product>)>,
}

impl std::fmt::Debug for ProductCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProductCache")
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

impl ProductCache {
    /// A cache of at most `capacity` products.
    pub fn new(capacity: u64) -> ProductCache {
        ProductCache {
            cache: moka::sync::Cache::new(capacity),
        }
    }

    /// The product at `path` if the cache holds it for the file as it is now (one `stat`,
    /// no reading).
    pub fn peek(&self, path: &Path) -> Option<Arc<Product>> {
        let meta = std::fs::metadata(path).ok()?;
        let (len, mtime) = (meta.len(), meta.modified().unwrap_or(std::time::UNIX_EPOCH));
        self.cache
            .get(path)
            .filter(|(l, m, _)| (*l, *m) == (len, mtime))
            .map(|(_, _, p)| p)
    }

    /// The product at `path`, from the cache while the file is unchanged. Errors: as
    /// [`Product::read`].
    pub fn get(&self, path: &Path) -> Result<Arc<Product>, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
        let (len, mtime) = (meta.len(), meta.modified().unwrap_or(std::time::UNIX_EPOCH));
        if let Some((l, m, p)) = self.cache.get(path) {
            if (l, m) == (len, mtime) {
                return Ok(p);
            }
        }
        let product = Arc::new(Product::read(path)?);
        self.cache
            .insert(path.to_path_buf(), (len, mtime, product.clone()));
        Ok(product)
    }
}

/// The cutout of `product` (the file at `path`) for `shape` (`None`: the whole images), the
/// planes of cubes within `band` (wavelength, metres) and `time` (MJD) (`None`: every
/// plane), or `None` when no image of the product overlaps them. Errors: the file cannot be
/// read.
pub fn plan(
    product: &Product,
    shape: Option<&Shape>,
    band: Option<&Interval>,
    time: Option<&Interval>,
    pols: &[String],
) -> Result<Option<CutPlan>, String> {
    let headers = &product.headers;
    let mut hdus = Vec::new();
    let mut science: Option<(i64, i64, PixelBox)> = None;
    for (h, wcs) in headers.images.iter().zip(&product.wcs) {
        let full = PixelBox {
            x0: 0,
            y0: 0,
            nx: h.naxis[0].max(0) as u64,
            ny: h.naxis[1].max(0) as u64,
        };
        let pixels = match (wcs, shape) {
            (_, None) => Some(full),
            (Ok(wcs), Some(s)) => {
                let b = pixel_box(wcs, s);
                if let (Some(b), None) = (b, science) {
                    science = Some((h.naxis[0], h.naxis[1], b));
                }
                b
            }
            (Err(_), Some(_)) => match science {
                Some((n1, n2, b)) if (n1, n2) == (h.naxis[0], h.naxis[1]) => Some(b),
                _ => None,
            },
        };
        let Some(b) = pixels else { continue };
        let Some(planes) = planes(h, band, time, pols)? else {
            continue;
        };
        let cards = product
            .cards
            .get(&h.index)
            .cloned()
            .ok_or_else(|| format!("HDU {}: no header", h.index))?;
        hdus.push(CutHdu {
            index: h.index,
            cards,
            pixels: Some(b),
            planes,
        });
    }
    if hdus.is_empty() {
        return Ok(None);
    }
    if hdus[0].index != 0 {
        // The product's primary header comes first, as it is, without data.
        let mut primary = product.cards.get(&0).cloned().ok_or("HDU 0: no header")?;
        primary.naxis.clear();
        hdus.insert(
            0,
            CutHdu {
                index: 0,
                cards: primary,
                pixels: None,
                planes: Vec::new(),
            },
        );
    }
    Ok(Some(CutPlan { hdus }))
}

/// HISTORY cards saying `text`, wrapped at spaces to 72 characters a card (a word longer
/// than that is cut).
fn history(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let room = if used == 0 {
                72
            } else {
                71usize.saturating_sub(used)
            };
            if word.len() <= room {
                if used > 0 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if used == 0 {
                line.extend(word.drain(..72));
            }
            lines.push(std::mem::take(&mut line));
        }
    }
    lines.push(line);
    lines
        .into_iter()
        .map(|l| format!("HISTORY {l:<72}"))
        .collect()
}

/// Write the cutout of `plan` (product `path`, known as `id`) as FITS to `out`, one HDU at
/// a time (only the box of one HDU is in memory at once). Errors: reading or writing.
pub fn write_cut(
    plan: &CutPlan,
    product: &Product,
    path: &Path,
    id: &str,
    out: &mut impl Write,
) -> Result<(), String> {
    write_cut_in_blocks(plan, product, path, id, out, BLOCK_BYTES)
}

/// [`write_cut`], reading and writing about `block_bytes` of values at once.
fn write_cut_in_blocks(
    plan: &CutPlan,
    product: &Product,
    path: &Path,
    id: &str,
    out: &mut impl Write,
    block_bytes: u64,
) -> Result<(), String> {
    for (k, hdu) in plan.hdus.iter().enumerate() {
        let primary = k == 0;
        let Some(b) = hdu.pixels else {
            let cards = ImageCards {
                bitpix: hdu.cards.bitpix,
                naxis: Vec::new(),
                cards: hdu.cards.cards.clone(),
            };
            out.write_all(&cards.header_bytes(primary))
                .map_err(|e| format!("write: {e}"))?;
            continue;
        };
        let (mut start, mut len) = (vec![b.x0, b.y0], vec![b.nx, b.ny]);
        let mut what = format!(
            "vogate SODA cutout of {id} HDU {}: pixels {}..{} x {}..{}",
            hdu.index,
            b.x0 + 1,
            b.x0 + b.nx,
            b.y0 + 1,
            b.y0 + b.ny
        );
        // Every axis beyond the second, so that blocks of rows are written plane by plane
        // in the file's order.
        for (j, &n) in hdu.cards.naxis.iter().enumerate().skip(2) {
            let (z0, nz) = hdu.planes.get(j - 2).copied().unwrap_or((0, n));
            if (z0, nz) != (0, n) {
                what.push_str(&format!(", axis {} planes {}..{}", j + 1, z0 + 1, z0 + nz));
            }
            start.push(z0);
            len.push(nz);
        }
        let mut cut = hdu
            .cards
            .cut(&start, &len)
            .map_err(|e| format!("HDU {}: {e}", hdu.index))?;
        cut.cards.extend(history(&what));
        let layout = product
            .layouts
            .get(hdu.index)
            .ok_or_else(|| format!("HDU {}: not in the file", hdu.index))?;
        write_streamed(
            out,
            &cut,
            primary,
            block_bytes,
            |start, len, sink| {
                let data = read_section_at(path, layout, &hdu.cards, &Section { start, len })
                    .map_err(|e| format!("HDU {}: {e}", hdu.index))?;
                sink(&data.bytes)
            },
            &start,
            &len,
        )?;
    }
    Ok(())
}

/// Bytes of values read and written at once: a cut of any size streams in blocks of rows
/// of about this size.
const BLOCK_BYTES: u64 = 4 << 20;

/// Write one image HDU of header `cut` (axis lengths `len`) whose values are the box
/// `start`/`len` of the original, read by `read` in blocks of whole rows (along axis 2, plane
/// by plane) of about `block_bytes`, each passed on to `out` before the next is read; then
/// the padding.
fn write_streamed(
    out: &mut impl Write,
    cut: &ImageCards,
    primary: bool,
    block_bytes: u64,
    mut read: impl FnMut(
        Vec<u64>,
        Vec<u64>,
        &mut dyn FnMut(&[u8]) -> Result<(), String>,
    ) -> Result<(), String>,
    start: &[u64],
    len: &[u64],
) -> Result<(), String> {
    let io = |e: std::io::Error| format!("write: {e}");
    let header = ImageCards {
        bitpix: cut.bitpix,
        naxis: len.to_vec(),
        cards: cut.cards.clone(),
    };
    out.write_all(&header.header_bytes(primary)).map_err(io)?;
    let bpp = u64::from(cut.bitpix.unsigned_abs() / 8);
    let row = len[0] * bpp;
    let rows_per_block = (block_bytes / row.max(1)).max(1);
    let planes: u64 = len[2..].iter().product();
    let mut written = 0u64;
    for plane in 0..planes {
        // The plane's coordinates on axes 3.. (axis 3 fastest).
        let mut rest = plane;
        let mut outer: Vec<u64> = Vec::with_capacity(len.len().saturating_sub(2));
        for j in 2..len.len() {
            outer.push(start[j] + rest % len[j]);
            rest /= len[j];
        }
        let mut y = 0;
        while y < len[1] {
            let k = rows_per_block.min(len[1] - y);
            let mut s = vec![start[0], start[1] + y];
            s.extend(&outer);
            let mut l = vec![len[0], k];
            l.extend(std::iter::repeat_n(1, outer.len()));
            read(s, l, &mut |bytes: &[u8]| {
                written += bytes.len() as u64;
                out.write_all(bytes).map_err(io)
            })?;
            y += k;
        }
    }
    let pad = (2880 - written % 2880) % 2880;
    out.write_all(&vec![0u8; pad as usize]).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vo_fits::cards::number_card;
    use vo_fits::SectionData;
    use vo_fits::{read_section, write_image};

    /// A `n1` x `n2` float32 TAN image centred on (`ra`, `dec`) with 0.01-degree pixels
    /// (east left), values x + 1000 y (0-based), as cards and data.
    fn tan(ra: f64, dec: f64, n1: u64, n2: u64) -> (ImageCards, SectionData) {
        let text = |k: &str, v: &str| format!("{k:<8}= {:<20}", format!("'{v}'"));
        let cards = vec![
            text("CTYPE1", "RA---TAN"),
            text("CTYPE2", "DEC--TAN"),
            text("RADESYS", "ICRS"),
            number_card("CRPIX1", (n1 as f64 + 1.0) / 2.0, None),
            number_card("CRPIX2", (n2 as f64 + 1.0) / 2.0, None),
            number_card("CRVAL1", ra, None),
            number_card("CRVAL2", dec, None),
            number_card("CDELT1", -0.01, None),
            number_card("CDELT2", 0.01, None),
        ]
        .into_iter()
        .map(|c| format!("{c:<80}"))
        .collect();
        let mut bytes = Vec::new();
        for y in 0..n2 {
            for x in 0..n1 {
                bytes.extend_from_slice(&((x + 1000 * y) as f32).to_be_bytes());
            }
        }
        (
            ImageCards {
                bitpix: -32,
                naxis: vec![n1, n2],
                cards,
            },
            SectionData {
                bitpix: -32,
                shape: vec![n1, n2],
                bytes,
            },
        )
    }

    fn wcs_of(cards: &ImageCards) -> CelestialWcs {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("i.fits");
        let data = SectionData {
            bitpix: cards.bitpix,
            shape: cards.naxis.clone(),
            bytes: vec![0; (cards.naxis.iter().product::<u64>() * 4) as usize],
        };
        write_image(
            &mut std::fs::File::create(&p).expect("create"),
            cards,
            &data,
            true,
        )
        .expect("write");
        let h = vo_fits::read_headers(&p).expect("headers");
        CelestialWcs::from_header(&h.images[0]).expect("wcs")
    }

    /// The bounding box of the pixels whose centres the shape holds (brute force).
    fn brute(wcs: &CelestialWcs, shape: &Shape) -> Option<PixelBox> {
        let (mut x1, mut x2, mut y1, mut y2) = (u64::MAX, 0, u64::MAX, 0);
        for y in 1..=wcs.naxis2 as u64 {
            for x in 1..=wcs.naxis1 as u64 {
                if wcs
                    .pixel_to_icrs(x as f64, y as f64)
                    .is_some_and(|p| shape.contains(p))
                {
                    (x1, x2, y1, y2) = (x1.min(x), x2.max(x), y1.min(y), y2.max(y));
                }
            }
        }
        (x1 <= x2).then(|| PixelBox {
            x0: x1 - 1,
            y0: y1 - 1,
            nx: x2 - x1 + 1,
            ny: y2 - y1 + 1,
        })
    }

    /// `got` holds `want` and is at most one pixel larger on each side.
    fn assert_close(name: &str, got: Option<PixelBox>, want: Option<PixelBox>) {
        let (Some(g), Some(w)) = (got, want) else {
            assert_eq!(got, want, "{name}");
            return;
        };
        let (gx2, gy2, wx2, wy2) = (g.x0 + g.nx, g.y0 + g.ny, w.x0 + w.nx, w.y0 + w.ny);
        assert!(
            g.x0 <= w.x0 && g.y0 <= w.y0 && gx2 >= wx2 && gy2 >= wy2,
            "{name}: {g:?} does not hold {w:?}"
        );
        assert!(
            w.x0 - g.x0 <= 1 && w.y0 - g.y0 <= 1 && gx2 - wx2 <= 1 && gy2 - wy2 <= 1,
            "{name}: {g:?} is more than a pixel larger than {w:?}"
        );
    }

    #[test]
    fn boxes_hold_the_shape_and_no_more_than_a_pixel_besides() {
        let (cards, _) = tan(10.0, 20.0, 200, 100);
        let wcs = wcs_of(&cards);
        let circle = |ra: f64, dec: f64, r: f64| Shape::Circle {
            centre: SkyPoint::new(ra, dec),
            radius: r,
        };
        let cases = [
            ("centre", circle(10.0, 20.0, 0.1)),
            ("across the left edge", circle(11.0, 20.0, 0.2)),
            ("a corner", circle(10.95, 20.45, 0.1)),
            ("holding the image", circle(10.0, 20.0, 5.0)),
            (
                "a range",
                Shape::Range {
                    ra: (9.9, 10.3),
                    dec: (19.8, 20.1),
                },
            ),
            (
                "a polygon",
                Shape::Polygon(vec![
                    SkyPoint::new(9.8, 19.9),
                    SkyPoint::new(10.1, 19.85),
                    SkyPoint::new(10.05, 20.2),
                ]),
            ),
        ];
        for (name, shape) in &cases {
            assert_close(name, pixel_box(&wcs, shape), brute(&wcs, shape));
        }
        // The whole image when the shape holds it.
        assert_eq!(
            pixel_box(&wcs, &cases[3].1),
            Some(PixelBox {
                x0: 0,
                y0: 0,
                nx: 200,
                ny: 100
            })
        );
        // No overlap: outside, and on the far side of the sphere.
        assert_eq!(pixel_box(&wcs, &circle(12.0, 20.0, 0.1)), None);
        assert_eq!(pixel_box(&wcs, &circle(190.0, -20.0, 1.0)), None);
    }

    #[test]
    fn ra_zero_is_crossed_by_images_circles_and_ranges() {
        let (cards, _) = tan(0.2, -10.0, 100, 60);
        let wcs = wcs_of(&cards);
        let shapes = [
            Shape::Circle {
                centre: SkyPoint::new(359.95, -10.0),
                radius: 0.15,
            },
            Shape::Range {
                ra: (359.8, 0.1),
                dec: (-10.2, -9.9),
            },
            Shape::Polygon(vec![
                SkyPoint::new(359.9, -10.1),
                SkyPoint::new(0.3, -10.1),
                SkyPoint::new(0.3, -9.9),
                SkyPoint::new(359.9, -9.9),
            ]),
        ];
        for s in &shapes {
            let b = pixel_box(&wcs, s);
            assert!(b.is_some(), "{s:?}");
            assert_close(&format!("{s:?}"), b, brute(&wcs, s));
        }
    }

    #[test]
    fn a_product_is_cut_hdu_by_hdu_with_its_headers_and_history() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("mef.fits");
        let (cards, data) = tan(10.0, 20.0, 200, 100);
        {
            let mut f = std::fs::File::create(&p).expect("create");
            let primary = ImageCards {
                bitpix: 8,
                naxis: vec![],
                cards: vec![format!("{:<80}", "OBJECT  = 'test field'")],
            };
            f.write_all(&primary.header_bytes(true)).expect("primary");
            write_image(&mut f, &cards, &data, false).expect("image");
            // A mask without WCS keywords, of the same size.
            let mask = ImageCards {
                bitpix: 16,
                naxis: vec![200, 100],
                cards: vec![],
            };
            let mask_data = SectionData {
                bitpix: 16,
                shape: vec![200, 100],
                bytes: (0..20_000u32)
                    .flat_map(|i| ((i % 7) as i16).to_be_bytes())
                    .collect(),
            };
            write_image(&mut f, &mask, &mask_data, false).expect("mask");
        }
        let shape = Shape::Circle {
            centre: SkyPoint::new(10.0, 20.0),
            radius: 0.05,
        };
        let plan = plan(
            &Product::read(&p).expect("product"),
            Some(&shape),
            None,
            None,
            &[],
        )
        .expect("plan")
        .expect("overlap");
        assert_eq!(
            plan.hdus.iter().map(|h| h.index).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        let b = plan.hdus[1].pixels.expect("a box");
        assert_eq!(plan.hdus[2].pixels, Some(b));
        let mut out = Vec::new();
        write_cut(
            &plan,
            &Product::read(&p).expect("product"),
            &p,
            "ivo://test/x?mef.fits",
            &mut out,
        )
        .expect("write");
        let q = dir.path().join("cut.fits");
        std::fs::write(&q, &out).expect("write cut");
        let layout = vo_fits::check_file(&q).expect("a whole FITS file");
        assert_eq!(layout.len(), 3);
        assert_eq!(layout[1].naxis, vec![b.nx, b.ny]);
        let cut = ImageCards::read(&q, 1).expect("cut header");
        assert_eq!(cut.number("CRPIX1"), Some(100.5 - b.x0 as f64));
        assert!(cut
            .cards
            .iter()
            .any(|c| c.starts_with("HISTORY vogate SODA cutout of ivo://test/x?mef.fits HDU 1")));
        let primary = ImageCards::read(&q, 0).expect("primary");
        assert!(primary
            .cards
            .iter()
            .any(|c| c.starts_with("OBJECT  = 'test field'")));
        // The values: the box of the original, exactly.
        let s = Section {
            start: vec![0, 0],
            len: vec![b.nx, b.ny],
        };
        let got = read_section(&q, 1, &cut, &s).expect("cut values");
        let want = read_section(
            &p,
            1,
            &cards,
            &Section {
                start: vec![b.x0, b.y0],
                len: vec![b.nx, b.ny],
            },
        )
        .expect("original values");
        assert_eq!(got.bytes, want.bytes);
        // A circle elsewhere: nothing to cut.
        let far = Shape::Circle {
            centre: SkyPoint::new(50.0, 20.0),
            radius: 0.05,
        };
        assert!(plan_none(&p, &far));
    }

    #[test]
    fn an_image_of_no_pixels_overlaps_nothing() {
        let (cards, _) = tan(10.0, 20.0, 10, 10);
        let mut wcs = wcs_of(&cards);
        wcs.naxis1 = 0;
        let everywhere = Shape::Circle {
            centre: SkyPoint::new(10.0, 20.0),
            radius: 90.0,
        };
        assert_eq!(pixel_box(&wcs, &everywhere), None);
    }

    #[test]
    fn history_cards_wrap_at_spaces() {
        let cards = history(&format!(
            "vogate SODA cutout of ivo://x/y?{} HDU 3: pixels 1..2 x 3..4",
            "a".repeat(50)
        ));
        assert!(cards
            .iter()
            .all(|c| c.len() == 80 && c.starts_with("HISTORY ")));
        let text: Vec<&str> = cards.iter().map(|c| c[8..].trim_end()).collect();
        assert_eq!(
            text.join(" "),
            format!(
                "vogate SODA cutout of ivo://x/y?{} HDU 3: pixels 1..2 x 3..4",
                "a".repeat(50)
            )
        );
        let long = history(&"b".repeat(100));
        assert_eq!(long.len(), 2);
        // Words that fill a card exactly, then more.
        let full = history(&format!("{} {} c", "d".repeat(72), "e".repeat(71)));
        assert_eq!(full.len(), 3, "{full:?}");
    }

    #[test]
    fn a_circle_across_the_seam_of_an_all_sky_map_is_not_all_of_it() {
        // A Galactic CAR map of 360 x 180 one-degree pixels.
        let text =
            |k: &str, v: &str| format!("{:<80}", format!("{k:<8}= {:<20}", format!("'{v}'")));
        let num = |k: &str, v: f64| format!("{:<80}", number_card(k, v, None));
        let cards = ImageCards {
            bitpix: -32,
            naxis: vec![360, 180],
            cards: vec![
                text("CTYPE1", "GLON-CAR"),
                text("CTYPE2", "GLAT-CAR"),
                num("CRPIX1", 180.5),
                num("CRPIX2", 90.5),
                num("CRVAL1", 0.0),
                num("CRVAL2", 0.0),
                num("CDELT1", -1.0),
                num("CDELT2", 1.0),
            ],
        };
        let wcs = wcs_of(&cards);
        // Around the Galactic anticentre (l = 180, on both edges of the map): the box spans
        // the width (the circle is on both edges) but only the circle's rows, not the seam
        // segments' rows; a small circle in the middle of the map is small.
        let anticentre = wcs.pixel_to_icrs(0.6, 90.5).expect("l = 180");
        let b = pixel_box(
            &wcs,
            &Shape::Circle {
                centre: anticentre,
                radius: 2.0,
            },
        )
        .expect("overlap");
        assert!(b.ny <= 6, "{b:?}");
        let centre = wcs.pixel_to_icrs(180.5, 90.5).expect("l = 0");
        let b = pixel_box(
            &wcs,
            &Shape::Circle {
                centre,
                radius: 2.0,
            },
        )
        .expect("overlap");
        assert!(b.nx <= 6 && b.ny <= 6, "{b:?}");
    }

    /// A 20 x 20 x 10 float32 cube on the TAN sky of [`tan`] whose third axis has these
    /// cards; values x + 1000 y + 100000 z (0-based).
    fn cube(path: &Path, axis: &[(&str, &str)], numbers: &[(&str, f64)]) -> ImageCards {
        let (mut cards, _) = tan(10.0, 20.0, 20, 20);
        cards.naxis.push(10);
        for (k, v) in axis {
            cards.cards.push(format!(
                "{:<80}",
                format!("{k:<8}= {:<20}", format!("'{v}'"))
            ));
        }
        for (k, v) in numbers {
            cards
                .cards
                .push(format!("{:<80}", number_card(k, *v, None)));
        }
        let mut bytes = Vec::new();
        for z in 0..10u64 {
            for y in 0..20u64 {
                for x in 0..20u64 {
                    bytes.extend_from_slice(&((x + 1000 * y + 100_000 * z) as f32).to_be_bytes());
                }
            }
        }
        let data = SectionData {
            bitpix: -32,
            shape: vec![20, 20, 10],
            bytes,
        };
        write_image(
            &mut std::fs::File::create(path).expect("create"),
            &cards,
            &data,
            true,
        )
        .expect("write");
        cards
    }

    /// The planes (third-axis pixels, from 1) of a cut written by [`write_cut`], read from
    /// its values.
    fn planes_of_cut(plan: &CutPlan, p: &Path, dir: &Path) -> (Vec<u64>, Option<f64>) {
        let mut out = Vec::new();
        write_cut(
            plan,
            &Product::read(p).expect("product"),
            p,
            "ivo://test/x?cube.fits",
            &mut out,
        )
        .expect("write");
        let q = dir.join("cut.fits");
        std::fs::write(&q, &out).expect("write cut");
        let cards = ImageCards::read(&q, 0).expect("cut header");
        let n = cards.naxis.clone();
        let d = read_section(
            &q,
            0,
            &cards,
            &Section {
                start: vec![0, 0, 0],
                len: n.clone(),
            },
        )
        .expect("values");
        let per_plane = (n[0] * n[1] * 4) as usize;
        let planes = d
            .bytes
            .chunks(per_plane)
            .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64 / 100_000 + 1)
            .collect();
        (planes, cards.number("CRPIX3"))
    }

    #[test]
    fn band_and_time_choose_the_planes_of_cubes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("wave.fits");
        // Ten planes of 10 nm from 500 nm: plane k covers 490 + 10 k +/- 5 nm.
        cube(
            &p,
            &[("CTYPE3", "WAVE"), ("CUNIT3", "nm")],
            &[("CRPIX3", 1.0), ("CRVAL3", 500.0), ("CDELT3", 10.0)],
        );
        let band = Interval {
            lo: 520e-9,
            hi: 540e-9,
        };
        let wave = plan(
            &Product::read(&p).expect("product"),
            None,
            Some(&band),
            None,
            &[],
        )
        .expect("plan")
        .expect("overlap");
        assert_eq!(wave.hdus[0].planes, vec![(2, 3)]);
        let (planes, crpix3) = planes_of_cut(&wave, &p, dir.path());
        assert_eq!(planes, vec![3, 4, 5]);
        // The cut's third axis still says 520 nm at its first plane's centre.
        assert_eq!(crpix3, Some(-1.0));
        // A band the cube does not reach: nothing to cut; TIME does not apply to it.
        let far = Interval { lo: 1e-6, hi: 2e-6 };
        assert!(plan(
            &Product::read(&p).expect("product"),
            None,
            Some(&far),
            None,
            &[]
        )
        .expect("plan")
        .is_none());
        let any = Interval { lo: 0.0, hi: 1e6 };
        let all = plan(
            &Product::read(&p).expect("product"),
            None,
            None,
            Some(&any),
            &[],
        )
        .expect("plan")
        .expect("all");
        assert_eq!(all.hdus[0].planes, vec![(0, 10)]);
        // A TIME cube: ten daily planes from MJD 60000.
        let t = dir.path().join("time.fits");
        cube(
            &t,
            &[("CTYPE3", "TIME"), ("CUNIT3", "d")],
            &[
                ("CRPIX3", 1.0),
                ("CRVAL3", 0.0),
                ("CDELT3", 1.0),
                ("MJDREF", 60000.0),
            ],
        );
        let time = Interval {
            lo: 60002.2,
            hi: 60003.4,
        };
        let shape = Shape::Circle {
            centre: SkyPoint::new(10.0, 20.0),
            radius: 0.03,
        };
        let timed = plan(
            &Product::read(&t).expect("product"),
            Some(&shape),
            None,
            Some(&time),
            &[],
        )
        .expect("plan")
        .expect("overlap");
        assert_eq!(timed.hdus[0].planes, vec![(2, 2)]);
        let (planes, _) = planes_of_cut(&timed, &t, dir.path());
        assert_eq!(planes, vec![3, 4]);
        let before = Interval {
            lo: 50000.0,
            hi: 59999.0,
        };
        assert!(plan(
            &Product::read(&t).expect("product"),
            None,
            None,
            Some(&before),
            &[]
        )
        .expect("plan")
        .is_none());
    }

    #[test]
    fn the_product_cache_reads_a_changed_file_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("i.fits");
        let write = |n: u64| {
            let (cards, data) = tan(10.0, 20.0, n, n);
            write_image(
                &mut std::fs::File::create(&p).expect("create"),
                &cards,
                &data,
                true,
            )
            .expect("write");
        };
        write(40);
        let cache = ProductCache::new(8);
        let a = cache.get(&p).expect("read");
        let b = cache.get(&p).expect("cached");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.headers.images[0].naxis, vec![40, 40]);
        write(60);
        let c = cache.get(&p).expect("read again");
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.headers.images[0].naxis, vec![60, 60]);
        // A file cut short is refused, not served from the cache.
        let len = std::fs::metadata(&p).expect("stat").len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .expect("open")
            .set_len(len / 2)
            .expect("truncate");
        assert!(cache.get(&p).expect_err("short").contains("short"));
    }

    #[test]
    fn cuts_stream_in_blocks_of_rows_with_the_same_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("cube.fits");
        let cards = cube(
            &p,
            &[("CTYPE3", "WAVE"), ("CUNIT3", "nm")],
            &[("CRVAL3", 500.0)],
        );
        let layout = vo_fits::check_file(&p).expect("complete")[0].clone();
        let (start, len) = (vec![3, 2, 4], vec![11, 13, 3]);
        let whole = read_section(
            &p,
            0,
            &cards,
            &Section {
                start: start.clone(),
                len: len.clone(),
            },
        )
        .expect("section");
        let mut expected = Vec::new();
        write_image(&mut expected, &cards, &whole, true).expect("write");
        // Blocks of 2 rows (88 bytes) and of one row: the same file.
        for block in [88, 1] {
            let mut got = Vec::new();
            write_streamed(
                &mut got,
                &cards,
                true,
                block,
                |s, l, sink| {
                    let d = read_section_at(&p, &layout, &cards, &Section { start: s, len: l })?;
                    sink(&d.bytes)
                },
                &start,
                &len,
            )
            .expect("streamed");
            assert!(got == expected, "block of {block} bytes");
        }
    }

    #[test]
    fn a_cube_cut_without_band_keeps_every_plane_in_order_whatever_the_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("cube.fits");
        let cards = cube(
            &p,
            &[("CTYPE3", "WAVE"), ("CUNIT3", "nm")],
            &[("CRVAL3", 500.0), ("CDELT3", 1.0), ("CRPIX3", 1.0)],
        );
        let product = Product::read(&p).expect("product");
        let wcs = wcs_of(&cards);
        let centre = wcs.pixel_to_icrs(10.5, 10.5).expect("centre");
        let plan = plan(
            &product,
            Some(&Shape::Circle {
                centre,
                radius: 0.04,
            }),
            None,
            None,
            &[],
        )
        .expect("plan")
        .expect("overlap");
        let b = plan.hdus[0].pixels.expect("a box");
        assert_eq!(plan.data_bytes(), b.nx * b.ny * 10 * 4);
        let mut whole = Vec::new();
        write_cut_in_blocks(&plan, &product, &p, "x", &mut whole, 1 << 30).expect("cut");
        // Blocks of one row: the same file, planes in order (not rows of all planes).
        let mut rows = Vec::new();
        write_cut_in_blocks(&plan, &product, &p, "x", &mut rows, 1).expect("cut");
        assert!(rows == whole);
        let q = dir.path().join("cut.fits");
        std::fs::write(&q, &rows).expect("write");
        let cut = ImageCards::read(&q, 0).expect("cut header");
        assert_eq!(cut.naxis, vec![b.nx, b.ny, 10]);
        let d = read_section(
            &q,
            0,
            &cut,
            &Section {
                start: vec![0, 0, 0],
                len: cut.naxis.clone(),
            },
        )
        .expect("values");
        let value = |i: usize| {
            f32::from_be_bytes([
                d.bytes[4 * i],
                d.bytes[4 * i + 1],
                d.bytes[4 * i + 2],
                d.bytes[4 * i + 3],
            ])
        };
        let (nx, ny) = (b.nx as usize, b.ny as usize);
        for z in 0..10 {
            for y in [0, ny - 1] {
                let want = (b.x0 as usize + 1000 * (b.y0 as usize + y) + 100_000 * z) as f32;
                assert_eq!(value(z * nx * ny + y * nx), want, "plane {z} row {y}");
            }
        }
    }

    #[test]
    fn pol_chooses_stokes_planes_on_axis_3_and_on_axis_4_with_band() {
        let dir = tempfile::tempdir().expect("tempdir");
        // I Q U V as the ten planes' first four codes would not fit: a 4-plane IQUV cube.
        let (mut cards, _) = tan(10.0, 20.0, 20, 20);
        cards.naxis.extend([3, 4]);
        for (k, v) in [("CTYPE3", "WAVE"), ("CUNIT3", "nm"), ("CTYPE4", "STOKES")] {
            cards.cards.push(format!(
                "{:<80}",
                format!("{k:<8}= {:<20}", format!("'{v}'"))
            ));
        }
        for (k, v) in [
            ("CRVAL3", 500.0),
            ("CDELT3", 10.0),
            ("CRPIX3", 1.0),
            ("CRVAL4", 1.0),
            ("CDELT4", 1.0),
            ("CRPIX4", 1.0),
        ] {
            cards.cards.push(format!("{:<80}", number_card(k, v, None)));
        }
        // Values x + 1000 y + 100000 z + 1000000 s (0-based; s the Stokes plane).
        let mut bytes = Vec::new();
        for st in 0..4u64 {
            for z in 0..3u64 {
                for y in 0..20u64 {
                    for x in 0..20u64 {
                        let v = x + 1000 * y + 100_000 * z + 1_000_000 * st;
                        bytes.extend_from_slice(&(v as f32).to_be_bytes());
                    }
                }
            }
        }
        let p = dir.path().join("iquv.fits");
        write_image(
            &mut std::fs::File::create(&p).expect("create"),
            &cards,
            &SectionData {
                bitpix: -32,
                shape: vec![20, 20, 3, 4],
                bytes,
            },
            true,
        )
        .expect("write");
        let product = Product::read(&p).expect("product");
        let pols = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let chosen = |band: Option<&Interval>, pol: &[&str]| {
            plan(&product, None, band, None, &pols(pol))
                .expect("plan")
                .map(|p| p.hdus[0].planes.clone())
        };
        assert_eq!(chosen(None, &[]), Some(vec![(0, 3), (0, 4)]));
        assert_eq!(chosen(None, &["U"]), Some(vec![(0, 3), (2, 1)]));
        assert_eq!(chosen(None, &["Q", "V"]), Some(vec![(0, 3), (1, 3)]));
        // States the product does not hold: no overlap.
        assert_eq!(chosen(None, &["RR", "XX"]), None);
        // BAND on axis 3 (plane 2 covers 505 .. 515 nm) and POL on axis 4 together.
        let band = Interval {
            lo: 508e-9,
            hi: 512e-9,
        };
        assert_eq!(chosen(Some(&band), &["V"]), Some(vec![(1, 1), (3, 1)]));
        let plan = plan(&product, None, Some(&band), None, &pols(&["V"]))
            .expect("plan")
            .expect("overlap");
        assert_eq!(plan.data_bytes(), 20 * 20 * 4);
        let mut out = Vec::new();
        write_cut(&plan, &product, &p, "ivo://x/y?iquv.fits", &mut out).expect("cut");
        let q = dir.path().join("cut.fits");
        std::fs::write(&q, &out).expect("write");
        let cut = ImageCards::read(&q, 0).expect("cut header");
        assert_eq!(cut.naxis, vec![20, 20, 1, 1]);
        // The cut's axes say what it holds: plane 1 of axis 3 is 510 nm, of axis 4 is V (4).
        assert_eq!(
            cut.number("CRVAL3")
                .map(|c| c + (1.0 - cut.number("CRPIX3").unwrap_or(0.0)) * 10.0),
            Some(510.0)
        );
        let h = vo_fits::read_headers(&q).expect("headers");
        let stokes = vo_fits::StokesAxis::from_header(&h.images[0], 4).expect("STOKES");
        assert_eq!(stokes.state(1), Some("V"));
        let d = read_section(
            &q,
            0,
            &cut,
            &Section {
                start: vec![0, 0, 0, 0],
                len: cut.naxis.clone(),
            },
        )
        .expect("values");
        let first = f32::from_be_bytes([d.bytes[0], d.bytes[1], d.bytes[2], d.bytes[3]]);
        assert_eq!(first, (100_000 + 3_000_000) as f32);
        assert!(cut
            .cards
            .iter()
            .any(|c| c.contains("axis 3 planes 2..2, axis 4 planes 4..4")));
    }

    fn plan_none(p: &Path, s: &Shape) -> bool {
        plan(
            &Product::read(p).expect("product"),
            Some(s),
            None,
            None,
            &[],
        )
        .expect("plan")
        .is_none()
    }
}

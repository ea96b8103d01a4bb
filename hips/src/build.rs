//! Building a HiPS (FITS tiles) from FITS images: HiPS 1.0 (IVOA REC 2017-05-19) §4.
//!
//! 1. Every input image's footprint as tiles of the deepest order (sampled through its WCS).
//! 2. For every such tile, in parallel (rayon): each tile pixel's HEALPix cell centre
//!    (cdshealpix, NESTED, in the HiPS frame) -> ICRS -> pixel in each overlapping image
//!    (vo-fits, sky to pixel) -> bilinear value from the four nearest pixels, blanks left
//!    out -> the images' values combined by the [`Overlay`]. A tile without a value is not
//!    written. Only the box of each image a tile needs is read.
//! 3. Each lower order down to 0: every pixel the NaN-aware mean of the 2 × 2 pixels it
//!    holds at the order below.
//! 4. `Norder3/Allsky.fits`, `Moc.fits` (MOC 2.0, the deepest order's tiles) and
//!    `properties`.
//!
//! Tiles are written to a temporary name and renamed, so an interrupted build leaves only
//! whole tiles, and a resumed one ([`BuildOptions::resume`]) makes only those missing.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;
use vo_fits::{ImageCards, Scaling, SectionData};

use crate::properties::{Properties, SkyRange};
use crate::render::{encode, PixelCut, Stretch, TileFormat};
use crate::sky::HipsFrame;
use crate::source::{to_f32, HduChoice, Plane, Source};
use crate::tile::{cell_centres, hpx_wcs_cards, tile_path, TileLayout};

/// How the values of overlapping images are combined in one tile pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    /// The mean of every image's value (`hips_overlay = mean`).
    Mean,
    /// The mean weighted by each image's distance, in its pixels, from the position to its
    /// nearest edge, so that seams fade (`hips_overlay = fading`).
    Fading,
    /// The value of the first image, in input order, that has one there.
    First,
}

impl Overlay {
    /// `mean`, `fading` or `first`. Errors: any other name.
    pub fn parse(s: &str) -> Result<Overlay, String> {
        match s {
            "mean" => Ok(Overlay::Mean),
            "fading" => Ok(Overlay::Fading),
            "first" => Ok(Overlay::First),
            _ => Err(format!("overlay {s:?}: it must be mean, fading or first")),
        }
    }

    /// The `hips_overlay` value.
    pub fn name(&self) -> &'static str {
        match self {
            Overlay::Mean => "mean",
            Overlay::Fading => "fading",
            Overlay::First => "first",
        }
    }
}

/// What to build and how.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The HiPS root directory (made if missing).
    pub out: PathBuf,
    /// The deepest tile order; `None`: the first order whose pixel is at least as fine as
    /// the finest input pixel, and at least 3 (as Hipsgen chooses).
    pub order: Option<u8>,
    /// The HiPS frame.
    pub frame: HipsFrame,
    /// Tile width in pixels (a power of two; 512 is usual).
    pub tile_width: u32,
    /// How overlapping images combine.
    pub overlay: Overlay,
    /// Which HDUs of each file are inputs.
    pub hdu: HduChoice,
    /// Keep the tiles an earlier, interrupted build of the same inputs and options made.
    pub resume: bool,
    /// The tile formats: FITS always, PNG and JPEG drawn from the FITS tiles.
    pub formats: Vec<TileFormat>,
    /// The cut of PNG and JPEG tiles; `None`: the 0.5 % to 99.5 % quantiles of the deepest
    /// order's values, linear.
    pub pixel_cut: Option<PixelCut>,
    /// The descriptive properties (title, ID, ...).
    pub properties: Properties,
}

/// Told how far the build is; the CLI draws a progress bar or logs. Called from many
/// threads.
pub trait Progress: Sync {
    /// A stage begins with `total` steps (tiles).
    fn stage(&self, name: &str, total: u64);
    /// `n` steps of the current stage are done.
    fn advance(&self, n: u64);
}

/// A [`Progress`] that says nothing.
#[derive(Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn stage(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// What a build did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The input images used (one per HDU).
    pub images: usize,
    /// The files left out, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
    /// The deepest order.
    pub order: u8,
    /// Tiles present at each order (index = order), including those a resumed build kept.
    pub tiles: Vec<usize>,
    /// Tiles made by this run at the deepest order.
    pub made: usize,
    /// BITPIX of the tiles.
    pub bitpix: i32,
    /// The sky fraction the MOC covers (0..1).
    pub sky_fraction: f64,
}

/// The build was stopped by its cancel flag: the tiles written so far are whole.
pub const INTERRUPTED: &str =
    "interrupted: the tiles written so far are whole; run again with --resume to finish";

/// The FITS files named by `paths`: each file itself, each directory's FITS files
/// (`.fits`, `.fit`, `.fts`, with `.gz` or `.fz`), recursively, in path order. Errors: a
/// path that is missing or neither a file nor a folder, or no FITS file at all.
pub fn list_inputs(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    list_inputs_and_problems(paths).map(|(files, _)| files)
}

/// Paths left out, each with the reason.
pub type Skipped = Vec<(PathBuf, String)>;

/// [`list_inputs`], and what could not be looked at inside the folders, with the reason: a
/// link to nothing, a link loop, a subfolder that cannot be read, and FITS names that are
/// not regular files (a folder or a pipe named `x.fits`).
pub fn list_inputs_and_problems(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, Skipped), String> {
    let fits = |p: &Path| {
        let n = p
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let n = n
            .strip_suffix(".gz")
            .or_else(|| n.strip_suffix(".fz"))
            .unwrap_or(&n)
            .to_string();
        n.ends_with(".fits") || n.ends_with(".fit") || n.ends_with(".fts")
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if !meta.is_dir() && !meta.is_file() {
            return Err(format!(
                "{}: not a regular file or a folder (a pipe or a device cannot be tiled)",
                p.display()
            ));
        }
        if meta.is_dir() {
            let mut found = Vec::new();
            for entry in walkdir::WalkDir::new(p).follow_links(true) {
                match entry {
                    Ok(e) if e.file_type().is_file() && fits(e.path()) => found.push(e.into_path()),
                    Ok(e) if fits(e.path()) && !e.file_type().is_dir() => problems.push((
                        e.into_path(),
                        "not a regular file (a pipe or a device cannot be tiled)".to_string(),
                    )),
                    Ok(e) if e.file_type().is_dir() && fits(e.path()) => problems.push((
                        e.path().to_path_buf(),
                        "a folder with a FITS file's name (its files are searched)".to_string(),
                    )),
                    Ok(_) => {}
                    Err(e) => {
                        let at = e.path().map(Path::to_path_buf).unwrap_or_else(|| p.clone());
                        let why = match e.io_error() {
                            Some(io) if io.kind() == std::io::ErrorKind::NotFound => {
                                "a link to nothing".to_string()
                            }
                            _ if e.loop_ancestor().is_some() => "a link loop".to_string(),
                            Some(io) => format!("cannot be read: {io}"),
                            None => e.to_string(),
                        };
                        problems.push((at, why));
                    }
                }
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    if out.is_empty() {
        return Err("no input: the paths given hold no FITS file".into());
    }
    Ok((out, problems))
}

/// The HEALPix pixel side at `depth`, degrees: sqrt(4π / (12 · 4^depth)) (Hipsgen's
/// `hips_pixel_scale`).
pub fn pixel_side(depth: u8) -> f64 {
    (4.0 * std::f64::consts::PI / (12.0 * 4f64.powi(i32::from(depth))))
        .sqrt()
        .to_degrees()
}

/// The first tile order (at least 3) whose pixels are at least as fine as `finest`
/// (degrees), at most the layout's deepest.
pub fn auto_order(layout: &TileLayout, finest: f64) -> u8 {
    (3..=layout.max_order())
        .find(|&k| pixel_side(layout.pixel_depth(k)) <= finest)
        .unwrap_or(layout.max_order())
}

/// The output's pixel type: the inputs' BITPIX, BSCALE, BZERO and BLANK when all share
/// them, else float32.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Encoding {
    pub(crate) bitpix: i32,
    pub(crate) scaling: Scaling,
}

impl Encoding {
    pub(crate) fn of(sources: &[Source]) -> Encoding {
        let first = &sources[0];
        let e = Encoding {
            bitpix: first.cards.bitpix,
            scaling: first.scaling,
        };
        let same = sources
            .iter()
            .all(|s| (s.cards.bitpix, s.scaling) == (e.bitpix, e.scaling));
        if !same {
            return Encoding {
                bitpix: -32,
                scaling: Scaling {
                    bscale: 1.0,
                    bzero: 0.0,
                    blank: None,
                },
            };
        }
        if e.bitpix > 0 && e.scaling.blank.is_none() {
            // An integer tile needs a BLANK for the pixels without data.
            let blank = match e.bitpix {
                8 => 0,
                16 => i64::from(i16::MIN),
                32 => i64::from(i32::MIN),
                _ => i64::MIN,
            };
            return Encoding {
                scaling: Scaling {
                    blank: Some(blank),
                    ..e.scaling
                },
                ..e
            };
        }
        e
    }

    /// The stored bytes of physical `values` (NaN: BLANK for integers).
    fn encode(&self, values: &[f32]) -> Vec<u8> {
        let Scaling {
            bscale,
            bzero,
            blank,
        } = self.scaling;
        let bpp = (self.bitpix.unsigned_abs() / 8) as usize;
        let mut out = Vec::with_capacity(values.len() * bpp);
        let blank = blank.unwrap_or(0);
        let stored = |v: f32, lo: f64, hi: f64| -> i64 {
            if v.is_nan() {
                return blank;
            }
            let s = ((f64::from(v) - bzero) / bscale).round().clamp(lo, hi) as i64;
            // A value never reads back as blank.
            match s == blank {
                true if s as f64 == lo => s + 1,
                true => s - 1,
                false => s,
            }
        };
        match self.bitpix {
            8 => out.extend(values.iter().map(|&v| stored(v, 0.0, 255.0) as u8)),
            16 => {
                for &v in values {
                    out.extend_from_slice(&(stored(v, -32768.0, 32767.0) as i16).to_be_bytes());
                }
            }
            32 => {
                for &v in values {
                    out.extend_from_slice(
                        &(stored(v, -2147483648.0, 2147483647.0) as i32).to_be_bytes(),
                    );
                }
            }
            64 => {
                for &v in values {
                    out.extend_from_slice(&stored(v, -9.2e18, 9.2e18).to_be_bytes());
                }
            }
            -64 => {
                for &v in values {
                    out.extend_from_slice(&((f64::from(v) - bzero) / bscale).to_be_bytes());
                }
            }
            _ => {
                for &v in values {
                    out.extend_from_slice(
                        &(((f64::from(v) - bzero) / bscale) as f32).to_be_bytes(),
                    );
                }
            }
        }
        out
    }

    /// The physical values a reader gets back from the stored `values`: for integer tiles
    /// rounded to the BSCALE grid and clamped, as [`Encoding::encode`] stores them; float
    /// tiles as they are.
    pub(crate) fn stored<'v>(&self, values: &'v [f32]) -> std::borrow::Cow<'v, [f32]> {
        if self.bitpix < 0 {
            return values.into();
        }
        vo_fits::physical_values(&self.encode(values), self.bitpix, &self.scaling)
            .map(|v| to_f32(v).into())
            .unwrap_or_else(|_| values.into())
    }

    /// The scaling cards of a tile.
    fn cards(&self) -> Vec<String> {
        let mut c = Vec::new();
        if self.bitpix > 0 {
            if let Some(b) = self.scaling.blank {
                c.push(format!("{:<8}= {b:>20}{:50}", "BLANK", ""));
            }
        }
        if (self.scaling.bscale, self.scaling.bzero) != (1.0, 0.0) {
            c.push(vo_fits::cards::number_card(
                "BZERO",
                self.scaling.bzero,
                None,
            ));
            c.push(vo_fits::cards::number_card(
                "BSCALE",
                self.scaling.bscale,
                None,
            ));
        }
        c
    }
}

/// What every tile job shares.
pub(crate) struct Context<'a> {
    /// The HiPS root the tiles are written under.
    pub(crate) out: &'a Path,
    pub(crate) layout: TileLayout,
    /// The deepest order.
    pub(crate) order: u8,
    pub(crate) frame: &'a HipsFrame,
    pub(crate) overlay: Overlay,
    pub(crate) sources: &'a [Source],
    pub(crate) encoding: Encoding,
    /// Every written value's range, and a sample for the display cut.
    pub(crate) stats: Mutex<Stats>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Stats {
    min: f64,
    max: f64,
    any: bool,
    sample: Vec<f32>,
}

impl Stats {
    /// The range and sample of one tile's values, made outside the shared lock (a tile
    /// has 262,144 values; the lock is held only to merge).
    fn of(values: &[f32]) -> Stats {
        let mut s = Stats::default();
        for (seen, &v) in values.iter().filter(|v| v.is_finite()).enumerate() {
            let v64 = f64::from(v);
            if !s.any {
                (s.min, s.max, s.any) = (v64, v64, true);
            }
            s.min = s.min.min(v64);
            s.max = s.max.max(v64);
            if seen.is_multiple_of(61) {
                s.sample.push(v);
            }
        }
        s
    }

    /// Fold `other` in; the sample keeps at most 4,000,000 values.
    fn merge(&mut self, other: Stats) {
        if other.any {
            if self.any {
                self.min = self.min.min(other.min);
                self.max = self.max.max(other.max);
            } else {
                (self.min, self.max, self.any) = (other.min, other.max, true);
            }
        }
        let room = 4_000_000usize.saturating_sub(self.sample.len());
        self.sample.extend(other.sample.into_iter().take(room));
    }
}

/// Build a HiPS from the FITS files `inputs` (files or directories) with `opts`. Bad inputs
/// (no celestial WCS, corrupt, short, unreadable) are listed in the report and skipped.
/// `cancel` set (Ctrl-C) stops the build after the tiles being made: the result is then
/// `Err(INTERRUPTED)`. Errors, before any tile is made: no input, no usable input, an
/// output directory that cannot be written, an order deeper than HEALPix allows, a
/// `--resume` of a build with other inputs or options; during the build: a tile that
/// cannot be written (the message names it).
pub fn build(
    inputs: &[PathBuf],
    opts: &BuildOptions,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Report, String> {
    let layout = TileLayout::new(opts.tile_width)?;
    writable(&opts.out)?;
    if let Some(k) = opts.order {
        if k > layout.max_order() {
            return Err(format!(
                "order {k}: with {}-pixel tiles the deepest order is {}",
                layout.width(),
                layout.max_order()
            ));
        }
    }
    let (files, sources, skipped) = open_inputs(inputs, &opts.out, opts.hdu, progress)?;
    let finest = sources
        .iter()
        .map(|s| s.pixel_scale)
        .fold(f64::INFINITY, f64::min);
    let order = opts.order.unwrap_or_else(|| auto_order(&layout, finest));
    let encoding = Encoding::of(&sources);
    let points = sky_points(&sources);
    check_resume(opts, &files, &points, order, &layout, &encoding)?;

    let index = tile_index(&sources, order, &opts.frame, progress);

    let ctx = Context {
        out: &opts.out,
        layout,
        order,
        frame: &opts.frame,
        overlay: opts.overlay,
        sources: &sources,
        encoding,
        stats: Mutex::new(Stats::default()),
    };
    let todo: Vec<(u64, Vec<usize>)> = index.into_iter().collect();
    progress.stage(&format!("order {order} tiles"), todo.len() as u64);
    // Each tile present after this stage, and whether this run made it.
    let made: Vec<Result<Option<(u64, bool)>, String>> = todo
        .par_iter()
        .map(|(ipix, srcs)| {
            if cancel.load(Ordering::Relaxed) {
                return Err(INTERRUPTED.to_string());
            }
            let path = tile_path(&opts.out, order, *ipix, "fits");
            let r = if path.exists() {
                // Kept from the interrupted build (tiles are renamed into place whole).
                read_tile(&path).map(|v| {
                    let st = Stats::of(&v);
                    ctx.stats.lock().map(|mut s| s.merge(st)).ok();
                    Some((*ipix, false))
                })
            } else {
                ctx.make_tile(*ipix, srcs)
                    .map(|made| made.map(|_| (*ipix, true)))
            };
            progress.advance(1);
            r
        })
        .collect();
    let mut present = BTreeSet::new();
    let mut made_count = 0;
    for r in made {
        if let Some((t, now)) = r? {
            present.insert(t);
            made_count += usize::from(now);
        }
    }
    if present.is_empty() {
        return Err(format!(
            "no tile of order {order} has data: every pixel the images cover is blank, or the \
             images are smaller than a tile pixel at this order (give a deeper --order)"
        ));
    }
    let by_order = lower_orders(&ctx, &present, progress, cancel)?;
    let tiles: Vec<usize> = by_order.iter().map(BTreeSet::len).collect();

    progress.stage("Allsky, MOC, properties", 3);
    ctx.write_allsky()?;
    progress.advance(1);
    let sky_fraction = write_moc(&opts.out, order, &present, &opts.frame)?;
    progress.advance(1);

    let stats = ctx
        .stats
        .lock()
        .map_err(|_| "a tile job panicked".to_string())?
        .clone();
    let pixel_cut = opts.pixel_cut.or_else(|| {
        cut(stats.sample.clone()).map(|(min, max)| PixelCut {
            min,
            // A uniform image still gets a cut of some width.
            max: if max > min { max } else { min + 1.0 },
            stretch: Stretch::Linear,
        })
    });
    if let Some(c) = pixel_cut {
        draw(
            &opts.out,
            &layout,
            &by_order,
            &c,
            &opts.formats,
            progress,
            cancel,
        )?;
    }
    let facts = crate::properties::BuildFacts {
        order,
        tile_width: layout.width(),
        frame: opts.frame.name(),
        overlay: opts.overlay.name(),
        bitpix: encoding.bitpix,
        data_range: stats.any.then_some((stats.min, stats.max)),
        pixel_cut,
        formats: opts
            .formats
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(" "),
        sky_fraction,
        sky: sky_range(&points, &opts.frame),
        tiles: tiles.iter().sum(),
    };
    std::fs::write(opts.out.join("properties"), opts.properties.to_text(&facts))
        .map_err(|e| format!("{}: {e}", opts.out.join("properties").display()))?;
    progress.advance(1);
    Ok(Report {
        images: sources.len(),
        skipped,
        order,
        tiles,
        made: made_count,
        bitpix: encoding.bitpix,
        sky_fraction,
    })
}

/// The input files named by `inputs` (outside the folder `out`, each once) opened as
/// images: (the files, their images, the files and folder entries left out with the
/// reason). Errors: no FITS file, or no usable image (the first reasons quoted).
pub(crate) fn open_inputs(
    inputs: &[PathBuf],
    out: &Path,
    hdu: HduChoice,
    progress: &dyn Progress,
) -> Result<(Vec<PathBuf>, Vec<Source>, Skipped), String> {
    // The output's own files are never inputs (an output folder inside an input folder).
    let out_dir = std::fs::canonicalize(out).unwrap_or_else(|_| out.to_path_buf());
    let (listed, problems) = list_inputs_and_problems(inputs)?;
    let mut files: Vec<PathBuf> = listed
        .into_iter()
        .filter(|f| {
            !std::fs::canonicalize(f)
                .map(|c| c.starts_with(&out_dir))
                .unwrap_or(false)
        })
        .collect();
    // The same file named twice is one input.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    if files.is_empty() {
        return Err(
            "no input: the paths given hold no FITS file (outside the output folder)".into(),
        );
    }
    progress.stage("reading headers", files.len() as u64);
    let opened: Vec<(PathBuf, Result<Vec<Source>, String>)> = files
        .par_iter()
        .map(|p| {
            let r = Source::open(p, hdu);
            progress.advance(1);
            (p.clone(), r)
        })
        .collect();
    let mut sources = Vec::new();
    let mut skipped = Vec::new();
    for (p, why) in problems {
        tracing::warn!(path = %p.display(), reason = %why, "input skipped");
        skipped.push((p, why));
    }
    for (p, r) in opened {
        match r {
            Ok(s) => sources.extend(s),
            Err(e) => {
                tracing::warn!(file = %p.display(), reason = %e, "input skipped");
                skipped.push((p, e));
            }
        }
    }
    if sources.is_empty() {
        let why: Vec<String> = skipped
            .iter()
            .take(5)
            .map(|(p, e)| format!("{}: {e}", p.display()))
            .collect();
        return Err(format!("no usable input image ({})", why.join("; ")));
    }
    Ok((files, sources, skipped))
}

/// The tiles of `order` the images `sources` touch, each with the images (indices into
/// `sources`, in order) that touch it.
pub(crate) fn tile_index(
    sources: &[Source],
    order: u8,
    frame: &HipsFrame,
    progress: &dyn Progress,
) -> BTreeMap<u64, Vec<usize>> {
    progress.stage("footprints", sources.len() as u64);
    let footprints: Vec<BTreeSet<u64>> = sources
        .par_iter()
        .map(|s| {
            let t = s.tiles(order, frame);
            progress.advance(1);
            t
        })
        .collect();
    let mut index: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, f) in footprints.iter().enumerate() {
        for &t in f {
            index.entry(t).or_default().push(i);
        }
    }
    index
}

/// Remake the tiles of every order below the deepest above the deepest tiles `touched`,
/// order by order down to 0, each from its four children. Returns the tiles of each order
/// (index = order) made or kept: `touched` at the deepest, their ancestors below.
pub(crate) fn lower_orders(
    ctx: &Context<'_>,
    touched: &BTreeSet<u64>,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Vec<BTreeSet<u64>>, String> {
    let order = ctx.order;
    let mut by_order = vec![BTreeSet::new(); usize::from(order) + 1];
    by_order[usize::from(order)] = touched.clone();
    let mut level = touched.clone();
    for k in (0..order).rev() {
        let parents: BTreeSet<u64> = level.iter().map(|t| t >> 2).collect();
        progress.stage(&format!("order {k} tiles"), parents.len() as u64);
        let results: Vec<Result<(), String>> = parents
            .par_iter()
            .map(|&p| {
                if cancel.load(Ordering::Relaxed) {
                    return Err(INTERRUPTED.to_string());
                }
                let r = ctx.make_parent(k, p);
                progress.advance(1);
                r
            })
            .collect();
        results.into_iter().collect::<Result<Vec<()>, String>>()?;
        by_order[usize::from(k)] = parents.clone();
        level = parents;
    }
    Ok(by_order)
}

/// Write `Moc.fits` (MOC 2.0 FITS) of the deepest tiles `present`; returns the fraction of
/// the sky it covers (0..1).
pub(crate) fn write_moc(
    out: &Path,
    order: u8,
    present: &BTreeSet<u64>,
    frame: &HipsFrame,
) -> Result<f64, String> {
    let moc = moc::moc::range::RangeMOC::<u64, moc::qty::Hpx<u64>>::from_fixed_depth_cells(
        order,
        present.iter().copied(),
        None,
    );
    let sky_fraction = moc.coverage_percentage();
    let mut bytes = Vec::new();
    use moc::moc::RangeMOCIntoIterator;
    moc::moc::RangeMOCIterator::to_fits_ivoa((&moc).into_range_moc_iter(), None, None, &mut bytes)
        .map_err(|e| format!("Moc.fits: {e}"))?;
    if frame.is_galactic() {
        galactic_moc(&mut bytes);
    }
    write_whole(&out.join("Moc.fits"), &bytes)?;
    Ok(sky_fraction)
}

/// Draw the PNG and JPEG tiles (those of `formats`) of the FITS tiles `by_order` (index =
/// order) under `out` through `cut`, and `Norder3/Allsky.png/jpg` from `Allsky.fits`.
pub(crate) fn draw(
    out: &Path,
    layout: &TileLayout,
    by_order: &[BTreeSet<u64>],
    cut: &PixelCut,
    formats: &[TileFormat],
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<(), String> {
    let drawn: Vec<TileFormat> = formats
        .iter()
        .copied()
        .filter(|f| *f != TileFormat::Fits)
        .collect();
    if drawn.is_empty() {
        return Ok(());
    }
    let jobs: Vec<(u8, u64)> = by_order
        .iter()
        .enumerate()
        .flat_map(|(k, set)| set.iter().map(move |&t| (k as u8, t)))
        .collect();
    progress.stage("PNG/JPEG tiles", jobs.len() as u64);
    let drawn_ref = &drawn;
    jobs.par_iter()
        .map(|&(k, t)| {
            if cancel.load(Ordering::Relaxed) {
                return Err(INTERRUPTED.to_string());
            }
            let values = read_tile(&tile_path(out, k, t, "fits"))?;
            let n = layout.width();
            for f in drawn_ref {
                let bytes = encode(&values, n, n, cut, *f)?;
                write_whole(&tile_path(out, k, t, f.extension()), &bytes)?;
            }
            progress.advance(1);
            Ok(())
        })
        .collect::<Result<Vec<()>, String>>()?;
    let allsky = out.join("Norder3").join("Allsky.fits");
    if allsky.exists() {
        let values = read_tile(&allsky)?;
        let (w, h) = (
            27 * layout.width().min(64),
            768usize.div_ceil(27) * layout.width().min(64),
        );
        if values.len() == w * h {
            for f in &drawn {
                let bytes = encode(&values, w, h, cut, *f)?;
                write_whole(&allsky.with_extension(f.extension()), &bytes)?;
            }
        }
    }
    Ok(())
}

/// Mark a MOC (FITS, as the moc crate writes it: COORDSYS = 'C') as Galactic
/// (COORDSYS = 'G'), as Hipsgen writes the MOC of a Galactic HiPS: its cells are the HiPS's.
fn galactic_moc(bytes: &mut [u8]) {
    // The primary header, then the table's: stop at the second END.
    let mut ends = 0;
    for card in bytes.chunks_exact_mut(80) {
        let key = vo_fits::cards::keyword(&String::from_utf8_lossy(card)).to_string();
        if key == "COORDSYS" {
            let text = format!(
                "{:<80}",
                "COORDSYS= 'G'                / Space reference frame: Galactic"
            );
            card.copy_from_slice(text.as_bytes());
            return;
        }
        if key == "END" {
            ends += 1;
            if ends == 2 {
                return;
            }
        }
    }
}

/// The 0.5 % and 99.5 % quantiles of `sample` (the display cut).
fn cut(mut sample: Vec<f32>) -> Option<(f64, f64)> {
    if sample.is_empty() {
        return None;
    }
    sample.sort_by(f32::total_cmp);
    let q = |f: f64| f64::from(sample[((sample.len() - 1) as f64 * f).round() as usize]);
    Some((q(0.005), q(0.995)))
}

/// Each input's centre and corners, as ICRS unit vectors, in input order.
pub(crate) fn sky_points(sources: &[Source]) -> Vec<[f64; 3]> {
    let mut points = Vec::new();
    for s in sources {
        let (n1, n2) = (s.naxis.0 as f64, s.naxis.1 as f64);
        for (x, y) in [
            ((n1 + 1.0) / 2.0, (n2 + 1.0) / 2.0),
            (0.5, 0.5),
            (n1 + 0.5, 0.5),
            (0.5, n2 + 0.5),
            (n1 + 0.5, n2 + 0.5),
        ] {
            if let Some(p) = s.wcs.pixel_to_icrs(x, y) {
                points.push(crate::source::unit(p.ra, p.dec));
            }
        }
    }
    points
}

/// The centre of the inputs' centres and corners `points` (the mean of their vectors) and
/// the field that holds them all: `hips_initial_ra/dec/fov`, in the HiPS frame, degrees.
pub(crate) fn sky_range(points: &[[f64; 3]], frame: &HipsFrame) -> SkyRange {
    let mut m = [0.0; 3];
    for p in points {
        for k in 0..3 {
            m[k] += p[k];
        }
    }
    let norm = (m[0] * m[0] + m[1] * m[1] + m[2] * m[2]).sqrt();
    if norm.is_nan() || norm <= 1e-9 {
        return SkyRange {
            lon: 0.0,
            lat: 0.0,
            fov: 180.0,
        };
    }
    let c = [m[0] / norm, m[1] / norm, m[2] / norm];
    let radius = points
        .iter()
        .map(|p| {
            (c[0] * p[0] + c[1] * p[1] + c[2] * p[2])
                .clamp(-1.0, 1.0)
                .acos()
        })
        .fold(0.0, f64::max)
        .to_degrees();
    let (lon, lat) = frame.from_icrs(c);
    SkyRange {
        lon: lon.to_degrees(),
        lat: lat.to_degrees(),
        fov: (2.0 * radius).clamp(1e-4, 180.0),
    }
}

/// Make `dir` if missing and check that a file can be written in it.
fn writable(dir: &Path) -> Result<(), String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!(
            "output directory {}: it is a file, not a folder",
            dir.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("output directory {}: {e}", dir.display()))?;
    let probe = dir.join(".vogate-write-test");
    std::fs::write(&probe, b"")
        .map_err(|e| format!("output directory {} cannot be written: {e}", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// The file that records what a build in `out` was made from, so that `--resume` never
/// mixes two builds.
pub(crate) const BUILD_MARK: &str = ".vogate-hips-build";

/// The lines of the build mark that name input files: `file {len} {mtime ns} {path}`.
pub(crate) fn file_lines(files: &[PathBuf]) -> String {
    let mut text = String::new();
    for f in files {
        let (len, mtime) = std::fs::metadata(f)
            .map(|m| {
                let t = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                (m.len(), t)
            })
            .unwrap_or((0, 0));
        let name = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
        text.push_str(&format!("file {len} {mtime} {}\n", name.display()));
    }
    text
}

/// The lines of the build mark that keep the inputs' centres and corners (unit vectors,
/// ICRS), from which `hips_initial_*` are made: `sky {x} {y} {z}`, written so that they
/// read back exactly.
pub(crate) fn sky_lines(points: &[[f64; 3]]) -> String {
    points
        .iter()
        .map(|p| format!("sky {:?} {:?} {:?}\n", p[0], p[1], p[2]))
        .collect()
}

/// The `file` paths and `sky` points of a build mark.
pub(crate) fn parse_mark(text: &str) -> (Vec<PathBuf>, Vec<[f64; 3]>) {
    let mut files = Vec::new();
    let mut points = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("file ") {
            if let Some(path) = rest.splitn(3, ' ').nth(2) {
                files.push(PathBuf::from(path));
            }
        } else if let Some(rest) = line.strip_prefix("sky ") {
            let v: Vec<f64> = rest
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            if let [x, y, z] = v[..] {
                points.push([x, y, z]);
            }
        }
    }
    (files, points)
}

/// Record what the build is made of in `opts.out`'s build mark, and check it against the
/// mark there for `--resume`; a fresh build removes the tiles of an earlier one.
fn check_resume(
    opts: &BuildOptions,
    files: &[PathBuf],
    points: &[[f64; 3]],
    order: u8,
    layout: &TileLayout,
    e: &Encoding,
) -> Result<(), String> {
    let mark = opts.out.join(BUILD_MARK);
    let mut text = format!(
        "order={order}\nwidth={}\nframe={}\noverlay={}\nhdu={:?}\nbitpix={}\nscaling={:?}\n",
        layout.width(),
        opts.frame.name(),
        opts.overlay.name(),
        opts.hdu,
        e.bitpix,
        e.scaling
    );
    text.push_str(&file_lines(files));
    text.push_str(&sky_lines(points));
    let has_tiles = opts.out.join(format!("Norder{order}")).exists();
    if opts.resume {
        match std::fs::read_to_string(&mark) {
            Ok(old) if old == text => return Ok(()),
            Ok(_) => {
                return Err(format!(
                    "--resume: the build in {} was made from other inputs or options",
                    opts.out.display()
                ))
            }
            Err(_) if !has_tiles => {}
            Err(_) => {
                return Err(format!(
                    "--resume: {} holds tiles but no record of the build that made them",
                    opts.out.display()
                ))
            }
        }
    } else if has_tiles || mark.exists() {
        // A fresh build: the old tiles go, so none of them is mistaken for this build's.
        for entry in std::fs::read_dir(&opts.out)
            .map_err(|e| format!("{}: {e}", opts.out.display()))?
            .filter_map(Result::ok)
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("Norder") || name == WEIGHTS_DIR || name == crate::add::STAGE_DIR {
                std::fs::remove_dir_all(entry.path())
                    .map_err(|e| format!("{}: {e}", entry.path().display()))?;
            }
            // Nothing of the old build may describe the new one.
            if matches!(name.as_str(), "properties" | "Moc.fits") {
                std::fs::remove_file(entry.path())
                    .map_err(|e| format!("{}: {e}", entry.path().display()))?;
            }
        }
    }
    std::fs::write(&mark, text).map_err(|e| format!("{}: {e}", mark.display()))
}

/// Create `path` (and its directory) for writing.
fn create(path: &Path) -> Result<std::fs::File, String> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Write `bytes` as `path`, whole: to a temporary name first (`.part` added), then renamed.
pub(crate) fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    let mut f = create(&tmp)?;
    f.write_all(bytes)
        .and_then(|()| f.flush())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Where the weights of the deepest tiles are kept, under the HiPS root: a hidden folder,
/// which the gateway does not serve.
pub const WEIGHTS_DIR: &str = ".weights";

/// The weights file of tile `ipix` of order `order` under the HiPS root `root`:
/// `.weights/Norder{order}/Dir{D}/Npix{ipix}.fits` (the tile's path under [`WEIGHTS_DIR`]).
pub fn weight_path(root: &Path, order: u8, ipix: u64) -> PathBuf {
    tile_path(&root.join(WEIGHTS_DIR), order, ipix, "fits")
}

/// Write the weights of a deepest tile: a `width²` float32 FITS image in the tile's pixel
/// order (see [`Context::accumulate`] for what a weight is), with DATAMIN and DATAMAX, the
/// smallest and largest value of the tile it weights (none when the tile has no value).
fn write_weights(
    path: &Path,
    width: usize,
    weight: &[f64],
    range: Option<(f64, f64)>,
) -> Result<(), String> {
    let mut cards = Vec::new();
    if let Some((a, b)) = range {
        cards.push(vo_fits::cards::number_card(
            "DATAMIN",
            a,
            Some("smallest value of the tile"),
        ));
        cards.push(vo_fits::cards::number_card(
            "DATAMAX",
            b,
            Some("largest value of the tile"),
        ));
    }
    let header = ImageCards {
        bitpix: -32,
        naxis: vec![width as u64, width as u64],
        cards,
    };
    let mut bytes_out = Vec::with_capacity(weight.len() * 4);
    for &w in weight {
        bytes_out.extend_from_slice(&(w as f32).to_be_bytes());
    }
    let data = SectionData {
        bitpix: -32,
        shape: vec![width as u64, width as u64],
        bytes: bytes_out,
    };
    let mut bytes = Vec::with_capacity(data.bytes.len() + 2 * 2880);
    vo_fits::write_image(&mut bytes, &header, &data, true)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    write_whole(path, &bytes)
}

/// The value range a deepest tile's weights file keeps (DATAMIN, DATAMAX), reading only
/// its header. Errors: a missing or unreadable file.
pub(crate) fn weights_range(path: &Path) -> Result<Option<(f64, f64)>, String> {
    let layouts = vo_fits::check_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let layout = layouts.first().ok_or("no HDU")?;
    let cards = ImageCards::read_at(path, layout)?;
    Ok(cards.number("DATAMIN").zip(cards.number("DATAMAX")))
}

/// The tiles of `order` present under the HiPS root `root` (its `Npix*.fits` files).
pub fn present_tiles(root: &Path, order: u8) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    let Ok(dirs) = std::fs::read_dir(root.join(format!("Norder{order}"))) else {
        return out;
    };
    for d in dirs.flatten() {
        let Ok(files) = std::fs::read_dir(d.path()) else {
            continue;
        };
        for f in files.flatten() {
            let name = f.file_name();
            let name = name.to_string_lossy();
            if let Some(n) = name
                .strip_prefix("Npix")
                .and_then(|n| n.strip_suffix(".fits"))
                .and_then(|n| n.parse::<u64>().ok())
            {
                out.insert(n);
            }
        }
    }
    out
}

/// The physical values of a FITS tile (NaN where blank), `width²` of them, rows bottom-up.
pub fn read_tile(path: &Path) -> Result<Vec<f32>, String> {
    let layouts = vo_fits::check_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let layout = layouts.first().ok_or("no HDU")?;
    let cards = ImageCards::read_at(path, layout)?;
    let data = vo_fits::read_section_at(
        path,
        layout,
        &cards,
        &vo_fits::Section {
            start: vec![],
            len: vec![],
        },
    )
    .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(to_f32(vo_fits::physical_values(
        &data.bytes,
        data.bitpix,
        &cards.scaling(),
    )?))
}

/// The bilinear value of `plane` at 0-based position (`fx`, `fy`) (pixel centres at whole
/// numbers), from the up to four nearest pixels that are not blank, their weights
/// renormalised; `None` when every weighted neighbour is blank.
fn bilinear(plane: &Plane, fx: f64, fy: f64) -> Option<f64> {
    let lx = fx - plane.x0 as f64;
    let ly = fy - plane.y0 as f64;
    let lx = lx.clamp(0.0, (plane.nx - 1) as f64);
    let ly = ly.clamp(0.0, (plane.ny - 1) as f64);
    let (i0, j0) = (lx.floor() as usize, ly.floor() as usize);
    let (tx, ty) = (lx - i0 as f64, ly - j0 as f64);
    let i1 = (i0 + 1).min(plane.nx - 1);
    let j1 = (j0 + 1).min(plane.ny - 1);
    let at = |i: usize, j: usize| plane.values[j * plane.nx + i];
    let mut sum = 0.0;
    let mut wsum = 0.0;
    for (i, j, w) in [
        (i0, j0, (1.0 - tx) * (1.0 - ty)),
        (i1, j0, tx * (1.0 - ty)),
        (i0, j1, (1.0 - tx) * ty),
        (i1, j1, tx * ty),
    ] {
        let v = at(i, j);
        // Infinities are no data either.
        if w > 0.0 && v.is_finite() {
            sum += w * f64::from(v);
            wsum += w;
        }
    }
    (wsum > 0.0).then(|| sum / wsum)
}

impl Context<'_> {
    /// The sums and weights of the images `srcs` at each pixel of tile `ipix` of the deepest
    /// order (FITS order, rows from the bottom): the pixel's value is sum / weight where the
    /// weight is above 0. For [`Overlay::Mean`] the weight counts the images with a value,
    /// for [`Overlay::Fading`] it sums their edge distances, for [`Overlay::First`] it is 1
    /// where the first image with a value gave it.
    pub(crate) fn accumulate(
        &self,
        ipix: u64,
        srcs: &[usize],
    ) -> Result<(Vec<f64>, Vec<f64>), String> {
        let n = self.layout.width();
        // Each pixel's cell centre, as an ICRS vector, in FITS order (row y from the bottom).
        let mut centres = cell_centres(&self.layout, self.order, ipix);
        if self.frame.is_galactic() {
            for c in &mut centres {
                *c = self.frame.to_icrs(*c);
            }
        }
        let mut sum = vec![0.0f64; n * n];
        let mut weight = vec![0.0f64; n * n];
        let mut pos = vec![(f64::NAN, f64::NAN); n * n];
        for &si in srcs {
            let s = &self.sources[si];
            let (n1, n2) = (s.naxis.0 as f64, s.naxis.1 as f64);
            let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
            for (p, c) in pos.iter_mut().zip(&centres) {
                *p = match s.wcs.icrs_vec_to_pixel(*c) {
                    Ok((px, py))
                        if (0.5..=n1 + 0.5).contains(&px) && (0.5..=n2 + 0.5).contains(&py) =>
                    {
                        x0 = x0.min(px);
                        y0 = y0.min(py);
                        x1 = x1.max(px);
                        y1 = y1.max(py);
                        (px, py)
                    }
                    _ => (f64::NAN, f64::NAN),
                };
            }
            if x0 > x1 {
                continue;
            }
            // 0-based pixels around the positions (FITS pixel p is 0-based p - 1).
            let bx0 = (x0 - 2.0).floor().max(0.0) as usize;
            let by0 = (y0 - 2.0).floor().max(0.0) as usize;
            let bx1 = (x1 + 1.0).ceil() as usize;
            let by1 = (y1 + 1.0).ceil() as usize;
            let Some(plane) = s.read_box(bx0, by0, bx1, by1)? else {
                continue;
            };
            for (k, &(px, py)) in pos.iter().enumerate() {
                if px.is_nan() {
                    continue;
                }
                let Some(v) = bilinear(&plane, px - 1.0, py - 1.0) else {
                    continue;
                };
                match self.overlay {
                    Overlay::Mean => {
                        sum[k] += v;
                        weight[k] += 1.0;
                    }
                    Overlay::Fading => {
                        let d = (px - 0.5)
                            .min(n1 + 0.5 - px)
                            .min(py - 0.5)
                            .min(n2 + 0.5 - py);
                        let w = d.max(1e-3);
                        sum[k] += w * v;
                        weight[k] += w;
                    }
                    Overlay::First => {
                        if weight[k] == 0.0 {
                            sum[k] = v;
                            weight[k] = 1.0;
                        }
                    }
                }
            }
        }
        Ok((sum, weight))
    }

    /// Make tile `ipix` of the deepest order from the images `srcs`; write it and its
    /// weights if any pixel has a value. Returns whether it was written.
    fn make_tile(&self, ipix: u64, srcs: &[usize]) -> Result<Option<()>, String> {
        let (sum, weight) = self.accumulate(ipix, srcs)?;
        let values: Vec<f32> = sum
            .iter()
            .zip(&weight)
            .map(|(&s, &w)| if w > 0.0 { (s / w) as f32 } else { f32::NAN })
            .collect();
        if values.iter().all(|v| v.is_nan()) {
            return Ok(None);
        }
        self.write_deepest(ipix, &values, &weight)?;
        Ok(Some(()))
    }

    /// Write tile `ipix` of the deepest order and its weights (the weights first, so that a
    /// tile on disk always has them), and fold its values into the build's statistics.
    pub(crate) fn write_deepest(
        &self,
        ipix: u64,
        values: &[f32],
        weight: &[f64],
    ) -> Result<(), String> {
        // The range a reader of the tiles sees (integer tiles hold rounded values).
        let tile_stats = Stats::of(&self.encoding.stored(values));
        write_weights(
            &weight_path(self.out, self.order, ipix),
            self.layout.width(),
            weight,
            tile_stats.any.then_some((tile_stats.min, tile_stats.max)),
        )?;
        if let Ok(mut st) = self.stats.lock() {
            st.merge(tile_stats);
        }
        self.write_tile(self.order, ipix, values)
    }

    /// Make tile `ipix` of order `order` from its four children at `order + 1` (those
    /// present), each pixel the mean of the 2 × 2 child pixels that have a value.
    fn make_parent(&self, order: u8, ipix: u64) -> Result<(), String> {
        let n = self.layout.width();
        let half = n / 2;
        let mut values = vec![f32::NAN; n * n];
        for q in 0..4u64 {
            let child = tile_path(self.out, order + 1, 4 * ipix + q, "fits");
            if !child.exists() {
                continue;
            }
            let c = read_tile(&child)?;
            if c.len() != n * n {
                return Err(format!("{}: not a {n} × {n} tile", child.display()));
            }
            let (ox, oy) = self.layout.child_origin(q);
            for y in 0..half {
                for x in 0..half {
                    let mut s = 0.0f64;
                    let mut k = 0u32;
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let v = c[(2 * y + dy) * n + 2 * x + dx];
                        if v.is_finite() {
                            s += f64::from(v);
                            k += 1;
                        }
                    }
                    if k > 0 {
                        values[(oy + y) * n + ox + x] = (s / f64::from(k)) as f32;
                    }
                }
            }
        }
        self.write_tile(order, ipix, &values)
    }

    /// Write a FITS tile: the encoding's BITPIX and scaling, ORDER, NPIX and the HPX WCS.
    fn write_tile(&self, order: u8, ipix: u64, values: &[f32]) -> Result<(), String> {
        let n = self.layout.width() as u64;
        let mut cards = self.encoding.cards();
        cards.push(vo_fits::cards::number_card(
            "ORDER",
            f64::from(order),
            Some("HEALPix order of the tile"),
        ));
        cards.push(vo_fits::cards::number_card(
            "NPIX",
            ipix as f64,
            Some("HEALPix NESTED index of the tile"),
        ));
        cards.extend(hpx_wcs_cards(
            &self.layout,
            order,
            ipix,
            self.frame.is_galactic(),
        ));
        self.write_fits(
            &tile_path(self.out, order, ipix, "fits"),
            n,
            n,
            cards,
            values,
        )
    }

    fn write_fits(
        &self,
        path: &Path,
        nx: u64,
        ny: u64,
        cards: Vec<String>,
        values: &[f32],
    ) -> Result<(), String> {
        let header = ImageCards {
            bitpix: self.encoding.bitpix,
            naxis: vec![nx, ny],
            cards,
        };
        let data = SectionData {
            bitpix: self.encoding.bitpix,
            shape: vec![nx, ny],
            bytes: self.encoding.encode(values),
        };
        let mut bytes = Vec::with_capacity(data.bytes.len() + 8 * 2880);
        vo_fits::write_image(&mut bytes, &header, &data, true)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        write_whole(path, &bytes)
    }

    /// `Norder3/Allsky.fits`: the order-3 tiles, each reduced to 64 × 64 pixels (means of
    /// blocks, blanks left out), side by side 27 to a row, the first row at the top (as
    /// Hipsgen lays them out). Nothing when there is no order 3.
    pub(crate) fn write_allsky(&self) -> Result<(), String> {
        if self.order < 3 {
            return Ok(());
        }
        let n = self.layout.width();
        let small = n.min(64);
        let f = n / small;
        let (cols, rows) = (27usize, 768usize.div_ceil(27));
        let (w, h) = (cols * small, rows * small);
        let mut values = vec![f32::NAN; w * h];
        for ipix in 0..768u64 {
            let path = tile_path(self.out, 3, ipix, "fits");
            if !path.exists() {
                continue;
            }
            let t = read_tile(&path)?;
            if t.len() != n * n {
                return Err(format!("{}: not a {n} × {n} tile", path.display()));
            }
            let (col, row) = (ipix as usize % cols, ipix as usize / cols);
            let (ox, oy) = (col * small, h - (row + 1) * small);
            for y in 0..small {
                for x in 0..small {
                    let mut s = 0.0f64;
                    let mut k = 0u32;
                    for dy in 0..f {
                        for dx in 0..f {
                            let v = t[(y * f + dy) * n + x * f + dx];
                            if !v.is_nan() {
                                s += f64::from(v);
                                k += 1;
                            }
                        }
                    }
                    if k > 0 {
                        values[(oy + y) * w + ox + x] = (s / f64::from(k)) as f32;
                    }
                }
            }
        }
        let path = self.out.join("Norder3").join("Allsky.fits");
        self.write_fits(&path, w as u64, h as u64, self.encoding.cards(), &values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_automatic_order_is_hipsgens() {
        let l = TileLayout::new(512).expect("layout");
        // Hipsgen 12.001 chose order 7 for the 2MASS images' 1 arcsec... 5 arcsec pixels.
        assert_eq!(auto_order(&l, 5.0 / 3600.0), 7);
        // Order 7's pixel: Hipsgen's hips_pixel_scale 8.946E-4 (truncated to 4 digits).
        assert!((pixel_side(16) - 8.9466e-4).abs() < 1e-8);
        assert_eq!(auto_order(&l, 1.0), 3);
    }

    #[test]
    fn a_galactic_moc_says_so() {
        let moc = moc::moc::range::RangeMOC::<u64, moc::qty::Hpx<u64>>::from_fixed_depth_cells(
            3,
            [1u64, 2, 3].into_iter(),
            None,
        );
        let mut bytes = Vec::new();
        use moc::moc::RangeMOCIntoIterator;
        moc::moc::RangeMOCIterator::to_fits_ivoa(
            (&moc).into_range_moc_iter(),
            None,
            None,
            &mut bytes,
        )
        .expect("moc");
        let before = bytes.clone();
        galactic_moc(&mut bytes);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("COORDSYS= 'G'"), "{text}");
        assert!(!text.contains("COORDSYS= 'C'"));
        assert_eq!(bytes.len(), before.len());
        // Only that card changed.
        let changed = bytes.iter().zip(&before).filter(|(a, b)| a != b).count();
        assert!(changed > 0 && changed <= 80);
    }

    #[test]
    fn bilinear_leaves_blanks_out_and_interpolates_the_rest() {
        let plane = Plane {
            x0: 10,
            y0: 20,
            nx: 2,
            ny: 2,
            values: vec![1.0, 3.0, 5.0, f32::NAN],
        };
        assert_eq!(bilinear(&plane, 10.0, 20.0), Some(1.0));
        assert_eq!(bilinear(&plane, 10.5, 20.0), Some(2.0));
        // (10.5, 20.5): weights 1/4 each, the blank left out: (1 + 3 + 5) / 3.
        assert_eq!(bilinear(&plane, 10.5, 20.5), Some(3.0));
        assert_eq!(bilinear(&plane, 11.0, 21.0), None);
    }

    #[test]
    fn integer_encoding_round_trips_with_blank() {
        let e = Encoding {
            bitpix: 16,
            scaling: Scaling {
                bscale: 0.5,
                bzero: 1000.0,
                blank: Some(-32768),
            },
        };
        let bytes = e.encode(&[1000.0, 1001.5, f32::NAN, 1e9]);
        let back = to_f32(vo_fits::physical_values(&bytes, 16, &e.scaling).expect("values"));
        assert_eq!(back[0], 1000.0);
        assert_eq!(back[1], 1001.5);
        assert!(back[2].is_nan());
        assert_eq!(back[3], (1000.0 + 0.5 * 32767.0) as f32);
    }
}

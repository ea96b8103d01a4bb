//! Adding images to a HiPS that vogate built (`vogate hips add`): only the deepest tiles the
//! new images touch are remade, each pixel combined with what is there through the weights
//! the build kept beside each deepest tile ([`crate::build::weight_path`]):
//!
//! - mean and fading overlays: (v_old · w_old + Σ w_i v_i) / (w_old + Σ w_i), which is the
//!   value a build of all the images at once gives (the new images last), within float32
//!   rounding (within one BSCALE step for integer tiles, whose stored values are rounded);
//! - first: the new images fill only the pixels that had no value.
//!
//! Then the touched tiles' ancestors at every lower order, `Allsky`, `Moc.fits`,
//! `properties` (data range, sky fraction, tile count, initial field, spectral and time
//! ranges) and the PNG/JPEG tiles of everything touched, drawn with the pixel cut the
//! properties give (`hips_pixel_cut`, `hips_pixel_function`).
//!
//! Crash safety: the new deepest tiles are made in a staging folder ([`STAGE_DIR`]); only
//! when all are made is a `ready` mark written there, and then they are moved into place and
//! the rest remade. An add stopped before `ready` leaves the HiPS as it was (the staging
//! folder is removed by the next add); one stopped after it is finished by the next add
//! (which may name no input).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;
use vo_fits::ImageCards;

use crate::build::{
    draw, file_lines, lower_orders, open_inputs, parse_mark, present_tiles, read_tile, sky_lines,
    sky_points, sky_range, tile_index, weight_path, weights_range, write_moc, write_whole, Context,
    Encoding, Overlay, Progress, Report, Stats, BUILD_MARK, INTERRUPTED,
};
use crate::properties::{parse, BuildFacts, Properties};
use crate::render::{PixelCut, TileFormat};
use crate::sky::HipsFrame;
use crate::source::HduChoice;
use crate::tile::{tile_path, TileLayout};

/// The staging folder of an add, under the HiPS root (hidden: the gateway does not serve
/// it).
pub const STAGE_DIR: &str = ".vogate-add";

/// The mark, in the staging folder, that every new tile is made: from then on the add is
/// finished, never undone.
const READY: &str = "ready";

/// An add was stopped after its tiles were made and while they were put in place.
pub const ADD_INTERRUPTED: &str = "interrupted while the new tiles were put in place: run \
     `vogate hips add --out DIR` again (no input needed) to finish";

/// What to add and how.
#[derive(Debug, Clone)]
pub struct AddOptions {
    /// The HiPS root (built by `vogate hips build`).
    pub out: PathBuf,
    /// Which HDUs of each new file are inputs.
    pub hdu: HduChoice,
    /// The new inputs' spectral range (`em_min`, `em_max`, metres), widening the HiPS's.
    pub em: Option<(f64, f64)>,
    /// The new inputs' time range (`t_min`, `t_max`, MJD), widening the HiPS's.
    pub t: Option<(f64, f64)>,
    /// Now, ISO 8601 UTC to the minute (`hips_release_date`).
    pub release_date: String,
    /// `hips_builder`.
    pub builder: String,
}

/// What a HiPS was built with, read from its `properties`, its build mark and a tile.
struct Hips {
    order: u8,
    layout: TileLayout,
    frame: HipsFrame,
    overlay: Overlay,
    encoding: Encoding,
    formats: Vec<TileFormat>,
    cut: Option<PixelCut>,
    properties: Vec<(String, String)>,
    mark: String,
}

impl Hips {
    /// Read the HiPS at `out`. Errors: no `properties`, no build mark or no weights (a HiPS
    /// another builder or an earlier vogate made), or values in them that do not parse.
    fn open(out: &Path) -> Result<Hips, String> {
        let props_path = out.join("properties");
        let text = std::fs::read_to_string(&props_path).map_err(|e| {
            format!(
                "{}: {e}: not a HiPS (make one with `vogate hips build`)",
                props_path.display()
            )
        })?;
        let properties = parse(&text);
        let get = |k: &str| {
            properties
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .ok_or_else(|| format!("{}: no {k}", props_path.display()))
        };
        let mark_path = out.join(BUILD_MARK);
        let mark = std::fs::read_to_string(&mark_path).map_err(|e| {
            format!(
                "{}: {e}: only a HiPS built by this version of `vogate hips build` can be \
                 added to (its inputs and weights are recorded there); build it again",
                mark_path.display()
            )
        })?;
        let header = |k: &str| {
            mark.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .ok_or_else(|| format!("{}: no {k}", mark_path.display()))
        };
        let number = |k: &str| -> Result<u32, String> {
            let v = header(k)?;
            v.parse()
                .map_err(|_| format!("{}: {k} {v:?} does not parse", mark_path.display()))
        };
        let order = u8::try_from(number("order")?)
            .map_err(|_| format!("{}: order out of range", mark_path.display()))?;
        let width = number("width")?;
        let layout = TileLayout::new(width)?;
        let frame = HipsFrame::parse(header("frame")?)?;
        let overlay = Overlay::parse(header("overlay")?)?;
        if !out.join(crate::build::WEIGHTS_DIR).is_dir() {
            return Err(format!(
                "{}: no weights kept beside the tiles (an earlier vogate built this HiPS); \
                 build it again to add to it",
                out.display()
            ));
        }
        let first = present_tiles(out, order)
            .into_iter()
            .next()
            .ok_or_else(|| format!("{}: no tile of order {order}", out.display()))?;
        let tile = tile_path(out, order, first, "fits");
        let cards = ImageCards::read(&tile, 0).map_err(|e| format!("{}: {e}", tile.display()))?;
        let encoding = Encoding {
            bitpix: cards.bitpix,
            scaling: cards.scaling(),
        };
        let formats = TileFormat::parse_list(&get("hips_tile_format")?.replace(' ', ","))?;
        let cut = match properties.iter().find(|(k, _)| k == "hips_pixel_cut") {
            None => None,
            Some((_, c)) => {
                let f = properties
                    .iter()
                    .find(|(k, _)| k == "hips_pixel_function")
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("linear");
                Some(
                    PixelCut::parse(&format!("{c} {f}"))
                        .map_err(|e| format!("{}: {e}", props_path.display()))?,
                )
            }
        };
        Ok(Hips {
            order,
            layout,
            frame,
            overlay,
            encoding,
            formats,
            cut,
            properties,
            mark,
        })
    }

    /// The context of tile work writing under `root`.
    fn context<'a>(&'a self, root: &'a Path, sources: &'a [crate::Source]) -> Context<'a> {
        Context {
            out: root,
            layout: self.layout,
            order: self.order,
            frame: &self.frame,
            overlay: self.overlay,
            sources,
            encoding: self.encoding,
            stats: Mutex::new(Stats::default()),
        }
    }
}

/// Add the FITS files `inputs` (files or folders) to the HiPS at `opts.out`. Bad inputs are
/// listed in the report and skipped, as by [`crate::build()`]. With no input, only finish an
/// interrupted add. `cancel` set: before the new tiles are all made, the HiPS is left as it
/// was (`Err(INTERRUPTED)`); after, [`ADD_INTERRUPTED`].
///
/// Errors, before any change: not a HiPS vogate built ([`Hips::open`]); no usable input; an
/// input already in the HiPS (adding it again would count it twice); new images whose
/// pixel type differs from the tiles' when the tiles are not float32 (a build of all the
/// images would make float32 tiles: build again); no new image touching the sky at the
/// HiPS's order.
pub fn add(
    inputs: &[PathBuf],
    opts: &AddOptions,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Report, String> {
    let out = &opts.out;
    let stage = out.join(STAGE_DIR);
    let mut hips = Hips::open(out)?;
    let mut finished = None;
    if stage.join(READY).exists() {
        tracing::info!(hips = %out.display(), "finishing an interrupted add");
        finished = Some(commit(&hips, &stage, progress, cancel)?);
        hips = Hips::open(out)?;
    } else if stage.exists() {
        std::fs::remove_dir_all(&stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    }
    if inputs.is_empty() {
        return finished
            .ok_or_else(|| "no input: name the FITS files or folders to add (--in)".to_string());
    }

    let (files, sources, skipped) = open_inputs(inputs, out, opts.hdu, progress)?;
    let (known, _) = parse_mark(&hips.mark);
    let known: BTreeSet<PathBuf> = known.into_iter().collect();
    if let Some(f) = files
        .iter()
        .find(|f| known.contains(&std::fs::canonicalize(f).unwrap_or_else(|_| f.to_path_buf())))
    {
        return Err(format!(
            "{}: already in this HiPS (adding it again would count it twice; to replace it, \
             build the HiPS again)",
            f.display()
        ));
    }
    let float = Encoding {
        bitpix: -32,
        scaling: vo_fits::Scaling {
            bscale: 1.0,
            bzero: 0.0,
            blank: None,
        },
    };
    let new_encoding = Encoding::of(&sources);
    if hips.encoding != float && new_encoding != hips.encoding {
        return Err(format!(
            "the new images are BITPIX {} with {:?}, the tiles BITPIX {} with {:?}: a build of \
             all of them would make float32 tiles, so build the HiPS again with every image",
            new_encoding.bitpix, new_encoding.scaling, hips.encoding.bitpix, hips.encoding.scaling
        ));
    }

    let finest = sources
        .iter()
        .map(|s| s.pixel_scale)
        .fold(f64::INFINITY, f64::min);
    let wanted = crate::build::auto_order(&hips.layout, finest);
    if wanted > hips.order {
        tracing::warn!(
            order = hips.order,
            finer = wanted,
            "the new images' pixels are finer than the HiPS's deepest order shows; they are \
             added at its order (a build of all the images would choose the finer one)"
        );
    }

    let index = tile_index(&sources, hips.order, &hips.frame, progress);

    // The new deepest tiles, made in the staging folder.
    let ctx = hips.context(&stage, &sources);
    let todo: Vec<(u64, Vec<usize>)> = index.into_iter().collect();
    progress.stage(&format!("order {} tiles", hips.order), todo.len() as u64);
    let made: Result<Vec<Option<u64>>, String> = todo
        .par_iter()
        .map(|(ipix, srcs)| {
            if cancel.load(Ordering::Relaxed) {
                return Err(INTERRUPTED.to_string());
            }
            let r = add_tile(&ctx, out, *ipix, srcs).map(|m| m.then_some(*ipix));
            progress.advance(1);
            r
        })
        .collect();
    let made = match made {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&stage);
            return Err(e);
        }
    };
    let touched: BTreeSet<u64> = made.into_iter().flatten().collect();
    if touched.is_empty() {
        let _ = std::fs::remove_dir_all(&stage);
        return Err(format!(
            "no tile of order {} has data from the new images: every pixel they cover is \
             blank, or they lie outside the sky they claim",
            hips.order
        ));
    }

    // The journal: the tiles, the new build mark and the new descriptive properties, then
    // the ready mark.
    let mut mark = hips.mark.clone();
    if !mark.ends_with('\n') {
        mark.push('\n');
    }
    mark.push_str(&file_lines(&files));
    mark.push_str(&sky_lines(&sky_points(&sources)));
    let mut props = Properties::from_lines(&hips.properties);
    let widen = |a: Option<(f64, f64)>, b: Option<(f64, f64)>| match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
        (a, b) => a.or(b),
    };
    let derived = |em: Option<(f64, f64)>| {
        em.map(|(a, b)| crate::properties::regime((a * b).sqrt()).to_string())
    };
    // A regime the build derived from the spectral range follows it, as a build of all
    // the images would derive it.
    let derived_before = props.obs_regime.is_none() || props.obs_regime == derived(props.em);
    props.em = widen(props.em, opts.em);
    if derived_before {
        props.obs_regime = derived(props.em).or(props.obs_regime);
    }
    props.t = widen(props.t, opts.t);
    props.release_date = opts.release_date.clone();
    props.builder = opts.builder.clone();
    let tiles_text: String = touched.iter().map(|t| format!("{t}\n")).collect();
    write_whole(&stage.join("tiles"), tiles_text.as_bytes())?;
    write_whole(&stage.join("mark"), mark.as_bytes())?;
    write_whole(&stage.join("properties"), descriptive(&props).as_bytes())?;
    write_whole(&stage.join(READY), b"")?;

    let mut report = commit(&hips, &stage, progress, cancel)?;
    report.images = sources.len();
    report.skipped = skipped;
    Ok(report)
}

/// The descriptive keys of `p`, as a `properties` text that [`Properties::from_lines`]
/// reads back exactly.
fn descriptive(p: &Properties) -> String {
    let mut s = String::new();
    let mut put = |k: &str, v: &str| s.push_str(&format!("{k} = {v}\n"));
    put("creator_did", &p.creator_did);
    put("obs_title", &p.obs_title);
    for (k, v) in [
        ("obs_description", &p.obs_description),
        ("obs_regime", &p.obs_regime),
        ("prov_progenitor", &p.prov_progenitor),
        ("hips_creation_date", &p.creation_date),
    ] {
        if let Some(v) = v {
            put(k, v);
        }
    }
    if let Some((a, b)) = p.em {
        put("em_min", &format!("{a:?}"));
        put("em_max", &format!("{b:?}"));
    }
    if let Some((a, b)) = p.t {
        put("t_min", &format!("{a:?}"));
        put("t_max", &format!("{b:?}"));
    }
    put("hips_release_date", &p.release_date);
    put("hips_builder", &p.builder);
    s
}

/// Remake deepest tile `ipix` in the staging context `ctx` from the tile and weights under
/// `out` and the new images `srcs`. Returns whether the new images gave it a value (and so
/// whether it was written).
fn add_tile(ctx: &Context<'_>, out: &Path, ipix: u64, srcs: &[usize]) -> Result<bool, String> {
    let (sum, new_weight) = ctx.accumulate(ipix, srcs)?;
    if new_weight.iter().all(|&w| w <= 0.0) {
        return Ok(false);
    }
    let n = ctx.layout.width();
    let tile = tile_path(out, ctx.order, ipix, "fits");
    let (old, old_weight) = if tile.exists() {
        let values = read_tile(&tile)?;
        let w = read_tile(&weight_path(out, ctx.order, ipix)).map_err(|e| {
            format!(
                "{e} (the weights of {}, which an add needs)",
                tile.display()
            )
        })?;
        if values.len() != n * n || w.len() != n * n {
            return Err(format!("{}: not a {n} × {n} tile", tile.display()));
        }
        (values, w)
    } else {
        (vec![f32::NAN; n * n], vec![0.0; n * n])
    };
    let mut values = vec![f32::NAN; n * n];
    let mut weight = vec![0.0f64; n * n];
    for k in 0..n * n {
        let (v0, w0) = (old[k], f64::from(old_weight[k]));
        let had = v0.is_finite() && w0 > 0.0;
        let (s1, w1) = (sum[k], new_weight[k]);
        (values[k], weight[k]) = match (had, w1 > 0.0, ctx.overlay) {
            (true, true, Overlay::Mean | Overlay::Fading) => {
                (((f64::from(v0) * w0 + s1) / (w0 + w1)) as f32, w0 + w1)
            }
            (true, _, _) => (v0, w0),
            (false, true, _) => ((s1 / w1) as f32, w1),
            (false, false, _) => (f32::NAN, 0.0),
        };
    }
    ctx.write_deepest(ipix, &values, &weight)?;
    Ok(true)
}

/// Put the staged tiles of an add in place and remake what depends on them: lower orders,
/// Allsky, MOC, PNG/JPEG, properties; then remove the staging folder. Run again after an
/// interruption, it finishes the same work.
fn commit(
    hips: &Hips,
    stage: &Path,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<Report, String> {
    let out = stage
        .parent()
        .ok_or_else(|| format!("{}: no parent", stage.display()))?;
    let read = |name: &str| {
        std::fs::read_to_string(stage.join(name))
            .map_err(|e| format!("{}: {e}", stage.join(name).display()))
    };
    let touched: BTreeSet<u64> = read("tiles")?
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let order = hips.order;
    let place = |from: PathBuf, to: PathBuf| -> Result<(), String> {
        if !from.exists() {
            // Put in place before the interruption.
            return Ok(());
        }
        if let Some(d) = to.parent() {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        std::fs::rename(&from, &to).map_err(|e| format!("{}: {e}", to.display()))
    };
    progress.stage("putting tiles in place", touched.len() as u64);
    for &t in &touched {
        // The weights first: a tile in place always has its own.
        place(weight_path(stage, order, t), weight_path(out, order, t))?;
        place(
            tile_path(stage, order, t, "fits"),
            tile_path(out, order, t, "fits"),
        )?;
        progress.advance(1);
    }
    let mark = read("mark")?;
    write_whole(&out.join(BUILD_MARK), mark.as_bytes())?;

    let ctx = hips.context(out, &[]);
    let interrupted = |e: String| {
        if e == INTERRUPTED {
            ADD_INTERRUPTED.to_string()
        } else {
            e
        }
    };
    let by_order = lower_orders(&ctx, &touched, progress, cancel).map_err(interrupted)?;
    progress.stage("Allsky, MOC, properties", 3);
    ctx.write_allsky()?;
    progress.advance(1);
    let present = present_tiles(out, order);
    let sky_fraction = write_moc(out, order, &present, &hips.frame)?;
    progress.advance(1);
    let ranges: Vec<Result<Option<(f64, f64)>, String>> = present
        .par_iter()
        .map(|&t| weights_range(&weight_path(out, order, t)))
        .collect();
    let mut data_range: Option<(f64, f64)> = None;
    for r in ranges {
        if let Some((a, b)) = r? {
            let (lo, hi) = data_range.unwrap_or((a, b));
            data_range = Some((lo.min(a), hi.max(b)));
        }
    }
    if let Some(c) = &hips.cut {
        draw(
            out,
            &hips.layout,
            &by_order,
            c,
            &hips.formats,
            progress,
            cancel,
        )
        .map_err(interrupted)?;
    }
    let tiles: Vec<usize> = (0..=order).map(|k| present_tiles(out, k).len()).collect();
    let (_, points) = parse_mark(&mark);
    let props = Properties::from_lines(&parse(&read("properties")?));
    let formats = hips
        .formats
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(" ");
    let facts = BuildFacts {
        order,
        tile_width: hips.layout.width(),
        frame: hips.frame.name(),
        overlay: hips.overlay.name(),
        bitpix: hips.encoding.bitpix,
        data_range,
        pixel_cut: hips.cut,
        formats,
        sky_fraction,
        sky: sky_range(&points, &hips.frame),
        tiles: tiles.iter().sum(),
    };
    write_whole(&out.join("properties"), props.to_text(&facts).as_bytes())?;
    progress.advance(1);
    std::fs::remove_dir_all(stage).map_err(|e| format!("{}: {e}", stage.display()))?;
    Ok(Report {
        images: 0,
        skipped: Vec::new(),
        order,
        tiles,
        made: touched.len(),
        bitpix: hips.encoding.bitpix,
        sky_fraction,
    })
}

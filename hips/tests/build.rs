//! `vo_hips::build` on generated images: overlays, integer tiles, bad inputs, errors before
//! any work, an interrupted build resumed; `vo_hips::add` against a build of all the images,
//! its refusals and its interruptions. (Positions through values against astropy-healpix
//! and the comparison with Hipsgen are conformance/hips_positions.py and
//! conformance/hips_vs_hipsgen.sh.)

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use vo_fits::{ImageCards, SectionData};
use vo_hips::build::{read_tile, BuildOptions, Overlay, Progress, Quiet, INTERRUPTED};
use vo_hips::{HduChoice, HipsFrame, PixelCut, Properties, TileFormat};

fn card(k: &str, v: &str) -> String {
    format!("{:<80}", format!("{k:<8}= {v}"))
}

/// A TAN image `n` × `n` of `bitpix` centred on (`ra`, `dec`), `scale` degrees a pixel,
/// pixel (x, y) (0-based) holding stored value `value(x, y)`, with `extra` cards.
fn write_tan(
    path: &Path,
    (ra, dec): (f64, f64),
    n: u64,
    scale: f64,
    bitpix: i32,
    value: impl Fn(u64, u64) -> f64,
    extra: &[String],
) {
    let mut cards = vec![
        card("CTYPE1", "'RA---TAN'"),
        card("CTYPE2", "'DEC--TAN'"),
        card("CRVAL1", &ra.to_string()),
        card("CRVAL2", &dec.to_string()),
        card("CRPIX1", &((n as f64 + 1.0) / 2.0).to_string()),
        card("CRPIX2", &((n as f64 + 1.0) / 2.0).to_string()),
        card("CDELT1", &(-scale).to_string()),
        card("CDELT2", &scale.to_string()),
        card("RADESYS", "'ICRS'"),
    ];
    cards.extend(extra.iter().cloned());
    let mut bytes = Vec::new();
    for y in 0..n {
        for x in 0..n {
            let v = value(x, y);
            match bitpix {
                16 => bytes.extend_from_slice(&(v as i16).to_be_bytes()),
                _ => bytes.extend_from_slice(&(v as f32).to_be_bytes()),
            }
        }
    }
    let header = ImageCards {
        bitpix,
        naxis: vec![n, n],
        cards,
    };
    let data = SectionData {
        bitpix,
        shape: vec![n, n],
        bytes,
    };
    let mut f = std::fs::File::create(path).expect("create");
    vo_fits::write_image(&mut f, &header, &data, true).expect("write");
}

fn options(out: &Path, overlay: Overlay) -> BuildOptions {
    BuildOptions {
        out: out.to_path_buf(),
        order: Some(5),
        frame: HipsFrame::equatorial(),
        tile_width: 64,
        overlay,
        hdu: HduChoice::Science,
        resume: false,
        formats: vec![TileFormat::Fits],
        pixel_cut: None,
        properties: Properties {
            creator_did: "ivo://vogate.local/P/test".into(),
            obs_title: "test".into(),
            release_date: "2026-12-05T00:00Z".into(),
            builder: "vogate test".into(),
            ..Default::default()
        },
    }
}

/// Every value of every tile of `order` under `root`.
fn tile_values(root: &Path, order: u8) -> Vec<f32> {
    let mut out = Vec::new();
    for t in tiles(root, order) {
        out.extend(read_tile(&t).expect("tile"));
    }
    out
}

fn tiles(root: &Path, order: u8) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walk(&root.join(format!("Norder{order}")))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "fits"))
        .filter(|p| p.file_name().is_some_and(|n| n != "Allsky.fits"))
        .collect();
    v.sort();
    v
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Two overlapping constant images, 1.0 and 3.0, in that order.
fn two_images(dir: &Path) -> Vec<PathBuf> {
    let a = dir.join("a.fits");
    let b = dir.join("b.fits");
    write_tan(&a, (40.0, 10.0), 80, 0.02, -32, |_, _| 1.0, &[]);
    write_tan(&b, (40.8, 10.0), 80, 0.02, -32, |_, _| 3.0, &[]);
    vec![a, b]
}

#[test]
fn overlays_combine_overlapping_images() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = two_images(dir.path());
    let stop = AtomicBool::new(false);
    let count = |v: &[f32], x: f32| v.iter().filter(|&&a| (a - x).abs() < 1e-6).count();
    let mut seen = Vec::new();
    for overlay in [Overlay::Mean, Overlay::First, Overlay::Fading] {
        let out = dir.path().join(overlay.name());
        let r = vo_hips::build(&inputs, &options(&out, overlay), &Quiet, &stop).expect("build");
        assert_eq!((r.images, r.order, r.bitpix), (2, 5, -32));
        let v: Vec<f32> = tile_values(&out, 5)
            .into_iter()
            .filter(|v| !v.is_nan())
            .collect();
        assert!(
            count(&v, 1.0) > 1000 && count(&v, 3.0) > 1000,
            "{overlay:?}"
        );
        seen.push(v);
    }
    // Mean: the overlap (0.8 deg of 1.6) is 2 exactly; nothing else.
    let (mean, first, fading) = (&seen[0], &seen[1], &seen[2]);
    assert!(count(mean, 2.0) > 1000);
    assert_eq!(
        count(mean, 1.0) + count(mean, 2.0) + count(mean, 3.0),
        mean.len()
    );
    // First: the first image wins where both have data.
    assert_eq!(count(first, 2.0), 0);
    assert!(count(first, 1.0) > count(mean, 1.0));
    // Fading: values between 1 and 3, most of the overlap strictly between.
    assert!(fading.iter().all(|&v| (1.0..=3.0).contains(&v)));
    let between = fading.iter().filter(|&&v| v > 1.01 && v < 2.99).count();
    assert!(between > 1000, "{between}");
    assert_eq!(mean.len(), fading.len());
}

#[test]
fn integer_inputs_keep_bitpix_scaling_and_blank() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("int.fits");
    let extra = [
        card("BSCALE", "0.5"),
        card("BZERO", "100.0"),
        card("BLANK", "-32768"),
    ];
    // The left half blank, the right half 20 (physical 110).
    write_tan(
        &p,
        (200.0, -30.0),
        60,
        0.02,
        16,
        |x, _| if x < 30 { -32768.0 } else { 20.0 },
        &extra,
    );
    let out = dir.path().join("h");
    let r = vo_hips::build(
        std::slice::from_ref(&p),
        &options(&out, Overlay::Mean),
        &Quiet,
        &AtomicBool::new(false),
    )
    .expect("build");
    assert_eq!(r.bitpix, 16);
    let t = &tiles(&out, 5)[0];
    let cards = ImageCards::read(t, 0).expect("header");
    assert_eq!(cards.bitpix, 16);
    assert_eq!(cards.number("BSCALE"), Some(0.5));
    assert_eq!(cards.number("BZERO"), Some(100.0));
    assert_eq!(cards.number("BLANK"), Some(-32768.0));
    let v = tile_values(&out, 5);
    let set: Vec<f32> = v.iter().copied().filter(|v| !v.is_nan()).collect();
    assert!(!set.is_empty() && set.iter().all(|&v| v == 110.0));
    // The blank half stays blank: fewer values than an all-data image would give.
    assert!(v.iter().any(|v| v.is_nan()));
    let props = std::fs::read_to_string(out.join("properties")).expect("properties");
    assert!(props.contains("hips_data_range      = 110 110"), "{props}");
    assert!(props.contains("hips_pixel_bitpix    = 16"), "{props}");
}

#[test]
fn bad_inputs_are_reported_and_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = dir.path().join("good.fits");
    write_tan(
        &good,
        (10.0, 5.0),
        40,
        0.02,
        -32,
        |x, y| (x + y) as f64,
        &[],
    );
    let corrupt = dir.path().join("corrupt.fits");
    std::fs::write(&corrupt, vec![b'x'; 2880]).expect("write");
    let short = dir.path().join("short.fits");
    let bytes = std::fs::read(&good).expect("read");
    std::fs::write(&short, &bytes[..bytes.len() - 2880]).expect("write");
    let nowcs = dir.path().join("nowcs.fits");
    let header = ImageCards {
        bitpix: -32,
        naxis: vec![4, 4],
        cards: vec![],
    };
    let data = SectionData {
        bitpix: -32,
        shape: vec![4, 4],
        bytes: vec![0; 64],
    };
    let mut f = std::fs::File::create(&nowcs).expect("create");
    vo_fits::write_image(&mut f, &header, &data, true).expect("write");
    // Inside the folder: a link to nothing and a folder, both with FITS names.
    std::os::unix::fs::symlink(
        dir.path().join("gone.fits"),
        dir.path().join("dangling.fits"),
    )
    .expect("symlink");
    std::fs::create_dir(dir.path().join("folder.fits")).expect("mkdir");
    let out = dir.path().join("h");
    let r = vo_hips::build(
        &[dir.path().to_path_buf()],
        &options(&out, Overlay::Mean),
        &Quiet,
        &AtomicBool::new(false),
    )
    .expect("the build goes on past bad files");
    assert_eq!(r.images, 1);
    let reason = |p: &Path| {
        r.skipped
            .iter()
            .find(|(q, _)| q == p)
            .map(|(_, e)| e.clone())
            .unwrap_or_else(|| panic!("{} not listed: {:?}", p.display(), r.skipped))
    };
    assert!(
        reason(&corrupt).contains("not a valid FITS"),
        "{}",
        reason(&corrupt)
    );
    assert!(reason(&short).contains("short"), "{}", reason(&short));
    assert!(reason(&nowcs).contains("HDU 0"), "{}", reason(&nowcs));
    assert_eq!(
        reason(&dir.path().join("dangling.fits")),
        "a link to nothing"
    );
    assert!(reason(&dir.path().join("folder.fits")).contains("a folder"));
    assert_eq!(r.skipped.len(), 5, "{:?}", r.skipped);
    assert!(r.tiles[5] > 0);
}

#[test]
fn nothing_to_build_is_an_error_before_any_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stop = AtomicBool::new(false);
    let out = dir.path().join("h");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let e = vo_hips::build(
        std::slice::from_ref(&empty),
        &options(&out, Overlay::Mean),
        &Quiet,
        &stop,
    )
    .expect_err("no input");
    assert!(e.contains("no input"), "{e}");
    let bad = empty.join("bad.fits");
    std::fs::write(&bad, b"SIMPLE").expect("write");
    let e = vo_hips::build(
        std::slice::from_ref(&empty),
        &options(&out, Overlay::Mean),
        &Quiet,
        &stop,
    )
    .expect_err("nothing usable");
    assert!(
        e.contains("no usable input image") && e.contains("bad.fits"),
        "{e}"
    );
    let missing = dir.path().join("missing.fits");
    let e = vo_hips::build(&[missing], &options(&out, Overlay::Mean), &Quiet, &stop)
        .expect_err("missing");
    assert!(e.contains("missing.fits"), "{e}");

    let inputs = two_images(dir.path());
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").expect("write");
    let e = vo_hips::build(
        &inputs,
        &options(&file.join("h"), Overlay::Mean),
        &Quiet,
        &stop,
    )
    .expect_err("unwritable");
    assert!(e.contains("output directory"), "{e}");
    let mut o = options(&out, Overlay::Mean);
    o.tile_width = 100;
    let e = vo_hips::build(&inputs, &o, &Quiet, &stop).expect_err("width");
    assert!(e.contains("tile width 100"), "{e}");
    let mut o = options(&out, Overlay::Mean);
    o.order = Some(25);
    let e = vo_hips::build(&inputs, &o, &Quiet, &stop).expect_err("order");
    assert!(e.contains("order 25"), "{e}");
    // No tile was written by any of these.
    assert!(!out.join("Norder5").exists());
}

/// Stops the build (sets `stop`) after `after` tiles of the deepest order.
struct StopAfter<'a> {
    stop: &'a AtomicBool,
    after: u64,
    deepest: AtomicBool,
    done: AtomicU64,
}

impl Progress for StopAfter<'_> {
    fn stage(&self, name: &str, _: u64) {
        self.deepest
            .store(name == "order 5 tiles", Ordering::SeqCst);
    }
    fn advance(&self, n: u64) {
        if self.deepest.load(Ordering::SeqCst)
            && self.done.fetch_add(n, Ordering::SeqCst) + n >= self.after
        {
            self.stop.store(true, Ordering::SeqCst);
        }
    }
}

#[test]
fn an_interrupted_build_resumes_to_the_same_tiles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = two_images(dir.path());
    let whole = dir.path().join("whole");
    vo_hips::build(
        &inputs,
        &options(&whole, Overlay::Mean),
        &Quiet,
        &AtomicBool::new(false),
    )
    .expect("whole build");

    let out = dir.path().join("resumed");
    let stop = AtomicBool::new(false);
    let p = StopAfter {
        stop: &stop,
        after: 2,
        deepest: AtomicBool::new(false),
        done: AtomicU64::new(0),
    };
    let e =
        vo_hips::build(&inputs, &options(&out, Overlay::Mean), &p, &stop).expect_err("interrupted");
    assert_eq!(e, INTERRUPTED);
    let kept = tiles(&out, 5).len();
    assert!(kept < tiles(&whole, 5).len(), "{kept}");
    assert!(!walk(&out)
        .iter()
        .any(|p| p.to_string_lossy().ends_with(".part")));

    // Another overlay is another build: --resume refuses it.
    let mut other = options(&out, Overlay::First);
    other.resume = true;
    let e = vo_hips::build(&inputs, &other, &Quiet, &AtomicBool::new(false))
        .expect_err("other options");
    assert!(e.contains("other inputs or options"), "{e}");

    let mut again = options(&out, Overlay::Mean);
    again.resume = true;
    let r = vo_hips::build(&inputs, &again, &Quiet, &AtomicBool::new(false)).expect("resumed");
    assert_eq!(r.made + kept, r.tiles[5]);
    for order in 0..=5 {
        let (a, b) = (tiles(&whole, order), tiles(&out, order));
        assert_eq!(a.len(), b.len(), "order {order}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                std::fs::read(x).expect("read"),
                std::fs::read(y).expect("read"),
                "{}",
                y.display()
            );
        }
    }
    for f in ["Norder3/Allsky.fits", "Moc.fits"] {
        assert_eq!(
            std::fs::read(whole.join(f)).expect(f),
            std::fs::read(out.join(f)).expect(f),
            "{f}"
        );
    }
}

#[test]
fn png_and_jpeg_tiles_are_the_fits_tiles_through_the_cut() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("ramp.fits");
    // A ramp with a blank corner: values 0..=158, NaN where x + y < 10.
    write_tan(
        &p,
        (80.0, 20.0),
        80,
        0.02,
        -32,
        |x, y| if x + y < 10 { f64::NAN } else { (x + y) as f64 },
        &[],
    );
    let out = dir.path().join("h");
    let mut o = options(&out, Overlay::Mean);
    o.formats = TileFormat::parse_list("png,jpeg").expect("formats");
    o.pixel_cut = Some(PixelCut::parse("20 140 sqrt").expect("cut"));
    vo_hips::build(
        std::slice::from_ref(&p),
        &o,
        &Quiet,
        &AtomicBool::new(false),
    )
    .expect("build");
    let cut = o.pixel_cut.expect("cut");
    let mut checked = 0;
    let mut jpeg_error = 0.0;
    for order in [5u8, 2, 0] {
        for t in tiles(&out, order) {
            let fits = read_tile(&t).expect("fits");
            let png = image::open(t.with_extension("png"))
                .expect("png")
                .to_luma_alpha8();
            let jpg = image::open(t.with_extension("jpg"))
                .expect("jpg")
                .to_luma8();
            let n = 64;
            for y in 0..n {
                for x in 0..n {
                    // Image row 0 is the FITS tile's top row (y = n - 1).
                    let px = png.get_pixel(x as u32, (n - 1 - y) as u32).0;
                    match cut.grey(fits[y * n + x]) {
                        Some(g) => {
                            assert_eq!(px, [g, 255], "{} ({x}, {y})", t.display());
                            // JPEG is lossy (most of all beside blank pixels, drawn black):
                            // its mean error is bounded below.
                            let j = jpg.get_pixel(x as u32, (n - 1 - y) as u32).0[0];
                            jpeg_error += (f64::from(j) - f64::from(g)).abs();
                            checked += 1;
                        }
                        None => assert_eq!(px[1], 0, "blank is transparent"),
                    }
                }
            }
        }
    }
    assert!(checked > 2000, "{checked}");
    let mean = jpeg_error / f64::from(checked);
    assert!(mean < 2.0, "JPEG grey levels off by {mean} on average");
    assert!(out.join("Norder3/Allsky.png").exists() && out.join("Norder3/Allsky.jpg").exists());
    let props = std::fs::read_to_string(out.join("properties")).expect("properties");
    assert!(
        props.contains("hips_tile_format     = fits png jpeg"),
        "{props}"
    );
    assert!(props.contains("hips_pixel_cut       = 20 140"), "{props}");
}

#[test]
fn tiles_smaller_than_the_pixels_all_get_made() {
    // 20 x 20 pixels of 0.5 deg (10 x 10 deg); order 7 tiles are 0.46 deg wide, smaller than
    // a pixel: every tile the image covers is made, not only those under pixel centres.
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("coarse.fits");
    write_tan(&p, (120.0, 30.0), 20, 0.5, -32, |x, y| (x * y) as f64, &[]);
    let out = dir.path().join("h");
    let mut o = options(&out, Overlay::Mean);
    o.order = Some(7);
    o.tile_width = 8;
    let r = vo_hips::build(
        std::slice::from_ref(&p),
        &o,
        &Quiet,
        &AtomicBool::new(false),
    )
    .expect("build");
    // 100 deg² of tiles of 41253 / (12 4^7) = 0.2098 deg² each: about 477 (the image's TAN
    // area is a little more than 100 deg²).
    assert!(r.tiles[7] >= 470, "{}", r.tiles[7]);
    assert!(
        (r.sky_fraction - 100.0 / 41253.0).abs() < 0.1 * 100.0 / 41253.0,
        "{}",
        r.sky_fraction
    );
}

#[test]
fn infinities_are_no_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("inf.fits");
    write_tan(
        &p,
        (10.0, 10.0),
        40,
        0.02,
        -32,
        |x, y| match (x, y) {
            (5, 5) => f64::INFINITY,
            (6, 6) => f64::NEG_INFINITY,
            _ => 7.0,
        },
        &[],
    );
    let out = dir.path().join("h");
    vo_hips::build(
        std::slice::from_ref(&p),
        &options(&out, Overlay::Mean),
        &Quiet,
        &AtomicBool::new(false),
    )
    .expect("build");
    assert!(tile_values(&out, 5).iter().all(|v| v.is_nan() || *v == 7.0));
    let props = std::fs::read_to_string(out.join("properties")).expect("properties");
    assert!(props.contains("hips_data_range      = 7 7"), "{props}");
    assert!(!props.contains("inf"), "{props}");
}

#[test]
fn an_output_folder_inside_the_input_folder_is_never_an_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    two_images(dir.path());
    let out = dir.path().join("hips");
    let inputs = [dir.path().to_path_buf(), dir.path().join("a.fits")];
    let stop = AtomicBool::new(false);
    let first =
        vo_hips::build(&inputs, &options(&out, Overlay::Mean), &Quiet, &stop).expect("first");
    // a.fits named twice is one input; the tiles written are not inputs the second time.
    assert_eq!(first.images, 2);
    let again =
        vo_hips::build(&inputs, &options(&out, Overlay::Mean), &Quiet, &stop).expect("again");
    assert_eq!((again.images, again.tiles.clone()), (2, first.tiles));
    assert!(again.skipped.is_empty(), "{:?}", again.skipped);
}

#[test]
fn a_build_with_no_data_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("blank.fits");
    write_tan(&p, (10.0, 10.0), 30, 0.02, -32, |_, _| f64::NAN, &[]);
    let out = dir.path().join("h");
    let e = vo_hips::build(
        std::slice::from_ref(&p),
        &options(&out, Overlay::Mean),
        &Quiet,
        &AtomicBool::new(false),
    )
    .expect_err("no data");
    assert!(e.contains("no tile of order 5 has data"), "{e}");
    // An image smaller than a tile pixel at the order asked for.
    let tiny = dir.path().join("tiny.fits");
    write_tan(&tiny, (10.0, 10.0), 3, 0.001, -32, |_, _| 1.0, &[]);
    let e = vo_hips::build(
        std::slice::from_ref(&tiny),
        &options(&out, Overlay::Mean),
        &Quiet,
        &AtomicBool::new(false),
    )
    .expect_err("too coarse");
    assert!(e.contains("deeper --order"), "{e}");
    assert!(!out.join("properties").exists());
}

/// Every file under `root` (hidden ones too) with its bytes.
fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut v: Vec<(PathBuf, Vec<u8>)> = walk(root)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read");
            (
                p.strip_prefix(root).expect("under root").to_path_buf(),
                bytes,
            )
        })
        .collect();
    v.sort();
    v
}

/// The `properties` of a HiPS without the dates.
fn properties_but_dates(root: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root.join("properties")).expect("properties");
    vo_hips::properties::parse(&text)
        .into_iter()
        .filter(|(k, _)| !k.ends_with("_date"))
        .collect()
}

/// Two HiPS have the same tiles at every order, Allsky, MOC and properties (but dates):
/// FITS values equal within float32 rounding, blanks in the same places.
fn assert_same_hips(a: &Path, b: &Path, order: u8) {
    for k in 0..=order {
        let (ta, tb) = (tiles(a, k), tiles(b, k));
        let names = |t: &[PathBuf], root: &Path| -> Vec<PathBuf> {
            t.iter()
                .map(|p| p.strip_prefix(root).expect("under").to_path_buf())
                .collect()
        };
        assert_eq!(names(&ta, a), names(&tb, b), "tiles of order {k}");
        for (x, y) in ta.iter().zip(&tb) {
            let (vx, vy) = (read_tile(x).expect("tile"), read_tile(y).expect("tile"));
            for (i, (p, q)) in vx.iter().zip(&vy).enumerate() {
                assert_eq!(p.is_nan(), q.is_nan(), "{} pixel {i}", y.display());
                assert!(
                    p.is_nan() || (p - q).abs() <= 1e-6 * p.abs().max(1.0),
                    "{} pixel {i}: {p} and {q}",
                    y.display()
                );
            }
        }
        for ext in ["png", "jpg"] {
            let count = |root: &Path| {
                walk(&root.join(format!("Norder{k}")))
                    .iter()
                    .filter(|p| p.extension().is_some_and(|e| e == ext))
                    .count()
            };
            assert_eq!(count(a), count(b), "{ext} tiles of order {k}");
        }
    }
    let allsky = |root: &Path| read_tile(&root.join("Norder3/Allsky.fits")).expect("allsky");
    let (x, y) = (allsky(a), allsky(b));
    assert_eq!(x.len(), y.len());
    for (p, q) in x.iter().zip(&y) {
        assert!(
            p.is_nan() == q.is_nan() && (p.is_nan() || (p - q).abs() <= 1e-6 * p.abs().max(1.0))
        );
    }
    assert_eq!(
        std::fs::read(a.join("Moc.fits")).expect("moc"),
        std::fs::read(b.join("Moc.fits")).expect("moc")
    );
    assert_eq!(properties_but_dates(a), properties_but_dates(b));
}

/// Four images: a and b overlap, c overlaps both and reaches further east, d lies alone in
/// the south; their values vary across them, so that the means are not trivial.
fn four_images(dir: &Path) -> Vec<PathBuf> {
    let p: Vec<PathBuf> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| dir.join(format!("{n}.fits")))
        .collect();
    write_tan(
        &p[0],
        (40.0, 10.0),
        80,
        0.02,
        -32,
        |x, _| 1.0 + 0.01 * x as f64,
        &[],
    );
    write_tan(
        &p[1],
        (40.8, 10.0),
        80,
        0.02,
        -32,
        |_, y| 3.0 + 0.02 * y as f64,
        &[],
    );
    write_tan(
        &p[2],
        (41.5, 10.4),
        80,
        0.02,
        -32,
        |x, y| 5.0 + 0.01 * (x + y) as f64,
        &[],
    );
    write_tan(
        &p[3],
        (60.0, -20.0),
        40,
        0.02,
        -32,
        |x, _| 2.0 - 0.01 * x as f64,
        &[],
    );
    p
}

fn add_options(out: &Path) -> vo_hips::AddOptions {
    vo_hips::AddOptions {
        out: out.to_path_buf(),
        hdu: HduChoice::Science,
        em: None,
        t: None,
        release_date: "2026-12-06T00:00Z".into(),
        builder: "vogate test".into(),
    }
}

#[test]
fn adding_images_gives_the_hips_of_building_all_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = four_images(dir.path());
    let go = AtomicBool::new(false);
    for overlay in [Overlay::Mean, Overlay::Fading, Overlay::First] {
        let mut o = options(&dir.path().join(format!("all-{}", overlay.name())), overlay);
        o.formats = vec![TileFormat::Fits, TileFormat::Png];
        o.pixel_cut = Some(PixelCut::parse("0 6 sqrt").expect("cut"));
        let all = o.out.clone();
        vo_hips::build(&inputs, &o, &Quiet, &go).expect("build of all");

        let part = dir.path().join(format!("part-{}", overlay.name()));
        o.out = part.clone();
        vo_hips::build(&inputs[..2], &o, &Quiet, &go).expect("build of a and b");
        let before = tiles(&part, 5).len();
        let r = vo_hips::add(&inputs[2..], &add_options(&part), &Quiet, &go).expect("add");
        assert_eq!(r.images, 2);
        // c reaches tiles a and b have, and new ones; d only new ones.
        assert!(r.made > 0 && r.tiles[5] > before, "{r:?} {before}");
        assert_same_hips(&all, &part, 5);
        // The weights of the add agree with the build's too (counts for the mean).
        let w = |root: &Path| {
            let mut v = Vec::new();
            for t in tiles(root, 5) {
                let name = t.strip_prefix(root).expect("under").to_path_buf();
                v.extend(read_tile(&root.join(".weights").join(name)).expect("weights"));
            }
            v
        };
        let (wa, wp) = (w(&all), w(&part));
        assert_eq!(wa.len(), wp.len());
        assert!(wa
            .iter()
            .zip(&wp)
            .all(|(x, y)| (x - y).abs() <= 1e-5 * x.abs().max(1.0)));
        if overlay == Overlay::Mean {
            // Up to three images overlap.
            assert_eq!(wa.iter().cloned().fold(0.0, f32::max), 3.0);
        }
        assert!(!part.join(".vogate-add").exists());
    }
}

#[test]
fn bad_adds_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = four_images(dir.path());
    let go = AtomicBool::new(false);
    let out = dir.path().join("hips");
    vo_hips::build(&inputs[..2], &options(&out, Overlay::Mean), &Quiet, &go).expect("build");
    let before = snapshot(&out);

    // An input already in the HiPS would be counted twice.
    let e = vo_hips::add(&inputs[1..3], &add_options(&out), &Quiet, &go).expect_err("twice");
    assert!(
        e.contains("b.fits") && e.contains("already in this HiPS"),
        "{e}"
    );
    // Not a HiPS.
    let e =
        vo_hips::add(&inputs[2..], &add_options(dir.path()), &Quiet, &go).expect_err("not a HiPS");
    assert!(e.contains("properties") && e.contains("not a HiPS"), "{e}");
    // No input, and nothing to finish.
    let e = vo_hips::add(&[], &add_options(&out), &Quiet, &go).expect_err("no input");
    assert!(e.contains("no input"), "{e}");
    // A corrupt file only: no usable image.
    let junk = dir.path().join("junk.fits");
    std::fs::write(&junk, b"SIMPLE  =                    T").expect("write");
    let e = vo_hips::add(&[junk], &add_options(&out), &Quiet, &go).expect_err("junk");
    assert!(e.contains("no usable input image"), "{e}");
    // Stopped while the new tiles are made: the HiPS is as it was.
    let e = vo_hips::add(
        &inputs[2..],
        &add_options(&out),
        &Quiet,
        &AtomicBool::new(true),
    )
    .expect_err("stopped");
    assert_eq!(e, INTERRUPTED);
    assert_eq!(snapshot(&out), before);

    // Integer tiles and a float image: a build of all would make float tiles.
    let int_out = dir.path().join("int");
    let int_img = dir.path().join("int.fits");
    write_tan(&int_img, (40.0, 10.0), 80, 0.02, 16, |x, _| x as f64, &[]);
    vo_hips::build(&[int_img], &options(&int_out, Overlay::Mean), &Quiet, &go).expect("build");
    let e = vo_hips::add(&inputs[1..2], &add_options(&int_out), &Quiet, &go)
        .expect_err("float into integer");
    assert!(
        e.contains("BITPIX -32") && e.contains("build the HiPS again"),
        "{e}"
    );
}

/// Sets `stop` when a stage named `name` begins.
struct StopAt<'a> {
    stop: &'a AtomicBool,
    name: &'a str,
}

impl Progress for StopAt<'_> {
    fn stage(&self, name: &str, _: u64) {
        if name == self.name {
            self.stop.store(true, Ordering::SeqCst);
        }
    }
    fn advance(&self, _: u64) {}
}

#[test]
fn an_add_stopped_while_putting_tiles_in_place_is_finished_by_the_next() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = four_images(dir.path());
    let go = AtomicBool::new(false);
    // An add keeps the HiPS's pixel cut, where a build of all makes one from all the data:
    // the same cut is given to both.
    let cut = |root: &Path| {
        let mut o = options(root, Overlay::Mean);
        o.pixel_cut = Some(PixelCut::parse("1 6").expect("cut"));
        o
    };
    let all = dir.path().join("all");
    vo_hips::build(&inputs, &cut(&all), &Quiet, &go).expect("build");
    let out = dir.path().join("part");
    vo_hips::build(&inputs[..2], &cut(&out), &Quiet, &go).expect("build");
    let stop = AtomicBool::new(false);
    let at = StopAt {
        stop: &stop,
        name: "order 3 tiles",
    };
    let e = vo_hips::add(&inputs[2..], &add_options(&out), &at, &stop).expect_err("stopped");
    assert_eq!(e, vo_hips::add::ADD_INTERRUPTED);
    assert!(out.join(".vogate-add/ready").exists());
    // An add with no input finishes it.
    let r = vo_hips::add(&[], &add_options(&out), &Quiet, &go).expect("finished");
    assert!(r.made > 0);
    assert!(!out.join(".vogate-add").exists());
    assert_same_hips(&all, &out, 5);
    // The same inputs again are refused: they are in the HiPS now.
    let e = vo_hips::add(&inputs[2..], &add_options(&out), &Quiet, &go).expect_err("twice");
    assert!(e.contains("already in this HiPS"), "{e}");
}

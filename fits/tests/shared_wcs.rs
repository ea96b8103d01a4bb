//! The celestial WCS of every image HDU of ../shared/data/fits (MANIFEST.md) in both
//! directions: pixel -> ICRS -> pixel within 1e-6 pixel at the corners, the centre, 100
//! pseudo-random pixels and pixels outside the image; the all-sky AIT map's pixels outside
//! its ellipse have no sky position, and every sky position has a pixel on it.
//!
//! Without ../shared the test is skipped and counted so; under `CI=true` that is a failure.

use vo_common::sky::SkyPoint;
use vo_fits::{read_headers, CelestialWcs};

fn main() -> std::process::ExitCode {
    vo_testkit::run(vec![
        vo_testkit::Test::sync(
            "every_shared_wcs_round_trips_pixel_sky_pixel",
            every_shared_wcs_round_trips_pixel_sky_pixel,
        )
        .needs(&vo_testkit::shared("data/fits")),
        vo_testkit::Test::sync(
            "every_shared_file_is_complete",
            every_shared_file_is_complete,
        )
        .needs(&vo_testkit::shared("data/fits")),
        vo_testkit::Test::sync(
            "plain_headers_are_what_cfitsio_reads_on_every_shared_file",
            plain_headers_are_what_cfitsio_reads_on_every_shared_file,
        )
        .needs(&vo_testkit::shared("data/fits")),
        vo_testkit::Test::sync(
            "the_all_sky_ait_map_has_no_sky_outside_its_ellipse",
            the_all_sky_ait_map_has_no_sky_outside_its_ellipse,
        )
        .needs(&vo_testkit::shared("data/fits")),
    ])
}

/// vogate's own reading of the cards ([`vo_fits::header::read_headers_plain`]) gives what
/// CFITSIO gives, on every shared file it reads (the plain ones; gzip and tile-compressed
/// files are left to CFITSIO, and at least 15 files are read).
fn plain_headers_are_what_cfitsio_reads_on_every_shared_file() {
    let dir = vo_testkit::shared_dir("data/fits");
    let mut plain_files = 0;
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("read_dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains(".fits"))
        .collect();
    names.sort();
    for path in names {
        let (layouts, headers) = vo_fits::check_file_with_headers(&path).expect("complete");
        let Some(plain) =
            headers.and_then(|h| vo_fits::header::read_headers_plain(&layouts, &h, &[]))
        else {
            let name = path.to_string_lossy().to_string();
            assert!(
                name.ends_with(".gz") || name.ends_with(".fz") || name.contains("comp_"),
                "{name} is left to CFITSIO"
            );
            continue;
        };
        let cfitsio = read_headers(&path).expect("cfitsio");
        assert_eq!(plain, cfitsio, "{}", path.display());
        plain_files += 1;
    }
    assert!(plain_files >= 15, "{plain_files}");
}

/// Pixels over an image of `n1` x `n2`: corners, centre, outside, and 100 pseudo-random ones.
fn sample_pixels(n1: i64, n2: i64) -> Vec<(f64, f64)> {
    let (w, h) = (n1 as f64, n2 as f64);
    let mut out = vec![
        (0.5, 0.5),
        (w + 0.5, 0.5),
        (0.5, h + 0.5),
        (w + 0.5, h + 0.5),
        ((w + 1.0) / 2.0, (h + 1.0) / 2.0),
        (-0.25 * w, 0.5 * h),
        (1.25 * w, 0.5 * h),
        (0.5 * w, -0.25 * h),
        (0.5 * w, 1.25 * h),
    ];
    let mut s: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..100 {
        out.push((0.5 + next() * w, 0.5 + next() * h));
    }
    out
}

fn every_shared_wcs_round_trips_pixel_sky_pixel() {
    let dir = vo_testkit::shared_dir("data/fits");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("data/fits")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".fits"))
        .collect();
    names.sort();
    let (mut hdus, mut positions) = (0, 0);
    for name in &names {
        let headers = read_headers(&dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        for h in &headers.images {
            let Ok(wcs) = CelestialWcs::from_header(h) else {
                continue;
            };
            hdus += 1;
            for (x, y) in sample_pixels(wcs.naxis1, wcs.naxis2) {
                let Some(p) = wcs.pixel_to_icrs(x, y) else {
                    continue;
                };
                let (bx, by) = wcs
                    .icrs_to_pixel(p)
                    .unwrap_or_else(|e| panic!("{name} HDU {}: ({x}, {y}) at {p:?}: {e}", h.index));
                let miss = (bx - x).hypot(by - y);
                assert!(
                    miss < 1e-6,
                    "{name} HDU {}: ({x}, {y}) -> {p:?} -> ({bx}, {by}): {miss} pixel",
                    h.index
                );
                positions += 1;
            }
        }
    }
    // MANIFEST.md: 21 files with a celestial WCS, 24 such HDUs (test0's 3 TAN chips, HSC's
    // image, mask and variance).
    assert!(hdus >= 24, "only {hdus} HDUs with a WCS");
    eprintln!("shared_wcs: {positions} positions on {hdus} HDUs round-trip within 1e-6 pixel");
}

fn every_shared_file_is_complete() {
    let dir = vo_testkit::shared_dir("data/fits");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("data/fits") {
        let path = entry.expect("entry").path();
        if !path.to_string_lossy().contains(".fits") {
            continue;
        }
        let hdus = vo_fits::check_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Each file's last HDU ends at its end (whole-file gzip: in the stream).
        let last = hdus.last().expect("an HDU");
        let end = last.data_start + last.data_bytes.div_ceil(2880) * 2880;
        if !path.to_string_lossy().ends_with(".gz") {
            let len = std::fs::metadata(&path).expect("stat").len();
            assert_eq!(end, len, "{}", path.display());
        }
        files += 1;
    }
    assert!(files >= 22, "{files} files");
}

fn the_all_sky_ait_map_has_no_sky_outside_its_ellipse() {
    let path = vo_testkit::shared_dir("data/fits").join("allsky_rosat_ait.fits");
    let headers = read_headers(&path).expect("allsky_rosat_ait.fits");
    let wcs = CelestialWcs::from_header(&headers.images[0]).expect("AIT");
    // MANIFEST.md: 480 x 240 pixels of 0.675 degrees centred on (l, b) = (0, 0); the corners
    // lie outside the ellipse.
    for (x, y) in [
        (0.5, 0.5),
        (480.5, 0.5),
        (0.5, 240.5),
        (480.5, 240.5),
        (10.0, 10.0),
    ] {
        assert!(
            wcs.pixel_to_icrs(x, y).is_none(),
            "({x}, {y}) has a sky position"
        );
    }
    // Every sky position, the Galactic poles and anticentre included, has a pixel inside.
    for (ra, dec) in [
        (192.859508, 27.128336),
        (12.859508, -27.128336),
        (86.405, 28.936),
        (266.405, -28.936),
        (0.0, 0.0),
        (359.9999, -89.9999),
    ] {
        let (x, y) = wcs
            .icrs_to_pixel(SkyPoint::new(ra, dec))
            .unwrap_or_else(|e| panic!("({ra}, {dec}): {e}"));
        assert!(
            (0.0..=481.0).contains(&x) && (0.0..=241.0).contains(&y),
            "({ra}, {dec}) -> ({x}, {y})"
        );
        let back = wcs.pixel_to_icrs(x, y).expect("on the map");
        assert!(back.distance(SkyPoint::new(ra, dec)) < 1e-9, "{back:?}");
    }
}

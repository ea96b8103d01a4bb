//! vo-fits's sky -> pixel against astropy's `all_world2pix(..., tolerance=1e-10)` (WCSLIB)
//! within 1e-6 pixel, for every image HDU of ../shared/data/fits with a celestial WCS, at the
//! corners, the centre, positions outside the image and 100 pseudo-random pixels. The
//! positions are compared in the image's own frame (RA/Dec or Galactic), as all_world2pix
//! takes them; the frame change to ICRS is tested against astropy on its own.
//!
//! The oracle is made by `conformance/wcs_oracle.py FITS_DIR OUT.json` (astropy in a venv;
//! .ci/run does it) and found through `VOGATE_WCS_ORACLE=OUT.json`. Without it the test is
//! skipped and counted so; under `CI=true` that is a failure.

use std::path::PathBuf;
use vo_fits::{read_headers, CelestialWcs};

fn oracle() -> Result<PathBuf, String> {
    let path = std::env::var_os("VOGATE_WCS_ORACLE")
        .map(PathBuf::from)
        .ok_or(
            "VOGATE_WCS_ORACLE is not set (conformance/wcs_oracle.py makes the astropy oracle)",
        )?;
    if !path.is_file() {
        return Err(format!(
            "VOGATE_WCS_ORACLE = {} is not a file",
            path.display()
        ));
    }
    Ok(path)
}

fn main() -> std::process::ExitCode {
    vo_testkit::run(vec![vo_testkit::Test::sync(
        "sky_to_pixel_agrees_with_astropy_all_world2pix",
        sky_to_pixel_agrees_with_astropy_all_world2pix,
    )
    .needs(&vo_testkit::shared("data/fits"))
    .needs(&vo_testkit::Need::check(oracle().map(|_| ())))])
}

fn sky_to_pixel_agrees_with_astropy_all_world2pix() {
    let path = oracle().expect("oracle");
    let text = std::fs::read_to_string(&path).expect("read the oracle");
    let cases: serde_json::Value = serde_json::from_str(&text).expect("oracle JSON");
    let dir = vo_testkit::shared_dir("data/fits");
    let (mut hdus, mut positions, mut worst) = (0, 0, 0.0_f64);
    for case in cases.as_array().expect("a list") {
        let file = case["file"].as_str().expect("file");
        let index = case["hdu"].as_u64().expect("hdu") as usize;
        let headers = read_headers(&dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let h = headers
            .images
            .iter()
            .find(|h| h.index == index)
            .unwrap_or_else(|| panic!("{file}: no image HDU {index}"));
        let wcs = CelestialWcs::from_header(h)
            .unwrap_or_else(|e| panic!("{file} HDU {index}: astropy has a WCS, vo-fits: {e}"));
        hdus += 1;
        let pairs = |k: &str| -> Vec<(f64, f64)> {
            case[k]
                .as_array()
                .expect(k)
                .iter()
                .map(|p| (p[0].as_f64().expect("x"), p[1].as_f64().expect("y")))
                .collect()
        };
        for ((lon, lat), (ax, ay)) in pairs("world").into_iter().zip(pairs("pixel")) {
            let (x, y) = wcs
                .native_to_pixel(lon, lat)
                .unwrap_or_else(|e| panic!("{file} HDU {index}: ({lon}, {lat}): {e}"));
            let miss = (x - ax).hypot(y - ay);
            assert!(
                miss < 1e-6,
                "{file} HDU {index}: ({lon}, {lat}) -> ({x}, {y}), astropy ({ax}, {ay}): {miss} pixel"
            );
            worst = worst.max(miss);
            positions += 1;
        }
    }
    assert!(hdus >= 24, "the oracle has only {hdus} HDUs");
    eprintln!(
        "astropy_wcs: {positions} positions on {hdus} HDUs within {worst:.1e} pixel of astropy"
    );
}

//! Ingest tests on fixtures written by [`crate::demo::write_image`] with known WCS.

use crate::demo::{write_demo_sky, write_image, ImageSpec};
use crate::ingest::{ingest_file, iso_to_mjd, percent_encode, scan_tree, IngestConfig};
use vo_common::sky::{ccw_orientation, SkyPoint};

fn cfg() -> IngestConfig {
    IngestConfig {
        authority: "ivo://vogate.local".into(),
        obs_collection: "test".into(),
        calib_level: 2,
        base_url: "http://127.0.0.1:8080/".into(),
        access_url: crate::ingest::AccessUrl::File,
        mapping: Default::default(),
    }
}

/// The inverse gnomonic projection (Calabretta & Greisen 2002, eq. 54 with the TAN native
/// pole), written out independently of the `wcs` crate: FITS pixel to (ra, dec) degrees for an
/// image of `spec` with no rotation.
fn tan_pixel_to_sky(spec: &ImageSpec, px: f64, py: f64) -> SkyPoint {
    let crpix1 = (spec.naxis1 as f64 + 1.0) / 2.0;
    let crpix2 = (spec.naxis2 as f64 + 1.0) / 2.0;
    let xi = (-spec.scale * (px - crpix1)).to_radians();
    let eta = (spec.scale * (py - crpix2)).to_radians();
    let (ra0, dec0) = (spec.crval1.to_radians(), spec.crval2.to_radians());
    let den = dec0.cos() - eta * dec0.sin();
    let ra = ra0 + xi.atan2(den);
    let dec = (dec0.sin() + eta * dec0.cos()).atan2((xi * xi + den * den).sqrt());
    SkyPoint::new(ra.to_degrees(), dec.to_degrees())
}

#[test]
fn tan_image_row_matches_independent_projection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("a.fits");
    let mut spec = ImageSpec::tan(10.0, 20.0, 101, 81, 0.01);
    spec.object = Some("target A".into());
    spec.date_obs = Some("2024-01-15T03:00:00".into());
    spec.exptime = Some(432.0);
    spec.telescop = Some("T1".into());
    write_image(&path, &spec).expect("write");
    let row = ingest_file(&path, "sub dir/a.fits", &cfg()).expect("row");
    assert!(
        (row.s_ra - 10.0).abs() < 1e-9 && (row.s_dec - 20.0).abs() < 1e-9,
        "{row:?}"
    );
    assert_eq!((row.s_xel1, row.s_xel2), (101, 81));
    assert_eq!(
        row.obs_publisher_did,
        "ivo://vogate.local/test?sub%20dir/a.fits"
    );
    assert_eq!(
        row.access_url,
        "http://127.0.0.1:8080/files/sub%20dir%2Fa.fits"
    );
    assert_eq!(row.target_name.as_deref(), Some("target A"));
    assert_eq!(row.facility_name.as_deref(), Some("T1"));
    assert_eq!(row.instrument_name, None);
    assert_eq!(row.t_min, Some(60324.125));
    assert!((row.t_max.expect("t_max") - (60324.125 + 432.0 / 86400.0)).abs() < 1e-12);
    assert_eq!(row.t_exptime, Some(432.0));
    let want: Vec<SkyPoint> = [(0.5, 0.5), (101.5, 0.5), (101.5, 81.5), (0.5, 81.5)]
        .iter()
        .map(|&(x, y)| tan_pixel_to_sky(&spec, x, y))
        .collect();
    for w in &want {
        let nearest = row
            .corners
            .iter()
            .map(|c| c.distance(*w))
            .fold(f64::INFINITY, f64::min);
        assert!(
            nearest < 1e-8,
            "corner {w:?} missing from {:?}",
            row.corners
        );
    }
    assert!(ccw_orientation(&row.corners, SkyPoint::new(row.s_ra, row.s_dec)) > 0.0);
    let region = row.s_region.as_deref().expect("region");
    assert!(region.starts_with("POLYGON ICRS "));
    let nums: Vec<f64> = region[13..]
        .split(' ')
        .map(|x| x.parse().expect("number"))
        .collect();
    assert_eq!(nums.len(), 8);
    // s_fov: the corners of a centred rectangle lie on a circle around the centre.
    let want_fov = 2.0 * SkyPoint::new(10.0, 20.0).distance(want[0]);
    assert!(
        (row.s_fov - want_fov).abs() < 1e-6,
        "{} vs {want_fov}",
        row.s_fov
    );
    // s_resolution: the pixel scale in arcsec.
    assert!((row.s_resolution.expect("res") - 36.0).abs() < 0.01);
}

#[test]
fn galactic_car_centre_goes_to_icrs_through_erfa() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("gal.fits.gz");
    let mut spec = ImageSpec::tan(0.0, 0.0, 41, 41, 0.002);
    spec.ctype1 = "GLON-CAR".into();
    spec.ctype2 = "GLAT-CAR".into();
    spec.radesys = None;
    write_image(&path, &spec).expect("write gzip");
    let row = ingest_file(&path, "gal.fits.gz", &cfg()).expect("row");
    // astropy: SkyCoord(l=0, b=0, unit='deg', frame='galactic').icrs
    let want = SkyPoint::new(266.4049882865447, -28.936177761791473);
    assert!(
        SkyPoint::new(row.s_ra, row.s_dec).distance(want) * 3600.0 < 0.01,
        "{} {}",
        row.s_ra,
        row.s_dec
    );
    assert_eq!(row.access_format, "application/gzip");
}

#[test]
fn ra_wraps_into_range_and_pole_field_is_ccw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = dir.path().join("wrap.fits");
    write_image(&a, &ImageSpec::tan(359.99, -5.0, 50, 50, 0.01)).expect("write");
    let row = ingest_file(&a, "wrap.fits", &cfg()).expect("row");
    assert!((row.s_ra - 359.99).abs() < 1e-9);
    assert!(row.corners.iter().any(|c| c.ra < 1.0) && row.corners.iter().all(|c| c.ra < 360.0));
    let p = dir.path().join("pole.fits");
    write_image(&p, &ImageSpec::tan(45.0, 89.9, 60, 60, 0.01)).expect("write");
    let row = ingest_file(&p, "pole.fits", &cfg()).expect("row");
    assert!(ccw_orientation(&row.corners, SkyPoint::new(row.s_ra, row.s_dec)) > 0.0);
    assert!(row.s_fov > 0.8 && row.s_fov < 0.86, "{}", row.s_fov);
}

#[test]
fn bad_files_are_skipped_with_reasons_and_the_walk_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_demo_sky(dir.path()).expect("demo");
    std::fs::write(dir.path().join("corrupt.fits"), [b'x'; 2880]).expect("write");
    std::fs::write(dir.path().join("notes.txt"), b"ignored").expect("write");
    // A valid FITS image without a celestial WCS.
    let mut nowcs = ImageSpec::tan(1.0, 2.0, 10, 10, 0.01);
    nowcs.ctype1 = "PIXEL".into();
    nowcs.ctype2 = "PIXEL".into();
    write_image(&dir.path().join("nowcs.fits"), &nowcs).expect("write");
    // A good image's header alone, and the same image cut halfway through its data (what a
    // file being copied in looks like): both short, neither a product.
    let whole = dir.path().join("whole.tmp");
    write_image(&whole, &ImageSpec::tan(3.0, 4.0, 100, 100, 0.01)).expect("write");
    let bytes = std::fs::read(&whole).expect("read");
    let header_len = vo_fits::check_file(&whole).expect("complete")[0].data_start as usize;
    std::fs::remove_file(&whole).expect("remove");
    std::fs::write(dir.path().join("headeronly.fits"), &bytes[..header_len]).expect("write");
    std::fs::write(dir.path().join("half.fits"), &bytes[..header_len + 20_000]).expect("write");
    let report = scan_tree(dir.path(), &cfg());
    assert_eq!(report.rows.len(), 5, "{:?}", report.skipped);
    let mut reasons: Vec<String> = report
        .skipped
        .iter()
        .map(|s| {
            format!(
                "{}: {}",
                s.path
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default(),
                s.reason
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(
        reasons[0]
            .starts_with("corrupt.fits: not a valid FITS file: it does not begin with SIMPLE = T"),
        "{reasons:?}"
    );
    // 100 x 100 float32 pixels.
    assert!(
        reasons[1]
            .starts_with("half.fits: short: HDU 0 declares 40000 data bytes, the file holds 20000"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].starts_with(
            "headeronly.fits: short: HDU 0 declares 40000 data bytes, the file holds 0"
        ),
        "{reasons:?}"
    );
    assert!(
        reasons[3].starts_with("nowcs.fits: no usable celestial WCS"),
        "{reasons:?}"
    );
    assert!(reasons[3].contains("'PIXEL'"), "{reasons:?}");
}

#[test]
fn dates_convert_to_mjd() {
    assert_eq!(iso_to_mjd("1858-11-17"), Some(0.0));
    assert_eq!(iso_to_mjd("2000-01-01T12:00:00"), Some(51544.5));
    assert_eq!(iso_to_mjd("2024-01-15T03:00:00"), Some(60324.125));
    assert_eq!(iso_to_mjd("15/01/24"), None);
    assert_eq!(iso_to_mjd("2024-13-01"), None);
}

#[test]
fn percent_encoding_keeps_unreserved_only() {
    assert_eq!(percent_encode("a b/c?d.fits"), "a%20b%2Fc%3Fd.fits");
}

#[test]
fn several_science_chips_make_one_product_with_the_hull_as_footprint() {
    use crate::demo::write_mef;
    let dir = tempfile::tempdir().expect("tempdir");
    let chip = |ra: f64, dec: f64| ImageSpec::tan(ra, dec, 40, 30, 0.01);
    let sci = [chip(150.0, 2.0), chip(150.45, 2.0), chip(150.2, 2.35)];
    // A mask plane far away must not count; nor a variance plane.
    let mask = chip(170.0, 20.0);
    let path = dir.path().join("mef.fits");
    write_mef(
        &path,
        &[
            ("SCI", sci[0].clone()),
            ("MASK", mask.clone()),
            ("SCI", sci[1].clone()),
            ("VARIANCE", mask),
            ("SCI", sci[2].clone()),
        ],
    )
    .expect("write");
    let row = ingest_file(&path, "mef.fits", &cfg()).expect("row");
    // Every chip corner, from single-chip files, is a hull vertex or inside the hull.
    let mut all_corners = Vec::new();
    for (i, spec) in sci.iter().enumerate() {
        let p = dir.path().join(format!("chip{i}.fits"));
        write_image(&p, spec).expect("write");
        all_corners.extend(ingest_file(&p, "c.fits", &cfg()).expect("chip").corners);
    }
    let hull = vo_common::region::parse_stcs_polygon(row.s_region.as_deref().expect("region"))
        .expect("polygon");
    for c in &all_corners {
        assert!(hull.contains(*c), "corner {c:?} outside the hull");
    }
    for v in &row.corners {
        assert!(
            all_corners.iter().any(|c| c.distance(*v) < 1e-9),
            "hull vertex {v:?} is no chip corner"
        );
    }
    assert!(row.corners.len() >= 5, "{:?}", row.corners);
    assert!(ccw_orientation(&row.corners, SkyPoint::new(row.s_ra, row.s_dec)) > 0.0);
    // The centre is the hull's centre, among the chips; s_fov holds them all.
    assert!(
        (row.s_ra - 150.22).abs() < 0.1 && (row.s_dec - 2.15).abs() < 0.1,
        "{} {}",
        row.s_ra,
        row.s_dec
    );
    let centre = SkyPoint::new(row.s_ra, row.s_dec);
    assert!(all_corners
        .iter()
        .all(|c| 2.0 * centre.distance(*c) <= row.s_fov + 0.05));
}

#[test]
fn cubes_get_their_spectral_range_in_metres() {
    use crate::demo::SpectralAxis;
    let dir = tempfile::tempdir().expect("tempdir");
    let cube = |ctype: &str, cunit: &str, crval: f64, cdelt: f64| {
        let mut s = ImageSpec::tan(30.0, -10.0, 12, 10, 0.01);
        s.spectral = Some(SpectralAxis {
            ctype: ctype.into(),
            cunit: cunit.into(),
            crval,
            cdelt,
            planes: 5,
        });
        s
    };
    // 500 nm at plane 1, 10 nm a plane: edges at 495 and 545 nm.
    let p = dir.path().join("wave.fits");
    write_image(&p, &cube("WAVE", "nm", 500.0, 10.0)).expect("write");
    let row = ingest_file(&p, "wave.fits", &cfg()).expect("row");
    assert_eq!(row.dataproduct_type, "cube");
    assert_eq!(row.em_xel, Some(5));
    assert!(
        (row.em_min.expect("min") - 495e-9).abs() < 1e-18
            && (row.em_max.expect("max") - 545e-9).abs() < 1e-18
    );
    assert!((row.s_ra - 30.0).abs() < 1e-9 && (row.s_dec + 10.0).abs() < 1e-9);
    // 100 GHz downwards by 1 GHz a plane: edges at 100.5 and 95.5 GHz, as wavelengths.
    let p = dir.path().join("freq.fits");
    write_image(&p, &cube("FREQ", "GHz", 100.0, -1.0)).expect("write");
    let row = ingest_file(&p, "freq.fits", &cfg()).expect("row");
    let c = 299_792_458.0;
    assert!((row.em_min.expect("min") - c / 100.5e9).abs() < 1e-15);
    assert!((row.em_max.expect("max") - c / 95.5e9).abs() < 1e-15);
    // One spectral plane: an image, still with its band.
    let mut one = cube("WAVE", "nm", 500.0, 10.0);
    if let Some(sp) = one.spectral.as_mut() {
        sp.planes = 1;
    }
    let p = dir.path().join("one.fits");
    write_image(&p, &one).expect("write");
    let row = ingest_file(&p, "one.fits", &cfg()).expect("row");
    assert_eq!(
        (row.dataproduct_type.as_str(), row.em_xel),
        ("image", Some(1))
    );
    assert!(
        (row.em_min.expect("min") - 495e-9).abs() < 1e-18
            && (row.em_max.expect("max") - 505e-9).abs() < 1e-18
    );
    // A unit vogate does not know is an error naming it.
    let p = dir.path().join("bad.fits");
    write_image(&p, &cube("WAVE", "furlong", 1.0, 1.0)).expect("write");
    let e = ingest_file(&p, "bad.fits", &cfg()).expect_err("unit");
    assert!(e.contains("CUNIT3 = 'furlong'"), "{e}");
}

#[test]
fn wide_images_whose_corners_do_not_make_a_footprint_are_all_sky() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A Galactic-plane strip 360 x 10 degrees, and a ZEA image 160 degrees across.
    let mut strip = ImageSpec::tan(0.0, 0.0, 720, 20, 0.5);
    strip.ctype1 = "GLON-CAR".into();
    strip.ctype2 = "GLAT-CAR".into();
    strip.radesys = None;
    let mut zea = ImageSpec::tan(30.0, 60.0, 200, 200, 0.8);
    zea.ctype1 = "RA---ZEA".into();
    zea.ctype2 = "DEC--ZEA".into();
    for (name, spec) in [("strip.fits", strip), ("zea.fits", zea)] {
        let p = dir.path().join(name);
        write_image(&p, &spec).expect("write");
        let row = ingest_file(&p, name, &cfg()).expect("row");
        assert_eq!(
            (row.s_region.as_deref(), row.s_fov),
            (None, 360.0),
            "{name}"
        );
    }
    // A 10-degree TAN field keeps its polygon.
    let p = dir.path().join("ten.fits");
    write_image(&p, &ImageSpec::tan(100.0, -40.0, 100, 100, 0.1)).expect("write");
    let row = ingest_file(&p, "ten.fits", &cfg()).expect("row");
    assert!(row.s_region.is_some() && row.s_fov < 15.0);
}

#[test]
fn non_finite_wcs_values_are_refused_with_the_keyword_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    // CFITSIO will not write such values, so the header card is patched in place: the value
    // field is columns 11-30 of the 80-character card.
    for (name, value) in [("nan.fits", "NaN"), ("inf.fits", "1E999")] {
        let p = dir.path().join(name);
        write_image(&p, &ImageSpec::tan(5.0, 10.0, 10, 10, 0.01)).expect("write");
        let mut bytes = std::fs::read(&p).expect("read");
        let at = bytes
            .chunks(80)
            .position(|card| card.starts_with(b"CRVAL1  = "))
            .expect("CRVAL1 card")
            * 80;
        bytes[at + 10..at + 30].copy_from_slice(format!("{value:>20}").as_bytes());
        std::fs::write(&p, bytes).expect("write");
        let e = ingest_file(&p, name, &cfg()).expect_err(name);
        assert!(
            e.contains("CRVAL1") && e.contains("not a finite number"),
            "{name}: {e}"
        );
    }
}

mod mapping {
    use super::cfg;
    use crate::demo::{write_image, ImageSpec};
    use crate::ingest::ingest_file;
    use crate::mapping::Mapping;
    use std::path::Path;

    fn parse(text: &str) -> Result<Mapping, String> {
        Mapping::parse(text, Path::new("m.toml"))
    }

    #[test]
    fn the_example_mapping_reads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../obscore-mapping.example.toml");
        let m = Mapping::read(&path).expect("the example is valid");
        assert_eq!(m.rules.len(), 2);
        assert_eq!(m.spectral_ranges.get("white"), Some(&None));
        assert_eq!(
            m.spectral_ranges.get("HSC-G"),
            Some(&Some((402.0e-9, 552.0e-9)))
        );
        assert_eq!(m.keywords, ["FILTER", "INSTRUME", "OBJECT"]);
    }

    #[test]
    fn mapping_errors_name_the_file_line_and_key() {
        for (text, want) in [
            (
                "calib_levl = 1",
                "m.toml:1: calib_levl: unknown field `calib_levl`",
            ),
            (
                "\n[[rules]]\ncalib_level = 7",
                "m.toml:3: rules[0].calib_level: 7 is not in 0..=4",
            ),
            (
                "[[rules]]\npath = \"[a\"",
                "m.toml:2: rules[0].path: '[a' is not a glob",
            ),
            (
                "[[rules]]\npath = \"*\"\n[[rules]]\ntarget_name = \"{object}\"",
                "m.toml:4: rules[1].target_name: {object} is not a placeholder",
            ),
            (
                "[[rules]]\ntarget_name = \"{OBJECT\"",
                "m.toml:2: rules[0].target_name: '{OBJECT' is not closed",
            ),
            (
                "[[rules]]\nobs_id = \"{obs_id}\"",
                "m.toml:2: rules[0].obs_id: {obs_id} can be used in obs_publisher_did only",
            ),
            (
                "obs_id = \"{path\"",
                "m.toml:1: obs_id: '{path' is not closed",
            ),
            (
                "[[rules]]\nfacility_name = \"{obs_id}\"",
                "m.toml:2: rules[0].facility_name: {obs_id} can be used in obs_publisher_did only",
            ),
            (
                "[spectral_ranges]\n\"g\" = [552e-9, 402e-9]",
                "m.toml:2: spectral_ranges.g: [5.52e-7, 4.02e-7] is not [em_min, em_max]",
            ),
            (
                "[spectral_ranges]\n\"g\" = [402.0, 552.0]",
                "m.toml:2: spectral_ranges.g: [402, 552]: wavelengths are in metres",
            ),
            (
                "[[rules]]\ndataproduct_type = \"picture\"",
                "m.toml:2: rules[0].dataproduct_type: 'picture' is not one of image, cube",
            ),
            (
                "[[rules]]\nobs_collection = \"a b\"",
                "m.toml:2: rules[0].obs_collection: 'a b' must be non-empty",
            ),
            (
                "obs_publisher_did = \"ivo://x/}\"",
                "m.toml:1: obs_publisher_did: a '}' without its '{'",
            ),
            ("[[rules]\npath = \"*\"", "m.toml:1:"),
            (
                "[[rules]]\ncalib_level = \"one\"",
                "m.toml:2: rules[0].calib_level: invalid type",
            ),
            (
                "[hdus]\nscience = \"SCI\"",
                "m.toml:2: hdus.science: invalid type",
            ),
            (
                "[[rules]]\npath = \"a\"\n[[rules]]\ncolection = \"X\"",
                "m.toml:4: rules[1].colection: unknown field `colection`",
            ),
            (
                "[[rules]]\nheader = { INSTRUME = \"[\" }",
                "m.toml:2: rules[0].header.INSTRUME: '[' is not a glob",
            ),
            (
                "filter_keyword = \"A B\"",
                "m.toml:1: filter_keyword: 'A B' is not a FITS keyword",
            ),
        ] {
            let e = parse(text).expect_err(text);
            assert!(
                e.starts_with(want),
                "{text:?}:\n  got  {e}\n  want {want}..."
            );
        }
    }

    #[test]
    fn rules_templates_filters_and_hdu_roles_shape_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        let put = |rel: &str, instrume: Option<&str>, keys: &[(&str, &str)]| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            let mut spec = ImageSpec::tan(10.0, 20.0, 20, 10, 0.01);
            spec.object = Some("M31 field".into());
            spec.instrume = instrume.map(str::to_string);
            spec.keywords = keys
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            write_image(&path, &spec).expect("write");
            path
        };
        let a = put(
            "raw/night1/a.fits",
            Some("Hyper Suprime-Cam"),
            &[("FILTER", "HSC-G")],
        );
        let b = put(
            "raw/night1/b.fits",
            Some("Other cam"),
            &[("FILTER", "HSC-G")],
        );
        let c = put("coadd/9813/c.fits", None, &[("FILTER", "white")]);
        let d = put("x/d.fits", None, &[("FILTER", "nope")]);
        let m = parse(
            "obs_publisher_did = \"ivo://test.org/{obs_collection}?{stem}\"\n\
             [spectral_ranges]\n\"HSC-G\" = [402.0e-9, 552.0e-9]\n\"white\" = []\n\
             [[rules]]\npath = \"raw/**\"\nheader = { INSTRUME = \"Hyper*\" }\n\
             obs_collection = \"HSC_RAW\"\ncalib_level = 1\nfacility_name = \"Subaru\"\n\
             obs_id = \"{stem}-{FILTER}\"\n\
             instrument_name = \"HSC-{FILTER}\"\ntarget_name = \"{OBJECT} ({stem})\"\n\
             [[rules]]\npath = \"coadd/*/*.fits\"\nobs_collection = \"COADD\"\ncalib_level = 3\n\
             target_name = \"tract {path[1]}\"\ndataproduct_type = \"image\"\n\
             [[rules]]\nobs_collection = \"OTHER\"\n",
        )
        .expect("mapping");
        assert_eq!(m.keywords, ["FILTER", "INSTRUME", "OBJECT"]);
        let mut c0 = cfg();
        c0.mapping = std::sync::Arc::new(m);
        let row = |p: &Path, rel: &str| ingest_file(p, rel, &c0).expect("row");
        let ra = row(&a, "raw/night1/a.fits");
        assert_eq!(
            (ra.obs_id.as_str(), ra.path.as_str()),
            ("a-HSC-G", "raw/night1/a.fits")
        );
        assert_eq!(
            (
                ra.obs_collection.as_str(),
                ra.calib_level,
                ra.facility_name.as_deref(),
                ra.instrument_name.as_deref(),
                ra.target_name.as_deref(),
                ra.obs_publisher_did.as_str(),
                ra.em_min,
                ra.em_max
            ),
            (
                "HSC_RAW",
                1,
                Some("Subaru"),
                Some("HSC-HSC-G"),
                Some("M31 field (a)"),
                "ivo://test.org/HSC_RAW?a",
                Some(402.0e-9),
                Some(552.0e-9)
            )
        );
        // The header rule does not match b: the catch-all does; the filter still counts.
        let rb = row(&b, "raw/night1/b.fits");
        assert_eq!(
            (
                rb.obs_collection.as_str(),
                rb.calib_level,
                rb.instrument_name.as_deref()
            ),
            ("OTHER", 2, Some("Other cam"))
        );
        assert_eq!((rb.em_min, rb.em_max), (Some(402.0e-9), Some(552.0e-9)));
        let rc = row(&c, "coadd/9813/c.fits");
        assert_eq!(
            (
                rc.obs_collection.as_str(),
                rc.calib_level,
                rc.target_name.as_deref()
            ),
            ("COADD", 3, Some("tract 9813"))
        );
        assert_eq!((rc.em_min, rc.em_max), (None, None), "white: no range");
        let rd = row(&d, "x/d.fits");
        assert_eq!(rd.obs_collection, "OTHER");
        assert_eq!(
            (rd.obs_id.as_str(), rd.path.as_str()),
            ("x/d.fits", "x/d.fits")
        );
        assert_eq!((rd.em_min, rd.em_max), (None, None), "an unknown filter");
        assert_eq!(rd.access_url, "http://127.0.0.1:8080/files/x%2Fd.fits");

        // A template whose keyword a header lacks: no row, and the reason.
        let mut c1 = cfg();
        c1.mapping =
            std::sync::Arc::new(parse("[[rules]]\ntarget_name = \"{NOPE}\"").expect("mapping"));
        let e = ingest_file(&a, "raw/night1/a.fits", &c1).expect_err("no NOPE");
        assert_eq!(e, "HDU 0: template '{NOPE}': the header has no NOPE");
    }

    #[test]
    fn hdu_roles_follow_the_mapping() {
        let default = Mapping::default();
        assert!(default.is_science(&["", ""]));
        assert!(default.is_science(&["IMAGE", ""]));
        assert!(!default.is_science(&["", "mask"]));
        assert!(!default.is_science(&["VARIANCE", ""]));
        let m = parse("[hdus]\nscience = [\"SCI\"]\nmask = [\"DQ\"]").expect("mapping");
        assert!(m.is_science(&["sci", ""]));
        assert!(
            !m.is_science(&["", ""]),
            "unnamed HDUs are not science with a list"
        );
        assert!(!m.is_science(&["IMAGE", ""]));
        let m = parse("[hdus]\nmask = [\"BADPIX\"]").expect("mapping");
        assert!(!m.is_science(&["BADPIX", ""]));
        assert!(m.is_science(&["MASK", ""]), "the list replaces the default");
    }
}

/// The live engine over an in-memory store (the database's part is tested on both backends
/// in tests/tests/live_obscore.rs).
mod live {
    use super::cfg;
    use crate::demo::{write_image, ImageSpec};
    use crate::ingest::ObsCoreRow;
    use crate::live::{Changes, FileState, Live, LiveOptions, Store};
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    /// Rows and file states by path, changed batch by batch as a database would be.
    #[derive(Default)]
    struct MemStore {
        rows: Mutex<BTreeMap<String, ObsCoreRow>>,
        files: Mutex<BTreeMap<String, FileState>>,
    }

    impl Store for MemStore {
        fn files(&self) -> Result<Vec<FileState>, String> {
            Ok(self.files.lock().expect("lock").values().cloned().collect())
        }

        fn apply(&self, c: std::sync::Arc<Changes>) -> Result<(), String> {
            let mut rows = self.rows.lock().expect("lock");
            let mut files = self.files.lock().expect("lock");
            for p in &c.deleted_paths {
                rows.remove(p);
            }
            for p in &c.forgotten {
                files.remove(p);
            }
            for r in &c.rows {
                // As a database: a row replaces the row of its file and of its DID.
                rows.retain(|_, o| o.obs_publisher_did != r.obs_publisher_did);
                rows.insert(r.path.clone(), r.clone());
            }
            for f in &c.files {
                files.insert(f.path.clone(), f.clone());
            }
            Ok(())
        }
    }

    fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
        let t0 = Instant::now();
        while !f() {
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "not within 60 s: {what}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn a_ready_marker_says_when_a_file_is_complete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(MemStore::default());
        let opts = LiveOptions {
            watch: true,
            ready_suffix: Some(".done".into()),
            ..LiveOptions::default()
        };
        let live = Live::start(dir.path(), cfg(), opts, store.clone()).expect("start");
        write_image(
            &dir.path().join("a.fits"),
            &ImageSpec::tan(1.0, 2.0, 8, 8, 0.01),
        )
        .expect("write");
        // Complete and closed, but not marked: not read.
        std::thread::sleep(Duration::from_millis(1500));
        assert!(store.rows.lock().expect("lock").is_empty());
        assert_eq!(live.status().files_opened, 0);
        std::fs::write(dir.path().join("a.fits.done"), b"").expect("marker");
        wait_for("a.fits's row", || {
            store.rows.lock().expect("lock").contains_key("a.fits")
        });
        assert_eq!(live.status().files_opened, 1);
        // A marker without its file, and a marker removed, change nothing.
        std::fs::write(dir.path().join("ghost.fits.done"), b"").expect("marker");
        std::fs::remove_file(dir.path().join("a.fits.done")).expect("rm");
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(
            store.rows.lock().expect("lock").keys().collect::<Vec<_>>(),
            ["a.fits"]
        );
        drop(live);
        // A restart finds a marked file written while nobody watched.
        write_image(
            &dir.path().join("b.fits"),
            &ImageSpec::tan(3.0, 4.0, 8, 8, 0.01),
        )
        .expect("write");
        std::fs::write(dir.path().join("b.fits.done"), b"").expect("marker");
        write_image(
            &dir.path().join("c.fits"),
            &ImageSpec::tan(3.0, 4.0, 8, 8, 0.01),
        )
        .expect("write");
        let opts = LiveOptions {
            ready_suffix: Some(".done".into()),
            ..LiveOptions::default()
        };
        let live = Live::start(dir.path(), cfg(), opts, store.clone()).expect("start");
        live.wait_scanned();
        assert_eq!(
            store.rows.lock().expect("lock").keys().collect::<Vec<_>>(),
            ["a.fits", "b.fits"],
            "c.fits has no marker"
        );
        assert_eq!(live.status().files_opened, 1);
    }

    fn sync(
        dir: &std::path::Path,
        store: &Arc<MemStore>,
        c: crate::ingest::IngestConfig,
    ) -> crate::live::Status {
        Live::sync_once(dir, c, LiveOptions::default(), store.clone()).expect("sync")
    }

    #[test]
    fn a_did_names_one_row_the_file_read_last_keeps_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        for rel in ["x/a.fits", "y/a.fits", "b.fits"] {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            write_image(&p, &ImageSpec::tan(1.0, 2.0, 8, 8, 0.01)).expect("write");
        }
        let mut c = cfg();
        c.mapping = Arc::new(
            crate::mapping::Mapping::parse(
                "obs_publisher_did = \"ivo://t/c?{stem}\"",
                std::path::Path::new("m.toml"),
            )
            .expect("mapping"),
        );
        let store = Arc::new(MemStore::default());
        let st = sync(dir.path(), &store, c.clone());
        assert_eq!(st.error, None);
        assert_eq!(
            store.rows.lock().expect("lock").keys().collect::<Vec<_>>(),
            ["b.fits", "y/a.fits"]
        );
        assert_eq!(st.rows, 2);
        assert_eq!(
            st.failed.get("x/a.fits").map(String::as_str),
            Some("its obs_publisher_did ivo://t/c?a is also that of y/a.fits, read later, which keeps the row")
        );
        // Across runs: a new file with that DID takes the row; the old holder is listed.
        let p = dir.path().join("z/a.fits");
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        write_image(&p, &ImageSpec::tan(5.0, 6.0, 8, 8, 0.01)).expect("write");
        let st = sync(dir.path(), &store, c);
        assert_eq!(
            store.rows.lock().expect("lock").keys().collect::<Vec<_>>(),
            ["b.fits", "z/a.fits"]
        );
        assert_eq!(st.rows, 2);
        assert!(st.failed.contains_key("y/a.fits"), "{:?}", st.failed);
        // A DID template that cannot tell files apart is refused.
        let e = crate::mapping::Mapping::parse(
            "obs_publisher_did = \"ivo://t/c?{obs_collection}\"",
            std::path::Path::new("m.toml"),
        )
        .expect_err("constant");
        assert!(e.contains("the DID names one product"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn links_to_nothing_loops_and_names_that_are_not_utf8_are_listed() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write_image(&root.join("a.fits"), &ImageSpec::tan(1.0, 2.0, 8, 8, 0.01)).expect("write");
        std::os::unix::fs::symlink("/nonexistent/zz.fits", root.join("dangling.fits"))
            .expect("link");
        std::fs::create_dir_all(root.join("loop")).expect("mkdir");
        std::os::unix::fs::symlink("..", root.join("loop/up")).expect("link");
        let odd = std::ffi::OsStr::from_bytes(b"bad\xff\xfename.fits");
        std::fs::copy(root.join("a.fits"), root.join(odd)).expect("copy");
        let store = Arc::new(MemStore::default());
        let st = sync(root, &store, cfg());
        assert_eq!(
            store.rows.lock().expect("lock").keys().collect::<Vec<_>>(),
            ["a.fits"],
            "the loop adds no second view of the tree"
        );
        assert_eq!(
            st.failed.get("dangling.fits").map(String::as_str),
            Some("a symbolic link to nothing")
        );
        assert!(
            st.failed
                .get("loop/up")
                .is_some_and(|r| r.starts_with("a symbolic link loop")),
            "{:?}",
            st.failed
        );
        assert!(
            st.failed.values().any(|r| r.contains("not UTF-8")),
            "{:?}",
            st.failed
        );
        // Watching: a loop made later is not walked either, and its failure is listed.
        std::fs::remove_file(root.join("loop/up")).expect("rm");
        let opts = LiveOptions {
            watch: true,
            ..LiveOptions::default()
        };
        let live = Live::start(root, cfg(), opts, store.clone()).expect("start");
        live.wait_scanned();
        std::os::unix::fs::symlink("..", root.join("loop/up")).expect("link");
        wait_for("the loop listed", || {
            live.status().failed.contains_key("loop/up")
        });
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            store.rows.lock().expect("lock").keys().collect::<Vec<_>>(),
            ["a.fits"]
        );
    }

    #[test]
    fn a_store_that_fails_is_retried_and_reported() {
        struct Failing(Mutex<u32>, MemStore);
        impl Store for Failing {
            fn files(&self) -> Result<Vec<FileState>, String> {
                self.1.files()
            }
            fn apply(&self, c: std::sync::Arc<Changes>) -> Result<(), String> {
                let mut n = self.0.lock().expect("lock");
                *n += 1;
                if *n == 1 {
                    return Err("the database is unavailable".into());
                }
                self.1.apply(c)
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        write_image(
            &dir.path().join("a.fits"),
            &ImageSpec::tan(1.0, 2.0, 8, 8, 0.01),
        )
        .expect("write");
        let store = Arc::new(Failing(Mutex::new(0), MemStore::default()));
        let opts = LiveOptions {
            watch: true,
            ..LiveOptions::default()
        };
        let live = Live::start(dir.path(), cfg(), opts, store.clone()).expect("start");
        live.wait_scanned();
        assert_eq!(
            live.status().error.as_deref(),
            Some("the database is unavailable")
        );
        // The scan runs again (5 s later) and the row comes; the error clears.
        wait_for("a.fits's row after the retry", || {
            store.1.rows.lock().expect("lock").contains_key("a.fits")
        });
        wait_for("the error cleared", || live.status().error.is_none());
    }
}

#[test]
fn stored_headers_read_back_as_they_were() {
    use crate::ingest::{headers_from_json, headers_to_json};
    use vo_fits::header::{Card, Cards, FileHeaders, ImageHeader};
    let mut cards = Cards::default();
    for (k, v) in [
        (
            "OBJECT",
            Card::Text("a \"quoted\" \\ back\tslash \u{1} é".into()),
        ),
        ("CRVAL1", Card::Number(0.1)),
        ("CRVAL2", Card::Number(-1e-300)),
        ("CDELT1", Card::Number(1.7976931348623157e308)),
        ("NAXIS1", Card::Number(100.0)),
        ("EMPTY", Card::Text(String::new())),
    ] {
        cards.insert(k.to_string(), v);
    }
    let headers = FileHeaders {
        primary: Cards::from_iter([("TELESCOP".to_string(), Card::Text("T".into()))]),
        images: vec![
            ImageHeader {
                index: 1,
                naxis: vec![100, 200, 3],
                cards: cards.clone(),
            },
            ImageHeader {
                index: 3,
                naxis: vec![4, 5],
                cards: Cards::default(),
            },
        ],
    };
    let keys = vec!["FILTER".to_string(), "EXP-ID".to_string()];
    let text = headers_to_json(&headers, &keys);
    serde_json::from_str::<serde_json::Value>(&text).expect("valid JSON");
    assert_eq!(headers_from_json(&text), Some((headers, keys)));
    assert_eq!(headers_from_json("{\"p\":{}}"), None);
    assert_eq!(headers_from_json("not json"), None);
}

mod extra_columns {
    use super::cfg;
    use crate::demo::{write_image, ImageSpec};
    use crate::ingest::ingest_file;
    use crate::mapping::Mapping;
    use vo_common::Value;

    const FELIS: &str = "name: ivoa\n\"@id\": \"#ivoa\"\ntables:\n- name: ObsCore\n  \"@id\": \"#ObsCore\"\n  columns:\n\
        \x20 - name: obs_id\n    \"@id\": \"#ObsCore.obs_id\"\n    datatype: string\n    length: 128\n\
        \x20 - name: lsst_visit\n    \"@id\": \"#ObsCore.lsst_visit\"\n    datatype: long\n    description: The visit\n\
        \x20 - name: lsst_band\n    \"@id\": \"#ObsCore.lsst_band\"\n    datatype: string\n    length: 32\n\
        \x20 - name: lsst_note\n    \"@id\": \"#ObsCore.lsst_note\"\n    datatype: string\n    length: 32\n";

    fn mapping(dir: &std::path::Path, text: &str) -> Result<Mapping, String> {
        std::fs::write(dir.join("extra.yaml"), FELIS).expect("felis");
        let path = dir.join("m.toml");
        std::fs::write(&path, text).expect("mapping");
        Mapping::read(&path)
    }

    #[test]
    fn extra_columns_are_declared_in_felis_and_filled_from_templates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = mapping(
            dir.path(),
            "felis = \"extra.yaml\"\n[extra_columns]\nlsst_visit = \"{EXPNUM}\"\nlsst_band = \"{FILTER}\"\n",
        )
        .expect("mapping");
        let names: Vec<&str> = m
            .extra_columns
            .iter()
            .map(|c| c.column.name.as_str())
            .collect();
        assert_eq!(names, ["lsst_visit", "lsst_band", "lsst_note"]);
        assert_eq!(m.keywords, ["EXPNUM", "FILTER"]);
        let mut c = cfg();
        c.mapping = std::sync::Arc::new(m);
        let file = dir.path().join("a.fits");
        let mut spec = ImageSpec::tan(1.0, 2.0, 8, 8, 0.01);
        spec.keywords = vec![
            ("EXPNUM".into(), "1234".into()),
            ("FILTER".into(), "g".into()),
        ];
        write_image(&file, &spec).expect("write");
        let row = ingest_file(&file, "a.fits", &c).expect("row");
        assert_eq!(
            row.extra,
            [
                ("lsst_visit".to_string(), Value::Int(1234)),
                ("lsst_band".to_string(), Value::Text("g".into())),
                ("lsst_note".to_string(), Value::Null),
            ]
        );
        // A header without the keyword: the column is NULL, the row is there.
        let other = dir.path().join("b.fits");
        let mut bare = ImageSpec::tan(1.0, 2.0, 8, 8, 0.01);
        bare.keywords = vec![("FILTER".into(), "r".into())];
        write_image(&other, &bare).expect("write");
        let row = ingest_file(&other, "b.fits", &c).expect("row");
        assert_eq!(row.extra[0], ("lsst_visit".to_string(), Value::Null));
        assert_eq!(
            row.extra[1],
            ("lsst_band".to_string(), Value::Text("r".into()))
        );
        // A value that is not of the column's type: no row, and why.
        spec.keywords[0].1 = "visit-9".into();
        write_image(&file, &spec).expect("write");
        let e = ingest_file(&file, "a.fits", &c).expect_err("not an integer");
        assert!(
            e.contains("extra column lsst_visit: 'visit-9' is not an integer"),
            "{e}"
        );
    }

    #[test]
    fn extra_column_mistakes_are_located() {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = dir.path().join("m.toml").display().to_string();
        for (text, want) in [
            (
                "felis = \"extra.yaml\"\n[extra_columns]\nlsst_nope = \"{A}\"\n",
                format!("{m}:3: extra_columns.lsst_nope: the Felis file declares no extra column lsst_nope (it declares: lsst_visit, lsst_band, lsst_note)"),
            ),
            (
                "felis = \"extra.yaml\"\n[extra_columns]\nobs_id = \"{A}\"\n",
                format!("{m}:3: extra_columns.obs_id: obs_id is an ObsCore column that vogate fills"),
            ),
            (
                "[extra_columns]\nlsst_band = \"{FILTER}\"\n",
                format!("{m}:2: extra_columns.lsst_band: extra columns are declared in a Felis file"),
            ),
            (
                "felis = \"nope.yaml\"\n",
                format!("{m}:1: felis: cannot read"),
            ),
            (
                "felis = \"extra.yaml\"\n[extra_columns]\nlsst_band = \"{filter}\"\n",
                format!("{m}:3: extra_columns.lsst_band: {{filter}} is not a placeholder"),
            ),
        ] {
            let e = mapping(dir.path(), text).expect_err(text);
            assert!(e.starts_with(&want), "{text:?}:\n  got  {e}\n  want {want}...");
        }
    }
}

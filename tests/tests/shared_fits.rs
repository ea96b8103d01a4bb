//! Ingest of the real FITS files in ../shared/data/fits (see its MANIFEST.md).
//!
//! The suite reads ../shared through `VOGATE_SHARED` (default: `../shared` beside the
//! clone). Without it, the test is skipped and counted so; under `CI=true` a missing
//! ../shared is a failure.

use vo_common::sky::SkyPoint;
use vo_obscore::{scan_tree, IngestConfig};

fn main() -> std::process::ExitCode {
    let shared = vo_testkit::shared("data/fits");
    vo_testkit::run(vec![
        vo_testkit::Test::sync(
            "every_tan_sin_car_file_has_a_row_at_astropys_centre",
            every_tan_sin_car_file_has_a_row_at_astropys_centre,
        )
        .needs(&shared),
        vo_testkit::Test::sync(
            "hips_properties_take_ranges_from_rows_and_rest_frequencies",
            hips_properties_take_ranges_from_rows_and_rest_frequencies,
        )
        .needs(&shared),
    ])
}

/// `vogate hips build`'s t_min/t_max and em_min/em_max (HiPS properties) from the inputs'
/// ObsCore rows, else a radio image's rest frequency.
fn hips_properties_take_ranges_from_rows_and_rest_frequencies() {
    let dir = vo_testkit::shared_dir("data/fits");
    // HorseHead: DATE-OBS 1990-12-22T13:49:00 and no EXPTIME: an instant, MJD 48247.575694.
    let (em, t) = vogate::hips_cli::input_ranges(&[dir.join("HorseHead.fits")]);
    let (t0, t1) = t.expect("time");
    assert!((t0 - 48247.575694).abs() < 1e-5 && t0 == t1, "{t0} {t1}");
    assert_eq!(em, None);
    // 1904-66: RESTFRQ = 1420405750 Hz, the 21 cm line (c / f = 0.2110611 m).
    let (em, t) = vogate::hips_cli::input_ranges(&[dir.join("1904-66_SIN.fits")]);
    let (a, b) = em.expect("em");
    assert!((a - 0.2110611).abs() < 1e-7 && a == b, "{a}");
    assert_eq!(t, None);
    assert_eq!(vogate::hips_cli::regime(a), "Radio");
}

/// The TAN, SIN and CAR files of MANIFEST.md: each must give a row.
const TAN_SIN_CAR: [&str; 19] = [
    "HorseHead.fits",
    "gc_2mass_j.fits",
    "gc_2mass_h.fits",
    "gc_2mass_k.fits",
    "gc_msx_e.fits",
    "gc_bolocam_gps.fits",
    "spitzer_glimpse_l18.fits",
    "comp_rice1_sin.fits",
    "scale_bscale_bzero.fits",
    "test0_mef_4sci.fits",
    "dss.14.29.56-62.41.05.fits.gz",
    "lsst_HSC-0908120-056-small_mef.fits",
    "1904-66_SIN.fits",
    "1904-66_SIN.lb.fits",
    "aegean_synthetic_sin.fits",
    "reproject_galactic_2d_car.fits",
    "derived_HorseHead_u8.fits",
    "derived_bolocam_i16_blank.fits",
    "derived_gc_2mass_k_gzip1.fits.fz",
];

/// astropy 8.0.2: `WCS(header, hdulist).celestial.pixel_to_world((n1-1)/2, (n2-1)/2).icrs` of the
/// first image HDU with a celestial WCS (conformance/e2e_check.py computes these in CI).
const ASTROPY_CENTRES: [(&str, f64, f64); 12] = [
    // AIT with the reference point at the south pole; an AIT all-sky map in Galactic.
    ("1904-66_AIT.fits", 284.90283241635893, -66.30721053916743),
    (
        "allsky_rosat_ait.fits",
        266.4049882865447,
        -28.936177761791473,
    ),
    // DSS plate solutions (PLT*/AMD* keywords), which astropy prefers to the linear WCS.
    ("HorseHead.fits", 85.27499401702345, -2.4582964408350017),
    (
        "dss.14.29.56-62.41.05.fits.gz",
        217.48364601035885,
        -62.685164659575165,
    ),
    ("gc_2mass_j.fits", 266.3999920524497, -28.933335358149453),
    ("gc_msx_e.fits", 266.40760300231176, -28.930490432941642),
    ("1904-66_SIN.fits", 284.9037605490603, -66.31039833395565),
    (
        "1904-66_SIN.lb.fits",
        287.92323061775454,
        -65.93451762646268,
    ),
    ("comp_rice1_sin.fits", 50.68724211469653, -37.20147622548628),
    (
        "lsst_HSC-0908120-056-small_mef.fits",
        151.4067272810883,
        1.650396757262802,
    ),
    (
        "derived_gc_2mass_k_gzip1.fits.fz",
        266.3999920524497,
        -28.933335358149453,
    ),
    (
        "spitzer_glimpse_l18.fits",
        275.83519625924976,
        -12.96550114266888,
    ),
];

fn every_tan_sin_car_file_has_a_row_at_astropys_centre() {
    let dir = vo_testkit::shared_dir("data/fits");
    let cfg = IngestConfig {
        authority: "ivo://vogate.local".into(),
        obs_collection: "shared".into(),
        calib_level: 2,
        base_url: "http://127.0.0.1:8080".into(),
        access_url: vo_obscore::AccessUrl::Datalink,
        mapping: Default::default(),
    };
    let report = scan_tree(&dir, &cfg);
    for name in TAN_SIN_CAR {
        assert!(
            report.rows.iter().any(|r| r.obs_id == name),
            "no row for {name}: {:?}",
            report.skipped
        );
    }
    for (name, ra, dec) in ASTROPY_CENTRES {
        let row = report.rows.iter().find(|r| r.obs_id == name).expect(name);
        let d = SkyPoint::new(row.s_ra, row.s_dec).distance(SkyPoint::new(ra, dec)) * 3600.0;
        assert!(d < 0.1, "{name}: {d} arcsec from astropy");
        assert_eq!(
            row.obs_publisher_did,
            format!("ivo://vogate.local/shared?{name}")
        );
    }
    // Multi-extension: the 4-chip file takes its first chip with a celestial WCS (HDU 2).
    let test0 = report
        .rows
        .iter()
        .find(|r| r.obs_id == "test0_mef_4sci.fits")
        .expect("test0");
    assert_eq!((test0.s_xel1, test0.s_xel2), (40, 40));
    // HDUs 2-4 are science chips with a celestial WCS (HDU 1 has none): one row whose
    // footprint is the convex hull of the three chips (conformance/e2e_check.py checks it
    // against astropy's chip corners).
    assert_eq!(test0.corners.len(), 7, "{:?}", test0.s_region);
    // The tile-compressed image has the shape of the image, not of its binary table.
    let fz = report
        .rows
        .iter()
        .find(|r| r.obs_id == "derived_gc_2mass_k_gzip1.fits.fz")
        .expect("fz");
    assert_eq!((fz.s_xel1, fz.s_xel2), (721, 720));
    let hh = report
        .rows
        .iter()
        .find(|r| r.obs_id == "HorseHead.fits")
        .expect("HorseHead");
    assert_eq!(hh.t_min, Some(48247.575694444444));
    assert_eq!(hh.facility_name.as_deref(), Some("UK Schmidt - Doubl"));
    // Wide fields keep their polygon: the 12.8-degree 1904-66 fields, whose edges bend by up
    // to 1.6% of their length (SIN and AIT with the reference point at the pole).
    for name in [
        "1904-66_SIN.fits",
        "1904-66_AIT.fits",
        "1904-66_SIN.lb.fits",
    ] {
        let row = report.rows.iter().find(|r| r.obs_id == name).expect(name);
        assert!(
            row.s_region.is_some() && row.s_fov < 30.0,
            "{name}: {:?} {}",
            row.s_region,
            row.s_fov
        );
    }
    // The all-sky map has no polygon and covers the sky.
    let sky = report
        .rows
        .iter()
        .find(|r| r.obs_id == "allsky_rosat_ait.fits")
        .expect("allsky");
    assert_eq!((sky.s_region.as_deref(), sky.s_fov), (None, 360.0));
    let skipped: Vec<String> = report
        .skipped
        .iter()
        .map(|s| format!("{} {}", s.path.display(), s.reason))
        .collect();
    assert!(
        skipped
            .iter()
            .any(|s| s.contains("lsst_ticketdm26260_gzip2.fits.fz") && s.contains("no CTYPE1")),
        "{skipped:?}"
    );
}

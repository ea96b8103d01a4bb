//! Sections of the real files of ../shared/data/fits: the tile-compressed GZIP_1 copy of the
//! 2MASS K image holds bit-identical stored values (MANIFEST.md), so every box of it, across
//! its 64 x 64 tiles, must equal the same box of the plain file byte for byte; so must the
//! whole-file gzip DSS image against the values at its data offset.
//!
//! Without ../shared the test is skipped and counted so; under `CI=true` that is a failure.

use vo_fits::{read_section, ImageCards, Section};

fn main() -> std::process::ExitCode {
    vo_testkit::run(vec![vo_testkit::Test::sync(
        "compressed_sections_equal_the_plain_file_byte_for_byte",
        compressed_sections_equal_the_plain_file_byte_for_byte,
    )
    .needs(&vo_testkit::shared("data/fits"))])
}

fn compressed_sections_equal_the_plain_file_byte_for_byte() {
    let dir = vo_testkit::shared_dir("data/fits");
    let plain = dir.join("gc_2mass_k.fits");
    let packed = dir.join("derived_gc_2mass_k_gzip1.fits.fz");
    let pc = ImageCards::read(&plain, 0).expect("plain header");
    let zc = ImageCards::read(&packed, 1).expect("compressed header");
    assert_eq!((zc.bitpix, zc.naxis.clone()), (16, vec![721, 720]));
    // The table's name is not the image's.
    assert!(
        zc.cards.iter().all(|c| !c.starts_with("EXTNAME ")),
        "{:?}",
        zc.cards
    );
    assert_eq!(zc.number("BSCALE"), pc.number("BSCALE"));
    assert_eq!(zc.number("BZERO"), pc.number("BZERO"));
    for (x0, y0, nx, ny) in [
        (0, 0, 721, 720),
        (63, 63, 2, 2),
        (100, 200, 100, 100),
        (700, 0, 21, 720),
        (0, 719, 721, 1),
        (640, 640, 81, 80),
    ] {
        let s = Section {
            start: vec![x0, y0],
            len: vec![nx, ny],
        };
        let a = read_section(&plain, 0, &pc, &s).expect("plain section");
        let b = read_section(&packed, 1, &zc, &s).expect("compressed section");
        assert_eq!(a.shape, vec![nx, ny]);
        assert!(a == b, "box {nx} x {ny} at ({x0}, {y0}) differs");
    }
    // Whole-file gzip: the DSS image's values, read through CFITSIO, against the bytes of
    // the decompressed file.
    let gz = dir.join("dss.14.29.56-62.41.05.fits.gz");
    let cards = ImageCards::read(&gz, 0).expect("gzip header");
    let layout = vo_fits::check_file(&gz).expect("complete")[0].clone();
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&gz).expect("open")),
        &mut raw,
    )
    .expect("gunzip");
    let s = Section {
        start: vec![10, 20],
        len: vec![30, 40],
    };
    let d = read_section(&gz, 0, &cards, &s).expect("gzip section");
    for (r, row) in d.bytes.chunks(60).enumerate() {
        let at = layout.data_start as usize + ((20 + r) * 100 + 10) * 2;
        assert_eq!(row, &raw[at..at + 60], "row {r}");
    }
}

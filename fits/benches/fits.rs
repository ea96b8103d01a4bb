//! vo-fits performance (issue "vo-fits"): `cargo bench -p vo-fits --bench fits`.
//!
//! 1. Sky -> pixel, single thread: positions per second of `CelestialWcs::icrs_to_pixel` for
//!    a TAN, a TAN-SIP (the HSC exposure's third-order coefficients) and an all-sky AIT
//!    header, on 1,000,000 positions each (the sky positions of random pixels). With
//!    `VOGATE_PYTHON` set to a Python with astropy, astropy's `all_world2pix(..., 1,
//!    tolerance=1e-10)` runs on the same header and positions in the same run (on the whole
//!    array in one call, and once per position for 2,000 of them), and the rates and ratios
//!    are printed, with the largest pixel difference between the two.
//! 2. A 100 x 100 section of a 10000 x 10000 float32 image (written first, 400 MB, in
//!    VOGATE_BENCH_DIR or the system's temporary folder): the median time of 20 reads and
//!    the peak resident memory above the process's idle (Linux: VmHWM after resetting it).

use std::io::Write;
use std::time::Instant;
use vo_common::sky::SkyPoint;
use vo_fits::cards::number_card;
use vo_fits::{read_section, Card, CelestialWcs, ImageCards, ImageHeader, Section};

/// A header as vo-fits reads it and as card text for astropy.
fn header(
    naxis: (i64, i64),
    text: &[(&str, &str)],
    numbers: &[(&str, f64)],
) -> (ImageHeader, String) {
    let mut cards = vo_fits::Cards::default();
    let mut out = String::new();
    let mut push = |c: String| out.push_str(&format!("{c:<80}"));
    push(format!("{:<8}= {:>20}", "SIMPLE", "T"));
    push(format!("{:<8}= {:>20}", "BITPIX", -32));
    push(format!("{:<8}= {:>20}", "NAXIS", 2));
    push(format!("{:<8}= {:>20}", "NAXIS1", naxis.0));
    push(format!("{:<8}= {:>20}", "NAXIS2", naxis.1));
    for (k, v) in text {
        cards.insert(k.to_string(), Card::Text(v.to_string()));
        push(format!("{k:<8}= '{v}'"));
    }
    for (k, v) in numbers {
        cards.insert(k.to_string(), Card::Number(*v));
        push(number_card(k, *v, None));
    }
    push("END".into());
    let h = ImageHeader {
        index: 0,
        naxis: vec![naxis.0, naxis.1],
        cards,
    };
    (h, out)
}

/// xorshift64: reproducible pseudo-random numbers in [0, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn sky_to_pixel(name: &str, h: &ImageHeader, text: &str) {
    let wcs = CelestialWcs::from_header(h).expect("WCS");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (w, hgt) = (wcs.naxis1 as f64, wcs.naxis2 as f64);
    let mut sky = Vec::with_capacity(1_000_000);
    let mut pixels = Vec::with_capacity(1_000_000);
    while sky.len() < 1_000_000 {
        let (x, y) = (0.5 + rng.next() * w, 0.5 + rng.next() * hgt);
        if let Some(p) = wcs.pixel_to_icrs(x, y) {
            sky.push(p);
            pixels.push((x, y));
        }
    }
    let t = Instant::now();
    let mut worst = 0.0_f64;
    let mut out = Vec::with_capacity(sky.len());
    for (p, (x, y)) in sky.iter().zip(&pixels) {
        let (bx, by) = wcs.icrs_to_pixel(*p).expect("a pixel");
        worst = worst.max((bx - x).hypot(by - y));
        out.push((bx, by));
    }
    let secs = t.elapsed().as_secs_f64();
    let rate = sky.len() as f64 / secs;
    println!(
        "sky -> pixel {name}: {} positions in {secs:.3} s = {rate:.0}/s (round trip within {worst:.1e} pixel)",
        sky.len()
    );
    if let Some(py) = std::env::var_os("VOGATE_PYTHON") {
        match astropy_rate(&py, text, &sky, &out) {
            Ok((arate, diff, one)) => println!(
                "sky -> pixel {name}: astropy all_world2pix {arate:.0}/s on one array (vogate/astropy = {:.1}x), {one:.0}/s called per position ({:.0}x); largest difference {diff:.1e} pixel",
                rate / arate,
                rate / one
            ),
            Err(e) => println!("sky -> pixel {name}: astropy not run: {e}"),
        }
    }
}

/// astropy's rate on the same header and positions (one call for all), the largest pixel
/// difference from vo-fits's pixels, and astropy's rate when called once per position.
fn astropy_rate(
    py: &std::ffi::OsStr,
    header: &str,
    sky: &[SkyPoint],
    ours: &[(f64, f64)],
) -> Result<(f64, f64, f64), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let bytes =
        |v: &mut dyn Iterator<Item = f64>| v.flat_map(f64::to_le_bytes).collect::<Vec<u8>>();
    std::fs::write(dir.path().join("h.txt"), header).map_err(|e| e.to_string())?;
    std::fs::write(
        dir.path().join("sky.bin"),
        bytes(&mut sky.iter().flat_map(|p| [p.ra, p.dec])),
    )
    .map_err(|e| e.to_string())?;
    std::fs::write(
        dir.path().join("pix.bin"),
        bytes(&mut ours.iter().flat_map(|(x, y)| [*x, *y])),
    )
    .map_err(|e| e.to_string())?;
    let script = r#"
import sys, time, warnings
import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
warnings.simplefilter("ignore")
d = sys.argv[1]
w = WCS(fits.Header.fromstring(open(d + "/h.txt").read()))
sky = np.fromfile(d + "/sky.bin", dtype="<f8").reshape(-1, 2)
ours = np.fromfile(d + "/pix.bin", dtype="<f8").reshape(-1, 2)
t = time.perf_counter()
pix = w.all_world2pix(sky, 1, tolerance=1e-10, maxiter=50)
secs = time.perf_counter() - t
t = time.perf_counter()
for p in sky[:2000]:
    w.all_world2pix(p[None, :], 1, tolerance=1e-10, maxiter=50)
one = 2000 / (time.perf_counter() - t)
print(len(sky) / secs, float(np.nanmax(np.hypot(*(pix - ours).T))), one)
"#;
    let out = std::process::Command::new(py)
        .arg("-c")
        .arg(script)
        .arg(dir.path())
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace().map(|s| s.parse::<f64>());
    match (it.next(), it.next(), it.next()) {
        (Some(Ok(r)), Some(Ok(d)), Some(Ok(one))) => Ok((r, d, one)),
        _ => Err(format!("unexpected output: {text}")),
    }
}

/// (VmRSS, VmHWM) of this process in kB (Linux).
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn section_of_a_big_image() {
    let base = std::env::var_os("VOGATE_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let dir = tempfile::tempdir_in(base).expect("tempdir");
    let path = dir.path().join("big.fits");
    let n = 10_000u64;
    let card = |s: String| format!("{s:<80}");
    let cards = ImageCards {
        bitpix: -32,
        naxis: vec![n, n],
        cards: vec![card("BUNIT   = 'adu     '".into())],
    };
    {
        // Written row by row, so that writing does not raise the peak either.
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        f.write_all(&cards.header_bytes(true)).expect("header");
        let mut row = Vec::with_capacity(4 * n as usize);
        for y in 0..n {
            row.clear();
            for x in 0..n {
                row.extend_from_slice(&((x + y * n) as f32).to_be_bytes());
            }
            f.write_all(&row).expect("row");
        }
        let pad = (2880 - (4 * n * n) % 2880) % 2880;
        f.write_all(&vec![0u8; pad as usize]).expect("pad");
    }
    // Reset the peak to the current resident size (Linux clear_refs 5), then read.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let (idle, _) = memory_kb();
    let cards = ImageCards::read(&path, 0).expect("header");
    let s = Section {
        start: vec![4321, 7654],
        len: vec![100, 100],
    };
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let d = read_section(&path, 0, &cards, &s).expect("section");
        times.push(t.elapsed().as_secs_f64());
        let first = f32::from_be_bytes([d.bytes[0], d.bytes[1], d.bytes[2], d.bytes[3]]);
        assert_eq!(first, (4321 + 7654 * n) as f32);
    }
    let (_, peak) = memory_kb();
    times.sort_by(f64::total_cmp);
    println!(
        "section 100 x 100 of 10000 x 10000 float32: median {:.3} ms (min {:.3} ms) over 20 reads; peak RSS {:.1} MB above idle ({:.1} MB idle)",
        times[10] * 1e3,
        times[0] * 1e3,
        peak.saturating_sub(idle) as f64 / 1024.0,
        idle as f64 / 1024.0
    );
}

fn main() {
    let tan = header(
        (4096, 4096),
        &[
            ("CTYPE1", "RA---TAN"),
            ("CTYPE2", "DEC--TAN"),
            ("RADESYS", "ICRS"),
        ],
        &[
            ("CRPIX1", 2048.5),
            ("CRPIX2", 2048.5),
            ("CD1_1", -5.5e-5),
            ("CD1_2", 1.0e-6),
            ("CD2_1", 1.2e-6),
            ("CD2_2", 5.5e-5),
            ("CRVAL1", 150.1),
            ("CRVAL2", 2.2),
        ],
    );
    let sip = header(
        (2048, 4176),
        &[
            ("CTYPE1", "RA---TAN-SIP"),
            ("CTYPE2", "DEC--TAN-SIP"),
            ("RADESYS", "ICRS"),
        ],
        &[
            ("CRPIX1", 866.842697735752),
            ("CRPIX2", 2004.38916604442),
            ("CD1_1", 1.59205392797133e-07),
            ("CD1_2", -4.6219873781471e-05),
            ("CD2_1", -4.66160953957467e-05),
            ("CD2_2", 1.06453327917948e-07),
            ("CRVAL1", 151.319266199627),
            ("CRVAL2", 1.6150446085464),
            ("A_ORDER", 3.0),
            ("A_0_2", 2.00559710166211e-07),
            ("A_0_3", 5.47089523015411e-11),
            ("A_1_1", 1.56376842367444e-06),
            ("A_1_2", -3.35387405207007e-10),
            ("A_2_0", 5.21309707635475e-07),
            ("A_2_1", 1.61338650992225e-10),
            ("A_3_0", -5.25967599433949e-11),
            ("B_ORDER", 3.0),
            ("B_0_2", 2.11755417209102e-06),
            ("B_0_3", -1.003912128117e-10),
            ("B_1_1", 3.33105422388897e-07),
            ("B_1_2", 1.6669396504697e-10),
            ("B_2_0", 1.1142784351701e-06),
            ("B_2_1", -1.80629244962716e-10),
            ("B_3_0", -8.42718077953002e-10),
        ],
    );
    let ait = header(
        (1440, 720),
        &[
            ("CTYPE1", "RA---AIT"),
            ("CTYPE2", "DEC--AIT"),
            ("RADESYS", "ICRS"),
        ],
        &[
            ("CRPIX1", 720.5),
            ("CRPIX2", 360.5),
            ("CDELT1", -0.225),
            ("CDELT2", 0.225),
            ("CRVAL1", 0.0),
            ("CRVAL2", 0.0),
        ],
    );
    for (name, (h, text)) in [("TAN", tan), ("TAN-SIP", sip), ("AIT", ait)] {
        sky_to_pixel(name, &h, &text);
    }
    section_of_a_big_image();
}

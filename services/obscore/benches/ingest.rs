//! Ingest throughput: `cargo bench -p vo-obscore --bench ingest [-- N]`.
//!
//! Writes N (default 1000) small TAN images with vogate's FITS writer into a temporary
//! folder, then walks the tree with `scan_tree` (header-only reads: CFITSIO opens each file
//! and reads its keywords; no pixels) five times and prints files/s for each pass and the
//! median. The first pass may include cold-cache effects.

use std::time::Instant;
use vo_obscore::demo::write_spread_sky;
use vo_obscore::{scan_tree, IngestConfig};

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().expect("tempdir");
    let t = Instant::now();
    write_spread_sky(dir.path(), n, 10).expect("write the sky");
    println!(
        "wrote {n} FITS files (64x64 float32) in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let cfg = IngestConfig {
        authority: "ivo://vogate.local".into(),
        obs_collection: "bench".into(),
        calib_level: 2,
        base_url: "http://127.0.0.1:8080".into(),
        access_url: vo_obscore::AccessUrl::Datalink,
        mapping: Default::default(),
    };
    let mut rates = Vec::new();
    for pass in 1..=5 {
        let t = Instant::now();
        let report = scan_tree(dir.path(), &cfg);
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(report.rows.len(), n, "{:?}", report.skipped.first());
        let rate = n as f64 / secs;
        println!("pass {pass}: {n} files in {secs:.3} s = {rate:.0} files/s");
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "median: {:.0} files/s (target >= 1000)",
        rates[rates.len() / 2]
    );
}

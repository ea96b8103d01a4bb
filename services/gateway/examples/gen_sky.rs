//! Write N small TAN images (64x64 float32) spread over the sky into DIR, for benchmarks:
//! `cargo run --release -p vogate --example gen_sky -- DIR N`.

use vo_obscore::demo::write_spread_sky;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: gen_sky DIR N")?);
    let n: usize = args
        .next()
        .ok_or("usage: gen_sky DIR N")?
        .parse()
        .map_err(|e| format!("N: {e}"))?;
    write_spread_sky(&dir, n, 10)?;
    println!("wrote {n} files into {}", dir.display());
    Ok(())
}

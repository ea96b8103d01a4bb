//! Parse + validate + TAP_SCHEMA rows of a Felis file (default: the DP0.2 catalog schema,
//! ../shared/corpus/felis/sdm_schemas/dp02_dc2.yaml, 12 tables, 1534 columns), timed over
//! repeated runs; prints the median and the fastest. Target (the Felis issue): under 20 ms in
//! release. Run: `cargo bench -p vo-felis --bench dp02 [-- FILE]`.

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let file = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let root = std::env::var("VOGATE_SHARED")
                .map(PathBuf::from)
                .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
            root.join("corpus/felis/sdm_schemas/dp02_dc2.yaml")
        });
    let checks = vo_felis::Checks::default();
    let options = vo_felis::TapOptions {
        schema_index: None,
        honour_votable_datatype: true,
    };
    let mut times = Vec::new();
    let mut columns = 0;
    for _ in 0..50 {
        let t = Instant::now();
        // Reading the file is part of it, as for `vogate schema check`.
        let schema = match vo_felis::load_file(&file, &checks) {
            Ok(s) => s,
            Err(p) => {
                eprintln!("{} is invalid: {:?}", file.display(), p.first());
                std::process::exit(1);
            }
        };
        let rows = vo_felis::tap_schema_rows(&schema, &options);
        columns = rows.columns.len();
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{}: parse + validate + TAP_SCHEMA rows ({columns} columns): median {:.2} ms, fastest {:.2} ms, slowest {:.2} ms over {} runs",
        file.display(),
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        times.len()
    );
}

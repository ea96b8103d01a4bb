//! Parse + check + render of ADQL, with criterion. Targets (issue "ADQL 2.1 query
//! structure"): a 20-line query with joins, a subquery and geometry under 50 µs; a
//! 1,000-term OR chain under 10 ms (and no stack overflow).
//!
//! This binary runs on the system allocator; `translate` runs the same benchmarks with
//! mimalloc, the allocator of the `vogate` binary.
//! Run: `cargo bench -p vo-adql --bench translate --bench translate_system`.

use criterion::criterion_main;

mod common;

fn bench(c: &mut criterion::Criterion) {
    common::bench(c, "system");
}

criterion_main!(benches);

mod group {
    #![allow(missing_docs)]
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;

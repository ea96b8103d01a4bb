//! Parse + check + render of ADQL, with criterion. Targets (issue "ADQL 2.1 query
//! structure"): a 20-line query with joins, a subquery and geometry under 50 µs; a
//! 1,000-term OR chain under 10 ms (and no stack overflow).
//!
//! This binary runs with mimalloc, the allocator of the `vogate` binary, so it measures what
//! the gateway does; `translate_system` runs the same benchmarks on the system allocator.
//! Run: `cargo bench -p vo-adql --bench translate --bench translate_system`.

use criterion::criterion_main;

mod common;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(c: &mut criterion::Criterion) {
    common::bench(c, "mimalloc");
}

criterion_main!(benches);

mod group {
    #![allow(missing_docs)]
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;

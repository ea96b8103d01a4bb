//! Parse + check + render of ADQL, with criterion. Targets (issue "ADQL 2.1 query
//! structure"): a 20-line query with joins, a subquery and geometry under 50 µs; a
//! 1,000-term OR chain under 10 ms (and no stack overflow). Run:
//! `cargo bench -p vo-adql --bench translate`.
//!
//! The binary uses the system allocator, as the `vogate` binary does.

use criterion::criterion_main;

mod common;

fn bench(c: &mut criterion::Criterion) {
    common::bench(c);
}

criterion_main!(benches);

mod group {
    #![allow(missing_docs)]
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;

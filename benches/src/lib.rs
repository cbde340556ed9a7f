//! Hitdex benchmarks: the macro benchmark behind `hitdex bench dna` and
//! `hitdex demo`. Criterion benchmarks of the kernels are in `benches/`.
//!
//! The workload is the whole pipeline a national node runs: synthetic
//! profiles from real allele frequencies written as CSV, the index built
//! from that CSV, opened, verified, and searched one query at a time and as
//! a batch. Each phase is timed on its own; a sample of queries is checked
//! against a brute-force comparison with the matching rules.
#![deny(missing_docs)]

pub mod dna;
pub mod fingerprint;
pub mod fingerprint_search;
pub mod resources;
pub mod node_load;

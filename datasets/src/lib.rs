//! Hitdex datasets: generators of synthetic data and loaders of real data.
//!
//! Real data is never copied into the repository: it stays in
//! `../shared/datasets` (see [`shared`]) and is read from there.
//!
//! - [`shared`]: finds the shared datasets directory, for tests, benchmarks
//!   and the command line.
//! - [`frequencies`]: real allele frequency tables (NIST 1036, UK DNA-17,
//!   FBI 2015) with a fast sampler, and the 1,036 real NIST genotypes.
//! - [`synthetic`]: the DNA data set generator behind `hitdex generate dna`
//!   and the query mixes of the benchmarks and the demo.
//! - [`fingerprint`]: synthetic finger minutiae (masters and distorted,
//!   partial impressions) behind `hitdex generate fingerprint`.
//! - [`keyed`]: synthetic vehicles, phone numbers and identities (the
//!   key-only categories) behind `hitdex generate vehicle|phone|identity`.
//! - [`error`]: the crate's one error type.
#![deny(missing_docs)]

pub mod error;
pub mod fingerprint;
pub mod frequencies;
pub mod keyed;
pub mod shared;
pub mod synthetic;

mod csv;

pub use error::DatasetError;
pub use frequencies::{nist1036_profiles, AlleleFrequencies, Source};
pub use shared::{require_shared_datasets, shared_datasets};
pub use synthetic::{generate, queries, SyntheticConfig};

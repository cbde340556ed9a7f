//! Hitdex engine: the forensic index and its matchers.
//!
//! The engine knows profiles, shards and searches. It knows nothing of CSV,
//! JSON or HTTP: `hitdex-formats` turns bytes into the domain types defined
//! here, and the command line and the node wire the two together.
//!
//! - [`dna`]: loci, alleles, profiles and the matching rules (SPEC section 3).
//! - [`fingerprint`]: minutiae templates and their matcher (SPEC section 4).
//! - [`kernels`]: the per-profile comparison kernels (AVX2 with a scalar twin).
//! - [`index`]: immutable memory-mapped shards, the index directory, tombstones,
//!   the candidate (key) index and the search over all shards.
//! - [`keyed`]: the key-only categories (vehicle, phone, identity): keyed
//!   digests of normalised values, exact hit/no-hit in the same shard framework.
#![deny(missing_docs)]

pub mod dna;
pub mod error;
pub mod fingerprint;
pub mod index;
pub mod keyed;
pub mod kernels;

pub use error::{Error, Result};

// Lets the unit tests share `tests/common` with the integration tests.
#[cfg(test)]
extern crate self as hitdex_engine;

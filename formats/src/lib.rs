//! Hitdex formats: bytes to domain types and back.
//!
//! Everything that crosses the boundary of the engine as text lives here,
//! so the engine never parses and the command line never formats:
//!
//! - [`allele`]: allele text with the import rules of SPEC section 3.
//! - [`date`]: calendar dates `YYYY-MM-DD`.
//! - [`dna_csv`]: the DNA CSV of SPEC section 7 (profiles to store, queries),
//!   read and written in parallel.
//! - [`fingerprint`]: finger minutiae records (ISO/IEC 19794-2, ANSI INCITS
//!   378, NIST `xyt`, ANSI/NIST-ITL Type-9).
//! - [`keyed`]: the key-only categories (vehicle, phone, identity): the
//!   normalisation of plates, VINs, phone numbers, names and dates of
//!   birth, and their CSV files.
//! - [`ndjson`]: the search answer, one JSON object per query line.
//! - [`references`]: reference lists for `hitdex index delete`.
#![deny(missing_docs)]

pub mod allele;
pub mod date;
pub mod dna_csv;
pub mod fingerprint;
pub mod keyed;
pub mod ndjson;
pub mod references;

pub use allele::{parse_allele, AlleleParseError};
pub use dna_csv::{CsvError, Mode};

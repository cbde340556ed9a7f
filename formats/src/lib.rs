//! Hitdex formats: bytes to domain types and back.
#![deny(missing_docs)]

pub mod allele;

pub use allele::{parse_allele, AlleleParseError};

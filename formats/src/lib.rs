//! Hitdex formats: bytes to domain types and back.
#![deny(missing_docs)]

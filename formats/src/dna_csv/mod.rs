//! The DNA CSV of SPEC section 7, read with the import rules of section 3.
//!
//! ```text
//! reference,authority,kind,D3S1358,vWA,...,Amelogenin
//! R1,DE-BKA,person,15/16,17/18,...,X/Y
//! ```
//!
//! Reading accepts what laboratories send: columns in any order and any
//! spelling [`Locus::parse`](hitdex_engine::dna::Locus::parse) knows, a
//! UTF-8 BOM, CRLF line ends, blank lines, spaces around cells and
//! double-quoted cells. Cells are `a/b`, `a` (homozygote), `*` parts or
//! empty (untyped); from a third allele on the rest becomes one `*`; allele
//! text follows [`parse_allele`](crate::parse_allele). Everything else is a
//! [`CsvError`] naming the file, line and column; no input makes it panic.
//!
//! Both directions are parallel (rayon) so that the ten-million-profile
//! files of the benchmarks take seconds, not minutes.

pub(crate) mod cells;
mod error;
mod header;
mod read;
mod row;
mod write;

pub use error::{CsvError, Problem};
pub use read::{read_bytes, read_path};
pub use row::genotype;
pub use write::{write_header, write_path, write_profile, write_profiles, Layout};

/// What a file is read for; stored profiles are checked more strictly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Profiles to store: `reference`, `authority` and `kind` columns
    /// required and filled in, at least six typed loci other than
    /// Amelogenin, and no (authority, reference) twice in one file.
    Store,
    /// Queries: only `reference` is required; `authority` and `kind` may be
    /// absent or empty, any number of loci, references may repeat.
    Query,
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

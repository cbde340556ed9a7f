//! DNA profiles and the rules that compare them (SPEC section 3).
//!
//! An allele is stored as one byte: its position on the repeat scale
//! (`n·R + k` for allele `n.k`, R = 5 for Penta D, Penta E and CD4, 4
//! elsewhere), with `0` meaning "no allele" and `255` the wildcard `*`.
//! Positions make the microvariant tolerance a distance test, which is what
//! lets the SIMD kernel compare twelve loci in one pass.

mod allele;
mod locus;
mod profile;
mod rules;

pub use allele::{Allele, AlleleError, Genotype};
pub use locus::{Locus, LocusInfo, AMELOGENIN, ESS_COUNT, LOCI, LOCUS_COUNT};
pub use profile::{Kind, Profile, ProfileError, MIN_TYPED_LOCI};
pub use rules::{brute_force, compare, locus_differences, Comparison, Hit, HitQuality, MatchParams};

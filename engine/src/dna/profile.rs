//! A DNA profile: reference data and one genotype per locus.

use super::{Genotype, Locus, LOCUS_COUNT};

/// Fewest typed loci (Amelogenin excluded) a stored profile may have.
pub const MIN_TYPED_LOCI: usize = 6;

/// Whether a profile is a person's reference sample or an unidentified trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Kind {
    /// A person's reference sample.
    #[default]
    Person,
    /// An unidentified crime-scene trace.
    Trace,
}

impl Kind {
    /// `person` or `trace`, as in the CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Person => "person",
            Kind::Trace => "trace",
        }
    }
}

/// One DNA profile. Reference data only: no names, no case files.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    /// Reference number, unique within the holding authority.
    pub reference: String,
    /// Designated authority holding the full record (may be empty in queries).
    pub authority: String,
    /// Person or trace.
    pub kind: Kind,
    /// Genotype per comparable locus, in canonical order.
    pub loci: [Genotype; LOCUS_COUNT],
    /// Amelogenin alleles as bytes (`b'X'`, `b'Y'`, `b'*'`; `0` untyped).
    /// Kept for completeness of import; never compared.
    pub amelogenin: [u8; 2],
}

/// Why a profile cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// Fewer than [`MIN_TYPED_LOCI`] typed loci other than Amelogenin.
    #[error("only {typed} typed loci other than Amelogenin; at least {MIN_TYPED_LOCI} are needed")]
    TooFewLoci {
        /// Typed loci found.
        typed: usize,
    },
    /// The reference is empty.
    #[error("empty reference")]
    EmptyReference,
}

impl Profile {
    /// Number of typed comparable loci.
    pub fn typed_loci(&self) -> usize {
        self.loci.iter().filter(|g| g.is_typed()).count()
    }

    /// The genotype at `locus`.
    pub fn genotype(&self, locus: Locus) -> Genotype {
        self.loci[locus.index()]
    }

    /// Checks what a stored profile must satisfy.
    ///
    /// # Errors
    /// An empty reference, or fewer than six typed loci.
    pub fn validate_for_storage(&self) -> Result<(), ProfileError> {
        if self.reference.is_empty() {
            return Err(ProfileError::EmptyReference);
        }
        let typed = self.typed_loci();
        if typed < MIN_TYPED_LOCI {
            return Err(ProfileError::TooFewLoci { typed });
        }
        Ok(())
    }
}

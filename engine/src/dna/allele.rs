//! Alleles as positions on the repeat scale, and genotypes (allele pairs).

use std::fmt;

use super::Locus;

/// One allele: a position on the repeat scale, the wildcard, or nothing.
///
/// Allele `n.k` at a locus with repeat unit R sits at position `n·R + k`.
/// Two numeric alleles of which at least one is a microvariant (`k ≠ 0`) are
/// neighbours when their positions differ by one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Allele(u8);

/// Why a repeat number cannot be stored as an allele.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlleleError {
    /// The microvariant digit is not smaller than the repeat unit.
    #[error("microvariant .{variant} is impossible at {locus} (repeat unit {repeat})")]
    Microvariant {
        /// Locus name.
        locus: &'static str,
        /// The microvariant digit given.
        variant: u8,
        /// The locus' repeat unit.
        repeat: u8,
    },
    /// The repeat number is beyond what any known allele reaches.
    #[error("repeat number {repeats} is out of range at {locus} (at most {max})")]
    OutOfRange {
        /// Locus name.
        locus: &'static str,
        /// The repeat number given.
        repeats: u32,
        /// Largest storable repeat number at this locus.
        max: u32,
    },
    /// Repeat numbers 0 and 1 are not alleles (import turns them into `*`).
    #[error("repeat number {0} is not an allele")]
    TooSmall(u32),
}

impl Allele {
    /// No allele (untyped locus).
    pub const NONE: Allele = Allele(0);
    /// The wildcard `*`, which pairs with any allele.
    pub const WILDCARD: Allele = Allele(255);

    /// The allele `repeats.variant` at `locus`.
    ///
    /// # Errors
    /// Repeat numbers below 2 or too large for one byte, and microvariant
    /// digits not smaller than the locus' repeat unit.
    pub fn numeric(locus: Locus, repeats: u32, variant: u8) -> Result<Allele, AlleleError> {
        let r = u32::from(locus.repeat());
        if repeats < 2 {
            return Err(AlleleError::TooSmall(repeats));
        }
        if u32::from(variant) >= r {
            return Err(AlleleError::Microvariant { locus: locus.name(), variant, repeat: locus.repeat() });
        }
        let max = (254 - (r - 1)) / r;
        if repeats > max {
            return Err(AlleleError::OutOfRange { locus: locus.name(), repeats, max });
        }
        Ok(Allele((repeats * r + u32::from(variant)) as u8))
    }

    /// The allele stored as byte `code` (0 = none, 255 = wildcard).
    pub const fn from_code(code: u8) -> Allele {
        Allele(code)
    }

    /// The stored byte.
    pub const fn code(self) -> u8 {
        self.0
    }

    /// Whether this is the wildcard `*`.
    pub const fn is_wildcard(self) -> bool {
        self.0 == 255
    }

    /// Whether this is "no allele".
    pub const fn is_none(self) -> bool {
        self.0 == 0
    }

    /// Repeat number and microvariant digit, for numeric alleles.
    pub fn repeats(self, locus: Locus) -> Option<(u32, u8)> {
        if self.is_none() || self.is_wildcard() {
            return None;
        }
        let r = locus.repeat();
        Some((u32::from(self.0 / r), self.0 % r))
    }

    /// Writes the allele as in the CSV (`15`, `9.3`, `*`).
    pub fn display(self, locus: Locus) -> impl fmt::Display {
        struct D(Allele, Locus);
        impl fmt::Display for D {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.0.repeats(self.1) {
                    None if self.0.is_wildcard() => f.write_str("*"),
                    None => Ok(()),
                    Some((n, 0)) => write!(f, "{n}"),
                    Some((n, k)) => write!(f, "{n}.{k}"),
                }
            }
        }
        D(self, locus)
    }
}

impl fmt::Debug for Allele {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => f.write_str("-"),
            255 => f.write_str("*"),
            p => write!(f, "@{p}"),
        }
    }
}

/// The two alleles at one locus, smaller position first and the wildcard
/// last. `[NONE, NONE]` is an untyped locus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Genotype([u8; 2]);

impl Default for Allele {
    fn default() -> Self {
        Allele::NONE
    }
}

impl Genotype {
    /// An untyped locus.
    pub const UNTYPED: Genotype = Genotype([0, 0]);

    /// The genotype `a/b` (order does not matter). A homozygote is `a/a`.
    /// If one allele is [`Allele::NONE`], the locus is untyped.
    pub fn new(a: Allele, b: Allele) -> Genotype {
        if a.is_none() || b.is_none() {
            return Genotype::UNTYPED;
        }
        let (x, y) = if a.0 <= b.0 { (a.0, b.0) } else { (b.0, a.0) };
        Genotype([x, y])
    }

    /// The genotype as stored: two bytes, sorted.
    pub const fn codes(self) -> [u8; 2] {
        self.0
    }

    /// The genotype from two stored bytes. The bytes are re-sorted, so any
    /// two bytes give a valid genotype.
    pub fn from_codes(codes: [u8; 2]) -> Genotype {
        Genotype::new(Allele(codes[0]), Allele(codes[1]))
    }

    /// The two alleles.
    pub fn alleles(self) -> [Allele; 2] {
        [Allele(self.0[0]), Allele(self.0[1])]
    }

    /// Whether the locus was typed.
    pub const fn is_typed(self) -> bool {
        self.0[0] != 0
    }

    /// Whether either allele is the wildcard.
    pub const fn has_wildcard(self) -> bool {
        self.0[1] == 255
    }

    /// Writes the genotype as in the CSV (`15/16`, `9.3/10`, `15/*`, empty).
    pub fn display(self, locus: Locus) -> impl fmt::Display {
        struct D(Genotype, Locus);
        impl fmt::Display for D {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if !self.0.is_typed() {
                    return Ok(());
                }
                let [a, b] = self.0.alleles();
                write!(f, "{}/{}", a.display(self.1), b.display(self.1))
            }
        }
        D(self, locus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locus(name: &str) -> Locus {
        Locus::parse(name).unwrap()
    }

    #[test]
    fn positions_follow_the_repeat_scale() {
        let th01 = locus("TH01");
        assert_eq!(Allele::numeric(th01, 9, 3).unwrap().code(), 39);
        assert_eq!(Allele::numeric(th01, 10, 0).unwrap().code(), 40);
        let penta = locus("Penta D");
        assert_eq!(Allele::numeric(penta, 2, 2).unwrap().code(), 12);
        assert!(Allele::numeric(th01, 9, 4).is_err());
        assert!(Allele::numeric(penta, 9, 4).is_ok());
        assert!(Allele::numeric(th01, 1, 0).is_err());
        assert!(Allele::numeric(th01, 62, 3).is_ok());
        assert!(Allele::numeric(th01, 63, 0).is_err());
        assert!(Allele::numeric(penta, 50, 4).is_ok());
        assert!(Allele::numeric(penta, 51, 0).is_err());
    }

    #[test]
    fn genotypes_sort_and_display() {
        let fga = locus("FGA");
        let a = Allele::numeric(fga, 22, 2).unwrap();
        let b = Allele::numeric(fga, 21, 0).unwrap();
        let g = Genotype::new(a, b);
        assert_eq!(g.to_string_at(fga), "21/22.2");
        assert_eq!(Genotype::new(Allele::WILDCARD, b).to_string_at(fga), "21/*");
        assert!(Genotype::new(Allele::WILDCARD, b).has_wildcard());
        assert!(!Genotype::new(Allele::NONE, b).is_typed());
    }

    impl Genotype {
        fn to_string_at(self, l: Locus) -> String {
            self.display(l).to_string()
        }
    }
}

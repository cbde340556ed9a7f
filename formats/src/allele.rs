//! Allele text as written by laboratories, normalised by the import rules of
//! SPEC section 3.
//!
//! A repeat number with an optional one-digit microvariant (`15`, `9.3`) is
//! an allele. Values without a digit (`o`, `f`, `r`, `na`, `nr`, `un`, `OL`),
//! off-ladder marks (`<8`, `>30`) and the numbers 0, 1 and 99 become the
//! wildcard `*`. Text with digits that is none of these (`9.3.1`, `12.45`,
//! `15 16`, `17;18`, `28-30`, `l4`) or a number impossible at the locus
//! (`9.4` at a four-base locus, `300`) is an error: silently widening a
//! mistyped allele to `*` would make it match anything.

use hitdex_engine::dna::{Allele, AlleleError, Locus};

/// Why allele text cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlleleParseError {
    /// Looks numeric but is not `n` or `n.k` with one digit `k`.
    #[error("unparsable allele {0:?} (expected a repeat number such as 15 or 9.3, or *)")]
    Malformed(String),
    /// A well-formed number the locus cannot hold.
    #[error("allele {text:?}: {source}")]
    Impossible {
        /// The text given.
        text: String,
        /// Why the locus cannot hold it.
        source: AlleleError,
    },
}

/// Reads one allele at `locus` (surrounding spaces ignored).
///
/// # Errors
/// [`AlleleParseError`] for malformed numeric text and impossible alleles.
pub fn parse_allele(locus: Locus, text: &str) -> Result<Allele, AlleleParseError> {
    let t = text.trim();
    if t == "*" {
        return Ok(Allele::WILDCARD);
    }
    let malformed = || AlleleParseError::Malformed(t.to_string());
    if !t.bytes().any(|b| b.is_ascii_digit()) {
        // Laboratory codes: `o`, `na`, `OL` and the like.
        return Ok(Allele::WILDCARD);
    }
    let number = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'.') && n.as_bytes()[0].is_ascii_digit();
    if let Some(bound) = t.strip_prefix('<').or_else(|| t.strip_prefix('>')) {
        // Off-ladder marks.
        return if number(bound.trim_start()) { Ok(Allele::WILDCARD) } else { Err(malformed()) };
    }
    if !number(t) {
        return Err(malformed());
    }
    let (whole, variant) = match t.split_once('.').map(|(w, v)| (w, v.as_bytes())) {
        None => (t, 0u8),
        Some((w, &[d])) if d.is_ascii_digit() => (w, d - b'0'),
        Some(_) => return Err(malformed()),
    };
    if whole.is_empty() || whole.len() > 4 {
        return Err(malformed());
    }
    let repeats: u32 = whole.parse().map_err(|_| malformed())?;
    if variant == 0 && matches!(repeats, 0 | 1 | 99) {
        return Ok(Allele::WILDCARD);
    }
    Allele::numeric(locus, repeats, variant).map_err(|source| AlleleParseError::Impossible {
        text: t.to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(name: &str, text: &str) -> Result<Allele, AlleleParseError> {
        parse_allele(Locus::parse(name).unwrap(), text)
    }

    #[test]
    fn import_rules_turn_codes_and_placeholders_into_wildcards() {
        for text in [
            "*", "o", "f", "r", "na", "nr", "un", "OL", "<8", ">30", "> 30", "<9.3", "0", "1", "99", " 99 ",
        ] {
            assert_eq!(at("FGA", text), Ok(Allele::WILDCARD), "{text:?}");
        }
    }

    #[test]
    fn numbers_and_microvariants_are_positions() {
        assert_eq!(at("TH01", "9.3").unwrap().code(), 39);
        assert_eq!(at("TH01", " 10 ").unwrap().code(), 40);
        assert_eq!(at("Penta D", "2.2").unwrap().code(), 12);
        // 99.1 is a (strange but) numeric allele, not the 99 placeholder.
        assert!(matches!(
            at("FGA", "99.1"),
            Err(AlleleParseError::Impossible { .. })
        ));
    }

    #[test]
    fn malformed_or_impossible_numbers_are_errors() {
        assert!(matches!(
            at("TH01", "9.3.1"),
            Err(AlleleParseError::Malformed(_))
        ));
        assert!(matches!(
            at("TH01", "9.33"),
            Err(AlleleParseError::Malformed(_))
        ));
        assert!(matches!(
            at("TH01", "9."),
            Err(AlleleParseError::Malformed(_))
        ));
        assert!(matches!(
            at("TH01", "9.4"),
            Err(AlleleParseError::Impossible { .. })
        ));
        assert!(matches!(
            at("TH01", "300"),
            Err(AlleleParseError::Impossible { .. })
        ));
        assert!(matches!(
            at("TH01", "00000009"),
            Err(AlleleParseError::Malformed(_))
        ));
    }

    #[test]
    fn digits_mixed_with_other_text_are_mistypings_not_codes() {
        for text in ["15 16", "17;18", "12,13", "28-30", "l4", "x7", "-3", "14a", "<8x", "<.5"] {
            assert!(matches!(at("FGA", text), Err(AlleleParseError::Malformed(_))), "{text:?}");
        }
    }

    #[test]
    fn a_dot_after_the_dot_is_malformed_not_an_overflow() {
        // `9..` once computed the digit as b'.' - b'0' and panicked.
        assert!(matches!(
            at("TH01", "9.."),
            Err(AlleleParseError::Malformed(_))
        ));
        assert!(matches!(at("Penta D", "10./"), Err(AlleleParseError::Malformed(_))));
        assert_eq!(at("TH01", ".."), Ok(Allele::WILDCARD));
    }
}

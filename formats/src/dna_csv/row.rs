//! One data row: cells to a [`Profile`], with the import rules of SPEC
//! section 3 (alleles through [`parse_allele`]).

use std::borrow::Cow;

use hitdex_engine::dna::{Allele, Genotype, Kind, Locus, Profile};

use super::error::Problem;
use super::header::{Column, Header};
use super::Mode;
use crate::{parse_allele, AlleleParseError};

/// Why a row is refused: the 0-based column at fault, if one is, and why.
pub(super) type RowError = (Option<usize>, Problem);

/// Reads the cells of one non-blank data row into `p`, which must be
/// [`Profile::default`] (filled in place: moving a profile costs as much as
/// reading its cells).
pub(super) fn profile(
    cells: &[Cow<'_, str>],
    header: &Header,
    mode: Mode,
    memo: &mut Memo,
    p: &mut Profile,
) -> Result<(), RowError> {
    if cells.len() != header.columns.len() {
        return Err((
            None,
            Problem::CellCount {
                found: cells.len(),
                expected: header.columns.len(),
            },
        ));
    }
    let (mut reference_col, mut authority_col) = (0, None);
    for (i, (cell, column)) in cells.iter().zip(&header.columns).enumerate() {
        match *column {
            Column::Reference => {
                p.reference = String::from(&**cell);
                reference_col = i;
            }
            Column::Authority => {
                p.authority = String::from(&**cell);
                authority_col = Some(i);
            }
            Column::Kind => p.kind = kind(cell, mode).map_err(|e| (Some(i), e))?,
            Column::Locus(l) => {
                p.loci[l.index()] = memo.genotype(i, l, cell).map_err(|e| (Some(i), e.into()))?
            }
            Column::Amelogenin => p.amelogenin = amelogenin(cell),
        }
    }
    if p.reference.trim().is_empty() {
        return Err((Some(reference_col), Problem::EmptyReference));
    }
    if mode == Mode::Store {
        if p.authority.trim().is_empty() {
            return Err((authority_col, Problem::EmptyAuthority));
        }
        p.validate_for_storage().map_err(|e| (None, e.into()))?;
    }
    Ok(())
}

/// Genotypes already read, per column: a locus has a few hundred common
/// genotypes, so most cells of a large file repeat text seen before, and a
/// lookup is several times cheaper than splitting and parsing the alleles.
/// A hit returns exactly what [`genotype`] returned for the same text.
pub(super) struct Memo {
    slots: Vec<(u64, Genotype)>,
}

/// Slots per column (direct-mapped; a power of two).
const SLOTS: usize = 512;

impl Memo {
    /// An empty memo for a header of `columns` columns.
    pub fn new(columns: usize) -> Self {
        Memo {
            slots: vec![(0, Genotype::UNTYPED); columns * SLOTS],
        }
    }

    /// [`genotype`] of `cell` at `locus`, in column `column`.
    fn genotype(
        &mut self,
        column: usize,
        locus: Locus,
        cell: &str,
    ) -> Result<Genotype, AlleleParseError> {
        let Some(key) = pack(cell.as_bytes()) else {
            return genotype(locus, cell);
        };
        let slot = column * SLOTS
            + (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - SLOTS.trailing_zeros())) as usize;
        match self.slots.get_mut(slot) {
            Some((k, g)) if *k == key => Ok(*g),
            Some(entry) => {
                let g = genotype(locus, cell)?;
                *entry = (key, g);
                Ok(g)
            }
            None => genotype(locus, cell),
        }
    }
}

/// Text of 1 to 7 bytes and its length in one word (never 0, the empty
/// slot). Two overlapping loads instead of a byte copy: copying into a
/// buffer and reading it back as a word stalls store forwarding, which
/// made packing dearer than the lookup.
fn pack(b: &[u8]) -> Option<u64> {
    let n = b.len();
    let word = match n {
        0 | 8.. => return None,
        1..=3 => {
            u64::from(b[0])
                | u64::from(b[n / 2]) << (8 * (n / 2))
                | u64::from(b[n - 1]) << (8 * (n - 1))
        }
        _ => {
            let head = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            let tail = u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]]);
            // The overlapping bytes are equal, so OR rebuilds the text.
            u64::from(head) | u64::from(tail) << (8 * (n - 4))
        }
    };
    Some(word | (n as u64) << 56)
}

/// `person` or `trace` in any case; queries may leave it empty.
fn kind(cell: &str, mode: Mode) -> Result<Kind, Problem> {
    let cell = cell.trim();
    if cell.eq_ignore_ascii_case("person") {
        Ok(Kind::Person)
    } else if cell.eq_ignore_ascii_case("trace") {
        Ok(Kind::Trace)
    } else if cell.is_empty() && mode == Mode::Query {
        Ok(Kind::default())
    } else {
        Err(Problem::BadKind(cell.to_string()))
    }
}

/// The genotype of one cell at `locus`: `a/b`, `a` (homozygote), `*`
/// parts, or empty (untyped). From a third allele on, the rest becomes one
/// `*`; every part must still be readable, so a typing mistake in a dropped
/// allele is not hidden. The node reads query genotypes sent as JSON with
/// it, so they follow the CSV's rules exactly.
///
/// # Errors
/// The first allele that cannot be read.
pub fn genotype(locus: Locus, cell: &str) -> Result<Genotype, AlleleParseError> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Ok(Genotype::UNTYPED);
    }
    let mut parts = cell.split('/');
    let first = parse_allele(locus, parts.next().unwrap_or_default())?;
    let second = match parts.next() {
        Some(text) => parse_allele(locus, text)?,
        None => first,
    };
    let mut more = false;
    for text in parts {
        parse_allele(locus, text)?;
        more = true;
    }
    Ok(Genotype::new(
        first,
        if more { Allele::WILDCARD } else { second },
    ))
}

/// Amelogenin as bytes: `X`/`Y` kept, anything else `*`, never an error
/// (the sex marker is never compared, so it must not block an import).
pub(super) fn amelogenin(cell: &str) -> [u8; 2] {
    fn code(text: &str) -> u8 {
        match text.trim().as_bytes() {
            [b'X' | b'x'] => b'X',
            [b'Y' | b'y'] => b'Y',
            _ => b'*',
        }
    }
    let cell = cell.trim();
    if cell.is_empty() {
        return [0, 0];
    }
    if cell.contains('/') {
        let mut parts = cell.split('/');
        let a = code(parts.next().unwrap_or_default());
        let b = parts.next().map_or(a, code);
        return [a, if parts.next().is_some() { b'*' } else { b }];
    }
    match cell.as_bytes() {
        // `XY`, `XX`: laboratories often drop the slash here.
        &[a, b] if code_byte(a) && code_byte(b) => [a.to_ascii_uppercase(), b.to_ascii_uppercase()],
        _ => {
            let a = code(cell);
            [a, a]
        }
    }
}

fn code_byte(b: u8) -> bool {
    matches!(b, b'X' | b'x' | b'Y' | b'y')
}

#[cfg(test)]
mod tests {
    use super::pack;

    #[test]
    fn packing_keeps_every_byte_and_the_length() {
        let texts = [
            "", "1", "12", "1/2", "15/1", "15/16", "9.3/10", "22.2/23", "22.2/23.", "aaaa",
            "aaaaa", "aaaaaaa",
        ];
        let mut seen = std::collections::HashSet::new();
        for t in texts {
            match pack(t.as_bytes()) {
                None => assert!(t.is_empty() || t.len() > 7),
                Some(k) => {
                    let mut want = [0u8; 8];
                    want[..t.len()].copy_from_slice(t.as_bytes());
                    want[7] = t.len() as u8;
                    assert_eq!(k, u64::from_le_bytes(want), "{t:?}");
                    assert!(seen.insert(k));
                }
            }
        }
    }
}

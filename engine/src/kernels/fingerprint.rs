//! The fingerprint kernel: bit counts of one cylinder against a run of
//! another template's cylinders.
//!
//! Comparing two cylinders (see `fingerprint::cylinder`) needs four counts
//! over the cells valid in both: the valid cells themselves, the set bits
//! of each cylinder there, and the bits where they differ. The gallery side
//! keeps its cylinders four abreast ([`Lanes`]: word `w` of four cylinders
//! in one 256-bit row), so the AVX2 kernel counts four comparisons at once
//! with a nibble-table popcount; the scalar twin uses `count_ones`. Both
//! return the same integers, so the similarity computed from them (with
//! [`similarity`]) is the same bit for bit.
//!
//! The matcher runs the scalar twin ([`PREFERRED`]): with the x86-64-v2
//! baseline `count_ones` is one POPCNT instruction, and on the machine of
//! `benches/RESULTS.md` it was a little faster than the AVX2 nibble tables
//! in every run (criterion, one probe against FVC2002 DB1: 26.3, 22.3,
//! 21.5 against 23.2, 21.0, 21.2 thousand comparisons/s). The counts are a
//! small part of a comparison's time; most of it is pairing and
//! relaxation. The AVX2 kernel runs in the tests and benchmarks.

use super::Level;
use crate::fingerprint::cylinder::{Cylinder, ND};

/// The level the matcher counts at (see the module documentation).
pub const PREFERRED: Level = Level::Scalar;

/// `u64` rows of one block of four cylinders: the bit words, then the mask.
pub const STRIDE: usize = ND + 1;

/// A template's cylinders four abreast, padded with empty cylinders (no
/// valid cell, so nothing compares with them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lanes {
    rows: Vec<[u64; 4]>,
}

impl Lanes {
    /// The cylinders, in order, four abreast.
    pub fn new(cylinders: &[Cylinder]) -> Lanes {
        let mut rows = vec![[0u64; 4]; cylinders.len().div_ceil(4) * STRIDE];
        for (i, c) in cylinders.iter().enumerate() {
            let block = &mut rows[i / 4 * STRIDE..(i / 4 + 1) * STRIDE];
            for (w, &word) in c.bits.iter().chain([&c.mask]).enumerate() {
                block[w][i % 4] = word;
            }
        }
        Lanes { rows }
    }

    /// Cylinder `i`.
    ///
    /// # Panics
    /// If there are not more than `i` cylinders (with padding).
    pub fn cylinder(&self, i: usize) -> Cylinder {
        let block = &self.rows[i / 4 * STRIDE..(i / 4 + 1) * STRIDE];
        Cylinder { bits: std::array::from_fn(|w| block[w][i % 4]), mask: block[ND][i % 4] }
    }

    /// Lanes from the rows [`rows`](Self::rows) gave (as a stored gallery
    /// keeps them). `None` unless whole blocks.
    pub fn from_rows(rows: Vec<[u64; 4]>) -> Option<Lanes> {
        rows.len().is_multiple_of(STRIDE).then_some(Lanes { rows })
    }

    /// The rows: per block of four, [`STRIDE`] rows of four words.
    pub fn rows(&self) -> &[[u64; 4]] {
        &self.rows
    }

    /// Number of blocks of four.
    pub fn blocks(&self) -> usize {
        self.rows.len() / STRIDE
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.rows.len() * 32
    }
}

/// The counts of one cylinder comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Cells valid in both (of one direction section).
    pub common: u32,
    /// Set bits of the first cylinder on those cells.
    pub a: u32,
    /// Set bits of the second.
    pub b: u32,
    /// Bits where they differ.
    pub differ: u32,
}

/// Counts of cylinder `a` against the four cylinders of each block in
/// `blocks` of `lanes`, written to `out` (four per block, in order).
///
/// # Panics
/// If `blocks` is not within `lanes` or `out` is shorter than four per block.
pub fn counts(level: Level, a: &Cylinder, lanes: &Lanes, blocks: std::ops::Range<usize>, out: &mut [Counts]) {
    let rows = &lanes.rows[blocks.start * STRIDE..blocks.end * STRIDE];
    let out = &mut out[..blocks.len() * 4];
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the guard checks that this CPU has AVX2 (`Level` is public,
        // so a caller could name `Avx2` on one without; it then runs scalar).
        Level::Avx2 if super::has_avx2() => unsafe { avx2::counts(a, rows, out) },
        _ => counts_scalar(a, rows, out),
    }
}

fn counts_scalar(a: &Cylinder, rows: &[[u64; 4]], out: &mut [Counts]) {
    for (block, out) in rows.chunks_exact(STRIDE).zip(out.chunks_exact_mut(4)) {
        for (lane, c) in out.iter_mut().enumerate() {
            let mask = a.mask & block[ND][lane];
            *c = Counts { common: mask.count_ones(), ..Counts::default() };
            for (w, &bits) in a.bits.iter().enumerate() {
                let (x, y) = (bits & mask, block[w][lane] & mask);
                c.a += x.count_ones();
                c.b += y.count_ones();
                c.differ += (x ^ y).count_ones();
            }
        }
    }
}

/// Square roots of bit counts up to a whole cylinder's.
static SQRT: [f32; ND * 64 + 1] = {
    let mut t = [0f32; ND * 64 + 1];
    let mut i = 1;
    while i < t.len() {
        // Newton's method from above, in f64, rounded once.
        let x = i as f64;
        let mut r = x;
        let mut step = 0;
        while step < 64 {
            r = 0.5 * (r + x / r);
            step += 1;
        }
        t[i] = r as f32;
        i += 1;
    }
    t
};

/// The similarity of two cylinders from their counts: `1 - ‖a⊕b‖ / (‖a‖ +
/// ‖b‖)` with ‖·‖ the square root of a bit count, 0 if fewer than
/// `min_common` cells are valid in both or neither has a set bit there.
#[inline]
pub fn similarity(c: Counts, min_common: u32) -> f32 {
    if c.common < min_common {
        return 0.0;
    }
    let norms = SQRT[c.a as usize] + SQRT[c.b as usize];
    if norms == 0.0 {
        return 0.0;
    }
    1.0 - SQRT[c.differ as usize] / norms
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{Counts, STRIDE};
    use crate::fingerprint::cylinder::{Cylinder, ND};

    /// Bit counts per byte of `v` (nibble table).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn popcount_bytes(v: __m256i) -> __m256i {
        let table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
        let low = _mm256_set1_epi8(0x0f);
        let lo = _mm256_shuffle_epi8(table, _mm256_and_si256(v, low));
        let hi = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(v, 4), low));
        _mm256_add_epi8(lo, hi)
    }

    /// Sums the bytes of each 64-bit lane.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn lane_sums(bytes: __m256i) -> [u64; 4] {
        let mut out = [0u64; 4];
        // SAFETY: `out` is 32 bytes; storeu has no alignment requirement.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), _mm256_sad_epu8(bytes, _mm256_setzero_si256())) };
        out
    }

    /// # Safety
    /// The CPU must support AVX2. `rows` holds whole blocks and `out` four
    /// counts per block.
    #[target_feature(enable = "avx2")]
    pub unsafe fn counts(a: &Cylinder, rows: &[[u64; 4]], out: &mut [Counts]) {
        // Per byte at most 8 set bits per word: ND (6) words stay below 256.
        const _: () = assert!(ND * 8 < 256);
        let load = |row: &[u64; 4]| {
            // SAFETY: a row is 32 bytes; loadu has no alignment requirement.
            unsafe { _mm256_loadu_si256(row.as_ptr().cast()) }
        };
        let a_mask = _mm256_set1_epi64x(a.mask as i64);
        let a_bits: [__m256i; ND] = std::array::from_fn(|w| _mm256_set1_epi64x(a.bits[w] as i64));
        for (block, out) in rows.chunks_exact(STRIDE).zip(out.chunks_exact_mut(4)) {
            let mask = _mm256_and_si256(a_mask, load(&block[ND]));
            let common = popcount_bytes(mask);
            let (mut na, mut nb, mut nx) = (_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256());
            for (w, &bits) in a_bits.iter().enumerate() {
                let x = _mm256_and_si256(bits, mask);
                let y = _mm256_and_si256(load(&block[w]), mask);
                na = _mm256_add_epi8(na, popcount_bytes(x));
                nb = _mm256_add_epi8(nb, popcount_bytes(y));
                nx = _mm256_add_epi8(nx, popcount_bytes(_mm256_xor_si256(x, y)));
            }
            let (common, na, nb, nx) = (lane_sums(common), lane_sums(na), lane_sums(nb), lane_sums(nx));
            for (lane, c) in out.iter_mut().enumerate() {
                *c = Counts { common: common[lane] as u32, a: na[lane] as u32, b: nb[lane] as u32, differ: nx[lane] as u32 };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::available_levels;
    use proptest::prelude::*;

    fn cylinder() -> impl Strategy<Value = Cylinder> {
        (proptest::array::uniform6(any::<u64>()), any::<u64>(), 0u32..4).prop_map(|(bits, mask, sparse)| {
            // Sparse masks too, so `common` falls on both sides of thresholds.
            let mask = if sparse == 0 { mask & (mask >> 7) } else { mask };
            Cylinder { bits, mask }
        })
    }

    /// The counts by definition, cell by cell.
    fn by_definition(a: &Cylinder, b: &Cylinder) -> Counts {
        let bit = |word: u64, cell: usize| word >> cell & 1 == 1;
        let mut c = Counts::default();
        for cell in 0..64 {
            if !(bit(a.mask, cell) && bit(b.mask, cell)) {
                continue;
            }
            c.common += 1;
            for section in 0..ND {
                let (x, y) = (bit(a.bits[section], cell), bit(b.bits[section], cell));
                c.a += u32::from(x);
                c.b += u32::from(y);
                c.differ += u32::from(x != y);
            }
        }
        c
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn every_level_counts_as_the_definition(a in cylinder(), bs in proptest::collection::vec(cylinder(), 0..13)) {
            let lanes = Lanes::new(&bs);
            let expected: Vec<Counts> = bs.iter().map(|b| by_definition(&a, b)).collect();
            for level in available_levels() {
                let mut out = vec![Counts { common: 99, a: 99, b: 99, differ: 99 }; lanes.blocks() * 4];
                counts(level, &a, &lanes, 0..lanes.blocks(), &mut out);
                prop_assert_eq!(&out[..bs.len()], &expected[..], "{:?}", level);
                // Padding lanes have no valid cell.
                prop_assert!(out[bs.len()..].iter().all(|c| c.common == 0), "{:?}", level);
            }
        }
    }

    #[test]
    fn similarity_is_one_for_equal_bits_and_zero_below_the_common_cells() {
        let c = Counts { common: 40, a: 30, b: 30, differ: 0 };
        assert_eq!(similarity(c, 40), 1.0);
        assert_eq!(similarity(c, 41), 0.0);
        assert_eq!(similarity(Counts { common: 40, a: 0, b: 0, differ: 0 }, 1), 0.0);
        let half = similarity(Counts { common: 40, a: 16, b: 16, differ: 16 }, 1);
        assert_eq!(half, 0.5);
    }
}

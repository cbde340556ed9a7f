//! The DNA core kernel: one query against stored ESS-12 genotypes.
//!
//! A stored profile's core is 24 bytes: the twelve ESS loci in canonical
//! order, two allele positions each (sorted, `0` untyped, `255` wildcard).
//! All ESS loci have a repeat unit of 4, so "microvariant" is `pos & 3 != 0`
//! for every lane and the whole core compares in one 32-byte vector.
//!
//! For each locus typed in both, the kernel computes the differing alleles
//! (two minus the best pairing, SPEC section 3) and sums them; it reports
//! the compared and matching loci and, when exactly one locus differs, which.

use super::Level;
use crate::dna::{Genotype, ESS_COUNT};

/// Bytes of one stored core.
pub const CORE_BYTES: usize = 2 * ESS_COUNT;

/// A query prepared for the kernel.
#[derive(Debug, Clone)]
pub struct CoreQuery {
    /// Alleles, padded to 32 bytes with zeros.
    q: [u8; 32],
    /// The same with the two alleles of each locus swapped.
    swapped: [u8; 32],
    /// Bit `i` set when ESS locus `i` is typed in the query.
    typed: u16,
    /// The same as 16-bit lanes (all ones where typed), for the vector kernel.
    typed16: [i16; 16],
    tolerance: bool,
}

/// What the kernel found for one stored core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CoreResult {
    /// Differing alleles summed over compared loci (0..=24).
    pub differing: u8,
    /// Loci typed in both.
    pub compared: u8,
    /// Compared loci without a differing allele.
    pub matching: u8,
    /// Bit `i` set when ESS locus `i` has a differing allele.
    pub differing_loci: u16,
}

impl CoreQuery {
    /// Prepares the ESS part of a query profile.
    pub fn new(loci: &[Genotype], tolerance: bool) -> CoreQuery {
        let mut q = [0u8; 32];
        let mut swapped = [0u8; 32];
        let mut typed = 0u16;
        for (i, g) in loci.iter().take(ESS_COUNT).enumerate() {
            let [a, b] = g.codes();
            q[2 * i] = a;
            q[2 * i + 1] = b;
            swapped[2 * i] = b;
            swapped[2 * i + 1] = a;
            if g.is_typed() {
                typed |= 1 << i;
            }
        }
        let typed16 = std::array::from_fn(|i| if typed & (1 << i) != 0 { -1 } else { 0 });
        CoreQuery { q, swapped, typed, typed16, tolerance }
    }

    /// Bit `i` set when ESS locus `i` is typed in the query.
    pub fn typed(&self) -> u16 {
        self.typed
    }

    /// Compares the query with one stored core (24 bytes) at `level`.
    #[inline]
    pub fn compare(&self, level: Level, core: &[u8; CORE_BYTES]) -> CoreResult {
        match level {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the guard checks that this CPU has AVX2 (`Level` is public,
            // so a caller could name `Avx2` on one without; it then runs scalar).
            Level::Avx2 if super::has_avx2() => unsafe { avx2::compare(self, core) },
            _ => compare_scalar(self, core),
        }
    }

    /// Compares the query with every core in `cores` (a multiple of 24
    /// bytes) and calls `found(i, result)` for each core `i` with at most
    /// `max_differing` differing alleles and at least `min_matching` matching loci.
    pub fn scan(
        &self,
        level: Level,
        cores: &[u8],
        max_differing: u8,
        min_matching: u8,
        mut found: impl FnMut(usize, CoreResult),
    ) {
        match level {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the guard checks that this CPU has AVX2 (`Level` is public,
            // so a caller could name `Avx2` on one without; it then runs scalar).
            Level::Avx2 if super::has_avx2() => unsafe { avx2::scan(self, cores, max_differing, min_matching, &mut found) },
            _ => {
                for (i, core) in cores.chunks_exact(CORE_BYTES).enumerate() {
                    let core: &[u8; CORE_BYTES] = core.try_into().expect("chunks_exact gives 24 bytes");
                    let r = compare_scalar(self, core);
                    if r.differing <= max_differing && r.matching >= min_matching {
                        found(i, r);
                    }
                }
            }
        }
    }
}

fn pairs(a: u8, b: u8, tolerance: bool) -> u8 {
    let microvariant = (a | b) & 3 != 0;
    u8::from(a == b || a == 255 || b == 255 || (tolerance && microvariant && a.abs_diff(b) == 1))
}

/// The scalar twin.
pub fn compare_scalar(query: &CoreQuery, core: &[u8; CORE_BYTES]) -> CoreResult {
    let mut r = CoreResult::default();
    for i in 0..ESS_COUNT {
        let (b1, b2) = (core[2 * i], core[2 * i + 1]);
        if query.typed & (1 << i) == 0 || b1 == 0 {
            continue;
        }
        let (a1, a2) = (query.q[2 * i], query.q[2 * i + 1]);
        let t = query.tolerance;
        let best = (pairs(a1, b1, t) + pairs(a2, b2, t)).max(pairs(a1, b2, t) + pairs(a2, b1, t));
        r.compared += 1;
        if best == 2 {
            r.matching += 1;
        } else {
            r.differing += 2 - best;
            r.differing_loci |= 1 << i;
        }
    }
    r
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{CoreQuery, CoreResult, CORE_BYTES};

    /// Loop-invariant vectors of one query.
    struct Prepared {
        q: __m256i,
        swapped: __m256i,
        q_wild: __m256i,
        s_wild: __m256i,
        typed16: __m256i,
        tolerance: __m256i,
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn prepare(query: &CoreQuery) -> Prepared {
        // SAFETY: each array is 32 bytes; loadu has no alignment requirement.
        let (q, swapped, typed16) = unsafe {
            (
                _mm256_loadu_si256(query.q.as_ptr().cast()),
                _mm256_loadu_si256(query.swapped.as_ptr().cast()),
                _mm256_loadu_si256(query.typed16.as_ptr().cast()),
            )
        };
        let all = _mm256_set1_epi8(-1);
        Prepared {
            q,
            swapped,
            q_wild: _mm256_cmpeq_epi8(q, all),
            s_wild: _mm256_cmpeq_epi8(swapped, all),
            typed16,
            tolerance: _mm256_set1_epi8(i8::from(query.tolerance)),
        }
    }

    /// Byte mask: allele `a` (with its wildcard mask) pairs with allele `p`.
    ///
    /// Integer alleles sit at multiples of the repeat unit (at least 4 apart),
    /// so two positions one apart always include a microvariant: with
    /// tolerance, "neighbours with at least one microvariant" is just
    /// `|a - p| <= 1`, and without it `|a - p| <= 0`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn pairs(a: __m256i, a_wild: __m256i, p: __m256i, p_wild: __m256i, tolerance: __m256i) -> __m256i {
        let distance = _mm256_or_si256(_mm256_subs_epu8(a, p), _mm256_subs_epu8(p, a));
        let near = _mm256_cmpeq_epi8(_mm256_min_epu8(distance, tolerance), distance);
        _mm256_or_si256(near, _mm256_or_si256(a_wild, p_wild))
    }

    /// Differing alleles per locus (16-bit lanes, 0 where not compared) and
    /// the mask of loci typed in both.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn differences(pr: &Prepared, p: __m256i) -> (__m256i, __m256i) {
        let p_wild = _mm256_cmpeq_epi8(p, _mm256_set1_epi8(-1));
        let one = _mm256_set1_epi8(1);
        let straight = _mm256_and_si256(pairs(pr.q, pr.q_wild, p, p_wild, pr.tolerance), one);
        let crossed = _mm256_and_si256(pairs(pr.swapped, pr.s_wild, p, p_wild, pr.tolerance), one);
        // Sum the two byte lanes of each locus into one 16-bit lane.
        let best = _mm256_max_epi16(_mm256_maddubs_epi16(straight, one), _mm256_maddubs_epi16(crossed, one));
        // A stored locus is typed when its first (smaller) allele is non-zero.
        let untyped = _mm256_cmpeq_epi16(_mm256_and_si256(p, _mm256_set1_epi16(0xff)), _mm256_setzero_si256());
        let both = _mm256_andnot_si256(untyped, pr.typed16);
        (_mm256_and_si256(_mm256_sub_epi16(_mm256_set1_epi16(2), best), both), both)
    }

    /// The result for one core if it has at most `max_differing` differing
    /// alleles and at least `min_matching` matching loci. The cheap count
    /// comes first: most stored profiles fail it.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn evaluate(pr: &Prepared, p: __m256i, max_differing: u8, min_matching: u8) -> Option<CoreResult> {
        let (diff, both) = differences(pr, p);
        let d1 = _mm256_movemask_epi8(_mm256_cmpeq_epi16(diff, _mm256_set1_epi16(1))) as u32;
        let d2 = _mm256_movemask_epi8(_mm256_cmpeq_epi16(diff, _mm256_set1_epi16(2))) as u32;
        let differing = d1.count_ones() / 2 + d2.count_ones();
        if differing > u32::from(max_differing) {
            return None;
        }
        let compared = (_mm256_movemask_epi8(both) as u32).count_ones() / 2;
        let differ = d1 | d2;
        let matching = compared - differ.count_ones() / 2;
        if matching < u32::from(min_matching) {
            return None;
        }
        Some(CoreResult {
            differing: differing as u8,
            compared: compared as u8,
            matching: matching as u8,
            differing_loci: compress_pairs(differ),
        })
    }

    /// Bit `i` of the result is bit `2i` of `mask` (16-bit lanes to loci).
    #[inline]
    fn compress_pairs(mask: u32) -> u16 {
        let mut out = 0u16;
        let mut m = mask & 0x5555_5555;
        while m != 0 {
            let bit = m.trailing_zeros();
            out |= 1 << (bit / 2);
            m &= m - 1;
        }
        out
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn compare(query: &CoreQuery, core: &[u8; CORE_BYTES]) -> CoreResult {
        let pr = prepare(query);
        let mut buf = [0u8; 32];
        buf[..CORE_BYTES].copy_from_slice(core);
        // SAFETY: `buf` is 32 bytes.
        let p = unsafe { _mm256_loadu_si256(buf.as_ptr().cast()) };
        evaluate(&pr, p, u8::MAX, 0).unwrap_or_default()
    }

    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn scan(
        query: &CoreQuery,
        cores: &[u8],
        max_differing: u8,
        min_matching: u8,
        found: &mut impl FnMut(usize, CoreResult),
    ) {
        let pr = prepare(query);
        let n = cores.len() / CORE_BYTES;
        // A 32-byte load at core i reads 8 bytes past it; those land in
        // lanes 12..16, which `typed16` masks off. The last core is copied
        // to a buffer so no load runs past the slice.
        let fast = n.saturating_sub(1);
        for i in 0..fast {
            // SAFETY: i < n - 1, so bytes i*24 .. i*24+32 lie inside `cores`.
            let p = unsafe { _mm256_loadu_si256(cores.as_ptr().add(i * CORE_BYTES).cast()) };
            if let Some(r) = evaluate(&pr, p, max_differing, min_matching) {
                found(i, r);
            }
        }
        if n > 0 {
            let mut buf = [0u8; 32];
            buf[..CORE_BYTES].copy_from_slice(&cores[fast * CORE_BYTES..n * CORE_BYTES]);
            // SAFETY: `buf` is 32 bytes.
            let p = unsafe { _mm256_loadu_si256(buf.as_ptr().cast()) };
            if let Some(r) = evaluate(&pr, p, max_differing, min_matching) {
                found(fast, r);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::dna::{compare, Allele, Locus, MatchParams, LOCUS_COUNT};
    use crate::kernels::available_levels;

    /// Alleles from a small range so that equal, neighbouring and
    /// microvariant alleles are common, plus wildcards.
    fn allele() -> impl Strategy<Value = u8> {
        prop_oneof![8 => 36u8..48, 1 => Just(255u8)]
    }

    fn genotype() -> impl Strategy<Value = Genotype> {
        prop_oneof![
            1 => Just(Genotype::UNTYPED),
            6 => (allele(), allele()).prop_map(|(a, b)| Genotype::new(Allele::from_code(a), Allele::from_code(b))),
            2 => allele().prop_map(|a| Genotype::new(Allele::from_code(a), Allele::from_code(a))),
        ]
    }

    fn core_of(loci: &[Genotype]) -> [u8; CORE_BYTES] {
        let mut c = [0u8; CORE_BYTES];
        for (i, g) in loci.iter().take(ESS_COUNT).enumerate() {
            c[2 * i..2 * i + 2].copy_from_slice(&g.codes());
        }
        c
    }

    fn full(loci: &[Genotype]) -> [Genotype; LOCUS_COUNT] {
        let mut f = [Genotype::UNTYPED; LOCUS_COUNT];
        f[..ESS_COUNT].copy_from_slice(&loci[..ESS_COUNT]);
        f
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        #[test]
        fn every_level_agrees_with_the_rules(
            q in proptest::collection::vec(genotype(), ESS_COUNT),
            p in proptest::collection::vec(genotype(), ESS_COUNT),
            tolerance in any::<bool>(),
        ) {
            let params = MatchParams { min_loci: 6, microvariant_tolerance: tolerance };
            let expected = compare(&full(&q), &full(&p), &params);
            let query = CoreQuery::new(&q, tolerance);
            for level in available_levels() {
                let r = query.compare(level, &core_of(&p));
                prop_assert_eq!(r.differing, expected.differing_alleles, "{:?}", level);
                prop_assert_eq!(r.compared, expected.compared);
                prop_assert_eq!(r.matching, expected.matching);
                if expected.differing_alleles == 1 {
                    prop_assert_eq!(Some(r.differing_loci.trailing_zeros() as usize), expected.differing_locus.map(Locus::index));
                }
            }
        }

        #[test]
        fn scan_agrees_with_compare(
            q in proptest::collection::vec(genotype(), ESS_COUNT),
            ps in proptest::collection::vec(proptest::collection::vec(genotype(), ESS_COUNT), 0..40),
        ) {
            let query = CoreQuery::new(&q, true);
            let cores: Vec<u8> = ps.iter().flat_map(|p| core_of(p)).collect();
            let expected: Vec<(usize, CoreResult)> = ps.iter().enumerate()
                .map(|(i, p)| (i, compare_scalar(&query, &core_of(p))))
                .filter(|(_, r)| r.differing <= 1 && r.matching >= 3)
                .collect();
            for level in available_levels() {
                let mut got = Vec::new();
                query.scan(level, &cores, 1, 3, |i, r| got.push((i, r)));
                prop_assert_eq!(&got, &expected, "{:?}", level);
            }
        }
    }
}

//! The matching rules of SPEC section 3, written plainly.
//!
//! This is the definition every fast path is tested against: no index, no
//! SIMD, one locus at a time.

use super::{Genotype, Locus, Profile, LOCUS_COUNT};

/// Parameters of a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchParams {
    /// Fewest matching loci for a hit (default 6).
    pub min_loci: u8,
    /// Whether a microvariant pairs with its neighbours on the repeat scale
    /// (default on; `--exact-microvariants` turns it off).
    pub microvariant_tolerance: bool,
}

impl Default for MatchParams {
    fn default() -> Self {
        MatchParams { min_loci: 6, microvariant_tolerance: true }
    }
}

/// Full or near match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HitQuality {
    /// No differing allele.
    Full,
    /// Exactly one differing allele.
    Near,
}

impl HitQuality {
    /// `full` or `near`.
    pub fn as_str(self) -> &'static str {
        match self {
            HitQuality::Full => "full",
            HitQuality::Near => "near",
        }
    }
}

/// The outcome of comparing two profiles locus by locus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Comparison {
    /// Loci typed in both.
    pub compared: u8,
    /// Compared loci without a differing allele.
    pub matching: u8,
    /// Differing alleles summed over compared loci.
    pub differing_alleles: u8,
    /// The last compared locus with a differing allele.
    pub differing_locus: Option<Locus>,
}

impl Comparison {
    /// The hit this comparison amounts to, if any.
    pub fn quality(&self, params: &MatchParams) -> Option<HitQuality> {
        if self.matching < params.min_loci {
            return None;
        }
        match self.differing_alleles {
            0 => Some(HitQuality::Full),
            1 => Some(HitQuality::Near),
            _ => None,
        }
    }
}

/// A hit: who holds the record, and how well it matched. Never personal data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hit {
    /// Reference number of the stored profile.
    pub reference: String,
    /// Designated authority holding the record.
    pub authority: String,
    /// Full or near.
    pub quality: HitQuality,
    /// Matching loci.
    pub matching_loci: u8,
    /// Loci typed in both profiles.
    pub compared_loci: u8,
    /// For a near match, the locus with the differing allele.
    pub differing_locus: Option<Locus>,
}

impl Hit {
    /// The hit of quality `quality` on the stored profile `reference` held
    /// by `authority`, as `c` compared it.
    pub fn new(reference: String, authority: String, quality: HitQuality, c: &Comparison) -> Hit {
        Hit {
            reference,
            authority,
            quality,
            matching_loci: c.matching,
            compared_loci: c.compared,
            differing_locus: if quality == HitQuality::Near { c.differing_locus } else { None },
        }
    }

    /// The order hits are reported in: full before near, more matching
    /// loci first, then authority and reference. Independent of shards.
    pub fn report_order(a: &Hit, b: &Hit) -> std::cmp::Ordering {
        (a.quality, std::cmp::Reverse(a.matching_loci), &a.authority, &a.reference).cmp(&(
            b.quality,
            std::cmp::Reverse(b.matching_loci),
            &b.authority,
            &b.reference,
        ))
    }
}

/// Whether two alleles pair: equal, either a wildcard, or (with tolerance)
/// neighbours on the repeat scale with at least one a microvariant.
fn pairs(locus: Locus, a: u8, b: u8, tolerance: bool) -> bool {
    if a == b || a == 255 || b == 255 {
        return true;
    }
    let r = locus.repeat();
    let microvariant = !a.is_multiple_of(r) || !b.is_multiple_of(r);
    tolerance && microvariant && a.abs_diff(b) == 1
}

/// Differing alleles at one locus typed in both profiles: two minus the size
/// of the best pairing of the two allele pairs.
pub fn locus_differences(locus: Locus, a: Genotype, b: Genotype, tolerance: bool) -> u8 {
    let [a1, a2] = a.codes();
    let [b1, b2] = b.codes();
    let p = |x, y| u8::from(pairs(locus, x, y, tolerance));
    let straight = p(a1, b1) + p(a2, b2);
    let crossed = p(a1, b2) + p(a2, b1);
    2 - straight.max(crossed)
}

/// Compares two profiles on the loci typed in both.
pub fn compare(q: &[Genotype; LOCUS_COUNT], p: &[Genotype; LOCUS_COUNT], params: &MatchParams) -> Comparison {
    let mut c = Comparison::default();
    for locus in Locus::all() {
        let (a, b) = (q[locus.index()], p[locus.index()]);
        if !a.is_typed() || !b.is_typed() {
            continue;
        }
        c.compared += 1;
        let d = locus_differences(locus, a, b, params.microvariant_tolerance);
        if d == 0 {
            c.matching += 1;
        } else {
            c.differing_alleles += d;
            c.differing_locus = Some(locus);
        }
    }
    c
}

/// The reference matcher: compares `query` with every profile of `db` by
/// [`compare`] and returns the hits in report order. No index, no SIMD; the
/// definition every fast path is tested against.
pub fn brute_force(db: &[Profile], query: &Profile, params: &MatchParams) -> Vec<Hit> {
    use rayon::prelude::*;
    let mut hits: Vec<Hit> = db
        .par_iter()
        .filter_map(|p| {
            let c = compare(&query.loci, &p.loci, params);
            c.quality(params).map(|quality| Hit::new(p.reference.clone(), p.authority.clone(), quality, &c))
        })
        .collect();
    hits.sort_by(Hit::report_order);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dna::Allele;

    fn g(locus: Locus, a: (u32, u8), b: (u32, u8)) -> Genotype {
        Genotype::new(Allele::numeric(locus, a.0, a.1).unwrap(), Allele::numeric(locus, b.0, b.1).unwrap())
    }

    #[test]
    fn microvariant_neighbours_pair_but_integers_never_do() {
        let th01 = Locus::parse("TH01").unwrap();
        let d = |a, b, tol| locus_differences(th01, a, b, tol);
        // 9.3 pairs with 9.2 and with 10.
        assert_eq!(d(g(th01, (9, 3), (6, 0)), g(th01, (9, 2), (6, 0)), true), 0);
        assert_eq!(d(g(th01, (9, 3), (6, 0)), g(th01, (10, 0), (6, 0)), true), 0);
        // ... but not without tolerance.
        assert_eq!(d(g(th01, (9, 3), (6, 0)), g(th01, (10, 0), (6, 0)), false), 1);
        // 9 never pairs with 10.
        assert_eq!(d(g(th01, (9, 0), (6, 0)), g(th01, (10, 0), (6, 0)), true), 1);
        // 9.1 and 9.3 are two apart.
        assert_eq!(d(g(th01, (9, 1), (6, 0)), g(th01, (9, 3), (6, 0)), true), 1);
    }

    #[test]
    fn penta_loci_use_a_five_base_repeat() {
        let penta = Locus::parse("Penta D").unwrap();
        // 9.4 is one below 10 on a five-base scale.
        assert_eq!(locus_differences(penta, g(penta, (9, 4), (12, 0)), g(penta, (10, 0), (12, 0)), true), 0);
        // 9.3 is two below 10.
        assert_eq!(locus_differences(penta, g(penta, (9, 3), (12, 0)), g(penta, (10, 0), (12, 0)), true), 1);
    }

    #[test]
    fn best_pairing_is_used_for_crossed_alleles_and_wildcards() {
        let fga = Locus::parse("FGA").unwrap();
        let a = g(fga, (20, 0), (24, 0));
        let b = g(fga, (24, 0), (25, 0));
        assert_eq!(locus_differences(fga, a, b, true), 1);
        let w = Genotype::new(Allele::WILDCARD, Allele::numeric(fga, 20, 0).unwrap());
        assert_eq!(locus_differences(fga, a, w, true), 0);
        let hom = g(fga, (20, 0), (20, 0));
        assert_eq!(locus_differences(fga, a, hom, true), 1);
        assert_eq!(locus_differences(fga, g(fga, (21, 0), (22, 0)), g(fga, (23, 0), (25, 0)), true), 2);
    }
}

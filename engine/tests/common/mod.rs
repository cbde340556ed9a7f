//! Adversarial profiles for the property tests of search, shared by the
//! integration tests and the engine's unit tests (which force widened
//! probes).
#![allow(dead_code)]

use hitdex_engine::dna::{brute_force, Allele, Genotype, Kind, Locus, MatchParams, Profile, ESS_COUNT, LOCUS_COUNT};
use hitdex_engine::index::Index;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Alleles crowded on a few positions so that equal, neighbouring and
/// microvariant alleles are common; some wildcards.
pub fn allele(locus: usize) -> impl Strategy<Value = u8> {
    let base = if Locus::from_index(locus).unwrap().repeat() == 5 { 40u8 } else { 36u8 };
    prop_oneof![12 => base..base + 10, 1 => Just(255u8)]
}

pub fn genotype(locus: usize, typed_weight: u32) -> impl Strategy<Value = Genotype> {
    prop_oneof![
        4 => Just(Genotype::UNTYPED),
        typed_weight => (allele(locus), allele(locus)).prop_map(|(a, b)| Genotype::new(Allele::from_code(a), Allele::from_code(b))),
        typed_weight / 3 => allele(locus).prop_map(|a| Genotype::new(Allele::from_code(a), Allele::from_code(a))),
    ]
}

pub fn loci() -> impl Strategy<Value = [Genotype; LOCUS_COUNT]> {
    let ess: Vec<_> = (0..ESS_COUNT).map(|l| genotype(l, 30).boxed()).collect();
    let other: Vec<_> = (ESS_COUNT..ESS_COUNT + 4).map(|l| genotype(l, 4).boxed()).collect();
    (ess, other).prop_map(|(ess, other)| {
        let mut g = [Genotype::UNTYPED; LOCUS_COUNT];
        g[..ESS_COUNT].copy_from_slice(&ess);
        g[ESS_COUNT..ESS_COUNT + 4].copy_from_slice(&other);
        g
    })
}

/// A variation of `p`: loci dropped, one allele moved by one position, a
/// wildcard added. Makes near and full hits common.
pub fn vary(p: &[Genotype; LOCUS_COUNT], seed: u64) -> [Genotype; LOCUS_COUNT] {
    let mut g = *p;
    let mut s = seed;
    let mut next = |k: u64| {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (s >> 33) % k
    };
    for locus in &mut g {
        if locus.is_typed() && next(8) == 0 {
            *locus = Genotype::UNTYPED;
        }
    }
    let l = next(ESS_COUNT as u64) as usize;
    if g[l].is_typed() {
        let [a, b] = g[l].codes();
        g[l] = match next(4) {
            0 => Genotype::new(Allele::from_code(a.wrapping_add(1).clamp(1, 254)), Allele::from_code(b)),
            1 => Genotype::new(Allele::WILDCARD, Allele::from_code(b)),
            2 => Genotype::new(Allele::from_code(a), Allele::from_code(b.saturating_sub(1).max(1))),
            _ => g[l],
        };
    }
    g
}

/// A sparse trace of `p`: only four to seven ESS loci kept (the other loci
/// stay), so that groups with few keyable loci and their subset keys occur.
pub fn sparse(p: &[Genotype; LOCUS_COUNT], seed: u64) -> [Genotype; LOCUS_COUNT] {
    let mut g = *p;
    let keep = 4 + (seed % 4) as usize;
    let mut order: Vec<usize> = (0..ESS_COUNT).collect();
    let mut s = seed;
    for i in (1..ESS_COUNT).rev() {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        order.swap(i, (s >> 33) as usize % (i + 1));
    }
    for &l in &order[keep..] {
        g[l] = Genotype::UNTYPED;
    }
    g
}

pub fn profile(i: usize, loci: [Genotype; LOCUS_COUNT]) -> Profile {
    Profile {
        reference: format!("R{i}"),
        authority: ["DE-BKA", "NL-NFI", "FR-PTS"][i % 3].to_string(),
        kind: if i.is_multiple_of(5) { Kind::Trace } else { Kind::Person },
        loci,
        amelogenin: [0, 0],
    }
}

pub fn database() -> impl Strategy<Value = (Vec<Profile>, Vec<Profile>)> {
    (proptest::collection::vec(loci(), 20..160), any::<u64>()).prop_map(|(base, seed)| {
        let mut db: Vec<Profile> = Vec::new();
        for (i, l) in base.iter().enumerate() {
            db.push(profile(db.len(), *l));
            if i % 3 == 0 {
                db.push(profile(db.len(), vary(l, seed ^ i as u64)));
            }
            if i % 4 == 1 {
                db.push(profile(db.len(), sparse(&vary(l, seed ^ !(i as u64)), seed.wrapping_add(i as u64))));
            }
        }
        db.retain(|p| p.typed_loci() >= 6);
        let queries = base
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let varied = vary(l, seed.rotate_left(7) ^ i as u64);
                let mut q = profile(i, if i % 5 == 2 { sparse(&varied, seed ^ i as u64) } else { varied });
                q.reference = format!("Q{i}");
                q
            })
            .collect();
        (db, queries)
    })
}

pub fn params() -> impl Strategy<Value = MatchParams> {
    (prop_oneof![4 => Just(6u8), 1 => 3u8..9], any::<bool>())
        .prop_map(|(min_loci, microvariant_tolerance)| MatchParams { min_loci, microvariant_tolerance })
}


/// Builds an index of `db` with `shards` shards and checks that single and
/// batch searches of every query equal brute force. Returns whether any
/// query had a hit.
pub fn check_all_paths(db: &[Profile], queries: &[Profile], params: &MatchParams, shards: usize) -> Result<bool, TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let index = Index::build(dir.path(), db, shards).unwrap();
    let batch = index.search_batch(queries, params, &|_| {}).unwrap();
    let mut any_hit = false;
    for (q, from_batch) in queries.iter().zip(&batch) {
        let expected = brute_force(db, q, params);
        any_hit |= !expected.is_empty();
        let single = index.search(q, params).unwrap();
        prop_assert_eq!(&single, &expected, "single query {}", q.reference);
        prop_assert_eq!(from_batch, &expected, "batch query {}", q.reference);
    }
    Ok(any_hit)
}

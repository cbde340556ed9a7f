//! The synthetic data generator: determinism, shares, planted hits and
//! realism. Tests on the hand-made table always run; tests on the real NIST
//! table skip with a message when ../shared/datasets is absent.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use hitdex_datasets::synthetic::{
    self, generate, generate_with_truth, queries, queries_with_truth, Relation, SyntheticConfig,
    CHUNK,
};
use hitdex_engine::dna::{
    brute_force, Allele, HitQuality, Kind, Locus, MatchParams, Profile, ESS_COUNT, LOCUS_COUNT,
};

fn config(profiles: usize, seed: u64) -> SyntheticConfig {
    SyntheticConfig {
        profiles,
        seed,
        ..SyntheticConfig::default()
    }
}

fn ess_typed(p: &Profile) -> usize {
    p.loci[..ESS_COUNT].iter().filter(|g| g.is_typed()).count()
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

#[test]
fn same_seed_gives_same_profiles_and_another_seed_differs() {
    let f = common::hand_made();
    let n = 2 * CHUNK + 100;
    let a = generate(&f, &config(n, 42));
    let b = generate(&f, &config(n, 42));
    assert_eq!(a, b);
    let c = generate(&f, &config(n, 43));
    assert_eq!(c.len(), n);
    let same = a.iter().zip(&c).filter(|(x, y)| x.loci == y.loci).count();
    assert!(same < n / 100, "{same} identical profiles across seeds");
    // A longer set starts with the shorter one's complete chunks.
    let longer = generate(&f, &config(n + CHUNK, 42));
    assert_eq!(
        longer[..CHUNK]
            .iter()
            .map(|p| &p.reference)
            .collect::<Vec<_>>(),
        a[..CHUNK].iter().map(|p| &p.reference).collect::<Vec<_>>()
    );
}

#[test]
fn thread_count_does_not_change_the_profiles_or_queries() {
    let f = common::hand_made();
    let cfg = config(3 * CHUNK + 17, 5);
    let one = pool(1).install(|| generate_with_truth(&f, &cfg));
    let two = pool(2).install(|| generate_with_truth(&f, &cfg));
    let four = pool(4).install(|| generate_with_truth(&f, &cfg));
    assert_eq!(one.profiles, two.profiles);
    assert_eq!(one.planted, two.planted);
    assert_eq!(one.profiles, four.profiles);
    let q1 = pool(1).install(|| queries(&one.profiles, &f, CHUNK + 50, 9));
    let q2 = pool(2).install(|| queries(&one.profiles, &f, CHUNK + 50, 9));
    assert_eq!(q1, q2);
}

#[test]
fn about_a_fifth_are_partial_traces_and_all_are_storable() {
    let f = common::hand_made();
    let ps = generate(&f, &config(20_000, 1));
    assert_eq!(ps.len(), 20_000);
    assert!(ps.iter().all(|p| p.validate_for_storage().is_ok()));
    let traces: Vec<&Profile> = ps.iter().filter(|p| p.kind == Kind::Trace).collect();
    let share = traces.len() as f64 / ps.len() as f64;
    assert!((0.18..0.22).contains(&share), "trace share {share}");
    let mut by_loci = [0usize; 13];
    for t in &traces {
        let n = t.typed_loci();
        assert!(
            (6..=12).contains(&n) && ess_typed(t) == n,
            "trace {} has {n} loci",
            t.reference
        );
        by_loci[n] += 1;
        assert!(t.reference.starts_with('T'));
    }
    assert!(
        by_loci[6] > 0 && by_loci[12] > 0 && by_loci[9] > traces.len() / 10,
        "{by_loci:?}"
    );
    let wildcards = traces
        .iter()
        .flat_map(|t| t.loci.iter())
        .filter(|g| g.has_wildcard())
        .count();
    let typed: usize = traces.iter().map(|t| t.typed_loci()).sum();
    let rate = wildcards as f64 / typed as f64;
    assert!((0.015..0.05).contains(&rate), "wildcard rate {rate}");
    for p in ps.iter().filter(|p| p.kind == Kind::Person) {
        assert!(
            p.typed_loci() == ESS_COUNT
                && ess_typed(p) == ESS_COUNT
                && !p.loci.iter().any(|g| g.has_wildcard())
        );
        assert!(p.reference.starts_with('P') && p.reference.len() == 11);
        assert!(p.amelogenin == [b'X', b'X'] || p.amelogenin == [b'X', b'Y']);
    }
    println!(
        "traces {share:.3}, loci per trace {:?}, wildcards per typed trace locus {rate:.3}",
        &by_loci[6..]
    );
}

#[test]
fn references_are_unique_within_each_authority() {
    let f = common::hand_made();
    let ps = generate(&f, &config(20_000, 3));
    let mut seen = HashSet::new();
    assert!(ps
        .iter()
        .all(|p| seen.insert((p.authority.as_str(), p.reference.as_str()))));
    let authorities: HashSet<&str> = ps.iter().map(|p| p.authority.as_str()).collect();
    assert_eq!(authorities.len(), synthetic::AUTHORITIES.len());
    assert!(authorities
        .iter()
        .all(|a| synthetic::AUTHORITIES.contains(a)));
}

#[test]
fn extra_loci_are_typed_in_persons_only() {
    let f = common::hand_made();
    let tpox = Locus::parse("TPOX").unwrap();
    let se33 = Locus::parse("SE33").unwrap(); // not in the hand-made table
    let cfg = SyntheticConfig {
        extra_loci: vec![tpox, se33],
        ..config(5_000, 2)
    };
    let ps = generate(&f, &cfg);
    for p in &ps {
        assert!(!p.genotype(se33).is_typed());
        match p.kind {
            Kind::Person => assert!(p.genotype(tpox).is_typed() && p.typed_loci() == ESS_COUNT + 1),
            Kind::Trace => assert!(!p.genotype(tpox).is_typed()),
        }
    }
}

#[test]
fn tiny_and_trace_only_sets_are_still_storable() {
    let f = common::hand_made();
    for n in [0, 1, 2, 7] {
        let ps = generate(&f, &config(n, 1));
        assert_eq!(ps.len(), n);
        assert!(ps.iter().all(|p| p.validate_for_storage().is_ok()));
    }
    let only_traces = SyntheticConfig {
        trace_share: 1.0,
        ..config(3_000, 1)
    };
    let ps = generate(&f, &only_traces);
    assert!(ps
        .iter()
        .all(|p| p.kind == Kind::Trace && p.validate_for_storage().is_ok()));
    let related = SyntheticConfig {
        duplicate_share: 0.5,
        near_duplicate_share: 0.3,
        relative_share: 0.2,
        ..config(3_000, 1)
    };
    assert!(generate(&f, &related)
        .iter()
        .all(|p| p.validate_for_storage().is_ok()));
    assert!(queries(&[], &f, 100, 1).iter().all(|q| q.typed_loci() >= 6));
}

#[test]
fn out_of_range_configurations_are_reported() {
    assert!(SyntheticConfig::default().check().is_ok());
    let e = SyntheticConfig {
        trace_share: 1.5,
        ..SyntheticConfig::default()
    }
    .check()
    .unwrap_err()
    .to_string();
    assert!(e.contains("trace_share = 1.5"), "{e}");
    let e = SyntheticConfig {
        dropout: f64::NAN,
        ..SyntheticConfig::default()
    }
    .check()
    .unwrap_err()
    .to_string();
    assert!(e.contains("dropout"), "{e}");
    let e = SyntheticConfig {
        authorities: vec![],
        ..SyntheticConfig::default()
    }
    .check()
    .unwrap_err()
    .to_string();
    assert!(e.contains("authorities"), "{e}");
    let cfg = SyntheticConfig {
        duplicate_share: 0.6,
        near_duplicate_share: 0.6,
        ..SyntheticConfig::default()
    };
    assert!(cfg.check().is_err());
}

#[test]
fn planted_duplicates_near_duplicates_and_traces_hit_their_source() {
    let test = "planted_duplicates_near_duplicates_and_traces_hit_their_source";
    let Some(f) = common::nist_all(test) else {
        return;
    };
    let set = generate_with_truth(&f, &config(20_000, 11));
    let db = &set.profiles;
    let params = MatchParams::default();
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    let mut sibling_hits = 0;
    let mut checked = 0;
    // Every planted relation, checked by brute force (20,000 × ~700).
    for p in &set.planted {
        let (q, src) = (&db[p.profile], &db[p.source]);
        let name = match p.relation {
            Relation::Duplicate => "duplicate",
            Relation::NearDuplicate { .. } => "near-duplicate",
            Relation::Sibling => "sibling",
            Relation::Trace => "trace",
        };
        *kinds.entry(name).or_default() += 1;
        let hits = brute_force(db, q, &params);
        let on_source = hits
            .iter()
            .find(|h| h.reference == src.reference && h.authority == src.authority);
        match p.relation {
            Relation::Duplicate => {
                assert_eq!(q.loci, src.loci);
                assert_eq!(
                    on_source.map(|h| h.quality),
                    Some(HitQuality::Full),
                    "{name} {}",
                    q.reference
                );
                assert!(q.reference != src.reference && q.kind == Kind::Person);
            }
            Relation::Trace => {
                assert_eq!(
                    on_source.map(|h| h.quality),
                    Some(HitQuality::Full),
                    "{name} {}",
                    q.reference
                );
                assert_eq!(q.kind, Kind::Trace);
            }
            Relation::NearDuplicate { locus } => {
                let h =
                    on_source.unwrap_or_else(|| panic!("{name} {} misses its source", q.reference));
                assert_eq!(
                    (h.quality, h.differing_locus, h.matching_loci),
                    (HitQuality::Near, Some(locus), 11)
                );
            }
            Relation::Sibling => sibling_hits += usize::from(on_source.is_some()),
        }
        checked += 1;
    }
    let siblings = kinds.get("sibling").copied().unwrap_or(0);
    println!("planted relations checked by brute force: {checked} {kinds:?}; siblings hitting their source: {sibling_hits}/{siblings}");
    assert!(
        kinds.get("duplicate").copied().unwrap_or(0) > 100
            && kinds.get("near-duplicate").copied().unwrap_or(0) > 40
    );
    assert!(kinds.get("trace").copied().unwrap_or(0) > 1_500 && siblings > 40);
    assert!(
        sibling_hits * 5 < siblings,
        "siblings should mostly not hit"
    );
}

#[test]
fn person_alleles_follow_the_frequency_table() {
    let Some(f) = common::nist_all("person_alleles_follow_the_frequency_table") else {
        return;
    };
    let ps = generate(&f, &config(20_000, 4));
    let persons: Vec<&Profile> = ps.iter().filter(|p| p.kind == Kind::Person).collect();
    let mut worst = 0.0f64;
    for l in Locus::all().take(ESS_COUNT) {
        let mut counts: HashMap<Allele, f64> = HashMap::new();
        for p in &persons {
            for a in p.genotype(l).alleles() {
                *counts.entry(a).or_default() += 1.0;
            }
        }
        let n = 2.0 * persons.len() as f64;
        // Chi-square over the alleles expected at least 5 times, the rest pooled.
        let (mut chi2, mut dof, mut rest_obs, mut rest_exp) = (0.0, 0usize, 0.0, 0.0);
        for &(a, p) in f.alleles(l) {
            let (obs, exp) = (counts.get(&a).copied().unwrap_or(0.0), p * n);
            if exp >= 5.0 {
                chi2 += (obs - exp) * (obs - exp) / exp;
                dof += 1;
            } else {
                rest_obs += obs;
                rest_exp += exp;
            }
        }
        if rest_exp > 0.0 {
            chi2 += (rest_obs - rest_exp) * (rest_obs - rest_exp) / rest_exp;
            dof += 1;
        }
        // Mean of chi-square is dof - 1, sd sqrt(2 (dof - 1)); planted
        // siblings and duplicates are a slight excess of known alleles.
        let z = (chi2 - (dof as f64 - 1.0)) / (2.0 * (dof as f64 - 1.0)).sqrt();
        worst = worst.max(z);
        assert!(z < 6.0, "{}: chi2 {chi2:.1} with {dof} classes", l.name());
        let top_table = f
            .alleles(l)
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|a| a.0);
        let top_drawn = counts
            .iter()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|a| *a.0);
        if l.name() == "TH01" {
            assert_eq!(top_drawn, top_table, "most common TH01 allele");
        }
    }
    let th01 = Locus::parse("TH01").unwrap();
    let nine_three = Allele::numeric(th01, 9, 3).unwrap();
    let share = persons
        .iter()
        .flat_map(|p| p.genotype(th01).alleles())
        .filter(|&a| a == nine_three)
        .count() as f64
        / (2.0 * persons.len() as f64);
    assert!(
        (share - f.frequency(th01, nine_three)).abs() < 0.01,
        "TH01 9.3 share {share}"
    );
    println!("largest chi-square z over the ESS loci: {worst:.2}; TH01 9.3 drawn {share:.4}, table {:.4}", f.frequency(th01, nine_three));
}

#[test]
fn queries_are_half_derived_and_find_their_hits() {
    let Some(f) = common::nist_all("queries_are_half_derived_and_find_their_hits") else {
        return;
    };
    let db = generate(&f, &config(20_000, 21));
    let set = queries_with_truth(&db, &f, 1_000, 77);
    let qs = &set.profiles;
    assert_eq!(qs.len(), 1_000);
    assert_eq!(qs[0].reference, "Q0000001");
    assert_eq!(qs[999].reference, "Q0001000");
    assert!(qs
        .iter()
        .all(|q| q.authority.is_empty() && q.typed_loci() >= 6));
    let derived: HashSet<usize> = set.planted.iter().map(|p| p.profile).collect();
    assert!(
        (420..580).contains(&derived.len()),
        "{} derived queries",
        derived.len()
    );
    let fresh: Vec<&Profile> = qs
        .iter()
        .enumerate()
        .filter(|(i, _)| !derived.contains(i))
        .map(|(_, q)| q)
        .collect();
    let full = fresh.iter().filter(|q| q.typed_loci() == ESS_COUNT).count();
    assert!(
        full > fresh.len() / 3 && full < fresh.len() * 2 / 3,
        "{full} of {} fresh queries are full",
        fresh.len()
    );
    assert!(fresh
        .iter()
        .all(|q| q.typed_loci() == ESS_COUNT || (6..=11).contains(&q.typed_loci())));

    let params = MatchParams::default();
    let mut with_hits = 0;
    for q in qs {
        with_hits += usize::from(!brute_force(&db, q, &params).is_empty());
    }
    for p in &set.planted {
        let (q, src) = (&qs[p.profile], &db[p.source]);
        let hits = brute_force(&db, q, &params);
        let quality = hits
            .iter()
            .find(|h| h.reference == src.reference && h.authority == src.authority)
            .map(|h| h.quality);
        let shared = (0..LOCUS_COUNT)
            .filter(|&l| q.loci[l].is_typed() && src.loci[l].is_typed())
            .count();
        match p.relation {
            // A near hit needs six matching loci besides the changed one.
            Relation::NearDuplicate { .. } if shared <= 6 => {
                assert_eq!(quality, None, "{}", q.reference)
            }
            _ => assert_eq!(
                quality,
                p.relation.expected(),
                "{} {:?}",
                q.reference,
                p.relation
            ),
        }
    }
    println!(
        "{with_hits} of {} queries have hits; {} derived from the database",
        qs.len(),
        derived.len()
    );
    assert!(with_hits >= derived.len() * 9 / 10);
}

/// Release-mode timing: `cargo test --release -p hitdex-datasets --test
/// synthetic -- --ignored --nocapture` (set RAYON_NUM_THREADS to vary cores).
#[test]
#[ignore = "a measurement, not a test: 10 million profiles take a few GB"]
fn ten_million_profiles_timing() {
    let Some(f) = common::nist_all("ten_million_profiles_timing") else {
        return;
    };
    let t = Instant::now();
    let ps = generate(&f, &config(10_000_000, 1));
    let s = t.elapsed().as_secs_f64();
    println!(
        "generated {} profiles in {s:.2} s on {} threads",
        ps.len(),
        rayon::current_num_threads()
    );
    let t = Instant::now();
    let qs = queries(&ps, &f, 1_000_000, 2);
    println!(
        "generated {} queries in {:.2} s",
        qs.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    drop(ps);
    println!("dropped the profiles in {:.2} s", t.elapsed().as_secs_f64());
}

//! Loading the real tables of ../shared/datasets/dna. Each test skips with
//! a message when the shared datasets are absent.

mod common;

use hitdex_datasets::frequencies::{
    self, nist1036_profiles, AlleleFrequencies, Source, NIST_AUTHORITY,
};
use hitdex_datasets::shared::shared_datasets_or_skip;
use hitdex_engine::dna::{Allele, Locus, ESS_COUNT};

fn locus(name: &str) -> Locus {
    Locus::parse(name).unwrap()
}

fn assert_normalised(f: &AlleleFrequencies) {
    for l in f.loci() {
        let total: f64 = f.alleles(l).iter().map(|a| a.1).sum();
        assert!(
            (total - 1.0).abs() < 1e-9,
            "{}: {} sums to {total}",
            f.label(),
            l.name()
        );
        assert!(f
            .alleles(l)
            .iter()
            .all(|(a, p)| !a.is_wildcard() && !a.is_none() && *p > 0.0));
    }
}

#[test]
fn nist1036_all_has_every_ess_locus_and_skips_unknown_loci() {
    let Some(f) = common::nist_all("nist1036_all_has_every_ess_locus_and_skips_unknown_loci")
    else {
        return;
    };
    assert_eq!(f.population(), "All");
    assert!(Locus::all().take(ESS_COUNT).all(|l| f.has_locus(l)));
    // 26 of the 29 loci are known: D6S1043, LPL and Penta_C are skipped.
    assert_eq!(f.loci().count(), 26);
    assert!(
        f.has_locus(locus("Penta D")) && f.has_locus(locus("F13A1")) && f.has_locus(locus("FES"))
    );
    // The rows of D6S1043, LPL and Penta_C in All.
    assert_eq!(f.skipped_rows(), 48);
    assert_normalised(&f);
    let th01 = locus("TH01");
    let p = f.frequency(th01, Allele::numeric(th01, 9, 3).unwrap());
    assert!((p - 426.0 / 2072.0).abs() < 1e-9, "TH01 9.3: {p}");
    println!(
        "{}: {} loci, TH01 9.3 at {p:.4}",
        f.label(),
        f.loci().count()
    );
}

#[test]
fn every_population_of_every_source_loads() {
    let Some(dir) = shared_datasets_or_skip("every_population_of_every_source_loads") else {
        return;
    };
    for source in Source::ALL {
        let path = source.path(&dir);
        let pops = frequencies::populations(&path).unwrap();
        assert!(pops.iter().any(|p| p == "All"), "{pops:?}");
        for pop in &pops {
            let f = AlleleFrequencies::load(&path, pop).unwrap();
            assert_normalised(&f);
            println!(
                "{:<60} {:>2} loci, {:>3} rows skipped, pooled from {:?}",
                f.label(),
                f.loci().count(),
                f.skipped_rows(),
                f.pooled_populations()
            );
        }
    }
}

#[test]
fn nist1036_lists_its_five_populations() {
    let Some(dir) = shared_datasets_or_skip("nist1036_lists_its_five_populations") else {
        return;
    };
    let pops = frequencies::populations(&Source::Nist1036.path(&dir)).unwrap();
    assert_eq!(pops, ["AfAm", "All", "Asian", "Cauc", "Hisp"]);
}

#[test]
fn pooled_all_leaves_out_the_union_populations_of_uk_and_fbi_tables() {
    let Some(dir) =
        shared_datasets_or_skip("pooled_all_leaves_out_the_union_populations_of_uk_and_fbi_tables")
    else {
        return;
    };
    let uk = AlleleFrequencies::from_source(&dir, "uk-dna17", "All").unwrap();
    assert_eq!(uk.pooled_populations().len(), 5);
    assert!(!uk
        .pooled_populations()
        .iter()
        .any(|p| p == "Black_African_&_Caribbean_-_EA3"));
    let fbi = AlleleFrequencies::from_source(&dir, "fbi2015", "All").unwrap();
    assert_eq!(fbi.pooled_populations().len(), 11);
    assert!(!fbi
        .pooled_populations()
        .iter()
        .any(|p| p == "African Amer Bahamian Jamaican"));
}

#[test]
fn fbi2015_off_ladder_allele_is_skipped_and_the_locus_renormalised() {
    let Some(dir) =
        shared_datasets_or_skip("fbi2015_off_ladder_allele_is_skipped_and_the_locus_renormalised")
    else {
        return;
    };
    let f = AlleleFrequencies::from_source(&dir, "fbi2015", "SE Hispanic").unwrap();
    let d18 = locus("D18S51");
    let total: f64 = f.alleles(d18).iter().map(|a| a.1).sum();
    assert!((total - 1.0).abs() < 1e-9);
    // Y indel, DYS391 and the `>27` row.
    assert!(f.skipped_rows() >= 3, "{}", f.skipped_rows());
    // Population names match ignoring case.
    assert_eq!(
        AlleleFrequencies::from_source(&dir, "fbi2015", "se hispanic")
            .unwrap()
            .population(),
        "SE Hispanic"
    );
}

#[test]
fn an_unknown_source_or_population_is_a_clear_error() {
    let Some(dir) = shared_datasets_or_skip("an_unknown_source_or_population_is_a_clear_error")
    else {
        return;
    };
    let e = AlleleFrequencies::from_source(&dir, "nist", "All")
        .unwrap_err()
        .to_string();
    assert!(e.contains("expected nist1036, uk-dna17 or fbi2015"), "{e}");
    let e = AlleleFrequencies::from_source(&dir, "nist1036", "Martian")
        .unwrap_err()
        .to_string();
    assert!(e.contains("AfAm, All, Asian, Cauc, Hisp"), "{e}");
}

#[test]
fn nist1036_genotypes_are_1036_storable_person_profiles() {
    let Some(dir) = shared_datasets_or_skip("nist1036_genotypes_are_1036_storable_person_profiles")
    else {
        return;
    };
    let ps = nist1036_profiles(&dir).unwrap();
    assert_eq!(ps.len(), 1036);
    assert!(ps
        .iter()
        .all(|p| p.validate_for_storage().is_ok() && p.authority == NIST_AUTHORITY));
    assert!(ps.iter().all(|p| !p.loci.iter().any(|g| g.has_wildcard())));
    // 26 known loci; two samples lack one (OT05588 TPOX, C88H Penta D).
    let full = ps.iter().filter(|p| p.typed_loci() == 26).count();
    assert_eq!(full, 1034);
    assert!(ps.iter().all(|p| p.typed_loci() >= 25));
    let first = &ps[0];
    assert_eq!(first.reference, "GT37019");
    let d21 = locus("D21S11");
    assert_eq!(first.genotype(d21).display(d21).to_string(), "28/30");
    let d1 = locus("D1S1656");
    assert_eq!(first.genotype(d1).display(d1).to_string(), "12/16.3");
    let refs: std::collections::HashSet<&str> = ps.iter().map(|p| p.reference.as_str()).collect();
    assert_eq!(refs.len(), 1036);
}

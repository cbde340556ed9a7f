//! Helpers shared by the integration tests.
#![allow(dead_code)]

use hitdex_datasets::frequencies::AlleleFrequencies;
use hitdex_datasets::shared::shared_datasets_or_skip;
use hitdex_engine::dna::{Allele, Locus, ESS_COUNT};

/// A hand-made table (no data files needed): alleles 8 to 22 with
/// binomial-like weights at the ESS loci and TPOX, plus TH01 9.3 and
/// FGA 22.2.
pub fn hand_made() -> AlleleFrequencies {
    let mut entries = Vec::new();
    let loci = Locus::all().take(ESS_COUNT).chain(Locus::parse("TPOX"));
    for l in loci {
        for (i, n) in (8u32..=22).enumerate() {
            let w = [
                1., 3., 8., 20., 40., 60., 75., 80., 75., 60., 40., 20., 8., 3., 1.,
            ][i];
            entries.push((l, Allele::numeric(l, n, 0).unwrap(), w));
        }
    }
    let th01 = Locus::parse("TH01").unwrap();
    entries.push((th01, Allele::numeric(th01, 9, 3).unwrap(), 60.0));
    let fga = Locus::parse("FGA").unwrap();
    entries.push((fga, Allele::numeric(fga, 22, 2).unwrap(), 10.0));
    AlleleFrequencies::new("hand-made", entries).unwrap()
}

/// The NIST 1036 table of all individuals, or `None` (with a message) when
/// the shared datasets are absent.
pub fn nist_all(test: &str) -> Option<AlleleFrequencies> {
    let dir = shared_datasets_or_skip(test)?;
    Some(AlleleFrequencies::from_source(&dir, "nist1036", "All").expect("NIST 1036 table loads"))
}

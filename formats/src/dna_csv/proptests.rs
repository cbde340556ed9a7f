//! Properties: written profiles read back identical, whatever the chunking;
//! and no input bytes make the reader panic (CI's quick fuzzing; the real
//! fuzz target is `fuzz/fuzz_targets/dna_csv.rs`).

use std::path::Path;

use hitdex_engine::dna::{Allele, Genotype, Kind, Locus, Profile, LOCUS_COUNT};
use proptest::prelude::*;

use super::read::read_chunked;
use super::*;

fn allele(locus: Locus) -> impl Strategy<Value = Allele> {
    let r = u32::from(locus.repeat());
    prop_oneof![
        1 => Just(Allele::WILDCARD),
        8 => (2..(254 - (r - 1)) / r + 1, 0..r).prop_map(move |(n, k)| Allele::numeric(locus, n, k as u8).unwrap()),
    ]
}

fn genotype(locus: Locus) -> impl Strategy<Value = Genotype> {
    prop_oneof![1 => Just(Genotype::UNTYPED), 4 => (allele(locus), allele(locus)).prop_map(|(a, b)| Genotype::new(a, b))]
}

/// Text a reader keeps as is once quoted: anything but a line break.
fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 ,\"\t\r/*é-]{1,12}".prop_filter("not blank", |s| !s.trim().is_empty())
}

fn profile() -> impl Strategy<Value = Profile> {
    let loci = Locus::all().map(genotype).collect::<Vec<_>>();
    let amelogenin = prop_oneof![
        Just([0, 0]),
        prop::array::uniform2(prop::sample::select(vec![b'X', b'Y', b'*']))
    ];
    (text(), text(), any::<bool>(), loci, amelogenin).prop_filter_map(
        "too few loci",
        |(reference, authority, trace, loci, amelogenin)| {
            let mut p = Profile {
                reference,
                authority,
                kind: if trace { Kind::Trace } else { Kind::Person },
                amelogenin,
                ..Profile::default()
            };
            p.loci = <[Genotype; LOCUS_COUNT]>::try_from(loci).ok()?;
            p.validate_for_storage().is_ok().then_some(p)
        },
    )
}

fn write_all(profiles: &[Profile]) -> Vec<u8> {
    let loci: Vec<Locus> = Locus::all().collect();
    let layout = Layout::new(&loci).with_amelogenin(true);
    let mut out = Vec::new();
    layout.write_header(&mut out).unwrap();
    layout.write_profiles(&mut out, profiles).unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn written_profiles_read_back_identical(profiles in prop::collection::vec(profile(), 0..20), chunk in 1usize..400) {
        let mut profiles = profiles;
        for (i, p) in profiles.iter_mut().enumerate() {
            // Unique within the file, as storage requires.
            p.reference.push_str(&format!("#{i}"));
        }
        let bytes = write_all(&profiles);
        let back = read_chunked(&bytes, Path::new("p.csv"), Mode::Store, chunk).unwrap();
        prop_assert_eq!(back, profiles);
    }

}

proptest! {
    // Robustness is cheap to check: many cases, still well under a second.
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        for mode in [Mode::Store, Mode::Query] {
            let _ = read_chunked(&bytes, Path::new("f.csv"), mode, 7);
            let _ = read_bytes(&bytes, Path::new("f.csv"), mode);
        }
    }

    #[test]
    fn mutated_files_never_panic_and_errors_name_a_line(
        profiles in prop::collection::vec(profile(), 1..6),
        edits in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(b"\n\r,\"/*. 9X\xff\xc3".to_vec()), 0u8..3), 1..8),
        chunk in 1usize..200,
    ) {
        let mut bytes = write_all(&profiles);
        for (at, byte, op) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 => bytes.insert(i, byte),
                1 if i < bytes.len() => { bytes.remove(i); }
                _ if i < bytes.len() => bytes[i] = byte,
                _ => {}
            }
        }
        for mode in [Mode::Store, Mode::Query] {
            let chunked = read_chunked(&bytes, Path::new("f.csv"), mode, chunk);
            let whole = read_bytes(&bytes, Path::new("f.csv"), mode);
            match (&chunked, &whole) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                (Err(a), Err(b)) => {
                    prop_assert_eq!(a.to_string(), b.to_string());
                    let line = a.line().unwrap();
                    prop_assert!(line >= 1 && line <= bytes.split(|&b| b == b'\n').count(), "{}", a);
                }
                _ => prop_assert!(false, "chunking changed the outcome: {:?} vs {:?}", chunked.is_ok(), whole.is_ok()),
            }
        }
    }
}

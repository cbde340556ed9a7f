//! Damaged indexes are refused with a clear error, never a panic or a wrong
//! answer; writers never leave a half-written index.

use hitdex_engine::dna::{Allele, Genotype, Kind, MatchParams, Profile, ESS_COUNT};
use hitdex_engine::index::Index;
use hitdex_engine::Error;

fn profiles(n: usize) -> Vec<Profile> {
    (0..n)
        .map(|i| {
            let mut p = Profile { reference: format!("R{i}"), authority: "DE-BKA".into(), kind: Kind::Person, ..Profile::default() };
            for l in 0..ESS_COUNT {
                let a = 36 + ((i * 7 + l * 3) % 11) as u8;
                let b = 36 + ((i * 5 + l) % 13) as u8;
                p.loci[l] = Genotype::new(Allele::from_code(a), Allele::from_code(b));
            }
            p
        })
        .collect()
}

fn shard_file(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|e| e == "hdx")).unwrap()
}

#[test]
fn an_altered_byte_anywhere_is_found_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    Index::build(dir.path(), &profiles(500), 1).unwrap();
    let path = shard_file(dir.path());
    let original = std::fs::read(&path).unwrap();
    Index::open(dir.path()).unwrap().verify().unwrap();
    // Flip one bit at many places: open refuses (header) or verify reports.
    let n = original.len();
    let places = (0..256).chain((0..n).step_by(97)).chain(n - 64..n);
    for at in places {
        let mut bytes = original.clone();
        bytes[at] ^= 0x10;
        std::fs::write(&path, &bytes).unwrap();
        let outcome = Index::open(dir.path()).and_then(|i| i.verify());
        match outcome {
            Err(Error::Corrupt { path: p, .. }) => assert_eq!(p, path),
            other => panic!("flipped byte {at}: {other:?}"),
        }
    }
}

#[test]
fn a_truncated_shard_is_refused_on_open() {
    let dir = tempfile::tempdir().unwrap();
    Index::build(dir.path(), &profiles(300), 1).unwrap();
    let path = shard_file(dir.path());
    let bytes = std::fs::read(&path).unwrap();
    for len in [0, 10, 64, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..len]).unwrap();
        let err = Index::open(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "length {len}: {err}");
        assert!(err.to_string().contains("shard-"), "error names the file: {err}");
    }
}

#[test]
fn unverified_damage_gives_errors_or_answers_but_never_panics() {
    // Search does not re-hash the file; damaged postings or offsets must
    // still give an error or an answer, never a panic or an out-of-bounds read.
    let dir = tempfile::tempdir().unwrap();
    let db = profiles(400);
    Index::build(dir.path(), &db, 1).unwrap();
    let path = shard_file(dir.path());
    let original = std::fs::read(&path).unwrap();
    let params = MatchParams::default();
    for at in (512..original.len() - 64).step_by(61) {
        let mut bytes = original.clone();
        bytes[at] = bytes[at].wrapping_add(0x5b);
        std::fs::write(&path, &bytes).unwrap();
        if let Ok(index) = Index::open(dir.path()) {
            let _ = index.search(&db[at % db.len()], &params);
            let _ = index.search_batch(&db[..8], &params, &|_| {});
        }
    }
}

#[test]
fn an_interrupted_writer_leaves_the_previous_index_intact() {
    let dir = tempfile::tempdir().unwrap();
    let db = profiles(200);
    Index::build(dir.path(), &db[..100], 1).unwrap();
    // A writer that died before renaming leaves only temporary files behind.
    std::fs::write(dir.path().join("shard-000002-000000.hdx.tmp"), b"half a shard").unwrap();
    std::fs::write(dir.path().join("MANIFEST.tmp"), b"half a manifest").unwrap();
    let index = Index::open(dir.path()).unwrap();
    assert_eq!(index.live(), 100);
    // The next writer succeeds and cleans up after compaction.
    Index::add(dir.path(), &db[100..]).unwrap();
    let index = Index::compact(dir.path(), Some(1)).unwrap();
    assert_eq!(index.live(), 200);
    let names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn repeated_references_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = profiles(50);
    Index::build(dir.path(), &db, 2).unwrap();
    let err = Index::add(dir.path(), &db[10..11]).unwrap_err().to_string();
    assert!(err.contains("R10") && err.contains("already"), "{err}");
    let err = Index::build(dir.path(), &db, 1).unwrap_err().to_string();
    assert!(err.contains("already holds an index"), "{err}");
}

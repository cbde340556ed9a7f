//! Key-only indexes (vehicle, phone, identity): every path against a brute
//! force over the records, whatever the shard count; deletions, additions,
//! compaction; damaged files give errors, never panics or wrong answers.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use hitdex_engine::dna::Kind;
use hitdex_engine::index::container::Category;
use hitdex_engine::index::RecordKey;
use hitdex_engine::keyed::{Field, Key, KeyHit, KeyIndex, KeyRecord, Secret, Value, SECRET_FILE};
use hitdex_engine::Error;
use proptest::prelude::*;

fn secret() -> Secret {
    Secret::from_bytes([42; 32])
}

fn phone(text: &str) -> Key {
    secret().key(&Value { field: Field::Phone, text: text.into() })
}

/// `n` records; record `i` has the number `+49{i % distinct}` (so numbers
/// are shared), and every fifth a second number of its own.
fn records(n: usize, distinct: usize, tag: &str) -> Vec<KeyRecord> {
    (0..n)
        .map(|i| {
            let mut keys = vec![phone(&format!("+49{}", i % distinct))];
            if i % 5 == 0 {
                keys.push(phone(&format!("+33{tag}{i}")));
            }
            KeyRecord {
                reference: format!("{tag}{i}"),
                authority: ["DE-BKA", "DE-LKA-BY", "FR-PTS"][i % 3].into(),
                kind: if i % 4 == 0 { Kind::Trace } else { Kind::Person },
                keys,
                added: 1_700_000_000,
            }
        })
        .collect()
}

/// The brute-force answer: every record in `live` holding `key`.
fn brute(live: &[KeyRecord], key: &Key) -> Vec<KeyHit> {
    let set: BTreeSet<KeyHit> = live
        .iter()
        .filter(|r| r.keys.contains(key))
        .map(|r| KeyHit { authority: r.authority.clone(), reference: r.reference.clone() })
        .collect();
    set.into_iter().collect()
}

fn probe_keys(distinct: usize, extra: &[&str]) -> Vec<Key> {
    let mut keys: Vec<Key> = (0..distinct + 3).map(|i| phone(&format!("+49{i}"))).collect();
    keys.extend(extra.iter().map(|t| phone(t)));
    keys.push(Key([0; 32]));
    keys.push(Key([255; 32]));
    keys
}

fn check(index: &KeyIndex, live: &[KeyRecord], keys: &[Key]) {
    let answers = index.search(keys).unwrap();
    for (key, got) in keys.iter().zip(&answers) {
        assert_eq!(got, &brute(live, key));
    }
    // Several keys at once: the union of their answers.
    let pair = [keys[0], keys[1]];
    let mut union: Vec<KeyHit> = brute(live, &keys[0]).into_iter().chain(brute(live, &keys[1])).collect::<BTreeSet<_>>().into_iter().collect();
    union.sort();
    assert_eq!(index.search_any(&pair).unwrap(), union);
    assert_eq!(index.search_queries(&[pair.to_vec(), vec![]]).unwrap(), vec![union, vec![]]);
}

fn shard_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "hdx")).collect();
    v.sort();
    v
}

#[test]
fn answers_equal_brute_force_for_any_shard_count() {
    let db = records(5000, 1700, "R");
    let keys = probe_keys(1700, &["+33R0", "+33R4995", "+33R4996"]);
    let mut answers = Vec::new();
    for shards in [1, 3, 7] {
        let dir = tempfile::tempdir().unwrap();
        let index = KeyIndex::build(dir.path(), Category::Phone, &secret(), &db, shards).unwrap();
        assert_eq!(index.shards().len(), shards);
        assert_eq!(index.live(), db.len());
        index.verify().unwrap();
        check(&index, &db, &keys);
        answers.push(index.search(&keys).unwrap());
        // Reopened from disk, the same.
        assert_eq!(KeyIndex::open(dir.path()).unwrap().search(&keys).unwrap(), answers[0]);
    }
    assert!(answers.iter().all(|a| *a == answers[0]));
    assert!(answers[0].iter().any(|a| a.len() >= 3), "some numbers are shared by several records");
}

#[test]
fn add_delete_compact_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut live = records(600, 200, "R");
    KeyIndex::build(dir.path(), Category::Phone, &secret(), &live, 2).unwrap();
    let delta = records(50, 60, "N");
    let index = KeyIndex::add(dir.path(), &secret(), &delta).unwrap();
    live.extend(delta);
    assert_eq!(index.shards().len(), 3);
    let keys = probe_keys(200, &["+33N0", "+33R5"]);
    check(&index, &live, &keys);

    // Delete: a bare reference (any authority), one named with its
    // authority, one with the wrong authority and one unknown.
    let del = [
        RecordKey { authority: None, reference: "R5".into() },
        RecordKey { authority: Some("DE-BKA".into()), reference: "N0".into() },
        RecordKey { authority: Some("FR-PTS".into()), reference: "R0".into() },
        RecordKey { authority: None, reference: "nobody".into() },
    ];
    let (deleted, missing) = KeyIndex::delete(dir.path(), &del).unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(missing, del[2..].to_vec());
    live.retain(|r| r.reference != "R5" && r.reference != "N0");
    let index = KeyIndex::open(dir.path()).unwrap();
    assert_eq!(index.live(), live.len());
    assert!(index.search_one(&phone("+33R5")).unwrap().is_empty(), "a deleted record is no hit");
    check(&index, &live, &keys);
    let stats = index.stats();
    assert_eq!((stats.records, stats.deleted, stats.persons + stats.traces), (650, 2, live.len()));

    // A deleted reference may be added again.
    let again = KeyIndex::add(dir.path(), &secret(), &records(1, 1, "R")[..1].iter().map(|r| KeyRecord { reference: "R5".into(), ..r.clone() }).collect::<Vec<_>>());
    assert!(again.is_ok(), "{again:?}");
    live.push(KeyRecord { reference: "R5".into(), ..records(1, 1, "R")[0].clone() });
    // A live one may not.
    let err = KeyIndex::add(dir.path(), &secret(), &records(1, 1, "R")).unwrap_err();
    assert!(err.to_string().contains("already in the index"), "{err}");

    for shards in [Some(1), Some(4), None] {
        let index = KeyIndex::compact(dir.path(), shards).unwrap();
        index.verify().unwrap();
        assert_eq!(index.live(), live.len());
        assert_eq!(index.stats().deleted, 0);
        check(&index, &live, &keys);
    }
    let names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(!names.iter().any(|n| n.ends_with(".tomb") || n.ends_with(".tmp")), "{names:?}");
    assert!(names.contains(&SECRET_FILE.to_string()));
}

#[test]
fn wrong_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = records(10, 10, "R");
    assert!(matches!(KeyIndex::build(dir.path(), Category::Dna, &secret(), &db, 1), Err(Error::Invalid(_))));
    let mut twice = db.clone();
    twice.push(db[3].clone());
    let err = KeyIndex::build(dir.path(), Category::Phone, &secret(), &twice, 1).unwrap_err();
    assert!(err.to_string().contains("given twice"), "{err}");
    let mut keyless = db.clone();
    keyless[2].keys.clear();
    assert!(KeyIndex::build(&dir.path().join("b"), Category::Phone, &secret(), &keyless, 1).is_err());
    KeyIndex::build(&dir.path().join("c"), Category::Identity, &secret(), &db, 1).unwrap();
    // Another secret's keys cannot be added.
    let err = KeyIndex::add(&dir.path().join("c"), &Secret::from_bytes([1; 32]), &records(3, 3, "X")).unwrap_err();
    assert!(err.to_string().contains("secret"), "{err}");
    // Values of another category's field are refused.
    let index = KeyIndex::open(&dir.path().join("c")).unwrap();
    assert!(index.key(&Value { field: Field::Plate, text: "AB1".into() }).is_err());
    assert!(index.key(&Value { field: Field::Identity, text: "x".into() }).is_ok());
    assert!(KeyIndex::open_category(&dir.path().join("c"), Category::Vehicle).is_err());
}

#[test]
fn a_changed_byte_anywhere_is_found_and_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let db = records(400, 150, "R");
    KeyIndex::build(dir.path(), Category::Vehicle, &secret(), &db, 1).unwrap();
    let path = shard_files(dir.path()).remove(0);
    let original = std::fs::read(&path).unwrap();
    let keys = probe_keys(150, &[]);
    let n = original.len();
    for at in (0..n).step_by(7).chain(n - 64..n) {
        let mut bytes = original.clone();
        bytes[at] ^= 0x24;
        std::fs::write(&path, &bytes).unwrap();
        // Opening may pass (the checksum is verify's job) and searching
        // must then not panic; verify must refuse.
        if let Ok(index) = KeyIndex::open(dir.path()) {
            let _ = index.search(&keys);
            match index.verify() {
                Err(Error::Corrupt { path: p, .. }) => assert_eq!(p, path),
                other => panic!("byte {at}: verify gave {other:?}"),
            }
        }
    }
    for len in [0, 10, 64, n / 2, n - 1] {
        std::fs::write(&path, &original[..len]).unwrap();
        let err = KeyIndex::open(dir.path()).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "length {len}: {err}");
    }
    std::fs::write(&path, &original).unwrap();
    KeyIndex::open(dir.path()).unwrap().verify().unwrap();
}

#[test]
fn a_replaced_secret_is_refused_not_answered_with_no_hit() {
    let dir = tempfile::tempdir().unwrap();
    KeyIndex::build(dir.path(), Category::Phone, &secret(), &records(20, 20, "R"), 2).unwrap();
    let secret_path = dir.path().join(SECRET_FILE);
    let text = std::fs::read_to_string(&secret_path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&secret_path).unwrap().permissions().mode() & 0o077, 0, "only the owner reads the secret");
    }
    let changed = text.replacen('2', "3", 1);
    assert_ne!(changed, text);
    std::fs::write(&secret_path, changed).unwrap();
    let err = KeyIndex::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("another secret"), "{err}");
    std::fs::remove_file(&secret_path).unwrap();
    assert!(matches!(KeyIndex::open(dir.path()), Err(Error::Io { .. })));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Random records sharing a few keys: the same answers as brute force
    /// for 1 to 4 shards.
    #[test]
    fn random_sets_match_brute_force(spec in prop::collection::vec((0u8..12, 0u8..12, any::<bool>()), 1..60), shards in 1usize..5) {
        let db: Vec<KeyRecord> = spec
            .iter()
            .enumerate()
            .map(|(i, &(a, b, two))| KeyRecord {
                reference: format!("R{i}"),
                authority: if i % 2 == 0 { "A".into() } else { "B".into() },
                kind: Kind::Person,
                keys: if two { vec![phone(&a.to_string()), phone(&b.to_string())] } else { vec![phone(&a.to_string())] },
                added: 0,
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let index = KeyIndex::build(dir.path(), Category::Phone, &secret(), &db, shards).unwrap();
        index.verify().unwrap();
        let keys: Vec<Key> = (0u8..13).map(|k| phone(&k.to_string())).collect();
        for (key, got) in keys.iter().zip(index.search(&keys).unwrap()) {
            prop_assert_eq!(got, brute(&db, key));
        }
    }
}

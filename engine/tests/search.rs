//! The fast paths against the definition: every search of the index (keyed
//! lookup, kernel scan, batch join, any shard count, after deletions and
//! compaction) must return exactly the hits of a brute-force comparison
//! with `dna::compare` over every stored profile.

mod common;

use common::{check_all_paths, database, params};
use hitdex_engine::dna::{brute_force, MatchParams, Profile};
use hitdex_engine::index::{Index, RecordKey};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_search_path_equals_brute_force((db, queries) in database(), params in params(), shards in 1usize..4) {
        prop_assume!(!db.is_empty());
        let any_hit = check_all_paths(&db, &queries, &params, shards)?;
        prop_assert!(any_hit || queries.len() < 5, "adversarial data should produce hits");
    }

    #[test]
    fn deletions_and_compaction_keep_answers_exact((db, queries) in database(), shards in 1usize..4) {
        prop_assume!(db.len() > 4);
        let params = MatchParams::default();
        let dir = tempfile::tempdir().unwrap();
        Index::build(dir.path(), &db, shards).unwrap();
        let gone: Vec<RecordKey> = db.iter().step_by(3)
            .map(|p| RecordKey { authority: Some(p.authority.clone()), reference: p.reference.clone() })
            .collect();
        let (deleted, missing) = Index::delete(dir.path(), &gone).unwrap();
        prop_assert_eq!(deleted, gone.len());
        prop_assert!(missing.is_empty());
        let live: Vec<Profile> = db.iter().filter(|p| !gone.iter().any(|k| k.reference == p.reference)).cloned().collect();
        let index = Index::open(dir.path()).unwrap();
        for q in &queries {
            prop_assert_eq!(index.search(q, &params).unwrap(), brute_force(&live, q, &params));
        }
        let compacted = Index::compact(dir.path(), Some(2)).unwrap();
        prop_assert_eq!(compacted.stats().deleted, 0);
        prop_assert_eq!(compacted.live(), live.len());
        let batch = compacted.search_batch(&queries, &params, &|_| {}).unwrap();
        for (q, got) in queries.iter().zip(&batch) {
            prop_assert_eq!(got, &brute_force(&live, q, &params));
        }
    }
}

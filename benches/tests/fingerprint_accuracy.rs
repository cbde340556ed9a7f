//! The matcher's accuracy on FVC2002 (`xyt`, all ordered pairs within each
//! database) must not regress: each equal error rate stays below a bound a
//! little above what it measured when this test was written, and every one
//! below NIST bozorth3's on the same files (4.17 / 2.59 / 8.94 / 5.40 %).

use hitdex_benches::fingerprint::{encode_all, error_rates, load_dir, score_matrix, split_scores};
use hitdex_datasets::shared::shared_datasets_or_skip;

#[test]
fn fvc2002_equal_error_rates_stay_below_their_bounds() {
    let Some(shared) = shared_datasets_or_skip("fvc2002_equal_error_rates_stay_below_their_bounds") else { return };
    let root = shared.join("fingerprint/fvc2002");
    // (database, bound %, bozorth3 %)
    for (db, bound, bozorth3) in [(1, 3.0, 4.17), (2, 1.5, 2.59), (3, 8.8, 8.94), (4, 3.3, 5.40)] {
        let entries = load_dir(&root.join(format!("DB{db}_B/xyt")), None).unwrap();
        let scores = score_matrix(&encode_all(&entries));
        let (mated, non_mated) = split_scores(&entries, &scores);
        let r = error_rates(&mated, &non_mated);
        assert_eq!((r.mated, r.non_mated), (560, 5760));
        let eer = 100.0 * r.eer;
        eprintln!("FVC2002 DB{db}: EER {eer:.2} % (bound {bound} %, bozorth3 {bozorth3} %), FNMR {:.2} % at FMR 1 %", 100.0 * r.fnmr_at_fmr_1);
        assert!(eer <= bound && eer < bozorth3, "DB{db}: EER {eer:.2} % above its bound {bound} %");
    }
}

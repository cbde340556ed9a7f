//! Calibration of the synthetic fingerprint generator against the matcher:
//! on generated sets the equal error rate must lie in the range FVC2002
//! shows (1.07 to 8.26 % on DB1–DB4 `xyt`), and non-mated scores must be
//! spread as on FVC2002 DB1 (checked when ../shared/datasets is present).


use hitdex_benches::fingerprint::{encode_all, error_rates, load_dir, score_matrix, split_scores, Entry};
use hitdex_datasets::fingerprint::{generate, FingerprintConfig};
use hitdex_datasets::shared::shared_datasets_or_skip;

/// Mated and non-mated scores of all ordered pairs of `entries`.
fn scores(entries: &[Entry]) -> (Vec<f32>, Vec<f32>) {
    split_scores(entries, &score_matrix(&encode_all(entries)))
}

/// Mean and 95th percentile.
fn spread(scores: &mut [f32]) -> (f32, f32) {
    scores.sort_by(f32::total_cmp);
    (scores.iter().sum::<f32>() / scores.len() as f32, scores[scores.len() * 95 / 100])
}

#[test]
fn synthetic_fingerprints_have_an_fvc2002_equal_error_rate() {
    let mut synthetic_non_mated = Vec::new();
    for seed in [1, 2] {
        let config = FingerprintConfig { fingers: 30, impressions: 8, seed, ..FingerprintConfig::default() };
        let entries: Vec<Entry> = generate(&config)
            .into_iter()
            .map(|(f, k, template)| Entry { name: format!("{f}_{k}"), finger: f.to_string(), template })
            .collect();
        let (mated, non_mated) = scores(&entries);
        let r = error_rates(&mated, &non_mated);
        assert_eq!((r.mated, r.non_mated), (30 * 8 * 7, 30 * 8 * 29 * 8));
        let eer = 100.0 * r.eer;
        eprintln!("synthetic 30 × 8, seed {seed}: EER {eer:.2} %, FNMR {:.2} % at FMR 1 %", 100.0 * r.fnmr_at_fmr_1);
        assert!((1.0..=8.5).contains(&eer), "seed {seed}: EER {eer:.2} % is outside FVC2002's range");
        synthetic_non_mated.extend(non_mated);
    }
    let (mean, p95) = spread(&mut synthetic_non_mated);
    eprintln!("synthetic non-mated scores: mean {mean:.4}, 95th percentile {p95:.4}");
    let Some(shared) = shared_datasets_or_skip("the comparison with FVC2002 DB1") else { return };
    let db1 = shared.join("fingerprint/fvc2002/DB1_B/xyt");
    let (_, mut real) = scores(&load_dir(&db1, None).unwrap());
    let (real_mean, real_p95) = spread(&mut real);
    eprintln!("FVC2002 DB1 non-mated scores: mean {real_mean:.4}, 95th percentile {real_p95:.4}");
    for (what, synthetic, real) in [("mean", mean, real_mean), ("95th percentile", p95, real_p95)] {
        assert!((synthetic / real - 1.0).abs() < 0.25, "non-mated {what} {synthetic:.4} is far from FVC2002 DB1's {real:.4}");
    }
}

//! Fingerprint evaluation: all-pairs scores over a directory of templates
//! and the error rates they give (`hitdex fingerprint score-matrix` and
//! `hitdex fingerprint eval`).
//!
//! Templates are files named `<finger>_<impression>.<ext>` (FVC's naming);
//! two templates are *mated* when their finger parts are equal. Every
//! ordered pair of different templates is scored, as FVC and the bozorth3
//! reference figures in `../shared/datasets/README.md` count them.

use std::path::{Path, PathBuf};

use hitdex_engine::fingerprint::{score, Encoded, Template};
use hitdex_formats::fingerprint::{read_path, FingerprintError, Format};
use rayon::prelude::*;

/// One template of a gallery directory.
#[derive(Debug, Clone)]
pub struct Entry {
    /// File name without extension (`101_1`).
    pub name: String,
    /// The finger it belongs to (`101`).
    pub finger: String,
    /// The template (first finger view of the file).
    pub template: Template,
}

/// Why a directory cannot be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The directory cannot be listed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A template file is bad.
    #[error(transparent)]
    Template(#[from] FingerprintError),
    /// Nothing to evaluate: no template file, or a file without minutiae.
    #[error("{}: {problem}", path.display())]
    Empty {
        /// The directory or file.
        path: PathBuf,
        /// What is missing.
        problem: String,
    },
}

/// The templates of `dir` in `format` (by default the format its files'
/// extensions name; files of other extensions are ignored), sorted by name.
///
/// # Errors
/// [`EvalError`] if the directory cannot be listed, a file is bad or has
/// no minutiae, or no template file is found.
pub fn load_dir(dir: &Path, format: Option<Format>) -> Result<Vec<Entry>, EvalError> {
    let io = |source| EvalError::Io { path: dir.to_path_buf(), source };
    let mut files: Vec<(PathBuf, Format)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if let Some(f) = Format::of_path(&path).filter(|f| format.is_none_or(|want| want == *f)) {
            files.push((path, f));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    if files.is_empty() {
        return Err(EvalError::Empty { path: dir.to_path_buf(), problem: "no template files (.xyt, .iso, .ansi, .an2k) here".into() });
    }
    files
        .par_iter()
        .map(|(path, f)| {
            let views = read_path(path, *f)?;
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let finger = name.split('_').next().unwrap_or(&name).to_string();
            match views.into_iter().next() {
                Some(template) if !template.minutiae.is_empty() => Ok(Entry { name, finger, template }),
                // Scored as zero against everything it would quietly raise the FNMR.
                _ => Err(EvalError::Empty { path: path.clone(), problem: "no minutiae in this file".into() }),
            }
        })
        .collect()
}

/// The entries' templates encoded for matching, in parallel.
pub fn encode_all(entries: &[Entry]) -> Vec<Encoded> {
    entries.par_iter().map(|e| Encoded::new(&e.template)).collect()
}

/// Scores of every ordered pair `(probe, candidate)` of different
/// templates, row by row.
pub fn score_matrix(encoded: &[Encoded]) -> Vec<(usize, usize, f32)> {
    (0..encoded.len())
        .into_par_iter()
        .flat_map_iter(|i| (0..encoded.len()).filter(move |&j| j != i).map(move |j| (i, j, score(&encoded[i], &encoded[j]))))
        .collect()
}

/// Error rates of a matcher on mated and non-mated scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErrorRates {
    /// Mated pairs scored.
    pub mated: usize,
    /// Non-mated pairs scored.
    pub non_mated: usize,
    /// Equal error rate, 0–1.
    pub eer: f64,
    /// False non-match rate at the lowest threshold whose false match rate
    /// is at most 1 %, 0–1.
    pub fnmr_at_fmr_1: f64,
}

/// The error rates of scores `(mated, non_mated)`; a pair matches when its
/// score is at or above the threshold.
///
/// The equal error rate is where the false match rate (non-mated at or
/// above the threshold) and the false non-match rate (mated below it)
/// cross: over all thresholds at scores seen, the one where the two are
/// closest, reporting their mean (FVC's EER, without its interval).
pub fn error_rates(mated: &[f32], non_mated: &[f32]) -> ErrorRates {
    let mut m = mated.to_vec();
    let mut n = non_mated.to_vec();
    m.sort_by(f32::total_cmp);
    n.sort_by(f32::total_cmp);
    let fnmr = |t: f32| m.partition_point(|&s| s < t) as f64 / m.len().max(1) as f64;
    let fmr = |t: f32| (n.len() - n.partition_point(|&s| s < t)) as f64 / n.len().max(1) as f64;
    let mut thresholds: Vec<f32> = m.iter().chain(&n).copied().collect();
    thresholds.push(f32::INFINITY);
    thresholds.sort_by(f32::total_cmp);
    thresholds.dedup();
    let mut eer = (f64::INFINITY, 1.0);
    let mut fnmr_at_fmr_1 = 1.0;
    for &t in &thresholds {
        let (a, b) = (fmr(t), fnmr(t));
        if (a - b).abs() < eer.0 {
            eer = ((a - b).abs(), (a + b) / 2.0);
        }
        if a <= 0.01 && b < fnmr_at_fmr_1 {
            fnmr_at_fmr_1 = b;
        }
    }
    ErrorRates { mated: m.len(), non_mated: n.len(), eer: eer.1, fnmr_at_fmr_1 }
}

/// Splits a score matrix into mated and non-mated scores.
pub fn split_scores(entries: &[Entry], scores: &[(usize, usize, f32)]) -> (Vec<f32>, Vec<f32>) {
    let (mut mated, mut non_mated) = (Vec::new(), Vec::new());
    for &(i, j, s) in scores {
        if entries[i].finger == entries[j].finger {
            mated.push(s);
        } else {
            non_mated.push(s);
        }
    }
    (mated, non_mated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_scores_have_no_errors_and_overlapping_ones_do() {
        let r = error_rates(&[0.8, 0.9, 0.7], &[0.1, 0.2, 0.3, 0.4]);
        assert_eq!((r.mated, r.non_mated, r.eer, r.fnmr_at_fmr_1), (3, 4, 0.0, 0.0));
        // One non-mated score above one mated score.
        let r = error_rates(&[0.5, 0.9], &[0.6, 0.1]);
        assert_eq!(r.eer, 0.5);
        assert_eq!(r.fnmr_at_fmr_1, 0.5);
        let r = error_rates(&[0.1; 4], &[0.9; 4]);
        assert_eq!(r.eer, 1.0);
    }
}

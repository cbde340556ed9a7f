//! Where the shared real datasets live.
//!
//! The real data (allele frequencies, fingerprint minutiae, ballistic scans)
//! sits next to the repository in `shared/datasets` and is never copied into
//! it. Tests, benchmarks and the command line find it here: first the
//! `HITDEX_DATASETS` environment variable, then `shared/datasets` above the
//! current directory or the running executable.

use std::path::{Path, PathBuf};

use crate::DatasetError;

/// Environment variable naming the datasets directory.
pub const ENV_VAR: &str = "HITDEX_DATASETS";

/// The shared datasets directory, if it can be found.
///
/// If `HITDEX_DATASETS` is set, it names the directory (and `None` is
/// returned when that is not a directory). Otherwise, for each ancestor `a`
/// of the current directory and then of the running executable,
/// `a/shared/datasets` is taken if it holds a `README.md`.
pub fn shared_datasets() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(ENV_VAR) {
        let dir = PathBuf::from(dir);
        return dir.is_dir().then_some(dir);
    }
    let cwd = std::env::current_dir().ok();
    let exe = std::env::current_exe().ok();
    [cwd, exe]
        .into_iter()
        .flatten()
        .find_map(|start| search_above(&start))
}

fn search_above(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|a| a.join("shared").join("datasets"))
        .find(|d| d.join("README.md").is_file())
}

/// The shared datasets directory, or an error saying how to point at it.
///
/// # Errors
/// [`DatasetError::SharedDatasetsNotFound`] when [`shared_datasets`] finds
/// nothing; the message names `HITDEX_DATASETS`.
pub fn require_shared_datasets() -> Result<PathBuf, DatasetError> {
    shared_datasets().ok_or_else(|| DatasetError::SharedDatasetsNotFound(not_found_message()))
}

/// The shared datasets directory for a test, or `None` after printing on
/// stderr that `test` is skipped and why. Tests return early on `None`.
pub fn shared_datasets_or_skip(test: &str) -> Option<PathBuf> {
    let dir = shared_datasets();
    if dir.is_none() {
        eprintln!("SKIPPED {test}: {}", not_found_message());
    }
    dir
}

fn not_found_message() -> String {
    match std::env::var_os(ENV_VAR) {
        Some(v) => format!("{ENV_VAR}={} is not a directory", Path::new(&v).display()),
        None => format!(
            "../shared/datasets not found above the current directory or the executable; \
             set {ENV_VAR}=/path/to/shared/datasets"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_shared_datasets_above_a_nested_directory() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("shared").join("datasets");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("README.md"), "data").unwrap();
        let nested = root.path().join("main").join("datasets").join("src");
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(search_above(&nested), Some(data));
        assert_eq!(search_above(Path::new("/nonexistent/x/y")), None);
    }

    #[test]
    fn the_missing_directory_message_says_how_to_fix_it() {
        if std::env::var_os(ENV_VAR).is_none() {
            assert!(not_found_message().contains("HITDEX_DATASETS="));
        }
    }
}

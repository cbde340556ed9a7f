//! Finger minutiae formats, all read into (and, where written, from) the
//! engine's [`Template`]: ISO/IEC 19794-2:2005 and ANSI INCITS 378-2004
//! records ([`fmr`]), NIST `xyt` files ([`xyt`]) and the Type-9 records of
//! ANSI/NIST-ITL files ([`an2k`]).
//! [`manifest`] reads the CSV listing template files and whose fingers they hold.

pub mod an2k;
pub mod fmr;
pub mod manifest;
pub mod xyt;

use std::path::{Path, PathBuf};

use hitdex_engine::fingerprint::Template;

/// A file format of finger minutiae.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// NIST `xyt` text.
    Xyt,
    /// ISO/IEC 19794-2:2005 record.
    Iso,
    /// ANSI INCITS 378-2004 record.
    Ansi,
    /// ANSI/NIST-ITL transaction file (the minutiae of its Type-9 records).
    An2k,
}

impl Format {
    /// The format a file name's extension names: `.xyt`, `.iso` (or
    /// `.iso2005`), `.ansi` (or `.ansi2004`), `.an2k` (or `.an2`, `.eft`).
    /// (`.fmr` says nothing: ISO and ANSI records both begin `FMR`.)
    pub fn of_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "xyt" => Some(Format::Xyt),
            "iso" | "iso2005" => Some(Format::Iso),
            "ansi" | "ansi2004" => Some(Format::Ansi),
            "an2k" | "an2" | "eft" => Some(Format::An2k),
            _ => None,
        }
    }
}

/// Why a minutiae file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    /// The file cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A bad ISO or ANSI record.
    #[error(transparent)]
    Record(#[from] fmr::FmrError),
    /// A bad `xyt` file.
    #[error(transparent)]
    Xyt(#[from] xyt::XytError),
    /// A bad ANSI/NIST-ITL file.
    #[error(transparent)]
    An2k(#[from] an2k::An2kError),
}

/// The templates of one file: one per finger view or Type-9 record (an
/// `xyt` file holds one). `xyt` coordinates are flipped about the largest
/// y in the file.
///
/// # Errors
/// [`FingerprintError`] naming the file and, for bad content, where.
pub fn read_path(path: &Path, format: Format) -> Result<Vec<Template>, FingerprintError> {
    let bytes = std::fs::read(path).map_err(|source| FingerprintError::Io { path: path.to_path_buf(), source })?;
    read_bytes(&bytes, format, path)
}

/// The templates of the bytes of one file (or of a template a node
/// received), as [`read_path`] reads them; `source` names them in errors.
///
/// # Errors
/// [`FingerprintError`] naming `source` and where in the bytes.
pub fn read_bytes(bytes: &[u8], format: Format, source: &Path) -> Result<Vec<Template>, FingerprintError> {
    Ok(match format {
        Format::Xyt => vec![xyt::read(bytes, None, source)?],
        Format::Iso => fmr::read(bytes, fmr::Standard::Iso2005, source)?.views,
        Format::Ansi => fmr::read(bytes, fmr::Standard::Ansi2004, source)?.views,
        Format::An2k => an2k::read(bytes, source)?.into_iter().map(|m| m.template).collect(),
    })
}

/// `../shared/datasets/fingerprint`, or `None` after saying that `test`
/// is skipped (the tests' real data).
#[cfg(test)]
fn test_data(test: &str) -> Option<PathBuf> {
    let datasets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets");
    if datasets.join("README.md").exists() {
        Some(datasets.join("fingerprint"))
    } else {
        eprintln!("SKIPPED {test}: ../shared/datasets not found (it holds the fingerprint samples and FVC2002)");
        None
    }
}

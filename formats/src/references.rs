//! Reference lists, as given to `hitdex index delete`.
//!
//! One reference per line, or `authority,reference` (a tab also separates)
//! when the holder must be named because references are unique only within
//! an authority. Blank lines and lines starting with `#` are ignored, and so
//! is a header line `reference` or `authority,reference`.

use std::path::{Path, PathBuf};

/// Why a reference list cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReferencesError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A line is not a reference.
    #[error("{path}:{line}: {reason}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Reads a reference list: `(authority if given, reference)` per entry.
///
/// # Errors
/// I/O errors, invalid UTF-8, more than two fields or an empty reference,
/// naming the line.
pub fn read_path(path: &Path) -> Result<Vec<(Option<String>, String)>, ReferencesError> {
    let bytes = std::fs::read(path).map_err(|source| ReferencesError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |line: usize, reason: &str| ReferencesError::Line {
        path: path.to_path_buf(),
        line,
        reason: reason.to_string(),
    };
    let mut out = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = std::str::from_utf8(raw).map_err(|_| bad(i + 1, "not valid UTF-8"))?;
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split([',', '\t']).map(str::trim).collect();
        let header = matches!(
            fields.as_slice(),
            ["reference"] | ["authority", "reference"]
        );
        if i == 0 && header {
            continue;
        }
        match fields.as_slice() {
            [r] if !r.is_empty() => out.push((None, r.to_string())),
            [a, r] if !r.is_empty() && !a.is_empty() => {
                out.push((Some(a.to_string()), r.to_string()))
            }
            [..] if fields.len() > 2 => {
                return Err(bad(i + 1, "expected `reference` or `authority,reference`"))
            }
            _ => return Err(bad(i + 1, "empty reference or authority")),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_qualified_references_with_comments_and_header() {
        let dir = std::env::temp_dir().join(format!("hitdex-refs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("refs.txt");
        std::fs::write(
            &path,
            "authority,reference\n# law 2026/17\nR1\n\nDE-BKA,R2\r\nNL-NFI\tR3\n",
        )
        .unwrap();
        let got = read_path(&path).unwrap();
        assert_eq!(
            got,
            vec![
                (None, "R1".into()),
                (Some("DE-BKA".into()), "R2".into()),
                (Some("NL-NFI".into()), "R3".into())
            ]
        );
        std::fs::write(&path, "R1\nA,B,C\n").unwrap();
        assert_eq!(
            read_path(&path).unwrap_err().to_string(),
            format!(
                "{}:2: expected `reference` or `authority,reference`",
                path.display()
            )
        );
        std::fs::write(&path, "R1\n,R2\n").unwrap();
        assert!(read_path(&path)
            .unwrap_err()
            .to_string()
            .contains(":2: empty"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

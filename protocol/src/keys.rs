//! Node public keys as text and as files.
//!
//! An auditor checking a node's audit log, and a partner checking a node's
//! signatures, need the node's Ed25519 public key from somewhere other than
//! the data they check. This module fixes its one textual form: the 32 bytes
//! of the key in standard base64 (with padding, 44 characters), alone on one
//! line. A key file holds exactly that line; a final newline and surrounding
//! blanks are allowed, anything else is an error naming the file. The audit
//! log's header carries the key in the same form.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::VerifyingKey;

/// A key file is one short line; reading stops here so that a wrong path
/// (a log, a disk image) fails fast instead of being read whole.
const MAX_KEY_FILE: u64 = 1024;

/// Why a key could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("{}: cannot {what}: {source}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// What was being done ("read", "write").
        what: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The file does not hold a public key in the expected form.
    #[error("{}: not a node public key: {what}", path.display())]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// What is wrong with its contents.
        what: String,
    },
}

/// The textual form of a public key: standard base64 of its 32 bytes.
pub fn public_key_to_text(key: &VerifyingKey) -> String {
    BASE64.encode(key.as_bytes())
}

/// Parses the textual form of a public key (surrounding blanks allowed).
///
/// # Errors
///
/// A message saying what is wrong: not base64, not 32 bytes, or 32 bytes
/// that are not a point of the curve.
pub fn public_key_from_text(text: &str) -> Result<VerifyingKey, String> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|e| format!("not base64 ({e})"))?;
    let bytes: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| format!("{} bytes where an Ed25519 public key has 32", bytes.len()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "not a valid Ed25519 public key".to_string())
}

/// Reads a public key file (see the module documentation for its form).
///
/// # Errors
///
/// [`KeyError::Io`] if the file cannot be read, [`KeyError::Malformed`] if
/// it does not hold exactly one public key.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let io_error = |source| KeyError::Io { path: path.to_path_buf(), what: "read", source };
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(MAX_KEY_FILE + 1).read_to_end(&mut bytes))
        .map_err(io_error)?;
    let malformed = |what: String| KeyError::Malformed { path: path.to_path_buf(), what };
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(malformed(format!("longer than {MAX_KEY_FILE} bytes")));
    }
    let text = String::from_utf8(bytes).map_err(|_| malformed("not UTF-8 text".to_string()))?;
    public_key_from_text(&text).map_err(malformed)
}

/// Writes a public key file: the key's textual form and a newline.
///
/// # Errors
///
/// [`KeyError::Io`] if the file cannot be written.
pub fn write_public_key(path: &Path, key: &VerifyingKey) -> Result<(), KeyError> {
    std::fs::write(path, format!("{}\n", public_key_to_text(key)))
        .map_err(|source| KeyError::Io { path: path.to_path_buf(), what: "write", source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn key(seed: u8) -> VerifyingKey {
        SigningKey::from_bytes(&[seed; 32]).verifying_key()
    }

    #[test]
    fn a_written_key_reads_back() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("node.pub");
        write_public_key(&path, &key(7)).expect("write");
        assert_eq!(read_public_key(&path).expect("read"), key(7));
        let text = std::fs::read_to_string(&path).expect("read text");
        assert_eq!(text.len(), 45, "44 base64 characters and a newline: {text:?}");
    }

    #[test]
    fn bad_key_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("node.pub");
        for (contents, why) in [
            ("", "bytes where"),
            ("not base64!\n", "not base64"),
            ("AAAA\n", "3 bytes where"),
            (&format!("{}\n{}\n", public_key_to_text(&key(1)), public_key_to_text(&key(2))), "not base64"),
        ] {
            std::fs::write(&path, contents).expect("write");
            let e = read_public_key(&path).expect_err(contents).to_string();
            assert!(e.contains("node.pub") && e.contains(why), "{contents:?}: {e}");
        }
        let missing = dir.path().join("absent.pub");
        let e = read_public_key(&missing).expect_err("missing file").to_string();
        assert!(e.contains("absent.pub") && e.contains("cannot read"), "{e}");
    }
}

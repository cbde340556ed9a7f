//! Ed25519 key files: the node's signing key, each authority's key pair.
//!
//! A key file is one line: the 32 key bytes in standard base64. Secret
//! key files are written readable by their owner only. The same text form
//! names public keys in the directory of authorities.

use std::fs;
use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::RngCore;

/// Why a key could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The text is not a key.
    #[error("{what}: {problem}")]
    Malformed {
        /// Where the key came from (a file, or a directory entry).
        what: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// A new signing key from the operating system's random source.
pub fn generate() -> SigningKey {
    let mut seed = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    SigningKey::from_bytes(&seed)
}

/// The base64 text of 32 key bytes.
pub fn encode(bytes: &[u8; 32]) -> String {
    STANDARD.encode(bytes)
}

/// 32 key bytes from base64 `text`; `what` names the source in errors.
///
/// # Errors
/// [`KeyError::Malformed`] unless `text` is base64 of exactly 32 bytes.
pub fn decode(text: &str, what: &str) -> Result<[u8; 32], KeyError> {
    let malformed = |problem: String| KeyError::Malformed { what: what.to_string(), problem };
    let bytes = STANDARD.decode(text.trim()).map_err(|e| malformed(format!("not base64: {e}")))?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| malformed(format!("{} bytes where a key has 32", bytes.len())))
}

/// A public key from its base64 text.
///
/// # Errors
/// [`KeyError::Malformed`] unless the text is a valid Ed25519 public key.
pub fn public_from_text(text: &str, what: &str) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_bytes(&decode(text, what)?).map_err(|e| KeyError::Malformed { what: what.to_string(), problem: format!("not an Ed25519 public key: {e}") })
}

fn read(path: &Path) -> Result<String, KeyError> {
    fs::read_to_string(path).map_err(|source| KeyError::Io { path: path.display().to_string(), source })
}

/// Reads a signing (secret) key file.
///
/// # Errors
/// [`KeyError`] naming the file.
pub fn read_signing(path: &Path) -> Result<SigningKey, KeyError> {
    Ok(SigningKey::from_bytes(&decode(&read(path)?, &path.display().to_string())?))
}

/// Reads a public key file.
///
/// # Errors
/// [`KeyError`] naming the file.
pub fn read_public(path: &Path) -> Result<VerifyingKey, KeyError> {
    public_from_text(&read(path)?, &path.display().to_string())
}

/// Writes a signing key, readable by its owner only.
///
/// # Errors
/// [`KeyError::Io`] naming the file.
pub fn write_signing(path: &Path, key: &SigningKey) -> Result<(), KeyError> {
    write(path, &key.to_bytes(), true)
}

/// Writes a public key.
///
/// # Errors
/// [`KeyError::Io`] naming the file.
pub fn write_public(path: &Path, key: &VerifyingKey) -> Result<(), KeyError> {
    write(path, key.as_bytes(), false)
}

fn write(path: &Path, bytes: &[u8; 32], secret: bool) -> Result<(), KeyError> {
    let io = |source| KeyError::Io { path: path.display().to_string(), source };
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(path).map_err(io)?;
    writeln!(file, "{}", encode(bytes)).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_written_read_back_and_bad_text_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate();
        write_signing(&dir.path().join("k"), &key).unwrap();
        write_public(&dir.path().join("k.pub"), &key.verifying_key()).unwrap();
        assert_eq!(read_signing(&dir.path().join("k")).unwrap().to_bytes(), key.to_bytes());
        assert_eq!(read_public(&dir.path().join("k.pub")).unwrap(), key.verifying_key());
        let e = decode("AAAA", "x.key").unwrap_err().to_string();
        assert!(e.contains("x.key") && e.contains("3 bytes"), "{e}");
        assert!(decode("not base64!", "y").unwrap_err().to_string().contains("not base64"));
        assert!(read_signing(&dir.path().join("missing")).unwrap_err().to_string().contains("missing"));
    }
}

//! Tombstones: which profiles of a shard are deleted.
//!
//! National law requires deletions; shards are immutable, so a deletion is a
//! bit in a per-shard bitmap applied at query time, until compaction drops
//! the profile. A tombstone file is small (one bit per profile), read into
//! memory on open and never modified: a deletion writes a new file under a
//! new name and the manifest switches to it atomically.
//!
//! ```text
//! magic "HDXTOMB1" | profiles u64 | bitmap (u64 words, little-endian) | BLAKE3 of all before
//! ```

use std::path::Path;

use bitvec::prelude::*;

use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"HDXTOMB1";

/// The deleted profiles of one shard, by profile id.
pub type Tombstones = BitVec<u64, Lsb0>;

/// Reads a tombstone file written for a shard of `profiles` profiles.
///
/// # Errors
/// `Io` if unreadable; `Corrupt` on a wrong magic, length, count or checksum.
pub fn read(path: &Path, profiles: usize) -> Result<Tombstones> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let words = profiles.div_ceil(64);
    let body = 16 + words * 8;
    if bytes.len() != body + 32 || &bytes[..8] != MAGIC {
        return Err(Error::corrupt(path, "not a tombstone file of this shard (bad magic or length)"));
    }
    if blake3::hash(&bytes[..body]).as_bytes() != &bytes[body..] {
        return Err(Error::corrupt(path, "tombstone checksum mismatch"));
    }
    let count = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    if count != profiles as u64 {
        return Err(Error::corrupt(path, format!("tombstones for {count} profiles, the shard has {profiles}")));
    }
    let raw: Vec<u64> = bytes[16..body].chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes"))).collect();
    let mut bits = Tombstones::from_vec(raw);
    bits.truncate(profiles);
    Ok(bits)
}

/// Writes `bits` to `path` (temporary name, sync, rename).
///
/// # Errors
/// I/O errors.
pub fn write(path: &Path, bits: &Tombstones) -> Result<()> {
    let mut bytes = Vec::with_capacity(16 + bits.len().div_ceil(64) * 8 + 32);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(bits.len() as u64).to_le_bytes());
    let mut words = bits.clone();
    words.set_uninitialized(false);
    for w in words.as_raw_slice() {
        bytes.extend_from_slice(&w.to_le_bytes());
    }
    let digest = blake3::hash(&bytes);
    bytes.extend_from_slice(digest.as_bytes());
    super::write_atomically(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t");
        let mut bits = Tombstones::repeat(false, 130);
        bits.set(0, true);
        bits.set(129, true);
        write(&path, &bits).unwrap();
        assert_eq!(read(&path, 130).unwrap(), bits);
        assert!(matches!(read(&path, 131), Err(Error::Corrupt { .. })));
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[16] ^= 2;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(read(&path, 130), Err(Error::Corrupt { .. })));
    }
}

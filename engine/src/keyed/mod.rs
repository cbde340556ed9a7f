//! Key-only categories (SPEC section 2): `vehicle` (registration plate,
//! VIN), `phone` (E.164 number) and `identity` (names and date of birth),
//! answered by exact hit/no-hit on a key.
//!
//! The engine never sees the text of a plate, number or name as a file
//! holds it: `hitdex-formats` normalises it into a [`Value`] (its field and
//! canonical text), and the index's [`Secret`] turns that into a [`Key`], a
//! keyed BLAKE3 digest. Only digests and reference data are stored; a hit
//! names the reference and the authority, nothing else.
//!
//! **Why a secret key and not a plain hash.** The values are guessable:
//! plates and phone numbers can be enumerated in hours, and a country's
//! population register gives every name and date of birth. A plain hash in
//! the shards would let whoever copies them find out, offline, who is in
//! the index. Each index therefore has its own random 256-bit secret
//! ([`Secret`], in `DIR/SECRET`, readable by its owner only), and a key is
//! `BLAKE3-keyed(secret, field tag ‖ 0 ‖ canonical text)`. Shards copied or
//! backed up without `SECRET` reveal nothing and cannot be tested against
//! guesses; the same person in two indexes (two countries, two builds) has
//! unrelated keys, so indexes cannot be joined on them. Whoever holds the
//! whole directory can still test guesses one by one, as the search itself
//! does: keep `SECRET` with the node's other keys and out of shard
//! backups. A slow password hash would not help: every query must be
//! hashed too, millions per batch. Every shard header records the secret's
//! fingerprint, so a directory with a replaced or damaged `SECRET` is
//! refused instead of silently answering "no hit".
//!
//! - [`shard`]: one shard: reference data and the sorted digests.
//! - [`search`]: [`KeyIndex`]: build, add, delete, compact, verify, stats
//!   and exact search over all shards.

pub mod search;
pub mod shard;

use std::fmt;
use std::path::Path;

use crate::dna::Kind;
use crate::index::container::Category;
use crate::{Error, Result};

pub use search::{KeyIndex, KeyStats};
pub use shard::KeyShard;

/// A 32-byte keyed digest of one normalised value: what shards store and
/// searches compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(pub [u8; 32]);

/// Which field a value is of; each field is its own key domain, so a plate
/// can never equal a VIN or a phone number with the same text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// A vehicle registration plate.
    Plate,
    /// A vehicle identification number (ISO 3779).
    Vin,
    /// A telephone number in E.164.
    Phone,
    /// Family name, given names and date of birth of a person, together.
    Identity,
}

impl Field {
    /// The tag hashed before the value (stable: changing one changes keys).
    pub fn tag(self) -> &'static str {
        match self {
            Field::Plate => "plate",
            Field::Vin => "vin",
            Field::Phone => "phone",
            Field::Identity => "identity",
        }
    }

    /// The category whose index holds values of this field.
    pub fn category(self) -> Category {
        match self {
            Field::Plate | Field::Vin => Category::Vehicle,
            Field::Phone => Category::Phone,
            Field::Identity => Category::Identity,
        }
    }
}

/// A normalised value, as `hitdex-formats` makes it (never stored).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Value {
    /// Its field.
    pub field: Field,
    /// Its canonical text (a plate `B AB 123` is `BAB123`).
    pub text: String,
}

impl fmt::Debug for Value {
    // Values are personal data: debug output (logs, panics) names the field only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Value({}, {} bytes)", self.field.tag(), self.text.len())
    }
}

/// Whether `category` is a key-only one.
pub fn is_keyed(category: Category) -> bool {
    matches!(category, Category::Vehicle | Category::Phone | Category::Identity)
}

/// The secret key of one index (see the module documentation).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; 32]);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(fingerprint {:016x})", self.fingerprint())
    }
}

/// File of the secret inside an index directory.
pub const SECRET_FILE: &str = "SECRET";
const SECRET_HEAD: &str = "hitdex-index-secret 1";

impl Secret {
    /// A new random secret from the operating system's generator.
    ///
    /// # Errors
    /// `Invalid` if the operating system has no random bytes to give.
    pub fn generate() -> Result<Secret> {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.try_fill_bytes(&mut bytes).map_err(|e| Error::Invalid(format!("no random bytes for the index secret: {e}")))?;
        Ok(Secret(bytes))
    }

    /// A secret of given bytes (tests, or a secret kept elsewhere).
    pub fn from_bytes(bytes: [u8; 32]) -> Secret {
        Secret(bytes)
    }

    /// The key of `value`.
    pub fn key(&self, value: &Value) -> Key {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        h.update(value.field.tag().as_bytes());
        h.update(&[0]);
        h.update(value.text.as_bytes());
        Key(*h.finalize().as_bytes())
    }

    /// A fingerprint that tells secrets apart without revealing them
    /// (stored in every shard header).
    pub fn fingerprint(&self) -> u64 {
        let d = blake3::derive_key("hitdex 2025 index secret fingerprint", &self.0);
        u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
    }

    /// Reads `dir/SECRET`.
    ///
    /// # Errors
    /// `Io` if unreadable; `Corrupt` if malformed.
    pub fn read(dir: &Path) -> Result<Secret> {
        let path = dir.join(SECRET_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let mut lines = text.lines();
        let hex = match (lines.next(), lines.next(), lines.next()) {
            (Some(SECRET_HEAD), Some(hex), None) if hex.len() == 64 => hex,
            _ => return Err(Error::corrupt(&path, "not a Hitdex index secret")),
        };
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2).unwrap_or("zz"), 16)
                .map_err(|_| Error::corrupt(&path, "not a Hitdex index secret (bad hex)"))?;
        }
        Ok(Secret(bytes))
    }

    /// Writes `dir/SECRET` (owner-only permissions, temporary name, sync,
    /// rename).
    ///
    /// # Errors
    /// I/O errors.
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        use std::io::Write;
        let path = dir.join(SECRET_FILE);
        let tmp = crate::index::container::temp_path(&path);
        let mut options = std::fs::File::options();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        f.write_all(format!("{SECRET_HEAD}\n{hex}\n").as_bytes()).and_then(|()| f.sync_all()).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))
    }
}

/// One record to store: reference data and the keys it is found by (a
/// vehicle by its plate and its VIN; a phone or a person by one key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// Reference number, unique within the authority.
    pub reference: String,
    /// Designated authority holding the full record.
    pub authority: String,
    /// A person's record or an unidentified trace.
    pub kind: Kind,
    /// The keys (at least one; repeats are stored once).
    pub keys: Vec<Key>,
    /// When it was added (Unix seconds).
    pub added: u32,
}

/// A hit: who holds a record with the key, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyHit {
    /// Designated authority holding the record.
    pub authority: String,
    /// Its reference number.
    pub reference: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_separate_key_domains_and_secrets_matter() {
        let s = Secret::from_bytes([7; 32]);
        let plate = Value { field: Field::Plate, text: "AB123".into() };
        let vin = Value { field: Field::Vin, text: "AB123".into() };
        assert_ne!(s.key(&plate), s.key(&vin));
        assert_eq!(s.key(&plate), s.key(&plate.clone()));
        assert_ne!(s.key(&plate), Secret::from_bytes([8; 32]).key(&plate));
        assert_ne!(s.fingerprint(), Secret::from_bytes([8; 32]).fingerprint());
    }

    #[test]
    fn secret_round_trips_and_debug_hides_it() {
        let dir = tempfile::tempdir().unwrap();
        let s = Secret::generate().unwrap();
        assert_ne!(s, Secret::generate().unwrap());
        s.write(dir.path()).unwrap();
        assert_eq!(Secret::read(dir.path()).unwrap(), s);
        assert!(!format!("{:?}", Secret::from_bytes([0xab; 32])).contains("abab"));
        assert!(!format!("{:?}", Value { field: Field::Identity, text: "muller".into() }).contains("muller"));
        std::fs::write(dir.path().join(SECRET_FILE), "hitdex-index-secret 1\nzz\n").unwrap();
        assert!(matches!(Secret::read(dir.path()), Err(Error::Corrupt { .. })));
    }
}

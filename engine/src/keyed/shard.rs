//! One immutable shard of a key-only category, in the sections of a
//! [`container`] (header fields: records, entries, the secret's
//! fingerprint).
//!
//! Records (reference data: reference, authority, kind, when added) are
//! numbered in input order. Each key of a record is an *entry*; entries
//! are stored sorted by key (then record), as two parallel arrays: the
//! 32-byte keys and the `u32` record each belongs to. A search reads the
//! start table (where the entries whose key begins with each `bits`-bit
//! prefix start: keys are uniform digests, so a prefix holds a handful)
//! and binary-searches that short run. No hash map, nothing to parse:
//! opening maps the file and checks lengths; [`KeyShard::verify`] checks
//! the digest, the order of the keys and the start table.
//!
//! ```text
//! RefOffsets RefHeap AuthorityIds AuthOffsets AuthHeap Kinds Added   per record
//! Keys (32 bytes) Owners (u32)                                      per entry, by key
//! Starts (u32, 2^bits + 1)                                          per key prefix
//! ```

use std::path::Path;

use rayon::prelude::*;

use super::{Key, KeyRecord};
use crate::dna::Kind;
use crate::index::container::{self, authority_at, string_at, u32_at, Authorities, Category, Header, Mapped, Strings};
use crate::{Error, Result};

/// Most records in one shard.
pub const MAX_RECORDS: usize = 1 << 28;
/// Most entries (keys) in one shard.
const MAX_ENTRIES: usize = u32::MAX as usize;

#[derive(Debug, Clone, Copy)]
enum Section {
    RefOffsets,
    RefHeap,
    AuthorityIds,
    AuthOffsets,
    AuthHeap,
    Kinds,
    Added,
    Keys,
    Owners,
    Starts,
}
const SECTIONS: usize = 10;

/// Bits of the start table for `entries` entries: about eight entries per
/// prefix, at most 2^20 prefixes (4 MiB).
fn prefix_bits(entries: usize) -> u32 {
    (entries / 8).max(1).ilog2().min(20)
}

/// The top `bits` bits of `key`.
fn prefix(key: &[u8; 32], bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        (u32::from_be_bytes([key[0], key[1], key[2], key[3]]) >> (32 - bits)) as usize
    }
}

/// Writes one shard of `records` (temporary name, sync, rename).
/// `secret` is the fingerprint of the secret their keys were made with.
///
/// # Errors
/// I/O errors; `Invalid` for a key-less record, beyond [`MAX_RECORDS`] or
/// 65,536 authorities, or for a category that is not key-only.
pub fn write(path: &Path, category: Category, records: &[KeyRecord], secret: u64, created: u64) -> Result<()> {
    if !super::is_keyed(category) {
        return Err(Error::Invalid(format!("{} is not a key-only category", category.name())));
    }
    let n = records.len();
    if n > MAX_RECORDS {
        return Err(Error::Invalid(format!("a {} shard holds at most {MAX_RECORDS} records, got {n}", category.name())));
    }
    let mut refs = Strings::default();
    let mut auths = Authorities::default();
    let mut authority_ids = Vec::with_capacity(n * 2);
    let (mut kinds, mut added) = (Vec::with_capacity(n), Vec::with_capacity(n * 4));
    let mut entries: Vec<(Key, u32)> = Vec::with_capacity(n);
    for (id, r) in records.iter().enumerate() {
        if r.keys.is_empty() {
            return Err(Error::Invalid(format!("reference {} of authority {} has no key", r.reference, r.authority)));
        }
        refs.push(&r.reference)?;
        authority_ids.extend_from_slice(&auths.id(&r.authority)?.to_le_bytes());
        kinds.push(u8::from(r.kind == Kind::Trace));
        added.extend_from_slice(&r.added.to_le_bytes());
        entries.extend(r.keys.iter().map(|&k| (k, id as u32)));
    }
    refs.finish()?;
    auths.names.finish()?;
    entries.par_sort_unstable();
    entries.dedup();
    let m = entries.len();
    if m > MAX_ENTRIES {
        return Err(Error::Invalid(format!("{m} keys in one shard, more than it can hold; use more shards")));
    }
    let bits = prefix_bits(m);
    let mut keys = Vec::with_capacity(m * 32);
    let mut owners = Vec::with_capacity(m * 4);
    let mut counts = vec![0u32; (1 << bits) + 1];
    for (k, id) in &entries {
        keys.extend_from_slice(&k.0);
        owners.extend_from_slice(&id.to_le_bytes());
        counts[prefix(&k.0, bits) + 1] += 1;
    }
    for i in 0..1 << bits {
        counts[i + 1] += counts[i];
    }
    let starts: Vec<u8> = counts.iter().flat_map(|c| c.to_le_bytes()).collect();
    let sections: [&[u8]; SECTIONS] =
        [&refs.offsets, &refs.heap, &authority_ids, &auths.names.offsets, &auths.names.heap, &kinds, &added, &keys, &owners, &starts];
    let fields = [n as u64, m as u64, secret];
    container::write(path, &Header { category, created, fields }, &sections)
}

/// An open, memory-mapped shard of a key-only category.
#[derive(Debug)]
pub struct KeyShard {
    file: Mapped,
    n: usize,
    m: usize,
    bits: u32,
}

impl KeyShard {
    /// Maps a shard of `category` and checks its container and the length
    /// of every section the header fixes.
    ///
    /// # Errors
    /// `Io` if unreadable; `Corrupt` if a check fails.
    pub fn open(path: &Path, category: Category) -> Result<KeyShard> {
        let file = container::open(path, category, SECTIONS)?;
        let [n, m, _] = file.header.fields;
        if n > MAX_RECORDS as u64 || m > MAX_ENTRIES as u64 || m < n {
            return Err(Error::corrupt(path, format!("impossible counts in header: {n} records, {m} keys")));
        }
        let (n, m) = (n as usize, m as usize);
        let bits = prefix_bits(m);
        let shard = KeyShard { file, n, m, bits };
        let lengths = [
            (Section::RefOffsets, (n + 1) * 4),
            (Section::AuthorityIds, n * 2),
            (Section::Kinds, n),
            (Section::Added, n * 4),
            (Section::Keys, m * 32),
            (Section::Owners, m * 4),
            (Section::Starts, ((1 << bits) + 1) * 4),
        ];
        for (s, len) in lengths {
            let got = shard.section(s).len();
            if got != len {
                return Err(Error::corrupt(path, format!("section {s:?} is {got} bytes, expected {len}")));
            }
        }
        Ok(shard)
    }

    fn section(&self, s: Section) -> &[u8] {
        self.file.section(s as usize)
    }

    fn corrupt(&self, what: String) -> Error {
        Error::corrupt(&self.file.path, what)
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    /// Records, deleted ones included.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the shard holds no record.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Entries (keys of all records, deleted ones included).
    pub fn entries(&self) -> usize {
        self.m
    }

    /// File size in bytes.
    pub fn bytes(&self) -> usize {
        self.file.map.len()
    }

    /// The fingerprint of the secret the keys were made with.
    pub fn secret_fingerprint(&self) -> u64 {
        self.file.header.fields[2]
    }

    /// Reference number of record `id`.
    ///
    /// # Errors
    /// `Corrupt` if unreadable.
    pub fn reference(&self, id: usize) -> Result<&str> {
        string_at(self.section(Section::RefOffsets), self.section(Section::RefHeap), id)
            .ok_or_else(|| self.corrupt(format!("reference of record {id} is unreadable")))
    }

    /// Authority of record `id`.
    ///
    /// # Errors
    /// `Corrupt` if unreadable.
    pub fn authority(&self, id: usize) -> Result<&str> {
        authority_at(self.section(Section::AuthorityIds), self.section(Section::AuthOffsets), self.section(Section::AuthHeap), id)
            .ok_or_else(|| self.corrupt(format!("authority of record {id} is unreadable")))
    }

    /// Person or trace.
    pub fn kind(&self, id: usize) -> Kind {
        if self.section(Section::Kinds).get(id) == Some(&1) {
            Kind::Trace
        } else {
            Kind::Person
        }
    }

    /// When record `id` was added (Unix seconds).
    pub fn added(&self, id: usize) -> u32 {
        u32_at(self.section(Section::Added), id * 4).unwrap_or(0)
    }

    /// Key of entry `i` (`i < entries()`, which open checked the section for).
    fn key_at(&self, i: usize) -> &[u8; 32] {
        self.section(Section::Keys)[i * 32..i * 32 + 32].try_into().expect("32 bytes")
    }

    /// Record of entry `i` (may be out of range in a damaged shard).
    fn owner(&self, i: usize) -> usize {
        u32_at(self.section(Section::Owners), i * 4).map_or(usize::MAX, |o| o as usize)
    }

    /// Entry `i`: its key and record (for compaction).
    pub fn entry(&self, i: usize) -> (Key, usize) {
        (Key(*self.key_at(i)), self.owner(i))
    }

    /// The records with `key`, in ascending order, deleted ones included.
    /// In a damaged shard (one [`verify`](Self::verify) refuses) the answer
    /// may be wrong, but reading never goes out of bounds; an owner out of
    /// range is left out.
    pub fn lookup(&self, key: &Key) -> impl Iterator<Item = usize> + '_ {
        let p = prefix(&key.0, self.bits);
        let starts = self.section(Section::Starts);
        let at = |i: usize| u32_at(starts, i * 4).map_or(self.m, |s| (s as usize).min(self.m));
        let (a, b) = (at(p), at(p + 1));
        let (mut lo, mut hi) = (a.min(b), b);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.key_at(mid) < &key.0 {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let key = key.0;
        (lo..b).take_while(move |&i| self.key_at(i) == &key).map(|i| self.owner(i)).filter(|&id| id < self.n)
    }

    /// Recomputes the digest and checks every reference, authority and
    /// kind, the order of the entries, their records and the start table.
    ///
    /// # Errors
    /// `Corrupt` naming the check that failed.
    pub fn verify(&self) -> Result<()> {
        container::verify(&self.file)?;
        (0..self.n).into_par_iter().try_for_each(|id| {
            self.reference(id)?;
            self.authority(id)?;
            Ok::<_, Error>(())
        })?;
        if self.section(Section::Kinds).iter().any(|&k| k > 1) {
            return Err(self.corrupt("a kind is neither person nor trace".into()));
        }
        let ordered = (1..self.m).into_par_iter().all(|i| (self.key_at(i - 1), self.owner(i - 1)) < (self.key_at(i), self.owner(i)));
        if !ordered {
            return Err(self.corrupt("keys are not in order".into()));
        }
        if (0..self.m).into_par_iter().any(|i| self.owner(i) >= self.n) {
            return Err(self.corrupt("a key names no record".into()));
        }
        let starts = self.section(Section::Starts);
        let mut expected = 0;
        for p in 0..=(1usize << self.bits) {
            while expected < self.m && prefix(self.key_at(expected), self.bits) < p {
                expected += 1;
            }
            if u32_at(starts, p * 4) != Some(expected as u32) {
                return Err(self.corrupt(format!("start of key prefix {p} is wrong")));
            }
        }
        Ok(())
    }
}

impl crate::index::Records for KeyShard {
    fn reference(&self, id: usize) -> Result<&str> {
        KeyShard::reference(self, id)
    }
    fn authority(&self, id: usize) -> Result<&str> {
        KeyShard::authority(self, id)
    }
}

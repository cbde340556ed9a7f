//! [`KeyIndex`]: an index directory of [`KeyShard`]s of one key-only
//! category (same manifest, tombstones and writer lock as every index),
//! plus the index's [`Secret`].
//!
//! A search is exact: a key hits every live record stored with it. Hits
//! are sorted by authority and reference and given once, so the answer is
//! the same whatever the shard count.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::shard::{self, KeyShard};
use super::{is_keyed, Key, KeyHit, KeyRecord, Secret, Value};
use crate::dna::Kind;
use crate::index::container::Category;
use crate::index::manifest::{self, Manifest, ShardEntry};
use crate::index::tombstones::Tombstones;
use crate::index::{self as common, RecordKey, WriterLock};
use crate::{Error, Result};

/// An open index of a key-only category.
#[derive(Debug)]
pub struct KeyIndex {
    dir: PathBuf,
    manifest: Manifest,
    secret: Secret,
    shards: Vec<KeyShard>,
    tombstones: Vec<Tombstones>,
}

/// Figures of `index stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyStats {
    /// Shard files.
    pub shards: usize,
    /// Records stored, deleted ones included.
    pub records: usize,
    /// Records deleted and not yet compacted away.
    pub deleted: usize,
    /// Live person records.
    pub persons: usize,
    /// Live trace records.
    pub traces: usize,
    /// Keys stored, deleted records' included.
    pub keys: usize,
    /// Bytes of the shard, tombstone, secret and manifest files.
    pub bytes: u64,
}

/// Refuses a record whose (authority, reference) repeats within `records`
/// or is already in `existing`, and a record without a key.
fn check_records(records: &[KeyRecord], existing: &HashSet<(&str, &str)>) -> Result<()> {
    let mut seen = HashSet::with_capacity(records.len());
    for r in records {
        let key = (r.authority.as_str(), r.reference.as_str());
        let why = if existing.contains(&key) {
            "is already in the index"
        } else if !seen.insert(key) {
            "is given twice"
        } else if r.keys.is_empty() {
            "has no key"
        } else {
            continue;
        };
        return Err(Error::Invalid(format!("reference {} of authority {} {why}", r.reference, r.authority)));
    }
    Ok(())
}

/// Writes `records` as new shards of generation `m.generation` (split in
/// input order into `shard_count`), lists them in `m` and publishes it.
fn write_shards(dir: &Path, m: &mut Manifest, records: &[KeyRecord], shard_count: usize, secret: u64) -> Result<()> {
    if !records.is_empty() {
        let now = common::now();
        let per = common::per_shard(records.len(), shard_count, shard::MAX_RECORDS);
        let entries = records
            .par_chunks(per)
            .enumerate()
            .map(|(i, chunk)| {
                let file = format!("shard-{:06}-{i:06}.hdx", m.generation);
                shard::write(&dir.join(&file), m.category, chunk, secret, now)?;
                Ok(ShardEntry { file, profiles: chunk.len(), tombstones: None })
            })
            .collect::<Result<Vec<_>>>()?;
        m.shards.extend(entries);
    }
    common::publish(dir, m)
}

impl KeyIndex {
    /// Opens the index in `dir`, whatever its key-only category: reads the
    /// manifest and the secret, maps every shard (checking its header and
    /// that its keys were made with this secret) and reads the tombstones.
    /// The full checksum is [`verify`](Self::verify)'s job.
    ///
    /// # Errors
    /// `Io`, `Corrupt` (also for a secret the shards were not made with);
    /// `Invalid` for an index of a category that is not key-only.
    pub fn open(dir: &Path) -> Result<KeyIndex> {
        let manifest = Manifest::read(dir)?;
        let category = manifest.category;
        if !is_keyed(category) {
            return Err(Error::Invalid(format!("{} is an index of {} records, not of a key-only category", dir.display(), category.name())));
        }
        let secret = Secret::read(dir)?;
        let (shards, tombstones) = common::open_shards(dir, &manifest, |p| KeyShard::open(p, category), KeyShard::len)?;
        let fingerprint = secret.fingerprint();
        if let Some(s) = shards.iter().find(|s| s.secret_fingerprint() != fingerprint) {
            return Err(Error::corrupt(s.path(), format!("its keys were made with another secret than {}", dir.join(super::SECRET_FILE).display())));
        }
        Ok(KeyIndex { dir: dir.to_path_buf(), manifest, secret, shards, tombstones })
    }

    /// Opens the index in `dir`, refusing one of another category.
    ///
    /// # Errors
    /// As [`open`](Self::open); `Invalid` for another category.
    pub fn open_category(dir: &Path, category: Category) -> Result<KeyIndex> {
        let index = KeyIndex::open(dir)?;
        if index.category() != category {
            return Err(Error::Invalid(format!("{} is an index of {} records, not {}", dir.display(), index.category().name(), category.name())));
        }
        Ok(index)
    }

    /// Builds a new index of `category` in `dir` from `records` whose keys
    /// were made with `secret`, split in input order into `shard_count`
    /// shards; writes the secret into the directory. Refuses a directory
    /// that holds an index, a record without a key and a repeated
    /// (authority, reference).
    ///
    /// # Errors
    /// `Invalid` as above, for no records or a category that is not
    /// key-only; I/O errors.
    pub fn build(dir: &Path, category: Category, secret: &Secret, records: &[KeyRecord], shard_count: usize) -> Result<KeyIndex> {
        if !is_keyed(category) {
            return Err(Error::Invalid(format!("{} is not a key-only category", category.name())));
        }
        let _lock = common::start_build(dir, records.len(), "records")?;
        check_records(records, &HashSet::new())?;
        secret.write(dir)?;
        let mut m = Manifest { category, generation: 1, shards: Vec::new() };
        write_shards(dir, &mut m, records, shard_count, secret.fingerprint())?;
        KeyIndex::open(dir)
    }

    /// Adds `records` (keys made with `secret`, the index's) as one new
    /// shard. A reference already live in the index is refused.
    ///
    /// # Errors
    /// `Invalid` for another secret, a repeated reference, a record without
    /// a key or no records; I/O errors.
    pub fn add(dir: &Path, secret: &Secret, records: &[KeyRecord]) -> Result<KeyIndex> {
        let _lock = WriterLock::take(dir)?;
        let index = KeyIndex::open(dir)?;
        if records.is_empty() {
            return Err(Error::Invalid("no records to add".into()));
        }
        if *secret != index.secret {
            return Err(Error::Invalid(format!("the records' keys were not made with the secret of {}", dir.display())));
        }
        check_records(records, &common::live_keys(&index.shards, &index.tombstones)?)?;
        let mut m = index.manifest.clone();
        m.generation += 1;
        write_shards(dir, &mut m, records, 1, secret.fingerprint())?;
        drop(index);
        KeyIndex::open(dir)
    }

    /// Tombstones every live record named by `keys`. Returns how many were
    /// deleted and the keys that matched nothing.
    ///
    /// # Errors
    /// I/O errors; `Corrupt` if a shard cannot be read.
    pub fn delete(dir: &Path, keys: &[RecordKey]) -> Result<(usize, Vec<RecordKey>)> {
        let _lock = WriterLock::take(dir)?;
        let index = KeyIndex::open(dir)?;
        common::delete_records(dir, &index.manifest, &index.shards, &index.tombstones, keys)
    }

    /// Rewrites the live records into `shard_count` shards (or as many as
    /// now), dropping deleted ones, then removes files no longer listed.
    ///
    /// # Errors
    /// I/O errors; `Corrupt` if a shard cannot be read.
    pub fn compact(dir: &Path, shard_count: Option<usize>) -> Result<KeyIndex> {
        let _lock = WriterLock::take(dir)?;
        let index = KeyIndex::open(dir)?;
        let mut live = Vec::with_capacity(index.live());
        for (s, tomb) in index.shards.iter().zip(&index.tombstones) {
            let mut records: Vec<Option<KeyRecord>> = (0..s.len())
                .map(|id| {
                    Ok((!tomb[id]).then_some(KeyRecord {
                        reference: s.reference(id)?.to_string(),
                        authority: s.authority(id)?.to_string(),
                        kind: s.kind(id),
                        keys: Vec::new(),
                        added: s.added(id),
                    }))
                })
                .collect::<Result<_>>()?;
            for i in 0..s.entries() {
                let (key, id) = s.entry(i);
                match records.get_mut(id) {
                    Some(Some(r)) => r.keys.push(key),
                    Some(None) => {}
                    None => return Err(Error::corrupt(s.path(), format!("key {i} names no record"))),
                }
            }
            live.extend(records.into_iter().flatten());
        }
        let mut m = Manifest { shards: Vec::new(), ..index.manifest.clone() };
        m.generation += 1;
        let shards = shard_count.unwrap_or(index.shards.len());
        let fingerprint = index.secret.fingerprint();
        drop(index);
        write_shards(dir, &mut m, &live, shards, fingerprint)?;
        common::remove_unlisted(dir, &m);
        KeyIndex::open(dir)
    }

    /// The category of the index.
    pub fn category(&self) -> Category {
        self.manifest.category
    }

    /// The index's secret, to make the keys of records to add.
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The key of a normalised value, refusing a value of another
    /// category's field (a phone number asked of a vehicle index).
    ///
    /// # Errors
    /// `Invalid` for a field of another category.
    pub fn key(&self, value: &Value) -> Result<Key> {
        if value.field.category() != self.category() {
            return Err(Error::Invalid(format!("a {} value cannot be searched in a {} index", value.field.tag(), self.category().name())));
        }
        Ok(self.secret.key(value))
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The shards, in manifest order.
    pub fn shards(&self) -> &[KeyShard] {
        &self.shards
    }

    /// Live (not deleted) records.
    pub fn live(&self) -> usize {
        self.tombstones.iter().map(|t| t.count_zeros()).sum()
    }

    /// Full integrity check of every shard.
    ///
    /// # Errors
    /// `Corrupt` naming the first damaged file.
    pub fn verify(&self) -> Result<()> {
        self.shards.par_iter().try_for_each(KeyShard::verify)
    }

    /// Counts for `index stats`.
    pub fn stats(&self) -> KeyStats {
        let mut s = KeyStats { shards: self.shards.len(), records: self.manifest.profiles(), ..KeyStats::default() };
        for (shard, tomb) in self.shards.iter().zip(&self.tombstones) {
            s.deleted += tomb.count_ones();
            s.keys += shard.entries();
            s.bytes += shard.bytes() as u64;
            for id in tomb.iter_zeros() {
                match shard.kind(id) {
                    Kind::Person => s.persons += 1,
                    Kind::Trace => s.traces += 1,
                }
            }
        }
        let files = self.manifest.shards.iter().filter_map(|e| e.tombstones.as_deref()).chain([manifest::FILE, super::SECRET_FILE]);
        s.bytes += files.map(|f| std::fs::metadata(self.dir.join(f)).map_or(0, |m| m.len())).sum::<u64>();
        s
    }

    /// The live records with `key`, sorted by authority and reference.
    ///
    /// # Errors
    /// `Corrupt` if a hit's reference data cannot be read.
    pub fn search_one(&self, key: &Key) -> Result<Vec<KeyHit>> {
        self.search_any(std::slice::from_ref(key))
    }

    /// The live records with any of `keys` (a vehicle asked for by plate
    /// and VIN), each once, sorted by authority and reference.
    ///
    /// # Errors
    /// `Corrupt` if a hit's reference data cannot be read.
    pub fn search_any(&self, keys: &[Key]) -> Result<Vec<KeyHit>> {
        let mut hits = Vec::new();
        for (shard, tomb) in self.shards.iter().zip(&self.tombstones) {
            for key in keys {
                for id in shard.lookup(key) {
                    if !tomb.get(id).is_some_and(|b| *b) {
                        hits.push(KeyHit { authority: shard.authority(id)?.to_string(), reference: shard.reference(id)?.to_string() });
                    }
                }
            }
        }
        hits.sort_unstable();
        hits.dedup();
        Ok(hits)
    }

    /// One answer per key, in order, searched in parallel: the live records
    /// with that key, sorted by authority and reference.
    ///
    /// # Errors
    /// `Corrupt` if a hit's reference data cannot be read.
    pub fn search(&self, keys: &[Key]) -> Result<Vec<Vec<KeyHit>>> {
        keys.par_iter().map(|k| self.search_one(k)).collect()
    }

    /// One answer per query, in order, searched in parallel; a query of
    /// several keys hits what any of them hits ([`search_any`](Self::search_any)).
    ///
    /// # Errors
    /// `Corrupt` if a hit's reference data cannot be read.
    pub fn search_queries(&self, queries: &[Vec<Key>]) -> Result<Vec<Vec<KeyHit>>> {
        queries.par_iter().map(|q| self.search_any(q)).collect()
    }
}

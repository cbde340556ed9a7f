//! The index: a directory of immutable shards, their tombstones and the
//! manifest that names them; and the search over all of it.
//!
//! - [`shard`]: one memory-mapped shard file (profiles, reference data, keys).
//! - [`keys`]: the candidate keys and the argument that no hit is lost.
//! - [`tombstones`]: deletions applied at query time.
//! - [`manifest`]: the list of live files, replaced atomically.
//! - [`search`]: single queries and batches over all shards in parallel.
//!
//! Writers never modify a file in place: they write new files, then replace
//! the manifest by write-then-rename, holding an exclusive lock on
//! `DIR/LOCK` so two writers cannot interleave. Readers ([`Index::open`])
//! take no lock: they see the manifest before or after a change, never half.

pub mod container;
pub mod keys;
pub mod manifest;
pub mod search;
pub mod shard;
pub mod tombstones;

use std::collections::HashSet;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rayon::prelude::*;

use crate::dna::{Kind, Profile};
use container::Category;
use crate::{Error, Result};
use manifest::{Manifest, ShardEntry};
use shard::{Record, Shard};
use tombstones::Tombstones;

/// An open index: every shard mapped, every tombstone file read.
#[derive(Debug)]
pub struct Index {
    dir: PathBuf,
    manifest: Manifest,
    shards: Vec<Shard>,
    tombstones: Vec<Tombstones>,
}

/// A reference to delete: the reference number, and optionally the
/// authority holding it (references are unique only within an authority).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordKey {
    /// Designated authority, or `None` for any authority.
    pub authority: Option<String>,
    /// Reference number.
    pub reference: String,
}

/// Figures of `index stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Shard files.
    pub shards: usize,
    /// Profiles stored, deleted ones included.
    pub profiles: usize,
    /// Profiles deleted (tombstoned) and not yet compacted away.
    pub deleted: usize,
    /// Live person profiles.
    pub persons: usize,
    /// Live trace profiles.
    pub traces: usize,
    /// Classes (typed-loci patterns) summed over shards.
    pub classes: usize,
    /// Bytes of all shard and tombstone files and the manifest.
    pub bytes: u64,
}

impl Index {
    /// Opens the index in `dir`: reads the manifest, maps every shard and
    /// checks its header, and reads the tombstones. Parses no profile and
    /// copies nothing; the full checksum is [`verify`](Self::verify)'s job.
    ///
    /// # Errors
    /// `Io` if a file is missing or unreadable, `Corrupt` if a check fails.
    pub fn open(dir: &Path) -> Result<Index> {
        let manifest = Manifest::read_category(dir, Category::Dna)?;
        let (shards, tombstones) = open_shards(dir, &manifest, Shard::open, Shard::len)?;
        Ok(Index { dir: dir.to_path_buf(), manifest, shards, tombstones })
    }

    /// Builds a new index of `profiles` in `dir` with `shard_count` shards
    /// (profiles are split in input order). Refuses a directory that already
    /// holds an index.
    ///
    /// # Errors
    /// `Invalid` if `dir` holds an index, `profiles` is empty or a reference
    /// repeats; I/O errors.
    pub fn build(dir: &Path, profiles: &[Profile], shard_count: usize) -> Result<Index> {
        let _lock = start_build(dir, profiles.len(), "profiles")?;
        check_unique(profiles, &HashSet::new())?;
        let per = per_shard(profiles.len(), shard_count, shard::MAX_PROFILES);
        let now = now();
        // Shards are written in parallel (each is also built in parallel
        // inside; much of its build is sequential).
        let entries = profiles
            .par_chunks(per)
            .enumerate()
            .map(|(i, chunk)| write_new_shard(dir, 1, i, chunk.iter().map(|p| Record { profile: p, added: now as u32 }), now))
            .collect::<Result<Vec<_>>>()?;
        publish(dir, &Manifest { category: Category::Dna, generation: 1, shards: entries })?;
        Index::open(dir)
    }

    /// Adds `profiles` to the index in `dir` as one new shard (a nightly
    /// delta). References already live in the index are refused.
    ///
    /// # Errors
    /// `Invalid` on a repeated reference or an empty input; I/O errors.
    pub fn add(dir: &Path, profiles: &[Profile]) -> Result<Index> {
        let _lock = WriterLock::take(dir)?;
        let index = Index::open(dir)?;
        if profiles.is_empty() {
            return Err(Error::Invalid("no profiles to add".into()));
        }
        check_unique(profiles, &live_keys(&index.shards, &index.tombstones)?)?;
        let mut m = index.manifest.clone();
        m.generation += 1;
        let now = now();
        for (number, chunk) in profiles.chunks(shard::MAX_PROFILES).enumerate() {
            let records = chunk.iter().map(|p| Record { profile: p, added: now as u32 });
            m.shards.push(write_new_shard(dir, m.generation, number, records, now)?);
        }
        drop(index);
        publish(dir, &m)?;
        Index::open(dir)
    }

    /// Tombstones every live profile matching one of `keys`. Returns how many
    /// profiles were deleted and the keys that matched nothing.
    ///
    /// # Errors
    /// I/O errors; `Corrupt` if a shard cannot be read.
    pub fn delete(dir: &Path, keys: &[RecordKey]) -> Result<(usize, Vec<RecordKey>)> {
        let _lock = WriterLock::take(dir)?;
        let index = Index::open(dir)?;
        delete_records(dir, &index.manifest, &index.shards, &index.tombstones, keys)
    }

    /// Rewrites the live profiles into `shard_count` new shards (or as many
    /// as now), dropping deleted ones, then removes files no longer listed.
    ///
    /// # Errors
    /// I/O errors; `Corrupt` if a shard cannot be read.
    pub fn compact(dir: &Path, shard_count: Option<usize>) -> Result<Index> {
        let _lock = WriterLock::take(dir)?;
        let index = Index::open(dir)?;
        let mut live: Vec<(Profile, u32)> = Vec::with_capacity(index.live());
        for (shard, tomb) in index.shards.iter().zip(&index.tombstones) {
            let ids: Vec<usize> = tomb.iter_zeros().collect();
            let profiles = ids.par_iter().map(|&id| Ok((shard.profile(id)?, shard.added(id)))).collect::<Result<Vec<_>>>()?;
            live.extend(profiles);
        }
        let mut m = Manifest { category: Category::Dna, generation: index.manifest.generation + 1, shards: Vec::new() };
        let k = shard_count.unwrap_or(index.shards.len()).clamp(1, live.len().max(1));
        let per = live.len().div_ceil(k).max(1);
        let now = now();
        for (i, chunk) in live.chunks(per).enumerate() {
            let records = chunk.iter().map(|(p, added)| Record { profile: p, added: *added });
            m.shards.push(write_new_shard(dir, m.generation, i, records, now)?);
        }
        drop(index);
        publish(dir, &m)?;
        remove_unlisted(dir, &m);
        Index::open(dir)
    }

    /// Full integrity check: every shard's checksum and offsets.
    ///
    /// # Errors
    /// `Corrupt` naming the first damaged file.
    pub fn verify(&self) -> Result<()> {
        self.shards.par_iter().try_for_each(Shard::verify)
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The shards, in manifest order.
    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }

    /// The tombstones of shard `i`.
    pub fn tombstones(&self, i: usize) -> &Tombstones {
        &self.tombstones[i]
    }

    /// Live (not deleted) profiles.
    pub fn live(&self) -> usize {
        self.tombstones.iter().map(|t| t.count_zeros()).sum()
    }

    /// Counts for `index stats`.
    pub fn stats(&self) -> Stats {
        let mut s = Stats { shards: self.shards.len(), profiles: self.manifest.profiles(), ..Stats::default() };
        for (shard, tomb) in self.shards.iter().zip(&self.tombstones) {
            s.deleted += tomb.count_ones();
            s.classes += shard.classes().len();
            s.bytes += shard.bytes() as u64;
            for id in tomb.iter_zeros() {
                match shard.kind(id) {
                    Kind::Person => s.persons += 1,
                    Kind::Trace => s.traces += 1,
                }
            }
        }
        for entry in &self.manifest.shards {
            if let Some(t) = &entry.tombstones {
                s.bytes += std::fs::metadata(self.dir.join(t)).map_or(0, |m| m.len());
            }
        }
        s.bytes += std::fs::metadata(self.dir.join(manifest::FILE)).map_or(0, |m| m.len());
        s
    }
}

/// What deletion needs of a shard of any category: its records'
/// reference data.
pub(crate) trait Records: Sync {
    /// Reference number of record `id`.
    fn reference(&self, id: usize) -> Result<&str>;
    /// Authority of record `id`.
    fn authority(&self, id: usize) -> Result<&str>;
}

impl Records for Shard {
    fn reference(&self, id: usize) -> Result<&str> {
        Shard::reference(self, id)
    }
    fn authority(&self, id: usize) -> Result<&str> {
        Shard::authority(self, id)
    }
}

/// The (authority, reference) of every live record of `shards`.
///
/// # Errors
/// `Corrupt` if a shard cannot be read.
pub(crate) fn live_keys<'a, S: Records>(shards: &'a [S], tombstones: &[Tombstones]) -> Result<HashSet<(&'a str, &'a str)>> {
    let mut live = HashSet::new();
    for (shard, tomb) in shards.iter().zip(tombstones) {
        for id in tomb.iter_zeros() {
            live.insert((shard.authority(id)?, shard.reference(id)?));
        }
    }
    Ok(live)
}

/// Tombstones every live record of `shards` matching one of `keys` (the
/// caller holds the writer lock): new tombstone files, then the manifest.
/// Returns how many records were deleted and the keys that matched nothing.
pub(crate) fn delete_records<S: Records>(
    dir: &Path,
    manifest: &Manifest,
    shards: &[S],
    tombstones: &[Tombstones],
    keys: &[RecordKey],
) -> Result<(usize, Vec<RecordKey>)> {
    let wanted: HashSet<&str> = keys.iter().map(|k| k.reference.as_str()).collect();
    let mut found = HashSet::new();
    let mut m = manifest.clone();
    m.generation += 1;
    let mut deleted = 0;
    for (i, (shard, tomb)) in shards.iter().zip(tombstones).enumerate() {
        let mut bits = tomb.clone();
        let mut changed = false;
        for id in tomb.iter_zeros() {
            let reference = shard.reference(id)?;
            if !wanted.contains(reference) {
                continue;
            }
            let authority = shard.authority(id)?;
            let hit = keys.iter().find(|k| k.reference == reference && k.authority.as_deref().is_none_or(|a| a == authority));
            if let Some(k) = hit {
                bits.set(id, true);
                found.insert(k.clone());
                changed = true;
                deleted += 1;
            }
        }
        if changed {
            let name = format!("del-{:06}-{:06}.tomb", m.generation, i);
            tombstones::write(&dir.join(&name), &bits)?;
            m.shards[i].tombstones = Some(name);
        }
    }
    let missing = keys.iter().filter(|k| !found.contains(*k)).cloned().collect();
    if deleted > 0 {
        publish(dir, &m)?;
        remove_unlisted(dir, &m);
    }
    Ok((deleted, missing))
}

/// Refuses a profile whose (authority, reference) repeats within `profiles`
/// or is already in `existing`.
fn check_unique(profiles: &[Profile], existing: &HashSet<(&str, &str)>) -> Result<()> {
    let mut seen = HashSet::with_capacity(profiles.len());
    for p in profiles {
        let key = (p.authority.as_str(), p.reference.as_str());
        if existing.contains(&key) || !seen.insert(key) {
            return Err(Error::Invalid(format!(
                "reference {} of authority {} is already in the index",
                p.reference, p.authority
            )));
        }
    }
    Ok(())
}

fn write_new_shard<'a>(
    dir: &Path,
    generation: u64,
    i: usize,
    records: impl Iterator<Item = Record<'a>>,
    created: u64,
) -> Result<ShardEntry> {
    let records: Vec<Record<'a>> = records.collect();
    let file = format!("shard-{generation:06}-{i:06}.hdx");
    shard::write(&dir.join(&file), &records, created)?;
    Ok(ShardEntry { file, profiles: records.len(), tombstones: None })
}

/// Starts building a new index of `records` records in `dir`: creates the
/// directory and takes the writer lock, refusing a directory that already
/// holds an index and an empty input (`what` names the records).
pub(crate) fn start_build(dir: &Path, records: usize, what: &str) -> Result<WriterLock> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let lock = WriterLock::take(dir)?;
    if dir.join(manifest::FILE).exists() {
        return Err(Error::Invalid(format!("{} already holds an index; use `index add` to add {what}", dir.display())));
    }
    if records == 0 {
        return Err(Error::Invalid(format!("no {what} to index")));
    }
    Ok(lock)
}

/// Makes `m` the index in `dir`: the new files it names are made durable
/// first, then the manifest is replaced, then that rename is made durable.
pub(crate) fn publish(dir: &Path, m: &Manifest) -> Result<()> {
    sync_dir(dir)?;
    m.write(dir)?;
    sync_dir(dir)
}

/// Maps the shards `manifest` lists (with `open`, in parallel), checks
/// each holds as many records (`len`) as listed, and reads the tombstones.
pub(crate) fn open_shards<S: Send>(
    dir: &Path,
    manifest: &Manifest,
    open: impl Fn(&Path) -> Result<S> + Sync,
    len: impl Fn(&S) -> usize + Sync,
) -> Result<(Vec<S>, Vec<Tombstones>)> {
    let opened: Vec<(S, Tombstones)> = manifest
        .shards
        .par_iter()
        .map(|entry| {
            let path = dir.join(&entry.file);
            let shard = open(&path)?;
            if len(&shard) != entry.profiles {
                return Err(Error::corrupt(&path, format!("holds {} records, the manifest says {}", len(&shard), entry.profiles)));
            }
            let tomb = match &entry.tombstones {
                Some(t) => tombstones::read(&dir.join(t), entry.profiles)?,
                None => Tombstones::repeat(false, entry.profiles),
            };
            Ok((shard, tomb))
        })
        .collect::<Result<_>>()?;
    Ok(opened.into_iter().unzip())
}

/// Records per shard when `records` are split into `shard_count` shards
/// (at least one, and more if a shard could not hold `max`).
pub(crate) fn per_shard(records: usize, shard_count: usize, max: usize) -> usize {
    let k = shard_count.max(1).max(records.div_ceil(max)).min(records.max(1));
    records.div_ceil(k).max(1)
}

/// Now, in Unix seconds (when records are added and shards written).
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Writes `bytes` to `path` under a temporary name, syncs, renames.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = container::temp_path(path);
    let mut f = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Makes renames inside `dir` durable.
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))
}

/// Removes shard and tombstone files the manifest no longer lists (and
/// temporary files of interrupted writers). Best effort: a file that cannot
/// be removed is only wasted space.
pub(crate) fn remove_unlisted(dir: &Path, m: &Manifest) {
    let listed: HashSet<&str> =
        m.shards.iter().flat_map(|s| std::iter::once(s.file.as_str()).chain(s.tombstones.as_deref())).collect();
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let ours = name.ends_with(".hdx") || name.ends_with(".tomb") || name.ends_with(".tmp");
        if ours && !listed.contains(name) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// An exclusive lock on `DIR/LOCK`, held by one writer at a time and
/// released by the operating system even if the process dies.
pub(crate) struct WriterLock {
    _file: File,
}

impl WriterLock {
    pub(crate) fn take(dir: &Path) -> Result<WriterLock> {
        let path = dir.join("LOCK");
        let f = File::options().create(true).truncate(false).write(true).open(&path).map_err(|e| Error::io(&path, e))?;
        match f.try_lock() {
            Ok(()) => Ok(WriterLock { _file: f }),
            Err(std::fs::TryLockError::WouldBlock) => {
                Err(Error::Invalid(format!("{}: another writer is changing this index; try again later", dir.display())))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }
}

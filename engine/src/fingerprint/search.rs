//! 1:N fingerprint search: an index directory of [`Gallery`] shards (same
//! manifest, tombstones and writer lock as every index), searched in
//! parallel over shards.
//!
//! A query is one finger (a latent, or one print) or several fingers of
//! one person (a ten-print card). For each query finger:
//!
//! 1. **Pre-filter** (unless the search is exhaustive): every live record
//!    whose finger position agrees (equal, or either unknown) gets the
//!    [`prefilter`]'s score (keys its cylinders share with the query's, at
//!    a consistent rotation); the `shortlist` best go on (ties at the cut
//!    by authority, reference and finger), whatever the shard count. The
//!    key weights count deleted records until compaction, so compacting
//!    can change a pre-filtered answer a little; exhaustive ones not.
//! 2. **Scoring**: the matcher's score of the query finger against each
//!    shortlisted record.
//!
//! Candidates are persons (authority and reference): a query finger counts
//! with the best score among the person's fingers, and the *fused* score
//! is the mean over the query's fingers (a finger with no score counts 0),
//! so a ten-print card scores between 0 and 1 like one finger. Candidates
//! at or above the threshold are ranked by fused score (ties by authority
//! and reference) and cut to the requested length.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::gallery::{self, FingerRecord, Gallery};
use super::{prefilter, score, Encoded};
use crate::index::container::Category;
use crate::index::manifest::{Manifest, ShardEntry};
use crate::index::tombstones::Tombstones;
use crate::index::{self as common, RecordKey, WriterLock};
use crate::{Error, Result};

/// Refuses a finger whose (authority, reference, position) repeats within
/// `records` or is already in `existing`.
fn check_unique(records: &[FingerRecord], existing: &HashSet<(&str, &str, u8)>) -> Result<()> {
    let mut seen = HashSet::with_capacity(records.len());
    for r in records {
        let key = (r.authority.as_str(), r.reference.as_str(), r.finger);
        let why = if existing.contains(&key) {
            "is already in the index"
        } else if !seen.insert(key) {
            "is given twice"
        } else {
            continue;
        };
        return Err(Error::Invalid(format!("finger {} of reference {} of authority {} {why}", r.finger, r.reference, r.authority)));
    }
    Ok(())
}

/// Writes `records` as new shards of generation `m.generation` (split in
/// input order into `shard_count`), lists them in `m` and writes it.
fn write_shards(dir: &Path, m: &mut Manifest, records: &[FingerRecord], shard_count: usize) -> Result<()> {
    if !records.is_empty() {
        let now = common::now();
        // One shard at a time: building one takes memory in proportion to it.
        for (i, chunk) in records.chunks(common::per_shard(records.len(), shard_count, gallery::MAX_RECORDS)).enumerate() {
            let file = format!("shard-{:06}-{i:06}.hdx", m.generation);
            gallery::write(&dir.join(&file), chunk, now)?;
            m.shards.push(ShardEntry { file, profiles: chunk.len(), tombstones: None });
        }
    }
    common::publish(dir, m)
}

thread_local! {
    /// Pre-filter votes of one shard's records, per rotation bin.
    static VOTES: std::cell::RefCell<Vec<[f32; prefilter::ROTATION_BINS]>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Per query finger, the best `(finger, score)` of one person.
type PerFinger = Vec<Option<(u8, f32)>>;

/// An open fingerprint index.
#[derive(Debug)]
pub struct FingerIndex {
    dir: PathBuf,
    manifest: Manifest,
    shards: Vec<Gallery>,
    tombstones: Vec<Tombstones>,
}

/// One finger of a query.
#[derive(Debug, Clone)]
pub struct QueryFinger {
    /// Finger position, 1–10, 0 unknown (compared with every finger).
    pub finger: u8,
    /// The encoded template.
    pub template: Encoded,
}

/// Records scored per query finger after the pre-filter when the caller
/// does not say (`hitdex search fingerprint`'s default, and the node's).
pub const DEFAULT_SHORTLIST: usize = 2000;

/// How to search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchParams {
    /// Most candidates returned.
    pub top: usize,
    /// Lowest fused score returned.
    pub threshold: f32,
    /// Records scored per query finger after the pre-filter; `None` scores
    /// every record (exhaustive).
    pub shortlist: Option<usize>,
}

/// A candidate person.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Reference number.
    pub reference: String,
    /// Authority holding the record.
    pub authority: String,
    /// Fused score, `0..=1`.
    pub score: f32,
    /// Per query finger (in query order): the best-scoring finger of this
    /// person and its score, if any was scored.
    pub fingers: Vec<Option<(u8, f32)>>,
}

/// Figures of `index stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FingerStats {
    /// Shard files.
    pub shards: usize,
    /// Finger records stored, deleted ones included.
    pub records: usize,
    /// Records deleted and not yet compacted away.
    pub deleted: usize,
    /// Cylinders of live records.
    pub cylinders: usize,
    /// Bytes of the shard, tombstone and manifest files.
    pub bytes: u64,
}

impl FingerIndex {
    /// Opens the fingerprint index in `dir` (maps every shard, reads the
    /// tombstones; the full checksum is [`verify`](Self::verify)'s job).
    ///
    /// # Errors
    /// `Io`, `Corrupt`; `Invalid` for an index of another category.
    pub fn open(dir: &Path) -> Result<FingerIndex> {
        let manifest = Manifest::read_category(dir, Category::Fingerprint)?;
        let (shards, tombstones) = common::open_shards(dir, &manifest, Gallery::open, Gallery::len)?;
        Ok(FingerIndex { dir: dir.to_path_buf(), manifest, shards, tombstones })
    }

    /// Builds a new index of `records` in `dir`, split in input order into
    /// `shard_count` shards. Refuses a directory that holds an index and a
    /// finger stored twice (same authority, reference and position).
    ///
    /// # Errors
    /// `Invalid` as above or for no records; I/O errors.
    pub fn build(dir: &Path, records: &[FingerRecord], shard_count: usize) -> Result<FingerIndex> {
        let _lock = common::start_build(dir, records.len(), "finger records")?;
        check_unique(records, &HashSet::new())?;
        let mut m = Manifest { category: Category::Fingerprint, generation: 1, shards: Vec::new() };
        write_shards(dir, &mut m, records, shard_count)?;
        FingerIndex::open(dir)
    }

    /// Adds `records` as one new shard (a nightly delta). A finger already
    /// live in the index is refused.
    ///
    /// # Errors
    /// `Invalid` on a repeated finger or no records; I/O errors.
    pub fn add(dir: &Path, records: &[FingerRecord]) -> Result<FingerIndex> {
        let _lock = WriterLock::take(dir)?;
        let index = FingerIndex::open(dir)?;
        if records.is_empty() {
            return Err(Error::Invalid("no finger records to add".into()));
        }
        let mut live = HashSet::new();
        for (g, tomb) in index.shards.iter().zip(&index.tombstones) {
            for id in tomb.iter_zeros() {
                live.insert((g.authority(id)?, g.reference(id)?, g.finger(id)));
            }
        }
        check_unique(records, &live)?;
        let mut m = index.manifest.clone();
        m.generation += 1;
        write_shards(dir, &mut m, records, 1)?;
        drop(index);
        FingerIndex::open(dir)
    }

    /// Tombstones every finger of the persons (or traces) named by `keys`.
    /// Returns how many finger records were deleted and the keys that
    /// matched nothing.
    ///
    /// # Errors
    /// I/O errors; `Corrupt` if a shard cannot be read.
    pub fn delete(dir: &Path, keys: &[RecordKey]) -> Result<(usize, Vec<RecordKey>)> {
        let _lock = WriterLock::take(dir)?;
        let index = FingerIndex::open(dir)?;
        common::delete_records(dir, &index.manifest, &index.shards, &index.tombstones, keys)
    }

    /// Rewrites the live records into `shard_count` shards (or as many as
    /// now), dropping deleted ones, then removes files no longer listed.
    ///
    /// # Errors
    /// I/O errors; `Corrupt` if a shard cannot be read.
    pub fn compact(dir: &Path, shard_count: Option<usize>) -> Result<FingerIndex> {
        let _lock = WriterLock::take(dir)?;
        let index = FingerIndex::open(dir)?;
        let mut live = Vec::with_capacity(index.live());
        for (g, tomb) in index.shards.iter().zip(&index.tombstones) {
            let ids: Vec<usize> = tomb.iter_zeros().collect();
            live.extend(ids.par_iter().map(|&id| g.record(id)).collect::<Result<Vec<_>>>()?);
        }
        let mut m = Manifest { shards: Vec::new(), ..index.manifest.clone() };
        m.generation += 1;
        let shards = shard_count.unwrap_or(index.shards.len());
        drop(index);
        write_shards(dir, &mut m, &live, shards)?;
        common::remove_unlisted(dir, &m);
        FingerIndex::open(dir)
    }

    /// The index directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The shards, in manifest order.
    pub fn shards(&self) -> &[Gallery] {
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
        self.shards.par_iter().try_for_each(Gallery::verify)
    }

    /// Counts for `index stats`.
    pub fn stats(&self) -> FingerStats {
        let mut s = FingerStats { shards: self.shards.len(), records: self.manifest.profiles(), ..FingerStats::default() };
        for (shard, tomb) in self.shards.iter().zip(&self.tombstones) {
            s.deleted += tomb.count_ones();
            s.bytes += shard.bytes() as u64;
            s.cylinders += tomb.iter_zeros().map(|id| shard.cylinder_count(id)).sum::<usize>();
        }
        let files = self.manifest.shards.iter().filter_map(|e| e.tombstones.as_deref()).chain([crate::index::manifest::FILE]);
        s.bytes += files.map(|f| std::fs::metadata(self.dir.join(f)).map_or(0, |m| m.len())).sum::<u64>();
        s
    }

    /// The candidates for a query of one or more fingers (see the module
    /// documentation), best first.
    ///
    /// # Errors
    /// `Corrupt` if a shortlisted record cannot be read.
    pub fn search(&self, query: &[QueryFinger], params: &SearchParams) -> Result<Vec<Candidate>> {
        // (authority, reference) → per query finger, the best (finger, score).
        let mut persons: HashMap<(String, String), PerFinger> = HashMap::new();
        for (q, finger) in query.iter().enumerate() {
            let scored = self
                .shortlist(finger, params.shortlist)
                .into_par_iter()
                .map(|(shard, id)| {
                    let g = &self.shards[shard];
                    Ok((shard, id, score(&finger.template, &g.template(id)?)))
                })
                .collect::<Result<Vec<_>>>()?;
            for (shard, id, s) in scored {
                let g = &self.shards[shard];
                let key = (g.authority(id)?.to_string(), g.reference(id)?.to_string());
                let slot = &mut persons.entry(key).or_insert_with(|| vec![None; query.len()])[q];
                let f = g.finger(id);
                // The best finger; equal scores go to the lower position.
                if slot.is_none_or(|(bf, bs)| s > bs || (s == bs && f < bf)) {
                    *slot = Some((f, s));
                }
            }
        }
        let n = query.len().max(1) as f32;
        let mut out: Vec<Candidate> = persons
            .into_iter()
            .map(|((authority, reference), fingers)| {
                let score = fingers.iter().flatten().map(|f| f.1).sum::<f32>() / n;
                Candidate { reference, authority, score, fingers }
            })
            .filter(|c| c.score >= params.threshold)
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.authority.cmp(&b.authority)).then_with(|| a.reference.cmp(&b.reference)));
        out.truncate(params.top);
        Ok(out)
    }

    /// The records to score for one query finger: `(shard, id)`.
    fn shortlist(&self, q: &QueryFinger, limit: Option<usize>) -> Vec<(usize, usize)> {
        let eligible = |shard: usize, id: usize| {
            let f = self.shards[shard].finger(id);
            !self.tombstones[shard][id] && (q.finger == 0 || f == 0 || f == q.finger)
        };
        let Some(limit) = limit else {
            return (0..self.shards.len()).flat_map(|s| (0..self.shards[s].len()).filter(move |&id| eligible(s, id)).map(move |id| (s, id))).collect();
        };
        // Each key of each query cylinder, with the query minutia's
        // direction and the key's weight: rare keys say more (an inverse
        // document frequency over the whole index, so the same in every
        // shard layout); the commonest are not read at all.
        let records = self.manifest.profiles().max(1) as f32;
        let mut keys: Vec<(u8, u64, f32)> = Vec::new();
        for i in 0..q.template.len() {
            let mut k = Vec::new();
            prefilter::keys(&q.template.lanes().cylinder(i), &mut k);
            let direction = prefilter::direction_code(q.template.points[i].angle);
            for key in k {
                let postings: usize = self.shards.iter().map(|g| g.postings(key).len() / 4).sum();
                let weight = (records / postings.max(1) as f32).ln();
                if weight > prefilter::MIN_KEY_WEIGHT {
                    keys.push((direction, key, weight));
                }
            }
        }
        const BINS: usize = prefilter::ROTATION_BINS;
        let mut voted: Vec<(f32, usize, usize)> = (0..self.shards.len())
            .into_par_iter()
            .flat_map_iter(|s| {
                let g = &self.shards[s];
                VOTES.with_borrow_mut(|votes| {
                    // Reused from query to query; only touched rows are reset.
                    if votes.len() < g.len() {
                        votes.resize(g.len(), [0.0; BINS]);
                    }
                    let mut touched = Vec::new();
                    for &(direction, key, weight) in &keys {
                        for p in g.postings(key).chunks_exact(4) {
                            let p = u32::from_le_bytes(p.try_into().expect("4 bytes"));
                            let id = (p >> 8) as usize;
                            let Some(v) = votes[..g.len()].get_mut(id) else { continue };
                            if *v == [0.0; BINS] {
                                touched.push(id);
                            }
                            v[prefilter::rotation_bin(p as u8, direction)] += weight;
                        }
                    }
                    touched
                        .into_iter()
                        .filter_map(|id| {
                            let v = std::mem::replace(&mut votes[id], [0.0; BINS]);
                            let best = (0..BINS).map(|b| v[b] + v[(b + 1) % BINS]).fold(0.0, f32::max);
                            eligible(s, id).then(|| (best / g.cylinder_count(id).max(1) as f32, s, id))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        if voted.len() > limit {
            // The best `limit`; among records tied at the cut, those first
            // by (authority, reference, finger), so that neither the shard
            // count nor the selection order changes the answer.
            let by_score = |a: &(f32, usize, usize), b: &(f32, usize, usize)| b.0.total_cmp(&a.0);
            voted.select_nth_unstable_by(limit.max(1) - 1, by_score);
            let last = voted[limit.max(1) - 1].0;
            let above = voted[..limit].iter().filter(|v| v.0 > last).count();
            let mut tied: Vec<(f32, usize, usize)> = voted.iter().filter(|v| v.0 == last).copied().collect();
            let key = |&(_, s, id): &(f32, usize, usize)| {
                let g = &self.shards[s];
                (g.authority(id).unwrap_or_default(), g.reference(id).unwrap_or_default(), g.finger(id))
            };
            tied.sort_by(|a, b| key(a).cmp(&key(b)));
            voted.retain(|v| v.0 > last);
            debug_assert_eq!(voted.len(), above);
            voted.extend(tied.into_iter().take(limit - above));
        }
        voted.into_iter().map(|(_, s, id)| (s, id)).collect()
    }
}

//! 1:N fingerprint search: an index directory of [`Gallery`] shards (same
//! manifest, tombstones and writer lock as every index), searched in
//! parallel over shards.
//!
//! A query is one finger (a latent, or one print) or several fingers of
//! one person (a ten-print card). For each query finger:
//!
//! 1. **Pre-filter** (unless the search is exhaustive): every live record
//!    whose finger position agrees (equal, or either unknown) gets the
//!    votes of the [`prefilter`] — query cylinders that share a key with
//!    one of its cylinders — divided by the square root of its cylinder
//!    count; the `shortlist` best (and every record tied with the last)
//!    go on, whatever the shard count.
//! 2. **Scoring**: the matcher's score of the query finger against each
//!    shortlisted record.
//!
//! Candidates are persons (authority and reference): a query finger counts
//! with the best score among the person's fingers, and the *fused* score
//! is the mean over the query's fingers (a finger with no score counts 0),
//! so a ten-print card scores between 0 and 1 like one finger. Candidates
//! at or above the threshold are ranked by fused score (ties by authority
//! and reference) and cut to the requested length.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::gallery::{self, FingerRecord, Gallery};
use super::{prefilter, score, Encoded};
use crate::index::container::Category;
use crate::index::manifest::{Manifest, ShardEntry};
use crate::index::tombstones::{self, Tombstones};
use crate::index::{self as common, WriterLock};
use crate::{Error, Result};

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
    /// Bytes of the shard files and the manifest.
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
        let opened: Vec<(Gallery, Tombstones)> = manifest
            .shards
            .par_iter()
            .map(|entry| {
                let shard = Gallery::open(&dir.join(&entry.file))?;
                if shard.len() != entry.profiles {
                    return Err(Error::corrupt(shard.path(), format!("holds {} records, the manifest says {}", shard.len(), entry.profiles)));
                }
                let tomb = match &entry.tombstones {
                    Some(t) => tombstones::read(&dir.join(t), entry.profiles)?,
                    None => Tombstones::repeat(false, entry.profiles),
                };
                Ok((shard, tomb))
            })
            .collect::<Result<_>>()?;
        let (shards, tombstones) = opened.into_iter().unzip();
        Ok(FingerIndex { dir: dir.to_path_buf(), manifest, shards, tombstones })
    }

    /// Builds a new index of `records` in `dir`, split in input order into
    /// `shard_count` shards. Refuses a directory that holds an index and a
    /// finger stored twice (same authority, reference and position).
    ///
    /// # Errors
    /// `Invalid` as above or for no records; I/O errors.
    pub fn build(dir: &Path, records: &[FingerRecord], shard_count: usize) -> Result<FingerIndex> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let _lock = WriterLock::take(dir)?;
        if dir.join(crate::index::manifest::FILE).exists() {
            return Err(Error::Invalid(format!("{} already holds an index", dir.display())));
        }
        if records.is_empty() {
            return Err(Error::Invalid("no finger records to index".into()));
        }
        let mut seen = std::collections::HashSet::with_capacity(records.len());
        for r in records {
            if !seen.insert((r.authority.as_str(), r.reference.as_str(), r.finger)) {
                return Err(Error::Invalid(format!("finger {} of reference {} of authority {} is given twice", r.finger, r.reference, r.authority)));
            }
        }
        let per = records.len().div_ceil(shard_count.clamp(1, records.len())).max(records.len().div_ceil(gallery::MAX_RECORDS));
        let now = common::now();
        let entries = records
            .chunks(per)
            .enumerate()
            .map(|(i, chunk)| {
                let file = format!("shard-{:06}-{i:06}.hdx", 1);
                gallery::write(&dir.join(&file), chunk, now)?;
                Ok(ShardEntry { file, profiles: chunk.len(), tombstones: None })
            })
            .collect::<Result<Vec<_>>>()?;
        Manifest { category: Category::Fingerprint, generation: 1, shards: entries }.write(dir)?;
        common::sync_dir(dir)?;
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
        s.bytes += std::fs::metadata(self.dir.join(crate::index::manifest::FILE)).map_or(0, |m| m.len());
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
        let keys: Vec<Vec<u64>> = (0..q.template.len())
            .map(|i| {
                let mut k = Vec::new();
                prefilter::keys(&q.template.lanes().cylinder(i), &mut k);
                k
            })
            .collect();
        let mut voted: Vec<(f32, usize, usize)> = (0..self.shards.len())
            .into_par_iter()
            .flat_map_iter(|s| {
                let g = &self.shards[s];
                let (mut votes, mut stamp) = (vec![0u16; g.len()], vec![u16::MAX; g.len()]);
                for (c, keys) in keys.iter().enumerate() {
                    for &key in keys {
                        for p in g.postings(key).chunks_exact(4) {
                            let id = u32::from_le_bytes(p.try_into().expect("4 bytes")) as usize;
                            if let (Some(st), Some(v)) = (stamp.get_mut(id), votes.get_mut(id)) {
                                if *st != c as u16 {
                                    *st = c as u16;
                                    *v += 1;
                                }
                            }
                        }
                    }
                }
                votes
                    .into_iter()
                    .enumerate()
                    .filter(|&(id, v)| v > 0 && eligible(s, id))
                    .map(|(id, v)| (f32::from(v) / (g.cylinder_count(id).max(1) as f32).sqrt(), s, id))
                    .collect::<Vec<_>>()
            })
            .collect();
        if voted.len() > limit && limit > 0 {
            voted.select_nth_unstable_by(limit - 1, |a, b| b.0.total_cmp(&a.0));
            let last = voted[limit - 1].0;
            // Ties with the last one go too, so the shard count cannot
            // change the answer.
            let mut keep = limit;
            for i in limit..voted.len() {
                if voted[i].0 == last {
                    voted.swap(keep, i);
                    keep += 1;
                }
            }
            voted.truncate(keep);
        } else if limit == 0 {
            voted.clear();
        }
        voted.into_iter().map(|(_, s, id)| (s, id)).collect()
    }
}

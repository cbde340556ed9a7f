//! One immutable shard of finger records, in the sections of a
//! [`container`] (header fields: records, points, pre-filter buckets).
//!
//! A record is one finger of a person (or one trace): reference data
//! (reference, authority, kind, finger position, when added) and the
//! encoded template: its points (x, y, direction as `f32`) and cylinders
//! (four abreast, as the kernel reads them). The pair geometry is not
//! stored; it is recomputed for the few templates a search scores. The
//! pre-filter's posting table maps each key bucket to the records with a
//! cylinder of that key ([`super::prefilter`]): `id << 8 | direction`,
//! ascending, the direction that of the cylinder's minutia.
//!
//! Opening checks the container and the length of every section whose
//! length the header fixes (the string heaps, cylinders and postings only
//! for whole entries); accessors never index out of bounds on bytes that
//! have not been verified, and [`Gallery::verify`] checks every offset.

use std::path::Path;

use rayon::prelude::*;

use super::cylinder::Point;
use super::prefilter;
use super::matcher::Cylinders;
use super::Encoded;
use crate::dna::Kind;
use crate::index::container::{self, authority_at, string_at, u32_at, Authorities, Category, Header, Mapped, Strings};
use crate::index::shard::bucket_in;
use crate::kernels::fingerprint::{Lanes, STRIDE};
use crate::{Error, Result};

/// Records per shard (a posting keeps an id in 24 bits, and a shard's
/// postings, about 1,700 a record, are counted in `u32`; an index of more
/// fingers has more shards).
pub const MAX_RECORDS: usize = 1 << 21;
/// Bytes of one stored point: x, y, direction.
const POINT_BYTES: usize = 12;
/// Bytes of one row of a block of four cylinders.
const ROW_BYTES: usize = 32;

#[derive(Debug, Clone, Copy)]
enum Section {
    RefOffsets,
    RefHeap,
    AuthorityIds,
    AuthOffsets,
    AuthHeap,
    Kinds,
    Fingers,
    Added,
    PointStarts,
    BlockStarts,
    Points,
    Lanes,
    Buckets,
    Postings,
}
const SECTIONS: usize = 14;

/// One finger to store.
#[derive(Debug, Clone)]
pub struct FingerRecord {
    /// Reference number (shared by the fingers of one person).
    pub reference: String,
    /// Designated authority holding the full record.
    pub authority: String,
    /// Person (reference prints) or trace (a latent).
    pub kind: Kind,
    /// ISO/IEC 19794-2 finger position: 1–10, 0 unknown.
    pub finger: u8,
    /// The template's cylinders.
    pub template: Cylinders,
    /// When it was added (Unix seconds).
    pub added: u32,
}

/// Writes one shard of `records` (temporary name, sync, rename).
///
/// # Errors
/// I/O errors; `Invalid` beyond [`MAX_RECORDS`], 65,536 authorities, for
/// inconsistent cylinders or more postings than a shard can count.
pub fn write(path: &Path, records: &[FingerRecord], created: u64) -> Result<()> {
    let n = records.len();
    if n > MAX_RECORDS {
        return Err(Error::Invalid(format!("a fingerprint shard holds at most {MAX_RECORDS} records, got {n}")));
    }
    if let Some(r) = records.iter().find(|r| !r.template.is_consistent()) {
        return Err(Error::Invalid(format!("finger {} of reference {}: inconsistent cylinders", r.finger, r.reference)));
    }
    let mut refs = Strings::default();
    let mut auths = Authorities::default();
    let mut authority_ids = Vec::with_capacity(n * 2);
    let (mut kinds, mut fingers, mut added) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n * 4));
    let mut point_starts = Vec::with_capacity((n + 1) * 4);
    let (mut points, mut lanes) = (Vec::new(), Vec::new());
    let mut block_starts = Vec::with_capacity((n + 1) * 4);
    let (mut total_points, mut total_blocks) = (0u32, 0u32);
    for r in records {
        refs.push(&r.reference)?;
        authority_ids.extend_from_slice(&auths.id(&r.authority)?.to_le_bytes());
        kinds.push(u8::from(r.kind == Kind::Trace));
        fingers.push(r.finger);
        added.extend_from_slice(&r.added.to_le_bytes());
        point_starts.extend_from_slice(&total_points.to_le_bytes());
        block_starts.extend_from_slice(&total_blocks.to_le_bytes());
        total_points += r.template.len() as u32;
        total_blocks += r.template.lanes.blocks() as u32;
        for p in &r.template.points {
            for v in [p.x, p.y, p.angle] {
                points.extend_from_slice(&v.to_le_bytes());
            }
        }
        for row in r.template.lanes.rows() {
            for w in row {
                lanes.extend_from_slice(&w.to_le_bytes());
            }
        }
    }
    point_starts.extend_from_slice(&total_points.to_le_bytes());
    block_starts.extend_from_slice(&total_blocks.to_le_bytes());
    refs.finish()?;
    auths.names.finish()?;
    let (bucket_count, buckets, postings) = postings(records)?;
    let sections: [&[u8]; SECTIONS] = [
        &refs.offsets,
        &refs.heap,
        &authority_ids,
        &auths.names.offsets,
        &auths.names.heap,
        &kinds,
        &fingers,
        &added,
        &point_starts,
        &block_starts,
        &points,
        &lanes,
        &buckets,
        &postings,
    ];
    let fields = [n as u64, u64::from(total_points), u64::from(bucket_count)];
    container::write(path, &Header { category: Category::Fingerprint, created, fields }, &sections)
}

/// The pre-filter's posting table: bucket count, bucket starts (`u32`,
/// one more than buckets) and postings (`u32`: record id << 8 | minutia
/// direction, ascending within a bucket, no repeats).
fn postings(records: &[FingerRecord]) -> Result<(u32, Vec<u8>, Vec<u8>)> {
    // The same buckets in every shard: which keys share a bucket must not
    // depend on how records are split, or the votes (and so the answers)
    // would.
    let count = prefilter::BUCKETS;
    // Two passes (count, then fill), a block of records at a time: the
    // postings of a whole shard at once would take twice the table's memory.
    const BLOCK: usize = 16_384;
    let block = |b: usize| -> Vec<(u32, u32)> {
        let ids = b * BLOCK..((b + 1) * BLOCK).min(records.len());
        let per_record: Vec<Vec<(u32, u32)>> = ids.into_par_iter().map(|id| posted(id, &records[id], count)).collect();
        per_record.concat()
    };
    let blocks = records.len().div_ceil(BLOCK);
    let mut counts = vec![0u64; count as usize + 1];
    for b in 0..blocks {
        for (bucket, _) in block(b) {
            counts[bucket as usize + 1] += 1;
        }
    }
    for i in 0..count as usize {
        counts[i + 1] += counts[i];
    }
    let total = counts[count as usize];
    if total > u64::from(u32::MAX) {
        return Err(Error::Invalid(format!("{} records post {total} pre-filter keys, more than a shard can hold; use more shards", records.len())));
    }
    let starts: Vec<u32> = counts.into_iter().map(|c| c as u32).collect();
    let mut fill = starts.clone();
    let mut postings = vec![0u8; starts[count as usize] as usize * 4];
    for b in 0..blocks {
        for (bucket, p) in block(b) {
            let at = fill[bucket as usize] as usize * 4;
            postings[at..at + 4].copy_from_slice(&p.to_le_bytes());
            fill[bucket as usize] += 1;
        }
    }
    Ok((count, starts.iter().flat_map(|x| x.to_le_bytes()).collect(), postings))
}

/// The `(bucket, posting)` pairs of record `id`, sorted, without repeats.
fn posted(id: usize, r: &FingerRecord, count: u32) -> Vec<(u32, u32)> {
    let (mut keys, mut out) = (Vec::new(), Vec::new());
    for (i, p) in r.template.points.iter().enumerate() {
        keys.clear();
        prefilter::keys(&r.template.lanes.cylinder(i), &mut keys);
        let posting = (id as u32) << 8 | u32::from(prefilter::direction_code(p.angle));
        out.extend(keys.iter().map(|&k| (bucket_in(k, count), posting)));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// An open, memory-mapped shard of finger records.
#[derive(Debug)]
pub struct Gallery {
    file: Mapped,
    n: usize,
    bucket_count: u32,
}

impl Gallery {
    /// Maps a shard and checks its container and section lengths.
    ///
    /// # Errors
    /// `Io` if unreadable; `Corrupt` if a check fails.
    pub fn open(path: &Path) -> Result<Gallery> {
        let file = container::open(path, Category::Fingerprint, SECTIONS)?;
        let [n, points, buckets] = file.header.fields;
        if n > MAX_RECORDS as u64 || points > u64::from(u32::MAX) || buckets != u64::from(prefilter::BUCKETS) {
            return Err(Error::corrupt(path, format!("impossible counts in header: {n} records (at most {MAX_RECORDS}), {points} points, {buckets} buckets (expected {})", prefilter::BUCKETS)));
        }
        let (n, points) = (n as usize, points as usize);
        let g = Gallery { file, n, bucket_count: buckets as u32 };
        let lengths = [
            (Section::RefOffsets, (n + 1) * 4),
            (Section::AuthorityIds, n * 2),
            (Section::Kinds, n),
            (Section::Fingers, n),
            (Section::Added, n * 4),
            (Section::PointStarts, (n + 1) * 4),
            (Section::BlockStarts, (n + 1) * 4),
            (Section::Points, points * POINT_BYTES),
            (Section::Buckets, (buckets as usize + 1) * 4),
        ];
        for (s, len) in lengths {
            let got = g.section(s).len();
            if got != len {
                return Err(Error::corrupt(path, format!("section {s:?} is {got} bytes, expected {len}")));
            }
        }
        for (s, unit) in [(Section::Postings, 4), (Section::Lanes, STRIDE * ROW_BYTES)] {
            if !g.section(s).len().is_multiple_of(unit) {
                return Err(Error::corrupt(path, format!("section {s:?} has a partial entry")));
            }
        }
        Ok(g)
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

    /// File size in bytes.
    pub fn bytes(&self) -> usize {
        self.file.map.len()
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

    /// Finger position of record `id` (0 unknown).
    pub fn finger(&self, id: usize) -> u8 {
        self.section(Section::Fingers).get(id).copied().unwrap_or(0)
    }

    /// When record `id` was added (Unix seconds).
    pub fn added(&self, id: usize) -> u32 {
        u32_at(self.section(Section::Added), id * 4).unwrap_or(0)
    }

    /// The range of record `id`'s points.
    fn points_of(&self, id: usize) -> Option<std::ops::Range<usize>> {
        let starts = self.section(Section::PointStarts);
        let (a, b) = (u32_at(starts, id * 4)? as usize, u32_at(starts, id * 4 + 4)? as usize);
        (a <= b).then_some(a..b)
    }

    /// Cylinders of record `id` (for the pre-filter's normalisation).
    pub fn cylinder_count(&self, id: usize) -> usize {
        self.points_of(id).map_or(0, |r| r.len())
    }

    /// The encoded template of record `id`, rebuilt from the shard.
    ///
    /// # Errors
    /// `Corrupt` if its bytes are out of range or inconsistent.
    pub fn template(&self, id: usize) -> Result<Encoded> {
        self.cylinders(id).map(Encoded::from)
    }

    /// The cylinders of record `id`, as stored.
    ///
    /// # Errors
    /// `Corrupt` if its bytes are out of range or inconsistent.
    pub fn cylinders(&self, id: usize) -> Result<Cylinders> {
        let bad = || self.corrupt(format!("template of record {id} is unreadable"));
        let range = self.points_of(id).ok_or_else(bad)?;
        let first_block = self.block_start(id).ok_or_else(bad)?;
        let blocks = range.len().div_ceil(4);
        let pts = self.section(Section::Points).get(range.start * POINT_BYTES..range.end * POINT_BYTES).ok_or_else(bad)?;
        let f = |b: &[u8], i: usize| f32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        let points = pts.chunks_exact(POINT_BYTES).map(|p| Point::new(f(p, 0), f(p, 4), f(p, 8))).collect();
        let lane_bytes = self.section(Section::Lanes);
        let rows = lane_bytes.get(first_block * STRIDE * ROW_BYTES..(first_block + blocks) * STRIDE * ROW_BYTES).ok_or_else(bad)?;
        let rows = rows
            .chunks_exact(ROW_BYTES)
            .map(|r| std::array::from_fn(|w| u64::from_le_bytes(r[w * 8..w * 8 + 8].try_into().expect("8 bytes"))))
            .collect();
        Cylinders::from_parts(points, Lanes::from_rows(rows).ok_or_else(bad)?).ok_or_else(bad)
    }

    /// Record `id` whole, rebuilt from the shard (for compaction).
    ///
    /// # Errors
    /// `Corrupt` if unreadable.
    pub fn record(&self, id: usize) -> Result<FingerRecord> {
        Ok(FingerRecord {
            reference: self.reference(id)?.to_string(),
            authority: self.authority(id)?.to_string(),
            kind: self.kind(id),
            finger: self.finger(id),
            template: self.cylinders(id)?,
            added: self.added(id),
        })
    }

    /// The first cylinder block of record `id`.
    fn block_start(&self, id: usize) -> Option<usize> {
        u32_at(self.section(Section::BlockStarts), id * 4).map(|b| b as usize)
    }

    /// The postings of pre-filter key `key`: `id << 8 | direction`
    /// (little-endian `u32`s), ascending.
    pub fn postings(&self, key: u64) -> &[u8] {
        let b = bucket_in(key, self.bucket_count) as usize;
        let offs = self.section(Section::Buckets);
        let range = u32_at(offs, b * 4).zip(u32_at(offs, b * 4 + 4));
        range.filter(|(s, e)| s <= e).and_then(|(s, e)| self.section(Section::Postings).get(s as usize * 4..e as usize * 4)).unwrap_or(&[])
    }

    /// Recomputes the digest and checks every stored offset and template.
    ///
    /// # Errors
    /// `Corrupt` naming a check that failed.
    pub fn verify(&self) -> Result<()> {
        container::verify(&self.file)?;
        (0..self.n).into_par_iter().try_for_each(|id| {
            self.reference(id)?;
            self.authority(id)?;
            self.template(id).map(drop)
        })?;
        let offs = self.section(Section::Buckets);
        let postings = (self.section(Section::Postings).len() / 4) as u32;
        let mut prev = 0;
        for i in 0..=self.bucket_count as usize {
            let o = u32_at(offs, i * 4).unwrap_or(u32::MAX);
            if o < prev || o > postings {
                return Err(self.corrupt(format!("bucket offset {i} out of order")));
            }
            prev = o;
        }
        if self.section(Section::Postings).chunks_exact(4).any(|p| (u32::from_le_bytes(p.try_into().expect("4 bytes")) >> 8) as usize >= self.n) {
            return Err(self.corrupt("a posting names no record".into()));
        }
        Ok(())
    }
}

impl crate::index::Records for Gallery {
    fn reference(&self, id: usize) -> Result<&str> {
        Gallery::reference(self, id)
    }
    fn authority(&self, id: usize) -> Result<&str> {
        Gallery::authority(self, id)
    }
}

//! One immutable shard file of DNA profiles: their reference data and
//! their candidate keys, laid out as aligned arrays for memory mapping in
//! the sections of a [`container`] (header fields: profiles, classes, the
//! two tables' bucket counts).
//!
//! Opening checks the container and that every section has its length; it
//! copies and parses nothing but the small class table.
//! [`Shard::verify`] recomputes the whole-file digest and checks every
//! stored offset. Accessors never index out of bounds even on bytes that
//! have not been verified: a damaged shard gives an error, not a panic.
//!
//! Profiles are ordered by *class* (typed loci, keyable ESS loci) so a class
//! is a contiguous range of ids and keys can be restricted to classes.

use std::path::Path;

use super::container::{self, authority_at, string_at, u32_at, u64_at, Authorities, Category, Header, Mapped, Strings};
use super::keys;
use crate::dna::{Genotype, Kind, Profile, ESS_COUNT, LOCUS_COUNT};
use crate::kernels::dna::CORE_BYTES;
use crate::{Error, Result};

/// Profiles per shard are limited by the 3-byte ids of the postings.
pub const MAX_PROFILES: usize = (1 << 24) - 1;
/// Bytes of one class record.
const CLASS_BYTES: usize = 32;
/// Bytes of one posting (a profile id).
const POSTING_BYTES: usize = 3;
/// Average postings per bucket the writer aims at, in the member table.
const POSTINGS_PER_BUCKET: usize = 8;
/// The same in the family table, whose many probes find few postings.
const FAMILY_POSTINGS_PER_BUCKET: usize = 2;

#[derive(Clone, Copy)]
enum Section {
    Cores,
    Classes,
    Extras,
    RefOffsets,
    RefHeap,
    AuthorityIds,
    Kinds,
    Added,
    AuthOffsets,
    AuthHeap,
    Buckets,
    Postings,
    Tokens,
}
const SECTIONS: usize = 13;
/// Ids per block of the group lookup table.
const GROUP_BLOCK_LOG2: u32 = 8;
/// Bytes of the observed-token bitmaps: 256 bits per ESS locus.
const TOKEN_BYTES: usize = ESS_COUNT * 32;

/// One class: profiles with the same typed loci and keyable ESS loci.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    /// Bit `i` set when locus `i` is typed.
    pub typed: u32,
    /// Bit `i` set when ESS locus `i` is typed without a wildcard.
    pub keyable: u16,
    /// First profile id.
    pub start: u32,
    /// One past the last profile id.
    pub end: u32,
    /// Byte offset of this class' extra-loci genotypes in the extras section.
    pub extras: u64,
}

impl Class {
    /// Loci beyond the ESS typed in this class (bit `i` = locus `12 + i`).
    pub fn extra_loci(&self) -> u32 {
        self.typed >> ESS_COUNT
    }

    /// Bytes of extra-loci genotypes per profile.
    pub fn extras_width(&self) -> usize {
        2 * self.extra_loci().count_ones() as usize
    }

    /// Whether the class is typed at exactly its keyable loci.
    pub fn is_exact(&self) -> bool {
        keys::is_exact(self.typed, self.keyable)
    }
}

/// A group: the consecutive classes with the same keyable ESS loci, except
/// that a class typed at exactly its keyable loci (no wildcard, no other
/// loci: most traces) is a group of its own, so that the loci a query
/// compares with it are known exactly, not bounded by the union over
/// classes with wildcards. A query plans its probes once per group, not
/// once per class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The keyable ESS loci of every class in the group.
    pub keyable: u16,
    /// Loci typed in any class of the group.
    pub typed: u32,
    /// Indices of its classes.
    pub classes: std::ops::Range<usize>,
    /// First profile id.
    pub start: u32,
    /// One past the last profile id.
    pub end: u32,
}

impl Group {
    /// Whether the group is one class typed at exactly its keyable loci.
    pub fn is_exact(&self) -> bool {
        keys::is_exact(self.typed, self.keyable)
    }
}

/// The groups of classes in id order (runs of equal keyable loci; a class
/// typed at exactly its keyable loci stands alone).
fn groups_of(classes: &[Class]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (i, c) in classes.iter().enumerate() {
        match groups.last_mut() {
            Some(g) if g.keyable == c.keyable && !g.is_exact() && !c.is_exact() => {
                g.typed |= c.typed;
                g.classes.end = i + 1;
                g.end = c.end;
            }
            _ => groups.push(Group { keyable: c.keyable, typed: c.typed, classes: i..i + 1, start: c.start, end: c.end }),
        }
    }
    groups
}

/// Typed loci and keyable ESS loci of a profile.
pub fn class_of(p: &Profile) -> (u32, u16) {
    let mut typed = 0u32;
    let mut keyable = 0u16;
    for (i, g) in p.loci.iter().enumerate() {
        if g.is_typed() {
            typed |= 1 << i;
            if i < ESS_COUNT && !g.has_wildcard() {
                keyable |= 1 << i;
            }
        }
    }
    (typed, keyable)
}

/// A profile with the reference data the index stores.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// The profile.
    pub profile: &'a Profile,
    /// When it was added (Unix seconds).
    pub added: u32,
}

/// Writes one shard file from records (write to a temporary name, sync,
/// rename, so a crash never leaves a half-written shard under the real name).
///
/// # Errors
/// I/O errors, and more than [`MAX_PROFILES`] records.
pub fn write(path: &Path, records: &[Record<'_>], created: u64) -> Result<()> {
    if records.len() > MAX_PROFILES {
        return Err(Error::Invalid(format!("a shard holds at most {MAX_PROFILES} profiles, got {}", records.len())));
    }
    let n = records.len();
    // Order by keyable loci, then typed loci (so that classes with the same
    // keyable loci form one group), keeping input order within a class.
    let classes_of: Vec<(u32, u16)> = records.iter().map(|r| class_of(r.profile)).collect();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by_key(|&i| {
        let (typed, keyable) = classes_of[i as usize];
        (keyable, typed)
    });

    let mut cores = vec![0u8; n * CORE_BYTES + 32];
    let mut class_bytes = Vec::new();
    let mut extras = Vec::new();
    let mut references = Strings::default();
    let mut authorities = Authorities::default();
    let mut authority_ids = Vec::with_capacity(n * 2);
    let mut kinds = Vec::with_capacity(n);
    let mut added = Vec::with_capacity(n * 4);

    let mut id = 0usize;
    while id < n {
        let (typed, keyable) = classes_of[order[id] as usize];
        let start = id;
        let extras_at = extras.len() as u64;
        while id < n && classes_of[order[id] as usize] == (typed, keyable) {
            let r = &records[order[id] as usize];
            let p = r.profile;
            for (l, g) in p.loci.iter().take(ESS_COUNT).enumerate() {
                cores[id * CORE_BYTES + 2 * l..id * CORE_BYTES + 2 * l + 2].copy_from_slice(&g.codes());
            }
            for g in p.loci.iter().skip(ESS_COUNT).filter(|g| g.is_typed()) {
                extras.extend_from_slice(&g.codes());
            }
            references.push(&p.reference)?;
            authority_ids.extend_from_slice(&authorities.id(&p.authority)?.to_le_bytes());
            kinds.push(match p.kind {
                Kind::Person => 0,
                Kind::Trace => 1,
            });
            added.extend_from_slice(&r.added.to_le_bytes());
            id += 1;
        }
        class_bytes.extend_from_slice(&typed.to_le_bytes());
        class_bytes.extend_from_slice(&keyable.to_le_bytes());
        class_bytes.extend_from_slice(&[0, 0]);
        class_bytes.extend_from_slice(&(start as u32).to_le_bytes());
        class_bytes.extend_from_slice(&(id as u32).to_le_bytes());
        class_bytes.extend_from_slice(&extras_at.to_le_bytes());
        class_bytes.extend_from_slice(&[0u8; 8]);
    }
    references.finish()?;
    authorities.names.finish()?;

    let (bucket_counts, buckets, postings) = build_postings(&cores, n, &classes_of, &order);
    let tokens = observed_tokens(&cores, n);

    let sections: [&[u8]; SECTIONS] = [
        &cores,
        &class_bytes,
        &extras,
        &references.offsets,
        &references.heap,
        &authority_ids,
        &kinds,
        &added,
        &authorities.names.offsets,
        &authorities.names.heap,
        &buckets,
        &postings,
        &tokens,
    ];
    let fields = [n as u64, (class_bytes.len() / CLASS_BYTES) as u64, u64::from(bucket_counts[0]) | u64::from(bucket_counts[1]) << 32];
    container::write(path, &Header { category: Category::Dna, created, fields }, &sections)
}

/// For each ESS locus, a 256-bit map of the key tokens ([`keys::canon`]) of
/// the alleles stored there without a wildcard: what a widened probe
/// enumerates (see [`keys`]).
fn observed_tokens(cores: &[u8], n: usize) -> Vec<u8> {
    let mut maps = vec![0u8; TOKEN_BYTES];
    for core in cores[..n * CORE_BYTES].chunks_exact(CORE_BYTES) {
        for l in 0..ESS_COUNT {
            let (a, b) = (core[2 * l], core[2 * l + 1]);
            if a != 0 && b != 255 {
                for t in [keys::canon(a), keys::canon(b)] {
                    maps[l * 32 + usize::from(t / 8)] |= 1 << (t % 8);
                }
            }
        }
    }
    maps
}

/// The two posting tables: members (every profile, several postings per
/// bucket) and family sets (profiles with few keyable loci only, about one
/// posting per bucket, so that the many family probes of a query read
/// almost no postings of other keys). Returns each table's bucket count,
/// the bucket offsets (u32; members' buckets and their end, then the
/// family's buckets and their end) and the postings (3-byte ids, ascending
/// within a bucket, then 4 bytes of padding).
fn build_postings(cores: &[u8], n: usize, classes_of: &[(u32, u16)], order: &[u32]) -> ([u32; 2], Vec<u8>, Vec<u8>) {
    let class = |id: usize| classes_of[order[id] as usize];
    let (m_count, m_starts, mut postings) = build_table(cores, n, POSTINGS_PER_BUCKET, |id| keys::members_inside(class(id).1));
    let (f_count, f_starts, f_postings) = build_table(cores, n, FAMILY_POSTINGS_PER_BUCKET, |id| {
        let (typed, keyable) = class(id);
        keys::family_inside(keyable, keys::is_exact(typed, keyable)).map(|s| (keys::family_salt(s), s))
    });
    let base = (postings.len() / POSTING_BYTES) as u32;
    postings.extend_from_slice(&f_postings);
    postings.extend_from_slice(&[0; 4]);
    let buckets = m_starts.iter().chain(f_starts.iter().map(|s| s + base).collect::<Vec<_>>().iter()).flat_map(|s| s.to_le_bytes()).collect();
    ([m_count, f_count], buckets, postings)
}

/// One posting table: every profile `id` posted under the keys
/// `posted(id)` yields as (salt, loci), about `per_bucket` postings to a
/// bucket. Returns the bucket count, the bucket starts (one more
/// than buckets) and the postings.
fn build_table<I: Iterator<Item = (usize, u16)>>(cores: &[u8], n: usize, per_bucket: usize, posted: impl Fn(usize) -> I + Sync) -> (u32, Vec<u32>, Vec<u8>) {
    use rayon::prelude::*;
    let entries: usize = (0..n).into_par_iter().map(|id| posted(id).count()).sum();
    // Any count will do (no power of two, so no space lost to rounding).
    let bucket_count = u32::try_from((entries / per_bucket).max(1)).unwrap_or(u32::MAX);
    // Bucket of each entry, profile by profile (parallel), then a counting sort.
    let chunk = 1 << 16;
    let per_chunk: Vec<Vec<u32>> = (0..n.div_ceil(chunk))
        .into_par_iter()
        .map(|c| {
            let mut out = Vec::new();
            for id in c * chunk..((c + 1) * chunk).min(n) {
                let core = &cores[id * CORE_BYTES..(id + 1) * CORE_BYTES];
                for (salt, loci) in posted(id) {
                    let parts = keys::loci(loci).map(|l| keys::stored_part(Genotype::from_codes([core[2 * l], core[2 * l + 1]])));
                    out.push(bucket_in(keys::key(salt, parts), bucket_count));
                }
            }
            out
        })
        .collect();
    let bucket_count = bucket_count as usize;
    let mut starts = vec![0u32; bucket_count + 1];
    for b in per_chunk.iter().flatten() {
        starts[*b as usize + 1] += 1;
    }
    for i in 0..bucket_count {
        starts[i + 1] += starts[i];
    }
    let mut fill: Vec<u32> = starts[..bucket_count].to_vec();
    let mut postings = vec![0u8; entries * POSTING_BYTES];
    for (c, buckets) in per_chunk.iter().enumerate() {
        let mut it = buckets.iter();
        for pid in c * chunk..((c + 1) * chunk).min(n) {
            for _ in posted(pid) {
                let b = *it.next().expect("one bucket per posting") as usize;
                let at = fill[b] as usize * POSTING_BYTES;
                postings[at..at + POSTING_BYTES].copy_from_slice(&(pid as u32).to_le_bytes()[..POSTING_BYTES]);
                fill[b] += 1;
            }
        }
    }
    (bucket_count as u32, starts, postings)
}

/// The bucket of `key` in a table of `count` buckets: the high bits of
/// `key · count` (keys are uniform over 64 bits).
pub(crate) fn bucket_in(key: u64, count: u32) -> u32 {
    ((u128::from(key) * u128::from(count)) >> 64) as u32
}

/// An open, memory-mapped shard.
#[derive(Debug)]
pub struct Shard {
    file: Mapped,
    n: usize,
    classes: Vec<Class>,
    groups: Vec<Group>,
    /// One past the last id of each group (compact, for [`Shard::group_index`]).
    group_ends: Vec<u32>,
    /// The typed loci of each group (compact, for planning).
    group_typed: Vec<u32>,
    /// For each block of 2^[`GROUP_BLOCK_LOG2`] ids, the group of its first id.
    group_starts: Vec<u32>,
    /// Plans of recent queries (see [`super::search`]).
    pub(crate) plan_cache: super::search::PlanCache,
    /// The bucket counts of the member and the family tables.
    bucket_counts: [u32; 2],
    /// Observed key tokens per ESS locus (from the small tokens section).
    tokens: [Vec<u8>; ESS_COUNT],
}

/// A hint to load the cache line holding `at`; no effect on the result.
#[inline]
fn prefetch(at: &u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults and `at` is a valid reference anyway.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(std::ptr::from_ref(at).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

impl Shard {
    /// Maps a shard file and checks its header, version, header digest,
    /// length and section bounds. Copies and parses nothing else.
    ///
    /// # Errors
    /// `Io` if the file cannot be read; `Corrupt` if any check fails.
    pub fn open(path: &Path) -> Result<Shard> {
        let file = container::open(path, Category::Dna, SECTIONS)?;
        let bad = |reason: String| Error::corrupt(path, reason);
        let [n, class_count, buckets] = file.header.fields;
        let (n, class_count) = (n as usize, class_count as usize);
        let bucket_counts = [buckets as u32, (buckets >> 32) as u32];
        if n > MAX_PROFILES || bucket_counts.iter().any(|&c| c == 0 || c > 1 << 30) {
            return Err(bad("impossible counts in header".into()));
        }
        let sections = &file.sections;
        let expect = |s: Section, len: usize| -> Result<()> {
            let got = sections[s as usize].1;
            if got != len {
                return Err(Error::corrupt(path, format!("section {} is {got} bytes, expected {len}", s as usize)));
            }
            Ok(())
        };
        expect(Section::Cores, n * CORE_BYTES + 32)?;
        expect(Section::Classes, class_count * CLASS_BYTES)?;
        expect(Section::RefOffsets, (n + 1) * 4)?;
        expect(Section::AuthorityIds, n * 2)?;
        expect(Section::Kinds, n)?;
        expect(Section::Added, n * 4)?;
        expect(Section::Buckets, (bucket_counts[0] as usize + bucket_counts[1] as usize + 2) * 4)?;
        expect(Section::Tokens, TOKEN_BYTES)?;
        if sections[Section::Postings as usize].1 % POSTING_BYTES != 1 {
            return Err(bad("postings section has a partial entry".into()));
        }
        let mut shard =
            Shard { file, n, classes: Vec::new(), groups: Vec::new(), group_ends: Vec::new(), group_typed: Vec::new(), group_starts: Vec::new(), plan_cache: Default::default(), bucket_counts, tokens: Default::default() };
        shard.classes = shard.read_classes()?;
        shard.groups = groups_of(&shard.classes);
        shard.group_ends = shard.groups.iter().map(|g| g.end).collect();
        shard.group_typed = shard.groups.iter().map(|g| g.typed).collect();
        shard.group_starts = (0..n.div_ceil(1 << GROUP_BLOCK_LOG2))
            .map(|b| shard.group_ends.partition_point(|&end| (end as usize) <= b << GROUP_BLOCK_LOG2) as u32)
            .collect();
        let maps = shard.section(Section::Tokens);
        shard.tokens = std::array::from_fn(|l| {
            (0..=255u8).filter(|&t| maps[l * 32 + usize::from(t / 8)] & (1 << (t % 8)) != 0).collect()
        });
        Ok(shard)
    }

    fn section(&self, s: Section) -> &[u8] {
        self.file.section(s as usize)
    }

    /// Reads and checks the class table (small: one record per class).
    fn read_classes(&self) -> Result<Vec<Class>> {
        let b = self.section(Section::Classes);
        let extras_len = self.section(Section::Extras).len() as u64;
        let mut classes = Vec::with_capacity(b.len() / CLASS_BYTES);
        let mut next = 0u32;
        for rec in b.chunks_exact(CLASS_BYTES) {
            let c = Class {
                typed: u32_at(rec, 0).unwrap_or(0),
                keyable: u16::from_le_bytes([rec[4], rec[5]]),
                start: u32_at(rec, 8).unwrap_or(0),
                end: u32_at(rec, 12).unwrap_or(0),
                extras: u64_at(rec, 16).unwrap_or(u64::MAX),
            };
            let width = c.extras_width() as u64;
            let fits = c.extras.checked_add(width * u64::from(c.end.wrapping_sub(c.start))).is_some_and(|e| e <= extras_len);
            if c.start != next || c.end < c.start || c.typed >> LOCUS_COUNT != 0 || u32::from(c.keyable) & !c.typed != 0 || !fits {
                return Err(Error::corrupt(&self.file.path, format!("class {} is inconsistent", classes.len())));
            }
            next = c.end;
            classes.push(c);
        }
        if next as usize != self.n {
            return Err(Error::corrupt(&self.file.path, "classes do not cover every profile"));
        }
        Ok(classes)
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    /// Number of profiles (tombstoned ones included).
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the shard holds no profile.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// When the shard was written (Unix seconds).
    pub fn created(&self) -> u64 {
        self.file.header.created
    }

    /// File size in bytes.
    pub fn bytes(&self) -> usize {
        self.file.map.len()
    }

    /// The classes, in id order.
    pub fn classes(&self) -> &[Class] {
        &self.classes
    }

    /// The groups of classes, in id order.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The typed loci of every group, in group order.
    pub fn group_typed(&self) -> &[u32] {
        &self.group_typed
    }

    /// Index of the group holding profile `id`, if any: a table lookup,
    /// then a search among the groups of one block of ids (this runs for
    /// every posting a query reads).
    #[inline]
    pub fn group_index(&self, id: u32) -> Option<usize> {
        // Groups cover the ids without gaps, so the group of `id` is the
        // first that ends after it.
        let block = (id >> GROUP_BLOCK_LOG2) as usize;
        let from = *self.group_starts.get(block)? as usize;
        let to = self.group_starts.get(block + 1).map_or(self.group_ends.len(), |&t| t as usize + 1).min(self.group_ends.len());
        let i = from + self.group_ends.get(from..to)?.partition_point(|&end| end <= id);
        (i < self.group_ends.len()).then_some(i)
    }

    /// All cores: 24 bytes per profile, then 32 bytes of padding.
    pub fn cores(&self) -> &[u8] {
        self.section(Section::Cores)
    }

    /// The core (ESS genotypes) of profile `id`.
    pub fn core(&self, id: usize) -> Option<&[u8; CORE_BYTES]> {
        self.cores().get(id * CORE_BYTES..(id + 1) * CORE_BYTES)?.try_into().ok()
    }

    /// Asks the CPU to start loading the core of profile `id`.
    #[inline]
    pub fn prefetch_core(&self, id: u32) {
        if let Some(at) = self.cores().get(id as usize * CORE_BYTES) {
            prefetch(at);
        }
    }

    /// The class containing profile `id`.
    pub fn class_of_id(&self, id: u32) -> Option<&Class> {
        let i = self.classes.partition_point(|c| c.end <= id);
        self.classes.get(i).filter(|c| c.start <= id)
    }

    /// The extra-loci genotypes of profile `id` in `class`: two bytes per
    /// locus in [`Class::extra_loci`], ascending.
    pub fn extras(&self, class: &Class, id: u32) -> &[u8] {
        let w = class.extras_width();
        let at = class.extras as usize + (id - class.start) as usize * w;
        self.section(Section::Extras).get(at..at + w).unwrap_or(&[])
    }

    /// Reference number of profile `id`.
    pub fn reference(&self, id: usize) -> Result<&str> {
        string_at(self.section(Section::RefOffsets), self.section(Section::RefHeap), id)
            .ok_or_else(|| Error::corrupt(&self.file.path, format!("reference of profile {id} is unreadable")))
    }

    /// Authority of profile `id`.
    pub fn authority(&self, id: usize) -> Result<&str> {
        authority_at(self.section(Section::AuthorityIds), self.section(Section::AuthOffsets), self.section(Section::AuthHeap), id)
            .ok_or_else(|| Error::corrupt(&self.file.path, format!("authority of profile {id} is unreadable")))
    }

    /// Person or trace.
    pub fn kind(&self, id: usize) -> Kind {
        match self.section(Section::Kinds).get(id) {
            Some(1) => Kind::Trace,
            _ => Kind::Person,
        }
    }

    /// When profile `id` was added (Unix seconds).
    pub fn added(&self, id: usize) -> u32 {
        u32_at(self.section(Section::Added), id * 4).unwrap_or(0)
    }

    /// The whole profile `id`, rebuilt from the shard (for compaction).
    pub fn profile(&self, id: usize) -> Result<Profile> {
        let class = *self.class_of_id(id as u32).ok_or_else(|| Error::corrupt(&self.file.path, format!("profile {id} has no class")))?;
        let core = self.core(id).ok_or_else(|| Error::corrupt(&self.file.path, format!("profile {id} has no core")))?;
        let mut p = Profile {
            reference: self.reference(id)?.to_string(),
            authority: self.authority(id)?.to_string(),
            kind: self.kind(id),
            ..Profile::default()
        };
        for l in 0..ESS_COUNT {
            p.loci[l] = Genotype::from_codes([core[2 * l], core[2 * l + 1]]);
        }
        let extras = self.extras(&class, id as u32);
        let loci = (0..LOCUS_COUNT - ESS_COUNT).filter(|i| class.extra_loci() & (1 << i) != 0);
        for (k, i) in loci.enumerate() {
            if let Some(b) = extras.get(2 * k..2 * k + 2) {
                p.loci[ESS_COUNT + i] = Genotype::from_codes([b[0], b[1]]);
            }
        }
        Ok(p)
    }

    /// The key tokens stored at ESS locus `l` (without wildcards), ascending.
    pub fn observed_tokens(&self, l: usize) -> &[u8] {
        &self.tokens[l]
    }

    /// The posting bucket a member key falls in.
    #[inline]
    pub fn bucket_of(&self, key: u64) -> u32 {
        bucket_in(key, self.bucket_counts[0])
    }

    /// The posting bucket a family key falls in (after the members' buckets
    /// and their end offset).
    #[inline]
    pub fn family_bucket_of(&self, key: u64) -> u32 {
        self.bucket_counts[0] + 1 + bucket_in(key, self.bucket_counts[1])
    }

    /// The profile ids of bucket `b`, ascending, as 3-byte little-endian
    /// integers.
    ///
    /// # Errors
    /// `Corrupt` if the bucket's offsets are out of range.
    pub fn bucket(&self, b: u32) -> Result<Postings<'_>> {
        let b = b as usize;
        let offs = self.section(Section::Buckets);
        let postings = self.section(Section::Postings);
        let range = u32_at(offs, b * 4).zip(u32_at(offs, b * 4 + 4));
        let bytes = range
            .filter(|(s, e)| s <= e)
            .and_then(|(s, e)| postings.get(s as usize * POSTING_BYTES..e as usize * POSTING_BYTES + 1));
        match bytes {
            Some(bytes) => Ok(Postings { bytes }),
            None => Err(Error::corrupt(&self.file.path, format!("posting bucket {b} is out of range"))),
        }
    }

    /// Asks the CPU to start loading the offsets of bucket `b`, so that
    /// many probes wait for memory at once instead of one after another.
    #[inline]
    pub fn prefetch_bucket(&self, b: u32) {
        if let Some(at) = self.section(Section::Buckets).get(b as usize * 4) {
            prefetch(at);
        }
    }

    /// Recomputes the whole-file digest and checks every stored offset.
    ///
    /// # Errors
    /// `Corrupt` naming the first check that failed.
    pub fn verify(&self) -> Result<()> {
        container::verify(&self.file)?;
        let offs = self.section(Section::RefOffsets);
        let heap_len = self.section(Section::RefHeap).len() as u32;
        let mut prev = 0;
        for i in 0..=self.n {
            let o = u32_at(offs, i * 4).unwrap_or(u32::MAX);
            if o < prev || o > heap_len {
                return Err(Error::corrupt(&self.file.path, format!("reference offset {i} out of order")));
            }
            prev = o;
        }
        let posting_count = (self.section(Section::Postings).len() / POSTING_BYTES) as u32;
        let bucket_offs = self.section(Section::Buckets);
        let mut prev = 0;
        for i in 0..bucket_offs.len() / 4 {
            let o = u32_at(bucket_offs, i * 4).unwrap_or(u32::MAX);
            if o < prev || o > posting_count {
                return Err(Error::corrupt(&self.file.path, format!("bucket offset {i} out of order")));
            }
            prev = o;
        }
        for (id, _) in (0..self.n).map(|i| (i, ())) {
            self.reference(id)?;
            self.authority(id)?;
        }
        Ok(())
    }
}

/// The profile ids of one posting bucket.
#[derive(Debug, Clone, Copy)]
pub struct Postings<'a> {
    /// 3 bytes per id, plus one byte of padding (the section's last byte)
    /// so every id can be read with one 4-byte load.
    bytes: &'a [u8],
}

impl Postings<'_> {
    /// Asks the CPU to start loading the first ids.
    #[inline]
    pub fn prefetch(&self) {
        if let Some(at) = self.bytes.first() {
            prefetch(at);
        }
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.bytes.len() / POSTING_BYTES
    }

    /// Whether the bucket is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Id number `i`.
    #[inline]
    pub fn get(&self, i: usize) -> u32 {
        let b = &self.bytes[i * POSTING_BYTES..i * POSTING_BYTES + POSTING_BYTES];
        u32::from_le_bytes([b[0], b[1], b[2], 0])
    }

    /// Index of the first id ≥ `id` (ids are ascending).
    pub fn lower_bound(&self, id: u32) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.get(mid) < id {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

//! Search: the hits of DNA queries over every shard of an index.
//!
//! For each shard and each class of stored profiles (same typed loci, same
//! keyable ESS loci; a contiguous id range) the query first decides what is
//! possible: if fewer loci are typed in both than a hit needs, the class is
//! skipped; otherwise [`keys::plan`] names the members to probe, or none, in
//! which case the class is scanned with the kernel. Probed buckets give
//! candidates; every candidate and every scanned profile is checked with
//! the exact rules (kernel for the ESS core, [`locus_differences`] for the
//! other loci). Why no hit is lost is argued in [`keys`].
//!
//! A batch ([`Index::search_batch`]) is a join, not N lookups: the probes of
//! a chunk of queries are sorted by bucket and read in bucket order, the
//! candidates sorted by profile id and checked in id order, and the classes
//! that must be scanned are scanned once per block of profiles for all
//! queries that need them.

use rayon::prelude::*;

use super::keys::{self, Plan};
use super::shard::{Class, Shard};
use super::tombstones::Tombstones;
use super::Index;
use crate::dna::{locus_differences, Comparison, Genotype, Hit, Locus, MatchParams, Profile, ESS_COUNT, LOCUS_COUNT};
use crate::kernels::dna::{CoreQuery, CoreResult, CORE_BYTES};
use crate::kernels::{self, Level};
use crate::{Error, Result};

/// A query prepared for search: masks, kernel form and key parts.
#[derive(Debug, Clone)]
pub struct Query {
    loci: [Genotype; LOCUS_COUNT],
    typed: u32,
    keyable: u16,
    core: CoreQuery,
    /// Key parts per ESS locus (empty where not keyable).
    parts: [Vec<u16>; ESS_COUNT],
    tolerance: bool,
}

impl Query {
    /// Prepares `p` for a search with `params`.
    pub fn new(p: &Profile, params: &MatchParams) -> Query {
        let (typed, keyable) = super::shard::class_of(p);
        let parts = std::array::from_fn(|l| {
            if keyable & (1 << l) != 0 {
                keys::query_parts(p.loci[l], params.microvariant_tolerance)
            } else {
                Vec::new()
            }
        });
        let tolerance = params.microvariant_tolerance;
        Query { loci: p.loci, typed, keyable, core: CoreQuery::new(&p.loci, tolerance), parts, tolerance }
    }

    /// Every key the query probes for member `m`.
    fn keys(&self, m: usize) -> Vec<u64> {
        member_keys(m, |l| &self.parts[l])
    }
}

/// The part sets of widened probes (see [`keys`], point 3) for one query
/// and one shard, computed when a class first needs them.
struct Widening {
    /// Parts that pair fully with the query, per ESS locus typed in it.
    compatible: [Vec<u16>; ESS_COUNT],
    /// Parts with at most one differing allele (a superset of `compatible`).
    wide: [Vec<u16>; ESS_COUNT],
}

impl Widening {
    fn new(q: &Query, shard: &Shard) -> Widening {
        let typed = |l: usize| q.typed & (1 << l) != 0;
        let compatible = std::array::from_fn(|l| {
            if typed(l) {
                keys::compatible_parts(q.loci[l], shard.observed_tokens(l), q.tolerance)
            } else {
                Vec::new()
            }
        });
        let wide = std::array::from_fn(|l| {
            if !typed(l) {
                return Vec::new();
            }
            let mut w = keys::one_off_parts(q.loci[l], shard.observed_tokens(l), q.tolerance);
            w.extend_from_slice(&compatible[l]);
            w.sort_unstable();
            w.dedup();
            w
        });
        Widening { compatible, wide }
    }

    /// The widened probe of class `c`: the keys of the cheapest member
    /// inside the loci typed in the query and keyable in the class, if that
    /// is cheaper than scanning the class.
    fn keys(&self, q: &Query, c: &Class, near: bool) -> Option<Vec<u64>> {
        let s = (q.typed as u16) & c.keyable;
        let mut best: Option<(usize, usize)> = None;
        for m in (0..keys::MEMBERS).filter(|&m| keys::member_mask(m) & !s == 0) {
            let product = |skip: Option<usize>| {
                keys::member_loci(m).filter(|&l| Some(l) != skip).map(|l| self.compatible[l].len()).product::<usize>()
            };
            let cost = if near { keys::member_loci(m).map(|x| self.wide[x].len() * product(Some(x))).sum() } else { product(None) };
            if best.is_none_or(|(_, c)| cost < c) {
                best = Some((m, cost));
            }
        }
        let (m, cost) = best?;
        if cost.saturating_mul(PROBE_COST) >= (c.end - c.start) as usize {
            return None;
        }
        if !near {
            return Some(member_keys(m, |l| &self.compatible[l]));
        }
        let mut all = Vec::with_capacity(cost);
        for x in keys::member_loci(m) {
            all.extend(member_keys(m, |l| if l == x { &self.wide[l] } else { &self.compatible[l] }));
        }
        all.sort_unstable();
        all.dedup();
        Some(all)
    }
}

/// The keys of member `m` when locus `l` takes its parts from `parts(l)`:
/// one key per combination.
fn member_keys<'p>(m: usize, parts: impl Fn(usize) -> &'p [u16]) -> Vec<u64> {
    let mut combos: Vec<Vec<u16>> = vec![Vec::new()];
    for l in keys::member_loci(m) {
        combos = combos.iter().flat_map(|c| parts(l).iter().map(move |&p| [c.as_slice(), &[p]].concat())).collect();
    }
    combos.into_iter().map(|c| keys::key(m, c)).collect()
}

/// What a query with typed loci `typed` and keyable ESS loci `keyable` does
/// with class `c`: `None` when no hit is possible, else the plan (`0`: scan
/// the class).
fn plan(typed: u32, keyable: u16, c: &Class, params: &MatchParams) -> Option<Plan> {
    let compared = (typed & c.typed).count_ones();
    if compared < u32::from(params.min_loci) {
        return None;
    }
    Some(keys::plan(keyable & c.keyable, compared > u32::from(params.min_loci)))
}

impl Index {
    /// The hits of one query, in report order ([`Hit::report_order`]).
    ///
    /// # Errors
    /// `Corrupt` if shard bytes are found inconsistent on the way.
    pub fn search(&self, query: &Profile, params: &MatchParams) -> Result<Vec<Hit>> {
        let q = Query::new(query, params);
        let level = kernels::level();
        let per_shard = self
            .shards
            .par_iter()
            .zip(&self.tombstones)
            .map(|(shard, tomb)| ShardSearch { shard, tomb, params, level }.one(&q))
            .collect::<Result<Vec<_>>>()?;
        let mut hits = per_shard.concat();
        hits.sort_by(Hit::report_order);
        Ok(hits)
    }

    /// The hits of every query, in query order, each list in report order.
    /// `progress(done)` is called as chunks of queries complete.
    ///
    /// # Errors
    /// `Corrupt` if shard bytes are found inconsistent on the way.
    pub fn search_batch(
        &self,
        queries: &[Profile],
        params: &MatchParams,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Vec<Vec<Hit>>> {
        const CHUNK: usize = 1 << 15;
        let level = kernels::level();
        let mut answers: Vec<Vec<Hit>> = vec![Vec::new(); queries.len()];
        for (c, chunk) in queries.chunks(CHUNK).enumerate() {
            let prepared: Vec<Query> = chunk.par_iter().map(|p| Query::new(p, params)).collect();
            let base = c * CHUNK;
            for (shard, tomb) in self.shards.iter().zip(&self.tombstones) {
                let found = ShardSearch { shard, tomb, params, level }.join(&prepared)?;
                for (q, hit) in found {
                    answers[base + q as usize].push(hit);
                }
            }
            answers[base..base + chunk.len()].par_iter_mut().for_each(|h| h.sort_by(Hit::report_order));
            progress(base + chunk.len());
        }
        Ok(answers)
    }
}

/// One shard searched with fixed parameters.
struct ShardSearch<'a> {
    shard: &'a Shard,
    tomb: &'a Tombstones,
    params: &'a MatchParams,
    level: Level,
}

impl ShardSearch<'_> {
    /// Index of the class holding profile `id`.
    fn class_index(&self, id: u32) -> Result<usize> {
        let classes = self.shard.classes();
        let i = classes.partition_point(|c| c.end <= id);
        match classes.get(i) {
            Some(c) if c.start <= id => Ok(i),
            _ => Err(Error::corrupt(self.shard.path(), format!("posting names profile {id}, which does not exist"))),
        }
    }

    /// One query: plan every class, scan where needed, probe the rest.
    fn one(&self, q: &Query) -> Result<Vec<Hit>> {
        let classes = self.shard.classes();
        let mut plans = Vec::with_capacity(classes.len());
        let mut used: Plan = 0;
        let mut hits = Vec::new();
        let mut candidates = Vec::new();
        let mut widening = None;
        for (ci, c) in classes.iter().enumerate() {
            let plan = match plan(q.typed, q.keyable, c, self.params) {
                Some(0) => {
                    if let Some(keys) = self.widened(q, c, &mut widening) {
                        for key in keys {
                            let postings = self.shard.bucket(self.shard.bucket_of(key))?;
                            candidates.extend((0..postings.len()).map(|i| postings.get(i)).filter(|id| (c.start..c.end).contains(id)).map(|id| (id, ci)));
                        }
                    } else {
                        for (id, r) in self.scan(q, c, self.shard.cores()) {
                            hits.extend(self.finish(q, c, id, r)?);
                        }
                    }
                    0
                }
                Some(p) => p,
                None => 0,
            };
            used |= plan;
            plans.push(plan);
        }
        for m in bits(used) {
            for key in q.keys(m) {
                let postings = self.shard.bucket(self.shard.bucket_of(key))?;
                for i in 0..postings.len() {
                    let id = postings.get(i);
                    let ci = self.class_index(id)?;
                    if plans[ci] & (1 << m) != 0 {
                        candidates.push((id, ci));
                    }
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        for (id, ci) in candidates {
            hits.extend(self.check(q, &classes[ci], id)?);
        }
        Ok(hits)
    }

    /// A chunk of queries as a join: returns (query index, hit) pairs.
    fn join(&self, qs: &[Query]) -> Result<Vec<(u32, Hit)>> {
        let classes = self.shard.classes();
        // Plans depend only on the query's masks: plan each distinct pair of
        // masks once (every full ESS-12 query shares one).
        let mut masks: Vec<(u32, u16)> = qs.iter().map(|q| (q.typed, q.keyable)).collect();
        masks.par_sort_unstable();
        masks.dedup();
        let plans: Vec<Vec<Option<Plan>>> =
            masks.par_iter().map(|&(typed, keyable)| classes.iter().map(|c| plan(typed, keyable, c, self.params)).collect()).collect();
        let plans_of = |q: &Query| &plans[masks.binary_search(&(q.typed, q.keyable)).expect("every mask was planned")];
        // Probes by bucket, and scan requests.
        let planned: Vec<(Vec<(u32, u32, u32)>, Vec<(u32, u32)>)> = qs
            .par_iter()
            .enumerate()
            .map(|(qi, q)| {
                let mut used: Plan = 0;
                let mut scans = Vec::new();
                let mut probes = Vec::new();
                let mut widening = None;
                for (ci, p) in plans_of(q).iter().enumerate() {
                    match p {
                        Some(0) => match self.widened(q, &classes[ci], &mut widening) {
                            Some(keys) => probes.extend(keys.into_iter().map(|k| (self.shard.bucket_of(k), qi as u32, CLASS_FILTER + ci as u32))),
                            None => scans.push((ci as u32, qi as u32)),
                        },
                        Some(p) => used |= p,
                        None => {}
                    }
                }
                for m in bits(used) {
                    for key in q.keys(m) {
                        probes.push((self.shard.bucket_of(key), qi as u32, m as u32));
                    }
                }
                (probes, scans)
            })
            .collect();
        let (probes, scans): (Vec<_>, Vec<_>) = planned.into_iter().unzip();
        let mut probes: Vec<(u32, u32, u32)> = probes.concat();
        let mut scans: Vec<(u32, u32)> = scans.concat();
        probes.par_sort_unstable();
        scans.par_sort_unstable();

        // Read buckets in order; keep postings whose class the query probes with this member.
        let mut candidates: Vec<(u32, u32)> = probes
            .par_chunks(4096)
            .map(|chunk| {
                let mut out = Vec::new();
                for &(b, qi, filter) in chunk {
                    let postings = self.shard.bucket(b)?;
                    let plans = plans_of(&qs[qi as usize]);
                    for i in 0..postings.len() {
                        let id = postings.get(i);
                        let ci = self.class_index(id)?;
                        let wanted = if filter >= CLASS_FILTER {
                            ci as u32 == filter - CLASS_FILTER
                        } else {
                            plans[ci].is_some_and(|p| p & (1 << filter) != 0)
                        };
                        if wanted {
                            out.push((id, qi));
                        }
                    }
                }
                Ok(out)
            })
            .collect::<Result<Vec<_>>>()?
            .concat();
        candidates.par_sort_unstable();
        candidates.dedup();

        // Check candidates in profile order.
        let mut found: Vec<(u32, Hit)> = candidates
            .par_chunks(4096)
            .map(|chunk| {
                let mut out = Vec::new();
                for &(id, qi) in chunk {
                    let c = &classes[self.class_index(id)?];
                    if let Some(hit) = self.check(&qs[qi as usize], c, id)? {
                        out.push((qi, hit));
                    }
                }
                Ok(out)
            })
            .collect::<Result<Vec<_>>>()?
            .concat();

        // Scan each class once per block of profiles for all queries that need it.
        let groups: Vec<&[(u32, u32)]> = scans.chunk_by(|a, b| a.0 == b.0).collect();
        let scanned = groups
            .par_iter()
            .flat_map_iter(|group| {
                let c = &classes[group[0].0 as usize];
                let blocks = (c.start..c.end).step_by(SCAN_BLOCK).map(move |s| (s, (s + SCAN_BLOCK as u32).min(c.end)));
                blocks.map(move |(s, e)| (c, s, e, *group))
            })
            .map(|(c, s, e, group)| {
                let block = Class { start: s, end: e, ..*c };
                let mut out = Vec::new();
                for &(_, qi) in group {
                    let q = &qs[qi as usize];
                    for (id, r) in self.scan(q, &block, self.shard.cores()) {
                        if let Some(hit) = self.finish(q, c, id, r)? {
                            out.push((qi, hit));
                        }
                    }
                }
                Ok(out)
            })
            .collect::<Result<Vec<_>>>()?;
        found.extend(scanned.into_iter().flatten());
        Ok(found)
    }

    /// The widened probe of class `c` for `q`, if cheaper than a scan.
    /// Classes too small to gain are left to the scan before any work.
    fn widened(&self, q: &Query, c: &Class, widening: &mut Option<Widening>) -> Option<Vec<u64>> {
        if PROBE_COST >= (c.end - c.start) as usize {
            return None;
        }
        let compared = (q.typed & c.typed).count_ones();
        let w = widening.get_or_insert_with(|| Widening::new(q, self.shard));
        w.keys(q, c, compared > u32::from(self.params.min_loci))
    }

    /// Kernel scan of the ids `c.start..c.end`: those that can still be a
    /// hit once the other loci are compared, tombstoned ones left out.
    fn scan(&self, q: &Query, c: &Class, cores: &[u8]) -> Vec<(u32, CoreResult)> {
        let other = ((q.typed & c.typed) >> ESS_COUNT).count_ones() as u8;
        let min_core = self.params.min_loci.saturating_sub(other);
        let range = c.start as usize * CORE_BYTES..c.end as usize * CORE_BYTES;
        let mut out = Vec::new();
        if let Some(block) = cores.get(range) {
            q.core.scan(self.level, block, 1, min_core, |i, r| {
                let id = c.start + i as u32;
                if !self.tomb[id as usize] {
                    out.push((id, r));
                }
            });
        }
        out
    }

    /// Exact check of candidate `id` of class `c`.
    fn check(&self, q: &Query, c: &Class, id: u32) -> Result<Option<Hit>> {
        if self.tomb.get(id as usize).is_none_or(|t| *t) {
            return Ok(None);
        }
        let core = self.shard.core(id as usize).ok_or_else(|| Error::corrupt(self.shard.path(), format!("profile {id} has no core")))?;
        let r = q.core.compare(self.level, core);
        if r.differing > 1 {
            return Ok(None);
        }
        self.finish(q, c, id, r)
    }

    /// Adds the loci beyond the ESS core to a kernel result and turns it into
    /// a hit if the rules say so.
    fn finish(&self, q: &Query, c: &Class, id: u32, r: CoreResult) -> Result<Option<Hit>> {
        let mut compared = r.compared;
        let mut matching = r.matching;
        let mut differing = r.differing;
        let mut differing_locus = (r.differing_loci != 0).then(|| r.differing_loci.trailing_zeros() as usize);
        let extra = c.extra_loci();
        if (q.typed >> ESS_COUNT) & extra != 0 {
            let stored = self.shard.extras(c, id);
            let loci = (0..LOCUS_COUNT - ESS_COUNT).filter(|j| extra & (1 << j) != 0);
            for (k, j) in loci.enumerate() {
                let l = ESS_COUNT + j;
                let Some(b) = stored.get(2 * k..2 * k + 2) else {
                    return Err(Error::corrupt(self.shard.path(), format!("profile {id} lacks its other loci")));
                };
                if !q.loci[l].is_typed() {
                    continue;
                }
                let locus = Locus::from_index(l).expect("l < LOCUS_COUNT");
                let d = locus_differences(locus, q.loci[l], Genotype::from_codes([b[0], b[1]]), self.params.microvariant_tolerance);
                compared += 1;
                if d == 0 {
                    matching += 1;
                } else {
                    differing += d;
                    differing_locus = Some(l);
                }
            }
        }
        let comparison = Comparison {
            compared,
            matching,
            differing_alleles: differing,
            differing_locus: differing_locus.and_then(Locus::from_index),
        };
        let Some(quality) = comparison.quality(self.params) else { return Ok(None) };
        let reference = self.shard.reference(id as usize)?.to_string();
        let authority = self.shard.authority(id as usize)?.to_string();
        Ok(Some(Hit::new(reference, authority, quality, &comparison)))
    }
}

/// A probe costs about as much as scanning this many profiles with the
/// kernel. The unit tests set it to 0 so that every class a member fits is
/// probed widened (the integration tests exercise the scans).
const PROBE_COST: usize = if cfg!(test) { 0 } else { 25 };

/// A probe's filter at or above this names a class (widened probe), below it
/// a member of the plan.
const CLASS_FILTER: u32 = 32;

/// Profiles scanned per block in a batch (fits the L2 cache).
const SCAN_BLOCK: usize = 4096;

/// The set bits of a plan, ascending.
fn bits(plan: Plan) -> impl Iterator<Item = usize> {
    (0..32).filter(move |m| plan & (1 << m) != 0)
}

#[cfg(test)]
#[path = "../../tests/common/mod.rs"]
mod common;

#[cfg(test)]
mod tests {
    use super::common::{check_all_paths, database, params};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// With `PROBE_COST` 0, classes without a plan are probed widened.
        #[test]
        fn widened_probes_equal_brute_force((db, queries) in database(), params in params(), shards in 1usize..3) {
            prop_assume!(!db.is_empty());
            check_all_paths(&db, &queries, &params, shards)?;
        }
    }
}

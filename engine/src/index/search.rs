//! Search: the hits of DNA queries over every shard of an index.
//!
//! For each shard and each group of stored profiles (same keyable ESS loci;
//! a contiguous id range of classes) the query first decides what is
//! possible: if fewer loci are typed in both than a hit needs, the group is
//! skipped; otherwise [`keys::plan`] names the members to probe, or the
//! sets of the group's family are probed, or else the group is probed widened or
//! scanned with the kernel. Probed buckets give candidates; every candidate
//! and every scanned profile is checked with the exact rules (kernel for
//! the ESS core, [`locus_differences`] for the other loci). Why no hit is
//! lost is argued in [`keys`].
//!
//! A batch ([`Index::search_batch`]) is a join, not N lookups: plans are
//! made once per distinct query masks; the probes of each run of
//! [`JOIN_QUERIES`] queries are sorted by bucket and read in bucket order,
//! their candidates sorted by profile id and checked in id order
//! (a run stays in cache; one sort of all probes and candidates of a chunk
//! measured no faster); and the groups that must be scanned are scanned
//! once per block of profiles for all queries that need it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use super::keys::{self, FamilySets, Plan};
use super::shard::{Class, Group, Shard};
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
    /// ESS loci typed with one wildcard and one allele (see [`keys`]).
    half: u16,
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
        let half = (0..ESS_COUNT).filter(|&l| matches!(p.loci[l].codes(), [a, 255] if a != 255)).fold(0, |h, l| h | 1 << l);
        let tolerance = params.microvariant_tolerance;
        Query { loci: p.loci, typed, keyable, half, core: CoreQuery::new(&p.loci, tolerance), parts, tolerance }
    }

    /// The masks that decide the query's plans.
    fn masks(&self) -> Masks {
        Masks { typed: self.typed, keyable: self.keyable, half: self.half }
    }
}

/// The masks of a query that decide its plans (see [`plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Masks {
    typed: u32,
    keyable: u16,
    half: u16,
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

    /// The widened probe of group `g`: the keys of the cheapest member
    /// inside the loci typed in the query and keyable in the group, if that
    /// is cheaper than scanning the group.
    fn keys(&self, q: &Query, g: &Group, near: bool) -> Option<Vec<u64>> {
        let s = (q.typed as u16) & g.keyable;
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
        if cost.saturating_mul(PROBE_COST) >= (g.end - g.start) as usize {
            return None;
        }
        let (salt, mask) = (keys::member_salt(m, g.keyable), keys::member_mask(m));
        if !near {
            return Some(member_keys(salt, mask, |l| &self.compatible[l]));
        }
        let mut all = Vec::with_capacity(cost);
        for x in keys::member_loci(m) {
            all.extend(member_keys(salt, mask, |l| if l == x { &self.wide[l] } else { &self.compatible[l] }));
        }
        all.sort_unstable();
        all.dedup();
        Some(all)
    }
}

/// The keys with salt `salt` over the ESS loci `loci` when locus `l` takes
/// its parts from `parts(l)`: one key per combination, passed to `emit`.
fn for_each_key<'p>(salt: usize, loci: u16, parts: impl Fn(usize) -> &'p [u16], mut emit: impl FnMut(u64)) {
    let mut choices: [&[u16]; ESS_COUNT] = [&[]; ESS_COUNT];
    let mut n = 0;
    for l in keys::loci(loci) {
        choices[n] = parts(l);
        n += 1;
    }
    if choices[..n].iter().any(|c| c.is_empty()) {
        return;
    }
    // An odometer over the choices, last locus fastest.
    let mut at = [0usize; ESS_COUNT];
    'next: loop {
        emit(keys::key(salt, (0..n).map(|i| choices[i][at[i]])));
        let mut i = n;
        loop {
            if i == 0 {
                break 'next;
            }
            i -= 1;
            at[i] += 1;
            if at[i] < choices[i].len() {
                break;
            }
            at[i] = 0;
        }
    }
}

/// [`for_each_key`], collected.
fn member_keys<'p>(salt: usize, loci: u16, parts: impl Fn(usize) -> &'p [u16]) -> Vec<u64> {
    let mut keys = Vec::new();
    for_each_key(salt, loci, parts, |k| keys.push(k));
    keys
}

/// What a query with masks `q` does with group `g`, with which it compares
/// `compared` loci (at least min-loci): the members to probe, or
/// [`keys::FAMILY`], whose sets are added to `sets`; `0`: probe widened or
/// scan the group.
fn plan(q: Masks, g: &Group, compared: u32, params: &MatchParams, sets: &mut FamilySets) -> Plan {
    let a = q.keyable & g.keyable;
    let near = compared > u32::from(params.min_loci);
    // A half locus only when the keyable ones give no plan: it costs more.
    let p = match keys::plan(a, None, near) {
        0 => keys::loci(q.half & g.keyable).map(|l| keys::plan(a, Some(l), near)).find(|&p| p != 0).unwrap_or(0),
        p => p,
    };
    if p != 0 {
        return p;
    }
    match keys::family_probes(g.keyable, g.is_exact(), a, near) {
        Some(family) => {
            sets.add(&family);
            keys::FAMILY
        }
        None => 0,
    }
}

/// What a query with given masks does with every group of one shard.
#[derive(Debug)]
pub(crate) struct Planned {
    /// Per group: [`NO_HIT`], `0` (probe widened or scan: see `open`), or
    /// the members to probe, maybe with [`keys::FAMILY`].
    plans: Vec<Plan>,
    /// Every member any group's plan probes, and [`keys::FAMILY`] if any:
    /// for groups keyable at all twelve ESS loci (`used[1]`) and others.
    used: [Plan; 2],
    /// The family sets to probe.
    sets: FamilySets,
    /// The groups with plan `0`.
    open: Vec<u32>,
}

impl Planned {
    fn new(shard: &Shard, q: Masks, params: &MatchParams) -> Planned {
        let groups = shard.groups();
        let mut planned = Planned { plans: vec![NO_HIT; groups.len()], used: [0; 2], sets: FamilySets::default(), open: Vec::new() };
        // Most groups of a partial query share too few loci with it: find
        // the others in a tight pass over the groups' typed loci.
        let min_loci = u32::from(params.min_loci);
        for (gi, &typed) in shard.group_typed().iter().enumerate() {
            let compared = (q.typed & typed).count_ones();
            if compared < min_loci {
                continue;
            }
            let g = &groups[gi];
            planned.plans[gi] = match plan(q, g, compared, params, &mut planned.sets) {
                0 => {
                    planned.open.push(gi as u32);
                    0
                }
                p => {
                    planned.used[usize::from(g.keyable == keys::ALL_ESS)] |= p;
                    p
                }
            };
        }
        planned
    }
}

/// Plans of recent single queries by masks and min-loci, per shard: most
/// queries share a few masks (every full ESS-12 profile has the same), and
/// planning touches every group.
#[derive(Debug, Default)]
pub(crate) struct PlanCache(Mutex<HashMap<(Masks, u8), Arc<Planned>>>);

impl PlanCache {
    /// Masks kept at most; the cache is emptied when full.
    const CAPACITY: usize = 1024;

    fn get(&self, shard: &Shard, q: Masks, params: &MatchParams) -> Arc<Planned> {
        let key = (q, params.min_loci);
        let lock = || self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(p) = lock().get(&key) {
            return Arc::clone(p);
        }
        let planned = Arc::new(Planned::new(shard, q, params));
        let mut cache = lock();
        if cache.len() >= Self::CAPACITY {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&planned));
        planned
    }
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

    /// [`Index::search`] on the calling thread, shard after shard: for a
    /// server that runs many queries at once, where handing each one's
    /// shards to the thread pool only adds hand-offs between threads.
    ///
    /// # Errors
    /// `Corrupt` if shard bytes are found inconsistent on the way.
    pub fn search_here(&self, query: &Profile, params: &MatchParams) -> Result<Vec<Hit>> {
        let q = Query::new(query, params);
        let level = kernels::level();
        let mut hits = Vec::new();
        for (shard, tomb) in self.shards.iter().zip(&self.tombstones) {
            hits.extend(ShardSearch { shard, tomb, params, level }.one(&q)?);
        }
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

/// What the lookups of some queries found: (query index, hit), and the
/// (group, query index) pairs left to scan.
type Lookup = (Vec<(u32, Hit)>, Vec<(u32, u32)>);

/// One shard searched with fixed parameters.
struct ShardSearch<'a> {
    shard: &'a Shard,
    tomb: &'a Tombstones,
    params: &'a MatchParams,
    level: Level,
}

impl ShardSearch<'_> {
    /// The class holding profile `id`.
    fn class_of(&self, id: u32) -> Result<&Class> {
        self.shard.class_of_id(id).ok_or_else(|| Error::corrupt(self.shard.path(), format!("posting names profile {id}, which does not exist")))
    }

    /// Index of the group holding profile `id`.
    fn group_of(&self, id: u32) -> Result<usize> {
        self.shard.group_index(id).ok_or_else(|| Error::corrupt(self.shard.path(), format!("posting names profile {id}, which does not exist")))
    }

    /// One query: plan every group (plans are cached per query masks),
    /// look it up in the index, scan the groups the lookup leaves.
    fn one(&self, q: &Query) -> Result<Vec<Hit>> {
        let planned = self.shard.plan_cache.get(self.shard, q.masks(), self.params);
        let (found, scans) = self.lookup_join(std::slice::from_ref(q), 0, &|_| &*planned)?;
        let mut hits: Vec<Hit> = found.into_iter().map(|(_, hit)| hit).collect();
        // Such groups are mostly a few profiles each, far apart: load their
        // first cores ahead.
        let groups = self.shard.groups();
        for (i, &(gi, _)) in scans.iter().enumerate() {
            if let Some(&(ahead, _)) = scans.get(i + PREFETCH_AHEAD) {
                self.shard.prefetch_core(groups[ahead as usize].start);
            }
            let g = &groups[gi as usize];
            hits.extend(self.scan_group(q, g, g.start..g.end)?);
        }
        Ok(hits)
    }

    /// The buckets a query probes for the members of `used` and for the
    /// family sets `sets`, each with its tag (the plan bit that must be set
    /// in the posting's group for the posting to be a candidate).
    fn probes(&self, q: &Query, used: [Plan; 2], sets: &FamilySets) -> Vec<(u32, u32)> {
        // At a half locus, every stored part with a token of the query's allele.
        let half: [Vec<u16>; ESS_COUNT] = std::array::from_fn(|l| {
            if q.half & (1 << l) != 0 {
                keys::compatible_parts(q.loci[l], self.shard.observed_tokens(l), q.tolerance)
            } else {
                Vec::new()
            }
        });
        let parts = |l: usize| if q.half & (1 << l) != 0 { &half[l][..] } else { &q.parts[l][..] };
        let mut probes = Vec::new();
        for (plan, keyable) in used.into_iter().zip([0, keys::ALL_ESS]) {
            for m in keys::bits(plan) {
                for_each_key(keys::member_salt(m, keyable), keys::member_mask(m), parts, |k| probes.push((self.shard.bucket_of(k), m as u32)));
            }
        }
        for s in sets.iter() {
            for_each_key(keys::family_salt(s), s, parts, |k| probes.push((self.shard.family_bucket_of(k), keys::FAMILY.trailing_zeros())));
        }
        probes
    }

    /// A chunk of queries as a join: returns (query index, hit) pairs.
    /// Plans are made once per distinct masks, lookups are joins of small
    /// runs of queries ([`JOIN_QUERIES`]: their probes and candidates stay
    /// in cache), and each group that must be scanned is scanned once per
    /// block of profiles for all the queries that need it.
    fn join(&self, qs: &[Query]) -> Result<Vec<(u32, Hit)>> {
        let groups = self.shard.groups();
        // Plans depend only on the query's masks: plan each distinct pair of
        // masks once (every full ESS-12 query shares one).
        let mut masks: Vec<Masks> = qs.iter().map(Query::masks).collect();
        masks.par_sort_unstable();
        masks.dedup();
        let planned_masks: Vec<Planned> = masks.par_iter().map(|&m| Planned::new(self.shard, m, self.params)).collect();
        let plan_of: Vec<u32> = qs.par_iter().map(|q| masks.binary_search(&q.masks()).expect("every mask was planned") as u32).collect();
        let planned = |qi: usize| &planned_masks[plan_of[qi] as usize];
        let runs = qs
            .par_chunks(JOIN_QUERIES)
            .enumerate()
            .map(|(r, run)| self.lookup_join(run, r * JOIN_QUERIES, &planned))
            .collect::<Result<Vec<_>>>()?;
        let (found, scans): (Vec<_>, Vec<_>) = runs.into_iter().unzip();
        let mut found: Vec<(u32, Hit)> = found.concat();
        let mut scans: Vec<(u32, u32)> = scans.concat();
        scans.par_sort_unstable();

        // Scan each group once per block of profiles for all queries that need it.
        let requests: Vec<&[(u32, u32)]> = scans.chunk_by(|a, b| a.0 == b.0).collect();
        let scanned = requests
            .par_iter()
            .flat_map_iter(|request| {
                let g = &groups[request[0].0 as usize];
                let blocks = (g.start..g.end).step_by(SCAN_BLOCK).map(move |s| s..(s + SCAN_BLOCK as u32).min(g.end));
                blocks.map(move |ids| (g, ids, *request))
            })
            .map(|(g, ids, request)| {
                let mut out = Vec::new();
                for &(_, qi) in request {
                    out.extend(self.scan_group(&qs[qi as usize], g, ids.clone())?.into_iter().map(|hit| (qi, hit)));
                }
                Ok(out)
            })
            .collect::<Result<Vec<_>>>()?;
        found.extend(scanned.into_iter().flatten());
        Ok(found)
    }

    /// The lookups of queries `qs` (indices from `base`) as one join: their
    /// probes read in bucket order, the postings kept sorted by profile id
    /// and checked in id order.
    fn lookup_join<'p>(&self, qs: &[Query], base: usize, planned: &impl Fn(usize) -> &'p Planned) -> Result<Lookup> {
        let groups = self.shard.groups();
        let mut scans = Vec::new();
        let mut probes: Vec<(u32, u32, u32)> = Vec::new();
        for (i, q) in qs.iter().enumerate() {
            let qi = (base + i) as u32;
            let planned = planned(qi as usize);
            let mut widening = None;
            for &gi in &planned.open {
                match self.widened(q, &groups[gi as usize], &mut widening) {
                    Some(keys) => probes.extend(keys.into_iter().map(|k| (self.shard.bucket_of(k), qi, GROUP_FILTER + gi))),
                    None => scans.push((gi, qi)),
                }
            }
            probes.extend(self.probes(q, planned.used, &planned.sets).into_iter().map(|(b, tag)| (b, qi, tag)));
        }
        probes.sort_unstable_by_key(|&(b, _, _)| b);
        // Three passes so that the memory loads of all probes overlap.
        for &(b, _, _) in &probes {
            self.shard.prefetch_bucket(b);
        }
        let buckets = probes.iter().map(|&(b, qi, tag)| Ok((self.shard.bucket(b)?, qi, tag))).collect::<Result<Vec<_>>>()?;
        for (postings, _, _) in &buckets {
            postings.prefetch();
        }
        // Keep postings whose group the query probes with this tag, as
        // (profile id, query index) packed into a u64.
        let mut candidates: Vec<u64> = Vec::new();
        for (postings, qi, tag) in buckets {
            let plans = &planned(qi as usize).plans;
            for i in 0..postings.len() {
                let id = postings.get(i);
                let gi = self.group_of(id)?;
                let wanted = if tag >= GROUP_FILTER { gi as u32 == tag - GROUP_FILTER } else { plans[gi] & (1 << tag) != 0 };
                if wanted {
                    candidates.push(u64::from(id) << 32 | u64::from(qi));
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut found = Vec::new();
        for (i, &c) in candidates.iter().enumerate() {
            let (id, qi) = ((c >> 32) as u32, c as u32);
            if let Some(&ahead) = candidates.get(i + PREFETCH_AHEAD) {
                self.shard.prefetch_core((ahead >> 32) as u32);
            }
            if let Some(hit) = self.check(&qs[qi as usize - base], id)? {
                found.push((qi, hit));
            }
        }
        Ok((found, scans))
    }

    /// The widened probe of group `g` for `q`, if cheaper than a scan.
    /// Groups too small to gain are left to the scan before any work.
    fn widened(&self, q: &Query, g: &Group, widening: &mut Option<Widening>) -> Option<Vec<u64>> {
        if PROBE_COST >= (g.end - g.start) as usize {
            return None;
        }
        let compared = (q.typed & g.typed).count_ones();
        let w = widening.get_or_insert_with(|| Widening::new(q, self.shard));
        w.keys(q, g, compared > u32::from(self.params.min_loci))
    }

    /// The hits among profiles `ids` of group `g`, by kernel scan. Classes
    /// where no hit is possible are skipped; each run of consecutive other
    /// classes is scanned in one pass (groups with wildcards hold many
    /// classes of a few profiles each), with the kernel's bound on matching
    /// ESS loci loose enough for every class of the run; [`Self::finish`]
    /// applies the exact rules.
    fn scan_group(&self, q: &Query, g: &Group, ids: std::ops::Range<u32>) -> Result<Vec<Hit>> {
        let classes = &self.shard.classes()[g.classes.clone()];
        let min_loci = u32::from(self.params.min_loci);
        let possible = |c: &Class| c.start < ids.end && (q.typed & c.typed).count_ones() >= min_loci;
        let mut hits = Vec::new();
        let mut found = Vec::new();
        let mut i = classes.partition_point(|c| c.end <= ids.start);
        while i < classes.len() && classes[i].start < ids.end {
            if !possible(&classes[i]) {
                i += 1;
                continue;
            }
            let run = &classes[i..i + classes[i..].iter().take_while(|c| possible(c)).count()];
            let other = run.iter().map(|c| ((q.typed & c.typed) >> ESS_COUNT).count_ones()).max().unwrap_or(0);
            let min_core = self.params.min_loci.saturating_sub(other as u8);
            let (start, end) = (run[0].start.max(ids.start), run[run.len() - 1].end.min(ids.end));
            found.clear();
            if let Some(block) = self.shard.cores().get(start as usize * CORE_BYTES..end as usize * CORE_BYTES) {
                q.core.scan(self.level, block, 1, min_core, |k, r| {
                    let id = start + k as u32;
                    if !self.tomb[id as usize] {
                        found.push((id, r));
                    }
                });
            }
            for &(id, r) in &found {
                hits.extend(self.finish(q, &run[run.partition_point(|c| c.end <= id)], id, r)?);
            }
            i += run.len();
        }
        Ok(hits)
    }

    /// Exact check of candidate `id`.
    fn check(&self, q: &Query, id: u32) -> Result<Option<Hit>> {
        if self.tomb.get(id as usize).is_none_or(|t| *t) {
            return Ok(None);
        }
        let core = self.shard.core(id as usize).ok_or_else(|| Error::corrupt(self.shard.path(), format!("profile {id} has no core")))?;
        let r = q.core.compare(self.level, core);
        if r.differing > 1 {
            return Ok(None);
        }
        self.finish(q, self.class_of(id)?, id, r)
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

/// A probe's tag at or above this names a group (widened probe), below it
/// a bit of the plan.
const GROUP_FILTER: u32 = 32;

/// The plan of a group where no hit is possible (in the batch tables): a
/// bit that no probe tag tests, so that 0 keeps meaning "widen or scan".
const NO_HIT: Plan = 1 << 30;

/// How many candidates ahead of the one being checked are prefetched.
const PREFETCH_AHEAD: usize = 8;

/// Queries per join of lookups in a batch: few enough that their probes
/// and candidates stay in cache.
const JOIN_QUERIES: usize = 16;

/// Profiles scanned per block in a batch (fits the L2 cache).
const SCAN_BLOCK: usize = 4096;

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

//! Synthetic DNA data sets: the generator behind `hitdex generate dna`, and
//! the query mixes of the benchmarks and the demo (SPEC section 7).
//!
//! Genotypes are drawn from real allele frequencies ([`AlleleFrequencies`]),
//! so microvariants (TH01 9.3, FGA 22.2, D21S11 30.2 ...) and homozygotes
//! come in their natural shares. A data set mixes what a national database
//! holds:
//!
//! - **persons** (80 % by default), typed at the twelve loci of the European
//!   Standard Set and optionally at extra loci;
//! - **traces** (20 %), partial: each locus drops out with a probability
//!   that grows with the locus' amplicon length, never below six loci, and a
//!   few per cent of typed loci carry a wildcard. Half of them are traces
//!   *of enrolled persons*, so that searches find full hits;
//! - **planted relations** among persons: re-enrolments of a person under
//!   another reference and/or authority (full hits), near-duplicates with one
//!   allele moved to an adjacent repeat (near hits), and full siblings (which
//!   mostly do not hit, but share many alleles and so stress the matcher).
//!
//! [`generate_with_truth`] and [`queries_with_truth`] also return what was
//! planted, for tests and benchmarks that check the hits.
//!
//! Output depends on the seed only, never on the number of threads: profiles
//! are made in fixed chunks of [`CHUNK`], each with its own ChaCha8 stream
//! (key from the seed, stream number from the pass and the chunk), in
//! parallel. Relations read their source anywhere in the set, so they are
//! made in a second pass once every independent profile exists. The only
//! allocations per profile are its two strings.

use hitdex_engine::dna::{
    Allele, Genotype, HitQuality, Kind, Locus, Profile, ESS_COUNT, LOCUS_COUNT, MIN_TYPED_LOCI,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::frequencies::AlleleFrequencies;
use crate::DatasetError;

/// Profiles made with one random stream. Fixed: changing it changes every
/// generated data set.
pub const CHUNK: usize = 4096;

/// Designated-authority codes given to generated profiles: federal and
/// state police laboratories and national forensic institutes of Prüm
/// countries.
pub const AUTHORITIES: [&str; 12] = [
    "DE-BKA",
    "DE-LKA-BW",
    "DE-LKA-BY",
    "DE-LKA-NW",
    "FR-PTS",
    "FR-IRCGN",
    "NL-NFI",
    "AT-BK",
    "BE-NICC",
    "CH-FEDPOL",
    "PL-CLKP",
    "CZ-KUP",
];

/// Relative dropout of the ESS loci in traces, by canonical index: long
/// amplicons (FGA, D18S51, D21S11, D12S391) fail first in degraded DNA, the
/// mini-STRs added in 2009 (D2S441, D10S1248, D22S1045) last. Mean ≈ 1.
const DROPOUT_WEIGHT: [f64; ESS_COUNT] =
    [0.8, 0.9, 1.0, 1.2, 1.4, 0.9, 1.4, 1.1, 0.6, 0.6, 1.2, 0.6];

/// Stream numbers of the passes (top byte of the ChaCha stream).
const PASS_INDEPENDENT: u64 = 1;
const PASS_RELATED: u64 = 2;
const PASS_QUERIES: u64 = 3;

/// What to generate. Shares out of range are clamped to `0..=1` by
/// [`generate`]; [`check`](Self::check) reports them instead.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticConfig {
    /// Number of profiles (default 10,000).
    pub profiles: usize,
    /// Seed: the same seed gives the same profiles (default 1).
    pub seed: u64,
    /// Share of traces among all profiles (default 0.20).
    pub trace_share: f64,
    /// Share of traces that are traces of enrolled persons (default 0.5);
    /// the others come from unknown donors.
    pub traces_of_persons: f64,
    /// Share of persons re-enrolled with the same genotypes under another
    /// reference and/or authority (default 0.01).
    pub duplicate_share: f64,
    /// Share of persons that are a copy of another with one allele moved to
    /// an adjacent repeat (default 0.005).
    pub near_duplicate_share: f64,
    /// Share of persons that are a full sibling of another (default 0.005).
    pub relative_share: f64,
    /// Mean probability that a trace loses a locus (default 0.25; scaled
    /// per locus by amplicon length). Traces keep at least six loci.
    pub dropout: f64,
    /// Probability that a typed locus of a trace has one allele replaced by
    /// the wildcard `*` (default 0.03).
    pub wildcard_rate: f64,
    /// Loci typed in persons besides the twelve ESS loci (default none).
    /// Loci the frequency table lacks are left untyped.
    pub extra_loci: Vec<Locus>,
    /// Designated authorities to draw from (default [`AUTHORITIES`]).
    pub authorities: Vec<String>,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        SyntheticConfig {
            profiles: 10_000,
            seed: 1,
            trace_share: 0.20,
            traces_of_persons: 0.5,
            duplicate_share: 0.01,
            near_duplicate_share: 0.005,
            relative_share: 0.005,
            dropout: 0.25,
            wildcard_rate: 0.03,
            extra_loci: Vec::new(),
            authorities: AUTHORITIES.iter().map(|a| a.to_string()).collect(),
        }
    }
}

impl SyntheticConfig {
    /// Checks that shares and probabilities lie in `0..=1`, that the person
    /// relations add up to at most 1, and that there is an authority.
    ///
    /// # Errors
    /// [`DatasetError::InvalidConfig`] naming the first bad field.
    pub fn check(&self) -> Result<(), DatasetError> {
        let shares = [
            ("trace_share", self.trace_share),
            ("traces_of_persons", self.traces_of_persons),
            ("duplicate_share", self.duplicate_share),
            ("near_duplicate_share", self.near_duplicate_share),
            ("relative_share", self.relative_share),
            ("dropout", self.dropout),
            ("wildcard_rate", self.wildcard_rate),
        ];
        if let Some((name, x)) = shares.iter().find(|(_, x)| !(0.0..=1.0).contains(x)) {
            return Err(DatasetError::InvalidConfig(format!(
                "{name} = {x} is not between 0 and 1"
            )));
        }
        let related = self.duplicate_share + self.near_duplicate_share + self.relative_share;
        if related > 1.0 {
            return Err(DatasetError::InvalidConfig(format!(
                "duplicate, near-duplicate and relative shares add up to {related} > 1"
            )));
        }
        if self.authorities.is_empty() || self.authorities.iter().any(String::is_empty) {
            return Err(DatasetError::InvalidConfig(
                "authorities must be a non-empty list of non-empty codes".into(),
            ));
        }
        Ok(())
    }
}

/// How a planted profile relates to its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relation {
    /// The same genotypes (a re-enrolment, or an exact copy as a query).
    Duplicate,
    /// A copy with one allele moved to an adjacent repeat at `locus`.
    NearDuplicate {
        /// The locus with the changed allele.
        locus: Locus,
    },
    /// A full sibling: at each locus 2, 1 or 0 alleles shared identical by
    /// descent with probability 1/4, 1/2, 1/4.
    Sibling,
    /// A partial trace of the source: loci dropped out, maybe a wildcard.
    Trace,
}

impl Relation {
    /// The hit a search with default parameters finds on the source, when
    /// the two profiles share enough loci (at least seven for a near hit):
    /// full for duplicates and traces, near for near-duplicates, none
    /// expected for siblings.
    pub fn expected(self) -> Option<HitQuality> {
        match self {
            Relation::Duplicate | Relation::Trace => Some(HitQuality::Full),
            Relation::NearDuplicate { .. } => Some(HitQuality::Near),
            Relation::Sibling => None,
        }
    }
}

/// A planted relation: profile `profile` was derived from `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Planted {
    /// Index of the derived profile (in the generated set, or in the
    /// queries).
    pub profile: usize,
    /// Index of its source (in the generated set, or in the database the
    /// queries were drawn from).
    pub source: usize,
    /// How they relate.
    pub relation: Relation,
}

/// Generated profiles and the relations planted among them.
#[derive(Debug, Clone, Default)]
pub struct Synthetic {
    /// The profiles, in order.
    pub profiles: Vec<Profile>,
    /// The planted relations, by increasing `profile`.
    pub planted: Vec<Planted>,
}

/// The role of a profile in a generated set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    /// An independent person: the source of every relation.
    Person,
    UnknownTrace,
    TraceOfPerson,
    Duplicate,
    NearDuplicate,
    Sibling,
}

/// The configuration, turned into what the inner loops need.
struct Plan<'a> {
    freqs: &'a AlleleFrequencies,
    /// Loci typed in persons: the ESS loci, then extra loci of the table.
    person_loci: Vec<Locus>,
    /// Cumulative role thresholds: trace of person, unknown trace,
    /// duplicate, near-duplicate, sibling; persons above.
    roles: [f64; 5],
    /// Dropout probability per locus.
    dropout: [f64; LOCUS_COUNT],
    wildcard_rate: f64,
    authorities: Vec<String>,
}

fn share(x: f64) -> f64 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0)
    }
}

impl<'a> Plan<'a> {
    fn new(freqs: &'a AlleleFrequencies, config: &SyntheticConfig) -> Plan<'a> {
        let mut person_loci: Vec<Locus> = Locus::all().take(ESS_COUNT).collect();
        for &l in &config.extra_loci {
            if freqs.has_locus(l) && !person_loci.contains(&l) {
                person_loci.push(l);
            }
        }
        let ts = share(config.trace_share);
        let tp = share(config.traces_of_persons);
        let (mut d, mut nd, mut r) = (
            share(config.duplicate_share),
            share(config.near_duplicate_share),
            share(config.relative_share),
        );
        let related = d + nd + r;
        if related > 1.0 {
            (d, nd, r) = (d / related, nd / related, r / related);
        }
        let p = 1.0 - ts;
        let roles = [
            ts * tp,
            ts,
            ts + p * d,
            ts + p * (d + nd),
            ts + p * (d + nd + r),
        ];
        let mean = share(config.dropout);
        let dropout = std::array::from_fn(|i| {
            (mean * DROPOUT_WEIGHT.get(i).copied().unwrap_or(1.0)).min(1.0)
        });
        let authorities = if config.authorities.is_empty() {
            AUTHORITIES.iter().map(|a| a.to_string()).collect()
        } else {
            config.authorities.clone()
        };
        Plan {
            freqs,
            person_loci,
            roles,
            dropout,
            wildcard_rate: share(config.wildcard_rate),
            authorities,
        }
    }

    fn role(&self, u: f64) -> Role {
        const ORDER: [Role; 5] = [
            Role::TraceOfPerson,
            Role::UnknownTrace,
            Role::Duplicate,
            Role::NearDuplicate,
            Role::Sibling,
        ];
        ORDER
            .iter()
            .zip(self.roles)
            .find(|(_, t)| u < *t)
            .map_or(Role::Person, |(r, _)| *r)
    }

    fn authority(&self, rng: &mut ChaCha8Rng) -> String {
        self.authorities[rng.gen_range(0..self.authorities.len())].clone()
    }

    /// Another authority than `other` when there is one.
    fn other_authority(&self, other: &str, rng: &mut ChaCha8Rng) -> String {
        let n = self.authorities.len();
        let start = rng.gen_range(0..n);
        (0..n)
            .map(|k| &self.authorities[(start + k) % n])
            .find(|a| *a != other)
            .unwrap_or(&self.authorities[start])
            .clone()
    }

    /// A person's genotypes at the person loci.
    fn person(&self, rng: &mut ChaCha8Rng) -> [Genotype; LOCUS_COUNT] {
        let mut loci = [Genotype::UNTYPED; LOCUS_COUNT];
        for &l in &self.person_loci {
            loci[l.index()] = self.freqs.sample_genotype(l, rng);
        }
        loci
    }

    /// Genotypes at the twelve ESS loci.
    fn ess(&self, rng: &mut ChaCha8Rng) -> [Genotype; LOCUS_COUNT] {
        let mut loci = [Genotype::UNTYPED; LOCUS_COUNT];
        for l in Locus::all().take(ESS_COUNT) {
            loci[l.index()] = self.freqs.sample_genotype(l, rng);
        }
        loci
    }

    /// A full sibling of `source` at the loci typed in it.
    fn sibling(
        &self,
        source: &[Genotype; LOCUS_COUNT],
        rng: &mut ChaCha8Rng,
    ) -> [Genotype; LOCUS_COUNT] {
        let mut loci = [Genotype::UNTYPED; LOCUS_COUNT];
        for l in Locus::all().filter(|l| source[l.index()].is_typed()) {
            let g = source[l.index()];
            loci[l.index()] = match rng.gen_range(0..4u8) {
                0 => g,
                1 | 2 => Genotype::new(
                    g.alleles()[usize::from(rng.gen::<bool>())],
                    self.freqs.sample(l, rng),
                ),
                _ => self.freqs.sample_genotype(l, rng),
            };
        }
        loci
    }

    /// Turns `loci` into a trace: each typed locus drops out with its
    /// probability, keeping between `min` (or all, if fewer are typed) and
    /// `max` loci; then a few alleles become wildcards.
    fn degrade(
        &self,
        loci: &mut [Genotype; LOCUS_COUNT],
        min: usize,
        max: usize,
        rng: &mut ChaCha8Rng,
    ) {
        let original = *loci;
        let typed_before = original.iter().filter(|g| g.is_typed()).count();
        for (g, &p) in loci.iter_mut().zip(&self.dropout) {
            if g.is_typed() && rng.gen::<f64>() < p {
                *g = Genotype::UNTYPED;
            }
        }
        let mut typed = loci.iter().filter(|g| g.is_typed()).count();
        while typed < min.min(typed_before) {
            // Restore the k-th dropped locus.
            let dropped = typed_before - typed;
            let k = rng.gen_range(0..dropped);
            if let Some(i) = (0..LOCUS_COUNT)
                .filter(|&i| original[i].is_typed() && !loci[i].is_typed())
                .nth(k)
            {
                loci[i] = original[i];
            }
            typed += 1;
        }
        while typed > max.max(1) {
            let k = rng.gen_range(0..typed);
            if let Some(i) = (0..LOCUS_COUNT).filter(|&i| loci[i].is_typed()).nth(k) {
                loci[i] = Genotype::UNTYPED;
            }
            typed -= 1;
        }
        for g in loci.iter_mut().filter(|g| g.is_typed()) {
            if rng.gen::<f64>() < self.wildcard_rate {
                let [a, b] = g.alleles();
                *g = if rng.gen::<bool>() {
                    Genotype::new(Allele::WILDCARD, b)
                } else {
                    Genotype::new(a, Allele::WILDCARD)
                };
            }
        }
    }

    /// A fresh trace of an unknown donor.
    fn unknown_trace(
        &self,
        min: usize,
        max: usize,
        rng: &mut ChaCha8Rng,
    ) -> [Genotype; LOCUS_COUNT] {
        let mut loci = self.ess(rng);
        self.degrade(&mut loci, min, max, rng);
        loci
    }

    /// A trace of the person with genotypes `source`, on the ESS loci.
    fn trace_of(
        &self,
        source: &[Genotype; LOCUS_COUNT],
        rng: &mut ChaCha8Rng,
    ) -> [Genotype; LOCUS_COUNT] {
        let mut loci = [Genotype::UNTYPED; LOCUS_COUNT];
        loci[..ESS_COUNT].copy_from_slice(&source[..ESS_COUNT]);
        self.degrade(&mut loci, MIN_TYPED_LOCI, ESS_COUNT, rng);
        loci
    }

    /// Makes the independent profiles of chunk `c` and decides every role.
    fn independent_chunk(&self, seed: u64, c: usize, profiles: &mut [Profile], roles: &mut [Role]) {
        let mut rng = chunk_rng(seed, PASS_INDEPENDENT, c);
        for (k, (p, role)) in profiles.iter_mut().zip(roles.iter_mut()).enumerate() {
            let r = self.role(rng.gen::<f64>());
            *role = r;
            let trace = matches!(r, Role::TraceOfPerson | Role::UnknownTrace);
            p.kind = if trace { Kind::Trace } else { Kind::Person };
            p.reference = numbered(if trace { 'T' } else { 'P' }, c * CHUNK + k + 1, 10);
            if r != Role::Duplicate {
                p.authority = self.authority(&mut rng);
            }
            match r {
                Role::Person => {
                    p.loci = self.person(&mut rng);
                    p.amelogenin = amelogenin(&mut rng);
                }
                Role::UnknownTrace => {
                    p.loci = self.unknown_trace(MIN_TYPED_LOCI, ESS_COUNT, &mut rng);
                    p.amelogenin = amelogenin(&mut rng);
                }
                _ => {}
            }
        }
    }

    /// The related profiles of chunk `c`, derived from independent persons
    /// anywhere in `profiles` (indices `persons`).
    fn related_chunk(
        &self,
        seed: u64,
        c: usize,
        roles: &[Role],
        profiles: &[Profile],
        persons: &[usize],
    ) -> Vec<Update> {
        let mut rng = chunk_rng(seed, PASS_RELATED, c);
        let mut updates = Vec::new();
        for (k, &role) in roles.iter().enumerate() {
            if matches!(role, Role::Person | Role::UnknownTrace) {
                continue;
            }
            let index = c * CHUNK + k;
            let source = (!persons.is_empty()).then(|| persons[rng.gen_range(0..persons.len())]);
            let mut u = Update {
                offset: k,
                loci: [Genotype::UNTYPED; LOCUS_COUNT],
                amelogenin: [0; 2],
                authority: None,
                planted: None,
            };
            let Some(j) = source else {
                // No person to relate to (tiny or trace-only sets): an
                // independent profile instead.
                if role == Role::TraceOfPerson {
                    u.loci = self.unknown_trace(MIN_TYPED_LOCI, ESS_COUNT, &mut rng);
                } else {
                    u.loci = self.person(&mut rng);
                }
                u.amelogenin = amelogenin(&mut rng);
                if role == Role::Duplicate {
                    u.authority = Some(self.authority(&mut rng));
                }
                updates.push(u);
                continue;
            };
            let src = &profiles[j];
            let relation = match role {
                Role::Duplicate => {
                    u.loci = src.loci;
                    u.amelogenin = src.amelogenin;
                    u.authority = Some(if rng.gen::<bool>() {
                        src.authority.clone()
                    } else {
                        self.other_authority(&src.authority, &mut rng)
                    });
                    Relation::Duplicate
                }
                Role::NearDuplicate => {
                    u.loci = src.loci;
                    u.amelogenin = src.amelogenin;
                    change_one_allele(&mut u.loci, &mut rng).map_or(Relation::Duplicate, |locus| {
                        Relation::NearDuplicate { locus }
                    })
                }
                Role::Sibling => {
                    u.loci = self.sibling(&src.loci, &mut rng);
                    u.amelogenin = amelogenin(&mut rng);
                    Relation::Sibling
                }
                _ => {
                    u.loci = self.trace_of(&src.loci, &mut rng);
                    u.amelogenin = src.amelogenin;
                    Relation::Trace
                }
            };
            u.planted = Some(Planted {
                profile: index,
                source: j,
                relation,
            });
            updates.push(u);
        }
        updates
    }
}

/// What the second pass writes into one related profile.
struct Update {
    offset: usize,
    loci: [Genotype; LOCUS_COUNT],
    amelogenin: [u8; 2],
    authority: Option<String>,
    planted: Option<Planted>,
}

/// The random stream of chunk `c` of pass `pass`.
fn chunk_rng(seed: u64, pass: u64, c: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(pass << 56 | (c as u64 & ((1 << 56) - 1)));
    rng
}

/// `prefix` and `n` with at least `width` digits (`P0000001234`).
fn numbered(prefix: char, n: usize, width: usize) -> String {
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut m = n;
    loop {
        digits[len] = b'0' + (m % 10) as u8;
        len += 1;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    let mut s = String::with_capacity(1 + width.max(len));
    s.push(prefix);
    for _ in len..width {
        s.push('0');
    }
    s.extend(digits[..len].iter().rev().map(|&d| char::from(d)));
    s
}

/// Amelogenin of a woman or a man, even odds.
fn amelogenin(rng: &mut ChaCha8Rng) -> [u8; 2] {
    if rng.gen::<bool>() {
        [b'X', b'Y']
    } else {
        [b'X', b'X']
    }
}

/// Moves one allele of a typed locus without wildcard to an adjacent
/// repeat (`n.k` to `n±1.k`), and returns the locus. Such a change is always
/// exactly one differing allele under the matching rules, microvariant
/// tolerance or not: the positions move by a whole repeat unit (4 or 5),
/// and tolerance pairs only neighbours one apart. `None` if no locus allows
/// it.
fn change_one_allele(loci: &mut [Genotype; LOCUS_COUNT], rng: &mut ChaCha8Rng) -> Option<Locus> {
    let candidates = loci
        .iter()
        .filter(|g| g.is_typed() && !g.has_wildcard())
        .count();
    if candidates == 0 {
        return None;
    }
    let first = rng.gen_range(0..candidates);
    let which = usize::from(rng.gen::<bool>());
    let up = rng.gen::<bool>();
    let order: Vec<usize> = (0..LOCUS_COUNT)
        .filter(|&i| loci[i].is_typed() && !loci[i].has_wildcard())
        .collect();
    for t in 0..candidates {
        let i = order[(first + t) % candidates];
        let locus = Locus::from_index(i)?;
        let alleles = loci[i].alleles();
        for w in [which, 1 - which] {
            let Some((n, k)) = alleles[w].repeats(locus) else {
                continue;
            };
            let steps = if up {
                [n + 1, n.wrapping_sub(1)]
            } else {
                [n.wrapping_sub(1), n + 1]
            };
            if let Some(moved) = steps
                .into_iter()
                .find_map(|m| Allele::numeric(locus, m, k).ok())
            {
                loci[i] = Genotype::new(moved, alleles[1 - w]);
                return Some(locus);
            }
        }
    }
    None
}

/// `config.profiles` synthetic profiles drawn from `freqs`, deterministic
/// for `config.seed` whatever the number of threads. Every profile is valid
/// for storage. See the module documentation for the mix.
pub fn generate(freqs: &AlleleFrequencies, config: &SyntheticConfig) -> Vec<Profile> {
    generate_with_truth(freqs, config).profiles
}

/// As [`generate`], and the planted relations (duplicates, near-duplicates,
/// siblings and traces of enrolled persons, each with its source).
pub fn generate_with_truth(freqs: &AlleleFrequencies, config: &SyntheticConfig) -> Synthetic {
    let plan = Plan::new(freqs, config);
    let n = config.profiles;
    let mut profiles: Vec<Profile> = Vec::with_capacity(n);
    (0..n)
        .into_par_iter()
        .map(|_| Profile::default())
        .collect_into_vec(&mut profiles);
    let mut roles = vec![Role::Person; n];
    profiles
        .par_chunks_mut(CHUNK)
        .zip(roles.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(c, (ps, rs))| plan.independent_chunk(config.seed, c, ps, rs));
    let persons: Vec<usize> = roles
        .par_iter()
        .enumerate()
        .filter(|(_, r)| **r == Role::Person)
        .map(|(i, _)| i)
        .collect();
    let updates: Vec<Vec<Update>> = roles
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, rs)| plan.related_chunk(config.seed, c, rs, &profiles, &persons))
        .collect();
    drop(persons);
    let planted = updates.iter().flatten().filter_map(|u| u.planted).collect();
    profiles
        .par_chunks_mut(CHUNK)
        .zip(updates)
        .for_each(|(chunk, ups)| {
            for u in ups {
                let p = &mut chunk[u.offset];
                p.loci = u.loci;
                p.amelogenin = u.amelogenin;
                if let Some(a) = u.authority {
                    p.authority = a;
                }
            }
        });
    Synthetic { profiles, planted }
}

/// `count` queries for searching `db`, deterministic for `seed` whatever
/// the number of threads: about half derived from a random profile of `db`
/// (a partial trace of it with dropout and maybe a wildcard, an exact copy,
/// or a copy with one allele moved to an adjacent repeat: expected full and
/// near hits), half fresh unknown profiles (mostly no hit), of which half
/// are full 12-locus profiles and half partial traces of 6–11 loci.
/// References run `Q0000001`, `Q0000002`, ...; authorities are empty.
pub fn queries(db: &[Profile], freqs: &AlleleFrequencies, count: usize, seed: u64) -> Vec<Profile> {
    queries_with_truth(db, freqs, count, seed).profiles
}

/// As [`queries`], and which queries were derived from which profile of
/// `db` ([`Planted::source`] indexes `db`).
pub fn queries_with_truth(
    db: &[Profile],
    freqs: &AlleleFrequencies,
    count: usize,
    seed: u64,
) -> Synthetic {
    let plan = Plan::new(freqs, &SyntheticConfig::default());
    let mut profiles: Vec<Profile> = Vec::with_capacity(count);
    (0..count)
        .into_par_iter()
        .map(|_| Profile::default())
        .collect_into_vec(&mut profiles);
    let planted: Vec<Vec<Planted>> = profiles
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let mut rng = chunk_rng(seed, PASS_QUERIES, c);
            let mut planted = Vec::new();
            for (k, q) in chunk.iter_mut().enumerate() {
                let index = c * CHUNK + k;
                q.reference = numbered('Q', index + 1, 7);
                if !db.is_empty() && rng.gen::<bool>() {
                    let j = rng.gen_range(0..db.len());
                    let src = &db[j];
                    q.loci = src.loci;
                    q.amelogenin = src.amelogenin;
                    q.kind = src.kind;
                    let u = rng.gen::<f64>();
                    let relation = if u < 0.4 {
                        plan.degrade(&mut q.loci, MIN_TYPED_LOCI, LOCUS_COUNT, &mut rng);
                        q.kind = Kind::Trace;
                        Relation::Trace
                    } else if u < 0.75 {
                        Relation::Duplicate
                    } else {
                        change_one_allele(&mut q.loci, &mut rng)
                            .map_or(Relation::Duplicate, |locus| Relation::NearDuplicate {
                                locus,
                            })
                    };
                    planted.push(Planted {
                        profile: index,
                        source: j,
                        relation,
                    });
                } else if rng.gen::<bool>() {
                    q.kind = Kind::Person;
                    q.loci = plan.ess(&mut rng);
                    q.amelogenin = amelogenin(&mut rng);
                } else {
                    q.kind = Kind::Trace;
                    q.loci = plan.unknown_trace(MIN_TYPED_LOCI, ESS_COUNT - 1, &mut rng);
                    q.amelogenin = amelogenin(&mut rng);
                }
            }
            planted
        })
        .collect();
    Synthetic {
        profiles,
        planted: planted.into_iter().flatten().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hitdex_engine::dna::{compare, locus_differences, MatchParams};

    #[test]
    fn references_are_zero_padded() {
        assert_eq!(numbered('P', 1234, 10), "P0000001234");
        assert_eq!(numbered('Q', 1, 7), "Q0000001");
        assert_eq!(numbered('Q', 123_456_789, 7), "Q123456789");
        assert_eq!(numbered('T', 0, 3), "T000");
    }

    #[test]
    fn one_changed_allele_is_always_exactly_one_differing_allele() {
        let mut rng = chunk_rng(7, 99, 0);
        for _ in 0..20_000 {
            // Random genotypes with many microvariants and homozygotes.
            let mut loci = [Genotype::UNTYPED; LOCUS_COUNT];
            for l in Locus::all() {
                if rng.gen::<f64>() < 0.5 {
                    let allele = |rng: &mut ChaCha8Rng| {
                        let k = if rng.gen::<f64>() < 0.3 {
                            rng.gen_range(0..l.repeat())
                        } else {
                            0
                        };
                        Allele::numeric(l, rng.gen_range(2..12), k).unwrap()
                    };
                    let a = allele(&mut rng);
                    let b = if rng.gen::<bool>() {
                        a
                    } else {
                        allele(&mut rng)
                    };
                    loci[l.index()] = Genotype::new(a, b);
                }
            }
            let before = loci;
            let Some(changed) = change_one_allele(&mut loci, &mut rng) else {
                continue;
            };
            for tolerance in [true, false] {
                for l in Locus::all().filter(|l| before[l.index()].is_typed()) {
                    let d = locus_differences(l, before[l.index()], loci[l.index()], tolerance);
                    assert_eq!(
                        d,
                        u8::from(l == changed),
                        "{} {:?} -> {:?}",
                        l.name(),
                        before[l.index()],
                        loci[l.index()]
                    );
                }
            }
            let params = MatchParams {
                min_loci: 1,
                ..MatchParams::default()
            };
            assert_eq!(
                compare(&before, &loci, &params).differing_locus,
                Some(changed)
            );
        }
    }

    #[test]
    fn nothing_to_change_gives_none() {
        let mut rng = chunk_rng(1, 99, 0);
        let mut loci = [Genotype::UNTYPED; LOCUS_COUNT];
        assert_eq!(change_one_allele(&mut loci, &mut rng), None);
        let th01 = Locus::parse("TH01").unwrap();
        loci[th01.index()] = Genotype::new(Allele::WILDCARD, Allele::numeric(th01, 9, 3).unwrap());
        assert_eq!(change_one_allele(&mut loci, &mut rng), None);
    }

    #[test]
    fn roles_follow_the_configured_shares() {
        let freqs = AlleleFrequencies::new(
            "t",
            Locus::all()
                .take(ESS_COUNT)
                .map(|l| (l, Allele::numeric(l, 10, 0).unwrap(), 1.0)),
        )
        .unwrap();
        let plan = Plan::new(&freqs, &SyntheticConfig::default());
        let mut counts = std::collections::HashMap::new();
        let mut rng = chunk_rng(1, 99, 1);
        let n = 1_000_000;
        for _ in 0..n {
            *counts.entry(plan.role(rng.gen::<f64>())).or_insert(0usize) += 1;
        }
        let share = |r| counts.get(&r).copied().unwrap_or(0) as f64 / n as f64;
        assert!((share(Role::TraceOfPerson) - 0.10).abs() < 0.002);
        assert!((share(Role::UnknownTrace) - 0.10).abs() < 0.002);
        assert!((share(Role::Duplicate) - 0.008).abs() < 0.0005);
        assert!((share(Role::NearDuplicate) - 0.004).abs() < 0.0005);
        assert!((share(Role::Sibling) - 0.004).abs() < 0.0005);
    }
}

//! Real allele frequencies, and the real genotypes they were counted from.
//!
//! Synthetic profiles are only as realistic as the frequencies they are drawn
//! from, so the generator samples published population data kept in
//! `shared/datasets/dna` (long layout: one row per population, locus and
//! allele). Three tables are known by a short [`Source`] name: `nist1036`
//! (the default, populations AfAm, Asian, Cauc, Hisp and All), `uk-dna17`
//! and `fbi2015`. Any other table with the columns `population`, `locus`,
//! `allele` and `count` or `frequency` (optionally `n_alleles`) loads too.
//!
//! Locus names are normalised with [`Locus::parse`]; loci Hitdex does not
//! know (D6S1043, LPL, Penta C, Y-STRs) are skipped, and so are alleles that
//! [`parse_allele`] turns into the wildcard or rejects (the off-ladder `>27`
//! of the FBI table): the remaining frequencies of the locus are
//! renormalised. Tables without an `All` population get one by pooling the
//! allele counts of their populations (see [`AlleleFrequencies::load`]).
//!
//! Sampling uses Walker's alias method: one 64-bit random number per allele,
//! whatever the number of alleles, which keeps the generator fast.
//!
//! [`nist1036_profiles`] reads the 1,036 real genotypes of the NIST data set
//! as person profiles, for accuracy tests on real rather than drawn data.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use hitdex_engine::dna::{Allele, Genotype, Kind, Locus, Profile, ESS_COUNT, LOCUS_COUNT};
use hitdex_formats::parse_allele;
use rand::RngCore;

use crate::csv::Table;
use crate::DatasetError;

/// Population used when none is named: every individual of the table.
pub const DEFAULT_POPULATION: &str = "All";

/// File of the 1,036 real NIST genotypes, under `dna/` of the datasets
/// directory.
pub const NIST1036_GENOTYPES: &str = "NIST1036_revised2017_genotypes.csv";

/// Authority given to the real NIST profiles.
pub const NIST_AUTHORITY: &str = "US-NIST";

/// A known allele frequency table of `shared/datasets/dna`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Source {
    /// NIST 1036 U.S. population data, revised 2017: 29 loci, populations
    /// AfAm, Asian, Cauc, Hisp and All.
    #[default]
    Nist1036,
    /// UK Home Office DNA-17 data (2014): 16 loci, 6 UK populations.
    UkDna17,
    /// FBI expanded CODIS data (Moretti et al. 2016): 23 loci, 12 US
    /// populations.
    Fbi2015,
}

impl Source {
    /// Every known source.
    pub const ALL: [Source; 3] = [Source::Nist1036, Source::UkDna17, Source::Fbi2015];

    /// Short name: `nist1036`, `uk-dna17` or `fbi2015`.
    pub fn name(self) -> &'static str {
        match self {
            Source::Nist1036 => "nist1036",
            Source::UkDna17 => "uk-dna17",
            Source::Fbi2015 => "fbi2015",
        }
    }

    /// File name of the table under `dna/` of the datasets directory.
    pub fn file_name(self) -> &'static str {
        match self {
            Source::Nist1036 => "NIST1036_revised2017_allele_freqs_long.csv",
            Source::UkDna17 => "UK_DNA17_2014_allele_counts_long.csv",
            Source::Fbi2015 => "FBI2015_Moretti2016_expanded_CODIS_freqs_long.csv",
        }
    }

    /// Path of the table in the datasets directory `datasets`
    /// (`shared/datasets`).
    pub fn path(self, datasets: &Path) -> PathBuf {
        datasets.join("dna").join(self.file_name())
    }
}

impl FromStr for Source {
    type Err = DatasetError;

    /// Reads a short name, ignoring case, `-` and `_` (`uk-dna17`,
    /// `UK_DNA17`, `ukdna17`).
    fn from_str(name: &str) -> Result<Source, DatasetError> {
        let key: String = name
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        Source::ALL
            .into_iter()
            .find(|s| s.name().replace('-', "") == key)
            .ok_or_else(|| DatasetError::UnknownSource(name.to_string()))
    }
}

/// One slot of an alias table: the slot's own allele with probability
/// `threshold / 2^32`, its alias otherwise.
#[derive(Debug, Clone, Copy)]
struct Slot {
    threshold: u64,
    own: Allele,
    alias: Allele,
}

/// The alleles of one locus with their frequencies, and an alias table.
#[derive(Debug, Clone, Default)]
struct LocusTable {
    alleles: Vec<(Allele, f64)>,
    slots: Vec<Slot>,
}

impl LocusTable {
    /// From positive weights (any scale), sorted by allele.
    fn new(weights: Vec<(Allele, f64)>) -> LocusTable {
        let total: f64 = weights.iter().map(|w| w.1).sum();
        let alleles: Vec<(Allele, f64)> =
            weights.into_iter().map(|(a, w)| (a, w / total)).collect();
        let slots = alias_slots(&alleles);
        LocusTable { alleles, slots }
    }
}

/// Vose's construction of Walker's alias table.
fn alias_slots(alleles: &[(Allele, f64)]) -> Vec<Slot> {
    let n = alleles.len();
    let mut scaled: Vec<f64> = alleles.iter().map(|a| a.1 * n as f64).collect();
    let mut slots: Vec<Slot> = alleles
        .iter()
        .map(|a| Slot {
            threshold: 1 << 32,
            own: a.0,
            alias: a.0,
        })
        .collect();
    let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| scaled[i] < 1.0);
    while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
        small.pop();
        slots[s].threshold = (scaled[s] * 4_294_967_296.0).round() as u64;
        slots[s].alias = alleles[l].0;
        scaled[l] -= 1.0 - scaled[s];
        if scaled[l] < 1.0 {
            large.pop();
            small.push(l);
        }
    }
    // Whatever is left has probability 1 up to rounding: keeps its threshold 2^32.
    slots
}

/// Allele frequencies of one population at each locus, with a fast sampler.
///
/// Every locus of the European Standard Set has frequencies (loading fails
/// otherwise); other loci may be absent.
#[derive(Debug, Clone)]
pub struct AlleleFrequencies {
    label: String,
    population: String,
    pooled: Vec<String>,
    loci: [LocusTable; LOCUS_COUNT],
    skipped: usize,
}

impl AlleleFrequencies {
    /// The table of `population` in the long-layout CSV file `path`.
    ///
    /// The file needs the columns `population`, `locus`, `allele`, and
    /// `count` or `frequency`; with `frequency` only, `n_alleles` (if
    /// present) turns frequencies back into counts. Populations match
    /// exactly, else ignoring ASCII case.
    ///
    /// `All`, when the file has no such population, pools the counts of all
    /// its populations except those that are the union of others (the UK
    /// table's `Black_African_&_Caribbean_-_EA3` is `African` plus
    /// `African_Caribbean`; the FBI table's `African Amer Bahamian Jamaican`
    /// is three of its populations): a population is left out of the pool
    /// when its allele counts are, locus by locus, the sums of two or more
    /// other populations' counts.
    ///
    /// # Errors
    /// [`DatasetError::Io`] if the file cannot be read; [`DatasetError::Line`]
    /// and [`DatasetError::Cell`] (naming line and column) for a missing
    /// column, a row with a wrong number of fields or a count or frequency
    /// that is not a non-negative number; [`DatasetError::UnknownPopulation`];
    /// [`DatasetError::MissingLocus`] if a locus of the European Standard Set
    /// has no usable allele.
    pub fn load(path: &Path, population: &str) -> Result<AlleleFrequencies, DatasetError> {
        let long = LongTable::read(path)?;
        let chosen = long.choose(population)?;
        let mut weights: BTreeMap<(Locus, Allele), f64> = BTreeMap::new();
        let mut skipped = 0;
        for row in long.rows.iter().filter(|r| chosen.contains(&r.population)) {
            match row.allele {
                Some((locus, allele)) if row.weight > 0.0 => {
                    *weights.entry((locus, allele)).or_default() += row.weight
                }
                Some(_) => {}
                None => skipped += 1,
            }
        }
        let file = path.file_name().map_or_else(
            || path.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        );
        let name = match chosen.as_slice() {
            [one] => long.populations[*one].clone(),
            _ => DEFAULT_POPULATION.to_string(),
        };
        let label = format!("{file} ({name})");
        let mut table = AlleleFrequencies::build(label, name, weights, skipped)?;
        table.pooled = chosen
            .iter()
            .map(|&i| long.populations[i].clone())
            .collect();
        Ok(table)
    }

    /// The table `source` (`nist1036`, `uk-dna17`, `fbi2015`; see
    /// [`Source`]) of the datasets directory `datasets` (`shared/datasets`,
    /// as found by [`crate::shared::require_shared_datasets`]), population
    /// `population`.
    ///
    /// # Errors
    /// [`DatasetError::UnknownSource`] for an unknown name, then as
    /// [`load`](Self::load).
    pub fn from_source(
        datasets: &Path,
        source: &str,
        population: &str,
    ) -> Result<AlleleFrequencies, DatasetError> {
        let source: Source = source.parse()?;
        AlleleFrequencies::load(&source.path(datasets), population)
    }

    /// A table from explicit weights (any positive scale; they are
    /// normalised per locus), for tests and hand-made populations. Entries
    /// with a wildcard or no allele, or a weight that is not positive and
    /// finite, are ignored; repeated entries add up.
    ///
    /// # Errors
    /// [`DatasetError::MissingLocus`] if a locus of the European Standard Set
    /// has no allele.
    pub fn new(
        label: impl Into<String>,
        entries: impl IntoIterator<Item = (Locus, Allele, f64)>,
    ) -> Result<AlleleFrequencies, DatasetError> {
        let label = label.into();
        let mut weights: BTreeMap<(Locus, Allele), f64> = BTreeMap::new();
        for (locus, allele, w) in entries {
            if !allele.is_none() && !allele.is_wildcard() && w.is_finite() && w > 0.0 {
                *weights.entry((locus, allele)).or_default() += w;
            }
        }
        let mut table = AlleleFrequencies::build(label.clone(), label.clone(), weights, 0)?;
        table.pooled = vec![label];
        Ok(table)
    }

    fn build(
        label: String,
        population: String,
        weights: BTreeMap<(Locus, Allele), f64>,
        skipped: usize,
    ) -> Result<AlleleFrequencies, DatasetError> {
        let mut per_locus: [Vec<(Allele, f64)>; LOCUS_COUNT] = Default::default();
        for ((locus, allele), w) in weights {
            per_locus[locus.index()].push((allele, w));
        }
        if let Some(missing) = Locus::all()
            .take(ESS_COUNT)
            .find(|l| per_locus[l.index()].is_empty())
        {
            return Err(DatasetError::MissingLocus {
                table: label,
                locus: missing.name(),
            });
        }
        let loci = per_locus.map(LocusTable::new);
        Ok(AlleleFrequencies {
            label,
            population,
            pooled: Vec::new(),
            loci,
            skipped,
        })
    }

    /// The file and population, e.g.
    /// `NIST1036_revised2017_allele_freqs_long.csv (All)`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The population, as named in the table (`All` when pooled).
    pub fn population(&self) -> &str {
        &self.population
    }

    /// The populations of the file whose counts make up this table: one,
    /// or several for a pooled `All`.
    pub fn pooled_populations(&self) -> &[String] {
        &self.pooled
    }

    /// Rows of the chosen population(s) left out: unknown loci, and alleles
    /// read as the wildcard or rejected.
    pub fn skipped_rows(&self) -> usize {
        self.skipped
    }

    /// The alleles of `locus` and their frequencies (summing to 1), by
    /// position on the repeat scale; empty if the table lacks the locus.
    pub fn alleles(&self, locus: Locus) -> &[(Allele, f64)] {
        &self.loci[locus.index()].alleles
    }

    /// The frequency of `allele` at `locus` (0 if absent).
    pub fn frequency(&self, locus: Locus, allele: Allele) -> f64 {
        self.alleles(locus)
            .iter()
            .find(|a| a.0 == allele)
            .map_or(0.0, |a| a.1)
    }

    /// Whether the table has frequencies at `locus`.
    pub fn has_locus(&self, locus: Locus) -> bool {
        !self.loci[locus.index()].alleles.is_empty()
    }

    /// The loci with frequencies, in canonical order.
    pub fn loci(&self) -> impl Iterator<Item = Locus> + '_ {
        Locus::all().filter(|&l| self.has_locus(l))
    }

    /// One allele of `locus` drawn by its frequency (one random `u64`), or
    /// [`Allele::NONE`] if the table lacks the locus.
    #[inline]
    pub fn sample<R: RngCore + ?Sized>(&self, locus: Locus, rng: &mut R) -> Allele {
        let slots = &self.loci[locus.index()].slots;
        if slots.is_empty() {
            return Allele::NONE;
        }
        let r = rng.next_u64();
        // High half picks the slot (multiply-shift, no division), low half
        // decides between the slot's allele and its alias.
        let i = (((r >> 32) * slots.len() as u64) >> 32) as usize;
        let s = slots[i];
        if (r & 0xffff_ffff) < s.threshold {
            s.own
        } else {
            s.alias
        }
    }

    /// A genotype of `locus` drawn under Hardy–Weinberg equilibrium (two
    /// independent alleles), or untyped if the table lacks the locus.
    #[inline]
    pub fn sample_genotype<R: RngCore + ?Sized>(&self, locus: Locus, rng: &mut R) -> Genotype {
        let a = self.sample(locus, rng);
        let b = self.sample(locus, rng);
        Genotype::new(a, b)
    }
}

/// The populations of the long-layout table `path`, in file order, followed
/// by `All` when the file has no such population (it is then pooled, see
/// [`AlleleFrequencies::load`]).
///
/// # Errors
/// As [`AlleleFrequencies::load`] for unreadable or malformed files.
pub fn populations(path: &Path) -> Result<Vec<String>, DatasetError> {
    Ok(LongTable::read(path)?.available())
}

/// One row of a long table, read.
struct LongRow {
    population: usize,
    /// Raw locus name, for pooling checks over all loci.
    locus: String,
    /// Raw allele text.
    allele_text: String,
    /// The allele, if the locus is known and the allele numeric.
    allele: Option<(Locus, Allele)>,
    /// Allele count (or frequency × n_alleles, or frequency).
    weight: f64,
    /// Alleles counted at this population and locus, when known.
    n: Option<f64>,
}

/// A long-layout table read whole.
struct LongTable {
    path: PathBuf,
    populations: Vec<String>,
    rows: Vec<LongRow>,
    /// Whether weights are counts (so populations can be pooled by adding).
    counts: bool,
}

impl LongTable {
    fn read(path: &Path) -> Result<LongTable, DatasetError> {
        let table = Table::read(path)?;
        let pop_col = table.require("population")?;
        let locus_col = table.require("locus")?;
        let allele_col = table.require("allele")?;
        let count_col = table.column("count");
        let freq_col = table.column("frequency");
        let n_col = table.column("n_alleles");
        if count_col.is_none() && freq_col.is_none() {
            return Err(DatasetError::Line {
                path: path.to_path_buf(),
                line: 1,
                message: format!(
                    "neither a \"count\" nor a \"frequency\" column in the header ({})",
                    table.header.join(",")
                ),
            });
        }
        let mut populations: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut rows = Vec::new();
        for row in table.rows() {
            let row = row?;
            let f = &row.fields;
            let n = n_col.map(|c| row.number(c)).transpose()?;
            let weight = match (count_col, freq_col) {
                (Some(c), _) => row.number(c)?,
                (None, Some(c)) => {
                    let x = row.number(c)?;
                    if x > 1.0 {
                        return Err(row.error(c, format!("frequency {x} is above 1")));
                    }
                    x * n.unwrap_or(1.0)
                }
                (None, None) => 0.0,
            };
            let pop = f[pop_col];
            if pop.is_empty() {
                return Err(row.error(pop_col, "empty population"));
            }
            let population = *index.entry(pop.to_string()).or_insert_with(|| {
                populations.push(pop.to_string());
                populations.len() - 1
            });
            let allele = Locus::parse(f[locus_col]).and_then(|locus| {
                parse_allele(locus, f[allele_col])
                    .ok()
                    .filter(|a| !a.is_wildcard())
                    .map(|a| (locus, a))
            });
            rows.push(LongRow {
                population,
                locus: f[locus_col].to_string(),
                allele_text: f[allele_col].to_string(),
                allele,
                weight,
                n,
            });
        }
        let counts = count_col.is_some() || n_col.is_some();
        Ok(LongTable {
            path: path.to_path_buf(),
            populations,
            rows,
            counts,
        })
    }

    fn has_all(&self) -> bool {
        self.populations
            .iter()
            .any(|p| p.eq_ignore_ascii_case(DEFAULT_POPULATION))
    }

    fn available(&self) -> Vec<String> {
        let mut v = self.populations.clone();
        if !self.has_all() {
            v.push(DEFAULT_POPULATION.to_string());
        }
        v
    }

    /// The populations whose rows make up `population`.
    fn choose(&self, population: &str) -> Result<Vec<usize>, DatasetError> {
        let exact = self.populations.iter().position(|p| p == population);
        if let Some(i) = exact.or_else(|| {
            self.populations
                .iter()
                .position(|p| p.eq_ignore_ascii_case(population))
        }) {
            return Ok(vec![i]);
        }
        if population.eq_ignore_ascii_case(DEFAULT_POPULATION) && !self.populations.is_empty() {
            let unions = self.unions();
            return Ok((0..self.populations.len())
                .filter(|i| !unions.contains(i))
                .collect());
        }
        Err(DatasetError::UnknownPopulation {
            path: self.path.clone(),
            population: population.to_string(),
            available: self.available(),
        })
    }

    /// Populations whose counts are the sums of two or more other
    /// populations' counts at every locus and allele: pooling them with
    /// their parts would count the same people twice.
    fn unions(&self) -> BTreeSet<usize> {
        let k = self.populations.len();
        let mut found = BTreeSet::new();
        if !self.counts || !(3..=16).contains(&k) {
            return found;
        }
        // Per population: alleles counted per locus, and count per (locus, allele).
        let mut n: Vec<BTreeMap<&str, f64>> = vec![BTreeMap::new(); k];
        let mut w: Vec<BTreeMap<(&str, &str), f64>> = vec![BTreeMap::new(); k];
        for r in &self.rows {
            *w[r.population]
                .entry((&r.locus, &r.allele_text))
                .or_default() += r.weight;
            let e = n[r.population].entry(&r.locus).or_default();
            *e = r.n.unwrap_or(*e + r.weight);
        }
        let close = |a: f64, b: f64| (a - b).abs() <= 0.5 + 1e-3 * a.abs().max(b.abs());
        for p in 0..k {
            let others: Vec<usize> = (0..k).filter(|&q| q != p).collect();
            for mask in 1u32..(1 << others.len()) {
                if mask.count_ones() < 2 {
                    continue;
                }
                let parts: Vec<usize> = others
                    .iter()
                    .enumerate()
                    .filter(|(b, _)| mask >> b & 1 == 1)
                    .map(|(_, &q)| q)
                    .collect();
                let loci_agree = n[p].iter().all(|(l, &np)| {
                    close(
                        np,
                        parts
                            .iter()
                            .map(|&q| n[q].get(l).copied().unwrap_or(0.0))
                            .sum(),
                    )
                });
                if !loci_agree {
                    continue;
                }
                let keys: BTreeSet<(&str, &str)> = std::iter::once(p)
                    .chain(parts.iter().copied())
                    .flat_map(|q| w[q].keys().copied())
                    .filter(|(l, _)| n[p].contains_key(l))
                    .collect();
                let alleles_agree = keys.iter().all(|key| {
                    let sum: f64 = parts
                        .iter()
                        .map(|&q| w[q].get(key).copied().unwrap_or(0.0))
                        .sum();
                    close(w[p].get(key).copied().unwrap_or(0.0), sum)
                });
                if alleles_agree {
                    found.insert(p);
                    break;
                }
            }
        }
        found
    }
}

/// The 1,036 real genotypes of the NIST 1036 data set
/// (`dna/NIST1036_revised2017_genotypes.csv` of the datasets directory
/// `datasets`) as person profiles: reference = the sample name, authority
/// [`NIST_AUTHORITY`]. Loci Hitdex does not know (D6S1043, LPL, Penta C)
/// are skipped, which leaves 26 typed loci per profile (25 for the two
/// samples with an untyped locus).
///
/// # Errors
/// As [`read_wide_genotypes`].
pub fn nist1036_profiles(datasets: &Path) -> Result<Vec<Profile>, DatasetError> {
    read_wide_genotypes(
        &datasets.join("dna").join(NIST1036_GENOTYPES),
        NIST_AUTHORITY,
    )
}

/// Person profiles from a wide genotype table: a `Sample` column (the
/// reference), any other columns without a `_1`/`_2` suffix (ignored, like
/// `Pop`), and two columns `<locus>_1`, `<locus>_2` per locus. Alleles are
/// read by [`parse_allele`]; an empty cell next to a typed one is a
/// homozygote, two empty cells an untyped locus. Unknown loci are skipped;
/// Amelogenin is kept as `X`/`Y` (anything else as `*`).
///
/// # Errors
/// [`DatasetError::Io`] if the file cannot be read; [`DatasetError::Line`]
/// for a missing `Sample` column, a row with a wrong number of fields or a
/// profile that cannot be stored (fewer than six typed loci, empty
/// reference); [`DatasetError::Cell`] for an allele `parse_allele` rejects.
pub fn read_wide_genotypes(path: &Path, authority: &str) -> Result<Vec<Profile>, DatasetError> {
    enum Target {
        Locus(Locus),
        Amelogenin,
    }
    let table = Table::read(path)?;
    let sample_col = table.require("Sample")?;
    // Per target: the columns of allele 1 and allele 2.
    let mut targets: Vec<(Target, [Option<usize>; 2])> = Vec::new();
    for (col, name) in table.header.iter().enumerate() {
        let Some((locus_name, which)) = name.rsplit_once('_') else {
            continue;
        };
        let slot = match which {
            "1" => 0,
            "2" => 1,
            _ => continue,
        };
        let target = match Locus::parse(locus_name) {
            Some(l) => Target::Locus(l),
            None if Locus::is_amelogenin(locus_name) => Target::Amelogenin,
            None => continue,
        };
        let existing = targets.iter_mut().find(|(t, _)| match (t, &target) {
            (Target::Locus(a), Target::Locus(b)) => a == b,
            (Target::Amelogenin, Target::Amelogenin) => true,
            _ => false,
        });
        match existing {
            Some((_, cols)) => cols[slot] = Some(col),
            None => {
                let mut cols = [None, None];
                cols[slot] = Some(col);
                targets.push((target, cols));
            }
        }
    }
    let mut profiles = Vec::new();
    for row in table.rows() {
        let row = row?;
        let mut p = Profile {
            reference: row.fields[sample_col].to_string(),
            authority: authority.to_string(),
            kind: Kind::Person,
            ..Profile::default()
        };
        for (target, cols) in &targets {
            let texts = cols.map(|c| c.map(|c| (c, row.fields[c])).filter(|(_, t)| !t.is_empty()));
            let [a, b] = match texts {
                [None, None] => continue,
                [Some(x), None] | [None, Some(x)] => [x, x],
                [Some(x), Some(y)] => [x, y],
            };
            match target {
                Target::Locus(locus) => {
                    let read = |(c, t): (usize, &str)| {
                        parse_allele(*locus, t).map_err(|e| row.error(c, e.to_string()))
                    };
                    p.loci[locus.index()] = Genotype::new(read(a)?, read(b)?);
                }
                Target::Amelogenin => {
                    let byte = |(_, t): (usize, &str)| match t {
                        "X" | "x" => b'X',
                        "Y" | "y" => b'Y',
                        _ => b'*',
                    };
                    p.amelogenin = [byte(a), byte(b)];
                }
            }
        }
        p.validate_for_storage().map_err(|e| DatasetError::Line {
            path: path.to_path_buf(),
            line: row.line,
            message: format!("profile {:?}: {e}", p.reference),
        })?;
        profiles.push(p);
    }
    Ok(profiles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn locus(name: &str) -> Locus {
        Locus::parse(name).unwrap()
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A long table with all twelve ESS loci, alleles 10 and 11 at each,
    /// for populations given as (name, count of 10, count of 11).
    fn long_table(pops: &[(&str, u32, u32)], extra: &str) -> String {
        let mut s = String::from("population,locus,allele,count,n_alleles,frequency\n");
        for &(pop, a, b) in pops {
            for l in Locus::all().take(ESS_COUNT) {
                let n = a + b;
                s += &format!(
                    "{pop},{},10,{a},{n},{}\n",
                    l.name(),
                    f64::from(a) / f64::from(n)
                );
                s += &format!(
                    "{pop},{},11,{b},{n},{}\n",
                    l.name(),
                    f64::from(b) / f64::from(n)
                );
            }
        }
        s + extra
    }

    #[test]
    fn alias_sampler_follows_the_frequencies() {
        let th01 = locus("TH01");
        let weights = [
            (6, 0, 0.2),
            (7, 0, 0.3),
            (8, 0, 0.1),
            (9, 0, 0.15),
            (9, 3, 0.2),
            (10, 0, 0.05),
        ];
        let mut entries: Vec<(Locus, Allele, f64)> = weights
            .iter()
            .map(|&(n, k, w)| (th01, Allele::numeric(th01, n, k).unwrap(), w))
            .collect();
        for l in Locus::all().take(ESS_COUNT).filter(|&l| l != th01) {
            entries.push((l, Allele::numeric(l, 12, 0).unwrap(), 1.0));
        }
        let f = AlleleFrequencies::new("test", entries).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let draws = 400_000;
        let mut counts: HashMap<Allele, usize> = HashMap::new();
        for _ in 0..draws {
            *counts.entry(f.sample(th01, &mut rng)).or_default() += 1;
        }
        for &(a, p) in f.alleles(th01) {
            let got = counts.get(&a).copied().unwrap_or(0) as f64 / draws as f64;
            assert!((got - p).abs() < 0.005, "{a:?}: drew {got}, table {p}");
        }
        assert_eq!(counts.len(), weights.len());
        // A locus with one allele always gives it; an absent locus nothing.
        let d3 = locus("D3S1358");
        assert_eq!(f.sample(d3, &mut rng), Allele::numeric(d3, 12, 0).unwrap());
        assert_eq!(f.sample(locus("SE33"), &mut rng), Allele::NONE);
    }

    #[test]
    fn off_ladder_and_unknown_rows_are_skipped_and_the_rest_renormalised() {
        let dir = tempfile::tempdir().unwrap();
        let extra = "P,D18S51,>27,2,4,0.5\nP,D6S1043,12,5,10,0.5\nP,Amelogenin,X,3,4,0.75\n";
        let path = write(dir.path(), "t.csv", &long_table(&[("P", 1, 3)], extra));
        let f = AlleleFrequencies::load(&path, "P").unwrap();
        assert_eq!(f.skipped_rows(), 3);
        let d18 = locus("D18S51");
        let total: f64 = f.alleles(d18).iter().map(|a| a.1).sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!((f.frequency(d18, Allele::numeric(d18, 11, 0).unwrap()) - 0.75).abs() < 1e-12);
        assert_eq!(f.pooled_populations(), ["P".to_string()]);
    }

    #[test]
    fn pooled_all_leaves_out_populations_that_are_unions_of_others() {
        let dir = tempfile::tempdir().unwrap();
        // AB is A plus B; pooling it too would count A and B twice.
        let pops = [("A", 10, 30), ("B", 20, 20), ("AB", 30, 50), ("C", 40, 0)];
        let path = write(dir.path(), "t.csv", &long_table(&pops, ""));
        let f = AlleleFrequencies::load(&path, "all").unwrap();
        assert_eq!(f.population(), "All");
        assert_eq!(f.pooled_populations(), ["A", "B", "C"]);
        let fga = locus("FGA");
        assert!(
            (f.frequency(fga, Allele::numeric(fga, 10, 0).unwrap()) - 70.0 / 120.0).abs() < 1e-12
        );
        assert_eq!(populations(&path).unwrap(), ["A", "B", "AB", "C", "All"]);
        // Populations match ignoring case.
        assert_eq!(
            AlleleFrequencies::load(&path, "ab").unwrap().population(),
            "AB"
        );
    }

    #[test]
    fn an_unknown_population_error_lists_the_available_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "t.csv", &long_table(&[("Cauc", 1, 1)], ""));
        let e = AlleleFrequencies::load(&path, "Martian")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t.csv") && e.contains("\"Martian\"") && e.contains("Cauc, All"),
            "{e}"
        );
    }

    #[test]
    fn bad_cells_are_errors_naming_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "bad.csv",
            "population,locus,allele,count\nA,TH01,9,3\nA,TH01,9.3,many\n",
        );
        let e = AlleleFrequencies::load(&path, "A").unwrap_err().to_string();
        assert!(
            e.contains("bad.csv:3: column 4 (count)") && e.contains("\"many\""),
            "{e}"
        );

        let path = write(
            dir.path(),
            "short.csv",
            "population,locus,allele,count\nA,TH01,9\n",
        );
        let e = AlleleFrequencies::load(&path, "A").unwrap_err().to_string();
        assert!(
            e.contains("short.csv:2: 3 fields where the header has 4"),
            "{e}"
        );

        let path = write(dir.path(), "nohead.csv", "pop,locus,allele,count\n");
        let e = AlleleFrequencies::load(&path, "A").unwrap_err().to_string();
        assert!(
            e.contains("nohead.csv:1") && e.contains("\"population\""),
            "{e}"
        );

        let path = write(
            dir.path(),
            "freq.csv",
            "population,locus,allele,frequency\nA,TH01,9,1.5\n",
        );
        let e = AlleleFrequencies::load(&path, "A").unwrap_err().to_string();
        assert!(e.contains("freq.csv:2: column 4 (frequency)"), "{e}");

        let e = AlleleFrequencies::load(&dir.path().join("absent.csv"), "A")
            .unwrap_err()
            .to_string();
        assert!(e.contains("absent.csv"), "{e}");
    }

    #[test]
    fn a_table_without_an_ess_locus_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "t.csv",
            "population,locus,allele,count\nA,TH01,9,3\n",
        );
        let e = AlleleFrequencies::load(&path, "A").unwrap_err();
        assert!(
            matches!(
                e,
                DatasetError::MissingLocus {
                    locus: "D3S1358",
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn source_names_are_read_leniently() {
        assert_eq!("nist1036".parse::<Source>().unwrap(), Source::Nist1036);
        assert_eq!("UK_DNA17".parse::<Source>().unwrap(), Source::UkDna17);
        assert_eq!("fbi2015".parse::<Source>().unwrap(), Source::Fbi2015);
        assert_eq!(Source::default(), Source::Nist1036);
        let e = "nist".parse::<Source>().unwrap_err().to_string();
        assert!(e.contains("nist1036, uk-dna17 or fbi2015"), "{e}");
        assert!(Source::Fbi2015
            .path(Path::new("/d"))
            .ends_with("dna/FBI2015_Moretti2016_expanded_CODIS_freqs_long.csv"));
    }

    #[test]
    fn wide_genotypes_read_homozygotes_wildcards_and_skip_unknown_loci() {
        let dir = tempfile::tempdir().unwrap();
        let mut header = String::from("Sample,Pop");
        let mut row = String::from("S1,Cauc");
        for l in Locus::all().take(6) {
            header += &format!(
                ",{}_1,{}_2",
                l.name().replace(' ', "_"),
                l.name().replace(' ', "_")
            );
            row += ",12,14";
        }
        header += ",Penta_C_1,Penta_C_2,Penta_D_1,Penta_D_2,TH01_x,AMEL_1,AMEL_2\n";
        let tail = ",9,10,2.2,,7,X,Y";
        let second = row.replacen("S1,Cauc,12", "S2,Cauc,OL", 1);
        let path = write(
            dir.path(),
            "g.csv",
            &format!("{header}{row}{tail}\n{second}{tail}\n"),
        );
        let ps = read_wide_genotypes(&path, "X-LAB").unwrap();
        assert_eq!(ps.len(), 2);
        let p = &ps[0];
        assert_eq!(
            (p.reference.as_str(), p.authority.as_str(), p.kind),
            ("S1", "X-LAB", Kind::Person)
        );
        assert_eq!(p.typed_loci(), 7);
        let penta = locus("Penta D");
        assert_eq!(p.genotype(penta).display(penta).to_string(), "2.2/2.2");
        assert_eq!(p.amelogenin, [b'X', b'Y']);
        let d3 = locus("D3S1358");
        assert_eq!(ps[1].genotype(d3).display(d3).to_string(), "14/*");

        let path = write(dir.path(), "bad.csv", "Sample,TH01_1,TH01_2\nS1,9.4,7\n");
        let e = read_wide_genotypes(&path, "X").unwrap_err().to_string();
        assert!(e.contains("bad.csv:2: column 2 (TH01_1)"), "{e}");
        let e = read_wide_genotypes(
            &write(dir.path(), "few.csv", "Sample,TH01_1,TH01_2\nS1,9,7\n"),
            "X",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("few.csv:2: profile \"S1\"") && e.contains("at least 6"),
            "{e}"
        );
    }
}

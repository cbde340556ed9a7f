//! `hitdex generate dna`: synthetic profiles drawn from real allele
//! frequencies; `hitdex generate fingerprint`: synthetic finger minutiae;
//! `hitdex generate vehicle|phone|identity`: records of the key-only
//! categories.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use hitdex_benches::dna::Progress;
use hitdex_datasets::fingerprint::{self, FingerprintConfig};
use hitdex_datasets::synthetic::{self, SyntheticConfig};
use hitdex_engine::index::container::Category;
use hitdex_formats::fingerprint::{fmr, xyt};
use rayon::prelude::*;

use crate::progress::{phase, Phases};

#[derive(Subcommand)]
pub enum What {
    /// Synthetic DNA profiles as DNA CSV: persons typed at the 12 ESS loci,
    /// partial traces with wildcards, and planted duplicates, near-duplicates,
    /// relatives and traces of enrolled persons so that searches find hits.
    /// Deterministic for a seed.
    Dna(DnaArgs),
    /// Synthetic finger minutiae templates, one file per impression named
    /// `<finger>_<impression>.<format>` as `hitdex fingerprint eval` reads
    /// them (impressions of one finger are mated). Each finger has a master
    /// minutiae set along a ridge flow of a random pattern class; each
    /// impression is rotated, translated, distorted and cropped, misses
    /// minutiae and gains spurious ones, with directions in 11.25° steps.
    /// 500 ppi images of 300 × 400 pixels. Deterministic for a seed.
    Fingerprint(FingerprintArgs),
    /// Synthetic vehicles as CSV (reference,authority,kind,plate,vin):
    /// German-style plates, European and North American VINs. Queries are
    /// half records written another way (lower case, no hyphens, spaced
    /// VINs), half new. Deterministic for a seed.
    Vehicle(KeyedArgs),
    /// Synthetic phone numbers as CSV (reference,authority,kind,number,region):
    /// valid German, French and Dutch mobile numbers written nationally;
    /// queries in international form. Deterministic for a seed.
    Phone(KeyedArgs),
    /// Synthetic identities as CSV (reference,authority,kind,family_name,
    /// given_names,date_of_birth) with diacritics; queries in capitals.
    /// Deterministic for a seed.
    Identity(KeyedArgs),
}

#[derive(ClapArgs)]
pub struct KeyedArgs {
    /// Number of records.
    #[arg(long)]
    records: usize,
    /// Seed of the generator (same seed, same file).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output CSV file.
    #[arg(long)]
    out: PathBuf,
    /// Also write this many queries: half of them records written another
    /// way, half new values.
    #[arg(long, requires = "queries_out")]
    queries: Option<usize>,
    /// File for the queries.
    #[arg(long)]
    queries_out: Option<PathBuf>,
}

#[derive(ClapArgs)]
pub struct DnaArgs {
    /// Number of profiles.
    #[arg(long)]
    profiles: usize,
    /// Seed of the generator (same seed, same file).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output CSV file.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    source: FrequencyArgs,
    /// Share of traces among the profiles (0 to 1).
    #[arg(long, default_value_t = 0.2, value_parser = share)]
    trace_share: f64,
    /// Also write this many queries derived from the profiles (traces of
    /// enrolled persons, copies, one-allele changes) and fresh unknowns.
    #[arg(long, requires = "queries_out")]
    queries: Option<usize>,
    /// File for the queries.
    #[arg(long)]
    queries_out: Option<PathBuf>,
}

/// Where allele frequencies come from.
#[derive(ClapArgs, Clone)]
pub struct FrequencyArgs {
    /// Allele frequency table: nist1036, uk-dna17 or fbi2015 (from
    /// ../shared/datasets/dna, or $HITDEX_DATASETS/dna).
    #[arg(long, default_value = "nist1036")]
    pub frequencies: String,
    /// Population of the table (nist1036: All, AfAm, Asian, Cauc, Hisp).
    #[arg(long, default_value = "All")]
    pub population: String,
}

impl FrequencyArgs {
    pub fn load(&self) -> Result<hitdex_datasets::frequencies::AlleleFrequencies> {
        let dir = hitdex_datasets::shared::require_shared_datasets()?;
        Ok(hitdex_datasets::frequencies::AlleleFrequencies::from_source(&dir, &self.frequencies, &self.population)?)
    }
}

#[derive(ClapArgs)]
pub struct FingerprintArgs {
    /// Number of fingers, numbered from 1.
    #[arg(long)]
    fingers: u32,
    /// Impressions per finger, numbered from 1 (FVC databases have 8).
    #[arg(long, default_value_t = 8)]
    impressions: u32,
    /// Seed of the generator (same seed, same templates; impression k of a
    /// finger does not depend on --fingers or --impressions).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory; created, and refused if it exists and is not empty.
    #[arg(long)]
    out: PathBuf,
    /// File format of the templates.
    #[arg(long, value_enum, default_value_t = TemplateFormat::Xyt)]
    format: TemplateFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum TemplateFormat {
    /// NIST xyt text (x y theta quality; origin bottom-left), as mindtct writes it.
    Xyt,
    /// ISO/IEC 19794-2:2005 record (keeps the minutia kinds).
    Iso,
}

pub fn run(what: What) -> Result<()> {
    let a = match what {
        What::Dna(a) => a,
        What::Fingerprint(a) => return fingerprints(&a),
        What::Vehicle(a) => return keyed(Category::Vehicle, &a),
        What::Phone(a) => return keyed(Category::Phone, &a),
        What::Identity(a) => return keyed(Category::Identity, &a),
    };
    let freqs = a.source.load()?;
    let config = SyntheticConfig { profiles: a.profiles, seed: a.seed, trace_share: a.trace_share, ..SyntheticConfig::default() };
    config.check()?;
    let profiles = phase("generate profiles", || synthetic::generate(&freqs, &config));
    let bytes = phase("write CSV", || hitdex_benches::dna::write_csv(&a.out, &profiles))?;
    eprintln!("wrote {} profiles ({bytes} bytes) to {}", profiles.len(), a.out.display());
    if let (Some(n), Some(path)) = (a.queries, &a.queries_out) {
        let queries = phase("generate queries", || synthetic::queries(&profiles, &freqs, n, a.seed ^ 0x5eed));
        hitdex_benches::dna::write_csv(path, &queries)?;
        eprintln!("wrote {n} queries to {}", path.display());
    }
    Ok(())
}

/// Writes the templates finger by finger, in parallel, holding none.
fn fingerprints(a: &FingerprintArgs) -> Result<()> {
    let config = FingerprintConfig { fingers: a.fingers, impressions: a.impressions, seed: a.seed, ..FingerprintConfig::default() };
    config.check()?;
    if std::fs::read_dir(&a.out).is_ok_and(|mut entries| entries.next().is_some()) {
        bail!("{}: the directory exists and is not empty; give a new or empty one", a.out.display());
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    let extension = match a.format {
        TemplateFormat::Xyt => "xyt",
        TemplateFormat::Iso => "iso",
    };
    let progress = Phases::new();
    progress.start("generate and write templates", Some(u64::from(a.fingers)));
    let (done, started) = (AtomicU64::new(0), std::time::Instant::now());
    (1..=a.fingers).into_par_iter().try_for_each(|f| -> Result<()> {
        for (t, k) in fingerprint::finger(&config, f).iter().zip(1..) {
            let bytes = match a.format {
                TemplateFormat::Xyt => xyt::write(t).map_err(anyhow::Error::msg)?.into_bytes(),
                TemplateFormat::Iso => fmr::write_iso(std::slice::from_ref(t))?,
            };
            let path = a.out.join(format!("{f}_{k}.{extension}"));
            std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        }
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if n % 1024 == 0 {
            progress.advance(n);
        }
        Ok(())
    })?;
    progress.finish(started.elapsed().as_secs_f64());
    let templates = u64::from(a.fingers) * u64::from(a.impressions);
    eprintln!("wrote {templates} templates ({} fingers × {} impressions) to {}", a.fingers, a.impressions, a.out.display());
    Ok(())
}

/// `hitdex generate vehicle|phone|identity`.
fn keyed(category: Category, a: &KeyedArgs) -> Result<()> {
    let write = |path: &PathBuf, f: &dyn Fn(&mut BufWriter<std::fs::File>) -> std::io::Result<()>| -> Result<()> {
        let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        f(&mut w).and_then(|()| w.flush()).with_context(|| format!("cannot write {}", path.display()))
    };
    phase("generate records", || write(&a.out, &|w| hitdex_datasets::keyed::write_records(w, category, a.records, a.seed)))?;
    eprintln!("wrote {} {} records to {}", a.records, category.name(), a.out.display());
    if let (Some(n), Some(path)) = (a.queries, &a.queries_out) {
        phase("generate queries", || write(path, &|w| hitdex_datasets::keyed::write_queries(w, category, a.records, n, a.seed)))?;
        eprintln!("wrote {n} queries to {}", path.display());
    }
    Ok(())
}

/// A share between 0 and 1, for clap.
fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("{text} is not a number between 0 and 1")),
    }
}

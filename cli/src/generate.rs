//! `hitdex generate dna`: synthetic profiles drawn from real allele frequencies.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args as ClapArgs, Subcommand};
use hitdex_datasets::synthetic::{self, SyntheticConfig};

use crate::progress::phase;

#[derive(Subcommand)]
pub enum What {
    /// Synthetic DNA profiles as DNA CSV: persons typed at the 12 ESS loci,
    /// partial traces with wildcards, and planted duplicates, near-duplicates,
    /// relatives and traces of enrolled persons so that searches find hits.
    /// Deterministic for a seed.
    Dna(DnaArgs),
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

pub fn run(what: What) -> Result<()> {
    let What::Dna(a) = what;
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

/// A share between 0 and 1, for clap.
fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("{text} is not a number between 0 and 1")),
    }
}

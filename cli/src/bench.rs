//! `hitdex bench dna`: the macro benchmark of a whole DNA workload.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args as ClapArgs, Subcommand};
use hitdex_benches::dna::{self, Config, Report};
use hitdex_engine::dna::MatchParams;

use crate::generate::FrequencyArgs;
use crate::progress::Phases;

#[derive(Subcommand)]
pub enum What {
    /// Generate N profiles (80 % ESS-12 persons, 20 % traces), write them
    /// as CSV, build the index from the CSV, open, verify, then time single
    /// queries and a batch. Prints build time, index bytes per profile, open
    /// time, single-query p50/p99, batch throughput and peak memory, and
    /// checks a sample of answers against brute force.
    Dna(BenchArgs),
}

#[derive(ClapArgs)]
pub struct BenchArgs {
    /// Stored profiles.
    #[arg(long, default_value_t = 1_000_000)]
    pub profiles: usize,
    /// Queries (single-query latency and batch).
    #[arg(long, default_value_t = 10_000)]
    pub queries: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Shards of the index; default: one per CPU.
    #[arg(long)]
    pub shards: Option<usize>,
    /// Queries timed one at a time.
    #[arg(long, default_value_t = 2_000)]
    pub single: usize,
    /// Queries whose answers are checked against brute force.
    #[arg(long, default_value_t = 20)]
    pub check: usize,
    /// Also run a "first exchange" batch of this many queries.
    #[arg(long)]
    pub moonshot: Option<usize>,
    /// Working directory (CSV files and index); default: a temporary one,
    /// removed afterwards.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub source: FrequencyArgs,
}

impl BenchArgs {
    /// Runs the workload, in `--dir` or a temporary directory.
    pub fn run(&self) -> Result<Report> {
        let frequencies = self.source.load()?;
        let tmp;
        let dir = match &self.dir {
            Some(d) => {
                std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
                d.clone()
            }
            None => {
                tmp = tempfile::Builder::new().prefix("hitdex-bench-").tempdir()?;
                tmp.path().to_path_buf()
            }
        };
        let config = Config {
            profiles: self.profiles,
            queries: self.queries,
            seed: self.seed,
            shards: self.shards.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            single: self.single,
            check: self.check,
            moonshot: self.moonshot,
            dir,
            frequencies,
            params: MatchParams::default(),
        };
        Ok(dna::run(&config, &Phases::new())?)
    }
}

pub fn run(what: What) -> Result<()> {
    let What::Dna(args) = what;
    let r = args.run()?;
    print_report(&r);
    Ok(())
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// The report as a Markdown table (pasted as is into benches/RESULTS.md).
pub fn print_report(r: &Report) {
    let n = r.profiles.max(1) as f64;
    println!("| figure | value |");
    println!("|---|---|");
    println!("| profiles | {} ({} traces) |", r.profiles, r.traces);
    println!("| generate profiles + queries | {:.2} s |", r.generate);
    println!("| write CSV | {:.2} s ({:.0} MiB) |", r.write_csv, mib(r.csv_bytes));
    println!("| build from CSV (read + index) | {:.2} s ({:.2} + {:.2}) |", r.parse + r.build, r.parse, r.build);
    println!("| index size | {:.0} MiB, {:.1} bytes/profile |", mib(r.index_bytes), r.index_bytes as f64 / n);
    println!("| open index (median of 5) | {:.2} ms |", r.open_ms);
    println!("| verify index (full checksum) | {:.2} s |", r.verify);
    println!("| single query p50 / p99 ({} queries) | {:.0} µs / {:.0} µs |", r.single_queries, r.single_p50_us, r.single_p99_us);
    println!(
        "| batch of {} queries | {:.2} s, {:.0} queries/s |",
        r.batch_queries,
        r.batch,
        r.batch_queries as f64 / r.batch.max(1e-9)
    );
    println!(
        "| hits (batch) | {} queries with hits; {} hits: {} full, {} near |",
        r.hits.queries_with_hits,
        r.hits.full + r.hits.near,
        r.hits.full,
        r.hits.near
    );
    if let Some((q, s, hits)) = r.moonshot {
        println!(
            "| first exchange: {q} queries | {s:.1} s, {:.0} queries/s; {} queries with hits |",
            q as f64 / s.max(1e-9),
            hits.queries_with_hits
        );
    }
    println!("| answers checked against brute force | {} queries, all identical |", r.checked);
    if let Some(p) = r.search_peak_rss {
        println!("| peak memory, open to end of search | {:.0} MiB |", mib(p));
    }
    if let Some(p) = r.peak_rss {
        println!("| peak memory, whole run | {:.0} MiB |", mib(p));
    }
}

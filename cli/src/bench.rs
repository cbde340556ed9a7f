//! `hitdex bench dna` and `hitdex bench fingerprint`: macro benchmarks of
//! a whole DNA workload and of 1:N fingerprint search.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, Subcommand};
use hitdex_benches::dna::{self, Config, Progress as _, Report};
use hitdex_benches::dna::percentile;
use hitdex_benches::fingerprint_search::{SearchBench, SearchReport};
use hitdex_benches::resources;
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
    /// Generate a gallery of synthetic fingers (impression 1 of each),
    /// encode and index it, then search it with impression 2 of some of
    /// them. Prints encode and build time, bytes per finger, pre-filtered
    /// query p50/p99 and rank-1 identification, and on a sample rank-1
    /// exhaustively against pre-filtered and seconds per exhaustive query.
    Fingerprint(FingerprintArgs),
    /// Start a node (`hitdex serve`, a child process on loopback) on a DNA
    /// index of N profiles and load it with signed single-query searches
    /// from concurrent clients, each request signed and each answer's
    /// signature checked. Prints throughput, latency p50/p99/max, and how
    /// every request ended (none may be lost).
    Node(NodeArgs),
}

#[derive(ClapArgs)]
pub struct NodeArgs {
    /// Profiles in the node's DNA index.
    #[arg(long, default_value_t = 1_000_000)]
    pub profiles: usize,
    /// Requests to send (after 2,000 to warm up).
    #[arg(long, default_value_t = 100_000)]
    pub requests: usize,
    /// Concurrent clients (HTTP/1.1 connections).
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The node's directory: reused if it holds node.toml, else made as
    /// `hitdex node init` would; default: a temporary one, removed afterwards.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub source: FrequencyArgs,
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

#[derive(ClapArgs)]
pub struct FingerprintArgs {
    /// Fingers in the gallery.
    #[arg(long, default_value_t = 100_000)]
    pub fingers: u32,
    /// Queries: second impressions of gallery fingers spread evenly over it.
    #[arg(long, default_value_t = 200)]
    pub queries: u32,
    /// Of the queries, how many also run exhaustively (no pre-filter).
    #[arg(long, default_value_t = 20)]
    pub exhaustive: u32,
    /// Records scored per query after the pre-filter; several lengths
    /// (comma-separated) search every query once each.
    #[arg(long, value_delimiter = ',', default_value = "2000", value_parser = clap::value_parser!(u32).range(1..))]
    pub shortlist: Vec<u32>,
    /// Shards of the index; default: one per CPU.
    #[arg(long)]
    pub shards: Option<usize>,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Directory of the index (must not hold one); default: a temporary
    /// one, removed afterwards.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

impl FingerprintArgs {
    /// Runs the workload; returns its report and the peak memory of the run.
    pub fn run(&self) -> Result<(SearchReport, Option<u64>)> {
        if self.fingers == 0 || self.queries == 0 {
            bail!("--fingers and --queries must be at least 1");
        }
        let shards = self.shards.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        if shards == 0 {
            bail!("--shards must be at least 1");
        }
        let tmp;
        let dir = match &self.dir {
            // Refused before the gallery is generated, not after.
            Some(d) if d.join(hitdex_engine::index::manifest::FILE).exists() => bail!("{} already holds an index", d.display()),
            Some(d) => d.clone(),
            None => {
                tmp = tempfile::Builder::new().prefix("hitdex-bench-").tempdir()?;
                tmp.path().join("index")
            }
        };
        let bench = SearchBench {
            fingers: self.fingers,
            queries: self.queries,
            exhaustive: self.exhaustive,
            shortlists: self.shortlist.iter().map(|&s| s as usize).collect(),
            shards,
            seed: self.seed,
        };
        // SearchBench names each phase as it starts; the previous one ends there.
        let phases = Phases::new();
        let started: Mutex<Option<Instant>> = Mutex::new(None);
        let next = |name: Option<&str>| {
            if let Ok(mut slot) = started.lock() {
                if let Some(t) = slot.take() {
                    phases.finish(t.elapsed().as_secs_f64());
                }
                if let Some(name) = name {
                    phases.start(name, None);
                    *slot = Some(Instant::now());
                }
            }
        };
        let report = bench.run(&dir, &|name| next(Some(name)));
        next(None);
        Ok((report?, resources::peak_rss()))
    }
}

pub fn run(what: What) -> Result<()> {
    match what {
        What::Dna(args) => print_report(&args.run()?),
        What::Fingerprint(args) => {
            let (r, peak) = args.run()?;
            print_fingerprint_report(&args, &r, peak);
        }
        What::Node(args) => bench_node(&args)?,
    }
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

/// Nearest-rank percentile of sorted values (as the DNA bench's).
fn percent(part: u32, whole: usize) -> f64 {
    100.0 * f64::from(part) / whole.max(1) as f64
}

/// The fingerprint report as a Markdown table, like the DNA one.
fn print_fingerprint_report(args: &FingerprintArgs, r: &SearchReport, peak: Option<u64>) {
    let queries = r.runs.first().map_or(0, |run| run.latencies.len());
    let sample = (args.exhaustive as usize).min(queries);
    println!("| figure | value |");
    println!("|---|---|");
    println!("| gallery | {} fingers |", args.fingers);
    println!("| generate + encode gallery | {:.2} s |", r.encode_seconds);
    println!("| build index | {:.2} s |", r.build_seconds);
    println!("| index size | {:.0} bytes/finger |", r.bytes_per_finger);
    for run in &r.runs {
        println!(
            "| shortlist {}: query p50 / p99 ({queries} queries) | {:.2} ms / {:.2} ms |",
            run.shortlist,
            1e3 * percentile(&run.latencies, 0.50),
            1e3 * percentile(&run.latencies, 0.99)
        );
        println!("| shortlist {}: rank-1 identification | {:.1} % ({} of {queries}) |", run.shortlist, percent(run.rank1, queries), run.rank1);
        if sample > 0 {
            println!("| shortlist {}: rank-1 on the exhaustive sample | {:.1} % ({} of {sample}) |", run.shortlist, percent(run.sample_rank1, sample), run.sample_rank1);
        }
    }
    if sample > 0 {
        println!("| exhaustive: rank-1 on the sample | {:.1} % ({} of {sample}) |", percent(r.exhaustive_rank1, sample), r.exhaustive_rank1);
        println!("| exhaustive query | {:.3} s per query |", r.exhaustive_seconds);
    }
    if let Some(p) = peak {
        println!("| peak memory, whole run | {:.0} MiB |", mib(p));
    }
}

fn bench_node(a: &NodeArgs) -> Result<()> {
    use hitdex_benches::node_load::{self, Load, Served};
    use hitdex_protocol::client::Client;
    use hitdex_protocol::config::ClientConfig;
    let tmp;
    let dir = match &a.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::Builder::new().prefix("hitdex-bench-node-").tempdir()?;
            tmp.path().join("node")
        }
    };
    if !dir.join("node.toml").exists() {
        let freqs = a.source.load()?;
        let config = hitdex_datasets::synthetic::SyntheticConfig { profiles: a.profiles, seed: a.seed, ..Default::default() };
        let profiles = crate::progress::phase("generate profiles", || hitdex_datasets::synthetic::generate(&freqs, &config));
        let queries = hitdex_datasets::synthetic::queries(&profiles, &freqs, 10_000, a.seed ^ 0x5eed);
        crate::progress::phase("write the node", || hitdex_protocol::init::init(&dir, "127.0.0.1:0", &profiles, &queries, &[]))?;
    }
    let queries = hitdex_formats::dna_csv::read_path(&dir.join("queries.csv"), hitdex_formats::Mode::Query)?;
    // Entries already in the log (a reused node directory).
    let node_key = hitdex_protocol::keys::read_public(&dir.join("node.pub"))?;
    let log = dir.join("audit.log");
    let before = if log.exists() { hitdex_protocol::audit::verify(&log, &node_key).context("the audit log does not verify")?.entries } else { 0 };
    let exe = std::env::current_exe().context("cannot find the hitdex binary")?;
    let served = Served::start(&exe, &dir.join("node.toml"))?;
    eprintln!("node at {}", served.url);
    let client = std::sync::Arc::new(Client::new(&ClientConfig::load(&dir.join("client.toml"))?, &served.url)?);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (polls, warm, report) = runtime.block_on(async {
        // Ready once every shard is verified.
        let started = Instant::now();
        let mut polls = 0u64;
        loop {
            polls += 1;
            let status = client.call("GET", "/v1/index/status", Vec::new()).await?;
            if String::from_utf8_lossy(&status).contains("\"verified\":true") {
                break;
            }
            if started.elapsed().as_secs() > 600 {
                bail!("the node was not ready after 10 minutes");
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let warm = node_load::run(client.clone(), &Load { queries: queries.clone(), requests: 2_000, connections: a.connections }, None).await?;
        let report = node_load::run(client.clone(), &Load { queries, requests: a.requests, connections: a.connections }, Some(served.pid())).await?;
        Ok((polls, warm, report))
    })?;
    let status = served.stop()?;
    // Every request the node answered must be in its audit log, intact.
    let audit = hitdex_protocol::audit::verify(&log, &node_key).context("the audit log does not verify")?;
    let answered = polls + warm.latencies.len() as u64 + report.latencies.len() as u64;
    let ms = |q: f64| percentile(&report.latencies, q) * 1e3;
    println!("| figure | value |");
    println!("|---|---|");
    println!("| requests | {} ({} connections) |", a.requests, a.connections);
    println!("| answered 200, signature verified | {} ({} hits) |", report.ok, report.hits);
    println!("| refused | {:?} |", report.refused);
    println!("| failed (no trusted answer) | {}{} |", report.failed, report.first_failure.as_deref().map(|e| format!(": {e}")).unwrap_or_default());
    println!("| throughput | {:.0} requests/s ({:.2} s) |", report.throughput(), report.seconds);
    println!("| latency p50 / p99 / max | {:.2} / {:.2} / {:.2} ms |", ms(0.5), ms(0.99), ms(1.0));
    // CPU time per request while requests were sent, of the node and of this load generator.
    let per_request = |cpu: Option<f64>| cpu.map_or_else(|| "unknown".to_string(), |s| format!("{:.0} µs", 1e6 * s / report.latencies.len().max(1) as f64));
    println!("| CPU per request: node / load generator | {} / {} |", per_request(report.cpu.0), per_request(report.cpu.1));
    println!("| node exit | {status} |");
    let logged = audit.entries.saturating_sub(before);
    println!("| audit log after the run | verifies; {logged} entries for the {answered} requests answered (with warm-up and readiness checks){} |", if logged == answered { "" } else { ": MISMATCH" });
    Ok(())
}

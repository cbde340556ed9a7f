//! The DNA workload: generate, write CSV, build, open, verify, search.

use std::path::{Path, PathBuf};
use std::time::Instant;

use hitdex_datasets::frequencies::AlleleFrequencies;
use hitdex_datasets::synthetic::{self, SyntheticConfig};
use hitdex_engine::dna::{brute_force, Hit, HitQuality, MatchParams, Profile};
use hitdex_engine::index::Index;
use hitdex_formats::dna_csv::{self, Mode};

use crate::resources;

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Stored profiles to generate.
    pub profiles: usize,
    /// Queries for the latency and batch phases.
    pub queries: usize,
    /// Seed of the generator.
    pub seed: u64,
    /// Shards of the index.
    pub shards: usize,
    /// Queries timed one at a time (at most `queries`).
    pub single: usize,
    /// Queries checked against brute force (at most `queries`).
    pub check: usize,
    /// Queries of the "first exchange" batch, if any.
    pub moonshot: Option<usize>,
    /// Working directory for the CSV files and the index.
    pub dir: PathBuf,
    /// Allele frequencies to draw from.
    pub frequencies: AlleleFrequencies,
    /// Matching parameters.
    pub params: MatchParams,
}

/// Errors of a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] hitdex_engine::Error),
    /// A CSV file could not be read.
    #[error(transparent)]
    Csv(#[from] hitdex_formats::dna_csv::CsvError),
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The fast path disagreed with brute force: a bug, reported loudly.
    #[error("query {query}: the index found {got} hits, brute force {expected}")]
    Mismatch {
        /// Query reference.
        query: String,
        /// Hits from the index.
        got: usize,
        /// Hits from brute force.
        expected: usize,
    },
}

/// Hit counts of a set of answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HitCounts {
    /// Queries with at least one hit.
    pub queries_with_hits: usize,
    /// Full-match hits.
    pub full: usize,
    /// Near-match hits.
    pub near: usize,
}

impl HitCounts {
    /// Counts the hits of `answers`.
    pub fn of(answers: &[Vec<Hit>]) -> HitCounts {
        let mut c = HitCounts::default();
        for hits in answers {
            c.queries_with_hits += usize::from(!hits.is_empty());
            for h in hits {
                match h.quality {
                    HitQuality::Full => c.full += 1,
                    HitQuality::Near => c.near += 1,
                }
            }
        }
        c
    }
}

/// Every figure of a run. Times in seconds unless named otherwise.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Profiles stored.
    pub profiles: usize,
    /// Of which traces.
    pub traces: usize,
    /// Generating the profiles and queries in memory.
    pub generate: f64,
    /// Writing the database CSV.
    pub write_csv: f64,
    /// Size of the database CSV.
    pub csv_bytes: u64,
    /// Reading the CSV (parse and validate).
    pub parse: f64,
    /// Building the index from parsed profiles.
    pub build: f64,
    /// Index size on disk.
    pub index_bytes: u64,
    /// Opening the index (median of several opens), in milliseconds.
    pub open_ms: f64,
    /// Full integrity check.
    pub verify: f64,
    /// Single-query latency percentiles, in microseconds.
    pub single_p50_us: f64,
    /// 99th percentile.
    pub single_p99_us: f64,
    /// Queries timed one at a time.
    pub single_queries: usize,
    /// Batch of all queries.
    pub batch: f64,
    /// Queries in the batch.
    pub batch_queries: usize,
    /// Hits of the batch.
    pub hits: HitCounts,
    /// Queries whose hits were compared with brute force (all equal, or the
    /// run fails).
    pub checked: usize,
    /// The first-exchange batch: queries and seconds.
    pub moonshot: Option<(usize, f64, HitCounts)>,
    /// Peak resident memory of the whole run (generation included).
    pub peak_rss: Option<u64>,
    /// Peak resident memory from opening the index to the end of the searches.
    pub search_peak_rss: Option<u64>,
}

/// Receives progress: phases start and advance.
pub trait Progress: Sync {
    /// A phase starts; `total` units of work if known.
    fn start(&self, phase: &str, total: Option<u64>);
    /// `done` units of the current phase are complete.
    fn advance(&self, done: u64);
    /// The current phase ended after `seconds`.
    fn finish(&self, seconds: f64);
}

fn timed<T>(progress: &dyn Progress, phase: &str, total: Option<u64>, f: impl FnOnce() -> T) -> (T, f64) {
    progress.start(phase, total);
    let t = Instant::now();
    let out = f();
    let s = t.elapsed().as_secs_f64();
    progress.finish(s);
    (out, s)
}

/// Writes profiles as DNA CSV with every locus any of them has typed.
///
/// # Errors
/// I/O errors, naming the file.
pub fn write_csv(path: &Path, profiles: &[Profile]) -> Result<u64, BenchError> {
    dna_csv::write_path(path, profiles).map_err(|source| BenchError::Io { path: path.to_path_buf(), source })
}

/// Runs the whole workload.
///
/// # Errors
/// Any failing phase; [`BenchError::Mismatch`] if a checked query's hits
/// differ from brute force.
pub fn run(cfg: &Config, progress: &dyn Progress) -> Result<Report, BenchError> {
    let mut r = Report { profiles: cfg.profiles, ..Report::default() };
    let db_csv = cfg.dir.join("profiles.csv");
    let index_dir = cfg.dir.join("index");
    let synth = SyntheticConfig { profiles: cfg.profiles, seed: cfg.seed, ..SyntheticConfig::default() };
    let ((db, queries), s) = timed(progress, "generate profiles and queries", None, || {
        let db = synthetic::generate(&cfg.frequencies, &synth);
        let queries = synthetic::queries(&db, &cfg.frequencies, cfg.queries, cfg.seed ^ 0x5eed);
        (db, queries)
    });
    r.generate = s;
    r.traces = db.iter().filter(|p| p.kind == hitdex_engine::dna::Kind::Trace).count();
    let (bytes, s) = timed(progress, "write profiles.csv", None, || write_csv(&db_csv, &db));
    r.csv_bytes = bytes?;
    r.write_csv = s;
    drop(db);

    let (db, s) = timed(progress, "read profiles.csv", None, || dna_csv::read_path(&db_csv, Mode::Store));
    let db = db?;
    r.parse = s;
    let (index, s) = timed(progress, "build index", None, || Index::build(&index_dir, &db, cfg.shards));
    let index = index?;
    r.build = s;
    r.index_bytes = index.stats().bytes;
    drop(index);

    resources::reset_peak();
    let mut opens = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let index = Index::open(&index_dir)?;
        opens.push(t.elapsed().as_secs_f64() * 1e3);
        drop(index);
    }
    opens.sort_by(f64::total_cmp);
    r.open_ms = opens[opens.len() / 2];
    let index = Index::open(&index_dir)?;
    let (verified, s) = timed(progress, "verify index", None, || index.verify());
    verified?;
    r.verify = s;

    let single = cfg.single.min(queries.len());
    let (latencies, _) = timed(progress, "single queries", Some(single as u64), || {
        let mut lat = Vec::with_capacity(single);
        for (i, q) in queries[..single].iter().enumerate() {
            let t = Instant::now();
            let hits = index.search(q, &cfg.params);
            lat.push(t.elapsed().as_secs_f64() * 1e6);
            hits?;
            if i % 64 == 0 {
                progress.advance(i as u64);
            }
        }
        Ok::<_, BenchError>(lat)
    });
    let mut latencies = latencies?;
    latencies.sort_by(f64::total_cmp);
    r.single_queries = single;
    if single > 0 {
        r.single_p50_us = percentile(&latencies, 0.50);
        r.single_p99_us = percentile(&latencies, 0.99);
    }

    let (answers, s) = timed(progress, "batch search", Some(queries.len() as u64), || {
        index.search_batch(&queries, &cfg.params, &|done| progress.advance(done as u64))
    });
    let answers = answers?;
    r.batch = s;
    r.batch_queries = queries.len();
    r.hits = HitCounts::of(&answers);

    if let Some(n) = cfg.moonshot {
        let (more, _) = timed(progress, "generate exchange queries", None, || {
            synthetic::queries(&db, &cfg.frequencies, n, cfg.seed ^ 0xe8c4)
        });
        let (found, s) = timed(progress, "first-exchange batch", Some(n as u64), || {
            index.search_batch(&more, &cfg.params, &|done| progress.advance(done as u64))
        });
        r.moonshot = Some((n, s, HitCounts::of(&found?)));
    }
    r.search_peak_rss = resources::peak_rss();

    let check = cfg.check.min(queries.len());
    let (checked, _) = timed(progress, "brute-force check", Some(check as u64), || {
        check_brute_force(&db, &queries[..check], &answers[..check], &cfg.params)
    });
    r.checked = checked?;
    r.peak_rss = resources::peak_rss();
    Ok(r)
}

/// Compares the hits of `queries` with brute force over `db`.
fn check_brute_force(db: &[Profile], queries: &[Profile], answers: &[Vec<Hit>], params: &MatchParams) -> Result<usize, BenchError> {
    for (q, got) in queries.iter().zip(answers) {
        let expected = brute_force(db, q, params);
        if &expected != got {
            return Err(BenchError::Mismatch { query: q.reference.clone(), got: got.len(), expected: expected.len() });
        }
    }
    Ok(queries.len())
}

/// The `p` quantile of `sorted` (nearest rank; NaN when empty).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len().max(1)) - 1;
    sorted.get(i).copied().unwrap_or(f64::NAN)
}

//! The 1:N fingerprint workload behind `hitdex bench fingerprint`: a
//! gallery of synthetic fingers (impression 1 of each), indexed on disk,
//! searched with impression 2 of some of them; each query is timed with
//! the pre-filter, and identification (is the mate ranked first?) is
//! counted with the pre-filter and, for a sample, exhaustively.

use std::path::Path;
use std::time::Instant;

use hitdex_datasets::fingerprint::{self as synthetic, FingerprintConfig};
use hitdex_engine::dna::Kind;
use hitdex_engine::fingerprint::{Candidate, Cylinders, Encoded, FingerIndex, FingerRecord, QueryFinger, SearchParams};
use hitdex_engine::Result;
use rayon::prelude::*;

/// What to run.
#[derive(Debug, Clone)]
pub struct SearchBench {
    /// Fingers in the gallery.
    pub fingers: u32,
    /// Queries (mates of gallery fingers spread evenly over it).
    pub queries: u32,
    /// Of those, how many also run exhaustively.
    pub exhaustive: u32,
    /// Records scored per query after the pre-filter: each length is a
    /// run over every query.
    pub shortlists: Vec<usize>,
    /// Shards.
    pub shards: usize,
    /// Generator seed.
    pub seed: u64,
}

/// What it measured.
#[derive(Debug, Clone, Default)]
pub struct SearchReport {
    /// Seconds to generate and encode the gallery.
    pub encode_seconds: f64,
    /// Seconds to write the index.
    pub build_seconds: f64,
    /// Index bytes per finger.
    pub bytes_per_finger: f64,
    /// One run per shortlist length.
    pub runs: Vec<ShortlistRun>,
    /// Queries of the exhaustive sample whose mate ranked first exhaustively.
    pub exhaustive_rank1: u32,
    /// Seconds per exhaustive query.
    pub exhaustive_seconds: f64,
}

/// The queries searched with one shortlist length.
#[derive(Debug, Clone, Default)]
pub struct ShortlistRun {
    /// Records scored per query after the pre-filter.
    pub shortlist: usize,
    /// Per-query seconds, sorted.
    pub latencies: Vec<f64>,
    /// Queries whose mate ranked first.
    pub rank1: u32,
    /// The same count on the exhaustive sample.
    pub sample_rank1: u32,
}

impl SearchBench {
    /// Runs the workload with the index in `dir` (which must not hold one).
    ///
    /// # Errors
    /// Engine errors (I/O, a damaged index).
    pub fn run(&self, dir: &Path, progress: &(dyn Fn(&str) + Sync)) -> Result<SearchReport> {
        let config = FingerprintConfig { fingers: self.fingers, impressions: 2, seed: self.seed, ..FingerprintConfig::default() };
        let mut report = SearchReport::default();
        progress("generate and encode the gallery");
        let t = Instant::now();
        let step = (self.fingers / self.queries.max(1)).max(1);
        let reference = |f: u32| format!("F{f:08}");
        let made: Vec<(FingerRecord, Option<Encoded>)> = (1..=self.fingers)
            .into_par_iter()
            .map(|f| {
                let master = synthetic::master(&config, f);
                let gallery = synthetic::impression(&config, &master, f, 1).template;
                let record = FingerRecord { reference: reference(f), authority: "XX".into(), kind: Kind::Person, finger: 0, template: Cylinders::new(&gallery), added: 0 };
                let probe = ((f - 1) % step == 0 && (f - 1) / step < self.queries).then(|| Encoded::new(&synthetic::impression(&config, &master, f, 2).template));
                (record, probe)
            })
            .collect();
        report.encode_seconds = t.elapsed().as_secs_f64();
        let (records, probes): (Vec<FingerRecord>, Vec<Option<Encoded>>) = made.into_iter().unzip();
        let probes: Vec<(String, Encoded)> = probes.into_iter().zip(1..).filter_map(|(p, f)| Some((reference(f), p?))).collect();
        progress("build the index");
        let t = Instant::now();
        let index = FingerIndex::build(dir, &records, self.shards)?;
        report.build_seconds = t.elapsed().as_secs_f64();
        drop(records);
        report.bytes_per_finger = index.stats().bytes as f64 / f64::from(self.fingers);
        let params = |shortlist| SearchParams { top: 10, threshold: 0.0, shortlist };
        let query = |probe: &Encoded| [QueryFinger { finger: 0, template: probe.clone() }];
        let first = |found: &[Candidate], mate: &str| found.first().is_some_and(|c| c.reference == mate);
        let sample = (self.exhaustive as usize).min(probes.len());
        for &shortlist in &self.shortlists {
            progress(&format!("search, shortlist {shortlist}"));
            let mut run = ShortlistRun { shortlist, ..ShortlistRun::default() };
            for (k, (mate, probe)) in probes.iter().enumerate() {
                let t = Instant::now();
                let found = index.search(&query(probe), &params(Some(shortlist)))?;
                run.latencies.push(t.elapsed().as_secs_f64());
                run.rank1 += u32::from(first(&found, mate));
                run.sample_rank1 += u32::from(k < sample && first(&found, mate));
            }
            run.latencies.sort_by(f64::total_cmp);
            report.runs.push(run);
        }
        progress("search exhaustively");
        let t = Instant::now();
        for (mate, probe) in &probes[..sample] {
            report.exhaustive_rank1 += u32::from(first(&index.search(&query(probe), &params(None))?, mate));
        }
        report.exhaustive_seconds = t.elapsed().as_secs_f64() / sample.max(1) as f64;
        Ok(report)
    }
}

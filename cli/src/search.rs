//! `hitdex search dna`: answers as NDJSON, one line per query, input order.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use hitdex_benches::dna::Progress as _;
use hitdex_engine::dna::MatchParams;
use hitdex_engine::index::Index;
use hitdex_formats::dna_csv::{self, Mode};
use hitdex_formats::ndjson;

use crate::progress::{phase, Phases};

#[derive(Subcommand)]
pub enum What {
    /// Search DNA profiles by the matching rules (full and near matches).
    ///
    /// Writes one JSON object per query to standard output, in input order:
    /// {"query":"Q1","hits":[{"reference":"R9","authority":"DE-BKA",
    /// "quality":"near","matching_loci":11,"compared_loci":12,
    /// "differing_locus":"FGA"}]}; "hits":[] when there is none.
    Dna {
        /// The index directory.
        #[arg(long)]
        index: PathBuf,
        /// Query profiles as DNA CSV (authority and kind may be empty).
        #[arg(long)]
        queries: PathBuf,
        /// Fewest matching loci for a hit.
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(1..=28))]
        min_loci: u8,
        /// Turn off the microvariant tolerance (9.3 then pairs only with 9.3).
        #[arg(long)]
        exact_microvariants: bool,
        /// Skip the full checksum of the index before searching (it is
        /// always checked on open for header, version and bounds).
        #[arg(long)]
        no_verify: bool,
    },
}

pub fn run(what: What) -> Result<()> {
    let What::Dna { index, queries, min_loci, exact_microvariants, no_verify } = what;
    let params = MatchParams { min_loci, microvariant_tolerance: !exact_microvariants };
    let queries = phase("read queries", || dna_csv::read_path(&queries, Mode::Query))?;
    let idx = phase("open index", || Index::open(&index)).with_context(|| format!("cannot open index {}", index.display()))?;
    if !no_verify {
        phase("verify index", || idx.verify()).context("the index failed its integrity check; run `hitdex index verify`")?;
    }
    let progress = Phases::new();
    progress.start("search", Some(queries.len() as u64));
    let t = std::time::Instant::now();
    let answers = idx.search_batch(&queries, &params, &|done| progress.advance(done as u64))?;
    progress.finish(t.elapsed().as_secs_f64());
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    for (q, hits) in queries.iter().zip(&answers) {
        ndjson::write_answer(&mut out, &q.reference, hits)?;
    }
    out.flush()?;
    Ok(())
}

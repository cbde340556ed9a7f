//! `hitdex search dna`: answers as NDJSON, one line per query, input order.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;
use hitdex_benches::dna::Progress as _;
use hitdex_engine::dna::{MatchParams, Profile};
use hitdex_engine::index::container::Category;
use hitdex_engine::index::Index;
use hitdex_formats::dna_csv::{self, Mode};
use hitdex_formats::ndjson;

use crate::progress::{phase, Phases};

/// The matching rules' options of a DNA search, local or through a node.
#[derive(clap::Args)]
pub struct MatchArgs {
    /// Fewest matching loci for a hit.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(1..=28))]
    pub min_loci: u8,
    /// Turn off the microvariant tolerance (9.3 then pairs only with 9.3).
    #[arg(long)]
    pub exact_microvariants: bool,
}

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
        /// Query profiles as DNA CSV (authority and kind may be empty);
        /// `-` reads standard input.
        #[arg(long)]
        queries: PathBuf,
        #[command(flatten)]
        rules: MatchArgs,
        /// Skip the full checksum of the index before searching (header,
        /// version and bounds are always checked on open). Only for an
        /// index verified since it last changed: damaged bytes that pass
        /// the open checks can give wrong answers without the checksum.
        #[arg(long)]
        no_verify: bool,
    },
    /// Search fingerprints: candidate persons ranked by score.
    ///
    /// Writes one JSON object per query to standard output, in input order:
    /// {"query":"Q1","candidates":[{"reference":"P-9","authority":"DE-BKA",
    /// "finger":2,"score":0.61}]}; a query of several fingers adds
    /// "fingers":[{"query_finger":1,"finger":1,"score":0.7},...] and its
    /// score is the mean over its fingers.
    Fingerprint(crate::fingerprint::SearchArgs),
    /// Search vehicles by plate and/or VIN (exact, after normalisation:
    /// `b-ab 123` = `BAB123`; a query with both hits what either hits).
    ///
    /// Queries: CSV `reference,plate,vin` (authority and kind optional).
    /// Writes one JSON object per query to standard output, in input order:
    /// {"query":"Q1","hits":[{"reference":"R9","authority":"DE-KBA"}]};
    /// "hits":[] when there is none.
    Vehicle(crate::keyed::SearchArgs),
    /// Search telephone numbers (exact in E.164: `030 12345678` with
    /// region DE = `+49 30 12345678`).
    ///
    /// Queries: CSV `reference,number[,region]`; answers as for vehicles.
    Phone(crate::keyed::SearchArgs),
    /// Search persons by family name, given names and date of birth (exact
    /// after removing diacritics, case, spaces, hyphens and apostrophes:
    /// `Müller` = `MULLER`).
    ///
    /// Queries: CSV `reference,family_name,given_names,date_of_birth`;
    /// answers as for vehicles.
    Identity(crate::keyed::SearchArgs),
}

pub fn run(what: What) -> Result<()> {
    let (index, queries, MatchArgs { min_loci, exact_microvariants }, no_verify) = match what {
        What::Dna { index, queries, rules, no_verify } => (index, queries, rules, no_verify),
        What::Fingerprint(args) => return crate::fingerprint::search(&args),
        What::Vehicle(args) => return crate::keyed::search(Category::Vehicle, &args),
        What::Phone(args) => return crate::keyed::search(Category::Phone, &args),
        What::Identity(args) => return crate::keyed::search(Category::Identity, &args),
    };
    let params = MatchParams { min_loci, microvariant_tolerance: !exact_microvariants };
    let queries = phase("read queries", || read_queries(&queries))?;
    let short = queries.iter().filter(|q| q.typed_loci() < usize::from(min_loci)).count();
    if short > 0 {
        eprintln!("note: {short} queries type fewer than {min_loci} loci (besides Amelogenin) and cannot have a hit");
    }
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

/// Queries from a DNA CSV file, or from standard input for `-`.
fn read_queries(path: &Path) -> Result<Vec<Profile>> {
    if path != Path::new("-") {
        return Ok(dna_csv::read_path(path, Mode::Query)?);
    }
    let mut bytes = Vec::new();
    std::io::stdin().lock().read_to_end(&mut bytes).context("cannot read queries from standard input")?;
    Ok(dna_csv::read_bytes(&bytes, Path::new("<stdin>"), Mode::Query)?)
}

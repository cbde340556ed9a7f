//! `hitdex fingerprint`: scores and error rates of the 1:1 matcher over a
//! directory of templates; and the fingerprint parts of `hitdex index` and
//! `hitdex search` (reading manifests, printing candidates).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use hitdex_benches::fingerprint::{encode_all, error_rates, load_dir, score_matrix, split_scores};
use hitdex_engine::fingerprint::{Cylinders, Encoded, FingerIndex, FingerRecord, QueryFinger, SearchParams, DEFAULT_SHORTLIST};
use hitdex_formats::fingerprint::{manifest, Format};
use hitdex_formats::ndjson;
use rayon::prelude::*;

use crate::progress::phase;

#[derive(Subcommand)]
pub enum Op {
    /// Print `probe,candidate,score` for every ordered pair of different
    /// templates in a directory (scores 0 to 1, higher is more similar).
    ScoreMatrix(Templates),
    /// Score every ordered pair and print the equal error rate and the
    /// false non-match rate at 1 % false match rate. Files are named
    /// `<finger>_<impression>.<ext>` (as FVC's); pairs with the same finger
    /// part are mated.
    Eval(Templates),
}

#[derive(ClapArgs)]
pub struct Templates {
    /// Directory of template files.
    #[arg(long)]
    templates: PathBuf,
    /// Read only the files of this format (told by their extension: .xyt,
    /// .iso, .ansi, .an2k); default: every file with one of them.
    #[arg(long, value_enum)]
    format: Option<FormatArg>,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// NIST xyt (x y theta quality; origin bottom-left).
    Xyt,
    /// ISO/IEC 19794-2:2005 records.
    Iso,
    /// ANSI INCITS 378-2004 records.
    Ansi,
    /// ANSI/NIST-ITL files (minutiae of the first Type-9 record).
    An2k,
}

pub fn run(op: Op) -> Result<()> {
    let (Op::ScoreMatrix(args) | Op::Eval(args)) = &op;
    let format = args.format.map(|f| match f {
        FormatArg::Xyt => Format::Xyt,
        FormatArg::Iso => Format::Iso,
        FormatArg::Ansi => Format::Ansi,
        FormatArg::An2k => Format::An2k,
    });
    let entries = phase("read templates", || load_dir(&args.templates, format))?;
    let encoded = phase("encode", || encode_all(&entries));
    let t = std::time::Instant::now();
    let scores = phase("score all pairs", || score_matrix(&encoded));
    let seconds = t.elapsed().as_secs_f64();
    match op {
        Op::ScoreMatrix(_) => {
            let mut out = BufWriter::new(std::io::stdout().lock());
            writeln!(out, "probe,candidate,score")?;
            for (i, j, s) in scores {
                writeln!(out, "{},{},{s:.6}", entries[i].name, entries[j].name)?;
            }
            out.flush()?;
        }
        Op::Eval(_) => {
            let (mated, non_mated) = split_scores(&entries, &scores);
            let r = error_rates(&mated, &non_mated);
            println!("templates {} ({})", entries.len(), args.templates.display());
            println!("pairs     {} mated, {} non-mated", r.mated, r.non_mated);
            println!("EER       {:.2} %", 100.0 * r.eer);
            println!("FNMR      {:.2} % at FMR 1 %", 100.0 * r.fnmr_at_fmr_1);
            let bytes: usize = encoded.iter().map(|e| e.bytes()).sum();
            println!("memory    {:.0} bytes per encoded template (mean)", bytes as f64 / encoded.len().max(1) as f64);
            let threads = rayon::current_num_threads();
            println!("speed     {:.0} comparisons/s per thread ({threads} threads, pre-encoded templates)", scores.len() as f64 / seconds / threads as f64);
        }
    }
    Ok(())
}

/// The finger records a manifest CSV (or a directory, with `authority`) lists, encoded.
pub fn read_records(input: &Path, authority: Option<&str>) -> Result<Vec<FingerRecord>> {
    let entries = phase("read manifest", || -> Result<_> {
        if input.is_dir() {
            let Some(authority) = authority else { bail!("{}: a directory of templates needs --authority", input.display()) };
            Ok(manifest::from_dir(input, authority)?)
        } else if authority.is_some() {
            bail!("{}: --authority is for a directory of templates; a manifest names each record's authority", input.display())
        } else {
            Ok(manifest::read_path(input, manifest::Mode::Store)?)
        }
    })?;
    let templates = phase("read templates", || manifest::templates(&entries, None))?;
    let added = hitdex_engine::index::now() as u32;
    Ok(phase("encode", || {
        entries
            .into_par_iter()
            .zip(templates)
            .map(|(e, (finger, t))| FingerRecord { reference: e.reference, authority: e.authority, kind: e.kind, finger, template: Cylinders::new(&t), added })
            .collect()
    }))
}

pub fn print_stats(index: &FingerIndex) {
    let s = index.stats();
    println!("index      {}", index.dir().display());
    println!("category   fingerprint");
    println!("shards     {}", s.shards);
    println!("records    {} live fingers, {} deleted awaiting compaction", s.records - s.deleted, s.deleted);
    println!("cylinders  {} ({:.1} per live finger)", s.cylinders, s.cylinders as f64 / (s.records - s.deleted).max(1) as f64);
    println!("bytes      {} ({:.0} per stored finger)", s.bytes, s.bytes as f64 / s.records.max(1) as f64);
}

/// `hitdex search fingerprint`.
#[derive(ClapArgs)]
pub struct SearchArgs {
    /// The index directory.
    #[arg(long)]
    index: PathBuf,
    /// Query manifest CSV (`reference,finger,path`, authority optional):
    /// rows with the same reference are one query (a ten-print card) whose
    /// per-finger scores are fused.
    #[arg(long)]
    queries: PathBuf,
    /// Most candidates per query (exchange practice: 1 for ten-print
    /// against ten-print, 10 for a latent).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    top: u32,
    /// Lowest fused score of a candidate (0 to 1). The default lists the
    /// best `--top` whatever their score: mated impressions can score as
    /// low as 0.02 (FVC2002 and synthetic), near non-mated ones.
    #[arg(long, default_value_t = 0.0)]
    threshold: f32,
    /// Records per query finger scored after the pre-filter.
    #[arg(long, default_value_t = DEFAULT_SHORTLIST as u32, conflicts_with = "exhaustive", value_parser = clap::value_parser!(u32).range(1..))]
    shortlist: u32,
    /// Score every record (no pre-filter): slow on a large gallery.
    #[arg(long)]
    exhaustive: bool,
    /// Skip the full checksum of the index before searching.
    #[arg(long)]
    no_verify: bool,
}

pub fn search(args: &SearchArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&args.threshold) {
        bail!("--threshold must lie between 0 and 1");
    }
    // Opening is cheap and fails fast on a wrong path or category.
    let idx = phase("open index", || FingerIndex::open(&args.index)).with_context(|| format!("cannot open index {}", args.index.display()))?;
    let entries = phase("read queries", || manifest::read_path(&args.queries, manifest::Mode::Query))?;
    let templates = phase("read templates", || manifest::templates(&entries, None))?;
    let queries: Vec<(String, Vec<QueryFinger>)> = manifest::queries(&entries)
        .into_iter()
        .map(|(name, rows)| (name, rows.into_iter().map(|i| QueryFinger { finger: templates[i].0, template: Encoded::new(&templates[i].1) }).collect()))
        .collect();
    if !args.no_verify {
        phase("verify index", || idx.verify()).context("the index failed its integrity check; run `hitdex index verify`")?;
    }
    let params = SearchParams { top: args.top as usize, threshold: args.threshold, shortlist: (!args.exhaustive).then_some(args.shortlist as usize) };
    let mut out = BufWriter::new(std::io::stdout().lock());
    let answers = phase("search", || queries.iter().map(|(_, q)| idx.search(q, &params)).collect::<Result<Vec<_>, _>>())?;
    for ((reference, query), candidates) in queries.iter().zip(&answers) {
        let fingers: Vec<u8> = query.iter().map(|f| f.finger).collect();
        ndjson::write_candidates(&mut out, reference, &fingers, candidates)?;
    }
    out.flush()?;
    Ok(())
}

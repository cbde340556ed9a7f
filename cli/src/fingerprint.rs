//! `hitdex fingerprint`: scores and error rates of the 1:1 matcher over a
//! directory of templates.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use hitdex_benches::fingerprint::{encode_all, error_rates, load_dir, score_matrix, split_scores};
use hitdex_formats::fingerprint::Format;

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

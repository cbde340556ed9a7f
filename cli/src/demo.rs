//! `hitdex demo`: the whole job on generated data, with progress.

use anyhow::Result;
use clap::Args as ClapArgs;

use crate::bench::{print_report, BenchArgs};

#[derive(ClapArgs)]
pub struct Args {
    #[command(flatten)]
    bench: BenchArgs,
}

pub fn run(args: &Args) -> Result<()> {
    let b = &args.bench;
    eprintln!(
        "hitdex demo: {} synthetic profiles from real allele frequencies ({} {}), {} queries",
        b.profiles, b.source.frequencies, b.source.population, b.queries
    );
    let report = b.run()?;
    println!();
    print_report(&report);
    Ok(())
}

//! `hitdex`: the command line of the Hitdex matching engine.
//!
//! Thin by design: each subcommand parses its arguments, calls `formats`,
//! `datasets`, `engine`, `protocol` or `benches`, and prints. No matching
//! logic lives here.

mod audit;
mod bench;
mod client;
mod demo;
mod fingerprint;
mod generate;
mod index;
mod keyed;
mod node;
mod progress;
mod search;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Hitdex: is there a hit, and who holds the data?
///
/// A forensic matching engine over memory-mapped, sharded indexes of DNA
/// profiles, finger minutiae templates, and the key-only categories
/// vehicle, phone and identity. Answers name only reference numbers and
/// the authority that holds the record, never personal data.
#[derive(Parser)]
#[command(name = "hitdex", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole job on generated data: 1 M profiles from real allele
    /// frequencies, index, 10,000 queries; prints hits and timings.
    Demo(demo::Args),
    /// Generate synthetic data: DNA profiles from real allele frequencies,
    /// or finger minutiae templates with known mates.
    #[command(subcommand)]
    Generate(generate::What),
    /// Build and maintain an index: build, add, delete, compact, verify, stats.
    #[command(subcommand)]
    Index(index::Op),
    /// Search an index; answers are NDJSON on standard output, one line per
    /// query, in input order.
    #[command(subcommand)]
    Search(search::What),
    /// Fingerprint matcher: all-pairs scores and error rates of a directory
    /// of templates.
    #[command(subcommand)]
    Fingerprint(fingerprint::Op),
    /// Macro benchmark of a whole workload (generate, build, open, search).
    #[command(subcommand)]
    Bench(bench::What),
    /// Set up a national node: `hitdex node init --dir D` writes a complete
    /// working one (keys, authorities, indexes, configuration).
    #[command(subcommand)]
    Node(node::Op),
    /// Run a node: the signed HTTP/JSON protocol of SPEC section 6 on
    /// loopback or a Unix socket (searches, index status, /healthz,
    /// /readyz, /metrics, /v1/openapi.json).
    Serve(node::ServeArgs),
    /// Talk to a node as one authority: signed requests, verified answers.
    #[command(subcommand)]
    Client(client::Op),
    /// A node's audit log: check that it is intact (verify), or list every
    /// request and answer that concerned a reference (subject).
    #[command(subcommand)]
    Audit(audit::Op),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Generate(what) => generate::run(what),
        Command::Index(op) => index::run(op),
        Command::Search(what) => search::run(what),
        Command::Fingerprint(op) => fingerprint::run(op),
        Command::Bench(what) => bench::run(what),
        Command::Node(op) => node::init(op),
        Command::Serve(args) => node::serve(args),
        Command::Client(op) => client::run(op),
        Command::Audit(op) => audit::run(op),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hitdex: error: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, leaving out a cause that its error already
/// quotes (our errors name the file and quote the operating system's).
fn describe(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
    }
    text
}

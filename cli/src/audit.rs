//! `hitdex audit ...`: check a node's audit log, and answer a data
//! subject's right of access from it. The checking is
//! `hitdex_protocol::audit`'s; this file parses arguments and prints.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use hitdex_protocol::audit::{self, Report};
use hitdex_protocol::keys;

#[derive(Subcommand)]
pub enum Op {
    /// Check that a node's audit log is intact; fails naming the first
    /// damaged line.
    ///
    /// Checks every entry's hash, the hash chain, that sequence numbers run
    /// 1, 2, 3, ... without gaps, every signed checkpoint against the node's
    /// public key, and the signed head file (LOG.head, or --head) if there
    /// is one: finds changed bytes, removed, duplicated or reordered
    /// entries, forged checkpoints, an unfinished last line, the parts of an
    /// exchange removed, reordered or left unfinished, and entries cut from
    /// the end up to the entry the head names. Cutting whole entries
    /// from the end cannot be detected without a head; entries after the
    /// last signature are protected by the hash chain only (the summary
    /// says how many).
    Verify {
        /// The audit log (NDJSON, as the node writes it).
        #[arg(long)]
        log: PathBuf,
        /// The node's public key file: the 32-byte Ed25519 key in base64 on
        /// one line. Take it from a trusted source, not from beside the log.
        #[arg(long)]
        key: PathBuf,
        /// A signed head file to check the log against, e.g. a copy kept
        /// away from the node [default: LOG.head, if it exists].
        #[arg(long)]
        head: Option<PathBuf>,
    },
    /// List every request and answer that concerned a reference (a data
    /// subject's right of access), as NDJSON.
    ///
    /// Writes to standard output one line per log entry, exactly as it
    /// stands in the log, in log order. An entry is listed when the reference is among the references it
    /// names (exact match; the entry also names the holding authority).
    /// An exchange that returned more references than one log line holds
    /// is logged as consecutive parts (`"part":{"index":K,"of":N}`), each
    /// with the whole exchange and a share of the references: the parts
    /// naming the reference are listed. An exchange about an information
    /// demand names its id (`"demand"`).
    /// Entries are checked against their hashes and the chain as they are
    /// read; run `hitdex audit verify` to check the node's signatures too.
    Subject {
        /// The audit log.
        #[arg(long)]
        log: PathBuf,
        /// The reference number to look for.
        #[arg(long)]
        reference: String,
    },
}

pub fn run(op: Op) -> Result<()> {
    match op {
        Op::Verify { log, key, head } => {
            let key = keys::read_public(&key)?;
            let report = match &head {
                Some(head) => audit::verify_with_head(&log, &key, head)?,
                None => audit::verify(&log, &key)?,
            };
            print_report(&report, head.unwrap_or_else(|| audit::default_head_path(&log)));
        }
        Op::Subject { log, reference } => {
            let entries = audit::subject(&log, &reference)?;
            let stdout = std::io::stdout();
            let mut out = BufWriter::new(stdout.lock());
            for entry in &entries {
                writeln!(out, "{}", entry.to_line()).context("cannot write to standard output")?;
            }
            out.flush().context("cannot write to standard output")?;
        }
    }
    Ok(())
}

fn print_report(r: &Report, head: PathBuf) {
    let checkpoint = r.last_checkpoint.map_or_else(String::new, |seq| format!(" (last at seq {seq})"));
    println!("ok: {} entries (seq 1 to {}), {} signed checkpoints{checkpoint}", r.entries, r.last_seq, r.checkpoints);
    match r.head {
        Some(seq) => println!("signed head {} names seq {seq}: found in the log", head.display()),
        None => println!(
            "note: no signed head file ({}): entries cut from the end of the log cannot be detected",
            head.display()
        ),
    }
    if r.unsigned > 0 {
        println!(
            "note: the last {} entries are not yet covered by a signature: protected by the hash chain only",
            r.unsigned
        );
    }
}

//! The cargo-fuzz target of the DNA CSV reader (`fuzz/fuzz_targets/dna_csv.rs`),
//! built and run for a short while from its seeds, so that it stays
//! buildable and a crash in the reader fails the tests. `.ci/run` installs
//! cargo-fuzz; without it this test says SKIPPED and passes.

use std::path::Path;
use std::process::Command;

#[test]
fn dna_csv_fuzz_target_runs_clean() {
    let has_cargo_fuzz = Command::new("cargo").args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        eprintln!("SKIPPED: cargo-fuzz is not installed (cargo install cargo-fuzz --locked)");
        return;
    }
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let corpus = tempfile::tempdir().expect("temporary corpus directory");
    // Stable Rust: libFuzzer's coverage without a sanitizer; a fresh corpus
    // seeded from fuzz/seeds, so nothing is written into the repository
    // but crash artifacts (fuzz/artifacts, ignored by git).
    let status = Command::new("cargo")
        .current_dir(&fuzz)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .args(["fuzz", "run", "--sanitizer", "none", "-O", "dna_csv"])
        .arg(corpus.path())
        .arg(fuzz.join("seeds/dna_csv"))
        .args(["--", "-max_total_time=20", "-max_len=4096"])
        .status()
        .expect("cargo fuzz runs");
    assert!(status.success(), "the fuzz target failed: see fuzz/artifacts/dna_csv for the input");
}

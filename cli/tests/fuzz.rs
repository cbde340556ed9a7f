//! The cargo-fuzz targets of the parsers of untrusted input
//! (`fuzz/fuzz_targets/`: the DNA CSV reader, the key-only categories'
//! CSV reader, the finger minutiae records,
//! the node's request bodies, signature headers and directory),
//! each built and run for a short while from its seeds, so that they stay
//! buildable and a crash in a reader fails the tests. `.ci/run` installs
//! cargo-fuzz; without it this test says SKIPPED and passes.

use std::path::Path;
use std::process::Command;

#[test]
fn dna_csv_fuzz_target_runs_clean() {
    run_target("dna_csv", 20);
}

#[test]
fn fmr_fuzz_target_runs_clean() {
    run_target("fmr", 10);
}

#[test]
fn an2k_fuzz_target_runs_clean() {
    run_target("an2k", 10);
}

#[test]
fn keyed_csv_fuzz_target_runs_clean() {
    run_target("keyed_csv", 10);
}

#[test]
fn node_requests_fuzz_target_runs_clean() {
    run_target("node_requests", 15);
}

/// Builds fuzz target `name` and runs it for `seconds` from its seeds.
fn run_target(name: &str, seconds: u32) {
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
        .args(["fuzz", "run", "--sanitizer", "none", "-O", name])
        .arg(corpus.path())
        .arg(fuzz.join("seeds").join(name))
        .args(["--", &format!("-max_total_time={seconds}"), "-max_len=4096"])
        .status()
        .expect("cargo fuzz runs");
    assert!(status.success(), "the fuzz target failed: see fuzz/artifacts/{name} for the input");
}

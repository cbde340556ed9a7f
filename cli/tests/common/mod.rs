//! Helpers shared by the end-to-end tests: run the `hitdex` binary.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `hitdex` with `args`.
pub fn hitdex(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hitdex")).args(args).output().expect("hitdex runs")
}

/// Runs `hitdex`, asserts success, returns standard output.
pub fn ok(args: &[&str]) -> String {
    let out = hitdex(args);
    assert!(out.status.success(), "hitdex {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Runs `hitdex`, asserts failure, returns standard error.
pub fn fails(args: &[&str]) -> String {
    let out = hitdex(args);
    assert!(!out.status.success(), "hitdex {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

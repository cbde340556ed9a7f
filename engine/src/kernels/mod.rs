//! Comparison kernels, each with a scalar twin.
//!
//! The instruction set is chosen once at run time and cached (see
//! [`level`]); setting `HITDEX_FORCE_SCALAR=1` forces the scalar path, which
//! is how the property tests and benchmarks compare the two. Builds target
//! x86-64-v2 (`.cargo/config.toml`: SSE4.2 and POPCNT); AVX2 is detected at
//! run time, so nothing here needs `-C target-cpu=native`.

pub mod dna;
pub mod fingerprint;

use std::sync::OnceLock;

/// The instruction set a kernel runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Portable Rust.
    Scalar,
    /// x86-64 AVX2.
    Avx2,
}

/// The best level this CPU supports, unless `HITDEX_FORCE_SCALAR` is set.
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        if std::env::var_os("HITDEX_FORCE_SCALAR").is_some_and(|v| v != "0") {
            return Level::Scalar;
        }
        detect()
    })
}

/// Every level this CPU can run, scalar first (for tests and benchmarks).
pub fn available_levels() -> Vec<Level> {
    let mut v = vec![Level::Scalar];
    if detect() == Level::Avx2 {
        v.push(Level::Avx2);
    }
    v
}

/// Whether this CPU runs AVX2 (the standard library caches the answer):
/// checked before every vector kernel call.
#[inline]
fn has_avx2() -> bool {
    detect() == Level::Avx2
}

fn detect() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") {
            return Level::Avx2;
        }
    }
    Level::Scalar
}

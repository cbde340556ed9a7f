//! Hitdex benchmarks: the macro benchmark behind `hitdex bench`.
#![deny(missing_docs)]

//! Hitdex datasets: generators of synthetic data and loaders of real data.
#![deny(missing_docs)]

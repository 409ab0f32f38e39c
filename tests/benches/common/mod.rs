//! Shared by the benchmarks.

pub mod seed;

//! Project tooling behind `cargo xtask`: see `main.rs` for the commands.

pub mod bench;
pub mod bench_reader;
pub mod check_spec;
pub mod readme;
pub mod spec_drift;

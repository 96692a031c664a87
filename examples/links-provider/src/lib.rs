//! Library half of the `links` example; the interesting part is build.rs.

/// Version advertised to dependents via `cargo::metadata=version=...`.
pub const VERSION: &str = "1.2.3";

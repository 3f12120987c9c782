//! ocean-export: pull every person matching an Ocean.io lookalike people search into CSV or NDJSON,
//! exactly once, resumable, within rate and credit limits.
//!
//! Data flows one way, and the modules are named after the stages:
//!
//! `job` (TOML job file → typed request) → `api` (one HTTP request, wire types) →
//! `fetch` (the searchAfter walk: pacing, retry, pages) → `sink` (people → CSV/NDJSON rows) →
//! `checkpoint` (durable progress, lock, report).
//!
//! `sandbox` is a local stand-in of the API for free dry runs, tests and benchmarks, and `cli` sits
//! on top, mapping every error to its exit code in one place.

pub mod api;
pub mod checkpoint;
pub mod cli;
mod durable;
pub mod fetch;
pub mod job;
pub use ocean_sandbox as sandbox;
pub mod sink;

//! ocean-export: pull every person matching an Ocean.io lookalike people search into CSV or NDJSON,
//! exactly once, resumable, within rate and credit limits.
//!
//! Data flows one way, and the modules are named after the stages:
//!
//! `job` (TOML job file → checked job) → `api` (one HTTP request, wire types) → `fetch` (paced, retried
//! pages and the searchAfter cursor) → `sink` (people → CSV/NDJSON rows) → `checkpoint` (durable
//! progress, lock, report) → `ledger` (who earlier runs delivered) → `export` (the life of an export: start, resume, walk, publish, report).
//!
//! `cli` sits on top: it connects the pieces, draws progress and prints; `error` holds the one error type
//! of the commands and their exit codes. `sandbox` is a local stand-in of the API for free dry runs, tests
//! and benchmarks.

pub mod api;
pub mod checkpoint;
pub mod cli;
mod durable;
pub mod error;
pub mod export;
pub mod fetch;
pub mod job;
pub mod ledger;
pub mod plan;
pub use ocean_sandbox as sandbox;
pub mod sink;
pub mod storage;
pub mod version;

pub use error::Error;

//! One integration-test binary (linking many is slow on two cores). Each module drives the real
//! `ocean-export` binary or the real sandbox over HTTP.

mod bad_jobs;
mod deploy;
mod export;
mod forgiving;
mod hostile;
mod operator;
mod outputs;
mod packaging;
mod partitions;
mod resume;
mod sandbox;
mod scheduled;
mod storage;
mod support;

//! Errors starting or running the sandbox.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Errors starting or running the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("invalid sandbox option: {0}")]
    Option(String),
}

//! A local, credit-free stand-in of Ocean's people-search API (`POST /v3/search/people`,
//! `GET /v2/credits/balance`): synthetic people, validation, auth, credits, rate limits and faults.
//!
//! STUB: the public interface below is fixed; the implementation is being written.

use std::net::SocketAddr;
use std::path::PathBuf;

/// How the last page of a walk is signalled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndStyle {
    /// `searchAfter` is left out of the last page.
    #[default]
    Absent,
    /// `searchAfter` is `null` on the last page.
    Null,
    /// The last full page carries a cursor, and one more request returns an empty page (still with a cursor).
    EmptyPage,
}

/// Every knob of the sandbox. The same struct is the `ocean-export sandbox` flag set and the
/// library configuration (`SandboxOptions::default()` is what `run --sandbox` uses).
#[derive(Clone, Debug, clap::Args)]
pub struct SandboxOptions {
    /// Address to listen on. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// Number of synthetic people.
    #[arg(long, default_value_t = 20_000)]
    pub people: u64,
    /// Dataset seed: person i is a pure function of (seed, i).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// An accepted API token (repeatable). Without any, `sandbox-token` is accepted.
    #[arg(long = "token", value_name = "T")]
    pub tokens: Vec<String>,
    /// Share of people carrying hostile values (0..1).
    #[arg(long, default_value_t = 0.2)]
    pub hostile_share: f64,
    /// How the end of results is signalled.
    #[arg(long, value_enum, default_value_t = EndStyle::Absent)]
    pub end_style: EndStyle,
    /// Bug mode: from this page on (0-based page number of a walk), return the cursor that was sent, forever.
    #[arg(long, value_name = "PAGE")]
    pub repeat_cursor: Option<u64>,
    /// Credit balance. Unlimited when absent.
    #[arg(long)]
    pub credits: Option<f64>,
    /// Credits charged per person returned.
    #[arg(long, default_value_t = 0.2)]
    pub price: f64,
    /// Persist the balance to this JSON file, so a restarted sandbox continues it.
    #[arg(long, value_name = "PATH")]
    pub credits_file: Option<PathBuf>,
    /// Requests per minute per token. Off when absent.
    #[arg(long)]
    pub rpm: Option<u32>,
    /// Requests per day per token. Off when absent.
    #[arg(long)]
    pub daily_limit: Option<u32>,
    /// Probability of a 429 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    pub fault_429: f64,
    /// Probability of a 500, 502, 503 or 504 with an HTML body.
    #[arg(long = "fault-5xx", default_value_t = 0.0)]
    pub fault_5xx: f64,
    /// Probability of the connection closing before any response.
    #[arg(long, default_value_t = 0.0)]
    pub fault_reset: f64,
    /// Probability of a 200 whose body is cut short.
    #[arg(long, default_value_t = 0.0)]
    pub fault_truncate: f64,
    /// Seed of the fault dice.
    #[arg(long, default_value_t = 0)]
    pub fault_seed: u64,
    /// Fixed latency added before every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Random extra latency, uniform in 0..=jitter, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub jitter_ms: u64,
    /// Append a JSON line per request to this file (never the token).
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            options: SandboxOptions,
        }
        Wrapper::parse_from(["sandbox"]).options
    }
}

/// The token accepted when no `--token` is given.
pub const DEFAULT_TOKEN: &str = "sandbox-token";

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

/// A running in-process sandbox. Dropping it stops the server.
pub struct Sandbox {
    base_url: String,
    token: String,
}

impl Sandbox {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
    /// The first accepted token.
    pub fn token(&self) -> &str {
        &self.token
    }
}

/// Start the sandbox on `options.bind` (port 0 by default) in the current tokio runtime and return once it listens.
pub async fn start(options: SandboxOptions) -> Result<Sandbox, SandboxError> {
    let _ = options;
    todo!("sandbox::start")
}

/// `ocean-export sandbox`: start, print the base URL and the token on stdout, serve until SIGINT or SIGTERM.
pub async fn serve_until_signal(options: SandboxOptions) -> Result<(), SandboxError> {
    let _ = options;
    todo!("sandbox::serve_until_signal")
}

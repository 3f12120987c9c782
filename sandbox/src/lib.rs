//! A local, credit-free stand-in of Ocean's people-search API (`POST /v3/search/people`,
//! `GET /v2/credits/balance`): synthetic people, validation, auth, credits, rate limits and faults.
//!
//! `start` runs it in-process (tests, benchmarks, `run --sandbox`); `serve_until_signal` is
//! `ocean-export sandbox`. The modules follow a request: `server` (accept loop, pipeline) → `validate`
//! (schema) → `query` (typed body, query hash) → `filter` (matches, cached) → `cursor` → `limits`
//! (credits, rate limits) → `page` (streamed body) → `render` (a person as JSON), with `dataset` (the
//! people, drawn by `dice` from `vocab`), `faults` and `log` beside.

mod cursor;
pub mod dataset;
mod dice;
mod durable;
mod faults;
mod filter;
mod limits;
mod log;
mod page;
mod query;
mod render;
mod server;
mod validate;
mod vocab;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use limits::{UNLIMITED_BALANCE, UNLIMITED_DAILY};

/// Ocean's published OpenAPI document, the subset for people search and the credit balance, verbatim:
/// what the sandbox validates bodies against, and what tests check responses against.
pub const SCHEMA: &str = include_str!("ocean-openapi.subset.json");
pub use server::{BALANCE_PATH, SEARCH_PATH};

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

/// What a `searchAfter` that is garbage, from another query, or past the end gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum BadCursor {
    /// 422 with a `value_error` item at `["body","searchAfter"]`.
    #[default]
    Reject,
    /// 200 with no people, as if the walk had ended.
    EmptyPage,
}

/// Which fields a person carries when the body has no `fields`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FieldsDefault {
    /// Every field (an older docs version: "all fields are returned").
    #[default]
    All,
    /// The default list of Ocean's schema (no `email`, `phone`, `inferredEmails`, `relevance`; company
    /// limited to revenue, employeeCountOcean, industries, technologies, fundingRound).
    Schema,
}

const APPLIED: &str = "\
Filters applied to the synthetic people. Every other field of the schema is
validated and accepted without effect; an empty list is the same as no filter.
  peopleFilters.countries, .excludeCountries: the person's country
  peopleFilters.seniorities, .departments: any value in common
  peopleFilters.excludeDepartments: no value in common
  peopleFilters.jobTitleKeywords (allOf, anyOf, noneOf): whole words of
    jobTitle, case-insensitive
  peopleFilters.includePeopleIds, .excludePeopleIds: the person's id
  peopleFilters.lookalikeLinkedinHandles: ordered by similarity to the seeds
    found (seeds left out); lookalikePeopleStatuses lists found and not found
  companiesFilters.companySizes: company.companySize
  companiesFilters.includeDomains, .excludeDomains: the person's domain;
    aliases (www., case, another top-level domain) are followed and listed in
    redirectMap, unknown includeDomains in includeDomainsStatuses
  peoplePerCompany: the first N people of each company domain
  size, searchAfter, fields: page size, cursor, keys returned

People 0-3 of every dataset are michael-scott-13532, dwight-schrute,
jim-halpert-5343 and toby-67832 (Ocean's documentation examples).";

/// Every knob of the sandbox. The same struct is the `ocean-export sandbox` flag set and the
/// library configuration (`SandboxOptions::default()` is what `run --sandbox` uses).
#[derive(Clone, Debug, clap::Args)]
#[command(after_help = APPLIED)]
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
    /// As a bare flag: from page 1.
    #[arg(long, value_name = "PAGE", num_args = 0..=1, default_missing_value = "1")]
    pub repeat_cursor: Option<u64>,
    /// What a garbage, foreign or stale `searchAfter` gets.
    #[arg(long, value_enum, default_value_t = BadCursor::Reject)]
    pub bad_cursor: BadCursor,
    /// Credit balance. Unlimited when absent (the balance endpoint then shows 1000000000).
    #[arg(long)]
    pub credits: Option<f64>,
    /// Credits charged per person returned.
    #[arg(long, default_value_t = 0.2)]
    pub price: f64,
    /// Persist the balance to this JSON file, so a restarted sandbox continues it. If the file exists, its
    /// balance wins over `--credits`.
    #[arg(long, value_name = "PATH")]
    pub credits_file: Option<PathBuf>,
    /// Requests per minute per token. Off when absent.
    #[arg(long)]
    pub rpm: Option<u32>,
    /// Requests per day per token (resets at midnight UTC). Off when absent.
    #[arg(long)]
    pub daily_limit: Option<u32>,
    /// Probability that a search request gets a 429 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    pub fault_429: f64,
    /// `Retry-After` of injected 429s, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    pub fault_retry_after: u64,
    /// Probability that a search request gets a 500, 502, 503 or 504 with an HTML body.
    #[arg(long = "fault-5xx", default_value_t = 0.0)]
    pub fault_5xx: f64,
    /// Probability that a search request's connection closes before any response.
    #[arg(long, default_value_t = 0.0)]
    pub fault_reset: f64,
    /// Probability that a search request that would be served gets a 200 whose body is cut short.
    #[arg(long, default_value_t = 0.0)]
    pub fault_truncate: f64,
    /// Seed of the fault and jitter dice (rolled per request, from the request number).
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
    /// Check the body against the schema before the token (FastAPI checks the token first).
    #[arg(long)]
    pub validate_before_auth: bool,
    /// Which fields a person carries when the body has no `fields`.
    #[arg(long, value_enum, default_value_t = FieldsDefault::All)]
    pub fields_default: FieldsDefault,
    /// Largest accepted request body, in bytes (larger gets 413).
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_body: usize,
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

/// A running in-process sandbox. Dropping it stops the server (connections finish their response).
pub struct Sandbox {
    addr: SocketAddr,
    base_url: String,
    token: String,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
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
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// Stop accepting, let responses in flight finish (up to 5 s), and wait until the server is gone.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Start the sandbox on `options.bind` (port 0 by default) in the current tokio runtime and return once it listens.
pub async fn start(options: SandboxOptions) -> Result<Sandbox, SandboxError> {
    let state = build_state(&options)?;
    let token = state.tokens[0].clone();
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .map_err(|source| SandboxError::Bind { addr: options.bind, source })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind { addr: options.bind, source })?;
    let (shutdown, watcher) = watch::channel(false);
    let task = tokio::spawn(server::serve(listener, Arc::new(state), watcher));
    Ok(Sandbox { addr, base_url: format!("http://{addr}"), token, shutdown, task: Some(task) })
}

/// `ocean-export sandbox`: start, print the base URL and the token on stdout, serve until SIGINT or SIGTERM.
pub async fn serve_until_signal(options: SandboxOptions) -> Result<(), SandboxError> {
    let (people, seed) = (options.people, options.seed);
    let sandbox = start(options).await?;
    let mut out = std::io::stdout().lock();
    // A closed stdout must not stop the server; whoever wanted the lines is gone.
    let _ = writeln!(out, "OCEAN_BASE_URL={}", sandbox.base_url());
    let _ = writeln!(out, "OCEAN_API_TOKEN={}", sandbox.token());
    let _ = out.flush();
    drop(out);
    eprintln!(
        "ocean-export sandbox: listening on {} ({people} people, seed {seed}); Ctrl-C to stop",
        sandbox.base_url()
    );
    wait_for_signal().await?;
    sandbox.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() -> Result<(), SandboxError> {
    use tokio::signal::unix::{SignalKind, signal};
    let io = |source| SandboxError::Io { path: PathBuf::from("<signal handler>"), source };
    let mut interrupt = signal(SignalKind::interrupt()).map_err(io)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(io)?;
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_signal() -> Result<(), SandboxError> {
    tokio::signal::ctrl_c().await.map_err(|source| SandboxError::Io { path: PathBuf::from("<signal handler>"), source })
}

fn build_state(o: &SandboxOptions) -> Result<server::State, SandboxError> {
    let bad = |what: String| Err(SandboxError::Option(what));
    for (name, p) in [
        ("--hostile-share", o.hostile_share),
        ("--fault-429", o.fault_429),
        ("--fault-5xx", o.fault_5xx),
        ("--fault-reset", o.fault_reset),
        ("--fault-truncate", o.fault_truncate),
    ] {
        if !(0.0..=1.0).contains(&p) {
            return bad(format!("{name} must be between 0 and 1, not {p}"));
        }
    }
    if o.people > u64::from(u32::MAX) {
        return bad(format!("--people must be at most {}", u32::MAX));
    }
    if !o.price.is_finite() || o.price < 0.0 {
        return bad(format!("--price must be a non-negative number, not {}", o.price));
    }
    if o.credits.is_some_and(|c| !c.is_finite() || c < 0.0) {
        return bad("--credits must be a non-negative number".into());
    }
    if o.rpm == Some(0) || o.daily_limit == Some(0) {
        return bad("--rpm and --daily-limit must be at least 1".into());
    }
    if o.tokens.iter().any(String::is_empty) {
        return bad("--token must not be empty".into());
    }
    let tokens = if o.tokens.is_empty() { vec![DEFAULT_TOKEN.to_string()] } else { o.tokens.clone() };
    Ok(server::State {
        dataset: Arc::new(dataset::Dataset::new(o.seed, o.people, o.hostile_share)),
        tokens,
        seq: AtomicU64::new(0),
        faults: faults::Faults {
            seed: o.fault_seed,
            reset: o.fault_reset,
            too_many: o.fault_429,
            server: o.fault_5xx,
            truncate: o.fault_truncate,
            latency: Duration::from_millis(o.latency_ms),
            jitter_ms: o.jitter_ms,
        },
        fault_retry_after: o.fault_retry_after,
        credits: limits::Credits::open(o.credits, o.price, o.credits_file.clone())?,
        limits: limits::RateLimits::new(o.rpm, o.daily_limit),
        cache: filter::Cache::new(),
        log: o.log.as_deref().map(log::RequestLog::open).transpose()?,
        end_style: o.end_style,
        repeat_cursor: o.repeat_cursor,
        bad_cursor: o.bad_cursor,
        default_projection: match o.fields_default {
            FieldsDefault::All => render::Projection::ALL,
            FieldsDefault::Schema => render::Projection::schema_default(),
        },
        validate_before_auth: o.validate_before_auth,
        max_body: o.max_body,
    })
}

//! A local, credit-free stand-in of Ocean's people-search API (`POST /v3/search/people`,
//! `GET /v2/credits/balance`): synthetic people, validation, auth, credits, rate limits and faults.
//!
//! `start` runs it in-process (tests, benchmarks, `run --sandbox`); `serve_until_signal` is
//! `ocean-export sandbox`. It depends on nothing of the exporter: it is the tests' independent reference.
//!
//! The modules follow a request: `server` (accept loop, pipeline) → `validate` (schema) → `query`
//! (typed body, query hash) → `filter` (matches, cached) → `cursor` → `limits` (credits, rate limits)
//! → `page` (streamed body) → `render` (a person as JSON). Beside them: `dataset` (the people, drawn by
//! `dice` from `vocab` into the shapes of `profile`, whose ids and handles come from `permute`),
//! `faults`, `log`, `durable` (the credits file), `options` and `error`. Imports flow one way:
//! `dataset` → `render` → `profile`.

mod cursor;
pub mod dataset;
mod dice;
mod durable;
mod error;
mod faults;
mod filter;
mod limits;
mod log;
mod options;
mod page;
mod permute;
mod profile;
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

pub use error::SandboxError;
pub use limits::{UNLIMITED_BALANCE, UNLIMITED_DAILY};
pub use options::{BadCursor, DEFAULT_TOKEN, EndStyle, FieldsDefault, PpcCursor, SandboxOptions, WindowStyle};
pub use server::{BALANCE_PATH, SEARCH_PATH};

/// Ocean's published OpenAPI document, the subset for people search and the credit balance, verbatim:
/// what the sandbox validates bodies against, and what tests check responses against.
pub const SCHEMA: &str = include_str!("ocean-openapi.subset.json");

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
    /// The first accepted token, as sent (the NAME of a `NAME@ACCOUNT`).
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
    let token = state.accounts.first().unwrap_or(DEFAULT_TOKEN).to_string();
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
    if o.window == Some(0) {
        return bad("--window must be at least 1".into());
    }
    let tokens = if o.tokens.is_empty() { vec![DEFAULT_TOKEN.to_string()] } else { o.tokens.clone() };
    Ok(server::State {
        dataset: Arc::new(dataset::Dataset::new(o.seed, o.people, o.hostile_share)),
        accounts: limits::Accounts::parse(&tokens)?,
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
        window: o.window,
        window_style: o.window_style,
        ppc_cursor: o.ppc_cursor,
        default_projection: match o.fields_default {
            FieldsDefault::All => render::Projection::ALL,
            FieldsDefault::Schema => render::Projection::schema_default(),
        },
        validate_before_auth: o.validate_before_auth,
        max_body: o.max_body,
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// Where the API contract keeps Ocean's document, relative to a folder above the checkout.
    const REFERENCE: &str = "shared/ocean/search-people-v3.subset.openapi.json";

    /// The embedded schema is byte for byte the contract's copy of Ocean's document (key order matters:
    /// 422 items come in the document's field order). The copy is looked for above the checkout, or at
    /// `OCEAN_SCHEMA_REFERENCE`; where it is absent the test says so and passes.
    #[test]
    fn the_embedded_schema_is_the_published_document() {
        let found = std::env::var_os("OCEAN_SCHEMA_REFERENCE").map(PathBuf::from).or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().map(|dir| dir.join(REFERENCE)).find(|p| p.is_file())
        });
        let Some(path) = found else {
            eprintln!("note: {REFERENCE} not found above {}: schema comparison skipped", env!("CARGO_MANIFEST_DIR"));
            return;
        };
        let reference = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            reference == super::SCHEMA.as_bytes(),
            "sandbox/src/ocean-openapi.subset.json differs from {}",
            path.display()
        );
    }
}

//! Fetching pages: every request through the shared pacer, each attempt retried with exponential backoff
//! and full jitter (honouring Retry-After) and streamed into a sink, and the state of a `searchAfter` walk.

mod pacer;

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use serde::{Deserialize, Serialize};

use crate::api::body::SearchBody;
use crate::api::{ApiError, Client, PageError, PageMeta, PageParser, PersonSink};
pub use pacer::Pacer;

/// A signal that asks the run to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    Interrupt,
    Terminate,
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        })
    }
}

/// Set once by a signal handler; the walk checks it between pages and races it against the page in hand.
#[derive(Clone, Default)]
pub struct Stop(Arc<(AtomicU8, Notify)>);

impl Stop {
    pub fn request(&self, signal: Signal) {
        let code = match signal {
            Signal::Interrupt => 1,
            Signal::Terminate => 2,
        };
        let _ = self.0.0.compare_exchange(0, code, Ordering::SeqCst, Ordering::SeqCst);
        self.0.1.notify_waiters();
    }

    pub fn requested(&self) -> Option<Signal> {
        match self.0.0.load(Ordering::SeqCst) {
            1 => Some(Signal::Interrupt),
            2 => Some(Signal::Terminate),
            _ => None,
        }
    }

    /// Resolves once a stop is requested.
    pub async fn wait(&self) -> Signal {
        loop {
            let notified = self.0.1.notified();
            if let Some(signal) = self.requested() {
                return signal;
            }
            notified.await;
        }
    }
}

/// Why fetching stopped: the API, the searchAfter walk, or a signal. Failures of the sink a page streams
/// into are not fetching failures; they come back apart, in [`PageFailure::Sink`].
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// An answer that another try cannot change (a 4xx, a 402).
    #[error(transparent)]
    Api(ApiError),
    #[error("the API stayed unavailable after {attempts} attempts; the last error: {last}")]
    Exhausted { attempts: u64, last: ApiError },
    #[error(
        "the API asked to wait {}, longer than api.max_retry_wait_secs ({}s); rerun later to resume",
        human_duration(*wait),
        max.as_secs()
    )]
    WaitTooLong { wait: Duration, max: Duration },
    #[error("the API returned a cursor it had returned before (after page {page}); stopping instead of looping")]
    RepeatedCursor { page: u64 },
    #[error("stopped by {0}")]
    Stopped(Signal),
}

impl FetchError {
    fn is_retryable(&self) -> bool {
        matches!(self, FetchError::Api(e) if e.is_retryable())
    }
}

impl From<ApiError> for FetchError {
    fn from(e: ApiError) -> Self {
        FetchError::Api(e)
    }
}

/// Why a page did not arrive in the sink: fetching failed, or the sink did (a full disk, say), which is
/// never retried.
#[derive(Debug)]
pub enum PageFailure<E> {
    Fetch(FetchError),
    Sink(E),
}

impl<E> From<FetchError> for PageFailure<E> {
    fn from(e: FetchError) -> Self {
        PageFailure::Fetch(e)
    }
}

impl<E> From<ApiError> for PageFailure<E> {
    fn from(e: ApiError) -> Self {
        PageFailure::Fetch(FetchError::Api(e))
    }
}

impl<E> From<PageError<E>> for PageFailure<E> {
    fn from(e: PageError<E>) -> Self {
        match e {
            PageError::Malformed(message) => PageFailure::Fetch(FetchError::Api(ApiError::Malformed(message))),
            PageError::Sink(e) => PageFailure::Sink(e),
        }
    }
}

/// A sink a page can be streamed into and taken back out of, when an attempt fails half-way.
pub trait PageSink: PersonSink {
    fn rollback(&mut self) -> Result<(), Self::Error>;
}

/// `1h 02m`, `3m 20s`, `4.2s`.
pub fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..60 => format!("{:.1}s", d.as_secs_f64()),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// How hard to try one page.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt; every retry counts, whatever the API asked.
    pub max_retries: u32,
    /// Longest one attempt at a page may take, body included.
    pub page_timeout: Duration,
    /// A longer Retry-After stops the run instead of being slept through.
    pub max_wait: Duration,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

/// Where one `searchAfter` walk stands. Kept in the checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursor {
    /// The `searchAfter` of the next request; `None` before the first page.
    pub next: Option<String>,
    /// Digests of the recent cursors sent, to catch an API that hands one out again.
    pub sent: Vec<u64>,
    /// The walk ended: the API said so, or a limit did.
    pub done: bool,
    /// The last page's cursor was one the API had returned before: following it would loop.
    pub repeated: bool,
}

/// How many recent cursors are remembered to catch a repeat (a loop longer than this is not caught, but
/// the checkpoint stays small).
const CURSORS_REMEMBERED: usize = 1000;

/// Stable digest of a cursor, to spot one the API hands out twice.
fn cursor_digest(cursor: &str) -> u64 {
    u64::from_le_bytes(Sha256::digest(cursor.as_bytes())[..8].try_into().expect("8 bytes"))
}

impl Cursor {
    /// Moves past a received page. An empty page ends the walk even if it carries a cursor, and so does a
    /// page without one; `total` never decides. A walk that has ended cannot loop, whatever cursor came
    /// with its last page.
    pub fn advance(&mut self, meta: &PageMeta) {
        if let Some(sent) = &self.next {
            self.sent.push(cursor_digest(sent));
            let excess = self.sent.len().saturating_sub(CURSORS_REMEMBERED);
            self.sent.drain(..excess);
        }
        self.next = meta.search_after.clone();
        self.done = meta.people == 0 || self.next.is_none();
        self.repeated = !self.done && self.next.as_deref().is_some_and(|c| self.sent.contains(&cursor_digest(c)));
    }

    /// Refuses to follow a cursor that would loop: sending it again would buy the same page again, and
    /// again on every rerun. `page` is the number of pages so far, for the message.
    pub fn check(&self, page: u64) -> Result<(), FetchError> {
        if self.repeated && !self.done { Err(FetchError::RepeatedCursor { page }) } else { Ok(()) }
    }
}

/// Things a progress display wants to hear about while a page is fetched.
pub trait Observer {
    fn retry(&self, _error: &FetchError, _wait: Duration) {}
}

/// Requests and retries of attempts in progress, kept outside the attempt so a cancelled one still counts.
#[derive(Default)]
pub struct Tally {
    requests: Cell<u64>,
    retries: Cell<u64>,
}

impl Tally {
    /// Requests sent and retries made since the last [`Tally::take`], and starts counting again.
    pub fn take(&self) -> (u64, u64) {
        (self.requests.replace(0), self.retries.replace(0))
    }

    /// The counts so far, kept.
    pub fn get(&self) -> (u64, u64) {
        (self.requests.get(), self.retries.get())
    }
}

/// Fetches one page with retries, streaming it into `sink`; every failed attempt is rolled back out of the
/// sink before the next.
pub async fn fetch_page<S: PageSink>(
    client: &Client,
    body: &SearchBody,
    sink: &mut S,
    retry: &Retrying<'_>,
) -> Result<PageMeta, PageFailure<S::Error>> {
    let sink = tokio::sync::Mutex::new(sink);
    retry
        .run(|| async {
            let mut sink = sink.lock().await;
            let result = within(retry.policy.page_timeout, attempt_page(client, body, &mut **sink)).await;
            if result.is_err() {
                sink.rollback().map_err(PageFailure::Sink)?;
            }
            result
        })
        .await
}

/// Exponential backoff in which every step counts against the retries, but a step taken after an answer
/// with a Retry-After does not lengthen the next delay: the API named that wait, `adjust` uses it.
struct Steps {
    exponential: backon::ExponentialBackoff,
    left: u32,
    api_named_the_wait: Arc<AtomicBool>,
}

impl Iterator for Steps {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.left = self.left.checked_sub(1)?;
        if self.api_named_the_wait.swap(false, Ordering::SeqCst) {
            Some(Duration::ZERO)
        } else {
            self.exponential.next().or(Some(Duration::ZERO))
        }
    }
}

/// Everything a retried request needs: the policy, the shared pacer, the counters and the observer.
pub struct Retrying<'a> {
    pub policy: &'a RetryPolicy,
    pub pacer: &'a Pacer,
    pub tally: &'a Tally,
    pub observer: &'a dyn Observer,
}

impl Retrying<'_> {
    /// Runs `attempt` through the pacer with exponential backoff and full jitter. A Retry-After is honoured
    /// (and holds every sender); one longer than `max_wait` stops at once. Every retry counts against
    /// `max_retries`.
    pub async fn run<T, E, F, Fut>(&self, mut attempt: F) -> Result<T, PageFailure<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, PageFailure<E>>>,
    {
        let policy = self.policy;
        let attempts = Cell::new(0u64);
        let api_named_the_wait = Arc::new(AtomicBool::new(false));
        let steps = Steps {
            exponential: ExponentialBuilder::new()
                .with_min_delay(policy.min_delay)
                .with_max_delay(policy.max_delay)
                .with_factor(2.0)
                .without_max_times()
                .build(),
            left: policy.max_retries,
            api_named_the_wait: api_named_the_wait.clone(),
        };
        let retryable = |failure: &PageFailure<E>| matches!(failure, PageFailure::Fetch(e) if e.is_retryable());
        let result = (|| {
            let attempt = attempt();
            async {
                self.pacer.ready().await;
                self.tally.requests.set(self.tally.requests.get() + 1);
                attempts.set(attempts.get() + 1);
                let result = attempt.await;
                if let Err(PageFailure::Fetch(FetchError::Api(e @ ApiError::RateLimited { .. }))) = &result {
                    self.pacer.rate_limited(e.retry_after());
                }
                if let Err(PageFailure::Fetch(FetchError::Api(e))) = &result
                    && let Some(wait) = e.retry_after()
                {
                    api_named_the_wait.store(true, Ordering::SeqCst);
                    if wait <= policy.max_wait {
                        self.pacer.hold_for(wait);
                    }
                }
                result
            }
        })
        .retry(steps)
        .sleep(tokio::time::sleep)
        .when(retryable)
        .adjust(|failure, delay| match (failure, delay) {
            // `None`: the retries are used up. Keep it.
            (_, None) => None,
            (PageFailure::Fetch(FetchError::Api(e)), Some(delay)) => match e.retry_after() {
                Some(wait) => (wait <= policy.max_wait).then_some(wait),
                // Full jitter: anywhere between nothing and the exponential delay.
                None => Some(Duration::from_nanos(rand::random_range(0..=delay.as_nanos() as u64))),
            },
            (_, delay) => delay,
        })
        .notify(|failure, wait| {
            self.tally.retries.set(self.tally.retries.get() + 1);
            if let PageFailure::Fetch(error) = failure {
                tracing::warn!(reason = %reason(error), wait = %human_duration(wait), "retrying: {error}");
                self.observer.retry(error, wait);
            }
        })
        .await;
        result.map_err(|failure| match failure {
            PageFailure::Fetch(FetchError::Api(e)) if e.is_retryable() => match e.retry_after() {
                Some(wait) if wait > policy.max_wait => {
                    PageFailure::Fetch(FetchError::WaitTooLong { wait, max: policy.max_wait })
                }
                _ => PageFailure::Fetch(FetchError::Exhausted { attempts: attempts.get(), last: e }),
            },
            other => other,
        })
    }
}

fn reason(error: &FetchError) -> String {
    match error {
        FetchError::Api(e) => e.reason(),
        _ => "error".to_owned(),
    }
}

/// An attempt with a deadline for all of it, so a body that drips in slower than the idle timeout cannot
/// hold a run forever.
pub async fn within<T, E>(
    limit: Duration,
    attempt: impl Future<Output = Result<T, PageFailure<E>>>,
) -> Result<T, PageFailure<E>> {
    tokio::time::timeout(limit, attempt).await.unwrap_or_else(|_| {
        Err(PageFailure::Fetch(FetchError::Api(ApiError::Timeout(format!(
            "the page took longer than {} (api.page_timeout_secs)",
            human_duration(limit)
        )))))
    })
}

/// One attempt: the request, then the body streamed through the parser into `sink`.
pub async fn attempt_page<S: PersonSink>(
    client: &Client,
    body: &SearchBody,
    sink: &mut S,
) -> Result<PageMeta, PageFailure<S::Error>> {
    let mut response = client.search(body).await?;
    let mut parser = PageParser::new();
    while let Some(chunk) = response.chunk().await? {
        parser.feed(&chunk, sink)?;
    }
    Ok(parser.finish(sink)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_millis(4200)), "4.2s");
        assert_eq!(human_duration(Duration::from_secs(200)), "3m 20s");
        assert_eq!(human_duration(Duration::from_secs(3720)), "1h 02m");
    }

    #[tokio::test]
    async fn stop_wakes_waiters_and_stays_set() {
        let stop = Stop::default();
        let waiter = tokio::spawn({
            let stop = stop.clone();
            async move { stop.wait().await }
        });
        tokio::task::yield_now().await;
        stop.request(Signal::Terminate);
        stop.request(Signal::Interrupt);
        assert_eq!(waiter.await.unwrap(), Signal::Terminate);
        assert_eq!(stop.wait().await, Signal::Terminate);
    }
}

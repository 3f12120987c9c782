//! The searchAfter walk: page after page through the shared pacer, each attempt retried with exponential
//! backoff and full jitter (honouring Retry-After), streamed into the sink, then committed and checkpointed.

mod pacer;

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

use crate::api::body::{PageSize, SearchBody};
use crate::api::{ApiError, Client, PageError, PageMeta, PageParser, PersonSink};
use crate::checkpoint::{Checkpoint, CheckpointError, StateDir};
use crate::sink::{PageCounts, Sink, SinkError};
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

/// Why the walk stopped early.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
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
    #[error(transparent)]
    Sink(SinkError),
    #[error(transparent)]
    Checkpoint(CheckpointError),
    #[error("stopped by {0}")]
    Stopped(Signal),
}

impl FetchError {
    fn is_retryable(&self) -> bool {
        matches!(self, FetchError::Api(e) if e.is_retryable())
    }
}

impl<E: Into<FetchError>> From<PageError<E>> for FetchError {
    fn from(e: PageError<E>) -> Self {
        match e {
            PageError::Malformed(message) => FetchError::Api(ApiError::Malformed(message)),
            PageError::Sink(e) => e.into(),
        }
    }
}

impl From<SinkError> for FetchError {
    fn from(e: SinkError) -> Self {
        FetchError::Sink(e)
    }
}

impl From<std::convert::Infallible> for FetchError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<ApiError> for FetchError {
    fn from(e: ApiError) -> Self {
        FetchError::Api(e)
    }
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
    pub max_retries: u32,
    /// Longest one attempt at a page may take, body included.
    pub page_timeout: Duration,
    /// A longer Retry-After stops the run instead of being slept through.
    pub max_wait: Duration,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

/// Limits that shrink the last pages instead of being overshot.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    pub max_records: Option<u64>,
    pub max_credits: Option<f64>,
    /// Price per person assumed until pages show the real one.
    pub credits_per_person: f64,
}

impl Limits {
    /// The most people the limits allow at the assumed price, if they limit at all.
    pub fn affordable_people(&self) -> Option<u64> {
        let by_credits = self.max_credits.map(|max| (max / self.credits_per_person + 1e-9).floor() as u64);
        match (self.max_records, by_credits) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Things a progress display wants to hear about.
pub trait Observer {
    fn page(&self, _checkpoint: &Checkpoint, _meta: &PageMeta) {}
    fn retry(&self, _error: &FetchError, _wait: Duration) {}
}

/// Everything one walk needs besides its state.
pub struct Walk<'a> {
    pub client: &'a Client,
    pub pacer: &'a Pacer,
    pub retry: RetryPolicy,
    pub limits: Limits,
    pub page_size: u64,
    /// The request body without cursor.
    pub search: &'a SearchBody,
    pub stop: &'a Stop,
    pub observer: &'a dyn Observer,
}

/// Stable digest of a cursor, to spot one the API hands out twice.
fn cursor_digest(cursor: &str) -> u64 {
    u64::from_le_bytes(Sha256::digest(cursor.as_bytes())[..8].try_into().expect("8 bytes"))
}

/// How many recent cursors are remembered to catch a repeat (a loop longer than this is not caught, but
/// the checkpoint stays small).
const CURSORS_REMEMBERED: usize = 1000;

/// Requests and retries of attempts in progress, kept outside the attempt so a cancelled one still counts.
#[derive(Default)]
pub struct Tally {
    requests: Cell<u64>,
    retries: Cell<u64>,
}

impl Tally {
    /// Adds the counts to the checkpoint, keeping them.
    fn add_to(&self, checkpoint: &mut Checkpoint) {
        checkpoint.counters.requests += self.requests.get();
        checkpoint.counters.retries += self.retries.get();
    }

    fn reset(&self) {
        self.requests.set(0);
        self.retries.set(0);
    }

    /// Moves the counts into the checkpoint.
    fn settle(&self, checkpoint: &mut Checkpoint) {
        self.add_to(checkpoint);
        self.reset();
    }
}

impl Walk<'_> {
    /// Walks from the checkpoint to the end (or a limit), committing and checkpointing every page. On an
    /// error the output is rolled back to the last commit, and the checkpoint saved with the requests
    /// and retries spent, so a rerun resumes exactly there.
    pub async fn run(&self, sink: &mut Sink, state: &StateDir, checkpoint: &mut Checkpoint) -> Result<(), FetchError> {
        if checkpoint.repeated_cursor && !checkpoint.walk_done {
            // Sending the cursor again would buy the same page again, and again on every rerun.
            return Err(FetchError::RepeatedCursor { page: checkpoint.counters.pages });
        }
        let tally = Tally::default();
        while !checkpoint.walk_done {
            if let Err(error) = self.step(sink, state, checkpoint, &tally).await {
                // Tidy up, but report what stopped the walk: a full disk that also refuses the tidying
                // is still the full disk the operator needs to hear about. A resume repeats both anyway.
                if let Err(e) = sink.rollback() {
                    tracing::warn!("could not roll back the page in hand (a resume does): {e}");
                }
                tally.settle(checkpoint);
                if let Err(e) = state.save(checkpoint) {
                    tracing::warn!("could not record the requests spent since the last page: {e}");
                }
                return Err(error);
            }
        }
        Ok(())
    }

    /// One page: fetched (with retries), committed, checkpointed.
    async fn step(
        &self,
        sink: &mut Sink,
        state: &StateDir,
        checkpoint: &mut Checkpoint,
        tally: &Tally,
    ) -> Result<(), FetchError> {
        if let Some(signal) = self.stop.requested() {
            return Err(FetchError::Stopped(signal));
        }
        let Some(size) = self.next_size(checkpoint) else {
            tracing::info!("limit reached after {} people", checkpoint.position.people);
            checkpoint.walk_done = true;
            checkpoint.limit_reached = true;
            return state.save(checkpoint).map_err(FetchError::Checkpoint);
        };
        let mut body = self.search.clone();
        body.size = Some(PageSize::new(size as i64).expect("1..=page size"));
        body.search_after = checkpoint.cursor.clone();
        sink.set_page_limit(self.limits.max_records.map(|max| max - checkpoint.position.people));

        let meta = tokio::select! {
            meta = self.page_with_retries(&body, sink, tally) => meta?,
            signal = self.stop.wait() => return Err(FetchError::Stopped(signal)),
        };
        // The checkpoint changes only once the page is durable.
        let mut next = checkpoint.clone();
        tally.add_to(&mut next);
        let credits = self.record_page(&mut next, &meta, size);
        let counts = sink.page_counts();
        let durable = match sink.commit() {
            Ok(position) => {
                next.position = position.clone();
                state.save(&next).map_err(FetchError::Checkpoint)
            }
            Err(e) => Err(FetchError::Sink(e)),
        };
        if let Err(e) = durable {
            // Paid for but not kept: its credits still count (the price learned from them errs high, the
            // safe side for max_credits); its requests are settled by the caller.
            checkpoint.counters.credits_used += credits;
            return Err(e);
        }
        tally.reset();
        *checkpoint = next;
        Self::log_page(checkpoint, &meta, counts, credits);
        self.observer.page(checkpoint, &meta);
        if checkpoint.repeated_cursor {
            return Err(FetchError::RepeatedCursor { page: checkpoint.counters.pages });
        }
        Ok(())
    }

    /// Size of the next request: the page size, shrunk so that no request can pass a limit. `None` once a
    /// limit leaves no room.
    fn next_size(&self, checkpoint: &Checkpoint) -> Option<u64> {
        let mut size = self.page_size;
        if let Some(max) = self.limits.max_records {
            size = size.min(max.saturating_sub(checkpoint.position.people));
        }
        if let Some(max) = self.limits.max_credits {
            let counters = &checkpoint.counters;
            // Learned from the pages so far; the configured price (always above zero) until then.
            let price = if counters.returned > 0 && counters.credits_used > 0.0 {
                counters.credits_used / counters.returned as f64
            } else {
                self.limits.credits_per_person
            };
            let affordable = ((max - counters.credits_used) / price + 1e-9).floor().max(0.0);
            size = size.min(affordable as u64);
        }
        (size > 0).then_some(size)
    }

    /// Folds a received page into the checkpoint, noting a cursor the API returned before. Returns the
    /// page's credits.
    fn record_page(&self, checkpoint: &mut Checkpoint, meta: &PageMeta, size: u64) -> f64 {
        let counters = &mut checkpoint.counters;
        counters.pages += 1;
        counters.returned += meta.people;
        let credits = meta.credits_used.unwrap_or_else(|| {
            tracing::warn!("the page has no creditsUsed; counting the assumed price per person");
            meta.people as f64 * self.limits.credits_per_person
        });
        counters.credits_used += credits;
        if meta.people > size {
            tracing::warn!(asked = size, got = meta.people, "the API returned more people than the page size");
        }
        if let (Some(before), Some(now)) = (checkpoint.last_total, meta.total)
            && before != now
        {
            tracing::warn!(before, now, "the API's total changed between pages");
        }
        checkpoint.last_total = meta.total.or(checkpoint.last_total);
        if let Some(statuses) = &meta.seed_statuses {
            checkpoint.seed_statuses.merge(statuses);
        }
        checkpoint.include_domains_statuses.extend(meta.include_domains_statuses.clone());
        checkpoint.redirect_map.extend(meta.redirect_map.clone());
        if let Some(sent) = &checkpoint.cursor {
            checkpoint.cursors_sent.push(cursor_digest(sent));
            let excess = checkpoint.cursors_sent.len().saturating_sub(CURSORS_REMEMBERED);
            checkpoint.cursors_sent.drain(..excess);
        }
        checkpoint.cursor = meta.search_after.clone();
        // An empty page ends the walk even if it carries a cursor; `total` never decides. A walk that has
        // ended cannot loop, whatever cursor came with its last page.
        checkpoint.walk_done = meta.people == 0 || checkpoint.cursor.is_none();
        checkpoint.repeated_cursor = !checkpoint.walk_done
            && meta.search_after.as_deref().is_some_and(|c| checkpoint.cursors_sent.contains(&cursor_digest(c)));
        credits
    }

    /// Logs a page that was committed.
    fn log_page(checkpoint: &Checkpoint, meta: &PageMeta, counts: PageCounts, credits: f64) {
        let people = checkpoint.position.people;
        tracing::info!(
            page = checkpoint.counters.pages,
            people,
            total = meta.total,
            credits,
            "page {}: {} people, {people}{} so far",
            checkpoint.counters.pages,
            meta.people,
            meta.total.map(|t| format!(" of {t}")).unwrap_or_default()
        );
        if counts.duplicates > 0 {
            tracing::warn!(count = counts.duplicates, "the page repeated people already written; each is written once");
        }
    }

    /// One page, with retries. Every failed attempt is rolled back before the next.
    async fn page_with_retries(
        &self,
        body: &SearchBody,
        sink: &mut Sink,
        tally: &Tally,
    ) -> Result<PageMeta, FetchError> {
        let sink = tokio::sync::Mutex::new(sink);
        retrying(&self.retry, self.pacer, tally, self.observer, || async {
            let mut sink = sink.lock().await;
            let result = within(self.retry.page_timeout, attempt_page(self.client, body, &mut **sink)).await;
            if result.is_err() {
                sink.rollback()?;
            }
            result
        })
        .await
    }
}

/// Exponential backoff that stands still after an error with a Retry-After: the API named the wait, so
/// it neither uses up `max_retries` nor lengthens the next delay. (backon takes a step of the backoff
/// before `adjust` sees the error; this makes that step free.)
struct PausedByRetryAfter {
    exponential: backon::ExponentialBackoff,
    api_named_the_wait: Arc<AtomicBool>,
}

impl Iterator for PausedByRetryAfter {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.api_named_the_wait.swap(false, Ordering::SeqCst) {
            // `adjust` uses the API's wait instead of this.
            Some(Duration::ZERO)
        } else {
            self.exponential.next()
        }
    }
}

/// Runs `attempt` through the pacer with exponential backoff and full jitter. A Retry-After is honoured
/// (and holds every sender); one longer than `max_wait` stops at once. Waits the API asked for do not use
/// up `max_retries`, but together they may not pass `max_wait` either.
pub async fn retrying<T, F, Fut>(
    policy: &RetryPolicy,
    pacer: &Pacer,
    tally: &Tally,
    observer: &dyn Observer,
    mut attempt: F,
) -> Result<T, FetchError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, FetchError>>,
{
    let asked_to_wait = Cell::new(Duration::ZERO);
    let attempts = Cell::new(0u64);
    let api_named_the_wait = Arc::new(AtomicBool::new(false));
    let backoff = PausedByRetryAfter {
        exponential: ExponentialBuilder::new()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_factor(2.0)
            .with_max_times(policy.max_retries as usize)
            .build(),
        api_named_the_wait: api_named_the_wait.clone(),
    };
    let result = (|| {
        let attempt = attempt();
        async {
            pacer.ready().await;
            tally.requests.set(tally.requests.get() + 1);
            attempts.set(attempts.get() + 1);
            let result = attempt.await;
            if let Err(FetchError::Api(e)) = &result
                && let Some(wait) = e.retry_after()
            {
                api_named_the_wait.store(true, Ordering::SeqCst);
                if wait <= policy.max_wait {
                    pacer.hold_for(wait);
                }
            }
            result
        }
    })
    .retry(backoff)
    .sleep(tokio::time::sleep)
    .when(FetchError::is_retryable)
    .adjust(|error, delay| match error {
        FetchError::Api(e) => match e.retry_after() {
            Some(wait) => {
                // Counted at least at the backoff's smallest step, so even `Retry-After: 0` forever ends.
                let total = asked_to_wait.get() + wait.max(policy.min_delay);
                asked_to_wait.set(total);
                (total <= policy.max_wait).then_some(wait)
            }
            // `None` from the backoff means the retries are used up: keep it. Otherwise full jitter:
            // anywhere between nothing and the exponential delay.
            None => delay.map(|d| Duration::from_nanos(rand::random_range(0..=d.as_nanos() as u64))),
        },
        _ => delay,
    })
    .notify(|error, wait| {
        tally.retries.set(tally.retries.get() + 1);
        tracing::warn!(reason = %reason(error), wait = %human_duration(wait), "retrying: {error}");
        observer.retry(error, wait);
    })
    .await;
    result.map_err(|error| match error {
        FetchError::Api(e) if e.is_retryable() => match e.retry_after() {
            Some(wait) if wait > policy.max_wait || asked_to_wait.get() > policy.max_wait => {
                FetchError::WaitTooLong { wait: wait.max(asked_to_wait.get()), max: policy.max_wait }
            }
            _ => FetchError::Exhausted { attempts: attempts.get(), last: e },
        },
        other => other,
    })
}

fn reason(error: &FetchError) -> String {
    match error {
        FetchError::Api(e) => e.reason(),
        _ => "error".to_owned(),
    }
}

/// An attempt with a deadline for all of it, so a body that drips in slower than the idle timeout cannot
/// hold a run forever.
pub async fn within<T>(limit: Duration, attempt: impl Future<Output = Result<T, FetchError>>) -> Result<T, FetchError> {
    tokio::time::timeout(limit, attempt).await.unwrap_or_else(|_| {
        Err(FetchError::Api(ApiError::Timeout(format!(
            "the page took longer than {} (api.page_timeout_secs)",
            human_duration(limit)
        ))))
    })
}

/// One attempt: the request, then the body streamed through the parser into `sink`.
pub async fn attempt_page<S>(client: &Client, body: &SearchBody, sink: &mut S) -> Result<PageMeta, FetchError>
where
    S: PersonSink,
    S::Error: Into<FetchError>,
{
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

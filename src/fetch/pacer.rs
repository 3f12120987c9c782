//! One pacer shared by everything that sends: requests evenly spaced at the configured rate (no bursts),
//! and after a 429 nobody sends again before its Retry-After has passed.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

#[derive(Debug)]
pub struct Pacer {
    limiter: DefaultDirectRateLimiter,
    not_before: Mutex<Option<Instant>>,
    per_minute: u32,
    /// When this run sent in the last minute, oldest first.
    sent: Mutex<std::collections::VecDeque<Instant>>,
    /// The line about another client was logged.
    shared_told: std::sync::atomic::AtomicBool,
}

impl Pacer {
    /// At most `per_minute` requests a minute, one every `60 s / per_minute`.
    pub fn new(per_minute: NonZeroU32) -> Pacer {
        let period = Duration::from_secs(60) / per_minute.get();
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .expect("a nonzero period")
            .allow_burst(NonZeroU32::MIN);
        Pacer {
            limiter: RateLimiter::direct(quota),
            not_before: Mutex::new(None),
            per_minute: per_minute.get(),
            sent: Mutex::new(std::collections::VecDeque::new()),
            shared_told: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Waits for the next send slot. Call before every attempt, retries included.
    pub async fn ready(&self) {
        loop {
            let until = *self.not_before.lock().unwrap_or_else(|e| e.into_inner());
            match until {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until).await,
                _ => break,
            }
        }
        self.limiter.until_ready().await;
        let now = Instant::now();
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        while sent.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60)) {
            sent.pop_front();
        }
        sent.push_back(now);
    }

    /// The requests this run sent in the last minute.
    pub fn sent_last_minute(&self) -> usize {
        let now = Instant::now();
        let sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        sent.iter().filter(|t| now.duration_since(**t) < Duration::from_secs(60)).count()
    }

    /// A 429 of the per-minute kind (a short or no Retry-After; a daily allowance asks to wait hours)
    /// arrived. When this run was under its own rate, the account's allowance is being spent by someone
    /// else too: says so, once per run. Returns whether it said so.
    pub fn rate_limited(&self, retry_after: Option<Duration>) -> bool {
        if retry_after.is_some_and(|wait| wait > Duration::from_secs(120)) {
            return false;
        }
        let sent = self.sent_last_minute();
        if sent >= self.per_minute as usize || self.shared_told.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return false;
        }
        tracing::warn!(
            sent_last_minute = sent,
            requests_per_minute = self.per_minute,
            "429 Too Many Requests although this run sent {sent} requests in the last minute, under its requests_per_minute of {}: \
             another client seems to be using the same account (another job or machine), or requests_per_minute is above the account's limit; \
             see \"Several jobs on one account\" in the README",
            self.per_minute
        );
        true
    }

    /// Nobody sends before `now + wait` (a 429's Retry-After).
    pub fn hold_for(&self, wait: Duration) {
        let Some(until) = Instant::now().checked_add(wait) else { return };
        let mut not_before = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        *not_before = Some(not_before.map_or(until, |t| t.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spaced_evenly_without_a_burst() {
        let pacer = Pacer::new(NonZeroU32::new(1200).unwrap()); // one per 50 ms
        let start = std::time::Instant::now();
        for _ in 0..4 {
            pacer.ready().await;
        }
        // First at once, then three gaps of 50 ms.
        assert!(start.elapsed() >= Duration::from_millis(148), "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn a_429_under_our_rate_points_at_another_client_once() {
        let pacer = Pacer::new(NonZeroU32::new(60_000).unwrap());
        pacer.ready().await;
        // A daily allowance: not another client's doing.
        assert!(!pacer.rate_limited(Some(Duration::from_secs(3600))));
        assert!(pacer.rate_limited(Some(Duration::from_secs(2))));
        assert!(!pacer.rate_limited(None), "said once per run");
        // A run at its own rate is not told.
        let full = Pacer::new(NonZeroU32::new(2).unwrap());
        full.ready().await;
        full.sent.lock().unwrap().push_back(Instant::now());
        assert_eq!(full.sent_last_minute(), 2);
        assert!(!full.rate_limited(None));
    }

    #[tokio::test]
    async fn a_hold_delays_everyone() {
        let pacer = Pacer::new(NonZeroU32::new(60_000).unwrap());
        pacer.hold_for(Duration::from_millis(120));
        let start = std::time::Instant::now();
        pacer.ready().await;
        assert!(start.elapsed() >= Duration::from_millis(115), "{:?}", start.elapsed());
    }
}

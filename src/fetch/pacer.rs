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
}

impl Pacer {
    /// At most `per_minute` requests a minute, one every `60 s / per_minute`.
    pub fn new(per_minute: NonZeroU32) -> Pacer {
        let period = Duration::from_secs(60) / per_minute.get();
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .expect("a nonzero period")
            .allow_burst(NonZeroU32::MIN);
        Pacer { limiter: RateLimiter::direct(quota), not_before: Mutex::new(None) }
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
    async fn a_hold_delays_everyone() {
        let pacer = Pacer::new(NonZeroU32::new(60_000).unwrap());
        pacer.hold_for(Duration::from_millis(120));
        let start = std::time::Instant::now();
        pacer.ready().await;
        assert!(start.elapsed() >= Duration::from_millis(115), "{:?}", start.elapsed());
    }
}

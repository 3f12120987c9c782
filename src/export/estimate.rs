//! `estimate`: what an export will take, from one `size: 1` request and the credit balance.

use std::time::Duration;

use crate::api::body::PageSize;
use crate::api::{Client, PageMeta, Person, PersonSink};
use crate::error::Error;
use crate::fetch::{self, Pacer, PageFailure, PageSink, Retrying, Tally, fetch_page, within};
use crate::job::Job;

/// What an export of a job will take.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// The API's `total` for the search.
    pub total: u64,
    /// People the export would write: the total, capped by the limits.
    pub to_export: u64,
    pub page_size: PageSize,
    pub pages: u64,
    /// Credits per person: learned from the probe, else the configured one.
    pub price: f64,
    pub credits_needed: f64,
    pub balance: f64,
    /// What the probe cost.
    pub probe_cost: f64,
    /// Requests the API allows for the rest of the day, and when that resets.
    pub requests_left: i64,
    pub resets_in: Duration,
    /// The walk's time at the configured rate.
    pub duration: Duration,
}

impl Estimate {
    /// Days the export needs at the daily allowance, when it cannot finish today.
    pub fn days_needed(&self) -> Option<f64> {
        let left = u64::try_from(self.requests_left).unwrap_or(0);
        (self.pages > left).then(|| (self.pages as f64 / left.max(1) as f64).ceil())
    }

    /// Whether the export would run out of credits (and stop with exit 4).
    pub fn short_of_credits(&self) -> bool {
        self.credits_needed > self.balance
    }
}

/// Throws the probe's person away.
struct Discard;

impl PersonSink for Discard {
    type Error = std::convert::Infallible;
    fn person(&mut self, _person: &Person<'_>) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl PageSink for Discard {
    fn rollback(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// The estimate's requests log their retries; nothing else is shown.
struct Quiet;

impl fetch::Observer for Quiet {}

/// Estimates an export of `job`: one `size: 1` request (which costs one person's credits) and the credit
/// balance, paced and retried like the pages of a run.
pub async fn estimate(job: &Job, client: &Client) -> Result<Estimate, Error> {
    let policy = super::retry_policy(job);
    let pacer = Pacer::new(job.settings.api.requests_per_minute);
    let tally = Tally::default();
    let retrying = Retrying { policy: &policy, pacer: &pacer, tally: &tally, observer: &Quiet };
    let probe = job.search.request(PageSize::new(1).expect("1 is a page size"), None);
    let meta: PageMeta =
        fetch_page(client, &probe, &mut Discard, &retrying).await.map_err(|e| Error::from(e).located(job))?;
    let balance = retrying
        .run(|| within(policy.page_timeout, async { client.balance().await.map_err(PageFailure::<Error>::from) }))
        .await?;

    let limits = &job.settings.limits;
    let probe_cost = meta.credits_used.unwrap_or(0.0);
    let price = if meta.people > 0 && probe_cost > 0.0 {
        probe_cost / meta.people as f64
    } else {
        limits.credits_per_person.get()
    };
    let total = meta.total.unwrap_or(0);
    let mut to_export = limits.max_records.map_or(total, |m| m.get().min(total));
    if let Some(max) = limits.max_credits {
        to_export = to_export.min((max.get() / price).floor() as u64);
    }
    let pages = to_export.div_ceil(job.page_size.people());
    let rate = f64::from(job.settings.api.requests_per_minute.get());
    Ok(Estimate {
        total,
        to_export,
        page_size: job.page_size,
        pages,
        price,
        credits_needed: to_export as f64 * price,
        balance: balance.credits.total(),
        probe_cost,
        requests_left: balance.daily_limit_rate_left,
        resets_in: Duration::from_secs(balance.daily_limit_rate_seconds_to_reset.max(0).unsigned_abs()),
        duration: Duration::from_secs_f64(pages as f64 / rate * 60.0),
    })
}

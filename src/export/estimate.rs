//! `estimate`: what an export will take, from `size: 1` requests and the credit balance. A search above
//! the result window is planned as `run` would split it, one `size: 1` probe per part.

use std::time::Duration;

use crate::api::body::{PageSize, SearchBody};
use crate::api::{Client, PageMeta, Person, PersonSink};
use crate::error::Error;
use crate::fetch::{self, Pacer, PageFailure, PageSink, Retrying, Tally, fetch_page, within};
use crate::job::Job;
use crate::plan::{Plan, Stage};

/// What an export of a job will take.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// The API's `total` for the search.
    pub total: u64,
    /// People the export would write: the total, capped by the limits.
    pub to_export: u64,
    pub page_size: PageSize,
    /// Requests the walk needs: pages, and the probes a split search spends.
    pub pages: u64,
    /// Credits per person: learned from the probe, else the configured one.
    pub price: f64,
    pub credits_needed: f64,
    pub balance: f64,
    /// What this estimate cost: its requests and credits.
    pub probe_requests: u64,
    pub probe_cost: f64,
    /// Requests the API allows for the rest of the day, and when that resets.
    pub requests_left: i64,
    pub resets_in: Duration,
    /// The walk's time at the configured rate.
    pub duration: Duration,
    /// The parts a search above the result window is split into (`None`: it fits).
    pub parts: Option<Vec<(String, u64)>>,
    /// What the plan or the limits mean for the people delivered.
    pub notes: Vec<String>,
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

/// Estimates an export of `job`: a `size: 1` request (which costs one person's credits), one more per
/// part when the search must be split, and the credit balance, all paced and retried like a run's pages.
pub async fn estimate(job: &Job, client: &Client) -> Result<Estimate, Error> {
    let policy = super::retry_policy(job);
    let pacer = Pacer::new(job.settings.api.requests_per_minute);
    let tally = Tally::default();
    let retrying = Retrying { policy: &policy, pacer: &pacer, tally: &tally, observer: &Quiet };
    let one = PageSize::new(1).expect("1 is a page size");
    let probe = |body: SearchBody| {
        let retrying = &retrying;
        async move {
            let body = SearchBody { size: Some(one), ..body };
            fetch_page(client, &body, &mut Discard, retrying).await.map_err(|e| Error::from(e).located(job))
        }
    };
    let first: PageMeta = probe(job.search.body().clone()).await?;
    let mut probe_cost = first.credits_used.unwrap_or(0.0);

    let limits = &job.settings.limits;
    let price = if first.people > 0 && probe_cost > 0.0 {
        probe_cost / first.people as f64
    } else {
        limits.credits_per_person.get()
    };
    let total = first.total.unwrap_or(0);
    let mut to_export = limits.max_records.map_or(total, |m| m.get().min(total));
    if let Some(max) = limits.max_credits {
        to_export = to_export.min((max.get() / price).floor() as u64);
    }
    let page = job.page_size.people();
    let rules = super::rules(job);
    let mut notes = Vec::new();
    let mut plan = Plan::new(job.window());
    plan.record(0, &first, 0, Some(to_export), job.search.body(), &rules)?;
    while let Some(index) = plan.parts.iter().position(|p| p.stage == Stage::Probe) {
        let meta = probe(plan.body(index, job.search.body())).await?;
        probe_cost += meta.credits_used.unwrap_or(0.0);
        plan.record(index, &meta, 0, None, job.search.body(), &rules)?;
    }
    let (pages, parts) = if plan.split() {
        let leaves: Vec<_> = plan.leaves().collect();
        // Each part: its probe, then pages for the rest of it (up to what the limits leave).
        let mut left = to_export;
        let mut pages = 1 + plan.probes;
        for part in &leaves {
            let people = part.total.unwrap_or(0).min(left);
            left -= people;
            pages += people.saturating_sub(1).div_ceil(page);
        }
        let window = plan.window.unwrap_or(0);
        notes.push(format!(
            "the search holds {total} people, more than one query can page through (the result window, {window}): \
             it is split into {} parts by {}, each in the API's order",
            leaves.len(),
            facets(&plan)
        ));
        if to_export < total {
            notes.push(format!(
                "limits stop the export at {to_export} people: the first ones of the parts in plan order, not the API's top {to_export}"
            ));
        }
        (pages, Some(leaves.iter().map(|p| (p.slice.describe(), p.total.unwrap_or(0))).collect()))
    } else {
        if to_export < total {
            notes.push(format!("limits stop the export at {to_export} people: the API's top {to_export}"));
        }
        let first = plan.size_for(0, page).min(to_export);
        (u64::from(to_export > 0) + to_export.saturating_sub(first).div_ceil(page), None)
    };
    let window = plan.window.unwrap_or(0);
    for part in &plan.unsplittable {
        notes.push(format!(
            "{part}: above the result window ({window}), with nothing left to split it by; only its first {window} people can be exported, and the run will exit 8 (incomplete)"
        ));
    }
    notes.extend(plan.gaps.iter().cloned());
    let balance = retrying
        .run(|| within(policy.page_timeout, async { client.balance().await.map_err(PageFailure::<Error>::from) }))
        .await?;
    let rate = f64::from(job.settings.api.requests_per_minute.get());
    let (probe_requests, _) = tally.get();
    Ok(Estimate {
        total,
        to_export,
        page_size: job.page_size,
        pages,
        price,
        credits_needed: to_export as f64 * price + plan.probes as f64 * price,
        balance: balance.credits.total(),
        probe_requests,
        probe_cost,
        requests_left: balance.daily_limit_rate_left,
        resets_in: Duration::from_secs(balance.daily_limit_rate_seconds_to_reset.max(0).unsigned_abs()),
        duration: Duration::from_secs_f64(pages as f64 / rate * 60.0),
        parts,
        notes,
    })
}

/// The facets a plan split by, in the order first used.
fn facets(plan: &Plan) -> String {
    let mut used: Vec<&str> = Vec::new();
    for part in &plan.parts {
        if let Stage::Split { facet, .. } = &part.stage
            && !used.contains(&facet.label())
        {
            used.push(facet.label());
        }
    }
    used.join(", then ")
}

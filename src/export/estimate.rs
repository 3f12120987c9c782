//! `estimate`: what an export will take, from `size: 1` requests and the credit balance. A search above
//! the result window is planned as `run` would split it, one `size: 1` probe per part. It also says why
//! the numbers are what they are: seeds Ocean did not find, and, when nobody matches, which filter or
//! value matches nobody (found with a few more `size: 1` requests, each counted and shown).

use std::time::Duration;

use serde_json::{Value, json};

use crate::api::body::{PageSize, SearchBody};
use crate::api::{Client, PageMeta, Person, PersonSink, SeedStatuses};
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
    /// What the API made of the seeds (found, not found, …), from the first probe.
    pub seed_statuses: SeedStatuses,
    /// Of `probe_requests`, those sent only to explain a total of 0 (at most [`MAX_EXPLAIN_PROBES`]).
    pub explain_requests: u64,
    /// Why the numbers are what they are, one sentence each: seeds not found, a filter or a value that
    /// matches nobody, what the plan or the limits mean for the people delivered.
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

/// Most extra `size: 1` requests an estimate sends to find what matches nobody. A request that matches
/// nobody costs nothing; one that matches costs one person (0.2 credits on v3).
pub const MAX_EXPLAIN_PROBES: u64 = 8;

/// Seeds named in a note before the rest are counted.
const SHOWN_SEEDS: usize = 10;

/// Estimates an export of `job`: a `size: 1` request (which costs one person's credits), one more per
/// part when the search must be split, and the credit balance, all paced and retried like a run's pages.
/// When nobody matches, up to [`MAX_EXPLAIN_PROBES`] more `size: 1` requests find the filter, or the
/// value, that matches nobody.
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
    let seed_statuses = first.seed_statuses.clone().unwrap_or_default();
    let mut notes = seed_notes(job, &seed_statuses);
    for (domain, status) in &first.include_domains_statuses {
        notes.push(format!("includeDomains `{domain}`: {status}"));
    }

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
    let before_explaining = tally.get().0;
    if total == 0 {
        let prober = Prober { client, retrying: &retrying, sent: 0, cost: 0.0, failed: None };
        let (explained, cost) = explain_zero(job, prober).await;
        notes.extend(explained);
        probe_cost += cost;
    }
    let explain_requests = tally.get().0 - before_explaining;
    // Read last, so that today's allowance counts the requests above.
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
        seed_statuses,
        explain_requests,
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

/// Notes on the seeds Ocean did not take: not found, at a company it has not crawled, or missing data.
fn seed_notes(job: &Job, statuses: &SeedStatuses) -> Vec<String> {
    let list = |seeds: &std::collections::BTreeSet<String>| {
        let shown: Vec<&str> = seeds.iter().take(SHOWN_SEEDS).map(String::as_str).collect();
        let more = seeds.len().saturating_sub(SHOWN_SEEDS);
        if more > 0 { format!("{} and {more} more", shown.join(", ")) } else { shown.join(", ") }
    };
    let mut notes = Vec::new();
    let all = job.seeds.len();
    let missing = &statuses.not_found_people;
    if !missing.is_empty() {
        let how_many = if missing.len() >= all {
            format!("none of the {all} seed(s) was found by Ocean")
        } else {
            format!("Ocean did not find {} of the {all} seeds", missing.len())
        };
        notes.push(format!(
            "{how_many}: {}; check each at https://www.linkedin.com/in/HANDLE (a seed Ocean does not know does not shape the results)",
            list(missing)
        ));
    }
    if !statuses.triggered_domain_people.is_empty() {
        notes.push(format!(
            "seeds at a company Ocean has not crawled yet (it has started): {}",
            list(&statuses.triggered_domain_people)
        ));
    }
    if !statuses.missing_company_information_people.is_empty() {
        notes.push(format!(
            "seeds whose company lacks the data a lookalike needs: {}",
            list(&statuses.missing_company_information_people)
        ));
    }
    notes
}

/// Sends `size: 1` probes, each counted and paid for, up to [`MAX_EXPLAIN_PROBES`].
struct Prober<'a> {
    client: &'a Client,
    retrying: &'a Retrying<'a>,
    sent: u64,
    cost: f64,
    /// Why a probe failed, if one did.
    failed: Option<String>,
}

impl Prober<'_> {
    /// The total of a body, or `None` once the probes are used up or one failed (the reason is kept:
    /// a failed explanation does not fail the estimate, whose own request went through).
    async fn total(&mut self, body: Value) -> Option<u64> {
        if self.sent >= MAX_EXPLAIN_PROBES || self.failed.is_some() {
            return None;
        }
        let mut body: SearchBody = serde_json::from_value(body).expect("a part of a valid body is valid");
        body.size = Some(PageSize::new(1).expect("1 is a page size"));
        self.sent += 1;
        match fetch_page(self.client, &body, &mut Discard, self.retrying).await {
            Ok(meta) => {
                self.cost += meta.credits_used.unwrap_or(0.0);
                Some(meta.total.unwrap_or(0))
            }
            Err(e) => {
                self.failed = Some(Error::from(e).to_string());
                None
            }
        }
    }
}

/// Why a search matches nobody: each filter is tried on its own (seeds left out), and the values of a
/// list that alone matches nobody one by one, until a culprit is named or the probes run out. Returns
/// the notes and what the probes cost.
async fn explain_zero(job: &Job, mut prober: Prober<'_>) -> (Vec<String>, f64) {
    let body = serde_json::to_value(job.search.body()).expect("a body serializes");
    let mut filters = Vec::new();
    for section in ["peopleFilters", "companiesFilters"] {
        for (key, value) in body[section].as_object().into_iter().flatten() {
            if key != "lookalikeLinkedinHandles" && !is_empty(value) {
                filters.push((section, key.clone(), value.clone()));
            }
        }
    }
    let name = |section: &str, key: &str, index: Option<usize>| {
        let mut loc = vec![json!("body"), json!(section), json!(key)];
        loc.extend(index.map(|i| json!(i)));
        job.provenance.job_key(&loc)
    };
    let mut notes = Vec::new();
    if filters.is_empty() {
        notes.push("Ocean reports nobody for this search, and it has no filter to loosen".to_owned());
        return (notes, prober.cost);
    }
    let mut culprits = 0;
    let mut out_of_probes = false;
    for (section, key, value) in &filters {
        // With one filter, the search itself (seeds aside) already said it matches nobody.
        let alone =
            if filters.len() == 1 { Some(0) } else { prober.total(json!({ *section: { key.as_str(): value } })).await };
        match alone {
            None => {
                out_of_probes = true;
                break;
            }
            Some(0) => {}
            Some(_) => continue,
        }
        culprits += 1;
        let items = value.as_array().filter(|items| items.len() > 1 && items.iter().all(Value::is_string));
        let mut named = false;
        for (i, item) in items.into_iter().flatten().enumerate() {
            match prober.total(json!({ *section: { key.as_str(): [item] } })).await {
                Some(0) => {
                    notes.push(format!("{} = {item} matches nobody", name(section, key, Some(i))));
                    named = true;
                }
                Some(_) => {}
                None => {
                    out_of_probes = true;
                    break;
                }
            }
        }
        if !named {
            match value.as_array().map(Vec::as_slice) {
                Some([only]) => notes.push(format!("{} = {only} matches nobody", name(section, key, Some(0)))),
                _ => notes.push(format!("{} matches nobody on its own", name(section, key, None))),
            }
        }
    }
    if culprits == 0 && !out_of_probes {
        notes
            .push("each filter matches people on its own, but not all of them together: loosen one of them".to_owned());
    }
    match &prober.failed {
        Some(why) => notes.push(format!("(could not finish finding what matches nobody: {why})")),
        None if out_of_probes => {
            notes.push(format!("(stopped after {MAX_EXPLAIN_PROBES} requests to find what matches nobody)"))
        }
        None => {}
    }
    (notes, prober.cost)
}

/// An empty list or table filters nothing.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

//! The walk of one export: page after page fetched into the sink, each committed and then checkpointed,
//! until the API's last page or a limit.

use crate::api::body::PageSize;
use crate::api::{Client, PageMeta};
use crate::checkpoint::{Checkpoint, StateDir};
use crate::error::Error;
use crate::fetch::{FetchError, Pacer, RetryPolicy, Retrying, Stop, Tally, fetch_page};
use crate::job::Job;
use crate::sink::{PageCounts, Sink};

use super::{Observer, Status};

/// Everything one walk needs besides its state.
pub(super) struct Walk<'a> {
    pub job: &'a Job,
    pub client: &'a Client,
    pub pacer: &'a Pacer,
    pub retry: RetryPolicy,
    pub stop: &'a Stop,
    pub observer: &'a dyn Observer,
}

impl Walk<'_> {
    /// Walks from the checkpoint to the end (or a limit), committing and checkpointing every page. On an
    /// error the output is rolled back to the last commit, and the checkpoint saved with the requests and
    /// retries spent, so a rerun resumes exactly there.
    pub async fn run(&self, sink: &mut Sink, state: &StateDir, checkpoint: &mut Checkpoint) -> Result<(), Error> {
        checkpoint.cursor.check(checkpoint.counters.pages)?;
        let tally = Tally::default();
        while !checkpoint.cursor.done {
            if let Err(error) = self.step(sink, state, checkpoint, &tally).await {
                // Tidy up, but report what stopped the walk: a full disk that also refuses the tidying
                // is still the full disk the operator needs to hear about. A resume repeats both anyway.
                if let Err(e) = sink.rollback() {
                    tracing::warn!("could not roll back the page in hand (a resume does): {e}");
                }
                let (requests, retries) = tally.take();
                checkpoint.counters.requests += requests;
                checkpoint.counters.retries += retries;
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
    ) -> Result<(), Error> {
        if let Some(signal) = self.stop.requested() {
            return Err(FetchError::Stopped(signal).into());
        }
        let Some(size) = self.job.next_page_size(&checkpoint.spent()) else {
            tracing::info!("limit reached after {} people", checkpoint.position.people);
            checkpoint.cursor.done = true;
            checkpoint.limit_reached = true;
            return Ok(state.save(checkpoint)?);
        };
        let body = self.job.search.request(size, checkpoint.cursor.next.as_deref());
        let max_records = self.job.settings.limits.max_records;
        sink.set_page_limit(max_records.map(|max| max.get().saturating_sub(checkpoint.position.people)));

        let retrying = Retrying { policy: &self.retry, pacer: self.pacer, tally, observer: self.observer };
        let meta = tokio::select! {
            meta = fetch_page(self.client, &body, sink, &retrying) => meta?,
            signal = self.stop.wait() => return Err(FetchError::Stopped(signal).into()),
        };
        // The checkpoint changes only once the page is durable.
        let mut next = checkpoint.clone();
        let (requests, retries) = tally.get();
        next.counters.requests += requests;
        next.counters.retries += retries;
        let credits = self.record_page(&mut next, &meta, size);
        let counts = sink.page_counts();
        let durable = match sink.commit() {
            Ok(position) => {
                next.position = position.clone();
                state.save(&next).map_err(Error::from)
            }
            Err(e) => Err(e.into()),
        };
        if let Err(e) = durable {
            // Paid for but not kept: its credits still count (the price learned from them errs high, the
            // safe side for max_credits); its requests are settled by the caller.
            checkpoint.counters.credits_used += credits;
            return Err(e);
        }
        tally.take();
        *checkpoint = next;
        log_page(checkpoint, &meta, counts, credits);
        self.observer.page(&Status::of(checkpoint, self.job));
        Ok(checkpoint.cursor.check(checkpoint.counters.pages)?)
    }

    /// Folds a received page into the checkpoint. Returns the page's credits.
    fn record_page(&self, checkpoint: &mut Checkpoint, meta: &PageMeta, size: PageSize) -> f64 {
        let counters = &mut checkpoint.counters;
        counters.pages += 1;
        counters.returned += meta.people;
        let credits = meta.credits_used.unwrap_or_else(|| {
            tracing::warn!("the page has no creditsUsed; counting the assumed price per person");
            meta.people as f64 * self.job.settings.limits.credits_per_person.get()
        });
        counters.credits_used += credits;
        if meta.people > size.people() {
            tracing::warn!(asked = size.get(), got = meta.people, "the API returned more people than the page size");
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
        checkpoint.cursor.advance(meta);
        credits
    }
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

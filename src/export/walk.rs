//! The walk of one export: the parts of the plan fetched page by page into the sink, each page committed
//! and then checkpointed, until every part is walked or a limit is reached. One cursor at a time streams
//! straight into the sink; with several in flight (a split search, `api.concurrency` above 1), each page
//! waits in a buffer until it has fully arrived, and pages go into the sink one at a time. A kill loses
//! only the pages in flight: they were not committed, and a rerun fetches them again.

use std::io;
use std::path::Path;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::api::body::{PageSize, SearchBody};
use crate::api::{ApiError, Client, Detail, PageMeta};
use crate::checkpoint::{Checkpoint, StateDir};
use crate::error::Error;
use crate::fetch::{FetchError, Pacer, PageFailure, RetryPolicy, Retrying, Stop, Tally, fetch_page};
use crate::job::{Job, Spent};
use crate::plan::{Rules, Turn};
use crate::sink::{PageBuffer, PageCounts, ReplayError, Sink, SinkError};

use super::{Observer, Status};

/// Everything one walk needs besides its state.
pub(super) struct Walk<'a> {
    pub job: &'a Job,
    pub client: &'a Client,
    pub pacer: &'a Pacer,
    pub retry: RetryPolicy,
    pub stop: &'a Stop,
    pub observer: &'a dyn Observer,
    pub rules: Rules,
    /// Pages in flight at once.
    pub concurrency: usize,
    /// Where buffered pages spill (the job's state folder).
    pub spill: &'a Path,
}

/// One request of the walk.
struct Request {
    part: usize,
    size: PageSize,
    body: SearchBody,
}

/// What to do next.
enum Next {
    Send(Box<Request>),
    /// Every part with work left has a page in flight.
    Wait,
    /// Parts are left, but a limit leaves no room for another request.
    Limit,
    Done,
}

impl Walk<'_> {
    /// Walks from the checkpoint to the end (or a limit), committing and checkpointing every page. On an
    /// error the output is rolled back to the last commit, and the checkpoint saved with the requests and
    /// retries spent, so a rerun resumes exactly there.
    pub async fn run(&self, sink: &mut Sink, state: &StateDir, checkpoint: &mut Checkpoint) -> Result<(), Error> {
        for part in checkpoint.plan.parts.iter().filter(|p| p.fetching()) {
            part.cursor.check(checkpoint.counters.pages)?;
        }
        checkpoint.plan.divide_pending(self.job.search.body(), &self.rules)?;
        let tally = Tally::default();
        let result = self.one_at_a_time(sink, state, checkpoint, &tally).await;
        if let Err(error) = result {
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
        Ok(())
    }

    /// Page after page, each streamed straight into the sink, while there is one cursor to follow (the
    /// search is not split, or `api.concurrency` is 1); then several at once.
    async fn one_at_a_time(
        &self,
        sink: &mut Sink,
        state: &StateDir,
        checkpoint: &mut Checkpoint,
        tally: &Tally,
    ) -> Result<(), Error> {
        loop {
            if self.concurrency > 1 && checkpoint.plan.split() {
                return self.several_at_once(sink, state, checkpoint, tally).await;
            }
            if let Some(signal) = self.stop.requested() {
                return Err(FetchError::Stopped(signal).into());
            }
            let request = match self.next(checkpoint, &[]) {
                Next::Send(request) => request,
                Next::Limit => return self.limit_reached(state, checkpoint),
                Next::Done | Next::Wait => return Ok(()),
            };
            self.set_page_limit(sink, checkpoint);
            let retrying = Retrying { policy: &self.retry, pacer: self.pacer, tally, observer: self.observer };
            let fetched = tokio::select! {
                fetched = fetch_page(self.client, &request.body, sink, &retrying) => fetched,
                signal = self.stop.wait() => return Err(FetchError::Stopped(signal).into()),
            };
            match fetched {
                Ok(meta) => self.commit(sink, state, checkpoint, tally, &request, &meta)?,
                Err(PageFailure::Fetch(e)) if self.refused_deeper(&e, &request, checkpoint) => {
                    self.refused(state, checkpoint, tally, &request)?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Up to `concurrency` pages in flight, each into its own buffer, committed in the order they
    /// complete. When a page fails, no new page is sent, the others in flight are still committed (they
    /// are paid for), and then the walk stops with the first failure.
    async fn several_at_once(
        &self,
        sink: &mut Sink,
        state: &StateDir,
        checkpoint: &mut Checkpoint,
        tally: &Tally,
    ) -> Result<(), Error> {
        let retrying = Retrying { policy: &self.retry, pacer: self.pacer, tally, observer: self.observer };
        let mut flight = FuturesUnordered::new();
        let mut busy: Vec<(usize, u64)> = Vec::new();
        let mut failed: Option<Error> = None;
        let mut limit = false;
        loop {
            while failed.is_none() && flight.len() < self.concurrency && self.stop.requested().is_none() {
                match self.next(checkpoint, &busy) {
                    Next::Send(request) => {
                        busy.push((request.part, request.size.people()));
                        let retrying = &retrying;
                        flight.push(async move {
                            let mut buffer = PageBuffer::new(self.spill);
                            let fetched = fetch_page(self.client, &request.body, &mut buffer, retrying).await;
                            (request, fetched.map(|meta| (meta, buffer)))
                        });
                    }
                    Next::Limit => {
                        limit = true;
                        break;
                    }
                    Next::Wait | Next::Done => break,
                }
            }
            if let Some(signal) = self.stop.requested() {
                return Err(FetchError::Stopped(signal).into());
            }
            if flight.is_empty() {
                return match failed {
                    Some(error) => Err(error),
                    None if limit => self.limit_reached(state, checkpoint),
                    None => Ok(()),
                };
            }
            let (request, fetched) = tokio::select! {
                done = flight.next() => done.expect("a page is in flight"),
                signal = self.stop.wait() => return Err(FetchError::Stopped(signal).into()),
            };
            busy.retain(|(part, _)| *part != request.part);
            let outcome = match fetched {
                Ok((meta, buffer)) => {
                    self.set_page_limit(sink, checkpoint);
                    buffer
                        .replay(sink)
                        .map_err(|e| match e {
                            ReplayError::Read(source) => Error::Output(spill_error(self.spill, source)),
                            ReplayError::Sink(e) => Error::Output(e),
                        })
                        .and_then(|()| self.commit(sink, state, checkpoint, tally, &request, &meta))
                }
                Err(PageFailure::Fetch(e)) if self.refused_deeper(&e, &request, checkpoint) => {
                    self.refused(state, checkpoint, tally, &request)
                }
                Err(PageFailure::Fetch(e)) => Err(e.into()),
                Err(PageFailure::Sink(e)) => Err(Error::Output(spill_error(self.spill, e))),
            };
            if let Err(error) = outcome {
                // A page that could not be kept leaves the sink mid-page: take it back before the next.
                if let Err(e) = sink.rollback() {
                    tracing::warn!("could not roll back the page in hand (a resume does): {e}");
                }
                if failed.is_none() {
                    if !flight.is_empty() {
                        tracing::warn!("{error}; finishing the {} pages in flight first", flight.len());
                    }
                    failed = Some(error);
                }
            }
        }
    }

    /// The next request: the first part (in plan order) with work left and no page in flight, its size
    /// shrunk by the limits (counting the pages in flight as spent).
    fn next(&self, checkpoint: &Checkpoint, busy: &[(usize, u64)]) -> Next {
        let plan = &checkpoint.plan;
        let Some(part) =
            (0..plan.parts.len()).find(|&i| plan.parts[i].fetching() && !busy.iter().any(|(p, _)| *p == i))
        else {
            return if busy.is_empty() && plan.done() { Next::Done } else { Next::Wait };
        };
        let reserved: u64 = busy.iter().map(|(_, size)| size).sum();
        let spent = checkpoint.spent();
        let price = if spent.returned > 0 && spent.credits > 0.0 {
            spent.credits / spent.returned as f64
        } else {
            self.job.settings.limits.credits_per_person.get()
        };
        let spent = Spent {
            people: spent.people + reserved,
            returned: spent.returned + reserved,
            credits: spent.credits + reserved as f64 * price,
        };
        let wanted = plan.size_for(part, self.job.page_size.people()).min(self.job.room(&spent));
        let Some(size) = PageSize::largest().at_most(wanted) else {
            return if busy.is_empty() { Next::Limit } else { Next::Wait };
        };
        let body = plan.body(part, self.job.search.body());
        let search_after = plan.cursor(part).map(str::to_owned);
        Next::Send(Box::new(Request { part, size, body: SearchBody { size: Some(size), search_after, ..body } }))
    }

    /// At most the people `max_records` still allows are written from the next page.
    fn set_page_limit(&self, sink: &mut Sink, checkpoint: &Checkpoint) {
        let max_records = self.job.settings.limits.max_records;
        sink.set_page_limit(max_records.map(|max| max.get().saturating_sub(checkpoint.position.people)));
    }

    fn limit_reached(&self, state: &StateDir, checkpoint: &mut Checkpoint) -> Result<(), Error> {
        tracing::info!("limit reached after {} people", checkpoint.position.people);
        checkpoint.limit_reached = true;
        Ok(state.save(checkpoint)?)
    }

    /// Whether a failed page is the API refusing to page a part deeper than it allows (a 422 at
    /// `searchAfter`, short of the part's total), which ends that part's walk rather than the export.
    fn refused_deeper(&self, error: &FetchError, request: &Request, checkpoint: &Checkpoint) -> bool {
        let FetchError::Api(ApiError::Rejected { status, detail: Detail::Items(items) }) = error else { return false };
        let part = &checkpoint.plan.parts[request.part];
        let at_cursor = items.iter().any(|item| item.loc.len() == 2 && item.loc[1] == "searchAfter");
        status.as_u16() == 422
            && at_cursor
            && request.body.search_after.is_some()
            && part.total.is_some_and(|total| part.returned < total)
    }

    fn refused(
        &self,
        state: &StateDir,
        checkpoint: &mut Checkpoint,
        tally: &Tally,
        request: &Request,
    ) -> Result<(), Error> {
        let part = &checkpoint.plan.parts[request.part];
        tracing::warn!(
            part = %part.slice.describe(),
            returned = part.returned,
            total = part.total,
            "the API refused to page deeper (a 422 at searchAfter)"
        );
        let (requests, retries) = tally.take();
        checkpoint.counters.requests += requests;
        checkpoint.counters.retries += retries;
        let turn = checkpoint.plan.refused(request.part, self.job.search.body(), &self.rules);
        state.save(checkpoint)?;
        turn?;
        Ok(())
    }

    /// Makes a received page durable: the sink commits it, then the checkpoint records it. On failure the
    /// page's credits still count (it was paid for), and nothing else changes.
    fn commit(
        &self,
        sink: &mut Sink,
        state: &StateDir,
        checkpoint: &mut Checkpoint,
        tally: &Tally,
        request: &Request,
        meta: &PageMeta,
    ) -> Result<(), Error> {
        let mut next = checkpoint.clone();
        let (requests, retries) = tally.get();
        next.counters.requests += requests;
        next.counters.retries += retries;
        let credits = self.record_page(&mut next, meta, request);
        let counts = sink.page_counts();
        let turn = next.plan.record(
            request.part,
            meta,
            counts.written,
            self.job.affordable_people(),
            self.job.search.body(),
            &self.rules,
        );
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
        log_page(checkpoint, request.part, meta, counts, credits);
        self.observer.page(&Status::of(checkpoint, self.job));
        if let Turn::Split(parts) = turn? {
            tracing::info!(parts = parts.len(), "the search is split; {} parts so far", checkpoint.plan.parts.len());
        }
        Ok(checkpoint.plan.parts[request.part].cursor.check(checkpoint.counters.pages)?)
    }

    /// Folds a received page into the checkpoint's counters and statuses. Returns the page's credits.
    fn record_page(&self, checkpoint: &mut Checkpoint, meta: &PageMeta, request: &Request) -> f64 {
        let counters = &mut checkpoint.counters;
        counters.pages += 1;
        counters.returned += meta.people;
        let credits = meta.credits_used.unwrap_or_else(|| {
            tracing::warn!("the page has no creditsUsed; counting the assumed price per person");
            meta.people as f64 * self.job.settings.limits.credits_per_person.get()
        });
        counters.credits_used += credits;
        if meta.people > request.size.people() {
            tracing::warn!(
                asked = request.size.get(),
                got = meta.people,
                "the API returned more people than the page size"
            );
        }
        if let (Some(before), Some(now)) = (checkpoint.plan.parts[request.part].total, meta.total)
            && before != now
        {
            tracing::warn!(before, now, "the API's total changed between pages");
        }
        if let Some(statuses) = &meta.seed_statuses {
            checkpoint.seed_statuses.merge(statuses);
        }
        checkpoint.include_domains_statuses.extend(meta.include_domains_statuses.clone());
        checkpoint.redirect_map.extend(meta.redirect_map.clone());
        credits
    }
}

fn spill_error(dir: &Path, source: io::Error) -> SinkError {
    SinkError::Write { path: dir.to_owned(), source }
}

/// Logs a page that was committed.
fn log_page(checkpoint: &Checkpoint, part: usize, meta: &PageMeta, counts: PageCounts, credits: f64) {
    let people = checkpoint.position.people;
    let plan = &checkpoint.plan;
    let (of, part) = if plan.split() {
        (String::new(), format!(" ({})", plan.parts[part].slice.describe()))
    } else {
        (meta.total.map(|t| format!(" of {t}")).unwrap_or_default(), String::new())
    };
    tracing::info!(
        page = checkpoint.counters.pages,
        people,
        total = meta.total,
        credits,
        "page {}: {} people, {people}{of} so far{part}",
        checkpoint.counters.pages,
        meta.people,
    );
    if counts.duplicates > 0 && plan.split() {
        // Expected: the whole search's first page overlaps the parts, and parts of seniorities overlap.
        tracing::debug!(
            count = counts.duplicates,
            "the page had people another part had brought; each is written once"
        );
    } else if counts.duplicates > 0 {
        tracing::warn!(count = counts.duplicates, "the page repeated people already written; each is written once");
    }
}

//! The life of an export, from a checked job to its published files and their reports: whether to start,
//! resume or finish (the resume rules), the walk, sealing and publishing every output, the reports, and
//! clearing the state. Also the estimate. Everything a command line needs, minus drawing and printing.

mod estimate;
pub mod upload;
mod walk;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::api::Client;
use crate::api::body::{PageSize, SearchBody};
use crate::checkpoint::{
    Checkpoint, CheckpointError, Counters, Delivery, OutputRecord, Report, StateDir, round_credits,
};
use crate::error::Error;
use crate::fetch::{self, Pacer, RetryPolicy, Stop};
use crate::job::{Deliver, Job, Spent};
use crate::ledger::{Ledger, LedgerError, RunRecord};
use crate::plan::{Plan, Rules};
use crate::sink::{self, Sink, Target};
pub use estimate::{Estimate, estimate};

/// Where an export stands, for a progress display.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    pub people: u64,
    pub pages: u64,
    pub credits: f64,
    /// What the export is heading for: the API's total, capped by what the limits allow, once known.
    pub goal: Option<u64>,
}

impl Status {
    fn of(checkpoint: &Checkpoint, job: &Job) -> Status {
        let plan = &checkpoint.plan;
        let total = if plan.split() { Some(plan.leaf_total()) } else { plan.parts[0].total };
        let goal = match (total, job.affordable_people()) {
            (Some(total), Some(max)) => Some(total.min(max)),
            (total, None) => total,
            (None, max) => max,
        };
        Status {
            people: checkpoint.position.people,
            pages: checkpoint.counters.pages,
            credits: checkpoint.counters.credits_used,
            goal,
        }
    }
}

/// What a progress display hears from an export.
pub trait Observer: fetch::Observer {
    /// The walk starts, or resumes, here.
    fn started(&self, _status: &Status) {}
    /// A page was committed.
    fn page(&self, _status: &Status) {}
}

/// Observes nothing.
pub struct Unobserved;

impl fetch::Observer for Unobserved {}
impl Observer for Unobserved {}

/// One export to run.
pub struct Export<'a> {
    pub job: &'a Job,
    pub client: &'a Client,
    /// Where the pages come from: `sandbox`, or the API's base URL. Cursors of one mean nothing to another.
    pub endpoint: &'a str,
    /// Discard the job's checkpoint and partial output, and start over.
    pub fresh: bool,
    /// Replace an output that holds a completed export (it would be bought again), and objects already at
    /// the keys of `s3://` outputs (else they are left untouched, and refused).
    pub overwrite: bool,
    /// `deliver = "new"`: the search changed, and the ledger's people still count as delivered.
    pub keep_ledger: bool,
    /// Exit 9 when the search finds nobody (`[limits] min_records = 1`).
    pub fail_if_empty: bool,
    pub stop: &'a Stop,
    pub observer: &'a dyn Observer,
}

/// When the file was published.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Published {
    /// By this run.
    Now,
    /// By an earlier run that stopped before its report; this run finished the report and the cleanup.
    Earlier,
}

/// What a completed export did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The report beside the first output (every output has its own, listing them all).
    pub report: Report,
    pub report_path: PathBuf,
    /// The report beside each output, in the job's order.
    pub report_paths: Vec<PathBuf>,
    /// The people already written when this run resumed an export.
    pub resumed_at: Option<u64>,
    pub published: Published,
    /// An output path of the job, when it now resolves elsewhere than the file this export finished (a
    /// `{date}` past midnight): the next run starts that one.
    pub not_started: Option<PathBuf>,
    pub elapsed: Duration,
}

/// What to do with a job's saved state: the resume rules.
#[derive(Debug, PartialEq)]
pub enum Start {
    /// A new export. `discard` is a checkpoint to throw away first, with its partial file; `carried` is
    /// what it had spent without keeping a page, which stays in the record.
    New { discard: Option<Box<Checkpoint>>, carried: Counters },
    /// Go on from the checkpoint.
    Resume(Box<Checkpoint>),
    /// The file is published: only the report and the cleanup are left.
    Finish(Box<Checkpoint>),
    /// The walk is complete and the file finished locally, but not every `s3://` output is uploaded: upload
    /// them (fetching nothing), then finish.
    Upload(Box<Checkpoint>),
}

/// Applies the resume rules to the saved state of `job`:
/// - `--fresh` discards the checkpoint, even a damaged one;
/// - a damaged checkpoint is refused, never half trusted;
/// - a checkpoint that kept no page (the first request failed, say) is discarded, so a fixed job starts
///   over, but what it spent stays in the record;
/// - a checkpoint of another job, endpoint, search or output path is refused;
/// - a walk that ended with its file published only needs finishing, or uploading first when an
///   `s3://` output is not uploaded yet; anything else resumes.
pub fn decide(
    saved: Result<Option<Checkpoint>, CheckpointError>,
    job: &Job,
    endpoint: &str,
    fresh: bool,
    published: impl Fn(&Checkpoint) -> bool,
) -> Result<Start, Error> {
    let new = |discard: Option<Checkpoint>, carried| Start::New { discard: discard.map(Box::new), carried };
    let saved = match saved {
        Err(CheckpointError::Corrupt { .. }) if fresh => return Ok(new(None, Counters::default())),
        other => other?,
    };
    let Some(saved) = saved else { return Ok(new(None, Counters::default())) };
    if fresh {
        return Ok(new(Some(saved), Counters::default()));
    }
    if saved.counters.pages == 0 && saved.position.people == 0 {
        let ours = saved.job == job.name && saved.endpoint == endpoint;
        let carried = if ours { saved.counters.clone() } else { Counters::default() };
        return Ok(new(Some(saved), carried));
    }
    if let Some(what) = changed(job, endpoint, &saved) {
        return Err(Error::JobChanged { what, people: saved.position.people });
    }
    if saved.walk_done() && published(&saved) {
        if saved.outputs.iter().any(|o| o.object.is_some() && !o.uploaded) {
            Ok(Start::Upload(Box::new(saved)))
        } else {
            Ok(Start::Finish(Box::new(saved)))
        }
    } else {
        Ok(Start::Resume(Box::new(saved)))
    }
}

/// Why a checkpoint cannot be resumed by this job, if it cannot.
fn changed(job: &Job, endpoint: &str, checkpoint: &Checkpoint) -> Option<String> {
    Some(if checkpoint.job != job.name {
        format!("its state folder holds the export of job `{}`, not `{}`", checkpoint.job, job.name)
    } else if checkpoint.endpoint != endpoint {
        format!("it was exporting from {}, and this run asks {endpoint}", checkpoint.endpoint)
    } else if checkpoint.fingerprint != job.fingerprint() {
        "its search, seeds, or outputs (format, compression, columns) changed".to_owned()
    } else if let Some((was, now)) =
        checkpoint.outputs.iter().zip(&job.outputs).find(|(was, now)| was.template != now.template)
    {
        format!("its output path changed from `{}` to `{}`", was.template, now.template)
    } else {
        return None;
    })
}

/// Whether an earlier run already published every output: each sealed, its partial file gone, and the
/// file there the sealed one.
fn already_published(checkpoint: &Checkpoint) -> bool {
    checkpoint.outputs.iter().all(|o| o.sealed.as_ref().is_some_and(|sealed| sink::is_published(&o.path, sealed)))
}

/// The outputs of a checkpoint as the sink writes them: the paths it resolved, the job's options.
fn targets(checkpoint: &Checkpoint, job: &Job) -> Vec<Target> {
    checkpoint
        .outputs
        .iter()
        .zip(&job.outputs)
        .map(|(record, output)| Target { path: record.path.clone(), options: output.options.clone() })
        .collect()
}

/// The export's start in Unix seconds (it dates the workbooks, the same on every resume).
fn created(checkpoint: &Checkpoint) -> i64 {
    checkpoint.started_at.parse::<jiff::Timestamp>().map_or(0, |t| t.as_second())
}

/// The output path as an absolute path, so a resume from another folder finds the same file.
fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|e| Error::Usage(format!("cannot resolve {}: {e}", path.display())))
}

/// How the planner may split the job's search.
fn rules(job: &Job) -> Rules {
    Rules {
        window: job.window(),
        per_company: job.search.body().people_per_company.is_some(),
        max_parts: usize::try_from(job.settings.limits.max_partitions.get()).unwrap_or(usize::MAX),
        page: job.page_size.people(),
    }
}

/// The first request of an export of `job`, exactly as `run` sends it (later ones differ in their
/// cursor, the last perhaps in its size, and the parts of a split search in their added filters).
/// `None` when the limits leave no room for any request.
pub fn first_request(job: &Job) -> Option<SearchBody> {
    let plan = Plan::new(job.window());
    let wanted = plan.size_for(0, job.page_size.people()).min(job.room(&Spent::default()));
    Some(job.search.request(PageSize::largest().at_most(wanted)?, None))
}

/// How hard to try each page.
fn retry_policy(job: &Job) -> RetryPolicy {
    let api = &job.settings.api;
    RetryPolicy {
        max_retries: api.max_retries,
        page_timeout: Duration::from_secs(api.page_timeout_secs.get()),
        max_wait: Duration::from_secs(api.max_retry_wait_secs),
        min_delay: Duration::from_millis(500),
        max_delay: Duration::from_secs(60),
    }
}

/// Runs an export to its end: starts, resumes or finishes it by the resume rules, walks, publishes the
/// file, writes the report and clears the state. After a failure the checkpoint is kept, so running again
/// resumes.
pub async fn run(export: &Export<'_>) -> Result<Outcome, Error> {
    lifecycle(export).await.map_err(|e| e.located(export.job))
}

async fn lifecycle(export: &Export<'_>) -> Result<Outcome, Error> {
    let state = StateDir::lock(&export.job.state_dir)?;
    let start = decide(state.load(), export.job, export.endpoint, export.fresh, already_published)?;
    // A resume sends the search it started with, date placeholders as they were resolved then.
    let as_started;
    let job = match &start {
        Start::Resume(checkpoint) | Start::Finish(checkpoint) | Start::Upload(checkpoint) => {
            as_started = export.job.as_started(&checkpoint.search_dates);
            &as_started
        }
        Start::New { .. } => export.job,
    };
    let ledger = match job.settings.output.deliver {
        Deliver::New => Some(Ledger::open(state.dir(), &job.name, &job.file)?),
        Deliver::All => None,
    };
    if let Start::New { .. } = &start {
        refuse_to_buy_again(export, job)?;
        if let Some(ledger) = &ledger
            && !ledger.header.runs.is_empty()
            && ledger.header.search != job.search_fingerprint()
        {
            if !export.keep_ledger {
                return Err(Error::LedgerSearchChanged {
                    job: job.name.clone(),
                    file: job.file.display().to_string(),
                    runs: ledger.header.runs.len(),
                    people: ledger.len(),
                });
            }
            tracing::warn!(
                "--keep-ledger: the search changed; the {} people the ledger holds still count as delivered",
                ledger.len()
            );
        }
    }
    let started = Instant::now();
    let (mut checkpoint, sink) = match start {
        Start::New { discard, carried } => {
            preflight(export).await?;
            if let Some(old) = &discard {
                for output in &old.outputs {
                    sink::discard_partial(&output.partial())?;
                }
            }
            state.clear()?;
            if export.fresh {
                tracing::info!("--fresh: discarded the job's checkpoint");
            }
            let (sink, checkpoint) = create(job, export.endpoint, &state, carried)?;
            (checkpoint, Some(sink))
        }
        Start::Resume(mut checkpoint) => {
            checkpoint.resumes += 1;
            let people = checkpoint.position.people;
            tracing::info!(people, pages = checkpoint.counters.pages, "resuming at {people} people");
            let sealed: Vec<bool> = checkpoint.outputs.iter().map(|o| o.sealed.is_some()).collect();
            let sink = Sink::resume(
                &targets(&checkpoint, job),
                state.dir(),
                &checkpoint.position,
                &sealed,
                created(&checkpoint),
            )?;
            (*checkpoint, Some(sink))
        }
        Start::Finish(checkpoint) => (*checkpoint, None),
        Start::Upload(checkpoint) => {
            tracing::info!(
                people = checkpoint.position.people,
                "the export is complete; uploading it (no page is fetched)"
            );
            (*checkpoint, None)
        }
    };
    let requests_before = checkpoint.counters.requests;
    let result = proceed(export, job, &state, &mut checkpoint, sink, ledger, started).await;
    // Monitoring reads the report: a run that sent a request and failed says so there too.
    if let Err(error) = &result
        && checkpoint.counters.requests > requests_before
        && !matches!(error, Error::TooFew { .. })
    {
        let error = (error.exit_code(), error.to_string());
        for index in 0..checkpoint.outputs.len() {
            let mut report = Report::new(&checkpoint, index, export.client.base_url().as_str());
            describe_run(&mut report, job, &checkpoint, None);
            let report = report.failed(error.0, error.1.clone());
            if let Err(e) = report.write() {
                tracing::warn!("cannot write the failure report: {e}");
            }
        }
    }
    result
}

/// Refuses to start an export over a file that holds a completed one (which would buy it again), unless
/// `--overwrite`; a sandbox run may replace the output of an earlier sandbox run, which cost nothing.
fn refuse_to_buy_again(export: &Export<'_>, job: &Job) -> Result<(), Error> {
    if export.overwrite {
        return Ok(());
    }
    for output in &job.outputs {
        let path = absolute(&output.path)?;
        let Some(report) = Report::read(&path) else { continue };
        if !path.exists() || !report.published() {
            continue;
        }
        if report.sandbox && export.endpoint == crate::checkpoint::SANDBOX_ENDPOINT {
            tracing::info!("replacing {}, the output of an earlier sandbox run", path.display());
            continue;
        }
        return Err(Error::AlreadyExported {
            path: output.path.clone(),
            made: report.finished_at.clone(),
            people: report.people,
            credits: report.credits_used,
        });
    }
    Ok(())
}

/// Adds what the report says about the run as a whole: the request, and the delivery against the ledger.
fn describe_run(report: &mut Report, job: &Job, checkpoint: &Checkpoint, ledger: Option<(&Path, u64)>) {
    report.request = first_request(job)
        .or_else(|| Some(job.search.request(job.page_size, None)))
        .and_then(|body| serde_json::to_value(body).ok())
        .unwrap_or_default();
    report.deliver = job.settings.output.deliver.name().to_owned();
    if job.settings.output.deliver == Deliver::New {
        let already = checkpoint.position.already_delivered;
        let price = if checkpoint.counters.returned > 0 {
            checkpoint.counters.credits_used / checkpoint.counters.returned as f64
        } else {
            0.0
        };
        report.delivery = Some(Delivery {
            new: checkpoint.position.people,
            already_delivered: already,
            already_delivered_credits: round_credits(price * already as f64),
            ledger: ledger.map(|(p, _)| p.to_owned()).unwrap_or_else(|| job.state_dir.join(crate::ledger::FILE)),
            ledger_people: ledger.map_or(0, |(_, n)| n),
        });
    }
}

/// The export after its start: the walk (unless only publishing was left), the seal, the publish, the
/// ledger, the reports and the cleanup.
async fn proceed(
    export: &Export<'_>,
    job: &Job,
    state: &StateDir,
    checkpoint: &mut Checkpoint,
    sink: Option<Sink>,
    ledger: Option<Ledger>,
    started: Instant,
) -> Result<Outcome, Error> {
    let resumed_at = (checkpoint.resumes > 0).then_some(checkpoint.position.people);
    let mut not_started = None;
    for (record, output) in checkpoint.outputs.iter().zip(&export.job.outputs) {
        if absolute(&output.path)? != record.path {
            tracing::warn!(
                "finishing {}, the file this export started; the job's path now resolves to {}, which the next run starts",
                record.path.display(),
                output.path.display()
            );
            not_started.get_or_insert_with(|| output.path.clone());
        }
    }
    let mut ledger = ledger;
    let published = match sink {
        None => Published::Earlier,
        Some(mut sink) => {
            if let Some(ledger) = ledger.take() {
                if !ledger.is_empty() {
                    tracing::info!(people = ledger.len(), "leaving out the people earlier runs delivered");
                }
                sink.set_ledger(ledger);
            }
            export.observer.started(&Status::of(checkpoint, job));
            let pacer = Pacer::new(job.settings.api.requests_per_minute);
            let walk = walk::Walk {
                job,
                client: export.client,
                pacer: &pacer,
                retry: retry_policy(job),
                stop: export.stop,
                observer: export.observer,
                rules: rules(job),
                concurrency: usize::try_from(job.settings.api.concurrency.get()).unwrap_or(1),
                spill: state.dir(),
            };
            if let Err(error) = walk.run(&mut sink, state, checkpoint).await {
                tracing::warn!(
                    "stopped at {} people after {} pages; the checkpoint is kept, so rerunning the same command resumes",
                    checkpoint.position.people,
                    checkpoint.counters.pages
                );
                return Err(error);
            }
            seal(&mut sink, state, checkpoint)?;
            ledger = sink.take_ledger();
            Published::Now
        }
    };
    for output in &checkpoint.outputs {
        let sealed = output.sealed.as_ref().expect("every output is sealed by now");
        sink::publish(&output.path, sealed)?;
    }
    upload_all(export, state, checkpoint).await?;
    // The published files and the ledger: keyed by the run, so a rerun after a failure here (a full disk)
    // finishes the update without fetching, and never adds the run twice.
    let mut ledger_state = None;
    if job.settings.output.deliver == Deliver::New {
        let ledger = match ledger {
            Some(ledger) => ledger,
            None => Ledger::open(state.dir(), &job.name, &job.file)?,
        };
        let run = RunRecord {
            run: checkpoint.started_at.clone(),
            finished_at: jiff::Timestamp::now().to_string(),
            delivered: checkpoint.position.people,
            already_delivered: checkpoint.position.already_delivered,
            credits_used: round_credits(checkpoint.counters.credits_used),
            outputs: checkpoint.outputs.iter().map(|o| o.path.clone()).collect(),
        };
        let ids = sink::sorted_ids(state.dir(), &checkpoint.position.seen)
            .map_err(|source| LedgerError::Io { path: state.dir().to_owned(), source })?;
        ledger.record(run, &job.search_fingerprint(), ids).inspect_err(|_| {
            tracing::warn!(
                "the files are published but the ledger is not updated: rerunning the same command finishes the update without fetching"
            )
        })?;
        let updated = Ledger::open(state.dir(), &job.name, &job.file)?;
        ledger_state = Some((updated.path().to_owned(), updated.len()));
    }
    let mut report_paths = Vec::with_capacity(checkpoint.outputs.len());
    let mut first = None;
    let found = checkpoint.position.people + checkpoint.position.already_delivered;
    let min_records = job.settings.limits.min_records.map(|m| m.get());
    let (min, why) = match (min_records, export.fail_if_empty) {
        (Some(min), _) => (min, "[limits] min_records"),
        (None, true) => (1, "--fail-if-empty"),
        (None, false) => (0, ""),
    };
    let too_few = (found < min).then_some(Error::TooFew { found, min, why });
    for index in 0..checkpoint.outputs.len() {
        let mut report = Report::new(checkpoint, index, export.client.base_url().as_str());
        describe_run(&mut report, job, checkpoint, ledger_state.as_ref().map(|(p, n)| (p.as_path(), *n)));
        if let Some(error) = &too_few {
            report = report.failed(error.exit_code(), error.to_string());
        }
        let record = &checkpoint.outputs[index];
        let local = report.write_beside(&record.path)?;
        match &record.object {
            None => report_paths.push(local),
            Some(object) => {
                let target = object.beside(".report.json");
                let bytes =
                    std::fs::read(&local).map_err(|source| sink::SinkError::Write { path: local.clone(), source })?;
                let store = crate::storage::client(&object.bucket)?;
                upload::put_small(&store, &target, bytes).await.inspect_err(|_| kept_for_upload(state))?;
                report_paths.push(PathBuf::from(target.url()));
            }
        }
        first.get_or_insert(report);
    }
    let report = first.expect("a job has an output");
    state.clear()?;
    if checkpoint.outputs.iter().any(|o| o.object.is_some()) {
        let staged = state.dir().join(STAGED);
        if let Err(e) = std::fs::remove_dir_all(&staged)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("uploaded; could not remove the local copies in {}: {e}", staged.display());
        }
    }
    if found == 0 {
        tracing::warn!("the search matched nobody: the file is empty");
    }
    if let Some(delivery) = &report.delivery {
        tracing::info!(
            new = delivery.new,
            already_delivered = delivery.already_delivered,
            "{} new people; {} found were delivered by earlier runs (they cost {} credits)",
            delivery.new,
            delivery.already_delivered,
            delivery.already_delivered_credits
        );
    }
    if let Some(error) = too_few {
        return Err(error);
    }
    if !report.complete {
        tracing::warn!(
            total = report.total,
            people = report.people,
            "the API reported {} more matches than its pages delivered",
            report.shortfall.unwrap_or(0)
        );
    }
    Ok(Outcome {
        report,
        report_path: report_paths[0].clone(),
        report_paths,
        resumed_at,
        published,
        not_started,
        elapsed: started.elapsed(),
    })
}

/// The folder of the job's state folder where `s3://` outputs are finished before they are uploaded.
const STAGED: &str = "objects";

fn kept_for_upload(state: &StateDir) {
    tracing::warn!(
        "the export is complete and kept in {}: rerunning the same command uploads it again without fetching a page",
        state.dir().display()
    );
}

/// Checks each `s3://` output's bucket and key before a new export spends anything.
async fn preflight(export: &Export<'_>) -> Result<(), Error> {
    for output in &export.job.outputs {
        if let Some(object) = &output.object {
            let store = crate::storage::client(&object.bucket)?;
            upload::preflight(&store, object, export.overwrite).await?;
        }
    }
    Ok(())
}

/// Uploads every `s3://` output not uploaded yet, recording each in the checkpoint once it is visible.
async fn upload_all(export: &Export<'_>, state: &StateDir, checkpoint: &mut Checkpoint) -> Result<(), Error> {
    for index in 0..checkpoint.outputs.len() {
        let record = &checkpoint.outputs[index];
        let (Some(object), false) = (&record.object, record.uploaded) else { continue };
        let sealed = record.sealed.as_ref().expect("every output is sealed by now");
        let store = crate::storage::client(&object.bucket)?;
        upload::publish(&store, &record.path, sealed, object, export.overwrite)
            .await
            .inspect_err(|_| kept_for_upload(state))?;
        checkpoint.outputs[index].uploaded = true;
        state.save(checkpoint)?;
    }
    Ok(())
}

/// Finishes every output once the walk is done (a rendered one is rendered to its end), recording each
/// one's length and SHA-256 in the checkpoint before anything is published. All are sealed before the
/// first is published, so a rendering that fails (a full disk) publishes nothing and leaves the spool
/// for the rerun.
fn seal(sink: &mut Sink, state: &StateDir, checkpoint: &mut Checkpoint) -> Result<(), Error> {
    for index in 0..checkpoint.outputs.len() {
        if checkpoint.outputs[index].sealed.is_some() {
            continue;
        }
        let output = &checkpoint.outputs[index];
        if !output.format.appended() {
            tracing::info!(people = checkpoint.position.people, "finishing {}", output.path.display());
        }
        let sealed = sink.seal(index).inspect_err(|_| {
            tracing::warn!(
                "the walk is complete and kept: rerunning the same command finishes the files without fetching"
            )
        })?;
        checkpoint.outputs[index].sealed = Some(sealed);
        state.save(checkpoint)?;
    }
    Ok(())
}

/// Starts a new export: empty partial files beside the outputs, and its first checkpoint.
fn create(job: &Job, endpoint: &str, state: &StateDir, carried: Counters) -> Result<(Sink, Checkpoint), Error> {
    let mut records = Vec::with_capacity(job.outputs.len());
    for output in &job.outputs {
        let path = absolute(&output.path)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|source| sink::SinkError::Write { path: parent.to_owned(), source })?;
        }
        records.push(OutputRecord::new(output, path));
    }
    let mut checkpoint = Checkpoint::new(job, endpoint, records, Default::default(), carried);
    let sink = Sink::create(&targets(&checkpoint, job), state.dir(), created(&checkpoint))?;
    checkpoint.position = sink.position().clone();
    state.save(&checkpoint)?;
    Ok((sink, checkpoint))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::Position;

    fn job(search: &str) -> Job {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.toml");
        std::fs::write(&path, format!("[search]\n{search}\n")).unwrap();
        let context = crate::job::Context {
            overrides: Default::default(),
            environment: Vec::new(),
            user_settings: None,
            now: "2026-11-30T12:00:00+00:00[UTC]".parse().unwrap(),
        };
        crate::job::load(&path, &context).unwrap()
    }

    fn records(job: &Job) -> Vec<OutputRecord> {
        vec![OutputRecord::new(&job.outputs[0], "/out/j.csv".into())]
    }

    /// A checkpoint of `job` that has written `pages` pages of 10 people.
    fn saved(job: &Job, pages: u64) -> Checkpoint {
        let mut checkpoint = Checkpoint::new(job, "sandbox", records(job), Position::default(), Counters::default());
        checkpoint.counters = Counters {
            pages,
            requests: pages + 1,
            retries: 1,
            credits_used: 2.0 * pages as f64 + 0.4,
            returned: 10 * pages,
        };
        checkpoint.position.people = 10 * pages;
        checkpoint
    }

    fn kind(start: &Start) -> &'static str {
        match start {
            Start::New { discard: None, .. } => "new",
            Start::New { discard: Some(_), .. } => "discard",
            Start::Resume(_) => "resume",
            Start::Finish(_) => "finish",
            Start::Upload(_) => "upload",
        }
    }

    const NEVER: fn(&Checkpoint) -> bool = |_| false;
    const ALWAYS: fn(&Checkpoint) -> bool = |_| true;

    #[test]
    fn nothing_saved_starts_new() {
        let job = job("size = 10");
        assert_eq!(kind(&decide(Ok(None), &job, "sandbox", false, NEVER).unwrap()), "new");
    }

    #[test]
    fn a_checkpoint_resumes_and_a_published_walk_only_finishes() {
        let job = job("size = 10");
        let mut checkpoint = saved(&job, 3);
        assert_eq!(kind(&decide(Ok(Some(checkpoint.clone())), &job, "sandbox", false, ALWAYS).unwrap()), "resume");
        checkpoint.plan.parts[0].stage = crate::plan::Stage::Done;
        assert_eq!(kind(&decide(Ok(Some(checkpoint.clone())), &job, "sandbox", false, NEVER).unwrap()), "resume");
        assert_eq!(kind(&decide(Ok(Some(checkpoint)), &job, "sandbox", false, ALWAYS).unwrap()), "finish");
    }

    #[test]
    fn a_finished_walk_not_uploaded_only_uploads() {
        let job = job("size = 10");
        let mut checkpoint = saved(&job, 3);
        checkpoint.plan.parts[0].stage = crate::plan::Stage::Done;
        checkpoint.outputs[0].object = Some(crate::storage::parse("s3://bucket/j.csv").unwrap());
        assert_eq!(kind(&decide(Ok(Some(checkpoint.clone())), &job, "sandbox", false, ALWAYS).unwrap()), "upload");
        // Not finished locally yet (a rendered file, a full disk): the walk's end is resumed first.
        assert_eq!(kind(&decide(Ok(Some(checkpoint.clone())), &job, "sandbox", false, NEVER).unwrap()), "resume");
        checkpoint.outputs[0].uploaded = true;
        assert_eq!(kind(&decide(Ok(Some(checkpoint)), &job, "sandbox", false, ALWAYS).unwrap()), "finish");
    }

    #[test]
    fn fresh_discards_even_a_damaged_checkpoint() {
        let job = job("size = 10");
        let damaged = CheckpointError::Corrupt { path: "c".into(), reason: "x".into() };
        assert_eq!(kind(&decide(Err(damaged), &job, "sandbox", true, NEVER).unwrap()), "new");
        let damaged = CheckpointError::Corrupt { path: "c".into(), reason: "x".into() };
        assert!(matches!(decide(Err(damaged), &job, "sandbox", false, NEVER), Err(Error::State(_))));
        let start = decide(Ok(Some(saved(&job, 3))), &job, "sandbox", true, NEVER).unwrap();
        assert_eq!(kind(&start), "discard");
        assert!(matches!(start, Start::New { carried, .. } if carried == Counters::default()));
    }

    #[test]
    fn a_changed_job_endpoint_or_path_is_refused() {
        let job = job("size = 10\npeopleFilters = { countries = [\"dk\"] }");
        let checkpoint = saved(&job, 3);
        let other = self::job("size = 10\npeopleFilters = { countries = [\"se\"] }");
        let refused =
            |job: &Job, endpoint: &str| match decide(Ok(Some(checkpoint.clone())), job, endpoint, false, NEVER) {
                Err(Error::JobChanged { what, people }) => (what, people),
                other => panic!("expected a refusal, got {other:?}"),
            };
        assert_eq!(
            refused(&other, "sandbox"),
            ("its search, seeds, or outputs (format, compression, columns) changed".to_owned(), 30)
        );
        assert!(refused(&job, "https://api.ocean.io").0.contains("exporting from sandbox"));
        let mut moved = job.clone();
        moved.outputs[0].template = "elsewhere.csv".to_owned();
        assert!(refused(&moved, "sandbox").0.contains("output path changed"));
        // Only the page size changed: the same people come out.
        let bigger = self::job("size = 500\npeopleFilters = { countries = [\"dk\"] }");
        assert_eq!(kind(&decide(Ok(Some(checkpoint)), &bigger, "sandbox", false, NEVER).unwrap()), "resume");
    }

    #[test]
    fn a_checkpoint_that_kept_no_page_starts_over_keeping_what_it_spent() {
        let job = job("size = 10");
        let empty = saved(&job, 0);
        let other = self::job("size = 10\npeopleFilters = { countries = [\"se\"] }");
        // Even for a changed job: nothing was kept, so nothing is lost by starting over.
        match decide(Ok(Some(empty.clone())), &other, "sandbox", false, NEVER).unwrap() {
            Start::New { discard: Some(_), carried } => {
                assert_eq!((carried.requests, carried.retries, carried.credits_used), (1, 1, 0.4));
            }
            other => panic!("expected a discard, got {other:?}"),
        }
        // What another endpoint spent is not this export's.
        match decide(Ok(Some(empty)), &job, "https://api.ocean.io", false, NEVER).unwrap() {
            Start::New { carried, .. } => assert_eq!(carried, Counters::default()),
            other => panic!("expected a discard, got {other:?}"),
        }
    }
}

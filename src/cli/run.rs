//! `run`, `estimate` and `config`: an export from job file to published file, and what the operator
//! reads about it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::Instrument;

use super::progress::{Mode, Progress};
use super::{ApiArgs, Error, EstimateArgs, LogArgs, LogFormat, RunArgs, secs, token, watch_signals};
use crate::api::body::PageSize;
use crate::api::{ApiError, Client, Detail, Endpoint, PersonSink, Token};
use crate::checkpoint::{Checkpoint, CheckpointError, Report, StateDir, partial_path, round_credits};
use crate::fetch::{FetchError, Limits, Pacer, RetryPolicy, Stop, Tally, Walk, attempt_page, retrying, within};
use crate::job::Job;
use crate::sandbox::{Sandbox, SandboxOptions};
use crate::sink::Sink;

/// A client for the job's API, or for an in-process sandbox with `--sandbox` (kept alive by the returned handle).
async fn connect(job: &Job, api: &ApiArgs) -> Result<(Client, Option<Sandbox>), Error> {
    let token = token(&api.token)?;
    let endpoint = |base_url: String| Endpoint {
        base_url,
        timeout: secs(job.settings.api.timeout_secs.get()),
        max_body_bytes: job.settings.api.max_body_mib.get().saturating_mul(1024 * 1024),
    };
    if api.sandbox {
        let mut options = SandboxOptions::default();
        options.tokens.extend(token.iter().map(|t| t.expose().to_owned()));
        let sandbox = crate::sandbox::start(options).await?;
        let token = token.or_else(|| Token::new(sandbox.token())).expect("the sandbox has a token");
        tracing::info!(url = sandbox.base_url(), "running against an in-process sandbox: free, synthetic people");
        let client = Client::new(&endpoint(sandbox.base_url().to_owned()), token)?;
        return Ok((client, Some(sandbox)));
    }
    let token = token.ok_or_else(|| {
        Error::Usage(
            "no API token: set OCEAN_API_TOKEN or pass --token-file (or try the job for free with --sandbox)"
                .to_owned(),
        )
    })?;
    Ok((Client::new(&endpoint(job.settings.api.base_url.clone()), token)?, None))
}

/// Why a checkpoint cannot be resumed by this job, if it cannot.
fn refuse_resume(job: &Job, endpoint: &str, checkpoint: &Checkpoint, state: &StateDir) -> Option<Error> {
    let people = checkpoint.position.people;
    let what = if checkpoint.job != job.name {
        format!("{} holds the export of job `{}`, not `{}`", state.dir().display(), checkpoint.job, job.name)
    } else if checkpoint.endpoint != endpoint {
        format!("it was exporting from {}, and this run asks {endpoint}", checkpoint.endpoint)
    } else if checkpoint.fingerprint != job.fingerprint() {
        "its search, seeds, output format or columns changed".to_owned()
    } else if checkpoint.output_template != job.output_template {
        format!("its output path changed from `{}` to `{}`", checkpoint.output_template, job.output_template)
    } else {
        return None;
    };
    Some(Error::JobChanged { what, people })
}

/// The output path as an absolute path, so a resume from another folder finds the same file.
fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|e| Error::Usage(format!("cannot resolve {}: {e}", path.display())))
}

/// Starts a new export.
fn create(job: &Job, endpoint: &str, state: &StateDir) -> Result<(Sink, Checkpoint), Error> {
    let output = absolute(&job.output)?;
    if let Some(parent) = output.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|source| FetchError::Checkpoint(CheckpointError::Io { path: parent.to_owned(), source }))?;
    }
    let sink = Sink::create(&partial_path(&output), state.dir(), &job.sink_options()).map_err(FetchError::Sink)?;
    let checkpoint = Checkpoint::new(job, endpoint, &output, sink.position().clone());
    state.save(&checkpoint).map_err(FetchError::Checkpoint)?;
    Ok((sink, checkpoint))
}

/// Whether an earlier run already published the file and only its report and cleanup are left: the walk
/// ended, the partial file is gone, and the output holds exactly the committed bytes.
fn already_published(checkpoint: &Checkpoint) -> bool {
    checkpoint.walk_done
        && !checkpoint.partial().exists()
        && crate::sink::file_checksum(&checkpoint.output)
            .is_ok_and(|(len, sum)| len == checkpoint.position.bytes && sum == checkpoint.position.checksum)
}

/// `ocean-export run`.
pub async fn run(args: RunArgs, log: &LogArgs, mode: Mode) -> Result<(), Error> {
    let job = args.job.load()?;
    let (client, _sandbox) = connect(&job, &args.api).await?;
    let stop = Stop::default();
    watch_signals(&stop)?;
    let state = StateDir::lock(&job.state_dir).map_err(Error::State)?;
    let endpoint = if args.api.sandbox { "sandbox".to_owned() } else { client.base_url().to_string() };
    let saved = match state.load() {
        // --fresh throws the checkpoint away, damaged or not.
        Err(CheckpointError::Corrupt { .. }) if args.fresh => None,
        other => other.map_err(Error::State)?,
    };
    // Nothing fetched yet (the first request failed, say): nothing to keep, so a changed job starts over.
    let discard = args.fresh || saved.as_ref().is_some_and(|c| c.counters.pages == 0 && c.position.people == 0);
    let saved = if discard {
        if let Some(old) = &saved {
            crate::sink::discard_partial(&old.partial()).map_err(FetchError::Sink)?;
        }
        state.clear().map_err(Error::State)?;
        if args.fresh {
            tracing::info!("--fresh: discarded the job's checkpoint");
        }
        None
    } else {
        saved
    };
    if let Some(error) = saved.as_ref().and_then(|c| refuse_resume(&job, &endpoint, c, &state)) {
        return Err(error);
    }
    let started = Instant::now();
    let (mut checkpoint, sink) = match saved {
        None => {
            let (sink, checkpoint) = create(&job, &endpoint, &state)?;
            (checkpoint, Some(sink))
        }
        Some(checkpoint) if already_published(&checkpoint) => (checkpoint, None),
        Some(mut checkpoint) => {
            checkpoint.resumes += 1;
            tracing::info!(
                people = checkpoint.position.people,
                pages = checkpoint.counters.pages,
                "resuming at {} people",
                checkpoint.position.people
            );
            let sink = Sink::resume(&checkpoint.partial(), state.dir(), &job.sink_options(), &checkpoint.position)
                .map_err(FetchError::Sink)?;
            (checkpoint, Some(sink))
        }
    };
    let moved = absolute(&job.output)? != checkpoint.output;
    if moved {
        tracing::warn!(
            "finishing {}, the file this export started; the job's path now resolves to {}, which the next run starts",
            checkpoint.output.display(),
            job.output.display()
        );
    }
    let resumed_at = (checkpoint.resumes > 0).then_some(checkpoint.position.people);

    let sha256 = match sink {
        None => crate::sink::file_sha256(&checkpoint.output).map_err(FetchError::Sink)?,
        Some(mut sink) => {
            let settings = &job.settings;
            let pacer = Pacer::new(settings.api.requests_per_minute);
            let limits = limits(&job);
            let progress = Progress::start(mode, &checkpoint, limits.affordable_people());
            let walk = Walk {
                client: &client,
                pacer: &pacer,
                retry: retry_policy(&job),
                limits,
                page_size: job.page_size(),
                search: &job.search,
                stop: &stop,
                observer: &progress,
            };
            let span = progress.span();
            if let Err(error) = walk.run(&mut sink, &state, &mut checkpoint).instrument(span).await {
                tracing::warn!(
                    "stopped at {}; the checkpoint is kept, so rerunning the same command resumes",
                    progress.line()
                );
                return Err(locate_rejection(error.into(), &job));
            }
            drop(progress);
            sink.publish(&checkpoint.output).map_err(FetchError::Sink)?
        }
    };
    let report = Report::new(&checkpoint, job.format, sha256);
    let report_path = report.write().map_err(FetchError::Checkpoint)?;
    state.clear().map_err(FetchError::Checkpoint)?;
    if log.log_format == LogFormat::Json {
        tracing::info!(
            people = report.people,
            pages = report.pages,
            requests = report.requests,
            retries = report.retries,
            credits_used = report.credits_used,
            resumed_at,
            output = %report.output.display(),
            report = %report_path.display(),
            "export complete"
        );
    } else if !log.quiet {
        eprint!("{}", summary(&report, &report_path, resumed_at, started.elapsed()));
        if moved {
            eprintln!("  note: {} was not started yet; run the job again to export it", job.output.display());
        }
    }
    warn_about_shortfall(&report);
    Ok(())
}

fn limits(job: &Job) -> Limits {
    let limits = &job.settings.limits;
    Limits {
        max_records: limits.max_records.map(|n| n.get()),
        max_credits: limits.max_credits.map(|c| c.get()),
        credits_per_person: limits.credits_per_person.get(),
    }
}

fn retry_policy(job: &Job) -> RetryPolicy {
    let api = &job.settings.api;
    RetryPolicy {
        max_retries: api.max_retries,
        page_timeout: secs(api.page_timeout_secs.get()),
        max_wait: secs(api.max_retry_wait_secs),
        min_delay: Duration::from_millis(500),
        max_delay: Duration::from_secs(60),
    }
}

/// Points each location of a 422 at the job-file key it came from (a seed, or a list item that moved
/// when the list was de-duplicated).
fn locate_rejection(mut error: Error, job: &Job) -> Error {
    if let Error::Fetch(FetchError::Api(ApiError::Rejected { detail: Detail::Items(items), .. })) = &mut error {
        for item in items {
            let key = item.job_key();
            if let Some(origin) = key.strip_prefix("search.").and_then(|path| job.provenance.get(path)) {
                item.job_key_override = Some(origin.to_owned());
            }
        }
    }
    error
}

fn warn_about_shortfall(report: &Report) {
    if let Some(shortfall) = report.shortfall.filter(|s| *s > 0 && !report.limit_reached) {
        tracing::warn!(
            total = report.total,
            people = report.people,
            "the API reported {shortfall} more matches than its pages delivered"
        );
    }
}

/// A path as a person reads it: relative to the current folder when inside it (the checkpoint keeps
/// absolute paths).
fn shown(path: &Path) -> &Path {
    std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(cwd).ok()).unwrap_or(path)
}

/// The end-of-run summary printed on stderr.
pub fn summary(report: &Report, report_path: &Path, resumed_at: Option<u64>, elapsed: Duration) -> String {
    let mut out = String::new();
    let resumed = resumed_at.map(|n| format!(" (resumed at {n} people)")).unwrap_or_default();
    let _ = writeln!(out, "Exported {} people to {}{resumed}", report.people, shown(&report.output).display());
    let _ = writeln!(
        out,
        "  pages {}, requests {}, retries {}, credits used {}, elapsed {}",
        report.pages,
        report.requests,
        report.retries,
        round_credits(report.credits_used),
        crate::fetch::human_duration(elapsed)
    );
    if report.duplicates > 0 || report.without_id > 0 {
        let _ = writeln!(
            out,
            "  skipped: {} duplicate(s) already written, {} without an id",
            report.duplicates, report.without_id
        );
    }
    match (report.total, report.shortfall) {
        (Some(total), Some(shortfall)) if shortfall != 0 => {
            let why = if report.limit_reached { " (a limit stopped the export)" } else { "" };
            let _ = writeln!(out, "  the API reported {total} matches: shortfall {shortfall}{why}");
        }
        (Some(total), _) => {
            let _ = writeln!(out, "  the API reported {total} matches: all exported");
        }
        _ => {}
    }
    let statuses = &report.seed_statuses;
    if !statuses.is_empty() {
        let _ = writeln!(out, "  seeds found: {}", statuses.successful_people.len());
        for (label, seeds) in [
            ("seeds not found", &statuses.not_found_people),
            ("seeds at an uncrawled company", &statuses.triggered_domain_people),
            ("seeds missing company information", &statuses.missing_company_information_people),
        ] {
            if !seeds.is_empty() {
                let _ = writeln!(out, "  {label}: {}", seeds.iter().cloned().collect::<Vec<_>>().join(", "));
            }
        }
    }
    for (domain, status) in &report.include_domains_statuses {
        let _ = writeln!(out, "  includeDomains {domain}: {status}");
    }
    for (from, to) in &report.redirect_map {
        let _ = writeln!(out, "  redirect {from} -> {to}");
    }
    let _ = writeln!(out, "  report: {}", shown(report_path).display());
    out
}

/// Discards the people of a page (for the estimate's `size: 1` request).
struct Discard;

/// Shows nothing (the estimate's single request logs its retries anyway).
struct Quiet;

impl crate::fetch::Observer for Quiet {}

impl PersonSink for Discard {
    type Error = std::convert::Infallible;
    fn person(&mut self, _person: &crate::api::Person<'_>) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// `ocean-export estimate`.
pub async fn estimate(args: EstimateArgs) -> Result<(), Error> {
    let job = args.job.load()?;
    let (client, _sandbox) = connect(&job, &args.api).await?;
    let mut probe = job.search.clone();
    probe.size = Some(PageSize::new(1).expect("in range"));
    // Paced and retried like the pages of a run.
    let pacer = Pacer::new(job.settings.api.requests_per_minute);
    let policy = retry_policy(&job);
    let (tally, quiet) = (Tally::default(), Quiet);
    let meta = retrying(&policy, &pacer, &tally, &quiet, || async {
        within(policy.page_timeout, attempt_page(&client, &probe, &mut Discard)).await
    })
    .await
    .map_err(|e| locate_rejection(e.into(), &job))?;
    let balance =
        retrying(&policy, &pacer, &tally, &quiet, || async { client.balance().await.map_err(FetchError::Api) }).await?;

    let settings = &job.settings;
    let probe_cost = meta.credits_used.unwrap_or(0.0);
    let price = if meta.people > 0 && probe_cost > 0.0 {
        probe_cost / meta.people as f64
    } else {
        settings.limits.credits_per_person.get()
    };
    let total = meta.total.unwrap_or(0);
    let people = settings.limits.max_records.map_or(total, |m| m.get().min(total));
    let mut people_affordable = people;
    if let Some(max) = settings.limits.max_credits {
        people_affordable = people_affordable.min((max.get() / price).floor() as u64);
    }
    let page_size = job.page_size();
    let pages = people_affordable.div_ceil(page_size);
    let credits_needed = people_affordable as f64 * price;
    let credits_left = balance.credits.total();
    let rpm = settings.api.requests_per_minute.get() as f64;
    let minutes = pages as f64 / rpm;
    let requests_left = balance.daily_limit_rate_left;

    let mut out = String::new();
    let _ = writeln!(out, "job:                 {} ({})", job.name, job.file.display());
    let _ = writeln!(out, "matching people:     {total} (the API's total)");
    if people_affordable != total {
        let _ = writeln!(out, "to export:           {people_affordable} (limited by [limits])");
    }
    let _ = writeln!(out, "pages needed:        {pages} at size {page_size}");
    let _ = writeln!(
        out,
        "requests left today: {requests_left} (resets in {})",
        crate::fetch::human_duration(secs(balance.daily_limit_rate_seconds_to_reset.max(0) as u64))
    );
    let _ =
        writeln!(out, "credits needed:      {} at {} per person", round_credits(credits_needed), round_credits(price));
    let _ = writeln!(out, "credits balance:     {}", round_credits(credits_left));
    let _ = writeln!(out, "this estimate cost:  {} credits", round_credits(probe_cost));
    let _ = writeln!(
        out,
        "time at {} req/min:  {}",
        settings.api.requests_per_minute,
        crate::fetch::human_duration(Duration::from_secs_f64(minutes * 60.0))
    );
    print!("{out}");
    if pages as i64 > requests_left {
        let days = (pages as f64 / requests_left.max(1) as f64).ceil();
        tracing::warn!(
            "the export needs {pages} requests but only {requests_left} are left today; it cannot finish today (about {days} day(s) at this allowance); rerunning resumes"
        );
    }
    if credits_needed > credits_left {
        tracing::warn!(
            "the export needs about {} credits but the balance is {}; it would stop with exit 4",
            round_credits(credits_needed),
            round_credits(credits_left)
        );
    }
    Ok(())
}

/// `ocean-export config`: every merged setting and where it came from.
pub fn describe_settings(job: &Job, token_present: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {} ({})", job.name, job.file.display());
    let value = serde_json::to_value(&job.settings).expect("settings serialize");
    let width = job.origins.keys().map(String::len).max().unwrap_or(0);
    for (key, origin) in &job.origins {
        let (table, field) = key.split_once('.').unwrap_or((key, ""));
        let shown = match &value[table][field] {
            serde_json::Value::Null => "(not set)".to_owned(),
            other => other.to_string(),
        };
        let _ = writeln!(out, "{key:width$} = {shown:24} # {origin}");
    }
    let _ = writeln!(
        out,
        "{:width$} = {:24} # OCEAN_API_TOKEN or --token-file",
        "token",
        if token_present { "present" } else { "absent" }
    );
    let _ = writeln!(
        out,
        "{:width$} = {:24} # resolved",
        "output (resolved)",
        format!("{:?}", job.output.display().to_string())
    );
    let _ = writeln!(out, "{:width$} = {:24} # resolved", "format (resolved)", format!("{:?}", job.format.extension()));
    let _ = writeln!(
        out,
        "{:width$} = {:24} # resolved",
        "state (resolved)",
        format!("{:?}", job.state_dir.display().to_string())
    );
    out
}

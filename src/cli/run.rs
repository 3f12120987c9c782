//! `run`, `estimate` and `config`: connecting the pieces, and what the operator reads about them.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use tracing::Instrument;

use super::progress::{Mode, Progress};
use super::{ApiArgs, EstimateArgs, LedgerArgs, LogArgs, LogFormat, RunArgs, token, watch_signals};
use crate::api::{Client, Endpoint, Token};
use crate::checkpoint::{Report, round_credits};
use crate::error::Error;
use crate::export::{self, Estimate, Export, Outcome};
use crate::fetch::{Stop, human_duration};
use crate::job::Job;
use crate::ledger::Ledger;
use crate::sandbox::{Sandbox, SandboxOptions};

/// A client for the job's API, or for an in-process sandbox with `--sandbox` (kept alive by the returned
/// handle), and the endpoint's name for the checkpoint.
async fn connect(job: &Job, api: &ApiArgs) -> Result<(Client, String, Option<Sandbox>), Error> {
    let token = token(&api.token)?;
    let endpoint = |base_url: String| Endpoint {
        base_url,
        timeout: Duration::from_secs(job.settings.api.timeout_secs.get()),
        max_body_bytes: job.settings.api.max_body_mib.get().saturating_mul(1024 * 1024),
    };
    if api.sandbox {
        let mut options = SandboxOptions::default();
        // The sandbox reads `NAME@ACCOUNT` (split at the last `@`): naming the account keeps a token that
        // holds an `@` whole.
        options.tokens.extend(token.iter().map(|t| format!("{}@sandbox", t.expose())));
        let sandbox = crate::sandbox::start(options).await?;
        let token = token.or_else(|| Token::new(sandbox.token())).expect("the sandbox has a token");
        tracing::info!(url = sandbox.base_url(), "running against an in-process sandbox: free, synthetic people");
        let client = Client::new(&endpoint(sandbox.base_url().to_owned()), token)?;
        return Ok((client, crate::checkpoint::SANDBOX_ENDPOINT.to_owned(), Some(sandbox)));
    }
    let token = token.ok_or_else(|| {
        Error::Usage(
            "no API token: set OCEAN_API_TOKEN or pass --token-file (or try the job for free with --sandbox)"
                .to_owned(),
        )
    })?;
    let client = Client::new(&endpoint(job.settings.api.base_url.clone()), token)?;
    let name = client.base_url().to_string();
    Ok((client, name, None))
}

/// `ocean-export run`.
pub async fn run(args: RunArgs, log: &LogArgs, mode: Mode) -> Result<(), Error> {
    let job = args.job.load()?;
    let (client, endpoint, _sandbox) = connect(&job, &args.api).await?;
    let stop = Stop::default();
    watch_signals(&stop)?;
    let progress = Progress::new(mode);
    let export = Export {
        job: &job,
        client: &client,
        endpoint: &endpoint,
        fresh: args.fresh,
        overwrite: args.overwrite,
        keep_ledger: args.keep_ledger,
        fail_if_empty: args.fail_if_empty,
        stop: &stop,
        observer: &progress,
    };
    let outcome = export::run(&export).instrument(progress.span()).await?;
    drop(progress);
    let complete = outcome.report.complete;
    let Outcome { report, report_path, resumed_at, .. } = &outcome;
    if log.log_format == LogFormat::Json {
        tracing::info!(
            people = report.people,
            pages = report.pages,
            requests = report.requests,
            retries = report.retries,
            credits_used = report.credits_used,
            sandbox = report.sandbox,
            base_url = %report.base_url,
            resumed_at,
            new = report.delivery.as_ref().map(|d| d.new),
            already_delivered = report.delivery.as_ref().map(|d| d.already_delivered),
            output = %report.output.display(),
            report = %report_path.display(),
            "export complete"
        );
    } else if !log.quiet {
        eprint!("{}", summary(&outcome));
    }
    if complete {
        Ok(())
    } else {
        Err(Error::Incomplete(format!(
            "{}; {} of the people the API counts are missing; the file and {} are published",
            outcome.report.incomplete.join("; "),
            outcome.report.shortfall.unwrap_or(0).max(0),
            shown(&outcome.report_path).display()
        )))
    }
}

/// A path as a person reads it: relative to the current folder when inside it (the checkpoint keeps
/// absolute paths).
fn shown(path: &Path) -> &Path {
    std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(cwd).ok()).unwrap_or(path)
}

/// The end-of-run summary printed on stderr.
pub fn summary(outcome: &Outcome) -> String {
    let report: &Report = &outcome.report;
    let mut out = String::new();
    let resumed = outcome.resumed_at.map(|n| format!(" (resumed at {n} people)")).unwrap_or_default();
    let paths: Vec<String> = report.outputs.iter().map(|o| shown(&o.path).display().to_string()).collect();
    let _ = writeln!(out, "Exported {} people to {}{resumed}", report.people, paths.join(", "));
    if report.sandbox {
        let _ = writeln!(
            out,
            "  sandbox: synthetic people from the built-in sandbox ({}), not Ocean's; without --sandbox the job runs against the API",
            report.base_url
        );
    }
    let _ = writeln!(
        out,
        "  pages {}, requests {}, retries {}, credits used {}, elapsed {}",
        report.pages,
        report.requests,
        report.retries,
        round_credits(report.credits_used),
        human_duration(outcome.elapsed)
    );
    if let Some(delivery) = &report.delivery {
        let _ = writeln!(
            out,
            "  deliver new: {} new, {} already delivered by earlier runs (left out; they cost {} credits); the ledger holds {} people",
            delivery.new, delivery.already_delivered, delivery.already_delivered_credits, delivery.ledger_people
        );
    }
    if report.duplicates > 0 || report.without_id > 0 {
        let _ = writeln!(
            out,
            "  skipped: {} duplicate(s) already written, {} without an id",
            report.duplicates, report.without_id
        );
    }
    let walked = report.parts.iter().filter(|p| !p.split).count();
    if report.parts.len() > 1 {
        let _ = writeln!(
            out,
            "  the search was split into {walked} parts ({} probes; result window {}{}); each part is in the API's order",
            report.probes,
            report.result_window.unwrap_or(0),
            if report.window_learned { ", learned from where the API stopped" } else { "" }
        );
    }
    match (report.total, report.shortfall) {
        (Some(total), Some(shortfall)) if report.limit_reached => {
            let _ =
                writeln!(out, "  the API reported {total} matches: shortfall {shortfall} (a limit stopped the export)");
        }
        (Some(total), _) if report.complete => {
            let _ = writeln!(out, "  the API reported {total} matches: complete, all exported");
        }
        (Some(total), Some(shortfall)) => {
            let _ = writeln!(out, "  the API reported {total} matches: INCOMPLETE, shortfall {shortfall}");
        }
        _ => {}
    }
    for reason in &report.incomplete {
        let _ = writeln!(out, "  incomplete: {reason}");
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
    for path in &outcome.report_paths {
        let _ = writeln!(out, "  report: {}", shown(path).display());
    }
    if let Some(path) = &outcome.not_started {
        let _ = writeln!(out, "  note: {} was not started yet; run the job again to export it", path.display());
    }
    out
}

/// `ocean-export ledger JOB [--reset]`.
pub fn ledger(args: &LedgerArgs) -> Result<(), Error> {
    let job = args.job.load()?;
    let state = crate::checkpoint::StateDir::lock(&job.state_dir)?;
    if args.reset {
        let people = match Ledger::open(state.dir(), &job.name, &job.file) {
            Ok(ledger) => Some(ledger.len()),
            Err(_) => None,
        };
        let had = crate::ledger::reset(state.dir())?;
        let what = match (had, people) {
            (false, _) => "the job had no delivery ledger".to_owned(),
            (true, Some(people)) => format!("cleared the delivery ledger ({people} people)"),
            (true, None) => "removed the unreadable delivery ledger".to_owned(),
        };
        super::stdout(&format!("{}: {what}; the next run delivers everyone the search finds\n", job.name))?;
        return Ok(());
    }
    let ledger = Ledger::open(state.dir(), &job.name, &job.file)?;
    super::stdout(&describe_ledger(&job, &ledger))
}

fn describe_ledger(job: &Job, ledger: &Ledger) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "job:      {} ({})", job.name, job.file.display());
    let _ = writeln!(out, "ledger:   {}", shown(ledger.path()).display());
    let _ = writeln!(out, "deliver:  {}", job.settings.output.deliver.name());
    if ledger.header.runs.is_empty() {
        let _ = writeln!(out, "people:   0 (no completed deliver = \"new\" run yet)");
        return out;
    }
    let bytes = ledger.file_bytes();
    let _ = writeln!(
        out,
        "people:   {} ({} bytes, {:.1} bytes a person)",
        ledger.len(),
        bytes,
        bytes as f64 / ledger.len().max(1) as f64
    );
    let same = ledger.header.search == job.search_fingerprint();
    let _ = writeln!(
        out,
        "search:   {}",
        if same {
            "the job's current search"
        } else {
            "CHANGED since the last run: the next run asks to keep or reset"
        }
    );
    let _ = writeln!(out, "runs:     {}", ledger.header.runs.len());
    let _ =
        writeln!(out, "  {:<32} {:>10} {:>18} {:>10}  output", "finished", "delivered", "already delivered", "credits");
    for run in &ledger.header.runs {
        let outputs: Vec<String> = run.outputs.iter().map(|p| shown(p).display().to_string()).collect();
        let _ = writeln!(
            out,
            "  {:<32} {:>10} {:>18} {:>10}  {}",
            run.finished_at,
            run.delivered,
            run.already_delivered,
            round_credits(run.credits_used),
            outputs.join(", ")
        );
    }
    out
}

/// `ocean-export estimate`.
pub async fn estimate(args: EstimateArgs) -> Result<(), Error> {
    let job = args.job.load()?;
    let (client, _, _sandbox) = connect(&job, &args.api).await?;
    let estimate = export::estimate(&job, &client).await?;
    super::stdout(&describe_estimate(&job, &estimate))?;
    if let Some(days) = estimate.days_needed() {
        tracing::warn!(
            "the export needs {} requests but only {} are left today; it cannot finish today (about {days} day(s) at this allowance); rerunning resumes",
            estimate.pages,
            estimate.requests_left
        );
    }
    if estimate.short_of_credits() {
        tracing::warn!(
            "the export needs about {} credits but the balance is {}; it would stop with exit 4",
            round_credits(estimate.credits_needed),
            round_credits(estimate.balance)
        );
    }
    Ok(())
}

fn describe_estimate(job: &Job, e: &Estimate) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "job:                 {} ({})", job.name, job.file.display());
    let _ = writeln!(out, "matching people:     {} (the API's total)", e.total);
    if e.to_export != e.total {
        let _ = writeln!(out, "to export:           {} (limited by [limits])", e.to_export);
    }
    let _ = writeln!(out, "pages needed:        {} at size {}", e.pages, e.page_size.get());
    if let Some(parts) = &e.parts {
        let _ = writeln!(out, "parts:               {}", parts.len());
        for (filters, total) in parts {
            let _ = writeln!(out, "  {total:>9}  {filters}");
        }
    }
    let _ = writeln!(out, "requests left today: {} (resets in {})", e.requests_left, human_duration(e.resets_in));
    let _ = writeln!(
        out,
        "credits needed:      {} at {} per person",
        round_credits(e.credits_needed),
        round_credits(e.price)
    );
    let _ = writeln!(out, "credits balance:     {}", round_credits(e.balance));
    let explained = match e.explain_requests {
        0 => String::new(),
        n => format!(", {n} of them to find what matches nobody"),
    };
    let _ = writeln!(
        out,
        "this estimate cost:  {} credits, {} requests{explained}",
        round_credits(e.probe_cost),
        e.probe_requests
    );
    let _ = writeln!(out, "time at {} req/min:  {}", job.settings.api.requests_per_minute, human_duration(e.duration));
    if !job.seeds.is_empty() && !e.seed_statuses.is_empty() {
        let _ =
            writeln!(out, "seeds found:         {} of {}", e.seed_statuses.successful_people.len(), job.seeds.len());
    }
    for note in &e.notes {
        let _ = writeln!(out, "note: {note}");
    }
    out
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
    let several = job.outputs.len() > 1;
    let mut resolved = Vec::new();
    for (i, output) in job.outputs.iter().enumerate() {
        let n = if several { format!("[{}]", i + 1) } else { String::new() };
        let options = &output.options;
        resolved.push((format!("output{n} (resolved)"), output.path.display().to_string()));
        resolved.push((format!("format{n} (resolved)"), crate::job::extension(options.format, options.compression)));
        if options.format.has_columns() {
            let headers: Vec<&str> = options.columns.iter().map(|c| c.header.as_str()).collect();
            resolved.push((format!("columns{n} (resolved)"), headers.join(", ")));
        }
    }
    resolved.push(("state (resolved)".to_owned(), job.state_dir.display().to_string()));
    for (key, value) in resolved {
        let _ = writeln!(out, "{key:width$} = {:24} # resolved", format!("{value:?}"));
    }
    out
}

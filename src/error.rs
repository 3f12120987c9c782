//! Every way a command can fail, one variant per layer, and the one place where a failure becomes an exit
//! code ([`Error::exit_code`]).

use crate::api::{ApiError, Detail, EndpointError};
use crate::checkpoint::CheckpointError;
use crate::fetch::{FetchError, PageFailure, Signal};
use crate::job::{Job, JobError};
use crate::ledger::LedgerError;
use crate::plan::PlanError;
use crate::sandbox::SandboxError;
use crate::sink::SinkError;
use crate::storage::StorageError;

/// Whether running the same command again can help, for a scheduler (a Kubernetes `podFailurePolicy`, a
/// systemd `RestartPreventExitStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Done: the file is published (exit 0, and 8, whose shortfall a rerun would not fix).
    Done,
    /// Not without a person fixing something: retrying only repeats the failure.
    Never,
    /// Later: the rerun resumes where this run stopped, without buying a page twice.
    Later,
}

/// One exit code: what it means and whether a retry helps.
#[derive(Clone, Copy, Debug)]
pub struct ExitCode {
    pub code: u8,
    pub meaning: &'static str,
    pub retry: Retry,
}

/// Every exit code of `ocean-export run`: the `--help` text, README's table and the Kubernetes manifest
/// (`deploy/kubernetes/cronjob.yaml`) are checked against it by tests.
pub const EXIT_CODES: &[ExitCode] = &[
    ExitCode { code: 0, meaning: "complete", retry: Retry::Done },
    ExitCode {
        code: 2,
        meaning: "job or usage error, or an object already at an s3:// output's key (no --overwrite); nothing was sent",
        retry: Retry::Never,
    },
    ExitCode {
        code: 3,
        meaning: "the API rejected the request (4xx other than 402 and 429); not retried",
        retry: Retry::Never,
    },
    ExitCode { code: 4, meaning: "out of credits (402); rerun after topping up to resume", retry: Retry::Later },
    ExitCode {
        code: 5,
        meaning: "the API stayed unavailable, asked for too long a wait, or misbehaved; rerun to resume",
        retry: Retry::Later,
    },
    ExitCode { code: 6, meaning: "another run of this job holds its lock", retry: Retry::Later },
    ExitCode {
        code: 7,
        meaning: "the output, state or upload could not be written (disk full, object storage refused or down); \
                  fix and rerun to resume (a finished export only uploads again)",
        retry: Retry::Later,
    },
    ExitCode {
        code: 8,
        meaning: "incomplete: the file and report are published, but the API would not deliver every person it \
                  counts (see the report's `incomplete`)",
        retry: Retry::Done,
    },
    ExitCode {
        code: 9,
        meaning: "too few people: the file and report are published, but the search found fewer people than \
                  [limits] min_records (or none, with --fail-if-empty)",
        retry: Retry::Done,
    },
    ExitCode { code: 130, meaning: "interrupted (SIGINT); rerun to resume", retry: Retry::Later },
    ExitCode { code: 143, meaning: "terminated (SIGTERM); rerun to resume", retry: Retry::Later },
];

/// The `Exit codes:` section of `--help`, from [`EXIT_CODES`].
pub fn exit_codes_help() -> String {
    let mut out = String::from("Exit codes:\n");
    for code in EXIT_CODES {
        out.push_str(&format!("  {:<4} {}\n", code.code, code.meaning));
    }
    out.pop();
    out
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The job file, seeds or settings: nothing was sent.
    #[error(transparent)]
    Job(#[from] JobError),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Endpoint(#[from] EndpointError),
    #[error("cannot start the sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    /// The job's state folder: its lock, its checkpoint.
    #[error(transparent)]
    State(#[from] CheckpointError),
    /// The output files.
    #[error(transparent)]
    Output(#[from] SinkError),
    #[error(
        "the job changed since its checkpoint ({what}); rerun with --fresh to discard the {people} people exported so far and start over, or restore the job"
    )]
    JobChanged { what: String, people: u64 },
    /// Fetching stopped: the API refused, stayed down, asked for too long a wait or looped, or a signal came.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// Splitting the search would take more parts than `limits.max_partitions`.
    #[error("{0}; the pages bought so far are kept, so a rerun after raising the limit resumes")]
    Plan(#[from] PlanError),
    /// The file was published, but the API would not deliver every person its total counts.
    #[error("the export is incomplete: {0}")]
    Incomplete(String),
    /// The job's delivery ledger cannot be used (damaged, of another job or a newer build) or written.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// A `deliver = "new"` job whose search changed since its ledger's last run: keep or reset?
    #[error(
        "the search of job `{job}` changed since its delivery ledger's last run ({runs} run(s), {people} people delivered), so nothing was sent: decide whether those people still count as delivered"
    )]
    LedgerSearchChanged { job: String, file: String, runs: usize, people: u64 },
    /// The output path holds a completed export: running again would buy it again.
    #[error(
        "{} already holds a completed export, made {made} with {people} people for {credits} credits; nothing was sent",
        path.display()
    )]
    AlreadyExported { path: std::path::PathBuf, made: String, people: u64, credits: f64 },
    /// Published, but fewer people than `[limits] min_records` (or `--fail-if-empty`).
    #[error(
        "the search found {found} people, fewer than the {min} required ({why}); the file and its report are published"
    )]
    TooFew { found: u64, min: u64, why: &'static str },
    /// The API refused the request itself (a 4xx other than 402 and 429), each problem at the job key it
    /// came from.
    #[error("the API rejected the request with {status}:\n{detail}")]
    Rejected { status: reqwest::StatusCode, detail: String },
    /// Uploading a finished file to object storage. The export is complete and kept locally.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl<E: Into<Error>> From<PageFailure<E>> for Error {
    fn from(failure: PageFailure<E>) -> Self {
        match failure {
            PageFailure::Fetch(e) => Error::Fetch(e),
            PageFailure::Sink(e) => e.into(),
        }
    }
}

impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Job(_)
            | Error::Usage(_)
            | Error::Endpoint(_)
            | Error::Sandbox(_)
            | Error::JobChanged { .. }
            | Error::LedgerSearchChanged { .. }
            | Error::AlreadyExported { .. }
            | Error::Plan(_) => 2,
            // A damaged or foreign ledger: 2 (restore or reset it). The disk refused: 7.
            Error::Ledger(LedgerError::Io { .. }) => 7,
            Error::Ledger(_) => 2,
            Error::TooFew { .. } => 9,
            Error::Incomplete(_) => 8,
            // The lock is taken: 6. A damaged checkpoint: 2 (fix or --fresh). Anything the disk refused: 7.
            Error::State(CheckpointError::Locked { .. }) => 6,
            Error::State(CheckpointError::Corrupt { .. }) => 2,
            Error::State(CheckpointError::Io { .. }) => 7,
            // Another run writes the same file: 6. A partial file that changed: 2. The disk refused: 7.
            Error::Output(SinkError::Busy { .. }) => 6,
            Error::Output(SinkError::Mismatch { .. }) => 2,
            Error::Output(SinkError::Write { .. }) => 7,
            Error::Rejected { .. } | Error::Fetch(FetchError::Api(ApiError::Rejected { .. })) => 3,
            Error::Fetch(FetchError::Api(ApiError::OutOfCredits { .. })) => 4,
            Error::Fetch(
                FetchError::Api(_)
                | FetchError::Exhausted { .. }
                | FetchError::WaitTooLong { .. }
                | FetchError::RepeatedCursor { .. },
            ) => 5,
            Error::Fetch(FetchError::Stopped(Signal::Interrupt)) => 130,
            Error::Fetch(FetchError::Stopped(Signal::Terminate)) => 143,
            // Someone else's object is at the key, or the client cannot be set up: a person decides. The
            // store refused, failed or is unreachable: the rerun uploads again, fetching nothing.
            Error::Storage(StorageError::Exists { .. } | StorageError::Client(_)) => 2,
            Error::Storage(
                StorageError::Denied { .. }
                | StorageError::NoBucket { .. }
                | StorageError::Failed { .. }
                | StorageError::Verify { .. }
                | StorageError::Local { .. },
            ) => 7,
        }
    }

    /// The ways on, when the message alone does not say them: printed as `hint:` (a `hint` field in JSON
    /// logs).
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::LedgerSearchChanged { file, .. } => Some(format!(
                "to deliver everyone the new search finds, clear the ledger: `ocean-export ledger {file} --reset`; to keep leaving out the people already delivered, run with `ocean-export run {file} --keep-ledger`"
            )),
            Error::AlreadyExported { .. } => Some(
                "to replace it (and pay again), run with --overwrite; for a new file each run, put {date} or {datetime} in the output path (what a nightly deliver = \"new\" job does)"
                    .to_owned(),
            ),
            Error::TooFew { .. } => Some("exit code 9 tells cron the night was empty; see the report".to_owned()),
            _ => None,
        }
    }

    /// A rejection with each 422 location shown as the job-file key it came from (a seed, or a list item
    /// that moved when the list was de-duplicated).
    pub fn located(self, job: &Job) -> Error {
        match self {
            Error::Fetch(FetchError::Api(ApiError::Rejected { status, detail })) => {
                let detail = match detail {
                    Detail::Items(items) => items
                        .iter()
                        .map(|item| format!("  - {}: {}", job.locate(item), item.describe()))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    text => text.to_string(),
                };
                Error::Rejected { status, detail }
            }
            other => other,
        }
    }
}

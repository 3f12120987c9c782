//! Command line: flags, dispatch, logging, and the one place where errors become exit codes.

mod progress;
pub mod run;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::api::Token;
pub use crate::error::Error;
use crate::fetch::Signal;
use crate::job::{JobError, Overrides};
use crate::sandbox::SandboxOptions;
use crate::sink::Format;

/// Export every person matching an Ocean.io lookalike people search to CSV, NDJSON, Parquet or Excel,
/// exactly once, resumable, within rate and credit limits.
#[derive(Parser, Debug)]
#[command(
    name = "ocean-export",
    version = crate::version::SHORT,
    long_version = crate::version::long(),
    about,
    long_about = None,
    after_help = crate::error::exit_codes_help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub log: LogArgs,
}

#[derive(Args, Debug, Clone)]
pub struct LogArgs {
    /// Print nothing on success; warnings and errors still go to stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Log format on stderr. Filter with RUST_LOG (default: info).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run an export (or resume the one a previous run left).
    Run(RunArgs),
    /// Check a job file and print the request body it would send. Sends nothing.
    Validate(JobArgs),
    /// Estimate an export: the matching total, pages, requests, credits and time. Sends one `size: 1` request.
    Estimate(EstimateArgs),
    /// Print the merged settings of a job and where each value came from.
    Config(ConfigArgs),
    /// Show a job's delivery ledger (the people its deliver = "new" runs delivered): size, runs, dates.
    Ledger(LedgerArgs),
    /// Print the fixed schema of the typed outputs (Parquet), so a warehouse can create its table first.
    Schema(SchemaArgs),
    /// Serve a local stand-in of the Ocean people-search API (see `sandbox --help`).
    Sandbox(SandboxOptions),
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Manpage,
}

/// A job file and the flags that override its settings.
#[derive(Args, Debug, Clone)]
pub struct JobArgs {
    /// The job file (TOML).
    pub job: PathBuf,
    /// Output path (a template: {job}, {date}, {datetime}, {format}).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Output format; the default comes from the output path's extension.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// API base URL.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Requests per minute.
    #[arg(long)]
    pub requests_per_minute: Option<u32>,
    /// Stop after this many people.
    #[arg(long)]
    pub max_records: Option<u64>,
    /// Stop before spending more credits than this.
    #[arg(long)]
    pub max_credits: Option<f64>,
    /// Folder of the jobs' state folders (the job's checkpoint and lock go in STATE_DIR/<job name>/).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// User settings file [default: $XDG_CONFIG_HOME/ocean-export/config.toml].
    #[arg(long, value_name = "PATH")]
    pub settings: Option<PathBuf>,
}

impl JobArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            output: self.output.clone(),
            format: self.format,
            base_url: self.base_url.clone(),
            requests_per_minute: self.requests_per_minute,
            max_records: self.max_records,
            max_credits: self.max_credits,
            state_dir: self.state_dir.clone(),
        }
    }

    /// Loads and checks the job with the process's environment and user settings.
    pub fn load(&self) -> Result<crate::job::Job, JobError> {
        let mut context = crate::job::Context::from_process(self.overrides());
        if self.settings.is_some() {
            context.user_settings.clone_from(&self.settings);
        }
        let job = crate::job::load(&self.job, &context)?;
        let _ = JOB.set(job.name.clone());
        Ok(job)
    }
}

/// Where the token comes from.
#[derive(Args, Debug, Clone)]
pub struct TokenArgs {
    /// Read the API token from this file instead of OCEAN_API_TOKEN.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// Where requests go and with which token.
#[derive(Args, Debug, Clone)]
pub struct ApiArgs {
    /// Run against an in-process sandbox instead of the API: a free dry run of the job.
    #[arg(long)]
    pub sandbox: bool,
    #[command(flatten)]
    pub token: TokenArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub token: TokenArgs,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub api: ApiArgs,
    /// Discard the job's checkpoint and partial output, and start over.
    #[arg(long)]
    pub fresh: bool,
    /// Replace an output that holds a completed export (and pay for it again), and objects already at the
    /// keys of s3:// outputs (without it they are left untouched, exit 2). With deliver = "new" it replaces
    /// the file, not the ledger: the people in the old file stay delivered.
    #[arg(long)]
    pub overwrite: bool,
    /// With deliver = "new": the search changed, and the people the ledger holds still count as delivered.
    #[arg(long)]
    pub keep_ledger: bool,
    /// Exit 9 (after publishing) when the search finds nobody; like `[limits] min_records = 1`.
    #[arg(long)]
    pub fail_if_empty: bool,
    /// Without a terminal, log progress this often (seconds).
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub progress_interval: u64,
}

#[derive(Args, Debug, Clone)]
pub struct LedgerArgs {
    #[command(flatten)]
    pub job: JobArgs,
    /// Clear the ledger: the job's next run delivers everyone again.
    #[arg(long)]
    pub reset: bool,
}

#[derive(Args, Debug, Clone)]
pub struct SchemaArgs {
    /// How to print it: the Parquet message type, a JSON Schema of one person, or a DuckDB CREATE TABLE.
    #[arg(long, value_enum, default_value_t = SchemaFormat::Parquet)]
    pub format: SchemaFormat,
    /// The table name in the DuckDB statement.
    #[arg(long, default_value = "people")]
    pub table: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchemaFormat {
    Parquet,
    JsonSchema,
    Duckdb,
}

#[derive(Args, Debug, Clone)]
pub struct EstimateArgs {
    #[command(flatten)]
    pub job: JobArgs,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// The token from `--token-file`, else `OCEAN_API_TOKEN`.
fn token(args: &TokenArgs) -> Result<Option<Token>, Error> {
    let raw = match &args.token_file {
        Some(path) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let meta = std::fs::metadata(path)
                    .map_err(|e| Error::Usage(format!("cannot read the token file {}: {e}", path.display())))?;
                if meta.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(
                        "the token file {} is readable by others (mode {:o}); chmod 600 it",
                        path.display(),
                        meta.permissions().mode() & 0o777
                    );
                }
            }
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::Usage(format!("cannot read the token file {}: {e}", path.display())))?;
            Some(text)
        }
        None => std::env::var("OCEAN_API_TOKEN").ok(),
    };
    let Some(token) = raw.as_deref().and_then(Token::new) else { return Ok(None) };
    if reqwest::header::HeaderValue::from_str(token.expose()).is_err() {
        return Err(Error::Usage("the API token has characters an HTTP header cannot carry".to_owned()));
    }
    Ok(Some(token))
}

fn init_logging(log: &LogArgs, with_bar: bool) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let default = if log.quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let registry = tracing_subscriber::registry().with(filter);
    let ansi = std::io::stderr().is_terminal();
    // Nothing to do if a subscriber is already set (a test harness, say).
    let _ = match (log.log_format, with_bar) {
        (LogFormat::Json, _) => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(WithJob(tracing_subscriber::fmt::format().json().flatten_event(true)))
                    .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        (LogFormat::Text, true) => {
            let indicatif = tracing_indicatif::IndicatifLayer::new().with_span_field_formatter(
                tracing_indicatif::filter::hide_indicatif_span_fields(
                    tracing_subscriber::fmt::format::DefaultFields::new(),
                ),
            );
            let writer = indicatif.get_stderr_writer();
            registry
                .with(tracing_subscriber::fmt::layer().with_ansi(ansi).with_target(false).with_writer(writer))
                .with(indicatif.with_filter(tracing_indicatif::filter::IndicatifFilter::new(false)))
                .try_init()
        }
        (LogFormat::Text, false) => registry
            .with(tracing_subscriber::fmt::layer().with_ansi(ansi).with_target(false).with_writer(std::io::stderr))
            .try_init(),
    };
}

/// The job a command works on, once its file is loaded: every JSON log line names it.
static JOB: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A JSON event format that adds `"job"` to every line once the job is known, so that the logs of many
/// scheduled jobs in one place can be told apart.
struct WithJob<F>(F);

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for WithJob<F>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let Some(job) = JOB.get() else { return self.0.format_event(ctx, writer, event) };
        let mut line = String::new();
        self.0.format_event(ctx, tracing_subscriber::fmt::format::Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => {
                let job = serde_json::to_string(job).map_err(|_| std::fmt::Error)?;
                let comma = if rest.trim_start().starts_with('}') { "" } else { "," };
                write!(writer, "{{\"job\":{job}{comma}{rest}")
            }
            None => writer.write_str(&line),
        }
    }
}

/// How `run` shows progress, from the flags and whether stderr is a terminal.
fn progress_mode(log: &LogArgs, interval: Duration) -> progress::Mode {
    if log.quiet {
        progress::Mode::Silent
    } else if log.log_format == LogFormat::Text && std::io::stderr().is_terminal() {
        progress::Mode::Bar
    } else {
        progress::Mode::Lines(interval)
    }
}

/// Runs the command line and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // A rendering thread that gives up (rust_xlsxwriter panics when its temporary file cannot be written)
    // is reported once, as the output's error, with the panic's message.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() != Some("render") {
            default_hook(info);
        }
    }));
    let mode = match &cli.command {
        Command::Run(args) => progress_mode(&cli.log, Duration::from_secs(args.progress_interval.max(1))),
        _ => progress::Mode::Silent,
    };
    init_logging(&cli.log, mode == progress::Mode::Bar);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let log = cli.log.clone();
    let result = runtime.block_on(dispatch(cli, mode));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error, &log);
            ExitCode::from(error.exit_code())
        }
    }
}

/// Prints an error once: a JSON log line under `--log-format json` (one per problem of a job file);
/// otherwise `error: …` on stderr. A problem in a job file shows its line with a caret under the culprit
/// and a hint: drawn by miette on a terminal, as plain text (rustc-style, stable for logs and tests)
/// elsewhere, so its first line is always `error: FILE:LINE:COLUMN: …`.
fn report(error: &Error, log: &LogArgs) {
    let Error::Job(job) = error else {
        let hint = error.hint();
        if log.log_format == LogFormat::Json {
            tracing::error!(exit_code = error.exit_code(), hint, "{error}");
        } else {
            eprintln!("error: {error}");
            if let Some(hint) = hint {
                eprintln!("hint: {hint}");
            }
        }
        return;
    };
    let problems = job.problems();
    if log.log_format == LogFormat::Json {
        for problem in &problems {
            let help = miette::Diagnostic::help(*problem).map(|h| h.to_string());
            tracing::error!(exit_code = error.exit_code(), hint = help, "{problem}");
        }
        return;
    }
    let terminal = std::io::stderr().is_terminal();
    for problem in &problems {
        if terminal {
            let mut rendered = String::new();
            if miette::GraphicalReportHandler::new().render_report(&mut rendered, *problem).is_ok() {
                eprint!("{rendered}");
                continue;
            }
        }
        eprintln!("error: {problem}");
        if let JobError::At(at) = problem {
            eprint!("{}", at.snippet());
        }
        if let Some(help) = miette::Diagnostic::help(*problem) {
            eprintln!("hint: {help}");
        }
    }
    if problems.len() > 1 {
        eprintln!("{} problems in the job; nothing was sent", problems.len());
    }
}

async fn dispatch(cli: Cli, mode: progress::Mode) -> Result<(), Error> {
    match cli.command {
        Command::Run(args) => run::run(args, &cli.log, mode).await,
        Command::Validate(args) => {
            let job = args.load()?;
            // The first request exactly as `run` sends it; later ones differ only in size and cursor.
            let body = match crate::export::first_request(&job) {
                Some(body) => body,
                None => {
                    tracing::warn!("the limits leave room for no request at all: `run` would export nobody");
                    job.search.request(job.page_size, None)
                }
            };
            stdout(&format!("{}\n", serde_json::to_string_pretty(&body).expect("serializes")))?;
            if !cli.log.quiet {
                let outputs: Vec<String> = job
                    .outputs
                    .iter()
                    .map(|o| {
                        let place = o.object.as_ref().map_or_else(|| o.path.display().to_string(), |t| t.url());
                        format!("{place} ({})", crate::job::extension(o.format(), o.options.compression))
                    })
                    .collect();
                eprintln!(
                    "{}: valid. Writes {}, pages of {} people, {} seed(s). Each request after the first \
                     carries the previous page's searchAfter, the last may ask for fewer people (limits), and a \
                     search above the result window is split into parts that add filters.",
                    job.file.display(),
                    outputs.join(" and "),
                    job.page_size.get(),
                    job.seeds.len()
                );
                let resolved = job.search.resolved_dates();
                for (field, template) in job.search.date_templates() {
                    eprintln!(
                        "  search.peopleFilters.{field} = \"{template}\" resolves to \"{}\" ({})",
                        resolved.get(field).map_or("", String::as_str),
                        job.settings.output.timezone.as_deref().unwrap_or("UTC")
                    );
                }
                if job.settings.output.deliver == crate::job::Deliver::New {
                    eprintln!(
                        "  deliver = \"new\": people in the delivery ledger ({}) are left out",
                        job.state_dir.join(crate::ledger::FILE).display()
                    );
                }
            }
            Ok(())
        }
        Command::Estimate(args) => run::estimate(args).await,
        Command::Ledger(args) => run::ledger(&args),
        Command::Config(args) => {
            let job = args.job.load()?;
            stdout(&run::describe_settings(&job, token(&args.token)?.is_some()))?;
            Ok(())
        }
        Command::Schema(args) => {
            match args.format {
                SchemaFormat::Parquet => print!("{}", crate::sink::parquet::describe()),
                SchemaFormat::JsonSchema => println!("{}", crate::sink::schema::json_schema()),
                SchemaFormat::Duckdb => print!("{}", crate::sink::schema::duckdb_create_table(&args.table)),
            }
            Ok(())
        }
        Command::Sandbox(options) => Ok(crate::sandbox::serve_until_signal(options).await?),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "ocean-export", &mut std::io::stdout());
            Ok(())
        }
        Command::Manpage => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map_err(|e| Error::Usage(format!("cannot write the man page: {e}"))),
    }
}

/// Writes what a command prints. A reader that went away (`validate job.toml | head`) is not an error;
/// anything else the terminal or file refuses is.
fn stdout(text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Usage(format!("cannot write to standard output: {e}")))
        }
        _ => Ok(()),
    }
}

/// Installs SIGINT and SIGTERM handlers that ask the walk to stop.
#[cfg(unix)]
fn watch_signals(stop: &crate::fetch::Stop) -> Result<(), Error> {
    use tokio::signal::unix::{SignalKind, signal};
    for (kind, which) in [(SignalKind::interrupt(), Signal::Interrupt), (SignalKind::terminate(), Signal::Terminate)] {
        let mut stream = signal(kind).map_err(|e| Error::Usage(format!("cannot watch signals: {e}")))?;
        let stop = stop.clone();
        tokio::spawn(async move {
            if stream.recv().await.is_some() {
                tracing::warn!("{which} received: stopping after cleaning up the page in hand");
                stop.request(which);
            }
        });
    }
    Ok(())
}

/// Ctrl-C (the console's SIGINT) asks the walk to stop; Windows has no SIGTERM to watch.
#[cfg(not(unix))]
fn watch_signals(stop: &crate::fetch::Stop) -> Result<(), Error> {
    let stop = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::warn!("{} received: stopping after cleaning up the page in hand", Signal::Interrupt);
            stop.request(Signal::Interrupt);
        }
    });
    Ok(())
}

//! What an operator sees while an export runs: a progress bar on a terminal (log lines print above it,
//! never through it, thanks to tracing-indicatif), or one plain log line every `--progress-interval`
//! without a terminal (cron, CI, pipes).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::ProgressStyle;
use tracing::Span;
use tracing_indicatif::span_ext::IndicatifSpanExt;

use crate::checkpoint::round_credits;
use crate::export::{Observer, Status};
use crate::fetch::{self, FetchError, human_duration};

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A bar on the terminal (stderr).
    Bar,
    /// A log line every so often.
    Lines(Duration),
    /// Nothing (`--quiet`).
    Silent,
}

#[derive(Clone, Debug)]
struct Snapshot {
    status: Status,
    /// People when this run started, to compute this run's rate.
    start_people: u64,
    started: Instant,
}

impl Snapshot {
    fn rate(&self) -> f64 {
        let secs = self.started.elapsed().as_secs_f64();
        if secs > 0.0 { (self.status.people - self.start_people) as f64 / secs } else { 0.0 }
    }

    fn line(&self) -> String {
        let Status { people, pages, credits, goal } = self.status;
        let of = match goal {
            Some(total) if total > 0 => format!(" of {total} ({:.0}%)", 100.0 * people as f64 / total as f64),
            _ => String::new(),
        };
        let eta = match (goal, self.rate()) {
            (Some(total), rate) if rate > 0.0 && total > people => {
                format!(", ETA {}", human_duration(Duration::from_secs_f64((total - people) as f64 / rate)))
            }
            _ => String::new(),
        };
        format!(
            "{people} people{of}, {pages} pages, {:.0} people/s{eta}, {} credits used",
            self.rate(),
            round_credits(credits)
        )
    }
}

/// Progress of one export: the export's [`Observer`].
pub struct Progress {
    mode: Mode,
    snapshot: Arc<Mutex<Option<Snapshot>>>,
    span: Span,
    ticker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Progress {
    /// Progress shown in `mode`, from the moment the walk starts.
    pub fn new(mode: Mode) -> Progress {
        let span = match mode {
            Mode::Bar => tracing::info_span!("export", indicatif.pb_show = tracing::field::Empty),
            _ => Span::none(),
        };
        Progress { mode, snapshot: Arc::default(), span, ticker: Mutex::default() }
    }

    /// The span the export runs in (the bar belongs to it).
    pub fn span(&self) -> Span {
        self.span.clone()
    }

    fn show(&self, status: &Status) {
        if self.mode == Mode::Bar {
            self.span.pb_set_length(status.goal.unwrap_or(status.people).max(status.people));
            self.span.pb_set_position(status.people);
            self.span.pb_set_message(&message(status.pages, status.credits));
        }
    }
}

fn message(pages: u64, credits: f64) -> String {
    format!("page {pages} · {} credits", round_credits(credits))
}

impl Observer for Progress {
    fn started(&self, status: &Status) {
        let snapshot = Snapshot { status: status.clone(), start_people: status.people, started: Instant::now() };
        if let Ok(mut shared) = self.snapshot.lock() {
            *shared = Some(snapshot);
        }
        match self.mode {
            Mode::Bar => {
                self.span.pb_set_style(
                    &ProgressStyle::with_template(
                        "{spinner:.green} [{elapsed_precise}] {wide_bar:.cyan/blue} {pos}/{len} people · {msg} · {rate} · ETA {eta}",
                    )
                    .expect("a valid template")
                    .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0} people/s", state.per_sec());
                    })
                    .progress_chars("=> "),
                );
                self.show(status);
                self.span.pb_start();
            }
            Mode::Lines(every) => {
                let snapshot = self.snapshot.clone();
                let ticker = tokio::spawn(async move {
                    let mut interval = tokio::time::interval(every);
                    interval.tick().await;
                    loop {
                        interval.tick().await;
                        let line = snapshot.lock().ok().and_then(|s| s.as_ref().map(Snapshot::line));
                        tracing::info!("progress: {}", line.unwrap_or_default());
                    }
                });
                if let Ok(mut slot) = self.ticker.lock() {
                    *slot = Some(ticker);
                }
            }
            Mode::Silent => {}
        }
    }

    fn page(&self, status: &Status) {
        if let Ok(mut shared) = self.snapshot.lock()
            && let Some(snapshot) = shared.as_mut()
        {
            snapshot.status = status.clone();
        }
        self.show(status);
    }
}

impl fetch::Observer for Progress {
    fn retry(&self, error: &FetchError, wait: Duration) {
        if self.mode == Mode::Bar {
            self.span.pb_set_message(&format!("retrying in {} ({})", human_duration(wait), short(error)));
        }
    }
}

fn short(error: &FetchError) -> String {
    match error {
        FetchError::Api(e) => e.reason(),
        other => other.to_string(),
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(ticker) = self.ticker.get_mut().ok().and_then(Option::take) {
            ticker.abort();
        }
    }
}

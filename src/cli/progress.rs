//! What an operator sees while an export runs: a progress bar on a terminal (log lines print above it,
//! never through it, thanks to tracing-indicatif), or one plain log line every `--progress-interval`
//! without a terminal (cron, CI, pipes).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::ProgressStyle;
use tracing::Span;
use tracing_indicatif::span_ext::IndicatifSpanExt;

use crate::api::PageMeta;
use crate::checkpoint::{Checkpoint, round_credits};
use crate::fetch::{FetchError, Observer, human_duration};

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
    people: u64,
    /// What the export is heading for: the API's total, capped by `max_records`.
    total: Option<u64>,
    pages: u64,
    credits: f64,
    /// People when this run started, to compute this run's rate.
    start_people: u64,
    started: Instant,
}

impl Snapshot {
    fn rate(&self) -> f64 {
        let secs = self.started.elapsed().as_secs_f64();
        if secs > 0.0 { (self.people - self.start_people) as f64 / secs } else { 0.0 }
    }

    fn line(&self) -> String {
        let of = match self.total {
            Some(total) if total > 0 => {
                format!(" of {total} ({:.0}%)", 100.0 * self.people as f64 / total as f64)
            }
            _ => String::new(),
        };
        let eta = match (self.total, self.rate()) {
            (Some(total), rate) if rate > 0.0 && total > self.people => {
                format!(", ETA {}", human_duration(Duration::from_secs_f64((total - self.people) as f64 / rate)))
            }
            _ => String::new(),
        };
        format!(
            "{} people{of}, {} pages, {:.0} people/s{eta}, {} credits used",
            self.people,
            self.pages,
            self.rate(),
            round_credits(self.credits)
        )
    }
}

/// Progress of one export; implements the walk's [`Observer`].
pub struct Progress {
    mode: Mode,
    snapshot: Arc<Mutex<Snapshot>>,
    span: Span,
    ticker: Option<tokio::task::JoinHandle<()>>,
    max_records: Option<u64>,
}

/// The number of people the export is heading for, as far as is known.
fn goal(checkpoint: &Checkpoint, max_records: Option<u64>) -> Option<u64> {
    match (checkpoint.last_total, max_records) {
        (Some(total), Some(max)) => Some(total.min(max)),
        (total, None) => total,
        (None, max) => max,
    }
}

impl Progress {
    /// Starts showing progress from where the checkpoint stands; `cap` (what the limits allow) caps the goal.
    pub fn start(mode: Mode, checkpoint: &Checkpoint, cap: Option<u64>) -> Progress {
        let max_records = cap;
        let snapshot = Arc::new(Mutex::new(Snapshot {
            people: checkpoint.position.people,
            total: goal(checkpoint, max_records),
            pages: checkpoint.counters.pages,
            credits: checkpoint.counters.credits_used,
            start_people: checkpoint.position.people,
            started: Instant::now(),
        }));
        let mut span = Span::none();
        let mut ticker = None;
        match mode {
            Mode::Bar => {
                span = tracing::info_span!("export", indicatif.pb_show = tracing::field::Empty);
                span.pb_set_style(
                    &ProgressStyle::with_template(
                        "{spinner:.green} [{elapsed_precise}] {wide_bar:.cyan/blue} {pos}/{len} people · {msg} · {rate} · ETA {eta}",
                    )
                    .expect("a valid template")
                    .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{:.0} people/s", state.per_sec());
                    })
                    .progress_chars("=> "),
                );
                span.pb_set_length(goal(checkpoint, max_records).unwrap_or(0).max(checkpoint.position.people));
                span.pb_set_position(checkpoint.position.people);
                span.pb_set_message(&message(checkpoint.counters.pages, checkpoint.counters.credits_used));
                span.pb_start();
            }
            Mode::Lines(every) => {
                let snapshot = snapshot.clone();
                ticker = Some(tokio::spawn(async move {
                    let mut interval = tokio::time::interval(every);
                    interval.tick().await;
                    loop {
                        interval.tick().await;
                        let line = snapshot.lock().map(|s| s.line()).unwrap_or_default();
                        tracing::info!("progress: {line}");
                    }
                }));
            }
            Mode::Silent => {}
        }
        Progress { mode, snapshot, span, ticker, max_records }
    }

    /// The span the export runs in (the bar belongs to it).
    pub fn span(&self) -> Span {
        self.span.clone()
    }

    /// A one-line description of where the export stands.
    pub fn line(&self) -> String {
        self.snapshot.lock().map(|s| s.line()).unwrap_or_default()
    }
}

fn message(pages: u64, credits: f64) -> String {
    format!("page {pages} · {} credits", round_credits(credits))
}

impl Observer for Progress {
    fn page(&self, checkpoint: &Checkpoint, _meta: &PageMeta) {
        if let Ok(mut s) = self.snapshot.lock() {
            s.people = checkpoint.position.people;
            s.total = goal(checkpoint, self.max_records);
            s.pages = checkpoint.counters.pages;
            s.credits = checkpoint.counters.credits_used;
        }
        if self.mode == Mode::Bar {
            let people = checkpoint.position.people;
            self.span.pb_set_length(goal(checkpoint, self.max_records).unwrap_or(people).max(people));
            self.span.pb_set_position(people);
            self.span.pb_set_message(&message(checkpoint.counters.pages, checkpoint.counters.credits_used));
        }
    }

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
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
    }
}

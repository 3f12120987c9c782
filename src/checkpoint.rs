//! Durable progress: the per-job state folder, its lock, the checkpoint written after every page, and
//! the report written when an export completes.

use std::collections::BTreeMap;
use std::fs::{File, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::api::SeedStatuses;
use crate::durable;
use crate::job::{Job, Spent};
use crate::plan::{Plan, Stage};
use crate::sink::{Compression, Format, Position, Sealed};
use crate::version::Tool;

/// The endpoint name of a checkpoint written by a `--sandbox` run (a real run names the API's base URL).
pub const SANDBOX_ENDPOINT: &str = "sandbox";

/// Version of the checkpoint format; another version is refused rather than guessed at.
const VERSION: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("another run of this job is in progress ({}{})", lock.display(), pid.map(|p| format!(", held by pid {p}")).unwrap_or_default())]
    Locked { lock: PathBuf, pid: Option<u32> },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "the checkpoint {} is damaged ({reason}), so it is not used; move it away to investigate, or rerun with --fresh to start over",
        path.display()
    )]
    Corrupt { path: PathBuf, reason: String },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io { path: path.to_owned(), source }
}

/// Counters of the walk, carried across resumes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counters {
    /// Pages received and committed.
    pub pages: u64,
    /// Requests sent, retries included.
    pub requests: u64,
    /// Retries after a failed attempt.
    pub retries: u64,
    /// Sum of `creditsUsed`.
    pub credits_used: f64,
    /// People the API returned, duplicates and all (what was paid for).
    pub returned: u64,
}

/// Everything needed to continue an export where it stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub version: u32,
    pub job: String,
    /// Hash of what decides the outputs' content; a resume with another fingerprint is refused.
    pub fingerprint: String,
    /// Where the pages come from: `sandbox`, or the API's base URL. Cursors of one mean nothing to another.
    pub endpoint: String,
    /// The outputs, in the job's order.
    pub outputs: Vec<OutputRecord>,
    /// RFC 3339.
    pub started_at: String,
    pub resumes: u32,
    /// The parts of the search and each part's cursor; once every part is walked (or a limit is reached),
    /// only publishing the file is left.
    pub plan: Plan,
    /// The walk stopped at `max_records` or `max_credits`.
    pub limit_reached: bool,
    pub position: Position,
    pub counters: Counters,
    pub seed_statuses: SeedStatuses,
    pub include_domains_statuses: BTreeMap<String, String>,
    pub redirect_map: BTreeMap<String, String>,
    /// The search's date fields that held placeholders, as resolved when the export started: a resume
    /// sends the same search even after midnight.
    #[serde(default)]
    pub search_dates: BTreeMap<String, String>,
}

/// One output of an export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputRecord {
    /// The path as configured; a resume with another one is refused.
    pub template: String,
    /// The path, resolved once and absolute (so a `{date}` in it does not move at midnight).
    pub path: PathBuf,
    pub format: Format,
    pub compression: Compression,
    /// The finished file's length and SHA-256, recorded just before it is published.
    pub sealed: Option<Sealed>,
    /// The object the finished file is uploaded to (an `s3://` output; `path` is then in the state folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<crate::storage::ObjectTarget>,
    /// The object is uploaded, verified and visible: a rerun does not upload it again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub uploaded: bool,
}

impl OutputRecord {
    /// A record of `output`, resolved to `path`, not sealed yet.
    pub fn new(output: &crate::job::Output, path: PathBuf) -> OutputRecord {
        OutputRecord {
            template: output.template.clone(),
            path,
            format: output.options.format,
            compression: output.options.compression,
            sealed: None,
            object: output.object.clone(),
            uploaded: false,
        }
    }

    /// The partial file beside the output.
    pub fn partial(&self) -> PathBuf {
        partial_path(&self.path)
    }
}

impl Checkpoint {
    /// The state of an export of `job` from `endpoint` into `outputs` that has not fetched anything yet;
    /// `counters` holds what an export discarded before it had spent.
    pub fn new(
        job: &Job,
        endpoint: &str,
        outputs: Vec<OutputRecord>,
        position: Position,
        counters: Counters,
    ) -> Checkpoint {
        Checkpoint {
            version: VERSION,
            job: job.name.clone(),
            fingerprint: job.fingerprint(),
            endpoint: endpoint.to_owned(),
            outputs,
            started_at: jiff::Timestamp::now().to_string(),
            resumes: 0,
            plan: Plan::new(job.window()),
            limit_reached: false,
            position,
            counters,
            seed_statuses: SeedStatuses::default(),
            include_domains_statuses: BTreeMap::new(),
            redirect_map: BTreeMap::new(),
            search_dates: job.search.resolved_dates(),
        }
    }

    /// Whether the walk is over: every part walked, or a limit reached.
    pub fn walk_done(&self) -> bool {
        self.limit_reached || self.plan.done()
    }

    /// What the export has written and spent, for the size of its next request.
    pub fn spent(&self) -> Spent {
        Spent { people: self.position.people, returned: self.counters.returned, credits: self.counters.credits_used }
    }
}

pub use crate::sink::partial_path;

/// `PATH.report.json`.
pub fn report_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".report.json");
    PathBuf::from(name)
}

/// On disk, the checkpoint carries the hash of its own bytes, so damage is caught instead of half-trusted.
#[derive(Serialize, Deserialize)]
struct Envelope<'a> {
    sha256: String,
    #[serde(borrow)]
    checkpoint: &'a RawValue,
}

/// A job's state folder, locked for as long as this value lives.
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
    /// Holding the open file holds the lock; the OS drops it when the process dies, however it dies.
    _lock: File,
}

impl StateDir {
    /// Creates the folder (0700) if needed and takes its lock, or says who holds it.
    pub fn lock(dir: &Path) -> Result<StateDir, CheckpointError> {
        durable::create_private_dir(dir).map_err(io_error(dir))?;
        let lock_path = dir.join("lock");
        let mut lock = durable::open_private(&lock_path, false).map_err(io_error(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = lock.read_to_string(&mut text);
                return Err(CheckpointError::Locked { lock: lock_path, pid: text.trim().parse().ok() });
            }
            Err(TryLockError::Error(source)) => return Err(CheckpointError::Io { path: lock_path, source }),
        }
        lock.set_len(0).map_err(io_error(&lock_path))?;
        write!(lock, "{}", std::process::id()).map_err(io_error(&lock_path))?;
        Ok(StateDir { dir: dir.to_owned(), _lock: lock })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn checkpoint_path(&self) -> PathBuf {
        self.dir.join("checkpoint.json")
    }

    /// The saved checkpoint, if any. A damaged or foreign one is an error, never a partial read.
    pub fn load(&self) -> Result<Option<Checkpoint>, CheckpointError> {
        let path = self.checkpoint_path();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CheckpointError::Io { path, source }),
        };
        parse(&bytes).map(Some).map_err(|reason| CheckpointError::Corrupt { path, reason })
    }

    /// Replaces the checkpoint atomically and durably.
    pub fn save(&self, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
        let path = self.checkpoint_path();
        durable::replace(&path, &encode(checkpoint)).map_err(io_error(&path))
    }

    /// Forgets the export: the next run starts a new one. The checkpoint goes first, so a crash half-way
    /// leaves leftovers that nothing refers to (the next export removes them), never a checkpoint without
    /// its files.
    pub fn clear(&self) -> Result<(), CheckpointError> {
        let remove = |path: PathBuf| match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(CheckpointError::Io { path, source: e }),
            _ => Ok(()),
        };
        remove(self.checkpoint_path())?;
        for entry in std::fs::read_dir(&self.dir).map_err(io_error(&self.dir))? {
            let name = entry.map_err(io_error(&self.dir))?.file_name();
            if crate::sink::is_state_file(&name.to_string_lossy()) {
                remove(self.dir.join(name))?;
            }
        }
        durable::sync_dir(&self.dir).map_err(io_error(&self.dir))
    }
}

fn encode(checkpoint: &Checkpoint) -> Vec<u8> {
    let inner = serde_json::to_string_pretty(checkpoint).expect("a checkpoint always serializes");
    let sha256 = hex::encode(Sha256::digest(inner.as_bytes()));
    let raw = RawValue::from_string(inner).expect("valid JSON");
    let mut out = serde_json::to_vec_pretty(&Envelope { sha256, checkpoint: &raw }).expect("serializes");
    out.push(b'\n');
    out
}

/// Reads a checkpoint file. Public for the fuzzer.
pub fn parse(bytes: &[u8]) -> Result<Checkpoint, String> {
    let envelope: Envelope = serde_json::from_slice(bytes).map_err(|e| format!("not a checkpoint file: {e}"))?;
    let actual = hex::encode(Sha256::digest(envelope.checkpoint.get().as_bytes()));
    if actual != envelope.sha256 {
        return Err("its checksum does not match its content".to_owned());
    }
    // The version first, so a checkpoint of another build says so rather than "unexpected content".
    #[derive(Deserialize)]
    struct Versioned {
        version: u32,
    }
    let Versioned { version } =
        serde_json::from_str(envelope.checkpoint.get()).map_err(|e| format!("unexpected content: {e}"))?;
    if version != VERSION {
        return Err(format!("format version {version} (this build reads {VERSION})"));
    }
    serde_json::from_str(envelope.checkpoint.get()).map_err(|e| format!("unexpected content: {e}"))
}

/// `PATH.report.json`: what a completed export did. Written beside each output; `output`, `format`,
/// `bytes` and `sha256` are that output's, and `outputs` lists every output of the export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub job: String,
    /// `complete` (exit 0), `incomplete` (exit 8: published, but the API did not deliver everyone it
    /// counts) or `failed` (the exit code and reason say why; a failed run that resumes writes the report
    /// again).
    #[serde(default = "complete")]
    pub status: String,
    #[serde(default)]
    pub exit_code: u8,
    /// Why the run failed or is incomplete.
    #[serde(default)]
    pub reason: Option<String>,
    /// The first request's body, as sent (the token is a header, never in it), date placeholders resolved.
    #[serde(default)]
    pub request: serde_json::Value,
    /// `all` or `new` (`[output] deliver`).
    #[serde(default = "all")]
    pub deliver: String,
    /// With `deliver = "new"`: who was new, and who earlier runs had delivered.
    #[serde(default)]
    pub delivery: Option<Delivery>,
    /// Where the people came from: the API's base URL, or the in-process sandbox's address.
    #[serde(default)]
    pub base_url: String,
    /// The people are the sandbox's synthetic ones (`run --sandbox`), not Ocean's.
    #[serde(default)]
    pub sandbox: bool,
    pub output: PathBuf,
    pub format: Format,
    pub started_at: String,
    pub finished_at: String,
    pub resumes: u32,
    pub people: u64,
    pub pages: u64,
    pub requests: u64,
    pub retries: u64,
    pub credits_used: f64,
    pub returned: u64,
    pub duplicates: u64,
    pub without_id: u64,
    /// `total` of the whole search, as the API reported it.
    pub total: Option<u64>,
    /// For each part walked, its `total` minus the people the API returned for it, summed, when the API
    /// reported totals (duplicates and people without an id count as returned: they came, they just were
    /// not written).
    pub shortfall: Option<i64>,
    pub limit_reached: bool,
    /// Every person of `total` was exported, or the limits explain the gap.
    pub complete: bool,
    /// Why not, when not.
    pub incomplete: Vec<String>,
    /// `api`: the API's order (the search was not split); `per part`: the API's order within each part,
    /// parts in the order of `parts`.
    pub order: String,
    /// The window the plan split to (configured, or learned where the API stopped), and how.
    pub result_window: Option<u64>,
    pub window_learned: bool,
    /// `size: 1` requests spent on planning.
    pub probes: u64,
    /// Every part that was fetched from: the whole search, and the parts it was split into (a part split
    /// further is listed with `split`, for the pages it had before).
    pub parts: Vec<PartReport>,
    pub seed_statuses: SeedStatuses,
    #[serde(rename = "includeDomainsStatuses")]
    pub include_domains_statuses: BTreeMap<String, String>,
    #[serde(rename = "redirectMap")]
    pub redirect_map: BTreeMap<String, String>,
    pub bytes: u64,
    pub sha256: String,
    /// The build that wrote it: name, version, git commit, features.
    pub tool: Tool,
    /// Every output of the export, in the job's order.
    pub outputs: Vec<OutputReport>,
}

fn complete() -> String {
    "complete".to_owned()
}

fn all() -> String {
    "all".to_owned()
}

/// A `deliver = "new"` run against the job's delivery ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// People written: no earlier run delivered them.
    pub new: u64,
    /// People the search found that earlier runs delivered: not written, but the search charged for them.
    pub already_delivered: u64,
    /// What they cost, at this run's price per person.
    pub already_delivered_credits: f64,
    pub ledger: PathBuf,
    /// People in the ledger after this run.
    pub ledger_people: u64,
}

/// One output in the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputReport {
    pub path: PathBuf,
    pub format: Format,
    pub compression: Compression,
    /// `appended` (written page by page) or `rendered` (made from the spool at the end).
    pub written: String,
    pub bytes: u64,
    pub sha256: String,
}

/// One part of a search in the report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PartReport {
    /// The filters the part adds to the search (`country in dk, se; no company size`).
    pub filters: String,
    pub total: Option<u64>,
    /// People its pages returned, duplicates included.
    pub returned: u64,
    /// New people it added to the output.
    pub exported: u64,
    /// `total` minus `returned`.
    pub shortfall: u64,
    /// The part was split further; what it `exported` came from its own first pages, before the split.
    pub split: bool,
}

impl Report {
    /// The report of a completed export fetched from `base_url`, every output sealed, as written beside
    /// output `index`.
    pub fn new(checkpoint: &Checkpoint, index: usize, base_url: &str) -> Report {
        let c = checkpoint;
        let outputs: Vec<OutputReport> = c
            .outputs
            .iter()
            .map(|o| {
                let sealed = o.sealed.clone().unwrap_or(Sealed { bytes: 0, sha256: String::new() });
                OutputReport {
                    path: o.object.as_ref().map_or_else(|| o.path.clone(), |object| PathBuf::from(object.url())),
                    format: o.format,
                    compression: o.compression,
                    written: if o.format.appended() { "appended" } else { "rendered" }.to_owned(),
                    bytes: sealed.bytes,
                    sha256: sealed.sha256,
                }
            })
            .collect();
        let this = outputs[index].clone();
        let plan = &c.plan;
        let total = plan.parts[0].total;
        let leaves: Vec<_> = plan.leaves().collect();
        let shortfall = leaves.iter().map(|p| p.total.map(|t| t as i64 - p.returned as i64)).sum::<Option<i64>>();
        let mut incomplete: Vec<String> = plan.gaps.clone();
        for part in leaves.iter().filter(|p| p.shortfall() > 0) {
            incomplete.push(format!(
                "{}: the API delivered {} of {} people",
                part.slice.describe(),
                part.returned,
                part.total.unwrap_or(0)
            ));
        }
        for part in &plan.unsplittable {
            incomplete.push(format!("{part}: above the result window, and nothing left to split it by"));
        }
        if c.limit_reached {
            incomplete.clear();
        }
        let complete = incomplete.is_empty();
        Report {
            job: c.job.clone(),
            status: if complete { "complete" } else { "incomplete" }.to_owned(),
            exit_code: if complete { 0 } else { 8 },
            reason: (!complete).then(|| incomplete.join("; ")),
            request: serde_json::Value::Null,
            deliver: "all".to_owned(),
            delivery: None,
            base_url: base_url.trim_end_matches('/').to_owned(),
            sandbox: c.endpoint == SANDBOX_ENDPOINT,
            output: this.path,
            format: this.format,
            started_at: c.started_at.clone(),
            finished_at: jiff::Timestamp::now().to_string(),
            resumes: c.resumes,
            people: c.position.people,
            pages: c.counters.pages,
            requests: c.counters.requests,
            retries: c.counters.retries,
            credits_used: round_credits(c.counters.credits_used),
            returned: c.counters.returned,
            duplicates: c.position.duplicates,
            without_id: c.position.without_id,
            total,
            shortfall,
            limit_reached: c.limit_reached,
            complete,
            incomplete,
            order: if plan.split() { "per part" } else { "api" }.to_owned(),
            result_window: plan.window,
            window_learned: plan.window_learned,
            probes: plan.probes,
            parts: plan
                .parts
                .iter()
                .filter(|p| p.pages > 0)
                .map(|p| PartReport {
                    filters: p.slice.describe(),
                    total: p.total,
                    returned: p.returned,
                    exported: p.written,
                    shortfall: p.shortfall(),
                    split: matches!(p.stage, Stage::Split { .. }),
                })
                .collect(),
            seed_statuses: c.seed_statuses.clone(),
            include_domains_statuses: c.include_domains_statuses.clone(),
            redirect_map: c.redirect_map.clone(),
            bytes: this.bytes,
            sha256: this.sha256,
            tool: Tool::current(),
            outputs,
        }
    }

    /// Marks the report of a run that failed with `exit_code` for `reason`.
    pub fn failed(mut self, exit_code: u8, reason: String) -> Report {
        self.status = "failed".to_owned();
        self.exit_code = exit_code;
        self.reason = Some(reason);
        self.complete = false;
        self
    }

    /// Reads `PATH.report.json`, if there is one that can be read.
    pub fn read(output: &Path) -> Option<Report> {
        serde_json::from_slice(&std::fs::read(report_path(output)).ok()?).ok()
    }

    /// Whether this report describes a published export (complete or incomplete, or failed only for
    /// having too few people): one that cost credits and delivered its file.
    pub fn published(&self) -> bool {
        self.status != "failed" || self.exit_code == 9
    }

    /// Writes `PATH.report.json` (0600, atomically).
    pub fn write(&self) -> Result<PathBuf, CheckpointError> {
        self.write_beside(&self.output)
    }

    /// Writes the report beside the local file `output` (an uploaded output's, in the state folder).
    pub fn write_beside(&self, output: &Path) -> Result<PathBuf, CheckpointError> {
        let path = report_path(output);
        let mut bytes = serde_json::to_vec_pretty(self).expect("a report always serializes");
        bytes.push(b'\n');
        durable::replace(&path, &bytes).map_err(io_error(&path))?;
        Ok(path)
    }
}

/// Sums of 0.2 drift in binary floating point; credits are shown to 1/1000.
pub fn round_credits(credits: f64) -> f64 {
    (credits * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Checkpoint {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.toml");
        std::fs::write(&path, "[search]\n").unwrap();
        let context = crate::job::Context {
            overrides: Default::default(),
            environment: Vec::new(),
            user_settings: None,
            now: jiff::ZonedDateTime::now(),
        };
        let job = crate::job::load(&path, &context).unwrap();
        let records = vec![OutputRecord::new(&job.outputs[0], "/out/x.csv".into())];
        let mut c = Checkpoint::new(&job, "sandbox", records, Position::default(), Counters::default());
        c.plan.parts[0].cursor.next = Some("abc".into());
        c.counters.pages = 3;
        c
    }

    #[test]
    fn round_trip_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::lock(&dir.path().join(".state/job")).unwrap();
        assert_eq!(state.load().unwrap(), None);
        let saved = sample();
        state.save(&saved).unwrap();
        assert_eq!(state.load().unwrap(), Some(saved));
        let path = state.checkpoint_path();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"pages\": 3", "\"pages\": 4")).unwrap();
        assert!(matches!(state.load(), Err(CheckpointError::Corrupt { .. })));
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        assert!(matches!(state.load(), Err(CheckpointError::Corrupt { .. })));
        state.clear().unwrap();
        assert_eq!(state.load().unwrap(), None);
    }

    #[test]
    fn second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let _first = StateDir::lock(dir.path()).unwrap();
        match StateDir::lock(dir.path()) {
            Err(CheckpointError::Locked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(_first);
        assert!(StateDir::lock(dir.path()).is_ok());
    }

    #[test]
    fn paths_beside_the_output() {
        assert_eq!(partial_path(Path::new("o/a.csv")), Path::new("o/a.csv.partial"));
        assert_eq!(report_path(Path::new("o/a.csv")), Path::new("o/a.csv.report.json"));
    }
}

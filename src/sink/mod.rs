//! People → outputs: de-duplication by id, one or several output files written from the same pages, and
//! page-sized commit and rollback, so that a failed or abandoned page leaves no trace in any of them.
//!
//! How each format is written:
//! - **Appended** (CSV, NDJSON, and their gzip and zstd forms): rows go into `PATH.partial` as pages
//!   come; a commit ends the page (one gzip member or zstd frame when compressed) and fsyncs the file,
//!   and the checkpoint records its length and XXH3. A resume checks that prefix and cuts off the rest,
//!   so a `kill -9` anywhere costs at most the page in hand.
//! - **Rendered** (Parquet, XLSX: files that end with an index of what came before, so they cannot be
//!   appended to): people go into the spool (`spool.ndjson` in the job's state folder, appended and
//!   checkpointed like an NDJSON output), and a thread per output renders the spool into `PATH.partial`
//!   as it grows ([`render`]). The file is finished when the walk is done. A run that stops before then
//!   renders again from the spool, without fetching anything it already has.
//!
//! One id set serves every output of an export: a person is in all of them or in none. At the end each
//! output is sealed (finished, fsynced, its length and SHA-256 recorded in the checkpoint) and then
//! published by a rename ([`publish`]), one after the other; a rerun after a crash in between renames
//! what is sealed and left, and recognises what is already published.

mod append;
mod buffer;
pub mod columns;
pub mod compress;
pub mod csv;
mod digest;
pub mod ndjson;
pub mod parquet;
mod render;
pub mod schema;
mod seen;
mod xlsx;

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::api::{Person, PersonSink};
use crate::durable;
use append::Appender;
pub use buffer::{PageBuffer, ReplayError};
pub use columns::{Column, ColumnItem, ColumnSpec, Preset};
pub use compress::Compression;
use render::Renderer;
pub use seen::sorted_ids;
use seen::{Seen, SeenFiles};

use crate::ledger::Ledger;
pub use xlsx::PEOPLE_PER_SHEET;

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Ndjson,
    Parquet,
    Xlsx,
}

impl Format {
    pub const ALL: &[Format] = &[Format::Csv, Format::Ndjson, Format::Parquet, Format::Xlsx];

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
            Format::Parquet => "parquet",
            Format::Xlsx => "xlsx",
        }
    }

    /// The format an extension (without the dot) names.
    pub fn from_extension(extension: &str) -> Option<Format> {
        match extension.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "ndjson" | "jsonl" | "json" => Some(Format::Ndjson),
            "parquet" | "pq" => Some(Format::Parquet),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    /// Whether the file grows page by page (otherwise it is rendered from the spool at the end).
    pub fn appended(self) -> bool {
        matches!(self, Format::Csv | Format::Ndjson)
    }

    /// Whether `columns` and `preset` shape it.
    pub fn has_columns(self) -> bool {
        matches!(self, Format::Csv | Format::Xlsx)
    }
}

/// What a path's extensions say: `people.csv.gz` is CSV, gzip.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Implied {
    pub format: Option<Format>,
    pub compression: Option<Compression>,
    /// The extension that names the format (or that no format has: `txt`), if the path has one.
    pub extension: Option<String>,
}

/// The format and compression a path's extensions imply.
pub fn implied(path: &Path) -> Implied {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut parts: Vec<&str> = name.split('.').skip(1).collect();
    let compression = parts.last().and_then(|last| Compression::from_suffix(last));
    if compression.is_some() {
        parts.pop();
    }
    let extension = parts.last().map(|e| (*e).to_owned()).filter(|e| !e.is_empty());
    Implied { format: extension.as_deref().and_then(Format::from_extension), compression, extension }
}

/// How people become one output's bytes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutputOptions {
    pub format: Format,
    pub compression: Compression,
    /// The compression level; `None` for the compression's default.
    pub level: Option<i32>,
    /// The columns of CSV and XLSX (empty for the others), already checked.
    pub columns: Vec<Column>,
    /// Prefix `'` to CSV cells a spreadsheet would run as a formula.
    pub neutralise_formulas: bool,
    /// Start a CSV file with a UTF-8 byte-order mark (for Excel).
    pub bom: bool,
}

impl OutputOptions {
    pub fn level(&self) -> i32 {
        self.level.unwrap_or(self.compression.default_level())
    }

    /// What decides the bytes of this output (for the job's fingerprint): options that do not apply to
    /// the format are left out, so they can change without refusing a resume.
    pub fn fingerprint(&self) -> serde_json::Value {
        let csv = self.format == Format::Csv;
        serde_json::json!({
            "format": self.format,
            "compression": self.compression,
            "level": (self.compression != Compression::None).then(|| self.level()),
            "columns": if self.format.has_columns() { serde_json::json!(self.columns) } else { serde_json::Value::Null },
            "neutralise": csv && self.neutralise_formulas,
            "bom": csv && self.bom,
            "schema": (self.format == Format::Parquet).then_some(schema::VERSION),
        })
    }
}

/// One output of an export: its final path (absolute) and how it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub path: PathBuf,
    pub options: OutputOptions,
}

/// How far a partial file is durably written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePosition {
    /// Length of the file.
    pub bytes: u64,
    /// XXH3-64 of those bytes, hex: cheap enough to keep on the hot path, enough to catch a partial file
    /// that changed since the checkpoint.
    pub checksum: String,
}

/// How far the export is durably written. Recorded in every checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// People written (each with a distinct id), in every output.
    pub people: u64,
    /// People skipped because an earlier page already had their id.
    pub duplicates: u64,
    /// People skipped because they had no id.
    pub without_id: u64,
    /// People skipped because an earlier run of the job delivered them (`deliver = "new"`).
    #[serde(default)]
    pub already_delivered: u64,
    /// The files holding the ids written, for de-duplication.
    pub seen: SeenFiles,
    /// Each output's partial file, in the job's order; `None` for outputs rendered from the spool.
    pub files: Vec<Option<FilePosition>>,
    /// The spool, when an output is rendered from it.
    pub spool: Option<FilePosition>,
}

/// A finished output: the length and SHA-256 of its file, recorded before it is published.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    pub bytes: u64,
    pub sha256: String,
}

/// What happened to the people of the page in progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageCounts {
    pub written: u64,
    pub duplicates: u64,
    pub without_id: u64,
    pub already_delivered: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("{} does not match the checkpoint ({reason}); rerun with --fresh to start over", path.display())]
    Mismatch { path: PathBuf, reason: String },
    #[error("{} is being written by another run (another job with the same output path?)", path.display())]
    Busy { path: PathBuf },
}

pub(crate) fn write_error(path: &Path) -> impl FnOnce(io::Error) -> SinkError + '_ {
    move |source| SinkError::Write { path: path.to_owned(), source }
}

/// `PATH.partial`: where an output is written until it is published.
pub fn partial_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// The spool in a job's state folder.
const SPOOL: &str = "spool.ndjson";

fn spool_options() -> OutputOptions {
    OutputOptions {
        format: Format::Ndjson,
        compression: Compression::None,
        level: None,
        columns: Vec::new(),
        neutralise_formulas: false,
        bom: false,
    }
}

/// One output while the export runs.
enum Slot {
    Appended(Box<Appender>),
    Rendered(Renderer),
    /// Finished; only its rename is left.
    Sealed,
}

/// The outputs of one export, written page by page.
pub struct Sink {
    slots: Vec<Slot>,
    spool: Option<Appender>,
    seen: Seen,
    committed: Position,
    page: PageCounts,
    page_limit: Option<u64>,
    /// With `deliver = "new"`: who earlier runs delivered, left out.
    ledger: Option<Ledger>,
}

/// Starts the renderer of a rendered output.
fn renderer(target: &Target, spool: &Path, state: &Path, committed: u64, created: i64) -> Result<Renderer, SinkError> {
    let partial = partial_path(&target.path);
    match target.options.format {
        Format::Parquet => Renderer::start(spool, &partial, committed, |file| {
            Ok(Box::new(parquet::ParquetRender::new(file)?) as Box<dyn render::Render>)
        }),
        Format::Xlsx => {
            let columns = target.options.columns.clone();
            let state = state.to_owned();
            Renderer::start(spool, &partial, committed, move |file| {
                Ok(Box::new(xlsx::XlsxRender::new(file, &columns, &state, created)?) as Box<dyn render::Render>)
            })
        }
        Format::Csv | Format::Ndjson => unreachable!("appended formats are not rendered"),
    }
}

impl Sink {
    /// Starts a new export into `targets`: empty partial files (CSV headers committed at once), an empty
    /// spool if an output is rendered, and an empty id set, in `state` (the job's state folder).
    /// `created` (Unix seconds, the export's start) dates the workbooks.
    pub fn create(targets: &[Target], state: &Path, created: i64) -> Result<Sink, SinkError> {
        let seen = Seen::create(state).map_err(write_error(state))?;
        let spool_path = state.join(SPOOL);
        let spool = if targets.iter().any(|t| !t.options.format.appended()) {
            Some(Appender::create(&spool_path, &spool_options(), false)?)
        } else {
            None
        };
        let mut slots = Vec::with_capacity(targets.len());
        for target in targets {
            slots.push(if target.options.format.appended() {
                Slot::Appended(Box::new(Appender::create(&partial_path(&target.path), &target.options, true)?))
            } else {
                Slot::Rendered(renderer(target, &spool_path, state, 0, created)?)
            });
        }
        let mut sink = Sink {
            slots,
            spool,
            seen,
            committed: Position::default(),
            page: PageCounts::default(),
            page_limit: None,
            ledger: None,
        };
        sink.commit()?;
        Ok(sink)
    }

    /// Continues an export from a checkpoint's position. Outputs already sealed (`sealed[i]`) are left as
    /// they are; the others are checked against the position and cut back to it (rendered ones start
    /// again from the spool).
    pub fn resume(
        targets: &[Target],
        state: &Path,
        at: &Position,
        sealed: &[bool],
        created: i64,
    ) -> Result<Sink, SinkError> {
        let state_mismatch = |reason: String| SinkError::Mismatch { path: state.to_owned(), reason };
        if at.files.len() != targets.len() || sealed.len() != targets.len() {
            return Err(state_mismatch(format!(
                "it records {} outputs, the job has {}",
                at.files.len(),
                targets.len()
            )));
        }
        if at.seen.len() != at.people {
            return Err(state_mismatch(format!("{} ids recorded for {} people", at.seen.len(), at.people)));
        }
        let seen = Seen::open(state, &at.seen).map_err(|e| match e.kind() {
            // Files that are not what the checkpoint says: the state is damaged.
            io::ErrorKind::NotFound | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
                state_mismatch(e.to_string())
            }
            // Files that cannot be read right now: fix that and resume.
            _ => write_error(state)(e),
        })?;
        let spool_path = state.join(SPOOL);
        let rendering = targets.iter().zip(sealed).any(|(t, sealed)| !t.options.format.appended() && !sealed);
        let spool = match (&at.spool, rendering) {
            (Some(position), true) => Some(Appender::resume(&spool_path, &spool_options(), position, false)?),
            (None, true) => return Err(state_mismatch("it records no spool to render from".to_owned())),
            (_, false) => None,
        };
        let spooled = spool.as_ref().map_or(0, |s| s.committed().bytes);
        let mut slots = Vec::with_capacity(targets.len());
        for (i, target) in targets.iter().enumerate() {
            slots.push(match (sealed[i], target.options.format.appended(), &at.files[i]) {
                (true, _, _) => Slot::Sealed,
                (false, true, Some(position)) => Slot::Appended(Box::new(Appender::resume(
                    &partial_path(&target.path),
                    &target.options,
                    position,
                    true,
                )?)),
                (false, true, None) => {
                    return Err(state_mismatch(format!("it records no file position for {}", target.path.display())));
                }
                (false, false, _) => Slot::Rendered(renderer(target, &spool_path, state, spooled, created)?),
            });
        }
        Ok(Sink {
            slots,
            spool,
            seen,
            committed: at.clone(),
            page: PageCounts::default(),
            page_limit: None,
            ledger: None,
        })
    }

    /// Leaves out the people this ledger holds (`deliver = "new"`).
    pub fn set_ledger(&mut self, ledger: Ledger) {
        self.ledger = Some(ledger);
    }

    /// The ledger given to [`Sink::set_ledger`], back.
    pub fn take_ledger(&mut self) -> Option<Ledger> {
        self.ledger.take()
    }

    /// At most this many more people are written on the page in progress (`None`: no limit).
    pub fn set_page_limit(&mut self, limit: Option<u64>) {
        self.page_limit = limit;
    }

    /// What happened to the people of the page in progress.
    pub fn page_counts(&self) -> PageCounts {
        self.page
    }

    /// The last committed position.
    pub fn position(&self) -> &Position {
        &self.committed
    }

    /// Makes the page durable (every file and the ids fsynced) and returns the new position, for the
    /// checkpoint.
    pub fn commit(&mut self) -> Result<&Position, SinkError> {
        let mut files = Vec::with_capacity(self.slots.len());
        for (i, slot) in self.slots.iter_mut().enumerate() {
            files.push(match slot {
                Slot::Appended(appender) => Some(appender.commit()?.clone()),
                Slot::Rendered(_) => None,
                Slot::Sealed => self.committed.files.get(i).cloned().flatten(),
            });
        }
        let spool = match &mut self.spool {
            Some(spool) => Some(spool.commit()?.clone()),
            None => self.committed.spool.clone(),
        };
        let dir = self.seen.dir().to_owned();
        let seen = self.seen.commit().map_err(write_error(&dir))?.clone();
        if let Some(spool) = &spool {
            for slot in &self.slots {
                if let Slot::Rendered(renderer) = slot {
                    renderer.advance(spool.bytes);
                }
            }
        }
        self.committed = Position {
            people: seen.len(),
            duplicates: self.committed.duplicates + self.page.duplicates,
            without_id: self.committed.without_id + self.page.without_id,
            already_delivered: self.committed.already_delivered + self.page.already_delivered,
            seen,
            files,
            spool,
        };
        self.page = PageCounts::default();
        Ok(&self.committed)
    }

    /// Throws away everything since the last commit: bytes, ids and counts.
    pub fn rollback(&mut self) -> Result<(), SinkError> {
        self.seen.rollback();
        self.page = PageCounts::default();
        for slot in &mut self.slots {
            if let Slot::Appended(appender) = slot {
                appender.rollback()?;
            }
        }
        if let Some(spool) = &mut self.spool {
            spool.rollback()?;
        }
        Ok(())
    }

    /// Finishes output `index` after the last commit: its partial file complete and fsynced (a rendered
    /// one rendered to the end first). Returns its length and SHA-256, for the checkpoint, before
    /// [`publish`] renames it.
    pub fn seal(&mut self, index: usize) -> Result<Sealed, SinkError> {
        let spooled = self.committed.spool.as_ref().map_or(0, |s| s.bytes);
        match std::mem::replace(&mut self.slots[index], Slot::Sealed) {
            Slot::Appended(appender) => appender.seal(),
            Slot::Rendered(renderer) => renderer.seal(spooled),
            Slot::Sealed => unreachable!("an output is sealed once"),
        }
    }
}

/// Publishes a sealed output: renames `PATH.partial` to `PATH`, durably. If the partial file is gone and
/// `PATH` is the sealed file, an earlier run published it: nothing to do.
pub fn publish(path: &Path, sealed: &Sealed) -> Result<(), SinkError> {
    let partial = partial_path(path);
    let mismatch = |reason: String| SinkError::Mismatch { path: path.to_owned(), reason };
    match std::fs::metadata(&partial) {
        Ok(meta) if meta.len() == sealed.bytes => return durable::rename(&partial, path).map_err(write_error(path)),
        Ok(meta) => {
            return Err(mismatch(format!(
                "{} holds {} bytes, the sealed file {}",
                partial.display(),
                meta.len(),
                sealed.bytes
            )));
        }
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(write_error(&partial)(e)),
        Err(_) => {}
    }
    let published = std::fs::metadata(path).is_ok_and(|m| m.len() == sealed.bytes)
        && digest::file_sha256(path).is_ok_and(|sha| sha == sealed.sha256);
    if published {
        Ok(())
    } else {
        Err(mismatch("its finished partial file is gone, and the file there is not the one it finished".to_owned()))
    }
}

/// Whether an output is published: its partial file is gone and the file is the sealed one.
pub fn is_published(path: &Path, sealed: &Sealed) -> bool {
    !partial_path(path).exists()
        && std::fs::metadata(path).is_ok_and(|m| m.len() == sealed.bytes)
        && digest::file_sha256(path).is_ok_and(|sha| sha == sealed.sha256)
}

/// Whether a file in a job's state folder belongs to an export's state (the id set, the spool), so
/// clearing the state removes it.
pub fn is_state_file(name: &str) -> bool {
    seen::is_seen_file(name) || name == SPOOL
}

/// Removes the partial file of a discarded export, unless another run is writing it.
pub fn discard_partial(path: &Path) -> Result<(), SinkError> {
    match durable::open_existing(path) {
        Ok(file) => {
            append::lock(&file, path)?;
            std::fs::remove_file(path).map_err(write_error(path))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(write_error(path)(e)),
    }
}

/// The SHA-256 (hex) of a file.
pub fn file_sha256(path: &Path) -> Result<String, SinkError> {
    digest::file_sha256(path).map_err(write_error(path))
}

pub use append::file_checksum;

impl PersonSink for Sink {
    type Error = SinkError;

    fn person(&mut self, person: &Person<'_>) -> Result<(), SinkError> {
        let Some(id) = person.id() else {
            self.page.without_id += 1;
            if self.committed.without_id + self.page.without_id <= 3 {
                let start: String = String::from_utf8_lossy(person.raw()).chars().take(120).collect();
                tracing::warn!(person = %start, "skipping a person without an id");
            }
            return Ok(());
        };
        let Some(new_id) = self.seen.unseen(&id).map_err(|e| write_error(self.seen.dir())(e))? else {
            self.page.duplicates += 1;
            tracing::debug!(%id, "skipping a person already written");
            return Ok(());
        };
        if let Some(ledger) = &self.ledger
            && ledger.contains(new_id).map_err(|e| write_error(ledger.path())(e))?
        {
            self.page.already_delivered += 1;
            return Ok(());
        }
        if self.page_limit.is_some_and(|limit| self.page.written >= limit) {
            return Ok(()); // past max_records: the API sent more than was asked for
        }
        self.seen.add(new_id);
        for slot in &mut self.slots {
            if let Slot::Appended(appender) = slot {
                appender.person(person)?;
            }
        }
        if let Some(spool) = &mut self.spool {
            spool.person(person)?;
        }
        self.page.written += 1;
        Ok(())
    }
}

impl crate::fetch::PageSink for Sink {
    fn rollback(&mut self) -> Result<(), SinkError> {
        Sink::rollback(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishing_renames_once_and_recognises_an_earlier_publish() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(partial_path(&path), "a,b\r\n").unwrap();
        let sealed = Sealed { bytes: 5, sha256: digest::file_sha256(&partial_path(&path)).unwrap() };
        assert!(!is_published(&path, &sealed));
        publish(&path, &sealed).unwrap();
        assert!(is_published(&path, &sealed) && !partial_path(&path).exists());
        // Again, after a crash between the rename and the report: nothing to do.
        publish(&path, &sealed).unwrap();
        // A file that is not the sealed one is refused, not reported as published.
        std::fs::write(&path, "a,c\r\n").unwrap();
        assert!(!is_published(&path, &sealed));
        assert!(matches!(publish(&path, &sealed), Err(SinkError::Mismatch { .. })));
        // A partial file of another length is refused too.
        std::fs::write(partial_path(&path), "a").unwrap();
        assert!(matches!(publish(&path, &sealed), Err(SinkError::Mismatch { .. })));
    }

    #[test]
    fn extensions_imply_format_and_compression() {
        let of = |p: &str| {
            let i = implied(Path::new(p));
            (i.format, i.compression, i.extension)
        };
        assert_eq!(of("o/x.csv"), (Some(Format::Csv), None, Some("csv".into())));
        assert_eq!(of("o/x.ndjson.gz"), (Some(Format::Ndjson), Some(Compression::Gzip), Some("ndjson".into())));
        assert_eq!(of("x.CSV.ZST"), (Some(Format::Csv), Some(Compression::Zstd), Some("CSV".into())));
        assert_eq!(of("x.parquet"), (Some(Format::Parquet), None, Some("parquet".into())));
        assert_eq!(of("x.gz"), (None, Some(Compression::Gzip), None));
        assert_eq!(of("x.txt"), (None, None, Some("txt".into())));
        assert_eq!(of("x"), (None, None, None));
        assert_eq!(of("v1.2/x.jsonl"), (Some(Format::Ndjson), None, Some("jsonl".into())));
    }
}

//! People → output: the partial file, CSV or NDJSON rows, de-duplication by id, and page-sized
//! commit and rollback, so that a failed or abandoned page leaves no trace in the output.

mod buffer;
pub mod csv;
mod digest;
pub mod ndjson;
mod seen;

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3Default;

use crate::api::{Person, PersonSink};
use crate::durable;
pub use buffer::{PageBuffer, ReplayError};
use digest::Digest;
use seen::{Seen, SeenFiles};

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Ndjson,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }

    /// The format a path's extension implies (`.csv`; `.ndjson`, `.jsonl`, `.json`).
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "ndjson" | "jsonl" | "json" => Some(Format::Ndjson),
            _ => None,
        }
    }
}

/// How people become rows.
#[derive(Clone, Debug, PartialEq)]
pub struct SinkOptions {
    pub format: Format,
    /// CSV columns, already checked; `None` for all of them.
    pub columns: Option<Vec<String>>,
    /// Prefix `'` to CSV cells a spreadsheet would run as a formula.
    pub neutralise_formulas: bool,
    /// Start a CSV file with a UTF-8 byte-order mark (for Excel).
    pub bom: bool,
}

/// How far the output is durably written. Recorded in every checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Length of the partial file.
    pub bytes: u64,
    /// XXH3-64 of those bytes, hex: cheap enough to keep on the hot path, enough to catch a partial file
    /// that changed since the checkpoint.
    pub checksum: String,
    /// People written (each with a distinct id).
    pub people: u64,
    /// People skipped because an earlier page already had their id.
    pub duplicates: u64,
    /// People skipped because they had no id.
    pub without_id: u64,
    /// The files holding the ids written, for de-duplication.
    pub seen: SeenFiles,
}

/// What happened to the people of the page in progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageCounts {
    pub written: u64,
    pub duplicates: u64,
    pub without_id: u64,
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

/// Holds the partial file's OS lock for as long as the file is open, so two jobs that share an output
/// path cannot interleave their pages.
fn lock(file: &File, path: &Path) -> Result<(), SinkError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(SinkError::Busy { path: path.to_owned() }),
        Err(std::fs::TryLockError::Error(e)) => Err(write_error(path)(e)),
    }
}

/// The partial file, with the length and checksum of everything appended to it.
struct Output {
    path: PathBuf,
    file: File,
    checksum: Xxh3Default,
    len: u64,
}

impl Output {
    fn append(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        self.file.write_all(bytes).map_err(|source| SinkError::Write { path: self.path.clone(), source })?;
        self.checksum.update(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }

    fn error(&self, source: io::Error) -> SinkError {
        SinkError::Write { path: self.path.clone(), source }
    }
}

/// Bytes encoded but not yet appended to the file. Shared with the CSV writer, which owns its `W` and
/// would otherwise give no way to take the bytes back out (or throw them away on rollback).
#[derive(Clone, Default)]
struct Spool(Arc<Mutex<Vec<u8>>>);

impl Spool {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        // A poisoned lock only means a panic elsewhere mid-write; the bytes are still bytes.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct CsvEncoder {
    writer: ::csv::Writer<Spool>,
    layout: csv::Layout,
    row: csv::Row,
    neutralise: bool,
}

enum Encoder {
    Csv(Box<CsvEncoder>),
    Ndjson,
}

/// Spooled bytes beyond this go to the file before the next person.
const SPOOL_LIMIT: usize = 1 << 20;

/// The output of one export, written page by page.
pub struct Sink {
    out: Output,
    spool: Spool,
    encoder: Encoder,
    seen: Seen,
    committed: Position,
    committed_checksum: Xxh3Default,
    /// The SHA-256 of the committed output, for the report, computed on its own thread.
    digest: Digest,
    page: PageCounts,
    page_limit: Option<u64>,
}

impl Sink {
    /// Starts a new export: an empty partial file with the CSV header (and BOM), committed at once.
    /// The ids written are kept in `state`, the job's state folder.
    pub fn create(partial: &Path, state: &Path, options: &SinkOptions) -> Result<Sink, SinkError> {
        let file = durable::open_private(partial, false).map_err(write_error(partial))?;
        lock(&file, partial)?;
        file.set_len(0).map_err(write_error(partial))?;
        durable::sync_dir(partial.parent().unwrap_or(Path::new("."))).map_err(write_error(partial))?;
        let seen = Seen::create(state).map_err(write_error(state))?;
        let out = Output { path: partial.to_owned(), file, checksum: Xxh3Default::new(), len: 0 };
        let digest = Digest::start(partial, 0).map_err(write_error(partial))?;
        let mut sink = Sink::assemble(out, seen, digest, options, Position::default());
        if let Encoder::Csv(csv) = &mut sink.encoder {
            if options.bom {
                sink.spool.lock().extend_from_slice("\u{feff}".as_bytes());
            }
            csv.writer.write_record(csv.layout.header()).map_err(|e| sink.out.error(csv_io(e)))?;
        }
        sink.commit()?;
        Ok(sink)
    }

    /// Continues an export from a checkpoint: checks that the partial file still starts with exactly the
    /// committed bytes, then cuts off anything after them.
    pub fn resume(partial: &Path, state: &Path, options: &SinkOptions, at: &Position) -> Result<Sink, SinkError> {
        let mismatch = |reason: String| SinkError::Mismatch { path: partial.to_owned(), reason };
        let mut file = match durable::open_existing(partial) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(mismatch("it is missing".to_owned())),
            Err(e) => return Err(write_error(partial)(e)),
        };
        lock(&file, partial)?;
        let len = file.metadata().map_err(write_error(partial))?.len();
        if len < at.bytes {
            return Err(mismatch(format!("{len} bytes, but the checkpoint recorded {}", at.bytes)));
        }
        let (checksum, copied) = checksum_prefix(&mut file, at.bytes).map_err(write_error(partial))?;
        if copied != at.bytes || hex_u64(checksum.digest()) != at.checksum {
            return Err(mismatch("its content changed since the checkpoint".to_owned()));
        }
        file.set_len(at.bytes).map_err(write_error(partial))?;
        file.seek(SeekFrom::End(0)).map_err(write_error(partial))?;
        if at.seen.len() != at.people {
            return Err(SinkError::Mismatch {
                path: state.to_owned(),
                reason: format!("{} ids recorded for {} people", at.seen.len(), at.people),
            });
        }
        let seen = Seen::open(state, &at.seen).map_err(|e| match e.kind() {
            // Files that are not what the checkpoint says: the state is damaged.
            io::ErrorKind::NotFound | io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
                SinkError::Mismatch { path: state.to_owned(), reason: e.to_string() }
            }
            // Files that cannot be read right now: fix that and resume.
            _ => write_error(state)(e),
        })?;
        let out = Output { path: partial.to_owned(), file, checksum, len: at.bytes };
        let digest = Digest::start(partial, at.bytes).map_err(write_error(partial))?;
        Ok(Sink::assemble(out, seen, digest, options, at.clone()))
    }

    fn assemble(out: Output, seen: Seen, digest: Digest, options: &SinkOptions, committed: Position) -> Sink {
        let spool = Spool::default();
        let encoder = match options.format {
            Format::Csv => Encoder::Csv(Box::new(CsvEncoder {
                writer: ::csv::WriterBuilder::new()
                    .terminator(::csv::Terminator::CRLF)
                    .buffer_capacity(64 * 1024)
                    .from_writer(spool.clone()),
                layout: csv::Layout::new(options.columns.as_deref()),
                row: csv::Row::default(),
                neutralise: options.neutralise_formulas,
            })),
            Format::Ndjson => Encoder::Ndjson,
        };
        let committed_checksum = out.checksum.clone();
        Sink {
            out,
            spool,
            encoder,
            seen,
            committed,
            committed_checksum,
            digest,
            page: PageCounts::default(),
            page_limit: None,
        }
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

    /// Moves spooled bytes into the file.
    fn drain(&mut self) -> Result<(), SinkError> {
        if let Encoder::Csv(csv) = &mut self.encoder {
            csv.writer.flush().map_err(|e| self.out.error(e))?;
        }
        let mut spool = self.spool.lock();
        let result = self.out.append(&spool);
        spool.clear();
        result
    }

    /// Makes the page durable (file and ids fsynced) and returns the new position, for the checkpoint.
    pub fn commit(&mut self) -> Result<&Position, SinkError> {
        self.drain()?;
        self.out.file.sync_data().map_err(|e| self.out.error(e))?;
        let seen = self.seen.commit().map_err(|e| self.out.error(e))?.clone();
        self.committed_checksum = self.out.checksum.clone();
        self.digest.advance(self.out.len);
        self.committed = Position {
            bytes: self.out.len,
            checksum: hex_u64(self.out.checksum.digest()),
            people: seen.len(),
            duplicates: self.committed.duplicates + self.page.duplicates,
            without_id: self.committed.without_id + self.page.without_id,
            seen,
        };
        self.page = PageCounts::default();
        Ok(&self.committed)
    }

    /// Throws away everything since the last commit: bytes, ids and counts.
    pub fn rollback(&mut self) -> Result<(), SinkError> {
        if let Encoder::Csv(csv) = &mut self.encoder {
            csv.writer.flush().map_err(|e| self.out.error(e))?;
        }
        self.spool.lock().clear();
        self.seen.rollback();
        self.page = PageCounts::default();
        let at = self.committed.bytes;
        self.out.file.set_len(at).map_err(|e| self.out.error(e))?;
        self.out.file.seek(SeekFrom::Start(at)).map_err(|e| self.out.error(e))?;
        self.out.len = at;
        self.out.checksum = self.committed_checksum.clone();
        Ok(())
    }

    /// Renames the completed partial file to `path`, durably, and returns its SHA-256. Call after the
    /// last commit.
    pub fn publish(self, path: &Path) -> Result<String, SinkError> {
        let write_error = |source| SinkError::Write { path: path.to_owned(), source };
        self.out.file.sync_all().map_err(write_error)?;
        let sha256 = self.digest.finish(self.committed.bytes).map_err(|e| self.out.error(e))?;
        durable::rename(&self.out.path, path).map_err(write_error)?;
        Ok(sha256)
    }
}

fn write_error(path: &Path) -> impl FnOnce(io::Error) -> SinkError + '_ {
    move |source| SinkError::Write { path: path.to_owned(), source }
}

/// The XXH3-64 of a file's first `len` bytes, and how many bytes there were.
fn checksum_prefix(file: &mut File, len: u64) -> io::Result<(Xxh3Default, u64)> {
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = Xxh3Default::new();
    let mut reader = file.take(len);
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok((hasher, total));
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
}

fn hex_u64(value: u64) -> String {
    format!("{value:016x}")
}

/// Whether a file in a job's state folder belongs to the output's state (the id set), so clearing the
/// state removes it.
pub fn is_state_file(name: &str) -> bool {
    seen::is_seen_file(name)
}

/// Removes the partial file of a discarded export, unless another run is writing it.
pub fn discard_partial(path: &Path) -> Result<(), SinkError> {
    match durable::open_existing(path) {
        Ok(file) => {
            lock(&file, path)?;
            std::fs::remove_file(path).map_err(write_error(path))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(write_error(path)(e)),
    }
}

/// The SHA-256 (hex) of a file, for a report written after the file was published.
pub fn file_sha256(path: &Path) -> Result<String, SinkError> {
    digest::file_sha256(path).map_err(write_error(path))
}

/// The length and checksum of a file, as a [`Position`] records them.
pub fn file_checksum(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let (checksum, _) = checksum_prefix(&mut file, len)?;
    Ok((len, hex_u64(checksum.digest())))
}

fn csv_io(err: ::csv::Error) -> io::Error {
    match err.into_kind() {
        ::csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

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
        let Some(new_id) = self.seen.unseen(&id).map_err(|e| self.out.error(e))? else {
            self.page.duplicates += 1;
            tracing::debug!(%id, "skipping a person already written");
            return Ok(());
        };
        if self.page_limit.is_some_and(|limit| self.page.written >= limit) {
            return Ok(()); // past max_records: the API sent more than was asked for
        }
        self.seen.add(new_id);
        match &mut self.encoder {
            Encoder::Csv(csv) => {
                csv.layout.project(person, &mut csv.row);
                let cells = csv.layout.cells(&csv.row, csv.neutralise).map(|cell| match cell {
                    Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                    Cow::Owned(s) => Cow::Owned(s.into_bytes()),
                });
                csv.writer.write_record(cells).map_err(|e| self.out.error(csv_io(e)))?;
            }
            Encoder::Ndjson => {
                let mut spool = self.spool.lock();
                ndjson::minify_into(person.raw(), &mut spool);
                spool.push(b'\n');
            }
        }
        self.page.written += 1;
        if self.spool.lock().len() >= SPOOL_LIMIT {
            self.drain()?;
        }
        Ok(())
    }
}

impl crate::fetch::PageSink for Sink {
    fn rollback(&mut self) -> Result<(), SinkError> {
        Sink::rollback(self)
    }
}

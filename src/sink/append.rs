//! An output written as it goes (CSV or NDJSON, plain or compressed), and the spool that rendered outputs
//! are made from: a partial file that grows by one committed page at a time, with the length and XXH3 of
//! what is committed, so a resume checks it and cuts off whatever came after.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use xxhash_rust::xxh3::Xxh3Default;

use super::compress::Framer;
use super::digest::Digest;
use super::{FilePosition, Format, OutputOptions, Sealed, SinkError, csv, ndjson, write_error};
use crate::api::Person;
use crate::durable;

/// Encoded bytes beyond this go through compression into the file before the next person.
const PENDING_LIMIT: usize = 1 << 20;

/// Bytes encoded but not yet in the file. Shared with the CSV writer, which owns its `W` and would
/// otherwise give no way to take the bytes back out (or throw them away on rollback).
#[derive(Clone, Default)]
struct Pending(Arc<Mutex<Vec<u8>>>);

impl Pending {
    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        // A poisoned lock only means a panic elsewhere mid-write; the bytes are still bytes.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct CsvEncoder {
    writer: ::csv::Writer<Pending>,
    layout: csv::Layout,
    row: csv::Row,
    neutralise: bool,
}

enum Encoder {
    Csv(Box<CsvEncoder>),
    Ndjson,
}

/// Holds a partial file's OS lock for as long as the file is open, so two jobs that share an output
/// path cannot interleave their pages.
pub(super) fn lock(file: &File, path: &Path) -> Result<(), SinkError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(SinkError::Busy { path: path.to_owned() }),
        Err(std::fs::TryLockError::Error(e)) => Err(write_error(path)(e)),
    }
}

/// One appended file.
pub(super) struct Appender {
    path: PathBuf,
    file: File,
    checksum: Xxh3Default,
    len: u64,
    committed: FilePosition,
    committed_checksum: Xxh3Default,
    pending: Pending,
    encoder: Encoder,
    framer: Framer,
    /// The SHA-256 of the committed bytes, for the report; none for the spool, which is never published.
    digest: Option<Digest>,
}

impl Appender {
    /// A new, empty partial file (replacing any), locked, with the CSV header (and BOM) committed.
    pub fn create(path: &Path, options: &OutputOptions, digest: bool) -> Result<Appender, SinkError> {
        let file = durable::open_private(path, false).map_err(write_error(path))?;
        lock(&file, path)?;
        file.set_len(0).map_err(write_error(path))?;
        durable::sync_dir(path.parent().unwrap_or(Path::new("."))).map_err(write_error(path))?;
        let digest = if digest { Some(Digest::start(path, 0).map_err(write_error(path))?) } else { None };
        let mut appender = Appender::assemble(path, file, Xxh3Default::new(), 0, options, digest);
        if let Encoder::Csv(csv) = &mut appender.encoder {
            if options.bom {
                appender.pending.lock().extend_from_slice("\u{feff}".as_bytes());
            }
            let header: Vec<&str> = csv.layout.headers().collect();
            csv.writer.write_record(header).map_err(|e| write_error(path)(csv_io(e)))?;
        }
        appender.commit()?;
        Ok(appender)
    }

    /// The partial file as a checkpoint left it: checks that it still starts with exactly the committed
    /// bytes, then cuts off anything after them.
    pub fn resume(
        path: &Path,
        options: &OutputOptions,
        at: &FilePosition,
        digest: bool,
    ) -> Result<Appender, SinkError> {
        let mismatch = |reason: String| SinkError::Mismatch { path: path.to_owned(), reason };
        let mut file = match durable::open_existing(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(mismatch("it is missing".to_owned())),
            Err(e) => return Err(write_error(path)(e)),
        };
        lock(&file, path)?;
        let len = file.metadata().map_err(write_error(path))?.len();
        if len < at.bytes {
            return Err(mismatch(format!("{len} bytes, but the checkpoint recorded {}", at.bytes)));
        }
        let (checksum, copied) = checksum_prefix(&mut file, at.bytes).map_err(write_error(path))?;
        if copied != at.bytes || hex_u64(checksum.digest()) != at.checksum {
            return Err(mismatch("its content changed since the checkpoint".to_owned()));
        }
        file.set_len(at.bytes).map_err(write_error(path))?;
        file.seek(SeekFrom::End(0)).map_err(write_error(path))?;
        let digest = if digest { Some(Digest::start(path, at.bytes).map_err(write_error(path))?) } else { None };
        Ok(Appender::assemble(path, file, checksum, at.bytes, options, digest))
    }

    fn assemble(
        path: &Path,
        file: File,
        checksum: Xxh3Default,
        len: u64,
        options: &OutputOptions,
        digest: Option<Digest>,
    ) -> Appender {
        let pending = Pending::default();
        let encoder = match options.format {
            Format::Csv => Encoder::Csv(Box::new(CsvEncoder {
                writer: ::csv::WriterBuilder::new()
                    .terminator(::csv::Terminator::CRLF)
                    .buffer_capacity(64 * 1024)
                    .from_writer(pending.clone()),
                layout: csv::Layout::new(&options.columns),
                row: csv::Row::default(),
                neutralise: options.neutralise_formulas,
            })),
            _ => Encoder::Ndjson,
        };
        let committed = FilePosition { bytes: len, checksum: hex_u64(checksum.digest()) };
        Appender {
            path: path.to_owned(),
            file,
            committed_checksum: checksum.clone(),
            checksum,
            len,
            committed,
            pending,
            encoder,
            framer: Framer::new(options.compression, options.level()),
            digest,
        }
    }

    fn error(&self, source: io::Error) -> SinkError {
        SinkError::Write { path: self.path.clone(), source }
    }

    fn append(&mut self, bytes: &[u8]) -> Result<(), SinkError> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.file.write_all(bytes).map_err(|e| self.error(e))?;
        self.checksum.update(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Encodes one person.
    pub fn person(&mut self, person: &Person<'_>) -> Result<(), SinkError> {
        match &mut self.encoder {
            Encoder::Csv(csv) => {
                csv.layout.project(person, &mut csv.row);
                let cells = csv.layout.cells(&csv.row, csv.neutralise).map(|cell| match cell {
                    Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
                    Cow::Owned(s) => Cow::Owned(s.into_bytes()),
                });
                if let Err(e) = csv.writer.write_record(cells) {
                    return Err(self.error(csv_io(e)));
                }
            }
            Encoder::Ndjson => {
                let mut pending = self.pending.lock();
                ndjson::minify_into(person.raw(), &mut pending);
                pending.push(b'\n');
            }
        }
        if self.pending.lock().len() >= PENDING_LIMIT {
            self.drain()?;
        }
        Ok(())
    }

    /// Moves encoded bytes through compression into the file.
    fn drain(&mut self) -> Result<(), SinkError> {
        if let Encoder::Csv(csv) = &mut self.encoder
            && let Err(e) = csv.writer.flush()
        {
            return Err(self.error(e));
        }
        let bytes = std::mem::take(&mut *self.pending.lock());
        let result = self.framer.write(&bytes).map_err(|e| self.error(e));
        // Keep the allocation for the next page.
        let mut pending = self.pending.lock();
        if pending.capacity() < bytes.capacity() {
            *pending = bytes;
            pending.clear();
        }
        drop(pending);
        result?;
        if let Some(ready) = self.framer.ready() {
            let ready = std::mem::take(ready);
            self.append(&ready)?;
        }
        Ok(())
    }

    /// Makes the page durable (the frame ended, the file fsynced) and returns the new position.
    pub fn commit(&mut self) -> Result<&FilePosition, SinkError> {
        self.drain()?;
        let tail = self.framer.finish_frame().map_err(|e| self.error(e))?;
        self.append(&tail)?;
        self.file.sync_data().map_err(|e| self.error(e))?;
        self.committed_checksum = self.checksum.clone();
        if let Some(digest) = &self.digest {
            digest.advance(self.len);
        }
        self.committed = FilePosition { bytes: self.len, checksum: hex_u64(self.checksum.digest()) };
        Ok(&self.committed)
    }

    /// Throws away everything since the last commit.
    pub fn rollback(&mut self) -> Result<(), SinkError> {
        if let Encoder::Csv(csv) = &mut self.encoder
            && let Err(e) = csv.writer.flush()
        {
            return Err(self.error(e));
        }
        self.pending.lock().clear();
        self.framer.discard();
        let at = self.committed.bytes;
        self.file.set_len(at).map_err(|e| self.error(e))?;
        self.file.seek(SeekFrom::Start(at)).map_err(|e| self.error(e))?;
        self.len = at;
        self.checksum = self.committed_checksum.clone();
        Ok(())
    }

    /// The committed length.
    pub fn committed(&self) -> &FilePosition {
        &self.committed
    }

    /// Finishes the file after its last commit: fsynced whole, with its length and SHA-256.
    pub fn seal(mut self) -> Result<Sealed, SinkError> {
        self.file.sync_all().map_err(|e| self.error(e))?;
        let bytes = self.committed.bytes;
        let sha256 = match self.digest.take() {
            Some(digest) => digest.finish(bytes).map_err(|e| self.error(e))?,
            None => super::digest::file_sha256(&self.path).map_err(|e| self.error(e))?,
        };
        Ok(Sealed { bytes, sha256 })
    }
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

pub(super) fn hex_u64(value: u64) -> String {
    format!("{value:016x}")
}

/// The length and checksum of a whole file, as a [`FilePosition`] records them.
pub fn file_checksum(path: &Path) -> io::Result<FilePosition> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let (checksum, _) = checksum_prefix(&mut file, len)?;
    Ok(FilePosition { bytes: len, checksum: hex_u64(checksum.digest()) })
}

fn csv_io(err: ::csv::Error) -> io::Error {
    match err.into_kind() {
        ::csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

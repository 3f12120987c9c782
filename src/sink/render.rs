//! Outputs that cannot be appended to (Parquet, XLSX: each ends with an index of what came before) are
//! made from the spool: an NDJSON file in the job's state folder, appended and checkpointed page by page
//! like any other output. A thread follows the spool's committed bytes as the walk goes, so rendering
//! overlaps fetching; the output's partial file is only finished when the walk is done. The spool is the
//! durable truth: a run that stops (killed, disk full) leaves a partial rendering that nothing trusts,
//! and the next run renders again from the spool's first byte, without fetching anything it already has.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::append::lock;
use super::{Sealed, SinkError, write_error};
use crate::api::Person;
use crate::durable;

/// What makes one rendered output from people, in order.
pub(super) trait Render: Send {
    fn person(&mut self, person: &Person<'_>) -> io::Result<()>;
    /// Writes the rest of the file (the footer, the zip directory) into the file it was given.
    fn finish(self: Box<Self>) -> io::Result<()>;
}

#[derive(Default)]
struct Shared {
    /// Bytes of the spool that are committed and may be rendered.
    committed: AtomicU64,
    /// No more bytes will come: render up to `committed`, finish, and stop.
    finishing: AtomicBool,
    /// Stop without finishing.
    abandoned: AtomicBool,
}

/// A rendered output in the making.
pub(super) struct Renderer {
    path: PathBuf,
    /// The partial file, locked for as long as this lives.
    file: File,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl Renderer {
    /// Starts rendering the spool into the partial file `path` (emptied first), from the spool's first
    /// byte; `committed` bytes of the spool may be read at once.
    pub fn start(
        spool: &Path,
        path: &Path,
        committed: u64,
        make: impl FnOnce(File) -> io::Result<Box<dyn Render>>,
    ) -> Result<Renderer, SinkError> {
        let file = durable::open_private(path, false).map_err(write_error(path))?;
        lock(&file, path)?;
        file.set_len(0).map_err(write_error(path))?;
        let writer = file.try_clone().map_err(write_error(path))?;
        let render = make(writer).map_err(write_error(path))?;
        let source = File::open(spool).map_err(write_error(spool))?;
        let shared = Arc::new(Shared { committed: AtomicU64::new(committed), ..Shared::default() });
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("render".to_owned())
            .spawn(move || follow(&source, render, &thread_shared))
            .map_err(write_error(path))?;
        Ok(Renderer { path: path.to_owned(), file, shared, thread: Some(thread) })
    }

    /// More of the spool is committed.
    pub fn advance(&self, committed: u64) {
        self.shared.committed.store(committed, Ordering::Release);
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }

    /// Renders the rest of the spool's `committed` bytes and finishes the file: fsynced, with its length
    /// and SHA-256.
    pub fn seal(mut self, committed: u64) -> Result<Sealed, SinkError> {
        self.advance(committed);
        self.shared.finishing.store(true, Ordering::Release);
        let thread = self.thread.take().expect("sealed once");
        thread.thread().unpark();
        let error = |source| SinkError::Write { path: self.path.clone(), source };
        thread.join().map_err(|panic| error(io::Error::other(panic_message(&panic))))?.map_err(error)?;
        self.file.sync_all().map_err(error)?;
        let bytes = self.file.metadata().map_err(error)?.len();
        let sha256 = super::digest::file_sha256(&self.path).map_err(error)?;
        Ok(Sealed { bytes, sha256 })
    }
}

impl Drop for Renderer {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.shared.abandoned.store(true, Ordering::Release);
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// What a rendering library said when it gave up (rust_xlsxwriter panics when its temporary file cannot
/// be written, a full disk say; the message carries the OS error).
fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("no message");
    format!("rendering stopped: {text}")
}

/// Spool bytes read at once.
const CHUNK: u64 = 1 << 20;

/// The rendering thread: reads what is committed, a line (a person) at a time, then waits for more.
fn follow(spool: &File, mut render: Box<dyn Render>, shared: &Shared) -> io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK as usize * 2);
    let mut read = 0u64;
    loop {
        if shared.abandoned.load(Ordering::Acquire) {
            return Ok(());
        }
        // Read `finishing` before `committed`: once finishing, `committed` is final.
        let finishing = shared.finishing.load(Ordering::Acquire);
        let committed = shared.committed.load(Ordering::Acquire);
        while read < committed {
            if shared.abandoned.load(Ordering::Acquire) {
                return Ok(());
            }
            let start = buf.len();
            let want = (committed - read).min(CHUNK) as usize;
            buf.resize(start + want, 0);
            let n = spool.read_at(&mut buf[start..], read)?;
            buf.truncate(start + n);
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the spool is shorter than committed"));
            }
            read += n as u64;
            let mut at = 0;
            while let Some(end) = memchr::memchr(b'\n', &buf[at..]) {
                person(&buf[at..at + end], render.as_mut())?;
                at += end + 1;
            }
            buf.drain(..at);
        }
        if finishing {
            if !buf.is_empty() {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "the spool ends in the middle of a person"));
            }
            return render.finish();
        }
        std::thread::park_timeout(Duration::from_millis(200));
    }
}

fn person(line: &[u8], render: &mut dyn Render) -> io::Result<()> {
    let text = simdutf8::basic::from_utf8(line)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the spool holds a line that is not UTF-8"))?;
    let person = Person::from_json(text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    render.person(&person)
}

/// An error of a rendering library, as an I/O error (keeping the OS error of a full disk, say).
pub(super) fn io_error(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    let error = error.into();
    match error.downcast::<io::Error>() {
        Ok(io) => *io,
        Err(other) => io::Error::other(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Collect(Arc<Mutex<Vec<String>>>, File);

    impl Render for Collect {
        fn person(&mut self, person: &Person<'_>) -> io::Result<()> {
            self.0.lock().unwrap().push(person.id().unwrap().into_owned());
            Ok(())
        }
        fn finish(self: Box<Self>) -> io::Result<()> {
            use std::io::Write;
            let ids = self.0.lock().unwrap().join(",");
            (&self.1).write_all(ids.as_bytes())
        }
    }

    #[test]
    fn follows_committed_lines_and_finishes_with_all_of_them() {
        let dir = tempfile::tempdir().unwrap();
        let spool = dir.path().join("spool.ndjson");
        std::fs::write(&spool, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"").unwrap();
        let ids = Arc::new(Mutex::new(Vec::new()));
        let seen = ids.clone();
        let out = dir.path().join("out.partial");
        let renderer = Renderer::start(&spool, &out, 11, move |file| Ok(Box::new(Collect(seen, file)))).unwrap();
        std::fs::write(&spool, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n").unwrap();
        let sealed = renderer.seal(33).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "a,b,c");
        assert_eq!(sealed.bytes, 5);
        // A spool cut mid-line is an error, not a person lost.
        std::fs::write(&spool, "{\"id\":\"a\"}\n{\"id\"").unwrap();
        let renderer =
            Renderer::start(&spool, &out, 15, move |file| Ok(Box::new(Collect(Default::default(), file)))).unwrap();
        assert!(renderer.seal(15).is_err());
    }
}

//! The output's SHA-256 (for the report), computed on another thread from bytes already committed, so
//! the hot path pays only for a fast checksum and the hash is ready soon after the last page.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use crate::durable::FileExt;

#[derive(Default)]
struct Shared {
    /// Bytes of the file that are committed and may be hashed.
    committed: AtomicU64,
    /// No more bytes will come: hash up to `committed` and stop.
    finishing: AtomicBool,
    /// Stop without finishing (the export failed).
    abandoned: AtomicBool,
}

/// A running SHA-256 of a file's committed prefix.
pub struct Digest {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<io::Result<(Sha256, u64)>>>,
}

impl Digest {
    /// Starts hashing `path` from its first byte; the first `committed` bytes may be hashed at once.
    pub fn start(path: &Path, committed: u64) -> io::Result<Digest> {
        let file = File::open(path)?;
        let shared = Arc::new(Shared { committed: AtomicU64::new(committed), ..Shared::default() });
        let thread_shared = shared.clone();
        let thread =
            std::thread::Builder::new().name("sha256".to_owned()).spawn(move || follow(&file, &thread_shared))?;
        Ok(Digest { shared, thread: Some(thread) })
    }

    /// More bytes are committed.
    pub fn advance(&self, committed: u64) {
        self.shared.committed.store(committed, Ordering::Release);
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }

    /// The SHA-256 (hex) of the first `len` bytes, once hashed.
    pub fn finish(mut self, len: u64) -> io::Result<String> {
        self.advance(len);
        self.shared.finishing.store(true, Ordering::Release);
        let thread = self.thread.take().expect("finish is called once");
        thread.thread().unpark();
        let (hasher, hashed) = thread.join().map_err(|_| io::Error::other("the hashing thread panicked"))??;
        if hashed != len {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, format!("hashed {hashed} of {len} bytes")));
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

impl Drop for Digest {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.shared.abandoned.store(true, Ordering::Release);
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// The hashing thread: reads what is committed, then waits for more.
fn follow(file: &File, shared: &Shared) -> io::Result<(Sha256, u64)> {
    let mut hasher = Sha256::new();
    let mut hashed = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        if shared.abandoned.load(Ordering::Acquire) {
            return Ok((hasher, hashed));
        }
        // Read `finishing` before `committed`: once finishing, `committed` is final.
        let finishing = shared.finishing.load(Ordering::Acquire);
        let committed = shared.committed.load(Ordering::Acquire);
        while hashed < committed && !shared.abandoned.load(Ordering::Acquire) {
            let want = (committed - hashed).min(buf.len() as u64) as usize;
            let n = file.read_at(&mut buf[..want], hashed)?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the output is shorter than committed"));
            }
            hasher.update(&buf[..n]);
            hashed += n as u64;
        }
        if finishing {
            return Ok((hasher, hashed));
        }
        std::thread::park_timeout(Duration::from_millis(200));
    }
}

/// The SHA-256 (hex) of a whole file.
pub fn file_sha256(path: &Path) -> io::Result<String> {
    let len = std::fs::metadata(path)?.len();
    Digest::start(path, len)?.finish(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_commits_and_ignores_uncommitted_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello ").unwrap();
        let digest = Digest::start(&path, 3).unwrap();
        std::fs::write(&path, b"hello world, and more").unwrap();
        digest.advance(11);
        assert_eq!(digest.finish(11).unwrap(), hex::encode(Sha256::digest(b"hello world")));
        assert_eq!(file_sha256(&path).unwrap(), hex::encode(Sha256::digest(b"hello world, and more")));
        // A file cut shorter than what was committed is an error, not a wrong hash.
        std::fs::write(&path, b"hi").unwrap();
        assert!(Digest::start(&path, 5).unwrap().finish(5).is_err());
    }
}

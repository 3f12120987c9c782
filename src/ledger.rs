//! The delivery ledger of a job: the people its completed `deliver = "new"` runs delivered, as 128-bit id
//! digests (the ones the sink de-duplicates with), so that a nightly job writes only people it has not
//! delivered before.
//!
//! One file, `ledger.bin`, in the job's state folder, replaced atomically (temporary file, fsync, rename)
//! after the run's outputs are published. The update is keyed by the run (its start time): a rerun after a
//! failure between the publish and the update finishes it without fetching, and never adds a run twice.
//!
//! Layout, little-endian:
//!
//! ```text
//! "OCNLEDGR"  version: u32
//! id digests: count × u128, sorted ascending, no repeats
//! header: JSON (job, search fingerprint, runs)   header length: u32   count: u64
//! XXH3-128 of every byte before it: u128
//! ```
//!
//! 16 bytes an id plus a header of about 200 bytes a run. A file that is truncated, damaged, of a newer
//! version or of another job is refused, never half trusted.
//!
//! Memory: checking a person against a ledger of 10 million ids must fit in a few dozen MiB, so the ids
//! stay on disk. Loading reads the file once (checking its checksum and order) and keeps, for the ids
//! (uniform digests) bucketed by their top bits, where each bucket starts in the file (about 4 ids a
//! bucket, 4 bytes a bucket), and a 16-bit fingerprint of each id (2 bytes an id): about 3 bytes an id in
//! all. A person whose fingerprint is not in its bucket (nearly every new person) costs two memory reads;
//! one whose fingerprint is there is confirmed by one positioned read of 16 bytes. Reads, not a memory map:
//! the file's pages would count in the process's resident memory, 160 MB of it for 10 million ids.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::Xxh3;

use crate::durable::{self, FileExt};

/// The ledger's file name in the job's state folder.
pub const FILE: &str = "ledger.bin";
const MAGIC: &[u8; 8] = b"OCNLEDGR";
const VERSION: u32 = 1;
const PREFIX: u64 = 12;
/// Header length, count and checksum.
const TRAILER: u64 = 4 + 8 + 16;
const ID: u64 = 16;
/// Ids a bucket holds on average, at most (the bucket count is a power of two).
const PER_BUCKET: u64 = 8;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "the delivery ledger {} is {reason}, so it is not used and nothing was sent; restore it from a backup, or clear it with `ocean-export ledger {file} --reset` (the next run then delivers everyone again)",
        path.display()
    )]
    Damaged { path: PathBuf, reason: String, file: String },
    #[error(
        "the delivery ledger {} is of format version {version}, newer than this build reads ({VERSION}), so nothing was sent; run a newer ocean-export, or clear it with `ocean-export ledger {file} --reset`",
        path.display()
    )]
    Newer { path: PathBuf, version: u32, file: String },
    #[error(
        "the delivery ledger {} belongs to job `{other}`, not `{job}`, so nothing was sent; give the job its own state folder, or clear it with `ocean-export ledger {file} --reset`",
        path.display()
    )]
    OtherJob { path: PathBuf, other: String, job: String, file: String },
}

/// One completed run in the ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's start (RFC 3339): what keys the update.
    pub run: String,
    pub finished_at: String,
    /// People it delivered (added to the ledger).
    pub delivered: u64,
    /// People it found that earlier runs had delivered (not written, but paid for).
    pub already_delivered: u64,
    pub credits_used: f64,
    pub outputs: Vec<PathBuf>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub job: String,
    /// [`crate::job::Job::search_fingerprint`] of the last run.
    pub search: String,
    pub runs: Vec<RunRecord>,
}

/// A job's ledger, open for lookups.
pub struct Ledger {
    path: PathBuf,
    pub header: Header,
    len: u64,
    file: Option<File>,
    /// log2 of the number of buckets: an id's bucket is its top `bits` bits.
    bits: u32,
    /// Where each bucket starts, in ids; one more entry for the end.
    starts: Vec<u32>,
    /// Each id's fingerprint: the 16 bits below its bucket bits.
    fingerprints: Vec<u16>,
}

/// The bucket bits for a ledger of `len` ids.
fn bucket_bits(len: u64) -> u32 {
    (len / PER_BUCKET).max(1).next_power_of_two().trailing_zeros().min(32)
}

fn bucket(id: u128, bits: u32) -> usize {
    if bits == 0 { 0 } else { (id >> (128 - bits)) as usize }
}

fn fingerprint(id: u128, bits: u32) -> u16 {
    (id >> (112 - bits)) as u16
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).field("len", &self.len).finish_non_exhaustive()
    }
}

impl Ledger {
    /// The ledger in `dir` of job `job` (read from job file `file`, which the errors name); an empty one
    /// when there is none yet.
    pub fn open(dir: &Path, job: &str, file: &Path) -> Result<Ledger, LedgerError> {
        let path = dir.join(FILE);
        let job_file = file.display().to_string();
        let io_error = |source| LedgerError::Io { path: path.clone(), source };
        let damaged = |reason: &str| LedgerError::Damaged {
            path: path.clone(),
            reason: reason.to_owned(),
            file: job_file.clone(),
        };
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Ledger::empty(path, job)),
            Err(e) => return Err(io_error(e)),
        };
        let size = file.metadata().map_err(io_error)?.len();
        let mut prefix = [0u8; PREFIX as usize];
        let start = &mut prefix[..size.min(PREFIX) as usize];
        file.read_exact_at(start, 0).map_err(io_error)?;
        if !MAGIC.starts_with(&start[..start.len().min(8)]) || (start.len() >= 8 && &start[..8] != MAGIC) {
            return Err(damaged("not a ledger file"));
        }
        if size < PREFIX + TRAILER {
            return Err(damaged("truncated (shorter than its header)"));
        }
        let version = u32::from_le_bytes(prefix[8..12].try_into().expect("4 bytes"));
        if version > VERSION {
            return Err(LedgerError::Newer { path, version, file: job_file });
        }
        if version != VERSION {
            return Err(damaged(&format!("of unknown format version {version}")));
        }
        let mut trailer = [0u8; TRAILER as usize];
        file.read_exact_at(&mut trailer, size - TRAILER).map_err(io_error)?;
        let header_len = u64::from(u32::from_le_bytes(trailer[..4].try_into().expect("4 bytes")));
        let len = u64::from_le_bytes(trailer[4..12].try_into().expect("8 bytes"));
        let checksum = u128::from_le_bytes(trailer[12..].try_into().expect("16 bytes"));
        let expected = len.checked_mul(ID).and_then(|ids| ids.checked_add(PREFIX + header_len + TRAILER));
        if expected != Some(size) {
            return Err(damaged("truncated or damaged (its length does not match its count)"));
        }
        if len > u64::from(u32::MAX) {
            return Err(damaged("larger than this build reads (4 billion ids)"));
        }
        // One pass: checksum, order, buckets and fingerprints.
        let mut hasher = Xxh3::new();
        hasher.update(&prefix);
        let mut reader = BufReader::with_capacity(1 << 20, &file);
        std::io::Seek::seek(&mut reader, io::SeekFrom::Start(PREFIX)).map_err(io_error)?;
        let bits = bucket_bits(len);
        let mut starts = vec![0u32; (1usize << bits) + 1];
        let mut fingerprints = Vec::with_capacity(len as usize);
        let mut previous: Option<u128> = None;
        let mut chunk = vec![0u8; 1 << 20];
        let mut left = len * ID;
        while left > 0 {
            let want = left.min(chunk.len() as u64) as usize;
            reader.read_exact(&mut chunk[..want]).map_err(io_error)?;
            hasher.update(&chunk[..want]);
            for word in chunk[..want].chunks_exact(ID as usize) {
                let id = u128::from_le_bytes(word.try_into().expect("16 bytes"));
                if previous.is_some_and(|p| p >= id) {
                    return Err(damaged("damaged (its ids are out of order)"));
                }
                previous = Some(id);
                starts[bucket(id, bits) + 1] += 1;
                fingerprints.push(fingerprint(id, bits));
            }
            left -= want as u64;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut header_bytes = vec![0u8; header_len as usize];
        reader.read_exact(&mut header_bytes).map_err(io_error)?;
        hasher.update(&header_bytes);
        hasher.update(&trailer[..12]);
        if hasher.digest128() != checksum {
            return Err(damaged("damaged (its checksum does not match its content)"));
        }
        let header: Header =
            serde_json::from_slice(&header_bytes).map_err(|_| damaged("damaged (its header cannot be read)"))?;
        if header.job != job {
            return Err(LedgerError::OtherJob { path, other: header.job, job: job.to_owned(), file: job_file });
        }
        drop(reader);
        Ok(Ledger { path, header, len, file: Some(file), bits, starts, fingerprints })
    }

    fn empty(path: PathBuf, job: &str) -> Ledger {
        Ledger {
            path,
            header: Header { job: job.to_owned(), ..Header::default() },
            len: 0,
            file: None,
            bits: 0,
            starts: vec![0, 0],
            fingerprints: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// People in the ledger.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether an earlier run delivered the person with this id digest.
    pub fn contains(&self, id: u128) -> io::Result<bool> {
        let Some(file) = &self.file else { return Ok(false) };
        let b = bucket(id, self.bits);
        let (first, end) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        let wanted = fingerprint(id, self.bits);
        let mut word = [0u8; ID as usize];
        for (i, &f) in self.fingerprints[first..end].iter().enumerate() {
            if f == wanted {
                file.read_exact_at(&mut word, PREFIX + (first + i) as u64 * ID)?;
                if u128::from_le_bytes(word) == id {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// Whether `run` is recorded already.
    pub fn has_run(&self, run: &str) -> bool {
        self.header.runs.iter().any(|r| r.run == run)
    }

    /// Adds a completed run and the ids it delivered (sorted ascending), replacing the file atomically.
    /// Nothing happens if the run is recorded already.
    pub fn record(
        &self,
        run: RunRecord,
        search: &str,
        delivered: impl Iterator<Item = io::Result<u128>>,
    ) -> Result<(), LedgerError> {
        if self.has_run(&run.run) {
            return Ok(());
        }
        let mut header = self.header.clone();
        header.search = search.to_owned();
        header.runs.push(run);
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let temp = dir.join(format!("{FILE}.tmp"));
        let result = (|| -> io::Result<()> {
            let file = durable::open_private(&temp, true)?;
            let mut out = Hashed { inner: BufWriter::with_capacity(1 << 20, &file), hasher: Xxh3::new() };
            out.write_all(MAGIC)?;
            out.write_all(&VERSION.to_le_bytes())?;
            let older = self.ids()?;
            let mut count = 0u64;
            let mut last: Option<u128> = None;
            for id in Merge::new(older, delivered) {
                let id = id?;
                if last == Some(id) {
                    continue;
                }
                if last.is_some_and(|l| l > id) {
                    return Err(io::Error::other("the delivered ids are not in order"));
                }
                out.write_all(&id.to_le_bytes())?;
                last = Some(id);
                count += 1;
            }
            let header = serde_json::to_vec(&header).expect("a ledger header serializes");
            out.write_all(&header)?;
            out.write_all(&u32::try_from(header.len()).map_err(io::Error::other)?.to_le_bytes())?;
            out.write_all(&count.to_le_bytes())?;
            let checksum = out.hasher.digest128();
            out.inner.write_all(&checksum.to_le_bytes())?;
            out.inner.flush()?;
            drop(out);
            file.sync_all()?;
            Ok(())
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&temp);
            return Err(LedgerError::Io { path: temp, source: e });
        }
        durable::rename(&temp, &self.path).map_err(|source| LedgerError::Io { path: self.path.clone(), source })
    }

    /// The ledger's ids, in order, read from the file.
    fn ids(&self) -> io::Result<Box<dyn Iterator<Item = io::Result<u128>> + '_>> {
        let Some(file) = &self.file else { return Ok(Box::new(std::iter::empty())) };
        let mut reader = BufReader::with_capacity(1 << 20, file);
        std::io::Seek::seek(&mut reader, io::SeekFrom::Start(PREFIX))?;
        Ok(Box::new((0..self.len).map(move |_| {
            let mut word = [0u8; ID as usize];
            reader.read_exact(&mut word)?;
            Ok(u128::from_le_bytes(word))
        })))
    }

    /// Bytes of the file.
    pub fn file_bytes(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }
}

/// Clears a job's ledger (`ocean-export ledger JOB --reset`): whether there was one.
pub fn reset(dir: &Path) -> Result<bool, LedgerError> {
    let path = dir.join(FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => {
            durable::sync_dir(dir).map_err(|source| LedgerError::Io { path, source })?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(LedgerError::Io { path, source }),
    }
}

/// A writer that hashes what it writes.
struct Hashed<W> {
    inner: W,
    hasher: Xxh3,
}

impl<W: Write> Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Two sorted streams of ids, in order (repeats kept; the writer drops them).
struct Merge<A: Iterator, B: Iterator> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<A, B> Merge<A, B>
where
    A: Iterator<Item = io::Result<u128>>,
    B: Iterator<Item = io::Result<u128>>,
{
    fn new(a: A, b: B) -> Self {
        Merge { a: a.peekable(), b: b.peekable() }
    }
}

impl<A, B> Iterator for Merge<A, B>
where
    A: Iterator<Item = io::Result<u128>>,
    B: Iterator<Item = io::Result<u128>>,
{
    type Item = io::Result<u128>;

    fn next(&mut self) -> Option<io::Result<u128>> {
        let b_first = match (self.a.peek(), self.b.peek()) {
            (None, None) => return None,
            (Some(Err(_)), _) | (Some(_), None) => false,
            (_, Some(Err(_))) | (None, Some(_)) => true,
            (Some(Ok(a)), Some(Ok(b))) => b < a,
        };
        if b_first { self.b.next() } else { self.a.next() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, delivered: u64) -> RunRecord {
        RunRecord {
            run: name.to_owned(),
            finished_at: "2026-12-01T02:00:00Z".to_owned(),
            delivered,
            already_delivered: 0,
            credits_used: 0.2 * delivered as f64,
            outputs: vec!["out.ndjson".into()],
        }
    }

    fn sorted(ids: impl IntoIterator<Item = u128>) -> impl Iterator<Item = io::Result<u128>> {
        let mut ids: Vec<u128> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.into_iter().map(Ok)
    }

    fn spread(i: u128) -> u128 {
        i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) ^ (i << 7)
    }

    #[test]
    fn records_runs_once_and_finds_every_id() {
        let dir = tempfile::tempdir().unwrap();
        let empty = Ledger::open(dir.path(), "j", Path::new("j.toml")).unwrap();
        assert!(empty.is_empty() && !empty.contains(5).unwrap());
        empty.record(run("a", 1000), "s1", sorted((0..1000).map(spread))).unwrap();
        let one = Ledger::open(dir.path(), "j", Path::new("j.toml")).unwrap();
        assert_eq!(one.len(), 1000);
        assert!((0..1000).all(|i| one.contains(spread(i)).unwrap()));
        assert!((1000..3000).all(|i| !one.contains(spread(i)).unwrap()));
        // The same run again changes nothing; another adds its ids, repeats dropped.
        one.record(run("a", 1000), "s1", sorted((5000..6000).map(spread))).unwrap();
        assert_eq!(Ledger::open(dir.path(), "j", Path::new("j.toml")).unwrap().len(), 1000);
        one.record(run("b", 600), "s2", sorted((900..1500).map(spread))).unwrap();
        let two = Ledger::open(dir.path(), "j", Path::new("j.toml")).unwrap();
        assert_eq!(two.len(), 1500);
        assert_eq!(two.header.search, "s2");
        assert_eq!(two.header.runs.iter().map(|r| r.run.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert!((0..1500).all(|i| two.contains(spread(i)).unwrap()));
        assert!(two.file_bytes() <= 20 * 1500 + 512);
        assert!(reset(dir.path()).unwrap() && !reset(dir.path()).unwrap());
    }

    #[test]
    fn ids_that_share_a_bucket_and_a_fingerprint_stay_apart() {
        let dir = tempfile::tempdir().unwrap();
        // Same top 64 bits (one bucket, one fingerprint), different low bits.
        let twin = |low: u128| (0xabcd_u128 << 112) | low;
        let ids: Vec<u128> = (0..50).map(|i| twin(i * 2)).collect();
        Ledger::open(dir.path(), "j", Path::new("j.toml"))
            .unwrap()
            .record(run("a", 50), "s", ids.into_iter().map(Ok))
            .unwrap();
        let ledger = Ledger::open(dir.path(), "j", Path::new("j.toml")).unwrap();
        assert!((0..50).all(|i| ledger.contains(twin(i * 2)).unwrap()));
        assert!((0..50).all(|i| !ledger.contains(twin(i * 2 + 1)).unwrap()));
        assert!(!ledger.contains(0).unwrap() && !ledger.contains(u128::MAX).unwrap());
    }

    #[test]
    fn damage_truncation_newer_versions_and_other_jobs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        Ledger::open(dir.path(), "j", Path::new("j.toml"))
            .unwrap()
            .record(run("a", 300), "s", sorted((0..300).map(spread)))
            .unwrap();
        let path = dir.path().join(FILE);
        let good = std::fs::read(&path).unwrap();
        let refused = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            Ledger::open(dir.path(), "j", Path::new("j.toml")).unwrap_err()
        };
        let mut flipped = good.clone();
        flipped[100] ^= 1;
        assert!(matches!(refused(&flipped), LedgerError::Damaged { reason, .. } if reason.contains("checksum")));
        assert!(
            matches!(refused(&good[..good.len() - 7]), LedgerError::Damaged { reason, .. } if reason.contains("truncated"))
        );
        assert!(matches!(refused(&good[..5]), LedgerError::Damaged { .. }));
        let mut newer = good.clone();
        newer[8] = 9;
        assert!(matches!(refused(&newer), LedgerError::Newer { version: 9, .. }));
        std::fs::write(&path, &good).unwrap();
        let other = Ledger::open(dir.path(), "k", Path::new("k.toml")).unwrap_err();
        assert!(matches!(&other, LedgerError::OtherJob { other, .. } if other == "j"));
        assert!(other.to_string().contains("ocean-export ledger k.toml --reset"), "{other}");
        assert_eq!(Ledger::open(dir.path(), "j", Path::new("j.toml")).unwrap().len(), 300);
    }
}

//! Which people are already in the output: a set of 128-bit id digests in bounded memory. The ids of recent
//! pages are held in memory; older ones go to sorted runs on disk, each behind a Bloom filter, so a new id
//! (nearly every id) costs no disk access, and memory grows by about two bytes per person, not thirty-two.
//! Two different ids share a 128-bit digest with a chance of about 1e-27 in a billion people: exact, in
//! practice.
//!
//! Everything is durable page by page: the recent ids are appended to a log file, and a run, once written,
//! never changes. [`SeenFiles`] (in every checkpoint) names the files and counts that make up the set.

use std::collections::HashSet;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fastbloom::BloomFilter;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::durable::{self, FileExt};

/// Recent ids held in memory before they are written out as a run.
const RECENT_IDS: usize = 1 << 16;
/// False-positive rate of each run's Bloom filter: the share of new ids that cost a look at that run.
const BLOOM_FALSE_POSITIVES: f64 = 0.001;

/// The ids are already uniformly spread digests: hashing them again would be wasted work.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

/// A stable 128-bit digest of an id (stable across builds and versions, unlike `DefaultHasher`).
pub fn digest(id: &str) -> u128 {
    let hash = Sha256::digest(id.as_bytes());
    u128::from_le_bytes(hash[..ID_BYTES].try_into().expect("16 bytes"))
}

/// Bytes of one digest on disk.
const ID_BYTES: usize = 16;

/// The part of a digest a Bloom filter hashes with (already uniform).
fn bloom_hash(id: u128) -> u64 {
    id as u64
}

/// The files of the set as of a commit, recorded in the checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeenFiles {
    /// Sorted runs, oldest first: file name in the state folder, and how many ids it holds.
    pub runs: Vec<(String, u64)>,
    /// The log of recent ids, and how many of its ids are committed.
    pub log: String,
    pub logged: u64,
    /// Number for the next file's name.
    pub next: u64,
}

impl SeenFiles {
    /// How many ids the set holds.
    pub fn len(&self) -> u64 {
        self.runs.iter().map(|(_, n)| n).sum::<u64>() + self.logged
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether a file name in the state folder belongs to a seen set.
pub fn is_seen_file(name: &str) -> bool {
    name.starts_with("seen-") && name.ends_with(".bin")
}

struct Run {
    file: File,
    len: u64,
    bloom: BloomFilter,
}

impl Run {
    /// Binary search of the sorted digests on disk.
    fn contains(&self, hash: u128) -> io::Result<bool> {
        let (mut low, mut high) = (0, self.len);
        let mut word = [0u8; ID_BYTES];
        while low < high {
            let mid = low + (high - low) / 2;
            self.file.read_exact_at(&mut word, mid * ID_BYTES as u64)?;
            let found = u128::from_le_bytes(word);
            if found == hash {
                return Ok(true);
            }
            if found < hash { low = mid + 1 } else { high = mid }
        }
        Ok(false)
    }
}

/// The set of ids written, with the page in progress kept apart so it can be rolled back.
pub struct Seen {
    dir: PathBuf,
    files: SeenFiles,
    /// Ids of the log (committed) and of the page in progress.
    recent: HashSet<u128, BuildHasherDefault<Identity>>,
    pending: Vec<u128>,
    log: File,
    runs: Vec<Run>,
    /// Files the last commit replaced; removed at the next, when the checkpoint no longer names them.
    obsolete: Vec<PathBuf>,
    recent_limit: usize,
    /// A commit failed half-way: what is in memory no longer matches the files. Every use is an error
    /// from then on (the run stops; a resume reads the files back).
    broken: bool,
}

impl Seen {
    /// An empty set in `dir`, replacing any set files there.
    pub fn create(dir: &Path) -> io::Result<Seen> {
        Seen::open(dir, &SeenFiles { log: "seen-log-0.bin".to_owned(), next: 1, ..SeenFiles::default() })
    }

    /// The set a checkpoint describes. Set files it does not name (left by a crash) are removed.
    pub fn open(dir: &Path, files: &SeenFiles) -> io::Result<Seen> {
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            let named = files.log == name || files.runs.iter().any(|(run, _)| *run == name);
            if is_seen_file(&name) && !named {
                std::fs::remove_file(dir.join(&name))?;
            }
        }
        let mut runs = Vec::with_capacity(files.runs.len());
        for (name, len) in &files.runs {
            runs.push(load_run(&dir.join(name), *len)?);
        }
        let mut log = durable::open_private(&dir.join(&files.log), false)?;
        let bytes = files.logged.checked_mul(ID_BYTES as u64).ok_or_else(|| io::Error::other("id count overflows"))?;
        if log.metadata()?.len() < bytes {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} holds fewer than the {} ids the checkpoint records", files.log, files.logged),
            ));
        }
        log.set_len(bytes)?;
        let recent = read_ids(&mut log, files.logged)?.collect::<io::Result<_>>()?;
        log.seek(SeekFrom::End(0))?;
        durable::sync_dir(dir)?;
        Ok(Seen {
            dir: dir.to_owned(),
            files: files.clone(),
            recent,
            pending: Vec::new(),
            log,
            runs,
            obsolete: Vec::new(),
            recent_limit: RECENT_IDS,
            broken: false,
        })
    }

    /// The folder of the set's files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The id's digest if it was not written yet (on this page or before), for [`Seen::add`].
    pub fn unseen(&self, id: &str) -> io::Result<Option<u128>> {
        self.unseen_digest(digest(id))
    }

    fn unseen_digest(&self, hash: u128) -> io::Result<Option<u128>> {
        self.usable()?;
        if self.recent.contains(&hash) {
            return Ok(None);
        }
        for run in &self.runs {
            if run.bloom.contains_hash(bloom_hash(hash)) && run.contains(hash)? {
                return Ok(None);
            }
        }
        Ok(Some(hash))
    }

    /// Records an id as written.
    pub fn add(&mut self, hash: u128) {
        if self.recent.insert(hash) {
            self.pending.push(hash);
        }
    }

    /// Forgets the ids of the page in progress.
    pub fn rollback(&mut self) {
        for hash in self.pending.drain(..) {
            self.recent.remove(&hash);
        }
    }

    /// Makes the page's ids durable and returns the files to record in the checkpoint. When enough recent
    /// ids have gathered they become a run (and runs of like size are merged, so lookups stay few).
    pub fn commit(&mut self) -> io::Result<&SeenFiles> {
        self.usable()?;
        let result = self.try_commit();
        self.broken = result.is_err();
        result?;
        Ok(&self.files)
    }

    fn usable(&self) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other("an earlier commit of the ids written failed"));
        }
        Ok(())
    }

    fn try_commit(&mut self) -> io::Result<()> {
        // The checkpoint of the previous commit is saved by now: what it replaced can go.
        for path in self.obsolete.drain(..) {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        if !self.pending.is_empty() {
            let bytes: Vec<u8> = self.pending.iter().flat_map(|h| h.to_le_bytes()).collect();
            self.log.write_all(&bytes)?;
            self.log.sync_data()?;
            self.files.logged += self.pending.len() as u64;
            self.pending.clear();
        }
        if self.recent.len() >= self.recent_limit {
            self.spill()?;
        }
        Ok(())
    }

    /// Writes the recent ids out as a sorted run, starts a new log, and merges runs of like size.
    fn spill(&mut self) -> io::Result<()> {
        let mut ids: Vec<u128> = self.recent.drain().collect();
        ids.sort_unstable();
        let name = self.file_name("run");
        self.runs.push(write_run(&self.dir.join(&name), ids.len() as u64, ids.into_iter().map(Ok))?);
        self.files.runs.push((name, self.runs.last().map_or(0, |r| r.len)));
        let log = self.file_name("log");
        self.obsolete.push(self.dir.join(std::mem::replace(&mut self.files.log, log)));
        self.log = durable::open_private(&self.dir.join(&self.files.log), true)?;
        self.files.logged = 0;
        // Keep each run more than twice the size of the next newer one: at most log2(n) runs to look at.
        while self.runs.len() >= 2 && self.runs[self.runs.len() - 2].len <= 2 * self.runs[self.runs.len() - 1].len {
            let newer = self.runs.pop().expect("two runs");
            let older = self.runs.pop().expect("two runs");
            let name = self.file_name("run");
            let merged = write_run(&self.dir.join(&name), older.len + newer.len, Merge::new(&older, &newer)?)?;
            for _ in 0..2 {
                let (old, _) = self.files.runs.pop().expect("named runs");
                self.obsolete.push(self.dir.join(old));
            }
            self.files.runs.push((name, merged.len));
            self.runs.push(merged);
        }
        durable::sync_dir(&self.dir)
    }

    fn file_name(&mut self, kind: &str) -> String {
        let name = format!("seen-{kind}-{}.bin", self.files.next);
        self.files.next += 1;
        name
    }
}

/// Every id of a committed set, in ascending order, streamed from its files (the runs are sorted; the log,
/// at most a few thousand ids, is sorted in memory): what the delivery ledger merges in.
pub fn sorted_ids(dir: &Path, files: &SeenFiles) -> io::Result<impl Iterator<Item = io::Result<u128>> + use<>> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut log = File::open(dir.join(&files.log))?;
    let mut recent: Vec<u128> = read_ids(&mut log, files.logged)?.collect::<io::Result<_>>()?;
    recent.sort_unstable();
    let mut sources: Vec<Box<dyn Iterator<Item = io::Result<u128>>>> = vec![Box::new(recent.into_iter().map(Ok))];
    for (name, len) in &files.runs {
        let mut reader = BufReader::with_capacity(1 << 16, File::open(dir.join(name))?);
        let len = *len;
        sources.push(Box::new((0..len).map(move |_| {
            let mut word = [0u8; ID_BYTES];
            reader.read_exact(&mut word)?;
            Ok(u128::from_le_bytes(word))
        })));
    }
    let mut heap = BinaryHeap::new();
    let mut failed = None;
    for (i, source) in sources.iter_mut().enumerate() {
        match source.next() {
            Some(Ok(id)) => heap.push(Reverse((id, i))),
            Some(Err(e)) => failed = Some(e),
            None => {}
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(std::iter::from_fn(move || {
        let Reverse((id, i)) = heap.pop()?;
        match sources[i].next() {
            Some(Ok(next)) => heap.push(Reverse((next, i))),
            Some(Err(e)) => return Some(Err(e)),
            None => {}
        }
        Some(Ok(id))
    }))
}

/// The first `count` ids of a file of little-endian u128s, from its start.
fn read_ids(file: &mut File, count: u64) -> io::Result<impl Iterator<Item = io::Result<u128>> + '_> {
    file.seek(SeekFrom::Start(0))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    Ok((0..count).map(move |_| {
        let mut word = [0u8; ID_BYTES];
        reader.read_exact(&mut word)?;
        Ok(u128::from_le_bytes(word))
    }))
}

/// Writes `len` sorted ids as a run file (fsynced) and returns it open, with its Bloom filter.
fn write_run(path: &Path, len: u64, ids: impl Iterator<Item = io::Result<u128>>) -> io::Result<Run> {
    let file = durable::open_private(path, true)?;
    let mut bloom = BloomFilter::with_false_pos(BLOOM_FALSE_POSITIVES).expected_items((len as usize).max(1));
    let mut writer = BufWriter::with_capacity(1 << 16, &file);
    let mut written = 0;
    for id in ids {
        let id = id?;
        writer.write_all(&id.to_le_bytes())?;
        bloom.insert_hash(bloom_hash(id));
        written += 1;
    }
    writer.flush()?;
    drop(writer);
    if written != len {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("a run of {written} ids, not {len}")));
    }
    file.sync_data()?;
    Ok(Run { file, len, bloom })
}

/// Opens a run of `len` ids and rebuilds its Bloom filter.
fn load_run(path: &Path, len: u64) -> io::Result<Run> {
    let mut file = durable::open_existing(path)?;
    if file.metadata()?.len() != len * ID_BYTES as u64 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("{} is not {len} ids long", path.display())));
    }
    let mut bloom = BloomFilter::with_false_pos(BLOOM_FALSE_POSITIVES).expected_items((len as usize).max(1));
    for id in read_ids(&mut file, len)? {
        bloom.insert_hash(bloom_hash(id?));
    }
    Ok(Run { file, len, bloom })
}

/// The ids of a run, in order.
struct RunIds<'a> {
    reader: BufReader<&'a File>,
    left: u64,
}

impl<'a> RunIds<'a> {
    fn new(run: &'a Run) -> io::Result<RunIds<'a>> {
        let mut reader = BufReader::with_capacity(1 << 16, &run.file);
        reader.seek(SeekFrom::Start(0))?;
        Ok(RunIds { reader, left: run.len })
    }
}

impl Iterator for RunIds<'_> {
    type Item = io::Result<u128>;

    fn next(&mut self) -> Option<io::Result<u128>> {
        (self.left > 0).then(|| {
            self.left -= 1;
            let mut word = [0u8; ID_BYTES];
            self.reader.read_exact(&mut word)?;
            Ok(u128::from_le_bytes(word))
        })
    }
}

/// The ids of two sorted runs, in order.
struct Merge<'a> {
    older: std::iter::Peekable<RunIds<'a>>,
    newer: std::iter::Peekable<RunIds<'a>>,
}

impl<'a> Merge<'a> {
    fn new(older: &'a Run, newer: &'a Run) -> io::Result<Merge<'a>> {
        Ok(Merge { older: RunIds::new(older)?.peekable(), newer: RunIds::new(newer)?.peekable() })
    }
}

impl Iterator for Merge<'_> {
    type Item = io::Result<u128>;

    fn next(&mut self) -> Option<io::Result<u128>> {
        let newer_first = match (self.older.peek(), self.newer.peek()) {
            (None, None) => return None,
            (Some(Err(_)), _) | (Some(_), None) => false,
            (_, Some(Err(_))) | (None, Some(_)) => true,
            (Some(Ok(a)), Some(Ok(b))) => b < a,
        };
        if newer_first { self.newer.next() } else { self.older.next() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(seen: &mut Seen, id: &str) -> bool {
        seen.unseen(id).unwrap().map(|h| seen.add(h)).is_some()
    }

    #[test]
    fn rollback_forgets_and_reopen_keeps_only_committed() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = Seen::create(dir.path()).unwrap();
        assert!(insert(&mut seen, "a") && insert(&mut seen, "b") && !insert(&mut seen, "a"));
        let files = seen.commit().unwrap().clone();
        assert_eq!(files.len(), 2);
        assert!(insert(&mut seen, "c"));
        seen.rollback();
        assert!(insert(&mut seen, "c"));
        // Not committed: a reopen at the checkpoint does not know "c", and cuts the log back.
        seen.log.write_all(&[1, 2, 3]).unwrap();
        drop(seen);
        let mut again = Seen::open(dir.path(), &files).unwrap();
        assert!(!insert(&mut again, "a") && !insert(&mut again, "b") && insert(&mut again, "c"));
        let mut longer = files.clone();
        longer.logged = 3;
        assert!(Seen::open(dir.path(), &longer).is_err());
    }

    #[test]
    fn ids_spill_to_runs_that_merge_and_stay_exact() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = Seen::create(dir.path()).unwrap();
        seen.recent_limit = 64;
        let mut files = SeenFiles::default();
        for page in 0..40 {
            for i in 0..25 {
                assert!(insert(&mut seen, &format!("{page}-{i}")), "{page}-{i} is new");
                // A repeat from an early page, long spilled to a run, is caught.
                assert!(!insert(&mut seen, &format!("{}-{i}", page / 3)) || page == 0);
            }
            files = seen.commit().unwrap().clone();
        }
        assert_eq!(files.len(), 1000);
        assert!(files.runs.len() <= 5, "runs merge: {:?}", files.runs);
        // Each run is more than twice the size of the next newer one.
        assert!(files.runs.windows(2).all(|w| w[0].1 > 2 * w[1].1), "{:?}", files.runs);
        // Files replaced by a merge are gone after the next commit; only named files remain.
        seen.commit().unwrap();
        let on_disk = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(on_disk, files.runs.len() + 1);
        drop(seen);
        let mut again = Seen::open(dir.path(), &files).unwrap();
        for page in 0..40 {
            for i in 0..25 {
                assert!(!insert(&mut again, &format!("{page}-{i}")));
            }
        }
        assert!(insert(&mut again, "new"));
    }

    #[test]
    fn digests_that_share_their_low_64_bits_stay_apart() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = Seen::create(dir.path()).unwrap();
        seen.recent_limit = 4;
        let twin = |high: u128| (high << 64) | 0xfeed_f00d;
        for high in 0..10 {
            let hash = seen.unseen_digest(twin(high)).unwrap().expect("a new digest");
            seen.add(hash);
            // Committed one at a time, so the earlier twins spill to runs on disk.
            let files = seen.commit().unwrap().clone();
            assert_eq!(files.len(), high as u64 + 1);
        }
        assert!(!seen.files.runs.is_empty(), "some twins are in runs");
        for high in 0..10 {
            assert_eq!(seen.unseen_digest(twin(high)).unwrap(), None, "twin {high} is known");
        }
        assert!(seen.unseen_digest(twin(10)).unwrap().is_some(), "a new twin is new");
        assert_eq!(std::fs::metadata(dir.path().join(&seen.files.runs[0].0)).unwrap().len() % 16, 0);
    }

    #[test]
    fn sorted_ids_merge_the_runs_and_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = Seen::create(dir.path()).unwrap();
        seen.recent_limit = 16;
        let mut files = SeenFiles::default();
        for i in 0..100 {
            insert(&mut seen, &format!("id-{i}"));
            files = seen.commit().unwrap().clone();
        }
        assert!(!files.runs.is_empty() && files.logged > 0);
        let ids: Vec<u128> = sorted_ids(dir.path(), &files).unwrap().map(Result::unwrap).collect();
        let mut expected: Vec<u128> = (0..100).map(|i| digest(&format!("id-{i}"))).collect();
        expected.sort_unstable();
        assert_eq!(ids, expected);
    }

    #[test]
    fn stray_files_from_a_crash_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = Seen::create(dir.path()).unwrap();
        insert(&mut seen, "a");
        let files = seen.commit().unwrap().clone();
        std::fs::write(dir.path().join("seen-run-99.bin"), [0u8; 8]).unwrap();
        std::fs::write(dir.path().join("checkpoint.json"), "{}").unwrap();
        Seen::open(dir.path(), &files).unwrap();
        assert!(!dir.path().join("seen-run-99.bin").exists());
        assert!(dir.path().join("checkpoint.json").exists());
    }
}

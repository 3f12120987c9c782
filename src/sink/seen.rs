//! Which people are already in the output: a set of id hashes, persisted page by page beside the checkpoint.

use std::collections::HashSet;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{Read, Seek, SeekFrom, Write};

use sha2::{Digest, Sha256};

/// The ids are already uniformly spread hashes: hashing them again would be wasted work.
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
}

/// A stable 64-bit digest of an id (stable across builds and versions, unlike `DefaultHasher`). Two ids
/// of one export sharing a digest would drop the second; among a million ids the chance is about 3e-8.
fn digest(id: &str) -> u64 {
    let hash = Sha256::digest(id.as_bytes());
    u64::from_le_bytes(hash[..8].try_into().expect("8 bytes"))
}

/// The set of ids written, with the page in progress kept apart so it can be rolled back.
pub struct Seen {
    set: HashSet<u64, BuildHasherDefault<Identity>>,
    pending: Vec<u64>,
    file: File,
    committed: u64,
}

impl Seen {
    /// Loads the first `count` ids of `file` (the committed ones) and drops anything after them.
    pub fn load(mut file: File, count: u64) -> std::io::Result<Seen> {
        let bytes = count.checked_mul(8).ok_or_else(|| std::io::Error::other("id count overflows"))?;
        if file.metadata()?.len() < bytes {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("holds fewer than the {count} ids the checkpoint records"),
            ));
        }
        file.set_len(bytes)?;
        file.seek(SeekFrom::Start(0))?;
        let mut set = HashSet::with_capacity_and_hasher(count as usize, BuildHasherDefault::default());
        let mut reader = std::io::BufReader::with_capacity(1 << 16, &mut file);
        let mut word = [0u8; 8];
        for _ in 0..count {
            reader.read_exact(&mut word)?;
            set.insert(u64::from_le_bytes(word));
        }
        drop(reader);
        file.seek(SeekFrom::End(0))?;
        Ok(Seen { set, pending: Vec::new(), file, committed: count })
    }

    /// The id's digest if it was not written yet (on this page or before), for [`Seen::add`].
    pub fn unseen(&self, id: &str) -> Option<u64> {
        let hash = digest(id);
        (!self.set.contains(&hash)).then_some(hash)
    }

    /// Records an id as written.
    pub fn add(&mut self, hash: u64) {
        if self.set.insert(hash) {
            self.pending.push(hash);
        }
    }

    /// Forgets the ids of the page in progress.
    pub fn rollback(&mut self) {
        for hash in self.pending.drain(..) {
            self.set.remove(&hash);
        }
    }

    /// Makes the page's ids durable. Returns how many ids are committed in all.
    pub fn commit(&mut self) -> std::io::Result<u64> {
        if !self.pending.is_empty() {
            let bytes: Vec<u8> = self.pending.iter().flat_map(|h| h.to_le_bytes()).collect();
            self.file.write_all(&bytes)?;
            self.file.sync_data()?;
            self.committed += self.pending.len() as u64;
            self.pending.clear();
        }
        Ok(self.committed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollback_forgets_and_reload_keeps_only_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seen");
        let open =
            || std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).unwrap();
        let insert = |seen: &mut Seen, id: &str| seen.unseen(id).map(|h| seen.add(h)).is_some();
        let mut seen = Seen::load(open(), 0).unwrap();
        assert!(insert(&mut seen, "a") && insert(&mut seen, "b") && !insert(&mut seen, "a"));
        assert_eq!(seen.commit().unwrap(), 2);
        assert!(insert(&mut seen, "c"));
        seen.rollback();
        assert!(insert(&mut seen, "c"));
        // Not committed: a reload at 2 must not know "c", and must cut the file back.
        seen.file.write_all(&[1, 2, 3]).unwrap();
        drop(seen);
        let mut again = Seen::load(open(), 2).unwrap();
        assert!(!insert(&mut again, "a") && !insert(&mut again, "b") && insert(&mut again, "c"));
        assert!(Seen::load(open(), 3).is_err());
    }
}

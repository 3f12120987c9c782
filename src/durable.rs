//! Files that hold personal data or progress: created owner-only (0600, folders 0700), made durable with
//! fsync of the file and of its folder, and replaced atomically. On Windows, files take their folder's
//! access rules (a user's own folders are private) and folders cannot be fsynced; see the README.

#[cfg(unix)]
use std::fs::Permissions;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
#[cfg(unix)]
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Reads at an offset without a shared cursor (`read_at`, `read_exact_at`), on every platform.
#[cfg(unix)]
pub use std::os::unix::fs::FileExt;
#[cfg(windows)]
pub use windows::FileExt;

/// Mode of every file written.
#[cfg(unix)]
pub const FILE_MODE: u32 = 0o600;
/// Mode of every folder created for state.
#[cfg(unix)]
pub const DIR_MODE: u32 = 0o700;

/// Opens (creating if needed) a file readable and writable by its owner only, whatever the umask and
/// whatever mode an older copy had.
pub fn open_private(path: &Path, truncate: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    options.mode(FILE_MODE);
    let file = options.open(path)?;
    make_private(&file)?;
    Ok(file)
}

/// Opens an existing file for reading and writing, making it owner-only.
pub fn open_existing(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    make_private(&file)?;
    Ok(file)
}

#[cfg(unix)]
fn make_private(file: &File) -> io::Result<()> {
    file.set_permissions(Permissions::from_mode(FILE_MODE))
}

#[cfg(not(unix))]
fn make_private(_file: &File) -> io::Result<()> {
    Ok(())
}

/// Creates a folder (owner-only) and any missing parents (owner-only too); folders that already exist
/// keep their mode.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(path)
}

/// fsync of a folder, so a file created or renamed in it survives a crash.
#[cfg(unix)]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    File::open(dir)?.sync_all()
}

/// Windows cannot open a folder as a file to flush it; NTFS journals the rename itself.
#[cfg(not(unix))]
pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Replaces `path` with `bytes` atomically and durably (temp file, fsync, rename, fsync of the folder),
/// 0600. If anything fails, the temp file is removed.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // tempfile creates its files 0600.
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Renames `from` to `to` and makes the rename durable.
pub fn rename(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::rename(from, to)?;
    sync_dir(to.parent().unwrap_or(Path::new(".")))
}

#[cfg(windows)]
mod windows {
    use std::fs::File;
    use std::io;
    use std::os::windows::fs::FileExt as _;

    /// Unix's positioned reads, on Windows. `seek_read` also moves the handle's cursor, which is fine
    /// for the read-only handles that use it.
    pub trait FileExt {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

        fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
            while !buf.is_empty() {
                match self.read_at(buf, offset)? {
                    0 => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                    n => {
                        buf = &mut buf[n..];
                        offset += n as u64;
                    }
                }
            }
            Ok(())
        }
    }

    impl FileExt for File {
        fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
            self.seek_read(buf, offset)
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn files_and_folders_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), Permissions::from_mode(0o755)).unwrap();
        let state = dir.path().join("a/b");
        create_private_dir(&state).unwrap();
        assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(dir.path().join("a")).unwrap().permissions().mode() & 0o777, 0o700);
        // An existing folder is not changed.
        create_private_dir(dir.path()).unwrap();
        assert_eq!(std::fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777, 0o755);
        let file = state.join("f");
        std::fs::write(&file, "x").unwrap();
        std::fs::set_permissions(&file, Permissions::from_mode(0o644)).unwrap();
        open_private(&file, false).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        let replaced = state.join("r");
        replace(&replaced, b"one").unwrap();
        replace(&replaced, b"two").unwrap();
        assert_eq!(std::fs::read(&replaced).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&replaced).unwrap().permissions().mode() & 0o777, 0o600);
        // A failed replace leaves nothing behind.
        std::fs::create_dir(state.join("taken")).unwrap();
        assert!(replace(&state.join("taken"), b"x").is_err());
        assert_eq!(std::fs::read_dir(&state).unwrap().count(), 3, "f, r and taken only");
    }
}

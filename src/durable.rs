//! Files that hold personal data or progress: created owner-only (0600, folders 0700), made durable with
//! fsync of the file and of its folder, and replaced atomically.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of every file written.
pub const FILE_MODE: u32 = 0o600;
/// Mode of every folder created for state.
pub const DIR_MODE: u32 = 0o700;

/// Opens (creating if needed) a file readable and writable by its owner only, whatever the umask and
/// whatever mode an older copy had.
pub fn open_private(path: &Path, truncate: bool) -> io::Result<File> {
    let file = OpenOptions::new().read(true).write(true).create(true).truncate(truncate).mode(FILE_MODE).open(path)?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

/// Opens an existing file for reading and writing, making it owner-only.
pub fn open_existing(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

/// Creates a folder (owner-only) and any missing parents (owner-only too); folders that already exist
/// keep their mode.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(DIR_MODE).create(path)
}

/// fsync of a folder, so a file created or renamed in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    File::open(dir)?.sync_all()
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

#[cfg(test)]
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

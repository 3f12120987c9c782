//! Files that hold personal data or progress: created owner-only (0600, folders 0700), made durable with
//! fsync of the file and of its folder, and replaced atomically.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use atomic_write_file::unix::OpenOptionsExt as _;

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

/// Creates a folder and its missing parents; the last one is made owner-only.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    std::fs::create_dir_all(path)?;
    std::fs::set_permissions(path, Permissions::from_mode(DIR_MODE))
}

/// fsync of a folder, so a file created or renamed in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    File::open(dir)?.sync_all()
}

/// Replaces `path` with `bytes` atomically and durably (temp file, fsync, rename, fsync of the folder), 0600.
pub fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = atomic_write_file::OpenOptions::new();
    options.preserve_mode(false).mode(FILE_MODE);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.commit()
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
        let state = dir.path().join("a/b");
        create_private_dir(&state).unwrap();
        assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o700);
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
    }
}

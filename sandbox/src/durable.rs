//! The sandbox's one durable write: the `--credits-file` balance, replaced atomically so a sandbox killed
//! mid-write restarts with the old or the new balance, never a torn file. Its own small copy rather than
//! the exporter's, so that the sandbox depends on nothing of the product it checks.

#[cfg(unix)]
use std::fs::{File, Permissions};
use std::io::{self, Write};
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Mode of the file written: owner-only, like every file of the exporter's state.
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// Replaces `path` with `bytes`: a temp file in the same folder, fsync, rename over `path`, fsync of the
/// folder. The file is 0600. If anything fails, the temp file is removed and `path` is unchanged.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    // tempfile creates 0600 already; say so explicitly, whatever a future version does.
    #[cfg(unix)]
    file.as_file().set_permissions(Permissions::from_mode(FILE_MODE))?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    // Windows cannot open a folder to flush it; NTFS journals the rename.
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn replaces_atomically_owner_only_and_leaves_nothing_on_failure() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("balance.json");
        std::fs::write(&path, "old").expect("write");
        std::fs::set_permissions(&path, Permissions::from_mode(0o644)).expect("chmod");
        replace(&path, b"one").expect("first replace");
        replace(&path, b"two").expect("second replace");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        assert_eq!(std::fs::metadata(&path).expect("stat").permissions().mode() & 0o777, 0o600);
        // A rename onto a folder fails: the temp file must not stay behind.
        let taken = dir.path().join("taken");
        std::fs::create_dir(&taken).expect("mkdir");
        assert!(replace(&taken, b"x").is_err());
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["balance.json", "taken"]);
    }
}

//! `cargo xtask dist`: builds ocean-export and packs what a user installs without a Rust toolchain: the
//! archive `ocean-export-<version>-<target>.tar.gz` (`.zip` for Windows) with a `.sha256` file beside it
//! and, for Linux targets, the Debian package (by cargo-deb, from `[package.metadata.deb]`). The man page
//! and the shell completions are written by the built binary itself (`manpage`, `completions`), so they
//! always match its flags; that is also why a target is built on a machine that can run it.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use sha2::{Digest, Sha256};

const USAGE: &str = "\
usage: cargo xtask dist [--profile NAME] [--target TRIPLE] [--out DIR] [--no-deb]

Builds ocean-export with the Cargo profile NAME (default: dist, the release settings; `.ci/run` uses
dist-ci, a quicker build of the same files) and writes to DIR (default: target/packages):
  ocean-export-<version>-<target>.tar.gz (.zip for Windows) and its .sha256
  ocean-export_<version>_<arch>.deb and its .sha256 (Linux targets; needs cargo-deb)
and prints their paths, one a line.";

const PACKAGE: &str = "ocean-export";

type Result<T> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("dist") => Options::parse(&args[1..]).and_then(|options| dist(&options)),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}

struct Options {
    profile: String,
    target: Option<String>,
    out: Option<PathBuf>,
    deb: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options> {
        let mut options = Options { profile: "dist".to_owned(), target: None, out: None, deb: true };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().cloned().ok_or(format!("{name} needs a value\n\n{USAGE}"));
            match arg.as_str() {
                "--profile" => options.profile = value("--profile")?,
                "--target" => options.target = Some(value("--target")?),
                "--out" => options.out = Some(PathBuf::from(value("--out")?)),
                "--no-deb" => options.deb = false,
                other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
            }
        }
        Ok(options)
    }
}

/// The workspace as `cargo metadata` sees it.
struct Workspace {
    root: PathBuf,
    target_dir: PathBuf,
    version: String,
}

fn dist(options: &Options) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let workspace = workspace(&cargo)?;
    let host = host_triple()?;
    let target = options.target.clone().unwrap_or(host);
    // Not target/<profile>: that is the build's own folder.
    let out = options.out.clone().unwrap_or_else(|| workspace.target_dir.join("packages"));
    fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;

    // The binary.
    let mut build = Command::new(&cargo);
    build.args(["build", "--locked", "--package", PACKAGE, "--bin", PACKAGE, "--profile", &options.profile]);
    if let Some(target) = &options.target {
        build.args(["--target", target]);
    }
    run(&mut build)?;
    let profile_dir = match options.profile.as_str() {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    };
    let mut bin_dir = workspace.target_dir.clone();
    if let Some(target) = &options.target {
        bin_dir.push(target);
    }
    bin_dir.push(profile_dir);
    let windows = target.contains("windows");
    let exe_name = if windows { format!("{PACKAGE}.exe") } else { PACKAGE.to_owned() };
    let exe = bin_dir.join(&exe_name);

    // The man page and completions, where cargo-deb looks for `target/release/assets/*`.
    let assets = write_assets(&exe, &bin_dir.join("assets"))?;

    let mut written = Vec::new();
    let base = format!("{PACKAGE}-{}-{target}", workspace.version);
    let mut files = vec![
        Entry::file(&exe_name, exe.clone(), true),
        Entry::file("README.md", workspace.root.join("README.md"), false),
        Entry::file("LICENSE-MIT", workspace.root.join("LICENSE-MIT"), false),
        Entry::file("LICENSE-APACHE", workspace.root.join("LICENSE-APACHE"), false),
        Entry::file("doc/ocean-export.1", assets.join("ocean-export.1"), false),
    ];
    for name in COMPLETIONS.iter().map(|(_, name)| name) {
        files.push(Entry::file(&format!("complete/{name}"), assets.join(name), false));
    }
    for (relative, path) in tree(&workspace.root.join("jobs"))? {
        files.push(Entry::file(&format!("examples/{relative}"), path, false));
    }
    let archive = if windows {
        let path = out.join(format!("{base}.zip"));
        write_zip(&path, &base, &files)?;
        path
    } else {
        let path = out.join(format!("{base}.tar.gz"));
        write_tar_gz(&path, &base, &files)?;
        path
    };
    written.push(archive);

    if options.deb && target.contains("linux") {
        written.push(debian_package(&cargo, options, &out)?);
    }
    for artifact in std::mem::take(&mut written) {
        let checksum = write_sha256(&artifact)?;
        written.extend([artifact, checksum]);
    }
    for path in &written {
        println!("{}", path.display());
    }
    Ok(())
}

fn workspace(cargo: &str) -> Result<Workspace> {
    let output = capture(Command::new(cargo).args(["metadata", "--format-version", "1", "--no-deps", "--locked"]))?;
    let metadata: serde_json::Value =
        serde_json::from_slice(&output).map_err(|e| format!("cargo metadata printed something unexpected: {e}"))?;
    let text = |value: &serde_json::Value| value.as_str().map(str::to_owned);
    let version = metadata["packages"]
        .as_array()
        .and_then(|packages| packages.iter().find(|p| p["name"] == PACKAGE))
        .and_then(|p| text(&p["version"]))
        .ok_or(format!("cargo metadata lists no package {PACKAGE}"))?;
    Ok(Workspace {
        root: text(&metadata["workspace_root"]).ok_or("cargo metadata has no workspace_root")?.into(),
        target_dir: text(&metadata["target_directory"]).ok_or("cargo metadata has no target_directory")?.into(),
        version,
    })
}

fn host_triple() -> Result<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = String::from_utf8(capture(Command::new(rustc).arg("-vV"))?).map_err(|e| e.to_string())?;
    output
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| "rustc -vV names no host".to_owned())
}

/// Shells and the file names their completions get (the names each shell looks for, minus folders).
const COMPLETIONS: [(&str, &str); 4] = [
    ("bash", "ocean-export.bash"),
    ("zsh", "_ocean-export"),
    ("fish", "ocean-export.fish"),
    ("powershell", "_ocean-export.ps1"),
];

/// Writes `ocean-export.1`, `ocean-export.1.gz` (Debian's man pages are gzipped) and the completions,
/// each as the binary prints it.
fn write_assets(exe: &Path, dir: &Path) -> Result<PathBuf> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let from_binary = |args: &[&str]| -> Result<Vec<u8>> {
        capture(Command::new(exe).args(args)).map_err(|e| {
            format!(
                "{e}\n(the man page and completions come from the built binary, so build on a machine that runs it)"
            )
        })
    };
    let man = from_binary(&["manpage"])?;
    write(&dir.join("ocean-export.1"), &man)?;
    write(&dir.join("ocean-export.1.gz"), &gzip(&man)?)?;
    for (shell, name) in COMPLETIONS {
        write(&dir.join(name), &from_binary(&["completions", shell])?)?;
    }
    Ok(dir.to_owned())
}

/// gzip -9n: no name, no time stamp, so the same page gives the same bytes.
fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).map_err(|e| e.to_string())?;
    encoder.finish().map_err(|e| e.to_string())
}

/// One file of the archive: its path under the archive's top folder, where it comes from, and whether
/// it is a program.
struct Entry {
    path: String,
    source: PathBuf,
    executable: bool,
}

impl Entry {
    fn file(path: &str, source: PathBuf, executable: bool) -> Entry {
        Entry { path: path.to_owned(), source, executable }
    }
}

/// Every file under `dir`, with its path relative to `dir` ('/'-separated), sorted.
fn tree(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(folder) = pending.pop() {
        for entry in fs::read_dir(&folder).map_err(|e| format!("cannot list {}: {e}", folder.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("under dir");
                let parts: Vec<_> =
                    relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                files.push((parts.join("/"), path));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The folders the entries need, parents first.
fn folders(files: &[Entry]) -> Vec<String> {
    let mut folders: Vec<String> = files
        .iter()
        .flat_map(|entry| {
            let parts: Vec<&str> = entry.path.split('/').collect();
            (1..parts.len()).map(move |n| parts[..n].join("/"))
        })
        .collect();
    folders.sort();
    folders.dedup();
    folders
}

/// A gzipped tar with everything under `base/`: owned by root, 0755 for folders and programs, 0644 for
/// the rest, dated SOURCE_DATE_EPOCH (or now), in a fixed order.
fn write_tar_gz(path: &Path, base: &str, files: &[Entry]) -> Result<()> {
    let mtime = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
    });
    let header = |kind: tar::EntryType, mode: u32, size: u64| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_size(size);
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header
    };
    let file = File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(file, flate2::Compression::best()));
    let fail = |e: io::Error| format!("cannot write {}: {e}", path.display());
    tar.append_data(&mut header(tar::EntryType::Directory, 0o755, 0), format!("{base}/"), io::empty()).map_err(fail)?;
    for folder in folders(files) {
        tar.append_data(&mut header(tar::EntryType::Directory, 0o755, 0), format!("{base}/{folder}/"), io::empty())
            .map_err(fail)?;
    }
    for entry in files {
        let bytes = read(&entry.source)?;
        let mode = if entry.executable { 0o755 } else { 0o644 };
        let mut header = header(tar::EntryType::Regular, mode, bytes.len() as u64);
        tar.append_data(&mut header, format!("{base}/{}", entry.path), bytes.as_slice()).map_err(fail)?;
    }
    let gz = tar.into_inner().map_err(fail)?;
    let file = gz.finish().map_err(fail)?;
    file.sync_all().map_err(fail)
}

/// The Windows archive: the same files under `base/`, deflated.
fn write_zip(path: &Path, base: &str, files: &[Entry]) -> Result<()> {
    use zip::write::SimpleFileOptions;
    let fail = |e: zip::result::ZipError| format!("cannot write {}: {e}", path.display());
    let file = File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.add_directory(format!("{base}/"), options.unix_permissions(0o755)).map_err(fail)?;
    for folder in folders(files) {
        zip.add_directory(format!("{base}/{folder}/"), options.unix_permissions(0o755)).map_err(fail)?;
    }
    for entry in files {
        let mode = if entry.executable { 0o755 } else { 0o644 };
        zip.start_file(format!("{base}/{}", entry.path), options.unix_permissions(mode)).map_err(fail)?;
        zip.write_all(&read(&entry.source)?).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    zip.finish().map_err(fail)?;
    Ok(())
}

/// `cargo deb` on the binary and assets just built; returns the package's path.
fn debian_package(cargo: &str, options: &Options, out: &Path) -> Result<PathBuf> {
    let installed = Command::new(cargo).args(["deb", "--version"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if !installed.is_ok_and(|status| status.success()) {
        return Err("cargo-deb is not installed: `cargo install cargo-deb --locked`, or pass --no-deb".to_owned());
    }
    let mut deb = Command::new(cargo);
    deb.args(["deb", "--no-build", "--package", PACKAGE, "--profile", &options.profile, "--output"]).arg(out);
    if let Some(target) = &options.target {
        deb.args(["--target", target]);
    }
    let printed = String::from_utf8(capture(&mut deb)?).map_err(|e| e.to_string())?;
    // cargo-deb prints the package's path last.
    let path = printed.lines().rev().map(str::trim).find(|line| line.ends_with(".deb")).map(PathBuf::from);
    path.filter(|p| p.is_file()).ok_or(format!("cargo deb printed no package path:\n{printed}"))
}

/// `NAME.sha256` beside `NAME`, in the format `sha256sum -c` checks.
fn write_sha256(path: &Path) -> Result<PathBuf> {
    let digest = hex::encode(Sha256::digest(read(path)?));
    let name = path.file_name().expect("a file").to_string_lossy();
    let checksum = path.with_file_name(format!("{name}.sha256"));
    write(&checksum, format!("{digest}  {name}\n").as_bytes())?;
    Ok(checksum)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Runs a command with its output passed through; fails unless it succeeds.
fn run(command: &mut Command) -> Result<()> {
    let status = command.status().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{command:?} failed: {status}")) }
}

/// Runs a command and returns what it printed on stdout; fails unless it succeeds.
fn capture(command: &mut Command) -> Result<Vec<u8>> {
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    if output.status.success() { Ok(output.stdout) } else { Err(format!("{command:?} failed: {}", output.status)) }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// Two files, one a program, in a folder and a subfolder, as `dist` lays them out.
    fn entries(dir: &Path) -> Vec<Entry> {
        fs::write(dir.join("prog"), b"#!/bin/sh\necho hi\n").unwrap();
        fs::write(dir.join("job.toml"), b"[search]\n").unwrap();
        vec![
            Entry::file("ocean-export", dir.join("prog"), true),
            Entry::file("examples/seeds/job.toml", dir.join("job.toml"), false),
        ]
    }

    #[test]
    fn the_zip_holds_every_file_under_one_folder_with_its_mode() {
        let dir = tempfile_dir();
        let path = dir.join("a.zip");
        write_zip(&path, "top", &entries(&dir)).unwrap();
        let mut zip = zip::ZipArchive::new(File::open(&path).unwrap()).unwrap();
        let mut names: Vec<String> = zip.file_names().map(|name| name.unwrap().into_owned()).collect();
        names.sort();
        assert_eq!(
            names,
            ["top/", "top/examples/", "top/examples/seeds/", "top/examples/seeds/job.toml", "top/ocean-export"]
        );
        let mut program = zip.by_name("top/ocean-export").unwrap();
        assert_eq!(program.unix_mode().map(|m| m & 0o777), Some(0o755));
        let mut text = String::new();
        program.read_to_string(&mut text).unwrap();
        assert_eq!(text, "#!/bin/sh\necho hi\n");
        drop(program);
        assert_eq!(zip.by_name("top/examples/seeds/job.toml").unwrap().unix_mode().map(|m| m & 0o777), Some(0o644));
    }

    #[test]
    fn the_tar_gz_holds_every_file_under_one_folder_root_owned_with_its_mode() {
        let dir = tempfile_dir();
        let path = dir.join("a.tar.gz");
        write_tar_gz(&path, "top", &entries(&dir)).unwrap();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(File::open(&path).unwrap()));
        let mut seen = Vec::new();
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header();
            assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
            let mode = header.mode().unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            seen.push((name, mode, bytes.len()));
        }
        assert_eq!(
            seen,
            [
                ("top/".to_owned(), 0o755, 0),
                ("top/examples/".to_owned(), 0o755, 0),
                ("top/examples/seeds/".to_owned(), 0o755, 0),
                ("top/ocean-export".to_owned(), 0o755, 18),
                ("top/examples/seeds/job.toml".to_owned(), 0o644, 9),
            ]
        );
    }

    #[test]
    fn the_checksum_file_is_what_sha256sum_checks() {
        let dir = tempfile_dir();
        let path = dir.join("a.tar.gz");
        fs::write(&path, b"abc").unwrap();
        let checksum = write_sha256(&path).unwrap();
        assert_eq!(checksum, dir.join("a.tar.gz.sha256"));
        assert_eq!(
            fs::read_to_string(checksum).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  a.tar.gz\n"
        );
    }

    /// A fresh folder under the system's temp folder, removed when dropped (xtask has no tempfile
    /// dependency).
    struct TempDir(PathBuf);

    impl std::ops::Deref for TempDir {
        type Target = Path;
        fn deref(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn tempfile_dir() -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xtask-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

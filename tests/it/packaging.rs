//! Installing without Rust. `cargo xtask dist` writes the Debian package and the release archive to a
//! folder; these tests take that folder from `OCEAN_EXPORT_DIST`, unpack both as a user would
//! (`dpkg-deb -x`, `tar -xzf`) into temp folders, check what is inside, and run the unpacked binary:
//! `--version`, and the example job against its built-in sandbox from a folder that is not the
//! checkout. They are ignored in a plain `cargo test` (the packages take minutes to build); `.ci/run`
//! builds the packages and runs them. The version test below runs everywhere.

use std::path::{Path, PathBuf};
use std::process::Command;

use ocean_export::version::Tool;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::csv_ids;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `ocean-export --version` names the version, the commit of the checkout it was built from, and the
/// features.
#[test]
fn version_names_the_commit_and_features() {
    let out = Command::new(assert_cmd::cargo::cargo_bin!("ocean-export")).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], format!("ocean-export {VERSION}"), "{text}");
    // The test runs in the checkout the binary was built from: git names the same commit.
    let head = Command::new("git")
        .args(["rev-parse", "--short=9", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_owned());
    match head {
        Some(head) => assert_eq!(lines[1], format!("commit:   {head}"), "{text}"),
        None => assert_eq!(lines[1], "commit:   unknown (not built from a git checkout)", "{text}"),
    }
    assert!(lines[2].starts_with("features: "), "{text}");
    assert_eq!(lines.len(), 3, "{text}");

    let short = Command::new(assert_cmd::cargo::cargo_bin!("ocean-export")).arg("-V").output().unwrap();
    let short = String::from_utf8(short.stdout).unwrap();
    assert!(short.starts_with(&format!("ocean-export {VERSION}")), "{short}");
}

/// The Debian package: the binary in /usr/bin, the man page, bash/zsh/fish completions where those
/// shells look, the example jobs and their seeds, README and licences; and the binary runs.
#[test]
#[ignore = "checks the packages `cargo xtask dist` built: .ci/run builds them and sets OCEAN_EXPORT_DIST"]
fn debian_package_installs_the_binary_man_page_completions_and_examples() {
    let dist = dist_dir();
    let arch = text(Command::new("dpkg").arg("--print-architecture"));
    let deb = dist.join(format!("ocean-export_{VERSION}_{}.deb", arch.trim()));
    assert!(deb.is_file(), "no {} (cargo xtask dist writes it)", deb.display());

    let field = |name: &str| text(Command::new("dpkg-deb").arg("--field").arg(&deb).arg(name)).trim().to_owned();
    assert_eq!(field("Package"), "ocean-export");
    assert_eq!(field("Version"), VERSION);
    assert_eq!(field("Architecture"), arch.trim());
    assert!(field("Depends").contains("libc6"), "Depends: {}", field("Depends"));

    let root = tempfile::tempdir().unwrap();
    text(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(root.path()));
    let doc = "usr/share/doc/ocean-export";
    let mut expected: Vec<String> = [
        "usr/bin/ocean-export",
        "usr/share/man/man1/ocean-export.1.gz",
        "usr/share/bash-completion/completions/ocean-export",
        "usr/share/zsh/vendor-completions/_ocean-export",
        "usr/share/fish/vendor_completions.d/ocean-export.fish",
        "usr/share/doc/ocean-export/README.md",
        "usr/share/doc/ocean-export/LICENSE-MIT",
        "usr/share/doc/ocean-export/LICENSE-APACHE",
        "usr/share/doc/ocean-export/copyright",
    ]
    .map(str::to_owned)
    .into();
    expected.extend(files_under(&checkout("jobs")).into_iter().map(|f| format!("{doc}/examples/{f}")));
    expected.sort();
    assert_eq!(files_under(root.path()), expected);
    assert_same_examples(&root.path().join(doc).join("examples"));
    assert_eq!(mode(&root.path().join("usr/bin/ocean-export")), 0o755);

    let man = text(Command::new("gzip").arg("-dc").arg(root.path().join("usr/share/man/man1/ocean-export.1.gz")));
    assert_man_page(&man);
    assert_completions(
        &root.path().join("usr/share/bash-completion/completions/ocean-export"),
        &root.path().join("usr/share/zsh/vendor-completions/_ocean-export"),
        &root.path().join("usr/share/fish/vendor_completions.d/ocean-export.fish"),
    );
    let copyright = std::fs::read_to_string(root.path().join(doc).join("copyright")).unwrap();
    assert!(copyright.contains("MIT OR Apache-2.0"), "{copyright}");

    assert_runs(&root.path().join("usr/bin/ocean-export"), &root.path().join(doc).join("examples/example.toml"));
}

/// The release archive: `ocean-export-<version>-<target>.tar.gz` with a `.sha256` that `sha256sum -c`
/// accepts, one top folder with the binary, man page, completions, examples, README and licences; and
/// the binary runs.
#[test]
#[ignore = "checks the packages `cargo xtask dist` built: .ci/run builds them and sets OCEAN_EXPORT_DIST"]
fn release_archive_holds_the_binary_and_matches_its_checksum() {
    let dist = dist_dir();
    let prefix = format!("ocean-export-{VERSION}-");
    let archives: Vec<String> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&prefix) && name.ends_with(".tar.gz"))
        .collect();
    let [name] = archives.as_slice() else { panic!("expected one {prefix}<target>.tar.gz in {dist:?}: {archives:?}") };
    let archive = dist.join(name);

    let checksum = std::fs::read_to_string(dist.join(format!("{name}.sha256"))).unwrap();
    let digest = hex::encode(Sha256::digest(std::fs::read(&archive).unwrap()));
    assert_eq!(checksum, format!("{digest}  {name}\n"));
    text(Command::new("sha256sum").arg("--check").arg(format!("{name}.sha256")).current_dir(&dist));

    let unpacked = tempfile::tempdir().unwrap();
    text(Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(unpacked.path()));
    let top = name.trim_end_matches(".tar.gz");
    let mut expected: Vec<String> = [
        "ocean-export",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "doc/ocean-export.1",
        "complete/ocean-export.bash",
        "complete/_ocean-export",
        "complete/ocean-export.fish",
        "complete/_ocean-export.ps1",
    ]
    .map(|f| format!("{top}/{f}"))
    .into();
    expected.extend(files_under(&checkout("jobs")).into_iter().map(|f| format!("{top}/examples/{f}")));
    expected.sort();
    assert_eq!(files_under(unpacked.path()), expected);
    let top = unpacked.path().join(top);
    assert_same_examples(&top.join("examples"));
    assert_eq!(mode(&top.join("ocean-export")), 0o755);
    assert_eq!(std::fs::read(top.join("LICENSE-MIT")).unwrap(), std::fs::read(checkout("LICENSE-MIT")).unwrap());

    assert_man_page(&std::fs::read_to_string(top.join("doc/ocean-export.1")).unwrap());
    assert_completions(
        &top.join("complete/ocean-export.bash"),
        &top.join("complete/_ocean-export"),
        &top.join("complete/ocean-export.fish"),
    );
    assert_runs(&top.join("ocean-export"), &top.join("examples/example.toml"));
}

/// Runs an unpacked binary as a user would, away from the checkout: `--version` is this very build, and
/// the example job runs on the sandbox, finds its seeds file beside the job, and writes `output/` under
/// the current folder, not beside the (installed, read-only) job.
fn assert_runs(bin: &Path, example: &Path) {
    let here = tempfile::tempdir().unwrap();
    let command = |args: &[&std::ffi::OsStr]| {
        let mut command = Command::new(bin);
        command
            .args(args)
            .current_dir(here.path())
            .env("XDG_CONFIG_HOME", here.path().join("xdg"))
            .env("NO_COLOR", "1");
        for (key, _) in std::env::vars() {
            if key.starts_with("OCEAN_") || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        command
    };
    let version = text(&mut command(&["--version".as_ref()]));
    assert_eq!(version, format!("ocean-export {}\n", ocean_export::version::long()), "not this build");

    let before = files_under(example.parent().unwrap());
    text(&mut command(&["run".as_ref(), example.as_os_str(), "--sandbox".as_ref()]));
    let ids = csv_ids(&std::fs::read_to_string(here.path().join("output/example.csv")).unwrap());
    assert!(ids.len() > 100, "{} people", ids.len());
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(here.path().join("output/example.csv.report.json")).unwrap())
            .unwrap();
    assert_eq!(report["people"], ids.len() as u64);
    assert_eq!(report["tool"], serde_json::to_value(Tool::current()).unwrap());
    // jim-halpert-5343 is only in seeds/customers.csv, beside the job file.
    let found = report["seed_statuses"]["successfulPeople"].as_array().unwrap();
    assert!(found.iter().any(|s| s == "jim-halpert-5343"), "{report}");
    assert_eq!(files_under(example.parent().unwrap()), before, "the run wrote beside the installed job");
}

/// The man page is roff for `ocean-export`, with the commands in it.
fn assert_man_page(roff: &str) {
    assert!(roff.contains(".TH ocean-export 1"), "{}", &roff[..roff.len().min(400)]);
    for command in ["run", "validate", "estimate", "sandbox", "completions", "manpage"] {
        assert!(roff.contains(command), "the man page does not mention `{command}`");
    }
}

/// Each completion file is the kind its shell loads: bash registers a completion for `ocean-export`
/// when sourced, zsh's starts with `#compdef ocean-export` (what its autoloader looks for), and fish's
/// completes `-c ocean-export`.
fn assert_completions(bash: &Path, zsh: &Path, fish: &Path) {
    let script = format!("source '{}' && complete -p ocean-export", bash.display());
    let registered = text(Command::new("bash").arg("-c").arg(script));
    assert!(registered.contains("ocean-export"), "{registered}");
    let zsh = std::fs::read_to_string(zsh).unwrap();
    assert!(zsh.starts_with("#compdef ocean-export"), "{}", &zsh[..zsh.len().min(200)]);
    let fish = std::fs::read_to_string(fish).unwrap();
    assert!(fish.contains("complete -c ocean-export"), "{}", &fish[..fish.len().min(200)]);
}

/// The packaged examples are the checkout's `jobs/`, byte for byte.
fn assert_same_examples(examples: &Path) {
    let jobs = checkout("jobs");
    for file in files_under(&jobs) {
        assert_eq!(std::fs::read(examples.join(&file)).unwrap(), std::fs::read(jobs.join(&file)).unwrap(), "{file}");
    }
}

fn dist_dir() -> PathBuf {
    let Some(dir) = std::env::var_os("OCEAN_EXPORT_DIST") else {
        panic!("OCEAN_EXPORT_DIST is not set: run `cargo xtask dist --out DIR` and set it to DIR (.ci/run does)")
    };
    PathBuf::from(dir)
}

fn checkout(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Every file under `dir`, relative and '/'-separated, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{prefix}{}", entry.file_name().to_string_lossy());
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &format!("{name}/"), out);
            } else {
                out.push(name);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out.sort();
    out
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// What a command printed, once it has exited 0.
fn text(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{command:?} failed ({}):\n{stderr}", output.status);
    String::from_utf8(output.stdout).unwrap()
}

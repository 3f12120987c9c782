//! Build facts for `--version` and the report: the git commit of the checkout being built (if any) and
//! the enabled Cargo features. Everything is optional: a source archive without git builds the same.

use std::path::Path;
use std::process::Command;

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir);

    // A build without .git (a container build context, a source tarball) can still name its commit.
    // No name here starts with OCEAN_EXPORT_: that prefix belongs to the settings, where an unknown
    // variable is an error, and Cargo also sets the rustc-env ones for the processes of `cargo run`/`test`.
    println!("cargo:rerun-if-env-changed=OCEAN_BUILD_COMMIT");
    let commit = match std::env::var("OCEAN_BUILD_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => git_commit(root).unwrap_or_default(),
    };
    println!("cargo:rustc-env=OCEAN_BUILD_INFO_COMMIT={commit}");

    // Cargo lists the package's enabled features in CARGO_CFG_FEATURE (comma separated).
    let features = std::env::var("CARGO_CFG_FEATURE").unwrap_or_default();
    let mut features: Vec<&str> = features.split(',').filter(|f| !f.is_empty() && *f != "default").collect();
    features.sort_unstable();
    println!("cargo:rustc-env=OCEAN_BUILD_INFO_FEATURES={}", features.join(","));
    println!("cargo:rerun-if-changed=build.rs");
}

/// The short commit of HEAD, when `root` is the top of a git checkout (not a folder inside some other
/// repository) and git is installed. Asks Cargo to rerun this when HEAD moves.
fn git_commit(root: &Path) -> Option<String> {
    let top = git(root, &["rev-parse", "--show-toplevel"])?;
    let same = |a: &Path, b: &Path| a.canonicalize().ok().zip(b.canonicalize().ok()).is_some_and(|(a, b)| a == b);
    if !same(Path::new(&top), root) {
        return None;
    }
    // HEAD names the branch; the branch's ref (loose or packed) names the commit. Only existing paths are
    // watched: Cargo reruns every build for a missing one. A ref that is packed now is watched through its
    // folder (refs/heads), where a commit writes it loose.
    let git_path = |name: &str| git(root, &["rev-parse", "--path-format=absolute", "--git-path", name]);
    println!("cargo:rerun-if-changed={}", git_path("HEAD")?);
    if let Some(branch) = git(root, &["symbolic-ref", "-q", "HEAD"]).and_then(|b| git_path(&b)) {
        let branch = Path::new(&branch);
        let watched = if branch.exists() { Some(branch) } else { branch.parent().filter(|p| p.exists()) };
        if let Some(watched) = watched {
            println!("cargo:rerun-if-changed={}", watched.display());
        }
        if let Some(packed) = git_path("packed-refs").filter(|p| Path::new(p).exists()) {
            println!("cargo:rerun-if-changed={packed}");
        }
    }
    git(root, &["rev-parse", "--short=9", "HEAD"])
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).current_dir(dir).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_owned())
}

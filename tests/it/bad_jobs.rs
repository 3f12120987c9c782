//! `tests/fixtures/bad-jobs/`: malformed job files. Each one makes `validate` and `run` exit 2 with an
//! error at the place its first line names, and the sandbox sees no request at all.
//!
//! A fixture's first line reads `# expect: [FILE:]LINE:COLUMN FRAGMENT -- why`: the error must start with
//! `error: FILE:LINE:COLUMN: ` (FILE defaults to the fixture itself; the comment is line 1) and its first
//! line must contain FRAGMENT. Files that cannot carry the comment (empty, not UTF-8 from the first byte)
//! are listed in [`WITHOUT_COMMENT`]. A 100 MB file is made at test time, never committed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use ocean_sandbox::{self as sandbox, DEFAULT_TOKEN, SandboxOptions};

const FIXTURES: &str = "tests/fixtures/bad-jobs";

/// Expectations of the fixtures whose first line cannot be a comment.
const WITHOUT_COMMENT: &[(&str, &str)] = &[
    ("empty.toml", "1:1 missing field `search`"),
    ("binary-garbage.toml", "1:1 not UTF-8"),
    ("utf16-notepad.toml", "1:1 not UTF-8"),
];

/// Where an error must point and a fragment of its message.
#[derive(Debug)]
struct Expect {
    place: String,
    fragment: String,
}

/// Parses `[FILE:]LINE:COLUMN FRAGMENT[ -- why]`; `file` is the default FILE.
fn parse_expect(spec: &str, file: &str) -> Expect {
    let spec = spec.split(" -- ").next().unwrap_or_default().trim();
    let (place, fragment) = spec.split_once(' ').unwrap_or((spec, ""));
    let mut parts = place.rsplitn(3, ':');
    let (column, line, other) = (parts.next(), parts.next(), parts.next());
    let numeric = |s: Option<&str>| s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    assert!(numeric(line) && numeric(column), "{file}: bad expectation `{spec}`");
    let file = other.unwrap_or(file);
    Expect { place: format!("{file}:{}:{}", line.unwrap(), column.unwrap()), fragment: fragment.to_owned() }
}

fn expectation(name: &str, relative: &str, bytes: &[u8]) -> Expect {
    if let Some((_, spec)) = WITHOUT_COMMENT.iter().find(|(n, _)| *n == name) {
        return parse_expect(spec, relative);
    }
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = std::str::from_utf8(first).unwrap_or_default();
    let spec = first
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{relative}: the first line must be `# expect: LINE:COLUMN FRAGMENT -- why`"));
    parse_expect(spec, relative)
}

/// The binary in `dir`, without the caller's OCEAN_* variables, log filter or user settings.
fn command(dir: &Path, xdg: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("ocean-export"));
    cmd.current_dir(dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("OCEAN_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.env("OCEAN_API_TOKEN", DEFAULT_TOKEN).env("XDG_CONFIG_HOME", xdg).env("NO_COLOR", "1");
    cmd
}

/// Runs one invocation; returns a description of what is wrong with its outcome, if anything.
fn check(mut cmd: Command, what: &str, expect: &Expect) -> Option<String> {
    let started = Instant::now();
    let output = cmd.timeout(Duration::from_secs(60)).output().expect("the binary runs");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    let prefix = format!("error: {}: ", expect.place);
    let mut problems = Vec::new();
    if output.status.code() != Some(2) {
        problems.push(format!("exit {:?}, not 2", output.status.code()));
    }
    if !first.starts_with(&prefix) {
        problems.push(format!("does not start with `{prefix}`"));
    }
    if !first.contains(&expect.fragment) {
        problems.push(format!("does not mention `{}`", expect.fragment));
    }
    if took > Duration::from_secs(10) {
        problems.push(format!("took {took:?}"));
    }
    (!problems.is_empty()).then(|| format!("{what}: {}\n    stderr: {}", problems.join("; "), stderr.trim_end()))
}

/// A job of about 100 MB: a valid start, then lines that are not TOML. Only the first
/// `MAX_JOB_FILE_BYTES` are read, so the error points at the line and column where that limit falls.
fn write_huge_job(path: &Path) -> Expect {
    let start = "[search]\nsize = 100\n";
    let junk = "this line is not TOML and there are millions of it\n";
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    file.write_all(start.as_bytes()).unwrap();
    let mut written = start.len();
    while written < 100_000_000 {
        file.write_all(junk.as_bytes()).unwrap();
        written += junk.len();
    }
    file.flush().unwrap();
    let text: String = start.chars().chain(junk.chars().cycle()).take(ocean_export::job::MAX_JOB_FILE_BYTES).collect();
    let line = 1 + text.matches('\n').count();
    let column = 1 + text.len() - text.rfind('\n').map_or(0, |i| i + 1);
    Expect { place: format!("{}:{line}:{column}", path.display()), fragment: "larger than 4 MiB".to_owned() }
}

#[test]
fn every_bad_job_exits_2_at_its_place_and_sends_nothing() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let temp = tempfile::tempdir().unwrap();
    let xdg = temp.path().join("xdg");
    let log = temp.path().join("requests.jsonl");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let options = SandboxOptions { people: 3, log: Some(log.clone()), ..SandboxOptions::default() };
    let server = runtime.block_on(sandbox::start(options)).expect("the sandbox starts");
    let base_url = server.base_url().to_owned();

    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(repo.join(FIXTURES))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 50, "only {} fixtures", fixtures.len());

    let mut cases = Vec::new();
    for path in &fixtures {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let relative = format!("{FIXTURES}/{name}");
        let expect = expectation(&name, &relative, &std::fs::read(path).unwrap());
        cases.push((relative, expect));
    }
    let huge = temp.path().join("huge.toml");
    cases.push((huge.display().to_string(), write_huge_job(&huge)));

    let mut failures = Vec::new();
    for (job, expect) in &cases {
        let mut validate = command(repo, &xdg);
        validate.arg("validate").arg(job);
        failures.extend(check(validate, &format!("validate {job}"), expect));
        let mut run = command(repo, &xdg);
        run.arg("run").arg(job).arg("--base-url").arg(&base_url);
        failures.extend(check(run, &format!("run {job}"), expect));
    }
    assert!(failures.is_empty(), "{} of {} runs went wrong:\n{}", failures.len(), 2 * cases.len(), failures.join("\n"));

    let requests = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(requests, "", "the sandbox was sent requests");

    // The log is live: one good run shows up in it, so the emptiness above means something.
    let good = temp.path().join("good.toml");
    std::fs::write(&good, "[search]\nsize = 1\n").unwrap();
    let mut run = command(temp.path(), &xdg);
    run.arg("run").arg(&good).arg("--base-url").arg(&base_url).arg("--max-records").arg("1").assert().success();
    let requests = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(requests.lines().count() >= 1, "a good run left no request in the sandbox log");
    drop(server);
}

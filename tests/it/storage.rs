//! `s3://` outputs against a real S3-compatible server: moto's server mode from `.venv/` (`.ci/run`
//! installs it from `tests/python/requirements.txt`), started per test on a free port with credential
//! checks on (a user and access key are created through its IAM API). Without `.venv` the tests are
//! skipped with a message, unless `OCEAN_TEST_REQUIRE_PYTHON` is set, when they fail.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ocean_sandbox::FieldsDefault;
use predicates::prelude::*;

use crate::support::{World, ndjson_ids};

const BUCKET: &str = "exports";

/// The virtual environment's bin folder, or `None` (with a message) when absent and not required.
fn venv() -> Option<PathBuf> {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin");
    if bin.join("moto_server").exists() {
        return Some(bin);
    }
    assert!(
        std::env::var_os("OCEAN_TEST_REQUIRE_PYTHON").is_none(),
        "{}/moto_server is missing and OCEAN_TEST_REQUIRE_PYTHON is set: python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt",
        bin.display()
    );
    eprintln!(
        "SKIPPED: no .venv/bin/moto_server (python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt)"
    );
    None
}

/// A moto server with one bucket and a user whose keys are `key` and `secret`.
struct Moto {
    bin: PathBuf,
    port: u16,
    child: Option<Child>,
    key: String,
    secret: String,
    /// A user who may read and list, not write.
    reader: (String, String),
    _log: tempfile::NamedTempFile,
}

impl Moto {
    fn start() -> Option<Moto> {
        let bin = venv()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut moto = Moto {
            bin,
            port,
            child: None,
            key: String::new(),
            secret: String::new(),
            reader: (String::new(), String::new()),
            _log: tempfile::NamedTempFile::new().unwrap(),
        };
        moto.launch(&[BUCKET]);
        Some(moto)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the server (empty: moto keeps everything in memory) and creates `buckets` and the user.
    fn launch(&mut self, buckets: &[&str]) {
        let log = self._log.reopen().unwrap();
        let child = Command::new(self.bin.join("moto_server"))
            .args(["-p", &self.port.to_string(), "-H", "127.0.0.1"])
            // Unauthenticated only for the set-up calls below: the buckets, and two users with a policy and a key.
            .env("INITIAL_NO_AUTH_ACTION_COUNT", (6 + buckets.len()).to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut args = vec!["setup".to_owned(), self.endpoint()];
        args.extend(buckets.iter().map(|b| b.to_string()));
        let out = self.python(&args, None);
        let keys: Vec<&str> = out.split_whitespace().collect();
        let [key, secret, reader_key, reader_secret] = keys[..] else { panic!("setup printed {out}") };
        (self.key, self.secret) = (key.to_owned(), secret.to_owned());
        self.reader = (reader_key.to_owned(), reader_secret.to_owned());
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn restart(&mut self) {
        self.stop();
        self.launch(&[BUCKET]);
    }

    fn python(&self, args: &[String], env: Option<(&str, &str)>) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/s3.py");
        let mut cmd = Command::new(self.bin.join("python"));
        cmd.arg(script).args(args);
        if let Some((key, secret)) = env {
            cmd.env("AWS_ACCESS_KEY_ID", key).env("AWS_SECRET_ACCESS_KEY", secret);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "s3.py {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// The object's bytes, or `None` when there is none.
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        let out = tempfile::NamedTempFile::new().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/s3.py");
        let status = Command::new(self.bin.join("python"))
            .arg(script)
            .args(["get", &self.endpoint(), BUCKET, key])
            .arg(out.path())
            .env("AWS_ACCESS_KEY_ID", &self.key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .status()
            .unwrap();
        match status.code() {
            Some(0) => Some(std::fs::read(out.path()).unwrap()),
            Some(3) => None,
            other => panic!("s3.py get {key}: {other:?}"),
        }
    }

    fn put(&self, key: &str, content: &[u8]) {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), content).unwrap();
        let args =
            ["put".to_owned(), self.endpoint(), BUCKET.to_owned(), key.to_owned(), file.path().display().to_string()];
        self.python(&args, Some((&self.key, &self.secret)));
    }

    fn list(&self) -> Vec<String> {
        let out =
            self.python(&["list".to_owned(), self.endpoint(), BUCKET.to_owned()], Some((&self.key, &self.secret)));
        out.lines().map(str::to_owned).collect()
    }

    /// `ocean-export` in `world` with this server's address and the given keys.
    fn cmd(&self, world: &World, key: &str, secret: &str) -> Command {
        let mut cmd = world.std_cmd();
        for (name, _) in std::env::vars() {
            if name.starts_with("AWS_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .env("AWS_REGION", "us-east-1");
        cmd
    }

    fn run(&self, world: &World, job: &str, args: &[&str]) -> assert_cmd::assert::Assert {
        self.run_as(world, job, args, &self.key, &self.secret)
    }

    fn run_as(&self, world: &World, job: &str, args: &[&str], key: &str, secret: &str) -> assert_cmd::assert::Assert {
        let mut cmd = self.cmd(world, key, secret);
        cmd.arg("run").arg(job).args(["--base-url", &world.base_url(), "--requests-per-minute", "60000"]).args(args);
        assert_cmd::Command::from_std(cmd).assert()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

fn job(world: &World, name: &str, path: &str) -> String {
    world
        .write(
            &format!("{name}.toml"),
            &format!("name = \"{name}\"\n[search]\nsize = 100\n[output]\npath = \"{path}\"\n"),
        )
        .display()
        .to_string()
}

/// The same export to a local file, for comparison.
fn local_copy(world: &World) -> Vec<u8> {
    let job = job(world, "local", "local/{job}.ndjson");
    world.run(&job, &[]).success();
    world.bytes("local/local.ndjson")
}

#[test]
fn an_export_is_uploaded_with_its_report_and_placeholders_filled() {
    let Some(moto) = Moto::start() else { return };
    let world = World::new(450, |_| {});
    let job = job(&world, "people", "s3://exports/nightly/{job}-{date}.ndjson");
    let assert = moto.run(&world, &job, &[]).success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    // {date} filled: nightly/people-YYYY-MM-DD.ndjson.
    let key = moto.list().into_iter().find(|k| k.ends_with(".ndjson")).expect("an object");
    let date = key.strip_prefix("nightly/people-").and_then(|k| k.strip_suffix(".ndjson")).unwrap();
    assert!(date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-', "{key}");
    let uploaded = moto.get(&key).expect("the object is there");
    assert_eq!(uploaded, local_copy(&world), "the object holds the same bytes as a local export");
    assert_eq!(ndjson_ids(&String::from_utf8(uploaded.clone()).unwrap()).len(), 450);
    let report: serde_json::Value = serde_json::from_slice(&moto.get(&format!("{key}.report.json")).unwrap()).unwrap();
    assert_eq!(report["output"], format!("s3://exports/{key}"));
    assert_eq!(report["bytes"], uploaded.len() as u64);
    assert_eq!(report["people"], 450);
    assert!(stderr.contains(&format!("s3://exports/{key}.report.json")), "{stderr}");
    assert!(!stderr.contains(&moto.secret), "the secret key is never printed");
    // Nothing else in the bucket (no temporary object), and nothing left locally.
    assert_eq!(moto.list(), vec![key.clone(), format!("{key}.report.json")]);
    assert!(!world.path(".state/people/objects").exists());
    assert!(!world.path("s3:").exists(), "never a local folder named s3:");
}

#[test]
fn an_existing_object_is_left_untouched_without_overwrite() {
    let Some(moto) = Moto::start() else { return };
    let world = World::new(600, |o| o.latency_ms = 400);
    moto.put("people.ndjson", b"someone else's file\n");
    let job = job(&world, "people", "s3://exports/people.ndjson");
    // Found before the export spends anything.
    moto.run(&world, &job, &[])
        .code(2)
        .stderr(predicate::str::contains("s3://exports/people.ndjson already exists and was left untouched"))
        .stderr(predicate::str::contains("--overwrite"));
    assert!(world.pages_served().is_empty(), "no page bought for an export that could not be published");
    assert_eq!(moto.get("people.ndjson").unwrap(), b"someone else's file\n");

    // An object that appears while the export runs is not replaced either: the copy is conditional.
    moto.python(&["delete-all".to_owned(), moto.endpoint(), BUCKET.to_owned()], Some((&moto.key, &moto.secret)));
    let mut cmd = moto.cmd(&world, &moto.key, &moto.secret);
    cmd.arg("run").arg(&job).args(["--base-url", &world.base_url(), "--requests-per-minute", "60000"]);
    let child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while world.pages_served().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    moto.put("people.ndjson", b"someone else's file\n");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("already exists and was left untouched"), "{stderr}");
    assert_eq!(moto.get("people.ndjson").unwrap(), b"someone else's file\n");
    assert_eq!(moto.list(), vec!["people.ndjson"], "no temporary object, no report");
    let pages = world.pages_served().len();
    // The export is kept: --overwrite uploads it without fetching.
    moto.run(&world, &job, &["--overwrite"]).success();
    assert_eq!(world.pages_served().len(), pages, "no page fetched again");
    assert_eq!(moto.get("people.ndjson").unwrap(), local_copy(&world));
}

#[test]
fn wrong_credentials_and_a_missing_bucket_are_found_before_any_page_is_bought() {
    let Some(moto) = Moto::start() else { return };
    let world = World::new(300, |_| {});
    let job = job(&world, "people", "s3://exports/people.ndjson");
    let wrong = "wrong-secret-0f9e8d7c6b5a";
    let assert = moto.run_as(&world, &job, &[], &moto.key, wrong).code(7);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("object storage refused the credentials for s3://exports/people.ndjson"), "{stderr}");
    assert!(!stderr.contains(wrong) && !stderr.contains(&moto.secret), "no secret in the messages: {stderr}");
    assert!(world.pages_served().is_empty(), "nothing bought");

    let missing_job = self::job(&world, "missing", "s3://no-such-bucket/people.ndjson");
    moto.run(&world, &missing_job, &[])
        .code(7)
        .stderr(predicate::str::contains("the bucket of s3://no-such-bucket/people.ndjson does not exist"));
    assert!(world.pages_served().is_empty(), "nothing bought");
}

#[test]
fn credentials_that_may_not_write_keep_the_export_for_a_rerun_that_fetches_nothing() {
    let Some(moto) = Moto::start() else { return };
    let world = World::new(300, |_| {});
    let job = job(&world, "people", "s3://exports/people.ndjson");
    let (reader_key, reader_secret) = moto.reader.clone();
    let assert = moto.run_as(&world, &job, &[], &reader_key, &reader_secret).code(7);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("object storage refused the credentials for s3://exports/people.ndjson"), "{stderr}");
    assert!(stderr.contains("rerunning the same command uploads it again without fetching"), "{stderr}");
    assert!(!stderr.contains(&reader_secret), "no secret in the messages: {stderr}");
    let checkpoint = std::fs::read_to_string(world.path(".state/people/checkpoint.json")).unwrap();
    assert!(!checkpoint.contains(&reader_secret) && !checkpoint.contains(&reader_key));
    assert!(world.path(".state/people/objects/exports/people.ndjson").exists(), "the finished file is kept");
    assert!(moto.list().is_empty());
    let pages = world.pages_served().len();
    assert!(pages > 0);

    // Credentials that may write: the rerun uploads, fetching nothing.
    moto.run(&world, &job, &[]).success();
    assert_eq!(world.pages_served().len(), pages, "the rerun fetched no page");
    assert_eq!(moto.get("people.ndjson").unwrap(), local_copy(&world));
    assert!(!world.path(".state/people/checkpoint.json").exists());
}

/// A world whose export is over 100 MiB of NDJSON: every field, every person hostile (half of them with
/// summaries of 20 KB or more).
fn big_world() -> World {
    World::new(11_000, |o| {
        o.fields_default = FieldsDefault::All;
        o.hostile_share = 1.0;
    })
}

#[test]
fn a_file_over_100_mib_goes_up_in_parts_and_survives_the_server_stopping_mid_upload() {
    let Some(mut moto) = Moto::start() else { return };
    let world = big_world();
    let job = world
        .write("big.toml", "name = \"big\"\n[search]\nsize = 1000\n[output]\npath = \"s3://exports/big.ndjson\"\n")
        .display()
        .to_string();
    // Stop the server once the upload is under way.
    let mut cmd = moto.cmd(&world, &moto.key, &moto.secret);
    cmd.arg("run").arg(&job).args(["--base-url", &world.base_url(), "--requests-per-minute", "60000"]);
    let mut child = cmd.env("RUST_LOG", "info").stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("uploading to s3://exports/big.ndjson") {
            break;
        }
    }
    assert!(log.contains("uploading to"), "{log}");
    std::thread::sleep(Duration::from_millis(300));
    moto.stop();
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(7), "{log}{}", rest.join("\n"));
    let staged = world.path(".state/big/objects/exports/big.ndjson");
    let size = std::fs::metadata(&staged).expect("the finished file is kept").len();
    assert!(size > 100 << 20, "the file is over 100 MiB ({size} bytes)");
    let pages = world.pages_served().len();

    // The server is back (empty: moto forgets); the rerun uploads without fetching.
    moto.restart();
    let assert = moto.run(&world, &job, &[]).success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert_eq!(world.pages_served().len(), pages, "the rerun fetched no page: {stderr}");
    let uploaded = moto.get("big.ndjson").unwrap();
    assert_eq!(uploaded.len() as u64, size);
    let report: serde_json::Value = serde_json::from_slice(&moto.get("big.ndjson.report.json").unwrap()).unwrap();
    use sha2::Digest;
    assert_eq!(report["sha256"], hex::encode(sha2::Sha256::digest(&uploaded)));
    assert_eq!(ndjson_ids(&String::from_utf8(uploaded).unwrap()).len(), 11_000);
}

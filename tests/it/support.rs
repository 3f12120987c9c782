//! Test harness: a temp folder as the working directory, an in-process sandbox with a request log, and
//! the real `ocean-export` binary run against it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;

use assert_cmd::Command;
use ocean_sandbox::{self as sandbox, Sandbox, SandboxOptions};
use serde_json::Value;

/// A token the tests use: distinctive, so a leak of it is easy to find.
pub const TOKEN: &str = "tok-3f9c2a71-SECRET-e84b";

pub struct World {
    pub dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    sandbox: Option<Sandbox>,
    pub options: SandboxOptions,
}

impl World {
    /// A world with a sandbox of `people` synthetic people, configured further by `configure`.
    pub fn new(people: u64, configure: impl FnOnce(&mut SandboxOptions)) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mut options = SandboxOptions {
            people,
            tokens: vec![TOKEN.to_owned()],
            log: Some(dir.path().join("requests.jsonl")),
            ..SandboxOptions::default()
        };
        configure(&mut options);
        let mut world = World { dir, runtime, sandbox: None, options };
        world.start();
        world
    }

    fn start(&mut self) {
        let options = self.options.clone();
        self.sandbox = Some(self.runtime.block_on(sandbox::start(options)).expect("sandbox starts"));
    }

    /// Stops the sandbox and starts it again with changed options (same log, same dataset unless changed).
    pub fn restart(&mut self, change: impl FnOnce(&mut SandboxOptions)) {
        if let Some(old) = self.sandbox.take() {
            self.options.bind = old.addr();
            drop(old);
        }
        change(&mut self.options);
        // The old listener may take a moment to let go of the port.
        for _ in 0..50 {
            if let Ok(sandbox) = self.runtime.block_on(sandbox::start(self.options.clone())) {
                self.sandbox = Some(sandbox);
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("sandbox did not restart");
    }

    pub fn base_url(&self) -> String {
        self.sandbox.as_ref().expect("running").base_url().to_owned()
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// Writes a file under the world's folder.
    pub fn write(&self, relative: &str, content: &str) -> PathBuf {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    pub fn bytes(&self, relative: &str) -> Vec<u8> {
        std::fs::read(self.path(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    /// The binary, run in the world's folder with the test token and no user settings or stray
    /// `OCEAN_EXPORT_*` variables: the one command builder every test starts from.
    pub fn std_cmd(&self) -> StdCommand {
        let mut cmd = StdCommand::new(assert_cmd::cargo::cargo_bin!("ocean-export"));
        cmd.current_dir(self.dir.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("OCEAN_") || key == "RUST_LOG" {
                cmd.env_remove(key);
            }
        }
        cmd.env("OCEAN_API_TOKEN", TOKEN).env("XDG_CONFIG_HOME", self.path("xdg")).env("NO_COLOR", "1");
        cmd
    }

    /// `ocean-export ARGS...` as [`World::std_cmd`] runs it, with files limited to `blocks` of 512 bytes
    /// (RLIMIT_FSIZE, SIGXFSZ ignored): writes past it fail with EFBIG, as on a full disk.
    pub fn run_on_a_full_disk(&self, blocks: u64, args: &[&str]) -> std::process::Output {
        let cmd = self.std_cmd();
        let mut sh = StdCommand::new("sh");
        sh.arg("-c")
            .arg(format!("trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" \"$@\""))
            .arg(cmd.get_program())
            .args(args)
            .current_dir(self.dir.path());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => sh.env(key, value),
                None => sh.env_remove(key),
            };
        }
        sh.output().expect("sh runs")
    }

    /// The same, as an assert_cmd command.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// `ocean-export ARGS...` in the world: its stdout, once it has exited 0.
    pub fn stdout(&self, args: &[&str]) -> String {
        stdout_of(self.cmd().args(args))
    }

    /// `ocean-export run JOB --base-url SANDBOX ARGS...`, unpaced (`--requests-per-minute 60000`) unless
    /// the arguments set a rate.
    pub fn run(&self, job: &str, args: &[&str]) -> assert_cmd::assert::Assert {
        let mut cmd = self.cmd();
        cmd.arg("run").arg(job).arg("--base-url").arg(self.base_url());
        if !args.contains(&"--requests-per-minute") {
            cmd.args(["--requests-per-minute", "60000"]);
        }
        cmd.args(args).assert()
    }

    /// Every request the sandbox logged, in order.
    pub fn requests(&self) -> Vec<Value> {
        let Ok(text) = std::fs::read_to_string(self.path("requests.jsonl")) else { return Vec::new() };
        // Only whole lines: the sandbox may be writing the next one while a test polls.
        let whole = text.rfind('\n').map_or("", |end| &text[..end]);
        whole.lines().map(|line| serde_json::from_str(line).expect("a JSON log line")).collect()
    }

    /// Search requests that returned a page (status 200, no fault).
    pub fn pages_served(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["path"] == "/v3/search/people" && r["status"] == 200 && r["fault"].is_null())
            .collect()
    }

    /// How many times each page (by query and position) was served with status 200.
    pub fn fetch_counts(&self) -> BTreeMap<(String, u64), u64> {
        let mut counts = BTreeMap::new();
        for page in self.pages_served() {
            let key = (page["query"].as_str().unwrap_or_default().to_owned(), page["position"].as_u64().unwrap_or(0));
            *counts.entry(key).or_insert(0) += 1;
        }
        counts
    }

    /// Forget the requests so far.
    pub fn clear_log(&self) {
        let _ = std::fs::write(self.path("requests.jsonl"), "");
    }

    /// Every file under the world's folder (excluding the request log), for leak checks.
    pub fn all_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out
    }
}

/// The stdout of a prepared command, once it has exited 0.
pub fn stdout_of(cmd: &mut Command) -> String {
    String::from_utf8(cmd.assert().success().get_output().stdout.clone()).expect("stdout is UTF-8")
}

/// Person `index` of the world's dataset, as the sandbox serves it.
pub fn person(world: &World, index: u64) -> Value {
    sandbox::dataset::person(world.options.seed, index, world.options.hostile_share)
}

/// The ids of the people of the world's dataset for which `keep` holds, in dataset order.
pub fn ids_where(world: &World, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    (0..world.options.people)
        .map(|i| person(world, i))
        .filter(|p| keep(p))
        .map(|p| p["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Ids in a CSV export with an `id` (or, in the person card, `Ocean ID`) column.
pub fn csv_ids(text: &str) -> Vec<String> {
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let id = reader.headers().unwrap().iter().position(|h| h == "id" || h == "Ocean ID").expect("an id column");
    reader.records().map(|r| r.unwrap()[id].to_owned()).collect()
}

/// Ids in an NDJSON export.
pub fn ndjson_ids(text: &str) -> Vec<String> {
    text.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_str().unwrap().to_owned()).collect()
}

/// Sends a signal to a child process.
pub fn signal(child: &std::process::Child, signal: i32) {
    // SAFETY: kill(2) with a pid we own.
    unsafe {
        libc::kill(child.id() as libc::pid_t, signal);
    }
}

/// Reproducible random numbers for tests that pick instants at random (splitmix64). The seed comes from
/// `OCEAN_TEST_SEED` when set, else from the clock, and is printed, so a failure can be replayed.
pub struct Dice {
    pub seed: u64,
    state: u64,
}

impl Dice {
    pub fn new(what: &str) -> Dice {
        let seed = std::env::var("OCEAN_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
        });
        eprintln!("{what}: seed {seed} (OCEAN_TEST_SEED={seed} repeats it)");
        Dice { seed, state: seed }
    }

    /// A number in `range`.
    pub fn range(&mut self, range: std::ops::Range<u64>) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        range.start + (z ^ (z >> 31)) % (range.end - range.start).max(1)
    }
}

/// Starts `ocean-export ARGS` in the world again and again and kills it with SIGKILL `kills` times, each
/// at a random instant (from `dice`): after 0, 1 or 2 more pages were served, then 0 to 40 ms more, so the
/// kills land in start-up, mid-page, mid-commit and mid-checkpoint alike however fast the machine is.
/// Returns where each run's pages start in the sandbox's log, and where the last one's end.
pub fn kill_repeatedly(world: &World, args: &[&str], kills: usize, dice: &mut Dice) -> Vec<usize> {
    use std::time::{Duration, Instant};
    let mut starts = Vec::new();
    for kill in 0..kills {
        let start = world.pages_served().len();
        starts.push(start);
        let mut child = world.std_cmd().args(args).stderr(std::process::Stdio::null()).spawn().unwrap();
        let pages = start + dice.range(0..3) as usize;
        let deadline = Instant::now() + Duration::from_secs(60);
        while world.pages_served().len() < pages && Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(dice.range(0..40)));
        let finished = child.try_wait().unwrap();
        assert!(
            finished.is_none(),
            "the export ended ({finished:?}) before kill {}; make it longer (seed {})",
            kill + 1,
            dice.seed
        );
        signal(&child, libc::SIGKILL);
        child.wait().unwrap();
    }
    starts.push(world.pages_served().len());
    starts
}

/// Checks that every run (its pages start at `starts[i]` in the sandbox's log, the last run's pages run
/// to the end of the log) fetched at most `limit` pages that an earlier run had already been served.
pub fn assert_fetched_again_at_most(world: &World, starts: &[usize], limit: usize, seed: u64) {
    let pages = world.pages_served();
    let key = |r: &Value| (r["query"].to_string(), r["position"].as_u64().unwrap_or(0));
    let mut seen = std::collections::HashSet::new();
    let mut bounds = starts.to_vec();
    bounds.push(pages.len());
    for (run, window) in bounds.windows(2).enumerate() {
        let run_pages = &pages[window[0].min(pages.len())..window[1].min(pages.len())];
        let again = run_pages.iter().filter(|r| seen.contains(&key(r))).count();
        assert!(again <= limit, "run {run} fetched {again} pages an earlier run had been served (seed {seed})");
        seen.extend(run_pages.iter().map(key));
    }
}

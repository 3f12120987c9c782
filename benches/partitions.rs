//! The result window: a search of 100 000 people exported through a window of 10 000, with the planner
//! splitting it into parts. `cargo bench --bench partitions` (add `-- quick` to skip the slow runs).
//!
//! 1. Completeness and planning cost: exported == total, each person once; probes at most 1 % of the
//!    walk's credits and at most 2 requests per part.
//! 2. Rate: with 2 s of latency per page and 60 requests a minute, the wall time against requests ÷ rate
//!    (target: at most 1.15), with 4 cursors in flight; and one cursor, for comparison (about 2).
//! 3. Memory: peak RSS at page size 10 000 with 4 cursors in flight (target: at most 64 MiB).
//!
//! The sandbox and every export run as their own processes, so an export's peak RSS is its own (`wait4`).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

mod common;
use common::{BIN, SandboxProcess};
const TOKEN: &str = "sandbox-token";
const PEOPLE: u64 = 100_000;
const WINDOW: u64 = 10_000;

/// A sandbox process with a request log.
struct Sandbox {
    process: SandboxProcess,
    log: PathBuf,
}

impl Sandbox {
    fn start(dir: &Path, extra: &[&str]) -> Sandbox {
        let log = dir.join(format!("requests-{}.jsonl", extra.join("_").replace(['-', '/'], "")));
        let _ = std::fs::remove_file(&log);
        let mut args = vec!["--people".to_owned(), PEOPLE.to_string(), "--window".to_owned(), WINDOW.to_string()];
        args.extend(["--log".to_owned(), log.display().to_string()]);
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        Sandbox { process: SandboxProcess::start(args), log }
    }

    fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

struct Run {
    seconds: f64,
    max_rss_mib: f64,
    report: serde_json::Value,
    output: PathBuf,
}

/// Runs an export of every person at `size` per page and `rpm` requests a minute, with `cursors` in flight.
#[expect(clippy::zombie_processes, reason = "the child is reaped by wait4, which also reports its resource usage")]
fn export(dir: &Path, sandbox: &Sandbox, size: u64, rpm: u64, cursors: u64) -> Run {
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        format!(
            "name = \"wide\"\n[search]\nsize = {size}\n[api]\nrequests_per_minute = {rpm}\nresult_window = {WINDOW}\nconcurrency = {cursors}\nmax_retries = 20\n"
        ),
    )
    .unwrap();
    let output = dir.join("wide.ndjson");
    let _ = std::fs::remove_file(&output);
    let started = Instant::now();
    let child = Command::new(BIN)
        .args(["run", job.to_str().unwrap(), "--quiet", "--fresh", "--base-url", &sandbox.process.url])
        .arg("--output")
        .arg(&output)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .env("OCEAN_API_TOKEN", TOKEN)
        .env_remove("RUST_LOG")
        .spawn()
        .expect("the exporter starts");
    let mut status = 0;
    // SAFETY: wait4 writes only into the two structs it is given; the child is ours and not yet waited for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: see above.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t);
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(libc::WEXITSTATUS(status), 0, "the export failed");
    let mut report_path = output.clone().into_os_string();
    report_path.push(".report.json");
    let report = serde_json::from_str(&std::fs::read_to_string(report_path).unwrap()).unwrap();
    Run { seconds, max_rss_mib: usage.ru_maxrss as f64 / 1024.0, report, output }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let dir = base.join(format!("ocean-export-partitions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // 1. Completeness and what planning costs.
    let sandbox = Sandbox::start(&dir, &[]);
    let run = export(&dir, &sandbox, 1000, 1_000_000, 4);
    // Read line by line: a child inherits this process's peak RSS across fork and exec, so the benchmark
    // itself stays small for the memory figure below.
    let (mut lines, mut distinct) = (0usize, HashSet::new());
    for line in BufReader::new(std::fs::File::open(&run.output).unwrap()).lines() {
        let person: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        distinct.insert(person["id"].as_str().unwrap().to_owned());
        lines += 1;
    }
    let unique = distinct.len();
    let report = &run.report;
    let parts = report["parts"].as_array().unwrap().iter().filter(|p| p["split"] == false).count() as f64;
    let probes = report["probes"].as_f64().unwrap();
    let credits = report["credits_used"].as_f64().unwrap();
    let probe_share = probes * 0.2 / credits;
    let deep = sandbox.requests().iter().filter(|r| r["position"].as_u64().unwrap_or(0) >= WINDOW).count();
    println!("1. {PEOPLE} people through a window of {WINDOW}, pages of 1000, 4 cursors");
    println!(
        "   exported {} lines, {unique} distinct of {PEOPLE}: {}; complete: {}; requests past the window: {deep}",
        lines,
        verdict(lines == unique && unique as u64 == PEOPLE),
        report["complete"]
    );
    println!(
        "   {parts} parts, {probes} probes ({:.2} per part: {}), probe credits {:.3} % of {credits} ({}), {:.1}s",
        probes / parts,
        verdict(probes / parts <= 2.0),
        100.0 * probe_share,
        verdict(probe_share <= 0.01),
        run.seconds
    );
    drop(sandbox);

    // 3. Memory at page size 10 000 with 4 cursors (hostile 20 KB summaries, the default dataset).
    let sandbox = Sandbox::start(&dir, &[]);
    let run = export(&dir, &sandbox, 10_000, 1_000_000, 4);
    println!(
        "3. peak RSS at page size 10 000, 4 cursors: {:.1} MiB (target <= 64 MiB: {}), {:.1}s",
        run.max_rss_mib,
        verdict(run.max_rss_mib <= 64.0),
        run.seconds
    );
    drop(sandbox);

    if quick {
        println!("2. skipped (quick)");
        return;
    }
    // 2. Rate: 2 s per page, 60 a minute.
    for cursors in [4, 1] {
        let sandbox = Sandbox::start(&dir, &["--latency-ms", "2000", "--rpm", "60"]);
        let run = export(&dir, &sandbox, 1000, 60, cursors);
        let requests = sandbox.requests().len() as f64;
        let floor = requests; // one a second at 60 a minute
        let ratio = run.seconds / floor;
        let target =
            if cursors == 4 { format!(" (target <= 1.15: {})", verdict(ratio <= 1.15)) } else { String::new() };
        println!(
            "2. {cursors} cursor(s), 2 s latency, 60/min: {requests} requests in {:.1}s = {ratio:.2} x requests/rate{target}",
            run.seconds
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

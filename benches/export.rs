//! End-to-end benchmark of the exporter against the sandbox: the Performance issue's four targets,
//! each ratio measured in one run.
//!
//! `cargo bench --bench export` (add `-- quick` for a smaller, faster pass)
//!
//! The sandbox runs as its own process (`ocean-export sandbox`), and so does every export (`ocean-export
//! run`), so an export's peak RSS and CPU are its own (`wait4`). Exports write to `/dev/shm` when it
//! exists, so that the figures measure the exporter rather than this machine's disk; one CSV run also
//! writes to the disk (`target/`), for information.
//!
//! 1. Overhead: people/s of the exporter versus a bare client that walks the same pages, counts the
//!    people in them and discards them (target: at least 0.8), on 1 000 000 people at page size 1 000,
//!    CSV and NDJSON. The bare client's count must equal the sandbox's size.
//! 2. Memory: peak RSS at page size 10 000 with the hostile 20 KB summaries (target: at most 64 MiB),
//!    and for 1 000 000 people against 100 000 (target: at most 1.2 times).
//! 3. Overlap: with 300 ms of sandbox latency per page, pages/s against 1/latency (target: 95 %).
//! 4. Start-up: from process start to the first request at the sandbox (target: at most 50 ms).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

mod common;
use common::{BIN, SandboxProcess};
const TOKEN: &str = "sandbox-token";

/// A sandbox process; killed when dropped.
struct Sandbox {
    process: SandboxProcess,
    /// People in its dataset: what an unfiltered walk must receive.
    people: u64,
    log: Option<PathBuf>,
}

impl Sandbox {
    fn start(people: u64, extra: &[&str], log: Option<&Path>) -> Sandbox {
        let mut args = vec!["--bind".to_owned(), "127.0.0.1:0".to_owned(), "--people".to_owned(), people.to_string()];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        if let Some(log) = log {
            args.extend(["--log".to_owned(), log.display().to_string()]);
        }
        Sandbox { process: SandboxProcess::start(args), people, log: log.map(Path::to_owned) }
    }

    /// Arrival times (ms since the epoch) of the requests the sandbox logged.
    fn arrivals(&self) -> Vec<f64> {
        let text = std::fs::read_to_string(self.log.as_ref().expect("a log")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["unix_ms"].as_f64())
            .collect()
    }
}

/// What one export process took.
struct Run {
    seconds: f64,
    cpu_seconds: f64,
    max_rss_mib: f64,
}

/// Runs `ocean-export run` to completion and measures it.
#[expect(clippy::zombie_processes, reason = "the child is reaped by wait4, which also reports its resource usage")]
fn export(dir: &Path, sandbox: &Sandbox, size: u64, format: &str, output: &Path) -> Run {
    let job = dir.join("job.toml");
    std::fs::write(&job, format!("name = \"bench\"\n[search]\nsize = {size}\n[api]\nrequests_per_minute = 1000000\n"))
        .unwrap();
    let _ = std::fs::remove_file(output);
    let started = Instant::now();
    let child = Command::new(BIN)
        .args([
            "run",
            job.to_str().unwrap(),
            "--quiet",
            "--fresh",
            "--format",
            format,
            "--base-url",
            &sandbox.process.url,
        ])
        .arg("--output")
        .arg(output)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .env("OCEAN_API_TOKEN", TOKEN)
        .env_remove("RUST_LOG")
        .spawn()
        .expect("the exporter starts");
    let (status, usage) = wait4(&child);
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(status, 0, "the export failed");
    let _ = std::fs::remove_file(output);
    let report = ocean_export::checkpoint::report_path(output);
    let text = std::fs::read_to_string(&report).expect("the export wrote its report");
    let _ = std::fs::remove_file(&report);
    let people = serde_json::from_str::<serde_json::Value>(&text).unwrap()["people"].as_u64().expect("people");
    assert_eq!(people, sandbox.people, "the export wrote every person of the sandbox");
    let cpu = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Run {
        seconds,
        cpu_seconds: cpu(usage.ru_utime) + cpu(usage.ru_stime),
        max_rss_mib: usage.ru_maxrss as f64 / 1024.0,
    }
}

/// Waits for a child and returns its exit code and resource usage.
fn wait4(child: &Child) -> (i32, libc::rusage) {
    let mut status = 0;
    // SAFETY: wait4 writes only into the two structs it is given; the child is ours and not yet waited for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: see above.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4");
    (libc::WEXITSTATUS(status), usage)
}

/// What a bare walk received.
struct Walk {
    /// People counted in the bodies, not assumed.
    people: u64,
    bytes: u64,
    pages: u64,
    seconds: f64,
    /// Time spent counting the people, included in `seconds`.
    counting_seconds: f64,
}

/// A bare client: walks every page of the unfiltered query, streaming each body, counting the people in it as it arrives and taking the cursor from its end; the
/// bytes are then thrown away.
fn bare_walk(sandbox: &Sandbox, size: u64) -> Walk {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let url = format!("{}/v3/search/people", sandbox.process.url);
    runtime.block_on(async move {
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let started = Instant::now();
            let (mut cursor, mut bytes, mut people, mut pages) = (None::<String>, 0u64, 0u64, 0u64);
            let mut counting = std::time::Duration::ZERO;
            loop {
                let mut body = serde_json::json!({ "size": size });
                if let Some(cursor) = &cursor {
                    body["searchAfter"] = serde_json::json!(cursor);
                }
                let mut response = client.post(&url).header("x-api-token", TOKEN).json(&body).send().await.unwrap();
                assert!(response.status().is_success());
                // The people are counted as the bytes arrive; only the end of the body is kept, to find
                // the cursor.
                let mut counter = PeopleCounter::default();
                let mut tail: Vec<u8> = Vec::new();
                while let Some(chunk) = response.chunk().await.unwrap() {
                    bytes += chunk.len() as u64;
                    let counted = Instant::now();
                    counter.feed(&chunk);
                    counting += counted.elapsed();
                    tail.extend_from_slice(&chunk[chunk.len().saturating_sub(4096)..]);
                    tail.drain(..tail.len().saturating_sub(4096));
                }
                assert!(counter.is_complete(), "page {pages}: the body is not one complete JSON object");
                assert!(counter.people <= size, "page {pages}: {} people on a page of {size}", counter.people);
                people += counter.people;
                pages += 1;
                let key = b"\"searchAfter\":\"";
                cursor = memchr::memmem::rfind(&tail, key).map(|at| {
                    let rest = &tail[at + key.len()..];
                    String::from_utf8_lossy(&rest[..memchr::memchr(b'"', rest).unwrap()]).into_owned()
                });
                if cursor.is_none() {
                    return Walk {
                        people,
                        bytes,
                        pages,
                        seconds: started.elapsed().as_secs_f64(),
                        counting_seconds: counting.as_secs_f64(),
                    };
                }
            }
        })
        .await
        .unwrap()
    })
}

/// Counts the people in a search response while it streams in: the objects that open directly inside
/// the `people` array of the top-level object, wherever the chunks are cut. It tracks nesting, strings
/// and escapes, and skips through strings with `memchr`, so it reads each byte once and does not build
/// anything. It does not validate the JSON beyond that: the exporter's parser does.
#[derive(Default)]
struct PeopleCounter {
    people: u64,
    /// Nesting of objects and arrays; the response itself is depth 1.
    depth: u32,
    in_string: bool,
    /// The last byte was a backslash inside a string.
    escaped: bool,
    /// At depth 1, the next string is a key (after `{` or `,`), not a value (after `:`).
    expect_key: bool,
    /// The key being read, or the last key read, at depth 1.
    key: Vec<u8>,
    reading_key: bool,
    /// Inside the `people` array (depth 2).
    in_people: bool,
    /// The top-level object has closed.
    closed: bool,
}

impl PeopleCounter {
    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    if self.reading_key {
                        self.key.push(bytes[0]);
                    }
                    bytes = &bytes[1..];
                    continue;
                }
                let Some(at) = memchr::memchr2(b'"', b'\\', bytes) else {
                    if self.reading_key {
                        self.key.extend_from_slice(bytes);
                    }
                    return;
                };
                if self.reading_key {
                    self.key.extend_from_slice(&bytes[..at]);
                }
                if bytes[at] == b'\\' {
                    self.escaped = true;
                } else {
                    self.in_string = false;
                    self.reading_key = false;
                }
                bytes = &bytes[at + 1..];
                continue;
            }
            let byte = bytes[0];
            bytes = &bytes[1..];
            match byte {
                b'"' => {
                    self.in_string = true;
                    if self.depth == 1 && self.expect_key {
                        self.reading_key = true;
                        self.key.clear();
                    }
                }
                b'{' | b'[' => {
                    if self.depth == 2 && self.in_people && byte == b'{' {
                        self.people += 1;
                    }
                    if self.depth == 1 && byte == b'[' && self.key == b"people" {
                        self.in_people = true;
                    }
                    self.depth += 1;
                    if self.depth == 1 {
                        self.expect_key = true;
                    }
                }
                b'}' | b']' => {
                    self.depth -= 1;
                    match self.depth {
                        1 => self.in_people = false,
                        0 => self.closed = true,
                        _ => {}
                    }
                }
                b',' if self.depth == 1 => self.expect_key = true,
                b':' if self.depth == 1 => self.expect_key = false,
                _ => {}
            }
        }
    }

    /// The body was one complete JSON object.
    fn is_complete(&self) -> bool {
        self.closed && self.depth == 0 && !self.in_string
    }
}

/// The counter counts what it should on a body made to mislead it, however the body is cut.
fn check_people_counter() {
    let body = br#"{"peopleCount":[{},{}],"people":[{"id":"a","name":"\"people\":[{","nested":{"people":[{},{}]},"l":[{"x":[{}]},[{}]],"t":"back\\"},{"id":"b\\\"}{["},{}],"detail":"],\"people\":[{}","total":3,"people2":[{}]}"#;
    let count = |cuts: &[usize]| {
        let mut counter = PeopleCounter::default();
        let mut from = 0;
        for &to in cuts.iter().chain([&body.len()]) {
            counter.feed(&body[from..to]);
            from = to;
        }
        assert!(counter.is_complete(), "cut at {cuts:?}");
        counter.people
    };
    assert_eq!(serde_json::from_slice::<serde_json::Value>(body).unwrap()["people"].as_array().unwrap().len(), 3);
    for at in 0..=body.len() {
        assert_eq!(count(&[at]), 3, "cut at {at}");
    }
    assert_eq!(count(&(1..body.len()).collect::<Vec<_>>()), 3, "cut after every byte");
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

fn main() {
    check_people_counter();
    let quick = std::env::args().any(|a| a == "quick");
    let big: u64 = if quick { 200_000 } else { 1_000_000 };
    let scratch = tempfile::tempdir_in(if Path::new("/dev/shm").exists() { "/dev/shm" } else { "/tmp" }).unwrap();
    let dir = scratch.path();
    println!(
        "ocean-export end-to-end benchmark ({}), load average {}",
        if quick { "quick" } else { "full" },
        load_average()
    );

    // 1. Overhead, and the 1 M half of the memory ratio.
    let sandbox = Sandbox::start(big, &[], None);
    // A first walk warms the sandbox up (as the bare client's walk then does for the exports).
    let warm = bare_walk(&sandbox, 1000);
    assert_eq!(warm.people, sandbox.people, "the warm-up walk received every person");
    let walk = bare_walk(&sandbox, 1000);
    let (people, bytes, bare_seconds) = (walk.people, walk.bytes, walk.seconds);
    assert_eq!(people, sandbox.people, "the bare client received every person");
    let bare_rate = people as f64 / bare_seconds;
    println!("\n1. overhead, {people} people at page size 1 000 (output in {})", dir.display());
    println!(
        "   bare client:  {bare_rate:>9.0} people/s  {:>6.0} MB/s  ({people} people counted in {} pages; counting took {:.2} s of {:.2} s)",
        bytes as f64 / bare_seconds / 1e6,
        walk.pages,
        walk.counting_seconds,
        bare_seconds
    );
    let mut big_rss = 0.0f64;
    for format in ["csv", "ndjson"] {
        let run = export(dir, &sandbox, 1000, format, &dir.join(format!("out.{format}")));
        let rate = people as f64 / run.seconds;
        big_rss = big_rss.max(run.max_rss_mib);
        println!(
            "   export {format:<6} {rate:>9.0} people/s  {:>6.0} MB/s  ratio {:.2} (target >= 0.80: {})  cpu {:.1} s, peak RSS {:.1} MiB",
            bytes as f64 / run.seconds / 1e6,
            rate / bare_rate,
            verdict(rate / bare_rate >= 0.8),
            run.cpu_seconds,
            run.max_rss_mib
        );
    }
    let disk = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-out.csv");
    let run = export(dir, &sandbox, 1000, "csv", &disk);
    println!(
        "   export csv to disk ({}): {:.0} people/s, ratio {:.2} (information: fsync per page on this disk)",
        disk.display(),
        people as f64 / run.seconds,
        people as f64 / run.seconds / bare_rate
    );
    drop(sandbox);

    // 2. Memory.
    println!("\n2. memory (peak RSS of the export process)");
    let sandbox = Sandbox::start(100_000, &[], None);
    let small = export(dir, &sandbox, 1000, "csv", &dir.join("out.csv"));
    let ratio = big_rss / small.max_rss_mib;
    println!(
        "   100 000 people: {:.1} MiB; {big} people: {big_rss:.1} MiB; ratio {ratio:.2} (target <= 1.20: {})",
        small.max_rss_mib,
        verdict(ratio <= 1.2)
    );
    for format in ["csv", "ndjson"] {
        let run = export(dir, &sandbox, 10_000, format, &dir.join(format!("out.{format}")));
        println!(
            "   page size 10 000, {format}: {:.1} MiB (target <= 64 MiB: {})",
            run.max_rss_mib,
            verdict(run.max_rss_mib <= 64.0)
        );
    }
    drop(sandbox);

    // 3. Overlap.
    let pages = if quick { 10 } else { 20 };
    let sandbox = Sandbox::start(pages * 1000, &["--latency-ms", "300"], None);
    let ideal = 1.0 / 0.3;
    let walk = bare_walk(&sandbox, 1000);
    assert_eq!((walk.people, walk.pages), (sandbox.people, pages), "the bare client received every person");
    let bare = walk.seconds;
    println!(
        "\n3. overlap, {pages} pages of 1 000 with 300 ms latency (1/latency = {ideal:.2} pages/s)\n   bare client:   {:.2} pages/s, {:.1} %",
        pages as f64 / bare,
        100.0 * pages as f64 / bare / ideal
    );
    for format in ["csv", "ndjson"] {
        let run = export(dir, &sandbox, 1000, format, &dir.join(format!("out.{format}")));
        let rate = pages as f64 / run.seconds;
        println!(
            "   export {format:<6} {rate:.2} pages/s, {:.1} % (target >= 95 %: {})",
            100.0 * rate / ideal,
            verdict(rate / ideal >= 0.95)
        );
    }
    drop(sandbox);

    // 4. Start-up: process start to the first request's arrival, from the sandbox's log.
    let log = dir.join("requests.jsonl");
    let sandbox = Sandbox::start(1000, &[], Some(&log));
    let mut delays = Vec::new();
    for _ in 0..11 {
        let seen = sandbox.arrivals().len();
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64() * 1000.0;
        export(dir, &sandbox, 1000, "csv", &dir.join("out.csv"));
        let first = sandbox.arrivals()[seen];
        delays.push(first - before);
    }
    delays.sort_by(f64::total_cmp);
    let median = delays[delays.len() / 2];
    println!(
        "\n4. start-up to first request: median {median:.1} ms, min {:.1} ms, max {:.1} ms over {} runs (target <= 50 ms: {})",
        delays[0],
        delays[delays.len() - 1],
        delays.len(),
        verdict(median <= 50.0)
    );
    println!("\nload average after: {}", load_average());
}

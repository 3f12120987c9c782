//! Sandbox serving rate: people per second a plain HTTP client pulls from an in-process sandbox by walking
//! every page of the default dataset (20 000 people, 20 % hostile, half of those with 20 KB summaries) at
//! page size 1 000. The client does the least work a real one must: stream the body, count the people,
//! and find the cursor. Run with `cargo bench --bench sandbox`; the figure goes to BENCHMARKS.md.
//!
//! The machine is shared, so the wall-clock rate depends on what else runs. The process's CPU time
//! (client, server and the kernel's loopback work together) and the load average are printed too: people
//! per CPU-second does not depend on the neighbours.

use std::time::{Duration, Instant};

use memchr::memmem;
use ocean_sandbox::{self as sandbox, SandboxOptions};

const PAGE_SIZE: u64 = 1_000;
const MEASURE_FOR: Duration = Duration::from_secs(10);

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    // The client runs as a task, like the server, so a page's chunks do not hop to the main thread.
    let measured = runtime.spawn(async {
        let sandbox = sandbox::start(SandboxOptions::default()).await.expect("sandbox starts");
        let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        // One walk to warm up connections, allocator and caches.
        walk(&client, &sandbox).await;
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let cpu_before = cpu_seconds();
        let started = Instant::now();
        let (mut people, mut bytes, mut walks) = (0u64, 0u64, 0u64);
        while started.elapsed() < MEASURE_FOR {
            let (p, b) = walk(&client, &sandbox).await;
            people += p;
            bytes += b;
            walks += 1;
        }
        let seconds = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu_before;
        println!(
            "sandbox serving rate: {:.0} people/s, {:.1} MB/s ({people} people, {walks} walks of {} pages of {PAGE_SIZE}, {seconds:.1} s)",
            people as f64 / seconds,
            bytes as f64 / seconds / 1e6,
            SandboxOptions::default().people / PAGE_SIZE,
        );
        println!(
            "cpu: {cpu:.1} s ({:.0} % of one core), {:.0} people per CPU-second; load average before: {}",
            100.0 * cpu / seconds,
            people as f64 / cpu,
            load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        );
    });
    runtime.block_on(measured).expect("the measurement runs");
}

/// User plus system CPU time of this process so far.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer to a rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return f64::NAN;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Fetch every page of the unfiltered query; returns (people, bytes). Bodies are read chunk by chunk,
/// as a streaming client would, keeping only the end of each page, where the cursor is.
async fn walk(client: &reqwest::Client, sandbox: &sandbox::Sandbox) -> (u64, u64) {
    const PERSON: &[u8] = br#"{"id":""#;
    let url = format!("{}{}", sandbox.base_url(), sandbox::SEARCH_PATH);
    let (mut people, mut bytes) = (0u64, 0u64);
    let mut cursor: Option<String> = None;
    loop {
        let body = match &cursor {
            None => serde_json::json!({ "size": PAGE_SIZE }),
            Some(c) => serde_json::json!({ "size": PAGE_SIZE, "searchAfter": c }),
        };
        let mut response =
            client.post(&url).header("x-api-token", sandbox.token()).json(&body).send().await.expect("request");
        assert!(response.status().is_success(), "status {}", response.status());
        // The last bytes seen: the cursor is near the end, and a marker may straddle two chunks.
        let mut tail: Vec<u8> = Vec::new();
        while let Some(chunk) = response.chunk().await.expect("body") {
            bytes += chunk.len() as u64;
            // Escaped text cannot contain the marker, so it only occurs where a person starts.
            let seam =
                [&tail[tail.len().saturating_sub(PERSON.len() - 1)..], &chunk[..chunk.len().min(PERSON.len() - 1)]]
                    .concat();
            people += (memmem::find_iter(&seam, PERSON).count() + memmem::find_iter(&chunk, PERSON).count()) as u64;
            tail.extend_from_slice(&chunk[chunk.len().saturating_sub(1024)..]);
            tail.drain(..tail.len().saturating_sub(1024));
        }
        cursor = memmem::rfind(&tail, br#""searchAfter":""#).map(|at| {
            let rest = &tail[at + 15..];
            let end = memchr::memchr(b'"', rest).expect("cursor ends");
            String::from_utf8_lossy(&rest[..end]).into_owned()
        });
        if cursor.is_none() {
            return (people, bytes);
        }
    }
}

//! End-to-end benchmark of the outputs of issue 12 against the sandbox at an unlimited rate.
//!
//! `cargo bench --bench outputs` (add `-- quick` for a smaller, faster pass; `-- parquet`, `-- xlsx` or
//! `-- compression` for one part)
//!
//! The sandbox and every export run as their own processes (`ocean-export sandbox`, `ocean-export run`),
//! so an export's peak RSS and CPU are its own (`wait4`). Outputs and the job's state folder (the spool)
//! are in `/dev/shm` when it exists, so the figures measure the exporter rather than this machine's disk.
//! The jobs set `result_window = 0`: one cursor walks the whole search, as the outputs see it either way.
//!
//! 1. Parquet: people/s end to end (target: at least 50 000), peak RSS at 1 000 000 people with page size
//!    10 000 (target: at most 128 MiB), and the file's size against the NDJSON's (target: at most 1/5).
//! 2. XLSX: people/s (target: at least 20 000) and peak RSS (target: at most 128 MiB) at 500 000 people.
//! 3. Compression: CSV and NDJSON throughput with gzip and zstd at their default levels against plain
//!    (target: a cost of at most 30 %).

use std::path::Path;
use std::process::{Child, Command};
use std::time::Instant;

mod common;
use common::{BIN, SandboxProcess};
const TOKEN: &str = "sandbox-token";

/// The sandbox, every field of every person served.
fn sandbox(people: u64) -> SandboxProcess {
    SandboxProcess::start(["--bind", "127.0.0.1:0", "--people", &people.to_string(), "--fields-default", "all"])
}

/// What one export process took, and the size of its file.
struct Run {
    seconds: f64,
    cpu_seconds: f64,
    max_rss_mib: f64,
    bytes: u64,
}

/// Runs `ocean-export run` of one output at `path` (the format from its extension) to completion.
#[expect(clippy::zombie_processes, reason = "the child is reaped by wait4, which also reports its resource usage")]
fn export(dir: &Path, sandbox: &SandboxProcess, size: u64, path: &str, output: &str) -> Run {
    let job = dir.join("job.toml");
    let out = dir.join(path);
    std::fs::write(
        &job,
        format!(
            "name = \"bench\"\n[search]\nsize = {size}\n[api]\nrequests_per_minute = 1000000\nresult_window = 0\n[output]\npath = \"{}\"\nstate_dir = \"{}\"\n{output}\n",
            out.display(),
            dir.join("state").display()
        ),
    )
    .unwrap();
    let _ = std::fs::remove_file(&out);
    let started = Instant::now();
    let child = Command::new(BIN)
        .args(["run", job.to_str().unwrap(), "--quiet", "--fresh", "--base-url", &sandbox.url])
        .env("OCEAN_API_TOKEN", TOKEN)
        .env_remove("RUST_LOG")
        .spawn()
        .expect("the exporter starts");
    let (status, usage) = wait4(&child);
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(status, 0, "the export failed");
    let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_file(&out);
    let cpu = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Run {
        seconds,
        cpu_seconds: cpu(usage.ru_utime) + cpu(usage.ru_stime),
        max_rss_mib: usage.ru_maxrss as f64 / 1024.0,
        bytes,
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

fn line(label: &str, people: u64, run: &Run) -> f64 {
    let rate = people as f64 / run.seconds;
    println!(
        "   {label:<22} {rate:>8.0} people/s  {:>6.1} s  cpu {:>6.1} s  peak RSS {:>6.1} MiB  {:>8.1} MB",
        run.seconds,
        run.cpu_seconds,
        run.max_rss_mib,
        run.bytes as f64 / 1e6
    );
    rate
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "quick");
    let parts = ["parquet", "xlsx", "compression"];
    let only: Vec<&str> = parts.iter().copied().filter(|p| args.iter().any(|a| a == p)).collect();
    let run = |part: &str| only.is_empty() || only.contains(&part);
    let big: u64 = if quick { 200_000 } else { 1_000_000 };
    let book: u64 = if quick { 100_000 } else { 500_000 };
    let scratch = tempfile::tempdir_in(if Path::new("/dev/shm").exists() { "/dev/shm" } else { "/tmp" }).unwrap();
    let dir = scratch.path();
    println!(
        "ocean-export outputs benchmark ({}), load average {}, output in {}",
        if quick { "quick" } else { "full" },
        load_average(),
        dir.display()
    );

    // 1. Parquet against NDJSON, page size 10 000.
    if run("parquet") {
        let sandbox = sandbox(big);
        println!("\n1. Parquet, {big} people at page size 10 000");
        let ndjson = export(dir, &sandbox, 10_000, "p.ndjson", "");
        line("ndjson (reference)", big, &ndjson);
        let parquet = export(dir, &sandbox, 10_000, "p.parquet", "");
        let rate = line("parquet", big, &parquet);
        let share = parquet.bytes as f64 / ndjson.bytes as f64;
        println!(
            "   parquet: {rate:.0} people/s (target >= 50 000: {}), peak RSS {:.1} MiB (target <= 128 MiB: {}), file {:.3} of the NDJSON (target <= 0.200: {})",
            verdict(rate >= 50_000.0),
            parquet.max_rss_mib,
            verdict(parquet.max_rss_mib <= 128.0),
            share,
            verdict(share <= 0.2)
        );
        drop(sandbox);
    }

    // 2. XLSX: the person card, and every field.
    if run("xlsx") {
        let sandbox = sandbox(book);
        println!("\n2. XLSX, {book} people at page size 10 000");
        let card = export(dir, &sandbox, 10_000, "b.xlsx", "");
        let rate = line("xlsx (person card)", book, &card);
        println!(
            "   xlsx: {rate:.0} people/s (target >= 20 000: {}), peak RSS {:.1} MiB (target <= 128 MiB: {})",
            verdict(rate >= 20_000.0),
            card.max_rss_mib,
            verdict(card.max_rss_mib <= 128.0)
        );
        let all = export(dir, &sandbox, 10_000, "b.xlsx", "columns = \"all\"");
        line("xlsx (every field)", book, &all);
        drop(sandbox);
    }

    // 3. Compression at the default levels, page size 1 000 (a member or frame per page).
    if run("compression") {
        let sandbox = sandbox(big);
        println!("\n3. compression, {big} people at page size 1 000");
        for (plain, options) in [("c.ndjson", ""), ("c.csv", "columns = \"all\"")] {
            let base = export(dir, &sandbox, 1000, plain, options);
            let base_rate = line(plain, big, &base);
            for suffix in ["gz", "zst"] {
                let path = format!("{plain}.{suffix}");
                let run = export(dir, &sandbox, 1000, &path, options);
                let rate = line(&path, big, &run);
                let cost = 1.0 - rate / base_rate;
                println!(
                    "   {path}: costs {:.0} % of the throughput (target <= 30 %: {}), {:.2} of the size",
                    cost * 100.0,
                    verdict(cost <= 0.3),
                    run.bytes as f64 / base.bytes as f64
                );
            }
        }
    }
    println!("\nload average after: {}", load_average());
}

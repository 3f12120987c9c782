//! The delivery ledger at scale: a ledger of 10 000 000 ids, and a run of 1 000 000 people checked against
//! it (loading the ledger, then one lookup a person), in a child process of its own so that its peak RSS is
//! the check's alone. Also the file's size a person, and the publish-time update (merging the run in).
//!
//! `cargo bench --bench ledger` (LEDGER_IDS and RUN_PEOPLE change the sizes). The cost is set against the
//! walk's throughput at an unlimited rate, measured by `benches/hotpath.rs` (BENCHMARKS.md).

use std::path::Path;
use std::time::Instant;

use ocean_export::ledger::{Ledger, RunRecord};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Ledger id `i` of `n`: sorted in `i`, spread over the whole range, low half random (like a digest).
fn ledger_id(i: u64, n: u64) -> u128 {
    let high = (u128::from(u64::MAX) * u128::from(i) / u128::from(n)) as u64;
    (u128::from(high) << 64) | u128::from(splitmix(i))
}

fn peak_rss_mib() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    // SAFETY: initialised by getrusage (zeroed before).
    let usage = unsafe { usage.assume_init() };
    usage.ru_maxrss as f64 / 1024.0
}

fn run(delivered: u64) -> RunRecord {
    RunRecord {
        run: format!("bench-{delivered}"),
        finished_at: "2026-12-01T00:00:00Z".to_owned(),
        delivered,
        already_delivered: 0,
        credits_used: 0.0,
        outputs: Vec::new(),
    }
}

/// The child: load the ledger and check `people` people, `hit_percent` of them in it.
fn check(dir: &Path, n: u64, people: u64, hit_percent: u64) {
    let start = Instant::now();
    let ledger = Ledger::open(dir, "bench", Path::new("bench.toml")).expect("the ledger opens");
    let load = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut found = 0u64;
    for p in 0..people {
        let r = splitmix(p ^ 0x5151);
        let id =
            if r % 100 < hit_percent { ledger_id(r % n, n) } else { u128::from(r) << 64 | u128::from(splitmix(r)) };
        if ledger.contains(id).expect("a lookup") {
            found += 1;
        }
    }
    let lookups = start.elapsed().as_secs_f64();
    let expected = people * hit_percent / 100;
    assert!(found.abs_diff(expected) <= people / 50 + 10, "found {found}, expected about {expected}");
    println!("{hit_percent} {load:.3} {lookups:.3} {found} {:.1}", peak_rss_mib());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n = env("LEDGER_IDS", 10_000_000);
    let people = env("RUN_PEOPLE", 1_000_000);
    if let Some(i) = args.iter().position(|a| a == "--check") {
        let dir = Path::new(&args[i + 1]);
        check(dir, n, people, args[i + 2].parse().expect("a hit share"));
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    // Walk throughput at an unlimited rate, people/s (BENCHMARKS.md, hotpath: NDJSON on an idle machine).
    let walk: f64 = std::env::var("WALK_PEOPLE_PER_SEC").ok().and_then(|v| v.parse().ok()).unwrap_or(91_970.0);
    let dir = tempfile::Builder::new().prefix("ledger-bench").tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    println!("ledger of {n} ids, a run of {people} people; walk reference {walk:.0} people/s");
    let start = Instant::now();
    let empty = Ledger::open(dir.path(), "bench", Path::new("bench.toml")).unwrap();
    empty.record(run(n), "search", (0..n).map(|i| Ok(ledger_id(i, n)))).unwrap();
    let built = start.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(dir.path().join(ocean_export::ledger::FILE)).unwrap().len();
    let per_id = bytes as f64 / n as f64;
    println!(
        "  file: {bytes} bytes, {per_id:.3} bytes/id (target <= 20: {}); written in {built:.2} s",
        if per_id <= 20.0 { "met" } else { "MISSED" }
    );
    let exe = std::env::current_exe().unwrap();
    for hits in [0u64, 50, 100] {
        let out = std::process::Command::new(&exe)
            .args(["--check", &dir.path().display().to_string(), &hits.to_string()])
            .env("LEDGER_IDS", n.to_string())
            .env("RUN_PEOPLE", people.to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let line = String::from_utf8_lossy(&out.stdout);
        let f: Vec<f64> = line.split_whitespace().map(|x| x.parse().unwrap()).collect();
        let (load, lookups, rss) = (f[1], f[2], f[4]);
        let walk_secs = people as f64 / walk;
        let cost = (load + lookups) / walk_secs;
        println!(
            "  {hits:>3} % already delivered: load {load:.3} s, lookups {lookups:.3} s ({:.0} ns a person); {:.1} % of the walk's {walk_secs:.1} s (target <= 10 %: {}); peak RSS {rss:.1} MiB (target <= 64: {})",
            lookups / people as f64 * 1e9,
            cost * 100.0,
            if cost <= 0.10 { "met" } else { "MISSED" },
            if rss <= 64.0 { "met" } else { "MISSED" }
        );
    }
    // The publish-time update: the run's people merged in.
    let ledger = Ledger::open(dir.path(), "bench", Path::new("bench.toml")).unwrap();
    let start = Instant::now();
    let extra: Vec<u128> = {
        let mut v: Vec<u128> = (0..people).map(|p| u128::from(splitmix(p + 7)) << 64 | 1).collect();
        v.sort_unstable();
        v
    };
    ledger.record(run(people), "search", extra.into_iter().map(Ok)).unwrap();
    println!("  update at publish (merge {people} into {n}): {:.2} s", start.elapsed().as_secs_f64());
}

//! Kills, signals, out-of-credits, a full disk and concurrent runs never lose a paid page or duplicate a
//! person, and rerunning the same command finishes the export.

use std::process::Stdio;
use std::time::{Duration, Instant};

use predicates::prelude::*;
use serde_json::Value;

use crate::support::{Dice, World, assert_fetched_again_at_most, csv_ids, ids_where, kill_repeatedly, signal};

const JOB: &str = r#"
name = "resumable"
[search]
size = 20
peopleFilters = { countries = ["dk", "se", "no"] }
[api]
requests_per_minute = 60000
"#;

fn nordic(p: &Value) -> bool {
    p["country"].as_str().is_some_and(|c| ["dk", "se", "no"].contains(&c))
}

/// The file an uninterrupted run writes, from a fresh world with the same dataset.
fn reference(format: &str, people: u64) -> Vec<u8> {
    let world = World::new(people, |_| {});
    world.write("job.toml", JOB);
    let output = format!("output/ref.{format}");
    world.run("job.toml", &["--output", &output]).success();
    world.bytes(&output)
}

/// The number of pages served so far: where the next run's pages start in the log.
fn mark(world: &World) -> usize {
    world.pages_served().len()
}

fn kill_nine_many_times(format: &str) {
    let people = 8000;
    let expected = reference(format, people);
    let world = World::new(people, |o| o.latency_ms = 10);
    world.write("job.toml", JOB);
    let output = format!("output/resumable.{format}");
    let mut dice = Dice::new(&format!("kill -9 instants ({format})"));
    let args = ["run", "job.toml", "--quiet", "--output", &output, "--base-url", &world.base_url()];
    let runs = kill_repeatedly(&world, &args, 20, &mut dice);
    world.run("job.toml", &["--output", &output]).success().stderr(predicate::str::contains("resumed at"));
    assert!(
        world.bytes(&output) == expected,
        "the resumed {format} export differs from an uninterrupted one (seed {})",
        dice.seed
    );
    assert_fetched_again_at_most(&world, &runs, 1, dice.seed);
}

#[test]
fn kill_nine_at_random_instants_ends_byte_identical_csv() {
    kill_nine_many_times("csv");
}

#[test]
fn kill_nine_at_random_instants_ends_byte_identical_ndjson() {
    kill_nine_many_times("ndjson");
}

#[test]
fn out_of_credits_then_topped_up_completes_without_buying_a_page_twice() {
    let mut world = World::new(3000, |o| o.credits = Some(60.0));
    world.write("job.toml", JOB);
    world.run("job.toml", &[]).code(4);
    assert_eq!(mark(&world), 15, "60 credits buy 15 pages of 20 at 0.2");
    world.restart(|o| o.credits = Some(1_000_000.0));
    world.run("job.toml", &[]).success().stderr(predicate::str::contains("resumed at 300 people"));
    assert_eq!(csv_ids(&world.read("output/resumable.csv")), ids_where(&world, nordic));
    // Not one page bought twice: the 402 charged nothing, and the rerun started after the last paid page.
    assert!(world.fetch_counts().values().all(|n| *n == 1), "{:?}", world.fetch_counts());
}

fn stop_with(sig: i32, code: i32) {
    let world = World::new(3000, |o| o.latency_ms = 20);
    world.write("job.toml", JOB);
    let child = world
        .std_cmd()
        .args(["run", "job.toml", "--base-url", &world.base_url()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for a few pages, then ask it to stop.
    let start = Instant::now();
    while world.pages_served().len() < 5 && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(10));
    }
    signal(&child, sig);
    let output = child.wait_with_output().unwrap();
    let second_run = mark(&world);
    assert_eq!(output.status.code(), Some(code), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("rerunning the same command resumes"));
    assert!(world.path("output/.state/resumable/checkpoint.json").exists());
    world.run("job.toml", &[]).success().stderr(predicate::str::contains("resumed at"));
    assert_eq!(csv_ids(&world.read("output/resumable.csv")), ids_where(&world, nordic));
    assert_fetched_again_at_most(&world, &[0, second_run], 1, 0);
}

#[test]
fn sigterm_exits_143_and_resumes() {
    stop_with(libc::SIGTERM, 143);
}

#[test]
fn sigint_exits_130_and_resumes() {
    stop_with(libc::SIGINT, 130);
}

#[test]
fn of_two_concurrent_runs_one_exits_6_and_the_other_completes() {
    let world = World::new(2000, |o| o.latency_ms = 10);
    world.write("job.toml", JOB);
    let first = world
        .std_cmd()
        .args(["run", "job.toml", "--quiet", "--base-url", &world.base_url()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while world.pages_served().is_empty() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(5));
    }
    world.run("job.toml", &[]).code(6).stderr(predicate::str::contains(format!("held by pid {}", first.id())));
    let output = first.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(csv_ids(&world.read("output/resumable.csv")), ids_where(&world, nordic));
}

#[test]
fn a_changed_job_is_refused_and_fresh_starts_over() {
    let mut world = World::new(3000, |o| o.credits = Some(20.0));
    world.write("job.toml", JOB);
    world.run("job.toml", &[]).code(4);
    world.write("job.toml", &JOB.replace("\"no\"", "\"fi\""));
    world
        .run("job.toml", &[])
        .code(2)
        .stderr(predicate::str::contains("changed since its checkpoint").and(predicate::str::contains("--fresh")));
    world.restart(|o| o.credits = Some(20.0));
    world.clear_log();
    world.run("job.toml", &["--fresh"]).code(4);
    // Started over: the first page again, and the file holds only this run's people.
    assert_eq!(world.pages_served()[0]["position"], 0);
    assert_eq!(csv_ids(&world.read("output/resumable.csv.partial")).len(), 100);
}

#[test]
fn a_full_disk_stops_cleanly_and_the_rerun_completes_exactly_once() {
    let expected = reference("csv", 3000);
    let world = World::new(3000, |_| {});
    world.write("job.toml", JOB);
    // Files of at most 64 blocks (32 KiB).
    let output = world.run_on_a_full_disk(64, &["run", "job.toml", "--base-url", &world.base_url()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("output/resumable.csv.partial"), "the error names the file: {stderr}");
    // What was spent is recorded, the page that could not be written included.
    let text = world.read("output/.state/resumable/checkpoint.json");
    let saved: Value = serde_json::from_str(&text).unwrap();
    let counters = &saved["checkpoint"]["counters"];
    assert_eq!(counters["requests"].as_u64().unwrap(), world.requests().len() as u64);
    let charged: f64 = world.requests().iter().filter_map(|r| r["credits_charged"].as_f64()).sum();
    assert!((counters["credits_used"].as_f64().unwrap() - charged).abs() < 1e-6, "{counters} vs {charged}");
    let second_run = mark(&world);
    world.run("job.toml", &[]).success();
    assert!(world.bytes("output/resumable.csv") == expected);
    assert_fetched_again_at_most(&world, &[0, second_run], 1, 0);
}

#[test]
fn credits_of_a_first_page_that_could_not_be_kept_stay_in_the_record() {
    let world = World::new(3000, |o| o.fields_default = ocean_sandbox::FieldsDefault::All);
    world.write("job.toml", JOB);
    // RLIMIT_FSIZE of 8 blocks (4 KiB): the checkpoint fits, the first page of 20 people (NDJSON, every
    // field, about 60 KB) does not.
    let output = world.run_on_a_full_disk(
        8,
        &["run", "job.toml", "--output", "output/resumable.ndjson", "--base-url", &world.base_url()],
    );
    assert_eq!(output.status.code(), Some(7), "{}", String::from_utf8_lossy(&output.stderr));
    let saved: Value = serde_json::from_str(&world.read("output/.state/resumable/checkpoint.json")).unwrap();
    assert_eq!(saved["checkpoint"]["counters"]["pages"], 0, "no page was kept");
    assert_eq!(saved["checkpoint"]["counters"]["credits_used"].as_f64(), Some(4.0), "but one was paid");
    // Nothing was kept, so the rerun starts over; the page it could not keep stays on the bill.
    world.run("job.toml", &["--output", "output/resumable.ndjson"]).success();
    let report: Value = serde_json::from_str(&world.read("output/resumable.ndjson.report.json")).unwrap();
    let charged: f64 = world.requests().iter().filter_map(|r| r["credits_charged"].as_f64()).sum();
    assert!((report["credits_used"].as_f64().unwrap() - charged).abs() < 1e-6, "{report} vs {charged}");
    assert_eq!(report["requests"].as_u64().unwrap(), world.requests().len() as u64);
    assert_eq!(crate::support::ndjson_ids(&world.read("output/resumable.ndjson")), ids_where(&world, nordic));
}

#[test]
fn a_damaged_checkpoint_is_refused_not_half_trusted() {
    let world = World::new(3000, |o| o.credits = Some(20.0));
    world.write("job.toml", JOB);
    world.run("job.toml", &[]).code(4);
    let path = "output/.state/resumable/checkpoint.json";
    let text = world.read(path);
    world.write(path, &text.replacen("\"pages\": 5", "\"pages\": 6", 1));
    world
        .run("job.toml", &[])
        .code(2)
        .stderr(predicate::str::contains("checkpoint").and(predicate::str::contains("damaged")));
    world.write(path, "{ not json");
    world.run("job.toml", &[]).code(2).stderr(predicate::str::contains("damaged"));
}

#[test]
fn state_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let world = World::new(3000, |o| o.credits = Some(20.0));
    world.write("job.toml", JOB);
    world.run("job.toml", &[]).code(4);
    let mode = |p: &str| std::fs::metadata(world.path(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("output/.state/resumable"), 0o700);
    for file in ["checkpoint.json", "seen-log-0.bin", "lock"] {
        assert_eq!(mode(&format!("output/.state/resumable/{file}")), 0o600, "{file}");
    }
    assert_eq!(mode("output/resumable.csv.partial"), 0o600);
}

#[test]
fn a_walk_that_ended_before_the_file_was_published_completes_without_a_request() {
    let world = World::new(2000, |o| o.latency_ms = 50);
    world.write("job.toml", JOB);
    // The output path becomes a folder once the walk is under way (a folder there from the start is
    // refused before any request), so publishing (the rename) fails after the last page.
    let child = world
        .std_cmd()
        .args(["run", "job.toml", "--base-url", &world.base_url()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while world.pages_served().is_empty() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::fs::create_dir_all(world.path("output/resumable.csv/blocked")).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("output/resumable.csv"), "{stderr}");
    std::fs::remove_dir_all(world.path("output/resumable.csv")).unwrap();
    let before = mark(&world);
    world.run("job.toml", &[]).success();
    assert_eq!(mark(&world), before, "nothing left to fetch");
    assert_eq!(csv_ids(&world.read("output/resumable.csv")), ids_where(&world, nordic));
}

#[test]
fn a_published_file_whose_report_failed_is_finished_without_a_request() {
    let world = World::new(2000, |_| {});
    world.write("job.toml", JOB);
    // The report path is a folder: the file is published, the report cannot be written.
    std::fs::create_dir_all(world.path("output/resumable.csv.report.json/blocked")).unwrap();
    world.run("job.toml", &[]).code(7).stderr(predicate::str::contains("report.json"));
    assert!(
        world.path("output/resumable.csv").exists() && world.path("output/.state/resumable/checkpoint.json").exists()
    );
    std::fs::remove_dir_all(world.path("output/resumable.csv.report.json")).unwrap();
    let before = mark(&world);
    world.run("job.toml", &[]).success();
    assert_eq!(mark(&world), before);
    let report: Value = serde_json::from_str(&world.read("output/resumable.csv.report.json")).unwrap();
    use sha2::Digest;
    assert_eq!(report["sha256"], hex::encode(sha2::Sha256::digest(world.bytes("output/resumable.csv"))));
    assert!(!world.path("output/.state/resumable/checkpoint.json").exists());
}

#[test]
fn resuming_with_another_output_path_is_refused() {
    let world = World::new(3000, |o| o.credits = Some(20.0));
    world.write("job.toml", JOB);
    world.run("job.toml", &[]).code(4);
    world
        .run("job.toml", &["--output", "output/elsewhere.csv"])
        .code(2)
        .stderr(predicate::str::contains("output path changed"));
}

#[test]
fn jobs_sharing_a_state_folder_setting_keep_apart() {
    let mut world = World::new(3000, |o| o.credits = Some(20.0));
    world.write("alpha.toml", &JOB.replace("resumable", "alpha"));
    world.write("beta.toml", &JOB.replace("resumable", "beta").replace("\"no\"", "\"fi\""));
    let shared = |cmd: &mut assert_cmd::Command| {
        cmd.env("OCEAN_EXPORT_OUTPUT__STATE_DIR", "state");
    };
    let run = |world: &World, job: &str, extra: &[&str]| {
        let mut cmd = world.cmd();
        shared(&mut cmd);
        cmd.args(["run", job, "--base-url", &world.base_url(), "--requests-per-minute", "60000"]).args(extra).assert()
    };
    run(&world, "alpha.toml", &[]).code(4);
    world.restart(|o| o.credits = Some(1_000_000.0));
    // beta neither trips over alpha's checkpoint nor, with --fresh, deletes alpha's paid pages.
    run(&world, "beta.toml", &["--fresh"]).success();
    assert!(world.path("output/alpha.csv.partial").exists());
    assert!(world.path("state/alpha/checkpoint.json").exists() && world.path("state/beta").is_dir());
    run(&world, "alpha.toml", &[]).success().stderr(predicate::str::contains("resumed at 100 people"));
}

#[test]
fn an_unwritable_state_folder_exits_7() {
    let world = World::new(100, |_| {});
    world.write("job.toml", JOB);
    world.write("output/.state", "a file where the state folder should be");
    world.run("job.toml", &[]).code(7).stderr(predicate::str::contains("output/.state"));
    assert!(world.requests().is_empty());
}

#[test]
fn two_jobs_writing_one_file_do_not_interleave() {
    let world = World::new(3000, |o| o.latency_ms = 10);
    world.write("one.toml", &JOB.replace("resumable", "one"));
    world.write("two.toml", &JOB.replace("resumable", "two"));
    let first = world
        .std_cmd()
        .args(["run", "one.toml", "--quiet", "--output", "output/shared.csv", "--base-url", &world.base_url()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while world.pages_served().is_empty() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(5));
    }
    world
        .run("two.toml", &["--output", "output/shared.csv"])
        .code(6)
        .stderr(predicate::str::contains("shared.csv.partial is being written by another run"));
    assert!(first.wait_with_output().unwrap().status.success());
    assert_eq!(csv_ids(&world.read("output/shared.csv")), ids_where(&world, nordic));
}

#[test]
fn fresh_discards_even_a_damaged_checkpoint() {
    let world = World::new(3000, |o| o.credits = Some(20.0));
    world.write("job.toml", JOB);
    world.run("job.toml", &[]).code(4);
    world.write("output/.state/resumable/checkpoint.json", "{ not json");
    world.run("job.toml", &[]).code(2).stderr(predicate::str::contains("damaged"));
    world.run("job.toml", &["--fresh"]).code(4).stderr(predicate::str::contains("--fresh: discarded"));
}

#[test]
fn a_job_fixed_after_its_first_request_failed_starts_over() {
    let world = World::new(1000, |_| {});
    world.write("job.toml", JOB);
    world
        .cmd()
        .args(["run", "job.toml", "--base-url", &world.base_url()])
        .env("OCEAN_API_TOKEN", "wrong")
        .assert()
        .code(3);
    // Nothing was fetched, so a changed job is not a "changed since its checkpoint" case.
    world.write("job.toml", &JOB.replace("\"no\"", "\"fi\""));
    world.run("job.toml", &[]).success();
}

#[test]
fn a_sandbox_dry_run_is_never_resumed_against_the_api() {
    let world = World::new(1000, |_| {});
    world.write("job.toml", &JOB.replace("requests_per_minute = 60000", "requests_per_minute = 120"));
    let child =
        world.std_cmd().args(["run", "job.toml", "--sandbox", "--quiet"]).stderr(Stdio::null()).spawn().unwrap();
    let checkpoint = world.path("output/.state/resumable/checkpoint.json");
    let start = Instant::now();
    while !std::fs::read_to_string(&checkpoint).is_ok_and(|t| t.contains("\"pages\": 2")) {
        assert!(start.elapsed() < Duration::from_secs(30), "the dry run made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(&child, libc::SIGTERM);
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(143));
    world.run("job.toml", &[]).code(2).stderr(predicate::str::contains("exporting from sandbox"));
    assert!(world.requests().is_empty());
}

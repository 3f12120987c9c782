//! Scheduled exports: a nightly `deliver = "new"` job delivers each person once across nights (one of them
//! killed part-way), its ledger refuses to be half trusted, a finished export is never bought again by
//! accident, dates resolve in UTC or the job's zone, and every run leaves a report for monitoring.

use std::collections::BTreeSet;

use predicates::prelude::*;
use serde_json::Value;

use crate::support::{Dice, World, kill_repeatedly, ndjson_ids};

const NIGHTLY: &str = r#"
name = "nightly"
[search]
size = 20
[output]
deliver = "new"
state_dir = "out/.state"
[api]
requests_per_minute = 60000
"#;

/// The ids of sandbox people `range`, as the world's dataset has them.
fn ids(world: &World, range: std::ops::Range<u64>) -> BTreeSet<String> {
    let dataset = ocean_sandbox::dataset::Dataset::new(world.options.seed, range.end, world.options.hostile_share);
    range.map(|i| dataset.id(i)).collect()
}

fn report(world: &World, output: &str) -> Value {
    serde_json::from_str(&world.read(&format!("{output}.report.json"))).unwrap()
}

fn delivered(world: &World, output: &str) -> Vec<String> {
    ndjson_ids(&world.read(output))
}

#[test]
fn three_nights_deliver_each_added_person_once_even_a_night_killed_part_way() {
    let mut world = World::new(300, |o| o.latency_ms = 10);
    world.write("job.toml", NIGHTLY);

    // Night 1: everyone is new.
    world.run("job.toml", &["--output", "out/night-1.ndjson"]).success();
    let night1 = delivered(&world, "out/night-1.ndjson");
    assert_eq!(night1.iter().cloned().collect::<BTreeSet<_>>(), ids(&world, 0..300));
    assert_eq!(night1.len(), 300);
    let delivery = &report(&world, "out/night-1.ndjson")["delivery"];
    assert_eq!((delivery["new"].as_u64(), delivery["already_delivered"].as_u64()), (Some(300), Some(0)));

    // Night 2: 200 more people; the run is killed three times and then resumed.
    world.restart(|o| o.people = 500);
    let mut dice = Dice::new("the night killed part-way");
    let args = ["run", "job.toml", "--quiet", "--output", "out/night-2.ndjson", "--base-url", &world.base_url()]
        .map(String::from);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    kill_repeatedly(&world, &args, 3, &mut dice);
    assert!(!world.path("out/night-2.ndjson").exists(), "a killed night publishes nothing (seed {})", dice.seed);
    // A killed run adds nothing to the ledger.
    assert!(world.stdout(&["ledger", "job.toml"]).contains("runs:     1"), "seed {}", dice.seed);
    world.run("job.toml", &["--output", "out/night-2.ndjson"]).success();
    let night2 = delivered(&world, "out/night-2.ndjson");
    assert_eq!(night2.len(), 200, "each new person once (seed {})", dice.seed);
    assert_eq!(
        night2.into_iter().collect::<BTreeSet<_>>(),
        ids(&world, 0..500).difference(&ids(&world, 0..300)).cloned().collect()
    );
    let night2_report = report(&world, "out/night-2.ndjson");
    let delivery = &night2_report["delivery"];
    assert_eq!((delivery["new"].as_u64(), delivery["already_delivered"].as_u64()), (Some(200), Some(300)));
    assert_eq!(delivery["ledger_people"].as_u64(), Some(500));
    // The search charged for the 300 it found again, and the report says what they cost.
    let credits = delivery["already_delivered_credits"].as_f64().unwrap();
    assert!(credits > 0.0, "{delivery}");

    // Night 3.
    world.restart(|o| o.people = 800);
    world.run("job.toml", &["--output", "out/night-3.ndjson"]).success();
    let night3: BTreeSet<String> = delivered(&world, "out/night-3.ndjson").into_iter().collect();
    assert_eq!(night3, ids(&world, 0..800).difference(&ids(&world, 0..500)).cloned().collect());

    let shown = world.stdout(&["ledger", "job.toml"]);
    assert!(shown.contains("people:   800"), "{shown}");
    assert!(shown.contains("runs:     3"), "{shown}");
    assert!(shown.contains("out/night-2.ndjson"), "{shown}");
}

/// The ledger of `world`'s nightly job after one night of 50 people.
fn one_night() -> World {
    let world = World::new(50, |_| {});
    world.write("job.toml", NIGHTLY);
    world.run("job.toml", &["--output", "out/night-1.ndjson"]).success();
    world
}

const LEDGER: &str = "out/.state/nightly/ledger.bin";

#[test]
fn a_damaged_truncated_newer_or_foreign_ledger_is_refused_and_nothing_is_sent() {
    let world = one_night();
    let good = world.bytes(LEDGER);
    let mut flipped = good.clone();
    flipped[40] ^= 0x10;
    let mut newer = good.clone();
    newer[8] = 2;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("a flipped bit", flipped, "checksum"),
        ("a truncated file", good[..good.len() - 9].to_vec(), "truncated"),
        ("a newer version", newer, "newer than this build"),
        ("garbage", b"not a ledger at all, just text".to_vec(), "not a ledger"),
    ];
    for (what, bytes, says) in cases {
        std::fs::write(world.path(LEDGER), &bytes).unwrap();
        let before = world.requests().len();
        world.run("job.toml", &["--output", "out/night-2.ndjson"]).code(2).stderr(
            predicate::str::contains(says).and(predicate::str::contains("ocean-export ledger job.toml --reset")),
        );
        assert_eq!(world.requests().len(), before, "{what}: nothing is sent");
        world.cmd().args(["ledger", "job.toml"]).assert().code(2);
    }
    // Another job's ledger in this job's state folder.
    std::fs::write(world.path(LEDGER), &good).unwrap();
    world.write("other.toml", &NIGHTLY.replace("\"nightly\"", "\"other\""));
    std::fs::create_dir_all(world.path("out/.state/other")).unwrap();
    std::fs::copy(world.path(LEDGER), world.path("out/.state/other/ledger.bin")).unwrap();
    let before = world.requests().len();
    world
        .run("other.toml", &["--output", "out/other.ndjson"])
        .code(2)
        .stderr(predicate::str::contains("belongs to job `nightly`, not `other`"));
    assert_eq!(world.requests().len(), before);
    // Reset clears it: the next run delivers everyone again.
    world.stdout(&["ledger", "other.toml", "--reset"]);
    world.run("other.toml", &["--output", "out/other.ndjson"]).success();
    assert_eq!(delivered(&world, "out/other.ndjson").len(), 50);
}

#[test]
fn a_changed_search_asks_to_keep_or_reset_the_ledger() {
    let world = one_night();
    world.write("job.toml", &format!("{NIGHTLY}\n[limits]\nmax_records = 40\n"));
    // Limits are not the search: no question.
    world.run("job.toml", &["--output", "out/night-2.ndjson"]).success();
    assert_eq!(delivered(&world, "out/night-2.ndjson").len(), 0);
    world.write(
        "job.toml",
        &NIGHTLY.replace("size = 20", "size = 20\npeopleFilters = { countries = [\"dk\", \"se\"] }"),
    );
    let before = world.requests().len();
    world.run("job.toml", &["--output", "out/night-3.ndjson"]).code(2).stderr(
        predicate::str::contains("search of job `nightly` changed")
            .and(predicate::str::contains("ocean-export ledger job.toml --reset"))
            .and(predicate::str::contains("ocean-export run job.toml --keep-ledger")),
    );
    assert_eq!(world.requests().len(), before, "nothing is sent");
    // Keep: the people delivered still count.
    world.run("job.toml", &["--output", "out/night-3.ndjson", "--keep-ledger"]).success();
    assert_eq!(delivered(&world, "out/night-3.ndjson").len(), 0);
    // And the ledger now belongs to the new search: no question the next night.
    world.run("job.toml", &["--output", "out/night-4.ndjson"]).success();
    // Reset: everyone the new search finds is delivered again.
    assert!(world.stdout(&["ledger", "job.toml", "--reset"]).contains("cleared the delivery ledger (50 people)"));
    world.run("job.toml", &["--output", "out/night-5.ndjson"]).success();
    assert!(!delivered(&world, "out/night-5.ndjson").is_empty());
}

#[test]
fn a_full_disk_at_the_ledger_update_exits_7_and_the_rerun_finishes_it_without_fetching() {
    let world = World::new(60, |_| {});
    world.write("job.toml", NIGHTLY);
    // The ledger's temporary file cannot be created (a folder is in its way), as on a full disk.
    std::fs::create_dir_all(world.path("out/.state/nightly/ledger.bin.tmp/x")).unwrap();
    world.run("job.toml", &["--output", "out/n.ndjson"]).code(7).stderr(predicate::str::contains("ledger.bin.tmp"));
    assert_eq!(delivered(&world, "out/n.ndjson").len(), 60, "the file is published");
    assert!(!world.path(LEDGER).exists());
    std::fs::remove_dir_all(world.path("out/.state/nightly/ledger.bin.tmp")).unwrap();
    let before = world.requests().len();
    world.run("job.toml", &["--output", "out/n.ndjson"]).success();
    assert_eq!(world.requests().len(), before, "the rerun fetches nothing");
    assert!(world.stdout(&["ledger", "job.toml"]).contains("people:   60"));
    // The next night delivers nobody twice.
    world.run("job.toml", &["--output", "out/n2.ndjson"]).success();
    assert_eq!(delivered(&world, "out/n2.ndjson").len(), 0);
}

#[test]
fn a_completed_export_is_not_bought_again_by_accident() {
    let world = World::new(30, |_| {});
    world.write(
        "job.toml",
        "name = \"once\"\n[search]\nsize = 20\n[output]\npath = \"out/once.csv\"\n[api]\nrequests_per_minute = 60000\n[limits]\nmax_records = 40\n",
    );
    world.run("job.toml", &[]).success();
    let before = world.requests().len();
    world.run("job.toml", &[]).code(2).stderr(
        predicate::str::contains("out/once.csv already holds a completed export, made 20")
            .and(predicate::str::contains("with 30 people for"))
            .and(predicate::str::contains("--overwrite"))
            .and(predicate::str::contains("{date}")),
    );
    assert_eq!(world.requests().len(), before, "nothing is sent");
    world.run("job.toml", &["--overwrite"]).success();
    assert!(world.requests().len() > before);
    // `--overwrite` with deliver = "new" replaces the file, not the ledger.
    world.write(
        "new.toml",
        "name = \"new\"\n[search]\nsize = 20\n[output]\npath = \"out/new.csv\"\ndeliver = \"new\"\n",
    );
    world.run("new.toml", &[]).success();
    world.run("new.toml", &["--overwrite"]).success();
    assert_eq!(crate::support::csv_ids(&world.read("out/new.csv")).len(), 0);
    // Sandbox runs cost nothing: the README's first command works every time.
    for _ in 0..2 {
        world.cmd().args(["run", "job.toml", "--sandbox", "--output", "out/sandbox.csv"]).assert().success();
    }
    // But a sandbox run does not replace a paid export.
    world.cmd().args(["run", "job.toml", "--sandbox"]).assert().code(2);
}

#[test]
fn dates_are_utc_unless_the_job_names_a_zone_and_search_dates_take_placeholders() {
    let world = World::new(10, |_| {});
    let utc = |offset: i64| {
        let now = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC);
        now.checked_add(jiff::ToSpan::days(offset)).unwrap().strftime("%Y-%m-%d").to_string()
    };
    world.write(
        "job.toml",
        "[search]\npeopleFilters = { changedPositionAfter = \"{date-7d}\", changedPositionBefore = \"{date}\" }\n[output]\npath = \"out/{date}.csv\"\n",
    );
    let (before, after) = (utc(-7), utc(0));
    let output = world.cmd().args(["validate", "job.toml"]).output().unwrap();
    assert!(output.status.success());
    let body: Value = serde_json::from_slice(&output.stdout).unwrap();
    let filters = &body["peopleFilters"];
    assert!([utc(-7), before].contains(&filters["changedPositionAfter"].as_str().unwrap().to_owned()), "{body}");
    assert!([utc(0), after.clone()].contains(&filters["changedPositionBefore"].as_str().unwrap().to_owned()));
    assert!(String::from_utf8_lossy(&output.stderr).contains(&format!("out/{after}.csv")) || after != utc(0));
    // Kiritimati is 14 hours ahead of UTC: its date is never UTC's yesterday.
    world.write("zoned.toml", "[search]\n[output]\npath = \"out/{date}.csv\"\ntimezone = \"Pacific/Kiritimati\"\n");
    let shown = world.stdout(&["config", "zoned.toml"]);
    let kiritimati = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Pacific/Kiritimati").unwrap())
        .strftime("%Y-%m-%d")
        .to_string();
    assert!(shown.contains(&format!("out/{kiritimati}.csv")), "{shown}");
    // Unknown placeholders and zones: exit 2 at their place, nothing sent.
    world.write(
        "bad.toml",
        "[search]\npeopleFilters = { changedPositionAfter = \"{dat}\" }\n[output]\ntimezone = \"Mars/Olympus\"\n",
    );
    let before = world.requests().len();
    world.run("bad.toml", &[]).code(2).stderr(
        predicate::str::contains("bad.toml:2:")
            .and(predicate::str::contains("changedPositionAfter"))
            .and(predicate::str::contains("{dat}"))
            .and(predicate::str::contains("bad.toml:4:12"))
            .and(predicate::str::contains("Mars/Olympus")),
    );
    world.write("bad2.toml", "[search]\n[output]\ndeliver = \"some\"\n");
    world
        .run("bad2.toml", &[])
        .code(2)
        .stderr(predicate::str::contains("bad2.toml:3:").and(predicate::str::contains("deliver")));
    assert_eq!(world.requests().len(), before);
}

#[test]
fn empty_nights_warn_and_min_records_or_fail_if_empty_exit_9() {
    let empty = World::new(0, |_| {});
    empty.write("job.toml", "name = \"empty\"\n[search]\n");
    empty
        .run("job.toml", &["--quiet", "--output", "out/a.csv"])
        .success()
        .stderr(predicate::str::contains("matched nobody"));
    empty.run("job.toml", &["--quiet", "--output", "out/b.csv", "--fail-if-empty"]).code(9);
    let report = report(&empty, "out/b.csv");
    assert_eq!((report["status"].as_str(), report["exit_code"].as_u64()), (Some("failed"), Some(9)), "{report}");
    let world = World::new(40, |_| {});
    world.write("min.toml", "name = \"min\"\n[search]\n[limits]\nmin_records = 41\n");
    world.run("min.toml", &["--output", "out/c.csv"]).code(9).stderr(predicate::str::contains("fewer than the 41"));
    world.write("min.toml", "name = \"min\"\n[search]\n[limits]\nmin_records = 40\n");
    world.run("min.toml", &["--output", "out/d.csv"]).success();
}

#[test]
fn every_run_that_sent_a_request_leaves_a_report_and_json_logs_name_the_job() {
    let world = World::new(30, |o| o.credits = Some(2.0));
    world.write("job.toml", "name = \"monitored\"\n[search]\nsize = 10\n[output]\npath = \"out/m.csv\"\n");
    let output = world
        .cmd()
        .args([
            "--log-format",
            "json",
            "run",
            "job.toml",
            "--base-url",
            &world.base_url(),
            "--requests-per-minute",
            "60000",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", String::from_utf8_lossy(&output.stderr));
    let report = report(&world, "out/m.csv");
    assert_eq!(report["status"], "failed");
    assert_eq!(report["exit_code"], 4);
    assert!(report["reason"].as_str().unwrap().contains("credits"), "{report}");
    assert_eq!(report["request"]["size"], 10);
    assert_eq!(report["base_url"].as_str(), Some(world.base_url().trim_end_matches('/')));
    assert!(report["tool"]["version"].is_string(), "{report}");
    assert!(report["started_at"].is_string() && report["finished_at"].is_string());
    let text = world.read("out/m.csv.report.json");
    assert!(!text.contains(crate::support::TOKEN), "no token in the report");
    let lines = String::from_utf8_lossy(&output.stderr).into_owned();
    for line in lines.lines() {
        let line: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(line["job"], "monitored", "{line}");
    }
    // Topped up: the resume completes, and the report says so.
    let mut world = world;
    world.restart(|o| o.credits = None);
    world.run("job.toml", &[]).success();
    let report = self::report(&world, "out/m.csv");
    assert_eq!((report["status"].as_str(), report["exit_code"].as_u64()), (Some("complete"), Some(0)));
    assert_eq!(report["people"], 30);
    // An error's hint survives in JSON.
    let output = world
        .cmd()
        .args(["--log-format", "json", "run", "job.toml", "--base-url", &world.base_url()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let last: Value = serde_json::from_str(String::from_utf8_lossy(&output.stderr).lines().last().unwrap()).unwrap();
    assert!(last["hint"].as_str().unwrap().contains("--overwrite"), "{last}");
    assert_eq!(last["job"], "monitored");
}

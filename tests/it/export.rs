//! A job file turned into every matching person exactly once, through faults, under the rate limit and
//! limits, with the promised exit codes.

use std::os::unix::fs::PermissionsExt;

use ocean_sandbox::FieldsDefault;
use predicates::prelude::*;
use serde_json::Value;

use crate::support::{self, TOKEN, World, csv_ids, ids_where, ndjson_ids};

const NORDIC: &str = r#"
name = "nordic"
[search]
size = 100
peopleFilters = { countries = ["dk", "se"] }
"#;

fn nordic(p: &Value) -> bool {
    p["country"].as_str().is_some_and(|c| c == "dk" || c == "se")
}

#[test]
fn csv_and_ndjson_hold_every_match_once_in_api_order() {
    // Every field, so the NDJSON lines can be compared with the whole person.
    let world = World::new(3000, |o| o.fields_default = FieldsDefault::All);
    world.write("nordic.toml", NORDIC);
    let expected = ids_where(&world, nordic);
    assert!(expected.len() > 300, "the query should span several pages");

    world.run("nordic.toml", &[]).success();
    assert_eq!(csv_ids(&world.read("output/nordic.csv")), expected);

    world.run("nordic.toml", &["--format", "ndjson", "--output", "output/nordic.ndjson"]).success();
    let text = world.read("output/nordic.ndjson");
    assert_eq!(ndjson_ids(&text), expected);
    // Each line is the person as the API sent it: every field, in the API's key order, compact.
    let people: std::collections::HashMap<String, Value> = (0..world.options.people)
        .map(|i| support::person(&world, i))
        .map(|p| (p["id"].as_str().unwrap().to_owned(), p))
        .collect();
    for line in text.lines() {
        let value: Value = serde_json::from_str(line).unwrap();
        assert_eq!(&value, &people[value["id"].as_str().unwrap()]);
        assert!(line.starts_with(r#"{"id":""#), "not in the API's order: {line}");
    }
    // No probe or count request: just the pages, the last one ending the walk.
    let pages = world.pages_served();
    assert_eq!(pages.len() as u64, 2 * (expected.len() as u64).div_ceil(100));
}

#[test]
fn a_flaky_api_still_yields_every_person_exactly_once() {
    let world = World::new(3000, |o| {
        o.fault_5xx = 0.10;
        o.fault_429 = 0.05;
        o.fault_reset = 0.03;
        o.fault_truncate = 0.02;
        o.fault_seed = 7;
    });
    world.write("nordic.toml", &format!("{NORDIC}[api]\nmax_retries = 20\nrequests_per_minute = 60000\n"));
    world.run("nordic.toml", &[]).success().stderr(predicate::str::contains("retries"));
    assert_eq!(csv_ids(&world.read("output/nordic.csv")), ids_where(&world, nordic));
    let faults: Vec<Value> = world.requests().into_iter().filter(|r| !r["fault"].is_null()).collect();
    assert!(faults.len() >= 3, "the sandbox should have injected faults: {}", faults.len());
    let report: Value = serde_json::from_str(&world.read("output/nordic.csv.report.json")).unwrap();
    assert!(report["retries"].as_u64().unwrap() >= faults.len() as u64 - 1, "{report}");
}

#[test]
fn requests_are_evenly_spaced_retries_included() {
    let world = World::new(2000, |o| {
        o.fault_5xx = 0.15;
        o.fault_429 = 0.1;
        o.fault_seed = 5;
    });
    // 600 a minute: one every 100 ms, with no burst at the start, and retries wait their turn too.
    world.write("nordic.toml", &format!("{}[api]\nmax_retries = 20\n", NORDIC.replace("size = 100", "size = 25")));
    world.run("nordic.toml", &["--max-records", "250", "--requests-per-minute", "600"]).success();
    let requests = world.requests();
    assert!(requests.iter().any(|r| !r["fault"].is_null()), "the run should have met faults");
    let times: Vec<f64> = requests.iter().map(|r| r["unix_ms"].as_f64().unwrap()).collect();
    assert!(times.len() >= 12, "{} requests", times.len());
    // The server's clock reads arrivals, which a loaded machine can delay one by one: each gap may look
    // shorter than 100 ms, but no two requests arrive as a burst, and on average they are 100 ms apart.
    for pair in times.windows(2) {
        assert!(pair[1] - pair[0] >= 60.0, "requests {:.1} ms apart", pair[1] - pair[0]);
    }
    let span = times[times.len() - 1] - times[0];
    assert!(span >= 100.0 * (times.len() - 1) as f64 - 50.0, "{} requests in {span:.0} ms", times.len());
}

#[test]
fn changing_only_the_page_size_gives_the_same_people() {
    let world = World::new(2000, |_| {});
    world.write("a.toml", &NORDIC.replace("size = 100", "size = 37"));
    world.write("b.toml", &NORDIC.replace("size = 100", "size = 500"));
    world.run("a.toml", &["--output", "output/a.csv"]).success();
    world.run("b.toml", &["--output", "output/b.csv"]).success();
    assert_eq!(world.bytes("output/a.csv"), world.bytes("output/b.csv"));
}

#[test]
fn limits_shrink_the_last_request_instead_of_overshooting() {
    let world = World::new(3000, |_| {});
    world.write("nordic.toml", NORDIC);
    world.run("nordic.toml", &["--max-records", "250"]).success();
    assert_eq!(csv_ids(&world.read("output/nordic.csv")), ids_where(&world, nordic)[..250].to_vec());
    let sizes: Vec<u64> = world.pages_served().iter().map(|r| r["size"].as_u64().unwrap()).collect();
    assert_eq!(sizes, vec![100, 100, 50]);

    // 0.2 credits a person: 30 credits buy 150 people; the price is learned from the first page.
    world.clear_log();
    world.run("nordic.toml", &["--max-credits", "30", "--output", "output/credits.csv"]).success();
    let sizes: Vec<u64> = world.pages_served().iter().map(|r| r["size"].as_u64().unwrap()).collect();
    assert_eq!(sizes, vec![100, 50]);
    let report: Value = serde_json::from_str(&world.read("output/credits.csv.report.json")).unwrap();
    assert_eq!(report["credits_used"].as_f64(), Some(30.0));
    assert_eq!(report["limit_reached"], true);
}

#[test]
fn validate_prints_the_body_and_sends_nothing() {
    let world = World::new(100, |_| {});
    world.write("seeds.csv", "handle\nhttps://www.linkedin.com/in/dwight-schrute/\n");
    world.write(
        "job.toml",
        r#"
[search]
peopleFilters = { countries = ["DK", "dk"] }
[seeds]
linkedin = ["michael-scott-13532", "https://linkedin.com/in/michael-scott-13532"]
file = "seeds.csv"
"#,
    );
    let body: Value = serde_json::from_str(&world.stdout(&["validate", "job.toml"])).unwrap();
    // Pages of 1000 (the default), but the first asks for a hundredth of the result window: a search that
    // turns out too big for one query wastes little when it is split.
    assert_eq!(body["size"], 100);
    assert_eq!(body["peopleFilters"]["countries"], serde_json::json!(["dk"]));
    assert_eq!(
        body["peopleFilters"]["lookalikeLinkedinHandles"],
        serde_json::json!(["michael-scott-13532", "dwight-schrute"])
    );
    assert!(world.requests().is_empty());
}

#[test]
fn validate_prints_the_first_request_as_run_sends_it() {
    let world = World::new(100, |_| {});
    world.write("job.toml", "[search]\nsize = 1000\n[limits]\nmax_records = 5\n");
    let body: Value = serde_json::from_str(&world.stdout(&["validate", "job.toml"])).unwrap();
    assert_eq!(body["size"], 5, "the limit shrinks the first request: {body}");
    world.run("job.toml", &[]).success();
    assert_eq!(world.pages_served()[0]["size"], 5);
}

#[test]
fn usage_errors_exit_2_and_send_nothing() {
    let world = World::new(100, |_| {});
    world.write("bad.toml", "[search]\npeopleFilters = { seniorities = [\"Manger\"] }\n");
    world
        .run("bad.toml", &[])
        .code(2)
        .stderr(predicate::str::contains("bad.toml:2:34").and(predicate::str::contains("did you mean `Manager`")));
    world.write("ok.toml", NORDIC);
    world
        .cmd()
        .args(["run", "ok.toml", "--base-url", &world.base_url()])
        .env_remove("OCEAN_API_TOKEN")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no API token"));
    world
        .cmd()
        .args(["run", "ok.toml", "--base-url", "http://api.example.com"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("plain http"));
    assert!(world.requests().is_empty(), "{:?}", world.requests());
}

#[test]
fn api_rejections_exit_3_with_the_apis_detail() {
    let world = World::new(100, |_| {});
    world.write("ok.toml", NORDIC);
    world
        .cmd()
        .args(["run", "ok.toml", "--base-url", &world.base_url()])
        .env("OCEAN_API_TOKEN", "not-a-known-token")
        .assert()
        .code(3)
        .stderr(predicate::str::contains("Current API token is not registered in our database"));
    assert_eq!(world.requests().len(), 1, "a rejection is not retried");
}

#[test]
fn out_of_credits_exits_4() {
    let world = World::new(3000, |o| o.credits = Some(50.0));
    world.write("nordic.toml", NORDIC);
    world.run("nordic.toml", &[]).code(4).stderr(predicate::str::contains("Insufficient credits"));
    // 50 credits bought two pages of 100 at 0.2; the third was refused and charged nothing.
    assert_eq!(world.pages_served().len(), 2);
}

#[test]
fn an_api_that_stays_down_or_asks_to_wait_too_long_exits_5() {
    let world = World::new(1000, |o| o.fault_5xx = 1.0);
    world.write("nordic.toml", &format!("{NORDIC}[api]\nmax_retries = 2\nrequests_per_minute = 60000\n"));
    world.run("nordic.toml", &[]).code(5).stderr(predicate::str::contains("after 3 attempts"));

    let world = World::new(3000, |o| o.daily_limit = Some(2));
    world.write("nordic.toml", NORDIC);
    world.run("nordic.toml", &[]).code(5).stderr(predicate::str::contains("longer than api.max_retry_wait_secs"));
    assert_eq!(world.pages_served().len(), 2);

    let world = World::new(3000, |o| o.repeat_cursor = Some(2));
    world.write("nordic.toml", NORDIC);
    world.run("nordic.toml", &[]).code(5).stderr(predicate::str::contains("cursor it had returned before"));
    let served = world.pages_served().len();
    assert!(served <= 4, "the walk must not loop: {served} pages");
    // Rerunning does not buy the looping page again: it refuses before sending anything.
    world.run("nordic.toml", &[]).code(5).stderr(predicate::str::contains("cursor it had returned before"));
    assert_eq!(world.pages_served().len(), served);
}

#[test]
fn the_token_never_appears_in_output_logs_or_files() {
    let world = World::new(1500, |o| {
        o.fault_5xx = 0.1;
        o.fault_429 = 0.1;
        o.fault_truncate = 0.05;
        o.fault_seed = 3;
    });
    world.write("nordic.toml", &format!("{NORDIC}[api]\nrequests_per_minute = 60000\nmax_retries = 20\n"));
    let output = world
        .cmd()
        .args(["run", "nordic.toml", "--base-url", &world.base_url()])
        .env("RUST_LOG", "trace")
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(!output.stderr.is_empty(), "trace logging should say something");
    for stream in [&output.stdout, &output.stderr] {
        assert!(!String::from_utf8_lossy(stream).contains(TOKEN), "the token leaked to a stream");
    }
    for path in world.all_files() {
        let bytes = std::fs::read(&path).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains(TOKEN), "the token leaked into {}", path.display());
    }
}

#[test]
fn output_is_private_and_published_whole() {
    let world = World::new(500, |_| {});
    world.write("nordic.toml", NORDIC);
    world.run("nordic.toml", &[]).success().stderr(predicate::str::contains("Exported"));
    for file in ["output/nordic.csv", "output/nordic.csv.report.json"] {
        let mode = std::fs::metadata(world.path(file)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }
    assert!(!world.path("output/nordic.csv.partial").exists());
    let report: Value = serde_json::from_str(&world.read("output/nordic.csv.report.json")).unwrap();
    let bytes = world.bytes("output/nordic.csv");
    use sha2::Digest;
    assert_eq!(report["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));
    assert_eq!(report["bytes"], bytes.len());
}

#[test]
fn quiet_prints_nothing_on_success() {
    let world = World::new(300, |_| {});
    world.write("nordic.toml", NORDIC);
    world.run("nordic.toml", &["--quiet"]).success().stdout("").stderr("");
}

#[test]
fn seed_and_domain_statuses_reach_the_summary_and_report() {
    let world = World::new(2000, |_| {});
    world.write(
        "look.toml",
        r#"
name = "look"
[search]
size = 200
companiesFilters = { includeDomains = ["no-such-company.example"] }
[seeds]
linkedin = ["dwight-schrute", "nobody-at-all-123"]
"#,
    );
    world
        .run("look.toml", &[])
        .success()
        .stderr(predicate::str::contains("seeds not found: nobody-at-all-123"))
        .stderr(predicate::str::contains("no-such-company.example"));
    let report: Value = serde_json::from_str(&world.read("output/look.csv.report.json")).unwrap();
    assert_eq!(report["seed_statuses"]["successfulPeople"], serde_json::json!(["dwight-schrute"]));
    assert!(report["includeDomainsStatuses"]["no-such-company.example"].is_string(), "{report}");
}

#[test]
fn csv_cells_survive_hostile_text_and_formulas_are_neutralised() {
    // Every field: phone numbers are among the hostile cells, and no `fields` selects them.
    let world = World::new(600, |o| {
        o.hostile_share = 0.5;
        o.fields_default = FieldsDefault::All;
    });
    world.write(
        "cells.toml",
        "name = \"cells\"\n[search]\nsize = 200\n[output]\ncolumns = [\"id\", \"name\", \"jobTitle\", \"summary\", \"phone.numbers\", \"connectionsCount\"]\nbom = true\n",
    );
    world.run("cells.toml", &[]).success();
    let bytes = world.bytes("output/cells.csv");
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "the byte-order mark");
    let people: std::collections::HashMap<String, Value> = (0..world.options.people)
        .map(|i| support::person(&world, i))
        .map(|p| (p["id"].as_str().unwrap().to_owned(), p))
        .collect();
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let (mut neutralised, mut multiline) = (0, 0);
    for record in reader.records() {
        let record = record.unwrap();
        let person = &people[&record[0]];
        // Commas, quotes, line breaks and non-ASCII text come back exactly (RFC 4180 quoting).
        for (column, key) in [(1, "name"), (2, "jobTitle"), (3, "summary")] {
            let expected = person[key].as_str().unwrap_or_default();
            let cell = &record[column];
            if expected.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                assert_eq!(cell, format!("'{expected}"), "{key} of {}", &record[0]);
                neutralised += 1;
            } else {
                assert_eq!(cell, expected, "{key} of {}", &record[0]);
            }
            multiline += usize::from(cell.contains('\n'));
        }
        // Phone numbers stay dialable; numbers stay numbers.
        let phones: Vec<&str> =
            person["phone"]["numbers"].as_array().map_or(Vec::new(), |a| a.iter().filter_map(Value::as_str).collect());
        assert_eq!(&record[4], phones.join("; "));
        assert_eq!(&record[5], person["connectionsCount"].to_string().trim_matches('"').replace("null", ""));
    }
    assert!(neutralised > 0 && multiline > 0, "the hostile people carry formulas and line breaks");
    // For machines: neutralising off, and no byte-order mark.
    world.write(
        "raw.toml",
        "name = \"raw\"\n[search]\nsize = 200\n[output]\ncolumns = \"all\"\nneutralize_formulas = false\nbom = false\n",
    );
    world.run("raw.toml", &[]).success();
    let raw = world.read("output/raw.csv");
    assert!(!raw.starts_with('\u{feff}'));
    let mut reader = csv::Reader::from_reader(raw.as_bytes());
    let name = reader.headers().unwrap().iter().position(|h| h == "name").unwrap();
    assert!(reader.records().any(|r| r.unwrap()[name].starts_with('=')), "formulas kept as they are");
}

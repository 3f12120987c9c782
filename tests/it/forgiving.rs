//! Job files that forgive and explain (issue 14): seeds from real CRM exports, countries by name, every
//! problem of a job at once, an estimate that says why it is 0, and sandbox runs that say so.

use std::path::Path;

use predicates::prelude::*;
use serde_json::Value;

use crate::support::{World, csv_ids, ids_where};

const CRM: &str = "tests/fixtures/crm";

/// A world holding a copy of the CRM export `fixture` as `seeds/<fixture>` and a job `seeds.toml` that
/// reads it, with `extra` lines under `[seeds]`.
fn crm_world(fixture: &str, extra: &str) -> World {
    let world = World::new(500, |_| {});
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(CRM).join(fixture);
    std::fs::create_dir_all(world.path("seeds")).unwrap();
    std::fs::copy(source, world.path(&format!("seeds/{fixture}"))).unwrap();
    world.write("seeds.toml", &format!("[search]\nsize = 50\n\n[seeds]\nfile = \"seeds/{fixture}\"\n{extra}"));
    world
}

/// `validate`'s body and stderr, once it has exited 0.
fn validate(world: &World, job: &str) -> (Value, String) {
    let output = world.cmd().args(["validate", job]).assert().success().get_output().clone();
    let body = serde_json::from_slice(&output.stdout).expect("validate prints the body");
    (body, String::from_utf8(output.stderr).unwrap())
}

/// `validate`'s problems, once it has exited 2 (a job error), with nothing sent: its stderr without the log
/// lines (warnings), which `run` shows just the same.
fn refused(world: &World, job: &str) -> String {
    refused_with_log(world, job).0
}

/// The same, and the log lines apart.
fn refused_with_log(world: &World, job: &str) -> (String, String) {
    let output = world.cmd().args(["validate", job]).assert().code(2).get_output().clone();
    assert!(output.stdout.is_empty());
    let run = world.run(job, &[]).code(2).get_output().clone();
    assert!(world.requests().is_empty(), "a job with a problem sent a request");
    let split = |stderr: &[u8]| {
        let text = String::from_utf8(stderr.to_vec()).unwrap();
        // Log lines start with a timestamp; problems do not.
        let is_log = |l: &&str| l.len() > 4 && l.as_bytes()[..4].iter().all(u8::is_ascii_digit);
        let problems: Vec<&str> = text.lines().filter(|l| !is_log(l)).collect();
        let log: Vec<&str> = text.lines().filter(is_log).collect();
        (problems.join("\n") + "\n", log.join("\n"))
    };
    let (problems, log) = split(&output.stderr);
    assert_eq!(split(&run.stderr).0, problems, "run and validate report the same problems");
    (problems, log)
}

fn handles(body: &Value) -> Vec<&str> {
    body["peopleFilters"]["lookalikeLinkedinHandles"]
        .as_array()
        .map(|a| a.iter().map(|h| h.as_str().unwrap()).collect())
        .unwrap_or_default()
}

#[test]
fn real_crm_exports_give_their_person_profiles_as_seeds() {
    // (fixture, seeds in row order, the column found, skipped rows)
    let cases: [(&str, &[&str], &str, &[u64]); 4] = [
        // HubSpot: comma, BOM, LF; a company-page column before the person column; a blank profile.
        (
            "hubspot-contacts.csv",
            &["michael-scott-13532", "dwight-schrute", "åse-østergård-4b1a2c", "jim-halpert-5343"],
            "LinkedIn Profile URL",
            &[4],
        ),
        // Salesforce: every cell quoted, BOM, CRLF; a Sales Navigator link, a blank, a company page.
        ("salesforce-contacts.csv", &["toby-67832", "zoe-lovgren"], "LinkedIn Profile", &[3, 5, 6]),
        // Pipedrive from Danish Excel: `;`, BOM, CRLF, æøå in handles, `N/A`, a `;` inside quotes.
        (
            "pipedrive-persons.csv",
            &["jørgen-møller-8a1b2c", "karen-blixen-1885", "michael-scott-13532"],
            "Person - LinkedIn",
            &[4],
        ),
        // Google Sheets TSV: tabs, URLs without a scheme.
        ("sheets-export.tsv", &["pam-beesly-7a2b", "oscar-martinez-cpa", "kevin-malone"], "LinkedIn", &[]),
    ];
    for (fixture, seeds, column, skipped) in cases {
        let world = crm_world(fixture, "");
        let (body, stderr) = validate(&world, "seeds.toml");
        assert_eq!(handles(&body), seeds, "{fixture}");
        if skipped.is_empty() {
            assert!(!stderr.contains("skipped"), "{fixture}: {stderr}");
        } else {
            let warning = stderr.lines().find(|l| l.contains("skipped")).unwrap_or_else(|| panic!("{stderr}"));
            assert!(warning.contains(&format!("skipped {} row(s) of column `{column}`", skipped.len())), "{warning}");
            for row in skipped {
                assert!(warning.contains(&format!("row {row} ")), "{fixture}: row {row} not listed: {warning}");
            }
        }
        assert!(world.requests().is_empty());
    }
    // The skipped rows say why.
    let world = crm_world("salesforce-contacts.csv", "");
    let (_, stderr) = validate(&world, "seeds.toml");
    assert!(stderr.contains("(a Sales Navigator link, not a public profile)"), "{stderr}");
    assert!(stderr.contains("row 6 `https://www.linkedin.com/company/dunder-mifflin/` (a company page)"), "{stderr}");
    assert!(stderr.contains("row 5 (blank)"), "{stderr}");
}

#[test]
fn a_crm_export_runs_as_a_lookalike_search() {
    let world = crm_world("hubspot-contacts.csv", "");
    world
        .run("seeds.toml", &[])
        .success()
        .stderr(predicate::str::contains("seeds found: 3"))
        .stderr(predicate::str::contains("seeds not found: åse-østergård-4b1a2c"));
    let report: Value = serde_json::from_str(&world.read("output/seeds.csv.report.json")).unwrap();
    let found = &report["seed_statuses"]["successfulPeople"];
    assert_eq!(found, &serde_json::json!(["dwight-schrute", "jim-halpert-5343", "michael-scott-13532"]));
}

#[test]
fn the_column_can_be_named_and_a_wrong_name_gets_suggestions() {
    // The company column, named on purpose: every row is a company page, so nothing is left.
    let world = crm_world("hubspot-contacts.csv", "column = \"company linkedin page\"\n");
    let stderr = refused(&world, "seeds.toml");
    assert!(
        stderr.starts_with("error: seeds.toml:5:8: seeds.file: seeds/hubspot-contacts.csv holds no seed"),
        "{stderr}"
    );
    let world = crm_world("hubspot-contacts.csv", "column = \"LinkedIn URL\"\n");
    let stderr = refused(&world, "seeds.toml");
    assert!(stderr.starts_with("error: seeds.toml:6:10: seeds.column: "), "{stderr}");
    assert!(stderr.contains("has no column `LinkedIn URL`"), "{stderr}");
    assert!(stderr.contains("hint: did you mean `LinkedIn Profile URL`?"), "{stderr}");
}

#[test]
fn seeds_files_that_give_no_seed_are_refused_never_a_filter_search() {
    // No LinkedIn column at all: header words are not taken for handles.
    let world = crm_world("mailchimp-audience.csv", "");
    let stderr = refused(&world, "seeds.toml");
    assert!(stderr.starts_with("error: seeds.toml:5:8: seeds.file: "), "{stderr}");
    assert!(stderr.contains("has no column of LinkedIn profile URLs or handles"), "{stderr}");
    assert!(stderr.contains("its columns are `Email Address`, `First Name`"), "{stderr}");
    assert!(stderr.contains("name the one to use with `column = \"...\"` under [seeds]"), "{stderr}");
    // A header and nothing else.
    let world = crm_world("hubspot-header-only.csv", "");
    let stderr = refused(&world, "seeds.toml");
    assert!(stderr.contains("holds no seed (no rows in column `LinkedIn Profile URL`)"), "{stderr}");
    assert!(stderr.contains("remove `file` from [seeds] for a plain filter search"), "{stderr}");
    // Only Sales Navigator links: listed as skipped, and refused.
    let world = crm_world("sales-navigator-only.csv", "");
    let (stderr, log) = refused_with_log(&world, "seeds.toml");
    assert!(stderr.starts_with("error: seeds.toml:5:8: "), "the error comes first: {stderr}");
    assert!(stderr.contains("holds no seed (2 row(s), none a person profile"), "{stderr}");
    let hint = stderr.lines().find(|l| l.starts_with("hint: ")).unwrap();
    assert!(hint.contains("row 2 ") && hint.contains("row 3 "), "{hint}");
    assert!(hint.contains("(a Sales Navigator link, not a public profile)"), "{hint}");
    assert_eq!(log, "", "a job that does not load only shows its problems");
    // An empty [seeds] list is no lookalike search either.
    let world = World::new(10, |_| {});
    world.write("empty.toml", "[search]\n[seeds]\nlinkedin = []\n");
    let stderr = refused(&world, "empty.toml");
    assert!(stderr.starts_with("error: empty.toml:3:12: seeds.linkedin is empty"), "{stderr}");
}

#[test]
fn a_seeds_file_past_the_cap_is_refused_with_a_clear_error() {
    let world = World::new(10, |_| {});
    let row = "Somebody,https://www.linkedin.com/in/somebody-1234567890abcdef/\n";
    let big = format!("Name,LinkedIn\n{}", row.repeat((33 << 20) / row.len()));
    world.write("big.csv", &big);
    world.write("big.toml", "[search]\n[seeds]\nfile = \"big.csv\"\n");
    let stderr = refused(&world, "big.toml");
    assert!(stderr.starts_with("error: big.toml:3:8: seeds.file: "), "{stderr}");
    assert!(stderr.contains("is larger than 32 MiB"), "{stderr}");
}

#[test]
fn countries_by_name_alias_or_code_reach_the_api_as_codes() {
    let world = World::new(2000, |_| {});
    world.write(
        "names.toml",
        r#"
[search]
size = 200
peopleFilters = { countries = ["Denmark", "UK", "deutschland", "DNK"], cities = [{ city = "Aarhus", country = "Danmark" }] }
companiesFilters = { primaryLocations = { includeCountries = ["Schweiz"], excludeCountries = ["usa"] } }
"#,
    );
    let (body, _) = validate(&world, "names.toml");
    assert_eq!(body["peopleFilters"]["countries"], serde_json::json!(["dk", "gb", "de"]));
    assert_eq!(body["peopleFilters"]["cities"][0]["country"], "dk");
    let locations = &body["companiesFilters"]["primaryLocations"];
    assert_eq!(
        (locations["includeCountries"].clone(), locations["excludeCountries"].clone()),
        (serde_json::json!(["ch"]), serde_json::json!(["us"]))
    );

    // The sandbox filters people by country code: the names select exactly those people.
    world.write(
        "countries.toml",
        "[search]\nsize = 200\npeopleFilters = { countries = [\"Denmark\", \"uk\", \"Deutschland\"] }\n",
    );
    world.run("countries.toml", &[]).success();
    let expected = ids_where(&world, |p| p["country"].as_str().is_some_and(|c| ["dk", "gb", "de"].contains(&c)));
    assert!(expected.len() > 100);
    assert_eq!(csv_ids(&world.read("output/countries.csv")), expected);
}

#[test]
fn a_country_that_is_none_is_refused_at_its_place_with_the_closest() {
    let world = World::new(10, |_| {});
    world.write(
        "typo.toml",
        "[search]\npeopleFilters = { countries = [\"dk\", \"Denmrk\"], excludeCountries = [\"Nordics\"] }\n",
    );
    let stderr = refused(&world, "typo.toml");
    let first = stderr.lines().next().unwrap();
    assert_eq!(first, "error: typo.toml:2:38: search.peopleFilters.countries[1]: `Denmrk` is not a country");
    assert!(stderr.contains("hint: did you mean `dk` (Denmark)?"), "{stderr}");
    assert!(
        stderr.contains("error: typo.toml:2:69: search.peopleFilters.excludeCountries[0]: `Nordics` is not a country"),
        "{stderr}"
    );
    assert!(stderr.contains("two-letter ISO 3166 code"), "{stderr}");
}

const FIVE: &str = r#"nmae = "five"
[search]
size = 0
peopleFilters = { countries = ["Denmrk"], seniorities = ["Manger"] }
[output]
colums = ["id", "name"]
"#;

#[test]
fn a_job_with_five_problems_gets_five_located_messages_in_one_run() {
    let world = World::new(10, |_| {});
    world.write("five.toml", FIVE);
    let stderr = refused(&world, "five.toml");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(
        errors,
        [
            "error: five.toml:1:1: unknown key `nmae` at the top level",
            "error: five.toml:3:8: search.size must be between 1 and 10000, got 0",
            "error: five.toml:4:32: search.peopleFilters.countries[0]: `Denmrk` is not a country",
            "error: five.toml:4:58: unknown value `Manger` for `search.peopleFilters.seniorities[0]`",
            "error: five.toml:6:1: unknown key `colums` in `output`",
        ],
        "{stderr}"
    );
    // Each with its line, a caret under the culprit, and a hint; then the count.
    assert!(stderr.contains("3 | size = 0\n  |        ^\nhint: size is the page size"), "{stderr}");
    assert!(stderr.contains("6 | colums = [\"id\", \"name\"]\n  | ^^^^^^\nhint: did you mean `columns`?"), "{stderr}");
    assert_eq!(stderr.matches("\nhint: ").count(), 5, "{stderr}");
    assert!(stderr.trim_end().ends_with("5 problems in the job; nothing was sent"), "{stderr}");

    // As JSON logs: one error line per problem, each with its hint.
    let output =
        world.cmd().args(["--log-format", "json", "validate", "five.toml"]).assert().code(2).get_output().clone();
    let lines: Vec<Value> =
        String::from_utf8(output.stderr).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().all(|l| l["level"] == "ERROR" && l["exit_code"] == 2 && l["hint"].is_string()), "{lines:?}");
}

#[test]
fn a_key_in_the_wrong_table_is_pointed_to_where_it_belongs() {
    let world = World::new(10, |_| {});
    world.write("misplaced.toml", "[search]\nsize = 10\ncountries = [\"dk\"]\n[api]\nmax_records = 5\n");
    let stderr = refused(&world, "misplaced.toml");
    assert!(stderr.starts_with("error: misplaced.toml:3:1: unknown key `countries` in `search`\n"), "{stderr}");
    assert!(stderr.contains("hint: did you mean `search.peopleFilters.countries`?"), "{stderr}");
    assert!(stderr.contains("error: misplaced.toml:5:1: unknown key `max_records` in `api`"), "{stderr}");
    assert!(stderr.contains("hint: did you mean `limits.max_records`?"), "{stderr}");
}

#[test]
fn estimate_names_the_seeds_not_found_and_the_value_that_matches_nobody() {
    let world = World::new(1000, |_| {});
    // The sandbox has nobody in Japan.
    world.write(
        "zero.toml",
        "[search]\nsize = 50\npeopleFilters = { countries = [\"Denmark\", \"Japan\"], seniorities = [\"Manager\"] }\n\
         companiesFilters = { companySizes = [\"51-200\"] }\n[seeds]\nlinkedin = [\"dwight-schrute\", \"nobody-at-all-123\"]\n",
    );
    let out = world.stdout(&["estimate", "zero.toml", "--base-url", &world.base_url()]);
    // Denmark alone matches people, so the search matches somebody: no extra probes.
    assert!(!out.contains("matching people:     0 "), "{out}");
    assert!(out.contains("seeds found:         1 of 2"), "{out}");
    assert!(out.contains("note: Ocean did not find 1 of the 2 seeds: nobody-at-all-123"), "{out}");
    assert!(out.contains(", 2 requests\n"), "the probe and the balance: {out}");

    world.clear_log();
    world.write(
        "zero.toml",
        "[search]\nsize = 50\npeopleFilters = { countries = [\"Japan\", \"South Korea\"], seniorities = [\"Manager\"] }\n\
         companiesFilters = { companySizes = [\"51-200\"] }\n[seeds]\nlinkedin = [\"nobody-at-all-123\"]\n",
    );
    let out = world.stdout(&["estimate", "zero.toml", "--base-url", &world.base_url()]);
    assert!(out.contains("matching people:     0 (the API's total)"), "{out}");
    assert!(out.contains("note: none of the 1 seed(s) was found by Ocean: nobody-at-all-123"), "{out}");
    // Each filter alone (3), then each country alone (2): every request counted, and in the sandbox's log.
    assert!(out.contains("note: search.peopleFilters.countries[0] = \"jp\" matches nobody"), "{out}");
    assert!(out.contains("note: search.peopleFilters.countries[1] = \"kr\" matches nobody"), "{out}");
    assert!(!out.contains("seniorities") && !out.contains("companySizes"), "{out}");
    assert!(out.contains(", 7 requests, 5 of them to find what matches nobody"), "{out}");
    let searches = world.requests().iter().filter(|r| r["path"] == "/v3/search/people").count();
    assert_eq!(searches, 6);

    // A filter value that matches nobody, in a list of one.
    world.write(
        "id.toml",
        "[search]\nsize = 50\npeopleFilters = { countries = [\"dk\"], includePeopleIds = [\"no-such-id\"] }\n",
    );
    let out = world.stdout(&["estimate", "id.toml", "--base-url", &world.base_url()]);
    assert!(out.contains("note: search.peopleFilters.includePeopleIds[0] = \"no-such-id\" matches nobody"), "{out}");

    // Filters that each match somebody, but not together: a Swede, in Denmark.
    let swede = ids_where(&world, |p| p["country"] == "se").remove(0);
    world.write(
        "apart.toml",
        &format!("[search]\nsize = 50\npeopleFilters = {{ countries = [\"dk\"], includePeopleIds = [\"{swede}\"] }}\n"),
    );
    let out = world.stdout(&["estimate", "apart.toml", "--base-url", &world.base_url()]);
    assert!(out.contains("note: each filter matches people on its own, but not all of them together"), "{out}");
}

#[test]
fn sandbox_runs_are_marked_in_the_summary_and_the_report() {
    let world = World::new(10, |_| {});
    world.write("job.toml", "[search]\nsize = 100\n[limits]\nmax_records = 30\n");
    let output = world.cmd().args(["run", "job.toml", "--sandbox"]).assert().success().get_output().clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("  sandbox: synthetic people from the built-in sandbox (http://127.0.0.1:"), "{stderr}");
    let report: Value = serde_json::from_str(&world.read("output/job.csv.report.json")).unwrap();
    assert_eq!(report["sandbox"], true);
    assert!(report["base_url"].as_str().unwrap().starts_with("http://127.0.0.1:"), "{report}");

    // Against an API (here the test's sandbox by URL): the real base URL, and no sandbox mark.
    world
        .run("job.toml", &["--fresh", "--output", "output/api.csv"])
        .success()
        .stderr(predicate::str::contains("sandbox:").not());
    let report: Value = serde_json::from_str(&world.read("output/api.csv.report.json")).unwrap();
    assert_eq!(report["sandbox"], false);
    assert_eq!(report["base_url"], world.base_url().trim_end_matches('/'));
}

#[test]
fn the_example_job_validates_from_any_folder() {
    let world = World::new(10, |_| {});
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs/example.toml");
    let (body, _) = validate(&world, example.to_str().unwrap());
    assert!(handles(&body).contains(&"toby-67832"), "the seeds file beside the job was read: {body}");
}

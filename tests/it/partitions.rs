//! A search with more people than one query can page through (the API's result window) is split into
//! parts that each fit, walked under the one rate limit, and shown to be complete; an export the API would
//! not finish is still published, and exits 8.

use std::collections::{BTreeMap, HashSet};

use predicates::prelude::*;
use predicates::str::contains;
use serde_json::Value;

use crate::support::{Dice, World, assert_fetched_again_at_most, csv_ids, ids_where, kill_repeatedly, ndjson_ids};
use ocean_export::sandbox::{PpcCursor, WindowStyle};

/// Every person of the dataset, on pages of 200, with a window of 1000 known up front.
const WIDE: &str = r#"
name = "wide"
[search]
size = 200
[api]
requests_per_minute = 60000
result_window = 1000
"#;

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

fn report(world: &World, output: &str) -> Value {
    serde_json::from_str(&world.read(&format!("{output}.report.json"))).unwrap()
}

/// Requests that were size-1 probes (the parts' first pages).
fn probes(world: &World) -> usize {
    world.pages_served().iter().filter(|r| r["size"] == 1).count()
}

#[test]
fn a_search_past_the_window_is_split_and_everyone_comes_exactly_once() {
    let world = World::new(6000, |o| o.window = Some(1000));
    world.write("wide.toml", WIDE);
    world.run("wide.toml", &["--output", "output/wide.ndjson"]).success().stderr(contains("split into"));
    let written = ndjson_ids(&world.read("output/wide.ndjson"));
    assert_eq!(written.len(), HashSet::<&String>::from_iter(&written).len(), "someone was written twice");
    assert_eq!(sorted(written), sorted(ids_where(&world, |_| true)));
    // No request paged past the window, and the API never ended a walk early.
    for page in world.pages_served() {
        assert!(page["position"].as_u64().unwrap() < 1000, "{page}");
    }
    let report = report(&world, "output/wide.ndjson");
    assert_eq!(report["complete"], true, "{report}");
    assert_eq!(report["order"], "per part");
    let parts = report["parts"].as_array().unwrap();
    assert!(parts.len() >= 6, "{} parts for 6000 people in windows of 1000", parts.len());
    let exported: u64 = parts.iter().map(|p| p["exported"].as_u64().unwrap()).sum();
    assert_eq!(exported, 6000, "every person is credited to the part that brought them");
    for part in parts.iter().filter(|p| p["split"] == false) {
        assert!(part["total"].as_u64().unwrap() <= 1000, "{part}");
        assert_eq!(part["shortfall"], 0, "{part}");
    }
    let parts: Vec<&Value> = parts.iter().filter(|p| p["split"] == false).collect();
    // Planning costs at most two probes per part, and probes are a small share of the credits.
    let spent = report["probes"].as_u64().unwrap();
    assert_eq!(spent as usize, probes(&world), "the report counts every probe");
    assert!(spent <= 2 * parts.len() as u64, "{spent} probes for {} parts", parts.len());
    assert!(spent as f64 * 0.2 <= 0.01 * report["credits_used"].as_f64().unwrap());
}

/// A window smaller than the configured one, met in each of the ways the API might show it, is learned
/// from where the walk stopped, and the search is split to it.
fn learns_the_window(style: WindowStyle) {
    let world = World::new(5000, |o| {
        o.window = Some(1500);
        o.window_style = style;
    });
    world.write("wide.toml", &WIDE.replace("result_window = 1000\n", ""));
    world.run("wide.toml", &[]).success().stderr(contains("result window"));
    assert_eq!(sorted(csv_ids(&world.read("output/wide.csv"))), sorted(ids_where(&world, |_| true)));
    let report = report(&world, "output/wide.csv");
    assert_eq!((report["result_window"].as_u64(), &report["window_learned"]), (Some(1500), &Value::Bool(true)));
    assert_eq!(report["complete"], true, "{report}");
}

#[test]
fn a_window_that_ends_the_walk_is_learned() {
    learns_the_window(WindowStyle::End);
}

#[test]
fn a_window_that_rejects_the_deep_cursor_is_learned() {
    learns_the_window(WindowStyle::Reject);
}

#[test]
fn a_window_that_answers_with_an_empty_page_is_learned() {
    learns_the_window(WindowStyle::Empty);
}

#[test]
fn a_search_pinned_to_one_value_of_every_facet_is_published_short_and_exits_8() {
    let mut world = World::new(20_000, |_| {});
    let pinned = |p: &Value| {
        let has = |key: &str, value: &str| p[key].as_array().is_some_and(|a| a.iter().any(|v| v == value));
        p["country"] == "dk"
            && has("seniorities", "Manager")
            && has("departments", "Sales")
            && p["company"]["companySize"] == "51-200"
    };
    let matching = ids_where(&world, pinned);
    assert!(matching.len() >= 4, "the dataset should hold a few such people: {}", matching.len());
    let window = matching.len() as u64 / 2;
    world.restart(|o| o.window = Some(window));
    world.write(
        "pinned.toml",
        &format!(
            "name = \"pinned\"\n[search]\nsize = 200\npeopleFilters = {{ countries = [\"dk\"], seniorities = [\"Manager\"], departments = [\"Sales\"] }}\ncompaniesFilters = {{ companySizes = [\"51-200\"] }}\n[api]\nrequests_per_minute = 60000\nresult_window = {window}\n"
        ),
    );
    world.run("pinned.toml", &[]).code(8).stderr(contains("nothing left to split").and(contains("incomplete")));
    let written = csv_ids(&world.read("output/pinned.csv"));
    assert_eq!(written, matching[..window as usize].to_vec(), "the people the API would give, in its order");
    let report = report(&world, "output/pinned.csv");
    assert_eq!(report["complete"], false);
    assert_eq!(report["shortfall"].as_u64(), Some(matching.len() as u64 - window));
    assert!(!report["incomplete"].as_array().unwrap().is_empty(), "{report}");
    // estimate warns before anything is bought.
    world.clear_log();
    world
        .cmd()
        .args(["estimate", "pinned.toml", "--base-url", &world.base_url()])
        .assert()
        .success()
        .stdout(contains("nothing left to split"));
}

#[test]
fn people_per_company_splits_by_company_size_only() {
    // Two people a company at most: 2766 people, no company size above 700 of them.
    let world = World::new(6000, |o| o.window = Some(1000));
    world.write(
        "ppc.toml",
        "name = \"ppc\"\n[search]\nsize = 100\npeoplePerCompany = 2\n[api]\nrequests_per_minute = 60000\nresult_window = 1000\n",
    );
    world.run("ppc.toml", &[]).success();
    let report = report(&world, "output/ppc.csv");
    let parts = report["parts"].as_array().unwrap();
    assert!(parts.len() > 1, "{report}");
    for part in parts.iter().filter(|p| p["split"] == false) {
        let filters = part["filters"].as_str().unwrap();
        assert!(filters.contains("company size") && !filters.contains("country"), "{filters}");
    }
    // The very people one unsplit query returns, where no window stops it.
    let whole = World::new(6000, |_| {});
    whole.write("ppc.toml", &world.read("ppc.toml"));
    whole.run("ppc.toml", &[]).success();
    assert_eq!(sorted(csv_ids(&world.read("output/ppc.csv"))), sorted(csv_ids(&whole.read("output/ppc.csv"))));
    // Each company keeps at most two people: the per-company cap kept its meaning.
    let people: BTreeMap<String, Value> = (0..6000)
        .map(|i| crate::support::person(&world, i))
        .map(|p| (p["id"].as_str().unwrap().to_owned(), p))
        .collect();
    let mut per_company: BTreeMap<String, u32> = BTreeMap::new();
    for id in csv_ids(&world.read("output/ppc.csv")) {
        *per_company.entry(people[&id]["domain"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    assert!(per_company.values().all(|&n| n <= 2), "a company has more than two people");
    assert_eq!(report["complete"], true, "{report}");
}

#[test]
fn people_per_company_without_cursors_is_fetched_one_page_per_part() {
    let world = World::new(3000, |o| o.ppc_cursor = PpcCursor::Reject);
    world.write(
        "ppc.toml",
        "name = \"ppc\"\n[search]\nsize = 100\npeoplePerCompany = 1\n[api]\nrequests_per_minute = 60000\n",
    );
    world.run("ppc.toml", &[]).success().stderr(contains("no searchAfter with peoplePerCompany"));
    let report = report(&world, "output/ppc.csv");
    assert_eq!(report["complete"], true, "{report}");
    let mut seen = HashSet::new();
    let domains: Vec<String> = (0..3000)
        .map(|i| crate::support::person(&world, i))
        .filter(|p| seen.insert(p["domain"].as_str().unwrap().to_owned()))
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sorted(csv_ids(&world.read("output/ppc.csv"))), sorted(domains));
    // One refused cursor, then one page without a cursor.
    let refused = world.requests().iter().filter(|r| r["status"] == 422).count();
    assert_eq!(refused, 1);
}

#[test]
fn kill_nine_while_planning_and_walking_then_everyone_exactly_once() {
    // About 320 pages (240 of people, the rest probes) at 100 requests a second: 20 kills, each after at
    // most 2 pages and 40 ms more (4 paced requests, 4 in flight), cannot finish it.
    let world = World::new(12_000, |o| {
        o.window = Some(300);
        o.latency_ms = 10;
    });
    world.write(
        "wide.toml",
        &WIDE
            .replace("size = 200", "size = 50")
            .replace("result_window = 1000", "result_window = 300")
            .replace("requests_per_minute = 60000", "requests_per_minute = 6000"),
    );
    let mut dice = Dice::new("kill -9 instants (partitions)");
    let starts =
        kill_repeatedly(&world, &["run", "wide.toml", "--quiet", "--base-url", &world.base_url()], 20, &mut dice);
    world.run("wide.toml", &[]).success();
    let written = csv_ids(&world.read("output/wide.csv"));
    assert_eq!(written.len(), HashSet::<&String>::from_iter(&written).len(), "someone twice (seed {})", dice.seed);
    assert_eq!(sorted(written), sorted(ids_where(&world, |_| true)), "seed {}", dice.seed);
    // Each rerun fetched again at most the pages that were in flight when the last run died (4 cursors).
    assert_fetched_again_at_most(&world, &starts, 4, dice.seed);
}

#[test]
fn with_one_cursor_the_order_is_the_same_every_time() {
    let world = World::new(4000, |o| o.window = Some(500));
    let job = WIDE.replace("result_window = 1000", "result_window = 500\nconcurrency = 1");
    world.write("wide.toml", &job);
    world.run("wide.toml", &["--output", "output/a.csv"]).success();
    world.run("wide.toml", &["--output", "output/b.csv"]).success();
    assert_eq!(world.bytes("output/a.csv"), world.bytes("output/b.csv"));
    // Several cursors at once: the same people, in an order that may differ.
    world.write("four.toml", &WIDE.replace("result_window = 1000", "result_window = 500\nconcurrency = 4"));
    world.run("four.toml", &["--output", "output/c.csv"]).success();
    assert_eq!(sorted(csv_ids(&world.read("output/c.csv"))), sorted(csv_ids(&world.read("output/a.csv"))));
}

#[test]
fn estimate_shows_the_plan_and_what_it_costs() {
    let world = World::new(6000, |o| o.window = Some(1000));
    world.write("wide.toml", WIDE);
    let out = world.stdout(&["estimate", "wide.toml", "--base-url", &world.base_url()]);
    assert!(out.contains("matching people:     6000"), "{out}");
    let parts: usize = out.lines().find_map(|l| l.strip_prefix("parts:")).unwrap().trim().parse().unwrap();
    assert!(parts >= 6, "{out}");
    let listed: u64 = out
        .lines()
        .skip_while(|l| !l.starts_with("parts:"))
        .skip(1)
        .take(parts)
        .map(|l| l.split_whitespace().next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(listed, 6000, "the parts add up: {out}");
    assert!(out.contains("note: the search holds 6000 people"), "{out}");
    // It spent a size-1 request on the whole search and one per part it planned, plus the balance.
    let sizes: Vec<u64> = world.pages_served().iter().map(|r| r["size"].as_u64().unwrap()).collect();
    assert!(sizes.iter().all(|&s| s == 1), "{sizes:?}");
    assert!(out.contains(&format!("{} requests", world.requests().len())), "{out}");
}

#[test]
fn out_of_credits_while_planning_exits_4_and_resumes_without_buying_a_probe_twice() {
    let mut world = World::new(6000, |o| {
        o.window = Some(1000);
        // The first page (10 people, a hundredth of the window) and three probes.
        o.credits = Some(2.0 + 3.0 * 0.2 + 0.1);
    });
    world.write("wide.toml", WIDE);
    world.run("wide.toml", &[]).code(4);
    // It ran out while planning: after at least three probes (an empty part's probe costs nothing), on a probe.
    assert!(probes(&world) >= 3, "{} probes", probes(&world));
    let refused: Vec<Value> = world.requests().into_iter().filter(|r| r["status"] == 402).collect();
    assert!(!refused.is_empty() && refused.iter().all(|r| r["size"] == 1), "{refused:?}");
    world.restart(|o| o.credits = Some(1_000_000.0));
    world.run("wide.toml", &[]).success().stderr(contains("resumed at"));
    assert!(world.fetch_counts().values().all(|&n| n == 1), "a page or probe bought twice: {:?}", world.fetch_counts());
    assert_eq!(sorted(csv_ids(&world.read("output/wide.csv"))), sorted(ids_where(&world, |_| true)));
}

#[test]
fn a_plan_above_max_partitions_stops_before_probing_and_resumes_once_raised() {
    let world = World::new(6000, |o| o.window = Some(1000));
    world.write("wide.toml", &format!("{WIDE}[limits]\nmax_partitions = 3\n"));
    world.run("wide.toml", &[]).code(2).stderr(contains("max_partitions"));
    assert_eq!(world.pages_served().len(), 1, "only the first page, which showed the total");
    let mut raised = world.cmd();
    raised.env("OCEAN_EXPORT_LIMITS__MAX_PARTITIONS", "100");
    raised.args(["run", "wide.toml", "--base-url", &world.base_url()]).assert().success();
    assert!(world.fetch_counts().values().all(|&n| n == 1), "{:?}", world.fetch_counts());
    assert_eq!(sorted(csv_ids(&world.read("output/wide.csv"))), sorted(ids_where(&world, |_| true)));
}

#[test]
fn a_limit_above_the_window_takes_the_first_of_each_part_and_says_so() {
    let world = World::new(6000, |o| o.window = Some(1000));
    world.write("wide.toml", WIDE);
    let out = world.stdout(&["estimate", "wide.toml", "--base-url", &world.base_url(), "--max-records", "2500"]);
    assert!(out.contains("not the API's top 2500"), "{out}");
    world.run("wide.toml", &["--max-records", "2500"]).success();
    assert_eq!(csv_ids(&world.read("output/wide.csv")).len(), 2500);
    let report = report(&world, "output/wide.csv");
    assert_eq!((report["complete"].as_bool(), report["limit_reached"].as_bool()), (Some(true), Some(true)));
    assert_eq!(report["order"], "per part");
    // Below the window, the API's own top N: no split.
    let out = world.stdout(&["estimate", "wide.toml", "--base-url", &world.base_url(), "--max-records", "800"]);
    assert!(out.contains("the API's top 800") && !out.contains("parts:"), "{out}");
}

#[test]
fn parts_share_one_pacer_and_429s_while_probing_are_retried() {
    let world = World::new(3000, |o| {
        o.window = Some(500);
        o.rpm = Some(1200);
        o.fault_429 = 0.1;
        o.fault_seed = 9;
    });
    // Four cursors, but one rate: the sandbox's per-minute limit of 1200 is never hit.
    world.write(
        "wide.toml",
        &WIDE
            .replace("requests_per_minute = 60000", "requests_per_minute = 1200\nmax_retries = 20")
            .replace("result_window = 1000", "result_window = 500"),
    );
    world.run("wide.toml", &[]).success();
    let requests = world.requests();
    assert!(requests.iter().any(|r| r["fault"] == "429"), "the run should meet injected 429s");
    assert!(!requests.iter().any(|r| r["status"] == 429 && r["fault"].is_null()), "the rate limit was hit");
    assert_eq!(sorted(csv_ids(&world.read("output/wide.csv"))), sorted(ids_where(&world, |_| true)));
}

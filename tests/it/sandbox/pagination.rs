//! Point 5: `size` pages, opaque `searchAfter` cursors bound to the query, a stable order, `total`, the
//! three end-of-results styles, and the repeat-cursor bug mode.

use clap::Parser;
use ocean_sandbox::{EndStyle, SandboxOptions};
use serde_json::{Value, json};

use super::harness::{self, END_STYLES, any_of, ids, people, start, title_has};

/// A query and the tests' own reading of which people it matches.
type Case = (Value, Box<dyn Fn(&Value) -> bool>);

fn cases() -> Vec<Case> {
    let everyone = people();
    let chosen: Vec<String> = [5usize, 17, 400, 407, 414, 1234, 2999]
        .iter()
        .map(|&i| everyone[i]["id"].as_str().expect("id").to_string())
        .collect();
    let excluded = chosen[1].clone();
    let include: Vec<String> = [chosen.clone(), vec!["ffffffffffffffff".into()]].concat();
    vec![
        (
            json!({"peopleFilters": {"countries": ["dk", "se", "no"], "seniorities": ["Manager", "Head", "Director"],
                                     "excludeDepartments": ["Sales"]}}),
            Box::new(|p| {
                ["dk", "se", "no"].contains(&p["country"].as_str().unwrap_or_default())
                    && any_of(p, "seniorities", &["Manager", "Head", "Director"])
                    && !any_of(p, "departments", &["Sales"])
            }),
        ),
        (
            json!({"peopleFilters": {"jobTitleKeywords": {"anyOf": ["manager", "HEAD"], "noneOf": ["sales"]}},
                   "companiesFilters": {"companySizes": ["11-50", "51-200", "201-500"]}}),
            Box::new(|p| {
                (title_has(p, "manager") || title_has(p, "head"))
                    && !title_has(p, "sales")
                    && ["11-50", "51-200", "201-500"]
                        .contains(&p["company"]["companySize"].as_str().unwrap_or_default())
            }),
        ),
        (
            json!({"peopleFilters": {"excludeCountries": ["us"], "departments": ["Engineering", "Product", "R&D"],
                                     "jobTitleKeywords": {"allOf": ["Software Engineer"]}}}),
            Box::new(|p| {
                p["country"] != "us"
                    && any_of(p, "departments", &["Engineering", "Product", "R&D"])
                    && title_has(p, "software engineer")
            }),
        ),
        (
            json!({"peopleFilters": {"includePeopleIds": include, "excludePeopleIds": [excluded]}}),
            Box::new(move |p| chosen.iter().any(|id| p["id"] == *id) && p["id"] != excluded),
        ),
    ]
}

fn truth(matches: &dyn Fn(&Value) -> bool) -> Vec<Value> {
    people().iter().filter(|p| matches(p)).cloned().collect()
}

#[tokio::test]
async fn every_walk_yields_exactly_the_matches_once_in_every_end_style() {
    let all = cases();
    for style in END_STYLES {
        let server = start(SandboxOptions { end_style: style, ..harness::options() }).await;
        for (filters, matches) in &all {
            let expected = ids(&truth(matches));
            assert!(!expected.is_empty());
            let mut body = filters.clone();
            body["size"] = json!(37);
            let walk = server.walk(&body).await;
            assert_eq!(ids(&walk.people), expected, "{style:?} {filters}");
            check_pages(&walk.pages, style, expected.len() as u64, 37);
        }
    }
}

/// Every page reports the total, every page but the last is full, and the end comes in `style`.
fn check_pages(pages: &[Value], style: EndStyle, total: u64, size: u64) {
    assert!(pages.iter().all(|p| p["total"] == total && p["detail"] == "OK"));
    let (last, before) = pages.split_last().expect("a page");
    for page in before {
        assert!(page["searchAfter"].is_string());
    }
    match style {
        EndStyle::Absent => assert!(last.get("searchAfter").is_none(), "{last}"),
        EndStyle::Null => assert_eq!(last.get("searchAfter"), Some(&Value::Null)),
        EndStyle::EmptyPage => {
            assert_eq!(last["people"], 0);
            assert!(last["searchAfter"].is_string());
        }
    }
    let full: Vec<&Value> = pages.iter().filter(|p| p["people"] != 0).collect();
    if let Some((_, full_before)) = full.split_last() {
        assert!(full_before.iter().all(|p| p["people"] == size));
    }
}

#[tokio::test]
async fn the_empty_page_keeps_answering_with_an_empty_page() {
    let server = start(SandboxOptions { end_style: EndStyle::EmptyPage, ..harness::options() }).await;
    let (filters, matches) = &cases()[2];
    let mut body = filters.clone();
    body["size"] = json!(10_000);
    let first = server.post(&body).await.json();
    assert_eq!(first["people"].as_array().map(Vec::len), Some(truth(matches).len()));
    body["searchAfter"] = first["searchAfter"].clone();
    for _ in 0..2 {
        let empty = server.post(&body).await.json();
        assert_eq!(empty["people"], json!([]));
        assert!(empty["searchAfter"].is_string());
        body["searchAfter"] = empty["searchAfter"].clone();
    }
}

#[tokio::test]
async fn changing_only_the_size_keeps_the_walk_going() {
    let server = start(harness::options()).await;
    let (filters, matches) = &cases()[0];
    let expected = truth(matches);
    let mut got = Vec::new();
    let mut body = filters.clone();
    for size in [10, 25, 7, 1000].iter().cycle() {
        body["size"] = json!(size);
        let page = server.post(&body).await.json();
        got.extend(page["people"].as_array().cloned().unwrap_or_default());
        match page.get("searchAfter") {
            Some(Value::String(cursor)) => body["searchAfter"] = json!(cursor),
            _ => break,
        }
    }
    assert_eq!(ids(&got), ids(&expected));
}

#[tokio::test]
async fn cursors_survive_a_restart_with_the_same_dataset() {
    let (filters, matches) = &cases()[1];
    let expected = truth(matches);
    let mut body = filters.clone();
    body["size"] = json!(20);
    let first = start(harness::options()).await;
    let page = first.post(&body).await.json();
    first.sandbox.shutdown().await;

    let second = start(harness::options()).await;
    body["searchAfter"] = page["searchAfter"].clone();
    let next = second.post(&body).await.json();
    let people = next["people"].as_array().cloned().unwrap_or_default();
    assert_eq!(ids(&people), ids(&expected[20..40]));
}

#[tokio::test]
async fn total_counts_every_match_and_the_order_is_the_index_order() {
    let server = start(harness::options()).await;
    let page = server.post(&json!({})).await.json();
    assert_eq!(page["total"], harness::PEOPLE);
    let people = page["people"].as_array().cloned().unwrap_or_default();
    assert_eq!(ids(&people), ids(&harness::people()[..50]));
    // Without `fields`, each person as the schema's default field list shows it.
    let expected: Vec<Value> = harness::people()[..50].iter().map(harness::with_default_fields).collect();
    assert_eq!(people, expected);
}

#[tokio::test]
async fn repeat_cursor_mode_returns_the_cursor_it_was_sent() {
    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        options: SandboxOptions,
    }
    let bare = Flags::parse_from(["sandbox", "--repeat-cursor"]).options;
    assert_eq!(bare.repeat_cursor, Some(1));
    assert_eq!(Flags::parse_from(["sandbox", "--repeat-cursor", "3"]).options.repeat_cursor, Some(3));
    assert_eq!(SandboxOptions::default().repeat_cursor, None);

    let server = start(SandboxOptions { repeat_cursor: Some(1), ..harness::options() }).await;
    let first = server.post(&json!({"size": 5})).await.json();
    let cursor = first["searchAfter"].clone();
    for _ in 0..3 {
        let again = server.post(&json!({"size": 5, "searchAfter": cursor})).await.json();
        assert_eq!(again["searchAfter"], cursor);
        let people = again["people"].as_array().cloned().unwrap_or_default();
        assert_eq!(ids(&people), ids(&harness::people()[5..10]));
    }
}

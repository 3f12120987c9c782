//! The result window (`--window N`, `--window-style end|reject|empty`) and `--ppc-cursor reject`: what a
//! walk meets past the API's paging depth, with `total` still the true count.

use clap::Parser;
use ocean_sandbox::{EndStyle, PpcCursor, SandboxOptions, WindowStyle};
use serde_json::{Value, json};

use super::harness::{self, Server, ids, people, start};

const WINDOW: u64 = 1000;

/// A sandbox with the window, the given style, and a request log in `dir`.
async fn windowed(style: WindowStyle, dir: &tempfile::TempDir) -> Server {
    start(SandboxOptions {
        window: Some(WINDOW),
        window_style: style,
        log: Some(dir.path().join("requests.jsonl")),
        ..harness::options()
    })
    .await
}

fn log_lines(dir: &tempfile::TempDir) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.path().join("requests.jsonl")).expect("the log");
    text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

/// The page after `page` of `body`.
fn next(body: &Value, page: &Value) -> Value {
    let mut next = body.clone();
    next["searchAfter"] = page["searchAfter"].clone();
    next
}

#[test]
fn the_flags_and_their_defaults() {
    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        options: SandboxOptions,
    }
    let default = SandboxOptions::default();
    assert_eq!((default.window, default.window_style, default.ppc_cursor), (None, WindowStyle::End, PpcCursor::Allow));
    let parsed =
        Flags::parse_from(["sandbox", "--window", "10000", "--window-style", "reject", "--ppc-cursor", "reject"])
            .options;
    assert_eq!(
        (parsed.window, parsed.window_style, parsed.ppc_cursor),
        (Some(10_000), WindowStyle::Reject, PpcCursor::Reject)
    );
    assert_eq!(Flags::parse_from(["sandbox", "--window-style", "empty"]).options.window_style, WindowStyle::Empty);
}

#[tokio::test]
async fn end_style_stops_the_walk_at_the_window_while_total_says_more() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = windowed(WindowStyle::End, &dir).await;
    // 300 a page: the fourth page would cross the window and is cut at it.
    let walk = server.walk(&json!({"size": 300, "fields": []})).await;
    assert_eq!(ids(&walk.people), ids(&people()[..WINDOW as usize]));
    assert!(walk.pages.iter().all(|p| p["total"] == harness::PEOPLE), "total stays the true count");
    let counts: Vec<&Value> = walk.pages.iter().map(|p| &p["people"]).collect();
    assert_eq!(counts, [300, 300, 300, 100]);
    let (last, before) = walk.pages.split_last().expect("pages");
    assert!(last.get("searchAfter").is_none(), "{last}");
    assert!(before.iter().all(|p| p["searchAfter"].is_string()));
    assert_eq!(last["creditsUsed"], json!(20.0), "only the people returned are paid");
    let cuts: Vec<bool> = log_lines(&dir).iter().map(|l| l["window_cut"].as_bool().expect("window_cut")).collect();
    assert_eq!(cuts, [false, false, false, true]);

    // A page that ends exactly at the window has no cursor either.
    let walk = server.walk(&json!({"size": 250, "fields": []})).await;
    assert_eq!(walk.people.len() as u64, WINDOW);
    assert_eq!(walk.pages.len(), 4);
    assert!(walk.pages[3].get("searchAfter").is_none());

    // With `--end-style null` the cursor is null there.
    let null = start(SandboxOptions { window: Some(WINDOW), end_style: EndStyle::Null, ..harness::options() }).await;
    let walk = null.walk(&json!({"size": 600, "fields": []})).await;
    assert_eq!(walk.pages.len(), 2);
    assert_eq!(walk.pages[1].get("searchAfter"), Some(&Value::Null));
}

#[tokio::test]
async fn a_query_within_the_window_is_walked_whole() {
    let server = start(SandboxOptions { window: Some(WINDOW), ..harness::options() }).await;
    let nordic = |p: &&Value| ["dk", "se"].contains(&p["country"].as_str().unwrap_or_default());
    let expected: Vec<Value> = people().iter().filter(nordic).cloned().collect();
    assert!(expected.len() < WINDOW as usize && expected.len() > 300, "{}", expected.len());
    let walk = server.walk(&json!({"size": 100, "fields": [], "peopleFilters": {"countries": ["dk", "se"]}})).await;
    assert_eq!(ids(&walk.people), ids(&expected));
    // A window as large as the results changes nothing either.
    let exact = start(SandboxOptions { window: Some(harness::PEOPLE), ..harness::options() }).await;
    let walk = exact.walk(&json!({"size": 1000, "fields": []})).await;
    assert_eq!(walk.people.len() as u64, harness::PEOPLE);
}

#[tokio::test]
async fn reject_style_refuses_the_cursor_at_the_window() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = windowed(WindowStyle::Reject, &dir).await;
    let body = json!({"size": 600, "fields": []});
    let first = server.post(&body).await.json();
    let second = server.post(&next(&body, &first)).await.json();
    // Cut at the window, but with a cursor as usual.
    assert_eq!(second["people"].as_array().map(Vec::len), Some(400));
    assert!(second["searchAfter"].is_string());
    assert_eq!(second["total"], harness::PEOPLE);
    let refused = server.post(&next(&body, &second)).await;
    assert_eq!(refused.status, 422);
    let item = &refused.detail()[0];
    assert_eq!(item["type"], "value_error");
    assert_eq!(item["loc"], json!(["body", "searchAfter"]));
    assert_eq!(item["input"], second["searchAfter"]);
    let msg = item["msg"].as_str().expect("msg");
    assert!(msg.contains("searchAfter") && msg.contains("1000"), "{msg}");
    let lines = log_lines(&dir);
    let cuts: Vec<&Value> = lines.iter().map(|l| &l["window_cut"]).collect();
    assert_eq!(cuts, [false, true, true]);
    assert_eq!(lines[2]["detail"], "value_error");
    assert_eq!((lines[2]["status"].as_u64(), lines[2]["credits_charged"].as_f64()), (Some(422), Some(0.0)));
}

#[tokio::test]
async fn empty_style_answers_the_cursor_at_the_window_with_an_empty_page() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = windowed(WindowStyle::Empty, &dir).await;
    let body = json!({"size": 500, "fields": []});
    let first = server.post(&body).await.json();
    let second = server.post(&next(&body, &first)).await.json();
    assert_eq!(second["people"].as_array().map(Vec::len), Some(500));
    assert!(second["searchAfter"].is_string());
    let empty = server.post(&next(&body, &second)).await;
    assert_eq!(empty.status, 200);
    let empty = empty.json();
    assert_eq!(empty["people"], json!([]));
    assert!(empty.get("searchAfter").is_none(), "{empty}");
    assert_eq!((empty["total"].as_u64(), empty["creditsUsed"].as_f64()), (Some(harness::PEOPLE), Some(0.0)));
    let cuts: Vec<Value> = log_lines(&dir).iter().map(|l| l["window_cut"].clone()).collect();
    assert_eq!(cuts, [false, false, true]);
}

#[tokio::test]
async fn a_deep_cursor_from_before_the_window_gets_an_empty_end_page() {
    // Cursors survive a restart with the same dataset, so one issued without a window can arrive later.
    let body = json!({"size": 1200, "fields": []});
    let open = start(harness::options()).await;
    let first = open.post(&body).await.json();
    open.sandbox.shutdown().await;
    let server = start(SandboxOptions { window: Some(WINDOW), ..harness::options() }).await;
    let page = server.post(&next(&body, &first)).await;
    assert_eq!(page.status, 200);
    let page = page.json();
    assert_eq!(page["people"], json!([]));
    assert!(page.get("searchAfter").is_none());
}

#[tokio::test]
async fn ppc_cursor_reject_refuses_people_per_company_with_a_cursor() {
    let server =
        start(SandboxOptions { ppc_cursor: PpcCursor::Reject, credits: Some(100.0), ..harness::options() }).await;
    let body = json!({"size": 20, "peoplePerCompany": 2});
    let first = server.post(&body).await;
    assert_eq!(first.status, 200);
    let first = first.json();
    assert_eq!(server.balance().await["credits"]["oneTime"], json!(96.0));
    let refused = server.post(&next(&body, &first)).await;
    assert_eq!(refused.status, 422);
    let item = &refused.detail()[0];
    assert_eq!((item["type"].as_str(), &item["loc"]), (Some("value_error"), &json!(["body", "searchAfter"])));
    let msg = item["msg"].as_str().expect("msg");
    assert!(msg.contains("searchAfter cannot be combined with peoplePerCompany"), "{msg}");
    assert_eq!(server.balance().await["credits"]["oneTime"], json!(96.0), "nothing charged");
    // Either alone is fine, and `peoplePerCompany: null` is no peoplePerCompany.
    let plain = json!({"size": 20});
    let page = server.post(&plain).await.json();
    assert_eq!(server.post(&next(&plain, &page)).await.status, 200);
    let null = json!({"size": 20, "peoplePerCompany": null});
    assert_eq!(server.post(&next(&null, &page)).await.status, 200);

    // The default allows it: the second page of the same walk is served.
    let allowing = start(harness::options()).await;
    let first = allowing.post(&body).await.json();
    assert_eq!(allowing.post(&next(&body, &first)).await.status, 200);
}

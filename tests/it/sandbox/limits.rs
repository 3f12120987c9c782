//! Point 7: requests per minute and per day, per account (a plain token is its own account, the tokens
//! of `--token NAME@ACCOUNT` share ACCOUNT's), answered with 429, `Retry-After` and `X-RateLimit-Limit`.
//! Only served requests count.

use ocean_sandbox::SandboxOptions;
use serde_json::{Value, json};

use super::harness::{self, Reply, Server, start};

async fn search_as(server: &Server, token: &str) -> Reply {
    server.send(server.search().header("x-api-token", token).json(&json!({"size": 1}))).await
}

fn retry_after(reply: &Reply) -> u64 {
    reply.header("retry-after").expect("Retry-After").parse().expect("whole seconds")
}

#[tokio::test]
async fn the_per_minute_limit_is_per_plain_token() {
    let server =
        start(SandboxOptions { rpm: Some(2), tokens: vec!["a".into(), "b".into()], ..harness::options() }).await;
    assert_eq!(search_as(&server, "a").await.status, 200);
    assert_eq!(search_as(&server, "a").await.status, 200);
    let limited = search_as(&server, "a").await;
    assert_eq!(limited.status, 429);
    assert!(retry_after(&limited) >= 1);
    assert_eq!(limited.header("x-ratelimit-limit"), Some("2"));
    assert!(limited.detail().is_string());
    assert_eq!(search_as(&server, "b").await.status, 200);
}

#[tokio::test]
async fn the_daily_limit_counts_served_requests_and_shows_in_the_balance() {
    let server = start(SandboxOptions { daily_limit: Some(3), ..harness::options() }).await;
    assert_eq!(server.balance().await["dailyLimitRateLeft"], 3);
    // Rejected requests do not count.
    assert_eq!(server.post(&json!({"size": 0})).await.status, 422);
    assert_eq!(server.send(server.search().json(&json!({"size": 1}))).await.status, 403);
    assert_eq!(server.balance().await["dailyLimitRateLeft"], 3);
    for left in [2, 1, 0] {
        assert_eq!(server.post(&json!({"size": 1})).await.status, 200);
        assert_eq!(server.balance().await["dailyLimitRateLeft"], left);
    }
    let limited = server.post(&json!({"size": 1})).await;
    assert_eq!(limited.status, 429);
    assert!((1..=86_400).contains(&retry_after(&limited)));
    assert_eq!(limited.header("x-ratelimit-limit"), Some("3"));
    assert!(matches!(limited.detail(), Value::String(_)));
    assert_eq!(server.balance().await["dailyLimitRateLeft"], 0);
}

/// Tokens of two accounts and one plain token, with distinctive names so a leak into the log shows.
fn accounts(dir: &tempfile::TempDir) -> SandboxOptions {
    SandboxOptions {
        tokens: vec!["tok-a-SECRET@acme".into(), "tok-b-SECRET@acme".into(), "tok-c-SECRET".into()],
        log: Some(dir.path().join("requests.jsonl")),
        ..harness::options()
    }
}

#[tokio::test]
async fn tokens_of_one_account_share_its_per_minute_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(SandboxOptions { rpm: Some(2), ..accounts(&dir) }).await;
    assert_eq!(server.sandbox.token(), "tok-a-SECRET", "the token sent is the NAME");
    assert_eq!(search_as(&server, "tok-a-SECRET").await.status, 200);
    assert_eq!(search_as(&server, "tok-b-SECRET").await.status, 200);
    // acme has used its two: both of its tokens are limited, the plain token is its own account.
    let limited = search_as(&server, "tok-a-SECRET").await;
    assert_eq!((limited.status, limited.header("x-ratelimit-limit")), (429, Some("2")));
    assert_eq!(search_as(&server, "tok-b-SECRET").await.status, 429);
    assert_eq!(search_as(&server, "tok-c-SECRET").await.status, 200);
    assert_eq!(search_as(&server, "tok-c-SECRET").await.status, 200);
    assert_eq!(search_as(&server, "tok-c-SECRET").await.status, 429);
    // The full spec is not a token.
    assert_eq!(search_as(&server, "tok-a-SECRET@acme").await.status, 403);

    let text = std::fs::read_to_string(dir.path().join("requests.jsonl")).expect("log");
    assert!(!text.contains("SECRET"), "a token leaked into the log");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    let seen: Vec<(&Value, &Value, u64)> =
        lines.iter().map(|l| (&l["token_index"], &l["account"], l["status"].as_u64().unwrap_or(0))).collect();
    assert_eq!(
        seen,
        [
            (&json!(0), &json!("acme"), 200),
            (&json!(1), &json!("acme"), 200),
            (&json!(0), &json!("acme"), 429),
            (&json!(1), &json!("acme"), 429),
            (&json!(2), &Value::Null, 200),
            (&json!(2), &Value::Null, 200),
            (&json!(2), &Value::Null, 429),
            (&Value::Null, &Value::Null, 403),
        ]
    );
}

#[tokio::test]
async fn tokens_of_one_account_share_its_daily_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(SandboxOptions { daily_limit: Some(3), ..accounts(&dir) }).await;
    let left = |token: &'static str| {
        let request = server.client.get(server.url(ocean_sandbox::BALANCE_PATH)).header("x-api-token", token);
        async { server.send(request).await.json()["dailyLimitRateLeft"].as_u64() }
    };
    for token in ["tok-a-SECRET", "tok-b-SECRET", "tok-a-SECRET"] {
        assert_eq!(search_as(&server, token).await.status, 200);
    }
    assert_eq!(left("tok-a-SECRET").await, Some(0));
    assert_eq!(left("tok-b-SECRET").await, Some(0));
    assert_eq!(left("tok-c-SECRET").await, Some(3));
    let limited = search_as(&server, "tok-b-SECRET").await;
    assert_eq!((limited.status, limited.header("x-ratelimit-limit")), (429, Some("3")));
    assert_eq!(search_as(&server, "tok-c-SECRET").await.status, 200);
    assert_eq!(left("tok-c-SECRET").await, Some(2));
}

#[tokio::test]
async fn token_specs_that_contradict_themselves_are_refused() {
    for tokens in [vec!["@acme"], vec!["name@"], vec!["a@one", "a@two"], vec!["a", "a@one"], vec![""]] {
        let options = SandboxOptions { tokens: tokens.iter().map(|t| t.to_string()).collect(), ..harness::options() };
        let error = ocean_sandbox::start(options).await.err().map(|e| e.to_string());
        assert!(error.as_deref().is_some_and(|e| e.contains("--token")), "{tokens:?}: {error:?}");
    }
    // The same token twice, or two tokens of an account, are fine.
    for tokens in [vec!["a", "a"], vec!["a@one", "a@one", "b@one"]] {
        let options = SandboxOptions { tokens: tokens.iter().map(|t| t.to_string()).collect(), ..harness::options() };
        assert!(ocean_sandbox::start(options).await.is_ok(), "{tokens:?}");
    }
}

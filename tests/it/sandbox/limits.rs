//! Point 7: requests per minute and per day, per token, answered with 429, `Retry-After` and
//! `X-RateLimit-Limit`. Only served requests count.

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
async fn the_per_minute_limit_is_per_token() {
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

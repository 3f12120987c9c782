//! Point 3: the token in the `x-api-token` header or the `apiToken` query parameter, with the contract's
//! statuses and messages, checked after JSON parsing and (by default) before the schema.

use ocean_sandbox::{BALANCE_PATH, SandboxOptions};
use serde_json::json;

use super::harness::{self, Server, start};

const MISSING: &str = "API token should be provided in headers or query parameters";
const UNKNOWN: &str = "Current API token is not registered in our database";
const CONFLICT: &str = "Conflicting API tokens provided in query parameters and headers";

async fn two_tokens() -> Server {
    start(SandboxOptions { tokens: vec!["alpha".into(), "beta".into()], ..harness::options() }).await
}

#[tokio::test]
async fn missing_token_is_403_on_both_endpoints() {
    let server = start(harness::options()).await;
    let search = server.send(server.search().json(&json!({}))).await;
    assert_eq!(search.status, 403);
    assert_eq!(search.json(), json!({ "detail": MISSING }));
    let balance = server.send(server.client.get(server.url(BALANCE_PATH))).await;
    assert_eq!(balance.status, 403);
    assert_eq!(balance.json(), json!({ "detail": MISSING }));
}

#[tokio::test]
async fn unknown_token_is_403_in_header_and_in_query() {
    let server = start(harness::options()).await;
    let header = server.send(server.search().header("x-api-token", "nope").json(&json!({}))).await;
    assert_eq!(header.status, 403);
    assert_eq!(header.json(), json!({ "detail": UNKNOWN }));
    let query = server.send(server.search().query(&[("apiToken", "nope")]).json(&json!({}))).await;
    assert_eq!(query.status, 403);
    assert_eq!(query.json(), json!({ "detail": UNKNOWN }));
}

#[tokio::test]
async fn different_tokens_in_header_and_query_are_400() {
    let server = two_tokens().await;
    let reply = server
        .send(server.search().header("x-api-token", "alpha").query(&[("apiToken", "beta")]).json(&json!({})))
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json(), json!({ "detail": CONFLICT }));
}

#[tokio::test]
async fn query_token_and_the_same_token_twice_are_accepted() {
    let server = two_tokens().await;
    let query = server.send(server.search().query(&[("apiToken", "beta")]).json(&json!({"size": 1}))).await;
    assert_eq!(query.status, 200);
    let both = server
        .send(server.search().header("x-api-token", "alpha").query(&[("apiToken", "alpha")]).json(&json!({"size": 1})))
        .await;
    assert_eq!(both.status, 200);
}

#[tokio::test]
async fn configured_tokens_replace_the_default_token() {
    let server = two_tokens().await;
    assert_eq!(server.sandbox.token(), "alpha");
    for (token, status) in [("alpha", 200), ("beta", 200), ("sandbox-token", 403)] {
        let reply = server.send(server.search().header("x-api-token", token).json(&json!({"size": 1}))).await;
        assert_eq!(reply.status, status, "token {token}");
    }
    let default = start(harness::options()).await;
    assert_eq!(default.sandbox.token(), "sandbox-token");
}

#[tokio::test]
async fn json_is_parsed_before_auth_and_auth_is_checked_before_the_schema() {
    let server = start(harness::options()).await;
    let malformed = server.send(server.search().body("{\"size\": ")).await;
    assert_eq!(malformed.status, 422);
    assert_eq!(malformed.detail()[0]["type"], "json_invalid");
    let invalid = server.send(server.search().json(&json!({"size": 0, "bogus": 1}))).await;
    assert_eq!(invalid.status, 403);

    let swapped = start(SandboxOptions { validate_before_auth: true, ..harness::options() }).await;
    let invalid = swapped.send(swapped.search().json(&json!({"size": 0, "bogus": 1}))).await;
    assert_eq!(invalid.status, 422);
    let valid = swapped.send(swapped.search().json(&json!({"size": 1}))).await;
    assert_eq!(valid.status, 403);
}

#[tokio::test]
async fn other_paths_are_404_and_other_methods_405() {
    let server = start(harness::options()).await;
    let missing = server.send(server.client.post(server.url("/v3/search/companies")).json(&json!({}))).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json(), json!({"detail": "Not Found"}));
    let get = server.send(server.client.get(server.url(ocean_sandbox::SEARCH_PATH))).await;
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST"));
    let post = server.send(server.client.post(server.url(BALANCE_PATH))).await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET"));
}

#[tokio::test]
async fn a_stopped_sandbox_refuses_connections() {
    let server = start(harness::options()).await;
    let url = server.url(ocean_sandbox::SEARCH_PATH);
    assert_eq!(server.post(&json!({"size": 1})).await.status, 200);
    server.sandbox.shutdown().await;
    assert!(server.client.post(url).header("x-api-token", "sandbox-token").json(&json!({})).send().await.is_err());
}

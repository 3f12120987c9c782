//! Point 8: injected faults, reproducible from the fault seed: 429s, HTML 5xx pages, connections closed
//! without a response, bodies cut short, and latency. A faulted request charges nothing.

use std::time::{Duration, Instant};

use ocean_sandbox::{BALANCE_PATH, SandboxOptions};
use serde_json::{Value, json};

use super::harness::{self, Server, start};

/// What a client sees of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Status(u16),
    /// A 200 whose body broke off.
    Truncated,
    /// No response at all.
    Reset,
}

async fn outcome(server: &Server, body: &Value) -> Outcome {
    let request = server.search().header("x-api-token", server.sandbox.token()).json(body);
    let Ok(response) = request.send().await else {
        return Outcome::Reset;
    };
    let status = response.status().as_u16();
    match response.bytes().await {
        Ok(bytes) if status == 200 && serde_json::from_slice::<Value>(&bytes).is_err() => Outcome::Truncated,
        Ok(_) => Outcome::Status(status),
        Err(_) if status == 200 => Outcome::Truncated,
        Err(_) => Outcome::Reset,
    }
}

fn faulty(fault_seed: u64) -> SandboxOptions {
    SandboxOptions {
        fault_429: 0.15,
        fault_5xx: 0.15,
        fault_reset: 0.15,
        fault_truncate: 0.15,
        fault_seed,
        ..harness::options()
    }
}

async fn outcomes(server: &Server, n: usize) -> Vec<Outcome> {
    let mut all = Vec::new();
    for _ in 0..n {
        all.push(outcome(server, &json!({"size": 5})).await);
    }
    all
}

#[tokio::test]
async fn the_same_fault_seed_gives_the_same_faults() {
    let first = outcomes(&start(faulty(99)).await, 40).await;
    let second = outcomes(&start(faulty(99)).await, 40).await;
    assert_eq!(first, second);
    for kind in [Outcome::Status(200), Outcome::Status(429), Outcome::Truncated, Outcome::Reset] {
        assert!(first.contains(&kind), "{kind:?} never happened: {first:?}");
    }
    assert!(first.iter().any(|o| matches!(o, Outcome::Status(500 | 502 | 503 | 504))));
    let other = outcomes(&start(faulty(100)).await, 40).await;
    assert_ne!(first, other);
}

#[tokio::test]
async fn faulted_requests_charge_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("requests.jsonl");
    let server =
        start(SandboxOptions { credits: Some(10_000.0), price: 1.0, log: Some(log.clone()), ..faulty(7) }).await;
    let seen = outcomes(&server, 40).await;
    let served = seen.iter().filter(|o| **o == Outcome::Status(200)).count();
    assert!(served > 0 && served < 40);
    let balance = server.balance().await["credits"]["oneTime"].as_f64().expect("balance");
    assert_eq!(balance, 10_000.0 - 5.0 * served as f64);
    let lines = std::fs::read_to_string(&log).expect("log");
    for line in lines.lines() {
        let record: Value = serde_json::from_str(line).expect("JSON line");
        if !record["fault"].is_null() {
            assert_eq!(record["credits_charged"], json!(0.0), "{record}");
        }
    }
}

#[tokio::test]
async fn truncated_bodies_stop_part_way() {
    let cut = start(SandboxOptions { fault_truncate: 1.0, ..harness::options() }).await;
    let whole = start(harness::options()).await;
    for size in [1, 20, 300] {
        let body = json!({"size": size});
        let full = whole.post(&body).await.bytes;
        let mut response =
            cut.search().header("x-api-token", cut.sandbox.token()).json(&body).send().await.expect("headers arrive");
        assert_eq!(response.status(), 200);
        let mut partial = Vec::new();
        let broke = loop {
            match response.chunk().await {
                Ok(Some(chunk)) => partial.extend_from_slice(&chunk),
                Ok(None) => break false,
                Err(_) => break true,
            }
        };
        assert!(broke, "the body of size {size} ended cleanly");
        assert!(partial.len() < full.len());
        assert!(full.starts_with(&partial), "a prefix of the real page");
    }
}

#[tokio::test]
async fn resets_close_the_connection_without_a_response() {
    let server = start(SandboxOptions { fault_reset: 1.0, ..harness::options() }).await;
    for _ in 0..3 {
        assert_eq!(outcome(&server, &json!({})).await, Outcome::Reset);
    }
}

#[tokio::test]
async fn server_errors_are_html_pages() {
    let server = start(SandboxOptions { fault_5xx: 1.0, ..harness::options() }).await;
    let mut codes = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let reply = server.post(&json!({})).await;
        assert!([500, 502, 503, 504].contains(&reply.status));
        assert_eq!(reply.header("content-type"), Some("text/html"));
        let page = String::from_utf8_lossy(&reply.bytes).into_owned();
        assert!(page.starts_with("<html>") && page.contains(&reply.status.to_string()));
        codes.insert(reply.status);
    }
    assert_eq!(codes, [500, 502, 503, 504].into());
}

#[tokio::test]
async fn injected_429s_carry_retry_after() {
    let server = start(SandboxOptions { fault_429: 1.0, fault_retry_after: 3, ..harness::options() }).await;
    let reply = server.post(&json!({})).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("3"));
    assert_eq!(reply.header("x-ratelimit-limit"), Some("60"));
    assert!(reply.detail().is_string());
    let with_rpm = start(SandboxOptions { fault_429: 1.0, rpm: Some(7), ..harness::options() }).await;
    let reply = with_rpm.post(&json!({})).await;
    assert_eq!(reply.header("x-ratelimit-limit"), Some("7"));
    assert_eq!(reply.header("retry-after"), Some("1"));
}

#[tokio::test]
async fn latency_delays_every_response_and_jitter_is_reproducible() {
    let slow = start(SandboxOptions { latency_ms: 250, ..harness::options() }).await;
    let started = Instant::now();
    assert_eq!(slow.post(&json!({"size": 1})).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(250));
    let started = Instant::now();
    slow.balance().await;
    assert!(started.elapsed() >= Duration::from_millis(250));

    let dir = tempfile::tempdir().expect("temp dir");
    let mut delays = Vec::new();
    for run in 0..2 {
        let log = dir.path().join(format!("run{run}.jsonl"));
        let server =
            start(SandboxOptions { jitter_ms: 40, fault_seed: 5, log: Some(log.clone()), ..harness::options() }).await;
        for _ in 0..6 {
            server.post(&json!({"size": 1})).await;
        }
        server.send(server.client.get(server.url(BALANCE_PATH)).header("x-api-token", server.sandbox.token())).await;
        let run_delays: Vec<u64> = std::fs::read_to_string(&log)
            .expect("log")
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("JSON")["delay_ms"].as_u64().expect("delay"))
            .collect();
        assert!(run_delays.iter().all(|d| *d <= 40));
        delays.push(run_delays);
    }
    assert_eq!(delays[0], delays[1]);
    assert!(delays[0].iter().any(|d| *d != delays[0][0]), "jitter varies");
}

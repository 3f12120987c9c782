//! Point 6: `creditsUsed` per page, 402 without charge when the balance cannot pay, the balance endpoint,
//! and a balance persisted across restarts.

use ocean_sandbox::{SandboxOptions, UNLIMITED_BALANCE, UNLIMITED_DAILY};
use serde_json::json;

use super::harness::{self, start};

#[tokio::test]
async fn credits_used_is_people_returned_times_the_price() {
    let server = start(SandboxOptions { price: 0.2, ..harness::options() }).await;
    let page = server.post(&json!({"size": 3})).await.json();
    assert_eq!(page["creditsUsed"], json!(0.6));
    let none = server.post(&json!({"peopleFilters": {"countries": ["zz"]}})).await.json();
    assert_eq!(none["people"], json!([]));
    assert_eq!(none["creditsUsed"], json!(0.0));
}

#[tokio::test]
async fn a_page_the_balance_cannot_pay_is_402_and_charges_nothing() {
    let server = start(SandboxOptions { credits: Some(10.0), price: 1.0, ..harness::options() }).await;
    assert_eq!(server.post(&json!({"size": 4})).await.status, 200);
    assert_eq!(server.balance().await["credits"]["oneTime"], json!(6.0));
    let refused = server.post(&json!({"size": 7})).await;
    assert_eq!(refused.status, 402);
    assert_eq!(refused.json(), json!({"detail": "Insufficient credits"}));
    assert_eq!(server.balance().await["credits"]["oneTime"], json!(6.0));
    let exact = server.post(&json!({"size": 6})).await.json();
    assert_eq!(exact["creditsUsed"], json!(6.0));
    assert_eq!(server.balance().await["credits"]["oneTime"], json!(0.0));
    assert_eq!(server.post(&json!({"size": 1})).await.status, 402);
    // An empty page costs nothing, so it is still served.
    let empty = server.post(&json!({"peopleFilters": {"countries": ["zz"]}})).await;
    assert_eq!(empty.status, 200);
}

#[tokio::test]
async fn the_balance_endpoint_has_the_published_shape() {
    let server = start(harness::options()).await;
    let balance = server.balance().await;
    assert_eq!(balance["credits"], json!({"oneTime": UNLIMITED_BALANCE, "recurrent": 0.0}));
    for kind in ["emailCredits", "phoneCredits", "previewCredits"] {
        assert_eq!(balance[kind], json!({"oneTime": 0.0, "recurrent": 0.0}));
    }
    assert_eq!(balance["dailyLimitRateLeft"], UNLIMITED_DAILY);
    let reset = balance["dailyLimitRateSecondsToReset"].as_u64().expect("seconds");
    assert!((1..=86_400).contains(&reset));
}

#[tokio::test]
async fn the_credits_file_carries_the_balance_across_restarts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("credits.json");
    let options = |credits| SandboxOptions {
        credits: Some(credits),
        price: 1.0,
        credits_file: Some(file.clone()),
        ..harness::options()
    };
    let first = start(options(100.0)).await;
    for _ in 0..2 {
        assert_eq!(first.post(&json!({"size": 10})).await.status, 200);
    }
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("file")).expect("JSON");
    assert_eq!(saved, json!({"balance": 80.0}));
    first.sandbox.shutdown().await;

    // The file wins over --credits.
    let second = start(options(5.0)).await;
    assert_eq!(second.balance().await["credits"]["oneTime"], json!(80.0));
    assert_eq!(second.post(&json!({"size": 30})).await.status, 200);
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("file")).expect("JSON");
    assert_eq!(saved, json!({"balance": 50.0}));
}

//! Point 9: the request log has a JSON line per request with what a test of a client needs, and never the
//! token.

use ocean_sandbox::{BALANCE_PATH, SandboxOptions};
use serde_json::{Value, json};

use super::harness::{self, start};

#[tokio::test]
async fn every_request_is_logged_without_the_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("requests.jsonl");
    let token = "very-secret-token-31337";
    let server = start(SandboxOptions {
        tokens: vec![token.into()],
        log: Some(log.clone()),
        price: 0.5,
        credits: Some(1000.0),
        ..harness::options()
    })
    .await;
    let body = json!({"size": 40, "peopleFilters": {"countries": ["dk"]}});
    let first = server.post(&body).await.json();
    let mut next = body.clone();
    next["searchAfter"] = first["searchAfter"].clone();
    assert_eq!(server.post(&next).await.status, 200);
    assert_eq!(server.send(server.search().query(&[("apiToken", token)]).body("{")).await.status, 422);
    assert_eq!(server.send(server.search().json(&json!({}))).await.status, 403);
    server.balance().await;

    let text = std::fs::read_to_string(&log).expect("log");
    assert!(!text.contains(token), "the token leaked into the log");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines.len(), 5);
    for (seq, line) in lines.iter().enumerate() {
        assert_eq!(line["seq"], seq);
        let ts = line["ts"].as_str().expect("ts");
        let parsed: jiff::Timestamp = ts.parse().expect("RFC 3339");
        let fraction = ts.rsplit('.').next().expect("fraction");
        assert_eq!(fraction.len(), "123456Z".len(), "microseconds: {ts}");
        let unix_ms = line["unix_ms"].as_f64().expect("unix_ms");
        assert!(((unix_ms * 1000.0).round() as i64 - parsed.as_microsecond()).abs() <= 1, "{unix_ms} vs {ts}");
        for key in [
            "method",
            "path",
            "status",
            "fault",
            "size",
            "position",
            "people",
            "credits_charged",
            "query",
            "total",
            "account",
            "window_cut",
        ] {
            assert!(line.get(key).is_some(), "{key} missing in {line}");
        }
    }
    let total = first["total"].as_u64().expect("total");
    let (a, b) = (&lines[0], &lines[1]);
    assert_eq!(
        (a["method"].as_str(), a["path"].as_str(), a["status"].as_u64()),
        (Some("POST"), Some("/v3/search/people"), Some(200))
    );
    assert_eq!(a["fault"], Value::Null);
    assert_eq!((a["size"].as_u64(), a["position"].as_u64(), a["people"].as_u64()), (Some(40), Some(0), Some(40)));
    assert_eq!((b["position"].as_u64(), b["page"].as_u64()), (Some(40), Some(1)));
    assert_eq!(b["people"].as_u64(), Some(40.min(total - 40)));
    assert_eq!(a["credits_charged"], json!(20.0));
    assert_eq!(a["query"], b["query"]);
    assert_eq!(a["total"], total);
    assert_eq!(a["token_index"], 0);
    assert_eq!((&a["account"], &a["window_cut"]), (&Value::Null, &json!(false)), "a plain token, no window");
    assert_eq!(a["balance"], json!(980.0));
    assert!(a["unix_ms"].as_f64() <= b["unix_ms"].as_f64());
    assert_eq!((lines[2]["status"].as_u64(), lines[2]["detail"].as_str()), (Some(422), Some("json_invalid")));
    assert_eq!(lines[2]["credits_charged"], json!(0.0));
    assert_eq!(lines[3]["status"], 403);
    assert_eq!(lines[3]["token_index"], Value::Null);
    assert_eq!((lines[4]["method"].as_str(), lines[4]["path"].as_str()), (Some("GET"), Some(BALANCE_PATH)));
}

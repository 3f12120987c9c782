//! Hostile responses: whatever a broken API or a proxy sends, the run ends in a clear error or a logged
//! warning, never a hang, a panic, or a corrupt or partly duplicated file.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::{TOKEN, World};

/// A scripted API: the response to a search depends on the `searchAfter` it carries.
struct Scripted {
    runtime: tokio::runtime::Runtime,
    server: MockServer,
}

impl Scripted {
    fn new(respond: impl Fn(Option<&str>, &Value) -> ResponseTemplate + Send + Sync + 'static) -> Scripted {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let server = runtime.block_on(MockServer::start());
        let mock = Mock::given(method("POST")).and(path("/v3/search/people")).respond_with(move |request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            respond(body["searchAfter"].as_str(), &body)
        });
        runtime.block_on(mock.mount(&server));
        Scripted { runtime, server }
    }

    fn requests(&self) -> Vec<Request> {
        self.runtime.block_on(self.server.received_requests()).unwrap_or_default()
    }
}

fn page(people: Value, cursor: Option<&str>, total: u64) -> ResponseTemplate {
    let count = people.as_array().map_or(0, Vec::len);
    let mut body = json!({"people": people, "detail": "OK", "total": total, "creditsUsed": count as f64 * 0.2});
    if let Some(cursor) = cursor {
        body["searchAfter"] = json!(cursor);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

fn person(id: &str) -> Value {
    json!({"id": id, "domain": "example.com", "name": format!("Person {id}")})
}

const JOB: &str =
    "name = \"hostile\"\n[search]\nsize = 3\n[api]\nrequests_per_minute = 60000\nmax_retries = 2\ntimeout_secs = 1\n";

/// A world with no sandbox use: just a folder and the job.
fn world() -> World {
    let world = World::new(1, |_| {});
    world.write("job.toml", JOB);
    world
}

fn run(world: &World, base_url: &str, args: &[&str]) -> assert_cmd::assert::Assert {
    world.cmd().args(["run", "job.toml", "--base-url", base_url]).args(args).timeout(Duration::from_secs(60)).assert()
}

#[test]
fn html_with_status_200_is_retried_then_reported() {
    let api = Scripted::new(|_, _| {
        ResponseTemplate::new(200).set_body_raw("<html><body>Please log in to the proxy</body></html>", "text/html")
    });
    let world = world();
    run(&world, &api.server.uri(), &[])
        .code(5)
        .stderr(predicate::str::contains("expected a JSON object").and(predicate::str::contains("Please log in")));
    assert_eq!(api.requests().len(), 3, "one attempt and two retries");
    assert!(!world.path("output/hostile.csv").exists());
}

#[test]
fn json_of_the_wrong_shape_is_reported() {
    let api =
        Scripted::new(|_, _| ResponseTemplate::new(200).set_body_json(json!({"people": {"id": "x"}, "detail": "OK"})));
    let world = world();
    run(&world, &api.server.uri(), &[]).code(5).stderr(predicate::str::contains("the `people` array"));
}

#[test]
fn a_person_without_id_is_skipped_and_counted() {
    let api = Scripted::new(|_, _| page(json!([person("a"), {"name": "nobody"}, person("b")]), None, 3));
    let world = world();
    run(&world, &api.server.uri(), &[])
        .success()
        .stderr(predicate::str::contains("without an id").and(predicate::str::contains("1 without an id")));
    assert_eq!(crate::support::csv_ids(&world.read("output/hostile.csv")), vec!["a", "b"]);
    let report: Value = serde_json::from_str(&world.read("output/hostile.csv.report.json")).unwrap();
    assert_eq!(report["without_id"], 1);
}

#[test]
fn duplicates_across_pages_are_written_once_and_counted() {
    let api = Scripted::new(|cursor, _| match cursor {
        None => page(json!([person("a"), person("b"), person("c")]), Some("p2"), 5),
        Some("p2") => page(json!([person("c"), person("d"), person("a")]), Some("p3"), 5),
        _ => page(json!([person("e")]), None, 5),
    });
    let world = world();
    run(&world, &api.server.uri(), &["--format", "ndjson", "--output", "output/h.ndjson"])
        .success()
        .stderr(predicate::str::contains("2 duplicate(s)"));
    assert_eq!(crate::support::ndjson_ids(&world.read("output/h.ndjson")), vec!["a", "b", "c", "d", "e"]);
    let report: Value = serde_json::from_str(&world.read("output/h.ndjson.report.json")).unwrap();
    assert_eq!((report["duplicates"].as_u64(), report["people"].as_u64()), (Some(2), Some(5)));
}

#[test]
fn a_page_larger_than_asked_warns_and_limits_still_hold() {
    let api = Scripted::new(|_, _| page(json!([person("a"), person("b"), person("c"), person("d")]), None, 4));
    let world = world();
    run(&world, &api.server.uri(), &["--max-records", "2"])
        .success()
        .stderr(predicate::str::contains("more people than the page size"));
    assert_eq!(crate::support::csv_ids(&world.read("output/hostile.csv")), vec!["a", "b"]);
}

#[test]
fn a_total_that_changes_between_pages_warns_and_the_shortfall_is_incomplete() {
    let api = Scripted::new(|cursor, _| match cursor {
        None => page(json!([person("a")]), Some("p2"), 10),
        _ => page(json!([person("b")]), None, 12),
    });
    let world = world();
    // The API delivered 2 of the 10 it first counted, in less than a page: no window to blame, so the part
    // is short. The people are published, and the run says it is incomplete.
    run(&world, &api.server.uri(), &[])
        .code(8)
        .stderr(predicate::str::contains("total changed").and(predicate::str::contains("incomplete")));
    assert_eq!(crate::support::csv_ids(&world.read("output/hostile.csv")), vec!["a", "b"]);
    assert_eq!(api.requests().len(), 2, "no part was probed");
}

#[test]
fn a_422_shows_each_location_as_the_job_key() {
    let api = Scripted::new(|_, _| {
        ResponseTemplate::new(422).set_body_json(json!({"detail": [{"type": "enum", "loc": ["body", "peopleFilters", "countries", 0], "msg": "Input should be a country code", "input": "xx"}]}))
    });
    let world = world();
    run(&world, &api.server.uri(), &[])
        .code(3)
        .stderr(predicate::str::contains("search.peopleFilters.countries[0]: Input should be a country code"));
    assert_eq!(api.requests().len(), 1);
}

#[test]
fn a_redirect_to_another_host_is_not_followed_and_never_carries_the_token() {
    let elsewhere = Scripted::new(|_, _| page(json!([person("stolen")]), None, 1));
    let target = format!("{}/v3/search/people", elsewhere.server.uri().replace("127.0.0.1", "localhost"));
    let api = Scripted::new(move |_, _| ResponseTemplate::new(307).insert_header("location", target.as_str()));
    let world = world();
    run(&world, &api.server.uri(), &[]).code(5).stderr(predicate::str::contains("not followed"));
    assert!(elsewhere.requests().is_empty(), "the other host was contacted");
}

/// A raw TCP server: `serve` handles each connection; returns the address and a connection counter.
fn raw_server(serve: impl Fn(std::net::TcpStream) + Send + Sync + 'static) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            let serve = serve.clone();
            std::thread::spawn(move || serve(stream));
        }
    });
    (url, connections)
}

/// Reads a request's head (enough to let the client finish sending).
fn read_request(stream: &mut std::net::TcpStream) {
    let mut buf = [0u8; 65536];
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = stream.read(&mut buf);
}

#[test]
fn a_body_that_never_ends_hits_the_size_cap_then_retries() {
    let (url, connections) = raw_server(|mut stream| {
        read_request(&mut stream);
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n");
        let _ = stream.write_all(b"b\r\n{\"people\":[\r\n");
        let chunk = format!("{{\"id\":\"{}\"}},", "x".repeat(1000));
        let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
        while stream.write_all(framed.as_bytes()).is_ok() {}
    });
    let world = world();
    world.write("job.toml", &format!("{JOB}max_body_mib = 1\n"));
    let start = Instant::now();
    run(&world, &url, &[]).code(5).stderr(predicate::str::contains("larger than the 1 MiB cap"));
    assert_eq!(connections.load(Ordering::SeqCst), 3, "one attempt and two retries");
    assert!(start.elapsed() < Duration::from_secs(30));
    assert!(!world.path("output/hostile.csv").exists());
}

#[test]
fn a_server_that_never_answers_times_out_then_retries() {
    let (url, connections) = raw_server(|mut stream| {
        read_request(&mut stream);
        std::thread::sleep(Duration::from_secs(30));
    });
    let world = world();
    run(&world, &url, &[]).code(5).stderr(predicate::str::contains("timed out"));
    assert_eq!(connections.load(Ordering::SeqCst), 3);
}

#[test]
fn a_token_file_readable_by_others_warns() {
    use std::os::unix::fs::PermissionsExt;
    let api = Scripted::new(|_, _| page(json!([person("a")]), None, 1));
    let world = world();
    let token = world.write("token", &format!("{TOKEN}\n"));
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    run(&world, &api.server.uri(), &["--token-file", "token"])
        .success()
        .stderr(predicate::str::contains("readable by others"));
    let sent = &api.requests()[0];
    assert_eq!(sent.headers.get("x-api-token").unwrap().to_str().unwrap(), TOKEN);
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    // The first run's export is complete: running again replaces it.
    run(&world, &api.server.uri(), &["--token-file", "token", "--overwrite"])
        .success()
        .stderr(predicate::str::contains("readable by others").not());
}

/// Converts a CSV file to xlsx with LibreOffice and returns the first sheet's XML.
fn spreadsheet_xml(world: &World, csv: &str) -> String {
    let out = world.path("xlsx");
    let status = std::process::Command::new("soffice")
        .args(["--headless", "--convert-to", "xlsx", "--outdir"])
        .arg(&out)
        .arg(world.path(csv))
        .env("HOME", world.path("lo-home"))
        .output()
        .expect("LibreOffice (soffice) is installed: apt-get install libreoffice-calc-nogui");
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let name = std::path::Path::new(csv).file_stem().unwrap().to_string_lossy().into_owned();
    let xml = std::process::Command::new("unzip")
        .arg("-p")
        .arg(out.join(format!("{name}.xlsx")))
        .arg("xl/worksheets/sheet1.xml")
        .output()
        .unwrap();
    String::from_utf8(xml.stdout).unwrap()
}

/// Needs LibreOffice: `apt-get install libreoffice-calc-nogui unzip`, then `cargo test -- --ignored`.
/// `.ci/run` runs it when `soffice` is on the PATH.
#[test]
#[ignore = "needs LibreOffice (soffice); run with --ignored"]
fn hostile_people_never_become_formulas_in_a_real_spreadsheet() {
    let world = World::new(400, |o| o.hostile_share = 0.5);
    world.write("all.toml", "name = \"all\"\n[search]\nsize = 1000\n");
    world.run("all.toml", &[]).success();
    let xml = spreadsheet_xml(&world, "output/all.csv");
    assert!(xml.contains("<row"), "the sheet has rows");
    assert!(!xml.contains("<f"), "a cell became a formula");
    // The same people without neutralising do produce formulas: the check above can fail.
    world.write("raw.toml", "name = \"raw\"\n[search]\nsize = 1000\n[output]\nneutralize_formulas = false\n");
    world.run("raw.toml", &[]).success();
    assert!(spreadsheet_xml(&world, "output/raw.csv").contains("<f"), "the hostile people hold formulas");
}

#[test]
fn a_retry_after_on_a_503_is_honoured_and_a_huge_one_stops_cleanly() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let api = Scripted::new(move |_, _| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            ResponseTemplate::new(503).insert_header("retry-after", "2").set_body_string("busy")
        } else {
            page(json!([person("a")]), None, 1)
        }
    });
    let world = world();
    let start = Instant::now();
    run(&world, &api.server.uri(), &[]).success();
    assert!(start.elapsed() >= Duration::from_secs(2), "the Retry-After of the 503 was not waited out");

    let api = Scripted::new(|_, _| ResponseTemplate::new(429).insert_header("retry-after", "18446744073709551615"));
    run(&world, &api.server.uri(), &["--output", "output/b.csv"])
        .code(5)
        .stderr(predicate::str::contains("longer than api.max_retry_wait_secs"));
    assert_eq!(api.requests().len(), 1);
}

#[test]
fn csv_and_ndjson_agree_on_odd_ids() {
    // A boolean id is no id; a key repeated in one object counts the first time (as JSON parsers mostly do).
    let body = br#"{"people":[{"id":"a"},{"id":true,"name":"boolean id"},{"id":"dup","id":"second"},{"id":7}],"total":4,"creditsUsed":0.8}"#;
    let api = Scripted::new(move |_, _| ResponseTemplate::new(200).set_body_raw(body.to_vec(), "application/json"));
    let world = world();
    run(&world, &api.server.uri(), &["--output", "output/odd.csv"]).success();
    run(&world, &api.server.uri(), &["--output", "output/odd.ndjson"]).success();
    assert_eq!(crate::support::csv_ids(&world.read("output/odd.csv")), vec!["a", "dup", "7"]);
    assert_eq!(world.read("output/odd.ndjson").lines().count(), 3);
    for file in ["output/odd.csv.report.json", "output/odd.ndjson.report.json"] {
        let report: Value = serde_json::from_str(&world.read(file)).unwrap();
        assert_eq!((report["people"].as_u64(), report["without_id"].as_u64()), (Some(3), Some(1)), "{file}");
    }
}

#[test]
fn a_lone_surrogate_in_a_string_keeps_the_person_in_both_formats() {
    let body =
        br#"{"people":[{"id":"s","summary":"cut \ud83d"},{"id":"t"}],"detail":"OK","total":2,"creditsUsed":0.4}"#;
    let api = Scripted::new(move |_, _| ResponseTemplate::new(200).set_body_raw(body.to_vec(), "application/json"));
    let world = world();
    world.write("job.toml", &format!("{JOB}[output]\ncolumns = \"all\"\n"));
    run(&world, &api.server.uri(), &["--output", "output/s.csv"]).success();
    run(&world, &api.server.uri(), &["--output", "output/s.ndjson"]).success();
    assert_eq!(crate::support::csv_ids(&world.read("output/s.csv")), vec!["s", "t"]);
    assert!(world.read("output/s.csv").contains("cut \\ud83d"));
    assert_eq!(world.read("output/s.ndjson").lines().count(), 2);
}

#[test]
fn a_422_points_at_seeds_and_at_de_duplicated_list_items() {
    let api = Scripted::new(|_, _| {
        ResponseTemplate::new(422).set_body_json(json!({"detail": [
            {"type": "value_error", "loc": ["body", "peopleFilters", "countries", 1], "msg": "Unknown country", "input": "se"},
            {"type": "value_error", "loc": ["body", "peopleFilters", "lookalikeLinkedinHandles", 1], "msg": "Unknown handle", "input": "nobody-1"}
        ]}))
    });
    let world = world();
    world.write(
        "job.toml",
        &format!("{JOB}\n").replace(
            "[search]\nsize = 3\n",
            "[search]\nsize = 3\npeopleFilters = { countries = [\"dk\", \"DK\", \"se\"], lookalikeLinkedinHandles = [\"dwight-schrute\"] }\n[seeds]\nlinkedin = [\"nobody-1\"]\n",
        ),
    );
    run(&world, &api.server.uri(), &[])
        .code(3)
        .stderr(predicate::str::contains("search.peopleFilters.countries[2]: Unknown country"))
        .stderr(predicate::str::contains("seeds.linkedin[0]: Unknown handle"));
}

#[test]
fn an_api_that_echoes_the_token_does_not_get_it_printed() {
    let api = Scripted::new(|_, _| {
        ResponseTemplate::new(422).set_body_json(json!({"detail": [{"type": "x", "loc": ["header", "x-api-token"], "msg": format!("token {TOKEN} is not valid"), "input": TOKEN}]}))
    });
    let world = world();
    let output = run(&world, &api.server.uri(), &[]).code(3).get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("[redacted]") && !stderr.contains(TOKEN), "{stderr}");
    let output = world
        .cmd()
        .args(["estimate", "job.toml", "--base-url", &api.server.uri()])
        .assert()
        .code(3)
        .get_output()
        .clone();
    assert!(!String::from_utf8_lossy(&output.stderr).contains(TOKEN));
}

/// A TLS server on loopback whose certificate is self-signed for `localhost`: the exporter must refuse it
/// (there is no switch to turn verification off). Returns the URL and a count of handshakes that completed.
fn untrusted_tls_server(runtime: &tokio::runtime::Runtime) -> (String, Arc<AtomicUsize>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("https://localhost:{}", listener.local_addr().unwrap().port());
    let completed = Arc::new(AtomicUsize::new(0));
    let counter = completed.clone();
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            if acceptor.accept(stream).await.is_ok() {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (url, completed)
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (url, completed) = untrusted_tls_server(&runtime);
    let world = world();
    run(&world, &url, &[]).code(5).stderr(predicate::str::contains("certificate"));
    assert_eq!(completed.load(Ordering::SeqCst), 0, "no handshake may complete, so the token was never sent");
}

#[test]
fn an_empty_last_page_that_repeats_a_cursor_still_completes() {
    let api = Scripted::new(|cursor, _| match cursor {
        None => page(json!([person("a"), person("b")]), Some("C1"), 2),
        _ => page(json!([]), Some("C1"), 2),
    });
    let world = world();
    run(&world, &api.server.uri(), &[]).success();
    assert_eq!(crate::support::csv_ids(&world.read("output/hostile.csv")), vec!["a", "b"]);
}

#[test]
fn every_attempt_counts_against_the_retries_even_when_the_api_asks_for_no_wait() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let api = Scripted::new(move |_, _| {
        counter.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(429).insert_header("retry-after", "0")
    });
    let world = world();
    // max_retries = 2 in the job: the first attempt and two retries, then exit 5, naming the real wait.
    run(&world, &api.server.uri(), &[])
        .code(5)
        .stderr(predicate::str::contains("after 3 attempts").and(predicate::str::contains("asked to wait 0s")));
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[test]
fn a_408_is_retried_like_a_server_error() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let api = Scripted::new(move |_, _| match counter.fetch_add(1, Ordering::SeqCst) {
        0 => ResponseTemplate::new(408).set_body_json(json!({"detail": "Request Timeout"})),
        _ => page(json!([person("a")]), None, 1),
    });
    let world = world();
    run(&world, &api.server.uri(), &[]).success().stderr(predicate::str::contains("408"));
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(crate::support::csv_ids(&world.read("output/hostile.csv")), vec!["a"]);
}

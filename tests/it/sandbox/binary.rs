//! `ocean-export sandbox`: prints its base URL and token, serves, and exits cleanly on SIGTERM; its help
//! says which filters are applied.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use assert_cmd::cargo_bin_cmd;
use predicates::str::contains;
use serde_json::json;

#[tokio::test]
async fn prints_url_and_token_serves_and_exits_on_sigterm() {
    let mut child = Command::new(cargo_bin!("ocean-export"))
        .args(["sandbox", "--people", "300", "--token", "t-one", "--token", "t-two"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = |prefix: &str| {
        let mut text = String::new();
        stdout.read_line(&mut text).expect("a line");
        text.strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{text:?} does not start with {prefix}"))
            .trim_end()
            .to_string()
    };
    let base_url = line("OCEAN_BASE_URL=");
    let token = line("OCEAN_API_TOKEN=");
    assert!(base_url.starts_with("http://127.0.0.1:") && !base_url.ends_with('/'));
    assert_eq!(token, "t-one");

    let reply = reqwest::Client::new()
        .post(format!("{base_url}/v3/search/people"))
        .header("x-api-token", &token)
        .json(&json!({"size": 2}))
        .send()
        .await
        .expect("served");
    assert_eq!(reply.status(), 200);
    let page: serde_json::Value = reply.json().await.expect("JSON");
    assert_eq!(page["total"], 300);

    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the sandbox did not exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("stdout");
    assert_eq!(rest, "", "exactly two lines on stdout");
}

#[test]
fn help_says_which_filters_are_applied() {
    cargo_bin_cmd!("ocean-export")
        .args(["sandbox", "--help"])
        .assert()
        .success()
        .stdout(contains("jobTitleKeywords"))
        .stdout(contains("lookalikeLinkedinHandles"))
        .stdout(contains("peoplePerCompany"))
        .stdout(contains("--repeat-cursor"))
        .stdout(contains("--fault-truncate"));
}

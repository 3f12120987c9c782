//! `ocean-export sandbox`: prints its base URL and token, serves, and exits cleanly on SIGTERM; its flags
//! work from the command line; its help says which filters are applied.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use assert_cmd::cargo_bin_cmd;
use predicates::str::contains;
use serde_json::json;

/// `ocean-export sandbox ARGS` as a child, with the two lines of its stdout: base URL and token.
struct Child {
    child: std::process::Child,
    stdout: BufReader<std::process::ChildStdout>,
    base_url: String,
    token: String,
}

fn spawn(args: &[&str]) -> Child {
    let mut child = Command::new(cargo_bin!("ocean-export"))
        .arg("sandbox")
        .args(args)
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
    Child { child, stdout, base_url, token }
}

impl Child {
    async fn search(&self, token: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let reply = reqwest::Client::new()
            .post(format!("{}/v3/search/people", self.base_url))
            .header("x-api-token", token)
            .json(body)
            .send()
            .await
            .expect("served");
        (reply.status().as_u16(), reply.json().await.expect("JSON"))
    }

    /// SIGTERM, then exit 0 with nothing more on stdout.
    fn stop(mut self) {
        let pid = i32::try_from(self.child.id()).expect("pid");
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the sandbox did not exit after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(0));
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut rest).expect("stdout");
        assert_eq!(rest, "", "exactly two lines on stdout");
    }
}

#[tokio::test]
async fn prints_url_and_token_serves_and_exits_on_sigterm() {
    let child = spawn(&["--people", "300", "--token", "t-one", "--token", "t-two"]);
    assert_eq!(child.token, "t-one");
    let (status, page) = child.search(&child.token, &json!({"size": 2})).await;
    assert_eq!(status, 200);
    assert_eq!(page["total"], 300);
    child.stop();
}

#[tokio::test]
async fn the_window_accounts_cursor_and_fields_flags_work_from_the_command_line() {
    let child = spawn(&[
        "--people",
        "300",
        "--token",
        "t-one@acme",
        "--token",
        "t-two@acme",
        "--rpm",
        "3",
        "--window",
        "100",
        "--window-style",
        "reject",
        "--ppc-cursor",
        "reject",
        "--fields-default",
        "all",
    ]);
    assert_eq!(child.token, "t-one", "the NAME of the first token");
    // Every field, cut at the window with a cursor.
    let (status, first) = child.search("t-one", &json!({"size": 150})).await;
    assert_eq!(status, 200);
    assert_eq!((first["total"].as_u64(), first["people"].as_array().map(Vec::len)), (Some(300), Some(100)));
    assert!(first["people"].as_array().expect("people").iter().any(|p| p.get("email").is_some()));
    // The next page is past the window.
    let (status, refused) = child.search("t-two", &json!({"size": 150, "searchAfter": first["searchAfter"]})).await;
    assert_eq!(status, 422);
    assert!(refused["detail"][0]["msg"].as_str().is_some_and(|m| m.contains("100")), "{refused}");
    // peoplePerCompany with a cursor is refused before the window.
    let body = json!({"size": 10, "peoplePerCompany": 1, "searchAfter": first["searchAfter"]});
    let (status, refused) = child.search("t-two", &body).await;
    assert_eq!(status, 422);
    assert!(refused["detail"][0]["msg"].as_str().is_some_and(|m| m.contains("peoplePerCompany")), "{refused}");
    // acme's three served requests a minute: t-two gets one more, then both tokens are limited.
    assert_eq!(child.search("t-two", &json!({"size": 1})).await.0, 200);
    assert_eq!(child.search("t-two", &json!({"size": 1})).await.0, 200);
    assert_eq!(child.search("t-one", &json!({"size": 1})).await.0, 429);
    child.stop();
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
        .stdout(contains("--fault-truncate"))
        .stdout(contains("--window <N>"))
        .stdout(contains("10000"))
        .stdout(contains("--window-style"))
        .stdout(contains("--ppc-cursor"))
        .stdout(contains("NAME@ACCOUNT"))
        .stdout(contains("fieldsNotExist"));
}

//! What an operator sees and sets: progress on a terminal and in logs, estimates, layered settings, JSON
//! logs, the example jobs, completions and the man page.

use std::process::Command;

use predicates::prelude::*;
use serde_json::Value;

use crate::support::{World, ids_where, stdout_of};

const JOB: &str = r#"
name = "ops"
[search]
size = 50
peopleFilters = { countries = ["dk", "se"] }
"#;

#[test]
fn a_bar_on_a_terminal_and_periodic_lines_on_a_pipe() {
    let world = World::new(1500, |o| o.latency_ms = 150);
    world.write("ops.toml", JOB);
    let bin = assert_cmd::cargo::cargo_bin!("ocean-export").display().to_string();
    // On a pseudo-terminal (util-linux `script`): the bar, with people, pages, rate, ETA and credits.
    let command = format!(
        "stty cols 120 rows 40; {bin} run ops.toml --base-url {} --max-records 400 --requests-per-minute 60000",
        world.base_url()
    );
    let output = world.std_cmd().env("TERM", "xterm-256color").args(["--version"]).output().unwrap();
    assert!(output.status.success());
    let tty = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .current_dir(world.dir.path())
        .env("OCEAN_API_TOKEN", crate::support::TOKEN)
        .env("XDG_CONFIG_HOME", world.path("xdg"))
        .env("TERM", "xterm-256color")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{screen}");
    assert!(screen.contains("/400 people") && screen.contains("people/s") && screen.contains("ETA"), "{screen}");
    assert!(screen.contains("credits"), "{screen}");
    assert!(screen.contains("Exported 400 people"), "{screen}");

    // On a pipe: no bar (no carriage returns or escape codes), one progress line a second instead.
    let output = world
        .cmd()
        .args(["run", "ops.toml", "--base-url", &world.base_url(), "--output", "output/pipe.csv"])
        .args(["--max-records", "400", "--requests-per-minute", "60000", "--progress-interval", "1"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains('\r') && !stderr.contains('\u{1b}'), "{stderr:?}");
    let lines = stderr.lines().filter(|l| l.contains("progress: ")).count();
    assert!(lines >= 1, "{stderr}");
    assert!(stderr.contains("people of"), "{stderr}");
}

#[test]
fn estimate_reports_the_true_total_and_balance() {
    let world = World::new(2000, |o| {
        o.credits = Some(1234.5);
        o.daily_limit = Some(100);
    });
    world.write("ops.toml", JOB);
    let total = ids_where(&world, |p| p["country"].as_str().is_some_and(|c| c == "dk" || c == "se")).len();
    let out = world.stdout(&["estimate", "ops.toml", "--base-url", &world.base_url()]);
    assert!(out.contains(&format!("matching people:     {total} ")), "{out}");
    assert!(out.contains(&format!("pages needed:        {} at size 50", total.div_ceil(50))), "{out}");
    // The estimate's own size-1 request cost 0.2 and used one request of the day.
    assert!(out.contains("credits balance:     1234.3"), "{out}");
    assert!(out.contains("requests left today: 99 "), "{out}");
    assert_eq!(world.pages_served().len(), 1);
    assert_eq!(world.pages_served()[0]["size"], 1);

    // A stray OCEAN_EXPORT_ variable that is not a setting is an error before anything is sent.
    world
        .cmd()
        .args(["estimate", "ops.toml", "--base-url", &world.base_url()])
        .env("OCEAN_EXPORT_SEARCH__X", "1")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("OCEAN_EXPORT_SEARCH__X"));
    assert_eq!(world.pages_served().len(), 1);
    // Not enough requests left today, nor credits: it warns and still exits 0.
    let poor = World::new(2000, |o| {
        o.credits = Some(10.0);
        o.daily_limit = Some(5);
    });
    poor.write("ops.toml", JOB);
    poor.cmd()
        .args(["estimate", "ops.toml", "--base-url", &poor.base_url()])
        .assert()
        .success()
        .stderr(predicate::str::contains("cannot finish today").and(predicate::str::contains("the balance is 9.8")));
}

#[test]
fn each_settings_layer_overrides_the_one_below() {
    let world = World::new(10, |_| {});
    world.write(
        "xdg/ocean-export/config.toml",
        "[api]\nrequests_per_minute = 11\nmax_retries = 1\ntimeout_secs = 5\nmax_retry_wait_secs = 7\n",
    );
    world.write("ops.toml", &format!("{JOB}[api]\nmax_retries = 2\ntimeout_secs = 6\nmax_retry_wait_secs = 8\n"));
    let out = stdout_of(
        world
            .cmd()
            .args(["config", "ops.toml", "--requests-per-minute", "99"])
            .env("OCEAN_EXPORT_API__TIMEOUT_SECS", "9")
            .env("OCEAN_EXPORT_API__MAX_RETRY_WAIT_SECS", "10"),
    );
    let line = |key: &str| out.lines().find(|l| l.starts_with(&format!("{key} "))).unwrap_or_default().to_owned();
    // default < user settings < job file < environment < flags
    assert!(line("api.base_url").contains("\"https://api.ocean.io\"") && line("api.base_url").ends_with("# default"));
    assert!(line("api.max_retries").contains("= 2 ") && line("api.max_retries").contains("# job file"), "{out}");
    assert!(
        line("api.timeout_secs").contains("= 9 ")
            && line("api.timeout_secs").contains("OCEAN_EXPORT_API__TIMEOUT_SECS"),
        "{out}"
    );
    assert!(line("api.max_retry_wait_secs").contains("= 10 "), "{out}");
    assert!(
        line("api.requests_per_minute").contains("= 99 ")
            && line("api.requests_per_minute").contains("flag --requests-per-minute"),
        "{out}"
    );
    assert!(line("token").contains("present"), "{out}");
    let token_file = world.write("token", "from-a-file\n");
    std::fs::set_permissions(&token_file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let from_file =
        stdout_of(world.cmd().env_remove("OCEAN_API_TOKEN").args(["config", "ops.toml", "--token-file", "token"]));
    assert!(from_file.lines().any(|l| l.starts_with("token ") && l.contains("present")));
    assert!(!out.contains(crate::support::TOKEN));
    // The user settings file wins over defaults where nothing else speaks.
    world.write("bare.toml", JOB);
    let out = world.stdout(&["config", "bare.toml"]);
    assert!(
        out.lines().any(|l| l.starts_with("api.max_retries ") && l.contains("= 1 ") && l.contains("user settings")),
        "{out}"
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let world = World::new(1500, |o| {
        o.fault_5xx = 0.2;
        o.fault_seed = 11;
    });
    world.write("ops.toml", JOB);
    let output = world
        .cmd()
        .args([
            "run",
            "ops.toml",
            "--base-url",
            &world.base_url(),
            "--log-format",
            "json",
            "--requests-per-minute",
            "60000",
        ])
        .args(["--progress-interval", "1"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let events: Vec<Value> =
        stderr.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert!(events.iter().any(|e| e["message"].as_str().is_some_and(|m| m.starts_with("page "))));
    assert!(events.iter().any(|e| e["message"].as_str().is_some_and(|m| m.starts_with("retrying"))));
    assert!(events.iter().any(|e| e["message"] == "export complete"));
    // Errors too.
    world.write("bad.toml", "[search]\nsize = 0\n");
    let output =
        world.cmd().args(["validate", "bad.toml", "--log-format", "json"]).assert().code(2).get_output().clone();
    for line in String::from_utf8(output.stderr).unwrap().lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["level"], "ERROR");
    }
}

#[test]
fn every_example_job_validates() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut jobs = 0;
    for entry in std::fs::read_dir(format!("{root}/jobs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            jobs += 1;
            assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("ocean-export"))
                .current_dir(root)
                .env("XDG_CONFIG_HOME", "/nonexistent")
                .args(["validate", path.to_str().unwrap()])
                .assert()
                .success()
                .stderr(predicate::str::contains("valid"));
        }
    }
    assert!(jobs >= 3, "jobs/ should hold at least three jobs");
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("ocean-export"))
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("ocean-export").and(predicate::str::contains("estimate")));
    }
    assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("ocean-export"))
        .arg("manpage")
        .assert()
        .success()
        .stdout(predicate::str::contains(".TH").and(predicate::str::contains("ocean-export")));
}

#[test]
fn the_two_lines_the_sandbox_prints_point_run_at_it() {
    use std::io::{BufRead, BufReader};
    let world = World::new(10, |_| {});
    world.write("ops.toml", JOB);
    let mut sandbox = world
        .std_cmd()
        .args(["sandbox", "--people", "400", "--log", "served.jsonl"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(sandbox.stdout.take().unwrap());
    let mut printed = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let (name, value) = line.trim_end().split_once('=').expect("NAME=value");
        printed.push((name.to_owned(), value.to_owned()));
    }
    assert_eq!(printed.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["OCEAN_BASE_URL", "OCEAN_API_TOKEN"]);
    // Exported as printed, with no --base-url: the job's own base_url (the real API) is not used.
    let mut run = world.cmd();
    run.args(["run", "ops.toml", "--requests-per-minute", "60000", "--output", "output/printed.csv"]);
    run.envs(printed.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    let result = run.assert();
    crate::support::signal(&sandbox, libc::SIGTERM);
    sandbox.wait().unwrap();
    result.success();
    let served = world.read("served.jsonl");
    assert!(served.lines().count() >= 2, "the printed sandbox served the run: {served}");
    let total = ids_where(&World::new(400, |_| {}), |p| p["country"].as_str().is_some_and(|c| c == "dk" || c == "se"));
    assert_eq!(crate::support::csv_ids(&world.read("output/printed.csv")), total);
}

/// Two jobs on one account (sandbox tokens `a` and `b`, both of account `shared`, 60 requests a minute between them):
/// the job that keeps well under its own rate and still meets 429s says another client is using the
/// account. A job alone on its account at its own rate never says so.
#[test]
fn a_429_under_our_own_rate_names_another_client_on_the_account() {
    let world = World::new(3000, |o| {
        o.tokens = vec!["a@shared".to_owned(), "b@shared".to_owned(), "c".to_owned()];
        o.rpm = Some(60);
    });
    world.write(
        "greedy.toml",
        "name = \"greedy\"\n[search]\nsize = 10\n[limits]\nmax_records = 700\n[api]\nmax_retries = 100\n",
    );
    world.write(
        "polite.toml",
        "name = \"polite\"\n[search]\nsize = 10\n[limits]\nmax_records = 30\n[api]\nmax_retries = 100\n",
    );
    let line = "another client seems to be using the same account";
    // The greedy job (unpaced) spends the account's minute first.
    let mut greedy = world
        .std_cmd()
        .env("OCEAN_API_TOKEN", "b")
        .args(["run", "greedy.toml", "--base-url", &world.base_url(), "--requests-per-minute", "60000"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while world.pages_served().len() < 60 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let polite = world
        .cmd()
        .env("OCEAN_API_TOKEN", "a")
        .args(["run", "polite.toml", "--base-url", &world.base_url(), "--requests-per-minute", "30"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&polite.get_output().stderr).into_owned();
    assert_eq!(stderr.matches(line).count(), 1, "said once: {stderr}");
    assert!(stderr.contains("under its requests_per_minute of 30"), "{stderr}");
    let _ = greedy.kill();
    greedy.wait().unwrap();

    // Alone on its account and within its limit: no 429, nothing said.
    world.write("alone.toml", "name = \"alone\"\n[search]\nsize = 10\n[limits]\nmax_records = 30\n");
    let alone = world
        .cmd()
        .env("OCEAN_API_TOKEN", "c")
        .args(["run", "alone.toml", "--base-url", &world.base_url(), "--requests-per-minute", "60"])
        .assert()
        .success();
    assert!(!String::from_utf8_lossy(&alone.get_output().stderr).contains(line));
}

//! The container and scheduler files agree with the code: the Kubernetes CronJob's `podFailurePolicy`
//! with the exit-code table (`ocean_export::error::EXIT_CODES`), as do `--help` and README's table; the
//! job file the manifest ships validates; the Dockerfile runs as a non-root user.

use std::collections::BTreeMap;
use std::path::Path;

use ocean_export::error::{EXIT_CODES, Retry};
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn manifest() -> Vec<Yaml> {
    let text = std::fs::read_to_string(root().join("deploy/kubernetes/cronjob.yaml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap()
}

fn of_kind<'a>(docs: &'a [Yaml], kind: &str) -> &'a Yaml {
    docs.iter().find(|d| d["kind"].as_str() == Some(kind)).unwrap_or_else(|| panic!("no {kind} in the manifest"))
}

#[test]
fn the_pod_failure_policy_follows_the_exit_code_table() {
    let docs = manifest();
    let cron = of_kind(&docs, "CronJob");
    assert_eq!(cron["spec"]["concurrencyPolicy"].as_str(), Some("Forbid"));
    let job = &cron["spec"]["jobTemplate"]["spec"];
    assert_eq!(job["template"]["spec"]["restartPolicy"].as_str(), Some("Never"), "podFailurePolicy needs it");
    // Exit code -> the action of the rule that names it.
    let mut actions: BTreeMap<u8, String> = BTreeMap::new();
    for rule in job["podFailurePolicy"]["rules"].as_vec().expect("podFailurePolicy.rules") {
        let Some(codes) = rule["onExitCodes"].as_hash().map(|_| &rule["onExitCodes"]) else { continue };
        assert_eq!(codes["operator"].as_str(), Some("In"));
        assert_eq!(codes["containerName"].as_str(), Some("ocean-export"));
        let action = rule["action"].as_str().unwrap().to_owned();
        for value in codes["values"].as_vec().unwrap() {
            let code = u8::try_from(value.as_i64().unwrap()).unwrap();
            assert!(actions.insert(code, action.clone()).is_none(), "exit code {code} is in two rules");
        }
    }
    for entry in EXIT_CODES.iter().filter(|e| e.code != 0) {
        let action = actions
            .remove(&entry.code)
            .unwrap_or_else(|| panic!("exit code {} ({}) has no rule", entry.code, entry.meaning));
        match entry.retry {
            Retry::Never | Retry::Done => {
                assert_eq!(action, "FailJob", "exit code {} must not be retried ({})", entry.code, entry.meaning)
            }
            Retry::Later => assert!(
                action == "Count" || action == "Ignore",
                "exit code {} is retried later, not {action} ({})",
                entry.code,
                entry.meaning
            ),
        }
    }
    assert!(actions.is_empty(), "the manifest names exit codes the tool does not have: {actions:?}");
    // What the issue promises, spelled out.
    let table: BTreeMap<u8, Retry> = EXIT_CODES.iter().map(|e| (e.code, e.retry)).collect();
    assert_eq!((table[&2], table[&3]), (Retry::Never, Retry::Never));
    assert_eq!((table[&4], table[&5], table[&7]), (Retry::Later, Retry::Later, Retry::Later));
}

#[test]
fn the_cronjob_keeps_state_on_a_volume_and_the_token_in_a_secret() {
    let docs = manifest();
    let pod = &of_kind(&docs, "CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["name"].as_str(), Some("ocean-export"));
    let env = container["env"].as_vec().unwrap();
    let token = env.iter().find(|e| e["name"].as_str() == Some("OCEAN_API_TOKEN")).expect("the token variable");
    assert!(token["valueFrom"]["secretKeyRef"]["name"].as_str().is_some(), "the token comes from a Secret");
    let state = pod["volumes"].as_vec().unwrap().iter().find(|v| v["name"].as_str() == Some("state")).unwrap();
    let claim = state["persistentVolumeClaim"]["claimName"].as_str().expect("a PVC");
    let pvc = YamlLoader::load_from_str(&std::fs::read_to_string(root().join("deploy/kubernetes/pvc.yaml")).unwrap())
        .unwrap();
    assert_eq!(pvc[0]["metadata"]["name"].as_str(), Some(claim));
    let mount =
        container["volumeMounts"].as_vec().unwrap().iter().find(|m| m["name"].as_str() == Some("state")).unwrap();
    let mount = mount["mountPath"].as_str().unwrap();

    // The job file it ships is valid, and keeps its state on that volume.
    let job = of_kind(&docs, "ConfigMap")["data"]["nightly.toml"].as_str().unwrap();
    assert!(job.contains(&format!("state_dir = \"{mount}/")), "the state folder is on the volume");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("nightly.toml"), job).unwrap();
    let mut cmd = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("ocean-export"));
    cmd.current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .args(["validate", "nightly.toml"])
        .assert()
        .success();
    let args: Vec<&str> = container["args"].as_vec().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(&args[..2], ["run", "/etc/ocean-export/nightly.toml"]);
}

#[test]
fn the_dockerfile_builds_in_stages_and_runs_as_a_non_root_user() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "a builder stage and a runtime stage");
    assert!(froms[1].contains("slim"), "a slim runtime image: {}", froms[1]);
    let user = text.lines().rfind(|l| l.starts_with("USER ")).expect("a USER line");
    assert!(!user.contains("root") && !user.trim_end().ends_with(" 0"), "{user}");
    assert!(text.contains("ENTRYPOINT [\"/usr/local/bin/ocean-export\"]"));
}

#[test]
fn help_and_readme_list_the_exit_code_table() {
    let help = crate::support::stdout_of(
        assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("ocean-export")).arg("--help"),
    );
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme.split("## Exit codes").nth(1).expect("README has an Exit codes section");
    let section = section.split("\n## ").next().unwrap();
    let readme_codes: Vec<u8> =
        section.lines().filter_map(|l| l.strip_prefix("| ")?.split(' ').next()?.parse().ok()).collect();
    let codes: Vec<u8> = EXIT_CODES.iter().map(|e| e.code).collect();
    assert_eq!(readme_codes, codes, "README's exit-code table lists the codes of EXIT_CODES, in order");
    for entry in EXIT_CODES {
        let line = format!("  {:<4} {}", entry.code, entry.meaning.split_whitespace().collect::<Vec<_>>().join(" "));
        let flat: String = help.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(line.split_whitespace().collect::<Vec<_>>().join(" ").as_str()), "--help lacks {line}");
    }
}

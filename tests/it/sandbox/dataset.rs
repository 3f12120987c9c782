//! Point 1: the synthetic people. Person i is a pure function of (seed, i), every field of the schema
//! occurs in realistic proportions, and a share of people carries hostile values.

use std::collections::{HashMap, HashSet};

use ocean_sandbox::SandboxOptions;
use ocean_sandbox::dataset::{self, Dataset};
use serde_json::{Value, json};

use super::harness::{self, SEED, people, start};

#[tokio::test]
async fn the_same_seed_gives_the_same_bytes() {
    let body = json!({"size": 400, "peopleFilters": {"excludeCountries": ["fi"]}});
    let first = start(harness::options()).await.post(&body).await.bytes;
    let second = start(harness::options()).await.post(&body).await.bytes;
    assert_eq!(first, second);
    let other = start(SandboxOptions { seed: SEED + 1, ..harness::options() }).await.post(&body).await.bytes;
    assert_ne!(first, other);
}

#[test]
fn a_person_depends_only_on_seed_and_index() {
    let everyone = people();
    assert_eq!(dataset::person(SEED, 10, harness::HOSTILE_SHARE), everyone[10]);
    assert_eq!(Dataset::new(SEED, 11, harness::HOSTILE_SHARE).person(10), everyone[10]);
    assert_ne!(dataset::person(SEED + 1, 10, harness::HOSTILE_SHARE), everyone[10]);
    let set = Dataset::new(SEED, harness::PEOPLE, harness::HOSTILE_SHARE);
    for i in [0, 3, 4, 123, 2999] {
        assert_eq!(set.index_of_id(&set.id(i)), Some(i));
        assert_eq!(set.index_of_handle(&set.handle(i)), Some(i));
        assert_eq!(everyone[i as usize]["id"], set.id(i));
    }
    assert_eq!(set.index_of_id("0000000000000000").filter(|i| *i >= harness::PEOPLE), None);
}

#[test]
fn ids_and_handles_are_unique_and_the_first_four_are_the_examples() {
    let everyone = people();
    let handles: Vec<&str> = everyone
        .iter()
        .map(|p| {
            p["linkedinUrl"]
                .as_str()
                .and_then(|u| u.strip_prefix("https://www.linkedin.com/in/"))
                .expect("a profile URL")
        })
        .collect();
    assert_eq!(handles[..4], ["michael-scott-13532", "dwight-schrute", "jim-halpert-5343", "toby-67832"]);
    assert_eq!(handles.iter().collect::<HashSet<_>>().len(), everyone.len());
    let ids: HashSet<&str> = everyone.iter().map(|p| p["id"].as_str().expect("id")).collect();
    assert_eq!(ids.len(), everyone.len());
    assert!(
        ids.iter().all(|id| { id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) })
    );
}

/// Every string anywhere in a value.
fn texts<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|v| texts(v, out)),
        Value::Object(map) => map.values().for_each(|v| texts(v, out)),
        _ => {}
    }
}

#[test]
fn fields_occur_in_realistic_proportions() {
    let everyone = people();
    let n = everyone.len() as f64;
    let share = |test: &dyn Fn(&Value) -> bool| everyone.iter().filter(|p| test(p)).count() as f64 / n;
    let long = share(&|p| p["summary"].as_str().is_some_and(|s| s.len() >= 20 * 1024));
    assert!((0.06..0.14).contains(&long), "long summaries: {long}");
    for key in ["email", "experiences", "state", "headline", "inferredEmails", "followersCount"] {
        assert!(share(&|p| p.get(key).is_none()) > 0.0, "{key} is never absent");
    }
    for key in [
        "email",
        "phone",
        "company",
        "experiences",
        "summary",
        "skills",
        "seniorities",
        "country",
        "photo",
        "relevance",
        "name",
    ] {
        assert!(share(&|p| p[key].is_null() && p.get(key).is_some()) > 0.0, "{key} is never null");
    }
    for key in ["experiences", "skills", "seniorities", "departments", "inferredEmails"] {
        assert!(share(&|p| p[key] == json!([])) > 0.0, "{key} is never empty");
    }
    assert!(share(&|p| p["company"]["fundingRound"].is_object()) > 0.2);
    assert!(share(&|p| p["email"]["address"].is_string()) > 0.5);
    let countries: HashSet<&str> = everyone.iter().filter_map(|p| p["country"].as_str()).collect();
    for code in ["dk", "se", "no", "fi", "de", "nl", "gb", "us"] {
        assert!(countries.contains(code), "{code}");
    }
    assert!(countries.iter().all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_lowercase())));
    let mut per_domain: HashMap<&str, usize> = HashMap::new();
    for p in everyone {
        *per_domain.entry(p["domain"].as_str().expect("domain")).or_default() += 1;
    }
    assert!(per_domain.values().any(|n| *n >= 10), "people share companies");
    assert!(per_domain.len() > 200, "and there are many companies");
}

#[test]
fn hostile_values_are_present_and_absent_without_hostility() {
    let mut all = Vec::new();
    people().iter().for_each(|p| texts(p, &mut all));
    let any = |test: &dyn Fn(&str) -> bool| all.iter().any(|s| test(s));
    for start in ["=", "+", "-", "@"] {
        assert!(any(&|s| s.starts_with(start)), "no value starts with {start}");
    }
    assert!(any(&|s| s.starts_with("=HYPERLINK(")));
    for piece in ["\r\n", "\n", "\"", ",", "æ", "ø", "å"] {
        assert!(any(&|s| s.contains(piece)), "no value contains {piece:?}");
    }
    let ranges = [('\u{4e00}', '\u{9fff}'), ('\u{0590}', '\u{06ff}'), ('\u{1f300}', '\u{1faff}')];
    for (low, high) in ranges {
        assert!(any(&|s| s.chars().any(|c| (low..=high).contains(&c))), "no character in {low:?}..{high:?}");
    }
    let titles_and_names = |p: &Value| [p["name"].clone(), p["jobTitle"].clone(), p["headline"].clone()];
    assert!(people().iter().flat_map(titles_and_names).any(|v| v.as_str().is_some_and(|s| s.starts_with('='))));

    let tame = Dataset::new(SEED, 1000, 0.0);
    for i in 4..1000 {
        let person = tame.person(i);
        assert!(person["summary"].as_str().is_none_or(|s| s.len() < 20 * 1024));
        for value in titles_and_names(&person) {
            assert!(value.as_str().is_none_or(|s| !s.starts_with('=') && !s.contains('\n')), "{value}");
        }
    }
}

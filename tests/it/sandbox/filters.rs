//! Point 4: the filters the sandbox applies, checked against the tests' own reading of the dataset:
//! lookalike seeds and ordering, company domains with their redirects and statuses, people per company,
//! and the `fields` projection.

use std::collections::{BTreeSet, HashMap};

use ocean_sandbox::{FieldsDefault, SandboxOptions};
use serde_json::{Value, json};

use super::harness::{self, ids, people, start, strings, with_default_fields};

/// For each seed: 3 for the same company domain, 2 for the same country, 1 per shared seniority and
/// per shared department (the similarity the sandbox documents).
fn similarity(person: &Value, seeds: &[&Value]) -> usize {
    let shared = |key: &str, seed: &Value| {
        let mine = strings(&person[key]);
        strings(&seed[key]).iter().filter(|v| mine.contains(v)).count()
    };
    seeds
        .iter()
        .map(|seed| {
            3 * usize::from(person["domain"] == seed["domain"])
                + 2 * usize::from(person["country"].is_string() && person["country"] == seed["country"])
                + shared("seniorities", seed)
                + shared("departments", seed)
        })
        .sum()
}

#[tokio::test]
async fn lookalike_reports_seeds_and_orders_by_similarity() {
    let server = start(harness::options()).await;
    let everyone = people();
    // Seeds from different companies and countries, so that every weight of the similarity matters.
    let popular = &domains_by_size()[0];
    let (second, seed) = everyone
        .iter()
        .enumerate()
        .find(|(_, p)| p["domain"] == popular.as_str() && p["country"].is_string() && p["country"] != "us")
        .expect("someone abroad at the biggest company");
    let handle = seed["linkedinUrl"].as_str().and_then(|u| u.rsplit('/').next()).expect("handle");
    let seeds = [&everyone[0], seed];
    let given = json!(["michael-scott-13532", format!("https://www.linkedin.com/in/{handle}/"), "nobody-at-all"]);
    let body = json!({"size": 700, "peopleFilters": {"lookalikeLinkedinHandles": given, "excludeCountries": ["de"]}});
    let walk = server.walk(&body).await;
    let mut expected: Vec<(usize, usize, &Value)> = everyone
        .iter()
        .enumerate()
        .filter(|(i, p)| *i != 0 && *i != second && p["country"] != "de")
        .map(|(i, p)| (similarity(p, &seeds), i, p))
        .collect();
    expected.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let expected: Vec<Value> = expected.into_iter().map(|(_, _, p)| p.clone()).collect();
    assert_eq!(ids(&walk.people), ids(&expected));
    assert_eq!(
        walk.pages[0]["lookalikePeopleStatuses"],
        json!({
            "successfulPeople": ["michael-scott-13532", format!("https://www.linkedin.com/in/{handle}/")],
            "notFoundPeople": ["nobody-at-all"],
            "triggeredDomainPeople": [],
            "missingCompanyInformationPeople": []
        })
    );

    // A generated person's handle works as a seed; without any seed found there is nothing to match.
    let url = everyone[100]["linkedinUrl"].as_str().expect("url");
    let handle = url.rsplit('/').next().expect("handle").to_uppercase();
    let page = server.post(&json!({"size": 1, "peopleFilters": {"lookalikeLinkedinHandles": [handle]}})).await.json();
    assert_eq!(page["lookalikePeopleStatuses"]["successfulPeople"], json!([handle]));
    assert_eq!(page["total"], harness::PEOPLE - 1);
    let none =
        server.post(&json!({"peopleFilters": {"lookalikeLinkedinHandles": ["ghost-1", "ghost-2"]}})).await.json();
    assert_eq!(none["total"], 0);
    assert_eq!(none["people"], json!([]));
    assert_eq!(none["lookalikePeopleStatuses"]["notFoundPeople"], json!(["ghost-1", "ghost-2"]));
}

/// Company domains of the dataset, most people first.
fn domains_by_size() -> Vec<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for p in people() {
        *counts.entry(p["domain"].as_str().expect("domain")).or_default() += 1;
    }
    let mut domains: Vec<(&str, usize)> = counts.into_iter().collect();
    domains.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    domains.into_iter().map(|(d, _)| d.to_string()).collect()
}

#[tokio::test]
async fn include_domains_follow_aliases_and_report_unknown_domains() {
    let server = start(harness::options()).await;
    let domains = domains_by_size();
    let (a, b, c) = (&domains[0], &domains[1], &domains[2]);
    let stem = c.split('.').next().expect("stem");
    let twin = format!("{stem}.{}", if c.ends_with(".nl") { "de" } else { "nl" });
    let shouted = format!("WWW.{}", b.to_uppercase());
    let upper = a.to_uppercase();
    let body = json!({"size": 500, "companiesFilters": {"includeDomains": [upper, shouted, twin, "unknown-domain-xyz.com", "not a domain"]}});
    let walk = server.walk(&body).await;
    let expected: Vec<Value> =
        people().iter().filter(|p| [a, b, c].iter().any(|d| p["domain"] == d.as_str())).cloned().collect();
    assert!(expected.len() > 10);
    assert_eq!(ids(&walk.people), ids(&expected));
    let page = &walk.pages[0];
    assert_eq!(page["redirectMap"], json!({ upper: a, shouted: b, twin: c }));
    let statuses = page["includeDomainsStatuses"].as_object().expect("statuses");
    assert_eq!(statuses.keys().collect::<Vec<_>>(), ["not a domain", "unknown-domain-xyz.com"]);
    assert_eq!(statuses["not a domain"], "invalid domain");

    let excluded = server
        .post(&json!({"size": 1000, "companiesFilters": {"excludeDomains": [a, format!("https://www.{b}/about")]}}))
        .await
        .json();
    let remaining = people().iter().filter(|p| p["domain"] != a.as_str() && p["domain"] != b.as_str()).count();
    assert_eq!(excluded["total"], remaining);
    assert_eq!(excluded["includeDomainsStatuses"], Value::Null);
    assert_eq!(excluded["redirectMap"], json!({ format!("https://www.{b}/about"): b }));
    assert!(
        excluded["people"]
            .as_array()
            .expect("people")
            .iter()
            .all(|p| p["domain"] != a.as_str() && p["domain"] != b.as_str())
    );
}

#[tokio::test]
async fn people_per_company_keeps_the_first_of_each_domain() {
    let server = start(harness::options()).await;
    let body = json!({"size": 50, "peoplePerCompany": 2, "peopleFilters": {"countries": ["dk", "us"]}});
    let walk = server.walk(&body).await;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let expected: Vec<Value> = people()
        .iter()
        .filter(|p| ["dk", "us"].contains(&p["country"].as_str().unwrap_or_default()))
        .filter(|p| {
            let n = seen.entry(p["domain"].as_str().expect("domain")).or_default();
            *n += 1;
            *n <= 2
        })
        .cloned()
        .collect();
    assert!(seen.values().any(|n| *n > 2), "some company has more people");
    assert_eq!(ids(&walk.people), ids(&expected));
}

#[tokio::test]
async fn empty_lists_are_no_filter() {
    let server = start(harness::options()).await;
    let page = server
        .post(&json!({"peopleFilters": {"countries": [], "seniorities": [], "jobTitleKeywords": {"anyOf": []}},
                      "companiesFilters": {"includeDomains": []}}))
        .await
        .json();
    assert_eq!(page["total"], harness::PEOPLE);
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default()
}

#[tokio::test]
async fn fields_select_the_keys_of_each_person() {
    let server = start(harness::options()).await;
    let page = server
        .post(&json!({"size": 200, "fields": ["name", "experiences.jobTitle", "company.peopleCount", "email.address"]}))
        .await
        .json();
    let allowed: BTreeSet<&str> = ["id", "domain", "name", "experiences", "company", "email"].into();
    for (person, truth) in page["people"].as_array().expect("people").iter().zip(people()) {
        assert!(keys(person).is_subset(&allowed), "{person}");
        assert!(keys(person).contains("id") && keys(person).contains("domain"));
        for key in keys(person) {
            match key {
                "experiences" => {
                    for (e, t) in
                        person[key].as_array().into_iter().flatten().zip(truth[key].as_array().into_iter().flatten())
                    {
                        assert_eq!(keys(e), ["jobTitle"].into());
                        assert_eq!(e["jobTitle"], t["jobTitle"]);
                    }
                }
                "company" if truth["company"].is_object() => {
                    assert_eq!(person[key], json!({"employeeCountOcean": truth["company"]["employeeCountOcean"]}));
                }
                _ => assert_eq!(person[key], truth[key], "{key}"),
            }
        }
    }
    let bare = server.post(&json!({"size": 5, "fields": []})).await.json();
    for person in bare["people"].as_array().expect("people") {
        assert_eq!(keys(person), ["domain", "id"].into());
    }
}

#[tokio::test]
async fn without_fields_the_schema_default_list_or_every_key() {
    // The default, as the real API: the schema's default fields, so no email and no phone.
    assert_eq!(SandboxOptions::default().fields_default, FieldsDefault::Schema);
    let truth = &people()[..100];
    for key in ["email", "phone", "inferredEmails", "relevance"] {
        assert!(truth.iter().any(|p| p.get(key).is_some()), "the dataset has {key}");
    }
    let schema = start(harness::options()).await;
    let page = schema.post(&json!({"size": 100})).await.json();
    let expected: Vec<Value> = truth.iter().map(with_default_fields).collect();
    assert_eq!(page["people"].as_array().cloned(), Some(expected));
    for person in page["people"].as_array().expect("people") {
        for key in ["email", "phone", "inferredEmails", "relevance"] {
            assert!(person.get(key).is_none(), "{key} in {person}");
        }
        if person["company"].is_object() {
            let allowed: BTreeSet<&str> =
                ["revenue", "employeeCountOcean", "industries", "technologies", "fundingRound"].into();
            assert!(keys(&person["company"]).is_subset(&allowed));
        }
    }
    // `fields: null` is no `fields` either.
    let null = schema.post(&json!({"size": 100, "fields": null})).await.json();
    assert_eq!(null["people"], page["people"]);

    let all = start(SandboxOptions { fields_default: FieldsDefault::All, ..harness::options() }).await;
    let page = all.post(&json!({"size": 100})).await.json();
    assert_eq!(page["people"].as_array().cloned(), Some(truth.to_vec()));
}

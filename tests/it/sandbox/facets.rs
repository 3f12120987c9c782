//! The facets a partition planner splits a query on, each walked over HTTP and compared with the tests'
//! own reading of the dataset: countries, seniorities and departments with their excludes, the
//! `fieldsExist` / `fieldsNotExist` of people and companies, and company sizes. A facet's "value missing"
//! complement must be small but never empty, the parts of a split must add up to the whole, and `total`
//! must always be what a walk returns.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Value, json};

use super::harness::{self, Server, exists, ids, people, start, strings};

/// The schema's `peopleFilters.fieldsExist` enum.
const PERSON_FIELDS: [&str; 12] = [
    "country",
    "departments",
    "firstName",
    "jobTitle",
    "jobTitleEnglish",
    "lastName",
    "linkedinUrl",
    "location",
    "name",
    "photo",
    "seniorities",
    "summary",
];

/// The `companiesFilters.fieldsExist` values a person's `company` object shows.
const COMPANY_FIELDS: [&str; 6] = ["companySize", "logo", "name", "revenue", "industries", "technologies"];

fn has(person: &Value, key: &str) -> bool {
    exists(person.get(key))
}

/// A company field exists only on a company that is there.
fn company_has(person: &Value, key: &str) -> bool {
    person["company"].is_object() && exists(person["company"].get(key))
}

fn country(person: &Value) -> Option<&str> {
    person["country"].as_str()
}

/// Walks `filters` (pages of 1000, ids only) and checks the people against `matches`, in dataset order,
/// and that every page's `total` is the number walked. Returns how many matched.
async fn check(server: &Server, filters: Value, matches: impl Fn(&Value) -> bool) -> usize {
    let mut body = filters.clone();
    body["size"] = json!(1000);
    body["fields"] = json!([]);
    let walk = server.walk(&body).await;
    let expected: Vec<Value> = people().iter().filter(|p| matches(p)).cloned().collect();
    assert_eq!(ids(&walk.people), ids(&expected), "{filters}");
    assert!(walk.pages.iter().all(|p| p["total"] == expected.len()), "{filters}: total is not the walk");
    expected.len()
}

fn share(test: impl Fn(&Value) -> bool) -> f64 {
    people().iter().filter(|p| test(p)).count() as f64 / people().len() as f64
}

#[test]
fn each_facets_missing_value_share_is_small_but_not_empty() {
    let no_country = share(|p| !has(p, "country"));
    assert!((0.01..0.08).contains(&no_country), "no country: {no_country}");
    for key in ["seniorities", "departments"] {
        let none = share(|p| !has(p, key));
        assert!((0.08..0.2).contains(&none), "no {key}: {none}");
        // Both ways of having none occur.
        assert!(share(|p| p[key].is_null()) > 0.0 && share(|p| p[key] == json!([])) > 0.0, "{key}");
    }
    let no_size = share(|p| !company_has(p, "companySize"));
    assert!((0.02..0.15).contains(&no_size), "no company size: {no_size}");
    assert!(share(|p| p["company"].is_object() && !company_has(p, "companySize")) > 0.0);
    assert!(share(|p| p["company"].is_null()) > 0.0);
}

#[tokio::test]
async fn countries_keep_theirs_and_exclude_countries_keeps_people_without_one() {
    let server = start(harness::options()).await;
    let nordic = ["dk", "se"];
    check(&server, json!({"peopleFilters": {"countries": nordic}}), |p| {
        country(p).is_some_and(|c| nordic.contains(&c))
    })
    .await;
    let kept = check(&server, json!({"peopleFilters": {"excludeCountries": nordic}}), |p| {
        country(p).is_none_or(|c| !nordic.contains(&c))
    })
    .await;
    assert!(people().iter().any(|p| country(p).is_none()));
    assert_eq!(kept, people().iter().filter(|p| country(p).is_none_or(|c| !nordic.contains(&c))).count());
    // Country codes are matched case-insensitively, as the exporter lowercases them anyway.
    check(&server, json!({"peopleFilters": {"countries": ["DK"]}}), |p| country(p) == Some("dk")).await;
}

#[tokio::test]
async fn seniorities_and_departments_need_a_value_in_common_and_excludes_keep_people_without() {
    let server = start(harness::options()).await;
    let any = |p: &Value, key: &str, wanted: &[&str]| strings(&p[key]).iter().any(|v| wanted.contains(v));
    let senior = ["Manager", "Head", "Director"];
    check(&server, json!({"peopleFilters": {"seniorities": senior}}), |p| any(p, "seniorities", &senior)).await;
    let teams = ["Sales", "Engineering"];
    check(&server, json!({"peopleFilters": {"departments": teams}}), |p| any(p, "departments", &teams)).await;
    let kept =
        check(&server, json!({"peopleFilters": {"excludeDepartments": teams}}), |p| !any(p, "departments", &teams))
            .await;
    // People with no departments at all are among those kept.
    assert!(kept > people().iter().filter(|p| has(p, "departments") && !any(p, "departments", &teams)).count());
    // People with two seniorities are in both halves of a split.
    let (managers, heads) = (["Manager"], ["Head"]);
    check(&server, json!({"peopleFilters": {"seniorities": managers, "departments": teams}}), |p| {
        any(p, "seniorities", &managers) && any(p, "departments", &teams)
    })
    .await;
    assert!(people().iter().any(|p| any(p, "seniorities", &managers) && any(p, "seniorities", &heads)));
}

#[tokio::test]
async fn fields_exist_and_not_exist_split_people_in_two_for_every_person_field() {
    let server = start(harness::options()).await;
    for key in PERSON_FIELDS {
        let present = check(&server, json!({"peopleFilters": {"fieldsExist": [key]}}), |p| has(p, key)).await;
        let missing = check(&server, json!({"peopleFilters": {"fieldsNotExist": [key]}}), |p| !has(p, key)).await;
        assert_eq!((present + missing) as u64, harness::PEOPLE, "{key}");
        if key != "linkedinUrl" {
            assert!(missing > 0, "nobody lacks {key}: the complement would be untested");
        }
    }
    // Several fields: all of them exist, none of them exists.
    let pair = ["photo", "summary"];
    check(&server, json!({"peopleFilters": {"fieldsExist": pair}}), |p| pair.iter().all(|k| has(p, k))).await;
    check(&server, json!({"peopleFilters": {"fieldsNotExist": pair}}), |p| !pair.iter().any(|k| has(p, k))).await;
}

#[tokio::test]
async fn company_sizes_and_the_company_fields_exist_filters() {
    let server = start(harness::options()).await;
    let size = |p: &Value| p["company"]["companySize"].as_str().map(str::to_string);
    let small = ["11-50", "51-200"];
    check(&server, json!({"companiesFilters": {"companySizes": small}}), |p| {
        size(p).is_some_and(|s| small.contains(&s.as_str()))
    })
    .await;
    for key in COMPANY_FIELDS {
        let present =
            check(&server, json!({"companiesFilters": {"fieldsExist": [key]}}), |p| company_has(p, key)).await;
        let missing =
            check(&server, json!({"companiesFilters": {"fieldsNotExist": [key]}}), |p| !company_has(p, key)).await;
        assert_eq!((present + missing) as u64, harness::PEOPLE, "{key}");
        assert!(missing > 0, "{key}");
    }
}

#[tokio::test]
async fn a_facet_and_its_missing_complement_partition_everyone_once() {
    let server = start(harness::options()).await;
    // Countries: one part per country code in the dataset, plus the people without one.
    let codes: BTreeSet<&str> = people().iter().filter_map(country).collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut parts: Vec<Value> = codes.iter().map(|c| json!({"peopleFilters": {"countries": [c]}})).collect();
    parts.push(json!({"peopleFilters": {"fieldsNotExist": ["country"]}}));
    let sizes: Vec<String> =
        people().iter().filter_map(|p| p["company"]["companySize"].as_str().map(str::to_string)).collect();
    let sizes: BTreeSet<String> = sizes.into_iter().collect();
    let mut company_parts: Vec<Value> =
        sizes.iter().map(|s| json!({"companiesFilters": {"companySizes": [s]}})).collect();
    company_parts.push(json!({"companiesFilters": {"fieldsNotExist": ["companySize"]}}));
    for split in [parts, company_parts] {
        seen.clear();
        for part in &split {
            let mut body = part.clone();
            body["size"] = json!(10_000);
            body["fields"] = json!([]);
            let walk = server.walk(&body).await;
            for id in ids(&walk.people) {
                assert!(seen.insert(id), "{part}: a person in two parts");
            }
        }
        assert_eq!(seen.len() as u64, harness::PEOPLE, "the parts cover everyone");
    }
}

#[tokio::test]
async fn contradictions_match_nobody_and_excludes_compose_with_missing_values() {
    let server = start(harness::options()).await;
    let nobody = [
        json!({"peopleFilters": {"countries": ["dk"], "fieldsNotExist": ["country"]}}),
        json!({"peopleFilters": {"seniorities": ["Manager"], "fieldsNotExist": ["seniorities"]}}),
        json!({"peopleFilters": {"departments": ["Sales"], "fieldsNotExist": ["departments"]}}),
        json!({"peopleFilters": {"fieldsExist": ["photo"], "fieldsNotExist": ["photo"]}}),
        json!({"companiesFilters": {"companySizes": ["2-10"], "fieldsNotExist": ["companySize"]}}),
    ];
    for filters in nobody {
        assert_eq!(check(&server, filters, |_| false).await, 0);
    }
    let no_country =
        check(&server, json!({"peopleFilters": {"excludeCountries": ["dk"], "fieldsNotExist": ["country"]}}), |p| {
            !has(p, "country")
        })
        .await;
    assert!(no_country > 0);
    check(
        &server,
        json!({"peopleFilters": {"excludeDepartments": ["Sales"], "fieldsNotExist": ["departments"]}}),
        |p| !has(p, "departments"),
    )
    .await;
    // A planner's nested part: Danes in small companies with a seniority, or with none.
    check(
        &server,
        json!({"peopleFilters": {"countries": ["dk"], "fieldsNotExist": ["seniorities"]},
               "companiesFilters": {"companySizes": ["11-50"]}}),
        |p| country(p) == Some("dk") && !has(p, "seniorities") && p["company"]["companySize"] == "11-50",
    )
    .await;
}

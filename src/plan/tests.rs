//! The planner against a small model of the API's filters: parts cover the search, single-valued parts
//! are disjoint, and each leaf fits the window.

use super::*;
use crate::api::body::{
    CompaniesFilters, CompanyPresenceField, CompanySize, PeopleFilters, PersonPresenceField, Seniority,
};

/// A person of the model: country, company size, seniorities.
#[derive(Clone, Debug)]
struct Person(Option<&'static str>, Option<CompanySize>, Vec<Seniority>);

/// The model's reading of the filters the planner writes.
fn matches(body: &SearchBody, p: &Person) -> bool {
    let people = body.people_filters.clone().unwrap_or_default();
    let companies = body.companies_filters.clone().unwrap_or_default();
    let not_exist = people.fields_not_exist.unwrap_or_default();
    if let Some(list) = people.countries.filter(|l| !l.is_empty())
        && !p.0.is_some_and(|c| list.iter().any(|x| x == c))
    {
        return false;
    }
    if let Some(c) = p.0
        && people.exclude_countries.unwrap_or_default().iter().any(|x| x == c)
    {
        return false;
    }
    if not_exist.contains(&PersonPresenceField::Country) && p.0.is_some() {
        return false;
    }
    if let Some(list) = companies.company_sizes.filter(|l| !l.is_empty())
        && !p.1.is_some_and(|s| list.contains(&s))
    {
        return false;
    }
    if companies.fields_not_exist.unwrap_or_default().contains(&CompanyPresenceField::CompanySize) && p.1.is_some() {
        return false;
    }
    if let Some(list) = people.seniorities.filter(|l| !l.is_empty())
        && !p.2.iter().any(|s| list.contains(s))
    {
        return false;
    }
    if not_exist.contains(&PersonPresenceField::Seniorities) && !p.2.is_empty() {
        return false;
    }
    true
}

fn crowd() -> Vec<Person> {
    let countries = [Some("dk"), Some("se"), Some("us"), Some("de"), None, Some("us"), Some("us"), Some("gb")];
    let sizes = [Some(CompanySize::From2To10), Some(CompanySize::From51To200), None, Some(CompanySize::From1001To5000)];
    let seniorities =
        [vec![Seniority::Manager], vec![], vec![Seniority::Head, Seniority::Director], vec![Seniority::Owner]];
    (0..2000).map(|i| Person(countries[i % 8], sizes[(i / 3) % 4], seniorities[(i / 7) % 4].clone())).collect()
}

/// Probes every open part with the model's totals until the plan settles; returns the plan.
fn settle(search: &SearchBody, crowd: &[Person], rules: &Rules) -> Result<Plan, PlanError> {
    let mut plan = Plan::new(rules.window);
    let mut rounds = 0;
    while let Some(index) = plan.parts.iter().position(|p| p.stage == Stage::Probe) {
        rounds += 1;
        assert!(rounds < 10_000, "the plan does not settle");
        let body = plan.body(index, search);
        let total = crowd.iter().filter(|p| matches(&body, p)).count() as u64;
        let meta = PageMeta {
            people: total.min(1),
            total: Some(total),
            search_after: Some(format!("c{index}")),
            ..PageMeta::default()
        };
        plan.record(index, &meta, meta.people, None, search, rules)?;
    }
    Ok(plan)
}

fn rules(window: u64) -> Rules {
    Rules { window: Some(window), per_company: false, max_parts: 1000, page: 1000 }
}

/// The people of each leaf.
fn leaves(plan: &Plan, search: &SearchBody, crowd: &[Person]) -> Vec<Vec<usize>> {
    plan.leaves()
        .map(|part| {
            let body = part.slice.apply(search);
            (0..crowd.len()).filter(|&i| matches(&body, &crowd[i])).collect()
        })
        .collect()
}

#[test]
fn a_search_that_fits_is_not_split() {
    let plan = settle(&SearchBody::default(), &crowd(), &rules(5000)).unwrap();
    assert_eq!(plan.parts.len(), 1);
    assert_eq!(plan.parts[0].stage, Stage::Walk);
}

#[test]
fn parts_cover_the_search_once_each_and_fit_the_window() {
    let crowd = crowd();
    let search = SearchBody::default();
    let plan = settle(&search, &crowd, &rules(150)).unwrap();
    assert!(plan.split());
    assert!(plan.gaps.is_empty(), "{:?}", plan.gaps);
    assert!(plan.unsplittable.is_empty(), "{:?}", plan.unsplittable);
    let leaves = leaves(&plan, &search, &crowd);
    let mut seen = vec![0u32; crowd.len()];
    for (people, part) in leaves.iter().zip(plan.leaves()) {
        assert_eq!(people.len() as u64, part.total.unwrap());
        assert!(people.len() <= 150, "{} holds {}", part.slice.describe(), people.len());
        for &i in people {
            seen[i] += 1;
        }
    }
    // Everyone is in some part; with seniorities in play a person may be in two.
    assert!(seen.iter().all(|&n| n >= 1), "someone is in no part");
    // Probes: at most two per leaf.
    let leaves = plan.leaves().count() as u64;
    assert!(plan.probes <= 2 * leaves, "{} probes for {leaves} parts", plan.probes);
}

#[test]
fn single_valued_splits_are_disjoint() {
    let crowd = crowd();
    let search = SearchBody::default();
    // 2000 people, 8 country slots, missing ones included: countries and sizes suffice at 300.
    let plan = settle(&search, &crowd, &rules(300)).unwrap();
    for part in plan.leaves() {
        assert!(part.slice.0.iter().all(|(f, _)| f.single_valued()), "{}", part.slice.describe());
    }
    let mut seen = vec![0u32; crowd.len()];
    for people in leaves(&plan, &search, &crowd) {
        for i in people {
            seen[i] += 1;
        }
    }
    assert!(seen.iter().all(|&n| n == 1), "parts overlap or miss someone");
}

#[test]
fn a_search_limited_to_countries_splits_within_them() {
    let crowd = crowd();
    let search = SearchBody {
        people_filters: Some(PeopleFilters {
            countries: Some(vec!["us".into(), "dk".into(), "se".into()]),
            ..PeopleFilters::default()
        }),
        ..SearchBody::default()
    };
    let plan = settle(&search, &crowd, &rules(300)).unwrap();
    for part in plan.leaves() {
        if let Some(Cut::In(values)) = part.slice.cut(Facet::Country) {
            assert!(values.iter().all(|v| ["us", "dk", "se"].contains(&v.as_str())), "{values:?}");
        }
        assert_ne!(part.slice.cut(Facet::Country), Some(&Cut::Missing), "the search has no people without a country");
    }
    let whole = crowd.iter().filter(|p| matches(&search, p)).count();
    let covered: usize = leaves(&plan, &search, &crowd).iter().map(Vec::len).sum();
    assert_eq!(covered, whole);
}

#[test]
fn per_company_searches_split_by_company_size_only() {
    let crowd = crowd();
    let rules = Rules { per_company: true, ..rules(300) };
    let plan = settle(&SearchBody::default(), &crowd, &rules).unwrap();
    assert!(plan.split());
    for part in &plan.parts {
        assert!(part.slice.0.iter().all(|(f, _)| f.company_level()), "{}", part.slice.describe());
    }
    // 2000 people in 4 size slots (one missing): 500 each, above 300, and nothing left to split on.
    assert!(!plan.unsplittable.is_empty());
}

#[test]
fn a_pinned_search_cannot_be_split() {
    let search = SearchBody {
        people_filters: Some(PeopleFilters {
            countries: Some(vec!["us".into()]),
            seniorities: Some(vec![Seniority::Head]),
            departments: Some(vec![crate::api::body::Department::Sales]),
            ..PeopleFilters::default()
        }),
        companies_filters: Some(CompaniesFilters {
            company_sizes: Some(vec![CompanySize::From2To10]),
            ..CompaniesFilters::default()
        }),
        ..SearchBody::default()
    };
    let crowd: Vec<Person> =
        (0..500).map(|_| Person(Some("us"), Some(CompanySize::From2To10), vec![Seniority::Head])).collect();
    let plan = settle(&search, &crowd, &rules(100)).unwrap();
    assert_eq!(plan.parts.len(), 1);
    assert_eq!(plan.unsplittable, vec!["the whole search".to_owned()]);
    assert_eq!(plan.parts[0].stage, Stage::Walk, "walked as far as the API allows");
}

#[test]
fn too_many_parts_stop_before_any_probe() {
    let crowd = crowd();
    let rules = Rules { max_parts: 5, ..rules(100) };
    let mut plan = Plan::new(rules.window);
    let meta =
        PageMeta { people: 20, total: Some(crowd.len() as u64), search_after: Some("c".into()), ..PageMeta::default() };
    let error = plan.record(0, &meta, 20, None, &SearchBody::default(), &rules).unwrap_err();
    assert_eq!(error, PlanError::TooManyParts { needed: 20, window: 100, max: 5 });
    assert_eq!(plan.probes, 0);
}

#[test]
fn limits_below_the_window_keep_the_api_order() {
    let mut plan = Plan::new(Some(100));
    let meta = PageMeta { people: 1, total: Some(5000), search_after: Some("c".into()), ..PageMeta::default() };
    let turn = plan.record(0, &meta, 1, Some(80), &SearchBody::default(), &rules(100)).unwrap();
    assert_eq!(turn, Turn::Walking);
    assert!(!plan.split());
}

#[test]
fn a_walk_that_ends_short_teaches_the_window_and_splits() {
    let mut plan = Plan::new(Some(10_000));
    let search = SearchBody::default();
    let page = |people, cursor: Option<&str>| PageMeta {
        people,
        total: Some(3000),
        search_after: cursor.map(str::to_owned),
        ..PageMeta::default()
    };
    assert_eq!(plan.record(0, &page(100, Some("a")), 100, None, &search, &rules(10_000)).unwrap(), Turn::Walking);
    assert_eq!(plan.record(0, &page(900, Some("b")), 900, None, &search, &rules(10_000)).unwrap(), Turn::Walking);
    // The API stops at 2000 of 3000.
    let turn = plan.record(0, &page(1000, None), 1000, None, &search, &rules(10_000)).unwrap();
    assert!(matches!(turn, Turn::Split(_)), "{turn:?}");
    assert_eq!((plan.window, plan.window_learned), (Some(2000), true));
    assert!(!plan.complete());
}

#[test]
fn a_short_walk_teaches_a_window_even_when_none_is_configured_unless_it_missed_a_page() {
    let mut plan = Plan::new(None);
    let meta = PageMeta { people: 10, total: Some(12), search_after: None, ..PageMeta::default() };
    // A short walk that returned people teaches a window even when none was configured.
    let turn = plan
        .record(
            0,
            &meta,
            10,
            None,
            &SearchBody::default(),
            &Rules { window: None, per_company: false, max_parts: 10, page: 10 },
        )
        .unwrap();
    assert!(matches!(turn, Turn::Split(_)));
    // Fewer people than one page, and no cursor: the API's total is off, no window is to blame.
    let mut short = Plan::new(Some(10_000));
    let few = PageMeta { people: 3, total: Some(12), search_after: None, ..PageMeta::default() };
    let rules = Rules { window: Some(10_000), per_company: false, max_parts: 10, page: 10 };
    assert_eq!(short.record(0, &few, 3, None, &SearchBody::default(), &rules).unwrap(), Turn::Ended);
    assert_eq!((short.parts[0].stage.clone(), short.parts[0].shortfall()), (Stage::Short, 9));
    assert_eq!(short.window, Some(10_000));
    assert!(!short.complete());
}

#[test]
fn parts_that_do_not_add_up_are_a_gap() {
    let mut plan = Plan::new(Some(100));
    let search = SearchBody::default();
    let meta =
        |total| PageMeta { people: 1, total: Some(total), search_after: Some("c".into()), ..PageMeta::default() };
    let Turn::Split(parts) = plan.record(0, &meta(500), 1, None, &search, &rules(100)).unwrap() else {
        panic!("split")
    };
    for (n, &part) in parts.iter().enumerate() {
        // One short of the parent in all.
        let total = if n == 0 { 99 } else { (500 - 100) / (parts.len() as u64 - 1) };
        let _ = plan.record(part, &meta(total), 1, None, &search, &rules(100));
    }
    assert_eq!(plan.gaps.len(), 1, "{:?}", plan.gaps);
}

#[test]
fn slices_become_filters() {
    let slice = Slice(vec![
        (Facet::Country, Cut::NotIn(vec!["dk".into()])),
        (Facet::CompanySize, Cut::Missing),
        (Facet::Seniority, Cut::In(vec!["Head".into(), "VP".into()])),
    ]);
    let root = SearchBody {
        people_filters: Some(PeopleFilters { exclude_countries: Some(vec!["se".into()]), ..PeopleFilters::default() }),
        ..SearchBody::default()
    };
    let body = serde_json::to_value(slice.apply(&root)).unwrap();
    assert_eq!(body["peopleFilters"]["excludeCountries"], serde_json::json!(["se", "dk"]));
    assert_eq!(body["peopleFilters"]["seniorities"], serde_json::json!(["Head", "VP"]));
    assert_eq!(body["companiesFilters"]["fieldsNotExist"], serde_json::json!(["companySize"]));
    assert_eq!(slice.describe(), "country not in dk; no company size; seniority in Head, VP");
}

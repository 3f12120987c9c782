//! Growth with stable ids: person i is the same at any `--people`, so a sandbox started again with more
//! people is "the next night" of a scheduled export: people 0..N unchanged, N..M new.

use std::collections::HashSet;

use ocean_sandbox::dataset::Dataset;
use ocean_sandbox::{FieldsDefault, SandboxOptions};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::harness::{self, Server, ids, start};

const NIGHT_ONE: u64 = 1000;
const NIGHT_TWO: u64 = 5000;

async fn night(people: u64) -> Server {
    start(SandboxOptions { people, fields_default: FieldsDefault::All, ..harness::options() }).await
}

/// The bytes of each person of a page, exactly as sent.
fn raw_people(bytes: &[u8]) -> Vec<String> {
    #[derive(Deserialize)]
    struct Page<'a> {
        #[serde(borrow)]
        people: Vec<&'a RawValue>,
    }
    let page: Page<'_> = serde_json::from_slice(bytes).expect("a page");
    page.people.iter().map(|p| p.get().to_string()).collect()
}

#[tokio::test]
async fn person_i_is_byte_identical_at_any_size() {
    let (small, large) = (night(NIGHT_ONE).await, night(NIGHT_TWO).await);
    let body = json!({"size": NIGHT_ONE});
    let before = raw_people(&small.post(&body).await.bytes);
    let after = raw_people(&large.post(&body).await.bytes);
    assert_eq!(before.len() as u64, NIGHT_ONE);
    assert_eq!(before, after);
    // Hostile people are among them, so their draws are stable too.
    assert!(before.iter().any(|p| p.contains("=HYPERLINK(") || p.contains("\\r\\n")));
    // And the dataset agrees, including the lookups by id and handle.
    let (one, two) = (
        Dataset::new(harness::SEED, NIGHT_ONE, harness::HOSTILE_SHARE),
        Dataset::new(harness::SEED, NIGHT_TWO, harness::HOSTILE_SHARE),
    );
    for i in (0..NIGHT_ONE).step_by(37) {
        assert_eq!(one.person(i), two.person(i));
        assert_eq!(two.index_of_id(&one.id(i)), Some(i));
        assert_eq!(two.index_of_handle(&one.handle(i)), Some(i));
    }
    assert_eq!(one.index_of_id(&two.id(NIGHT_ONE)), None, "a new person is unknown the night before");
}

/// Walks `filters` on both nights: the second night's walk is the first night's people, in the same
/// order, plus people who did not exist the first night.
async fn grows(filters: Value) {
    let (small, large) = (night(NIGHT_ONE).await, night(NIGHT_TWO).await);
    let mut body = filters.clone();
    body["size"] = json!(700);
    body["fields"] = json!([]);
    let before = ids(&small.walk(&body).await.people);
    let after = ids(&large.walk(&body).await.people);
    assert!(!before.is_empty() && after.len() > before.len(), "{filters}: {} then {}", before.len(), after.len());
    let old: HashSet<&String> = before.iter().collect();
    let kept: Vec<String> = after.iter().filter(|id| old.contains(id)).cloned().collect();
    assert_eq!(kept, before, "{filters}: the first night's people, in order");
    let first_night = Dataset::new(harness::SEED, NIGHT_ONE, harness::HOSTILE_SHARE);
    let second_night = Dataset::new(harness::SEED, NIGHT_TWO, harness::HOSTILE_SHARE);
    for id in after.iter().filter(|id| !old.contains(id)) {
        assert_eq!(first_night.index_of_id(id), None, "{filters}: {id} existed the first night");
        assert!(second_night.index_of_id(id).is_some_and(|i| i >= NIGHT_ONE));
    }
}

#[tokio::test]
async fn an_unfiltered_walk_grows_by_new_people_only() {
    grows(json!({})).await;
}

#[tokio::test]
async fn filtered_and_lookalike_walks_grow_by_new_people_only() {
    grows(json!({"peopleFilters": {"countries": ["dk", "se", "no"], "fieldsExist": ["seniorities"]},
                 "companiesFilters": {"companySizes": ["11-50", "51-200", "201-500"]}}))
    .await;
    grows(json!({"peopleFilters": {"lookalikeLinkedinHandles": ["michael-scott-13532", "dwight-schrute"],
                                   "excludeCountries": ["us"]}}))
    .await;
}

//! Every key a job file may hold, read off the job file's own types: so a key written in the wrong table
//! (`countries` straight under `[search]`) can be pointed to where it belongs.
//!
//! serde lists a struct's fields when it refuses an unknown one, so each table's keys are found by
//! offering it a key it cannot know, and the tables under it by offering each of its keys a table (or a
//! list of tables) in turn.

use std::sync::LazyLock;

use super::decode::{JobFile, unknown_name};

/// The probe key no table has.
const PROBE: &str = "__not_a_key__";

/// Every key path of a job file (`search.peopleFilters.countries`), breadth first.
static PATHS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut paths = Vec::new();
    let mut queue: Vec<Vec<Hop>> = vec![Vec::new()];
    while let Some(at) = queue.pop() {
        let Some(keys) = keys_at(&at) else { continue };
        for key in keys {
            let mut here = at.clone();
            here.push(Hop { key: key.clone(), list: false });
            paths.push(here.iter().map(|h| h.key.as_str()).collect::<Vec<_>>().join("."));
            if keys_at(&here).is_some() {
                queue.push(here);
            } else {
                here.last_mut().expect("just pushed").list = true;
                if keys_at(&here).is_some() {
                    queue.push(here);
                }
            }
        }
    }
    paths.sort_by_key(|p| (p.matches('.').count(), p.clone()));
    paths
});

#[derive(Clone, Debug)]
struct Hop {
    key: String,
    /// The key holds a list of tables.
    list: bool,
}

/// The keys of the table at `path`, or `None` when no table can be there.
fn keys_at(path: &[Hop]) -> Option<Vec<String>> {
    let mut value = toml::Value::Table(toml::Table::from_iter([(PROBE.to_owned(), toml::Value::Integer(1))]));
    for hop in path.iter().rev() {
        let inner = if hop.list { toml::Value::Array(vec![value]) } else { value };
        value = toml::Value::Table(toml::Table::from_iter([(hop.key.clone(), inner)]));
    }
    let error = value.try_into::<JobFile>().err()?;
    let message = error.message();
    let (unknown, keys) = unknown_name(message.trim(), "field")?;
    (unknown == PROBE).then_some(keys)
}

/// Where else a key named `key` (any case) belongs, nearest first. `in_search` keeps a key written inside
/// `[search]` there (`Some(true)`), and one written in the other tables out of it (`Some(false)`): a
/// search filter is not sent to `[output]`, nor a setting into the request body.
pub(super) fn places_of(key: &str, in_search: Option<bool>) -> Vec<String> {
    PATHS
        .iter()
        .filter(|p| p.rsplit('.').next().is_some_and(|last| last.eq_ignore_ascii_case(key)))
        .filter(|p| in_search.is_none_or(|inside| p.starts_with("search.") == inside))
        .take(3)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_every_table_is_known() {
        let has = |p: &str| PATHS.iter().any(|q| q == p);
        for p in [
            "name",
            "search.size",
            "search.peopleFilters.countries",
            "search.peopleFilters.cities.country",
            "search.companiesFilters.primaryLocations.geolocation.radius",
            "search.companiesFilters.departmentHeadcountGrowth.anyOf.department",
            "seeds.column",
            "api.base_url",
            "limits.max_records",
            "output.bom",
        ] {
            assert!(has(p), "{p} missing from {:?}", *PATHS);
        }
        assert_eq!(places_of("COUNTRIES", None), vec!["search.peopleFilters.countries"]);
        assert_eq!(places_of("max_records", None), vec!["limits.max_records"]);
        assert!(places_of("max_records", Some(true)).is_empty());
        assert_eq!(places_of("countries", Some(false)), Vec::<String>::new());
    }
}

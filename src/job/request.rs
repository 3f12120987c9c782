//! The request a job sends: the job's `[search]` with the seeds merged in and every list tidied, the page
//! size held apart (it changes from request to request), and where each list item came from in the job
//! file, so that an API error about the body can point at the job key the user wrote.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::Value;

use super::seeds;
use crate::api::body::{PageSize, PeopleFilters, SearchBody};

/// Page size when the job does not set one (the API's own default, 50, would waste the daily request allowance).
pub const DEFAULT_PAGE_SIZE: i64 = 1000;

/// The body as sent, minus `size` and `searchAfter`, which the walk sets on each request.
#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    body: SearchBody,
}

impl Search {
    /// The body without page size and cursor: what decides which people match.
    pub fn body(&self) -> &SearchBody {
        &self.body
    }

    /// The body of one request.
    pub fn request(&self, size: PageSize, cursor: Option<&str>) -> SearchBody {
        SearchBody { size: Some(size), search_after: cursor.map(str::to_owned), ..self.body.clone() }
    }
}

/// The search, its page size and the provenance of its list items, from the job's `[search]` and seeds
/// (each with the job key it came from). Seeds go to `lookalikeLinkedinHandles`, every list is
/// de-duplicated, and country codes are lowercased (Ocean's documented form). On error, the span of the
/// bad handle in `[search]` (from `handle_span`) and a message.
pub(super) fn build(
    written: SearchBody,
    seeds: &[(String, String)],
    handle_span: impl Fn(usize) -> Range<usize>,
) -> Result<(Search, PageSize, Provenance), (Range<usize>, String)> {
    let as_written = serde_json::to_value(&written).expect("a search body serializes");
    let SearchBody { size, search_after: _, .. } = written;
    let mut body = SearchBody { size: None, search_after: None, ..written };
    let filters = body.people_filters.get_or_insert_with(PeopleFilters::default);
    let mut handles = Vec::new();
    for (i, raw) in filters.lookalike_linkedin_handles.take().unwrap_or_default().iter().enumerate() {
        handles.push(seeds::normalise(raw).map_err(|m| (handle_span(i), m))?);
    }
    handles.extend(seeds.iter().map(|(handle, _)| handle.clone()));
    if !handles.is_empty() {
        filters.lookalike_linkedin_handles = Some(handles);
    }
    if *filters == PeopleFilters::default() {
        body.people_filters = None;
    }
    let mut value = serde_json::to_value(&body).expect("a search body serializes");
    normalise_lists(&mut value, None);
    let mut provenance = Provenance::default();
    provenance.trace(&as_written, &value, "", seeds);
    let body = serde_json::from_value(value).expect("normalising keeps the body valid");
    let page_size = size.unwrap_or_else(|| PageSize::new(DEFAULT_PAGE_SIZE).expect("the default is in range"));
    Ok((Search { body }, page_size, provenance))
}

/// Drops repeated items from every list, keeping the first, and lowercases two-letter country codes.
fn normalise_lists(value: &mut Value, key: Option<&str>) {
    match value {
        Value::Array(items) => {
            if matches!(key, Some("countries" | "excludeCountries" | "includeCountries")) {
                for item in items.iter_mut() {
                    if let Value::String(code) = item
                        && code.len() == 2
                    {
                        *code = code.to_ascii_lowercase();
                    }
                }
            }
            seeds::dedup(items);
            items.iter_mut().for_each(|item| normalise_lists(item, None));
        }
        Value::Object(map) => map.iter_mut().for_each(|(k, v)| normalise_lists(v, Some(k))),
        _ => {}
    }
}

/// Where the items of the body's lists came from in the job, when not from the same place of `[search]`:
/// after de-duplication and with seeds merged in, `peopleFilters.countries[1]` may be the job's
/// `search.peopleFilters.countries[2]`, and a lookalike handle may come from `[seeds]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Provenance(BTreeMap<String, String>);

impl Provenance {
    /// The job key of a body location (`peopleFilters.countries[1]`), if it moved.
    pub fn get(&self, body_path: &str) -> Option<&str> {
        self.0.get(body_path).map(String::as_str)
    }

    /// The job-file key a 422 location points at: `["body","peopleFilters","countries",0]` is
    /// `search.peopleFilters.countries[0]` (`[search]` is the request body), or the seed or list item it
    /// came from when that is elsewhere.
    pub fn job_key(&self, loc: &[Value]) -> String {
        let mut path = String::new();
        let mut in_body = false;
        for (i, part) in loc.iter().enumerate() {
            match part {
                Value::String(s) if i == 0 && s == "body" => in_body = true,
                Value::String(s) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(s);
                }
                Value::Number(n) => path.push_str(&format!("[{n}]")),
                other => path.push_str(&format!(".{other}")),
            }
        }
        if !in_body {
            return path;
        }
        match self.get(&path) {
            Some(origin) => origin.to_owned(),
            None if path.is_empty() => "search".to_owned(),
            None => format!("search.{path}"),
        }
    }

    fn trace(&mut self, written: &Value, sent: &Value, path: &str, seeds: &[(String, String)]) {
        match (written, sent) {
            (Value::Object(written), Value::Object(sent)) => {
                for (key, value) in sent {
                    let inner = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                    self.trace(written.get(key).unwrap_or(&Value::Null), value, &inner, seeds);
                }
            }
            (_, Value::Array(sent)) => {
                let written = written.as_array().map(Vec::as_slice).unwrap_or_default();
                let same = |a: &Value, b: &Value| match (a, b) {
                    (Value::String(a), Value::String(b)) => {
                        a.eq_ignore_ascii_case(b) || seeds::normalise(a).as_ref() == Ok(b)
                    }
                    _ => a == b,
                };
                for (i, item) in sent.iter().enumerate() {
                    let origin = match written.iter().position(|w| same(w, item)) {
                        Some(j) => format!("search.{path}[{j}]"),
                        None => match seeds.iter().find(|(handle, _)| Some(handle.as_str()) == item.as_str()) {
                            Some((_, origin)) => origin.clone(),
                            None => continue,
                        },
                    };
                    if origin != format!("search.{path}[{i}]") {
                        self.0.insert(format!("{path}[{i}]"), origin);
                    }
                    if let Some(inner) = written.iter().find(|w| same(w, item)) {
                        self.trace(inner, item, &format!("{path}[{i}]"), seeds);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_become_job_keys() {
        let mut provenance = Provenance::default();
        provenance.0.insert("peopleFilters.countries[1]".into(), "search.peopleFilters.countries[2]".into());
        let key = |loc: Value| provenance.job_key(loc.as_array().unwrap());
        assert_eq!(
            key(serde_json::json!(["body", "peopleFilters", "seniorities", 1])),
            "search.peopleFilters.seniorities[1]"
        );
        assert_eq!(
            key(serde_json::json!(["body", "peopleFilters", "countries", 1])),
            "search.peopleFilters.countries[2]"
        );
        assert_eq!(key(serde_json::json!(["body"])), "search");
        assert_eq!(key(serde_json::json!(["header", "x-api-token"])), "header.x-api-token");
    }

    #[test]
    fn the_page_size_is_held_apart() {
        let written: SearchBody = toml::from_str("size = 20\nsearchAfter = \"x\"\n").unwrap();
        let (search, size, _) = build(written, &[], |_| 0..0).unwrap();
        assert_eq!(size.get(), 20);
        assert_eq!(search.body().size, None);
        assert_eq!(search.body().search_after, None);
        let request = search.request(PageSize::new(5).unwrap(), Some("c"));
        assert_eq!((request.size.map(|s| s.get()), request.search_after.as_deref()), (Some(5), Some("c")));
        let (_, default, _) = build(SearchBody::default(), &[], |_| 0..0).unwrap();
        assert_eq!(default.get(), DEFAULT_PAGE_SIZE);
    }
}

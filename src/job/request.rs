//! The request a job sends: the job's `[search]` with the seeds merged in and every list tidied, the page
//! size held apart (it changes from request to request), and where each list item came from in the job
//! file, so that an API error about the body can point at the job key the user wrote.

use std::collections::BTreeMap;

use serde_json::Value;

use super::decode::{Seg, dotted};
use super::{countries, seeds};
use crate::api::body::{PageSize, PeopleFilters, SearchBody};

/// Page size when the job does not set one (the API's own default, 50, would waste the daily request allowance).
pub const DEFAULT_PAGE_SIZE: i64 = 1000;

/// The body as sent, minus `size` and `searchAfter`, which the walk sets on each request.
#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    body: SearchBody,
    /// The date fields written with placeholders (`changedPositionAfter = "{date-1d}"`): field → template.
    /// The body holds the resolved values; the templates decide the fingerprints, so that a nightly job
    /// stays the same job from one night to the next.
    dates: BTreeMap<String, String>,
}

impl Search {
    /// The date fields that held placeholders, with their templates.
    pub fn date_templates(&self) -> &BTreeMap<String, String> {
        &self.dates
    }

    /// The resolved values of the date fields that held placeholders (kept in the checkpoint, so that a
    /// resume after midnight sends the same search as the pages before it).
    pub fn resolved_dates(&self) -> BTreeMap<String, String> {
        let filters = self.body.people_filters.as_ref();
        self.dates
            .keys()
            .filter_map(|field| {
                let value = filters.and_then(|f| super::dates::field(f, field).clone())?;
                Some((field.clone(), value))
            })
            .collect()
    }

    /// The search with its date fields set to `values` (from a checkpoint).
    pub fn with_dates(&self, values: &BTreeMap<String, String>) -> Search {
        let mut search = self.clone();
        if let Some(filters) = search.body.people_filters.as_mut() {
            for (field, value) in values {
                if self.dates.contains_key(field) {
                    *super::dates::field_mut(filters, field) = Some(value.clone());
                }
            }
        }
        search
    }

    /// The body as written: date fields as their templates. What the fingerprints hash.
    pub fn template_body(&self) -> SearchBody {
        let mut body = self.body.clone();
        if let Some(filters) = body.people_filters.as_mut() {
            for (field, template) in &self.dates {
                *super::dates::field_mut(filters, field) = Some(template.clone());
            }
        }
        body
    }

    /// Resolves the placeholders of the date fields as of `now`; each unknown one is an issue.
    pub(super) fn resolve_dates(&mut self, now: &jiff::ZonedDateTime, issues: &mut Vec<Issue>) {
        let Some(filters) = self.body.people_filters.as_mut() else { return };
        for field in super::dates::FIELDS {
            let slot = super::dates::field_mut(filters, field);
            let Some(template) = slot.clone().filter(|v| v.contains('{')) else { continue };
            match super::dates::fill(&template, now) {
                Ok(value) => {
                    *slot = Some(value);
                    self.dates.insert((*field).to_owned(), template);
                }
                Err(message) => issues.push((
                    vec![Seg::from("peopleFilters"), Seg::from(*field)],
                    format!("search.peopleFilters.{field}: {message}"),
                    Some(super::dates::HELP.to_owned()),
                )),
            }
        }
    }
    /// The body without page size and cursor: what decides which people match.
    pub fn body(&self) -> &SearchBody {
        &self.body
    }

    /// The body of one request.
    pub fn request(&self, size: PageSize, cursor: Option<&str>) -> SearchBody {
        SearchBody { size: Some(size), search_after: cursor.map(str::to_owned), ..self.body.clone() }
    }
}

/// A problem with a value of `[search]`: its path under `search`, the message and a hint.
pub(super) type Issue = (Vec<Seg>, String, Option<String>);

/// The search, its page size and the provenance of its list items, from the job's `[search]` and seeds
/// (each with the job key it came from). Countries become Ocean's lowercase alpha-2 codes, seeds go to
/// `lookalikeLinkedinHandles`, and every list is de-duplicated. Each value that cannot be sent (a country
/// that is none, a handle that is not one) is left out and recorded in `issues`.
pub(super) fn build(
    written: SearchBody,
    seeds: &[(String, String)],
    issues: &mut Vec<Issue>,
) -> (Search, PageSize, Provenance) {
    let written = resolve_countries(written, issues);
    let as_written = serde_json::to_value(&written).expect("a search body serializes");
    let SearchBody { size, search_after: _, .. } = written;
    let mut body = SearchBody { size: None, search_after: None, ..written };
    let filters = body.people_filters.get_or_insert_with(PeopleFilters::default);
    let mut handles = Vec::new();
    for (i, raw) in filters.lookalike_linkedin_handles.take().unwrap_or_default().iter().enumerate() {
        match seeds::normalise(raw) {
            Ok(handle) => handles.push(handle),
            Err(message) => issues.push((
                vec![Seg::from("peopleFilters"), Seg::from("lookalikeLinkedinHandles"), Seg::from(i)],
                format!("search.peopleFilters.lookalikeLinkedinHandles[{i}]: {message}"),
                Some("write a LinkedIn handle (michael-scott-13532) or a profile URL".to_owned()),
            )),
        }
    }
    handles.extend(seeds.iter().map(|(handle, _)| handle.clone()));
    if !handles.is_empty() {
        filters.lookalike_linkedin_handles = Some(handles);
    }
    if *filters == PeopleFilters::default() {
        body.people_filters = None;
    }
    let mut value = serde_json::to_value(&body).expect("a search body serializes");
    dedup_lists(&mut value);
    let mut provenance = Provenance::default();
    provenance.trace(&as_written, &value, "", seeds);
    let body = serde_json::from_value(value).expect("normalising keeps the body valid");
    let page_size = size.unwrap_or_else(|| PageSize::new(DEFAULT_PAGE_SIZE).expect("the default is in range"));
    (Search { body, dates: BTreeMap::new() }, page_size, provenance)
}

/// Keys whose values are countries: lists (`countries`, `excludeCountries`, `includeCountries`) and
/// single values (`country` of a state or a city).
const COUNTRY_LISTS: &[&str] = &["countries", "excludeCountries", "includeCountries"];

/// Every country of the body as Ocean's lowercase alpha-2 code; a value that names no country is left
/// out (from a list) or kept as written (a required single value), and recorded.
fn resolve_countries(body: SearchBody, issues: &mut Vec<Issue>) -> SearchBody {
    let mut value = serde_json::to_value(&body).expect("a search body serializes");
    let before = issues.len();
    walk_countries(&mut value, &mut Vec::new(), issues);
    if issues.len() == before && value == serde_json::to_value(&body).expect("serializes") {
        return body;
    }
    serde_json::from_value(value).expect("codes and names are both strings")
}

fn walk_countries(value: &mut Value, at: &mut Vec<Seg>, issues: &mut Vec<Issue>) {
    let check = |written: &str, at: &[Seg], issues: &mut Vec<Issue>| match countries::resolve(written) {
        Ok(code) => Some(code),
        Err(unknown) => {
            let key = format!("search.{}", dotted(at));
            issues.push((at.to_vec(), format!("{key}: `{written}` is not a country"), Some(unknown.hint())));
            None
        }
    };
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                at.push(Seg::from(key.as_str()));
                match inner {
                    Value::Array(items) if COUNTRY_LISTS.contains(&key.as_str()) => {
                        let mut kept = Vec::with_capacity(items.len());
                        for (i, item) in items.iter().enumerate() {
                            at.push(Seg::from(i));
                            match item.as_str().map(|c| check(c, at, issues)) {
                                Some(Some(code)) => kept.push(Value::from(code)),
                                Some(None) => {}
                                None => kept.push(item.clone()),
                            }
                            at.pop();
                        }
                        *items = kept;
                    }
                    Value::String(written) if key == "country" => {
                        if let Some(code) = check(written, at, issues) {
                            *written = code.to_owned();
                        }
                    }
                    other => walk_countries(other, at, issues),
                }
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                at.push(Seg::from(i));
                walk_countries(item, at, issues);
                at.pop();
            }
        }
        _ => {}
    }
}

/// Drops repeated items from every list, keeping the first.
fn dedup_lists(value: &mut Value) {
    match value {
        Value::Array(items) => {
            seeds::dedup(items);
            items.iter_mut().for_each(dedup_lists);
        }
        Value::Object(map) => map.values_mut().for_each(dedup_lists),
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
        let (search, size, _) = build(written, &[], &mut Vec::new());
        assert_eq!(size.get(), 20);
        assert_eq!(search.body().size, None);
        assert_eq!(search.body().search_after, None);
        let request = search.request(PageSize::new(5).unwrap(), Some("c"));
        assert_eq!((request.size.map(|s| s.get()), request.search_after.as_deref()), (Some(5), Some("c")));
        let (_, default, _) = build(SearchBody::default(), &[], &mut Vec::new());
        assert_eq!(default.get(), DEFAULT_PAGE_SIZE);
    }

    #[test]
    fn every_country_field_becomes_a_code() {
        let written: SearchBody = toml::from_str(
            r#"
peopleFilters = { countries = ["Denmark", "DK", "UK"], excludeCountries = ["DNK"], cities = [{ city = "Aarhus", country = "Danmark" }], states = [{ country = "USA", abbreviation = "NY" }] }
companiesFilters = { primaryLocations = { includeCountries = ["Deutschland"], excludeCountries = ["Schweiz"], includeCities = [{ city = "Bern", country = "CH" }] }, otherLocations = { includeRegions = [{ country = "Great Britain", abbreviation = "ENG" }] } }
"#,
        )
        .unwrap();
        let mut issues = Vec::new();
        let (search, _, _) = build(written, &[], &mut issues);
        assert!(issues.is_empty(), "{issues:?}");
        let body = serde_json::to_value(search.body()).unwrap();
        assert_eq!(body["peopleFilters"]["countries"], serde_json::json!(["dk", "gb"]));
        assert_eq!(body["peopleFilters"]["excludeCountries"], serde_json::json!(["dk"]));
        assert_eq!(body["peopleFilters"]["cities"][0]["country"], "dk");
        assert_eq!(body["peopleFilters"]["states"][0]["country"], "us");
        let locations = &body["companiesFilters"]["primaryLocations"];
        assert_eq!(
            (&locations["includeCountries"][0], &locations["excludeCountries"][0]),
            (&"de".into(), &"ch".into())
        );
        assert_eq!(locations["includeCities"][0]["country"], "ch");
        assert_eq!(body["companiesFilters"]["otherLocations"]["includeRegions"][0]["country"], "gb");
    }

    #[test]
    fn a_value_that_is_no_country_is_an_issue_at_its_place() {
        let written: SearchBody =
            toml::from_str("peopleFilters = { countries = [\"dk\", \"Denmrk\", \"Nordics\"] }\n").unwrap();
        let mut issues = Vec::new();
        let (search, _, _) = build(written, &[], &mut issues);
        assert_eq!(issues.len(), 2, "{issues:?}");
        assert_eq!(issues[0].0, vec![Seg::from("peopleFilters"), Seg::from("countries"), Seg::from(1)]);
        assert_eq!(issues[0].1, "search.peopleFilters.countries[1]: `Denmrk` is not a country");
        assert!(issues[0].2.as_deref().unwrap().starts_with("did you mean `dk` (Denmark)?"));
        assert_eq!(search.body().people_filters.as_ref().unwrap().countries.as_deref(), Some(&["dk".to_owned()][..]));
    }
}

//! Which people match a query, in which order, and what the response reports about its inputs
//! (lookalike seeds found or not, domains redirected or unknown). The result of a query is computed once
//! and kept in a small cache keyed by the query hash, so walking pages does not rescan the dataset.
//!
//! Semantics, chosen to be predictable for tests:
//! - an empty list is the same as no filter (as in Python, where `[]` is falsy);
//! - list filters on one field are OR (any value matches), different filters are AND;
//! - as in Elasticsearch, a person without a value never matches a filter that asks for values
//!   (`countries`, `seniorities`, `companySizes`, ...) and is kept by one that excludes values
//!   (`excludeCountries`, `excludeDepartments`);
//! - `fieldsExist` / `fieldsNotExist` ask whether a key of the person's JSON (or of its company's) exists:
//!   present, not `null` and not `[]` (Elasticsearch's `exists`). A `company: null` person has no company
//!   field at all;
//! - `jobTitleKeywords` matches whole words of `jobTitle`, case-insensitively; a keyword of several words
//!   must appear as consecutive words;
//! - lookalike results are ordered by similarity (see `Affinity`) to the found seeds (highest first, ties by index),
//!   seeds excluded; when no seed is found there are no results;
//! - `peoplePerCompany` keeps the first N people of each company domain in that order.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use crate::dataset::{self, Dataset};
use crate::profile::{self, Company, Person, Tags, Traits, Val};
use crate::query::{Keywords, Query};
use crate::vocab::{self, COUNTRIES, DOMAIN_STATUSES};

/// The ordered matches of one query and its per-query response fields.
pub(crate) struct Matches {
    order: Order,
    /// `lookalikePeopleStatuses`: (found, not found), handles as given.
    pub lookalike: Option<(Vec<String>, Vec<String>)>,
    /// `redirectMap`: domain as given → domain followed.
    pub redirects: Option<Vec<(String, String)>>,
    /// `includeDomainsStatuses`: unknown domain as given → reason.
    pub domain_statuses: Option<Vec<(String, &'static str)>>,
}

enum Order {
    /// Everyone, by index: the unfiltered query needs no list.
    All(u64),
    List(Vec<u32>),
}

impl Matches {
    pub fn total(&self) -> u64 {
        match &self.order {
            Order::All(n) => *n,
            Order::List(list) => list.len() as u64,
        }
    }

    /// Person index at `position` of the result list.
    pub fn at(&self, position: u64) -> u64 {
        match &self.order {
            Order::All(_) => position,
            Order::List(list) => u64::from(list[position as usize]),
        }
    }
}

/// A few recent queries' matches. Small, because a client walks one query at a time.
pub(crate) struct Cache {
    entries: Mutex<VecDeque<([u8; 16], Arc<Matches>)>>,
}

const CACHE_ENTRIES: usize = 16;

impl Cache {
    pub fn new() -> Self {
        Cache { entries: Mutex::new(VecDeque::with_capacity(CACHE_ENTRIES)) }
    }

    pub fn get(&self, hash: &[u8; 16]) -> Option<Arc<Matches>> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let i = entries.iter().position(|(h, _)| h == hash)?;
        let entry = entries.remove(i)?;
        let matches = entry.1.clone();
        entries.push_front(entry);
        Some(matches)
    }

    pub fn put(&self, hash: [u8; 16], matches: Arc<Matches>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(h, _)| *h != hash);
        entries.truncate(CACHE_ENTRIES - 1);
        entries.push_front((hash, matches));
    }
}

/// How much a candidate resembles the seeds, summed over seeds: 3 for the same company domain, 2 for the
/// same (non-null) country, and 1 per shared seniority and per shared department. The seeds are folded into
/// counts, so scoring a candidate costs the same for one seed or a thousand.
struct Affinity {
    companies: HashMap<u32, u32>,
    countries: [u32; 32],
    seniorities: [u32; 32],
    departments: [u32; 32],
}

impl Affinity {
    fn of(seeds: &[Traits]) -> Affinity {
        let mut a =
            Affinity { companies: HashMap::new(), countries: [0; 32], seniorities: [0; 32], departments: [0; 32] };
        for s in seeds {
            *a.companies.entry(s.company).or_default() += 1;
            if let Some(c) = s.country {
                a.countries[usize::from(c)] += 1;
            }
            for bit in 0..32 {
                a.seniorities[bit] += s.seniorities.mask() >> bit & 1;
                a.departments[bit] += s.departments.mask() >> bit & 1;
            }
        }
        a
    }

    fn score(&self, t: &Traits) -> u32 {
        let shared =
            |mask: u32, counts: &[u32; 32]| (0..32).filter(|b| mask >> b & 1 == 1).map(|b| counts[b]).sum::<u32>();
        3 * self.companies.get(&t.company).copied().unwrap_or(0)
            + 2 * t.country.map_or(0, |c| self.countries[usize::from(c)])
            + shared(t.seniorities.mask(), &self.seniorities)
            + shared(t.departments.mask(), &self.departments)
    }
}

/// `peopleFilters.fieldsExist` / `fieldsNotExist` values, the schema's enum in its order (bit i = value i).
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

/// The person fields only the full profile tells (the others are in [`Traits`]): asking for them makes a
/// scan draw every candidate's profile.
const PROFILE_FIELDS: u16 = 1 << 2 | 1 << 4 | 1 << 5 | 1 << 7 | 1 << 8 | 1 << 9 | 1 << 11;

/// The `companiesFilters.fieldsExist` / `fieldsNotExist` values a person's `company` object shows; the
/// enum's other values (description, emails, ...) are not modelled and have no effect.
const COMPANY_FIELDS: [&str; 6] = ["companySize", "logo", "name", "revenue", "industries", "technologies"];

/// Bit i set when field i of [`PERSON_FIELDS`] exists on the person as written (see `render`). `profile` is
/// needed only for the bits of [`PROFILE_FIELDS`].
fn person_fields(t: &Traits, profile: Option<&Person<'_>>) -> u16 {
    let is = |v: bool, bit: u16| if v { 1 << bit } else { 0 };
    let traits = is(t.country.is_some(), 0)
        | is(t.departments.mask() != 0, 1)
        | is(t.title.is_some(), 3)
        | 1 << 6
        | is(t.seniorities.mask() != 0, 10);
    let Some(p) = profile else { return traits };
    traits
        | is(matches!(p.first_name, Val::Is(())), 2)
        | is(matches!(p.title_english, Val::Is(())) && t.title.is_some(), 4)
        | is(matches!(p.last_name, Val::Is(())), 5)
        | is(matches!(p.location, Val::Is(_)), 7)
        | is(matches!(p.name, Val::Is(())), 8)
        | is(matches!(p.photo, Val::Is(_)), 9)
        | is(matches!(p.summary, Val::Is(_)), 11)
}

/// Bit i set when field i of [`COMPANY_FIELDS`] exists on the company as written.
fn company_fields(co: &Company) -> u8 {
    let is = |v: bool, bit: u8| if v { 1 << bit } else { 0 };
    is(co.size.is_some(), 0)
        | is(co.logo, 1)
        | 1 << 2
        | is(co.revenue.is_some(), 3)
        | is(co.industries != 0, 4)
        | is(co.technologies.is_some_and(|m| m != 0), 5)
}

/// The applied filters, compiled against the dataset's vocabularies.
struct Predicate {
    countries: Option<u32>,
    exclude_countries: u32,
    seniorities: Option<u32>,
    departments: Option<u32>,
    exclude_departments: u32,
    all_words: Vec<Vec<String>>,
    any_words: Option<Vec<Vec<String>>>,
    none_words: Vec<Vec<String>>,
    include_people: Option<HashSet<u64>>,
    exclude_people: HashSet<u64>,
    company_sizes: Option<u32>,
    /// `peopleFilters.fieldsExist` / `fieldsNotExist` as bits of [`PERSON_FIELDS`].
    person_exist: u16,
    person_not_exist: u16,
    /// `companiesFilters.fieldsExist` / `fieldsNotExist` as bits of [`COMPANY_FIELDS`].
    company_exist: u8,
    company_not_exist: u8,
    include_companies: Option<HashSet<u32>>,
    exclude_companies: HashSet<u32>,
    seeds: HashSet<u64>,
}

/// Compute the matches of a query; this scans the dataset, so run it off the async threads.
pub(crate) fn compute(query: &Query, dataset: &Dataset) -> Matches {
    let body = &query.body;
    let people = body.people_filters.as_ref();
    let companies = body.companies_filters.as_ref();
    let given = |list: Option<&Vec<String>>| list.filter(|l| !l.is_empty()).cloned();

    let mut redirects = Vec::new();
    let mut statuses = Vec::new();
    let mut resolve = |domains: &[String], report_unknown: bool| -> HashSet<u32> {
        let mut found = HashSet::new();
        for domain in domains {
            match dataset.resolve_domain(domain) {
                Some((c, canonical)) => {
                    if canonical != domain {
                        redirects.push((domain.clone(), canonical.to_string()));
                    }
                    found.insert(c);
                }
                None if report_unknown => statuses.push((domain.clone(), domain_status(domain))),
                None => {}
            }
        }
        found
    };
    let include_domains = given(companies.and_then(|c| c.include_domains.as_ref()));
    let exclude_domains = given(companies.and_then(|c| c.exclude_domains.as_ref()));
    let include_companies = include_domains.as_ref().map(|d| resolve(d, true));
    let exclude_companies = exclude_domains.as_ref().map(|d| resolve(d, false)).unwrap_or_default();

    let handles = given(people.and_then(|p| p.lookalike_linkedin_handles.as_ref()));
    let mut seeds = Vec::new();
    let lookalike = handles.map(|handles| {
        let (mut found, mut missing) = (Vec::new(), Vec::new());
        for handle in handles {
            match dataset.index_of_handle(&handle) {
                Some(i) => {
                    if !seeds.contains(&i) {
                        seeds.push(i);
                    }
                    found.push(handle);
                }
                None => missing.push(handle),
            }
        }
        (found, missing)
    });

    let ids = |list: Option<&Vec<String>>| -> Option<HashSet<u64>> {
        given(list).map(|ids| ids.iter().filter_map(|id| dataset.index_of_id(id)).collect())
    };
    let keywords = people.and_then(|p| p.job_title_keywords.as_ref());
    let phrases = |pick: fn(&Keywords) -> Option<&Vec<String>>| {
        given(keywords.and_then(pick)).map(|k| k.iter().map(|w| profile::words(w)).collect::<Vec<_>>())
    };
    let predicate = Predicate {
        countries: given(people.and_then(|p| p.countries.as_ref())).map(|c| country_mask(&c)),
        exclude_countries: given(people.and_then(|p| p.exclude_countries.as_ref())).map_or(0, |c| country_mask(&c)),
        seniorities: given(people.and_then(|p| p.seniorities.as_ref())).map(|s| enum_mask(&s, &vocab::SENIORITIES)),
        departments: given(people.and_then(|p| p.departments.as_ref())).map(|d| enum_mask(&d, &vocab::DEPARTMENTS)),
        exclude_departments: given(people.and_then(|p| p.exclude_departments.as_ref()))
            .map_or(0, |d| enum_mask(&d, &vocab::DEPARTMENTS)),
        all_words: phrases(|k| k.all_of.as_ref()).unwrap_or_default(),
        any_words: phrases(|k| k.any_of.as_ref()),
        none_words: phrases(|k| k.none_of.as_ref()).unwrap_or_default(),
        include_people: ids(people.and_then(|p| p.include_people_ids.as_ref())),
        exclude_people: ids(people.and_then(|p| p.exclude_people_ids.as_ref())).unwrap_or_default(),
        company_sizes: given(companies.and_then(|c| c.company_sizes.as_ref())).map(|s| {
            let sizes: Vec<&str> = vocab::COMPANY_SIZES.iter().map(|(name, _, _)| *name).collect();
            enum_mask(&s, &sizes)
        }),
        person_exist: bits(people.and_then(|p| p.fields_exist.as_ref()), &PERSON_FIELDS) as u16,
        person_not_exist: bits(people.and_then(|p| p.fields_not_exist.as_ref()), &PERSON_FIELDS) as u16,
        company_exist: bits(companies.and_then(|c| c.fields_exist.as_ref()), &COMPANY_FIELDS) as u8,
        company_not_exist: bits(companies.and_then(|c| c.fields_not_exist.as_ref()), &COMPANY_FIELDS) as u8,
        include_companies,
        exclude_companies,
        seeds: seeds.iter().copied().collect(),
    };

    let order = if predicate.is_everyone() && lookalike.is_none() && body.people_per_company.is_none() {
        Order::All(dataset.len())
    } else if lookalike.is_some() && seeds.is_empty() {
        Order::List(Vec::new())
    } else {
        let mut hits: Vec<(u32, u64, u32)> = Vec::new();
        let affinity = (!seeds.is_empty()).then(|| {
            let seeds: Vec<Traits> = seeds.iter().map(|&i| dataset.traits(i)).collect();
            Affinity::of(&seeds)
        });
        for i in 0..dataset.len() {
            let t = dataset.traits(i);
            if predicate.admits(&t, dataset) {
                let score = affinity.as_ref().map_or(0, |a| a.score(&t));
                hits.push((score, i, t.company));
            }
        }
        if affinity.is_some() {
            hits.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        }
        let mut per_company: HashMap<u32, u64> = HashMap::new();
        let cap = body.people_per_company.unwrap_or(u64::MAX);
        let list = hits
            .into_iter()
            .filter(|(_, _, company)| {
                let seen = per_company.entry(*company).or_default();
                *seen += 1;
                *seen <= cap
            })
            .map(|(_, i, _)| i as u32)
            .collect();
        Order::List(list)
    };
    let any_domains = include_domains.is_some() || exclude_domains.is_some();
    Matches {
        order,
        lookalike,
        redirects: any_domains.then_some(redirects),
        domain_statuses: include_domains.is_some().then_some(statuses),
    }
}

impl Predicate {
    fn is_everyone(&self) -> bool {
        self.countries.is_none()
            && self.exclude_countries == 0
            && self.seniorities.is_none()
            && self.departments.is_none()
            && self.exclude_departments == 0
            && self.all_words.is_empty()
            && self.any_words.is_none()
            && self.none_words.is_empty()
            && self.include_people.is_none()
            && self.exclude_people.is_empty()
            && self.company_sizes.is_none()
            && self.person_exist == 0
            && self.person_not_exist == 0
            && self.company_exist == 0
            && self.company_not_exist == 0
            && self.include_companies.is_none()
            && self.exclude_companies.is_empty()
    }

    fn admits(&self, t: &Traits, dataset: &Dataset) -> bool {
        let country = t.country.map_or(0, |c| 1u32 << c);
        let tags = |tags: Tags, want: Option<u32>| want.is_none_or(|w| tags.mask() & w != 0);
        if self.seeds.contains(&t.index)
            || self.countries.is_some_and(|c| c & country == 0)
            || self.exclude_countries & country != 0
            || !tags(t.seniorities, self.seniorities)
            || !tags(t.departments, self.departments)
            || t.departments.mask() & self.exclude_departments != 0
            || self.include_people.as_ref().is_some_and(|ids| !ids.contains(&t.index))
            || self.exclude_people.contains(&t.index)
            || self.include_companies.as_ref().is_some_and(|c| !c.contains(&t.company))
            || self.exclude_companies.contains(&t.company)
        {
            return false;
        }
        if let Some(sizes) = self.company_sizes {
            let size = t.company_visible.then(|| dataset.company(t.company).size).flatten();
            if size.is_none_or(|s| sizes & (1 << s) == 0) {
                return false;
            }
        }
        if self.company_exist | self.company_not_exist != 0 {
            let fields = if t.company_visible { company_fields(dataset.company(t.company)) } else { 0 };
            if fields & self.company_exist != self.company_exist || fields & self.company_not_exist != 0 {
                return false;
            }
        }
        let words: &[String] = t.title.map_or(&[], |r| &r.info().words);
        if !(self.all_words.iter().all(|k| contains_phrase(words, k))
            && self.any_words.as_ref().is_none_or(|any| any.iter().any(|k| contains_phrase(words, k)))
            && !self.none_words.iter().any(|k| contains_phrase(words, k)))
        {
            return false;
        }
        // Last, as it may draw the whole profile.
        let asked = self.person_exist | self.person_not_exist;
        if asked == 0 {
            return true;
        }
        let profile = (asked & PROFILE_FIELDS != 0).then(|| dataset.generate(t.index));
        let fields = person_fields(t, profile.as_ref());
        fields & self.person_exist == self.person_exist && fields & self.person_not_exist == 0
    }
}

/// Whether `phrase` occurs as consecutive words of `words`; a phrase without words matches nothing.
fn contains_phrase(words: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty() && words.windows(phrase.len()).any(|w| w == phrase)
}

fn country_mask(codes: &[String]) -> u32 {
    codes
        .iter()
        .filter_map(|code| COUNTRIES.iter().position(|(c, _)| c.code.eq_ignore_ascii_case(code.trim())))
        .fold(0, |m, i| m | 1 << i)
}

/// The bits of the values given (an empty or absent list: none).
fn bits(values: Option<&Vec<String>>, list: &[&str]) -> u32 {
    values.map_or(0, |v| enum_mask(v, list))
}

fn enum_mask(values: &[String], list: &[&str]) -> u32 {
    values.iter().filter_map(|v| list.iter().position(|x| x == v)).fold(0, |m, i| m | 1 << i)
}

/// Why Ocean has no data for a domain: "invalid domain" when it cannot be one, otherwise a stable pick
/// among the schema's reasons.
fn domain_status(domain: &str) -> &'static str {
    if !dataset::is_plausible_domain(domain) {
        return "invalid domain";
    }
    let h = domain.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let reasons: Vec<&str> = DOMAIN_STATUSES.iter().copied().filter(|s| *s != "invalid domain").collect();
    reasons[(h % reasons.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn schema_enum(component: &str, key: &str) -> Vec<String> {
        let schema: Value = serde_json::from_str(crate::SCHEMA).expect("the schema is JSON");
        let values = &schema["components"]["schemas"][component]["properties"][key]["items"]["enum"];
        values.as_array().expect("an enum").iter().map(|v| v.as_str().expect("a string").to_string()).collect()
    }

    #[test]
    fn presence_fields_are_the_schema_enums() {
        for key in ["fieldsExist", "fieldsNotExist"] {
            assert_eq!(schema_enum("PeopleFiltersV3", key), PERSON_FIELDS);
            let company = schema_enum("CompaniesFiltersV3", key);
            assert!(COMPANY_FIELDS.iter().all(|f| company.iter().any(|c| c == f)), "{company:?}");
        }
        let profile_only = ["firstName", "jobTitleEnglish", "lastName", "location", "name", "photo", "summary"];
        let mask = enum_mask(&profile_only.map(String::from), &PERSON_FIELDS) as u16;
        assert_eq!(mask, PROFILE_FIELDS);
    }
}

//! The facets a search can be split on, and how a cut of one facet becomes filters of the request body.
//!
//! A facet is a field every person (or their company) has at most one value of (country, company size),
//! or several (seniorities, departments). A cut keeps the people whose value is in a set, not in a set, or
//! missing. Cuts of single-valued facets split a search into disjoint parts whose totals add up; cuts of
//! multi-valued ones overlap (a person with two seniorities is in both halves), so they come last.

use serde::{Deserialize, Serialize};

use crate::api::body::{
    CompaniesFilters, CompanyPresenceField, CompanySize, Department, PeopleFilters, PersonPresenceField, SearchBody,
    Seniority,
};

/// ISO 3166-1 alpha-2 codes, lowercase, as Ocean writes countries.
pub const COUNTRY_CODES: &[&str] = &[
    "ad", "ae", "af", "ag", "ai", "al", "am", "ao", "aq", "ar", "as", "at", "au", "aw", "ax", "az", "ba", "bb", "bd",
    "be", "bf", "bg", "bh", "bi", "bj", "bl", "bm", "bn", "bo", "bq", "br", "bs", "bt", "bv", "bw", "by", "bz", "ca",
    "cc", "cd", "cf", "cg", "ch", "ci", "ck", "cl", "cm", "cn", "co", "cr", "cu", "cv", "cw", "cx", "cy", "cz", "de",
    "dj", "dk", "dm", "do", "dz", "ec", "ee", "eg", "eh", "er", "es", "et", "fi", "fj", "fk", "fm", "fo", "fr", "ga",
    "gb", "gd", "ge", "gf", "gg", "gh", "gi", "gl", "gm", "gn", "gp", "gq", "gr", "gs", "gt", "gu", "gw", "gy", "hk",
    "hm", "hn", "hr", "ht", "hu", "id", "ie", "il", "im", "in", "io", "iq", "ir", "is", "it", "je", "jm", "jo", "jp",
    "ke", "kg", "kh", "ki", "km", "kn", "kp", "kr", "kw", "ky", "kz", "la", "lb", "lc", "li", "lk", "lr", "ls", "lt",
    "lu", "lv", "ly", "ma", "mc", "md", "me", "mf", "mg", "mh", "mk", "ml", "mm", "mn", "mo", "mp", "mq", "mr", "ms",
    "mt", "mu", "mv", "mw", "mx", "my", "mz", "na", "nc", "ne", "nf", "ng", "ni", "nl", "no", "np", "nr", "nu", "nz",
    "om", "pa", "pe", "pf", "pg", "ph", "pk", "pl", "pm", "pn", "pr", "ps", "pt", "pw", "py", "qa", "re", "ro", "rs",
    "ru", "rw", "sa", "sb", "sc", "sd", "se", "sg", "sh", "si", "sj", "sk", "sl", "sm", "sn", "so", "sr", "ss", "st",
    "sv", "sx", "sy", "sz", "tc", "td", "tf", "tg", "th", "tj", "tk", "tl", "tm", "tn", "to", "tr", "tt", "tv", "tw",
    "tz", "ua", "ug", "um", "us", "uy", "uz", "va", "vc", "ve", "vg", "vi", "vn", "vu", "wf", "ws", "ye", "yt", "za",
    "zm", "zw",
];

/// A field a search can be split on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Facet {
    /// `peopleFilters.countries`: one per person.
    Country,
    /// `companiesFilters.companySizes`: one per company, so a cut keeps whole companies.
    CompanySize,
    /// `peopleFilters.seniorities`: several per person.
    Seniority,
    /// `peopleFilters.departments`: several per person.
    Department,
}

impl Facet {
    /// Whether a person has at most one value: then the parts of a cut are disjoint and their totals add up.
    pub fn single_valued(self) -> bool {
        matches!(self, Facet::Country | Facet::CompanySize)
    }

    /// Whether a cut keeps or drops whole companies (and so keeps `peoplePerCompany`'s meaning).
    pub fn company_level(self) -> bool {
        self == Facet::CompanySize
    }

    /// Whether the body can drop a set of values (an `exclude…` list), which keeps people without a value.
    fn has_exclude(self) -> bool {
        matches!(self, Facet::Country | Facet::Department)
    }

    /// The name users read.
    pub fn label(self) -> &'static str {
        match self {
            Facet::Country => "country",
            Facet::CompanySize => "company size",
            Facet::Seniority => "seniority",
            Facet::Department => "department",
        }
    }

    /// Every value the API knows, in a stable order.
    fn all_values(self) -> Vec<String> {
        match self {
            Facet::Country => COUNTRY_CODES.iter().map(|c| (*c).to_owned()).collect(),
            Facet::CompanySize => CompanySize::ALL.iter().map(|v| v.as_str().to_owned()).collect(),
            Facet::Seniority => Seniority::ALL.iter().map(|v| v.as_str().to_owned()).collect(),
            Facet::Department => Department::ALL.iter().map(|v| v.as_str().to_owned()).collect(),
        }
    }

    /// The values a search can still hold, and whether it can hold people without a value.
    pub(super) fn universe(self, body: &SearchBody) -> (Vec<String>, bool) {
        let people = body.people_filters.clone().unwrap_or_default();
        let companies = body.companies_filters.clone().unwrap_or_default();
        let names = |values: &Option<Vec<String>>| values.clone();
        let (include, exclude, exists, missing) = match self {
            Facet::Country => (
                names(&people.countries),
                people.exclude_countries.clone().unwrap_or_default(),
                has(&people.fields_exist, PersonPresenceField::Country),
                has(&people.fields_not_exist, PersonPresenceField::Country),
            ),
            Facet::CompanySize => (
                companies.company_sizes.as_ref().map(|v| v.iter().map(|s| s.as_str().to_owned()).collect()),
                Vec::new(),
                has(&companies.fields_exist, CompanyPresenceField::CompanySize),
                has(&companies.fields_not_exist, CompanyPresenceField::CompanySize),
            ),
            Facet::Seniority => (
                people.seniorities.as_ref().map(|v| v.iter().map(|s| s.as_str().to_owned()).collect()),
                Vec::new(),
                has(&people.fields_exist, PersonPresenceField::Seniorities),
                has(&people.fields_not_exist, PersonPresenceField::Seniorities),
            ),
            Facet::Department => (
                people.departments.as_ref().map(|v| v.iter().map(|s| s.as_str().to_owned()).collect()),
                people
                    .exclude_departments
                    .as_ref()
                    .map(|v| v.iter().map(|s| s.as_str().to_owned()).collect())
                    .unwrap_or_default(),
                has(&people.fields_exist, PersonPresenceField::Departments),
                has(&people.fields_not_exist, PersonPresenceField::Departments),
            ),
        };
        if missing {
            // Only people without a value: nothing to split on.
            return (Vec::new(), true);
        }
        let empty_list_is_no_filter = include.filter(|list| !list.is_empty());
        match empty_list_is_no_filter {
            Some(list) => (list.into_iter().filter(|v| !exclude.contains(v)).collect(), false),
            None => (self.all_values().into_iter().filter(|v| !exclude.contains(v)).collect(), !exists),
        }
    }
}

fn has<T: PartialEq>(list: &Option<Vec<T>>, item: T) -> bool {
    list.as_ref().is_some_and(|list| list.contains(&item))
}

/// What a part keeps of one facet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Cut {
    /// People whose value is one of these.
    In(Vec<String>),
    /// People whose value is none of these, people without a value included.
    NotIn(Vec<String>),
    /// People without a value.
    Missing,
}

impl Cut {
    /// Splits this cut of `facet` within `universe` (the values the search allows, and whether it allows
    /// missing ones) in two or three parts that together keep the same people. `None` when the cut keeps
    /// a single value (or only the missing ones): nothing is left to split on.
    pub(super) fn split(this: Option<&Cut>, facet: Facet, universe: &(Vec<String>, bool)) -> Option<Vec<Cut>> {
        let (values, missing_allowed) = universe;
        let halves = |values: &[String]| {
            let (a, b) = values.split_at(values.len() / 2);
            (a.to_vec(), b.to_vec())
        };
        match this {
            None | Some(Cut::NotIn(_)) => {
                let excluded: &[String] = match this {
                    Some(Cut::NotIn(excluded)) => excluded,
                    _ => &[],
                };
                let missing = *missing_allowed;
                let rest: Vec<String> = values.iter().filter(|v| !excluded.contains(v)).cloned().collect();
                match rest.len() {
                    0 => None,
                    1 if !missing => None,
                    1 => Some(vec![Cut::In(rest), Cut::Missing]),
                    _ => {
                        let (a, b) = halves(&rest);
                        if facet.has_exclude() && missing {
                            let mut more = excluded.to_vec();
                            more.extend(a.iter().cloned());
                            Some(vec![Cut::In(a), Cut::NotIn(more)])
                        } else if missing {
                            Some(vec![Cut::In(a), Cut::In(b), Cut::Missing])
                        } else {
                            Some(vec![Cut::In(a), Cut::In(b)])
                        }
                    }
                }
            }
            Some(Cut::In(values)) if values.len() >= 2 => {
                let (a, b) = halves(values);
                Some(vec![Cut::In(a), Cut::In(b)])
            }
            Some(Cut::In(_) | Cut::Missing) => None,
        }
    }

    /// `country in dk, se`, `country not in dk`, `no country`.
    pub fn describe(&self, facet: Facet) -> String {
        let list = |values: &[String]| {
            if values.len() <= 6 {
                values.join(", ")
            } else {
                format!("{}, … ({} values)", values[..4].join(", "), values.len())
            }
        };
        match self {
            Cut::In(values) => format!("{} in {}", facet.label(), list(values)),
            Cut::NotIn(values) => format!("{} not in {}", facet.label(), list(values)),
            Cut::Missing => format!("no {}", facet.label()),
        }
    }

    /// Adds this cut to a request body.
    pub(super) fn apply(&self, facet: Facet, body: &mut SearchBody) {
        let people = || PeopleFilters::default();
        let companies = || CompaniesFilters::default();
        match (facet, self) {
            (Facet::Country, Cut::In(values)) => {
                body.people_filters.get_or_insert_with(people).countries = Some(values.clone());
            }
            (Facet::Country, Cut::NotIn(values)) => {
                let filters = body.people_filters.get_or_insert_with(people);
                extend(filters.exclude_countries.get_or_insert_with(Vec::new), values.iter().cloned());
            }
            (Facet::Country, Cut::Missing) => {
                let filters = body.people_filters.get_or_insert_with(people);
                extend(filters.fields_not_exist.get_or_insert_with(Vec::new), [PersonPresenceField::Country]);
            }
            (Facet::CompanySize, Cut::In(values)) => {
                body.companies_filters.get_or_insert_with(companies).company_sizes =
                    Some(parse_all(values, CompanySize::ALL));
            }
            (Facet::CompanySize, Cut::Missing) => {
                let filters = body.companies_filters.get_or_insert_with(companies);
                extend(filters.fields_not_exist.get_or_insert_with(Vec::new), [CompanyPresenceField::CompanySize]);
            }
            (Facet::Seniority, Cut::In(values)) => {
                body.people_filters.get_or_insert_with(people).seniorities = Some(parse_all(values, Seniority::ALL));
            }
            (Facet::Seniority, Cut::Missing) => {
                let filters = body.people_filters.get_or_insert_with(people);
                extend(filters.fields_not_exist.get_or_insert_with(Vec::new), [PersonPresenceField::Seniorities]);
            }
            (Facet::Department, Cut::In(values)) => {
                body.people_filters.get_or_insert_with(people).departments = Some(parse_all(values, Department::ALL));
            }
            (Facet::Department, Cut::NotIn(values)) => {
                let filters = body.people_filters.get_or_insert_with(people);
                extend(filters.exclude_departments.get_or_insert_with(Vec::new), parse_all(values, Department::ALL));
            }
            (Facet::Department, Cut::Missing) => {
                let filters = body.people_filters.get_or_insert_with(people);
                extend(filters.fields_not_exist.get_or_insert_with(Vec::new), [PersonPresenceField::Departments]);
            }
            // Facets without an exclude list are never cut that way (see `Cut::split`).
            (Facet::CompanySize | Facet::Seniority, Cut::NotIn(_)) => {
                unreachable!("{facet:?} has no exclude filter")
            }
        }
    }
}

/// Appends the items not in the list yet.
fn extend<T: PartialEq>(list: &mut Vec<T>, items: impl IntoIterator<Item = T>) {
    for item in items {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

/// The enum values named by `names` (all of them come from `all`'s own strings).
fn parse_all<T: Copy + WireName>(names: &[String], all: &[T]) -> Vec<T> {
    names.iter().filter_map(|name| all.iter().find(|v| v.wire() == name).copied()).collect()
}

/// An enum with wire strings.
trait WireName {
    fn wire(&self) -> &'static str;
}

impl WireName for CompanySize {
    fn wire(&self) -> &'static str {
        self.as_str()
    }
}
impl WireName for Seniority {
    fn wire(&self) -> &'static str {
        self.as_str()
    }
}
impl WireName for Department {
    fn wire(&self) -> &'static str {
        self.as_str()
    }
}

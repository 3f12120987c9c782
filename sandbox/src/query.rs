//! A validated search body as the sandbox reads it: page size, cursor, field selection, the filters it
//! applies, and the query hash that binds cursors to their query.

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::dataset::Dataset;

/// The parts of `PublicSearchPeopleBodyV3` the sandbox acts on. Everything else was validated and is
/// accepted without effect.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Body {
    pub size: Option<u64>,
    pub search_after: Option<String>,
    pub fields: Option<Vec<String>>,
    pub people_per_company: Option<u64>,
    pub people_filters: Option<PeopleFilters>,
    pub companies_filters: Option<CompaniesFilters>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PeopleFilters {
    pub lookalike_linkedin_handles: Option<Vec<String>>,
    pub countries: Option<Vec<String>>,
    pub exclude_countries: Option<Vec<String>>,
    pub seniorities: Option<Vec<String>>,
    pub departments: Option<Vec<String>>,
    pub exclude_departments: Option<Vec<String>>,
    pub job_title_keywords: Option<Keywords>,
    pub include_people_ids: Option<Vec<String>>,
    pub exclude_people_ids: Option<Vec<String>>,
    pub fields_exist: Option<Vec<String>>,
    pub fields_not_exist: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Keywords {
    pub all_of: Option<Vec<String>>,
    pub any_of: Option<Vec<String>>,
    pub none_of: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompaniesFilters {
    pub company_sizes: Option<Vec<String>>,
    pub include_domains: Option<Vec<String>>,
    pub exclude_domains: Option<Vec<String>>,
    pub fields_exist: Option<Vec<String>>,
    pub fields_not_exist: Option<Vec<String>>,
}

/// Default page size of the schema.
pub const DEFAULT_SIZE: u64 = 50;

pub(crate) struct Query {
    pub body: Body,
    /// Identifies the result list: the dataset plus every body key except `size`, `searchAfter` and
    /// `fields`, which change pages and columns but not which people match or in what order.
    pub hash: [u8; 16],
}

impl Query {
    /// From a body that passed validation (so the types are right; unknown shapes cannot occur).
    pub fn new(checked: Value, dataset: &Dataset) -> Result<Query, serde_json::Error> {
        let hash = query_hash(&checked, dataset);
        Ok(Query { body: serde_json::from_value(checked)?, hash })
    }

    pub fn size(&self) -> u64 {
        self.body.size.unwrap_or(DEFAULT_SIZE)
    }

    /// Short form of the hash for the request log.
    pub fn short_hash(&self) -> String {
        hex::encode(&self.hash[..6])
    }
}

fn query_hash(checked: &Value, dataset: &Dataset) -> [u8; 16] {
    let mut canonical = String::new();
    if let Value::Object(map) = checked {
        let rest: serde_json::Map<String, Value> = map
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "size" | "searchAfter" | "fields"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        write_canonical(&Value::Object(rest), &mut canonical);
    }
    let mut h = Sha256::new();
    h.update(b"ocean-export sandbox query v1\0");
    h.update(dataset.seed().to_le_bytes());
    h.update(dataset.len().to_le_bytes());
    h.update(dataset.hostile_share().to_bits().to_le_bytes());
    h.update(canonical.as_bytes());
    let digest = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// Keys sorted and `null` members dropped (null means "not set"), so equivalent bodies hash alike.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k).collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

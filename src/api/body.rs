//! Typed request body of `POST /v3/search/people` (`PublicSearchPeopleBodyV3` and everything it references),
//! mirroring Ocean's published schema: unknown keys, bad enum values and out-of-range numbers fail to deserialize.
//!
//! STUB: being completed.

use serde::{Deserialize, Serialize};

/// `PublicSearchPeopleBodyV3`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SearchBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub people_filters: Option<PeopleFilters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_after: Option<String>,
}

/// `PeopleFiltersV3`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PeopleFilters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookalike_linkedin_handles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub countries: Option<Vec<String>>,
}

//! The API contract: wire types of `POST /v3/search/people` and one HTTP request to it.

pub mod body;

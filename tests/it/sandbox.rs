//! Sandbox behaviour over real HTTP, one submodule per point of the issue. Ground truth comes from
//! `ocean_sandbox::dataset` (person i as JSON) and is filtered here with the tests' own reading of the filters,
//! not with the server's code.

mod auth;
mod binary;
mod credits;
mod dataset;
mod facets;
mod faults;
mod filters;
mod growth;
mod harness;
mod limits;
mod log;
mod pagination;
mod schema;
mod validation;
mod window;

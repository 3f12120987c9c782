//! The API contract: wire types of `POST /v3/search/people`, one HTTP request to it, and its responses.

pub mod body;
pub mod client;
pub mod error;
pub mod page;
pub mod person;
pub mod token;

pub use client::{Balance, Body, Client, Endpoint, EndpointError};
pub use error::{ApiError, Detail, ValidationItem};
pub use page::{PageError, PageMeta, PageParser, PersonSink, SeedStatuses};
pub use person::Person;
pub use token::Token;

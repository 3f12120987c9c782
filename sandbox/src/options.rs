//! Every knob of the sandbox: the `ocean-export sandbox` flag set, which is also the library
//! configuration, and the text of `--help` that says which filters have an effect.

use std::net::SocketAddr;
use std::path::PathBuf;

/// How the last page of a walk is signalled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndStyle {
    /// `searchAfter` is left out of the last page.
    #[default]
    Absent,
    /// `searchAfter` is `null` on the last page.
    Null,
    /// The last full page carries a cursor, and one more request returns an empty page (still with a cursor).
    EmptyPage,
}

/// What a `searchAfter` that is garbage, from another query, or past the end gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum BadCursor {
    /// 422 with a `value_error` item at `["body","searchAfter"]`.
    #[default]
    Reject,
    /// 200 with no people, as if the walk had ended.
    EmptyPage,
}

/// Which fields a person carries when the body has no `fields`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FieldsDefault {
    /// The default list of Ocean's schema, as the real API does (no `email`, `phone`, `inferredEmails`,
    /// `relevance`; company limited to revenue, employeeCountOcean, industries, technologies, fundingRound).
    #[default]
    Schema,
    /// Every field (an older docs version: "all fields are returned").
    All,
}

/// How a request past the result window (`--window N`) is answered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum WindowStyle {
    /// The page that reaches position N carries no `searchAfter`: the walk ends early while `total` says
    /// more. A cursor at or past N (from elsewhere) gets an empty page without a cursor.
    #[default]
    End,
    /// The page that reaches N carries a cursor as usual; a request whose cursor is at or past N gets a
    /// 422 `value_error` at `["body","searchAfter"]` naming the limit.
    Reject,
    /// The page that reaches N carries a cursor as usual; a request whose cursor is at or past N gets a
    /// 200 with no people and no cursor.
    Empty,
}

/// Whether `searchAfter` may be combined with `peoplePerCompany`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PpcCursor {
    /// Pages of a `peoplePerCompany` query follow their cursors like any other.
    #[default]
    Allow,
    /// A body with both gets a 422 `value_error` at `["body","searchAfter"]` (as Ocean's docs reportedly
    /// say: "searchAfter cannot be combined with peoplePerCompany").
    Reject,
}

const APPLIED: &str = "\
Filters applied to the synthetic people, with the semantics an Elasticsearch-
backed search has: different filters combine with AND, the values of one list
with OR, and a field exists when its key is present and neither null nor [].
Every other field of the schema is validated and accepted without effect; an
empty list is the same as no filter.
  peopleFilters.countries: the person's country is one of them (people
    without a country never match); .excludeCountries: it is none of them
    (people without a country are kept)
  peopleFilters.seniorities, .departments: any value in common (people with
    none never match); .excludeDepartments: no value in common (people with
    none are kept)
  peopleFilters.fieldsExist: every field listed exists; .fieldsNotExist: none
    of them exists; for every value of the enum (country, departments,
    firstName, jobTitle, jobTitleEnglish, lastName, linkedinUrl, location,
    name, photo, seniorities, summary)
  peopleFilters.jobTitleKeywords (allOf, anyOf, noneOf): whole words of
    jobTitle, case-insensitive
  peopleFilters.includePeopleIds, .excludePeopleIds: the person's id
  peopleFilters.lookalikeLinkedinHandles: ordered by similarity to the seeds
    found (seeds left out); lookalikePeopleStatuses lists found and not found
  companiesFilters.companySizes: company.companySize (people whose company is
    null or has no size never match)
  companiesFilters.fieldsExist, .fieldsNotExist: companySize, logo, name,
    revenue, industries and technologies of the person's company (a null
    company has none); the enum's other values have no effect
  companiesFilters.includeDomains, .excludeDomains: the person's domain;
    aliases (www., case, another top-level domain) are followed and listed in
    redirectMap, unknown includeDomains in includeDomainsStatuses
  peoplePerCompany: the first N people of each company domain
  size, searchAfter, fields: page size, cursor, keys returned (without
    fields: the schema's default list, or every key with --fields-default all)

So fieldsNotExist names the complement of a facet: countries [dk, se] plus
countries [every other code] plus fieldsNotExist [country] is everyone once,
and total always equals the number of people a walk returns (without a
--window).

People 0-3 of every dataset are michael-scott-13532, dwight-schrute,
jim-halpert-5343 and toby-67832 (Ocean's documentation examples).";

/// Every knob of the sandbox. The same struct is the `ocean-export sandbox` flag set and the
/// library configuration (`SandboxOptions::default()` is what `run --sandbox` uses).
#[derive(Clone, Debug, clap::Args)]
#[command(after_help = APPLIED)]
pub struct SandboxOptions {
    /// Address to listen on. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub bind: SocketAddr,
    /// Number of synthetic people.
    #[arg(long, default_value_t = 20_000)]
    pub people: u64,
    /// Dataset seed: person i is a pure function of (seed, i).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// An accepted API token (repeatable). Without any, `sandbox-token` is accepted. `NAME@ACCOUNT` accepts
    /// NAME and puts it in ACCOUNT: the tokens of one account share its per-minute and daily limits. A plain
    /// NAME is an account of its own.
    #[arg(long = "token", value_name = "T")]
    pub tokens: Vec<String>,
    /// Share of people carrying hostile values (0..1).
    #[arg(long, default_value_t = 0.2)]
    pub hostile_share: f64,
    /// How the end of results is signalled.
    #[arg(long, value_enum, default_value_t = EndStyle::Absent)]
    pub end_style: EndStyle,
    /// Bug mode: from this page on (0-based page number of a walk), return the cursor that was sent, forever.
    /// As a bare flag: from page 1.
    #[arg(long, value_name = "PAGE", num_args = 0..=1, default_missing_value = "1")]
    pub repeat_cursor: Option<u64>,
    /// What a garbage, foreign or stale `searchAfter` gets.
    #[arg(long, value_enum, default_value_t = BadCursor::Reject)]
    pub bad_cursor: BadCursor,
    /// Result window: only the first N people of a query can be paged to (a page that would cross N is cut
    /// at N); `total` stays the true count. Off when absent; the real API probably has 10000.
    #[arg(long, value_name = "N")]
    pub window: Option<u64>,
    /// How a walk meets the window: `end` (the page reaching N has no cursor), `reject` (a cursor at or
    /// past N gets a 422) or `empty` (a cursor at or past N gets an empty page without a cursor).
    #[arg(long, value_enum, default_value_t = WindowStyle::End)]
    pub window_style: WindowStyle,
    /// Whether a body may combine `peoplePerCompany` with `searchAfter` (`reject`: 422).
    #[arg(long, value_enum, default_value_t = PpcCursor::Allow)]
    pub ppc_cursor: PpcCursor,
    /// Credit balance. Unlimited when absent (the balance endpoint then shows 1000000000).
    #[arg(long)]
    pub credits: Option<f64>,
    /// Credits charged per person returned.
    #[arg(long, default_value_t = 0.2)]
    pub price: f64,
    /// Persist the balance to this JSON file, so a restarted sandbox continues it. If the file exists, its
    /// balance wins over `--credits`.
    #[arg(long, value_name = "PATH")]
    pub credits_file: Option<PathBuf>,
    /// Requests per minute per account (a plain token is its own account). Off when absent.
    #[arg(long)]
    pub rpm: Option<u32>,
    /// Requests per day per account (resets at midnight UTC). Off when absent.
    #[arg(long)]
    pub daily_limit: Option<u32>,
    /// Probability that a search request gets a 429 with Retry-After.
    #[arg(long, default_value_t = 0.0)]
    pub fault_429: f64,
    /// `Retry-After` of injected 429s, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    pub fault_retry_after: u64,
    /// Probability that a search request gets a 500, 502, 503 or 504 with an HTML body.
    #[arg(long = "fault-5xx", default_value_t = 0.0)]
    pub fault_5xx: f64,
    /// Probability that a search request's connection closes before any response.
    #[arg(long, default_value_t = 0.0)]
    pub fault_reset: f64,
    /// Probability that a search request that would be served gets a 200 whose body is cut short.
    #[arg(long, default_value_t = 0.0)]
    pub fault_truncate: f64,
    /// Seed of the fault and jitter dice (rolled per request, from the request number).
    #[arg(long, default_value_t = 0)]
    pub fault_seed: u64,
    /// Fixed latency added before every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Random extra latency, uniform in 0..=jitter, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub jitter_ms: u64,
    /// Append a JSON line per request to this file (never the token).
    #[arg(long, value_name = "PATH")]
    pub log: Option<PathBuf>,
    /// Check the body against the schema before the token (FastAPI checks the token first).
    #[arg(long)]
    pub validate_before_auth: bool,
    /// Which fields a person carries when the body has no `fields`: the schema's default list (no email,
    /// no phone), or all.
    #[arg(long, value_enum, default_value_t = FieldsDefault::Schema)]
    pub fields_default: FieldsDefault,
    /// Largest accepted request body, in bytes (larger gets 413).
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_body: usize,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            options: SandboxOptions,
        }
        Wrapper::parse_from(["sandbox"]).options
    }
}

/// The token accepted when no `--token` is given.
pub const DEFAULT_TOKEN: &str = "sandbox-token";

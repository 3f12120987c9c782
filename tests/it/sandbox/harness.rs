//! Shared helpers: start a small sandbox, send requests, walk every page of a query, and compute the
//! ground truth of a query from the dataset.

use std::sync::OnceLock;

use ocean_sandbox::dataset::Dataset;
use ocean_sandbox::{self as sandbox, EndStyle, SEARCH_PATH, Sandbox, SandboxOptions};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

pub const SEED: u64 = 7;
pub const PEOPLE: u64 = 3000;
pub const HOSTILE_SHARE: f64 = 0.2;

/// The test dataset: small, so a debug build walks it quickly.
pub fn options() -> SandboxOptions {
    SandboxOptions { people: PEOPLE, seed: SEED, ..SandboxOptions::default() }
}

/// Every person of the test dataset as JSON, computed once per test binary.
pub fn people() -> &'static [Value] {
    static PEOPLE_JSON: OnceLock<Vec<Value>> = OnceLock::new();
    PEOPLE_JSON.get_or_init(|| {
        let dataset = Dataset::new(SEED, PEOPLE, HOSTILE_SHARE);
        (0..PEOPLE).map(|i| dataset.person(i)).collect()
    })
}

/// The `id`s of people, in order.
pub fn ids(people: &[Value]) -> Vec<String> {
    people.iter().map(|p| p["id"].as_str().expect("id").to_string()).collect()
}

pub struct Server {
    pub sandbox: Sandbox,
    pub client: reqwest::Client,
}

/// Start a sandbox and a client; the client opens a new connection per request, so a dropped connection
/// never affects the next request.
pub async fn start(options: SandboxOptions) -> Server {
    let sandbox = sandbox::start(options).await.expect("sandbox starts");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("client");
    Server { sandbox, client }
}

/// A response, read whole.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `detail` of an error body.
    pub fn detail(&self) -> Value {
        self.json()["detail"].clone()
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.base_url())
    }

    /// `POST /v3/search/people` without any token.
    pub fn search(&self) -> reqwest::RequestBuilder {
        self.client.post(self.url(SEARCH_PATH))
    }

    /// A search with the sandbox's token in the header.
    pub async fn post(&self, body: &Value) -> Reply {
        self.send(self.search().header("x-api-token", self.sandbox.token()).json(body)).await
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("response");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("whole body").to_vec();
        Reply { status, headers, bytes }
    }

    /// `GET /v2/credits/balance` with the sandbox's token.
    pub async fn balance(&self) -> Value {
        let reply = self
            .send(self.client.get(self.url(sandbox::BALANCE_PATH)).header("x-api-token", self.sandbox.token()))
            .await;
        assert_eq!(reply.status, 200);
        reply.json()
    }

    /// Follow `searchAfter` from the first page to the end, as a careful client does: stop when the
    /// cursor is absent or null, or when a page is empty. Every page must be a 200.
    pub async fn walk(&self, body: &Value) -> Walk {
        let size = body["size"].as_u64().unwrap_or(50);
        let mut pages: Vec<Value> = Vec::new();
        let mut people = Vec::new();
        let mut cursor: Option<String> = None;
        // A few pages more than the first page's total needs, in case a walk does not end.
        while pages.first().is_none_or(|first| (pages.len() as u64) < first["total"].as_u64().unwrap_or(0) / size + 5) {
            let mut request = body.clone();
            if let Some(c) = &cursor {
                request["searchAfter"] = json!(c);
            }
            let reply = self.post(&request).await;
            assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.bytes));
            let mut page = reply.json();
            let page_people = page["people"].as_array().cloned().unwrap_or_default();
            page["people"] = json!(page_people.len());
            let next = page.get("searchAfter").and_then(Value::as_str);
            cursor = next.map(str::to_string);
            let done = page_people.is_empty() || cursor.is_none();
            people.extend(page_people);
            pages.push(page);
            if done {
                return Walk { pages, people };
            }
        }
        panic!("the walk did not end");
    }
}

/// All pages of a query: each page with `people` replaced by its count, and the people in order.
pub struct Walk {
    pub pages: Vec<Value>,
    pub people: Vec<Value>,
}

/// The words of a text, as the sandbox documents keyword matching: runs of letters and digits, lowercase.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Whether a job title contains the keyword as whole consecutive words.
pub fn title_has(person: &Value, keyword: &str) -> bool {
    let title = words(person["jobTitle"].as_str().unwrap_or_default());
    let keyword = words(keyword);
    !keyword.is_empty() && title.windows(keyword.len()).any(|w| w == keyword.as_slice())
}

/// The strings of a JSON list (empty for null or absent).
pub fn strings(value: &Value) -> Vec<&str> {
    value.as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// Whether a person has any of the values in the list field `key`.
pub fn any_of(person: &Value, key: &str, wanted: &[&str]) -> bool {
    strings(&person[key]).iter().any(|v| wanted.contains(v))
}

/// Whether a JSON key exists as a search engine sees it: present, not `null`, not `[]`.
pub fn exists(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Array(items)) => !items.is_empty(),
        Some(_) => true,
    }
}

/// The `fields` a body without `fields` gets, as Ocean's published schema describes them (read from the
/// description of `PublicSearchPeopleBodyV3.fields`, not from the sandbox's code).
pub fn schema_default_fields() -> Vec<String> {
    let schema: Value = serde_json::from_str(sandbox::SCHEMA).expect("the schema is JSON");
    let text = schema["components"]["schemas"]["PublicSearchPeopleBodyV3"]["properties"]["fields"]["description"]
        .as_str()
        .expect("a description");
    let (_, list) = text.split_once("default fields are returned:").expect("the default list");
    list.split('`').skip(1).step_by(2).map(str::to_string).collect()
}

/// A person as a body without `fields` gets it: only the schema's default keys, and in `company` only the
/// keys the default `company.*` selectors name (`company.peopleCount` is `employeeCountOcean`,
/// `company.latestFundingRound` is `fundingRound`: a quirk of the schema).
pub fn with_default_fields(person: &Value) -> Value {
    let fields = schema_default_fields();
    let mut out = serde_json::Map::new();
    for (key, value) in person.as_object().expect("a person") {
        if key == "company" {
            let selected: Vec<&str> = fields
                .iter()
                .filter_map(|f| f.strip_prefix("company."))
                .map(|f| match f {
                    "peopleCount" => "employeeCountOcean",
                    "latestFundingRound" => "fundingRound",
                    other => other,
                })
                .collect();
            let company = match value.as_object() {
                Some(company) => Value::Object(
                    company
                        .iter()
                        .filter(|(k, _)| selected.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                None => value.clone(),
            };
            out.insert(key.clone(), company);
        } else if fields.contains(key) {
            out.insert(key.clone(), value.clone());
        }
    }
    Value::Object(out)
}

/// The three end styles, to run a test in each.
pub const END_STYLES: [EndStyle; 3] = [EndStyle::Absent, EndStyle::Null, EndStyle::EmptyPage];

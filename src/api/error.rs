//! What can go wrong with one request, classified by what the caller should do about it.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// One item of a 422 `detail` array (FastAPI / Pydantic v2 shape).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ValidationItem {
    #[serde(default)]
    pub loc: Vec<serde_json::Value>,
    #[serde(default)]
    pub msg: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub input: Option<serde_json::Value>,
}

impl ValidationItem {
    /// The item's location as the API wrote it: `body.peopleFilters.countries[0]`.
    pub fn location(&self) -> String {
        let mut out = String::new();
        for part in &self.loc {
            match part {
                serde_json::Value::String(s) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(s);
                }
                serde_json::Value::Number(n) => out.push_str(&format!("[{n}]")),
                other => out.push_str(&format!(".{other}")),
            }
        }
        out
    }

    /// `message (type) [input: …]`, without the location.
    pub fn describe(&self) -> String {
        let mut out = self.msg.clone();
        if !self.kind.is_empty() {
            out.push_str(&format!(" ({})", self.kind));
        }
        if let Some(input) = &self.input {
            let shown: String = input.to_string().chars().take(80).collect();
            out.push_str(&format!(" [input: {shown}]"));
        }
        out
    }
}

impl fmt::Display for ValidationItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.describe())
    }
}

/// The API's `detail`: a string for most errors, a list of items for 422.
#[derive(Clone, Debug, PartialEq)]
pub enum Detail {
    Text(String),
    Items(Vec<ValidationItem>),
}

impl Detail {
    /// Reads `detail` from an error body, falling back to a short, single-line excerpt of a non-JSON body
    /// (HTML error pages from proxies, say).
    pub fn from_body(body: &[u8]) -> Detail {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Items { detail: Vec<ValidationItem> },
            Text { detail: String },
            Other { detail: serde_json::Value },
        }
        match serde_json::from_slice::<Wire>(body) {
            Ok(Wire::Items { detail }) => Detail::Items(detail),
            Ok(Wire::Text { detail }) => Detail::Text(detail),
            Ok(Wire::Other { detail }) => Detail::Text(detail.to_string()),
            Err(_) => Detail::Text(excerpt(body)),
        }
    }
}

impl Detail {
    /// Replaces every occurrence of `secret` in the detail's text with `[redacted]`.
    pub fn redact(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let scrub = |text: &mut String| {
            if text.contains(secret) {
                *text = text.replace(secret, "[redacted]");
            }
        };
        match self {
            Detail::Text(text) => scrub(text),
            Detail::Items(items) => {
                for item in items {
                    scrub(&mut item.msg);
                    if let Some(input) = &item.input
                        && input.to_string().contains(secret)
                    {
                        item.input = Some(serde_json::Value::String("[redacted]".to_owned()));
                    }
                }
            }
        }
    }
}

impl fmt::Display for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Detail::Text(text) => f.write_str(text),
            Detail::Items(items) => {
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "  - {item}")?;
                }
                Ok(())
            }
        }
    }
}

/// A short, printable, single-line excerpt of a body that is not the JSON we expected.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(2048)]);
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if in_tag => {}
            c if c.is_whitespace() || c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    let collapsed = out.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() { "(empty body)".to_owned() } else { collapsed.chars().take(200).collect() }
}

/// Why one request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A 4xx other than 402 and 429: the request itself is wrong. Never retried.
    #[error("the API rejected the request with {status}:\n{detail}")]
    Rejected { status: reqwest::StatusCode, detail: Detail },
    /// 402.
    #[error("out of credits (402): {detail}")]
    OutOfCredits { detail: Detail },
    /// 429, from the API's own limits.
    #[error("rate limited (429){}: {detail}", retry_after.map(|d| format!(", asked to wait {}s", d.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration>, detail: Detail },
    /// 5xx or 408, perhaps with a Retry-After: worth another try.
    #[error("server error {status}: {detail}")]
    Server { status: reqwest::StatusCode, retry_after: Option<Duration>, detail: Detail },
    /// A 3xx that leaves the API's origin. Not followed, so the token never reaches another host.
    #[error(
        "the API redirected ({status}) to {location}, which is not followed so the token is not sent to another host"
    )]
    Redirected { status: reqwest::StatusCode, location: String },
    /// No response, or no complete response, within the timeout.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Connection refused, reset, DNS failure, or a body cut short.
    #[error("connection failed: {0}")]
    Transport(String),
    /// A response that is not what the contract says: wrong status, HTML where JSON was due, a body over the cap.
    #[error("unusable response: {0}")]
    Malformed(String),
}

impl ApiError {
    /// Whether trying the same request again may help.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ApiError::RateLimited { .. }
                | ApiError::Server { .. }
                | ApiError::Timeout(_)
                | ApiError::Transport(_)
                | ApiError::Malformed(_)
        )
    }

    /// The wait the API asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::RateLimited { retry_after, .. } | ApiError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short reason for logs: `429`, `503`, `timeout`, `connection`, `malformed`.
    pub fn reason(&self) -> String {
        match self {
            ApiError::Rejected { status, .. }
            | ApiError::Server { status, .. }
            | ApiError::Redirected { status, .. } => status.as_u16().to_string(),
            ApiError::OutOfCredits { .. } => "402".to_owned(),
            ApiError::RateLimited { .. } => "429".to_owned(),
            ApiError::Timeout(_) => "timeout".to_owned(),
            ApiError::Transport(_) => "connection".to_owned(),
            ApiError::Malformed(_) => "malformed".to_owned(),
        }
    }

    /// Classifies a transport-level failure. reqwest's messages name the URL, which never holds the token.
    pub(crate) fn from_reqwest(err: reqwest::Error) -> ApiError {
        let message = error_chain(&err);
        if err.is_timeout() {
            ApiError::Timeout(message)
        } else if err.is_decode() {
            ApiError::Malformed(message)
        } else {
            ApiError::Transport(message)
        }
    }
}

/// `err: cause: cause`, the way anyhow prints `{:#}`.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_items_print_their_location() {
        let Detail::Items(items) = Detail::from_body(
            br#"{"detail":[{"type":"enum","loc":["body","peopleFilters","seniorities",1],"msg":"Input should be 'Owner' or 'Other'","input":"CEO","ctx":{"expected":"x"}}]}"#,
        ) else {
            panic!("expected items")
        };
        assert_eq!(
            items[0].to_string(),
            "body.peopleFilters.seniorities[1]: Input should be 'Owner' or 'Other' (enum) [input: \"CEO\"]"
        );
    }

    #[test]
    fn html_bodies_become_short_text() {
        let detail = Detail::from_body(b"<html><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>");
        assert_eq!(detail, Detail::Text("502 Bad Gateway nginx".to_owned()));
        assert_eq!(Detail::from_body(br#"{"detail":"Insufficient credits"}"#).to_string(), "Insufficient credits");
    }

    #[test]
    fn an_echoed_token_is_redacted() {
        let mut detail = Detail::from_body(
            br#"{"detail":[{"type":"x","loc":["header","x-api-token"],"msg":"bad token s3cret","input":"s3cret"}]}"#,
        );
        detail.redact("s3cret");
        assert!(!detail.to_string().contains("s3cret"), "{detail}");
        let mut text = Detail::Text("no such token: s3cret".to_owned());
        text.redact("s3cret");
        assert_eq!(text.to_string(), "no such token: [redacted]");
    }
}

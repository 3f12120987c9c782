//! One HTTP request to the API: TLS, timeouts, the token header, redirects that never leave the API's
//! origin, and the mapping of statuses to [`ApiError`].

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use super::body::SearchBody;
use super::error::{ApiError, Detail};
use super::token::Token;

/// Path of the people search.
pub const SEARCH_PATH: &str = "/v3/search/people";
/// Path of the credit balance.
pub const BALANCE_PATH: &str = "/v2/credits/balance";
/// Most bytes of an error body that are read (to show its `detail`).
const ERROR_BODY_CAP: usize = 64 * 1024;

/// Why a client cannot be built. All of these are usage errors: nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("invalid API base URL `{url}`: {reason}")]
    Invalid { url: String, reason: String },
    #[error(
        "refusing to send the API token over plain http to `{host}`: use https (plain http is allowed only to loopback addresses)"
    )]
    PlainHttp { host: String },
    #[error("cannot set up the HTTP client: {0}")]
    Build(String),
}

/// How to reach the API.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Scheme, host and optional port (and path prefix) of the API, e.g. `https://api.ocean.io`.
    pub base_url: String,
    /// Longest wait for a connection, for response headers, and between two chunks of a body.
    pub timeout: Duration,
    /// Largest accepted response body, after decompression.
    pub max_body_bytes: u64,
}

/// A client bound to one API origin and token.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Token,
    max_body_bytes: u64,
}

/// Checks a base URL: http(s), no credentials or query, and plain http only to loopback.
pub fn parse_base_url(raw: &str) -> Result<Url, EndpointError> {
    let invalid = |reason: &str| EndpointError::Invalid { url: raw.to_owned(), reason: reason.to_owned() };
    let url = Url::parse(raw.trim_end_matches('/')).map_err(|e| invalid(&e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "credentials in the URL are not allowed; the token comes from OCEAN_API_TOKEN or --token-file",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a query string or fragment is not allowed"));
    }
    let host = url.host_str().ok_or_else(|| invalid("no host"))?.to_owned();
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&host) => Ok(url),
        "http" => Err(EndpointError::PlainHttp { host }),
        other => Err(invalid(&format!("unsupported scheme `{other}`"))),
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Client {
    pub fn new(endpoint: &Endpoint, token: Token) -> Result<Client, EndpointError> {
        let base = parse_base_url(&endpoint.base_url)?;
        let origin = base.origin();
        // Follow a redirect only within the API's own origin: x-api-token is a custom header, which
        // reqwest would otherwise carry to any host.
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 || attempt.url().origin() != origin {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let http = reqwest::Client::builder()
            .user_agent(concat!("ocean-export/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(endpoint.timeout)
            .read_timeout(endpoint.timeout)
            .redirect(policy)
            .build()
            .map_err(|e| EndpointError::Build(e.to_string()))?;
        Ok(Client { http, base, token, max_body_bytes: endpoint.max_body_bytes })
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{path}"));
        url
    }

    fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        // Validated at load time to be printable ASCII; a bad byte would have failed there.
        if let Ok(mut value) = HeaderValue::from_str(self.token.expose()) {
            value.set_sensitive(true);
            headers.insert("x-api-token", value);
        }
        headers.insert(reqwest::header::ACCEPT, HeaderValue::from_static("application/json"));
        headers
    }

    /// Sends one search request. Only a 200 comes back as a [`Body`] to stream; every other status is an error.
    pub async fn search(&self, body: &SearchBody) -> Result<Body, ApiError> {
        let json = serde_json::to_vec(body).map_err(|e| ApiError::Malformed(e.to_string()))?;
        let response = self
            .http
            .post(self.url(SEARCH_PATH))
            .headers(self.headers())
            .header(CONTENT_TYPE, "application/json")
            .body(json)
            .send()
            .await
            .map_err(ApiError::from_reqwest)?;
        self.check(response).await
    }

    /// `GET /v2/credits/balance`.
    pub async fn balance(&self) -> Result<Balance, ApiError> {
        let response = self
            .http
            .get(self.url(BALANCE_PATH))
            .headers(self.headers())
            .send()
            .await
            .map_err(ApiError::from_reqwest)?;
        let mut body = self.check(response).await?;
        let mut bytes = Vec::new();
        while let Some(chunk) = body.chunk().await? {
            bytes.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::Malformed(format!("balance response: {e}: {}", super::error::excerpt(&bytes))))
    }

    async fn check(&self, response: reqwest::Response) -> Result<Body, ApiError> {
        let status = response.status();
        if status == StatusCode::OK {
            return Ok(Body { response, received: 0, cap: self.max_body_bytes });
        }
        let retry_after = response.headers().get(RETRY_AFTER).and_then(parse_retry_after);
        let location = response
            .headers()
            .get(LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_else(|| "(no Location header)".to_owned());
        let mut detail = Detail::from_body(&read_capped(response, ERROR_BODY_CAP).await);
        // An API (or proxy) that echoes the request, header included, must not get the token printed.
        detail.redact(self.token.expose());
        Err(match status.as_u16() {
            402 => ApiError::OutOfCredits { detail },
            // The server gave up waiting for the request: as transient as a 5xx.
            408 => ApiError::Server { status, retry_after, detail },
            429 => ApiError::RateLimited { retry_after, detail },
            300..=399 => ApiError::Redirected { status, location },
            400..=499 => ApiError::Rejected { status, detail },
            500..=599 => ApiError::Server { status, retry_after, detail },
            _ => ApiError::Malformed(format!("unexpected status {status}: {detail}")),
        })
    }
}

/// Reads at most `cap` bytes of an error body; a failure to read just shortens it.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while out.len() < cap {
        match response.chunk().await {
            Ok(Some(chunk)) => out.extend_from_slice(&chunk[..chunk.len().min(cap - out.len())]),
            _ => break,
        }
    }
    out
}

/// The longest wait a `Retry-After` is taken to ask for (a year); anything longer is the same answer.
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(365 * 24 * 3600);

/// `Retry-After` in seconds or as an HTTP date, at most a year.
pub fn parse_retry_after(value: &HeaderValue) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    let wait = if let Ok(seconds) = text.parse::<u64>() {
        Duration::from_secs(seconds)
    } else if let Ok(seconds) = text.parse::<f64>()
        && seconds.is_finite()
        && seconds >= 0.0
    {
        Duration::from_secs_f64(seconds.min(LONGEST_RETRY_AFTER.as_secs_f64()))
    } else {
        let when = httpdate::parse_http_date(text).ok()?;
        when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(LONGEST_RETRY_AFTER))
}

/// The body of a 200, read chunk by chunk under a size cap.
pub struct Body {
    response: reqwest::Response,
    received: u64,
    cap: u64,
}

impl Body {
    /// The next chunk, or `None` at the end. A body that goes past the cap, stalls past the timeout or is
    /// cut short is an error.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, ApiError> {
        let chunk = self.response.chunk().await.map_err(ApiError::from_reqwest)?;
        if let Some(bytes) = &chunk {
            self.received += bytes.len() as u64;
            if self.received > self.cap {
                return Err(ApiError::Malformed(format!(
                    "response body larger than the {} MiB cap (api.max_body_mib)",
                    self.cap / (1024 * 1024)
                )));
            }
        }
        Ok(chunk)
    }
}

/// `Credits` of the balance response.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Credits {
    pub one_time: f64,
    pub recurrent: f64,
}

impl Credits {
    pub fn total(&self) -> f64 {
        self.one_time + self.recurrent
    }
}

/// `GetCreditBalanceResponse`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Balance {
    pub credits: Credits,
    pub email_credits: Credits,
    pub phone_credits: Credits,
    pub preview_credits: Credits,
    pub daily_limit_rate_left: i64,
    pub daily_limit_rate_seconds_to_reset: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(parse_base_url("https://api.ocean.io").is_ok());
        assert!(parse_base_url("http://127.0.0.1:8080/").is_ok());
        assert!(parse_base_url("http://localhost:1").is_ok());
        assert!(parse_base_url("http://[::1]:1").is_ok());
        assert!(matches!(parse_base_url("http://api.ocean.io"), Err(EndpointError::PlainHttp { .. })));
        assert!(matches!(parse_base_url("http://10.0.0.1"), Err(EndpointError::PlainHttp { .. })));
        assert!(matches!(parse_base_url("ftp://x"), Err(EndpointError::Invalid { .. })));
        assert!(matches!(parse_base_url("https://u:p@x"), Err(EndpointError::Invalid { .. })));
        assert!(matches!(parse_base_url("https://x/?apiToken=a"), Err(EndpointError::Invalid { .. })));
    }

    #[test]
    fn retry_after_in_seconds_or_http_date() {
        assert_eq!(parse_retry_after(&HeaderValue::from_static("7")), Some(Duration::from_secs(7)));
        let in_a_minute = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(60));
        let parsed = parse_retry_after(&HeaderValue::from_str(&in_a_minute).unwrap()).unwrap();
        assert!(parsed > Duration::from_secs(55) && parsed <= Duration::from_secs(60), "{parsed:?}");
        assert_eq!(parse_retry_after(&HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT")), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(&HeaderValue::from_static("soon")), None);
        assert_eq!(parse_retry_after(&HeaderValue::from_static("18446744073709551615")), Some(LONGEST_RETRY_AFTER));
        assert_eq!(parse_retry_after(&HeaderValue::from_static("1e300")), Some(LONGEST_RETRY_AFTER));
    }
}

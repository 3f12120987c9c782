//! The HTTP server: the accept loop (hyper directly, because a reset fault must drop a connection without
//! answering, which axum's `serve` cannot) and the request pipeline of both endpoints.
//!
//! Order of checks for `POST /v3/search/people` (contract §14): injected fault → body size (413) → JSON
//! (422 `json_invalid`) → token (403/400) → schema (422) → `peoplePerCompany` with a cursor (422, with
//! `--ppc-cursor reject`) → cursor (422) → result window (422, with `--window-style reject`) → credits
//! (402) → rate limits of the account (429) → charge and serve. `--validate-before-auth` swaps the token
//! and schema checks.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::Query as UrlQuery;
use hyper::body::{Body as _, Incoming};
use hyper::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::http::request::Parts;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::cursor::{self, Cursor};
use crate::dataset::Dataset;
use crate::faults::{self, Fault, Faults};
use crate::filter::{self, Cache, Matches};
use crate::limits::{self, Accounts, Caller, Credits, RateLimits, Refusal, UNLIMITED_BALANCE};
use crate::log::{Record, RequestLog};
use crate::page::{NextCursor, Page, Pairs, Statuses, Tail};
use crate::query::Query;
use crate::render::Projection;
use crate::validate::{self, BODY_SCHEMA, ErrorItem};
use crate::{BadCursor, EndStyle, PpcCursor, WindowStyle};

pub const SEARCH_PATH: &str = "/v3/search/people";
pub const BALANCE_PATH: &str = "/v2/credits/balance";

/// How long a shutdown waits for responses in flight before dropping them.
const DRAIN: Duration = Duration::from_secs(5);

/// Everything a request needs, shared by all connections.
pub(crate) struct State {
    pub dataset: Arc<Dataset>,
    pub accounts: Accounts,
    pub seq: AtomicU64,
    pub faults: Faults,
    pub fault_retry_after: u64,
    pub credits: Credits,
    pub limits: RateLimits,
    pub cache: Cache,
    pub log: Option<RequestLog>,
    pub end_style: EndStyle,
    pub repeat_cursor: Option<u64>,
    pub bad_cursor: BadCursor,
    pub window: Option<u64>,
    pub window_style: WindowStyle,
    pub ppc_cursor: PpcCursor,
    pub default_projection: Projection,
    pub validate_before_auth: bool,
    pub max_body: usize,
}

/// Accept connections until `shutdown` fires, then let responses in flight finish (up to [`DRAIN`]).
pub(crate) async fn serve(listener: TcpListener, state: Arc<State>, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection(stream, state.clone(), shutdown.clone()));
                }
                Err(e) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::warn!("sandbox: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, async { while connections.join_next().await.is_some() {} }).await;
}

async fn connection(stream: tokio::net::TcpStream, state: Arc<State>, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| handle(state.clone(), request));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new());
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!("sandbox: connection ended: {e}");
    }
}

/// Returned by the service to make hyper drop the connection without writing a response.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped without response")]
pub(crate) struct Dropped;

type Reply = Result<Response<Body>, Dropped>;

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Reply {
    let seq = state.seq.fetch_add(1, Ordering::Relaxed);
    let mut record = Record::new(seq, SystemTime::now(), request.method().as_str(), request.uri().path());
    let (fault, delay) = state.faults.roll(seq);
    record.delay_ms = delay.as_millis() as u64;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let reply = match (request.method(), request.uri().path()) {
        (&Method::POST, SEARCH_PATH) => search(&state, request, fault, &mut record).await,
        (&Method::GET, BALANCE_PATH) => {
            let (parts, _) = request.into_parts();
            Ok(balance(&state, &parts, &mut record).unwrap_or_else(|refused| *refused))
        }
        (_, path @ (SEARCH_PATH | BALANCE_PATH)) => {
            let mut response = detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed", &mut record);
            let allowed = if path == SEARCH_PATH { "POST" } else { "GET" };
            response.headers_mut().insert(ALLOW, HeaderValue::from_static(allowed));
            Ok(response)
        }
        _ => Ok(detail(StatusCode::NOT_FOUND, "Not Found", &mut record)),
    };
    record.status = reply.as_ref().map_or(0, |r| r.status().as_u16());
    record.balance = state.credits.balance();
    if let Some(log) = &state.log {
        log.write(&record);
    }
    reply
}

async fn search(state: &Arc<State>, request: Request<Incoming>, fault: Option<Fault>, record: &mut Record) -> Reply {
    // A cut-short body is decided here but happens (and is logged) only if the request is served.
    if !matches!(fault, None | Some(Fault::Truncate(_))) {
        record.fault = fault.map(Fault::name);
    }
    let truncate = match fault {
        None => None,
        Some(Fault::Truncate(fraction)) => Some(fraction),
        Some(Fault::Reset) => return Err(Dropped),
        Some(Fault::Server(status)) => return Ok(html_error(status)),
        Some(Fault::TooMany) => {
            // Without --rpm, the self-serve limit Ocean is reported to have.
            let limit = state.limits.per_minute().unwrap_or(60);
            return Ok(too_many(state.fault_retry_after, limit, "Too many requests, please slow down", record));
        }
    };
    let (parts, body) = request.into_parts();
    let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.max_body as u64) {
        return Ok(detail(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large", record));
    }
    let bytes = match read_body(body, state.max_body).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => {
            return Ok(detail(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large", record));
        }
        // The client went away mid-request: there is no one to answer.
        Err(BodyError::Broken) => return Err(Dropped),
    };
    let response = match serve_page(state, &parts, &bytes, truncate, record).await {
        Ok(response) => {
            record.fault = fault.filter(|_| truncate.is_some()).map(Fault::name);
            response
        }
        Err(refused) => *refused,
    };
    Ok(response)
}

/// A non-200 response, already recorded; the `Err` side of the pipeline (boxed: it is large).
type Refused = Box<Response<Body>>;

async fn serve_page(
    state: &Arc<State>,
    parts: &Parts,
    bytes: &[u8],
    truncate: Option<f64>,
    record: &mut Record,
) -> Result<Response<Body>, Refused> {
    let body = parse_json(bytes).map_err(|item| Box::new(unprocessable(vec![*item], record)))?;
    let early_token = if state.validate_before_auth { None } else { Some(authenticate(state, parts, record)?) };
    let checked = validate::validate(BODY_SCHEMA, &body).map_err(|items| Box::new(unprocessable(items, record)))?;
    let caller = match early_token {
        Some(caller) => caller,
        None => authenticate(state, parts, record)?,
    };
    let query = Query::new(checked, &state.dataset).map_err(|e| Box::new(internal(&e.to_string(), record)))?;
    record.query = Some(query.short_hash());
    record.size = Some(query.size());
    if let (PpcCursor::Reject, Some(_), Some(text)) =
        (state.ppc_cursor, query.body.people_per_company, &query.body.search_after)
    {
        let error = "searchAfter cannot be combined with peoplePerCompany; cap the results with size instead";
        let item = ErrorItem::value_error("searchAfter", &Value::String(text.clone()), error);
        return Err(unprocessable(vec![item], record).into());
    }
    let (query, matches) = find_matches(state, query).await.map_err(|e| Box::new(internal(&e, record)))?;
    let total = matches.total();
    record.total = Some(total);
    let (start, known) = match &query.body.search_after {
        None => (Cursor { position: 0, page: 0 }, true),
        Some(text) => match cursor::decode(state.dataset.seed(), &query.hash, total, text) {
            Ok(cursor) => (cursor, true),
            Err(e) if state.bad_cursor == BadCursor::Reject => {
                let item = ErrorItem::value_error("searchAfter", &Value::String(text.clone()), &e.to_string());
                return Err(unprocessable(vec![item], record).into());
            }
            Err(_) => (Cursor { position: total, page: 0 }, false),
        },
    };
    // The window matters only to a query with more matches than it holds, and not to a bad cursor, which
    // `--bad-cursor empty-page` answers as the end of the walk.
    let window = state.window.filter(|&n| n < total && known);
    let (end, next) = match window {
        Some(n) if start.position >= n => {
            record.window_cut = true;
            if state.window_style == WindowStyle::Reject {
                let error = format!("searchAfter cannot page past {n} results");
                let input = Value::String(query.body.search_after.clone().unwrap_or_default());
                return Err(unprocessable(vec![ErrorItem::value_error("searchAfter", &input, &error)], record).into());
            }
            (start.position, ending(state.end_style))
        }
        Some(n) => {
            let wanted = start.position.saturating_add(query.size());
            let end = wanted.min(n);
            // With `end`, the page that reaches the window ends the walk.
            let stop = end == n && state.window_style == WindowStyle::End;
            record.window_cut = wanted > n || stop;
            (end, next_cursor(state, &query, total, start, end, stop))
        }
        None => {
            let end = total.min(start.position.saturating_add(query.size()));
            (end, next_cursor(state, &query, total, start, end, false))
        }
    };
    let people = end - start.position;
    let cost = state.credits.cost(people);
    state
        .credits
        .admit(cost, truncate.is_none(), || state.limits.admit(caller.account))
        .map_err(|r| Box::new(refuse(r, record)))?;

    record.position = Some(start.position);
    record.page = Some(start.page);
    record.people = Some(people);
    record.next_position = Some(end);
    record.end = Some(people == 0 || !matches!(next, NextCursor::Cursor(_)));
    record.credits_charged = if truncate.is_none() { cost } else { 0.0 };
    let tail = Page::tail(&Tail {
        detail: "OK",
        lookalike_people_statuses: matches.lookalike.as_ref().map(|(found, missing)| Statuses {
            successful_people: found,
            not_found_people: missing,
            triggered_domain_people: [],
            missing_company_information_people: [],
        }),
        total,
        search_after: &next,
        redirect_map: matches.redirects.as_deref().map(Pairs),
        credits_used: cost,
        include_domains_statuses: matches.domain_statuses.as_deref().map(Pairs),
    });
    let projection = query
        .body
        .fields
        .as_ref()
        .map_or(state.default_projection, |fields| Projection::from_fields(fields.iter().map(String::as_str)));
    let page =
        Page { dataset: state.dataset.clone(), matches, start: start.position, end, projection, tail, cut: truncate };
    Ok(json_response(StatusCode::OK, page.into_body()))
}

/// The matches of a query, from the cache or computed on a blocking thread (a scan of a large dataset
/// would stall the other connections).
async fn find_matches(state: &Arc<State>, query: Query) -> Result<(Query, Arc<Matches>), String> {
    if let Some(found) = state.cache.get(&query.hash) {
        return Ok((query, found));
    }
    let dataset = state.dataset.clone();
    let (query, computed) = tokio::task::spawn_blocking(move || {
        let computed = Arc::new(filter::compute(&query, &dataset));
        (query, computed)
    })
    .await
    .map_err(|e| format!("query failed: {e}"))?;
    state.cache.put(query.hash, computed.clone());
    Ok((query, computed))
}

/// The `searchAfter` of a page covering `start.position..end` of `total` results; `stop`: the page reaches
/// the result window and `--window-style end` ends the walk there.
fn next_cursor(state: &State, query: &Query, total: u64, start: Cursor, end: u64, stop: bool) -> NextCursor {
    let seed = state.dataset.seed();
    let at = |position, page| NextCursor::Cursor(cursor::encode(seed, &query.hash, Cursor { position, page }));
    if state.repeat_cursor.is_some_and(|from| u64::from(start.page) >= from) {
        // The cursor of this very page, which is the one the client sent.
        return at(start.position, start.page);
    }
    let page = start.page.saturating_add(1);
    if stop {
        return ending(state.end_style);
    }
    if end < total {
        return at(end, page);
    }
    match state.end_style {
        EndStyle::Absent => NextCursor::Absent,
        EndStyle::Null => NextCursor::Null,
        EndStyle::EmptyPage => at(total, page),
    }
}

/// No cursor, as the end style shows it (an empty-page style has no cursor to give at the window).
fn ending(style: EndStyle) -> NextCursor {
    match style {
        EndStyle::Null => NextCursor::Null,
        EndStyle::Absent | EndStyle::EmptyPage => NextCursor::Absent,
    }
}

/// The `GetCreditBalanceResponse` shape, in the schema's key order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BalanceBody {
    credits: Amount,
    email_credits: Amount,
    phone_credits: Amount,
    preview_credits: Amount,
    daily_limit_rate_left: u64,
    daily_limit_rate_seconds_to_reset: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Amount {
    one_time: f64,
    recurrent: f64,
}

const NONE: Amount = Amount { one_time: 0.0, recurrent: 0.0 };

fn balance(state: &State, parts: &Parts, record: &mut Record) -> Result<Response<Body>, Refused> {
    let caller = authenticate(state, parts, record)?;
    let body = BalanceBody {
        credits: Amount { one_time: state.credits.balance().unwrap_or(UNLIMITED_BALANCE), recurrent: 0.0 },
        email_credits: NONE,
        phone_credits: NONE,
        preview_credits: NONE,
        daily_limit_rate_left: state.limits.daily_left(caller.account),
        daily_limit_rate_seconds_to_reset: limits::seconds_to_midnight(),
    };
    Ok(json_response(StatusCode::OK, Body::from(serde_json::to_vec(&body).unwrap_or_default())))
}

/// Which accepted token (and so which account) sent the request, from the `x-api-token` header or the
/// `apiToken` query parameter; the same token in both places is accepted, two different ones are a conflict.
fn authenticate(state: &State, parts: &Parts, record: &mut Record) -> Result<Caller, Refused> {
    let header = parts.headers.get("x-api-token").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let query = UrlQuery::<Vec<(String, String)>>::try_from_uri(&parts.uri)
        .ok()
        .and_then(|UrlQuery(pairs)| pairs.into_iter().find(|(k, _)| k == "apiToken").map(|(_, v)| v));
    let token = match (header, query) {
        (None, None) => {
            return Err(detail(
                StatusCode::FORBIDDEN,
                "API token should be provided in headers or query parameters",
                record,
            )
            .into());
        }
        (Some(h), Some(q)) if h != q => {
            return Err(detail(
                StatusCode::BAD_REQUEST,
                "Conflicting API tokens provided in query parameters and headers",
                record,
            )
            .into());
        }
        (Some(token), _) | (None, Some(token)) => token,
    };
    let caller = state.accounts.find(&token).ok_or_else(|| {
        Box::new(detail(StatusCode::FORBIDDEN, "Current API token is not registered in our database", record))
    })?;
    record.token_index = Some(caller.token);
    record.account = state.accounts.name(caller.account).map(str::to_string);
    Ok(caller)
}

fn parse_json(bytes: &[u8]) -> Result<Value, Box<ErrorItem>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Box::new(ErrorItem::body_missing()));
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Null) => Err(Box::new(ErrorItem::body_missing())),
        Ok(value) => Ok(value),
        Err(e) => Err(Box::new(ErrorItem::json_invalid(bytes, &e))),
    }
}

enum BodyError {
    TooLarge,
    Broken,
}

async fn read_body(mut body: Incoming, limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(BodyError::TooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

fn json_response(status: StatusCode, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The body of every error: `{"detail": …}`.
#[derive(Serialize)]
struct Detail<T> {
    detail: T,
}

/// `{"detail": "<text>"}` with `status`.
fn detail(status: StatusCode, text: &str, record: &mut Record) -> Response<Body> {
    record.detail = Some(text.to_string());
    let body = serde_json::to_vec(&Detail { detail: text }).unwrap_or_default();
    json_response(status, Body::from(body))
}

fn unprocessable(items: Vec<ErrorItem>, record: &mut Record) -> Response<Body> {
    record.detail = items.first().map(|item| item.kind.to_string());
    let body = serde_json::to_vec(&Detail { detail: &items }).unwrap_or_default();
    json_response(StatusCode::UNPROCESSABLE_ENTITY, Body::from(body))
}

fn internal(error: &str, record: &mut Record) -> Response<Body> {
    tracing::error!("sandbox: {error}");
    detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", record)
}

fn refuse(refusal: Refusal, record: &mut Record) -> Response<Body> {
    match refusal {
        Refusal::Credits => detail(StatusCode::PAYMENT_REQUIRED, "Insufficient credits", record),
        Refusal::Limited { retry_after, limit, detail } => too_many(retry_after, limit, &detail, record),
    }
}

fn too_many(retry_after: u64, limit: u32, text: &str, record: &mut Record) -> Response<Body> {
    let mut response = detail(StatusCode::TOO_MANY_REQUESTS, text, record);
    let headers = response.headers_mut();
    headers.insert(RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    response
}

fn html_error(status: u16) -> Response<Body> {
    let mut response = Response::new(Body::from(faults::html_error(status)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}

//! The body of a 200 search response, streamed: people are generated and serialised a chunk at a time
//! while the client reads, so a page of 10 000 people with 20 KB summaries is served at flat memory.
//!
//! The keys come in the schema's order, `people` first, as FastAPI writes them: a client must cope with
//! the cursor arriving after the people. A page chosen by `--fault-truncate` stops half-way through a
//! person (or through the closing keys) and then fails the stream, so hyper closes the connection
//! mid-body.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::dataset::Dataset;
use crate::filter::Matches;
use crate::render::{self, Projection};

/// Bytes per chunk handed to hyper: large enough to amortise the framing, small enough to keep memory flat.
const CHUNK: usize = 64 * 1024;

/// How long a cut-short body waits before failing, so what was sent reaches the client.
const FLUSH_GRACE: Duration = Duration::from_millis(20);

/// The value of `searchAfter` in a response.
pub(crate) enum NextCursor {
    /// No `searchAfter` key.
    Absent,
    Null,
    Cursor(String),
}

/// The response keys after `people`, in the schema's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Tail<'a> {
    pub detail: &'static str,
    pub lookalike_people_statuses: Option<Statuses<'a>>,
    pub total: u64,
    #[serde(skip_serializing_if = "NextCursor::is_absent")]
    pub search_after: &'a NextCursor,
    pub redirect_map: Option<Pairs<'a, String>>,
    pub credits_used: f64,
    pub include_domains_statuses: Option<Pairs<'a, &'static str>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Statuses<'a> {
    pub successful_people: &'a [String],
    pub not_found_people: &'a [String],
    pub triggered_domain_people: [&'a str; 0],
    pub missing_company_information_people: [&'a str; 0],
}

/// A JSON object from ordered pairs; a key given twice is written once.
pub(crate) struct Pairs<'a, V>(pub &'a [(String, V)]);

impl<V: Serialize> Serialize for Pairs<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (i, (key, value)) in self.0.iter().enumerate() {
            if !self.0[..i].iter().any(|(k, _)| k == key) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

impl NextCursor {
    fn is_absent(&self) -> bool {
        matches!(self, NextCursor::Absent)
    }
}

impl Serialize for NextCursor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            NextCursor::Cursor(text) => s.serialize_str(text),
            _ => s.serialize_unit(),
        }
    }
}

/// People `start..end` of the result list, then the tail.
pub(crate) struct Page {
    pub dataset: Arc<Dataset>,
    pub matches: Arc<Matches>,
    pub start: u64,
    pub end: u64,
    pub projection: Projection,
    /// `],"detail":…}`: everything after the last person.
    pub tail: Vec<u8>,
    /// `--fault-truncate`: the fraction of the page after which the body breaks off.
    pub cut: Option<f64>,
}

impl Page {
    pub fn tail(tail: &Tail<'_>) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(tail).unwrap_or_default();
        // `{"detail":…}` → `],"detail":…}`
        bytes.splice(..1, *b"],");
        bytes
    }

    pub fn into_body(self) -> Body {
        let len = self.end - self.start;
        let cut_at = self.cut.map(|f| self.start + (((len + 1) as f64 * f) as u64).min(len));
        let stream = Stream { page: self, next: None, cut_at, state: State::Open };
        Body::from_stream(futures_util::stream::unfold(stream, |mut s| async move {
            if s.state == State::Broken {
                // hyper drops the connection, unflushed bytes included, as soon as the body fails:
                // give it time to send the head and the partial chunk first.
                tokio::time::sleep(FLUSH_GRACE).await;
            }
            s.chunk().map(|c| (c, s))
        }))
    }
}

#[derive(PartialEq)]
enum State {
    Open,
    /// The truncated bytes went out; the next poll fails the body.
    Broken,
    Done,
}

struct Stream {
    page: Page,
    /// Position of the next person; `None` before the opening bytes.
    next: Option<u64>,
    /// Position at which the body breaks (`end`: inside the tail).
    cut_at: Option<u64>,
    state: State,
}

impl Stream {
    fn chunk(&mut self) -> Option<Result<Bytes, io::Error>> {
        match self.state {
            State::Done => return None,
            State::Broken => {
                self.state = State::Done;
                return Some(Err(io::Error::other("response cut short by --fault-truncate")));
            }
            State::Open => {}
        }
        let page = &self.page;
        // Room for one more person with the longest summary, so the buffer never grows.
        let mut buf = Vec::with_capacity(CHUNK + 48 * 1024);
        let mut next = self.next.unwrap_or_else(|| {
            buf.extend_from_slice(b"{\"people\":[");
            page.start
        });
        while next < page.end && buf.len() < CHUNK {
            let mark = buf.len();
            if next > page.start {
                buf.push(b',');
            }
            let person = page.dataset.generate(page.matches.at(next));
            render::write_person(&mut buf, &person, &page.projection);
            if self.cut_at == Some(next) {
                buf.truncate(mark + (buf.len() - mark) / 2);
                self.state = State::Broken;
                return Some(Ok(buf.into()));
            }
            next += 1;
        }
        self.next = Some(next);
        if next == page.end {
            if self.cut_at == Some(page.end) {
                buf.extend_from_slice(&page.tail[..page.tail.len() / 2]);
                self.state = State::Broken;
            } else {
                buf.extend_from_slice(&page.tail);
                self.state = State::Done;
            }
        }
        Some(Ok(buf.into()))
    }
}

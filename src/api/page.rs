//! The 200 response of the search, parsed while it streams in: each person is handed on as raw JSON the
//! moment its closing brace arrives, so a 40 MB page never sits in memory; the other keys of the page
//! (cursor, total, credits, statuses) are collected into a [`PageMeta`], in whatever order they come.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::{Deserialize, IgnoredAny};
use serde::{Deserialize as DeriveDeserialize, Serialize};

use super::person::Person;

/// `LookalikePeopleStatuses`: what the API made of the lookalike seeds.
#[derive(Clone, Debug, Default, PartialEq, Eq, DeriveDeserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SeedStatuses {
    #[serde(deserialize_with = "null_as_empty")]
    pub successful_people: BTreeSet<String>,
    #[serde(deserialize_with = "null_as_empty")]
    pub not_found_people: BTreeSet<String>,
    #[serde(deserialize_with = "null_as_empty")]
    pub triggered_domain_people: BTreeSet<String>,
    #[serde(deserialize_with = "null_as_empty")]
    pub missing_company_information_people: BTreeSet<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeSet<String>, D::Error> {
    Ok(Option::<BTreeSet<String>>::deserialize(d)?.unwrap_or_default())
}

impl SeedStatuses {
    /// Adds what another page reported. A seed found on any page counts as found.
    pub fn merge(&mut self, other: &SeedStatuses) {
        self.successful_people.extend(other.successful_people.iter().cloned());
        self.not_found_people.extend(other.not_found_people.iter().cloned());
        self.triggered_domain_people.extend(other.triggered_domain_people.iter().cloned());
        self.missing_company_information_people.extend(other.missing_company_information_people.iter().cloned());
        self.not_found_people.retain(|seed| !self.successful_people.contains(seed));
    }

    pub fn is_empty(&self) -> bool {
        self.successful_people.is_empty()
            && self.not_found_people.is_empty()
            && self.triggered_domain_people.is_empty()
            && self.missing_company_information_people.is_empty()
    }
}

/// Everything on a page except the people themselves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageMeta {
    /// People in the page's `people` array (valid or not).
    pub people: u64,
    pub total: Option<u64>,
    /// The cursor of the next page; `None` when absent or null.
    pub search_after: Option<String>,
    /// `None` when the API left it out.
    pub credits_used: Option<f64>,
    pub seed_statuses: Option<SeedStatuses>,
    pub redirect_map: BTreeMap<String, String>,
    pub include_domains_statuses: BTreeMap<String, String>,
}

/// Receives the people of a page, one at a time, as they arrive.
pub trait PersonSink {
    type Error;
    fn person(&mut self, person: &Person<'_>) -> Result<(), Self::Error>;
}

/// Why a page could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PageError<E> {
    /// Not the JSON the contract describes: truncated, HTML, wrong shape. Worth another try.
    #[error("malformed page: {0}")]
    Malformed(String),
    /// The sink failed (a write error, say). Not the API's fault.
    #[error(transparent)]
    Sink(E),
}

#[derive(Debug)]
enum State {
    Start,
    ObjectOpen,
    Key,
    Colon(String),
    Value(String),
    PeopleOpen,
    PeopleFirst,
    Person,
    PeopleNext,
    AfterValue,
    Done,
}

/// Incremental parser of one page. Feed it the body's chunks, then call [`PageParser::finish`].
pub struct PageParser {
    /// Received text not yet consumed (from `pos` on). Kept as `String`, validated once on arrival, so
    /// parsing borrows from it without checking UTF-8 again.
    buf: String,
    /// The start of a character split across chunks.
    partial_char: Vec<u8>,
    /// Bytes already dropped from the front of `buf` (to report positions in the page).
    drained: usize,
    pos: usize,
    state: State,
    meta: PageMeta,
    seen_keys: BTreeSet<String>,
    /// Bytes that must be buffered past `pos` before another attempt at an incomplete value: doubling it on
    /// every miss keeps re-parsing of a value split over many chunks linear.
    need: usize,
}

impl Default for PageParser {
    fn default() -> Self {
        PageParser {
            buf: String::with_capacity(256 * 1024),
            partial_char: Vec::new(),
            drained: 0,
            pos: 0,
            state: State::Start,
            meta: PageMeta::default(),
            seen_keys: BTreeSet::new(),
            need: 0,
        }
    }
}

enum Step<T> {
    Value(T, usize),
    NeedMore,
}

/// The length of `bytes` without a multi-byte character cut off at its end (whose lead byte says more
/// bytes follow than there are).
fn complete_prefix(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let at = bytes.len() - back;
        let byte = bytes[at];
        if byte & 0xC0 == 0x80 {
            continue; // a continuation byte: the character starts further back
        }
        let needs = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 1,
        };
        return if back < needs { at } else { bytes.len() };
    }
    bytes.len()
}

/// Parses one JSON value at the start of `slice`. A scalar that runs to the end of a buffer that is not
/// the end of the body may be cut short (`12` of `123`), so it counts as incomplete.
fn parse_one<'a, T: Deserialize<'a>>(slice: &'a str, eof: bool) -> Result<Step<T>, String> {
    let mut stream = serde_json::Deserializer::from_str(slice).into_iter::<T>();
    match stream.next() {
        None => Ok(Step::NeedMore),
        Some(Ok(value)) => {
            let end = stream.byte_offset();
            if end == slice.len() && !eof { Ok(Step::NeedMore) } else { Ok(Step::Value(value, end)) }
        }
        Some(Err(e)) if !eof && (e.is_eof() || ends_inside_a_number(slice)) => Ok(Step::NeedMore),
        Some(Err(e)) => Err(e.to_string()),
    }
}

/// Whether the buffer may end inside a number (`1.` of `1.5`, `2e` of `2e5`, a lone `-`). Skipping a value
/// (a person's raw JSON, an unknown key) serde_json reports such a number as invalid, not as cut short;
/// more bytes settle it either way.
fn ends_inside_a_number(slice: &str) -> bool {
    matches!(slice.as_bytes().last(), Some(b'-' | b'+' | b'.' | b'e' | b'E'))
}

impl PageParser {
    pub fn new() -> PageParser {
        PageParser::default()
    }

    /// Takes the next chunk of the body, handing every person completed by it to `sink`.
    pub fn feed<S: PersonSink>(&mut self, chunk: &[u8], sink: &mut S) -> Result<(), PageError<S::Error>> {
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.drained += self.pos;
            self.pos = 0;
        }
        self.append(chunk)?;
        if self.buf.len() - self.pos < self.need {
            return Ok(());
        }
        self.run(sink, false)
    }

    /// Appends a chunk's text, validating its UTF-8 once; a character cut at the chunk's end waits for the next.
    fn append<E>(&mut self, chunk: &[u8]) -> Result<(), PageError<E>> {
        let joined;
        let bytes = if self.partial_char.is_empty() {
            chunk
        } else {
            joined = [std::mem::take(&mut self.partial_char).as_slice(), chunk].concat();
            &joined
        };
        let (whole, cut) = bytes.split_at(complete_prefix(bytes));
        // simdutf8: the same check as std, several times faster on text that is not ASCII.
        let text = simdutf8::basic::from_utf8(whole).map_err(|_| {
            let at = std::str::from_utf8(whole).err().map_or(0, |e| e.valid_up_to());
            PageError::Malformed(format!("the page is not UTF-8 (near byte {})", self.drained + self.buf.len() + at))
        })?;
        self.buf.push_str(text);
        self.partial_char = cut.to_vec();
        Ok(())
    }

    /// Ends the body: anything short of a complete page is an error.
    pub fn finish<S: PersonSink>(mut self, sink: &mut S) -> Result<PageMeta, PageError<S::Error>> {
        if !self.partial_char.is_empty() {
            return Err(PageError::Malformed("the body ended inside a UTF-8 character".to_owned()));
        }
        self.run(sink, true)?;
        if !matches!(self.state, State::Done) {
            return Err(PageError::Malformed(format!(
                "the body ended early, inside {}",
                match self.state {
                    State::Start => "nothing (empty body)",
                    State::Person | State::PeopleNext | State::PeopleFirst => "the people array",
                    _ => "the page object",
                }
            )));
        }
        if !self.seen_keys.contains("people") {
            return Err(PageError::Malformed("the page has no `people` array".to_owned()));
        }
        Ok(self.meta)
    }

    fn skip_ws(&mut self) -> Option<u8> {
        while let Some(&b) = self.buf.as_bytes().get(self.pos) {
            if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                self.pos += 1;
            } else {
                return Some(b);
            }
        }
        None
    }

    fn unexpected<E>(&self, wanted: &str) -> PageError<E> {
        let found = super::error::excerpt(&self.buf.as_bytes()[self.pos..self.buf.len().min(self.pos + 200)]);
        PageError::Malformed(format!(
            "expected {wanted} at byte {} of the page, found: {found}",
            self.drained + self.pos
        ))
    }

    fn run<S: PersonSink>(&mut self, sink: &mut S, eof: bool) -> Result<(), PageError<S::Error>> {
        self.need = 0;
        loop {
            let Some(byte) = self.skip_ws() else { return Ok(()) };
            match std::mem::replace(&mut self.state, State::Done) {
                State::Start if byte == b'{' => {
                    self.pos += 1;
                    self.state = State::ObjectOpen;
                }
                // Wait for a little more of a non-JSON body (an HTML error page, say) so the error can quote it.
                State::Start if !eof && self.buf.len() - self.pos < 512 => {
                    self.need = 512;
                    self.state = State::Start;
                    return Ok(());
                }
                State::Start => return Err(self.unexpected("a JSON object")),
                State::ObjectOpen if byte == b'}' => {
                    self.pos += 1;
                    self.state = State::Done;
                }
                State::ObjectOpen | State::Key => match self.parse_here::<String, S::Error>(eof)? {
                    Some(key) => {
                        if !self.seen_keys.insert(key.clone()) {
                            return Err(PageError::Malformed(format!("the key `{key}` appears twice")));
                        }
                        self.state = State::Colon(key);
                    }
                    None => {
                        self.state = State::Key;
                        return Ok(());
                    }
                },
                State::Colon(key) if byte == b':' => {
                    self.pos += 1;
                    self.state = if key == "people" { State::PeopleOpen } else { State::Value(key) };
                }
                State::Colon(_) => return Err(self.unexpected("`:`")),
                State::PeopleOpen if byte == b'[' => {
                    self.pos += 1;
                    self.state = State::PeopleFirst;
                }
                State::PeopleOpen => return Err(self.unexpected("the `people` array")),
                State::PeopleFirst if byte == b']' => {
                    self.pos += 1;
                    self.state = State::AfterValue;
                }
                State::PeopleFirst | State::Person => {
                    let slice = &self.buf[self.pos..];
                    match Person::parse_prefix(slice) {
                        // Running to the end of what has arrived, a value may be cut short and still parse
                        // (`12` of `123`): wait for what follows it.
                        Some(Ok((_, end))) if end == slice.len() && !eof => {
                            self.need = 2 * slice.len();
                            self.state = State::Person;
                            return Ok(());
                        }
                        Some(Ok((person, end))) => {
                            sink.person(&person).map_err(PageError::Sink)?;
                            self.meta.people += 1;
                            self.pos += end;
                            self.state = State::PeopleNext;
                        }
                        Some(Err(e)) if eof || !(e.is_eof() || ends_inside_a_number(slice)) => {
                            return Err(PageError::Malformed(e.to_string()));
                        }
                        _ => {
                            self.need = 2 * slice.len();
                            self.state = State::Person;
                            return Ok(());
                        }
                    }
                }
                State::PeopleNext if byte == b',' => {
                    self.pos += 1;
                    self.state = State::Person;
                }
                State::PeopleNext if byte == b']' => {
                    self.pos += 1;
                    self.state = State::AfterValue;
                }
                State::PeopleNext => return Err(self.unexpected("`,` or `]` in the people array")),
                State::Value(key) => {
                    if !self.value(&key, eof)? {
                        self.state = State::Value(key);
                        return Ok(());
                    }
                    self.state = State::AfterValue;
                }
                State::AfterValue if byte == b',' => {
                    self.pos += 1;
                    self.state = State::Key;
                }
                State::AfterValue if byte == b'}' => {
                    self.pos += 1;
                    self.state = State::Done;
                }
                State::AfterValue => return Err(self.unexpected("`,` or `}`")),
                State::Done => return Err(self.unexpected("the end of the body")),
            }
        }
    }

    /// Parses a value of type `T` at `pos`; `None` means more bytes are needed.
    fn parse_here<T: for<'a> Deserialize<'a>, E>(&mut self, eof: bool) -> Result<Option<T>, PageError<E>> {
        let slice = &self.buf[self.pos..];
        match parse_one::<T>(slice, eof).map_err(PageError::Malformed)? {
            Step::Value(value, end) => {
                self.pos += end;
                Ok(Some(value))
            }
            Step::NeedMore => {
                self.need = 2 * slice.len();
                Ok(None)
            }
        }
    }

    /// Reads the value of a non-`people` key into the meta. `false` means more bytes are needed.
    fn value<E>(&mut self, key: &str, eof: bool) -> Result<bool, PageError<E>> {
        let wrong = |what: &str| PageError::Malformed(format!("`{key}` is not {what}"));
        macro_rules! read {
            ($ty:ty) => {
                match self.parse_here::<serde_json::Value, E>(eof)? {
                    None => return Ok(false),
                    Some(value) => serde_json::from_value::<$ty>(value),
                }
            };
        }
        // The cursor and the credits steer the walk and must be right; the rest only informs, so a value
        // of the wrong type is logged and ignored rather than failing a page that was paid for.
        let ignored = |what: &str| tracing::warn!("ignoring `{key}` in a page: it is not {what}");
        match key {
            "total" => match read!(Option<u64>) {
                Ok(total) => self.meta.total = total,
                Err(_) => ignored("a whole number or null"),
            },
            "searchAfter" => {
                let cursor = read!(Option<String>).map_err(|_| wrong("a string or null"))?;
                if cursor.as_deref() == Some("") {
                    tracing::warn!("the page's searchAfter is an empty string: taken as the end of results");
                }
                self.meta.search_after = cursor.filter(|c| !c.is_empty());
            }
            "creditsUsed" => {
                let credits = read!(Option<f64>).map_err(|_| wrong("a number"))?;
                if credits.is_some_and(|c| !c.is_finite() || c < 0.0) {
                    return Err(wrong("a non-negative number"));
                }
                self.meta.credits_used = credits;
            }
            "lookalikePeopleStatuses" => match read!(Option<SeedStatuses>) {
                Ok(statuses) => self.meta.seed_statuses = statuses,
                Err(_) => ignored("lists of handles"),
            },
            "redirectMap" => match read!(Option<BTreeMap<String, String>>) {
                Ok(map) => self.meta.redirect_map = map.unwrap_or_default(),
                Err(_) => ignored("a map of strings"),
            },
            "includeDomainsStatuses" => match read!(Option<BTreeMap<String, String>>) {
                Ok(map) => self.meta.include_domains_statuses = map.unwrap_or_default(),
                Err(_) => ignored("a map of strings"),
            },
            _ => {
                if self.parse_here::<IgnoredAny, E>(eof)?.is_none() {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Vec<String>);

    impl PersonSink for Collect {
        type Error = std::convert::Infallible;
        fn person(&mut self, person: &Person<'_>) -> Result<(), Self::Error> {
            self.0.push(String::from_utf8(person.raw().to_vec()).unwrap());
            Ok(())
        }
    }

    fn parse_in_chunks(body: &[u8], chunk: usize) -> Result<(PageMeta, Vec<String>), String> {
        let mut parser = PageParser::new();
        let mut sink = Collect::default();
        for piece in body.chunks(chunk.max(1)) {
            parser.feed(piece, &mut sink).map_err(|e| e.to_string())?;
        }
        let meta = parser.finish(&mut sink).map_err(|e| e.to_string())?;
        Ok((meta, sink.0))
    }

    const PAGE: &str = r#"{"people":[{"id":"a","summary":"x,\"}]{ æøå 漢字 😀"},{"id":"b","n":[1,2]} ],"detail":"OK",
        "lookalikePeopleStatuses":{"successfulPeople":["s"],"notFoundPeople":null},"total":123,
        "searchAfter":"CUR","redirectMap":null,"creditsUsed":0.4,"future":{"x":[1]}}"#;

    #[test]
    fn every_chunking_gives_the_same_page() {
        let (meta, people) = parse_in_chunks(PAGE.as_bytes(), PAGE.len()).unwrap();
        assert_eq!(people, vec![r#"{"id":"a","summary":"x,\"}]{ æøå 漢字 😀"}"#, r#"{"id":"b","n":[1,2]}"#]);
        assert_eq!(meta.people, 2);
        assert_eq!(meta.total, Some(123));
        assert_eq!(meta.search_after.as_deref(), Some("CUR"));
        assert_eq!(meta.credits_used, Some(0.4));
        assert_eq!(meta.seed_statuses.unwrap().successful_people.len(), 1);
        for chunk in 1..PAGE.len() {
            let (meta2, people2) = parse_in_chunks(PAGE.as_bytes(), chunk).unwrap();
            assert_eq!((meta2.total, meta2.search_after, &people2), (Some(123), Some("CUR".to_owned()), &people));
        }
    }

    #[test]
    fn a_number_split_across_chunks_is_not_cut() {
        let body = br#"{"people":[],"total":12345,"creditsUsed":1.25}"#;
        for chunk in 1..body.len() {
            let (meta, _) = parse_in_chunks(body, chunk).unwrap();
            assert_eq!((meta.total, meta.credits_used), (Some(12345), Some(1.25)), "chunk {chunk}");
        }
    }

    /// Found by the `page` fuzz target: `{"creUsed":1.6,"people":[{}]}` in chunks of 13 bytes was refused.
    #[test]
    fn a_number_split_inside_a_person_or_an_unknown_key_is_not_invalid() {
        let body = br#"{"creUsed":1.6,"people":[{"id":"a","r":-0.5e+3,"s":[1.25E-2,-7]}],"x":-2,"total":1}"#;
        let (_, whole) = parse_in_chunks(body, body.len()).unwrap();
        for chunk in 1..body.len() {
            let (meta, people) = parse_in_chunks(body, chunk).unwrap_or_else(|e| panic!("chunk {chunk}: {e}"));
            assert_eq!((meta.total, &people), (Some(1), &whole), "chunk {chunk}");
        }
        for bad in [&br#"{"people":[{"r":1.}]}"#[..], br#"{"people":[],"x":-}"#, br#"{"people":[],"x":1e}"#] {
            assert!(parse_in_chunks(bad, 1).unwrap_err().contains("invalid number"));
        }
    }

    #[test]
    fn truncated_html_and_misshapen_pages_are_errors() {
        for cut in 0..PAGE.len() {
            assert!(parse_in_chunks(&PAGE.as_bytes()[..cut], 7).is_err(), "cut at {cut}");
        }
        let html = parse_in_chunks(b"<html><body>Gateway Timeout</body></html>", 10).unwrap_err();
        assert!(html.contains("Gateway Timeout"), "{html}");
        assert!(parse_in_chunks(br#"{"people":{}}"#, 3).is_err());
        assert!(parse_in_chunks(br#"{"detail":"OK"}"#, 3).unwrap_err().contains("no `people`"));
        assert!(parse_in_chunks(br#"{"people":[],"searchAfter":5}"#, 3).is_err());
        assert!(parse_in_chunks(br#"{"people":[],"creditsUsed":"x"}"#, 3).is_err());
        assert!(parse_in_chunks(br#"{"people":[],"people":[]}"#, 3).unwrap_err().contains("twice"));
        assert!(parse_in_chunks(br#"{"people":[]} x"#, 3).is_err());
        assert!(parse_in_chunks(br#"[]"#, 3).is_err());
        let not_utf8 = parse_in_chunks(b"{\"people\":[{\"id\":\"\xff\"}]}", 5).unwrap_err();
        assert!(not_utf8.contains("not UTF-8"), "{not_utf8}");
        assert!(parse_in_chunks("{\"people\":[],\"detail\":\"ø".as_bytes(), 4).is_err());
    }

    #[test]
    fn informational_fields_of_the_wrong_type_are_ignored() {
        let body = br#"{"people":[{"id":"a"},12345],"total":-3,"redirectMap":[1],"lookalikePeopleStatuses":"x","creditsUsed":0.2}"#;
        for chunk in 1..body.len() {
            let (meta, people) = parse_in_chunks(body, chunk).unwrap();
            assert_eq!((meta.total, meta.people, people[1].as_str()), (None, 2, "12345"), "chunk {chunk}");
        }
        let (meta, _) = parse_in_chunks(br#"{"people":[],"searchAfter":""}"#, 5).unwrap();
        assert_eq!(meta.search_after, None);
    }

    #[test]
    fn null_and_absent_cursor_both_end() {
        let (meta, _) = parse_in_chunks(br#"{"people":[],"searchAfter":null,"creditsUsed":0}"#, 4).unwrap();
        assert_eq!(meta.search_after, None);
        let (meta, _) = parse_in_chunks(br#"{"people":[],"creditsUsed":0}"#, 4).unwrap();
        assert_eq!(meta.search_after, None);
    }

    #[test]
    fn statuses_merge_found_wins() {
        let mut a = SeedStatuses::default();
        a.not_found_people.insert("x".into());
        let mut b = SeedStatuses::default();
        b.successful_people.insert("x".into());
        a.merge(&b);
        assert!(a.not_found_people.is_empty());
        assert!(a.successful_people.contains("x"));
    }
}

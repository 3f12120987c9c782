//! The first step of loading a job: bytes → UTF-8 text → the job file's tables, every value checked
//! against its type, with the spans of keys and values kept for errors found later.
//!
//! serde stops at the first bad value, so the tables are checked in rounds: each error is recorded with
//! its place and key, the entry it points at is taken out of the parsed document, and the rest is
//! checked again, until everything left is valid. A job with five mistakes shows five errors at once.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::{JobError, Located, MAX_PROBLEMS, Problems, closest};
use super::settings::{ApiSettings, LimitSettings, OutputSettings};
use super::{hints, schema};
use crate::api::body::SearchBody;

/// Largest job file accepted. Far beyond any hand-written job, and it bounds the TOML parser's memory,
/// which keeps tens of bytes of tokens per byte of dense input (8 MB of `=` lines took 590 MB).
pub const MAX_JOB_FILE_BYTES: usize = 4 << 20;

/// A job file past this size is checked for at most a few problems at once.
const LARGE_JOB_FILE: usize = 256 << 10;

/// The job file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JobFile {
    pub name: Option<String>,
    pub search: SearchBody,
    #[serde(default)]
    pub seeds: SeedsTable,
    // The settings tables are checked here for their line and column; their values are merged in `settings`.
    #[serde(default, rename = "output")]
    pub output: OutputTables,
    #[serde(default, rename = "api")]
    pub api: ApiSettings,
    #[serde(default, rename = "limits")]
    pub _limits: LimitSettings,
}

/// `[output]`, or several `[[output]]` entries: checked here, each strictly; read in `output`.
#[derive(Debug, Default)]
pub(super) enum OutputTables {
    #[default]
    One,
    Many,
}

impl<'de> Deserialize<'de> for OutputTables {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{MapAccess, SeqAccess, Visitor, value::MapAccessDeserializer};
        struct Tables;
        impl<'de> Visitor<'de> for Tables {
            type Value = OutputTables;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an [output] table or [[output]] entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OutputTables, A::Error> {
                OutputSettings::deserialize(MapAccessDeserializer::new(map)).map(|_| OutputTables::One)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OutputTables, A::Error> {
                while seq.next_element::<OutputSettings>()?.is_some() {}
                Ok(OutputTables::Many)
            }
        }
        d.deserialize_any(Tables)
    }
}

/// `[seeds]`: lookalike seed people.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SeedsTable {
    /// Handles or profile URLs.
    pub linkedin: Option<Vec<String>>,
    /// A CSV file of handles or profile URLs (a CRM export, say), relative to the job file's folder.
    pub file: Option<PathBuf>,
    /// The seeds file's column of LinkedIn profiles, by its header; found by name or content when unset.
    pub column: Option<String>,
}

/// One step of a path to a value: a key of a table or an item of an array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

impl From<&str> for Seg {
    fn from(key: &str) -> Seg {
        Seg::Key(key.to_owned())
    }
}

impl From<usize> for Seg {
    fn from(index: usize) -> Seg {
        Seg::Index(index)
    }
}

/// A path as the job file's reader knows it: `search.peopleFilters.countries[1]`.
pub fn dotted(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// `["search", "size"]` as a path.
pub fn path(keys: &[&str]) -> Vec<Seg> {
    keys.iter().map(|k| Seg::from(*k)).collect()
}

/// The job file's text, or an error at the first byte past the size limit or the first byte that is not UTF-8.
pub(super) fn text(path: &Path, bytes: Vec<u8>) -> Result<String, JobError> {
    if bytes.len() > MAX_JOB_FILE_BYTES {
        // The place is where the limit is crossed (or the first byte that is not UTF-8, if that comes first).
        let head = &bytes[..MAX_JOB_FILE_BYTES];
        let text = std::str::from_utf8(head)
            .unwrap_or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default());
        let message = format!("the job file is larger than {} MiB; is it the right file?", MAX_JOB_FILE_BYTES >> 20);
        return Err(Located { path, text }.error(text.len()..text.len(), message, None));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let prefix = std::str::from_utf8(&e.as_bytes()[..valid]).unwrap_or_default();
        Located { path, text: prefix }.error(
            valid..valid,
            "the job file is not UTF-8 text",
            Some("save it as UTF-8 (in Notepad: Save as → Encoding → UTF-8)".to_owned()),
        )
    })
}

/// The job file's tables, as far as they are valid, and the spans of the file as written.
pub(super) struct Decoded<'a> {
    pub file: JobFile,
    pub spans: Spans<'a>,
    /// The settings tables (`[api]`, `[limits]`, `[output]`) that passed, as TOML text for the settings layers.
    pub settings_text: String,
}

/// Parses the job file and checks every value against its type (the request body against Ocean's
/// schema), recording each problem; `None` when nothing is left to go on (a syntax error: past one,
/// nothing can be trusted).
pub(super) fn tables<'a>(located: &Located<'a>, problems: &mut Problems) -> Option<Decoded<'a>> {
    let parsed = match DeTable::parse(located.text) {
        Ok(parsed) => parsed,
        Err(e) => {
            problems.push(located.toml_error(&e));
            return None;
        }
    };
    let mut doc = parsed.clone();
    // Keys taken out because their value was wrong: a required one is then missing without a second error.
    let mut removed: Vec<Vec<Seg>> = Vec::new();
    // Each round checks the whole document again: a few rounds for a file far larger than any job.
    let rounds = if located.text.len() <= LARGE_JOB_FILE { MAX_PROBLEMS + 1 } else { 5 };
    for _ in 0..rounds {
        let error = match JobFile::deserialize(toml::de::Deserializer::from(doc.clone())) {
            Ok(file) => {
                // Never silently without the job's settings: the text as written, should the checked
                // tables not turn back into text.
                let settings_text = settings_text(doc.into_inner()).unwrap_or_else(|| located.text.to_owned());
                return Some(Decoded { file, spans: Spans(Some(parsed)), settings_text });
            }
            Err(error) => error,
        };
        let span = error.span().unwrap_or(0..0);
        let at = locate(doc.get_ref(), &span);
        let message = error.message().trim().to_owned();
        let missing = missing_field(&message);
        let follows_removal = missing.as_ref().is_some_and(|key| {
            let mut full = at.clone();
            full.push(Seg::from(key.as_str()));
            removed.contains(&full)
        });
        if !follows_removal {
            problems.push(explain(located, span, &at, &message));
        }
        // Take out what the error points at; for a missing required key, the table that misses it (the
        // job's missing `[search]` becomes an empty one).
        if at.is_empty() && missing.as_deref() == Some("search") {
            let empty = Spanned::new(0..0, DeValue::Table(DeTable::new()));
            doc.get_mut().insert(Spanned::new(0..0, "search".into()), empty);
        } else if at.is_empty() || !remove(doc.get_mut(), &at) {
            return None;
        } else {
            removed.push(at);
        }
    }
    problems.push(JobError::Setting("… and perhaps more problems: fix these and check again".to_owned()));
    None
}

/// The settings tables of a checked document, as TOML text.
fn settings_text(all: DeTable) -> Option<String> {
    let mut doc = DeTable::new();
    for (key, value) in all {
        if matches!(key.get_ref().as_ref(), "api" | "limits" | "output") {
            doc.insert(key, value);
        }
    }
    let table = toml::Table::deserialize(toml::de::Deserializer::from(Spanned::new(0..0, doc)));
    table.ok().and_then(|t| toml::to_string(&t).ok())
}

/// The key of a `missing field` error.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// The path of the innermost entry or item whose key or value holds `span`: the culprit of an error.
/// Empty when only the document itself does.
fn locate(table: &DeTable, span: &Range<usize>) -> Vec<Seg> {
    locate_in_table(table, span).unwrap_or_default()
}

fn holds(outer: Range<usize>, span: &Range<usize>) -> bool {
    outer != (0..0) && outer.start <= span.start && span.end <= outer.end
}

fn locate_in_table(table: &DeTable, span: &Range<usize>) -> Option<Vec<Seg>> {
    for (key, value) in table.iter() {
        let mut here = vec![Seg::Key(key.get_ref().to_string())];
        if holds(key.span(), span) {
            return Some(here);
        }
        // A table under a `[header]` does not span its entries, so every table is searched.
        if let Some(deeper) = locate_in_value(value.get_ref(), span) {
            here.extend(deeper);
            return Some(here);
        }
        if holds(value.span(), span) {
            return Some(here);
        }
    }
    None
}

fn locate_in_value(value: &DeValue, span: &Range<usize>) -> Option<Vec<Seg>> {
    match value {
        DeValue::Table(table) => locate_in_table(table, span),
        DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let deeper = locate_in_value(item.get_ref(), span);
            match deeper {
                Some(deeper) => Some(std::iter::once(Seg::Index(i)).chain(deeper).collect()),
                None => holds(item.span(), span).then(|| vec![Seg::Index(i)]),
            }
        }),
        _ => None,
    }
}

/// Takes the entry or item at `path` out of the document; false when there is none.
fn remove(table: &mut DeTable, path: &[Seg]) -> bool {
    match path {
        [Seg::Key(key)] => table.remove(key.as_str()).is_some(),
        [Seg::Key(key), rest @ ..] => {
            let removed = table.get_mut(key.as_str()).is_some_and(|v| remove_in(v.get_mut(), rest));
            // A list emptied by taking out its wrong items was not written empty: it counts as not set, so
            // a later check does not report an empty list that was not there.
            if removed
                && table.get(key.as_str()).is_some_and(|v| matches!(v.get_ref(), DeValue::Array(a) if a.is_empty()))
            {
                table.remove(key.as_str());
            }
            removed
        }
        _ => false,
    }
}

fn remove_in(value: &mut DeValue, path: &[Seg]) -> bool {
    match (value, path) {
        (DeValue::Table(table), _) => remove(table, path),
        (DeValue::Array(items), [Seg::Index(i)]) if *i < items.len() => {
            let mut kept = toml::de::DeArray::new();
            for (j, item) in items.iter().enumerate() {
                if j != *i {
                    kept.push(item.clone());
                }
            }
            *items = kept;
            true
        }
        (DeValue::Array(items), [Seg::Index(i), rest @ ..]) => {
            items.get_mut(*i).is_some_and(|item| remove_in(item.get_mut(), rest))
        }
        _ => false,
    }
}

/// One type error as a person reads it: the place, the key's full name, what is wrong, and a hint.
fn explain(located: &Located, span: Range<usize>, at: &[Seg], message: &str) -> JobError {
    let key = dotted(at);
    let parent = at.split_last().map(|(_, p)| dotted(p)).unwrap_or_default();
    let (text, help) = if let Some((unknown, candidates)) = unknown_name(message, "field") {
        let place = if parent.is_empty() { "at the top level".to_owned() } else { format!("in `{parent}`") };
        let help = key_help(&unknown, &candidates, at);
        (format!("unknown key `{unknown}` {place}"), Some(help))
    } else if let Some((unknown, candidates)) = unknown_name(message, "variant") {
        let list = candidates.join(", ");
        let help = match closest(&unknown, candidates.iter().map(String::as_str)) {
            Some(close) => format!("did you mean `{close}`? Valid values here: {list}"),
            None => format!("valid values here: {list}"),
        };
        (format!("unknown value `{unknown}` for `{key}`"), Some(help))
    } else if let Some(missing) = missing_field(message) {
        let help = if key.is_empty() && missing == "search" {
            "every job needs a [search] table (the request body of the search), even an empty one".to_owned()
        } else {
            format!("add `{missing} = …` to `{key}`; it is required there")
        };
        let place = if key.is_empty() { String::new() } else { format!(" in `{key}`") };
        (format!("missing field `{missing}`{place}"), Some(help))
    } else if message.starts_with("must be") || message.starts_with("length must") {
        (format!("{key} {message}"), hints::for_value(&key, message))
    } else {
        let mut plain = hints::plain_types(message);
        // A TOML date reaches serde as a table; say what it is.
        let written = located.text.get(span.clone()).unwrap_or_default().as_bytes();
        if plain.starts_with("invalid type: table")
            && written.len() >= 5
            && written[..4].iter().all(u8::is_ascii_digit)
            && written[4] == b'-'
        {
            plain = plain.replacen("invalid type: table", "invalid type: date", 1);
        }
        let help = hints::for_value(&key, &plain);
        if key.is_empty() { (plain, help) } else { (format!("{key}: {plain}"), help) }
    };
    located.error(span, text, help)
}

/// For an unknown key: the close one at this level, else the same key elsewhere in a job file (a
/// `countries` written straight under `[search]` belongs in `search.peopleFilters`), else the list.
fn key_help(unknown: &str, candidates: &[String], at: &[Seg]) -> String {
    let list = if candidates.is_empty() { "none".to_owned() } else { candidates.join(", ") };
    let in_search = (at.len() > 1).then(|| at.first() == Some(&Seg::from("search")));
    // The key's own place, written in another case, is not "elsewhere".
    let here: Vec<&str> = at.iter().filter_map(|s| if let Seg::Key(k) = s { Some(k.as_str()) } else { None }).collect();
    let here = here.join(".");
    let mut elsewhere = schema::places_of(unknown, in_search);
    elsewhere.retain(|p| !p.eq_ignore_ascii_case(&here));
    match elsewhere.as_slice() {
        [] => match closest(unknown, candidates.iter().map(String::as_str)) {
            Some(close) => format!("did you mean `{close}`? Valid keys here: {list}"),
            None => format!("valid keys here: {list}"),
        },
        [only] => format!("did you mean `{only}`? `{unknown}` belongs there, not here"),
        several => format!(
            "did you mean {}? `{unknown}` belongs in one of those, not here",
            several.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" or ")
        ),
    }
}

/// From serde's ``unknown field `x`, expected one of `a`, `b` `` (or `unknown variant`): the culprit and
/// the valid names.
pub(super) fn unknown_name(message: &str, kind: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix(&format!("unknown {kind} `"))?;
    let (unknown, expected) = rest.split_once('`')?;
    let candidates = expected.split('`').skip(1).step_by(2).map(str::to_owned).collect();
    Some((unknown.to_owned(), candidates))
}

/// Spans of keys and values in a TOML text, for errors found after deserializing.
pub(super) struct Spans<'a>(Option<Spanned<DeTable<'a>>>);

impl<'a> Spans<'a> {
    /// The span of the value at `path`; the nearest enclosing value's when the path goes further than the
    /// file does, and the file's start when not even its first key is there.
    pub fn at(&self, path: &[Seg]) -> Range<usize> {
        let Some(root) = &self.0 else { return 0..0 };
        let mut found = 0..0;
        let mut value: Option<&DeValue> = None;
        for seg in path {
            let next = match (seg, value) {
                (Seg::Key(key), None) => root.get_ref().get(key.as_str()),
                (Seg::Key(key), Some(DeValue::Table(t))) => t.get(key.as_str()),
                (Seg::Index(i), Some(DeValue::Array(items))) => items.get(*i),
                _ => None,
            };
            let Some(next) = next else { break };
            found = next.span();
            value = Some(next.get_ref());
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(text: &str) -> Vec<String> {
        let path = Path::new("j.toml");
        let located = Located { path, text };
        let mut problems = Problems::new(path);
        let _ = tables(&located, &mut problems);
        match problems.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e
                .problems()
                .iter()
                .map(|p| format!("{p} | {:?}", miette::Diagnostic::help(*p).map(|h| h.to_string())))
                .collect(),
        }
    }

    #[test]
    fn every_type_error_is_found_in_one_pass() {
        let text = "nmae = \"x\"\n[search]\nsize = 0\npeopleFilters = { seniorities = [\"Manger\", \"Owner\", \"CEO\"], countrys = [\"dk\"] }\n[api]\ntimeout_secs = 1.5\n[limits]\nmax_records = 0\n";
        let found = problems_of(text);
        assert_eq!(found.len(), 7, "{found:#?}");
        assert!(found[0].starts_with("j.toml:1:1: unknown key `nmae` at the top level"), "{}", found[0]);
        assert!(found[1].starts_with("j.toml:3:8: search.size must be between 1 and 10000, got 0"), "{}", found[1]);
        assert!(found[2].starts_with("j.toml:4:34: unknown value `Manger` for `search.peopleFilters.seniorities[0]`"));
        assert!(found[3].starts_with("j.toml:4:53: unknown value `CEO`"), "{}", found[3]);
        assert!(found[4].contains("4:61: unknown key `countrys` in `search.peopleFilters`"), "{}", found[4]);
        assert!(found[5].starts_with("j.toml:6:16: api.timeout_secs: invalid type"), "{found:#?}");
        assert!(found[6].starts_with("j.toml:8:15: limits.max_records: invalid value"), "{found:#?}");
    }

    #[test]
    fn a_misplaced_key_is_pointed_to_its_table() {
        let found = problems_of("[search]\ncountries = [\"dk\"]\n");
        assert!(found[0].contains("did you mean `search.peopleFilters.countries`?"), "{found:?}");
        let found = problems_of("[search]\n[api]\nmax_records = 5\n");
        assert!(found[0].contains("did you mean `limits.max_records`?"), "{found:?}");
        let found = problems_of("[search]\nexcludeCountries = [\"dk\"]\n");
        assert!(found[0].contains("`search.peopleFilters.excludeCountries` or"), "{found:?}");
        // The right table, the wrong case: the key here is meant.
        let found = problems_of("[search]\npeopleFilters = { Countries = [\"dk\"] }\n");
        assert!(found[0].contains("did you mean `countries`? Valid keys here"), "{found:?}");
    }

    #[test]
    fn a_wrong_required_value_is_one_error_not_two() {
        let found = problems_of("search = \"everyone\"\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("j.toml:1:10: search: invalid type"), "{found:?}");
        let found = problems_of("# nothing\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("missing field `search`"), "{found:?}");
    }
}

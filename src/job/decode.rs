//! The first step of loading a job: bytes → UTF-8 text → the job file's tables, with the spans of its
//! keys kept for errors found later.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::diagnostic::{JobError, Located};
use super::settings::{ApiSettings, LimitSettings, OutputSettings};
use crate::api::body::SearchBody;

/// Largest job file accepted. Far beyond any hand-written job, and it bounds the TOML parser's memory,
/// which keeps tens of bytes of tokens per byte of dense input (8 MB of `=` lines took 590 MB).
pub const MAX_JOB_FILE_BYTES: usize = 4 << 20;

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
    pub _output: OutputSettings,
    #[serde(default, rename = "api")]
    pub api: ApiSettings,
    #[serde(default, rename = "limits")]
    pub _limits: LimitSettings,
}

/// `[seeds]`: lookalike seed people.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SeedsTable {
    /// Handles or profile URLs.
    #[serde(default)]
    pub linkedin: Vec<String>,
    /// A CSV file of handles or profile URLs, one per row, relative to the job file's folder.
    pub file: Option<PathBuf>,
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
        Located { path, text: prefix }.error(valid..valid, "the job file is not UTF-8 text", None)
    })
}

/// The job file's tables, each value checked against its type (the request body against Ocean's schema).
pub(super) fn tables(located: &Located) -> Result<JobFile, JobError> {
    toml::from_str(located.text).map_err(|e| located.toml_error(&e))
}

/// Spans of keys and values in a TOML text, for errors found after deserializing.
pub(super) struct Spans<'a>(Option<toml::Spanned<toml::de::DeTable<'a>>>);

impl<'a> Spans<'a> {
    pub fn parse(text: &'a str) -> Spans<'a> {
        Spans(toml::de::DeTable::parse(text).ok())
    }

    /// The span of the value at `keys` (and item `index` of it, if given); the file's start when absent.
    pub fn at(&self, keys: &[&str], index: Option<usize>) -> Range<usize> {
        self.find(keys, index).unwrap_or(0..0)
    }

    fn find(&self, keys: &[&str], index: Option<usize>) -> Option<Range<usize>> {
        let mut table = self.0.as_ref()?.get_ref();
        let mut found: Option<&toml::Spanned<toml::de::DeValue>> = None;
        for (depth, key) in keys.iter().enumerate() {
            let (_, value) = table.iter().find(|(k, _)| k.get_ref().as_ref() == *key)?;
            found = Some(value);
            if depth + 1 < keys.len() {
                match value.get_ref() {
                    toml::de::DeValue::Table(inner) => table = inner,
                    _ => return None,
                }
            }
        }
        let value = found?;
        match (index, value.get_ref()) {
            (Some(i), toml::de::DeValue::Array(items)) => items.get(i).map(|item| item.span()),
            _ => Some(value.span()),
        }
    }
}

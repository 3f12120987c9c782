//! Errors in a job, seeds or settings file, pointing at file:line:column, with a snippet when shown on a terminal.

use std::ops::Range;
use std::path::{Path, PathBuf};

use miette::{NamedSource, SourceSpan};

/// A problem at a place in a file.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{file}:{line}:{column}: {message}")]
pub struct At {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[source_code]
    pub source_code: NamedSource<String>,
    #[label("{label}")]
    pub span: SourceSpan,
    pub label: String,
    #[help]
    pub help: Option<String>,
}

/// Why a job cannot run. Every variant means exit 2: nothing was sent.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum JobError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    At(Box<At>),
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    /// A setting from the environment, a flag or the merged layers, which has no line to point at.
    #[error("{0}")]
    Setting(String),
}

/// Locates byte offsets of one file as line and column (both 1-based, columns in characters).
pub struct Located<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Located<'_> {
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(self.text, offset.min(self.text.len()));
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    /// An error at `span` of this file.
    pub fn error(&self, span: Range<usize>, message: impl Into<String>, help: Option<String>) -> JobError {
        let message = message.into();
        let start = floor_char_boundary(self.text, span.start.min(self.text.len()));
        let end = floor_char_boundary(self.text, span.end.clamp(start, self.text.len()));
        let (line, column) = self.line_column(start);
        let label: String = message.lines().next().unwrap_or_default().chars().take(60).collect();
        // The snippet needs only the lines around the error: a 100 MB file is not copied whole. Blank lines
        // stand in for the lines before, so the snippet's line numbers stay right.
        let (window, shift) = window(self.text, start, end);
        let padding = "\n".repeat(line - 1);
        JobError::At(Box::new(At {
            file: self.path.display().to_string(),
            line,
            column,
            message,
            source_code: NamedSource::new(self.path.display().to_string(), format!("{padding}{window}")),
            span: (start - shift + padding.len(), end - start).into(),
            label,
            help,
        }))
    }

    /// Turns a `toml` error into one with a place. For an unknown key or value, the message names just
    /// the culprit, and the help gives the closest valid one and the full list.
    pub fn toml_error(&self, err: &toml::de::Error) -> JobError {
        let span = err.span().unwrap_or(0..0);
        let message = err.message().trim().to_owned();
        match unknown_name(&message) {
            Some((short, help)) => self.error(span, short, Some(help)),
            None => self.error(span, message, None),
        }
    }
}

/// From serde's `unknown field `x`, expected one of `a`, `b`` (or `unknown variant`), a short message
/// and a help with the closest valid name and all of them.
fn unknown_name(message: &str) -> Option<(String, String)> {
    let (kind, rest) = ["field", "variant"]
        .iter()
        .find_map(|kind| message.strip_prefix(&format!("unknown {kind} `")).map(|rest| (*kind, rest)))?;
    let (unknown, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let what = if kind == "field" { "key" } else { "value" };
    let list = if candidates.is_empty() { "none".to_owned() } else { candidates.join(", ") };
    let help = match closest(unknown, candidates.iter().copied()) {
        Some(close) => format!("did you mean `{close}`? Valid {what}s here: {list}"),
        None => format!("valid {what}s here: {list}"),
    };
    Some((format!("unknown {what} `{unknown}`"), help))
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// At most a few lines around `start..end`, and the offset of the window in the text.
fn window(text: &str, start: usize, end: usize) -> (&str, usize) {
    const AROUND: usize = 2_000;
    let from = floor_char_boundary(text, start.saturating_sub(AROUND));
    let from = text[from..start].find('\n').map_or(from, |i| from + i + 1).min(start);
    let to = floor_char_boundary(text, (end + AROUND).min(text.len()));
    let to = text[end..to].rfind('\n').map_or(to, |i| end + i).max(end);
    (&text[from..to], from)
}

/// The candidate most like `word`, if any is close enough to be a plausible misspelling.
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based() {
        let located = Located { path: Path::new("j.toml"), text: "a = 1\nbé = 2\n" };
        assert_eq!(located.line_column(0), (1, 1));
        assert_eq!(located.line_column(6), (2, 1));
        assert_eq!(located.line_column(10), (2, 4));
        let err = located.error(10..11, "bad", None);
        assert!(err.to_string().starts_with("j.toml:2:4: bad"), "{err}");
    }

    #[test]
    fn suggestions_come_from_serde_messages() {
        let (short, help) =
            unknown_name("unknown field `countrys`, expected one of `countries`, `excludeCountries`").unwrap();
        assert_eq!(short, "unknown key `countrys`");
        assert_eq!(help, "did you mean `countries`? Valid keys here: countries, excludeCountries");
        let (short, help) = unknown_name("unknown variant `Manger`, expected one of `Owner`, `Manager`").unwrap();
        assert_eq!((short.as_str(), help.starts_with("did you mean `Manager`?")), ("unknown value `Manger`", true));
        assert_eq!(unknown_name("unknown field `zzz`, expected `size`").unwrap().1, "valid keys here: size");
        assert_eq!(unknown_name("invalid type"), None);
    }
}

//! Errors in a job, seeds or settings file, pointing at file:line:column with the line and a caret under
//! the culprit, and the collector that gathers every problem of a job before any is shown.

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
    /// The line the problem is on (cut to a readable width around the culprit) and the character columns
    /// under it to mark, for a plain-text snippet.
    pub excerpt: Excerpt,
}

/// One source line and the part of it to underline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Excerpt {
    pub line: String,
    /// Characters of `line` before the culprit.
    pub before: usize,
    /// Characters of the culprit on this line (at least 1).
    pub width: usize,
}

impl At {
    /// The source line with a caret under the culprit, as a compiler shows it:
    ///
    /// ```text
    ///    3 | size = 0
    ///      |        ^
    /// ```
    pub fn snippet(&self) -> String {
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        // Tabs stay tabs under the line, so the caret lines up however wide a terminal draws them.
        let indent: String =
            self.excerpt.line.chars().take(self.excerpt.before).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        format!("{number} | {}\n{pad} | {indent}{}\n", self.excerpt.line, "^".repeat(self.excerpt.width.max(1)))
    }
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
    /// Every problem of a job, in the order of the files (never fewer than two, never nested).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Several(Vec<JobError>),
}

impl JobError {
    /// The problems this error stands for: itself, or each of several.
    pub fn problems(&self) -> Vec<&JobError> {
        match self {
            JobError::Several(all) => all.iter().flat_map(JobError::problems).collect(),
            one => vec![one],
        }
    }

    /// Where the problem is, for ordering: (file, line, column); `None` for problems without a place.
    fn place(&self) -> Option<(&str, usize, usize)> {
        match self {
            JobError::At(at) => Some((&at.file, at.line, at.column)),
            _ => None,
        }
    }
}

/// Most problems shown for one job: past this many, the rest are counted, not listed.
pub const MAX_PROBLEMS: usize = 50;

/// Gathers the problems of a job, so that one run shows all of them, not just the first.
pub struct Problems {
    /// The job file: its problems come first, then those in other files (a seeds file), then the rest.
    job_file: String,
    found: Vec<JobError>,
    dropped: usize,
}

impl Problems {
    pub fn new(job_file: &Path) -> Problems {
        Problems { job_file: job_file.display().to_string(), found: Vec::new(), dropped: 0 }
    }

    pub fn push(&mut self, error: JobError) {
        match error {
            JobError::Several(all) => all.into_iter().for_each(|e| self.push(e)),
            one if self.found.len() < MAX_PROBLEMS => self.found.push(one),
            _ => self.dropped += 1,
        }
    }

    /// Records the error of a step, if it failed, and gives its value otherwise.
    pub fn take<T>(&mut self, result: Result<T, JobError>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// Ok when nothing was found; otherwise the problems in file order: the job file's by line and
    /// column, then other files', then those without a place.
    pub fn finish(mut self) -> Result<(), JobError> {
        let job_file = std::mem::take(&mut self.job_file);
        self.found.sort_by(|a, b| {
            let key = |e: &JobError| match e.place() {
                Some((file, line, column)) => (if file == job_file { 0 } else { 1 }, file.to_owned(), line, column),
                None => (2, String::new(), 0, 0),
            };
            key(a).cmp(&key(b))
        });
        if self.dropped > 0 {
            self.found.push(JobError::Setting(format!("… and {} more problems", self.dropped)));
        }
        match self.found.len() {
            0 => Ok(()),
            1 => Err(self.found.remove(0)),
            _ => Err(JobError::Several(self.found)),
        }
    }
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
        let padding = "\n".repeat(self.text[..shift].matches('\n').count());
        let excerpt = excerpt(self.text, start, end);
        JobError::At(Box::new(At {
            file: self.path.display().to_string(),
            line,
            column,
            message,
            source_code: NamedSource::new(self.path.display().to_string(), format!("{padding}{window}")),
            span: (start - shift + padding.len(), end - start).into(),
            label,
            help,
            excerpt,
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
    // Start at a line's start: past the first line break, unless the window starts the text or a line.
    let from = if from == 0 || text[..from].ends_with('\n') {
        from
    } else {
        text[from..start].find('\n').map_or(from, |i| from + i + 1).min(start)
    };
    let to = floor_char_boundary(text, (end + AROUND).min(text.len()));
    let to = text[end..to].rfind('\n').map_or(to, |i| end + i).max(end);
    (&text[from..to], from)
}

/// The line around `start`, cut to about 100 characters around the culprit, and where the culprit is in it.
fn excerpt(text: &str, start: usize, end: usize) -> Excerpt {
    const WIDTH: usize = 100;
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = text[line_start..line_end].trim_end_matches('\r');
    let before_text = &line[..(start - line_start).min(line.len())];
    let mut before = before_text.chars().count();
    let culprit = &text[start..end.min(line_start + line.len()).max(start)];
    let width = culprit.chars().count().clamp(1, WIDTH);
    // A long line (minified, or 4 MB of junk) shows only a stretch around the culprit.
    let skip = if line.chars().count() > WIDTH { before.saturating_sub(WIDTH / 2) } else { 0 };
    let shown: String = line.chars().skip(skip).take(WIDTH + width).collect();
    before -= skip;
    let line = if skip > 0 { format!("…{shown}") } else { shown };
    Excerpt { line, before: before + usize::from(skip > 0), width }
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
    fn snippets_show_the_line_and_a_caret_under_the_culprit() {
        let text = "# job\n[search]\nsize = 0\npeopleFilters = {}\n";
        let located = Located { path: Path::new("j.toml"), text };
        let JobError::At(at) = located.error(22..23, "search.size must be between 1 and 10000, got 0", None) else {
            panic!("an error at a place")
        };
        assert_eq!(at.snippet(), "3 | size = 0\n  |        ^\n");
        // miette's drawing numbers the lines the same (a window that starts at the file's start).
        let mut drawn = String::new();
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .render_report(&mut drawn, at.as_ref())
            .unwrap();
        assert!(drawn.contains("[j.toml:3:8]") && drawn.contains("3 │ size = 0"), "{drawn}");
        // A long line shows a stretch around the culprit.
        let long = format!("x = \"{}\"\ny = 1\n", "a".repeat(500));
        let located = Located { path: Path::new("j.toml"), text: &long };
        let JobError::At(at) = located.error(300..301, "here", None) else { panic!() };
        let line = at.snippet().lines().next().unwrap().to_owned();
        assert!(line.starts_with("1 | …") && line.chars().count() < 120, "{line}");
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

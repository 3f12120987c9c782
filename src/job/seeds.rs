//! Lookalike seeds: LinkedIn handles or profile URLs, from the job file and from a seeds file, normalised
//! to handles.
//!
//! A seeds file is whatever a CRM exports (HubSpot, Salesforce, Pipedrive, a spreadsheet): comma-,
//! semicolon- or tab-separated, with or without a byte-order mark, any line ends. The column of
//! LinkedIn person profiles is found by content or header (or named by `[seeds] column`); rows that are
//! not person profiles (Sales Navigator leads, company pages, blanks) are skipped and listed (a warning
//! once the job loads, or the hint of the error when nothing is left). Seeds
//! written in the job file itself are held to the stricter rule: each must be a profile.

use std::io::Read;
use std::path::Path;

use super::decode::{SeedsTable, Seg, Spans, path};
use super::diagnostic::{JobError, Located, Problems, closest};

/// Largest seeds file accepted: a seeds file lists example people, a few to a few thousand; a file this
/// big is most likely the wrong one (a whole CRM), and every request carries every seed.
pub const MAX_SEEDS_FILE_BYTES: usize = 32 << 20;

/// Seed rows shown in the warning about skipped rows.
const SHOWN_SKIPPED: usize = 5;

/// Rows of a seeds file that cannot be handles, shown as errors before the rest are only counted.
const SHOWN_BAD_ROWS: usize = 10;

/// Every seed of a job, as a handle with the job key it came from: `[seeds] linkedin`, then the rows of
/// the seeds file, which is found relative to the job file's folder (as Compose files and `Cargo.toml`
/// name their neighbours), so a job runs the same from any folder.
pub(super) fn collect(
    table: &SeedsTable,
    job: &Located,
    spans: &Spans,
    problems: &mut Problems,
) -> (Vec<(String, String)>, Vec<String>) {
    let mut seeds = Vec::new();
    let mut warnings = Vec::new();
    for (i, raw) in table.linkedin.iter().flatten().enumerate() {
        match normalise(raw) {
            Ok(handle) => seeds.push((handle, format!("seeds.linkedin[{i}]"))),
            Err(message) => problems.push(job.error(
                spans.at(&[Seg::from("seeds"), Seg::from("linkedin"), Seg::from(i)]),
                format!("seeds.linkedin[{i}]: {message}"),
                Some("write a LinkedIn handle (michael-scott-13532) or a profile URL (https://www.linkedin.com/in/michael-scott-13532/)".to_owned()),
            )),
        }
    }
    let file_span = spans.at(&path(&["seeds", "file"]));
    if let Some(file) = &table.file {
        let full = job.path.parent().unwrap_or(Path::new("")).join(file);
        let shown = file.display();
        match read_file(&full, table.column.as_deref(), problems) {
            Err(FileError::Read(source)) => problems.push(job.error(
                file_span,
                format!("seeds.file: cannot read the seeds file {}: {source}", full.display()),
                Some("a seeds file is found relative to the job file's folder".to_owned()),
            )),
            Err(FileError::TooLarge) => problems.push(job.error(
                file_span,
                format!(
                    "seeds.file: {shown} is larger than {} MiB; a seeds file lists example people (a few to a few thousand): is it the right file?",
                    MAX_SEEDS_FILE_BYTES >> 20
                ),
                Some("export only the people to find lookalikes of, with their LinkedIn profile URLs".to_owned()),
            )),
            Err(FileError::NoColumn { columns }) => problems.push(job.error(
                file_span,
                format!("seeds.file: {shown} has no column of LinkedIn profile URLs or handles"),
                Some(format!(
                    "its columns are {}; name the one to use with `column = \"...\"` under [seeds]",
                    columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                )),
            )),
            Err(FileError::UnknownColumn { columns }) => {
                let written = table.column.as_deref().unwrap_or_default();
                let list = columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
                let help = match closest(written, columns.iter().map(String::as_str)) {
                    Some(close) => format!("did you mean `{close}`? Its columns are {list}"),
                    None => format!("its columns are {list}"),
                };
                problems.push(job.error(
                    spans.at(&path(&["seeds", "column"])),
                    format!("seeds.column: {shown} has no column `{written}`"),
                    Some(help),
                ));
            }
            Err(FileError::Bad) => {}
            Ok(read) => {
                if read.seeds.is_empty() {
                    let what = if read.skipped.is_empty() {
                        "no rows".to_owned()
                    } else {
                        format!("{} row(s), none a person profile", read.skipped.len())
                    };
                    let skipped =
                        if read.skipped.is_empty() { String::new() } else { format!(" (skipped: {})", read.skipped_rows()) };
                    problems.push(job.error(
                        file_span,
                        format!("seeds.file: {shown} holds no seed ({what} in column `{}`)", read.column),
                        Some(format!(
                            "a lookalike search needs at least one LinkedIn person profile (linkedin.com/in/…){skipped}; \
                             remove `file` from [seeds] for a plain filter search"
                        )),
                    ));
                } else if !read.skipped.is_empty() {
                    warnings.push(read.skipped_summary(&shown.to_string()));
                }
                seeds.extend(
                    read.seeds.into_iter().map(|(handle, row)| (handle, format!("seeds.file ({shown}, row {row})"))),
                );
            }
        }
    } else if table.linkedin.as_ref().is_some_and(Vec::is_empty) {
        // `[seeds]` with nothing in it would quietly turn a lookalike pull into a plain filter search.
        problems.push(
            job.error(
                spans.at(&path(&["seeds", "linkedin"])),
                "seeds.linkedin is empty: a lookalike search needs at least one seed",
                Some(
                    "add handles or profile URLs, name a seeds `file`, or remove [seeds] for a plain filter search"
                        .to_owned(),
                ),
            ),
        );
    }
    (seeds, warnings)
}

/// The handle of a LinkedIn profile, from a handle or a profile URL:
/// `https://www.linkedin.com/in/Michael-Scott-13532/?trk=x` → `michael-scott-13532`.
pub fn normalise(input: &str) -> Result<String, String> {
    let trimmed = input.trim();
    let handle = match trimmed.to_ascii_lowercase().find("linkedin.com/") {
        Some(at) => {
            let path = &trimmed[at + "linkedin.com/".len()..];
            let path = path.split(['?', '#']).next().unwrap_or_default();
            let mut parts = path.split('/').filter(|p| !p.is_empty());
            match (parts.next(), parts.next()) {
                (Some(kind), Some(handle)) if kind.eq_ignore_ascii_case("in") => handle,
                _ => {
                    return Err(format!(
                        "`{trimmed}` is not a LinkedIn profile URL (expected …linkedin.com/in/<handle>)"
                    ));
                }
            }
        }
        None => trimmed,
    };
    let handle = percent_encoding::percent_decode_str(handle)
        .decode_utf8()
        .map_err(|_| format!("`{trimmed}` has a percent-escape that is not UTF-8"))?
        .to_lowercase();
    if handle.is_empty() {
        return Err("an empty seed".to_owned());
    }
    if let Some(bad) = handle.chars().find(|c| c.is_whitespace() || c.is_control() || "/?#,;\"'<>".contains(*c)) {
        return Err(format!("`{trimmed}` is not a LinkedIn handle (it contains {bad:?})"));
    }
    if handle.chars().count() > 100 {
        return Err(format!("`{trimmed}` is too long for a LinkedIn handle"));
    }
    Ok(handle)
}

/// What a cell of a seeds file holds.
#[derive(Debug, PartialEq)]
enum Cell {
    /// A person profile, as a handle.
    Seed(String),
    /// Not a person profile, and plainly so: skipped with this reason.
    Skip(&'static str),
    /// Meant as a handle, but not one (a name with a space, say): an error.
    Bad(String),
}

/// Cells that say "nothing here".
const PLACEHOLDERS: &[&str] = &["-", "--", "—", "n/a", "#n/a", "na", "none", "null", "nil", "?", "tbd", "unknown"];

fn classify(cell: &str) -> Cell {
    let trimmed = cell.trim();
    let lower = trimmed.to_lowercase();
    if trimmed.is_empty() {
        return Cell::Skip("blank");
    }
    if PLACEHOLDERS.contains(&lower.as_str()) {
        return Cell::Skip("no value");
    }
    if let Some(at) = lower.find("linkedin.com/") {
        let path = lower[at + "linkedin.com/".len()..].trim_start_matches('/');
        let reason = if path.starts_with("in/") {
            return match normalise(trimmed) {
                Ok(handle) => Cell::Seed(handle),
                Err(_) if path.trim_end_matches('/') == "in" => Cell::Skip("an empty /in/ link"),
                Err(message) => Cell::Bad(message),
            };
        } else if path.starts_with("sales/") {
            "a Sales Navigator link, not a public profile"
        } else if path.starts_with("company/") || path.starts_with("showcase/") {
            "a company page"
        } else if path.starts_with("school/") {
            "a school page"
        } else if path.starts_with("pub/") {
            "an old /pub/ profile link (open it and copy the /in/ address)"
        } else {
            "a LinkedIn page that is not a profile"
        };
        return Cell::Skip(reason);
    }
    if lower.contains("://") || lower.starts_with("www.") {
        return Cell::Skip("not a LinkedIn address");
    }
    if lower.contains('@') && lower.contains('.') {
        return Cell::Skip("an email address");
    }
    match normalise(trimmed) {
        Ok(handle) => Cell::Seed(handle),
        Err(message) => Cell::Bad(message),
    }
}

/// A row of a seeds file that was not used.
#[derive(Clone, Debug, PartialEq)]
pub struct Skipped {
    /// The row as a spreadsheet numbers it (the header is row 1).
    pub row: u64,
    pub value: String,
    pub reason: &'static str,
}

/// What a seeds file gave.
#[derive(Debug, PartialEq)]
pub struct SeedsFile {
    /// Handles, each with its row.
    pub seeds: Vec<(String, u64)>,
    pub skipped: Vec<Skipped>,
    /// The column used: its header, or `column N` without one.
    pub column: String,
    pub delimiter: u8,
}

impl SeedsFile {
    /// The warning about skipped rows: how many, and the first few with their rows.
    pub fn skipped_summary(&self, file: &str) -> String {
        format!(
            "seeds file {file}: skipped {} row(s) of column `{}` that are not LinkedIn person profiles, using the other {}: {}",
            self.skipped.len(),
            self.column,
            self.seeds.len(),
            self.skipped_rows()
        )
    }

    /// The first few skipped rows, each with its row number and why, and how many more.
    pub fn skipped_rows(&self) -> String {
        let shown: Vec<String> = self
            .skipped
            .iter()
            .take(SHOWN_SKIPPED)
            .map(|s| {
                let mut value: String = s.value.chars().take(60).collect();
                if value.len() < s.value.len() {
                    value.push('…');
                }
                if value.is_empty() {
                    format!("row {} ({})", s.row, s.reason)
                } else {
                    format!("row {} `{value}` ({})", s.row, s.reason)
                }
            })
            .collect();
        let more = self.skipped.len().saturating_sub(SHOWN_SKIPPED);
        let more = if more > 0 { format!("; and {more} more") } else { String::new() };
        format!("{}{more}", shown.join("; "))
    }
}

/// Why a seeds file gave nothing to go on.
#[derive(Debug)]
pub enum FileError {
    Read(std::io::Error),
    TooLarge,
    /// Several columns, none of LinkedIn profiles.
    NoColumn {
        columns: Vec<String>,
    },
    /// `[seeds] column` names none of these.
    UnknownColumn {
        columns: Vec<String>,
    },
    /// Errors inside the file, already recorded.
    Bad,
}

/// Reads a seeds file: finds its separator and its column of LinkedIn profiles (or uses `column`), and
/// sorts its rows into seeds and skipped rows. Problems inside the file (not UTF-8, a row meant as a
/// handle that is not one) are recorded in `problems`, at their row in the file.
pub fn read_file(path: &Path, column: Option<&str>, problems: &mut Problems) -> Result<SeedsFile, FileError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_SEEDS_FILE_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(FileError::Read)?;
    if bytes.len() > MAX_SEEDS_FILE_BYTES {
        return Err(FileError::TooLarge);
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let located = Located { path, text: std::str::from_utf8(valid).unwrap_or_default() };
            problems.push(located.error(
                valid.len()..valid.len(),
                "the seeds file is not UTF-8 text",
                Some("save it as \"CSV UTF-8\" (Excel: Save as → CSV UTF-8 (Comma delimited))".to_owned()),
            ));
            return Err(FileError::Bad);
        }
    };
    let located = Located { path, text: &text };
    // Excel puts a byte-order mark first, and may name the separator on a line of its own (`sep=;`).
    let mut start = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let (delimiter, skip) = sniff(&text[start..]);
    start += skip;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .comment(Some(b'#'))
        .from_reader(&text.as_bytes()[start..]);
    let mut records = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => records.push(record),
            Err(e) => {
                let offset = start + e.position().map_or(0, |p| p.byte() as usize);
                problems.push(located.error(offset..offset, format!("cannot read the seeds file: {e}"), None));
                return Err(FileError::Bad);
            }
        }
    }
    let cell = |record: &csv::StringRecord, i: usize| record.get(i).unwrap_or_default().trim().to_owned();
    let width = records.iter().map(csv::StringRecord::len).max().unwrap_or(0);
    let first_is_url = records.first().is_some_and(|r| r.iter().any(|c| c.to_lowercase().contains("linkedin.com/")));
    let header = match records.first() {
        None => false,
        Some(_) if first_is_url => false,
        Some(_) if width > 1 || column.is_some() => true,
        // One column: a header names it (`LinkedIn URL`, `handle`), where a handle cannot have a space.
        Some(first) => {
            let name = cell(first, 0).to_lowercase();
            HEADER_WORDS.iter().any(|w| name.contains(w)) || name.contains(' ')
        }
    };
    let names: Vec<String> = match records.first() {
        Some(first) if header => (0..width).map(|i| cell(first, i)).collect(),
        _ => (1..=width).map(|i| format!("column {i}")).collect(),
    };
    let rows = &records[usize::from(header)..];
    let index = match column {
        Some(wanted) => names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(wanted.trim()))
            .ok_or_else(|| FileError::UnknownColumn { columns: names.clone() })?,
        None if width <= 1 => 0,
        None => pick_column(&names, rows).ok_or_else(|| FileError::NoColumn { columns: names.clone() })?,
    };

    let mut read = SeedsFile {
        seeds: Vec::new(),
        skipped: Vec::new(),
        column: names.get(index).cloned().unwrap_or_else(|| "column 1".to_owned()),
        delimiter,
    };
    let mut bad = 0;
    // Rows as a spreadsheet numbers them: lines, blank ones included (csv's own count skips those).
    let (mut counted_to, mut line) = (0, 1u64);
    for record in rows {
        let value = record.get(index).unwrap_or_default();
        let offset = record_start(&text, start + record.position().map_or(0, |p| p.byte() as usize));
        line += memchr::memchr_iter(b'\n', &text.as_bytes()[counted_to..offset]).count() as u64;
        counted_to = offset;
        let row = line;
        match classify(value) {
            Cell::Seed(handle) => read.seeds.push((handle, row)),
            Cell::Skip(reason) => read.skipped.push(Skipped { row, value: value.trim().to_owned(), reason }),
            Cell::Bad(message) => {
                bad += 1;
                if bad <= SHOWN_BAD_ROWS {
                    let at = offset + text[offset..].find(value.trim()).unwrap_or(0);
                    problems.push(
                        located.error(
                            at..at + value.trim().len(),
                            format!("seeds file row {row}, column `{}`: {message}", read.column),
                            Some(
                                "each row's cell must be a LinkedIn profile URL or handle; fix or empty the cell"
                                    .to_owned(),
                            ),
                        ),
                    );
                }
            }
        }
    }
    if bad > SHOWN_BAD_ROWS {
        problems.push(JobError::Setting(format!(
            "{}: {} more rows of column `{}` are not LinkedIn handles either; is it the right column?",
            path.display(),
            bad - SHOWN_BAD_ROWS,
            read.column
        )));
    }
    if bad > 0 { Err(FileError::Bad) } else { Ok(read) }
}

/// Where a record's text starts: csv places a record at the blank and comment lines before it.
fn record_start(text: &str, mut offset: usize) -> usize {
    loop {
        let rest = &text[offset.min(text.len())..];
        let trimmed = rest.trim_start_matches(['\r', '\n']);
        offset += rest.len() - trimmed.len();
        if !trimmed.starts_with('#') {
            return offset;
        }
        offset += trimmed.find('\n').map_or(trimmed.len(), |i| i + 1);
    }
}

/// Header words that mark a column of LinkedIn profiles.
const HEADER_WORDS: &[&str] = &["linkedin", "handle", "url", "profile"];

/// Header words that mark a column about a company rather than a person.
const COMPANY_WORDS: &[&str] = &["company", "organization", "organisation", "account", "org ", "firm", "business"];

/// The column of LinkedIn person profiles: the one with the most `/in/` links (then Sales Navigator
/// links); when no column has links, the one whose header says LinkedIn, handle or profile and not company.
fn pick_column(names: &[String], rows: &[csv::StringRecord]) -> Option<usize> {
    let score = |i: usize| {
        let mut profiles = 0usize;
        let mut sales = 0usize;
        for row in rows {
            let lower = row.get(i).unwrap_or_default().to_lowercase();
            if let Some(at) = lower.find("linkedin.com/") {
                let path = lower[at + "linkedin.com/".len()..].trim_start_matches('/');
                profiles += usize::from(path.starts_with("in/"));
                sales += usize::from(path.starts_with("sales/"));
            }
        }
        (profiles, sales)
    };
    let about_company = |name: &str| {
        let lower = format!("{} ", name.to_lowercase());
        COMPANY_WORDS.iter().any(|w| lower.contains(w))
    };
    let by_content = (0..names.len())
        .map(|i| (score(i), !about_company(&names[i]), std::cmp::Reverse(i)))
        .filter(|((profiles, sales), _, _)| profiles + sales > 0)
        .max()
        .map(|(_, _, std::cmp::Reverse(i))| i);
    by_content.or_else(|| {
        names.iter().position(|n| {
            let lower = n.to_lowercase();
            ["linkedin", "handle", "profile"].iter().any(|w| lower.contains(w)) && !about_company(n)
        })
    })
}

/// The separator of a CSV text (`,`, `;` or tab) and how many bytes to skip before its records (a `sep=`
/// line). The separator is the one that splits the first lines most, and the same number of times on each.
fn sniff(text: &str) -> (u8, usize) {
    let first = text.lines().next().unwrap_or_default();
    if let Some(sep) = first.trim_end().strip_prefix("sep=").or_else(|| first.trim_end().strip_prefix("SEP="))
        && let [byte @ (b',' | b';' | b'\t' | b'|')] = sep.as_bytes()
    {
        let skip = text.find('\n').map_or(text.len(), |i| i + 1);
        return (*byte, skip);
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).take(10).collect();
    let count = |line: &str, delimiter: char| {
        let mut quoted = false;
        line.chars()
            .filter(|&c| {
                if c == '"' {
                    quoted = !quoted;
                }
                !quoted && c == delimiter
            })
            .count()
    };
    [b',', b';', b'\t']
        .into_iter()
        .map(|d| {
            let counts: Vec<usize> = lines.iter().map(|l| count(l, char::from(d))).collect();
            let first = counts.first().copied().unwrap_or(0);
            let steady = first > 0 && counts.iter().all(|&c| c == first);
            ((steady, first), d)
        })
        .filter(|((_, first), _)| *first > 0)
        // Ties go to the earlier candidate: `,` before `;` before tab.
        .fold(None, |best: Option<((bool, usize), u8)>, next| match best {
            Some(b) if b.0 >= next.0 => Some(b),
            _ => Some(next),
        })
        .map_or((b',', 0), |(_, d)| (d, 0))
}

/// Keeps the first of each repeated item, in order.
pub fn dedup<T: PartialEq + Clone>(items: &mut Vec<T>) {
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for item in items.drain(..) {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    *items = kept;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds of a file as `read_file` finds them, or its problems.
    fn read_path(path: &Path, column: Option<&str>) -> Result<SeedsFile, String> {
        let mut problems = Problems::new(Path::new(""));
        let read = read_file(path, column, &mut problems);
        match (read, problems.finish()) {
            (Ok(read), Ok(())) => Ok(read),
            (_, Err(e)) => Err(e.to_string()),
            (Err(e), Ok(())) => Err(format!("{e:?}")),
        }
    }

    #[test]
    fn urls_become_handles() {
        for (input, handle) in [
            ("dwight-schrute", "dwight-schrute"),
            ("https://www.linkedin.com/in/michael-scott-13532/", "michael-scott-13532"),
            ("http://linkedin.com/in/Jim-Halpert-5343?trk=abc#x", "jim-halpert-5343"),
            ("  www.linkedin.com/in/s%C3%B8ren-k  ", "søren-k"),
            ("https://dk.linkedin.com/in/toby-67832", "toby-67832"),
        ] {
            assert_eq!(normalise(input).as_deref(), Ok(handle), "{input}");
        }
        for bad in ["", "https://www.linkedin.com/company/ocean", "two words", "https://linkedin.com/in/", "a/b"] {
            assert!(normalise(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cells_are_seeds_skips_or_mistakes() {
        assert_eq!(classify("https://www.linkedin.com/in/Pam-Beesly/"), Cell::Seed("pam-beesly".to_owned()));
        assert_eq!(classify("pam-beesly"), Cell::Seed("pam-beesly".to_owned()));
        for skipped in [
            "",
            "  ",
            "N/A",
            "https://www.linkedin.com/sales/lead/ACwAAA123,NAME_SEARCH,abc",
            "https://www.linkedin.com/company/dunder-mifflin/",
            "linkedin.com/school/scranton-u",
            "https://dundermifflin.com",
            "pam@dundermifflin.com",
        ] {
            assert!(matches!(classify(skipped), Cell::Skip(_)), "{skipped:?}: {:?}", classify(skipped));
        }
        assert!(matches!(classify("Pam Beesly"), Cell::Bad(_)));
    }

    #[test]
    fn separators_are_sniffed() {
        assert_eq!(sniff("a,b\n1,2\n"), (b',', 0));
        assert_eq!(sniff("Navn;LinkedIn\nSøren;https://x\n"), (b';', 0));
        assert_eq!(sniff("name\tlinkedin\nx\ty\n"), (b'\t', 0));
        assert_eq!(sniff("\"Last, First\";url\n\"a, b\";c\n"), (b';', 0));
        assert_eq!(sniff("sep=;\r\na;b\r\n"), (b';', 7));
        assert_eq!(sniff("dwight-schrute\n"), (b',', 0));
    }

    fn read(text: &str, column: Option<&str>) -> Result<SeedsFile, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.csv");
        std::fs::write(&path, text).unwrap();
        read_path(&path, column)
    }

    fn handles(read: &SeedsFile) -> Vec<&str> {
        read.seeds.iter().map(|(h, _)| h.as_str()).collect()
    }

    #[test]
    fn seeds_file_with_and_without_header() {
        let plain = read("dwight-schrute\n\nhttps://www.linkedin.com/in/toby-67832/\n# comment\n", None).unwrap();
        assert_eq!(plain.seeds, vec![("dwight-schrute".to_owned(), 1), ("toby-67832".to_owned(), 3)]);
        let headed = read("Company,LinkedIn URL\nDunder,https://linkedin.com/in/michael-scott-13532\nX,toby\n", None);
        assert_eq!(handles(&headed.unwrap()), vec!["michael-scott-13532", "toby"]);
        let err = read("handle\nok-one\nnot a handle\n", None).unwrap_err();
        assert!(err.contains("s.csv:3:1") && err.contains("not a LinkedIn handle"), "{err}");
        let mut problems = Problems::new(Path::new(""));
        assert!(matches!(read_file(Path::new("/no/such.csv"), None, &mut problems), Err(FileError::Read(_))));
    }

    #[test]
    fn the_person_column_wins_over_the_company_column() {
        let text = "Name;Company LinkedIn;Person LinkedIn\n\
                    Søren;https://www.linkedin.com/company/novo;https://www.linkedin.com/in/soren-k\n\
                    Åse;https://www.linkedin.com/company/equinor;https://www.linkedin.com/sales/lead/ACw,NAME\n";
        let person = read(text, None).unwrap();
        assert_eq!((person.column.as_str(), handles(&person)), ("Person LinkedIn", vec!["soren-k"]));
        assert_eq!(person.skipped.len(), 1);
        assert_eq!(person.skipped[0].row, 3);
        assert!(person.skipped_summary("s.csv").contains("row 3"), "{}", person.skipped_summary("s.csv"));
        // Named explicitly: the company column, every row skipped.
        let company = read(text, Some("company linkedin")).unwrap();
        assert!(company.seeds.is_empty() && company.skipped.len() == 2);
        assert!(matches!(
            read_file_text(text, Some("Linkedin")),
            Err(FileError::UnknownColumn { columns }) if columns.len() == 3
        ));
    }

    fn read_file_text(text: &str, column: Option<&str>) -> Result<SeedsFile, FileError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.csv");
        std::fs::write(&path, text).unwrap();
        read_file(&path, column, &mut Problems::new(Path::new("")))
    }

    #[test]
    fn a_file_without_a_linkedin_column_is_refused_not_guessed() {
        let result = read_file_text("First name,Last name,Email\nPam,Beesly,pam@dm.com\n", None);
        assert!(
            matches!(result, Err(FileError::NoColumn { columns }) if columns == ["First name", "Last name", "Email"])
        );
        // A header naming the column is enough when it holds plain handles.
        let named = read("Name,LinkedIn handle\nPam,pam-beesly\n", None).unwrap();
        assert_eq!(handles(&named), vec!["pam-beesly"]);
    }

    #[test]
    fn bom_crlf_and_header_only() {
        let bom = read("\u{feff}LinkedIn\r\nhttps://www.linkedin.com/in/pam-beesly\r\n", None).unwrap();
        assert_eq!((bom.column.as_str(), handles(&bom)), ("LinkedIn", vec!["pam-beesly"]));
        let empty = read_file_text("Name,LinkedIn URL\r\n", None).unwrap();
        assert!(empty.seeds.is_empty() && empty.skipped.is_empty());
    }

    proptest::proptest! {
        /// Any text, however broken, gives seeds, skipped rows or located problems, never a panic.
        #[test]
        fn any_seeds_file_reads_without_panicking(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    ",", ";", "\t", "\"", "\n", "\r\n", "#", " ", "sep=;", "\u{feff}", "ø", "LinkedIn", "Company",
                    "https://www.linkedin.com/in/", "linkedin.com/company/x", "linkedin.com/sales/lead/a,b", "pam-b",
                    "N/A", "a b", "%FF", "%C3%B8",
                ]),
                0..40,
            ),
            column in proptest::option::of(proptest::sample::select(vec!["LinkedIn", "Company", "x"])),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.csv");
            std::fs::write(&path, parts.concat()).unwrap();
            let mut problems = Problems::new(Path::new("j.toml"));
            let _ = read_file(&path, column, &mut problems);
            if let Err(err) = problems.finish() {
                for problem in err.problems() {
                    if let JobError::At(at) = problem {
                        let _ = at.snippet();
                    }
                }
            }
        }
    }

    #[test]
    fn dedup_keeps_first() {
        let mut v = vec!["b", "a", "b", "c", "a"];
        dedup(&mut v);
        assert_eq!(v, vec!["b", "a", "c"]);
    }
}

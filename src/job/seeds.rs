//! Lookalike seeds: LinkedIn handles or profile URLs, from the job file and from a CSV file,
//! normalised to handles and de-duplicated.

use std::path::Path;

use super::decode::{SeedsTable, Spans};
use super::diagnostic::{JobError, Located};

/// Every seed of a job, as a handle with the job key it came from: `[seeds] linkedin`, then the rows of
/// the seeds file, which is found relative to the job file's folder (as Compose files and `Cargo.toml`
/// name their neighbours), so a job runs the same from any folder.
pub(super) fn collect(table: &SeedsTable, job: &Located, spans: &Spans) -> Result<Vec<(String, String)>, JobError> {
    let mut seeds = Vec::new();
    for (i, raw) in table.linkedin.iter().enumerate() {
        let handle = normalise(raw).map_err(|m| job.error(spans.at(&["seeds", "linkedin"], Some(i)), m, None))?;
        seeds.push((handle, format!("seeds.linkedin[{i}]")));
    }
    if let Some(file) = &table.file {
        let path = job.path.parent().unwrap_or(Path::new("")).join(file);
        let rows = read_file(&path).map_err(|e| match e {
            JobError::Read { path, source } => job.error(
                spans.at(&["seeds", "file"], None),
                format!("cannot read the seeds file {}: {source}", path.display()),
                Some("a seeds file is found relative to the job file's folder".to_owned()),
            ),
            other => other,
        })?;
        let shown = file.display();
        seeds.extend(rows.into_iter().map(|(handle, line)| (handle, format!("seeds.file ({shown}, line {line})"))));
    }
    Ok(seeds)
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

/// Header words that mark the column of handles in a seeds file.
const HEADER_HINTS: &[&str] = &["linkedin", "handle", "url", "profile"];

/// Whether a first row is a header: a cell naming the column (`handle`, `linkedin_url`, …) rather than
/// holding a profile URL. (A first-row handle that contains one of these words would be taken for a header.)
fn is_header(record: &csv::StringRecord) -> bool {
    record.iter().any(|cell| {
        let lower = cell.to_lowercase();
        HEADER_HINTS.iter().any(|h| lower.contains(h)) && !lower.contains("linkedin.com/")
    })
}

/// Reads a seeds file: one handle or profile URL per row, each with its line number. A header row is allowed; with several columns,
/// the one whose header mentions linkedin, handle, url or profile is used (without a header, the one
/// holding profile URLs), else the first.
pub fn read_file(path: &Path) -> Result<Vec<(String, u64)>, JobError> {
    let text = std::fs::read(path).map_err(|source| JobError::Read { path: path.to_owned(), source })?;
    let text = String::from_utf8(text).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let located = Located { path, text: std::str::from_utf8(valid).unwrap_or_default() };
        located.error(valid.len()..valid.len(), "the seeds file is not UTF-8 text", None)
    })?;
    let located = Located { path, text: &text };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let records = reader.records().collect::<Result<Vec<_>, _>>().map_err(|e| {
        let offset = e.position().map_or(0, |p| p.byte() as usize);
        located.error(offset..offset, format!("cannot read the seeds file: {e}"), None)
    })?;
    let header = records.first().is_some_and(is_header);
    let column = match records.first() {
        Some(first) if header => {
            first.iter().position(|c| HEADER_HINTS.iter().any(|h| c.to_lowercase().contains(h))).unwrap_or(0)
        }
        Some(first) => first.iter().position(|c| c.to_lowercase().contains("linkedin.com/")).unwrap_or(0),
        None => 0,
    };
    let mut handles = Vec::new();
    for record in records.iter().skip(usize::from(header)) {
        let Some(cell) = record.get(column).filter(|c| !c.is_empty()) else { continue };
        let offset = record.position().map_or(0, |p| p.byte() as usize);
        let offset = offset + text[offset..].find(cell).unwrap_or(0);
        let line = located.line_column(offset).0 as u64;
        let handle = normalise(cell).map_err(|message| located.error(offset..offset + cell.len(), message, None))?;
        handles.push((handle, line));
    }
    Ok(handles)
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
    fn seeds_file_with_and_without_header() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.csv");
        std::fs::write(&plain, "dwight-schrute\n\nhttps://www.linkedin.com/in/toby-67832/\n# comment\n").unwrap();
        let handles = |path| read_file(path).unwrap().into_iter().map(|(h, _)| h).collect::<Vec<_>>();
        assert_eq!(read_file(&plain).unwrap(), vec![("dwight-schrute".to_owned(), 1), ("toby-67832".to_owned(), 3)]);
        let headed = dir.path().join("headed.csv");
        std::fs::write(&headed, "Company,LinkedIn URL\nDunder,https://linkedin.com/in/michael-scott-13532\nX,toby\n")
            .unwrap();
        assert_eq!(handles(&headed), vec!["michael-scott-13532", "toby"]);
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "handle\nok-one\nnot a handle\n").unwrap();
        let err = read_file(&bad).unwrap_err().to_string();
        assert!(err.contains("bad.csv:3:1"), "{err}");
        assert!(matches!(read_file(&dir.path().join("missing.csv")), Err(JobError::Read { .. })));
    }

    #[test]
    fn dedup_keeps_first() {
        let mut v = vec!["b", "a", "b", "c", "a"];
        dedup(&mut v);
        assert_eq!(v, vec!["b", "a", "c"]);
    }
}

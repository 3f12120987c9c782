//! The job file: TOML → a checked job (request body, seeds, output, settings). Everything here happens
//! before any request, and every problem is a [`JobError`] pointing at file:line:column (exit 2).

pub mod diagnostic;
pub mod seeds;
pub mod settings;

use std::collections::BTreeMap;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::api::body::{PageSize, PeopleFilters, SearchBody};
use crate::sink::{Format, SinkOptions};
pub use diagnostic::JobError;
use diagnostic::Located;
pub use settings::{ApiSettings, LimitSettings, OutputSettings, Overrides, Settings};

/// Page size when the job does not set one (the API's own default, 50, would waste the daily request allowance).
pub const DEFAULT_PAGE_SIZE: i64 = 1000;
/// Output path when the job does not set one.
pub const DEFAULT_OUTPUT: &str = "output/{job}.{format}";
/// Largest job file accepted. Far beyond any hand-written job, and it bounds the TOML parser's memory,
/// which keeps tens of bytes of tokens per byte of dense input (8 MB of `=` lines took 590 MB).
pub const MAX_JOB_FILE_BYTES: usize = 4 << 20;

/// The job file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobFile {
    name: Option<String>,
    search: SearchBody,
    #[serde(default)]
    seeds: SeedsTable,
    // The settings tables are checked here for their line and column; their values are merged in `settings`.
    #[serde(default, rename = "output")]
    _output: OutputSettings,
    #[serde(default, rename = "api")]
    _api: ApiSettings,
    #[serde(default, rename = "limits")]
    _limits: LimitSettings,
}

/// `[seeds]`: lookalike seed people.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedsTable {
    /// Handles or profile URLs.
    #[serde(default)]
    linkedin: Vec<String>,
    /// A CSV file of handles or profile URLs, one per row.
    file: Option<PathBuf>,
}

/// What a job needs from its surroundings; [`Context::from_process`] in real runs, fixed values in tests.
pub struct Context {
    pub overrides: Overrides,
    pub environment: Vec<(String, String)>,
    pub user_settings: Option<PathBuf>,
    pub now: jiff::ZonedDateTime,
}

impl Context {
    pub fn from_process(overrides: Overrides) -> Context {
        Context {
            overrides,
            environment: settings::environment(),
            user_settings: settings::user_settings_path(),
            now: jiff::ZonedDateTime::now(),
        }
    }
}

/// A checked job, ready to run.
#[derive(Clone, Debug)]
pub struct Job {
    pub name: String,
    pub file: PathBuf,
    /// The first request's body: seeds merged in, lists de-duplicated, page size set, no cursor.
    pub search: SearchBody,
    /// Seeds from `[seeds]` and the seeds file, as handles (also inside `search`).
    pub seeds: Vec<String>,
    /// Where list items of `search` came from in the job, for pointing API errors at the right key.
    pub provenance: Provenance,
    pub settings: Settings,
    /// Setting key → where its value came from.
    pub origins: BTreeMap<String, String>,
    /// The output path as configured, placeholders and all.
    pub output_template: String,
    /// The output path, placeholders filled in.
    pub output: PathBuf,
    pub format: Format,
    /// CSV columns, checked; `None` for all.
    pub columns: Option<Vec<String>>,
    pub state_dir: PathBuf,
}

/// Reads and checks a job file.
pub fn load(path: &Path, context: &Context) -> Result<Job, JobError> {
    // One byte past the limit tells that the file is too large, without reading all of it (or /dev/zero).
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_JOB_FILE_BYTES as u64 + 1).read_to_end(&mut bytes))
        .map_err(|source| JobError::Read { path: path.to_owned(), source })?;
    from_bytes(path, bytes, context)
}

/// Checks the bytes of a job file; `path` names it in errors and in the job.
pub fn from_bytes(path: &Path, bytes: Vec<u8>, context: &Context) -> Result<Job, JobError> {
    if bytes.len() > MAX_JOB_FILE_BYTES {
        // The place is where the limit is crossed (or the first byte that is not UTF-8, if that comes first).
        let head = &bytes[..MAX_JOB_FILE_BYTES];
        let text = std::str::from_utf8(head)
            .unwrap_or_else(|e| std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default());
        let message = format!("the job file is larger than {} MiB; is it the right file?", MAX_JOB_FILE_BYTES >> 20);
        return Err(Located { path, text }.error(text.len()..text.len(), message, None));
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let prefix = std::str::from_utf8(&e.as_bytes()[..valid]).unwrap_or_default();
            return Err(Located { path, text: prefix }.error(valid..valid, "the job file is not UTF-8 text", None));
        }
    };
    let located = Located { path, text: &text };
    let file: JobFile = toml::from_str(&text).map_err(|e| located.toml_error(&e))?;
    let spans = Spans::parse(&text);
    let at = |keys: &[&str], index: Option<usize>| spans.find(keys, index).unwrap_or(0..0);

    let name = match &file.name {
        Some(name) => name.clone(),
        None => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    if name.is_empty()
        || name.starts_with('.')
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(located.error(
            at(&["name"], None),
            format!("job name `{name}` must be letters, digits, `-`, `_` or `.` (it names files and folders)"),
            file.name.is_none().then(|| "set `name = \"...\"` in the job file".to_owned()),
        ));
    }

    // Each seed with the job-file key it came from, to point API errors at it.
    let mut seeds = Vec::new();
    for (i, raw) in file.seeds.linkedin.iter().enumerate() {
        let handle = seeds::normalise(raw).map_err(|m| located.error(at(&["seeds", "linkedin"], Some(i)), m, None))?;
        seeds.push((handle, format!("seeds.linkedin[{i}]")));
    }
    if let Some(seed_file) = &file.seeds.file {
        let from_file = seeds::read_file(seed_file).map_err(|e| match e {
            JobError::Read { path: seed_path, source } => located.error(
                at(&["seeds", "file"], None),
                format!("cannot read the seeds file {}: {source}", seed_path.display()),
                Some("relative paths are resolved against the current folder".to_owned()),
            ),
            other => other,
        })?;
        let shown = seed_file.display();
        seeds
            .extend(from_file.into_iter().map(|(handle, line)| (handle, format!("seeds.file ({shown}, line {line})"))));
    }
    let (search, provenance) =
        request_body(file.search, &seeds, |i| at(&["search", "peopleFilters", "lookalikeLinkedinHandles"], Some(i)))
            .map_err(|(span, message)| located.error(span, message, None))?;
    let seeds = search.people_filters.as_ref().and_then(|p| p.lookalike_linkedin_handles.clone()).unwrap_or_default();

    // The job's own base URL is checked even when a flag overrides it, like every other value in the file;
    // `run` would refuse it later, with no place to point at.
    crate::api::client::parse_base_url(&file._api.base_url)
        .map_err(|e| located.error(at(&["api", "base_url"], None), e.to_string(), None))?;

    let user_text = match &context.user_settings {
        Some(user) if user.exists() => {
            Some(std::fs::read_to_string(user).map_err(|source| JobError::Read { path: user.clone(), source })?)
        }
        _ => None,
    };
    let layered = settings::layer(&settings::Sources {
        user_file: context.user_settings.as_deref().zip(user_text.as_deref()),
        job_file: (path, &text),
        environment: context.environment.clone(),
        overrides: &context.overrides,
    })?;
    let settings = layered.settings;
    let origins = layered.origins;
    // A problem in a merged value points into the job file when the value came from there.
    let setting_error = |key: &str, index: Option<usize>, message: String| {
        let origin = origins.get(key).cloned().unwrap_or_default();
        if origin.starts_with("job file") {
            let keys: Vec<&str> = key.split('.').collect();
            located.error(at(&keys, index), message, None)
        } else {
            JobError::Setting(format!("{key} (from {origin}): {message}"))
        }
    };

    let template = settings.output.path.clone().unwrap_or_else(|| DEFAULT_OUTPUT.to_owned());
    let template_format = Format::from_path(Path::new(&template));
    let format = settings.output.format.or(template_format).unwrap_or(Format::Csv);
    let output =
        fill_template(&template, &name, format, &context.now).map_err(|m| setting_error("output.path", None, m))?;
    if let Some(implied) = Format::from_path(&output)
        && implied != format
    {
        return Err(setting_error(
            "output.path",
            None,
            format!(
                "the path ends in .{} but the format is {}; change one of them",
                output.extension().unwrap_or_default().to_string_lossy(),
                format.extension()
            ),
        ));
    }
    let columns = match &settings.output.columns {
        None => None,
        Some(columns) => Some(crate::sink::csv::check_columns(columns).map_err(|e| {
            let index = columns.iter().position(|c| *c == e.name);
            let mut error = setting_error("output.columns", index, e.to_string());
            if let JobError::At(at) = &mut error {
                at.help =
                    Some(format!("columns are: {}", crate::sink::csv::known_columns().collect::<Vec<_>>().join(", ")));
            }
            error
        })?),
    };
    if columns.is_some() && format == Format::Ndjson {
        tracing::warn!("[output] columns apply to CSV only; NDJSON keeps every field");
    }
    // Always one folder per job, even when the setting is shared by several jobs (a user settings file).
    let state_dir = match &settings.output.state_dir {
        Some(dir) if dir.is_empty() => {
            return Err(setting_error("output.state_dir", None, "the state folder is empty; name a folder".to_owned()));
        }
        Some(dir) => PathBuf::from(dir),
        None => default_state_dir(&template),
    }
    .join(&name);
    Ok(Job {
        name,
        file: path.to_owned(),
        search,
        seeds,
        provenance,
        settings,
        origins,
        output_template: template,
        output,
        format,
        columns: columns.filter(|_| format == Format::Csv),
        state_dir,
    })
}

/// The request body as sent: seeds added to `lookalikeLinkedinHandles`, every list de-duplicated, country
/// codes lowercased (Ocean's documented form), and the page size set; with where each list item came from.
/// On error, the span and message.
fn request_body(
    mut search: SearchBody,
    seeds: &[(String, String)],
    handle_span: impl Fn(usize) -> Range<usize>,
) -> Result<(SearchBody, Provenance), (Range<usize>, String)> {
    let written = serde_json::to_value(&search).expect("a search body serializes");
    let filters = search.people_filters.get_or_insert_with(PeopleFilters::default);
    let mut handles = Vec::new();
    for (i, raw) in filters.lookalike_linkedin_handles.take().unwrap_or_default().iter().enumerate() {
        handles.push(seeds::normalise(raw).map_err(|m| (handle_span(i), m))?);
    }
    handles.extend(seeds.iter().map(|(handle, _)| handle.clone()));
    if !handles.is_empty() {
        filters.lookalike_linkedin_handles = Some(handles);
    }
    if *filters == PeopleFilters::default() {
        search.people_filters = None;
    }
    if search.size.is_none() {
        search.size = Some(PageSize::new(DEFAULT_PAGE_SIZE).expect("in range"));
    }
    search.search_after = None;
    let mut value = serde_json::to_value(&search).expect("a search body serializes");
    normalise_lists(&mut value, None);
    let mut provenance = Provenance::default();
    provenance.trace(&written, &value, "", seeds);
    let search = serde_json::from_value(value).expect("normalising keeps the body valid");
    Ok((search, provenance))
}

/// Where the items of the body's lists came from in the job, when not from the same place of `[search]`:
/// after de-duplication and with seeds merged in, `peopleFilters.countries[1]` may be the job's
/// `search.peopleFilters.countries[2]`, and a lookalike handle may come from `[seeds]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Provenance(BTreeMap<String, String>);

impl Provenance {
    /// The job key of a body location (`peopleFilters.countries[1]`), if it moved.
    pub fn get(&self, body_path: &str) -> Option<&str> {
        self.0.get(body_path).map(String::as_str)
    }

    fn trace(&mut self, written: &serde_json::Value, sent: &serde_json::Value, path: &str, seeds: &[(String, String)]) {
        use serde_json::Value;
        match (written, sent) {
            (Value::Object(written), Value::Object(sent)) => {
                for (key, value) in sent {
                    let inner = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                    self.trace(written.get(key).unwrap_or(&Value::Null), value, &inner, seeds);
                }
            }
            (_, Value::Array(sent)) => {
                let written = written.as_array().map(Vec::as_slice).unwrap_or_default();
                let same = |a: &Value, b: &Value| match (a, b) {
                    (Value::String(a), Value::String(b)) => {
                        a.eq_ignore_ascii_case(b) || seeds::normalise(a).as_ref() == Ok(b)
                    }
                    _ => a == b,
                };
                for (i, item) in sent.iter().enumerate() {
                    let origin = match written.iter().position(|w| same(w, item)) {
                        Some(j) => format!("search.{path}[{j}]"),
                        None => match seeds.iter().find(|(handle, _)| Some(handle.as_str()) == item.as_str()) {
                            Some((_, origin)) => origin.clone(),
                            None => continue,
                        },
                    };
                    if origin != format!("search.{path}[{i}]") {
                        self.0.insert(format!("{path}[{i}]"), origin);
                    }
                    if let Some(inner) = written.iter().find(|w| same(w, item)) {
                        self.trace(inner, item, &format!("{path}[{i}]"), seeds);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Drops repeated items from every list, keeping the first, and lowercases two-letter country codes.
fn normalise_lists(value: &mut serde_json::Value, key: Option<&str>) {
    match value {
        serde_json::Value::Array(items) => {
            if matches!(key, Some("countries" | "excludeCountries" | "includeCountries")) {
                for item in items.iter_mut() {
                    if let serde_json::Value::String(code) = item
                        && code.len() == 2
                    {
                        *code = code.to_ascii_lowercase();
                    }
                }
            }
            seeds::dedup(items);
            items.iter_mut().for_each(|item| normalise_lists(item, None));
        }
        serde_json::Value::Object(map) => map.iter_mut().for_each(|(k, v)| normalise_lists(v, Some(k))),
        _ => {}
    }
}

/// Fills `{job}`, `{date}`, `{datetime}` and `{format}` in an output path template.
fn fill_template(template: &str, job: &str, format: Format, now: &jiff::ZonedDateTime) -> Result<PathBuf, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').ok_or_else(|| format!("unclosed `{{` in `{template}`"))? + open;
        match &rest[open + 1..close] {
            "job" => out.push_str(job),
            "date" => out.push_str(&now.strftime("%Y-%m-%d").to_string()),
            "datetime" => out.push_str(&now.strftime("%Y%m%dT%H%M%S").to_string()),
            "format" => out.push_str(format.extension()),
            other => {
                return Err(format!(
                    "unknown placeholder `{{{other}}}` in `{template}` (use {{job}}, {{date}}, {{datetime}}, {{format}})"
                ));
            }
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    if out.is_empty() || out.ends_with('/') {
        return Err(format!("`{template}` names a folder, not a file"));
    }
    Ok(PathBuf::from(out))
}

/// `.state` beside the output, in the part of the template's folder that no placeholder changes, so a
/// `{date}` in the path never hides yesterday's checkpoint.
fn default_state_dir(template: &str) -> PathBuf {
    let parent = Path::new(template).parent().unwrap_or(Path::new(""));
    let fixed: PathBuf = parent.components().take_while(|c| !c.as_os_str().to_string_lossy().contains('{')).collect();
    fixed.join(".state")
}

impl Job {
    /// How the sink writes this job.
    pub fn sink_options(&self) -> SinkOptions {
        SinkOptions {
            format: self.format,
            columns: self.columns.clone(),
            neutralise_formulas: self.settings.output.neutralize_formulas,
            bom: self.settings.output.bom,
        }
    }

    /// A hash of everything that decides which people are written and how: the search and seeds (not the
    /// page size, which changes neither) and the output format, columns and cell options.
    pub fn fingerprint(&self) -> String {
        let mut search = self.search.clone();
        search.size = None;
        search.search_after = None;
        let options = self.sink_options();
        let csv = options.format == Format::Csv;
        let value = serde_json::json!({
            "search": search,
            "format": options.format,
            "columns": if csv { serde_json::json!(options.columns) } else { serde_json::Value::Null },
            "neutralise": csv && options.neutralise_formulas,
            "bom": csv && options.bom,
        });
        // serde_json::Value sorts object keys, so the hash does not depend on field order.
        let canonical = serde_json::to_vec(&value).expect("serializes");
        hex::encode(Sha256::digest(&canonical))[..32].to_owned()
    }

    pub fn page_size(&self) -> u64 {
        self.search.size.map_or(DEFAULT_PAGE_SIZE, |s| s.get()) as u64
    }
}

/// Spans of keys and values in a TOML text, for errors found after deserializing.
struct Spans<'a>(Option<toml::Spanned<toml::de::DeTable<'a>>>);

impl<'a> Spans<'a> {
    fn parse(text: &'a str) -> Spans<'a> {
        Spans(toml::de::DeTable::parse(text).ok())
    }

    /// The span of the value at `keys` (and item `index` of it, if given).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context {
            overrides: Overrides::default(),
            environment: Vec::new(),
            user_settings: None,
            now: "2026-11-27T23:59:59+01:00[Europe/Copenhagen]".parse().unwrap(),
        }
    }

    fn load_text(text: &str) -> Result<Job, JobError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("my-job.toml");
        std::fs::write(&path, text).unwrap();
        load(&path, &context())
    }

    #[test]
    fn seeds_merge_and_lists_dedupe() {
        let job = load_text(
            r#"
[search]
size = 500
peopleFilters = { countries = ["DK", "dk", "se"], lookalikeLinkedinHandles = ["toby-67832"] }
[seeds]
linkedin = ["dwight-schrute", "https://www.linkedin.com/in/michael-scott-13532/", "toby-67832"]
"#,
        )
        .unwrap();
        assert_eq!(job.name, "my-job");
        assert_eq!(job.seeds, vec!["toby-67832", "dwight-schrute", "michael-scott-13532"]);
        let filters = job.search.people_filters.as_ref().unwrap();
        assert_eq!(filters.countries.as_deref(), Some(&["dk".to_owned(), "se".to_owned()][..]));
        assert_eq!(job.output, Path::new("output/my-job.csv"));
        assert_eq!(job.state_dir, Path::new("output/.state/my-job"));
        assert_eq!(job.page_size(), 500);
        // The second country and the third seed are not where the job wrote them.
        assert_eq!(job.provenance.get("peopleFilters.countries[1]"), Some("search.peopleFilters.countries[2]"));
        assert_eq!(job.provenance.get("peopleFilters.lookalikeLinkedinHandles[1]"), Some("seeds.linkedin[0]"));
        assert_eq!(job.provenance.get("peopleFilters.countries[0]"), None);
    }

    #[test]
    fn errors_point_at_the_place() {
        let cases = [
            ("[search]\npeopleFilters = { countrys = [\"dk\"] }\n", ":2:19:", Some("did you mean `countries`?")),
            ("[search]\nsize = 0\n", ":2:8:", None),
            ("[search]\n[seeds]\nlinkedin = [\"ok\", \"not a handle\"]\n", ":3:19:", None),
            ("[search]\n[output]\ncolumns = [\"id\", \"email.adress\"]\n", ":3:18:", Some("did you mean")),
            ("[search]\n[output]\npath = \"out/{jbo}.csv\"\n", ":3:8:", None),
            ("[search]\n[seeds]\nfile = \"nope.csv\"\n", ":3:8:", None),
            ("name = \"a/b\"\n[search]\n", ":1:8:", None),
            ("", ":1:1:", None),
            ("[search]\n[output]\npath = \"x.csv\"\nformat = \"ndjson\"\n", ":3:8:", None),
            ("[search]\n[api]\nbase_url = \"not a url\"\n", ":3:12:", Some("invalid API base URL")),
            ("[search]\n[api]\nbase_url = \"http://api.ocean.io\"\n", ":3:12:", Some("plain http")),
            ("[search]\n[output]\nstate_dir = \"\"\n", ":3:13:", Some("state folder")),
        ];
        for (text, place, hint) in cases {
            let err = load_text(text).unwrap_err();
            let shown = format!("{err} {:?}", miette::Diagnostic::help(&err).map(|h| h.to_string()));
            assert!(shown.contains(place), "{text:?}: {shown}");
            if let Some(hint) = hint {
                assert!(shown.contains(hint), "{text:?}: {shown}");
            }
        }
    }

    #[test]
    fn oversized_files_stop_at_the_limit() {
        // Dense junk after a valid start: the TOML parser would need ~70 bytes of memory per byte of it.
        let mut text = b"[search]\n".to_vec();
        text.extend(b"=\n".repeat(MAX_JOB_FILE_BYTES));
        let err = from_bytes(Path::new("big.toml"), text.clone(), &context()).unwrap_err().to_string();
        let line = 1 + text[..MAX_JOB_FILE_BYTES].iter().filter(|&&b| b == b'\n').count();
        assert!(err.starts_with(&format!("big.toml:{line}:2: the job file is larger than 4 MiB")), "{err}");
        // A file that never ends is read only up to the limit.
        let err = load(Path::new("/dev/zero"), &context()).unwrap_err().to_string();
        assert!(err.contains("larger than 4 MiB"), "{err}");
    }

    #[test]
    fn templates_and_state_dirs() {
        let now: jiff::ZonedDateTime = "2026-11-27T08:09:10+00:00[UTC]".parse().unwrap();
        assert_eq!(
            fill_template("o/{job}-{date}.{format}", "j", Format::Ndjson, &now).unwrap(),
            Path::new("o/j-2026-11-27.ndjson")
        );
        assert_eq!(fill_template("{datetime}.csv", "j", Format::Csv, &now).unwrap(), Path::new("20261127T080910.csv"));
        assert!(fill_template("o/{x}.csv", "j", Format::Csv, &now).is_err());
        assert_eq!(default_state_dir("out/{date}/a.csv"), Path::new("out/.state"));
        assert_eq!(default_state_dir("a.csv"), Path::new(".state"));
    }

    #[test]
    fn fingerprint_ignores_page_size_only() {
        let a = load_text("[search]\nsize = 10\npeopleFilters = { countries = [\"dk\"] }\n").unwrap();
        let b = load_text("[search]\nsize = 20\npeopleFilters = { countries = [\"dk\"] }\n").unwrap();
        let c = load_text("[search]\nsize = 10\npeopleFilters = { countries = [\"se\"] }\n").unwrap();
        let d =
            load_text("[search]\nsize = 10\npeopleFilters = { countries = [\"dk\"] }\n[output]\ncolumns = [\"id\"]\n")
                .unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert_ne!(a.fingerprint(), d.fingerprint());
    }
}

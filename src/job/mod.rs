//! The job file: TOML → a checked job (request, seeds, output, settings). Everything here happens before
//! any request, and every problem is a [`JobError`] pointing at file:line:column (exit 2).
//!
//! Loading runs in steps, each in its own module: `decode` (bytes → tables), the job's name, `seeds`,
//! `request` (the body as sent, `countries` by name or code), `settings` (layered) and `output`. Every
//! step records its problems and the next one goes on with what is valid, so one run shows them all.

pub mod countries;
mod dates;
mod decode;
pub mod diagnostic;
mod hints;
mod output;
pub mod request;
mod schema;
pub mod seeds;
pub mod settings;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::api::ValidationItem;
use crate::api::body::PageSize;
pub use decode::MAX_JOB_FILE_BYTES;
use decode::{Seg, path as key_path};
pub use diagnostic::JobError;
use diagnostic::{Located, Problems};
pub use output::{DEFAULT_OUTPUT, Output, extension};
pub use request::{DEFAULT_PAGE_SIZE, Provenance, Search};
pub use settings::{ApiSettings, Deliver, LimitSettings, Origin, OutputSettings, Overrides, Settings};

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
            now: jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::UTC),
        }
    }
}

/// A checked job, ready to run.
#[derive(Clone, Debug)]
pub struct Job {
    pub name: String,
    pub file: PathBuf,
    /// What is searched for: seeds merged in, lists de-duplicated; no page size, no cursor.
    pub search: Search,
    /// People per request, before limits shrink the last ones.
    pub page_size: PageSize,
    /// Seeds from `[seeds]` and the seeds file, as handles (also inside `search`).
    pub seeds: Vec<String>,
    /// Where list items of `search` came from in the job, for pointing API errors at the right key.
    pub provenance: Provenance,
    pub settings: Settings,
    /// Setting key → where its value came from.
    pub origins: BTreeMap<String, Origin>,
    /// The outputs, in the job file's order: one, or one per `[[output]]` entry.
    pub outputs: Vec<Output>,
    /// The job's own state folder: `<state_dir>/<job name>`.
    pub state_dir: PathBuf,
}

/// What an export has spent and written so far, which decides the size of its next request.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spent {
    /// People written.
    pub people: u64,
    /// People the API returned (paid for), duplicates and all.
    pub returned: u64,
    pub credits: f64,
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

/// Checks the bytes of a job file; `path` names it in errors and in the job. Every problem found is in
/// the error, in file order.
pub fn from_bytes(path: &Path, bytes: Vec<u8>, context: &Context) -> Result<Job, JobError> {
    let text = decode::text(path, bytes)?;
    let located = Located { path, text: &text };
    let mut problems = Problems::new(path);
    let Some(decode::Decoded { file, spans, settings_text }) = decode::tables(&located, &mut problems) else {
        return Err(stop(problems));
    };
    let name = problems.take(name(file.name.as_deref(), path, &located, &spans));
    let (seeds, warnings) = seeds::collect(&file.seeds, &located, &spans, &mut problems);
    let mut issues = Vec::new();
    let (search, page_size, provenance) = request::build(file.search, &seeds, &mut issues);
    for (at, message, help) in issues {
        let full: Vec<Seg> = std::iter::once(Seg::from("search")).chain(at).collect();
        problems.push(located.error(spans.at(&full), message, help));
    }
    let seeds =
        search.body().people_filters.as_ref().and_then(|p| p.lookalike_linkedin_handles.clone()).unwrap_or_default();

    // The job's own base URL is checked even when a flag overrides it, like every other value in the file;
    // `run` would refuse it later, with no place to point at.
    if let Err(e) = crate::api::client::parse_base_url(&file.api.base_url) {
        problems.push(located.error(spans.at(&key_path(&["api", "base_url"])), format!("api.base_url: {e}"), None));
    }

    let user_text = match &context.user_settings {
        Some(user) if user.exists() => {
            problems.take(std::fs::read_to_string(user).map_err(|source| JobError::Read { path: user.clone(), source }))
        }
        _ => None,
    };
    // Several `[[output]]` entries: the settings layers see the job's own keys as one `[output]` table.
    let entries = match &file.output {
        decode::OutputTables::One => None,
        decode::OutputTables::Many => match output_entries(&settings_text, &located, &spans) {
            Ok(entries) => Some(entries),
            Err(e) => {
                problems.push(e);
                return Err(stop(problems));
            }
        },
    };
    let layered_text = match &entries {
        Some(entries) => Cow::Owned(entries.layered_text.clone()),
        None => Cow::Borrowed(settings_text.as_str()),
    };
    let layered = problems.take(settings::layer(&settings::Sources {
        user_file: context.user_settings.as_deref().zip(user_text.as_deref()),
        job_file: (path, &layered_text),
        environment: context.environment.clone(),
        overrides: &context.overrides,
    }));
    let Some(settings::Layered { settings, origins }) = layered else {
        return Err(stop(problems));
    };
    // A problem in a merged value points into the job file when the value came from there.
    let from_origin = |key: &str, message: String| {
        JobError::Setting(format!("{key} (from {}): {message}", origins.get(key).unwrap_or(&Origin::Default)))
    };
    let output_error = |entry: Option<usize>, key: &str, index: Option<usize>, message: String| {
        let full = format!("output.{key}");
        let named = match entry {
            Some(i) if entries.is_some() => format!("output[{i}].{key}: {message}"),
            _ => format!("{full}: {message}"),
        };
        let overridden = matches!(origins.get(&full), Some(Origin::Environment(_) | Origin::Flag(_)));
        let in_entry = |i: usize| {
            let mut at = vec![Seg::from("output"), Seg::from(i), Seg::from(key)];
            at.extend(index.map(Seg::from));
            spans.at(&at)
        };
        match (&entries, entry) {
            (Some(entries), Some(i)) if !overridden && entries.written[i].contains_key(key) => {
                located.error(in_entry(i), named, None)
            }
            (Some(entries), _) if !overridden && entries.job_keys.contains_key(key) => {
                located.error(in_entry(entries.job_keys[key]), named, None)
            }
            (Some(_), Some(i)) if matches!(origins.get(&full), None | Some(Origin::Default)) => {
                located.error(in_entry(i), named, None)
            }
            (None, _) if matches!(origins.get(&full), Some(Origin::JobFile(_))) => {
                let mut at = vec![Seg::from("output"), Seg::from(key)];
                at.extend(index.map(Seg::from));
                located.error(spans.at(&at), named, None)
            }
            _ => from_origin(&full, message),
        }
    };
    // `{date}` and friends, in the job's time zone (UTC unless `[output] timezone` names one).
    let zone = match dates::zone(settings.output.timezone.as_deref()) {
        Ok(zone) => zone,
        Err(message) => {
            problems.push(output_error(None, "timezone", None, message));
            jiff::tz::TimeZone::UTC
        }
    };
    let now = context.now.with_time_zone(zone);
    let mut search = search;
    let mut date_issues = Vec::new();
    search.resolve_dates(&now, &mut date_issues);
    for (at, message, help) in date_issues {
        let full: Vec<Seg> = std::iter::once(Seg::from("search")).chain(at).collect();
        problems.push(located.error(spans.at(&full), message, help));
    }
    let job_name = name.as_deref().unwrap_or("job");
    // Every output is checked, so a job shows the problems of all its outputs at once.
    let outputs: Option<Vec<Output>> = match &entries {
        None => problems.take(output::check(&settings.output, None, job_name, &now, &output_error)).map(|o| vec![o]),
        Some(entries) => {
            let count = entries.written.len();
            let mut overridden = false;
            for key in output::PER_OUTPUT_KEYS {
                let full = format!("output.{key}");
                if let Some(origin @ (Origin::Environment(_) | Origin::Flag(_))) = origins.get(&full) {
                    overridden = true;
                    problems.push(JobError::Setting(format!(
                        "{full} (from {origin}) names one output, but this job writes {count} ([[output]]); set `{key}` in the job file's entries instead"
                    )));
                }
            }
            let checked: Vec<Option<Output>> = entries
                .written
                .iter()
                .enumerate()
                .map(|(i, written)| {
                    let settings = output::entry_settings(&settings.output, &origins, written);
                    problems.take(output::check(&settings, Some(i), job_name, &now, &output_error))
                })
                .collect();
            let checked: Option<Vec<Output>> = checked.into_iter().collect();
            if count == 0 {
                problems.push(located.error(
                    spans.at(&key_path(&["output"])),
                    "[[output]] needs at least one entry",
                    None,
                ));
            }
            checked
                .filter(|outputs| !overridden && !outputs.is_empty())
                .and_then(|outputs| problems.take(output::check_distinct(&outputs, &output_error)).map(|()| outputs))
        }
    };
    // The job file, and the seeds file it reads, are never written over.
    let seeds_file = file.seeds.file.as_ref().map(|f| path.parent().unwrap_or(Path::new("")).join(f));
    let mut inputs = vec![(path, "job file")];
    inputs.extend(seeds_file.as_deref().map(|f| (f, "seeds file")));
    let outputs = outputs.and_then(|outputs| {
        problems.take(output::check_not_inputs(&outputs, &inputs, &output_error)).map(|()| outputs)
    });
    let state_dir = outputs.as_ref().and_then(|outputs| {
        problems.take(output::state_dir(&settings.output, &outputs[0].template, job_name, &output_error))
    });
    let outputs = outputs.zip(state_dir).map(|(mut outputs, state_dir)| {
        output::stage_objects(&mut outputs, &state_dir);
        (outputs, state_dir)
    });
    let (Some(name), Some((outputs, state_dir)), true) = (name, outputs, problems.is_empty()) else {
        return Err(stop(problems));
    };
    // Only for a job that loads: a job with problems shows those first, and only those.
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    Ok(Job { name, file: path.to_owned(), search, page_size, seeds, provenance, settings, origins, outputs, state_dir })
}

/// The `[[output]]` entries of a job file, as written.
struct Entries {
    written: Vec<toml::Table>,
    /// Job settings ([`output::JOB_KEYS`]) found in the entries, and the first entry that sets each.
    job_keys: BTreeMap<String, usize>,
    /// The job file as the settings layers read it: the entries replaced by an `[output]` table of the
    /// job settings they set.
    layered_text: String,
}

/// Reads the `[[output]]` entries. Entries that set a job setting must agree on it.
fn output_entries(text: &str, located: &Located, spans: &decode::Spans) -> Result<Entries, JobError> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| located.toml_error(&e))?;
    let Some(toml::Value::Array(items)) = table.remove("output") else {
        unreachable!("[[output]] was read as an array of tables")
    };
    let written: Vec<toml::Table> =
        items.into_iter().map(|item| if let toml::Value::Table(t) = item { t } else { toml::Table::new() }).collect();
    let mut job = toml::Table::new();
    let mut job_keys = BTreeMap::new();
    for (i, entry) in written.iter().enumerate() {
        for key in output::JOB_KEYS {
            let Some(value) = entry.get(*key) else { continue };
            match job.get(*key) {
                Some(first) if first != value => {
                    return Err(located.error(
                        spans.at(&[Seg::from("output"), Seg::from(i), Seg::from(*key)]),
                        format!(
                            "`{key}` is a setting of the whole job: [[output]] entries {} and {} set it differently",
                            job_keys[*key] + 1,
                            i + 1
                        ),
                        Some(format!("set `{key}` in one entry only, or the same in each")),
                    ));
                }
                Some(_) => {}
                None => {
                    job.insert((*key).to_owned(), value.clone());
                    job_keys.insert((*key).to_owned(), i);
                }
            }
        }
    }
    if !job.is_empty() {
        table.insert("output".to_owned(), toml::Value::Table(job));
    }
    let layered_text = toml::to_string(&table).expect("a TOML table serializes");
    Ok(Entries { written, job_keys, layered_text })
}

/// The problems that stop a job; a step that gave up always recorded why, but an error is never lost.
fn stop(problems: Problems) -> JobError {
    problems.finish().err().unwrap_or_else(|| JobError::Setting("the job file cannot be read as a job".to_owned()))
}

/// The job's name: `name`, else the file's stem. It names files and folders, so it is kept plain.
fn name(written: Option<&str>, path: &Path, located: &Located, spans: &decode::Spans) -> Result<String, JobError> {
    let name = match written {
        Some(name) => name.to_owned(),
        None => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    if name.is_empty()
        || name.starts_with('.')
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(located.error(
            spans.at(&key_path(&["name"])),
            format!("name: job name `{name}` must be letters, digits, `-`, `_` or `.` (it names files and folders)"),
            written.is_none().then(|| "set `name = \"...\"` in the job file".to_owned()),
        ));
    }
    Ok(name)
}

impl Job {
    /// A hash of everything that decides which people are written and how: the search and seeds (not the
    /// page size, which changes neither) and every output's format, compression, columns and cell options.
    pub fn fingerprint(&self) -> String {
        let outputs: Vec<serde_json::Value> = self.outputs.iter().map(|o| o.options.fingerprint()).collect();
        let mut value = serde_json::json!({
            "search": self.search.template_body(),
            "outputs": outputs,
        });
        // Which people are written depends on it too (absent for `all`, so older checkpoints still match).
        if self.settings.output.deliver == Deliver::New {
            value["deliver"] = "new".into();
        }
        // serde_json::Value sorts object keys, so the hash does not depend on field order.
        let canonical = serde_json::to_vec(&value).expect("serializes");
        hex::encode(Sha256::digest(&canonical))[..32].to_owned()
    }

    /// A hash of what decides which people the search finds: the search and seeds as written (date
    /// placeholders unresolved, so a nightly job stays one search), not the page size. The delivery ledger
    /// records it, and asks for a decision when it changes.
    pub fn search_fingerprint(&self) -> String {
        let canonical = serde_json::to_vec(&serde_json::to_value(self.search.template_body()).expect("serializes"))
            .expect("serializes");
        hex::encode(Sha256::digest(&canonical))[..32].to_owned()
    }

    /// The job as a checkpoint started it: the search's date fields as they were resolved then.
    pub fn as_started(&self, dates: &BTreeMap<String, String>) -> Job {
        Job { search: self.search.with_dates(dates), ..self.clone() }
    }

    /// People the limits leave room for: `max_records` and `max_credits` (at the price learned from the
    /// pages so far, the configured one until then) minus what is spent. `u64::MAX` without limits.
    pub fn room(&self, spent: &Spent) -> u64 {
        let limits = &self.settings.limits;
        let mut room = u64::MAX;
        if let Some(max) = limits.max_records {
            room = room.min(max.get().saturating_sub(spent.people));
        }
        if let Some(max) = limits.max_credits {
            let price = if spent.returned > 0 && spent.credits > 0.0 {
                spent.credits / spent.returned as f64
            } else {
                limits.credits_per_person.get()
            };
            // Float to integer saturates: a huge budget is "no limit here", a spent one is 0.
            room = room.min(((max.get() - spent.credits) / price + 1e-9).floor() as u64);
        }
        room
    }

    /// The size of the next request: the page size, shrunk so that no request can pass `max_records` or
    /// `max_credits`. `None` once a limit leaves no room.
    pub fn next_page_size(&self, spent: &Spent) -> Option<PageSize> {
        self.page_size.at_most(self.room(spent))
    }

    /// The most people the limits allow at the configured price, if they limit at all.
    pub fn affordable_people(&self) -> Option<u64> {
        let limits = &self.settings.limits;
        let by_credits =
            limits.max_credits.map(|max| (max.get() / limits.credits_per_person.get() + 1e-9).floor() as u64);
        match (limits.max_records.map(|m| m.get()), by_credits) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The result window the planner splits to; `None` when `api.result_window` is 0.
    pub fn window(&self) -> Option<u64> {
        Some(self.settings.api.result_window).filter(|w| *w > 0)
    }

    /// The job-file key a 422 item points at.
    pub fn locate(&self, item: &ValidationItem) -> String {
        self.provenance.job_key(&item.loc)
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
        let filters = job.search.body().people_filters.as_ref().unwrap();
        assert_eq!(filters.countries.as_deref(), Some(&["dk".to_owned(), "se".to_owned()][..]));
        assert_eq!(job.outputs[0].path, Path::new("output/my-job.csv"));
        assert_eq!(job.state_dir, Path::new("output/.state/my-job"));
        assert_eq!(job.page_size.get(), 500);
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
    fn limits_shrink_the_next_request() {
        let job = load_text("[search]\nsize = 100\n[limits]\nmax_records = 250\nmax_credits = 30.0\n").unwrap();
        let size =
            |people, returned, credits| job.next_page_size(&Spent { people, returned, credits }).map(|s| s.get());
        // 30 credits at the configured 0.2 buy 150 people; 250 records allow 250.
        assert_eq!(size(0, 0, 0.0), Some(100));
        assert_eq!(size(100, 100, 20.0), Some(50));
        // The price learned from the pages wins: 0.1 a person leaves room for 100 more, 150 records.
        assert_eq!(size(100, 100, 10.0), Some(100));
        assert_eq!(size(240, 240, 12.0), Some(10));
        assert_eq!(size(250, 250, 12.5), None);
        assert_eq!(size(100, 100, 30.0), None);
        let tiny = load_text("[search]\nsize = 100\n[limits]\nmax_records = 5\n").unwrap();
        assert_eq!(tiny.next_page_size(&Spent::default()).map(|s| s.get()), Some(5));
        assert_eq!(tiny.affordable_people(), Some(5));
    }

    #[test]
    fn a_seeds_file_is_found_beside_the_job_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("jobs/seeds")).unwrap();
        std::fs::write(dir.path().join("jobs/seeds/c.csv"), "handle\ndwight-schrute\n").unwrap();
        let path = dir.path().join("jobs/j.toml");
        std::fs::write(&path, "[search]\n[seeds]\nfile = \"seeds/c.csv\"\n").unwrap();
        assert_eq!(load(&path, &context()).unwrap().seeds, vec!["dwight-schrute"]);
    }

    #[test]
    fn five_mistakes_are_five_problems_in_file_order() {
        let text = "nmae = \"x\"\n[search]\nsize = 0\npeopleFilters = { countries = [\"Denmrk\"], seniorities = [\"Manger\"] }\n[output]\ncolums = [\"id\"]\n";
        let err = load_text(text).unwrap_err();
        let places: Vec<String> = err
            .problems()
            .iter()
            .map(|p| match p {
                JobError::At(at) => format!("{}:{}", at.line, at.column),
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(places, ["1:1", "3:8", "4:32", "4:58", "6:1"]);
        assert!(err.to_string().contains("search.size must be between 1 and 10000, got 0"), "{err}");
        // A bad setting is one problem at its place, not a second one from the settings layers.
        let err =
            load_text("[search]\n[api]\ntimeout_secs = 0\nmax_retries = -1\n[limits]\nmax_records = 0\n").unwrap_err();
        let shown: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 3, "{shown:#?}");
        assert!(shown.iter().all(|p| p.contains("my-job.toml:")), "{shown:#?}");
    }

    proptest::proptest! {
        /// Any edit of a valid job gives a job or located problems, never a panic, and every problem
        /// draws its snippet.
        #[test]
        fn edited_jobs_never_panic(at in 0usize..400, cut in 0usize..6, insert in "[ -~\n\t\u{e5}\u{f8}\u{2028}]{0,8}") {
            let valid = "name = \"nordic\"\n[search]\nsize = 100\npeopleFilters = { countries = [\"Denmark\", \"se\"], seniorities = [\"Manager\"], cities = [{ city = \"Aarhus\", country = \"dk\" }] }\ncompaniesFilters = { primaryLocations = { includeCountries = [\"UK\"], geolocation = { latitude = 1.0, longitude = 2.0, radius = 3 } } }\n[seeds]\nlinkedin = [\"dwight-schrute\"]\n[output]\ncolumns = [\"id\", \"name\"]\n[api]\nrequests_per_minute = 60\n[limits]\nmax_records = 10\n";
            let mut at = at.min(valid.len());
            while !valid.is_char_boundary(at) {
                at -= 1;
            }
            let mut end = (at + cut).min(valid.len());
            while !valid.is_char_boundary(end) {
                end += 1;
            }
            let edited = format!("{}{insert}{}", &valid[..at], &valid[end..]);
            if let Err(err) = from_bytes(Path::new("p.toml"), edited.into_bytes(), &context()) {
                for problem in err.problems() {
                    let _ = problem.to_string();
                    if let JobError::At(at) = problem {
                        let _ = at.snippet();
                        let mut drawn = String::new();
                        let _ = miette::GraphicalReportHandler::new().render_report(&mut drawn, at.as_ref());
                    }
                }
            }
        }
    }

    #[test]
    fn date_placeholders_resolve_but_keep_the_job_one_search_across_nights() {
        let text = "[search]\npeopleFilters = { changedPositionAfter = \"{date-1d}\" }\n[output]\ntimezone = \"Europe/Copenhagen\"\n";
        let at = |now: &str| {
            let context = Context { now: now.parse().unwrap(), ..context() };
            from_bytes(Path::new("n.toml"), text.as_bytes().to_vec(), &context).unwrap()
        };
        // 23:30 UTC is already the next day in Copenhagen.
        let monday = at("2026-11-30T23:30:00+00:00[UTC]");
        let tuesday = at("2026-12-01T23:30:00+00:00[UTC]");
        let after = |job: &Job| job.search.body().people_filters.as_ref().unwrap().changed_position_after.clone();
        assert_eq!(after(&monday).as_deref(), Some("2026-11-30"));
        assert_eq!(after(&tuesday).as_deref(), Some("2026-12-01"));
        assert_eq!(monday.fingerprint(), tuesday.fingerprint());
        assert_eq!(monday.search_fingerprint(), tuesday.search_fingerprint());
        // A resume on Tuesday sends Monday's search.
        let resumed = tuesday.as_started(&monday.search.resolved_dates());
        assert_eq!(after(&resumed).as_deref(), Some("2026-11-30"));
        let err = load_text("[search]\npeopleFilters = { changedPositionBefore = \"{date-1w}\" }\n").unwrap_err();
        assert!(err.to_string().contains(":2:43: search.peopleFilters.changedPositionBefore"), "{err}");
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

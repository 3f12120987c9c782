//! Settings that may come from several places, merged with the config crate, lowest precedence first:
//! built-in defaults, the user settings file, the job file, `OCEAN_EXPORT_<TABLE>__<KEY>` environment
//! variables, and command-line flags. Each value remembers where it came from.

use std::collections::BTreeMap;
use std::num::{NonZeroU32, NonZeroU64};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::diagnostic::{JobError, Located};
use crate::sink::{ColumnSpec, Compression, Format, Preset};

/// `[api]`: how to reach the API and how hard to try.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    pub base_url: String,
    /// Requests are spaced evenly at this rate, retries included.
    pub requests_per_minute: NonZeroU32,
    /// Retries of one page before giving up (exit 5).
    pub max_retries: u32,
    /// Longest wait for a connection, for response headers, or between two chunks of a body.
    pub timeout_secs: NonZeroU64,
    /// Longest one attempt at a page may take in all (a body that drips in is cut off and retried).
    pub page_timeout_secs: NonZeroU64,
    /// A longer `Retry-After` stops the run (exit 5) instead of sleeping through it.
    pub max_retry_wait_secs: u64,
    /// Largest response body accepted, in MiB.
    pub max_body_mib: NonZeroU64,
    /// How deep one query can be paged (the API's result window); a search with more matches is split into
    /// parts that fit. 0: no window.
    pub result_window: u64,
    /// Cursors in flight at once when a search is split (one per part).
    pub concurrency: NonZeroU32,
}

impl Default for ApiSettings {
    fn default() -> Self {
        ApiSettings {
            base_url: "https://api.ocean.io".to_owned(),
            requests_per_minute: NonZeroU32::new(60).expect("nonzero"),
            max_retries: 8,
            timeout_secs: NonZeroU64::new(60).expect("nonzero"),
            page_timeout_secs: NonZeroU64::new(900).expect("nonzero"),
            max_retry_wait_secs: 300,
            max_body_mib: NonZeroU64::new(256).expect("nonzero"),
            result_window: 10_000,
            concurrency: NonZeroU32::new(4).expect("nonzero"),
        }
    }
}

/// A number above zero.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Positive(f64);

impl Positive {
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Positive {
    type Error = String;
    fn try_from(value: f64) -> Result<Self, String> {
        if value.is_finite() && value > 0.0 {
            Ok(Positive(value))
        } else {
            Err(format!("must be above 0, got {value}"))
        }
    }
}

impl From<Positive> for f64 {
    fn from(value: Positive) -> f64 {
        value.0
    }
}

/// `[limits]`: stop before these, never after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    pub max_records: Option<NonZeroU64>,
    pub max_credits: Option<Positive>,
    /// Fewer people than this (the search found, already delivered ones included) ends the run with exit 9
    /// after publishing, so that cron notices an empty night. `--fail-if-empty` is `min_records = 1`.
    pub min_records: Option<NonZeroU64>,
    /// Price per person assumed before the first page shows the real one.
    pub credits_per_person: Positive,
    /// Most parts a split search may have; planning stops before spending past it.
    pub max_partitions: NonZeroU32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            max_records: None,
            max_credits: None,
            min_records: None,
            credits_per_person: Positive(0.2),
            max_partitions: NonZeroU32::new(1000).expect("nonzero"),
        }
    }
}

/// `[output]` (or one `[[output]]` entry): where and how people are written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputSettings {
    /// Path template: `{job}`, `{date}` (YYYY-MM-DD), `{datetime}` (YYYYMMDDTHHMMSS), `{format}` (the
    /// extension: `csv`, `ndjson.gz`, `parquet`). Default `output/{job}.{format}`.
    pub path: Option<String>,
    /// Default from the path's extension, else csv.
    pub format: Option<Format>,
    /// gzip or zstd for CSV and NDJSON. Default from the path's extension (`.gz`, `.zst`), else none.
    pub compression: Option<Compression>,
    /// Default: gzip 1, zstd 3.
    pub compression_level: Option<i32>,
    /// CSV and XLSX columns: `"all"`, or names and `{ field, header }` renames, in order. Default: the
    /// person card.
    pub columns: Option<ColumnSpec>,
    /// A CRM's import headers: `hubspot` or `salesforce`.
    pub preset: Option<Preset>,
    /// Start the CSV with a UTF-8 byte-order mark, for Excel.
    pub bom: bool,
    /// Prefix `'` to CSV cells that start with `=`, `+`, `-`, `@`, tab or CR. Turn off for machine consumers.
    pub neutralize_formulas: bool,
    /// Folder of the jobs' state folders: a job keeps its checkpoint and lock in `<state_dir>/<job name>/`.
    /// Default `.state` beside the (first) output.
    pub state_dir: Option<String>,
    /// `all` (default): everyone the search finds. `new`: only people no earlier completed run of the job
    /// delivered, by the job's delivery ledger (in its state folder).
    pub deliver: Deliver,
    /// Time zone of `{date}`, `{datetime}` and `{month}` (in paths and search dates), an IANA name such as
    /// `Europe/Copenhagen`. Default UTC.
    pub timezone: Option<String>,
}

/// Which people a run writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Deliver {
    #[default]
    All,
    New,
}

impl Deliver {
    pub fn name(self) -> &'static str {
        match self {
            Deliver::All => "all",
            Deliver::New => "new",
        }
    }
}

impl Default for OutputSettings {
    fn default() -> Self {
        OutputSettings {
            path: None,
            format: None,
            compression: None,
            compression_level: None,
            columns: None,
            preset: None,
            bom: true,
            neutralize_formulas: true,
            state_dir: None,
            deliver: Deliver::All,
            timezone: None,
        }
    }
}

/// All layered settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub api: ApiSettings,
    pub limits: LimitSettings,
    pub output: OutputSettings,
}

/// The tables that settings live in.
const TABLES: &[&str] = &["api", "limits", "output"];
/// Prefix of settings in the environment.
pub const ENV_PREFIX: &str = "OCEAN_EXPORT_";

/// Settings given as flags; `None` leaves the lower layers in charge.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    pub output: Option<PathBuf>,
    pub format: Option<Format>,
    pub base_url: Option<String>,
    pub requests_per_minute: Option<u32>,
    pub max_records: Option<u64>,
    pub max_credits: Option<f64>,
    pub state_dir: Option<PathBuf>,
}

impl Overrides {
    /// (setting key, flag, value) of every flag given.
    fn entries(&self) -> Vec<(&'static str, &'static str, config::Value)> {
        let mut out: Vec<(&'static str, &'static str, config::Value)> = Vec::new();
        let path = |p: &PathBuf| config::Value::from(p.to_string_lossy().into_owned());
        if let Some(v) = &self.output {
            out.push(("output.path", "--output", path(v)));
        }
        if let Some(v) = self.format {
            out.push(("output.format", "--format", config::Value::from(v.extension())));
        }
        if let Some(v) = &self.base_url {
            out.push(("api.base_url", "--base-url", config::Value::from(v.clone())));
        }
        if let Some(v) = self.requests_per_minute {
            out.push(("api.requests_per_minute", "--requests-per-minute", config::Value::from(u64::from(v))));
        }
        if let Some(v) = self.max_records {
            out.push(("limits.max_records", "--max-records", config::Value::from(v)));
        }
        if let Some(v) = self.max_credits {
            out.push(("limits.max_credits", "--max-credits", config::Value::from(v)));
        }
        if let Some(v) = &self.state_dir {
            out.push(("output.state_dir", "--state-dir", path(v)));
        }
        out
    }
}

/// The user settings file: `$XDG_CONFIG_HOME/ocean-export/config.toml`, else `~/.config/ocean-export/config.toml`.
pub fn user_settings_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))?;
    Some(base.join("ocean-export").join("config.toml"))
}

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Default,
    UserSettings(PathBuf),
    JobFile(PathBuf),
    /// The environment variable's name.
    Environment(String),
    /// The flag's name (`--max-records`).
    Flag(&'static str),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::UserSettings(path) => write!(f, "user settings {}", path.display()),
            Origin::JobFile(path) => write!(f, "job file {}", path.display()),
            Origin::Environment(name) => write!(f, "environment {name}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// Settings after layering, with the origin of every value.
#[derive(Clone, Debug)]
pub struct Layered {
    pub settings: Settings,
    /// Setting key (`api.base_url`) → where its value came from.
    pub origins: BTreeMap<String, Origin>,
}

/// Everything that feeds the layers.
pub struct Sources<'a> {
    /// The user settings file and its text, if it exists.
    pub user_file: Option<(&'a Path, &'a str)>,
    pub job_file: (&'a Path, &'a str),
    /// `OCEAN_EXPORT_*` variables (name, value).
    pub environment: Vec<(String, String)>,
    pub overrides: &'a Overrides,
}

/// `OCEAN_BASE_URL`, which `ocean-export sandbox` prints: read as `api.base_url` in the environment layer,
/// below `OCEAN_EXPORT_API__BASE_URL` when both are set.
pub const BASE_URL_VARIABLE: &str = "OCEAN_BASE_URL";

/// `OCEAN_EXPORT_*` variables of this process, and `OCEAN_BASE_URL`.
pub fn environment() -> Vec<(String, String)> {
    std::env::vars().filter(|(name, _)| name.starts_with(ENV_PREFIX) || name == BASE_URL_VARIABLE).collect()
}

/// Merges the layers. The files are checked strictly first, so their errors point at a line and column.
pub fn layer(sources: &Sources) -> Result<Layered, JobError> {
    if let Some((path, text)) = sources.user_file {
        toml::from_str::<Settings>(text).map_err(|e| Located { path, text }.toml_error(&e))?;
    }
    let mut env = config::Map::new();
    let base_url_key = format!("{ENV_PREFIX}API__BASE_URL");
    let mut base_url_origin = None;
    for (name, value) in &sources.environment {
        if name == BASE_URL_VARIABLE {
            if !sources.environment.iter().any(|(other, _)| *other == base_url_key) {
                env.insert(base_url_key.clone(), value.clone());
                base_url_origin = Some(Origin::Environment(BASE_URL_VARIABLE.to_owned()));
            }
            continue;
        }
        let rest = name.strip_prefix(ENV_PREFIX).unwrap_or(name).to_ascii_lowercase();
        match rest.split_once("__") {
            Some((table, key)) if TABLES.contains(&table) && !key.is_empty() => {}
            _ => {
                return Err(JobError::Setting(format!(
                    "environment variable {name}: not a setting (use {ENV_PREFIX}<TABLE>__<KEY>, TABLE one of API, LIMITS, OUTPUT)"
                )));
            }
        }
        env.insert(name.clone(), value.clone());
    }
    let environment = || {
        config::Environment::with_prefix(ENV_PREFIX.trim_end_matches('_'))
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .with_list_parse_key("output.columns")
            .source(Some(env.clone()))
    };
    let (job_path, job_text) = sources.job_file;
    let job_layer = || config::File::from_str(job_text, config::FileFormat::Toml);
    let user_layer = || sources.user_file.map(|(_, text)| config::File::from_str(text, config::FileFormat::Toml));
    let flags = sources.overrides.entries();

    let mut builder = config::Config::builder();
    if let Some(user) = user_layer() {
        builder = builder.add_source(user);
    }
    builder = builder.add_source(job_layer()).add_source(environment());
    for (key, _, value) in &flags {
        builder = builder.set_override(*key, value.clone()).map_err(|e| JobError::Setting(e.to_string()))?;
    }
    let merged = builder.build().map_err(|e| JobError::Setting(format!("settings: {e}")))?;

    // Where each value comes from: the highest layer that sets it.
    let probe = |source: Option<config::Config>, key: &str| source.is_some_and(|c| c.get::<config::Value>(key).is_ok());
    let single = |s: Box<dyn config::Source + Send + Sync>| config::Config::builder().add_source(vec![s]).build().ok();
    let mut origins = BTreeMap::new();
    for key in setting_keys() {
        let origin = if let Some((_, flag, _)) = flags.iter().find(|(k, _, _)| *k == key) {
            Origin::Flag(flag)
        } else if probe(single(Box::new(environment())), &key) {
            match &base_url_origin {
                Some(origin) if key == "api.base_url" => origin.clone(),
                _ => Origin::Environment(format!("{}{}", ENV_PREFIX, key.replace('.', "__").to_ascii_uppercase())),
            }
        } else if probe(single(Box::new(job_layer())), &key) {
            Origin::JobFile(job_path.to_owned())
        } else if let Some((user, text)) = sources.user_file
            && probe(single(Box::new(config::File::from_str(text, config::FileFormat::Toml))), &key)
        {
            Origin::UserSettings(user.to_owned())
        } else {
            Origin::Default
        };
        origins.insert(key, origin);
    }

    let settings: Settings = merged.try_deserialize().map_err(|e| {
        let text = e.to_string();
        let origin = origins
            .iter()
            .filter(|(key, _)| text.contains(key.as_str()))
            .max_by_key(|(key, _)| key.len())
            .map(|(key, origin)| format!(" ({key} from {origin})"))
            .unwrap_or_default();
        JobError::Setting(format!("invalid setting: {text}{origin}"))
    })?;
    Ok(Layered { settings, origins })
}

/// Every setting key, `table.key`, in declaration order.
pub fn setting_keys() -> Vec<String> {
    let value = serde_json::to_value(Settings::default()).expect("settings serialize");
    let mut keys = Vec::new();
    if let serde_json::Value::Object(tables) = value {
        for (table, fields) in tables {
            if let serde_json::Value::Object(fields) = fields {
                keys.extend(fields.keys().map(|field| format!("{table}.{field}")));
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layered(
        user: Option<&str>,
        job: &str,
        env: &[(&str, &str)],
        overrides: &Overrides,
    ) -> Result<Layered, JobError> {
        layer(&Sources {
            user_file: user.map(|t| (Path::new("user.toml"), t)),
            job_file: (Path::new("job.toml"), job),
            environment: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            overrides,
        })
    }

    #[test]
    fn each_layer_overrides_the_one_below() {
        let user = "[api]\nrequests_per_minute = 10\nmax_retries = 1\ntimeout_secs = 5\n";
        let job = "name = \"x\"\n[search]\n[api]\nmax_retries = 2\ntimeout_secs = 6\n";
        let env = [("OCEAN_EXPORT_API__TIMEOUT_SECS", "7"), ("OCEAN_EXPORT_LIMITS__MAX_RECORDS", "9")];
        let flags = Overrides { max_records: Some(11), ..Overrides::default() };
        let l = layered(Some(user), job, &env, &flags).unwrap();
        assert_eq!(l.settings.api.requests_per_minute.get(), 10);
        assert_eq!(l.settings.api.max_retries, 2);
        assert_eq!(l.settings.api.timeout_secs.get(), 7);
        assert_eq!(l.settings.limits.max_records.map(NonZeroU64::get), Some(11));
        assert_eq!(l.settings.api.max_retry_wait_secs, 300);
        let origin = |key: &str| l.origins[key].to_string();
        assert_eq!(origin("api.requests_per_minute"), "user settings user.toml");
        assert_eq!(origin("api.max_retries"), "job file job.toml");
        assert_eq!(origin("api.timeout_secs"), "environment OCEAN_EXPORT_API__TIMEOUT_SECS");
        assert_eq!(origin("limits.max_records"), "flag --max-records");
        assert_eq!(origin("api.max_retry_wait_secs"), "default");
    }

    #[test]
    fn bad_values_name_their_origin() {
        let err = layered(None, "[search]\n", &[("OCEAN_EXPORT_API__REQUESTS_PER_MINUTE", "0")], &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("OCEAN_EXPORT_API__REQUESTS_PER_MINUTE"), "{err}");
        let err = layered(None, "[search]\n", &[("OCEAN_EXPORT_NOPE", "1")], &Overrides::default()).unwrap_err();
        assert!(err.to_string().contains("OCEAN_EXPORT_NOPE"), "{err}");
        let err =
            layered(Some("[api]\nrequests_per_minut = 3\n"), "[search]\n", &[], &Overrides::default()).unwrap_err();
        assert!(err.to_string().starts_with("user.toml:2:1"), "{err}");
    }

    #[test]
    fn ocean_base_url_is_read_below_its_long_name() {
        let printed = [("OCEAN_BASE_URL", "http://127.0.0.1:9")];
        let l =
            layered(None, "[search]\n[api]\nbase_url = \"https://job\"\n", &printed, &Overrides::default()).unwrap();
        assert_eq!(l.settings.api.base_url, "http://127.0.0.1:9");
        assert_eq!(l.origins["api.base_url"], Origin::Environment("OCEAN_BASE_URL".to_owned()));
        let both = [("OCEAN_BASE_URL", "http://127.0.0.1:9"), ("OCEAN_EXPORT_API__BASE_URL", "http://127.0.0.1:8")];
        let l = layered(None, "[search]\n", &both, &Overrides::default()).unwrap();
        assert_eq!(l.settings.api.base_url, "http://127.0.0.1:8");
        let flag = Overrides { base_url: Some("http://127.0.0.1:7".to_owned()), ..Overrides::default() };
        assert_eq!(layered(None, "[search]\n", &printed, &flag).unwrap().settings.api.base_url, "http://127.0.0.1:7");
    }

    #[test]
    fn columns_from_the_environment_are_a_list() {
        let l =
            layered(None, "[search]\n", &[("OCEAN_EXPORT_OUTPUT__COLUMNS", "id,name")], &Overrides::default()).unwrap();
        let list = |names: &[&str]| {
            Some(ColumnSpec::List(names.iter().map(|n| crate::sink::ColumnItem::Field((*n).to_owned())).collect()))
        };
        assert_eq!(l.settings.output.columns, list(&["id", "name"]));
        let l = layered(None, "[search]\n", &[("OCEAN_EXPORT_OUTPUT__COLUMNS", "all")], &Overrides::default()).unwrap();
        assert_eq!(l.settings.output.columns, list(&["all"]));
        let job = "[search]\n[output]\ncolumns = [\"id\", { field = \"email.address\", header = \"Email\" }]\npreset = \"hubspot\"\n";
        let l = layered(None, job, &[], &Overrides::default()).unwrap();
        assert!(matches!(&l.settings.output.columns, Some(ColumnSpec::List(items)) if items.len() == 2));
        assert_eq!(l.settings.output.preset, Some(Preset::Hubspot));
    }
}

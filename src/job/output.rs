//! Where and how a job writes: its outputs, each with a path (placeholders filled in once), format,
//! compression and columns, and the job's state folder.
//!
//! A job has one `[output]` table, or several `[[output]]` entries written from the same pages (an XLSX for
//! the sales team and a Parquet file for the warehouse). TOML cannot have both. Settings of the job as a
//! whole ([`JOB_KEYS`]: `state_dir`) are written in `[output]`, or in any `[[output]]` entry; entries that
//! set one must agree. With several outputs, the settings that name one output ([`PER_OUTPUT_KEYS`]) can
//! only come from the entries: `--output`, `--format` and their `OCEAN_EXPORT_OUTPUT__*` variables would
//! not say which output they mean, and are refused. The others (`bom`, `neutralize_formulas`) apply to
//! every entry from wherever they come, in the usual order (user settings < job file < environment <
//! flags).

use std::path::{Path, PathBuf};

use super::diagnostic::JobError;
use super::settings::{Origin, OutputSettings};
use crate::sink::{Compression, Format, OutputOptions, columns};
use crate::storage::{ObjectTarget, url_scheme};

/// Output path when the job does not set one.
pub const DEFAULT_OUTPUT: &str = "output/{job}.{format}";

/// Settings of the job as a whole, wherever an `[[output]]` entry writes them.
pub const JOB_KEYS: &[&str] = &["state_dir", "deliver", "timezone"];

/// Settings that name one output.
pub const PER_OUTPUT_KEYS: &[&str] = &["path", "format", "compression", "compression_level", "columns", "preset"];

/// Compressions a path may name that are not written: refused rather than written plain under their name.
const UNSUPPORTED_COMPRESSIONS: &[&str] = &["bz2", "xz", "lz4", "zip", "br", "7z", "lzma", "z"];

/// Extensions of settings files, never an output.
const NOT_OUTPUTS: &[&str] = &["toml", "json5", "yaml", "yml"];

/// One output of a job, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// The path as configured, placeholders and all.
    pub template: String,
    /// The path, placeholders filled in.
    pub path: PathBuf,
    pub options: OutputOptions,
    /// The object the finished file is uploaded to, when the path is an `s3://` address. `path` is then
    /// the local file it is finished in, inside the job's state folder.
    pub object: Option<ObjectTarget>,
}

impl Output {
    pub fn format(&self) -> Format {
        self.options.format
    }
}

/// How a problem with a setting is reported: `key` of entry `entry` (`None` for `[output]`), item
/// `index` of its value if it is a list, at its place in the job file when it came from there.
pub(super) type SettingError<'a> = dyn Fn(Option<usize>, &str, Option<usize>, String) -> JobError + 'a;

/// The file extension of a format and compression: `csv`, `ndjson.gz`.
pub fn extension(format: Format, compression: Compression) -> String {
    match compression.suffix() {
        Some(suffix) => format!("{}.{suffix}", format.extension()),
        None => format.extension().to_owned(),
    }
}

/// Checks the settings of one output (`entry` of `[[output]]`, or `[output]`) of job `name`, as of `now`.
pub(super) fn check(
    settings: &OutputSettings,
    entry: Option<usize>,
    name: &str,
    now: &jiff::ZonedDateTime,
    error: &SettingError,
) -> Result<Output, JobError> {
    let error = |key: &str, index: Option<usize>, message: String| error(entry, key, index, message);
    let template = settings.path.clone().unwrap_or_else(|| DEFAULT_OUTPUT.to_owned());
    if url_scheme(&template).is_some() {
        // Scheme, bucket and the key's shape are checked before the placeholders are filled.
        crate::storage::parse(&template.replace(['{', '}'], "")).map_err(|m| error("path", None, m))?;
    }
    let written = crate::sink::implied(Path::new(&template));
    let format = match (settings.format, written.format) {
        (Some(format), _) | (None, Some(format)) => format,
        (None, None) => {
            if let Some(ext) =
                written.extension.as_deref().filter(|e| NOT_OUTPUTS.contains(&e.to_ascii_lowercase().as_str()))
            {
                return Err(error(
                    "path",
                    None,
                    format!(
                        "the path ends in .{ext}, a settings file, not an output; name a .csv, .ndjson, .parquet or .xlsx file"
                    ),
                ));
            }
            if let Some(ext) = written.extension.as_deref().filter(|e| !e.contains('{')) {
                tracing::warn!(
                    "the output path's extension .{ext} names no format; writing CSV (set format = \"csv\" to say so)"
                );
            }
            Format::Csv
        }
    };
    let compression = settings.compression.or(written.compression).unwrap_or_default();
    let path =
        fill_template(&template, name, &extension(format, compression), now).map_err(|m| error("path", None, m))?;
    let object = match url_scheme(&template) {
        Some(_) => Some(crate::storage::parse(&path.to_string_lossy()).map_err(|m| error("path", None, m))?),
        None => None,
    };
    if let Some(suffix) = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase())
        && UNSUPPORTED_COMPRESSIONS.contains(&suffix.as_str())
    {
        return Err(error("path", None, format!("`.{suffix}` compression is not supported: use .gz or .zst")));
    }
    if object.is_none() && path.is_dir() {
        return Err(error("path", None, format!("`{template}` names a folder, not a file")));
    }
    let implied = crate::sink::implied(&path);
    if let Some(implied_format) = implied.format
        && implied_format != format
    {
        return Err(error(
            "path",
            None,
            format!(
                "the path ends in .{} but the format is {}; change one of them",
                implied.extension.unwrap_or_default(),
                format.extension()
            ),
        ));
    }
    if !format.appended() && compression != Compression::None {
        return Err(error(
            if settings.compression.is_some() { "compression" } else { "path" },
            None,
            format!(
                "{} files are compressed inside; remove the compression{}",
                format.extension(),
                if implied.compression.is_some() { " (and the path's .gz or .zst)" } else { "" }
            ),
        ));
    }
    match (compression, implied.compression) {
        (Compression::None, None) => {}
        (wanted, Some(named)) if wanted == named => {}
        (Compression::None, Some(named)) => {
            return Err(error(
                "path",
                None,
                format!(
                    "the path ends in .{} but compression is none; change one of them",
                    named.suffix().unwrap_or_default()
                ),
            ));
        }
        (wanted, _) => {
            let base = path.to_string_lossy();
            let base = match implied.compression {
                Some(named) => base.trim_end_matches(&format!(".{}", named.suffix().unwrap_or_default())).to_owned(),
                None => base.into_owned(),
            };
            return Err(error(
                "path",
                None,
                format!(
                    "compression is {} but the path does not end in .{}; name it {base}.{}",
                    wanted.name(),
                    wanted.suffix().unwrap_or_default(),
                    wanted.suffix().unwrap_or_default()
                ),
            ));
        }
    }
    if let Some(level) = settings.compression_level {
        if compression == Compression::None {
            tracing::warn!("compression_level applies to gzip and zstd only; this output is not compressed");
        } else if !compression.levels().contains(&level) {
            let levels = compression.levels();
            return Err(error(
                "compression_level",
                None,
                format!("{} levels are {} to {}, not {level}", compression.name(), levels.start(), levels.end()),
            ));
        }
    }
    let columns = columns::resolve(settings.columns.as_ref(), settings.preset).map_err(|e| {
        let (key, help) = match &e {
            columns::ColumnError::Unknown { .. } => {
                ("columns", Some(format!("columns are: {}", columns::known().collect::<Vec<_>>().join(", "))))
            }
            columns::ColumnError::PresetAndColumns => ("preset", None),
            _ => ("columns", None),
        };
        let mut error = error(key, e.index(), e.to_string());
        if let (JobError::At(at), Some(help)) = (&mut error, help) {
            at.help = Some(help);
        }
        error
    })?;
    if !format.has_columns() && (settings.columns.is_some() || settings.preset.is_some()) {
        tracing::warn!("columns and preset apply to CSV and XLSX only; {} keeps every field", format.extension());
    }
    Ok(Output {
        template,
        path,
        options: OutputOptions {
            format,
            compression,
            level: settings.compression_level.filter(|_| compression != Compression::None),
            columns: if format.has_columns() { columns } else { Vec::new() },
            neutralise_formulas: settings.neutralize_formulas,
            bom: settings.bom,
        },
        object,
    })
}

/// The job's own state folder: `<state_dir>/<job name>`, by default `.state` beside the first output.
pub(super) fn state_dir(
    settings: &OutputSettings,
    first_template: &str,
    name: &str,
    error: &SettingError,
) -> Result<PathBuf, JobError> {
    // Always one folder per job, even when the setting is shared by several jobs (a user settings file).
    Ok(match &settings.state_dir {
        Some(dir) if dir.is_empty() => {
            return Err(error(None, "state_dir", None, "the state folder is empty; name a folder".to_owned()));
        }
        Some(dir) if url_scheme(dir).is_some() => {
            return Err(error(
                None,
                "state_dir",
                None,
                format!(
                    "`{dir}` is object storage; the state (checkpoint, partial files) is kept on local disk, or a persistent volume in Kubernetes: give a local folder"
                ),
            ));
        }
        Some(dir) => PathBuf::from(dir),
        None if url_scheme(first_template).is_some() => PathBuf::from(".state"),
        None => default_state_dir(first_template),
    }
    .join(name))
}

/// Where the outputs uploaded to object storage are finished locally: `<state>/objects/<bucket>/<key>`.
pub(super) fn stage_objects(outputs: &mut [Output], state_dir: &Path) {
    for output in outputs {
        if let Some(object) = &output.object {
            output.path = state_dir.join("objects").join(&object.bucket).join(&object.key);
        }
    }
}

/// An absolute path with `.` and `..` resolved lexically (no symlinks followed), so that `sub/../a.csv`
/// and `a.csv` compare equal.
pub(super) fn normalised(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Refuses an output written over the job file (or the seeds file it reads).
pub(super) fn check_not_inputs(
    outputs: &[Output],
    inputs: &[(&Path, &str)],
    error: &SettingError,
) -> Result<(), JobError> {
    for (i, output) in outputs.iter().enumerate().filter(|(_, o)| o.object.is_none()) {
        if let Some((input, what)) = inputs.iter().find(|(input, _)| normalised(input) == normalised(&output.path)) {
            return Err(error(
                Some(i),
                "path",
                None,
                format!("`{}` is the {what}; writing there would overwrite it: name another file", input.display()),
            ));
        }
    }
    Ok(())
}

/// Refuses two outputs that write one file (they would overwrite each other): their paths, and the
/// `.report.json` and `.partial` files beside them, at the later one.
pub(super) fn check_distinct(outputs: &[Output], error: &SettingError) -> Result<(), JobError> {
    let taken = |path: &Path| {
        [
            normalised(path),
            normalised(&crate::checkpoint::report_path(path)),
            normalised(&crate::sink::partial_path(path)),
        ]
    };
    for (i, output) in outputs.iter().enumerate() {
        let own = taken(&output.path);
        for (first, earlier) in outputs[..i].iter().enumerate() {
            let theirs = taken(&earlier.path);
            if let Some(shared) = own.iter().find(|p| theirs.contains(p)) {
                return Err(error(
                    Some(i),
                    "path",
                    None,
                    format!(
                        "outputs {} and {} both write {}; give each [[output]] its own path",
                        first + 1,
                        i + 1,
                        shared.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The settings of `[[output]]` entry `entry`: its own keys over the layered `[output]` settings (built-in
/// defaults and the user settings file below it), except where the environment or a flag set a key,
/// which win as they do everywhere. `written` is the entry as the job file has it.
pub(super) fn entry_settings(
    layered: &OutputSettings,
    origins: &std::collections::BTreeMap<String, Origin>,
    written: &toml::Table,
) -> OutputSettings {
    let mut value = serde_json::to_value(layered).expect("settings serialize");
    for (key, v) in written {
        let overridden =
            matches!(origins.get(&format!("output.{key}")), Some(Origin::Environment(_) | Origin::Flag(_)));
        if !overridden {
            value[key.as_str()] = serde_json::to_value(v).expect("TOML values serialize");
        }
    }
    // The entry passed the same strict check when the file was read.
    serde_json::from_value(value).expect("an entry that was checked reads back")
}

/// Fills `{job}`, `{date}`, `{datetime}`, `{month}` (with offsets: `{date-1d}`) and `{format}` (the extension, `csv.gz` when compressed) in an
/// output path template.
pub(super) fn fill_template(
    template: &str,
    job: &str,
    extension: &str,
    now: &jiff::ZonedDateTime,
) -> Result<PathBuf, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').ok_or_else(|| format!("unclosed `{{` in `{template}`"))? + open;
        match &rest[open + 1..close] {
            "job" => out.push_str(job),
            "format" => out.push_str(extension),
            other => match super::dates::placeholder(other, now)? {
                Some(value) => out.push_str(&value),
                None => {
                    return Err(format!(
                        "unknown placeholder `{{{other}}}` in `{template}` (use {{job}}, {{date}}, {{datetime}}, {{month}}, {{format}})"
                    ));
                }
            },
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
pub(super) fn default_state_dir(template: &str) -> PathBuf {
    let parent = Path::new(template).parent().unwrap_or(Path::new(""));
    let fixed: PathBuf = parent.components().take_while(|c| !c.as_os_str().to_string_lossy().contains('{')).collect();
    fixed.join(".state")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_and_state_dirs() {
        let now: jiff::ZonedDateTime = "2026-11-27T08:09:10+00:00[UTC]".parse().unwrap();
        assert_eq!(
            fill_template("o/{job}-{date}.{format}", "j", "ndjson", &now).unwrap(),
            Path::new("o/j-2026-11-27.ndjson")
        );
        assert_eq!(fill_template("{datetime}.csv", "j", "csv", &now).unwrap(), Path::new("20261127T080910.csv"));
        assert_eq!(fill_template("o/{job}.{format}", "j", "csv.gz", &now).unwrap(), Path::new("o/j.csv.gz"));
        assert!(fill_template("o/{x}.csv", "j", "csv", &now).is_err());
        assert_eq!(default_state_dir("out/{date}/a.csv"), Path::new("out/.state"));
        assert_eq!(default_state_dir("a.csv"), Path::new(".state"));
    }
}

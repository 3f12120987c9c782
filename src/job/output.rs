//! Where and how a job writes: the output path (placeholders filled in once), its format, the CSV columns
//! and the job's state folder.

use std::path::{Path, PathBuf};

use super::diagnostic::JobError;
use super::settings::OutputSettings;
use crate::sink::Format;

/// Output path when the job does not set one.
pub const DEFAULT_OUTPUT: &str = "output/{job}.{format}";

/// The output of a job, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Output {
    /// The path as configured, placeholders and all.
    pub template: String,
    /// The path, placeholders filled in.
    pub path: PathBuf,
    pub format: Format,
    /// CSV columns, checked; `None` for all (and always `None` for NDJSON).
    pub columns: Option<Vec<String>>,
    /// The job's own state folder: `<state_dir>/<job name>`.
    pub state_dir: PathBuf,
}

/// How a problem with a merged setting is reported: at its place in the job file when it came from there.
pub(super) type SettingError<'a> = dyn Fn(&str, Option<usize>, String) -> JobError + 'a;

/// Checks the `[output]` settings of job `name`, as of `now`; every problem, not just the first.
pub(super) fn check(
    settings: &OutputSettings,
    name: &str,
    now: &jiff::ZonedDateTime,
    error: &SettingError,
) -> Result<Output, JobError> {
    let mut errors = Vec::new();
    let template = settings.path.clone().unwrap_or_else(|| DEFAULT_OUTPUT.to_owned());
    let format = settings.format.or(Format::from_path(Path::new(&template))).unwrap_or(Format::Csv);
    let path = fill_template(&template, name, format, now).map_err(|m| errors.push(error("output.path", None, m)));
    if let Ok(path) = &path
        && let Some(implied) = Format::from_path(path)
        && implied != format
    {
        errors.push(error(
            "output.path",
            None,
            format!(
                "the path ends in .{} but the format is {}; change one of them",
                path.extension().unwrap_or_default().to_string_lossy(),
                format.extension()
            ),
        ));
    }
    let columns = match &settings.columns {
        None => None,
        Some(columns) => crate::sink::csv::check_columns(columns)
            .map_err(|e| {
                let index = columns.iter().position(|c| *c == e.name);
                let mut error = error("output.columns", index, e.to_string());
                if let JobError::At(at) = &mut error {
                    at.help = Some(format!(
                        "columns are: {}",
                        crate::sink::csv::known_columns().collect::<Vec<_>>().join(", ")
                    ));
                }
                errors.push(error);
            })
            .ok(),
    };
    if columns.is_some() && format == Format::Ndjson {
        tracing::warn!("[output] columns apply to CSV only; NDJSON keeps every field");
    }
    // Always one folder per job, even when the setting is shared by several jobs (a user settings file).
    let state_dir = match &settings.state_dir {
        Some(dir) if dir.is_empty() => {
            errors.push(error("output.state_dir", None, "the state folder is empty; name a folder".to_owned()));
            PathBuf::new()
        }
        Some(dir) => PathBuf::from(dir),
        None => default_state_dir(&template),
    }
    .join(name);
    match (path, errors.len()) {
        (Ok(path), 0) => {
            Ok(Output { template, path, format, columns: columns.filter(|_| format == Format::Csv), state_dir })
        }
        (_, 1) => Err(errors.remove(0)),
        _ => Err(JobError::Several(errors)),
    }
}

/// Fills `{job}`, `{date}`, `{datetime}` and `{format}` in an output path template.
pub(super) fn fill_template(
    template: &str,
    job: &str,
    format: Format,
    now: &jiff::ZonedDateTime,
) -> Result<PathBuf, String> {
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
            fill_template("o/{job}-{date}.{format}", "j", Format::Ndjson, &now).unwrap(),
            Path::new("o/j-2026-11-27.ndjson")
        );
        assert_eq!(fill_template("{datetime}.csv", "j", Format::Csv, &now).unwrap(), Path::new("20261127T080910.csv"));
        assert!(fill_template("o/{x}.csv", "j", Format::Csv, &now).is_err());
        assert_eq!(default_state_dir("out/{date}/a.csv"), Path::new("out/.state"));
        assert_eq!(default_state_dir("a.csv"), Path::new(".state"));
    }
}

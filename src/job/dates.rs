//! Dates in a job: the `{date}`, `{datetime}` and `{month}` placeholders, in UTC unless `[output]
//! timezone` names another zone, and the search's date fields (`changedPositionAfter`,
//! `changedPositionBefore`), which take `{date}` and `{month}` with offsets (`{date-1d}`, `{date-7d}`,
//! `{month-1m}`), resolved once when the job is loaded.

use jiff::tz::TimeZone;
use jiff::{ToSpan, ZonedDateTime as Zoned};

use crate::api::body::PeopleFilters;

/// The search fields that take dates.
pub const FIELDS: &[&str] = &["changedPositionAfter", "changedPositionBefore"];

/// The hint of an unknown placeholder in a date field.
pub const HELP: &str = "use {date} (YYYY-MM-DD), {date-1d}, {date-7d}, {date+1d}, {month} (YYYY-MM) or {month-1m}, or a date such as \"2026-01\"";

pub fn field<'a>(filters: &'a PeopleFilters, name: &str) -> &'a Option<String> {
    match name {
        "changedPositionAfter" => &filters.changed_position_after,
        "changedPositionBefore" => &filters.changed_position_before,
        _ => unreachable!("{name} is not a date field"),
    }
}

pub fn field_mut<'a>(filters: &'a mut PeopleFilters, name: &str) -> &'a mut Option<String> {
    match name {
        "changedPositionAfter" => &mut filters.changed_position_after,
        "changedPositionBefore" => &mut filters.changed_position_before,
        _ => unreachable!("{name} is not a date field"),
    }
}

/// The zone of `[output] timezone`: UTC when unset.
pub fn zone(name: Option<&str>) -> Result<TimeZone, String> {
    match name {
        None => Ok(TimeZone::UTC),
        Some(name) => TimeZone::get(name).map_err(|e| {
            format!("unknown time zone `{name}` ({e}); use an IANA name such as \"Europe/Copenhagen\" or \"UTC\"")
        }),
    }
}

/// One placeholder's value, or `None` if it is not a date placeholder.
pub fn placeholder(name: &str, now: &Zoned) -> Result<Option<String>, String> {
    let (base, offset) = match name.find(['+', '-']) {
        Some(at) => (&name[..at], Some(&name[at..])),
        None => (name, None),
    };
    let (format, unit) = match base {
        "date" => ("%Y-%m-%d", 'd'),
        "month" => ("%Y-%m", 'm'),
        "datetime" if offset.is_none() => ("%Y%m%dT%H%M%S", 'd'),
        _ => return Ok(None),
    };
    let mut at = now.clone();
    if let Some(offset) = offset {
        let bad = || format!("`{{{name}}}`: write the offset as {base}-<number>{unit} or {base}+<number>{unit}");
        let digits = offset[1..].strip_suffix(unit).ok_or_else(bad)?;
        let count: i64 = digits.parse().ok().filter(|n| (0..=100_000).contains(n)).ok_or_else(bad)?;
        let count = if offset.starts_with('-') { -count } else { count };
        let span = if unit == 'd' { count.days() } else { count.months() };
        at = at.checked_add(span).map_err(|e| format!("`{{{name}}}`: {e}"))?;
    }
    Ok(Some(at.strftime(format).to_string()))
}

/// A search date field's value with its placeholders filled in.
pub fn fill(template: &str, now: &Zoned) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').ok_or_else(|| format!("unclosed `{{` in `{template}`"))? + open;
        let name = &rest[open + 1..close];
        match placeholder(name, now)? {
            Some(value) if !name.starts_with("datetime") => out.push_str(&value),
            _ => return Err(format!("unknown placeholder `{{{name}}}` in `{template}`")),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_with_offsets() {
        let now: Zoned = "2026-03-01T00:30:00+00:00[UTC]".parse().unwrap();
        assert_eq!(fill("{date}", &now).unwrap(), "2026-03-01");
        assert_eq!(fill("{date-1d}", &now).unwrap(), "2026-02-28");
        assert_eq!(fill("{date-7d}", &now).unwrap(), "2026-02-22");
        assert_eq!(fill("{date+1d}", &now).unwrap(), "2026-03-02");
        assert_eq!(fill("{month}", &now).unwrap(), "2026-03");
        assert_eq!(fill("{month-1m}", &now).unwrap(), "2026-02");
        assert_eq!(fill("{month-12m}", &now).unwrap(), "2025-03");
        assert_eq!(fill("2026-01", &now).unwrap(), "2026-01");
        for bad in ["{dat}", "{date-1}", "{date-xd}", "{date-1m}", "{datetime}", "{date", "{job}"] {
            assert!(fill(bad, &now).is_err(), "{bad}");
        }
    }

    #[test]
    fn zones() {
        let now: Zoned = "2026-03-01T23:30:00+00:00[UTC]".parse().unwrap();
        let copenhagen = now.with_time_zone(zone(Some("Europe/Copenhagen")).unwrap());
        assert_eq!(fill("{date}", &copenhagen).unwrap(), "2026-03-02");
        assert_eq!(zone(None).unwrap(), TimeZone::UTC);
        assert!(zone(Some("Mars/Olympus")).unwrap_err().contains("Mars/Olympus"));
    }
}

//! Words for people who do not write Rust: serde's type names as plain words, and a hint for a value of
//! the wrong type or out of range.

/// serde's names for types, as a job file's reader knows them.
const PLAIN: &[(&str, &str)] = &[
    ("expected a nonzero u32", "expected a nonzero whole number"),
    ("expected a nonzero u64", "expected a nonzero whole number"),
    ("expected i64", "expected a whole number"),
    ("expected i32", "expected a whole number"),
    ("expected u64", "expected a whole number of 0 or more"),
    ("expected u32", "expected a whole number of 0 or more"),
    ("expected usize", "expected a whole number of 0 or more"),
    ("expected f64", "expected a number"),
    ("expected a sequence", "expected a list"),
    ("expected a map", "expected a table"),
    ("invalid type: sequence", "invalid type: list"),
    ("invalid type: map", "invalid type: table"),
];

/// A serde message with its type names in plain words.
pub(super) fn plain_types(message: &str) -> String {
    let mut out = message.to_owned();
    for (from, to) in PLAIN {
        out = out.replace(from, to);
    }
    // `expected struct SearchBody` and the like: every struct is a table in the job file.
    if let Some(at) = out.find("expected struct ") {
        let end = out[at + "expected struct ".len()..]
            .find(|c: char| !c.is_alphanumeric())
            .map_or(out.len(), |i| at + "expected struct ".len() + i);
        out.replace_range(at..end, "expected a table");
    }
    out
}

/// What to write instead, for a value of the wrong type or out of range; `key` is its full name.
pub(super) fn for_value(key: &str, message: &str) -> Option<String> {
    let leaf = key.rsplit('.').next().unwrap_or(key);
    let leaf = leaf.split('[').next().unwrap_or(leaf);
    if let Some(hint) = for_key(leaf) {
        return Some(hint.to_owned());
    }
    let expected = message.split("expected ").nth(1).unwrap_or_default();
    let hint = if message.contains("must be between") {
        "write a number in that range, without quotes"
    } else if message.contains("must be above 0") || expected.starts_with("a nonzero") {
        "write a number above 0, without quotes"
    } else if message.contains("at most") && message.contains("items") {
        "shorten the list"
    } else if message.contains("length must be") {
        "this value cannot be empty"
    } else if message.contains("finite") {
        "write an ordinary number (nan and inf are not numbers the API takes)"
    } else if message.contains("invalid type: date") {
        "put the date in quotes, as text: \"2023-01\""
    } else if expected.starts_with("a list") {
        "write a list in square brackets, even for one value: [\"dk\"]"
    } else if expected.starts_with("a whole number") {
        "write a whole number without quotes, like 100"
    } else if expected.starts_with("a number") {
        "write a number without quotes, like 0.5"
    } else if expected.starts_with("a string") {
        "write text in double quotes, like \"dk\""
    } else if expected.starts_with("a boolean") {
        "write true or false, without quotes"
    } else if expected.starts_with("a table") {
        "write a table: key = { name = value } or a [section] of its own"
    } else {
        return None;
    };
    Some(hint.to_owned())
}

/// Hints for the keys people get wrong most.
fn for_key(key: &str) -> Option<&'static str> {
    Some(match key {
        "size" => "size is the page size: people per request, 1 to 10000 (bigger pages use fewer requests)",
        "peoplePerCompany" => "at most this many people per company: 1 to 20, or leave it out for all of them",
        "jobTitleThreshold" => "how alike job titles must be: 0 (anything) to 1 (exactly); the API's default is 0.8",
        "requests_per_minute" => "requests per minute, above 0 (Ocean's self-serve limit is 60)",
        "max_records" => "the most people to export, above 0; leave it out for no limit",
        "max_credits" => "the most credits to spend, above 0; leave it out for no limit",
        "credits_per_person" => "the price per person before the first page shows the real one (0.2 on v3)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_become_words() {
        assert_eq!(
            plain_types("invalid type: string \"10\", expected i64"),
            "invalid type: string \"10\", expected a whole number"
        );
        assert_eq!(
            plain_types("invalid type: string \"x\", expected struct SearchBody"),
            "invalid type: string \"x\", expected a table"
        );
        assert_eq!(
            plain_types("invalid value: integer `0`, expected a nonzero u64"),
            "invalid value: integer `0`, expected a nonzero whole number"
        );
        assert!(for_value("search.size", "must be between 1 and 10000, got 0").unwrap().contains("page size"));
        assert!(
            for_value("search.peopleFilters.countries", "invalid type: string \"dk\", expected a list")
                .unwrap()
                .contains("[\"dk\"]")
        );
    }
}

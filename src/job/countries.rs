//! Country values as people write them (`DK`, `Denmark`, `Danmark`, `UK`, `USA`, `DNK`) → the lowercase
//! ISO 3166-1 alpha-2 code Ocean expects (`dk`, `gb`, `us`). Anything else is refused with the closest
//! countries, since Ocean silently matches nobody for a country it does not know.
//!
//! A table of our own (`table.rs`) rather than a crate: the crates that were checked (celes, isocountry,
//! rust_iso3166) carry official ISO names only ("Korea, Republic of"), none has local names (Deutschland,
//! Sverige) or UK, and celes 3 needs a newer Rust than this project's.

mod table;

use table::COUNTRIES;

/// A country value that names no country, and the countries it most resembles (alpha-2, name).
#[derive(Clone, Debug, PartialEq)]
pub struct Unknown {
    pub suggestions: Vec<(&'static str, &'static str)>,
}

impl Unknown {
    /// The hint shown with the error.
    pub fn hint(&self) -> String {
        let how = "write a two-letter ISO 3166 code (dk, gb, us) or an English country name (Denmark)";
        match self.suggestions.as_slice() {
            [] => how.to_owned(),
            close => {
                let names: Vec<String> = close.iter().map(|(code, name)| format!("`{code}` ({name})")).collect();
                format!("did you mean {}? Or {how}", names.join(", "))
            }
        }
    }
}

/// The lowercase alpha-2 code of a country given by alpha-2 or alpha-3 code (any case), English or local
/// name, or a common alias.
pub fn resolve(written: &str) -> Result<&'static str, Unknown> {
    let trimmed = written.trim();
    let by_code = match trimmed.len() {
        2 => COUNTRIES.iter().find(|row| row.0.eq_ignore_ascii_case(trimmed)),
        3 => COUNTRIES.iter().find(|row| row.1.eq_ignore_ascii_case(trimmed)),
        _ => None,
    };
    if let Some(row) = by_code {
        return Ok(row.0);
    }
    let key = fold(trimmed);
    let found = COUNTRIES
        .iter()
        .find(|(_, _, name, aliases)| fold(name) == key || aliases.iter().any(|alias| fold(alias) == key));
    match found {
        Some(row) => Ok(row.0),
        None => Err(Unknown { suggestions: closest(&key) }),
    }
}

/// Up to three countries whose codes or names look most like `key`.
fn closest(key: &str) -> Vec<(&'static str, &'static str)> {
    if key.is_empty() {
        return Vec::new();
    }
    let mut scored: Vec<(f64, &'static str, &'static str)> = COUNTRIES
        .iter()
        .map(|(code, alpha3, name, aliases)| {
            let names = std::iter::once(*name).chain(aliases.iter().copied());
            let by_name = names.map(|n| strsim::jaro_winkler(key, &fold(n))).fold(0.0, f64::max);
            // Codes only count when the input is as short as a code: "dnk" is DNK, "denmrk" is not "dk".
            let by_code = if key.len() <= 3 {
                strsim::jaro_winkler(key, code).max(strsim::jaro_winkler(key, &alpha3.to_ascii_lowercase()))
            } else {
                0.0
            };
            (by_name.max(by_code), *code, *name)
        })
        .filter(|(score, _, _)| *score >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, code, name)| (code, name)).collect()
}

/// A name reduced to what tells countries apart: lowercase, without accents, punctuation or a leading
/// "the", `&` as "and", `st` as "saint" (`St. Lucia` is `Saint Lucia`).
fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => out.push('a'),
            'æ' => out.push_str("ae"),
            'ç' | 'č' | 'ć' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' | 'ě' | 'ē' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' => out.push('i'),
            'ñ' | 'ń' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ő' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' | 'ů' | 'ű' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'ß' => out.push_str("ss"),
            'š' | 'ś' => out.push('s'),
            'ž' | 'ź' | 'ż' => out.push('z'),
            'ř' => out.push('r'),
            'ł' => out.push('l'),
            'ð' => out.push('d'),
            'þ' => out.push_str("th"),
            '&' => out.push_str(" and "),
            '.' | '\'' | '’' | '(' | ')' | ',' => {}
            '-' | '_' | '/' => out.push(' '),
            c => out.push(c),
        }
    }
    let words: Vec<&str> = out.split_whitespace().collect();
    let words = match words.as_slice() {
        ["the", rest @ ..] if !rest.is_empty() => rest,
        all => all,
    };
    words.iter().map(|w| if *w == "st" { "saint" } else { w }).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_names_and_aliases_resolve() {
        for (written, code) in [
            ("dk", "dk"),
            ("DK", "dk"),
            (" Se ", "se"),
            ("Denmark", "dk"),
            ("denmark", "dk"),
            ("Danmark", "dk"),
            ("DNK", "dk"),
            ("UK", "gb"),
            ("uk", "gb"),
            ("United Kingdom", "gb"),
            ("Great Britain", "gb"),
            ("England", "gb"),
            ("USA", "us"),
            ("U.S.A.", "us"),
            ("United States of America", "us"),
            ("Deutschland", "de"),
            ("Österreich", "at"),
            ("Osterreich", "at"),
            ("Schweiz", "ch"),
            ("Holland", "nl"),
            ("The Netherlands", "nl"),
            ("Czech Republic", "cz"),
            ("Korea, Republic of", "kr"),
            ("South Korea", "kr"),
            ("Côte d'Ivoire", "ci"),
            ("Cote dIvoire", "ci"),
            ("St. Lucia", "lc"),
            ("Bosnia & Herzegovina", "ba"),
            ("Åland Islands", "ax"),
            ("Türkiye", "tr"),
            ("Turkey", "tr"),
        ] {
            assert_eq!(resolve(written), Ok(code), "{written}");
        }
    }

    #[test]
    fn anything_else_is_refused_with_the_closest() {
        let unknown = resolve("Denmrk").unwrap_err();
        assert_eq!(unknown.suggestions.first(), Some(&("dk", "Denmark")));
        assert!(unknown.hint().starts_with("did you mean `dk` (Denmark)"), "{}", unknown.hint());
        for nonsense in ["zz", "XK", "EU", "Scandinavia", "", "Nordics", "ABC"] {
            assert!(resolve(nonsense).is_err(), "{nonsense}");
        }
        assert!(resolve("Germny").unwrap_err().suggestions.iter().any(|(c, _)| *c == "de"));
        assert!(resolve("qq").unwrap_err().hint().contains("two-letter ISO 3166 code"));
    }

    #[test]
    fn the_table_is_consistent() {
        assert_eq!(COUNTRIES.len(), 249);
        let mut seen = std::collections::BTreeMap::new();
        for (code, alpha3, name, aliases) in COUNTRIES {
            assert!(code.len() == 2 && code.chars().all(|c| c.is_ascii_lowercase()), "{code}");
            assert!(alpha3.len() == 3 && alpha3.chars().all(|c| c.is_ascii_uppercase()), "{alpha3}");
            // No name or alias may lead to two countries.
            for written in std::iter::once(name).chain(aliases.iter()) {
                if let Some(other) = seen.insert(fold(written), *code) {
                    assert_eq!(other, *code, "{written} names {other} and {code}");
                }
            }
        }
    }
}

//! Rows of cells from people, for CSV and XLSX: a projection that reads only the fields the columns need,
//! flattening (dotted names, lists joined with `"; "`, objects as JSON cells) and formula neutralising.

use std::borrow::Cow;
use std::fmt;

use rustc_hash::FxHashMap;
use serde::Deserializer;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::columns::{Column, FIRST_PHONE};
use crate::api::Person;
use crate::api::person::Text;

/// Values that hold one JSON document per cell even when they could be joined.
const JSON_COLUMNS: &[&str] = &["experiences", "phone", "email", "company", "company.fundingRound"];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Render {
    /// Text as is, numbers and booleans as JSON, lists of scalars joined, anything else as JSON.
    Auto,
    /// Always the JSON of the value.
    Json,
    /// The first scalar of a list (`phone.number`: the first of `phone.numbers`).
    First,
}

#[derive(Debug, Default)]
struct Node {
    cells: Vec<(usize, Render)>,
    children: Option<Plan>,
}

/// JSON key → what to do with its value, per level of nesting. Looked up once per field of every person,
/// so with a fast hash (the keys are the API's, not an attacker's choice of collisions to exploit here:
/// a lookup of an unknown key costs the same as any other).
#[derive(Debug, Default)]
struct Plan(FxHashMap<String, Node>);

impl Plan {
    /// The cells this plan and its sub-plans fill.
    fn cells(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.values().flat_map(|node| {
            let inner: Box<dyn Iterator<Item = usize>> = match &node.children {
                Some(children) => Box::new(children.cells()),
                None => Box::new(std::iter::empty()),
            };
            node.cells.iter().map(|(cell, _)| *cell).chain(inner)
        })
    }

    fn insert(&mut self, path: &str, cell: usize, render: Render) {
        let (head, rest) = match path.split_once('.') {
            Some((head, rest)) => (head, Some(rest)),
            None => (path, None),
        };
        let node = self.0.entry(head.to_owned()).or_default();
        match rest {
            None => node.cells.push((cell, render)),
            Some(rest) => node.children.get_or_insert_with(Plan::default).insert(rest, cell, render),
        }
    }
}

/// The cells of one person, reused from row to row. A cell holds one slot per item of a list of objects
/// (`experiences.jobTitle`: one per experience, empty where it has none, so the columns of one list
/// line up), joined with `"; "`; outside a list, one slot.
#[derive(Debug, Default)]
pub struct Row {
    cells: Vec<String>,
    numeric: Vec<bool>,
    slots: Vec<u32>,
}

impl Row {
    fn reset(&mut self, width: usize) {
        self.cells.resize_with(width, String::new);
        self.numeric.resize(width, false);
        self.slots.resize(width, 0);
        self.cells.iter_mut().for_each(String::clear);
        self.numeric.iter_mut().for_each(|n| *n = false);
        self.slots.iter_mut().for_each(|n| *n = 0);
    }

    /// Fills slot `item` of a cell (1 outside a list). The first value for a slot wins: a key repeated
    /// in one object, which JSON allows, does not concatenate.
    fn put(&mut self, cell: usize, text: &str, numeric: bool, item: u32) {
        let slot = item.max(1);
        if self.slots[cell] >= slot {
            return;
        }
        self.fill_to(cell, slot - 1);
        if self.slots[cell] > 0 {
            self.cells[cell].push_str("; ");
            self.numeric[cell] = false;
        } else {
            self.numeric[cell] = numeric;
        }
        self.cells[cell].push_str(text);
        self.slots[cell] = slot;
    }

    /// Adds empty slots to a cell up to `slots`.
    fn fill_to(&mut self, cell: usize, slots: u32) {
        while self.slots[cell] < slots {
            if self.slots[cell] > 0 {
                self.cells[cell].push_str("; ");
            }
            self.slots[cell] += 1;
            self.numeric[cell] = false;
        }
    }
}

/// The column layout of a CSV or XLSX export and how to fill it from a person.
#[derive(Debug)]
pub struct Layout {
    headers: Vec<String>,
    /// Per column: does it hold phone numbers (which stay dialable when they look like one)?
    phone: Vec<bool>,
    plan: Plan,
}

impl Layout {
    /// `columns` must have passed [`super::columns::resolve`].
    pub fn new(columns: &[Column]) -> Layout {
        let mut plan = Plan::default();
        for (i, column) in columns.iter().enumerate() {
            let field = column.field.as_str();
            let (path, render) = if field == FIRST_PHONE {
                ("phone.numbers", Render::First)
            } else if JSON_COLUMNS.contains(&field) {
                (field, Render::Json)
            } else {
                (field, Render::Auto)
            };
            plan.insert(path, i, render);
        }
        let phone = columns.iter().map(|c| c.field == "phone.numbers" || c.field == FIRST_PHONE).collect();
        Layout { headers: columns.iter().map(|c| c.header.clone()).collect(), phone, plan }
    }

    pub fn headers(&self) -> impl Iterator<Item = &str> {
        self.headers.iter().map(String::as_str)
    }

    /// Fills `row` from a person. Values that cannot be read (a string with a lone UTF-16 surrogate, say)
    /// are written as the API spelled them rather than dropped.
    pub fn project(&self, person: &Person<'_>, row: &mut Row) {
        row.reset(self.headers.len());
        for (key, value) in person.fields() {
            if let Some(node) = self.plan.0.get(key) {
                apply(node, value, row, 0);
            }
        }
    }

    /// The cells of a projected row, neutralised where asked. Numbers are left alone, and so are phone
    /// numbers that look like one (`+45 12 34 56 78`), so they stay dialable.
    pub fn cells<'r>(&'r self, row: &'r Row, neutralise: bool) -> impl Iterator<Item = Cow<'r, str>> + 'r {
        (0..self.headers.len()).map(move |i| {
            let text = row.cells[i].as_str();
            let exempt = row.numeric[i] || (self.phone[i] && looks_like_phone_numbers(text));
            if neutralise && !exempt && is_formula_like(text) {
                Cow::Owned(format!("'{text}"))
            } else {
                Cow::Borrowed(text)
            }
        })
    }
}

impl Layout {
    /// The cells of a projected row as they are, each with whether it is a JSON number (for typed cells).
    pub fn typed_cells<'r>(&'r self, row: &'r Row) -> impl Iterator<Item = (&'r str, bool)> + 'r {
        (0..self.headers.len()).map(move |i| (row.cells[i].as_str(), row.numeric[i]))
    }
}

/// Phone numbers (joined with `; `): digits, spaces, `+`, `-`, `.`, `/` and parentheses only.
fn looks_like_phone_numbers(text: &str) -> bool {
    text.chars().all(|c| c.is_ascii_digit() || " +-./();".contains(c))
}

/// Whether a spreadsheet could read the cell as a formula (OWASP's list: `=`, `+`, `-`, `@`, tab, CR).
pub fn is_formula_like(text: &str) -> bool {
    matches!(text.as_bytes().first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'))
}

struct ObjectVisitor<'p, 'r> {
    plan: &'p Plan,
    row: &'r mut Row,
    /// Inside a list of objects, the item's number (from 1); 0 outside.
    item: u32,
}

impl<'de> Visitor<'de> for ObjectVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            match self.plan.0.get(key.as_ref()) {
                Some(node) => {
                    let value: &'de RawValue = map.next_value()?;
                    apply(node, value, self.row, self.item);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Puts one field's value into its cells, and walks into it for nested columns. A nested value that
/// cannot be read leaves its cells empty.
fn apply(node: &Node, raw: &RawValue, row: &mut Row, item: u32) {
    let text = raw.get();
    for &(cell, render) in &node.cells {
        if let Some((value, numeric)) = render_value(text, render) {
            row.put(cell, &value, numeric, item);
        }
    }
    if let Some(children) = &node.children {
        let mut de = serde_json::Deserializer::from_str(text);
        let _ = match text.as_bytes().first() {
            Some(b'{') => de.deserialize_map(ObjectVisitor { plan: children, row, item }),
            Some(b'[') => de.deserialize_seq(ListOfObjects { plan: children, row }),
            _ => Ok(()),
        };
    }
}

/// `experiences.jobTitle`: the field of every object of a list, joined.
struct ListOfObjects<'p, 'r> {
    plan: &'p Plan,
    row: &'r mut Row,
}

impl<'de> Visitor<'de> for ListOfObjects<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut number = 0;
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            number += 1;
            if item.get().starts_with('{') {
                let mut de = serde_json::Deserializer::from_str(item.get());
                let _ = de.deserialize_map(ObjectVisitor { plan: self.plan, row: self.row, item: number });
            }
            // An item without a value for a column still takes its slot there.
            for cell in self.plan.cells() {
                self.row.fill_to(cell, number);
            }
        }
        Ok(())
    }
}

/// The text of a value for one cell, and whether it is a JSON number; `None` for null.
fn render_value(text: &str, render: Render) -> Option<(Cow<'_, str>, bool)> {
    let first = text.as_bytes().first().copied().unwrap_or(b'n');
    match (first, render) {
        (b'n', _) => None,
        (b'[' | b'{', Render::Json) => Some((minified(text), false)),
        (b'"', _) => Some((string_value(text), false)),
        (b'[', Render::Auto) => Some((join_scalars(text).unwrap_or_else(|| minified(text)), false)),
        (b'[', Render::First) => first_scalar(text),
        (b'{', _) => Some((minified(text), false)),
        (b't' | b'f', _) => Some((Cow::Borrowed(text), false)),
        _ => Some((Cow::Borrowed(text), true)),
    }
}

/// A JSON string's text; one that cannot be decoded (a lone UTF-16 surrogate escape) as spelled.
fn string_value(text: &str) -> Cow<'_, str> {
    // Valid JSON has no raw control characters in strings, so without a backslash the text between the
    // quotes is the value (found by a SIMD search rather than a second full decode).
    let inner = text.get(1..text.len().saturating_sub(1)).unwrap_or_default();
    if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
        return Cow::Borrowed(inner);
    }
    match serde_json::from_str::<Text>(text) {
        Ok(Text(value)) => value,
        Err(_) => Cow::Borrowed(text.get(1..text.len().saturating_sub(1)).unwrap_or(text)),
    }
}

/// `["a","b",3]` → `a; b; 3`; `None` when the list holds objects or lists.
fn join_scalars(text: &str) -> Option<Cow<'_, str>> {
    struct Join;
    impl<'de> Visitor<'de> for Join {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<String>, A::Error> {
            let mut out = String::new();
            let mut nested = false;
            while let Some(item) = seq.next_element::<&'de RawValue>()? {
                nested |= item.get().starts_with(['[', '{']);
                let Some((value, _)) = render_value(item.get(), Render::Json) else { continue };
                if !out.is_empty() {
                    out.push_str("; ");
                }
                out.push_str(&value);
            }
            Ok((!nested).then_some(out))
        }
    }
    serde_json::Deserializer::from_str(text).deserialize_seq(Join).ok().flatten().map(Cow::Owned)
}

/// `["+45 1", "+45 2"]` → `+45 1`: the first item that is not null, when it is a scalar.
fn first_scalar(text: &str) -> Option<(Cow<'_, str>, bool)> {
    struct First;
    impl<'de> Visitor<'de> for First {
        type Value = Option<(String, bool)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut first = None;
            while let Some(item) = seq.next_element::<&'de RawValue>()? {
                if first.is_none() && !item.get().starts_with(['[', '{']) {
                    first = render_value(item.get(), Render::Auto).map(|(v, n)| (v.into_owned(), n));
                }
            }
            Ok(first)
        }
    }
    let (value, numeric) = serde_json::Deserializer::from_str(text).deserialize_seq(First).ok().flatten()?;
    Some((Cow::Owned(value), numeric))
}

/// The JSON of a value on one line, without whitespace between tokens.
fn minified(text: &str) -> Cow<'_, str> {
    let mut out = Vec::with_capacity(text.len());
    super::ndjson::minify_into(text.as_bytes(), &mut out);
    // Minifying only drops ASCII whitespace between tokens, so the bytes stay UTF-8.
    Cow::Owned(String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(columns: &[&str]) -> Vec<Column> {
        columns.iter().map(|c| Column::named(c)).collect()
    }

    fn row_of(layout: &Layout, json: &str) -> Vec<String> {
        let person = Person::from_json(json).unwrap();
        let mut row = Row::default();
        layout.project(&person, &mut row);
        layout.cells(&row, true).map(Cow::into_owned).collect()
    }

    #[test]
    fn flattens_nested_lists_and_objects() {
        let layout = Layout::new(&named(&[
            "name",
            "company.name",
            "skills",
            "experiences",
            "experiences.jobTitle",
            "phone.numbers",
            "connectionsCount",
            "phone.number",
        ]));
        let cells = row_of(
            &layout,
            r#"{"id":"x1","name":"=HYPERLINK(\"evil\")","company":{"name":"Acme, Inc.","size":3},"skills":["Rust","-SQL"],
                "experiences":[{"jobTitle":"CEO", "domain":"a.com"},{"jobTitle":"@CTO"}],"phone":{"numbers":["+45 1234"],"status":"verified"},
                "connectionsCount":-5,"unknownFuture":{"a":1}}"#,
        );
        assert_eq!(
            cells,
            vec![
                "'=HYPERLINK(\"evil\")",
                "Acme, Inc.",
                "Rust; -SQL",
                r#"[{"jobTitle":"CEO","domain":"a.com"},{"jobTitle":"@CTO"}]"#,
                "CEO; @CTO",
                "+45 1234",
                "-5",
                "+45 1234",
            ]
        );
    }

    #[test]
    fn nulls_absent_and_empty_lists_are_empty_cells() {
        let all = super::super::columns::ALL;
        let layout = Layout::new(&named(all));
        let cells = row_of(&layout, r#"{"domain":"d.com","name":null,"skills":[],"experiences":[]}"#);
        assert_eq!(cells.len(), all.len());
        let at = |c: &str| cells[all.iter().position(|d| *d == c).unwrap()].clone();
        assert_eq!(
            (at("name"), at("skills"), at("experiences"), at("domain")),
            ("".into(), "".into(), "[]".into(), "d.com".into())
        );
    }

    #[test]
    fn columns_of_one_list_line_up() {
        let layout = Layout::new(&named(&["experiences.jobTitle", "experiences.dateFrom", "skills"]));
        let cells = row_of(
            &layout,
            r#"{"experiences":[{"jobTitle":null,"dateFrom":"2020"},{"jobTitle":"","dateFrom":"2021"},null,
                {"jobTitle":"CTO","jobTitle":"again","dateFrom":"2022"}],"skills":["[x]","y"]}"#,
        );
        assert_eq!(cells, vec!["; ; ; CTO", "2020; 2021; ; 2022", "[x]; y"]);
    }

    #[test]
    fn odd_values_are_kept_not_dropped() {
        let layout = Layout::new(&named(&["id", "summary", "phone.numbers", "phone.number"]));
        // A repeated key keeps its first value; a lone surrogate is written as spelled; a phone cell that
        // is not a phone number is neutralised like any other.
        let cells =
            row_of(&layout, r#"{"id":"a","id":"b","summary":"cut \ud83d","phone":{"numbers":["=HYPERLINK(\"x\")"]}}"#);
        assert_eq!(cells, vec!["a", "cut \\ud83d", "'=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"]);
        // The first phone number: the first item that is a value.
        let layout = Layout::new(&named(&["phone.number"]));
        assert_eq!(row_of(&layout, r#"{"phone":{"numbers":[null,["x"],"+1 2",3]}}"#), vec!["+1 2"]);
        assert_eq!(row_of(&layout, r#"{"phone":{"numbers":"+1 2"}}"#), vec!["+1 2"]);
        assert_eq!(row_of(&layout, r#"{"phone":{"numbers":{"a":1}}}"#), vec![r#"{"a":1}"#]);
    }

    #[test]
    fn only_the_leading_character_decides() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(is_formula_like(bad), "{bad:?}");
        }
        for good in ["a=1", " =1", "", "1-2"] {
            assert!(!is_formula_like(good), "{good:?}");
        }
    }
}

//! Validation of a request body against Ocean's published OpenAPI schema (embedded verbatim), reporting
//! errors as FastAPI with Pydantic v2 does: every error at every depth, each an item
//! `{type, loc: ["body", ...], msg, input, ctx?}`.
//!
//! The validator walks the schema rather than hand-written rules, so it stays as strict as the document:
//! `additionalProperties: false` gives `extra_forbidden`, `nullable` admits `null`, enums of named schemas
//! give `enum` and inline enums `literal_error` (Pydantic's `Enum` vs `Literal`). Scalars are checked in
//! Pydantic's lax mode (`"10"` is a valid integer, `true` is 1), and the checked body comes back with those
//! coercions applied, so the rest of the sandbox reads plain JSON types.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::LazyLock;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The schema document, as published ([`crate::SCHEMA`]).
static OPENAPI: LazyLock<Value> =
    LazyLock::new(|| serde_json::from_str(crate::SCHEMA).expect("the embedded OpenAPI document is JSON"));

/// The order of each component's properties as written in the document. serde_json's map sorts keys,
/// but Pydantic reports errors in field order.
static PROPERTY_ORDER: LazyLock<HashMap<String, Vec<String>>> = LazyLock::new(|| {
    #[derive(Deserialize)]
    struct Document {
        components: Components,
    }
    #[derive(Deserialize)]
    struct Components {
        schemas: HashMap<String, Component>,
    }
    #[derive(Deserialize)]
    struct Component {
        properties: Option<Keys>,
    }
    let document: Document = serde_json::from_str(crate::SCHEMA).expect("the embedded OpenAPI document has components");
    document.components.schemas.into_iter().filter_map(|(name, c)| Some((name, c.properties?.0))).collect()
});

/// The keys of a JSON object, in document order.
struct Keys(Vec<String>);

impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Keys, D::Error> {
        struct KeysVisitor;
        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = Keys;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(Keys(keys))
            }
        }
        d.deserialize_map(KeysVisitor)
    }
}

/// The body schema of `POST /v3/search/people`.
pub const BODY_SCHEMA: &str = "PublicSearchPeopleBodyV3";

/// Pydantic reports every error; a hostile body of a megabyte could hold half a million, so stop here.
const MAX_ERRORS: usize = 1000;

/// One item of a 422 `detail` list.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorItem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub loc: Vec<Loc>,
    pub msg: String,
    pub input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Value>,
}

/// An element of `loc`: a key or an array index.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Loc {
    Key(String),
    Index(usize),
}

impl ErrorItem {
    fn new(kind: &'static str, loc: &[Loc], msg: impl Into<String>, input: &Value, ctx: Option<Value>) -> Self {
        ErrorItem { kind, loc: loc.to_vec(), msg: msg.into(), input: input.clone(), ctx }
    }

    /// FastAPI's item for a body that is not JSON: the location is the byte offset of the error.
    pub fn json_invalid(body: &[u8], error: &serde_json::Error) -> Self {
        let offset = byte_offset(body, error.line(), error.column());
        let message = error.to_string();
        let reason = message.split(" at line ").next().unwrap_or(&message).to_string();
        ErrorItem {
            kind: "json_invalid",
            loc: vec![Loc::Key("body".into()), Loc::Index(offset)],
            msg: "JSON decode error".into(),
            input: json!({}),
            ctx: Some(json!({ "error": reason })),
        }
    }

    /// FastAPI's item for a required body that is absent (empty or `null`).
    pub fn body_missing() -> Self {
        ErrorItem::new("missing", &[Loc::Key("body".into())], "Field required", &Value::Null, None)
    }

    /// A Pydantic `value_error` raised by a validator of one top-level field.
    pub fn value_error(field: &str, input: &Value, error: &str) -> Self {
        ErrorItem::new(
            "value_error",
            &[Loc::Key("body".into()), Loc::Key(field.into())],
            format!("Value error, {error}"),
            input,
            Some(json!({ "error": error })),
        )
    }
}

/// serde_json reports 1-based line and column; FastAPI reports the 0-based byte offset.
fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let line_start: usize = body.split(|b| *b == b'\n').take(line.saturating_sub(1)).map(|l| l.len() + 1).sum();
    (line_start + column.saturating_sub(1)).min(body.len())
}

/// Check `body` against the named component schema. On success, the body with lax coercions applied.
pub fn validate(schema_name: &str, body: &Value) -> Result<Value, Vec<ErrorItem>> {
    let mut v = Validator { loc: vec![Loc::Key("body".into())], errors: Vec::new() };
    let schema = component(schema_name);
    // FastAPI reports a non-object body at the top differently from a nested model.
    let out = if body.is_object() {
        v.object(schema, body, Some(schema_name))
    } else {
        v.push(
            "model_attributes_type",
            "Input should be a valid dictionary or object to extract fields from",
            body,
            None,
        );
        None
    };
    match out {
        Some(value) if v.errors.is_empty() => Ok(value),
        _ => Err(v.errors),
    }
}

fn component(name: &str) -> &'static Value {
    &OPENAPI["components"]["schemas"][name]
}

fn ref_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

struct Validator {
    loc: Vec<Loc>,
    errors: Vec<ErrorItem>,
}

impl Validator {
    fn push(&mut self, kind: &'static str, msg: impl Into<String>, input: &Value, ctx: Option<Value>) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(ErrorItem::new(kind, &self.loc, msg, input, ctx));
        }
    }

    /// Any schema: a `$ref`, an `anyOf`, or an inline schema; `None` when invalid.
    fn check(&mut self, schema: &'static Value, value: &Value) -> Option<Value> {
        if value.is_null() && schema["nullable"] == true {
            return Some(Value::Null);
        }
        if let Some(reference) = schema["$ref"].as_str() {
            let name = ref_name(reference);
            return self.typed(component(name), value, Some(name));
        }
        if let Some(branches) = schema["anyOf"].as_array() {
            return self.any_of(branches, value);
        }
        self.typed(schema, value, None)
    }

    /// The first branch that accepts the value wins; otherwise every branch's errors are reported, each
    /// under the branch's name, as Pydantic does for unions.
    fn any_of(&mut self, branches: &'static [Value], value: &Value) -> Option<Value> {
        let mut failures = Vec::new();
        for branch in branches {
            if value.is_null() && branch["type"] == "null" {
                return Some(Value::Null);
            }
            let mut trial = Validator { loc: self.loc.clone(), errors: Vec::new() };
            let tag = branch["$ref"].as_str().map(ref_name).or(branch["type"].as_str()).unwrap_or("union");
            trial.loc.push(Loc::Key(tag.to_string()));
            match trial.check(branch, value) {
                Some(out) if trial.errors.is_empty() => return Some(out),
                _ => failures.extend(trial.errors),
            }
        }
        for failure in failures {
            if self.errors.len() < MAX_ERRORS {
                self.errors.push(failure);
            }
        }
        None
    }

    /// A schema with a `type` (or an enum); `name` is set when it is a named component.
    fn typed(&mut self, schema: &'static Value, value: &Value, name: Option<&str>) -> Option<Value> {
        if value.is_null() && schema["nullable"] == true {
            return Some(Value::Null);
        }
        if let Some(options) = schema["enum"].as_array() {
            return self.one_of(options, value, name.is_some());
        }
        match schema["type"].as_str() {
            Some("object") => self.object(schema, value, name),
            Some("array") => self.array(schema, value),
            Some("string") => self.string(schema, value),
            Some("integer") => self.integer(schema, value),
            Some("number") => self.number(schema, value),
            Some("boolean") => self.boolean(value),
            _ => Some(value.clone()),
        }
    }

    fn one_of(&mut self, options: &'static [Value], value: &Value, named: bool) -> Option<Value> {
        if options.contains(value) {
            return Some(value.clone());
        }
        let expected = expected_list(options);
        let kind = if named { "enum" } else { "literal_error" };
        self.push(kind, format!("Input should be {expected}"), value, Some(json!({ "expected": expected })));
        None
    }

    fn object(&mut self, schema: &'static Value, value: &Value, name: Option<&str>) -> Option<Value> {
        let Some(object) = value.as_object() else {
            match name {
                Some(class) => self.push(
                    "model_type",
                    format!("Input should be a valid dictionary or instance of {class}"),
                    value,
                    Some(json!({ "class_name": class })),
                ),
                None => self.push("dict_type", "Input should be a valid dictionary", value, None),
            }
            return None;
        };
        let properties = schema["properties"].as_object();
        let required: Vec<&str> =
            schema["required"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        let order: Vec<&String> = match name.and_then(|n| PROPERTY_ORDER.get(n)) {
            Some(order) => order.iter().collect(),
            None => properties.into_iter().flat_map(|p| p.keys()).collect(),
        };
        let mut out = Map::new();
        let mut ok = true;
        for key in order {
            let property = &schema["properties"][key];
            self.loc.push(Loc::Key(key.clone()));
            match object.get(key) {
                Some(item) => match self.check(property, item) {
                    Some(checked) => {
                        out.insert(key.clone(), checked);
                    }
                    None => ok = false,
                },
                None if required.contains(&key.as_str()) => {
                    self.push("missing", "Field required", value, None);
                    ok = false;
                }
                None => {}
            }
            self.loc.pop();
        }
        if schema["additionalProperties"] == false {
            for (key, item) in object.iter().filter(|(key, _)| !properties.is_some_and(|p| p.contains_key(*key))) {
                self.loc.push(Loc::Key(key.clone()));
                self.push("extra_forbidden", "Extra inputs are not permitted", item, None);
                self.loc.pop();
                ok = false;
            }
        }
        ok.then_some(Value::Object(out))
    }

    fn array(&mut self, schema: &'static Value, value: &Value) -> Option<Value> {
        let Some(items) = value.as_array() else {
            self.push("list_type", "Input should be a valid list", value, None);
            return None;
        };
        if let Some(max) = schema["maxItems"].as_u64()
            && items.len() as u64 > max
        {
            let s = if max == 1 { "" } else { "s" };
            self.push(
                "too_long",
                format!("List should have at most {max} item{s} after validation, not {}", items.len()),
                value,
                Some(json!({ "field_type": "List", "max_length": max, "actual_length": items.len() })),
            );
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            self.loc.push(Loc::Index(i));
            match self.check(&schema["items"], item) {
                Some(checked) => out.push(checked),
                None => ok = false,
            }
            self.loc.pop();
        }
        ok.then_some(Value::Array(out))
    }

    fn string(&mut self, schema: &'static Value, value: &Value) -> Option<Value> {
        let Some(text) = value.as_str() else {
            self.push("string_type", "Input should be a valid string", value, None);
            return None;
        };
        if let Some(min) = schema["minLength"].as_u64()
            && (text.chars().count() as u64) < min
        {
            let s = if min == 1 { "" } else { "s" };
            self.push(
                "string_too_short",
                format!("String should have at least {min} character{s}"),
                value,
                Some(json!({ "min_length": min })),
            );
            return None;
        }
        Some(value.clone())
    }

    fn integer(&mut self, schema: &'static Value, value: &Value) -> Option<Value> {
        let number = match value {
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Value::from(i),
                (None, Some(f)) if f.fract() == 0.0 => whole(f),
                _ => {
                    self.push(
                        "int_from_float",
                        "Input should be a valid integer, got a number with a fractional part",
                        value,
                        None,
                    );
                    return None;
                }
            },
            Value::String(s) => {
                let t = s.trim();
                let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
                match t.parse::<i64>() {
                    Ok(i) => Value::from(i),
                    Err(_) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                        whole(t.parse::<f64>().unwrap_or(f64::MAX))
                    }
                    Err(_) => {
                        self.push(
                            "int_parsing",
                            "Input should be a valid integer, unable to parse string as an integer",
                            value,
                            None,
                        );
                        return None;
                    }
                }
            }
            Value::Bool(b) => Value::from(i64::from(*b)),
            _ => {
                self.push("int_type", "Input should be a valid integer", value, None);
                return None;
            }
        };
        self.range(schema, value, number.as_f64().unwrap_or(f64::MAX)).then_some(number)
    }

    fn number(&mut self, schema: &'static Value, value: &Value) -> Option<Value> {
        let number = match value {
            Value::Number(n) => n.as_f64().unwrap_or(f64::MAX),
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(f) => f,
                Err(_) => {
                    self.push(
                        "float_parsing",
                        "Input should be a valid number, unable to parse string as a number",
                        value,
                        None,
                    );
                    return None;
                }
            },
            Value::Bool(b) => f64::from(u8::from(*b)),
            _ => {
                self.push("float_type", "Input should be a valid number", value, None);
                return None;
            }
        };
        // A non-finite number becomes `null` in JSON, so it is accepted only where no bound applies.
        self.range(schema, value, number).then(|| Value::from(number))
    }

    /// Bounds of a number; written `!(x >= min)` so that NaN fails them, as in Pydantic.
    fn range(&mut self, schema: &'static Value, input: &Value, x: f64) -> bool {
        for Bound { keyword, kind, words, ctx_key, holds } in BOUNDS {
            if let Some(bound) = schema[keyword].as_f64()
                && !holds(x, bound)
            {
                let shown = whole_or_float(bound);
                self.push(kind, format!("Input should be {words} {shown}"), input, Some(json!({ ctx_key: shown })));
                return false;
            }
        }
        true
    }

    fn boolean(&mut self, value: &Value) -> Option<Value> {
        let parsed = match value {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => match n.as_f64() {
                Some(0.0) => Some(false),
                Some(1.0) => Some(true),
                _ => None,
            },
            Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "0" | "off" | "f" | "false" | "n" | "no" => Some(false),
                "1" | "on" | "t" | "true" | "y" | "yes" => Some(true),
                _ => None,
            },
            _ => {
                self.push("bool_type", "Input should be a valid boolean", value, None);
                return None;
            }
        };
        if parsed.is_none() {
            self.push("bool_parsing", "Input should be a valid boolean, unable to interpret input", value, None);
        }
        parsed.map(Value::Bool)
    }
}

/// A schema bound: its keyword, Pydantic's error type, message words, `ctx` key, and the test.
struct Bound {
    keyword: &'static str,
    kind: &'static str,
    words: &'static str,
    ctx_key: &'static str,
    holds: fn(f64, f64) -> bool,
}

const BOUNDS: [Bound; 3] = [
    Bound {
        keyword: "minimum",
        kind: "greater_than_equal",
        words: "greater than or equal to",
        ctx_key: "ge",
        holds: |x, b| x >= b,
    },
    Bound {
        keyword: "exclusiveMinimum",
        kind: "greater_than",
        words: "greater than",
        ctx_key: "gt",
        holds: |x, b| x > b,
    },
    Bound {
        keyword: "maximum",
        kind: "less_than_equal",
        words: "less than or equal to",
        ctx_key: "le",
        holds: |x, b| x <= b,
    },
];

/// A whole number as JSON: an integer when it fits, else a float.
fn whole(f: f64) -> Value {
    if f.abs() < 9.0e15 { Value::from(f as i64) } else { Value::from(f) }
}

/// Schema bounds are written as floats (`10000.0`); Pydantic shows the bound as declared (`10000`).
fn whole_or_float(bound: f64) -> Value {
    if bound.fract() == 0.0 { whole(bound) } else { Value::from(bound) }
}

/// Pydantic's rendering of allowed values: `'A', 'B' or 'C'`.
fn expected_list(options: &[Value]) -> String {
    let quoted: Vec<String> = options
        .iter()
        .map(|o| match o {
            Value::String(s) => format!("'{s}'"),
            other => other.to_string(),
        })
        .collect();
    let mut out = String::new();
    for (i, q) in quoted.iter().enumerate() {
        let sep = match i {
            0 => "",
            _ if i + 1 == quoted.len() => " or ",
            _ => ", ",
        };
        let _ = write!(out, "{sep}{q}");
    }
    out
}

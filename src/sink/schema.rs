//! The fixed schema of a person in typed outputs: every field of the API's `LookalikePerson`, in the API
//! schema's order, nested objects as structs, `experiences` as a list of structs, dates and timestamps
//! typed. Written down once here, from Ocean's published schema (a unit test holds it to that file), and
//! never inferred from data: a three-person night and a million-person night get the same columns and
//! types. The Arrow schema (Parquet), the JSON Schema and the DuckDB `CREATE TABLE` all come from it.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow_schema::{DataType, Field as ArrowField, Fields, Schema, TimeUnit};

/// The type of a value.
#[derive(Debug, PartialEq)]
pub enum Kind {
    Text,
    /// A 64-bit integer.
    Int,
    /// A calendar date (`2020-01-01`; `2020-01` and `2020` are read as their first day).
    Date,
    /// An instant, UTC (`2022-10-27T12:09:37Z`).
    Timestamp,
    List(&'static Kind),
    Object(&'static [Field]),
}

/// One field of an object.
#[derive(Debug, PartialEq)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
}

const fn field(name: &'static str, kind: Kind) -> Field {
    Field { name, kind }
}

const TEXTS: Kind = Kind::List(&Kind::Text);

const EXPERIENCE: &[Field] = &[
    field("domain", Kind::Text),
    field("jobTitle", Kind::Text),
    field("dateFrom", Kind::Date),
    field("dateTo", Kind::Date),
    field("description", Kind::Text),
    field("linkedinCompanyHandle", Kind::Text),
];

const PHONE: &[Field] = &[field("numbers", TEXTS), field("status", Kind::Text)];

const EMAIL: &[Field] = &[field("address", Kind::Text), field("status", Kind::Text)];

const FUNDING_ROUND: &[Field] = &[
    field("date", Kind::Date),
    field("type", Kind::Text),
    field("moneyRaisedInUsd", Kind::Int),
    field("cbUrl", Kind::Text),
];

const COMPANY: &[Field] = &[
    field("companySize", Kind::Text),
    field("logo", Kind::Text),
    field("name", Kind::Text),
    field("revenue", Kind::Text),
    field("employeeCountOcean", Kind::Int),
    field("industries", TEXTS),
    field("technologies", TEXTS),
    field("fundingRound", Kind::Object(FUNDING_ROUND)),
];

/// A person: `LookalikePerson`, field by field.
pub const PERSON: &[Field] = &[
    field("id", Kind::Text),
    field("domain", Kind::Text),
    field("name", Kind::Text),
    field("firstName", Kind::Text),
    field("lastName", Kind::Text),
    field("country", Kind::Text),
    field("state", Kind::Text),
    field("location", Kind::Text),
    field("linkedinUrl", Kind::Text),
    field("seniorities", TEXTS),
    field("departments", TEXTS),
    field("photo", Kind::Text),
    field("jobTitle", Kind::Text),
    field("jobTitleEnglish", Kind::Text),
    field("currentJobDescription", Kind::Text),
    field("experiences", Kind::List(&Kind::Object(EXPERIENCE))),
    field("summary", Kind::Text),
    field("skills", TEXTS),
    field("phone", Kind::Object(PHONE)),
    field("email", Kind::Object(EMAIL)),
    field("inferredEmails", TEXTS),
    field("updatedAt", Kind::Timestamp),
    field("connectionsCount", Kind::Int),
    field("followersCount", Kind::Int),
    field("headline", Kind::Text),
    field("company", Kind::Object(COMPANY)),
    field("relevance", Kind::Text),
];

/// Bumped whenever [`PERSON`] changes; written into every Parquet file's metadata.
pub const VERSION: u32 = 1;

/// The only column that is never null: a person without an id is never written.
pub const ID: &str = "id";

/// The Arrow type of a kind.
pub fn arrow_type(kind: &Kind) -> DataType {
    match kind {
        Kind::Text => DataType::Utf8,
        Kind::Int => DataType::Int64,
        Kind::Date => DataType::Date32,
        Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Kind::List(item) => DataType::List(Arc::new(ArrowField::new_list_field(arrow_type(item), true))),
        Kind::Object(fields) => DataType::Struct(arrow_fields(fields)),
    }
}

fn arrow_fields(fields: &[Field]) -> Fields {
    fields.iter().map(|f| ArrowField::new(f.name, arrow_type(&f.kind), true)).collect()
}

/// The Arrow schema of a person.
pub fn arrow_schema() -> Schema {
    let fields: Fields = PERSON.iter().map(|f| ArrowField::new(f.name, arrow_type(&f.kind), f.name != ID)).collect();
    Schema::new(fields)
}

/// The JSON Schema (draft 2020-12) of one person as the typed outputs hold it, as pretty JSON text with
/// the properties in the API schema's order.
pub fn json_schema() -> String {
    let root = Json::Object(vec![
        ("$schema", Json::Str("https://json-schema.org/draft/2020-12/schema".into())),
        ("$id", Json::Str(format!("https://ocean-export/schema/person-v{VERSION}.json"))),
        ("title", Json::Str("LookalikePerson".into())),
        ("type", Json::Str("object".into())),
        ("required", Json::Array(vec![Json::Str(ID.into())])),
        ("properties", properties(PERSON)),
        ("additionalProperties", Json::Bool(false)),
    ]);
    serde_json::to_string_pretty(&root).expect("a schema serializes")
}

/// JSON whose objects keep their keys in the order given (`serde_json::Value` would sort them).
enum Json {
    Str(String),
    Bool(bool),
    Array(Vec<Json>),
    Object(Vec<(&'static str, Json)>),
}

impl serde::Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Json::Str(v) => s.serialize_str(v),
            Json::Bool(v) => s.serialize_bool(*v),
            Json::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

fn properties(fields: &'static [Field]) -> Json {
    Json::Object(fields.iter().map(|f| (f.name, of(&f.kind, f.name != ID))).collect())
}

fn of(kind: &Kind, nullable: bool) -> Json {
    let typed = |t: &str| {
        if nullable { Json::Array(vec![Json::Str(t.into()), Json::Str("null".into())]) } else { Json::Str(t.into()) }
    };
    match kind {
        Kind::Text => Json::Object(vec![("type", typed("string"))]),
        Kind::Int => Json::Object(vec![("type", typed("integer"))]),
        Kind::Date => Json::Object(vec![("type", typed("string")), ("format", Json::Str("date".into()))]),
        Kind::Timestamp => Json::Object(vec![("type", typed("string")), ("format", Json::Str("date-time".into()))]),
        Kind::List(item) => Json::Object(vec![("type", typed("array")), ("items", of(item, true))]),
        Kind::Object(fields) => Json::Object(vec![
            ("type", typed("object")),
            ("properties", properties(fields)),
            ("additionalProperties", Json::Bool(false)),
        ]),
    }
}

/// A DuckDB `CREATE TABLE` statement for a table of people, with the types `read_parquet` gives a file.
/// A dotted `table` (`analytics.people`) names a table in a schema, as SQL reads it; each part is quoted.
pub fn duckdb_create_table(table: &str) -> String {
    fn of(kind: &Kind) -> String {
        match kind {
            Kind::Text => "VARCHAR".to_owned(),
            Kind::Int => "BIGINT".to_owned(),
            Kind::Date => "DATE".to_owned(),
            Kind::Timestamp => "TIMESTAMP WITH TIME ZONE".to_owned(),
            Kind::List(item) => format!("{}[]", of(item)),
            Kind::Object(fields) => {
                let inner: Vec<String> = fields.iter().map(|f| format!("{} {}", quoted(f.name), of(&f.kind))).collect();
                format!("STRUCT({})", inner.join(", "))
            }
        }
    }
    let table: Vec<String> = table.split('.').map(quoted).collect();
    let mut out = format!("CREATE TABLE {} (\n", table.join("."));
    for (i, f) in PERSON.iter().enumerate() {
        let not_null = if f.name == ID { " NOT NULL" } else { "" };
        let comma = if i + 1 < PERSON.len() { "," } else { "" };
        let _ = writeln!(out, "    {} {}{not_null}{comma}", quoted(f.name), of(&f.kind));
    }
    out.push_str(");\n");
    out
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// JSON with object keys in the order written (serde_json's map sorts them here).
    #[derive(Debug, Clone)]
    enum J {
        Obj(Vec<(String, J)>),
        Arr,
        Str(String),
        Other,
    }

    impl<'de> serde::Deserialize<'de> for J {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<J, D::Error> {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = J;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("JSON")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<J, A::Error> {
                    let mut out = Vec::new();
                    while let Some((k, v)) = map.next_entry::<String, J>()? {
                        out.push((k, v));
                    }
                    Ok(J::Obj(out))
                }
                fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<J, A::Error> {
                    while seq.next_element::<J>()?.is_some() {}
                    Ok(J::Arr)
                }
                fn visit_str<E>(self, v: &str) -> Result<J, E> {
                    Ok(J::Str(v.to_owned()))
                }
                fn visit_bool<E>(self, _: bool) -> Result<J, E> {
                    Ok(J::Other)
                }
                fn visit_i64<E>(self, _: i64) -> Result<J, E> {
                    Ok(J::Other)
                }
                fn visit_u64<E>(self, _: u64) -> Result<J, E> {
                    Ok(J::Other)
                }
                fn visit_f64<E>(self, _: f64) -> Result<J, E> {
                    Ok(J::Other)
                }
                fn visit_unit<E>(self) -> Result<J, E> {
                    Ok(J::Other)
                }
            }
            d.deserialize_any(V)
        }
    }

    impl std::ops::Index<&str> for J {
        type Output = J;
        fn index(&self, key: &str) -> &J {
            match self {
                J::Obj(entries) => entries.iter().find(|(k, _)| k == key).map_or(&J::Other, |(_, v)| v),
                _ => &J::Other,
            }
        }
    }

    impl PartialEq<&str> for J {
        fn eq(&self, other: &&str) -> bool {
            matches!(self, J::Str(s) if s == other)
        }
    }

    impl std::fmt::Display for J {
        fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "{self:?}")
        }
    }

    impl J {
        fn as_str(&self) -> Option<&str> {
            match self {
                J::Str(s) => Some(s),
                _ => None,
            }
        }
        fn is_enum(&self) -> bool {
            matches!(self["enum"], J::Arr)
        }
    }

    /// The schema as Ocean publishes it (the sandbox validates against the same file).
    fn published() -> J {
        let text = include_str!("../../sandbox/src/ocean-openapi.subset.json");
        serde_json::from_str(text).unwrap()
    }

    /// Checks our fields against a published object schema, recursively: same names, same order, types
    /// that fit (dates and timestamps are strings there, typed here by name).
    fn check(ours: &[Field], theirs: &J, schemas: &J, at: &str) {
        let resolve = |v: &J| -> J {
            match v["$ref"].as_str() {
                Some(r) => schemas[r.rsplit('/').next().unwrap()].clone(),
                None => v.clone(),
            }
        };
        let J::Obj(properties) = resolve(theirs)["properties"].clone() else { panic!("{at}: no properties") };
        let names: Vec<&str> = properties.iter().map(|(k, _)| k.as_str()).collect();
        let our_names: Vec<&str> = ours.iter().map(|f| f.name).collect();
        assert_eq!(our_names, names, "fields of {at}");
        for f in ours {
            let theirs = resolve(&properties.iter().find(|(k, _)| k == f.name).unwrap().1);
            let path = format!("{at}.{}", f.name);
            match &f.kind {
                Kind::Text => assert!(theirs["type"] == "string" || theirs.is_enum(), "{path}: {theirs}"),
                Kind::Date | Kind::Timestamp => assert!(theirs["type"] == "string", "{path}"),
                Kind::Int => assert!(theirs["type"] == "integer", "{path}"),
                Kind::List(item) => {
                    assert!(theirs["type"] == "array", "{path}");
                    match item {
                        Kind::Object(fields) => check(fields, &theirs["items"], schemas, &path),
                        Kind::Text => {
                            let items = resolve(&theirs["items"]);
                            assert!(items["type"] == "string" || items.is_enum(), "{path}: {items}");
                        }
                        other => panic!("{path}: list of {other:?}"),
                    }
                }
                Kind::Object(fields) => check(fields, &theirs, schemas, &path),
            }
        }
    }

    #[test]
    fn every_published_field_is_here_in_order_with_a_fitting_type() {
        let api = published();
        let schemas = &api["components"]["schemas"];
        check(PERSON, &schemas["LookalikePerson"], schemas, "LookalikePerson");
    }

    #[test]
    fn the_three_renderings_agree() {
        let schema = arrow_schema();
        assert_eq!(schema.fields().len(), PERSON.len());
        assert!(!schema.field_with_name("id").unwrap().is_nullable());
        assert_eq!(
            schema.field_with_name("updatedAt").unwrap().data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        let text = json_schema();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["properties"]["experiences"]["items"]["properties"]["dateFrom"]["format"], "date");
        assert!(text.find("\"domain\"").unwrap() < text.find("\"company\"").unwrap(), "in the API's order");
        let sql = duckdb_create_table("people");
        assert!(sql.contains("\"experiences\" STRUCT(\"domain\" VARCHAR, \"jobTitle\" VARCHAR, \"dateFrom\" DATE"));
        assert!(sql.contains("\"id\" VARCHAR NOT NULL,"));
        // A dotted name is a table in a schema (or database), as SQL reads it.
        assert!(duckdb_create_table("analytics.people").starts_with("CREATE TABLE \"analytics\".\"people\" (\n"));
        assert!(duckdb_create_table("my \"t\"").starts_with("CREATE TABLE \"my \"\"t\"\"\" (\n"));
    }
}

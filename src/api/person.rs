//! One person of a page, read in a single pass: its JSON text and its top-level fields, each value kept
//! as the raw JSON the API sent, so that later stages read only what they need.

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, Deserialize, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// A JSON string, borrowed when it has no escapes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text<'de>(pub Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

/// A person as it arrived: the whole JSON value, and its top-level keys with their raw values (empty when
/// the value is not an object).
#[derive(Debug)]
pub struct Person<'a> {
    raw: &'a [u8],
    fields: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> Person<'a> {
    /// The person's JSON exactly as sent.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Top-level keys and raw values, in the API's order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &'a RawValue)> + '_ {
        self.fields.iter().map(|(key, value)| (key.as_ref(), *value))
    }

    /// The person's `id`, when it is a non-empty string (or a number, as text).
    pub fn id(&self) -> Option<Cow<'a, str>> {
        let (_, raw) = self.fields.iter().find(|(key, _)| key == "id")?;
        let text = raw.get();
        match text.as_bytes().first()? {
            b'"' => serde_json::from_str::<Text>(text).ok().map(|t| t.0).filter(|id| !id.is_empty()),
            b'0'..=b'9' | b'-' => Some(Cow::Borrowed(text)),
            _ => None,
        }
    }

    /// Reads one person at the start of `slice`. Returns the person and the bytes it took.
    pub(crate) fn parse_prefix(slice: &'a str) -> Option<Result<(Person<'a>, usize), serde_json::Error>> {
        let mut stream = serde_json::Deserializer::from_str(slice).into_iter::<Fields<'a>>();
        match stream.next()? {
            Ok(Fields(fields)) => {
                let end = stream.byte_offset();
                Some(Ok((Person { raw: &slice.as_bytes()[..end], fields }, end)))
            }
            Err(e) => Some(Err(e)),
        }
    }

    /// A person from a complete JSON text (tests and benchmarks).
    pub fn from_json(text: &'a str) -> Result<Person<'a>, serde_json::Error> {
        let Fields(fields) = serde_json::from_str(text)?;
        Ok(Person { raw: text.trim().as_bytes(), fields })
    }
}

/// The top-level fields of any JSON value: an object's entries, or nothing for other values (which are
/// still read whole, so the page goes on).
struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut fields = Vec::with_capacity(32);
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    fields.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Fields(fields))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Fields<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Fields(Vec::new()))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Fields<'de>, E> {
                Ok(Fields(Vec::new()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Fields<'de>, E> {
                Ok(Fields(Vec::new()))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Fields<'de>, E> {
                Ok(Fields(Vec::new()))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Fields<'de>, E> {
                Ok(Fields(Vec::new()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Fields<'de>, E> {
                Ok(Fields(Vec::new()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Fields<'de>, E> {
                Ok(Fields(Vec::new()))
            }
        }
        d.deserialize_any(FieldsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_ids() {
        let p = Person::from_json(r#"{"name":"x","id":"ab","n":[1,{"a":2}],"e\u0301":"é"}"#).unwrap();
        assert_eq!(p.id().as_deref(), Some("ab"));
        let keys: Vec<&str> = p.fields().map(|(k, _)| k).collect();
        assert_eq!(keys, vec!["name", "id", "n", "e\u{301}"]);
        assert_eq!(p.fields().nth(2).unwrap().1.get(), r#"[1,{"a":2}]"#);
        for (json, id) in
            [(r#"{"id":12}"#, Some("12")), (r#"{"id":""}"#, None), (r#"{"id":null}"#, None), ("[1]", None), ("3", None)]
        {
            assert_eq!(Person::from_json(json).unwrap().id().as_deref(), id, "{json}");
        }
    }

    #[test]
    fn prefix_parsing_reports_the_extent() {
        let (p, end) = Person::parse_prefix(r#"{"id":"a","x":[1,2]} ,{"id":"b"}"#).unwrap().unwrap();
        assert_eq!(end, 20);
        assert_eq!(p.raw(), br#"{"id":"a","x":[1,2]}"#);
    }
}

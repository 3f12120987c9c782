//! NDJSON lines from people: each person exactly as the API sent it, minus whitespace between tokens.

/// Copies JSON text without the whitespace between tokens, so a pretty-printed person still fits one line.
/// Strings, escapes, numbers and key order are kept byte for byte. Works a stretch at a time (the text
/// between strings, then a whole string), since a compact person has no whitespace to drop.
pub fn minify_into(json: &[u8], out: &mut Vec<u8>) {
    let is_space = |b: &u8| matches!(b, b' ' | b'\n' | b'\r' | b'\t');
    out.reserve(json.len());
    let mut at = 0;
    while at < json.len() {
        let quote = memchr::memchr(b'"', &json[at..]).map_or(json.len(), |i| at + i);
        let between = &json[at..quote];
        if between.iter().any(is_space) {
            out.extend(between.iter().filter(|b| !is_space(b)));
        } else {
            out.extend_from_slice(between);
        }
        if quote == json.len() {
            break;
        }
        // The string, from its opening quote to past its closing one, jumping over escapes.
        let mut end = quote + 1;
        while end < json.len() {
            match memchr::memchr2(b'"', b'\\', &json[end..]) {
                Some(i) if json[end + i] == b'\\' => end += i + 2,
                Some(i) => {
                    end += i + 1;
                    break;
                }
                None => {
                    end = json.len();
                    break;
                }
            }
        }
        let end = end.min(json.len());
        out.extend_from_slice(&json[quote..end]);
        at = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn minify(s: &str) -> String {
        let mut out = Vec::new();
        minify_into(s.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn keeps_strings_drops_layout() {
        assert_eq!(minify("{ \"a b\" : [1, \"x\\\" y\\n\" ,\n\t{}] }\r\n"), r#"{"a b":[1,"x\" y\n",{}]}"#);
        assert_eq!(minify(r#"{"id":"e9447c74eafa8a19"}"#), r#"{"id":"e9447c74eafa8a19"}"#);
    }

    proptest! {
        #[test]
        fn minified_pretty_json_is_the_compact_json(value in arb_json()) {
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            prop_assert_eq!(minify(&pretty), serde_json::to_string(&value).unwrap());
        }
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            "\\PC*".prop_map(serde_json::Value::String),
            "[ \"\\\\\n\t{}:,]*".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("[a-z \"]{0,6}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}

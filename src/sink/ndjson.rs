//! NDJSON lines from people: each person exactly as the API sent it, minus whitespace between tokens.

/// Copies JSON text without the whitespace between tokens, so a pretty-printed person still fits one line.
/// Strings, escapes, numbers and key order are kept byte for byte.
pub fn minify_into(json: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < json.len() {
        let byte = json[i];
        if byte == b'"' {
            // Copy the whole string, jumping from quote or backslash to the next.
            let start = i;
            i += 1;
            loop {
                match memchr::memchr2(b'"', b'\\', &json[i..]) {
                    Some(j) if json[i + j] == b'\\' => i += j + 2,
                    Some(j) => {
                        i += j + 1;
                        break;
                    }
                    None => {
                        i = json.len();
                        break;
                    }
                }
            }
            out.extend_from_slice(&json[start..i.min(json.len())]);
        } else {
            if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                out.push(byte);
            }
            i += 1;
        }
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

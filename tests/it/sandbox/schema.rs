//! 200 responses (and the balance and 422 bodies) against Ocean's published schema (the document the
//! sandbox embeds verbatim, `ocean_sandbox::SCHEMA`), checked with the `jsonschema` crate, independently
//! of the sandbox's own types. OpenAPI's `nullable: true` is turned into JSON Schema's `null` type first.

use ocean_sandbox::{BALANCE_PATH, EndStyle, SandboxOptions};
use serde_json::{Map, Value, json};

use super::harness::{self, start};

fn published() -> Value {
    serde_json::from_str(ocean_sandbox::SCHEMA).expect("JSON")
}

/// OpenAPI 3.0 `nullable` → JSON Schema: `type: [T, "null"]`, or `anyOf` with null around a `$ref`.
fn nullable_to_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .iter()
                .filter(|(k, _)| *k != "nullable")
                .map(|(k, v)| {
                    let keep = matches!(k.as_str(), "examples" | "example" | "default" | "enum");
                    (k.clone(), if keep { v.clone() } else { nullable_to_json_schema(v) })
                })
                .collect();
            if map.get("nullable") != Some(&Value::Bool(true)) {
                return Value::Object(out);
            }
            if let Some(Value::Array(values)) = out.get_mut("enum") {
                values.push(Value::Null);
            }
            match out.get("type").and_then(Value::as_str).map(str::to_string) {
                Some(kind) => {
                    out.insert("type".into(), json!([kind, "null"]));
                    Value::Object(out)
                }
                None => json!({"anyOf": [Value::Object(out), {"type": "null"}]}),
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(nullable_to_json_schema).collect()),
        other => other.clone(),
    }
}

fn validator(name: &str) -> jsonschema::Validator {
    let components = nullable_to_json_schema(&published()["components"]);
    let root = json!({"$ref": format!("#/components/schemas/{name}"), "components": components});
    jsonschema::validator_for(&root).expect("a valid schema")
}

fn assert_valid(validator: &jsonschema::Validator, instance: &Value) {
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[tokio::test]
async fn responses_match_the_published_schema() {
    let result = validator("LookalikePeopleResultV3");
    let server = start(harness::options()).await;
    let bodies = [
        json!({"size": 400}),
        json!({"size": 50, "peopleFilters": {"lookalikeLinkedinHandles": ["dwight-schrute", "nobody"]},
               "companiesFilters": {"includeDomains": ["dundermifflin.com", "WWW.DUNDERMIFFLIN.COM", "unknown.example"]}}),
        json!({"size": 50, "fields": ["name", "email.address", "experiences.dateTo", "company.latestFundingRound"]}),
        json!({"size": 10, "peopleFilters": {"countries": ["zz"]}}),
    ];
    for body in &bodies {
        let reply = server.post(body).await;
        assert_eq!(reply.status, 200);
        assert_valid(&result, &reply.json());
    }
    for style in [EndStyle::Null, EndStyle::EmptyPage] {
        let ending = start(SandboxOptions { end_style: style, ..harness::options() }).await;
        let last = ending.walk(&json!({"size": 2000})).await;
        let page = ending.post(&json!({"size": 2000, "searchAfter": last.pages[0]["searchAfter"]})).await;
        assert_valid(&result, &page.json());
    }

    let balance =
        server.send(server.client.get(server.url(BALANCE_PATH)).header("x-api-token", server.sandbox.token())).await;
    assert_valid(&validator("GetCreditBalanceResponse"), &balance.json());
    let invalid = server.post(&json!({"size": 0, "peopleFilters": {"seniorities": ["CEO"]}, "oops": 1})).await;
    assert_valid(&validator("HTTPValidationError"), &invalid.json());
}

#[tokio::test]
async fn the_schema_check_is_not_vacuous() {
    let result = validator("LookalikePeopleResultV3");
    let good = json!({"people": [harness::people()[4].clone()], "detail": "OK", "creditsUsed": 0.2, "total": 1});
    assert_valid(&result, &good);
    let mut no_people = good.clone();
    no_people.as_object_mut().expect("object").remove("people");
    let mut bad_id = good.clone();
    bad_id["people"][0]["id"] = json!(5);
    let mut bad_seniority = good.clone();
    bad_seniority["people"][0]["seniorities"] = json!(["CEO"]);
    let mut bad_status = good.clone();
    bad_status["includeDomainsStatuses"] = json!({"x.com": "gone"});
    for bad in [no_people, bad_id, bad_seniority, bad_status] {
        assert!(!result.is_valid(&bad), "{bad}");
    }
}

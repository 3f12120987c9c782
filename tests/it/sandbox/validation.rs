//! Point 2: the whole body is validated against the published schema at every depth, with Pydantic-style
//! 422 items; malformed JSON, bad cursors and oversized bodies are rejected without harming the server.

use ocean_sandbox::{BadCursor, SandboxOptions};
use serde_json::{Value, json};

use super::harness::{self, Server, start};

/// The 422 items of a request that must fail validation.
async fn errors(server: &Server, body: &Value) -> Vec<Value> {
    let reply = server.post(body).await;
    assert_eq!(reply.status, 422, "{}", String::from_utf8_lossy(&reply.bytes));
    reply.detail().as_array().expect("a list of items").clone()
}

/// The item at `loc`, which must exist.
fn at(items: &[Value], loc: Value) -> &Value {
    items.iter().find(|item| item["loc"] == loc).unwrap_or_else(|| panic!("no error at {loc}: {items:#?}"))
}

#[tokio::test]
async fn unknown_keys_are_extra_forbidden_at_every_depth() {
    let server = start(harness::options()).await;
    let items = errors(
        &server,
        &json!({
            "from": 1,
            "peopleFilters": {"lookalikePeopleIds": ["x"], "states": [{"country": "us", "abbreviation": "NY", "bogus": true}]},
            "companiesFilters": {
                "primaryCountries": ["dk"],
                "primaryLocations": {"geolocation": {"latitude": 1, "longitude": 2, "radius": 3, "extra": null}}
            }
        }),
    )
    .await;
    for loc in [
        json!(["body", "from"]),
        json!(["body", "peopleFilters", "lookalikePeopleIds"]),
        json!(["body", "peopleFilters", "states", 0, "bogus"]),
        json!(["body", "companiesFilters", "primaryCountries"]),
        json!(["body", "companiesFilters", "primaryLocations", "geolocation", "extra"]),
    ] {
        let item = at(&items, loc);
        assert_eq!(item["type"], "extra_forbidden");
        assert_eq!(item["msg"], "Extra inputs are not permitted");
        assert!(item.get("input").is_some());
    }
    assert_eq!(items.len(), 5, "every error is reported: {items:#?}");
    assert_eq!(at(&items, json!(["body", "from"]))["input"], json!(1), "input is the offending value");
}

#[tokio::test]
async fn wrong_types_get_pydantic_types_and_messages() {
    let server = start(harness::options()).await;
    let items = errors(
        &server,
        &json!({
            "size": "ten",
            "peoplePerCompany": 2.5,
            "searchAfter": 5,
            "jobTitleThreshold": "high",
            "fields": "name",
            "peopleFilters": {"countries": "dk", "connections": {"from": []}, "skills": []},
            "companiesFilters": {"ecommerce": "maybe", "employeeCountOcean": [], "socialMedias": {"minCount": {}},
                                 "headcountGrowth": {"asPercentage": [], "growthRange": {"from": {}}, "months": "Six months"}}
        }),
    )
    .await;
    let expect = |loc: Value, kind: &str, msg: &str| {
        let item = at(&items, loc);
        assert_eq!(item["type"], kind, "{item}");
        assert_eq!(item["msg"], msg, "{item}");
    };
    expect(
        json!(["body", "size"]),
        "int_parsing",
        "Input should be a valid integer, unable to parse string as an integer",
    );
    expect(
        json!(["body", "peoplePerCompany"]),
        "int_from_float",
        "Input should be a valid integer, got a number with a fractional part",
    );
    expect(json!(["body", "searchAfter"]), "string_type", "Input should be a valid string");
    expect(
        json!(["body", "jobTitleThreshold"]),
        "float_parsing",
        "Input should be a valid number, unable to parse string as a number",
    );
    expect(json!(["body", "fields"]), "list_type", "Input should be a valid list");
    expect(json!(["body", "peopleFilters", "countries"]), "list_type", "Input should be a valid list");
    expect(json!(["body", "peopleFilters", "connections", "from"]), "int_type", "Input should be a valid integer");
    expect(
        json!(["body", "peopleFilters", "skills"]),
        "model_type",
        "Input should be a valid dictionary or instance of SkillsFilter",
    );
    expect(
        json!(["body", "companiesFilters", "ecommerce"]),
        "bool_parsing",
        "Input should be a valid boolean, unable to interpret input",
    );
    expect(
        json!(["body", "companiesFilters", "employeeCountOcean"]),
        "model_type",
        "Input should be a valid dictionary or instance of FromTo",
    );
    expect(
        json!(["body", "companiesFilters", "socialMedias", "minCount"]),
        "int_type",
        "Input should be a valid integer",
    );
    expect(
        json!(["body", "companiesFilters", "headcountGrowth", "asPercentage"]),
        "bool_type",
        "Input should be a valid boolean",
    );
    expect(
        json!(["body", "companiesFilters", "headcountGrowth", "growthRange", "from"]),
        "float_type",
        "Input should be a valid number",
    );
    assert_eq!(at(&items, json!(["body", "peopleFilters", "skills"]))["ctx"], json!({"class_name": "SkillsFilter"}));
    assert_eq!(items.len(), 13, "{items:#?}");
}

#[tokio::test]
async fn enum_values_are_checked_in_lists_and_nested_objects() {
    let server = start(harness::options()).await;
    let items = errors(
        &server,
        &json!({
            "fields": ["name", "email.adress"],
            "peopleFilters": {"seniorities": ["Manager", "CEO"], "fieldsExist": ["summary", "age"]},
            "companiesFilters": {"minRelevance": "D", "departmentSizes": [{"department": "Sales"}, {"department": "Marketing"}],
                                 "fundingRound": {"types": ["Series Z"]}}
        }),
    )
    .await;
    let seniority = at(&items, json!(["body", "peopleFilters", "seniorities", 1]));
    let expected =
        "'Owner', 'Founder', 'Board Member', 'C-Level', 'Partner', 'VP', 'Head', 'Director', 'Manager' or 'Other'";
    assert_eq!(seniority["type"], "enum");
    assert_eq!(seniority["msg"], format!("Input should be {expected}").as_str());
    assert_eq!(seniority["ctx"], json!({ "expected": expected }));
    assert_eq!(seniority["input"], "CEO");
    // Inline enums are Pydantic `Literal`s.
    let literal = at(&items, json!(["body", "peopleFilters", "fieldsExist", 1]));
    assert_eq!(literal["type"], "literal_error");
    let relevance = at(&items, json!(["body", "companiesFilters", "minRelevance"]));
    assert_eq!(relevance["type"], "literal_error");
    assert_eq!(relevance["msg"], "Input should be 'A', 'B' or 'C'");
    assert_eq!(at(&items, json!(["body", "companiesFilters", "departmentSizes", 1, "department"]))["type"], "enum");
    assert_eq!(at(&items, json!(["body", "companiesFilters", "fundingRound", "types", 0]))["type"], "enum");
    // `fields` items are a union of two enums: each branch reports under its name.
    for branch in ["PersonField", "PersonCompanyField"] {
        let item = at(&items, json!(["body", "fields", 1, branch]));
        assert_eq!(item["type"], "enum");
        assert_eq!(item["input"], "email.adress");
    }
}

#[tokio::test]
async fn ranges_lengths_and_required_keys() {
    let server = start(harness::options()).await;
    let items = errors(
        &server,
        &json!({
            "size": 0,
            "peoplePerCompany": 21,
            "jobTitleThreshold": 1.5,
            "peopleFilters": {"updatedWithinMonths": 0, "states": [{"country": ""}]},
            "companiesFilters": {
                "lookalikeDomains": ["a.com", "b.com", "c.com", "d.com", "e.com", "f.com", "g.com", "h.com", "i.com", "j.com", "k.com"],
                "primaryLocations": {"geolocation": {"latitude": 91, "longitude": -181, "radius": 0}},
                "headcountGrowth": {}
            }
        }),
    )
    .await;
    let expect = |loc: Value, kind: &str, msg: &str, ctx: Value| {
        let item = at(&items, loc);
        assert_eq!(item["type"], kind, "{item}");
        assert_eq!(item["msg"], msg, "{item}");
        assert_eq!(item["ctx"], ctx, "{item}");
    };
    expect(
        json!(["body", "size"]),
        "greater_than_equal",
        "Input should be greater than or equal to 1",
        json!({"ge": 1}),
    );
    expect(
        json!(["body", "peoplePerCompany"]),
        "less_than_equal",
        "Input should be less than or equal to 20",
        json!({"le": 20}),
    );
    expect(
        json!(["body", "jobTitleThreshold"]),
        "less_than_equal",
        "Input should be less than or equal to 1",
        json!({"le": 1}),
    );
    expect(
        json!(["body", "peopleFilters", "updatedWithinMonths"]),
        "greater_than",
        "Input should be greater than 0",
        json!({"gt": 0}),
    );
    expect(
        json!(["body", "peopleFilters", "states", 0, "country"]),
        "string_too_short",
        "String should have at least 1 character",
        json!({"min_length": 1}),
    );
    expect(
        json!(["body", "companiesFilters", "lookalikeDomains"]),
        "too_long",
        "List should have at most 10 items after validation, not 11",
        json!({"field_type": "List", "max_length": 10, "actual_length": 11}),
    );
    let geo = json!(["body", "companiesFilters", "primaryLocations", "geolocation"]);
    let under = |key: &str| {
        let mut loc = geo.clone();
        loc.as_array_mut().expect("loc").push(json!(key));
        loc
    };
    expect(under("latitude"), "less_than_equal", "Input should be less than or equal to 90", json!({"le": 90}));
    expect(
        under("longitude"),
        "greater_than_equal",
        "Input should be greater than or equal to -180",
        json!({"ge": -180}),
    );
    expect(under("radius"), "greater_than_equal", "Input should be greater than or equal to 1", json!({"ge": 1}));
    let missing = at(&items, json!(["body", "peopleFilters", "states", 0, "abbreviation"]));
    assert_eq!(missing["type"], "missing");
    assert_eq!(missing["msg"], "Field required");
    assert_eq!(missing["input"], json!({"country": ""}));
    for key in ["asPercentage", "growthRange", "months"] {
        let item = at(&items, json!(["body", "companiesFilters", "headcountGrowth", key]));
        assert_eq!(item["type"], "missing");
    }
    let size = errors(&server, &json!({"size": 10001})).await;
    assert_eq!(size[0]["ctx"], json!({"le": 10000}));
    assert_eq!(size[0]["input"], 10001);
}

#[tokio::test]
async fn malformed_missing_and_non_object_bodies() {
    let server = start(harness::options()).await;
    let send = |body: String| {
        server.send(
            server
                .search()
                .header("x-api-token", server.sandbox.token())
                .header("content-type", "application/json")
                .body(body),
        )
    };
    let malformed = send("{\"size\": 1,}".into()).await;
    assert_eq!(malformed.status, 422);
    let item = &malformed.detail()[0];
    assert_eq!(item["type"], "json_invalid");
    assert_eq!(item["loc"], json!(["body", 11]));
    assert_eq!(item["msg"], "JSON decode error");
    assert!(item["ctx"]["error"].is_string());
    assert_eq!(malformed.detail().as_array().map(Vec::len), Some(1));

    for empty in ["", "null"] {
        let reply = send(empty.into()).await;
        assert_eq!(reply.status, 422);
        assert_eq!(
            reply.json(),
            json!({"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": null}]})
        );
    }
    let list = send("[1, 2]".into()).await;
    assert_eq!(list.status, 422);
    assert_eq!(list.detail()[0]["type"], "model_attributes_type");
    assert_eq!(list.detail()[0]["loc"], json!(["body"]));

    // Hostile shapes get a 422, and the server keeps serving.
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    assert_eq!(send(deep).await.detail()[0]["type"], "json_invalid");
    assert_eq!(send("{\"size\": 1e400}".into()).await.detail()[0]["type"], "json_invalid");
    assert_eq!(send("{\"size\": 1e30}".into()).await.detail()[0]["type"], "less_than_equal");
    assert_eq!(send("{\"size\": 2}".into()).await.status, 200);
}

#[tokio::test]
async fn null_means_not_set_and_strings_coerce_like_pydantic() {
    let server = start(harness::options()).await;
    let nulls = server
        .post(&json!({
            "peopleFilters": null, "companiesFilters": null, "peoplePerCompany": null,
            "jobTitleThreshold": null, "searchAfter": null, "fields": null,
        }))
        .await;
    assert_eq!(nulls.status, 200);
    assert_eq!(nulls.json()["people"].as_array().map(Vec::len), Some(50));
    let not_nullable = errors(&server, &json!({"size": null})).await;
    assert_eq!(not_nullable[0]["type"], "int_type");
    let coerced = server.post(&json!({"size": "3"})).await;
    assert_eq!(coerced.status, 200);
    assert_eq!(coerced.json()["people"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn bad_cursors_are_422_or_an_empty_page() {
    let server = start(harness::options()).await;
    let garbage = errors(&server, &json!({"searchAfter": "N4IglgdgJgpgHiAXAVgL5A"})).await;
    assert_eq!(garbage.len(), 1);
    assert_eq!(garbage[0]["type"], "value_error");
    assert_eq!(garbage[0]["loc"], json!(["body", "searchAfter"]));
    assert!(garbage[0]["msg"].as_str().is_some_and(|m| m.starts_with("Value error, ")));

    let first = server.post(&json!({"size": 5, "peopleFilters": {"countries": ["dk"]}})).await.json();
    let cursor = first["searchAfter"].clone();
    let other_query =
        errors(&server, &json!({"size": 5, "peopleFilters": {"countries": ["se"]}, "searchAfter": cursor})).await;
    assert_eq!(other_query[0]["type"], "value_error");
    assert!(other_query[0]["msg"].as_str().is_some_and(|m| m.contains("different search")));

    let other_seed = start(SandboxOptions { seed: harness::SEED + 1, ..harness::options() }).await;
    let foreign =
        errors(&other_seed, &json!({"size": 5, "peopleFilters": {"countries": ["dk"]}, "searchAfter": cursor})).await;
    assert_eq!(foreign[0]["type"], "value_error");

    let lenient = start(SandboxOptions { bad_cursor: BadCursor::EmptyPage, ..harness::options() }).await;
    let reply = lenient.post(&json!({"searchAfter": "garbage"})).await;
    assert_eq!(reply.status, 200);
    let page = reply.json();
    assert_eq!(page["people"], json!([]));
    assert!(page.get("searchAfter").is_none());
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let server = start(SandboxOptions { max_body: 1024, ..harness::options() }).await;
    let names: Vec<String> = (0..200).map(|i| format!("name number {i}")).collect();
    let reply = server.post(&json!({"peopleFilters": {"names": names}})).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json(), json!({"detail": "Request body too large"}));
    assert_eq!(server.post(&json!({"size": 1})).await.status, 200);
}

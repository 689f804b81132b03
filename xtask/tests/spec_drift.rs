//! `cargo xtask spec-drift` on a small description in Twilio's format and on copies changed
//! the way Twilio changes its API.
//!
//! The description is written here, never copied from twilio-oai: [`twilio_style`] reshapes
//! our own `openapi/participants.openapi.json` the way Twilio shapes its
//! `twilio_conversations_v1.json` (the facts, one per step, were read there), and
//! [`add_examples`] gives it example values written here. The changed copies are JSON Patches
//! on it (`fixtures/drift/*.json`), each with the exact lines it must print (every line but
//! the explained differences) and the exit status.
//!
//! The explanations the fixtures are checked against are the rules of the real
//! `openapi/expected-differences.json` (its entries of kind `example` pin Twilio's own
//! examples, which this description does not carry) plus
//! `fixtures/drift-explanations/examples.json`, the entries for this description's examples.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
};

use serde::Deserialize;
use serde_json::{json, Map, Value};
use xtask::spec_drift;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    description: String,
    patch: json_patch::Patch,
    expect: Vec<String>,
    status: i32,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ours() -> Value {
    read_json(&root().join("openapi/participants.openapi.json"))
}

/// The mutable value at `pointer`, which our spec must have.
fn at<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut Value {
    doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("our spec has no {pointer}"))
}

/// Removes, from every object in `value`, the keys `drop` selects; the keys of a
/// `properties` map are names, not keywords, and are kept.
fn strip(value: &mut Value, drop: &impl Fn(&str, &Value) -> bool) {
    match value {
        Value::Object(map) => {
            map.retain(|key, child| !drop(key, child));
            for (key, child) in map.iter_mut() {
                match child {
                    Value::Object(names) if key == "properties" => {
                        names.values_mut().for_each(|p| strip(p, drop));
                    }
                    _ => strip(child, drop),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| strip(item, drop)),
        _ => {}
    }
}

/// Replaces every reference to one of `sids` (a bare `$ref` or a one-element `allOf`) by
/// the referenced schema's keywords, written out in place.
fn inline(value: &mut Value, sids: &Map<String, Value>) {
    match value {
        Value::Object(map) => {
            let reference = match map.get("allOf").and_then(Value::as_array) {
                Some(only) if only.len() == 1 => only[0].get("$ref"),
                _ => map.get("$ref"),
            };
            let sid = reference
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .and_then(|name| sids.get(name))
                .and_then(Value::as_object)
                .cloned();
            if let Some(sid) = sid {
                map.remove("allOf");
                map.remove("$ref");
                map.extend(sid);
            }
            map.values_mut().for_each(|child| inline(child, sids));
        }
        Value::Array(items) => items.iter_mut().for_each(|item| inline(item, sids)),
        _ => {}
    }
}

const OPERATIONS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every operation object of `doc`.
fn operations(doc: &mut Value) -> impl Iterator<Item = &mut Value> {
    let paths = doc["paths"].as_object_mut().unwrap();
    paths.values_mut().flat_map(|item| {
        let item = item.as_object_mut().unwrap();
        item.iter_mut()
            .filter(|(method, _)| OPERATIONS.contains(&method.as_str()))
            .map(|(_, operation)| operation)
    })
}

/// Our spec, shaped the way Twilio shapes its description; no example yet.
fn twilio_style(ours: &Value) -> Value {
    let mut doc = ours.clone();
    // No prose (spec-drift compares none) and no example: some of ours are Twilio's values,
    // and `add_examples` writes this description's own.
    strip(&mut doc, &|key, _| {
        ["description", "summary", "example", "examples"].contains(&key)
    });
    // Twilio lists no `required` keys in a schema (a parameter's `required: true` stays).
    strip(&mut doc, &|key, value| {
        key == "required" && value.is_array()
    });
    // Twilio writes each SID's type, lengths and pattern out where it is used.
    let schemas = at(&mut doc, "/components/schemas").as_object_mut().unwrap();
    let sids: Map<String, Value> = schemas
        .iter()
        .filter(|(name, _)| name.ends_with("Sid"))
        .map(|(name, schema)| (name.clone(), schema.clone()))
        .collect();
    schemas.retain(|name, _| !sids.contains_key(name));
    inline(&mut doc, &sids);
    // Twilio declares no error responses.
    doc["components"]
        .as_object_mut()
        .unwrap()
        .remove("responses");
    at(&mut doc, "/components/schemas")
        .as_object_mut()
        .unwrap()
        .remove("TwilioError");
    for operation in operations(&mut doc) {
        let responses = operation["responses"].as_object_mut().unwrap();
        responses.retain(|status, _| !status.ends_with("XX"));
        // PageSize is an `int64`.
        let parameters = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut);
        for parameter in parameters.into_iter().flatten() {
            if parameter["name"] == "PageSize" {
                parameter["schema"]["format"] = json!("int64");
            }
        }
    }
    // The page numbers have no minimum.
    for key in ["page", "page_size"] {
        let property = at(
            &mut doc,
            &format!("/components/schemas/PageMeta/properties/{key}"),
        );
        property.as_object_mut().unwrap().remove("minimum");
    }
    // URLs have `format: uri`.
    for schema in at(&mut doc, "/components/schemas")
        .as_object_mut()
        .unwrap()
        .values_mut()
    {
        let properties = schema.get_mut("properties").and_then(Value::as_object_mut);
        for (key, property) in properties.into_iter().flatten() {
            if key == "url" || key.ends_with("_url") {
                property["format"] = json!("uri");
            }
        }
    }
    // Bindings and timers are untyped (only nullable); links are a `uri-map`.
    let untyped = json!({ "nullable": true });
    *at(
        &mut doc,
        "/components/schemas/Participant/properties/messaging_binding",
    ) = untyped.clone();
    let conversation = "/components/schemas/ParticipantConversation/properties";
    for key in ["participant_messaging_binding", "conversation_timers"] {
        *at(&mut doc, &format!("{conversation}/{key}")) = untyped.clone();
    }
    *at(&mut doc, &format!("{conversation}/links")) =
        json!({ "type": "object", "format": "uri-map", "nullable": true });
    let schemas = at(&mut doc, "/components/schemas").as_object_mut().unwrap();
    for unused in [
        "MessagingBinding",
        "ConversationTimers",
        "ParticipantConversationLinks",
    ] {
        schemas.remove(unused);
    }
    doc
}

const LIST: &str =
    "/paths/~1v1~1Services~1{ChatServiceSid}~1Conversations~1{ConversationSid}~1Participants/get";
const FETCH: &str = "/paths/~1v1~1Services~1{ChatServiceSid}~1Conversations~1{ConversationSid}~1Participants~1{Sid}/get";
const BY_PARTICIPANT: &str =
    "/paths/~1v1~1Services~1{ChatServiceSid}~1ParticipantConversations/get";
const JSON_BODY: &str = "content/application~1json";

/// The examples, every value written here: one both documents carry (our `fetched`, so that
/// a change to it upstream is reported), a response example and a parameter example that
/// only this description has (pinned in `fixtures/drift-explanations/examples.json`).
fn add_examples(doc: &mut Value, ours: &Value) {
    let fetched = format!("{FETCH}/responses/200/{JSON_BODY}/examples/fetched");
    let shared = ours
        .pointer(&fetched)
        .expect("our spec has the fetched example");
    at(doc, &format!("{FETCH}/responses/200/{JSON_BODY}"))["examples"] =
        json!({ "fetched": shared });
    let service = "ISc0ffee00c0ffee00c0ffee00c0ffee00";
    let conversation = "CH0ddba1150ddba1150ddba1150ddba115";
    let list = format!(
        "https://conversations.twilio.com/v1/Services/{service}/Conversations/{conversation}/Participants?PageSize=20&Page=0"
    );
    let participant = "MB5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e";
    at(doc, &format!("{LIST}/responses/200/{JSON_BODY}"))["examples"] = json!({
        "read": { "value": {
            "meta": {
                "key": "participants",
                "url": list,
                "page": 0,
                "page_size": 20,
                "first_page_url": list,
                "next_page_url": null,
                "previous_page_url": null
            },
            "participants": [{
                "account_sid": "ACfeedfacefeedfacefeedfacefeedface",
                "chat_service_sid": service,
                "conversation_sid": conversation,
                "sid": participant,
                "identity": null,
                "attributes": "{}",
                "messaging_binding": {
                    "type": "sms",
                    "address": "+15005550199",
                    "proxy_address": "+15005550100"
                },
                "role_sid": "RLdecade00decade00decade00decade00",
                "date_created": "2025-02-03T04:05:06Z",
                "date_updated": "2025-02-03T04:05:06Z",
                "url": format!("https://conversations.twilio.com/v1/Services/{service}/Conversations/{conversation}/Participants/{participant}"),
                "last_read_message_index": null,
                "last_read_timestamp": null
            }]
        }}
    });
    let identity = at(doc, &format!("{BY_PARTICIPANT}/parameters/1"));
    assert_eq!(identity["name"], "Identity");
    identity["examples"] = json!({ "byIdentity": { "value": "bob" } });
}

/// The generated description and the explanations it is checked against, written once.
struct Files {
    twilio: PathBuf,
    expected: PathBuf,
}

fn files() -> &'static Files {
    static FILES: OnceLock<Files> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("spec-drift");
        std::fs::create_dir_all(&dir).unwrap();
        let ours = ours();
        let mut twilio = twilio_style(&ours);
        add_examples(&mut twilio, &ours);
        let files = Files {
            twilio: dir.join("twilio-style.json"),
            expected: dir.join("expected-differences.json"),
        };
        std::fs::write(
            &files.twilio,
            serde_json::to_string_pretty(&twilio).unwrap(),
        )
        .unwrap();
        let mut expected = read_json(&root().join("openapi/expected-differences.json"));
        let entries = expected["differences"].as_array_mut().unwrap();
        entries.retain(|entry| entry["kind"] != "example");
        let examples = read_json(&fixtures().join("drift-explanations/examples.json"));
        entries.extend(examples["differences"].as_array().unwrap().iter().cloned());
        std::fs::write(&files.expected, expected.to_string()).unwrap();
        files
    })
}

fn xtask(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("spec-drift")
        .args(args)
        .output()
        .unwrap()
}

/// Runs the command on `upstream` with the fixtures' explanations: (exit status, the
/// printed lines not marked explained).
fn spec_drift(upstream: &Path) -> (i32, Vec<String>) {
    let output = xtask(&[
        Path::new("--expected"),
        files().expected.as_path(),
        upstream,
    ]);
    (output.status.code().unwrap(), unexplained(&output))
}

fn unexplained(output: &Output) -> Vec<String> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .filter(|line| !line.ends_with(" (explained)"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_small_twilio_description_is_fully_explained() {
    let (status, lines) = spec_drift(&files().twilio);
    assert_eq!(
        lines,
        ["spec-drift: 6 operations, 125 differences (125 explained, 0 unexplained), 0 stale explanations"]
    );
    assert_eq!(status, 0);
}

#[test]
fn each_change_twilio_makes_is_named() {
    let base = read_json(&files().twilio);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("drifted");
    std::fs::create_dir_all(&out).unwrap();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures().join("drift"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let names: Vec<&str> = paths
        .iter()
        .map(|p| p.file_stem().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "conversation-state-added",
            "create-form-field-added",
            "example-changed",
            "explanation-goes-stale",
            "nullability-changed",
            "operation-id-changed",
            "operation-removed",
            "page-size-maximum-changed",
            "query-parameter-added",
            "response-field-added",
            "response-field-removed",
            "status-code-added",
            "webhook-header-enum-value",
        ]
    );
    let mut failures = Vec::new();
    for path in paths {
        let fixture: Fixture = serde_json::from_value(read_json(&path)).unwrap();
        let mut changed = base.clone();
        json_patch::patch(&mut changed, &fixture.patch).unwrap();
        let copy = out.join(path.file_name().unwrap());
        std::fs::write(&copy, serde_json::to_string(&changed).unwrap()).unwrap();
        let (status, lines) = spec_drift(&copy);
        if lines != fixture.expect || status != fixture.status {
            failures.push(format!(
                "{} ({}):\n  expected status {} and {:#?}\n  got status {status} and {lines:#?}",
                path.display(),
                fixture.description,
                fixture.status,
                fixture.expect
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_repository_explanations_parse_and_name_our_operations() {
    let path = root().join("openapi/expected-differences.json");
    let entries = spec_drift::load_expected(&path).unwrap();
    let mut ours = ours();
    let ids: Vec<String> = operations(&mut ours)
        .map(|operation| operation["operationId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 6);
    let strays: Vec<&str> = entries
        .iter()
        .filter(|entry| !ids.iter().any(|id| entry.applies_to(id)))
        .map(|entry| entry.operation.as_str())
        .collect();
    assert!(strays.is_empty(), "entries naming no operation: {strays:?}");
}

/// Without `--expected` the repository's file is read: on this description its entries for
/// Twilio's own examples are stale and this description's examples are unexplained.
#[test]
fn by_default_the_repository_explanations_are_read() {
    let output = xtask(&[files().twilio.as_path()]);
    assert_eq!(output.status.code(), Some(1));
    let path = root().join("openapi/expected-differences.json");
    let pinned = spec_drift::load_expected(&path).unwrap();
    let pinned: Vec<_> = pinned.iter().filter(|e| e.kind == "example").collect();
    let ours = read_json(&fixtures().join("drift-explanations/examples.json"));
    let ours = ours["differences"].as_array().unwrap();
    let mut expected: Vec<String> = ours
        .iter()
        .map(|e| {
            format!(
                "{}: {}: {}",
                e["operation"].as_str().unwrap(),
                e["element"].as_str().unwrap(),
                e["detail"].as_str().unwrap()
            )
        })
        .collect();
    expected.extend(pinned.iter().map(|e| {
        format!(
            "stale explanation: {} / {} / {}: no such difference any more ({})",
            e.operation, e.element, e.kind, e.reason
        )
    }));
    expected.push(format!(
        "spec-drift: 6 operations, 125 differences ({} explained, {} unexplained), {} stale explanations",
        125 - ours.len(),
        ours.len(),
        pinned.len()
    ));
    assert_eq!(unexplained(&output), expected);
}

#[test]
fn without_a_path_it_says_how_to_call_it() {
    for args in [&[][..], &[Path::new("--expected"), Path::new("x.json")][..]] {
        let output = xtask(args);
        assert_eq!(output.status.code(), Some(2));
        assert_eq!(
            String::from_utf8(output.stderr).unwrap(),
            "usage: cargo xtask spec-drift [--expected FILE] PATH (Twilio's twilio_conversations_v1.json)\n"
        );
    }
}

#[test]
fn an_unreadable_description_is_named() {
    let missing = fixtures().join("no-such-file.json");
    let output = xtask(&[&missing]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("spec-drift: {}: cannot read: ", missing.display())),
        "{stderr}"
    );
}

#[test]
fn an_unreadable_explanations_file_is_named() {
    let missing = fixtures().join("no-such-file.json");
    let output = xtask(&[Path::new("--expected"), &missing, &files().twilio]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("spec-drift: {}: cannot read: ", missing.display())),
        "{stderr}"
    );
}

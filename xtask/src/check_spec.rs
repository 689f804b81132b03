//! `cargo xtask check-spec`: the spec, its examples and the generated types agree.
//!
//! 1. the document parses as OpenAPI 3.0 and every `$ref` resolves;
//! 2. every example validates against its schema (a real JSON Schema validator, with
//!    OpenAPI's `nullable` turned into a `null` type alternative);
//! 3. the docs page's example (`openapi/examples/documented-200.json`, and the seed page when
//!    it is beside the repo) equals the spec's `documented` example value by value;
//! 4. every example decodes through the generated types and re-encodes without loss; a
//!    request-body example also encodes as a form to exactly its own fields;
//! 5. the JSON Schema `schemars` derives from the generated types matches the spec's schemas.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use twilio_conversations::{
    models::{
        ConversationState, ConversationTimers, CreateParticipantRequest, MessagingBinding,
        PageMeta, Participant, ParticipantConversation, ParticipantConversationLinks,
        ParticipantConversationPage, ParticipantPage, TwilioError, UpdateParticipantRequest,
        WebhookEnabled,
    },
    AccountSid, ConversationSid, ParticipantSid, RoleSid, ServiceSid, UserSid,
};

/// The files `check-spec` reads.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// The OpenAPI document.
    pub spec: PathBuf,
    /// The docs page's 200 example, kept as its own file.
    pub documented: PathBuf,
    /// The docs page itself, when it is at hand.
    pub seed: Option<PathBuf>,
}

impl Inputs {
    /// The repository's own files, relative to the workspace root `root`.
    pub fn for_repo(root: &Path) -> Self {
        let seed = root.join("../shared/seed/list-service-conversation-participants.txt");
        Self {
            spec: root.join("openapi/participants.openapi.json"),
            documented: root.join("openapi/examples/documented-200.json"),
            seed: seed.exists().then_some(seed),
        }
    }
}

/// What the check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Examples validated.
    pub examples: usize,
    /// Schemas compared with the generated types.
    pub schemas: usize,
    /// Every disagreement, one sentence each.
    pub problems: Vec<String>,
}

impl Report {
    /// The one-line summary.
    pub fn summary(&self) -> String {
        format!(
            "check-spec: {} examples, {} schemas, {} problems",
            self.examples,
            self.schemas,
            self.problems.len()
        )
    }
}

/// The name of the example the docs page's example must equal.
const DOCUMENTED: &str = "documented";
/// The operation whose 200 example is the docs page's.
const LIST_OPERATION: &str = "ListServiceConversationParticipant";
/// The list of the conversations a participant is in.
const CONVERSATIONS_OPERATION: &str = "ListServiceParticipantConversation";

/// Runs every check.
pub fn run(inputs: &Inputs) -> Report {
    let mut report = Report::default();
    let file = inputs.spec.display().to_string();
    let doc = match load(&inputs.spec) {
        Ok(doc) => doc,
        Err(problem) => {
            report.problems.push(problem);
            return report;
        }
    };
    check_structure(&file, &doc, &mut report.problems);
    if !report.problems.is_empty() {
        return report;
    }
    let examples = collect_examples(&doc);
    report.examples = examples.len();
    let components = json_schema_components(&doc);
    for example in &examples {
        validate_example(&components, example, &mut report.problems);
        round_trip(&doc, example, &mut report.problems);
    }
    check_documented(inputs, &examples, &mut report.problems);
    report.schemas = compare_schemas(&doc, &mut report.problems);
    report
}

fn load(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))
}

/// Check 1: OpenAPI 3.0 shape and `$ref` targets.
fn check_structure(file: &str, doc: &Value, problems: &mut Vec<String>) {
    match doc.get("openapi").and_then(Value::as_str) {
        Some(version) if version.starts_with("3.0.") => {}
        other => problems.push(format!(
            "{file}: /openapi: expected an OpenAPI 3.0.x version, found {other:?}"
        )),
    }
    if let Err(e) = serde_path_to_error::deserialize::<_, openapiv3::OpenAPI>(doc) {
        let (at, message) = narrow_openapi_error(doc)
            .unwrap_or_else(|| (pointer_of(&e.path().to_string()), e.inner().to_string()));
        problems.push(format!("{file}: {at}: not valid OpenAPI 3.0: {message}"));
    }
    let mut refs = Vec::new();
    collect_refs(doc, String::new(), &mut refs);
    for (site, target) in refs {
        let resolves = target
            .strip_prefix('#')
            .is_some_and(|pointer| doc.pointer(pointer).is_some());
        if !resolves {
            problems.push(format!("{file}: {site}: dangling $ref {target:?}"));
        }
    }
}

/// Untagged enums in `openapiv3` hide where a path item failed; decoding each path item and
/// component on its own finds the deepest pointer.
fn narrow_openapi_error(doc: &Value) -> Option<(String, String)> {
    fn first_error<T: DeserializeOwned>(at: &str, value: &Value) -> Option<(String, String)> {
        let error = serde_path_to_error::deserialize::<_, T>(value).err()?;
        let inner = pointer_of(&error.path().to_string());
        let inner = if inner == "/" { String::new() } else { inner };
        Some((format!("{at}{inner}"), error.inner().to_string()))
    }
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten();
    let path_errors = paths.filter_map(|(path, item)| {
        first_error::<openapiv3::PathItem>(&format!("/paths/{}", escape(path)), item)
    });
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    let schema_errors = schemas.into_iter().flatten().filter_map(|(name, schema)| {
        first_error::<openapiv3::Schema>(&format!("/components/schemas/{}", escape(name)), schema)
    });
    let responses = doc
        .pointer("/components/responses")
        .and_then(Value::as_object);
    let response_errors = responses
        .into_iter()
        .flatten()
        .filter_map(|(name, response)| {
            first_error::<openapiv3::Response>(
                &format!("/components/responses/{}", escape(name)),
                response,
            )
        });
    path_errors
        .chain(schema_errors)
        .chain(response_errors)
        .next()
}

/// serde_path_to_error's `a.b[0].c` as a JSON pointer `/a/b/0/c`.
fn pointer_of(path: &str) -> String {
    if path == "." {
        return String::from("/");
    }
    let mut pointer = String::new();
    for part in path.split('.') {
        let (key, indexes) = part.split_once('[').unwrap_or((part, ""));
        pointer.push('/');
        pointer.push_str(&escape(key));
        for index in indexes.split('[') {
            let index = index.trim_end_matches(']');
            if !index.is_empty() {
                pointer.push('/');
                pointer.push_str(index);
            }
        }
    }
    pointer
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn collect_refs(value: &Value, at: String, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let here = format!("{at}/{}", escape(key));
                match (key.as_str(), child) {
                    ("$ref", Value::String(target)) => out.push((here, target.clone())),
                    _ => collect_refs(child, here, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_refs(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// One example and the schema it must satisfy.
#[derive(Debug)]
pub struct Example {
    /// A readable name, e.g. `response 200 example "documented"`.
    pub name: String,
    /// Which generated type decodes it.
    pub kind: ExampleKind,
    /// Where the example's value stands in the document.
    pub pointer: String,
    /// The schema (OpenAPI dialect).
    pub schema: Value,
    /// The example's value.
    pub value: Value,
}

/// The generated type an example decodes into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExampleKind {
    /// A list's 200 body: `ParticipantPage`.
    Page,
    /// The participant-conversations list's 200 body: `ParticipantConversationPage`.
    ConversationPage,
    /// A create, fetch or update body: `Participant`.
    Participant,
    /// An error body: `TwilioError`.
    Error,
    /// A create's form: `CreateParticipantRequest`.
    CreateForm,
    /// An update's form: `UpdateParticipantRequest`.
    UpdateForm,
    /// The `ChatServiceSid` path parameter: `ServiceSid`.
    ServiceSid,
    /// Any other parameter: only validated against its schema.
    Parameter,
}

fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(target) => target
            .strip_prefix('#')
            .and_then(|p| doc.pointer(p))
            .unwrap_or(value),
        None => value,
    }
}

/// Every example of every operation: parameters, request bodies, responses (error responses
/// once, where they are defined), named and single. Each is named after its operation.
pub fn collect_examples(doc: &Value) -> Vec<Example> {
    let mut out = Vec::new();
    let paths = doc.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        let methods = item.as_object().into_iter().flatten();
        for (method, operation) in methods {
            let at = format!("/paths/{}/{method}", escape(path));
            operation_examples(doc, &at, operation, &mut out);
        }
    }
    if let Some(map) = doc
        .pointer("/components/responses")
        .and_then(Value::as_object)
    {
        for (name, response) in map {
            let at = format!("/components/responses/{}", escape(name));
            body_examples(
                doc,
                &format!("response {name}"),
                &at,
                response,
                ExampleKind::Error,
                &mut out,
            );
        }
    }
    out
}

fn operation_examples(doc: &Value, at: &str, operation: &Value, out: &mut Vec<Example>) {
    let id = operation
        .get("operationId")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let parameters = operation.get("parameters").and_then(Value::as_array);
    for (i, parameter) in parameters.into_iter().flatten().enumerate() {
        let parameter = resolve(doc, parameter);
        let name = parameter.get("name").and_then(Value::as_str).unwrap_or("?");
        let kind = if name == "ChatServiceSid" {
            ExampleKind::ServiceSid
        } else {
            ExampleKind::Parameter
        };
        let schema = parameter.get("schema").cloned().unwrap_or(json!({}));
        if let Some(value) = parameter.get("example") {
            out.push(Example {
                name: format!("{id} parameter {name} example"),
                kind,
                pointer: format!("{at}/parameters/{i}/example"),
                schema: schema.clone(),
                value: value.clone(),
            });
        }
        let named = parameter.get("examples").and_then(Value::as_object);
        for (example_name, example) in named.into_iter().flatten() {
            if let Some(value) = resolve(doc, example).get("value") {
                out.push(Example {
                    name: format!("{id} parameter {name} example {example_name:?}"),
                    kind,
                    pointer: format!(
                        "{at}/parameters/{i}/examples/{}/value",
                        escape(example_name)
                    ),
                    schema: schema.clone(),
                    value: value.clone(),
                });
            }
        }
    }
    if let Some(body) = operation.get("requestBody") {
        let kind = if id.starts_with("Create") {
            ExampleKind::CreateForm
        } else {
            ExampleKind::UpdateForm
        };
        let label = format!("{id} request body");
        body_examples(
            doc,
            &label,
            &format!("{at}/requestBody"),
            resolve(doc, body),
            kind,
            out,
        );
    }
    if let Some(map) = operation.get("responses").and_then(Value::as_object) {
        for (status, response) in map {
            if response.get("$ref").is_some() {
                continue;
            }
            let kind = match (id, status.starts_with('2')) {
                (_, false) => ExampleKind::Error,
                (LIST_OPERATION, true) => ExampleKind::Page,
                (CONVERSATIONS_OPERATION, true) => ExampleKind::ConversationPage,
                (_, true) => ExampleKind::Participant,
            };
            let label = format!("{id} response {status}");
            let at = format!("{at}/responses/{}", escape(status));
            body_examples(doc, &label, &at, response, kind, out);
        }
    }
}

/// The examples of a response or request body, of each media type.
fn body_examples(
    doc: &Value,
    label: &str,
    at: &str,
    body: &Value,
    kind: ExampleKind,
    out: &mut Vec<Example>,
) {
    let content = body.get("content").and_then(Value::as_object);
    for (media, body) in content.into_iter().flatten() {
        let schema = body.get("schema").cloned().unwrap_or(json!({}));
        let at = format!("{at}/content/{}", escape(media));
        if let Some(value) = body.get("example") {
            out.push(Example {
                name: format!("{label} example"),
                kind,
                pointer: format!("{at}/example"),
                schema: schema.clone(),
                value: value.clone(),
            });
        }
        let named = body.get("examples").and_then(Value::as_object);
        for (name, example) in named.into_iter().flatten() {
            let example = resolve(doc, example);
            if let Some(value) = example.get("value") {
                out.push(Example {
                    name: format!("{label} example {name:?}"),
                    kind,
                    pointer: format!("{at}/examples/{}/value", escape(name)),
                    schema: schema.clone(),
                    value: value.clone(),
                });
            }
        }
    }
}

/// OpenAPI 3.0 schema → JSON Schema: `nullable: true` becomes a `null` alternative and
/// OpenAPI-only keywords are dropped. `#/components/schemas/…` refs stay valid because the
/// validation root carries the converted `components`.
pub fn to_json_schema(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let converted = match key.as_str() {
            "nullable" | "example" | "discriminator" | "xml" | "externalDocs" | "deprecated" => {
                continue
            }
            "properties" => Value::Object(
                value
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, property)| (name.clone(), to_json_schema(property)))
                    .collect(),
            ),
            "items" | "additionalProperties" | "not" => to_json_schema(value),
            "allOf" | "anyOf" | "oneOf" => Value::Array(
                value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(to_json_schema)
                    .collect(),
            ),
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if map.get("nullable") == Some(&Value::Bool(true)) {
        match out.get("type").and_then(Value::as_str).map(str::to_owned) {
            Some(kind) => {
                out.insert("type".into(), json!([kind, "null"]));
            }
            None => return json!({ "anyOf": [Value::Object(out), { "type": "null" }] }),
        }
    }
    Value::Object(out)
}

/// `{"schemas": …}` with every component schema converted, to sit beside each example's
/// schema so that `#/components/schemas/…` refs resolve.
fn json_schema_components(doc: &Value) -> Value {
    let schemas: Map<String, Value> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, schema)| (name.clone(), to_json_schema(schema)))
        .collect();
    json!({ "schemas": schemas })
}

/// Check 2: the example against its schema.
fn validate_example(components: &Value, example: &Example, problems: &mut Vec<String>) {
    let mut root = to_json_schema(&example.schema);
    if let Value::Object(map) = &mut root {
        map.insert("components".into(), components.clone());
    }
    let validator = match jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
    {
        Ok(validator) => validator,
        Err(e) => {
            problems.push(format!(
                "{}: its schema does not compile: {e}",
                example.name
            ));
            return;
        }
    };
    for error in validator.iter_errors(&example.value) {
        problems.push(format!(
            "{} at {}{}: {} (schema rule {})",
            example.name,
            example.pointer,
            error.instance_path().as_str(),
            error,
            error.schema_path().as_str()
        ));
    }
}

/// `value` without the `null`s of properties its schema declares but does not require: such a
/// property is an `Option` field skipped when `None`, so `"key": null` and no key are the
/// same value to it. Undeclared keys (kept by `additionalProperties`) stay as they are.
fn without_optional_nulls(doc: &Value, schema: &Value, value: &Value) -> Value {
    let schema = resolve(doc, schema);
    let parts = schema.get("allOf").and_then(Value::as_array);
    if let Some([only]) = parts.map(Vec::as_slice) {
        return without_optional_nulls(doc, only, value);
    }
    match value {
        Value::Object(map) => {
            let required = string_set(schema.get("required"));
            let properties = schema.get("properties");
            let kept = map.iter().filter_map(|(key, item)| {
                let Some(property) = properties.and_then(|p| p.get(key)) else {
                    return Some((key.clone(), item.clone()));
                };
                if item.is_null() && !required.contains(key) {
                    return None;
                }
                Some((key.clone(), without_optional_nulls(doc, property, item)))
            });
            Value::Object(kept.collect())
        }
        Value::Array(items) => match schema.get("items") {
            Some(item_schema) => Value::Array(
                items
                    .iter()
                    .map(|item| without_optional_nulls(doc, item_schema, item))
                    .collect(),
            ),
            None => value.clone(),
        },
        _ => value.clone(),
    }
}

/// Check 4: decode through the generated type, re-encode, compare.
fn round_trip(doc: &Value, example: &Example, problems: &mut Vec<String>) {
    let encoded = match example.kind {
        ExampleKind::Page => reencode::<ParticipantPage>(&example.value),
        ExampleKind::ConversationPage => reencode::<ParticipantConversationPage>(&example.value),
        ExampleKind::Participant => reencode::<Participant>(&example.value),
        ExampleKind::Error => reencode::<TwilioError>(&example.value),
        ExampleKind::CreateForm => reencode_form::<CreateParticipantRequest>(&example.value),
        ExampleKind::UpdateForm => reencode_form::<UpdateParticipantRequest>(&example.value),
        ExampleKind::ServiceSid => reencode::<ServiceSid>(&example.value),
        ExampleKind::Parameter => return,
    };
    match encoded {
        Err(e) => problems.push(format!(
            "{}: {}: {e}",
            example.name,
            match example.kind {
                ExampleKind::CreateForm | ExampleKind::UpdateForm =>
                    "is not sent as the same form through the generated types",
                _ => "does not decode through the generated types",
            }
        )),
        Ok(again) => {
            let sent = without_optional_nulls(doc, &example.schema, &example.value);
            for difference in diff(&sent, &again, "") {
                problems.push(format!("{}: round trip: {difference}", example.name));
            }
        }
    }
}

fn reencode<T: DeserializeOwned + serde::Serialize>(value: &Value) -> Result<Value, String> {
    let decoded: T = serde_path_to_error::deserialize(value)
        .map_err(|e| format!("at {}: {}", pointer_of(&e.path().to_string()), e.inner()))?;
    serde_json::to_value(&decoded).map_err(|e| e.to_string())
}

/// A form example through the generated body type and `serde_urlencoded`, as the client
/// sends it, read back as an object of string fields. The example's own values are compared
/// as the text a form carries (`7` as `"7"`).
fn reencode_form<T: DeserializeOwned + serde::Serialize>(value: &Value) -> Result<Value, String> {
    let decoded: T = serde_path_to_error::deserialize(value)
        .map_err(|e| format!("at {}: {}", pointer_of(&e.path().to_string()), e.inner()))?;
    let form = serde_urlencoded::to_string(&decoded).map_err(|e| e.to_string())?;
    let fields: Vec<(String, String)> =
        serde_urlencoded::from_str(&form).map_err(|e| e.to_string())?;
    let sent: Map<String, Value> = fields
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let as_text = |value: &Value| match value {
        Value::String(text) => Value::String(text.clone()),
        other => Value::String(other.to_string()),
    };
    let expected: Map<String, Value> = value
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), as_text(v)))
        .collect();
    // Report against the example as form text, so a difference names the field.
    if Value::Object(expected.clone()) == Value::Object(sent.clone()) {
        Ok(value.clone())
    } else {
        Err(diff(&Value::Object(expected), &Value::Object(sent), "").join("; "))
    }
}

/// Every place where `after` differs from `before`, by JSON pointer.
pub fn diff(before: &Value, after: &Value, at: &str) -> Vec<String> {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = Vec::new();
            for (key, value) in a {
                let here = format!("{at}/{}", escape(key));
                match b.get(key) {
                    Some(other) => out.extend(diff(value, other, &here)),
                    None => out.push(format!("{here} was lost (was {value})")),
                }
            }
            for (key, value) in b {
                if !a.contains_key(key) {
                    out.push(format!("{at}/{} appeared ({value})", escape(key)));
                }
            }
            out
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .flat_map(|(i, (x, y))| diff(x, y, &format!("{at}/{i}")))
            .collect(),
        _ if before == after => Vec::new(),
        _ => vec![format!(
            "{} changed from {before} to {after}",
            if at.is_empty() { "/" } else { at }
        )],
    }
}

/// Check 3: the docs page's example, verbatim.
fn check_documented(inputs: &Inputs, examples: &[Example], problems: &mut Vec<String>) {
    let name = format!("{LIST_OPERATION} response 200 example {DOCUMENTED:?}");
    let Some(in_spec) = examples.iter().find(|e| e.name == name) else {
        problems.push(format!("the spec has no {name}"));
        return;
    };
    let mut copies = Vec::new();
    match load(&inputs.documented) {
        Ok(value) => copies.push((inputs.documented.display().to_string(), value)),
        Err(problem) => problems.push(problem),
    }
    if let Some(seed) = &inputs.seed {
        match seed_example(seed) {
            Ok(value) => copies.push((seed.display().to_string(), value)),
            Err(problem) => problems.push(problem),
        }
    }
    for (source, copy) in copies {
        for difference in diff(&copy, &in_spec.value, "") {
            problems.push(format!("{name} differs from {source}: {difference}"));
        }
    }
}

/// The JSON after "Response examples (200)" on the docs page.
fn seed_example(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let marker = "Response examples (200)";
    let start = text
        .find(marker)
        .ok_or_else(|| format!("{}: no {marker:?} section", path.display()))?;
    let mut stream =
        serde_json::Deserializer::from_str(&text[start + marker.len()..]).into_iter::<Value>();
    match stream.next() {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(format!("{}: the example is not JSON: {e}", path.display())),
        None => Err(format!("{}: the example is missing", path.display())),
    }
}

/// The generated (or hand-written wire) type for each component schema.
fn rust_schemas() -> BTreeMap<&'static str, Value> {
    fn root<T: schemars::JsonSchema>() -> Value {
        serde_json::to_value(schemars::SchemaGenerator::default().into_root_schema_for::<T>())
            .unwrap_or_default()
    }
    BTreeMap::from([
        ("ParticipantPage", root::<ParticipantPage>()),
        ("PageMeta", root::<PageMeta>()),
        ("Participant", root::<Participant>()),
        ("MessagingBinding", root::<MessagingBinding>()),
        ("TwilioError", root::<TwilioError>()),
        (
            "CreateParticipantRequest",
            root::<CreateParticipantRequest>(),
        ),
        (
            "UpdateParticipantRequest",
            root::<UpdateParticipantRequest>(),
        ),
        ("WebhookEnabled", root::<WebhookEnabled>()),
        (
            "ParticipantConversationPage",
            root::<ParticipantConversationPage>(),
        ),
        ("ParticipantConversation", root::<ParticipantConversation>()),
        ("ConversationTimers", root::<ConversationTimers>()),
        (
            "ParticipantConversationLinks",
            root::<ParticipantConversationLinks>(),
        ),
        ("ConversationState", root::<ConversationState>()),
        (UserSid::SCHEMA, root::<UserSid>()),
        (AccountSid::SCHEMA, root::<AccountSid>()),
        (ServiceSid::SCHEMA, root::<ServiceSid>()),
        (ConversationSid::SCHEMA, root::<ConversationSid>()),
        (ParticipantSid::SCHEMA, root::<ParticipantSid>()),
        (RoleSid::SCHEMA, root::<RoleSid>()),
    ])
}

/// The parts of a property schema both sides must agree on.
#[derive(Debug, PartialEq, Eq)]
struct Shape {
    types: BTreeSet<String>,
    reference: Option<String>,
    nullable: bool,
    date_time: bool,
    items: Option<Box<Shape>>,
}

impl Shape {
    fn describe(&self) -> String {
        let mut text = match (&self.reference, &self.items) {
            (Some(name), _) => name.clone(),
            (None, Some(items)) => format!("array of {}", items.describe()),
            (None, None) => self.types.iter().cloned().collect::<Vec<_>>().join("|"),
        };
        if self.date_time {
            text.push_str(" (date-time)");
        }
        if self.nullable {
            text.push_str(", nullable");
        }
        text
    }
}

fn ref_name(value: &Value) -> Option<String> {
    let target = value.get("$ref")?.as_str()?;
    target.rsplit('/').next().map(str::to_owned)
}

/// A property as the spec (OpenAPI 3.0) says it.
fn spec_shape(schema: &Value) -> Shape {
    let nullable = schema.get("nullable") == Some(&Value::Bool(true));
    let reference = ref_name(schema).or_else(|| {
        let all_of = schema.get("allOf")?.as_array()?;
        match all_of.as_slice() {
            [only] => ref_name(only),
            _ => None,
        }
    });
    Shape {
        types: schema
            .get("type")
            .and_then(Value::as_str)
            .map(|t| BTreeSet::from([t.to_owned()]))
            .unwrap_or_default(),
        nullable,
        date_time: schema.get("format").and_then(Value::as_str) == Some("date-time"),
        items: schema.get("items").map(|items| Box::new(spec_shape(items))),
        reference,
    }
}

/// A property as schemars derives it (JSON Schema 2020-12).
fn rust_shape(schema: &Value) -> Shape {
    if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
        let (nulls, others): (Vec<&Value>, Vec<&Value>) = options
            .iter()
            .partition(|o| o.get("type").and_then(Value::as_str) == Some("null"));
        if let ([_], [other]) = (nulls.as_slice(), others.as_slice()) {
            let mut shape = rust_shape(other);
            shape.nullable = true;
            return shape;
        }
    }
    let mut types: BTreeSet<String> = match schema.get("type") {
        Some(Value::String(t)) => BTreeSet::from([t.clone()]),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => BTreeSet::new(),
    };
    let nullable = types.remove("null");
    Shape {
        types,
        reference: ref_name(schema),
        nullable,
        date_time: schema.get("format").and_then(Value::as_str) == Some("date-time"),
        items: schema.get("items").map(|items| Box::new(rust_shape(items))),
    }
}

fn string_set(value: Option<&Value>) -> BTreeSet<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Check 5: property names, types, nullability, required, and the SID rules.
fn compare_schemas(doc: &Value, problems: &mut Vec<String>) -> usize {
    let rust = rust_schemas();
    let spec = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for name in spec.keys() {
        if !rust.contains_key(name.as_str()) {
            problems.push(format!(
                "schema {name}: in the spec but no generated type is mapped to it in xtask"
            ));
        }
    }
    let mut compared = 0;
    for (name, derived) in &rust {
        let Some(declared) = spec.get(*name) else {
            problems.push(format!(
                "schema {name}: a generated type has no schema in the spec"
            ));
            continue;
        };
        compared += 1;
        let mut problem = |what: String| problems.push(format!("schema {name}: {what}"));
        if declared.get("type").and_then(Value::as_str) == Some("string") {
            compare_string_rules(declared, derived, &mut problem);
        } else {
            compare_properties(declared, derived, &mut problem);
            compare_required(declared, derived, &mut problem);
        }
    }
    compared
}

/// A string schema (a SID, an enum): its type, pattern, lengths and values.
fn compare_string_rules(declared: &Value, derived: &Value, problem: &mut impl FnMut(String)) {
    for rule in ["type", "pattern", "minLength", "maxLength", "enum"] {
        if declared.get(rule) != derived.get(rule) {
            problem(format!(
                "{rule} is {} in the spec but {} in the generated type",
                declared.get(rule).unwrap_or(&Value::Null),
                derived.get(rule).unwrap_or(&Value::Null)
            ));
        }
    }
}

fn properties(schema: &Value) -> Map<String, Value> {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

/// An object schema's properties: the same names, each of the same shape.
fn compare_properties(declared: &Value, derived: &Value, problem: &mut impl FnMut(String)) {
    let (declared_props, derived_props) = (properties(declared), properties(derived));
    for property in declared_props.keys() {
        if !derived_props.contains_key(property) {
            problem(format!(
                "property {property} is in the spec but not in the generated type"
            ));
        }
    }
    let required = string_set(declared.get("required"));
    for (property, derived_schema) in &derived_props {
        let Some(declared_schema) = declared_props.get(property) else {
            problem(format!(
                "property {property} is in the generated type but not in the spec"
            ));
            continue;
        };
        let (want, mut got) = (spec_shape(declared_schema), rust_shape(derived_schema));
        // An optional property is an `Option` field, which schemars shows as nullable;
        // nullability is only comparable where the spec requires the key.
        if !required.contains(property) {
            got.nullable = want.nullable;
        }
        if want != got {
            problem(format!(
                "property {property} is {} in the spec but {} in the generated type",
                want.describe(),
                got.describe()
            ));
        }
    }
}

/// An `Option` field is never `required` in schemars' output; in the spec it is `required` +
/// `nullable`. So compare the keys that must be present and non-null.
fn compare_required(declared: &Value, derived: &Value, problem: &mut impl FnMut(String)) {
    let declared_props = properties(declared);
    let declared_required: BTreeSet<String> = string_set(declared.get("required"))
        .into_iter()
        .filter(|p| {
            !declared_props
                .get(p)
                .is_some_and(|s| spec_shape(s).nullable)
        })
        .collect();
    let derived_required = string_set(derived.get("required"));
    if declared_required != derived_required {
        problem(format!(
            "required non-null properties are {declared_required:?} in the spec but \
             {derived_required:?} in the generated type"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_becomes_a_null_alternative() {
        assert_eq!(
            to_json_schema(&json!({"type": "string", "nullable": true})),
            json!({"type": ["string", "null"]})
        );
        assert_eq!(
            to_json_schema(&json!({"nullable": true, "allOf": [{"$ref": "#/x"}]})),
            json!({"anyOf": [{"allOf": [{"$ref": "#/x"}]}, {"type": "null"}]})
        );
        let nested = to_json_schema(
            &json!({"properties": {"nullable": {"type": "integer", "nullable": true}}}),
        );
        assert_eq!(
            nested,
            json!({"properties": {"nullable": {"type": ["integer", "null"]}}})
        );
    }

    #[test]
    fn paths_become_pointers() {
        assert_eq!(
            pointer_of("paths./v1/x.get.parameters[2].schema"),
            "/paths/~1v1~1x/get/parameters/2/schema"
        );
        assert_eq!(pointer_of("."), "/");
    }

    #[test]
    fn diff_names_each_change() {
        let a = json!({"a": 1, "b": [1, {"c": null}], "gone": true});
        let b = json!({"a": 2, "b": [1, {"c": null, "d": 0}]});
        assert_eq!(
            diff(&a, &b, ""),
            [
                "/a changed from 1 to 2",
                "/b/1/d appeared (0)",
                "/gone was lost (was true)"
            ]
        );
    }
}

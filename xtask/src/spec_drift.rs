//! `cargo xtask spec-drift [--expected FILE] PATH`: our hand-maintained spec against Twilio's published
//! description (twilio-oai `spec/json/twilio_conversations_v1.json`, downloaded by the user).
//!
//! For every operation of our spec (matched upstream by path and method, its operationId
//! compared too) it compares the path, query and header parameters (required, type, format,
//! pattern, lengths, bounds, enum values), the form fields of the request body, the response
//! status codes, the response body schema property by property (presence, required, type,
//! format, nullability, enum values, nested objects), and the documented examples (each
//! upstream example against ours of the same name). Every difference is one line.
//!
//! Differences we keep on purpose are data: `openapi/expected-differences.json` lists them
//! (operation, element and kind, `*` matching any run of characters, an optional exact
//! detail, and the reason). The command passes when every difference is explained and every
//! explanation still explains something.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use serde::Deserialize;
use serde_json::Value;

use crate::check_spec::diff;

/// The files `spec-drift` reads.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// Our OpenAPI document.
    pub ours: PathBuf,
    /// Twilio's description.
    pub upstream: PathBuf,
    /// The deliberate differences.
    pub expected: PathBuf,
}

impl Inputs {
    /// The repository's spec and explanations (relative to the workspace root `root`)
    /// against `upstream`.
    pub fn for_repo(root: &Path, upstream: PathBuf) -> Self {
        Self {
            ours: root.join("openapi/participants.openapi.json"),
            upstream,
            expected: root.join("openapi/expected-differences.json"),
        }
    }
}

/// One deliberate difference, as `openapi/expected-differences.json` records it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// The operationId, or a pattern (`*` matches any run of characters).
    pub operation: String,
    /// The element, e.g. `query PageSize` or `response participants[].*`.
    pub element: String,
    /// The kind of difference, e.g. `format` or `added`.
    pub kind: String,
    /// When given, the difference's text must be exactly this.
    #[serde(default)]
    pub detail: Option<String>,
    /// Why we differ on purpose.
    pub reason: String,
}

impl Expected {
    /// Whether this entry's `operation` (a pattern) names the operation `id`.
    pub fn applies_to(&self, id: &str) -> bool {
        glob(&self.operation, id)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFile {
    #[serde(rename = "$comment", default)]
    _comment: Option<String>,
    differences: Vec<Expected>,
}

/// One way our spec and Twilio's differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// Our operationId.
    pub operation: String,
    /// What differs, e.g. `response participants[].identity`.
    pub element: String,
    /// `added` (upstream only), `missing` (ours only), `required`, `nullable`, `type`,
    /// `format`, `pattern`, `minLength`, `maxLength`, `minimum`, `maximum`, `enum`,
    /// `example` or `operationId`.
    pub kind: &'static str,
    /// The difference in words.
    pub detail: String,
}

impl Difference {
    /// `Operation: element: detail`.
    pub fn line(&self) -> String {
        format!("{}: {}: {}", self.operation, self.element, self.detail)
    }
}

/// What the comparison found.
#[derive(Debug, Default)]
pub struct Report {
    /// Operations compared.
    pub operations: usize,
    /// Every difference, with whether an explanation covers it.
    pub differences: Vec<(Difference, bool)>,
    /// Explanations that match no difference.
    pub stale: Vec<Expected>,
}

impl Report {
    /// The differences nobody explained, one line each.
    pub fn unexplained(&self) -> Vec<String> {
        self.differences
            .iter()
            .filter(|(_, explained)| !explained)
            .map(|(d, _)| d.line())
            .collect()
    }

    /// Every line to print: the differences grouped by operation (explained ones marked),
    /// then the stale explanations, then the summary.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .differences
            .iter()
            .map(|(d, explained)| {
                if *explained {
                    format!("{} (explained)", d.line())
                } else {
                    d.line()
                }
            })
            .collect();
        lines.extend(self.stale.iter().map(|e| {
            format!(
                "stale explanation: {} / {} / {}: no such difference any more ({})",
                e.operation, e.element, e.kind, e.reason
            )
        }));
        lines.push(self.summary());
        lines
    }

    /// The one-line summary.
    pub fn summary(&self) -> String {
        let unexplained = self.unexplained().len();
        format!(
            "spec-drift: {} operations, {} differences ({} explained, {unexplained} unexplained), {} stale explanations",
            self.operations,
            self.differences.len(),
            self.differences.len() - unexplained,
            self.stale.len()
        )
    }

    /// Every difference explained and every explanation used.
    pub fn passed(&self) -> bool {
        self.stale.is_empty() && self.differences.iter().all(|(_, explained)| *explained)
    }
}

fn load(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))
}

/// Reads an explanations file (`openapi/expected-differences.json` or one of its shape).
///
/// # Errors
/// The file cannot be read, is not JSON, or is not an explanations file; the path is named.
pub fn load_expected(path: &Path) -> Result<Vec<Expected>, String> {
    let file: ExpectedFile =
        serde_json::from_value(load(path)?).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(file.differences)
}

/// Reads the three files and compares.
///
/// # Errors
/// A file that cannot be read or is not JSON (or not an explanations file), named.
pub fn run(inputs: &Inputs) -> Result<Report, String> {
    let ours = load(&inputs.ours)?;
    let upstream = load(&inputs.upstream)?;
    let expected = load_expected(&inputs.expected)?;
    Ok(explain(&ours, &upstream, expected))
}

/// Compares, then marks each difference an explanation covers. Every explanation that
/// covers a difference counts as used (a second explanation of the same difference too),
/// so only one that covers nothing is stale.
pub fn explain(ours: &Value, upstream: &Value, expected: Vec<Expected>) -> Report {
    let (operations, differences) = compare(ours, upstream);
    let mut used = vec![false; expected.len()];
    let differences = differences
        .into_iter()
        .map(|difference| {
            let mut explained = false;
            for (at, explanation) in expected.iter().enumerate() {
                if covers(explanation, &difference) {
                    used[at] = true;
                    explained = true;
                }
            }
            (difference, explained)
        })
        .collect();
    let stale = expected
        .into_iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|(e, _)| e)
        .collect();
    Report {
        operations,
        differences,
        stale,
    }
}

fn covers(expected: &Expected, difference: &Difference) -> bool {
    expected.kind == difference.kind
        && expected.applies_to(&difference.operation)
        && glob(&expected.element, &difference.element)
        && expected
            .detail
            .as_ref()
            .is_none_or(|detail| *detail == difference.detail)
}

/// `pattern` with `*` matching any run of characters (none included) equals `text`.
fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(text) = text.strip_prefix(head) else {
                return false;
            };
            (0..=text.len())
                .filter(|&at| text.is_char_boundary(at))
                .any(|at| glob(rest, &text[at..]))
        }
    }
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every operation of `ours` against `upstream`: (operations compared, differences in the
/// order of our paths and methods).
pub fn compare(ours: &Value, upstream: &Value) -> (usize, Vec<Difference>) {
    let mut out = Vec::new();
    let mut operations = 0;
    let paths = ours.get("paths").and_then(Value::as_object);
    for (path, item) in paths.into_iter().flatten() {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            operations += 1;
            let id = operation
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or("?");
            let mut cmp = Comparison {
                id,
                ours,
                upstream,
                out: &mut out,
            };
            match upstream.pointer(&format!("/paths/{}/{method}", escape(path))) {
                Some(theirs) => cmp.operation(operation, theirs),
                None => cmp.push(
                    "operation",
                    "missing",
                    format!("{} {path}: missing upstream", method.to_ascii_uppercase()),
                ),
            }
        }
    }
    (operations, out)
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// One operation's comparison: both documents, for `$ref`s, and where lines go.
struct Comparison<'a> {
    id: &'a str,
    ours: &'a Value,
    upstream: &'a Value,
    out: &'a mut Vec<Difference>,
}

/// A schema with `$ref`s and one-element `allOf`s resolved, and its nullability.
struct Flat<'a> {
    schema: &'a Value,
    nullable: bool,
}

fn flatten<'a>(doc: &'a Value, schema: &'a Value) -> Flat<'a> {
    let nullable = schema.get("nullable") == Some(&Value::Bool(true));
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        if let Some(resolved) = target.strip_prefix('#').and_then(|p| doc.pointer(p)) {
            let inner = flatten(doc, resolved);
            return Flat {
                schema: inner.schema,
                nullable: nullable || inner.nullable,
            };
        }
    }
    if let Some([only]) = schema
        .get("allOf")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
    {
        let inner = flatten(doc, only);
        return Flat {
            schema: inner.schema,
            nullable: nullable || inner.nullable,
        };
    }
    Flat { schema, nullable }
}

/// The facets compared one by one, with their kind names.
const FACETS: [&str; 7] = [
    "type",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
];

fn shown(value: Option<&Value>) -> String {
    match value {
        None => "none".into(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

/// `string, date-time, nullable` for a schema.
fn describe(flat: &Flat<'_>) -> String {
    let mut text = flat
        .schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("untyped")
        .to_owned();
    if let Some(format) = flat.schema.get("format").and_then(Value::as_str) {
        text.push_str(", ");
        text.push_str(format);
    }
    if flat.nullable {
        text.push_str(", nullable");
    }
    text
}

fn names(value: Option<&Value>) -> BTreeSet<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// A stable short fingerprint of a JSON value (FNV-1a over its compact text).
fn fingerprint(value: &Value) -> String {
    let hash = value
        .to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    format!("{hash:016x}")
}

/// `(in, name)` → parameter, resolved.
fn parameters<'a>(doc: &'a Value, operation: &'a Value) -> BTreeMap<(String, String), &'a Value> {
    let list = operation.get("parameters").and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .map(|p| flatten(doc, p).schema)
        .map(|p| {
            let field = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("?").to_owned();
            ((field("in"), field("name")), p)
        })
        .collect()
}

/// A body's schema and named examples for one media type.
fn media<'a>(doc: &'a Value, body: &'a Value, kind: &str) -> Option<&'a Value> {
    flatten(doc, body).schema.get("content")?.get(kind)
}

impl Comparison<'_> {
    fn push(&mut self, element: impl Into<String>, kind: &'static str, detail: String) {
        self.out.push(Difference {
            operation: self.id.to_owned(),
            element: element.into(),
            kind,
            detail,
        });
    }

    fn operation(&mut self, ours: &Value, theirs: &Value) {
        let their_id = theirs.get("operationId").and_then(Value::as_str);
        if their_id != Some(self.id) {
            let detail = format!(
                "{} here, {} upstream",
                self.id,
                shown(theirs.get("operationId"))
            );
            self.push("operationId", "operationId", detail);
        }
        self.parameters(ours, theirs);
        self.form(ours, theirs);
        self.responses(ours, theirs);
    }

    fn parameters(&mut self, ours: &Value, theirs: &Value) {
        let mine = parameters(self.ours, ours);
        let upstream = parameters(self.upstream, theirs);
        for (key @ (place, name), parameter) in &mine {
            let element = format!("{place} {name}");
            let Some(their) = upstream.get(key) else {
                let schema = flatten(self.ours, &parameter["schema"]);
                self.push(
                    &element,
                    "missing",
                    format!("missing upstream (here: {})", describe(&schema)),
                );
                continue;
            };
            let required = |p: &Value| p.get("required") == Some(&Value::Bool(true));
            if required(parameter) != required(their) {
                let detail = if required(parameter) {
                    "required here, not upstream"
                } else {
                    "required upstream, not here"
                };
                self.push(&element, "required", detail.into());
            }
            self.schema(&element, &parameter["schema"], &their["schema"]);
            self.named_examples(&element, parameter, their);
        }
        for (key @ (place, name), parameter) in &upstream {
            if !mine.contains_key(key) {
                let schema = flatten(self.upstream, &parameter["schema"]);
                let required = if parameter.get("required") == Some(&Value::Bool(true)) {
                    ", required"
                } else {
                    ""
                };
                self.push(
                    format!("{place} {name}"),
                    "added",
                    format!("added upstream ({}{required})", describe(&schema)),
                );
            }
        }
    }

    fn form(&mut self, ours: &Value, theirs: &Value) {
        const FORM: &str = "application/x-www-form-urlencoded";
        let mine = ours
            .get("requestBody")
            .and_then(|b| media(self.ours, b, FORM));
        let upstream = theirs
            .get("requestBody")
            .and_then(|b| media(self.upstream, b, FORM));
        match (mine, upstream) {
            (Some(mine), Some(upstream)) => {
                self.schema("form", &mine["schema"], &upstream["schema"])
            }
            (Some(_), None) => self.push("form", "missing", "missing upstream".into()),
            (None, Some(_)) => self.push("form", "added", "added upstream".into()),
            (None, None) => {}
        }
    }

    fn responses(&mut self, ours: &Value, theirs: &Value) {
        let statuses = |op: &Value| -> BTreeSet<String> {
            op.get("responses")
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        let (mine, upstream) = (statuses(ours), statuses(theirs));
        for status in mine.difference(&upstream) {
            self.push(
                format!("status {status}"),
                "missing",
                "missing upstream".into(),
            );
        }
        for status in upstream.difference(&mine) {
            self.push(format!("status {status}"), "added", "added upstream".into());
        }
        for status in mine.intersection(&upstream) {
            let body = |doc: &Value, op: &Value| {
                let response = op.pointer(&format!("/responses/{status}"))?;
                media(doc, response, "application/json").cloned()
            };
            match (body(self.ours, ours), body(self.upstream, theirs)) {
                (Some(mine), Some(upstream)) => {
                    self.schema("response", &mine["schema"], &upstream["schema"]);
                    self.named_examples("example", &mine, &upstream);
                }
                (Some(_), None) => self.push(
                    "response",
                    "missing",
                    format!("{status} body missing upstream"),
                ),
                (None, Some(_)) => {
                    self.push("response", "added", format!("{status} body added upstream"))
                }
                (None, None) => {}
            }
        }
    }

    /// Each upstream named example against ours of the same name.
    fn named_examples(&mut self, prefix: &str, ours: &Value, theirs: &Value) {
        let upstream = theirs.get("examples").and_then(Value::as_object);
        for (name, example) in upstream.into_iter().flatten() {
            let element = if prefix == "example" {
                format!("example {name}")
            } else {
                format!("{prefix} example {name}")
            };
            let their_value = &flatten(self.upstream, example).schema["value"];
            let mine = ours.pointer(&format!("/examples/{}", escape(name)));
            let Some(mine) = mine.map(|m| &flatten(self.ours, m).schema["value"]) else {
                let detail = format!(
                    "not taken here (upstream value {})",
                    fingerprint(their_value)
                );
                self.push(element, "example", detail);
                continue;
            };
            for change in diff(mine, their_value, "") {
                self.push(&element, "example", format!("upstream differs: {change}"));
            }
        }
    }

    /// Two schemas at `element`, recursively through properties and array items.
    fn schema(&mut self, element: &str, ours: &Value, theirs: &Value) {
        let mine = flatten(self.ours, ours);
        let upstream = flatten(self.upstream, theirs);
        for facet in FACETS {
            let (a, b) = (mine.schema.get(facet), upstream.schema.get(facet));
            if a != b {
                let detail = format!("{facet}: {} here, {} upstream", shown(a), shown(b));
                self.push(element, facet, detail);
            }
        }
        if mine.nullable != upstream.nullable {
            let detail = if mine.nullable {
                "nullable here, not upstream"
            } else {
                "nullable upstream, not here"
            };
            self.push(element, "nullable", detail.into());
        }
        self.enums(element, mine.schema, upstream.schema);
        if let (Some(a), Some(b)) = (mine.schema.get("items"), upstream.schema.get("items")) {
            self.schema(&format!("{element}[]"), a, b);
        }
        self.properties(element, mine.schema, upstream.schema);
    }

    fn enums(&mut self, element: &str, mine: &Value, upstream: &Value) {
        let values = |s: &Value| -> Vec<Value> {
            s.get("enum")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let (a, b) = (values(mine), values(upstream));
        for value in b.iter().filter(|v| !a.contains(v)) {
            self.push(element, "enum", format!("enum: {value} added upstream"));
        }
        for value in a.iter().filter(|v| !b.contains(v)) {
            self.push(element, "enum", format!("enum: {value} missing upstream"));
        }
    }

    /// Property by property; an upstream object without properties (untyped) is not
    /// descended into, its `type` line says enough.
    fn properties(&mut self, element: &str, mine: &Value, upstream: &Value) {
        let (Some(a), Some(b)) = (
            mine.get("properties").and_then(Value::as_object),
            upstream.get("properties").and_then(Value::as_object),
        ) else {
            return;
        };
        let (required_here, required_there) =
            (names(mine.get("required")), names(upstream.get("required")));
        // `response` → `response key`; `response a[]` → `response a[].key`.
        let child = |key: &str| {
            if element.contains(' ') {
                format!("{element}.{key}")
            } else {
                format!("{element} {key}")
            }
        };
        for (key, schema) in a {
            let at = child(key);
            let Some(their) = b.get(key) else {
                let detail = format!(
                    "missing upstream (here: {})",
                    describe(&flatten(self.ours, schema))
                );
                self.push(at, "missing", detail);
                continue;
            };
            match (required_here.contains(key), required_there.contains(key)) {
                (true, false) => self.push(&at, "required", "required here, not upstream".into()),
                (false, true) => self.push(&at, "required", "required upstream, not here".into()),
                _ => {}
            }
            self.schema(&at, schema, their);
        }
        for (key, schema) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
            let detail = format!(
                "added upstream ({})",
                describe(&flatten(self.upstream, schema))
            );
            self.push(child(key), "added", detail);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_explanation_of_one_difference_is_used_not_stale() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../openapi/participants.openapi.json"
        ))
        .unwrap();
        let ours: Value = serde_json::from_str(&text).unwrap();
        // Upstream: our spec with one operation's parameters gone.
        let mut upstream = ours.clone();
        let operation = upstream["paths"]
            .as_object_mut()
            .and_then(|paths| paths.values_mut().next())
            .and_then(|path| path.as_object_mut())
            .and_then(|path| path.values_mut().find(|op| op.get("operationId").is_some()))
            .expect("an operation");
        operation["parameters"] = serde_json::json!([]);
        let (_, differences) = compare(&ours, &upstream);
        let difference = differences.first().expect("a difference").clone();
        let explanation = |element: &str, reason: &str| Expected {
            operation: difference.operation.clone(),
            element: element.into(),
            kind: difference.kind.to_string(),
            detail: None,
            reason: reason.into(),
        };
        let report = explain(
            &ours,
            &upstream,
            vec![
                explanation(&difference.element, "the first reason"),
                explanation("*", "the same difference, explained again"),
                explanation("no such element", "explains nothing"),
            ],
        );
        assert!(report.differences.iter().all(|(_, explained)| *explained));
        let stale: Vec<&str> = report.stale.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(stale, ["explains nothing"]);
    }

    #[test]
    fn glob_matches_runs() {
        assert!(glob("response *", "response participants[].sid"));
        assert!(glob("*", ""));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("a*c", "abd"));
        assert!(glob("status *XX", "status 4XX"));
        assert!(!glob("status *XX", "status 404"));
    }
}

//! The example CLI, run as a built binary (cargo test builds examples first).

mod common;

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::OnceLock,
    time::SystemTime,
};

use common::*;
use httpmock::MockServer;
use serde_json::Value;

/// The example's binary. `cargo test` builds it before the tests run; when it is missing
/// or older than its sources (e.g. `cargo test --test cli` after an edit), build it here.
fn binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let deps = std::env::current_exe().unwrap();
            let target = deps.parent().unwrap().parent().unwrap();
            let binary = target
                .join("examples")
                .join(format!("participants{}", std::env::consts::EXE_SUFFIX));
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            let sources = ["src", "examples", "openapi", "Cargo.toml"].map(|p| root.join(p));
            let built = std::fs::metadata(&binary).and_then(|m| m.modified()).ok();
            if built.is_none_or(|at| sources.iter().any(|s| newest(s) > at)) {
                let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
                let status = Command::new(cargo)
                    .args(["build", "--quiet", "--example", "participants"])
                    .status()
                    .unwrap();
                assert!(status.success(), "could not build the example");
            }
            binary
        })
        .clone()
}

/// The newest modification time of a file or anything under a directory.
fn newest(path: &Path) -> SystemTime {
    let own = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let children = std::fs::read_dir(path).into_iter().flatten().flatten();
    children
        .map(|entry| newest(&entry.path()))
        .fold(own, SystemTime::max)
}

fn participants_cli(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env_remove("TWILIO_API_KEY")
        .env_remove("TWILIO_API_SECRET")
        .env_remove("TWILIO_REGION")
        .env_remove("TWILIO_EDGE")
        .env("TWILIO_ACCOUNT_SID", ACCOUNT)
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn demo_lists_every_participant_in_each_format() {
    let columns = participants_cli(&["--demo"]);
    assert!(columns.status.success(), "{}", stderr(&columns));
    let lines: Vec<_> = stdout(&columns).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 341, "a header and 340 rows");
    assert!(lines[0].starts_with("SID ") && lines[0].ends_with("IDENTITY"));
    assert!(
        lines[1].starts_with("MB") && lines[1].contains(" sms ") || lines[1].contains(" whatsapp ")
    );

    let json = participants_cli(&["--demo", "-o", "json"]);
    let array: Vec<Value> = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(array.len(), 340);
    assert!(array.iter().all(|p| p["attributes"].is_string()));

    let jsonl = participants_cli(&["--demo", "-o", "jsonl", "--page-size", "100"]);
    let rows: Vec<Value> = stdout(&jsonl)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows, array, "jsonl and json carry the same participants");

    let tsv = participants_cli(&["--demo", "-o", "tsv", "--limit", "25"]);
    let text = stdout(&tsv);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("sid\tidentity\tbinding_type\taddress\tproxy_address\trole_sid\tdate_created\tattributes")
    );
    assert!(lines.clone().all(|l| l.split('\t').count() == 8));
    assert_eq!(lines.count(), 25);
}

#[test]
fn base_url_json_equals_the_served_participants() {
    let server = MockServer::start();
    let next = next_url(&server.base_url(), 3, 1, "PT3");
    let first = page(0..3, 0, 3, Some(next));
    let second = page(3..5, 1, 3, None);
    server.mock(|when, then| {
        when.path(PATH)
            .query_param_missing("PageToken")
            .header("authorization", basic_header());
        then.status(200).body(first.to_string());
    });
    server.mock(|when, then| {
        when.path(PATH).query_param("PageToken", "PT3");
        then.status(200).body(second.to_string());
    });
    let output = participants_cli(&[
        "--chat-service-sid",
        SERVICE,
        "--conversation-sid",
        CONVERSATION,
        "--page-size",
        "3",
        "-o",
        "json",
        "--base-url",
        &server.base_url(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let served: Vec<Value> = first["participants"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["participants"].as_array().unwrap())
        .cloned()
        .collect();
    assert_eq!(printed, Value::Array(served));
}

#[test]
fn bad_input_exits_2_without_a_request() {
    let server = MockServer::start();
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(200);
    });
    let bad_sid = participants_cli(&[
        "--chat-service-sid",
        "IS123",
        "--conversation-sid",
        CONVERSATION,
        "--base-url",
        &server.base_url(),
    ]);
    assert_eq!(bad_sid.status.code(), Some(2));
    assert_eq!(
        stderr(&bad_sid).trim(),
        "error: invalid ChatServiceSid \"IS123\": expected 34 characters, found 5"
    );
    let bad_size = participants_cli(&[
        "--chat-service-sid",
        SERVICE,
        "--conversation-sid",
        CONVERSATION,
        "--page-size",
        "1000",
        "--base-url",
        &server.base_url(),
    ]);
    assert_eq!(bad_size.status.code(), Some(2));
    assert!(stderr(&bad_size).contains("invalid PageSize: 1000 is not between 1 and 100"));
    let unknown = participants_cli(&["--demo", "--verbose"]);
    assert_eq!(unknown.status.code(), Some(2));
    any.assert_calls(0);
    assert!(bad_sid.stdout.is_empty() && bad_size.stdout.is_empty());
}

#[test]
fn api_errors_exit_1_with_the_twilio_details() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.path(PATH);
        then.status(404).header("content-type", "application/json").body(
            r#"{"code":20404,"message":"The requested resource was not found","more_info":"https://www.twilio.com/docs/errors/20404","status":404}"#,
        );
    });
    let output = participants_cli(&[
        "--chat-service-sid",
        SERVICE,
        "--conversation-sid",
        CONVERSATION,
        "--base-url",
        &server.base_url(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output).trim(),
        "error: the API answered HTTP 404 with Twilio error 20404: The requested resource was \
         not found (see https://www.twilio.com/docs/errors/20404)"
    );
}

#[test]
fn missing_credentials_suggest_the_demo() {
    let output = Command::new(binary())
        .args([
            "--chat-service-sid",
            SERVICE,
            "--conversation-sid",
            CONVERSATION,
        ])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("TWILIO_ACCOUNT_SID") && message.contains("--demo"),
        "{message}"
    );
}

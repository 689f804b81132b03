//! The installed tool, run as a user runs it: exit codes, stdout, stderr, and the exact
//! requests it sends to a server that answers as Twilio does.

use std::{
    io::{BufRead, BufReader, Write},
    net::TcpListener,
    process::{Command, Output},
    sync::{Arc, Mutex},
    thread,
};

use httpmock::{Method, MockServer};
use serde_json::{json, Value};

const SERVICE: &str = "IS0123456789abcdef0123456789abcdef";
const CONVERSATION: &str = "CH0123456789abcdef0123456789abcdef";
const MEMBER: &str = "MB0123456789abcdef0123456789abcdef";
const PATH: &str = "/v1/Services/IS0123456789abcdef0123456789abcdef/Conversations/CH0123456789abcdef0123456789abcdef/Participants";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twilio-participants"))
        .args(args)
        .env_clear()
        .env("TWILIO_ACCOUNT_SID", ACCOUNT)
        .env("TWILIO_AUTH_TOKEN", "cli-test-token")
        .output()
        .unwrap()
}

/// The tool with no Twilio variables in its environment.
fn tool_without_credentials(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_twilio-participants"))
        .args(args)
        .env_clear()
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn participant(sid: &str, identity: Option<&str>) -> Value {
    json!({
        "sid": sid, "url": format!("https://conversations.twilio.com{PATH}/{sid}"),
        "identity": identity, "role_sid": "RL0123456789abcdef0123456789abcdef",
        "attributes": "{}", "account_sid": ACCOUNT,
        "date_created": "2024-05-02T10:15:00Z", "date_updated": "2024-05-02T10:15:00Z",
        "chat_service_sid": SERVICE, "conversation_sid": CONVERSATION,
        "messaging_binding": null, "last_read_timestamp": null, "last_read_message_index": null,
    })
}

fn target<'a>(base: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--chat-service-sid",
        SERVICE,
        "--conversation-sid",
        CONVERSATION,
        "--base-url",
        base,
    ];
    args.extend_from_slice(rest);
    args
}

#[test]
fn the_demo_lists_every_participant_in_each_format() {
    let columns = tool(&["list", "--demo"]);
    assert!(columns.status.success(), "{}", stderr(&columns));
    assert_eq!(stdout(&columns).lines().count(), 341);
    let json = tool(&["list", "--demo", "-o", "json"]);
    let parsed: Vec<Value> = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed.len(), 340);
    let jsonl = tool(&["list", "--demo", "-o", "jsonl", "--limit", "25"]);
    assert_eq!(stdout(&jsonl).lines().count(), 25);
    let tsv = tool(&[
        "list",
        "--demo",
        "-o",
        "tsv",
        "--page-size",
        "7",
        "--limit",
        "20",
    ]);
    let text = stdout(&tsv);
    assert!(text.starts_with("sid\tidentity\tbinding_type\t"), "{text}");
    assert_eq!(text.lines().count(), 21);
}

#[test]
fn every_operation_runs_in_the_demo() {
    let created = tool(&["create", "--demo", "--identity", "bob", "-o", "json"]);
    assert!(created.status.success(), "{}", stderr(&created));
    let value: Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(value["identity"], "bob");
    let fetched = tool(&["fetch", "--demo", "-o", "jsonl"]);
    assert!(fetched.status.success(), "{}", stderr(&fetched));
    assert_eq!(stdout(&fetched).lines().count(), 1);
    let updated = tool(&[
        "update",
        "--demo",
        "--last-read-message-index",
        "9",
        "-o",
        "json",
    ]);
    let value: Value = serde_json::from_slice(&updated.stdout).unwrap();
    assert_eq!(value["last_read_message_index"], 9);
    let removed = tool(&["remove", "--demo"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert!(
        stdout(&removed).starts_with("removed MB"),
        "{}",
        stdout(&removed)
    );
}

#[test]
fn create_update_and_remove_send_twilio_cli_flags_as_form_fields() {
    let server = MockServer::start();
    let base = server.base_url();
    let create = server.mock(|when, then| {
        when.method(Method::POST)
            .path(PATH)
            .header("x-twilio-webhook-enabled", "true")
            .body(
                "Attributes=%7B%22a%22%3A1%7D&MessagingBinding.Address=%2B15558675310\
                 &MessagingBinding.ProxyAddress=%2B15017122661",
            );
        then.status(201).body(participant(MEMBER, None).to_string());
    });
    let mut args = vec!["create"];
    args.extend(target(
        &base,
        &[
            "--messaging-binding.address",
            "+15558675310",
            "--messaging-binding.proxy-address",
            "+15017122661",
            "--attributes",
            "{\"a\":1}",
            "--x-twilio-webhook-enabled",
            "true",
            "-o",
            "tsv",
        ],
    ));
    let output = tool(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    create.assert();
    assert!(stdout(&output).lines().nth(1).unwrap().starts_with(MEMBER));

    let update = server.mock(|when, then| {
        when.method(Method::POST)
            .path(format!("{PATH}/{MEMBER}"))
            .body("MessagingBinding.ProxyAddress=null");
        then.status(200).body(participant(MEMBER, None).to_string());
    });
    let mut args = vec!["update"];
    args.extend(target(
        &base,
        &["--sid", MEMBER, "--messaging-binding.proxy-address", "null"],
    ));
    let output = tool(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    update.assert();

    let remove = server.mock(|when, then| {
        when.method(Method::DELETE).path(format!("{PATH}/{MEMBER}"));
        then.status(204);
    });
    let mut args = vec!["remove"];
    args.extend(target(&base, &["--sid", MEMBER]));
    let output = tool(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    remove.assert();
    assert_eq!(stdout(&output), format!("removed {MEMBER}\n"));
    assert!(output.stderr.is_empty(), "{}", stderr(&output));
}

#[test]
fn bad_input_exits_2_and_sends_nothing() {
    let server = MockServer::start();
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(500);
    });
    let base = server.base_url();
    let against_the_mock: [(&str, &[&str]); 6] = [
        ("create", &[]),
        ("create", &["--identity", "a", "--attributes", "{oops"]),
        ("create", &["--identity", "a", "--role-sid", "RL1"]),
        ("fetch", &["--sid", ".."]),
        ("list", &["--page-size", "1000"]),
        (
            "update",
            &[
                "--sid",
                MEMBER,
                "--role-sid",
                "CH0123456789abcdef0123456789abcdef",
            ],
        ),
    ];
    let mut runs: Vec<Vec<&str>> = against_the_mock
        .iter()
        .map(|(command, extra)| {
            let mut args = vec![*command];
            args.extend(target(&base, extra));
            args
        })
        .collect();
    runs.push(vec![
        "list",
        "--chat-service-sid",
        "IS123",
        "--conversation-sid",
        CONVERSATION,
        "--base-url",
        &base,
    ]);
    runs.push(vec!["list", "--demo", "--chat-service-sid", SERVICE]);
    runs.push(vec!["list", "--demo", "--base-url", "http://example.com"]);
    runs.push(vec!["list", "--demo", "--region", "ie1"]);
    runs.push(vec!["list", "--demo", "--verbose"]);
    for args in runs {
        let output = tool(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    any.assert_calls(0);
}

#[test]
fn api_errors_exit_1_with_the_twilio_code_and_request_id() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(Method::POST).path(PATH);
        then.status(409)
            .header("content-type", "application/json")
            .header("twilio-request-id", "RQ1")
            .body(r#"{"code":50433,"message":"Participant already exists","more_info":"https://www.twilio.com/docs/errors/50433","status":409}"#);
    });
    let mut args = vec!["create"];
    let base = server.base_url();
    args.extend(target(&base, &["--identity", "alice"]));
    let output = tool(&args);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output).trim(),
        "error: the API answered HTTP 409 with Twilio error 50433: Participant already exists \
         (see https://www.twilio.com/docs/errors/50433) [request RQ1]"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn server_text_in_an_error_reaches_stderr_escaped() {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(Method::POST).path(PATH);
        then.status(409)
            .header("content-type", "application/json")
            .body(r#"{"code":50433,"message":"\u001b[31mred\u009b","status":409}"#);
    });
    let mut args = vec!["create"];
    let base = server.base_url();
    args.extend(target(&base, &["--identity", "alice"]));
    let output = tool(&args);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output).trim(),
        "error: the API answered HTTP 409 with Twilio error 50433: \\x1b[31mred\\u{9b}"
    );
}

#[test]
fn a_failed_list_in_json_prints_nothing_rather_than_half_an_array() {
    let server = MockServer::start();
    let base = server.base_url();
    let next = format!("{base}{PATH}?PageSize=1&Page=1&PageToken=PT1");
    server.mock(|when, then| {
        when.path(PATH).query_param_missing("PageToken");
        then.status(200).body(
            json!({
                "meta": {"key": "participants", "url": "u", "page": 0, "page_size": 1,
                         "first_page_url": "u", "next_page_url": next, "previous_page_url": null},
                "participants": [participant(MEMBER, Some("a"))],
            })
            .to_string(),
        );
    });
    server.mock(|when, then| {
        when.path(PATH).query_param("PageToken", "PT1");
        then.status(400)
            .body(r#"{"code":21481,"message":"Invalid PageToken","status":400}"#);
    });
    let mut args = vec!["list"];
    args.extend(target(&base, &["--page-size", "1", "-o", "json"]));
    let output = tool(&args);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty(), "{}", stdout(&output));
    assert!(stderr(&output).contains("21481"));
}

/// A page of `participants` with no next page, laid out as `serde_json::to_string_pretty` does.
fn pretty_page(participants: Vec<Value>) -> String {
    serde_json::to_string_pretty(&json!({
        "meta": {"key": "participants", "url": "u", "page": 0, "page_size": 50,
                 "first_page_url": "u", "next_page_url": null, "previous_page_url": null},
        "participants": participants,
    }))
    .unwrap()
}

#[test]
fn list_in_json_formats_passes_the_servers_participants_through_on_one_line_each() {
    let server = MockServer::start();
    let mut newer = participant(MEMBER, Some("line\nbreak"));
    // A key this crate does not know, as Twilio may add one: the typed output drops it.
    newer["links"] = json!({"conversation": "https://example.com/c", "n": [1, 2]});
    let other = participant("MB0123456789abcdef0123456789abcde0", None);
    let served = vec![newer, other];
    let page = pretty_page(served.clone());
    server.mock(|when, then| {
        when.path(PATH);
        then.status(200).body(&page);
    });
    let base = server.base_url();
    let mut args = vec!["list"];
    args.extend(target(&base, &["-o", "jsonl"]));
    let output = tool(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let lines: Vec<Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines, served);
    let mut args = vec!["list"];
    args.extend(target(&base, &["-o", "json"]));
    let output = tool(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        serde_json::from_slice::<Value>(&output.stdout).unwrap(),
        Value::Array(served)
    );
}

#[test]
fn list_in_jsonl_refuses_a_participant_with_a_malformed_sid_before_printing_its_page() {
    let server = MockServer::start();
    let page = pretty_page(vec![
        participant(MEMBER, Some("fine")),
        participant("MB-not-a-sid", Some("broken")),
    ]);
    server.mock(|when, then| {
        when.path(PATH);
        then.status(200).body(&page);
    });
    let base = server.base_url();
    let mut args = vec!["list"];
    args.extend(target(&base, &["-o", "jsonl"]));
    let output = tool(&args);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("participants[1].sid"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn help_version_and_no_arguments_point_the_way() {
    let help = tool(&["--help"]);
    let text = stdout(&help);
    for needle in [
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_API_KEY",
        "TWILIO_REGION",
        "TWILIO_EDGE",
        "Exit codes",
        "  3  a write was sent but its answer was lost: it may have happened. Fetch the participant",
    ] {
        assert!(text.contains(needle), "{needle} missing from --help");
    }
    for (command, required) in [
        ("list", ""),
        ("fetch", " --sid <MB…|IDENTITY>"),
        ("update", " --sid <MB…>"),
        ("remove", " --sid <MB…>"),
        (
            "create",
            " <--identity <IDENTITY>|--messaging-binding.address <ADDRESS>|",
        ),
    ] {
        let help = stdout(&tool(&[command, "--help"]));
        let usage = format!(
            "Usage: twilio-participants {command} --chat-service-sid <IS…> \
             --conversation-sid <CH…|UNIQUE_NAME>{required}"
        );
        assert!(help.contains(&usage), "{command} --help: {help}");
        assert!(
            help.contains(&format!("twilio-participants {command} --demo")),
            "{help}"
        );
        assert!(help.contains("Required unless --demo"), "{help}");
    }
    let version = tool(&["--version"]);
    assert_eq!(
        stdout(&version).trim(),
        concat!("twilio-participants ", env!("CARGO_PKG_VERSION"))
    );
    let none = tool(&[]);
    assert_eq!(none.status.code(), Some(2));
    assert_eq!(stderr(&none).lines().count(), 1);
    assert!(stderr(&none).contains("list --demo"));
}

#[test]
fn missing_credentials_suggest_the_demo_and_a_refused_base_url_comes_alone() {
    let listing = [
        "list",
        "--chat-service-sid",
        SERVICE,
        "--conversation-sid",
        CONVERSATION,
    ];
    let output = tool_without_credentials(&listing);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("TWILIO_ACCOUNT_SID") && message.contains("--demo"),
        "{message}"
    );

    let mut with_secret = listing.to_vec();
    with_secret.extend(["--base-url", "https://AC1:hunter2@proxy.example"]);
    let output = tool_without_credentials(&with_secret);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output).trim(),
        "error: invalid client configuration: base URL \"https://***@proxy.example\" must not carry credentials"
    );
}

/// Every pair of credential variables swapped: whatever the tool does (refuse a SID variable,
/// or send a request and report the answer), neither stdout nor stderr shows a secret.
#[test]
fn swapped_credential_variables_never_print_a_secret() {
    const TOKEN: &str = "f3a9c1d2e4b5a6978877665544332211";
    const SECRET: &str = "Zq8vN2xLpR5tW7yB1cD3fG6hJ9kM0sAe";
    const KEY: &str = "SK0123456789abcdef0123456789abcdef";
    let server = MockServer::start();
    server.mock(|when, then| {
        when.any_request();
        then.status(401).json_body(json!({
            "code": 20003, "message": "Authenticate", "more_info": "", "status": 401,
        }));
    });
    let base = server.base_url();
    let mut args = vec!["list"];
    args.extend(target(&base, &[]));
    let sets: [&[(&str, &str)]; 2] = [
        &[
            ("TWILIO_ACCOUNT_SID", ACCOUNT),
            ("TWILIO_AUTH_TOKEN", TOKEN),
        ],
        &[
            ("TWILIO_ACCOUNT_SID", ACCOUNT),
            ("TWILIO_AUTH_TOKEN", TOKEN),
            ("TWILIO_API_KEY", KEY),
            ("TWILIO_API_SECRET", SECRET),
        ],
    ];
    let mut refused = 0;
    for set in sets {
        for i in 0..set.len() {
            for j in i + 1..set.len() {
                let mut vars = set.to_vec();
                let (a, b) = (vars[i].1, vars[j].1);
                vars[i].1 = b;
                vars[j].1 = a;
                let output = Command::new(env!("CARGO_BIN_EXE_twilio-participants"))
                    .args(&args)
                    .env_clear()
                    .envs(vars.iter().copied())
                    .output()
                    .unwrap();
                let printed = format!("{}{}", stdout(&output), stderr(&output));
                assert_ne!(output.status.code(), Some(0), "{vars:?}: {printed}");
                for secret in [TOKEN, SECRET] {
                    assert!(!printed.contains(&secret[..5]), "{vars:?}: {printed}");
                }
                if output.status.code() == Some(2) {
                    assert!(
                        printed.starts_with("error: TWILIO_")
                            && printed.contains(" is not valid: invalid "),
                        "{printed}"
                    );
                    refused += 1;
                }
            }
        }
    }
    // A secret in a SID variable is refused before sending: the token or the API secret in
    // TWILIO_ACCOUNT_SID (once with the token only, twice with all four set), or in
    // TWILIO_API_KEY (token or secret), or the SIDs swapped with each other.
    assert_eq!(refused, 1 + 5);
}

#[test]
fn a_closed_stdout_ends_quietly() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_twilio-participants"))
        .args(["list", "--demo", "-o", "jsonl"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let mut errors = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut errors)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{errors}");
    assert!(!errors.contains("error"), "{errors}");
}

/// A server on loopback that reads each request, answers the n-th connection with the n-th
/// of `answers` (`None`: close without answering, as a connection cut after sending) and
/// records every request as its request line and body (never its headers).
struct RawServer {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl RawServer {
    fn start(answers: Vec<Option<String>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        thread::spawn(move || {
            let mut answers = answers.into_iter();
            // A failed accept ends the server: the test then sees a request missing.
            while let Ok((stream, _)) = listener.accept() {
                let mut reader = BufReader::new(stream);
                // Recorded before answering, so before the tool can see the answer.
                seen.lock().unwrap().push(read_request(&mut reader));
                if let Some(Some(answer)) = answers.next() {
                    reader.get_mut().write_all(answer.as_bytes()).unwrap();
                }
            }
        });
        Self { base, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// `METHOD PATH` and the body, separated by a newline.
fn read_request(reader: &mut impl BufRead) -> String {
    let mut request_line = String::new();
    reader.read_line(&mut request_line).unwrap();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        if header.trim_end().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let line = request_line.trim_end().trim_end_matches(" HTTP/1.1");
    format!("{line}\n{}", String::from_utf8(body).unwrap())
}

/// An HTTP answer that closes its connection.
fn answer(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn a_create_cut_after_sending_exits_3_sent_once_saying_the_participant_may_exist() {
    let server = RawServer::start(vec![None]);
    let mut args = vec!["create"];
    args.extend(target(&server.base, &["--identity", "alice"]));
    let output = tool(&args);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_eq!(server.requests(), [format!("POST {PATH}\nIdentity=alice")]);
    assert!(output.stdout.is_empty(), "{}", stdout(&output));
    // The library words the first line (its `Error::OutcomeUnknown`); the tool adds the advice.
    let message = stderr(&output);
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 2, "{message}");
    assert!(
        lines[0].starts_with("error: the create request"),
        "{message}"
    );
    assert_eq!(
        lines[1],
        "the participant may exist: look for it (fetch --sid IDENTITY, or list) before \
         creating it again"
    );
}

#[test]
fn a_create_answered_500_exits_3_sent_once_saying_the_participant_may_exist() {
    let server = MockServer::start();
    let create = server.mock(|when, then| {
        when.method(Method::POST).path(PATH).body("Identity=alice");
        then.status(500)
            .body(r#"{"code":20500,"message":"Internal Server Error","status":500}"#);
    });
    let mut args = vec!["create"];
    let base = server.base_url();
    args.extend(target(&base, &["--identity", "alice"]));
    let output = tool(&args);
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    create.assert_calls(1);
    assert!(output.stdout.is_empty(), "{}", stdout(&output));
    let message = stderr(&output);
    assert_eq!(
        message.lines().nth(1),
        Some(
            "the participant may exist: look for it (fetch --sid IDENTITY, or list) before \
             creating it again"
        ),
        "{message}"
    );
}

#[test]
fn the_create_refusal_names_the_tools_flags() {
    let server = MockServer::start();
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(500);
    });
    let mut args = vec!["create"];
    let base = server.base_url();
    args.extend(target(
        &base,
        &["--messaging-binding.proxy-address", "+15017122661"],
    ));
    let output = tool(&args);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: a participant needs --identity (chat), --messaging-binding.address (SMS, \
         WhatsApp) or --messaging-binding.projected-address (group MMS)\n"
    );
    assert!(output.stdout.is_empty());
    any.assert_calls(0);
}

#[test]
fn columns_and_tsv_escape_control_characters_in_server_text() {
    let server = MockServer::start();
    let mut hostile = participant(MEMBER, Some("\u{1b}[31mred\u{9b}2J\u{7}"));
    hostile["attributes"] = json!("{\"note\":\"a\tb\nc\\\\d\u{7f}\"}");
    hostile["messaging_binding"] = json!({
        "type": "sms\u{1b}]0;title\u{7}", "address": "+1555\u{85}0100", "proxy_address": "+1\r5"
    });
    server.mock(|when, then| {
        when.method(Method::GET).path(format!("{PATH}/{MEMBER}"));
        then.status(200).body(hostile.to_string());
    });
    let base = server.base_url();
    let run = |format: &str| {
        let mut args = vec!["fetch"];
        args.extend(target(&base, &["--sid", MEMBER, "-o", format]));
        let output = tool(&args);
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
    };
    let no_control = |text: &str, allowed: &[char]| {
        let raw: Vec<char> = text
            .chars()
            .filter(|c| c.is_control() && !allowed.contains(c))
            .collect();
        assert!(raw.is_empty(), "{raw:?} in {text:?}");
    };

    let columns = run("columns");
    no_control(&columns, &['\n']);
    assert_eq!(columns.lines().count(), 2, "{columns}");
    assert_eq!(
        columns.lines().nth(1).unwrap(),
        format!(
            "{MEMBER}  {:<8}  {:<24}  {:<34}  {:<20}  {}",
            "sms\\x1b]0;title\\x07",
            "+1555\\u{85}0100",
            "RL0123456789abcdef0123456789abcdef",
            "2024-05-02T10:15:00Z",
            "\\x1b[31mred\\u{9b}2J\\x07"
        )
    );

    let tsv = run("tsv");
    no_control(&tsv, &['\n', '\t']);
    let rows: Vec<&str> = tsv.lines().collect();
    assert_eq!(rows.len(), 2, "{tsv}");
    assert_eq!(
        rows[1].split('\t').collect::<Vec<_>>(),
        [
            MEMBER,
            "\\x1b[31mred\\u{9b}2J\\x07",
            "sms\\x1b]0;title\\x07",
            "+1555\\u{85}0100",
            "+1\\r5",
            "RL0123456789abcdef0123456789abcdef",
            "2024-05-02T10:15:00Z",
            "{\"note\":\"a\\tb\\nc\\\\\\\\d\\x7f\"}",
        ]
    );

    let decoded: Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(decoded["identity"], "\u{1b}[31mred\u{9b}2J\u{7}");
}

#[test]
fn remove_prints_its_outcome_in_each_format() {
    let server = MockServer::start();
    let remove = server.mock(|when, then| {
        when.method(Method::DELETE).path(format!("{PATH}/{MEMBER}"));
        then.status(204);
    });
    let base = server.base_url();
    for (format, printed) in [
        (
            "json",
            format!("{{\"sid\":\"{MEMBER}\",\"outcome\":\"deleted\"}}\n"),
        ),
        (
            "jsonl",
            format!("{{\"sid\":\"{MEMBER}\",\"outcome\":\"deleted\"}}\n"),
        ),
        ("tsv", format!("{MEMBER}\tdeleted\n")),
        ("columns", format!("removed {MEMBER}\n")),
    ] {
        let mut args = vec!["remove"];
        args.extend(target(&base, &["--sid", MEMBER, "-o", format]));
        let output = tool(&args);
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(stdout(&output), printed, "-o {format}");
        assert!(output.stderr.is_empty(), "{}", stderr(&output));
    }
    remove.assert_calls(4);
}

#[test]
fn a_remove_whose_answer_was_lost_and_then_found_gone_prints_already_gone() {
    let gone = answer(
        "404 Not Found",
        r#"{"code":20404,"message":"The requested resource was not found","status":404}"#,
    );
    let server = RawServer::start(vec![None, Some(gone.clone()), None, Some(gone)]);
    let delete = format!("DELETE {PATH}/{MEMBER}\n");
    for (run, (format, printed)) in [
        (
            "json",
            format!("{{\"sid\":\"{MEMBER}\",\"outcome\":\"already_gone\"}}\n"),
        ),
        (
            "columns",
            format!(
                "{MEMBER} was already gone, most likely removed by an earlier attempt whose \
                 answer was lost\n"
            ),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut args = vec!["remove"];
        args.extend(target(&server.base, &["--sid", MEMBER, "-o", format]));
        let output = tool(&args);
        assert!(output.status.success(), "{}", stderr(&output));
        assert_eq!(stdout(&output), printed, "-o {format}");
        assert_eq!(server.requests(), vec![delete.clone(); 2 * (run + 1)]);
    }
}

#[test]
fn update_and_remove_refuse_a_participant_that_is_not_a_sid() {
    let server = MockServer::start();
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(500);
    });
    let base = server.base_url();
    for command in [
        vec!["update", "--sid", "alice", "--last-read-message-index", "3"],
        vec!["remove", "--sid", "alice"],
    ] {
        let mut args = vec![command[0]];
        args.extend(target(&base, &command[1..]));
        let output = tool(&args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
        let message = stderr(&output);
        assert!(
            message.starts_with("error: invalid ") && message.lines().count() == 1,
            "{message}"
        );
    }
    any.assert_calls(0);
}

#[test]
fn an_update_with_nothing_to_change_exits_2_and_sends_nothing() {
    let server = MockServer::start();
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(200).json_body(participant(MEMBER, Some("a")));
    });
    let base = server.base_url();
    // The webhook header alone changes no field.
    for extra in [&[][..], &["--x-twilio-webhook-enabled", "false"]] {
        let mut args = vec!["update"];
        args.extend(target(&base, &["--sid", MEMBER]));
        args.extend_from_slice(extra);
        let output = tool(&args);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("nothing to change"),
            "{}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty());
    }
    let demo = tool(&["update", "--demo"]);
    assert_eq!(demo.status.code(), Some(2), "{}", stderr(&demo));
    any.assert_calls(0);
    // One field is enough.
    let mut args = vec!["update"];
    args.extend(target(&base, &["--sid", MEMBER, "--identity", "b"]));
    assert_eq!(tool(&args).status.code(), Some(0));
    any.assert_calls(1);
}

/// A malformed value in a variable names the variable, shows the value only as the crate's
/// errors do (its first characters and length), exits 2 and sends nothing.
#[test]
fn an_invalid_variable_is_named_and_its_value_never_shown() {
    const TOKEN_LIKE: &str = "f3a9c1d2e4b5a6978877665544332211";
    let server = MockServer::start();
    let any = server.mock(|when, then| {
        when.any_request();
        then.status(500);
    });
    let base = server.base_url();
    let run = |vars: &[(&str, &str)], args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_twilio-participants"))
            .args(args)
            .env_clear()
            .envs(vars.iter().copied())
            .output()
            .unwrap()
    };
    let list = ["list", "--base-url", base.as_str()];
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[
                ("TWILIO_ACCOUNT_SID", TOKEN_LIKE),
                ("TWILIO_AUTH_TOKEN", "t"),
                ("TWILIO_CHAT_SERVICE_SID", SERVICE),
                ("TWILIO_CONVERSATION_SID", CONVERSATION),
            ],
            "error: TWILIO_ACCOUNT_SID is not valid: ",
        ),
        (
            &[
                ("TWILIO_ACCOUNT_SID", ACCOUNT),
                ("TWILIO_API_KEY", TOKEN_LIKE),
                ("TWILIO_API_SECRET", "s"),
                ("TWILIO_CHAT_SERVICE_SID", SERVICE),
                ("TWILIO_CONVERSATION_SID", CONVERSATION),
            ],
            "error: TWILIO_API_KEY is not valid: ",
        ),
        (
            &[
                ("TWILIO_ACCOUNT_SID", ACCOUNT),
                ("TWILIO_AUTH_TOKEN", "t"),
                ("TWILIO_CHAT_SERVICE_SID", TOKEN_LIKE),
                ("TWILIO_CONVERSATION_SID", CONVERSATION),
            ],
            "error: TWILIO_CHAT_SERVICE_SID is not valid: ",
        ),
        (
            &[
                ("TWILIO_ACCOUNT_SID", ACCOUNT),
                ("TWILIO_AUTH_TOKEN", "t"),
                ("TWILIO_CHAT_SERVICE_SID", SERVICE),
            ],
            "error: --conversation-sid (or TWILIO_CONVERSATION_SID) is required",
        ),
    ];
    for (vars, named) in cases {
        let output = run(vars, &list);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{named}: {message}");
        assert!(message.starts_with(named), "{message}");
        assert!(!message.contains(&TOKEN_LIKE[..5]), "{message}");
    }
    any.assert_calls(0);
}

#[test]
fn a_mistyped_subcommand_or_flag_gets_a_suggestion() {
    for (args, tip) in [
        (
            &["lst"][..],
            "some similar subcommands exist: 'listen', 'list'",
        ),
        (&["remvoe"][..], "a similar subcommand exists: 'remove'"),
        (
            &["list", "--demo", "--limt", "3"][..],
            "a similar argument exists: '--limit'",
        ),
    ] {
        let output = tool(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&output).contains(tip),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef twilio-participants"),
        ("fish", "complete -c twilio-participants"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let output = tool(&["completions", shell]);
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = stdout(&output);
        assert!(script.contains(marker), "{shell}: {script}");
        // Subcommands and flags (fish names a flag without its dashes).
        for word in ["conversations", "fake", "chat-service-sid"] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    assert_eq!(tool(&["completions", "tcsh"]).status.code(), Some(2));
}

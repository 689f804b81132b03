//! `twilio-participants webhook sign|verify`, run as a user runs it: the official vectors
//! (auth token 12345), tampering refused with the reason, a participant event printed typed.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use serde_json::{json, Value};

const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
const FORM: &str = "CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
const JSON_BODY: &str = r#"{"property": "value", "boolean": true}"#;
const JSON_HASH: &str = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
/// SHA-256 of the JSON body with `true` changed to `false` (computed with sha256sum).
const TAMPERED_HASH: &str = "8cb4315e616d9ddde0c2362359507fc10d01e1732f57acadd6b5efc84daaa692";

/// The tool with `TWILIO_AUTH_TOKEN=token` (none when `None`) and `stdin` piped in.
fn tool_with(token: Option<&str>, args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_twilio-participants"));
    command
        .args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(token) = token {
        command.env("TWILIO_AUTH_TOKEN", token);
    }
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn tool(args: &[&str], stdin: &str) -> Output {
    tool_with(Some("12345"), args, stdin)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn sign(url: &str, body: &str) -> String {
    let output = tool(&["webhook", "sign", "--url", url, "--body-file", "-"], body);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    stdout(&output)
}

fn verify(url: &str, signature: &str, body: &str) -> Output {
    tool(
        &[
            "webhook",
            "verify",
            "--url",
            url,
            "--signature",
            signature,
            "--body-file",
            "-",
        ],
        body,
    )
}

/// The official vectors: (URL, form or JSON body, signature).
fn vectors() -> Vec<(String, String, &'static str)> {
    let json_url = format!("{URL}&bodySHA256={JSON_HASH}");
    vec![
        (URL.into(), FORM.into(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        (
            "https://mycompany.com:443/myapp.php?foo=1&bar=2".into(),
            FORM.into(),
            "kvajT1Ptam85bY51eRf/AJRuM3w=",
        ),
        (
            "http://mycompany.com:80/myapp.php?foo=1&bar=2".into(),
            FORM.into(),
            "0ZXoZLH/DfblKGATFgpif+LLRf4=",
        ),
        (
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2".into(),
            FORM.into(),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
        ),
        (
            URL.into(),
            "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234".into(),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
        ),
        (
            URL.into(),
            format!("{FORM}&ReasonConferenceEnded=test&Reason=Participant"),
            "vOEb5UThFn24KEfnOFLQY2AE5FY=",
        ),
        (json_url, JSON_BODY.into(), "a9nBmqA0ju/hNViExpshrM61xv4="),
        (
            format!("https://mycompany.com/myapp.php?bodySHA256={JSON_HASH}"),
            JSON_BODY.into(),
            "y77kIzt2vzLz71DgmJGsen2scGs=",
        ),
    ]
}

#[test]
fn official_vectors_sign_and_verify() {
    for (url, body, signature) in vectors() {
        assert_eq!(sign(&url, &body), format!("{signature}\n"), "{url}");
        let output = verify(&url, signature, &body);
        assert_eq!(output.status.code(), Some(0), "{url}: {}", stderr(&output));
        assert_eq!(
            stderr(&output),
            format!("verified: the signature matches {url}\n")
        );
    }
    // The port variants: the port removed, the default port added.
    let output = verify(
        "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
        "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
        FORM,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        format!("verified: the signature matches {URL}\n")
    );
    let output = verify(URL, "kvajT1Ptam85bY51eRf/AJRuM3w=", FORM);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn verify_prints_a_form_or_json_request() {
    let output = verify(URL, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", FORM);
    let printed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        printed,
        json!({
            "event": "other",
            "event_type": null,
            "params": {
                "CallSid": "CA1234567890ABCDE", "Caller": "+14158675309", "Digits": "1234",
                "From": "+14158675309", "To": "+18005551212",
            },
        })
    );
    let output = verify(
        &format!("{URL}&bodySHA256={JSON_HASH}"),
        "a9nBmqA0ju/hNViExpshrM61xv4=",
        JSON_BODY,
    );
    let printed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        printed,
        json!({"event": "json", "body": {"property": "value", "boolean": true}})
    );
}

#[test]
fn tampering_is_refused_saying_why() {
    // The URLs tried, with query values shown as `***` (a query can carry secrets).
    let mismatch = |url: &str, with_port: &str| {
        let (url, with_port) = (
            url.replace("foo=1&bar=2", "foo=***&bar=***"),
            with_port.replace("foo=1&bar=2", "foo=***&bar=***"),
        );
        format!(
            "error: the request does not verify: the signature matches none of the URLs tried \
             with 1 token(s): {url}, {with_port}\n"
        )
    };
    let with_443 = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
    // A parameter.
    let output = verify(
        URL,
        "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
        &FORM.replace("Digits=1234", "Digits=1235"),
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), mismatch(URL, with_443));
    assert_eq!(stdout(&output), "");
    // The signature.
    let output = verify(URL, "RSOYDt4T1cUTdK1PDd93/VVr8B8X", FORM);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), mismatch(URL, with_443));
    // The token.
    let output = tool_with(
        Some("54321"),
        &[
            "webhook",
            "verify",
            "--url",
            URL,
            "--signature",
            "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
            "--body-file",
            "-",
        ],
        FORM,
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), mismatch(URL, with_443));
    // A JSON body.
    let tampered = JSON_BODY.replace("true", "false");
    let output = verify(
        &format!("{URL}&bodySHA256={JSON_HASH}"),
        "a9nBmqA0ju/hNViExpshrM61xv4=",
        &tampered,
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!(
            "error: the request does not verify: the body's SHA-256 is {TAMPERED_HASH}, \
             not the URL's bodySHA256 {JSON_HASH}\n"
        )
    );
    // Signing refuses a URL whose hash is not the body's.
    let output = tool(
        &[
            "webhook",
            "sign",
            "--url",
            &format!("{URL}&bodySHA256={JSON_HASH}"),
            "--body-file",
            "-",
        ],
        &tampered,
    );
    // Nothing was received: the input is wrong (exit 2).
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("not the URL's bodySHA256"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn sign_warns_about_a_json_body_without_its_hash() {
    let output = tool(
        &["webhook", "sign", "--url", URL, "--body-file", "-"],
        JSON_BODY,
    );
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stderr(&output),
        format!(
            "warning: the body looks like JSON, but the URL has no bodySHA256; signing it as a \
             form. For a JSON body, add it to the URL's query: bodySHA256={JSON_HASH}\n"
        )
    );
}

#[test]
fn a_signed_participant_event_prints_typed() {
    let url = "https://example.com/twilio/participants";
    let form = "AccountSid=AC0123456789abcdef0123456789abcdef&EventType=onParticipantAdded\
                &Source=API&ConversationSid=CH0123456789abcdef0123456789abcdef\
                &ParticipantSid=MB0123456789abcdef0123456789abcdef&Identity=alice\
                &RoleSid=RL0123456789abcdef0123456789abcdef&Attributes=%7B%7D\
                &MessagingBinding.Address=&MessagingBinding.ProxyAddress=\
                &DateCreated=2024-05-02T10%3A15%3A00Z&RetryCount=0";
    let dir = env!("CARGO_TARGET_TMPDIR");
    let path = format!("{dir}/webhook-added.form");
    std::fs::write(&path, form).unwrap();
    let signature = tool(&["webhook", "sign", "--url", url, "--body-file", &path], "");
    let signature = stdout(&signature).trim().to_owned();
    let output = tool(
        &[
            "webhook",
            "verify",
            "--url",
            url,
            "--signature",
            &signature,
            "--body-file",
            &path,
        ],
        "",
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(
        printed,
        json!({
            "event": "onParticipantAdded",
            "account_sid": "AC0123456789abcdef0123456789abcdef",
            "conversation_sid": "CH0123456789abcdef0123456789abcdef",
            "chat_service_sid": null,
            "participant_sid": "MB0123456789abcdef0123456789abcdef",
            "source": "API",
            "client_identity": null,
            "identity": "alice",
            "role_sid": "RL0123456789abcdef0123456789abcdef",
            "attributes": "{}",
            "messaging_binding": null,
            "date_created": "2024-05-02T10:15:00Z",
            "date_updated": null,
            "date_removed": null,
            "last_read_message_index": null,
            "extra": {"RetryCount": "0"},
        })
    );
    // A bad SID in a verified event: exit 1 naming the field.
    let bad = form.replace("ParticipantSid=MB", "ParticipantSid=XX");
    std::fs::write(&path, &bad).unwrap();
    let signature = stdout(&tool(
        &["webhook", "sign", "--url", url, "--body-file", &path],
        "",
    ));
    let output = verify(url, signature.trim(), &bad);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output).lines().last().unwrap(),
        "error: the signature is valid, but the onParticipantAdded webhook's ParticipantSid is \
         invalid: invalid ParticipantSid (starting \"XX01\", 34 characters): expected the prefix `MB`"
    );
}

#[test]
fn the_token_comes_from_the_environment_only() {
    let output = tool_with(None, &["webhook", "sign", "--url", URL], "");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: set TWILIO_AUTH_TOKEN to the account's Auth Token\n"
    );
    let output = tool(&["webhook", "sign", "--url", URL, "--token", "12345"], "");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("unexpected argument '--token'"),
        "{}",
        stderr(&output)
    );
    // A GET: the URL alone.
    let output = tool(&["webhook", "sign", "--url", URL], "");
    assert_eq!(stdout(&output).len(), 29);
    let missing = tool(
        &[
            "webhook",
            "sign",
            "--url",
            URL,
            "--body-file",
            "/nonexistent/x",
        ],
        "",
    );
    assert_eq!(missing.status.code(), Some(2));
}

/// A URL that is not one is bad input (exit 2), for sign and verify alike; a signature that
/// does not match stays exit 1 (see `tampering_is_refused_saying_why`).
#[test]
fn a_malformed_url_is_bad_input() {
    for url in ["not a url", "https:///no-host", "http://a.com:80x/"] {
        let signed = tool(&["webhook", "sign", "--url", url], "");
        assert_eq!(signed.status.code(), Some(2), "{url}: {}", stderr(&signed));
        assert!(
            stderr(&signed).starts_with("error: malformed URL"),
            "{}",
            stderr(&signed)
        );
        assert_eq!(stdout(&signed), "");
        let verified = verify(url, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", FORM);
        assert_eq!(
            verified.status.code(),
            Some(2),
            "{url}: {}",
            stderr(&verified)
        );
        assert!(
            stderr(&verified).starts_with("error: malformed URL"),
            "{}",
            stderr(&verified)
        );
    }
}

//! `twilio-participants listen`, end to end: the binary on a free port receives a webhook
//! post-event, an Event Streams batch with a repeat (and the batch again, as a retry), a
//! pre-event and forged requests; it prints each participant event once, refuses the forged
//! ones with 403 and one stderr line each, and never prints the token.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use serde_json::{json, Value};
use twilio_conversations::webhook::{body_sha256, sign, AuthToken};

const TOKEN: &str = "listen-test-token-0123456789";
const ORIGIN: &str = "https://events-test.ngrok.app";
const CONVERSATION: &str = "CH0123456789abcdef0123456789abcdef";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const ALICE: &str = "MB00000000000000000000000000000001";
const BOB: &str = "MB00000000000000000000000000000002";

/// The running tool: where it listens, and its stderr lines as they come.
struct Listening {
    child: Child,
    address: String,
    stderr: mpsc::Receiver<String>,
}

/// Starts `listen --port 0` and waits for the line saying where it listens.
fn start(format: &str) -> Listening {
    let mut child = Command::new(env!("CARGO_BIN_EXE_twilio-participants"))
        .args([
            "listen",
            "--port",
            "0",
            "--public-url",
            ORIGIN,
            "-o",
            format,
        ])
        .env_clear()
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, stderr) = mpsc::channel();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    thread::spawn(move || {
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|read| read > 0) {
            let _ = lines.send(std::mem::take(&mut line));
        }
    });
    let first = stderr.recv_timeout(Duration::from_secs(60)).unwrap();
    let address = first
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("{first}"))
        .to_owned();
    Listening {
        child,
        address,
        stderr,
    }
}

impl Listening {
    /// POSTs `body` to `path_and_query` with these headers; the answer's status.
    fn post(
        &self,
        path_and_query: &str,
        content_type: &str,
        signature: Option<&str>,
        body: &[u8],
    ) -> u16 {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        let mut head = format!(
            "POST {path_and_query} HTTP/1.1\r\nhost: events-test.ngrok.app\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        if let Some(signature) = signature {
            head.push_str(&format!("X-Twilio-Signature: {signature}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("{answer}"))
    }

    /// Stops it with Ctrl-C (SIGINT); its exit code, stdout and whole stderr.
    fn stop(mut self) -> (Option<i32>, String, String) {
        let killed = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        let code = self.child.wait().unwrap().code();
        let stderr: String = self.stderr.iter().collect();
        (code, stdout, stderr)
    }
}

/// A form body and the signature Twilio would send with it to `path`.
fn webhook(path: &str, fields: &[(&str, &str)]) -> (Vec<u8>, String) {
    let body = fields
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    let signature = sign(&AuthToken::new(TOKEN), &format!("{ORIGIN}{path}"), fields);
    (body.into_bytes(), signature)
}

/// `text` form-encoded: unreserved characters as they are, every other byte as `%XX`.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A batch, the path Twilio calls (the sink path with `bodySHA256`) and its signature.
fn batch(sink_path: &str, events: &[Value]) -> (Vec<u8>, String, String) {
    let body = serde_json::to_vec(events).unwrap();
    let path = format!("{sink_path}?bodySHA256={}", body_sha256(&body));
    let signature = sign::<&str, &str>(&AuthToken::new(TOKEN), &format!("{ORIGIN}{path}"), &[]);
    (body, path, signature)
}

fn cloud_event(id: &str, kind: &str, participant: &str, time: &str) -> Value {
    json!({
        "specversion": "1.0",
        "type": format!("com.twilio.conversations.participant.{kind}"),
        "source": "AB00000000000000000000000001",
        "id": id,
        "dataschema": "https://events-schemas.twilio.com/Conversations.ParticipantAdded/2",
        "datacontenttype": "application/json",
        "time": time,
        "data": {
            "AccountSid": ACCOUNT,
            "ConversationSid": CONVERSATION,
            "ParticipantSid": participant,
            "DateCreated": "2026-01-01T00:00:00.000Z",
            "MessagingBinding": {"Address": "+15558675310", "ProxyAddress": "+15017122661", "Type": "SMS"}
        }
    })
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

#[test]
fn listen_prints_each_event_once_and_refuses_forgeries() {
    let tool = start("jsonl");

    // 1. A webhook post-event.
    let added = [
        ("AccountSid", ACCOUNT),
        ("EventType", "onParticipantAdded"),
        ("Source", "API"),
        ("ConversationSid", CONVERSATION),
        ("ParticipantSid", ALICE),
        ("Identity", "alice"),
        ("DateCreated", "2026-01-01T00:00:00Z"),
    ];
    let (body, signature) = webhook("/twilio/participants?tenant=7", &added);
    assert_eq!(
        tool.post(
            "/twilio/participants?tenant=7",
            FORM,
            Some(&signature),
            &body
        ),
        200
    );

    // 2. An Event Streams batch with a repeat, then the whole batch again (a retry).
    let events = [
        cloud_event("EV1", "added", BOB, "2026-01-01T00:00:01Z"),
        cloud_event("EV2", "updated", BOB, "2026-01-01T00:00:02Z"),
        cloud_event("EV1", "added", BOB, "2026-01-01T00:00:01Z"),
        json!({"specversion": "1.0", "type": "com.twilio.conversations.message.added", "id": "EV3", "data": {}}),
    ];
    let (body, path, signature) = batch("/twilio/events", &events);
    assert_eq!(tool.post(&path, JSON, Some(&signature), &body), 200);
    assert_eq!(tool.post(&path, JSON, Some(&signature), &body), 200);

    // 3. A pre-event: let through (200) and printed as participant.add.
    let add = [
        ("AccountSid", ACCOUNT),
        ("EventType", "onParticipantAdd"),
        ("Source", "SDK"),
        ("ClientIdentity", "carol"),
        ("ConversationSid", CONVERSATION),
        ("Identity", "carol"),
    ];
    let (add_body, add_signature) = webhook("/twilio/participants", &add);
    assert_eq!(
        tool.post(
            "/twilio/participants",
            FORM,
            Some(&add_signature),
            &add_body
        ),
        200
    );

    // 4. Forged requests: each refused with 403.
    let (form_body, _) = webhook("/twilio/participants", &added);
    let forged_form = sign(
        &AuthToken::new("not-the-token"),
        &format!("{ORIGIN}/twilio/participants"),
        &added,
    );
    assert_eq!(
        tool.post("/twilio/participants", FORM, Some(&forged_form), &form_body),
        403
    );
    assert_eq!(
        tool.post("/twilio/participants", FORM, None, &form_body),
        403
    );
    let fresh = [cloud_event("EV9", "removed", BOB, "2026-01-01T00:00:09Z")];
    let (body, path, signature) = batch("/twilio/events", &fresh);
    let mut changed = body.clone();
    let at = changed.iter().position(|&b| b == b'9').unwrap();
    changed[at] = b'8';
    assert_eq!(tool.post(&path, JSON, Some(&signature), &changed), 403);
    assert_eq!(
        tool.post("/twilio/events", JSON, Some(&signature), &body),
        403
    );
    // Signed for another origin (the tunnel's http address, not the public https one).
    let elsewhere = sign::<&str, &str>(
        &AuthToken::new(TOKEN),
        &format!("http://events-test.ngrok.app{path}"),
        &[],
    );
    assert_eq!(tool.post(&path, JSON, Some(&elsewhere), &body), 403);

    let (code, stdout, stderr) = tool.stop();
    assert_eq!(code, Some(0), "{stderr}");
    let printed: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        printed,
        [
            json!({"channel": "webhook", "type": "participant.added", "conversation_sid": CONVERSATION,
                   "participant_sid": ALICE, "identity": "alice", "time": "2026-01-01T00:00:00Z"}),
            json!({"channel": "event_streams", "type": "participant.added", "conversation_sid": CONVERSATION,
                   "participant_sid": BOB, "address": "+15558675310", "event_id": "EV1",
                   "time": "2026-01-01T00:00:01Z"}),
            json!({"channel": "event_streams", "type": "participant.updated", "conversation_sid": CONVERSATION,
                   "participant_sid": BOB, "address": "+15558675310", "event_id": "EV2",
                   "time": "2026-01-01T00:00:02Z"}),
            json!({"channel": "webhook", "type": "participant.add", "conversation_sid": CONVERSATION,
                   "identity": "carol"}),
        ],
        "{stdout}"
    );
    let refusals: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("refused"))
        .collect();
    assert_eq!(refusals.len(), 5, "{stderr}");
    assert!(refusals[0].contains("does not match"), "{}", refusals[0]);
    assert!(
        refusals[1].contains("no X-Twilio-Signature"),
        "{}",
        refusals[1]
    );
    assert!(refusals[2].contains("SHA-256"), "{}", refusals[2]);
    assert!(refusals[3].contains("no bodySHA256"), "{}", refusals[3]);
    assert!(refusals[4].contains("does not match"), "{}", refusals[4]);
    // Which URL was tried, with the query's values hidden.
    assert!(
        refusals[2].contains(&format!("{ORIGIN}/twilio/events?bodySHA256=…")),
        "{}",
        refusals[2]
    );
    assert!(!stderr.contains(&body_sha256(&body)), "{stderr}");
    assert_eq!(stderr.matches("repeat: event EV1").count(), 3, "{stderr}");
    assert!(stderr.contains("EV3: com.twilio.conversations.message.added (not a participant event"));
    assert!(
        stderr.contains("stopped: 4 events printed, 4 repeats dropped, 5 requests refused"),
        "{stderr}"
    );
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
}

#[test]
fn listen_prints_a_json_array_on_ctrl_c_and_other_formats() {
    let events = [
        cloud_event("EV1", "added", BOB, "2026-01-01T00:00:01Z"),
        cloud_event("EV2", "removed", BOB, "2026-01-01T00:00:05Z"),
        // An update made before the removal, delivered after it: printed, named late.
        cloud_event("EV3", "updated", BOB, "2026-01-01T00:00:02Z"),
    ];
    let (body, path, signature) = batch("/events", &events);

    let tool = start("json");
    assert_eq!(tool.post(&path, JSON, Some(&signature), &body), 200);
    let (code, stdout, stderr) = tool.stop();
    assert_eq!(code, Some(0), "{stderr}");
    let array: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let ids: Vec<&str> = array
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["EV1", "EV2", "EV3"]);
    assert!(
        stderr.contains(
            "late: event EV3 (participant.updated) is older than 2026-01-01T00:00:05Z seen"
        ),
        "{stderr}"
    );

    let tool = start("tsv");
    assert_eq!(tool.post(&path, JSON, Some(&signature), &body), 200);
    let (_, stdout, _) = tool.stop();
    let rows: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        rows[0],
        "channel\ttype\tconversation_sid\tparticipant_sid\tidentity\taddress\tevent_id\ttime"
    );
    assert_eq!(
        rows[1],
        format!("event_streams\tparticipant.added\t{CONVERSATION}\t{BOB}\t\t+15558675310\tEV1\t2026-01-01T00:00:01+00:00")
    );
    assert_eq!(rows.len(), 4);

    let tool = start("columns");
    assert_eq!(tool.post(&path, JSON, Some(&signature), &body), 200);
    let (_, stdout, _) = tool.stop();
    let rows: Vec<&str> = stdout.lines().collect();
    assert!(rows[0].starts_with("CHANNEL"), "{stdout}");
    assert!(
        rows[2].starts_with("event_streams  participant.removed"),
        "{stdout}"
    );
    assert!(rows[2].ends_with("EV2"), "{stdout}");
}

#[test]
fn listen_needs_the_token_from_the_environment_and_an_origin() {
    let output = Command::new(env!("CARGO_BIN_EXE_twilio-participants"))
        .args(["listen", "--port", "0", "--public-url", ORIGIN])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("TWILIO_AUTH_TOKEN"));
    let output = Command::new(env!("CARGO_BIN_EXE_twilio-participants"))
        .args([
            "listen",
            "--port",
            "0",
            "--public-url",
            "events-test.ngrok.app",
        ])
        .env_clear()
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--public-url must be the origin"));
}

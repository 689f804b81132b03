//! Helpers shared by the integration tests: fixtures from `openapi/`, participant JSON, and
//! a client pointed at a local httpmock server.
#![allow(dead_code)]

pub mod receiver;
#[cfg(feature = "testing")]
pub mod rooms;

use std::time::Duration;

use serde_json::{json, Value};
use twilio_conversations::{AccountSid, Client, Credentials, RetryPolicy, ServiceSid};

pub const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
pub const TOKEN: &str = "test-auth-token-not-a-secret";
pub const SERVICE: &str = "IS0123456789abcdef0123456789abcdef";
pub const CONVERSATION: &str = "CH0123456789abcdef0123456789abcdef";
pub const PATH: &str = "/v1/Services/IS0123456789abcdef0123456789abcdef/Conversations/CH0123456789abcdef0123456789abcdef/Participants";

/// The `Authorization` header the test credentials must produce.
pub fn basic_header() -> String {
    // base64("AC0123456789abcdef0123456789abcdef:test-auth-token-not-a-secret")
    "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjp0ZXN0LWF1dGgtdG9rZW4tbm90LWEtc2VjcmV0"
        .to_string()
}

pub fn service() -> ServiceSid {
    SERVICE.parse().unwrap()
}

pub fn credentials() -> Credentials {
    Credentials::auth_token(ACCOUNT.parse::<AccountSid>().unwrap(), TOKEN)
}

/// Retries with millisecond backoff, so fault tests stay fast.
pub fn fast_retries(n: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(n)
        .initial_delay(Duration::from_millis(2))
        .max_delay(Duration::from_millis(20))
}

/// A client for `base_url` with the test credentials, `retry` and `timeout`.
pub fn client_with(base_url: &str, retry: RetryPolicy, timeout: Duration) -> Client {
    Client::builder()
        .credentials(credentials())
        .base_url(base_url)
        .timeout(timeout)
        .retry_policy(retry)
        .build()
        .unwrap()
}

/// A client for `base_url` with the default three retries at millisecond backoff.
pub fn client(base_url: &str) -> Client {
    client_with(base_url, fast_retries(3), Duration::from_secs(5))
}

pub fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/openapi/participants.openapi.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A named example of the 200 response in the spec.
pub fn spec_example(name: &str) -> Value {
    spec()["paths"]["/v1/Services/{ChatServiceSid}/Conversations/{ConversationSid}/Participants"]
        ["get"]["responses"]["200"]["content"]["application/json"]["examples"][name]["value"]
        .clone()
}

/// A participant numbered `n`: even ones are SMS participants, odd ones chat identities.
pub fn participant(n: usize) -> Value {
    let sid = format!("MB{n:032x}");
    let sms = n.is_multiple_of(2);
    json!({
        "sid": sid,
        "url": format!("https://conversations.twilio.com{PATH}/{sid}"),
        "identity": if sms { Value::Null } else { json!(format!("user-{n}")) },
        "role_sid": "RL0123456789abcdef0123456789abcdef",
        "attributes": "{}",
        "account_sid": ACCOUNT,
        "date_created": "2024-05-02T10:15:00Z",
        "date_updated": "2024-05-02T10:15:00Z",
        "chat_service_sid": SERVICE,
        "conversation_sid": CONVERSATION,
        "messaging_binding": if sms {
            json!({"type": "sms", "address": format!("+1555{n:07}"), "proxy_address": "+15017122661"})
        } else { Value::Null },
        "last_read_timestamp": null,
        "last_read_message_index": null,
    })
}

/// A page body holding participants `range`, with `next` as `next_page_url`.
pub fn page(
    range: std::ops::Range<usize>,
    page: u64,
    page_size: u64,
    next: Option<String>,
) -> Value {
    let url = format!("https://conversations.twilio.com{PATH}?PageSize={page_size}&Page={page}");
    json!({
        "meta": {
            "key": "participants",
            "url": url,
            "page": page,
            "page_size": page_size,
            "first_page_url": format!("https://conversations.twilio.com{PATH}?PageSize={page_size}&Page=0"),
            "next_page_url": next,
            "previous_page_url": null,
        },
        "participants": range.map(participant).collect::<Vec<_>>(),
    })
}

/// Twilio's `next_page_url` for page `page` with token `token`.
pub fn next_url(host: &str, page_size: u64, page: u64, token: &str) -> String {
    format!("{host}{PATH}?PageSize={page_size}&Page={page}&PageToken={token}")
}

pub fn sids(participants: &[twilio_conversations::Participant]) -> Vec<String> {
    participants
        .iter()
        .map(|p| p.sid.as_ref().unwrap().to_string())
        .collect()
}

pub fn expected_sids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|n| format!("MB{n:032x}")).collect()
}

/// What a [`scripted_server`] does with one connection.
#[derive(Clone, Debug)]
pub enum Scripted {
    /// Read the whole request, then close without answering (the answer is lost).
    Cut,
    /// Read the whole request, then answer with this status and body.
    Answer(u16, String),
    /// Read the whole request, then write these bytes as the answer, exactly.
    Raw(String),
    /// Read the whole request, then hold the connection open without answering.
    Hold,
}

/// A raw HTTP/1.1 server on loopback (no HTTP library): connection `n` gets `script[n]`,
/// later ones the last entry. Records each request's head line and body.
pub async fn scripted_server(
    script: Vec<Scripted>,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            let step = script[n.min(script.len() - 1)].clone();
            n += 1;
            let record = record.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = [0u8; 4096];
                let head_end = loop {
                    if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => raw.extend_from_slice(&buf[..read]),
                    }
                };
                let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                while raw.len() < head_end + length {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => raw.extend_from_slice(&buf[..read]),
                    }
                }
                let line = head.lines().next().unwrap_or_default().to_owned();
                let body = String::from_utf8_lossy(&raw[head_end..]).into_owned();
                record.lock().unwrap().push((line, body));
                let reply = match step {
                    Scripted::Cut => None,
                    Scripted::Answer(status, body) => Some(format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )),
                    Scripted::Raw(reply) => Some(reply),
                    Scripted::Hold => return std::future::pending().await,
                };
                if let Some(reply) = reply {
                    let _ = socket.write_all(reply.as_bytes()).await;
                }
                let _ = socket.shutdown().await;
            });
        }
    });
    (base, seen)
}

/// A participant body as create, fetch and update answer it.
pub fn participant_body(n: usize) -> String {
    participant(n).to_string()
}

/// Twilio's error body.
pub fn error_body(status: u16, code: i64, message: &str) -> String {
    json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status,
    })
    .to_string()
}

/// Proptest settings: `default` cases, or `FUZZ_CASES` (the longer run of `cargo xtask fuzz`).
pub fn cases(default: u32) -> proptest::test_runner::Config {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

/// A server that accepts connections and never answers; abort the handle to stop it.
pub async fn silent_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    (base, hold)
}

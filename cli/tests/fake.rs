//! `twilio-participants fake` driven by other processes, as a newcomer's program or another
//! language's tests would: the `export` lines it prints, state kept across commands, a
//! hand-written Basic-auth request, and a clean stop on SIGTERM.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, Output, Stdio},
};

use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_twilio-participants");

/// A running `fake`, killed if the test ends early; its printed variables.
struct Fake {
    child: Child,
    exports: HashMap<String, String>,
    /// The first line it printed (the `unset` of the API Key variables).
    unset: String,
}

impl Fake {
    /// Starts `fake --port 0` and reads its lines until the last `export`.
    fn start() -> Fake {
        let mut child = Command::new(BIN)
            .args(["fake", "--port", "0"])
            .env_clear()
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut fake = Fake {
            child,
            exports: HashMap::new(),
            unset: lines.next().unwrap().unwrap(),
        };
        while fake.exports.len() < 5 {
            let line = lines
                .next()
                .expect("fake ended before its exports")
                .unwrap();
            let (name, value) = line
                .strip_prefix("export ")
                .and_then(|pair| pair.split_once('='))
                .unwrap_or_else(|| panic!("not an export line: {line}"));
            fake.exports.insert(name.to_owned(), value.to_owned());
        }
        fake
    }

    fn var(&self, name: &str) -> &str {
        &self.exports[name]
    }

    /// Runs the tool with only the printed variables in its environment: no flag names
    /// the server, the service or the conversation.
    fn tool(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env_clear()
            .envs(&self.exports)
            .output()
            .unwrap()
    }

    /// A request written by hand, as curl sends it: `GET path` with Basic auth; returns
    /// the status line and the body.
    fn get(&self, path: &str, user: &str, password: &str) -> (String, String) {
        let address = self.var("TWILIO_BASE_URL").trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).unwrap();
        let credentials = STANDARD.encode(format!("{user}:{password}"));
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {credentials}\r\n\
             Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        (head.lines().next().unwrap().to_owned(), body.to_owned())
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_printed_variables_point_the_tool_at_the_fake_and_its_demo_data() {
    let fake = Fake::start();
    assert_eq!(fake.unset, "unset TWILIO_API_KEY TWILIO_API_SECRET");
    let base_url = fake.var("TWILIO_BASE_URL");
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    assert_ne!(base_url, "http://127.0.0.1:0");
    assert_eq!(
        fake.var("TWILIO_ACCOUNT_SID"),
        twilio_conversations::testing::FAKE_ACCOUNT_SID
    );
    assert_eq!(
        fake.var("TWILIO_AUTH_TOKEN"),
        twilio_conversations::testing::FAKE_AUTH_TOKEN
    );
    assert!(fake.var("TWILIO_CHAT_SERVICE_SID").starts_with("IS"));
    assert!(fake.var("TWILIO_CONVERSATION_SID").starts_with("CH"));
    // The demo conversation and agent-7's conversations are there.
    let listed = json(&fake.tool(&["list", "-o", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 340);
    let found = json(&fake.tool(&["conversations", "--identity", "agent-7", "-o", "json"]));
    assert_eq!(found.as_array().unwrap().len(), 5);
}

#[test]
fn state_lasts_across_commands_and_a_basic_auth_request_sees_it() {
    let fake = Fake::start();
    let created = json(&fake.tool(&["create", "--identity", "bob", "-o", "json"]));
    let sid = created["sid"].as_str().unwrap();
    let fetched = json(&fake.tool(&["fetch", "--sid", "bob", "-o", "json"]));
    assert_eq!(fetched["sid"], sid);
    assert_eq!(fetched["identity"], "bob");
    let listed = json(&fake.tool(&["list", "-o", "json"]));
    assert_eq!(listed.as_array().unwrap().len(), 341);

    let path = format!(
        "/v1/Services/{}/Conversations/{}/Participants/{sid}",
        fake.var("TWILIO_CHAT_SERVICE_SID"),
        fake.var("TWILIO_CONVERSATION_SID")
    );
    let (status, body) = fake.get(
        &path,
        fake.var("TWILIO_ACCOUNT_SID"),
        fake.var("TWILIO_AUTH_TOKEN"),
    );
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let participant: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(participant["identity"], "bob");
    let (status, _) = fake.get(&path, fake.var("TWILIO_ACCOUNT_SID"), "wrong-token");
    assert!(status.starts_with("HTTP/1.1 401"), "{status}");

    // A removal is seen by the next command too.
    let removed = fake.tool(&["remove", "--sid", sid]);
    assert_eq!(removed.status.code(), Some(0));
    let gone = fake.tool(&["fetch", "--sid", sid]);
    assert_eq!(gone.status.code(), Some(1));
}

#[cfg(unix)]
#[test]
fn sigterm_stops_it_cleanly() {
    let mut fake = Fake::start();
    let killed = Command::new("kill")
        .args(["-TERM", &fake.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = fake.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[test]
fn a_port_in_use_is_refused_with_exit_2() {
    let fake = Fake::start();
    let port = fake.var("TWILIO_BASE_URL").rsplit(':').next().unwrap();
    let second = Command::new(BIN)
        .args(["fake", "--port", port])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2));
    let message = String::from_utf8_lossy(&second.stderr);
    assert!(message.contains("--port"), "{message}");
    assert!(second.stdout.is_empty());
}

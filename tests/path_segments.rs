//! Every name placed in a URL path segment either arrives as exactly one segment that
//! decodes back to the caller's text, or is refused before anything is sent.
//!
//! The server here is a raw TCP listener that records the request line as bytes; the
//! segments are split and percent-decoded by hand, not by the URL library that built them.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use twilio_conversations::{Client, Error, RetryPolicy};

/// `%XX` → byte, written here rather than borrowed from a URL library.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What the server saw for one fetch of `conversation` / `participant`: the two decoded
/// segments, or `None` when the path did not have the resource's shape.
fn segments(request_line: &str) -> Option<(String, String)> {
    let target = request_line
        .strip_prefix("GET ")?
        .strip_suffix(" HTTP/1.1")?;
    let path = target.split(['?', '#']).next()?;
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["", "v1", "Services", service, "Conversations", conversation, "Participants", participant]
            if *service == SERVICE =>
        {
            Some((percent_decode(conversation)?, percent_decode(participant)?))
        }
        _ => None,
    }
}

struct Probe {
    runtime: tokio::runtime::Runtime,
    client: Client,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl Probe {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (base, seen) = runtime.block_on(scripted_server(vec![Scripted::Answer(
            200,
            participant_body(1),
        )]));
        let client = client_with(&base, RetryPolicy::none(), Duration::from_secs(5));
        Self {
            runtime,
            client,
            seen,
        }
    }

    /// Fetches `participant` of `conversation`: `Ok` with the request line the server
    /// read, or the local refusal (with nothing sent).
    fn fetch(&self, conversation: &str, participant: &str) -> Result<String, Error> {
        let before = self.seen.lock().unwrap().len();
        let result = self.runtime.block_on(
            self.client
                .participants(&service(), conversation)
                .fetch(participant),
        );
        let seen = self.seen.lock().unwrap();
        match result {
            Ok(_) => Ok(seen.last().unwrap().0.clone()),
            Err(error) => {
                assert_eq!(seen.len(), before, "a refused name sent a request: {error}");
                Err(error)
            }
        }
    }
}

fn judge(probe: &Probe, conversation: &str, participant: &str) -> Result<(), TestCaseError> {
    match probe.fetch(conversation, participant) {
        Ok(line) => {
            let got = segments(&line);
            prop_assert_eq!(
                got,
                Some((conversation.to_owned(), participant.to_owned())),
                "request line {:?}",
                line
            );
        }
        Err(Error::InvalidInput { .. }) => {
            let refusable = |s: &str| s.is_empty() || s == "." || s == ".." || s.contains('\\');
            prop_assert!(
                refusable(conversation) || refusable(participant),
                "{:?} / {:?} refused",
                conversation,
                participant
            );
        }
        Err(other) => prop_assert!(false, "unexpected error {other:?}"),
    }
    Ok(())
}

/// Strings built from the characters URL parsers and servers treat specially.
fn tricky() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("/".to_owned()),
        Just("\\".to_owned()),
        Just("%".to_owned()),
        Just("%2e".to_owned()),
        Just("%2F".to_owned()),
        Just("?".to_owned()),
        Just("#".to_owned()),
        Just(";".to_owned()),
        Just("\t".to_owned()),
        Just("\n".to_owned()),
        Just(" ".to_owned()),
        Just("+".to_owned()),
        Just("@".to_owned()),
        Just("é".to_owned()),
        "[a-z]{1,3}",
    ];
    prop::collection::vec(pieces, 0..5).prop_map(|p| p.concat())
}

#[test]
fn the_refused_class_is_refused() {
    let probe = Probe::new();
    for name in ["", ".", "..", "\\", "a\\..\\b", "..\\"] {
        assert!(matches!(
            probe.fetch(name, "alice"),
            Err(Error::InvalidInput {
                parameter: "ConversationSid",
                ..
            })
        ));
        assert!(matches!(
            probe.fetch(CONVERSATION, name),
            Err(Error::InvalidInput {
                parameter: "Sid",
                ..
            })
        ));
    }
    // Close relatives of the refused class are sent, and arrive intact.
    for name in [
        "...", "%2e%2e", ".%2e", "./", "/..", "a/../b", "?x=1", "#top",
    ] {
        let line = probe.fetch(name, name).unwrap();
        assert_eq!(
            segments(&line),
            Some((name.to_owned(), name.to_owned())),
            "{line}"
        );
    }
}

proptest! {
    #![proptest_config(cases(500))]

    #[test]
    fn any_string_is_one_segment_or_refused(conversation in "\\PC{0,12}", participant in "\\PC{0,12}") {
        thread_local!(static PROBE: Probe = Probe::new());
        PROBE.with(|probe| judge(probe, &conversation, &participant))?;
    }

    #[test]
    fn tricky_strings_are_one_segment_or_refused(conversation in tricky(), participant in tricky()) {
        thread_local!(static PROBE: Probe = Probe::new());
        PROBE.with(|probe| judge(probe, &conversation, &participant))?;
    }
}

//! Create, fetch, update and delete: the exact request each sends, what is refused before
//! sending, and the retry policy that keeps a write from happening twice.

mod common;

use std::time::Duration;

use common::*;
use httpmock::{Method, MockServer};
use serde_json::json;
use twilio_conversations::{
    testing::FakeServer, Client, ConversationSid, Deletion, Error, ParticipantSid, RetryPolicy,
    ServiceSid, WriteOperation,
};

const MEMBER: &str = "MB00000000000000000000000000000007";

fn one_path(participant: &str) -> String {
    format!("{PATH}/{participant}")
}

#[tokio::test]
async fn create_sends_the_form_byte_for_byte() {
    let server = MockServer::start_async().await;
    let sms = server
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path(PATH)
                .header("authorization", basic_header())
                .header("content-type", "application/x-www-form-urlencoded")
                .header_missing("x-twilio-webhook-enabled")
                .body(
                    "MessagingBinding.Address=%2B15558675310\
                     &MessagingBinding.ProxyAddress=%2B15017122661",
                );
            then.status(201).body(participant_body(0));
        })
        .await;
    let created = client(&server.base_url())
        .participants(&service(), CONVERSATION)
        .create()
        .address("+15558675310")
        .proxy_address("+15017122661")
        .send()
        .await
        .unwrap();
    sms.assert_async().await;
    assert_eq!(
        created.sid.unwrap().as_str(),
        "MB00000000000000000000000000000000"
    );

    let chat = server
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path(PATH)
                .header("x-twilio-webhook-enabled", "false")
                .body(
                    "Attributes=%7B%22nickname%22%3A%22Al%22%2C%22vip%22%3Atrue%7D\
                     &DateCreated=2024-05-02T10%3A15%3A00Z&Identity=alice+w\
                     &MessagingBinding.ProjectedAddress=%2B15017122662\
                     &RoleSid=RL0123456789abcdef0123456789abcdef",
                );
            then.status(201).body(participant_body(1));
        })
        .await;
    let typed: ConversationSid = CONVERSATION.parse().unwrap();
    let created = client(&server.base_url())
        .participants(&service(), &typed)
        .create()
        .identity("alice w")
        .projected_address("+15017122662")
        .attributes(&json!({"nickname": "Al", "vip": true}))
        .role_sid("RL0123456789abcdef0123456789abcdef")
        .date_created("2024-05-02T10:15:00Z".parse().unwrap())
        .webhook_enabled(false)
        .await
        .unwrap();
    chat.assert_async().await;
    assert_eq!(created.identity.as_deref(), Some("user-1"));
}

#[tokio::test]
async fn fetch_update_and_delete_send_what_they_name() {
    // An identity is one percent-encoded segment, as the raw request line shows.
    let (raw, seen) = scripted_server(vec![Scripted::Answer(200, participant_body(3))]).await;
    let fetched = client(&raw)
        .participants(&service(), CONVERSATION)
        .fetch("alice@example.com/x")
        .await
        .unwrap();
    assert_eq!(fetched.identity.as_deref(), Some("user-3"));
    assert_eq!(
        seen.lock().unwrap()[0].0,
        format!("GET {} HTTP/1.1", one_path("alice@example.com%2Fx"))
    );

    let server = MockServer::start_async().await;
    let update = server
        .mock_async(|when, then| {
            when.method(Method::POST)
                .path(one_path(MEMBER))
                .header("x-twilio-webhook-enabled", "true")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    "LastReadMessageIndex=7&LastReadTimestamp=2024-05-04T09%3A30%3A00Z\
                     &MessagingBinding.ProxyAddress=null",
                );
            then.status(200).body(participant_body(7));
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            when.method(Method::DELETE)
                .path(one_path(MEMBER))
                .header_missing("x-twilio-webhook-enabled");
            then.status(204);
        })
        .await;
    let participants = client(&server.base_url()).participants(&service(), CONVERSATION);
    let member: ParticipantSid = MEMBER.parse().unwrap();
    let updated = participants
        .update(&member)
        .clear_proxy_address()
        .last_read_message_index(7)
        .last_read_timestamp("2024-05-04T09:30:00Z")
        .webhook_enabled(true)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.sid.unwrap(), member);
    assert_eq!(
        participants.delete(member).await.unwrap(),
        Deletion::Deleted
    );
    update.assert_async().await;
    delete.assert_async().await;
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_sent() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await;
    let participants = client(&server.base_url()).participants(&service(), CONVERSATION);
    let refusals: Vec<(Error, &str)> = vec![
        (participants.create().send().await.unwrap_err(), "Identity"),
        (
            participants
                .create()
                .identity("a")
                .role_sid("RL123")
                .send()
                .await
                .unwrap_err(),
            "RoleSid",
        ),
        (
            participants
                .create()
                .identity("a")
                .attributes_text("{nope")
                .send()
                .await
                .unwrap_err(),
            "Attributes",
        ),
        (
            participants
                .update(MEMBER)
                .attributes_text("")
                .send()
                .await
                .unwrap_err(),
            "Attributes",
        ),
        (
            participants
                .update(MEMBER)
                .role_sid("CH0123456789abcdef0123456789abcdef")
                .await
                .unwrap_err(),
            "RoleSid",
        ),
        (participants.fetch("").await.unwrap_err(), "Sid"),
        (participants.fetch("..").await.unwrap_err(), "Sid"),
        (
            participants.delete("a\\b").await.unwrap_err(),
            "ParticipantSid",
        ),
        (
            participants.update(".").await.unwrap_err(),
            "ParticipantSid",
        ),
        // Update and delete take the MB… SID only: an identity never leaves the machine.
        (
            participants.update("alice").await.unwrap_err(),
            "ParticipantSid",
        ),
        (
            participants.delete("alice").await.unwrap_err(),
            "ParticipantSid",
        ),
        (
            client(&server.base_url())
                .participants(&service(), "")
                .create()
                .identity("a")
                .await
                .unwrap_err(),
            "ConversationSid",
        ),
    ];
    for (error, parameter) in refusals {
        assert!(error.is_local(), "{error:?}");
        match &error {
            Error::InvalidInput { parameter: p, .. } => assert_eq!(*p, parameter, "{error}"),
            Error::InvalidSid(sid) => assert_eq!(sid.kind, parameter, "{error}"),
            other => panic!("expected a local refusal, got {other:?}"),
        }
    }
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_sent_once_and_reported_as_unknown() {
    let (base, seen) = scripted_server(vec![
        Scripted::Cut,
        Scripted::Answer(201, participant_body(0)),
    ])
    .await;
    let err = client(&base)
        .participants(&service(), CONVERSATION)
        .create()
        .identity("alice")
        .await
        .unwrap_err();
    match &err {
        Error::OutcomeUnknown {
            operation: WriteOperation::Create,
            attempts: 1,
            ..
        } => {}
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
    assert!(!err.is_retryable() && !err.is_local());
    assert!(err.to_string().contains("outcome is unknown"), "{err}");
    assert!(
        matches!(err, Error::OutcomeUnknown { ref cause, .. } if matches!(**cause, Error::Transport { .. })),
        "the cut connection is kept as the cause: {err:?}"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "the create was sent once: {seen:?}");
    assert_eq!(seen[0].1, "Identity=alice");
}

#[tokio::test]
async fn a_create_times_out_as_unknown_but_an_update_is_retried() {
    let (base, seen) = scripted_server(vec![
        Scripted::Cut,
        Scripted::Answer(200, participant_body(7)),
    ])
    .await;
    let updated = client(&base)
        .participants(&service(), CONVERSATION)
        .update(MEMBER)
        .identity("bob")
        .await
        .unwrap();
    assert_eq!(updated.identity.as_deref(), Some("user-7"));
    assert_eq!(seen.lock().unwrap().len(), 2, "an update is repeated");

    // A server that reads the create and never answers: the attempt timeout fires after
    // sending, and the create is not sent again.
    let (base, seen) = scripted_server(vec![Scripted::Hold]).await;
    let err = client_with(&base, fast_retries(3), Duration::from_secs(1))
        .participants(&service(), CONVERSATION)
        .create()
        .identity("alice")
        .await
        .unwrap_err();
    let (cause, status, sid, attempts) = unknown(&err, WriteOperation::Create);
    assert_eq!((status, sid, attempts), (None, None, 1));
    assert_eq!(cause, "the attempt timeout of 1s fired after 1 attempt");
    assert_eq!(
        requests(&seen),
        vec![(create_line(), "Identity=alice".to_owned())]
    );
}

#[tokio::test]
async fn a_create_is_retried_after_429_and_a_refused_connection_but_not_after_a_5xx() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.method(Method::POST).path(PATH).body("Identity=first");
            then.status(429).header("retry-after", "0").body(error_body(
                429,
                20429,
                "Too Many Requests",
            ));
        })
        .await;
    let err = client(&server.base_url())
        .participants(&service(), CONVERSATION)
        .create()
        .identity("first")
        .await
        .unwrap_err();
    limited.assert_calls_async(4).await;
    assert_eq!(err.status(), Some(429));

    let failing = server
        .mock_async(|when, then| {
            when.method(Method::POST).path(PATH).body("Identity=second");
            then.status(503)
                .body(error_body(503, 20503, "Service unavailable"));
        })
        .await;
    let err = client(&server.base_url())
        .participants(&service(), CONVERSATION)
        .create()
        .identity("second")
        .await
        .unwrap_err();
    failing.assert_calls_async(1).await;
    assert!(
        matches!(
            err,
            Error::OutcomeUnknown {
                status: Some(503),
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );

    // Nothing listens: the connection is refused before anything is sent, so retrying is safe.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let err = client(&base)
        .participants(&service(), CONVERSATION)
        .create()
        .identity("third")
        .await
        .unwrap_err();
    match &err {
        Error::Transport {
            attempts: 4, cause, ..
        } => {
            assert!(cause.to_lowercase().contains("refused"), "{cause}");
            assert_eq!(
                err.to_string(),
                format!("could not reach the API ({cause}) after 4 attempts")
            );
        }
        other => panic!("expected Transport after 4 attempts, got {other:?}"),
    }
}

#[tokio::test]
async fn a_delete_retried_after_a_lost_answer_that_meets_404_is_done() {
    let gone = Scripted::Answer(404, error_body(404, 20404, "not found"));
    let (base, seen) = scripted_server(vec![Scripted::Cut, gone.clone()]).await;
    let outcome = client(&base)
        .participants(&service(), CONVERSATION)
        .delete(MEMBER)
        .await
        .unwrap();
    assert_eq!(outcome, Deletion::AlreadyGone);
    assert_eq!(seen.lock().unwrap().len(), 2);

    // A 404 on the first attempt is an error: the participant was never there.
    let (base, _) = scripted_server(vec![gone]).await;
    let err = client(&base)
        .participants(&service(), CONVERSATION)
        .delete(MEMBER)
        .await
        .unwrap_err();
    assert_eq!((err.status(), err.twilio_code()), (Some(404), Some(20404)));
}

#[tokio::test]
async fn a_retry_after_longer_than_allowed_is_returned_at_once_with_the_wait() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.path(PATH);
            then.status(429)
                .header("retry-after", "60")
                .header("twilio-request-id", "RQ0123456789abcdef0123456789abcdef")
                .body(error_body(429, 20429, "Too Many Requests"));
        })
        .await;
    let client = client_with(
        &server.base_url(),
        fast_retries(3).max_retry_after(Duration::from_secs(5)),
        Duration::from_secs(5),
    );
    let err = client
        .participants(&service(), CONVERSATION)
        .list()
        .await
        .unwrap_err();
    limited.assert_calls_async(1).await;
    let Error::Api(api) = &err else {
        panic!("expected an API error, got {err:?}")
    };
    assert_eq!(api.retry_after, Some(Duration::from_secs(60)));
    assert_eq!(
        api.request_id.as_deref(),
        Some("RQ0123456789abcdef0123456789abcdef")
    );
    assert!(api.is_retryable() && err.is_retryable());
    assert!(
        err.to_string().ends_with(
            "; the server asks to retry after 60 s [request RQ0123456789abcdef0123456789abcdef]"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn the_call_deadline_bounds_retries_and_waits() {
    let (base, hold) = silent_server().await;
    let client = Client::builder()
        .credentials(credentials())
        .base_url(&base)
        .timeout(Duration::from_secs(30))
        .call_timeout(Duration::from_secs(1))
        .retry_policy(RetryPolicy::default())
        .build()
        .unwrap();
    let err = client
        .participants(&service(), CONVERSATION)
        .fetch(MEMBER)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout { kind: twilio_conversations::TimeoutKind::Call, limit, attempts: 1 }
                if limit == Duration::from_secs(1)
        ),
        "{err:?}"
    );
    hold.abort();
}

#[tokio::test]
async fn a_tls_failure_is_not_retried() {
    use tokio::io::AsyncWriteExt;
    // Answers a TLS ClientHello with plain HTTP: the handshake fails the same way each time.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let https = format!("https://{}", listener.local_addr().unwrap());
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    let server = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        }
    });
    let err = client(&https)
        .participants(&service(), CONVERSATION)
        .fetch(MEMBER)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
    server.abort();
}

#[tokio::test]
async fn the_fake_keeps_state_like_twilio() {
    let fake = FakeServer::start().await.unwrap();
    let service: ServiceSid = SERVICE.parse().unwrap();
    fake.add_generated(&service, "support-room-7", 3, 1);
    let client = Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let participants = client.participants(&service, "support-room-7");
    let alice = participants.create().identity("alice").await.unwrap();
    let sid = alice.sid.clone().unwrap();
    assert!(alice
        .url
        .as_deref()
        .unwrap()
        .ends_with(&format!("/Participants/{sid}")));
    assert_eq!(alice.attributes.as_deref(), Some("{}"));
    let again = participants.create().identity("alice").await.unwrap_err();
    assert_eq!(
        (again.status(), again.twilio_code()),
        (Some(409), Some(50433))
    );

    let sms = participants
        .create()
        .address("+15558675310")
        .proxy_address("+15017122661")
        .await
        .unwrap();
    let binding = sms.messaging_binding.clone().unwrap();
    assert_eq!(binding.address.as_deref(), Some("+15558675310"));
    let twice = participants
        .create()
        .address("+15558675310")
        .proxy_address("+15017122661")
        .await
        .unwrap_err();
    assert_eq!(
        (twice.status(), twice.twilio_code()),
        (Some(409), Some(50416))
    );

    assert_eq!(participants.fetch("alice").await.unwrap(), alice);
    let updated = participants
        .update(&sid)
        .last_read_message_index(4)
        .date_updated("2030-01-01T00:00:00Z".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(updated.last_read_message_index, Some(4));
    assert_eq!(
        updated.identity, alice.identity,
        "fields not sent do not change"
    );
    assert_ne!(updated.date_updated, alice.date_updated);
    let cleared = participants
        .update(sms.sid.as_ref().unwrap())
        .clear_proxy_address()
        .await
        .unwrap();
    assert_eq!(cleared.messaging_binding.unwrap().proxy_address, None);

    assert_eq!(participants.list().await.unwrap().len(), 5);
    assert_eq!(participants.delete(&sid).await.unwrap(), Deletion::Deleted);
    let gone = participants.delete(&sid).await.unwrap_err();
    assert_eq!(
        (gone.status(), gone.twilio_code()),
        (Some(404), Some(20404))
    );
    assert_eq!(participants.list().await.unwrap().len(), 4);

    let requests = fake.requests();
    let first_create = &requests[0];
    assert_eq!(first_create.method, "POST");
    assert_eq!(
        first_create.form(),
        [("Identity".to_owned(), "alice".to_owned())]
    );
    assert_eq!(
        first_create.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
}

#[tokio::test]
async fn scripted_faults_apply_to_writes_and_can_be_cleared() {
    let fake = FakeServer::start().await.unwrap();
    let service: ServiceSid = SERVICE.parse().unwrap();
    fake.add_generated(&service, CONVERSATION, 1, 1);
    let client = Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .retry_policy(fast_retries(2))
        .build()
        .unwrap();
    let participants = client.participants(&service, CONVERSATION);
    fake.inject(twilio_conversations::testing::Fault::Drop, 1);
    let err = participants.create().identity("x").await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    fake.fail_next(503, None);
    fake.fail_next(503, None);
    fake.fail_next(503, None);
    assert_eq!(fake.clear_faults(), 3);
    assert_eq!(fake.clear_faults(), 0);
    assert!(participants.create().identity("y").await.is_ok());
}

/// The parts of an [`Error::OutcomeUnknown`] (its cause as text), or a panic naming what
/// came instead; also checks that such an error is never offered as retryable and that its
/// `source()` is its cause.
fn unknown(err: &Error, operation: WriteOperation) -> (String, Option<u16>, Option<String>, u32) {
    use std::error::Error as _;
    match err {
        Error::OutcomeUnknown {
            operation: op,
            cause,
            status,
            sid,
            attempts,
            ..
        } if *op == operation => {
            assert!(!err.is_retryable() && !err.is_local(), "{err:?}");
            assert_eq!(err.status(), *status);
            assert_eq!(
                err.to_string(),
                format!(
                    "the {operation} request was sent but its outcome is unknown; check \
                     whether it took effect (fetch the participant) before trying again"
                )
            );
            let source = err.source().expect("the cause is the source");
            assert_eq!(source.to_string(), cause.to_string());
            (
                cause.to_string(),
                *status,
                sid.as_ref().map(ToString::to_string),
                *attempts,
            )
        }
        other => panic!("expected OutcomeUnknown for {operation}, got {other:?}"),
    }
}

fn create_line() -> String {
    format!("POST {PATH} HTTP/1.1")
}

/// The request lines and bodies a scripted server saw.
fn requests(seen: &std::sync::Mutex<Vec<(String, String)>>) -> Vec<(String, String)> {
    seen.lock().unwrap().clone()
}

async fn create_alice(base: &str) -> Result<twilio_conversations::Participant, Error> {
    client(base)
        .participants(&service(), CONVERSATION)
        .create()
        .identity("alice")
        .await
}

#[tokio::test]
async fn a_create_answered_500_is_sent_once_and_unknown_with_the_status() {
    let (base, seen) = scripted_server(vec![Scripted::Answer(
        500,
        error_body(500, 20500, "Internal Server Error"),
    )])
    .await;
    let err = create_alice(&base).await.unwrap_err();
    let (cause, status, sid, attempts) = unknown(&err, WriteOperation::Create);
    assert_eq!((status, sid, attempts), (Some(500), None, 1));
    assert!(cause.starts_with("the API answered HTTP 500"), "{cause}");
    assert_eq!(
        requests(&seen),
        vec![(create_line(), "Identity=alice".to_owned())]
    );
}

#[tokio::test]
async fn a_create_answered_with_a_success_it_cannot_read_is_unknown_with_the_sid() {
    let mut undecodable = participant(4);
    undecodable["date_created"] = json!(7);
    let mut oversized = participant(4).to_string();
    oversized.insert_str(1, &format!("\"pad\":\"{}\",", "x".repeat(17 * 1024 * 1024)));
    let cases = [
        // A 201 whose body does not decode: the participant exists, and its SID is known.
        (
            Scripted::Answer(201, undecodable.to_string()),
            Some(201),
            Some("MB00000000000000000000000000000004"),
            "could not decode the response body at `date_created`",
        ),
        // A 200 where create answers 201: something happened; the body still names it.
        (
            Scripted::Answer(200, participant_body(4)),
            Some(200),
            Some("MB00000000000000000000000000000004"),
            "the API answered HTTP 200",
        ),
        // A 201 over the body limit (17 MiB declared): not read, so no SID.
        (
            Scripted::Answer(201, oversized),
            Some(201),
            None,
            "the HTTP 201 response body exceeds 16777216 bytes",
        ),
    ];
    for (answer, want_status, want_sid, want_cause) in cases {
        let (base, seen) = scripted_server(vec![answer]).await;
        let err = create_alice(&base).await.unwrap_err();
        let (cause, status, sid, attempts) = unknown(&err, WriteOperation::Create);
        assert_eq!(
            (status, sid.as_deref(), attempts),
            (want_status, want_sid, 1),
            "{err:?}"
        );
        assert!(cause.starts_with(want_cause), "{cause}");
        assert_eq!(
            requests(&seen),
            vec![(create_line(), "Identity=alice".to_owned())]
        );
    }
}

#[tokio::test]
async fn a_create_cut_after_sending_is_unknown_without_a_status() {
    let (base, seen) = scripted_server(vec![Scripted::Cut]).await;
    let err = create_alice(&base).await.unwrap_err();
    let (_, status, sid, attempts) = unknown(&err, WriteOperation::Create);
    assert_eq!((status, sid, attempts), (None, None, 1));
    assert_eq!(
        requests(&seen),
        vec![(create_line(), "Identity=alice".to_owned())]
    );
}

/// Creates `alice` at `base` with a call deadline (1 s) far shorter than an attempt's
/// timeout (60 s); the error it must end with.
async fn create_alice_under_a_one_second_deadline(base: &str) -> Error {
    Client::builder()
        .credentials(credentials())
        .base_url(base)
        .timeout(Duration::from_secs(60))
        .call_timeout(Duration::from_secs(1))
        .retry_policy(fast_retries(3))
        .build()
        .unwrap()
        .participants(&service(), CONVERSATION)
        .create()
        .identity("alice")
        .await
        .unwrap_err()
}

#[tokio::test]
async fn the_call_deadline_firing_with_a_create_on_the_wire_is_unknown() {
    // The server reads the request and never answers: the call deadline (1 s) fires long
    // before the attempt timeout (60 s), with the create on the wire.
    let (base, seen) = scripted_server(vec![Scripted::Hold]).await;
    let err = create_alice_under_a_one_second_deadline(&base).await;
    let (cause, status, sid, attempts) = unknown(&err, WriteOperation::Create);
    assert_eq!((status, sid, attempts), (None, None, 1));
    assert_eq!(cause, "the call timeout of 1s fired after 1 attempt");
    assert_eq!(
        requests(&seen),
        vec![(create_line(), "Identity=alice".to_owned())]
    );
}

#[tokio::test]
async fn an_unknown_outcome_never_carries_an_earlier_attempts_429() {
    // The first attempt is answered 429 (not processed); the retry (a whole attempt fits
    // before the deadline, so it is sent) is held on the wire until the attempt timeout:
    // the outcome is unknown, with no status (no answer arrived).
    let (base, seen) = scripted_server(vec![
        Scripted::Raw(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 0\r\ncontent-length: 0\r\n\r\n".into(),
        ),
        Scripted::Hold,
    ])
    .await;
    let err = Client::builder()
        .credentials(credentials())
        .base_url(&base)
        .timeout(Duration::from_secs(1))
        .call_timeout(Duration::from_secs(5))
        .retry_policy(fast_retries(3))
        .build()
        .unwrap()
        .participants(&service(), CONVERSATION)
        .create()
        .identity("alice")
        .await
        .unwrap_err();
    let (_, status, sid, attempts) = unknown(&err, WriteOperation::Create);
    assert_eq!((status, sid, attempts), (None, None, 2));
    assert_eq!(err.status(), None, "a 429 would invite a second create");
    assert_eq!(requests(&seen).len(), 2);
}

#[tokio::test]
async fn an_update_answered_503_every_time_is_unknown_after_the_policys_attempts() {
    let (base, seen) = scripted_server(vec![Scripted::Answer(
        503,
        error_body(503, 20503, "Service unavailable"),
    )])
    .await;
    let err = client(&base)
        .participants(&service(), CONVERSATION)
        .update(MEMBER)
        .identity("bob")
        .await
        .unwrap_err();
    let (cause, status, sid, attempts) = unknown(&err, WriteOperation::Update);
    assert_eq!((status, sid, attempts), (Some(503), None, 4));
    assert!(cause.starts_with("the API answered HTTP 503"), "{cause}");
    let update = (
        format!("POST {} HTTP/1.1", one_path(MEMBER)),
        "Identity=bob".to_owned(),
    );
    assert_eq!(requests(&seen), vec![update; 4]);
}

#[tokio::test]
async fn a_delete_answered_503_then_404_is_already_gone() {
    let (base, seen) = scripted_server(vec![
        Scripted::Answer(503, error_body(503, 20503, "Service unavailable")),
        Scripted::Answer(404, error_body(404, 20404, "not found")),
    ])
    .await;
    let outcome = client(&base)
        .participants(&service(), CONVERSATION)
        .delete(MEMBER)
        .await
        .unwrap();
    assert_eq!(outcome, Deletion::AlreadyGone);
    let delete = (
        format!("DELETE {} HTTP/1.1", one_path(MEMBER)),
        String::new(),
    );
    assert_eq!(requests(&seen), vec![delete; 2]);
}

#[tokio::test]
async fn a_create_answered_429_then_201_is_created_by_the_second_identical_request() {
    let (base, seen) = scripted_server(vec![
        Scripted::Answer(429, error_body(429, 20429, "Too Many Requests")),
        Scripted::Answer(201, participant_body(5)),
    ])
    .await;
    let created = create_alice(&base).await.unwrap();
    assert_eq!(
        created.sid.unwrap().as_str(),
        "MB00000000000000000000000000000005"
    );
    assert_eq!(
        requests(&seen),
        vec![(create_line(), "Identity=alice".to_owned()); 2]
    );
}

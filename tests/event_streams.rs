//! Event Streams: deliveries signed as Twilio signs them verify and tampered ones do not;
//! Twilio's published participant event shapes (built here, at test time) parse in schema
//! versions 1 and 2; repeats are dropped and late events named; both channels give one
//! `ParticipantChange`; the fake's sink delivers signed batches (twice when asked).

mod common;

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use twilio_conversations::{
    testing::{FakeServer, FAKE_AUTH_TOKEN},
    webhook::{
        body_sha256, sign, AuthToken, ChangeKind, Channel, CloudEvent, EventData,
        EventStreamsError, NotAParticipantChange, ParticipantChange, ParticipantEvent,
        ParticipantEventKind, RequestValidator, Seen, SeenEvents, SignatureError,
    },
    ConversationSid, ParticipantSid, ServiceSid,
};

use common::{receiver::receiver, CONVERSATION, SERVICE};

const TOKEN: &str = "12345";
const SINK: &str = "https://hooks.example.com/twilio/events?tenant=7";
const PARTICIPANT: &str = "MB0119bde8f8b74237a4606d1447c9ebcf";
/// Twilio's published examples carry 33-character account and role SIDs (one hex digit
/// short); a reader must not refuse the event for them.
const SHORT_ACCOUNT: &str = "ACe95cfd541a925a3337fec19a0200009";
const SHORT_ROLE: &str = "RLe95cfd541a925a3337fec19a0200009";

fn validator() -> RequestValidator {
    RequestValidator::new(AuthToken::new(TOKEN))
}

/// The URL Twilio calls for `body`: the sink URL with `bodySHA256` added.
fn signed_url(sink: &str, body: &[u8]) -> String {
    format!("{sink}&bodySHA256={}", body_sha256(body))
}

/// The signature Twilio sends: HMAC-SHA1 of the URL alone.
fn signature(token: &str, url: &str) -> String {
    sign::<&str, &str>(&AuthToken::new(token), url, &[])
}

/// A participant event in the shape of Twilio's published examples: `datacontenttype`
/// holding a timestamp, no `time`, the binding's `Type` upper case, `ProjectedAddress` a
/// bracketed list, 33-character account and role SIDs.
fn published(kind: &str, schema: &str, version: u32, id: &str) -> Value {
    let mut data = json!({
        "AccountSid": SHORT_ACCOUNT,
        "ParticipantSid": PARTICIPANT,
        "Identity": "FX0000000000000000000000000000001",
        "RoleSid": SHORT_ROLE,
        "ConversationSid": CONVERSATION,
        "DateCreated": "2025-01-01T00:00:00.000Z",
        "MessagingBinding": {
            "ProxyAddress": "whatsapp:+11234567890",
            "ProjectedAddress": "[whatsapp:+12345678901]",
            "Address": "whatsapp:+14567890123",
            "Type": "SMS",
            "Level": "cc",
            "Name": "John Doe"
        }
    });
    if kind != "added" {
        data["DateUpdated"] = json!("2025-01-01T00:00:01.000Z");
    }
    json!({
        "specversion": "1.0",
        "type": format!("com.twilio.conversations.participant.{kind}"),
        "source": "AB00000000000000000000000001",
        "id": id,
        "dataschema": format!("https://events-schemas.twilio.com/Conversations.{schema}/{version}"),
        "datacontenttype": "2025-10-08T07:17:02.363Z",
        "data": data,
    })
}

fn batch(events: &[Value]) -> Vec<u8> {
    serde_json::to_vec(events).unwrap()
}

fn verify(body: &[u8]) -> Result<Vec<CloudEvent>, EventStreamsError> {
    let url = signed_url(SINK, body);
    validator().validate_event_streams(&url, body, Some(&signature(TOKEN, &url)))
}

#[test]
fn the_official_json_vector_verifies_as_a_sink_delivery() {
    // Twilio's JSON-body vector (token 12345): the signature and hash are accepted, and only
    // then is the body found not to be a batch.
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    let body = br#"{"property": "value", "boolean": true}"#;
    let refused = validator()
        .validate_event_streams(url, body, Some("a9nBmqA0ju/hNViExpshrM61xv4="))
        .unwrap_err();
    assert!(
        matches!(&refused, EventStreamsError::NotABatch(why) if why.contains("not a JSON array")),
        "{refused:?}"
    );
    assert_eq!(refused.status(), 400);
    // The same with one wrong signature byte is refused before the body is read.
    let forged = validator()
        .validate_event_streams(url, body, Some("b9nBmqA0ju/hNViExpshrM61xv4="))
        .unwrap_err();
    assert!(matches!(
        forged,
        EventStreamsError::Signature(SignatureError::Mismatch { .. })
    ));
}

#[test]
fn batches_signed_as_twilio_signs_them_verify() {
    let body = batch(&[
        published("added", "ParticipantAdded", 2, "EV1"),
        published("updated", "ParticipantUpdated", 1, "EV2"),
    ]);
    let events = verify(&body).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].id, "EV1");
    assert_eq!(
        events[1].event_type,
        "com.twilio.conversations.participant.updated"
    );
    // The default port is accepted, as the official libraries accept it.
    let url = signed_url(
        "https://hooks.example.com:443/twilio/events?tenant=7",
        &body,
    );
    let header = signature(TOKEN, &signed_url(SINK, &body));
    assert!(validator()
        .validate_event_streams(&url, &body, Some(&header))
        .is_ok());
    // Through http::Request at its public origin.
    let request = http::Request::post(format!(
        "/twilio/events?tenant=7&bodySHA256={}",
        body_sha256(&body)
    ))
    .header("X-Twilio-Signature", &header)
    .body(body.clone())
    .unwrap();
    let events = validator()
        .validate_event_streams_http("https://hooks.example.com/", &request)
        .unwrap();
    assert_eq!(events.len(), 2);
}

#[test]
fn tampered_deliveries_are_refused_with_the_reason() {
    let body = batch(&[published("added", "ParticipantAdded", 2, "EV1")]);
    let url = signed_url(SINK, &body);
    let header = signature(TOKEN, &url);

    // One changed byte: the body no longer has the URL's hash (checked first).
    let mut changed = body.clone();
    let at = changed.iter().position(|&b| b == b'1').unwrap();
    changed[at] = b'2';
    let refused = validator()
        .validate_event_streams(&url, &changed, Some(&header))
        .unwrap_err();
    assert!(
        matches!(
            &refused,
            EventStreamsError::Signature(SignatureError::BodyHashMismatch { actual, .. })
                if *actual == body_sha256(&changed)
        ),
        "{refused:?}"
    );
    assert_eq!(refused.status(), 403);
    // The hash is checked before the signature: a changed body with a forged header is
    // refused for its hash.
    assert!(matches!(
        validator().validate_event_streams(&url, &changed, Some("forged")),
        Err(EventStreamsError::Signature(
            SignatureError::BodyHashMismatch { .. }
        ))
    ));

    // The changed body with its own hash in the URL: the signature no longer matches.
    let rehashed = signed_url(SINK, &changed);
    assert!(matches!(
        validator().validate_event_streams(&rehashed, &changed, Some(&header)),
        Err(EventStreamsError::Signature(
            SignatureError::Mismatch { .. }
        ))
    ));

    // No bodySHA256: not a signed JSON body, even with a signature of that URL.
    assert_eq!(
        validator().validate_event_streams(SINK, &body, Some(&signature(TOKEN, SINK))),
        Err(EventStreamsError::MissingBodyHash)
    );

    // Another URL (another path), another token, no header.
    let elsewhere = signed_url("https://hooks.example.com/other?tenant=7", &body);
    assert!(matches!(
        validator().validate_event_streams(&elsewhere, &body, Some(&header)),
        Err(EventStreamsError::Signature(
            SignatureError::Mismatch { .. }
        ))
    ));
    assert!(matches!(
        validator().validate_event_streams(&url, &body, Some(&signature("54321", &url))),
        Err(EventStreamsError::Signature(SignatureError::Mismatch {
            tokens: 1,
            ..
        }))
    ));
    assert_eq!(
        validator().validate_event_streams(&url, &body, None),
        Err(EventStreamsError::Signature(
            SignatureError::MissingSignature
        ))
    );
    // A secondary token is accepted when the validator is given it.
    let rotating = validator().also_accept(AuthToken::new("54321"));
    assert!(rotating
        .validate_event_streams(&url, &body, Some(&signature("54321", &url)))
        .is_ok());
}

#[test]
fn the_published_participant_shapes_parse_in_versions_1_and_2() {
    let conversation: ConversationSid = CONVERSATION.parse().unwrap();
    let participant: ParticipantSid = PARTICIPANT.parse().unwrap();
    for version in [1, 2] {
        let body = batch(&[
            published("added", "ParticipantAdded", version, "EV-a"),
            published("updated", "ParticipantUpdated", version, "EV-u"),
            published("removed", "ParticipantRemoved", version, "EV-r"),
        ]);
        let events = verify(&body).unwrap();
        let kinds: Vec<ParticipantEventKind> = events
            .iter()
            .map(|event| event.participant().expect("typed").kind)
            .collect();
        assert_eq!(
            kinds,
            [
                ParticipantEventKind::Added,
                ParticipantEventKind::Updated,
                ParticipantEventKind::Removed
            ]
        );
        for event in &events {
            assert_eq!(event.schema_version(), Some(version));
            assert_eq!(event.specversion.as_deref(), Some("1.0"));
            assert_eq!(
                event.source.as_deref(),
                Some("AB00000000000000000000000001")
            );
            // Loose: a timestamp where a media type belongs, kept as text; no `time`.
            assert_eq!(
                event.datacontenttype.as_deref(),
                Some("2025-10-08T07:17:02.363Z")
            );
            assert_eq!(event.time, None);
            let data = event.participant().unwrap();
            assert_eq!(data.conversation_sid, conversation);
            assert_eq!(data.participant_sid, participant);
            assert_eq!(
                data.identity.as_deref(),
                Some("FX0000000000000000000000000000001")
            );
            assert_eq!(
                data.date_created,
                Some(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap())
            );
            let binding = data.messaging_binding.as_ref().unwrap();
            assert_eq!(binding.binding_type.as_deref(), Some("SMS"));
            assert_eq!(binding.projected_addresses, ["whatsapp:+12345678901"]);
            assert_eq!(binding.address.as_deref(), Some("whatsapp:+14567890123"));
            assert_eq!(
                binding.proxy_address.as_deref(),
                Some("whatsapp:+11234567890")
            );
            assert_eq!(binding.level.as_deref(), Some("cc"));
            assert_eq!(binding.name.as_deref(), Some("John Doe"));
            // The short SIDs are kept as sent, named, not typed and not refused.
            assert_eq!(data.account_sid, None);
            assert_eq!(data.role_sid, None);
            assert_eq!(data.extra["AccountSid"], SHORT_ACCOUNT);
            assert_eq!(data.extra["RoleSid"], SHORT_ROLE);
            assert_eq!(data.unread.len(), 2, "{:?}", data.unread);
            assert!(
                data.unread[0].starts_with("AccountSid"),
                "{:?}",
                data.unread
            );
        }
        let updated = events[1].participant().unwrap();
        assert_eq!(
            updated.date_updated,
            Some(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 1).unwrap())
        );
        assert_eq!(events[0].participant().unwrap().date_updated, None);
    }
}

#[test]
fn unreadable_participant_data_and_other_types_are_kept_raw() {
    // Twilio's published removed example gives an AC… SID as the ParticipantSid.
    let mut removed = published("removed", "ParticipantRemoved", 2, "EV-r");
    removed["data"]["ParticipantSid"] = json!(SHORT_ACCOUNT);
    let mut valid_account = published("added", "ParticipantAdded", 2, "EV-a");
    valid_account["data"]["AccountSid"] = json!("AC0123456789abcdef0123456789abcdef");
    valid_account["data"]["Attributes"] = json!({"team": "night"});
    valid_account["time"] = json!("2025-01-01T00:00:02Z");
    valid_account["traceparent"] = json!("00-abc-01");
    let message = json!({
        "specversion": "1.0",
        "type": "com.twilio.conversations.message.added",
        "id": "EV-m",
        "data": {"MessageBody": "Ahoy!", "Index": 10}
    });
    let events = verify(&batch(&[removed, valid_account, message])).unwrap();
    let EventData::Unreadable { reason, raw } = &events[0].data else {
        panic!("{:?}", events[0].data)
    };
    assert!(reason.starts_with("ParticipantSid:"), "{reason}");
    assert_eq!(raw["ParticipantSid"], SHORT_ACCOUNT);
    assert_eq!(raw["Identity"], "FX0000000000000000000000000000001");
    assert_eq!(
        ParticipantChange::try_from(&events[0]),
        Err(NotAParticipantChange::UnreadableData {
            reason: reason.clone()
        })
    );

    let added = events[1].participant().unwrap();
    assert_eq!(
        added.account_sid.as_ref().map(|sid| sid.as_str()),
        Some("AC0123456789abcdef0123456789abcdef")
    );
    assert_eq!(added.attributes, Some(json!({"team": "night"})));
    assert_eq!(
        events[1].time,
        Some(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 2).unwrap())
    );
    assert_eq!(events[1].extensions["traceparent"], "00-abc-01");

    assert_eq!(
        events[2].data,
        EventData::Other(json!({"MessageBody": "Ahoy!", "Index": 10}))
    );
    assert!(matches!(
        ParticipantChange::try_from(&events[2]),
        Err(NotAParticipantChange::OtherEvent { event_type: Some(t) }) if t == "com.twilio.conversations.message.added"
    ));

    // Not a batch of CloudEvents: refused with the element named.
    for (body, why) in [
        (br#"[{"type":"x"}]"#.to_vec(), "element 0 has no text `id`"),
        (
            br#"[{"id":"1","type":"x"}, 7]"#.to_vec(),
            "element 1 is not a JSON object",
        ),
        (b"[".to_vec(), "EOF"),
    ] {
        let refused = verify(&body).unwrap_err();
        assert!(
            matches!(&refused, EventStreamsError::NotABatch(text) if text.contains(why)),
            "{refused:?}"
        );
    }
    assert_eq!(verify(b"[]").unwrap(), []);
}

#[test]
fn repeats_are_dropped_and_a_late_update_is_detected() {
    let mut updated = published("updated", "ParticipantUpdated", 2, "EV-u");
    updated["time"] = json!("2025-01-01T00:00:01Z");
    let mut removed = published("removed", "ParticipantRemoved", 2, "EV-r");
    removed["time"] = json!("2025-01-01T00:00:05Z");
    // Delivered: the removal, the removal again (a retry), then the earlier update.
    let events = verify(&batch(&[removed.clone(), removed, updated])).unwrap();
    let mut seen = SeenEvents::new(1_000);
    let verdicts: Vec<Seen> = events
        .iter()
        .map(|event| seen.observe_change(&ParticipantChange::try_from(event).unwrap()))
        .collect();
    assert_eq!(
        verdicts,
        [
            Seen::New,
            Seen::Repeat,
            Seen::Late {
                newest: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 5).unwrap()
            }
        ]
    );
    assert_eq!(seen.len(), 2);
}

#[test]
fn both_channels_give_one_participant_change() {
    let form: Vec<(String, String)> = [
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("EventType", "onParticipantRemoved"),
        ("Source", "API"),
        ("ConversationSid", CONVERSATION),
        ("ParticipantSid", PARTICIPANT),
        ("MessagingBinding.Address", "whatsapp:+14567890123"),
        ("MessagingBinding.Type", "WHATSAPP"),
        ("DateCreated", "2025-01-01T00:00:00Z"),
        ("DateUpdated", "2025-01-01T00:00:01Z"),
        ("DateRemoved", "2025-01-01T00:00:05Z"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let webhook = ParticipantEvent::from_params(&form).unwrap();
    let from_webhook = ParticipantChange::try_from(&webhook).unwrap();
    let mut cloud = published("removed", "ParticipantRemoved", 2, "EV-r");
    cloud["time"] = json!("2025-01-01T00:00:05Z");
    let events = verify(&batch(&[cloud])).unwrap();
    let from_stream = ParticipantChange::try_from(&events[0]).unwrap();

    assert_eq!(from_webhook.channel, Channel::Webhook);
    assert_eq!(from_stream.channel, Channel::EventStreams);
    for change in [&from_webhook, &from_stream] {
        assert_eq!(change.kind, ChangeKind::Removed);
        assert_eq!(change.conversation_sid.as_str(), CONVERSATION);
        assert_eq!(
            change.participant_sid.as_ref().unwrap().as_str(),
            PARTICIPANT
        );
        assert_eq!(change.address.as_deref(), Some("whatsapp:+14567890123"));
        assert_eq!(
            change.time,
            Some(Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 5).unwrap())
        );
    }
    assert_eq!(from_webhook.event_id, None);
    assert_eq!(from_stream.event_id.as_deref(), Some("EV-r"));
    assert_eq!(
        serde_json::to_value(&from_webhook).unwrap(),
        json!({
            "channel": "webhook",
            "type": "participant.removed",
            "conversation_sid": CONVERSATION,
            "participant_sid": PARTICIPANT,
            "address": "whatsapp:+14567890123",
            "time": "2025-01-01T00:00:05Z",
        })
    );

    // A pre-event: participant.add, no SID and no time yet.
    let add: Vec<(String, String)> = [
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("EventType", "onParticipantAdd"),
        ("Source", "SDK"),
        ("ConversationSid", CONVERSATION),
        ("Identity", "alice"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let add = ParticipantChange::try_from(&ParticipantEvent::from_params(&add).unwrap()).unwrap();
    assert_eq!(add.kind, ChangeKind::Add);
    assert!(add.kind.is_pre_event());
    assert_eq!(
        serde_json::to_value(&add).unwrap(),
        json!({"channel": "webhook", "type": "participant.add", "conversation_sid": CONVERSATION, "identity": "alice"})
    );
    let other =
        ParticipantEvent::from_params(&[("EventType".into(), "onMessageAdded".into())]).unwrap();
    assert!(matches!(
        ParticipantChange::try_from(&other),
        Err(NotAParticipantChange::OtherEvent { event_type: Some(t) }) if t == "onMessageAdded"
    ));
}

#[tokio::test]
async fn the_fakes_sink_deliveries_arrive_and_verify() {
    let fake = FakeServer::start().await.unwrap();
    let service: ServiceSid = SERVICE.parse().unwrap();
    let conversation: ConversationSid = CONVERSATION.parse().unwrap();
    fake.add_conversation(&service, &conversation, []);
    let (sink, received) = receiver("/twilio/events?tenant=7").await;
    fake.set_event_streams_sink(Some(&sink));
    let client = twilio_conversations::Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .build()
        .unwrap();
    let participants = client.participants(&service, &conversation);
    let verifier = RequestValidator::new(AuthToken::new(FAKE_AUTH_TOKEN));
    // Reads what arrived at the sink as Twilio's would be read: public URL, body, header.
    let arrived = || -> Vec<CloudEvent> {
        received
            .lock()
            .unwrap()
            .iter()
            .flat_map(|request| {
                assert_eq!(request.header("content-type"), Some("application/json"));
                let target = request.head.split(' ').nth(1).unwrap();
                let origin = sink.split("/twilio").next().unwrap();
                verifier
                    .validate_event_streams(
                        &format!("{origin}{target}"),
                        request.body.as_bytes(),
                        request.header("x-twilio-signature"),
                    )
                    .unwrap()
            })
            .collect()
    };

    // Event Streams sends every change, with or without X-Twilio-Webhook-Enabled.
    let alice = participants
        .create()
        .identity("alice")
        .send()
        .await
        .unwrap();
    let alice_sid = alice.sid.clone().unwrap();
    let events = arrived();
    assert_eq!(events.len(), 1);
    let data = events[0].participant().unwrap();
    assert_eq!(data.kind, ParticipantEventKind::Added);
    assert_eq!(data.participant_sid, alice_sid);
    assert_eq!(data.conversation_sid, conversation);
    assert_eq!(data.identity.as_deref(), Some("alice"));
    assert_eq!(data.date_created, alice.date_created);
    assert!(data.unread.is_empty(), "{:?}", data.unread);
    assert_eq!(events[0].schema_version(), Some(2));
    assert!(events[0].time.is_some());

    // Twice when asked: the same id both times.
    fake.deliver_event_streams_twice(true);
    participants
        .update(alice_sid.as_str())
        .last_read_message_index(3)
        .send()
        .await
        .unwrap();
    participants.delete(alice_sid.as_str()).await.unwrap();
    let events = arrived();
    assert_eq!(events.len(), 5);
    assert_eq!(events[1].id, events[2].id);
    assert_eq!(events[3].id, events[4].id);
    assert_ne!(events[1].id, events[3].id);
    let removed = events[3].participant().unwrap();
    assert_eq!(removed.kind, ParticipantEventKind::Removed);
    assert_eq!(removed.identity.as_deref(), Some("alice"));
    let mut seen = SeenEvents::new(100);
    let printed = events
        .iter()
        .filter(|event| {
            seen.observe_change(&ParticipantChange::try_from(*event).unwrap()) == Seen::New
        })
        .count();
    assert_eq!(printed, 3);

    // The recorded deliveries say the same; an address participant's binding is sent as
    // Twilio's examples show it.
    let deliveries = fake.event_streams_deliveries();
    assert_eq!(deliveries.len(), 5);
    assert!(deliveries.iter().all(|d| d.outcome == Ok(200)));
    assert!(deliveries[0]
        .url
        .starts_with(&format!("{sink}&bodySHA256=")));
    fake.deliver_event_streams_twice(false);
    participants
        .create()
        .address("+15558675310")
        .proxy_address("+15017122661")
        .send()
        .await
        .unwrap();
    let events = arrived();
    assert_eq!(events.len(), 6);
    let binding = events[5]
        .participant()
        .unwrap()
        .messaging_binding
        .clone()
        .unwrap();
    assert_eq!(binding.binding_type.as_deref(), Some("SMS"));
    assert_eq!(binding.address.as_deref(), Some("+15558675310"));

    // A failed write sends nothing; a cleared sink stops them.
    assert!(participants.delete(alice_sid.as_str()).await.is_err());
    fake.set_event_streams_sink(None);
    participants.create().identity("bob").send().await.unwrap();
    assert_eq!(received.lock().unwrap().len(), 6);
    assert_eq!(fake.event_streams_deliveries().len(), 6);
}

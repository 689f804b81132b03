//! Webhook signatures against the official vectors, tampering, property tests, typed
//! participant events, and the fake's signed post-event webhooks.

mod common;

use common::receiver::receiver;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use twilio_conversations::{
    models::MessagingBinding,
    testing::{FakeServer, FAKE_AUTH_TOKEN},
    webhook::{
        body_sha256, sign, sign_request, AuthToken, EventError, OtherEvent, ParticipantEvent,
        ParticipantFields, PreEventAnswer, RequestValidator, SignatureError, Source, VerifiedBody,
    },
    ConversationSid, ServiceSid,
};

const TOKEN: &str = "12345";
const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
const PARAMS: [(&str, &str); 5] = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
];
const JSON_BODY: &str = r#"{"property": "value", "boolean": true}"#;
const JSON_HASH: &str = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";

fn token() -> AuthToken {
    AuthToken::new(TOKEN)
}

fn validator() -> RequestValidator {
    RequestValidator::new(token())
}

fn form(params: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

fn json_url() -> String {
    format!("{URL}&bodySHA256={JSON_HASH}")
}

// The official vectors (auth token 12345).

#[test]
fn vectors_sign_exactly() {
    assert_eq!(sign(&token(), URL, &PARAMS), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    assert_eq!(
        sign(
            &token(),
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &PARAMS
        ),
        "kvajT1Ptam85bY51eRf/AJRuM3w="
    );
    assert_eq!(
        sign(
            &token(),
            "http://mycompany.com:80/myapp.php?foo=1&bar=2",
            &PARAMS
        ),
        "0ZXoZLH/DfblKGATFgpif+LLRf4="
    );
    assert_eq!(
        sign(
            &token(),
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
            &PARAMS
        ),
        "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
    );
    assert_eq!(
        sign::<&str, &str>(&token(), &json_url(), &[]),
        "a9nBmqA0ju/hNViExpshrM61xv4="
    );
    assert_eq!(
        sign(
            &token(),
            &format!("https://mycompany.com/myapp.php?bodySHA256={JSON_HASH}"),
            &[] as &[(&str, &str)]
        ),
        "y77kIzt2vzLz71DgmJGsen2scGs="
    );
    assert_eq!(body_sha256(JSON_BODY.as_bytes()), JSON_HASH);
    assert_eq!(JSON_BODY.len(), 38);
}

#[test]
fn vectors_verify_as_form_bodies() {
    let body = form(&PARAMS);
    for (url, signature) in [
        (URL, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        (
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            "kvajT1Ptam85bY51eRf/AJRuM3w=",
        ),
        (
            "http://mycompany.com:80/myapp.php?foo=1&bar=2",
            "0ZXoZLH/DfblKGATFgpif+LLRf4=",
        ),
        (
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
        ),
    ] {
        let verified = validator()
            .validate(url, body.as_bytes(), Some(signature))
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(verified.url, url);
        let expected: Vec<(String, String)> = PARAMS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(verified.body, VerifiedBody::Form(expected));
    }
}

#[test]
fn port_variants_as_the_official_libraries_accept_them() {
    let body = form(&PARAMS);
    // The port removed: signed without it, called with a non-default one.
    let verified = validator()
        .validate(
            "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
            body.as_bytes(),
            Some("RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        )
        .unwrap();
    assert_eq!(verified.url, URL);
    // The default port added: signed with :443, called without.
    let verified = validator()
        .validate(URL, body.as_bytes(), Some("kvajT1Ptam85bY51eRf/AJRuM3w="))
        .unwrap();
    assert_eq!(
        verified.url,
        "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    );
    // http's default is 80, never 443; the scheme is never swapped.
    let error = validator()
        .validate(
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            body.as_bytes(),
            Some("kvajT1Ptam85bY51eRf/AJRuM3w="),
        )
        .unwrap_err();
    assert_eq!(
        error,
        SignatureError::Mismatch {
            tried: vec![
                // Query values are never shown (a query can carry secrets); names are.
                "http://mycompany.com/myapp.php?foo=***&bar=***".into(),
                "http://mycompany.com:80/myapp.php?foo=***&bar=***".into(),
            ],
            tokens: 1,
        }
    );
    assert_eq!(
        error.to_string(),
        "the signature matches none of the URLs tried with 1 token(s): \
         http://mycompany.com/myapp.php?foo=***&bar=***, http://mycompany.com:80/myapp.php?foo=***&bar=***"
    );
}

#[test]
fn repeated_names_are_deduplicated_and_sorted() {
    let params = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ];
    assert_eq!(sign(&token(), URL, &params), "IK+Dwps556ElfBT0I3Rgjkr1wJU=");
    let body = form(&params);
    validator()
        .validate(URL, body.as_bytes(), Some("IK+Dwps556ElfBT0I3Rgjkr1wJU="))
        .unwrap();
}

#[test]
fn sort_order_trap() {
    let mut params = PARAMS.to_vec();
    params.extend([("ReasonConferenceEnded", "test"), ("Reason", "Participant")]);
    assert_eq!(sign(&token(), URL, &params), "vOEb5UThFn24KEfnOFLQY2AE5FY=");
    validator()
        .validate(
            URL,
            form(&params).as_bytes(),
            Some("vOEb5UThFn24KEfnOFLQY2AE5FY="),
        )
        .unwrap();
    // Sorting the concatenated `name+value` strings puts ReasonConferenceEnded first: wrong.
    let wrong = validator()
        .validate(
            URL,
            form(&params).as_bytes(),
            Some("95+Bu0JVPi0r/SsESZCVf0dWAjw="),
        )
        .unwrap_err();
    assert!(matches!(wrong, SignatureError::Mismatch { .. }), "{wrong}");
}

#[test]
fn json_bodies_verify_by_their_hash() {
    for (url, signature) in [
        (json_url(), "a9nBmqA0ju/hNViExpshrM61xv4="),
        (
            format!("https://mycompany.com/myapp.php?bodySHA256={JSON_HASH}"),
            "y77kIzt2vzLz71DgmJGsen2scGs=",
        ),
    ] {
        let verified = validator()
            .validate(&url, JSON_BODY.as_bytes(), Some(signature))
            .unwrap();
        assert_eq!(
            verified.body,
            VerifiedBody::Json(JSON_BODY.as_bytes().to_vec())
        );
        assert_eq!(verified.params(), None);
        assert_eq!(
            sign_request(&token(), &url, JSON_BODY.as_bytes()).unwrap(),
            signature
        );
    }
    // A tampered body: the signature (over the URL) holds, the hash does not.
    let tampered = JSON_BODY.replace("true", "false");
    assert_eq!(
        validator()
            .validate(
                &json_url(),
                tampered.as_bytes(),
                Some("a9nBmqA0ju/hNViExpshrM61xv4=")
            )
            .unwrap_err(),
        SignatureError::BodyHashMismatch {
            expected: JSON_HASH.into(),
            actual: body_sha256(tampered.as_bytes()),
        }
    );
    // A hash swapped in the URL breaks the signature itself.
    let swapped = format!("{URL}&bodySHA256={}", body_sha256(tampered.as_bytes()));
    assert!(matches!(
        validator().validate(
            &swapped,
            tampered.as_bytes(),
            Some("a9nBmqA0ju/hNViExpshrM61xv4=")
        ),
        Err(SignatureError::Mismatch { .. })
    ));
    // Signing refuses a URL whose hash is not the body's.
    assert!(matches!(
        sign_request(&token(), &json_url(), tampered.as_bytes()),
        Err(SignatureError::BodyHashMismatch { .. })
    ));
}

// Tampering and the other refusals.

#[test]
fn tampering_is_refused_with_the_reason() {
    let body = form(&PARAMS);
    let good = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    // The URLs tried, as errors show them: query values as `***`.
    let mismatch = |url: &str| SignatureError::Mismatch {
        tried: vec![
            url.replace("foo=1&bar=2", "foo=***&bar=***"),
            url.replace("mycompany.com/", "mycompany.com:443/")
                .replace("foo=1&bar=2", "foo=***&bar=***"),
        ],
        tokens: 1,
    };
    // A parameter.
    let changed = body.replace("Digits=1234", "Digits=1235");
    assert_eq!(
        validator().validate(URL, changed.as_bytes(), Some(good)),
        Err(mismatch(URL))
    );
    // An added parameter.
    let added = format!("{body}&Extra=1");
    assert_eq!(
        validator().validate(URL, added.as_bytes(), Some(good)),
        Err(mismatch(URL))
    );
    // The URL.
    let other_url = URL.replace("foo=1", "foo=2");
    assert_eq!(
        validator().validate(&other_url, body.as_bytes(), Some(good)),
        Err(mismatch(URL))
    );
    // The token.
    assert_eq!(
        RequestValidator::new(AuthToken::new("12346")).validate(URL, body.as_bytes(), Some(good)),
        Err(mismatch(URL))
    );
    // The signature: another value, one that is not base64, the right one cut short.
    for signature in [
        "SSOYDt4T1cUTdK1PDd93/VVr8B8=",
        "not base64!",
        "RSOYDt4T1cUTdK1PDd93",
    ] {
        assert_eq!(
            validator().validate(URL, body.as_bytes(), Some(signature)),
            Err(mismatch(URL)),
            "{signature}"
        );
    }
    // No header, an empty one.
    assert_eq!(
        validator().validate(URL, body.as_bytes(), None),
        Err(SignatureError::MissingSignature)
    );
    assert_eq!(
        validator().validate(URL, body.as_bytes(), Some(" ")),
        Err(SignatureError::MissingSignature)
    );
}

#[test]
fn a_webhook_url_with_credentials_never_shows_them() {
    let url = "https://twilio:hook-s3cret@example.com/hook";
    let err = validator()
        .validate(url, b"A=1", Some("RSOYDt4T1cUTdK1PDd93/VVr8B8="))
        .unwrap_err();
    assert_eq!(
        err,
        SignatureError::Mismatch {
            tried: vec![
                "https://***@example.com/hook".into(),
                "https://***@example.com:443/hook".into()
            ],
            tokens: 1,
        }
    );
    assert!(!format!("{err} {err:?}").contains("s3cret"));
}

#[test]
fn malformed_input_and_token_sets() {
    assert!(matches!(
        validator().validate("mycompany.com/myapp.php", b"", Some("x")),
        Err(SignatureError::MalformedUrl(_))
    ));
    assert_eq!(
        validator().validate(URL, b"Digits=%FF", Some("x")),
        Err(SignatureError::MalformedBody(
            "has a field that is not UTF-8 once decoded (byte 0)".into()
        ))
    );
    assert_eq!(
        RequestValidator::with_tokens([]).validate(URL, b"", Some("x")),
        Err(SignatureError::NoToken)
    );
    // The secondary token is accepted next to the primary.
    let rotating = RequestValidator::new(AuthToken::new("new-primary")).also_accept(token());
    let body = form(&PARAMS);
    rotating
        .validate(URL, body.as_bytes(), Some("RSOYDt4T1cUTdK1PDd93/VVr8B8="))
        .unwrap();
    let Err(SignatureError::Mismatch { tokens, .. }) =
        rotating.validate(URL, body.as_bytes(), Some("kvajT1Ptam85bY51eRf/AJRuM3w=x"))
    else {
        panic!("a bad signature verified");
    };
    assert_eq!(tokens, 2);
    // No token in any Debug output.
    assert!(!format!("{rotating:?}").contains("new-primary"));
}

#[test]
fn get_webhooks_sign_the_url_alone_and_read_the_query() {
    let url = "https://example.com/hook?EventType=onParticipantRemove&AccountSid=AC1";
    let signature = sign::<&str, &str>(&token(), url, &[]);
    let verified = validator().validate(url, b"", Some(&signature)).unwrap();
    assert_eq!(
        verified.params().unwrap(),
        [
            ("EventType".to_string(), "onParticipantRemove".to_string()),
            ("AccountSid".to_string(), "AC1".to_string()),
        ]
    );
}

#[test]
fn http_requests_are_checked_at_their_public_url() {
    let body = form(&PARAMS);
    let request = |signature: Option<&str>| {
        let mut builder =
            http::Request::post("/myapp.php?foo=1&bar=2").header("host", "10.0.0.7:8080");
        if let Some(signature) = signature {
            builder = builder.header("X-Twilio-Signature", signature);
        }
        builder.body(body.clone().into_bytes()).unwrap()
    };
    let signed = request(Some("RSOYDt4T1cUTdK1PDd93/VVr8B8="));
    let verified = validator()
        .validate_http("https://mycompany.com/", &signed)
        .unwrap();
    assert_eq!(verified.url, URL);
    assert_eq!(
        validator().validate_http("https://mycompany.com", &request(None)),
        Err(SignatureError::MissingSignature)
    );
    assert!(matches!(
        validator().validate_http("http://10.0.0.7:8080", &signed),
        Err(SignatureError::Mismatch { .. })
    ));
}

// Property tests.

/// Distinct names (so no change of a value can leave the set of values as it was), printable
/// ASCII values.
fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map("[A-Za-z][A-Za-z.]{0,12}", "[ -~]{0,20}", 0..8)
        .prop_map(|m| m.into_iter().collect())
}

/// `byte` replaced by another printable ASCII character.
fn other_printable(byte: u8, shift: u8) -> u8 {
    b' ' + (byte - b' ' + 1 + shift % 94) % 95
}

proptest! {
    #![proptest_config(common::cases(256))]

    #[test]
    fn anything_signed_verifies(
        params in params(),
        path in "[a-z/]{0,10}",
        query in "[a-z=&]{0,10}",
    ) {
        let url = format!("https://example.com/{path}?{query}");
        let signature = sign(&token(), &url, &params);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let verified = validator().validate(&url, body.as_bytes(), Some(&signature)).unwrap();
        prop_assert_eq!(verified.body, VerifiedBody::Form(params));
    }

    #[test]
    fn a_one_byte_change_of_a_value_fails(
        params in params().prop_filter("a value to change", |p| p.iter().any(|(_, v)| !v.is_empty())),
        pick in any::<prop::sample::Index>(),
        shift in any::<u8>(),
    ) {
        let signature = sign(&token(), URL, &params);
        let mut changed = params.clone();
        let candidates: Vec<usize> = (0..changed.len()).filter(|&i| !changed[i].1.is_empty()).collect();
        let field = candidates[pick.index(candidates.len())];
        let mut bytes = changed[field].1.clone().into_bytes();
        let at = pick.index(bytes.len());
        bytes[at] = other_printable(bytes[at], shift);
        changed[field].1 = String::from_utf8(bytes).unwrap();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&changed)
            .finish();
        let refused = validator().validate(URL, body.as_bytes(), Some(&signature));
        prop_assert!(matches!(refused, Err(SignatureError::Mismatch { .. })), "{:?}", refused);
    }

    #[test]
    fn either_port_form_verifies_the_other(
        https in any::<bool>(),
        host in "[a-z]{1,10}(\\.[a-z]{2,3})?",
        port in 1u16..,
        path in "(/[a-z0-9]{0,6}){0,3}",
    ) {
        let scheme = if https { "https" } else { "http" };
        let default = if https { 443 } else { 80 };
        let bare = format!("{scheme}://{host}{path}?a=1");
        let with_default = format!("{scheme}://{host}:{default}{path}?a=1");
        let with_port = format!("{scheme}://{host}:{port}{path}?a=1");
        let params = [("Digits", "1234")];
        let body = form(&params);
        // Signed with the default port, called without it; signed without a port, called with any.
        let signature = sign(&token(), &with_default, &params);
        let verified = validator().validate(&bare, body.as_bytes(), Some(&signature)).unwrap();
        prop_assert_eq!(verified.url, with_default);
        let signature = sign(&token(), &bare, &params);
        let verified = validator().validate(&with_port, body.as_bytes(), Some(&signature)).unwrap();
        prop_assert_eq!(&verified.url, &bare);
        // Never the other scheme's default port.
        let other = if https { 80 } else { 443 };
        let signature = sign(&token(), &format!("{scheme}://{host}:{other}{path}?a=1"), &params);
        let refused = validator().validate(&bare, body.as_bytes(), Some(&signature));
        prop_assert!(matches!(refused, Err(SignatureError::Mismatch { .. })), "{:?}", refused);
    }

    #[test]
    fn a_one_byte_change_of_a_json_body_fails(
        body in prop::collection::vec(any::<u8>(), 1..64),
        pick in any::<prop::sample::Index>(),
        flip in 1u8..,
    ) {
        let url = format!("https://example.com/hook?bodySHA256={}", body_sha256(&body));
        let signature = sign_request(&token(), &url, &body).unwrap();
        prop_assert!(validator().validate(&url, &body, Some(&signature)).is_ok());
        let mut changed = body.clone();
        let at = pick.index(changed.len());
        changed[at] ^= flip;
        let refused = validator().validate(&url, &changed, Some(&signature));
        prop_assert!(matches!(refused, Err(SignatureError::BodyHashMismatch { .. })), "{:?}", refused);
    }
}

// Typed participant events.

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const CONVERSATION: &str = "CH0123456789abcdef0123456789abcdef";
const SERVICE: &str = "IS0123456789abcdef0123456789abcdef";
const MEMBER: &str = "MB0123456789abcdef0123456789abcdef";
const ROLE: &str = "RL0123456789abcdef0123456789abcdef";

fn owned(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A chat participant's fields as a webhook of `event` carries them.
fn chat_form(event: &str) -> Vec<(String, String)> {
    owned(&[
        ("AccountSid", ACCOUNT),
        ("EventType", event),
        ("Source", "SDK"),
        ("ClientIdentity", "moderator"),
        ("ChatServiceSid", SERVICE),
        ("ConversationSid", CONVERSATION),
        ("Identity", "alice"),
        ("RoleSid", ROLE),
        ("Attributes", r#"{"vip":true}"#),
        ("MessagingBinding.ProxyAddress", ""),
        ("MessagingBinding.Address", ""),
        ("MessagingBinding.ProjectedAddress", ""),
        ("RetryCount", "0"),
        ("WebhookSid", "WH0123456789abcdef0123456789abcdef"),
    ])
}

fn chat_fields() -> ParticipantFields {
    let params = chat_form("onParticipantAdd");
    let ParticipantEvent::Add(fields) = ParticipantEvent::from_params(&params).unwrap() else {
        panic!("not an onParticipantAdd");
    };
    fields
}

#[test]
fn on_participant_add_reads_every_field() {
    let fields = chat_fields();
    assert_eq!(fields.account_sid.as_str(), ACCOUNT);
    assert_eq!(fields.conversation_sid.as_str(), CONVERSATION);
    assert_eq!(fields.chat_service_sid.as_ref().unwrap().as_str(), SERVICE);
    assert_eq!(fields.participant_sid, None);
    assert_eq!(fields.source, Source::Sdk);
    assert_eq!(fields.client_identity.as_deref(), Some("moderator"));
    assert_eq!(fields.identity.as_deref(), Some("alice"));
    assert_eq!(fields.role_sid.as_ref().unwrap().as_str(), ROLE);
    assert_eq!(fields.attributes.as_deref(), Some(r#"{"vip":true}"#));
    assert_eq!(fields.messaging_binding, None);
    assert_eq!(fields.date_created, None);
    assert_eq!(
        fields.extra.into_iter().collect::<Vec<_>>(),
        [
            ("RetryCount".to_string(), "0".to_string()),
            (
                "WebhookSid".to_string(),
                "WH0123456789abcdef0123456789abcdef".to_string()
            ),
        ]
    );
}

#[test]
fn each_event_type_reads_its_own_fields() {
    let sms = |event: &str, more: &[(&str, &str)]| {
        let mut params = owned(&[
            ("AccountSid", ACCOUNT),
            ("EventType", event),
            ("Source", "API"),
            ("ConversationSid", CONVERSATION),
            ("ParticipantSid", MEMBER),
            ("Identity", ""),
            ("RoleSid", ROLE),
            ("Attributes", "{}"),
            ("MessagingBinding.ProxyAddress", "+15017122661"),
            ("MessagingBinding.Address", "+15558675310"),
            ("MessagingBinding.ProjectedAddress", ""),
            ("MessagingBinding.Type", "SMS"),
            ("DateCreated", "2024-05-02T10:15:00Z"),
        ]);
        params.extend(owned(more));
        ParticipantEvent::from_params(&params).unwrap()
    };
    let may_2 = |h, m| Some(Utc.with_ymd_and_hms(2024, 5, 2, h, m, 0).unwrap());
    let binding = Some(MessagingBinding {
        address: Some("+15558675310".into()),
        proxy_address: Some("+15017122661".into()),
        type_: Some("SMS".into()),
        ..MessagingBinding::default()
    });

    let added = sms("onParticipantAdded", &[]);
    assert_eq!(added.event_type(), Some("onParticipantAdded"));
    assert!(!added.is_pre_event());
    let ParticipantEvent::Added(fields) = &added else {
        panic!("{added:?}")
    };
    assert_eq!(fields.participant_sid.as_ref().unwrap().as_str(), MEMBER);
    assert_eq!(fields.source, Source::Api);
    assert_eq!(fields.identity, None);
    assert_eq!(fields.client_identity, None);
    assert_eq!(fields.messaging_binding, binding);
    assert_eq!(fields.date_created, may_2(10, 15));
    assert!(fields.extra.is_empty());

    let update = sms(
        "onParticipantUpdate",
        &[("DateUpdated", "2024-05-02T11:00:00+01:00")],
    );
    assert!(update.is_pre_event());
    let ParticipantEvent::Update(fields) = &update else {
        panic!("{update:?}")
    };
    assert_eq!(fields.date_updated, may_2(10, 0));

    let updated = sms(
        "onParticipantUpdated",
        &[
            ("DateUpdated", "2024-05-02T10:20:00Z"),
            ("LastReadMessageIndex", "7"),
        ],
    );
    let ParticipantEvent::Updated(fields) = &updated else {
        panic!("{updated:?}")
    };
    assert_eq!(fields.last_read_message_index, Some(7));
    assert_eq!(fields.date_updated, may_2(10, 20));

    let remove = sms(
        "onParticipantRemove",
        &[("DateUpdated", "2024-05-02T10:20:00Z")],
    );
    assert!(matches!(remove, ParticipantEvent::Remove(_)));
    assert!(remove.is_pre_event());

    let removed = sms(
        "onParticipantRemoved",
        &[
            ("DateUpdated", "2024-05-02T10:20:00Z"),
            ("DateRemoved", "2024-05-02T10:30:00Z"),
        ],
    );
    let ParticipantEvent::Removed(fields) = &removed else {
        panic!("{removed:?}")
    };
    assert_eq!(fields.date_removed, may_2(10, 30));
    assert_eq!(
        serde_json::to_value(&removed).unwrap(),
        serde_json::json!({
            "event": "onParticipantRemoved",
            "account_sid": ACCOUNT,
            "conversation_sid": CONVERSATION,
            "chat_service_sid": null,
            "participant_sid": MEMBER,
            "source": "API",
            "client_identity": null,
            "identity": null,
            "role_sid": ROLE,
            "attributes": "{}",
            "messaging_binding": {"address": "+15558675310", "proxy_address": "+15017122661", "type": "SMS"},
            "date_created": "2024-05-02T10:15:00Z",
            "date_updated": "2024-05-02T10:20:00Z",
            "date_removed": "2024-05-02T10:30:00Z",
            "last_read_message_index": null,
            "extra": {},
        })
    );
}

#[test]
fn unknown_event_types_keep_every_field() {
    let params = owned(&[
        ("EventType", "onConversationAdded"),
        ("ConversationSid", CONVERSATION),
    ]);
    let event = ParticipantEvent::from_params(&params).unwrap();
    let ParticipantEvent::Other(OtherEvent {
        event_type,
        params: kept,
        ..
    }) = &event
    else {
        panic!("{event:?}")
    };
    assert_eq!(event_type.as_deref(), Some("onConversationAdded"));
    assert_eq!(kept.len(), 2);
    assert_eq!(kept["ConversationSid"], CONVERSATION);
    assert_eq!(event.event_type(), Some("onConversationAdded"));
    assert_eq!(event.fields(), None);
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        serde_json::json!({
            "event": "other",
            "event_type": "onConversationAdded",
            "params": {"ConversationSid": CONVERSATION, "EventType": "onConversationAdded"},
        })
    );
    let none = ParticipantEvent::from_params(&[]).unwrap();
    assert_eq!(none.event_type(), None);
}

#[test]
fn malformed_known_fields_are_named() {
    let with = |name: &str, value: &str| {
        let mut params = chat_form("onParticipantAdded");
        params.retain(|(k, _)| k != name);
        params.push((name.into(), value.into()));
        ParticipantEvent::from_params(&params).unwrap_err()
    };
    assert_eq!(
        with("ParticipantSid", "CH0123456789abcdef0123456789abcdef"),
        EventError::Invalid {
            event: "onParticipantAdded".into(),
            field: "ParticipantSid",
            problem: "invalid ParticipantSid (starting \"CH01\", 34 characters): expected the prefix `MB`".into(),
        }
    );
    assert_eq!(
        with("ConversationSid", "").to_string(),
        "the onParticipantAdded webhook has no ConversationSid"
    );
    let Err(EventError::Invalid { field, .. }) = ParticipantEvent::from_params(&[
        ("EventType".into(), "onParticipantAdded".into()),
        ("AccountSid".into(), ACCOUNT.into()),
        ("ConversationSid".into(), CONVERSATION.into()),
        ("Source".into(), "API".into()),
        ("DateCreated".into(), "yesterday".into()),
    ]) else {
        panic!("a bad date was read");
    };
    assert_eq!(field, "DateCreated");
    assert_eq!(
        with("LastReadMessageIndex", "seven").to_string(),
        "the onParticipantAdded webhook's LastReadMessageIndex is invalid: \"seven\" is not an integer"
    );
}

#[test]
fn pre_event_answers() {
    assert_eq!(PreEventAnswer::allow().status(), 200);
    assert!(PreEventAnswer::allow().is_allowed());
    assert_eq!(PreEventAnswer::allow().body(), "");
    assert_eq!(PreEventAnswer::reject().status(), 403);
    assert!(!PreEventAnswer::reject().is_allowed());
    assert_eq!(PreEventAnswer::reject_with(422).unwrap().status(), 422);
    assert_eq!(PreEventAnswer::reject_with(500), None);
    assert_eq!(PreEventAnswer::reject_with(200), None);
    let response = PreEventAnswer::reject_with(409).unwrap().into_response();
    assert_eq!(response.status(), 409);
    assert_eq!(*response.body(), "");
    assert_eq!(PreEventAnswer::allow().into_response().status(), 200);
}

// The fake's post-event webhooks.

#[tokio::test]
async fn the_fake_sends_signed_post_event_webhooks() {
    let fake = FakeServer::start().await.unwrap();
    let service: ServiceSid = SERVICE.parse().unwrap();
    let conversation: ConversationSid = CONVERSATION.parse().unwrap();
    fake.add_conversation(&service, &conversation, []);
    let (url, received) = receiver("/twilio/participants?tenant=7").await;
    fake.set_webhook_url(Some(&url));
    let client = twilio_conversations::Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .build()
        .unwrap();
    let participants = client.participants(&service, &conversation);
    let verifier = RequestValidator::new(AuthToken::new(FAKE_AUTH_TOKEN));

    // Without the header: no webhook.
    let quiet = participants
        .create()
        .identity("quiet")
        .send()
        .await
        .unwrap();
    assert!(received.lock().unwrap().is_empty());

    // With it: the webhook has arrived by the time the call returns (sent before answering).
    let alice = participants
        .create()
        .identity("alice")
        .webhook_enabled(true)
        .send()
        .await
        .unwrap();
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let webhook = &got[0];
    assert!(
        webhook
            .head
            .starts_with("POST /twilio/participants?tenant=7 HTTP/1.1\r\n"),
        "{}",
        webhook.head
    );
    assert_eq!(
        webhook.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let verified = verifier
        .validate(
            &url,
            webhook.body.as_bytes(),
            webhook.header("x-twilio-signature"),
        )
        .unwrap();
    let event = ParticipantEvent::from_params(verified.params().unwrap()).unwrap();
    let ParticipantEvent::Added(fields) = &event else {
        panic!("{event:?}")
    };
    assert_eq!(fields.participant_sid, alice.sid);
    assert_eq!(
        fields.account_sid.as_str(),
        twilio_conversations::testing::FAKE_ACCOUNT_SID
    );
    assert_eq!(fields.conversation_sid, conversation);
    assert_eq!(fields.chat_service_sid.as_ref(), Some(&service));
    assert_eq!(fields.identity.as_deref(), Some("alice"));
    assert_eq!(fields.source, Source::Api);
    assert_eq!(fields.attributes.as_deref(), Some("{}"));
    assert_eq!(fields.role_sid, alice.role_sid);
    assert_eq!(fields.date_created, alice.date_created);
    assert_eq!(
        fields.messaging_binding,
        Some(MessagingBinding {
            type_: Some("CHAT".into()),
            ..MessagingBinding::default()
        })
    );
    // The recorded delivery says the same.
    let deliveries = fake.webhook_deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].url, url);
    assert_eq!(deliveries[0].outcome, Ok(200));
    assert_eq!(
        Some(deliveries[0].signature.as_str()),
        webhook.header("x-twilio-signature")
    );

    // Update and delete with the header: onParticipantUpdated, then onParticipantRemoved.
    let alice_sid = alice.sid.clone().unwrap();
    participants
        .update(alice_sid.as_str())
        .last_read_message_index(4)
        .webhook_enabled(true)
        .send()
        .await
        .unwrap();
    participants
        .delete(alice_sid.as_str())
        .webhook_enabled(true)
        .await
        .unwrap();
    // And none for the quiet one's delete.
    participants
        .delete(quiet.sid.unwrap().as_str())
        .await
        .unwrap();
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 3);
    let events: Vec<ParticipantEvent> = got[1..]
        .iter()
        .map(|webhook| {
            let verified = verifier
                .validate(
                    &url,
                    webhook.body.as_bytes(),
                    webhook.header("x-twilio-signature"),
                )
                .unwrap();
            ParticipantEvent::from_params(verified.params().unwrap()).unwrap()
        })
        .collect();
    let ParticipantEvent::Updated(updated) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(updated.participant_sid.as_ref(), Some(&alice_sid));
    assert_eq!(updated.last_read_message_index, Some(4));
    assert!(updated.date_updated.is_some());
    let ParticipantEvent::Removed(removed) = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(removed.participant_sid.as_ref(), Some(&alice_sid));
    assert_eq!(removed.identity.as_deref(), Some("alice"));
    assert!(removed.date_removed.is_some());

    // A failed write sends nothing; a cleared URL stops them.
    assert!(participants
        .delete(alice_sid.as_str())
        .webhook_enabled(true)
        .await
        .is_err());
    fake.set_webhook_url(None);
    participants
        .create()
        .identity("bob")
        .webhook_enabled(true)
        .send()
        .await
        .unwrap();
    assert_eq!(received.lock().unwrap().len(), 3);
    assert_eq!(fake.webhook_deliveries().len(), 3);
}

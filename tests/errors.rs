//! API errors, undecodable bodies and secrets, through the ergonomic client.

mod common;

use common::*;
use httpmock::{Method::GET, MockServer};
use serde_json::json;
use twilio_conversations::{ApiError, Error};

async fn error_for(status: u16, content_type: &str, body: String) -> Error {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path(PATH);
            then.status(status)
                .header("content-type", content_type)
                .body(body);
        })
        .await;
    let err = client(&server.base_url())
        .participants(&service(), CONVERSATION)
        .list()
        .await
        .unwrap_err();
    // 4xx other than 429 are final: exactly one request.
    if !matches!(status, 429 | 500 | 502 | 503 | 504) {
        mock.assert_calls_async(1).await;
    }
    err
}

fn api(err: Error) -> ApiError {
    match err {
        Error::Api(api) => *api,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn twilio_error_bodies_are_kept() {
    for (status, code, message) in [
        (401, 20003, "Authenticate"),
        (
            404,
            20404,
            "The requested resource /Services/IS.../Participants was not found",
        ),
        (400, 21481, "Invalid PageToken"),
    ] {
        let body = json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        });
        let err = api(error_for(status, "application/json", body.to_string()).await);
        assert_eq!(err.status, status);
        assert_eq!(err.code, Some(code));
        assert_eq!(err.message.as_deref(), Some(message));
        assert_eq!(
            err.more_info,
            Some(format!("https://www.twilio.com/docs/errors/{code}"))
        );
        assert_eq!(err.body_excerpt, None);
        assert_eq!(err.attempts, 1);
    }
}

#[tokio::test]
async fn error_display_is_actionable() {
    let body = json!({"code": 20404, "message": "Not found", "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404, "details": {"hint": "x"}});
    let err = error_for(404, "application/json", body.to_string()).await;
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.twilio_code(), Some(20404));
    assert_eq!(
        err.to_string(),
        "the API answered HTTP 404 with Twilio error 20404: Not found \
         (see https://www.twilio.com/docs/errors/20404)"
    );
    assert_eq!(api(err).details.get("hint"), Some(&json!("x")));
}

#[tokio::test]
async fn non_json_error_body_keeps_status_and_excerpt() {
    let html = "<html><body><h1>403 Forbidden</h1></body></html>";
    let err = api(error_for(403, "text/html", html.into()).await);
    assert_eq!(err.status, 403);
    assert_eq!(err.code, None);
    assert_eq!(err.body_excerpt.as_deref(), Some(html));
}

#[tokio::test]
async fn error_body_with_missing_fields_still_decodes() {
    let err = api(error_for(400, "application/json", "{}".into()).await);
    assert_eq!((err.status, err.code, err.message), (400, None, None));
}

#[tokio::test]
async fn undecodable_success_names_the_json_path() {
    let mut body = page(0..3, 0, 50, None);
    body["participants"][2]["date_created"] = json!("yesterday");
    let err = error_for(200, "application/json", body.to_string()).await;
    match err {
        Error::Decode { path, message } => {
            assert_eq!(path, "participants[2].date_created");
            assert!(
                message.starts_with("input contains invalid characters"),
                "{message}"
            );
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    let err = error_for(200, "application/json", r#"{"meta": {}}"#.into()).await;
    assert!(
        matches!(&err, Error::Decode { path, message } if path == "meta" && message.starts_with("missing field")),
        "{err:?}"
    );
}

#[test]
fn debug_output_never_shows_the_secret() {
    let client = client("http://127.0.0.1:9");
    let shown = format!("{client:?} {:?}", client.credentials());
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(!shown.contains(&basic_header()[6..]), "{shown}");
    assert!(
        shown.contains(ACCOUNT),
        "the account SID is not secret: {shown}"
    );
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let err = twilio_conversations::Client::builder()
        .credentials(credentials())
        .base_url("http://conversations.twilio.com")
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    assert!(err.to_string().contains("plain http"), "{err}");
}

/// A delete answered 503 may have happened: `OutcomeUnknown` keeps the API's answer as its
/// typed cause, reachable through `source()`, with Twilio's code, the request id and the
/// server's `Retry-After`.
#[tokio::test]
async fn an_unknown_outcome_keeps_its_typed_cause() {
    use std::error::Error as _;
    use twilio_conversations::WriteOperation;
    let server = MockServer::start_async().await;
    let member = "MB00000000000000000000000000000007";
    server
        .mock_async(|when, then| {
            when.method(httpmock::Method::DELETE)
                .path(format!("{PATH}/{member}"));
            then.status(503)
                .header("content-type", "application/json")
                .header("Twilio-Request-Id", "RQ00000000000000000000000000000001")
                .header("Retry-After", "7")
                .body(
                    json!({"code": 20503, "message": "Service unavailable", "status": 503})
                        .to_string(),
                );
        })
        .await;
    let err = client_with(
        &server.base_url(),
        fast_retries(0),
        std::time::Duration::from_secs(5),
    )
    .participants(&service(), CONVERSATION)
    .delete(
        member
            .parse::<twilio_conversations::ParticipantSid>()
            .unwrap(),
    )
    .await
    .unwrap_err();
    let Error::OutcomeUnknown {
        operation, cause, ..
    } = &err
    else {
        panic!("expected OutcomeUnknown, got {err:?}");
    };
    assert_eq!(*operation, WriteOperation::Delete);
    let source = err.source().expect("a source");
    let api = match source.downcast_ref::<Error>() {
        Some(Error::Api(api)) => api,
        other => panic!("the source is not the API error: {other:?}"),
    };
    assert_eq!(api.code, Some(20503));
    assert_eq!(
        api.request_id.as_deref(),
        Some("RQ00000000000000000000000000000001")
    );
    assert_eq!(api.retry_after, Some(std::time::Duration::from_secs(7)));
    assert_eq!(source.to_string(), cause.to_string());
    assert_eq!(err.twilio_code(), Some(20503));
    assert_eq!(err.api_error(), Some(&**api));
    assert_eq!(err.status(), Some(503));
    assert!(
        !err.to_string().contains("20503"),
        "the cause is named once, as the source"
    );
}

//! The generated wire types and request against the documented examples (issue: the spec and
//! the generated client).

mod common;

use chrono::{TimeZone, Utc};
use common::*;
use httpmock::{Method::GET, MockServer};
use twilio_conversations::{models::decode_page, Error};

fn documented_body() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/openapi/examples/documented-200.json"
    ))
    .unwrap()
}

#[test]
fn documented_example_decodes_field_by_field() {
    let page = decode_page(documented_body().as_bytes()).unwrap();
    let base = "https://conversations.twilio.com/v1/Services/ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Conversations/CHaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Participants";
    let meta = &page.meta;
    assert_eq!(meta.key, "participants");
    assert_eq!(meta.url, format!("{base}?PageSize=50&Page=0"));
    assert_eq!(meta.page, 0);
    assert_eq!(meta.page_size, 50);
    assert_eq!(meta.next_page_url, None);
    assert_eq!(meta.first_page_url, format!("{base}?PageSize=50&Page=0"));
    assert_eq!(meta.previous_page_url, None);
    assert_eq!(page.participants.len(), 2);

    let created = Utc.with_ymd_and_hms(2016, 3, 24, 21, 5, 50).unwrap();
    for (i, p) in page.participants.iter().enumerate() {
        let sid = "MBaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        assert_eq!(p.sid.as_ref().unwrap().as_str(), sid);
        assert_eq!(p.url.as_deref(), Some(format!("{base}/{sid}").as_str()));
        assert_eq!(
            p.role_sid.as_ref().unwrap().as_str(),
            "RLaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        );
        assert_eq!(p.attributes.as_deref(), Some("{ \"role\": \"driver\" }"));
        assert_eq!(
            p.account_sid.as_ref().unwrap().as_str(),
            "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        );
        assert_eq!(p.date_created, Some(created), "participant {i}");
        assert_eq!(p.date_updated, Some(created));
        assert_eq!(
            p.chat_service_sid.as_ref().unwrap().as_str(),
            "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        );
        assert_eq!(
            p.conversation_sid.as_ref().unwrap().as_str(),
            "CHaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        );
        assert_eq!(p.last_read_timestamp, None);
        assert_eq!(p.last_read_message_index, None);
    }
    let sms = &page.participants[0];
    assert_eq!(sms.identity, None);
    let binding = sms.messaging_binding.as_ref().unwrap();
    assert_eq!(binding.type_.as_deref(), Some("sms"));
    assert_eq!(binding.address.as_deref(), Some("+15558675310"));
    assert_eq!(binding.proxy_address.as_deref(), Some("+15017122661"));
    assert!(binding.extra.is_empty());
    let chat = &page.participants[1];
    assert_eq!(chat.identity.as_deref(), Some("IDENTITY"));
    assert_eq!(chat.messaging_binding, None);

    let attributes: serde_json::Value = sms.attributes_json().unwrap();
    assert_eq!(attributes, serde_json::json!({"role": "driver"}));
}

#[test]
fn every_nullable_participant_field_may_be_null() {
    let body = spec_example("all_null").to_string();
    let page = decode_page(body.as_bytes()).unwrap();
    let p = &page.participants[0];
    assert!(p.sid.is_none() && p.account_sid.is_none() && p.chat_service_sid.is_none());
    assert!(p.conversation_sid.is_none() && p.role_sid.is_none() && p.url.is_none());
    assert!(p.identity.is_none() && p.attributes.is_none() && p.messaging_binding.is_none());
    assert!(p.date_created.is_none() && p.date_updated.is_none());
    assert!(p.last_read_timestamp.is_none() && p.last_read_message_index.is_none());
}

#[test]
fn middle_page_and_other_binding_shapes_decode() {
    let page = decode_page(spec_example("middle_page").to_string().as_bytes()).unwrap();
    assert!(page
        .meta
        .next_page_url
        .as_deref()
        .unwrap()
        .contains("PageToken=PT"));
    assert_eq!(page.participants[0].last_read_message_index, Some(41));
    assert_eq!(
        page.participants[0].last_read_timestamp.as_deref(),
        Some("2024-05-02T11:00:00.000Z")
    );
    let group = decode_page(spec_example("projected_binding").to_string().as_bytes()).unwrap();
    let binding = group.participants[0].messaging_binding.as_ref().unwrap();
    assert_eq!(binding.projected_address.as_deref(), Some("+15017122662"));
    // Keys the spec does not name are kept, not rejected.
    let mut body = spec_example("projected_binding");
    body["participants"][0]["messaging_binding"]["level"] = "group".into();
    let page = decode_page(body.to_string().as_bytes()).unwrap();
    let extra = &page.participants[0]
        .messaging_binding
        .as_ref()
        .unwrap()
        .extra;
    assert_eq!(extra.get("level"), Some(&serde_json::json!("group")));
}

#[test]
fn mistyped_fields_fail_with_their_path() {
    let mut body: serde_json::Value = serde_json::from_str(&documented_body()).unwrap();
    body["participants"][1]["last_read_message_index"] = "seven".into();
    match decode_page(body.to_string().as_bytes()).unwrap_err() {
        Error::Decode { path, message } => {
            assert_eq!(path, "participants[1].last_read_message_index");
            assert!(
                message.starts_with("invalid type: string \"seven\", expected i64"),
                "{message}"
            );
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    let mut body: serde_json::Value = serde_json::from_str(&documented_body()).unwrap();
    body["participants"][0]["chat_service_sid"] = "CHaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into();
    let err = decode_page(body.to_string().as_bytes()).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "could not decode the response body at `participants[0].chat_service_sid`"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn sends_exactly_the_documented_request() {
    let server = MockServer::start_async().await;
    let token = "PTMB00000000000000000000000000000002";
    let next = next_url("https://conversations.twilio.com", 2, 1, token);
    let first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(PATH)
                .query_param("PageSize", "2")
                .query_param_missing("Page")
                .query_param_missing("PageToken")
                .query_param_count(".*", ".*", 1)
                .header("authorization", basic_header())
                .header("accept", "application/json")
                .header_missing("api-version")
                .header_prefix("user-agent", "twilio-conversations-rust/");
            then.status(200)
                .header("content-type", "application/json")
                .body(page(0..2, 0, 2, Some(next.clone())).to_string());
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method(GET)
                .path(PATH)
                .query_param("PageSize", "2")
                .query_param("Page", "1")
                .query_param("PageToken", token)
                .header("authorization", basic_header());
            then.status(200)
                .header("content-type", "application/json")
                .body(page(2..3, 1, 2, None).to_string());
        })
        .await;

    let client = client(&server.base_url());
    let page = client
        .participants(&service(), CONVERSATION)
        .page_size(2)
        .first_page()
        .await
        .unwrap()
        .expect("a limit other than 0 fetches the first page");
    assert_eq!(sids(&page.items), expected_sids(0..2));
    assert_eq!(page.meta.next_page_url.as_deref(), Some(next.as_str()));
    let last = page.next_page().await.unwrap().unwrap();
    assert_eq!(sids(&last.items), expected_sids(2..3));
    assert!(last.next_page().await.unwrap().is_none());
    first.assert_async().await;
    second.assert_async().await;
}

//! `ListServiceParticipantConversation`: Twilio's documented examples through the generated
//! types, and the fake's answers (identity, address, neither, both, paging) over plain HTTP.

mod common;

use base64::Engine;
use chrono::{TimeZone, Utc};
use common::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twilio_conversations::{
    models::{ConversationState, ParticipantConversationPage},
    testing::{FakeServer, FAKE_ACCOUNT_SID, FAKE_AUTH_TOKEN},
    Participant,
};

const OP_PATH: &str = "/v1/Services/{ChatServiceSid}/ParticipantConversations";

fn example(name: &str) -> Value {
    spec()["paths"][OP_PATH]["get"]["responses"]["200"]["content"]["application/json"]["examples"]
        [name]["value"]
        .clone()
}

fn decode(name: &str) -> ParticipantConversationPage {
    serde_json::from_value(example(name)).unwrap()
}

const A_SERVICE: &str = "ISaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const A_CONVERSATION: &str = "CHaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const A_PARTICIPANT: &str = "MBaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn list_url(query: &str) -> String {
    format!("https://conversations.twilio.com/v1/Services/{A_SERVICE}/ParticipantConversations?{query}&PageSize=50&Page=0")
}

#[test]
fn read_empty_decodes() {
    let page = decode("readEmpty");
    assert!(page.conversations.is_empty());
    let meta = &page.meta;
    assert_eq!(meta.key, "conversations");
    assert_eq!((meta.page, meta.page_size), (0, 50));
    assert_eq!(meta.url, list_url("Identity=identity"));
    assert_eq!(meta.first_page_url, list_url("Identity=identity"));
    assert_eq!(meta.next_page_url, None);
    assert_eq!(meta.previous_page_url, None);
}

/// The fields both full examples share.
fn assert_common(page: &ParticipantConversationPage, query: &str) {
    assert_eq!(page.meta.url, list_url(query));
    assert_eq!(page.meta.first_page_url, list_url(query));
    assert_eq!(page.meta.next_page_url, None);
    assert_eq!(page.conversations.len(), 1);
    let item = &page.conversations[0];
    let sid = |s: Option<&str>| s.map(str::to_owned);
    assert_eq!(
        sid(item.account_sid.as_ref().map(|s| s.as_str())),
        sid(Some("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
    );
    assert_eq!(
        item.chat_service_sid.as_ref().map(|s| s.as_str()),
        Some(A_SERVICE)
    );
    assert_eq!(
        item.conversation_sid.as_ref().map(|s| s.as_str()),
        Some(A_CONVERSATION)
    );
    assert_eq!(
        item.participant_sid.as_ref().map(|s| s.as_str()),
        Some(A_PARTICIPANT)
    );
    assert_eq!(
        item.conversation_friendly_name.as_deref(),
        Some("friendly_name")
    );
    assert_eq!(item.conversation_state, ConversationState::Inactive);
    let timers = item.conversation_timers.as_ref().unwrap();
    assert_eq!(
        timers.date_inactive,
        Some(Utc.with_ymd_and_hms(2015, 12, 16, 22, 19, 38).unwrap())
    );
    assert_eq!(
        timers.date_closed,
        Some(Utc.with_ymd_and_hms(2015, 12, 16, 22, 28, 38).unwrap())
    );
    assert_eq!(item.conversation_attributes.as_deref(), Some("{}"));
    let created = Utc.with_ymd_and_hms(2015, 7, 30, 20, 0, 0).unwrap();
    assert_eq!(item.conversation_date_created, Some(created));
    assert_eq!(item.conversation_date_updated, Some(created));
    assert_eq!(item.conversation_created_by.as_deref(), Some("created_by"));
    assert_eq!(
        item.conversation_unique_name.as_deref(),
        Some("unique_name")
    );
    let links = item.links.as_ref().unwrap();
    let conversation = format!(
        "https://conversations.twilio.com/v1/Services/{A_SERVICE}/Conversations/{A_CONVERSATION}"
    );
    assert_eq!(
        links.participant.as_deref(),
        Some(format!("{conversation}/Participants/{A_PARTICIPANT}").as_str())
    );
    assert_eq!(links.conversation.as_deref(), Some(conversation.as_str()));
}

#[test]
fn read_full_by_identity_decodes() {
    let page = decode("readFullByIdentity");
    assert_common(&page, "Identity=identity");
    let item = &page.conversations[0];
    assert_eq!(
        item.participant_user_sid.as_ref().map(|s| s.as_str()),
        Some("USaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    );
    assert_eq!(item.participant_identity.as_deref(), Some("identity"));
    assert_eq!(item.participant_messaging_binding, None);
}

#[test]
fn read_full_by_address_decodes() {
    let page = decode("readFullByAddress");
    assert_common(&page, "Address=%2B375255555555");
    let item = &page.conversations[0];
    assert_eq!(item.participant_user_sid, None);
    assert_eq!(item.participant_identity, None);
    let binding = item.participant_messaging_binding.as_ref().unwrap();
    assert_eq!(binding.address.as_deref(), Some("+375255555555"));
    assert_eq!(binding.proxy_address.as_deref(), Some("+12345678910"));
    assert_eq!(binding.type_.as_deref(), Some("sms"));
    assert_eq!(binding.projected_address, None);
    assert_eq!(
        Value::Object(binding.extra.clone()),
        json!({"level": null, "name": null})
    );
}

#[test]
fn a_state_twilio_adds_later_decodes() {
    let mut body = example("readFullByIdentity");
    body["conversations"][0]["conversation_state"] = json!("archived");
    let page: ParticipantConversationPage = serde_json::from_value(body).unwrap();
    assert_eq!(
        page.conversations[0].conversation_state,
        ConversationState::Other("archived".into())
    );
}

// --- the fake ------------------------------------------------------------------------------

const FAKE_SERVICE: &str = "IS0123456789abcdef0123456789abcdef";
const OTHER_SERVICE: &str = "ISffffffffffffffffffffffffffffffff";

fn member(
    n: u32,
    conversation: &str,
    identity: Option<&str>,
    address: Option<&str>,
) -> Participant {
    serde_json::from_value(json!({
        "account_sid": FAKE_ACCOUNT_SID,
        "chat_service_sid": FAKE_SERVICE,
        "conversation_sid": conversation,
        "sid": format!("MB{n:032x}"),
        "identity": identity,
        "attributes": "{}",
        "messaging_binding": address.map(|a| json!({"type": "sms", "address": a, "proxy_address": "+15017122661"})),
        "role_sid": "RL0123456789abcdef0123456789abcdef",
        "date_created": "2024-05-02T10:15:00Z",
        "date_updated": "2024-05-02T10:15:00Z",
        "url": null,
        "last_read_message_index": null,
        "last_read_timestamp": null,
    }))
    .unwrap()
}

fn ch(n: u32) -> String {
    format!("CH{n:032x}")
}

/// Three conversations hold `agent-7` (one of them also `+15550001`), one does not, and one
/// in another service does.
async fn fake() -> FakeServer {
    let fake = FakeServer::start().await.unwrap();
    let service = FAKE_SERVICE.parse().unwrap();
    for n in [3, 1, 2] {
        let mut members = vec![member(n * 10, &ch(n), Some("agent-7"), None)];
        if n == 2 {
            members.push(member(21, &ch(n), None, Some("+15550001")));
        }
        fake.add_conversation(&service, ch(n).as_str(), members);
    }
    fake.add_conversation(
        &service,
        ch(4).as_str(),
        [member(40, &ch(4), Some("agent-8"), None)],
    );
    fake.add_conversation(
        &service,
        "support-room",
        [member(50, &ch(5), None, Some("+15550001"))],
    );
    fake.add_conversation(
        &OTHER_SERVICE.parse().unwrap(),
        ch(6).as_str(),
        [member(60, &ch(6), Some("agent-7"), None)],
    );
    fake
}

/// A plain HTTP/1.1 GET with the fake's Basic auth: (status, JSON body).
async fn get(fake: &FakeServer, path_and_query: &str) -> (u16, Value) {
    let address = fake.base_url().trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let authorization = base64::engine::general_purpose::STANDARD
        .encode(format!("{FAKE_ACCOUNT_SID}:{FAKE_AUTH_TOKEN}"));
    let request = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Basic {authorization}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap())
}

fn item(
    fake: &FakeServer,
    conversation: &str,
    participant: u32,
    unique_name: Option<&str>,
    identity: Option<&str>,
    address: Option<&str>,
) -> Value {
    let conversation_url = format!(
        "{}/v1/Services/{FAKE_SERVICE}/Conversations/{conversation}",
        fake.base_url()
    );
    json!({
        "account_sid": FAKE_ACCOUNT_SID,
        "chat_service_sid": FAKE_SERVICE,
        "conversation_sid": conversation,
        "participant_sid": format!("MB{participant:032x}"),
        "conversation_friendly_name": null,
        "conversation_state": "active",
        "conversation_timers": {},
        "conversation_attributes": "{}",
        "conversation_date_created": null,
        "conversation_date_updated": null,
        "conversation_created_by": null,
        "conversation_unique_name": unique_name,
        "participant_user_sid": identity.map(|_| "US9c3fa08a5ba8e1720000000000000007"),
        "participant_identity": identity,
        "participant_messaging_binding": address.map(|a| json!({"type": "sms", "address": a, "proxy_address": "+15017122661"})),
        "links": {
            "participant": format!("{conversation_url}/Participants/MB{participant:032x}"),
            "conversation": conversation_url,
        },
    })
}

fn path(query: &str) -> String {
    format!("/v1/Services/{FAKE_SERVICE}/ParticipantConversations?{query}")
}

#[tokio::test]
async fn by_identity_every_conversation_of_the_service_once_in_sid_order() {
    let fake = fake().await;
    let (status, body) = get(&fake, &path("Identity=agent-7")).await;
    assert_eq!(status, 200);
    let url = format!(
        "{}{}",
        fake.base_url(),
        path("Identity=agent-7&PageSize=50&Page=0")
    );
    assert_eq!(
        body,
        json!({
            "conversations": [
                item(&fake, &ch(1), 10, None, Some("agent-7"), None),
                item(&fake, &ch(2), 20, None, Some("agent-7"), None),
                item(&fake, &ch(3), 30, None, Some("agent-7"), None),
            ],
            "meta": {
                "page": 0,
                "page_size": 50,
                "first_page_url": url,
                "previous_page_url": null,
                "url": url,
                "next_page_url": null,
                "key": "conversations",
            },
        })
    );
    // The answer decodes through the generated types.
    let page: ParticipantConversationPage = serde_json::from_value(body).unwrap();
    assert_eq!(
        page.conversations[0].conversation_state,
        ConversationState::Active
    );
}

#[tokio::test]
async fn by_address_percent_encoded_names_the_unique_name() {
    let fake = fake().await;
    let (status, body) = get(&fake, &path("Address=%2B15550001")).await;
    assert_eq!(status, 200);
    // `support-room` was added by unique name: its SID is derived from it.
    let room = body["conversations"][1]["conversation_sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        body["conversations"],
        json!([
            item(&fake, &ch(2), 21, None, None, Some("+15550001")),
            item(
                &fake,
                &room,
                50,
                Some("support-room"),
                None,
                Some("+15550001")
            ),
        ])
    );
    assert_eq!(
        body["meta"]["url"],
        format!(
            "{}{}",
            fake.base_url(),
            path("Address=%2B15550001&PageSize=50&Page=0")
        )
    );
}

#[tokio::test]
async fn nobody_there_is_an_empty_page() {
    let fake = fake().await;
    let (status, body) = get(&fake, &path("Identity=nobody")).await;
    assert_eq!(status, 200);
    assert_eq!(body["conversations"], json!([]));
    assert_eq!(body["meta"]["next_page_url"], Value::Null);
}

#[tokio::test]
async fn neither_or_both_or_a_bad_page_size_is_400() {
    let fake = fake().await;
    for (query, message) in [
        ("PageSize=5", "Either Identity or Address must be specified"),
        (
            "Identity=agent-7&Address=%2B15550001",
            "Only one of Identity and Address may be specified",
        ),
        (
            "Identity=agent-7&PageSize=51",
            "PageSize must be an integer from 1 to 50",
        ),
        (
            "Identity=agent-7&PageSize=0",
            "PageSize must be an integer from 1 to 50",
        ),
    ] {
        let (status, body) = get(&fake, &path(query)).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(
            body,
            json!({"code": null, "message": message, "more_info": null, "status": 400}),
            "{query}"
        );
    }
}

#[tokio::test]
async fn pages_follow_page_tokens() {
    let fake = fake().await;
    let base = fake.base_url().to_owned();
    let (status, first) = get(&fake, &path("Identity=agent-7&PageSize=2")).await;
    assert_eq!(status, 200);
    let next = format!(
        "{base}{}",
        path("Identity=agent-7&PageSize=2&Page=1&PageToken=PT00000002")
    );
    assert_eq!(first["meta"]["next_page_url"], next);
    assert_eq!(first["meta"]["previous_page_url"], Value::Null);
    let sids = |page: &Value| -> Vec<String> {
        page["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["conversation_sid"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(sids(&first), [ch(1), ch(2)]);

    let (status, second) = get(&fake, next.trim_start_matches(&base)).await;
    assert_eq!(status, 200);
    assert_eq!(sids(&second), [ch(3)]);
    assert_eq!(second["meta"]["page"], 1);
    assert_eq!(second["meta"]["url"], next);
    assert_eq!(second["meta"]["next_page_url"], Value::Null);
    assert_eq!(
        second["meta"]["previous_page_url"],
        format!(
            "{base}{}",
            path("Identity=agent-7&PageSize=2&Page=0&PageToken=PB00000000")
        )
    );

    let (status, body) = get(&fake, &path("Identity=agent-7&Page=1")).await;
    assert_eq!((status, &body["code"]), (400, &json!(70002)));
    let (status, body) = get(&fake, &path("Identity=agent-7&Page=1&PageToken=PT00000009")).await;
    assert_eq!((status, &body["code"]), (400, &json!(21481)));
}

fn fake_client(fake: &FakeServer) -> twilio_conversations::Client {
    twilio_conversations::Client::builder()
        .base_url(fake.base_url())
        .credentials(fake.credentials())
        .build()
        .unwrap()
}

/// One address in one conversation twice (two proxy addresses): both entries are listed,
/// a dry run sends nothing, and the removal deletes both, by their participant SIDs, with
/// the webhook flag asked for.
#[tokio::test]
async fn an_address_twice_in_one_conversation_is_listed_and_removed_twice() {
    use futures_util::StreamExt;
    use twilio_conversations::{Deletion, ParticipantRef};
    let fake = FakeServer::start().await.unwrap();
    let service: twilio_conversations::ServiceSid = FAKE_SERVICE.parse().unwrap();
    fake.add_conversation(&service, "two-lines", []);
    let client = fake_client(&fake);
    let participants = client.participants(&service, "two-lines");
    let mut created = Vec::new();
    for proxy in ["+15017122661", "+15017122662"] {
        let participant = participants
            .create()
            .address("+15550001")
            .proxy_address(proxy)
            .await
            .unwrap();
        created.push(participant.sid.unwrap().to_string());
    }
    created.sort();
    let who = ParticipantRef::address("+15550001");

    let listed = client
        .participant_conversations(&service, who.clone())
        .list()
        .await
        .unwrap();
    let mut sids: Vec<String> = listed
        .iter()
        .map(|found| found.participant_sid.as_ref().unwrap().to_string())
        .collect();
    sids.sort();
    assert_eq!(sids, created);
    assert_eq!(listed[0].conversation_sid, listed[1].conversation_sid);

    let plan = client
        .fleet(&service)
        .remove_everywhere(who.clone())
        .webhook_enabled(true)
        .plan()
        .await
        .unwrap();
    assert_eq!(plan.entries().len(), 2);
    assert!(fake.requests().iter().all(|r| r.method != "DELETE"));
    assert_eq!(fake.participants(&service, "two-lines").len(), 2);

    let removed: Vec<_> = plan.run().collect().await;
    assert_eq!(removed.len(), 2);
    assert!(removed
        .iter()
        .all(|done| matches!(done.result, Ok(Deletion::Deleted))));
    let mut deleted: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path.rsplit('/').next().unwrap().to_owned())
        .collect();
    deleted.sort();
    assert_eq!(deleted, created, "deleted by the listed participant SIDs");
    for delete in fake.requests().iter().filter(|r| r.method == "DELETE") {
        assert!(
            delete
                .headers
                .iter()
                .any(|(name, value)| name == "x-twilio-webhook-enabled" && value == "true"),
            "{:?}",
            delete.headers
        );
    }
    assert!(fake.participants(&service, "two-lines").is_empty());
}

/// The fake hands out participant SIDs unique across all its conversations, as Twilio does.
#[tokio::test]
async fn the_fake_hands_out_unique_participant_sids_across_conversations() {
    let fake = FakeServer::start().await.unwrap();
    let service: twilio_conversations::ServiceSid = FAKE_SERVICE.parse().unwrap();
    let client = fake_client(&fake);
    let mut sids = Vec::new();
    for n in 0..20 {
        let room = format!("room-{n}");
        fake.add_conversation(&service, room.as_str(), []);
        let participants = client.participants(&service, room.as_str());
        for identity in ["agent-7", "agent-8"] {
            let created = participants.create().identity(identity).await.unwrap();
            sids.push(created.sid.unwrap().to_string());
        }
    }
    let mut unique = sids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 40, "{sids:?}");
}

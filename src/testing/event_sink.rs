//! The fake's Event Streams sink: after any create, update or delete succeeds, the fake
//! POSTs a batch of one CloudEvent (`com.twilio.conversations.participant.added`,
//! `.updated`, `.removed`, schema version 2) to the URL given to
//! [`FakeServer::set_event_streams_sink`], signed as Twilio signs a sink delivery: the URL
//! with `bodySHA256` (the body's SHA-256) added, HMAC-SHA1 keyed with
//! [`FAKE_AUTH_TOKEN`](super::FAKE_AUTH_TOKEN). Event Streams sends every change, whatever
//! `X-Twilio-Webhook-Enabled` says.
//!
//! As for webhooks, the batch is delivered **before** the REST call is answered, so a test
//! needs no waiting; [`FakeServer::deliver_event_streams_twice`] sends each batch twice, as
//! Twilio's at-least-once delivery may.

use std::sync::{
    atomic::{AtomicBool, AtomicU64, Ordering},
    Mutex, PoisonError,
};

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http_body_util::Full;
use hyper::Response;
use serde_json::{json, Value};

use super::{
    webhooks::{send, take_apart, write_event},
    FakeServer, RecordedRequest, State, FAKE_AUTH_TOKEN,
};
use crate::webhook::{body_sha256, sign, AuthToken, ParticipantEventKind, BODY_SHA256_PARAM};

/// One Event Streams delivery the fake made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkDelivery {
    /// The URL called: the sink URL with `bodySHA256` added.
    pub url: String,
    /// The body sent: a JSON array of CloudEvents.
    pub body: String,
    /// The `X-Twilio-Signature` header sent.
    pub signature: String,
    /// The receiver's HTTP status, or why none came (connection refused, timeout).
    pub outcome: Result<u16, String>,
}

/// The sink URL, the delivery option and what was sent.
#[derive(Default)]
pub(super) struct EventSink {
    url: Mutex<Option<String>>,
    twice: AtomicBool,
    next_id: AtomicU64,
    deliveries: Mutex<Vec<SinkDelivery>>,
}

impl FakeServer {
    /// Sends Event Streams batches to `url` from now on (`None` stops them): every create,
    /// update or delete that succeeds makes the fake POST a batch of one CloudEvent
    /// (`com.twilio.conversations.participant.added`, `.updated` or `.removed`), signed with
    /// [`FAKE_AUTH_TOKEN`] as Twilio signs a sink delivery, *before* the REST call is
    /// answered. [`FakeServer::event_streams_deliveries`] records each delivery.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use twilio_conversations::{testing::FakeServer, Client, ServiceSid};
    ///
    /// let fake = FakeServer::start().await?;
    /// let service: ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    /// let client = Client::builder().base_url(fake.base_url()).credentials(fake.credentials()).build()?;
    /// fake.add_conversation(&service, "support-room-7", []);
    /// // Your test's receiver; see examples/event_streams_receiver.rs.
    /// fake.set_event_streams_sink(Some("http://127.0.0.1:9/twilio/events"));
    /// client.participants(&service, "support-room-7").create().identity("alice").await?;
    ///
    /// let sent = fake.event_streams_deliveries();
    /// assert_eq!(sent.len(), 1);
    /// assert!(sent[0].url.contains("?bodySHA256="));
    /// assert!(sent[0].body.contains("com.twilio.conversations.participant.added"));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn set_event_streams_sink(&self, url: Option<&str>) {
        *self
            .state
            .event_sink
            .url
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = url.map(str::to_owned);
    }

    /// Delivers every Event Streams batch twice (`true`), as a retry after a lost answer
    /// does, or once (`false`, the default).
    pub fn deliver_event_streams_twice(&self, twice: bool) {
        self.state.event_sink.twice.store(twice, Ordering::SeqCst);
    }

    /// Every Event Streams delivery made so far, oldest first (a batch sent twice is here
    /// twice).
    pub fn event_streams_deliveries(&self) -> Vec<SinkDelivery> {
        self.state
            .event_sink
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl EventSink {
    /// Whether a sink URL is set.
    pub(super) fn is_on(&self) -> bool {
        self.url
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// After a write was answered with `response`: delivers its event when a sink is set,
    /// then gives the response back unchanged. `before`: the participant before a delete.
    pub(super) async fn after(
        &self,
        state: &State,
        request: &RecordedRequest,
        before: Option<Value>,
        response: Response<Full<Bytes>>,
    ) -> Response<Full<Bytes>> {
        let kind = write_event(request);
        let url = self
            .url
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let (Some(kind), Some(url), true) = (kind, url, response.status().is_success()) else {
            return response;
        };
        let (parts, body, participant) = take_apart(response, before).await;
        if let Some(participant) = participant {
            let id = format!("EV{:032x}", self.next_id.fetch_add(1, Ordering::SeqCst) + 1);
            let batch = Value::Array(vec![cloud_event(kind, &id, &participant)]).to_string();
            let times = if self.twice.load(Ordering::SeqCst) {
                2
            } else {
                1
            };
            for _ in 0..times {
                self.deliver(state, &url, batch.clone()).await;
            }
        }
        Response::from_parts(parts, Full::new(body))
    }

    async fn deliver(&self, state: &State, sink: &str, body: String) {
        let separator = if sink.contains('?') { '&' } else { '?' };
        let url = format!(
            "{sink}{separator}{BODY_SHA256_PARAM}={}",
            body_sha256(body.as_bytes())
        );
        let signature = sign::<&str, &str>(&AuthToken::new(FAKE_AUTH_TOKEN), &url, &[]);
        let outcome = match state.webhooks.http_client() {
            Ok(http) => send(&http, &url, &signature, "application/json", body.clone()).await,
            Err(e) => Err(e),
        };
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(SinkDelivery {
                url,
                body,
                signature,
                outcome,
            });
    }
}

/// The CloudEvent Event Streams sends for `participant` (the resource's JSON), in the
/// shape of Twilio's published examples: schema version 2, the binding's `Type` upper
/// case, `ProjectedAddress` a bracketed list, `Attributes` an object.
fn cloud_event(kind: ParticipantEventKind, id: &str, participant: &Value) -> Value {
    let text = |key: &str| participant[key].as_str().unwrap_or_default().to_owned();
    let schema = match kind {
        ParticipantEventKind::Added => "ParticipantAdded",
        ParticipantEventKind::Updated => "ParticipantUpdated",
        ParticipantEventKind::Removed => "ParticipantRemoved",
    };
    let mut data = json!({
        "AccountSid": text("account_sid"),
        "ConversationSid": text("conversation_sid"),
        "ParticipantSid": text("sid"),
        "DateCreated": text("date_created"),
    });
    let optional = [("Identity", "identity"), ("RoleSid", "role_sid")];
    for (name, key) in optional {
        if let Some(value) = participant[key].as_str() {
            data[name] = json!(value);
        }
    }
    if kind != ParticipantEventKind::Added {
        data["DateUpdated"] = json!(text("date_updated"));
    }
    if let Some(attributes) = participant["attributes"]
        .as_str()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .filter(Value::is_object)
    {
        data["Attributes"] = attributes;
    }
    let binding = &participant["messaging_binding"];
    if binding.is_object() {
        let mut sent = json!({});
        if let Some(kind) = binding["type"].as_str() {
            sent["Type"] = json!(kind.to_ascii_uppercase());
        }
        for (name, key) in [("Address", "address"), ("ProxyAddress", "proxy_address")] {
            if let Some(value) = binding[key].as_str() {
                sent[name] = json!(value);
            }
        }
        if let Some(projected) = binding["projected_address"].as_str() {
            sent["ProjectedAddress"] = json!(format!("[{projected}]"));
        }
        data["MessagingBinding"] = sent;
    }
    json!({
        "specversion": "1.0",
        "type": kind.event_type(),
        "source": format!("/v1/Services/{}/Conversations/{}/Participants/{}",
            text("chat_service_sid"), text("conversation_sid"), text("sid")),
        "id": id,
        "dataschema": format!("https://events-schemas.twilio.com/Conversations.{schema}/2"),
        "datacontenttype": "application/json",
        "time": DateTime::<Utc>::from(std::time::SystemTime::now())
            .to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data,
    })
}

//! The fake's post-event webhooks: after a create, update or delete sent with
//! `X-Twilio-Webhook-Enabled: true` succeeds, the fake POSTs the matching form
//! (`onParticipantAdded`, `…Updated`, `…Removed`, `Source=API`), signed with
//! [`FAKE_AUTH_TOKEN`](super::FAKE_AUTH_TOKEN), to the URL given to
//! [`FakeServer::set_webhook_url`].
//!
//! The webhook is delivered **before** the REST call is answered (Twilio sends it
//! asynchronously): so when the client's call returns, the receiver has it and
//! [`FakeServer::webhook_deliveries`] lists it, and a test needs no waiting.

use std::{
    sync::{Mutex, PoisonError},
    time::Duration,
};

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http_body_util::{BodyExt, Full};
use hyper::Response;
use serde_json::Value;

use super::{parse_path, FakeServer, RecordedRequest, State, FAKE_AUTH_TOKEN};
use crate::webhook::{sign, AuthToken, ParticipantEventKind, SIGNATURE_HEADER};

/// How long the fake waits for the receiver, as Twilio does.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// One webhook the fake sent.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// Where it was sent.
    pub url: String,
    /// The form fields, in the order sent.
    pub form: Vec<(String, String)>,
    /// The `X-Twilio-Signature` header sent.
    pub signature: String,
    /// The receiver's HTTP status, or why none came (connection refused, timeout).
    pub outcome: Result<u16, String>,
}

/// The webhook URL and what was sent to it.
#[derive(Default)]
pub(super) struct Webhooks {
    url: Mutex<Option<String>>,
    deliveries: Mutex<Vec<WebhookDelivery>>,
    http: Mutex<Option<reqwest::Client>>,
}

impl FakeServer {
    /// Sends post-event webhooks to `url` from now on (`None` stops them): a create, update
    /// or delete sent with `X-Twilio-Webhook-Enabled: true` that succeeds makes the fake POST
    /// the matching form (`onParticipantAdded`, `…Updated`, `…Removed`; `Source=API`, plus
    /// `ChatServiceSid`), signed with [`FAKE_AUTH_TOKEN`], as Twilio does. It is delivered
    /// *before* the REST call is answered (Twilio sends it asynchronously), so a test can
    /// look at its receiver as soon as the call returns; the fake waits up to 5 seconds for
    /// the receiver, and [`FakeServer::webhook_deliveries`] records each outcome.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = twilio_conversations::testing::FakeServer::start().await?;
    /// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    /// # let client = twilio_conversations::Client::builder()
    /// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
    /// # fake.add_conversation(&service, "support-room-7", []);
    /// // Your test's receiver; see examples/webhook_receiver.rs for one that checks signatures.
    /// fake.set_webhook_url(Some("http://127.0.0.1:9/twilio/participants"));
    /// let participants = client.participants(&service, "support-room-7");
    /// participants.create().identity("alice").webhook_enabled(true).await?;
    /// participants.create().identity("bob").await?; // no webhook asked for: none sent
    ///
    /// let sent = fake.webhook_deliveries();
    /// assert_eq!(sent.len(), 1);
    /// assert!(sent[0].form.contains(&("EventType".to_owned(), "onParticipantAdded".to_owned())));
    /// assert!(sent[0].form.contains(&("Identity".to_owned(), "alice".to_owned())));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn set_webhook_url(&self, url: Option<&str>) {
        *self
            .state
            .webhooks
            .url
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = url.map(str::to_owned);
    }

    /// Every webhook sent so far, oldest first.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.state
            .webhooks
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Webhooks {
    /// After a write was answered with `response`: sends its webhook when one is due, then
    /// gives the response back unchanged.
    pub(super) async fn after(
        &self,
        request: &RecordedRequest,
        before: Option<Value>,
        response: Response<Full<Bytes>>,
    ) -> Response<Full<Bytes>> {
        if !response.status().is_success() || !self.wanted(request) {
            return response;
        }
        let Some(url) = self
            .url
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
        else {
            return response;
        };
        let (parts, body, participant) = take_apart(response, before).await;
        let event = write_event(request).map(|event| match event {
            ParticipantEventKind::Added => "onParticipantAdded",
            ParticipantEventKind::Updated => "onParticipantUpdated",
            ParticipantEventKind::Removed => "onParticipantRemoved",
        });
        if let (Some(event), Some(participant)) = (event, participant) {
            self.deliver(url, post_event_form(event, &participant))
                .await;
        }
        Response::from_parts(parts, Full::new(body))
    }

    /// Whether `request` asks for post-event webhooks (`X-Twilio-Webhook-Enabled: true`).
    pub(super) fn wanted(&self, request: &RecordedRequest) -> bool {
        request
            .header("X-Twilio-Webhook-Enabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    async fn deliver(&self, url: String, form: Vec<(String, String)>) {
        let signature = sign(&AuthToken::new(FAKE_AUTH_TOKEN), &url, &form);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        let outcome = match self.http_client() {
            Ok(http) => {
                let form = "application/x-www-form-urlencoded";
                send(&http, &url, &signature, form, body).await
            }
            Err(e) => Err(e),
        };
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(WebhookDelivery {
                url,
                form,
                signature,
                outcome,
            });
    }

    /// One client for every delivery, webhooks and Event Streams alike (rustls on ring, as
    /// the crate's client; no trusted roots: a receiver in a test listens on plain HTTP).
    pub(super) fn http_client(&self) -> Result<reqwest::Client, String> {
        let mut http = self.http.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(client) = http.as_ref() {
            return Ok(client.clone());
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        *http = Some(client.clone());
        Ok(client)
    }
}

/// For a delete that may send an event: the participant as it is before the delete.
pub(super) fn participant_before_delete(state: &State, request: &RecordedRequest) -> Option<Value> {
    if request.method != "DELETE" {
        return None;
    }
    let route = parse_path(&request.path)?;
    let conversation = state.conversation(&route.service, &route.conversation)?;
    let conversation = conversation.lock().unwrap_or_else(PoisonError::into_inner);
    match conversation.fetch(route.participant.as_deref()?) {
        Ok(Some((_, json))) => serde_json::from_str(&json).ok(),
        _ => None,
    }
}

/// Which participant event a successful `request` makes (none for a read).
pub(super) fn write_event(request: &RecordedRequest) -> Option<ParticipantEventKind> {
    let route = parse_path(&request.path)?;
    match (request.method.as_str(), route.participant.is_some()) {
        ("POST", false) => Some(ParticipantEventKind::Added),
        ("POST", true) => Some(ParticipantEventKind::Updated),
        ("DELETE", true) => Some(ParticipantEventKind::Removed),
        _ => None,
    }
}

/// POSTs `body` as `content_type`; the receiver's status, or why none came.
pub(super) async fn send(
    http: &reqwest::Client,
    url: &str,
    signature: &str,
    content_type: &'static str,
    body: impl Into<reqwest::Body>,
) -> Result<u16, String> {
    http.post(url)
        .header(SIGNATURE_HEADER, signature)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .header(reqwest::header::USER_AGENT, "TwilioProxy/1.1")
        .timeout(DELIVERY_TIMEOUT)
        .body(body)
        .send()
        .await
        .map(|answer| answer.status().as_u16())
        .map_err(|e| e.to_string())
}

/// The post-event form Twilio sends for `participant` (the resource's JSON).
fn post_event_form(event: &str, participant: &Value) -> Vec<(String, String)> {
    let text = |key: &str| participant[key].as_str().unwrap_or_default().to_owned();
    let binding = &participant["messaging_binding"];
    let binding_text = |key: &str| binding[key].as_str().unwrap_or_default().to_owned();
    let kind = match binding["type"].as_str() {
        Some(kind) => kind.to_ascii_uppercase(),
        None => "CHAT".to_owned(),
    };
    let mut form = vec![
        ("AccountSid", text("account_sid")),
        ("EventType", event.to_owned()),
        ("Source", "API".to_owned()),
        ("ChatServiceSid", text("chat_service_sid")),
        ("ConversationSid", text("conversation_sid")),
        ("ParticipantSid", text("sid")),
        ("Identity", text("identity")),
        ("RoleSid", text("role_sid")),
        ("Attributes", text("attributes")),
        ("MessagingBinding.Type", kind),
        ("MessagingBinding.Address", binding_text("address")),
        (
            "MessagingBinding.ProxyAddress",
            binding_text("proxy_address"),
        ),
        (
            "MessagingBinding.ProjectedAddress",
            binding_text("projected_address"),
        ),
        ("DateCreated", text("date_created")),
    ];
    if event != "onParticipantAdded" {
        form.push(("DateUpdated", text("date_updated")));
    }
    if event == "onParticipantUpdated" {
        let index = participant["last_read_message_index"]
            .as_i64()
            .map(|i| i.to_string())
            .unwrap_or_default();
        form.push(("LastReadMessageIndex", index));
    }
    if event == "onParticipantRemoved" {
        let now = DateTime::<Utc>::from(std::time::SystemTime::now())
            .to_rfc3339_opts(SecondsFormat::Secs, true);
        form.push(("DateRemoved", now));
    }
    form.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// An answer taken apart to tell about it: its head, its body, and the participant the
/// event is about (`before`, as it was before a delete; otherwise the answer's body).
pub(super) async fn take_apart(
    response: Response<Full<Bytes>>,
    before: Option<Value>,
) -> (hyper::http::response::Parts, Bytes, Option<Value>) {
    let (parts, body) = response.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let participant = before.or_else(|| serde_json::from_slice(&body).ok());
    (parts, body, participant)
}

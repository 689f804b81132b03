//! The Service Conversation Participant resource, one handler per conversation:
//! list, create, fetch, update and delete.
//!
//! ```no_run
//! # async fn run(client: twilio_conversations::Client, service: twilio_conversations::ServiceSid)
//! # -> twilio_conversations::Result<()> {
//! let participants = client.participants(&service, "support-room-7");
//! let alice = participants.create().identity("alice").send().await?;
//! let fetched = participants.fetch("alice").await?;
//! participants.update(alice.sid.as_ref().unwrap()).last_read_message_index(7).send().await?;
//! participants.delete(alice.sid.as_ref().unwrap()).send().await?;
//! # let _ = fetched; Ok(()) }
//! ```

/// The setters create and update share (attributes, role, dates, webhook flag), for a
/// builder with `fields` (its generated form), `attributes`, `role` and `webhook`.
macro_rules! shared_write_setters {
    () => {
        /// Metadata as any `Serialize` value, sent as JSON text (`Attributes`).
        pub fn attributes<T: serde::Serialize + ?Sized>(mut self, attributes: &T) -> Self {
            self.attributes = super::Attributes::from_value(attributes);
            self
        }

        /// Metadata as JSON text, checked to be valid JSON before sending (`Attributes`).
        pub fn attributes_text(mut self, json: impl Into<String>) -> Self {
            self.attributes = super::Attributes::from_text(json.into());
            self
        }

        /// The role, an `RL…` SID (`RoleSid`); checked before sending.
        pub fn role_sid(mut self, role: impl AsRef<str>) -> Self {
            self.role = Some(role.as_ref().to_owned());
            self
        }

        /// The participant's creation date to record (`DateCreated`).
        pub fn date_created(mut self, date: chrono::DateTime<chrono::Utc>) -> Self {
            self.fields.date_created = Some(date);
            self
        }

        /// The participant's last-update date to record (`DateUpdated`).
        pub fn date_updated(mut self, date: chrono::DateTime<chrono::Utc>) -> Self {
            self.fields.date_updated = Some(date);
            self
        }

        /// Whether the service's webhooks fire for this change (`X-Twilio-Webhook-Enabled`);
        /// unset sends no header.
        pub fn webhook_enabled(mut self, enabled: bool) -> Self {
            self.webhook = Some(enabled);
            self
        }
    };
}

mod create;
mod delete;
mod list;
mod update;

pub use create::CreateParticipant;
pub use delete::DeleteParticipant;
pub use list::{ListParticipants, ParticipantStream, RawParticipantStream, MAX_PAGE_SIZE};
pub use update::UpdateParticipant;

use crate::{
    client::Client,
    error::{Error, Result},
    generated::types::WebhookEnabled,
    models::Participant,
    operation::Operation,
    pagination::Page,
    path::{ConversationId, ParticipantId},
    sid::{ParticipantSid, RoleSid, ServiceSid},
};

/// The participants of one conversation; made by [`Client::participants`].
///
/// Listing reads as before (`.page_size(..)`, `.limit(..)`, `.stream()`, `.list()`,
/// `.first_page()`); the same handle creates, fetches, updates and deletes.
///
/// ```
/// # #[cfg(feature = "testing")]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let fake = twilio_conversations::testing::FakeServer::start().await?;
/// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
/// # let client = twilio_conversations::Client::builder()
/// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
/// # fake.add_generated(&service, "support-room-7", 120, 7);
/// use twilio_conversations::prelude::*;
///
/// let participants = client.participants(&service, "support-room-7");
/// let first = participants.stream().try_next().await?.expect("a participant");
/// let alice = participants.create().identity("alice").await?;
/// let fetched = participants.fetch("alice").await?;
/// assert_eq!(fetched.sid, alice.sid);
/// # let _ = first;
/// # Ok(()) }
/// # #[cfg(not(feature = "testing"))] fn main() {}
/// ```
#[derive(Clone, Debug)]
pub struct ParticipantsHandler {
    client: Client,
    service: ServiceSid,
    conversation: ConversationId,
}

impl ParticipantsHandler {
    pub(crate) fn new(client: Client, service: ServiceSid, conversation: ConversationId) -> Self {
        Self {
            client,
            service,
            conversation,
        }
    }

    /// A list request with this page size (1 to 100; see [`ListParticipants::page_size`]).
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = twilio_conversations::testing::FakeServer::start().await?;
    /// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    /// # let client = twilio_conversations::Client::builder()
    /// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
    /// # fake.add_generated(&service, "support-room-7", 120, 7);
    /// let participants = client.participants(&service, "support-room-7");
    /// let page = participants.page_size(50).first_page().await?.expect("a page");
    /// assert_eq!(page.items.len(), 50);
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn page_size(&self, size: u32) -> ListParticipants {
        self.list_request().page_size(size)
    }

    /// A list request returning at most `limit` participants.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = twilio_conversations::testing::FakeServer::start().await?;
    /// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    /// # let client = twilio_conversations::Client::builder()
    /// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
    /// # fake.add_generated(&service, "support-room-7", 120, 7);
    /// let participants = client.participants(&service, "support-room-7");
    /// let some = participants.limit(30).list().await?;
    /// assert_eq!(some.len(), 30);
    /// assert_eq!(fake.requests()[0].query_value("PageSize"), Some("30")); // no more was asked for
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn limit(&self, limit: u64) -> ListParticipants {
        self.list_request().limit(limit)
    }

    /// Streams every participant; see [`ListParticipants::stream`].
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = twilio_conversations::testing::FakeServer::start().await?;
    /// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    /// # let client = twilio_conversations::Client::builder()
    /// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
    /// # fake.add_generated(&service, "support-room-7", 120, 7);
    /// use twilio_conversations::prelude::*;
    ///
    /// let mut stream = client.participants(&service, "support-room-7").stream();
    /// let mut count = 0;
    /// while let Some(participant) = stream.try_next().await? {
    ///     println!("{:?} {:?}", participant.sid, participant.identity);
    ///     count += 1;
    /// }
    /// assert_eq!(count, 120);
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn stream(&self) -> ParticipantStream {
        self.list_request().stream()
    }

    /// Collects every participant; see [`ListParticipants::list`].
    ///
    /// # Errors
    /// The first error of the stream.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = twilio_conversations::testing::FakeServer::start().await?;
    /// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    /// # let client = twilio_conversations::Client::builder()
    /// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
    /// # fake.add_generated(&service, "support-room-7", 120, 7);
    /// let everyone = client.participants(&service, "support-room-7").list().await?;
    /// assert_eq!(everyone.len(), 120);
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub async fn list(&self) -> Result<Vec<Participant>> {
        self.list_request().list().await
    }

    /// The first page with its metadata; see [`ListParticipants::first_page`].
    ///
    /// # Errors
    /// Invalid input before any request, or the request's error.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = twilio_conversations::testing::FakeServer::start().await?;
    /// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    /// # let client = twilio_conversations::Client::builder()
    /// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
    /// # fake.add_generated(&service, "support-room-7", 120, 7);
    /// let participants = client.participants(&service, "support-room-7");
    /// let first = participants.first_page().await?.expect("a page");
    /// assert_eq!(first.items.len(), 100);
    /// assert_eq!(first.meta.page, 0);
    /// let second = first.next_page().await?.expect("a second page");
    /// assert_eq!(second.items.len(), 20);
    /// assert!(second.next_page().await?.is_none());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub async fn first_page(&self) -> Result<Option<Page<Participant>>> {
        self.list_request().first_page().await
    }

    /// A list request with Twilio's largest page and no limit, to configure further.
    ///
    /// ```
    /// # #[cfg(feature = "testing")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let fake = twilio_conversations::testing::FakeServer::start().await?;
    /// # let service: twilio_conversations::ServiceSid = "IS0123456789abcdef0123456789abcdef".parse()?;
    /// # let client = twilio_conversations::Client::builder()
    /// #     .base_url(fake.base_url()).credentials(fake.credentials()).build()?;
    /// # fake.add_generated(&service, "support-room-7", 120, 7);
    /// use twilio_conversations::prelude::*;
    ///
    /// let participants = client.participants(&service, "support-room-7");
    /// let sms: Vec<_> = participants
    ///     .list_request()
    ///     .page_size(40)
    ///     .limit(100)
    ///     .stream()
    ///     .try_filter(|p| std::future::ready(p.messaging_binding.is_some()))
    ///     .try_collect()
    ///     .await?;
    /// assert_eq!(sms.len(), 50);
    /// assert_eq!(fake.requests().len(), 3); // 40 + 40 + 20
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn list_request(&self) -> ListParticipants {
        ListParticipants::new(self.clone())
    }

    /// Starts a create: give an identity (chat) or an address (SMS, WhatsApp, group MMS).
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
    /// let participants = client.participants(&service, "support-room-7");
    /// let alice = participants.create().identity("alice").await?; // chat
    /// let sms = participants
    ///     .create()
    ///     .address("+15558675310") // SMS; "whatsapp:+1…" for WhatsApp
    ///     .proxy_address("+15017122661")
    ///     .await?;
    /// assert_eq!(alice.identity.as_deref(), Some("alice"));
    /// assert!(sms.messaging_binding.is_some());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn create(&self) -> CreateParticipant {
        CreateParticipant::new(self.clone())
    }

    /// Fetches one participant by its `MB…` SID or its identity. Retried like a list.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] (nothing sent) for a name that cannot be a path segment;
    /// [`Error::Api`] with 404/20404 when there is no such participant.
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
    /// # let alice = client.participants(&service, "support-room-7").create().identity("alice").await?;
    /// # let sid = alice.sid.expect("a SID");
    /// use twilio_conversations::Error;
    ///
    /// let participants = client.participants(&service, "support-room-7");
    /// let by_identity = participants.fetch("alice").await?;
    /// let by_sid = participants.fetch(&sid).await?;
    /// assert_eq!(by_identity, by_sid);
    /// match participants.fetch("nobody").await {
    ///     Err(Error::Api(api)) => assert_eq!((api.status, api.code), (404, Some(20404))),
    ///     other => panic!("expected a 404, got {other:?}"),
    /// }
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub async fn fetch(&self, participant: impl Into<ParticipantId>) -> Result<Participant> {
        let participant = participant.into();
        let (service, conversation) = (&self.service, self.conversation.checked()?);
        let sid = participant.checked()?;
        let exchange = self
            .client
            .call(Operation::Fetch, |wire| async move {
                wire.fetch_service_conversation_participant(service, conversation, sid)
                    .await
            })
            .await;
        Operation::Fetch.conclude(exchange)
    }

    /// Starts an update of the participant with this `MB…` SID ([`ParticipantSid`], or a
    /// string holding one; checked before sending): only the fields set change. Unlike
    /// fetch, Twilio takes no identity here.
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
    /// # let alice = client.participants(&service, "support-room-7").create().identity("alice").await?;
    /// # let sid = alice.sid.expect("a SID");
    /// let participants = client.participants(&service, "support-room-7");
    /// let updated = participants
    ///     .update(&sid)
    ///     .last_read_message_index(7)
    ///     .attributes(&serde_json::json!({ "shift": "night" }))
    ///     .await?;
    /// assert_eq!(updated.last_read_message_index, Some(7));
    /// assert_eq!(updated.attributes.as_deref(), Some(r#"{"shift":"night"}"#));
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn update(&self, participant: impl Into<ParticipantId>) -> UpdateParticipant {
        UpdateParticipant::new(self.clone(), participant.into())
    }

    /// Starts removing the participant with this `MB…` SID ([`ParticipantSid`], or a
    /// string holding one; checked before sending). Unlike fetch, Twilio takes no identity
    /// here.
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
    /// # let alice = client.participants(&service, "support-room-7").create().identity("alice").await?;
    /// # let sid = alice.sid.expect("a SID");
    /// use twilio_conversations::Deletion;
    ///
    /// let participants = client.participants(&service, "support-room-7");
    /// assert_eq!(participants.delete(&sid).await?, Deletion::Deleted);
    /// assert!(participants.fetch(&sid).await.is_err()); // 404: gone
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub fn delete(&self, participant: impl Into<ParticipantId>) -> DeleteParticipant {
        DeleteParticipant::new(self.clone(), participant.into())
    }

    /// The checked path of a write to one participant: the conversation, and the
    /// participant's `MB…` SID (update and delete take no identity).
    fn write_path(&self, participant: &ParticipantId) -> Result<(&str, ParticipantSid)> {
        let conversation = self.conversation.checked()?;
        let sid = participant.as_str().parse::<ParticipantSid>()?;
        Ok((conversation, sid))
    }
}

/// The `X-Twilio-Webhook-Enabled` header value for a caller's choice.
fn webhook_header(enabled: Option<bool>) -> Option<WebhookEnabled> {
    enabled.map(|on| {
        if on {
            WebhookEnabled::True
        } else {
            WebhookEnabled::False
        }
    })
}

/// Attributes given by a create or update: any `Serialize` value, or JSON text; checked
/// when the request is sent.
#[derive(Clone, Debug, Default)]
enum Attributes {
    #[default]
    Unset,
    Text(String),
    Invalid(String),
}

impl Attributes {
    fn from_value<T: serde::Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_string(value) {
            Ok(text) => Attributes::Text(text),
            Err(e) => Attributes::Invalid(format!("cannot be encoded as JSON: {e}")),
        }
    }

    fn from_text(text: String) -> Self {
        match serde_json::from_str::<serde::de::IgnoredAny>(&text) {
            Ok(_) => Attributes::Text(text),
            Err(e) => Attributes::Invalid(format!("is not valid JSON text: {e}")),
        }
    }

    /// The text to send, `None` when unset, or the reason it cannot be sent.
    fn into_field(self) -> Result<Option<String>> {
        match self {
            Attributes::Unset => Ok(None),
            Attributes::Text(text) => Ok(Some(text)),
            Attributes::Invalid(reason) => Err(Error::InvalidInput {
                parameter: "Attributes",
                reason,
            }),
        }
    }
}

/// A role SID given as text or as a [`RoleSid`], checked when the request is sent.
fn parse_role(role: Option<String>) -> Result<Option<RoleSid>> {
    Ok(role.map(RoleSid::new).transpose()?)
}

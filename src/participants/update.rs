//! Update: change fields of a participant; only the fields set are sent.

use std::{future::IntoFuture, pin::Pin};

use super::{parse_role, webhook_header, Attributes, ParticipantsHandler};
use crate::{
    error::Result, generated::types::UpdateParticipantRequest, models::Participant,
    operation::Operation, path::ParticipantId,
};

/// The value Twilio documents for removing a binding field in an update.
const CLEAR: &str = "null";

/// Changes to one participant; send them with [`send`](Self::send) or `.await`.
/// Only the fields set here are sent, and only they change.
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
///     .identity("alice.smith")
///     .last_read_message_index(3)
///     .await?; // or .send().await
/// assert_eq!(updated.identity.as_deref(), Some("alice.smith"));
/// assert_eq!(updated.last_read_message_index, Some(3));
/// assert_eq!(fake.requests().last().unwrap().body, "Identity=alice.smith&LastReadMessageIndex=3");
/// # Ok(()) }
/// # #[cfg(not(feature = "testing"))] fn main() {}
/// ```
#[derive(Clone, Debug)]
#[must_use = "an update does nothing until it is sent"]
pub struct UpdateParticipant {
    handler: ParticipantsHandler,
    participant: ParticipantId,
    fields: UpdateParticipantRequest,
    attributes: Attributes,
    role: Option<String>,
    webhook: Option<bool>,
}

impl UpdateParticipant {
    pub(super) fn new(handler: ParticipantsHandler, participant: ParticipantId) -> Self {
        Self {
            handler,
            participant,
            fields: UpdateParticipantRequest::default(),
            attributes: Attributes::Unset,
            role: None,
            webhook: None,
        }
    }

    /// A new chat identity (`Identity`).
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.fields.identity = Some(identity.into());
        self
    }

    /// A new proxy address (`MessagingBinding.ProxyAddress`).
    pub fn proxy_address(mut self, address: impl Into<String>) -> Self {
        self.fields.messaging_binding_proxy_address = Some(address.into());
        self
    }

    /// Removes the proxy address: sends `MessagingBinding.ProxyAddress=null`, as Twilio
    /// documents.
    pub fn clear_proxy_address(mut self) -> Self {
        self.fields.messaging_binding_proxy_address = Some(CLEAR.into());
        self
    }

    /// A new projected address (`MessagingBinding.ProjectedAddress`).
    pub fn projected_address(mut self, address: impl Into<String>) -> Self {
        self.fields.messaging_binding_projected_address = Some(address.into());
        self
    }

    /// Removes the projected address: sends `MessagingBinding.ProjectedAddress=null`.
    pub fn clear_projected_address(mut self) -> Self {
        self.fields.messaging_binding_projected_address = Some(CLEAR.into());
        self
    }

    /// The index of the last message the participant has read (`LastReadMessageIndex`).
    pub fn last_read_message_index(mut self, index: i64) -> Self {
        self.fields.last_read_message_index = Some(index);
        self
    }

    /// The timestamp of the last message the participant has read (`LastReadTimestamp`).
    pub fn last_read_timestamp(mut self, timestamp: impl Into<String>) -> Self {
        self.fields.last_read_timestamp = Some(timestamp.into());
        self
    }

    shared_write_setters!();

    /// Checks the fields and sends the update; answers the participant as updated.
    /// Retried like a list (the same update applied twice has the same result).
    ///
    /// # Errors
    /// Local errors with nothing sent (a participant that is not an `MB…` SID, attributes
    /// that are not JSON, a malformed role SID, an unusable conversation name), then the
    /// request's error; [`crate::Error::OutcomeUnknown`] when the attempts may have applied
    /// the update without an answer saying so (repeating it is harmless).
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
    /// let updated = participants.update(&sid).last_read_message_index(7).send().await?;
    /// assert_eq!(updated.last_read_message_index, Some(7));
    /// // Update and delete take the MB… SID only, checked before sending.
    /// assert!(participants.update("alice").send().await.unwrap_err().is_local());
    /// # Ok(()) }
    /// # #[cfg(not(feature = "testing"))] fn main() {}
    /// ```
    pub async fn send(self) -> Result<Participant> {
        let Self {
            handler,
            participant,
            mut fields,
            attributes,
            role,
            webhook,
        } = self;
        let (conversation, sid) = handler.write_path(&participant)?;
        fields.attributes = attributes.into_field()?;
        fields.role_sid = parse_role(role)?;
        let (service, sid, fields) = (&handler.service, sid.as_str(), &fields);
        let exchange = handler
            .client
            .call(Operation::Update, |wire| async move {
                wire.update_service_conversation_participant(
                    service,
                    conversation,
                    sid,
                    webhook_header(webhook),
                    fields,
                )
                .await
            })
            .await;
        Operation::Update.conclude(exchange)
    }
}

impl IntoFuture for UpdateParticipant {
    type Output = Result<Participant>;
    type IntoFuture = Pin<Box<dyn std::future::Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
